//! Bad inputs to the `fellegi` binary: every one must exit 2 (never panic), name the file (and
//! line) or the settings key at fault, and leave no output that looks complete.

mod common;

use common::{SMALL_CSV, SMALL_SETTINGS, Workdir, read_csv, repo};

/// A workdir holding `s.toml` (the small settings) and `data.csv` (good data).
fn small() -> Workdir {
    let wd = Workdir::new();
    wd.write("s.toml", SMALL_SETTINGS);
    wd.write("data.csv", SMALL_CSV);
    wd
}

/// `fellegi link -i FILE --settings s.toml --out out -q`, plus `extra`.
fn link_file(wd: &Workdir, file: &str, extra: &[&str]) -> common::Run {
    let mut args = vec![
        "link",
        "-i",
        file,
        "--settings",
        "s.toml",
        "--out",
        "out",
        "-q",
    ];
    args.extend_from_slice(extra);
    wd.run(&args)
}

/// The small settings with `from` replaced by `to` (which must occur).
fn settings_with(from: &str, to: &str) -> String {
    assert!(
        SMALL_SETTINGS.contains(from),
        "{from:?} not in the settings"
    );
    SMALL_SETTINGS.replacen(from, to, 1)
}

/// Explicit-levels settings for the `given` column with the given level list.
fn levels_settings(levels: &str) -> String {
    format!(
        r#"link_type = "dedupe"
unique_id = "id"
truth = "entity"

[[blocking]]
keys = ["surname"]

[[comparison]]
column = "given"
levels = [
{levels}
]

[[comparison]]
column = "surname"
use = "exact_match"
"#
    )
}

/// Line number (1-based) of the record at 0-based row `k` of `rows`, when the file is the header
/// line followed by the rows (each row may span several lines).
fn line_of(rows: &[String], k: usize) -> usize {
    2 + rows[..k]
        .iter()
        .map(|r| r.matches('\n').count())
        .sum::<usize>()
}

// ---------------------------------------------------------------------------------------------
// Input files

#[test]
fn missing_input_file() {
    let wd = small();
    link_file(&wd, "nosuch.csv", &[]).fails_with(&["nosuch.csv"]);
    wd.assert_no_output("out");
}

#[test]
fn missing_input_file_message_says_os_error_once() {
    let wd = small();
    let r = link_file(&wd, "nosuch.csv", &[]);
    r.fails_with(&["nosuch.csv"]);
    assert_eq!(
        r.stderr.matches("(os error 2)").count(),
        1,
        "OS error repeated: {}",
        r.stderr
    );
}

#[test]
fn empty_file_has_no_header() {
    let wd = small();
    wd.write("empty.csv", "");
    link_file(&wd, "empty.csv", &[]).fails_with(&["empty.csv", "empty"]);
    wd.assert_no_output("out");
}

#[test]
fn header_only_file_has_no_records() {
    let wd = small();
    wd.write("header_only.csv", "id,entity,given,surname\n");
    link_file(&wd, "header_only.csv", &[]).fails_with(&["header_only.csv", "no records"]);
    wd.assert_no_output("out");
}

#[test]
fn ragged_row_names_file_and_line() {
    let wd = small();
    wd.write(
        "ragged.csv",
        "id,entity,given,surname\n1,a,john,smith\n2,a,jon,smith\n3,b,mary\n4,b,mary,jones\n",
    );
    let r = link_file(&wd, "ragged.csv", &[]);
    r.fails_with(&["ragged.csv:4:"]);
    // The message says what is wrong: 3 fields where the header has 4.
    assert!(
        r.stderr.contains('3') && r.stderr.contains('4'),
        "{}",
        r.stderr
    );
    wd.assert_no_output("out");
}

#[test]
fn duplicate_ids_name_both_lines() {
    let wd = small();
    // The quoted field spans lines 2-3, so record numbers and line numbers differ.
    wd.write(
        "dup.csv",
        "id,entity,given,surname\n1,a,\"jo\nhn\",smith\n2,a,jon,smith\n1,b,mary,jones\n",
    );
    link_file(&wd, "dup.csv", &[]).fails_with(&["dup.csv:5:", "line 2", "`1`"]);
    wd.assert_no_output("out");
}

