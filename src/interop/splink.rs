//! Splink 5 settings and trained models, to and from fellegi [`Settings`].
//!
//! Splink (Linacre et al., Ministry of Justice, <https://github.com/moj-analytical-services/splink>)
//! describes a model as JSON: `link_type`, `unique_id_column_name`,
//! `probability_two_random_records_match` (λ), `blocking_rules_to_generate_predictions` (SQL) and
//! `comparisons`, each an ordered list of levels with a `sql_condition`, `label_for_charts`,
//! `is_null_level` and, once trained, `m_probability` and `u_probability`. fellegi holds the same
//! model with typed predicates ([`Predicate`]) instead of SQL, so this module reads the SQL that
//! Splink's `comparison_level_library` writes (DuckDB dialect) and writes SQL of the same forms.
//!
//! # What maps
//!
//! | fellegi predicate | Splink `sql_condition` (DuckDB) |
//! |---|---|
//! | `null` | `"c_l" IS NULL OR "c_r" IS NULL` (with `is_null_level`) |
//! | `exact` | `"c_l" = "c_r"` |
//! | `jaro_winkler_at_least(t)` | `jaro_winkler_similarity("c_l", "c_r") >= t` |
//! | `jaro_at_least(t)` | `jaro_similarity("c_l", "c_r") >= t` |
//! | `levenshtein_at_most(k)` | `levenshtein("c_l", "c_r") <= k` |
//! | `damerau_levenshtein_at_most(k)`, k ≤ 1 | `damerau_levenshtein("c_l", "c_r") <= k` |
//! | `jaccard_at_least(t)` with `q = 1` | `jaccard("c_l", "c_r") >= t` |
//! | `abs_diff_at_most(d)` | `ABS(TRY_CAST("c_l" AS DOUBLE) - TRY_CAST("c_r" AS DOUBLE)) <= d` |
//! | `rel_diff_at_most(r)` | `(x = 0 AND y = 0) OR ABS(x - y) / GREATEST(ABS(x), ABS(y)) <= r` (x, y as above) |
//! | `date_diff_days_at_most(d)` | `ABS(EPOCH(try_strptime("c_l", 'fmt')) - EPOCH(try_strptime("c_r", 'fmt'))) <= d·86400` |
//! | `else` | `ELSE` |
//!
//! Reading, the parser also takes the equivalent spellings Splink and hand-written settings use:
//! `l."c"`/`r."c"` prefixes or `c_l`/`c_r` suffixes, quoted or bare, any letter case, operands
//! in either order, `<` for distances (`< k` is `<= k − 1`), `ABS("c_l" - "c_r")` on numeric
//! columns, dates as `DATE` columns (`EPOCH("c_l")`, read as `%Y-%m-%d` text) and date levels in
//! months or years (Splink writes seconds; a whole-day difference within `s` seconds is within
//! ⌊s / 86,400⌋ days). Blocking rules map as conjunctions of equalities, `l."a" = r."a"` (what
//! Splink's `block_on` writes) or `SUBSTRING(l."a", 1, k) = SUBSTRING(r."a", 1, k)` (fellegi's
//! prefix keys); no rules means all pairs, fellegi's `exhaustive = true`.
//!
//! # What does not map, and why
//!
//! Each is an [`Error::Settings`] naming the comparison, the level, its SQL and what is supported:
//! term-frequency adjustments on another column than the compared one (fellegi's adjust a
//! comparison by the frequencies of its own column; `tf_adjustment_column` on the compared
//! column maps to `term_frequency_adjustments`), levels on more than one
//! column or on expressions of a column, phonetic levels and keys (DuckDB has no phonetic
//! functions), Splink's `PercentageDifferenceLevel` (`|a − b| / max(a, b) < p` with signed max and
//! strict `<`, unlike fellegi's `|a − b| / max(|a|, |b|) ≤ r`), Damerau–Levenshtein thresholds of 2
//! or more (DuckDB's `damerau_levenshtein` is the unrestricted distance, fellegi's the optimal
//! string alignment distance; they agree up to 1 and can differ from 2 on: `ca`/`abc` is 2 and 3),
//! Jaccard with `q` other than 1 (DuckDB's `jaccard` compares sets of single characters), a
//! non-default Jaro–Winkler variant (DuckDB's is Winkler's: scale 0.1, prefix 4, boost above
//! 0.7), column transforms (Splink settings have none: clean the data before loading it) and
//! date formats other than fellegi's four.
//!
//! # Semantics that agree, and the edges where they do not
//!
//! fellegi's missing value is an empty field; Splink's is SQL `NULL`, so load the CSVs into
//! Splink with empty strings as `NULL` (pandas: `keep_default_na=False` then
//! `.replace("", None)`). DuckDB's `jaro_winkler_similarity`, `jaro_similarity`, `levenshtein`
//! and `damerau_levenshtein` work on characters, as fellegi's do, and give the same values
//! (MARTHA/MARHTA 0.9611, DWAYNE/DUANE 0.84, DIXON/DICKSONX 0.8133; no boost below Jaro 0.7). The
//! weights are the same formula, `log2(λ/(1−λ)) + Σ log2(m/u)`, with null levels at 0. At the
//! edges they differ: Splink's date null level `try_strptime(...) IS NULL` also catches present
//! values that do not parse as dates, which fellegi's null level (an empty field) does not;
//! DuckDB's `strptime` accepts some strings fellegi's stricter date reader refuses (`1990101`
//! with `%Y%m%d`); `TRY_CAST(... AS DOUBLE)` reads `1_000`, fellegi does not; and m or u below
//! fellegi's floor [`PROB_FLOOR`] (1e-12) gives different weights, as Splink clamps them at
//! 1e-300 instead (exported m and u are floored at 1e-12, so Splink computes fellegi's weights;
//! an imported Splink model with such values is scored with fellegi's floor). Splink stores
//! `level not observed in training dataset` for a level never seen; it reads as 1e-6, as Splink
//! does. The training plan (`[training]`) has no place in Splink's JSON (Splink trains through
//! API calls), so exporting drops it and importing gives fellegi's default plan; importing maps
//! `em_convergence` and `max_iterations` to the plan's `tolerance` and `max_iterations`.
//!
//! # References
//! R. Linacre, S. Lindsay, T. Manassis, Z. Slade, T. Hepworth, R. Kennedy and A. Bond, "Splink:
//! Free software for probabilistic record linkage at scale", International Journal of Population
//! Data Science 7(3), 2022. Splink 5.0.0 `comparison_level_library.py`, `settings.py`.

