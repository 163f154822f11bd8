//! Splink interop (issue 13 point 6): fellegi settings and models to Splink 5 JSON and back
//! (`fellegi::interop::splink`, `fellegi config import-splink` / `export-splink`). The weights
//! themselves are checked against Splink by experiments/febrl4-splink-roundtrip (Splink is not in
//! CI); these tests check the mapping.

mod common;

use common::{Workdir, repo};
use fellegi::interop::splink::{settings_from_splink, settings_to_splink};
use fellegi::settings::Settings;
use fellegi::{Error, Result};

/// Every level kind Splink and fellegi both express, fitted, with labels, fixed values, a
/// renamed comparison, column and prefix blocking keys.
const EVERY_LEVEL: &str = r#"
link_type = "LINK_TYPE"
unique_id = "rid"
lambda = 0.0015

[[blocking]]
keys = ["surname"]
[[blocking]]
keys = ["dob", { column = "postcode", prefix = 2 }]

[training]
max_iterations = 30
tolerance = 0.0005

[[comparison]]
column = "given name"
name = "first"
levels = [
  { predicate = "null" },
  { predicate = "exact", m = 0.7, u = 0.001, fix_m = true },
  { predicate = { jaro_winkler_at_least = 0.92 }, label = "close", m = 0.1, u = 0.004 },
  { predicate = { jaro_at_least = 0.85 }, m = 0.1, u = 0.01, fix_u = true },
  { predicate = { levenshtein_at_most = 2 }, m = 0.05, u = 0.02 },
  { predicate = "else", m = 0.05, u = 0.965 },
]

[[comparison]]
column = "surname"
q = 1
levels = [
  { predicate = "null" },
  { predicate = "exact", m = 0.8, u = 0.002 },
  { predicate = { damerau_levenshtein_at_most = 1 }, m = 0.1, u = 0.003 },
  { predicate = { jaccard_at_least = 0.6 }, m = 0.05, u = 0.05 },
  { predicate = "else", m = 0.05, u = 0.945 },
]

[[comparison]]
column = "dob"
date_format = "%Y-%m-%d"
levels = [
  { predicate = "null" },
  { predicate = "exact", m = 0.9, u = 0.0002 },
  { predicate = { date_diff_days_at_most = 31 }, m = 0.05, u = 0.002 },
  { predicate = { date_diff_days_at_most = 365 }, m = 0.03, u = 0.03 },
  { predicate = "else", m = 0.02, u = 0.9678 },
]

[[comparison]]
column = "income"
levels = [
  { predicate = "exact", m = 0.5, u = 0.01 },
  { predicate = { abs_diff_at_most = 250.5 }, m = 0.2, u = 0.09 },
  { predicate = { rel_diff_at_most = 0.1 }, m = 0.2, u = 0.1 },
  { predicate = "else", m = 0.1, u = 0.8 },
]
"#;

/// What a round trip must keep: the model-bearing parts of the settings, as JSON.
fn essence(s: &Settings) -> serde_json::Value {
    serde_json::json!({
        "link_type": s.link_type,
        "unique_id": s.unique_id,
        "lambda": s.lambda,
        "blocking": s.blocking,
        "exhaustive": s.exhaustive,
        "comparisons": s.comparisons,
        "max_iterations": s.training.max_iterations,
        "tolerance": s.training.tolerance,
        "lambda_start": s.training.lambda_start,
    })
}

fn round_trip(s: &Settings) -> Settings {
    let json = settings_to_splink(s).expect("export");
    settings_from_splink(&json, "round trip").unwrap_or_else(|e| panic!("{e}\n{json}"))
}

#[test]
fn every_level_kind_round_trips_for_every_link_type() {
    for lt in ["dedupe", "link", "link_and_dedupe"] {
        let s = Settings::from_toml(&EVERY_LEVEL.replace("LINK_TYPE", lt), "every level").unwrap();
        let back = round_trip(&s);
        assert_eq!(essence(&back), essence(&s), "link type {lt}");
        // The round trip is a fitted model `predict` reads.
        fellegi::model::FsParams::from_settings(&back, "round trip").unwrap();
    }
}

