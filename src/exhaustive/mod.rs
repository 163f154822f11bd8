//! Exhaustive linkage: exact pattern counts over every admissible pair, without blocking and
//! without enumerating the full cross product.
//!
//! For each comparison the *agreement list* holds every unordered pair of distinct values (and
//! every value with itself) whose level is neither null nor else; string comparisons prune value
//! pairs with exact length bounds before calling [`Comparison::level`]. Then:
//!
//! 1. **Base.** Every pair is first counted with the pattern its missing-value masks alone give
//!    (null where a side is missing, else otherwise), from the number of records per mask.
//! 2. **Dense correction.** Comparisons with few distinct values are *dense*. Records are grouped
//!    into cells (their dense values plus the missing mask of the other, *sparse*, comparisons);
//!    cell pairs where some dense comparison agrees move their pairs from the base pattern to the
//!    pattern with the true dense levels (a cell pair is handled by the first dense comparison
//!    that agrees on it, so none is counted twice).
//! 3. **Sparse correction.** Only the *touched* record pairs, whose values appear together in some
//!    sparse comparison's agreement list, are enumerated (from value → records indexes); each
//!    moves from its assumed pattern (true dense levels, sparse null/else) to its true pattern. A
//!    pair is handled by the first sparse comparison that agrees on it.
//!
//! Everything is integer counting over fixed work units, so results do not depend on the thread
//! count; memory is linear in records, cells and agreement lists, never in |A|·|B|. Comparisons
//! are assumed symmetric (`level(a, b) == level(b, a)`), as every predicate is.

use rayon::prelude::*;

mod lists;
use lists::special_levels;
pub use lists::{Agreement, agreement_list, agreement_list_unpruned};
use rustc_hash::FxHashMap;

use crate::block::total_pairs;
use crate::compare::{Comparer, Comparison, PatternCounts};
use crate::data::{Dataset, MISSING};
use crate::error::{Error, Result};
use crate::model::predict::{ScoredPairs, pattern_weight};
use crate::model::{FsParams, probability};
use crate::progress::Progress;
use crate::settings::{ComparisonSpec, LinkType};

/// Comparisons with at most this many distinct values are handled densely (by cells).
pub const DENSE_MAX: usize = 5000;

/// Target number of pair visits per work unit (fixed, independent of the thread count).
const UNIT_WORK: u64 = 1 << 16;

/// Records grouped by a key (compressed rows): the members of key `k` are
/// `members[starts[k]..starts[k + 1]]`, ascending.
#[derive(Debug, Clone, Default)]
struct Groups {
    starts: Vec<u32>,
    members: Vec<u32>,
}

impl Groups {
    fn build(n_keys: usize, keys: impl Iterator<Item = u32> + Clone) -> Groups {
        let mut starts = vec![0u32; n_keys + 1];
        for k in keys.clone() {
            if k != MISSING {
                starts[k as usize + 1] += 1;
            }
        }
        for i in 0..n_keys {
            starts[i + 1] += starts[i];
        }
        let mut fill = starts.clone();
        let mut members = vec![0u32; starts[n_keys] as usize];
        for (r, k) in keys.enumerate() {
            if k != MISSING {
                members[fill[k as usize] as usize] = r as u32;
                fill[k as usize] += 1;
            }
        }
        Groups { starts, members }
    }

    #[inline]
    fn get(&self, k: u32) -> &[u32] {
        &self.members[self.starts[k as usize] as usize..self.starts[k as usize + 1] as usize]
    }
}

/// A unit of sparse-correction work: entries `e0..e1` of sparse comparison `k`'s agreement list.
#[derive(Debug, Clone, Copy)]
struct Unit {
    k: usize,
    e0: usize,
    e1: usize,
}

