//! Optimal string alignment (OSA) distance, a.k.a. restricted
//! Damerau–Levenshtein distance.
//!
//! Like Levenshtein but an adjacent transposition ("ab" → "ba") also costs 1,
//! with the restriction that no substring is edited more than once. Hence OSA
//! is not a metric: `osa("CA", "ABC") = 3` whereas the unrestricted
//! Damerau–Levenshtein distance is 2.
//!
//! # References
//! F. J. Damerau, "A technique for computer detection and correction of
//! spelling errors", CACM 7(3), 1964. G. V. Bard, "Spelling-error tolerant,
//! order-independent pass-phrase enforcement", ACSW 2007 (names the
//! restricted variant OSA).

use crate::compare::util::{CharBuf, Scratch, strip_common};

/// Optimal string alignment distance between `a` and `b`, counted in Unicode
/// scalar values (insertions, deletions, substitutions and adjacent
/// transpositions each cost 1; no substring edited twice).
///
/// O(|a|·|b|) time, O(min(|a|,|b|)) memory, no heap allocation when the
/// shorter string has at most 64 characters. ASCII inputs use a byte path.
///
/// # References
/// Damerau (1964); Bard (2007).
pub fn osa_distance(a: &str, b: &str) -> usize {
    if a.is_ascii() && b.is_ascii() {
        osa_full(a.as_bytes(), b.as_bytes())
    } else {
        let (ca, cb) = (CharBuf::new(a), CharBuf::new(b));
        osa_full(ca.as_slice(), cb.as_slice())
    }
}

/// Bounded OSA distance: `Some(d)` if `osa_distance(a, b) = d <= k`,
/// otherwise `None`.
///
/// Uses the length-difference lower bound for an immediate exit and a banded
/// DP over 2k+1 diagonals (O(k·min(|a|,|b|)) time), stopping early once a whole
/// row exceeds `k`.
///
/// # References
/// Damerau (1964); Ukkonen, Information and Control 64, 1985 (banding).
pub fn osa_within(a: &str, b: &str, k: usize) -> Option<usize> {
    if a.is_ascii() && b.is_ascii() {
        osa_band(a.as_bytes(), b.as_bytes(), k)
    } else {
        // One edit changes the UTF-8 length by at most 4 bytes
        // (a transposition by 0).
        if a.len().abs_diff(b.len()) / 4 > k {
            return None;
        }
        let (ca, cb) = (CharBuf::new(a), CharBuf::new(b));
        osa_band(ca.as_slice(), cb.as_slice(), k)
    }
}

