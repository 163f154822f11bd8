//! The training plan (`[training]`): how λ, u and m are obtained, with every default written
//! once here.

use serde::{Deserialize, Serialize};

use crate::block::{KeySpec, validate_keys};
use crate::compare::{ComparisonSpec, Predicate};
use crate::error::{Error, Result};

/// How λ (the prior match probability) is obtained.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LambdaSpec {
    /// A fixed value in (0, 1).
    Value(f64),
    /// From the number of pairs that deterministic rules accept, divided by the assumed recall
    /// of those rules (Splink's `estimate_probability_two_random_records_match`).
    Deterministic(DeterministicLambda),
}

/// λ from deterministic rules: `{ deterministic_rules = [[...]], recall = 0.8 }`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeterministicLambda {
    /// Each rule is a list of keys that must all agree; a pair counts once if any rule holds.
    pub deterministic_rules: Vec<Vec<KeySpec>>,
    /// Assumed share of true matches the rules find, in (0, 1]; default 1.
    #[serde(default = "one")]
    pub recall: f64,
}

fn one() -> f64 {
    1.0
}

/// How u is obtained.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct USpec {
    /// Number of random admissible pairs to sample; all pairs are used when there are fewer.
    /// Zero means: estimate u inside the EM sessions instead. Default 1,000,000.
    #[serde(default = "default_random_pairs")]
    pub random_pairs: u64,
    /// Seed of the run when the caller gives none (`--seed`, [`crate::pipeline::Job::seed`]
    /// win over it); default none, then 42.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

fn default_random_pairs() -> u64 {
    1_000_000
}

impl Default for USpec {
    fn default() -> Self {
        USpec {
            random_pairs: default_random_pairs(),
            seed: None,
        }
    }
}

/// One EM training session.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmSession {
    /// Training blocking rule; comparisons of columns it names are not estimated in this session.
    /// Absent: the session runs on the prediction candidate pairs and estimates every comparison.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocking: Option<Vec<KeySpec>>,
    /// Keep u fixed at its sampled values (Splink's default); default true unless u is `random_pairs = 0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix_u: Option<bool>,
}

/// The training plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Training {
    /// How λ is set. Default: estimated by an EM session on the prediction candidates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda: Option<LambdaSpec>,
    /// How u is set.
    #[serde(default)]
    pub u: USpec,
    /// EM sessions, run in order; default one session on the prediction candidates.
    #[serde(default)]
    pub em: Vec<EmSession>,
    /// EM stops after this many iterations per session; default 25 (Splink's default). With
    /// `algorithm = "as207"`: outer iterations (R RecordLinkage uses 1000).
    #[serde(default = "default_max_iter")]
    pub max_iterations: usize,
    /// EM stops when no parameter moves more than this; default 1e-4 (Splink's default). With
    /// `algorithm = "as207"`: when no fitted pattern count moves more than this (also the
    /// tolerance of its inner scaling loop; R RecordLinkage uses 1e-5).
    #[serde(default = "default_tol")]
    pub tolerance: f64,
    /// The estimator of every EM session: `"em"` (default; plain EM in log space, see
    /// [`crate::model::em`]) or `"as207"` (the latent-class model fitted as a log-linear model
    /// with Haber's algorithm AS 207, as R RecordLinkage's `emWeights`; see
    /// [`crate::model::loglinear`] for what it requires).
    #[serde(default, skip_serializing_if = "Algorithm::is_em")]
    pub algorithm: Algorithm,
    /// The λ every EM session starts from, in (0, 1), before the blocking adjustment of sessions
    /// with a training blocking rule. Default: `lambda` when it is given, else 1e-4. R
    /// RecordLinkage starts from 0.1 / sqrt(number of pairs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda_start: Option<f64>,
    /// Priors for maximum a posteriori EM (plain EM only); default none (maximum likelihood).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior: Option<Prior>,
    /// EM starts per session: the default start plus `em_starts − 1` seeded random starts
    /// ([`crate::model::em::random_start`]); the start with the highest log-likelihood is kept and
    /// every start is recorded in the fit. Default 1 (the default start only). At most
    /// [`MAX_EM_STARTS`].
    #[serde(default = "one_usize", skip_serializing_if = "is_one_usize")]
    pub em_starts: usize,
    /// Bootstrap replicates: the inputs of training (pattern counts of every session, the u
    /// sample's level counts) are resampled multinomially this many times, each replicate is
    /// refitted and 95 % percentile intervals are reported ([`crate::model::bootstrap`]).
    /// Default 0 (none); otherwise between [`MIN_BOOTSTRAP`] and [`MAX_BOOTSTRAP`].
    #[serde(default, skip_serializing_if = "is_zero_usize")]
    pub bootstrap: usize,
    /// m from clerical labels instead of EM (`m = { labels = "labels.csv" }`); default none
    /// (m from the EM sessions). λ and u are still set as the rest of the plan says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub m: Option<MSpec>,
}