use serde::Serialize;
use serde_json::{Map, Value};

use super::sql::{self, Expr, Op, Side};
use crate::block::{BlockingRule, DerivedKey, KeySpec};
use crate::compare::{ComparisonSpec, JwConfig, LevelSpec, Predicate};
use crate::data::LinkType;
use crate::error::{Error, Result};
use crate::model::PROB_FLOOR;
use crate::model::plan::Training;
use crate::settings::Settings;

/// The value Splink reads for a level stored as `level not observed in training dataset`.
const NOT_OBSERVED: f64 = 1e-6;
/// Splink's text for a level never seen in training.
const NOT_OBSERVED_TEXT: &str = "level not observed in training dataset";
/// Splink's default `probability_two_random_records_match`, also fellegi's default starting λ.
const SPLINK_DEFAULT_LAMBDA: f64 = 1e-4;
/// Seconds in a day (Splink's date levels are in seconds).
const DAY_SECONDS: f64 = 86_400.0;
/// fellegi's date formats, which are also DuckDB `strptime` formats.
const DATE_FORMATS: [&str; 4] = ["%Y%m%d", "%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y"];
/// The date format of DuckDB's `DATE` values as text.
const ISO_DATE: &str = "%Y-%m-%d";

/// The level forms this module reads, for error messages.
const SUPPORTED: &str = "supported levels: the null level (`\"c_l\" IS NULL OR \"c_r\" IS NULL`, also with try_strptime), exact (`\"c_l\" = \"c_r\"`), `jaro_winkler_similarity(\"c_l\", \"c_r\") >= t`, `jaro_similarity(...) >= t`, `levenshtein(...) <= k`, `damerau_levenshtein(...) <= k` with k <= 1, `jaccard(...) >= t`, `ABS(\"c_l\" - \"c_r\") <= d` (also with TRY_CAST(... AS DOUBLE)), fellegi's relative-difference form, date differences `ABS(EPOCH(try_strptime(\"c_l\", 'fmt')) - EPOCH(try_strptime(\"c_r\", 'fmt'))) <= seconds`, and ELSE";

/// Reads a Splink 5 settings JSON, or a trained model JSON (with `m_probability`,
/// `u_probability` and `probability_two_random_records_match`), as fellegi [`Settings`] with
/// every comparison's levels explicit. When every non-null level carries both m and u the result
/// is a fitted model (λ, m, u filled in) that `fellegi predict` can use; otherwise the m and u
/// given are starting values (fixed where `fix_m_probability`/`fix_u_probability` say so) and a
/// λ other than Splink's default 1e-4 becomes `training.lambda_start`. `origin` names the source
/// in errors (a file path). Defaults are Splink's: `link_type` `dedupe_only`,
/// `unique_id_column_name` `unique_id`, no blocking rules (all pairs: `exhaustive = true`).
/// `truth` is fellegi's default (`entity_id`) unless a comparison reads that column. See the
/// [module documentation](self) for the forms read and the edges where Splink and fellegi differ.
///
/// # Errors
/// [`Error::Parse`] if the text is not a JSON object; [`Error::Settings`] with the Splink key
/// path (e.g. `comparisons[2].comparison_levels[3].sql_condition`) for a level or blocking rule
/// with no fellegi counterpart (naming the comparison, the level and its SQL, and saying what is
/// supported), a bad value, or fellegi's own validation of the result.
///
/// # Examples
/// ```
/// let json = r#"{
///   "link_type": "link_only", "unique_id_column_name": "uid",
///   "blocking_rules_to_generate_predictions": ["l.\"surname\" = r.\"surname\""],
///   "comparisons": [{"output_column_name": "given_name", "comparison_levels": [
///     {"sql_condition": "\"given_name_l\" IS NULL OR \"given_name_r\" IS NULL", "is_null_level": true},
///     {"sql_condition": "\"given_name_l\" = \"given_name_r\""},
///     {"sql_condition": "jaro_winkler_similarity(\"given_name_l\", \"given_name_r\") >= 0.9"},
///     {"sql_condition": "ELSE"}]}]
/// }"#;
/// let s = fellegi::interop::splink::settings_from_splink(json, "example").unwrap();
/// assert_eq!(s.unique_id, "uid");
/// assert_eq!(s.comparisons[0].levels.len(), 4);
/// ```
pub fn settings_from_splink(json: &str, origin: &str) -> Result<Settings> {
    let v: Value = serde_json::from_str(json).map_err(|e| Error::Parse {
        origin: origin.to_string(),
        message: format!("{e}; expected a Splink settings or model JSON"),
    })?;
    let top = v.as_object().ok_or_else(|| Error::Parse {
        origin: origin.to_string(),
        message: "expected a JSON object (a Splink settings or model JSON)".into(),
    })?;
    let err = |key: &str, msg: String| Error::settings(origin, key, msg);

    let link_type = match top.get("link_type") {
        None => LinkType::Dedupe,
        Some(Value::String(s)) => match s.as_str() {
            "dedupe_only" => LinkType::Dedupe,
            "link_only" => LinkType::Link,
            "link_and_dedupe" => LinkType::LinkAndDedupe,
            other => {
                return Err(err(
                    "link_type",
                    format!(
                        "`{other}` is not a Splink link type; use dedupe_only, link_only or link_and_dedupe"
                    ),
                ));
            }
        },
        Some(other) => return Err(err("link_type", format!("{other} must be a string"))),
    };
    let unique_id = match top.get("unique_id_column_name") {
        None => "unique_id".to_string(),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(other) => {
            return Err(err(
                "unique_id_column_name",
                format!("{other} must be a non-empty column name"),
            ));
        }
    };
    let lambda = match top.get("probability_two_random_records_match") {
        None | Some(Value::Null) => None,
        Some(x) => match x.as_f64() {
            Some(l) if l > 0.0 && l < 1.0 => Some(l),
            _ => {
                return Err(err(
                    "probability_two_random_records_match",
                    format!("{x} must be a number in (0, 1)"),
                ));
            }
        },
    };
    let mut training = Training::default();
    if let Some(x) = top.get("em_convergence").filter(|x| !x.is_null()) {
        training.tolerance = x
            .as_f64()
            .filter(|t| *t > 0.0 && t.is_finite())
            .ok_or_else(|| err("em_convergence", format!("{x} must be a number > 0")))?;
    }
    if let Some(x) = top.get("max_iterations").filter(|x| !x.is_null()) {
        training.max_iterations = x
            .as_u64()
            .filter(|n| *n >= 1)
            .ok_or_else(|| err("max_iterations", format!("{x} must be a whole number >= 1")))?
            as usize;
    }

    let mut blocking = Vec::new();
    if let Some(rules) = top
        .get("blocking_rules_to_generate_predictions")
        .filter(|x| !x.is_null())
    {
        let rules = rules.as_array().ok_or_else(|| {
            err(
                "blocking_rules_to_generate_predictions",
                "must be a list of blocking rules".into(),
            )
        })?;
        for (i, r) in rules.iter().enumerate() {
            let key = format!("blocking_rules_to_generate_predictions[{i}]");
            blocking.push(blocking_rule_from_splink(origin, &key, r)?);
        }
    }

    let comps = top
        .get("comparisons")
        .and_then(Value::as_array)
        .ok_or_else(|| err("comparisons", "a list of comparisons is needed".into()))?;
    let mut comparisons = Vec::new();
    for (ci, c) in comps.iter().enumerate() {
        comparisons.push(comparison_from_splink(origin, ci, c)?);
    }

    let fitted = comparisons.iter().all(|c| {
        c.levels
            .iter()
            .all(|l| l.predicate == Predicate::Null || (l.m.is_some() && l.u.is_some()))
    });
    let lambda = if fitted {
        Some(lambda.ok_or_else(|| {
            err(
                "probability_two_random_records_match",
                "a trained model (m and u on every level) needs probability_two_random_records_match".into(),
            )
        })?)
    } else {
        if let Some(l) = lambda.filter(|l| *l != SPLINK_DEFAULT_LAMBDA) {
            training.lambda_start = Some(l);
        }
        None
    };
    let truth = Some("entity_id".to_string())
        .filter(|t| !comparisons.iter().any(|c: &ComparisonSpec| &c.column == t));
    let s = Settings {
        link_type,
        unique_id,
        truth,
        lambda,
        transforms: Vec::new(),
        exhaustive: blocking.is_empty(),
        blocking,
        training,
        comparisons,
        fit: None,
        inputs: Vec::new(),
        max_unparsed: None,
    };
    s.validate(origin)?;
    Ok(s)
}