#[test]
fn duplicate_ids_far_apart_in_a_large_file() {
    // Over 64 KiB with quoted multi-line fields: the reader parses it in several chunks.
    let wd = small();
    let n = 4000;
    let (first, second) = (150, 3950);
    let rows: Vec<String> = (0..n)
        .map(|i| {
            let id = if i == second { first } else { i };
            let given = if i % 5 == 0 {
                format!("\"multi\nline, {i}\"")
            } else {
                "john".to_string()
            };
            format!("r{id},e{},{given},smith{}\n", i / 2, i / 2)
        })
        .collect();
    let text = format!("id,entity,given,surname\n{}", rows.concat());
    assert!(text.len() > 100_000);
    wd.write("bigdup.csv", &text);
    let (l1, l2) = (line_of(&rows, first), line_of(&rows, second));
    assert!(l2 > second + 2, "the file should have multi-line records");
    link_file(&wd, "bigdup.csv", &[]).fails_with(&[
        &format!("bigdup.csv:{l2}:"),
        &format!("line {l1}"),
        &format!("`r{first}`"),
    ]);
    wd.assert_no_output("out");
}

#[test]
fn non_utf8_field_names_line() {
    let wd = small();
    let mut bytes = b"id,entity,given,surname\n1,a,\"jo\nhn\",smith\n2,a,j".to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe]);
    bytes.extend_from_slice(b"n,smith\n3,b,mary,jones\n");
    wd.write("latin.csv", &bytes);
    link_file(&wd, "latin.csv", &[]).fails_with(&["latin.csv:4:", "given", "UTF-8"]);
    wd.assert_no_output("out");
}

#[test]
fn ten_megabyte_field_fails_fast_with_the_limit() {
    let wd = small();
    let limit = fellegi::data::MAX_FIELD_BYTES;
    let big = 10_000_000;
    assert!(big > limit);
    let mut text = String::from("id,entity,given,surname\n1,a,john,smith\n2,a,");
    text.push_str(&"x".repeat(big));
    text.push_str(",smith\n3,b,mary,jones\n");
    wd.write("huge.csv", &text);
    let r = link_file(&wd, "huge.csv", &[]);
    r.fails_with(&["huge.csv:3:", &limit.to_string(), "given"]);
    assert!(
        r.elapsed.as_secs_f64() < 5.0,
        "took {:?} to reject a 10 MB field",
        r.elapsed
    );
    wd.assert_no_output("out");
}

// ---------------------------------------------------------------------------------------------
// Quoted fields

#[test]
fn quoted_commas_and_newlines_parse() {
    let wd = small();
    // Records 1 and 2 share a given name holding a comma, a newline and a doubled quote; record 3
    // and 4 share a surname holding a newline. A parser splitting on commas or newlines would see
    // more records or more fields.
    let given = "\"smith, john \"\"jj\"\"\nthe second\"";
    wd.write(
        "quoted.csv",
        format!(
            "id,entity,given,surname\n1,a,{given},smith\n2,a,{given},smith\n\
             3,b,mary,\"van\ndyke\"\n4,b,mary,\"van\ndyke\"\n5,c,peter,brown\n"
        ),
    );
    link_file(&wd, "quoted.csv", &[]).ok();
    let clusters = read_csv(&wd.join("out/clusters.csv"));
    let ids: Vec<&str> = clusters.rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids, ["1", "2", "3", "4", "5"]);
    let pairs = read_csv(&wd.join("out/pairs.csv"));
    let (gl, gg, gs) = (
        pairs.col("id_l"),
        pairs.col("gamma_given"),
        pairs.col("gamma_surname"),
    );
    let find = |l: &str| {
        pairs
            .rows
            .iter()
            .find(|r| r[gl] == l)
            .unwrap_or_else(|| panic!("no pair for record {l}"))
    };
    // given: null -1, else 0, jw >= 0.9 1, exact 2; surname: exact 1.
    assert_eq!((find("1")[gg].as_str(), find("1")[gs].as_str()), ("2", "1"));
    assert_eq!((find("3")[gg].as_str(), find("3")[gs].as_str()), ("2", "1"));
    assert_eq!(pairs.rows.len(), 2, "only 1-2 and 3-4 share a surname");
}

