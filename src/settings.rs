//! Settings: what to compare, how to block and how to train, as data.
//!
//! Hand-written settings are TOML; a fitted model is the same schema as JSON with `lambda` and each
//! level's `m` and `u` filled in, plus a `fit` block. Library builders (`use = "..."`) expand to
//! explicit levels the way Splink's `comparison_library` does: null, exact, one level per threshold
//! in the given order, else. Unknown keys are errors (`deny_unknown_fields`), and [`Settings::validate`]
//! names the key path of anything out of range.
//!
//! ```toml
//! link_type = "link"
//! unique_id = "record_id"
//! truth = "entity_id"
//!
//! [[blocking]]
//! keys = ["surname"]
//! [[blocking]]
//! keys = [{ column = "surname", encode = "soundex" }, "date_of_birth"]
//!
//! [training]
//! lambda = { deterministic_rules = [["given_name", "surname", "date_of_birth"]], recall = 0.8 }
//! u = { random_pairs = 1_000_000 }
//! em = [{ blocking = ["given_name", "surname"] }, { blocking = ["date_of_birth"] }]
//!
//! [[comparison]]
//! column = "given_name"
//! use = "jaro_winkler_at_thresholds"
//! thresholds = [0.9, 0.8]
//! ```

use serde::{Deserialize, Serialize};

use crate::clean::{PhoneticEncoder, Transform};
use crate::error::{Error, Result};

/// Which record pairs are candidates: within one file, across files, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkType {
    /// All pairs within one file (Splink's `dedupe_only`).
    #[serde(alias = "dedupe_only")]
    Dedupe,
    /// Pairs across two or more files only (Splink's `link_only`).
    #[serde(alias = "link_only")]
    Link,
    /// All pairs across and within N files.
    LinkAndDedupe,
}

impl LinkType {
    /// Whether a pair of records from sources `a` and `b` is a candidate under this link type.
    #[inline]
    pub fn admits(self, a: u16, b: u16) -> bool {
        match self {
            LinkType::Link => a != b,
            LinkType::Dedupe | LinkType::LinkAndDedupe => true,
        }
    }

    /// The settings name (`dedupe`, `link`, `link_and_dedupe`).
    pub fn name(self) -> &'static str {
        match self {
            LinkType::Dedupe => "dedupe",
            LinkType::Link => "link",
            LinkType::LinkAndDedupe => "link_and_dedupe",
        }
    }
}

fn default_link_type() -> LinkType {
    LinkType::Dedupe
}
fn default_unique_id() -> String {
    "record_id".into()
}
fn default_truth() -> Option<String> {
    Some("entity_id".into())
}

/// The whole specification of a linkage job; with `lambda`, `m`, `u` and `fit` filled in it is a
/// fitted model.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Link type; default `dedupe`.
    #[serde(default = "default_link_type")]
    pub link_type: LinkType,
    /// Column holding each record's id, unique within its file; default `record_id`.
    #[serde(default = "default_unique_id")]
    pub unique_id: String,
    /// Ground-truth column used only for evaluation, never for matching; default `entity_id`.
    /// Evaluation is skipped when the inputs lack it. Set to `""` to disable.
    #[serde(default = "default_truth")]
    pub truth: Option<String>,
    /// Prior probability that two random admissible records match (λ); filled in by training.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda: Option<f64>,
    /// Column transforms applied before blocking and comparison, in order.
    #[serde(default, rename = "transform", skip_serializing_if = "Vec::is_empty")]
    pub transforms: Vec<TransformSpec>,
    /// Blocking rules for prediction; candidate pairs are their union, without duplicates.
    #[serde(default, rename = "blocking")]
    pub blocking: Vec<BlockingRule>,
    /// Exhaustive linkage: count and score every admissible pair exactly, without blocking
    /// (see [`crate::exhaustive`]); `[[blocking]]` rules are then not needed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exhaustive: bool,
    /// The training plan (λ, u, EM sessions).
    #[serde(default)]
    pub training: Training,
    /// The comparisons, one per compared column.
    #[serde(rename = "comparison")]
    pub comparisons: Vec<ComparisonSpec>,
    /// How the model was fitted; present only in a fitted model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit: Option<crate::model::FitInfo>,
}

