//! Expectation–maximisation over counts of unique comparison patterns, in log space.
//!
//! Each iteration costs O(#patterns × #comparisons), however many pairs were counted. Null levels
//! drop out of both the m and the u updates (missing at random, as in fastLink). Comparisons that
//! are not `active` (those a training blocking rule fixes) are left out of the likelihood and keep
//! their parameters. Non-convergence is recorded (`converged: false`), not raised. With priors
//! (a Beta on λ, symmetric Dirichlets on m and u; `training.prior`) the M-step is the maximum a
//! posteriori one: each count gains the prior's pseudo-counts (α − 1), as in fastLink; the
//! log-likelihood in the trace stays that of the data.
//!
//! # References
//! - Dempster, A. P., Laird, N. M. & Rubin, D. B. (1977). Maximum likelihood from incomplete data
//!   via the EM algorithm. *JRSS B* 39(1), 1–38.
//! - Winkler, W. E. (1988), and Enamorado, Fifield & Imai (2019), as in [`crate::model`].

use serde::{Deserialize, Serialize};

use super::{FsParams, PROB_FLOOR};
use crate::compare::PatternCounts;

/// Options of one EM run.
#[derive(Debug, Clone)]
pub struct EmOptions {
    /// Iteration limit; default 25.
    pub max_iterations: usize,
    /// Converged when no parameter moves more than this; default 1e-4.
    pub tolerance: f64,
    /// Per comparison: estimated (true) or left out of the likelihood (false).
    pub active: Vec<bool>,
    /// Keep every u fixed (Splink's default when u comes from random sampling).
    pub fix_u: bool,
    /// Keep λ fixed.
    pub fix_lambda: bool,
    /// Per comparison and level: m held fixed.
    pub fixed_m: Vec<Vec<bool>>,
    /// Per comparison and level: u held fixed.
    pub fixed_u: Vec<Vec<bool>>,
    /// Beta(α, β) prior on λ (maximum a posteriori M-step); `None`: none.
    pub prior_lambda: Option<[f64; 2]>,
    /// Symmetric Dirichlet concentration on the m probabilities of each comparison's estimated
    /// non-null levels; 1 is none.
    pub prior_m: f64,
    /// As `prior_m`, for the u probabilities.
    pub prior_u: f64,
}

impl EmOptions {
    /// Every comparison active, nothing fixed, Splink's default limits.
    pub fn all_free(levels: &[usize]) -> EmOptions {
        EmOptions {
            max_iterations: 25,
            tolerance: 1e-4,
            active: vec![true; levels.len()],
            fix_u: false,
            fix_lambda: false,
            fixed_m: levels.iter().map(|&n| vec![false; n]).collect(),
            fixed_u: levels.iter().map(|&n| vec![false; n]).collect(),
            prior_lambda: None,
            prior_m: 1.0,
            prior_u: 1.0,
        }
    }
}

/// One iteration of the trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmIteration {
    /// λ after the M-step.
    pub lambda: f64,
    /// Log-likelihood (natural log) of the counts under the parameters before the M-step.
    pub log_likelihood: f64,
    /// Largest absolute change of any estimated parameter in this iteration (with
    /// [`super::loglinear`]: of any fitted pattern count, in pairs).
    pub max_change: f64,
    /// m after the M-step, one row per estimated (active) comparison in comparison order (the
    /// session's `estimated` list), one value per level. Empty in traces of [`super::loglinear`]
    /// and in model.json files written before it was recorded. With it, the fitted trace can be
    /// replayed step by step ([`super::train::replay`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub m: Vec<Vec<f64>>,
    /// u after the M-step, rows as [`Self::m`]; empty when the session kept u fixed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub u: Vec<Vec<f64>>,
}

/// Result of an EM run.
#[derive(Debug, Clone)]
pub struct EmResult {
    /// Final parameters.
    pub params: FsParams,
    /// One entry per iteration.
    pub trace: Vec<EmIteration>,
    /// Whether the change fell below the tolerance within the iteration limit.
    pub converged: bool,
}