#[test]
fn exported_sql_is_what_splinks_library_writes() {
    let s = Settings::from_toml(&EVERY_LEVEL.replace("LINK_TYPE", "link"), "x").unwrap();
    let v: serde_json::Value = serde_json::from_str(&settings_to_splink(&s).unwrap()).unwrap();
    assert_eq!(v["link_type"], "link_only");
    assert_eq!(v["unique_id_column_name"], "rid");
    assert_eq!(v["probability_two_random_records_match"], 0.0015);
    let rules = &v["blocking_rules_to_generate_predictions"];
    assert_eq!(rules[0]["blocking_rule"], r#"l."surname" = r."surname""#);
    assert_eq!(
        rules[1]["blocking_rule"],
        r#"(l."dob" = r."dob") AND (SUBSTRING(l."postcode", 1, 2) = SUBSTRING(r."postcode", 1, 2))"#
    );
    let first = &v["comparisons"][0];
    assert_eq!(first["output_column_name"], "first");
    let lv = &first["comparison_levels"];
    assert_eq!(
        lv[0]["sql_condition"],
        r#""given name_l" IS NULL OR "given name_r" IS NULL"#
    );
    assert_eq!(lv[0]["is_null_level"], true);
    assert!(lv[0].get("m_probability").is_none());
    assert_eq!(lv[1]["sql_condition"], r#""given name_l" = "given name_r""#);
    assert_eq!(lv[1]["fix_m_probability"], true);
    assert_eq!(
        lv[2]["sql_condition"],
        r#"jaro_winkler_similarity("given name_l", "given name_r") >= 0.92"#
    );
    assert_eq!(lv[2]["label_for_charts"], "close");
    assert_eq!(lv[2]["m_probability"], 0.1);
    assert_eq!(lv[5]["sql_condition"], "ELSE");
    let dob = &v["comparisons"][2]["comparison_levels"];
    assert_eq!(
        dob[2]["sql_condition"],
        r#"ABS(EPOCH(try_strptime("dob_l", '%Y-%m-%d')) - EPOCH(try_strptime("dob_r", '%Y-%m-%d'))) <= 2678400"#
    );
}

#[test]
fn builder_settings_export_their_expanded_levels() {
    let s = Settings::from_path(&repo("datasets/settings/febrl4.toml")).unwrap();
    let back = round_trip(&s);
    assert_eq!(essence(&back), essence(&s.expanded("febrl4").unwrap()));
    assert_eq!(back.lambda, None, "unfitted settings stay unfitted");
}

#[test]
fn unfitted_lambda_and_exhaustive_round_trip() {
    let toml = r#"
exhaustive = true
[training]
lambda_start = 0.01
[[comparison]]
column = "name"
use = "levenshtein_at_thresholds"
thresholds = [1, 3]
"#;
    let s = Settings::from_toml(toml, "x").unwrap();
    let json = settings_to_splink(&s).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["probability_two_random_records_match"], 0.01);
    assert_eq!(
        v["blocking_rules_to_generate_predictions"],
        serde_json::json!([])
    );
    let back = settings_from_splink(&json, "x").unwrap();
    assert!(back.exhaustive);
    assert_eq!(back.training.lambda_start, Some(0.01));
    assert_eq!(essence(&back), essence(&s.expanded("x").unwrap()));
}

#[test]
fn hand_written_splink_model_imports_to_the_expected_settings() {
    let json = std::fs::read_to_string(repo("tests/splink/hand_written_model.json")).unwrap();
    let got = settings_from_splink(&json, "hand_written_model.json").unwrap();
    let want = Settings::from_path(&repo("tests/splink/hand_written_model.expected.toml")).unwrap();
    assert_eq!(essence(&got), essence(&want));
    assert_eq!(got.truth.as_deref(), Some("entity_id"));
    // And it is a usable fitted model.
    let p = fellegi::model::FsParams::from_settings(&got, "x").unwrap();
    assert_eq!(p.lambda, 0.00025);
    assert_eq!(p.u[1][3], 1e-6);
}

/// A one-comparison Splink model whose second level is `sql` (with extra level keys `extra`).
fn splink_with_level(sql: &str, extra: &str) -> String {
    format!(
        r#"{{"link_type": "dedupe_only", "comparisons": [{{"output_column_name": "name", "comparison_levels": [
        {{"sql_condition": "\"name_l\" IS NULL OR \"name_r\" IS NULL", "is_null_level": true}},
        {{"sql_condition": {}, "label_for_charts": "the level"{extra}}},
        {{"sql_condition": "\"name_l\" = \"name_r\""}},
        {{"sql_condition": "ELSE"}}]}}]}}"#,
        serde_json::to_string(sql).unwrap()
    )
}

