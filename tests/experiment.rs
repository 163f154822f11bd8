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
[[task]]
name = "generated"
settings = "dedupe.toml"
generate = { entities = [300, 600], preset = ["low", "high"], args = ["--mean-duplicates", "1"] }
[[expected]]
task = "defaults/febrl1/seed-1"
pointer = "/metrics/f1"
value = 1.0
tolerance = 0.001
source = "test"
"#,
    )
    .unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/settings/febrl_dedupe.toml"),
        exps.join("febrl1-test/dedupe.toml"),
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
    assert!(String::from_utf8_lossy(&again.stdout).contains("1 task(s) run, 6 up to date"));

    // Every result file the runner wrote (ok, error, generated) reads back typed and writes
    // back to the same bytes.
    let mut typed = 0;
    for f in std::fs::read_dir(results.join("febrl1-test")).unwrap() {
        let path = f.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let r = fellegi::experiment::TaskResult::from_json(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut again = Vec::new();
        fellegi::output::write_json(&mut again, &r.to_json()).unwrap();
        assert_eq!(
            String::from_utf8(again).unwrap(),
            text,
            "{}",
            path.display()
        );
        assert_eq!(r.is_ok(), !path.ends_with("broken__febrl1__seed-42.json"));
        typed += 1;
    }
    assert_eq!(typed, 7);

    // Generated tasks: one per preset and entity count, the generator's extra arguments
    // applied, and the run's peak memory recorded (on Linux, from wait4).
    let g: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            results.join("febrl1-test/generated__generated-high-600__seed-42.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(g["status"], "ok", "{g}");
    assert_eq!(g["dataset"], "generated-high-600");
    assert!(
        g["metrics"]["records"].as_u64().unwrap() > 900,
        "mean 1 duplicate"
    );
    if cfg!(target_os = "linux") {
        let peak = g["peak_rss_mb"].as_f64().unwrap();
        assert!(peak > 1.0 && peak < 4096.0, "peak {peak} MiB");
    }

    // Paper build: deterministic, with the reproduction check.
    let (a, b) = (tmp.path().join("ga"), tmp.path().join("gb"));
    let build_into = |o: &Path| {
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
    };
    for o in [&a, &b] {
        build_into(o);
    }
    // Every file, figures included, is byte-identical on a rebuild.
    let mut files: Vec<String> = std::fs::read_dir(&a)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    for f in [
        "febrl1-test.md",
        "febrl1-test.csv",
        "febrl1-test.tex",
        "febrl1-test-summary.md",
        "febrl1-test-summary.csv",
        "febrl1-test-f1.md",
        "febrl1-test-f1.svg",
        "febrl1-test-f1.png",
        "febrl1-test-seconds.svg",
        "febrl1-test-seconds.png",
        "febrl1-test-memory.png",
        "figures.md",
        "reproductions.md",
        "constants.json",
    ] {
        assert!(files.iter().any(|x| x == f), "{f} not built: {files:?}");
    }
    for f in &files {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f}"
        );
    }
    // A rebuild removes generated files no result makes any more, and nothing else.
    std::fs::write(a.join("gone-experiment.md"), "old table").unwrap();
    std::fs::write(a.join("gone-experiment-f1.svg"), "<svg/>").unwrap();
    std::fs::write(a.join("notes.txt"), "mine").unwrap();
    build_into(&a);
    assert!(!a.join("gone-experiment.md").exists());
    assert!(!a.join("gone-experiment-f1.svg").exists());
    assert!(a.join("notes.txt").exists());
    assert!(a.join("febrl1-test.md").exists());
    let png = std::fs::read(a.join("febrl1-test-f1.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let svg = std::fs::read_to_string(a.join("febrl1-test-f1.svg")).unwrap();
    assert!(
        svg.contains("febrl1-test") && svg.contains("defaults"),
        "{svg}"
    );
    // Captions name the experiment; the summary gives the interval over the two seeds.
    let figs = std::fs::read_to_string(a.join("figures.md")).unwrap();
    assert!(figs.contains("(febrl1-test-f1.svg)") && figs.contains("experiment `febrl1-test`"));
    let summary = std::fs::read_to_string(a.join("febrl1-test-summary.md")).unwrap();
    assert!(summary.contains("| defaults | febrl1 | 2 |"), "{summary}");
    assert!(
        summary.contains("| broken | febrl1 | 0 (1 failed) |"),
        "{summary}"
    );
    let repro = std::fs::read_to_string(a.join("reproductions.md")).unwrap();
    assert!(repro.contains("| yes |"), "{repro}");
    let constants = std::fs::read_to_string(a.join("constants.json")).unwrap();
    assert!(constants.contains("febrl1-test.defaults.febrl1.seed-1.f1"));
    assert!(constants.contains("febrl1-test.defaults.febrl1.f1.mean"));

    // The paper's source: every {{key}} filled from constants.json, figure links made relative
    // to the generated folder; an unknown key is an error naming it and the line.
    let src = tmp.path().join("paper.md");
    std::fs::write(
        &src,
        "F1 was {{ febrl1-test.defaults.febrl1.f1.mean }} over {{febrl1-test.defaults.febrl1.seeds}} seeds.\n\n![F1](generated/febrl1-test-f1.svg)\n\n{{table:febrl1-test-summary}}\n",
    )
    .unwrap();
    let c: serde_json::Value = serde_json::from_str(&constants).unwrap();
    let built = |paper: &Path, out: &Path| {
        fellegi(&[
            "paper",
            "build",
            "--experiments",
            &p(&exps),
            "--results",
            &p(&results),
            "--out",
            &p(out),
            "--paper",
            &p(paper),
        ])
    };
    assert!(built(&src, &a).status.success());
    let rendered = std::fs::read_to_string(a.join("paper.md")).unwrap();
    assert!(
        rendered.starts_with(&format!(
            "F1 was {} over 2 seeds.\n\n![F1](febrl1-test-f1.svg)\n\nTable: experiment `febrl1-test` over seeds",
            c["febrl1-test.defaults.febrl1.f1.mean"].as_str().unwrap()
        )),
        "{rendered}"
    );
    assert!(rendered.contains("| defaults | febrl1 | 2 |"), "{rendered}");
    std::fs::write(&src, "ok\nF1 {{febrl1-test.nothing}}\n").unwrap();
    let bad = built(&src, &tmp.path().join("gc"));
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("febrl1-test.nothing") && err.contains("paper.md:2"),
        "{err}"
    );
}

