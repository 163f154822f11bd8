//! Honest EM and error estimates on FEBRL4 through the library pipeline (issue 14 parts 2 and
//! 3): EM starts and the bootstrap are recorded in model.json, byte-identical across thread
//! counts; the default plan writes neither; the blocking-aware false-negative rate counts the
//! matches blocking misses and its bootstrap interval brackets the true rate.

use std::path::PathBuf;

use fellegi::classify::DecisionOptions;
use fellegi::pipeline::{self, Job};
use fellegi::progress::Progress;
use fellegi::settings::Settings;

fn febrl4(extra_training: &str) -> (Settings, Vec<PathBuf>) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets");
    let text = std::fs::read_to_string(root.join("settings/febrl4.toml")).unwrap();
    let text = text.replacen(
        "[training]\n",
        &format!("[training]\n{extra_training}\n"),
        1,
    );
    febrl4_with(&text, "febrl4.toml")
}

/// Settings parsed from `text` (named `name` in errors), expanded, with FEBRL4's two files.
fn febrl4_with(text: &str, name: &str) -> (Settings, Vec<PathBuf>) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets");
    let s = Settings::from_toml(text, name).unwrap();
    (
        s.expanded(name).unwrap(),
        vec![
            root.join("febrl/dataset4a.csv"),
            root.join("febrl/dataset4b.csv"),
        ],
    )
}

fn job(s: &Settings, threads: usize, threshold: f64) -> Job {
    Job {
        decisions: DecisionOptions {
            threshold,
            ..DecisionOptions::default()
        },
        seed: Some(5),
        threads: Some(threads),
        ..Job::new(s.clone())
    }
}

#[test]
fn default_plan_records_no_starts_and_no_bootstrap() {
    let (s, paths) = febrl4("");
    let p = Progress::default();
    let ds = pipeline::load(&s, &paths, &p).unwrap();
    let run = job(&s, 2, 0.5).run(&ds, &p).unwrap();
    let json = serde_json::to_string(&run.model).unwrap();
    assert!(!json.contains("\"starts\"") && !json.contains("\"bootstrap\""));
    assert!(!json.contains("em_starts"));
    // Blocking-aware estimate without bootstrap: a value, a predictive interval with the
    // fitted parameters held, and a note saying how.
    let e = &run.estimated.estimated;
    let r = e.blocking_recall.unwrap();
    assert!(r > 0.9 && r <= 1.0, "{r}");
    let fnr = e.false_negative_rate_of_admissible.unwrap();
    assert!(fnr >= e.false_negative_rate);
    let iv = e.false_negative_rate_of_admissible_interval.unwrap();
    assert!(iv[0] <= iv[1] && iv[0] >= 0.0 && iv[1] <= 1.0, "{iv:?}");
    assert!(
        e.false_negative_rate_of_admissible_note
            .as_ref()
            .unwrap()
            .contains("training.bootstrap")
    );
}

#[test]
fn starts_and_bootstrap_are_recorded_and_thread_independent() {
    let (s, paths) = febrl4("em_starts = 4\nbootstrap = 40");
    let p = Progress::default();
    let ds = pipeline::load(&s, &paths, &p).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    for threads in [1, 3] {
        let run = job(&s, threads, 0.5).run(&ds, &p).unwrap();
        run.write(
            &dir.path().join(format!("t{threads}")),
            &ds,
            Default::default(),
            None,
        )
        .unwrap();
        runs.push(run);
    }
    let read = |t: &str, f: &str| std::fs::read(dir.path().join(t).join(f)).unwrap();
    assert!(read("t1", "model.json") == read("t3", "model.json"));
    assert!(read("t1", "pairs.csv") == read("t3", "pairs.csv"));
    let run = &runs[0];
    let fit = &run.fitted.fit;
    for sess in &fit.sessions {
        assert_eq!(sess.starts.len(), 4);
        assert_eq!(sess.starts.iter().filter(|x| x.kept).count(), 1);
        assert!(sess.starts[0].seed.is_none() && sess.starts[1].seed.is_some());
    }
    let b = fit.bootstrap.as_ref().unwrap();
    assert_eq!(b.replicates, 40);
    assert_eq!(b.params.len() + b.failed, 40);
    // The fitted values lie inside (or at the edge of) their percentile intervals, mostly.
    let params = &run.fitted.params;
    let (mut inside, mut all) = (0, 0);
    for c in 0..params.m.len() {
        for l in 0..params.m[c].len() {
            for (v, iv) in [(params.m[c][l], b.m[c][l]), (params.u[c][l], b.u[c][l])] {
                assert!(iv[0] <= iv[1]);
                all += 1;
                inside += usize::from(iv[0] - 1e-9 <= v && v <= iv[1] + 1e-9);
            }
        }
    }
    assert!(inside * 10 >= all * 8, "{inside} of {all}");
    let links = b.links.unwrap();
    let n_links = run.estimated.estimated.links as f64;
    assert!(
        links[0] <= n_links && n_links <= links[1],
        "{links:?} {n_links}"
    );
    let (pr, rc) = (b.precision.unwrap(), b.recall.unwrap());
    assert!(pr[0] <= pr[1] && pr[1] <= 1.0 && rc[0] <= rc[1] && rc[1] <= 1.0);
    // The blocking-aware false-negative rate and its interval against the truth.
    let e = &run.estimated.estimated;
    let iv = e.false_negative_rate_of_admissible_interval.unwrap();
    let truth = 1.0 - run.metrics.as_ref().unwrap().recall;
    eprintln!(
        "FEBRL4: true FNR {truth:.5}, estimated among written {:.5}, blocking-aware {:.5} [{:.5}, {:.5}], blocking recall {:.5}",
        e.false_negative_rate,
        e.false_negative_rate_of_admissible.unwrap(),
        iv[0],
        iv[1],
        e.blocking_recall.unwrap()
    );
    assert!(iv[0] <= iv[1]);
    assert!(
        iv[0] <= truth && truth <= iv[1],
        "{iv:?} does not bracket {truth}"
    );
    // The report and metrics carry the new keys.
    let metrics: serde_json::Value = serde_json::from_slice(&read("t1", "metrics.json")).unwrap();
    let est = &metrics["estimated"];
    assert!(est["false_negative_rate_of_admissible"].is_number());
    assert!(est["false_negative_rate_of_admissible_interval"].is_array());
    let model: serde_json::Value = serde_json::from_slice(&read("t1", "model.json")).unwrap();
    assert!(model["fit"]["bootstrap"]["lambda"].is_array());
    assert!(model["fit"]["sessions"][0]["starts"].is_array());
}

