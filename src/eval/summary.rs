//! The metrics of one linkage run against the truth ([`LinkMetrics`]): `metrics.json` is its
//! serialisation. Pairwise precision, recall and F1 over the links, against every true pair the
//! link type admits; blocking, threshold-sweep, error-rate, one-to-one, Fellegi–Sunter and
//! cluster blocks beside them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::clusters::{ClusterMetrics, cluster_metrics};
use super::curves::{
    Sweep, SweepPoint, estimated_errors, estimated_errors_of_links, f_beta, sweep,
};
use super::{BlockingMetrics, PairwiseMetrics, blocking_metrics, pairwise};
use crate::block::total_pairs;
use crate::classify::Decisions;
use crate::classify::assign::OneToOne;
use crate::cluster::Clusters;
use crate::data::{Dataset, LinkType, MISSING, count_true_pairs};
use crate::model::FsParams;
use crate::model::predict::ScoredPairs;

/// Everything a run measured against the truth. Serialised with sorted keys (as `metrics.json`);
/// keys are stable: new ones are added, none renamed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkMetrics {
    /// Pairwise precision of the links.
    pub precision: f64,
    /// Pairwise recall of the links against every admissible true pair.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// F-beta with β = 2 (recall weighed more).
    pub f2: f64,
    /// The match-probability threshold of the links.
    pub threshold: f64,
    /// Links that are true pairs.
    pub true_positives: u64,
    /// Links that are not.
    pub false_positives: u64,
    /// True pairs not linked.
    pub false_negatives: u64,
    /// True pairs the link type admits.
    pub true_pairs: u64,
    /// Candidate pairs compared (all admissible pairs in exhaustive linkage).
    pub candidate_pairs: u64,
    /// Share of the true pairs among the candidates (the union of the blocking rules).
    pub pairs_completeness: Option<f64>,
    /// Pairs written to pairs.csv (match probability ≥ `min_probability`).
    pub pairs_written: usize,
    /// The smallest match probability written.
    pub min_probability: f64,
    /// Records in the inputs.
    pub records: usize,
    /// Records per source, in input order.
    pub sources: Vec<SourceRecords>,
    /// The link type.
    pub link_type: LinkType,
    /// The fitted λ.
    pub lambda: f64,
    /// The seed of the run.
    pub seed: u64,
    /// Blocking metrics per rule, then their union.
    pub blocking: Vec<BlockingMetrics>,
    /// Threshold-free summaries of the scored pairs.
    pub threshold_sweep: SweepSummary,
    /// The model's estimated error rates beside the true ones.
    pub error_rates: ErrorRates,
    /// One-to-one assignment, when asked for.
    pub one_to_one: Option<OneToOneMetrics>,
    /// Fellegi–Sunter three-way decisions, when asked for.
    pub fellegi_sunter: Option<FsMetrics>,
    /// The clusters at the threshold.
    pub clusters: ClusterBlock,
    /// Wall-clock seconds per phase (filled in by the caller that timed them).
    pub seconds: Seconds,
}

/// A source's record count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRecords {
    /// The source name.
    pub source: String,
    /// Its records.
    pub records: usize,
}

/// Average precision and the best-F1 point of a threshold sweep over the pairs written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepSummary {
    /// Area under the precision–recall step curve.
    pub average_precision: f64,
    /// The threshold with the highest F1.
    pub best_f1: Option<SweepPoint>,
    /// Area under the ROC curve over all admissible pairs, the pairs never scored ranked last
    /// as one tie ([`super::curves::roc_auc`]); absent from results written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roc_auc: Option<f64>,
    /// What the sweep covers.
    pub note: String,
}

/// Estimated (from the posterior probabilities alone) and true error rates at the threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorRates {
    /// Expected share of false links among the links.
    pub estimated_false_discovery_rate: f64,
    /// Expected share of matches below the threshold, among the pairs written.
    pub estimated_false_negative_rate: f64,
    /// false positives / links (0 without links).
    pub true_false_discovery_rate: f64,
    /// 1 − recall.
    pub true_false_negative_rate: f64,
    /// Σ of the match probabilities written.
    pub expected_matches: f64,
}

/// What one-to-one assignment changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OneToOneMetrics {
    /// The method.
    pub method: OneToOne,
    /// Components too large for the exact method, solved greedily.
    pub components_solved_greedily: usize,
    /// The metrics of the pairs above the threshold without the assignment.
    pub without_one_to_one: Option<PairwiseMetrics>,
    /// Precision with minus without.
    pub precision_gain: Option<f64>,
    /// Recall with minus without.
    pub recall_change: Option<f64>,
}

