//! Issue 19: your own data. Per-source `[[input]]` descriptions (ids, renames, delimiters, date
//! formats, missing tokens), values that do not parse, degenerate fits that speak up, metrics
//! without truth, `evaluate` reading the model, and the smaller points (CRLF line numbers,
//! `generate --sources` help, notes once).

mod common;

use common::{SMALL_CSV, SMALL_SETTINGS, Workdir, read_json};

/// Settings over the generator's columns for two sources; `inputs` is spliced in (TOML).
fn generated_settings(date_format: &str, inputs: &str) -> String {
    format!(
        r#"link_type = "link"
unique_id = "record_id"
truth = "entity_id"
{inputs}
[[blocking]]
keys = ["surname"]
[[blocking]]
keys = ["date_of_birth"]
[[blocking]]
keys = ["given_name"]

[training]
u = {{ random_pairs = 200000, seed = 1 }}
lambda = {{ deterministic_rules = [["given_name", "surname"], ["date_of_birth", "soc_sec_id"]], recall = 0.8 }}
em = [{{ blocking = ["given_name", "surname"] }}, {{ blocking = ["date_of_birth"] }}]

[[comparison]]
column = "given_name"
use = "jaro_winkler_at_thresholds"
thresholds = [0.9, 0.8]
[[comparison]]
column = "surname"
use = "jaro_winkler_at_thresholds"
thresholds = [0.9, 0.8]
[[comparison]]
column = "date_of_birth"
date_format = "{date_format}"
levels = [
  {{ predicate = "null" }}, {{ predicate = "exact" }},
  {{ predicate = {{ date_diff_days_at_most = 31 }} }},
  {{ predicate = {{ date_diff_days_at_most = 366 }} }},
  {{ predicate = "else" }},
]
[[comparison]]
column = "suburb"
use = "jaro_winkler_at_thresholds"
thresholds = [0.9]
[[comparison]]
column = "postcode"
use = "exact_match"
[[comparison]]
column = "soc_sec_id"
use = "levenshtein_at_thresholds"
thresholds = [1, 2]
"#
    )
}

/// Rewrites a generated CSV: header renames and the date_of_birth column through `date`.
fn rewrite(text: &str, renames: &[(&str, &str)], date: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut dob = usize::MAX;
    for (i, line) in text.lines().enumerate() {
        let mut f: Vec<String> = line.split(',').map(str::to_string).collect();
        if i == 0 {
            dob = f.iter().position(|h| h == "date_of_birth").unwrap();
            for h in &mut f {
                if let Some((_, to)) = renames.iter().find(|(from, _)| from == h) {
                    *h = to.to_string();
                }
            }
        } else {
            f[dob] = date(&f[dob]);
        }
        out.push_str(&f.join(","));
        out.push('\n');
    }
    out
}

/// `YYYYMMDD` → `DD/MM/YYYY` when it is 8 digits, else unchanged (as the generator's corrupt
/// dates stay in a real file).
fn to_dmy(v: &str) -> String {
    if v.len() == 8 && v.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}/{}/{}", &v[6..8], &v[4..6], &v[0..4])
    } else {
        v.to_string()
    }
}

fn f1_of(d: &Workdir, out: &str) -> f64 {
    read_json(&d.join(&format!("{out}/metrics.json")))["f1"]
        .as_f64()
        .unwrap()
}

