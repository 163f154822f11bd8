//! Library builders for comparisons (`use = "..."`), expanded the way Splink's
//! `comparison_library` does: null, exact, one level per threshold in the given order, else.

use serde::{Deserialize, Serialize};

use super::level::{ComparisonSpec, LevelSpec, MAX_LEVELS, Predicate};
use crate::error::{Error, Result};

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
    /// Whether the builder takes a `thresholds` list (every builder but `exact_match`).
    pub fn needs_thresholds(self) -> bool {
        self != Builder::ExactMatch
    }
}

impl ComparisonSpec {
    /// Replaces a builder (`use = "..."` with `thresholds`) by its explicit levels: null, exact,
    /// one level per threshold in the given order, else. A comparison with explicit levels is
    /// left as it is. `key` is the comparison's key path (e.g. `comparison[2]`) for errors.
    ///
    /// # Errors
    /// [`Error::Settings`] when a builder is given with explicit levels too, lacks thresholds,
    /// or has a threshold that must be a whole number but is not.
    pub fn expand_builder(&mut self, origin: &str, key: &str) -> Result<()> {
        let c = self;
        if let Some(b) = c.builder.take() {
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
                    Builder::LevenshteinAtThresholds => Predicate::LevenshteinAtMost(as_count(t)?),
                    Builder::DamerauLevenshteinAtThresholds => {
                        Predicate::DamerauLevenshteinAtMost(as_count(t)?)
                    }
                    Builder::DateDifferenceAtThresholds => {
                        Predicate::DateDiffDaysAtMost(as_count(t)?)
                    }
                    Builder::NumericDifferenceAtThresholds => Predicate::AbsDiffAtMost(t),
                    Builder::NumericRelativeDifferenceAtThresholds => Predicate::RelDiffAtMost(t),
                };
                levels.push(LevelSpec::new(p));
            }
            levels.push(LevelSpec::new(Predicate::Else));
            if levels.len() > MAX_LEVELS {
                return Err(Error::settings(
                    origin,
                    format!("{key}.thresholds"),
                    format!(
                        "{} thresholds expand to {} levels; at most {MAX_LEVELS} are supported",
                        ts.len(),
                        levels.len()
                    ),
                ));
            }
            c.levels = levels;
        }
        // Missing as disagreement: without a null level a missing value falls to else.
        if c.missing == super::Missing::Disagreement
            && c.levels.first().map(|l| &l.predicate) == Some(&Predicate::Null)
        {
            c.levels.remove(0);
        }
        Ok(())
    }
}
