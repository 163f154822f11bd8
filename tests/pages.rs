//! Issue 18: the review and teaching pages (comparison viewer, cluster studio, labelling tool,
//! Fellegi–Sunter lab), from the CLI and the library; labels back into `evaluate` and training.
//! The pages' behaviour in a real browser is checked by tests/browser (scripts/check-pages.sh).

mod common;

use std::path::Path;
use std::process::Command;

use common::Workdir;
use fellegi::output::read_pairs;
use fellegi::pipeline;
use fellegi::progress::Progress;
use fellegi::settings::Settings;
use fellegi::view::{self, LabParams, LabelOptions, LabelStrategy, RunData};

fn quiet() -> Progress {
    Progress {
        enabled: false,
        cancel: None,
    }
}

/// Runs `fellegi link --dataset febrl4` (with `extra` flags) into `out`.
fn link_febrl4(out: &Path, extra: &[&str]) {
    let st = Command::new(common::BIN)
        .env_remove("FELLEGI_DATA")
        .args(["link", "--dataset", "febrl4", "-q", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
}

fn febrl4_dataset(model: &Settings) -> fellegi::data::Dataset {
    let reg = fellegi::registry::Registry::load(Some(&common::repo("datasets"))).unwrap();
    let e = reg.get("febrl4").unwrap().clone();
    pipeline::load(model, &reg.files(&e), &quiet()).unwrap()
}

/// The JSON a page embeds.
fn page_data(html: &str) -> serde_json::Value {
    let start = html.find("id=\"data\">").expect("data element") + "id=\"data\">".len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end].replace("<\\/", "</")).expect("page data is JSON")
}

#[test]
fn link_report_writes_four_small_self_contained_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r");
    link_febrl4(&out, &["--report"]);
    for name in view::PAGE_FILES {
        let html = std::fs::read_to_string(out.join(name)).unwrap();
        assert!(html.len() <= 2_000_000, "{name}: {} bytes", html.len());
        assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
        // The SVG namespace is a name, not a resource: everything else must be inline.
        let html_no_ns = html.replace("\"http://www.w3.org/2000/svg\"", "");
        for bad in ["<link", "<img", "src=\"", "http://", "https://", "fetch("] {
            assert!(
                !html_no_ns.contains(bad),
                "{name} is not self-contained: {bad}"
            );
        }
        let d = page_data(&html);
        assert_eq!(d["comparisons"].as_array().unwrap().len(), 9, "{name}");
        assert_eq!(d["true_pairs"], 5000, "{name}");
    }
    let d = page_data(&std::fs::read_to_string(out.join("patterns.html")).unwrap());
    let pats = d["patterns"].as_array().unwrap();
    let total: u64 = pats.iter().map(|p| p["count"].as_u64().unwrap()).sum();
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let blocked: u64 = metrics["candidate_pairs"]
        .as_u64()
        .unwrap_or_else(|| panic!("metrics.json candidate_pairs: {metrics}"));
    assert_eq!(total, blocked, "the viewer counts every candidate pair");
    assert!(
        pats.iter()
            .all(|p| !p["examples"].as_array().unwrap().is_empty())
    );
    let lab = page_data(&std::fs::read_to_string(out.join("lab.html")).unwrap());
    assert!(
        lab["oracle"].is_object(),
        "FEBRL4 has truth: the oracle is embedded"
    );
    assert!(
        lab["replay"].as_array().unwrap().len() >= 2,
        "EM replay steps"
    );
    let clusters = page_data(&std::fs::read_to_string(out.join("clusters.html")).unwrap());
    assert!(!clusters["clusters"].as_array().unwrap().is_empty());
}