/// Posterior match probability of every pattern under `params` (active comparisons only).
pub fn posteriors(counts: &PatternCounts, params: &FsParams, active: &[bool]) -> Vec<f64> {
    let ll = params.lambda.clamp(PROB_FLOOR, 1.0 - PROB_FLOOR);
    let (lm0, lu0) = (ll.ln(), (1.0 - ll).ln());
    (0..counts.len())
        .map(|p| {
            let (mut lm, mut lu) = (lm0, lu0);
            for (c, &on) in active.iter().enumerate() {
                if on {
                    let l = counts.level(p, c) as usize;
                    lm += params.m[c][l].max(PROB_FLOOR).ln();
                    lu += params.u[c][l].max(PROB_FLOOR).ln();
                }
            }
            1.0 / (1.0 + (lu - lm).exp())
        })
        .collect()
}

/// Runs EM from `init` on `counts`.
pub fn run(counts: &PatternCounts, init: &FsParams, opt: &EmOptions) -> EmResult {
    let mut p = init.clone();
    let mut trace = Vec::new();
    let mut converged = false;
    let n_c = p.m.len();
    let total: f64 = counts.counts.iter().map(|&c| c as f64).sum();
    if total == 0.0 {
        return EmResult {
            params: p,
            trace,
            converged: false,
        };
    }
    let mut am: Vec<Vec<f64>> = p.m.iter().map(|v| vec![0.0; v.len()]).collect();
    let mut au = am.clone();
    for _ in 0..opt.max_iterations {
        // E-step, in log space.
        let ll = p.lambda.clamp(PROB_FLOOR, 1.0 - PROB_FLOOR);
        let (lm0, lu0) = (ll.ln(), (1.0 - ll).ln());
        let logm: Vec<Vec<f64>> =
            p.m.iter()
                .map(|v| v.iter().map(|x| x.max(PROB_FLOOR).ln()).collect())
                .collect();
        let logu: Vec<Vec<f64>> =
            p.u.iter()
                .map(|v| v.iter().map(|x| x.max(PROB_FLOOR).ln()).collect())
                .collect();
        for v in am.iter_mut().chain(au.iter_mut()) {
            v.iter_mut().for_each(|x| *x = 0.0);
        }
        let mut sum_post = 0.0;
        let mut loglik = 0.0;
        for (pi, &n) in counts.counts.iter().enumerate() {
            let n = n as f64;
            let (mut lm, mut lu) = (lm0, lu0);
            for c in 0..n_c {
                if opt.active[c] {
                    let l = counts.level(pi, c) as usize;
                    lm += logm[c][l];
                    lu += logu[c][l];
                }
            }
            let hi = lm.max(lu);
            loglik += n * (hi + ((lm - hi).exp() + (lu - hi).exp()).ln());
            let post = 1.0 / (1.0 + (lu - lm).exp());
            let (wm, wu) = (n * post, n * (1.0 - post));
            sum_post += wm;
            for c in 0..n_c {
                if opt.active[c] {
                    let l = counts.level(pi, c) as usize;
                    am[c][l] += wm;
                    au[c][l] += wu;
                }
            }
        }
        // M-step.
        let mut change: f64 = 0.0;
        if !opt.fix_lambda {
            let nl = match opt.prior_lambda {
                Some([a, b]) => (sum_post + a - 1.0) / (total + a + b - 2.0),
                None => sum_post / total,
            };
            let nl = nl.clamp(PROB_FLOOR, 1.0 - PROB_FLOOR);
            change = change.max((nl - p.lambda).abs());
            p.lambda = nl;
        }
        for c in 0..n_c {
            if !opt.active[c] {
                continue;
            }
            let null = p.null_level[c];
            change = change.max(m_step(
                &mut p.m[c],
                &am[c],
                &opt.fixed_m[c],
                null,
                opt.prior_m - 1.0,
            ));
            if !opt.fix_u {
                change = change.max(m_step(
                    &mut p.u[c],
                    &au[c],
                    &opt.fixed_u[c],
                    null,
                    opt.prior_u - 1.0,
                ));
            }
        }
        let active_rows = |v: &[Vec<f64>]| -> Vec<Vec<f64>> {
            v.iter()
                .zip(&opt.active)
                .filter(|(_, a)| **a)
                .map(|(r, _)| r.clone())
                .collect()
        };
        trace.push(EmIteration {
            lambda: p.lambda,
            log_likelihood: loglik,
            max_change: change,
            m: active_rows(&p.m),
            u: if opt.fix_u {
                Vec::new()
            } else {
                active_rows(&p.u)
            },
        });
        if change < opt.tolerance {
            converged = true;
            break;
        }
    }
    EmResult {
        params: p,
        trace,
        converged,
    }
}

