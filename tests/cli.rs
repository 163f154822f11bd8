//! Happy paths of the `fellegi` binary on the shipped FEBRL data: outputs, metrics checked against
//! counts computed here from the input files, determinism, the train → predict → cluster path and
//! N-source linkage.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use common::{
    Dsu, SMALL_CSV, SMALL_SETTINGS, Table, Workdir, read_csv, read_json, repo, same_entity_pairs,
    same_partition, stem, truth_of,
};
use serde_json::Value;

const PAIRS_HEAD: [&str; 6] = [
    "id_l",
    "source_l",
    "id_r",
    "source_r",
    "match_weight",
    "match_probability",
];

/// A dataset's files, from the registry.
fn dataset_files(name: &str) -> Vec<PathBuf> {
    let reg: toml::Value =
        toml::from_str(&std::fs::read_to_string(repo("datasets/registry.toml")).unwrap()).unwrap();
    let e = reg["dataset"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("{name} not in the registry"));
    e["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| repo("datasets").join(f.as_str().unwrap()))
        .collect()
}

/// The comparison output names of a settings TOML, in order.
fn comparison_names(settings: &Path) -> Vec<String> {
    let s: toml::Value = toml::from_str(&std::fs::read_to_string(settings).unwrap()).unwrap();
    s["comparison"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c.get("name")
                .or_else(|| c.get("column"))
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn num(v: &Value, key: &str) -> f64 {
    v.get(key)
        .unwrap_or_else(|| panic!("metrics.json has no `{key}`: {v}"))
        .as_f64()
        .unwrap_or_else(|| panic!("`{key}` is not a number: {v}"))
}

/// Pairwise confusion counts of pairs.csv at `threshold`, computed from the inputs' truth.
struct Confusion {
    tp: u64,
    fp: u64,
}

fn confusion(
    pairs: &Table,
    truth: &HashMap<(String, String), String>,
    threshold: f64,
) -> Confusion {
    let c = |n: &str| pairs.col(n);
    let (il, sl, ir, sr, pc) = (
        c("id_l"),
        c("source_l"),
        c("id_r"),
        c("source_r"),
        c("match_probability"),
    );
    let (mut tp, mut fp) = (0, 0);
    for r in &pairs.rows {
        let p: f64 = r[pc].parse().unwrap();
        if p < threshold {
            continue;
        }
        let el = &truth[&(r[sl].clone(), r[il].clone())];
        let er = &truth[&(r[sr].clone(), r[ir].clone())];
        if el == er {
            tp += 1;
        } else {
            fp += 1;
        }
    }
    Confusion { tp, fp }
}

/// Checks metrics.json against counts computed from pairs.csv and the inputs.
#[track_caller]
fn check_metrics(
    m: &Value,
    pairs: &Table,
    truth: &HashMap<(String, String), String>,
    true_pairs: u64,
) {
    let threshold = num(m, "threshold");
    let c = confusion(pairs, truth, threshold);
    assert_eq!(num(m, "true_pairs") as u64, true_pairs);
    assert_eq!(num(m, "records") as usize, truth.len());
    assert_eq!(num(m, "true_positives") as u64, c.tp);
    assert_eq!(num(m, "false_positives") as u64, c.fp);
    let precision = c.tp as f64 / (c.tp + c.fp) as f64;
    let recall = c.tp as f64 / true_pairs as f64;
    let f1 = 2.0 * precision * recall / (precision + recall);
    for (k, v) in [("precision", precision), ("recall", recall), ("f1", f1)] {
        assert!((num(m, k) - v).abs() < 1e-12, "{k}: {} vs {v}", num(m, k));
    }
    assert!(num(m, "candidate_pairs") as usize >= pairs.rows.len());
}

/// (source, id) → cluster label, from a clusters.csv.
fn cluster_map(t: &Table) -> BTreeMap<(String, String), String> {
    assert_eq!(t.header, ["id", "source", "cluster_id"]);
    let mut m = BTreeMap::new();
    for r in &t.rows {
        assert!(
            m.insert((r[1].clone(), r[0].clone()), r[2].clone())
                .is_none(),
            "record ({}, {}) twice in clusters.csv",
            r[1],
            r[0]
        );
    }
    m
}

/// Whether a string looks like a date or time of day (2024-05-01, 2024/05/01, 12:30, ...T...Z).
fn looks_like_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    let d = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    (0..b.len()).any(|i| {
        let ymd = (0..4).all(|k| d(i + k))
            && matches!(b.get(i + 4), Some(b'-' | b'/'))
            && d(i + 5)
            && d(i + 6)
            && b.get(i + 7) == b.get(i + 4)
            && d(i + 8)
            && d(i + 9);
        let hm = d(i) && d(i + 1) && b.get(i + 2) == Some(&b':') && d(i + 3) && d(i + 4);
        ymd || hm
    })
}

/// Every string (key or value) and number in a JSON document that looks like a timestamp.
fn datetime_like(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::String(s) if looks_like_datetime(s) => out.push(format!("{path} = {s}")),
        Value::Number(n) => {
            // Unix time in seconds or milliseconds, 2001-2286.
            if let Some(x) = n.as_f64() {
                if (1e9..1e10).contains(&x) || (1e12..1e13).contains(&x) {
                    out.push(format!("{path} = {x}"));
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                datetime_like(x, &format!("{path}[{i}]"), out);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                let kl = k.to_ascii_lowercase();
                if ["time", "date", "created", "timestamp", "when"].contains(&kl.as_str())
                    || kl.ends_with("_at")
                    || kl.contains("timestamp")
                {
                    out.push(format!("{path}.{k} (key)"));
                }
                datetime_like(x, &format!("{path}.{k}"), out);
            }
        }
        _ => {}
    }
}

/// `fellegi link --dataset NAME --out OUT -q` plus `extra`, checked to succeed.
fn link_dataset(wd: &Workdir, name: &str, out: &str, extra: &[&str]) -> common::Run {
    let mut args = vec!["link", "--dataset", name, "--out", out, "-q"];
    args.extend_from_slice(extra);
    let r = wd.run(&args);
    r.ok();
    r
}

// ---------------------------------------------------------------------------------------------

#[test]
fn link_febrl4_writes_outputs_and_metrics() {
    let wd = Workdir::new();
    let r = link_dataset(&wd, "febrl4", "out", &[]);
    let files = dataset_files("febrl4");
    let truth = truth_of(&files, "record_id", "entity_id");
    assert_eq!(truth.len(), 10_000);
    let true_pairs = same_entity_pairs(&truth, true);
    assert_eq!(true_pairs, 5000);

    // Outputs.
    for f in ["model.json", "pairs.csv", "clusters.csv", "metrics.json"] {
        assert!(wd.exists(&format!("out/{f}")), "out/{f} missing");
    }
    let m = read_json(&wd.join("out/metrics.json"));
    let pairs = read_csv(&wd.join("out/pairs.csv"));
    for k in [
        "precision",
        "recall",
        "f1",
        "threshold",
        "true_pairs",
        "candidate_pairs",
        "records",
    ] {
        num(&m, k);
    }
    assert_eq!(num(&m, "threshold"), 0.5);
    assert_eq!(num(&m, "records"), 10_000.0);
    check_metrics(&m, &pairs, &truth, true_pairs);
    let f1 = num(&m, "f1");
    assert!(f1 >= 0.999, "F1 {f1}");

    // The summary on stdout carries the same precision, recall and F1.
    for (label, key) in [
        ("precision", "precision"),
        ("recall", "recall"),
        ("F1", "f1"),
    ] {
        let line = r
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no {label} line on stdout:\n{}", r.stdout));
        let shown: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        assert!(
            (shown - num(&m, key)).abs() <= 5e-5 + 1e-12,
            "{label}: stdout {shown}, metrics {}",
            num(&m, key)
        );
    }

    // pairs.csv: header, probabilities, weights and gammas.
    let names = comparison_names(&repo("datasets/settings/febrl4.toml"));
    let mut want: Vec<String> = PAIRS_HEAD.iter().map(|s| s.to_string()).collect();
    want.extend(names.iter().map(|n| format!("gamma_{n}")));
    assert_eq!(pairs.header, want);
    assert!(pairs.rows.len() > 4000, "{} pairs", pairs.rows.len());
    assert_eq!(num(&m, "pairs_written") as usize, pairs.rows.len());
    let mut seen = BTreeSet::new();
    for row in &pairs.rows {
        let w: f64 = row[4].parse().unwrap();
        let p: f64 = row[5].parse().unwrap();
        assert!(
            (0.01..=1.0).contains(&p),
            "probability {p} below --min-probability"
        );
        let from_w = 1.0 / (1.0 + (-w).exp2());
        assert!((p - from_w).abs() < 1e-9, "p {p} vs weight {w}");
        assert_ne!(row[1], row[3], "link pairs are cross-source");
        assert!(truth.contains_key(&(row[1].clone(), row[0].clone())));
        assert!(truth.contains_key(&(row[3].clone(), row[2].clone())));
        for g in &row[6..] {
            let g: i32 = g.parse().unwrap();
            assert!((-1..=3).contains(&g), "gamma {g}");
        }
        assert!(
            seen.insert((
                row[1].clone(),
                row[0].clone(),
                row[3].clone(),
                row[2].clone()
            )),
            "pair written twice: {row:?}"
        );
    }

    // clusters.csv: one row per record, ids dense in first-appearance order, and the connected
    // components of the pairs at the threshold.
    let ct = read_csv(&wd.join("out/clusters.csv"));
    assert_eq!(ct.rows.len(), 10_000);
    let clusters = cluster_map(&ct);
    assert_eq!(
        clusters.keys().cloned().collect::<BTreeSet<_>>(),
        truth.keys().cloned().collect::<BTreeSet<_>>()
    );
    let mut next = 0u64;
    for r in &ct.rows {
        let c: u64 = r[2].parse().unwrap();
        assert!(c <= next, "cluster ids not in first-appearance order");
        if c == next {
            next += 1;
        }
    }
    assert_eq!(next as f64, num(&m["clusters"], "count"));
    let keys: Vec<&(String, String)> = clusters.keys().collect();
    let index: HashMap<&(String, String), usize> =
        keys.iter().enumerate().map(|(i, k)| (*k, i)).collect();
    let mut dsu = Dsu::new(keys.len());
    for row in &pairs.rows {
        if row[5].parse::<f64>().unwrap() >= 0.5 {
            dsu.union(
                index[&(row[1].clone(), row[0].clone())],
                index[&(row[3].clone(), row[2].clone())],
            );
        }
    }
    let expected: BTreeMap<(String, String), String> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| ((*k).clone(), dsu.find(i).to_string()))
        .collect();
    same_partition(&clusters, &expected).unwrap();
}

#[test]
fn dedupe_febrl3() {
    let wd = Workdir::new();
    link_dataset(&wd, "febrl3", "out", &[]);
    let truth = truth_of(&dataset_files("febrl3"), "record_id", "entity_id");
    let true_pairs = same_entity_pairs(&truth, false);
    assert_eq!(true_pairs, 6538);
    let m = read_json(&wd.join("out/metrics.json"));
    let pairs = read_csv(&wd.join("out/pairs.csv"));
    check_metrics(&m, &pairs, &truth, true_pairs);
    assert!(num(&m, "f1") >= 0.998, "F1 {}", num(&m, "f1"));
    assert!(
        pairs
            .rows
            .iter()
            .all(|r| r[1] == "dataset3" && r[3] == "dataset3")
    );
    assert_eq!(read_csv(&wd.join("out/clusters.csv")).rows.len(), 5000);
}

#[test]
fn datetime_detector_works() {
    // The detector used below must be able to fail.
    let v: Value = serde_json::json!({
        "a": "fellegi 0.1.0", "b": 19151111, "c": "date_of_birth", "d": [0.25, 25000000]
    });
    let mut out = Vec::new();
    datetime_like(&v, "", &mut out);
    assert!(out.is_empty(), "{out:?}");
    for bad in [
        serde_json::json!({ "x": "2024-05-01T10:00:00Z" }),
        serde_json::json!({ "x": "written 12:30" }),
        serde_json::json!({ "x": 1716000000 }),
        serde_json::json!({ "created_at": "x" }),
    ] {
        let mut out = Vec::new();
        datetime_like(&bad, "", &mut out);
        assert!(!out.is_empty(), "{bad} not flagged");
    }
}

#[test]
fn results_do_not_depend_on_threads() {
    let wd = Workdir::new();
    for t in ["1", "2", "3"] {
        link_dataset(&wd, "febrl4", &format!("t{t}"), &["--threads", t]);
    }
    for f in ["model.json", "pairs.csv", "clusters.csv"] {
        let a = wd.read_bytes(&format!("t1/{f}"));
        for t in ["t2", "t3"] {
            assert!(
                a == wd.read_bytes(&format!("{t}/{f}")),
                "{f} differs: t1 vs {t}"
            );
        }
    }
    // metrics.json differs only in the timings.
    let strip = |t: &str| {
        let mut v = read_json(&wd.join(&format!("{t}/metrics.json")));
        v.as_object_mut().unwrap().remove("seconds");
        v
    };
    assert_eq!(strip("t1"), strip("t2"));
    let model = read_json(&wd.join("t1/model.json"));
    let mut found = Vec::new();
    datetime_like(&model, "", &mut found);
    assert!(
        found.is_empty(),
        "model.json holds dates or times: {found:?}"
    );
}

/// Every m and u of a model.json, in order.
fn m_and_u(model: &Value) -> (Vec<f64>, Vec<f64>) {
    let (mut m, mut u) = (Vec::new(), Vec::new());
    for c in model["comparison"].as_array().unwrap() {
        for l in c["levels"].as_array().unwrap() {
            if let Some(x) = l.get("m") {
                m.push(x.as_f64().unwrap());
            }
            if let Some(x) = l.get("u") {
                u.push(x.as_f64().unwrap());
            }
        }
    }
    (m, u)
}

#[test]
fn seed_changes_u_and_same_seed_repeats() {
    let wd = Workdir::new();
    link_dataset(&wd, "febrl4", "a1", &["--seed", "1"]);
    link_dataset(&wd, "febrl4", "b1", &["--seed", "1"]);
    link_dataset(&wd, "febrl4", "a2", &["--seed", "2"]);
    for f in ["model.json", "pairs.csv", "clusters.csv"] {
        assert!(
            wd.read_bytes(&format!("a1/{f}")) == wd.read_bytes(&format!("b1/{f}")),
            "{f} differs between two runs with seed 1"
        );
    }
    assert!(wd.read_bytes("a1/model.json") != wd.read_bytes("a2/model.json"));
    let (m1, u1) = m_and_u(&read_json(&wd.join("a1/model.json")));
    let (_, u2) = m_and_u(&read_json(&wd.join("a2/model.json")));
    assert_eq!(u1.len(), u2.len());
    assert!(u1.len() >= 20 && m1.len() == u1.len());
    let changed = u1.iter().zip(&u2).filter(|(a, b)| a != b).count();
    assert!(
        changed > u1.len() / 2,
        "only {changed} of {} u changed",
        u1.len()
    );
    assert_eq!(num(&read_json(&wd.join("a2/metrics.json")), "seed"), 2.0);
}

/// Issue 12: `training.u.seed` seeds the run when no `--seed` is given; `--seed` overrides it.
#[test]
fn training_u_seed_is_the_default_seed_and_seed_overrides_it() {
    let wd = Workdir::new();
    let base = std::fs::read_to_string(repo("datasets/settings/febrl4.toml")).unwrap();
    assert!(
        !base.contains("seed"),
        "the shipped settings must not set a seed"
    );
    let seeded = base.replace(
        "u = { random_pairs = 1_000_000 }",
        "u = { random_pairs = 1_000_000, seed = 7 }",
    );
    assert!(
        seeded.contains("seed = 7"),
        "could not add a u seed to the settings"
    );
    wd.write("seeded.toml", &seeded);
    link_dataset(&wd, "febrl4", "u7", &["--settings", "seeded.toml"]);
    link_dataset(&wd, "febrl4", "cli7", &["--seed", "7"]);
    link_dataset(
        &wd,
        "febrl4",
        "cli9",
        &["--settings", "seeded.toml", "--seed", "9"],
    );
    link_dataset(&wd, "febrl4", "plain9", &["--seed", "9"]);
    let fit_seed = |d: &str| read_json(&wd.join(&format!("{d}/model.json")))["fit"]["seed"].clone();
    assert_eq!(fit_seed("u7"), 7);
    assert_eq!(fit_seed("cli9"), 9);
    assert_eq!(num(&read_json(&wd.join("u7/metrics.json")), "seed"), 7.0);
    // Same u sample, so the same parameters and pairs as an explicit --seed 7.
    let (_, u_a) = m_and_u(&read_json(&wd.join("u7/model.json")));
    let (_, u_b) = m_and_u(&read_json(&wd.join("cli7/model.json")));
    assert_eq!(u_a, u_b);
    assert!(wd.read_bytes("u7/pairs.csv") == wd.read_bytes("cli7/pairs.csv"));
    // --seed 9 wins over training.u.seed = 7.
    let (_, u_c) = m_and_u(&read_json(&wd.join("cli9/model.json")));
    let (_, u_d) = m_and_u(&read_json(&wd.join("plain9/model.json")));
    assert_eq!(u_c, u_d);
    assert_ne!(u_a, u_c);
}

/// Deals FEBRL3's records round-robin into a.csv, b.csv, c.csv (header kept) and writes settings
/// from febrl_dedupe.toml with the given link type.
fn three_sources(wd: &Workdir, link_type: &str) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(repo("datasets/febrl/dataset3.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let mut parts = vec![format!("{header}\n"); 3];
    for (i, l) in lines.enumerate() {
        assert!(!l.contains('"'), "FEBRL3 has no quoted fields");
        parts[i % 3].push_str(l);
        parts[i % 3].push('\n');
    }
    let files: Vec<PathBuf> = ["a", "b", "c"]
        .iter()
        .zip(&parts)
        .map(|(n, p)| wd.write(&format!("{n}.csv"), p))
        .collect();
    let s = std::fs::read_to_string(repo("datasets/settings/febrl_dedupe.toml")).unwrap();
    assert!(s.contains("link_type = \"dedupe\""));
    wd.write(
        &format!("{link_type}.toml"),
        s.replace(
            "link_type = \"dedupe\"",
            &format!("link_type = \"{link_type}\""),
        ),
    );
    files
}

fn run_three(link_type: &str) -> (Workdir, Vec<PathBuf>) {
    let wd = Workdir::new();
    let files = three_sources(&wd, link_type);
    let settings = format!("{link_type}.toml");
    wd.run(&[
        "link",
        "-i",
        "a.csv",
        "-i",
        "b.csv",
        "-i",
        "c.csv",
        "--settings",
        &settings,
        "--out",
        "out",
        "-q",
    ])
    .ok();
    (wd, files)
}

#[test]
fn three_sources_link_only() {
    let (wd, files) = run_three("link");
    let truth = truth_of(&files, "record_id", "entity_id");
    let cross = same_entity_pairs(&truth, true);
    let all = same_entity_pairs(&truth, false);
    assert!(cross < all && cross > 1000, "cross {cross}, all {all}");
    let pairs = read_csv(&wd.join("out/pairs.csv"));
    assert!(!pairs.rows.is_empty());
    for r in &pairs.rows {
        assert_ne!(
            r[1], r[3],
            "within-source pair under link_type = link: {r:?}"
        );
    }
    let sources: BTreeSet<(&str, &str)> = pairs
        .rows
        .iter()
        .map(|r| (r[1].as_str(), r[3].as_str()))
        .collect();
    let mut unordered: BTreeSet<(&str, &str)> = BTreeSet::new();
    for (a, b) in sources {
        unordered.insert((a.min(b), a.max(b)));
    }
    assert_eq!(
        unordered.len(),
        3,
        "every pair of sources is linked: {unordered:?}"
    );
    let m = read_json(&wd.join("out/metrics.json"));
    check_metrics(&m, &pairs, &truth, cross);
    assert!(num(&m, "f1") > 0.95, "F1 {}", num(&m, "f1"));
    assert_eq!(read_csv(&wd.join("out/clusters.csv")).rows.len(), 5000);
    let per_source: Vec<f64> = m["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| num(s, "records"))
        .collect();
    assert_eq!(per_source, [1667.0, 1667.0, 1666.0]);
}

#[test]
fn three_sources_link_and_dedupe() {
    let (wd, files) = run_three("link_and_dedupe");
    let truth = truth_of(&files, "record_id", "entity_id");
    let all = same_entity_pairs(&truth, false);
    assert_eq!(all, 6538);
    let pairs = read_csv(&wd.join("out/pairs.csv"));
    assert!(
        pairs.rows.iter().any(|r| r[1] == r[3]),
        "no within-source pair"
    );
    assert!(
        pairs.rows.iter().any(|r| r[1] != r[3]),
        "no cross-source pair"
    );
    let m = read_json(&wd.join("out/metrics.json"));
    check_metrics(&m, &pairs, &truth, all);
    assert!(num(&m, "f1") > 0.95, "F1 {}", num(&m, "f1"));
}

/// The comparable content of a pairs.csv row: ids, sources, gammas and the numbers parsed.
fn pair_rows(t: &Table) -> Vec<(Vec<String>, f64, f64)> {
    t.rows
        .iter()
        .map(|r| {
            let mut key = r[..4].to_vec();
            key.extend_from_slice(&r[6..]);
            (key, r[4].parse().unwrap(), r[5].parse().unwrap())
        })
        .collect()
}

#[test]
fn train_predict_cluster_agree_with_link() {
    let wd = Workdir::new();
    let common = ["--seed", "7"];
    link_dataset(
        &wd,
        "febrl4",
        "L",
        &[&common[..], &["--min-probability", "0.05"][..]].concat(),
    );
    wd.run(
        &[
            &["train", "--dataset", "febrl4", "--out", "T", "-q"][..],
            &common[..],
        ]
        .concat(),
    )
    .ok();
    wd.run(&[
        "predict",
        "--dataset",
        "febrl4",
        "--model",
        "T/model.json",
        "--out",
        "P",
        "--min-probability",
        "0.05",
        "-q",
    ])
    .ok();
    wd.run(&["cluster", "--pairs", "P/pairs.csv", "--threshold", "0.5"])
        .ok();
    assert!(
        wd.read_bytes("T/model.json") == wd.read_bytes("L/model.json"),
        "train and link fit different models"
    );

    // Same pairs, in the same order, with the same levels and (to rounding) the same scores.
    let lp = read_csv(&wd.join("L/pairs.csv"));
    let pp = read_csv(&wd.join("P/pairs.csv"));
    assert_eq!(lp.header, pp.header);
    let (a, b) = (pair_rows(&lp), pair_rows(&pp));
    assert_eq!(a.len(), b.len());
    assert!(a.iter().all(|r| r.2 >= 0.05));
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.0, y.0);
        assert!(
            (x.1 - y.1).abs() <= 1e-9 * x.1.abs().max(1.0),
            "{x:?} vs {y:?}"
        );
        assert!((x.2 - y.2).abs() <= 1e-12, "{x:?} vs {y:?}");
    }

    // clusters.csv from `cluster` covers exactly the records in the pairs and partitions them as
    // link's clusters.csv does.
    let from_cluster = cluster_map(&read_csv(&wd.join("P/clusters.csv")));
    let in_pairs: BTreeSet<(String, String)> = pp
        .rows
        .iter()
        .flat_map(|r| [(r[1].clone(), r[0].clone()), (r[3].clone(), r[2].clone())])
        .collect();
    assert_eq!(
        from_cluster.keys().cloned().collect::<BTreeSet<_>>(),
        in_pairs
    );
    let from_link: BTreeMap<(String, String), String> =
        cluster_map(&read_csv(&wd.join("L/clusters.csv")))
            .into_iter()
            .filter(|(k, _)| in_pairs.contains(k))
            .collect();
    same_partition(&from_link, &from_cluster).unwrap();
    // Not trivially equal: some cluster has more than one record.
    let mut sizes: HashMap<&String, usize> = HashMap::new();
    for c in from_cluster.values() {
        *sizes.entry(c).or_default() += 1;
    }
    assert!(sizes.values().any(|&n| n > 1) && sizes.len() > 1);
}

/// Byte-identical, not just close: m and u must survive the JSON round trip exactly.
#[test]
fn predict_pairs_byte_identical_to_link() {
    let wd = Workdir::new();
    for seed in ["42", "7"] {
        let (l, t, p) = (format!("L{seed}"), format!("T{seed}"), format!("P{seed}"));
        link_dataset(
            &wd,
            "febrl4",
            &l,
            &["--seed", seed, "--min-probability", "0.01"],
        );
        wd.run(&[
            "train",
            "--dataset",
            "febrl4",
            "--out",
            &t,
            "-q",
            "--seed",
            seed,
        ])
        .ok();
        let model = format!("{t}/model.json");
        wd.run(&[
            "predict",
            "--dataset",
            "febrl4",
            "--model",
            &model,
            "--out",
            &p,
            "--min-probability",
            "0.01",
            "-q",
        ])
        .ok();
        assert!(wd.read_bytes(&model) == wd.read_bytes(&format!("{l}/model.json")));
        let (lp, pp) = (
            wd.read(&format!("{l}/pairs.csv")),
            wd.read(&format!("{p}/pairs.csv")),
        );
        let diff = lp.lines().zip(pp.lines()).position(|(a, b)| a != b);
        assert!(
            lp == pp,
            "seed {seed}: pairs.csv differs at line {:?}",
            diff.map(|i| (i + 1, lp.lines().nth(i), pp.lines().nth(i)))
        );
    }
}

#[test]
fn train_then_predict_on_small_data() {
    let wd = Workdir::new();
    wd.write("s.toml", SMALL_SETTINGS);
    wd.write("data.csv", SMALL_CSV);
    wd.run(&[
        "train",
        "-i",
        "data.csv",
        "--settings",
        "s.toml",
        "--out",
        "T",
        "-q",
    ])
    .ok();
    wd.run(&[
        "predict",
        "-i",
        "data.csv",
        "--model",
        "T/model.json",
        "--out",
        "P",
        "-q",
    ])
    .ok();
    assert!(wd.exists("P/pairs.csv"));
}

#[test]
fn config_expand_gives_explicit_levels_that_load_back() {
    let wd = Workdir::new();
    let src = repo("datasets/settings/febrl4.toml");
    let r = wd.run(&[
        std::ffi::OsStr::new("config"),
        "expand".as_ref(),
        src.as_os_str(),
    ]);
    r.ok();
    let orig: toml::Value = toml::from_str(&std::fs::read_to_string(&src).unwrap()).unwrap();
    let exp: toml::Value = toml::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("config expand printed invalid TOML: {e}\n{}", r.stdout));
    let (oc, ec) = (
        orig["comparison"].as_array().unwrap(),
        exp["comparison"].as_array().unwrap(),
    );
    assert_eq!(oc.len(), ec.len());
    for (o, e) in oc.iter().zip(ec) {
        assert_eq!(o["column"], e["column"]);
        assert!(
            e.get("use").is_none() && e.get("thresholds").is_none(),
            "{e}"
        );
        let levels = e["levels"].as_array().expect("explicit levels");
        // null, exact, one per threshold, else.
        let n_thresholds = o
            .get("thresholds")
            .map_or(0, |t| t.as_array().unwrap().len());
        assert_eq!(levels.len(), 3 + n_thresholds, "{e}");
        assert_eq!(levels[0]["predicate"].as_str(), Some("null"));
        assert_eq!(levels[1]["predicate"].as_str(), Some("exact"));
        assert_eq!(levels.last().unwrap()["predicate"].as_str(), Some("else"));
    }
    assert_eq!(orig["blocking"], exp["blocking"]);

    wd.write("expanded.toml", &r.stdout);
    link_dataset(&wd, "febrl4", "D", &[]);
    link_dataset(&wd, "febrl4", "E", &["--settings", "expanded.toml"]);
    let (d, e) = (
        read_json(&wd.join("D/metrics.json")),
        read_json(&wd.join("E/metrics.json")),
    );
    assert_eq!(num(&d, "f1"), num(&e, "f1"));
    assert_eq!(num(&d, "true_positives"), num(&e, "true_positives"));
    assert!(wd.read_bytes("D/pairs.csv") == wd.read_bytes("E/pairs.csv"));
}

