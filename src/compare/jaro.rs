//! Jaro and Jaro–Winkler similarity, with precomputed string profiles and an
//! exact character-histogram upper bound for pruning.
//!
//! Definitions used throughout (both the `&str` and the profile functions
//! share one implementation, so they agree bit for bit):
//!
//! * characters are Unicode scalar values (`char`); ASCII takes a byte path;
//! * match window `w = max(|a|, |b|) / 2 - 1` (integer division, floored at
//!   0): `a[i]` and `b[j]` may match when `|i - j| <= w`; matching is greedy;
//! * `t` = (number of matched characters out of order) / 2, integer division
//!   as in Winkler's `strcmp95`, rapidfuzz and jellyfish;
//! * `jaro = (m/|a| + m/|b| + (m - t)/m) / 3`, and 0 when `m = 0`;
//! * both strings empty ⇒ 1.0; exactly one empty ⇒ 0.0;
//! * to make the greedy matching symmetric the pair is put in a canonical
//!   order (shorter first, ties broken lexicographically) before matching.
//!
//! # References
//! M. A. Jaro, "Advances in record-linkage methodology as applied to matching
//! the 1985 census of Tampa, Florida", JASA 84(406), 1989.
//! W. E. Winkler, "String comparator metrics and enhanced decision rules in
//! the Fellegi–Sunter model of record linkage", Proc. Section on Survey
//! Research Methods, ASA, 1990.

use crate::compare::util::{CharBuf, EqMask};

/// Number of buckets in a [`StrProfile`] character histogram. A character
/// with code point `c` goes to bucket `c % HIST_BUCKETS`.
pub const HIST_BUCKETS: usize = 32;
const _: () = assert!(HIST_BUCKETS == 32, "common_upper sums two 16-byte halves");

/// Parameters of the Jaro–Winkler prefix boost.
///
/// `jw = jaro + l·p·(1 − jaro)` where `l` is the length of the common prefix
/// (in characters) capped at `max_prefix` and `p = prefix_scale`. Computed as
/// `l·p + (1 − l·p)·jaro` (algebraically identical; monotone in `jaro` in
/// floating point too), with `l·p` clamped to `[0, 1]` (a NaN or negative
/// scale disables the boost).
///
/// # References
/// Winkler (1990), Proc. Section on Survey Research Methods, ASA.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JwParams {
    /// Scaling factor `p` per prefix character. Default 0.1 (Winkler 1990);
    /// `prefix_scale · max_prefix` should not exceed 1.
    pub prefix_scale: f64,
    /// Maximum prefix length `l` counted, in characters. Default 4.
    pub max_prefix: usize,
    /// Apply the boost only when `jaro > threshold`. Default `Some(0.7)` as in
    /// Winkler (1990), DuckDB and rapidfuzz; `None` always boosts, as R's
    /// `stringdist` does.
    pub boost_threshold: Option<f64>,
}

impl Default for JwParams {
    fn default() -> Self {
        JwParams {
            prefix_scale: 0.1,
            max_prefix: 4,
            boost_threshold: Some(0.7),
        }
    }
}

/// A string preprocessed once for repeated Jaro / Jaro–Winkler comparisons:
/// its text, its characters (decoded only when non-ASCII), its length in
/// characters and a [`HIST_BUCKETS`]-bucket character histogram used by
/// [`jaro_upper_bound`].
///
/// Build one per distinct value with [`StrProfile::new`]; about 64 bytes plus
/// the text (plus 4 bytes per character for non-ASCII text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrProfile {
    text: Box<str>,
    chars: Box<[char]>,
    ascii: bool,
    saturated: bool,
    len: usize,
    hist: [u8; HIST_BUCKETS],
    /// First `HEAD` characters as code points, padded with `u32::MAX`.
    head: [u32; HEAD],
}

/// Number of leading characters cached in a profile for the prefix check.
const HEAD: usize = 4;

