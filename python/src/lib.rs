//! `fellegi._native`: the Python face of fellegi. It converts Arrow tables (through the Arrow
//! C stream interface) to in-memory sources, calls `fellegi::pipeline` and hands results back as
//! Arrow tables; it holds no pipeline logic. Every library call runs on a worker thread with the
//! GIL released; the calling thread polls for signals, so Ctrl-C raises `KeyboardInterrupt`.

use std::ffi::CStr;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arrow_array::ffi_stream::{ArrowArrayStreamReader, FFI_ArrowArrayStream};
use arrow_array::{
    Array, ArrayRef, Float64Array, Int32Array, LargeStringArray, RecordBatch, RecordBatchIterator,
    StringArray, StringViewArray, UInt32Array,
};
use arrow_schema::{DataType, Field, Schema};
use fellegi::classify::assign::OneToOne;
use fellegi::data::{Dataset, MemorySource, TextColumn};
use fellegi::eval::summary::Seconds;
use fellegi::model::FsParams;
use fellegi::pipeline::{self, DecisionOptions, FsRule, Job, LinkMethod};
use fellegi::plot::{Chart, ChartData, Format, ModelParams};
use fellegi::progress::Progress;
use fellegi::settings::Settings;
use fellegi::store::{self, NewRecord, Store, StoreOptions};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

const STREAM: &CStr = c"arrow_array_stream";

// ---------------------------------------------------------------- errors and the worker

/// The Python exception class (defined in `fellegi._errors`) for a library error.
fn error_class(e: &fellegi::Error) -> &'static str {
    use fellegi::Error as E;
    match e {
        E::Settings { .. } | E::Parse { .. } => "SettingsError",
        E::Csv { .. } | E::Input { .. } => "InputError",
        E::Invalid { .. } => "OptionError",
        E::Io { .. } => "FellegiIOError",
        E::Data(_) => "DataError",
        E::Dataset { .. } => "DatasetError",
        E::Plot(_) => "ChartError",
        E::Internal(_) => "InternalError",
        E::Engine(_) => "EngineError",
        E::Cancelled => "CancelledError",
    }
}

/// Raises `fellegi._errors.<class>(message)`.
fn raise(py: Python<'_>, class: &str, message: String) -> PyErr {
    let made = py
        .import("fellegi._errors")
        .and_then(|m| m.getattr(class))
        .and_then(|c| c.call1((message.clone(),)));
    match made {
        Ok(exc) => PyErr::from_value(exc),
        Err(e) => e,
    }
}

fn to_py(py: Python<'_>, e: fellegi::Error) -> PyErr {
    // The message with its causes (an I/O error's reason).
    let mut message = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        message.push_str(": ");
        message.push_str(&s.to_string());
        src = s.source();
    }
    raise(py, error_class(&e), message)
}

/// Runs `f` on a worker thread with the GIL released, polling for signals every 50 ms. On
/// Ctrl-C the run's cancellation flag (passed to `f` in its [`Progress`]) is raised, the worker
/// stops at the pipeline's next phase boundary, and `KeyboardInterrupt` is raised once it has.
/// A panic in `f` becomes `fellegi.InternalError`, never an abort.
fn run_blocking<T: Send + 'static>(
    py: Python<'_>,
    f: impl FnOnce(Progress) -> fellegi::Result<T> + Send + 'static,
) -> PyResult<T> {
    // One flag per call, alive as long as the worker may read it: leaked (one byte a call) so
    // that `Progress` stays `Copy` with a `'static` borrow.
    let cancel: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
    let progress = Progress {
        enabled: false,
        cancel: Some(cancel),
    };
    let mut interrupted: Option<PyErr> = None;
    let (tx, rx) = std::sync::mpsc::channel();
    // A receiver is not `Sync`; the lock lets the GIL-free wait borrow it.
    let rx = std::sync::Mutex::new(rx);
    std::thread::Builder::new()
        .name("fellegi".into())
        .spawn(move || {
            let r = std::panic::catch_unwind(AssertUnwindSafe(move || f(progress)));
            let _ = tx.send(r);
        })
        .map_err(|e| raise(py, "InternalError", format!("cannot start a thread: {e}")))?;
    loop {
        let got = py.detach(|| match rx.lock() {
            Ok(rx) => rx.recv_timeout(Duration::from_millis(50)),
            Err(_) => Err(std::sync::mpsc::RecvTimeoutError::Disconnected),
        });
        if let Some(err) = interrupted.take() {
            // Cancelled: wait for the worker to reach its checkpoint, then raise Ctrl-C's error.
            if matches!(got, Err(std::sync::mpsc::RecvTimeoutError::Timeout)) {
                interrupted = Some(err);
                continue;
            }
            return Err(err);
        }
        match got {
            Ok(Ok(r)) => return r.map_err(|e| to_py(py, e)),
            Ok(Err(panic)) => {
                let what = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "a panic".into());
                return Err(raise(
                    py,
                    "InternalError",
                    format!(
                        "internal error: {what}; please report it with the call that caused it"
                    ),
                ));
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if let Err(e) = py.check_signals() {
                    cancel.store(true, Ordering::Relaxed);
                    interrupted = Some(e);
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(raise(
                    py,
                    "InternalError",
                    "the worker thread stopped".into(),
                ));
            }
        }
    }
}

/// Runs `f` in a pool of `threads` workers (the global pool when `None`).
fn in_pool<T: Send>(
    threads: Option<usize>,
    f: impl FnOnce() -> fellegi::Result<T> + Send,
) -> fellegi::Result<T> {
    match threads {
        Some(0) => Err(fellegi::Error::invalid(
            "threads",
            "threads must be at least 1",
        )),
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(|e| {
                fellegi::Error::invalid("threads", format!("cannot start {n} threads: {e}"))
            })?
            .install(f),
        None => f(),
    }
}

// ---------------------------------------------------------------- Arrow in

/// One Arrow string array of any of the three layouts.
enum TextChunk {
    Utf8(StringArray),
    Large(LargeStringArray),
    View(StringViewArray),
}

impl TextChunk {
    fn value(&self, i: usize) -> Option<&str> {
        match self {
            TextChunk::Utf8(a) => (!a.is_null(i)).then(|| a.value(i)),
            TextChunk::Large(a) => (!a.is_null(i)).then(|| a.value(i)),
            TextChunk::View(a) => (!a.is_null(i)).then(|| a.value(i)),
        }
    }
}

/// A text column made of the chunks of a chunked Arrow column.
struct ChunkedText {
    chunks: Vec<TextChunk>,
    /// Row where each chunk starts, then the total.
    starts: Vec<usize>,
}

impl TextColumn for ChunkedText {
    fn len(&self) -> usize {
        *self.starts.last().unwrap_or(&0)
    }
    fn value(&self, row: usize) -> Option<&str> {
        if self.chunks.len() == 1 {
            return self.chunks[0].value(row);
        }
        let c = self.starts.partition_point(|&s| s <= row) - 1;
        self.chunks[c].value(row - self.starts[c])
    }
}