/// Most EM starts per session (`training.em_starts`).
pub const MAX_EM_STARTS: usize = 1000;
/// Fewest bootstrap replicates (`training.bootstrap`) when any: fewer cannot place 2.5 %
/// percentiles.
pub const MIN_BOOTSTRAP: usize = 20;
/// Most bootstrap replicates (`training.bootstrap`).
pub const MAX_BOOTSTRAP: usize = 10_000;

fn one_usize() -> usize {
    1
}
fn is_one_usize(v: &usize) -> bool {
    *v == 1
}
fn is_zero_usize(v: &usize) -> bool {
    *v == 0
}

/// Where m comes from when not from EM (`training.m`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MSpec {
    /// A Splink-style labels CSV (source_dataset_l, unique_id_l, source_dataset_r,
    /// unique_id_r, clerical_match_score; a score ≥ 0.5 is a match), as `fellegi label`
    /// exports: m of every comparison is the share of the labelled matches at each level
    /// (levels never seen get half a count, null levels 1). A relative path is read from the
    /// current folder.
    pub labels: std::path::PathBuf,
}

/// Conjugate priors turning EM into maximum a posteriori estimation (`training.prior`), as
/// fastLink's Beta prior on λ and Dirichlet priors on the m and u probabilities (Enamorado,
/// Fifield & Imai, 2019, appendix). A concentration of 1 (or a Beta(1, 1)) is no prior.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prior {
    /// Beta(α, β) on each EM session's λ (the share of matches among the pairs that session
    /// counts), α, β ≥ 1: the M-step adds α − 1 matches and β − 1 non-matches. E.g. for an
    /// expected λ₀ worth w pseudo-pairs: α = 1 + w·λ₀, β = 1 + w·(1 − λ₀).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda: Option<[f64; 2]>,
    /// Symmetric Dirichlet concentration (≥ 1) on every comparison's m probabilities: each
    /// estimated non-null level gets α − 1 pseudo-pairs among the matches. Default 1 (none).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub m: f64,
    /// As `m`, for the u probabilities (pseudo-pairs among the non-matches). Default 1 (none).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub u: f64,
}

fn is_one(v: &f64) -> bool {
    *v == 1.0
}

/// The estimator of the EM sessions (`training.algorithm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// Plain EM over the pattern counts ([`crate::model::em`]).
    #[default]
    Em,
    /// Haber's (1984) algorithm AS 207 for the latent-class log-linear model, as R
    /// RecordLinkage's `emWeights` ([`crate::model::loglinear`]).
    As207,
    /// Variational Beta linkage (Kundinger, Reiter & Steorts), Bayesian one-to-one linkage of
    /// two sources over every pair ([`crate::model::bayes::vabl`]); `fellegi link` only.
    Vabl,
    /// Fast Beta linkage, a seeded Gibbs sampler (Kundinger, Reiter & Steorts; Sadinle 2017),
    /// Bayesian one-to-one linkage of two sources ([`crate::model::bayes::fabl`]); `fellegi link`
    /// only.
    Fabl,
}

impl Algorithm {
    /// Whether this is the default, plain EM.
    pub fn is_em(&self) -> bool {
        *self == Algorithm::Em
    }

    /// The settings name (`em`, `as207`, `vabl`, `fabl`).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Em => "em",
            Algorithm::As207 => "as207",
            Algorithm::Vabl => "vabl",
            Algorithm::Fabl => "fabl",
        }
    }

    /// Whether this is one of the Bayesian one-to-one estimators (vabl, fabl).
    pub fn is_bayesian(self) -> bool {
        matches!(self, Algorithm::Vabl | Algorithm::Fabl)
    }
}

