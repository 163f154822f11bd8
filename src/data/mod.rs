//! Input data: a columnar [`Dataset`] of one or more sources, with interned values.
//!
//! Each compared column is stored as one `u32` per record indexing into the column's dictionary of
//! distinct values ([`MISSING`] for an empty field), so exact comparison is an integer compare and
//! string comparators run once per distinct value where they can. A record is keyed by
//! (source, id): `source` is its file's stem (or its [`InputDescription`]'s `source`), `id` its
//! unique-id value verbatim.

pub mod date;
mod input;
mod link_type;
mod memory;
mod reader;
mod truth;

pub use input::{InputDescription, ValueRule};
pub use link_type::LinkType;
pub use memory::{MemorySource, MemorySpec, TextColumn, content_sha256, read_memory};
pub use truth::{count_true_pairs, for_each_true_pair};

pub use reader::{
    InputSpec, MAX_COMPARED_CHARS, MAX_FIELD_BYTES, hex_sha256, is_parquet, read_csv_files,
    stem as stem_of,
};

use rustc_hash::FxHashMap;

/// Asks the processor to bring the cache line holding `x` into every cache level without
/// waiting for it (`prefetcht0` on x86-64; nothing elsewhere). It never faults and changes no
/// result: the blocked comparison issues it for the next groups' records so their rows and
/// value profiles arrive while the current group's pairs are compared.
/// Every line `x` spans is requested (a 96-byte string profile spans two or three).
#[inline(always)]
pub fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let start = (x as *const T).cast::<i8>();
        let first = start as usize & !63;
        let last = (start as usize + std::mem::size_of::<T>().max(1) - 1) & !63;
        let mut line = first;
        while line <= last {
            // SAFETY: a prefetch is a hint; it reads nothing architecturally and cannot
            // fault, whatever the address (the pointer is formed from `start` by offsetting
            // within or just before the object, never dereferenced).
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(start.wrapping_add(line.wrapping_sub(start as usize)))
            };
            line += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// Marker for a missing value in [`Column::values`].
pub const MISSING: u32 = u32::MAX;

/// One column of the dataset, interned.
#[derive(Debug, Clone, Default)]
pub struct Column {
    /// Column name as in the CSV header.
    pub name: String,
    /// Per record: index into `dict`, or [`MISSING`].
    pub values: Vec<u32>,
    /// Distinct non-empty values, in order of first appearance (one buffer, see [`StringList`]).
    pub dict: StringList,
}

impl Column {
    /// The value of record `r`, or `None` when missing.
    pub fn get(&self, r: usize) -> Option<&str> {
        match self.values[r] {
            MISSING => None,
            v => Some(&self.dict[v as usize]),
        }
    }

    /// Applies `f` to every distinct value and re-interns the results; empty results become missing.
    pub fn map_values(&self, name: String, f: impl Fn(&str) -> String) -> Column {
        let mut interner = Interner::default();
        let remap: Vec<u32> = self.dict.iter().map(|v| interner.intern(&f(v))).collect();
        let values = self
            .values
            .iter()
            .map(|&v| {
                if v == MISSING {
                    MISSING
                } else {
                    remap[v as usize]
                }
            })
            .collect();
        Column {
            name,
            values,
            dict: interner.into_dict(),
        }
    }
}

/// Interns strings to dense `u32` ids in order of first appearance; the empty string is [`MISSING`].
#[derive(Debug, Default)]
pub struct Interner {
    map: FxHashMap<String, u32>,
    dict: StringList,
}

impl Interner {
    /// The id of `s`, adding it if new.
    pub fn intern(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return MISSING;
        }
        if let Some(&id) = self.map.get(s) {
            return id;
        }
        let id = self.dict.len() as u32;
        self.map.insert(s.to_string(), id);
        self.dict.push(s);
        id
    }

    /// Number of distinct values so far.
    pub fn len(&self) -> usize {
        self.dict.len()
    }

    /// Whether nothing was interned.
    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }

    /// The distinct values in id order.
    pub fn into_dict(self) -> StringList {
        self.dict
    }
}

/// One input file.
#[derive(Debug, Clone)]
pub struct Source {
    /// The source name of its records: the file's stem, or its description's `source`.
    pub name: String,
    /// The file read.
    pub path: std::path::PathBuf,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
    /// Index of its first record in the dataset.
    pub start: usize,
    /// Number of records.
    pub len: usize,
}

