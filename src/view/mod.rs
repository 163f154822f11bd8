//! Review and teaching pages: four self-contained HTML files (inline script and styles, no
//! network, they work from `file://`) drawn from one run.
//!
//! - [`patterns_html`], the **comparison viewer**: one bar per comparison pattern with its count,
//!   the share above the threshold and (with truth) its true and false matches; a click shows
//!   example pairs side by side with each comparison's level and contribution as a waterfall.
//! - [`clusters_html`], the **cluster studio**: sampled clusters drawn as graphs, with size,
//!   density, bridges and the weakest link.
//! - [`label_html`], the **labelling tool**: pairs one at a time, keys for match / non-match /
//!   unsure, labels kept in the browser and exported as a Splink-style `labels.csv`, which
//!   `fellegi evaluate --labels` reads back.
//! - [`lab_html`], the **Fellegi–Sunter lab**: sliders for λ, m, u, the threshold and the
//!   clerical band, with weights, posteriors, links, precision, recall, F1, the clerical
//!   workload, the weight histogram and the PR curve recomputed live from the pattern table.
//!
//! Every page is computed from a [`RunData`]: the run's model, its pattern table over the
//! candidate pairs (with truth counts when known) and the scored pairs. A run is summarised
//! exactly by its patterns, so the lab's numbers are the library's: [`lab_evaluate`] computes
//! them in Rust for any parameters, and the browser tests compare the page against it.
//!
//! The bar of a pattern and the waterfall of its pairs are drawn by one function of the
//! pattern's levels (prior + the level weights), the same sum as [`crate::pipeline::explain`];
//! a test checks that `explain` of every embedded example gives its pattern's weight.
//!
//! Large runs are sampled (example pairs per pattern, clusters, label candidates) and each page
//! says how much it shows.

mod clusters;
mod lab;
mod label;

use serde_json::{Value, json};

use crate::compare::Comparer;
use crate::data::Dataset;
use crate::error::Result;
use crate::model::FsParams;
use crate::output::PairRecord;
use crate::pipeline::{PatternExamples, PatternTable, pattern_table_with_examples};
use crate::progress::Progress;
use crate::settings::Settings;

pub use clusters::{ClusterOptions, ClusterView, clusters_data, clusters_html, sample_clusters};
pub use lab::{
    LabOptions, LabParams, LabResult, ReplaySource, ReplayStep, candidates_replay, em_replay,
    lab_data, lab_evaluate, lab_html,
};
pub use label::{LabelOptions, LabelStrategy, label_data, label_html, sample_pairs};

/// Most example pairs embedded in the comparison viewer, over all patterns (3 per pattern
/// while they fit); keeps a FEBRL4 page well under 2 MB.
pub const MAX_EXAMPLE_PAIRS: usize = 3000;

/// Example pairs per pattern when every pattern can have that many.
pub const EXAMPLES_PER_PATTERN: usize = 3;

/// What every page is drawn from: one run's model, its pattern table over the candidate pairs
/// (with example pairs per pattern) and its scored pairs.
#[derive(Debug)]
pub struct RunData<'a> {
    /// Page title, e.g. `fellegi: febrl4`.
    pub title: String,
    /// The fitted model.
    pub model: &'a Settings,
    /// Its parameters.
    pub params: FsParams,
    /// The compiled comparisons.
    pub comparer: Comparer,
    /// The records.
    pub ds: &'a Dataset,
    /// The pattern table over the candidate pairs.
    pub table: PatternTable,
    /// Up to [`EXAMPLES_PER_PATTERN`] example pairs per row of `table`.
    pub examples: PatternExamples,
    /// The scored pairs of the run (its pairs.csv).
    pub pairs: Vec<PairRecord>,
    /// The match threshold on the match probability.
    pub threshold: f64,
    /// True pairs the link type admits (candidates or not), when the inputs have truth.
    pub true_pairs: Option<u64>,
}

