//! Per-source input descriptions: how one file (or one in-memory table) maps onto the columns
//! the settings name. Settings hold them as `[[input]]` tables; the same type serves every face
//! (CLI, library, Python), so a description means the same wherever it is given.
//!
//! ```toml
//! [[input]]
//! path = "census.csv"                      # relative to the settings file
//! source = "census"                        # default: the file stem
//! unique_id = "census_id"                  # default: the settings' unique_id
//! rename = { last_name = "surname" }       # file column = settings column
//! delimiter = ";"                          # default ","
//! date_format = { date_of_birth = "%d/%m/%Y" }
//! missing = ["", "NA", "NULL"]             # default [""]
//! ```
//!
//! Dates in a column with a `date_format` are rewritten as the file is read into the one form
//! the comparisons of that column expect (their `date_format`, default `%Y%m%d`), so files in
//! different formats compare and block on the same values. A value that does not parse in the
//! input's format is kept as it is; the comparisons then find it unparsed and count it (see
//! [`crate::compare::unparsed_values`]).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::date::{DateFormat, format_civil, parse_civil};
use crate::error::{Error, Result};

/// How one input maps onto the settings' columns. Every field is optional; the defaults are
/// those of a plain `--input FILE`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputDescription {
    /// The file (relative paths are relative to the settings file). Without it the description
    /// applies to the input whose source name (file stem) is `source`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// The source name of its records; default the file stem. Records are keyed by
    /// (source, id), so names must be distinct.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The id column of this input; default the settings' `unique_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_id: Option<String>,
    /// Column renames, file name → settings name (`{ last_name = "surname" }` reads the file's
    /// `last_name` as `surname`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rename: BTreeMap<String, String>,
    /// The field delimiter, one ASCII character (`","`, `";"`, `"\t"`, `"|"`); default `","`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// Date format per column (settings name → `%Y%m%d`, `%Y-%m-%d`, `%d/%m/%Y` or `%m/%d/%Y`):
    /// the column's dates are rewritten at load in the form its comparisons expect.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub date_format: BTreeMap<String, String>,
    /// Values read as missing, compared after trimming surrounding whitespace; default `[""]`
    /// (the empty field is always missing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<Vec<String>>,
}

impl InputDescription {
    /// Checks the description, naming `key` (e.g. `input[1]`) and the sub-key at fault.
    ///
    /// # Errors
    /// [`Error::Settings`] for a delimiter that is not one ASCII character (or is a quote or a
    /// line break), an unknown date format, an empty rename or two renames onto one name.
    pub fn validate(&self, origin: &str, key: &str) -> Result<()> {
        if let Some(d) = &self.delimiter {
            self.delimiter_byte().map_err(|m| {
                Error::settings(origin, format!("{key}.delimiter"), format!("{d:?}: {m}"))
            })?;
        }
        for (col, f) in &self.date_format {
            f.parse::<DateFormat>().map_err(|e| {
                Error::settings(origin, format!("{key}.date_format.{col}"), e.to_string())
            })?;
        }
        let mut targets = std::collections::BTreeSet::new();
        for (from, to) in &self.rename {
            if from.is_empty() || to.is_empty() {
                return Err(Error::settings(
                    origin,
                    format!("{key}.rename"),
                    "renames map a file column to a settings column; neither may be empty",
                ));
            }
            if !targets.insert(to) {
                return Err(Error::settings(
                    origin,
                    format!("{key}.rename"),
                    format!("two file columns are renamed to `{to}`; keep one"),
                ));
            }
        }
        if let Some(s) = &self.source {
            if s.is_empty() {
                return Err(Error::settings(
                    origin,
                    format!("{key}.source"),
                    "must name the source (or leave it out for the file stem)",
                ));
            }
        }
        if self.unique_id.as_deref() == Some("") {
            return Err(Error::settings(
                origin,
                format!("{key}.unique_id"),
                "must name the id column (or leave it out for the settings' unique_id)",
            ));
        }
        if self.path.is_none() && self.source.is_none() {
            return Err(Error::settings(
                origin,
                key,
                "an [[input]] needs `path` (the file) or `source` (matched against the stems of --input files)",
            ));
        }
        Ok(())
    }

