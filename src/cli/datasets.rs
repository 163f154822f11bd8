//! `fellegi datasets`: the registry of shipped datasets (being written).

/// Dataset subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {}

pub fn run(_c: Command) -> anyhow::Result<()> {
    Ok(())
}
