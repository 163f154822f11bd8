//! The pipeline on Apache DataFusion Ballista (feature `distributed`) gives the single-machine
//! answer on FEBRL4: the same pattern counts, model.json, pairs, clusters and metrics, in
//! Ballista's in-process standalone mode and on a scheduler with two executor processes on
//! loopback, one of them killed while the job runs (Ballista reruns its tasks elsewhere).
//!
//! Run with `cargo test --features distributed --test distributed`.
#![cfg(feature = "distributed")]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fellegi::compare::Comparer;
use fellegi::compare::candidates::CandidatePatterns;
use fellegi::distributed::{self, Engine, Options};
use fellegi::pipeline::{self, LinkMethod};
use fellegi::progress::Progress;
use fellegi::settings::Settings;

fn repo(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn febrl4() -> (Settings, Vec<PathBuf>) {
    let s = Settings::from_path(&repo("datasets/settings/febrl4.toml")).unwrap();
    let s = s.expanded("febrl4.toml").unwrap();
    (
        s,
        vec![
            repo("datasets/febrl/dataset4a.csv"),
            repo("datasets/febrl/dataset4b.csv"),
        ],
    )
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn standalone_equals_single_machine_on_febrl4() {
    let (s, paths) = febrl4();
    let p = Progress::default();
    let tmp = tempfile::tempdir().unwrap();
    // The engine never reads the inputs (the key tables carry the compared values' ids and
    // the work folder the dictionaries): load copies and remove them before the engine runs.
    let copies: Vec<PathBuf> = paths
        .iter()
        .map(|f| {
            let c = tmp.path().join(f.file_name().unwrap());
            std::fs::copy(f, &c).unwrap();
            c
        })
        .collect();
    let ds = pipeline::load(&s, &copies, &p).unwrap();
    for c in &copies {
        std::fs::remove_file(c).unwrap();
    }
    let local = pipeline::link(&s, &ds, LinkMethod::Probabilistic, 7, 0.01, &p).unwrap();

    // The reduce step: the same PatternCounts and pairs per rule as the single-machine cache.
    let opts = Options::new(Engine::Standalone, tmp.path().join("counts"));
    let counts = distributed::candidate_counts(&s, &ds, &opts, &p).unwrap();
    let comparer = Comparer::new(&s.comparisons, &ds).unwrap();
    let rules: Vec<_> = s.blocking.iter().map(|b| b.keys.clone()).collect();
    let blocker = fellegi::block::Blocker::new(&ds, &rules, s.link_type).unwrap();
    let cache = CandidatePatterns::build(&ds, &comparer, blocker, &p);
    let want = cache.counts();
    assert_eq!(counts.counts.n_comparisons, want.n_comparisons);
    assert_eq!(counts.counts.patterns, want.patterns);
    assert_eq!(counts.counts.counts, want.counts);
    assert_eq!(counts.per_rule, cache.per_rule());
    assert_eq!(counts.per_rule[0], 77_249);
    // Both EM sessions imply a prediction rule, so they were counted in the same job.
    assert_eq!(counts.sessions.len(), 2);
    for (keys, got) in &counts.sessions {
        let want = cache.counts_within(&ds, keys).unwrap();
        assert_eq!(got.patterns, want.patterns, "session {keys:?}");
        assert_eq!(got.counts, want.counts, "session {keys:?}");
    }

    // The whole run: model, pairs (order, levels, weights) and candidate statistics.
    let opts = Options::new(Engine::Standalone, tmp.path().join("link"));
    let dist = distributed::link(&s, &ds, LinkMethod::Probabilistic, 7, 0.01, &opts, &p).unwrap();
    assert_eq!(
        serde_json::to_string(&local.trained.model).unwrap(),
        serde_json::to_string(&dist.trained.model).unwrap()
    );
    let (a, b) = (&local.scored.pairs, &dist.scored.pairs);
    assert!(
        a.len() > 1000,
        "FEBRL4 keeps thousands of pairs, got {}",
        a.len()
    );
    assert_eq!(a.left, b.left);
    assert_eq!(a.right, b.right);
    assert_eq!(a.levels, b.levels);
    assert_eq!(bits(&a.weight), bits(&b.weight));
    assert_eq!(bits(&a.probability), bits(&b.probability));
    assert_eq!(a.candidates, b.candidates);
    assert_eq!(a.candidates_per_rule, b.candidates_per_rule);
    assert_eq!(a.candidates_true, b.candidates_true);
    assert_eq!(a.candidates_true_per_rule, b.candidates_true_per_rule);
    // The executors wrote the kept pairs as partitioned Parquet files.
    let parts = std::fs::read_dir(opts.work_dir.join("pairs"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "parquet")
        })
        .count();
    assert!(parts >= 1, "no partitioned pairs files");

    // An EM session whose rule implies no prediction rule is a join of its own: the same model.
    let mut s2 = s.clone();
    s2.training.em[1].blocking = Some(vec![fellegi::block::KeySpec::Column("suburb".into())]);
    let local = pipeline::link(&s2, &ds, LinkMethod::Probabilistic, 7, 0.5, &p).unwrap();
    let opts = Options::new(Engine::Standalone, tmp.path().join("own-session"));
    let dist = distributed::link(&s2, &ds, LinkMethod::Probabilistic, 7, 0.5, &opts, &p).unwrap();
    assert_eq!(
        serde_json::to_string(&local.trained.model).unwrap(),
        serde_json::to_string(&dist.trained.model).unwrap()
    );
    assert_eq!(local.scored.pairs.left, dist.scored.pairs.left);
    assert_eq!(local.scored.pairs.right, dist.scored.pairs.right);
}

/// The UDF's comparisons over dictionaries alone give the single-machine patterns, and an id
/// outside its dictionary is an error, not a panic.
#[test]
fn dictionary_comparisons_equal_the_comparer() {
    let (s, paths) = febrl4();
    let p = Progress::default();
    let ds = pipeline::load(&s, &paths, &p).unwrap();
    let comparer = Comparer::new(&s.comparisons, &ds).unwrap();
    let mut columns: Vec<fellegi::data::Column> = Vec::new();
    for c in &comparer.comparisons {
        let col = &ds.columns[c.column];
        if !columns.iter().any(|x| x.name == col.name) {
            columns.push(fellegi::data::Column {
                name: col.name.clone(),
                values: Vec::new(),
                dict: col.dict.clone(),
            });
        }
    }
    let prepared = distributed::udf::Prepared::new(&s, columns).unwrap();
    let bytes = |r: u32| -> Vec<u8> {
        comparer
            .row(r)
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect()
    };
    let n = ds.len() as u64;
    let mut x = 12345u64;
    for _ in 0..20_000 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let (a, b) = ((x >> 33) % n, (x >> 7) % n);
        let (a, b) = (a as u32, b as u32);
        assert_eq!(
            prepared.pattern(&bytes(a), &bytes(b)).unwrap(),
            comparer.pattern(&ds, a, b),
            "records {a} and {b}"
        );
    }
    let mut bad = bytes(0);
    bad[0..4].copy_from_slice(&(u32::MAX - 1).to_le_bytes());
    let e = prepared.pattern(&bad, &bytes(1)).unwrap_err().to_string();
    assert!(e.contains("outside its dictionary"), "{e}");
    let e = prepared
        .pattern(&bytes(0)[..4], &bytes(1))
        .unwrap_err()
        .to_string();
    assert!(e.contains("bytes"), "{e}");
}

