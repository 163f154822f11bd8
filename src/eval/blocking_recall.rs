//! The model's estimate of how many matches the prediction blocking rules produce (its
//! *blocking recall*), so that the model-based false-negative rate also counts the matches
//! among admissible pairs that blocking never compared.
//!
//! Under the Fellegi–Sunter model's conditional independence, a match agrees exactly on column
//! `k` with probability `a_k = q_k · m_k[exact]`, where `m_k[exact]` is the fitted m of the exact
//! level of the comparison on `k` (given both values present, the null level being missing at
//! random) and `q_k` the share of admissible pairs with both values present (from the records'
//! non-missing shares; missing values never block). A match is a candidate when every key of at
//! least one rule agrees; with the agreements independent given a match, that probability is
//! summed exactly over the 2^K agreement states of the K columns the rules name:
//!
//! `R = Σ_{s ∈ {0,1}^K} [∃ rule r: s_k = 1 ∀ k ∈ r] · Π_k a_k^{s_k} (1 − a_k)^{1 − s_k}`.
//!
//! The expected matches among all admissible pairs are then `E / R` (E: expected matches among
//! the pairs written) and the blocking-aware recall of the links `R · Σ_{links} p / E`.
//!
//! Limits, said in the output: derived keys (a phonetic code, a prefix) agree more often than
//! the exact level, so `R` is then a lower bound (the false-negative rate an upper bound);
//! conditional dependence between the key columns (errors that come together) makes `R`
//! optimistic; m estimated only among pairs the same rules produced over-states `R`.
//!
//! # References
//! - Fellegi, I. P. & Sunter, A. B. (1969). A theory for record linkage. *JASA* 64(328).
//! - Christen, P. (2012). *Data Matching*, §4.7 (pairs completeness), Springer.

use crate::block::{BlockingRule, KeySpec, total_pairs};
use crate::compare::{Comparer, ComparisonSpec, Predicate};
use crate::data::{Dataset, LinkType, MISSING};
use crate::model::FsParams;
use crate::model::predict::ScoreGroups;

/// Most distinct columns the rules may name (the sum runs over 2^K states).
pub const MAX_KEY_COLUMNS: usize = 20;

/// The blocking rules as the model sees them: per column named, its comparison's exact level
/// and the share of admissible pairs with both values present.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockingModel {
    /// Per column: (comparison index, exact level index, share of pairs with both present).
    columns: Vec<(usize, usize, f64)>,
    /// Per rule, the bit set of its columns.
    rules: Vec<u32>,
    /// Whether a rule uses a derived key (then the recall is a lower bound).
    pub derived_keys: bool,
}

impl BlockingModel {
    /// The model of `rules` over `ds` under `link_type`; `comparisons` and `comparer` are the
    /// run's (expanded) comparisons.
    ///
    /// # Errors
    /// Why the model cannot say: a key column without a comparison, a comparison without an
    /// exact level, more than [`MAX_KEY_COLUMNS`] columns, no rules.
    pub fn new(
        ds: &Dataset,
        link_type: LinkType,
        rules: &[BlockingRule],
        comparisons: &[ComparisonSpec],
        comparer: &Comparer,
    ) -> std::result::Result<BlockingModel, String> {
        if rules.is_empty() {
            return Err("there are no blocking rules".into());
        }
        let mut names: Vec<&str> = Vec::new();
        let mut derived = false;
        let mut masks = Vec::with_capacity(rules.len());
        for r in rules {
            let mut mask = 0u32;
            for k in &r.keys {
                derived |= matches!(k, KeySpec::Derived(_));
                let col = k.column();
                let i = match names.iter().position(|n| *n == col) {
                    Some(i) => i,
                    None => {
                        names.push(col);
                        names.len() - 1
                    }
                };
                if i >= MAX_KEY_COLUMNS {
                    return Err(format!(
                        "the blocking rules name more than {MAX_KEY_COLUMNS} columns"
                    ));
                }
                mask |= 1 << i;
            }
            masks.push(mask);
        }
        let sizes = ds.source_sizes();
        let all = total_pairs(link_type, &sizes);
        let mut columns = Vec::with_capacity(names.len());
        for name in names {
            let Some(c) = comparisons.iter().position(|s| s.column == name) else {
                return Err(format!(
                    "blocking column `{name}` has no comparison, so the model has no m for its agreement"
                ));
            };
            let Some(l) = comparer.comparisons[c]
                .predicates
                .iter()
                .position(|p| *p == Predicate::Exact)
            else {
                return Err(format!(
                    "the comparison on blocking column `{name}` has no exact level"
                ));
            };
            let present_share = match ds.column_index(name) {
                Some(ci) => {
                    let col = &ds.columns[ci];
                    let mut present = vec![0u64; sizes.len()];
                    for (r, &v) in col.values.iter().enumerate() {
                        if v != MISSING {
                            present[ds.source_of[r] as usize] += 1;
                        }
                    }
                    if all > 0 {
                        total_pairs(link_type, &present) as f64 / all as f64
                    } else {
                        0.0
                    }
                }
                None => return Err(format!("blocking column `{name}` is not in the inputs")),
            };
            columns.push((c, l, present_share));
        }
        Ok(BlockingModel {
            columns,
            rules: masks,
            derived_keys: derived,
        })
    }

