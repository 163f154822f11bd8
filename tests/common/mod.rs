//! Shared helpers for the CLI tests: a temporary working folder that runs the real `fellegi`
//! binary (in the style of xsv's `tests/workdir.rs`), plus small readers for its outputs.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_fellegi");

/// A path inside the source tree (datasets, shipped settings).
pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A temporary folder; commands run with it as the current directory.
pub struct Workdir {
    dir: tempfile::TempDir,
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    /// The command line, for messages.
    pub cmd: String,
    /// Exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    /// Panics with the full output unless the command exited 0.
    #[track_caller]
    pub fn ok(&self) -> &Self {
        assert_eq!(
            self.code,
            Some(0),
            "`{}` failed\n--- stdout\n{}\n--- stderr\n{}",
            self.cmd,
            self.stdout,
            self.stderr
        );
        self
    }

    /// Asserts exit code 2, no panic, and that stderr contains every needle.
    #[track_caller]
    pub fn fails_with(&self, needles: &[&str]) -> &Self {
        assert!(
            !self.stderr.contains("panicked") && !self.stderr.contains("RUST_BACKTRACE"),
            "`{}` panicked:\n{}",
            self.cmd,
            self.stderr
        );
        assert_eq!(
            self.code,
            Some(2),
            "`{}` should exit 2\n--- stdout\n{}\n--- stderr\n{}",
            self.cmd,
            self.stdout,
            self.stderr
        );
        for n in needles {
            assert!(
                self.stderr.contains(n),
                "`{}`: stderr should mention {n:?}, got:\n{}",
                self.cmd,
                self.stderr
            );
        }
        self
    }
}

impl Default for Workdir {
    fn default() -> Self {
        Self::new()
    }
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::Builder::new()
                .prefix("fellegi-cli-")
                .tempdir()
                .expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes `contents` to `rel` (creating parent folders) and returns the path.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, contents).unwrap();
        p
    }

    pub fn read(&self, rel: &str) -> String {
        let p = self.join(rel);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    pub fn read_bytes(&self, rel: &str) -> Vec<u8> {
        let p = self.join(rel);
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.join(rel).exists()
    }

    /// Runs `fellegi ARGS` in this folder, with `FELLEGI_DATA` unset (so `--dataset` resolves to
    /// the source tree's `datasets/`).
    pub fn run<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Run {
        let t = Instant::now();
        let out = Command::new(BIN)
            .args(args)
            .current_dir(self.path())
            .env_remove("FELLEGI_DATA")
            .env_remove("RUST_BACKTRACE")
            .output()
            .expect("run fellegi");
        Run {
            cmd: std::iter::once("fellegi".to_string())
                .chain(
                    args.iter()
                        .map(|a| a.as_ref().to_string_lossy().into_owned()),
                )
                .collect::<Vec<_>>()
                .join(" "),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed: t.elapsed(),
        }
    }

    /// Asserts that folder `rel` holds no output that looks complete (nor a staging file).
    #[track_caller]
    pub fn assert_no_output(&self, rel: &str) {
        let d = self.join(rel);
        for f in ["pairs.csv", "model.json", "metrics.json", "clusters.csv"] {
            assert!(
                !d.join(f).exists(),
                "{} exists after a failed run",
                d.join(f).display()
            );
        }
        if let Ok(rd) = std::fs::read_dir(&d) {
            let left: Vec<String> = rd
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            assert!(
                left.is_empty(),
                "{} is not empty after a failed run: {left:?}",
                d.display()
            );
        }
    }
}

/// A CSV file: header and rows.
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn col(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name} in {:?}", self.header))
    }
}

pub fn read_csv(path: &Path) -> Table {
    let mut rdr =
        csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header = rdr.headers().unwrap().iter().map(String::from).collect();
    let rows = rdr
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    Table { header, rows }
}

pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The file stem, i.e. the `source` fellegi gives the file's records.
pub fn stem(p: &Path) -> String {
    p.file_stem().unwrap().to_string_lossy().into_owned()
}

/// (source, id) → entity, from input CSVs with `record_id` and `entity_id` columns.
pub fn truth_of(
    files: &[PathBuf],
    id_col: &str,
    truth_col: &str,
) -> HashMap<(String, String), String> {
    let mut m = HashMap::new();
    for f in files {
        let t = read_csv(f);
        let (i, e) = (t.col(id_col), t.col(truth_col));
        let s = stem(f);
        for r in &t.rows {
            assert!(
                m.insert((s.clone(), r[i].clone()), r[e].clone()).is_none(),
                "duplicate id {} in {}",
                r[i],
                f.display()
            );
        }
    }
    m
}

/// Number of pairs of records with the same entity; with `cross_only`, only pairs from different
/// sources. Counted by brute force over each entity's records.
pub fn same_entity_pairs(truth: &HashMap<(String, String), String>, cross_only: bool) -> u64 {
    let mut by_entity: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for ((s, _), e) in truth {
        by_entity.entry(e).or_default().push(s);
    }
    let mut n = 0u64;
    for srcs in by_entity.values() {
        for a in 0..srcs.len() {
            for b in a + 1..srcs.len() {
                if !cross_only || srcs[a] != srcs[b] {
                    n += 1;
                }
            }
        }
    }
    n
}

/// Minimal union–find for independent cluster checks.
pub struct Dsu {
    parent: Vec<usize>,
}

impl Dsu {
    pub fn new(n: usize) -> Dsu {
        Dsu {
            parent: (0..n).collect(),
        }
    }
    pub fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }
    pub fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            self.parent[a.max(b)] = a.min(b);
        }
    }
}

/// Whether two labelings of the same keys are the same partition (labels may differ).
pub fn same_partition<K: Ord + Clone + std::fmt::Debug>(
    a: &BTreeMap<K, String>,
    b: &BTreeMap<K, String>,
) -> Result<(), String> {
    if a.len() != b.len() || a.keys().ne(b.keys()) {
        return Err(format!("different keys: {} vs {}", a.len(), b.len()));
    }
    let mut ab: HashMap<&String, &String> = HashMap::new();
    let mut ba: HashMap<&String, &String> = HashMap::new();
    for (k, la) in a {
        let lb = &b[k];
        if *ab.entry(la).or_insert(lb) != lb || *ba.entry(lb).or_insert(la) != la {
            return Err(format!(
                "record {k:?}: cluster {la} vs {lb} breaks the bijection"
            ));
        }
    }
    Ok(())
}

/// A tiny dedupe settings file over `id,entity,given,surname` data, used by many tests.
pub const SMALL_SETTINGS: &str = r#"link_type = "dedupe"
unique_id = "id"
truth = "entity"

[[blocking]]
keys = ["surname"]

[training]
u = { random_pairs = 1000 }

[[comparison]]
column = "given"
use = "jaro_winkler_at_thresholds"
thresholds = [0.9]

[[comparison]]
column = "surname"
use = "exact_match"
"#;

/// Good data for [`SMALL_SETTINGS`].
pub const SMALL_CSV: &str = "id,entity,given,surname\n\
1,a,john,smith\n\
2,a,jon,smith\n\
3,b,mary,jones\n\
4,b,mary,jones\n\
5,c,peter,brown\n";