/// A whole number of levels or days from a threshold `v` read with `op` (`<=` or `<`), for
/// values that are whole numbers: `x <= 1.5` is `x <= 1`, `x < 2` is `x <= 1`.
fn count_threshold(op: Op, v: f64) -> Option<u32> {
    if !(0.0..=1e9).contains(&v) {
        return None;
    }
    match op {
        Op::Le => Some(v.floor() as u32),
        Op::Lt if v > 0.0 => Some((v.ceil() - 1.0) as u32),
        _ => None,
    }
}

fn blocking_rule_from_splink(origin: &str, key: &str, r: &Value) -> Result<BlockingRule> {
    let (sql_text, sql_key) = match r {
        Value::String(s) => (s.as_str(), key.to_string()),
        Value::Object(o) => {
            if o.get("arrays_to_explode")
                .is_some_and(|a| a.as_array().is_some_and(|a| !a.is_empty()))
            {
                return Err(Error::settings(
                    origin,
                    format!("{key}.arrays_to_explode"),
                    "fellegi has no array columns; give blocking rules on plain columns",
                ));
            }
            match o.get("blocking_rule") {
                Some(Value::String(s)) => (s.as_str(), format!("{key}.blocking_rule")),
                _ => {
                    return Err(Error::settings(
                        origin,
                        format!("{key}.blocking_rule"),
                        "a blocking rule object needs a `blocking_rule` SQL string",
                    ));
                }
            }
        }
        other => {
            return Err(Error::settings(
                origin,
                key,
                format!(
                    "{other} is not a blocking rule (a SQL string or {{\"blocking_rule\": ...}})"
                ),
            ));
        }
    };
    let unsupported = |why: String| {
        Error::settings(
            origin,
            &sql_key,
            format!(
                "blocking rule `{sql_text}` has no fellegi counterpart: {why}; fellegi reads rules that are equalities joined by AND, each `l.\"col\" = r.\"col\"` or `SUBSTRING(l.\"col\", 1, k) = SUBSTRING(r.\"col\", 1, k)`"
            ),
        )
    };
    let e = sql::parse(sql_text).map_err(|m| unsupported(format!("cannot read it ({m})")))?;
    let mut keys = Vec::new();
    for c in sql::conjuncts(&e) {
        let Expr::Bin(Op::Eq, a, b) = c else {
            return Err(unsupported("a part is not an equality".into()));
        };
        let side_key = |x: &Expr| -> Option<(Side, KeySpec)> {
            match x {
                Expr::Col(s, c) => Some((*s, KeySpec::Column(c.clone()))),
                Expr::Call(f, args)
                    if matches!(f.as_str(), "substr" | "substring") && args.len() == 3 =>
                {
                    match (&args[0], &args[1], &args[2]) {
                        (Expr::Col(s, c), Expr::Num(start), Expr::Num(len))
                            if *start == 1.0 && *len >= 1.0 && len.fract() == 0.0 =>
                        {
                            Some((
                                *s,
                                KeySpec::Derived(DerivedKey {
                                    column: c.clone(),
                                    encode: None,
                                    prefix: Some(*len as usize),
                                }),
                            ))
                        }
                        _ => None,
                    }
                }
                Expr::Call(f, args) if f == "left" && args.len() == 2 => {
                    match (&args[0], &args[1]) {
                        (Expr::Col(s, c), Expr::Num(len)) if *len >= 1.0 && len.fract() == 0.0 => {
                            Some((
                                *s,
                                KeySpec::Derived(DerivedKey {
                                    column: c.clone(),
                                    encode: None,
                                    prefix: Some(*len as usize),
                                }),
                            ))
                        }
                        _ => None,
                    }
                }
                _ => None,
            }
        };
        match (side_key(a), side_key(b)) {
            (Some((sa, ka)), Some((sb, kb))) if sa != sb && ka == kb => keys.push(ka),
            (Some(_), Some(_)) => {
                return Err(unsupported(
                    "each equality must compare the same column (or prefix) of the left and the right record".into(),
                ));
            }
            _ => {
                return Err(unsupported(
                    "a side of an equality is neither a column nor a prefix of one".into(),
                ));
            }
        }
    }
    Ok(BlockingRule { keys })
}