#[test]
fn other_methods_are_refused_with_a_clear_error() {
    let (s, paths) = febrl4();
    let p = Progress::default();
    let ds = pipeline::load(&s, &paths, &p).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let opts = Options::new(Engine::Standalone, tmp.path().join("w"));
    let e = distributed::link(&s, &ds, LinkMethod::Oracle, 7, 0.01, &opts, &p)
        .unwrap_err()
        .to_string();
    assert!(e.contains("--engine"), "{e}");
    let e = Engine::parse("spark://x:1").unwrap_err().to_string();
    assert!(e.contains("ballista://HOST:PORT"), "{e}");
    assert_eq!(
        Engine::parse("ballista://h:5").unwrap(),
        Engine::Remote("ballista://h:5".into())
    );
}

/// A child process killed (and reaped) when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn fellegi(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fellegi"));
    c.args(args)
        .current_dir(dir)
        .env_remove("FELLEGI_DATA")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// [`fellegi`] with stdout and stderr (Ballista's log at `info`) going to `dir/NAME.log`.
fn fellegi_logged(dir: &Path, name: &str, args: &[&str]) -> Command {
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
    let mut c = fellegi(dir, args);
    c.env("RUST_LOG", "info")
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    c
}

/// A task of the first job's first stage (the comparison stage) that an executor's log shows
/// started and not finished: its task id (`JOB/STAGE.ATTEMPT/PARTITION.ATTEMPT`).
fn running_comparison_task(log: &str) -> Option<String> {
    let tid = |line: &str| -> Option<String> {
        Some(line.split("[TID ").nth(1)?.split(']').next()?.to_string())
    };
    let mut first_job: Option<String> = None;
    let mut running: Vec<String> = Vec::new();
    for line in log.lines() {
        let Some(t) = tid(line) else { continue };
        let job = t.split('/').next().unwrap_or("").to_string();
        let stage = t.split('/').nth(1).and_then(|s| s.split('.').next());
        if line.contains("Execute task") {
            first_job.get_or_insert(job.clone());
            if Some(&job) == first_job.as_ref() && stage == Some("0") {
                running.push(t);
            }
        } else if line.contains("Finished task") {
            running.retain(|r| *r != t);
        }
    }
    running.pop()
}

