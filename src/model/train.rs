//! Training: λ, u and m following the plan in [`super::plan::Training`].
//!
//! As in Splink: λ from deterministic rules with an assumed recall (or a value, or EM on the
//! prediction candidates); u from seeded random sampling of admissible pairs; m from one or more
//! EM sessions, each over the pairs of one training blocking rule, in which the comparisons of the
//! columns the rule names are not estimated (inside the block they would all agree). A session
//! keeps u fixed unless told otherwise, starts from the blocking-adjusted λ and never writes its
//! within-block λ back as the global λ. A level trained in several sessions takes the median of
//! its session estimates (then each comparison's m is renormalised).
//!
//! Every session starts from `training.lambda_start` when given (else the global λ, else 1e-4)
//! and runs the estimator `training.algorithm` names: plain EM ([`super::em`]) or Haber's AS 207
//! as R RecordLinkage ([`super::loglinear`]; its requirements are checked by
//! [`Training::check_algorithm`] before any work).
//!
//! Training never enumerates pairs itself: it asks a [`PairSource`] (the seam between candidate
//! generation and estimation) for the pattern counts of each session, the level counts of the u
//! sample and the number of pairs deterministic rules accept. `fellegi::pipeline` provides the
//! sources for blocked and exhaustive linkage.

use super::em::{self, EmOptions};
use super::loglinear::{self, As207Options};
use super::plan::{Algorithm, DeterministicLambda, EmSession, LambdaSpec, Training};
use super::{FitInfo, FsParams, InputDigest, SessionFit, normalise};
use crate::block::{BlockingRule, KeySpec};
use crate::compare::sample::LevelCounts;
use crate::compare::{Comparer, ComparisonSpec, PatternCounts, Predicate};
use crate::data::LinkType;
use crate::error::{Error, Result};
use crate::progress::Progress;

/// A fitted model: parameters plus how they were obtained.
#[derive(Debug, Clone)]
pub struct Fitted {
    /// λ, m and u.
    pub params: FsParams,
    /// The fit record written into `model.json`.
    pub fit: FitInfo,
}

fn columns_of(rule: &[KeySpec]) -> Vec<&str> {
    rule.iter().map(KeySpec::column).collect()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// What training reads from the settings: the link type, the plan, the (expanded) comparisons
/// and the prediction blocking rules (the candidates of a session without its own rule).
#[derive(Debug, Clone, Copy)]
pub struct TrainSpec<'a> {
    /// The link type.
    pub link_type: LinkType,
    /// The training plan.
    pub plan: &'a Training,
    /// The comparisons, every level explicit.
    pub comparisons: &'a [ComparisonSpec],
    /// The prediction blocking rules.
    pub blocking: &'a [BlockingRule],
}

/// Where training gets its pairs: the seam between candidate generation (blocking, exhaustive
/// counting, sampling) and estimation. Every method is deterministic for given arguments.
pub trait PairSource {
    /// Number of admissible pairs of the inputs under the link type.
    fn admissible_pairs(&self) -> u128;
    /// The inputs' digests, recorded in the fit.
    fn inputs(&self) -> Vec<InputDigest>;
    /// Level counts over the pairs among a seeded random sample of records, about `n_pairs`
    /// admissible pairs (all pairs when there are no more); with `exclude_true_matches`, pairs
    /// of records that share a truth value are left out.
    fn sample_levels(&self, n_pairs: u64, seed: u64, exclude_true_matches: bool) -> LevelCounts;
    /// Level counts over every true pair the link type admits; `None` without truth.
    fn true_pair_levels(&self) -> Option<LevelCounts>;
    /// Number of true pairs the link type admits; `None` without truth.
    fn true_pairs(&self) -> Option<u64>;
    /// Number of distinct pairs agreeing on every key of at least one of `rules`.
    ///
    /// # Errors
    /// As blocking on those rules (unknown column).
    fn rule_pairs(&self, rules: &[Vec<KeySpec>]) -> Result<u64>;
    /// Whether the prediction candidates are every admissible pair (exhaustive linkage); then a
    /// session without its own rule runs on all pairs.
    fn candidates_are_all_pairs(&self) -> bool;
    /// The pattern counts of an EM session: the pairs of its training blocking rule `rule`, or
    /// with `None` the prediction candidates. `session` (from 0) names it in progress messages.
    ///
    /// # Errors
    /// As blocking on the rule (unknown column).
    fn session_counts(&self, session: usize, rule: Option<&[KeySpec]>) -> Result<PatternCounts>;
}