/// The exhaustive index of a dataset: agreement lists, value → records indexes and cells.
#[derive(Debug)]
pub struct Exhaustive<'a> {
    ds: &'a Dataset,
    comparer: &'a Comparer,
    link_type: LinkType,
    /// Per comparison: missing level, else level.
    miss: Vec<u8>,
    other: Vec<u8>,
    /// Per comparison: handled densely.
    pub dense: Vec<bool>,
    /// Per comparison: the agreement list.
    pub agree: Vec<Vec<Agreement>>,
    /// Per sparse comparison: records by value.
    by_value: Vec<Groups>,
    /// Per record: its cell.
    cell_of: Vec<u32>,
    /// Per cell: dense values (one per dense comparison, in order), then the sparse missing mask.
    cell_keys: Vec<Vec<u32>>,
    /// Per cell: records per source.
    cell_counts: Vec<Vec<u64>>,
    /// Records by cell.
    cell_members: Groups,
    units: Vec<Unit>,
}

/// Record `r`'s value for comparison `c`.
#[inline]
fn value(ds: &Dataset, c: &Comparison, r: u32) -> u32 {
    ds.columns[c.column].values[r as usize]
}

impl<'a> Exhaustive<'a> {
    /// Builds agreement lists, indexes and cells. `specs` (the expanded comparison specs the
    /// comparer was compiled from) enable the Jaro–Winkler length bound; without them it is off.
    ///
    /// # Errors
    /// [`Error::Usage`] with more than 32 comparisons.
    pub fn build(
        ds: &'a Dataset,
        comparer: &'a Comparer,
        link_type: LinkType,
        specs: Option<&[ComparisonSpec]>,
        progress: &Progress,
    ) -> Result<Exhaustive<'a>> {
        Self::build_with(ds, comparer, link_type, specs, DENSE_MAX, progress)
    }

    /// As [`Exhaustive::build`], handling comparisons with at most `dense_max` distinct values
    /// densely (any value gives the same counts; it only moves work between cells and pairs).
    ///
    /// # Errors
    /// As [`Exhaustive::build`].
    pub fn build_with(
        ds: &'a Dataset,
        comparer: &'a Comparer,
        link_type: LinkType,
        specs: Option<&[ComparisonSpec]>,
        dense_max: usize,
        progress: &Progress,
    ) -> Result<Exhaustive<'a>> {
        let n_c = comparer.len();
        if n_c > 32 {
            return Err(Error::Usage(format!(
                "exhaustive linkage supports at most 32 comparisons, got {n_c}"
            )));
        }
        let t = std::time::Instant::now();
        let (miss, other): (Vec<u8>, Vec<u8>) =
            comparer.comparisons.iter().map(special_levels).unzip();
        let dense: Vec<bool> = comparer
            .comparisons
            .iter()
            .map(|c| ds.columns[c.column].dict.len() <= dense_max)
            .collect();
        let agree: Vec<Vec<Agreement>> = comparer
            .comparisons
            .iter()
            .enumerate()
            .map(|(k, c)| {
                let jw = specs
                    .and_then(|s| s.get(k))
                    .map(|s| s.jaro_winkler.unwrap_or_default());
                agreement_list(ds, c, jw.as_ref())
            })
            .collect();
        progress.phase("exhaustive: agreement lists", t);
        let t = std::time::Instant::now();
        let by_value: Vec<Groups> = comparer
            .comparisons
            .iter()
            .enumerate()
            .map(|(k, c)| {
                if dense[k] {
                    Groups::default()
                } else {
                    let col = &ds.columns[c.column];
                    Groups::build(col.dict.len(), col.values.iter().copied())
                }
            })
            .collect();
        // Cells.
        let mut cell_index: FxHashMap<Vec<u32>, u32> = FxHashMap::default();
        let mut cell_keys: Vec<Vec<u32>> = Vec::new();
        let mut cell_counts: Vec<Vec<u64>> = Vec::new();
        let mut cell_of = Vec::with_capacity(ds.len());
        let mut key = Vec::new();
        for r in 0..ds.len() as u32 {
            key.clear();
            let mut mask = 0u32;
            for (k, c) in comparer.comparisons.iter().enumerate() {
                let v = value(ds, c, r);
                if dense[k] {
                    key.push(v);
                } else if v == MISSING {
                    mask |= 1 << k;
                }
            }
            key.push(mask);
            let id = match cell_index.get(&key) {
                Some(&id) => id,
                None => {
                    let id = cell_keys.len() as u32;
                    cell_index.insert(key.clone(), id);
                    cell_keys.push(key.clone());
                    cell_counts.push(vec![0; ds.sources.len()]);
                    id
                }
            };
            cell_counts[id as usize][ds.source_of[r as usize] as usize] += 1;
            cell_of.push(id);
        }
        let cell_members = Groups::build(cell_keys.len(), cell_of.iter().copied());
        // Work units of the sparse correction.
        let mut units = Vec::new();
        for k in 0..n_c {
            if dense[k] {
                continue;
            }
            let g = &by_value[k];
            let mut e0 = 0;
            let mut acc = 0u64;
            for (e, &(a, b, _)) in agree[k].iter().enumerate() {
                let (na, nb) = (g.get(a).len() as u64, g.get(b).len() as u64);
                acc += if a == b { na * na / 2 } else { na * nb } + 1;
                if acc >= UNIT_WORK {
                    units.push(Unit { k, e0, e1: e + 1 });
                    e0 = e + 1;
                    acc = 0;
                }
            }
            if e0 < agree[k].len() {
                units.push(Unit {
                    k,
                    e0,
                    e1: agree[k].len(),
                });
            }
        }
        progress.phase("exhaustive: indexes and cells", t);
        Ok(Exhaustive {
            ds,
            comparer,
            link_type,
            miss,
            other,
            dense,
            agree,
            by_value,
            cell_of,
            cell_keys,
            cell_counts,
            cell_members,
            units,
        })
    }

    /// Number of cells.
    pub fn n_cells(&self) -> usize {
        self.cell_keys.len()
    }

    #[inline]
    fn agrees(&self, k: usize, level: u8) -> bool {
        level != self.miss[k] && level != self.other[k]
    }

    /// Level of comparison `k` in packed pattern `p`.
    #[inline]
    fn level_in(p: u128, k: usize) -> u8 {
        ((p >> (4 * k)) & 0xF) as u8
    }

    /// Pattern where every sparse comparison that agrees is set to else.
    #[inline]
    fn assumed(&self, p: u128) -> u128 {
        let mut q = p;
        for k in 0..self.miss.len() {
            if !self.dense[k] && self.agrees(k, Self::level_in(p, k)) {
                q &= !(0xFu128 << (4 * k));
                q |= (self.other[k] as u128) << (4 * k);
            }
        }
        q
    }

    /// Whether some sparse comparison agrees in pattern `p`.
    #[inline]
    fn sparse_agrees(&self, p: u128, before: usize) -> bool {
        (0..before).any(|k| !self.dense[k] && self.agrees(k, Self::level_in(p, k)))
    }

    /// Pattern from a full missing mask alone (null where missing, else otherwise), with the
    /// levels of `dense_levels` for dense comparisons when given.
    fn mask_pattern(&self, mask: u32, dense_levels: Option<&[u8]>) -> u128 {
        let mut p = 0u128;
        let mut di = 0;
        for k in 0..self.miss.len() {
            let l = if self.dense[k] && dense_levels.is_some() {
                let l = dense_levels.map_or(0, |d| d[di]);
                di += 1;
                l
            } else if mask & (1 << k) != 0 {
                self.miss[k]
            } else {
                self.other[k]
            };
            p |= (l as u128) << (4 * k);
        }
        p
    }

    /// Full missing mask of a cell.
    fn cell_mask(&self, cell: u32) -> u32 {
        let key = &self.cell_keys[cell as usize];
        let mut mask = *key.last().unwrap_or(&0);
        let mut di = 0;
        for k in 0..self.miss.len() {
            if self.dense[k] {
                if key[di] == MISSING {
                    mask |= 1 << k;
                }
                di += 1;
            }
        }
        mask
    }

    /// Dense levels (in dense order) of two cells.
    fn dense_levels(&self, ca: u32, cb: u32, out: &mut Vec<u8>) {
        out.clear();
        let (ka, kb) = (&self.cell_keys[ca as usize], &self.cell_keys[cb as usize]);
        let mut di = 0;
        for (k, c) in self.comparer.comparisons.iter().enumerate() {
            if self.dense[k] {
                out.push(c.level(&self.ds.columns[c.column], ka[di], kb[di]));
                di += 1;
            }
        }
    }

    /// Number of admissible record pairs between cells `ca` and `cb` (within the cell if equal).
    fn cell_pairs(&self, ca: u32, cb: u32) -> u64 {
        let (na, nb) = (
            &self.cell_counts[ca as usize],
            &self.cell_counts[cb as usize],
        );
        let (sa, sb): (u64, u64) = (na.iter().sum(), nb.iter().sum());
        let same: u64 = na.iter().zip(nb).map(|(x, y)| x * y).sum();
        match (ca == cb, self.link_type == LinkType::Link) {
            (false, false) => sa * sb,
            (false, true) => sa * sb - same,
            (true, false) => sa * sa.saturating_sub(1) / 2,
            (true, true) => (sa * sa - same) / 2,
        }
    }

    /// Exact pattern counts over every admissible pair.
    ///
    /// # Errors
    /// [`Error::Usage`] if the counts do not add up to the number of admissible pairs (a bug).
    pub fn counts(&self, progress: &Progress) -> Result<PatternCounts> {
        let t = std::time::Instant::now();
        let ds = self.ds;
        let n_c = self.miss.len();
        let mut delta: FxHashMap<u128, i128> = FxHashMap::default();
        // 1. Base counts by full missing masks.
        let n_s = ds.sources.len();
        let mut by_mask: std::collections::BTreeMap<u32, Vec<u64>> = Default::default();
        for cell in 0..self.n_cells() as u32 {
            let m = self.cell_mask(cell);
            let e = by_mask.entry(m).or_insert_with(|| vec![0; n_s]);
            for (x, y) in e.iter_mut().zip(&self.cell_counts[cell as usize]) {
                *x += y;
            }
        }
        let masks: Vec<(u32, Vec<u64>)> = by_mask.into_iter().collect();
        for (i, (ma, na)) in masks.iter().enumerate() {
            for (mb, nb) in &masks[i..] {
                let (sa, sb): (u64, u64) = (na.iter().sum(), nb.iter().sum());
                let same: u64 = na.iter().zip(nb).map(|(x, y)| x * y).sum();
                let n = match (ma == mb, self.link_type == LinkType::Link) {
                    (false, false) => sa * sb,
                    (false, true) => sa * sb - same,
                    (true, false) => sa * sa.saturating_sub(1) / 2,
                    (true, true) => (sa * sa - same) / 2,
                };
                if n > 0 {
                    *delta.entry(self.mask_pattern(ma | mb, None)).or_insert(0) += n as i128;
                }
            }
        }
        // 2. Dense correction over cell pairs.
        let dense_idx: Vec<usize> = (0..n_c).filter(|&k| self.dense[k]).collect();
        for (di, &k) in dense_idx.iter().enumerate() {
            let c = &self.comparer.comparisons[k];
            let d = ds.columns[c.column].dict.len();
            let cells = Groups::build(d, self.cell_keys.iter().map(|key| key[di]));
            let parts: Vec<FxHashMap<u128, i128>> = self.agree[k]
                .par_chunks(64)
                .map(|entries| {
                    let mut local: FxHashMap<u128, i128> = FxHashMap::default();
                    let mut lv = Vec::new();
                    for &(a, b, _) in entries {
                        let (ga, gb) = (cells.get(a), cells.get(b));
                        for (i, &ca) in ga.iter().enumerate() {
                            let rest = if a == b { &gb[i..] } else { gb };
                            for &cb in rest {
                                self.dense_levels(ca, cb, &mut lv);
                                if (0..di).any(|e| self.agrees(dense_idx[e], lv[e])) {
                                    continue;
                                }
                                let n = self.cell_pairs(ca, cb);
                                if n == 0 {
                                    continue;
                                }
                                let m = self.cell_mask(ca) | self.cell_mask(cb);
                                *local.entry(self.mask_pattern(m, None)).or_insert(0) -= n as i128;
                                *local.entry(self.mask_pattern(m, Some(&lv))).or_insert(0) +=
                                    n as i128;
                            }
                        }
                    }
                    local
                })
                .collect();
            for p in parts {
                for (key, v) in p {
                    *delta.entry(key).or_insert(0) += v;
                }
            }
        }
        progress.phase("exhaustive: base and dense counts", t);
        // 3. Sparse correction over touched pairs.
        let t = std::time::Instant::now();
        let pb = progress.bar(self.units.len() as u64, "exhaustive pairs");
        let parts: Vec<FxHashMap<u128, i64>> = self
            .units
            .par_iter()
            .map(|u| {
                let mut local: FxHashMap<u128, i64> = FxHashMap::default();
                self.for_each_touched(u, |_, _, p| {
                    *local.entry(p).or_insert(0) += 1;
                    *local.entry(self.assumed(p)).or_insert(0) -= 1;
                });
                pb.inc(1);
                local
            })
            .collect();
        pb.finish_and_clear();
        for p in parts {
            for (key, v) in p {
                *delta.entry(key).or_insert(0) += v as i128;
            }
        }
        progress.phase("exhaustive: touched pairs", t);
        let mut map: FxHashMap<u128, u64> = FxHashMap::default();
        for (key, v) in delta {
            if v < 0 {
                return Err(Error::Usage(format!(
                    "exhaustive counting went wrong: pattern {key:#x} has count {v}"
                )));
            }
            if v > 0 {
                map.insert(key, v as u64);
            }
        }
        let counts = PatternCounts::from_map(n_c, map);
        let total = total_pairs(self.link_type, &ds.source_sizes());
        let got: u128 = counts.counts.iter().map(|&c| c as u128).sum();
        assert_eq!(
            got, total,
            "exhaustive counts must sum to the number of admissible pairs"
        );
        Ok(counts)
    }

    /// Calls `f(l, r, pattern)` for every touched pair of a unit (`l < r`, admissible), each
    /// touched pair of the dataset exactly once over all units.
    fn for_each_touched(&self, u: &Unit, mut f: impl FnMut(u32, u32, u128)) {
        let ds = self.ds;
        let g = &self.by_value[u.k];
        let check_source = self.link_type == LinkType::Link;
        let mut visit = |l: u32, r: u32| {
            if check_source && ds.source_of[l as usize] == ds.source_of[r as usize] {
                return;
            }
            let p = self.comparer.pattern(ds, l, r);
            if self.sparse_agrees(p, u.k) {
                return;
            }
            f(l, r, p);
        };
        for &(a, b, _) in &self.agree[u.k][u.e0..u.e1] {
            let (ra, rb) = (g.get(a), g.get(b));
            if a == b {
                for (i, &l) in ra.iter().enumerate() {
                    for &r in &ra[i + 1..] {
                        visit(l, r);
                    }
                }
            } else {
                for &l in ra {
                    for &r in rb {
                        if l < r { visit(l, r) } else { visit(r, l) }
                    }
                }
            }
        }
    }

    /// As [`Self::for_each_touched`] for scoring: levels are computed one comparison at a time
    /// (earlier sparse comparisons first, to drop pairs another unit handles, then dense ones)
    /// and a pair is dropped as soon as an upper bound on its weight (known level weights plus
    /// the best weight of each unknown comparison, with a margin) cannot reach `min_probability`.
    /// `f` gets the full pattern of every pair that may qualify (a superset of those that do).
    fn for_each_touched_bounded(
        &self,
        u: &Unit,
        weights: &[Vec<f64>],
        prior: f64,
        min_probability: f64,
        mut f: impl FnMut(u32, u32, u128),
    ) {
        let ds = self.ds;
        let n_c = self.miss.len();
        let g = &self.by_value[u.k];
        let check_source = self.link_type == LinkType::Link;
        let best: Vec<f64> = weights
            .iter()
            .map(|w| w.iter().copied().fold(f64::NEG_INFINITY, f64::max))
            .collect();
        // Order: earlier sparse comparisons, then dense, then the rest (u.k's level is known).
        let mut order: Vec<usize> = (0..u.k).filter(|&j| !self.dense[j]).collect();
        order.extend((0..n_c).filter(|&j| self.dense[j]));
        order.extend((u.k + 1..n_c).filter(|&j| !self.dense[j]));
        let n_early = (0..u.k).filter(|&j| !self.dense[j]).count();
        let best_rest: f64 = order.iter().map(|&j| best[j]).sum();
        let cols: Vec<&crate::data::Column> = self
            .comparer
            .comparisons
            .iter()
            .map(|c| &ds.columns[c.column])
            .collect();
        let mut visit = |l: u32, r: u32, lk: u8| {
            if check_source && ds.source_of[l as usize] == ds.source_of[r as usize] {
                return;
            }
            let mut bound = prior + weights[u.k][lk as usize] + best_rest;
            let mut p = (lk as u128) << (4 * u.k);
            for (i, &j) in order.iter().enumerate() {
                let c = &self.comparer.comparisons[j];
                let lv = c.level(cols[j], value(ds, c, l), value(ds, c, r));
                if i < n_early && self.agrees(j, lv) {
                    return;
                }
                bound += weights[j][lv as usize] - best[j];
                if probability(bound + 1e-6) < min_probability {
                    return;
                }
                p |= (lv as u128) << (4 * j);
            }
            f(l, r, p);
        };
        for &(a, b, lk) in &self.agree[u.k][u.e0..u.e1] {
            let (ra, rb) = (g.get(a), g.get(b));
            if a == b {
                for (i, &l) in ra.iter().enumerate() {
                    for &r in &ra[i + 1..] {
                        visit(l, r, lk);
                    }
                }
            } else {
                for &l in ra {
                    for &r in rb {
                        if l < r {
                            visit(l, r, lk)
                        } else {
                            visit(r, l, lk)
                        }
                    }
                }
            }
        }
    }

    /// Scores the pairs whose pattern reaches `min_probability`: touched pairs with such a
    /// pattern and, when a pattern without sparse agreement qualifies, the pairs of the cell pairs
    /// that have it. Pairs are ordered by (left, right). Returns the pairs and notes for the user.
    pub fn score(
        &self,
        counts: &PatternCounts,
        params: &FsParams,
        min_probability: f64,
        progress: &Progress,
    ) -> (ScoredPairs, Vec<String>) {
        let ds = self.ds;
        let n_c = self.miss.len();
        let weights = params.level_weights();
        let prior = params.prior_weight();
        let levels_of = |p: u128| -> Vec<u8> { (0..n_c).map(|k| Self::level_in(p, k)).collect() };
        let weight_of = |p: u128| pattern_weight(prior, &weights, &levels_of(p));
        let mut notes = Vec::new();
        // Qualifying patterns without sparse agreement: streamed from cells.
        let bulk: Vec<u128> = counts
            .patterns
            .iter()
            .copied()
            .filter(|&p| {
                !self.sparse_agrees(p, n_c) && probability(weight_of(p)) >= min_probability
            })
            .collect();
        let t = std::time::Instant::now();
        type Kept = Vec<(u32, u32, u128)>;
        let mut kept: Kept = self
            .units
            .par_iter()
            .map(|u| {
                let mut cache: FxHashMap<u128, bool> = FxHashMap::default();
                let mut out: Kept = Vec::new();
                self.for_each_touched_bounded(u, &weights, prior, min_probability, |l, r, p| {
                    let ok = *cache
                        .entry(p)
                        .or_insert_with(|| probability(weight_of(p)) >= min_probability);
                    if ok {
                        out.push((l, r, p));
                    }
                });
                out
            })
            .flatten()
            .collect();
        if !bulk.is_empty() {
            let n_bulk: u64 = bulk
                .iter()
                .map(|p| counts.counts[counts.patterns.binary_search(p).unwrap_or(0)])
                .sum();
            notes.push(format!(
                "{} pattern(s) with no agreement on any sparse comparison (the all-else/bulk patterns; {} pairs) reached the minimum probability {}; their pairs are written too",
                bulk.len(),
                n_bulk,
                min_probability
            ));
            let n_cells = self.n_cells() as u32;
            let extra: Kept = (0..n_cells)
                .into_par_iter()
                .map(|ca| {
                    let mut out: Kept = Vec::new();
                    let mut lv = Vec::new();
                    for cb in ca..n_cells {
                        self.dense_levels(ca, cb, &mut lv);
                        let m = self.cell_mask(ca) | self.cell_mask(cb);
                        let p = self.mask_pattern(m, Some(&lv));
                        if bulk.binary_search(&p).is_err() {
                            continue;
                        }
                        let (ra, rb) = (self.cell_members.get(ca), self.cell_members.get(cb));
                        for (i, &x) in ra.iter().enumerate() {
                            let rest = if ca == cb { &rb[i + 1..] } else { rb };
                            for &y in rest {
                                let (l, r) = (x.min(y), x.max(y));
                                if !self
                                    .link_type
                                    .admits(ds.source_of[l as usize], ds.source_of[r as usize])
                                {
                                    continue;
                                }
                                let q = self.comparer.pattern(ds, l, r);
                                if !self.sparse_agrees(q, n_c) {
                                    out.push((l, r, q));
                                }
                            }
                        }
                    }
                    out
                })
                .flatten()
                .collect();
            kept.extend(extra);
        }
        kept.par_sort_unstable();
        let total = total_pairs(self.link_type, &ds.source_sizes()) as u64;
        let true_pairs = ds.truth.as_deref().map(|t| {
            crate::eval::count_true_pairs(t, &ds.source_of, ds.sources.len(), self.link_type)
        });
        let mut out = ScoredPairs {
            n_comparisons: n_c,
            candidates: total,
            candidates_per_rule: vec![total],
            candidates_true: true_pairs,
            candidates_true_per_rule: true_pairs.map(|t| vec![t]),
            ..Default::default()
        };
        let _ = &self.cell_of;
        for (l, r, p) in kept {
            let lv = levels_of(p);
            let w = pattern_weight(prior, &weights, &lv);
            out.left.push(l);
            out.right.push(r);
            out.weight.push(w);
            out.probability.push(probability(w));
            out.levels.extend_from_slice(&lv);
        }
        progress.phase("exhaustive: score", t);
        (out, notes)
    }
}

/// Exact pattern counts over every admissible pair of `ds` under `link_type`, without blocking.
///
/// # Errors
/// As [`Exhaustive::build`] and [`Exhaustive::counts`].
pub fn exhaustive_counts(
    ds: &Dataset,
    comparer: &Comparer,
    link_type: LinkType,
    progress: &Progress,
) -> Result<PatternCounts> {
    Exhaustive::build(ds, comparer, link_type, None, progress)?.counts(progress)
}

/// Pattern counts by comparing every admissible pair (quadratic; for tests and small data).
pub fn brute_force_counts(ds: &Dataset, comparer: &Comparer, link_type: LinkType) -> PatternCounts {
    let n = ds.len() as u32;
    let maps: Vec<FxHashMap<u128, u64>> = (0..n)
        .into_par_iter()
        .map(|l| {
            let mut m: FxHashMap<u128, u64> = FxHashMap::default();
            for r in l + 1..n {
                if link_type.admits(ds.source_of[l as usize], ds.source_of[r as usize]) {
                    *m.entry(comparer.pattern(ds, l, r)).or_insert(0) += 1;
                }
            }
            m
        })
        .collect();
    PatternCounts::from_map(comparer.len(), crate::compare::merge_maps(maps))
}