/// Fellegi–Sunter thresholds and the decisions among the pairs written, by truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FsMetrics {
    /// `match_weight` or `bayes_factor`.
    pub scale: String,
    /// log2(λ / (1 − λ)).
    pub prior_weight: f64,
    /// Link at or above this weight.
    pub upper_weight: f64,
    /// Non-link at or below this weight.
    pub lower_weight: f64,
    /// The model's false-match rate at the upper threshold (when chosen from rates).
    pub model_false_match_rate: Option<f64>,
    /// The model's false-non-match rate at the lower threshold (when chosen from rates).
    pub model_false_non_match_rate: Option<f64>,
    /// Decision name (`Match`, `Review`, `NonMatch`) → counts by truth; decisions that never
    /// occur are absent.
    pub decisions_among_pairs_written: BTreeMap<String, TruthCounts>,
    /// What the counts cover.
    pub note: String,
    /// What the links are: with Fellegi–Sunter decisions, precision, recall, F1, the error
    /// rates and the clusters are those of the `Match` decisions, not of the probability
    /// threshold. Absent from results written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<String>,
}

/// Pairs by truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TruthCounts {
    /// True matches.
    pub true_matches: u64,
    /// Non-matches.
    pub non_matches: u64,
}

/// The clusters at the threshold and their quality.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterBlock {
    /// The threshold the clusters were cut at.
    pub threshold: f64,
    /// Number of clusters, singletons included.
    pub count: u64,
    /// Cluster metrics against the truth.
    pub metrics: ClusterMetrics,
}

/// Wall-clock seconds per phase of a run; never part of model.json.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Seconds {
    /// Reading and cleaning the inputs.
    pub load: f64,
    /// Comparing, training and scoring.
    pub compare_train_score: f64,
    /// Decisions and clustering.
    pub cluster: f64,
    /// Evaluating and writing the outputs.
    pub evaluate_and_write: f64,
    /// The whole run.
    pub total: f64,
}

/// What [`LinkMetrics::compute`] reads besides the pairs, decisions and clusters.
#[derive(Debug, Clone, Copy)]
pub struct RunContext<'a> {
    /// The inputs.
    pub ds: &'a Dataset,
    /// The link type.
    pub link_type: LinkType,
    /// The fitted parameters (λ and the prior weight).
    pub params: &'a FsParams,
    /// The candidate sources' names, one per blocking rule (or one for exhaustive linkage).
    pub rule_names: &'a [String],
    /// The smallest match probability written.
    pub min_probability: f64,
    /// The run's seed.
    pub seed: u64,
}

/// The model's error-rate estimate and the true false-discovery rate of `m`.
pub fn true_false_discovery_rate(m: &PairwiseMetrics) -> f64 {
    if m.true_positives + m.false_positives > 0 {
        m.false_positives as f64 / (m.true_positives + m.false_positives) as f64
    } else {
        0.0
    }
}

