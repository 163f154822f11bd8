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
    /// The value of pairs.csv's `decision` column: `match`, `review` or `non_match`.
    pub fn name(self) -> &'static str {
        match self {
            Decision::Match => "match",
            Decision::Review => "review",
            Decision::NonMatch => "non_match",
        }
    }

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
///
/// The error rates are **per pair, over all admissible pairs** (every pair the link type allows,
/// not only the blocking candidates or the pairs written): the false-match rate is the share of
/// *non-matching pairs* the model puts at or above `upper`, the false-non-match rate the share of
/// *matching pairs* it puts at or below `lower`. They are not shares of the links. A worked
/// number: linking two files of 5,000 records each has 25,000,000 admissible pairs, of which at
/// most 5,000 match; a false-match rate of 0.001 then allows about 0.001 × 24,995,000 ≈ 25,000
/// false links, five times the number of true matches, while 1e-6 allows about 25. A
/// false-non-match rate of 0.01 allows about 50 of the 5,000 matches to be missed.
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
/// the targets overlap, `lower` is capped at `upper` (no review band; [`band_notes`] says so and
/// gives rates that would leave one). The rates are per pair over all admissible pairs (see
/// [`FsThresholds`] for a worked number).
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
    fn collapsed_rates_are_warned_with_rates_that_give_a_band() {
        // Issue 19: rates whose targets overlap collapse the thresholds (lower capped at upper).
        let p = params();
        let t = fs_thresholds(&p, 0.5, 0.5);
        assert_eq!(t.upper, t.lower);
        let dist = weight_distribution(&p);
        let (keep_fmr, keep_fnmr) = band_rates(&dist, 0.5, 0.5);
        // Four weights: upper at the second, lower capped from the third; only a smaller
        // false-non-match rate opens a band.
        assert_eq!(keep_fnmr, None);
        let b2 = keep_fmr.unwrap();
        // Over a grid of rate pairs on three comparisons, every suggestion gives a band.
        let p3 = FsParams {
            lambda: 0.1,
            m: vec![vec![0.9, 0.1], vec![0.8, 0.2], vec![0.7, 0.3]],
            u: vec![vec![0.1, 0.9], vec![0.2, 0.8], vec![0.05, 0.95]],
            null_level: vec![None; 3],
        };
        let d3 = weight_distribution(&p3);
        let (mut seen_a, mut seen_b) = (false, false);
        for a in [0.001, 0.01, 0.05, 0.1, 0.3, 0.6] {
            for b in [0.001, 0.01, 0.05, 0.1, 0.3, 0.6] {
                let t = fs_thresholds(&p3, a, b);
                if t.upper > t.lower {
                    continue;
                }
                let (ka, kb) = band_rates(&d3, a, b);
                for (a2, b2) in [(Some(a), ka), (kb, Some(b))] {
                    let (Some(a2), Some(b2)) = (a2, b2) else {
                        continue;
                    };
                    let t = fs_thresholds(&p3, a2, b2);
                    let prior = p3.prior_weight();
                    assert!(
                        d3.iter()
                            .any(|x| x.0 + prior > t.lower && x.0 + prior < t.upper),
                        "{a},{b} -> {a2},{b2}: {t:?}"
                    );
                }
                seen_a |= ka.is_some();
                seen_b |= kb.is_some();
            }
        }
        assert!(seen_a && seen_b);
        let rule = FsRule::Rates {
            false_match_rate: 0.5,
            false_non_match_rate: 0.5,
        };
        let fs = FsDecisions {
            thresholds: t,
            scale: FsScale::MatchWeight,
            decisions: vec![Decision::Match],
        };
        let notes = band_notes(&p, rule, &fs, 1000);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("collapse"), "{}", notes[0]);
        assert!(notes[0].contains("per pair over all 1000 admissible pairs"));
        assert!(notes[0].contains(&format!("--fs-rates 0.5,{}", round_down(b2))));
        // The rounded-down rates shown still give a band.
        let shown: f64 = round_down(b2).parse().unwrap();
        let t = fs_thresholds(&p, 0.5, shown);
        assert!(t.upper > t.lower);
        // A band with no pair in it is said too; one with a pair is not.
        let t = fs_thresholds(&p, 0.05, 0.05);
        let mut fs = FsDecisions {
            thresholds: t,
            scale: FsScale::MatchWeight,
            decisions: vec![Decision::Match, Decision::NonMatch],
        };
        let rule = FsRule::Rates {
            false_match_rate: 0.05,
            false_non_match_rate: 0.05,
        };
        assert!(band_notes(&p, rule, &fs, 1000)[0].contains("no scored pair falls"));
        fs.decisions.push(Decision::Review);
        assert!(band_notes(&p, rule, &fs, 1000).is_empty());
        let w = FsRule::Weights {
            upper: 1.0,
            lower: 1.0,
        };
        let fs = FsDecisions {
            thresholds: FsThresholds {
                upper: 1.0,
                lower: 1.0,
                false_match_rate: f64::NAN,
                false_non_match_rate: f64::NAN,
            },
            scale: FsScale::MatchWeight,
            decisions: vec![],
        };
        assert!(band_notes(&p, w, &fs, 10)[0].contains("UPPER > LOWER"));
    }

    #[test]
    fn round_down_never_rounds_up() {
        assert_eq!(round_down(1.2109e-7), "1.21e-7");
        assert_eq!(round_down(0.5), "5.00e-1");
        for x in [5.2019e-14, 0.0123456, 0.999999, 3.0] {
            let v: f64 = round_down(x).parse().unwrap();
            assert!(v <= x && v > x * 0.98, "{x} -> {v}");
        }
    }

    #[test]
    fn fs_decisions_are_the_links() {
        // Issue 19: with Fellegi–Sunter options the links are the Match decisions, whatever the
        // probability threshold.
        use crate::model::predict::ScoredPairs;
        let p = params();
        let lw = p.level_weights();
        let levels: Vec<u8> = vec![0, 0, 0, 1, 1, 1];
        let weight: Vec<f64> = levels
            .chunks(2)
            .map(|l| pattern_weight(p.prior_weight(), &lw, l))
            .collect();
        let pairs = ScoredPairs {
            left: vec![0, 1, 2],
            right: vec![3, 4, 5],
            probability: weight
                .iter()
                .map(|&w| crate::model::probability(w))
                .collect(),
            weight,
            levels,
            n_comparisons: 2,
            candidates: 3,
            candidates_per_rule: vec![3],
            candidates_true: None,
            candidates_true_per_rule: None,
            ..Default::default()
        };
        let opts = DecisionOptions {
            threshold: 0.999,
            fs: Some(FsRule::Weights {
                upper: 2.0,
                lower: -1.0,
            }),
            ..DecisionOptions::default()
        };
        let d = decide(&pairs, &p, &opts);
        let fs = d.fs.as_ref().unwrap();
        assert_eq!(fs.decisions[0], Decision::Match);
        assert_eq!(fs.decisions[1], Decision::Review);
        assert_eq!(fs.decisions[2], Decision::NonMatch);
        assert_eq!(d.accepted, vec![0]);
        assert_eq!(d.above, vec![0]);
        // Without them the threshold decides (no pair reaches 0.999 here).
        let d = decide(&pairs, &p, &DecisionOptions { fs: None, ..opts });
        assert!(d.accepted.is_empty());
        assert_eq!(Decision::NonMatch.name(), "non_match");
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
    /// Chosen from the model for target error rates, each in [0, 1] ([`fs_thresholds_on`]). The
    /// rates are per pair over all admissible pairs, not shares of the links (see
    /// [`FsThresholds`] for a worked number).
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
    /// Fellegi–Sunter three-way decisions; default none. When given, the links (clusters,
    /// metrics, one-to-one) are the pairs decided [`Decision::Match`], not those at `threshold`.
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

/// Decides every scored pair. Without Fellegi–Sunter options the links are the pairs whose match
/// probability reaches `opts.threshold`; with them (`opts.fs`) the links are the pairs decided
/// [`Decision::Match`] on `opts.fs_scale` and the probability threshold is not used (on the
/// Bayes-factor scale the level weights are summed in comparison order from 0, as the weight
/// distribution behind the rates sums them). One-to-one assignment then keeps at most one link
/// per record among them (edge value: the weight above the lowest weight a link may have, the
/// threshold's weight or the lowest Match weight, plus 1e-9, so every link counts positively).
/// Warnings about the thresholds ([`band_notes`]) are left to the caller, which knows the number
/// of admissible pairs.
pub fn decide(pairs: &ScoredPairs, params: &FsParams, opts: &DecisionOptions) -> Decisions {
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
    let (above, floor): (Vec<usize>, f64) = match &fs {
        None => (
            (0..pairs.len())
                .filter(|&i| pairs.probability[i] >= opts.threshold)
                .collect(),
            weight_of_probability(opts.threshold.clamp(1e-12, 1.0 - 1e-12)),
        ),
        Some(fs) => {
            let above: Vec<usize> = (0..pairs.len())
                .filter(|&i| fs.decisions[i] == Decision::Match)
                .collect();
            let floor = above
                .iter()
                .map(|&i| pairs.weight[i])
                .fold(f64::INFINITY, f64::min);
            (above, floor)
        }
    };
    let (accepted, one_to_one_outcome) = match opts.one_to_one {
        None => (above.clone(), None),
        Some(method) => {
            let edges: Vec<(u32, u32, f64)> = above
                .iter()
                .map(|&i| {
                    (
                        pairs.left[i],
                        pairs.right[i],
                        (pairs.weight[i] - floor).max(0.0) + 1e-9,
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
    Decisions {
        threshold: opts.threshold,
        above,
        accepted,
        one_to_one: one_to_one_outcome,
        fs,
    }
}

/// The rates that would leave a review band when `max_false_match_rate,
/// max_false_non_match_rate` do not: (the largest false-non-match rate that gives one with the
/// false-match rate kept, the largest false-match rate that gives one with the false-non-match
/// rate kept); `None` where no rate would. "A band" means at least one weight of the model's
/// distribution, with positive probability under the class whose rate was changed, lies strictly
/// between the thresholds. `dist` is [`weight_distribution`]; the sums run in the order
/// [`fs_thresholds_on`] runs them, so the rates given reproduce the thresholds exactly.
pub fn band_rates(
    dist: &[(f64, f64, f64)],
    max_false_match_rate: f64,
    max_false_non_match_rate: f64,
) -> (Option<f64>, Option<f64>) {
    let n = dist.len();
    // Index of the upper threshold (n when no weight meets the rate), as fs_thresholds_on.
    let mut k_u = n;
    let mut acc = 0.0;
    for j in (0..n).rev() {
        if acc + dist[j].2 > max_false_match_rate {
            break;
        }
        acc += dist[j].2;
        k_u = j;
    }
    // Index of the lower threshold before capping (None when no weight meets the rate).
    let mut k_l: Option<usize> = None;
    let mut acc = 0.0;
    for (j, x) in dist.iter().enumerate() {
        if acc + x.1 > max_false_non_match_rate {
            break;
        }
        acc += x.1;
        k_l = Some(j);
    }
    // Keep the false-match rate: stop the lower threshold below the highest weight under the
    // upper threshold that matches can have.
    let keep_fmr = (0..k_u.min(n)).rev().find(|&j| dist[j].1 > 0.0).map(|j| {
        let mut acc = 0.0;
        for x in &dist[..j] {
            acc += x.1;
        }
        acc
    });
    // Keep the false-non-match rate: stop the upper threshold above the lowest weight over the
    // lower threshold that non-matches can have, leaving at least one weight above it.
    let first = k_l.map_or(0, |k| k + 1);
    let keep_fnmr = (first..n.saturating_sub(1))
        .find(|&j| dist[j].2 > 0.0)
        .map(|j| {
            let mut acc = 0.0;
            for x in dist[j + 1..].iter().rev() {
                acc += x.2;
            }
            acc
        });
    (keep_fmr, keep_fnmr)
}

/// `x` in three significant digits, rounded towards zero, as text: a smaller rate only widens
/// the review band, so a rate shown this way still leaves one.
fn round_down(x: f64) -> String {
    if x <= 0.0 || !x.is_finite() {
        return "0".into();
    }
    let e = x.log10().floor() as i32 - 2;
    let scaled = (x / 10f64.powi(e)).floor();
    // Guard against the division landing a hair above an integer.
    let v = scaled * 10f64.powi(e);
    let v = if v > x {
        (scaled - 1.0) * 10f64.powi(e)
    } else {
        v
    };
    format!("{v:.2e}")
}

/// Warnings about Fellegi–Sunter decisions that send nothing to review: thresholds that
/// collapse (upper = lower), with the rates that would give a band ([`band_rates`]) and what the
/// rates mean in pairs (`admissible_pairs`, every pair the link type allows), or a band no
/// scored pair falls in. Empty when there is a band with pairs in it.
pub fn band_notes(
    params: &FsParams,
    rule: FsRule,
    fs: &FsDecisions,
    admissible_pairs: u128,
) -> Vec<String> {
    let t = &fs.thresholds;
    let scale = fs.scale.name();
    let mut notes = Vec::new();
    if t.upper <= t.lower {
        match rule {
            FsRule::Rates {
                false_match_rate: a,
                false_non_match_rate: b,
            } => {
                let expected_matches = params.lambda * admissible_pairs as f64;
                let non_matches = admissible_pairs as f64 - expected_matches;
                let (keep_a, keep_b) = band_rates(&weight_distribution(params), a, b);
                let mut tries = Vec::new();
                if let Some(b2) = keep_a {
                    tries.push(format!("--fs-rates {a},{}", round_down(b2)));
                }
                if let Some(a2) = keep_b {
                    tries.push(format!("--fs-rates {},{b}", round_down(a2)));
                }
                notes.push(format!(
                    "--fs-rates {a},{b} collapse the Fellegi–Sunter thresholds to one weight (upper = lower = {:.2} on the {scale} scale): no pair is sent to review. \
                     The rates are per pair over all {} admissible pairs: a false-match rate of {a} allows about {:.0} of the {:.0} non-matching pairs to be linked, \
                     against about {:.0} expected matches in all, and a false-non-match rate of {b} allows about {:.0} of them to be missed. {}",
                    t.upper,
                    admissible_pairs,
                    a * non_matches,
                    non_matches,
                    expected_matches,
                    b * expected_matches,
                    if tries.is_empty() {
                        "No rate pair gives a review band for this model.".to_string()
                    } else {
                        format!("For a review band try {}.", tries.join(" or "))
                    }
                ));
            }
            FsRule::Weights { upper, lower } => notes.push(format!(
                "--fs-weights {upper},{lower}: upper = lower leaves no review band; give UPPER > LOWER for one"
            )),
        }
    } else if !fs.decisions.is_empty() && !fs.decisions.contains(&Decision::Review) {
        notes.push(format!(
            "no scored pair falls in the Fellegi–Sunter review band ({:.4}, {:.4}) on the {scale} scale: every pair written is a match or a non-match",
            t.lower, t.upper
        ));
    }
    notes
}
