//! `fellegi paper build`: tables (Markdown, LaTeX, CSV), figures (SVG and PNG), a reproductions
//! table (published vs obtained) and a constants file for in-text numbers, from committed results
//! only. The output depends only on the result files (sorted, fixed formatting, the vendored font
//! and this crate's own PNG encoder), so rebuilding is byte-identical.
//!
//! Per experiment `<id>` it writes:
//! - `<id>.{md,csv,tex}`: one row per task (precision, recall, F1, λ, candidates, pairs
//!   completeness, seconds and peak memory of the run);
//! - `<id>-summary.{md,csv,tex}` when some (task group, dataset) has two or more seeds: mean and
//!   95 % t-interval over the seeds ([`super::summary`]);
//! - `<id>-f1.{md,csv,tex}` when it also has two or more groups and two or more datasets: F1 as
//!   groups × datasets;
//! - `<id>-paired.{md,csv,tex}` when a method shares two or more seeds with the baseline (the
//!   first task group): the per-seed F1 differences, their mean and 95 % t-interval, and the
//!   sign test ([`super::summary::paired_comparisons`]);
//! - the figures of [`super::figures`], listed with their captions in `figures.md`;
//! - `constants.json` (every number a table shows, by key) and, from the paper's Markdown
//!   source, `paper.md` with each `{{key}}` filled in from it ([`render_constants`]).
//!
//! Files already in the output folder that the build no longer writes are left alone (CI's
//! `diff -r` against a fresh build reports them).

use std::collections::BTreeMap;
use std::path::Path;

use super::figures::figures;
use super::summary::{MeanInterval, SeedGroup, paired_comparisons, seed_groups};
use super::{Experiment, discover};
use crate::error::{Error, Result};
use crate::output::{Staged, thousands};

/// A loaded result, keyed by (experiment, task).
type Results = BTreeMap<(String, String), serde_json::Value>;

fn load_results(dir: &Path) -> Result<Results> {
    let mut out = Results::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let p = e.map_err(|e| Error::io(dir, e))?.path();
        if p.is_dir() {
            for f in std::fs::read_dir(&p).map_err(|e| Error::io(&p, e))? {
                let f = f.map_err(|e| Error::io(&p, e))?.path();
                if f.extension().is_some_and(|x| x == "json") {
                    files.push(f);
                }
            }
        }
    }
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| Error::io(&f, e))?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Parse {
            origin: f.display().to_string(),
            message: e.to_string(),
        })?;
        let key = (
            v["experiment"].as_str().unwrap_or("").to_string(),
            v["task"].as_str().unwrap_or("").to_string(),
        );
        out.insert(key, v);
    }
    Ok(out)
}

fn num(v: &serde_json::Value, digits: usize) -> String {
    v.as_f64().map_or("–".into(), |x| {
        if x != 0.0 && x.abs() < 1e-3 {
            format!("{x:.3e}")
        } else {
            format!("{x:.digits$}")
        }
    })
}

const COLUMNS: [&str; 12] = [
    "task",
    "dataset",
    "seed",
    "status",
    "precision",
    "recall",
    "F1",
    "lambda",
    "candidate pairs",
    "pairs completeness",
    "seconds",
    "peak MiB",
];

fn row(v: &serde_json::Value) -> [String; 12] {
    let m = &v["metrics"];
    [
        v["task"].as_str().unwrap_or("").to_string(),
        v["dataset"].as_str().unwrap_or("").to_string(),
        v["seed"].to_string(),
        v["status"].as_str().unwrap_or("").to_string(),
        num(&m["precision"], 4),
        num(&m["recall"], 4),
        num(&m["f1"], 4),
        num(&v["params"]["lambda"], 6),
        m["candidate_pairs"]
            .as_u64()
            .map_or("–".into(), |n| n.to_string()),
        num(&m["pairs_completeness"], 4),
        num(&v["runtime_s"], 2),
        // Results recorded before the runner measured memory have no peak_rss_mb.
        num(&v["peak_rss_mb"], 1),
    ]
}

fn latex_escape(s: &str) -> String {
    s.replace('\\', "\\textbackslash{}")
        .replace('_', "\\_")
        .replace('&', "\\&")
        .replace('%', "\\%")
        .replace('#', "\\#")
}