/// u from level counts: levels never observed get half a count so that no weight is infinite;
/// null levels are 1; each comparison is normalised.
pub fn u_from_counts(comparer: &Comparer, counts: &LevelCounts) -> Vec<Vec<f64>> {
    comparer
        .comparisons
        .iter()
        .zip(&counts.counts)
        .map(|(cmp, cnt)| {
            let mut u: Vec<f64> = cnt
                .iter()
                .enumerate()
                .map(|(l, &n)| {
                    if Some(l) == cmp.null_level {
                        1.0
                    } else {
                        (n as f64).max(0.5)
                    }
                })
                .collect();
            normalise(&mut u, cmp.null_level);
            u
        })
        .collect()
}

/// Fits λ, m and u following `spec.plan`, with the pairs `source` provides. The comparer must be
/// compiled from `spec.comparisons`; `seed` seeds the u sample and is recorded in the fit.
///
/// # Errors
/// [`Error::Settings`] when λ cannot be determined from the plan or the plan does not suit
/// `training.algorithm` ([`Training::check_algorithm`]); [`Error::Data`] without admissible
/// pairs; errors of the source (blocking on an unknown column).
pub fn train(
    spec: &TrainSpec<'_>,
    comparer: &Comparer,
    source: &dyn PairSource,
    seed: u64,
    progress: &Progress,
) -> Result<Fitted> {
    let t = spec.plan;
    t.check_algorithm(spec.comparisons, "training")?;
    let link_type = spec.link_type;
    let total = source.admissible_pairs();
    let inputs = source.inputs();
    if total == 0 {
        return Err(Error::Data(format!(
            "no admissible pairs: link type `{}` over {} record(s) in {} source(s)",
            link_type.name(),
            inputs.iter().map(|i| i.records).sum::<u64>(),
            inputs.len()
        )));
    }
    let mut params = FsParams::initial(spec.comparisons, comparer, 1e-4);

    // u by random sampling, unless every u is fixed or u is left to EM.
    let all_u_fixed = spec.comparisons.iter().all(|c| {
        c.levels
            .iter()
            .all(|l| l.fix_u || l.predicate == Predicate::Null)
    });
    let u_from_em = t.u.random_pairs == 0;
    let t_u = std::time::Instant::now();
    let mut sample = None;
    let u_method = if all_u_fixed {
        "fixed in settings".to_string()
    } else if u_from_em {
        "EM".to_string()
    } else {
        let s = source.sample_levels(t.u.random_pairs, seed, false);
        let (compared, sampled) = (s.pairs, s.records);
        set_u(spec, comparer, &mut params, &s);
        sample = Some(s);
        if compared as u128 == total {
            format!("all {compared} admissible pairs")
        } else {
            format!(
                "all {compared} admissible pairs among {sampled} randomly sampled records (seed {seed})"
            )
        }
    };

    progress.phase("u sampling", t_u);
    let t_l = std::time::Instant::now();
    // λ.
    let (lambda, mut lambda_method) = match &t.lambda {
        Some(LambdaSpec::Value(v)) => (Some(*v), format!("fixed at {v}")),
        Some(LambdaSpec::Deterministic(DeterministicLambda {
            deterministic_rules,
            recall,
        })) => {
            let n = source.rule_pairs(deterministic_rules)?;
            let l = ((n as f64 / recall) / total as f64).clamp(super::PROB_FLOOR, 0.5);
            (
                Some(l),
                format!("deterministic rules with recall {recall}: {n} of {total} pairs"),
            )
        }
        None => (None, String::new()),
    };
    if let Some(l) = lambda {
        params.lambda = l;
    }
    progress.phase("lambda", t_l);

    let all_pairs = source.candidates_are_all_pairs();
    let sessions = sessions_of(spec, all_pairs)?;
    let t_s = std::time::Instant::now();
    let mut counts = Vec::with_capacity(sessions.len());
    for (si, s) in sessions.iter().enumerate() {
        counts.push(source.session_counts(si, s.blocking.as_deref())?);
    }
    progress.phase("session pattern counts", t_s);
    let t_e = std::time::Instant::now();
    let ctx = EstimateCtx {
        spec,
        comparer,
        sessions: &sessions,
        total,
        all_pairs,
        seed,
    };
    let est = estimate(&ctx, &params, lambda, &counts)?;
    if let Some(m) = est.lambda_method_from_em.clone() {
        lambda_method = m;
    }
    let Some(lambda) = est.lambda else {
        return Err(no_lambda());
    };
    let mut params = est.params;
    params.lambda = lambda;
    let fits = est.fits;
    progress.phase("EM", t_e);

    let bootstrap = if t.bootstrap > 0 {
        let t_b = std::time::Instant::now();
        let refits: Vec<Option<FsParams>> = {
            use rayon::prelude::*;
            (0..t.bootstrap)
                .into_par_iter()
                .map(|r| {
                    let mut rng = super::bootstrap::replicate_rng(seed, r);
                    let mut p0 = FsParams::initial(spec.comparisons, comparer, 1e-4);
                    if let Some(s) = &sample {
                        let s = super::bootstrap::resample_levels(s, &mut rng);
                        set_u(spec, comparer, &mut p0, &s);
                    }
                    if let Some(l) = est_lambda_given(t, lambda) {
                        p0.lambda = l;
                    }
                    let c: Vec<PatternCounts> = counts
                        .iter()
                        .map(|c| super::bootstrap::resample_patterns(c, &mut rng))
                        .collect();
                    let given = est_lambda_given(t, lambda);
                    let e = estimate(&ctx, &p0, given, &c).ok()?;
                    let mut p = e.params;
                    p.lambda = e.lambda?;
                    Some(p)
                })
                .collect()
        };
        progress.phase("bootstrap", t_b);
        let held = match &t.lambda {
            Some(LambdaSpec::Value(_)) => "; λ is fixed in the settings and held",
            Some(LambdaSpec::Deterministic(_)) => {
                "; λ from deterministic rules is held (the rule count is a census; its assumed recall is not a sampling error)"
            }
            None => "",
        };
        let u_note = if sample.is_some() {
            ", the u sample's level counts per comparison"
        } else {
            ""
        };
        Some(super::bootstrap::BootstrapSummary::of(
            &params,
            refits,
            format!(
                "{} multinomial resamples of the pattern counts of every EM session{u_note}, each refitted with the same plan (seed {seed}); 95 % percentile intervals{held}",
                t.bootstrap
            ),
        ))
    } else {
        None
    };

    let fit = FitInfo {
        tool: format!("fellegi {}", env!("CARGO_PKG_VERSION")),
        seed,
        converged: fits.iter().all(|f| f.converged),
        iterations: fits.iter().map(|f| f.trace.len()).sum(),
        lambda_method,
        u_method,
        inputs,
        sessions: fits,
        bootstrap,
        m_method: None,
    };
    Ok(Fitted { params, fit })
}