#[test]
fn input_files_with_overlapping_ids() {
    // FEBRL4's two files with record_id replaced by the row number: every id is in both files.
    let wd = Workdir::new();
    let files = dataset_files("febrl4");
    let mut renamed: HashMap<(String, String), String> = HashMap::new();
    let mut inputs = Vec::new();
    for f in &files {
        let t = read_csv(f);
        let ic = t.col("record_id");
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&t.header).unwrap();
        for (i, row) in t.rows.iter().enumerate() {
            let mut row = row.clone();
            let new = (i + 1).to_string();
            renamed.insert((stem(f), new.clone()), row[ic].clone());
            row[ic] = new;
            w.write_record(&row).unwrap();
        }
        let name = f.file_name().unwrap().to_str().unwrap().to_string();
        inputs.push(wd.write(&name, w.into_inner().unwrap()));
    }
    let settings = repo("datasets/settings/febrl4.toml");
    let mut args: Vec<std::ffi::OsString> = vec!["link".into()];
    for p in &inputs {
        args.push("--input".into());
        args.push(p.into());
    }
    args.extend([
        "--settings".into(),
        settings.into(),
        "--out".into(),
        "N".into(),
        "-q".into(),
    ]);
    wd.run(&args).ok();
    link_dataset(&wd, "febrl4", "D", &[]);

    // The same pairs as the shipped dataset, once ids are mapped back.
    let np = read_csv(&wd.join("N/pairs.csv"));
    let dp = read_csv(&wd.join("D/pairs.csv"));
    assert_eq!(np.header, dp.header);
    let mut mapped: Vec<Vec<String>> = np
        .rows
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r[0] = renamed[&(r[1].clone(), r[0].clone())].clone();
            r[2] = renamed[&(r[3].clone(), r[2].clone())].clone();
            r
        })
        .collect();
    let mut want = dp.rows.clone();
    mapped.sort();
    want.sort();
    assert_eq!(mapped.len(), want.len());
    assert!(mapped == want, "pairs differ once ids are mapped back");

    // Metrics from the renamed truth.
    let truth = truth_of(&inputs, "record_id", "entity_id");
    assert_eq!(truth.len(), 10_000);
    let m = read_json(&wd.join("N/metrics.json"));
    check_metrics(&m, &np, &truth, 5000);
    assert_eq!(
        num(&m, "f1"),
        num(&read_json(&wd.join("D/metrics.json")), "f1")
    );
    let clusters = cluster_map(&read_csv(&wd.join("N/clusters.csv")));
    assert_eq!(clusters.len(), 10_000);
    let distinct_ids: BTreeSet<&String> = clusters.keys().map(|(_, i)| i).collect();
    assert_eq!(distinct_ids.len(), 5000);
}

