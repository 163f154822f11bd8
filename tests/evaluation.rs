//! Issue 4 acceptance: metrics.json agrees with an independent computation from pairs.csv,
//! clusters.csv and the truth files (FEBRL3 and FEBRL4), one-to-one assignment on FEBRL4 does not
//! lower F1, and `fellegi evaluate` agrees with `fellegi link`.
//!
//! Expected numbers (seed 42, default settings, threshold 0.5) and their derivation: counting
//! pairs.csv rows with match_probability >= 0.5 whose two records share entity_id gives FEBRL4
//! 5,000 true and 2 false positives of 5,000 true cross-file pairs (every entity has one record
//! in 4a and one in 4b), and FEBRL3 6,526 true and 0 false positives of 6,538 true pairs
//! (Σ over entities of n(n−1)/2 in dataset3.csv). The test recomputes all of them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_fellegi"))
        .env_remove("FELLEGI_DATA")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn truth(files: &[&str]) -> BTreeMap<(String, String), String> {
    let mut t = BTreeMap::new();
    for f in files {
        let p = root().join("datasets/febrl").join(f);
        let src = Path::new(f)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .to_string();
        let mut r = csv::Reader::from_path(p).unwrap();
        for rec in r.records() {
            let rec = rec.unwrap();
            t.insert((src.clone(), rec[0].to_string()), rec[1].to_string());
        }
    }
    t
}

fn metrics(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("metrics.json")).unwrap()).unwrap()
}

/// Independent pairwise counts from pairs.csv at threshold 0.5.
fn pairwise(
    dir: &Path,
    t: &BTreeMap<(String, String), String>,
    cross_only: bool,
) -> (u64, u64, u64) {
    let mut by_entity: BTreeMap<&String, Vec<&String>> = BTreeMap::new();
    for ((s, _), e) in t {
        by_entity.entry(e).or_default().push(s);
    }
    let true_pairs: u64 = by_entity
        .values()
        .map(|srcs| {
            let n = srcs.len() as u64;
            let all = n * (n - 1) / 2;
            if cross_only {
                let mut per: BTreeMap<&String, u64> = BTreeMap::new();
                for s in srcs {
                    *per.entry(*s).or_insert(0) += 1;
                }
                all - per.values().map(|k| k * (k - 1) / 2).sum::<u64>()
            } else {
                all
            }
        })
        .sum();
    let mut r = csv::Reader::from_path(dir.join("pairs.csv")).unwrap();
    let (mut tp, mut fp) = (0, 0);
    for rec in r.records() {
        let rec = rec.unwrap();
        let p: f64 = rec[5].parse().unwrap();
        if p < 0.5 {
            continue;
        }
        let a = &t[&(rec[1].to_string(), rec[0].to_string())];
        let b = &t[&(rec[3].to_string(), rec[2].to_string())];
        if a == b {
            tp += 1;
        } else {
            fp += 1;
        }
    }
    (tp, fp, true_pairs)
}

/// Independent B-cubed and ARI from clusters.csv (direct definitions, O(n²) for ARI pairs).
fn cluster_scores(dir: &Path, t: &BTreeMap<(String, String), String>) -> (f64, f64, f64) {
    let mut r = csv::Reader::from_path(dir.join("clusters.csv")).unwrap();
    let mut recs: Vec<(String, String)> = Vec::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        recs.push((
            rec[2].to_string(),
            t[&(rec[1].to_string(), rec[0].to_string())].clone(),
        ));
    }
    let n = recs.len();
    let mut cl: BTreeMap<&String, BTreeSet<usize>> = BTreeMap::new();
    let mut en: BTreeMap<&String, BTreeSet<usize>> = BTreeMap::new();
    for (i, (c, e)) in recs.iter().enumerate() {
        cl.entry(c).or_default().insert(i);
        en.entry(e).or_default().insert(i);
    }
    let (mut bp, mut br) = (0.0, 0.0);
    for (c, e) in &recs {
        let inter = cl[c].intersection(&en[e]).count() as f64;
        bp += inter / cl[c].len() as f64;
        br += inter / en[e].len() as f64;
    }
    // ARI from pair counts: a = same/same, b = same cluster only, c = same entity only.
    let (mut a, mut b, mut c) = (0f64, 0f64, 0f64);
    for members in cl.values() {
        let v: Vec<usize> = members.iter().copied().collect();
        for i in 0..v.len() {
            for j in i + 1..v.len() {
                if recs[v[i]].1 == recs[v[j]].1 {
                    a += 1.0;
                } else {
                    b += 1.0;
                }
            }
        }
    }
    for members in en.values() {
        let k = members.len() as f64;
        c += k * (k - 1.0) / 2.0;
    }
    c -= a;
    let total = n as f64 * (n as f64 - 1.0) / 2.0;
    let expected = (a + b) * (a + c) / total;
    let max = ((a + b) + (a + c)) / 2.0;
    let ari = (a - expected) / (max - expected);
    (bp / n as f64, br / n as f64, ari)
}

