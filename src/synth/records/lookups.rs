//! The lookup tables the record generator draws values and corruptions from.
//!
//! All files are read from one folder laid out as the shipped `datasets/generator-lookups/`:
//!
//! | file | format | used for |
//! |---|---|---|
//! | `febrl-dsgen/givenname-freq.csv`, `surname-freq.csv`, `streetnumber-freq.csv`, `address1-freq.csv`, `suburb-freq.csv`, `postcode-freq.csv`, `state-freq.csv`, `age-freq.csv` | `value,count` | value frequencies |
//! | `febrl-dsgen/suburb-postcode-lookup.tbl` | `state-suburb : postcode` | consistent suburb, postcode and state |
//! | `febrl-dsgen/state-areacode-lookup.tbl` | `STATE : areacode,...` | phone numbers |
//! | `febrl-dsgen/givenname-misspell.tbl`, `surname-misspell.tbl`, `suburb-misspell.tbl` | `correct : misspelling, ...` | misspellings and name variants |
//! | `febrl-dsgen/lib_ocr_rules.txt` | `ALL, from, to` | OCR confusions |
//! | `febrl-dsgen/lib_phonetic_rules.txt` | `POSITION, from, to, pre, post, pattern, start` | phonetic substitutions |
//! | `gecko-data-en_US/ocr.csv` | `a,b` (both directions) | OCR confusions |
//!
//! Every reader accepts LF and CRLF line endings, skips blank lines and lines starting with `#`,
//! and trims spaces around values. A frequency table may start with a header line (its count is
//! not a number). A malformed line is an [`Error::Csv`] naming the file and its 1-based line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rand::RngExt;
use rand::rngs::ChaCha8Rng;

use crate::error::{Error, Result};

/// Values with frequencies, sampled in proportion to their counts.
#[derive(Debug, Clone)]
pub struct FreqTable {
    values: Vec<Box<str>>,
    /// Cumulative counts; `cumulative[i]` is the sum of the counts of values `0..=i`.
    cumulative: Vec<f64>,
}

impl FreqTable {
    /// Builds a table from `(value, count)` pairs; counts are non-negative and not all zero.
    ///
    /// # Errors
    /// [`Error::Internal`] if there are no values or all counts are zero.
    pub fn new(name: &str, pairs: Vec<(String, f64)>) -> Result<FreqTable> {
        let mut values = Vec::with_capacity(pairs.len());
        let mut cumulative = Vec::with_capacity(pairs.len());
        let mut total = 0.0;
        for (v, c) in pairs {
            if c <= 0.0 {
                continue;
            }
            total += c;
            values.push(v.into_boxed_str());
            cumulative.push(total);
        }
        if values.is_empty() {
            return Err(Error::Internal(format!(
                "frequency table {name} has no value with a positive count"
            )));
        }
        Ok(FreqTable { values, cumulative })
    }

    /// Number of distinct values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the table has no values (never true for a table built by [`FreqTable::new`]).
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Draws one value with probability proportional to its count.
    pub fn sample(&self, rng: &mut ChaCha8Rng) -> &str {
        let total = *self.cumulative.last().unwrap_or(&0.0);
        let x = rng.random::<f64>() * total;
        let i = self
            .cumulative
            .partition_point(|&c| c <= x)
            .min(self.values.len() - 1);
        &self.values[i]
    }
}

/// Position condition of a phonetic rule (FEBRL `lib_phonetic_rules.txt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RulePosition {
    /// Anywhere in the value.
    All,
    /// At the start of the value.
    Start,
    /// At the end of the value.
    End,
    /// Neither at the start nor at the end.
    Middle,
}

/// A character-class condition on the character before or after a rule's match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharCondition {
    /// No condition.
    Any,
    /// A vowel (a, e, i, o, u) must be there.
    Vowel,
    /// A consonant (a letter that is not a vowel) must be there.
    Consonant,
}

/// A substitution rule: replace `from` by `to` (OCR confusion or phonetic variation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Where the match may be.
    pub position: RulePosition,
    /// Text to find (non-empty).
    pub from: String,
    /// Replacement (may be empty; `@` in the FEBRL files).
    pub to: String,
    /// Condition on the character before the match.
    pub pre: CharCondition,
    /// Condition on the character after the match.
    pub post: CharCondition,
}

/// Misspellings of one field: correct value → its misspellings, and variant groups (the correct
/// value with its listed misspellings, read in both directions).
#[derive(Debug, Clone, Default)]
pub struct MisspellTable {
    /// Correct value → misspellings.
    pub forward: HashMap<String, Vec<String>>,
    /// Value → other members of its variant groups.
    pub variants: HashMap<String, Vec<String>>,
}

