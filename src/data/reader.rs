//! CSV reading with errors that name the file, the line and the fix.

use std::path::{Path, PathBuf};

use std::borrow::Cow;

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};

use super::date::DateFormat;
use super::input::{InputDescription, ValueRule};
use super::{Column, Dataset, MISSING, Source, StringList};
use crate::error::{Error, Result};

/// Largest accepted field, in bytes (1 MiB). Longer fields are almost always a broken quote.
pub const MAX_FIELD_BYTES: usize = 1 << 20;

/// Longest value, in characters, of a column that a comparison reads. String comparators cost
/// up to the square of the length per value pair (and exhaustive agreement lists more), so one
/// over-long value could stall a run: such a value is an error naming its file, line and column.
/// The longest compared value in the shipped datasets has 58 characters.
pub const MAX_COMPARED_CHARS: usize = 1_000;

/// What to read from the input files.
#[derive(Debug, Clone, Default)]
pub struct InputSpec {
    /// The CSV files, one source each; source names (file stems, or each description's
    /// `source`) must be distinct.
    pub paths: Vec<PathBuf>,
    /// Per file (same order as `paths`; absent entries take the defaults): its description,
    /// `[[input]]` in the settings. Its key in error messages is `input[i]`.
    pub descriptions: Vec<InputDescription>,
    /// The form each date column's comparisons expect (column, format): dates of a column
    /// that a description gives a `date_format` are rewritten into it as they are read.
    pub date_targets: Vec<(String, DateFormat)>,
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
/// rows, bytes that are not UTF-8, fields over [`MAX_FIELD_BYTES`] or compared values over
/// [`MAX_COMPARED_CHARS`] characters; [`Error::Input`] for an empty
/// file, a missing column, an empty or duplicate id, or two files with the same stem.
pub fn read_csv_files(spec: &InputSpec, progress: &crate::progress::Progress) -> Result<Dataset> {
    if spec.paths.is_empty() {
        return Err(Error::invalid(
            "inputs",
            "no input files: give --input FILE (repeatable) or --dataset NAME",
        ));
    }
    if spec.paths.len() > u16::MAX as usize {
        return Err(Error::invalid(
            "inputs",
            format!(
                "{} input files; at most {} are supported",
                spec.paths.len(),
                u16::MAX
            ),
        ));
    }
    // Distinct column names, in first-mention order.
    let mut wanted: Vec<(String, String)> = Vec::new();
    for (c, k) in &spec.columns {
        if !wanted.iter().any(|(w, _)| w == c) {
            wanted.push((c.clone(), k.clone()));
        }
    }
    let mut has_truth = spec.truth.is_some();
    let mut ds = Dataset::default();
    let mut ids = StringList::default();

    // Truth is used only if every file has the column.
    let mut readers = Vec::new();
    let mut total_bytes = 0u64;
    for (pi, path) in spec.paths.iter().enumerate() {
        if let Ok(m) = std::fs::metadata(path) {
            total_bytes += m.len();
            check_total_size(path, total_bytes, MAX_INPUT_BYTES)?;
        }
        let desc = spec.descriptions.get(pi).cloned().unwrap_or_default();
        let delim = desc.delimiter_byte().map_err(|m| Error::Input {
            path: path.clone(),
            message: format!("input[{pi}].delimiter: {m}"),
        })?;
        let t_read = std::time::Instant::now();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        progress.phase("read file", t_read);
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(Error::Input {
                path: path.clone(),
                message: "the file is empty; expected a CSV header row and at least one record"
                    .into(),
            });
        }
        let mut header = read_header(path, &bytes, delim)?;
        for from in desc.rename.keys() {
            if !header.iter().any(|h| h == from) {
                return Err(Error::Input {
                    path: path.clone(),
                    message: format!(
                        "input[{pi}].rename: no column `{from}` to rename; the header has: {}{}",
                        header.join(", "),
                        header_hint(&header, delim)
                    ),
                });
            }
        }
        if !desc.rename.is_empty() {
            let renamed: Vec<String> = header
                .iter()
                .map(|h| desc.settings_name(h).to_string())
                .collect();
            if let Some((i, h)) = renamed
                .iter()
                .enumerate()
                .find(|(i, h)| renamed[..*i].contains(h))
            {
                return Err(Error::Input {
                    path: path.clone(),
                    message: format!(
                        "input[{pi}].rename: two columns would be called `{h}` (column {} and an earlier one); rename one of them to another name",
                        i + 1
                    ),
                });
            }
            header = renamed;
        }
        if let Some(t) = &spec.truth {
            if !header.iter().any(|h| h == t) {
                has_truth = false;
            }
        }
        readers.push((path, bytes, header, desc, delim));
    }

