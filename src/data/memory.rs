//! In-memory inputs: a [`Dataset`] built from named sources of text columns (e.g. Arrow string
//! arrays handed over by the Python package), read exactly as [`super::read_csv_files`] reads a
//! CSV file with the same values.
//!
//! A value is text, taken verbatim; an empty string and a null ([`TextColumn::value`] returning
//! `None`) are both missing, as an empty CSV field is. The checks are the CSV reader's own: the
//! unique id must be present and unique within each source, every column the settings read must
//! exist, no value may hold a NUL character or exceed [`super::MAX_FIELD_BYTES`] bytes, and a
//! compared value may hold at most [`super::MAX_COMPARED_CHARS`] characters. Values are interned
//! in order of first appearance, source by source, so a source built from the rows of a CSV file
//! gives the same dataset (and so the same model and pairs) as reading that file.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::reader::{check_compared_len, check_id, check_row, field_str, first_repeat};
use super::{Column, Dataset, Interner, Source, StringList};
use crate::error::{Error, Result};

/// A column of text values, one per row; `None` is a null (missing, as an empty string).
pub trait TextColumn: Sync {
    /// Number of rows.
    fn len(&self) -> usize;
    /// Whether the column has no rows.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The value of `row` (`row < len()`), or `None` for a null.
    fn value(&self, row: usize) -> Option<&str>;
}

impl<S: AsRef<str> + Sync> TextColumn for [Option<S>] {
    fn len(&self) -> usize {
        <[Option<S>]>::len(self)
    }
    fn value(&self, row: usize) -> Option<&str> {
        self[row].as_ref().map(|s| s.as_ref())
    }
}

impl<S: AsRef<str> + Sync> TextColumn for Vec<Option<S>> {
    fn len(&self) -> usize {
        <[Option<S>]>::len(self)
    }
    fn value(&self, row: usize) -> Option<&str> {
        self[row].as_ref().map(|s| s.as_ref())
    }
}

/// One in-memory source: its name (the `source` of its records, as a CSV file's stem is) and
/// its named columns, all of the same length.
pub struct MemorySource<'a> {
    /// The source name; names must be distinct.
    pub name: String,
    /// The columns by name (at least the unique id and every column the settings read).
    pub columns: Vec<(String, &'a dyn TextColumn)>,
    /// SHA-256 recorded for the source (`fit.inputs[].sha256` of a model); default `None`:
    /// the digest of its contents ([`content_sha256`]).
    pub sha256: Option<String>,
}

impl std::fmt::Debug for MemorySource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemorySource")
            .field("name", &self.name)
            .field(
                "columns",
                &self.columns.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("sha256", &self.sha256)
            .finish()
    }
}

/// What to take from in-memory sources: the unique-id column, the truth column (used when every
/// source has it) and the columns the settings read, each with the settings key that asks for
/// it (as in [`super::InputSpec`]).
#[derive(Debug, Clone)]
pub struct MemorySpec {
    /// The unique-id column.
    pub unique_id: String,
    /// The truth column, if any.
    pub truth: Option<String>,
    /// The columns to read, with the settings key asking for each.
    pub columns: Vec<(String, String)>,
}

