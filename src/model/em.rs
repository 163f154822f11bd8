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
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmIteration {
    /// λ after the M-step.
    pub lambda: f64,
    /// Log-likelihood (natural log) of the counts under the parameters before the M-step.
    pub log_likelihood: f64,
    /// Largest absolute change of any estimated parameter in this iteration (with
    /// [`super::loglinear`]: of any fitted pattern count, in pairs).
    pub max_change: f64,
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
        trace.push(EmIteration {
            lambda: p.lambda,
            log_likelihood: loglik,
            max_change: change,
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