    // Parse every file in fixed chunks, in parallel, then intern each column's values chunk by
    // chunk, in order: ids are then assigned in first-appearance order exactly as a sequential reader would.
    let n_fields = wanted.len() + usize::from(has_truth && spec.truth.is_some());
    let mut merged: Vec<FieldMerge> = (0..n_fields).map(|_| FieldMerge::default()).collect();
    for (pi, (path, bytes, header, desc, delim)) in readers.iter().enumerate() {
        let delim = *delim;
        let name = desc.source.clone().unwrap_or_else(|| stem(path));
        if ds.sources.iter().any(|s| s.name == name) {
            return Err(Error::Input {
                path: (*path).clone(),
                message: format!(
                    "two inputs share the source name `{name}`; records are keyed by (source, id), so rename one file or give input[{pi}] its own `source = \"...\"`"
                ),
            });
        }
        let unique_id = desc.unique_id.as_deref().unwrap_or(&spec.unique_id);
        let id_key = if desc.unique_id.is_some() {
            format!("input[{pi}].unique_id")
        } else {
            "unique_id".to_string()
        };
        let find = |col: &str, key: &str| -> Result<usize> {
            header
                .iter()
                .position(|h| h == col)
                .ok_or_else(|| Error::Input {
                    path: (*path).clone(),
                    message: format!(
                        "no column `{col}` (asked for by `{key}`); the header has: {}{}",
                        header.join(", "),
                        header_hint(header, delim).if_empty_then(|| format!(
                            " (if this file names it differently, map it in its [[input]] with `rename = {{ FILE_COLUMN = \"{col}\" }}`)"
                        ))
                    ),
                })
        };
        let id_idx = find(unique_id, &id_key)?;
        let truth_idx = match (&spec.truth, has_truth) {
            (Some(t), true) => Some(find(t, "truth")?),
            _ => None,
        };
        let mut fields: Vec<usize> = vec![id_idx];
        for (c, k) in &wanted {
            fields.push(find(c, k)?);
        }
        if let Some(t) = truth_idx {
            fields.push(t);
        }
        // Per field: the key of the comparison that reads it, if one does (its length is bounded).
        let mut compared: Vec<Option<&str>> = vec![None];
        for (c, _) in &wanted {
            compared.push(
                spec.columns
                    .iter()
                    .find(|(col, key)| col == c && key.starts_with("comparison["))
                    .map(|(_, key)| key.as_str()),
            );
        }
        compared.resize(fields.len(), None);
        // Per field: how its values are cleaned as they are read (none for the id).
        let target = |c: &str| {
            spec.date_targets
                .iter()
                .find(|(col, _)| col == c)
                .map(|(_, f)| *f)
        };
        let mut rules: Vec<ValueRule> = vec![ValueRule::default()];
        for (c, _) in &wanted {
            rules.push(desc.value_rule(c, target(c)));
        }
        if let (Some(t), Some(_)) = (&spec.truth, truth_idx) {
            let mut r = desc.value_rule(t, None);
            r.date = None;
            rules.push(r);
        }
        let fmt = Format {
            delim,
            rules: &rules,
        };
        let t0 = std::time::Instant::now();
        let (body_start, first_line) = body_offset(path, bytes, delim)?;
        let ranges = split_chunks(&bytes[body_start..], body_start, delim);
        let pb = progress.bar(ranges.len() as u64, &format!("reading {name}"));
        let parsed: Vec<Result<Chunk<'_>>> = ranges
            .par_iter()
            .map(|&(s, e)| {
                let c = parse_chunk(path, &bytes[s..e], header, &fields, &compared, &fmt);
                pb.inc(1);
                c
            })
            .collect();
        pb.finish_and_clear();
        let mut line = first_line;
        let start = ds.source_of.len();
        let mut file_chunks = Vec::with_capacity(parsed.len());
        for (c, &(s, e)) in parsed.into_iter().zip(&ranges) {
            let c = c.map_err(|err| shift_line(err, line - 1))?;
            line += bytes[s..e].iter().filter(|&&b| b == b'\n').count() as u64;
            ds.source_of
                .extend(std::iter::repeat_n(ds.sources.len() as u16, c.n));
            file_chunks.push(c);
        }
        let len = ds.source_of.len() - start;
        if len == 0 {
            return Err(Error::Input {
                path: (*path).clone(),
                message: "the file has a header but no records".into(),
            });
        }
        progress.phase("parse", t0);
        // The id check and the checksum run beside the merge, filling the threads that the
        // merge's one table per column leaves idle (its near-unique columns take longest). Each
        // file's chunks are merged (in order) and dropped before the next file is parsed.
        let t0 = std::time::Instant::now();
        let ((unique, sha256), ()) = rayon::join(
            || {
                rayon::join(
                    || check_unique_ids(path, bytes, &file_chunks, unique_id, delim),
                    || hex_sha256(bytes),
                )
            },
            || {
                merged
                    .par_iter_mut()
                    .enumerate()
                    .for_each(|(f, m)| m.merge(&file_chunks, f))
            },
        );
        unique?;
        for c in &file_chunks {
            ids.append(&c.ids);
        }
        drop(file_chunks);
        progress.phase("unique ids, sha256 and merge dictionaries", t0);
        ds.sources.push(Source {
            name,
            path: (*path).clone(),
            sha256,
            start,
            len,
        });
    }
    let mut merged = merged.into_iter().map(|m| (m.values, m.dict));
    ds.ids = ids;
    ds.columns = wanted
        .into_iter()
        .zip(merged.by_ref())
        .map(|((name, _), (values, dict))| Column { name, values, dict })
        .collect();
    ds.truth = merged.next().map(|(v, _)| v);
    Ok(ds)
}

