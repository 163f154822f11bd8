//! The latent-class model fitted as a generalised log-linear model with Haber's algorithm AS 207,
//! the way R RecordLinkage's `emWeights` fits it (through its C routine `mygllm`).
//!
//! The model is the same as [`crate::model::em`]'s: two latent classes (non-match x = 0, match
//! x = 1) and comparisons independent within a class. Written as a log-linear model of the
//! *complete table* (2 classes × every combination of levels, observed or not) its columns are:
//! an intercept, the class x, per comparison and per non-reference level an indicator of that
//! level (the reference is the last, else, level), and the same indicators times x. Every entry
//! is divided by the largest row sum (2 + 2K for K comparisons) and a slack column
//! `1 − row sum / largest row sum` is appended, so that every row sums to 1, as generalised
//! iterative scaling needs.
//!
//! One outer iteration is an E-step and an incomplete M-step:
//! 1. F = the fitted count of each pattern (both classes); stop when no F moved more than the
//!    tolerance since the previous iteration.
//! 2. E-step: each cell's share of its pattern's observed count, X = E · y / F (cells of a
//!    pattern with F = 0 keep their previous X), and the targets Z_k = Σ_i C_ik X_i.
//! 3. M-step by cyclic generalised iterative scaling (Darroch & Ratcliff, 1972): for each column
//!    k in order, G_k = Σ_i C_ik E_i and E_i ← E_i (Z_k / G_k)^C_ik; cycles repeat until no cell
//!    moves more than the tolerance.
//!
//! **How it differs from plain EM.** Plain EM's M-step jumps to the closed-form maximiser (λ, m and
//! u as posterior-weighted shares) and its convergence test is on the parameters. Here the
//! M-step only approaches that maximiser, column by column, from the previous table, and stops
//! once a whole cycle moves no cell more than the tolerance (an absolute number of pairs); the
//! outer test is on the fitted pattern counts. Both have the same fixed points (a fully converged
//! scaling step *is* the exact M-step), but the paths differ, so from the same start they can end
//! at different local optima of the same likelihood, or stop at different points on the way to
//! one. On R RecordLinkage's RLdata500 vignette the likelihood rises slowly towards a boundary
//! (u of birth year → 0): plain EM runs on to it, while AS 207 at tolerance 1e-5 stops earlier,
//! and the published weights are the ones where it stops; this estimator reproduces them exactly
//! (experiment `rldata500-recordlinkage-vignette`). Unlike plain EM, every level is a category:
//! there is no missing-at-random null level, and fixed m or u levels are not supported.
//!
//! The fitted table stays in the log-linear family, which is exactly the product form of the
//! Fellegi–Sunter model, so its marginals λ = Σ match cells / N and m (u) per level = the match
//! (non-match) cells at that level over all match (non-match) cells are ordinary [`FsParams`]
//! that give the table's own weights.
//!
//! # References
//! - Haber, M. (1984). Algorithm AS 207: Fitting a general log-linear model. *Applied Statistics*
//!   33(3), 358–362.
//! - Darroch, J. N. & Ratcliff, D. (1972). Generalized iterative scaling for log-linear models.
//!   *Annals of Mathematical Statistics* 43(5), 1470–1480.
//! - Sariyar, M. & Borg, A. (2010). The RecordLinkage package: detecting errors in data. *The R
//!   Journal* 2(2), 61–67.

use std::ops::Range;

use super::em::{EmIteration, EmResult};
use super::{FsParams, PROB_FLOOR};
use crate::compare::PatternCounts;
use crate::error::{Error, Result};

/// Largest complete table (2 classes × every combination of levels) the estimator fits:
/// 2^22 = 4,194,304 cells (32 MiB per copy of the table).
pub const MAX_CELLS: usize = 1 << 22;

/// Origin named in the estimator's own errors.
const ORIGIN: &str = "training (algorithm = \"as207\")";