impl LinkMetrics {
    /// The metrics of a run and its threshold sweep; `None` when the inputs have no truth.
    /// `seconds` is left at zero for the caller to fill in.
    pub fn compute(
        ctx: &RunContext<'_>,
        pairs: &ScoredPairs,
        decisions: &Decisions,
        clusters: &Clusters,
    ) -> Option<(LinkMetrics, Sweep)> {
        let ds = ctx.ds;
        let truth = ds.truth.as_deref()?;
        let m = pairwise(ds, ctx.link_type, decisions.links(pairs))?;
        let total = total_pairs(ctx.link_type, &ds.source_sizes());
        let is_true = |i: usize| {
            let (x, y) = (
                truth[pairs.left[i] as usize],
                truth[pairs.right[i] as usize],
            );
            x != MISSING && x == y
        };
        // The cluster metrics (about 50 ms on the 1.16M-record benchmark) are computed beside
        // the pairwise ones (about 25 ms); neither sums floats across threads.
        let (cluster_block_metrics, (true_pairs, estimated, sw)) = rayon::join(
            || cluster_metrics(&clusters.ids, truth),
            || {
                let true_pairs =
                    count_true_pairs(truth, &ds.source_of, ds.sources.len(), ctx.link_type);
                let estimated = match &decisions.fs {
                    None => estimated_errors(&pairs.probability, decisions.threshold),
                    Some(_) => {
                        let mut is_link = vec![false; pairs.len()];
                        for &i in &decisions.accepted {
                            is_link[i] = true;
                        }
                        estimated_errors_of_links(&pairs.probability, &is_link, decisions.threshold)
                    }
                };
                let scored: Vec<(f64, bool)> = (0..pairs.len())
                    .map(|i| (pairs.probability[i], is_true(i)))
                    .collect();
                let sw = sweep(&scored, true_pairs, total);
                (true_pairs, estimated, sw)
            },
        );
        let blocking = blocking_metrics(
            ctx.rule_names,
            &pairs.candidates_per_rule,
            pairs.candidates_true_per_rule.as_deref(),
            total,
            Some(true_pairs),
        );
        let one_to_one = decisions.one_to_one.map(|o| {
            let without = pairwise(
                ds,
                ctx.link_type,
                decisions
                    .above
                    .iter()
                    .map(|&i| (pairs.left[i], pairs.right[i])),
            );
            OneToOneMetrics {
                method: o.method,
                components_solved_greedily: o.greedy_fallback_components,
                without_one_to_one: without,
                precision_gain: without.map(|w| m.precision - w.precision),
                recall_change: without.map(|w| m.recall - w.recall),
            }
        });
        let fellegi_sunter = decisions.fs.as_ref().map(|fs| {
            let mut counts: BTreeMap<String, TruthCounts> = BTreeMap::new();
            for (i, d) in fs.decisions.iter().enumerate() {
                let e = counts.entry(d.label().to_string()).or_default();
                if is_true(i) {
                    e.true_matches += 1;
                } else {
                    e.non_matches += 1;
                }
            }
            let t = &fs.thresholds;
            FsMetrics {
                scale: fs.scale.name().to_string(),
                prior_weight: ctx.params.prior_weight(),
                upper_weight: t.upper,
                lower_weight: t.lower,
                model_false_match_rate: t.false_match_rate.is_finite().then_some(t.false_match_rate),
                model_false_non_match_rate: t
                    .false_non_match_rate
                    .is_finite()
                    .then_some(t.false_non_match_rate),
                decisions_among_pairs_written: counts,
                note: "counts cover pairs.csv (match_probability >= min_probability); unscored pairs are non-matches".into(),
                links: Some("the Match decisions: precision, recall, F1, error_rates and clusters use them, not the probability threshold".into()),
            }
        });
        let metrics = LinkMetrics {
            precision: m.precision,
            recall: m.recall,
            f1: m.f1,
            f2: f_beta(m.precision, m.recall, 2.0),
            threshold: decisions.threshold,
            true_positives: m.true_positives,
            false_positives: m.false_positives,
            false_negatives: m.false_negatives,
            true_pairs,
            candidate_pairs: pairs.candidates,
            pairs_completeness: blocking.last().and_then(|b| b.pairs_completeness),
            pairs_written: pairs.len(),
            min_probability: ctx.min_probability,
            records: ds.len(),
            sources: ds
                .sources
                .iter()
                .map(|s| SourceRecords {
                    source: s.name.clone(),
                    records: s.len,
                })
                .collect(),
            link_type: ctx.link_type,
            lambda: ctx.params.lambda,
            seed: ctx.seed,
            blocking,
            threshold_sweep: SweepSummary {
                average_precision: sw.average_precision,
                best_f1: sw.best_f1,
                roc_auc: Some(sw.roc_auc),
                note: "over the pairs written (match_probability >= min_probability); pairs never scored count as missed".into(),
            },
            error_rates: ErrorRates {
                estimated_false_discovery_rate: estimated.false_discovery_rate,
                estimated_false_negative_rate: estimated.false_negative_rate,
                true_false_discovery_rate: true_false_discovery_rate(&m),
                true_false_negative_rate: 1.0 - m.recall,
                expected_matches: estimated.expected_matches,
            },
            one_to_one,
            fellegi_sunter,
            clusters: ClusterBlock {
                threshold: decisions.threshold,
                count: clusters.count,
                metrics: cluster_block_metrics,
            },
            seconds: Seconds::default(),
        };
        Some((metrics, sw))
    }