fn osa_full<T: PartialEq + Copy>(a: &[T], b: &[T]) -> usize {
    let (a, b) = strip_common(a, b);
    let (a, b) = if a.len() < b.len() { (b, a) } else { (a, b) };
    if b.is_empty() {
        return a.len();
    }
    let w = b.len() + 1;
    let mut scratch: Scratch<195> = Scratch::new(3 * w);
    let buf = scratch.as_mut();
    let (mut pp, rest) = buf.split_at_mut(w);
    let (mut prev, mut cur) = rest.split_at_mut(w);
    for (j, cell) in prev.iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        cur[0] = i;
        let ca = a[i - 1];
        for j in 1..w {
            let cb = b[j - 1];
            let mut v = (prev[j - 1] + usize::from(ca != cb))
                .min(prev[j] + 1)
                .min(cur[j - 1] + 1);
            if i > 1 && j > 1 && ca == b[j - 2] && a[i - 2] == cb {
                v = v.min(pp[j - 2] + 1);
            }
            cur[j] = v;
        }
        // rotate: pp <- prev, prev <- cur, cur <- old pp
        std::mem::swap(&mut pp, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[w - 1]
}

/// Banded OSA: row arrays indexed by diagonal, `x[d]` = D[i][i + d - k].
fn osa_band<T: PartialEq + Copy>(a: &[T], b: &[T], k: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > k {
        return None;
    }
    let (a, b) = strip_common(a, b);
    let (a, b) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let (n, m) = (a.len(), b.len());
    if n == 0 {
        return (m <= k).then_some(m);
    }
    let k = k.min(m);
    let inf = k + 1;
    let width = 2 * k + 1;
    let mut scratch: Scratch<183> = Scratch::new(3 * width);
    let buf = scratch.as_mut();
    buf.fill(inf);
    let (mut pp, rest) = buf.split_at_mut(width);
    let (mut prev, mut cur) = rest.split_at_mut(width);
    for (d, cell) in prev.iter_mut().enumerate() {
        if d >= k && d - k <= m {
            *cell = d - k;
        }
    }
    for i in 1..=n {
        let ca = a[i - 1];
        let mut row_min = inf;
        for d in 0..width {
            let j = (i + d).wrapping_sub(k);
            if i + d < k || j > m {
                cur[d] = inf;
                continue;
            }
            let v = if j == 0 {
                i
            } else {
                let cb = b[j - 1];
                let mut v = prev[d] + usize::from(ca != cb);
                if d + 1 < width {
                    v = v.min(prev[d + 1] + 1);
                }
                if d > 0 {
                    v = v.min(cur[d - 1] + 1);
                }
                if i > 1 && j > 1 && ca == b[j - 2] && a[i - 2] == cb {
                    v = v.min(pp[d] + 1);
                }
                v
            };
            let v = v.min(inf);
            cur[d] = v;
            row_min = row_min.min(v);
        }
        if row_min > k {
            return None;
        }
        std::mem::swap(&mut pp, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    let v = prev[m + k - n];
    (v <= k).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::levenshtein::levenshtein;
    use crate::compare::testutil::check_distance;
    use proptest::prelude::*;

    /// Textbook full-matrix OSA without affix stripping, as a reference.
    fn naive(a: &str, b: &str) -> usize {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for (i, row) in d.iter_mut().enumerate() {
            row[0] = i;
        }
        for (j, cell) in d[0].iter_mut().enumerate() {
            *cell = j;
        }
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                let c = usize::from(a[i - 1] != b[j - 1]);
                let mut v = (d[i - 1][j] + 1)
                    .min(d[i][j - 1] + 1)
                    .min(d[i - 1][j - 1] + c);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    v = v.min(d[i - 2][j - 2] + 1);
                }
                d[i][j] = v;
            }
        }
        d[a.len()][b.len()]
    }

    #[test]
    fn known_values() {
        assert_eq!(osa_distance("CA", "ABC"), 3);
        assert_eq!(osa_distance("ab", "ba"), 1);
        assert_eq!(levenshtein("ab", "ba"), 2);
        assert_eq!(osa_distance("abcdef", "abcfed"), 2);
        assert_eq!(osa_distance("", "ab"), 2);
        assert_eq!(osa_distance("", ""), 0);
        assert_eq!(osa_distance("Zoë", "Zeö"), 2);
        assert_eq!(osa_distance("Zoë", "Zëo"), 1);
        assert_eq!(osa_distance("😀東", "東😀"), 1);
        assert_eq!(osa_distance("MARTHA", "MARHTA"), 1);
        assert_eq!(osa_within("CA", "ABC", 2), None);
        assert_eq!(osa_within("CA", "ABC", 3), Some(3));
        assert_eq!(osa_within("MARTHA", "MARHTA", 1), Some(1));
        assert_eq!(osa_within("MARTHA", "MARHTA", 0), None);
    }

    #[test]
    fn invariants() {
        check_distance("osa_distance", osa_distance);
        check_distance("osa_within(k=max)", |a, b| {
            osa_within(a, b, usize::MAX).unwrap_or(usize::MAX)
        });
    }

    #[test]
    fn huge_bounded_is_fast() {
        let big = "ab".repeat(5_000_000);
        let mut big2 = String::from("ba");
        big2.push_str(&big[2..]);
        big2.push('x');
        let t = std::time::Instant::now();
        assert_eq!(osa_within(&big, &big2, 3), Some(2));
        assert_eq!(osa_within(&big, "ab", 3), None);
        assert!(t.elapsed().as_secs_f64() < 5.0);
    }

    proptest! {
        #[test]
        fn prop_symmetric(a in "\\PC{0,12}", b in "\\PC{0,12}") {
            prop_assert_eq!(osa_distance(&a, &b), osa_distance(&b, &a));
        }

        #[test]
        fn prop_within_matches(a in "[abc]{0,12}", b in "[abc]{0,12}", k in 0usize..14) {
            let d = osa_distance(&a, &b);
            prop_assert_eq!(osa_within(&a, &b, k), (d <= k).then_some(d));
        }

        #[test]
        fn prop_within_matches_unicode(a in "[aé東😀]{0,10}", b in "[aé東😀]{0,10}", k in 0usize..12) {
            let d = osa_distance(&a, &b);
            prop_assert_eq!(osa_within(&a, &b, k), (d <= k).then_some(d));
        }

        #[test]
        fn prop_matches_naive(a in "[abc]{0,9}", b in "[abc]{0,9}") {
            prop_assert_eq!(osa_distance(&a, &b), naive(&a, &b));
        }

        #[test]
        fn prop_le_levenshtein(a in "[ab]{0,10}", b in "[ab]{0,10}") {
            prop_assert!(osa_distance(&a, &b) <= levenshtein(&a, &b));
        }
    }
}