#[test]
fn lab_numbers_equal_the_runs_own_metrics_and_the_waterfalls_equal_explain() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r");
    link_febrl4(&out, &[]);
    let model = Settings::from_path(&out.join("model.json")).unwrap();
    let ds = febrl4_dataset(&model);
    let pairs = read_pairs(&out.join("pairs.csv")).unwrap();
    let run = RunData::build("t", &model, "model.json", &ds, pairs, 0.5, &quiet()).unwrap();
    // At the run's own parameters and threshold (p >= 0.5 is weight >= 0), the lab's counts
    // are the run's metrics.json.
    let p = LabParams {
        lambda: run.params.lambda,
        m: run.params.m.clone(),
        u: run.params.u.clone(),
        threshold: 0.0,
        review_lower: -5.0,
        review_upper: 5.0,
    };
    let r = view::lab_evaluate(&run, &p).unwrap();
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let m = r.metrics.unwrap();
    assert_eq!(
        m.true_positives,
        metrics["true_positives"].as_u64().unwrap()
    );
    assert_eq!(
        m.false_positives,
        metrics["false_positives"].as_u64().unwrap()
    );
    assert_eq!(
        m.false_negatives,
        metrics["false_negatives"].as_u64().unwrap()
    );
    assert_eq!(m.f1, metrics["f1"].as_f64().unwrap());
    // Raising the threshold can only lose links.
    let higher = view::lab_evaluate(
        &run,
        &LabParams {
            threshold: 20.0,
            ..p.clone()
        },
    )
    .unwrap();
    assert!(higher.links < r.links);
    // Wrong shapes are refused, not mis-scored.
    let bad = LabParams {
        m: vec![vec![0.5]],
        ..p.clone()
    };
    assert!(view::lab_evaluate(&run, &bad).is_err());
    // The viewer's bar and waterfall: every embedded example pair, explained term by term by
    // pipeline::explain, has its pattern's weight.
    let mut checked = 0;
    for (row, ex) in run.table.rows.iter().zip(&run.examples) {
        for &(l, r) in ex {
            let e = pipeline::explain(&model, "model.json", &ds, l as usize, r as usize).unwrap();
            let w =
                e.waterfall.prior_weight + e.waterfall.terms.iter().map(|t| t.weight).sum::<f64>();
            assert!((w - row.weight).abs() < 1e-9, "{w} vs {}", row.weight);
            checked += 1;
            if checked >= 300 {
                break;
            }
        }
    }
    assert!(checked >= 100);
    // The EM replay is the fitted trace: it ends at the fitted model exactly, and within each
    // session the log-likelihood never decreases (EM's monotonicity).
    let (source, steps) = view::em_replay(&run, 25);
    assert_eq!(source, view::ReplaySource::FittedTrace);
    let fit = model.fit.as_ref().unwrap();
    let iterations: usize = fit.sessions.iter().map(|s| s.trace.len()).sum();
    assert_eq!(steps.len(), iterations + 1);
    let last = steps.last().unwrap();
    assert_eq!(last.lambda, run.params.lambda);
    assert_eq!(last.m, run.params.m);
    assert_eq!(last.u, run.params.u);
    assert_ne!(
        steps[0].m, run.params.m,
        "the replay starts from the starting values"
    );
    let mut at = 1;
    for s in &fit.sessions {
        let ll: Vec<f64> = steps[at..at + s.trace.len()]
            .iter()
            .map(|s| s.log_likelihood)
            .collect();
        assert!(ll.windows(2).all(|w| w[1] >= w[0] - 1e-6), "{ll:?}");
        assert!(steps[at].label.contains(&s.blocking), "{}", steps[at].label);
        at += s.trace.len();
    }
    // The candidates replay (for traces without parameters) also climbs.
    let steps = view::candidates_replay(&run, 25);
    let ll: Vec<f64> = steps[1..].iter().map(|s| s.log_likelihood).collect();
    assert!(ll.windows(2).all(|w| w[1] >= w[0] - 1e-6), "{ll:?}");
}

#[test]
fn label_strategies_pick_what_they_say() {
    let probs: Vec<f64> = (0..1000).map(|i| (i as f64 + 0.5) / 1000.0).collect();
    let opt = |strategy, seed| LabelOptions {
        sample: 50,
        strategy,
        seed,
    };
    let u = view::sample_pairs(&probs, &opt(LabelStrategy::Uncertain, 1));
    assert_eq!(u.len(), 50);
    assert!(u.iter().all(|&i| (probs[i] - 0.5).abs() < 0.026), "{u:?}");
    let r1 = view::sample_pairs(&probs, &opt(LabelStrategy::Random, 7));
    let r2 = view::sample_pairs(&probs, &opt(LabelStrategy::Random, 7));
    let r3 = view::sample_pairs(&probs, &opt(LabelStrategy::Random, 8));
    assert_eq!(r1, r2, "same seed, same sample");
    assert_ne!(r1, r3);
    let mut d = r1.clone();
    d.sort_unstable();
    d.dedup();
    assert_eq!(d.len(), 50, "no pair twice");
    let s = view::sample_pairs(&probs, &opt(LabelStrategy::Stratified, 1));
    for band in 0..10 {
        let n = s
            .iter()
            .filter(|&&i| ((probs[i] * 10.0) as usize).min(9) == band)
            .count();
        assert_eq!(n, 5, "band {band}");
    }
    // More than there are: all of them.
    let all = view::sample_pairs(
        &probs[..7],
        &LabelOptions {
            sample: 50,
            ..opt(LabelStrategy::Stratified, 1)
        },
    );
    assert_eq!(all.len(), 7);
}

