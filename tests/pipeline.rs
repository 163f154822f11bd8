//! Library-level pipeline checks on FEBRL4: the one-pass `link` (candidates compared once) and
//! the separate train + predict path give identical models and pairs; EM sessions follow
//! Splink's semantics.

use std::path::PathBuf;

use fellegi::pipeline::{self, LinkMethod};
use fellegi::progress::Progress;
use fellegi::settings::{Predicate, Settings};

fn febrl4() -> (Settings, Vec<PathBuf>) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets");
    let s = Settings::from_path(&root.join("settings/febrl4.toml")).unwrap();
    let s = s.expanded("febrl4.toml").unwrap();
    (
        s,
        vec![
            root.join("febrl/dataset4a.csv"),
            root.join("febrl/dataset4b.csv"),
        ],
    )
}

#[test]
fn cached_link_equals_train_then_predict() {
    let (s, paths) = febrl4();
    let p = Progress::default();
    let ds = pipeline::load(&s, &paths, &p).unwrap();
    let linked = pipeline::link(&s, &ds, LinkMethod::Probabilistic, 7, 0.01, &p).unwrap();
    let (model_a, pairs_a) = (linked.trained.model, linked.scored.pairs);
    let model_b = pipeline::fit(&s, &ds, 7, &p).unwrap().model;
    let pairs_b = pipeline::score(&model_b, "model", &ds, 0.01, &p)
        .unwrap()
        .pairs;
    assert_eq!(
        serde_json::to_string(&model_a).unwrap(),
        serde_json::to_string(&model_b).unwrap()
    );
    assert_eq!(pairs_a.left, pairs_b.left);
    assert_eq!(pairs_a.right, pairs_b.right);
    assert_eq!(pairs_a.levels, pairs_b.levels);
    assert_eq!(
        pairs_a
            .weight
            .iter()
            .map(|w| w.to_bits())
            .collect::<Vec<_>>(),
        pairs_b
            .weight
            .iter()
            .map(|w| w.to_bits())
            .collect::<Vec<_>>()
    );
    assert_eq!(pairs_a.candidates, pairs_b.candidates);
    assert_eq!(pairs_a.candidates_per_rule, pairs_b.candidates_per_rule);
    assert_eq!(pairs_a.candidates_true, pairs_b.candidates_true);
    // Splink's FEBRL4 blocking on given_name alone gives 77,249 pairs (DESIGN.md); here the
    // first rule is given_name, so its count must be exactly that.
    assert_eq!(pairs_a.candidates_per_rule[0], 77_249);
}

#[test]
fn sessions_do_not_estimate_the_comparisons_their_rule_fixes() {
    let (s, paths) = febrl4();
    let p = Progress::default();
    let ds = pipeline::load(&s, &paths, &p).unwrap();
    let pipeline::Trained { model, fitted } = pipeline::fit(&s, &ds, 1, &p).unwrap();
    let fit = model.fit.as_ref().unwrap();
    assert_eq!(fit.sessions.len(), 2);
    let est0 = &fit.sessions[0].estimated;
    assert!(!est0.contains(&"given_name".to_string()) && !est0.contains(&"surname".to_string()));
    assert!(est0.contains(&"date_of_birth".to_string()));
    let est1 = &fit.sessions[1].estimated;
    assert!(
        !est1.contains(&"date_of_birth".to_string()) && est1.contains(&"given_name".to_string())
    );
    // m of every comparison sums to 1 over non-null levels; u too.
    for (c, spec) in model.comparisons.iter().enumerate() {
        let (mut sm, mut su) = (0.0, 0.0);
        for (l, lv) in spec.levels.iter().enumerate() {
            if lv.predicate == Predicate::Null {
                assert!(lv.m.is_none() && lv.u.is_none());
                continue;
            }
            sm += lv.m.unwrap();
            su += lv.u.unwrap();
            assert_eq!(lv.m.unwrap(), fitted.params.m[c][l]);
        }
        assert!(
            (sm - 1.0).abs() < 1e-9 && (su - 1.0).abs() < 1e-9,
            "{}: {sm} {su}",
            spec.column
        );
    }
    // λ from deterministic rules is near the true 5,000 / 25,000,000 (Splink: ~0.000239).
    let lambda = model.lambda.unwrap();
    assert!((1.5e-4..3.5e-4).contains(&lambda), "{lambda}");
    // The exact level of given_name carries strong evidence, the else level evidence against.
    let w = fitted.params.level_weights();
    assert!(w[0][1] > 5.0 && w[0][4] < -2.0, "{:?}", w[0]);
}