#[test]
fn ragged_row_after_multiline_quoted_field() {
    let wd = small();
    // Lines: 1 header, 2 record 1, 3-5 record 2 (two embedded newlines), 6 record 3 (ragged).
    wd.write(
        "mq.csv",
        "id,entity,given,surname\n1,a,john,smith\n2,a,\"jo,\nh\nn\",smith\n3,b,mary\n4,b,mary,jones\n",
    );
    link_file(&wd, "mq.csv", &[]).fails_with(&["mq.csv:6:"]);
    wd.assert_no_output("out");
}

#[test]
fn ragged_row_after_multiline_fields_in_a_large_file() {
    let wd = small();
    let n = 4000;
    let bad = 3900;
    let rows: Vec<String> = (0..n)
        .map(|i| {
            let given = if i % 5 == 0 {
                format!("\"multi\nline, {i}\"")
            } else {
                "john".to_string()
            };
            if i == bad {
                format!("r{i},e{},{given}\n", i / 2)
            } else {
                format!("r{i},e{},{given},smith{}\n", i / 2, i / 2)
            }
        })
        .collect();
    let text = format!("id,entity,given,surname\n{}", rows.concat());
    assert!(text.len() > 100_000);
    wd.write("bigrag.csv", &text);
    let line = line_of(&rows, bad);
    assert!(line > bad + 2 + 500);
    link_file(&wd, "bigrag.csv", &[]).fails_with(&[&format!("bigrag.csv:{line}:")]);
    wd.assert_no_output("out");
}

#[test]
fn ragged_row_in_a_large_plain_crlf_file_with_blank_lines() {
    // No quotes at all (the reader's fast path), CRLF line ends and blank lines.
    let wd = small();
    let n = 5000;
    let bad = 4321;
    let rows: Vec<String> = (0..n)
        .map(|i| {
            let blank = if i % 97 == 0 { "\r\n" } else { "" };
            if i == bad {
                format!("{blank}r{i},e{},john\r\n", i / 2)
            } else {
                format!("{blank}r{i},e{},john,smith{}\r\n", i / 2, i / 2)
            }
        })
        .collect();
    let text = format!("id,entity,given,surname\r\n{}", rows.concat());
    assert!(text.len() > 100_000 && !text.contains('"'));
    wd.write("plain.csv", &text);
    // The bad row's own blank line (if any) comes before it.
    let line = line_of(&rows, bad) + rows[bad].matches('\n').count() - 1;
    assert!(line > bad + 2 + 40);
    link_file(&wd, "plain.csv", &[]).fails_with(&[&format!("plain.csv:{line}:")]);
    wd.assert_no_output("out");
}

/// Four records with old-Mac line ends (CR only); `quote` puts one harmless quoted field in.
fn cr_only_file(quote: bool) -> String {
    let given = if quote { "\"jon\"" } else { "jon" };
    format!(
        "id,entity,given,surname\r1,a,john,smith\r2,a,{given},smith\r3,b,mary,jones\r4,b,mary,jones\r"
    )
}

#[test]
fn cr_line_endings_with_a_quoted_field() {
    let wd = small();
    wd.write("cr.csv", cr_only_file(true));
    link_file(&wd, "cr.csv", &[]).ok();
    assert_eq!(read_csv(&wd.join("out/clusters.csv")).rows.len(), 4);
}

#[test]
fn cr_line_endings_without_quotes() {
    let wd = small();
    wd.write("cr.csv", cr_only_file(false));
    link_file(&wd, "cr.csv", &[]).ok();
    assert_eq!(read_csv(&wd.join("out/clusters.csv")).rows.len(), 4);
}

