//! Jaccard similarity of character q-gram sets.
//!
//! # References
//! P. Jaccard, "Étude comparative de la distribution florale dans une portion
//! des Alpes et du Jura", Bull. Soc. Vaudoise Sci. Nat. 37, 1901;
//! E. Ukkonen, "Approximate string-matching with q-grams and maximal
//! matches", Theoretical Computer Science 92, 1992 (q-gram profiles).

use crate::compare::util::CharBuf;

/// Jaccard similarity `|G(a) ∩ G(b)| / |G(a) ∪ G(b)|` of the *sets* of
/// character q-grams (Unicode scalar values, duplicates counted once).
///
/// Conventions:
/// * no padding: "abc" with q = 2 has grams {"ab", "bc"} (Splink/R
///   `stringdist` style, no start/end markers);
/// * a non-empty string shorter than `q` is a single gram (the whole
///   string), so two such strings score 1.0 if equal and 0.0 otherwise, and
///   0.0 against any string of length ≥ q;
/// * both empty ⇒ 1.0; exactly one empty ⇒ 0.0;
/// * `q = 0` is treated as `q = 1`.
///
/// O((|a| + |b|) log) time; allocates the gram lists. ASCII with q ≤ 8 and
/// non-ASCII with q ≤ 3 pack each gram into a `u64`.
///
/// # References
/// Jaccard (1901); Ukkonen (1992).
pub fn jaccard_qgrams(a: &str, b: &str, q: usize) -> f64 {
    let q = q.max(1);
    if a.is_ascii() && b.is_ascii() {
        jaccard_slices(a.as_bytes(), b.as_bytes(), q, 8, |g| {
            g.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
        })
    } else {
        let (ca, cb) = (CharBuf::new(a), CharBuf::new(b));
        jaccard_slices(ca.as_slice(), cb.as_slice(), q, 3, |g| {
            g.iter().fold(0u64, |acc, &x| (acc << 21) | u64::from(x))
        })
    }
}

fn jaccard_slices<T: Ord + Copy>(
    a: &[T],
    b: &[T],
    q: usize,
    max_packed_q: usize,
    pack: impl Fn(&[T]) -> u64,
) -> f64 {
    if a.is_empty() || b.is_empty() {
        return if a.len() == b.len() { 1.0 } else { 0.0 };
    }
    if a.len() < q || b.len() < q {
        // At least one side is a single whole-string gram shorter than q:
        // it can only equal the other side's single gram.
        return if a == b { 1.0 } else { 0.0 };
    }
    if q <= max_packed_q {
        let mut ga: Vec<u64> = a.windows(q).map(&pack).collect();
        let mut gb: Vec<u64> = b.windows(q).map(&pack).collect();
        set_jaccard(&mut ga, &mut gb)
    } else {
        let mut ga: Vec<&[T]> = a.windows(q).collect();
        let mut gb: Vec<&[T]> = b.windows(q).collect();
        set_jaccard(&mut ga, &mut gb)
    }
}

/// Sort, dedup and merge-count two gram lists.
fn set_jaccard<G: Ord>(ga: &mut Vec<G>, gb: &mut Vec<G>) -> f64 {
    ga.sort_unstable();
    ga.dedup();
    gb.sort_unstable();
    gb.dedup();
    let (mut i, mut j, mut inter) = (0, 0, 0usize);
    while i < ga.len() && j < gb.len() {
        match ga[i].cmp(&gb[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                inter += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = ga.len() + gb.len() - inter;
    if union == 0 {
        return 1.0;
    }
    inter as f64 / union as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::testutil::check_similarity;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        // {ni, ig, gh, ht} vs {na, ac, ch, ht}: 1 / 7
        assert!((jaccard_qgrams("night", "nacht", 2) - 1.0 / 7.0).abs() < 1e-12);
        assert_eq!(jaccard_qgrams("abc", "abc", 2), 1.0);
        // {ab, bc} vs {ab, bd}: 1/3
        assert!((jaccard_qgrams("abc", "abd", 2) - 1.0 / 3.0).abs() < 1e-12);
        // sets: "aaaa" -> {aa}, "aa" -> {aa}
        assert_eq!(jaccard_qgrams("aaaa", "aa", 2), 1.0);
        assert_eq!(jaccard_qgrams("a", "a", 3), 1.0);
        assert_eq!(jaccard_qgrams("a", "b", 3), 0.0);
        assert_eq!(jaccard_qgrams("ab", "abc", 3), 0.0);
        assert_eq!(jaccard_qgrams("", "", 2), 1.0);
        assert_eq!(jaccard_qgrams("", "a", 2), 0.0);
        assert_eq!(jaccard_qgrams("ab", "ba", 0), 1.0);
        // {Zo, oë} vs {Zo, oe}: 1/3
        assert!((jaccard_qgrams("Zoë", "Zoe", 2) - 1.0 / 3.0).abs() < 1e-12);
        assert!((jaccard_qgrams("東京都", "京都", 2) - 0.5).abs() < 1e-12);
        assert!((jaccard_qgrams("abcdefghijk", "abcdefghijx", 10) - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn invariants() {
        for q in [1, 2, 3, 4, 9] {
            check_similarity("jaccard_qgrams", |a, b| jaccard_qgrams(a, b, q));
        }
    }

    proptest! {
        #[test]
        fn prop_symmetric_and_range(a in "\\PC{0,12}", b in "\\PC{0,12}", q in 0usize..5) {
            let s = jaccard_qgrams(&a, &b, q);
            prop_assert_eq!(s, jaccard_qgrams(&b, &a, q));
            prop_assert!((0.0..=1.0).contains(&s));
        }

        #[test]
        fn prop_packed_equals_slices(a in "[a-c😀]{0,10}", b in "[a-c😀]{0,10}", q in 1usize..4) {
            // Packed (u64) and unpacked (slice) paths agree.
            let ca: Vec<char> = a.chars().collect();
            let cb: Vec<char> = b.chars().collect();
            let packed = jaccard_slices(&ca, &cb, q, 3, |g| {
                g.iter().fold(0u64, |acc, &x| (acc << 21) | u64::from(x))
            });
            let plain = jaccard_slices(&ca, &cb, q, 0, |_| 0);
            prop_assert_eq!(packed, plain);
        }
    }
}
