//! Known-parameter recovery for EM (Splink's `test_correctness_of_convergence` idea, DESIGN §5):
//! comparison vectors are drawn from known (λ, m, u) with values missing at random
//! ([`fellegi::synth`]), EM is started from a deliberately wrong, generic point, and every
//! estimate must land near the truth. Further tests check the constraints EM honours (inactive
//! comparisons, fixed u, fixed m levels, fixed λ), the monotonicity of the log-likelihood, and
//! that degenerate counts (zero counts, all-missing comparisons) yield no NaN.
//!
//! Sizes: every recovery case has at least 20,000 expected matches (n = max(100,000, 20,000/λ)),
//! so a standard error of an m estimate is at most about 0.004 and the 0.02 tolerance is about
//! five standard errors.

use fellegi::compare::{PatternCounts, pack};
use fellegi::model::em::{self, EmOptions, EmResult};
use fellegi::model::{FsParams, normalise};
use fellegi::synth::{SyntheticVectors, VectorSpec, generate};

/// Absolute tolerance on every m and u.
const TOL_MU: f64 = 0.02;
/// Relative tolerance on λ.
const TOL_LAMBDA: f64 = 0.10;

/// Realistic comparison templates, non-null levels from the top agreement level down to the else
/// level: (m, u). Top-level m 0.70–0.90, top-level u 0.001–0.10.
const TEMPLATES: [(&[f64], &[f64]); 6] = [
    // first name: exact, JW ≥ 0.92, JW ≥ 0.88, else
    (&[0.80, 0.10, 0.04, 0.06], &[0.006, 0.012, 0.022, 0.96]),
    // surname: exact, JW ≥ 0.9, else
    (&[0.85, 0.09, 0.06], &[0.003, 0.007, 0.99]),
    // date of birth: exact, within a year, else
    (&[0.90, 0.06, 0.04], &[0.002, 0.02, 0.978]),
    // city: exact, else
    (&[0.75, 0.25], &[0.10, 0.90]),
    // postcode: exact, else
    (&[0.88, 0.12], &[0.01, 0.99]),
    // phone: exact, last 6 digits, Levenshtein ≤ 2, else
    (&[0.70, 0.15, 0.05, 0.10], &[0.001, 0.004, 0.02, 0.975]),
];

fn spec(lambda: f64, comps: &[usize], missing: &[f64]) -> VectorSpec {
    assert_eq!(comps.len(), missing.len());
    VectorSpec {
        lambda,
        m: comps.iter().map(|&c| TEMPLATES[c].0.to_vec()).collect(),
        u: comps.iter().map(|&c| TEMPLATES[c].1.to_vec()).collect(),
        missing: missing.to_vec(),
    }
}

/// Vectors per case: at least 100,000 and about 20,000 expected matches.
fn n_for(lambda: f64) -> usize {
    ((20_000.0 / lambda).ceil() as usize).max(100_000)
}

/// A generic, wrong start in `FsParams` layout (null level 0), the same rule as
/// `FsParams::initial`: over the non-null levels, m halves from the top level down and shares
/// 0.95, u doubles and shares 0.1; the else level gets m = 0.05 and u = 0.9.
fn generic_start(levels: &[usize], lambda: f64) -> FsParams {
    let mut p = FsParams {
        lambda,
        m: Vec::new(),
        u: Vec::new(),
        null_level: vec![Some(0); levels.len()],
    };
    for &n in levels {
        let k = n - 1;
        let halves: f64 = (0..k - 1).map(|r| 0.5f64.powi(r as i32)).sum();
        let (mut m, mut u) = (vec![1.0; n], vec![1.0; n]);
        for r in 0..k {
            if r + 1 == k {
                m[1 + r] = 0.05;
                u[1 + r] = 0.9;
            } else {
                m[1 + r] = 0.95 * 0.5f64.powi(r as i32) / halves;
                u[1 + r] = 0.1 * 0.5f64.powi((k - 2 - r) as i32) / halves;
            }
        }
        normalise(&mut m, Some(0));
        normalise(&mut u, Some(0));
        p.m.push(m);
        p.u.push(u);
    }
    p
}

