//! TEMPORARY shim.
/// parse
pub fn parse_number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}
/// abs
pub fn abs_diff(a: f64, b: f64) -> f64 {
    (a - b).abs()
}
/// rel
pub fn rel_diff(a: f64, b: f64) -> f64 {
    let m = a.abs().max(b.abs());
    if m == 0.0 {
        0.0
    } else {
        (a - b).abs() / m
    }
}
