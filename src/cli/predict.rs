//! `fellegi predict`: a fitted model + inputs → pairs.csv.

use std::path::PathBuf;

use fellegi::output::{Staged, write_pairs};
use fellegi::pipeline;
use fellegi::settings::Settings;

use fellegi::classify::check_probability;

use super::common::{InputArgs, RunArgs};

/// Arguments of `fellegi predict`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    /// The fitted model (model.json from `fellegi train` or `fellegi link`).
    #[arg(long)]
    model: PathBuf,
    /// Output folder for pairs.csv (default: out/<dataset or first input stem>/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write pairs with at least this match probability.
    #[arg(long, default_value_t = 0.01, allow_negative_numbers = true)]
    min_probability: f64,
    #[command(flatten)]
    run: RunArgs,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    check_probability("--min-probability", a.min_probability)?;
    let progress = a.run.setup()?;
    let resolved = a.input.resolve()?;
    let model = Settings::from_path(&a.model)?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(&resolved.name));
    let ds = pipeline::load(&model, &resolved.paths, &progress)?;
    if let Some(e) = &resolved.entry {
        fellegi::registry::verify(e, &ds)?;
    }
    let pipeline::Scored {
        comparer,
        pairs,
        notes,
    } = pipeline::score(
        &model,
        &a.model.display().to_string(),
        &ds,
        a.min_probability,
        &progress,
    )?;
    for n in &notes {
        eprintln!("note: {n}");
    }
    let mut stage = Staged::new(&out)?;
    stage.write("pairs.csv", |w| {
        write_pairs(w, &ds, &comparer, &pairs, None)
    })?;
    let written = stage.commit()?;
    println!(
        "scored {} candidate pairs; {} at p >= {} written to {}",
        pairs.candidates,
        pairs.len(),
        a.min_probability,
        written[0].display()
    );
    Ok(())
}
