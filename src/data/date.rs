//! Date parsing to day numbers and date differences, and writing dates in a format, without
//! external crates.
//!
//! # References
//! H. Hinnant, "chrono-Compatible Low-Level Date Algorithms"
//! (`days_from_civil`), <https://howardhinnant.github.io/date_algorithms.html>.

use std::fmt;
use std::str::FromStr;

/// Supported textual date layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DateFormat {
    /// `YYYYMMDD`, exactly 8 digits (`"%Y%m%d"`, name `"ymd"`).
    Ymd,
    /// `YYYY-MM-DD` (`"%Y-%m-%d"`, name `"iso"`); month and day 1–2 digits.
    IsoDash,
    /// `DD/MM/YYYY` (`"%d/%m/%Y"`, name `"dmy"`); day and month 1–2 digits.
    Dmy,
    /// `MM/DD/YYYY` (`"%m/%d/%Y"`, name `"mdy"`); month and day 1–2 digits.
    Mdy,
}

/// Error returned when a [`DateFormat`] name is not recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownDateFormat(pub String);

impl fmt::Display for UnknownDateFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown date format {:?} (expected %Y%m%d, %Y-%m-%d, %d/%m/%Y, %m/%d/%Y, ymd, iso, dmy or mdy)",
            self.0
        )
    }
}

impl std::error::Error for UnknownDateFormat {}

impl FromStr for DateFormat {
    type Err = UnknownDateFormat;

    /// Accepts the strftime patterns `"%Y%m%d"`, `"%Y-%m-%d"`, `"%d/%m/%Y"`,
    /// `"%m/%d/%Y"` or the names `"ymd"`, `"iso"`, `"dmy"`, `"mdy"` (names
    /// case-insensitive, surrounding whitespace ignored).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        match t {
            "%Y%m%d" => return Ok(DateFormat::Ymd),
            "%Y-%m-%d" => return Ok(DateFormat::IsoDash),
            "%d/%m/%Y" => return Ok(DateFormat::Dmy),
            "%m/%d/%Y" => return Ok(DateFormat::Mdy),
            _ => {}
        }
        match t.to_ascii_lowercase().as_str() {
            "ymd" => Ok(DateFormat::Ymd),
            "iso" => Ok(DateFormat::IsoDash),
            "dmy" => Ok(DateFormat::Dmy),
            "mdy" => Ok(DateFormat::Mdy),
            _ => Err(UnknownDateFormat(s.to_string())),
        }
    }
}

/// Whether `y` is a leap year in the proleptic Gregorian calendar.
pub fn is_leap_year(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Number of days in month `m` (1–12) of year `y`; 0 for an invalid month.
pub fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of the proleptic Gregorian date `y-m-d`, or `None`
/// if the month or day is out of range (leap years honoured).
///
/// # References
/// H. Hinnant, `days_from_civil`, "chrono-Compatible Low-Level Date
/// Algorithms".
pub fn days_from_civil(y: i32, m: u32, d: u32) -> Option<i32> {
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // [0, 399]
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 }; // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    i32::try_from(era * 146_097 + doe - 719_468).ok()
}

/// Parse `s` (surrounding whitespace ignored) in format `f` to days since
/// 1970-01-01 (proleptic Gregorian). Years must be exactly 4 digits; `Ymd`
/// needs exactly 8 digits; the other formats accept 1–2 digit month/day.
/// Returns `None` on any malformed or impossible date (e.g. 2023-02-29).
///
/// # References
/// Hinnant, `days_from_civil` (see [`days_from_civil`]).
pub fn parse_date(s: &str, f: DateFormat) -> Option<i32> {
    let (y, m, d) = parse_civil(s, f)?;
    days_from_civil(y, m, d)
}

/// Parse `s` in format `f` to a valid proleptic Gregorian (year, month, day), with the rules of
/// [`parse_date`]; `None` when malformed or impossible.
pub fn parse_civil(s: &str, f: DateFormat) -> Option<(i32, u32, u32)> {
    let s = s.trim();
    let (y, m, d) = match f {
        DateFormat::Ymd => {
            let b = s.as_bytes();
            if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) {
                return None;
            }
            (
                num(&s[0..4], 4, 4)?,
                num(&s[4..6], 2, 2)?,
                num(&s[6..8], 2, 2)?,
            )
        }
        DateFormat::IsoDash => {
            let mut it = s.split('-');
            let y = num(it.next()?, 4, 4)?;
            let m = num(it.next()?, 1, 2)?;
            let d = num(it.next()?, 1, 2)?;
            if it.next().is_some() {
                return None;
            }
            (y, m, d)
        }
        DateFormat::Dmy | DateFormat::Mdy => {
            let mut it = s.split('/');
            let p1 = num(it.next()?, 1, 2)?;
            let p2 = num(it.next()?, 1, 2)?;
            let y = num(it.next()?, 4, 4)?;
            if it.next().is_some() {
                return None;
            }
            if f == DateFormat::Dmy {
                (y, p2, p1)
            } else {
                (y, p1, p2)
            }
        }
    };
    let y = i32::try_from(y).ok()?;
    days_from_civil(y, m, d)?;
    Some((y, m, d))
}

/// Writes the date (`y`, `m`, `d`) in format `f` with zero-padded fields (`19860125`,
/// `1986-01-25`, `25/01/1986`, `01/25/1986`), the form [`parse_date`] reads back.
pub fn format_civil(y: i32, m: u32, d: u32, f: DateFormat) -> String {
    match f {
        DateFormat::Ymd => format!("{y:04}{m:02}{d:02}"),
        DateFormat::IsoDash => format!("{y:04}-{m:02}-{d:02}"),
        DateFormat::Dmy => format!("{d:02}/{m:02}/{y:04}"),
        DateFormat::Mdy => format!("{m:02}/{d:02}/{y:04}"),
    }
}

