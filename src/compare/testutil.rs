//! Shared invariant checks for the string comparators (test-only).

/// Pairs exercising empty strings, ASCII, accents, CJK and emoji.
pub(crate) const SAMPLES: &[&str] = &[
    "",
    "a",
    "MARTHA",
    "MARHTA",
    "Zoë",
    "Zoe",
    "Zoe\u{0308}",
    "東京都",
    "京都",
    "😀😃😄",
    "😀",
    "a😀b",
    "  spaced  out ",
    "O'Brien-Smith",
    "ß",
    "ss",
];

fn ten_mb() -> String {
    "abcdefghij".repeat(1_000_000)
}

/// Check a similarity in [0, 1]: symmetry, identity = 1, range, empty-string
/// conventions (both empty = 1, one empty = 0), Unicode, and that a 10 MB
/// input against a short one does not panic.
pub(crate) fn check_similarity(name: &str, f: impl Fn(&str, &str) -> f64) {
    for &a in SAMPLES {
        assert_eq!(f(a, a), 1.0, "{name}: identity for {a:?}");
        for &b in SAMPLES {
            let s = f(a, b);
            assert!((0.0..=1.0).contains(&s), "{name}({a:?},{b:?}) = {s}");
            assert_eq!(s, f(b, a), "{name}: symmetry for {a:?},{b:?}");
            if a.is_empty() != b.is_empty() {
                assert_eq!(s, 0.0, "{name}: one empty {a:?},{b:?}");
            }
        }
    }
    assert_eq!(f("", ""), 1.0, "{name}: both empty");
    let big = ten_mb();
    let s = f(&big, "abc");
    assert!((0.0..=1.0).contains(&s), "{name}: 10MB");
    let s = f("Zoë", &big);
    assert!((0.0..=1.0).contains(&s), "{name}: 10MB");
}

/// Check a distance: symmetry, identity = 0, empty vs s = char count of s,
/// Unicode, and that a 10 MB input against a short one does not panic.
pub(crate) fn check_distance(name: &str, f: impl Fn(&str, &str) -> usize) {
    for &a in SAMPLES {
        assert_eq!(f(a, a), 0, "{name}: identity for {a:?}");
        assert_eq!(f(a, ""), a.chars().count(), "{name}: vs empty {a:?}");
        for &b in SAMPLES {
            let d = f(a, b);
            assert_eq!(d, f(b, a), "{name}: symmetry for {a:?},{b:?}");
            let max = a.chars().count().max(b.chars().count());
            assert!(d <= max, "{name}({a:?},{b:?}) = {d} > {max}");
            if a != b {
                assert!(d > 0, "{name}: distinct {a:?},{b:?} at distance 0");
            }
        }
    }
    assert_eq!(f("Zoë", "Zoe"), 1, "{name}: Zoë/Zoe");
    let big = ten_mb();
    assert_eq!(f(&big, "abc"), big.len() - 3, "{name}: 10MB");
    assert_eq!(f(&big, &big), 0, "{name}: 10MB identity");
}
