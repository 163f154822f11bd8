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
