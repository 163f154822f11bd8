//! The run report: one self-contained HTML page (no network) with the settings, the fitted
//! parameters, the charts as inline SVG, the metrics, and a review list of the most uncertain
//! pairs shown side by side, field by field, with each comparison's contribution to the weight.

use std::fmt::Write as _;

use crate::compare::Comparer;
use crate::data::{Dataset, MISSING};
use crate::eval::LinkMetrics;
use crate::eval::curves::Sweep;
use crate::model::FsParams;
use crate::model::predict::ScoredPairs;
use crate::plot::{
    Chart, ChartData, EmSession, EmStep, ModelParams, PrPoint, RocPoint, RuleCount, Waterfall,
    WaterfallTerm, WeightHistogram,
};
use crate::settings::Settings;

/// Everything the report shows.
#[derive(Debug)]
pub struct ReportInput<'a> {
    /// Page title, e.g. `fellegi link: febrl4`.
    pub title: String,
    /// The fitted model (settings with λ, m, u and the fit block).
    pub model: &'a Settings,
    /// Its parameters.
    pub params: &'a FsParams,
    /// The compiled comparisons (level labels, gamma values).
    pub comparer: &'a Comparer,
    /// The records.
    pub ds: &'a Dataset,
    /// The pairs written (match probability ≥ the minimum probability).
    pub pairs: &'a ScoredPairs,
    /// The match threshold.
    pub threshold: f64,
    /// metrics.json, when truth is known.
    pub metrics: Option<&'a LinkMetrics>,
    /// The threshold sweep, when truth is known.
    pub sweep: Option<&'a Sweep>,
    /// Number of uncertain pairs in the review list; default 25.
    pub review: usize,
    /// The model's own estimates (with or without truth).
    pub estimated: Option<&'a crate::eval::summary::EstimatedMetrics>,
    /// Per date or numeric comparison and input: values that do not parse.
    pub unparsed: &'a [crate::compare::Unparsed],
    /// Warnings about the run, as `(code, message)`.
    pub warnings: Vec<(String, String)>,
}

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

fn level_labels(model: &Settings) -> Vec<Vec<String>> {
    model
        .comparisons
        .iter()
        .map(|c| c.levels.iter().map(|l| l.display_label()).collect())
        .collect()
}

/// The waterfall of pair `i` of `pairs`: the prior, then each comparison's level and weight.
pub fn waterfall(input: &ReportInput<'_>, i: usize) -> Waterfall {
    let lw = input.params.level_weights();
    let labels = level_labels(input.model);
    let (l, r) = (input.pairs.left[i] as usize, input.pairs.right[i] as usize);
    Waterfall {
        pair_label: Some(format!(
            "{}:{} – {}:{}",
            input.ds.source_name(l),
            input.ds.ids.get(l),
            input.ds.source_name(r),
            input.ds.ids.get(r)
        )),
        prior_weight: input.params.prior_weight(),
        terms: input
            .comparer
            .comparisons
            .iter()
            .zip(input.pairs.levels_of(i))
            .enumerate()
            .map(|(c, (cmp, &lv))| WaterfallTerm {
                name: cmp.name.clone(),
                level_label: labels[c][lv as usize].clone(),
                weight: lw[c][lv as usize],
            })
            .chain(
                input
                    .pairs
                    .tf_names
                    .iter()
                    .zip(if input.pairs.tf_names.is_empty() {
                        &[][..]
                    } else {
                        input.pairs.tf_of(i)
                    })
                    .map(|(n, &w)| WaterfallTerm {
                        name: format!("tf_{n}"),
                        level_label: "term frequency".into(),
                        weight: w,
                    }),
            )
            .collect(),
    }
}