fn default_max_iter() -> usize {
    25
}
fn default_tol() -> f64 {
    1e-4
}

impl Default for Training {
    fn default() -> Self {
        Training {
            lambda: None,
            u: USpec::default(),
            em: Vec::new(),
            max_iterations: default_max_iter(),
            tolerance: default_tol(),
            algorithm: Algorithm::Em,
            lambda_start: None,
            prior: None,
            em_starts: 1,
            bootstrap: 0,
            m: None,
        }
    }
}

impl Training {
    /// Checks ranges and shapes of the plan, naming the key path (`training.…`) of the first
    /// problem.
    ///
    /// # Errors
    /// [`Error::Settings`].
    pub fn validate(&self, origin: &str) -> Result<()> {
        let err = |k: String, m: String| Err(Error::settings(origin, k, m));
        let t = self;
        match &t.lambda {
            Some(LambdaSpec::Value(v)) if !(*v > 0.0 && *v < 1.0) => {
                return err("training.lambda".into(), format!("{v} must be in (0, 1)"));
            }
            Some(LambdaSpec::Deterministic(DeterministicLambda {
                deterministic_rules,
                recall,
            })) => {
                if !(*recall > 0.0 && *recall <= 1.0) {
                    return err(
                        "training.lambda.recall".into(),
                        format!("{recall} must be in (0, 1]"),
                    );
                }
                if deterministic_rules.is_empty() {
                    return err(
                        "training.lambda.deterministic_rules".into(),
                        "give at least one rule, e.g. [[\"surname\", \"date_of_birth\"]]".into(),
                    );
                }
                for (ri, r) in deterministic_rules.iter().enumerate() {
                    validate_keys(
                        origin,
                        &format!("training.lambda.deterministic_rules[{ri}]"),
                        r,
                    )?;
                }
            }
            _ => {}
        }
        if t.max_iterations == 0 {
            return err(
                "training.max_iterations".into(),
                "must be at least 1".into(),
            );
        }
        if !(t.tolerance > 0.0 && t.tolerance.is_finite()) {
            return err(
                "training.tolerance".into(),
                format!("{} must be > 0", t.tolerance),
            );
        }
        if !(1..=MAX_EM_STARTS).contains(&t.em_starts) {
            return err(
                "training.em_starts".into(),
                format!("{} must be between 1 and {MAX_EM_STARTS}", t.em_starts),
            );
        }
        if t.bootstrap != 0 && !(MIN_BOOTSTRAP..=MAX_BOOTSTRAP).contains(&t.bootstrap) {
            return err(
                "training.bootstrap".into(),
                format!(
                    "{} must be 0 (none) or between {MIN_BOOTSTRAP} and {MAX_BOOTSTRAP} replicates (e.g. 200)",
                    t.bootstrap
                ),
            );
        }
        if let Some(v) = t.lambda_start {
            if !(v > 0.0 && v < 1.0) {
                return err(
                    "training.lambda_start".into(),
                    format!("{v} must be in (0, 1)"),
                );
            }
        }
        if let Some(pr) = &t.prior {
            if t.algorithm != Algorithm::Em {
                return err(
                    "training.prior".into(),
                    "priors need the plain EM estimator; remove `algorithm` or the prior".into(),
                );
            }
            let bad = |v: f64| !(v >= 1.0 && v.is_finite());
            if let Some([a, b]) = pr.lambda {
                if bad(a) || bad(b) {
                    return err(
                        "training.prior.lambda".into(),
                        format!("[{a}, {b}]: both Beta parameters must be finite and >= 1"),
                    );
                }
            }
            for (k, v) in [("m", pr.m), ("u", pr.u)] {
                if bad(v) {
                    return err(
                        format!("training.prior.{k}"),
                        format!("{v}: a Dirichlet concentration must be finite and >= 1"),
                    );
                }
            }
        }
        for (si, s) in t.em.iter().enumerate() {
            if let Some(k) = &s.blocking {
                validate_keys(origin, &format!("training.em[{si}].blocking"), k)?;
            }
        }
        Ok(())
    }

