//! Scoring the pairs that agree on one sparse comparison or on none, when their patterns reach
//! `--min-probability`, without visiting the pairs that cannot have them.
//!
//! Every such pattern carries a requirement that a pair must meet to have it, and the most
//! selective one decides how its pairs are found (its [`Route`]):
//! - **Equal values.** A dense comparison at a level that only equal values reach (an exact
//!   level) means both records hold the same value: the pattern's pairs are found by a join on
//!   the tuple of those values (a function of the records' cells), within the agreement-list
//!   entries of the sparse comparison that agrees, or within groups of cells for patterns with no
//!   sparse agreement.
//! - **A missing value.** Otherwise a null level means one of the two records lacks that value:
//!   only pairs with such a record are visited (the comparison with fewest missing records).
//! - **Everything.** A pattern with neither (no exact agreement, no null) is rare at any sensible
//!   minimum: its pairs are found by visiting every candidate of its kind, as before.
//!
//! Before a pair's full pattern is computed (the string comparators), its pattern is predicted
//! from the two cells (dense levels and missing masks) and the level of the agreeing list entry,
//! which is exact for pairs of that kind; only pairs whose predicted pattern is wanted are
//! compared. A pair is kept when its full pattern is one of the route's patterns, so each pair is
//! written once, by the route of its own pattern.
//!
//! On the 10^10-pair benchmark at the default minimum 0.01 this took scoring from 6.9 s to the
//! figure in `experiments/exhaustive/README.md`, with the same pairs.

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

use super::{ENTRY_CHUNK, Exhaustive, Groups, value, with_level};
use crate::data::MISSING;

/// Record pairs with their patterns, `left < right`.
pub(super) type Kept = Vec<(u32, u32, u128)>;

/// How the pairs of a pattern are found (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Route {
    /// Join on the values of these dense comparisons (a bit mask by comparison index).
    Equal(u32),
    /// Pairs where at least one record misses this comparison's value.
    Missing(usize),
    /// Every candidate of the pattern's kind.
    All,
}

