//! Table-driven robustness test (issue 15): every case of `tests/bad_inputs/cases.toml` runs the
//! real binary in a fresh temporary copy of its folder `tests/bad_inputs/NAME/` and checks the
//! exit code, that nothing panicked, the stderr fragments (file and line, or settings key, and
//! the fix) and, for failing cases, that `out/` holds nothing afterwards. All failures are
//! reported at once; cases marked `known_bug` are skipped and listed.

use std::path::Path;
use std::process::Command;

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    args: Vec<String>,
    exit: i32,
    #[serde(default)]
    stderr: Vec<String>,
    /// Whether `out/` must hold nothing afterwards (default: when `exit` is not 0).
    empty_out: Option<bool>,
    /// Text appended to a file before the run, for inputs too big to commit.
    append: Option<Append>,
    known_bug: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Append {
    file: String,
    fill: String,
    count: usize,
    then: String,
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// Runs one case; returns what went wrong (empty when it passed).
fn run_case(root: &Path, c: &Case) -> Vec<String> {
    let src = root.join(&c.name);
    if !src.is_dir() {
        return vec![format!("no folder {}", src.display())];
    }
    let tmp = tempfile::Builder::new()
        .prefix("fellegi-bad-")
        .tempdir()
        .unwrap();
    let dir = tmp.path().join(&c.name);
    copy_dir(&src, &dir);
    if let Some(a) = &c.append {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.join(&a.file))
            .unwrap();
        f.write_all(a.fill.repeat(a.count).as_bytes()).unwrap();
        f.write_all(a.then.as_bytes()).unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_fellegi"))
        .args(&c.args)
        .current_dir(&dir)
        .env_remove("FELLEGI_DATA")
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run fellegi");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut errs = Vec::new();
    if stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
        errs.push("panicked".to_string());
    }
    if out.status.code() != Some(c.exit) {
        errs.push(format!("exit {:?}, expected {}", out.status.code(), c.exit));
    }
    for f in &c.stderr {
        if !stderr.contains(f.as_str()) {
            errs.push(format!("stderr lacks {f:?}"));
        }
    }
    if c.empty_out.unwrap_or(c.exit != 0) {
        if let Ok(rd) = std::fs::read_dir(dir.join("out")) {
            let left: Vec<String> = rd
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            if !left.is_empty() {
                errs.push(format!("out/ is not empty afterwards: {left:?}"));
            }
        }
    }
    if !errs.is_empty() {
        errs.push(format!(
            "`fellegi {}`\n      --- stderr\n{stderr}",
            c.args.join(" ")
        ));
    }
    errs
}

#[test]
fn bad_inputs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_inputs");
    let text = std::fs::read_to_string(root.join("cases.toml")).unwrap();
    let manifest: Manifest = toml::from_str(&text).unwrap();
    let mut names = std::collections::BTreeSet::new();
    for c in &manifest.case {
        assert!(names.insert(&c.name), "case {} listed twice", c.name);
        assert!(
            c.exit == 0 || !c.stderr.is_empty(),
            "case {}: a failing case needs stderr fragments",
            c.name
        );
    }
    assert!(manifest.case.len() >= 40, "{} cases", manifest.case.len());
    let mut failures = Vec::new();
    let mut known = Vec::new();
    for c in &manifest.case {
        if let Some(why) = &c.known_bug {
            known.push(format!("{}: {why}", c.name));
            continue;
        }
        let errs = run_case(&root, c);
        if !errs.is_empty() {
            failures.push(format!("{}:\n    {}", c.name, errs.join("\n    ")));
        }
    }
    eprintln!(
        "bad_inputs: {} cases, {} known bugs skipped",
        manifest.case.len(),
        known.len()
    );
    for k in &known {
        eprintln!("  known bug (skipped): {k}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        manifest.case.len(),
        failures.join("\n")
    );
}
