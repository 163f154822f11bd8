//! The pipeline on Apache DataFusion Ballista (cargo feature `distributed`).
//!
//! The work of a blocked linkage is map-heavy and reduce-light, so it runs as SQL on a Ballista
//! cluster, with fellegi's own comparison code inside a scalar UDF ([`udf::PATTERN_UDF`]):
//!
//! 1. The client loads the inputs (as on one machine: the seeded u sample, the deterministic
//!    rules' pair count and the truth statistics stay local and cheap), indexes each blocking
//!    rule ([`crate::block::RuleIndex`]: one combined key per record) and writes the keys, with
//!    each record's compared values as dictionary ids, as a Parquet table into a work folder
//!    every executor can read, beside the compared columns' dictionaries and a job file naming
//!    them ([`udf::JobFile`]). The executors never read the inputs: they hold the dictionaries
//!    (distinct values), and the join brings each pair's ids.
//! 2. Candidate pairs are an equi-join of the key table with itself per rule (one hash shuffle
//!    per rule), `left < right`, other-source pairs for `link_type = "link"`, and a pair of
//!    rule `k` only when no earlier rule already produced it, exactly as [`crate::block`]
//!    deduplicates (missing keys never join). The rules' pairs are a `UNION ALL`.
//! 3. Each partition compares its pairs with [`udf::PATTERN_UDF`] and an aggregate counts
//!    (rule, pattern, true pair); the small table is reduced to the client: the prediction
//!    candidates' [`crate::compare::PatternCounts`] (the seam), pairs per rule and true pairs.
//!    An EM session with its own training rule counts its pairs the same way.
//! 4. EM runs on the client exactly as on one machine ([`crate::model::train::train`]).
//! 5. Scoring is a second distributed map: the pairs whose pattern reaches
//!    `min_probability` come back to the client as the job's result (each final partition
//!    exactly once, even when tasks were re-run), are put in the single-machine order (rule,
//!    blocking key, left, right) and written as Parquet parts (`pairs.parts/` in the output),
//!    so pairs.csv, clusters.csv and metrics.json are the single-machine ones. Clustering
//!    stays a single-node step over the kept pairs.
//!
//! The same inputs and settings give the same pattern counts, model.json and pairs as
//! [`crate::pipeline::link`] (tests/distributed.rs checks it on FEBRL4, in-process and with two
//! executor processes, one killed mid-job). Only probabilistic, blocked linkage runs here;
//! exhaustive, oracle and rules-only runs are refused with an error that says so.

pub mod parquet;
pub mod server;
pub mod udf;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ballista::datafusion::arrow::array::{
    Array, ArrayRef, BinaryBuilder, BooleanArray, StringArray, UInt32Array, UInt64Array,
};
use ballista::datafusion::arrow::compute::cast;
use ballista::datafusion::arrow::datatypes::{DataType, Field, Schema};
use ballista::datafusion::arrow::record_batch::RecordBatch;
use ballista::datafusion::parquet::arrow::ArrowWriter;
use ballista::datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use ballista::prelude::{SessionConfigExt, SessionContextExt};
use rustc_hash::FxHashMap;

use crate::block::{KeySpec, RuleIndex};
use crate::compare::candidates::covers;
use crate::compare::sample::LevelCounts;
use crate::compare::{Comparer, PatternCounts};
use crate::data::{Dataset, LinkType, MISSING};
use crate::error::{Error, Result};
use crate::model::InputDigest;
use crate::model::predict::{ScoredPairs, pattern_weight};
use crate::model::probability;
use crate::model::train::{PairSource, train};
use crate::pipeline::{Candidates, Job, LinkMethod, LinkRun, Linked, Scored, Trained};
use crate::progress::Progress;
use crate::settings::Settings;

/// Where a distributed job runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Engine {
    /// Ballista's standalone mode: a scheduler and an executor inside this process.
    Standalone,
    /// A running Ballista scheduler, `ballista://HOST:PORT` (e.g. `fellegi engine scheduler`).
    Remote(String),
}