/// Most bytes of CSV input one run reads: string tables (the ids, each column's distinct values)
/// address their text with 32-bit offsets.
pub const MAX_INPUT_BYTES: u64 = u32::MAX as u64;

/// Fails when the inputs read so far (`total` bytes, up to and including `path`) pass `limit`.
fn check_total_size(path: &Path, total: u64, limit: u64) -> Result<()> {
    if total > limit {
        return Err(Error::Input {
            path: path.to_path_buf(),
            message: format!(
                "the inputs come to {total} bytes with this file, over the CSV reader's limit of {limit} bytes (4 GiB: its string tables use 32-bit offsets); link at most that much per run, e.g. split the records on a blocking key into separate runs"
            ),
        });
    }
    Ok(())
}

/// Whether `path` names a Parquet file (extension `parquet`, any case): the CSV reader refuses
/// it, `fellegi link` in a build with the feature `distributed` reads it.
pub fn is_parquet(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

/// The file stem used as a record's source.
pub fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn read_header(path: &Path, bytes: &[u8], delim: u8) -> Result<Vec<String>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .delimiter(delim)
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
                    "header field {} is empty; the first row must be a header naming every column{}",
                    i + 1,
                    if h.iter()
                        .any(|f| !f.is_empty() && f.iter().all(u8::is_ascii_digit))
                    {
                        " (it holds numbers: is the header row missing?)"
                    } else {
                        ""
                    }
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

/// How one file is split and its values cleaned: the delimiter and, per wanted field (the id
/// first), the [`ValueRule`].
struct Format<'r> {
    delim: u8,
    rules: &'r [ValueRule],
}

/// `self`, or `f()` when `self` is empty.
trait IfEmpty {
    fn if_empty_then(self, f: impl FnOnce() -> String) -> String;
}

impl IfEmpty for String {
    fn if_empty_then(self, f: impl FnOnce() -> String) -> String {
        if self.is_empty() { f() } else { self }
    }
}

/// One parsed chunk of a file: its ids and, per wanted field, its values in row order.
struct Chunk<'a> {
    n: usize,
    /// The chunk's bytes, which borrowed values are spans of.
    text: &'a [u8],
    ids: StringList,
    /// Per field after the id.
    fields: Vec<LocalField>,
}

/// One field's values in one chunk, in row order, each a [`Span`]: of the chunk's text for a
/// value read as it stands, or of `owned` for one a value rule changed or the CSV reader
/// unescaped. Nothing is deduplicated here: the merge interns every value into the field's
/// one dictionary, in file order.
///
/// Earlier versions kept a hash table per field and chunk (or a local dictionary of `Cow`
/// strings for nearly distinct fields). On the 1.16M-record benchmark, alternated in one
/// session (minimum of five runs), parsing took 0.47-0.53 s that way and 0.17-0.18 s with
/// spans; the merge, which now probes its table once per value instead of once per distinct
/// value of a chunk, went from 0.18 s to 0.20-0.22 s, and the peak memory did not change.
#[derive(Default)]
struct LocalField {
    spans: Vec<u64>,
    owned: String,
}

/// A value's place, packed in 64 bits: whether it is in `owned` (bit 63), its length in bytes
/// (bits 36-62) and its offset (bits 0-35). Length 0 is a missing value.
struct Span;

impl Span {
    const OWNED: u64 = 1 << 63;
    const LEN_BITS: u32 = 27;
    const OFFSET_BITS: u32 = 36;

    /// Packs a value of `len` bytes at `offset`, or `None` when either is out of range (a
    /// chunk or arena over 64 GiB, a value over 128 MiB).
    fn pack(owned: bool, offset: usize, len: usize) -> Option<u64> {
        if offset >> Self::OFFSET_BITS != 0 || len >> Self::LEN_BITS != 0 {
            return None;
        }
        Some(
            (if owned { Self::OWNED } else { 0 })
                | (len as u64) << Self::OFFSET_BITS
                | offset as u64,
        )
    }

    fn owned(s: u64) -> bool {
        s & Self::OWNED != 0
    }

    fn len(s: u64) -> usize {
        ((s >> Self::OFFSET_BITS) & ((1 << Self::LEN_BITS) - 1)) as usize
    }

    fn offset(s: u64) -> usize {
        (s & ((1 << Self::OFFSET_BITS) - 1)) as usize
    }
}

impl<'a> Chunk<'a> {
    fn new(text: &'a [u8], n_fields: usize) -> Self {
        Chunk {
            n: 0,
            text,
            ids: StringList::default(),
            fields: (0..n_fields).map(|_| LocalField::default()).collect(),
        }
    }

    /// Checks value `v` of column `fi` on `line` and adds it as wanted field `k` (0: the id,
    /// else field `k - 1` after it), cleaned by `rule` (skipped when it changes nothing).
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn add(
        &mut self,
        path: &Path,
        line: u64,
        header: &[String],
        fi: usize,
        k: usize,
        v: &'a str,
        compared: Option<&str>,
        rule: &ValueRule,
    ) -> Result<()> {
        check_compared_len(path, line, header, fi, v, compared)?;
        if k == 0 {
            push_id(self, path, line, header, fi, v)?;
        } else if rule.is_identity() {
            self.push(path, k - 1, v)?;
        } else {
            self.push(path, k - 1, &rule.apply(Cow::Borrowed(v)))?;
        }
        Ok(())
    }

