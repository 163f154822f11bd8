//! The experiment runner: each task is one run of the `fellegi` executable's own `link` (after
//! its `generate` for generated data) as a child process, with its peak memory measured; the
//! child's `model.json` and `metrics.json` are read back typed into a [`TaskResult`], written to
//! the task's result file. Runs resume: a task whose result is ok with the spec's hash is not run
//! again unless forced.
//!
//! Nothing here prints: [`run`] and [`status`] hand each entry to an observer as it happens
//! (the CLI prints it) and return them all.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use super::result::{Fitted, Outcome, Params, TaskResult};
use super::{Experiment, Task, discover, result_file};
use crate::error::{Error, Result};
use crate::eval::LinkMetrics;
use crate::output::{Staged, write_json};
use crate::settings::Settings;

/// How [`run`] runs tasks.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The `fellegi` executable each task runs (the CLI passes itself).
    pub exe: PathBuf,
    /// The source tree, whose commit each result records ([`git_commit`]).
    pub source_root: PathBuf,
    /// The results folder.
    pub results: PathBuf,
    /// Toy profile: each group's first seed (and first entity count) only.
    pub quick: bool,
    /// Run tasks again even when their result is up to date.
    pub force: bool,
}

/// What [`run`] did with one experiment or task.
#[derive(Debug, Clone, PartialEq)]
pub enum RunEntry {
    /// An experiment without tasks (see its README); not run here.
    External {
        /// The experiment id.
        experiment: String,
    },
    /// A task whose result is ok with the same spec hash; not run again.
    UpToDate {
        /// The experiment id.
        experiment: String,
        /// The task key.
        task: String,
    },
    /// A task that ran; its result file is written (an error is a result too).
    Ran {
        /// The experiment id.
        experiment: String,
        /// The task key.
        task: String,
        /// Whether it succeeded.
        ok: bool,
        /// Its pairwise F1, when it succeeded with a truth.
        f1: Option<f64>,
        /// The result file.
        path: PathBuf,
    },
}

/// Everything [`run`] did, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    /// One entry per external experiment and per task.
    pub entries: Vec<RunEntry>,
    /// The results folder.
    pub results: PathBuf,
}

impl RunReport {
    /// Tasks run (failed ones included).
    pub fn ran(&self) -> usize {
        self.count(|e| matches!(e, RunEntry::Ran { .. }))
    }

    /// Tasks up to date, not run.
    pub fn up_to_date(&self) -> usize {
        self.count(|e| matches!(e, RunEntry::UpToDate { .. }))
    }

    /// Tasks run that failed.
    pub fn failed(&self) -> usize {
        self.count(|e| matches!(e, RunEntry::Ran { ok: false, .. }))
    }

    fn count(&self, f: impl Fn(&RunEntry) -> bool) -> usize {
        self.entries.iter().filter(|e| f(e)).count()
    }
}

/// The experiment folders to run: the one named `id` under `root`, or with `None` every one
/// ([`discover`]).
///
/// # Errors
/// [`Error::Invalid`] when `root/id` has no experiment.toml; [`Error::Io`] if `root` cannot be
/// listed.
pub fn experiment_dirs(root: &Path, id: Option<&str>) -> Result<Vec<PathBuf>> {
    match id {
        Some(id) => {
            let d = root.join(id);
            if !d.join("experiment.toml").is_file() {
                return Err(Error::invalid(
                    "experiment id",
                    format!(
                        "no experiment `{id}`: {} has no experiment.toml",
                        d.display()
                    ),
                ));
            }
            Ok(vec![d])
        }
        None => discover(root),
    }
}

