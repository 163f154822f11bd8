//! Bayesian one-to-one (bipartite) linkage of two sources: variational Beta linkage (`vabl`) and
//! fast Beta linkage (`fabl`, a Gibbs sampler), on the comparison patterns of every pair of the
//! two files.
//!
//! The model (Sadinle 2017's bipartite record linkage as hashed by fabl): each record `j` of the
//! second file links to at most one record of the first (n1 records), with prior link
//! probability π ~ Beta(α_π, β_π) (default Beta(1, 1)) and, when linked, a uniform record of the
//! first file; the comparison levels of a pair are independent across comparisons given its
//! match status, with m and u of each comparison Dirichlet(1, …, 1) a priori. A missing value
//! (a null level) contributes to neither m nor u (missing at random). Records of the first file
//! may link to several records of the second inside the model; the Bayes estimate below resolves
//! that, as the papers do.
//!
//! Both work on pattern counts: per record `j` of the second file, the number of records `i` of
//! the first at each comparison pattern ([`Bipartite`]), so an iteration costs O(n2 × patterns
//! per record), not O(n1 × n2). The dense quantities are `ndarray` matrices: the patterns ×
//! comparisons table of levels ([`Bipartite::patterns`]) and, per comparison and level, the
//! Dirichlet parameters and draws of m and u. The responsibilities φ_p / C_j are kept sparse,
//! per record `j` over its own patterns only ([`Bipartite::per_record`]): a dense n2 × patterns
//! matrix would be mostly zeros.
//!
//! - [`vabl`]: coordinate-ascent variational inference with the updates of Kundinger, Reiter &
//!   Steorts (vabl: Dirichlet parameters `a`, `b` of m and u, Beta parameters of π, the pattern
//!   weights φ_p = exp(ψ(a_π) − ψ(n1) + Σ (ψ(a) − ψ(Σa)) − (ψ(b) − ψ(Σb))) and the normalisers
//!   C_j), stopping when the relative change of the evidence lower bound between checks (every
//!   10 iterations) falls below 1e-6, as the `vabl` R package (`briankundinger/vabldev`,
//!   `R/vabl.R`).
//! - [`fabl`]: the Gibbs sampler of Kundinger, Reiter & Steorts (2024): m, u from their Dirichlet
//!   full conditionals, π from Beta(L + α_π, n2 − L + β_π), then each record's link drawn over
//!   "no link" and its patterns, and a record uniformly among those at the drawn pattern;
//!   1,000 iterations, the first 100 discarded (`R/fabl.R`), seeded with ChaCha8.
//! - [`bayes_estimate`]: the Bayes estimate of the matching under Sadinle's (2017) loss with
//!   λ_FNM = 1, λ_FM1 = 1, λ_FM2 = 2 and no reject option: record `j` links to its most probable
//!   record when that probability exceeds 1/2; a record of the first file claimed twice keeps the
//!   more probable link (`R/estimate_links.R`). For vabl, a record is a candidate only when it
//!   is the only record of the first file at its pattern for `j` (the package's `flags`).
//!
//! # References
//! - Sadinle, M. (2017). Bayesian estimation of bipartite matchings for record linkage. *JASA*
//!   112(518), 600–612.
//! - Kundinger, B., Reiter, J. P. & Steorts, R. C. (2024). Efficient and scalable bipartite
//!   matching with fast Beta linkage (fabl). *Bayesian Analysis* (advance publication).
//! - Kundinger, B., Reiter, J. P. & Steorts, R. C. (2025). Variational Beta linkage (vabl):
//!   scalable variational inference for bipartite record linkage. *JASA* (replication files:
//!   github.com/briankundinger/vabl-jasa).

use ndarray::Array2;
use rand::RngExt;
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Gamma};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use statrs::function::gamma::{digamma, ln_gamma};

use crate::compare::Comparer;
use crate::data::{Dataset, MISSING};
use crate::error::{Error, Result};

/// Most records of the first file kept per (record of the second file, pattern) for fabl's
/// draw of a record at a pattern; a draw at a pattern shared by more records links to none of
/// them in particular (each such record can then get at most about 1/`KEEP` of the draws, far
/// below the 1/2 a link needs). fabl's storage-efficient indexing keeps a similar number.
pub const KEEP: usize = 16;