/// Compact storage of many short strings (one buffer plus offsets).
#[derive(Debug, Clone, Default)]
pub struct StringList {
    buf: String,
    ends: Vec<u32>,
}

impl StringList {
    /// Appends a string.
    pub fn push(&mut self, s: &str) {
        self.buf.push_str(s);
        self.ends.push(self.buf.len() as u32);
    }
    /// Appends every string of `other`, in order.
    pub fn append(&mut self, other: &StringList) {
        let base = self.buf.len() as u32;
        self.buf.push_str(&other.buf);
        self.ends.extend(other.ends.iter().map(|&e| base + e));
    }
    /// Appends strings given as one block of text and each string's end within it
    /// (non-decreasing, the last at most `text.len()`, each on a character boundary).
    ///
    /// # Errors
    /// A message when the ends are out of order, out of range or not on character boundaries,
    /// or the list would pass 4 GiB.
    pub fn push_block(&mut self, text: &str, ends: &[u32]) -> std::result::Result<(), String> {
        let base = self.buf.len();
        if base + text.len() > u32::MAX as usize {
            return Err("string table over 4 GiB".into());
        }
        let mut last = 0u32;
        for &e in ends {
            if e < last || e as usize > text.len() || !text.is_char_boundary(e as usize) {
                return Err(format!("string end {e} out of order or range"));
            }
            last = e;
        }
        self.buf.push_str(&text[..last as usize]);
        self.ends.extend(ends.iter().map(|&e| base as u32 + e));
        Ok(())
    }
    /// The `i`-th string.
    pub fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.buf[start..self.ends[i] as usize]
    }
    /// Number of strings.
    pub fn len(&self) -> usize {
        self.ends.len()
    }
    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
    /// The strings in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + DoubleEndedIterator + Clone {
        (0..self.len()).map(move |i| self.get(i))
    }
    /// The strings in order, as a parallel iterator.
    pub fn par_iter(&self) -> impl rayon::iter::IndexedParallelIterator<Item = &str> {
        use rayon::prelude::*;
        (0..self.len()).into_par_iter().map(move |i| self.get(i))
    }
}

impl std::ops::Index<usize> for StringList {
    type Output = str;
    fn index(&self, i: usize) -> &str {
        self.get(i)
    }
}

impl<S: AsRef<str>> FromIterator<S> for StringList {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let mut out = StringList::default();
        for s in iter {
            out.push(s.as_ref());
        }
        out
    }
}

impl Column {
    /// A column of `words` interned in order, the empty word read as missing (for tests and
    /// small in-memory tables).
    pub fn of_words<S: AsRef<str>>(name: &str, words: &[S]) -> Column {
        let mut int = Interner::default();
        let values = words
            .iter()
            .map(|w| {
                let w = w.as_ref();
                if w.is_empty() { MISSING } else { int.intern(w) }
            })
            .collect();
        Column {
            name: name.into(),
            values,
            dict: int.into_dict(),
        }
    }
}

/// Records from one or more sources, columnar and interned.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// The input files, in the order given; records of source `s` are `sources[s].start..+len`.
    pub sources: Vec<Source>,
    /// Per record: index into `sources`.
    pub source_of: Vec<u16>,
    /// Per record: the unique id, verbatim.
    pub ids: StringList,
    /// Per record: interned ground-truth entity, [`MISSING`] where unknown; `None` without truth.
    pub truth: Option<Vec<u32>>,
    /// The columns read (those the settings use).
    pub columns: Vec<Column>,
}

impl Dataset {
    /// Number of records.
    pub fn len(&self) -> usize {
        self.source_of.len()
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.source_of.is_empty()
    }

    /// Index of the column called `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The source name of record `r`.
    pub fn source_name(&self, r: usize) -> &str {
        &self.sources[self.source_of[r] as usize].name
    }

    /// Number of records in each source.
    pub fn source_sizes(&self) -> Vec<u64> {
        self.sources.iter().map(|s| s.len as u64).collect()
    }
}

#[cfg(test)]
mod tests {
    /// Objects spanning several cache lines, at every alignment: the line arithmetic must not
    /// overflow (debug builds check it; a panic here once broke every debug-built run).
    #[test]
    fn prefetch_spans_any_object() {
        let buf = [7u8; 512];
        for off in 0..64 {
            let big: &[u8; 200] = buf[off..off + 200].try_into().unwrap();
            super::prefetch(big);
            super::prefetch(&buf[off]);
        }
        super::prefetch(&());
        assert_eq!(buf[0], 7);
    }
}