/// A list of transforms applied to one column, e.g. `steps = ["lowercase", "ascii_fold"]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformSpec {
    /// The column to transform in place.
    pub column: String,
    /// Transform names, applied in order (see [`Transform`]).
    pub steps: Vec<Transform>,
}

/// One part of a blocking key or deterministic rule: a column, or a value derived from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum KeySpec {
    /// The column's (transformed) value.
    Column(String),
    /// A derived key: a phonetic code or a prefix of the column's value.
    Derived(DerivedKey),
}

/// A derived blocking key: `{ column = "surname", encode = "soundex" }` or `{ column = "postcode", prefix = 2 }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DerivedKey {
    /// Source column.
    pub column: String,
    /// Phonetic encoder applied to the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encode: Option<PhoneticEncoder>,
    /// Keep only the first `prefix` characters (after encoding, if any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<usize>,
}

impl KeySpec {
    /// The column the key reads.
    pub fn column(&self) -> &str {
        match self {
            KeySpec::Column(c) => c,
            KeySpec::Derived(d) => &d.column,
        }
    }

    /// A short human-readable form, e.g. `soundex(surname)` or `substr(postcode,1,2)`.
    pub fn describe(&self) -> String {
        match self {
            KeySpec::Column(c) => c.clone(),
            KeySpec::Derived(d) => {
                let mut s = d.column.clone();
                if let Some(e) = d.encode {
                    s = format!("{}({s})", e.name());
                }
                if let Some(p) = d.prefix {
                    s = format!("prefix{p}({s})");
                }
                s
            }
        }
    }
}

/// A blocking rule: records agreeing exactly on every key form candidate pairs. Missing values
/// never form a key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockingRule {
    /// The keys that must all agree.
    pub keys: Vec<KeySpec>,
}

impl BlockingRule {
    /// A short human-readable form, e.g. `given_name & surname`.
    pub fn describe(&self) -> String {
        self.keys
            .iter()
            .map(KeySpec::describe)
            .collect::<Vec<_>>()
            .join(" & ")
    }
}

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
    /// Seed for the sampling; the CLI's `--seed` overrides it. Default 42.
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
}

impl Algorithm {
    /// Whether this is the default, plain EM.
    pub fn is_em(&self) -> bool {
        *self == Algorithm::Em
    }

    /// The settings name (`em`, `as207`).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Em => "em",
            Algorithm::As207 => "as207",
        }
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
        }
    }
}

/// Library builders for comparisons (`use = "..."`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Builder {
    /// null, exact, else.
    ExactMatch,
    /// null, exact, Jaro–Winkler ≥ t for each threshold, else.
    JaroWinklerAtThresholds,
    /// null, exact, Jaro ≥ t for each threshold, else.
    JaroAtThresholds,
    /// null, exact, Levenshtein ≤ k for each threshold, else.
    LevenshteinAtThresholds,
    /// null, exact, OSA Damerau–Levenshtein ≤ k for each threshold, else.
    DamerauLevenshteinAtThresholds,
    /// null, exact, Jaccard on q-grams ≥ t for each threshold, else.
    JaccardAtThresholds,
    /// null, exact, |date difference| ≤ d days for each threshold, else (needs `date_format`).
    DateDifferenceAtThresholds,
    /// null, exact, |a − b| ≤ d for each threshold, else.
    NumericDifferenceAtThresholds,
    /// null, exact, |a − b| / max(|a|, |b|) ≤ r for each threshold, else.
    NumericRelativeDifferenceAtThresholds,
}

impl Builder {
    fn needs_thresholds(self) -> bool {
        self != Builder::ExactMatch
    }
}

/// Jaro–Winkler variant parameters (see [`crate::compare::jaro::JwParams`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwConfig {
    /// Prefix scale p; default 0.1.
    #[serde(default = "default_prefix_scale")]
    pub prefix_scale: f64,
    /// Longest common prefix credited; default 4.
    #[serde(default = "default_max_prefix")]
    pub max_prefix: usize,
    /// The prefix bonus applies only when Jaro exceeds this; default 0.7 (Winkler; DuckDB, so
    /// Splink). Use a negative value for none (R `stringdist`).
    #[serde(default = "default_boost")]
    pub boost_threshold: f64,
}