    /// Adds value `v` of field `k` (after the id): as a span of the chunk's text when it is one,
    /// else copied to the field's `owned` text.
    #[inline]
    fn push(&mut self, path: &Path, k: usize, v: &str) -> Result<()> {
        let f = &mut self.fields[k];
        if v.is_empty() {
            f.spans.push(0);
            return Ok(());
        }
        let at = (v.as_ptr() as usize).wrapping_sub(self.text.as_ptr() as usize);
        let span = if at < self.text.len() && v.len() <= self.text.len() - at {
            Span::pack(false, at, v.len())
        } else {
            f.owned.push_str(v);
            Span::pack(true, f.owned.len() - v.len(), v.len())
        };
        let span = span.ok_or_else(|| Error::Input {
            path: path.to_path_buf(),
            message: "a value is over 128 MiB after cleaning, or one column's cleaned text in one sixteenth of the file is over 64 GiB, more than the reader can address; split the file or shorten that column's values".into(),
        })?;
        f.spans.push(span);
        Ok(())
    }

    /// The value of `span` in field `k` (`""`: missing).
    #[inline]
    fn get(&self, k: usize, span: u64) -> &str {
        let (o, n) = (Span::offset(span), Span::len(span));
        if Span::owned(span) {
            &self.fields[k].owned[o..o + n]
        } else {
            // SAFETY: `push` makes a text span only of a `&str` lying inside `self.text`, so
            // the bytes at the span are that string's, valid UTF-8.
            unsafe { std::str::from_utf8_unchecked(&self.text[o..o + n]) }
        }
    }
}

/// Byte offset where the records start, and the line number of the first record.
fn body_offset(path: &Path, bytes: &[u8], delim: u8) -> Result<(usize, u64)> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .delimiter(delim)
        .from_reader(bytes);
    rdr.byte_headers().map_err(|e| csv_error(path, e))?;
    let p = rdr.position();
    Ok((p.byte() as usize, p.line()))
}

/// Splits `body` (starting at absolute offset `base`) into about 16 ranges ending at newlines
/// outside quoted fields. The split is a function of the bytes only.
fn split_chunks(body: &[u8], base: usize, delim: u8) -> Vec<(usize, usize)> {
    const CHUNKS: usize = 16;
    let n = body.len();
    if n < (1 << 16) {
        return vec![(base, base + n)];
    }
    let mut cuts = vec![0usize];
    if !body.contains(&b'"') {
        for i in 1..CHUNKS {
            let t = n * i / CHUNKS;
            if t <= *cuts.last().unwrap_or(&0) {
                continue;
            }
            if let Some(p) = body[t..].iter().position(|&b| b == b'\n') {
                cuts.push(t + p + 1);
            }
        }
    } else {
        // RFC 4180 as the csv crate reads it: a quote opens a quoted field only at the start of
        // a field; inside one, `""` is an escaped quote; elsewhere a quote is data.
        #[derive(PartialEq)]
        enum St {
            FieldStart,
            Unquoted,
            Quoted,
            QuoteInQuoted,
        }
        let mut st = St::FieldStart;
        let mut next = 1usize;
        for (i, &b) in body.iter().enumerate() {
            st = match (st, b) {
                (St::FieldStart, b'"') => St::Quoted,
                (St::Quoted, b'"') => St::QuoteInQuoted,
                (St::Quoted, _) => St::Quoted,
                (St::QuoteInQuoted, b'"') => St::Quoted,
                (_, b) if b == delim => St::FieldStart,
                (_, b'\n') => {
                    if i >= n * next / CHUNKS {
                        cuts.push(i + 1);
                        next += 1;
                        if next == CHUNKS {
                            break;
                        }
                    }
                    St::FieldStart
                }
                _ => St::Unquoted,
            };
        }
    }
    cuts.push(n);
    cuts.dedup();
    cuts.windows(2)
        .map(|w| (base + w[0], base + w[1]))
        .collect()
}