    /// The metrics as JSON with sorted keys, as `metrics.json` is written.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// The model's own estimates at the threshold, written with or without truth (`estimated` in
/// metrics.json). With p_i the match probability of pair i, over the pairs written (p_i ≥
/// `min_probability`) and the links L (p_i ≥ threshold):
///
/// - expected matches among the pairs written: E = Σ_i p_i;
/// - expected matches among all admissible pairs: λ·N (N admissible pairs), the model's prior;
///   `expected_matches_outside_written` = max(0, λ·N − E) estimates those the pairs written miss
///   (outside the blocks, or scored below `min_probability`);
/// - precision = Σ_{i∈L} p_i / |L| (FDR = 1 − precision; 0 and 1 without links, reported as
///   precision 0, FDR 0);
/// - recall = Σ_{i∈L} p_i / E among the pairs written (FNR = 1 − recall), and
///   `recall_of_admissible` = Σ_{i∈L} p_i / max(E, λ·N), which also counts the expected matches
///   outside them.
///
/// These are model-based (Fellegi & Sunter 1969, §3; Belin & Rubin 1995 discuss their
/// calibration): they are as good as the fitted m, u and λ, and with conditional dependence
/// between comparisons they are usually optimistic.
///
/// # References
/// I. P. Fellegi and A. B. Sunter, "A Theory for Record Linkage", JASA 64(328), 1969.
/// T. R. Belin and D. B. Rubin, "A Method for Calibrating False-Match Rates in Record
/// Linkage", JASA 90(430), 1995.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimates {
    /// The match-probability threshold of the links.
    pub threshold: f64,
    /// Pairs at or above the threshold.
    pub links: u64,
    /// Σ p over the links: the expected number of true links.
    pub expected_true_links: f64,
    /// Σ p over the pairs written.
    pub expected_matches_written: f64,
    /// λ × admissible pairs.
    pub expected_matches_admissible: f64,
    /// max(0, λ·N − Σ p over the pairs written).
    pub expected_matches_outside_written: f64,
    /// Estimated precision of the links.
    pub precision: f64,
    /// 1 − precision (0 without links).
    pub false_discovery_rate: f64,
    /// Estimated recall among the pairs written.
    pub recall: f64,
    /// 1 − recall.
    pub false_negative_rate: f64,
    /// Estimated recall among every admissible pair (matches outside the pairs written count).
    pub recall_of_admissible: f64,
    /// Estimated F1 from the estimated precision and recall (among the pairs written).
    pub f1: f64,
    /// What the estimates cover.
    pub note: String,
    /// The model's share of matches that the prediction blocking rules produce
    /// ([`super::blocking_recall`]); 1 in exhaustive linkage; null when it cannot be estimated
    /// (`false_negative_rate_of_admissible_note` says why).
    #[serde(default)]
    pub blocking_recall: Option<f64>,
    /// Expected matches among the admissible pairs blocking never produced:
    /// `expected_matches_written` × (1 / `blocking_recall` − 1).
    #[serde(default)]
    pub expected_matches_missed_by_blocking: Option<f64>,
    /// Blocking-aware false-negative rate of the links among every admissible match:
    /// 1 − `blocking_recall` × `recall`.
    #[serde(default)]
    pub false_negative_rate_of_admissible: Option<f64>,
    /// 95 % predictive interval of the realised blocking-aware false-negative rate
    /// ([`super::blocking_recall::predictive_interval`]): over the bootstrap replicates with
    /// `training.bootstrap`, else with the fitted parameters held.
    #[serde(default)]
    pub false_negative_rate_of_admissible_interval: Option<[f64; 2]>,
    /// How the blocking-aware rate was obtained, its assumptions, or why it cannot be given.
    #[serde(default)]
    pub false_negative_rate_of_admissible_note: Option<String>,
}

impl Estimates {
    /// The estimates of pairs with match probabilities `probabilities` (the pairs written) at
    /// `threshold`, with prior `lambda` over `admissible` pairs. Sums run in input order.
    pub fn of(probabilities: &[f64], threshold: f64, lambda: f64, admissible: u128) -> Estimates {
        let (mut links, mut tl, mut written) = (0u64, 0.0f64, 0.0f64);
        for &p in probabilities {
            written += p;
            if p >= threshold {
                links += 1;
                tl += p;
            }
        }
        let prior = lambda * admissible as f64;
        let precision = if links > 0 { tl / links as f64 } else { 0.0 };
        let recall = if written > 0.0 { tl / written } else { 0.0 };
        let denom = written.max(prior);
        Estimates {
            threshold,
            links,
            expected_true_links: tl,
            expected_matches_written: written,
            expected_matches_admissible: prior,
            expected_matches_outside_written: (prior - written).max(0.0),
            precision,
            false_discovery_rate: if links > 0 { 1.0 - precision } else { 0.0 },
            recall,
            false_negative_rate: if written > 0.0 { 1.0 - recall } else { 0.0 },
            recall_of_admissible: if denom > 0.0 { tl / denom } else { 0.0 },
            f1: f_beta(precision, recall, 1.0),
            note: "model-based, from the match probabilities: precision = sum of p over links / links; recall = sum of p over links / sum of p over the pairs written (match_probability >= min_probability); recall_of_admissible divides by max(that sum, lambda x admissible pairs) instead".into(),
            blocking_recall: None,
            expected_matches_missed_by_blocking: None,
            false_negative_rate_of_admissible: None,
            false_negative_rate_of_admissible_interval: None,
            false_negative_rate_of_admissible_note: None,
        }
    }