impl MisspellTable {
    fn from_lines(lines: Vec<(String, Vec<String>)>) -> MisspellTable {
        let mut t = MisspellTable::default();
        for (key, vals) in lines {
            let mut group = vec![key.clone()];
            group.extend(vals.iter().cloned());
            t.forward.entry(key).or_default().extend(vals);
            for a in &group {
                let e = t.variants.entry(a.clone()).or_default();
                for b in &group {
                    if a != b && !e.contains(b) {
                        e.push(b.clone());
                    }
                }
            }
        }
        t
    }
}

/// Every table the record generator uses, loaded by [`Lookups::load`].
#[derive(Debug, Clone)]
pub struct Lookups {
    /// The folder the tables were read from.
    pub dir: PathBuf,
    /// Given names (FEBRL `givenname-freq.csv`).
    pub given_name: FreqTable,
    /// Surnames (FEBRL `surname-freq.csv`).
    pub surname: FreqTable,
    /// Street numbers.
    pub street_number: FreqTable,
    /// Street addresses (`address1-freq.csv`).
    pub address_1: FreqTable,
    /// Suburbs.
    pub suburb: FreqTable,
    /// Postcodes (used when a suburb has no postcode in the suburb–postcode lookup).
    pub postcode: FreqTable,
    /// States (used when a suburb has no entry in the suburb–postcode lookup).
    pub state: FreqTable,
    /// Ages in years at [`super::REFERENCE_YEAR`].
    pub age: FreqTable,
    /// Suburb → its (state, postcode) pairs.
    pub suburb_postcode: HashMap<String, Vec<(String, String)>>,
    /// State (lowercase) → telephone area code.
    pub area_code: HashMap<String, String>,
    /// Given-name misspellings and variants.
    pub given_name_misspell: MisspellTable,
    /// Surname misspellings and variants.
    pub surname_misspell: MisspellTable,
    /// Suburb misspellings and variants.
    pub suburb_misspell: MisspellTable,
    /// OCR confusions (FEBRL rules, then GeCo pairs in both directions, without repeats).
    pub ocr: Vec<Rule>,
    /// Phonetic rules in the supported subset (see [`Lookups::phonetic_skipped`]).
    pub phonetic: Vec<Rule>,
    /// Number of rules of `lib_phonetic_rules.txt` outside the supported subset (conditions
    /// other than none, vowel or consonant), which are not used.
    pub phonetic_skipped: usize,
}

/// Lines of a file without comments and blanks: `(1-based line number, trimmed text)`.
fn read_lines(path: &Path) -> Result<Vec<(u64, String)>> {
    Ok(read_lines_indent(path)?
        .into_iter()
        .map(|(n, l, _)| (n, l))
        .collect())
}

/// [`read_lines`] with whether each line was indented.
fn read_lines_indent(path: &Path) -> Result<Vec<(u64, String, bool)>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8(bytes).map_err(|e| Error::Input {
        path: path.to_path_buf(),
        message: format!("not UTF-8 ({e}); lookup tables must be UTF-8 text"),
    })?;
    Ok(text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let t = l.trim_end_matches('\r').trim().to_string();
            (i as u64 + 1, t, l.starts_with([' ', '\t']))
        })
        .filter(|(_, l, _)| !l.is_empty() && !l.starts_with('#'))
        .collect())
}

fn line_error(path: &Path, line: u64, message: String) -> Error {
    Error::Csv {
        path: path.to_path_buf(),
        line,
        message,
    }
}

/// Reads a `value,count` table; the first line may be a header.
fn read_freq(path: &Path) -> Result<FreqTable> {
    let lines = read_lines(path)?;
    let mut pairs = Vec::with_capacity(lines.len());
    for (k, (no, l)) in lines.iter().enumerate() {
        let Some((v, c)) = l.rsplit_once(',') else {
            return Err(line_error(
                path,
                *no,
                format!("expected `value,count`, found `{l}` (no comma)"),
            ));
        };
        let (v, c) = (v.trim(), c.trim());
        match c.parse::<f64>() {
            Ok(x) if x.is_finite() && x >= 0.0 => {
                if v.is_empty() {
                    return Err(line_error(path, *no, "empty value before the comma".into()));
                }
                pairs.push((v.to_string(), x));
            }
            _ if k == 0 => {} // a header line
            _ => {
                return Err(line_error(
                    path,
                    *no,
                    format!("count `{c}` is not a non-negative number (line `{l}`)"),
                ));
            }
        }
    }
    FreqTable::new(&path.display().to_string(), pairs).map_err(|_| Error::Input {
        path: path.to_path_buf(),
        message: "no value with a positive count".into(),
    })
}

