//! Decision rules: a single threshold, Fellegi–Sunter's two thresholds with a clerical-review
//! band chosen from target error rates, and one-to-one assignment between two sources.
//!
//! # References
//! - Fellegi, I. P. & Sunter, A. B. (1969). A theory for record linkage. *JASA* 64(328),
//!   1183–1210 (the optimal three-way rule).
//! - Jaro, M. A. (1989). Advances in record-linkage methodology as applied to matching the 1985
//!   census of Tampa, Florida. *JASA* 84(406), 414–420 (one-to-one assignment).
//! - Kuhn, H. W. (1955). The Hungarian method for the assignment problem. *Naval Research
//!   Logistics Quarterly* 2, 83–97.

pub mod assign;

use serde::Serialize;

use crate::data::LinkType;
use crate::error::{Error, Result};
use crate::model::FsParams;
use crate::model::predict::{ScoredPairs, pattern_weight};
use crate::model::weight_of_probability;
use assign::{OneToOne, one_to_one};

/// The three Fellegi–Sunter decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Weight at or above the upper threshold: a link.
    Match,
    /// Weight strictly between the thresholds: for clerical review.
    Review,
    /// Weight at or below the lower threshold: not a link.
    NonMatch,
}

impl Decision {
    /// The name metrics.json counts the decision under (`Match`, `Review`, `NonMatch`).
    pub fn label(self) -> &'static str {
        match self {
            Decision::Match => "Match",
            Decision::Review => "Review",
            Decision::NonMatch => "NonMatch",
        }
    }
}

/// The scale Fellegi–Sunter thresholds are read on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum FsScale {
    /// The match weight: the log2 Bayes factor plus the prior log-odds `log2(λ / (1 − λ))`
    /// (pairs.csv's `match_weight`). The default.
    #[default]
    MatchWeight,
    /// The log2 Bayes factor alone, `Σ_k log2(m_k(γ_k) / u_k(γ_k))`, without the prior: the
    /// likelihood ratio of Fellegi & Sunter (1969), and the weight `W` that R RecordLinkage's
    /// `emWeights` computes and `emClassify` thresholds.
    BayesFactor,
}

impl FsScale {
    /// The name written to metrics.json (`match_weight`, `bayes_factor`).
    pub fn name(self) -> &'static str {
        match self {
            FsScale::MatchWeight => "match_weight",
            FsScale::BayesFactor => "bayes_factor",
        }
    }

    /// What the scale adds to the log2 Bayes factor: the prior weight of `params`, or 0.
    pub fn offset(self, params: &FsParams) -> f64 {
        match self {
            FsScale::MatchWeight => params.prior_weight(),
            FsScale::BayesFactor => 0.0,
        }
    }
}

/// Fellegi–Sunter thresholds on a weight scale ([`FsScale`]; by default the match weight, log2
/// Bayes factor plus prior log-odds).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FsThresholds {
    /// Link when the weight is at least this.
    pub upper: f64,
    /// Do not link when the weight is at most this.
    pub lower: f64,
    /// The model's false-match rate at `upper`: P(weight ≥ upper | non-match).
    pub false_match_rate: f64,
    /// The model's false-non-match rate at `lower`: P(weight ≤ lower | match).
    pub false_non_match_rate: f64,
}

impl FsThresholds {
    /// The decision for a match weight.
    pub fn decide(&self, weight: f64) -> Decision {
        if weight >= self.upper {
            Decision::Match
        } else if weight <= self.lower {
            Decision::NonMatch
        } else {
            Decision::Review
        }
    }
}

/// Most distinct weights kept while convolving the comparisons' weight distributions; beyond
/// it, weights within 1e-6 of each other are merged.
const MAX_SUPPORT: usize = 2_000_000;