/// Options of one AS 207 run.
#[derive(Debug, Clone)]
pub struct As207Options {
    /// Outer (EM) iteration limit; R RecordLinkage's default 1000.
    pub max_iterations: usize,
    /// Convergence tolerance, in pairs, of both the outer test (fitted pattern counts) and the
    /// inner scaling loop (cells); R RecordLinkage's default 1e-5.
    pub tolerance: f64,
    /// Most scaling cycles of one M-step; beyond it the run stops with `converged: false`.
    /// Default 1,000,000.
    pub max_inner_cycles: usize,
}

impl Default for As207Options {
    /// R RecordLinkage's settings: 1000 iterations, tolerance 1e-5; at most 1,000,000 cycles.
    fn default() -> Self {
        As207Options {
            max_iterations: 1000,
            tolerance: 1e-5,
            max_inner_cycles: 1_000_000,
        }
    }
}

/// A column of the design matrix.
#[derive(Debug, Clone, Copy)]
enum Column {
    /// The intercept (every cell).
    Intercept,
    /// The class x (match cells).
    Class,
    /// Level `level` of comparison `comparison`; `match_only` for the indicator times x.
    Level {
        comparison: usize,
        level: usize,
        match_only: bool,
    },
    /// The slack column, `1 − row sum / largest row sum`.
    Slack,
}

/// Layout of the complete table: cell `class · J + j`, where pattern `j` has level
/// `(j / stride[c]) % levels[c]` on comparison `c` (comparison 0 varies fastest).
struct Layout {
    levels: Vec<usize>,
    stride: Vec<usize>,
    /// J, the number of level combinations.
    patterns: usize,
    /// Largest row sum of the unscaled design matrix (2 + 2K).
    max_row: u32,
    /// Per cell: the unscaled slack entry, `max_row − row sum`.
    slack: Vec<u8>,
    /// Columns in the order the scaling cycles through them.
    columns: Vec<Column>,
}

impl Layout {
    fn new(levels: Vec<usize>) -> Layout {
        let mut stride = Vec::with_capacity(levels.len());
        let mut patterns = 1usize;
        for &n in &levels {
            stride.push(patterns);
            patterns *= n;
        }
        // Per pattern: how many comparisons are at a non-reference level.
        let non_reference: Vec<u8> = (0..patterns)
            .map(|j| {
                levels
                    .iter()
                    .zip(&stride)
                    .filter(|&(&n, &s)| (j / s) % n != n - 1)
                    .count() as u8
            })
            .collect();
        let max_nr = non_reference.iter().copied().max().unwrap_or(0) as u32;
        let mut columns = vec![Column::Intercept, Column::Class];
        for match_only in [false, true] {
            for (c, &n) in levels.iter().enumerate() {
                for l in 0..n - 1 {
                    columns.push(Column::Level {
                        comparison: c,
                        level: l,
                        match_only,
                    });
                }
            }
        }
        columns.push(Column::Slack);
        let max_row = 2 + 2 * max_nr;
        let slack = (0..2)
            .flat_map(|class| {
                non_reference
                    .iter()
                    .map(move |&nr| (max_row - (1 + class) * (1 + nr as u32)) as u8)
            })
            .collect();
        Layout {
            levels,
            stride,
            patterns,
            max_row,
            slack,
            columns,
        }
    }

    /// Level of comparison `c` in pattern `j`.
    fn level(&self, j: usize, c: usize) -> usize {
        (j / self.stride[c]) % self.levels[c]
    }

    /// Calls `f` with each run of consecutive cells of a column whose entries are all
    /// `1 / max_row` (every column but the slack).
    #[inline]
    fn runs(&self, col: Column, mut f: impl FnMut(Range<usize>)) {
        let big_j = self.patterns;
        match col {
            Column::Intercept => f(0..2 * big_j),
            Column::Class => f(big_j..2 * big_j),
            Column::Level {
                comparison,
                level,
                match_only,
            } => {
                let s = self.stride[comparison];
                let block = s * self.levels[comparison];
                for class in usize::from(match_only)..2 {
                    let mut hi = 0;
                    while hi < big_j {
                        let base = class * big_j + hi + level * s;
                        f(base..base + s);
                        hi += block;
                    }
                }
            }
            Column::Slack => unreachable!("the slack column has no unit runs"),
        }
    }

