//! Comparison patterns of every prediction candidate, computed once.
//!
//! `fellegi link` compares each candidate pair once and keeps only a `u32` pattern id per pair
//! (in the blocker's fixed enumeration order). Training sessions whose blocking rule implies a
//! prediction rule (every pair they would see is a candidate) count patterns from these ids by
//! re-checking their keys, and scoring computes one weight per distinct pattern, not per pair.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::merge_maps;
use super::{Comparer, PatternCounts};
use crate::block::KeySpec;
use crate::block::{Blocker, WorkUnit, key_values};
use crate::data::{Dataset, MISSING};
use crate::error::Result;
use crate::progress::Progress;

/// Whether every pair agreeing on `keys` is a candidate of the prediction `rules`: some
/// rule's keys are a subset of `keys` (so an EM session on `keys` can be counted from the
/// candidates).
pub fn covers(rules: &[Vec<KeySpec>], keys: &[KeySpec]) -> bool {
    rules.iter().any(|r| r.iter().all(|k| keys.contains(k)))
}

/// Most possible patterns (product of the comparisons' level counts) for which
/// [`CandidatePatterns::build`] numbers patterns directly instead of hashing them.
pub const DENSE_PATTERNS: u64 = 1 << 22;

/// Pattern ids of all candidate pairs of a blocker.
#[derive(Debug, Clone)]
pub struct CandidatePatterns {
    /// The blocker that produced the candidates.
    pub blocker: Blocker,
    units: Vec<WorkUnit>,
    /// Per unit: index of its first pair in `ids`.
    offsets: Vec<usize>,
    /// Per candidate pair: index into `patterns`.
    ids: Vec<u32>,
    /// Distinct packed patterns, ascending.
    pub patterns: Vec<u128>,
    /// Number of comparisons.
    pub n_comparisons: usize,
}

/// Pairs compared together, one comparison at a time (see [`Comparer::dense_patterns`]). On the
/// 1.16M-record benchmark, alternated in one session (minimum of four runs each): comparing took
/// 1.11 s pair by pair, 0.90 s with the next groups prefetched
/// ([`crate::block::Blocker::for_each_pair_ahead`]), 0.71-0.76 s with both; batches of 64 and
/// 1,024 pairs were no better than 256.
const BATCH: usize = 256;

impl CandidatePatterns {
    /// Compares every candidate pair once.
    pub fn build(
        ds: &Dataset,
        comparer: &Comparer,
        blocker: Blocker,
        progress: &Progress,
    ) -> CandidatePatterns {
        Self::build_numbering(ds, comparer, blocker, progress, DENSE_PATTERNS)
    }

