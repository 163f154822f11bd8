//! The Fellegi–Sunter model: λ and per-level m and u, match weights and probabilities, and their
//! estimation ([`em`], [`loglinear`] (Haber's AS 207, as R RecordLinkage), [`train`]).
//!
//! For a pair with comparison levels γ = (γ₁, …, γ_K), the match weight is the log2 Bayes factor
//! plus the prior log-odds,
//! `w = log2(λ / (1 − λ)) + Σ_k log2(m_k[γ_k] / u_k[γ_k])`, where null levels contribute 0
//! (missing at random), and the match probability is `1 / (1 + 2^(−w))`.
//!
//! # References
//! - Fellegi, I. P. & Sunter, A. B. (1969). A theory for record linkage. *JASA* 64(328), 1183–1210.
//! - Winkler, W. E. (1988). Using the EM algorithm for weight computation in the Fellegi–Sunter
//!   model of record linkage. *Proc. Section on Survey Research Methods*, ASA, 667–671.
//! - Enamorado, T., Fifield, B. & Imai, K. (2019). Using a probabilistic model to assist merging of
//!   large-scale administrative records. *APSR* 113(2), 353–371 (fastLink).

pub mod bayes;
pub mod bootstrap;
pub mod em;
pub mod loglinear;
pub mod plan;
pub mod predict;
pub mod tf;
pub mod train;

use serde::{Deserialize, Serialize};

use crate::compare::{Comparer, ComparisonSpec};

/// Smallest probability used in logs, so that no weight is infinite.
pub const PROB_FLOOR: f64 = 1e-12;

/// Model parameters: λ and, per comparison and level, m and u. Null levels hold m = u = 1 so
/// they contribute nothing to any likelihood or weight.
#[derive(Debug, Clone, PartialEq)]
pub struct FsParams {
    /// Prior probability that a random admissible pair is a match.
    pub lambda: f64,
    /// `m[c][l]` = P(level l of comparison c | match).
    pub m: Vec<Vec<f64>>,
    /// `u[c][l]` = P(level l of comparison c | non-match).
    pub u: Vec<Vec<f64>>,
    /// Index of each comparison's null level.
    pub null_level: Vec<Option<usize>>,
}

impl FsParams {
    /// Log2 prior odds, `log2(λ / (1 − λ))`.
    pub fn prior_weight(&self) -> f64 {
        let l = self.lambda.clamp(PROB_FLOOR, 1.0 - PROB_FLOOR);
        (l / (1.0 - l)).log2()
    }