/// One Splink level, read: its predicate, the column it reads, and the date format it implies.
struct ReadLevel {
    predicate: Predicate,
    column: Option<String>,
    date_format: Option<String>,
    q: Option<usize>,
}

fn comparison_from_splink(origin: &str, ci: usize, c: &Value) -> Result<ComparisonSpec> {
    let ckey = format!("comparisons[{ci}]");
    let obj = c
        .as_object()
        .ok_or_else(|| Error::settings(origin, &ckey, "a comparison must be a JSON object"))?;
    let out_name = match obj.get("output_column_name") {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    let levels_v = obj
        .get("comparison_levels")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            Error::settings(
                origin,
                format!("{ckey}.comparison_levels"),
                "a comparison needs a list of comparison_levels",
            )
        })?;
    let cname = out_name.clone().unwrap_or_else(|| format!("#{ci}"));
    let mut levels = Vec::new();
    let mut tf_minimum: Option<f64> = None;
    let mut column: Option<String> = None;
    let mut date_format: Option<String> = None;
    let mut null_date_format: Option<String> = None;
    let mut q: Option<usize> = None;
    let n = levels_v.len();
    for (li, lv) in levels_v.iter().enumerate() {
        let lkey = format!("{ckey}.comparison_levels[{li}]");
        let lo = lv.as_object().ok_or_else(|| {
            Error::settings(origin, &lkey, "a comparison level must be a JSON object")
        })?;
        let sql_text = match lo.get("sql_condition") {
            Some(Value::String(s)) => s.as_str(),
            _ => {
                return Err(Error::settings(
                    origin,
                    format!("{lkey}.sql_condition"),
                    "a comparison level needs a sql_condition string",
                ));
            }
        };
        let label = match lo.get("label_for_charts") {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        let shown = label.clone().unwrap_or_else(|| sql_text.to_string());
        let is_null = lo.get("is_null_level").and_then(Value::as_bool) == Some(true);
        let what = format!("comparison `{cname}`, level {li} (`{shown}`, SQL `{sql_text}`)");
        let mut tf_weight = None;
        if let Some(tf) = lo.get("tf_adjustment_column").filter(|x| !x.is_null()) {
            let w = lo
                .get("tf_adjustment_weight")
                .and_then(Value::as_f64)
                .unwrap_or(1.0);
            let own = tf.as_str().is_some_and(|t| {
                sql_text.contains(&format!("\"{t}_l\"")) || sql_text.contains(&format!("{t}_l"))
            });
            if w != 0.0 && own && (0.0..=1.0).contains(&w) {
                tf_weight = Some(w);
                if let Some(m) = lo.get("tf_minimum_u_value").and_then(Value::as_f64) {
                    if m > 0.0 {
                        tf_minimum = Some(m);
                    }
                }
            } else if w != 0.0 {
                return Err(Error::settings(
                    origin,
                    format!("{lkey}.tf_adjustment_column"),
                    format!(
                        "{what} has a term-frequency adjustment on {tf} with weight {w}; fellegi adjusts a comparison by the frequencies of its own column, with weights in [0, 1]: adjust on the compared column, or remove tf_adjustment_column (or set tf_adjustment_weight to 0)"
                    ),
                ));
            }
        }
        let read = read_level(sql_text, is_null).map_err(|why| {
            Error::settings(
                origin,
                format!("{lkey}.sql_condition"),
                format!("{what} has no fellegi counterpart: {why}; {SUPPORTED}"),
            )
        })?;
        if is_null && read.predicate != Predicate::Null {
            return Err(Error::settings(
                origin,
                format!("{lkey}.is_null_level"),
                format!(
                    "{what} is marked is_null_level but its SQL is not a null test; fellegi's null level is `\"c_l\" IS NULL OR \"c_r\" IS NULL`"
                ),
            ));
        }
        if read.predicate == Predicate::Null && li != 0 {
            return Err(Error::settings(
                origin,
                format!("{lkey}.sql_condition"),
                format!("{what}: the null level must come first in fellegi"),
            ));
        }
        if read.predicate == Predicate::Else && li + 1 != n {
            return Err(Error::settings(
                origin,
                format!("{lkey}.sql_condition"),
                format!("{what}: ELSE must be the last level"),
            ));
        }
        if let Some(col) = &read.column {
            match &column {
                None => column = Some(col.clone()),
                Some(c0) if c0 != col => {
                    return Err(Error::settings(
                        origin,
                        format!("{lkey}.sql_condition"),
                        format!(
                            "{what} reads column `{col}` but the comparison's other levels read `{c0}`; a fellegi comparison reads one column: split it into one comparison per column"
                        ),
                    ));
                }
                _ => {}
            }
        }
        if let Some(f) = &read.date_format {
            let slot = if read.predicate == Predicate::Null {
                &mut null_date_format
            } else {
                &mut date_format
            };
            match slot {
                None => *slot = Some(f.clone()),
                Some(f0) if f0 != f => {
                    return Err(Error::settings(
                        origin,
                        format!("{lkey}.sql_condition"),
                        format!(
                            "{what} reads dates as `{f}` but another level reads them as `{f0}`; use one date format per comparison"
                        ),
                    ));
                }
                _ => {}
            }
        }
        if read.q.is_some() {
            q = read.q;
        }
        let mut level = LevelSpec::new(read.predicate);
        level.label = label.filter(|l| *l != level.predicate.label());
        level.tf_adjustment_weight = tf_weight;
        if level.predicate != Predicate::Null {
            level.m = probability(origin, &lkey, "m_probability", lo)?;
            level.u = probability(origin, &lkey, "u_probability", lo)?;
            level.fix_m = lo.get("fix_m_probability").and_then(Value::as_bool) == Some(true);
            level.fix_u = lo.get("fix_u_probability").and_then(Value::as_bool) == Some(true);
            for (fixed, v, name) in [(level.fix_m, level.m, "m"), (level.fix_u, level.u, "u")] {
                if fixed && v.is_none() {
                    return Err(Error::settings(
                        origin,
                        format!("{lkey}.fix_{name}_probability"),
                        format!("{what} fixes {name}_probability without giving one"),
                    ));
                }
            }
        }
        levels.push(level);
    }
    if let (Some(f0), Some(f)) = (&null_date_format, &date_format) {
        if f0 != f {
            return Err(Error::settings(
                origin,
                format!("{ckey}.comparison_levels[0].sql_condition"),
                format!(
                    "comparison `{cname}`: the null level reads dates as `{f0}` but the date levels as `{f}`; use one date format"
                ),
            ));
        }
    }
    let column = column.or(out_name.clone()).ok_or_else(|| {
        Error::settings(
            origin,
            format!("{ckey}.output_column_name"),
            "no level names a column and there is no output_column_name",
        )
    })?;
    let name = out_name.filter(|o| *o != column);
    Ok(ComparisonSpec {
        column,
        name,
        builder: None,
        thresholds: None,
        date_format,
        q,
        jaro_winkler: None,
        term_frequency_adjustments: levels.iter().any(|l| l.tf_adjustment_weight.is_some()),
        levels,
        missing: Default::default(),
        tf: tf_minimum.map(|m| crate::compare::TfOptions {
            minimum: Some(m),
            ..Default::default()
        }),
    })
}