impl StrProfile {
    /// Profile `s` (O(|s|), one allocation for the text, another when `s` is
    /// non-ASCII).
    pub fn new(s: &str) -> Self {
        let ascii = s.is_ascii();
        let chars: Box<[char]> = if ascii {
            Box::default()
        } else {
            s.chars().collect()
        };
        let mut hist = [0u8; HIST_BUCKETS];
        let mut saturated = false;
        let mut bump = |c: u32| {
            let h = &mut hist[c as usize % HIST_BUCKETS];
            *h = h.saturating_add(1);
            saturated |= *h == u8::MAX;
        };
        let len = if ascii {
            s.bytes().for_each(|c| bump(u32::from(c)));
            s.len()
        } else {
            chars.iter().for_each(|&c| bump(u32::from(c)));
            chars.len()
        };
        let mut head = [u32::MAX; HEAD];
        for (h, c) in head.iter_mut().zip(s.chars()) {
            *h = u32::from(c);
        }
        StrProfile {
            head,
            text: s.into(),
            chars,
            ascii,
            saturated,
            len,
            hist,
        }
    }

    /// The profiled text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Length in Unicode scalar values.
    pub fn char_len(&self) -> usize {
        self.len
    }

    /// Whether the text is pure ASCII (byte fast path).
    pub fn is_ascii(&self) -> bool {
        self.ascii
    }
}

/// Jaro similarity in `[0, 1]` (see the module docs for the exact definition
/// and the empty-string convention).
///
/// # References
/// Jaro, JASA 84(406), 1989.
pub fn jaro(a: &str, b: &str) -> f64 {
    if a.is_ascii() && b.is_ascii() {
        jaro_bytes(a.as_bytes(), b.as_bytes())
    } else {
        let (ca, cb) = (CharBuf::new(a), CharBuf::new(b));
        jaro_slices(ca.as_slice(), cb.as_slice())
    }
}

/// Jaro–Winkler similarity in `[0, 1]` with the given [`JwParams`]
/// (use `&JwParams::default()` for the standard p = 0.1, l ≤ 4, threshold 0.7).
///
/// # References
/// Winkler (1990), Proc. Section on Survey Research Methods, ASA.
pub fn jaro_winkler(a: &str, b: &str, params: &JwParams) -> f64 {
    let j = jaro(a, b);
    let l = prefix_len_str(a, b, params.max_prefix);
    jw_from(j, l, params)
}

/// [`jaro`] on precomputed profiles; returns exactly the same value.
///
/// # References
/// Jaro, JASA 84(406), 1989.
pub fn jaro_p(a: &StrProfile, b: &StrProfile) -> f64 {
    match (a.ascii, b.ascii) {
        (true, true) => jaro_bytes(a.text.as_bytes(), b.text.as_bytes()),
        (false, false) => jaro_slices(&a.chars, &b.chars),
        (true, false) => jaro_slices(CharBuf::new(&a.text).as_slice(), &b.chars),
        (false, true) => jaro_slices(&a.chars, CharBuf::new(&b.text).as_slice()),
    }
}

/// [`jaro_winkler`] on precomputed profiles; returns exactly the same value.
///
/// # References
/// Winkler (1990), Proc. Section on Survey Research Methods, ASA.
pub fn jaro_winkler_p(a: &StrProfile, b: &StrProfile, params: &JwParams) -> f64 {
    let j = jaro_p(a, b);
    jw_from(j, prefix_len_p(a, b, params.max_prefix), params)
}

/// Upper bound on [`jaro_p`]: with `U = Σ_bucket min(hist_a, hist_b)` (an
/// upper bound on the number of matching characters `m`, since merging
/// characters into buckets can only increase the sum of minima) and `t ≥ 0`,
/// `jaro ≤ (U/|a| + U/|b| + 1) / 3`, and 0 when `U = 0`. Computed with the
/// same floating-point operations as `jaro`, so `jaro_upper_bound(a, b) >=
/// jaro_p(a, b)` holds exactly. Costs O(`HIST_BUCKETS`), no allocation.
///
/// # References
/// Jaro (1989) for the formula; the bound itself is elementary.
pub fn jaro_upper_bound(a: &StrProfile, b: &StrProfile) -> f64 {
    let (la, lb) = (a.len, b.len);
    if la == 0 || lb == 0 {
        return if la == lb { 1.0 } else { 0.0 };
    }
    finish(common_upper(a, b), 0, la.min(lb), la.max(lb))
}