/// Updates one comparison's probabilities from expected counts, keeping fixed levels and giving
/// the free ones the remaining mass in proportion to their counts plus `pseudo` each (a
/// Dirichlet prior's α − 1; 0 for maximum likelihood). Returns the largest change.
fn m_step(probs: &mut [f64], acc: &[f64], fixed: &[bool], null: Option<usize>, pseudo: f64) -> f64 {
    let free = |l: usize| Some(l) != null && !fixed.get(l).copied().unwrap_or(false);
    let fixed_mass: f64 = (0..probs.len())
        .filter(|&l| Some(l) != null && !free(l))
        .map(|l| probs[l])
        .sum();
    let free_acc: f64 = (0..probs.len())
        .filter(|&l| free(l))
        .map(|l| acc[l] + pseudo)
        .sum();
    if free_acc <= 0.0 {
        return 0.0;
    }
    let mass = (1.0 - fixed_mass).max(0.0);
    let mut change: f64 = 0.0;
    for l in 0..probs.len() {
        if free(l) {
            let v = mass * (acc[l] + pseudo) / free_acc;
            change = change.max((v - probs[l]).abs());
            probs[l] = v;
        }
    }
    change
}

/// Log-likelihood (natural log) of `counts` under `params`, active comparisons only: Σ_p n_p ·
/// log(λ Π m + (1 − λ) Π u), summed in pattern order.
pub fn log_likelihood(counts: &PatternCounts, params: &FsParams, active: &[bool]) -> f64 {
    let ll = params.lambda.clamp(PROB_FLOOR, 1.0 - PROB_FLOOR);
    let (lm0, lu0) = (ll.ln(), (1.0 - ll).ln());
    let mut total = 0.0;
    for (p, &n) in counts.counts.iter().enumerate() {
        let (mut lm, mut lu) = (lm0, lu0);
        for (c, &on) in active.iter().enumerate() {
            if on {
                let l = counts.level(p, c) as usize;
                lm += params.m[c][l].max(PROB_FLOOR).ln();
                lu += params.u[c][l].max(PROB_FLOOR).ln();
            }
        }
        let hi = lm.max(lu);
        total += n as f64 * (hi + ((lm - hi).exp() + (lu - hi).exp()).ln());
    }
    total
}

/// A random starting point for EM drawn with `rng`: λ log-uniform in [1e-5, 0.5] (unless
/// `opt.fix_lambda`), and on every active comparison the free (not fixed, not null) m levels
/// drawn from a flat Dirichlet over the mass the fixed levels leave; u likewise unless
/// `opt.fix_u`. Everything else is `init`'s.
pub fn random_start(init: &FsParams, opt: &EmOptions, rng: &mut impl rand::Rng) -> FsParams {
    use rand::RngExt;
    let mut p = init.clone();
    if !opt.fix_lambda {
        let (lo, hi) = (1e-5f64.ln(), 0.5f64.ln());
        p.lambda = (lo + (hi - lo) * rng.random::<f64>()).exp();
    }
    let mut draw = |probs: &mut [f64], fixed: &[bool], null: Option<usize>| {
        let free = |l: usize| Some(l) != null && !fixed.get(l).copied().unwrap_or(false);
        let fixed_mass: f64 = (0..probs.len())
            .filter(|&l| Some(l) != null && !free(l))
            .map(|l| probs[l])
            .sum();
        let w: Vec<f64> = (0..probs.len())
            .map(|l| {
                if free(l) {
                    // Exponential(1) draws normalised: a flat Dirichlet.
                    -(1.0 - rng.random::<f64>()).ln() + 1e-9
                } else {
                    0.0
                }
            })
            .collect();
        let s: f64 = w.iter().sum();
        if s > 0.0 {
            let mass = (1.0 - fixed_mass).max(0.0);
            for l in 0..probs.len() {
                if free(l) {
                    probs[l] = mass * w[l] / s;
                }
            }
        }
    };
    for c in 0..p.m.len() {
        if !opt.active[c] {
            continue;
        }
        let null = p.null_level[c];
        draw(&mut p.m[c], &opt.fixed_m[c], null);
        if !opt.fix_u {
            draw(&mut p.u[c], &opt.fixed_u[c], null);
        }
    }
    p
}

