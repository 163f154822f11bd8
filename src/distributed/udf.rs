//! `fellegi_pattern(left, right, job)`: fellegi's own comparisons as a DataFusion scalar UDF.
//!
//! The executors never read the inputs. The client writes, into the work folder on shared disk,
//! one dictionary file per compared column (its distinct values in dictionary order, Parquet)
//! and a job file naming them ([`JobFile`]); the key tables carry, per record, its compared
//! values as dictionary ids (`v`: one little-endian `u32` per comparison, [`MISSING`] when
//! absent or unparsed), so the join hands each pair both records' ids. Each executor (and the
//! client, in standalone mode) reads the dictionaries once per job, compiles the comparisons
//! over them and then, per batch of candidate pairs, writes one packed comparison pattern per
//! pair ([`crate::compare::pack`], as lowercase hex `u128`). An executor's memory is therefore
//! the dictionaries and their string profiles (distinct values, not records) plus what the
//! engine's joins hold.
//!
//! The UDF is resolved by name: the client's session, the scheduler's session builder and the
//! executors' function registry all register it ([`super::server`]). It has no state of its
//! own, so Ballista's default logical and physical extension codecs carry it; the job file is a
//! literal argument.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use ballista::datafusion::arrow::array::{Array, BinaryArray, StringArray, StringBuilder};
use ballista::datafusion::arrow::compute::cast;
use ballista::datafusion::arrow::datatypes::DataType;
use ballista::datafusion::common::ScalarValue;
use ballista::datafusion::error::{DataFusionError, Result as DfResult};
use ballista::datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use ballista::datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::{Deserialize, Serialize};

use crate::compare::Comparison;
use crate::data::{Column, MISSING, StringList};
use crate::model::InputDigest;
use crate::settings::Settings;

/// Name of the comparison UDF.
pub const PATTERN_UDF: &str = "fellegi_pattern";

/// One compared column's dictionary as the client wrote it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DictFile {
    /// The column's name (as the comparisons name it).
    pub column: String,
    /// The Parquet file: one text column `value`, the distinct values in dictionary order.
    pub path: PathBuf,
    /// Number of values, checked when the file is read.
    pub values: u64,
}

/// What an executor needs to compare a job's pairs: the expanded settings and the compared
/// columns' dictionaries (absolute paths in the work folder, readable by every executor).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobFile {
    /// The settings, builders expanded.
    pub settings: Settings,
    /// The compared columns' dictionaries, in order of first use by the comparisons.
    pub dictionaries: Vec<DictFile>,
    /// The inputs' digests as the client read them (provenance; the executors do not read the
    /// inputs).
    pub inputs: Vec<InputDigest>,
    /// A value unique to the client's job (process id and clock), so that an executor that
    /// outlives a job never serves its dictionaries to the next job in the same work folder.
    pub nonce: String,
}

/// A job's comparisons compiled over its dictionaries.
#[derive(Debug)]
pub struct Prepared {
    /// The compared columns (dictionaries only: `values` is empty).
    pub columns: Vec<Column>,
    /// The comparisons in settings order; `column` indexes [`Prepared::columns`].
    pub comparisons: Vec<Comparison>,
}

impl Prepared {
    /// Compiles `settings`' comparisons over `columns` (the compared columns, by name).
    ///
    /// # Errors
    /// When a comparison names a column that is not given, or does not compile.
    pub fn new(settings: &Settings, columns: Vec<Column>) -> crate::error::Result<Prepared> {
        let comparisons = settings
            .comparisons
            .iter()
            .map(|s| {
                let ci = columns
                    .iter()
                    .position(|c| c.name == s.column)
                    .ok_or_else(|| {
                        crate::error::Error::Internal(format!(
                            "the job has no dictionary for compared column `{}`",
                            s.column
                        ))
                    })?;
                Comparison::compile(s, ci, &columns[ci])
            })
            .collect::<crate::error::Result<Vec<_>>>()?;
        Ok(Prepared {
            columns,
            comparisons,
        })
    }

    /// The packed pattern of two records given as their `v` values (one little-endian `u32`
    /// dictionary id per comparison).
    ///
    /// # Errors
    /// When a value has the wrong length or an id is outside its dictionary.
    pub fn pattern(&self, a: &[u8], b: &[u8]) -> DfResult<u128> {
        let k = self.comparisons.len();
        if a.len() != 4 * k || b.len() != 4 * k {
            return Err(DataFusionError::Execution(format!(
                "{PATTERN_UDF}: compared values of {} and {} bytes where {k} comparisons need {}",
                a.len(),
                b.len(),
                4 * k
            )));
        }
        let id = |s: &[u8], i: usize| {
            u32::from_le_bytes([s[4 * i], s[4 * i + 1], s[4 * i + 2], s[4 * i + 3]])
        };
        let mut key = 0u128;
        for (i, c) in self.comparisons.iter().enumerate() {
            let col = &self.columns[c.column];
            let (x, y) = (id(a, i), id(b, i));
            let n = col.dict.len() as u32;
            if (x != MISSING && x >= n) || (y != MISSING && y >= n) {
                return Err(DataFusionError::Execution(format!(
                    "{PATTERN_UDF}: value id {} of `{}` outside its dictionary of {n} values; the key table and the job file are of different jobs",
                    if x != MISSING && x >= n { x } else { y },
                    col.name
                )));
            }
            key |= (c.level(col, x, y) as u128) << (4 * i);
        }
        Ok(key)
    }
}

