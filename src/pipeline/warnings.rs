//! Runs that speak up: degenerate fits become [`Warning`]s (returned as data, in
//! [`super::LinkRun::warnings`] and metrics.json `warnings`), and clearly broken ones errors.
//!
//! Warnings (code — when):
//! - `deterministic_rule_empty` — a `training.lambda.deterministic_rules` rule gives no pair;
//! - `em_session_empty` — an EM session has no pairs;
//! - `em_no_iterations` — an EM session ran no iteration;
//! - `em_not_converged` — an EM session stopped at `max_iterations` without converging;
//! - `em_starts_disagree` — with `training.em_starts` > 1, a start of an EM session converged
//!   to parameters that differ from the kept start's by more than
//!   [`crate::model::em::MODE_DIFFERENCE`] (or 100 × `training.tolerance`): the likelihood has
//!   more than one optimum (a second mode);
//! - `lambda_at_floor` — λ is at its floor ([`crate::model::PROB_FLOOR`]);
//! - `no_pairs_above_min_probability` — no pair reaches `min_probability`;
//! - `truth_column_missing` — the settings name a truth column that not every input has;
//! - `unparsed_values` — values of a date or numeric comparison that do not parse (see
//!   [`crate::compare::unparsed_values`]).
//!
//! Errors ([`Error::Data`]): no λ evidence at all (every deterministic rule empty, or λ from an
//! EM session on the prediction candidates that has no pairs), and every EM session empty.

use serde::{Deserialize, Serialize};

use super::LinkMethod;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::train::Fitted;
use crate::settings::{DeterministicLambda, LambdaSpec, Settings};

/// One warning about a run: a stable `code` and a message saying what happened and what to check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// Stable identifier, e.g. `em_session_empty`.
    pub code: String,
    /// What happened and what to check.
    pub message: String,
}

impl Warning {
    fn new(code: &str, message: String) -> Warning {
        Warning {
            code: code.to_string(),
            message,
        }
    }
}

/// What to check when pairs never agree.
const CHECK: &str = "check that transforms are applied to the columns of every input alike (not one side only), that the key columns hold comparable values in every file (same case, date format, [[input]] renames), and that the blocking keys ever agree";

