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

impl CandidatePatterns {
    /// Compares every candidate pair once.
    pub fn build(
        ds: &Dataset,
        comparer: &Comparer,
        blocker: Blocker,
        progress: &Progress,
    ) -> CandidatePatterns {
        let units = blocker.work_units();
        let pb = progress.bar(units.len() as u64, "comparing pairs");
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
        pb.finish_and_clear();
        // Global ids in ascending pattern order.
        let mut all: Vec<u128> = parts.iter().flat_map(|(_, l)| l.iter().copied()).collect();
        all.sort_unstable();
        all.dedup();
        let index: FxHashMap<u128, u32> = all
            .iter()
            .enumerate()
            .map(|(i, &p)| (p, i as u32))
            .collect();
        let mut offsets = Vec::with_capacity(parts.len());
        let mut total = 0usize;
        for (ids, _) in &parts {
            offsets.push(total);
            total += ids.len();
        }
        let mut ids = vec![0u32; total];
        let mut rest: &mut [u32] = &mut ids;
        let mut slices = Vec::with_capacity(parts.len());
        for (pids, _) in &parts {
            let (head, tail) = rest.split_at_mut(pids.len());
            slices.push(head);
            rest = tail;
        }
        slices
            .into_par_iter()
            .zip(parts.par_iter())
            .for_each(|(dst, (pids, local))| {
                let remap: Vec<u32> = local.iter().map(|p| index[p]).collect();
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