/// `--fs-scale bayes-factor` reads the --fs-weights thresholds on the log2 Bayes factor (no
/// prior), as R RecordLinkage's emClassify; the same decisions on the default match-weight scale
/// need the thresholds shifted by the prior weight. metrics.json says which scale was used. On
/// the settings of the RLdata500 vignette experiment (issue 5).
#[test]
fn fs_scale_bayes_factor_leaves_out_the_prior() {
    let wd = Workdir::new();
    let settings = repo("experiments/rldata500-recordlinkage-vignette/settings.toml");
    let settings = settings.to_str().unwrap();
    let base = ["--settings", settings, "--min-probability", "0"];
    let fs_of = |out: &str, extra: &[&str]| -> Value {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        link_dataset(&wd, "rldata500", out, &args);
        read_json(&wd.join(&format!("{out}/metrics.json")))["fellegi_sunter"].clone()
    };
    let bf = fs_of(
        "bf",
        &["--fs-weights", "24,-7", "--fs-scale", "bayes-factor"],
    );
    assert_eq!(bf["scale"], "bayes_factor");
    assert_eq!(bf["upper_weight"], 24.0);
    assert_eq!(bf["lower_weight"], -7.0);
    let d = &bf["decisions_among_pairs_written"];
    let total: u64 = ["Match", "Review", "NonMatch"]
        .iter()
        .flat_map(|k| ["true_matches", "non_matches"].map(|t| d[k][t].as_u64().unwrap_or(0)))
        .sum();
    assert_eq!(total, 571, "every candidate pair is decided");
    // R RecordLinkage's published table (see tests/recordlinkage_vignette.rs).
    for (k, t, n) in [("Match", 14, 1), ("Review", 35, 163), ("NonMatch", 0, 358)] {
        assert_eq!(d[k]["true_matches"], t, "{k}");
        assert_eq!(d[k]["non_matches"], n, "{k}");
    }
    let prior = bf["prior_weight"].as_f64().unwrap();
    assert!(prior < -5.0, "prior weight {prior}");

    let shifted = format!("{},{}", 24.0 + prior, -7.0 + prior);
    let mw = fs_of("mw", &["--fs-weights", &shifted]);
    assert_eq!(mw["scale"], "match_weight");
    assert_eq!(mw["decisions_among_pairs_written"], *d);
    let unshifted = fs_of(
        "mw0",
        &["--fs-weights", "24,-7", "--fs-scale", "match-weight"],
    );
    assert_ne!(unshifted["decisions_among_pairs_written"], *d);

    // Thresholds from target error rates: the same decisions, reported on each scale.
    let rb = fs_of(
        "rb",
        &["--fs-rates", "0.01,0.01", "--fs-scale", "bayes-factor"],
    );
    let rm = fs_of("rm", &["--fs-rates", "0.01,0.01"]);
    assert_eq!(
        rb["decisions_among_pairs_written"],
        rm["decisions_among_pairs_written"]
    );
    let up = |v: &Value| v["upper_weight"].as_f64().unwrap();
    assert!((up(&rb) + prior - up(&rm)).abs() < 1e-9);

    wd.run(&["link", "--dataset", "rldata500", "--fs-scale", "odds"])
        .fails_with(&["--fs-scale", "odds"]);
}