/// The warnings of a fitted run, or the error of a clearly broken one.
///
/// # Errors
/// [`Error::Data`] when the fit has no λ evidence at all or every EM session was empty.
pub fn check_fit(
    settings: &Settings,
    method: LinkMethod,
    ds: &Dataset,
    fitted: &Fitted,
) -> Result<Vec<Warning>> {
    let mut out = Vec::new();
    if matches!(method, LinkMethod::Oracle | LinkMethod::RulesOnly) {
        return Ok(out);
    }
    let fit = &fitted.fit;
    if let Some(LambdaSpec::Deterministic(DeterministicLambda {
        deterministic_rules,
        ..
    })) = &settings.training.lambda
    {
        let mut empty = 0;
        for (i, rule) in deterministic_rules.iter().enumerate() {
            if !crate::block::rule_has_pair(ds, rule, settings.link_type)? {
                empty += 1;
                let keys: Vec<String> = rule.iter().map(|k| k.describe()).collect();
                out.push(Warning::new(
                    "deterministic_rule_empty",
                    format!(
                        "training.lambda.deterministic_rules[{i}] ({}) gives 0 pairs; {CHECK}",
                        keys.join(" & ")
                    ),
                ));
            }
        }
        if empty == deterministic_rules.len() && !deterministic_rules.is_empty() {
            return Err(Error::Data(format!(
                "no evidence for λ: none of the {} training.lambda.deterministic_rules gives a pair, so λ would sit at its floor and no pair could link; {CHECK}",
                deterministic_rules.len()
            )));
        }
    }
    let sessions = &fit.sessions;
    if !sessions.is_empty() && sessions.iter().all(|s| s.pairs == 0) {
        return Err(Error::Data(format!(
            "every EM session is empty ({}): EM had no pairs to learn m from; {CHECK}",
            sessions
                .iter()
                .map(|s| format!("`{}` 0 pairs", s.blocking))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let lambda_from_em = settings.lambda.is_none() && settings.training.lambda.is_none();
    for (i, s) in sessions.iter().enumerate() {
        if s.pairs == 0 {
            let on_candidates = settings
                .training
                .em
                .get(i)
                .is_none_or(|e| e.blocking.is_none());
            if lambda_from_em && on_candidates {
                return Err(Error::Data(format!(
                    "no evidence for λ: it comes from EM on the prediction candidates (training.em[{i}]) and there are none; {CHECK}"
                )));
            }
            out.push(Warning::new(
                "em_session_empty",
                format!(
                    "EM session {} (training.em[{i}], blocking `{}`) has 0 pairs, so it estimated nothing; {CHECK}",
                    i + 1,
                    s.blocking
                ),
            ));
        } else if s.trace.is_empty() {
            out.push(Warning::new(
                "em_no_iterations",
                format!(
                    "EM session {} (training.em[{i}], blocking `{}`) ran 0 iterations; check training.max_iterations",
                    i + 1,
                    s.blocking
                ),
            ));
        } else if !s.converged {
            out.push(Warning::new(
                "em_not_converged",
                format!(
                    "EM session {} (training.em[{i}], blocking `{}`) did not converge in {} iterations; raise training.max_iterations or loosen training.tolerance, and check the estimates",
                    i + 1,
                    s.blocking,
                    s.trace.len()
                ),
            ));
        }
    }
    let mode_gap = crate::model::em::MODE_DIFFERENCE.max(100.0 * settings.training.tolerance);
    for (i, s) in sessions.iter().enumerate() {
        let other: Vec<&crate::model::em::StartFit> = s
            .starts
            .iter()
            .filter(|st| !st.kept && st.converged && st.max_difference_from_kept > mode_gap)
            .collect();
        if let (Some(kept), false) = (s.starts.iter().find(|st| st.kept), other.is_empty()) {
            let worst = other
                .iter()
                .map(|st| st.max_difference_from_kept)
                .fold(0.0, f64::max);
            out.push(Warning::new(
                "em_starts_disagree",
                format!(
                    "EM session {} (training.em[{i}], blocking `{}`): {} of {} starts converged to other optima (parameters up to {worst:.3} away; log-likelihoods {} vs the kept start {} at {:.4}); the kept start has the highest likelihood, but check that its m and u make sense (see fit.sessions[{i}].starts in model.json)",
                    i + 1,
                    s.blocking,
                    other.len(),
                    s.starts.len(),
                    other
                        .iter()
                        .map(|st| format!("{:.4}", st.log_likelihood))
                        .collect::<Vec<_>>()
                        .join(", "),
                    kept.start,
                    kept.log_likelihood
                ),
            ));
        }
    }
    if fitted.params.lambda <= crate::model::PROB_FLOOR * (1.0 + 1e-9) {
        out.push(Warning::new(
            "lambda_at_floor",
            format!(
                "λ is at its floor ({:e}: {}): the model expects no matches; {CHECK}",
                crate::model::PROB_FLOOR,
                fit.lambda_method
            ),
        ));
    }
    Ok(out)
}

/// Warnings about the scored pairs and the truth column.
pub fn check_outputs(
    settings: &Settings,
    ds: &Dataset,
    pairs_written: usize,
    min_probability: f64,
) -> Vec<Warning> {
    let mut out = Vec::new();
    if pairs_written == 0 {
        out.push(Warning::new(
            "no_pairs_above_min_probability",
            format!(
                "no pair has match probability >= {min_probability} (--min-probability): pairs.csv is empty and nothing links; {CHECK}"
            ),
        ));
    }
    if let Some(t) = &settings.truth {
        // The default name (`entity_id`) is only looked for; a name the user gave must exist.
        if ds.truth.is_none() && t != "entity_id" {
            out.push(Warning::new(
                "truth_column_missing",
                format!(
                    "truth column `{t}` is not in every input ({}), so nothing is evaluated against the truth and metrics.json holds the model's estimates only; check its spelling, or set truth = \"\"",
                    ds.sources
                        .iter()
                        .map(|s| s.path.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    out
}
