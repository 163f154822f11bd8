//! Comparisons: each pair of records gets one level per comparison (a `u8`), and the counts of
//! unique level patterns ([`PatternCounts`]) are the sufficient statistics for estimation.
//!
//! A [`Comparison`] is compiled from explicit levels ([`crate::settings::LevelSpec`]): per distinct
//! value it precomputes what its predicates need (string profiles with character histograms for
//! Jaro/Jaro–Winkler bounds, parsed numbers and dates, phonetic codes), and per pair it computes
//! each similarity at most once, skipping it when an exact upper bound shows that no level can be
//! reached. Levels are tried in order; the first that holds wins.

pub mod candidates;
pub mod date;
pub mod jaccard;
pub mod jaro;
pub mod level;
pub mod levenshtein;
pub mod library;
pub mod numeric;
pub mod osa;
pub mod sample;
#[cfg(test)]
mod testutil;
mod util;

pub use candidates::count_patterns;
pub use level::{
    ComparisonSpec, JwConfig, LevelSpec, MAX_COMPARISONS, MAX_LEVELS, Missing, Predicate, TfMode,
    TfOptions,
};
pub use library::Builder;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::clean::PhoneticEncoder;
use crate::data::{Column, Interner, MISSING, StringList};
use crate::error::{Error, Result};
use jaro::{JwParams, StrProfile};

/// One compiled comparison of a column.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Output name.
    pub name: String,
    /// Index of the compared column in the dataset.
    pub column: usize,
    /// Level predicates, in order.
    pub predicates: Vec<Predicate>,
    /// Index of the null level, if any.
    pub null_level: Option<usize>,
    jw: JwParams,
    q: usize,
    profiles: Vec<StrProfile>,
    /// Dense first-stage bound data per distinct value (see [`quick_profile`]).
    quick: Vec<[u8; 16]>,
    /// A specialised evaluator for the common level shapes, when one applies.
    fast: Fast,
    numbers: Vec<Option<f64>>,
    dates: Vec<Option<i32>>,
    /// Per distinct value: it does not parse as the number or date a level needs, so it is
    /// compared as missing (empty when no level parses values).
    unparsed: Vec<bool>,
    phonetic: Vec<(PhoneticEncoder, Vec<u32>)>,
    min_jw: f64,
    min_jaro: f64,
    max_lev: Option<usize>,
    max_osa: Option<usize>,
    /// `missing = "both_null"`: a pair with one value missing takes the else level.
    one_missing_is_else: bool,
}

/// Dictionaries with fewer distinct values than this are profiled on the calling thread.
const PARALLEL_PROFILES: usize = 4096;

/// `f` of every value of `dict`, in order: on rayon's pool for big dictionaries, on this
/// thread below [`PARALLEL_PROFILES`] values. Small ones are the store's per-request
/// dictionaries, and entering rayon's pool from outside it (a service's worker thread) costs a
/// cross-thread hand-off that a few hundred profiles do not repay.
fn per_value<T: Send>(dict: &StringList, f: impl Fn(&str) -> T + Sync + Send) -> Vec<T> {
    if dict.len() < PARALLEL_PROFILES {
        dict.iter().map(f).collect()
    } else {
        dict.par_iter().map(f).collect()
    }
}

impl Comparison {
    /// Compiles `spec` (explicit levels) against the column `col` (index `column`) of the data.
    ///
    /// # Errors
    /// [`Error::Settings`] for an invalid date format.
    pub fn compile(spec: &ComparisonSpec, column: usize, col: &Column) -> Result<Comparison> {
        Self::compile_with(spec, column, col, None)
    }