/// One pattern of one record of the second file: how many records of the first file it has,
/// and the first of them (up to [`KEEP`]), as indices into [`Bipartite::left`].
#[derive(Debug, Clone, PartialEq)]
pub struct RecordPattern {
    /// Index into [`Bipartite::patterns`].
    pub pattern: u32,
    /// Records of the first file at this pattern.
    pub count: u32,
    /// The first `min(count, KEEP)` of them, ascending.
    pub records: Vec<u32>,
}

/// The comparison patterns of every pair of two sources, per record of the second source.
#[derive(Debug, Clone)]
pub struct Bipartite {
    /// Dataset indices of the first source's records (n1).
    pub left: Vec<u32>,
    /// Dataset indices of the second source's records (n2).
    pub right: Vec<u32>,
    /// Levels per comparison (the null level included).
    pub n_levels: Vec<usize>,
    /// Each comparison's null level.
    pub null_level: Vec<Option<usize>>,
    /// Distinct patterns, ascending: row `p` holds pattern `p`'s level of each comparison
    /// (patterns × comparisons).
    pub patterns: Array2<u8>,
    /// Pairs at each pattern (N_p).
    pub total: Vec<u64>,
    /// Per record of the second source: its patterns, ascending by pattern.
    pub per_record: Vec<Vec<RecordPattern>>,
}

