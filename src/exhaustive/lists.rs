//! Agreement lists: for one comparison, every pair of distinct values (and every value with
//! itself) whose level is neither null nor else, found without calling the comparator on value
//! pairs that an exact bound rules out.

use rayon::prelude::*;

use crate::compare::jaro::JwParams;
use crate::compare::{Comparison, quick_jw_below, quick_profile};
use crate::data::Dataset;
use crate::settings::{JwConfig, Predicate};

/// Distinct values per chunk when building agreement lists.
const VALUE_CHUNK: usize = 256;

/// One entry of an agreement list: values `a <= b` (ids of the column) and their level.
pub type Agreement = (u32, u32, u8);

/// The level of a missing value and of two distinct non-agreeing values of a comparison.
pub(crate) fn special_levels(c: &Comparison) -> (u8, u8) {
    let n = c.n_levels();
    let miss = c
        .predicates
        .iter()
        .position(|p| matches!(p, Predicate::Null | Predicate::Else))
        .unwrap_or(n - 1) as u8;
    let other = c
        .predicates
        .iter()
        .position(|p| *p == Predicate::Else)
        .unwrap_or(n - 1) as u8;
    (miss, other)
}

/// Whether the comparison can only agree on equal values (levels null, exact, else).
fn exact_only(c: &Comparison) -> bool {
    c.predicates
        .iter()
        .all(|p| matches!(p, Predicate::Null | Predicate::Exact | Predicate::Else))
}

/// Exact test on character lengths: can two values of lengths `la`, `lb` (both ≥ 1) reach some
/// level other than null, exact and else? `jw` are the comparison's Jaro–Winkler settings; without
/// them Jaro–Winkler levels are never pruned.
fn lengths_may_agree(preds: &[Predicate], jw: Option<&JwConfig>, la: usize, lb: usize) -> bool {
    let (lo, hi) = (la.min(lb) as f64, la.max(lb) as f64);
    // Jaro ≤ (m/la + m/lb + 1)/3 with m ≤ min(la, lb) common characters.
    let jaro_ub = (1.0 + lo / hi + 1.0) / 3.0;
    let diff = la.abs_diff(lb);
    preds.iter().any(|p| match p {
        Predicate::Null | Predicate::Exact | Predicate::Else => false,
        Predicate::JaroAtLeast(t) => jaro_ub >= t - 1e-9,
        Predicate::JaroWinklerAtLeast(t) => match jw {
            None => true,
            Some(c) => {
                let boosted = c.boost_threshold < 0.0 || jaro_ub > c.boost_threshold;
                let ub = if boosted {
                    let l = c.max_prefix.min(la.min(lb)) as f64;
                    let w = (l * c.prefix_scale).clamp(0.0, 1.0);
                    jaro_ub + w * (1.0 - jaro_ub)
                } else {
                    jaro_ub
                };
                ub >= t - 1e-9
            }
        },
        Predicate::LevenshteinAtMost(k) | Predicate::DamerauLevenshteinAtMost(k) => {
            diff <= *k as usize
        }
        _ => true,
    })
}

/// Every value pair of comparison `c` whose level is neither null nor else, by comparing every
/// pair of distinct values with [`Comparison::level`] (no pruning). For tests and checks.
pub fn agreement_list_unpruned(ds: &Dataset, c: &Comparison) -> Vec<Agreement> {
    let col = &ds.columns[c.column];
    let (miss, other) = special_levels(c);
    let d = col.dict.len() as u32;
    (0..d)
        .into_par_iter()
        .flat_map_iter(|a| {
            (a..d).filter_map(move |b| {
                let l = c.level(col, a, b);
                (l != miss && l != other).then_some((a, b, l))
            })
        })
        .collect()
}

/// Every value pair of comparison `c` whose level is neither null nor else, sorted; value pairs
/// that cannot agree by an exact length bound are skipped without calling the comparator (which
/// applies its own exact character-count bounds next). `jw`: the comparison's Jaro–Winkler
/// settings, for the length bound of Jaro–Winkler levels.
pub fn agreement_list(ds: &Dataset, c: &Comparison, jw: Option<&JwConfig>) -> Vec<Agreement> {
    let col = &ds.columns[c.column];
    let (miss, other) = special_levels(c);
    let d = col.dict.len();
    let keep = |a: u32, b: u32| {
        let l = c.level(col, a, b);
        (l != miss && l != other).then_some((a, b, l))
    };
    if exact_only(c) {
        return (0..d as u32).filter_map(|a| keep(a, a)).collect();
    }
    // Values grouped by length in characters.
    let lens: Vec<usize> = col.dict.par_iter().map(|s| s.chars().count()).collect();
    let max_len = lens.iter().copied().max().unwrap_or(0);
    let mut by_len: Vec<Vec<u32>> = vec![Vec::new(); max_len + 1];
    for (v, &l) in lens.iter().enumerate() {
        by_len[l].push(v as u32);
    }
    let compat: Vec<Vec<usize>> = (0..=max_len)
        .map(|la| {
            (1..=max_len)
                .filter(|&lb| {
                    la == 0
                        || !by_len[lb].is_empty() && lengths_may_agree(&c.predicates, jw, la, lb)
                })
                .collect()
        })
        .collect();
    if let Some(list) = jw.and_then(|cfg| jw_agreement_list(ds, c, cfg, &by_len, &compat)) {
        return list;
    }
    let chunks: Vec<(usize, usize)> = (0..d)
        .step_by(VALUE_CHUNK)
        .map(|s| (s, (s + VALUE_CHUNK).min(d)))
        .collect();
    let parts: Vec<Vec<Agreement>> = chunks
        .par_iter()
        .map(|&(s, e)| {
            let mut out = Vec::new();
            for a in s as u32..e as u32 {
                if let Some(x) = keep(a, a) {
                    out.push(x);
                }
                for &lb in &compat[lens[a as usize]] {
                    for &b in &by_len[lb] {
                        if b > a {
                            if let Some(x) = keep(a, b) {
                                out.push(x);
                            }
                        }
                    }
                }
            }
            out.sort_unstable();
            out
        })
        .collect();
    parts.concat()
}