    /// As [`Comparison::compile`], reusing `like`'s value-independent tables (the quick-reject
    /// table of Jaro–Winkler levels) when given: `like` must be `spec` compiled before. The
    /// store's per-request scoring compiles tiny columns, where building that table (32^3
    /// bounds) cost about 0.3 ms per comparison, more than the comparisons themselves.
    fn compile_with(
        spec: &ComparisonSpec,
        column: usize,
        col: &Column,
        like: Option<&Comparison>,
    ) -> Result<Comparison> {
        let predicates: Vec<Predicate> = spec.levels.iter().map(|l| l.predicate.clone()).collect();
        let has = |f: &dyn Fn(&Predicate) -> bool| predicates.iter().any(f);
        let jwc = spec.jaro_winkler.unwrap_or_default();
        let jw = jw_params(&jwc);
        let needs_profiles = has(&|p| {
            matches!(
                p,
                Predicate::JaroWinklerAtLeast(_)
                    | Predicate::JaroAtLeast(_)
                    | Predicate::LevenshteinAtMost(_)
                    | Predicate::DamerauLevenshteinAtMost(_)
                    | Predicate::LevenshteinRatioAtMost(_)
            )
        });
        let (profiles, quick) = if needs_profiles {
            (
                per_value(&col.dict, StrProfile::new),
                per_value(&col.dict, quick_profile),
            )
        } else {
            (Vec::new(), Vec::new())
        };
        let numbers =
            if has(&|p| matches!(p, Predicate::AbsDiffAtMost(_) | Predicate::RelDiffAtMost(_))) {
                col.dict.iter().map(numeric::parse_number).collect()
            } else {
                Vec::new()
            };
        let dates = if has(&|p| matches!(p, Predicate::DateDiffDaysAtMost(_))) {
            let f: date::DateFormat = spec
                .date_format
                .as_deref()
                .unwrap_or("%Y%m%d")
                .parse()
                .map_err(|_| {
                    Error::settings(
                        "comparison",
                        format!("{}.date_format", spec.column),
                        "unknown date format",
                    )
                })?;
            col.dict.iter().map(|v| date::parse_date(v, f)).collect()
        } else {
            Vec::new()
        };
        let unparsed: Vec<bool> = if numbers.is_empty() && dates.is_empty() {
            Vec::new()
        } else {
            (0..col.dict.len())
                .map(|v| {
                    numbers.get(v).is_some_and(Option::is_none)
                        || dates.get(v).is_some_and(Option::is_none)
                })
                .collect()
        };
        let mut phonetic: Vec<(PhoneticEncoder, Vec<u32>)> = Vec::new();
        for p in &predicates {
            if let Predicate::PhoneticMatch(e) = p {
                if !phonetic.iter().any(|(x, _)| x == e) {
                    let mut int = Interner::default();
                    let codes = col.dict.iter().map(|v| int.intern(&e.encode(v))).collect();
                    phonetic.push((*e, codes));
                }
            }
        }
        let fold_min = |f: &dyn Fn(&Predicate) -> Option<f64>| {
            predicates
                .iter()
                .filter_map(f)
                .fold(f64::INFINITY, f64::min)
        };
        let fold_max =
            |f: &dyn Fn(&Predicate) -> Option<usize>| predicates.iter().filter_map(f).max();
        let mut c = Comparison {
            name: spec.output_name().to_string(),
            column,
            null_level: predicates.iter().position(|p| *p == Predicate::Null),
            min_jw: fold_min(&|p| match p {
                Predicate::JaroWinklerAtLeast(t) => Some(*t),
                _ => None,
            }),
            min_jaro: fold_min(&|p| match p {
                Predicate::JaroAtLeast(t) => Some(*t),
                _ => None,
            }),
            max_lev: fold_max(&|p| match p {
                Predicate::LevenshteinAtMost(k) => Some(*k as usize),
                _ => None,
            }),
            max_osa: fold_max(&|p| match p {
                Predicate::DamerauLevenshteinAtMost(k) => Some(*k as usize),
                _ => None,
            }),
            one_missing_is_else: spec.missing == Missing::BothNull,
            predicates,
            jw,
            q: spec.q.unwrap_or(2),
            fast: Fast::None,
            profiles,
            quick,
            numbers,
            dates,
            unparsed,
            phonetic,
        };
        c.fast = match like {
            Some(l) => l.fast.clone(),
            None => Fast::build(&c),
        };
        Ok(c)
    }

    /// Number of levels (the null level included).
    pub fn n_levels(&self) -> usize {
        self.predicates.len()
    }

    /// Whether the distinct value `v` does not parse as the number or date a level of this
    /// comparison needs (it is then compared as missing); false for [`MISSING`].
    pub fn is_unparsed(&self, v: u32) -> bool {
        v != MISSING && self.unparsed.get(v as usize).copied().unwrap_or(false)
    }

    /// The level of the value pair (`a`, `b`) (interned ids of this comparison's column). A
    /// value that does not parse as the number or date a level needs counts as missing.
    pub fn level(&self, col: &Column, a: u32, b: u32) -> u8 {
        if self.one_missing_is_else {
            let clean = |v: u32| if self.is_unparsed(v) { MISSING } else { v };
            if (clean(a) == MISSING) != (clean(b) == MISSING) {
                return (self.predicates.len() - 1) as u8;
            }
        }
        if !self.unparsed.is_empty() {
            let clean = |v: u32| if self.is_unparsed(v) { MISSING } else { v };
            let (a, b) = (clean(a), clean(b));
            return match &self.fast {
                Fast::None => self.level_generic(col, a, b),
                f => f.level(self, a, b),
            };
        }
        match &self.fast {
            Fast::None => self.level_generic(col, a, b),
            f => f.level(self, a, b),
        }
    }

    /// Adds `level × stride` to `dst[j]` for the `j`-th value pair of `vals` (interned ids of
    /// this comparison's column, unparsed values already [`MISSING`]): the levels of
    /// [`Comparison::level`], computed in one loop per comparison so the evaluator is chosen
    /// once per batch rather than once per pair.
    #[inline]
    pub fn add_levels(
        &self,
        col: &Column,
        vals: impl Iterator<Item = (u32, u32)>,
        stride: u32,
        dst: &mut [u32],
    ) {
        if self.one_missing_is_else || !self.unparsed.is_empty() {
            for (d, (a, b)) in dst.iter_mut().zip(vals) {
                *d += u32::from(self.level(col, a, b)) * stride;
            }
            return;
        }
        match &self.fast {
            Fast::None => {
                for (d, (a, b)) in dst.iter_mut().zip(vals) {
                    *d += u32::from(self.level_generic(col, a, b)) * stride;
                }
            }
            &Fast::Exact { null, exact, other } => {
                for (d, (a, b)) in dst.iter_mut().zip(vals) {
                    *d += u32::from(exact_level(null, exact, other, a, b)) * stride;
                }
            }
            Fast::Jw {
                null,
                exact,
                levels,
                other,
                reject,
            } => {
                for (d, (a, b)) in dst.iter_mut().zip(vals) {
                    let l = jw_level(self, (*null, *exact, *other), levels, reject, a, b);
                    *d += u32::from(l) * stride;
                }
            }
            Fast::Lev {
                null,
                exact,
                levels,
                other,
            } => {
                for (d, (a, b)) in dst.iter_mut().zip(vals) {
                    *d +=
                        u32::from(lev_level(self, (*null, *exact, *other), levels, a, b)) * stride;
                }
            }
        }
    }