/// The distributions of the Bayes-factor part of the weight (no prior) under match (m) and
/// non-match (u): sorted (weight, P_m, P_u), from independent comparisons. Null levels are left
/// out (missing values contribute weight 0).
pub fn weight_distribution(params: &FsParams) -> Vec<(f64, f64, f64)> {
    let lw = params.level_weights();
    let mut dist: Vec<(f64, f64, f64)> = vec![(0.0, 1.0, 1.0)];
    for (c, weights) in lw.iter().enumerate() {
        let mut next = Vec::with_capacity(dist.len() * weights.len());
        for &(w, pm, pu) in &dist {
            for (l, &lw_l) in weights.iter().enumerate() {
                if Some(l) == params.null_level[c] {
                    continue;
                }
                next.push((w + lw_l, pm * params.m[c][l], pu * params.u[c][l]));
            }
        }
        next.sort_by(|a, b| a.0.total_cmp(&b.0));
        let tol = if next.len() > MAX_SUPPORT {
            1e-6
        } else {
            1e-12
        };
        let mut merged: Vec<(f64, f64, f64)> = Vec::with_capacity(next.len());
        for x in next {
            match merged.last_mut() {
                Some(last) if (x.0 - last.0).abs() <= tol => {
                    last.1 += x.1;
                    last.2 += x.2;
                }
                _ => merged.push(x),
            }
        }
        dist = merged;
    }
    dist
}

/// Chooses Fellegi–Sunter thresholds for target error rates: the upper threshold is the lowest
/// weight whose tail P(W ≥ upper | non-match) stays within `max_false_match_rate`; the lower
/// threshold is the highest weight whose tail P(W ≤ lower | match) stays within
/// `max_false_non_match_rate`. Thresholds include the prior (comparable to pair weights). When
/// the targets overlap, `lower` is capped at `upper` (no review band).
pub fn fs_thresholds(
    params: &FsParams,
    max_false_match_rate: f64,
    max_false_non_match_rate: f64,
) -> FsThresholds {
    fs_thresholds_on(
        params,
        max_false_match_rate,
        max_false_non_match_rate,
        FsScale::MatchWeight,
    )
}