    /// `Σ_i a_ik v_i` over column `k = col`, with `a_ik` the unscaled entry (`max_row` times
    /// the design matrix's).
    fn dot(&self, col: Column, v: &[f64]) -> f64 {
        match col {
            Column::Slack => {
                let mut acc = [0.0; 4];
                for (k, (x, &a)) in v.iter().zip(&self.slack).enumerate() {
                    acc[k % 4] += a as f64 * x;
                }
                acc.iter().sum()
            }
            _ => {
                let mut total = 0.0;
                self.runs(col, |r| total += sum(&v[r]));
                total
            }
        }
    }

    /// `E_i ← E_i · ratio^(C_ik)` for every cell of column `k = col`.
    fn scale(&self, col: Column, e: &mut [f64], ratio: f64, pow: &mut [f64]) {
        let inv_max = 1.0 / self.max_row as f64;
        match col {
            Column::Slack => {
                // ratio^(a / max_row) for every numerator a, as powers of ratio^(1 / max_row).
                let base = ratio.powf(inv_max);
                let mut p = 1.0;
                for x in pow.iter_mut() {
                    *x = p;
                    p *= base;
                }
                for (x, &a) in e.iter_mut().zip(&self.slack) {
                    if a > 0 {
                        *x *= pow[a as usize];
                    }
                }
            }
            _ => {
                let p = ratio.powf(inv_max);
                self.runs(col, |r| e[r].iter_mut().for_each(|x| *x *= p));
            }
        }
    }
}

