//! `fellegi experiment`: run experiments (each task by this binary's own `link`, through
//! [`fellegi::experiment::runner`]) and report their status, printing what the runner returns.

use std::path::PathBuf;

use anyhow::bail;
use fellegi::experiment::runner::{self, RunEntry, RunOptions, StatusRow};

/// Experiment subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Run one experiment (by id) or all runnable ones.
    Run {
        /// The experiment id (its folder name under experiments/).
        id: Option<String>,
        /// Run every runnable experiment.
        #[arg(long, conflicts_with = "id")]
        all: bool,
        /// Toy profile for CI: first seed of each task only, results under
        /// target/quick-results/ (never paper/results/).
        #[arg(long)]
        quick: bool,
        /// Run tasks again even when a result with the same spec hash exists.
        #[arg(long)]
        force: bool,
        /// Folder of experiments (default: the source tree's experiments/).
        #[arg(long)]
        experiments: Option<PathBuf>,
        /// Results folder (default: paper/results, or target/quick-results with --quick).
        #[arg(long)]
        results: Option<PathBuf>,
    },
    /// List experiments and how many of their tasks have results.
    Status {
        /// Folder of experiments.
        #[arg(long)]
        experiments: Option<PathBuf>,
        /// Results folder (default: paper/results).
        #[arg(long)]
        results: Option<PathBuf>,
    },
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn run(c: Command) -> anyhow::Result<()> {
    match c {
        Command::Run {
            id,
            all,
            quick,
            force,
            experiments,
            results,
        } => {
            let exp_root = experiments.unwrap_or_else(|| root().join("experiments"));
            let results = results.unwrap_or_else(|| {
                if quick {
                    root().join("target/quick-results")
                } else {
                    root().join("paper/results")
                }
            });
            let dirs = match (id, all) {
                (Some(id), _) => runner::experiment_dirs(&exp_root, Some(&id))?,
                (None, true) => runner::experiment_dirs(&exp_root, None)?,
                (None, false) => bail!("give an experiment id or --all"),
            };
            let opts = RunOptions {
                exe: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("fellegi")),
                source_root: root(),
                results,
                quick,
                force,
            };
            let report = runner::run(&dirs, &opts, &mut |e| match e {
                RunEntry::External { experiment } => {
                    println!("{experiment}: external (see its README), not run here");
                }
                RunEntry::UpToDate { .. } => {}
                RunEntry::Ran {
                    experiment,
                    task,
                    ok,
                    f1,
                    ..
                } => println!(
                    "{experiment} {task}: {} (F1 {})",
                    if *ok { "ok" } else { "error" },
                    f1.map_or("-".into(), |f| format!("{f:.4}"))
                ),
            })?;
            let failed = report.failed();
            println!(
                "{} task(s) run, {} up to date, {failed} failed; results in {}",
                report.ran(),
                report.up_to_date(),
                report.results.display()
            );
            if failed > 0 {
                bail!("{failed} task(s) failed; their result files hold the errors");
            }
            Ok(())
        }
        Command::Status {
            experiments,
            results,
        } => {
            let exp_root = experiments.unwrap_or_else(|| root().join("experiments"));
            let results = results.unwrap_or_else(|| root().join("paper/results"));
            println!(
                "{:<32} {:>6} {:>6} {:>6}  kind",
                "experiment", "tasks", "ok", "error"
            );
            runner::status(&exp_root, &results, &mut |r: &StatusRow| match r.counts {
                None => println!(
                    "{:<32} {:>6} {:>6} {:>6}  external",
                    r.experiment, "-", "-", "-"
                ),
                Some(c) => println!(
                    "{:<32} {:>6} {:>6} {:>6}  runner",
                    r.experiment, c.tasks, c.ok, c.error
                ),
            })?;
            Ok(())
        }
    }
}
