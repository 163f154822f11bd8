//! TEMPORARY shim.
/// JW params.
#[derive(Debug, Clone, Copy)]
pub struct JwParams {
    /// p
    pub prefix_scale: f64,
    /// l
    pub max_prefix: usize,
    /// boost
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
/// Profile.
#[derive(Debug, Clone)]
pub struct StrProfile {
    s: String,
}
impl StrProfile {
    /// New.
    pub fn new(s: &str) -> Self {
        StrProfile { s: s.to_string() }
    }
}
/// jaro
pub fn jaro_p(a: &StrProfile, b: &StrProfile) -> f64 {
    strsim::jaro(&a.s, &b.s)
}
/// jw
pub fn jaro_winkler_p(a: &StrProfile, b: &StrProfile, _p: &JwParams) -> f64 {
    strsim::jaro_winkler(&a.s, &b.s)
}
/// jw at least
pub fn jaro_winkler_at_least(a: &StrProfile, b: &StrProfile, p: &JwParams, t: f64) -> Option<f64> {
    let s = jaro_winkler_p(a, b, p);
    (s >= t).then_some(s)
}
/// jaro at least
pub fn jaro_at_least(a: &StrProfile, b: &StrProfile, t: f64) -> Option<f64> {
    let s = jaro_p(a, b);
    (s >= t).then_some(s)
}