    /// Per comparison and level: the match weight `log2(m / u)` (0 for null levels).
    pub fn level_weights(&self) -> Vec<Vec<f64>> {
        self.m
            .iter()
            .zip(&self.u)
            .enumerate()
            .map(|(c, (m, u))| {
                m.iter()
                    .zip(u)
                    .enumerate()
                    .map(|(l, (&m, &u))| {
                        if Some(l) == self.null_level[c] {
                            0.0
                        } else {
                            (m.max(PROB_FLOOR) / u.max(PROB_FLOOR)).log2()
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// Starting values: m falls from the first non-null level to the else level, u rises; values
    /// given in the settings replace them (then each comparison is renormalised).
    pub fn initial(comparisons: &[ComparisonSpec], comparer: &Comparer, lambda: f64) -> FsParams {
        let mut p = FsParams {
            lambda,
            m: Vec::new(),
            u: Vec::new(),
            null_level: Vec::new(),
        };
        for (spec, cmp) in comparisons.iter().zip(&comparer.comparisons) {
            let n = cmp.n_levels();
            let null = cmp.null_level;
            let non_null: Vec<usize> = (0..n).filter(|&l| Some(l) != null).collect();
            let k = non_null.len();
            let mut m = vec![1.0; n];
            let mut u = vec![1.0; n];
            // Non-else levels: m halves from the best level down and shares 0.95; u doubles and
            // shares 0.1. The else level gets m = 0.05, u = 0.9.
            let halves: f64 = (0..k - 1).map(|r| 0.5f64.powi(r as i32)).sum();
            for (rank, &l) in non_null.iter().enumerate() {
                if rank + 1 == k {
                    m[l] = 0.05;
                    u[l] = 0.9;
                } else {
                    m[l] = 0.95 * 0.5f64.powi(rank as i32) / halves;
                    u[l] = 0.1 * 0.5f64.powi((k - 2 - rank) as i32) / halves;
                }
            }
            for (l, level) in spec.levels.iter().enumerate() {
                if let Some(v) = level.m {
                    m[l] = v;
                }
                if let Some(v) = level.u {
                    u[l] = v;
                }
            }
            normalise(&mut m, null);
            normalise(&mut u, null);
            p.m.push(m);
            p.u.push(u);
            p.null_level.push(null);
        }
        p
    }
}

/// Scales the non-null entries of `v` to sum to 1.
pub fn normalise(v: &mut [f64], null: Option<usize>) {
    let s: f64 = v
        .iter()
        .enumerate()
        .filter(|(l, _)| Some(*l) != null)
        .map(|(_, x)| x)
        .sum();
    if s > 0.0 {
        for (l, x) in v.iter_mut().enumerate() {
            if Some(l) != null {
                *x /= s;
            }
        }
    }
}

/// Match probability from a match weight: `1 / (1 + 2^(−w))`.
#[inline]
pub fn probability(weight: f64) -> f64 {
    1.0 / (1.0 + (-weight).exp2())
}

/// Match weight from a probability: `log2(p / (1 − p))`.
pub fn weight_of_probability(p: f64) -> f64 {
    (p / (1.0 - p)).log2()
}

/// Digest of one input file, recorded in the fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputDigest {
    /// The source name (file stem).
    pub source: String,
    /// Number of records.
    pub records: u64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
}

impl InputDigest {
    /// The digest of every input file of `ds`, in input order.
    pub fn of_dataset(ds: &crate::data::Dataset) -> Vec<InputDigest> {
        ds.sources
            .iter()
            .map(|s| InputDigest {
                source: s.name.clone(),
                records: s.len as u64,
                sha256: s.sha256.clone(),
            })
            .collect()
    }
}

/// How a model was fitted: enough to reproduce it. Holds no times or dates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitInfo {
    /// `fellegi <version>`.
    pub tool: String,
    /// The seed used for every random choice.
    pub seed: u64,
    /// Whether every EM session converged.
    pub converged: bool,
    /// EM iterations, summed over sessions.
    pub iterations: usize,
    /// How λ was obtained, e.g. `deterministic rules (recall 0.8): 4,123 pairs`.
    pub lambda_method: String,
    /// How u was obtained.
    pub u_method: String,
    /// The inputs.
    pub inputs: Vec<InputDigest>,
    /// One entry per EM session.
    pub sessions: Vec<SessionFit>,
    /// The bootstrap's intervals (`training.bootstrap`); absent without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<bootstrap::BootstrapSummary>,
    /// How m was obtained when not by the EM sessions (e.g. from clerical labels); absent
    /// otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub m_method: Option<String>,
}

/// One EM session's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionFit {
    /// The training blocking rule, or `prediction candidates`.
    pub blocking: String,
    /// Pairs in the session.
    pub pairs: u64,
    /// Distinct comparison patterns among them.
    pub patterns: usize,
    /// Comparisons whose m (and u when not fixed) this session estimated.
    pub estimated: Vec<String>,
    /// Whether EM converged.
    pub converged: bool,
    /// λ within the session's pairs at the end (not the global λ).
    pub lambda_in_block: f64,
    /// The trace, one entry per iteration.
    pub trace: Vec<em::EmIteration>,
    /// Whether the global λ is this session's final λ scaled from its pairs to all admissible
    /// pairs (the first session over the prediction candidates or all pairs, when the settings
    /// give no λ). Absent (false) otherwise.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sets_lambda: bool,
    /// Every EM start (`training.em_starts` > 1), the default start first; absent with one
    /// start. The trace is the kept start's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub starts: Vec<em::StartFit>,
}