/// Issue 19 part 7: `paper build` compares methods run on the same seeds by their paired
/// differences: per seed F1(method) − F1(baseline), the mean with its 95 % t-interval and the
/// sign test, as a table and a figure; checked against the committed result files.
#[test]
fn paper_build_pairs_methods_by_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("g");
    let st = fellegi(&["paper", "build", "--out", out.to_str().unwrap()]);
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let id = "generated-method-comparison";
    let csv = std::fs::read_to_string(out.join(format!("{id}-paired.csv"))).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let row: Vec<&str> = csv
        .lines()
        .find(|l| l.starts_with("binary,default,generated-medium-20000,"))
        .unwrap()
        .split(',')
        .collect();
    let f1 = |group: &str, seed: u32| -> f64 {
        let path = repo_path(&format!(
            "paper/results/{id}/{group}__generated-medium-20000__seed-{seed}.json"
        ));
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        v["metrics"]["f1"].as_f64().unwrap()
    };
    let diffs: Vec<f64> = (1..=5)
        .map(|s| f1("binary", s) - f1("default", s))
        .collect();
    let shown: Vec<f64> = row[col("differences")]
        .split(' ')
        .map(|x| x.parse().unwrap())
        .collect();
    assert_eq!(shown.len(), 5);
    for (a, b) in diffs.iter().zip(&shown) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
    let mean: f64 = diffs.iter().sum::<f64>() / 5.0;
    let sd = (diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / 4.0).sqrt();
    let hi = mean + 2.776_445 * sd / 5f64.sqrt();
    assert!((row[col("mean")].parse::<f64>().unwrap() - mean).abs() < 1e-6);
    assert!((row[col("hi")].parse::<f64>().unwrap() - hi).abs() < 1e-5);
    let lower = diffs.iter().filter(|d| **d < 0.0).count();
    assert_eq!(row[col("lower")], lower.to_string());
    if lower == 5 {
        assert_eq!(row[col("sign_p")], "0.062500");
    }
    assert!(out.join(format!("{id}-paired-f1.svg")).exists());
    let figures = std::fs::read_to_string(out.join("figures.md")).unwrap();
    assert!(figures.contains(&format!("Figure `{id}-paired-f1`")));
}

fn repo_path(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}
