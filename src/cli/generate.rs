//! `fellegi generate`: synthetic records with known truth (being written).

/// Arguments of `fellegi generate`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_a: Args) -> anyhow::Result<()> {
    anyhow::bail!("fellegi generate is not available yet")
}