/// Runs the tasks of the experiments in `dirs`, in order, skipping up-to-date ones unless
/// forced, and writes one result file per task run. `on_entry` sees each entry as it happens.
///
/// # Errors
/// The errors of [`Experiment::load`], or [`Error::Io`] if a result cannot be written; tasks
/// that fail are not errors (their results hold the error).
pub fn run(
    dirs: &[PathBuf],
    opts: &RunOptions,
    on_entry: &mut dyn FnMut(&RunEntry),
) -> Result<RunReport> {
    let commit = git_commit(&opts.source_root);
    let mut entries = Vec::new();
    let mut push = |e: RunEntry| {
        on_entry(&e);
        entries.push(e);
    };
    for d in dirs {
        let exp = Experiment::load(d)?;
        if !exp.is_runnable() {
            push(RunEntry::External {
                experiment: exp.spec.id.clone(),
            });
            continue;
        }
        for task in exp.tasks(opts.quick) {
            let path = result_file(&opts.results, &exp.spec.id, &task);
            if !opts.force && stored_result(&path, &exp.spec_hash) == Stored::UpToDate {
                push(RunEntry::UpToDate {
                    experiment: exp.spec.id.clone(),
                    task: task.key.clone(),
                });
                continue;
            }
            let result = run_task(&opts.exe, &exp, &task, &commit);
            write_result(&path, &result)?;
            push(RunEntry::Ran {
                experiment: exp.spec.id.clone(),
                task: task.key.clone(),
                ok: result.is_ok(),
                f1: result.f1(),
                path,
            });
        }
    }
    Ok(RunReport {
        entries,
        results: opts.results.clone(),
    })
}

/// Writes `result` to `path` (pretty JSON, keys sorted), replacing it in one rename.
///
/// # Errors
/// [`Error::Io`] if it cannot be written; [`Error::Input`] if `path` has no folder or name.
pub fn write_result(path: &Path, result: &TaskResult) -> Result<()> {
    let bad = |message: &str| Error::Input {
        path: path.to_path_buf(),
        message: message.into(),
    };
    let dir = path
        .parent()
        .ok_or_else(|| bad("result path has no folder"))?;
    let name = path
        .file_name()
        .ok_or_else(|| bad("result path has no name"))?
        .to_string_lossy()
        .to_string();
    let mut st = Staged::new(dir)?;
    st.write(&name, |w| write_json(w, &result.to_json()))?;
    st.commit()?;
    Ok(())
}

/// What a task's result file holds, as far as resuming and [`status`] care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// No file, or not JSON.
    Absent,
    /// An ok result made with the given spec hash.
    UpToDate,
    /// Anything else: an error result, another spec hash, or JSON that is not a task result
    /// (e.g. from an older runner).
    Other,
}

/// Reads the result file at `path` and says whether it is up to date for `spec_hash`.
pub fn stored_result(path: &Path, spec_hash: &str) -> Stored {
    let Some(v) = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
    else {
        return Stored::Absent;
    };
    match serde_json::from_value::<TaskResult>(v) {
        Ok(r) if r.is_ok() && r.spec_hash == spec_hash => Stored::UpToDate,
        _ => Stored::Other,
    }
}

/// One experiment's line in [`status`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRow {
    /// The experiment id.
    pub experiment: String,
    /// Its task counts; `None` for an external experiment.
    pub counts: Option<TaskCounts>,
}

/// How many of an experiment's tasks (full profile) have results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskCounts {
    /// Tasks.
    pub tasks: usize,
    /// Tasks with an up-to-date ok result.
    pub ok: usize,
    /// Tasks with any other result file (an error, a stale spec hash, an unreadable result).
    pub error: usize,
}

