//! `fellegi config expand`: print settings with every level explicit.

use std::path::PathBuf;

use fellegi::settings::Settings;

/// Settings subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print the settings with every builder expanded into explicit levels (TOML).
    Expand {
        /// Settings TOML (or model JSON).
        file: PathBuf,
    },
}

pub fn run(c: Command) -> anyhow::Result<()> {
    match c {
        Command::Expand { file } => {
            let s = Settings::from_path(&file)?;
            let e = s.expanded(&file.display().to_string())?;
            print!("{}", e.to_toml());
            Ok(())
        }
    }
}
