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
    if !e.admissible {
        println!(
            "candidate: no: link_type = \"{}\" never pairs these records (same source); the weight below is what the pair would get",
            model.link_type.name()
        );
    } else if e.exhaustive {
        println!("candidate: yes (exhaustive model: every admissible pair is scored)");
    } else if e.candidate_rules.is_empty() {
        println!(
            "candidate: NO: no blocking rule puts these records together, so a run never scores this pair; the probability below is what it would get if it were compared"
        );
    } else {
        println!(
            "candidate: yes, by blocking rule(s): {}",
            e.candidate_rules.join("; ")
        );
    }
    match e.truth {
        Some(true) => println!("truth: same entity (a true match)"),
        Some(false) => println!("truth: different entities (not a match)"),
        None => {}
    }
    println!("match probability {:.6}", e.probability);
    println!();
    // The values compared, side by side, with the level's m and u.
    println!(
        "{:<20} {:<30} {:<30} {:>10} {:>10}",
        "field", a.pair[0], a.pair[1], "m", "u"
    );
    for ((name, vx, vy), (m, u)) in e.values.iter().zip(&e.m_u) {
        let v = |v: &Option<String>| v.clone().unwrap_or_else(|| "(missing)".to_string());
        println!(
            "{:<20} {:<30} {:<30} {:>10.4e} {:>10.4e}",
            name,
            v(vx),
            v(vy),
            m,
            u
        );
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