/// One table read from Python: its name and its columns.
struct Table {
    name: String,
    columns: Vec<(String, ChunkedText)>,
    /// Columns that are not text, with the message to give if one is needed.
    rejected: Vec<(String, String)>,
}

fn text_chunk(column: &str, a: &ArrayRef) -> Result<TextChunk, String> {
    let any = a.as_any();
    match a.data_type() {
        DataType::Utf8 => Ok(TextChunk::Utf8(
            any.downcast_ref::<StringArray>().unwrap().clone(),
        )),
        DataType::LargeUtf8 => Ok(TextChunk::Large(
            any.downcast_ref::<LargeStringArray>().unwrap().clone(),
        )),
        DataType::Utf8View => Ok(TextChunk::View(
            any.downcast_ref::<StringViewArray>().unwrap().clone(),
        )),
        t => Err(format!(
            "column `{column}` has Arrow type {t}; fellegi reads text columns (convert it to strings, e.g. pandas df[col].astype(str), or read the CSV with dtype=str, keep_default_na=False)"
        )),
    }
}

/// Reads an object implementing the Arrow PyCapsule stream interface (`__arrow_c_stream__`).
fn read_table(py: Python<'_>, name: String, obj: &Bound<'_, PyAny>) -> PyResult<Table> {
    let capsule = obj.call_method0("__arrow_c_stream__")?;
    let capsule = capsule.cast::<PyCapsule>()?;
    let ptr = capsule.pointer_checked(Some(STREAM))?;
    // SAFETY: the capsule holds an ArrowArrayStream (checked by name); `from_raw` moves it out
    // and marks the capsule's copy released, as the PyCapsule interface prescribes.
    let stream = unsafe { FFI_ArrowArrayStream::from_raw(ptr.as_ptr().cast()) };
    let reader = ArrowArrayStreamReader::try_new(stream)
        .map_err(|e| PyValueError::new_err(format!("{name}: cannot read the Arrow stream: {e}")))?;
    let schema = arrow_array::RecordBatchReader::schema(&reader);
    let batches: Vec<RecordBatch> = reader
        .collect::<Result<_, _>>()
        .map_err(|e| PyValueError::new_err(format!("{name}: cannot read the Arrow stream: {e}")))?;
    let _ = py;
    let mut columns = Vec::with_capacity(schema.fields().len());
    let mut rejected = Vec::new();
    'fields: for (i, f) in schema.fields().iter().enumerate() {
        let mut chunks = Vec::with_capacity(batches.len());
        let mut starts = vec![0];
        for b in &batches {
            let a = b.column(i);
            match text_chunk(f.name(), a) {
                Ok(c) => chunks.push(c),
                Err(m) => {
                    rejected.push((f.name().clone(), m));
                    continue 'fields;
                }
            }
            starts.push(starts.last().unwrap() + a.len());
        }
        columns.push((f.name().clone(), ChunkedText { chunks, starts }));
    }
    Ok(Table {
        name,
        columns,
        rejected,
    })
}

/// Inputs as Python gives them: all tables, or all CSV paths.
enum Inputs {
    Tables(Vec<Table>),
    Paths(Vec<PathBuf>),
}

impl Inputs {
    /// Reads `(name, table_or_path)` pairs; a `str` or `os.PathLike` is a CSV path.
    fn from_py(py: Python<'_>, items: Vec<(String, Bound<'_, PyAny>)>) -> PyResult<Inputs> {
        let mut tables = Vec::new();
        let mut paths = Vec::new();
        for (name, obj) in items {
            if obj.hasattr("__arrow_c_stream__")? {
                tables.push(read_table(py, name, &obj)?);
            } else {
                paths.push(obj.extract::<PathBuf>().map_err(|_| {
                    raise(
                        py,
                        "InputError",
                        format!("{name}: expected a pandas or polars DataFrame, a pyarrow Table or a CSV path, got {}", obj.get_type()),
                    )
                })?);
            }
        }
        match (tables.is_empty(), paths.is_empty()) {
            (_, true) => Ok(Inputs::Tables(tables)),
            (true, false) => Ok(Inputs::Paths(paths)),
            _ => Err(raise(
                py,
                "InputError",
                "give all inputs as tables (DataFrames) or all as CSV paths, not a mix".into(),
            )),
        }
    }

    /// Loads only the unique id and the truth column (for evaluation).
    fn load_columns(&self, unique_id: &str, truth: &str) -> fellegi::Result<Dataset> {
        match self {
            Inputs::Paths(p) => fellegi::data::read_csv_files(
                &fellegi::data::InputSpec {
                    paths: p.clone(),
                    unique_id: unique_id.into(),
                    truth: Some(truth.into()),
                    columns: Vec::new(),
                    ..Default::default()
                },
                &Progress::default(),
            ),
            Inputs::Tables(tables) => {
                let sources = Self::sources(tables);
                fellegi::data::read_memory(
                    &sources,
                    &fellegi::data::MemorySpec {
                        unique_id: unique_id.into(),
                        truth: Some(truth.into()),
                        columns: Vec::new(),
                    },
                )
            }
        }
    }

    fn sources(tables: &[Table]) -> Vec<MemorySource<'_>> {
        tables
            .iter()
            .map(|t| MemorySource {
                name: t.name.clone(),
                columns: t
                    .columns
                    .iter()
                    .map(|(n, c)| (n.clone(), c as &dyn TextColumn))
                    .collect(),
                sha256: None,
            })
            .collect()
    }

    /// Fails when a column in `needed` was rejected while reading a table (its Arrow type is
    /// not text), with the reader's message.
    fn check_needed(tables: &[Table], needed: &[String]) -> fellegi::Result<()> {
        for t in tables {
            if let Some((_, m)) = t.rejected.iter().find(|(c, _)| needed.contains(c)) {
                return Err(fellegi::Error::Input {
                    path: PathBuf::from(&t.name),
                    message: m.clone(),
                });
            }
        }
        Ok(())
    }

    /// Loads the inputs for `settings` (the pipeline's `load` or `load_memory`).
    fn load(&self, settings: &Settings) -> fellegi::Result<Dataset> {
        let progress = Progress::default();
        match self {
            Inputs::Paths(p) => pipeline::load(settings, p, &progress),
            Inputs::Tables(tables) => {
                let mut needed = vec![settings.unique_id.clone()];
                needed.extend(settings.truth.clone());
                needed.extend(settings.columns_used().into_iter().map(|(c, _)| c));
                Self::check_needed(tables, &needed)?;
                let sources = Self::sources(tables);
                pipeline::load_memory(settings, &sources, &progress)
            }
        }
    }
}

// ---------------------------------------------------------------- Arrow out

/// A table for Python: exported through `__arrow_c_stream__` (pyarrow's `pa.table(obj)`).
#[pyclass(module = "fellegi._native", frozen)]
struct ArrowTable {
    batch: RecordBatch,
}

#[pymethods]
impl ArrowTable {
    /// Exports the table as an Arrow C stream capsule (the Arrow PyCapsule interface).
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        let schema = self.batch.schema();
        let it = RecordBatchIterator::new(vec![Ok(self.batch.clone())], schema);
        let stream = FFI_ArrowArrayStream::new(Box::new(it));
        PyCapsule::new_with_value(py, stream, STREAM)
    }
}

