//! `fellegi evaluate`: scores a pairs.csv against the truth (a truth column in the inputs) or
//! against clerical labels (a Splink-style labels CSV), and writes evaluation.json.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use fellegi::block::total_pairs;
use fellegi::cluster::connected_components;
use fellegi::data::{InputSpec, MISSING, read_csv_files};
use fellegi::eval::clusters::cluster_metrics;
use fellegi::eval::curves::{estimated_errors, f_beta, sweep};
use fellegi::eval::{self, PairwiseMetrics};
use fellegi::output::{PairRecord, Staged, read_pairs, write_json};
use fellegi::progress::Progress;
use fellegi::settings::LinkType;

use fellegi::classify::check_probability;

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

/// A record's (source, id).
type RecordKey = (String, String);

pub fn run(a: Args) -> anyhow::Result<()> {
    check_probability("--threshold", a.threshold)?;
    let pairs = read_pairs(&a.pairs)?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| a.pairs.parent().map(PathBuf::from).unwrap_or_default());
    let probs: Vec<f64> = pairs.iter().map(|p| p.probability).collect();
    let estimated = estimated_errors(&probs, a.threshold);
    let doc = if let Some(labels) = &a.labels {
        evaluate_labels(&a, labels, &pairs)?
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
        let truth = ds.truth.as_deref().with_context(|| {
            format!("the inputs have no truth column `{truth_col}`; give --truth or use --labels")
        })?;
        let mut index: BTreeMap<(&str, &str), u32> = BTreeMap::new();
        for r in 0..ds.len() {
            index.insert((ds.source_name(r), ds.ids.get(r)), r as u32);
        }
        let find = |k: &(String, String), line: usize| -> anyhow::Result<u32> {
            index
                .get(&(k.0.as_str(), k.1.as_str()))
                .copied()
                .with_context(|| {
                    format!(
                        "{}:{line}: record `{}` of source `{}` is not in the inputs",
                        a.pairs.display(),
                        k.1,
                        k.0
                    )
                })
        };
        let mut idx = Vec::with_capacity(pairs.len());
        for (n, p) in pairs.iter().enumerate() {
            idx.push((find(&p.left, n + 2)?, find(&p.right, n + 2)?));
        }
        let accepted: Vec<(u32, u32)> = idx
            .iter()
            .zip(&pairs)
            .filter(|(_, p)| p.probability >= a.threshold)
            .map(|(x, _)| *x)
            .collect();
        let m = eval::pairwise(&ds, link_type, accepted.iter().copied()).context("no truth")?;
        let true_pairs = eval::count_true_pairs(truth, &ds.source_of, ds.sources.len(), link_type);
        let total = total_pairs(link_type, &ds.source_sizes());
        let scored: Vec<(f64, bool)> = idx
            .iter()
            .zip(&pairs)
            .map(|(&(l, r), p)| {
                let (x, y) = (truth[l as usize], truth[r as usize]);
                (p.probability, x != MISSING && x == y)
            })
            .collect();
        let sw = sweep(&scored, true_pairs, total);
        let clusters = connected_components(ds.len(), accepted.iter().copied());
        serde_json::json!({
            "mode": "truth column",
            "link_type": link_type.name(),
            "precision": m.precision, "recall": m.recall, "f1": m.f1,
            "f2": f_beta(m.precision, m.recall, 2.0),
            "threshold": a.threshold,
            "true_positives": m.true_positives, "false_positives": m.false_positives, "false_negatives": m.false_negatives,
            "true_pairs": true_pairs, "records": ds.len(), "pairs_scored": pairs.len(),
            "threshold_sweep": { "average_precision": sw.average_precision, "best_f1": sw.best_f1 },
            "error_rates": {
                "estimated_false_discovery_rate": estimated.false_discovery_rate,
                "estimated_false_negative_rate": estimated.false_negative_rate,
                "true_false_discovery_rate": fdr(&m),
                "true_false_negative_rate": 1.0 - m.recall,
            },
            "clusters": cluster_metrics(&clusters, truth),
        })
    };
    let mut stage = Staged::new(&out)?;
    stage.write("evaluation.json", |w| write_json(w, &doc))?;
    let written = stage.commit()?;
    for k in ["precision", "recall", "f1"] {
        println!("{k:<10} {:.4}", doc[k].as_f64().unwrap_or(f64::NAN));
    }
    println!(
        "estimated FDR {:.4}  FNR {:.4}; wrote {}",
        estimated.false_discovery_rate,
        estimated.false_negative_rate,
        written[0].display()
    );
    Ok(())
}

