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
//!
//! Short values over small alphabets (digit codes: postcodes, house numbers, dates) share short
//! segments with a large share of all values, and the segment filter then compares most value
//! pairs. For those the list is found through *deletion neighbourhoods* instead (FastSS: Bocek,
//! Hunt & Stiller, "Fast Similarity Search in Large Dictionaries", 2007): if `lev(a, b) ≤ k`,
//! deleting at most `k` characters from each leaves a common string (a substitution is one
//! deletion on each side, an insertion one on the other), so only value pairs sharing one of
//! their `Σ_{j ≤ k} C(len, j)` deletion variants are compared. It is chosen when values have at
//! most [`MAX_MEAN_VARIANTS`] variants on average. On 27,000 seven-digit codes at `k = 2` it
//! has 5.5 million candidate pairs against the segment filter's 47 million (the `issue 15` mid-sized shape, `experiments/exhaustive/make_mid.sh`).

use rayon::prelude::*;

use super::{Agreement, VALUE_CHUNK, sorted_union, special_levels};
use crate::compare::Comparison;
use crate::compare::Predicate;
use crate::data::Dataset;

/// Most deletion variants per value, on average, for which the deletion-neighbourhood filter is
/// used (29 for seven characters at `k = 2`; 121 for fifteen, where segments are selective).
pub(super) const MAX_MEAN_VARIANTS: usize = 64;

/// `C(n, j)` for small arguments, saturating.
fn binomial(n: usize, j: usize) -> usize {
    (0..j).fold(1usize, |acc, i| acc.saturating_mul(n - i) / (i + 1))
}

/// Hashes of every distinct string made by deleting at most `k` characters from `cs` (ascending,
/// deduplicated; collisions only add candidates). The length is part of the hash.
fn deletion_variants(cs: &[u32], k: usize, out: &mut Vec<u64>) {
    fn rec(cs: &[u32], from: usize, left: usize, skip: &mut Vec<usize>, out: &mut Vec<u64>) {
        let len = cs.len() - skip.len();
        let mut h = (len as u64) << 8 | 0xFF;
        let mut si = 0;
        for (i, &c) in cs.iter().enumerate() {
            if si < skip.len() && skip[si] == i {
                si += 1;
                continue;
            }
            h = (h ^ u64::from(c))
                .wrapping_mul(0x0100_0000_01b3)
                .rotate_left(23);
        }
        out.push(h);
        if left == 0 {
            return;
        }
        for i in from..cs.len() {
            skip.push(i);
            rec(cs, i + 1, left - 1, skip, out);
            skip.pop();
        }
    }
    out.clear();
    rec(cs, 0, k, &mut Vec::with_capacity(k), out);
    out.sort_unstable();
    out.dedup();
}

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
    let long_values: usize = by_len.iter().skip(k + 1).map(Vec::len).sum();
    let variants: usize = by_len
        .iter()
        .enumerate()
        .skip(k + 1)
        .map(|(len, vals)| {
            vals.len()
                .saturating_mul((0..=k).map(|j| binomial(len, j)).sum())
        })
        .fold(0usize, usize::saturating_add);
    if variants <= MAX_MEAN_VARIANTS.saturating_mul(long_values) {
        return Some(deletion_list(&chars, k, by_len, &keep));
    }
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
                        short_pairs(a, la, k, by_len, &keep, &mut out);
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

/// The pairs of a short value `a` (`la ≤ k` characters, which no filter can prune): every value
/// within `k` of its length, each pair once (from the shorter value, or the lower id at equal
/// lengths or when both are short).
fn short_pairs(
    a: u32,
    la: usize,
    k: usize,
    by_len: &[Vec<u32>],
    keep: &(dyn Fn(u32, u32) -> Option<Agreement> + Sync),
    out: &mut Vec<Agreement>,
) {
    let hi = (la + k).min(by_len.len() - 1);
    for (lb, vals) in by_len
        .iter()
        .enumerate()
        .take(hi + 1)
        .skip(la.saturating_sub(k))
    {
        for &b in vals {
            if lb > la || (lb == la && b > a) {
                out.extend(keep(a, b));
            }
        }
    }
}

/// The agreement list through deletion neighbourhoods (see the module docs): values of at most
/// `k` characters are compared with every value within `k` of their length, as in the segment
/// path; longer values only with the longer values sharing a deletion variant.
fn deletion_list(
    chars: &[Vec<u32>],
    k: usize,
    by_len: &[Vec<u32>],
    keep: &(dyn Fn(u32, u32) -> Option<Agreement> + Sync),
) -> Vec<Agreement> {
    let d = chars.len();
    let long: Vec<u32> = by_len.iter().skip(k + 1).flatten().copied().collect();
    // Index: (variant hash, value), sorted: the values of one variant are a run, ascending.
    let mut index: Vec<(u64, u32)> = long
        .par_chunks(VALUE_CHUNK)
        .flat_map_iter(|chunk| {
            let mut hs = Vec::new();
            let mut part = Vec::new();
            for &v in chunk {
                deletion_variants(&chars[v as usize], k, &mut hs);
                part.extend(hs.iter().map(|&h| (h, v)));
            }
            part
        })
        .collect();
    index.par_sort_unstable();
    let values: Vec<u32> = (0..d as u32).collect();
    let parts: Vec<Vec<Agreement>> = values
        .par_chunks(VALUE_CHUNK)
        .map_init(
            || (vec![u32::MAX; d], Vec::new()),
            |(seen, hs), chunk| {
                let mut out = Vec::new();
                for &a in chunk {
                    let cs = &chars[a as usize];
                    let la = cs.len();
                    out.extend(keep(a, a));
                    if la <= k {
                        short_pairs(a, la, k, by_len, keep, &mut out);
                        continue;
                    }
                    deletion_variants(cs, k, hs);
                    for &h in hs.iter() {
                        let lo = index.partition_point(|e| e.0 < h);
                        let run = &index[lo..];
                        let run = &run[..run.partition_point(|e| e.0 == h)];
                        let from = run.partition_point(|e| e.1 <= a);
                        for &(_, b) in &run[from..] {
                            if seen[b as usize] != a {
                                seen[b as usize] = a;
                                out.extend(keep(a, b));
                            }
                        }
                    }
                }
                out
            },
        )
        .collect();
    sorted_union(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deletion_variants_are_the_distinct_deletions() {
        let cs: Vec<u32> = "abba".chars().map(u32::from).collect();
        let mut hs = Vec::new();
        deletion_variants(&cs, 1, &mut hs);
        // abba; bba, aba, abb (deleting either b gives aba).
        assert_eq!(hs.len(), 4);
        deletion_variants(&cs, 2, &mut hs);
        // + ba, bb, aa, ab (deleting 2 of 4: six position pairs, four strings; "ba" three times).
        assert_eq!(hs.len(), 4 + 4);
        assert_eq!(binomial(7, 2), 21);
        assert_eq!(binomial(7, 0), 1);
    }

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