fn batch(fields: Vec<(&str, ArrayRef)>) -> fellegi::Result<RecordBatch> {
    let schema = Schema::new(
        fields
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), a.null_count() > 0))
            .collect::<Vec<_>>(),
    );
    RecordBatch::try_new(
        Arc::new(schema),
        fields.into_iter().map(|(_, a)| a).collect(),
    )
    .map_err(|e| fellegi::Error::Internal(format!("building an Arrow table: {e}")))
}

/// The pairs as pairs.csv holds them: ids and sources, weight, probability, one gamma per
/// comparison.
fn pairs_table(
    ds: &Dataset,
    comparer: &fellegi::compare::Comparer,
    pairs: &fellegi::model::predict::ScoredPairs,
) -> fellegi::Result<RecordBatch> {
    let n = pairs.len();
    let ids = |side: &[u32]| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(
            side.iter().map(|&r| ds.ids.get(r as usize)),
        ))
    };
    let sources = |side: &[u32]| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(
            side.iter().map(|&r| ds.source_name(r as usize)),
        ))
    };
    let gamma_names: Vec<String> = comparer
        .comparisons
        .iter()
        .map(|c| format!("gamma_{}", c.name))
        .collect();
    let mut fields: Vec<(&str, ArrayRef)> = vec![
        ("id_l", ids(&pairs.left)),
        ("source_l", sources(&pairs.left)),
        ("id_r", ids(&pairs.right)),
        ("source_r", sources(&pairs.right)),
        (
            "match_weight",
            Arc::new(Float64Array::from(pairs.weight.clone())),
        ),
        (
            "match_probability",
            Arc::new(Float64Array::from(pairs.probability.clone())),
        ),
    ];
    for (k, (c, name)) in comparer.comparisons.iter().zip(&gamma_names).enumerate() {
        let g: Int32Array = (0..n)
            .map(|i| Some(c.gamma(pairs.levels_of(i)[k])))
            .collect();
        fields.push((name.as_str(), Arc::new(g)));
    }
    batch(fields)
}

fn clusters_table(ds: &Dataset, ids: &[u32]) -> fellegi::Result<RecordBatch> {
    batch(vec![
        (
            "id",
            Arc::new(StringArray::from_iter_values(
                (0..ds.len()).map(|r| ds.ids.get(r)),
            )),
        ),
        (
            "source",
            Arc::new(StringArray::from_iter_values(
                (0..ds.len()).map(|r| ds.source_name(r)),
            )),
        ),
        ("cluster_id", Arc::new(UInt32Array::from(ids.to_vec()))),
    ])
}

// ---------------------------------------------------------------- Settings

/// Validated linkage settings (the TOML schema of `fellegi link --settings`).
#[pyclass(module = "fellegi._native", name = "NativeSettings", frozen)]
#[derive(Clone)]
struct PySettings {
    inner: Settings,
    origin: String,
}

#[pymethods]
impl PySettings {
    /// Settings from TOML text; `origin` names them in errors.
    #[staticmethod]
    fn from_toml(py: Python<'_>, text: &str, origin: &str) -> PyResult<Self> {
        let inner = Settings::from_toml(text, origin).map_err(|e| to_py(py, e))?;
        Ok(PySettings {
            inner,
            origin: origin.into(),
        })
    }
    /// Settings (or a fitted model) from JSON text.
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str, origin: &str) -> PyResult<Self> {
        let inner = Settings::from_json(text, origin).map_err(|e| to_py(py, e))?;
        Ok(PySettings {
            inner,
            origin: origin.into(),
        })
    }
    /// Settings from a TOML or model JSON file.
    #[staticmethod]
    fn from_path(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let inner = Settings::from_path(&path).map_err(|e| to_py(py, e))?;
        Ok(PySettings {
            inner,
            origin: path.display().to_string(),
        })
    }
    /// Settings (or a fitted model, when every level has m and u) from a Splink 5 settings or
    /// trained-model JSON (`fellegi::interop::splink::settings_from_splink`).
    #[staticmethod]
    fn from_splink(py: Python<'_>, text: &str, origin: &str) -> PyResult<Self> {
        let inner = fellegi::interop::splink::settings_from_splink(text, origin)
            .map_err(|e| to_py(py, e))?;
        Ok(PySettings {
            inner,
            origin: origin.into(),
        })
    }
    /// The settings (or fitted model) as Splink 5 settings JSON
    /// (`fellegi::interop::splink::settings_to_splink`).
    fn to_splink(&self, py: Python<'_>) -> PyResult<String> {
        fellegi::interop::splink::settings_to_splink(&self.expanded(py)?).map_err(|e| to_py(py, e))
    }
    /// The settings as TOML.
    fn to_toml(&self) -> String {
        self.inner.to_toml()
    }
    /// The settings as JSON (the schema of model.json).
    fn to_json(&self, py: Python<'_>) -> PyResult<String> {
        serde_json::to_string(&self.inner)
            .map_err(|e| raise(py, "InternalError", format!("settings to JSON: {e}")))
    }
    /// Where the settings came from.
    #[getter]
    fn origin(&self) -> String {
        self.origin.clone()
    }
    /// The columns the settings read from each input: the unique id, the truth (when set) and
    /// every column a transform, blocking rule, training rule or comparison names.
    fn input_columns(&self) -> Vec<String> {
        let mut out = vec![self.inner.unique_id.clone()];
        out.extend(self.inner.truth.clone());
        for (c, _) in self.inner.columns_used() {
            if !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }
}

impl PySettings {
    fn expanded(&self, py: Python<'_>) -> PyResult<Settings> {
        self.inner.expanded(&self.origin).map_err(|e| to_py(py, e))
    }
}

// ---------------------------------------------------------------- link

/// A finished run, kept whole so that pairs, clusters, charts and the report can be taken from
/// it.
struct RunState {
    ds: Dataset,
    run: pipeline::LinkRun,
    load_seconds: f64,
    total_seconds: f64,
}

/// The result of `link`.
#[pyclass(module = "fellegi._native", name = "NativeRun", frozen)]
struct PyRun {
    state: Arc<RunState>,
}

fn method_of(name: &str, py: Python<'_>) -> PyResult<Option<LinkMethod>> {
    Ok(match name {
        "em" => None,
        "exhaustive" => Some(LinkMethod::Exhaustive),
        "oracle" => Some(LinkMethod::Oracle),
        "rules" => Some(LinkMethod::RulesOnly),
        other => {
            return Err(raise(
                py,
                "OptionError",
                format!(
                    "method `{other}` is not one of \"em\", \"exhaustive\", \"oracle\", \"rules\""
                ),
            ));
        }
    })
}

