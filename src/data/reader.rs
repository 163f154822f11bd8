//! CSV reading with errors that name the file, the line and the fix.

use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};

use super::{Column, Dataset, Interner, MISSING, Source, StringList};
use crate::error::{Error, Result};

/// Largest accepted field, in bytes (1 MiB). Longer fields are almost always a broken quote.
pub const MAX_FIELD_BYTES: usize = 1 << 20;

/// What to read from the input files.
#[derive(Debug, Clone)]
pub struct InputSpec {
    /// The CSV files, one source each; names (file stems) must be distinct.
    pub paths: Vec<PathBuf>,
    /// The unique-id column (unique within each file).
    pub unique_id: String,
    /// The truth column, read when every file has it.
    pub truth: Option<String>,
    /// The columns to read, each with the settings key that asked for it (for error messages).
    pub columns: Vec<(String, String)>,
}

/// Reads the inputs into one [`Dataset`].
///
/// # Errors
/// [`Error::Io`] for unreadable files; [`Error::Csv`] (file and line) for a missing header, ragged
/// rows, bytes that are not UTF-8 or fields over [`MAX_FIELD_BYTES`]; [`Error::Input`] for an empty
/// file, a missing column, an empty or duplicate id, or two files with the same stem.
pub fn read_csv_files(spec: &InputSpec) -> Result<Dataset> {
    if spec.paths.is_empty() {
        return Err(Error::Usage(
            "no input files: give --input FILE (repeatable) or --dataset NAME".into(),
        ));
    }
    if spec.paths.len() > u16::MAX as usize {
        return Err(Error::Usage(format!(
            "{} input files; at most {} are supported",
            spec.paths.len(),
            u16::MAX
        )));
    }
    // Distinct column names, in first-mention order.
    let mut wanted: Vec<(String, String)> = Vec::new();
    for (c, k) in &spec.columns {
        if !wanted.iter().any(|(w, _)| w == c) {
            wanted.push((c.clone(), k.clone()));
        }
    }
    let mut interners: Vec<Interner> = wanted.iter().map(|_| Interner::default()).collect();
    let mut values: Vec<Vec<u32>> = wanted.iter().map(|_| Vec::new()).collect();
    let mut truth_interner = Interner::default();
    let mut truth: Vec<u32> = Vec::new();
    let mut has_truth = spec.truth.is_some();
    let mut ds = Dataset::default();
    let mut ids = StringList::default();

    // Truth is used only if every file has the column.
    let mut readers = Vec::new();
    for path in &spec.paths {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(Error::Input {
                path: path.clone(),
                message: "the file is empty; expected a CSV header row and at least one record"
                    .into(),
            });
        }
        let header = read_header(path, &bytes)?;
        if let Some(t) = &spec.truth {
            if !header.iter().any(|h| h == t) {
                has_truth = false;
            }
        }
        readers.push((path, bytes, header));
    }

    for (path, bytes, header) in readers {
        let name = stem(path);
        if ds.sources.iter().any(|s| s.name == name) {
            return Err(Error::Input {
                path: path.clone(),
                message: format!(
                    "two inputs share the name `{name}`; records are keyed by (file stem, id), so rename one file"
                ),
            });
        }
        let find = |col: &str, key: &str| -> Result<usize> {
            header
                .iter()
                .position(|h| h == col)
                .ok_or_else(|| Error::Input {
                    path: path.clone(),
                    message: format!(
                        "no column `{col}` (asked for by `{key}`); the header has: {}",
                        header.join(", ")
                    ),
                })
        };
        let id_idx = find(&spec.unique_id, "unique_id")?;
        let truth_idx = match (&spec.truth, has_truth) {
            (Some(t), true) => Some(find(t, "truth")?),
            _ => None,
        };
        let col_idx: Vec<usize> = wanted
            .iter()
            .map(|(c, k)| find(c, k))
            .collect::<Result<_>>()?;

        let start = ds.source_of.len();
        let src_no = ds.sources.len() as u16;
        let mut seen: FxHashMap<Vec<u8>, u64> = FxHashMap::default();
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(bytes.as_slice());
        let mut rec = csv::ByteRecord::new();
        loop {
            match rdr.read_byte_record(&mut rec) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => return Err(csv_error(path, e)),
            }
            let line = rec.position().map_or(0, |p| p.line());
            for (fi, field) in rec.iter().enumerate() {
                if field.len() > MAX_FIELD_BYTES {
                    return Err(Error::Csv {
                        path: path.clone(),
                        line,
                        message: format!(
                            "field `{}` is {} bytes, over the {} byte limit; check for an unclosed quote",
                            header.get(fi).map_or("?", |s| s.as_str()),
                            field.len(),
                            MAX_FIELD_BYTES
                        ),
                    });
                }
            }
            let text = |i: usize| -> Result<&str> {
                std::str::from_utf8(&rec[i]).map_err(|e| Error::Csv {
                    path: path.clone(),
                    line,
                    message: format!(
                        "column `{}` is not valid UTF-8 (byte {}); re-encode the file as UTF-8",
                        header[i],
                        e.valid_up_to()
                    ),
                })
            };
            let id = text(id_idx)?;
            if id.is_empty() {
                return Err(Error::Csv {
                    path: path.clone(),
                    line,
                    message: format!(
                        "empty id in column `{}`; every record needs a unique id",
                        spec.unique_id
                    ),
                });
            }
            if let Some(first) = seen.insert(id.as_bytes().to_vec(), line) {
                return Err(Error::Csv {
                    path: path.clone(),
                    line,
                    message: format!(
                        "duplicate id `{id}` in column `{}` (first on line {first}); ids must be unique within a file",
                        spec.unique_id
                    ),
                });
            }
            ids.push(id);
            for (k, &ci) in col_idx.iter().enumerate() {
                let v = text(ci)?;
                values[k].push(interners[k].intern(v));
            }
            if let Some(ti) = truth_idx {
                truth.push(truth_interner.intern(text(ti)?));
            }
            ds.source_of.push(src_no);
        }
        let len = ds.source_of.len() - start;
        if len == 0 {
            return Err(Error::Input {
                path: path.clone(),
                message: "the file has a header but no records".into(),
            });
        }
        ds.sources.push(Source {
            name,
            path: path.clone(),
            sha256: hex_sha256(&bytes),
            start,
            len,
        });
    }
    ds.ids = ids;
    ds.truth = if has_truth && spec.truth.is_some() {
        Some(truth)
    } else {
        None
    };
    ds.columns = wanted
        .into_iter()
        .zip(values)
        .zip(interners)
        .map(|(((name, _), values), int)| Column {
            name,
            values,
            dict: int.into_dict(),
        })
        .collect();
    debug_assert!(ds.columns.iter().all(|c| {
        c.values
            .iter()
            .all(|&v| v == MISSING || (v as usize) < c.dict.len())
    }));
    Ok(ds)
}