fn options(spec: &VectorSpec) -> EmOptions {
    let mut opt = EmOptions::all_free(&spec.level_counts());
    opt.max_iterations = 500;
    opt.tolerance = 1e-7;
    opt
}

/// EM's log-likelihood never decreases (up to 1e-9 relative), and the trace is well formed.
fn assert_monotone(fit: &EmResult, what: &str) {
    for (i, w) in fit.trace.windows(2).enumerate() {
        let (a, b) = (w[0].log_likelihood, w[1].log_likelihood);
        assert!(
            a.is_finite() && b.is_finite(),
            "{what}: non-finite log-likelihood"
        );
        assert!(
            b >= a - 1e-9 * a.abs(),
            "{what}: log-likelihood fell from {a} to {b} at iteration {}",
            i + 1
        );
    }
}

/// Every m and u of comparison `c` (non-null levels) within `TOL_MU` of the truth.
fn assert_comparison_recovered(fit: &FsParams, truth: &FsParams, c: usize, what: &str) {
    for l in 1..truth.m[c].len() {
        for (name, est, tru) in [
            ("m", fit.m[c][l], truth.m[c][l]),
            ("u", fit.u[c][l], truth.u[c][l]),
        ] {
            assert!(
                (est - tru).abs() <= TOL_MU,
                "{what}: {name}[{c}][{l}] = {est:.5}, truth {tru:.5} (tolerance {TOL_MU})"
            );
        }
    }
}

fn assert_lambda_recovered(fit: &FsParams, truth: &FsParams, what: &str) {
    let rel = (fit.lambda / truth.lambda - 1.0).abs();
    assert!(
        rel <= TOL_LAMBDA,
        "{what}: λ = {:.5}, truth {:.5} ({:.1} % off)",
        fit.lambda,
        truth.lambda,
        100.0 * rel
    );
}

/// Null levels still hold m = u = 1 and each non-null row sums to 1.
fn assert_layout(fit: &FsParams, what: &str) {
    for c in 0..fit.m.len() {
        for (name, row) in [("m", &fit.m[c]), ("u", &fit.u[c])] {
            assert_eq!(row[0], 1.0, "{what}: null level of {name}[{c}] changed");
            let s: f64 = row[1..].iter().sum();
            assert!((s - 1.0).abs() < 1e-12, "{what}: {name}[{c}] sums to {s}");
        }
    }
}

/// Generates, fits from a generic start with λ₀ and checks full recovery; returns the data and
/// the fit for further checks.
fn recover(
    seed: u64,
    lambda: f64,
    lambda0: f64,
    comps: &[usize],
    missing: &[f64],
) -> (SyntheticVectors, EmResult) {
    let s = spec(lambda, comps, missing);
    let what = format!("seed {seed}, λ {lambda}, comparisons {comps:?}");
    let sv = generate(&s, n_for(lambda), seed).unwrap();
    let counts = sv.pattern_counts();
    let start = generic_start(&s.level_counts(), lambda0);
    let fit = em::run(&counts, &start, &options(&s));
    assert!(
        fit.converged,
        "{what}: not converged in {} iterations",
        fit.trace.len()
    );
    assert!(fit.trace.len() >= 2, "{what}: EM did not iterate");
    assert_monotone(&fit, &what);
    assert_layout(&fit.params, &what);
    let truth = sv.true_params();
    for c in 0..comps.len() {
        assert_comparison_recovered(&fit.params, truth, c, &what);
    }
    assert_lambda_recovered(&fit.params, truth, &what);
    // The unsupervised estimate is close to the oracle estimate from the true labels (the
    // complete-data MLE): most of the error is sampling noise, not estimator bias. Over 30 seeds
    // per case the largest gap was 0.006 (λ = 0.01, four comparisons, 20 % missing each) and
    // below 0.0035 elsewhere.
    let oracle = sv.sample_params();
    for c in 0..comps.len() {
        for l in 1..truth.m[c].len() {
            let d = (fit.params.m[c][l] - oracle.m[c][l])
                .abs()
                .max((fit.params.u[c][l] - oracle.u[c][l]).abs());
            assert!(
                d < 0.01,
                "{what}: level {c}/{l} is {d} from the oracle estimate"
            );
        }
    }
    (sv, fit)
}