impl Engine {
    /// Parses `--engine`: `ballista://HOST:PORT` or `ballista-standalone`.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `--engine` for anything else.
    pub fn parse(s: &str) -> Result<Engine> {
        if s == "ballista-standalone" {
            return Ok(Engine::Standalone);
        }
        match s.strip_prefix("ballista://") {
            Some(rest) if !rest.is_empty() && !rest.contains('/') => {
                Ok(Engine::Remote(s.to_string()))
            }
            _ => Err(Error::invalid(
                "--engine",
                format!(
                    "--engine `{s}`: expected ballista://HOST:PORT (a scheduler started with `fellegi engine scheduler`) or ballista-standalone (scheduler and executor in this process)"
                ),
            )),
        }
    }

    fn describe(&self) -> String {
        match self {
            Engine::Standalone => "ballista-standalone".into(),
            Engine::Remote(u) => u.clone(),
        }
    }
}

/// How a distributed job runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The engine.
    pub engine: Engine,
    /// A folder every executor can read and write (shared disk): the key tables, the job file
    /// and the partitioned pairs go there; created if needed, left for the caller to remove
    /// ([`finish`] moves the pairs into the output and removes it).
    pub work_dir: PathBuf,
    /// Shuffle partitions per stage (DataFusion `target_partitions`); default 8.
    pub partitions: usize,
}

impl Options {
    /// Options with the default number of partitions (8).
    pub fn new(engine: Engine, work_dir: PathBuf) -> Options {
        Options {
            engine,
            work_dir,
            partitions: 8,
        }
    }
}

/// Runs `job` on the distributed engine: training and scoring on Ballista, deciding,
/// clustering and evaluation on the client as [`Job::run`] does.
///
/// # Errors
/// As [`Job::run`]; [`Error::Engine`] when the engine fails; [`Error::Invalid`] for a method
/// other than probabilistic blocked linkage.
pub fn run_job(job: &Job, ds: &Dataset, opts: &Options, progress: &Progress) -> Result<LinkRun> {
    job.run_with(ds, progress, &|s, ds, m, seed, minp, p| {
        link(s, ds, m, seed, minp, opts, p)
    })
}

/// Moves the partitioned pairs from the work folder into `out/pairs.parts/` (after
/// the merged outputs were written) and removes the work folder.
///
/// # Errors
/// [`Error::Io`] when a move or removal fails.
pub fn finish(opts: &Options, out: &Path) -> Result<Option<PathBuf>> {
    let parts = opts.work_dir.join("pairs");
    let mut moved = None;
    if parts.is_dir() {
        let dst = out.join("pairs.parts");
        if dst.exists() {
            std::fs::remove_dir_all(&dst).map_err(|e| Error::io(&dst, e))?;
        }
        std::fs::rename(&parts, &dst).map_err(|e| Error::io(&dst, e))?;
        moved = Some(dst);
    }
    if opts.work_dir.exists() {
        std::fs::remove_dir_all(&opts.work_dir).map_err(|e| Error::io(&opts.work_dir, e))?;
    }
    Ok(moved)
}

/// The counts the prediction query reduces to the client.
#[derive(Debug, Clone)]
pub struct CandidateCounts {
    /// Pattern counts of all prediction candidates.
    pub counts: PatternCounts,
    /// Candidates per rule (after earlier rules' pairs are removed).
    pub per_rule: Vec<u64>,
    /// True pairs per rule, when the inputs have a truth column.
    pub true_per_rule: Option<Vec<u64>>,
    /// Pattern counts of the EM sessions whose blocking rule implies a prediction rule (every
    /// pair agreeing on the session's keys is a candidate), counted in the same job as the
    /// candidates: the candidates that agree on every key of the session, as
    /// [`crate::compare::candidates::CandidatePatterns::counts_within`] on one machine.
    pub sessions: Vec<(Vec<KeySpec>, PatternCounts)>,
}

/// A kept pair as the engine returns it: (rule, blocking key, left, right, pattern).
type KeptPair = (u32, u32, u32, u32, u128);

/// Kept pairs per file of `pairs.parts/`.
pub const PAIRS_PER_PART: usize = 1 << 20;

