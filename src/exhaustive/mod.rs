//! Exhaustive linkage: exact pattern counts over every admissible pair, without blocking and
//! without enumerating the full cross product.
//!
//! For each comparison the *agreement list* ([`agreement_list`]) holds every unordered pair of
//! values (and every value with itself) whose level is neither null nor else, found without
//! comparing value pairs that exact bounds rule out. Comparisons with few distinct values
//! (at most [`DENSE_MAX`]) are *dense*, the others *sparse*. Records are grouped into *cells*: their
//! dense values plus the missing mask of the sparse comparisons. Then, with `S(π)` the set of
//! sparse comparisons on which pair π agrees:
//!
//! 1. **Base.** Every pair is first counted with the pattern its missing-value masks alone give
//!    (null where a side is missing, else otherwise), from the number of records per mask.
//! 2. **Dense correction.** Cell pairs where some dense comparison agrees move their pairs from
//!    the base pattern to the pattern with the true dense levels (a cell pair is handled by the
//!    first dense comparison that agrees on it). Now every pair π sits at `B(π)`: true dense
//!    levels, sparse comparisons null or else.
//! 3. **One sparse agreement, in bulk.** For each entry `(a, b, level)` of sparse comparison `k`'s
//!    list, the records with value `a` and those with value `b`, counted by (cell, source), give
//!    the number of pairs per cell pair: they move from `B` to `B` with `level` at `k`, which is
//!    exact for every pair with `S(π) = {k}`, without visiting the pairs.
//! 4. **Joint exact agreements, in bulk.** Sparse comparisons that only agree on equal values
//!    and agree on many pairs (birth day, month and year: up to [`BULK_EXACT_MAX`] of them, the
//!    set `X`) have their joint agreements counted without visiting pairs: for each `U ⊆ X` of
//!    two or more, records grouped by their values of `U` and counted by (cell, source) give the
//!    pairs agreeing on all of `U` per cell pair, which receive the Möbius term
//!    `Σ_{V ⊆ U} (−1)^{|U − V|} [B with V exact]`. A pair agreeing on the set `X_S ⊆ X` and on
//!    no other sparse comparison is then at its true pattern (the terms of the subsets of `X_S`
//!    sum to it), so step 6 skips it.
//! 5. **One fuzzy agreement with exact ones, enumerated.** When many of a fuzzy comparison's
//!    agreeing pairs also agree on some of `X` (at least one in [`ENUMERATE_RATIO`], expected),
//!    its step 3 is replaced by a visit of every pair agreeing on it, counted by (cell pair,
//!    level, `X_S`) in a dense table: each moves from `P(X_S)` (step 4's pattern) to `P(X_S)`
//!    with its level, exact for pairs agreeing on no other fuzzy comparison, at a few
//!    nanoseconds a pair instead of a join's search per pair.
//! 6. **Two or more, enumerated.** Only the pairs agreeing on two or more fuzzy comparisons
//!    (outside `X`), or on one counted in bulk (step 3) and on some of `X`, are visited: for each
//!    pair of sparse comparisons `(j, k)` that can own such pairs a join finds the records of the
//!    other side whose `j` value is a neighbour of the probe's (through `j`'s list) and whose `k`
//!    value is one too (a marker array per comparison answers "is this value a neighbour" in one
//!    load; large groups are binary-searched instead of scanned). A pair is handled by the join
//!    of its two lowest fuzzy comparisons, or of its fuzzy one and its lowest exact one; it moves
//!    to its true pattern, and what steps 3–5 put it at is undone.
//!
//! The work of step 6 grows with the pairs that agree on two fields (few for the fields one
//! links on) and with the probe's neighbours, never with |A|·|B|; step 4's with the records and
//! the cell pairs of each group; step 5's with the pairs agreeing on the comparisons it takes.
//! On the mid-sized shape of `experiments/exhaustive` (three exact fields of 150–270 values, 4
//! million pairs agreeing on two of them, 1.5 million agreeing on a name or the postcode and on
//! one of them) steps 4 and 5 took the counting after the agreement lists from 0.43–0.64 s to
//! 0.15 s (see the exhaustive README). Everything is integer counting over fixed chunks (the
//! dense tables are integer sums, whatever their split), so results do not depend on the
//! thread count; memory is linear in records, cells and agreement lists. Comparisons are
//! assumed symmetric (`level(a, b) == level(b, a)`), as every predicate is.

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

mod lists;
mod routes;
use lists::special_levels;
pub use lists::{Agreement, agreement_list, agreement_list_unpruned};

use crate::block::total_pairs;
use crate::compare::ComparisonSpec;
use crate::compare::{Comparer, PatternCounts};
use crate::data::LinkType;
use crate::data::{Dataset, MISSING};
use crate::error::{Error, Result};
use crate::model::predict::{ScoredPairs, pattern_weight};
use crate::model::{FsParams, probability};
use crate::progress::Progress;

/// Comparisons with at most this many distinct values are handled densely (by cells).
pub const DENSE_MAX: usize = 100;

/// Probe records per work chunk of the two-agreement join (fixed, whatever the thread count).
const PROBE_CHUNK: usize = 1024;

/// Most record pairs agreeing on two or more sparse comparisons that [`Exhaustive::counts`] keeps
/// (6 bytes each: about 50 MB at this cap) for [`Exhaustive::score`] to reuse instead of joining
/// again; past it, scoring enumerates them anew (same output).
pub const KEEP_TOUCHED_MAX: usize = 1 << 23;

/// Most exact-only sparse comparisons whose joint agreements are counted in bulk (2^k − k − 1
/// subsets, each a sort of the records; see [`Exhaustive::counts`]).
pub const BULK_EXACT_MAX: usize = 4;

/// A fuzzy comparison's agreeing pairs are enumerated (step 5 of [`Exhaustive::counts`]) when
/// at least one in this many of them is expected to agree on a bulk-counted exact comparison
/// too: enumerating a pair and counting it in a dense table cost about 7 ns on the mid-sized
/// shape, against about 170 ns for each pair the two-comparison joins find.
pub const ENUMERATE_RATIO: f64 = 25.0;

/// Most entries (cell pairs × levels × exact-agreement sets) of the dense table an enumerated
/// comparison counts into (8 MiB of `u64`).
const ENUMERATE_TABLE_MAX: usize = 1 << 20;

/// Blocks of equal values per work chunk of the bulk exact-agreement counts.
const BLOCK_CHUNK: usize = 256;

/// Agreement-list entries per work chunk of the bulk one-agreement counts.
const ENTRY_CHUNK: usize = 4096;

/// A join group is scanned when it has at most this many records per neighbour value of the
/// probe; larger groups are binary-searched for each neighbour value.
const SCAN_FACTOR: usize = 8;

/// The first index `e >= from` of ascending `xs` with `xs[e] >= w` (`xs.len()` when none),
/// searched by doubling steps from `from` and then bisecting the last step: `O(log(e − from))`.
#[inline]
fn gallop(xs: &[u32], from: usize, w: u32) -> usize {
    if from >= xs.len() {
        return xs.len();
    }
    let mut lo = from;
    let mut step = 1;
    while lo + step < xs.len() && xs[lo + step] < w {
        lo += step;
        step *= 2;
    }
    if lo < xs.len() && xs[lo] >= w {
        return lo;
    }
    let hi = (lo + step + 1).min(xs.len());
    lo + 1 + xs[lo + 1..hi].partition_point(|&z| z < w)
}

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

/// Both directions of an agreement list: per value, its neighbours (ascending) and their levels.
#[derive(Debug, Clone, Default)]
struct Adjacency {
    starts: Vec<u32>,
    nbr: Vec<u32>,
    lvl: Vec<u8>,
}