    /// The generic evaluator: every predicate in order, each similarity computed at most once.
    fn level_generic(&self, col: &Column, a: u32, b: u32) -> u8 {
        let missing = a == MISSING || b == MISSING;
        // Per-pair caches: each similarity is computed at most once.
        let mut jw: Option<Option<f64>> = None;
        let mut ja: Option<Option<f64>> = None;
        let mut lev: Option<Option<usize>> = None;
        let mut osa_d: Option<Option<usize>> = None;
        let mut ratio: Option<f64> = None;
        for (li, p) in self.predicates.iter().enumerate() {
            let hit = match p {
                Predicate::Null => missing,
                Predicate::Else => true,
                _ if missing => false,
                Predicate::Exact => a == b,
                Predicate::JaroWinklerAtLeast(t) => {
                    let s = *jw.get_or_insert_with(|| {
                        if a == b {
                            return Some(1.0);
                        }
                        let (qa, qb) = (&self.quick[a as usize], &self.quick[b as usize]);
                        if quick_jw_below(qa, qb, &self.jw, self.min_jw) {
                            return None;
                        }
                        let (pa, pb) = (&self.profiles[a as usize], &self.profiles[b as usize]);
                        jaro::jaro_winkler_at_least(pa, pb, &self.jw, self.min_jw)
                    });
                    s.is_some_and(|s| s >= *t)
                }
                Predicate::JaroAtLeast(t) => {
                    let s = *ja.get_or_insert_with(|| {
                        if a == b {
                            return Some(1.0);
                        }
                        let (pa, pb) = (&self.profiles[a as usize], &self.profiles[b as usize]);
                        let s = jaro::jaro_p(pa, pb);
                        (s >= self.min_jaro).then_some(s)
                    });
                    s.is_some_and(|s| s >= *t)
                }
                Predicate::LevenshteinAtMost(k) => {
                    let d = *lev.get_or_insert_with(|| {
                        if a == b {
                            return Some(0);
                        }
                        let (pa, pb) = (&self.profiles[a as usize], &self.profiles[b as usize]);
                        let kmax = self.max_lev.unwrap_or(0);
                        // Exact lower bounds first: most value pairs are far apart.
                        if quick_edit_lower_bound(&self.quick[a as usize], &self.quick[b as usize])
                            > kmax
                            || jaro::levenshtein_lower_bound(pa, pb) > kmax
                        {
                            return None;
                        }
                        levenshtein::levenshtein_within(pa.as_str(), pb.as_str(), kmax)
                    });
                    d.is_some_and(|d| d <= *k as usize)
                }
                Predicate::DamerauLevenshteinAtMost(k) => {
                    let d = *osa_d.get_or_insert_with(|| {
                        if a == b {
                            return Some(0);
                        }
                        let (pa, pb) = (&self.profiles[a as usize], &self.profiles[b as usize]);
                        let kmax = self.max_osa.unwrap_or(0);
                        // A transposition fixes two characters at cost 1: half the bound holds.
                        if jaro::levenshtein_lower_bound(pa, pb).div_ceil(2) > kmax {
                            return None;
                        }
                        osa::osa_within(pa.as_str(), pb.as_str(), kmax)
                    });
                    d.is_some_and(|d| d <= *k as usize)
                }
                Predicate::LevenshteinRatioAtMost(t) => {
                    let d = *ratio.get_or_insert_with(|| {
                        if a == b {
                            return 0.0;
                        }
                        let (sa, sb) = (
                            self.profiles[a as usize].as_str(),
                            self.profiles[b as usize].as_str(),
                        );
                        let n = sa.chars().count().max(sb.chars().count());
                        if n == 0 {
                            return 0.0;
                        }
                        levenshtein::levenshtein(sa, sb) as f64 / n as f64
                    });
                    d <= *t
                }
                Predicate::JaccardAtLeast(t) => {
                    a == b
                        || jaccard::jaccard_qgrams(
                            &col.dict[a as usize],
                            &col.dict[b as usize],
                            self.q,
                        ) >= *t
                }
                Predicate::AbsDiffAtMost(d) => {
                    match (self.numbers[a as usize], self.numbers[b as usize]) {
                        (Some(x), Some(y)) => numeric::abs_diff(x, y) <= *d,
                        _ => false,
                    }
                }
                Predicate::RelDiffAtMost(d) => {
                    match (self.numbers[a as usize], self.numbers[b as usize]) {
                        (Some(x), Some(y)) => numeric::rel_diff(x, y) <= *d,
                        _ => false,
                    }
                }
                Predicate::DateDiffDaysAtMost(d) => {
                    match (self.dates[a as usize], self.dates[b as usize]) {
                        (Some(x), Some(y)) => (x as i64 - y as i64).unsigned_abs() <= *d as u64,
                        _ => false,
                    }
                }
                Predicate::PhoneticMatch(e) => {
                    let codes = &self.phonetic.iter().find(|(x, _)| x == e).map(|(_, c)| c);
                    codes.is_some_and(|c| {
                        let (x, y) = (c[a as usize], c[b as usize]);
                        x != MISSING && x == y
                    })
                }
            };
            if hit {
                return li as u8;
            }
        }
        // Validation guarantees a final else level; reaching here means none matched.
        (self.predicates.len() - 1) as u8
    }

    /// Splink's `gamma` convention for a level index: null → -1, else → 0, best → n − 1 (n non-null levels).
    pub fn gamma(&self, level: u8) -> i32 {
        let level = level as usize;
        if Some(level) == self.null_level {
            return -1;
        }
        (self.predicates.len() - 1 - level) as i32
    }
}

/// Number of character classes in a [`quick_profile`].
const QUICK_BUCKETS: usize = 15;