impl<'a> RunData<'a> {
    /// Builds the pattern table of `model` (`origin` names it in errors) over `ds`, with
    /// example pairs, next to the run's scored `pairs` and `threshold`.
    ///
    /// # Errors
    /// As [`crate::pipeline::pattern_table`].
    pub fn build(
        title: &str,
        model: &'a Settings,
        origin: &str,
        ds: &'a Dataset,
        pairs: Vec<PairRecord>,
        threshold: f64,
        progress: &Progress,
    ) -> Result<RunData<'a>> {
        let params = FsParams::from_settings(model, origin)?;
        let (comparer, table, mut examples) =
            pattern_table_with_examples(model, origin, ds, EXAMPLES_PER_PATTERN, progress)?;
        // Keep the page small: as many examples per pattern as fit in MAX_EXAMPLE_PAIRS, patterns
        // in weight order.
        let per = (MAX_EXAMPLE_PAIRS / table.rows.len().max(1)).clamp(1, EXAMPLES_PER_PATTERN);
        let mut left = MAX_EXAMPLE_PAIRS;
        for ex in &mut examples {
            ex.truncate(per.min(left));
            left -= ex.len();
        }
        let true_pairs = ds.truth.as_deref().map(|t| {
            crate::data::count_true_pairs(t, &ds.source_of, ds.sources.len(), model.link_type)
        });
        Ok(RunData {
            title: title.to_string(),
            model,
            params,
            comparer,
            ds,
            table,
            examples,
            pairs,
            threshold,
            true_pairs,
        })
    }

    /// The comparisons as the pages show them: name, level labels, null level.
    fn comparisons_json(&self) -> Value {
        Value::Array(
            self.table
                .comparisons
                .iter()
                .enumerate()
                .map(|(c, name)| {
                    json!({
                        "name": name,
                        "levels": self.table.level_labels[c],
                        "null": self.params.null_level[c],
                    })
                })
                .collect(),
        )
    }

    /// The header every page's data has: title, comparisons, parameters, threshold, truth.
    fn common_json(&self) -> serde_json::Map<String, Value> {
        let mut o = serde_json::Map::new();
        o.insert("title".into(), json!(self.title));
        o.insert(
            "tool".into(),
            json!(format!("fellegi {}", env!("CARGO_PKG_VERSION"))),
        );
        o.insert("comparisons".into(), self.comparisons_json());
        o.insert("params".into(), params_json(&self.params));
        o.insert("threshold".into(), json!(self.threshold));
        o.insert("truth".into(), json!(self.ds.truth.is_some()));
        o.insert("true_pairs".into(), json!(self.true_pairs));
        o.insert(
            "columns".into(),
            json!(self.ds.columns.iter().map(|c| &c.name).collect::<Vec<_>>()),
        );
        o
    }
}

/// λ, m and u as JSON (`{"lambda", "m", "u"}`).
pub(crate) fn params_json(p: &FsParams) -> Value {
    json!({ "lambda": p.lambda, "m": p.m, "u": p.u })
}

/// The records a page refers to, numbered in order of first use: source, id and every column's
/// value (null when missing).
#[derive(Debug, Default)]
pub(crate) struct Records {
    index: std::collections::BTreeMap<usize, usize>,
    rows: Vec<usize>,
}

impl Records {
    /// The page's number for record `r` of the dataset.
    pub(crate) fn id(&mut self, r: usize) -> usize {
        let next = self.rows.len();
        *self.index.entry(r).or_insert_with(|| {
            self.rows.push(r);
            next
        })
    }

    /// The records as JSON: `[{"s": source, "id": id, "v": [values]}]`.
    pub(crate) fn json(&self, ds: &Dataset) -> Value {
        Value::Array(
            self.rows
                .iter()
                .map(|&r| {
                    let v: Vec<Option<&str>> = ds.columns.iter().map(|c| c.get(r)).collect();
                    json!({ "s": ds.source_name(r), "id": ds.ids.get(r), "v": v })
                })
                .collect(),
        )
    }
}

/// The comparison viewer's data: the common header, one row per pattern (`levels`, `count`,
/// `true` (null without truth), `examples` as pairs of record numbers) and the records.
pub fn patterns_data(run: &RunData<'_>) -> Value {
    let mut o = run.common_json();
    let mut recs = Records::default();
    let mut shown = 0usize;
    let rows: Vec<Value> = run
        .table
        .rows
        .iter()
        .zip(&run.examples)
        .map(|(row, ex)| {
            let ex: Vec<[usize; 2]> = ex
                .iter()
                .map(|&(l, r)| [recs.id(l as usize), recs.id(r as usize)])
                .collect();
            shown += ex.len();
            json!({
                "levels": row.levels,
                "count": row.count,
                "true": row.true_matches,
                "weight": row.weight,
                "examples": ex,
            })
        })
        .collect();
    let n_pairs: u64 = run.table.rows.iter().map(|r| r.count).sum();
    let with_examples = run.examples.iter().filter(|e| !e.is_empty()).count();
    o.insert("patterns".into(), Value::Array(rows));
    o.insert("records".into(), recs.json(run.ds));
    o.insert(
        "sample_note".into(),
        json!(if run.model.exhaustive {
            format!(
                "exhaustive model: {} patterns over {} pairs counted without enumerating them, so no example pairs are shown",
                run.table.rows.len(),
                n_pairs
            )
        } else {
            format!(
                "{} patterns over {} candidate pairs; example pairs: {} shown ({} patterns have examples, at most {} per pattern, the first met in blocking order)",
                run.table.rows.len(),
                n_pairs,
                shown,
                with_examples,
                EXAMPLES_PER_PATTERN
            )
        }),
    );
    Value::Object(o)
}