/// One EM start's result, recorded in the fit (`model.json`, `fit.sessions[].starts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartFit {
    /// 0 for the default start, then the random starts in order.
    pub start: usize,
    /// The seed of its random start (`None` for the default start).
    pub seed: Option<u64>,
    /// Log-likelihood (natural log) of the session's counts at its final parameters.
    pub log_likelihood: f64,
    /// Its final λ (within the session's pairs).
    pub lambda: f64,
    /// Its final m, per comparison and level.
    pub m: Vec<Vec<f64>>,
    /// Its final u, per comparison and level.
    pub u: Vec<Vec<f64>>,
    /// Iterations it ran.
    pub iterations: usize,
    /// Whether it met the tolerance.
    pub converged: bool,
    /// Largest absolute difference of λ or any active m or u from the kept start's.
    pub max_difference_from_kept: f64,
    /// Whether it is the start kept (highest log-likelihood; the earliest on ties).
    pub kept: bool,
}

/// The starts of one session: the kept result and every start's record.
#[derive(Debug, Clone)]
pub struct MultiStart {
    /// The result of the kept start.
    pub best: EmResult,
    /// Every start, the default one first.
    pub starts: Vec<StartFit>,
}

/// Two starts reached different optima when λ or an active m or u differs by more than this
/// (or by more than 100 × the EM tolerance, whichever is larger); see [`MultiStart`].
pub const MODE_DIFFERENCE: f64 = 0.01;

/// Largest absolute difference of λ or an active m or u between `a` and `b`.
pub fn max_difference(a: &FsParams, b: &FsParams, active: &[bool]) -> f64 {
    let mut d = (a.lambda - b.lambda).abs();
    for (c, &on) in active.iter().enumerate() {
        if on {
            for (x, y) in a.m[c].iter().zip(&b.m[c]).chain(a.u[c].iter().zip(&b.u[c])) {
                d = d.max((x - y).abs());
            }
        }
    }
    d
}

