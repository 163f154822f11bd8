//! `fellegi patterns`: the pattern table of a run (model.json) over its candidate pairs.

use std::path::PathBuf;

use anyhow::bail;
use fellegi::output::Staged;
use fellegi::pipeline;
use fellegi::settings::Settings;

use super::common::{InputArgs, RunArgs};

/// Arguments of `fellegi patterns`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The run's folder (from `fellegi link` or `fellegi train`): its model.json is read.
    run_dir: PathBuf,
    /// The inputs the run linked (the run folder records their sha256, not their paths).
    #[command(flatten)]
    input: InputArgs,
    /// Output folder for patterns.csv (default: RUN_DIR).
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    run: RunArgs,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let progress = a.run.setup()?;
    let model_path = a.run_dir.join("model.json");
    if !model_path.is_file() {
        bail!(
            "{}: no model.json; give the folder a `fellegi link` or `fellegi train` run wrote",
            a.run_dir.display()
        );
    }
    let origin = model_path.display().to_string();
    let model = Settings::from_path(&model_path)?;
    let resolved = a.input.resolve()?;
    let ds = pipeline::load(&model, &resolved.paths, &progress)?;
    if let Some(fit) = &model.fit {
        let now = fellegi::model::InputDigest::of_dataset(&ds);
        if fit.inputs.len() == now.len()
            && fit
                .inputs
                .iter()
                .zip(&now)
                .any(|(a, b)| a.sha256 != b.sha256)
        {
            eprintln!(
                "note: the inputs differ from those {origin} was fitted on (sha256); the table counts these inputs"
            );
        }
    }
    let (comparer, table) = pipeline::pattern_table(&model, &origin, &ds, &progress)?;
    let out = a.out.clone().unwrap_or_else(|| a.run_dir.clone());
    let mut stage = Staged::new(&out)?;
    stage.write("patterns.csv", |w| table.write_csv(w, &comparer))?;
    let written = stage.commit()?;
    let pairs: u64 = table.rows.iter().map(|r| r.count).sum();
    println!(
        "{} patterns over {} candidate pairs written to {}",
        table.rows.len(),
        pairs,
        written[0].display()
    );
    Ok(())
}
