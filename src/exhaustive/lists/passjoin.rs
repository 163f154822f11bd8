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
use rustc_hash::FxHashMap;

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

/// A deletion variant: the hash of the string left by deleting at most `k` characters (its length
/// is part of the hash; collisions only add candidates, which the comparator then rejects) and
/// the *gap signature* of the deletion ([`gap_signature`]).
type Variant = (u64, u64);

/// The gap signature of deleting the (ascending) positions `skip`: byte 0 the number of deletions,
/// bytes 1.. the *gap* of each, `skip[i] - i`, the number of kept characters before it (so two
/// deletions in the same gap share a gap id); [`NO_SIGNATURE`] when there are more than seven
/// deletions or a gap id over 255 (the filter is then skipped for that variant).
fn gap_signature(skip: &[usize]) -> u64 {
    if skip.len() > 7 {
        return NO_SIGNATURE;
    }
    let mut sig = skip.len() as u64;
    for (i, &p) in skip.iter().enumerate() {
        let g = p - i;
        if g > 255 {
            return NO_SIGNATURE;
        }
        sig |= (g as u64) << (8 * (i + 1));
    }
    sig
}

/// The signature of a variant whose deletions are not known (no filtering).
const NO_SIGNATURE: u64 = u64::MAX;

/// The edit cost of the alignment two deletion variants with the same remaining string imply:
/// the kept characters are matched in order, and each gap with `x` deleted characters of one
/// value and `y` of the other costs `max(x, y)` edits, which sums to `|P| + |Q| − |P ∩ Q|` over
/// the two multisets of gap ids. It bounds the Levenshtein distance from above, and an optimal
/// edit script of cost `e` is itself such a variant pair (delete the substituted and deleted
/// characters of one side, the substituted and inserted of the other) of implied cost at most
/// `e`; so a pair is within `k` exactly when some shared variant pair implies at most `k`. On the
/// mid-sized shape's 27,000 seven-digit codes at `k = 2` this keeps the 24 % of the 5.5 million
/// deletion candidates that are true pairs (a 20,000-pair sample: 76 % were at distance 3 or 4).
#[inline]
fn implied_cost(a: u64, b: u64) -> usize {
    if a == NO_SIGNATURE || b == NO_SIGNATURE {
        return 0;
    }
    let (na, nb) = ((a & 0xFF) as usize, (b & 0xFF) as usize);
    let gap = |s: u64, i: usize| (s >> (8 * (i + 1))) & 0xFF;
    let (mut i, mut j, mut common) = (0, 0, 0);
    while i < na && j < nb {
        let (x, y) = (gap(a, i), gap(b, j));
        if x == y {
            common += 1;
            i += 1;
            j += 1;
        } else if x < y {
            i += 1;
        } else {
            j += 1;
        }
    }
    na + nb - common
}

/// Longest remaining string whose deletion-variant key is the string itself rather than a hash
/// ([`deletion_variants`]): ASCII, 7 bits per character.
const EXACT_KEY_LEN: usize = 8;

/// Whether every deletion variant of `cs` has an exact key (ASCII, at most [`EXACT_KEY_LEN`]
/// characters): two such values sharing a key share the string, with no hash collision.
fn exact_keys(cs: &[u32]) -> bool {
    cs.len() <= EXACT_KEY_LEN && cs.iter().all(|&c| c < 128)
}