impl Bipartite {
    /// Compares every pair of source 0 × source 1 of `ds`. Each comparison's level is
    /// tabulated once per pair of distinct values (one side's values × the other's) when that
    /// table has at most 64M entries (exact-only comparisons compare value ids), so a pair
    /// costs a few look-ups.
    ///
    /// # Errors
    /// [`Error::Settings`] unless `ds` has exactly two sources.
    pub fn build(ds: &Dataset, comparer: &Comparer) -> Result<Bipartite> {
        if ds.sources.len() != 2 {
            return Err(Error::settings(
                "settings",
                "training.algorithm",
                format!(
                    "vabl and fabl link exactly two sources (one-to-one), and the inputs are {}: give two files with link_type = \"link\"",
                    ds.sources.len()
                ),
            ));
        }
        let left: Vec<u32> = (0..ds.len() as u32)
            .filter(|&r| ds.source_of[r as usize] == 0)
            .collect();
        let right: Vec<u32> = (0..ds.len() as u32)
            .filter(|&r| ds.source_of[r as usize] == 1)
            .collect();
        let k = comparer.len();
        // Per comparison, how a pair's level is found: exact-only comparisons (null, exact,
        // else) by comparing value ids; others from a table over (left value, right value)
        // computed once per distinct value pair (FEBRL4, 5,000 × 5,000: the pairs' levels cost
        // a few table look-ups instead of 50M string distances).
        enum How {
            Exact {
                null: u8,
                exact: u8,
                other: u8,
            },
            Table {
                li: Vec<u32>,
                ri: Vec<u32>,
                n_right: usize,
                level: Vec<u8>,
            },
            Generic,
        }
        let hows: Vec<How> = (0..k)
            .map(|c| {
                let cmp = &comparer.comparisons[c];
                let col = &ds.columns[cmp.column];
                let p = &cmp.predicates;
                let pos = |q: &crate::compare::Predicate| p.iter().position(|x| x == q);
                use crate::compare::Predicate as P;
                if p.iter().all(|x| matches!(x, P::Null | P::Exact | P::Else)) {
                    if let (Some(e), Some(o)) = (pos(&P::Exact), pos(&P::Else)) {
                        return How::Exact {
                            null: pos(&P::Null).unwrap_or(o) as u8,
                            exact: e as u8,
                            other: o as u8,
                        };
                    }
                }
                let local = |recs: &[u32]| {
                    let mut ids: FxHashMap<u32, u32> = FxHashMap::default();
                    let mut vals = Vec::new();
                    let idx: Vec<u32> = recs
                        .iter()
                        .map(|&r| {
                            let v = comparer.row(r)[c];
                            *ids.entry(v).or_insert_with(|| {
                                vals.push(v);
                                vals.len() as u32 - 1
                            })
                        })
                        .collect();
                    (idx, vals)
                };
                let (li, lv) = local(&left);
                let (ri, rv) = local(&right);
                if lv.len().saturating_mul(rv.len()) > 64 << 20 {
                    return How::Generic;
                }
                let level: Vec<u8> = lv
                    .par_iter()
                    .flat_map_iter(|&a| {
                        rv.iter().map(move |&b| {
                            if a == MISSING || b == MISSING {
                                cmp.level(col, MISSING, MISSING)
                            } else {
                                cmp.level(col, a, b)
                            }
                        })
                    })
                    .collect();
                How::Table {
                    li,
                    ri,
                    n_right: rv.len(),
                    level,
                }
            })
            .collect();
        let generic = hows.iter().any(|h| matches!(h, How::Generic));
        // Patterns per record j are counted in a dense array indexed by the mixed-radix code of
        // the levels when there are at most 2^16 codes, else in a hash map.
        let n_levels: Vec<usize> = comparer.comparisons.iter().map(|c| c.n_levels()).collect();
        let n_codes = n_levels
            .iter()
            .try_fold(1usize, |acc, &n| acc.checked_mul(n))
            .filter(|&n| n <= 1 << 16);
        let per: Vec<Vec<(u128, u32, Vec<u32>)>> = (0..right.len())
            .into_par_iter()
            .map_init(
                || {
                    (
                        vec![0u32; n_codes.unwrap_or(0)],
                        vec![Vec::<u32>::new(); n_codes.unwrap_or(0)],
                        Vec::<usize>::new(),
                    )
                },
                |(dense, firsts, touched), j| {
                    let mut map: FxHashMap<u128, (u32, Vec<u32>)> = FxHashMap::default();
                    let mut lv = vec![0u8; k];
                    let mut full = vec![0u8; k];
                    let (rj, rowj) = (right[j], comparer.row(right[j]));
                    for (i, &li_rec) in left.iter().enumerate() {
                        if generic {
                            let (a, b) = (li_rec.min(rj), li_rec.max(rj));
                            comparer.vector(ds, a, b, &mut full);
                        }
                        let rowi = comparer.row(li_rec);
                        for (c, h) in hows.iter().enumerate() {
                            lv[c] = match h {
                                How::Exact { null, exact, other } => {
                                    let (a, b) = (rowi[c], rowj[c]);
                                    if a == MISSING || b == MISSING {
                                        *null
                                    } else if a == b {
                                        *exact
                                    } else {
                                        *other
                                    }
                                }
                                How::Table {
                                    li,
                                    ri,
                                    n_right,
                                    level,
                                } => level[li[i] as usize * n_right + ri[j] as usize],
                                How::Generic => full[c],
                            };
                        }
                        if n_codes.is_some() {
                            let mut code = 0usize;
                            for c in (0..k).rev() {
                                code = code * n_levels[c] + lv[c] as usize;
                            }
                            if dense[code] == 0 {
                                touched.push(code);
                            }
                            dense[code] += 1;
                            if firsts[code].len() < KEEP {
                                firsts[code].push(i as u32);
                            }
                        } else {
                            let e = map
                                .entry(crate::compare::pack(&lv))
                                .or_insert((0, Vec::new()));
                            e.0 += 1;
                            if e.1.len() < KEEP {
                                e.1.push(i as u32);
                            }
                        }
                    }
                    for &code in touched.iter() {
                        let mut x = code;
                        for (c, &n) in n_levels.iter().enumerate() {
                            lv[c] = (x % n) as u8;
                            x /= n;
                        }
                        map.insert(
                            crate::compare::pack(&lv),
                            (dense[code], std::mem::take(&mut firsts[code])),
                        );
                        dense[code] = 0;
                    }
                    touched.clear();
                    let mut v: Vec<(u128, u32, Vec<u32>)> =
                        map.into_iter().map(|(p, (n, r))| (p, n, r)).collect();
                    v.sort_unstable_by_key(|x| x.0);
                    v
                },
            )
            .collect();
        let mut keys: Vec<u128> = per.iter().flat_map(|v| v.iter().map(|x| x.0)).collect();
        keys.sort_unstable();
        keys.dedup();
        let mut total = vec![0u64; keys.len()];
        let per_record: Vec<Vec<RecordPattern>> = per
            .into_iter()
            .map(|v| {
                v.into_iter()
                    .map(|(p, n, records)| {
                        let id = keys.binary_search(&p).unwrap_or(0);
                        total[id] += n as u64;
                        RecordPattern {
                            pattern: id as u32,
                            count: n,
                            records,
                        }
                    })
                    .collect()
            })
            .collect();
        let mut patterns = Array2::<u8>::zeros((keys.len(), k));
        for (mut row, &p) in patterns.rows_mut().into_iter().zip(&keys) {
            for (c, x) in row.iter_mut().enumerate() {
                *x = ((p >> (4 * c)) & 0xF) as u8;
            }
        }
        Ok(Bipartite {
            left,
            right,
            n_levels,
            null_level: comparer.comparisons.iter().map(|c| c.null_level).collect(),
            patterns,
            total,
            per_record,
        })
    }