/// Writes the kept pairs, in pairs.csv's order, as `dir/part-NNNNN.parquet` files of at most
/// [`PAIRS_PER_PART`] pairs: columns `rule`, `key` (the rule's blocking key code), `l`, `r`
/// (record indices in input order) and `p` (the comparison pattern, hex, level of comparison
/// k in bits 4k..4k+4). Each file is written under a temporary name and renamed.
fn write_parts(dir: &Path, pairs: &[KeptPair]) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let schema = Arc::new(Schema::new(vec![
        Field::new("rule", DataType::UInt32, false),
        Field::new("key", DataType::UInt32, false),
        Field::new("l", DataType::UInt32, false),
        Field::new("r", DataType::UInt32, false),
        Field::new("p", DataType::Utf8, false),
    ]));
    for (i, chunk) in pairs.chunks(PAIRS_PER_PART).enumerate() {
        let col = |f: fn(&KeptPair) -> u32| -> ArrayRef {
            Arc::new(UInt32Array::from_iter_values(chunk.iter().map(f)))
        };
        let cols: Vec<ArrayRef> = vec![
            col(|p| p.0),
            col(|p| p.1),
            col(|p| p.2),
            col(|p| p.3),
            Arc::new(StringArray::from_iter_values(
                chunk.iter().map(|p| udf::pattern_text(p.4)),
            )),
        ];
        let batch = RecordBatch::try_new(schema.clone(), cols)
            .map_err(|e| Error::Internal(format!("pairs part: {e}")))?;
        write_parquet(&dir.join(format!("part-{i:05}.parquet")), &batch)?;
    }
    Ok(())
}

/// Rows per Parquet row group of the work folder's files, so that file scans split across
/// executors.
const ROW_GROUP: usize = 1 << 16;

/// Writes `batch` as the Parquet file `path` in row groups of [`ROW_GROUP`] rows, under a
/// temporary name renamed when done.
///
/// # Errors
/// [`Error::Io`] or [`Error::Internal`] when writing fails.
pub(crate) fn write_parquet(path: &Path, batch: &RecordBatch) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let err = |e: ballista::datafusion::parquet::errors::ParquetError| {
        Error::Internal(format!("{}: {e}", path.display()))
    };
    let file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let mut w = ArrowWriter::try_new(file, batch.schema(), None).map_err(err)?;
    for start in (0..batch.num_rows()).step_by(ROW_GROUP) {
        let len = ROW_GROUP.min(batch.num_rows() - start);
        w.write(&batch.slice(start, len)).map_err(err)?;
        w.flush().map_err(err)?;
    }
    w.close().map_err(err)?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// A distributed job in progress: the engine session and the work folder's tables.
struct Session<'a> {
    // Declared before the runtime so that it is dropped first.
    ctx: SessionContext,
    rt: tokio::runtime::Runtime,
    opts: &'a Options,
    /// The work folder, absolute.
    work: PathBuf,
    job_file: String,
    link_type: LinkType,
    n_rules: usize,
    /// The EM sessions' rules counted with the candidates (key columns `s0`, `s1`, ...).
    fused: Vec<Vec<KeySpec>>,
}

fn df_err(opts: &Options, what: &str, e: impl std::fmt::Display) -> Error {
    Error::Engine(format!(
        "{what} on {}: {e}; check that the scheduler is running there with executors registered (`fellegi engine scheduler`, `fellegi engine executor --scheduler HOST:PORT`) and that every executor can read {}",
        opts.engine.describe(),
        opts.work_dir.display()
    ))
}

fn sql_text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Writes named `u32` key columns ([`MISSING`] as null) with the record index, source, the
/// compared values (`v`: [`Comparer::row`] as little-endian `u32`s) and the truth, when given,
/// as a Parquet file; rows whose keys are all missing are left out.
fn write_keys(
    path: &Path,
    ds: &Dataset,
    comparer: &Comparer,
    keys: &[(String, &[u32])],
    truth: Option<&[u32]>,
) -> Result<()> {
    let rows: Vec<u32> = (0..ds.len() as u32)
        .filter(|&r| keys.iter().any(|(_, k)| k[r as usize] != MISSING))
        .collect();
    let opt = |v: &[u32]| -> ArrayRef {
        Arc::new(UInt32Array::from_iter(rows.iter().map(|&r| {
            let x = v[r as usize];
            (x != MISSING).then_some(x)
        })))
    };
    let mut fields = vec![
        Field::new("row", DataType::UInt32, false),
        Field::new("src", DataType::UInt32, false),
    ];
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(UInt32Array::from(rows.clone())),
        Arc::new(UInt32Array::from_iter_values(
            rows.iter().map(|&r| ds.source_of[r as usize] as u32),
        )),
    ];
    fields.push(Field::new("v", DataType::Binary, false));
    let k = comparer.len();
    let mut v = BinaryBuilder::with_capacity(rows.len(), rows.len() * 4 * k);
    let mut bytes = Vec::with_capacity(4 * k);
    for &r in &rows {
        bytes.clear();
        for &x in comparer.row(r) {
            bytes.extend_from_slice(&x.to_le_bytes());
        }
        v.append_value(&bytes);
    }
    cols.push(Arc::new(v.finish()));
    if let Some(t) = truth {
        fields.push(Field::new("truth", DataType::UInt32, true));
        cols.push(opt(t));
    }
    for (name, k) in keys {
        fields.push(Field::new(name, DataType::UInt32, true));
        cols.push(opt(k));
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)
        .map_err(|e| Error::Internal(format!("key table: {e}")))?;
    write_parquet(path, &batch)
}

