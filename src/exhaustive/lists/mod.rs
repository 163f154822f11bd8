//! Agreement lists: for one comparison, every pair of distinct values (and every value with
//! itself) whose level is neither null nor else, found without calling the comparator on value
//! pairs that an exact bound rules out.
//!
//! [`agreement_list`] dispatches on the comparison's levels: comparisons whose levels are null,
//! exact and else keep each value with itself (`d` comparator calls for `d` values); null, exact,
//! Jaro–Winkler ≥ t… and else, given the Jaro–Winkler settings, go to [`jw_trie`] (common-prefix
//! depths and trie joins on a token-overlap bound); null, exact, Levenshtein ≤ k… and else go to
//! [`passjoin`] (the Pass-Join pigeonhole segment filter). Every other comparison takes the
//! generic path here: values grouped by length in characters, and each value compared with the
//! values of the lengths an exact bound ([`lengths_may_agree`]) leaves, in parallel chunks of
//! [`VALUE_CHUNK`] values; at worst one comparator call per pair of distinct values (`d²/2`).
//! [`agreement_list_unpruned`] compares every pair, for tests and checks.

use rayon::prelude::*;

use crate::compare::Comparison;
use crate::compare::{JwConfig, Predicate};
use crate::data::Dataset;

mod jw_trie;
mod passjoin;

use jw_trie::{TUNING, jw_agreement_list};
use passjoin::lev_agreement_list;

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
pub(super) fn exact_only(c: &Comparison) -> bool {
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

/// Every value pair of comparison `c` whose level is neither null nor else, sorted (equal to
/// [`agreement_list_unpruned`], sorted). `jw`: the comparison's Jaro–Winkler settings. With them,
/// comparisons whose levels are null, exact, Jaro–Winkler ≥ t… and else compare only value pairs
/// that can share enough characters (common-prefix depths and trie joins, see
/// [`crate::doc::exhaustive`]); comparisons whose levels are null, exact, Levenshtein ≤ k… and
/// else compare only value pairs sharing an intact segment (the Pass-Join pigeonhole filter);
/// otherwise value pairs that cannot agree by an exact length bound are skipped without calling
/// the comparator (which applies its own exact character-count bounds next).
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
    if let Some(list) = jw.and_then(|cfg| jw_agreement_list(ds, c, cfg, &by_len, TUNING)) {
        return list;
    }
    if let Some(list) = lev_agreement_list(ds, c, &by_len) {
        return list;
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

/// Tests through the dispatcher, and the test data shared with the tests of [`jw_trie`].
/// One agreement list, sorted, from the parts the chunks of a join produced (each value pair is
/// in exactly one part).
fn sorted_union(parts: Vec<Vec<Agreement>>) -> Vec<Agreement> {
    let mut all: Vec<Agreement> = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    for p in parts {
        all.extend(p);
    }
    all.par_sort_unstable();
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::Comparer;
    use crate::data::{Column, Interner};
    use crate::settings::Settings;

    /// A dataset of one column holding `words` (one record each).
    pub(super) fn dataset(words: &[String]) -> Dataset {
        let mut int = Interner::default();
        let mut col = Column {
            name: "x".into(),
            ..Default::default()
        };
        for w in words {
            col.values.push(int.intern(w));
        }
        col.dict = int.into_dict();
        Dataset {
            source_of: vec![0; words.len()],
            columns: vec![col],
            ..Default::default()
        }
    }

    /// Settings with one comparison of column `x` from a TOML fragment, expanded.
    pub(super) fn comparison(fragment: &str) -> Settings {
        let text = format!("[[comparison]]\ncolumn = \"x\"\n{fragment}\n");
        Settings::from_toml(&text, "t")
            .unwrap()
            .expanded("t")
            .unwrap()
    }

    /// Many similar strings: name-like syllables with typos, transpositions, repeated letters,
    /// truncations, lengths 1 to ~14 and some non-ASCII characters.
    pub(super) fn words() -> Vec<String> {
        let mut rng = 0x2545_F491_4F6C_DD1Du64;
        let mut next = |n: usize| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng % n as u64) as usize
        };
        const SYL: [&str; 14] = [
            "an", "na", "ber", "ann", "el", "le", "ss", "mar", "tha", "é", "ö", "o", "ll", "東",
        ];
        const CH: [char; 10] = ['A', 'N', 'E', 'L', 'S', 'É', 'Ö', 'M', 'R', 'T'];
        let mut out: Vec<String> = vec![
            "A".into(),
            "B".into(),
            "AB".into(),
            "BA".into(),
            "É".into(),
            "ANNA".into(),
            "ANNNA".into(),
            "NANA".into(),
            "MARTHA".into(),
            "MARHTA".into(),
            "DWAYNE".into(),
            "DUANE".into(),
            "DIXON".into(),
            "DICKSONX".into(),
            "ZOË".into(),
            "ZOE".into(),
            "ZOÉ".into(),
            "AAAAAAAA".into(),
            "AAAAAAAB".into(),
            "BAAAAAAA".into(),
        ];
        for _ in 0..700 {
            let mut s = String::new();
            for _ in 0..1 + next(5) {
                s.push_str(SYL[next(SYL.len())]);
            }
            let s = s.to_uppercase();
            out.push(s.clone());
            let mut c: Vec<char> = s.chars().collect();
            for _ in 0..1 + next(2) {
                let i = next(c.len());
                match next(5) {
                    0 if c.len() > 1 => {
                        c.remove(i);
                    }
                    1 => c.insert(i, CH[next(CH.len())]),
                    2 => c[i] = CH[next(CH.len())],
                    3 if i + 1 < c.len() => c.swap(i, i + 1),
                    _ => c.truncate(i.max(1)),
                }
            }
            out.push(c.into_iter().collect());
        }
        out
    }

    /// The Levenshtein pigeonhole filter keeps every pair the comparator keeps, for thresholds
    /// below, at and above the shortest lengths (values of 1 to ~14 characters, non-ASCII ones,
    /// and the empty string), through `agreement_list`.
    #[test]
    fn lev_lists_equal_unpruned() {
        let mut ds = dataset(&words());
        let col = &mut ds.columns[0];
        for s in ["", "AB", "BA", "A"] {
            col.dict.push(s);
            col.values.push(col.dict.len() as u32 - 1);
        }
        ds.source_of = vec![0; ds.columns[0].values.len()];
        for t in ["[1]", "[1, 2]", "[3]", "[2, 4]"] {
            let s = comparison(&format!(
                "use = \"levenshtein_at_thresholds\"\nthresholds = {t}"
            ));
            let comparer = Comparer::new(&s.comparisons, &ds).unwrap();
            let c = &comparer.comparisons[0];
            let mut plain = agreement_list_unpruned(&ds, c);
            plain.sort_unstable();
            assert!(plain.len() > 2 * ds.columns[0].dict.len(), "{t}: too few");
            assert_eq!(agreement_list(&ds, c, None), plain, "thresholds {t}");
        }
    }
}