/// The last lines of every process's log, for a failure message.
fn log_tails(dir: &Path) -> String {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    names.sort();
    let mut out = String::new();
    for p in names {
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let from = lines.len().saturating_sub(60);
        out.push_str(&format!(
            "\n---- {} (last {} of {} lines)\n",
            p.display(),
            lines.len() - from,
            lines.len()
        ));
        out.push_str(&lines[from..].join("\n"));
    }
    out
}

fn wait_for_port(port: u16, within: Duration) {
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t.elapsed() < within, "nothing listens on port {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// metrics.json without its timings.
fn metrics_without_seconds(path: &Path) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.remove("seconds");
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v
}

#[test]
fn two_executors_one_killed_mid_job_give_the_same_answer() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = repo("datasets").display().to_string();
    let link = ["link", "--dataset", "febrl4", "--data-dir", &data, "-q"];

    let mut reference = link.to_vec();
    reference.extend(["--out", "ref"]);
    assert!(fellegi(dir, &reference).status().unwrap().success());

    let sp = free_port();
    let sport = sp.to_string();
    let _scheduler = Guard(
        fellegi_logged(
            dir,
            "scheduler",
            &[
                "engine",
                "scheduler",
                "--bind",
                "127.0.0.1",
                "--port",
                &sport,
                "--external-host",
                "127.0.0.1",
                "--executor-timeout",
                "4",
            ],
        )
        .spawn()
        .unwrap(),
    );
    wait_for_port(sp, Duration::from_secs(30));
    let scheduler = format!("127.0.0.1:{sp}");
    let mut executors = Vec::new();
    for i in 0..2 {
        let (fp, gp) = (free_port(), free_port());
        let (fps, gps) = (fp.to_string(), gp.to_string());
        let wd = dir.join(format!("executor{i}"));
        std::fs::create_dir_all(&wd).unwrap();
        let wds = wd.display().to_string();
        let child = fellegi_logged(
            dir,
            &format!("executor{i}"),
            &[
                "engine",
                "executor",
                "--scheduler",
                &scheduler,
                "--bind",
                "127.0.0.1",
                "--external-host",
                "127.0.0.1",
                "--port",
                &fps,
                "--grpc-port",
                &gps,
                "--concurrent-tasks",
                "2",
                "--work-dir",
                &wds,
                "--heartbeat",
                "1",
                "--delay-ms",
                "150",
            ],
        )
        .spawn()
        .unwrap();
        executors.push(Some(Guard(child)));
        wait_for_port(fp, Duration::from_secs(30));
    }
    // Let both executors register with the scheduler.
    std::thread::sleep(Duration::from_secs(3));

    let mut run = link.to_vec();
    let engine = format!("ballista://127.0.0.1:{sp}");
    run.extend(["--out", "dist", "--engine", &engine, "--partitions", "8"]);
    let mut client = Guard(fellegi_logged(dir, "client", &run).spawn().unwrap());
    let work = dir
        .join("dist")
        .join(format!(".distributed-{}", client.0.id()));
    // Mid-job: while executor 0 runs a task of the first job's comparison stage (every
    // comparison batch sleeps 150 ms on the executors, so such a task lasts about a second),
    // kill it. Its task and its finished map outputs are then re-run on executor 1.
    // (Ballista 55 can hang when the kill instead falls between two stages, while tasks of the
    // next stage run on the survivor: see docs/distributed.md, "Fault tolerance".)
    let t = Instant::now();
    let log0 = dir.join("executor0.log");
    loop {
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "executor 0 never ran a comparison task{}",
            log_tails(dir)
        );
        assert!(
            client.0.try_wait().unwrap().is_none(),
            "the client ended early{}",
            log_tails(dir)
        );
        if running_comparison_task(&std::fs::read_to_string(&log0).unwrap_or_default()).is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        client.0.try_wait().unwrap().is_none(),
        "the job ended before the executor could be killed mid-job{}",
        log_tails(dir)
    );
    drop(executors[0].take());

    let t = Instant::now();
    let status = loop {
        if let Some(s) = client.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(300),
            "the distributed job did not finish within 300 s after the executor was killed{}",
            log_tails(dir)
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        status.success(),
        "distributed link failed{}",
        log_tails(dir)
    );
    for f in ["model.json", "pairs.csv", "clusters.csv"] {
        let a = std::fs::read(dir.join("ref").join(f)).unwrap();
        let b = std::fs::read(dir.join("dist").join(f)).unwrap();
        assert!(
            a == b,
            "{f} differs between the single-machine and distributed runs"
        );
    }
    assert_eq!(
        metrics_without_seconds(&dir.join("ref/metrics.json")),
        metrics_without_seconds(&dir.join("dist/metrics.json"))
    );
    assert!(dir.join("dist/pairs.parts").is_dir());
    assert!(!work.exists(), "the work folder was left behind");
}