/// Upper bound on [`jaro_winkler_p`]: the Winkler boost applied to
/// [`jaro_upper_bound`] with the exact common prefix (JW is monotone in Jaro
/// for a fixed prefix; also at least the Jaro bound itself so the boost
/// threshold cannot break it). Never below the true value.
///
/// # References
/// Winkler (1990), Proc. Section on Survey Research Methods, ASA.
pub fn jaro_winkler_upper_bound(a: &StrProfile, b: &StrProfile, params: &JwParams) -> f64 {
    let j = jaro_upper_bound(a, b);
    jw_from(j, prefix_len_p(a, b, params.max_prefix), params).max(j)
}

/// Jaro–Winkler similarity if it is at least `t`, else `None`.
///
/// First runs a division-free form of [`jaro_winkler_upper_bound`] (a few
/// ns): with `J = (U/|a| + U/|b| + 1)/3` and `lp = l·p` for the exact common
/// prefix `l`, always `jw <= lp + (1 − lp)·J`, so the pair is rejected when
/// `(1 − lp)(U(|a|+|b|) + |a||b|) < 3|a||b|(t − lp)` by more than a relative
/// 1e-9 safety margin. Only surviving pairs get the full computation. This
/// never returns `None` for a pair whose [`jaro_winkler_p`] is `>= t`. A NaN
/// `t` yields `None`.
///
/// # References
/// Winkler (1990), Proc. Section on Survey Research Methods, ASA.
pub fn jaro_winkler_at_least(
    a: &StrProfile,
    b: &StrProfile,
    params: &JwParams,
    t: f64,
) -> Option<f64> {
    if t.is_nan() || !may_reach(a, b, params, t) {
        return None;
    }
    let s = jaro_winkler_p(a, b, params);
    (s >= t).then_some(s)
}

/// Upper bound `U` on the number of matching characters.
#[inline]
/// A lower bound on the Levenshtein distance from the character histograms: with at most
/// U = Σ_c min(count_a(c), count_b(c)) characters aligned unchanged, an alignment needs at least
/// max(|a|, |b|) − U edits. Merged histogram buckets only raise U, so the bound stays valid.
pub fn levenshtein_lower_bound(a: &StrProfile, b: &StrProfile) -> usize {
    let u = common_upper(a, b);
    a.len.max(b.len) - u.min(a.len.max(b.len))
}

fn common_upper(a: &StrProfile, b: &StrProfile) -> usize {
    if a.saturated || b.saturated {
        return a.len.min(b.len);
    }
    let half = |h: &[u8; HIST_BUCKETS], i: usize| -> [u8; 16] {
        let mut x = [0u8; 16];
        x.copy_from_slice(&h[16 * i..16 * i + 16]);
        x
    };
    (super::util::sum_min_16(&half(&a.hist, 0), &half(&b.hist, 0))
        + super::util::sum_min_16(&half(&a.hist, 1), &half(&b.hist, 1))) as usize
}

/// Effective prefix weight `l·p` as used by [`jw_from`] (0 when disabled).
#[inline]
fn prefix_weight(l: usize, p: &JwParams) -> f64 {
    let lp = l.min(p.max_prefix) as f64 * p.prefix_scale;
    if lp.is_nan() || lp <= 0.0 {
        0.0
    } else {
        lp.min(1.0)
    }
}

/// Division-free, slightly conservative test of "JW upper bound >= t".
#[inline]
fn may_reach(a: &StrProfile, b: &StrProfile, params: &JwParams, t: f64) -> bool {
    let (la, lb) = (a.len, b.len);
    if la == 0 || lb == 0 {
        return if la == lb { 1.0 >= t } else { 0.0 >= t };
    }
    let u = common_upper(a, b) as f64;
    let lp = prefix_weight(prefix_len_p(a, b, params.max_prefix), params);
    let (fa, fb) = (la as f64, lb as f64);
    let prod = fa * fb;
    let lhs = (1.0 - lp) * (u * (fa + fb) + prod);
    let rhs = 3.0 * prod * (t - lp);
    lhs >= rhs - 1e-9 * rhs.abs()
}

/// Winkler boost of a Jaro value `j` given common prefix length `l`.
#[inline]
fn jw_from(j: f64, l: usize, p: &JwParams) -> f64 {
    if let Some(th) = p.boost_threshold {
        // No boost unless j > th (a NaN threshold disables the boost).
        if j.partial_cmp(&th) != Some(std::cmp::Ordering::Greater) {
            return j;
        }
    }
    let lp = prefix_weight(l, p);
    if lp == 0.0 {
        return j;
    }
    (lp + (1.0 - lp) * j).min(1.0)
}

