//! `fellegi experiment`: run experiments (each task by this binary's own `link`) and report
//! their status. One result JSON per task, with provenance; runs resume.

use std::path::{Path, PathBuf};
use std::process::Command as Proc;
use std::time::Instant;

use anyhow::{Context, bail};
use fellegi::experiment::{Experiment, Task, discover, result_file};
use fellegi::output::{Staged, write_json};

/// Experiment subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Run one experiment (by id) or all runnable ones.
    Run {
        /// The experiment id (its folder name under experiments/).
        id: Option<String>,
        /// Run every runnable experiment.
        #[arg(long, conflicts_with = "id")]
        all: bool,
        /// Toy profile for CI: first seed of each task only, results under
        /// target/quick-results/ (never paper/results/).
        #[arg(long)]
        quick: bool,
        /// Run tasks again even when a result with the same spec hash exists.
        #[arg(long)]
        force: bool,
        /// Folder of experiments (default: the source tree's experiments/).
        #[arg(long)]
        experiments: Option<PathBuf>,
        /// Results folder (default: paper/results, or target/quick-results with --quick).
        #[arg(long)]
        results: Option<PathBuf>,
    },
    /// List experiments and how many of their tasks have results.
    Status {
        /// Folder of experiments.
        #[arg(long)]
        experiments: Option<PathBuf>,
        /// Results folder (default: paper/results).
        #[arg(long)]
        results: Option<PathBuf>,
    },
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The commit of the source tree, with `+dirty` when files outside `paper/` (which the runner
/// itself writes) differ from it or are untracked: such results were not made by that commit.
fn git_commit() -> String {
    let git = |args: &[&str]| {
        Proc::new("git")
            .args(args)
            .current_dir(root())
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

/// Runs one task with this binary's `link` and returns its result document.
fn run_task(exp: &Experiment, task: &Task, commit: &str) -> serde_json::Value {
    let tmp = tempdir();
    let out = tmp.join("out");
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("fellegi"));
    let mut gen_error = None;
    let mut cmd = Proc::new(&exe);
    cmd.arg("link");
    if let Some(g) = &task.generate {
        // Generate the inputs first (seeded with the task's seed), then link every CSV file
        // the generator wrote, in name order.
        let gen_dir = tmp.join("gen");
        let seed = task.seed.to_string();
        let entities = g.entities.to_string();
        let st = Proc::new(&exe)
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
        Some(_) => Err(std::io::Error::other("not run")),
        None => output_with_peak_rss(&mut cmd),
    };
    let runtime = t0.elapsed().as_secs_f64();
    let (res, peak_rss) = match res {
        Ok((o, peak)) => (Ok(o), peak),
        Err(e) => (Err(e), None),
    };
    let base = serde_json::json!({
        "experiment": exp.spec.id,
        "task": task.key,
        "dataset": task.dataset,
        "seed": task.seed,
        "args": task.args,
        "spec_hash": exp.spec_hash,
        "tool": format!("fellegi {}", env!("CARGO_PKG_VERSION")),
        "git_commit": commit,
        "runtime_s": runtime,
        "peak_rss_mb": peak_rss,
    });
    let res = match gen_error {
        Some(e) => Err(std::io::Error::other(format!(
            "fellegi generate failed: {e}"
        ))),
        None => res,
    };
    let doc = match res {
        Ok(o) if o.status.success() => {
            let read = |f: &str| -> Option<serde_json::Value> {
                serde_json::from_str(&std::fs::read_to_string(out.join(f)).ok()?).ok()
            };
            let model = read("model.json").unwrap_or(serde_json::Value::Null);
            let metrics = read("metrics.json").unwrap_or(serde_json::Value::Null);
            let params = serde_json::json!({
                "lambda": model["lambda"],
                "comparisons": model["comparison"].as_array().map(|cs| cs.iter().map(|c| serde_json::json!({
                    "column": c["column"],
                    "levels": c["levels"].as_array().map(|ls| ls.iter().map(|l| serde_json::json!({
                        "predicate": l["predicate"], "m": l["m"], "u": l["u"],
                    })).collect::<Vec<_>>()),
                })).collect::<Vec<_>>()),
            });
            let mut d = base;
            d["status"] = "ok".into();
            d["dataset_sha256"] = model["fit"]["inputs"].clone();
            d["params"] = params;
            d["em"] = model["fit"]["sessions"].clone();
            d["metrics"] = metrics;
            d
        }
        Ok(o) => {
            let mut d = base;
            d["status"] = "error".into();
            let err = String::from_utf8_lossy(&o.stderr);
            d["error"] = err
                .trim()
                .chars()
                .rev()
                .take(2000)
                .collect::<String>()
                .chars()
                .rev()
                .collect::<String>()
                .into();
            d
        }
        Err(e) => {
            let mut d = base;
            d["status"] = "error".into();
            d["error"] = e.to_string().into();
            d
        }
    };
    let _ = std::fs::remove_dir_all(&tmp);
    doc
}

/// Runs `cmd` to completion with its output captured, as [`Proc::output`] does, and returns its
/// peak resident set size in MiB: on Linux the child's `ru_maxrss` from `wait4` (the high-water
/// mark of the process over its whole life, read when it is reaped); elsewhere `None`.
fn output_with_peak_rss(cmd: &mut Proc) -> std::io::Result<(std::process::Output, Option<f64>)> {
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

fn tempdir() -> PathBuf {
    let p = std::env::temp_dir().join(format!(
        "fellegi-exp-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    let _ = std::fs::create_dir_all(&p);
    p
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

fn existing_ok(path: &Path, spec_hash: &str) -> bool {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| v["status"] == "ok" && v["spec_hash"] == spec_hash)
}

pub fn run(c: Command) -> anyhow::Result<()> {
    match c {
        Command::Run {
            id,
            all,
            quick,
            force,
            experiments,
            results,
        } => {
            let exp_root = experiments.unwrap_or_else(|| root().join("experiments"));
            let results = results.unwrap_or_else(|| {
                if quick {
                    root().join("target/quick-results")
                } else {
                    root().join("paper/results")
                }
            });
            let dirs: Vec<PathBuf> = match (id, all) {
                (Some(id), _) => {
                    let d = exp_root.join(&id);
                    if !d.join("experiment.toml").is_file() {
                        bail!(
                            "no experiment `{id}`: {} has no experiment.toml",
                            d.display()
                        );
                    }
                    vec![d]
                }
                (None, true) => discover(&exp_root)?,
                (None, false) => bail!("give an experiment id or --all"),
            };
            let commit = git_commit();
            let (mut ran, mut skipped, mut failed) = (0, 0, 0);
            for d in dirs {
                let exp = Experiment::load(&d)?;
                if !exp.is_runnable() {
                    println!("{}: external (see its README), not run here", exp.spec.id);
                    continue;
                }
                for task in exp.tasks(quick) {
                    let path = result_file(&results, &exp.spec.id, &task);
                    if !force && existing_ok(&path, &exp.spec_hash) {
                        skipped += 1;
                        continue;
                    }
                    let doc = run_task(&exp, &task, &commit);
                    let ok = doc["status"] == "ok";
                    let dir = path.parent().context("result path has no folder")?;
                    let name = path
                        .file_name()
                        .context("result path has no name")?
                        .to_string_lossy()
                        .to_string();
                    let mut st = Staged::new(dir)?;
                    st.write(&name, |w| write_json(w, &doc))?;
                    st.commit()?;
                    ran += 1;
                    if !ok {
                        failed += 1;
                    }
                    println!(
                        "{} {}: {} (F1 {})",
                        exp.spec.id,
                        task.key,
                        if ok { "ok" } else { "error" },
                        doc["metrics"]["f1"]
                            .as_f64()
                            .map_or("-".into(), |f| format!("{f:.4}"))
                    );
                }
            }
            println!(
                "{ran} task(s) run, {skipped} up to date, {failed} failed; results in {}",
                results.display()
            );
            if failed > 0 {
                bail!("{failed} task(s) failed; their result files hold the errors");
            }
            Ok(())
        }
        Command::Status {
            experiments,
            results,
        } => {
            let exp_root = experiments.unwrap_or_else(|| root().join("experiments"));
            let results = results.unwrap_or_else(|| root().join("paper/results"));
            println!(
                "{:<32} {:>6} {:>6} {:>6}  kind",
                "experiment", "tasks", "ok", "error"
            );
            for d in discover(&exp_root)? {
                let exp = Experiment::load(&d)?;
                if !exp.is_runnable() {
                    println!(
                        "{:<32} {:>6} {:>6} {:>6}  external",
                        exp.spec.id, "-", "-", "-"
                    );
                    continue;
                }
                let tasks = exp.tasks(false);
                let (mut ok, mut err) = (0, 0);
                for t in &tasks {
                    let p = result_file(&results, &exp.spec.id, t);
                    if let Some(v) = std::fs::read_to_string(&p)
                        .ok()
                        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
                    {
                        if v["status"] == "ok" && v["spec_hash"] == exp.spec_hash.as_str() {
                            ok += 1;
                        } else {
                            err += 1;
                        }
                    }
                }
                println!(
                    "{:<32} {:>6} {:>6} {:>6}  runner",
                    exp.spec.id,
                    tasks.len(),
                    ok,
                    err
                );
            }
            Ok(())
        }
    }
}