#[test]
fn page_commands_write_their_pages_and_refuse_bad_input() {
    let w = Workdir::new();
    let run = w.join("run");
    link_febrl4(&run, &[]);
    let run_s = run.to_str().unwrap();
    let pages = w.join("pages");
    let pages_s = pages.to_str().unwrap();
    for args in [
        vec!["view", "patterns"],
        vec!["view", "clusters"],
        vec!["label", "--sample", "20", "--strategy", "stratified"],
        vec!["lab"],
    ] {
        let mut a = args.clone();
        a.extend([run_s, "--dataset", "febrl4", "-q", "--out", pages_s]);
        w.run(&a).ok();
    }
    for name in view::PAGE_FILES {
        assert!(pages.join(name).is_file(), "{name}");
    }
    let label = page_data(&std::fs::read_to_string(pages.join("label.html")).unwrap());
    assert_eq!(label["pairs"].as_array().unwrap().len(), 20);
    assert_eq!(label["strategy"], "stratified");
    // No temporary files are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&pages)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty());
    // `lab --evaluate`: fellegi's numbers for given parameters (what the browser test checks
    // the page against): the run's own parameters give the run's F1.
    let lab = page_data(&std::fs::read_to_string(pages.join("lab.html")).unwrap());
    let params = serde_json::json!({
        "lambda": lab["em"]["lambda"], "m": lab["em"]["m"], "u": lab["em"]["u"],
        "threshold": 0.0, "review_lower": -1.0, "review_upper": 1.0,
    });
    w.write("params.json", params.to_string());
    let r = w.run(&[
        "lab",
        run_s,
        "--dataset",
        "febrl4",
        "-q",
        "--evaluate",
        "params.json",
    ]);
    r.ok();
    let got: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(got["metrics"]["f1"], metrics["f1"]);
    // Bad input: a clear error, exit 2.
    w.write("bad.json", r#"{"lambda": 0.1, "m": [[0.5]], "u": [[0.5]], "threshold": 0, "review_lower": 0, "review_upper": 1}"#);
    w.run(&[
        "lab",
        run_s,
        "--dataset",
        "febrl4",
        "-q",
        "--evaluate",
        "bad.json",
    ])
    .fails_with(&["one value per comparison and level"]);
    w.write("typo.json", r#"{"lamda": 0.1}"#);
    w.run(&[
        "lab",
        run_s,
        "--dataset",
        "febrl4",
        "-q",
        "--evaluate",
        "typo.json",
    ])
    .fails_with(&["expected the lab's parameters"]);
    std::fs::create_dir_all(w.join("empty")).unwrap();
    w.run(&["lab", "empty", "--dataset", "febrl4", "-q"])
        .fails_with(&["no model.json", "fellegi link"]);
    w.run(&["label", run_s, "--dataset", "febrl4", "-q", "--sample", "0"])
        .fails_with(&["--sample must be at least 1"]);
}

/// Writes labels.csv from the truth for the first `n` pairs of a run's pairs.csv (what a
/// perfect reviewer would export from the labelling tool).
fn truth_labels(run: &Path, ds_model: &Settings, n: usize) -> String {
    let ds = febrl4_dataset(ds_model);
    let truth = ds.truth.as_ref().unwrap();
    let by_key: std::collections::BTreeMap<(String, String), usize> = (0..ds.len())
        .map(|r| {
            (
                (ds.source_name(r).to_string(), ds.ids.get(r).to_string()),
                r,
            )
        })
        .collect();
    let mut csv = String::from(
        "source_dataset_l,unique_id_l,source_dataset_r,unique_id_r,clerical_match_score\n",
    );
    for p in read_pairs(&run.join("pairs.csv")).unwrap().iter().take(n) {
        let (a, b) = (by_key[&p.left], by_key[&p.right]);
        let m = u8::from(truth[a] == truth[b]);
        csv.push_str(&format!(
            "{},{},{},{},{m}\n",
            p.left.0, p.left.1, p.right.0, p.right.1
        ));
    }
    csv
}

#[test]
fn labels_train_m_and_evaluate() {
    let w = Workdir::new();
    let run = w.join("run");
    link_febrl4(&run, &[]);
    let model = Settings::from_path(&run.join("model.json")).unwrap();
    w.write("labels.csv", truth_labels(&run, &model, 400));
    let run_s = run.to_str().unwrap();
    w.run(&[
        "evaluate",
        "--pairs",
        &format!("{run_s}/pairs.csv"),
        "--labels",
        "labels.csv",
        "--dataset",
        "febrl4",
        "--out",
        "eval",
    ])
    .ok();
    // Training: m from the labels.
    let shipped = std::fs::read_to_string(common::repo("datasets/settings/febrl4.toml")).unwrap();
    let labels_path = w.join("labels.csv");
    let settings = shipped.replacen(
        "[training]\n",
        &format!(
            "[training]\nm = {{ labels = \"{}\" }}\n",
            labels_path.display()
        ),
        1,
    );
    assert_ne!(settings, shipped, "the settings have a [training] section");
    w.write("settings.toml", &settings);
    w.run(&[
        "link",
        "--dataset",
        "febrl4",
        "--settings",
        "settings.toml",
        "-q",
        "--out",
        "labelled",
    ])
    .ok();
    let fitted: serde_json::Value = serde_json::from_str(&w.read("labelled/model.json")).unwrap();
    let how = fitted["fit"]["m_method"].as_str().unwrap();
    assert!(how.starts_with("clerical labels: "), "{how}");
    let labels = fellegi::eval::evaluation::read_labels(&labels_path).unwrap();
    let matches = labels.iter().filter(|l| l.is_match).count();
    assert!(
        how.contains(&format!("{matches} pairs labelled a match")),
        "{how}"
    );
    // m of the first comparison's exact level is the labelled matches' share at that level.
    let ds = febrl4_dataset(&model);
    let comparer = fellegi::compare::Comparer::new(&model.comparisons, &ds).unwrap();
    let by_key: std::collections::BTreeMap<(&str, &str), usize> = (0..ds.len())
        .map(|r| ((ds.source_name(r), ds.ids.get(r)), r))
        .collect();
    let mut levels = vec![0u8; comparer.len()];
    let mut at = vec![0usize; model.comparisons[0].levels.len()];
    for l in labels.iter().filter(|l| l.is_match) {
        let a = by_key[&(l.left.0.as_str(), l.left.1.as_str())];
        let b = by_key[&(l.right.0.as_str(), l.right.1.as_str())];
        comparer.vector(&ds, a.min(b) as u32, a.max(b) as u32, &mut levels);
        at[levels[0] as usize] += 1;
    }
    let labelled = Settings::from_path(&w.join("labelled/model.json")).unwrap();
    let params = fellegi::model::FsParams::from_settings(&labelled, "labelled").unwrap();
    let null = params.null_level[0];
    let seen: f64 = at
        .iter()
        .enumerate()
        .filter(|&(l, _)| Some(l) != null)
        .map(|(_, &n)| (n as f64).max(0.5))
        .sum();
    for (l, &n) in at.iter().enumerate() {
        if Some(l) != null {
            let want = (n as f64).max(0.5) / seen;
            assert!(
                (params.m[0][l] - want).abs() < 1e-12,
                "level {l}: {} vs {want}",
                params.m[0][l]
            );
        }
    }
    // Labels without a single match: a clear error naming the key.
    w.write(
        "nomatch.csv",
        "source_dataset_l,unique_id_l,source_dataset_r,unique_id_r,clerical_match_score\n",
    );
    let nomatch = settings.replace(
        &labels_path.display().to_string(),
        &w.join("nomatch.csv").display().to_string(),
    );
    w.write("nomatch.toml", &nomatch);
    w.run(&[
        "link",
        "--dataset",
        "febrl4",
        "--settings",
        "nomatch.toml",
        "-q",
        "--out",
        "x",
    ])
    .fails_with(&["training.m.labels", "no pair is labelled a match"]);
}

#[test]
fn bridges_are_the_edges_that_split() {
    use fellegi::cluster::{bridges, connected_components};
    // A triangle 0-1-2 with a tail 2-3-4 and a separate pair 5-6.
    let e = [(0, 1), (1, 2), (2, 0), (2, 3), (3, 4), (5, 6)];
    assert_eq!(bridges(7, &e), vec![3, 4, 5]);
    // A doubled edge is no bridge; a lone edge is.
    assert_eq!(bridges(3, &[(0, 1), (1, 0), (1, 2)]), vec![2]);
    // A cycle has none; a path's every edge is one.
    assert!(bridges(4, &[(0, 1), (1, 2), (2, 3), (3, 0)]).is_empty());
    assert_eq!(bridges(4, &[(0, 1), (1, 2), (2, 3)]), vec![0, 1, 2]);
    // Brute force on a denser graph: an edge is a bridge iff removing it adds a component.
    let e: Vec<(u32, u32)> = vec![
        (0, 1),
        (1, 2),
        (2, 3),
        (3, 1),
        (3, 4),
        (4, 5),
        (5, 6),
        (6, 4),
        (6, 7),
        (8, 9),
    ];
    let comps = |edges: &[(u32, u32)]| {
        let ids = connected_components(10, edges.iter().copied());
        ids.iter().copied().max().unwrap() + 1
    };
    let base = comps(&e);
    let want: Vec<usize> = (0..e.len())
        .filter(|&i| {
            let rest: Vec<_> = e
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, &x)| x)
                .collect();
            comps(&rest) > base
        })
        .collect();
    assert_eq!(bridges(10, &e), want);
}
