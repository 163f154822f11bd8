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

//!
//! Each stage owns its part of the vocabulary, defaults and validation: the link type is
//! [`crate::data::LinkType`], transforms [`crate::clean::TransformSpec`], keys and rules
//! [`crate::block::rule`], predicates, levels, comparisons and builders [`crate::compare::level`]
//! and [`crate::compare::library`], the training plan [`crate::model::plan`]. This module only
//! composes them: it parses, validates with key paths, expands builders, and holds the
//! fitted-model schema ([`fitted`]). The stage types are re-exported here under their settings
//! names.

pub mod fitted;

use serde::{Deserialize, Serialize};

pub use crate::block::{BlockingRule, DerivedKey, KeySpec, validate_keys};
pub use crate::clean::TransformSpec;
pub use crate::compare::{
    Builder, ComparisonSpec, JwConfig, LevelSpec, MAX_COMPARISONS, MAX_LEVELS, Predicate, TfMode,
    TfOptions,
};
pub use crate::data::{InputDescription, LinkType};
use crate::error::{Error, Result};
pub use crate::model::plan::{
    Algorithm, DeterministicLambda, EmSession, LambdaSpec, Prior, Training, USpec,
};

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
    /// Per-input descriptions (`[[input]]`: path or source name, id column, renames, delimiter,
    /// date formats, missing tokens; see [`InputDescription`]); default none, every input then
    /// read with the defaults. Relative paths are relative to the settings file.
    #[serde(default, rename = "input", skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<InputDescription>,
    /// The largest share of a date or numeric comparison's values in one input that may fail to
    /// parse before a run stops (`--max-unparsed` overrides it); default 0.05. Unparsed values
    /// are compared as missing either way, and reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unparsed: Option<f64>,
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
            message: format!(
                "{e}; expected a model.json written by `fellegi train` or `fellegi link`"
            ),
        })?;
        s.normalise();
        s.validate(origin)?;
        Ok(s)
    }

    /// Reads settings from a file: `.json` as a model, anything else as TOML.
    ///
    /// # Errors
    /// [`Error::Io`] if unreadable, [`Error::Parse`] naming the line and column of the first byte
    /// that is not UTF-8, else as [`Settings::from_toml`].
    pub fn from_path(path: &std::path::Path) -> Result<Settings> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let origin = path.display().to_string();
        let text = String::from_utf8(bytes).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            let bytes = e.as_bytes();
            let line = 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count();
            let col = 1 + at
                - bytes[..at]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1);
            Error::Parse {
                origin: origin.clone(),
                message: format!(
                    "line {line}, column {col}: not valid UTF-8; save the settings as UTF-8"
                ),
            }
        })?;
        let mut s = if path.extension().is_some_and(|e| e == "json") {
            Settings::from_json(&text, &origin)?
        } else {
            Settings::from_toml(&text, &origin)?
        };
        let dir = path.parent().unwrap_or(std::path::Path::new(""));
        for c in &mut s.comparisons {
            if let Some(p) = c.tf.as_mut().and_then(|t| t.lookup.as_mut()) {
                if p.is_relative() {
                    let joined = dir.join(&*p);
                    *p = std::path::absolute(&joined).unwrap_or(joined);
                }
            }
        }
        for input in &mut s.inputs {
            if let Some(p) = &input.path {
                if p.is_relative() {
                    let joined = dir.join(p);
                    input.path = Some(std::path::absolute(&joined).unwrap_or(joined));
                }
            }
        }
        Ok(s)
    }

    /// The form each date-compared column's comparisons expect: (column, the comparison's
    /// `date_format`, default `%Y%m%d`), for comparisons with a `date_format` or a
    /// `date_diff_days_at_most` level. Dates of those columns in inputs with their own
    /// `date_format` are rewritten into it at load.
    pub fn date_targets(&self) -> Vec<(String, crate::compare::date::DateFormat)> {
        let mut out: Vec<(String, crate::compare::date::DateFormat)> = Vec::new();
        for c in &self.comparisons {
            let dated = c.date_format.is_some()
                || c.levels
                    .iter()
                    .any(|l| matches!(l.predicate, Predicate::DateDiffDaysAtMost(_)));
            if !dated || out.iter().any(|(col, _)| *col == c.column) {
                continue;
            }
            let f = c
                .date_format
                .as_deref()
                .and_then(|f| f.parse().ok())
                .unwrap_or(crate::compare::date::DateFormat::Ymd);
            out.push((c.column.clone(), f));
        }
        out
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
            c.expand_builder(origin, &format!("comparison[{ci}]"))?;
        }
        Ok(out)
    }

    /// Checks ranges and shapes, naming the key path of the first problem: the top-level keys
    /// here, then each stage's own part ([`validate_keys`] for blocking rules,
    /// [`Training::validate`], [`ComparisonSpec::validate`], [`Training::check_algorithm`]).
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
        if let Some(m) = self.max_unparsed {
            if !(0.0..=1.0).contains(&m) {
                return err(
                    "max_unparsed".into(),
                    format!("{m} must be a share in [0, 1], e.g. 0.05"),
                );
            }
        }
        if let Some(l) = self.lambda {
            if !(l > 0.0 && l < 1.0) {
                return err("lambda".into(), format!("{l} must be in (0, 1)"));
            }
        }
        for (bi, b) in self.blocking.iter().enumerate() {
            validate_keys(origin, &format!("blocking[{bi}].keys"), &b.keys)?;
        }
        self.training.validate(origin)?;
        let used = self.columns_used();
        let mut sources = std::collections::BTreeSet::new();
        for (i, input) in self.inputs.iter().enumerate() {
            let key = format!("input[{i}]");
            input.validate(origin, &key)?;
            if let Some(src) = &input.source {
                if !sources.insert(src.clone()) {
                    return err(
                        format!("{key}.source"),
                        format!(
                            "two inputs are named `{src}`; records are keyed by (source, id), so give each its own name"
                        ),
                    );
                }
            }
            for col in input.date_format.keys() {
                if !used.iter().any(|(c, _)| c == col) {
                    return err(
                        format!("{key}.date_format.{col}"),
                        format!(
                            "no comparison, transform or blocking rule reads `{col}`; name a column the settings use (after `rename`)"
                        ),
                    );
                }
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
            if self.truth.as_deref() == Some(c.column.as_str()) {
                return err(
                    format!("{key}.column"),
                    format!(
                        "`{}` is the truth column, used only for evaluation and never as a matching feature: compare another column, or set truth = \"\" to use it as one",
                        c.column
                    ),
                );
            }
            c.validate(origin, &key)?;
            if self.exhaustive && c.missing == crate::compare::Missing::BothNull {
                return err(
                    format!("{key}.missing"),
                    "missing = \"both_null\" is not supported with exhaustive linkage (its pair counting gives every pair with a missing value the null level): use blocking, or missing = \"at_random\" / \"disagreement\"".into(),
                );
            }
            if c.term_frequency_adjustments && self.exhaustive {
                return err(
                    format!("{key}.term_frequency_adjustments"),
                    "exhaustive linkage scores whole patterns, and term-frequency adjustments are per pair: use [[blocking]] rules, or drop the adjustment".into(),
                );
            }
        }
        self.check_algorithm(origin)
    }

    /// Checks that the plan suits `training.algorithm` ([`Training::check_algorithm`]).
    ///
    /// # Errors
    /// [`Error::Settings`] naming the first offending key and how to fix it.
    pub fn check_algorithm(&self, origin: &str) -> Result<()> {
        self.training.check_algorithm(&self.comparisons, origin)
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