/// As [`fs_thresholds`], with the thresholds on `scale`: on [`FsScale::BayesFactor`] they are the
/// log2 Bayes factors of the weight distribution themselves, without the prior.
pub fn fs_thresholds_on(
    params: &FsParams,
    max_false_match_rate: f64,
    max_false_non_match_rate: f64,
    scale: FsScale,
) -> FsThresholds {
    let dist = weight_distribution(params);
    let prior = scale.offset(params);
    // Upper: scan from the top, accumulating u.
    let mut upper = f64::INFINITY;
    let mut fmr = 0.0;
    let mut acc = 0.0;
    for &(w, _, pu) in dist.iter().rev() {
        if acc + pu > max_false_match_rate {
            break;
        }
        acc += pu;
        upper = w;
        fmr = acc;
    }
    // Lower: scan from the bottom, accumulating m.
    let mut lower = f64::NEG_INFINITY;
    let mut fnmr = 0.0;
    let mut acc = 0.0;
    for &(w, pm, _) in &dist {
        if acc + pm > max_false_non_match_rate {
            break;
        }
        acc += pm;
        lower = w;
        fnmr = acc;
    }
    let (upper, lower) = (upper + prior, (lower + prior).min(upper + prior));
    FsThresholds {
        upper,
        lower,
        false_match_rate: fmr,
        false_non_match_rate: fnmr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> FsParams {
        FsParams {
            lambda: 0.5,
            m: vec![vec![0.9, 0.1], vec![0.8, 0.2]],
            u: vec![vec![0.1, 0.9], vec![0.2, 0.8]],
            null_level: vec![None, None],
        }
    }

    #[test]
    fn distribution_sums_to_one() {
        let d = weight_distribution(&params());
        assert_eq!(d.len(), 4);
        let (sm, su): (f64, f64) = d.iter().fold((0.0, 0.0), |a, x| (a.0 + x.1, a.1 + x.2));
        assert!((sm - 1.0).abs() < 1e-12 && (su - 1.0).abs() < 1e-12);
        assert!(d.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn thresholds_by_hand() {
        // Patterns (agree, agree): w = log2 9 + 2 = 5.17, u = 0.02; (agree, disagree): log2 9 - 2,
        // u = 0.08; (disagree, agree): 2 - log2 9, u = 0.18; (disagree, disagree): m = 0.02.
        let t = fs_thresholds(&params(), 0.05, 0.05);
        assert!((t.upper - (9f64.log2() + 2.0)).abs() < 1e-9);
        assert!((t.false_match_rate - 0.02).abs() < 1e-12);
        assert!((t.lower - (-(9f64.log2()) - 2.0)).abs() < 1e-9);
        assert!((t.false_non_match_rate - 0.02).abs() < 1e-12);
        assert_eq!(t.decide(6.0), Decision::Match);
        assert_eq!(t.decide(0.0), Decision::Review);
        assert_eq!(t.decide(-6.0), Decision::NonMatch);
    }

    #[test]
    fn bayes_factor_scale_leaves_out_the_prior() {
        let mut p = params();
        p.lambda = 0.2; // prior weight log2(0.25) = -2
        let w = fs_thresholds_on(&p, 0.05, 0.05, FsScale::MatchWeight);
        let b = fs_thresholds_on(&p, 0.05, 0.05, FsScale::BayesFactor);
        assert!((b.upper - (9f64.log2() + 2.0)).abs() < 1e-12);
        assert!((w.upper - (b.upper - 2.0)).abs() < 1e-12);
        assert!((w.lower - (b.lower - 2.0)).abs() < 1e-12);
        assert_eq!(b.false_match_rate, w.false_match_rate);
        assert_eq!(FsScale::default(), FsScale::MatchWeight);
        assert_eq!(FsScale::BayesFactor.name(), "bayes_factor");
        assert_eq!(FsScale::BayesFactor.offset(&p), 0.0);
    }
}

/// Where Fellegi–Sunter's two thresholds come from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FsRule {
    /// Chosen from the model for target error rates, each in [0, 1] ([`fs_thresholds_on`]).
    Rates {
        /// Target P(link | non-match).
        false_match_rate: f64,
        /// Target P(non-link | match).
        false_non_match_rate: f64,
    },
    /// Given on the weight scale: link at or above `upper`, non-link at or below `lower`.
    Weights {
        /// Upper threshold (finite, at least `lower`).
        upper: f64,
        /// Lower threshold (finite).
        lower: f64,
    },
}

/// How a run turns scored pairs into decisions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DecisionOptions {
    /// Pairs with match probability at or above this are links (for clusters and metrics);
    /// default 0.5.
    pub threshold: f64,
    /// Keep at most one link per record between two sources; default none.
    pub one_to_one: Option<OneToOne>,
    /// Fellegi–Sunter three-way decisions as well; default none.
    pub fs: Option<FsRule>,
    /// The weight scale the Fellegi–Sunter thresholds are read on; default the match weight.
    pub fs_scale: FsScale,
}

impl Default for DecisionOptions {
    fn default() -> Self {
        DecisionOptions {
            threshold: 0.5,
            one_to_one: None,
            fs: None,
            fs_scale: FsScale::MatchWeight,
        }
    }
}

impl DecisionOptions {
    /// Checks the values: the threshold a probability, error rates in [0, 1], weights finite
    /// with upper ≥ lower.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the option.
    pub fn validate(&self) -> Result<()> {
        check_probability("--threshold", self.threshold)?;
        match self.fs {
            Some(FsRule::Rates {
                false_match_rate: a,
                false_non_match_rate: b,
            }) if !(0.0..=1.0).contains(&a) || !(0.0..=1.0).contains(&b) => {
                return Err(Error::invalid(
                    "--fs-rates",
                    "--fs-rates takes two error rates in [0, 1]: FALSE_MATCH_RATE,FALSE_NON_MATCH_RATE",
                ));
            }
            Some(FsRule::Weights { upper, lower })
                if !upper.is_finite() || !lower.is_finite() || upper < lower =>
            {
                return Err(Error::invalid(
                    "--fs-weights",
                    "--fs-weights takes UPPER,LOWER with UPPER >= LOWER, both finite",
                ));
            }
            _ => {}
        }
        Ok(())
    }

    /// Checks that the options suit the inputs: one-to-one needs a two-source link.
    ///
    /// # Errors
    /// [`Error::Invalid`].
    pub fn check_inputs(&self, link_type: LinkType, n_sources: usize) -> Result<()> {
        if self.one_to_one.is_some() && (link_type != LinkType::Link || n_sources != 2) {
            return Err(Error::invalid(
                "--one-to-one",
                format!(
                    "--one-to-one needs link_type = \"link\" with exactly two inputs (got {} with {} input(s))",
                    link_type.name(),
                    n_sources
                ),
            ));
        }
        Ok(())
    }
}

/// Checks that `v` is a probability; `name` names the option in the message.
///
/// # Errors
/// [`Error::Invalid`] `"{name} must be in [0, 1], got {v}"`.
pub fn check_probability(name: &str, v: f64) -> Result<()> {
    if !(0.0..=1.0).contains(&v) || v.is_nan() {
        return Err(Error::invalid(
            name,
            format!("{name} must be in [0, 1], got {v}"),
        ));
    }
    Ok(())
}

/// What one-to-one assignment did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OneToOneOutcome {
    /// The method.
    pub method: OneToOne,
    /// Components too large for the exact method, solved greedily.
    pub greedy_fallback_components: usize,
}