/// λ as the settings give it (a value or deterministic rules), which bootstrap replicates hold;
/// `None` when λ comes from EM.
fn est_lambda_given(t: &Training, fitted: f64) -> Option<f64> {
    t.lambda.as_ref().map(|_| fitted)
}

fn no_lambda() -> Error {
    Error::settings(
        "training",
        "training.lambda",
        "λ is not determined: give `lambda = 0.001`, `lambda = { deterministic_rules = [[...]], recall = 0.8 }`, or an EM session without `blocking`",
    )
}

/// Sets every u not fixed in the settings from the u sample's level counts.
fn set_u(spec: &TrainSpec<'_>, comparer: &Comparer, params: &mut FsParams, sample: &LevelCounts) {
    let u = u_from_counts(comparer, sample);
    for (c, uc) in u.into_iter().enumerate() {
        for (l, v) in uc.into_iter().enumerate() {
            if !spec.comparisons[c].levels[l].fix_u {
                params.u[c][l] = v;
            }
        }
    }
}

/// One EM session as training runs it: its rule's label, the comparisons it estimates and its
/// settings.
struct Session {
    label: String,
    active: Vec<bool>,
    blocking: Option<Vec<KeySpec>>,
    fix_u: Option<bool>,
}

/// The EM sessions of the plan (the default one when none is given), checked.
fn sessions_of(spec: &TrainSpec<'_>, all_pairs: bool) -> Result<Vec<Session>> {
    let t = spec.plan;
    let default_session = [EmSession {
        blocking: None,
        fix_u: None,
    }];
    let sessions: &[EmSession] = if t.em.is_empty() {
        &default_session
    } else {
        &t.em
    };
    let mut out = Vec::with_capacity(sessions.len());
    for (si, s) in sessions.iter().enumerate() {
        let (label, fixed_cols): (String, Vec<&str>) = match &s.blocking {
            Some(keys) => (
                keys.iter()
                    .map(KeySpec::describe)
                    .collect::<Vec<_>>()
                    .join(" & "),
                columns_of(keys),
            ),
            None if all_pairs => ("all pairs (exhaustive)".to_string(), Vec::new()),
            None => {
                if spec.blocking.is_empty() {
                    return Err(Error::settings(
                        "training",
                        format!("training.em[{si}].blocking"),
                        "this session has no blocking rule and the settings have no [[blocking]] rules; give one of them",
                    ));
                }
                ("prediction candidates".to_string(), Vec::new())
            }
        };
        let active: Vec<bool> = spec
            .comparisons
            .iter()
            .map(|c| !fixed_cols.contains(&c.column.as_str()))
            .collect();
        out.push(Session {
            label,
            active,
            blocking: s.blocking.clone(),
            fix_u: s.fix_u,
        });
    }
    Ok(out)
}