fn column<'b>(b: &'b RecordBatch, name: &str) -> Result<&'b ArrayRef> {
    b.column_by_name(name)
        .ok_or_else(|| Error::Internal(format!("engine result lacks column `{name}`")))
}

fn u64s(b: &RecordBatch, name: &str) -> Result<Vec<u64>> {
    let a = cast(column(b, name)?, &DataType::UInt64)
        .map_err(|e| Error::Internal(format!("column `{name}`: {e}")))?;
    let a = a
        .as_any()
        .downcast_ref::<UInt64Array>()
        .ok_or_else(|| Error::Internal(format!("column `{name}` is not an integer")))?;
    Ok((0..a.len()).map(|i| a.value(i)).collect())
}

fn bools(b: &RecordBatch, name: &str) -> Result<Vec<bool>> {
    let a = cast(column(b, name)?, &DataType::Boolean)
        .map_err(|e| Error::Internal(format!("column `{name}`: {e}")))?;
    let a = a
        .as_any()
        .downcast_ref::<BooleanArray>()
        .ok_or_else(|| Error::Internal(format!("column `{name}` is not boolean")))?;
    Ok((0..a.len()).map(|i| a.is_valid(i) && a.value(i)).collect())
}

fn patterns(b: &RecordBatch, name: &str) -> Result<Vec<u128>> {
    let a = cast(column(b, name)?, &DataType::Utf8)
        .map_err(|e| Error::Internal(format!("column `{name}`: {e}")))?;
    let a = a
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| Error::Internal(format!("column `{name}` is not text")))?;
    (0..a.len())
        .map(|i| {
            u128::from_str_radix(a.value(i), 16)
                .map_err(|e| Error::Internal(format!("pattern `{}`: {e}", a.value(i))))
        })
        .collect()
}

