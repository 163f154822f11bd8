//! `fellegi paper build`: tables, reproductions and constants from committed results.

use std::path::PathBuf;

/// Paper subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Rebuild paper/generated/ from paper/results/ (deterministic).
    Build {
        /// Results folder (default: paper/results).
        #[arg(long)]
        results: Option<PathBuf>,
        /// Output folder (default: paper/generated).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Folder of experiments (default: the source tree's experiments/).
        #[arg(long)]
        experiments: Option<PathBuf>,
    },
}

pub fn run(c: Command) -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    match c {
        Command::Build {
            results,
            out,
            experiments,
        } => {
            let results = results.unwrap_or_else(|| root.join("paper/results"));
            let out = out.unwrap_or_else(|| root.join("paper/generated"));
            let exps = experiments.unwrap_or_else(|| root.join("experiments"));
            let written = fellegi::experiment::paper::build(&exps, &results, &out)?;
            println!("wrote {} file(s) to {}", written.len(), out.display());
            Ok(())
        }
    }
}
