//! report.html: self-contained (no external resources), with every chart, the metrics, the
//! fitted parameters and a field-by-field review list.

use std::process::Command;

#[test]
fn febrl4_report_is_complete_and_self_contained() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r");
    let st = Command::new(env!("CARGO_BIN_EXE_fellegi"))
        .env_remove("FELLEGI_DATA")
        .args(["link", "--dataset", "febrl4", "--report", "-q", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    // Nothing is fetched: no scripts, stylesheets or images from elsewhere.
    for bad in [
        "<script",
        "<link",
        "<img",
        "src=\"http",
        "href=\"http",
        "url(http",
    ] {
        assert!(
            !html.contains(bad),
            "report must be self-contained: found {bad}"
        );
    }
    // One inline SVG per chart: match weights, m/u, EM trace, histogram, PR, sweep, ROC, blocking.
    assert_eq!(html.matches("<svg").count(), 8, "charts");
    assert_eq!(html.matches("<svg").count(), html.matches("</svg>").count());
    for want in [
        "Match weights per comparison level",
        "EM convergence",
        "Precision–recall curve",
        "Accuracy against the truth",
        "Blocking",
        "adjusted Rand index",
        "Fitted parameters",
        "Review list",
        "soc_sec_id",
        "link_type = &quot;link&quot;",
    ] {
        assert!(html.contains(want), "missing {want:?}");
    }
    // The review list shows 25 pairs, each with a field-by-field table.
    assert_eq!(html.matches("closest to the threshold").count(), 1);
    let review = html.split("Review list").nth(1).unwrap();
    assert_eq!(review.matches("<h3>").count(), 25);
}

/// Issue 19 part 6: the charts tell the truth on FEBRL4 (F1 ≈ 1): the ROC AUC is near 1 (the
/// pairs never scored rank last, so the curve reaches (1, 1)), the histogram marks the threshold
/// as the probability it was given and its weight, and the review list holds pairs on both
/// sides of the threshold.
#[test]
fn febrl4_charts_and_review_list_tell_the_truth() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r");
    let st = Command::new(env!("CARGO_BIN_EXE_fellegi"))
        .env_remove("FELLEGI_DATA")
        .args(["link", "--dataset", "febrl4", "--report", "-q", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert!(metrics["f1"].as_f64().unwrap() > 0.99);
    let auc = metrics["threshold_sweep"]["roc_auc"].as_f64().unwrap();
    assert!(auc > 0.99 && auc <= 1.0, "ROC AUC {auc}");
    let roc = std::fs::read_to_string(out.join("charts/roc_curve.svg")).unwrap();
    assert!(
        roc.contains(&format!("AUC = {auc:.3}")),
        "the chart's AUC is the metrics' AUC ({auc:.3})"
    );
    let hist = std::fs::read_to_string(out.join("charts/match_weight_histogram.svg")).unwrap();
    assert!(
        hist.contains("threshold p = 0.5 (match weight 0.00)"),
        "histogram legend"
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let review = html.split("Review list").nth(1).unwrap();
    let linked = review.matches(", linked ").count();
    let not_linked = review.matches(", not linked ").count();
    assert_eq!(linked + not_linked, 25);
    // Half from each side (13 at or above, 12 below) where the pairs written allow it.
    let pairs = std::fs::read_to_string(out.join("pairs.csv")).unwrap();
    let below = pairs
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(5).unwrap().parse::<f64>().unwrap() < 0.5)
        .count();
    assert!(below > 0);
    assert_eq!(
        not_linked,
        below.min(12),
        "{linked} linked, {not_linked} not"
    );
}