fn csv_cell(c: &str) -> String {
    if c.contains(',') || c.contains('"') || c.contains('\n') {
        format!("\"{}\"", c.replace('"', "\"\""))
    } else {
        c.to_string()
    }
}

fn csv_text(header: &[String], rows: &[Vec<String>]) -> String {
    let mut out = header
        .iter()
        .map(|c| csv_cell(c))
        .collect::<Vec<_>>()
        .join(",")
        + "\n";
    for r in rows {
        out.push_str(&r.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// Writes `<stem>.md` (with `caption`) and `<stem>.tex` of a table, and `<stem>.csv` from
/// `csv` (header and rows; the same table, or a machine-readable form of it).
fn write_table(
    stage: &mut Staged,
    tables: &mut BTreeMap<String, String>,
    stem: &str,
    caption: &str,
    header: &[String],
    rows: &[Vec<String>],
    csv: (&[String], &[Vec<String>]),
) -> Result<()> {
    let mut md = format!(
        "Table: {caption}\n\n| {} |\n|{}|\n",
        header.join(" | "),
        header.iter().map(|_| "---").collect::<Vec<_>>().join("|")
    );
    for r in rows {
        md.push_str(&format!("| {} |\n", r.join(" | ")));
    }
    let mut tex = format!(
        "% {}\n\\begin{{tabular}}{{{}}}\n\\hline\n{} \\\\\n\\hline\n",
        caption.replace('\n', " "),
        "l".repeat(header.len()),
        header
            .iter()
            .map(|c| latex_escape(c))
            .collect::<Vec<_>>()
            .join(" & ")
    );
    for r in rows {
        tex.push_str(&format!(
            "{} \\\\\n",
            r.iter()
                .map(|c| latex_escape(c))
                .collect::<Vec<_>>()
                .join(" & ")
        ));
    }
    tex.push_str("\\hline\n\\end{tabular}\n");
    let csv = csv_text(csv.0, csv.1);
    stage.write(&format!("{stem}.md"), |w| w.write_all(md.as_bytes()))?;
    stage.write(&format!("{stem}.csv"), |w| w.write_all(csv.as_bytes()))?;
    stage.write(&format!("{stem}.tex"), |w| w.write_all(tex.as_bytes()))?;
    tables.insert(stem.to_string(), md);
    Ok(())
}

fn strings(xs: &[&str]) -> Vec<String> {
    xs.iter().map(|s| s.to_string()).collect()
}

/// `0.9984 [0.9975, 0.9993]`, or the mean alone for one seed.
fn interval_cell(s: Option<MeanInterval>, digits: usize) -> String {
    match s {
        None => "–".into(),
        Some(s) if s.n < 2 => format!("{:.digits$}", s.mean),
        Some(s) => format!("{:.digits$} [{:.digits$}, {:.digits$}]", s.mean, s.lo, s.hi),
    }
}

fn mean_cell(s: Option<MeanInterval>, digits: usize) -> String {
    s.map_or("–".into(), |s| format!("{:.digits$}", s.mean))
}

const SHARE: Option<(f64, f64)> = Some((0.0, 1.0));

/// The summary over seeds (`<id>-summary`) and, for several groups and datasets, the F1 grid
/// (`<id>-f1`); their numbers also go to `constants`.
fn write_summaries(
    stage: &mut Staged,
    tables: &mut BTreeMap<String, String>,
    id: &str,
    groups: &[SeedGroup<'_>],
    constants: &mut BTreeMap<String, String>,
) -> Result<()> {
    let metrics = [
        ("precision", "/metrics/precision"),
        ("recall", "/metrics/recall"),
        ("f1", "/metrics/f1"),
    ];
    let header = strings(&[
        "task group",
        "dataset",
        "seeds",
        "precision",
        "recall",
        "F1",
        "F1 min–max",
        "seconds",
        "peak MiB",
    ]);
    let mut csv_header = strings(&["task_group", "dataset", "seeds", "failed"]);
    for (name, _) in metrics {
        for part in ["mean", "lo", "hi"] {
            csv_header.push(format!("{name}_{part}"));
        }
    }
    csv_header.extend(strings(&[
        "f1_min",
        "f1_max",
        "seconds_mean",
        "peak_rss_mb_mean",
    ]));
    let (mut rows, mut csv_rows) = (Vec::new(), Vec::new());
    for g in groups {
        let s: Vec<Option<MeanInterval>> =
            metrics.iter().map(|(_, p)| g.summary(p, SHARE)).collect();
        let secs = g.summary("/runtime_s", None);
        let peak = g.summary("/peak_rss_mb", None);
        let seeds = if g.failed > 0 {
            format!("{} ({} failed)", g.ok.len(), g.failed)
        } else {
            g.ok.len().to_string()
        };
        rows.push(vec![
            g.group.clone(),
            g.dataset.clone(),
            seeds,
            interval_cell(s[0], 4),
            interval_cell(s[1], 4),
            interval_cell(s[2], 4),
            s[2].map_or("–".into(), |f| format!("{:.4}–{:.4}", f.min, f.max)),
            mean_cell(secs, 2),
            mean_cell(peak, 1),
        ]);
        let mut c = vec![
            g.group.clone(),
            g.dataset.clone(),
            g.ok.len().to_string(),
            g.failed.to_string(),
        ];
        for x in &s {
            for part in [x.map(|x| x.mean), x.map(|x| x.lo), x.map(|x| x.hi)] {
                c.push(part.map_or(String::new(), |v| format!("{v:.6}")));
            }
        }
        c.push(s[2].map_or(String::new(), |f| format!("{:.6}", f.min)));
        c.push(s[2].map_or(String::new(), |f| format!("{:.6}", f.max)));
        c.push(secs.map_or(String::new(), |f| format!("{:.3}", f.mean)));
        c.push(peak.map_or(String::new(), |f| format!("{:.1}", f.mean)));
        csv_rows.push(c);
        let key = format!("{id}.{}.{}", g.group, g.dataset);
        constants.insert(format!("{key}.seeds"), g.ok.len().to_string());
        for ((name, _), x) in metrics.iter().zip(&s) {
            if let Some(x) = x {
                constants.insert(format!("{key}.{name}.mean"), format!("{:.4}", x.mean));
                constants.insert(format!("{key}.{name}.lo"), format!("{:.4}", x.lo));
                constants.insert(format!("{key}.{name}.hi"), format!("{:.4}", x.hi));
            }
        }
        if let Some(x) = secs {
            constants.insert(format!("{key}.seconds.mean"), format!("{:.2}", x.mean));
        }
        if let Some(x) = peak {
            constants.insert(format!("{key}.peak_rss_mb.mean"), format!("{:.1}", x.mean));
        }
    }
    let caption = format!(
        "experiment `{id}` over seeds: mean and 95 % t-interval [lo, hi] (Student's t with n − 1 \
         degrees of freedom over the n seeds, clipped to [0, 1]), F1 range, mean seconds and \
         peak memory of the run. Made by `fellegi paper build` from paper/results/{id}/."
    );
    write_table(
        stage,
        tables,
        &format!("{id}-summary"),
        &caption,
        &header,
        &rows,
        (&csv_header, &csv_rows),
    )?;

    // F1 as task group × dataset.
    let group_names = unique(groups.iter().map(|g| g.group.clone()));
    let datasets = unique(groups.iter().map(|g| g.dataset.clone()));
    if group_names.len() >= 2 && datasets.len() >= 2 {
        let mut header = vec!["task group".to_string()];
        header.extend(datasets.iter().cloned());
        let grid: Vec<Vec<String>> = group_names
            .iter()
            .map(|gn| {
                let mut r = vec![gn.clone()];
                for d in &datasets {
                    let s = groups
                        .iter()
                        .find(|g| &g.group == gn && &g.dataset == d)
                        .and_then(|g| g.summary("/metrics/f1", SHARE));
                    r.push(interval_cell(s, 4));
                }
                r
            })
            .collect();
        let caption = format!(
            "experiment `{id}`: F1 per task group (rows) and dataset (columns), mean over seeds \
             and 95 % t-interval [lo, hi]. Made by `fellegi paper build` from paper/results/{id}/."
        );
        write_table(
            stage,
            tables,
            &format!("{id}-f1"),
            &caption,
            &header,
            &grid,
            (&header, &grid),
        )?;
    }
    Ok(())
}

/// `<id>-paired` when some method shares two or more seeds with the baseline (the first task
/// group) on a dataset: per seed the F1 difference method − baseline, its mean with the 95 %
/// t-interval of the paired differences, and the exact sign test
/// ([`super::summary::paired_comparisons`]); the numbers also go to `constants` as
/// `<id>.paired.<group>.<dataset>.f1_diff.{mean,lo,hi,sign_p}`.
fn write_paired(
    stage: &mut Staged,
    tables: &mut BTreeMap<String, String>,
    id: &str,
    groups: &[SeedGroup<'_>],
    constants: &mut BTreeMap<String, String>,
) -> Result<()> {
    let pairs = paired_comparisons(groups, "/metrics/f1");
    if pairs.is_empty() {
        return Ok(());
    }
    let header = strings(&[
        "method",
        "baseline",
        "dataset",
        "seeds",
        "F1 difference per seed",
        "mean difference [95 % t-interval]",
        "higher / lower / tied",
        "sign test p",
    ]);
    let csv_header = strings(&[
        "method",
        "baseline",
        "dataset",
        "seeds",
        "differences",
        "mean",
        "lo",
        "hi",
        "higher",
        "lower",
        "tied",
        "sign_p",
    ]);
    let (mut rows, mut csv_rows) = (Vec::new(), Vec::new());
    for p in &pairs {
        let d = &p.difference;
        rows.push(vec![
            p.group.clone(),
            p.baseline.clone(),
            p.dataset.clone(),
            d.seeds.len().to_string(),
            d.differences
                .iter()
                .map(|x| format!("{x:+.4}"))
                .collect::<Vec<_>>()
                .join(" "),
            format!("{:+.4} [{:+.4}, {:+.4}]", d.mean, d.lo, d.hi),
            format!("{} / {} / {}", d.wins, d.losses, d.ties),
            format!("{:.4}", d.sign_p),
        ]);
        csv_rows.push(vec![
            p.group.clone(),
            p.baseline.clone(),
            p.dataset.clone(),
            d.seeds.len().to_string(),
            d.differences
                .iter()
                .map(|x| format!("{x:.6}"))
                .collect::<Vec<_>>()
                .join(" "),
            format!("{:.6}", d.mean),
            format!("{:.6}", d.lo),
            format!("{:.6}", d.hi),
            d.wins.to_string(),
            d.losses.to_string(),
            d.ties.to_string(),
            format!("{:.6}", d.sign_p),
        ]);
        let key = format!("{id}.paired.{}.{}.f1_diff", p.group, p.dataset);
        constants.insert(format!("{key}.mean"), format!("{:+.4}", d.mean));
        constants.insert(format!("{key}.lo"), format!("{:+.4}", d.lo));
        constants.insert(format!("{key}.hi"), format!("{:+.4}", d.hi));
        constants.insert(format!("{key}.sign_p"), format!("{:.4}", d.sign_p));
    }
    let caption = format!(
        "experiment `{id}`: each method against the baseline (the first task group) on the seeds \
         both ran. Per seed the F1 difference method − baseline, then its mean and the 95 % \
         t-interval of the paired differences (Student's t with n − 1 degrees of freedom over \
         the n seeds, from statrs), which removes what the seed moves in both methods alike; and \
         the exact two-sided sign test (Binomial(n, 1/2), ties dropped) of the seeds where the \
         method is higher against those where it is lower. An interval that excludes 0 settles \
         the comparison at the 5 % level; with n seeds the sign test cannot go below 2^(1−n). \
         Made by `fellegi paper build` from paper/results/{id}/."
    );
    write_table(
        stage,
        tables,
        &format!("{id}-paired"),
        &caption,
        &header,
        &rows,
        (&csv_header, &csv_rows),
    )
}

/// The numbers of an external experiment's committed `results/latest.json` (e.g. the scale
/// benchmark), as constants `<id>.<path>` (e.g. `scale.fellegi.wall_s`), written as in the file.
fn external_constants(
    dir: &Path,
    id: &str,
    constants: &mut BTreeMap<String, String>,
) -> Result<()> {
    let path = dir.join("results/latest.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(());
    };
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Parse {
        origin: path.display().to_string(),
        message: e.to_string(),
    })?;
    fn walk(v: &serde_json::Value, key: String, out: &mut BTreeMap<String, String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    walk(x, format!("{key}.{k}"), out);
                }
            }
            serde_json::Value::Number(n) => {
                out.insert(key, n.to_string());
            }
            _ => {}
        }
    }
    walk(&v, id.to_string(), constants);
    Ok(())
}

/// An external experiment's committed `results/sizes.json` (runs of both tools at several sizes,
/// as `experiments/scale/run.sh` writes it), if any: constants `ID.runs.ENTITIES.…` for each run
/// and the table `ID-sizes` (records, each tool's seconds, peak MiB and F1, and the ratios).
fn external_sizes(
    dir: &Path,
    id: &str,
    stage: &mut Staged,
    tables: &mut BTreeMap<String, String>,
    constants: &mut BTreeMap<String, String>,
) -> Result<()> {
    let path = dir.join("results/sizes.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(());
    };
    let bad = |message: String| Error::Parse {
        origin: path.display().to_string(),
        message,
    };
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let runs = v["runs"]
        .as_array()
        .ok_or_else(|| bad("no `runs` array".into()))?;
    let header = strings(&[
        "records",
        "fellegi s",
        "Splink s",
        "time ratio",
        "fellegi MiB",
        "Splink MiB",
        "memory ratio",
        "fellegi F1",
        "Splink F1",
    ]);
    let mut rows = Vec::new();
    for r in runs {
        let num = |p: &str| {
            r.pointer(p)
                .and_then(|x| x.as_f64())
                .ok_or_else(|| bad(format!("a run has no number at {p}")))
        };
        let entities = num("/entities")? as u64;
        let key = format!("{id}.runs.{entities}");
        for (name, p) in [
            ("records", "/records"),
            ("fellegi.wall_s", "/fellegi/wall_s"),
            ("fellegi.peak_rss_mb", "/fellegi/peak_rss_mb"),
            ("fellegi.f1", "/fellegi/f1"),
            ("splink.wall_s", "/splink/wall_s"),
            ("splink.peak_rss_mb", "/splink/peak_rss_mb"),
            ("splink.f1", "/splink/f1"),
            (
                "wall_ratio_splink_over_fellegi",
                "/wall_ratio_splink_over_fellegi",
            ),
            (
                "rss_ratio_splink_over_fellegi",
                "/rss_ratio_splink_over_fellegi",
            ),
        ] {
            let x = num(p)?;
            let text = if name == "records" {
                thousands(x as u64)
            } else if name.ends_with("f1") {
                format!("{x:.4}")
            } else {
                format!("{x}")
            };
            constants.insert(format!("{key}.{name}"), text);
        }
        rows.push(vec![
            thousands(num("/records")? as u64),
            format!("{:.2}", num("/fellegi/wall_s")?),
            format!("{:.2}", num("/splink/wall_s")?),
            format!("{:.1}×", num("/wall_ratio_splink_over_fellegi")?),
            format!("{}", num("/fellegi/peak_rss_mb")?),
            format!("{}", num("/splink/peak_rss_mb")?),
            format!("{:.1}×", num("/rss_ratio_splink_over_fellegi")?),
            format!("{:.4}", num("/fellegi/f1")?),
            format!("{:.4}", num("/splink/f1")?),
        ]);
    }
    let caption = format!(
        "experiment `{id}`: fellegi and Splink 5 on the same files, back to back, at each size \
         (wall seconds and peak resident MiB of the whole process; ratios Splink / fellegi). \
         From experiments/{id}/results/sizes.json, written by experiments/{id}/run.sh."
    );
    write_table(
        stage,
        tables,
        &format!("{id}-sizes"),
        &caption,
        &header,
        &rows,
        (&header, &rows),
    )
}

/// Distinct values in first-appearance order.
fn unique(it: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in it {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// Fills each `{{name}}` in `text` with `constants[name]`, and each `{{table:stem}}` with the
/// Markdown table `stem` this build wrote (`tables[stem]`, e.g. `febrl4-method-variants-f1`);
/// `origin` names the file in errors.
///
/// # Errors
/// [`Error::Parse`] for an unknown name or table or an unclosed `{{`, with the line number.
pub fn render_constants(
    text: &str,
    constants: &BTreeMap<String, String>,
    tables: &BTreeMap<String, String>,
    origin: &str,
) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let at = || format!("{origin}:{}", i + 1);
        let mut rest = line;
        while let Some(a) = rest.find("{{") {
            out.push_str(&rest[..a]);
            let Some(b) = rest[a..].find("}}") else {
                return Err(Error::Parse {
                    origin: at(),
                    message: "`{{` without a closing `}}`".into(),
                });
            };
            let name = rest[a + 2..a + b].trim();
            let value = match name.strip_prefix("table:") {
                Some(stem) => tables.get(stem.trim()).ok_or_else(|| Error::Parse {
                    origin: at(),
                    message: format!(
                        "unknown table `{}`: `fellegi paper build` wrote no {0}.md",
                        stem.trim()
                    ),
                })?,
                None => constants.get(name).ok_or_else(|| Error::Parse {
                    origin: at(),
                    message: format!(
                        "unknown constant `{name}`: constants.json (written by `fellegi paper build`) has no such key"
                    ),
                })?,
            };
            out.push_str(value.trim_end_matches('\n'));
            rest = &rest[a + b + 2..];
        }
        out.push_str(rest);
    }
    Ok(out)
}

/// Kinds of file a paper build writes (and may remove when no longer made).
const GENERATED_EXTENSIONS: [&str; 6] = ["md", "csv", "tex", "svg", "png", "json"];

/// Removes from `out` the files of a generated kind that this build did not write (tables and
/// figures of tasks or experiments that no longer exist), so that `out` holds exactly what the
/// committed results make. Only in a folder a paper build made before (one with
/// `constants.json`); other files are left alone.
fn remove_stale(out: &Path, written: &[std::path::PathBuf]) -> Result<()> {
    if !out.join("constants.json").is_file() {
        return Ok(());
    }
    let keep: std::collections::BTreeSet<std::ffi::OsString> = written
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_os_string()))
        .collect();
    for entry in std::fs::read_dir(out).map_err(|e| Error::io(out, e))? {
        let path = entry.map_err(|e| Error::io(out, e))?.path();
        let generated = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| GENERATED_EXTENSIONS.contains(&e));
        let name = path.file_name().map(|n| n.to_os_string());
        if path.is_file() && generated && name.is_some_and(|n| !keep.contains(&n)) {
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
}