#[test]
fn febrl4_metrics_agree_with_independent_computation() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("f4");
    run(&[
        "link",
        "--dataset",
        "febrl4",
        "--out",
        dir.to_str().unwrap(),
        "-q",
    ]);
    let t = truth(&["dataset4a.csv", "dataset4b.csv"]);
    let (tp, fp, true_pairs) = pairwise(&dir, &t, true);
    assert_eq!((tp, fp, true_pairs), (5000, 2, 5000));
    let m = metrics(&dir);
    assert_eq!(m["true_positives"], tp);
    assert_eq!(m["false_positives"], fp);
    assert_eq!(m["true_pairs"], true_pairs);
    let p = tp as f64 / (tp + fp) as f64;
    let r = tp as f64 / true_pairs as f64;
    assert!((m["precision"].as_f64().unwrap() - p).abs() < 1e-12);
    assert!((m["recall"].as_f64().unwrap() - r).abs() < 1e-12);
    assert!((m["f1"].as_f64().unwrap() - 2.0 * p * r / (p + r)).abs() < 1e-12);
    let (bp, br, ari) = cluster_scores(&dir, &t);
    let cm = &m["clusters"]["metrics"];
    assert!((cm["bcubed_precision"].as_f64().unwrap() - bp).abs() < 1e-12);
    assert!((cm["bcubed_recall"].as_f64().unwrap() - br).abs() < 1e-12);
    assert!((cm["adjusted_rand_index"].as_f64().unwrap() - ari).abs() < 1e-9);
    // Blocking: the union's completeness is the share of true pairs among candidates.
    let union = m["blocking"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(union["rule"], "union");
    assert_eq!(union["pairs"], m["candidate_pairs"]);

    // One-to-one does not lower F1; its precision gain is reported.
    for method in ["greedy", "optimal"] {
        let d2 = tmp.path().join(method);
        run(&[
            "link",
            "--dataset",
            "febrl4",
            "--one-to-one",
            method,
            "--out",
            d2.to_str().unwrap(),
            "-q",
        ]);
        let m2 = metrics(&d2);
        assert!(
            m2["f1"].as_f64().unwrap() >= m["f1"].as_f64().unwrap(),
            "{method}"
        );
        let gain = m2["one_to_one"]["precision_gain"].as_f64().unwrap();
        assert!((gain - (m2["precision"].as_f64().unwrap() - p)).abs() < 1e-12 && gain >= 0.0);
    }

    // `fellegi evaluate` agrees with link's metrics.
    run(&[
        "evaluate",
        "--pairs",
        dir.join("pairs.csv").to_str().unwrap(),
        "--dataset",
        "febrl4",
    ]);
    let ev: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("evaluation.json")).unwrap())
            .unwrap();
    for k in ["precision", "recall", "f1", "true_pairs", "true_positives"] {
        assert_eq!(ev[k], m[k], "{k}");
    }
}

#[test]
fn febrl3_metrics_agree_with_independent_computation() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("f3");
    run(&[
        "link",
        "--dataset",
        "febrl3",
        "--out",
        dir.to_str().unwrap(),
        "-q",
    ]);
    let t = truth(&["dataset3.csv"]);
    let (tp, fp, true_pairs) = pairwise(&dir, &t, false);
    assert_eq!((tp, fp, true_pairs), (6526, 0, 6538));
    let m = metrics(&dir);
    assert_eq!(m["true_positives"], tp);
    assert_eq!(m["false_positives"], fp);
    let (bp, br, ari) = cluster_scores(&dir, &t);
    let cm = &m["clusters"]["metrics"];
    assert!((cm["bcubed_precision"].as_f64().unwrap() - bp).abs() < 1e-12);
    assert!((cm["bcubed_recall"].as_f64().unwrap() - br).abs() < 1e-12);
    assert!((cm["adjusted_rand_index"].as_f64().unwrap() - ari).abs() < 1e-9);
}
