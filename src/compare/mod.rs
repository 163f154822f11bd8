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
pub mod levenshtein;
pub mod numeric;
pub mod osa;
#[cfg(test)]
mod testutil;
mod util;

use rustc_hash::FxHashMap;

use crate::clean::PhoneticEncoder;
use crate::data::{Column, Interner, MISSING};
use crate::error::{Error, Result};
use crate::settings::{ComparisonSpec, JwConfig, Predicate};
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
    numbers: Vec<Option<f64>>,
    dates: Vec<Option<i32>>,
    phonetic: Vec<(PhoneticEncoder, Vec<u32>)>,
    min_jw: f64,
    min_jaro: f64,
    max_lev: Option<usize>,
    max_osa: Option<usize>,
}

impl Comparison {
    /// Compiles `spec` (explicit levels) against the column `col` (index `column`) of the data.
    ///
    /// # Errors
    /// [`Error::Settings`] for an invalid date format.
    pub fn compile(spec: &ComparisonSpec, column: usize, col: &Column) -> Result<Comparison> {
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
            )
        });
        let profiles = if needs_profiles {
            col.dict.iter().map(|v| StrProfile::new(v)).collect()
        } else {
            Vec::new()
        };
        let numbers =
            if has(&|p| matches!(p, Predicate::AbsDiffAtMost(_) | Predicate::RelDiffAtMost(_))) {
                col.dict.iter().map(|v| numeric::parse_number(v)).collect()
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
        Ok(Comparison {
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
            predicates,
            jw,
            q: spec.q.unwrap_or(2),
            profiles,
            numbers,
            dates,
            phonetic,
        })
    }

    /// Number of levels (the null level included).
    pub fn n_levels(&self) -> usize {
        self.predicates.len()
    }

    /// The level of the value pair (`a`, `b`) (interned ids of this comparison's column).
    pub fn level(&self, col: &Column, a: u32, b: u32) -> u8 {
        let missing = a == MISSING || b == MISSING;
        // Per-pair caches: each similarity is computed at most once.
        let mut jw: Option<Option<f64>> = None;
        let mut ja: Option<Option<f64>> = None;
        let mut lev: Option<Option<usize>> = None;
        let mut osa_d: Option<Option<usize>> = None;
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
                        // Exact lower bound first: most value pairs are far apart.
                        if jaro::levenshtein_lower_bound(pa, pb) > kmax {
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
    /// [`Error::Usage`] if a compared column was not loaded; errors of [`Comparison::compile`].
    pub fn new(specs: &[ComparisonSpec], ds: &crate::data::Dataset) -> Result<Comparer> {
        let comparisons = specs
            .iter()
            .map(|s| {
                let ci = ds.column_index(&s.column).ok_or_else(|| {
                    Error::Usage(format!("compared column `{}` was not loaded", s.column))
                })?;
                Comparison::compile(s, ci, &ds.columns[ci])
            })
            .collect::<Result<Vec<_>>>()?;
        let k = comparisons.len();
        let mut rows = vec![0u32; ds.len() * k];
        for (i, c) in comparisons.iter().enumerate() {
            for (r, &v) in ds.columns[c.column].values.iter().enumerate() {
                rows[r * k + i] = v;
            }
        }
        Ok(Comparer { comparisons, rows })
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

    #[inline]
    fn row(&self, r: u32) -> &[u32] {
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