fn default_prefix_scale() -> f64 {
    0.1
}
fn default_max_prefix() -> usize {
    4
}
fn default_boost() -> f64 {
    0.7
}

impl Default for JwConfig {
    fn default() -> Self {
        JwConfig {
            prefix_scale: 0.1,
            max_prefix: 4,
            boost_threshold: 0.7,
        }
    }
}

/// A level's predicate. Levels are tried in order; the first that holds gives the level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Predicate {
    /// Either value is missing. Contributes no evidence (weight 0).
    Null,
    /// Values are equal.
    Exact,
    /// Jaro–Winkler similarity ≥ t.
    JaroWinklerAtLeast(f64),
    /// Jaro similarity ≥ t.
    JaroAtLeast(f64),
    /// Levenshtein distance ≤ k (in characters).
    LevenshteinAtMost(u32),
    /// Optimal-string-alignment Damerau–Levenshtein distance ≤ k.
    DamerauLevenshteinAtMost(u32),
    /// Jaccard similarity of character q-gram sets ≥ t (q from the comparison's `q`, default 2).
    JaccardAtLeast(f64),
    /// Numeric |a − b| ≤ d; unparseable values fail.
    AbsDiffAtMost(f64),
    /// Numeric |a − b| / max(|a|, |b|) ≤ r.
    RelDiffAtMost(f64),
    /// |date a − date b| ≤ d days, parsed with the comparison's `date_format`.
    DateDiffDaysAtMost(u32),
    /// Equal phonetic codes (non-empty).
    PhoneticMatch(PhoneticEncoder),
    /// Always holds; the last level.
    Else,
}

impl Predicate {
    /// A short label such as `jaro_winkler >= 0.9`.
    pub fn label(&self) -> String {
        match self {
            Predicate::Null => "null".into(),
            Predicate::Exact => "exact".into(),
            Predicate::JaroWinklerAtLeast(t) => format!("jaro_winkler >= {t}"),
            Predicate::JaroAtLeast(t) => format!("jaro >= {t}"),
            Predicate::LevenshteinAtMost(k) => format!("levenshtein <= {k}"),
            Predicate::DamerauLevenshteinAtMost(k) => format!("damerau_levenshtein <= {k}"),
            Predicate::JaccardAtLeast(t) => format!("jaccard >= {t}"),
            Predicate::AbsDiffAtMost(d) => format!("abs_diff <= {d}"),
            Predicate::RelDiffAtMost(d) => format!("rel_diff <= {d}"),
            Predicate::DateDiffDaysAtMost(d) => format!("date_diff_days <= {d}"),
            Predicate::PhoneticMatch(e) => format!("{} match", e.name()),
            Predicate::Else => "else".into(),
        }
    }
}

/// One level of a comparison, with its parameters once fitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelSpec {
    /// When the level holds.
    pub predicate: Predicate,
    /// Optional label for reports; default from the predicate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// P(level | match). In settings: a starting value, or the fixed value with `fix_m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub m: Option<f64>,
    /// P(level | non-match). In settings: a starting value, or the fixed value with `fix_u`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub u: Option<f64>,
    /// Keep `m` fixed during training (requires `m`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fix_m: bool,
    /// Keep `u` fixed during training (requires `u`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fix_u: bool,
}

impl LevelSpec {
    /// A level with only a predicate.
    pub fn new(predicate: Predicate) -> Self {
        LevelSpec {
            predicate,
            label: None,
            m: None,
            u: None,
            fix_m: false,
            fix_u: false,
        }
    }

    /// The label to show: the explicit one, else derived from the predicate.
    pub fn display_label(&self) -> String {
        self.label.clone().unwrap_or_else(|| self.predicate.label())
    }
}