/// A large file whose unquoted field holds a literal `"` (5'11"), followed by quoted multi-line
/// fields. CSV readers (the csv crate included) take a quote inside an unquoted field literally.
fn stray_quote_file(n: usize) -> String {
    let mut s = String::from("id,entity,given,surname\n");
    for i in 0..n {
        let given = if i == 10 {
            "5'11\" tall".to_string()
        } else if i > n / 2 && i % 7 == 0 {
            format!("\"multi\nline {i}\"")
        } else {
            "john".to_string()
        };
        s.push_str(&format!("r{i},e{},{given},smith{}\n", i / 2, i / 2));
    }
    s
}

#[test]
fn literal_quote_in_unquoted_field_small_file() {
    // Under 64 KiB: read in one piece, and accepted.
    let wd = small();
    let text = stray_quote_file(2000);
    assert!(text.len() < 60_000);
    wd.write("stray.csv", &text);
    let r = link_file(&wd, "stray.csv", &[]);
    r.ok();
    assert_eq!(read_csv(&wd.join("out/clusters.csv")).rows.len(), 2000);
}

#[test]
fn literal_quote_in_unquoted_field_large_file() {
    let wd = small();
    let text = stray_quote_file(4000);
    assert!(text.len() > 100_000);
    wd.write("stray.csv", &text);
    link_file(&wd, "stray.csv", &[]).ok();
    assert_eq!(read_csv(&wd.join("out/clusters.csv")).rows.len(), 4000);
}

// ---------------------------------------------------------------------------------------------
// Settings

#[test]
fn unknown_column_names_column_and_key() {
    let wd = small();
    wd.write(
        "s.toml",
        settings_with("column = \"surname\"", "column = \"surnam\""),
    );
    link_file(&wd, "data.csv", &[]).fails_with(&["data.csv", "`surnam`", "comparison[1].column"]);
    wd.assert_no_output("out");
}

#[test]
fn unknown_key_in_comparison() {
    let wd = small();
    wd.write(
        "s.toml",
        settings_with("column = \"surname\"", "colum = \"surname\""),
    );
    link_file(&wd, "data.csv", &[]).fails_with(&["s.toml", "colum"]);
    wd.assert_no_output("out");
}

#[test]
fn unknown_key_in_training() {
    let wd = small();
    wd.write(
        "s.toml",
        settings_with("[training]\n", "[training]\nmax_iteration = 3\n"),
    );
    link_file(&wd, "data.csv", &[]).fails_with(&["s.toml", "max_iteration"]);
    wd.assert_no_output("out");
}

#[test]
fn unknown_key_in_training_lambda() {
    let wd = small();
    wd.write(
        "s.toml",
        settings_with(
            "[training]\n",
            "[training]\nlambda = { deterministic_rules = [[\"surname\"]], recal = 0.5 }\n",
        ),
    );
    link_file(&wd, "data.csv", &[]).fails_with(&["s.toml", "recal"]);
    wd.assert_no_output("out");
}

#[test]
fn builder_without_thresholds() {
    let wd = small();
    wd.write("s.toml", settings_with("thresholds = [0.9]\n", ""));
    link_file(&wd, "data.csv", &[]).fails_with(&["s.toml", "comparison[0].thresholds"]);
    wd.assert_no_output("out");
}

#[test]
fn similarity_above_one_in_explicit_levels() {
    let wd = small();
    wd.write(
        "s.toml",
        levels_settings(
            r#"{ predicate = "null" }, { predicate = "exact" },
               { predicate = { jaro_winkler_at_least = 1.5 } }, { predicate = "else" },"#,
        ),
    );
    link_file(&wd, "data.csv", &[]).fails_with(&["s.toml", "comparison[0].levels[2]", "1.5"]);
    wd.assert_no_output("out");
}

#[test]
fn null_level_not_first() {
    let wd = small();
    wd.write(
        "s.toml",
        levels_settings(
            r#"{ predicate = "exact" }, { predicate = "null" },
               { predicate = { jaro_winkler_at_least = 0.9 } }, { predicate = "else" },"#,
        ),
    );
    link_file(&wd, "data.csv", &[]).fails_with(&["s.toml", "comparison[0].levels[1]", "null"]);
    wd.assert_no_output("out");
}