impl Session<'_> {
    fn query(&self, what: &str, sql: &str) -> Result<Vec<RecordBatch>> {
        self.rt
            .block_on(async { self.ctx.sql(sql).await?.collect().await })
            .map_err(|e| df_err(self.opts, what, e))
    }

    fn register(&self, name: &str, path: &Path) -> Result<()> {
        let p = path.display().to_string();
        self.rt
            .block_on(
                self.ctx
                    .register_parquet(name, &p, ParquetReadOptions::default()),
            )
            .map_err(|e| df_err(self.opts, &format!("registering {p}"), e))
    }

    /// The UDF call on compared values `l` and `r`; with `kept`, the kept-patterns file
    /// (null for a pair whose pattern is not in it).
    fn pattern_expr(&self, l: &str, r: &str, kept: Option<&Path>) -> String {
        let kept = kept
            .map(|k| format!(", {}", sql_text(&k.display().to_string())))
            .unwrap_or_default();
        format!(
            "{}({l}, {r}, {}{kept})",
            udf::PATTERN_UDF,
            sql_text(&self.job_file)
        )
    }

    fn source_filter(&self) -> &'static str {
        if self.link_type == LinkType::Link {
            " AND a.src <> b.src"
        } else {
            ""
        }
    }

    /// The candidate pairs of the prediction rules: `rule, key, l, r, lv, rv, t`, and with
    /// `flags` whether the pair agrees on each fused session's keys (`f0`, `f1`, ...).
    fn candidates_sql(&self, has_truth: bool, flags: bool) -> String {
        let t = if has_truth {
            "COALESCE(a.truth = b.truth, false)"
        } else {
            "false"
        };
        let mut f = String::new();
        if flags {
            for j in 0..self.fused.len() {
                let _ = write!(f, ", COALESCE(a.s{j} = b.s{j}, false) AS f{j}");
            }
        }
        let mut parts = Vec::new();
        for i in 0..self.n_rules {
            let mut q = format!(
                "SELECT CAST({i} AS INT) AS rule, a.p{i} AS key, a.row AS l, b.row AS r, a.v AS lv, b.v AS rv, {t} AS t{f} \
                 FROM fellegi_pred a JOIN fellegi_pred b ON a.p{i} = b.p{i} WHERE a.row < b.row{}",
                self.source_filter()
            );
            for j in 0..i {
                let _ = write!(q, " AND (a.p{j} IS NULL OR a.p{j} IS DISTINCT FROM b.p{j})");
            }
            parts.push(q);
        }
        parts.join(" UNION ALL ")
    }

    fn prediction_counts(&self, n_comparisons: usize, has_truth: bool) -> Result<CandidateCounts> {
        let flags: String = (0..self.fused.len()).map(|j| format!(", f{j}")).collect();
        let sql = format!(
            "SELECT rule, p, t{flags}, COUNT(*) AS n FROM (SELECT rule, t{flags}, {} AS p FROM ({})) GROUP BY rule, p, t{flags}",
            self.pattern_expr("lv", "rv", None),
            self.candidates_sql(has_truth, true)
        );
        let mut map: FxHashMap<u128, u64> = FxHashMap::default();
        let mut fused: Vec<FxHashMap<u128, u64>> = vec![FxHashMap::default(); self.fused.len()];
        let mut per_rule = vec![0u64; self.n_rules];
        let mut true_per_rule = vec![0u64; self.n_rules];
        for b in self.query("counting candidate patterns", &sql)? {
            let (rule, p, t, n) = (
                u64s(&b, "rule")?,
                patterns(&b, "p")?,
                bools(&b, "t")?,
                u64s(&b, "n")?,
            );
            let f = (0..self.fused.len())
                .map(|j| bools(&b, &format!("f{j}")))
                .collect::<Result<Vec<_>>>()?;
            for i in 0..b.num_rows() {
                let k = rule[i] as usize;
                if k >= self.n_rules {
                    return Err(Error::Internal(format!("engine returned rule {k}")));
                }
                *map.entry(p[i]).or_insert(0) += n[i];
                per_rule[k] += n[i];
                if t[i] {
                    true_per_rule[k] += n[i];
                }
                for (j, fj) in f.iter().enumerate() {
                    if fj[i] {
                        *fused[j].entry(p[i]).or_insert(0) += n[i];
                    }
                }
            }
        }
        Ok(CandidateCounts {
            counts: PatternCounts::from_map(n_comparisons, map),
            per_rule,
            true_per_rule: has_truth.then_some(true_per_rule),
            sessions: self
                .fused
                .iter()
                .cloned()
                .zip(fused)
                .map(|(k, m)| (k, PatternCounts::from_map(n_comparisons, m)))
                .collect(),
        })
    }

    fn session_counts(
        &self,
        session: usize,
        ds: &Dataset,
        comparer: &Comparer,
        keys: &[KeySpec],
    ) -> Result<PatternCounts> {
        let index = RuleIndex::build(ds, keys)?;
        let name = format!("fellegi_session{session}");
        let path = self.work.join(format!("{name}.parquet"));
        write_keys(
            &path,
            ds,
            comparer,
            &[("k".to_string(), index.keys.as_slice())],
            None,
        )?;
        self.register(&name, &path)?;
        let sql = format!(
            "SELECT p, COUNT(*) AS n FROM (SELECT {} AS p FROM {name} a JOIN {name} b ON a.k = b.k WHERE a.row < b.row{}) GROUP BY p",
            self.pattern_expr("a.v", "b.v", None),
            self.source_filter()
        );
        let mut map: FxHashMap<u128, u64> = FxHashMap::default();
        for b in self.query(&format!("EM session {}", session + 1), &sql)? {
            let (p, n) = (patterns(&b, "p")?, u64s(&b, "n")?);
            for i in 0..b.num_rows() {
                *map.entry(p[i]).or_insert(0) += n[i];
            }
        }
        Ok(PatternCounts::from_map(comparer.len(), map))
    }

    /// Writes the kept pairs (pattern in `kept`) as partitioned Parquet files and reads them
    /// back: (rule, key, left, right, pattern) per pair, in no particular order.
    fn kept_pairs(&self, kept: &[u128], has_truth: bool) -> Result<Vec<KeptPair>> {
        if kept.is_empty() {
            return Ok(Vec::new());
        }
        // The kept patterns go to the executors as a file, looked up in a hash set by the UDF
        // (a literal `p IN (...)` list of the kept patterns, shipped in the plan, took the
        // 1.16M-record people file's scoring job from 20.9 to 28.7 s on one executor and the
        // scheduler from 72 to 134 MB).
        let list: Vec<String> = kept.iter().map(|&p| udf::pattern_text(p)).collect();
        let kept_path = self.work.join("kept.json");
        let text =
            serde_json::to_string(&list).map_err(|e| Error::Internal(format!("kept: {e}")))?;
        std::fs::write(&kept_path, text).map_err(|e| Error::io(&kept_path, e))?;
        let sql = format!(
            "SELECT rule, key, l, r, p FROM (SELECT rule, key, l, r, {} AS p FROM ({})) WHERE p IS NOT NULL",
            self.pattern_expr("lv", "rv", Some(&kept_path)),
            self.candidates_sql(has_truth, false),
        );
        // The kept pairs come back to the client as the job's result, not through files the
        // executors write: Ballista re-runs the tasks of a lost executor, and a file sink
        // keeps every attempt's file (a task that finished writing before its executor was
        // lost is written again), so files would hold some pairs twice, while a job's
        // result is each final partition once. The client holds the kept pairs anyway (it
        // orders them and clusters them); it writes pairs.parts/ itself ([`write_parts`]).
        let batches = self.query("scoring pairs", &sql)?;
        let mut out = Vec::new();
        for b in batches {
            let (rule, key, l, r, p) = (
                u64s(&b, "rule")?,
                u64s(&b, "key")?,
                u64s(&b, "l")?,
                u64s(&b, "r")?,
                patterns(&b, "p")?,
            );
            for i in 0..b.num_rows() {
                out.push((
                    rule[i] as u32,
                    key[i] as u32,
                    l[i] as u32,
                    r[i] as u32,
                    p[i],
                ));
            }
        }
        Ok(out)
    }
}