/// The task counts of every experiment under `exp_root` against the results in `results`;
/// `on_row` sees each row as it is made.
///
/// # Errors
/// [`Error::Io`] if `exp_root` cannot be listed, or the errors of [`Experiment::load`].
pub fn status(
    exp_root: &Path,
    results: &Path,
    on_row: &mut dyn FnMut(&StatusRow),
) -> Result<Vec<StatusRow>> {
    let mut rows = Vec::new();
    for d in discover(exp_root)? {
        let exp = Experiment::load(&d)?;
        let counts = exp.is_runnable().then(|| {
            let tasks = exp.tasks(false);
            let (mut ok, mut error) = (0, 0);
            for t in &tasks {
                match stored_result(&result_file(results, &exp.spec.id, t), &exp.spec_hash) {
                    Stored::UpToDate => ok += 1,
                    Stored::Other => error += 1,
                    Stored::Absent => {}
                }
            }
            TaskCounts {
                tasks: tasks.len(),
                ok,
                error,
            }
        });
        let row = StatusRow {
            experiment: exp.spec.id.clone(),
            counts,
        };
        on_row(&row);
        rows.push(row);
    }
    Ok(rows)
}

/// The commit of the source tree at `root`, with `+dirty` when files outside `paper/` (which the
/// runner itself writes) differ from it or are untracked: such results were not made by that
/// commit. `unknown` without git or outside a repository.
pub fn git_commit(root: &Path) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let Some(head) = git(&["rev-parse", "HEAD"]) else {
        return "unknown".into();
    };
    match git(&["status", "--porcelain", "--", ".", ":(exclude)paper"]) {
        Some(s) if s.is_empty() => head,
        _ => format!("{head}+dirty"),
    }
}

/// Runs one task with `exe`'s `link` (after its `generate` for generated data) in a temporary
/// folder and returns its result; a failure is an error result, never an `Err`.
pub fn run_task(exe: &Path, exp: &Experiment, task: &Task, commit: &str) -> TaskResult {
    let tmp = tempdir();
    let out = tmp.join("out");
    let mut gen_error = None;
    let mut cmd = Command::new(exe);
    cmd.arg("link");
    if let Some(g) = &task.generate {
        // Generate the inputs first (seeded with the task's seed), then link every CSV file
        // the generator wrote, in name order.
        let gen_dir = tmp.join("gen");
        let seed = task.seed.to_string();
        let entities = g.entities.to_string();
        let st = Command::new(exe)
            .args([
                "generate",
                "--entities",
                &entities,
                "--preset",
                &g.preset,
                "--seed",
                &seed,
                "-q",
            ])
            .args(&g.args)
            .arg("--out")
            .arg(&gen_dir)
            .output();
        match st {
            Ok(o) if o.status.success() => {}
            Ok(o) => gen_error = Some(String::from_utf8_lossy(&o.stderr).to_string()),
            Err(e) => gen_error = Some(e.to_string()),
        }
        let mut inputs: Vec<PathBuf> = std::fs::read_dir(&gen_dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "csv"))
                    .collect()
            })
            .unwrap_or_default();
        inputs.sort();
        for i in inputs {
            cmd.arg("--input").arg(i);
        }
    } else {
        cmd.args(["--dataset", &task.dataset]);
    }
    cmd.args(["--seed", &task.seed.to_string(), "-q", "--out"])
        .arg(&out);
    if let Some(s) = &task.settings {
        cmd.arg("--settings").arg(s);
    }
    cmd.args(&task.args);
    let t0 = Instant::now();
    let res = match &gen_error {
        // Nothing to link.
        Some(e) => Err(format!("fellegi generate failed: {e}")),
        None => output_with_peak_rss(&mut cmd).map_err(|e| e.to_string()),
    };
    let runtime_s = t0.elapsed().as_secs_f64();
    let (res, peak_rss_mb) = match res {
        Ok((o, peak)) => (Ok(o), peak),
        Err(e) => (Err(e), None),
    };
    let outcome = match res {
        Ok(o) if o.status.success() => match read_outputs(&out) {
            Ok(f) => Outcome::Ok(Box::new(f)),
            Err(error) => Outcome::Error { error },
        },
        Ok(o) => Outcome::Error {
            error: tail(String::from_utf8_lossy(&o.stderr).trim(), 2000),
        },
        Err(error) => Outcome::Error { error },
    };
    let _ = std::fs::remove_dir_all(&tmp);
    TaskResult {
        experiment: exp.spec.id.clone(),
        task: task.key.clone(),
        dataset: task.dataset.clone(),
        seed: task.seed,
        args: task.args.clone(),
        spec_hash: exp.spec_hash.clone(),
        tool: format!("fellegi {}", env!("CARGO_PKG_VERSION")),
        git_commit: commit.to_string(),
        runtime_s,
        peak_rss_mb,
        outcome,
    }
}