/// Every deletion variant of `cs` with at most `k` deletions: each distinct (string key, gap
/// signature), ascending. The key of an ASCII string of at most [`EXACT_KEY_LEN`] characters
/// is the string itself (top bit set, its length, 7 bits per character); of any other, a hash
/// (top bit clear). Two deletions giving the same string with different gaps are different
/// alignments and are both kept.
fn deletion_variants(cs: &[u32], k: usize, out: &mut Vec<Variant>) {
    fn rec(cs: &[u32], from: usize, left: usize, skip: &mut Vec<usize>, out: &mut Vec<Variant>) {
        let len = cs.len() - skip.len();
        let mut h = (len as u64) << 8 | 0xFF;
        let mut packed = 0u64;
        let mut exact = len <= EXACT_KEY_LEN;
        let mut si = 0;
        for (i, &c) in cs.iter().enumerate() {
            if si < skip.len() && skip[si] == i {
                si += 1;
                continue;
            }
            h = (h ^ u64::from(c))
                .wrapping_mul(0x0100_0000_01b3)
                .rotate_left(23);
            exact &= c < 128;
            packed = packed << 7 | u64::from(c & 0x7F);
        }
        let key = if exact {
            1 << 63 | (len as u64) << 56 | packed
        } else {
            h & !(1 << 63)
        };
        out.push((key, gap_signature(skip)));
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

/// Where each key's run lies in a sorted `(key, value)` index: one hash lookup per probe instead
/// of two binary searches over the whole index, which cost a third of the mid-sized shape's run
/// (780,000 probes of a 780,000-entry index, each a chain of cache misses; 15.8 s → see the
/// exhaustive README for the figure after).
fn runs_of<T>(index: &[T], key: impl Fn(&T) -> u64) -> FxHashMap<u64, (u32, u32)> {
    let mut runs = FxHashMap::with_capacity_and_hasher(index.len() / 2, Default::default());
    let mut at = 0;
    while at < index.len() {
        let h = key(&index[at]);
        let mut end = at + 1;
        while end < index.len() && key(&index[end]) == h {
            end += 1;
        }
        runs.insert(h, (at as u32, end as u32));
        at = end;
    }
    runs
}

/// The members of `key`'s run (empty when it has none).
#[inline]
fn run<'a, T>(index: &'a [T], runs: &FxHashMap<u64, (u32, u32)>, key: u64) -> &'a [T] {
    match runs.get(&key) {
        Some(&(lo, hi)) => &index[lo as usize..hi as usize],
        None => &[],
    }
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
    // The level of two distinct values at distance d (1..=k): the first Levenshtein ≤ t with
    // d ≤ t (null and exact cannot hit, and some t = k).
    let lev_level: Vec<u8> = (0..=k)
        .map(|dist| {
            c.predicates
                .iter()
                .position(|p| matches!(p, Predicate::LevenshteinAtMost(t) if dist <= *t as usize))
                .unwrap_or(other as usize) as u8
        })
        .collect();
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
        return Some(deletion_list(&chars, k, by_len, &keep, &lev_level));
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
    let runs = runs_of(&index, |e| e.0);
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
                                let list = run(&index, &runs, segment_key(lb, i, &cs[q..q + sl]));
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
/// path; longer values only with the longer values sharing a deletion variant. A value whose
/// variants all have exact keys ([`exact_keys`]) gets each neighbour's distance as the least
/// cost its shared variants imply ([`implied_cost`]: exact when at most `k`) and its level from
/// `lev_level` (by distance), without the comparator: on the mid-sized shape's 27,000
/// seven-digit codes that skips 1.3 million comparator calls (the list took 0.30 s → 0.27 s;
/// matching k-deletion probes on their signature then took it to 0.17 s); other values are
/// compared as before.
fn deletion_list(
    chars: &[Vec<u32>],
    k: usize,
    by_len: &[Vec<u32>],
    keep: &(dyn Fn(u32, u32) -> Option<Agreement> + Sync),
    lev_level: &[u8],
) -> Vec<Agreement> {
    let d = chars.len();
    let long: Vec<u32> = by_len.iter().skip(k + 1).flatten().copied().collect();
    // Index: (variant key, signature rotated to put the number of deletions first, value),
    // sorted: the entries of one key are a run, by number of deletions, then signature, then
    // value.
    let mut index: Vec<(u64, u64, u32)> = long
        .par_chunks(VALUE_CHUNK)
        .flat_map_iter(|chunk| {
            let mut hs = Vec::new();
            let mut part = Vec::new();
            for &v in chunk {
                deletion_variants(&chars[v as usize], k, &mut hs);
                part.extend(hs.iter().map(|&(h, sig)| (h, sig.rotate_right(8), v)));
            }
            part
        })
        .collect();
    index.par_sort_unstable();
    // Per key: where its run starts, where its k-deletion part starts and ends, where it ends
    // (found once here instead of bisected by every probe: the bisections were 30 % of the
    // list's time on the mid-sized shape).
    let deletions = |rot: u64| (rot >> 56) as usize;
    let runs: FxHashMap<u64, [u32; 4]> = runs_of(&index, |e| e.0)
        .into_iter()
        .map(|(key, (s, e))| {
            let run = &index[s as usize..e as usize];
            let lo = run.partition_point(|x| deletions(x.1) < k);
            let hi = lo + run[lo..].partition_point(|x| deletions(x.1) == k);
            (key, [s, s + lo as u32, s + hi as u32, e])
        })
        .collect();
    let values: Vec<u32> = (0..d as u32).collect();
    let parts: Vec<Vec<Agreement>> = values
        .par_chunks(VALUE_CHUNK)
        .map_init(
            || (vec![u32::MAX; d], vec![u8::MAX; d], Vec::new(), Vec::new()),
            |(seen, best, near, hs), chunk| {
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
                    // (Signatures are exact up to seven deletions.)
                    let exact = k <= 7 && exact_keys(cs);
                    near.clear();
                    for &(h, sig) in hs.iter() {
                        let Some(&[s, lo, hi, e]) = runs.get(&h) else {
                            continue;
                        };
                        let parts = [s, lo, hi, e].map(|x| x as usize);
                        compatible(&index, parts, sig, k, a, |b, cost| {
                            let bi = b as usize;
                            if seen[bi] != a {
                                seen[bi] = a;
                                best[bi] = u8::MAX;
                                near.push(b);
                            }
                            best[bi] = best[bi].min(cost.min(255) as u8);
                        });
                    }
                    for &b in near.iter() {
                        let dist = best[b as usize] as usize;
                        if exact {
                            // The least implied cost over the shared variants is the distance.
                            out.push((a, b, lev_level[dist]));
                        } else {
                            // A hashed key may be a collision: the comparator decides.
                            out.extend(keep(a, b));
                        }
                    }
                }
                out
            },
        )
        .collect();
    sorted_union(parts)
}