/// What training reads on the distributed engine: EM sessions' pattern counts from the engine,
/// the rest (u sample, rule pair counts, truth) from the local [`Candidates`] as on one machine.
struct DistributedSource<'a> {
    local: Candidates<'a>,
    session: &'a Session<'a>,
    prediction: &'a CandidateCounts,
}

impl PairSource for DistributedSource<'_> {
    fn admissible_pairs(&self) -> u128 {
        self.local.admissible_pairs()
    }

    fn inputs(&self) -> Vec<InputDigest> {
        self.local.inputs()
    }

    fn sample_levels(&self, n_pairs: u64, seed: u64, exclude_true_matches: bool) -> LevelCounts {
        self.local
            .sample_levels(n_pairs, seed, exclude_true_matches)
    }

    fn true_pair_levels(&self) -> Option<LevelCounts> {
        self.local.true_pair_levels()
    }

    fn true_pairs(&self) -> Option<u64> {
        self.local.true_pairs()
    }

    fn rule_pairs(&self, rules: &[Vec<KeySpec>]) -> Result<u64> {
        self.local.rule_pairs(rules)
    }

    fn candidates_are_all_pairs(&self) -> bool {
        false
    }

    fn session_counts(&self, session: usize, rule: Option<&[KeySpec]>) -> Result<PatternCounts> {
        match rule {
            None => Ok(self.prediction.counts.clone()),
            Some(keys) => {
                if let Some((_, c)) = self.prediction.sessions.iter().find(|(k, _)| k == keys) {
                    return Ok(c.clone());
                }
                self.session
                    .session_counts(session, self.local.ds, self.local.comparer, keys)
            }
        }
    }
}