fn parse_chunk<'a>(
    path: &Path,
    bytes: &'a [u8],
    header: &[String],
    fields: &[usize],
    compared: &[Option<&str>],
    fmt: &Format<'_>,
) -> Result<Chunk<'a>> {
    let lone_cr = || {
        bytes
            .iter()
            .enumerate()
            .any(|(i, &b)| b == b'\r' && bytes.get(i + 1) != Some(&b'\n'))
    };
    let needs_csv = bytes.contains(&b'"') || (bytes.contains(&b'\r') && lone_cr());
    if !needs_csv {
        if fmt.delim.is_ascii() && fmt.delim != b'\n' && fmt.delim != b'\r' && !bytes.contains(&0) {
            if let Ok(text) = std::str::from_utf8(bytes) {
                return parse_scanned(path, text, header, fields, compared, fmt);
            }
        }
        return parse_plain(path, bytes, header, fields, compared, fmt);
    }
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(fmt.delim)
        .flexible(true)
        .from_reader(bytes);
    let mut rec = csv::ByteRecord::new();
    let mut out = Chunk::new(bytes, fields.len() - 1);
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(csv_error(path, e)),
        }
        let line = rec.position().map_or(0, |p| p.line());
        if rec.len() == 1 && rec[0].is_empty() && header.len() > 1 {
            continue; // a blank line
        }
        if rec.len() < header.len() && rec.iter().any(|f| f.contains(&b'\n')) {
            // A field that runs over several lines and a row short of fields: the usual cause is
            // a quote opened on this line and never closed, which swallows the lines after it.
            return Err(Error::Csv {
                path: path.to_path_buf(),
                line,
                message: format!(
                    "row has {} fields but the header has {}, and a quoted field starting on this line runs over several lines: a quote opened here is probably never closed; close it, or write a literal quote inside a quoted field as \"\"",
                    rec.len(),
                    header.len()
                ),
            });
        }
        check_row(path, line, header, rec.len(), rec.iter().map(|f| f.len()))?;
        for (k, &fi) in fields.iter().enumerate() {
            let v = field_str(path, line, header, fi, &rec[fi])?;
            check_compared_len(path, line, header, fi, v, compared[k])?;
            if k == 0 {
                push_id(&mut out, path, line, header, fi, v)?;
            } else {
                let v = fmt.rules[k].apply(Cow::Borrowed(v));
                out.push(path, k - 1, &v)?;
            }
        }
        out.n += 1;
    }
    Ok(out)
}

/// Which wanted fields (`k`, indices into `fields`) each of `n_columns` columns feeds.
fn wanted_by_column(n_columns: usize, fields: &[usize]) -> Vec<Vec<usize>> {
    let mut want: Vec<Vec<usize>> = vec![Vec::new(); n_columns];
    for (k, &fi) in fields.iter().enumerate() {
        want[fi].push(k);
    }
    want
}

/// The fast path for text without quote characters, valid UTF-8 and free of NUL bytes, with an
/// ASCII delimiter: one vectorised scan ([`memchr::memchr2_iter`]) finds every delimiter and
/// line end of the chunk, and fields are slices of the chunk's text, so no field is validated
/// on its own; values whose column's rule is the identity skip it. Otherwise (or to name the
/// line of a bad byte) [`parse_plain`] reads the chunk field by field. The same chunk gives the
/// same [`Chunk`] either way (a property test checks it), each value added by [`Chunk::add`]. On the 1.16M-record benchmark,
/// alternated in one session (minimum of four runs), parsing took 0.71 s field by field and
/// 0.51 s so.
fn parse_scanned<'a>(
    path: &Path,
    text: &'a str,
    header: &[String],
    fields: &[usize],
    compared: &[Option<&str>],
    fmt: &Format<'_>,
) -> Result<Chunk<'a>> {
    let bytes = text.as_bytes();
    let mut out = Chunk::new(bytes, fields.len() - 1);
    let want = wanted_by_column(header.len(), fields);
    let mut line = 0u64;
    // Byte ranges of the current record's fields.
    let mut cols: Vec<(usize, usize)> = Vec::with_capacity(header.len());
    let mut record = |cols: &mut Vec<(usize, usize)>, line: u64| -> Result<()> {
        if let Some(last) = cols.last_mut() {
            if last.1 > last.0 && bytes[last.1 - 1] == b'\r' {
                last.1 -= 1;
            }
        }
        if cols.len() == 1 && cols[0].0 == cols[0].1 {
            cols.clear();
            return Ok(()); // a blank line
        }
        check_row(
            path,
            line,
            header,
            cols.len(),
            cols.iter().map(|(a, b)| b - a),
        )?;
        for (fi, ks) in want.iter().enumerate() {
            let (a, b) = cols[fi];
            let v = &text[a..b];
            for &k in ks {
                out.add(path, line, header, fi, k, v, compared[k], &fmt.rules[k])?;
            }
        }
        out.n += 1;
        cols.clear();
        Ok(())
    };
    let mut start = 0usize;
    for pos in memchr::memchr2_iter(fmt.delim, b'\n', bytes) {
        cols.push((start, pos));
        start = pos + 1;
        if bytes[pos] == b'\n' {
            line += 1;
            record(&mut cols, line)?;
        }
    }
    if start < bytes.len() || !cols.is_empty() {
        cols.push((start, bytes.len()));
        line += 1;
        record(&mut cols, line)?;
    }
    Ok(out)
}

/// Text without quote characters, field by field: fields are plain slices of the file.
fn parse_plain<'a>(
    path: &Path,
    bytes: &'a [u8],
    header: &[String],
    fields: &[usize],
    compared: &[Option<&str>],
    fmt: &Format<'_>,
) -> Result<Chunk<'a>> {
    let mut out = Chunk::new(bytes, fields.len() - 1);
    let want = wanted_by_column(header.len(), fields);
    let mut line = 0u64;
    let mut cols: Vec<&'a [u8]> = Vec::with_capacity(header.len());
    for raw in bytes.split(|&b| b == b'\n') {
        line += 1;
        let rec = raw.strip_suffix(b"\r").unwrap_or(raw);
        if rec.is_empty() {
            continue; // a blank line (or the end of the chunk)
        }
        cols.clear();
        cols.extend(rec.split(|&b| b == fmt.delim));
        check_row(path, line, header, cols.len(), cols.iter().map(|f| f.len()))?;
        for (fi, ks) in want.iter().enumerate() {
            for &k in ks {
                let v = field_str(path, line, header, fi, cols[fi])?;
                out.add(path, line, header, fi, k, v, compared[k], &fmt.rules[k])?;
            }
        }
        out.n += 1;
    }
    Ok(out)
}