impl DateFormat {
    /// The strftime pattern of the format, e.g. `%d/%m/%Y`.
    pub fn pattern(self) -> &'static str {
        match self {
            DateFormat::Ymd => "%Y%m%d",
            DateFormat::IsoDash => "%Y-%m-%d",
            DateFormat::Dmy => "%d/%m/%Y",
            DateFormat::Mdy => "%m/%d/%Y",
        }
    }
}

/// Parse an all-ASCII-digit field of `min..=max` digits.
fn num(s: &str, min: usize, max: usize) -> Option<u32> {
    if s.len() < min || s.len() > max || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Signed difference `a - b` in days between two values from
/// [`parse_date`] (saturating at the `i32` range).
pub fn date_diff_days(a: i32, b: i32) -> i32 {
    a.saturating_sub(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil() {
        assert_eq!(days_from_civil(1970, 1, 1), Some(0));
        assert_eq!(days_from_civil(1969, 12, 31), Some(-1));
        assert_eq!(days_from_civil(2000, 3, 1), Some(11_017));
        assert_eq!(days_from_civil(2000, 2, 29), Some(11_016));
        assert_eq!(days_from_civil(1900, 2, 29), None);
        assert_eq!(days_from_civil(2023, 2, 29), None);
        assert_eq!(days_from_civil(2024, 2, 29), Some(19_782));
        assert_eq!(days_from_civil(1, 1, 1), Some(-719_162));
        assert_eq!(days_from_civil(2024, 4, 31), None);
        assert_eq!(days_from_civil(2024, 13, 1), None);
        assert_eq!(days_from_civil(2024, 0, 1), None);
        assert_eq!(days_from_civil(2024, 1, 0), None);
        // Extreme years do not panic.
        let _ = days_from_civil(i32::MAX, 12, 31);
        let _ = days_from_civil(i32::MIN, 1, 1);
    }

    #[test]
    fn consecutive_days() {
        let mut prev = days_from_civil(1899, 12, 31).unwrap_or(0);
        for y in 1900..2101 {
            for m in 1..=12 {
                for d in 1..=days_in_month(y, m) {
                    let v = days_from_civil(y, m, d).unwrap_or(i32::MIN);
                    assert_eq!(v, prev + 1, "{y}-{m}-{d}");
                    prev = v;
                }
            }
        }
    }

    #[test]
    fn parsing() {
        use DateFormat::*;
        assert_eq!(parse_date("19700101", Ymd), Some(0));
        assert_eq!(parse_date("2024-02-29", IsoDash), Some(19_782));
        assert_eq!(parse_date("2024-2-9", IsoDash), parse_date("20240209", Ymd));
        assert_eq!(parse_date("29/02/2024", Dmy), Some(19_782));
        assert_eq!(parse_date("02/29/2024", Mdy), Some(19_782));
        assert_eq!(
            parse_date(" 1/2/2024 ", Dmy),
            parse_date("2024-02-01", IsoDash)
        );
        assert_eq!(parse_date("29/02/2023", Dmy), None);
        assert_eq!(parse_date("2024-02-30", IsoDash), None);
        assert_eq!(parse_date("2024-02-01-1", IsoDash), None);
        assert_eq!(parse_date("+024-02-01", IsoDash), None);
        assert_eq!(parse_date("2024021", Ymd), None);
        assert_eq!(parse_date("2024-0a-01", IsoDash), None);
        assert_eq!(parse_date("", Mdy), None);
        assert_eq!(parse_date("１９７０0101", Ymd), None);
        assert_eq!(parse_date("😀😀", Ymd), None);
        assert_eq!(parse_date("13/13/2024", Mdy), None);
        let a = parse_date("2024-03-01", IsoDash).unwrap_or(0);
        let b = parse_date("2024-02-28", IsoDash).unwrap_or(0);
        assert_eq!(date_diff_days(a, b), 2);
        assert_eq!(date_diff_days(b, a), -2);
        assert_eq!(date_diff_days(i32::MIN, 1), i32::MIN);
    }

    #[test]
    fn civil_round_trip() {
        use DateFormat::*;
        assert_eq!(parse_civil("25/01/1986", Dmy), Some((1986, 1, 25)));
        assert_eq!(parse_civil("29/02/2023", Dmy), None);
        for f in [Ymd, IsoDash, Dmy, Mdy] {
            let s = format_civil(1986, 1, 5, f);
            assert_eq!(parse_civil(&s, f), Some((1986, 1, 5)), "{s}");
            assert_eq!(f.pattern().parse(), Ok(f));
        }
        assert_eq!(format_civil(1986, 1, 5, Ymd), "19860105");
        assert_eq!(format_civil(1986, 1, 5, Dmy), "05/01/1986");
    }

    #[test]
    fn format_names() {
        assert_eq!("%Y%m%d".parse(), Ok(DateFormat::Ymd));
        assert_eq!("%Y-%m-%d".parse(), Ok(DateFormat::IsoDash));
        assert_eq!("%d/%m/%Y".parse(), Ok(DateFormat::Dmy));
        assert_eq!("%m/%d/%Y".parse(), Ok(DateFormat::Mdy));
        assert_eq!("ISO".parse(), Ok(DateFormat::IsoDash));
        assert_eq!("dmy".parse(), Ok(DateFormat::Dmy));
        assert_eq!("mdy".parse(), Ok(DateFormat::Mdy));
        assert_eq!("ymd".parse(), Ok(DateFormat::Ymd));
        assert!("%Y".parse::<DateFormat>().is_err());
    }
}
