//! The Fellegi–Sunter lab: every number recomputed from the pattern table for any λ, m, u,
//! threshold and clerical band.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{RunData, page, params_json};
use crate::compare::{PatternCounts, pack};
use crate::error::{Error, Result};
use crate::eval::PairwiseMetrics;
use crate::model::em::{self, EmOptions};
use crate::model::predict::pattern_weight;
use crate::model::{FsParams, PROB_FLOOR};

/// Parameters the lab's sliders set: λ, m and u per comparison and level, the match threshold
/// and the clerical band, both on the match weight (bits).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabParams {
    /// Prior probability that an admissible pair is a match.
    pub lambda: f64,
    /// `m[c][l]`, as in [`FsParams`].
    pub m: Vec<Vec<f64>>,
    /// `u[c][l]`, as in [`FsParams`].
    pub u: Vec<Vec<f64>>,
    /// A pair is a link when its match weight is at least this.
    pub threshold: f64,
    /// Lower end of the clerical band (match weight): pairs with `review_lower ≤ weight <
    /// review_upper` go to clerical review.
    pub review_lower: f64,
    /// Upper end of the clerical band.
    pub review_upper: f64,
}

/// What the lab shows for one set of [`LabParams`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabResult {
    /// Candidate pairs whose weight reaches the threshold.
    pub links: u64,
    /// Candidate pairs in the clerical band.
    pub review: u64,
    /// Pairwise metrics of the links against every true pair the link type admits (those the
    /// blocking never makes candidates count as missed); `None` without truth.
    pub metrics: Option<PairwiseMetrics>,
}

/// The lab's numbers for `p` over the pattern table of `run`: links at the threshold, pairs in
/// the clerical band and (with truth) precision, recall and F1. Weights are the library's
/// ([`pattern_weight`] over [`FsParams::level_weights`] and [`FsParams::prior_weight`]), so the
/// page, which computes the same sums in the same order, shows the same numbers.
///
/// # Errors
/// [`Error::Invalid`] when `m` or `u` do not have one value per comparison and level, or a
/// value is not finite.
pub fn lab_evaluate(run: &RunData<'_>, p: &LabParams) -> Result<LabResult> {
    let shape: Vec<usize> = run.params.m.iter().map(Vec::len).collect();
    let same = |v: &Vec<Vec<f64>>| {
        v.len() == shape.len() && v.iter().zip(&shape).all(|(x, &n)| x.len() == n)
    };
    if !same(&p.m) || !same(&p.u) {
        return Err(Error::invalid(
            "lab parameters",
            format!("m and u need one value per comparison and level: shape {shape:?}"),
        ));
    }
    let finite = [p.lambda, p.threshold, p.review_lower, p.review_upper]
        .iter()
        .chain(p.m.iter().flatten())
        .chain(p.u.iter().flatten())
        .all(|x| x.is_finite());
    if !finite {
        return Err(Error::invalid(
            "lab parameters",
            "every value must be a finite number",
        ));
    }
    let fs = FsParams {
        lambda: p.lambda,
        m: p.m.clone(),
        u: p.u.clone(),
        null_level: run.params.null_level.clone(),
    };
    let (prior, lw) = (fs.prior_weight(), fs.level_weights());
    let (mut links, mut review, mut tp) = (0u64, 0u64, 0u64);
    for row in &run.table.rows {
        let w = pattern_weight(prior, &lw, &row.levels);
        if w >= p.threshold {
            links += row.count;
            tp += row.true_matches.unwrap_or(0);
        }
        if w >= p.review_lower && w < p.review_upper {
            review += row.count;
        }
    }
    let metrics = run
        .true_pairs
        .map(|t| PairwiseMetrics::from_counts(tp, links - tp, t.saturating_sub(tp)));
    Ok(LabResult {
        links,
        review,
        metrics,
    })
}

