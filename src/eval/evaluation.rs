//! Evaluation of a scored pairs file (`fellegi evaluate`): against the truth column of the
//! inputs, or against clerical labels (a Splink-style labels CSV). The documents serialise to
//! `evaluation.json`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::clusters::{ClusterMetrics, cluster_metrics};
use super::curves::{EstimatedErrors, SweepPoint, estimated_errors, f_beta, sweep};
use super::summary::true_false_discovery_rate;
use super::{PairwiseMetrics, pairwise};
use crate::block::total_pairs;
use crate::cluster::connected_components;
use crate::data::{Dataset, LinkType, MISSING, count_true_pairs};
use crate::error::{Error, Result};
use crate::output::PairRecord;

/// A record's (source, id).
pub type RecordKey = (String, String);

/// Average precision and the best-F1 point of a threshold sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepBrief {
    /// Area under the precision–recall step curve.
    pub average_precision: f64,
    /// The threshold with the highest F1.
    pub best_f1: Option<SweepPoint>,
}

/// Estimated and true error rates at the threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluationErrorRates {
    /// Expected share of false links among the links, from the probabilities alone.
    pub estimated_false_discovery_rate: f64,
    /// Expected share of matches below the threshold, from the probabilities alone.
    pub estimated_false_negative_rate: f64,
    /// false positives / links.
    pub true_false_discovery_rate: f64,
    /// 1 − recall.
    pub true_false_negative_rate: f64,
}

/// A pairs file evaluated against the inputs' truth column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthEvaluation {
    /// Always `truth column`.
    pub mode: String,
    /// The link type whose true pairs count.
    pub link_type: LinkType,
    /// Pairwise precision of the pairs at or above the threshold.
    pub precision: f64,
    /// Pairwise recall against every admissible true pair.
    pub recall: f64,
    /// F1.
    pub f1: f64,
    /// F-beta with β = 2.
    pub f2: f64,
    /// The threshold on match_probability.
    pub threshold: f64,
    /// Links that are true pairs.
    pub true_positives: u64,
    /// Links that are not.
    pub false_positives: u64,
    /// True pairs not linked.
    pub false_negatives: u64,
    /// True pairs the link type admits.
    pub true_pairs: u64,
    /// Records in the inputs.
    pub records: usize,
    /// Pairs in the file.
    pub pairs_scored: usize,
    /// Threshold sweep over the pairs in the file.
    pub threshold_sweep: SweepBrief,
    /// Estimated and true error rates.
    pub error_rates: EvaluationErrorRates,
    /// The clusters of the links against the truth.
    pub clusters: ClusterMetrics,
}

/// A pairs file evaluated against clerical labels: each labelled pair takes its predicted
/// probability (0 when it was not scored), and the counts are over the labelled pairs only (as
/// Splink's `truth_space_table_from_labels`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelEvaluation {
    /// Always `clerical labels`.
    pub mode: String,
    /// Labelled pairs.
    pub labelled_pairs: usize,
    /// Of which labelled matches (score ≥ 0.5).
    pub labelled_matches: u64,
    /// Precision among the labelled pairs.
    pub precision: f64,
    /// Recall among the labelled matches.
    pub recall: f64,
    /// F1.
    pub f1: f64,
    /// The threshold on match_probability.
    pub threshold: f64,
    /// Labelled matches at or above the threshold.
    pub true_positives: u64,
    /// Labelled non-matches at or above the threshold.
    pub false_positives: u64,
    /// Labelled matches below it.
    pub false_negatives: u64,
    /// Threshold sweep over the labelled pairs.
    pub threshold_sweep: SweepBrief,
}

/// The model's own error estimate over the pairs of a file ([`estimated_errors`]).
pub fn estimated_errors_of(pairs: &[PairRecord], threshold: f64) -> EstimatedErrors {
    let probs: Vec<f64> = pairs.iter().map(|p| p.probability).collect();
    estimated_errors(&probs, threshold)
}