#[test]
fn model_json_round_trips() {
    let (s, paths) = febrl4();
    let p = Progress::default();
    let ds = pipeline::load(&s, &paths, &p).unwrap();
    let model = pipeline::fit(&s, &ds, 3, &p).unwrap().model;
    let json = serde_json::to_string_pretty(&model).unwrap();
    let back = Settings::from_json(&json, "model.json").unwrap();
    let again = serde_json::to_string_pretty(&back).unwrap();
    if let Some((a, b)) = again.lines().zip(json.lines()).find(|(a, b)| a != b) {
        panic!("first difference: {a} vs {b}");
    }
    assert_eq!(again, json);
    let a = pipeline::score(&model, "model", &ds, 0.5, &p)
        .unwrap()
        .pairs;
    let b = pipeline::score(&back, "model", &ds, 0.5, &p).unwrap().pairs;
    assert_eq!(a.left, b.left);
    assert_eq!(a.probability, b.probability);
}

#[test]
fn comparisons_fixed_by_every_session_keep_their_starting_m() {
    let (mut s, paths) = febrl4();
    // One session blocked on given_name & surname: those two are never estimated.
    s.training.em.truncate(1);
    let p = Progress::default();
    let ds = pipeline::load(&s, &paths, &p).unwrap();
    let comparer = fellegi::compare::Comparer::new(&s.comparisons, &ds).unwrap();
    let init = fellegi::model::FsParams::initial(&s.comparisons, &comparer, 1e-4);
    let fitted = pipeline::fit(&s, &ds, 5, &p).unwrap().fitted;
    for c in 0..2 {
        assert_eq!(
            fitted.params.m[c], init.m[c],
            "comparison {c} must keep its starting m"
        );
    }
    // The others moved away from their starting values.
    assert_ne!(fitted.params.m[2], init.m[2]);
}

#[test]
fn oracle_uses_the_truth_for_lambda_m_and_u() {
    let (s, paths) = febrl4();
    let p = Progress::default();
    let ds = pipeline::load(&s, &paths, &p).unwrap();
    let linked = pipeline::link(&s, &ds, LinkMethod::Oracle, 1, 0.5, &p).unwrap();
    let (model, fitted, pairs) = (
        linked.trained.model,
        linked.trained.fitted,
        linked.scored.pairs,
    );
    // λ is exactly the share of true pairs: 5,000 of 5,000 × 5,000.
    assert_eq!(model.lambda, Some(5000.0 / 25_000_000.0));
    assert!(fitted.fit.lambda_method.starts_with("oracle"));
    // m of the first comparison (given_name) from the 5,000 true pairs; it sums to 1.
    let m = &fitted.params.m[0];
    let total: f64 = m
        .iter()
        .enumerate()
        .filter(|(l, _)| Some(*l) != fitted.params.null_level[0])
        .map(|(_, x)| x)
        .sum();
    assert!((total - 1.0).abs() < 1e-12);
    assert!(
        m[1] > 0.5,
        "exact given-name agreement among true pairs: {m:?}"
    );
    assert!(!pairs.is_empty());
}

/// Issue 12: `Job::run` is what `fellegi link` runs. The library's files equal the CLI's byte for
/// byte (metrics.json up to its timings), whatever the job's thread count.
#[test]
fn job_run_writes_what_the_cli_writes_for_any_thread_count() {
    use fellegi::classify::assign::OneToOne;
    use fellegi::eval::summary::Seconds;
    use fellegi::pipeline::{DecisionOptions, FsRule, Job};

    let (s, paths) = febrl4();
    let p = Progress::default();
    let ds = pipeline::load(&s, &paths, &p).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let job = |threads: usize| Job {
        decisions: DecisionOptions {
            threshold: 0.6,
            one_to_one: Some(OneToOne::Greedy),
            fs: Some(FsRule::Rates {
                false_match_rate: 1e-7,
                false_non_match_rate: 0.05,
            }),
            ..DecisionOptions::default()
        },
        seed: Some(3),
        threads: Some(threads),
        ..Job::new(s.clone())
    };
    for threads in [1, 2] {
        let run = job(threads).run(&ds, &p).unwrap();
        let m = run.metrics.as_ref().unwrap();
        assert!(m.one_to_one.is_some() && m.fellegi_sunter.is_some());
        assert_eq!(m.seed, 3);
        run.write(
            &dir.path().join(format!("lib{threads}")),
            &ds,
            Seconds::default(),
            None,
        )
        .unwrap();
    }
    let cli = dir.path().join("cli");
    let st = std::process::Command::new(env!("CARGO_BIN_EXE_fellegi"))
        .args([
            "link",
            "--dataset",
            "febrl4",
            "-q",
            "--seed",
            "3",
            "--threshold",
            "0.6",
        ])
        .args(["--one-to-one", "greedy", "--fs-rates", "1e-7,0.05", "--out"])
        .arg(&cli)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let without_seconds = |p: PathBuf| {
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        v.as_object_mut().unwrap().remove("seconds");
        v
    };
    for lib in ["lib1", "lib2"] {
        for f in ["model.json", "pairs.csv", "clusters.csv"] {
            assert!(
                std::fs::read(dir.path().join(lib).join(f)).unwrap()
                    == std::fs::read(cli.join(f)).unwrap(),
                "{lib}/{f} differs from the CLI's"
            );
        }
        assert_eq!(
            without_seconds(dir.path().join(lib).join("metrics.json")),
            without_seconds(cli.join("metrics.json"))
        );
    }
}
