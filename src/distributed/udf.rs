//! `fellegi_pattern(left, right, job)`: fellegi's own comparisons as a DataFusion scalar UDF.
//!
//! Each executor (and the client, in standalone mode) loads the job's inputs once, from the job
//! file that the client wrote on shared disk ([`JobFile`]), compiles the comparisons and then,
//! per batch of candidate pairs (record indices `left`, `right`), writes one packed comparison
//! pattern per pair ([`crate::compare::pack`], as lowercase hex `u128`). The UDF is resolved by
//! name: the client's session, the scheduler's session builder and the executors' function
//! registry all register it ([`super::server`]). It has no state of its own, so Ballista's
//! default logical and physical extension codecs carry it; the job file is a literal argument.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use ballista::datafusion::arrow::array::{Array, StringBuilder, UInt32Array};
use ballista::datafusion::arrow::datatypes::DataType;
use ballista::datafusion::common::ScalarValue;
use ballista::datafusion::error::{DataFusionError, Result as DfResult};
use ballista::datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use serde::{Deserialize, Serialize};

use crate::compare::Comparer;
use crate::data::Dataset;
use crate::model::InputDigest;
use crate::progress::Progress;
use crate::settings::Settings;

/// Name of the comparison UDF.
pub const PATTERN_UDF: &str = "fellegi_pattern";

/// What an executor needs to compare a job's pairs: the expanded settings and the input paths
/// (absolute, readable by every executor), with the digests the client read, so that an
/// executor that sees other files fails instead of answering for other data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobFile {
    /// The settings, builders expanded.
    pub settings: Settings,
    /// The inputs, as given to [`crate::pipeline::load`].
    pub paths: Vec<PathBuf>,
    /// The inputs' digests as the client read them.
    pub inputs: Vec<InputDigest>,
}

/// A job's inputs loaded and its comparisons compiled.
#[derive(Debug)]
pub struct Prepared {
    /// The inputs.
    pub ds: Dataset,
    /// The comparisons.
    pub comparer: Comparer,
}

type Cache = Mutex<HashMap<String, Arc<Prepared>>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The prepared job of the job file at `path`, loaded once per process.
///
/// # Errors
/// When the file cannot be read, the inputs cannot be loaded, or they differ from the client's.
pub fn prepared(path: &str) -> DfResult<Arc<Prepared>> {
    let mut map = cache()
        .lock()
        .map_err(|_| DataFusionError::Execution("fellegi job cache poisoned".into()))?;
    if let Some(p) = map.get(path) {
        return Ok(p.clone());
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        DataFusionError::Execution(format!(
            "fellegi: cannot read the job file {path} ({e}); the client's work folder must be on a disk every executor can read"
        ))
    })?;
    let job: JobFile = serde_json::from_str(&text)
        .map_err(|e| DataFusionError::Execution(format!("fellegi: job file {path}: {e}")))?;
    let ds =
        crate::pipeline::load(&job.settings, &job.paths, &Progress::default()).map_err(|e| {
            DataFusionError::Execution(format!("fellegi: executor could not load the inputs: {e}"))
        })?;
    let got = InputDigest::of_dataset(&ds);
    if got != job.inputs {
        return Err(DataFusionError::Execution(format!(
            "fellegi: the executor read other inputs than the client ({got:?} vs {:?}); every executor must see the same files",
            job.inputs
        )));
    }
    let comparer = Comparer::new(&job.settings.comparisons, &ds)
        .map_err(|e| DataFusionError::Execution(format!("fellegi: {e}")))?;
    let p = Arc::new(Prepared { ds, comparer });
    map.insert(path.to_string(), p.clone());
    Ok(p)
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
            signature: Signature::new(
                TypeSignature::Exact(vec![DataType::UInt32, DataType::UInt32, DataType::Utf8]),
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
        let delay = DELAY_MS.load(std::sync::atomic::Ordering::Relaxed);
        if delay > 0 {
            std::thread::sleep(std::time::Duration::from_millis(delay));
        }
        let n = args.number_rows;
        let l = args.args[0].clone().into_array(n)?;
        let r = args.args[1].clone().into_array(n)?;
        let down = |a: &dyn Array| {
            a.as_any()
                .downcast_ref::<UInt32Array>()
                .cloned()
                .ok_or_else(|| {
                    DataFusionError::Execution(format!(
                        "{PATTERN_UDF}: record indices must be UInt32"
                    ))
                })
        };
        let (l, r) = (down(&l)?, down(&r)?);
        let records = job.ds.len() as u32;
        let mut out = StringBuilder::with_capacity(n, n * 8);
        let mut buf = String::with_capacity(32);
        for i in 0..n {
            if l.is_null(i) || r.is_null(i) {
                out.append_null();
                continue;
            }
            let (a, b) = (l.value(i), r.value(i));
            if a >= records || b >= records {
                return Err(DataFusionError::Execution(format!(
                    "{PATTERN_UDF}: record index {} out of range ({records} records)",
                    a.max(b)
                )));
            }
            buf.clear();
            let _ = write!(buf, "{:x}", job.comparer.pattern(&job.ds, a, b));
            out.append_value(&buf);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// The comparison UDF, ready to register.
pub fn pattern_udf() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(PatternUdf::default()))
}
