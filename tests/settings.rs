//! Settings: builder expansion, validation errors naming their key path, TOML round trip.

use fellegi::settings::{Algorithm, Predicate, Settings};

const BASE: &str = r#"
link_type = "link"
[[blocking]]
keys = ["surname"]
"#;

fn parse(extra: &str) -> Result<Settings, String> {
    Settings::from_toml(&format!("{BASE}{extra}"), "test.toml").map_err(|e| e.to_string())
}

fn err(extra: &str) -> String {
    parse(extra).expect_err("settings should be rejected")
}

#[test]
fn builders_expand_like_splink_comparison_library() {
    let s = parse(
        r#"
[[comparison]]
column = "given_name"
use = "jaro_winkler_at_thresholds"
thresholds = [0.9, 0.8]
[[comparison]]
column = "dob"
use = "date_difference_at_thresholds"
date_format = "%Y-%m-%d"
thresholds = [30, 365]
[[comparison]]
column = "postcode"
use = "exact_match"
"#,
    )
    .unwrap();
    let e = s.expanded("t").unwrap();
    let preds = |i: usize| {
        e.comparisons[i]
            .levels
            .iter()
            .map(|l| l.predicate.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        preds(0),
        vec![
            Predicate::Null,
            Predicate::Exact,
            Predicate::JaroWinklerAtLeast(0.9),
            Predicate::JaroWinklerAtLeast(0.8),
            Predicate::Else
        ]
    );
    assert_eq!(
        preds(1),
        vec![
            Predicate::Null,
            Predicate::Exact,
            Predicate::DateDiffDaysAtMost(30),
            Predicate::DateDiffDaysAtMost(365),
            Predicate::Else
        ]
    );
    assert_eq!(
        preds(2),
        vec![Predicate::Null, Predicate::Exact, Predicate::Else]
    );
    assert!(
        e.comparisons
            .iter()
            .all(|c| c.builder.is_none() && c.thresholds.is_none())
    );
    // The expanded TOML parses back to the same settings.
    let again = Settings::from_toml(&e.to_toml(), "expanded").unwrap();
    assert_eq!(again.to_toml(), e.to_toml());
}

#[test]
fn explicit_levels_and_phonetic_predicates_parse() {
    let s = parse(
        r#"
[[comparison]]
column = "surname"
levels = [
  { predicate = "null" },
  { predicate = "exact", m = 0.9, fix_m = true },
  { predicate = { phonetic_match = "double_metaphone" } },
  { predicate = { levenshtein_at_most = 2 } },
  { predicate = "else" },
]
"#,
    )
    .unwrap();
    let l = &s.comparisons[0].levels;
    assert_eq!(
        l[2].predicate,
        Predicate::PhoneticMatch(fellegi::clean::PhoneticEncoder::DoubleMetaphone)
    );
    assert!(l[1].fix_m && l[1].m == Some(0.9));
}

/// Issue 15: a builder that expands past 16 levels is rejected at validation, naming the
/// comparison's thresholds and the level count (it used to pass and panic in `link`).
#[test]
fn builders_are_held_to_the_level_limit() {
    let ts = |n: usize| {
        (0..n)
            .map(|i| format!("{:.2}", 0.99 - 0.01 * i as f64))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let comparison = |n: usize| {
        format!(
            "[[comparison]]\ncolumn = \"x\"\nuse = \"jaro_winkler_at_thresholds\"\nthresholds = [{}]\n",
            ts(n)
        )
    };
    let s = parse(&comparison(13)).expect("13 thresholds make 16 levels");
    assert_eq!(s.expanded("t").unwrap().comparisons[0].levels.len(), 16);
    let e = err(&comparison(14));
    assert!(
        e.contains("comparison[0].thresholds")
            && e.contains("17 levels")
            && e.contains("at most 13"),
        "{e}"
    );
}

#[test]
fn each_error_names_its_key() {
    let cases: &[(&str, &str)] = &[
        ("[[comparison]]\ncolum = \"x\"\n", "colum"),
        (
            "[[comparison]]\ncolumn = \"x\"\nuse = \"jaro_winkler_at_thresholds\"\n",
            "comparison[0].thresholds",
        ),
        (
            "[[comparison]]\ncolumn = \"x\"\nuse = \"jaro_winkler_at_thresholds\"\nthresholds = [1.5]\n",
            "comparison[0].thresholds[0]",
        ),
        (
            "[[comparison]]\ncolumn = \"x\"\nuse = \"levenshtein_at_thresholds\"\nthresholds = [1.5]\n",
            "comparison[0].thresholds[0]",
        ),
        (
            "[[comparison]]\ncolumn = \"x\"\nuse = \"no_such_builder\"\nthresholds = [1]\n",
            "no_such_builder",
        ),
        ("[[comparison]]\ncolumn = \"x\"\n", "comparison[0]"),
        (
            "[[comparison]]\ncolumn = \"x\"\nlevels = [{ predicate = \"exact\" }, { predicate = \"null\" }, { predicate = \"else\" }]\n",
            "comparison[0].levels[1].predicate",
        ),
        (
            "[[comparison]]\ncolumn = \"x\"\nlevels = [{ predicate = \"exact\" }, { predicate = { jaro_winkler_at_least = 0.9 } }]\n",
            "comparison[0].levels[1]",
        ),
        (
            "[[comparison]]\ncolumn = \"x\"\nlevels = [{ predicate = \"exact\" }, { predicate = { jaro_at_least = 1.5 } }, { predicate = \"else\" }]\n",
            "comparison[0].levels[1].predicate",
        ),
        (
            "[[comparison]]\ncolumn = \"x\"\nlevels = [{ predicate = \"exact\", fix_u = true }, { predicate = \"else\" }]\n",
            "comparison[0].levels[0].fix_u",
        ),
        (
            "[[comparison]]\ncolumn = \"x\"\nuse = \"date_difference_at_thresholds\"\nthresholds = [1]\n",
            "comparison[0].date_format",
        ),
        (
            "[[comparison]]\ncolumn = \"x\"\nuse = \"exact_match\"\ndate_format = \"%Y/%d\"\n",
            "comparison[0].date_format",
        ),
        (
            "[training]\nlambda = 1.5\n[[comparison]]\ncolumn = \"x\"\nuse = \"exact_match\"\n",
            "training.lambda",
        ),
        (
            "[training]\nlambda = { deterministic_rules = [[\"x\"]], recall = 0 }\n[[comparison]]\ncolumn = \"x\"\nuse = \"exact_match\"\n",
            "training.lambda.recall",
        ),
        (
            "[training]\nmax_iteration = 3\n[[comparison]]\ncolumn = \"x\"\nuse = \"exact_match\"\n",
            "max_iteration",
        ),
        (
            "[[comparison]]\ncolumn = \"x\"\nuse = \"exact_match\"\n[[comparison]]\ncolumn = \"x\"\nuse = \"exact_match\"\n",
            "comparison[1].name",
        ),
    ];
    for (extra, key) in cases {
        let e = err(extra);
        assert!(
            e.contains(key),
            "error for {extra:?} should name `{key}`: {e}"
        );
        assert!(e.contains("test.toml"), "error should name the file: {e}");
    }
}

#[test]
fn empty_comparisons_rejected() {
    assert!(err("").contains("comparison"));
}

const AS207: &str = r#"
[training]
algorithm = "as207"
u = { random_pairs = 0 }
"#;

const BINARY: &str = r#"
[[comparison]]
column = "x"
levels = [{ predicate = "exact", m = 0.9, u = 0.1 }, { predicate = "else" }]
"#;

#[test]
fn training_algorithm_and_lambda_start_default_and_round_trip() {
    let s = parse(BINARY).unwrap();
    assert_eq!(s.training.algorithm, Algorithm::Em);
    assert_eq!(s.training.lambda_start, None);
    // Defaults are not written, so existing model.json files keep their bytes.
    let json = serde_json::to_string(&s).unwrap();
    assert!(
        !json.contains("algorithm") && !json.contains("lambda_start"),
        "{json}"
    );
    assert!(!s.to_toml().contains("algorithm"));

    let s = parse(&format!(
        "[training]\nalgorithm = \"as207\"\nu = {{ random_pairs = 0 }}\nlambda_start = 0.004\n{BINARY}"
    ))
    .unwrap();
    assert_eq!(s.training.algorithm, Algorithm::As207);
    assert_eq!(s.training.lambda_start, Some(0.004));
    let json = serde_json::to_string(&s).unwrap();
    assert!(json.contains("\"algorithm\":\"as207\"") && json.contains("\"lambda_start\":0.004"));
    let back = Settings::from_json(&json, "model.json").unwrap();
    assert_eq!(back.training.algorithm, Algorithm::As207);
    assert_eq!(back.training.lambda_start, Some(0.004));
    let back = Settings::from_toml(&s.to_toml(), "round.toml").unwrap();
    assert_eq!(back.training.algorithm, Algorithm::As207);
}

#[test]
fn training_prior_round_trips() {
    let s = parse(&format!(
        "[training]\nprior = {{ lambda = [2, 1000], m = 3 }}\n{BINARY}"
    ))
    .unwrap();
    let p = s.training.prior.unwrap();
    assert_eq!(p.lambda, Some([2.0, 1000.0]));
    assert_eq!((p.m, p.u), (3.0, 1.0));
    let json = serde_json::to_string(&s).unwrap();
    assert!(
        json.contains("\"prior\":{\"lambda\":[2.0,1000.0],\"m\":3.0}"),
        "{json}"
    );
    let back = Settings::from_json(&json, "model.json").unwrap();
    assert_eq!(back.training.prior, Some(p));
    let back = Settings::from_toml(&s.to_toml(), "round.toml").unwrap();
    assert_eq!(back.training.prior, Some(p));
    // No prior: nothing written.
    let s = parse(BINARY).unwrap();
    assert!(!serde_json::to_string(&s).unwrap().contains("prior"));
}

#[test]
fn training_algorithm_errors_name_their_key() {
    let wide: String = (0..22)
        .map(|i| {
            format!(
                "[[comparison]]\ncolumn = \"c{i}\"\nlevels = [{{ predicate = \"exact\" }}, {{ predicate = \"else\" }}]\n"
            )
        })
        .collect();
    let cases: Vec<(String, &str, &str)> = vec![
        (
            format!("[training]\nlambda_start = 0\n{BINARY}"),
            "training.lambda_start",
            "(0, 1)",
        ),
        (
            format!("[training]\nlambda_start = 1.5\n{BINARY}"),
            "training.lambda_start",
            "(0, 1)",
        ),
        (
            format!("[training]\nalgorithm = \"gibbs\"\n{BINARY}"),
            "gibbs",
            "as207",
        ),
        (
            format!("[training]\nalgorithm = \"as207\"\n{BINARY}"),
            "training.u.random_pairs",
            "random_pairs = 0",
        ),
        (
            format!("{AS207}em = [{{ blocking = [\"x\"] }}]\n{BINARY}"),
            "training.em[0].blocking",
            "remove `blocking`",
        ),
        (
            format!("{AS207}em = [{{ fix_u = true }}]\n{BINARY}"),
            "training.em[0].fix_u",
            "fix_u = true",
        ),
        (
            format!("{AS207}[[comparison]]\ncolumn = \"x\"\nuse = \"exact_match\"\n"),
            "comparison[0].use",
            "without a null level",
        ),
        (
            format!(
                "{AS207}[[comparison]]\ncolumn = \"x\"\nlevels = [{{ predicate = \"null\" }}, {{ predicate = \"exact\" }}, {{ predicate = \"else\" }}]\n"
            ),
            "comparison[0].levels[0].predicate",
            "drop the null level",
        ),
        (
            format!(
                "{AS207}[[comparison]]\ncolumn = \"x\"\nlevels = [{{ predicate = \"exact\", m = 0.9, fix_m = true }}, {{ predicate = \"else\" }}]\n"
            ),
            "comparison[0].levels[0].fix_m",
            "remove `fix_m`",
        ),
        (format!("{AS207}{wide}"), "`comparison`", "8388608 cells"),
        (
            format!("{AS207}prior = {{ lambda = [2, 100] }}\n{BINARY}"),
            "training.prior",
            "plain EM",
        ),
        (
            format!("[training]\nprior = {{ lambda = [0.5, 100] }}\n{BINARY}"),
            "training.prior.lambda",
            ">= 1",
        ),
        (
            format!("[training]\nprior = {{ m = 0 }}\n{BINARY}"),
            "training.prior.m",
            ">= 1",
        ),
        (
            format!("[training]\nprior = {{ u = nan }}\n{BINARY}"),
            "training.prior.u",
            ">= 1",
        ),
        (
            format!("[training]\nprior = {{ lamda = [2, 3] }}\n{BINARY}"),
            "lamda",
            "lambda",
        ),
    ];
    for (extra, key, fix) in &cases {
        let e = err(extra);
        assert!(
            e.contains(key),
            "error for {extra:?} should name `{key}`: {e}"
        );
        assert!(
            e.contains(fix),
            "error for {extra:?} should say {fix:?}: {e}"
        );
    }
    // Plain EM takes the same plans.
    parse(
        r#"
[training]
em = [{ blocking = ["x"] }]
[[comparison]]
column = "x"
use = "exact_match"
"#,
    )
    .unwrap();
}