/// One comparison of a column between the two records of a pair.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComparisonSpec {
    /// The compared column.
    pub column: String,
    /// Output name (the `gamma_<name>` column); default the column name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Library builder; expands into `levels`.
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub builder: Option<Builder>,
    /// Builder thresholds, in order (similarities in (0, 1], distances ≥ 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<Vec<f64>>,
    /// Date format for date predicates: `%Y%m%d`, `%Y-%m-%d`, `%d/%m/%Y` or `%m/%d/%Y`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_format: Option<String>,
    /// q for Jaccard q-grams; default 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<usize>,
    /// Jaro–Winkler variant; default Winkler's (0.1, 4, boost above 0.7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jaro_winkler: Option<JwConfig>,
    /// Explicit levels (null first if any, else last, first match wins).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<LevelSpec>,
}

impl ComparisonSpec {
    /// The output name.
    pub fn output_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.column)
    }
}

/// Most comparisons a model may have (pattern keys pack 4 bits per comparison into a `u128`).
pub const MAX_COMPARISONS: usize = 32;
/// Most levels a comparison may have, the null level included.
pub const MAX_LEVELS: usize = 16;

impl Settings {
    /// Parses TOML settings. `origin` names the source in error messages.
    ///
    /// # Errors
    /// [`Error::Parse`] with line and column for syntax errors and unknown keys, then the errors
    /// of [`Settings::validate`].
    pub fn from_toml(text: &str, origin: &str) -> Result<Settings> {
        let mut s: Settings = toml::from_str(text).map_err(|e| Error::Parse {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        s.normalise();
        s.validate(origin)?;
        Ok(s)
    }

    /// Parses a fitted model (JSON, same schema).
    ///
    /// # Errors
    /// As [`Settings::from_toml`].
    pub fn from_json(text: &str, origin: &str) -> Result<Settings> {
        let mut s: Settings = serde_json::from_str(text).map_err(|e| Error::Parse {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        s.normalise();
        s.validate(origin)?;
        Ok(s)
    }

    /// Reads settings from a file: `.json` as a model, anything else as TOML.
    ///
    /// # Errors
    /// [`Error::Io`] if unreadable, else as [`Settings::from_toml`].
    pub fn from_path(path: &std::path::Path) -> Result<Settings> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let origin = path.display().to_string();
        if path.extension().is_some_and(|e| e == "json") {
            Settings::from_json(&text, &origin)
        } else {
            Settings::from_toml(&text, &origin)
        }
    }

    fn normalise(&mut self) {
        if self.truth.as_deref() == Some("") {
            self.truth = None;
        }
    }

    /// The settings with every builder expanded into explicit levels.
    ///
    /// # Errors
    /// [`Error::Settings`] naming the comparison if a builder lacks thresholds.
    pub fn expanded(&self, origin: &str) -> Result<Settings> {
        let mut out = self.clone();
        for (ci, c) in out.comparisons.iter_mut().enumerate() {
            if let Some(b) = c.builder.take() {
                let key = format!("comparison[{ci}]");
                if !c.levels.is_empty() {
                    return Err(Error::settings(
                        origin,
                        format!("{key}.levels"),
                        "give either `use` (a builder) or explicit `levels`, not both",
                    ));
                }
                let ts = c.thresholds.take().unwrap_or_default();
                if b.needs_thresholds() && ts.is_empty() {
                    return Err(Error::settings(
                        origin,
                        format!("{key}.thresholds"),
                        format!(
                            "builder `{b:?}` needs a non-empty `thresholds` list, e.g. thresholds = [0.9, 0.8]"
                        ),
                    ));
                }
                let mut levels = vec![
                    LevelSpec::new(Predicate::Null),
                    LevelSpec::new(Predicate::Exact),
                ];
                for (ti, &t) in ts.iter().enumerate() {
                    let tkey = format!("{key}.thresholds[{ti}]");
                    let as_count = |t: f64| -> Result<u32> {
                        if t >= 0.0 && t.fract() == 0.0 && t <= 1e9 {
                            Ok(t as u32)
                        } else {
                            Err(Error::settings(
                                origin,
                                &tkey,
                                format!("{t} must be a whole number >= 0"),
                            ))
                        }
                    };
                    let p = match b {
                        Builder::ExactMatch => {
                            return Err(Error::settings(
                                origin,
                                &tkey,
                                "exact_match takes no thresholds",
                            ));
                        }
                        Builder::JaroWinklerAtThresholds => Predicate::JaroWinklerAtLeast(t),
                        Builder::JaroAtThresholds => Predicate::JaroAtLeast(t),
                        Builder::JaccardAtThresholds => Predicate::JaccardAtLeast(t),
                        Builder::LevenshteinAtThresholds => {
                            Predicate::LevenshteinAtMost(as_count(t)?)
                        }
                        Builder::DamerauLevenshteinAtThresholds => {
                            Predicate::DamerauLevenshteinAtMost(as_count(t)?)
                        }
                        Builder::DateDifferenceAtThresholds => {
                            Predicate::DateDiffDaysAtMost(as_count(t)?)
                        }
                        Builder::NumericDifferenceAtThresholds => Predicate::AbsDiffAtMost(t),
                        Builder::NumericRelativeDifferenceAtThresholds => {
                            Predicate::RelDiffAtMost(t)
                        }
                    };
                    levels.push(LevelSpec::new(p));
                }
                levels.push(LevelSpec::new(Predicate::Else));
                c.levels = levels;
            }
        }
        Ok(out)
    }

    /// Checks ranges and shapes, naming the key path of the first problem.
    ///
    /// # Errors
    /// [`Error::Settings`].
    pub fn validate(&self, origin: &str) -> Result<()> {
        let err = |k: String, m: String| Err(Error::settings(origin, k, m));
        if self.unique_id.is_empty() {
            return err("unique_id".into(), "must name the id column".into());
        }
        if self.comparisons.is_empty() {
            return err(
                "comparison".into(),
                "at least one [[comparison]] is needed".into(),
            );
        }
        if self.comparisons.len() > MAX_COMPARISONS {
            return err(
                "comparison".into(),
                format!(
                    "{} comparisons; at most {MAX_COMPARISONS} are supported",
                    self.comparisons.len()
                ),
            );
        }
        if let Some(l) = self.lambda {
            if !(l > 0.0 && l < 1.0) {
                return err("lambda".into(), format!("{l} must be in (0, 1)"));
            }
        }
        for (bi, b) in self.blocking.iter().enumerate() {
            validate_keys(origin, &format!("blocking[{bi}].keys"), &b.keys)?;
        }
        let t = &self.training;
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
        let mut names = std::collections::BTreeSet::new();
        for (ci, c) in self.comparisons.iter().enumerate() {
            let key = format!("comparison[{ci}]");
            if !names.insert(c.output_name().to_string()) {
                return err(
                    format!("{key}.name"),
                    format!(
                        "two comparisons are named `{}`; give one a distinct `name`",
                        c.output_name()
                    ),
                );
            }
            if c.builder.is_none() && c.levels.is_empty() {
                return err(
                    key,
                    "give `use = \"<builder>\"` (e.g. \"jaro_winkler_at_thresholds\") or explicit `levels`".into(),
                );
            }
            if c.builder.is_none() && c.thresholds.is_some() {
                return err(
                    format!("{key}.thresholds"),
                    "`thresholds` only go with `use = ...`".into(),
                );
            }
            if let Some(b) = c.builder {
                if b.needs_thresholds() && c.thresholds.as_ref().is_none_or(|t| t.is_empty()) {
                    return err(
                        format!("{key}.thresholds"),
                        format!(
                            "builder `{b:?}` needs a non-empty `thresholds` list, e.g. thresholds = [0.9, 0.8]"
                        ),
                    );
                }
                if !b.needs_thresholds() && c.thresholds.as_ref().is_some_and(|t| !t.is_empty()) {
                    return err(
                        format!("{key}.thresholds"),
                        "exact_match takes no thresholds".into(),
                    );
                }
            }
            if let Some(q) = c.q {
                if q == 0 || q > 16 {
                    return err(format!("{key}.q"), format!("{q} must be in 1..=16"));
                }
            }
            if let Some(f) = &c.date_format {
                if f.parse::<crate::compare::date::DateFormat>().is_err() {
                    return err(
                        format!("{key}.date_format"),
                        format!("`{f}` is not one of %Y%m%d, %Y-%m-%d, %d/%m/%Y, %m/%d/%Y"),
                    );
                }
            }
            if let Some(ts) = &c.thresholds {
                for (ti, v) in ts.iter().enumerate() {
                    let similarity = matches!(
                        c.builder,
                        Some(
                            Builder::JaroWinklerAtThresholds
                                | Builder::JaroAtThresholds
                                | Builder::JaccardAtThresholds
                        )
                    );
                    let count = matches!(
                        c.builder,
                        Some(
                            Builder::LevenshteinAtThresholds
                                | Builder::DamerauLevenshteinAtThresholds
                                | Builder::DateDifferenceAtThresholds
                        )
                    );
                    if count && (v.fract() != 0.0 || !v.is_finite() || *v < 0.0) {
                        return err(
                            format!("{key}.thresholds[{ti}]"),
                            format!("{v} must be a whole number >= 0"),
                        );
                    }
                    if !v.is_finite() || *v < 0.0 || (similarity && (*v <= 0.0 || *v > 1.0)) {
                        return err(
                            format!("{key}.thresholds[{ti}]"),
                            if similarity {
                                format!("{v} must be a similarity in (0, 1]")
                            } else {
                                format!("{v} must be a finite number >= 0")
                            },
                        );
                    }
                }
            }
            if matches!(c.builder, Some(Builder::DateDifferenceAtThresholds))
                && c.date_format.is_none()
            {
                return err(
                    format!("{key}.date_format"),
                    "date comparisons need a date_format, e.g. date_format = \"%Y%m%d\"".into(),
                );
            }
            if !c.levels.is_empty() {
                validate_levels(origin, &key, c)?;
            }
        }
        self.check_algorithm(origin)
    }

    /// Checks that the plan suits `training.algorithm`. Plain EM takes any valid settings;
    /// `"as207"` ([`crate::model::loglinear`]) needs u estimated by EM (`u = { random_pairs = 0 }`),
    /// EM sessions without a training blocking rule or `fix_u = true`, comparisons with explicit
    /// levels and no null level, no fixed m or u, and a complete table of at most
    /// [`crate::model::loglinear::MAX_CELLS`] cells. Works on expanded settings too.
    ///
    /// # Errors
    /// [`Error::Settings`] naming the first offending key and how to fix it.
    pub fn check_algorithm(&self, origin: &str) -> Result<()> {
        let t = &self.training;
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
        for (ci, c) in self.comparisons.iter().enumerate() {
            let key = format!("comparison[{ci}]");
            if c.builder.is_some() {
                return err(
                    format!("{key}.use"),
                    format!(
                        "builders add a null level, which {AS207} does not support (it treats every level as a category; R RecordLinkage counts a missing value as disagreement): give explicit levels without a null level, e.g. levels = [{{ predicate = \"exact\" }}, {{ predicate = \"else\" }}]"
                    ),
                );
            }
            for (li, l) in c.levels.iter().enumerate() {
                let lk = format!("{key}.levels[{li}]");
                if l.predicate == Predicate::Null {
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

    /// The comparisons' explicit levels; call on [`Settings::expanded`] settings.
    pub fn levels(&self) -> Vec<&[LevelSpec]> {
        self.comparisons
            .iter()
            .map(|c| c.levels.as_slice())
            .collect()
    }

    /// Every column the settings read (transforms, blocking, training rules, comparisons), sorted.
    pub fn columns_used(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (i, t) in self.transforms.iter().enumerate() {
            out.push((t.column.clone(), format!("transform[{i}].column")));
        }
        for (i, b) in self.blocking.iter().enumerate() {
            for (k, key) in b.keys.iter().enumerate() {
                out.push((key.column().to_string(), format!("blocking[{i}].keys[{k}]")));
            }
        }
        if let Some(LambdaSpec::Deterministic(DeterministicLambda {
            deterministic_rules,
            ..
        })) = &self.training.lambda
        {
            for (i, r) in deterministic_rules.iter().enumerate() {
                for (k, key) in r.iter().enumerate() {
                    out.push((
                        key.column().to_string(),
                        format!("training.lambda.deterministic_rules[{i}][{k}]"),
                    ));
                }
            }
        }
        for (i, s) in self.training.em.iter().enumerate() {
            for (k, key) in s.blocking.iter().flatten().enumerate() {
                out.push((
                    key.column().to_string(),
                    format!("training.em[{i}].blocking[{k}]"),
                ));
            }
        }
        for (i, c) in self.comparisons.iter().enumerate() {
            out.push((c.column.clone(), format!("comparison[{i}].column")));
        }
        out
    }

    /// Renders the settings as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self)
            .unwrap_or_else(|e| format!("# could not render settings as TOML: {e}\n"))
    }
}

fn validate_keys(origin: &str, key: &str, keys: &[KeySpec]) -> Result<()> {
    if keys.is_empty() {
        return Err(Error::settings(
            origin,
            key,
            "a rule needs at least one key",
        ));
    }
    for (i, k) in keys.iter().enumerate() {
        if let KeySpec::Derived(d) = k {
            if d.prefix == Some(0) {
                return Err(Error::settings(
                    origin,
                    format!("{key}[{i}].prefix"),
                    "must be at least 1",
                ));
            }
        }
    }
    Ok(())
}

fn validate_levels(origin: &str, key: &str, c: &ComparisonSpec) -> Result<()> {
    let n = c.levels.len();
    if n > MAX_LEVELS {
        return Err(Error::settings(
            origin,
            format!("{key}.levels"),
            format!("{n} levels; at most {MAX_LEVELS} are supported"),
        ));
    }
    let non_null = c
        .levels
        .iter()
        .filter(|l| l.predicate != Predicate::Null)
        .count();
    if non_null < 2 {
        return Err(Error::settings(
            origin,
            format!("{key}.levels"),
            "need at least two non-null levels (e.g. exact and else)",
        ));
    }
    for (li, l) in c.levels.iter().enumerate() {
        let lk = format!("{key}.levels[{li}]");
        match &l.predicate {
            Predicate::Null if li != 0 => {
                return Err(Error::settings(
                    origin,
                    format!("{lk}.predicate"),
                    "the null level must come first",
                ));
            }
            Predicate::Else if li != n - 1 => {
                return Err(Error::settings(
                    origin,
                    format!("{lk}.predicate"),
                    "the else level must come last",
                ));
            }
            Predicate::JaroWinklerAtLeast(t)
            | Predicate::JaroAtLeast(t)
            | Predicate::JaccardAtLeast(t)
                if !(*t > 0.0 && *t <= 1.0) =>
            {
                return Err(Error::settings(
                    origin,
                    format!("{lk}.predicate"),
                    format!("{t} must be in (0, 1]"),
                ));
            }
            Predicate::AbsDiffAtMost(t) | Predicate::RelDiffAtMost(t)
                if !(t.is_finite() && *t >= 0.0) =>
            {
                return Err(Error::settings(
                    origin,
                    format!("{lk}.predicate"),
                    format!("{t} must be >= 0"),
                ));
            }
            Predicate::DateDiffDaysAtMost(_) if c.date_format.is_none() => {
                return Err(Error::settings(
                    origin,
                    format!("{key}.date_format"),
                    "date predicates need date_format, e.g. date_format = \"%Y%m%d\"",
                ));
            }
            _ => {}
        }
        if l.predicate == Predicate::Null && (l.m.is_some() || l.u.is_some()) {
            return Err(Error::settings(
                origin,
                lk.clone(),
                "the null level carries no m or u",
            ));
        }
        for (name, v, fixed) in [("m", l.m, l.fix_m), ("u", l.u, l.fix_u)] {
            if let Some(v) = v {
                // 0 is a legitimate fitted value (a level never seen among matches).
                if !(0.0..=1.0).contains(&v) {
                    return Err(Error::settings(
                        origin,
                        format!("{lk}.{name}"),
                        format!("{v} must be in [0, 1]"),
                    ));
                }
            } else if fixed {
                return Err(Error::settings(
                    origin,
                    format!("{lk}.fix_{name}"),
                    format!("fix_{name} = true needs a value for `{name}`"),
                ));
            }
        }
    }
    if c.levels.last().map(|l| &l.predicate) != Some(&Predicate::Else) {
        return Err(Error::settings(
            origin,
            format!("{key}.levels[{}]", n - 1),
            "the last level must be { predicate = \"else\" }",
        ));
    }
    Ok(())
}