/// The last `n` characters of `s`.
fn tail(s: &str, n: usize) -> String {
    let skip = s.chars().count().saturating_sub(n);
    s.chars().skip(skip).collect()
}

/// Reads a successful link run's `model.json` (as a fitted model) and `metrics.json` (absent
/// when the inputs have no truth) from its output folder.
fn read_outputs(out: &Path) -> std::result::Result<Fitted, String> {
    let failed = |path: &Path, e: &dyn std::fmt::Display| {
        format!(
            "fellegi link succeeded but {} could not be read: {e}",
            path.display()
        )
    };
    let model_path = out.join("model.json");
    let model = std::fs::read_to_string(&model_path)
        .map_err(|e| failed(&model_path, &e))
        .and_then(|t| {
            Settings::from_json(&t, &model_path.display().to_string())
                .map_err(|e| failed(&model_path, &e))
        })?;
    let metrics_path = out.join("metrics.json");
    let metrics = match std::fs::read_to_string(&metrics_path) {
        Ok(t) => {
            Some(serde_json::from_str::<LinkMetrics>(&t).map_err(|e| failed(&metrics_path, &e))?)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(failed(&metrics_path, &e)),
    };
    let fit = model.fit.as_ref();
    Ok(Fitted {
        dataset_sha256: fit.map(|f| f.inputs.clone()),
        params: Params::of_model(&model),
        em: fit.map(|f| f.sessions.clone()),
        metrics,
    })
}

/// Runs `cmd` to completion with its output captured, as [`Command::output`] does, and returns
/// its peak resident set size in MiB: on Linux the child's `ru_maxrss` from `wait4` (the
/// high-water mark of the process over its whole life, read when it is reaped); elsewhere
/// `None`.
///
/// # Errors
/// The I/O error if the child cannot be started or waited for.
pub fn output_with_peak_rss(
    cmd: &mut Command,
) -> std::io::Result<(std::process::Output, Option<f64>)> {
    #[cfg(target_os = "linux")]
    {
        use std::io::Read;
        use std::os::unix::process::ExitStatusExt;
        use std::process::Stdio;
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        // Drain both pipes on their own threads so a chatty child never blocks on a full pipe.
        let drain = |p: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                if let Some(mut p) = p {
                    let _ = p.read_to_end(&mut buf);
                }
                buf
            })
        };
        let out = drain(
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let err = drain(
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let pid = child.id() as libc::pid_t;
        let mut status: libc::c_int = 0;
        // SAFETY: `rusage` is plain old data that wait4 fills in; `status` and `rusage` are valid
        // for writes for the duration of the call; `pid` is our own unreaped child.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let rc = loop {
            let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
            if rc == -1 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
            {
                continue;
            }
            break rc;
        };
        if rc == -1 {
            return Err(std::io::Error::last_os_error());
        }
        let output = std::process::Output {
            status: std::process::ExitStatus::from_raw(status),
            stdout: out.join().unwrap_or_default(),
            stderr: err.join().unwrap_or_default(),
        };
        // Linux reports ru_maxrss in KiB.
        Ok((output, Some(usage.ru_maxrss as f64 / 1024.0)))
    }
    #[cfg(not(target_os = "linux"))]
    {
        Ok((cmd.output()?, None))
    }
}

/// A fresh folder under the system's temporary folder.
fn tempdir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let p = std::env::temp_dir().join(format!("fellegi-exp-{}-{nanos}", std::process::id()));
    let _ = std::fs::create_dir_all(&p);
    p
}
