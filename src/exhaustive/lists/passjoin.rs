//! The Levenshtein path of [`agreement_list`](super::agreement_list): the pigeonhole segment
//! filter of Pass-Join (Li, Deng, Wang & Feng, "Pass-Join: A Partition-based Method for
//! Similarity Joins", PVLDB 5(3), 2011), for comparisons whose levels are null, exact,
//! Levenshtein ≤ k… and else (Damerau–Levenshtein / OSA levels take the generic path of the
//! dispatcher).
//!
//! With `k` the largest threshold, each value of at least `k + 1` characters is cut into `k + 1`
//! segments, one of which survives any `k` edits intact and appears in the other value shifted by
//! at most `k`; so only value pairs sharing such a segment are compared. Cost, for `d` values of
//! `T` characters in all: an index of `(k + 1)` segment hashes per value, built in `O(T)` and
//! sorted in `O(d k log(d k))`; then each value of at least `k + 1` characters makes up to
//! `(2k + 1)² (k + 1)` binary-search lookups in it, and each value shorter than `k + 1` is
//! compared with every value within `k` of its length; plus one comparator call per candidate
//! pair (the pairs sharing a segment, or a hash of one).

use rayon::prelude::*;

use super::{Agreement, VALUE_CHUNK, sorted_union, special_levels};
use crate::compare::Comparison;
use crate::compare::Predicate;
use crate::data::Dataset;

/// Start and length (in characters) of segment `i` of `k + 1` of a value of `len ≥ k + 1`
/// characters: the first segments have `len / (k + 1)` characters, the last `len % (k + 1)` one
/// more.
fn segment(len: usize, k: usize, i: usize) -> (usize, usize) {
    let (n, base) = (k + 1, len / (k + 1));
    let short = n - len % n;
    if i < short {
        (i * base, base)
    } else {
        (short * base + (i - short) * (base + 1), base + 1)
    }
}

/// A hash of segment `i` of a value of length `len` with characters `chars` (collisions only add
/// candidates, which are then compared).
fn segment_key(len: usize, i: usize, chars: &[u32]) -> u64 {
    let mut h = (len as u64) << 8 | i as u64;
    for &c in chars {
        h = (h ^ u64::from(c))
            .wrapping_mul(0x0100_0000_01b3)
            .rotate_left(23);
    }
    h
}

/// The agreement list of a comparison whose levels are null, exact, Levenshtein ≤ t… and else
/// (`None` otherwise), comparing only candidate value pairs by the pigeonhole principle (as in
/// Li, Deng, Wang & Feng's Pass-Join, 2011): with `k` the largest threshold, a value of at least
/// `k + 1` characters cut into `k + 1` segments keeps at least one segment intact under any `k`
/// edits, and that segment appears in the other value shifted by at most `k` positions. So each
/// value looks up, for every length within `k` of its own, every segment position shifted by
/// `-k..=k` among its own substrings; values shorter than `k + 1` are compared with every value
/// within `k` of their length. Every candidate gets its level from [`Comparison::level`]; the
/// list equals [`agreement_list_unpruned`](super::agreement_list_unpruned) (tested).
pub(super) fn lev_agreement_list(
    ds: &Dataset,
    c: &Comparison,
    by_len: &[Vec<u32>],
) -> Option<Vec<Agreement>> {
    let mut k = 0usize;
    for p in &c.predicates {
        match p {
            Predicate::Null | Predicate::Exact | Predicate::Else => {}
            Predicate::LevenshteinAtMost(t) => k = k.max(*t as usize),
            _ => return None,
        }
    }
    if k == 0 {
        return None;
    }
    let col = &ds.columns[c.column];
    let d = col.dict.len();
    let (miss, other) = special_levels(c);
    let keep = |a: u32, b: u32| {
        let l = c.level(col, a, b);
        (l != miss && l != other).then_some((a.min(b), a.max(b), l))
    };
    let chars: Vec<Vec<u32>> = col
        .dict
        .par_iter()
        .map(|s| s.chars().map(u32::from).collect())
        .collect();
    let max_len = by_len.len() - 1;
    // Index: (segment key, value) for every segment of every value of at least k + 1
    // characters, sorted: the values of one key are a run, ascending.
    let mut index: Vec<(u64, u32)> = by_len
        .iter()
        .enumerate()
        .skip(k + 1)
        .flat_map(|(len, vals)| {
            let chars = &chars;
            vals.iter().flat_map(move |&v| {
                let cs = &chars[v as usize];
                (0..=k).map(move |i| {
                    let (st, sl) = segment(len, k, i);
                    (segment_key(len, i, &cs[st..st + sl]), v)
                })
            })
        })
        .collect();
    index.par_sort_unstable();
    let run = |key: u64| -> &[(u64, u32)] {
        let lo = index.partition_point(|e| e.0 < key);
        let hi = lo + index[lo..].partition_point(|e| e.0 == key);
        &index[lo..hi]
    };
    let values: Vec<u32> = (0..d as u32).collect();
    let parts: Vec<Vec<Agreement>> = values
        .par_chunks(VALUE_CHUNK)
        .map_init(
            || vec![u32::MAX; d],
            |seen, chunk| {
                let mut out = Vec::new();
                for &a in chunk {
                    let cs = &chars[a as usize];
                    let la = cs.len();
                    out.extend(keep(a, a));
                    let lens = la.saturating_sub(k)..=(la + k).min(max_len);
                    if la <= k {
                        // Short: every value within k of its length, each pair once (from the
                        // shorter value, or the lower id at equal lengths or when both are short).
                        for lb in lens {
                            for &b in &by_len[lb] {
                                if lb > la || (lb == la && b > a) {
                                    out.extend(keep(a, b));
                                }
                            }
                        }
                        continue;
                    }
                    // Long: candidates b > a of at least k + 1 characters sharing a segment.
                    for lb in lens.filter(|&lb| lb > k) {
                        for i in 0..=k {
                            let (st, sl) = segment(lb, k, i);
                            let lo = st.saturating_sub(k);
                            let hi = (st + k).min(la.saturating_sub(sl));
                            for q in lo..=hi {
                                if q + sl > la {
                                    break;
                                }
                                let list = run(segment_key(lb, i, &cs[q..q + sl]));
                                let from = list.partition_point(|e| e.1 <= a);
                                for &(_, b) in &list[from..] {
                                    if seen[b as usize] != a {
                                        seen[b as usize] = a;
                                        out.extend(keep(a, b));
                                    }
                                }
                            }
                        }
                    }
                }
                out
            },
        )
        .collect();
    Some(sorted_union(parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_cover_the_value() {
        for k in 1..5 {
            for len in k + 1..40 {
                let mut at = 0;
                for i in 0..=k {
                    let (st, sl) = segment(len, k, i);
                    assert_eq!(st, at);
                    assert!(sl >= 1);
                    at += sl;
                }
                assert_eq!(at, len);
            }
        }
    }
}