/// What the lab embeds besides the run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabOptions {
    /// The oracle's parameters (from the truth), for "reset to truth"; `None` hides the button.
    pub oracle: Option<FsParams>,
    /// EM replay steps (see [`em_replay`]); empty hides the replay.
    pub replay: Vec<ReplayStep>,
    /// Where the replay comes from.
    pub replay_source: Option<ReplaySource>,
}

/// One step of the EM replay: the model's parameters after an iteration, with λ as a global
/// prior.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayStep {
    /// What the step is, for the page: e.g. `session 2 of 3 (blocking dob), iteration 4 of 9`.
    pub label: String,
    /// Global λ.
    pub lambda: f64,
    /// m after the step.
    pub m: Vec<Vec<f64>>,
    /// u after the step.
    pub u: Vec<Vec<f64>>,
    /// Log-likelihood (natural log) of the session's counts before the step's M-step; NaN for
    /// the starting values.
    pub log_likelihood: f64,
}

/// Where an EM replay comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplaySource {
    /// The fitted model's own trace (model.json `fit.sessions[].trace`), every session and
    /// iteration in training order ([`crate::model::train::replay`]); its last step is the
    /// fitted model.
    FittedTrace,
    /// A fresh EM run over the run's candidate pairs, for models whose trace has no
    /// per-iteration parameters (AS 207, labels, model.json from before they were recorded).
    Candidates,
}

/// The EM replay of a run: the fitted model's own trace when it holds per-iteration m and u
/// ([`crate::model::train::replay`]: from the default starting m (model.json keeps the
/// fitted m, not starting values the settings gave) through every iteration of every session,
/// ending at the fitted λ, m and u), else [`candidates_replay`] with at most `max_iterations`
/// steps.
pub fn em_replay(run: &RunData<'_>, max_iterations: usize) -> (ReplaySource, Vec<ReplayStep>) {
    if let Some(steps) = fitted_replay(run) {
        return (ReplaySource::FittedTrace, steps);
    }
    (
        ReplaySource::Candidates,
        candidates_replay(run, max_iterations),
    )
}

fn fitted_replay(run: &RunData<'_>) -> Option<Vec<ReplayStep>> {
    let fit = run.model.fit.as_ref()?;
    let start = default_start(run, run.params.lambda);
    let total = crate::block::total_pairs(run.model.link_type, &run.ds.source_sizes());
    let steps =
        crate::model::train::replay(fit, &run.model.comparisons, &start, &run.params, total)?;
    let n = fit.sessions.len();
    Some(
        steps
            .into_iter()
            .map(|st| {
                let label = match st.session {
                    None => "starting values".to_string(),
                    Some(s) => format!(
                        "session {} of {n} ({}), iteration {} of {}",
                        s + 1,
                        fit.sessions[s].blocking,
                        st.iteration,
                        fit.sessions[s].trace.len()
                    ),
                };
                ReplayStep {
                    label,
                    lambda: st.params.lambda,
                    m: st.params.m,
                    u: st.params.u,
                    log_likelihood: st.log_likelihood.unwrap_or(f64::NAN),
                }
            })
            .collect(),
    )
}

/// The settings' default starting values ([`FsParams::initial`]) with λ = `lambda`: the fitted
/// model's levels hold fitted m and u, so only the fixed ones are kept.
fn default_start(run: &RunData<'_>, lambda: f64) -> FsParams {
    let mut stripped = run.model.comparisons.clone();
    for c in &mut stripped {
        for l in &mut c.levels {
            if !l.fix_m {
                l.m = None;
            }
            if !l.fix_u {
                l.u = None;
            }
        }
    }
    FsParams::initial(&stripped, &run.comparer, lambda)
}

