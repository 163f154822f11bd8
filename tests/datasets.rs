//! The dataset registry: every shipped dataset passes its checks; a changed file is reported.

use std::path::PathBuf;
use std::process::Command;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fellegi"));
    c.env_remove("FELLEGI_DATA");
    c
}

fn datasets_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets")
}

#[test]
fn every_shipped_dataset_passes_its_checks() {
    let out = bin().args(["datasets", "list"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<&str> = stdout.lines().skip(1).collect();
    let registry = std::fs::read_to_string(datasets_dir().join("registry.toml")).unwrap();
    let n = registry.matches("[[dataset]]").count();
    assert_eq!(rows.len(), n);
    assert!(n >= 26, "{n} datasets");
    for name in [
        "febrl1",
        "febrl4",
        "febrl042_f_10000",
        "rldata10000",
        "samplematch",
        "fake_1000",
        "historical_figures",
        "transactions",
    ] {
        let row = rows
            .iter()
            .find(|r| r.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing"));
        assert!(row.trim_end().ends_with("ok"), "{row}");
    }
}

#[test]
fn a_changed_file_fails_its_checksum_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("febrl")).unwrap();
    std::fs::create_dir_all(dir.join("settings")).unwrap();
    std::fs::copy(
        datasets_dir().join("settings/febrl_dedupe.toml"),
        dir.join("settings/febrl_dedupe.toml"),
    )
    .unwrap();
    let mut text = std::fs::read_to_string(datasets_dir().join("febrl/dataset1.csv")).unwrap();
    text = text.replacen("michaela", "michaelb", 1);
    if !text.contains("michaelb") {
        text.push_str("rec-9999-org,9999,a,b,1,x,y,z,2000,nsw,19700101,1234567\n");
    }
    std::fs::write(dir.join("febrl/dataset1.csv"), text).unwrap();
    let registry = std::fs::read_to_string(datasets_dir().join("registry.toml")).unwrap();
    let febrl1: String = registry
        .split("[[dataset]]")
        .find(|b| b.contains("name = \"febrl1\""))
        .unwrap()
        .to_string();
    std::fs::write(dir.join("registry.toml"), format!("[[dataset]]{febrl1}")).unwrap();
    let out = bin()
        .args(["link", "--dataset", "febrl1", "--data-dir"])
        .arg(dir)
        .arg("--out")
        .arg(dir.join("out"))
        .arg("-q")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("SHA-256") && err.contains("dataset1.csv") && err.contains("restore"),
        "{err}"
    );
    assert!(!dir.join("out/metrics.json").exists());
    let list = bin()
        .args(["datasets", "list", "--data-dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert_eq!(list.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&list.stdout).contains("FAILED"));
}

#[test]
fn show_prints_the_card() {
    let out = bin().args(["datasets", "show", "febrl4"]).output().unwrap();
    assert!(out.status.success());
    let s = String::from_utf8_lossy(&out.stdout);
    for want in [
        "link",
        "10,000",
        "5,000",
        "dataset4a.csv",
        "settings",
        "check         ok",
        "License",
    ] {
        assert!(s.contains(want), "missing {want:?} in\n{s}");
    }
    let bad = bin().args(["datasets", "show", "nosuch"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("febrl4"));
}
