//! Numeric comparison helpers.

/// Absolute difference `|a - b|` (same units as the inputs). NaN if either
/// input is NaN; `inf` for opposite infinities.
pub fn abs_diff(a: f64, b: f64) -> f64 {
    (a - b).abs()
}

/// Relative difference `|a - b| / max(|a|, |b|)`, in `[0, 2]` for finite
/// inputs (2 when the signs are opposite and magnitudes equal); 0.0 when
/// both are 0. NaN if either input is NaN or both are infinite.
pub fn rel_diff(a: f64, b: f64) -> f64 {
    let denom = a.abs().max(b.abs());
    if denom == 0.0 {
        return if a.is_nan() || b.is_nan() {
            f64::NAN
        } else {
            0.0
        };
    }
    (a - b).abs() / denom
}

/// Parse a decimal number after trimming surrounding whitespace, using Rust's
/// `f64` grammar (`"12"`, `"-3.5"`, `"1e3"`, `".5"`). Returns `None` for
/// empty input, anything unparsable, and for NaN or infinite values
/// (`"nan"`, `"inf"`, `"1e999"`). No thousands separators or currency signs.
pub fn parse_number(s: &str) -> Option<f64> {
    let v: f64 = s.trim().parse().ok()?;
    v.is_finite().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(abs_diff(3.0, 5.5), 2.5);
        assert_eq!(rel_diff(0.0, 0.0), 0.0);
        assert_eq!(rel_diff(-0.0, 0.0), 0.0);
        assert_eq!(rel_diff(10.0, 8.0), 0.2);
        assert_eq!(rel_diff(8.0, 10.0), 0.2);
        assert_eq!(rel_diff(-1.0, 1.0), 2.0);
        assert!(rel_diff(f64::NAN, 0.0).is_nan());
        assert!(rel_diff(0.0, f64::NAN).is_nan());
        assert_eq!(parse_number(" 12.5 "), Some(12.5));
        assert_eq!(parse_number("-3"), Some(-3.0));
        assert_eq!(parse_number("1e3"), Some(1000.0));
        assert_eq!(parse_number("NaN"), None);
        assert_eq!(parse_number("inf"), None);
        assert_eq!(parse_number("-infinity"), None);
        assert_eq!(parse_number("1e999"), None);
        assert_eq!(parse_number(""), None);
        assert_eq!(parse_number("12abc"), None);
        assert_eq!(parse_number("１２"), None);
    }
}