/// Reads a dictionary file written by [`write_dictionary`].
fn read_dictionary(d: &DictFile) -> DfResult<Column> {
    let e = |what: String| {
        DataFusionError::Execution(format!(
            "fellegi: dictionary of `{}` at {}: {what}; the client's work folder must be on a disk every executor can read",
            d.column,
            d.path.display()
        ))
    };
    let file = std::fs::File::open(&d.path).map_err(|x| e(x.to_string()))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|x| e(x.to_string()))?;
    let mut dict = StringList::default();
    for batch in reader {
        let batch = batch.map_err(|x| e(x.to_string()))?;
        let col = batch
            .column_by_name("value")
            .ok_or_else(|| e("no column `value`".into()))?;
        let col = cast(col, &DataType::Utf8).map_err(|x| e(x.to_string()))?;
        let col = col
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| e("column `value` is not text".into()))?;
        for i in 0..col.len() {
            dict.push(col.value(i));
        }
    }
    if dict.len() as u64 != d.values {
        return Err(e(format!(
            "{} values where the job file says {}",
            dict.len(),
            d.values
        )));
    }
    Ok(Column {
        name: d.column.clone(),
        values: Vec::new(),
        dict,
    })
}

/// Writes `col`'s dictionary as `path` (Parquet, one text column `value`, row groups of 64k
/// values), under a temporary name renamed when done.
///
/// # Errors
/// [`crate::error::Error::Io`] or [`crate::error::Error::Internal`] when writing fails.
pub fn write_dictionary(path: &Path, col: &Column) -> crate::error::Result<DictFile> {
    use ballista::datafusion::arrow::datatypes::{Field, Schema};
    use ballista::datafusion::arrow::record_batch::RecordBatch;
    let schema = Arc::new(Schema::new(vec![Field::new(
        "value",
        DataType::Utf8,
        false,
    )]));
    let values = StringArray::from_iter_values(col.dict.iter());
    let batch = RecordBatch::try_new(schema, vec![Arc::new(values)]).map_err(|e| {
        crate::error::Error::Internal(format!("dictionary {}: {e}", path.display()))
    })?;
    super::write_parquet(path, &batch)?;
    Ok(DictFile {
        column: col.name.clone(),
        path: path.to_path_buf(),
        values: col.dict.len() as u64,
    })
}

/// Values read from work-folder files in this process: (file path, its text, the value), newest
/// last, at most [`CACHED_JOBS`].
type FileCache<T> = Mutex<Vec<(String, String, Arc<T>)>>;

/// Prepared jobs (and kept-pattern sets) kept per process (an executor serves jobs one after
/// another).
const CACHED_JOBS: usize = 2;

/// The value `parse` makes of the file at `path` (`what` names it in errors), made once per
/// process and file content: the file is read on every call (a few KB), so a job written to
/// the same path later is never served the earlier job's value.
fn cached<T>(
    cache: &'static OnceLock<FileCache<T>>,
    path: &str,
    what: &str,
    parse: impl FnOnce(&str) -> DfResult<T>,
) -> DfResult<Arc<T>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        DataFusionError::Execution(format!(
            "fellegi: cannot read the {what} {path} ({e}); the client's work folder must be on a disk every executor can read"
        ))
    })?;
    let mut entries = cache
        .get_or_init(|| Mutex::new(Vec::new()))
        .lock()
        .map_err(|_| DataFusionError::Execution(format!("fellegi {what} cache poisoned")))?;
    if let Some((_, _, v)) = entries.iter().find(|(p, t, _)| p == path && *t == text) {
        return Ok(v.clone());
    }
    let v = Arc::new(parse(&text)?);
    if entries.len() >= CACHED_JOBS {
        entries.remove(0);
    }
    entries.push((path.to_string(), text, v.clone()));
    Ok(v)
}