    /// Records of the first source.
    pub fn n1(&self) -> usize {
        self.left.len()
    }

    /// Records of the second source.
    pub fn n2(&self) -> usize {
        self.right.len()
    }

    /// Distinct patterns.
    pub fn n_patterns(&self) -> usize {
        self.patterns.nrows()
    }

    /// Whether level `l` of comparison `c` counts (is not the null level).
    fn counts(&self, c: usize, l: usize) -> bool {
        self.null_level[c] != Some(l)
    }

    /// A table over comparisons × levels filled with `x`: one row per comparison, as many
    /// columns as the comparison with the most levels (a row's columns past its comparison's
    /// levels are never read).
    fn level_table(&self, x: f64) -> Array2<f64> {
        let width = self.n_levels.iter().copied().max().unwrap_or(0);
        Array2::from_elem((self.n_levels.len(), width), x)
    }

    /// Per comparison and level ([`Self::level_table`]): Σ_p weight_p over the patterns at that
    /// level (0 at null levels).
    fn level_sums(&self, weight: &[f64]) -> Array2<f64> {
        let mut out = self.level_table(0.0);
        for (lv, &w) in self.patterns.rows().into_iter().zip(weight) {
            for (c, &l) in lv.iter().enumerate() {
                if self.counts(c, l as usize) {
                    out[[c, l as usize]] += w;
                }
            }
        }
        out
    }