impl Adjacency {
    /// From a list sorted by `(a, b)`: the neighbours of `v` are filled in the order `(a, v)`
    /// for `a < v`, `(v, v)`, `(v, b)` for `b > v`, which is ascending.
    fn build(d: usize, list: &[Agreement]) -> Adjacency {
        debug_assert!(list.windows(2).all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)));
        let mut starts = vec![0u32; d + 1];
        for &(a, b, _) in list {
            starts[a as usize + 1] += 1;
            if a != b {
                starts[b as usize + 1] += 1;
            }
        }
        for i in 0..d {
            starts[i + 1] += starts[i];
        }
        let n = starts[d] as usize;
        let (mut nbr, mut lvl) = (vec![0u32; n], vec![0u8; n]);
        let mut fill = starts.clone();
        let mut put = |v: u32, w: u32, l: u8| {
            let i = fill[v as usize] as usize;
            nbr[i] = w;
            lvl[i] = l;
            fill[v as usize] += 1;
        };
        for &(a, b, l) in list {
            put(a, b, l);
            if a != b {
                put(b, a, l);
            }
        }
        Adjacency { starts, nbr, lvl }
    }

    #[inline]
    fn get(&self, v: u32) -> (&[u32], &[u8]) {
        let (s, e) = (
            self.starts[v as usize] as usize,
            self.starts[v as usize + 1] as usize,
        );
        (&self.nbr[s..e], &self.lvl[s..e])
    }

    /// Number of neighbours of `v`.
    #[inline]
    fn degree(&self, v: u32) -> usize {
        (self.starts[v as usize + 1] - self.starts[v as usize]) as usize
    }
}

/// Per value of a sparse comparison, its records counted by (cell, source).
#[derive(Debug, Clone, Default)]
struct Hist {
    starts: Vec<u32>,
    entries: Vec<(u32, u16, u64)>,
}

impl Hist {
    fn build(d: usize, values: &[u32], cell_of: &[u32], source_of: &[u16]) -> Hist {
        let mut keys: Vec<(u32, u32, u16)> = values
            .iter()
            .enumerate()
            .filter(|(_, v)| **v != MISSING)
            .map(|(r, &v)| (v, cell_of[r], source_of[r]))
            .collect();
        keys.par_sort_unstable();
        let mut starts = vec![0u32; d + 1];
        let mut entries: Vec<(u32, u16, u64)> = Vec::new();
        let mut i = 0;
        while i < keys.len() {
            let mut j = i;
            while j < keys.len() && keys[j] == keys[i] {
                j += 1;
            }
            let (v, cell, src) = keys[i];
            starts[v as usize + 1] += 1;
            entries.push((cell, src, (j - i) as u64));
            i = j;
        }
        for v in 0..d {
            starts[v + 1] += starts[v];
        }
        Hist { starts, entries }
    }

    #[inline]
    fn get(&self, v: u32) -> &[(u32, u16, u64)] {
        &self.entries[self.starts[v as usize] as usize..self.starts[v as usize + 1] as usize]
    }
}

/// Records of the build side with values of both sparse comparisons `o` (outer) and `q` (inner),
/// sorted by (outer value, inner value, record) and grouped by outer value. For dedupe every
/// record is on the build side and each pair is met from both of its records, the one from the
/// lower record kept (measured faster than groups by record that a probe scans only after
/// itself: most of the work is binary searches of the few inner neighbours in large groups).
#[derive(Debug)]
struct JoinIndex {
    /// Sparse positions: the pair `(x, y)` with `x < y`, and which of them is outer.
    x: usize,
    y: usize,
    o: usize,
    q: usize,
    starts: Vec<u32>,
    inner: Vec<u32>,
    rec: Vec<u32>,
    /// `ok[lo][mq]`: whether pairs at outer level `lo` and inner mark `mq` (level + 1; 0 for no
    /// agreement) are wanted; `o_ok[lo]`: whether any inner level is, at outer level `lo`.
    ok: [[bool; 17]; 16],
    o_ok: [bool; 16],
}

/// The exhaustive index of a dataset: agreement lists, adjacency, per-value counts and cells.
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
    /// Per comparison: the agreement list of dense comparisons (sparse ones keep theirs as
    /// [`Adjacency`]; empty here).
    agree: Vec<Vec<Agreement>>,
    /// Sparse comparisons (their indexes), in order; the "sparse positions" below index this.
    sparse: Vec<usize>,
    /// Per sparse position: neighbours of each value.
    adj: Vec<Adjacency>,
    /// Per record: its cell.
    cell_of: Vec<u32>,
    /// Per sparse position: mean number of neighbour values over records with a value.
    degree: Vec<f64>,
    /// Per cell: dense values (one per dense comparison, in order), then the sparse missing mask.
    cell_keys: Vec<Vec<u32>>,
    /// Per cell: the full missing mask.
    cell_masks: Vec<u32>,
    /// Per cell: records per source.
    cell_counts: Vec<Vec<u64>>,
    /// Records by cell.
    cell_members: Groups,
    /// Most touched pairs to keep (see [`KEEP_TOUCHED_MAX`]).
    keep_max: usize,
    /// Sparse positions of exact-only comparisons, most agreeing pairs first (see
    /// [`Exhaustive::bulk_exact`]).
    exact_ranked: Vec<usize>,
    /// The sparse positions (bits) whose joint agreements are counted in bulk: by default, of
    /// the first [`BULK_EXACT_MAX`] of `exact_ranked`, those agreeing on enough pairs.
    bulk_x: u32,
    /// Per sparse position: the level of two equal values (for exact-only comparisons).
    exact_level: Vec<u8>,
    /// Per sparse position: unordered record pairs with equal values.
    equal_pairs: Vec<u64>,
    /// Admissible pairs in all.
    n_pairs: u64,
    /// The sparse positions (bits) outside `bulk_x` whose agreeing pairs are enumerated into a
    /// dense table instead of counted in bulk and joined (see [`Exhaustive::counts`]).
    enum_f: u32,
    /// The pairs agreeing on two or more sparse comparisons, as found by [`Exhaustive::counts`]
    /// (when at most `keep_max`), per probe chunk in order.
    touched: std::sync::Mutex<Option<Vec<Touched>>>,
    /// Per enumerated sparse position: the pairs [`Exhaustive::counts`] found agreeing on it and
    /// on some bulk-counted exact comparison (within the `keep_max` cap), for scoring.
    enum_kept: std::sync::Mutex<FxHashMap<usize, EnumKept>>,
}

/// The pairs of one enumerated comparison that also agree on a bulk-counted exact one: each
/// pair's two records and its entry of the dense table, and per entry its predicted pattern
/// (exact unless the pair agrees on another comparison outside the exact set).
#[derive(Debug, Default)]
struct EnumKept {
    pairs: Vec<(u32, u32, u32)>,
    predicted: FxHashMap<u32, u128>,
}

/// Record pairs of one probe chunk with their patterns, compactly: runs of one left record
/// (`runs`: left record, number of pairs), each pair's right record and pattern id (an index of
/// `patterns`, the chunk's [`ChunkPatterns::patterns`]).
#[derive(Debug, Default)]
struct Touched {
    runs: Vec<(u32, u32)>,
    right: Vec<u32>,
    pid: Vec<u16>,
    patterns: Vec<u128>,
}

impl Touched {
    /// Adds pair `(l, r)` with pattern id `id`; false when the id does not fit `u16`.
    fn push(&mut self, l: u32, r: u32, id: u32) -> bool {
        let Ok(id) = u16::try_from(id) else {
            return false;
        };
        match self.runs.last_mut() {
            Some((left, n)) if *left == l => *n += 1,
            _ => self.runs.push((l, 1)),
        }
        self.right.push(r);
        self.pid.push(id);
        true
    }
}

/// The patterns of one probe chunk's enumerated pairs, each with an id (in order of first
/// appearance) and its number of pairs: one hash lookup per pair, where adding each pair's moves
/// to the counts directly took `2 + |S(π)|` (the two-agreement phase of the mid-sized shape took
/// 0.60 → 0.37 s); the moves are made per pattern when the chunk is merged.
#[derive(Debug, Default)]
struct ChunkPatterns {
    ids: FxHashMap<u128, u32>,
    patterns: Vec<u128>,
    n: Vec<u64>,
}