/// The prepared job of the job file at `path`, read once per process and job.
///
/// # Errors
/// When the job file or a dictionary cannot be read, or the comparisons do not compile.
pub fn prepared(path: &str) -> DfResult<Arc<Prepared>> {
    static CACHE: OnceLock<FileCache<Prepared>> = OnceLock::new();
    cached(&CACHE, path, "job file", |text| {
        let job: JobFile = serde_json::from_str(text)
            .map_err(|e| DataFusionError::Execution(format!("fellegi: job file {path}: {e}")))?;
        let columns = job
            .dictionaries
            .iter()
            .map(read_dictionary)
            .collect::<DfResult<Vec<_>>>()?;
        Prepared::new(&job.settings, columns)
            .map_err(|e| DataFusionError::Execution(format!("fellegi: job file {path}: {e}")))
    })
}

/// The patterns listed in the kept-patterns file at `path` (a JSON array of hex patterns as
/// [`pattern_text`] writes them), read once per process and file content.
///
/// # Errors
/// When the file cannot be read or holds anything else.
pub fn kept_patterns(path: &str) -> DfResult<Arc<rustc_hash::FxHashSet<u128>>> {
    static CACHE: OnceLock<FileCache<rustc_hash::FxHashSet<u128>>> = OnceLock::new();
    cached(&CACHE, path, "kept patterns", |text| {
        let bad =
            |e: String| DataFusionError::Execution(format!("fellegi: kept patterns {path}: {e}"));
        let list: Vec<String> = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        list.iter()
            .map(|h| u128::from_str_radix(h, 16).map_err(|e| bad(format!("`{h}`: {e}"))))
            .collect()
    })
}

/// Milliseconds each call sleeps (fault-injection tests only: holds a stage open long enough
/// to kill an executor while it runs); 0 by default.
static DELAY_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Makes every batch of [`PATTERN_UDF`] in this process sleep `ms` milliseconds (for
/// fault-injection tests, `fellegi engine executor --delay-ms`); 0 turns it off.
pub fn set_delay_ms(ms: u64) {
    DELAY_MS.store(ms, std::sync::atomic::Ordering::Relaxed);
}

/// The comparison UDF (see the module docs).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PatternUdf {
    signature: Signature,
}

impl Default for PatternUdf {
    fn default() -> Self {
        PatternUdf {
            // (left values, right values, job file[, kept patterns file]): binary of any
            // layout (Parquet scans may give views), checked and cast in `invoke_with_args`.
            // With the fourth argument the pattern is given only when it is in that file's
            // set, else null (scoring keeps the pairs at or above `min_probability`).
            signature: Signature::one_of(
                vec![TypeSignature::Any(3), TypeSignature::Any(4)],
                Volatility::Immutable,
            ),
        }
    }
}

/// The packed pattern as the UDF writes it: lowercase hex, no leading zeros.
pub fn pattern_text(p: u128) -> String {
    format!("{p:x}")
}

fn job_path(v: &ColumnarValue) -> DfResult<String> {
    match v {
        ColumnarValue::Scalar(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::Utf8View(Some(s))
            | ScalarValue::LargeUtf8(Some(s)),
        ) => Ok(s.clone()),
        other => Err(DataFusionError::Execution(format!(
            "{PATTERN_UDF}: the job argument must be a text literal, got {other:?}"
        ))),
    }
}

fn binary(v: &ColumnarValue, n: usize) -> DfResult<BinaryArray> {
    let a = v.clone().into_array(n)?;
    let a = cast(&a, &DataType::Binary).map_err(|e| {
        DataFusionError::Execution(format!(
            "{PATTERN_UDF}: compared values must be binary ({e})"
        ))
    })?;
    a.as_any()
        .downcast_ref::<BinaryArray>()
        .cloned()
        .ok_or_else(|| DataFusionError::Execution(format!("{PATTERN_UDF}: values not binary")))
}

impl ScalarUDFImpl for PatternUdf {
    fn name(&self) -> &str {
        PATTERN_UDF
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let job = prepared(&job_path(&args.args[2])?)?;
        let kept = match args.args.get(3) {
            Some(k) => Some(kept_patterns(&job_path(k)?)?),
            None => None,
        };
        let delay = DELAY_MS.load(std::sync::atomic::Ordering::Relaxed);
        if delay > 0 {
            std::thread::sleep(std::time::Duration::from_millis(delay));
        }
        let n = args.number_rows;
        let (l, r) = (binary(&args.args[0], n)?, binary(&args.args[1], n)?);
        let mut out = StringBuilder::with_capacity(n, n * 8);
        let mut buf = String::with_capacity(32);
        for i in 0..n {
            if l.is_null(i) || r.is_null(i) {
                out.append_null();
                continue;
            }
            let p = job.pattern(l.value(i), r.value(i))?;
            if kept.as_ref().is_some_and(|k| !k.contains(&p)) {
                out.append_null();
                continue;
            }
            buf.clear();
            let _ = write!(buf, "{p:x}");
            out.append_value(&buf);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// The comparison UDF, ready to register.
pub fn pattern_udf() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(PatternUdf::default()))
}
