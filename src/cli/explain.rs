//! `fellegi explain`: one pair's match weight, term by term (the waterfall as text, and
//! optionally as a chart).

use std::path::PathBuf;

use anyhow::bail;
use fellegi::pipeline;
use fellegi::plot::{waterfall, waterfall_text};
use fellegi::settings::Settings;

use super::common::{InputArgs, RunArgs};

/// Arguments of `fellegi explain`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The fitted model (model.json).
    #[arg(long)]
    model: PathBuf,
    #[command(flatten)]
    input: InputArgs,
    /// The two records, each as SOURCE:ID (SOURCE may be left out when the id is unique).
    #[arg(long, num_args = 2, value_names = ["LEFT", "RIGHT"])]
    pair: Vec<String>,
    /// Also save the waterfall chart (.svg or .png).
    #[arg(long)]
    chart: Option<PathBuf>,
    #[command(flatten)]
    run: RunArgs,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let progress = a.run.setup()?;
    if a.pair.len() != 2 {
        bail!("--pair takes two records: --pair SOURCE:ID SOURCE:ID");
    }
    let origin = a.model.display().to_string();
    let model = Settings::from_path(&a.model)?;
    let resolved = a.input.resolve()?;
    let ds = pipeline::load(&model, &resolved.paths, &progress)?;
    let (x, y) = (
        pipeline::find_record(&ds, &a.pair[0])?,
        pipeline::find_record(&ds, &a.pair[1])?,
    );
    let e = pipeline::explain(&model, &origin, &ds, x, y)?;
    // The values compared, side by side.
    println!("{:<20} {:<30} {:<30}", "field", a.pair[0], a.pair[1]);
    for (name, vx, vy) in &e.values {
        let v = |v: &Option<String>| v.clone().unwrap_or_else(|| "(missing)".to_string());
        println!("{:<20} {:<30} {:<30}", name, v(vx), v(vy));
    }
    println!();
    let wf = e.waterfall;
    print!("{}", waterfall_text(&wf));
    if let Some(path) = &a.chart {
        waterfall(wf).save(path)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
