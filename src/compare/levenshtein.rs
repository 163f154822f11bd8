//! Levenshtein (edit) distance counted in Unicode scalar values.
//!
//! # References
//! V. I. Levenshtein, "Binary codes capable of correcting deletions,
//! insertions, and reversals", Soviet Physics Doklady 10(8), 1966.
//! E. Ukkonen, "Algorithms for approximate string matching", Information and
//! Control 64, 1985 (diagonal band / cut-off for bounded distance).

use crate::compare::util::{CharBuf, EqMask, Scratch, strip_common};

/// Levenshtein distance: the minimum number of single-character insertions,
/// deletions and substitutions turning `a` into `b`.
///
/// Characters are Unicode scalar values (`char`), matching DuckDB/Splink's
/// `levenshtein`; no normalisation is applied ("é" precomposed and "e"+U+0301
/// differ). ASCII inputs take a byte fast path. Runs in O(|a|·|b|) time and
/// O(min(|a|,|b|)) memory; no heap allocation when the shorter string (after
/// stripping the common prefix/suffix) has at most 64 characters.
///
/// # References
/// Levenshtein (1966); Wagner & Fischer, "The string-to-string correction
/// problem", JACM 21(1), 1974.
pub fn levenshtein(a: &str, b: &str) -> usize {
    if a.is_ascii() && b.is_ascii() {
        lev_ascii(a.as_bytes(), b.as_bytes())
    } else {
        let (ca, cb) = (CharBuf::new(a), CharBuf::new(b));
        lev_full(ca.as_slice(), cb.as_slice())
    }
}

/// Bounded Levenshtein distance: `Some(d)` if `levenshtein(a, b) = d <= k`,
/// otherwise `None`.
///
/// Exits immediately when the length difference exceeds `k`, then runs a
/// banded dynamic programme over the 2k+1 diagonals around the main one
/// (O(k·min(|a|,|b|)) time, O(k) memory) and stops as soon as every cell of a
/// row exceeds `k`. No heap allocation for `k <= 60` when inputs are ASCII or
/// at most 64 characters.
///
/// # References
/// E. Ukkonen, "Algorithms for approximate string matching", Information and
/// Control 64, 1985.
pub fn levenshtein_within(a: &str, b: &str, k: usize) -> Option<usize> {
    if a.is_ascii() && b.is_ascii() {
        let (x, y) = (a.as_bytes(), b.as_bytes());
        if x.len().abs_diff(y.len()) > k {
            return None;
        }
        if x.len().min(y.len()) <= 64 {
            let d = lev_ascii(x, y);
            return (d <= k).then_some(d);
        }
        lev_band(x, y, k)
    } else {
        // Cheap check before decoding: one edit changes the UTF-8 length by at
        // most 4 bytes, so the distance is at least |bytes_a - bytes_b| / 4.
        if a.len().abs_diff(b.len()) / 4 > k {
            return None;
        }
        let (ca, cb) = (CharBuf::new(a), CharBuf::new(b));
        lev_band(ca.as_slice(), cb.as_slice(), k)
    }
}

/// ASCII: bit-parallel when the shorter string (after stripping the common
/// affixes) has at most 64 bytes, DP otherwise.
#[inline]
fn lev_ascii(a: &[u8], b: &[u8]) -> usize {
    let (a, b) = strip_common(a, b);
    let (p, t) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    match p.len() {
        0 => t.len(),
        1..=16 => lev_bits::<16>(p, t),
        17..=32 => lev_bits::<32>(p, t),
        33..=64 => lev_bits::<64>(p, t),
        _ => lev_full(p, t),
    }
}

/// Bit-parallel Levenshtein distance for a pattern of 1..=N <= 64 bytes
/// against a text of any length, O(|t|) word operations.
///
/// # References
/// G. Myers, "A fast bit-vector algorithm for approximate string matching
/// based on dynamic programming", JACM 46(3), 1999; H. Hyyrö, "A bit-vector
/// algorithm for computing Levenshtein and Damerau edit distances", Nordic
/// Journal of Computing 10, 2003.
#[inline]
fn lev_bits<const N: usize>(p: &[u8], t: &[u8]) -> usize {
    let eq = EqMask::<N>::new(p);
    let m = p.len();
    let last = 1u64 << (m - 1);
    let mut vp: u64 = !0;
    let mut vn: u64 = 0;
    let mut dist = m;
    for &c in t {
        let x = eq.mask(c);
        let d0 = (((x & vp).wrapping_add(vp)) ^ vp) | x | vn;
        let hp = vn | !(d0 | vp);
        let hn = d0 & vp;
        dist += usize::from(hp & last != 0);
        dist -= usize::from(hn & last != 0);
        let hp = (hp << 1) | 1;
        let hn = hn << 1;
        vp = hn | !(d0 | hp);
        vn = hp & d0;
    }
    dist
}

/// Full single-row Wagner–Fischer DP.
pub(crate) fn lev_full<T: PartialEq + Copy>(a: &[T], b: &[T]) -> usize {
    let (a, b) = strip_common(a, b);
    // Make `b` the shorter one: it is the row dimension.
    let (a, b) = if a.len() < b.len() { (b, a) } else { (a, b) };
    if b.is_empty() {
        return a.len();
    }
    let mut scratch: Scratch<65> = Scratch::new(b.len() + 1);
    let row = scratch.as_mut();
    for (j, cell) in row.iter_mut().enumerate() {
        *cell = j;
    }
    for (i, &ca) in a.iter().enumerate() {
        let mut diag = row[0]; // D[i][j-1] before overwrite
        row[0] = i + 1;
        for j in 1..row.len() {
            let up = row[j]; // D[i][j]
            let cost = usize::from(ca != b[j - 1]);
            let v = (diag + cost).min(up + 1).min(row[j - 1] + 1);
            diag = up;
            row[j] = v;
        }
    }
    row[b.len()]
}