/// A sum with four accumulators (shorter dependency chains than a plain fold).
fn sum(v: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let chunks = v.chunks_exact(4);
    let rest: f64 = chunks.remainder().iter().sum();
    for c in chunks {
        for k in 0..4 {
            acc[k] += c[k];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + rest
}

/// The whole fit, for [`run`] and the tests.
struct Fit {
    /// The complete table: non-match cells, then match cells.
    table: Vec<f64>,
    trace: Vec<EmIteration>,
    converged: bool,
    /// Scaling cycles of each M-step (read by the tests).
    #[cfg_attr(not(test), allow(dead_code))]
    inner_cycles: Vec<usize>,
}

/// Fits λ, m and u to `counts` from `init` with Haber's algorithm AS 207 (see the module
/// documentation); returns the same [`EmResult`] as [`crate::model::em::run`]. The trace has one
/// entry per outer iteration: λ after it, the log-likelihood (natural log) of the counts under the
/// table before it, and the largest change of any fitted pattern count. Non-convergence (the
/// iteration limit, or an M-step that hits `max_inner_cycles`) is recorded as
/// `converged: false`, not raised.
///
/// # Errors
/// [`Error::Settings`] when a comparison has a null level (every level is a category here: drop
/// the null level so that missing values count as disagreement, as in R RecordLinkage), when a
/// pattern holds a level the parameters do not have, or when the complete table would exceed
/// [`MAX_CELLS`].
///
/// # Examples
/// ```
/// use fellegi::compare::PatternCounts;
/// use fellegi::model::{FsParams, loglinear};
///
/// // One binary comparison (level 0 = agree, 1 = else): 30 pairs agree, 70 do not.
/// let mut vectors: Vec<[u8; 1]> = vec![[0]; 30];
/// vectors.extend(std::iter::repeat([1]).take(70));
/// let counts = PatternCounts::from_vectors(1, vectors.iter().map(|v| &v[..]));
/// let init = FsParams {
///     lambda: 0.5,
///     m: vec![vec![0.8, 0.2]],
///     u: vec![vec![0.2, 0.8]],
///     null_level: vec![None],
/// };
/// let fit = loglinear::run(&counts, &init, &loglinear::As207Options::default()).unwrap();
/// // One comparison saturates the model: the first E-step's shares are the answer.
/// assert!((fit.params.lambda - 0.38).abs() < 1e-6);
/// assert!(fit.converged);
/// ```
///
/// # References
/// Haber, M. (1984). Algorithm AS 207: Fitting a general log-linear model. *Applied Statistics*
/// 33(3), 358–362.
pub fn run(counts: &PatternCounts, init: &FsParams, opt: &As207Options) -> Result<EmResult> {
    let n = counts.total() as f64;
    if n == 0.0 {
        return Ok(EmResult {
            params: init.clone(),
            trace: Vec::new(),
            converged: false,
        });
    }
    let layout = layout_for(init)?;
    let fit = fit(counts, init, &layout, opt)?;
    Ok(EmResult {
        params: marginals(&fit.table, &layout, init, n),
        trace: fit.trace,
        converged: fit.converged,
    })
}

/// Checks `init` and builds the table layout.
fn layout_for(init: &FsParams) -> Result<Layout> {
    for (c, null) in init.null_level.iter().enumerate() {
        if let Some(l) = null {
            return Err(Error::settings(
                ORIGIN,
                format!("comparison[{c}].levels[{l}].predicate"),
                "AS 207 treats every level as a category and has no missing-at-random null level: drop the null level, so that a missing value falls to the else level and counts as disagreement as in R RecordLinkage (or use algorithm = \"em\")",
            ));
        }
    }
    let levels: Vec<usize> = init.m.iter().map(Vec::len).collect();
    let mut cells: u128 = 2;
    for &l in &levels {
        cells = cells.saturating_mul(l as u128);
    }
    if cells > MAX_CELLS as u128 || levels.contains(&0) {
        return Err(Error::settings(
            ORIGIN,
            "comparison",
            format!(
                "AS 207 fits the complete table of 2 classes × every combination of levels: {cells} cells, above the limit of {MAX_CELLS}; use fewer comparisons or levels, or algorithm = \"em\""
            ),
        ));
    }
    Ok(Layout::new(levels))
}

/// The outer loop: E-steps and scaling M-steps until the fitted pattern counts settle.
fn fit(
    counts: &PatternCounts,
    init: &FsParams,
    layout: &Layout,
    opt: &As207Options,
) -> Result<Fit> {
    let big_j = layout.patterns;
    let n_c = layout.levels.len();
    // Observed count of each pattern of the complete table.
    let mut y = vec![0.0; big_j];
    for p in 0..counts.len() {
        let mut j = 0;
        for c in 0..n_c {
            let l = counts.level(p, c) as usize;
            if l >= layout.levels[c] {
                return Err(Error::settings(
                    ORIGIN,
                    format!("comparison[{c}].levels"),
                    format!(
                        "a pattern has level {l} but the parameters have {} levels",
                        layout.levels[c]
                    ),
                ));
            }
            j += l * layout.stride[c];
        }
        y[j] += counts.counts[p] as f64;
    }
    let n: f64 = y.iter().sum();
    // Starting table: N (1 − λ) ∏ u and N λ ∏ m.
    let lambda = init.lambda;
    let mut e = vec![0.0; 2 * big_j];
    for j in 0..big_j {
        let (mut pm, mut pu) = (1.0, 1.0);
        for c in 0..n_c {
            let l = layout.level(j, c);
            pm *= init.m[c][l];
            pu *= init.u[c][l];
        }
        e[j] = n * (1.0 - lambda) * pu;
        e[big_j + j] = n * lambda * pm;
    }
    let margins = |e: &[f64]| -> Vec<f64> { (0..big_j).map(|j| e[j] + e[big_j + j]).collect() };
    let mut f_prev = margins(&e);
    let mut x = vec![0.0; 2 * big_j];
    let mut e_old = vec![0.0; 2 * big_j];
    let mut z = vec![0.0; layout.columns.len()];
    let mut pow = vec![0.0; layout.max_row as usize + 1];
    let mut trace = Vec::new();
    let mut inner_cycles = Vec::new();
    // mygllm compares the first fitted counts with zero: nothing to fit if they are all tiny.
    let mut converged = f_prev.iter().all(|&f| f <= opt.tolerance);
    let mut stalled = false;
    for _ in 0..opt.max_iterations {
        if converged {
            break;
        }
        let f_total: f64 = f_prev.iter().sum();
        let log_likelihood: f64 = (0..big_j)
            .filter(|&j| y[j] > 0.0)
            .map(|j| y[j] * (f_prev[j] / f_total).max(PROB_FLOOR).ln())
            .sum();
        // E-step: each cell's share of its pattern's observed count.
        for j in 0..big_j {
            if f_prev[j] != 0.0 {
                x[j] = e[j] * y[j] / f_prev[j];
                x[big_j + j] = e[big_j + j] * y[j] / f_prev[j];
            }
        }
        for (k, &col) in layout.columns.iter().enumerate() {
            z[k] = layout.dot(col, &x);
        }
        // M-step: cyclic generalised iterative scaling until no cell moves more than tol.
        let mut cycles = 0;
        loop {
            cycles += 1;
            e_old.copy_from_slice(&e);
            for (k, &col) in layout.columns.iter().enumerate() {
                let g = layout.dot(col, &e);
                if g != 0.0 {
                    layout.scale(col, &mut e, z[k] / g, &mut pow);
                }
            }
            let mut moved: f64 = 0.0;
            for (a, b) in e.iter().zip(&e_old) {
                let d = (a - b).abs();
                if d > moved || d.is_nan() {
                    moved = d; // a NaN sticks (NaN > x is false), and ends the loop below
                }
            }
            if moved <= opt.tolerance {
                break;
            }
            if cycles >= opt.max_inner_cycles || moved.is_nan() {
                stalled = true;
                break;
            }
        }
        inner_cycles.push(cycles);
        let f = margins(&e);
        let change = f
            .iter()
            .zip(&f_prev)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        let matches: f64 = e[big_j..].iter().sum();
        trace.push(EmIteration {
            lambda: matches / n,
            log_likelihood,
            max_change: change,
            m: Vec::new(),
            u: Vec::new(),
        });
        f_prev = f;
        if stalled {
            break;
        }
        converged = change <= opt.tolerance;
    }
    Ok(Fit {
        table: e,
        trace,
        converged: converged && !stalled,
        inner_cycles,
    })
}

/// λ, m and u as the marginals of the fitted table; a class without mass keeps `init`'s values.
fn marginals(table: &[f64], layout: &Layout, init: &FsParams, n: f64) -> FsParams {
    let big_j = layout.patterns;
    let mut p = init.clone();
    let mut am: Vec<Vec<f64>> = layout.levels.iter().map(|&l| vec![0.0; l]).collect();
    let mut au = am.clone();
    for j in 0..big_j {
        for c in 0..layout.levels.len() {
            let l = layout.level(j, c);
            au[c][l] += table[j];
            am[c][l] += table[big_j + j];
        }
    }
    let su: f64 = table[..big_j].iter().sum();
    let sm: f64 = table[big_j..].iter().sum();
    p.lambda = (sm / n).clamp(PROB_FLOOR, 1.0 - PROB_FLOOR);
    for c in 0..layout.levels.len() {
        if sm > 0.0 {
            p.m[c] = am[c].iter().map(|v| v / sm).collect();
        }
        if su > 0.0 {
            p.u[c] = au[c].iter().map(|v| v / su).collect();
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::em::{self, EmOptions};
    use rand::rngs::ChaCha8Rng;
    use rand::{RngExt, SeedableRng};

    fn binary(lambda: f64, m: &[f64], u: &[f64]) -> FsParams {
        FsParams {
            lambda,
            m: m.iter().map(|&v| vec![v, 1.0 - v]).collect(),
            u: u.iter().map(|&v| vec![v, 1.0 - v]).collect(),
            null_level: vec![None; m.len()],
        }
    }

    #[test]
    fn one_comparison_by_hand() {
        // 30 agree, 70 disagree; start λ = 0.5, m = (0.8, 0.2), u = (0.2, 0.8), N = 100.
        // Start table: non-match (10, 40), match (40, 10); F = (50, 50). E-step: X = E y / F =
        // non-match (6, 56), match (24, 14). One comparison saturates the model, so scaling
        // converges to X: λ = 38/100, m = (24, 14)/38, u = (6, 56)/62; then F = y and the next
        // iteration changes nothing (up to the scaling loop's tolerance).
        let mut v: Vec<[u8; 1]> = vec![[0]; 30];
        v.extend(std::iter::repeat_n([1], 70));
        let counts = PatternCounts::from_vectors(1, v.iter().map(|v| &v[..]));
        let opt = As207Options {
            tolerance: 1e-11,
            ..As207Options::default()
        };
        let init = binary(0.5, &[0.8], &[0.2]);
        let layout = layout_for(&init).unwrap();
        assert_eq!(layout.max_row, 4);
        assert_eq!(layout.columns.len(), 5);
        let f = fit(&counts, &init, &layout, &opt).unwrap();
        assert!(f.converged);
        // The first M-step moves F from (50, 50) to y = (30, 70); later ones only take up what
        // the scaling loop, stopped at the tolerance, left (a few ulps of cycles).
        assert!((f.trace[0].max_change - 20.0).abs() < 1e-9);
        assert!(f.trace.len() <= 5, "{:?}", f.trace);
        assert!(f.trace[1..].iter().all(|t| t.max_change < 1e-9));
        assert_eq!(f.inner_cycles.len(), f.trace.len());
        for (got, want) in f.table.iter().zip([6.0, 56.0, 24.0, 14.0]) {
            assert!((got - want).abs() < 1e-9, "{:?}", f.table);
        }
        let r = run(&counts, &init, &opt).unwrap();
        assert!((r.params.lambda - 0.38).abs() < 1e-12);
        assert!((r.params.m[0][0] - 24.0 / 38.0).abs() < 1e-11);
        assert!((r.params.u[0][0] - 6.0 / 62.0).abs() < 1e-11);
        // Log-likelihood before the first M-step: F = (50, 50).
        let ll0 = 100.0 * 0.5f64.ln();
        assert!((r.trace[0].log_likelihood - ll0).abs() < 1e-9);
    }

    /// Counts drawn from a known model with three binary and one three-level comparison.
    fn synthetic(seed: u64) -> PatternCounts {
        let truth = FsParams {
            lambda: 0.2,
            m: vec![
                vec![0.9, 0.1],
                vec![0.85, 0.15],
                vec![0.8, 0.2],
                vec![0.7, 0.2, 0.1],
            ],
            u: vec![
                vec![0.1, 0.9],
                vec![0.05, 0.95],
                vec![0.3, 0.7],
                vec![0.05, 0.15, 0.8],
            ],
            null_level: vec![None; 4],
        };
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut vectors = Vec::new();
        for _ in 0..20_000 {
            let is_match = rng.random::<f64>() < truth.lambda;
            let v: Vec<u8> = (0..4)
                .map(|c| {
                    let probs = if is_match { &truth.m[c] } else { &truth.u[c] };
                    let r: f64 = rng.random();
                    let mut acc = 0.0;
                    for (l, &p) in probs.iter().enumerate() {
                        acc += p;
                        if r < acc {
                            return l as u8;
                        }
                    }
                    (probs.len() - 1) as u8
                })
                .collect();
            vectors.push(v);
        }
        PatternCounts::from_vectors(4, vectors.iter().map(Vec::as_slice))
    }

    fn start() -> FsParams {
        FsParams {
            lambda: 0.1,
            m: vec![
                vec![0.8, 0.2],
                vec![0.8, 0.2],
                vec![0.7, 0.3],
                vec![0.6, 0.3, 0.1],
            ],
            u: vec![
                vec![0.2, 0.8],
                vec![0.2, 0.8],
                vec![0.4, 0.6],
                vec![0.1, 0.2, 0.7],
            ],
            null_level: vec![None; 4],
        }
    }

    #[test]
    fn tight_tolerance_reaches_the_fixed_point_of_plain_em() {
        let counts = synthetic(7);
        let init = start();
        let a = run(
            &counts,
            &init,
            &As207Options {
                tolerance: 1e-9,
                ..As207Options::default()
            },
        )
        .unwrap();
        assert!(a.converged);
        let mut opt = EmOptions::all_free(&[2, 2, 2, 3]);
        opt.max_iterations = 100_000;
        opt.tolerance = 1e-13;
        let b = em::run(&counts, &init, &opt);
        assert!(b.converged);
        assert!((a.params.lambda - b.params.lambda).abs() < 1e-6);
        for c in 0..4 {
            for l in 0..a.params.m[c].len() {
                assert!((a.params.m[c][l] - b.params.m[c][l]).abs() < 1e-6);
                assert!((a.params.u[c][l] - b.params.u[c][l]).abs() < 1e-6);
            }
        }
        // The likelihood never falls (a generalised EM), up to the inner tolerance.
        for w in a.trace.windows(2) {
            assert!(w[1].log_likelihood >= w[0].log_likelihood - 1e-6);
        }
    }

    #[test]
    fn the_table_is_the_product_of_its_marginals() {
        let counts = synthetic(3);
        let init = start();
        let layout = layout_for(&init).unwrap();
        let f = fit(&counts, &init, &layout, &As207Options::default()).unwrap();
        let n = counts.total() as f64;
        let p = marginals(&f.table, &layout, &init, n);
        let big_j = layout.patterns;
        for j in 0..big_j {
            let (mut pm, mut pu) = (1.0, 1.0);
            for c in 0..4 {
                let l = layout.level(j, c);
                pm *= p.m[c][l];
                pu *= p.u[c][l];
            }
            let (tm, tu) = (f.table[big_j + j], f.table[j]);
            let total: f64 = f.table.iter().sum();
            assert!(
                (n * p.lambda * pm - tm).abs() < 1e-6 * total.max(1.0),
                "{j}"
            );
            assert!(
                (n * (1.0 - p.lambda) * pu - tu).abs() < 1e-6 * total.max(1.0),
                "{j}"
            );
        }
    }

    #[test]
    fn design_columns_and_slack() {
        let layout = layout_for(&start()).unwrap();
        // intercept, x, 1 + 1 + 1 + 2 indicators, the same times x, slack.
        assert_eq!(layout.columns.len(), 2 + 5 + 5 + 1);
        assert_eq!(layout.max_row, 10);
        // Every row of the scaled matrix sums to 1 (slack included).
        let mut row: Vec<u32> = layout.slack.iter().map(|&a| a as u32).collect();
        for &col in &layout.columns[..layout.columns.len() - 1] {
            layout.runs(col, |r| r.for_each(|i| row[i] += 1));
        }
        assert!(row.iter().all(|&r| r == layout.max_row), "{row:?}");
    }

    #[test]
    fn null_levels_and_huge_tables_are_refused() {
        let mut p = binary(0.1, &[0.9], &[0.1]);
        p.m[0] = vec![1.0, 0.9, 0.1];
        p.u[0] = vec![1.0, 0.1, 0.9];
        p.null_level[0] = Some(0);
        let counts = PatternCounts::from_vectors(1, [&[1u8][..]]);
        let e = run(&counts, &p, &As207Options::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("comparison[0].levels[0].predicate") && e.contains("null level"),
            "{e}"
        );
        let big = binary(0.1, &[0.9; 22], &[0.1; 22]);
        let counts = PatternCounts::from_vectors(22, [&[0u8; 22][..]]);
        let e = run(&counts, &big, &As207Options::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("8388608 cells") && e.contains("em"), "{e}");
    }

    #[test]
    fn inner_cap_is_recorded_as_non_convergence() {
        let counts = synthetic(1);
        let r = run(
            &counts,
            &start(),
            &As207Options {
                max_inner_cycles: 1,
                ..As207Options::default()
            },
        )
        .unwrap();
        assert!(!r.converged);
        assert_eq!(r.trace.len(), 1);
        let init = start();
        let layout = layout_for(&init).unwrap();
        let opt = As207Options {
            max_inner_cycles: 1,
            ..As207Options::default()
        };
        let f = fit(&counts, &init, &layout, &opt).unwrap();
        assert_eq!(f.inner_cycles, [1]);
    }
}