/// A 16-byte summary of a string for cheap exact bounds: counts of characters by class (code
/// point modulo 15; digits fall in distinct classes) in bytes 0..15, and the length in characters
/// in byte 15 (255 when the string is longer than 254 characters, which disables the bounds).
/// Merging characters into classes can only raise the count of common characters, so bounds
/// built from it stay exact (never reject a pair the full comparator would keep).
pub fn quick_profile(s: &str) -> [u8; 16] {
    let mut q = [0u8; 16];
    let mut n = 0usize;
    for c in s.chars() {
        let k = c as usize % QUICK_BUCKETS;
        q[k] = q[k].saturating_add(1);
        n += 1;
    }
    q[15] = n.min(255) as u8;
    q
}

/// Upper bound on the number of characters two strings can have in common.
#[inline]
fn quick_common(a: &[u8; 16], b: &[u8; 16]) -> u32 {
    // Byte 15 is the length, not a class count: take its minimum back out.
    util::sum_min_16(a, b) - u32::from(a[15].min(b[15]))
}

/// True when Jaro–Winkler of the two strings is certainly below `t` (never wrongly true).
#[inline]
pub fn quick_jw_below(a: &[u8; 16], b: &[u8; 16], p: &JwParams, t: f64) -> bool {
    let (la, lb) = (a[15] as u32, b[15] as u32);
    if la == 255 || lb == 255 || la == 0 || lb == 0 {
        return false;
    }
    let u = quick_common(a, b).min(la.min(lb));
    let jaro_ub = if u == 0 {
        0.0
    } else {
        (u as f64 / la as f64 + u as f64 / lb as f64 + 1.0) / 3.0
    };
    let boosted = p.boost_threshold.is_none_or(|bt| jaro_ub > bt);
    let jw_ub = if boosted {
        let l = p.max_prefix.min(la.min(lb) as usize) as f64;
        let w = (l * p.prefix_scale).min(1.0);
        jaro_ub + w * (1.0 - jaro_ub)
    } else {
        jaro_ub
    };
    // A small margin keeps the bound safe from floating-point rounding.
    jw_ub < t - 1e-9
}

/// Lower bound on the Levenshtein distance: max(|a|, |b|) minus the common-character bound
/// (0 when a length is unknown).
#[inline]
pub fn quick_edit_lower_bound(a: &[u8; 16], b: &[u8; 16]) -> usize {
    let (la, lb) = (a[15] as u32, b[15] as u32);
    if la == 255 || lb == 255 {
        return 0;
    }
    (la.max(lb) - quick_common(a, b).min(la.max(lb))) as usize
}

/// Specialised evaluators for the level shapes the builders produce: `[null], exact, else`;
/// `[null], exact, jaro_winkler >= t..., else`; `[null], exact, levenshtein <= k..., else`. They
/// give exactly the levels of the generic evaluator (a test checks this), only faster.
#[derive(Debug, Clone)]
enum Fast {
    /// No specialisation: use the generic evaluator.
    None,
    /// `[null], exact, else`.
    Exact { null: u8, exact: u8, other: u8 },
    /// `[null], exact, jaro_winkler >= t_i..., else`, with a table of quick rejections.
    Jw {
        null: u8,
        exact: u8,
        levels: Vec<(f64, u8)>,
        other: u8,
        /// `reject[(la * 32 + lb) * 32 + u]` for lengths below 32: the quick bound is below every t.
        reject: Vec<bool>,
    },
    /// `[null], exact, levenshtein <= k_i..., else`.
    Lev {
        null: u8,
        exact: u8,
        levels: Vec<(usize, u8)>,
        other: u8,
    },
}

const TABLE_LEN: usize = 32;