/// An EM replay over the run's candidate pairs (the lab's pattern table), one step per
/// iteration: m starts from the settings' default starting values ([`FsParams::initial`]), u
/// stays at the fitted u (Splink's default when u comes from sampling), λ starts from the
/// fitted λ scaled to the candidates; at most `max_iterations` steps, fewer when EM converges
/// (tolerance 1e-4). The fallback of [`em_replay`] when the fitted trace cannot be replayed.
pub fn candidates_replay(run: &RunData<'_>, max_iterations: usize) -> Vec<ReplayStep> {
    let n_c = run.comparer.len();
    let mut map: rustc_hash::FxHashMap<u128, u64> = Default::default();
    for row in &run.table.rows {
        *map.entry(pack(&row.levels)).or_insert(0) += row.count;
    }
    let counts = PatternCounts::from_map(n_c, map);
    let candidates = counts.total() as f64;
    let admissible = crate::block::total_pairs(run.model.link_type, &run.ds.source_sizes()) as f64;
    if candidates == 0.0 || admissible == 0.0 {
        return Vec::new();
    }
    let scale = candidates / admissible;
    let mut cur = default_start(run, (run.params.lambda / scale).clamp(1e-6, 0.99));
    cur.u = run.params.u.clone();
    let levels: Vec<usize> = cur.m.iter().map(Vec::len).collect();
    let opt = EmOptions {
        max_iterations: 1,
        fix_u: true,
        ..EmOptions::all_free(&levels)
    };
    let step = |p: &FsParams, ll: f64, i: usize| ReplayStep {
        label: if i == 0 {
            "starting values".to_string()
        } else {
            format!("EM on the candidates, iteration {i}")
        },
        lambda: (p.lambda * scale).clamp(PROB_FLOOR, 1.0 - PROB_FLOOR),
        m: p.m.clone(),
        u: p.u.clone(),
        log_likelihood: ll,
    };
    let mut out = vec![step(&cur, f64::NAN, 0)];
    for i in 0..max_iterations {
        let res = em::run(&counts, &cur, &opt);
        let ll = res.trace.first().map_or(f64::NAN, |t| t.log_likelihood);
        cur = res.params;
        out.push(step(&cur, ll, i + 1));
        if res.converged {
            break;
        }
    }
    out
}

/// The lab's data: the common header, the pattern rows (`levels`, `count`, `true`), the EM and
/// oracle parameters, the replay and the fitted trace (λ and log-likelihood per iteration).
pub fn lab_data(run: &RunData<'_>, opt: &LabOptions) -> Value {
    let mut o = run.common_json();
    let rows: Vec<Value> = run
        .table
        .rows
        .iter()
        .map(|r| json!([r.levels, r.count, r.true_matches]))
        .collect();
    o.insert("patterns".into(), Value::Array(rows));
    o.insert("em".into(), params_json(&run.params));
    o.insert("oracle".into(), json!(opt.oracle.as_ref().map(params_json)));
    let replay: Vec<Value> = opt
        .replay
        .iter()
        .map(|s| {
            json!({
                "label": s.label, "lambda": s.lambda, "m": s.m, "u": s.u,
                "ll": if s.log_likelihood.is_finite() { json!(s.log_likelihood) } else { Value::Null },
            })
        })
        .collect();
    o.insert("replay".into(), Value::Array(replay));
    o.insert("replay_source".into(), json!(opt.replay_source));
    let trace: Vec<Value> = run
        .model
        .fit
        .iter()
        .flat_map(|f| &f.sessions)
        .map(|s| {
            json!({
                "blocking": s.blocking,
                "estimated": s.estimated,
                "lambda": s.trace.iter().map(|t| t.lambda).collect::<Vec<_>>(),
                "ll": s.trace.iter().map(|t| t.log_likelihood).collect::<Vec<_>>(),
            })
        })
        .collect();
    o.insert("sessions".into(), Value::Array(trace));
    let threshold = crate::model::weight_of_probability(run.threshold.clamp(1e-9, 1.0 - 1e-9));
    o.insert("threshold_weight".into(), json!(threshold));
    Value::Object(o)
}

/// The lab page.
pub fn lab_html(run: &RunData<'_>, opt: &LabOptions) -> String {
    page(
        &format!("{} — Fellegi–Sunter lab", run.title),
        &lab_data(run, opt),
        include_str!("assets/lab.js"),
    )
}