    /// The model's blocking recall R under `params`: the probability that a match agrees on
    /// every key of at least one rule.
    pub fn recall(&self, params: &FsParams) -> f64 {
        let a: Vec<f64> = self
            .columns
            .iter()
            .map(|&(c, l, q)| (q * params.m[c][l]).clamp(0.0, 1.0))
            .collect();
        let k = a.len();
        let mut r = 0.0;
        for s in 0u32..(1u32 << k) {
            if !self.rules.iter().any(|&m| m & !s == 0) {
                continue;
            }
            let mut p = 1.0;
            for (i, &ai) in a.iter().enumerate() {
                p *= if s & (1 << i) != 0 { ai } else { 1.0 - ai };
            }
            r += p;
        }
        r
    }
}

/// Stream number of the predictive draws in [`crate::model::bootstrap::derive_seed`].
pub const PREDICTIVE_STREAM: u64 = 0xF4;

/// Draws of the realised false-negative rate per parameter set: 10 per bootstrap replicate,
/// or this many with the fitted parameters alone.
pub const DRAWS_WITHOUT_BOOTSTRAP: usize = 400;

/// A 95 % predictive interval of the realised blocking-aware false-negative rate of the links
/// (the pairs written whose match probability under `fitted` is ≥ `threshold`).
///
/// Per draw, a parameter set θ (a bootstrap replicate in `replicates`, or `fitted` when there
/// are none) gives every group of the pairs written (a pattern, or a pair with its
/// term-frequency adjustment held at the fitted value: [`ScoreGroups`]) its match probability
/// p_θ, and the number of true matches among its n pairs is drawn Binomial(n, p_θ); the matches blocking
/// never produced are drawn Poisson(E_θ (1 / R_θ − 1)), with E_θ = Σ n p_θ and R_θ =
/// `blocking_recall(θ)`. The rate is (missed links + missed by blocking) / all matches. The
/// interval thus holds both the parameters' sampling error (with a bootstrap) and the chance in
/// which matches a given model lets through; it does not hold model error (conditional
/// dependence). Draw `d` is seeded with `derive_seed(seed, PREDICTIVE_STREAM, d)`.
pub fn predictive_interval(
    written: &ScoreGroups,
    fitted: &FsParams,
    replicates: &[FsParams],
    threshold: f64,
    blocking_recall: &dyn Fn(&FsParams) -> f64,
    seed: u64,
) -> [f64; 2] {
    use rand::SeedableRng;
    use rand_distr::{Binomial, Distribution, Poisson};
    use rayon::prelude::*;
    let prob = |p: &FsParams| written.probabilities(p);
    let is_link: Vec<bool> = prob(fitted).iter().map(|&p| p >= threshold).collect();
    let sets: Vec<(&FsParams, usize)> = if replicates.is_empty() {
        vec![(fitted, DRAWS_WITHOUT_BOOTSTRAP)]
    } else {
        replicates.iter().map(|p| (p, 10)).collect()
    };
    let mut rates = Vec::new();
    let mut d = 0u64;
    for (theta, draws) in sets {
        let probs = prob(theta);
        let expected: f64 = probs
            .iter()
            .zip(&written.counts)
            .map(|(p, &n)| p * n as f64)
            .sum();
        let r = blocking_recall(theta);
        let missed_mean = if r > 0.0 {
            expected * (1.0 / r - 1.0)
        } else {
            0.0
        };
        // Each draw has its own seed, so the draws run in parallel and are collected in order.
        let dists: Vec<Option<Binomial>> = probs
            .iter()
            .zip(&written.counts)
            .map(|(&p, &n)| {
                if p > 0.0 && p < 1.0 {
                    Binomial::new(n, p).ok()
                } else {
                    None
                }
            })
            .collect();
        let first = d;
        d += draws as u64;
        let drawn: Vec<f64> = (first..d)
            .into_par_iter()
            .map(|di| {
                let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(
                    crate::model::bootstrap::derive_seed(seed, PREDICTIVE_STREAM, di),
                );
                let (mut tp, mut fn_w) = (0u64, 0u64);
                for (((&p, &n), &link), b) in
                    probs.iter().zip(&written.counts).zip(&is_link).zip(&dists)
                {
                    let m = if p >= 1.0 {
                        n
                    } else {
                        b.as_ref().map_or(0, |b| b.sample(&mut rng))
                    };
                    if link {
                        tp += m;
                    } else {
                        fn_w += m;
                    }
                }
                let fn_b = if missed_mean > 0.0 {
                    Poisson::new(missed_mean).map_or(0.0, |p| p.sample(&mut rng))
                } else {
                    0.0
                };
                let all = tp as f64 + fn_w as f64 + fn_b;
                if all > 0.0 {
                    (fn_w as f64 + fn_b) / all
                } else {
                    0.0
                }
            })
            .collect();
        rates.extend(drawn);
    }
    crate::model::bootstrap::percentile_95(&rates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(columns: Vec<(usize, usize, f64)>, rules: Vec<u32>) -> BlockingModel {
        BlockingModel {
            columns,
            rules,
            derived_keys: false,
        }
    }

    fn params(m_exact: &[f64]) -> FsParams {
        FsParams {
            lambda: 0.01,
            m: m_exact.iter().map(|&a| vec![1.0, a, 1.0 - a]).collect(),
            u: m_exact.iter().map(|_| vec![1.0, 0.1, 0.9]).collect(),
            null_level: vec![Some(0); m_exact.len()],
        }
    }

    /// With the fitted model true, the predictive interval covers the realised rate of pairs
    /// drawn from it (here 1,000 pairs at p = 0.3 below the threshold and 1,000 at p = 0.9 above
    /// it, blocking recall 0.8): FNR = (300 + missed) / (1,200 + missed), missed ≈ 300.
    #[test]
    fn predictive_interval_by_hand() {
        let p = FsParams {
            lambda: 0.5,
            m: vec![vec![1.0, 0.9, 0.3]],
            u: vec![vec![1.0, 0.1, 0.7]],
            null_level: vec![Some(0)],
        };
        let counts = crate::compare::PatternCounts {
            n_comparisons: 1,
            patterns: vec![1, 2],
            counts: vec![1000, 1000],
        };
        let groups = ScoreGroups::of_patterns(&counts);
        let iv = predictive_interval(&groups, &p, &[], 0.5, &|_| 0.8, 3);
        let centre = 600.0 / 1500.0;
        assert!(iv[0] < centre && centre < iv[1], "{iv:?}");
        assert!(iv[1] - iv[0] < 0.05, "{iv:?}");
        assert_eq!(iv, predictive_interval(&groups, &p, &[], 0.5, &|_| 0.8, 3));
        // The same pairs one group each, with adjustments that sum to nothing on average but
        // move half the pairs of the link pattern below the threshold: fewer links, more missed.
        let mut split = ScoreGroups {
            n_comparisons: groups.n_comparisons,
            levels: Vec::new(),
            counts: Vec::new(),
            adjustment: Vec::new(),
            per_pair: true,
        };
        for g in 0..groups.len() {
            let k = groups.n_comparisons;
            for _ in 0..groups.counts[g] {
                split
                    .levels
                    .extend_from_slice(&groups.levels[g * k..(g + 1) * k]);
                split.counts.push(1);
                split.adjustment.push(0.0);
            }
        }
        let same = predictive_interval(&split, &p, &[], 0.5, &|_| 0.8, 3);
        assert!(
            (same[0] - iv[0]).abs() < 0.02 && (same[1] - iv[1]).abs() < 0.02,
            "{same:?} vs {iv:?}"
        );
        let probs = split.probabilities(&p);
        let mut lowered = split.clone();
        for (a, &q) in lowered.adjustment.iter_mut().zip(&probs).step_by(2) {
            if q >= 0.5 {
                *a = -60.0;
            }
        }
        let low = predictive_interval(&lowered, &p, &[], 0.5, &|_| 0.8, 3);
        assert!(low[0] > iv[1], "{low:?} vs {iv:?}");
    }

    #[test]
    fn recall_by_hand() {
        // One rule on one column: its agreement probability.
        let p = params(&[0.9, 0.8, 0.5]);
        assert!((model(vec![(0, 1, 1.0)], vec![1]).recall(&p) - 0.9).abs() < 1e-12);
        // Missing values never block: q = 0.5.
        assert!((model(vec![(0, 1, 0.5)], vec![1]).recall(&p) - 0.45).abs() < 1e-12);
        // A & B: 0.72; A or B: 1 − 0.1 · 0.2 = 0.98.
        let cols = vec![(0, 1, 1.0), (1, 1, 1.0), (2, 1, 1.0)];
        assert!((model(cols.clone(), vec![0b011]).recall(&p) - 0.72).abs() < 1e-12);
        assert!((model(cols.clone(), vec![0b001, 0b010]).recall(&p) - 0.98).abs() < 1e-12);
        // (A & B) or C: 0.72 + 0.5 − 0.36.
        let r = model(cols, vec![0b011, 0b100]).recall(&p);
        assert!((r - (0.72 + 0.5 - 0.36)).abs() < 1e-12, "{r}");
    }
}