/// A hint for a header that lacks a wanted column: one field holding another delimiter, or
/// fields that are numbers (a missing header row).
fn header_hint(header: &[String], delim: u8) -> String {
    if let [only] = header {
        if let Some(d) = [',', ';', '\t', '|']
            .into_iter()
            .find(|&d| d as u32 != u32::from(delim) && only.contains(d))
        {
            return format!(
                " (one field holding {d:?}: the file is read as {:?}-separated; give this file's [[input]] `delimiter = \"{}\"` in the settings, or convert the file to {:?}-separated)",
                delim as char,
                d.escape_debug(),
                delim as char
            );
        }
    }
    if header
        .iter()
        .any(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_digit()))
    {
        return " (it holds numbers: is the header row missing? the first row must name the columns)"
            .into();
    }
    String::new()
}

/// Checks the field count and field sizes of one row.
pub(super) fn check_row(
    path: &Path,
    line: u64,
    header: &[String],
    n: usize,
    sizes: impl Iterator<Item = usize>,
) -> Result<()> {
    if n != header.len() {
        return Err(Error::Csv {
            path: path.to_path_buf(),
            line,
            message: format!(
                "row has {n} fields but the header has {}; quote fields that contain commas",
                header.len()
            ),
        });
    }
    for (fi, len) in sizes.enumerate() {
        if len > MAX_FIELD_BYTES {
            return Err(Error::Csv {
                path: path.to_path_buf(),
                line,
                message: format!(
                    "field `{}` is {len} bytes, over the {MAX_FIELD_BYTES} byte limit; check for an unclosed quote",
                    header[fi]
                ),
            });
        }
    }
    Ok(())
}

pub(super) fn field_str<'b>(
    path: &Path,
    line: u64,
    header: &[String],
    fi: usize,
    f: &'b [u8],
) -> Result<&'b str> {
    let s = std::str::from_utf8(f).map_err(|e| Error::Csv {
        path: path.to_path_buf(),
        line,
        message: format!(
            "column `{}` is not valid UTF-8 (byte {}); re-encode the file as UTF-8",
            header[fi],
            e.valid_up_to()
        ),
    })?;
    if let Some(at) = s.find('\0') {
        return Err(Error::Csv {
            path: path.to_path_buf(),
            line,
            message: format!(
                "column `{}` holds a NUL byte (byte {at}); the file may be UTF-16 or binary: save it as UTF-8 text",
                header[fi]
            ),
        });
    }
    Ok(s)
}

/// Checks a compared value against [`MAX_COMPARED_CHARS`]; `key` names the comparison reading
/// the column (`None`: not compared, no limit).
pub(super) fn check_compared_len(
    path: &Path,
    line: u64,
    header: &[String],
    fi: usize,
    v: &str,
    key: Option<&str>,
) -> Result<()> {
    let Some(key) = key else { return Ok(()) };
    // Bytes bound characters from above, so most values need no count.
    if v.len() <= MAX_COMPARED_CHARS {
        return Ok(());
    }
    let n = v.chars().count();
    if n <= MAX_COMPARED_CHARS {
        return Ok(());
    }
    Err(Error::Csv {
        path: path.to_path_buf(),
        line,
        message: format!(
            "column `{}` (read by `{key}`) holds a value of {n} characters, over the {MAX_COMPARED_CHARS}-character limit for compared values (comparisons cost up to the square of the length); shorten or clear that field, or leave the column out of the comparisons",
            header[fi]
        ),
    })
}

fn push_id(
    out: &mut Chunk<'_>,
    path: &Path,
    line: u64,
    header: &[String],
    fi: usize,
    v: &str,
) -> Result<()> {
    check_id(path, line, header, fi, v)?;
    out.ids.push(v);
    Ok(())
}

/// Fails on an empty id.
pub(super) fn check_id(
    path: &Path,
    line: u64,
    header: &[String],
    fi: usize,
    v: &str,
) -> Result<()> {
    if v.is_empty() {
        return Err(Error::Csv {
            path: path.to_path_buf(),
            line,
            message: format!(
                "empty id in column `{}`; every record needs a unique id",
                header[fi]
            ),
        });
    }
    Ok(())
}

/// Adds `offset` lines to a chunk-relative CSV error.
fn shift_line(e: Error, offset: u64) -> Error {
    match e {
        Error::Csv {
            path,
            line,
            message,
        } => Error::Csv {
            path,
            line: line + offset,
            message,
        },
        other => other,
    }
}

/// A hash table from strings to ids that keeps each string's hash and, for strings of at most
/// [`INLINE`] bytes (names, dates, codes), the bytes themselves in the slot: finding such a
/// value reads only the table, not the dictionary it indexes. Longer values are confirmed
/// against the dictionary through the caller's `long` lookup.
#[derive(Default)]
struct IdTable {
    table: hashbrown::HashTable<Slot>,
}

/// Longest string kept inline in an [`IdTable`] slot.
const INLINE: usize = 20;