/// The report's charts, each with a file-friendly name, in report order.
pub fn charts(input: &ReportInput<'_>) -> Vec<(&'static str, Chart)> {
    let ds = input.ds;
    let pairs = input.pairs;
    let fit = input.model.fit.as_ref();
    let mut out: Vec<(&'static str, Chart)> = Vec::new();
    let names: Vec<String> = input
        .comparer
        .comparisons
        .iter()
        .map(|c| c.name.clone())
        .collect();
    let mp = ModelParams::from_fs(input.params, &names, &level_labels(input.model));
    out.push(("match_weights", ChartData::MatchWeights(mp.clone()).into()));
    out.push(("m_u", ChartData::MU(mp).into()));
    if let Some(f) = fit {
        let sessions = f
            .sessions
            .iter()
            .map(|s| EmSession {
                name: s.blocking.clone(),
                steps: s
                    .trace
                    .iter()
                    .map(|t| EmStep {
                        log_likelihood: t.log_likelihood,
                        lambda: t.lambda,
                    })
                    .collect(),
            })
            .collect();
        out.push(("em_trace", ChartData::EmTrace(sessions).into()));
    }
    let truth = ds.truth.as_deref();
    let is_true = |i: usize| {
        truth.is_some_and(|t| {
            let (a, b) = (t[pairs.left[i] as usize], t[pairs.right[i] as usize]);
            a != MISSING && a == b
        })
    };
    let (mut matches, mut non) = (Vec::new(), Vec::new());
    for i in 0..pairs.len() {
        if truth.is_none() || !is_true(i) {
            non.push(pairs.weight[i]);
        } else {
            matches.push(pairs.weight[i]);
        }
    }
    let thr_w = crate::model::weight_of_probability(input.threshold.clamp(1e-12, 1.0 - 1e-12));
    out.push((
        "match_weight_histogram",
        Chart::from(ChartData::WeightHistogram(WeightHistogram {
            matches,
            non_matches: non,
            threshold: Some(thr_w),
            threshold_label: Some(threshold_label(input.threshold)),
            bin_width: None,
            log_y: true,
        }))
        .title(if truth.is_some() {
            "Match weights of the pairs written, by truth"
        } else {
            "Match weights of the pairs written (no truth: all shown as one series)"
        }),
    ));
    if let Some(s) = input.sweep {
        let pr: Vec<PrPoint> = s
            .points
            .iter()
            .map(|p| PrPoint {
                threshold: p.threshold,
                precision: p.precision,
                recall: p.recall,
            })
            .collect();
        out.push(("pr_curve", ChartData::PrCurve(pr.clone()).into()));
        out.push((
            "precision_recall_vs_threshold",
            ChartData::ThresholdSweep(pr).into(),
        ));
        let roc: Vec<RocPoint> = s
            .points
            .iter()
            .map(|p| RocPoint {
                fpr: p.fpr,
                tpr: p.recall,
            })
            .collect();
        out.push(("roc_curve", ChartData::RocCurve(roc).into()));
    }
    let rules: Vec<RuleCount> = input
        .model
        .blocking
        .iter()
        .zip(&pairs.candidates_per_rule)
        .map(|(b, &n)| RuleCount {
            rule: b.describe(),
            pairs: n,
        })
        .collect();
    out.push((
        "blocking_rule_counts",
        ChartData::BlockingRules { rules, log_x: true }.into(),
    ));
    out
}

/// The histogram legend of a probability threshold: its probability and its match weight.
fn threshold_label(threshold: f64) -> String {
    let w = crate::model::weight_of_probability(threshold.clamp(1e-12, 1.0 - 1e-12));
    format!("threshold p = {threshold} (match weight {w:.2})")
}

/// The review list: up to `n` pairs nearest the probability `threshold` by match weight, half
/// (rounded up) from those at or above it and the rest from those below, taking more from one
/// side when the other runs short; ordered by weight, highest first (ties by pair order).
pub fn review_order(pairs: &ScoredPairs, threshold: f64, n: usize) -> Vec<usize> {
    let (mut above, mut below): (Vec<usize>, Vec<usize>) =
        (0..pairs.len()).partition(|&i| pairs.probability[i] >= threshold);
    above.sort_by(|&a, &b| pairs.weight[a].total_cmp(&pairs.weight[b]).then(a.cmp(&b)));
    below.sort_by(|&a, &b| pairs.weight[b].total_cmp(&pairs.weight[a]).then(a.cmp(&b)));
    let want_above = n.div_ceil(2);
    let take_above = want_above
        .max(n.saturating_sub(below.len()))
        .min(above.len());
    let take_below = (n - take_above).min(below.len());
    let mut order: Vec<usize> = above[..take_above]
        .iter()
        .chain(&below[..take_below])
        .copied()
        .collect();
    order.sort_by(|&a, &b| pairs.weight[b].total_cmp(&pairs.weight[a]).then(a.cmp(&b)));
    order
}

fn chart_svg(out: &mut String, chart: Chart) {
    match chart.to_svg() {
        Ok(svg) => {
            out.push_str("<figure>");
            out.push_str(&svg);
            out.push_str("</figure>\n");
        }
        Err(e) => {
            let _ = writeln!(
                out,
                "<p class=\"note\">Chart not drawn: {}</p>",
                escape(&e.to_string())
            );
        }
    }
}

/// Renders the report page.
pub fn render_html(input: &ReportInput<'_>) -> String {
    let ds = input.ds;
    let pairs = input.pairs;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n",
        escape(&input.title),
        CSS
    );
    let _ = writeln!(h, "<h1>{}</h1>", escape(&input.title));
    let fit = input.model.fit.as_ref();
    let _ = writeln!(h, "<table class=\"kv\">");
    let mut kv = |k: &str, v: String| {
        let _ = writeln!(h, "<tr><th>{}</th><td>{}</td></tr>", escape(k), escape(&v));
    };
    kv("link type", input.model.link_type.name().to_string());
    kv(
        "records",
        format!(
            "{} in {} source(s): {}",
            ds.len(),
            ds.sources.len(),
            ds.sources
                .iter()
                .map(|s| format!("{} ({})", s.name, s.len))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    kv("candidate pairs", pairs.candidates.to_string());
    kv(
        "pairs written",
        format!("{} (match probability ≥ minimum)", pairs.len()),
    );
    kv(
        "λ (prior match probability)",
        format!("{:.6e}", input.params.lambda),
    );
    kv("threshold", format!("{}", input.threshold));
    if let Some(f) = fit {
        kv("λ from", f.lambda_method.clone());
        kv("u from", f.u_method.clone());
        kv(
            "EM",
            format!(
                "{} session(s), {} iterations, converged: {}",
                f.sessions.len(),
                f.iterations,
                f.converged
            ),
        );
        kv("seed", f.seed.to_string());
        kv("tool", f.tool.clone());
        if let Some(b) = &f.bootstrap {
            for (k, v) in b.describe() {
                kv(k.trim(), v);
            }
        }
    }
    let _ = writeln!(h, "</table>");

    if !input.warnings.is_empty() {
        let _ = writeln!(h, "<h2>Warnings</h2>\n<ul>");
        for (code, msg) in &input.warnings {
            let _ = writeln!(h, "<li><code>{}</code> {}</li>", escape(code), escape(msg));
        }
        let _ = writeln!(h, "</ul>");
    }
    if let Some(e) = input.estimated {
        let est = &e.estimated;
        let _ = writeln!(
            h,
            "<h2>Estimates from the model</h2>\n<p>{}</p>\n<table class=\"kv\">",
            escape(&est.note)
        );
        for (label, v) in [
            (
                "expected matches among the pairs written",
                est.expected_matches_written,
            ),
            (
                "expected matches among all admissible pairs (λ × pairs)",
                est.expected_matches_admissible,
            ),
            (
                "expected matches outside the pairs written",
                est.expected_matches_outside_written,
            ),
            ("expected true links", est.expected_true_links),
            ("estimated precision", est.precision),
            ("estimated false discovery rate", est.false_discovery_rate),
            ("estimated recall (pairs written)", est.recall),
            ("estimated false negative rate", est.false_negative_rate),
            (
                "estimated recall (all admissible pairs)",
                est.recall_of_admissible,
            ),
        ] {
            let _ = writeln!(h, "<tr><th>{}</th><td>{v:.4}</td></tr>", escape(label));
        }
        let _ = writeln!(h, "<tr><th>links</th><td>{}</td></tr>", est.links);
        for b in &e.blocking {
            let _ = writeln!(
                h,
                "<tr><th>candidates: {}</th><td>{}</td></tr>",
                escape(&b.rule),
                b.pairs
            );
        }
        let _ = writeln!(h, "</table>");
    }
    if !input.unparsed.is_empty() {
        let _ = writeln!(
            h,
            "<h2>Values that do not parse</h2>\n<p>Compared as missing.</p>\n<table>\n<tr><th>comparison</th><th>source</th><th>expected</th><th>unparsed</th><th>of values</th><th>examples</th></tr>"
        );
        for u in input.unparsed {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&u.comparison),
                escape(&u.source),
                escape(&u.expected),
                u.unparsed,
                u.values,
                escape(&u.examples.join(", "))
            );
        }
        let _ = writeln!(h, "</table>");
    }

    // Metrics.
    if let Some(m) = input.metrics.map(LinkMetrics::to_json) {
        let _ = writeln!(
            h,
            "<h2>Accuracy against the truth</h2>\n<table class=\"kv\">"
        );
        for (k, label) in [
            ("precision", "precision"),
            ("recall", "recall"),
            ("f1", "F1"),
            ("true_positives", "true positives"),
            ("false_positives", "false positives"),
            ("false_negatives", "false negatives"),
            ("true_pairs", "true pairs"),
        ] {
            let _ = writeln!(h, "<tr><th>{label}</th><td>{}</td></tr>", fmt_json(&m[k]));
        }
        let er = &m["error_rates"];
        let _ = writeln!(
            h,
            "<tr><th>false discovery rate</th><td>{} estimated by the model, {} true</td></tr>",
            fmt_json(&er["estimated_false_discovery_rate"]),
            fmt_json(&er["true_false_discovery_rate"])
        );
        let _ = writeln!(
            h,
            "<tr><th>false negative rate</th><td>{} estimated by the model, {} true</td></tr>",
            fmt_json(&er["estimated_false_negative_rate"]),
            fmt_json(&er["true_false_negative_rate"])
        );
        if let Some(s) = input.sweep {
            let _ = writeln!(
                h,
                "<tr><th>average precision</th><td>{:.4}</td></tr>",
                s.average_precision
            );
            if let Some(b) = s.best_f1 {
                let _ = writeln!(
                    h,
                    "<tr><th>best F1</th><td>{:.4} at threshold {:.4}</td></tr>",
                    b.f1, b.threshold
                );
            }
        }
        let _ = writeln!(h, "</table>");
        if let Some(rules) = m["blocking"].as_array() {
            let _ = writeln!(
                h,
                "<h3>Blocking</h3>\n<table><tr><th>rule</th><th>pairs</th><th>true pairs found</th><th>reduction ratio</th><th>pairs completeness</th><th>pairs quality</th></tr>"
            );
            for r in rules {
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(r["rule"].as_str().unwrap_or("")),
                    fmt_json(&r["pairs"]),
                    fmt_json(&r["true_pairs_found"]),
                    fmt_json(&r["reduction_ratio"]),
                    fmt_json(&r["pairs_completeness"]),
                    fmt_json(&r["pairs_quality"])
                );
            }
            let _ = writeln!(h, "</table>");
        }
        let cm = &m["clusters"]["metrics"];
        if cm.is_object() {
            let _ = writeln!(h, "<h3>Clusters</h3>\n<table class=\"kv\">");
            for (k, label) in [
                ("clusters", "clusters"),
                ("entities", "true entities"),
                ("pairwise_precision", "pairwise precision"),
                ("pairwise_recall", "pairwise recall"),
                ("bcubed_precision", "B-cubed precision"),
                ("bcubed_recall", "B-cubed recall"),
                ("adjusted_rand_index", "adjusted Rand index"),
            ] {
                let _ = writeln!(h, "<tr><th>{label}</th><td>{}</td></tr>", fmt_json(&cm[k]));
            }
            let _ = writeln!(h, "</table>");
        }
    }

    // Charts.
    let charts = charts(input);
    let mut it = charts.into_iter();
    let _ = writeln!(h, "<h2>The model</h2>");
    for (name, chart) in it.by_ref() {
        let scores = name == "match_weight_histogram";
        if scores {
            let _ = writeln!(h, "<h2>Scores</h2>");
        }
        chart_svg(&mut h, chart);
    }
    let truth = ds.truth.as_deref();
    let is_true = |i: usize| {
        truth.is_some_and(|t| {
            let (a, b) = (t[pairs.left[i] as usize], t[pairs.right[i] as usize]);
            a != MISSING && a == b
        })
    };

    // Parameters table, with the bootstrap's intervals when there are any.
    let boot = fit.and_then(|f| f.bootstrap.as_ref());
    let _ = writeln!(
        h,
        "<h2>Fitted parameters</h2>\n<table><tr><th>comparison</th><th>level</th><th>m</th><th>u</th><th>weight log2(m/u)</th>{}</tr>",
        if boot.is_some() {
            "<th>m 95 % (bootstrap)</th><th>u 95 % (bootstrap)</th>"
        } else {
            ""
        }
    );
    let lw = input.params.level_weights();
    for (c, spec) in input.model.comparisons.iter().enumerate() {
        for (l, lv) in spec.levels.iter().enumerate() {
            if Some(l) == input.params.null_level[c] {
                continue;
            }
            let cis = boot
                .and_then(|b| Some((b.m.get(c)?.get(l)?, b.u.get(c)?.get(l)?)))
                .map_or(String::new(), |(m, u)| {
                    format!(
                        "<td>[{:.6}, {:.6}]</td><td>[{:.6}, {:.6}]</td>",
                        m[0], m[1], u[0], u[1]
                    )
                });
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{:.6}</td><td>{:.6}</td><td class=\"{}\">{:+.3}</td>{cis}</tr>",
                escape(spec.output_name()),
                escape(&lv.display_label()),
                input.params.m[c][l],
                input.params.u[c][l],
                if lw[c][l] >= 0.0 { "pos" } else { "neg" },
                lw[c][l]
            );
        }
    }
    let _ = writeln!(h, "</table>");

    // Review list: the pairs closest to the threshold, on both sides.
    let order = review_order(pairs, input.threshold, input.review);
    let n_above = order
        .iter()
        .filter(|&&i| pairs.probability[i] >= input.threshold)
        .count();
    let _ = writeln!(
        h,
        "<h2>Review list: the {} pairs closest to the threshold</h2>\n<p class=\"note\">{} at or above the threshold (linked) and {} below it (not linked), nearest first on each side, by match weight. Each pair side by side, field by field, with the level each comparison gave and its contribution to the match weight (log2 Bayes factor). The rows add up to the match weight.</p>",
        order.len(),
        n_above,
        order.len() - n_above
    );
    for &i in &order {
        let wf = waterfall(input, i);
        let (l, r) = (pairs.left[i] as usize, pairs.right[i] as usize);
        let verdict = match truth {
            Some(_) if is_true(i) => "<span class=\"pos\">true match</span>",
            Some(_) => "<span class=\"neg\">not a match</span>",
            None => "",
        };
        let side = if pairs.probability[i] >= input.threshold {
            "linked"
        } else {
            "not linked"
        };
        let _ = writeln!(
            h,
            "<h3>{} — weight {:+.2}, probability {:.4}, {side} {}</h3>\n<table><tr><th>field</th><th>{}:{}</th><th>{}:{}</th><th>level</th><th>weight</th></tr>",
            escape(wf.pair_label.as_deref().unwrap_or("")),
            pairs.weight[i],
            pairs.probability[i],
            verdict,
            escape(ds.source_name(l)),
            escape(ds.ids.get(l)),
            escape(ds.source_name(r)),
            escape(ds.ids.get(r))
        );
        let _ = writeln!(
            h,
            "<tr><td>prior</td><td></td><td></td><td>λ</td><td>{:+.3}</td></tr>",
            wf.prior_weight
        );
        for (cmp, t) in input.comparer.comparisons.iter().zip(&wf.terms) {
            let col = &ds.columns[cmp.column];
            let show = |r: usize| col.get(r).map_or("<em>missing</em>".to_string(), escape);
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{:+.3}</td></tr>",
                escape(&cmp.name),
                show(l),
                show(r),
                escape(&t.level_label),
                if t.weight >= 0.0 { "pos" } else { "neg" },
                t.weight
            );
        }
        // Term-frequency adjustments follow the comparisons in the waterfall.
        for t in wf.terms.iter().skip(input.comparer.comparisons.len()) {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td></td><td></td><td>{}</td><td class=\"{}\">{:+.3}</td></tr>",
                escape(&t.name),
                escape(&t.level_label),
                if t.weight >= 0.0 { "pos" } else { "neg" },
                t.weight
            );
        }
        let _ = writeln!(h, "</table>");
    }

    let _ = writeln!(
        h,
        "<h2>Settings</h2>\n<pre>{}</pre>",
        escape(&input.model.to_toml())
    );
    h.push_str("</body>\n</html>\n");
    h
}

fn fmt_json(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "–".into(),
        serde_json::Value::Number(n) if n.is_f64() => {
            format!("{:.4}", n.as_f64().unwrap_or(f64::NAN))
        }
        other => escape(&other.to_string()),
    }
}

const CSS: &str = "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:0.5em 0 1.5em}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:14px}\
th{background:#f3f3f3}table.kv th{width:16em}figure{margin:1em 0}figure svg{max-width:100%;height:auto}\
.pos{color:#1a7f37}.neg{color:#c62828}.note{color:#555;font-size:14px}pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:13px}";