impl<'a> Session<'a> {
    /// Writes the dictionaries, the job file and the prediction key table into the work folder
    /// and connects to the engine.
    fn open(
        settings: &Settings,
        ds: &Dataset,
        comparer: &Comparer,
        opts: &'a Options,
        progress: &Progress,
    ) -> Result<Session<'a>> {
        let t = std::time::Instant::now();
        let work = &opts.work_dir;
        std::fs::create_dir_all(work).map_err(|e| Error::io(work, e))?;
        let work = std::fs::canonicalize(work).map_err(|e| Error::io(work, e))?;
        // The compared columns' dictionaries, in order of first use.
        let mut dictionaries: Vec<udf::DictFile> = Vec::new();
        for c in &comparer.comparisons {
            let col = &ds.columns[c.column];
            if !dictionaries.iter().any(|d| d.column == col.name) {
                let path = work.join(format!("dict-{}.parquet", dictionaries.len()));
                dictionaries.push(udf::write_dictionary(&path, col)?);
            }
        }
        let job_path = work.join("job.json");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let job = udf::JobFile {
            settings: settings.clone(),
            dictionaries,
            inputs: InputDigest::of_dataset(ds),
            nonce: format!("{}-{now}", std::process::id()),
        };
        let text =
            serde_json::to_string(&job).map_err(|e| Error::Internal(format!("job file: {e}")))?;
        std::fs::write(&job_path, text).map_err(|e| Error::io(&job_path, e))?;
        // The prediction rules' keys.
        let rules: Vec<RuleIndex> = settings
            .blocking
            .iter()
            .map(|b| RuleIndex::build(ds, &b.keys))
            .collect::<Result<_>>()?;
        // EM sessions whose rule implies a prediction rule are counted with the candidates.
        let prediction_rules: Vec<Vec<KeySpec>> =
            settings.blocking.iter().map(|b| b.keys.clone()).collect();
        let mut fused: Vec<Vec<KeySpec>> = Vec::new();
        for s in &settings.training.em {
            if let Some(keys) = &s.blocking {
                if covers(&prediction_rules, keys) && !fused.contains(keys) {
                    fused.push(keys.clone());
                }
            }
        }
        let session_index: Vec<RuleIndex> = fused
            .iter()
            .map(|k| RuleIndex::build(ds, k))
            .collect::<Result<_>>()?;
        let mut names: Vec<(String, &[u32])> = rules
            .iter()
            .enumerate()
            .map(|(i, r)| (format!("p{i}"), r.keys.as_slice()))
            .collect();
        names.extend(
            session_index
                .iter()
                .enumerate()
                .map(|(j, r)| (format!("s{j}"), r.keys.as_slice())),
        );
        let pred_path = work.join("fellegi_pred.parquet");
        write_keys(&pred_path, ds, comparer, &names, ds.truth.as_deref())?;
        progress.phase("distributed: write key tables", t);

        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Engine(format!("cannot start the async runtime: {e}")))?;
        let config =
            SessionConfig::new_with_ballista().with_target_partitions(opts.partitions.max(1));
        let state = server::session_state(config).map_err(|e| df_err(opts, "session", e))?;
        let ctx = rt
            .block_on(async {
                match &opts.engine {
                    Engine::Standalone => SessionContext::standalone_with_state(state).await,
                    Engine::Remote(url) => SessionContext::remote_with_state(url, state).await,
                }
            })
            .map_err(|e| df_err(opts, "connecting", e))?;
        // Ballista's upgrade of the client state replaces its function list: register again.
        ctx.register_udf(udf::pattern_udf().as_ref().clone());
        let session = Session {
            ctx,
            rt,
            opts,
            job_file: job_path.display().to_string(),
            work: work.clone(),
            link_type: settings.link_type,
            n_rules: rules.len(),
            fused,
        };
        session.register("fellegi_pred", &pred_path)?;
        Ok(session)
    }
}

/// The prediction candidates' pattern counts, pairs per rule and true pairs per rule, counted
/// on the engine (the reduce step that feeds EM).
///
/// # Errors
/// [`Error::Engine`] when the engine fails; blocking errors as on one machine.
pub fn candidate_counts(
    settings: &Settings,
    ds: &Dataset,
    opts: &Options,
    progress: &Progress,
) -> Result<CandidateCounts> {
    let comparer = Comparer::new(&settings.comparisons, ds)?;
    let session = Session::open(settings, ds, &comparer, opts, progress)?;
    session.prediction_counts(comparer.len(), ds.truth.is_some())
}

fn levels_of(p: u128, n: usize) -> Vec<u8> {
    (0..n).map(|k| ((p >> (4 * k)) & 0xF) as u8).collect()
}

