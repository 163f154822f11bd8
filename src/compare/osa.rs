//! TEMPORARY shim.
/// osa
pub fn osa_distance(a: &str, b: &str) -> usize {
    strsim::osa_distance(a, b)
}
/// osa within
pub fn osa_within(a: &str, b: &str, k: usize) -> Option<usize> {
    let d = osa_distance(a, b);
    (d <= k).then_some(d)
}