/// Banded Levenshtein with cut-off `k`. Cells are indexed by diagonal:
/// `band[d]` holds D[i][j] with `j = i + d - k`.
pub(crate) fn lev_band<T: PartialEq + Copy>(a: &[T], b: &[T], k: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > k {
        return None;
    }
    let (a, b) = strip_common(a, b);
    // Rows over the shorter string.
    let (a, b) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let (n, m) = (a.len(), b.len());
    if n == 0 {
        return (m <= k).then_some(m);
    }
    // Distance never exceeds m (n <= m), so a larger k buys nothing.
    let k = k.min(m);
    let inf = k + 1;
    let width = 2 * k + 1;
    let mut scratch: Scratch<121> = Scratch::new(width);
    let band = scratch.as_mut();
    // Row 0: D[0][j] = j for j = d - k >= 0.
    for (d, cell) in band.iter_mut().enumerate() {
        *cell = if d >= k && d - k <= m { d - k } else { inf };
    }
    for i in 1..=n {
        let ca = a[i - 1];
        let mut row_min = inf;
        for d in 0..width {
            // j = i + d - k, valid range 0..=m
            let j = (i + d).wrapping_sub(k);
            if i + d < k || j > m {
                band[d] = inf;
                continue;
            }
            let v = if j == 0 {
                i
            } else {
                let sub = band[d] + usize::from(ca != b[j - 1]);
                let del = if d + 1 < width { band[d + 1] + 1 } else { inf };
                let ins = if d > 0 { band[d - 1] + 1 } else { inf };
                sub.min(del).min(ins)
            };
            let v = v.min(inf);
            band[d] = v;
            row_min = row_min.min(v);
        }
        if row_min > k {
            return None;
        }
    }
    let d = m + k - n;
    let v = band[d];
    (v <= k).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::testutil::check_distance;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("flaw", "lawn"), 2);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("abc", ""), 3);
        assert_eq!(levenshtein("", ""), 0);
        assert_eq!(levenshtein("Zoë", "Zoe"), 1);
        assert_eq!(levenshtein("東京都", "京都"), 1);
        assert_eq!(levenshtein("😀a", "a😀"), 2);
        assert_eq!(levenshtein("ca", "abc"), 3);
    }

    #[test]
    fn within_values() {
        assert_eq!(levenshtein_within("kitten", "sitting", 3), Some(3));
        assert_eq!(levenshtein_within("kitten", "sitting", 2), None);
        assert_eq!(levenshtein_within("abc", "abc", 0), Some(0));
        assert_eq!(levenshtein_within("abc", "abd", 0), None);
        assert_eq!(levenshtein_within("", "abc", 2), None);
        assert_eq!(levenshtein_within("", "abc", 3), Some(3));
        assert_eq!(levenshtein_within("a", "abcdefgh", usize::MAX), Some(7));
        assert_eq!(levenshtein_within("Zoë", "Zoe", 1), Some(1));
    }

    #[test]
    fn invariants() {
        check_distance("levenshtein", levenshtein);
        check_distance("levenshtein_within(k=max)", |a, b| {
            levenshtein_within(a, b, usize::MAX).unwrap_or(usize::MAX)
        });
    }

    #[test]
    fn huge_bounded_is_fast() {
        let big = "ab".repeat(5_000_000);
        let mut big2 = big.clone();
        big2.push('x');
        let t = std::time::Instant::now();
        assert_eq!(levenshtein_within(&big, &big2, 2), Some(1));
        let mut big3 = String::from("x");
        big3.push_str(&big[1..]);
        big3.push('y');
        assert_eq!(levenshtein_within(&big, &big3, 2), Some(2));
        assert_eq!(levenshtein_within(&big, "ab", 3), None);
        assert!(t.elapsed().as_secs_f64() < 5.0);
    }

    proptest! {
        #[test]
        fn prop_symmetric(a in "\\PC{0,12}", b in "\\PC{0,12}") {
            prop_assert_eq!(levenshtein(&a, &b), levenshtein(&b, &a));
        }

        #[test]
        fn prop_within_matches(a in "[abc]{0,12}", b in "[abc]{0,12}", k in 0usize..14) {
            let d = levenshtein(&a, &b);
            let w = levenshtein_within(&a, &b, k);
            prop_assert_eq!(w, (d <= k).then_some(d));
        }

        #[test]
        fn prop_within_matches_unicode(a in "[aé東😀]{0,10}", b in "[aé東😀]{0,10}", k in 0usize..12) {
            let d = levenshtein(&a, &b);
            prop_assert_eq!(levenshtein_within(&a, &b, k), (d <= k).then_some(d));
        }

        #[test]
        fn prop_bits_equals_dp(a in "[a-d]{0,80}", b in "[a-d]{0,80}") {
            prop_assert_eq!(lev_ascii(a.as_bytes(), b.as_bytes()), lev_full(a.as_bytes(), b.as_bytes()));
        }

        #[test]
        fn prop_triangle(a in "[ab]{0,8}", b in "[ab]{0,8}", c in "[ab]{0,8}") {
            prop_assert!(levenshtein(&a, &c) <= levenshtein(&a, &b) + levenshtein(&b, &c));
        }
    }
}
