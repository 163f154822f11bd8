//! `fellegi paper build`: tables, figures, reproductions, constants and the rendered paper
//! from committed results.

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
        /// The paper's Markdown source, rendered into OUT/paper.md with every `{{key}}` filled
        /// from constants.json (default: the source tree's paper/paper.md when --experiments is
        /// not given; `-` for none).
        #[arg(long)]
        paper: Option<PathBuf>,
    },
}

pub fn run(c: Command) -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    match c {
        Command::Build {
            results,
            out,
            experiments,
            paper,
        } => {
            let results = results.unwrap_or_else(|| root.join("paper/results"));
            let out = out.unwrap_or_else(|| root.join("paper/generated"));
            // The source tree's paper goes with the source tree's experiments only.
            let default_paper = experiments.is_none();
            let exps = experiments.unwrap_or_else(|| root.join("experiments"));
            let paper = match paper {
                Some(p) if p.as_os_str() == "-" => None,
                Some(p) => Some(p),
                None if default_paper => Some(root.join("paper/paper.md")).filter(|p| p.is_file()),
                None => None,
            };
            let written =
                fellegi::experiment::paper::build(&exps, &results, &out, paper.as_deref())?;
            println!("wrote {} file(s) to {}", written.len(), out.display());
            Ok(())
        }
    }
}
