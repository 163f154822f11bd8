//! TEMPORARY shim.
/// fmt
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateFormat {
    /// ymd
    Ymd,
}
impl std::str::FromStr for DateFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "%Y%m%d" {
            Ok(DateFormat::Ymd)
        } else {
            Err(s.into())
        }
    }
}
/// parse
pub fn parse_date(s: &str, _f: DateFormat) -> Option<i32> {
    if s.len() != 8 {
        return None;
    }
    let y: i32 = s[0..4].parse().ok()?;
    let m: i32 = s[4..6].parse().ok()?;
    let d: i32 = s[6..8].parse().ok()?;
    Some(y * 372 + m * 31 + d)
}
