//! The comparison vocabulary of settings: predicates, levels, comparisons and the Jaro–Winkler
//! variant, with their validation.

use serde::{Deserialize, Serialize};

use super::library::Builder;
use crate::clean::PhoneticEncoder;
use crate::error::{Error, Result};

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
    /// Normalised Levenshtein distance ≤ r: the distance divided by the longer value's length in
    /// characters, in [0, 1] (1 − R RecordLinkage's `levenshteinSim`, as the `"lv"` comparisons
    /// of BRL, fabl and vabl with `breaks`).
    LevenshteinRatioAtMost(f64),
    /// Jaccard similarity of character q-gram sets ≥ t (q from the comparison's `q`, default 2).
    JaccardAtLeast(f64),
    /// Numeric |a − b| ≤ d. A value that does not parse as a number is compared as missing
    /// (see [`crate::compare::unparsed_values`]).
    AbsDiffAtMost(f64),
    /// Numeric |a − b| / max(|a|, |b|) ≤ r.
    RelDiffAtMost(f64),
    /// |date a − date b| ≤ d days, parsed with the comparison's `date_format`. A value that does
    /// not parse as a date is compared as missing (see [`crate::compare::unparsed_values`]).
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
            Predicate::LevenshteinRatioAtMost(r) => format!("levenshtein_ratio <= {r}"),
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
    /// Term-frequency adjustment weight of this level (Splink's `tf_adjustment_weight`), in
    /// [0, 1]; only with the comparison's `term_frequency_adjustments = true`. Default: 1 on the
    /// exact level, none on the others (Splink's `comparison_library`); set it on a fuzzy level
    /// to adjust that level too (see [`crate::model::tf`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tf_adjustment_weight: Option<f64>,
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
            tf_adjustment_weight: None,
        }
    }

    /// The label to show: the explicit one, else derived from the predicate.
    pub fn display_label(&self) -> String {
        self.label.clone().unwrap_or_else(|| self.predicate.label())
    }
}

/// How a comparison treats missing values (`missing` in a `[[comparison]]`): the semantics of
/// each peer, so that its published numbers can be reproduced (see the theory guide, "Missing
/// values").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    /// Default. A pair with either value missing takes the null level, which carries no
    /// evidence (weight 0) and drops out of the m and u estimates: missing at random as in
    /// fastLink (Enamorado, Fifield & Imai 2019), and Splink's null level (`is_null_level`,
    /// either side null, Bayes factor 1), which is the same thing (alias `"either_null"`).
    #[default]
    #[serde(alias = "either_null")]
    AtRandom,
    /// A missing value compares as disagreement: a pair with either value missing takes the
    /// else level (the null level is dropped), as R RecordLinkage and a plain latent-class model
    /// treat it.
    Disagreement,
    /// The null level only when both values are missing; a pair with one value missing takes
    /// the else level (weldrs's null semantics). Needs a null level; not with exhaustive
    /// linkage.
    BothNull,
}

impl Missing {
    /// Whether this is the default, missing at random.
    pub fn is_at_random(&self) -> bool {
        *self == Missing::AtRandom
    }

    /// The settings name.
    pub fn name(self) -> &'static str {
        match self {
            Missing::AtRandom => "at_random",
            Missing::Disagreement => "disagreement",
            Missing::BothNull => "both_null",
        }
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
    /// How missing values are treated ([`Missing`]); default `"at_random"`.
    #[serde(default, skip_serializing_if = "Missing::is_at_random")]
    pub missing: Missing,
    /// Term-frequency adjustment (Splink's `term_frequency_adjustments`): agreeing on a common
    /// value is weaker evidence than agreeing on a rare one. Default false; see
    /// [`crate::model::tf`] for the formula and [`TfOptions`] for its options.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub term_frequency_adjustments: bool,
    /// Options of the term-frequency adjustment (`tf = { minimum = 0.001, lookup = "f.csv" }`);
    /// default: Splink's (no minimum, frequencies over all inputs, whole values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tf: Option<TfOptions>,
}

/// How a value's term frequency is obtained (`[comparison.tf]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TfOptions {
    /// Smallest term frequency used (Splink's `tf_minimum_u_value`), in [0, 1]: rarer values are
    /// treated as this common, which caps their adjustment. Default 0 (no minimum).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<f64>,
    /// A CSV of `value,frequency` (header row, frequencies in [0, 1]) to use instead of the
    /// frequencies over the inputs (Splink's user-supplied term-frequency table); values it
    /// lacks take the other record's frequency. Relative to the settings file. Default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup: Option<std::path::PathBuf>,
    /// `"value"` (default; Splink: the frequency of the whole value) or `"token"`: values are
    /// split on whitespace and the adjustment uses the rarest token the two values share.
    #[serde(default, skip_serializing_if = "TfMode::is_value")]
    pub mode: TfMode,
}

/// What a term frequency counts (`tf.mode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TfMode {
    /// Whole values, as Splink.
    #[default]
    Value,
    /// Whitespace-separated tokens: the frequency of the rarest token both values contain.
    Token,
}

impl TfMode {
    /// Whether this is the default (whole values).
    pub fn is_value(&self) -> bool {
        *self == TfMode::Value
    }
}