#[inline]
fn prefix_len_str(a: &str, b: &str, max: usize) -> usize {
    if a.is_ascii() && b.is_ascii() {
        a.bytes()
            .zip(b.bytes())
            .take(max)
            .take_while(|(x, y)| x == y)
            .count()
    } else {
        a.chars()
            .zip(b.chars())
            .take(max)
            .take_while(|(x, y)| x == y)
            .count()
    }
}

#[inline]
fn prefix_len_p(a: &StrProfile, b: &StrProfile, max: usize) -> usize {
    if max <= HEAD {
        // Padding (u32::MAX) is never a char, so it stops the count.
        let mut l = 0;
        while l < max && a.head[l] == b.head[l] && a.head[l] != u32::MAX {
            l += 1;
        }
        l
    } else {
        prefix_len_str(&a.text, &b.text, max)
    }
}

/// `(m/la + m/lb + (m - t)/m) / 3` with `la <= lb`, 0 for `m = 0`.
#[inline]
fn finish(m: usize, t: usize, la: usize, lb: usize) -> f64 {
    if m == 0 {
        return 0.0;
    }
    let mf = m as f64;
    (mf / la as f64 + mf / lb as f64 + (mf - t as f64) / mf) / 3.0
}

/// Put a non-empty, unequal pair in canonical order (shorter first, ties
/// lexicographic); `None` when equal.
#[inline]
fn canonical<'a, T: Ord>(a: &'a [T], b: &'a [T]) -> Option<(&'a [T], &'a [T])> {
    use std::cmp::Ordering::*;
    match a.len().cmp(&b.len()) {
        Less => Some((a, b)),
        Greater => Some((b, a)),
        Equal => match a.cmp(b) {
            Equal => None,
            Less => Some((a, b)),
            Greater => Some((b, a)),
        },
    }
}

/// Bit-parallel greedy matching for ASCII with `|b| <= N <= 64`: same
/// result as the scalar loop in [`jaro_small`] (lowest unmatched position
/// in the window wins).
#[inline(always)]
fn jaro_bits<const N: usize>(a: &[u8], b: &[u8], w: usize) -> f64 {
    let lb = b.len();
    let eq = EqMask::<N>::new(b);
    let valid: u64 = if lb >= 64 { !0 } else { (1u64 << lb) - 1 };
    let mut fa: u64 = 0;
    let mut fb: u64 = 0;
    let mut m = 0usize;
    for (i, &c) in a.iter().enumerate() {
        // window [i - w, i + w] ∩ [0, lb)
        let lo = i.saturating_sub(w);
        let hi = i + w + 1; // exclusive
        let upto = if hi >= 64 { !0u64 } else { (1u64 << hi) - 1 };
        let win = upto & !((1u64 << lo) - 1) & valid;
        let cand = eq.mask(c) & win & !fb;
        // Branchless: match outcomes are unpredictable.
        fb |= cand & cand.wrapping_neg();
        let hit = u64::from(cand != 0);
        fa |= hit << i;
        m += hit as usize;
    }
    if m == 0 {
        return 0.0;
    }
    let mut mismatches = 0usize;
    let (mut x, mut y) = (fa, fb);
    while x != 0 {
        let i = x.trailing_zeros() as usize;
        let j = y.trailing_zeros() as usize;
        mismatches += usize::from(a[i] != b[j]);
        x &= x - 1;
        y &= y - 1;
    }
    finish(m, mismatches / 2, a.len(), lb)
}

/// Jaro on ASCII bytes (bit-parallel for strings up to 64 bytes).
#[inline]
fn jaro_bytes(a: &[u8], b: &[u8]) -> f64 {
    let (la, lb) = (a.len(), b.len());
    if la == 0 || lb == 0 {
        return if la == lb { 1.0 } else { 0.0 };
    }
    let Some((a, b)) = canonical(a, b) else {
        return 1.0;
    };
    let lb = b.len();
    let w = (lb / 2).saturating_sub(1);
    if lb <= 16 {
        jaro_bits::<16>(a, b, w)
    } else if lb <= 32 {
        jaro_bits::<32>(a, b, w)
    } else if lb <= 64 {
        jaro_bits::<64>(a, b, w)
    } else {
        jaro_large(a, b, w)
    }
}

