//! `fellegi datasets`: the registry of shipped datasets.

use std::path::PathBuf;

use anyhow::Context;
use fellegi::data::{InputSpec, read_csv_files};
use fellegi::progress::Progress;
use fellegi::registry::{DatasetEntry, Registry, verify};

use super::common::thousands;

/// Dataset subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print the registry as a table, checking every dataset (checksums and counts).
    List {
        /// Folder holding registry.toml (default: $FELLEGI_DATA, else the source tree's datasets/).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Print one dataset's card: files, counts, licence, source, default settings.
    Show {
        /// The dataset name, e.g. febrl4.
        name: String,
        /// Folder holding registry.toml.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

/// Loads a dataset's files (id and truth only) and checks them against the registry.
fn check(reg: &Registry, e: &DatasetEntry) -> Result<(), String> {
    let spec = InputSpec {
        paths: reg.files(e),
        unique_id: e.unique_id.clone(),
        truth: Some(e.truth.clone()),
        ..InputSpec::default()
    };
    let ds = read_csv_files(&spec, &Progress::default()).map_err(|err| err.to_string())?;
    verify(e, &ds).map_err(|err| err.to_string())
}

pub fn run(c: Command) -> anyhow::Result<()> {
    match c {
        Command::List { data_dir } => {
            let reg = Registry::load(data_dir.as_deref())?;
            println!(
                "{:<20} {:<16} {:>8} {:>9} {:>10}  {:<40} check",
                "name", "task", "records", "entities", "true pairs", "licence"
            );
            let mut failed = 0;
            for e in &reg.datasets {
                let status = match check(&reg, e) {
                    Ok(()) => "ok".to_string(),
                    Err(m) => {
                        failed += 1;
                        format!("FAILED: {m}")
                    }
                };
                let mut lic = e.licence.clone();
                if lic.chars().count() > 40 {
                    lic = lic.chars().take(37).collect::<String>() + "...";
                }
                println!(
                    "{:<20} {:<16} {:>8} {:>9} {:>10}  {:<40} {status}",
                    e.name,
                    e.task.name(),
                    thousands(e.records),
                    thousands(e.entities),
                    thousands(e.true_pairs),
                    lic
                );
            }
            if failed > 0 {
                anyhow::bail!("{failed} dataset(s) failed their checks");
            }
            Ok(())
        }
        Command::Show { name, data_dir } => {
            let reg = Registry::load(data_dir.as_deref())?;
            let e = reg.get(&name)?;
            println!("{}: {}", e.name, e.description);
            println!("  task          {}", e.task.name());
            println!("  records       {}", thousands(e.records));
            println!("  entities      {}", thousands(e.entities));
            println!("  true pairs    {}", thousands(e.true_pairs));
            println!("  id / truth    {} / {}", e.unique_id, e.truth);
            println!("  licence       {}", e.licence);
            println!("  source        {}", e.source);
            for (f, h) in e.files.iter().zip(&e.sha256) {
                println!("  file          {f}  sha256 {h}");
            }
            let settings = reg.settings_path(e);
            println!("  settings      {}", settings.display());
            println!(
                "  check         {}",
                check(&reg, e).err().unwrap_or_else(|| "ok".into())
            );
            let card = reg
                .dir
                .join(e.files[0].split('/').next().unwrap_or(""))
                .join("SOURCE.md");
            if card.is_file() {
                let text = std::fs::read_to_string(&card)
                    .with_context(|| format!("cannot read {}", card.display()))?;
                println!("\n{text}");
            }
            Ok(())
        }
    }
}