    /// The delimiter as a byte; `,` by default.
    ///
    /// # Errors
    /// A message when it is not one ASCII character, or is a quote, `\r` or `\n`.
    pub fn delimiter_byte(&self) -> std::result::Result<u8, String> {
        let Some(d) = &self.delimiter else {
            return Ok(b',');
        };
        match d.as_bytes() {
            [b] if b.is_ascii() && !matches!(b, b'"' | b'\n' | b'\r') => Ok(*b),
            _ => Err(
                "the delimiter must be one ASCII character other than a quote or a line break, e.g. \",\", \";\", \"\\t\" or \"|\"".into(),
            ),
        }
    }

    /// The settings name of file column `file_name` (after [`InputDescription::rename`]).
    pub fn settings_name<'a>(&'a self, file_name: &'a str) -> &'a str {
        self.rename.get(file_name).map_or(file_name, String::as_str)
    }

    /// The rule that cleans values of the settings column `column` as they are read: missing
    /// tokens, and the date rewrite into `target` when the description gives the column a
    /// `date_format` (`target` is the form the column's comparisons expect).
    pub fn value_rule(&self, column: &str, target: Option<DateFormat>) -> ValueRule {
        let missing: Vec<String> = self
            .missing
            .iter()
            .flatten()
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .collect();
        let date = self
            .date_format
            .get(column)
            .and_then(|f| f.parse::<DateFormat>().ok())
            .map(|from| (from, target.unwrap_or(DateFormat::Ymd)));
        ValueRule { missing, date }
    }
}

/// How values of one column of one input are cleaned as they are read ([`InputDescription::value_rule`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValueRule {
    /// Values (trimmed) read as missing, besides the empty field.
    pub missing: Vec<String>,
    /// The input's date format and the form to write: parseable dates are rewritten, others
    /// are kept as they are.
    pub date: Option<(DateFormat, DateFormat)>,
}

impl ValueRule {
    /// Whether the rule changes nothing.
    pub fn is_identity(&self) -> bool {
        self.missing.is_empty() && self.date.is_none()
    }

    /// The cleaned value: `""` (missing) for a missing token, the date rewritten in the target
    /// form, else `v` unchanged.
    pub fn apply<'a>(&self, v: Cow<'a, str>) -> Cow<'a, str> {
        if v.is_empty() {
            return v;
        }
        if !self.missing.is_empty() {
            let t = v.trim();
            if self.missing.iter().any(|m| m == t) {
                return Cow::Borrowed("");
            }
        }
        if let Some((from, to)) = self.date {
            if let Some((y, m, d)) = parse_civil(&v, from) {
                return Cow::Owned(format_civil(y, m, d, to));
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        let d = InputDescription {
            source: Some("a".into()),
            missing: Some(vec!["NA".into(), " NULL ".into()]),
            date_format: [("dob".to_string(), "%d/%m/%Y".to_string())].into(),
            ..Default::default()
        };
        let r = d.value_rule("dob", Some(DateFormat::IsoDash));
        assert_eq!(r.apply("25/01/1986".into()), "1986-01-25");
        assert_eq!(r.apply(" NA ".into()), "");
        assert_eq!(r.apply("NULL".into()), "");
        assert_eq!(r.apply("31/02/1986".into()), "31/02/1986");
        let r = d.value_rule("name", None);
        assert_eq!(r.apply("25/01/1986".into()), "25/01/1986");
        assert!(d.validate("t", "input[0]").is_ok());
        let bad = InputDescription {
            delimiter: Some(";;".into()),
            ..d.clone()
        };
        let e = bad.validate("t", "input[0]").unwrap_err().to_string();
        assert!(e.contains("input[0].delimiter"), "{e}");
        let bad = InputDescription {
            date_format: [("dob".to_string(), "%Y".to_string())].into(),
            ..d.clone()
        };
        let e = bad.validate("t", "input[0]").unwrap_err().to_string();
        assert!(e.contains("input[0].date_format.dob"), "{e}");
        let bad = InputDescription {
            rename: [("a".into(), "x".into()), ("b".into(), "x".into())].into(),
            ..d
        };
        let e = bad.validate("t", "input[0]").unwrap_err().to_string();
        assert!(e.contains("input[0].rename"), "{e}");
    }
}
