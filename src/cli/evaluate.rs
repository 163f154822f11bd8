//! `fellegi evaluate`: scores a pairs.csv against the truth (a truth column in the inputs) or
//! against clerical labels (a Splink-style labels CSV), and writes evaluation.json.

use std::path::PathBuf;

use fellegi::classify::check_probability;
use fellegi::data::{InputSpec, LinkType, read_csv_files};
use fellegi::eval::evaluation;
use fellegi::output::{Staged, read_pairs, write_json};
use fellegi::progress::Progress;

use super::common::InputArgs;

/// Arguments of `fellegi evaluate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// pairs.csv written by `fellegi link` or `fellegi predict`.
    #[arg(long)]
    pairs: PathBuf,
    #[command(flatten)]
    input: InputArgs,
    /// Clerical labels instead of a truth column: CSV with unique_id_l, source_dataset_l,
    /// unique_id_r, source_dataset_r, clerical_match_score (a score >= 0.5 is a match).
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Link type of the task (default: the dataset's, else dedupe for one input, link for more).
    #[arg(long, value_parser = parse_link_type)]
    link_type: Option<LinkType>,
    /// Unique-id column of the inputs.
    #[arg(long, default_value = "record_id")]
    unique_id: String,
    /// Truth column of the inputs.
    #[arg(long, default_value = "entity_id")]
    truth: String,
    /// Match threshold on match_probability.
    #[arg(long, default_value_t = 0.5, allow_negative_numbers = true)]
    threshold: f64,
    /// Output folder for evaluation.json (default: the folder of --pairs).
    #[arg(long)]
    out: Option<PathBuf>,
}

fn parse_link_type(s: &str) -> Result<LinkType, String> {
    match s {
        "dedupe" | "dedupe_only" => Ok(LinkType::Dedupe),
        "link" | "link_only" => Ok(LinkType::Link),
        "link_and_dedupe" => Ok(LinkType::LinkAndDedupe),
        _ => Err(format!("`{s}` is not one of dedupe, link, link_and_dedupe")),
    }
}

pub fn run(a: Args) -> anyhow::Result<()> {
    check_probability("--threshold", a.threshold)?;
    let pairs = read_pairs(&a.pairs)?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| a.pairs.parent().map(PathBuf::from).unwrap_or_default());
    let estimated = evaluation::estimated_errors_of(&pairs, a.threshold);
    let (doc, prf) = if let Some(labels) = &a.labels {
        let path = labels;
        let labels = evaluation::read_labels(path)?;
        // With inputs given, every labelled record must be one of them (a typo in an id would
        // otherwise count silently as an unscored pair).
        if a.input.dataset.is_some() || !a.input.input.is_empty() {
            let resolved = a.input.resolve()?;
            let uid = match &resolved.entry {
                Some(e) => e.unique_id.clone(),
                None => a.unique_id.clone(),
            };
            let spec = InputSpec {
                paths: resolved.paths.clone(),
                unique_id: uid,
                truth: None,
                columns: Vec::new(),
            };
            let ds = read_csv_files(&spec, &Progress::default())?;
            evaluation::check_labels_known(&ds, &labels, path)?;
        }
        let e = evaluation::against_labels(&labels, &pairs, a.threshold);
        let prf = [e.precision, e.recall, e.f1];
        (serde_json::to_value(&e)?, prf)
    } else {
        let resolved = a.input.resolve()?;
        let link_type = a
            .link_type
            .or(resolved.entry.as_ref().map(|e| e.task))
            .unwrap_or(if resolved.paths.len() > 1 {
                LinkType::Link
            } else {
                LinkType::Dedupe
            });
        let (uid, truth_col) = match &resolved.entry {
            Some(e) => (e.unique_id.clone(), e.truth.clone()),
            None => (a.unique_id.clone(), a.truth.clone()),
        };
        let spec = InputSpec {
            paths: resolved.paths.clone(),
            unique_id: uid,
            truth: Some(truth_col.clone()),
            columns: Vec::new(),
        };
        let ds = read_csv_files(&spec, &Progress::default())?;
        let e =
            evaluation::against_truth(&ds, link_type, &pairs, &a.pairs, &truth_col, a.threshold)?;
        let prf = [e.precision, e.recall, e.f1];
        (serde_json::to_value(&e)?, prf)
    };
    let mut stage = Staged::new(&out)?;
    stage.write("evaluation.json", |w| write_json(w, &doc))?;
    let written = stage.commit()?;
    for (k, v) in ["precision", "recall", "f1"].iter().zip(prf) {
        println!("{k:<10} {v:.4}");
    }
    println!(
        "estimated FDR {:.4}  FNR {:.4}; wrote {}",
        estimated.false_discovery_rate,
        estimated.false_negative_rate,
        written[0].display()
    );
    Ok(())
}