    /// As [`CandidatePatterns::build`], numbering patterns directly when there are at most
    /// `dense_max` possible ones (hashing them otherwise); the result is the same either way.
    pub fn build_numbering(
        ds: &Dataset,
        comparer: &Comparer,
        blocker: Blocker,
        progress: &Progress,
        dense_max: u64,
    ) -> CandidatePatterns {
        let units = blocker.work_units();
        let pb = progress.bar(units.len() as u64, "comparing pairs");
        // With few possible patterns (the product of the level counts), a pair's pattern id is
        // its mixed-radix number, ranked afterwards; otherwise each unit interns its patterns
        // in a hash map. The 1.16M-record benchmark (20,736 possible patterns, 20 million
        // pairs): comparing took 1.18-1.27 s with the hash maps, 1.03-1.06 s numbered.
        let possible = comparer
            .comparisons
            .iter()
            .try_fold(1u64, |acc, c| acc.checked_mul(c.n_levels() as u64))
            .filter(|&p| p <= dense_max.min(u64::from(u32::MAX)));
        // Per unit: its pairs' local pattern ids; the distinct patterns, ascending; and the map
        // from local to global ids (one shared by every unit, or one per unit).
        let (parts, all, remaps): (Vec<Vec<u32>>, Vec<u128>, Vec<Vec<u32>>) =
            if let Some(possible) = possible {
                let mut strides = Vec::with_capacity(comparer.len());
                let mut acc = 1u32;
                for c in &comparer.comparisons {
                    strides.push(acc);
                    acc *= c.n_levels() as u32;
                }
                let parts: Vec<Vec<u32>> = units
                    .par_iter()
                    .map(|u| {
                        let mut ids = Vec::new();
                        let mut batch: Vec<(u32, u32)> = Vec::with_capacity(BATCH);
                        blocker.for_each_pair_ahead(
                            u,
                            |next, after| comparer.prefetch(next, after),
                            |l, r| {
                                batch.push((l, r));
                                if batch.len() == BATCH {
                                    comparer.dense_patterns(ds, &batch, &strides, &mut ids);
                                    batch.clear();
                                }
                            },
                        );
                        comparer.dense_patterns(ds, &batch, &strides, &mut ids);
                        pb.inc(1);
                        ids
                    })
                    .collect();
                let mut used = vec![false; possible as usize];
                for ids in &parts {
                    for &i in ids {
                        used[i as usize] = true;
                    }
                }
                let mut rank = vec![u32::MAX; possible as usize];
                let mut all: Vec<u128> = Vec::new();
                for (i, _) in used.iter().enumerate().filter(|(_, u)| **u) {
                    rank[i] = all.len() as u32;
                    let mut key = 0u128;
                    let mut rest = i as u32;
                    for (k, c) in comparer.comparisons.iter().enumerate() {
                        let n = c.n_levels() as u32;
                        key |= u128::from(rest % n) << (4 * k);
                        rest /= n;
                    }
                    all.push(key);
                }
                (parts, all, vec![rank])
            } else {
                let parts: Vec<(Vec<u32>, Vec<u128>)> = units
                    .par_iter()
                    .map(|u| {
                        let mut map: FxHashMap<u128, u32> = FxHashMap::default();
                        let mut local = Vec::new();
                        let mut ids = Vec::new();
                        blocker.for_each_pair(u, |l, r| {
                            let p = comparer.pattern(ds, l, r);
                            let id = *map.entry(p).or_insert_with(|| {
                                local.push(p);
                                local.len() as u32 - 1
                            });
                            ids.push(id);
                        });
                        pb.inc(1);
                        (ids, local)
                    })
                    .collect();
                let mut all: Vec<u128> =
                    parts.iter().flat_map(|(_, l)| l.iter().copied()).collect();
                all.sort_unstable();
                all.dedup();
                let index: FxHashMap<u128, u32> = all
                    .iter()
                    .enumerate()
                    .map(|(i, &p)| (p, i as u32))
                    .collect();
                let remaps = parts
                    .iter()
                    .map(|(_, local)| local.iter().map(|p| index[p]).collect())
                    .collect();
                (parts.into_iter().map(|(ids, _)| ids).collect(), all, remaps)
            };
        pb.finish_and_clear();
        let mut offsets = Vec::with_capacity(parts.len());
        let mut total = 0usize;
        for ids in &parts {
            offsets.push(total);
            total += ids.len();
        }
        let mut ids = vec![0u32; total];
        let mut rest: &mut [u32] = &mut ids;
        let mut slices = Vec::with_capacity(parts.len());
        for pids in &parts {
            let (head, tail) = rest.split_at_mut(pids.len());
            slices.push(head);
            rest = tail;
        }
        slices
            .into_par_iter()
            .zip(parts.par_iter())
            .enumerate()
            .for_each(|(pi, (dst, pids))| {
                let remap = &remaps[if remaps.len() == 1 { 0 } else { pi }];
                for (d, &s) in dst.iter_mut().zip(pids) {
                    *d = remap[s as usize];
                }
            });
        CandidatePatterns {
            blocker,
            units,
            offsets,
            ids,
            patterns: all,
            n_comparisons: comparer.len(),
        }
    }

    /// Number of candidate pairs.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are no candidates.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Calls `f(unit index, l, r, pattern id)` for every candidate, units in parallel; returns
    /// the per-unit results in unit order.
    pub fn map_units<T: Send>(
        &self,
        f: impl Fn(&mut T, u32, u32, u32) + Sync,
        init: impl Fn() -> T + Sync,
    ) -> Vec<T> {
        self.units
            .par_iter()
            .enumerate()
            .map(|(ui, u)| {
                let mut acc = init();
                let mut k = self.offsets[ui];
                self.blocker.for_each_pair(u, |l, r| {
                    f(&mut acc, l, r, self.ids[k]);
                    k += 1;
                });
                acc
            })
            .collect()
    }

