//! The figures of `fellegi paper build`, drawn with [`crate::plot`] from committed results.
//! Which figures an experiment gets follows from the shape of its tasks:
//!
//! - **F1 per method over seeds** ([`plot::interval_chart`]): an experiment with two or more
//!   task groups (methods) and two or more seeds in some group: one band per group, one dot
//!   (mean F1) and bar (95 % t-interval, see [`super::summary`]) per dataset.
//! - **Paired F1 differences** ([`plot::interval_chart`]): when a method shares two or more
//!   seeds with the baseline (the first task group): one band per method, the mean of the
//!   per-seed F1 differences and their 95 % t-interval per dataset.
//! - **Scaling** ([`plot::xy_chart`], log–log): an experiment that generates data at two or more
//!   entity counts: seconds of the whole `link` run against records, and peak memory against
//!   records where the results record it (`peak_rss_mb`). The external `scale` experiment's
//!   committed side-by-side numbers (`experiments/scale/results/sizes.json`, else `latest.json`; fellegi and
//!   Splink 5) are added as their own series when present.
//! - **Blocking trade-off** ([`plot::xy_chart`]): an experiment whose id ends in
//!   `blocking-tradeoff`: pairs completeness against reduction ratio of the union of each task
//!   group's blocking rules, each point labelled with its group and F1.
//!
//! Every figure's title and caption name the experiment that made it.

use std::collections::BTreeSet;
use std::path::Path;

use super::Experiment;
use super::summary::{SeedGroup, paired_comparisons};
use crate::plot::{
    self, Chart, Interval, IntervalChart, IntervalSeries, XyChart, XyPoint, XySeries,
};

/// One figure: a file stem (`<name>.svg`, `<name>.png`), its caption and the chart.
#[derive(Debug, Clone)]
pub struct Figure {
    /// File stem, e.g. `febrl4-method-variants-f1`.
    pub name: String,
    /// Caption (also the image's alt text), naming the experiment.
    pub caption: String,
    /// The chart.
    pub chart: Chart,
}