/// Runs `Job` on the inputs: the body of `fellegi.link`.
#[pyfunction]
#[pyo3(signature = (inputs, settings, method, threshold, fs_weights, fs_rates, fs_scale, one_to_one, min_probability, seed, threads))]
#[allow(clippy::too_many_arguments)]
fn link(
    py: Python<'_>,
    inputs: Vec<(String, Bound<'_, PyAny>)>,
    settings: &PySettings,
    method: &str,
    threshold: f64,
    fs_weights: Option<(f64, f64)>,
    fs_rates: Option<(f64, f64)>,
    fs_scale: &str,
    one_to_one: Option<&str>,
    min_probability: f64,
    seed: Option<u64>,
    threads: Option<usize>,
) -> PyResult<PyRun> {
    let mut s = settings.expanded(py)?;
    let method = method_of(method, py)?;
    if method == Some(LinkMethod::Exhaustive) {
        s.exhaustive = true;
    }
    let fs = match (fs_weights, fs_rates) {
        (Some(_), Some(_)) => {
            return Err(raise(
                py,
                "OptionError",
                "give fs_weights or fs_rates, not both".into(),
            ));
        }
        (Some((upper, lower)), None) => Some(FsRule::Weights { upper, lower }),
        (None, Some((f, n))) => Some(FsRule::Rates {
            false_match_rate: f,
            false_non_match_rate: n,
        }),
        (None, None) => None,
    };
    let fs_scale = match fs_scale {
        "match_weight" => fellegi::classify::FsScale::MatchWeight,
        "bayes_factor" => fellegi::classify::FsScale::BayesFactor,
        o => {
            return Err(raise(
                py,
                "OptionError",
                format!("fs_scale `{o}` is not \"match_weight\" or \"bayes_factor\""),
            ));
        }
    };
    let one_to_one = match one_to_one {
        None => None,
        Some("greedy") => Some(OneToOne::Greedy),
        Some("optimal") => Some(OneToOne::Optimal),
        Some(o) => {
            return Err(raise(
                py,
                "OptionError",
                format!("one_to_one `{o}` is not \"greedy\" or \"optimal\""),
            ));
        }
    };
    let base = Job::new(s);
    let job = Job {
        method: method.unwrap_or(base.method),
        decisions: DecisionOptions {
            threshold,
            one_to_one,
            fs,
            fs_scale,
        },
        min_probability,
        seed,
        threads,
        ..base
    };
    job.validate().map_err(|e| to_py(py, e))?;
    let inputs = Inputs::from_py(py, inputs)?;
    let state = run_blocking(py, move |progress: Progress| {
        in_pool(job.threads, || {
            let t0 = std::time::Instant::now();
            let ds = inputs.load(&job.settings)?;
            drop(inputs);
            let load_seconds = t0.elapsed().as_secs_f64();
            let run = job.run(&ds, &progress)?;
            Ok(RunState {
                ds,
                run,
                load_seconds,
                total_seconds: t0.elapsed().as_secs_f64(),
            })
        })
    })?;
    Ok(PyRun {
        state: Arc::new(state),
    })
}

#[pymethods]
impl PyRun {
    /// The scored pairs (columns as pairs.csv).
    fn pairs(&self, py: Python<'_>) -> PyResult<ArrowTable> {
        let st = self.state.clone();
        let batch = run_blocking(py, move |_: Progress| {
            pairs_table(&st.ds, &st.run.comparer, &st.run.pairs)
        })?;
        Ok(ArrowTable { batch })
    }
    /// The cluster of every record (columns as clusters.csv).
    fn clusters(&self, py: Python<'_>) -> PyResult<ArrowTable> {
        let batch = clusters_table(&self.state.ds, &self.state.run.clusters.ids)
            .map_err(|e| to_py(py, e))?;
        Ok(ArrowTable { batch })
    }
    /// metrics.json as JSON text, or None without a truth column.
    fn metrics_json(&self, py: Python<'_>) -> PyResult<Option<String>> {
        let st = &self.state;
        match &st.run.metrics {
            None => Ok(None),
            Some(m) => {
                let mut m = m.clone();
                m.seconds = Seconds {
                    load: st.load_seconds,
                    total: st.total_seconds,
                    ..st.run.seconds
                };
                serde_json::to_string(&m.to_json())
                    .map(Some)
                    .map_err(|e| raise(py, "InternalError", format!("metrics to JSON: {e}")))
            }
        }
    }
    /// The fitted model.
    fn model(&self) -> PySettings {
        PySettings {
            inner: self.state.run.model.clone(),
            origin: "fitted model".into(),
        }
    }
    /// Notes for the user.
    fn notes(&self) -> Vec<String> {
        self.state.run.notes.clone()
    }
    /// Writes model.json, pairs.csv, clusters.csv, metrics.json (and with `title`, report.html,
    /// charts/ and the four review and teaching pages: patterns.html, clusters.html, label.html,
    /// lab.html) under `out`, as `fellegi link` does; returns the files written and notes.
    #[pyo3(signature = (out, title=None))]
    fn write(
        &self,
        py: Python<'_>,
        out: PathBuf,
        title: Option<String>,
    ) -> PyResult<(Vec<PathBuf>, Vec<String>)> {
        let st = self.state.clone();
        run_blocking(py, move |progress: Progress| {
            let seconds = Seconds {
                load: st.load_seconds,
                total: st.total_seconds,
                ..st.run.seconds
            };
            let mut w = st.run.write(&out, &st.ds, seconds, title.as_deref())?;
            if let Some(title) = &title {
                // With the report, the four review and teaching pages too, as `link --report`.
                let pages = fellegi::view::write_run_pages(
                    &out,
                    title,
                    &st.run.model,
                    &st.ds,
                    st.run.decisions.threshold,
                    st.run.fitted.fit.seed,
                    &progress,
                )?;
                w.files.extend(pages);
            }
            Ok((w.files, w.notes))
        })
    }
    /// The report's chart names, in report order.
    fn chart_names(&self) -> Vec<String> {
        let st = &self.state;
        fellegi::report::charts(&report_input(st, String::new()))
            .into_iter()
            .map(|(n, _)| n.to_string())
            .collect()
    }
    /// One of the report's charts as SVG text.
    fn chart_svg(&self, py: Python<'_>, name: &str) -> PyResult<String> {
        let st = &self.state;
        let charts = fellegi::report::charts(&report_input(st, String::new()));
        let names: Vec<&str> = charts.iter().map(|(n, _)| *n).collect();
        let Some((_, chart)) = charts.iter().find(|(n, _)| *n == name) else {
            return Err(raise(
                py,
                "OptionError",
                format!("no chart `{name}`; the charts are: {}", names.join(", ")),
            ));
        };
        svg(py, chart)
    }
    /// The self-contained HTML report.
    fn report_html(&self, title: String) -> String {
        fellegi::report::render_html(&report_input(&self.state, title))
    }
    /// Explains a pair of this run's records (`SOURCE:ID` or `ID`).
    fn explain(&self, py: Python<'_>, left: &str, right: &str) -> PyResult<ArrowTable> {
        let st = &self.state;
        let batch = explain_table(&st.run.model, &st.ds, left, right).map_err(|e| to_py(py, e))?;
        Ok(ArrowTable { batch })
    }
}

fn report_input(st: &RunState, title: String) -> fellegi::report::ReportInput<'_> {
    st.run.report_input(&st.ds, &title, st.run.metrics.as_ref())
}