/// Reads a `key : v1, v2, ...` table.
fn read_tbl(path: &Path) -> Result<Vec<(String, Vec<String>)>> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let split = |vs: &str| -> Vec<String> {
        vs.split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect()
    };
    // An indented line without a colon continues the entry above (FEBRL wraps long lists).
    for (no, l, indented) in read_lines_indent(path)? {
        if indented && !l.contains(':') {
            if let Some(last) = out.last_mut() {
                last.1.extend(split(&l));
                continue;
            }
        }
        let Some((k, vs)) = l.split_once(':') else {
            return Err(line_error(
                path,
                no,
                format!(
                    "expected `key : value, value, ...`, found `{l}` (no colon, and not an indented continuation line)"
                ),
            ));
        };
        let k = k.trim();
        if k.is_empty() {
            return Err(line_error(path, no, "empty key before the colon".into()));
        }
        out.push((k.to_string(), split(vs)));
    }
    Ok(out)
}

fn parse_condition(path: &Path, no: u64, s: &str) -> Result<Option<CharCondition>> {
    Ok(match s {
        "None" => Some(CharCondition::Any),
        "V" => Some(CharCondition::Vowel),
        "C" => Some(CharCondition::Consonant),
        "" => return Err(line_error(path, no, "empty condition column".into())),
        _ => None,
    })
}

fn parse_position(path: &Path, no: u64, s: &str) -> Result<RulePosition> {
    Ok(match s {
        "ALL" => RulePosition::All,
        "START" => RulePosition::Start,
        "END" => RulePosition::End,
        "MIDDLE" => RulePosition::Middle,
        _ => {
            return Err(line_error(
                path,
                no,
                format!("position `{s}` is not one of ALL, START, END, MIDDLE"),
            ));
        }
    })
}

fn unat(s: &str) -> String {
    if s == "@" {
        String::new()
    } else {
        s.to_string()
    }
}

/// Reads FEBRL's OCR rules (`ALL, from, to`).
fn read_ocr_rules(path: &Path) -> Result<Vec<Rule>> {
    let mut out = Vec::new();
    for (no, l) in read_lines(path)? {
        let parts: Vec<&str> = l.split(',').map(str::trim).collect();
        if parts.len() != 3 || parts[1].is_empty() {
            return Err(line_error(
                path,
                no,
                format!("expected `POSITION, from, to`, found `{l}`"),
            ));
        }
        out.push(Rule {
            position: parse_position(path, no, parts[0])?,
            from: parts[1].to_string(),
            to: unat(parts[2]),
            pre: CharCondition::Any,
            post: CharCondition::Any,
        });
    }
    Ok(out)
}

/// Reads FEBRL's phonetic rules; returns the supported ones and the number skipped.
fn read_phonetic_rules(path: &Path) -> Result<(Vec<Rule>, usize)> {
    let mut out = Vec::new();
    let mut skipped = 0;
    for (no, l) in read_lines(path)? {
        let parts: Vec<&str> = l.split(',').map(str::trim).collect();
        if parts.len() != 7 || parts[1].is_empty() {
            return Err(line_error(
                path,
                no,
                format!(
                    "expected 7 columns `POSITION, from, to, pre, post, pattern, start`, found `{l}`"
                ),
            ));
        }
        let position = parse_position(path, no, parts[0])?;
        let pre = parse_condition(path, no, parts[3])?;
        let post = parse_condition(path, no, parts[4])?;
        match (pre, post, parts[5], parts[6]) {
            (Some(pre), Some(post), "None", "None") => out.push(Rule {
                position,
                from: parts[1].to_string(),
                to: unat(parts[2]),
                pre,
                post,
            }),
            _ => skipped += 1,
        }
    }
    Ok((out, skipped))
}

/// Reads GeCo's `ocr.csv` (`a,b` pairs, used in both directions).
fn read_ocr_pairs(path: &Path) -> Result<Vec<Rule>> {
    let mut out = Vec::new();
    for (no, l) in read_lines(path)? {
        let Some((a, b)) = l.split_once(',') else {
            return Err(line_error(
                path,
                no,
                format!("expected `a,b`, found `{l}` (no comma)"),
            ));
        };
        let (a, b) = (a.trim(), b.trim());
        if a.is_empty() || b.is_empty() {
            return Err(line_error(path, no, "empty side of an OCR pair".into()));
        }
        for (f, t) in [(a, b), (b, a)] {
            out.push(Rule {
                position: RulePosition::All,
                from: f.to_string(),
                to: t.to_string(),
                pre: CharCondition::Any,
                post: CharCondition::Any,
            });
        }
    }
    Ok(out)
}