/// Shared Jaro core over bytes or chars.
#[inline]
fn jaro_slices<T: Copy + Ord>(a: &[T], b: &[T]) -> f64 {
    let (la, lb) = (a.len(), b.len());
    if la == 0 || lb == 0 {
        return if la == lb { 1.0 } else { 0.0 };
    }
    // Canonical order: shorter first, ties lexicographic (symmetry).
    let Some((a, b)) = canonical(a, b) else {
        return 1.0;
    };
    let lb = b.len();
    let w = (lb / 2).saturating_sub(1);
    if lb <= 64 {
        jaro_small(a, b, w)
    } else {
        jaro_large(a, b, w)
    }
}

/// Both lengths <= 64: match flags are bitmasks in registers.
#[inline]
fn jaro_small<T: Copy + Eq>(a: &[T], b: &[T], w: usize) -> f64 {
    let lb = b.len();
    let mut fa: u64 = 0;
    let mut fb: u64 = 0;
    let mut m = 0usize;
    for (i, &c) in a.iter().enumerate() {
        let lo = i.saturating_sub(w);
        let hi = (i + w + 1).min(lb);
        if let Some(off) = b[lo..hi]
            .iter()
            .enumerate()
            .position(|(o, &x)| fb & (1u64 << (lo + o)) == 0 && x == c)
        {
            fb |= 1u64 << (lo + off);
            fa |= 1u64 << i;
            m += 1;
        }
    }
    if m == 0 {
        return 0.0;
    }
    let mut mismatches = 0usize;
    let (mut x, mut y) = (fa, fb);
    while x != 0 {
        let i = x.trailing_zeros() as usize;
        let j = y.trailing_zeros() as usize;
        mismatches += usize::from(a[i] != b[j]);
        x &= x - 1;
        y &= y - 1;
    }
    finish(m, mismatches / 2, a.len(), lb)
}