fn svg(py: Python<'_>, chart: &Chart) -> PyResult<String> {
    let bytes = chart
        .render(Format::Svg)
        .map_err(|e| raise(py, "ChartError", format!("chart: {e}")))?;
    String::from_utf8(bytes)
        .map_err(|e| raise(py, "InternalError", format!("SVG is not UTF-8: {e}")))
}

/// A pair's waterfall as a table: the prior, then one row per comparison.
fn explain_table(
    model: &Settings,
    ds: &Dataset,
    left: &str,
    right: &str,
) -> fellegi::Result<RecordBatch> {
    let (x, y) = (
        pipeline::find_record(ds, left)?,
        pipeline::find_record(ds, right)?,
    );
    let e = pipeline::explain(model, "model", ds, x, y)?;
    let w = &e.waterfall;
    let mut term = vec!["prior".to_string()];
    let mut level = vec![None];
    let mut vl: Vec<Option<String>> = vec![None];
    let mut vr: Vec<Option<String>> = vec![None];
    let mut weight = vec![w.prior_weight];
    // One term per comparison (with the values compared), then the term-frequency terms
    // (`tf_<name>`), which have no values of their own.
    for (i, t) in w.terms.iter().enumerate() {
        let (a, b) = e
            .values
            .get(i)
            .map_or((None, None), |(_, a, b)| (a.clone(), b.clone()));
        term.push(t.name.clone());
        level.push(Some(t.level_label.clone()));
        vl.push(a);
        vr.push(b);
        weight.push(t.weight);
    }
    let mut acc = 0.0;
    let cumulative: Vec<f64> = weight
        .iter()
        .map(|x| {
            acc += x;
            acc
        })
        .collect();
    let probability: Vec<f64> = cumulative
        .iter()
        .map(|&c| fellegi::model::probability(c))
        .collect();
    batch(vec![
        ("term", Arc::new(StringArray::from(term))),
        ("level", Arc::new(StringArray::from(level))),
        ("value_l", Arc::new(StringArray::from(vl))),
        ("value_r", Arc::new(StringArray::from(vr))),
        ("weight", Arc::new(Float64Array::from(weight))),
        (
            "cumulative_weight",
            Arc::new(Float64Array::from(cumulative)),
        ),
        ("probability", Arc::new(Float64Array::from(probability))),
    ])
}

// ---------------------------------------------------------------- models

/// λ of a fitted model.
#[pyfunction]
fn model_lambda(py: Python<'_>, model: &PySettings) -> PyResult<f64> {
    FsParams::from_settings(&model.inner, &model.origin)
        .map(|p| p.lambda)
        .map_err(|e| to_py(py, e))
}

fn model_params(model: &PySettings) -> fellegi::Result<(FsParams, Vec<String>, Vec<Vec<String>>)> {
    let s = model.inner.expanded(&model.origin)?;
    let params = FsParams::from_settings(&s, &model.origin)?;
    let names = s
        .comparisons
        .iter()
        .map(|c| c.output_name().to_string())
        .collect();
    let labels = s
        .comparisons
        .iter()
        .map(|c| c.levels.iter().map(|l| l.display_label()).collect())
        .collect();
    Ok((params, names, labels))
}

/// The tidy m/u table: comparison, level (index, 0 first), label, m, u, weight (log2 m/u).
#[pyfunction]
fn model_mu_table(py: Python<'_>, model: &PySettings) -> PyResult<ArrowTable> {
    let build = || -> fellegi::Result<RecordBatch> {
        let (params, names, labels) = model_params(model)?;
        let lw = params.level_weights();
        let (mut comparison, mut level, mut label, mut m, mut u, mut weight) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        for (c, name) in names.iter().enumerate() {
            for (lv, w) in lw[c].iter().enumerate() {
                comparison.push(name.clone());
                level.push(lv as i32);
                label.push(labels[c].get(lv).cloned().unwrap_or_default());
                m.push(params.m[c][lv]);
                u.push(params.u[c][lv]);
                weight.push(*w);
            }
        }
        batch(vec![
            ("comparison", Arc::new(StringArray::from(comparison))),
            ("level", Arc::new(Int32Array::from(level))),
            ("label", Arc::new(StringArray::from(label))),
            ("m", Arc::new(Float64Array::from(m))),
            ("u", Arc::new(Float64Array::from(u))),
            ("weight", Arc::new(Float64Array::from(weight))),
        ])
    };
    build()
        .map(|batch| ArrowTable { batch })
        .map_err(|e| to_py(py, e))
}

/// A model-only chart (`match_weights` or `m_u`) as SVG.
#[pyfunction]
fn model_chart_svg(py: Python<'_>, model: &PySettings, name: &str) -> PyResult<String> {
    let (params, names, labels) = model_params(model).map_err(|e| to_py(py, e))?;
    let mp = ModelParams::from_fs(&params, &names, &labels);
    let chart: Chart = match name {
        "match_weights" => ChartData::MatchWeights(mp).into(),
        "m_u" => ChartData::MU(mp).into(),
        o => {
            return Err(raise(
                py,
                "OptionError",
                format!(
                    "no model chart `{o}`; a model alone draws `match_weights` and `m_u` (the run's charts come from LinkRun.chart)"
                ),
            ));
        }
    };
    svg(py, &chart)
}

/// Writes a model as model.json does (pretty JSON, trailing newline), staged then renamed.
#[pyfunction]
fn model_save(py: Python<'_>, model: &PySettings, path: PathBuf) -> PyResult<PathBuf> {
    let m = model.inner.clone();
    run_blocking(py, move |_: Progress| {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| {
                fellegi::Error::invalid("path", format!("`{}` names no file", path.display()))
            })?;
        let mut stage = fellegi::output::Staged::new(dir)?;
        stage.write(&name, |w| fellegi::output::write_json(w, &m))?;
        Ok(stage.commit()?.remove(0))
    })
}