fn probability(
    origin: &str,
    lkey: &str,
    name: &str,
    lo: &Map<String, Value>,
) -> Result<Option<f64>> {
    match lo.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s == NOT_OBSERVED_TEXT => Ok(Some(NOT_OBSERVED)),
        Some(x) => match x.as_f64() {
            Some(p) if (0.0..=1.0).contains(&p) => Ok(Some(p)),
            _ => Err(Error::settings(
                origin,
                format!("{lkey}.{name}"),
                format!("{x} must be a probability in [0, 1] or \"{NOT_OBSERVED_TEXT}\""),
            )),
        },
    }
}

/// The two record sides of a binary expression, if they are the same column's left and right.
fn same_column(a: &Expr, b: &Expr) -> Option<String> {
    match (a, b) {
        (Expr::Col(sa, x), Expr::Col(sb, y)) if sa != sb && x == y => Some(x.clone()),
        _ => None,
    }
}

/// A numeric operand: a column, or a column cast to DOUBLE.
fn numeric_col(e: &Expr) -> Option<(Side, &str)> {
    match e {
        Expr::Col(s, c) => Some((*s, c)),
        Expr::Cast { expr, ty, .. } if matches!(ty.as_str(), "double" | "float8") => {
            match expr.as_ref() {
                Expr::Col(s, c) => Some((*s, c)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// A date operand: `try_strptime(col, 'fmt')` / `strptime(...)` (format given), or a `DATE`
/// column or cast (read as ISO text).
fn date_col(e: &Expr) -> Option<(Side, &str, String)> {
    match e {
        Expr::Col(s, c) => Some((*s, c, ISO_DATE.to_string())),
        Expr::Call(f, args)
            if matches!(f.as_str(), "try_strptime" | "strptime") && args.len() == 2 =>
        {
            match (&args[0], &args[1]) {
                (Expr::Col(s, c), Expr::Str(fmt)) => Some((*s, c, fmt.clone())),
                _ => None,
            }
        }
        Expr::Cast { expr, ty, .. } if matches!(ty.as_str(), "date" | "timestamp") => {
            match expr.as_ref() {
                Expr::Col(s, c) => Some((*s, c, ISO_DATE.to_string())),
                _ => None,
            }
        }
        _ => None,
    }
}

/// `EPOCH(date)` of a [`date_col`].
fn epoch_date(x: &Expr) -> Option<(Side, &str, String)> {
    match x {
        Expr::Call(g, a) if g == "epoch" && a.len() == 1 => date_col(&a[0]),
        _ => None,
    }
}

/// A [`numeric_col`] in the shape [`abs_diff_of`] takes.
fn numeric_unit(x: &Expr) -> Option<(Side, &str, ())> {
    numeric_col(x).map(|(s, c)| (s, c, ()))
}

/// `x = 0` for a [`numeric_col`] x.
fn zero_test(e: &Expr) -> Option<(Side, &str)> {
    match e {
        Expr::Bin(Op::Eq, x, n) if **n == Expr::Num(0.0) => numeric_col(x),
        _ => None,
    }
}

/// `ABS(x)` for a [`numeric_col`] x.
fn abs_of_numeric(e: &Expr) -> Option<(Side, &str)> {
    match e {
        Expr::Call(f, a) if f == "abs" && a.len() == 1 => numeric_col(&a[0]),
        _ => None,
    }
}

fn check_date_format(f: &str) -> std::result::Result<String, String> {
    if DATE_FORMATS.contains(&f) {
        Ok(f.to_string())
    } else {
        Err(format!(
            "date format `{f}` is not one of fellegi's ({})",
            DATE_FORMATS.join(", ")
        ))
    }
}

/// `abs(x - y)` with x, y the two sides of one column through `side`; returns the column and
/// what `side` returned for it.
fn abs_diff_of<'a, T>(
    e: &'a Expr,
    side: impl Fn(&'a Expr) -> Option<(Side, &'a str, T)>,
) -> Option<(String, T)> {
    let Expr::Call(f, args) = e else { return None };
    if f != "abs" || args.len() != 1 {
        return None;
    }
    let Expr::Bin(Op::Sub, a, b) = &args[0] else {
        return None;
    };
    let (sa, ca, ta) = side(a)?;
    let (sb, cb, _) = side(b)?;
    (sa != sb && ca == cb).then(|| (ca.to_string(), ta))
}

/// Reads one level's SQL; the error says why it has no counterpart.
fn read_level(sql_text: &str, is_null: bool) -> std::result::Result<ReadLevel, String> {
    let plain = |predicate: Predicate, column: Option<String>| ReadLevel {
        predicate,
        column,
        date_format: None,
        q: None,
    };
    if sql_text.trim().eq_ignore_ascii_case("else") {
        return Ok(plain(Predicate::Else, None));
    }
    let e = sql::parse(sql_text).map_err(|m| format!("cannot read the SQL ({m})"))?;
    // Null level: `x_l IS NULL OR x_r IS NULL`, x a column or try_strptime(column, fmt).
    if let Expr::Bin(Op::Or, a, b) = &e {
        if let (Expr::IsNull(x, false), Expr::IsNull(y, false)) = (a.as_ref(), b.as_ref()) {
            if !is_null {
                return Err("a null test without is_null_level: true (fellegi's null level contributes no evidence; mark it is_null_level)".into());
            }
            if let Some(c) = same_column(x, y) {
                return Ok(plain(Predicate::Null, Some(c)));
            }
            if let (Some((sa, ca, fa)), Some((sb, cb, fb))) = (date_col(x), date_col(y)) {
                if sa != sb && ca == cb && fa == fb {
                    return Ok(ReadLevel {
                        predicate: Predicate::Null,
                        column: Some(ca.to_string()),
                        date_format: Some(check_date_format(&fa)?),
                        q: None,
                    });
                }
            }
            return Err(
                "a null test that is not on the left and right values of one column".into(),
            );
        }
        // fellegi's relative difference: (x = 0 AND y = 0) OR ABS(x - y) / GREATEST(ABS(x), ABS(y)) <= r
        if let Some((c, r)) = rel_diff_form(a, b) {
            return Ok(plain(Predicate::RelDiffAtMost(r), Some(c)));
        }
    }
    if let Expr::Bin(op, a, b) = &e {
        // Exact match.
        if *op == Op::Eq {
            if let Some(c) = same_column(a, b) {
                return Ok(plain(Predicate::Exact, Some(c)));
            }
        }
        // Put the literal on the right.
        let (op, lhs, rhs) = match (a.as_ref(), b.as_ref()) {
            (Expr::Num(_), _) => (op.flipped(), b.as_ref(), a.as_ref()),
            _ => (*op, a.as_ref(), b.as_ref()),
        };
        if let Expr::Num(t) = rhs {
            let t = *t;
            if let Expr::Call(f, args) = lhs {
                if args.len() == 2 {
                    if let Some(c) = same_column(&args[0], &args[1]) {
                        let sim = |p: fn(f64) -> Predicate| {
                            if op != Op::Ge {
                                Err(format!(
                                    "`{f}` levels must be `>= t` (fellegi's similarity levels hold at or above t)"
                                ))
                            } else if !(t > 0.0 && t <= 1.0) {
                                Err(format!("threshold {t} must be in (0, 1]"))
                            } else {
                                Ok(p(t))
                            }
                        };
                        let dist = |p: fn(u32) -> Predicate| {
                            count_threshold(op, t).map(p).ok_or_else(|| {
                                format!("`{f}` levels must be `<= k` with k >= 0 (or `< k`)")
                            })
                        };
                        let mut q = None;
                        let predicate = match f.as_str() {
                            "jaro_winkler_similarity" => sim(Predicate::JaroWinklerAtLeast)?,
                            "jaro_similarity" => sim(Predicate::JaroAtLeast)?,
                            "jaccard" => {
                                q = Some(1);
                                sim(Predicate::JaccardAtLeast)?
                            }
                            "levenshtein" => dist(Predicate::LevenshteinAtMost)?,
                            "damerau_levenshtein" => {
                                let p = dist(Predicate::DamerauLevenshteinAtMost)?;
                                if p != Predicate::DamerauLevenshteinAtMost(0)
                                    && p != Predicate::DamerauLevenshteinAtMost(1)
                                {
                                    return Err("DuckDB's damerau_levenshtein is the unrestricted Damerau–Levenshtein distance and fellegi's the optimal string alignment distance; they agree for thresholds 0 and 1 only (`ca`/`abc`: 2 and 3), so use a threshold of 1 or levenshtein".into());
                                }
                                p
                            }
                            other => {
                                return Err(format!(
                                    "function `{other}` has no fellegi counterpart"
                                ));
                            }
                        };
                        return Ok(ReadLevel {
                            predicate,
                            column: Some(c),
                            date_format: None,
                            q,
                        });
                    }
                }
                if f == "abs" && args.len() == 1 {
                    // Dates: ABS(EPOCH(d_l) - EPOCH(d_r)) <= seconds.
                    if let Some((c, fmt)) = abs_diff_of(lhs, epoch_date) {
                        let days = if op == Op::Le && t >= 0.0 {
                            count_threshold(Op::Le, t / DAY_SECONDS)
                        } else {
                            None
                        }
                        .ok_or("date levels must be `<= seconds` with seconds >= 0")?;
                        return Ok(ReadLevel {
                            predicate: Predicate::DateDiffDaysAtMost(days),
                            column: Some(c),
                            date_format: Some(check_date_format(&fmt)?),
                            q: None,
                        });
                    }
                    // Dates: ABS(DATE_DIFF('day', d_l, d_r)) <= days.
                    if let Expr::Call(g, a) = &args[0] {
                        if matches!(g.as_str(), "date_diff" | "datediff") && a.len() == 3 {
                            if let (Expr::Str(unit), Some((sa, ca, fa)), Some((sb, cb, fb))) =
                                (&a[0], date_col(&a[1]), date_col(&a[2]))
                            {
                                if unit.eq_ignore_ascii_case("day")
                                    && sa != sb
                                    && ca == cb
                                    && fa == fb
                                {
                                    let days = count_threshold(op, t)
                                        .ok_or("date levels must be `<= days` with days >= 0")?;
                                    return Ok(ReadLevel {
                                        predicate: Predicate::DateDiffDaysAtMost(days),
                                        column: Some(ca.to_string()),
                                        date_format: Some(check_date_format(&fa)?),
                                        q: None,
                                    });
                                }
                            }
                        }
                    }
                    // Numbers: ABS(x_l - x_r) <= d.
                    if let Some((c, ())) = abs_diff_of(lhs, numeric_unit) {
                        if op != Op::Le || !(t.is_finite() && t >= 0.0) {
                            return Err(
                                "absolute-difference levels must be `<= d` with d >= 0".into()
                            );
                        }
                        return Ok(plain(Predicate::AbsDiffAtMost(t), Some(c)));
                    }
                }
            }
        }
    }
    if sql_text.to_ascii_lowercase().contains("case when") {
        return Err("Splink's PercentageDifferenceLevel (`|a - b| / max(a, b) < p`, signed max, strict <) differs from fellegi's rel_diff_at_most (`|a - b| / max(|a|, |b|) <= r`) for negative values and at the boundary; write it as fellegi's form `(TRY_CAST(\"c_l\" AS DOUBLE) = 0 AND TRY_CAST(\"c_r\" AS DOUBLE) = 0) OR ABS(TRY_CAST(\"c_l\" AS DOUBLE) - TRY_CAST(\"c_r\" AS DOUBLE)) / GREATEST(ABS(TRY_CAST(\"c_l\" AS DOUBLE)), ABS(TRY_CAST(\"c_r\" AS DOUBLE))) <= r`".into());
    }
    Err("the condition is not one of the level forms fellegi reads".into())
}

/// Matches fellegi's relative-difference SQL, the two sides of its top-level `OR`.
fn rel_diff_form(a: &Expr, b: &Expr) -> Option<(String, f64)> {
    // (x = 0 AND y = 0)
    let Expr::Bin(Op::And, z1, z2) = a else {
        return None;
    };
    let (s1, c1) = zero_test(z1)?;
    let (s2, c2) = zero_test(z2)?;
    if s1 == s2 || c1 != c2 {
        return None;
    }
    // ABS(x - y) / GREATEST(ABS(x), ABS(y)) <= r
    let Expr::Bin(Op::Le, q, r) = b else {
        return None;
    };
    let Expr::Num(r) = r.as_ref() else {
        return None;
    };
    let Expr::Bin(Op::Div, num, den) = q.as_ref() else {
        return None;
    };
    let (c, ()) = abs_diff_of(num, numeric_unit)?;
    let Expr::Call(g, args) = den.as_ref() else {
        return None;
    };
    if g != "greatest" || args.len() != 2 {
        return None;
    }
    let (sa, ca) = abs_of_numeric(&args[0])?;
    let (sb, cb) = abs_of_numeric(&args[1])?;
    (c == c1 && ca == c1 && cb == c1 && sa != sb && r.is_finite() && *r >= 0.0).then_some((c, *r))
}

/// A Splink 5 settings JSON, as written by [`settings_to_splink`].
#[derive(Serialize)]
struct SplinkSettings {
    link_type: &'static str,
    unique_id_column_name: String,
    probability_two_random_records_match: f64,
    em_convergence: f64,
    max_iterations: usize,
    sql_dialect: &'static str,
    blocking_rules_to_generate_predictions: Vec<SplinkRule>,
    comparisons: Vec<SplinkComparison>,
}

#[derive(Serialize)]
struct SplinkRule {
    blocking_rule: String,
    sql_dialect: &'static str,
}

#[derive(Serialize)]
struct SplinkComparison {
    output_column_name: String,
    comparison_description: String,
    comparison_levels: Vec<SplinkLevel>,
}

#[derive(Serialize)]
struct SplinkLevel {
    sql_condition: String,
    label_for_charts: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    m_probability: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    u_probability: Option<f64>,
    fix_m_probability: bool,
    fix_u_probability: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    is_null_level: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    tf_adjustment_column: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tf_adjustment_weight: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tf_minimum_u_value: Option<f64>,
}

/// Writes fellegi settings or a fitted model as a Splink 5 settings JSON (DuckDB dialect) that
/// Splink's `Linker` loads: builders are expanded into explicit levels, each written as the SQL
/// Splink's own library writes (see the [module documentation](self)); λ goes to
/// `probability_two_random_records_match` (the fitted λ, else a fixed `training.lambda`, else
/// `training.lambda_start`, else Splink's default 1e-4), m and u to each level's
/// `m_probability`/`u_probability` where present (floored at [`PROB_FLOOR`], as fellegi's
/// weights are), `training.tolerance` and `max_iterations` to `em_convergence` and
/// `max_iterations`. Exhaustive settings get no blocking rules (Splink then compares all pairs).
/// The rest of the training plan, `truth` and the `fit` block have no place in Splink's JSON and
/// are left out.
///
/// # Errors
/// [`Error::Settings`] naming the fellegi key (e.g. `comparison[3].levels[2].predicate`) of
/// anything Splink cannot express the same way: column transforms, phonetic levels or keys,
/// Damerau–Levenshtein thresholds above 1, Jaccard with `q` other than 1, a non-default
/// Jaro–Winkler variant; and builder-expansion errors.
///
/// # Examples
/// ```
/// let s = fellegi::settings::Settings::from_toml(r#"
/// link_type = "link"
/// [[blocking]]
/// keys = ["surname"]
/// [[comparison]]
/// column = "given_name"
/// use = "jaro_winkler_at_thresholds"
/// thresholds = [0.9]
/// "#, "example").unwrap();
/// let json = fellegi::interop::splink::settings_to_splink(&s).unwrap();
/// assert!(json.contains(r#"jaro_winkler_similarity(\"given_name_l\", \"given_name_r\") >= 0.9"#));
/// let back = fellegi::interop::splink::settings_from_splink(&json, "round trip").unwrap();
/// assert_eq!(back.comparisons[0].levels, s.expanded("example").unwrap().comparisons[0].levels);
/// ```
pub fn settings_to_splink(s: &Settings) -> Result<String> {
    const ORIGIN: &str = "settings";
    let s = s.expanded(ORIGIN)?;
    if !s.transforms.is_empty() {
        return Err(Error::settings(
            ORIGIN,
            "transform",
            "Splink settings have no column transforms, so Splink would compare the raw values: apply the transforms to the data first and remove the [[transform]] tables",
        ));
    }
    let link_type = match s.link_type {
        LinkType::Dedupe => "dedupe_only",
        LinkType::Link => "link_only",
        LinkType::LinkAndDedupe => "link_and_dedupe",
    };
    let lambda = s
        .lambda
        .or(match s.training.lambda {
            Some(crate::model::plan::LambdaSpec::Value(v)) => Some(v),
            _ => None,
        })
        .or(s.training.lambda_start)
        .unwrap_or(SPLINK_DEFAULT_LAMBDA);
    let mut rules = Vec::new();
    if !s.exhaustive {
        for (bi, b) in s.blocking.iter().enumerate() {
            let mut parts = Vec::new();
            for (ki, k) in b.keys.iter().enumerate() {
                parts.push(match k {
                    KeySpec::Column(c) => format!("l.{q} = r.{q}", q = sql::quote(c)),
                    KeySpec::Derived(d) => {
                        if d.encode.is_some() {
                            return Err(Error::settings(
                                ORIGIN,
                                format!("blocking[{bi}].keys[{ki}].encode"),
                                "DuckDB has no phonetic functions, so Splink cannot block on a phonetic code: add the code to the data as a column and block on that",
                            ));
                        }
                        match d.prefix {
                            Some(p) => format!(
                                "SUBSTRING(l.{q}, 1, {p}) = SUBSTRING(r.{q}, 1, {p})",
                                q = sql::quote(&d.column)
                            ),
                            None => format!("l.{q} = r.{q}", q = sql::quote(&d.column)),
                        }
                    }
                });
            }
            let rule = if parts.len() == 1 {
                parts.pop().unwrap_or_default()
            } else {
                parts
                    .iter()
                    .map(|p| format!("({p})"))
                    .collect::<Vec<_>>()
                    .join(" AND ")
            };
            rules.push(SplinkRule {
                blocking_rule: rule,
                sql_dialect: "duckdb",
            });
        }
    }
    let mut comparisons = Vec::new();
    for (ci, c) in s.comparisons.iter().enumerate() {
        let key = format!("comparison[{ci}]");
        if c.jaro_winkler.is_some_and(|j| j != JwConfig::default()) {
            return Err(Error::settings(
                ORIGIN,
                format!("{key}.jaro_winkler"),
                "DuckDB's jaro_winkler_similarity is Winkler's variant (prefix_scale 0.1, max_prefix 4, boost_threshold 0.7); remove the jaro_winkler table to use it",
            ));
        }
        let tf_weights = c.tf_level_weights();
        if let Some(t) =
            c.tf.as_ref()
                .filter(|t| t.lookup.is_some() || !t.mode.is_value())
        {
            return Err(Error::settings(
                ORIGIN,
                format!("{key}.tf"),
                format!(
                    "Splink computes term frequencies of whole values over the inputs; {} has no Splink setting: remove it to export (a lookup table can be registered in Splink with `register_term_frequency_lookup`)",
                    if t.lookup.is_some() {
                        "`tf.lookup`"
                    } else {
                        "`tf.mode = \"token\"`"
                    }
                ),
            ));
        }
        let l = sql::quote(&format!("{}_l", c.column));
        let r = sql::quote(&format!("{}_r", c.column));
        let num = |x: &str| format!("TRY_CAST({x} AS DOUBLE)");
        let mut levels = Vec::new();
        for (li, lv) in c.levels.iter().enumerate() {
            let lkey = format!("{key}.levels[{li}].predicate");
            let call = |f: &str, op: &str, t: String| format!("{f}({l}, {r}) {op} {t}");
            let sql_condition = match &lv.predicate {
                Predicate::Null => format!("{l} IS NULL OR {r} IS NULL"),
                Predicate::Exact => format!("{l} = {r}"),
                Predicate::JaroWinklerAtLeast(t) => {
                    call("jaro_winkler_similarity", ">=", t.to_string())
                }
                Predicate::JaroAtLeast(t) => call("jaro_similarity", ">=", t.to_string()),
                Predicate::LevenshteinAtMost(k) => call("levenshtein", "<=", k.to_string()),
                Predicate::LevenshteinRatioAtMost(t) => {
                    format!("levenshtein({l}, {r}) / GREATEST(LENGTH({l}), LENGTH({r})) <= {t}")
                }
                Predicate::DamerauLevenshteinAtMost(k) => {
                    if *k > 1 {
                        return Err(Error::settings(
                            ORIGIN,
                            lkey,
                            format!(
                                "damerau_levenshtein <= {k}: DuckDB's damerau_levenshtein is the unrestricted distance and fellegi's the optimal string alignment distance; they agree for thresholds 0 and 1 only, so Splink would put some pairs in other levels"
                            ),
                        ));
                    }
                    call("damerau_levenshtein", "<=", k.to_string())
                }
                Predicate::JaccardAtLeast(t) => {
                    if c.q.unwrap_or(2) != 1 {
                        return Err(Error::settings(
                            ORIGIN,
                            format!("{key}.q"),
                            format!(
                                "jaccard >= {t} on {}-grams: DuckDB's jaccard compares sets of single characters; set q = 1 to export",
                                c.q.unwrap_or(2)
                            ),
                        ));
                    }
                    call("jaccard", ">=", t.to_string())
                }
                Predicate::AbsDiffAtMost(d) => {
                    format!("ABS({} - {}) <= {d}", num(&l), num(&r))
                }
                Predicate::RelDiffAtMost(x) => format!(
                    "({nl} = 0 AND {nr} = 0) OR ABS({nl} - {nr}) / GREATEST(ABS({nl}), ABS({nr})) <= {x}",
                    nl = num(&l),
                    nr = num(&r)
                ),
                Predicate::DateDiffDaysAtMost(d) => {
                    let f = sql::quote_str(c.date_format.as_deref().unwrap_or("%Y%m%d"));
                    format!(
                        "ABS(EPOCH(try_strptime({l}, {f})) - EPOCH(try_strptime({r}, {f}))) <= {}",
                        u64::from(*d) * DAY_SECONDS as u64
                    )
                }
                Predicate::PhoneticMatch(e) => {
                    return Err(Error::settings(
                        ORIGIN,
                        lkey,
                        format!(
                            "{} match: DuckDB has no phonetic functions, so Splink cannot evaluate this level; add the code to the data as a column and compare it exactly",
                            e.name()
                        ),
                    ));
                }
                Predicate::Else => "ELSE".to_string(),
            };
            let is_null = lv.predicate == Predicate::Null;
            let tf_w = tf_weights[li];
            levels.push(SplinkLevel {
                tf_adjustment_column: (tf_w > 0.0).then(|| c.column.clone()),
                tf_adjustment_weight: (tf_w > 0.0).then_some(tf_w),
                tf_minimum_u_value: (tf_w > 0.0)
                    .then(|| c.tf.as_ref().and_then(|t| t.minimum))
                    .flatten()
                    .filter(|&m| m > 0.0),
                sql_condition,
                label_for_charts: lv.display_label(),
                m_probability: if is_null {
                    None
                } else {
                    lv.m.map(|m| m.max(PROB_FLOOR))
                },
                u_probability: if is_null {
                    None
                } else {
                    lv.u.map(|u| u.max(PROB_FLOOR))
                },
                fix_m_probability: lv.fix_m,
                fix_u_probability: lv.fix_u,
                is_null_level: is_null,
            });
        }
        comparisons.push(SplinkComparison {
            output_column_name: c.output_name().to_string(),
            comparison_description: format!("fellegi comparison of {}", c.column),
            comparison_levels: levels,
        });
    }
    let out = SplinkSettings {
        link_type,
        unique_id_column_name: s.unique_id.clone(),
        probability_two_random_records_match: lambda,
        em_convergence: s.training.tolerance,
        max_iterations: s.training.max_iterations,
        sql_dialect: "duckdb",
        blocking_rules_to_generate_predictions: rules,
        comparisons,
    };
    serde_json::to_string_pretty(&out)
        .map(|mut t| {
            t.push('\n');
            t
        })
        .map_err(|e| Error::Internal(format!("cannot render Splink settings: {e}")))
}