/// Evaluates `pairs` (read from `path`, named in errors) against the truth of `ds`.
///
/// # Errors
/// [`Error::Data`] when `ds` has no truth column (naming `truth_column`);
/// [`Error::Csv`] naming the line of `path` whose record is not in the inputs.
pub fn against_truth(
    ds: &Dataset,
    link_type: LinkType,
    pairs: &[PairRecord],
    path: &Path,
    truth_column: &str,
    threshold: f64,
) -> Result<TruthEvaluation> {
    let Some(truth) = ds.truth.as_deref() else {
        return Err(Error::Data(format!(
            "the inputs have no truth column `{truth_column}`; give --truth or use --labels"
        )));
    };
    let mut index: BTreeMap<(&str, &str), u32> = BTreeMap::new();
    for r in 0..ds.len() {
        index.insert((ds.source_name(r), ds.ids.get(r)), r as u32);
    }
    let find = |k: &RecordKey, line: usize| -> Result<u32> {
        index
            .get(&(k.0.as_str(), k.1.as_str()))
            .copied()
            .ok_or_else(|| Error::Csv {
                path: path.to_path_buf(),
                line: line as u64,
                message: format!("record `{}` of source `{}` is not in the inputs", k.1, k.0),
            })
    };
    let mut idx = Vec::with_capacity(pairs.len());
    for (n, p) in pairs.iter().enumerate() {
        idx.push((find(&p.left, n + 2)?, find(&p.right, n + 2)?));
    }
    let accepted: Vec<(u32, u32)> = idx
        .iter()
        .zip(pairs)
        .filter(|(_, p)| p.probability >= threshold)
        .map(|(x, _)| *x)
        .collect();
    let m: PairwiseMetrics = pairwise(ds, link_type, accepted.iter().copied())
        .ok_or_else(|| Error::Internal("truth column vanished".into()))?;
    let true_pairs = count_true_pairs(truth, &ds.source_of, ds.sources.len(), link_type);
    let total = total_pairs(link_type, &ds.source_sizes());
    let scored: Vec<(f64, bool)> = idx
        .iter()
        .zip(pairs)
        .map(|(&(l, r), p)| {
            let (x, y) = (truth[l as usize], truth[r as usize]);
            (p.probability, x != MISSING && x == y)
        })
        .collect();
    let sw = sweep(&scored, true_pairs, total);
    let clusters = connected_components(ds.len(), accepted.iter().copied());
    let estimated = estimated_errors_of(pairs, threshold);
    Ok(TruthEvaluation {
        mode: "truth column".into(),
        link_type,
        precision: m.precision,
        recall: m.recall,
        f1: m.f1,
        f2: f_beta(m.precision, m.recall, 2.0),
        threshold,
        true_positives: m.true_positives,
        false_positives: m.false_positives,
        false_negatives: m.false_negatives,
        true_pairs,
        records: ds.len(),
        pairs_scored: pairs.len(),
        threshold_sweep: SweepBrief {
            average_precision: sw.average_precision,
            best_f1: sw.best_f1,
        },
        error_rates: EvaluationErrorRates {
            estimated_false_discovery_rate: estimated.false_discovery_rate,
            estimated_false_negative_rate: estimated.false_negative_rate,
            true_false_discovery_rate: true_false_discovery_rate(&m),
            true_false_negative_rate: 1.0 - m.recall,
        },
        clusters: cluster_metrics(&clusters, truth),
    })
}

/// One clerical label: a pair of records and whether a reviewer judged it a match.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    /// One record.
    pub left: RecordKey,
    /// The other.
    pub right: RecordKey,
    /// `clerical_match_score >= 0.5`.
    pub is_match: bool,
}