impl ComparisonSpec {
    /// The output name.
    pub fn output_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.column)
    }

    /// Per explicit level: its term-frequency adjustment weight (0 = not adjusted). All 0
    /// unless `term_frequency_adjustments`; then each level's `tf_adjustment_weight`, or, when
    /// no level gives one, 1 on the exact level (Splink's `comparison_library`). Call on an
    /// expanded comparison.
    pub fn tf_level_weights(&self) -> Vec<f64> {
        let any = self.levels.iter().any(|l| l.tf_adjustment_weight.is_some());
        self.levels
            .iter()
            .map(|l| match l.tf_adjustment_weight {
                _ if !self.term_frequency_adjustments => 0.0,
                Some(w) => w,
                None if !any && l.predicate == Predicate::Exact => 1.0,
                None => 0.0,
            })
            .collect()
    }
}

/// Most comparisons a model may have (pattern keys pack 4 bits per comparison into a `u128`).
pub const MAX_COMPARISONS: usize = 32;
/// Most levels a comparison may have, the null level included.
pub const MAX_LEVELS: usize = 16;

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
            Predicate::LevenshteinRatioAtMost(t) if !(*t >= 0.0 && *t <= 1.0) => {
                return Err(Error::settings(
                    origin,
                    format!("{lk}.predicate"),
                    format!("{t} must be a normalised distance in [0, 1]"),
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
    if c.missing == Missing::BothNull
        && c.levels.first().map(|l| &l.predicate) != Some(&Predicate::Null)
    {
        return Err(Error::settings(
            origin,
            format!("{key}.missing"),
            "missing = \"both_null\" needs a null level: give { predicate = \"null\" } as the first level (builders add one)",
        ));
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

impl ComparisonSpec {
    /// Checks one comparison's shape and ranges (builder and thresholds, or explicit levels);
    /// `key` is its key path, e.g. `comparison[2]`.
    ///
    /// # Errors
    /// [`Error::Settings`] naming the first offending key.
    pub fn validate(&self, origin: &str, key: &str) -> Result<()> {
        let err = |k: String, m: String| Err(Error::settings(origin, k, m));
        let c = self;
        let key = key.to_string();
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
            // A builder expands to null, exact, one level per threshold and else: it is held to
            // the same level limit as explicit levels (pattern keys pack 4 bits per comparison).
            let n = c.thresholds.as_ref().map_or(0, Vec::len);
            if n + 3 > MAX_LEVELS {
                return err(
                    format!("{key}.thresholds"),
                    format!(
                        "{n} thresholds expand to {} levels (null, exact, one per threshold, else); at most {MAX_LEVELS} levels are supported, so give at most {} thresholds",
                        n + 3,
                        MAX_LEVELS - 3
                    ),
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
        if matches!(c.builder, Some(Builder::DateDifferenceAtThresholds)) && c.date_format.is_none()
        {
            return err(
                format!("{key}.date_format"),
                "date comparisons need a date_format, e.g. date_format = \"%Y%m%d\"".into(),
            );
        }
        if !c.levels.is_empty() {
            validate_levels(origin, &key, c)?;
        }
        validate_tf(origin, &key, c)
    }
}

fn validate_tf(origin: &str, key: &str, c: &ComparisonSpec) -> Result<()> {
    let err = |k: String, m: String| Err(Error::settings(origin, k, m));
    let weighted = c
        .levels
        .iter()
        .position(|l| l.tf_adjustment_weight.is_some());
    if !c.term_frequency_adjustments {
        if c.tf.is_some() {
            return err(
                format!("{key}.tf"),
                "`tf` options need `term_frequency_adjustments = true`".into(),
            );
        }
        if let Some(li) = weighted {
            return err(
                format!("{key}.levels[{li}].tf_adjustment_weight"),
                "a level's tf_adjustment_weight needs the comparison's `term_frequency_adjustments = true`".into(),
            );
        }
        return Ok(());
    }
    if !c.levels.is_empty() && !c.levels.iter().any(|l| l.predicate == Predicate::Exact) {
        return err(
            format!("{key}.term_frequency_adjustments"),
            "the adjustment is relative to the u of the exact level (Splink's formula), and this comparison has none: add { predicate = \"exact\" } before the fuzzy levels".into(),
        );
    }
    for (li, l) in c.levels.iter().enumerate() {
        if let Some(w) = l.tf_adjustment_weight {
            let lk = format!("{key}.levels[{li}].tf_adjustment_weight");
            if matches!(l.predicate, Predicate::Null | Predicate::Else) {
                return err(
                    lk,
                    "null and else levels take no term-frequency adjustment".into(),
                );
            }
            if !(0.0..=1.0).contains(&w) {
                return err(lk, format!("{w} must be in [0, 1]"));
            }
        }
    }
    if let Some(t) = &c.tf {
        if let Some(m) = t.minimum {
            if !(0.0..=1.0).contains(&m) {
                return err(
                    format!("{key}.tf.minimum"),
                    format!("{m} must be a frequency in [0, 1], e.g. 0.001"),
                );
            }
        }
    }
    Ok(())
}
