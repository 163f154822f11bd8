//! `fellegi train`: settings + inputs → model.json.

use std::path::PathBuf;

use fellegi::output::{Staged, write_json};
use fellegi::pipeline;

use super::common::{InputArgs, RunArgs, load_settings};

/// Arguments of `fellegi train`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    /// Settings TOML; default: the dataset's shipped settings.
    #[arg(long)]
    settings: Option<PathBuf>,
    /// Output folder for model.json (default: out/<dataset or first input stem>/).
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    run: RunArgs,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let progress = a.run.setup()?;
    let resolved = a.input.resolve_or_settings(a.settings.as_ref())?;
    let settings = load_settings(a.settings.as_ref(), &resolved)?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(&resolved.name));
    let ds = pipeline::load(&settings, &resolved.paths, &progress)?;
    if let Some(e) = &resolved.entry {
        fellegi::registry::verify(e, &ds)?;
    }
    let seed = pipeline::effective_seed(a.run.seed, &settings);
    let pipeline::Trained { model, fitted } = pipeline::fit(&settings, &ds, seed, &progress)?;
    let mut stage = Staged::new(&out)?;
    stage.write("model.json", |w| write_json(w, &model))?;
    let written = stage.commit()?;
    println!(
        "trained on {} records: lambda {:.6e}, {} EM iterations, converged: {}; wrote {}",
        ds.len(),
        fitted.params.lambda,
        fitted.fit.iterations,
        fitted.fit.converged,
        written[0].display()
    );
    if let Some(b) = &fitted.fit.bootstrap {
        for (k, v) in b.describe() {
            println!("  {k:<17} {v}");
        }
    }
    Ok(())
}