    /// Adds the blocking-aware false-negative rate from the model's blocking recall (`Err`: why
    /// there is none), with a bootstrap interval when given and a note on how it was obtained.
    pub fn with_blocking_recall(
        mut self,
        recall: std::result::Result<f64, String>,
        interval: Option<[f64; 2]>,
        note: String,
    ) -> Estimates {
        match recall {
            Ok(r) if r > 0.0 => {
                self.blocking_recall = Some(r);
                self.expected_matches_missed_by_blocking =
                    Some(self.expected_matches_written * (1.0 / r - 1.0));
                self.false_negative_rate_of_admissible = Some(1.0 - r * self.recall);
                self.false_negative_rate_of_admissible_interval = interval;
                self.false_negative_rate_of_admissible_note = Some(note);
            }
            Ok(r) => {
                self.false_negative_rate_of_admissible_note = Some(format!(
                    "the model's blocking recall is {r}: the rules cannot produce a match"
                ));
            }
            Err(why) => {
                self.false_negative_rate_of_admissible_note =
                    Some(format!("no blocking-aware estimate: {why}"));
            }
        }
        self
    }
}

/// metrics.json of a run without truth: the truth-based `precision`, `recall` and `f1` are
/// null, and the model's [`Estimates`] stand beside the counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EstimatedMetrics {
    /// Null: no truth.
    pub precision: Option<f64>,
    /// Null: no truth.
    pub recall: Option<f64>,
    /// Null: no truth.
    pub f1: Option<f64>,
    /// The match-probability threshold of the links.
    pub threshold: f64,
    /// Candidate pairs compared (all admissible pairs in exhaustive linkage).
    pub candidate_pairs: u64,
    /// Admissible pairs under the link type.
    pub admissible_pairs: u128,
    /// Pairs written to pairs.csv.
    pub pairs_written: usize,
    /// The smallest match probability written.
    pub min_probability: f64,
    /// Records in the inputs.
    pub records: usize,
    /// Records per source, in input order.
    pub sources: Vec<SourceRecords>,
    /// The link type.
    pub link_type: LinkType,
    /// The fitted λ.
    pub lambda: f64,
    /// The seed of the run.
    pub seed: u64,
    /// Candidate pairs per blocking rule, then their union (no truth-based columns).
    pub blocking: Vec<BlockingMetrics>,
    /// Number of clusters at the threshold, singletons included.
    pub clusters: u64,
    /// The model's estimates.
    pub estimated: Estimates,
    /// Wall-clock seconds per phase.
    pub seconds: Seconds,
}

impl EstimatedMetrics {
    /// The truth-free metrics of a run.
    pub fn compute(
        ctx: &RunContext<'_>,
        pairs: &ScoredPairs,
        decisions: &Decisions,
        clusters: &Clusters,
    ) -> EstimatedMetrics {
        let ds = ctx.ds;
        let total = total_pairs(ctx.link_type, &ds.source_sizes());
        EstimatedMetrics {
            precision: None,
            recall: None,
            f1: None,
            threshold: decisions.threshold,
            candidate_pairs: pairs.candidates,
            admissible_pairs: total,
            pairs_written: pairs.len(),
            min_probability: ctx.min_probability,
            records: ds.len(),
            sources: ds
                .sources
                .iter()
                .map(|s| SourceRecords {
                    source: s.name.clone(),
                    records: s.len,
                })
                .collect(),
            link_type: ctx.link_type,
            lambda: ctx.params.lambda,
            seed: ctx.seed,
            blocking: blocking_metrics(
                ctx.rule_names,
                &pairs.candidates_per_rule,
                None,
                total,
                None,
            ),
            clusters: clusters.count,
            estimated: Estimates::of(
                &pairs.probability,
                decisions.threshold,
                ctx.params.lambda,
                total,
            ),
            seconds: Seconds::default(),
        }
    }

    /// As JSON with sorted keys.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}