/// Builds `out` from the results in `results` for the experiments in `experiments`; with
/// `paper`, also `out/paper.md`: that Markdown source with every `{{name}}` replaced by the
/// constant of that name and every `{{table:stem}}` by that table (so no number in the text is
/// typed by hand; see [`render_constants`]), and links into the generated folder
/// (`generated/x.svg`) made relative to it (`x.svg`).
///
/// # Errors
/// [`Error::Io`] or [`Error::Parse`] for unreadable results or specs, [`Error::Internal`] for a
/// figure that cannot be drawn, [`Error::Parse`] for a placeholder naming no constant.
pub fn build(
    experiments: &Path,
    results: &Path,
    out: &Path,
    paper: Option<&Path>,
) -> Result<Vec<std::path::PathBuf>> {
    let res = load_results(results)?;
    let mut stage = Staged::new(out)?;
    let mut constants: BTreeMap<String, String> = BTreeMap::new();
    let mut tables: BTreeMap<String, String> = BTreeMap::new();
    let mut repro = String::from(
        "| experiment | quantity | published | obtained | tolerance | within | source |\n|---|---|---|---|---|---|---|\n",
    );
    let mut figures_md = String::from(
        "# Figures\n\nMade by `fellegi paper build` from the committed results; each caption names \
         the experiment that made the figure. Every figure is also written as PNG (same name, \
         `.png`).\n\n",
    );
    for d in discover(experiments)? {
        let exp = Experiment::load(&d)?;
        let id = exp.spec.id.clone();
        // Rows in the spec's task order, then any result whose task the spec no longer has.
        let spec_keys: Vec<String> = exp.tasks(false).into_iter().map(|t| t.key).collect();
        let mut rows: Vec<&serde_json::Value> = spec_keys
            .iter()
            .filter_map(|k| res.get(&(id.clone(), k.clone())))
            .collect();
        rows.extend(
            res.iter()
                .filter(|((e, t), _)| *e == id && !spec_keys.contains(t))
                .map(|(_, v)| v),
        );
        if !exp.is_runnable() {
            external_constants(&d, &id, &mut constants)?;
            external_sizes(&d, &id, &mut stage, &mut tables, &mut constants)?;
        }
        if rows.is_empty() {
            continue;
        }
        let header = strings(&COLUMNS);
        let table: Vec<Vec<String>> = rows.iter().map(|v| row(v).to_vec()).collect();
        for (r, v) in table.iter().zip(&rows) {
            let key = format!("{id}.{}", r[0].replace('/', "."));
            for (name, val) in [
                ("f1", &r[6]),
                ("precision", &r[4]),
                ("recall", &r[5]),
                ("lambda", &r[7]),
                ("pairs_completeness", &r[9]),
                ("seconds", &r[10]),
                ("peak_rss_mb", &r[11]),
            ] {
                constants.insert(format!("{key}.{name}"), val.clone());
            }
            for (name, ptr) in [
                ("candidate_pairs", "/metrics/candidate_pairs"),
                ("records", "/metrics/records"),
            ] {
                if let Some(n) = v.pointer(ptr).and_then(|x| x.as_u64()) {
                    constants.insert(format!("{key}.{name}"), thousands(n));
                }
            }
        }
        let caption = format!(
            "experiment `{id}` ({}). Made by `fellegi paper build` from paper/results/{id}/.",
            exp.spec.question
        );
        write_table(
            &mut stage,
            &mut tables,
            &id,
            &caption,
            &header,
            &table,
            (&header, &table),
        )?;

        let groups = seed_groups(&exp, |key| res.get(&(id.clone(), key.to_string())));
        if groups.iter().any(|g| g.ok.len() >= 2) {
            write_summaries(&mut stage, &mut tables, &id, &groups, &mut constants)?;
            write_paired(&mut stage, &mut tables, &id, &groups, &mut constants)?;
        }
        for f in figures(&exp, &groups, experiments) {
            let svg = f.chart.to_svg()?;
            let png = f.chart.to_png()?;
            stage.write(&format!("{}.svg", f.name), |w| w.write_all(svg.as_bytes()))?;
            stage.write(&format!("{}.png", f.name), |w| w.write_all(&png))?;
            figures_md.push_str(&format!(
                "![{}]({}.svg)\n\nFigure `{}`: {}\n\n",
                f.caption.replace('`', ""),
                f.name,
                f.name,
                f.caption
            ));
        }

        for e in &exp.spec.expected {
            let got = res
                .get(&(id.clone(), e.task.clone()))
                .and_then(|v| v.pointer(&e.pointer))
                .and_then(|x| x.as_f64());
            let within = got.map(|g| (g - e.value).abs() <= e.tolerance);
            // Obtained values of the checked quantities, for the text: key = task and pointer
            // with `/` as `.`, e.g. `<id>.as207.rldata500.seed-42.metrics.true_positives`.
            if let Some(g) = got {
                constants.insert(
                    format!(
                        "{id}.{}{}",
                        e.task.replace('/', "."),
                        e.pointer.replace('/', ".")
                    ),
                    format!("{g}"),
                );
            }
            repro.push_str(&format!(
                "| {id} | {} {} | {} | {} | {} | {} | {} |\n",
                e.task,
                e.pointer,
                e.value,
                got.map_or("–".into(), |g| format!("{g}")),
                e.tolerance,
                match within {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "no result",
                },
                e.source
            ));
        }
    }
    stage.write("reproductions.md", |w| w.write_all(repro.as_bytes()))?;
    tables.insert("reproductions".into(), repro.clone());
    stage.write("figures.md", |w| w.write_all(figures_md.as_bytes()))?;
    let cj = serde_json::to_string_pretty(&constants)
        .map_err(|e| Error::Internal(format!("constants.json: {e}")))?
        + "\n";
    stage.write("constants.json", |w| w.write_all(cj.as_bytes()))?;
    if let Some(p) = paper {
        let text = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
        let rendered = render_constants(&text, &constants, &tables, &p.display().to_string())?
            .replace("](generated/", "](");
        stage.write("paper.md", |w| w.write_all(rendered.as_bytes()))?;
    }
    let written = stage.commit()?;
    remove_stale(out, &written)?;
    Ok(written)
}