/// Calls `f(b, cost)` for each entry `b > a` of one key's run of the deletion index (sorted by
/// rotated signature and value; `[start, lo, hi, end]`: the run, and within it the entries of
/// `k` deletions) whose variant is compatible with the probe's variant of signature `sig`: the
/// alignment the two imply costs `cost ≤ k` ([`implied_cost`]). Two variants of `k` deletions
/// each are compatible only when their gaps are the same (the cost is `2k − common ≤ k`), so
/// for a probe of `k` deletions that part of the run is searched for its signature instead of
/// scanned (on seven-digit codes at `k = 2` most entries are two-deletion variants that share a
/// five-character string but not the alignment).
#[inline]
fn compatible(
    index: &[(u64, u64, u32)],
    [start, lo, hi, end]: [usize; 4],
    sig: u64,
    k: usize,
    a: u32,
    mut f: impl FnMut(u32, usize),
) {
    let mut scan = |part: &[(u64, u64, u32)]| {
        for &(_, rot, b) in part {
            if b > a {
                let cost = implied_cost(sig, rot.rotate_left(8));
                if cost <= k {
                    f(b, cost);
                }
            }
        }
    };
    scan(&index[start..lo]);
    scan(&index[hi..end]);
    if sig != NO_SIGNATURE && (sig & 0xFF) as usize == k {
        let rot = sig.rotate_right(8);
        let part = &index[lo..hi];
        // (A search on the signature alone and a scan of its few entries: bisecting on
        // (signature, value) was a quarter of the list's time.)
        let s0 = part.partition_point(|e| e.1 < rot);
        for &(_, r, b) in &part[s0..] {
            if r != rot {
                break;
            }
            if b > a {
                f(b, k);
            }
        }
    } else {
        scan(&index[lo..hi]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deletion_variants_are_the_distinct_alignments() {
        let cs: Vec<u32> = "abba".chars().map(u32::from).collect();
        let mut hs = Vec::new();
        deletion_variants(&cs, 1, &mut hs);
        // abba; bba, aba (gap 1), aba (gap 2), abb: deleting either b leaves the same string
        // through different alignments, and both are kept.
        assert_eq!(hs.len(), 5);
        deletion_variants(&cs, 2, &mut hs);
        // + the six position pairs, each with its own gaps.
        assert_eq!(hs.len(), 5 + 6);
        assert_eq!(binomial(7, 2), 21);
        assert_eq!(binomial(7, 0), 1);
    }

    /// The smallest implied cost over the shared variants is the Levenshtein distance whenever
    /// that is at most `k`, and no shared variant implies at most `k` otherwise: the filter
    /// neither loses a pair nor keeps a false one.
    #[test]
    fn implied_cost_is_the_distance_within_k() {
        use proptest::prelude::*;
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases: 3000,
            ..ProptestConfig::default()
        });
        runner
            .run(&("[012]{1,8}", "[012]{1,8}", 1usize..4), |(a, b, k)| {
                let (ca, cb): (Vec<u32>, Vec<u32>) = (
                    a.chars().map(u32::from).collect(),
                    b.chars().map(u32::from).collect(),
                );
                let (mut va, mut vb) = (Vec::new(), Vec::new());
                deletion_variants(&ca, k, &mut va);
                deletion_variants(&cb, k, &mut vb);
                let best = va
                    .iter()
                    .flat_map(|&(h, s)| {
                        vb.iter()
                            .filter(move |&&(g, _)| g == h)
                            .map(move |&(_, t)| implied_cost(s, t))
                    })
                    .min();
                let d = crate::compare::levenshtein::levenshtein(&a, &b);
                if d <= k {
                    prop_assert_eq!(best, Some(d));
                } else {
                    prop_assert!(
                        best.is_none_or(|c| c > k),
                        "{a} {b} k={k} d={d} best={best:?}"
                    );
                }
                Ok(())
            })
            .unwrap();
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