/// What every run of [`estimate`] shares: the spec, the sessions, the admissible pairs.
#[derive(Clone, Copy)]
struct EstimateCtx<'s, 'a> {
    spec: &'s TrainSpec<'a>,
    comparer: &'s Comparer,
    sessions: &'s [Session],
    total: u128,
    all_pairs: bool,
    seed: u64,
}

/// What the EM sessions estimate.
struct Estimate {
    params: FsParams,
    fits: Vec<SessionFit>,
    lambda: Option<f64>,
    lambda_method_from_em: Option<String>,
}

/// Runs every EM session on its pattern counts from `params` (u and λ already set) and combines
/// their m and u; λ is `lambda` when given, else from the session on the prediction candidates.
fn estimate(
    ctx: &EstimateCtx<'_, '_>,
    params: &FsParams,
    mut lambda: Option<f64>,
    counts: &[PatternCounts],
) -> Result<Estimate> {
    let EstimateCtx {
        spec,
        comparer,
        sessions,
        total,
        all_pairs,
        seed,
    } = *ctx;
    let t = spec.plan;
    let n_c = comparer.len();
    let mut params = params.clone();
    let fixed_m: Vec<Vec<bool>> = spec
        .comparisons
        .iter()
        .map(|c| c.levels.iter().map(|l| l.fix_m).collect())
        .collect();
    let fixed_u: Vec<Vec<bool>> = spec
        .comparisons
        .iter()
        .map(|c| c.levels.iter().map(|l| l.fix_u).collect())
        .collect();
    let u_from_em = t.u.random_pairs == 0;
    let mut m_est: Vec<Vec<Vec<f64>>> = vec![Vec::new(); n_c];
    let mut u_est: Vec<Vec<Vec<f64>>> = vec![Vec::new(); n_c];
    let mut fits = Vec::new();
    let mut lambda_method_from_em = None;
    for (si, (s, counts)) in sessions.iter().zip(counts).enumerate() {
        let active = &s.active;
        let pairs = counts.total();
        // Blocking-adjusted starting λ: the global prior odds times the Bayes factors of the
        // fixed comparisons at their exact level (Splink's adjustment).
        let mut init = params.clone();
        let start_lambda = t.lambda_start.or(lambda).unwrap_or(1e-4);
        let mut odds = start_lambda / (1.0 - start_lambda);
        for (c, on) in active.iter().enumerate() {
            if !on {
                let preds = &comparer.comparisons[c].predicates;
                if let Some(l) = preds
                    .iter()
                    .position(|p| *p == Predicate::Exact)
                    .or_else(|| preds.iter().position(|p| *p != Predicate::Null))
                {
                    odds *= params.m[c][l].max(super::PROB_FLOOR)
                        / params.u[c][l].max(super::PROB_FLOOR);
                }
            }
        }
        init.lambda = (odds / (1.0 + odds)).clamp(1e-6, 0.99);
        let opt = EmOptions {
            max_iterations: t.max_iterations,
            tolerance: t.tolerance,
            active: active.clone(),
            fix_u: s.fix_u.unwrap_or(!u_from_em),
            fix_lambda: false,
            fixed_m: fixed_m.clone(),
            fixed_u: fixed_u.clone(),
            prior_lambda: t.prior.and_then(|p| p.lambda),
            prior_m: t.prior.map_or(1.0, |p| p.m),
            prior_u: t.prior.map_or(1.0, |p| p.u),
        };
        let fit_from = |start: &FsParams| -> Result<em::EmResult> {
            match t.algorithm {
                Algorithm::Em => Ok(em::run(counts, start, &opt)),
                Algorithm::As207 => loglinear::run(
                    counts,
                    start,
                    &As207Options {
                        max_iterations: t.max_iterations,
                        tolerance: t.tolerance,
                        ..As207Options::default()
                    },
                ),
                Algorithm::Vabl | Algorithm::Fabl => Err(Error::settings(
                    "settings",
                    "training.algorithm",
                    format!(
                        "`{}` estimates the one-to-one matching of two sources with every pair and is run by `fellegi link` (pipeline::link), not as an EM session",
                        t.algorithm.name()
                    ),
                )),
            }
        };
        let (res, starts) = if t.em_starts > 1 {
            let ms = em::run_starts(
                counts,
                &init,
                &opt,
                t.em_starts,
                |k| {
                    super::bootstrap::derive_seed(
                        seed,
                        super::bootstrap::EM_START_STREAM,
                        ((si as u64) << 32) | k as u64,
                    )
                },
                fit_from,
            )?;
            (ms.best, ms.starts)
        } else {
            (fit_from(&init)?, Vec::new())
        };
        for c in 0..n_c {
            if active[c] {
                m_est[c].push(res.params.m[c].clone());
                if !opt.fix_u {
                    u_est[c].push(res.params.u[c].clone());
                }
            }
        }
        let sets_lambda = s.blocking.is_none() && lambda.is_none();
        if sets_lambda {
            let l = (res.params.lambda * pairs as f64 / total as f64).clamp(super::PROB_FLOOR, 0.5);
            lambda = Some(l);
            lambda_method_from_em = Some(if all_pairs {
                format!("EM on all {total} admissible pairs (exhaustive)")
            } else {
                format!("EM on the prediction candidates: {pairs} pairs, scaled to all {total}")
            });
        }
        fits.push(SessionFit {
            blocking: s.label.clone(),
            pairs,
            patterns: counts.len(),
            estimated: spec
                .comparisons
                .iter()
                .zip(active)
                .filter(|(_, a)| **a)
                .map(|(c, _)| c.output_name().to_string())
                .collect(),
            converged: res.converged,
            lambda_in_block: res.params.lambda,
            trace: res.trace,
            sets_lambda,
            starts,
        });
    }
    for (c, ests) in m_est.iter().enumerate() {
        combine(&mut params.m[c], ests, &fixed_m[c], params.null_level[c]);
    }
    for (c, ests) in u_est.iter().enumerate() {
        combine(&mut params.u[c], ests, &fixed_u[c], params.null_level[c]);
    }
    Ok(Estimate {
        params,
        fits,
        lambda,
        lambda_method_from_em,
    })
}