fn fdr(m: &PairwiseMetrics) -> f64 {
    if m.true_positives + m.false_positives > 0 {
        m.false_positives as f64 / (m.true_positives + m.false_positives) as f64
    } else {
        0.0
    }
}

/// Clerical labels: each labelled pair takes its predicted probability (0 when it was not
/// scored), and the confusion counts are over the labelled pairs only (as Splink's
/// `truth_space_table_from_labels`).
fn evaluate_labels(
    a: &Args,
    labels: &Path,
    pairs: &[PairRecord],
) -> anyhow::Result<serde_json::Value> {
    let mut scores: BTreeMap<(RecordKey, RecordKey), f64> = BTreeMap::new();
    for p in pairs {
        let (x, y) = if p.left <= p.right {
            (p.left.clone(), p.right.clone())
        } else {
            (p.right.clone(), p.left.clone())
        };
        scores.insert((x, y), p.probability);
    }
    let mut rdr = csv::Reader::from_path(labels)
        .with_context(|| format!("{}: cannot open", labels.display()))?;
    let header = rdr
        .headers()
        .with_context(|| format!("{}: no header", labels.display()))?
        .clone();
    let col = |n: &str| -> anyhow::Result<usize> {
        header.iter().position(|h| h == n).with_context(|| {
            format!(
                "{}: no column `{n}`; expected unique_id_l, source_dataset_l, unique_id_r, source_dataset_r, clerical_match_score",
                labels.display()
            )
        })
    };
    let (il, sl, ir, sr, sc) = (
        col("unique_id_l")?,
        col("source_dataset_l")?,
        col("unique_id_r")?,
        col("source_dataset_r")?,
        col("clerical_match_score")?,
    );
    let mut scored = Vec::new();
    let mut positives = 0u64;
    for (n, rec) in rdr.records().enumerate() {
        let line = n + 2;
        let rec = rec.with_context(|| format!("{}:{line}: malformed row", labels.display()))?;
        let s: f64 = rec[sc].parse().with_context(|| {
            format!(
                "{}:{line}: clerical_match_score `{}` is not a number",
                labels.display(),
                &rec[sc]
            )
        })?;
        let l = (rec[sl].to_string(), rec[il].to_string());
        let r = (rec[sr].to_string(), rec[ir].to_string());
        let key = if l <= r { (l, r) } else { (r, l) };
        let p = scores.get(&key).copied().unwrap_or(0.0);
        let is_match = s >= 0.5;
        positives += is_match as u64;
        scored.push((p, is_match));
    }
    let tp = scored
        .iter()
        .filter(|(p, m)| *m && *p >= a.threshold)
        .count() as u64;
    let fp = scored
        .iter()
        .filter(|(p, m)| !*m && *p >= a.threshold)
        .count() as u64;
    let m = PairwiseMetrics::from_counts(tp, fp, positives - tp);
    let sw = sweep(&scored, positives, scored.len() as u128);
    Ok(serde_json::json!({
        "mode": "clerical labels",
        "labelled_pairs": scored.len(),
        "labelled_matches": positives,
        "precision": m.precision, "recall": m.recall, "f1": m.f1,
        "threshold": a.threshold,
        "true_positives": tp, "false_positives": fp, "false_negatives": positives - tp,
        "threshold_sweep": { "average_precision": sw.average_precision, "best_f1": sw.best_f1 },
    }))
}