/// The file stem used as a record's source.
pub fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn read_header(path: &Path, bytes: &[u8]) -> Result<Vec<String>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(bytes);
    let h = rdr.byte_headers().map_err(|e| csv_error(path, e))?.clone();
    let mut out = Vec::with_capacity(h.len());
    for (i, f) in h.iter().enumerate() {
        let s = std::str::from_utf8(f).map_err(|_| Error::Csv {
            path: path.to_path_buf(),
            line: 1,
            message: format!(
                "header field {} is not valid UTF-8; re-encode the file as UTF-8",
                i + 1
            ),
        })?;
        let s = s.strip_prefix('\u{feff}').unwrap_or(s).to_string();
        if s.is_empty() {
            return Err(Error::Csv {
                path: path.to_path_buf(),
                line: 1,
                message: format!(
                    "header field {} is empty; the first row must name every column",
                    i + 1
                ),
            });
        }
        if out.contains(&s) {
            return Err(Error::Csv {
                path: path.to_path_buf(),
                line: 1,
                message: format!("column `{s}` appears twice in the header"),
            });
        }
        out.push(s);
    }
    Ok(out)
}

fn csv_error(path: &Path, e: csv::Error) -> Error {
    let line = e.position().map_or(0, |p| p.line());
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!(
            "row has {len} fields but the header has {expected_len}; quote fields that contain commas"
        ),
        csv::ErrorKind::Utf8 { err, .. } => {
            format!("not valid UTF-8 ({err}); re-encode the file as UTF-8")
        }
        _ => e.to_string(),
    };
    Error::Csv {
        path: path.to_path_buf(),
        line,
        message,
    }
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn hex_sha256(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}