/// One step of a replay of the fitted EM trace ([`replay`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayStep {
    /// The session (index into `fit.sessions`); `None` for the starting values.
    pub session: Option<usize>,
    /// The iteration within the session, from 1; 0 for the starting values.
    pub iteration: usize,
    /// The model's parameters after this iteration.
    pub params: FsParams,
    /// The session's log-likelihood (natural log) before this iteration's M-step; `None` for
    /// the starting values.
    pub log_likelihood: Option<f64>,
}

/// Replays a fitted model's EM trace (model.json's `fit.sessions[].trace`) as the model's
/// parameters after every iteration of every session, in the order training ran them.
///
/// The first step is the starting point: m from `start` (the settings' starting values,
/// [`FsParams::initial`]), u and λ as fitted. At iteration i of session s, each comparison the
/// session estimates takes the combination training makes (the median per level of the session
/// estimates, renormalised, as at the end of [`train`]) of the final estimates of the sessions
/// before s and the session's iterate i; a session that sets the global λ (`sets_lambda`) gives
/// its iterate's λ scaled from its pairs to the `total` admissible pairs. After the last
/// iteration of the last session the parameters are therefore training's own. A session that
/// re-estimates u (`fix_u = false`) replays u the same way.
///
/// Returns `None` when a session's trace lacks per-iteration parameters (traces of
/// `algorithm = "as207"` and model.json files written before they were recorded), when the
/// shapes do not match `comparisons`, or when the replay does not end exactly at `fitted` (m
/// set after EM, as from clerical labels).
pub fn replay(
    fit: &FitInfo,
    comparisons: &[ComparisonSpec],
    start: &FsParams,
    fitted: &FsParams,
    total: u128,
) -> Option<Vec<ReplayStep>> {
    let n_c = comparisons.len();
    if fit.sessions.is_empty() || start.m.len() != n_c || fitted.m.len() != n_c {
        return None;
    }
    let index: Vec<Vec<usize>> = fit
        .sessions
        .iter()
        .map(|s| {
            s.estimated
                .iter()
                .map(|name| comparisons.iter().position(|c| c.output_name() == name))
                .collect::<Option<Vec<usize>>>()
        })
        .collect::<Option<_>>()?;
    for (s, idx) in fit.sessions.iter().zip(&index) {
        if s.trace.is_empty()
            || s.trace
                .iter()
                .any(|t| t.m.len() != idx.len() || !(t.u.is_empty() || t.u.len() == idx.len()))
        {
            return None;
        }
    }
    let fixed = |f: fn(&crate::compare::LevelSpec) -> bool| -> Vec<Vec<bool>> {
        comparisons
            .iter()
            .map(|c| c.levels.iter().map(f).collect())
            .collect()
    };
    let (fixed_m, fixed_u) = (fixed(|l| l.fix_m), fixed(|l| l.fix_u));
    let mut cur = FsParams {
        lambda: fitted.lambda,
        m: start.m.clone(),
        u: fitted.u.clone(),
        null_level: fitted.null_level.clone(),
    };
    let mut m_done: Vec<Vec<Vec<f64>>> = vec![Vec::new(); n_c];
    let mut u_done: Vec<Vec<Vec<f64>>> = vec![Vec::new(); n_c];
    let mut out = vec![ReplayStep {
        session: None,
        iteration: 0,
        params: cur.clone(),
        log_likelihood: None,
    }];
    for (si, (s, idx)) in fit.sessions.iter().zip(&index).enumerate() {
        for (it, t) in s.trace.iter().enumerate() {
            for (k, &c) in idx.iter().enumerate() {
                let mut ests = m_done[c].clone();
                ests.push(t.m[k].clone());
                cur.m[c] = start.m[c].clone();
                combine(&mut cur.m[c], &ests, &fixed_m[c], cur.null_level[c]);
                if !t.u.is_empty() {
                    let mut ests = u_done[c].clone();
                    ests.push(t.u[k].clone());
                    // The starting u of a re-estimated comparison: the fitted u is all there
                    // is (its fixed levels are the sampled values training kept).
                    cur.u[c] = fitted.u[c].clone();
                    combine(&mut cur.u[c], &ests, &fixed_u[c], cur.null_level[c]);
                }
            }
            if s.sets_lambda && total > 0 {
                cur.lambda =
                    (t.lambda * s.pairs as f64 / total as f64).clamp(super::PROB_FLOOR, 0.5);
            }
            out.push(ReplayStep {
                session: Some(si),
                iteration: it + 1,
                params: cur.clone(),
                log_likelihood: Some(t.log_likelihood),
            });
        }
        let last = s.trace.last()?;
        for (k, &c) in idx.iter().enumerate() {
            m_done[c].push(last.m[k].clone());
            if !last.u.is_empty() {
                u_done[c].push(last.u[k].clone());
            }
        }
    }
    // A replay that does not arrive at the fitted model (m replaced after EM, e.g. from
    // clerical labels) would misrepresent it.
    let end = &out.last()?.params;
    (end.lambda == fitted.lambda && end.m == fitted.m && end.u == fitted.u).then_some(out)
}