/// Builds a [`Dataset`] from in-memory sources, as [`super::read_csv_files`] builds one from
/// CSV files holding the same values.
///
/// # Errors
/// [`Error::Invalid`] when there are no sources or too many; [`Error::Input`] naming the source
/// (and the row, counted from 0, for a bad value) for columns of unequal length, a source without
/// rows, a missing column, an empty, null or repeated id, a value holding a NUL character or over
/// [`super::MAX_FIELD_BYTES`] bytes, a compared value over [`super::MAX_COMPARED_CHARS`]
/// characters, or two sources with the same name.
pub fn read_memory(sources: &[MemorySource<'_>], spec: &MemorySpec) -> Result<Dataset> {
    if sources.is_empty() {
        return Err(Error::invalid(
            "inputs",
            "no inputs: give at least one table of records",
        ));
    }
    if sources.len() > u16::MAX as usize {
        return Err(Error::invalid(
            "inputs",
            format!(
                "{} inputs; at most {} are supported",
                sources.len(),
                u16::MAX
            ),
        ));
    }
    let mut wanted: Vec<(String, String)> = Vec::new();
    for (c, k) in &spec.columns {
        if !wanted.iter().any(|(w, _)| w == c) {
            wanted.push((c.clone(), k.clone()));
        }
    }
    let has_truth = spec.truth.as_ref().is_some_and(|t| {
        sources
            .iter()
            .all(|s| s.columns.iter().any(|(n, _)| n == t))
    });
    // The fields read, in order: the id, the wanted columns, the truth.
    let mut fields: Vec<(String, String)> = vec![(spec.unique_id.clone(), "unique_id".into())];
    fields.extend(wanted.iter().cloned());
    if let (true, Some(t)) = (has_truth, &spec.truth) {
        fields.push((t.clone(), "truth".into()));
    }
    let header: Vec<String> = fields.iter().map(|(c, _)| c.clone()).collect();
    // Per field: the key of the comparison reading it, whose values are length-bounded.
    let compared: Vec<Option<&str>> = fields
        .iter()
        .enumerate()
        .map(|(f, (c, _))| {
            (f > 0 && f <= wanted.len())
                .then(|| {
                    spec.columns
                        .iter()
                        .find(|(col, key)| col == c && key.starts_with("comparison["))
                        .map(|(_, key)| key.as_str())
                })
                .flatten()
        })
        .collect();

    let mut picked: Vec<Vec<&dyn TextColumn>> = Vec::with_capacity(sources.len());
    for (i, s) in sources.iter().enumerate() {
        if sources[..i].iter().any(|o| o.name == s.name) {
            return Err(input(
                &s.name,
                format!(
                    "two inputs share the name `{}`; records are keyed by (source, id), so name them apart",
                    s.name
                ),
            ));
        }
        let mut cols = Vec::with_capacity(fields.len());
        for (c, key) in &fields {
            let col = s
                .columns
                .iter()
                .find(|(n, _)| n == c)
                .map(|(_, col)| *col)
                .ok_or_else(|| {
                    input(
                        &s.name,
                        format!(
                            "no column `{c}` (asked for by `{key}`); the table has: {}",
                            s.columns
                                .iter()
                                .map(|(n, _)| n.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                })?;
            cols.push(col);
        }
        let n = cols[0].len();
        if let Some((f, c)) = cols.iter().enumerate().find(|(_, c)| c.len() != n) {
            return Err(input(
                &s.name,
                format!(
                    "column `{}` has {} rows but `{}` has {n}; every column needs one value per record",
                    header[f],
                    c.len(),
                    header[0]
                ),
            ));
        }
        if n == 0 {
            return Err(input(&s.name, "the table has no records".to_string()));
        }
        check_values(&s.name, &cols, &header, &compared)?;
        let ids = (0..n).map(|r| cols[0].value(r).unwrap_or(""));
        if let Some((first, k, id)) = first_repeat(ids, n) {
            return Err(input(
                &s.name,
                format!(
                    "row {k}: duplicate id `{id}` in column `{}` (first in row {first}); ids must be unique within a source",
                    header[0]
                ),
            ));
        }
        picked.push(cols);
    }

    let mut ds = Dataset::default();
    let mut ids = StringList::default();
    for (si, (s, cols)) in sources.iter().zip(&picked).enumerate() {
        let n = cols[0].len();
        ds.sources.push(Source {
            name: s.name.clone(),
            path: PathBuf::from(&s.name),
            sha256: String::new(),
            start: ds.source_of.len(),
            len: n,
        });
        ds.source_of.extend(std::iter::repeat_n(si as u16, n));
        for r in 0..n {
            ids.push(cols[0].value(r).unwrap_or(""));
        }
    }
    ds.ids = ids;
    // Each field interned over all sources in order, the fields in parallel.
    let mut interned: Vec<(Vec<u32>, StringList)> = (1..fields.len())
        .into_par_iter()
        .map(|f| {
            let mut interner = Interner::default();
            let mut values = Vec::with_capacity(ds.source_of.len());
            for cols in &picked {
                let c = cols[f];
                values.extend((0..c.len()).map(|r| interner.intern(c.value(r).unwrap_or(""))));
            }
            (values, interner.into_dict())
        })
        .collect();
    let truth = (has_truth)
        .then(|| interned.pop().map(|(v, _)| v))
        .flatten();
    ds.columns = wanted
        .into_iter()
        .zip(interned)
        .map(|((name, _), (values, dict))| Column { name, values, dict })
        .collect();
    ds.truth = truth;
    let digests: Vec<String> = sources
        .par_iter()
        .zip(&picked)
        .map(|(s, cols)| {
            s.sha256
                .clone()
                .unwrap_or_else(|| content_sha256(&header, cols))
        })
        .collect();
    for (s, d) in ds.sources.iter_mut().zip(digests) {
        s.sha256 = d;
    }
    Ok(ds)
}

/// Runs the CSV reader's per-value checks on every row (in parallel over row blocks; the
/// first failing row is reported).
fn check_values(
    name: &str,
    cols: &[&dyn TextColumn],
    header: &[String],
    compared: &[Option<&str>],
) -> Result<()> {
    const BLOCK: usize = 1 << 14;
    let n = cols[0].len();
    let path = Path::new(name);
    let check_row_at = |r: usize| -> Result<()> {
        let line = r as u64;
        check_row(
            path,
            line,
            header,
            cols.len(),
            cols.iter().map(|c| c.value(r).map_or(0, str::len)),
        )?;
        for (f, c) in cols.iter().enumerate() {
            let v = c.value(r).unwrap_or("");
            field_str(path, line, header, f, v.as_bytes())?;
            check_compared_len(path, line, header, f, v, compared[f])?;
            if f == 0 {
                check_id(path, line, header, f, v)?;
            }
        }
        Ok(())
    };
    let first_error = (0..n.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| (b * BLOCK..((b + 1) * BLOCK).min(n)).try_for_each(check_row_at))
        .find_first(|r| r.is_err());
    match first_error {
        Some(Err(Error::Csv { line, message, .. })) => {
            Err(input(name, format!("row {line}: {message}")))
        }
        Some(Err(e)) => Err(e),
        _ => Ok(()),
    }
}

fn input(name: &str, message: String) -> Error {
    Error::Input {
        path: PathBuf::from(name),
        message,
    }
}

/// The SHA-256 (lowercase hex) recorded for an in-memory source that names none: of the column
/// names, then every row's values, each field written as its length in bytes (8 bytes, little
/// endian) followed by its UTF-8 bytes (a null as the empty string). It identifies the values
/// read, not a file: it differs from the SHA-256 of a CSV file holding them.
pub fn content_sha256(header: &[String], cols: &[&dyn TextColumn]) -> String {
    let mut h = Sha256::new();
    let mut field = |s: &str| {
        h.update((s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    };
    for c in header {
        field(c);
    }
    for r in 0..cols.first().map_or(0, |c| c.len()) {
        for c in cols {
            field(c.value(r).unwrap_or(""));
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{InputSpec, read_csv_files};
    use crate::progress::Progress;

    fn col(v: &[&str]) -> Vec<Option<String>> {
        v.iter()
            .map(|s| Some(s.to_string()).filter(|s| !s.is_empty()))
            .collect()
    }

    fn spec() -> MemorySpec {
        MemorySpec {
            unique_id: "id".into(),
            truth: Some("e".into()),
            columns: vec![
                ("name".into(), "comparison[0].column".into()),
                ("city".into(), "blocking[0].keys[0]".into()),
            ],
        }
    }

    #[test]
    fn same_dataset_as_the_csv_reader() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.csv");
        let b = dir.path().join("b.csv");
        std::fs::write(
            &a,
            "id,name,city,e,other\n1,ann,york,x,q\n2,,leeds,y,q\n3,bob,york,,q\n",
        )
        .unwrap();
        std::fs::write(&b, "id,city,name,e\n1,york,bob,y\n9,hull,ann,x\n").unwrap();
        let s = spec();
        let csv = read_csv_files(
            &InputSpec {
                paths: vec![a, b],
                unique_id: s.unique_id.clone(),
                truth: s.truth.clone(),
                columns: s.columns.clone(),
                ..InputSpec::default()
            },
            &Progress::default(),
        )
        .unwrap();
        let (ia, na, ca, ea) = (
            col(&["1", "2", "3"]),
            col(&["ann", "", "bob"]),
            col(&["york", "leeds", "york"]),
            col(&["x", "y", ""]),
        );
        let (ib, nb, cb, eb) = (
            col(&["1", "9"]),
            vec![Some("bob"), Some("ann")],
            col(&["york", "hull"]),
            col(&["y", "x"]),
        );
        let src = |name: &str, cols: Vec<(&str, &'static dyn TextColumn)>| MemorySource {
            name: name.into(),
            columns: cols.into_iter().map(|(n, c)| (n.to_string(), c)).collect(),
            sha256: None,
        };
        // Leaked so the test can hold `'static` trait objects simply.
        let l = |c: Vec<Option<String>>| -> &'static dyn TextColumn { Box::leak(Box::new(c)) };
        let sources = vec![
            src(
                "a",
                vec![
                    ("id", l(ia)),
                    ("name", l(na)),
                    ("city", l(ca)),
                    ("e", l(ea)),
                ],
            ),
            src(
                "b",
                vec![
                    ("e", l(eb)),
                    ("id", l(ib)),
                    ("city", l(cb)),
                    ("name", Box::leak(Box::new(nb))),
                ],
            ),
        ];
        let mem = read_memory(&sources, &s).unwrap();
        assert_eq!(mem.source_of, csv.source_of);
        assert_eq!(
            mem.ids.iter().collect::<Vec<_>>(),
            csv.ids.iter().collect::<Vec<_>>()
        );
        assert_eq!(mem.truth, csv.truth);
        assert_eq!(mem.columns.len(), csv.columns.len());
        for (m, c) in mem.columns.iter().zip(&csv.columns) {
            assert_eq!(m.name, c.name);
            assert_eq!(m.values, c.values);
            assert_eq!(
                m.dict.iter().collect::<Vec<_>>(),
                c.dict.iter().collect::<Vec<_>>()
            );
        }
        let names: Vec<_> = mem
            .sources
            .iter()
            .map(|s| (&s.name, s.start, s.len))
            .collect();
        let want: Vec<_> = csv
            .sources
            .iter()
            .map(|s| (&s.name, s.start, s.len))
            .collect();
        assert_eq!(names, want);
        // Content digests: stable, and different for different contents.
        assert_eq!(mem.sources[0].sha256.len(), 64);
        assert_ne!(mem.sources[0].sha256, mem.sources[1].sha256);
        assert_eq!(
            read_memory(&sources, &s).unwrap().sources[0].sha256,
            mem.sources[0].sha256
        );
    }

    fn one(cols: Vec<(&str, Vec<Option<String>>)>) -> Result<Dataset> {
        let owned: Vec<(String, Vec<Option<String>>)> =
            cols.into_iter().map(|(n, c)| (n.to_string(), c)).collect();
        let src = MemorySource {
            name: "people".into(),
            columns: owned
                .iter()
                .map(|(n, c)| (n.clone(), c as &dyn TextColumn))
                .collect(),
            sha256: None,
        };
        read_memory(&[src], &spec())
    }

    fn err(cols: Vec<(&str, Vec<Option<String>>)>) -> String {
        one(cols).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_source_row_and_column() {
        let ok = || {
            vec![
                ("id", col(&["1", "2"])),
                ("name", col(&["a", "b"])),
                ("city", col(&["x", "y"])),
            ]
        };
        assert!(
            one(ok()).unwrap().truth.is_none(),
            "truth only when present"
        );
        let mut c = ok();
        c[0].1 = col(&["1", "1"]);
        let e = err(c);
        assert!(
            e.contains("people") && e.contains("row 1") && e.contains("duplicate id `1`"),
            "{e}"
        );
        let mut c = ok();
        c[0].1 = vec![Some("1".into()), None];
        let e = err(c);
        assert!(e.contains("row 1") && e.contains("empty id"), "{e}");
        let mut c = ok();
        c[1].1 = col(&["a", "b\0c"]);
        let e = err(c);
        assert!(
            e.contains("row 1") && e.contains("`name`") && e.contains("NUL"),
            "{e}"
        );
        let mut c = ok();
        c[1].1 = col(&["a", &"z".repeat(1001)]);
        let e = err(c);
        assert!(
            e.contains("comparison[0].column") && e.contains("1001 characters"),
            "{e}"
        );
        // Not compared: no length limit below the field limit.
        let mut c = ok();
        c[2].1 = col(&["a", &"z".repeat(1001)]);
        assert!(one(c).is_ok());
        let mut c = ok();
        c.remove(2);
        let e = err(c);
        assert!(
            e.contains("no column `city`") && e.contains("blocking[0].keys[0]"),
            "{e}"
        );
        let mut c = ok();
        c[2].1 = col(&["x"]);
        let e = err(c);
        assert!(e.contains("`city` has 1 rows"), "{e}");
        let e = err(vec![("id", vec![]), ("name", vec![]), ("city", vec![])]);
        assert!(e.contains("no records"), "{e}");
    }
}
