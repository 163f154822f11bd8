//! The experiment runner: result files with provenance, resume, failures recorded, and a
//! deterministic paper build.

use std::path::Path;
use std::process::Command;

fn fellegi(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_fellegi"))
        .env_remove("FELLEGI_DATA")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn run_resume_fail_and_build() {
    let tmp = tempfile::tempdir().unwrap();
    let exps = tmp.path().join("experiments");
    let results = tmp.path().join("results");
    std::fs::create_dir_all(exps.join("febrl1-test")).unwrap();
    std::fs::write(
        exps.join("febrl1-test/experiment.toml"),
        r#"id = "febrl1-test"
question = "runner test"
[[task]]
name = "defaults"
datasets = ["febrl1"]
seeds = [1, 2]
[[task]]
name = "broken"
datasets = ["febrl1"]
args = ["--threshold", "7"]
[[expected]]
task = "defaults/febrl1/seed-1"
pointer = "/metrics/f1"
value = 1.0
tolerance = 0.001
source = "test"
"#,
    )
    .unwrap();
    let p = |x: &Path| x.to_str().unwrap().to_string();
    let out = fellegi(&[
        "experiment",
        "run",
        "febrl1-test",
        "--experiments",
        &p(&exps),
        "--results",
        &p(&results),
    ]);
    // The broken task fails the run but is recorded.
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let r: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(results.join("febrl1-test/defaults__febrl1__seed-1.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(r["status"], "ok");
    for k in [
        "spec_hash",
        "git_commit",
        "tool",
        "dataset_sha256",
        "params",
        "em",
        "metrics",
        "runtime_s",
    ] {
        assert!(!r[k].is_null(), "result lacks {k}");
    }
    assert_eq!(r["seed"], 1);
    assert!(r["metrics"]["f1"].as_f64().unwrap() > 0.99);
    let broken: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(results.join("febrl1-test/broken__febrl1__seed-42.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(broken["status"], "error");
    assert!(broken["error"].as_str().unwrap().contains("--threshold"));

    // Resume: ok tasks are not run again.
    let again = fellegi(&[
        "experiment",
        "run",
        "febrl1-test",
        "--experiments",
        &p(&exps),
        "--results",
        &p(&results),
    ]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("1 task(s) run, 2 up to date"));

    // Paper build: deterministic, with the reproduction check.
    let (a, b) = (tmp.path().join("ga"), tmp.path().join("gb"));
    for o in [&a, &b] {
        let st = fellegi(&[
            "paper",
            "build",
            "--experiments",
            &p(&exps),
            "--results",
            &p(&results),
            "--out",
            &p(o),
        ]);
        assert!(st.status.success());
    }
    for f in [
        "febrl1-test.md",
        "febrl1-test.csv",
        "febrl1-test.tex",
        "reproductions.md",
        "constants.json",
    ] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f}"
        );
    }
    let repro = std::fs::read_to_string(a.join("reproductions.md")).unwrap();
    assert!(repro.contains("| yes |"), "{repro}");
    let constants = std::fs::read_to_string(a.join("constants.json")).unwrap();
    assert!(constants.contains("febrl1-test.defaults.febrl1.seed-1.f1"));
}