    /// Checks that the plan suits `training.algorithm`. Plain EM takes any valid settings;
    /// `"as207"` ([`crate::model::loglinear`]) needs u estimated by EM (`u = { random_pairs = 0 }`),
    /// EM sessions without a training blocking rule or `fix_u = true`, comparisons with explicit
    /// levels and no null level, no fixed m or u, and a complete table of at most
    /// [`crate::model::loglinear::MAX_CELLS`] cells. Works on expanded settings too.
    ///
    /// # Errors
    /// [`Error::Settings`] naming the first offending key and how to fix it.
    pub fn check_algorithm(&self, comparisons: &[ComparisonSpec], origin: &str) -> Result<()> {
        let t = self;
        if t.algorithm.is_bayesian() {
            for (ci, c) in comparisons.iter().enumerate() {
                for (li, l) in c.levels.iter().enumerate() {
                    if l.fix_m || l.fix_u {
                        return Err(Error::settings(
                            origin,
                            format!("comparison[{ci}].levels[{li}]"),
                            format!(
                                "training.algorithm = \"{}\" samples every m and u from their posterior: remove fix_m/fix_u",
                                t.algorithm.name()
                            ),
                        ));
                    }
                }
            }
            return Ok(());
        }
        if t.algorithm != Algorithm::As207 {
            return Ok(());
        }
        let err = |k: String, m: String| Err(Error::settings(origin, k, m));
        const AS207: &str = "training.algorithm = \"as207\"";
        if t.u.random_pairs != 0 {
            return err(
                "training.u.random_pairs".into(),
                format!(
                    "{AS207} estimates u inside EM, as R RecordLinkage does: set `u = {{ random_pairs = 0 }}` (or use algorithm = \"em\")"
                ),
            );
        }
        for (si, s) in t.em.iter().enumerate() {
            if s.blocking.is_some() {
                return err(
                    format!("training.em[{si}].blocking"),
                    format!(
                        "{AS207} fits every comparison on the prediction candidates and supports no training blocking rule: remove `blocking` from this session (or use algorithm = \"em\")"
                    ),
                );
            }
            if s.fix_u == Some(true) {
                return err(
                    format!("training.em[{si}].fix_u"),
                    format!(
                        "{AS207} estimates u: remove `fix_u = true` (or use algorithm = \"em\")"
                    ),
                );
            }
        }
        let mut cells: f64 = 2.0;
        for (ci, c) in comparisons.iter().enumerate() {
            let key = format!("comparison[{ci}]");
            if c.builder.is_some() && c.missing != crate::compare::Missing::Disagreement {
                return err(
                    format!("{key}.use"),
                    format!(
                        "builders add a null level, which {AS207} does not support (it treats every level as a category; R RecordLinkage counts a missing value as disagreement): give explicit levels without a null level, e.g. levels = [{{ predicate = \"exact\" }}, {{ predicate = \"else\" }}], or missing = \"disagreement\""
                    ),
                );
            }
            for (li, l) in c.levels.iter().enumerate() {
                let lk = format!("{key}.levels[{li}]");
                if l.predicate == Predicate::Null
                    && c.missing != crate::compare::Missing::Disagreement
                {
                    return err(
                        format!("{lk}.predicate"),
                        format!(
                            "{AS207} has no missing-at-random null level (it treats every level as a category): drop the null level, so that a missing value falls to the else level and counts as disagreement as in R RecordLinkage (or use algorithm = \"em\")"
                        ),
                    );
                }
                for (name, fixed) in [("m", l.fix_m), ("u", l.fix_u)] {
                    if fixed {
                        return err(
                            format!("{lk}.fix_{name}"),
                            format!(
                                "{AS207} estimates every m and u: remove `fix_{name}` (`{name}` then serves as a starting value) or use algorithm = \"em\""
                            ),
                        );
                    }
                }
            }
            cells *= c.levels.len() as f64;
        }
        let limit = crate::model::loglinear::MAX_CELLS;
        if cells > limit as f64 {
            return err(
                "comparison".into(),
                format!(
                    "{AS207} fits the complete table of 2 classes × every combination of levels: {cells:.0} cells, above the limit of {limit}; use fewer comparisons or levels, or algorithm = \"em\""
                ),
            );
        }
        Ok(())
    }
}