/// With term-frequency adjustments the bootstrap's links, precision and recall rescore every
/// pair with its own adjustment (pairs of one pattern differ in weight), and say so.
#[test]
fn bootstrap_outcomes_keep_term_frequency_adjustments() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("experiments/febrl4-splink-tf/settings-tf.toml"))
        .unwrap();
    let text = if text.contains("[training]\n") {
        text.replacen("[training]\n", "[training]\nbootstrap = 20\n", 1)
    } else {
        format!("{text}\n[training]\nbootstrap = 20\n")
    };
    let (s, paths) = febrl4_with(&text, "settings-tf.toml");
    let p = Progress::default();
    let ds = pipeline::load(&s, &paths, &p).unwrap();
    let run = job(&s, 2, 0.5).run(&ds, &p).unwrap();
    assert!(!run.pairs.tf_names.is_empty());
    let b = run.fitted.fit.bootstrap.as_ref().unwrap();
    assert!(b.note.contains("term-frequency adjustment"), "{}", b.note);
    let links = run.decisions.above.len() as f64;
    let iv = b.links.unwrap();
    assert!(iv[0] <= iv[1]);
    assert!(
        iv[0] * 0.99 <= links && links <= iv[1] * 1.01,
        "{links} {iv:?}"
    );
}

#[test]
fn the_fitted_trace_replays_to_the_fitted_model() {
    // λ from EM on the prediction candidates (a session with no blocking rule), a session that
    // re-estimates u, and comparisons estimated in two sessions (combined by their median).
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets");
    let text = std::fs::read_to_string(root.join("settings/febrl4.toml")).unwrap();
    let lambda = "lambda = { deterministic_rules = [[\"given_name\", \"surname\"], [\"date_of_birth\", \"soc_sec_id\"]], recall = 0.8 }\n";
    let em =
        "em = [{ blocking = [\"given_name\", \"surname\"] }, { blocking = [\"date_of_birth\"] }]";
    assert!(text.contains(lambda) && text.contains(em));
    let text = text.replace(lambda, "").replace(
        em,
        "em = [{ blocking = [\"given_name\", \"surname\"] }, {}, { blocking = [\"date_of_birth\"], fix_u = false }]",
    );
    let (s, paths) = febrl4_with(&text, "febrl4.toml");
    let p = Progress::default();
    let ds = pipeline::load(&s, &paths, &p).unwrap();
    let run = job(&s, 2, 0.5).run(&ds, &p).unwrap();
    let fit = run.model.fit.clone().unwrap();
    assert_eq!(
        fit.sessions
            .iter()
            .map(|s| s.sets_lambda)
            .collect::<Vec<_>>(),
        [false, true, false]
    );
    assert!(fit.sessions[2].trace.iter().all(|t| !t.u.is_empty()));
    assert!(
        fit.sessions[0]
            .trace
            .iter()
            .all(|t| t.u.is_empty() && !t.m.is_empty())
    );
    let fitted = fellegi::model::FsParams::from_settings(&run.model, "model.json").unwrap();
    let total = fellegi::block::total_pairs(s.link_type, &ds.source_sizes());
    let mut start = fitted.clone();
    for (m, null) in start.m.iter_mut().zip(&fitted.null_level) {
        for (l, x) in m.iter_mut().enumerate() {
            if Some(l) != *null {
                *x = 0.5;
            }
        }
    }
    let replay = |fit: &fellegi::model::FitInfo| {
        fellegi::model::train::replay(fit, &run.model.comparisons, &start, &fitted, total)
    };
    let steps = replay(&fit).expect("the fitted trace replays");
    assert_eq!(
        steps.len(),
        1 + fit.sessions.iter().map(|s| s.trace.len()).sum::<usize>()
    );
    assert_eq!(steps[0].params.m, start.m);
    let last = &steps.last().unwrap().params;
    assert_eq!(
        (last.lambda, &last.m, &last.u),
        (fitted.lambda, &fitted.m, &fitted.u)
    );
    // λ moves only in the session that sets it; u only in the one that re-estimates it.
    let in_session = |k: usize| steps.iter().filter(move |st| st.session == Some(k));
    assert!(in_session(0).all(|st| st.params.lambda == steps[0].params.lambda));
    let first_l = in_session(1).next().unwrap().params.lambda;
    assert!(first_l != fitted.lambda || fit.sessions[1].trace.len() == 1);
    assert!(in_session(1).all(|st| st.params.u == steps[0].params.u));
    // A model whose m was replaced after EM does not pretend to replay to it.
    let mut other = fitted.clone();
    other.m[0][0] *= 0.5;
    assert!(
        fellegi::model::train::replay(&fit, &run.model.comparisons, &start, &other, total)
            .is_none()
    );
    // Nor does a trace without per-iteration parameters.
    let mut bare = fit.clone();
    bare.sessions[1].trace.iter_mut().for_each(|t| t.m.clear());
    assert!(replay(&bare).is_none());
}