// ---- known-parameter recovery: 8 seeds, λ ∈ {0.01, 0.05, 0.1, 0.3}, 4–6 comparisons with 2–4
// non-null levels, missingness 0–20 %, starts λ₀ far from the truth.

#[test]
fn recovers_lambda_001_five_comparisons() {
    recover(
        101,
        0.01,
        0.2,
        &[0, 1, 2, 3, 4],
        &[0.0, 0.05, 0.1, 0.2, 0.0],
    );
}

#[test]
fn recovers_lambda_001_all_20_percent_missing() {
    recover(105, 0.01, 0.5, &[3, 4, 1, 0], &[0.2, 0.2, 0.2, 0.2]);
}

#[test]
fn recovers_lambda_005_four_comparisons() {
    recover(102, 0.05, 0.2, &[0, 1, 3, 5], &[0.1, 0.0, 0.2, 0.15]);
}

#[test]
fn recovers_lambda_005_six_comparisons_no_missing() {
    recover(107, 0.05, 0.01, &[2, 3, 4, 1, 5, 0], &[0.0; 6]);
}

#[test]
fn recovers_lambda_01_six_comparisons() {
    recover(
        103,
        0.1,
        0.5,
        &[0, 1, 2, 3, 4, 5],
        &[0.2, 0.1, 0.05, 0.0, 0.1, 0.2],
    );
}

#[test]
fn recovers_lambda_01_four_comparisons() {
    recover(108, 0.1, 0.2, &[5, 2, 4, 3], &[0.15, 0.2, 0.05, 0.1]);
}

#[test]
fn recovers_lambda_03_five_comparisons() {
    recover(
        104,
        0.3,
        0.05,
        &[1, 2, 3, 4, 5],
        &[0.0, 0.2, 0.1, 0.05, 0.0],
    );
}

#[test]
fn recovers_lambda_03_four_comparisons() {
    recover(106, 0.3, 0.5, &[3, 4, 0, 5], &[0.2, 0.1, 0.0, 0.05]);
}

// ---- constraints

/// The λ = 0.1, six-comparison case shared by the constraint tests.
fn constraint_case(seed: u64) -> (VectorSpec, SyntheticVectors, PatternCounts) {
    let s = spec(0.1, &[0, 1, 2, 3, 4, 5], &[0.2, 0.1, 0.05, 0.0, 0.1, 0.2]);
    let sv = generate(&s, n_for(0.1), seed).unwrap();
    let counts = sv.pattern_counts();
    (s, sv, counts)
}

