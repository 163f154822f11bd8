//! TEMPORARY shim.
/// jaccard
pub fn jaccard_qgrams(a: &str, b: &str, _q: usize) -> f64 {
    if a == b {
        1.0
    } else {
        0.0
    }
}