#[track_caller]
fn settings_error<T>(r: Result<T>, key: &str, needles: &[&str]) {
    match r {
        Err(Error::Settings {
            key: k, message, ..
        }) => {
            assert_eq!(k, key, "{message}");
            for n in needles {
                assert!(message.contains(n), "{message:?} should mention {n:?}");
            }
        }
        Err(e) => panic!("expected a settings error at {key}, got {e}"),
        Ok(_) => panic!("expected a settings error at {key}, got a result"),
    }
}

const LEVEL_KEY: &str = "comparisons[0].comparison_levels[1].sql_condition";

#[test]
fn unsupported_splink_levels_are_named_errors() {
    let cases: &[(&str, &[&str])] = &[
        (
            r#"(ABS("name_l" - "name_r") / (CASE WHEN "name_r" > "name_l" THEN "name_r" ELSE "name_l" END)) < 0.1"#,
            &["PercentageDifferenceLevel", "CASE WHEN"],
        ),
        (
            r#"damerau_levenshtein("name_l", "name_r") <= 2"#,
            &["optimal string alignment", "<= 2"],
        ),
        (
            r#"cosine_similarity("name_l", "name_r") >= 0.9"#,
            &["`cosine_similarity`", "supported levels"],
        ),
        (
            r#"jaro_winkler_similarity("name_l", "name_r") > 0.9"#,
            &[">= t"],
        ),
        (r#""name_l" = "other_r""#, &["not one of the level forms"]),
        (
            r#"jaro_winkler_similarity(lower("name_l"), lower("name_r")) >= 0.9"#,
            &["not one of the level forms"],
        ),
        (
            r#"array_length(list_intersect("name_l", "name_r")) >= 1"#,
            &["not one of the level forms"],
        ),
        (
            r#"levenshtein("name_l", "name_r" <= 1"#,
            &["cannot read the SQL"],
        ),
        (
            "ABS(EPOCH(try_strptime(\"name_l\", '%Y/%m/%d')) - EPOCH(try_strptime(\"name_r\", '%Y/%m/%d'))) <= 86400",
            &["date format `%Y/%m/%d`"],
        ),
    ];
    for (sql, needles) in cases {
        let mut all = vec!["comparison `name`", "level 1", "the level", *sql];
        all.extend_from_slice(needles);
        settings_error(
            settings_from_splink(&splink_with_level(sql, ""), "s.json"),
            LEVEL_KEY,
            &all,
        );
    }
}

#[test]
fn splink_features_without_a_counterpart_are_named_errors() {
    settings_error(
        settings_from_splink(
            &splink_with_level(
                r#"jaro_winkler_similarity("name_l", "name_r") >= 0.9"#,
                r#", "tf_adjustment_column": "surname", "tf_adjustment_weight": 1.0"#,
            ),
            "s.json",
        ),
        "comparisons[0].comparison_levels[1].tf_adjustment_column",
        &["term-frequency", "comparison `name`"],
    );
    settings_error(
        settings_from_splink(&splink_with_level(r#""city_l" = "city_r""#, ""), "s.json"),
        LEVEL_KEY,
        &["reads column `city`", "`name`"],
    );
    settings_error(
        settings_from_splink(
            &splink_with_level(r#""name_l" IS NULL OR "name_r" IS NULL"#, ""),
            "s.json",
        ),
        LEVEL_KEY,
        &["is_null_level"],
    );
    let rule = |r: &str| {
        format!(
            r#"{{"blocking_rules_to_generate_predictions": [{}], "comparisons": [{{"comparison_levels": [
            {{"sql_condition": "\"a_l\" = \"a_r\""}}, {{"sql_condition": "ELSE"}}]}}]}}"#,
            serde_json::to_string(r).unwrap()
        )
    };
    settings_error(
        settings_from_splink(&rule(r#"levenshtein(l."a", r."a") <= 1"#), "s.json"),
        "blocking_rules_to_generate_predictions[0]",
        &[
            "levenshtein(l.\"a\", r.\"a\") <= 1",
            "equalities joined by AND",
        ],
    );
    settings_error(
        settings_from_splink(&rule(r#"l."a" = r."b""#), "s.json"),
        "blocking_rules_to_generate_predictions[0]",
        &["same column"],
    );
    settings_error(
        settings_from_splink(&rule(r#"l.a = r.a OR l.b = r.b"#), "s.json"),
        "blocking_rules_to_generate_predictions[0]",
        &["not an equality"],
    );
    settings_error(
        settings_from_splink(r#"{"link_type": "link", "comparisons": []}"#, "s.json"),
        "link_type",
        &["link_only"],
    );
    assert!(matches!(
        settings_from_splink("[1, 2]", "s.json"),
        Err(Error::Parse { .. })
    ));
}

#[test]
fn fellegi_features_without_a_splink_counterpart_are_named_errors() {
    let base = |levels: &str, extra: &str| {
        format!(
            "{extra}\n[[blocking]]\nkeys = [\"name\"]\n[[comparison]]\ncolumn = \"name\"\n{levels}"
        )
    };
    let export = |toml: &str| settings_to_splink(&Settings::from_toml(toml, "x").unwrap());
    settings_error(
        export(&base(
            r#"levels = [{ predicate = "exact" }, { predicate = { phonetic_match = "soundex" } }, { predicate = "else" }]"#,
            "",
        )),
        "comparison[0].levels[1].predicate",
        &["soundex", "phonetic"],
    );
    settings_error(
        export(&base(
            r#"use = "damerau_levenshtein_at_thresholds"
thresholds = [1, 2]"#,
            "",
        )),
        "comparison[0].levels[3].predicate",
        &["optimal string alignment"],
    );
    settings_error(
        export(&base(
            r#"use = "jaccard_at_thresholds"
thresholds = [0.5]"#,
            "",
        )),
        "comparison[0].q",
        &["q = 1"],
    );
    settings_error(
        export(&base(
            r#"use = "jaro_winkler_at_thresholds"
thresholds = [0.9]
jaro_winkler = { boost_threshold = -1.0 }"#,
            "",
        )),
        "comparison[0].jaro_winkler",
        &["Winkler"],
    );
    settings_error(
        export(&base(
            r#"use = "exact_match""#,
            "[[transform]]\ncolumn = \"name\"\nsteps = [\"lowercase\"]",
        )),
        "transform",
        &["transforms"],
    );
    settings_error(
        export(
            "[[blocking]]\nkeys = [{ column = \"name\", encode = \"nysiis\" }]\n[[comparison]]\ncolumn = \"name\"\nuse = \"exact_match\"",
        ),
        "blocking[0].keys[0].encode",
        &["phonetic"],
    );
}

#[test]
fn cli_import_and_export_write_their_files() {
    let wd = Workdir::new();
    std::fs::copy(
        repo("tests/splink/hand_written_model.json"),
        wd.join("model.json"),
    )
    .unwrap();
    wd.run(&["config", "import-splink", "model.json", "--out", "s.toml"])
        .ok();
    let toml = wd.read("s.toml");
    let imported = Settings::from_toml(&toml, "s.toml").unwrap();
    assert_eq!(imported.lambda, Some(0.00025));
    wd.run(&["config", "import-splink", "model.json", "--out", "m.json"])
        .ok();
    let from_json = Settings::from_path(&wd.join("m.json")).unwrap();
    assert_eq!(essence(&from_json), essence(&imported));
    wd.run(&[
        "config",
        "export-splink",
        "s.toml",
        "--out",
        "out/splink.json",
    ])
    .ok();
    let back = settings_from_splink(&wd.read("out/splink.json"), "splink.json").unwrap();
    assert_eq!(essence(&back), essence(&imported));
    let stdout = wd
        .run(&["config", "export-splink", "m.json"])
        .ok()
        .stdout
        .clone();
    assert_eq!(stdout, wd.read("out/splink.json"));
}

#[test]
fn cli_errors_exit_2_with_file_and_key() {
    let wd = Workdir::new();
    wd.write(
        "bad.json",
        splink_with_level(r#"damerau_levenshtein("name_l", "name_r") <= 3"#, ""),
    );
    wd.run(&["config", "import-splink", "bad.json", "--out", "s.toml"])
        .fails_with(&["bad.json", LEVEL_KEY, "damerau_levenshtein"]);
    assert!(!wd.exists("s.toml"), "no output on error");
    wd.write("broken.json", "{ not json");
    wd.run(&["config", "import-splink", "broken.json"])
        .fails_with(&["broken.json", "Splink settings"]);
    wd.run(&["config", "import-splink", "missing.json"])
        .fails_with(&["missing.json"]);
    wd.write(
        "p.toml",
        "[[blocking]]\nkeys = [\"name\"]\n[[comparison]]\ncolumn = \"name\"\nlevels = [{ predicate = \"exact\" }, { predicate = { phonetic_match = \"soundex\" } }, { predicate = \"else\" }]\n",
    );
    wd.run(&["config", "export-splink", "p.toml", "--out", "s.json"])
        .fails_with(&["p.toml", "comparison[0].levels[1].predicate"]);
    assert!(!wd.exists("s.json"), "no output on error");
}