/// Trains and scores on the distributed engine (the [`crate::pipeline::Linker`] of
/// [`run_job`]); the same result as [`crate::pipeline::link`] for probabilistic blocked
/// linkage.
///
/// # Errors
/// [`Error::Invalid`] for another method or exhaustive settings; [`Error::Engine`] when the
/// engine fails; blocking and training errors as on one machine.
#[allow(clippy::too_many_arguments)]
pub fn link(
    settings: &Settings,
    ds: &Dataset,
    method: LinkMethod,
    seed: u64,
    min_probability: f64,
    opts: &Options,
    progress: &Progress,
) -> Result<Linked> {
    if method != LinkMethod::Probabilistic || settings.exhaustive {
        return Err(Error::invalid(
            "--engine",
            "the distributed engine runs probabilistic linkage on blocking candidates; --oracle, --rules-only and exhaustive runs stay on one machine (leave out --engine)",
        ));
    }
    if settings.blocking.is_empty() {
        return Err(Error::settings(
            "settings",
            "blocking",
            "no [[blocking]] rules: the distributed engine joins on the blocking keys, e.g. [[blocking]] keys = [\"surname\"]",
        ));
    }
    let comparer = Comparer::new(&settings.comparisons, ds)?;
    let n_c = comparer.len();
    let session = Session::open(settings, ds, &comparer, opts, progress)?;
    let has_truth = ds.truth.is_some();

    let t = std::time::Instant::now();
    let prediction = session.prediction_counts(n_c, has_truth)?;
    progress.phase("distributed: compare and count candidates", t);
    progress.checkpoint()?;

    let t = std::time::Instant::now();
    let fitted = {
        let src = DistributedSource {
            local: Candidates::new(settings, ds, &comparer, progress),
            session: &session,
            prediction: &prediction,
        };
        train(&settings.train_spec(), &comparer, &src, seed, progress)?
    };
    progress.phase("train", t);
    progress.checkpoint()?;

    let t = std::time::Instant::now();
    let params = &fitted.params;
    let weights = params.level_weights();
    let prior = params.prior_weight();
    let score = |p: u128| {
        let w = pattern_weight(prior, &weights, &levels_of(p, n_c));
        (w, probability(w))
    };
    // The patterns that reach `min_probability`, and how many candidates they hold: the kept
    // pairs must be exactly these; two jobs counted and kept them, so a lost or repeated
    // partition in either shows as a difference, reported rather than written.
    let (mut kept, mut expected) = (Vec::new(), 0u64);
    for (&p, &n) in prediction
        .counts
        .patterns
        .iter()
        .zip(&prediction.counts.counts)
    {
        if score(p).1 >= min_probability {
            kept.push(p);
            expected += n;
        }
    }
    let mut pairs = session.kept_pairs(&kept, has_truth)?;
    // The single-machine order: rule, then blocking key, then left, then right.
    pairs.sort_unstable();
    let repeated = pairs.windows(2).filter(|w| w[0] == w[1]).count();
    if pairs.len() as u64 != expected || repeated > 0 {
        return Err(Error::Engine(format!(
            "the engine returned {} kept pairs ({repeated} of them twice) where the candidates' pattern counts give {expected}: it lost or repeated work (e.g. while re-running a lost executor's tasks), so nothing was written; run the job again",
            pairs.len()
        )));
    }
    write_parts(&session.work.join("pairs"), &pairs)?;
    let mut scored = ScoredPairs {
        n_comparisons: n_c,
        candidates: prediction.per_rule.iter().sum(),
        candidates_per_rule: prediction.per_rule.clone(),
        candidates_true: prediction.true_per_rule.as_ref().map(|v| v.iter().sum()),
        candidates_true_per_rule: prediction.true_per_rule.clone(),
        ..Default::default()
    };
    for &(_, _, l, r, p) in &pairs {
        let (w, pr) = score(p);
        scored.left.push(l);
        scored.right.push(r);
        scored.weight.push(w);
        scored.probability.push(pr);
        scored.levels.extend(levels_of(p, n_c));
    }
    progress.phase("distributed: score", t);
    let mut model = settings.clone();
    fitted.params.write_into(&mut model);
    model.fit = Some(fitted.fit.clone());
    Ok(Linked {
        trained: Trained { model, fitted },
        scored: Scored {
            comparer,
            pairs: scored,
            notes: Vec::new(),
        },
    })
}