#[derive(Clone, Copy)]
struct Slot {
    hash: u64,
    id: u32,
    len: u32,
    key: [u8; INLINE],
}

impl IdTable {
    /// The id of `v` if present, else `fresh()` inserted as its id. `long(id)` gives the
    /// string of an id whose string is over [`INLINE`] bytes.
    #[inline]
    fn intern<'s>(
        &mut self,
        v: &str,
        long: impl Fn(u32) -> &'s str,
        fresh: impl FnOnce() -> u32,
    ) -> u32 {
        let h = str_hash(v);
        let b = v.as_bytes();
        let short = b.len() <= INLINE;
        let found = self.table.find(h, |s| {
            s.hash == h
                && s.len as usize == b.len()
                && if short {
                    s.key[..b.len()] == *b
                } else {
                    long(s.id).as_bytes() == b
                }
        });
        if let Some(s) = found {
            return s.id;
        }
        let id = fresh();
        let mut key = [0u8; INLINE];
        if short {
            key[..b.len()].copy_from_slice(b);
        }
        self.table.insert_unique(
            h,
            Slot {
                hash: h,
                id,
                len: b.len() as u32,
                key,
            },
            |s| s.hash,
        );
        id
    }
}

/// One field's values and dictionary, merged from chunks in file and chunk order (ids in
/// first-appearance order, exactly as a sequential reader assigns them).
#[derive(Default)]
struct FieldMerge {
    /// Ids into `dict`, hashed by their strings (no second copy of each string: merging the
    /// 1.16M-record benchmark's dictionaries took 0.35-0.40 s with a map keyed by boxed
    /// strings, 0.14-0.22 s so, alternated in one session).
    map: IdTable,
    dict: StringList,
    values: Vec<u32>,
}

fn str_hash(s: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(s)
}