/// The issue's "done when" walk: two generated sources made to differ as real files do (another
/// id column, `last_name` for `surname`, dates as `%d/%m/%Y` in one file and `%Y%m%d` in the
/// other, `;` as delimiter, `NA` for missing) link through `[[input]]` descriptions, without
/// `--input` and without preprocessing, within 0.005 F1 of the uniform files.
#[test]
fn issue_19_differing_sources_link_like_uniform_ones() {
    let d = Workdir::new();
    d.run(&[
        "generate",
        "--entities",
        "1500",
        "--sources",
        "2",
        "--overlap",
        "0.6",
        "--mean-duplicates",
        "0",
        "--seed",
        "11",
        "--out",
        "data",
        "-q",
    ])
    .ok();
    d.write("uniform.toml", generated_settings("%Y%m%d", ""));
    d.run(&[
        "link",
        "-i",
        "data/source_a.csv",
        "-i",
        "data/source_b.csv",
        "--settings",
        "uniform.toml",
        "--out",
        "uniform",
        "-q",
    ])
    .ok();
    let uniform = f1_of(&d, "uniform");

    let a = d.read("data/source_a.csv");
    let b = d.read("data/source_b.csv");
    let census = rewrite(
        &a,
        &[("record_id", "census_id"), ("surname", "last_name")],
        to_dmy,
    )
    .replace(',', ";");
    // Empty postcodes written as NA in the hospital file.
    let hospital = rewrite(&b, &[("record_id", "patient_no")], str::to_string);
    let pc = hospital
        .lines()
        .next()
        .unwrap()
        .split(',')
        .position(|h| h == "postcode")
        .unwrap();
    let hospital: String = hospital
        .lines()
        .map(|l| {
            let mut f: Vec<&str> = l.split(',').collect();
            if f[pc].is_empty() {
                f[pc] = "NA";
            }
            f.join(",") + "\n"
        })
        .collect();
    d.write("own/census.csv", census);
    d.write("own/hospital.csv", hospital);
    d.write(
        "own/settings.toml",
        generated_settings(
            "%Y-%m-%d",
            r#"
[[input]]
path = "census.csv"
unique_id = "census_id"
rename = { last_name = "surname" }
delimiter = ";"
date_format = { date_of_birth = "%d/%m/%Y" }

[[input]]
path = "hospital.csv"
source = "hospital"
unique_id = "patient_no"
date_format = { date_of_birth = "%Y%m%d" }
missing = ["", "NA"]
"#,
        ),
    );
    let r = d.run(&[
        "link",
        "--settings",
        "own/settings.toml",
        "--out",
        "own_out",
        "-q",
    ]);
    r.ok();
    let own = f1_of(&d, "own_out");
    eprintln!("issue 19 walk: F1 uniform {uniform:.4}, differing files with [[input]] {own:.4}");
    assert!(uniform > 0.8, "uniform F1 {uniform}");
    assert!(
        (own - uniform).abs() <= 0.005,
        "F1 {own} with [[input]] vs {uniform} uniform"
    );
    let m = read_json(&d.join("own_out/metrics.json"));
    let sources: Vec<&str> = m["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["census", "hospital"]);
    assert_eq!(m["truth_column"], "entity_id");
    assert!(m["estimated"]["expected_matches_written"].as_f64().unwrap() > 0.0);
    // Unparsed dates (the generator's corrupt ones) are reported per comparison and source.
    let unparsed = m["unparsed"].as_array().unwrap();
    assert_eq!(unparsed.len(), 2, "{unparsed:?}");
    assert!(unparsed.iter().all(|u| u["comparison"] == "date_of_birth"));
    // The walk without any preprocessing: the mixed-format dates made one form.
    let pairs = d.read("own_out/pairs.csv");
    assert!(pairs.lines().count() > 100);

    // `evaluate` needs neither --unique-id nor --truth: it reads the model beside the pairs.
    d.run(&["evaluate", "--pairs", "own_out/pairs.csv"]).ok();
    let e = read_json(&d.join("own_out/evaluation.json"));
    assert!((e["f1"].as_f64().unwrap() - own).abs() < 1e-9, "{e}");
}

/// Dates in the wrong format: the run stops with exit 2 naming the column, the file, the
/// expected format and an example; `--allow-unparsed` goes on with them missing and says so.
#[test]
fn issue_19_unparsed_dates_fail_loudly() {
    let d = Workdir::new();
    d.write(
        "people.csv",
        "id,name,dob\n1,ann,25/01/1986\n2,anne,25/01/1986\n3,bob,19930609\n4,bobby,19930609\n5,carl,19700101\n",
    );
    d.write(
        "s.toml",
        r#"link_type = "dedupe"
unique_id = "id"
truth = ""
[[blocking]]
keys = [{ column = "name", encode = "soundex" }]
[training]
lambda = 0.1
u = { random_pairs = 100 }
[[comparison]]
column = "name"
use = "jaro_winkler_at_thresholds"
thresholds = [0.8]
[[comparison]]
column = "dob"
date_format = "%Y%m%d"
levels = [{ predicate = "null" }, { predicate = "exact" }, { predicate = { date_diff_days_at_most = 31 } }, { predicate = "else" }]
"#,
    );
    d.run(&[
        "link",
        "-i",
        "people.csv",
        "--settings",
        "s.toml",
        "--out",
        "out",
        "-q",
    ])
    .fails_with(&[
        "column `dob`",
        "people.csv",
        "date %Y%m%d",
        "`25/01/1986`",
        "--allow-unparsed",
        "date_format",
    ]);
    d.assert_no_output("out");
    let r = d.run(&[
        "link",
        "-i",
        "people.csv",
        "--settings",
        "s.toml",
        "--out",
        "out",
        "-q",
        "--allow-unparsed",
    ]);
    r.ok();
    assert!(r.stderr.contains("2 of 5 values"), "{}", r.stderr);
    let m = read_json(&d.join("out/metrics.json"));
    let u = &m["unparsed"][0];
    assert_eq!(u["unparsed"], 2);
    assert_eq!(u["examples"], serde_json::json!(["25/01/1986"]));
    assert!(
        m["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["code"] == "unparsed_values")
    );
    // Unparsed dates are missing, not disagreement: the two `ann` records (both unparsed) are
    // compared at the null level of dob (weight 0), so their pair scores as on names alone.
    let pairs = d.read("out/pairs.csv");
    assert!(pairs.lines().count() >= 2, "{pairs}");
    // With the share limit raised above 40 % the run goes on as well.
    d.run(&[
        "link",
        "-i",
        "people.csv",
        "--settings",
        "s.toml",
        "--out",
        "out2",
        "-q",
        "--max-unparsed",
        "0.5",
    ])
    .ok();
}

/// Without a truth column metrics.json is still written: null precision/recall/F1, the
/// model's estimates with what they cover, and per-rule blocking counts.
#[test]
fn issue_19_metrics_without_truth() {
    let d = Workdir::new();
    d.write("data.csv", SMALL_CSV);
    d.write(
        "s.toml",
        SMALL_SETTINGS.replace("truth = \"entity\"", "truth = \"\""),
    );
    d.run(&[
        "link",
        "-i",
        "data.csv",
        "--settings",
        "s.toml",
        "--out",
        "out",
        "-q",
        "--report",
    ])
    .ok();
    let html = d.read("out/report.html");
    assert!(
        html.contains("Estimates from the model") && html.contains("estimated precision"),
        "the report shows the estimates"
    );
    let m = read_json(&d.join("out/metrics.json"));
    assert!(m["precision"].is_null() && m["recall"].is_null() && m["f1"].is_null());
    assert_eq!(m["threshold"], 0.5);
    assert!(m["truth_column"].is_null());
    let e = &m["estimated"];
    let written = e["expected_matches_written"].as_f64().unwrap();
    assert!(written > 0.0, "{e}");
    let (p, links) = (
        e["precision"].as_f64().unwrap(),
        e["links"].as_u64().unwrap(),
    );
    let tl = e["expected_true_links"].as_f64().unwrap();
    assert!((p - tl / links as f64).abs() < 1e-12);
    assert!((e["false_discovery_rate"].as_f64().unwrap() - (1.0 - p)).abs() < 1e-12);
    assert!(e["note"].as_str().unwrap().contains("model-based"));
    assert_eq!(m["blocking"][0]["pairs"], 2);
    assert!(m["warnings"].as_array().unwrap().is_empty(), "{m}");
}

/// A misspelt truth column is a warning (stderr and metrics.json), not silence.
#[test]
fn issue_19_missing_truth_column_warns() {
    let d = Workdir::new();
    d.write("data.csv", SMALL_CSV);
    d.write(
        "s.toml",
        SMALL_SETTINGS.replace("truth = \"entity\"", "truth = \"entiti\""),
    );
    let r = d.run(&[
        "link",
        "-i",
        "data.csv",
        "--settings",
        "s.toml",
        "--out",
        "out",
        "-q",
    ]);
    r.ok();
    assert!(r.stderr.contains("truth column `entiti`"), "{}", r.stderr);
    let m = read_json(&d.join("out/metrics.json"));
    assert!(m["f1"].is_null());
    assert!(
        m["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["code"] == "truth_column_missing")
    );
}

/// Deterministic rules that never agree (a transform on one side only, here a name lowercased
/// in one file): no λ evidence, exit 2, saying what to check.
#[test]
fn issue_19_no_lambda_evidence_fails() {
    let d = Workdir::new();
    d.write(
        "a.csv",
        "id,entity,given,surname\n1,a,john,smith\n2,b,mary,jones\n3,c,peter,brown\n",
    );
    d.write(
        "b.csv",
        "id,entity,given,surname\n1,a,JOHN,SMITH\n2,b,MARY,JONES\n3,c,PETER,BROWN\n",
    );
    d.write(
        "s.toml",
        r#"link_type = "link"
unique_id = "id"
truth = "entity"
[[blocking]]
keys = ["surname"]
[training]
lambda = { deterministic_rules = [["given", "surname"]], recall = 0.8 }
u = { random_pairs = 100 }
em = [{ blocking = ["given"] }]
[[comparison]]
column = "given"
use = "exact_match"
[[comparison]]
column = "surname"
use = "exact_match"
"#,
    );
    d.run(&[
        "link",
        "-i",
        "a.csv",
        "-i",
        "b.csv",
        "--settings",
        "s.toml",
        "--out",
        "out",
        "-q",
    ])
    .fails_with(&[
        "no evidence for λ",
        "deterministic_rules",
        "transforms",
        "one side only",
    ]);
    d.assert_no_output("out");
}

/// Every EM session empty: exit 2; one empty among others: a warning in metrics.json.
#[test]
fn issue_19_empty_em_sessions() {
    let d = Workdir::new();
    d.write("data.csv", SMALL_CSV);
    let s = SMALL_SETTINGS.replace(
        "u = { random_pairs = 1000 }",
        "u = { random_pairs = 1000 }\nlambda = 0.1\nem = [{ blocking = [\"id\"] }]",
    );
    d.write("s.toml", &s);
    d.run(&[
        "link",
        "-i",
        "data.csv",
        "--settings",
        "s.toml",
        "--out",
        "out",
        "-q",
    ])
    .fails_with(&["every EM session is empty", "blocking keys"]);
    d.assert_no_output("out");
    let s = SMALL_SETTINGS.replace(
        "u = { random_pairs = 1000 }",
        "u = { random_pairs = 1000 }\nlambda = 0.1\nem = [{ blocking = [\"id\"] }, { blocking = [\"surname\"] }]",
    );
    d.write("s2.toml", &s);
    let r = d.run(&[
        "link",
        "-i",
        "data.csv",
        "--settings",
        "s2.toml",
        "--out",
        "out",
        "-q",
    ]);
    r.ok();
    assert!(r.stderr.contains("EM session 1"), "{}", r.stderr);
    let m = read_json(&d.join("out/metrics.json"));
    let codes: Vec<&str> = m["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"em_session_empty"), "{codes:?}");
}

/// No pair above --min-probability: a warning.
#[test]
fn issue_19_no_pairs_above_min_probability_warns() {
    let d = Workdir::new();
    d.write("data.csv", SMALL_CSV);
    d.write("s.toml", SMALL_SETTINGS);
    let r = d.run(&[
        "link",
        "-i",
        "data.csv",
        "--settings",
        "s.toml",
        "--out",
        "out",
        "-q",
        "--min-probability",
        "1",
        "--threshold",
        "1",
    ]);
    r.ok();
    let m = read_json(&d.join("out/metrics.json"));
    let codes: Vec<&str> = m["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"no_pairs_above_min_probability"),
        "{codes:?}"
    );
    assert!(r.stderr.contains("pairs.csv is empty"), "{}", r.stderr);
}

/// `[[input]]` errors name their key path; a column the file lacks names the file and hints
/// at `rename`; a semicolon file hints at the per-input delimiter.
#[test]
fn issue_19_input_errors_name_keys() {
    let d = Workdir::new();
    d.write("data.csv", SMALL_CSV);
    d.write("semi.csv", SMALL_CSV.replace(',', ";"));
    // [[input]] tables go after the top-level keys.
    let with = |inputs: &str| format!("{SMALL_SETTINGS}\n{inputs}");
    let cases: [(&str, &[&str]); 6] = [
        (
            "[[input]]\npath = \"data.csv\"\nrename = { nosuch = \"given\" }\n",
            &["input[0].rename", "no column `nosuch`", "data.csv"],
        ),
        (
            "[[input]]\npath = \"data.csv\"\ndelimiter = \";;\"\n",
            &["input[0].delimiter", "one ASCII character"],
        ),
        (
            "[[input]]\npath = \"data.csv\"\ndate_format = { given = \"%Y\" }\n",
            &["input[0].date_format.given", "unknown date format"],
        ),
        (
            "[[input]]\npath = \"data.csv\"\ndate_format = { dob = \"%Y%m%d\" }\n",
            &["input[0].date_format.dob", "no comparison"],
        ),
        (
            "[[input]]\npath = \"data.csv\"\nrename = { surname = \"family\" }\n",
            &["data.csv", "no column `surname`", "rename = {"],
        ),
        (
            "[[input]]\npath = \"semi.csv\"\n",
            &[
                "semi.csv",
                "no column `id`",
                "delimiter = \";\"",
                "[[input]]",
            ],
        ),
    ];
    for (i, (inputs, needles)) in cases.iter().enumerate() {
        let name = format!("s{i}.toml");
        d.write(&name, with(inputs));
        d.run(&["link", "--settings", &name, "--out", "out", "-q"])
            .fails_with(needles);
        d.assert_no_output("out");
    }
    // A source-only description must match an --input stem.
    d.write(
        "s_src.toml",
        with("[[input]]\nsource = \"census\"\nunique_id = \"id\"\n"),
    );
    d.run(&[
        "link",
        "-i",
        "data.csv",
        "--settings",
        "s_src.toml",
        "--out",
        "out",
        "-q",
    ])
    .fails_with(&["input[0].source", "`census` matches none", "data"]);
    // The semicolon file links once its [[input]] says so.
    d.write(
        "s_ok.toml",
        with("[[input]]\npath = \"semi.csv\"\ndelimiter = \";\"\n"),
    );
    d.run(&["link", "--settings", "s_ok.toml", "--out", "ok", "-q"])
        .ok();
    assert!(d.exists("ok/metrics.json"));
}

/// Issue 19 part 9: a duplicate id in a CRLF file is reported on its own line.
#[test]
fn issue_19_duplicate_id_line_in_crlf_file() {
    let d = Workdir::new();
    d.write(
        "data.csv",
        "id,entity,given,surname\r\n1,a,john,smith\r\n2,a,jon,smith\r\n3,b,mary,jones\r\n1,b,mary,jones\r\n",
    );
    d.write("s.toml", SMALL_SETTINGS);
    d.run(&[
        "link",
        "-i",
        "data.csv",
        "--settings",
        "s.toml",
        "--out",
        "out",
        "-q",
    ])
    .fails_with(&["data.csv:5:", "duplicate id `1`", "first on line 2"]);
}

/// Issue 19 part 9: `generate --help` says that --sources keeps duplicates within each file
/// unless --mean-duplicates 0.
#[test]
fn issue_19_generate_help_names_duplicates_within_files() {
    let d = Workdir::new();
    let r = d.run(&["generate", "--help"]);
    r.ok();
    let text = r.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.contains("each file also holds duplicates within itself")
            && text.contains("unless --mean-duplicates 0"),
        "{text}"
    );
}