#[test]
fn last_level_not_else() {
    let wd = small();
    wd.write(
        "s.toml",
        levels_settings(
            r#"{ predicate = "null" }, { predicate = "exact" },
               { predicate = { jaro_winkler_at_least = 0.9 } },"#,
        ),
    );
    link_file(&wd, "data.csv", &[]).fails_with(&["s.toml", "comparison[0].levels[2]", "else"]);
    wd.assert_no_output("out");
}

/// Writes `model.json`: a fitted model for the small data with `m` missing on
/// `comparison[0].levels[1]`, and `full.json`, the same model with that `m` present.
fn write_models(wd: &Workdir) {
    let level = |p: serde_json::Value, m: Option<f64>, u: f64| {
        let mut v = serde_json::json!({ "predicate": p, "u": u });
        if let Some(m) = m {
            v["m"] = m.into();
        }
        v
    };
    let model = serde_json::json!({
        "link_type": "dedupe",
        "unique_id": "id",
        "truth": "entity",
        "lambda": 0.2,
        "blocking": [{ "keys": ["surname"] }],
        "comparison": [
            { "column": "given", "levels": [
                { "predicate": "null" },
                level("exact".into(), None, 0.1),
                level(serde_json::json!({ "jaro_winkler_at_least": 0.9 }), Some(0.2), 0.1),
                level("else".into(), Some(0.1), 0.8),
            ]},
            { "column": "surname", "levels": [
                { "predicate": "null" },
                level("exact".into(), Some(0.9), 0.2),
                level("else".into(), Some(0.1), 0.8),
            ]},
        ],
    });
    wd.write("model.json", serde_json::to_string_pretty(&model).unwrap());
    let mut full = model.clone();
    full["comparison"][0]["levels"][1]["m"] = 0.7.into();
    wd.write("full.json", serde_json::to_string_pretty(&full).unwrap());
}

#[test]
fn model_json_missing_m() {
    let wd = small();
    write_models(&wd);
    // The same model with m present is accepted (so the failure below is about m alone).
    wd.run(&[
        "predict",
        "-i",
        "data.csv",
        "--model",
        "full.json",
        "--out",
        "ok",
        "-q",
    ])
    .ok();
    assert!(wd.exists("ok/pairs.csv"));

    wd.run(&[
        "predict",
        "-i",
        "data.csv",
        "--model",
        "model.json",
        "--out",
        "out",
        "-q",
    ])
    .fails_with(&["comparison[0].levels[1].m"]);
    wd.assert_no_output("out");
}

#[test]
fn model_json_missing_m_names_the_file() {
    let wd = small();
    write_models(&wd);
    wd.run(&[
        "predict",
        "-i",
        "data.csv",
        "--model",
        "model.json",
        "--out",
        "out",
        "-q",
    ])
    .fails_with(&["model.json", "comparison[0].levels[1].m"]);
    wd.assert_no_output("out");
}

#[test]
fn link_type_link_with_one_input() {
    let wd = small();
    wd.write(
        "s.toml",
        settings_with("link_type = \"dedupe\"", "link_type = \"link\""),
    );
    link_file(&wd, "data.csv", &[]).fails_with(&["link_type", "link"]);
    wd.assert_no_output("out");
}