/// The figures of one experiment, from its (group, dataset) groups over seeds; `experiments`
/// is the experiments folder (for the external `scale` results).
pub fn figures(exp: &Experiment, groups: &[SeedGroup<'_>], experiments: &Path) -> Vec<Figure> {
    let mut out = Vec::new();
    out.extend(method_intervals(exp, groups));
    out.extend(paired_intervals(exp, groups));
    out.extend(scaling(exp, groups, experiments));
    out.extend(blocking_tradeoff(exp, groups));
    out
}

/// Distinct values in first-appearance order.
fn distinct<S: AsRef<str>>(it: impl Iterator<Item = S>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    it.map(|s| s.as_ref().to_string())
        .filter(|s| seen.insert(s.clone()))
        .collect()
}

/// " at threshold T" when every result used the same threshold, else "".
fn threshold_text(groups: &[SeedGroup<'_>]) -> String {
    let thresholds = distinct(
        groups
            .iter()
            .flat_map(|g| g.ok.iter())
            .filter_map(|v| v["metrics"]["threshold"].as_f64())
            .map(|t| format!("{t}")),
    );
    match thresholds.as_slice() {
        [t] => format!(" at threshold {t}"),
        _ => String::new(),
    }
}

/// "5 seeds" or "3–5 seeds".
fn seeds_text(groups: &[SeedGroup<'_>]) -> String {
    let n: Vec<usize> = groups.iter().map(|g| g.ok.len()).collect();
    let (lo, hi) = (
        n.iter().copied().min().unwrap_or(0),
        n.iter().copied().max().unwrap_or(0),
    );
    if lo == hi {
        format!("{lo} seeds")
    } else {
        format!("{lo}–{hi} seeds")
    }
}

fn method_intervals(exp: &Experiment, groups: &[SeedGroup<'_>]) -> Option<Figure> {
    let id = &exp.spec.id;
    let methods = distinct(groups.iter().map(|g| g.group.as_str()));
    if methods.len() < 2 || groups.iter().all(|g| g.ok.len() < 2) {
        return None;
    }
    let datasets = distinct(groups.iter().map(|g| g.dataset.as_str()));
    let series: Vec<IntervalSeries> = datasets
        .iter()
        .map(|d| IntervalSeries {
            name: d.clone(),
            values: methods
                .iter()
                .map(|m| {
                    groups
                        .iter()
                        .find(|g| &g.group == m && &g.dataset == d)
                        .and_then(|g| g.summary("/metrics/f1", Some((0.0, 1.0))))
                        .map(|s| Interval {
                            mean: s.mean,
                            lo: s.lo,
                            hi: s.hi,
                        })
                })
                .collect(),
        })
        .collect();
    let at = threshold_text(groups);
    let seeds = seeds_text(groups);
    let chart = plot::interval_chart(IntervalChart {
        x_desc: format!("F1{at} (dot: mean over {seeds}; bar: 95 % t-interval)"),
        categories: methods.clone(),
        series,
    })
    .title(format!("F1 per method: experiment {id}"));
    Some(Figure {
        name: format!("{id}-f1"),
        caption: format!(
            "F1{at} of each method (task group) of experiment `{id}` on {}: mean over {seeds} \
             (dot) and 95 % t-interval (bar). Made by `fellegi paper build` from paper/results/{id}/.",
            datasets.join(", ")
        ),
        chart,
    })
}

/// The paired F1 differences against the baseline ([`super::summary::paired_comparisons`]):
/// one band per method, one dot (mean difference) and bar (95 % t-interval of the paired
/// differences) per dataset; 0 is no difference.
fn paired_intervals(exp: &Experiment, groups: &[SeedGroup<'_>]) -> Option<Figure> {
    let id = &exp.spec.id;
    let pairs = paired_comparisons(groups, "/metrics/f1");
    let baseline = pairs.first()?.baseline.clone();
    let methods = distinct(pairs.iter().map(|p| p.group.as_str()));
    let datasets = distinct(pairs.iter().map(|p| p.dataset.as_str()));
    let series: Vec<IntervalSeries> = datasets
        .iter()
        .map(|d| IntervalSeries {
            name: d.clone(),
            values: methods
                .iter()
                .map(|m| {
                    pairs
                        .iter()
                        .find(|p| &p.group == m && &p.dataset == d)
                        .map(|p| Interval {
                            mean: p.difference.mean,
                            lo: p.difference.lo,
                            hi: p.difference.hi,
                        })
                })
                .collect(),
        })
        .collect();
    let at = threshold_text(groups);
    let chart = plot::interval_chart(IntervalChart {
        x_desc: format!(
            "F1{at} minus {baseline}'s on the same seed (dot: mean; bar: 95 % t-interval)"
        ),
        categories: methods
            .iter()
            .map(|m| format!("{m} − {baseline}"))
            .collect(),
        series,
    })
    .title(format!(
        "Paired F1 difference against {baseline}: experiment {id}"
    ));
    Some(Figure {
        name: format!("{id}-paired-f1"),
        caption: format!(
            "F1{at} of each method of experiment `{id}` minus that of the baseline `{baseline}` \
             on the same seed, on {}: mean of the per-seed differences (dot) and their 95 % \
             t-interval (bar); a bar that does not cross 0 settles the comparison at the 5 % \
             level. See table `{id}-paired` for the per-seed differences and the sign test. \
             Made by `fellegi paper build` from paper/results/{id}/.",
            datasets.join(", ")
        ),
        chart,
    })
}

/// One tool's runs in the external scale benchmark: its name and (records, seconds, peak MiB if
/// recorded) per run, by records.
type ToolRuns = (String, Vec<(f64, f64, Option<f64>)>);

/// The external scale benchmark's committed numbers, one entry per tool: every size of
/// `results/sizes.json`, else the one run of `results/latest.json`. With the file read.
fn scale_results(experiments: &Path) -> Option<(Vec<ToolRuns>, &'static str)> {
    let read = |name: &str| -> Option<serde_json::Value> {
        let text = std::fs::read_to_string(experiments.join("scale/results").join(name)).ok()?;
        serde_json::from_str(&text).ok()
    };
    let (runs, file) = match read("sizes.json") {
        Some(v) => (v["runs"].as_array()?.clone(), "sizes.json"),
        None => (vec![read("latest.json")?], "latest.json"),
    };
    let tools = [("fellegi", "fellegi"), ("splink", "Splink 5")]
        .iter()
        .map(|(k, name)| {
            let mut points: Vec<(f64, f64, Option<f64>)> = runs
                .iter()
                .filter_map(|v| {
                    Some((
                        v["records"].as_f64()?,
                        v[k]["wall_s"].as_f64()?,
                        v[k]["peak_rss_mb"].as_f64(),
                    ))
                })
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            (name.to_string(), points)
        })
        .filter(|(_, p)| !p.is_empty())
        .collect();
    Some((tools, file))
}

fn scaling(exp: &Experiment, groups: &[SeedGroup<'_>], experiments: &Path) -> Vec<Figure> {
    let id = &exp.spec.id;
    let generated = exp
        .spec
        .tasks
        .iter()
        .any(|t| t.generate.as_ref().is_some_and(|g| g.entities.len() >= 2));
    if !generated {
        return Vec::new();
    }
    let scale = scale_results(experiments);
    let names = distinct(groups.iter().map(|g| g.group.as_str()));
    let mut out = Vec::new();
    let quantities: [(&str, &str, &str, &str); 2] = [
        (
            "seconds",
            "/runtime_s",
            "seconds of the whole link run (log scale)",
            "s",
        ),
        (
            "memory",
            "/peak_rss_mb",
            "peak resident memory, MiB (log scale)",
            "MiB",
        ),
    ];
    for (what, pointer, y_desc, unit) in quantities {
        let mut series: Vec<XySeries> = names
            .iter()
            .map(|name| {
                let mut points: Vec<XyPoint> = groups
                    .iter()
                    .filter(|g| &g.group == name)
                    .filter_map(|g| {
                        let x = g.summary("/metrics/records", None)?.mean;
                        let y = g.summary(pointer, None)?.mean;
                        Some(XyPoint { x, y, label: None })
                    })
                    .filter(|p| p.x > 0.0 && p.y > 0.0)
                    .collect();
                points.sort_by(|a, b| a.x.total_cmp(&b.x));
                if let Some(last) = points.last_mut() {
                    last.label = Some(format!("{} {unit}", fmt_value(last.y)));
                }
                XySeries {
                    name: format!("{id} ({name})"),
                    points,
                    line: true,
                }
            })
            .filter(|s| s.points.len() >= 2)
            .collect();
        if series.is_empty() {
            continue;
        }
        let mut from = format!("paper/results/{id}/");
        if let Some((tools, file)) = &scale {
            let mut added = false;
            for (tool, runs) in tools {
                let mut points: Vec<XyPoint> = runs
                    .iter()
                    .filter_map(|&(x, secs, mem)| {
                        let y = if what == "seconds" { Some(secs) } else { mem };
                        let y = y.filter(|y| *y > 0.0)?;
                        Some(XyPoint { x, y, label: None })
                    })
                    .collect();
                let Some(last) = points.last_mut() else {
                    continue;
                };
                last.label = Some(format!("{tool} {} {unit}", fmt_value(last.y)));
                added = true;
                let line = points.len() >= 2;
                series.push(XySeries {
                    name: format!("scale ({tool})"),
                    points,
                    line,
                });
            }
            if added {
                from.push_str(&format!(" and experiments/scale/results/{file}"));
            }
        }
        let chart = plot::xy_chart(XyChart {
            x_desc: "records (log scale)".into(),
            y_desc: y_desc.into(),
            log_x: true,
            log_y: true,
            series,
        })
        .title(format!(
            "{} against records: experiment {id}",
            if what == "seconds" {
                "Run time"
            } else {
                "Peak memory"
            }
        ));
        let scale_note = if from.contains("scale") {
            " The single points are experiment `scale` (fellegi and Splink 5 side by side on \
             1.16 M records from `shared/bench/gen_people.py`, a different generator)."
        } else {
            ""
        };
        out.push(Figure {
            name: format!("{id}-{what}"),
            caption: format!(
                "{} of a whole `fellegi link` run (load, train, score, cluster, evaluate, write; \
                 data generation excluded) against the number of records, experiment `{id}`, \
                 2-core machine.{scale_note} Made by `fellegi paper build` from {from}.",
                if what == "seconds" {
                    "Wall-clock seconds"
                } else {
                    "Peak resident memory (the child process's maximum RSS)"
                }
            ),
            chart,
        });
    }
    out
}

/// A value for a point label: three significant digits.
fn fmt_value(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn blocking_tradeoff(exp: &Experiment, groups: &[SeedGroup<'_>]) -> Option<Figure> {
    let id = &exp.spec.id;
    if !id.ends_with("blocking-tradeoff") {
        return None;
    }
    let datasets = distinct(groups.iter().map(|g| g.dataset.as_str()));
    let series: Vec<XySeries> = datasets
        .iter()
        .map(|d| XySeries {
            name: d.clone(),
            points: groups
                .iter()
                .filter(|g| &g.dataset == d)
                .filter_map(|g| {
                    // The union of the rules is the last blocking entry.
                    let rr: Vec<f64> =
                        g.ok.iter()
                            .filter_map(|v| {
                                v["metrics"]["blocking"]
                                    .as_array()?
                                    .last()?
                                    .get("reduction_ratio")?
                                    .as_f64()
                            })
                            .collect();
                    let x = super::summary::mean_interval(&rr, None)?.mean;
                    let y = g.summary("/metrics/pairs_completeness", None)?.mean;
                    let f1 = g.summary("/metrics/f1", None)?.mean;
                    Some(XyPoint {
                        x,
                        y,
                        label: Some(format!("{}: F1 {f1:.4}", g.group)),
                    })
                })
                .collect(),
            line: false,
        })
        .filter(|s| !s.points.is_empty())
        .collect();
    if series.is_empty() {
        return None;
    }
    let at = threshold_text(groups);
    let chart = plot::xy_chart(XyChart {
        x_desc: "reduction ratio (share of all pairs not compared)".into(),
        y_desc: "pairs completeness".into(),
        log_x: false,
        log_y: false,
        series,
    })
    .title(format!("Blocking trade-off: experiment {id}"));
    Some(Figure {
        name: format!("{id}-pc-vs-rr"),
        caption: format!(
            "Pairs completeness (share of true pairs among the candidates) against reduction \
             ratio for each rule set (task group) of experiment `{id}` on {}, labelled with the \
             F1{at}. Made by `fellegi paper build` from paper/results/{id}/.",
            datasets.join(", ")
        ),
        chart,
    })
}