    /// Per pattern id: the number of candidates that agree on every key of at least one of
    /// `sets` (each a list of keys; a pair agrees on a key when both values are present and
    /// equal). Every set must be covered by the prediction rules ([`covers`]), so these are all
    /// the pairs of the data agreeing so.
    ///
    /// A candidate belongs to the first rule whose keys it agrees on, so the units of rule `r`
    /// are skipped for a set that contains an earlier rule's keys (none of their pairs can agree
    /// on it), counted without looking at the pairs when the set is part of rule `r`'s keys,
    /// and checked pair by pair otherwise, one key at a time (no combined key is built).
    ///
    /// # Errors
    /// As [`crate::block::key_values`].
    pub fn count_agreeing(&self, ds: &Dataset, sets: &[Vec<KeySpec>]) -> Result<Vec<u64>> {
        let rules = &self.blocker.rules;
        let subset = |a: &[KeySpec], b: &[KeySpec]| a.iter().all(|k| b.contains(k));
        // Per rule, per set: 0 = cannot agree, 1 = every pair agrees, 2 = check.
        let how: Vec<Vec<u8>> = (0..rules.len())
            .map(|r| {
                sets.iter()
                    .map(|set| {
                        if rules[..r].iter().any(|e| subset(&e.spec, set)) {
                            0
                        } else if subset(set, &rules[r].spec) {
                            1
                        } else {
                            2
                        }
                    })
                    .collect()
            })
            .collect();
        // The key values of the sets checked pair by pair.
        let mut keys: Vec<KeySpec> = Vec::new();
        for h in &how {
            for (set, &x) in sets.iter().zip(h) {
                if x == 2 {
                    for k in set {
                        if !keys.contains(k) {
                            keys.push(k.clone());
                        }
                    }
                }
            }
        }
        let values = keys
            .iter()
            .map(|k| key_values(ds, k))
            .collect::<Result<Vec<_>>>()?;
        let checked: Vec<Vec<usize>> = sets
            .iter()
            .map(|set| {
                set.iter()
                    .filter_map(|k| keys.iter().position(|x| x == k))
                    .collect()
            })
            .collect();
        let n_p = self.patterns.len();
        let parts: Vec<Vec<u64>> = self
            .units
            .par_iter()
            .enumerate()
            .map(|(ui, u)| {
                let mut acc = vec![0u64; n_p];
                let h = &how[u.rule as usize];
                let start = self.offsets[ui];
                if h.contains(&1) {
                    let end = self.offsets.get(ui + 1).copied().unwrap_or(self.ids.len());
                    for &id in &self.ids[start..end] {
                        acc[id as usize] += 1;
                    }
                } else if h.contains(&2) {
                    let mut k = start;
                    self.blocker.for_each_pair(u, |l, r| {
                        let agrees = h.iter().zip(&checked).any(|(&x, ks)| {
                            x == 2
                                && ks.iter().all(|&ki| {
                                    let v = &values[ki];
                                    v[l as usize] != MISSING && v[l as usize] == v[r as usize]
                                })
                        });
                        if agrees {
                            acc[self.ids[k] as usize] += 1;
                        }
                        k += 1;
                    });
                }
                acc
            })
            .collect();
        let mut counts = vec![0u64; n_p];
        for p in parts {
            for (c, x) in counts.iter_mut().zip(p) {
                *c += x;
            }
        }
        Ok(counts)
    }

    /// Pattern counts of the candidates that agree on every key of `keys` (covered by the
    /// prediction rules, [`covers`]).
    ///
    /// # Errors
    /// As [`crate::block::key_values`].
    pub fn counts_within(&self, ds: &Dataset, keys: &[KeySpec]) -> Result<PatternCounts> {
        let counts = self.count_agreeing(ds, &[keys.to_vec()])?;
        let (patterns, counts): (Vec<u128>, Vec<u64>) = self
            .patterns
            .iter()
            .zip(counts)
            .filter(|(_, c)| *c > 0)
            .map(|(p, c)| (*p, c))
            .unzip();
        Ok(PatternCounts {
            n_comparisons: self.n_comparisons,
            patterns,
            counts,
        })
    }

    /// Pattern counts of all candidates.
    pub fn counts(&self) -> PatternCounts {
        let mut counts = vec![0u64; self.patterns.len()];
        for &id in &self.ids {
            counts[id as usize] += 1;
        }
        PatternCounts {
            n_comparisons: self.n_comparisons,
            patterns: self.patterns.clone(),
            counts,
        }
    }

    /// The rule of each work unit, in unit order (as [`CandidatePatterns::map_units`] returns).
    pub fn unit_rules(&self) -> Vec<u32> {
        self.units.iter().map(|u| u.rule).collect()
    }

    /// Candidate pairs per rule of the blocker.
    pub fn per_rule(&self) -> Vec<u64> {
        let mut v = vec![0u64; self.blocker.rules.len()];
        for (ui, u) in self.units.iter().enumerate() {
            let end = self.offsets.get(ui + 1).copied().unwrap_or(self.ids.len());
            v[u.rule as usize] += (end - self.offsets[ui]) as u64;
        }
        v
    }
}

/// Counts the pairs produced by a set of blocking rules, and builds their pattern counts if asked.
pub fn count_patterns(
    ds: &Dataset,
    comparer: &Comparer,
    blocker: &Blocker,
    progress: &Progress,
    msg: &str,
) -> PatternCounts {
    let units = blocker.work_units();
    let pb = progress.bar(units.len() as u64, msg);
    let maps: Vec<FxHashMap<u128, u64>> = units
        .par_iter()
        .map(|u| {
            let mut map: FxHashMap<u128, u64> = FxHashMap::default();
            blocker.for_each_pair(u, |l, r| {
                *map.entry(comparer.pattern(ds, l, r)).or_insert(0) += 1;
            });
            pb.inc(1);
            map
        })
        .collect();
    pb.finish_and_clear();
    PatternCounts::from_map(comparer.len(), merge_maps(maps))
}
