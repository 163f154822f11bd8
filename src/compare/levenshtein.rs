//! TEMPORARY shim.
/// lev
pub fn levenshtein(a: &str, b: &str) -> usize {
    strsim::levenshtein(a, b)
}
/// lev within
pub fn levenshtein_within(a: &str, b: &str, k: usize) -> Option<usize> {
    let d = levenshtein(a, b);
    (d <= k).then_some(d)
}