/// Runs `fit` from `init` and from `starts − 1` random starts ([`random_start`], start `s`
/// seeded with `seeds(s)`), and keeps the result with the highest log-likelihood of `counts`
/// (the earliest on ties, so `starts = 1` is exactly `fit(init)`). Starts run one after the
/// other: each EM run is cheap (O(patterns × comparisons) per iteration) and the order, hence
/// the output, never depends on threads.
///
/// # Errors
/// Those of `fit`.
pub fn run_starts(
    counts: &PatternCounts,
    init: &FsParams,
    opt: &EmOptions,
    starts: usize,
    seeds: impl Fn(usize) -> u64,
    mut fit: impl FnMut(&FsParams) -> crate::error::Result<EmResult>,
) -> crate::error::Result<MultiStart> {
    use rand::SeedableRng;
    let mut results = Vec::with_capacity(starts.max(1));
    for s in 0..starts.max(1) {
        let (start, seed) = if s == 0 {
            (init.clone(), None)
        } else {
            let seed = seeds(s);
            let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
            (random_start(init, opt, &mut rng), Some(seed))
        };
        let res = fit(&start)?;
        let ll = log_likelihood(counts, &res.params, &opt.active);
        results.push((res, seed, ll));
    }
    let mut best = 0;
    for (i, r) in results.iter().enumerate() {
        if r.2 > results[best].2 {
            best = i;
        }
    }
    let kept = results[best].0.params.clone();
    let starts = results
        .iter()
        .enumerate()
        .map(|(i, (r, seed, ll))| StartFit {
            start: i,
            seed: *seed,
            log_likelihood: *ll,
            lambda: r.params.lambda,
            m: r.params.m.clone(),
            u: r.params.u.clone(),
            iterations: r.trace.len(),
            converged: r.converged,
            max_difference_from_kept: max_difference(&r.params, &kept, &opt.active),
            kept: i == best,
        })
        .collect();
    Ok(MultiStart {
        best: results.swap_remove(best).0,
        starts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{VectorSpec, generate};

    fn spec() -> VectorSpec {
        VectorSpec {
            lambda: 0.1,
            m: vec![
                vec![0.85, 0.1, 0.05],
                vec![0.9, 0.1],
                vec![0.8, 0.2],
                vec![0.9, 0.1],
            ],
            u: vec![
                vec![0.05, 0.15, 0.8],
                vec![0.1, 0.9],
                vec![0.2, 0.8],
                vec![0.05, 0.95],
            ],
            missing: vec![0.05, 0.0, 0.1, 0.0],
        }
    }

    #[test]
    fn converged_only_when_the_tolerance_is_met() {
        let s = spec();
        let v = generate(&s, 20_000, 3).unwrap();
        let counts = v.pattern_counts();
        let mut init = s.params().unwrap();
        init.lambda = 0.01;
        for row in init.m.iter_mut() {
            let n = row.len() - 1;
            for x in row.iter_mut().skip(1) {
                *x = 1.0 / n as f64;
            }
        }
        let mut opt = EmOptions::all_free(&s.level_counts());
        opt.max_iterations = 3;
        let short = run(&counts, &init, &opt);
        assert_eq!(short.trace.len(), 3);
        assert!(
            !short.converged,
            "max_iterations ran out: {:?}",
            short.trace
        );
        assert!(short.trace.last().unwrap().max_change >= opt.tolerance);
        opt.max_iterations = 2000;
        let long = run(&counts, &init, &opt);
        assert!(long.converged);
        assert!(long.trace.len() < 2000);
        assert!(long.trace.last().unwrap().max_change < opt.tolerance);
        // Converging exactly at the last allowed iteration still counts.
        opt.max_iterations = long.trace.len();
        assert!(run(&counts, &init, &opt).converged);
        opt.max_iterations = long.trace.len() - 1;
        assert!(!run(&counts, &init, &opt).converged);
    }

    /// Pairs driven by two independent latent traits (X moves comparisons 0–2, Y comparisons
    /// 3–5) give the two-class model two optima with different likelihoods: classes split by X,
    /// and classes split by Y. From a start in the basin of the worse one, random starts find
    /// the better one, and the record shows both.
    #[test]
    fn em_starts_find_a_planted_second_mode() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(11);
        let mut rows: Vec<[u8; 6]> = Vec::new();
        for _ in 0..20_000 {
            let x = rng.random::<f64>() < 0.2;
            let y = rng.random::<f64>() < 0.4;
            let mut row = [0u8; 6];
            for (k, l) in row.iter_mut().enumerate() {
                let agree = match (k < 3, x, y) {
                    (true, true, _) => 0.9,
                    (true, false, _) => 0.1,
                    (false, _, true) => 0.85,
                    (false, _, false) => 0.15,
                };
                *l = if rng.random::<f64>() < agree { 1 } else { 2 };
            }
            rows.push(row);
        }
        let counts = PatternCounts::from_vectors(6, rows.iter().map(|r| r.as_slice()));
        let params = |lambda: f64, m: [f64; 6], u: [f64; 6]| FsParams {
            lambda,
            m: m.iter().map(|&a| vec![1.0, a, 1.0 - a]).collect(),
            u: u.iter().map(|&a| vec![1.0, a, 1.0 - a]).collect(),
            null_level: vec![Some(0); 6],
        };
        let by_x = params(
            0.2,
            [0.9, 0.9, 0.9, 0.43, 0.43, 0.43],
            [0.1, 0.1, 0.1, 0.43, 0.43, 0.43],
        );
        let by_y = params(
            0.4,
            [0.26, 0.26, 0.26, 0.85, 0.85, 0.85],
            [0.26, 0.26, 0.26, 0.15, 0.15, 0.15],
        );
        let mut opt = EmOptions::all_free(&[3; 6]);
        opt.max_iterations = 5000;
        opt.tolerance = 1e-9;
        let (a, b) = (run(&counts, &by_x, &opt), run(&counts, &by_y, &opt));
        assert!(a.converged && b.converged);
        assert!(
            max_difference(&a.params, &b.params, &opt.active) > 0.1,
            "one optimum only: {:?} {:?}",
            a.params,
            b.params
        );
        let (la, lb) = (
            log_likelihood(&counts, &a.params, &opt.active),
            log_likelihood(&counts, &b.params, &opt.active),
        );
        assert!((la - lb).abs() > 10.0, "{la} {lb}");
        let (worse_start, worse_ll, better_ll) = if la < lb {
            (&by_x, la, lb)
        } else {
            (&by_y, lb, la)
        };
        let one = run_starts(
            &counts,
            worse_start,
            &opt,
            1,
            |_| 0,
            |p| Ok(run(&counts, p, &opt)),
        )
        .unwrap();
        assert!((one.starts[0].log_likelihood - worse_ll).abs() < 1e-3);
        let many = run_starts(
            &counts,
            worse_start,
            &opt,
            20,
            |k| 1000 + k as u64,
            |p| Ok(run(&counts, p, &opt)),
        )
        .unwrap();
        let kept = many.starts.iter().find(|s| s.kept).unwrap();
        // The better optimum (or its label-swapped twin, of equal likelihood) is kept.
        assert!(
            (kept.log_likelihood - better_ll).abs() < 1e-3,
            "{:?}",
            many.starts
        );
        assert_eq!(many.starts.iter().filter(|s| s.kept).count(), 1);
        assert!(!many.starts[0].kept);
        assert!(many.starts[0].max_difference_from_kept > MODE_DIFFERENCE);
        assert!((many.starts[0].log_likelihood - worse_ll).abs() < 1e-3);
        assert!(
            many.starts
                .iter()
                .all(|s| s.log_likelihood <= kept.log_likelihood)
        );
        assert_eq!(many.best.params.lambda, kept.lambda);
    }

    #[test]
    fn log_likelihood_matches_the_trace() {
        let s = spec();
        let counts = generate(&s, 5_000, 4).unwrap().pattern_counts();
        let init = s.params().unwrap();
        let opt = EmOptions::all_free(&s.level_counts());
        let r = run(&counts, &init, &opt);
        let ll = log_likelihood(&counts, &init, &opt.active);
        assert!((ll - r.trace[0].log_likelihood).abs() < 1e-6 * ll.abs());
    }

    #[test]
    fn one_start_is_the_plain_run_and_random_starts_keep_fixed_levels() {
        let s = spec();
        let counts = generate(&s, 5_000, 5).unwrap().pattern_counts();
        let init = s.params().unwrap();
        let mut opt = EmOptions::all_free(&s.level_counts());
        let one = run_starts(
            &counts,
            &init,
            &opt,
            1,
            |_| 0,
            |p| Ok(run(&counts, p, &opt)),
        )
        .unwrap();
        assert_eq!(one.best.params, run(&counts, &init, &opt).params);
        assert_eq!(one.starts.len(), 1);
        assert!(one.starts[0].kept && one.starts[0].seed.is_none());
        opt.fix_u = true;
        opt.fixed_m[1][1] = true;
        use rand::SeedableRng;
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(9);
        let r = random_start(&init, &opt, &mut rng);
        assert_eq!(r.u, init.u);
        assert_eq!(r.m[1][1], init.m[1][1]);
        assert_ne!(r.m[0], init.m[0]);
        for (c, row) in r.m.iter().enumerate() {
            let sum: f64 = row.iter().skip(1).sum();
            assert!((sum - 1.0).abs() < 1e-9, "comparison {c}: {sum}");
        }
    }
}
