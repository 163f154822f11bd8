//! Threshold sweeps: precision–recall and ROC curves, average precision, the best-F1 threshold,
//! and the model's own estimates of its error rates.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// One point of a threshold sweep.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// Pairs with match probability at or above this are predicted matches.
    pub threshold: f64,
    /// True positives at this threshold.
    pub tp: u64,
    /// False positives at this threshold.
    pub fp: u64,
    /// tp / (tp + fp).
    pub precision: f64,
    /// tp / true pairs.
    pub recall: f64,
    /// F1 score.
    pub f1: f64,
    /// False-positive rate: fp / all admissible non-matching pairs.
    pub fpr: f64,
}

/// A full threshold sweep over scored pairs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sweep {
    /// One point per distinct probability among the scored pairs, threshold descending.
    pub points: Vec<SweepPoint>,
    /// Average precision: Σ (R_k − R_{k−1}) P_k over the points (area under the PR step curve).
    pub average_precision: f64,
    /// The point with the highest F1 (the highest threshold among ties).
    pub best_f1: Option<SweepPoint>,
    /// Area under the ROC curve ([`roc_auc`]).
    pub roc_auc: f64,
}

/// Area under the ROC curve of sweep points given as (false-positive rate, true-positive rate),
/// by the trapezoid rule from (0, 0) through the points to (1, 1). The points of a sweep cover
/// only the pairs scored, whose false-positive rates are tiny beside all admissible pairs; every
/// pair never scored (outside the blocks or below the minimum probability) ranks below them, as
/// one tie, so the curve ends with a straight line to (1, 1) (ties are joined linearly, as the
/// usual ROC convention for tied scores; Fawcett 2006). Without that last segment the area of a
/// perfect linkage would be about 0.
///
/// # References
/// - Fawcett, T. (2006). An introduction to ROC analysis. *Pattern Recognition Letters* 27(8),
///   861–874.
pub fn roc_auc(points: &[(f64, f64)]) -> f64 {
    let mut xy: Vec<(f64, f64)> = Vec::with_capacity(points.len() + 2);
    xy.push((0.0, 0.0));
    xy.extend(
        points
            .iter()
            .copied()
            .filter(|p| p.0.is_finite() && p.1.is_finite()),
    );
    xy.push((1.0, 1.0));
    xy.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut area = 0.0;
    for w in xy.windows(2) {
        area += (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0;
    }
    area
}

/// Sweeps thresholds over pairs given as (match probability, is a true match). `true_pairs` is
/// the number of true pairs the link type admits (those never scored count as missed), and
/// `total_pairs` the number of admissible pairs (for the false-positive rate).
pub fn sweep(scored: &[(f64, bool)], true_pairs: u64, total_pairs: u128) -> Sweep {
    let mut v: Vec<(f64, bool)> = scored
        .iter()
        .copied()
        .filter(|(p, _)| !p.is_nan())
        .collect();
    // Equal probabilities form one point, so the order among them does not matter.
    v.par_sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
    let negatives = (total_pairs.saturating_sub(true_pairs as u128)).max(1) as f64;
    let mut points = Vec::new();
    let (mut tp, mut fp) = (0u64, 0u64);
    let mut i = 0;
    while i < v.len() {
        let t = v[i].0;
        while i < v.len() && v[i].0 == t {
            if v[i].1 {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        let m = super::PairwiseMetrics::from_counts(tp, fp, true_pairs.saturating_sub(tp));
        points.push(SweepPoint {
            threshold: t,
            tp,
            fp,
            precision: m.precision,
            recall: m.recall,
            f1: m.f1,
            fpr: fp as f64 / negatives,
        });
    }
    let mut ap = 0.0;
    let mut prev_r = 0.0;
    for p in &points {
        ap += (p.recall - prev_r) * p.precision;
        prev_r = p.recall;
    }
    let best_f1 = points
        .iter()
        .copied()
        .fold(None, |best: Option<SweepPoint>, p| match best {
            Some(b) if b.f1 >= p.f1 => Some(b),
            _ => Some(p),
        });
    let roc: Vec<(f64, f64)> = points.iter().map(|p| (p.fpr, p.recall)).collect();
    Sweep {
        roc_auc: roc_auc(&roc),
        points,
        average_precision: ap,
        best_f1,
    }
}

/// The model's own estimate of its error rates at a threshold, from the posterior match
/// probabilities of the scored pairs (as fastLink's `confusion()`), without any truth.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EstimatedErrors {
    /// The threshold.
    pub threshold: f64,
    /// Expected false matches among accepted pairs / accepted pairs: Σ_{p ≥ t} (1 − p) / n_accepted.
    pub false_discovery_rate: f64,
    /// Expected missed matches / expected matches: Σ_{p < t} p / Σ p.
    pub false_negative_rate: f64,
    /// Expected number of matches among the scored pairs, Σ p.
    pub expected_matches: f64,
}

/// Estimates error rates at `threshold` from match probabilities. Pairs never scored (below
/// the minimum probability written, or outside the blocks) are taken as certain non-matches, so
/// the false-negative rate is a lower bound.
pub fn estimated_errors(probabilities: &[f64], threshold: f64) -> EstimatedErrors {
    let links: Vec<bool> = probabilities.iter().map(|&p| p >= threshold).collect();
    estimated_errors_of_links(probabilities, &links, threshold)
}

/// As [`estimated_errors`], with the links given (`is_link[i]` for pair `i`, e.g. the
/// Fellegi–Sunter `Match` decisions) instead of read off a threshold; `threshold` is only
/// recorded.
pub fn estimated_errors_of_links(
    probabilities: &[f64],
    is_link: &[bool],
    threshold: f64,
) -> EstimatedErrors {
    let (mut acc_n, mut acc_fp, mut missed, mut total) = (0u64, 0.0, 0.0, 0.0);
    // Fixed order (the input order) keeps the float sums deterministic.
    for (&p, &link) in probabilities.iter().zip(is_link) {
        total += p;
        if link {
            acc_n += 1;
            acc_fp += 1.0 - p;
        } else {
            missed += p;
        }
    }
    EstimatedErrors {
        threshold,
        false_discovery_rate: if acc_n > 0 {
            acc_fp / acc_n as f64
        } else {
            0.0
        },
        false_negative_rate: if total > 0.0 { missed / total } else { 0.0 },
        expected_matches: total,
    }
}

/// F-beta score: (1 + β²) P R / (β² P + R); β > 1 weighs recall more.
pub fn f_beta(precision: f64, recall: f64, beta: f64) -> f64 {
    let b2 = beta * beta;
    let d = b2 * precision + recall;
    if d > 0.0 {
        (1.0 + b2) * precision * recall / d
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_by_hand() {
        // 3 true pairs in all; scored: 0.9 T, 0.8 F, 0.7 T, 0.2 F.
        let s = sweep(
            &[(0.9, true), (0.8, false), (0.7, true), (0.2, false)],
            3,
            100,
        );
        assert_eq!(s.points.len(), 4);
        let p = &s.points[2];
        assert_eq!((p.tp, p.fp), (2, 1));
        assert!((p.precision - 2.0 / 3.0).abs() < 1e-12 && (p.recall - 2.0 / 3.0).abs() < 1e-12);
        // AP = 1/3 * 1 + 1/3 * 2/3.
        assert!((s.average_precision - (1.0 / 3.0 + 2.0 / 9.0)).abs() < 1e-12);
        let b = s.best_f1.unwrap();
        assert_eq!(b.threshold, 0.7);
        assert!((s.points[3].fpr - 2.0 / 97.0).abs() < 1e-12);
    }

    #[test]
    fn roc_auc_counts_the_pairs_never_scored() {
        // Issue 19: a perfect ranking over a few scored pairs among many admissible ones has
        // AUC 1, not ~0 (the false-positive rates of the scored pairs are all tiny).
        let s = sweep(&[(0.9, true), (0.8, true)], 2, 1_000_000);
        assert!((s.roc_auc - 1.0).abs() < 1e-12, "{}", s.roc_auc);
        // Half the true pairs never scored: they tie with every unscored non-match.
        let s = sweep(&[(0.9, true)], 2, 1_000_000);
        assert!((s.roc_auc - 0.75).abs() < 1e-6, "{}", s.roc_auc);
        // A reversed ranking of all pairs: AUC 0.
        assert!(roc_auc(&[(1.0, 0.0)]).abs() < 1e-12);
        // The chance diagonal.
        assert!((roc_auc(&[]) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn ties_form_one_point() {
        let s = sweep(&[(0.5, true), (0.5, false)], 1, 10);
        assert_eq!(s.points.len(), 1);
        assert_eq!((s.points[0].tp, s.points[0].fp), (1, 1));
    }

    #[test]
    fn estimated_errors_by_hand() {
        let e = estimated_errors(&[0.99, 0.9, 0.4, 0.1], 0.5);
        assert!((e.false_discovery_rate - 0.055).abs() < 1e-12);
        assert!((e.false_negative_rate - 0.5 / 2.39).abs() < 1e-12);
        assert!((f_beta(0.5, 1.0, 1.0) - 2.0 / 3.0).abs() < 1e-12);
        assert!(f_beta(0.5, 1.0, 2.0) > f_beta(0.5, 1.0, 1.0));
    }
}