impl ChunkPatterns {
    /// Counts one pair with pattern `p`; returns the pattern's id.
    #[inline]
    fn add(&mut self, p: u128) -> u32 {
        let id = *self.ids.entry(p).or_insert_with(|| {
            self.patterns.push(p);
            self.n.push(0);
            self.patterns.len() as u32 - 1
        });
        self.n[id as usize] += 1;
        id
    }
}

/// Record `r`'s value for comparison `k`.
#[inline]
fn value(comparer: &Comparer, r: u32, k: usize) -> u32 {
    comparer.row(r)[k]
}

/// Pattern `p` with level `l` at comparison `k`.
#[inline]
fn with_level(p: u128, k: usize, l: u8) -> u128 {
    (p & !(0xFu128 << (4 * k))) | ((l as u128) << (4 * k))
}

impl<'a> Exhaustive<'a> {
    /// Builds agreement lists, indexes and cells. `specs` (the expanded comparison specs the
    /// comparer was compiled from) enable the Jaro–Winkler length bound; without them it is off.
    ///
    /// # Errors
    /// [`Error::Settings`] at `comparison` with more than 32 comparisons.
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
            return Err(Error::settings(
                "settings",
                "comparison",
                format!("exhaustive linkage supports at most 32 comparisons, got {n_c}"),
            ));
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
                let t = std::time::Instant::now();
                let list = agreement_list(ds, c, jw.as_ref());
                progress.phase(
                    &format!(
                        "exhaustive: agreement list {} ({} values, {} entries)",
                        ds.columns[c.column].name,
                        ds.columns[c.column].dict.len(),
                        list.len()
                    ),
                    t,
                );
                list
            })
            .collect();
        progress.step("exhaustive: agreement lists", t);
        let t = std::time::Instant::now();
        // Cells.
        let mut cell_index: FxHashMap<Vec<u32>, u32> = FxHashMap::default();
        let mut cell_keys: Vec<Vec<u32>> = Vec::new();
        let mut cell_counts: Vec<Vec<u64>> = Vec::new();
        let mut cell_of = Vec::with_capacity(ds.len());
        let mut key = Vec::new();
        for r in 0..ds.len() as u32 {
            key.clear();
            let mut mask = 0u32;
            for (k, &v) in comparer.row(r).iter().enumerate() {
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
        let cell_masks: Vec<u32> = cell_keys
            .iter()
            .map(|key| {
                let mut mask = *key.last().unwrap_or(&0);
                let mut di = 0;
                for (k, &d) in dense.iter().enumerate() {
                    if d {
                        if key[di] == MISSING {
                            mask |= 1 << k;
                        }
                        di += 1;
                    }
                }
                mask
            })
            .collect();
        // Sparse comparisons: adjacency, per-value counts, records by value, mean degree.
        let sparse: Vec<usize> = (0..n_c).filter(|&k| !dense[k]).collect();
        let mut agree = agree;
        let per_sparse: Vec<(Adjacency, f64)> = sparse
            .par_iter()
            .map(|&k| {
                let c = &comparer.comparisons[k];
                let d = ds.columns[c.column].dict.len();
                let adj = Adjacency::build(d, &agree[k]);
                let (mut sum, mut n) = (0u64, 0u64);
                for r in 0..ds.len() as u32 {
                    let v = value(comparer, r, k);
                    if v != MISSING {
                        sum += adj.degree(v) as u64;
                        n += 1;
                    }
                }
                let degree = if n == 0 { 0.0 } else { sum as f64 / n as f64 };
                (adj, degree)
            })
            .collect();
        for &k in &sparse {
            agree[k] = Vec::new();
        }
        let (adj, degree): (Vec<Adjacency>, Vec<f64>) = per_sparse.into_iter().unzip();
        // Exact-only sparse comparisons that agree on many pairs: `e` unordered record pairs
        // with equal values. Two of them together are expected to agree on about `e1 e2 / N` of
        // the `N` pairs; they are counted in bulk when that can reach the number of records,
        // `e ≥ sqrt(N n)` (fewer such pairs cost less to enumerate than a sort of the records).
        let n_pairs = total_pairs(link_type, &ds.source_sizes()) as f64;
        let exact_level: Vec<u8> = adj
            .iter()
            .map(|a| a.lvl.first().copied().unwrap_or(0))
            .collect();
        // Per sparse comparison: unordered record pairs with equal values.
        let equal_pairs: Vec<u64> = sparse
            .par_iter()
            .enumerate()
            .map(|(si, &k)| {
                let mut n = vec![0u64; adj[si].starts.len() - 1];
                for r in 0..ds.len() as u32 {
                    let v = value(comparer, r, k);
                    if v != MISSING {
                        n[v as usize] += 1;
                    }
                }
                n.iter().map(|&m| m * m.saturating_sub(1) / 2).sum()
            })
            .collect();
        let mut exact_ranked: Vec<(u64, usize)> = sparse
            .iter()
            .enumerate()
            .filter(|&(si, &k)| {
                lists::exact_only(&comparer.comparisons[k]) && !adj[si].nbr.is_empty()
            })
            .map(|(si, _)| (equal_pairs[si], si))
            .collect();
        exact_ranked.sort_unstable_by(|a, b| b.cmp(a));
        let bulk_x = exact_ranked
            .iter()
            .filter(|&&(e, _)| e as f64 >= (n_pairs * ds.len() as f64).sqrt())
            .take(BULK_EXACT_MAX)
            .fold(0u32, |m, &(_, si)| m | 1 << si);
        let exact_ranked: Vec<usize> = exact_ranked.into_iter().map(|(_, si)| si).collect();
        progress.step("exhaustive: indexes and cells", t);
        let mut ex = Exhaustive {
            ds,
            comparer,
            link_type,
            miss,
            other,
            dense,
            agree,
            sparse,
            adj,
            degree,
            cell_of,
            cell_keys,
            cell_masks,
            cell_counts,
            cell_members,
            keep_max: KEEP_TOUCHED_MAX,
            exact_ranked,
            bulk_x,
            exact_level,
            equal_pairs,
            n_pairs: n_pairs as u64,
            enum_f: 0,
            touched: std::sync::Mutex::new(None),
            enum_kept: std::sync::Mutex::new(FxHashMap::default()),
        };
        ex.enum_f = ex.modes(None);
        Ok(ex)
    }

    /// Enumerates the agreeing pairs of every comparison outside the bulk-counted exact set
    /// whose dense table fits (`Some(true)`), of none (`Some(false)`), or as chosen by default
    /// (`None`). For tests and measurement: the output does not depend on it.
    pub fn enumerate_fuzzy(&mut self, force: Option<bool>) {
        self.enum_f = self.modes(force);
    }

    /// Which comparisons outside `bulk_x` are enumerated: all that fit the dense table
    /// (`Some(true)`), none (`Some(false)`), or by the expected share of their pairs that also
    /// agree on an exact one (`None`, the default: see [`ENUMERATE_RATIO`]).
    fn modes(&self, force: Option<bool>) -> u32 {
        let n_x = self.bulk_x.count_ones();
        let p_x: f64 = (0..self.sparse.len())
            .filter(|&si| self.bulk_x >> si & 1 == 1)
            .map(|si| self.equal_pairs[si] as f64 / self.n_pairs.max(1) as f64)
            .sum();
        let nc = self.n_cells();
        (0..self.sparse.len())
            .filter(|&si| self.bulk_x >> si & 1 == 0)
            .filter(|&si| {
                let levels = self.comparer.comparisons[self.sparse[si]]
                    .n_levels()
                    .min(16);
                let fits = nc
                    .saturating_mul(nc)
                    .saturating_mul(levels)
                    .saturating_mul(1 << n_x)
                    <= ENUMERATE_TABLE_MAX;
                fits && match force {
                    Some(f) => f,
                    None => n_x > 0 && p_x * ENUMERATE_RATIO >= 1.0 && !self.adj[si].nbr.is_empty(),
                }
            })
            .fold(0u32, |m, si| m | 1 << si)
    }

    /// Sets the most touched pairs [`Exhaustive::counts`] keeps for scoring (default
    /// [`KEEP_TOUCHED_MAX`]; 0 keeps none, and scoring joins again). The output does not depend
    /// on it.
    pub fn keep_touched(&mut self, max_pairs: usize) {
        self.keep_max = max_pairs;
    }

    /// Counts the joint agreements of the `max` exact-only sparse comparisons that agree on the
    /// most pairs in bulk (at most [`BULK_EXACT_MAX`]), whether or not they agree on enough
    /// pairs to pay (the default takes, of the first [`BULK_EXACT_MAX`], those agreeing on at
    /// least `sqrt(N n)` pairs for `N` pairs and `n` records); 0 enumerates every pair agreeing
    /// on two or more sparse comparisons. For tests and measurement: the output does not depend
    /// on it.
    pub fn bulk_exact(&mut self, max: usize) {
        let max = max.min(BULK_EXACT_MAX);
        self.bulk_x = self
            .exact_ranked
            .iter()
            .take(max)
            .fold(0u32, |m, &si| m | 1 << si);
        self.enum_f = self.modes(None);
    }

    /// The join `(x, y)` (sparse positions, `x < y`) that owns a pair agreeing on the sparse
    /// positions in `agree`, or `None` when no join does (fewer than two agreements, or one
    /// enumerated fuzzy agreement with exact ones: step 5 of [`Exhaustive::counts`]). A pair
    /// agreeing on two or more comparisons outside the bulk-counted exact set is owned by its
    /// two lowest such; one on one of them (counted in bulk) and on exact ones by it and the
    /// lowest exact one; a pair agreeing only on exact ones (counted in bulk, and enumerated
    /// only when scoring needs it) by its two lowest.
    #[inline]
    fn owner(&self, agree: u32) -> Option<(usize, usize)> {
        if agree.count_ones() < 2 {
            return None;
        }
        let fuzzy = agree & !self.bulk_x;
        let lowest_two = |m: u32| {
            let first = m.trailing_zeros();
            (
                first as usize,
                (m & !(1 << first)).trailing_zeros() as usize,
            )
        };
        match fuzzy.count_ones() {
            0 => Some(lowest_two(agree)),
            1 if fuzzy & self.enum_f != 0 => None,
            1 => {
                let (f, x) = (
                    fuzzy.trailing_zeros(),
                    (agree & self.bulk_x).trailing_zeros(),
                );
                Some((f.min(x) as usize, f.max(x) as usize))
            }
            _ => Some(lowest_two(fuzzy)),
        }
    }

    /// Whether the join of sparse positions `x` and `y` owns pairs that counting enumerates:
    /// not when both are bulk-counted exact comparisons (step 4 counts their pairs), nor when
    /// one is and the other's pairs are enumerated (step 5 does).
    #[inline]
    fn counting_join(&self, x: usize, y: usize) -> bool {
        let (bx, by) = (self.bulk_x >> x & 1 == 1, self.bulk_x >> y & 1 == 1);
        let (ex, ey) = (self.enum_f >> x & 1 == 1, self.enum_f >> y & 1 == 1);
        !(bx && (by || ey) || by && ex)
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
    #[inline]
    fn cell_mask(&self, cell: u32) -> u32 {
        self.cell_masks[cell as usize]
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
    /// [`Error::Internal`] if the counts do not add up to the number of admissible pairs (a bug).
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
        progress.step("exhaustive: base and dense counts", t);
        // 3. One sparse agreement, in bulk.
        let t = std::time::Instant::now();
        for (si, &k) in self.sparse.iter().enumerate() {
            if self.enum_f >> si & 1 == 1 {
                continue;
            }
            let hist = self.hist(k);
            let d = self.adj[si].starts.len() - 1;
            let values: Vec<u32> = (0..d as u32).collect();
            let parts: Vec<FxHashMap<u128, i128>> = values
                .par_chunks(ENTRY_CHUNK)
                .map(|chunk| {
                    let mut local: FxHashMap<u128, i128> = FxHashMap::default();
                    let mut lv = Vec::new();
                    for &a in chunk {
                        let (nb, lvl) = self.adj[si].get(a);
                        let from = nb.partition_point(|&w| w < a);
                        for (&b, &l) in nb[from..].iter().zip(&lvl[from..]) {
                            self.for_each_value_pair_cells(&hist, a, b, |ca, cb, n| {
                                let base = self.bulk_pattern(ca, cb, &mut lv);
                                *local.entry(with_level(base, k, l)).or_insert(0) += n as i128;
                                *local.entry(base).or_insert(0) -= n as i128;
                            });
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
        progress.step("exhaustive: one-agreement counts", t);
        // 4. Joint agreements of the bulk-counted exact comparisons.
        let t = std::time::Instant::now();
        self.exact_subsets(&mut delta);
        progress.step("exhaustive: joint exact counts", t);
        // 5. Enumerated comparisons.
        let t = std::time::Instant::now();
        let mut room = self.keep_max;
        let mut enum_kept = FxHashMap::default();
        for si in 0..self.sparse.len() {
            if self.enum_f >> si & 1 == 1 {
                if let Some(kept) = self.enumerated_counts(si, &mut delta, room) {
                    room -= kept.pairs.len();
                    enum_kept.insert(si, kept);
                }
            }
        }
        *self.enum_kept.lock().unwrap_or_else(|e| e.into_inner()) = enum_kept;
        progress.step("exhaustive: enumerated agreements", t);
        // 6. Two or more sparse agreements, enumerated.
        let t = std::time::Instant::now();
        // Each chunk's pairs are kept while the total stays within `keep_max`.
        let kept = std::sync::atomic::AtomicUsize::new(0);
        let keep_max = self.keep_max;
        let parts = self.multi_pass(
            &|x, y, _, _| self.counting_join(x, y),
            progress,
            || (ChunkPatterns::default(), Some(Touched::default())),
            |(local, store), l, r, p| {
                let id = local.add(p);
                if let Some(st) = store {
                    use std::sync::atomic::Ordering::Relaxed;
                    if kept.fetch_add(1, Relaxed) >= keep_max || !st.push(l, r, id) {
                        // Over the cap: nothing is kept anywhere.
                        kept.store(usize::MAX / 2, Relaxed);
                        *store = None;
                    }
                }
            },
            |(local, store)| {
                local.ids = FxHashMap::default();
                if let Some(st) = store {
                    st.patterns = local.patterns.clone();
                    st.runs.shrink_to_fit();
                    st.right.shrink_to_fit();
                    st.pid.shrink_to_fit();
                }
            },
        );
        let mut stores = Vec::with_capacity(parts.len());
        for (local, store) in parts {
            // Each pair π (agreeing on the bulk-counted exact set X_S and the others F_S, not
            // empty) moves to its pattern p from where steps 1–5 put it: at P(X_S), the
            // pattern with X_S at its levels and F_S null or else; plus, per f in F_S counted
            // in bulk, the move from B(π) (`assumed(p)`) to B(π) with f at its level; plus, per
            // enumerated f in F_S, the move from P(X_S) to P(X_S) with f at its level.
            for (&p, &n) in local.patterns.iter().zip(&local.n) {
                let n = n as i128;
                let base = self.assumed(p);
                let mut x_base = p;
                for (si, &k) in self.sparse.iter().enumerate() {
                    if self.bulk_x >> si & 1 == 0 && self.agrees(k, Self::level_in(p, k)) {
                        x_base = with_level(x_base, k, self.other[k]);
                    }
                }
                for (si, &k) in self.sparse.iter().enumerate() {
                    let l = Self::level_in(p, k);
                    if self.bulk_x >> si & 1 == 1 || !self.agrees(k, l) {
                        continue;
                    }
                    let from = if self.enum_f >> si & 1 == 1 {
                        x_base
                    } else {
                        base
                    };
                    *delta.entry(with_level(from, k, l)).or_insert(0) -= n;
                    *delta.entry(from).or_insert(0) += n;
                }
                *delta.entry(p).or_insert(0) += n;
                *delta.entry(x_base).or_insert(0) -= n;
            }
            stores.push(store);
        }
        // Every chunk's store, unless one was dropped (over the cap).
        *self.touched.lock().unwrap_or_else(|e| e.into_inner()) =
            stores.into_iter().collect::<Option<Vec<Touched>>>();
        progress.step("exhaustive: two-agreement pairs", t);
        let mut map: FxHashMap<u128, u64> = FxHashMap::default();
        for (key, v) in delta {
            if v < 0 {
                return Err(Error::Internal(format!(
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

    /// Step 4 of [`Exhaustive::counts`]: for every set `U` of two or more bulk-counted exact
    /// comparisons, over the pairs agreeing on all of `U` (records grouped by their values of
    /// `U`, counted by cell and source), adds the Möbius term
    /// `g(U) = Σ_{V ⊆ U} (−1)^{|U − V|} [B with V at the exact level]`. With the single
    /// agreements of step 3 (`g({k})`) and the base (`g(∅)`), a pair agreeing on the set `X_S`
    /// of them and on nothing else sparse then sits at its true pattern
    /// (`Σ_{U ⊆ X_S} g(U) = [B with X_S exact]`), without being visited.
    fn exact_subsets(&self, delta: &mut FxHashMap<u128, i128>) {
        let (xs, xl) = self.bulk_levels();
        let lt = self.link_type;
        for u in 1u32..1 << xs.len() {
            if u.count_ones() < 2 {
                continue;
            }
            let (ks, kl): (Vec<usize>, Vec<u8>) = (0..xs.len())
                .filter(|&i| u >> i & 1 == 1)
                .map(|i| (xs[i], xl[i]))
                .unzip();
            // (values of U, padded; cell; source) for every record with all of U.
            let mut recs: Vec<([u32; BULK_EXACT_MAX], u32, u16)> = (0..self.ds.len() as u32)
                .filter_map(|r| {
                    let row = self.comparer.row(r);
                    let mut key = [0u32; BULK_EXACT_MAX];
                    for (i, &k) in ks.iter().enumerate() {
                        if row[k] == MISSING {
                            return None;
                        }
                        key[i] = row[k];
                    }
                    Some((key, self.cell_of[r as usize], self.ds.source_of[r as usize]))
                })
                .collect();
            recs.par_sort_unstable();
            let mut blocks: Vec<usize> = Vec::new();
            for i in 0..recs.len() {
                if i == 0 || recs[i].0 != recs[i - 1].0 {
                    blocks.push(i);
                }
            }
            blocks.push(recs.len());
            // Record pairs per pair of cells (lower cell first), per chunk of blocks.
            let parts: Vec<FxHashMap<u64, u64>> = blocks
                .windows(2)
                .collect::<Vec<_>>()
                .par_chunks(BLOCK_CHUNK)
                .map(|chunk| {
                    let mut local: FxHashMap<u64, u64> = FxHashMap::default();
                    let mut entries: Vec<(u32, u16, u64)> = Vec::new();
                    for w in chunk {
                        entries.clear();
                        for &(_, cell, src) in &recs[w[0]..w[1]] {
                            match entries.last_mut() {
                                Some(e) if e.0 == cell && e.1 == src => e.2 += 1,
                                _ => entries.push((cell, src, 1)),
                            }
                        }
                        for (i, &(c1, s1, n1)) in entries.iter().enumerate() {
                            if lt.admits(s1, s1) && n1 > 1 {
                                *local
                                    .entry(u64::from(c1) << 32 | u64::from(c1))
                                    .or_insert(0) += n1 * (n1 - 1) / 2;
                            }
                            for &(c2, s2, n2) in &entries[i + 1..] {
                                if lt.admits(s1, s2) {
                                    // Entries are sorted by cell, so c1 <= c2.
                                    *local
                                        .entry(u64::from(c1) << 32 | u64::from(c2))
                                        .or_insert(0) += n1 * n2;
                                }
                            }
                        }
                    }
                    local
                })
                .collect();
            let mut merged: std::collections::BTreeMap<u64, u64> = Default::default();
            for part in parts {
                for (key, n) in part {
                    *merged.entry(key).or_insert(0) += n;
                }
            }
            let mut lv = Vec::new();
            for (key, n) in merged {
                let (ca, cb) = ((key >> 32) as u32, key as u32);
                let base = self.bulk_pattern(ca, cb, &mut lv);
                // Every V ⊆ U, with its sign.
                let m = ks.len() as u32;
                for v in 0u32..1 << m {
                    let p = self.with_exact(base, &ks, &kl, v);
                    let sign: i128 = if (m - v.count_ones()) % 2 == 0 { 1 } else { -1 };
                    *delta.entry(p).or_insert(0) += sign * n as i128;
                }
            }
        }
    }

    /// Calls `f(r, s, level)` for every admissible unordered record pair (either order)
    /// agreeing on sparse position `si` at `level`, within the list entries `(a, b ≥ a)` of the
    /// values `a` in `chunk` (skipping the records of the same source for `link` by a search
    /// instead of a test was measured slower: 0.085 → 0.105 s on the mid-sized shape).
    #[inline]
    fn for_each_agreeing_pair(
        &self,
        si: usize,
        groups: &Groups,
        chunk: &[u32],
        mut f: impl FnMut(u32, u32, u8),
    ) {
        let so = &self.ds.source_of;
        let lt = self.link_type;
        for &a in chunk {
            let (nb, lv) = self.adj[si].get(a);
            let from = nb.partition_point(|&w| w < a);
            let ra = groups.get(a);
            for (&b, &l) in nb[from..].iter().zip(&lv[from..]) {
                let rb = groups.get(b);
                for (i, &r) in ra.iter().enumerate() {
                    let rest = if a == b { &ra[i + 1..] } else { rb };
                    let sr = so[r as usize];
                    for &s in rest {
                        if lt.admits(sr, so[s as usize]) {
                            f(r, s, l);
                        }
                    }
                }
            }
        }
    }

    /// The comparisons (indexes) of the bulk-counted exact set, in sparse order.
    pub(super) fn bulk_comparisons(&self) -> Vec<usize> {
        self.bulk_levels().0
    }

    /// The comparisons (indexes) of the bulk-counted exact set, in sparse order, and their
    /// exact levels.
    fn bulk_levels(&self) -> (Vec<usize>, Vec<u8>) {
        (0..self.sparse.len())
            .filter(|&si| self.bulk_x >> si & 1 == 1)
            .map(|si| (self.sparse[si], self.exact_level[si]))
            .unzip()
    }

    /// Which of the comparisons `xs` records `r` and `s` agree on (equal values), as bits.
    #[inline]
    pub(super) fn exact_mask(&self, xs: &[usize], r: u32, s: u32) -> u32 {
        let (rr, rs) = (self.comparer.row(r), self.comparer.row(s));
        let mut m = 0u32;
        for (i, &x) in xs.iter().enumerate() {
            if rr[x] == rs[x] && rr[x] != MISSING {
                m |= 1 << i;
            }
        }
        m
    }

    /// Pattern `p` with the comparisons of `xs` in mask `m` at their exact levels.
    #[inline]
    fn with_exact(&self, mut p: u128, xs: &[usize], xl: &[u8], m: u32) -> u128 {
        for (i, (&x, &l)) in xs.iter().zip(xl).enumerate() {
            if m >> i & 1 == 1 {
                p = with_level(p, x, l);
            }
        }
        p
    }

    /// Step 5 of [`Exhaustive::counts`] for enumerated sparse position `si` (comparison `f`):
    /// every pair π agreeing on it is visited, and counted by (cell pair, level of `f`, set
    /// `X_S` of bulk-counted exact comparisons it agrees on) in a dense table; each entry then
    /// moves its pairs from `P(X_S)` (steps 1–4: the pattern with `X_S` exact and every other
    /// sparse comparison null or else) to `P(X_S)` with `f` at its level, which is exact for
    /// pairs agreeing on no other such comparison (the rest is corrected by step 6). Returns
    /// the pairs that agree on an exact comparison too, for scoring, unless more than `room`.
    fn enumerated_counts(
        &self,
        si: usize,
        delta: &mut FxHashMap<u128, i128>,
        room: usize,
    ) -> Option<EnumKept> {
        let k = self.sparse[si];
        let (xs, xl) = self.bulk_levels();
        let nx = xs.len();
        let levels = self.comparer.comparisons[k].n_levels().min(16);
        let nc = self.n_cells();
        let size = (nc * nc * levels) << nx;
        let d = self.adj[si].starts.len() - 1;
        let groups = Groups::build(
            d,
            (0..self.ds.len() as u32).map(|r| value(self.comparer, r, k)),
        );
        let values: Vec<u32> = (0..d as u32).collect();
        // Integer counts: the sum does not depend on how the chunks are split. The pairs with
        // an exact agreement are kept while they fit `room` (their order does not matter:
        // scoring sorts what it writes).
        let n_kept = std::sync::atomic::AtomicUsize::new(0);
        let (table, pairs) = values
            .par_chunks(ENTRY_CHUNK)
            .fold(
                || (vec![0u64; size], Some(Vec::new())),
                |(mut t, mut kept), chunk| {
                    self.for_each_agreeing_pair(si, &groups, chunk, |r, s, l| {
                        let m = self.exact_mask(&xs, r, s) as usize;
                        let (cr, cs) = (self.cell_of[r as usize], self.cell_of[s as usize]);
                        let (c1, c2) = (cr.min(cs) as usize, cr.max(cs) as usize);
                        let i = ((c1 * nc + c2) * levels + l as usize) << nx | m;
                        t[i] += 1;
                        if m != 0 {
                            if let Some(k) = kept.as_mut() {
                                use std::sync::atomic::Ordering::Relaxed;
                                if n_kept.fetch_add(1, Relaxed) < room {
                                    k.push((r.min(s), r.max(s), i as u32));
                                } else {
                                    kept = None;
                                }
                            }
                        }
                    });
                    (t, kept)
                },
            )
            .reduce(
                || (vec![0u64; size], Some(Vec::new())),
                |(mut a, ka), (b, kb)| {
                    for (x, y) in a.iter_mut().zip(b) {
                        *x += y;
                    }
                    let kept = match (ka, kb) {
                        (Some(mut x), Some(y)) => {
                            x.extend(y);
                            Some(x)
                        }
                        _ => None,
                    };
                    (a, kept)
                },
            );
        let mut predicted = FxHashMap::default();
        let mut lv = Vec::new();
        for (i, &n) in table.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let m = (i & ((1 << nx) - 1)) as u32;
            let l = ((i >> nx) % levels) as u8;
            let pair = (i >> nx) / levels;
            let (c1, c2) = ((pair / nc) as u32, (pair % nc) as u32);
            let px = self.with_exact(self.bulk_pattern(c1, c2, &mut lv), &xs, &xl, m);
            *delta.entry(with_level(px, k, l)).or_insert(0) += n as i128;
            *delta.entry(px).or_insert(0) -= n as i128;
            if m != 0 {
                predicted.insert(i as u32, with_level(px, k, l));
            }
        }
        pairs.map(|pairs| EnumKept { pairs, predicted })
    }

    /// The pairs agreeing on enumerated sparse position `si`, on some bulk-counted exact
    /// comparisons and on no other sparse comparison, whose pattern is one of `targets` (all of
    /// that kind): each pair's pattern is predicted from its cells, the level of the list entry
    /// and the exact comparisons it agrees on, and only pairs whose prediction is wanted are
    /// compared in full.
    fn enumerated_pairs(&self, si: usize, targets: &FxHashSet<u128>) -> routes::Kept {
        let k = self.sparse[si];
        let (xs, xl) = self.bulk_levels();
        let d = self.adj[si].starts.len() - 1;
        let groups = Groups::build(
            d,
            (0..self.ds.len() as u32).map(|r| value(self.comparer, r, k)),
        );
        let values: Vec<u32> = (0..d as u32).collect();
        values
            .par_chunks(ENTRY_CHUNK)
            .map(|chunk| {
                let mut out = routes::Kept::new();
                let mut lv = Vec::new();
                self.for_each_agreeing_pair(si, &groups, chunk, |r, s, l| {
                    let m = self.exact_mask(&xs, r, s);
                    if m == 0 {
                        return;
                    }
                    let (cr, cs) = (self.cell_of[r as usize], self.cell_of[s as usize]);
                    let base = self.bulk_pattern(cr, cs, &mut lv);
                    let predicted = with_level(self.with_exact(base, &xs, &xl, m), k, l);
                    if !targets.contains(&predicted) {
                        return;
                    }
                    let (lo, hi) = (r.min(s), r.max(s));
                    let p = self.comparer.pattern(self.ds, lo, hi);
                    if targets.contains(&p) {
                        out.push((lo, hi, p));
                    }
                });
                out
            })
            .flatten()
            .collect()
    }

    /// Records of each value of comparison `k`, counted by (cell, source).
    fn hist(&self, k: usize) -> Hist {
        let c = &self.comparer.comparisons[k];
        let d = self.ds.columns[c.column].dict.len();
        let values: Vec<u32> = (0..self.ds.len() as u32)
            .map(|r| value(self.comparer, r, k))
            .collect();
        Hist::build(d, &values, &self.cell_of, &self.ds.source_of)
    }

    /// The pattern of pairs between cells `ca` and `cb` with no sparse agreement.
    #[inline]
    fn bulk_pattern(&self, ca: u32, cb: u32, lv: &mut Vec<u8>) -> u128 {
        let m = self.cell_masks[ca as usize] | self.cell_masks[cb as usize];
        if self.sparse.len() == self.miss.len() {
            self.mask_pattern(m, None)
        } else {
            self.dense_levels(ca, cb, lv);
            self.mask_pattern(m, Some(lv))
        }
    }

    /// Calls `f(cell_a, cell_b, n)` with the number `n > 0` of admissible record pairs between
    /// the records whose value of sparse position `si` is `a` and those whose value is `b`, per
    /// pair of cells (each unordered record pair once; within the records of `a` if `a == b`).
    #[inline]
    fn for_each_value_pair_cells(
        &self,
        hist: &Hist,
        a: u32,
        b: u32,
        mut f: impl FnMut(u32, u32, u64),
    ) {
        let lt = self.link_type;
        let ha = hist.get(a);
        if a == b {
            for (i, &(c1, s1, n1)) in ha.iter().enumerate() {
                if lt.admits(s1, s1) && n1 > 1 {
                    f(c1, c1, n1 * (n1 - 1) / 2);
                }
                for &(c2, s2, n2) in &ha[i + 1..] {
                    if lt.admits(s1, s2) {
                        f(c1, c2, n1 * n2);
                    }
                }
            }
        } else {
            let hb = hist.get(b);
            for &(c1, s1, n1) in ha {
                for &(c2, s2, n2) in hb {
                    if lt.admits(s1, s2) {
                        f(c1, c2, n1 * n2);
                    }
                }
            }
        }
    }

    /// Whether record pair `(r, s)`, found from probe `r`, is one this pass owns: admissible and
    /// found once (link: `s` from a later source; otherwise `s > r`).
    #[inline]
    fn accept(&self, r: u32, s: u32) -> bool {
        let so = &self.ds.source_of;
        match self.link_type {
            LinkType::Link => so[s as usize] > so[r as usize],
            LinkType::Dedupe | LinkType::LinkAndDedupe => s > r,
        }
    }

    /// The join index of sparse positions `x < y`, with the comparison of smaller mean degree
    /// outer (fewer groups to visit per probe).
    fn join_index(&self, x: usize, y: usize, ok: [[bool; 17]; 16]) -> JoinIndex {
        let (o, q) = if self.degree[y] < self.degree[x] {
            (y, x)
        } else {
            (x, y)
        };
        // `ok` is indexed by (x level, y level + 1).
        let mut ok_oq = [[false; 17]; 16];
        for (lo, row) in ok_oq.iter_mut().enumerate() {
            for (lq, cell) in row.iter_mut().enumerate().skip(1) {
                *cell = if o == x {
                    ok[lo][lq]
                } else {
                    ok[lq - 1][lo + 1]
                };
            }
        }
        let o_ok = std::array::from_fn(|lo| ok_oq[lo].iter().any(|&b| b));
        let (ko, kq) = (self.sparse[o], self.sparse[q]);
        let last_first = self.link_type == LinkType::Link;
        let mut keys: Vec<(u32, u32, u32)> = (0..self.ds.len() as u32)
            .filter(|&r| !last_first || self.ds.source_of[r as usize] > 0)
            .filter_map(|r| {
                let row = self.comparer.row(r);
                let (vo, vq) = (row[ko], row[kq]);
                (vo != MISSING && vq != MISSING).then_some((vo, vq, r))
            })
            .collect();
        keys.par_sort_unstable();
        let d = self.adj[o].starts.len() - 1;
        let mut starts = vec![0u32; d + 1];
        for &(vo, _, _) in &keys {
            starts[vo as usize + 1] += 1;
        }
        for v in 0..d {
            starts[v + 1] += starts[v];
        }
        JoinIndex {
            x,
            y,
            o,
            q,
            starts,
            inner: keys.iter().map(|k| k.1).collect(),
            rec: keys.iter().map(|k| k.2).collect(),
            ok: ok_oq,
            o_ok,
        }
    }

    /// Visits every admissible record pair that agrees on at least two sparse comparisons and
    /// whose owning join `(x, y)` ([`Exhaustive::owner`]), at levels `(lx, ly)`, passes
    /// `allow(x, y, lx, ly)`, exactly once, with its full pattern: `visit(acc, left, right,
    /// pattern)` with `left < right`. Returns one accumulator per fixed chunk of probe records,
    /// in order, each passed to `finish` when its chunk is done.
    fn multi_pass<T: Send>(
        &self,
        allow: &(dyn Fn(usize, usize, u8, u8) -> bool + Sync),
        progress: &Progress,
        init: impl Fn() -> T + Sync + Send,
        visit: impl Fn(&mut T, u32, u32, u128) + Sync + Send,
        finish: impl Fn(&mut T) + Sync + Send,
    ) -> Vec<T> {
        let ns = self.sparse.len();
        // Per pair of sparse positions, the wanted (x level, y level + 1); pairs wanting none
        // are not joined.
        let pairs: Vec<(usize, usize, [[bool; 17]; 16])> = (0..ns)
            .flat_map(|x| (x + 1..ns).map(move |y| (x, y)))
            .filter_map(|(x, y)| {
                let (kx, ky) = (self.sparse[x], self.sparse[y]);
                let n_levels = |k: usize| self.comparer.comparisons[k].n_levels().min(16) as u8;
                let mut ok = [[false; 17]; 16];
                let mut any = false;
                for lx in 0..n_levels(kx) {
                    for ly in 0..n_levels(ky) {
                        if self.agrees(kx, lx) && self.agrees(ky, ly) && allow(x, y, lx, ly) {
                            ok[lx as usize][ly as usize + 1] = true;
                            any = true;
                        }
                    }
                }
                any.then_some((x, y, ok))
            })
            .collect();
        if pairs.is_empty() {
            return Vec::new();
        }
        let indexes: Vec<JoinIndex> = pairs
            .par_iter()
            .map(|&(x, y, ok)| self.join_index(x, y, ok))
            .collect();
        let ds = self.ds;
        let n_sources = ds.sources.len() as u16;
        let link = self.link_type == LinkType::Link;
        let probe: Vec<u32> = (0..ds.len() as u32)
            .filter(|&r| !link || ds.source_of[r as usize] + 1 < n_sources)
            .collect();
        let dict_sizes: Vec<usize> = self.adj.iter().map(|a| a.starts.len() - 1).collect();
        let pb = progress.bar(probe.len().div_ceil(PROBE_CHUNK) as u64, "exhaustive pairs");
        let out = probe
            .par_chunks(PROBE_CHUNK)
            .map_init(
                || -> Vec<Vec<u8>> { dict_sizes.iter().map(|&d| vec![0u8; d]).collect() },
                |marks, chunk| {
                    let mut acc = init();
                    for &r in chunk {
                        let row = self.comparer.row(r);
                        for si in 0..ns {
                            let v = row[self.sparse[si]];
                            if v != MISSING {
                                let (nb, lv) = self.adj[si].get(v);
                                for (&w, &l) in nb.iter().zip(lv) {
                                    marks[si][w as usize] = l + 1;
                                }
                            }
                        }
                        for ix in &indexes {
                            let (vo, vq) = (row[self.sparse[ix.o]], row[self.sparse[ix.q]]);
                            if vo == MISSING || vq == MISSING {
                                continue;
                            }
                            let (onb, olv) = self.adj[ix.o].get(vo);
                            let (qnb, qlv) = self.adj[ix.q].get(vq);
                            if qnb.is_empty() {
                                continue;
                            }
                            let mq = &marks[ix.q];
                            for (&a2, &lo) in onb.iter().zip(olv) {
                                if !ix.o_ok[lo as usize] {
                                    continue;
                                }
                                let okq = &ix.ok[lo as usize];
                                let (s0, s1) = (
                                    ix.starts[a2 as usize] as usize,
                                    ix.starts[a2 as usize + 1] as usize,
                                );
                                if s1 - s0 <= SCAN_FACTOR * qnb.len() {
                                    for e in s0..s1 {
                                        if okq[mq[ix.inner[e] as usize] as usize] {
                                            self.found(r, ix.rec[e], ix, marks, &mut acc, &visit);
                                        }
                                    }
                                } else {
                                    let inner = &ix.inner[s0..s1];
                                    // The neighbours come ascending, so each search gallops
                                    // forward from the last one's place instead of bisecting
                                    // the whole group (the bisection was 18 % of the mid-sized
                                    // shape's profile).
                                    let mut at = 0;
                                    for (&w, &lq) in qnb.iter().zip(qlv) {
                                        if !okq[lq as usize + 1] {
                                            continue;
                                        }
                                        at = gallop(inner, at, w);
                                        let mut e = at;
                                        while e < inner.len() && inner[e] == w {
                                            self.found(
                                                r,
                                                ix.rec[s0 + e],
                                                ix,
                                                marks,
                                                &mut acc,
                                                &visit,
                                            );
                                            e += 1;
                                        }
                                    }
                                }
                            }
                        }
                        for si in 0..ns {
                            let v = row[self.sparse[si]];
                            if v != MISSING {
                                for &w in self.adj[si].get(v).0 {
                                    marks[si][w as usize] = 0;
                                }
                            }
                        }
                    }
                    pb.inc(1);
                    finish(&mut acc);
                    acc
                },
            )
            .collect();
        pb.finish_and_clear();
        out
    }

    /// A pair `(r, s)` found by join `ix`: visited when accepted and owned by `ix`'s pair.
    #[inline]
    fn found<T>(
        &self,
        r: u32,
        s: u32,
        ix: &JoinIndex,
        marks: &[Vec<u8>],
        acc: &mut T,
        visit: &impl Fn(&mut T, u32, u32, u128),
    ) {
        if !self.accept(r, s) {
            return;
        }
        let (rr, rs) = (self.comparer.row(r), self.comparer.row(s));
        let mut agree = 0u32;
        for (si, &k) in self.sparse.iter().enumerate() {
            let (a, b) = (rr[k], rs[k]);
            if a != MISSING && b != MISSING && marks[si][b as usize] != 0 {
                agree |= 1 << si;
            }
        }
        if self.owner(agree) != Some((ix.x, ix.y)) {
            return;
        }
        let mut p = 0u128;
        let mut si = 0;
        for (k, c) in self.comparer.comparisons.iter().enumerate() {
            let (a, b) = (rr[k], rs[k]);
            let l = if self.dense[k] {
                c.level(&self.ds.columns[c.column], a, b)
            } else {
                let l = if a == MISSING || b == MISSING {
                    self.miss[k]
                } else if agree & (1 << si) != 0 {
                    marks[si][b as usize] - 1
                } else {
                    self.other[k]
                };
                si += 1;
                l
            };
            p |= (l as u128) << (4 * k);
        }
        let (l, r2) = if r < s { (r, s) } else { (s, r) };
        visit(acc, l, r2, p);
    }

    /// Scores the pairs whose pattern reaches `min_probability`: pairs agreeing on two or more
    /// sparse comparisons through the join (skipping pairs of comparisons whose best pattern
    /// cannot reach it); pairs agreeing on one, through its agreement list, and pairs agreeing on
    /// none, from cells, only when a pattern of that kind can reach it (a note says so). Pairs are
    /// ordered by (left, right). Returns the pairs and notes for the user.
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
        let t = std::time::Instant::now();
        // The observed patterns that reach the minimum (the counts hold every pattern that
        // occurs, so which kinds of pairs to enumerate follows exactly from them).
        let reaching: Vec<u128> = counts
            .patterns
            .iter()
            .copied()
            .filter(|&p| probability(weight_of(p)) >= min_probability)
            .collect();
        // Sparse positions agreeing in pattern p, as bits.
        let agreeing = |p: u128| -> u32 {
            self.sparse
                .iter()
                .enumerate()
                .filter(|&(_, &k)| self.agrees(k, Self::level_in(p, k)))
                .fold(0u32, |m, (si, _)| m | 1 << si)
        };
        use routes::Kept;
        // Two or more sparse agreements: the lowest two at positions x < y and levels lx, ly.
        // Only the joins counting runs: the pairs the others would own (agreeing only on
        // bulk-counted exact comparisons, or on one enumerated comparison and exact ones) are
        // found below.
        let allow = |x: usize, y: usize, lx: u8, ly: u8| {
            let (kx, ky) = (self.sparse[x], self.sparse[y]);
            self.counting_join(x, y)
                && reaching.iter().any(|&p| {
                    self.owner(agreeing(p)) == Some((x, y))
                        && Self::level_in(p, kx) == lx
                        && Self::level_in(p, ky) == ly
                })
        };
        let stored = self.touched.lock().unwrap_or_else(|e| e.into_inner());
        let mut kept: Kept = match stored.as_ref() {
            // The pairs the counting pass kept.
            Some(touched) => touched
                .par_iter()
                .map(|st| {
                    let ok: Vec<bool> = st
                        .patterns
                        .iter()
                        .map(|&p| probability(weight_of(p)) >= min_probability)
                        .collect();
                    let mut out = Kept::new();
                    let mut i = 0;
                    for &(l, n) in &st.runs {
                        for k in i..i + n as usize {
                            let id = st.pid[k] as usize;
                            if ok[id] {
                                out.push((l, st.right[k], st.patterns[id]));
                            }
                        }
                        i += n as usize;
                    }
                    out
                })
                .flatten()
                .collect(),
            None => self
                .multi_pass(
                    &allow,
                    progress,
                    Kept::new,
                    |out, l, r, p| {
                        if probability(weight_of(p)) >= min_probability {
                            out.push((l, r, p));
                        }
                    },
                    |_| {},
                )
                .into_iter()
                .flatten()
                .collect(),
        };
        drop(stored);
        // Two or more agreements, all on bulk-counted exact comparisons: per agreeing set, a
        // join on its values (fewer pairs than any two-comparison join of the set).
        let mut by_set: std::collections::BTreeMap<u32, FxHashSet<u128>> = Default::default();
        for &p in &reaching {
            let m = agreeing(p);
            if m.count_ones() >= 2 && m & !self.bulk_x == 0 {
                by_set.entry(m).or_default().insert(p);
            }
        }
        for (&m, set) in &by_set {
            kept.extend(self.exact_set_pairs(m, set));
        }
        // One enumerated agreement and some bulk-counted exact ones: through its list.
        for si in 0..self.sparse.len() {
            if self.enum_f >> si & 1 == 0 {
                continue;
            }
            let set: FxHashSet<u128> = reaching
                .iter()
                .copied()
                .filter(|&p| {
                    let m = agreeing(p);
                    m & !self.bulk_x == 1 << si && m & self.bulk_x != 0
                })
                .collect();
            if set.is_empty() {
                continue;
            }
            let stored = self.enum_kept.lock().unwrap_or_else(|e| e.into_inner());
            match stored.get(&si) {
                Some(ek) => {
                    let wanted: FxHashSet<u32> = ek
                        .predicted
                        .iter()
                        .filter(|(_, p)| set.contains(p))
                        .map(|(&i, _)| i)
                        .collect();
                    let found: Kept = ek
                        .pairs
                        .par_chunks(ENTRY_CHUNK)
                        .flat_map_iter(|chunk| {
                            chunk.iter().filter_map(|&(l, r, i)| {
                                if !wanted.contains(&i) {
                                    return None;
                                }
                                let p = self.comparer.pattern(ds, l, r);
                                set.contains(&p).then_some((l, r, p))
                            })
                        })
                        .collect();
                    kept.extend(found);
                }
                None => kept.extend(self.enumerated_pairs(si, &set)),
            }
        }
        // One sparse agreement or none: each reaching pattern of these kinds (the counts hold
        // every pattern that occurs, so this is exact) is found by its route (see `routes`).
        let equal = self.equal_levels();
        let missing = self.missing_counts();
        // (sparse position, or none for no agreement; route) -> the patterns found that way.
        let mut targets: std::collections::BTreeMap<(usize, routes::Route), FxHashSet<u128>> =
            Default::default();
        let none = self.sparse.len();
        for &p in &reaching {
            let m = agreeing(p);
            let kind = match m.count_ones() {
                0 => none,
                1 => m.trailing_zeros() as usize,
                _ => continue,
            };
            targets
                .entry((kind, self.route(p, &equal, &missing)))
                .or_default()
                .insert(p);
        }
        let mut found = vec![0usize; none + 1];
        for (&(kind, route), set) in &targets {
            let extra = if kind == none {
                self.no_agreement_pairs(route, set)
            } else {
                self.one_agreement_pairs(kind, route, set)
            };
            found[kind] += extra.len();
            kept.extend(extra);
        }
        for (si, &k) in self.sparse.iter().enumerate() {
            if found[si] > 0 {
                notes.push(format!(
                    "patterns that agree only on comparison {} reached the minimum probability {}; their {} pairs were enumerated through its agreement list",
                    k + 1,
                    min_probability,
                    found[si]
                ));
            }
        }
        let bulk: Vec<u128> = targets
            .iter()
            .filter(|((kind, _), _)| *kind == none)
            .flat_map(|(_, set)| set.iter().copied())
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
        }
        kept.par_sort_unstable();
        let total = total_pairs(self.link_type, &ds.source_sizes()) as u64;
        let true_pairs = ds.truth.as_deref().map(|t| {
            crate::data::count_true_pairs(t, &ds.source_of, ds.sources.len(), self.link_type)
        });
        let mut out = ScoredPairs {
            n_comparisons: n_c,
            candidates: total,
            candidates_per_rule: vec![total],
            candidates_true: true_pairs,
            candidates_true_per_rule: true_pairs.map(|t| vec![t]),
            ..Default::default()
        };
        for (l, r, p) in kept {
            let lv = levels_of(p);
            let w = pattern_weight(prior, &weights, &lv);
            out.left.push(l);
            out.right.push(r);
            out.weight.push(w);
            out.probability.push(probability(w));
            out.levels.extend_from_slice(&lv);
        }
        progress.step("exhaustive: score", t);
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

#[cfg(test)]
mod tests {
    use super::gallop;
    use proptest::prelude::*;

    proptest! {
        /// Galloping from any start finds what bisecting the tail finds.
        #[test]
        fn gallop_equals_partition_point(
            mut xs in proptest::collection::vec(0u32..50, 0..60),
            from in 0usize..70,
            w in 0u32..55,
        ) {
            xs.sort_unstable();
            let from = from.min(xs.len());
            let want = from + xs[from..].partition_point(|&z| z < w);
            prop_assert_eq!(gallop(&xs, from, w), want);
        }
    }
}