    /// The level table `x` as one `Vec` per comparison of its levels, `f` applied to each
    /// counted level's value and its comparison's total over counted levels (null levels 1).
    fn per_level(&self, x: &Array2<f64>, f: impl Fn(f64, f64) -> f64) -> Vec<Vec<f64>> {
        self.n_levels
            .iter()
            .enumerate()
            .map(|(c, &n)| {
                let tot = self.level_total(x, c);
                (0..n)
                    .map(|l| {
                        if self.counts(c, l) {
                            f(x[[c, l]], tot)
                        } else {
                            1.0
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// Σ over the counted levels of comparison `c` of the level table `x`.
    fn level_total(&self, x: &Array2<f64>, c: usize) -> f64 {
        (0..self.n_levels[c])
            .filter(|&l| self.counts(c, l))
            .map(|l| x[[c, l]])
            .sum()
    }
}

/// The posterior of each record of the second source: its most probable record of the first
/// (if any) and that probability, and the probability of no link.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkPosterior {
    /// Per record `j` of the second source: (index into [`Bipartite::left`], posterior
    /// probability) of its most probable candidate, `None` when no record is a candidate.
    pub best: Vec<Option<(u32, f64)>>,
    /// Per record `j`: posterior probability that it links to no record.
    pub no_link: Vec<f64>,
    /// Posterior mean of m per comparison and level (null levels 1).
    pub m: Vec<Vec<f64>>,
    /// Posterior mean of u per comparison and level (null levels 1).
    pub u: Vec<Vec<f64>>,
    /// Posterior mean of π, the share of the second source's records that link.
    pub pi: f64,
    /// Iterations run.
    pub iterations: usize,
    /// vabl: whether the ELBO criterion was met; fabl: always true (a fixed chain length).
    pub converged: bool,
    /// vabl: the ELBO at each check; fabl: the number of links after each iteration.
    pub trace: Vec<f64>,
}

/// Options of [`vabl`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VablOptions {
    /// Stop when the relative ELBO change between checks is below this; default 1e-6.
    pub tolerance: f64,
    /// Most iterations; default 1,000.
    pub max_iterations: usize,
    /// Iterations between ELBO checks; default 10.
    pub check_every: usize,
}

impl Default for VablOptions {
    fn default() -> Self {
        VablOptions {
            tolerance: 1e-6,
            max_iterations: 1000,
            check_every: 10,
        }
    }
}

/// Σ over groups of `ln Γ(x)` minus `ln Γ(Σ x)` (the log normaliser of a Dirichlet), summed
/// over comparisons, skipping null levels.
fn log_dirichlet_norm(bp: &Bipartite, x: &Array2<f64>) -> f64 {
    let mut s = 0.0;
    for (c, &n) in bp.n_levels.iter().enumerate() {
        let mut tot = 0.0;
        for l in 0..n {
            if bp.counts(c, l) {
                let v = x[[c, l]];
                s += ln_gamma(v);
                tot += v;
            }
        }
        s -= ln_gamma(tot);
    }
    s
}

/// ψ(x) − ψ(Σ x) per level (0 at null levels).
fn digamma_chunk(bp: &Bipartite, x: &Array2<f64>) -> Array2<f64> {
    let mut out = bp.level_table(0.0);
    for (c, &n) in bp.n_levels.iter().enumerate() {
        let dt = digamma(bp.level_total(x, c));
        for l in 0..n {
            if bp.counts(c, l) {
                out[[c, l]] = digamma(x[[c, l]]) - dt;
            }
        }
    }
    out
}

fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// Normalised Dirichlet means (null levels 1).
fn means(bp: &Bipartite, x: &Array2<f64>) -> Vec<Vec<f64>> {
    bp.per_level(x, |v, tot| v / tot)
}

/// Variational Beta linkage (see the [module documentation](self)).
pub fn vabl(bp: &Bipartite, opts: &VablOptions) -> LinkPosterior {
    let (n1, n2) = (bp.n1() as f64, bp.n2() as f64);
    let np = bp.n_patterns();
    let prior = 1.0;
    let prior_pi = (1.0, 1.0);
    // Dirichlet parameters of m (a) and u (b), comparisons × levels.
    let mut a = bp.level_table(prior);
    let totals: Vec<f64> = bp.total.iter().map(|&t| t as f64).collect();
    let mut b = bp.level_sums(&totals).mapv(|x| x + prior);
    let (mut a_pi, mut b_pi) = (1.0, 1.0);
    let mut elbo: Vec<f64> = Vec::new();
    let mut phi = vec![0.0; np];
    let mut cj = vec![0.0; bp.n2()];
    let mut weights = vec![0.0; np];
    let mut t = 1;
    let mut converged = false;
    loop {
        let ac = digamma_chunk(bp, &a);
        let bc = digamma_chunk(bp, &b);
        let mut u_p = vec![0.0; np];
        for (p, lv) in bp.patterns.rows().into_iter().enumerate() {
            let (mut m, mut u) = (0.0, 0.0);
            for (c, &l) in lv.iter().enumerate() {
                m += ac[[c, l as usize]];
                u += bc[[c, l as usize]];
            }
            weights[p] = m - u;
            u_p[p] = u;
            phi[p] = (digamma(a_pi) - digamma(n1) + weights[p]).exp();
        }
        let single = digamma(b_pi).exp();
        // Per record: C_j = Σ_p N_jp φ_p + single (fixed-size chunks merged in order).
        cj.par_iter_mut().zip(&bp.per_record).for_each(|(c, rec)| {
            *c = rec
                .iter()
                .map(|x| x.count as f64 * phi[x.pattern as usize])
                .sum::<f64>()
                + single;
        });
        let total_nonmatch: f64 = cj.iter().map(|c| single / c).sum();
        // K_p = Σ_j N_jp / C_j.
        let mut kp = vec![0.0; np];
        for (rec, &c) in bp.per_record.iter().zip(&cj) {
            for x in rec {
                kp[x.pattern as usize] += x.count as f64 / c;
            }
        }
        let matched: Vec<f64> = (0..np).map(|p| phi[p] * kp[p]).collect();
        let unmatched: Vec<f64> = (0..np).map(|p| totals[p] - matched[p]).collect();
        a = bp.level_sums(&matched).mapv(|x| prior + x);
        b = bp.level_sums(&unmatched).mapv(|x| prior + x);
        a_pi = prior_pi.0 + n2 - total_nonmatch;
        b_pi = prior_pi.1 + total_nonmatch;
        if t % opts.check_every == 0 || t == 1 {
            // The ELBO, term by term as in the vabl package.
            let mut e1 = 0.0;
            for (rec, &c) in bp.per_record.iter().zip(&cj) {
                for x in rec {
                    let p = x.pattern as usize;
                    e1 += x.count as f64
                        * (phi[p] * (weights[p] - phi[p].ln() + c.ln()) / c + u_p[p]);
                }
            }
            let e2 = single * cj.iter().map(|c| c.ln() / c).sum::<f64>()
                + total_nonmatch * (n1.ln() - single.ln())
                - n1.ln() * n2;
            let e3 = ln_beta(a_pi, b_pi) - ln_beta(prior_pi.0, prior_pi.1);
            let e4 = log_dirichlet_norm(bp, &a) + log_dirichlet_norm(bp, &b);
            let e5 = -2.0 * log_dirichlet_norm(bp, &bp.level_table(prior));
            let mut e6 = 0.0;
            for (c, &n) in bp.n_levels.iter().enumerate() {
                for l in 0..n {
                    if bp.counts(c, l) {
                        e6 += (prior - a[[c, l]]) * ac[[c, l]] + (prior - b[[c, l]]) * bc[[c, l]];
                    }
                }
            }
            elbo.push(e1 + e2 + e3 + e4 + e5 + e6);
            if t % opts.check_every == 0 && elbo.len() >= 2 {
                let (x, y) = (elbo[elbo.len() - 1], elbo[elbo.len() - 2]);
                if ((x - y) / y).abs() < opts.tolerance {
                    converged = true;
                    break;
                }
            }
        }
        if t >= opts.max_iterations {
            break;
        }
        t += 1;
    }
    // Posterior of each record's link: φ_p / C_j for a record alone at its pattern, no link
    // exp(ψ(b_π)) / C_j.
    let single = digamma(b_pi).exp();
    let mut best = Vec::with_capacity(bp.n2());
    let mut no_link = Vec::with_capacity(bp.n2());
    for (rec, &c) in bp.per_record.iter().zip(&cj) {
        let nl = single / c;
        let mut top: Option<(u32, f64)> = None;
        for x in rec.iter().filter(|x| x.count == 1) {
            let pr = phi[x.pattern as usize] / c;
            if top.is_none_or(|(_, q)| pr > q) {
                top = Some((x.records[0], pr));
            }
        }
        best.push(top);
        no_link.push(nl);
    }
    LinkPosterior {
        best,
        no_link,
        m: means(bp, &a),
        u: means(bp, &b),
        pi: a_pi / (a_pi + b_pi),
        iterations: t,
        converged,
        trace: elbo,
    }
}

/// Options of [`fabl`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FablOptions {
    /// Gibbs iterations; default 1,000.
    pub iterations: usize,
    /// Iterations discarded as burn-in; default 100.
    pub burn_in: usize,
}

impl Default for FablOptions {
    fn default() -> Self {
        FablOptions {
            iterations: 1000,
            burn_in: 100,
        }
    }
}

/// One Dirichlet draw from Gamma variates (levels with parameter 0 get 0).
fn dirichlet(rng: &mut ChaCha8Rng, alpha: &[f64], skip: Option<usize>) -> Vec<f64> {
    let mut x: Vec<f64> = alpha
        .iter()
        .enumerate()
        .map(|(l, &a)| {
            if Some(l) == skip {
                1.0
            } else {
                Gamma::new(a, 1.0).map_or(0.0, |g| g.sample(rng))
            }
        })
        .collect();
    let tot: f64 = x
        .iter()
        .enumerate()
        .filter(|(l, _)| Some(*l) != skip)
        .map(|(_, v)| v)
        .sum();
    for (l, v) in x.iter_mut().enumerate() {
        if Some(l) != skip {
            *v /= tot;
        }
    }
    x
}

/// One draw of each comparison's levels from Dirichlet(1 + `counts`) ([`dirichlet`]), in
/// comparison order, as a level table.
fn dirichlet_rows(bp: &Bipartite, rng: &mut ChaCha8Rng, counts: &Array2<f64>) -> Array2<f64> {
    let mut out = bp.level_table(0.0);
    for (c, &n) in bp.n_levels.iter().enumerate() {
        let post: Vec<f64> = counts.row(c).iter().take(n).map(|x| 1.0 + x).collect();
        for (l, v) in dirichlet(rng, &post, bp.null_level[c])
            .into_iter()
            .enumerate()
        {
            out[[c, l]] = v;
        }
    }
    out
}

/// Fast Beta linkage, a seeded Gibbs sampler (see the [module documentation](self)).
pub fn fabl(bp: &Bipartite, opts: &FablOptions, seed: u64) -> LinkPosterior {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (n1, n2) = (bp.n1() as f64, bp.n2());
    let np = bp.n_patterns();
    let totals: Vec<f64> = bp.total.iter().map(|&t| t as f64).collect();
    // Z_j: (index into per_record[j], drawn record or u32::MAX when the pattern holds more
    // records than kept) or none.
    let mut z: Vec<Option<(u32, u32)>> = vec![None; n2];
    let mut links = 0usize;
    let mut matches = vec![0.0; np];
    // Draw counts per record j: (record, times), and the no-link count.
    let mut tally: Vec<FxHashMap<u32, u32>> = vec![FxHashMap::default(); n2];
    let mut no_link = vec![0u32; n2];
    let (mut m_sum, mut u_sum, mut pi_sum) = (bp.level_table(0.0), bp.level_table(0.0), 0.0);
    let mut trace = Vec::with_capacity(opts.iterations);
    let mut probs: Vec<f64> = Vec::new();
    for s in 0..opts.iterations {
        let az = bp.level_sums(&matches);
        let nonm: Vec<f64> = (0..np).map(|p| totals[p] - matches[p]).collect();
        let bz = bp.level_sums(&nonm);
        let m = dirichlet_rows(bp, &mut rng, &az);
        let u = dirichlet_rows(bp, &mut rng, &bz);
        let w: Vec<f64> = bp
            .patterns
            .rows()
            .into_iter()
            .map(|lv| {
                let mut x = 0.0;
                for (c, &l) in lv.iter().enumerate() {
                    if bp.counts(c, l as usize) {
                        x += m[[c, l as usize]].ln() - u[[c, l as usize]].ln();
                    }
                }
                x.exp()
            })
            .collect();
        let pi = Beta::new(links as f64 + 1.0, (n2 - links) as f64 + 1.0)
            .map_or(0.5, |b| b.sample(&mut rng));
        for (j, rec) in bp.per_record.iter().enumerate() {
            if z[j].is_some() {
                links -= 1;
            }
            probs.clear();
            probs.push(1.0 - pi);
            probs.extend(
                rec.iter()
                    .map(|x| x.count as f64 * w[x.pattern as usize] * pi / n1),
            );
            let tot: f64 = probs.iter().sum();
            let mut r = rng.random::<f64>() * tot;
            let mut pick = probs.len() - 1;
            for (k, &q) in probs.iter().enumerate() {
                if r < q {
                    pick = k;
                    break;
                }
                r -= q;
            }
            z[j] = if pick == 0 {
                None
            } else {
                let x = &rec[pick - 1];
                let at = rng.random_range(0..x.count);
                let who = if (at as usize) < x.records.len() {
                    x.records[at as usize]
                } else {
                    u32::MAX
                };
                links += 1;
                Some((pick as u32 - 1, who))
            };
            if s >= opts.burn_in {
                match z[j] {
                    None => no_link[j] += 1,
                    Some((_, who)) => *tally[j].entry(who).or_insert(0) += 1,
                }
            }
        }
        matches.iter_mut().for_each(|x| *x = 0.0);
        for (j, zj) in z.iter().enumerate() {
            if let Some((k, _)) = zj {
                matches[bp.per_record[j][*k as usize].pattern as usize] += 1.0;
            }
        }
        if s >= opts.burn_in {
            m_sum += &m;
            u_sum += &u;
            pi_sum += pi;
        }
        trace.push(links as f64);
    }
    let kept = opts.iterations.saturating_sub(opts.burn_in).max(1) as f64;
    let best = tally
        .iter()
        .zip(&no_link)
        .map(|(t, &nl)| {
            // The most frequent draw; ties to the lower record; "no link" wins ties with it.
            let mut v: Vec<(u32, u32)> = t
                .iter()
                .filter(|(r, _)| **r != u32::MAX)
                .map(|(&r, &n)| (r, n))
                .collect();
            v.sort_unstable_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
            v.first()
                .filter(|(_, n)| *n > nl)
                .map(|&(r, n)| (r, n as f64 / kept))
        })
        .collect();
    let scale = |x: Array2<f64>| bp.per_level(&x, |y, _| y / kept);
    LinkPosterior {
        best,
        no_link: no_link.iter().map(|&n| n as f64 / kept).collect(),
        m: scale(m_sum),
        u: scale(u_sum),
        pi: pi_sum / kept,
        iterations: opts.iterations,
        converged: true,
        trace,
    }
}

/// The Bayes estimate of the matching under Sadinle's loss with λ = (1, 1, 2, ∞): per record
/// `j` of the second source, `Some(i)` (an index into [`Bipartite::left`]) when its most
/// probable record has posterior probability above 1/2, a record claimed twice keeping its most
/// probable claimant (ties to the lower `j`).
pub fn bayes_estimate(post: &LinkPosterior) -> Vec<Option<u32>> {
    let mut est: Vec<Option<u32>> = post
        .best
        .iter()
        .map(|b| b.filter(|&(_, p)| p > 0.5).map(|(i, _)| i))
        .collect();
    let mut owner: FxHashMap<u32, usize> = FxHashMap::default();
    for j in 0..est.len() {
        let Some(i) = est[j] else { continue };
        match owner.get(&i).copied() {
            None => {
                owner.insert(i, j);
            }
            Some(k) => {
                let (pk, pj) = (
                    post.best[k].map_or(0.0, |b| b.1),
                    post.best[j].map_or(0.0, |b| b.1),
                );
                if pj > pk {
                    est[k] = None;
                    owner.insert(i, j);
                } else {
                    est[j] = None;
                }
            }
        }
    }
    est
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-made bipartite problem: n1 = n2 = 40, record j matches record j for j < 20, with
    /// two binary comparisons; matches agree on both, non-matches on neither (plus some noise).
    fn planted() -> Bipartite {
        let (n1, n2) = (40u32, 40u32);
        // Patterns: (agree, agree) = levels [0, 0]; disagree = 1.
        let patterns = ndarray::array![[0u8, 0], [0, 1], [1, 0], [1, 1]];
        let mut per_record = Vec::new();
        let mut total = vec![0u64; 4];
        for j in 0..n2 {
            let mut rec = Vec::new();
            let mut counts = [0u32; 4];
            let mut first: [Vec<u32>; 4] = Default::default();
            for i in 0..n1 {
                let p = if j < 20 && i == j {
                    0
                } else if (i + 3 * j) % 17 == 0 {
                    1
                } else if (i + 5 * j) % 19 == 0 {
                    2
                } else {
                    3
                };
                counts[p] += 1;
                if first[p].len() < KEEP {
                    first[p].push(i);
                }
            }
            for p in 0..4 {
                if counts[p] > 0 {
                    total[p] += counts[p] as u64;
                    rec.push(RecordPattern {
                        pattern: p as u32,
                        count: counts[p],
                        records: first[p].clone(),
                    });
                }
            }
            per_record.push(rec);
        }
        Bipartite {
            left: (0..n1).collect(),
            right: (n1..n1 + n2).collect(),
            n_levels: vec![2, 2],
            null_level: vec![None, None],
            patterns,
            total,
            per_record,
        }
    }

    fn check(est: &[Option<u32>]) {
        for (j, e) in est.iter().enumerate() {
            if j < 20 {
                assert_eq!(*e, Some(j as u32), "record {j}");
            } else {
                assert_eq!(*e, None, "record {j}");
            }
        }
    }

    #[test]
    fn vabl_finds_planted_matching() {
        let post = vabl(&planted(), &VablOptions::default());
        check(&bayes_estimate(&post));
        assert!(post.m[0][0] > 0.9 && post.u[0][0] < 0.2);
        // The ELBO ends above where it started (coordinate ascent), and the run converged.
        assert!(post.trace.last() > post.trace.first(), "{:?}", post.trace);
        assert!(post.converged);
    }

    #[test]
    fn fabl_finds_planted_matching_and_is_seeded() {
        let bp = planted();
        let opts = FablOptions {
            iterations: 300,
            burn_in: 50,
        };
        let a = fabl(&bp, &opts, 7);
        check(&bayes_estimate(&a));
        assert_eq!(a, fabl(&bp, &opts, 7));
        assert_ne!(a.trace, fabl(&bp, &opts, 8).trace);
    }

    #[test]
    fn bayes_estimate_resolves_double_claims() {
        let post = LinkPosterior {
            best: vec![Some((3, 0.7)), Some((3, 0.9)), Some((1, 0.4)), None],
            no_link: vec![0.3, 0.1, 0.6, 1.0],
            m: Vec::new(),
            u: Vec::new(),
            pi: 0.5,
            iterations: 1,
            converged: true,
            trace: Vec::new(),
        };
        assert_eq!(bayes_estimate(&post), vec![None, Some(3), None, None]);
    }
}