/// Reads a Splink-style labels CSV: unique_id_l, source_dataset_l, unique_id_r,
/// source_dataset_r, clerical_match_score (a score ≥ 0.5 is a match).
///
/// # Errors
/// [`Error::Io`] when unreadable; [`Error::Input`] for a missing column (naming the expected
/// ones); [`Error::Csv`] naming the line of a malformed row or a score that is not a number.
pub fn read_labels(path: &Path) -> Result<Vec<Label>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut rdr = csv::Reader::from_reader(file);
    let header = rdr
        .headers()
        .map_err(|e| Error::Csv {
            path: path.to_path_buf(),
            line: 1,
            message: format!("no header: {e}"),
        })?
        .clone();
    let col = |n: &str| -> Result<usize> {
        header.iter().position(|h| h == n).ok_or_else(|| Error::Input {
            path: path.to_path_buf(),
            message: format!(
                "no column `{n}`; expected unique_id_l, source_dataset_l, unique_id_r, source_dataset_r, clerical_match_score"
            ),
        })
    };
    let (il, sl, ir, sr, sc) = (
        col("unique_id_l")?,
        col("source_dataset_l")?,
        col("unique_id_r")?,
        col("source_dataset_r")?,
        col("clerical_match_score")?,
    );
    let mut out = Vec::new();
    for (n, rec) in rdr.records().enumerate() {
        let line = n as u64 + 2;
        let csv_err = |message: String| Error::Csv {
            path: path.to_path_buf(),
            line,
            message,
        };
        let rec = rec.map_err(|e| csv_err(format!("malformed row: {e}")))?;
        let s: f64 = rec[sc].parse().map_err(|_| {
            csv_err(format!(
                "clerical_match_score `{}` is not a number",
                &rec[sc]
            ))
        })?;
        if s.is_nan() {
            return Err(csv_err("clerical_match_score is NaN".into()));
        }
        out.push(Label {
            left: (rec[sl].to_string(), rec[il].to_string()),
            right: (rec[sr].to_string(), rec[ir].to_string()),
            is_match: s >= 0.5,
        });
    }
    Ok(out)
}

/// Checks that every record of `labels` (read from `path`, one label per line after the
/// header) is in `ds`.
///
/// # Errors
/// [`Error::Csv`] naming the line of `path` whose record is not in the inputs.
pub fn check_labels_known(ds: &Dataset, labels: &[Label], path: &Path) -> Result<()> {
    let known: std::collections::BTreeSet<(&str, &str)> = (0..ds.len())
        .map(|r| (ds.source_name(r), ds.ids.get(r)))
        .collect();
    for (n, l) in labels.iter().enumerate() {
        for k in [&l.left, &l.right] {
            if !known.contains(&(k.0.as_str(), k.1.as_str())) {
                return Err(Error::Csv {
                    path: path.to_path_buf(),
                    line: n as u64 + 2,
                    message: format!(
                        "record `{}` of source `{}` is not in the inputs; check unique_id_l/unique_id_r and source_dataset_l/source_dataset_r (the source is the input file's stem)",
                        k.1, k.0
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Evaluates `pairs` against clerical `labels` at `threshold`.
pub fn against_labels(labels: &[Label], pairs: &[PairRecord], threshold: f64) -> LabelEvaluation {
    let mut scores: BTreeMap<(RecordKey, RecordKey), f64> = BTreeMap::new();
    for p in pairs {
        let (x, y) = if p.left <= p.right {
            (p.left.clone(), p.right.clone())
        } else {
            (p.right.clone(), p.left.clone())
        };
        scores.insert((x, y), p.probability);
    }
    let mut scored = Vec::with_capacity(labels.len());
    let mut positives = 0u64;
    for l in labels {
        let key = if l.left <= l.right {
            (l.left.clone(), l.right.clone())
        } else {
            (l.right.clone(), l.left.clone())
        };
        let p = scores.get(&key).copied().unwrap_or(0.0);
        positives += l.is_match as u64;
        scored.push((p, l.is_match));
    }
    let tp = scored.iter().filter(|(p, m)| *m && *p >= threshold).count() as u64;
    let fp = scored
        .iter()
        .filter(|(p, m)| !*m && *p >= threshold)
        .count() as u64;
    let m = PairwiseMetrics::from_counts(tp, fp, positives - tp);
    let sw = sweep(&scored, positives, scored.len() as u128);
    LabelEvaluation {
        mode: "clerical labels".into(),
        labelled_pairs: scored.len(),
        labelled_matches: positives,
        precision: m.precision,
        recall: m.recall,
        f1: m.f1,
        threshold,
        true_positives: tp,
        false_positives: fp,
        false_negatives: positives - tp,
        threshold_sweep: SweepBrief {
            average_precision: sw.average_precision,
            best_f1: sw.best_f1,
        },
    }
}