impl Fast {
    fn build(c: &Comparison) -> Fast {
        let p = &c.predicates;
        let n = p.len();
        let start = usize::from(c.null_level == Some(0));
        // Without a null level, missing values fall through to else.
        let null = c.null_level.map_or((n - 1) as u8, |l| l as u8);
        if n < start + 2 || p[start] != Predicate::Exact || p[n - 1] != Predicate::Else {
            return Fast::None;
        }
        let exact = start as u8;
        let other = (n - 1) as u8;
        let mid = &p[start + 1..n - 1];
        if mid.is_empty() {
            return Fast::Exact { null, exact, other };
        }
        if let Some(levels) = mid
            .iter()
            .enumerate()
            .map(|(i, q)| match q {
                Predicate::JaroWinklerAtLeast(t) => Some((*t, (start + 1 + i) as u8)),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
        {
            let mut reject = vec![false; TABLE_LEN * TABLE_LEN * TABLE_LEN];
            for la in 1..TABLE_LEN {
                for lb in 1..TABLE_LEN {
                    for u in 0..=la.min(lb) {
                        let mut qa = [0u8; 16];
                        let mut qb = [0u8; 16];
                        qa[0] = u as u8;
                        qb[0] = u as u8;
                        qa[15] = la as u8;
                        qb[15] = lb as u8;
                        reject[(la * TABLE_LEN + lb) * TABLE_LEN + u] =
                            quick_jw_below(&qa, &qb, &c.jw, c.min_jw);
                    }
                }
            }
            return Fast::Jw {
                null,
                exact,
                levels,
                other,
                reject,
            };
        }
        if let Some(levels) = mid
            .iter()
            .enumerate()
            .map(|(i, q)| match q {
                Predicate::LevenshteinAtMost(k) => Some((*k as usize, (start + 1 + i) as u8)),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
        {
            return Fast::Lev {
                null,
                exact,
                levels,
                other,
            };
        }
        Fast::None
    }

    #[inline]
    fn level(&self, c: &Comparison, a: u32, b: u32) -> u8 {
        match self {
            Fast::None => unreachable!("dispatched to the generic evaluator"),
            Fast::Exact { null, exact, other } => exact_level(*null, *exact, *other, a, b),
            Fast::Jw {
                null,
                exact,
                levels,
                other,
                reject,
            } => jw_level(c, (*null, *exact, *other), levels, reject, a, b),
            Fast::Lev {
                null,
                exact,
                levels,
                other,
            } => lev_level(c, (*null, *exact, *other), levels, a, b),
        }
    }
}

/// The level every fast evaluator gives before comparing strings: `null` when a value is
/// missing, `exact` when the two are the same value; `None` otherwise.
#[inline(always)]
fn missing_or_equal(null: u8, exact: u8, a: u32, b: u32) -> Option<u8> {
    if a == MISSING || b == MISSING {
        Some(null)
    } else if a == b {
        Some(exact)
    } else {
        None
    }
}

/// [`Fast::Exact`]'s level of the value pair (`a`, `b`).
#[inline(always)]
fn exact_level(null: u8, exact: u8, other: u8, a: u32, b: u32) -> u8 {
    missing_or_equal(null, exact, a, b).unwrap_or(other)
}

/// [`Fast::Jw`]'s level of the value pair (`a`, `b`); `(null, exact, other)` are its levels.
#[inline(always)]
fn jw_level(
    c: &Comparison,
    (null, exact, other): (u8, u8, u8),
    levels: &[(f64, u8)],
    reject: &[bool],
    a: u32,
    b: u32,
) -> u8 {
    if let Some(l) = missing_or_equal(null, exact, a, b) {
        return l;
    }
    let (qa, qb) = (&c.quick[a as usize], &c.quick[b as usize]);
    let (la, lb) = (qa[15] as usize, qb[15] as usize);
    if la < TABLE_LEN && lb < TABLE_LEN {
        let u = (quick_common(qa, qb) as usize).min(la.min(lb));
        if reject[(la * TABLE_LEN + lb) * TABLE_LEN + u] {
            return other;
        }
    } else if quick_jw_below(qa, qb, &c.jw, c.min_jw) {
        return other;
    }
    let (pa, pb) = (&c.profiles[a as usize], &c.profiles[b as usize]);
    match jaro::jaro_winkler_at_least(pa, pb, &c.jw, c.min_jw) {
        Some(s) => levels
            .iter()
            .find(|(t, _)| s >= *t)
            .map_or(other, |&(_, l)| l),
        None => other,
    }
}

/// [`Fast::Lev`]'s level of the value pair (`a`, `b`); `(null, exact, other)` are its levels.
#[inline(always)]
fn lev_level(
    c: &Comparison,
    (null, exact, other): (u8, u8, u8),
    levels: &[(usize, u8)],
    a: u32,
    b: u32,
) -> u8 {
    if let Some(l) = missing_or_equal(null, exact, a, b) {
        return l;
    }
    let kmax = c.max_lev.unwrap_or(0);
    if quick_edit_lower_bound(&c.quick[a as usize], &c.quick[b as usize]) > kmax {
        return other;
    }
    let (pa, pb) = (&c.profiles[a as usize], &c.profiles[b as usize]);
    if jaro::levenshtein_lower_bound(pa, pb) > kmax {
        return other;
    }
    match levenshtein::levenshtein_within(pa.as_str(), pb.as_str(), kmax) {
        Some(d) => levels
            .iter()
            .find(|(k, _)| d <= *k)
            .map_or(other, |&(_, l)| l),
        None => other,
    }
}

/// Values of one comparison's column in one source that do not parse as the numbers or dates
/// its levels need ([`unparsed_values`]). Such values are compared as missing.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Unparsed {
    /// The comparison's output name.
    pub comparison: String,
    /// The column it reads.
    pub column: String,
    /// The source (file) of the values.
    pub source: String,
    /// What the values must parse as: `date %Y%m%d` (the comparison's format) or `number`.
    pub expected: String,
    /// Records of the source with a value in the column (not missing).
    pub values: u64,
    /// Of those, records whose value does not parse.
    pub unparsed: u64,
    /// `unparsed / values` (0 without values).
    pub share: f64,
    /// Up to three distinct unparsed values, in record order.
    pub examples: Vec<String>,
}

/// For each comparison with a numeric or date level (`abs_diff_at_most`, `rel_diff_at_most`,
/// `date_diff_days_at_most`) and each source: how many of its values do not parse, with
/// examples. Comparisons without such levels give no entries; sources without unparsed values
/// give entries with `unparsed = 0`. `specs` are expanded comparisons.
///
/// # Errors
/// [`Error::Internal`] if a compared column was not loaded; [`Error::Settings`] for an unknown
/// date format.
pub fn unparsed_values(
    specs: &[ComparisonSpec],
    ds: &crate::data::Dataset,
) -> Result<Vec<Unparsed>> {
    let mut out = Vec::new();
    for s in specs {
        let has = |f: &dyn Fn(&Predicate) -> bool| s.levels.iter().any(|l| f(&l.predicate));
        let number =
            has(&|p| matches!(p, Predicate::AbsDiffAtMost(_) | Predicate::RelDiffAtMost(_)));
        let dated = has(&|p| matches!(p, Predicate::DateDiffDaysAtMost(_)));
        if !number && !dated {
            continue;
        }
        let ci = ds.column_index(&s.column).ok_or_else(|| {
            Error::Internal(format!("compared column `{}` was not loaded", s.column))
        })?;
        let col = &ds.columns[ci];
        let f: date::DateFormat = s
            .date_format
            .as_deref()
            .unwrap_or("%Y%m%d")
            .parse()
            .map_err(|e: date::UnknownDateFormat| {
                Error::settings(
                    "comparison",
                    format!("{}.date_format", s.column),
                    e.to_string(),
                )
            })?;
        let bad: Vec<bool> = col
            .dict
            .iter()
            .map(|v| {
                (number && numeric::parse_number(v).is_none())
                    || (dated && date::parse_date(v, f).is_none())
            })
            .collect();
        let expected = match (dated, number) {
            (true, true) => format!("date {} and number", f.pattern()),
            (true, false) => format!("date {}", f.pattern()),
            _ => "number".to_string(),
        };
        for src in &ds.sources {
            let (mut values, mut unparsed) = (0u64, 0u64);
            let mut examples: Vec<String> = Vec::new();
            for &v in &col.values[src.start..src.start + src.len] {
                if v == MISSING {
                    continue;
                }
                values += 1;
                if bad[v as usize] {
                    unparsed += 1;
                    let text = &col.dict[v as usize];
                    if examples.len() < 3 && !examples.iter().any(|e| e == text) {
                        examples.push(text.to_string());
                    }
                }
            }
            out.push(Unparsed {
                comparison: s.output_name().to_string(),
                column: s.column.clone(),
                source: src.name.clone(),
                expected: expected.clone(),
                values,
                unparsed,
                share: if values > 0 {
                    unparsed as f64 / values as f64
                } else {
                    0.0
                },
                examples,
            });
        }
    }
    Ok(out)
}

fn jw_params(c: &JwConfig) -> JwParams {
    JwParams {
        prefix_scale: c.prefix_scale,
        max_prefix: c.max_prefix,
        boost_threshold: (c.boost_threshold >= 0.0).then_some(c.boost_threshold),
    }
}

/// The compiled comparisons of a model, with the columns they read.
#[derive(Debug, Clone)]
pub struct Comparer {
    /// The comparisons, in settings order.
    pub comparisons: Vec<Comparison>,
    /// Compared values row-major (record × comparison), so one pair touches two cache lines.
    rows: Vec<u32>,
}

impl Comparer {
    /// Compiles every comparison of expanded settings against the dataset.
    ///
    /// # Errors
    /// [`Error::Internal`] if a compared column was not loaded; errors of [`Comparison::compile`].
    pub fn new(specs: &[ComparisonSpec], ds: &crate::data::Dataset) -> Result<Comparer> {
        let comparisons = specs
            .iter()
            .map(|s| {
                let ci = ds.column_index(&s.column).ok_or_else(|| {
                    Error::Internal(format!("compared column `{}` was not loaded (read the inputs with the settings' columns, as pipeline::load does)", s.column))
                })?;
                Comparison::compile(s, ci, &ds.columns[ci])
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self::with_rows(comparisons, ds))
    }

    /// The comparer of compiled comparisons over `ds`'s rows.
    fn with_rows(comparisons: Vec<Comparison>, ds: &crate::data::Dataset) -> Comparer {
        let k = comparisons.len();
        let mut rows = vec![0u32; ds.len() * k];
        for (i, c) in comparisons.iter().enumerate() {
            for (r, &v) in ds.columns[c.column].values.iter().enumerate() {
                rows[r * k + i] = if c.is_unparsed(v) { MISSING } else { v };
            }
        }
        Comparer { comparisons, rows }
    }

    /// The same comparisons compiled against `ds` (another dataset with the compared columns),
    /// reusing this comparer's value-independent tables; the levels are those
    /// [`Comparer::new`] gives. `specs` must be the ones this comparer was compiled from.
    ///
    /// # Errors
    /// As [`Comparer::new`].
    pub fn rebind(&self, specs: &[ComparisonSpec], ds: &crate::data::Dataset) -> Result<Comparer> {
        let comparisons = specs
            .iter()
            .zip(&self.comparisons)
            .map(|(s, like)| {
                let ci = ds.column_index(&s.column).ok_or_else(|| {
                    Error::Internal(format!("compared column `{}` was not loaded", s.column))
                })?;
                Comparison::compile_with(s, ci, &ds.columns[ci], Some(like))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self::with_rows(comparisons, ds))
    }

    /// Number of comparisons.
    pub fn len(&self) -> usize {
        self.comparisons.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.comparisons.is_empty()
    }

    /// Copies record `r`'s compared values (one per comparison) into `out`.
    #[inline]
    pub fn row_values(&self, r: u32, out: &mut [u32]) {
        out.copy_from_slice(self.row(r));
    }

    /// Record `r`'s compared values, one per comparison (dictionary ids; `MISSING` when absent).
    #[inline]
    pub fn row(&self, r: u32) -> &[u32] {
        let k = self.comparisons.len();
        &self.rows[r as usize * k..(r as usize + 1) * k]
    }

    /// Fills `out` with the levels of records `l` and `r` and returns the packed pattern key.
    #[inline]
    pub fn vector(&self, ds: &crate::data::Dataset, l: u32, r: u32, out: &mut [u8]) -> u128 {
        let (a, b) = (self.row(l), self.row(r));
        let mut key = 0u128;
        for (i, c) in self.comparisons.iter().enumerate() {
            let lv = c.level(&ds.columns[c.column], a[i], b[i]);
            out[i] = lv;
            key |= (lv as u128) << (4 * i);
        }
        key
    }

    /// Appends to `out` the pattern of each pair `(l, r)` of `pairs` as a mixed-radix number:
    /// Σ_i level_i × `strides[i]`, with `strides[i]` the product of the level counts of
    /// comparisons before `i` (so the numbers sort as the packed keys of [`Comparer::pattern`]
    /// do), one comparison at a time over the whole batch.
    pub fn dense_patterns(
        &self,
        ds: &crate::data::Dataset,
        pairs: &[(u32, u32)],
        strides: &[u32],
        out: &mut Vec<u32>,
    ) {
        let start = out.len();
        out.resize(start + pairs.len(), 0);
        let dst = &mut out[start..];
        let k = self.comparisons.len();
        let rows = &self.rows;
        for (i, c) in self.comparisons.iter().enumerate() {
            let vals = pairs
                .iter()
                .map(|&(l, r)| (rows[l as usize * k + i], rows[r as usize * k + i]));
            c.add_levels(&ds.columns[c.column], vals, strides[i], dst);
        }
    }

    /// Prefetches the rows of `rows_of` and, from the rows of `values_of` (already fetched by
    /// an earlier call), each compared value's bound data and profile: the look-ahead of
    /// [`crate::block::Blocker::for_each_pair_ahead`].
    #[inline]
    pub fn prefetch(&self, values_of: &[u32], rows_of: &[u32]) {
        let k = self.comparisons.len();
        for &m in rows_of {
            crate::data::prefetch(&self.rows[m as usize * k]);
        }
        for &m in values_of {
            for (c, &v) in self.comparisons.iter().zip(self.row(m)) {
                if v != MISSING {
                    if let Some(q) = c.quick.get(v as usize) {
                        crate::data::prefetch(q);
                    }
                    if let Some(p) = c.profiles.get(v as usize) {
                        crate::data::prefetch(p);
                    }
                }
            }
        }
    }

    /// The packed pattern key of records `l` and `r`.
    #[inline]
    pub fn pattern(&self, ds: &crate::data::Dataset, l: u32, r: u32) -> u128 {
        let (a, b) = (self.row(l), self.row(r));
        let mut key = 0u128;
        for (i, c) in self.comparisons.iter().enumerate() {
            key |= (c.level(&ds.columns[c.column], a[i], b[i]) as u128) << (4 * i);
        }
        key
    }
}

/// Counts of unique comparison patterns: the sufficient statistics for EM.
///
/// Patterns are stored packed (4 bits per comparison) and sorted, so iteration order, and with it
/// every float sum over patterns, is fixed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PatternCounts {
    /// Number of comparisons per pattern.
    pub n_comparisons: usize,
    /// Packed patterns, ascending.
    pub patterns: Vec<u128>,
    /// Number of pairs with each pattern.
    pub counts: Vec<u64>,
}

impl PatternCounts {
    /// Builds sorted counts from a map of packed pattern → count.
    pub fn from_map(n_comparisons: usize, map: FxHashMap<u128, u64>) -> PatternCounts {
        let mut v: Vec<(u128, u64)> = map.into_iter().collect();
        v.sort_unstable();
        PatternCounts {
            n_comparisons,
            patterns: v.iter().map(|p| p.0).collect(),
            counts: v.iter().map(|p| p.1).collect(),
        }
    }

    /// Builds counts from explicit level vectors (one `Vec<u8>` per pair).
    pub fn from_vectors<'a>(
        n_comparisons: usize,
        vectors: impl IntoIterator<Item = &'a [u8]>,
    ) -> PatternCounts {
        let mut map: FxHashMap<u128, u64> = FxHashMap::default();
        for v in vectors {
            *map.entry(pack(v)).or_insert(0) += 1;
        }
        PatternCounts::from_map(n_comparisons, map)
    }

    /// Level of comparison `c` in pattern `p`.
    #[inline]
    pub fn level(&self, p: usize, c: usize) -> u8 {
        ((self.patterns[p] >> (4 * c)) & 0xF) as u8
    }

    /// Total number of pairs counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Number of distinct patterns.
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    /// Whether no pair was counted.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }
}

/// Packs a level vector (each level < 16) into a pattern key.
pub fn pack(levels: &[u8]) -> u128 {
    levels
        .iter()
        .enumerate()
        .fold(0u128, |k, (i, &l)| k | ((l as u128) << (4 * i)))
}

/// Merges per-unit pattern maps into one, in unit order.
pub fn merge_maps(parts: Vec<FxHashMap<u128, u64>>) -> FxHashMap<u128, u64> {
    let mut it = parts.into_iter();
    let mut acc = it.next().unwrap_or_default();
    for m in it {
        for (k, v) in m {
            *acc.entry(k).or_insert(0) += v;
        }
    }
    acc
}

#[cfg(test)]
mod quick_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        /// The quick filters never reject a pair the full comparators keep.
        #[test]
        fn quick_bounds_are_exact(a in "[a-zA-Z0-9 éß]{0,20}", b in "[a-zA-Z0-9 éß]{0,20}", t in 0.5f64..1.0) {
            let (qa, qb) = (quick_profile(&a), quick_profile(&b));
            for p in [JwParams::default(), JwParams { boost_threshold: None, ..JwParams::default() }] {
                if quick_jw_below(&qa, &qb, &p, t) {
                    prop_assert!(jaro::jaro_winkler(&a, &b, &p) < t);
                }
            }
            let d = levenshtein::levenshtein(&a, &b);
            prop_assert!(quick_edit_lower_bound(&qa, &qb) <= d);
            prop_assert!(quick_edit_lower_bound(&qa, &qb).div_ceil(2) <= osa::osa_distance(&a, &b));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        /// The specialised evaluators give exactly the generic evaluator's levels.
        #[test]
        fn fast_paths_equal_generic(words in proptest::collection::vec("[a-e]{0,6}|[a-z ]{0,12}|[0-9]{5,8}", 2..30)) {
            use crate::settings::{Builder, ComparisonSpec, Settings};
            let mut col = Column { name: "x".into(), ..Default::default() };
            let mut int = crate::data::Interner::default();
            for w in &words {
                col.values.push(int.intern(w));
            }
            col.dict = int.into_dict();
            for (b, t) in [
                (Builder::JaroWinklerAtThresholds, vec![0.95, 0.9, 0.8]),
                (Builder::JaroWinklerAtThresholds, vec![0.7]),
                (Builder::LevenshteinAtThresholds, vec![1.0, 2.0]),
                (Builder::ExactMatch, vec![]),
            ] {
                let spec = ComparisonSpec {
                    column: "x".into(), name: None, builder: Some(b),
                    thresholds: (!t.is_empty()).then_some(t), date_format: None, q: None, jaro_winkler: None, levels: vec![], missing: Default::default(),
                    term_frequency_adjustments: false, tf: None,
                };
                let mut set: Settings = Settings::from_toml("[[comparison]]\ncolumn = \"x\"\nuse = \"exact_match\"\n", "t").unwrap();
                set.comparisons = vec![spec];
                let e = set.expanded("t").unwrap();
                for drop_null in [false, true] {
                    let mut spec = e.comparisons[0].clone();
                    if drop_null {
                        spec.levels.remove(0);
                    }
                    let c = Comparison::compile(&spec, 0, &col).unwrap();
                    prop_assert!(!matches!(c.fast, Fast::None));
                    for &x in &col.values {
                        for &y in &col.values {
                            prop_assert_eq!(c.level(&col, x, y), c.level_generic(&col, x, y));
                            // Levels are symmetric (exhaustive counting relies on it).
                            prop_assert_eq!(c.level(&col, x, y), c.level(&col, y, x));
                        }
                        prop_assert_eq!(c.level(&col, x, MISSING), c.level_generic(&col, x, MISSING));
                    }
                    // The batched evaluator adds the same levels, times the stride.
                    let vals: Vec<(u32, u32)> = col.values.iter().flat_map(|&x| {
                        col.values.iter().map(move |&y| (x, y)).chain([(x, MISSING), (MISSING, x)])
                    }).collect();
                    let mut dst = vec![1u32; vals.len()];
                    c.add_levels(&col, vals.iter().copied(), 7, &mut dst);
                    for (&(x, y), &d) in vals.iter().zip(&dst) {
                        prop_assert_eq!(d, 1 + 7 * u32::from(c.level_generic(&col, x, y)));
                    }
                }
            }
        }
    }

    #[test]
    fn quick_filter_rejects_dissimilar_names() {
        let p = JwParams::default();
        assert!(quick_jw_below(
            &quick_profile("smith"),
            &quick_profile("zuckerberg"),
            &p,
            0.8
        ));
        assert!(!quick_jw_below(
            &quick_profile("martha"),
            &quick_profile("marhta"),
            &p,
            0.96
        ));
        assert_eq!(
            quick_edit_lower_bound(&quick_profile("1234567"), &quick_profile("7654321")),
            0
        );
        assert!(quick_edit_lower_bound(&quick_profile("1111111"), &quick_profile("2222222")) >= 7);
    }
}

#[cfg(test)]
mod missing_tests {
    use super::*;
    use crate::settings::Settings;

    /// Each `missing` semantics gives the level its peer gives, on every comparator shape (the
    /// fast evaluators and the generic one).
    #[test]
    fn missing_value_semantics() {
        let mut int = Interner::default();
        let mut col = Column {
            name: "x".into(),
            ..Column::default()
        };
        for w in ["anna", "anne", "bob"] {
            col.values.push(int.intern(w));
        }
        col.values.push(MISSING);
        col.dict = int.into_dict();
        let (anna, anne, none) = (col.values[0], col.values[1], MISSING);
        for (builder, thresholds) in [
            ("exact_match", ""),
            ("jaro_winkler_at_thresholds", "thresholds = [0.9]"),
            ("levenshtein_at_thresholds", "thresholds = [1]"),
            ("jaccard_at_thresholds", "thresholds = [0.5]"),
        ] {
            for (missing, null_level) in [
                ("", true),
                ("missing = \"at_random\"", true),
                ("missing = \"either_null\"", true),
                ("missing = \"disagreement\"", false),
                ("missing = \"both_null\"", true),
            ] {
                let toml = format!(
                    "[[comparison]]\ncolumn = \"x\"\nuse = \"{builder}\"\n{thresholds}\n{missing}\n"
                );
                let s = Settings::from_toml(&toml, "t")
                    .unwrap()
                    .expanded("t")
                    .unwrap();
                let spec = &s.comparisons[0];
                let c = Comparison::compile(spec, 0, &col).unwrap();
                let n = c.n_levels() as u8;
                let else_level = n - 1;
                assert_eq!(c.null_level.is_some(), null_level, "{toml}");
                assert_eq!(c.level(&col, anna, anna), u8::from(null_level), "{toml}");
                let one_side = c.level(&col, anna, none);
                let both = c.level(&col, none, none);
                assert_eq!(one_side, c.level(&col, none, anne), "{toml}");
                match spec.missing {
                    Missing::AtRandom => assert_eq!((one_side, both), (0, 0), "{toml}"),
                    Missing::Disagreement => {
                        assert_eq!((one_side, both), (else_level, else_level), "{toml}")
                    }
                    Missing::BothNull => assert_eq!((one_side, both), (else_level, 0), "{toml}"),
                }
            }
        }
        // both_null needs a null level; explicit levels without one are refused.
        let bad = "[[comparison]]\ncolumn = \"x\"\nmissing = \"both_null\"\nlevels = [{ predicate = \"exact\" }, { predicate = \"else\" }]\n";
        let e = Settings::from_toml(bad, "t").unwrap_err().to_string();
        assert!(e.contains("missing"), "{e}");
    }
}