/// Median of session estimates per level; fixed levels keep their value; free levels are then
/// renormalised to the mass the fixed ones leave.
fn combine(target: &mut [f64], ests: &[Vec<f64>], fixed: &[bool], null: Option<usize>) {
    if ests.is_empty() {
        return;
    }
    let mut free_sum = 0.0;
    let mut fixed_sum = 0.0;
    for l in 0..target.len() {
        if Some(l) == null {
            continue;
        }
        if fixed[l] {
            fixed_sum += target[l];
        } else {
            let mut v: Vec<f64> = ests.iter().map(|e| e[l]).collect();
            target[l] = median(&mut v);
            free_sum += target[l];
        }
    }
    if free_sum > 0.0 {
        let scale = (1.0 - fixed_sum).max(0.0) / free_sum;
        for l in 0..target.len() {
            if Some(l) != null && !fixed[l] {
                target[l] *= scale;
            }
        }
    }
}

/// The oracle ceiling for comparisons with unsupervised estimation: λ = true pairs / admissible
/// pairs, m from every true pair (enumerated per entity, whether blocking finds it or not), u from
/// random pairs with the true matches left out. It reads the truth column, so it is a benchmark
/// upper bound, never a way to link real data. Levels never observed get half a count, as in
/// [`u_from_counts`].
///
/// # Errors
/// [`Error::Data`] without a truth column or without true pairs.
pub fn oracle(
    spec: &TrainSpec<'_>,
    comparer: &Comparer,
    source: &dyn PairSource,
    seed: u64,
) -> Result<Fitted> {
    let (Some(true_pairs), Some(true_levels)) = (source.true_pairs(), source.true_pair_levels())
    else {
        return Err(Error::Data(
            "the oracle needs a truth column in the inputs".into(),
        ));
    };
    let total = source.admissible_pairs();
    if true_pairs == 0 || total == 0 {
        return Err(Error::Data(
            "the oracle needs at least one true pair".into(),
        ));
    }
    let mut params =
        FsParams::initial(spec.comparisons, comparer, true_pairs as f64 / total as f64);
    // m: the levels of every true pair, with the same half-count floor as u.
    params.m = u_from_counts(comparer, &true_levels);
    let n_pairs = spec.plan.u.random_pairs.max(1_000_000);
    let sample = source.sample_levels(n_pairs, seed, true);
    let (compared, sampled) = (sample.pairs, sample.records);
    params.u = u_from_counts(comparer, &sample);
    let fit = FitInfo {
        tool: format!("fellegi {}", env!("CARGO_PKG_VERSION")),
        seed,
        converged: true,
        iterations: 0,
        lambda_method: format!("oracle: {true_pairs} true pairs of {total} admissible pairs"),
        u_method: format!(
            "oracle: {compared} pairs among {sampled} randomly sampled records (seed {seed}), true matches left out"
        ),
        inputs: source.inputs(),
        sessions: Vec::new(),
        bootstrap: None,
        m_method: None,
    };
    Ok(Fitted { params, fit })
}
