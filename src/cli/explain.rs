//! `fellegi explain`: one pair's match weight, term by term (the waterfall as text, and
//! optionally as a chart).

use std::path::PathBuf;

use anyhow::{Context, bail};
use fellegi::compare::Comparer;
use fellegi::data::Dataset;
use fellegi::model::FsParams;
use fellegi::pipeline;
use fellegi::plot::{Waterfall, WaterfallTerm, waterfall, waterfall_text};
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

/// Finds a record named `SOURCE:ID` or `ID`.
fn find(ds: &Dataset, name: &str) -> anyhow::Result<usize> {
    let by_id: Vec<usize> = (0..ds.len()).filter(|&r| ds.ids.get(r) == name).collect();
    if by_id.len() == 1 {
        return Ok(by_id[0]);
    }
    if let Some((src, id)) = name.split_once(':') {
        if let Some(r) = (0..ds.len()).find(|&r| ds.source_name(r) == src && ds.ids.get(r) == id) {
            return Ok(r);
        }
    }
    if by_id.len() > 1 {
        bail!(
            "id `{name}` is in several sources ({}); write SOURCE:ID",
            by_id
                .iter()
                .map(|&r| ds.source_name(r))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    bail!(
        "no record `{name}` in the inputs (sources: {}); write SOURCE:ID or ID",
        ds.sources
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let progress = a.run.setup()?;
    if a.pair.len() != 2 {
        bail!("--pair takes two records: --pair SOURCE:ID SOURCE:ID");
    }
    let origin = a.model.display().to_string();
    let model = Settings::from_path(&a.model)?;
    let params = FsParams::from_settings(&model, &origin)?;
    let resolved = a.input.resolve()?;
    let ds = pipeline::load(&model, &resolved.paths, &progress)?;
    let (x, y) = (find(&ds, &a.pair[0])?, find(&ds, &a.pair[1])?);
    if x == y {
        bail!("--pair names the same record twice");
    }
    let (l, r) = (x.min(y), x.max(y));
    let comparer =
        Comparer::new(&model.comparisons, &ds).context("compiling the model's comparisons")?;
    let mut levels = vec![0u8; comparer.len()];
    comparer.vector(&ds, l as u32, r as u32, &mut levels);
    let lw = params.level_weights();
    let wf = Waterfall {
        pair_label: Some(format!(
            "{}:{} – {}:{}",
            ds.source_name(l),
            ds.ids.get(l),
            ds.source_name(r),
            ds.ids.get(r)
        )),
        prior_weight: params.prior_weight(),
        terms: comparer
            .comparisons
            .iter()
            .zip(&levels)
            .enumerate()
            .map(|(c, (cmp, &lv))| WaterfallTerm {
                name: cmp.name.clone(),
                level_label: model.comparisons[c].levels[lv as usize].display_label(),
                weight: lw[c][lv as usize],
            })
            .collect(),
    };
    // The values compared, side by side.
    println!("{:<20} {:<30} {:<30}", "field", a.pair[0], a.pair[1]);
    for cmp in &comparer.comparisons {
        let col = &ds.columns[cmp.column];
        let v = |r: usize| col.get(r).unwrap_or("(missing)").to_string();
        println!("{:<20} {:<30} {:<30}", cmp.name, v(x), v(y));
    }
    println!();
    print!("{}", waterfall_text(&wf));
    if let Some(path) = &a.chart {
        waterfall(wf).save(path)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
