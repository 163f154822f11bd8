//! Scoring candidate pairs: match weight and probability per pair.

use rayon::prelude::*;

use super::tf::TermFrequencies;
use super::{FsParams, probability};
use crate::block::Blocker;
use crate::compare::Comparer;
use crate::compare::candidates::CandidatePatterns;
use crate::data::{Dataset, MISSING};
use crate::progress::Progress;

/// Scored pairs at or above a minimum probability, in a fixed order (rule, then work unit, then
/// pair), with their comparison levels.
#[derive(Debug, Clone, Default)]
pub struct ScoredPairs {
    /// Number of comparisons (levels per pair).
    pub n_comparisons: usize,
    /// Left record index of each kept pair.
    pub left: Vec<u32>,
    /// Right record index of each kept pair (`left < right`).
    pub right: Vec<u32>,
    /// Match weight (log2 Bayes factor plus prior log-odds).
    pub weight: Vec<f64>,
    /// Match probability.
    pub probability: Vec<f64>,
    /// Levels, `n_comparisons` per pair, flat.
    pub levels: Vec<u8>,
    /// All candidate pairs scored (kept or not).
    pub candidates: u64,
    /// Candidate pairs per blocking rule (after removing earlier rules' pairs).
    pub candidates_per_rule: Vec<u64>,
    /// Candidate pairs that are true matches (when truth is known).
    pub candidates_true: Option<u64>,
    /// True matches among each rule's candidate pairs (when truth is known).
    pub candidates_true_per_rule: Option<Vec<u64>>,
    /// Names of the term-frequency-adjusted comparisons, in comparison order (empty when the
    /// model has none; see [`crate::model::tf`]).
    pub tf_names: Vec<String>,
    /// Term-frequency adjustments (bits), `tf_names.len()` per kept pair, flat; already
    /// included in `weight`.
    pub tf: Vec<f64>,
}

impl ScoredPairs {
    /// Number of kept pairs.
    pub fn len(&self) -> usize {
        self.left.len()
    }

    /// Whether no pair was kept.
    pub fn is_empty(&self) -> bool {
        self.left.is_empty()
    }

    /// Levels of kept pair `i`.
    pub fn levels_of(&self, i: usize) -> &[u8] {
        &self.levels[i * self.n_comparisons..(i + 1) * self.n_comparisons]
    }

    /// Term-frequency adjustments (bits) of kept pair `i`, one per name in `tf_names`.
    pub fn tf_of(&self, i: usize) -> &[f64] {
        let n = self.tf_names.len();
        &self.tf[i * n..(i + 1) * n]
    }

    /// The kept pairs in groups that score alike under any λ, m and u: one group per
    /// comparison pattern, or, when the model has term-frequency adjustments (pairs of one
    /// pattern then differ in weight), one group per pair with its adjustment held at the
    /// fitted value. `None` when the levels are not stored (`levels.len() != len() × k`).
    pub fn score_groups(&self) -> Option<ScoreGroups> {
        let k = self.n_comparisons;
        if k == 0 || self.levels.len() != self.len() * k {
            return None;
        }
        let n_tf = self.tf_names.len();
        if n_tf > 0 && self.tf.len() == self.len() * n_tf {
            return Some(ScoreGroups {
                n_comparisons: k,
                levels: self.levels.clone(),
                counts: vec![1; self.len()],
                adjustment: self.tf.chunks_exact(n_tf).map(|t| t.iter().sum()).collect(),
                per_pair: true,
            });
        }
        let counts = crate::compare::PatternCounts::from_vectors(k, self.levels.chunks_exact(k));
        Some(ScoreGroups::of_patterns(&counts))
    }
}

/// Pairs in groups whose members have the same match weight under any parameters (see
/// [`ScoredPairs::score_groups`]): levels (`n_comparisons` per group, flat), the number of
/// pairs in each group and the weight each adds beyond its pattern (term-frequency bits, 0
/// without them).
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreGroups {
    /// Comparisons per pattern.
    pub n_comparisons: usize,
    /// Levels, `n_comparisons` per group, flat.
    pub levels: Vec<u8>,
    /// Pairs per group.
    pub counts: Vec<u64>,
    /// Bits added to the group's pattern weight (term-frequency adjustments).
    pub adjustment: Vec<f64>,
    /// Whether every group is one pair (term-frequency adjustments).
    pub per_pair: bool,
}