/// The agreement list of a comparison whose levels are null, exact, Jaro–Winkler ≥ t… and else,
/// with a vectorisable first stage: per value a [`quick_profile`] (character counts by class), and
/// per length pair the fewest common characters that can reach the lowest threshold (from
/// [`quick_jw_below`], the comparator's own exact bound). `None` for other level shapes.
fn jw_agreement_list(
    ds: &Dataset,
    c: &Comparison,
    cfg: &JwConfig,
    by_len: &[Vec<u32>],
    compat: &[Vec<usize>],
) -> Option<Vec<Agreement>> {
    let mut min_t = f64::INFINITY;
    for p in &c.predicates {
        match p {
            Predicate::Null | Predicate::Exact | Predicate::Else => {}
            Predicate::JaroWinklerAtLeast(t) => min_t = min_t.min(*t),
            _ => return None,
        }
    }
    if !min_t.is_finite() {
        return None;
    }
    let max_len = by_len.len() - 1;
    if max_len >= 255 {
        return None;
    }
    let params = JwParams {
        prefix_scale: cfg.prefix_scale,
        max_prefix: cfg.max_prefix,
        boost_threshold: (cfg.boost_threshold >= 0.0).then_some(cfg.boost_threshold),
    };
    // need[la][lb]: fewest common characters (by class) that can reach min_t; 255: never.
    let need: Vec<Vec<u32>> = (0..=max_len)
        .map(|la| {
            (0..=max_len)
                .map(|lb| {
                    if la == 0 || lb == 0 {
                        return 0;
                    }
                    (0..=la.min(lb))
                        .find(|&u| {
                            let (mut qa, mut qb) = ([0u8; 16], [0u8; 16]);
                            qa[0] = u as u8;
                            qb[0] = u as u8;
                            qa[15] = la as u8;
                            qb[15] = lb as u8;
                            !quick_jw_below(&qa, &qb, &params, min_t)
                        })
                        .map_or(255, |u| u as u32)
                })
                .collect()
        })
        .collect();
    let col = &ds.columns[c.column];
    let (miss, other) = special_levels(c);
    // Profiles (length byte cleared) grouped like by_len.
    let prof = |v: u32| {
        let mut q = quick_profile(&col.dict[v as usize]);
        q[15] = 0;
        q
    };
    let group_q: Vec<Vec<[u8; 16]>> = by_len
        .iter()
        .map(|g| g.iter().map(|&v| prof(v)).collect())
        .collect();
    // Work items: (length, position in its group).
    let items: Vec<(usize, usize)> = (0..=max_len)
        .flat_map(|l| (0..by_len[l].len()).map(move |i| (l, i)))
        .collect();
    let mut parts: Vec<Vec<Agreement>> = items
        .par_chunks(VALUE_CHUNK)
        .map(|chunk| {
            let mut out = Vec::new();
            for &(la, i) in chunk {
                let a = by_len[la][i];
                let qa = group_q[la][i];
                let l = c.level(col, a, a);
                if l != miss && l != other {
                    out.push((a, a, l));
                }
                for &lb in &compat[la] {
                    if lb < la {
                        continue;
                    }
                    let n = need[la][lb];
                    let start = if lb == la { i + 1 } else { 0 };
                    let (ids, qs) = (&by_len[lb][start..], &group_q[lb][start..]);
                    for (&b, qb) in ids.iter().zip(qs) {
                        let mut u = 0u32;
                        for k in 0..16 {
                            u += u32::from(qa[k].min(qb[k]));
                        }
                        if u >= n || la == 0 {
                            let (x, y) = (a.min(b), a.max(b));
                            let l = c.level(col, x, y);
                            if l != miss && l != other {
                                out.push((x, y, l));
                            }
                        }
                    }
                }
            }
            out
        })
        .collect();
    let mut all: Vec<Agreement> = parts.drain(..).flatten().collect();
    all.par_sort_unstable();
    Some(all)
}