/// The comparison viewer page.
pub fn patterns_html(run: &RunData<'_>) -> String {
    page(
        &format!("{} — comparison viewer", run.title),
        &patterns_data(run),
        include_str!("assets/patterns.js"),
    )
}

/// Shared styles of the pages.
const STYLE: &str = include_str!("assets/style.css");
/// Shared script (data loading, weights, formatting, small SVG helpers).
const COMMON_JS: &str = include_str!("assets/common.js");

/// One self-contained page: `data` embedded as JSON (with `</` escaped so it cannot close the
/// script element), the shared script and the page's own.
pub(crate) fn page(title: &str, data: &Value, script: &str) -> String {
    let json = serde_json::to_string(data)
        .unwrap_or_else(|_| "{}".into())
        .replace("</", "<\\/");
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n<div id=\"app\"></div>\n<script type=\"application/json\" id=\"data\">{json}</script>\n<script>\n{COMMON_JS}\n{script}\n</script>\n</body>\n</html>\n",
        crate::report::escape(title)
    )
}

/// The lab's extras for `run`: the oracle's parameters when the inputs have truth (seeded by
/// `seed`) and the EM replay ([`em_replay`]: the fitted trace, or at most 25 iterations on the
/// candidates when the trace cannot be replayed).
///
/// # Errors
/// As [`crate::pipeline::oracle_params`] (never for inputs without truth).
pub fn lab_options(run: &RunData<'_>, seed: u64, progress: &Progress) -> Result<LabOptions> {
    let oracle = if run.ds.truth.is_some() && run.true_pairs.unwrap_or(0) > 0 {
        Some(crate::pipeline::oracle_params(
            run.model, run.ds, seed, progress,
        )?)
    } else {
        None
    };
    let (source, replay) = em_replay(run, 25);
    Ok(LabOptions {
        oracle,
        replay,
        replay_source: Some(source),
    })
}

/// The four pages' file names, in the order [`write_all`] writes them.
pub const PAGE_FILES: [&str; 4] = ["patterns.html", "clusters.html", "label.html", "lab.html"];

/// Writes the four pages of `run` into `out` (`patterns.html`, `clusters.html`, `label.html`,
/// `lab.html`), each under a temporary name, renamed when all are written.
///
/// # Errors
/// [`crate::Error::Io`] when a page cannot be written; as [`label_html`].
pub fn write_all(
    out: &std::path::Path,
    run: &RunData<'_>,
    clusters: &ClusterOptions,
    labels: &LabelOptions,
    lab: &LabOptions,
) -> Result<Vec<std::path::PathBuf>> {
    let pages = [
        patterns_html(run),
        clusters_html(run, clusters),
        label_html(run, labels)?,
        lab_html(run, lab),
    ];
    let mut stage = crate::output::Staged::new(out)?;
    for (name, html) in PAGE_FILES.iter().zip(&pages) {
        stage.write(name, |w| w.write_all(html.as_bytes()))?;
    }
    stage.commit()
}

/// Writes the four pages of a finished run into its output folder `out`, from the `pairs.csv`
/// the run wrote there, as `fellegi link --report` does: every sample (clusters, pairs to label,
/// the oracle's parameters) seeded by `seed`, the other options at their defaults. `model` is
/// the fitted model, `ds` the inputs it was run on, `threshold` the run's match threshold.
///
/// # Errors
/// As [`crate::output::read_pairs`], [`RunData::build`], [`lab_options`] and [`write_all`].
pub fn write_run_pages(
    out: &std::path::Path,
    title: &str,
    model: &Settings,
    ds: &Dataset,
    threshold: f64,
    seed: u64,
    progress: &Progress,
) -> Result<Vec<std::path::PathBuf>> {
    let pairs = crate::output::read_pairs(&out.join("pairs.csv"))?;
    let data = RunData::build(title, model, "model.json", ds, pairs, threshold, progress)?;
    let lab = lab_options(&data, seed, progress)?;
    let labels = LabelOptions {
        seed,
        ..Default::default()
    };
    let clusters = ClusterOptions {
        seed,
        ..Default::default()
    };
    write_all(out, &data, &clusters, &labels, &lab)
}