/// The Fellegi–Sunter decision of every scored pair.
#[derive(Debug, Clone, PartialEq)]
pub struct FsDecisions {
    /// The thresholds (error rates NaN when the thresholds were given).
    pub thresholds: FsThresholds,
    /// The scale they are read on.
    pub scale: FsScale,
    /// The decision of each scored pair, in pair order.
    pub decisions: Vec<Decision>,
}

/// The decisions of a run over its scored pairs (indices into the pairs, ascending).
#[derive(Debug, Clone, PartialEq)]
pub struct Decisions {
    /// The match-probability threshold.
    pub threshold: f64,
    /// Pairs at or above the threshold.
    pub above: Vec<usize>,
    /// The links: `above`, or its one-to-one subset.
    pub accepted: Vec<usize>,
    /// What one-to-one assignment did, when asked for.
    pub one_to_one: Option<OneToOneOutcome>,
    /// Fellegi–Sunter decisions, when asked for.
    pub fs: Option<FsDecisions>,
}

impl Decisions {
    /// The accepted links as (left, right) record pairs.
    pub fn links<'a>(&'a self, pairs: &'a ScoredPairs) -> impl Iterator<Item = (u32, u32)> + 'a {
        self.accepted
            .iter()
            .map(|&i| (pairs.left[i], pairs.right[i]))
    }
}

/// Decides every scored pair: the threshold, then one-to-one assignment among the pairs above
/// it (edge value: weight − logit(threshold), so every accepted pair counts positively), then
/// Fellegi–Sunter decisions on `opts.fs_scale` (on the Bayes-factor scale the level weights are
/// summed in comparison order from 0, as the weight distribution behind the rates sums them).
pub fn decide(pairs: &ScoredPairs, params: &FsParams, opts: &DecisionOptions) -> Decisions {
    let above: Vec<usize> = (0..pairs.len())
        .filter(|&i| pairs.probability[i] >= opts.threshold)
        .collect();
    let (accepted, one_to_one_outcome) = match opts.one_to_one {
        None => (above.clone(), None),
        Some(method) => {
            let floor = weight_of_probability(opts.threshold.clamp(1e-12, 1.0 - 1e-12));
            let edges: Vec<(u32, u32, f64)> = above
                .iter()
                .map(|&i| {
                    (
                        pairs.left[i],
                        pairs.right[i],
                        pairs.weight[i] - floor + 1e-9,
                    )
                })
                .collect();
            let res = one_to_one(&edges, method);
            let kept: Vec<usize> = res.kept.iter().map(|&k| above[k]).collect();
            (
                kept,
                Some(OneToOneOutcome {
                    method,
                    greedy_fallback_components: res.greedy_fallback_components,
                }),
            )
        }
    };
    let fs = opts.fs.map(|rule| {
        let thresholds = match rule {
            FsRule::Rates {
                false_match_rate,
                false_non_match_rate,
            } => fs_thresholds_on(
                params,
                false_match_rate,
                false_non_match_rate,
                opts.fs_scale,
            ),
            FsRule::Weights { upper, lower } => FsThresholds {
                upper,
                lower,
                false_match_rate: f64::NAN,
                false_non_match_rate: f64::NAN,
            },
        };
        let level_weights = params.level_weights();
        let decisions = (0..pairs.len())
            .map(|i| {
                let w = match opts.fs_scale {
                    FsScale::MatchWeight => pairs.weight[i],
                    FsScale::BayesFactor => pattern_weight(0.0, &level_weights, pairs.levels_of(i)),
                };
                thresholds.decide(w)
            })
            .collect();
        FsDecisions {
            thresholds,
            scale: opts.fs_scale,
            decisions,
        }
    });
    Decisions {
        threshold: opts.threshold,
        above,
        accepted,
        one_to_one: one_to_one_outcome,
        fs,
    }
}
