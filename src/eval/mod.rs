//! Evaluation against known truth: pairwise confusion counts, precision, recall and F1.
//!
//! True pairs are every pair of records with the same truth value that the link type admits
//! (cross-source only for `link`), counted exactly as `shared/bench/splink_febrl.py` counts them.
//! Records with a missing truth value match nothing.

pub mod blocking_recall;
pub mod clusters;
pub mod curves;
pub mod evaluation;
pub mod summary;

pub use summary::LinkMetrics;

use serde::{Deserialize, Serialize};

use crate::data::LinkType;
pub use crate::data::count_true_pairs;
use crate::data::{Dataset, MISSING};

/// Pairwise confusion counts and the derived rates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PairwiseMetrics {
    /// Predicted pairs that are true matches.
    pub true_positives: u64,
    /// Predicted pairs that are not.
    pub false_positives: u64,
    /// True pairs not predicted.
    pub false_negatives: u64,
    /// tp / (tp + fp); 0 when nothing is predicted.
    pub precision: f64,
    /// tp / (tp + fn); 0 when there are no true pairs.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
}

impl PairwiseMetrics {
    /// From confusion counts.
    pub fn from_counts(tp: u64, fp: u64, fn_: u64) -> Self {
        let precision = if tp + fp > 0 {
            tp as f64 / (tp + fp) as f64
        } else {
            0.0
        };
        let recall = if tp + fn_ > 0 {
            tp as f64 / (tp + fn_) as f64
        } else {
            0.0
        };
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        PairwiseMetrics {
            true_positives: tp,
            false_positives: fp,
            false_negatives: fn_,
            precision,
            recall,
            f1,
        }
    }
}

/// Pairwise metrics of the predicted pairs `(l, r)` against the dataset's truth; `None` without truth.
pub fn pairwise(
    ds: &Dataset,
    link_type: LinkType,
    predicted: impl IntoIterator<Item = (u32, u32)>,
) -> Option<PairwiseMetrics> {
    let truth = ds.truth.as_deref()?;
    let true_pairs = count_true_pairs(truth, &ds.source_of, ds.sources.len(), link_type);
    let (mut tp, mut fp) = (0u64, 0u64);
    for (l, r) in predicted {
        let (a, b) = (truth[l as usize], truth[r as usize]);
        if a != MISSING && a == b {
            tp += 1;
        } else {
            fp += 1;
        }
    }
    Some(PairwiseMetrics::from_counts(
        tp,
        fp,
        true_pairs.saturating_sub(tp),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn true_pairs_by_link_type() {
        // entity 0: two in source 0, one in source 1; entity 1: one in each of sources 0, 1, 2.
        let truth = [0, 0, 0, 1, 1, 1];
        let src = [0, 0, 1, 0, 1, 2];
        assert_eq!(
            count_true_pairs(&truth, &src, 3, LinkType::LinkAndDedupe),
            6
        );
        assert_eq!(count_true_pairs(&truth, &src, 3, LinkType::Link), 5);
    }

    #[test]
    fn metrics_from_counts() {
        let m = PairwiseMetrics::from_counts(8, 2, 2);
        assert!(
            (m.precision - 0.8).abs() < 1e-12
                && (m.recall - 0.8).abs() < 1e-12
                && (m.f1 - 0.8).abs() < 1e-12
        );
        assert_eq!(PairwiseMetrics::from_counts(0, 0, 5).f1, 0.0);
    }
}

/// Blocking metrics of one rule, or of the union of all rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockingMetrics {
    /// The rule (`union` for all rules together).
    pub rule: String,
    /// Candidate pairs the rule contributes (pairs of earlier rules are not counted again).
    pub pairs: u64,
    /// True pairs among them, when truth is known.
    pub true_pairs_found: Option<u64>,
    /// 1 − pairs / all admissible pairs.
    pub reduction_ratio: f64,
    /// True pairs found / all true pairs.
    pub pairs_completeness: Option<f64>,
    /// True pairs found / pairs.
    pub pairs_quality: Option<f64>,
}

/// Blocking metrics per rule and for their union (last), from the candidate counts.
pub fn blocking_metrics(
    rules: &[String],
    pairs: &[u64],
    true_found: Option<&[u64]>,
    total_pairs: u128,
    true_pairs: Option<u64>,
) -> Vec<BlockingMetrics> {
    let one = |rule: String, n: u64, t: Option<u64>| BlockingMetrics {
        rule,
        pairs: n,
        true_pairs_found: t,
        reduction_ratio: if total_pairs > 0 {
            1.0 - n as f64 / total_pairs as f64
        } else {
            0.0
        },
        pairs_completeness: match (t, true_pairs) {
            (Some(t), Some(tp)) if tp > 0 => Some(t as f64 / tp as f64),
            _ => None,
        },
        pairs_quality: t.map(|t| if n > 0 { t as f64 / n as f64 } else { 0.0 }),
    };
    let mut out: Vec<BlockingMetrics> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| one(r.clone(), pairs[i], true_found.map(|t| t[i])))
        .collect();
    out.push(one(
        "union".into(),
        pairs.iter().sum(),
        true_found.map(|t| t.iter().sum()),
    ));
    out
}