impl ScoreGroups {
    /// One group per pattern of `counts`, without adjustments.
    pub fn of_patterns(counts: &crate::compare::PatternCounts) -> ScoreGroups {
        let k = counts.n_comparisons;
        ScoreGroups {
            n_comparisons: k,
            levels: (0..counts.len())
                .flat_map(|pi| (0..k).map(move |ci| counts.level(pi, ci)))
                .collect(),
            counts: counts.counts.clone(),
            adjustment: vec![0.0; counts.len()],
            per_pair: false,
        }
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// Whether there is no group.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Each group's match probability under `p` (pattern weight plus adjustment).
    pub fn probabilities(&self, p: &FsParams) -> Vec<f64> {
        let (prior, lw) = (p.prior_weight(), p.level_weights());
        self.levels
            .chunks_exact(self.n_comparisons.max(1))
            .zip(&self.adjustment)
            .map(|(lv, &a)| probability(pattern_weight(prior, &lw, lv) + a))
            .collect()
    }
}

fn tf_names(tf: Option<&TermFrequencies>) -> Vec<String> {
    tf.map_or_else(Vec::new, |t| {
        t.comparisons.iter().map(|c| c.name.clone()).collect()
    })
}

/// Match weight of a level vector: the prior weight plus each level's weight, summed in
/// comparison order (one order everywhere, so every path gives the same bits).
#[inline]
pub fn pattern_weight(prior: f64, level_weights: &[Vec<f64>], levels: &[u8]) -> f64 {
    let mut w = prior;
    for (k, &x) in levels.iter().enumerate() {
        w += level_weights[k][x as usize];
    }
    w
}

/// Scores every candidate pair of `blocker` and keeps those with probability ≥ `min_probability`;
/// `tf` adds the term-frequency adjustments of [`crate::model::tf`] (before the probability
/// filter) and records them in [`ScoredPairs::tf`].
pub fn predict(
    ds: &Dataset,
    comparer: &Comparer,
    blocker: &Blocker,
    params: &FsParams,
    tf: Option<&TermFrequencies>,
    min_probability: f64,
    progress: &Progress,
) -> ScoredPairs {
    let weights = params.level_weights();
    let prior = params.prior_weight();
    let Some(tf) = tf else {
        return predict_by(
            ds,
            comparer,
            blocker,
            min_probability,
            progress,
            |_, _, lv| {
                let w = pattern_weight(prior, &weights, lv);
                (w, probability(w))
            },
        );
    };
    let mut all = score_candidates(
        ds,
        comparer,
        blocker,
        min_probability,
        progress,
        tf.len(),
        |l, r, lv, adj| {
            let w = pattern_weight(prior, &weights, lv) + tf.adjust(comparer, l, r, lv, adj);
            (w, probability(w))
        },
    );
    all.tf_names = tf_names(Some(tf));
    all
}

/// As [`predict`], with the (match weight, match probability) of each candidate pair given by
/// `score(left, right, levels)` instead of a fitted model (e.g. deterministic rules).
pub fn predict_by(
    ds: &Dataset,
    comparer: &Comparer,
    blocker: &Blocker,
    min_probability: f64,
    progress: &Progress,
    score: impl Fn(u32, u32, &[u8]) -> (f64, f64) + Sync,
) -> ScoredPairs {
    score_candidates(
        ds,
        comparer,
        blocker,
        min_probability,
        progress,
        0,
        |l, r, lv, _| score(l, r, lv),
    )
}

/// Compares every candidate pair of `blocker`, scores it with `score(left, right, levels,
/// adjustments)` (which fills the `n_tf` term-frequency adjustments) and keeps those with
/// probability ≥ `min_probability`, in work-unit order.
fn score_candidates(
    ds: &Dataset,
    comparer: &Comparer,
    blocker: &Blocker,
    min_probability: f64,
    progress: &Progress,
    n_tf: usize,
    score: impl Fn(u32, u32, &[u8], &mut [f64]) -> (f64, f64) + Sync,
) -> ScoredPairs {
    let n_c = comparer.len();
    let units = blocker.work_units();
    let pb = progress.bar(units.len() as u64, "scoring pairs");
    let truth = ds.truth.as_deref();
    let parts: Vec<(ScoredPairs, u64)> = units
        .par_iter()
        .map(|u| {
            let mut out = ScoredPairs {
                n_comparisons: n_c,
                ..Default::default()
            };
            let mut lv = vec![0u8; n_c];
            let mut adj = vec![0f64; n_tf];
            let mut n_true = 0u64;
            blocker.for_each_pair(u, |l, r| {
                comparer.vector(ds, l, r, &mut lv);
                let (w, p) = score(l, r, &lv, &mut adj);
                out.candidates += 1;
                if let Some(t) = truth {
                    let (a, b) = (t[l as usize], t[r as usize]);
                    n_true += (a != MISSING && a == b) as u64;
                }
                if p >= min_probability {
                    out.left.push(l);
                    out.right.push(r);
                    out.weight.push(w);
                    out.probability.push(p);
                    out.levels.extend_from_slice(&lv);
                    out.tf.extend_from_slice(&adj);
                }
            });
            pb.inc(1);
            (out, n_true)
        })
        .collect();
    pb.finish_and_clear();
    merge_units(
        n_c,
        blocker.rules.len(),
        truth.is_some(),
        units.iter().map(|u| u.rule).zip(parts),
    )
}

/// Merges per-unit results, in unit order, into one [`ScoredPairs`], counting candidates (and
/// true candidates) per rule.
fn merge_units(
    n_comparisons: usize,
    n_rules: usize,
    has_truth: bool,
    parts: impl Iterator<Item = (u32, (ScoredPairs, u64))>,
) -> ScoredPairs {
    let mut all = ScoredPairs {
        n_comparisons,
        candidates_per_rule: vec![0; n_rules],
        candidates_true: has_truth.then_some(0),
        candidates_true_per_rule: has_truth.then(|| vec![0; n_rules]),
        ..Default::default()
    };
    for (rule, (p, n_true)) in parts {
        all.candidates += p.candidates;
        all.candidates_per_rule[rule as usize] += p.candidates;
        if let Some(t) = all.candidates_true.as_mut() {
            *t += n_true;
        }
        if let Some(t) = all.candidates_true_per_rule.as_mut() {
            t[rule as usize] += n_true;
        }
        all.left.extend(p.left);
        all.right.extend(p.right);
        all.weight.extend(p.weight);
        all.probability.extend(p.probability);
        all.levels.extend(p.levels);
        all.tf.extend(p.tf);
    }
    all
}

/// Scores the cached candidates: one weight per distinct pattern, then a pass over the pairs;
/// `tf` adds the term-frequency adjustments per pair, as in [`predict`].
pub fn predict_cached(
    ds: &Dataset,
    comparer: &Comparer,
    cache: &CandidatePatterns,
    params: &FsParams,
    tf: Option<&TermFrequencies>,
    min_probability: f64,
) -> ScoredPairs {
    let weights = params.level_weights();
    let prior = params.prior_weight();
    let n_c = cache.n_comparisons;
    let levels_of =
        |p: u128| -> Vec<u8> { (0..n_c).map(|k| ((p >> (4 * k)) & 0xF) as u8).collect() };
    let pw: Vec<f64> = cache
        .patterns
        .iter()
        .map(|&p| pattern_weight(prior, &weights, &levels_of(p)))
        .collect();
    let pp: Vec<f64> = pw.iter().map(|&w| probability(w)).collect();
    let flat: Vec<u8> = cache.patterns.iter().flat_map(|&p| levels_of(p)).collect();
    let truth = ds.truth.as_deref();
    let parts = cache.map_units(
        |acc: &mut (ScoredPairs, u64), l, r, id| {
            let (out, n_true) = acc;
            out.candidates += 1;
            if let Some(t) = truth {
                let (a, b) = (t[l as usize], t[r as usize]);
                *n_true += (a != MISSING && a == b) as u64;
            }
            let lv = &flat[id as usize * n_c..(id as usize + 1) * n_c];
            let (w, p) = match tf {
                None => (pw[id as usize], pp[id as usize]),
                Some(tf) => {
                    let at = out.tf.len();
                    out.tf.resize(at + tf.len(), 0.0);
                    let w = pw[id as usize] + tf.adjust(comparer, l, r, lv, &mut out.tf[at..]);
                    let p = probability(w);
                    if p < min_probability {
                        out.tf.truncate(at);
                    }
                    (w, p)
                }
            };
            if p >= min_probability {
                out.left.push(l);
                out.right.push(r);
                out.weight.push(w);
                out.probability.push(p);
                out.levels.extend_from_slice(lv);
            }
        },
        || {
            (
                ScoredPairs {
                    n_comparisons: n_c,
                    ..Default::default()
                },
                0u64,
            )
        },
    );
    let mut all = merge_units(
        n_c,
        cache.blocker.rules.len(),
        truth.is_some(),
        cache.unit_rules().into_iter().zip(parts),
    );
    all.tf_names = tf_names(tf);
    all
}