fn same_bits(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// (a) A comparison left out (`active[c] = false`, as for the columns a training blocking rule
/// names) keeps its m and u bit for bit while the others are still estimated.
#[test]
fn inactive_comparisons_are_untouched() {
    let (s, sv, counts) = constraint_case(201);
    let mut start = generic_start(&s.level_counts(), 0.3);
    // The left-out comparisons get misleading values (m high on the else level, u high on the
    // top level): were they still in the likelihood, they would wreck the posteriors.
    for c in [2, 4] {
        let (m, u) = (start.m[c].clone(), start.u[c].clone());
        start.m[c] = u;
        start.u[c] = m;
    }
    let mut opt = options(&s);
    opt.active[2] = false;
    opt.active[4] = false;
    let fit = em::run(&counts, &start, &opt);
    assert!(fit.converged);
    assert_monotone(&fit, "inactive");
    for c in [2, 4] {
        assert!(same_bits(&fit.params.m[c], &start.m[c]), "m[{c}] changed");
        assert!(same_bits(&fit.params.u[c], &start.u[c]), "u[{c}] changed");
        // The start is far from the truth, so this is not recovery by accident.
        assert!((start.m[c][1] - sv.true_params().m[c][1]).abs() > TOL_MU);
    }
    for c in [0, 1, 3, 5] {
        assert_comparison_recovered(&fit.params, sv.true_params(), c, "inactive");
    }
    assert_lambda_recovered(&fit.params, sv.true_params(), "inactive");
}

/// (b) `fix_u` keeps u bit for bit; with u at the truth, m and λ are recovered.
#[test]
fn fixed_u_is_kept_and_m_recovered() {
    let (s, sv, counts) = constraint_case(202);
    let truth = sv.true_params();
    let mut start = generic_start(&s.level_counts(), 0.5);
    start.u = truth.u.clone();
    let mut opt = options(&s);
    opt.fix_u = true;
    let fit = em::run(&counts, &start, &opt);
    assert!(fit.converged);
    assert_monotone(&fit, "fix_u");
    for c in 0..s.n_comparisons() {
        assert!(same_bits(&fit.params.u[c], &truth.u[c]), "u[{c}] changed");
        assert_comparison_recovered(&fit.params, truth, c, "fix_u");
    }
    assert_lambda_recovered(&fit.params, truth, "fix_u");
}

/// `fix_lambda` keeps λ bit for bit; the others are still estimated.
#[test]
fn fixed_lambda_is_kept() {
    let (s, sv, counts) = constraint_case(203);
    let truth = sv.true_params();
    let start = generic_start(&s.level_counts(), truth.lambda);
    let mut opt = options(&s);
    opt.fix_lambda = true;
    let fit = em::run(&counts, &start, &opt);
    assert!(fit.converged);
    assert_monotone(&fit, "fix_lambda");
    assert_eq!(fit.params.lambda.to_bits(), truth.lambda.to_bits());
    assert!(fit.trace.iter().all(|t| t.lambda == truth.lambda));
    for c in 0..s.n_comparisons() {
        assert_comparison_recovered(&fit.params, truth, c, "fix_lambda");
    }
}

/// (c) A level with fixed m keeps its value; the free levels of that comparison share the rest,
/// so the comparison still sums to 1.
#[test]
fn fixed_m_level_is_kept_and_row_sums_to_one() {
    let (s, sv, counts) = constraint_case(204);
    let truth = sv.true_params();
    // Comparison 0 (four non-null levels), level 2: truth 0.10.
    let (c, l) = (0, 2);
    for value in [truth.m[c][l], 0.3] {
        let what = format!("fixed m[{c}][{l}] = {value}");
        let mut start = generic_start(&s.level_counts(), 0.3);
        start.m[c][l] = value;
        let mut opt = options(&s);
        opt.fixed_m[c][l] = true;
        let fit = em::run(&counts, &start, &opt);
        assert!(fit.converged, "{what}");
        assert_monotone(&fit, &what);
        assert_eq!(fit.params.m[c][l].to_bits(), value.to_bits(), "{what}");
        let s_row: f64 = fit.params.m[c][1..].iter().sum();
        assert!((s_row - 1.0).abs() < 1e-12, "{what}: row sums to {s_row}");
        // The free levels moved away from the start.
        assert!((fit.params.m[c][1] - start.m[c][1]).abs() > 0.05, "{what}");
        if value == truth.m[c][l] {
            for k in 0..s.n_comparisons() {
                assert_comparison_recovered(&fit.params, truth, k, &what);
            }
            assert_lambda_recovered(&fit.params, truth, &what);
        } else {
            // Wrong fixed value: the free levels keep their true proportions among themselves.
            let free = [1, 3, 4];
            let free_true: f64 = free.iter().map(|&k| truth.m[c][k]).sum();
            for k in free {
                let want = (1.0 - value) * truth.m[c][k] / free_true;
                assert!(
                    (fit.params.m[c][k] - want).abs() < TOL_MU,
                    "{what}: m[{c}][{k}] = {}, expected about {want}",
                    fit.params.m[c][k]
                );
            }
        }
    }
}

/// A fixed u level behaves like a fixed m level.
#[test]
fn fixed_u_level_is_kept_and_row_sums_to_one() {
    let (s, _sv, counts) = constraint_case(205);
    let (c, l) = (5, 4);
    let mut start = generic_start(&s.level_counts(), 0.3);
    start.u[c][l] = 0.5;
    let mut opt = options(&s);
    opt.fixed_u[c][l] = true;
    let fit = em::run(&counts, &start, &opt);
    assert_monotone(&fit, "fixed u level");
    assert_eq!(fit.params.u[c][l].to_bits(), 0.5f64.to_bits());
    let s_row: f64 = fit.params.u[c][1..].iter().sum();
    assert!((s_row - 1.0).abs() < 1e-12, "row sums to {s_row}");
}

// ---- (d) monotonicity

/// From poor starts (λ₀ far off, m barely above u), EM takes many iterations, and the
/// log-likelihood never decreases along the way.
#[test]
fn log_likelihood_never_decreases() {
    let (s, _sv, counts) = constraint_case(206);
    let levels = s.level_counts();
    let mut checked = 0;
    for (lambda0, tilt) in [(0.9, 0.02), (0.001, 0.05), (0.5, 0.01)] {
        // m and u nearly uniform; m slightly favours the top level, u the else level.
        let mut start = generic_start(&levels, lambda0);
        for (m, u) in start.m.iter_mut().zip(&mut start.u) {
            let k = m.len() - 1;
            let (base, rest) = (1.0 / k as f64, tilt / (k - 1) as f64);
            for l in 1..=k {
                m[l] = base + if l == 1 { tilt } else { -rest };
                u[l] = base + if l == k { tilt } else { -rest };
            }
        }
        let mut opt = options(&s);
        opt.max_iterations = 300;
        opt.tolerance = 1e-12;
        let fit = em::run(&counts, &start, &opt);
        let what = format!("start λ₀ = {lambda0}, tilt {tilt}");
        assert!(
            fit.trace.len() >= 10,
            "{what}: only {} iterations",
            fit.trace.len()
        );
        assert_monotone(&fit, &what);
        let (first, last) = (
            fit.trace[0].log_likelihood,
            fit.trace.last().unwrap().log_likelihood,
        );
        assert!(last > first, "{what}: log-likelihood did not improve");
        checked += fit.trace.len();
    }
    assert!(checked > 30);
}

// ---- (e) degenerate counts

fn all_finite(p: &FsParams) -> bool {
    p.lambda.is_finite() && p.m.iter().chain(&p.u).flatten().all(|x| x.is_finite())
}

/// Zero counts, all-missing patterns and a comparison that is always missing give no NaN; the
/// always-missing comparison keeps its parameters; an all-missing pattern's posterior is λ.
#[test]
fn zero_counts_and_all_missing_give_no_nan() {
    // Three comparisons with 2, 3 and 2 non-null levels (levels 0..=2, 0..=3, 0..=2); the third
    // is missing in every pair. Level 3 of comparison 1 occurs only in a zero-count pattern.
    let rows: [([u8; 3], u64); 7] = [
        ([1, 1, 0], 120),
        ([1, 2, 0], 30),
        ([2, 2, 0], 400),
        ([2, 1, 0], 20),
        ([0, 0, 0], 250), // all missing
        ([0, 2, 0], 90),
        ([1, 3, 0], 0), // zero count
    ];
    let mut v: Vec<(u128, u64)> = rows.iter().map(|(l, n)| (pack(l), *n)).collect();
    v.sort_unstable();
    let counts = PatternCounts {
        n_comparisons: 3,
        patterns: v.iter().map(|x| x.0).collect(),
        counts: v.iter().map(|x| x.1).collect(),
    };
    let levels = [3, 4, 3];
    let start = generic_start(&levels, 0.2);
    let mut opt = EmOptions::all_free(&levels);
    opt.max_iterations = 200;
    let fit = em::run(&counts, &start, &opt);
    assert!(!fit.trace.is_empty());
    assert!(all_finite(&fit.params), "{:?}", fit.params);
    assert!(fit.params.lambda > 0.0 && fit.params.lambda < 1.0);
    assert!(
        fit.trace.iter().all(|t| t.log_likelihood.is_finite()
            && t.lambda.is_finite()
            && t.max_change.is_finite())
    );
    assert_monotone(&fit, "degenerate counts");
    assert!(same_bits(&fit.params.m[2], &start.m[2]));
    assert!(same_bits(&fit.params.u[2], &start.u[2]));
    let post = em::posteriors(&counts, &fit.params, &opt.active);
    assert!(
        post.iter()
            .all(|p| p.is_finite() && (0.0..=1.0).contains(p))
    );
    let all_missing = counts.patterns.iter().position(|&p| p == 0).unwrap();
    assert!((post[all_missing] - fit.params.lambda).abs() < 1e-12);
    // Weights stay finite too.
    assert!(
        fit.params
            .level_weights()
            .iter()
            .flatten()
            .all(|w| w.is_finite())
    );

    // No pairs at all: the start comes back, not converged, with an empty trace.
    let empty = PatternCounts {
        n_comparisons: 3,
        patterns: counts.patterns.clone(),
        counts: vec![0; counts.len()],
    };
    let fit = em::run(&empty, &start, &opt);
    assert_eq!(fit.params, start);
    assert!(!fit.converged && fit.trace.is_empty());
}

/// Heavy missingness (half of every comparison, so about 6 % of pairs have nothing observed)
/// still gives finite estimates near the truth.
#[test]
fn heavy_missingness_is_finite_and_recovered() {
    let s = spec(0.1, &[0, 1, 2, 4], &[0.5; 4]);
    let sv = generate(&s, 400_000, 207).unwrap();
    let counts = sv.pattern_counts();
    assert!(counts.patterns.contains(&0), "no all-missing pattern drawn");
    let fit = em::run(
        &counts,
        &generic_start(&s.level_counts(), 0.3),
        &options(&s),
    );
    assert!(fit.converged && all_finite(&fit.params));
    assert_monotone(&fit, "heavy missingness");
    for c in 0..4 {
        assert_comparison_recovered(&fit.params, sv.true_params(), c, "heavy missingness");
    }
    assert_lambda_recovered(&fit.params, sv.true_params(), "heavy missingness");
}

/// The recovery cases over 30 more seeds each (about 10 s in release); run with `--ignored`.
#[test]
#[ignore]
fn recovery_sweep_30_seeds() {
    for seed in 1000..1030u64 {
        recover(
            seed,
            0.01,
            0.2,
            &[0, 1, 2, 3, 4],
            &[0.0, 0.05, 0.1, 0.2, 0.0],
        );
        recover(seed, 0.01, 0.5, &[3, 4, 1, 0], &[0.2, 0.2, 0.2, 0.2]);
        recover(seed, 0.05, 0.2, &[0, 1, 3, 5], &[0.1, 0.0, 0.2, 0.15]);
        recover(seed, 0.05, 0.01, &[2, 3, 4, 1, 5, 0], &[0.0; 6]);
        recover(
            seed,
            0.1,
            0.5,
            &[0, 1, 2, 3, 4, 5],
            &[0.2, 0.1, 0.05, 0.0, 0.1, 0.2],
        );
        recover(seed, 0.1, 0.2, &[5, 2, 4, 3], &[0.15, 0.2, 0.05, 0.1]);
        recover(
            seed,
            0.3,
            0.05,
            &[1, 2, 3, 4, 5],
            &[0.0, 0.2, 0.1, 0.05, 0.0],
        );
        recover(seed, 0.3, 0.5, &[3, 4, 0, 5], &[0.2, 0.1, 0.0, 0.05]);
    }
}

/// Priors (`training.prior`): Beta(1, 1) and concentration 1 are no prior (same bits); a Beta
/// prior on λ gives exactly the MAP fixed point (λ = (Σ posteriors + α − 1) / (n + α + β − 2)
/// at convergence) and pulls λ toward its mean; a Dirichlet prior on m keeps every m level off
/// zero where the data alone drive one to zero.
#[test]
fn priors_are_map_em() {
    let (s, sv, counts) = constraint_case(211);
    let truth = sv.true_params();
    let start = generic_start(&s.level_counts(), 0.3);
    let plain = em::run(&counts, &start, &options(&s));
    let mut flat = options(&s);
    flat.prior_lambda = Some([1.0, 1.0]);
    flat.prior_m = 1.0;
    flat.prior_u = 1.0;
    let same = em::run(&counts, &start, &flat);
    assert_eq!(plain.params.lambda.to_bits(), same.params.lambda.to_bits());
    for c in 0..s.n_comparisons() {
        assert!(same_bits(&plain.params.m[c], &same.params.m[c]));
    }
    // A strong prior on λ at half the truth, worth as many pseudo-pairs as the data.
    let n = counts.total() as f64;
    let l0 = truth.lambda / 2.0;
    let (a, b) = (1.0 + n * l0, 1.0 + n * (1.0 - l0));
    let mut opt = options(&s);
    opt.prior_lambda = Some([a, b]);
    let fit = em::run(&counts, &start, &opt);
    assert!(fit.converged);
    let lam = fit.params.lambda;
    assert!(
        lam < plain.params.lambda * 0.9 && lam > l0,
        "λ {lam} should lie between the prior mean {l0} and the ML estimate {}",
        plain.params.lambda
    );
    let post = em::posteriors(&counts, &fit.params, &opt.active);
    let sum_post: f64 = post
        .iter()
        .zip(&counts.counts)
        .map(|(p, &c)| p * c as f64)
        .sum();
    let map = (sum_post + a - 1.0) / (n + a + b - 2.0);
    assert!(
        (map - lam).abs() < 1e-6 * lam,
        "λ {lam} is not the MAP update {map}"
    );
    // A Dirichlet(α) prior on m: at convergence each non-null m level is the MAP update
    // (expected matches at the level + α − 1) / (expected matches + K(α − 1)), and with α − 1 =
    // 2,000 pseudo-matches per level the m move measurably toward uniform.
    let mut opt = options(&s);
    let alpha = 2001.0;
    opt.prior_m = alpha;
    let fit = em::run(&counts, &start, &opt);
    assert!(fit.converged);
    let post = em::posteriors(&counts, &fit.params, &opt.active);
    for c in 0..s.n_comparisons() {
        let null = fit.params.null_level[c];
        let mut acc = vec![0.0; fit.params.m[c].len()];
        for (p, &k) in counts.counts.iter().enumerate() {
            acc[counts.level(p, c) as usize] += post[p] * k as f64;
        }
        let levels: Vec<usize> = (0..acc.len()).filter(|&l| Some(l) != null).collect();
        let total: f64 = levels.iter().map(|&l| acc[l] + alpha - 1.0).sum();
        for &l in &levels {
            let want = (acc[l] + alpha - 1.0) / total;
            let got = fit.params.m[c][l];
            assert!((got - want).abs() < 1e-5, "m[{c}][{l}] {got} vs MAP {want}");
        }
        // The top agreement level (the last non-null one is else) loses mass to the others.
        let top = levels[0];
        assert!(fit.params.m[c][top] < plain.params.m[c][top] - 0.005);
    }
}