/// Scores inputs with a fitted model: the pairs table.
#[pyfunction]
#[pyo3(signature = (model, inputs, min_probability, threads))]
fn predict(
    py: Python<'_>,
    model: &PySettings,
    inputs: Vec<(String, Bound<'_, PyAny>)>,
    min_probability: f64,
    threads: Option<usize>,
) -> PyResult<ArrowTable> {
    fellegi::classify::check_probability("min_probability", min_probability)
        .map_err(|e| to_py(py, e))?;
    let (m, origin) = (model.inner.clone(), model.origin.clone());
    let inputs = Inputs::from_py(py, inputs)?;
    let batch = run_blocking(py, move |progress: Progress| {
        in_pool(threads, || {
            let ds = inputs.load(&m)?;
            let s = pipeline::score(&m, &origin, &ds, min_probability, &progress)?;
            pairs_table(&ds, &s.comparer, &s.pairs)
        })
    })?;
    Ok(ArrowTable { batch })
}

/// Explains a pair under a fitted model, reading the inputs.
#[pyfunction]
fn model_explain(
    py: Python<'_>,
    model: &PySettings,
    left: String,
    right: String,
    inputs: Vec<(String, Bound<'_, PyAny>)>,
) -> PyResult<ArrowTable> {
    let m = model.inner.clone();
    let inputs = Inputs::from_py(py, inputs)?;
    let batch = run_blocking(py, move |_: Progress| {
        let ds = inputs.load(&m)?;
        explain_table(&m, &ds, &left, &right)
    })?;
    Ok(ArrowTable { batch })
}

/// Trains a model: the body of `fellegi.train`.
#[pyfunction]
#[pyo3(signature = (inputs, settings, seed, threads))]
fn train(
    py: Python<'_>,
    inputs: Vec<(String, Bound<'_, PyAny>)>,
    settings: &PySettings,
    seed: Option<u64>,
    threads: Option<usize>,
) -> PyResult<PySettings> {
    let s = settings.expanded(py)?;
    let inputs = Inputs::from_py(py, inputs)?;
    let model = run_blocking(py, move |progress: Progress| {
        in_pool(threads, || {
            let ds = inputs.load(&s)?;
            let seed = pipeline::effective_seed(seed, &s);
            Ok(pipeline::fit(&s, &ds, seed, &progress)?.model)
        })
    })?;
    Ok(PySettings {
        inner: model,
        origin: "trained model".into(),
    })
}

// ---------------------------------------------------------------- evaluate

/// Evaluates pairs (ids, sources, probability) against the truth column of the inputs or
/// against clerical labels; returns the evaluation as JSON text (as evaluation.json).
#[pyfunction]
#[pyo3(signature = (pairs, threshold, link_type=None, inputs=None, unique_id=None, truth=None, labels=None))]
#[allow(clippy::too_many_arguments)]
fn evaluate(
    py: Python<'_>,
    pairs: Bound<'_, PyAny>,
    threshold: f64,
    link_type: Option<String>,
    inputs: Option<Vec<(String, Bound<'_, PyAny>)>>,
    unique_id: Option<String>,
    truth: Option<String>,
    labels: Option<Bound<'_, PyAny>>,
) -> PyResult<String> {
    use fellegi::eval::evaluation;
    use fellegi::output::PairRecord;
    fellegi::classify::check_probability("threshold", threshold).map_err(|e| to_py(py, e))?;
    let t = read_table(py, "pairs".into(), &pairs)?;
    let col = |t: &Table, n: &str| -> PyResult<usize> {
        t.columns
            .iter()
            .position(|(c, _)| c == n)
            .ok_or_else(|| raise(py, "InputError", format!("{}: no column `{n}`", t.name)))
    };
    let need = ["id_l", "source_l", "id_r", "source_r"];
    let idx: Vec<usize> = need.iter().map(|n| col(&t, n)).collect::<PyResult<_>>()?;
    let prob: Vec<f64> = pairs
        .getattr("column")?
        .call1(("match_probability",))?
        .call_method0("to_pylist")?
        .extract()?;
    let n = t.columns[idx[0]].1.len();
    let v = |c: usize, r: usize| t.columns[idx[c]].1.value(r).unwrap_or("").to_string();
    let records: Vec<PairRecord> = (0..n)
        .map(|r| PairRecord {
            left: (v(1, r), v(0, r)),
            right: (v(3, r), v(2, r)),
            probability: prob[r],
        })
        .collect();
    let link_type = match link_type.as_deref() {
        None => None,
        Some("dedupe") => Some(fellegi::data::LinkType::Dedupe),
        Some("link") => Some(fellegi::data::LinkType::Link),
        Some("link_and_dedupe") => Some(fellegi::data::LinkType::LinkAndDedupe),
        Some(o) => {
            return Err(raise(
                py,
                "OptionError",
                format!("link_type `{o}` is not one of dedupe, link, link_and_dedupe"),
            ));
        }
    };
    if let Some(labels) = labels {
        let lt = read_table(py, "labels".into(), &labels)?;
        let need = [
            "unique_id_l",
            "source_dataset_l",
            "unique_id_r",
            "source_dataset_r",
        ];
        let li: Vec<usize> = need.iter().map(|n| col(&lt, n)).collect::<PyResult<_>>()?;
        let score: Vec<f64> = labels
            .getattr("column")?
            .call1(("clerical_match_score",))?
            .call_method0("to_pylist")?
            .extract()?;
        let lv = |c: usize, r: usize| lt.columns[li[c]].1.value(r).unwrap_or("").to_string();
        let labels: Vec<evaluation::Label> = (0..score.len())
            .map(|r| evaluation::Label {
                left: (lv(1, r), lv(0, r)),
                right: (lv(3, r), lv(2, r)),
                is_match: score[r] >= 0.5,
            })
            .collect();
        let e = evaluation::against_labels(&labels, &records, threshold);
        return serde_json::to_string(&e).map_err(|e| raise(py, "InternalError", e.to_string()));
    }
    let Some(inputs) = inputs else {
        return Err(raise(
            py,
            "OptionError",
            "evaluate needs the inputs (with their truth column) or labels".into(),
        ));
    };
    let n_inputs = inputs.len();
    let inputs = Inputs::from_py(py, inputs)?;
    let uid = unique_id.unwrap_or_else(|| "record_id".into());
    let truth_col = truth.unwrap_or_else(|| "entity_id".into());
    let link_type = link_type.unwrap_or(if n_inputs > 1 {
        fellegi::data::LinkType::Link
    } else {
        fellegi::data::LinkType::Dedupe
    });
    run_blocking(py, move |_: Progress| {
        let ds = inputs.load_columns(&uid, &truth_col)?;
        let e = evaluation::against_truth(
            &ds,
            link_type,
            &records,
            std::path::Path::new("pairs"),
            &truth_col,
            threshold,
        )?;
        serde_json::to_string(&e).map_err(|e| fellegi::Error::Internal(e.to_string()))
    })
}

// ---------------------------------------------------------------- datasets and generate

/// The shipped datasets: (name, description-as-JSON) pairs.
#[pyfunction]
#[pyo3(signature = (data_dir=None))]
fn datasets_list(py: Python<'_>, data_dir: Option<PathBuf>) -> PyResult<Vec<String>> {
    let reg = fellegi::registry::Registry::load(data_dir.as_deref()).map_err(|e| to_py(py, e))?;
    Ok(reg.datasets.iter().map(|e| e.name.clone()).collect())
}

/// One dataset: its files, settings path, unique-id and truth columns, link type and expected
/// sha256 of each file.
#[pyfunction]
#[pyo3(signature = (name, data_dir=None))]
#[allow(clippy::type_complexity)]
fn dataset_entry(
    py: Python<'_>,
    name: &str,
    data_dir: Option<PathBuf>,
) -> PyResult<(Vec<PathBuf>, PathBuf, String, String, String, Vec<String>)> {
    let reg = fellegi::registry::Registry::load(data_dir.as_deref()).map_err(|e| to_py(py, e))?;
    let e = reg.get(name).map_err(|e| to_py(py, e))?;
    Ok((
        reg.files(e),
        reg.settings_path(e),
        e.unique_id.clone(),
        e.truth.clone(),
        e.task.name().to_string(),
        e.sha256.clone(),
    ))
}

/// Generates synthetic records with known truth into `out` (as `fellegi generate`); returns
/// the files written.
#[pyfunction]
#[pyo3(signature = (out, entities, preset, sources, overlap, seed, phone_number))]
#[allow(clippy::too_many_arguments)]
fn generate(
    py: Python<'_>,
    out: PathBuf,
    entities: Option<u64>,
    preset: &str,
    sources: Option<usize>,
    overlap: Option<f64>,
    seed: u64,
    phone_number: bool,
) -> PyResult<Vec<PathBuf>> {
    use fellegi::synth::records::{GeneratorConfig, Lookups, Preset, write_dir};
    let preset = preset.parse::<Preset>().map_err(|e| to_py(py, e))?;
    let mut cfg = GeneratorConfig::new(preset);
    cfg.seed = seed;
    if let Some(n) = entities {
        cfg.entities = n;
    }
    if let Some(k) = sources {
        cfg.sources.count = k;
    }
    if let Some(o) = overlap {
        cfg.sources.overlap = o;
    }
    cfg.phone_number = phone_number;
    cfg.validate("fellegi.generate").map_err(|e| to_py(py, e))?;
    run_blocking(py, move |_: Progress| {
        let lookups = Lookups::load(&Lookups::default_dir())?;
        let (_, written) = write_dir(&cfg, &lookups, &out, &mut |_| {})?;
        Ok(written)
    })
}

/// The library's version.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

// ---------------------------------------------------------------- the store

/// A persistent store (`fellegi.Store`): records, pairs and clusters with stable ids. The
/// library's [`Store`] behind a lock; every call runs on a worker with the GIL released.
#[pyclass(module = "fellegi._native", name = "NativeStore", frozen)]
struct PyStore {
    store: Arc<std::sync::Mutex<Store>>,
}

/// The store's lock, or the error a poisoned one (a panic mid-call) deserves.
fn locked(s: &std::sync::Mutex<Store>) -> fellegi::Result<std::sync::MutexGuard<'_, Store>> {
    s.lock().map_err(|_| {
        fellegi::Error::Internal(
            "an earlier call on this store failed mid-way; open it again".into(),
        )
    })
}

fn json_text<T: serde::Serialize>(v: &T) -> fellegi::Result<String> {
    serde_json::to_string(v).map_err(|e| fellegi::Error::Internal(format!("to JSON: {e}")))
}

/// New records for `store` from Python inputs (tables by name, or CSV paths).
fn store_records(
    st: &Store,
    inputs: &Inputs,
    source: Option<&str>,
    progress: &Progress,
) -> fellegi::Result<Vec<NewRecord>> {
    match inputs {
        Inputs::Paths(p) => st.read_new(p, source, progress),
        Inputs::Tables(tables) => {
            let needed: Vec<String> = std::iter::once(st.model.unique_id.clone())
                .chain(st.model.columns_used().into_iter().map(|(c, _)| c))
                .collect();
            Inputs::check_needed(tables, &needed)?;
            st.read_tables(&Inputs::sources(tables), source)
        }
    }
}

/// Creates a store at `out` from `inputs` linked by the fitted `model`.
#[pyfunction]
#[pyo3(signature = (model, inputs, out, min_probability, threshold))]
fn store_create(
    py: Python<'_>,
    model: &PySettings,
    inputs: Vec<(String, Bound<'_, PyAny>)>,
    out: PathBuf,
    min_probability: f64,
    threshold: f64,
) -> PyResult<PyStore> {
    let origin = model.origin.clone();
    let model = model.inner.clone();
    let inputs = Inputs::from_py(py, inputs)?;
    let opts = StoreOptions {
        min_probability,
        threshold,
    };
    let st = run_blocking(py, move |progress: Progress| {
        match &inputs {
            Inputs::Paths(p) => store::create(&model, &origin, p, opts, &out, &progress)?,
            Inputs::Tables(_) => {
                let ds = inputs.load(&model)?;
                store::create_from(&model, &origin, &ds, opts, &out, &progress)?
            }
        };
        Store::open(&out)
    })?;
    Ok(PyStore {
        store: Arc::new(std::sync::Mutex::new(st)),
    })
}

/// Opens the store at `path`.
#[pyfunction]
fn store_open(py: Python<'_>, path: PathBuf) -> PyResult<PyStore> {
    let st = run_blocking(py, move |_: Progress| Store::open(&path))?;
    Ok(PyStore {
        store: Arc::new(std::sync::Mutex::new(st)),
    })
}

/// `fellegi store verify` as JSON: `{"ok", "generation", "errors", "trailing"}`.
#[pyfunction]
fn store_verify(py: Python<'_>, path: PathBuf) -> PyResult<String> {
    run_blocking(py, move |_: Progress| {
        let v = store::verify(&path);
        json_text(&serde_json::json!({
            "ok": v.ok(),
            "generation": v.generation,
            "errors": v.errors,
            "trailing": v.trailing.iter().map(|(f, n)| serde_json::json!({"file": f, "bytes": n})).collect::<Vec<_>>(),
        }))
    })
}

#[pymethods]
impl PyStore {
    /// `fellegi store info --json`.
    fn info_json(&self, py: Python<'_>) -> PyResult<String> {
        let s = self.store.clone();
        run_blocking(py, move |_: Progress| json_text(&locked(&s)?.info()))
    }

    /// The store's folder.
    fn path(&self, py: Python<'_>) -> PyResult<PathBuf> {
        let s = self.store.clone();
        run_blocking(py, move |_: Progress| Ok(locked(&s)?.dir().to_path_buf()))
    }

    /// Records in the store.
    fn len(&self, py: Python<'_>) -> PyResult<usize> {
        let s = self.store.clone();
        run_blocking(py, move |_: Progress| Ok(locked(&s)?.len()))
    }

    /// The store's model.
    fn model(&self, py: Python<'_>) -> PyResult<PySettings> {
        let s = self.store.clone();
        let settings = run_blocking(py, move |_: Progress| Ok(locked(&s)?.model.clone()))?;
        Ok(PySettings {
            inner: settings,
            origin: "store model.json".into(),
        })
    }

    /// Adds records (one atomic add); the summary as JSON (AddSummary).
    #[pyo3(signature = (inputs, source=None))]
    fn add(
        &self,
        py: Python<'_>,
        inputs: Vec<(String, Bound<'_, PyAny>)>,
        source: Option<String>,
    ) -> PyResult<String> {
        let inputs = Inputs::from_py(py, inputs)?;
        let s = self.store.clone();
        run_blocking(py, move |progress: Progress| {
            let mut st = locked(&s)?;
            let recs = store_records(&st, &inputs, source.as_deref(), &progress)?;
            json_text(&st.add(&recs)?)
        })
    }

    /// Matches records against the store without adding them: one row per candidate.
    #[pyo3(signature = (inputs, min_probability=None, source=None))]
    fn find(
        &self,
        py: Python<'_>,
        inputs: Vec<(String, Bound<'_, PyAny>)>,
        min_probability: Option<f64>,
        source: Option<String>,
    ) -> PyResult<ArrowTable> {
        let inputs = Inputs::from_py(py, inputs)?;
        let s = self.store.clone();
        let batch = run_blocking(py, move |progress: Progress| {
            let st = locked(&s)?;
            let min = min_probability.unwrap_or(st.manifest.min_probability);
            fellegi::classify::check_probability("min_probability", min)?;
            let recs = store_records(&st, &inputs, source.as_deref(), &progress)?;
            let found = st.find(&recs, min)?;
            candidates_table(&recs, &found, st.comparison_names())
        })?;
        Ok(ArrowTable { batch })
    }

    /// A stored record as JSON (`{"source", "id", "cluster_id", "values"}`), or None.
    fn record(&self, py: Python<'_>, source: String, id: String) -> PyResult<Option<String>> {
        let s = self.store.clone();
        run_blocking(py, move |_: Progress| {
            let st = locked(&s)?;
            match st.record(&source, &id) {
                None => Ok(None),
                Some(r) => {
                    let values: serde_json::Map<String, serde_json::Value> = st
                        .values(r)
                        .into_iter()
                        .map(|(k, v)| (k, serde_json::Value::String(v)))
                        .collect();
                    json_text(&serde_json::json!({
                        "source": source, "id": id,
                        "cluster_id": st.cluster_of(r), "values": values,
                    }))
                    .map(Some)
                }
            }
        })
    }

    /// A cluster as JSON (`{"cluster_id", "requested", "records"}`; a merged id resolves to
    /// its survivor), or None.
    fn cluster(&self, py: Python<'_>, cluster_id: u64) -> PyResult<Option<String>> {
        let s = self.store.clone();
        run_blocking(py, move |_: Progress| {
            let st = locked(&s)?;
            match st.cluster(cluster_id) {
                None => Ok(None),
                Some((now, recs)) => json_text(&serde_json::json!({
                    "cluster_id": now, "requested": cluster_id,
                    "records": recs.into_iter().map(|(s, i)| serde_json::json!({"source": s, "id": i})).collect::<Vec<_>>(),
                }))
                .map(Some),
            }
        })
    }

    /// `fellegi store export`: pairs.csv and clusters.csv under `out`; the paths written.
    fn export(&self, py: Python<'_>, out: PathBuf) -> PyResult<Vec<PathBuf>> {
        let s = self.store.clone();
        run_blocking(py, move |_: Progress| locked(&s)?.export(&out))
    }

    /// `fellegi store recluster` (with a new fitted model, or the stored one); the summary as
    /// JSON (ReclusterSummary).
    #[pyo3(signature = (model=None))]
    fn recluster(&self, py: Python<'_>, model: Option<&PySettings>) -> PyResult<String> {
        let model = model.map(|m| (m.inner.clone(), m.origin.clone()));
        let s = self.store.clone();
        run_blocking(py, move |progress: Progress| {
            let mut st = locked(&s)?;
            let new = model.as_ref().map(|(m, o)| (m, o.as_str()));
            json_text(&st.recluster(new, &progress)?)
        })
    }
}

/// The candidates of `found` (per query, best first) as one table: the query's source and id,
/// the candidate's rank (1 = best), source, id, cluster id, match weight and probability, then
/// per comparison its level label, gamma and weight (bits).
fn candidates_table(
    queries: &[NewRecord],
    found: &[Vec<fellegi::store::Candidate>],
    comparisons: &[String],
) -> fellegi::Result<RecordBatch> {
    let n: usize = found.iter().map(Vec::len).sum();
    let mut q_source = Vec::with_capacity(n);
    let mut q_id = Vec::with_capacity(n);
    let mut rank = Vec::with_capacity(n);
    let mut source = Vec::with_capacity(n);
    let mut id = Vec::with_capacity(n);
    let mut cluster = Vec::with_capacity(n);
    let mut weight = Vec::with_capacity(n);
    let mut prob = Vec::with_capacity(n);
    let k = comparisons.len();
    let mut level: Vec<Vec<String>> = vec![Vec::with_capacity(n); k];
    let mut gamma: Vec<Vec<i32>> = vec![Vec::with_capacity(n); k];
    let mut cw: Vec<Vec<f64>> = vec![Vec::with_capacity(n); k];
    for (q, cands) in queries.iter().zip(found) {
        for (r, c) in cands.iter().enumerate() {
            q_source.push(q.source.as_str());
            q_id.push(q.id.as_str());
            rank.push(r as u32 + 1);
            source.push(c.source.clone());
            id.push(c.id.clone());
            cluster.push(c.cluster_id);
            weight.push(c.match_weight);
            prob.push(c.match_probability);
            for (j, x) in c.contributions.iter().enumerate().take(k) {
                level[j].push(x.level.clone());
                gamma[j].push(x.gamma);
                cw[j].push(x.weight);
            }
        }
    }
    let mut fields: Vec<(String, ArrayRef)> = vec![
        ("query_source".into(), Arc::new(StringArray::from(q_source))),
        ("query_id".into(), Arc::new(StringArray::from(q_id))),
        ("rank".into(), Arc::new(UInt32Array::from(rank))),
        ("source".into(), Arc::new(StringArray::from(source))),
        ("id".into(), Arc::new(StringArray::from(id))),
        (
            "cluster_id".into(),
            Arc::new(arrow_array::UInt64Array::from(cluster)),
        ),
        ("match_weight".into(), Arc::new(Float64Array::from(weight))),
        (
            "match_probability".into(),
            Arc::new(Float64Array::from(prob)),
        ),
    ];
    for (j, c) in comparisons.iter().enumerate() {
        fields.push((
            format!("level_{c}"),
            Arc::new(StringArray::from(std::mem::take(&mut level[j]))),
        ));
        fields.push((
            format!("gamma_{c}"),
            Arc::new(Int32Array::from(std::mem::take(&mut gamma[j]))),
        ));
        fields.push((
            format!("weight_{c}"),
            Arc::new(Float64Array::from(std::mem::take(&mut cw[j]))),
        ));
    }
    batch(
        fields
            .iter()
            .map(|(n, a)| (n.as_str(), a.clone()))
            .collect(),
    )
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySettings>()?;
    m.add_class::<PyRun>()?;
    m.add_class::<ArrowTable>()?;
    m.add_function(wrap_pyfunction!(link, m)?)?;
    m.add_function(wrap_pyfunction!(train, m)?)?;
    m.add_function(wrap_pyfunction!(predict, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(model_lambda, m)?)?;
    m.add_function(wrap_pyfunction!(model_mu_table, m)?)?;
    m.add_function(wrap_pyfunction!(model_chart_svg, m)?)?;
    m.add_function(wrap_pyfunction!(model_save, m)?)?;
    m.add_function(wrap_pyfunction!(model_explain, m)?)?;
    m.add_function(wrap_pyfunction!(datasets_list, m)?)?;
    m.add_function(wrap_pyfunction!(dataset_entry, m)?)?;
    m.add_function(wrap_pyfunction!(generate, m)?)?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_class::<PyStore>()?;
    m.add_function(wrap_pyfunction!(store_create, m)?)?;
    m.add_function(wrap_pyfunction!(store_open, m)?)?;
    m.add_function(wrap_pyfunction!(store_verify, m)?)?;
    Ok(())
}