impl Lookups {
    /// Loads every table from `dir` (see the module documentation for the files).
    ///
    /// # Examples
    /// ```
    /// let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/generator-lookups");
    /// let lk = fellegi::synth::records::Lookups::load(&dir)?;
    /// assert!(lk.surname.len() > 9000);
    /// # Ok::<(), fellegi::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] if a file is missing or unreadable; [`Error::Csv`] naming the file and line
    /// of a malformed line; [`Error::Input`] for a file that is not UTF-8 or has no usable value.
    pub fn load(dir: &Path) -> Result<Lookups> {
        if !dir.is_dir() {
            return Err(Error::Input {
                path: dir.to_path_buf(),
                message: "lookup folder not found; give --lookups DIR holding febrl-dsgen/ and gecko-data-en_US/ (as datasets/generator-lookups/)".into(),
            });
        }
        let f = dir.join("febrl-dsgen");
        let freq = |name: &str| read_freq(&f.join(name));
        let mut suburb_postcode: HashMap<String, Vec<(String, String)>> = HashMap::new();
        let sp_path = f.join("suburb-postcode-lookup.tbl");
        for (k, vs) in read_tbl(&sp_path)? {
            let Some((state, suburb)) = k.split_once('-') else {
                continue;
            };
            if let Some(pc) = vs.first() {
                suburb_postcode
                    .entry(suburb.to_string())
                    .or_default()
                    .push((state.to_string(), pc.clone()));
            }
        }
        let area_code = read_tbl(&f.join("state-areacode-lookup.tbl"))?
            .into_iter()
            .filter_map(|(k, vs)| vs.first().map(|a| (k.to_lowercase(), a.clone())))
            .collect();
        let misspell =
            |name: &str| Ok::<_, Error>(MisspellTable::from_lines(read_tbl(&f.join(name))?));
        let mut ocr = read_ocr_rules(&f.join("lib_ocr_rules.txt"))?;
        for r in read_ocr_pairs(&dir.join("gecko-data-en_US/ocr.csv"))? {
            if !ocr.contains(&r) {
                ocr.push(r);
            }
        }
        let (phonetic, phonetic_skipped) = read_phonetic_rules(&f.join("lib_phonetic_rules.txt"))?;
        Ok(Lookups {
            dir: dir.to_path_buf(),
            given_name: freq("givenname-freq.csv")?,
            surname: freq("surname-freq.csv")?,
            street_number: freq("streetnumber-freq.csv")?,
            address_1: freq("address1-freq.csv")?,
            suburb: freq("suburb-freq.csv")?,
            postcode: freq("postcode-freq.csv")?,
            state: freq("state-freq.csv")?,
            age: freq("age-freq.csv")?,
            suburb_postcode,
            area_code,
            given_name_misspell: misspell("givenname-misspell.tbl")?,
            surname_misspell: misspell("surname-misspell.tbl")?,
            suburb_misspell: misspell("suburb-misspell.tbl")?,
            ocr,
            phonetic,
            phonetic_skipped,
        })
    }

    /// The shipped tables in the source tree (`datasets/generator-lookups`).
    pub fn default_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/generator-lookups")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_tables_load() {
        let lk = Lookups::load(&Lookups::default_dir()).unwrap();
        assert_eq!(lk.given_name.len(), 869);
        assert!(lk.surname.len() > 9000);
        assert!(lk.ocr.len() > 70);
        assert!(lk.phonetic.len() > 250, "{}", lk.phonetic.len());
        assert!(lk.phonetic_skipped > 0);
        assert!(lk.suburb_postcode.contains_key("acton"));
        assert_eq!(lk.area_code.get("nsw").map(String::as_str), Some("02"));
        // CRLF file.
        assert!(lk.surname_misspell.forward.contains_key("aitchison"));
        assert!(
            lk.given_name_misspell.variants["abbey"].contains(&"abigail".to_string()),
            "variants read both ways"
        );
    }

    #[test]
    fn malformed_line_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, "# comment\r\nvalue,count\r\na,1\r\nb;2\r\n").unwrap();
        let e = read_freq(&p).unwrap_err().to_string();
        assert!(e.contains("t.csv:4:"), "{e}");
        std::fs::write(&p, "a,1\nb,x\n").unwrap();
        let e = read_freq(&p).unwrap_err().to_string();
        assert!(e.contains("t.csv:2:") && e.contains("`x`"), "{e}");
    }
}