impl FieldMerge {
    /// Interns field `f` of `chunks` (the next chunks of the input, in order).
    fn merge(&mut self, chunks: &[Chunk<'_>], f: usize) {
        self.values.reserve(chunks.iter().map(|c| c.n).sum());
        for c in chunks {
            for &span in &c.fields[f].spans {
                let v = c.get(f, span);
                if v.is_empty() {
                    self.values.push(MISSING);
                    continue;
                }
                let dict = &self.dict;
                let n = dict.len() as u32;
                let id = self.map.intern(v, |i| dict.get(i as usize), || n);
                if id == n {
                    self.dict.push(v);
                }
                self.values.push(id);
            }
        }
    }
}

/// Fails on the first repeated id of a file, naming both lines.
fn check_unique_ids(
    path: &Path,
    bytes: &[u8],
    chunks: &[Chunk<'_>],
    id_col: &str,
    delim: u8,
) -> Result<()> {
    let n: usize = chunks.iter().map(|c| c.n).sum();
    let ids = chunks.iter().flat_map(|c| c.ids.iter());
    if let Some((first, k, id)) = first_repeat(ids, n) {
        let lines = record_lines(bytes, delim);
        let at = |r: usize| lines.get(r).copied().unwrap_or(0);
        return Err(Error::Csv {
            path: path.to_path_buf(),
            line: at(k),
            message: format!(
                "duplicate id `{id}` in column `{id_col}` (first on line {}); ids must be unique within a file",
                at(first)
            ),
        });
    }
    Ok(())
}

/// The first repeated id among `n` ids: the index of its first occurrence, of the repeat, and
/// the id.
pub(super) fn first_repeat<'a>(
    ids: impl Iterator<Item = &'a str>,
    n: usize,
) -> Option<(usize, usize, &'a str)> {
    let mut seen: FxHashMap<&str, usize> =
        FxHashMap::with_capacity_and_hasher(n, Default::default());
    for (k, id) in ids.enumerate() {
        if let Some(first) = seen.insert(id, k) {
            return Some((first, k, id));
        }
    }
    None
}

/// Line number of every record (error path only).
fn record_lines(bytes: &[u8], delim: u8) -> Vec<u64> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .delimiter(delim)
        .flexible(true)
        .from_reader(bytes);
    let mut rec = csv::ByteRecord::new();
    let mut out = Vec::new();
    // Lines counted from the record's byte offset: the reader's own line count runs one short
    // in files with CRLF line ends, where a record's offset is the `\n` ending the line before
    // it (so the byte at the offset is counted too).
    let (mut at, mut line) = (0usize, 1u64);
    while let Ok(true) = rdr.read_byte_record(&mut rec) {
        if rec.len() == 1 && rec[0].is_empty() {
            continue;
        }
        let end = rec
            .position()
            .map_or(at, |p| p.byte() as usize + 1)
            .clamp(at, bytes.len());
        line += bytes[at..end].iter().filter(|&&b| b == b'\n').count() as u64;
        at = end;
        out.push(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_over_the_size_limit_are_refused_with_the_file_and_the_fix() {
        let p = Path::new("big.csv");
        assert!(check_total_size(p, 100, 100).is_ok());
        let e = check_total_size(p, 101, 100).unwrap_err().to_string();
        assert!(e.contains("big.csv") && e.contains("101 bytes"), "{e}");
        assert!(
            e.contains("limit of 100 bytes") && e.contains("per run"),
            "{e}"
        );
        assert_eq!(MAX_INPUT_BYTES, 4_294_967_295);
    }

    proptest::proptest! {
        /// The scanning parser and the field-by-field one read any quote-free chunk alike:
        /// the same records, ids and values, or the same error on the same line.
        #[test]
        fn scanned_and_plain_parsing_agree(
            noise in "[ab1é,\r\n]{0,80}",
            rows in proptest::collection::vec(("[ab1é]{0,3}", "[ab1é]{0,3}", "[ab1é]{0,3}", "\n|\r\n|\n\n|,\n"), 0..12),
            last_newline in proptest::bool::ANY,
            use_noise in proptest::bool::ANY,
            skip_missing in proptest::bool::ANY,
        ) {
            let mut text = String::new();
            for (i, (_, x, y, end)) in rows.iter().enumerate() {
                text.push_str(&format!("{i},{x},{y}{end}"));
            }
            if !last_newline {
                text.pop();
            }
            let text = if use_noise { noise } else { text };
            let header: Vec<String> = ["id", "x", "y"].iter().map(|h| h.to_string()).collect();
            let fields = [0usize, 2, 1, 2];
            let compared = [None, Some("comparison[0]"), None, None];
            let mut rule = ValueRule::default();
            if skip_missing {
                rule.missing = vec!["b".into()];
            }
            let rules = [ValueRule::default(), rule.clone(), ValueRule::default(), rule];
            let fmt = Format { delim: b',', rules: &rules };
            let path = Path::new("t.csv");
            let a = parse_scanned(path, &text, &header, &fields, &compared, &fmt);
            let b = parse_plain(path, text.as_bytes(), &header, &fields, &compared, &fmt);
            match (a, b) {
                (Ok(a), Ok(b)) => {
                    proptest::prop_assert_eq!(a.n, b.n);
                    proptest::prop_assert_eq!(a.ids.iter().collect::<Vec<_>>(), b.ids.iter().collect::<Vec<_>>());
                    for k in 0..a.fields.len() {
                        let va: Vec<&str> = a.fields[k].spans.iter().map(|&s| a.get(k, s)).collect();
                        let vb: Vec<&str> = b.fields[k].spans.iter().map(|&s| b.get(k, s)).collect();
                        proptest::prop_assert_eq!(va, vb);
                    }
                }
                (Err(a), Err(b)) => proptest::prop_assert_eq!(a.to_string(), b.to_string()),
                (a, b) => proptest::prop_assert!(false, "scanned {:?} plain {:?}", a.map(|c| c.n), b.map(|c| c.n)),
            }
        }
    }

    /// A file of several chunks with a nearly unique column, repeats across chunks, long values,
    /// missing values and, in one chunk, quoted fields (that chunk goes through the CSV reader
    /// and its values are copied, see [`LocalField`]): every column reads back value for value,
    /// with each dictionary holding distinct values in first-appearance order, as a sequential
    /// reader would assign them.
    #[test]
    fn values_are_interned_in_first_appearance_order_across_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("many.csv");
        // 16 chunks of 6,250 rows.
        let n = 100_000usize;
        let value = |i: usize, c: usize| -> String {
            match c {
                // unique for the first 8,000 rows, then values seen earlier and new ones
                0 if i < 8_000 => format!("u{i}"),
                0 => format!("u{}", (i * 7) % 12_000),
                // long values (not kept inline), a few hundred distinct
                1 => format!("{}-{}", "x".repeat(30), (i * 13) % 311),
                // low cardinality with some missing
                2 if i % 17 == 0 => String::new(),
                2 => format!("g{}", i % 5),
                // a comma (so quoted in the file) in a few rows of one chunk
                _ if (50_000..50_100).contains(&i) => format!("q,{}", i % 3),
                _ => format!("q{}", i % 3),
            }
        };
        let mut text = String::from("record_id,a,b,c,d\n");
        for i in 0..n {
            let d = value(i, 3);
            let d = if d.contains(',') {
                format!("\"{d}\"")
            } else {
                d
            };
            text.push_str(&format!(
                "{i},{},{},{},{d}\n",
                value(i, 0),
                value(i, 1),
                value(i, 2)
            ));
        }
        assert!(text.len() > 1 << 16, "the file spans several chunks");
        std::fs::write(&path, text).unwrap();
        let spec = InputSpec {
            paths: vec![path],
            unique_id: "record_id".into(),
            columns: ["a", "b", "c", "d"]
                .iter()
                .map(|c| (c.to_string(), format!("comparison[{c}]")))
                .collect(),
            ..Default::default()
        };
        let ds = read_csv_files(&spec, &crate::progress::Progress::default()).unwrap();
        assert_eq!(ds.len(), n);
        for (c, col) in ds.columns.iter().enumerate() {
            let mut next = 0u32;
            for (i, &v) in col.values.iter().enumerate() {
                let want = value(i, c);
                if want.is_empty() {
                    assert_eq!(v, MISSING);
                    continue;
                }
                assert_eq!(col.dict.get(v as usize), want, "column {c} row {i}");
                assert!(v <= next, "ids are assigned in first-appearance order");
                if v == next {
                    next += 1;
                }
            }
            assert_eq!(
                next as usize,
                col.dict.len(),
                "every dictionary entry is used once"
            );
        }
    }
}