#[test]
fn unknown_dataset_lists_known_ones() {
    let wd = Workdir::new();
    let r = wd.run(&["link", "--dataset", "nosuch", "--out", "out", "-q"]);
    r.fails_with(&["nosuch"]);
    let reg: toml::Value =
        toml::from_str(&std::fs::read_to_string(repo("datasets/registry.toml")).unwrap()).unwrap();
    let names: Vec<&str> = reg["dataset"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert!(names.len() >= 4);
    for n in names {
        assert!(
            r.stderr.contains(n),
            "known dataset {n} not listed: {}",
            r.stderr
        );
    }
    wd.assert_no_output("out");
}

// ---------------------------------------------------------------------------------------------
// Flags

#[test]
fn threshold_above_one() {
    let wd = small();
    link_file(&wd, "data.csv", &["--threshold", "1.5"]).fails_with(&["--threshold", "1.5"]);
    wd.assert_no_output("out");
    wd.run(&["cluster", "--pairs", "nosuch.csv", "--threshold", "1.5"])
        .fails_with(&["--threshold", "1.5"]);
}

#[test]
fn min_probability_below_zero() {
    let wd = small();
    link_file(&wd, "data.csv", &["--min-probability=-0.1"])
        .fails_with(&["--min-probability", "-0.1"]);
    wd.assert_no_output("out");
    wd.run(&[
        "predict",
        "-i",
        "data.csv",
        "--model",
        "nosuch.json",
        "--out",
        "out",
        "--min-probability=-0.1",
    ])
    .fails_with(&["--min-probability", "-0.1"]);
    wd.assert_no_output("out");
}

#[test]
fn min_probability_below_zero_as_separate_argument() {
    let wd = small();
    link_file(&wd, "data.csv", &["--min-probability", "-0.1"])
        .fails_with(&["--min-probability", "-0.1"]);
    wd.assert_no_output("out");
}

#[test]
fn min_probability_above_threshold() {
    let wd = small();
    link_file(
        &wd,
        "data.csv",
        &["--min-probability", "0.6", "--threshold", "0.5"],
    )
    .fails_with(&["--min-probability", "--threshold", "0.6", "0.5"]);
    wd.assert_no_output("out");
}

/// Issue 15: `--seed -1` is reported as an invalid seed, not as an unknown flag.
#[test]
fn negative_seed_is_an_invalid_value() {
    let wd = small();
    link_file(&wd, "data.csv", &["--seed", "-1"]).fails_with(&["--seed", "-1", "invalid value"]);
    wd.assert_no_output("out");
}

/// Issue 15: `--fs-weights -5,5` is read as the option's value (and rejected for UPPER < LOWER),
/// not as a flag.
#[test]
fn negative_fs_weights_are_values() {
    let wd = small();
    link_file(&wd, "data.csv", &["--fs-weights", "-5,5"])
        .fails_with(&["--fs-weights takes UPPER,LOWER with UPPER >= LOWER"]);
    wd.assert_no_output("out");
    link_file(&wd, "data.csv", &["--fs-weights", "5,-5"]).ok();
}

/// Issue 15: the truth column is never a matching feature: comparing it is a settings error that
/// names the comparison and the fix.
#[test]
fn truth_column_as_comparison() {
    let wd = small();
    wd.write(
        "s.toml",
        settings_with("column = \"surname\"", "column = \"entity\""),
    );
    link_file(&wd, "data.csv", &[]).fails_with(&[
        "comparison[1].column",
        "truth column",
        "truth = \"\"",
    ]);
    wd.assert_no_output("out");
}

/// Issue 15: an unclosed quote is named as such, on the line where it opens.
#[test]
fn unclosed_quote_is_named() {
    let wd = small();
    wd.write(
        "bad.csv",
        "id,entity,given,surname\n1,a,\"john,smith\n2,a,jon,smith\n3,b,mary,jones\n",
    );
    link_file(&wd, "bad.csv", &[]).fails_with(&["bad.csv:2", "never closed"]);
    wd.assert_no_output("out");
}

/// Issue 15: a misspelt field of a derived key names the field, not the untagged enum.
#[test]
fn misspelt_derived_key_field_is_named() {
    let wd = small();
    wd.write(
        "s.toml",
        settings_with(
            "keys = [\"surname\"]",
            "keys = [{ column = \"surname\", prefx = 2 }]",
        ),
    );
    let r = link_file(&wd, "data.csv", &[]);
    r.fails_with(&["s.toml", "prefx", "prefix"]);
    assert!(!r.stderr.contains("untagged"), "{}", r.stderr);
    wd.write(
        "s.toml",
        settings_with(
            "keys = [\"surname\"]",
            "keys = [{ column = \"surname\", encode = \"soundx\" }]",
        ),
    );
    link_file(&wd, "data.csv", &[]).fails_with(&["s.toml", "soundx", "soundex"]);
}

/// Issue 15: `--out` naming an existing file says that --out is a folder.
#[test]
fn out_naming_a_file() {
    let wd = small();
    wd.write("out", "not a folder");
    link_file(&wd, "data.csv", &[]).fails_with(&["out", "not a folder", "--out"]);
    assert_eq!(wd.read("out"), "not a folder");
}

/// Issue 15: settings that are not UTF-8 get the line and column, not an I/O error.
#[test]
fn settings_not_utf8_names_the_line() {
    let wd = small();
    let mut bytes = SMALL_SETTINGS.as_bytes().to_vec();
    let at = SMALL_SETTINGS.find("[[blocking]]").unwrap();
    bytes.splice(at..at, b"# caf\xe9\n".iter().copied());
    wd.write("s.toml", &bytes);
    let line = SMALL_SETTINGS[..at].matches('\n').count() + 1;
    link_file(&wd, "data.csv", &[]).fails_with(&[
        "s.toml",
        &format!("line {line}, column 6"),
        "UTF-8",
    ]);
    wd.assert_no_output("out");
}

/// Issue 15: a file whose first line is data says the header row may be missing.
#[test]
fn missing_header_row_is_suggested() {
    let wd = small();
    wd.write("nohead.csv", "1,a,,smith\n2,a,jon,smith\n");
    link_file(&wd, "nohead.csv", &[]).fails_with(&[
        "nohead.csv:1",
        "header field 3 is empty",
        "header row missing",
    ]);
    wd.assert_no_output("out");
}

/// Issue 15: an over-long value in a compared column is an error naming the file, line, column
/// and limit (one such value used to stall an exhaustive run for minutes); the limit itself and
/// long values in columns no comparison reads are accepted.
#[test]
fn over_long_compared_value_names_line_and_column() {
    let wd = small();
    let limit = fellegi::data::MAX_COMPARED_CHARS;
    let row = |given: &str| {
        format!("id,entity,given,surname\n1,a,john,smith\n2,a,{given},smith\n3,b,mary,jones\n")
    };
    wd.write("long.csv", row(&"é".repeat(limit + 1)));
    link_file(&wd, "long.csv", &[]).fails_with(&[
        "long.csv:3",
        "`given`",
        "comparison[0].column",
        &format!("{}-character limit", limit),
    ]);
    wd.assert_no_output("out");
    link_file(&wd, "long.csv", &["--exhaustive"]).fails_with(&["long.csv:3", "`given`"]);
    wd.write("ok.csv", row(&"é".repeat(limit)));
    link_file(&wd, "ok.csv", &[]).ok();
    wd.write(
        "notes.csv",
        format!(
            "id,entity,given,surname,notes\n1,a,john,smith,{}\n2,a,jon,smith,x\n",
            "n".repeat(50 * limit)
        ),
    );
    wd.run(&[
        "link",
        "-i",
        "notes.csv",
        "--settings",
        "s.toml",
        "--out",
        "out2",
        "-q",
    ])
    .ok();
}

#[test]
fn threads_zero() {
    let wd = small();
    link_file(&wd, "data.csv", &["--threads", "0"]).fails_with(&["--threads"]);
    wd.assert_no_output("out");
    wd.run(&[
        "train",
        "-i",
        "data.csv",
        "--settings",
        "s.toml",
        "--out",
        "out",
        "--threads",
        "0",
    ])
    .fails_with(&["--threads"]);
    wd.assert_no_output("out");
}

#[test]
fn good_small_input_succeeds() {
    // The control for every test above: the same folder, settings and command line work.
    let wd = small();
    let r = link_file(&wd, "data.csv", &[]);
    r.ok();
    for f in ["pairs.csv", "model.json", "metrics.json", "clusters.csv"] {
        assert!(wd.exists(&format!("out/{f}")), "{f} missing");
    }
}

/// A closed stdout (`fellegi ... | head`) ends the output quietly with exit code 0, never a
/// panic (found while running `fellegi experiment status | head`).
#[test]
fn closed_stdout_exits_zero_without_a_panic() {
    use std::process::{Command, Stdio};
    for args in [&["experiment", "status"][..], &["datasets", "list"][..]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fellegi"))
            .args(args)
            .env_remove("FELLEGI_DATA")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the read end at once, usually before the first line is written.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    }
}
