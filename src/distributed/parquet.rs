//! Parquet inputs for the distributed engine (`fellegi link --input FILE.parquet` in a build
//! with the feature `distributed`, which brings the `parquet` crate through Ballista).
//!
//! Each file is one source named by its stem, as a CSV file is. Every column is read as text:
//! text columns as they are, other Arrow types cast to their text form by Arrow's `cast`
//! (integers as decimal digits, dates as `YYYY-MM-DD`), nulls as missing values; then
//! [`crate::pipeline::load_memory`] builds the dataset exactly as from CSV text. The recorded
//! digest of each input is the SHA-256 of the Parquet file's bytes.
//!
//! A typed column is compared in its text form, so store identifiers and codes as text: a
//! postcode or id column that a writer inferred as integers has already lost its leading zeros
//! (FEBRL4 written by pyarrow's default CSV reader loses them in 92 records, and the fitted
//! weights differ slightly from the CSV run's; written as text it gives the CSV run's bytes).

use std::path::{Path, PathBuf};

use ballista::datafusion::arrow::array::{Array, StringArray};
use ballista::datafusion::arrow::compute::cast;
use ballista::datafusion::arrow::datatypes::DataType;
use ballista::datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::data::{Dataset, MemorySource, TextColumn};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::settings::Settings;

/// One column of a Parquet file as text, batch by batch.
struct Chunked {
    chunks: Vec<StringArray>,
    /// Row where each chunk starts, then the total.
    starts: Vec<usize>,
}

impl TextColumn for Chunked {
    fn len(&self) -> usize {
        *self.starts.last().unwrap_or(&0)
    }
    fn value(&self, row: usize) -> Option<&str> {
        let c = self.starts.partition_point(|&s| s <= row) - 1;
        let a = &self.chunks[c];
        let i = row - self.starts[c];
        (!a.is_null(i)).then(|| a.value(i))
    }
}

fn bad(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::invalid(
        "--input",
        format!(
            "{}: cannot read it as Parquet ({what}); give a Parquet file written by Arrow, Spark, DuckDB or pandas, or a CSV file",
            path.display()
        ),
    )
}

/// One Parquet file read: its stem, its columns as text and the SHA-256 of its bytes.
struct Table {
    name: String,
    columns: Vec<(String, Chunked)>,
    sha256: String,
}

/// Reads one Parquet file (once: its bytes are hashed and decoded, as the CSV reader does).
fn read_file(path: &Path) -> Result<Table> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let sha = crate::data::hex_sha256(&bytes);
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
        .map_err(|e| bad(path, e))?;
    let schema = builder.schema().clone();
    let reader = builder.build().map_err(|e| bad(path, e))?;
    let mut cols: Vec<(String, Chunked)> = schema
        .fields()
        .iter()
        .map(|f| {
            (
                f.name().clone(),
                Chunked {
                    chunks: Vec::new(),
                    starts: vec![0],
                },
            )
        })
        .collect();
    for batch in reader {
        let batch = batch.map_err(|e| bad(path, e))?;
        for (i, (name, col)) in cols.iter_mut().enumerate() {
            let a = cast(batch.column(i), &DataType::Utf8)
                .map_err(|e| bad(path, format!("column `{name}` cannot be read as text: {e}")))?;
            let a = a
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| bad(path, format!("column `{name}` is not text")))?
                .clone();
            let end = col.starts.last().copied().unwrap_or(0) + a.len();
            col.chunks.push(a);
            col.starts.push(end);
        }
    }
    Ok(Table {
        name: crate::data::stem_of(path),
        columns: cols,
        sha256: sha,
    })
}

/// Loads Parquet inputs as [`crate::pipeline::load`] loads CSV files: the columns the settings
/// read, then the settings' transforms.
///
/// # Errors
/// [`Error::Io`] when a file cannot be read; [`Error::Invalid`] naming the file when it is not
/// Parquet or a column cannot be read as text; the errors of
/// [`crate::pipeline::load_memory`] (a missing column names it).
pub fn load(settings: &Settings, paths: &[PathBuf], progress: &Progress) -> Result<Dataset> {
    let t = std::time::Instant::now();
    let tables = paths
        .iter()
        .map(|p| read_file(p))
        .collect::<Result<Vec<_>>>()?;
    progress.phase("read parquet", t);
    let sources: Vec<MemorySource<'_>> = tables
        .iter()
        .map(|t| MemorySource {
            name: t.name.clone(),
            columns: t
                .columns
                .iter()
                .map(|(n, c)| (n.clone(), c as &dyn TextColumn))
                .collect(),
            sha256: Some(t.sha256.clone()),
        })
        .collect();
    crate::pipeline::load_memory(settings, &sources, progress)
}