impl Exhaustive<'_> {
    /// Per comparison, the levels (bit mask) that only equal values reach: read off the agreement
    /// lists of dense comparisons (a level no entry of two different values has); 0 for sparse
    /// comparisons, whose agreement is handled by their own lists.
    pub(super) fn equal_levels(&self) -> Vec<u32> {
        (0..self.miss.len())
            .map(|k| {
                if !self.dense[k] {
                    return 0;
                }
                let (mut reached, mut unequal) = (0u32, 0u32);
                for &(a, b, l) in &self.agree[k] {
                    reached |= 1 << l;
                    if a != b {
                        unequal |= 1 << l;
                    }
                }
                reached & !unequal
            })
            .collect()
    }

    /// Per comparison, the number of records without a value.
    pub(super) fn missing_counts(&self) -> Vec<usize> {
        (0..self.miss.len())
            .map(|k| {
                (0..self.ds.len() as u32)
                    .filter(|&r| value(self.comparer, r, k) == MISSING)
                    .count()
            })
            .collect()
    }

    /// The route of pattern `p`: a join on every dense comparison at an equal-values level; else
    /// the null comparison with fewest missing records; else everything.
    pub(super) fn route(&self, p: u128, equal: &[u32], missing: &[usize]) -> Route {
        let e = (0..self.miss.len())
            .filter(|&k| equal[k] >> Self::level_in(p, k) & 1 == 1)
            .fold(0u32, |m, k| m | 1 << k);
        if e != 0 {
            return Route::Equal(e);
        }
        (0..self.miss.len())
            .filter(|&k| self.miss[k] != self.other[k] && Self::level_in(p, k) == self.miss[k])
            .min_by_key(|&k| (missing[k], k))
            .map_or(Route::All, Route::Missing)
    }

    /// Per cell, an id of its values on the dense comparisons in `mask` (equal ids for equal
    /// values, in order of first appearance); `MISSING` when one of them is missing.
    fn cell_join_keys(&self, mask: u32) -> Vec<u32> {
        let positions: Vec<usize> = self
            .dense
            .iter()
            .enumerate()
            .filter(|&(_, &d)| d)
            .map(|(k, _)| k)
            .enumerate()
            .filter(|&(_, k)| mask & (1 << k) != 0)
            .map(|(di, _)| di)
            .collect();
        let mut ids: FxHashMap<Vec<u32>, u32> = FxHashMap::default();
        self.cell_keys
            .iter()
            .map(|key| {
                let t: Vec<u32> = positions.iter().map(|&di| key[di]).collect();
                if t.contains(&MISSING) {
                    return MISSING;
                }
                let next = ids.len() as u32;
                *ids.entry(t).or_insert(next)
            })
            .collect()
    }

    /// Whether records `x` and `y` (in either order) form an admissible pair.
    #[inline]
    fn admissible(&self, x: u32, y: u32) -> bool {
        let so = &self.ds.source_of;
        self.link_type.admits(so[x as usize], so[y as usize])
    }

    /// The pairs agreeing on sparse position `si` alone whose pattern is one of `targets` (all of
    /// that kind and of `route`).
    pub(super) fn one_agreement_pairs(
        &self,
        si: usize,
        route: Route,
        targets: &FxHashSet<u128>,
    ) -> Kept {
        let k = self.sparse[si];
        let ds = self.ds;
        let d = self.adj[si].starts.len() - 1;
        // Records by (value of k, key, record): the key is the join key for `Equal`, 0 for a
        // record missing the comparison and 1 otherwise for `Missing`, 0 for `All`.
        let join = match route {
            Route::Equal(mask) => Some(self.cell_join_keys(mask)),
            _ => None,
        };
        let mut recs: Vec<(u32, u32, u32)> = (0..ds.len() as u32)
            .filter_map(|r| {
                let v = value(self.comparer, r, k);
                let key = match (route, join.as_ref()) {
                    (Route::Equal(_), Some(j)) => j[self.cell_of[r as usize] as usize],
                    (Route::Missing(j), _) => u32::from(value(self.comparer, r, j) != MISSING),
                    _ => 0,
                };
                (v != MISSING && key != MISSING).then_some((v, key, r))
            })
            .collect();
        recs.par_sort_unstable();
        let mut starts = vec![0u32; d + 1];
        for &(v, _, _) in &recs {
            starts[v as usize + 1] += 1;
        }
        for v in 0..d {
            starts[v + 1] += starts[v];
        }
        let group = |v: u32| &recs[starts[v as usize] as usize..starts[v as usize + 1] as usize];
        let entries: Vec<(u32, u32, u8)> = (0..d as u32)
            .flat_map(|a| {
                let (nb, lv) = self.adj[si].get(a);
                let from = nb.partition_point(|&w| w < a);
                nb[from..]
                    .iter()
                    .zip(&lv[from..])
                    .map(move |(&b, &l)| (a, b, l))
            })
            .collect();
        // A pair agreeing on another, bulk-counted exact comparison too has another kind of
        // pattern: rejected by comparing values before the comparators run.
        let xs: Vec<usize> = self
            .bulk_comparisons()
            .into_iter()
            .filter(|&x| x != k)
            .collect();
        entries
            .par_chunks(ENTRY_CHUNK)
            .map(|chunk| {
                let mut out = Kept::new();
                let mut lv = Vec::new();
                let mut visit = |x: u32, y: u32, l: u8| {
                    if !self.admissible(x, y) {
                        return;
                    }
                    let (cx, cy) = (self.cell_of[x as usize], self.cell_of[y as usize]);
                    let predicted = with_level(self.bulk_pattern(cx, cy, &mut lv), k, l);
                    if !targets.contains(&predicted) || self.exact_mask(&xs, x, y) != 0 {
                        return;
                    }
                    let (lo, hi) = (x.min(y), x.max(y));
                    let p = self.comparer.pattern(ds, lo, hi);
                    if targets.contains(&p) {
                        out.push((lo, hi, p));
                    }
                };
                for &(a, b, l) in chunk {
                    let (ga, gb) = (group(a), group(b));
                    match route {
                        Route::Equal(_) if a == b => {
                            // Pairs within one value's records with equal join keys.
                            for (i, &(_, ka, x)) in ga.iter().enumerate() {
                                for &(_, kb, y) in &ga[i + 1..] {
                                    if kb != ka {
                                        break;
                                    }
                                    visit(x, y, l);
                                }
                            }
                        }
                        Route::Equal(_) => {
                            // Merge join on the key: both groups are sorted by it.
                            let (mut i, mut j) = (0, 0);
                            while i < ga.len() && j < gb.len() {
                                let (ka, kb) = (ga[i].1, gb[j].1);
                                if ka < kb {
                                    i += 1;
                                } else if kb < ka {
                                    j += 1;
                                } else {
                                    let i_end = i + ga[i..].partition_point(|e| e.1 == ka);
                                    let j_end = j + gb[j..].partition_point(|e| e.1 == ka);
                                    for &(_, _, x) in &ga[i..i_end] {
                                        for &(_, _, y) in &gb[j..j_end] {
                                            visit(x, y, l);
                                        }
                                    }
                                    (i, j) = (i_end, j_end);
                                }
                            }
                        }
                        Route::Missing(_) => {
                            // Records missing the comparison come first in each group: pairs
                            // with at least one of them.
                            let (ma, mb) = (
                                ga.partition_point(|e| e.1 == 0),
                                gb.partition_point(|e| e.1 == 0),
                            );
                            if a == b {
                                for (i, &(_, _, x)) in ga[..ma].iter().enumerate() {
                                    for &(_, _, y) in &ga[i + 1..] {
                                        visit(x, y, l);
                                    }
                                }
                            } else {
                                for &(_, _, x) in &ga[..ma] {
                                    for &(_, _, y) in gb {
                                        visit(x, y, l);
                                    }
                                }
                                for &(_, _, x) in &ga[ma..] {
                                    for &(_, _, y) in &gb[..mb] {
                                        visit(x, y, l);
                                    }
                                }
                            }
                        }
                        Route::All => {
                            for (i, &(_, _, x)) in ga.iter().enumerate() {
                                let rest = if a == b { &ga[i + 1..] } else { gb };
                                for &(_, _, y) in rest {
                                    visit(x, y, l);
                                }
                            }
                        }
                    }
                }
                out
            })
            .flatten()
            .collect()
    }

    /// The pairs whose sparse agreements are exactly the bulk-counted exact comparisons at the
    /// sparse positions in `set` (two or more) and whose pattern is one of `targets` (all of that
    /// kind): records grouped by their values of `set`; within a group, a pair's pattern is
    /// predicted from its cells (dense levels, missing masks) with `set` at the exact level, and
    /// only pairs whose prediction is wanted are compared in full.
    pub(super) fn exact_set_pairs(&self, set: u32, targets: &FxHashSet<u128>) -> Kept {
        let ks: Vec<usize> = (0..self.sparse.len())
            .filter(|&si| set >> si & 1 == 1)
            .map(|si| self.sparse[si])
            .collect();
        let levels: Vec<u8> = (0..self.sparse.len())
            .filter(|&si| set >> si & 1 == 1)
            .map(|si| self.exact_level[si])
            .collect();
        let mut recs: Vec<(Vec<u32>, u32)> = (0..self.ds.len() as u32)
            .filter_map(|r| {
                let row = self.comparer.row(r);
                let key: Vec<u32> = ks.iter().map(|&k| row[k]).collect();
                (!key.contains(&MISSING)).then_some((key, r))
            })
            .collect();
        recs.par_sort_unstable();
        let mut blocks: Vec<usize> = (0..recs.len())
            .filter(|&i| i == 0 || recs[i].0 != recs[i - 1].0)
            .collect();
        blocks.push(recs.len());
        blocks
            .windows(2)
            .collect::<Vec<_>>()
            .par_chunks(super::BLOCK_CHUNK)
            .map(|chunk| {
                let mut out = Kept::new();
                let mut lv = Vec::new();
                for w in chunk {
                    let block = &recs[w[0]..w[1]];
                    for (i, (_, x)) in block.iter().enumerate() {
                        for (_, y) in &block[i + 1..] {
                            let (x, y) = (*x, *y);
                            if !self.admissible(x, y) {
                                continue;
                            }
                            let (cx, cy) = (self.cell_of[x as usize], self.cell_of[y as usize]);
                            let mut predicted = self.bulk_pattern(cx, cy, &mut lv);
                            for (&k, &l) in ks.iter().zip(&levels) {
                                predicted = with_level(predicted, k, l);
                            }
                            if !targets.contains(&predicted) {
                                continue;
                            }
                            // Records are ascending within a block.
                            let p = self.comparer.pattern(self.ds, x, y);
                            if targets.contains(&p) {
                                out.push((x, y, p));
                            }
                        }
                    }
                }
                out
            })
            .flatten()
            .collect()
    }

    /// The pairs with no sparse agreement whose pattern is one of `targets` (all of that kind and
    /// of `route`), from pairs of cells: their pattern is the cells' (dense levels, missing masks)
    /// unless some sparse comparison agrees.
    pub(super) fn no_agreement_pairs(&self, route: Route, targets: &FxHashSet<u128>) -> Kept {
        let n_cells = self.n_cells() as u32;
        // Which cells pair with cell `ca` (as the lower of the two): per route.
        let (join, groups) = match route {
            Route::Equal(mask) => {
                let keys = self.cell_join_keys(mask);
                let n_keys = keys
                    .iter()
                    .filter(|&&k| k != MISSING)
                    .max()
                    .map_or(0, |&m| m + 1);
                let g = Groups::build(n_keys as usize, keys.iter().copied());
                (Some(keys), Some(g))
            }
            _ => (None, None),
        };
        let missing_cells: Vec<u32> = match route {
            Route::Missing(j) => (0..n_cells)
                .filter(|&c| self.cell_mask(c) & (1 << j) != 0)
                .collect(),
            _ => Vec::new(),
        };
        let xs = self.bulk_comparisons();
        (0..n_cells)
            .into_par_iter()
            .map(|ca| {
                let mut out = Kept::new();
                let mut lv = Vec::new();
                let mut pair_cells = |cb: u32| {
                    let base = self.bulk_pattern(ca, cb, &mut lv);
                    if !targets.contains(&base) {
                        return;
                    }
                    let (ra, rb) = (self.cell_members.get(ca), self.cell_members.get(cb));
                    for (i, &x) in ra.iter().enumerate() {
                        let rest = if ca == cb { &rb[i + 1..] } else { rb };
                        for &y in rest {
                            // (A pair agreeing on an exact comparison has another kind.)
                            if !self.admissible(x, y) || self.exact_mask(&xs, x, y) != 0 {
                                continue;
                            }
                            let (lo, hi) = (x.min(y), x.max(y));
                            let q = self.comparer.pattern(self.ds, lo, hi);
                            // `targets` holds patterns without sparse agreement only.
                            if targets.contains(&q) {
                                out.push((lo, hi, q));
                            }
                        }
                    }
                };
                match route {
                    Route::Equal(_) => {
                        let (keys, g) = (join.as_ref(), groups.as_ref());
                        if let (Some(keys), Some(g)) = (keys, g) {
                            let key = keys[ca as usize];
                            if key != MISSING {
                                let members = g.get(key);
                                let from = members.partition_point(|&c| c < ca);
                                for &cb in &members[from..] {
                                    pair_cells(cb);
                                }
                            }
                        }
                    }
                    Route::Missing(j) => {
                        if self.cell_mask(ca) & (1 << j) != 0 {
                            (ca..n_cells).for_each(&mut pair_cells);
                        } else {
                            let from = missing_cells.partition_point(|&c| c <= ca);
                            for &cb in &missing_cells[from..] {
                                pair_cells(cb);
                            }
                        }
                    }
                    Route::All => (ca..n_cells).for_each(&mut pair_cells),
                }
                out
            })
            .flatten()
            .collect()
    }
}