/// Issue 19 part 5: with Fellegi–Sunter options the decisions are visible: pairs.csv gets a
/// `decision` column (and is otherwise the same bytes as without), stdout gives the counts, the
/// clusters join exactly the `match` pairs (not --threshold), and thresholds that collapse are
/// warned about on stderr with rates that would give a review band.
#[test]
fn fs_decisions_are_written_counted_and_clustered() {
    let wd = Workdir::new();
    let settings = repo("experiments/rldata500-recordlinkage-vignette/settings.toml");
    let settings = settings.to_str().unwrap();
    let base = ["--settings", settings, "--min-probability", "0"];
    let plain = link_dataset(&wd, "rldata500", "plain", &base);
    assert!(!plain.stdout.contains("decisions"));
    let mut args = base.to_vec();
    args.extend_from_slice(&["--fs-weights", "24,-7", "--fs-scale", "bayes-factor"]);
    let r = link_dataset(&wd, "rldata500", "fs", &args);
    let pairs = read_csv(&wd.join("fs/pairs.csv"));
    assert_eq!(pairs.header.last().unwrap(), "decision");
    let d = pairs.col("decision");
    let count = |v: &str| pairs.rows.iter().filter(|row| row[d] == v).count();
    // R RecordLinkage's published table (see fs_scale_bayes_factor_leaves_out_the_prior).
    assert_eq!(
        (count("match"), count("review"), count("non_match")),
        (15, 198, 358)
    );
    assert!(
        r.stdout
            .contains("decisions         match 15, review 198, non_match 358"),
        "{}",
        r.stdout
    );
    // Without the options the file is unchanged: the same bytes less the last column.
    let plain_text = wd.read("plain/pairs.csv");
    let fs_text = wd.read("fs/pairs.csv");
    let stripped: String = fs_text
        .lines()
        .map(|l| l.rsplit_once(',').unwrap().0.to_string() + "\n")
        .collect();
    assert_eq!(stripped, plain_text);
    assert!(!plain_text.lines().next().unwrap().contains("decision"));
    // Clusters: the connected components of the match pairs.
    let clusters = read_csv(&wd.join("fs/clusters.csv"));
    let (ci, cs, cc) = (
        clusters.col("id"),
        clusters.col("source"),
        clusters.col("cluster_id"),
    );
    let cluster_of: HashMap<(String, String), String> = clusters
        .rows
        .iter()
        .map(|row| ((row[cs].clone(), row[ci].clone()), row[cc].clone()))
        .collect();
    let (il, sl, ir, sr) = (
        pairs.col("id_l"),
        pairs.col("source_l"),
        pairs.col("id_r"),
        pairs.col("source_r"),
    );
    let mut same_cluster_pairs = 0;
    for row in &pairs.rows {
        let a = &cluster_of[&(row[sl].clone(), row[il].clone())];
        let b = &cluster_of[&(row[sr].clone(), row[ir].clone())];
        if row[d] == "match" {
            assert_eq!(a, b);
        }
        same_cluster_pairs += usize::from(a == b);
    }
    let distinct: BTreeSet<&String> = cluster_of.values().collect();
    assert_eq!(
        distinct.len(),
        500 - 15,
        "15 links, no two sharing a record"
    );
    assert_eq!(same_cluster_pairs, 15);
    let m = read_json(&wd.join("fs/metrics.json"));
    assert_eq!(
        m["true_positives"].as_u64().unwrap() + m["false_positives"].as_u64().unwrap(),
        15
    );
    assert!(
        m["fellegi_sunter"]["links"]
            .as_str()
            .unwrap()
            .contains("Match decisions")
    );

    // Rates whose targets overlap collapse the thresholds: said on stderr, with rates that
    // would leave a band, and the run still succeeds.
    let mut args = base.to_vec();
    args.extend_from_slice(&["--fs-rates", "0.5,0.5"]);
    let r = link_dataset(&wd, "rldata500", "collapsed", &args);
    assert!(
        r.stderr.contains("collapse the Fellegi–Sunter thresholds"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("per pair over all 124750 admissible pairs"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("For a review band try --fs-rates"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.contains("review 0,"), "{}", r.stdout);
}

/// Issue 19 part 6: `explain` says whether the pair was a candidate (and by which blocking
/// rule), shows m and u per comparison, and the truth when the inputs have it.
#[test]
fn explain_says_candidate_rule_m_u_and_truth() {
    let wd = Workdir::new();
    link_dataset(&wd, "febrl4", "run", &[]);
    let model = wd.join("run/model.json");
    let explain = |a: &str, b: &str| {
        let r = wd.run(&[
            "explain",
            "-q",
            "--model",
            model.to_str().unwrap(),
            "--dataset",
            "febrl4",
            "--pair",
            a,
            b,
        ]);
        r.ok();
        r.stdout
    };
    let same = explain("dataset4a:rec-2371-org", "dataset4b:rec-2371-dup-0");
    assert!(
        same.contains("candidate: yes, by blocking rule(s): "),
        "{same}"
    );
    assert!(same.contains("truth: same entity"), "{same}");
    let header = same.lines().find(|l| l.starts_with("field")).unwrap();
    assert!(
        header.trim_end().ends_with('u') && header.contains(" m "),
        "{header}"
    );
    // Two records that share no blocking key: never a candidate, and not the same entity.
    let other = explain("dataset4a:rec-2371-org", "dataset4b:rec-1-dup-0");
    assert!(other.contains("candidate: NO: no blocking rule"), "{other}");
    assert!(other.contains("truth: different entities"), "{other}");
}

/// Issue 19 part 8: `fellegi patterns RUN_DIR` writes the pattern table of the run's
/// candidates: the counts add up to the candidate pairs, the true counts to the true pairs
/// blocking found, and each pattern's weight is the weight pairs.csv gives its pairs.
#[test]
fn patterns_table_adds_up_to_the_run() {
    let wd = Workdir::new();
    link_dataset(&wd, "febrl4", "run", &[]);
    let r = wd.run(&["patterns", "run", "--dataset", "febrl4", "-q"]);
    r.ok();
    let t = read_csv(&wd.join("run/patterns.csv"));
    let m = read_json(&wd.join("run/metrics.json"));
    let sum = |c: &str| -> u64 {
        t.rows
            .iter()
            .map(|row| row[t.col(c)].parse::<u64>().unwrap())
            .sum()
    };
    assert_eq!(sum("count"), m["candidate_pairs"].as_u64().unwrap());
    let found = (m["pairs_completeness"].as_f64().unwrap() * m["true_pairs"].as_f64().unwrap())
        .round() as u64;
    assert_eq!(sum("true_matches"), found);
    assert_eq!(sum("true_matches") + sum("non_matches"), sum("count"));
    // The weight of each pattern is the weight of its pairs in pairs.csv.
    let pairs = read_csv(&wd.join("run/pairs.csv"));
    let gammas: Vec<&String> = pairs
        .header
        .iter()
        .filter(|h| h.starts_with("gamma_"))
        .collect();
    let key = |tab: &Table, row: &Vec<String>| -> Vec<String> {
        gammas.iter().map(|g| row[tab.col(g)].clone()).collect()
    };
    let by_pattern: HashMap<Vec<String>, f64> = t
        .rows
        .iter()
        .map(|row| (key(&t, row), row[t.col("match_weight")].parse().unwrap()))
        .collect();
    for row in pairs.rows.iter().take(200) {
        let w: f64 = row[pairs.col("match_weight")].parse().unwrap();
        let pw = by_pattern[&key(&pairs, row)];
        assert!((w - pw).abs() < 1e-9, "{w} vs {pw}");
    }
    // Sorted by weight, highest first; posteriors are the weights' probabilities.
    let w: Vec<f64> = t
        .rows
        .iter()
        .map(|row| row[t.col("match_weight")].parse().unwrap())
        .collect();
    assert!(w.windows(2).all(|x| x[0] >= x[1]));
    wd.run(&["patterns", "nowhere", "--dataset", "febrl4"])
        .fails_with(&["no model.json"]);
    // An exhaustive run: every admissible pair, as exhaustive EM counted them, and every true
    // pair (no blocking loses any).
    link_dataset(&wd, "febrl4", "ex", &["--exhaustive"]);
    wd.run(&["patterns", "ex", "--dataset", "febrl4", "-q"])
        .ok();
    let t = read_csv(&wd.join("ex/patterns.csv"));
    let m = read_json(&wd.join("ex/metrics.json"));
    let sum = |c: &str| -> u64 {
        t.rows
            .iter()
            .map(|row| row[t.col(c)].parse::<u64>().unwrap())
            .sum()
    };
    assert_eq!(sum("count"), 5000 * 5000);
    assert_eq!(sum("count"), m["candidate_pairs"].as_u64().unwrap());
    assert_eq!(sum("true_matches"), m["true_pairs"].as_u64().unwrap());
}

/// Issue 5: `--rules-only` links exactly the candidate pairs that agree on every key of one of
/// the settings' deterministic rules (FEBRL4: given_name & surname, or date_of_birth &
/// soc_sec_id), with probability 1, and fits nothing.
#[test]
fn link_rules_only_links_exactly_the_pairs_agreeing_on_a_rule() {
    let wd = Workdir::new();
    wd.run(&["link", "--dataset", "febrl4", "--rules-only", "--out", "r"])
        .ok();
    // The expected links, from the input files: cross-source pairs agreeing on a rule's keys
    // (a missing value never agrees). Both rules lie within FEBRL4's blocking rules.
    let files = dataset_files("febrl4");
    let tables: Vec<Table> = files.iter().map(|f| read_csv(f)).collect();
    let rules: [&[&str]; 2] = [&["given_name", "surname"], &["date_of_birth", "soc_sec_id"]];
    let mut expected: BTreeSet<(String, String)> = BTreeSet::new();
    for rule in rules {
        let key = |t: &Table, row: &Vec<String>| -> Option<Vec<String>> {
            let k: Vec<String> = rule.iter().map(|c| row[t.col(c)].clone()).collect();
            k.iter().all(|v| !v.is_empty()).then_some(k)
        };
        let mut right: HashMap<Vec<String>, Vec<String>> = HashMap::new();
        for row in &tables[1].rows {
            if let Some(k) = key(&tables[1], row) {
                right
                    .entry(k)
                    .or_default()
                    .push(row[tables[1].col("record_id")].clone());
            }
        }
        for row in &tables[0].rows {
            if let Some(ids) = key(&tables[0], row).and_then(|k| right.get(&k)) {
                for id in ids {
                    expected.insert((row[tables[0].col("record_id")].clone(), id.clone()));
                }
            }
        }
    }
    let pairs = read_csv(&wd.join("r/pairs.csv"));
    let (l, r, p) = (
        pairs.col("id_l"),
        pairs.col("id_r"),
        pairs.col("match_probability"),
    );
    let got: BTreeSet<(String, String)> = pairs
        .rows
        .iter()
        .map(|row| {
            assert_eq!(row[p], "1", "every written pair is a rule link: {row:?}");
            (row[l].clone(), row[r].clone())
        })
        .collect();
    assert_eq!(got.len(), pairs.rows.len(), "no pair twice");
    assert!(expected.len() > 4000, "{} rule pairs", expected.len());
    assert_eq!(got, expected);
    let m = read_json(&wd.join("r/metrics.json"));
    assert_eq!(
        m["true_positives"].as_u64().unwrap() + m["false_positives"].as_u64().unwrap(),
        expected.len() as u64
    );
    // Nothing was fitted: the model has no m or u, so `predict` refuses it.
    let model = read_json(&wd.join("r/model.json"));
    assert!(
        model["fit"]["lambda_method"]
            .as_str()
            .unwrap()
            .starts_with("rules only")
    );
    assert!(model["comparison"][0]["levels"][1].get("m").is_none());
    // Settings without deterministic rules: the error names the key.
    wd.write(
        "no-rules.toml",
        std::fs::read_to_string(repo("datasets/settings/febrl4.toml"))
            .unwrap()
            .replace(
                "lambda = { deterministic_rules = [[\"given_name\", \"surname\"], [\"date_of_birth\", \"soc_sec_id\"]], recall = 0.8 }",
                "lambda = 0.0002",
            ),
    );
    wd.run(&[
        "link",
        "--dataset",
        "febrl4",
        "--settings",
        "no-rules.toml",
        "--rules-only",
        "--out",
        "x",
    ])
    .fails_with(&["training.lambda.deterministic_rules"]);
    wd.assert_no_output("x");
}