/// General path with heap flags (strings longer than 64 characters).
fn jaro_large<T: Copy + Eq>(a: &[T], b: &[T], w: usize) -> f64 {
    let lb = b.len();
    let mut fb = vec![false; lb];
    let mut matched_a: Vec<T> = Vec::new();
    for (i, &c) in a.iter().enumerate() {
        let lo = i.saturating_sub(w);
        let hi = i.saturating_add(w).saturating_add(1).min(lb);
        if lo >= hi {
            continue;
        }
        if let Some(off) = b[lo..hi]
            .iter()
            .zip(&fb[lo..hi])
            .position(|(&x, &f)| !f && x == c)
        {
            fb[lo + off] = true;
            matched_a.push(c);
        }
    }
    let m = matched_a.len();
    if m == 0 {
        return 0.0;
    }
    let mismatches = b
        .iter()
        .zip(&fb)
        .filter(|(_, f)| **f)
        .zip(&matched_a)
        .filter(|((x, _), y)| *x != *y)
        .count();
    finish(m, mismatches / 2, a.len(), lb)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::testutil::{SAMPLES, check_similarity};
    use proptest::prelude::*;

    fn close(x: f64, y: f64) -> bool {
        (x - y).abs() < 5e-5
    }

    fn jw(a: &str, b: &str) -> f64 {
        jaro_winkler(a, b, &JwParams::default())
    }

    #[test]
    fn published_values() {
        // Winkler (1990) / Wikipedia "Jaro–Winkler distance" examples.
        assert!(close(jaro("MARTHA", "MARHTA"), 0.9444));
        assert!(close(jw("MARTHA", "MARHTA"), 0.9611));
        assert!(close(jaro("DWAYNE", "DUANE"), 0.8222));
        assert!(close(jw("DWAYNE", "DUANE"), 0.84));
        assert!(close(jaro("DIXON", "DICKSONX"), 0.7667));
        assert!(close(jw("DIXON", "DICKSONX"), 0.8133));
        // CRATE/TRACE: m = 3 (R, A, E), t = 0, no common prefix.
        assert!(close(jaro("CRATE", "TRACE"), 0.7333));
        assert!(close(jw("CRATE", "TRACE"), 0.7333));
        // JONES/JOHNSON: m = 4, t = 0, l = 2 (Winkler 1990 table: 0.832).
        assert!(close(jaro("JONES", "JOHNSON"), 0.7905));
        assert!(close(jw("JONES", "JOHNSON"), 0.8324));
        // rapidfuzz / jellyfish examples.
        assert!(close(jaro("abc", "abc"), 1.0));
        assert_eq!(jaro("abc", "xyz"), 0.0);
        assert!(close(jaro("DIXON", "DICKSONX"), 23.0 / 30.0));
    }

    #[test]
    fn threshold_variants() {
        // Below 0.7 no boost with the default; R stringdist style boosts.
        let a = "ABCDEFGH";
        let b = "ABXXXXXX";
        let j = jaro(a, b);
        assert!(j < 0.7);
        assert_eq!(jw(a, b), j);
        let r = JwParams {
            boost_threshold: None,
            ..JwParams::default()
        };
        assert!(close(jaro_winkler(a, b, &r), j + 0.2 * (1.0 - j)));
    }

    #[test]
    fn invariants() {
        check_similarity("jaro", jaro);
        check_similarity("jaro_winkler", jw);
        check_similarity("jaro_p", |a, b| {
            jaro_p(&StrProfile::new(a), &StrProfile::new(b))
        });
        let p = JwParams::default();
        for &a in SAMPLES {
            for &b in SAMPLES {
                let (pa, pb) = (StrProfile::new(a), StrProfile::new(b));
                assert!(jaro_upper_bound(&pa, &pb) >= jaro(a, b));
                assert!(jaro_winkler_upper_bound(&pa, &pb, &p) >= jw(a, b));
            }
        }
        assert_eq!(jaro("Zoë", "Zoe"), jaro("Zoé", "Zoe"));
        assert!(close(jaro("Zoë", "Zoe"), 7.0 / 9.0));
    }

    #[test]
    fn huge_bounded_is_fast() {
        let big = "abcdefghij".repeat(1_000_000);
        let (pa, pb) = (StrProfile::new(&big), StrProfile::new("Zoë"));
        let t = std::time::Instant::now();
        for _ in 0..1000 {
            assert_eq!(
                jaro_winkler_at_least(&pa, &pb, &JwParams::default(), 0.8),
                None
            );
        }
        assert!(t.elapsed().as_secs_f64() < 1.0);
        // Saturated histogram still gives a valid bound.
        assert!(jaro_upper_bound(&pa, &pa) >= 1.0);
    }

    #[test]
    fn at_least_basic() {
        let p = JwParams::default();
        let (a, b) = (StrProfile::new("MARTHA"), StrProfile::new("MARHTA"));
        assert!(close(
            jaro_winkler_at_least(&a, &b, &p, 0.9).unwrap_or(0.0),
            0.9611
        ));
        assert_eq!(jaro_winkler_at_least(&a, &b, &p, 0.97), None);
        assert_eq!(jaro_winkler_at_least(&a, &b, &p, f64::NAN), None);
        let c = StrProfile::new("XYZQWV");
        assert_eq!(jaro_upper_bound(&a, &c), 0.0);
        assert_eq!(jaro_winkler_at_least(&a, &c, &p, 0.1), None);
    }

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            "[A-Za-z]{0,12}",
            "[aeiouAEIOU ]{0,10}",
            "\\PC{0,10}",
            "[aé東😀b]{0,8}",
            "[ab]{60,70}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn prop_symmetric(a in name(), b in name()) {
            let p = JwParams::default();
            prop_assert_eq!(jaro(&a, &b), jaro(&b, &a));
            prop_assert_eq!(jaro_winkler(&a, &b, &p), jaro_winkler(&b, &a, &p));
        }

        #[test]
        fn prop_bounds_and_profiles(a in name(), b in name(), thr in proptest::option::of(0.0f64..1.0), t in 0.0f64..1.0) {
            let p = JwParams { boost_threshold: thr, ..JwParams::default() };
            let (pa, pb) = (StrProfile::new(&a), StrProfile::new(&b));
            let j = jaro(&a, &b);
            let s = jaro_winkler(&a, &b, &p);
            prop_assert_eq!(j.to_bits(), jaro_p(&pa, &pb).to_bits());
            prop_assert_eq!(s.to_bits(), jaro_winkler_p(&pa, &pb, &p).to_bits());
            prop_assert!((0.0..=1.0).contains(&s));
            prop_assert!(s >= j);
            prop_assert!(jaro_upper_bound(&pa, &pb) >= j);
            prop_assert!(jaro_winkler_upper_bound(&pa, &pb, &p) >= s);
            prop_assert_eq!(jaro_winkler_at_least(&pa, &pb, &p, t), (s >= t).then_some(s));
            prop_assert_eq!(jaro_winkler_at_least(&pa, &pb, &p, s), Some(s));
        }

        #[test]
        fn prop_bits_equals_scalar(a in "[a-e]{0,70}", b in "[a-e]{0,70}") {
            prop_assert_eq!(
                jaro_bytes(a.as_bytes(), b.as_bytes()).to_bits(),
                jaro_slices(a.as_bytes(), b.as_bytes()).to_bits()
            );
        }

        #[test]
        fn prop_near_identical_bound(a in "[a-d]{1,12}", i in 0usize..12, c in "[a-e]") {
            // Small edits keep the bound tight-ish and must never undercut.
            let mut chars: Vec<char> = a.chars().collect();
            let k = i % chars.len();
            chars[k] = c.chars().next().unwrap_or('a');
            let b: String = chars.into_iter().collect();
            let p = JwParams::default();
            let (pa, pb) = (StrProfile::new(&a), StrProfile::new(&b));
            prop_assert!(jaro_winkler_upper_bound(&pa, &pb, &p) >= jaro_winkler(&a, &b, &p));
        }
    }

    /// xorshift64* generator for the benchmark.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Random name-like strings (syllables, 4–12 letters) plus typo variants.
    pub(crate) fn bench_names(n: usize) -> Vec<String> {
        const SYL: &[&str] = &[
            "an", "ber", "chri", "da", "el", "fer", "ga", "han", "is", "jo", "ka", "li", "mar",
            "ne", "o", "pe", "qui", "ro", "sa", "ta", "u", "vi", "wil", "xa", "yo", "zen", "son",
            "ley", "th", "ine",
        ];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let mut s = String::new();
            let k = 2 + rng.below(3);
            for _ in 0..k {
                s.push_str(SYL[rng.below(SYL.len())]);
            }
            let mut s: String = s.chars().take(12).collect();
            s = s.to_uppercase();
            out.push(s.clone());
            // typo variant: substitute one letter
            let mut v: Vec<u8> = s.into_bytes();
            let i = rng.below(v.len());
            v[i] = b'A' + rng.below(26) as u8;
            out.push(String::from_utf8_lossy(&v).into_owned());
        }
        out
    }

    #[test]
    #[ignore = "benchmark; run with --release -- --ignored --nocapture"]
    fn bench_jaro_winkler() {
        use std::hint::black_box;
        use std::time::Instant;
        let names = bench_names(4096);
        let profs: Vec<StrProfile> = names.iter().map(|s| StrProfile::new(s)).collect();
        let p = JwParams::default();
        let n = 1_000_000usize;
        let mut rng = Rng(42);
        let pairs: Vec<(usize, usize)> = (0..n)
            .map(|_| (rng.below(names.len()), rng.below(names.len())))
            .collect();
        // adjacent pairs (original, typo) for a realistic "similar" workload
        let sim_pairs: Vec<(usize, usize)> = (0..n)
            .map(|i| ((2 * i) % 4096, (2 * i) % 4096 + 1))
            .collect();

        let ns = |t: Instant, k: usize| t.elapsed().as_nanos() as f64 / k as f64;

        // Cache-hot: 64 profiles only (isolates compute from memory latency).
        let hot: Vec<(usize, usize)> = pairs.iter().map(|&(i, j)| (i % 64, j % 64)).collect();
        let t = Instant::now();
        let mut acc = 0.0;
        for &(i, j) in &hot {
            acc += jaro_winkler_p(black_box(&profs[i]), black_box(&profs[j]), &p);
        }
        println!(
            "jaro_winkler_p hot (64 values):     {:6.1} ns/pair ({acc:.1})",
            ns(t, n)
        );
        let t = Instant::now();
        let mut acc = 0.0;
        for &(i, j) in &hot {
            acc += jaro_winkler_upper_bound(black_box(&profs[i]), black_box(&profs[j]), &p);
        }
        println!(
            "jw_upper_bound hot (64 values):     {:6.1} ns/pair ({acc:.1})",
            ns(t, n)
        );
        let t = Instant::now();
        let mut acc = 0usize;
        for &(i, j) in &hot {
            acc += crate::compare::levenshtein::levenshtein(
                black_box(&names[i]),
                black_box(&names[j]),
            );
        }
        println!(
            "levenshtein hot (64 values):        {:6.1} ns/pair ({acc})",
            ns(t, n)
        );

        let t = Instant::now();
        let mut acc = 0.0;
        for &(i, j) in &pairs {
            acc += jaro_winkler(black_box(&names[i]), black_box(&names[j]), &p);
        }
        println!(
            "jaro_winkler(&str) random pairs:   {:6.1} ns/pair ({acc:.1})",
            ns(t, n)
        );

        let t = Instant::now();
        let mut acc = 0.0;
        for &(i, j) in &pairs {
            acc += jaro_winkler_p(black_box(&profs[i]), black_box(&profs[j]), &p);
        }
        println!(
            "jaro_winkler_p random pairs:        {:6.1} ns/pair ({acc:.1})",
            ns(t, n)
        );

        let t = Instant::now();
        let mut acc = 0.0;
        for &(i, j) in &sim_pairs {
            acc += jaro_winkler_p(black_box(&profs[i]), black_box(&profs[j]), &p);
        }
        println!(
            "jaro_winkler_p similar pairs:       {:6.1} ns/pair ({acc:.1})",
            ns(t, n)
        );

        let t = Instant::now();
        let mut acc = 0.0;
        for &(i, j) in &pairs {
            acc += jaro_winkler_upper_bound(black_box(&profs[i]), black_box(&profs[j]), &p);
        }
        println!(
            "jaro_winkler_upper_bound:           {:6.1} ns/pair ({acc:.1})",
            ns(t, n)
        );

        let rejected: Vec<(usize, usize)> = pairs
            .iter()
            .copied()
            .filter(|&(i, j)| jaro_winkler_upper_bound(&profs[i], &profs[j], &p) < 0.9)
            .collect();
        let t = Instant::now();
        let mut hits = 0usize;
        for &(i, j) in &rejected {
            hits += usize::from(
                jaro_winkler_at_least(black_box(&profs[i]), black_box(&profs[j]), &p, 0.9)
                    .is_some(),
            );
        }
        println!(
            "at_least(0.9) bound-rejected pairs: {:6.1} ns/pair ({} of {n} random pairs rejected by bound, hits {hits})",
            ns(t, rejected.len().max(1)),
            rejected.len()
        );

        let t = Instant::now();
        let mut hits = 0usize;
        for &(i, j) in &pairs {
            hits += usize::from(
                jaro_winkler_at_least(black_box(&profs[i]), black_box(&profs[j]), &p, 0.9)
                    .is_some(),
            );
        }
        println!(
            "at_least(0.9) all random pairs:     {:6.1} ns/pair (hits {hits})",
            ns(t, n)
        );

        let t = Instant::now();
        let mut acc = 0usize;
        for &(i, j) in &pairs {
            acc += crate::compare::levenshtein::levenshtein(
                black_box(&names[i]),
                black_box(&names[j]),
            );
        }
        println!(
            "levenshtein random pairs:           {:6.1} ns/pair ({acc})",
            ns(t, n)
        );

        let t = Instant::now();
        let mut acc = 0usize;
        for &(i, j) in &pairs {
            acc += crate::compare::levenshtein::levenshtein_within(
                black_box(&names[i]),
                black_box(&names[j]),
                2,
            )
            .unwrap_or(9);
        }
        println!(
            "levenshtein_within(k=2) random:     {:6.1} ns/pair ({acc})",
            ns(t, n)
        );

        let t = Instant::now();
        let mut acc = 0usize;
        for &(i, j) in &sim_pairs {
            acc += crate::compare::levenshtein::levenshtein(
                black_box(&names[i]),
                black_box(&names[j]),
            );
        }
        println!(
            "levenshtein similar pairs:          {:6.1} ns/pair ({acc})",
            ns(t, n)
        );
    }
}