/// Writes a CSV file (all text, empty fields as nulls) as a Parquet file of row groups of 1,000.
fn csv_to_parquet(csv_path: &Path, out: &Path) {
    use ballista::datafusion::arrow::array::{ArrayRef, StringArray};
    use ballista::datafusion::arrow::datatypes::{DataType, Field, Schema};
    use ballista::datafusion::arrow::record_batch::RecordBatch;
    use ballista::datafusion::parquet::arrow::ArrowWriter;
    use std::sync::Arc;
    let mut r = csv::Reader::from_path(csv_path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    let schema = Arc::new(Schema::new(
        header
            .iter()
            .map(|h| Field::new(h, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let mut w =
        ArrowWriter::try_new(std::fs::File::create(out).unwrap(), schema.clone(), None).unwrap();
    for chunk in rows.chunks(1000) {
        let cols: Vec<ArrayRef> = (0..header.len())
            .map(|i| {
                Arc::new(StringArray::from_iter(chunk.iter().map(|row| {
                    let v = row.get(i).unwrap_or("");
                    (!v.is_empty()).then_some(v)
                }))) as ArrayRef
            })
            .collect();
        w.write(&RecordBatch::try_new(schema.clone(), cols).unwrap())
            .unwrap();
    }
    w.close().unwrap();
}

/// Parquet inputs give the CSV inputs' dataset and `fellegi link` output, byte for byte.
#[test]
fn parquet_inputs_give_the_csv_answer() {
    let (s, paths) = febrl4();
    let tmp = tempfile::tempdir().unwrap();
    let pq: Vec<PathBuf> = paths
        .iter()
        .map(|p| {
            let out = tmp
                .path()
                .join(p.file_stem().unwrap())
                .with_extension("parquet");
            csv_to_parquet(p, &out);
            out
        })
        .collect();
    let p = Progress::default();
    let a = pipeline::load(&s, &paths, &p).unwrap();
    let b = distributed::parquet::load(&s, &pq, &p).unwrap();
    assert_eq!(a.len(), b.len());
    assert_eq!(a.columns.len(), b.columns.len());
    for (x, y) in a.columns.iter().zip(&b.columns) {
        assert_eq!(x.name, y.name);
        assert_eq!(x.values, y.values, "column {}", x.name);
        assert!(x.dict.iter().eq(y.dict.iter()), "column {}", x.name);
    }

    let settings = repo("datasets/settings/febrl4.toml").display().to_string();
    let run = |inputs: &[PathBuf], out: &str| {
        let mut args = vec!["link".to_string()];
        for i in inputs {
            args.extend(["--input".to_string(), i.display().to_string()]);
        }
        args.extend(
            ["--settings", &settings, "--out", out, "-q"]
                .iter()
                .map(|x| x.to_string()),
        );
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let st = fellegi(tmp.path(), &argv).status().unwrap();
        assert!(st.success(), "fellegi {argv:?}");
    };
    run(&paths, "from-csv");
    run(&pq, "from-parquet");
    for f in ["pairs.csv", "clusters.csv"] {
        assert_eq!(
            std::fs::read(tmp.path().join("from-csv").join(f)).unwrap(),
            std::fs::read(tmp.path().join("from-parquet").join(f)).unwrap(),
            "{f}"
        );
    }
    // Not Parquet at all: an error naming the file, no panic.
    let fake = tmp.path().join("fake.parquet");
    std::fs::write(&fake, "record_id,given_name\n1,a\n").unwrap();
    let e = distributed::parquet::load(&s, &[fake.clone(), fake], &p)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("fake.parquet") && e.contains("cannot read it as Parquet"),
        "{e}"
    );
}
