//! A whole linkage run as one value ([`Job`]) and its result ([`LinkRun`]).

use std::time::Instant;

use super::warnings::Warning;
use super::{Linked, link};
use crate::block::total_pairs;
use crate::classify::{DecisionOptions, Decisions, band_notes, check_probability, decide};
use crate::cluster::Clusters;
use crate::compare::Comparer;
use crate::compare::Unparsed;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::eval::LinkMetrics;
use crate::eval::curves::Sweep;
use crate::eval::summary::{EstimatedMetrics, RunContext, Seconds};
use crate::model::predict::ScoredPairs;
use crate::model::train::Fitted;
use crate::model::weight_of_probability;
use crate::output::{Staged, write_clusters, write_json, write_pairs};
use crate::plot::Format;
use crate::progress::Progress;
use crate::report::{ReportInput, charts, render_html};
use crate::settings::Settings;

/// How a run obtains λ, m and u and which pairs it scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkMethod {
    /// Fellegi–Sunter with m and u estimated by EM following the training plan, on the blocking
    /// candidates (or on every pair when the settings say `exhaustive = true`). The default.
    #[default]
    Probabilistic,
    /// As probabilistic, but every admissible pair is counted exactly and scored, without
    /// blocking (`exhaustive = true` in the written model; see [`crate::exhaustive`]).
    Exhaustive,
    /// λ, m and u from the truth column: the ceiling for benchmarks, never for real linkage.
    Oracle,
    /// Deterministic linkage: a blocking candidate links iff it agrees on one of the
    /// deterministic rules; nothing is fitted ([`super::RULES_MATCH_WEIGHT`]).
    RulesOnly,
}

/// A whole linkage run: validated, expanded settings, the method, the decision options, the
/// smallest probability kept, the seed and the number of threads.
///
/// The seed that is used is `seed` when given, else `training.u.seed` from the settings, else
/// [`super::DEFAULT_SEED`] (42); it seeds every random choice (the u sample, the oracle's sample) and is
/// recorded in the model and the metrics. Results do not depend on `threads`.
#[derive(Debug, Clone)]
pub struct Job {
    /// The settings, builders expanded ([`Settings::expanded`]).
    pub settings: Settings,
    /// The method; default from the settings (exhaustive when they say so, else probabilistic).
    pub method: LinkMethod,
    /// Threshold, Fellegi–Sunter thresholds and one-to-one assignment.
    pub decisions: DecisionOptions,
    /// Pairs with at least this match probability are kept (pairs.csv); default 0.01.
    pub min_probability: f64,
    /// The seed; default none (then `training.u.seed`, else 42).
    pub seed: Option<u64>,
    /// Worker threads; default none (the current rayon pool, all cores unless configured).
    pub threads: Option<usize>,
    /// The largest share of a date or numeric comparison's values in one input that may fail
    /// to parse (they are compared as missing); above it the run fails naming the column, the
    /// file, the expected format and an example. Default the settings' `max_unparsed`, else
    /// 0.05 (5 %); `None` allows any share (`--allow-unparsed`).
    pub max_unparsed_share: Option<f64>,
}

/// Trains and scores a job as [`super::link`] does: (expanded settings, inputs, method, seed,
/// `min_probability`, progress) → the trained model and the scored pairs ([`Job::run_with`]).
pub type Linker<'a> =
    dyn Fn(&Settings, &Dataset, LinkMethod, u64, f64, &Progress) -> Result<Linked> + Sync + 'a;

/// Default of [`Job::max_unparsed_share`]: 5 %.
pub const DEFAULT_MAX_UNPARSED_SHARE: f64 = 0.05;

/// The result of [`Job::run`].
#[derive(Debug)]
pub struct LinkRun {
    /// The fitted model as settings (`model.json`).
    pub model: Settings,
    /// λ, m, u and how they were obtained.
    pub fitted: Fitted,
    /// The comparisons compiled against the inputs (names and levels of the pairs' columns).
    pub comparer: Comparer,
    /// The pairs at or above the job's `min_probability`.
    pub pairs: ScoredPairs,
    /// Links and Fellegi–Sunter decisions.
    pub decisions: Decisions,
    /// Connected components of the links.
    pub clusters: Clusters,
    /// Metrics against the truth, when the inputs have a truth column; its `seconds` hold the
    /// phases this run timed (`compare_train_score`, `cluster`), the rest is the caller's.
    pub metrics: Option<LinkMetrics>,
    /// The threshold sweep behind the metrics.
    pub sweep: Option<Sweep>,
    /// Notes for the user, each once; the library prints nothing.
    pub notes: Vec<String>,
    /// Warnings about degenerate fits, unparsed values, empty outputs or a missing truth
    /// column ([`super::warnings`]); metrics.json `warnings`.
    pub warnings: Vec<Warning>,
    /// Per date or numeric comparison and input: values that do not parse (metrics.json
    /// `unparsed`).
    pub unparsed: Vec<Unparsed>,
    /// The truth-free metrics and the model's estimates, always computed (metrics.json
    /// without truth; its `estimated` block with truth too).
    pub estimated: EstimatedMetrics,
    /// Seconds of the phases the run timed: `compare_train_score`, `cluster` and (evaluation
    /// only) `evaluate_and_write`.
    pub seconds: Seconds,
}

impl Job {
    /// A job with the defaults: the method the settings imply, threshold 0.5, no one-to-one or
    /// Fellegi–Sunter decisions, `min_probability` 0.01, the settings' seed or 42, all threads.
    pub fn new(settings: Settings) -> Job {
        let max_unparsed = settings.max_unparsed;
        let method = if settings.exhaustive {
            LinkMethod::Exhaustive
        } else {
            LinkMethod::Probabilistic
        };
        Job {
            settings,
            method,
            decisions: DecisionOptions::default(),
            min_probability: 0.01,
            seed: None,
            threads: None,
            max_unparsed_share: Some(max_unparsed.unwrap_or(DEFAULT_MAX_UNPARSED_SHARE)),
        }
    }

    /// The seed the run uses: `seed`, else `training.u.seed`, else [`super::DEFAULT_SEED`].
    pub fn effective_seed(&self) -> u64 {
        super::effective_seed(self.seed, &self.settings)
    }

    /// Checks the options before any work.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the option: a threshold or `min_probability` outside [0, 1],
    /// `min_probability` above the threshold, bad Fellegi–Sunter rates or weights, zero threads,
    /// or rules-only linkage on exhaustive settings.
    pub fn validate(&self) -> Result<()> {
        self.decisions.validate()?;
        check_probability("--min-probability", self.min_probability)?;
        if self.min_probability > self.decisions.threshold {
            return Err(Error::invalid(
                "--min-probability",
                format!(
                    "--min-probability ({}) must not exceed --threshold ({}): clusters and metrics need every pair at the threshold",
                    self.min_probability, self.decisions.threshold
                ),
            ));
        }
        if let Some(s) = self.max_unparsed_share {
            if !(0.0..=1.0).contains(&s) {
                return Err(Error::invalid(
                    "--max-unparsed",
                    format!("--max-unparsed must be a share in [0, 1], got {s}"),
                ));
            }
        }
        if self.threads == Some(0) {
            return Err(Error::invalid("--threads", "--threads must be at least 1"));
        }
        if self.method == LinkMethod::RulesOnly && self.settings.exhaustive {
            return Err(Error::invalid(
                "--rules-only",
                "--rules-only classifies the blocking candidates; it does not combine with `exhaustive = true` in the settings",
            ));
        }
        Ok(())
    }

    /// Runs the job on `ds` (read with [`super::load`]): train and score by the method, decide,
    /// cluster, and evaluate when `ds` has a truth column.
    ///
    /// # Errors
    /// As [`Job::validate`], [`DecisionOptions::check_inputs`] and [`super::link`].
    pub fn run(&self, ds: &Dataset, progress: &Progress) -> Result<LinkRun> {
        self.run_with(ds, progress, &link)
    }

    /// As [`Job::run`], with training and scoring done by `linker` instead of [`super::link`]
    /// (called with the expanded settings, the inputs, the method, the seed, `min_probability`
    /// and the progress): the seam an engine such as the distributed one (feature
    /// `distributed`) plugs into; deciding, clustering and evaluation stay the same.
    ///
    /// # Errors
    /// As [`Job::run`], and whatever `linker` returns.
    pub fn run_with(
        &self,
        ds: &Dataset,
        progress: &Progress,
        linker: &Linker<'_>,
    ) -> Result<LinkRun> {
        self.validate()?;
        self.decisions
            .check_inputs(self.settings.link_type, ds.sources.len())?;
        match self.threads {
            Some(n) => rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| {
                    Error::invalid("--threads", format!("could not start {n} threads: {e}"))
                })?
                .install(|| self.run_here(ds, progress, linker)),
            None => self.run_here(ds, progress, linker),
        }
    }

    fn run_here(&self, ds: &Dataset, progress: &Progress, linker: &Linker<'_>) -> Result<LinkRun> {
        progress.checkpoint()?;
        let seed = self.effective_seed();
        let unparsed = crate::compare::unparsed_values(&self.settings.comparisons, ds)?;
        self.check_unparsed(ds, &unparsed)?;
        let mut warnings: Vec<Warning> = unparsed
            .iter()
            .filter(|u| u.unparsed > 0)
            .map(|u| Warning {
                code: "unparsed_values".into(),
                message: describe_unparsed(u),
            })
            .collect();
        let t = Instant::now();
        let Linked {
            mut trained,
            scored,
        } = linker(
            &self.settings,
            ds,
            self.method,
            seed,
            self.min_probability,
            progress,
        )?;
        progress.checkpoint()?;
        let mut seconds = Seconds {
            compare_train_score: t.elapsed().as_secs_f64(),
            ..Seconds::default()
        };
        let t = Instant::now();
        warnings.extend(super::warnings::check_fit(
            &self.settings,
            self.method,
            ds,
            &trained.fitted,
        )?);
        let pairs = scored.pairs;
        warnings.extend(super::warnings::check_outputs(
            &self.settings,
            ds,
            pairs.len(),
            self.min_probability,
        ));
        let decisions = decide(&pairs, &trained.fitted.params, &self.decisions);
        if let Some(b) = trained.fitted.fit.bootstrap.as_mut() {
            bootstrap_outcomes(b, &pairs, decisions.threshold);
            if let Some(f) = trained.model.fit.as_mut() {
                f.bootstrap = Some(b.clone());
            }
        }
        let mut notes = scored.notes;
        if let (Some(rule), Some(fs)) = (self.decisions.fs, &decisions.fs) {
            let admissible = total_pairs(self.settings.link_type, &ds.source_sizes());
            notes.extend(band_notes(&trained.fitted.params, rule, fs, admissible));
            // Review pairs below --min-probability are never scored into pairs.csv.
            let params = &trained.fitted.params;
            let to_match_weight = params.prior_weight() - fs.scale.offset(params);
            let kept_from = weight_of_probability(self.min_probability.clamp(1e-12, 1.0 - 1e-12));
            if fs.thresholds.upper > fs.thresholds.lower
                && fs.thresholds.lower + to_match_weight < kept_from
            {
                notes.push(format!(
                    "the Fellegi–Sunter lower threshold ({:.2} on the {} scale) is below the weight of --min-probability {} ({:.2} as a match weight): pairs between them are review pairs that were not kept; lower --min-probability to see them",
                    fs.thresholds.lower,
                    fs.scale.name(),
                    self.min_probability,
                    kept_from
                ));
            }
        }
        let clusters = Clusters::of(ds.len(), decisions.links(&pairs));
        seconds.cluster = t.elapsed().as_secs_f64();
        progress.phase("cluster", t);
        progress.checkpoint()?;
        let t = Instant::now();
        let rule_names: Vec<String> = if trained.model.exhaustive {
            vec!["all pairs (exhaustive)".to_string()]
        } else {
            trained
                .model
                .blocking
                .iter()
                .map(|b| b.describe())
                .collect()
        };
        let ctx = RunContext {
            ds,
            link_type: self.settings.link_type,
            params: &trained.fitted.params,
            rule_names: &rule_names,
            min_probability: self.min_probability,
            seed,
        };
        let computed = LinkMetrics::compute(&ctx, &pairs, &decisions, &clusters);
        progress.phase("evaluate: against the truth", t);
        let t_e = Instant::now();
        let mut estimated = EstimatedMetrics::compute(&ctx, &pairs, &decisions, &clusters);
        progress.phase("evaluate: model-based", t_e);
        let t_e = Instant::now();
        estimated.estimated = blocking_aware(
            estimated.estimated,
            self.method,
            &trained,
            &scored.comparer,
            ds,
            self.settings.link_type,
            &pairs,
            seed,
        );
        progress.phase("evaluate: blocking-aware", t_e);
        seconds.evaluate_and_write = t.elapsed().as_secs_f64();
        let (metrics, sweep) = match computed {
            Some((mut m, sw)) => {
                m.seconds = seconds;
                (Some(m), Some(sw))
            }
            None => (None, None),
        };
        progress.phase("evaluate", t);
        Ok(LinkRun {
            model: trained.model,
            fitted: trained.fitted,
            comparer: scored.comparer,
            pairs,
            decisions,
            clusters,
            metrics,
            sweep,
            notes: once(notes),
            warnings,
            unparsed,
            estimated,
            seconds,
        })
    }

    /// Fails when a date or numeric comparison's values in one input fail to parse above
    /// [`Job::max_unparsed_share`].
    fn check_unparsed(&self, ds: &Dataset, unparsed: &[Unparsed]) -> Result<()> {
        let Some(limit) = self.max_unparsed_share else {
            return Ok(());
        };
        let Some(u) = unparsed.iter().find(|u| u.unparsed > 0 && u.share > limit) else {
            return Ok(());
        };
        let src = ds.sources.iter().find(|s| s.name == u.source);
        let file = src.map_or(u.source.clone(), |s| s.path.display().to_string());
        // The format the input declares, when it declares one, is the one its values missed.
        let declared = self
            .settings
            .inputs
            .iter()
            .find(|d| {
                d.source.as_deref() == Some(u.source.as_str())
                    || (src.is_some() && d.path.as_deref() == src.map(|s| s.path.as_path()))
            })
            .and_then(|d| d.date_format.get(&u.column));
        let expected = match declared {
            Some(f) => format!("date {f} (this input's date_format)"),
            None => u.expected.clone(),
        };
        Err(Error::Data(format!(
            "column `{}` in {file}: {} of {} values ({:.1} %) do not parse as {expected} for comparison `{}`, e.g. `{}`; over the {:.1} % limit (--max-unparsed, or max_unparsed in the settings). Give the file's [[input]] the format its values use (date_format = {{ {} = \"%d/%m/%Y\" }}, one of %Y%m%d, %Y-%m-%d, %d/%m/%Y, %m/%d/%Y), clean the values, or pass --allow-unparsed to compare them as missing",
            u.column,
            u.unparsed,
            u.values,
            100.0 * u.share,
            u.comparison,
            u.examples.first().map_or("", String::as_str),
            100.0 * limit,
            u.column,
        )))
    }
}

/// One line about a comparison's unparsed values in one input.
pub fn describe_unparsed(u: &Unparsed) -> String {
    format!(
        "comparison `{}` (column `{}`) in source `{}`: {} of {} values ({:.1} %) do not parse as {} and are compared as missing, e.g. {}",
        u.comparison,
        u.column,
        u.source,
        u.unparsed,
        u.values,
        100.0 * u.share,
        u.expected,
        u.examples
            .iter()
            .map(|e| format!("`{e}`"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// `notes` without repeats, first occurrences in order.
fn once(notes: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(notes.len());
    for n in notes {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

/// What [`LinkRun::write`] wrote.
#[derive(Debug, Clone, Default)]
pub struct Written {
    /// The files, in the order they were committed.
    pub files: Vec<std::path::PathBuf>,
    /// Charts that could not be drawn, with the reason (the rest of the report is written).
    pub notes: Vec<String>,
}

impl LinkRun {
    /// What the report and its charts are drawn from: this run on `ds`, titled `title`, with
    /// `metrics` (the run's own, or a copy with the write time added).
    pub fn report_input<'a>(
        &'a self,
        ds: &'a Dataset,
        title: &str,
        metrics: Option<&'a LinkMetrics>,
    ) -> ReportInput<'a> {
        ReportInput {
            title: title.to_string(),
            model: &self.model,
            params: &self.fitted.params,
            comparer: &self.comparer,
            ds,
            pairs: &self.pairs,
            threshold: self.decisions.threshold,
            metrics,
            sweep: self.sweep.as_ref(),
            review: 25,
            estimated: Some(&self.estimated),
            unparsed: &self.unparsed,
            warnings: self
                .warnings
                .iter()
                .map(|w| (w.code.clone(), w.message.clone()))
                .collect(),
        }
    }

    /// metrics.json: with truth, [`LinkMetrics`]; without, [`EstimatedMetrics`] (`precision`,
    /// `recall`, `f1` null); both with `estimated`, `unparsed`, `warnings` and `truth_column`
    /// (the truth column read, or null).
    pub fn metrics_json(
        &self,
        metrics: Option<&LinkMetrics>,
        seconds: &Seconds,
        spent: f64,
    ) -> serde_json::Value {
        let mut json = match metrics {
            Some(m) => m.to_json(),
            None => {
                let mut e = self.estimated.clone();
                e.seconds = Seconds {
                    evaluate_and_write: seconds.evaluate_and_write + spent,
                    total: seconds.total + spent,
                    ..*seconds
                };
                e.to_json()
            }
        };
        if let serde_json::Value::Object(o) = &mut json {
            let v = |x: serde_json::Result<serde_json::Value>| x.unwrap_or(serde_json::Value::Null);
            o.insert(
                "estimated".into(),
                v(serde_json::to_value(&self.estimated.estimated)),
            );
            o.insert("unparsed".into(), v(serde_json::to_value(&self.unparsed)));
            o.insert("warnings".into(), v(serde_json::to_value(&self.warnings)));
            let truth = if metrics.is_some() {
                self.model.truth.clone()
            } else {
                None
            };
            o.insert("truth_column".into(), v(serde_json::to_value(truth)));
        }
        json
    }

    /// Writes the run's files under `out`: `model.json`, `pairs.csv`, `clusters.csv`,
    /// `metrics.json` (with truth) and, with `report` (the page's title), `report.html` and every
    /// chart as SVG and PNG under `charts/`. Each file is written under a temporary name and
    /// renamed when all are complete ([`Staged`]). metrics.json gets `seconds` as the caller
    /// timed the run up to this call (`load`, `total`; the run's own phases are in
    /// [`LinkRun::seconds`]), with the time spent here writing the other files added to
    /// `evaluate_and_write` and `total`.
    ///
    /// # Errors
    /// [`Error::Io`] when a file cannot be written.
    pub fn write(
        &self,
        out: &std::path::Path,
        ds: &Dataset,
        seconds: Seconds,
        report: Option<&str>,
    ) -> Result<Written> {
        let t = Instant::now();
        let mut stage = Staged::new(out)?;
        stage.write("model.json", |w| write_json(w, &self.model))?;
        stage.write("pairs.csv", |w| {
            let fs = self.decisions.fs.as_ref();
            write_pairs(
                w,
                ds,
                &self.comparer,
                &self.pairs,
                fs.map(|f| f.decisions.as_slice()),
            )
        })?;
        stage.write("clusters.csv", |w| {
            write_clusters(w, ds, &self.clusters.ids)
        })?;
        let spent = t.elapsed().as_secs_f64();
        let metrics = self.metrics.clone().map(|mut m| {
            m.seconds = Seconds {
                evaluate_and_write: seconds.evaluate_and_write + spent,
                total: seconds.total + spent,
                ..seconds
            };
            m
        });
        let json = self.metrics_json(metrics.as_ref(), &seconds, spent);
        stage.write("metrics.json", |w| write_json(w, &json))?;
        let mut notes = Vec::new();
        if let Some(title) = report {
            let input = self.report_input(ds, title, metrics.as_ref());
            let html = render_html(&input);
            stage.write("report.html", |w| w.write_all(html.as_bytes()))?;
            let mut chart_stage = Staged::new(&out.join("charts"))?;
            for (name, chart) in charts(&input) {
                let mut failed = Vec::new();
                for (fmt, ext) in [(Format::Svg, "svg"), (Format::Png, "png")] {
                    match chart.render(fmt) {
                        Ok(bytes) => {
                            chart_stage.write(&format!("{name}.{ext}"), |w| w.write_all(&bytes))?;
                        }
                        Err(e) => failed.push(format!("{ext}: {e}")),
                    }
                }
                // One note per chart, however many of its formats failed.
                if !failed.is_empty() {
                    notes.push(format!("chart {name} not drawn ({})", failed.join("; ")));
                }
            }
            chart_stage.commit()?;
        }
        Ok(Written {
            files: stage.commit()?,
            notes,
        })
    }
}

/// Fills the bootstrap's intervals of the number of links at `threshold` and of the model-based
/// precision and recall ([`crate::eval::summary::Estimates`]): each replicate's parameters
/// rescore the pairs written (grouped by pattern first, so the cost is patterns × replicates)
/// and are read as the run's own estimates are. Pairs never written (below
/// `--min-probability` under the fitted model) stay unseen, as they are for the estimates.
fn bootstrap_outcomes(
    b: &mut crate::model::bootstrap::BootstrapSummary,
    pairs: &ScoredPairs,
    threshold: f64,
) {
    use crate::model::bootstrap::percentile_95;
    if b.params.is_empty() {
        return;
    }
    // With term-frequency adjustments pairs of one pattern differ in weight, so each pair is
    // its own group, its adjustment held at the fitted model's value (it moves with u of the
    // exact level only through log2 u, which the note says).
    let Some(groups) = pairs.score_groups() else {
        return;
    };
    if groups.per_pair {
        b.note.push_str(
            "; links, precision and recall rescore every pair with its term-frequency adjustment held at the fitted value",
        );
    }
    let (mut links, mut precision, mut recall) = (Vec::new(), Vec::new(), Vec::new());
    for p in &b.params {
        let (mut n, mut tl, mut written) = (0u64, 0.0f64, 0.0f64);
        for (prob, &c) in groups.probabilities(p).into_iter().zip(&groups.counts) {
            written += c as f64 * prob;
            if prob >= threshold {
                n += c;
                tl += c as f64 * prob;
            }
        }
        links.push(n as f64);
        precision.push(if n > 0 { tl / n as f64 } else { 0.0 });
        recall.push(if written > 0.0 { tl / written } else { 0.0 });
    }
    b.links = Some(percentile_95(&links));
    b.precision = Some(percentile_95(&precision));
    b.recall = Some(percentile_95(&recall));
}

/// The estimates with the blocking-aware false-negative rate ([`crate::eval::blocking_recall`]):
/// the model's blocking recall under the fitted parameters, and a 95 % predictive interval of the
/// realised rate over the bootstrap replicates (or the fitted parameters alone).
#[allow(clippy::too_many_arguments)]
fn blocking_aware(
    e: crate::eval::summary::Estimates,
    method: LinkMethod,
    trained: &super::Trained,
    comparer: &Comparer,
    ds: &Dataset,
    link_type: crate::data::LinkType,
    pairs: &ScoredPairs,
    seed: u64,
) -> crate::eval::summary::Estimates {
    use crate::eval::blocking_recall::{BlockingModel, predictive_interval};
    let model = &trained.model;
    let params = &trained.fitted.params;
    let reps = trained
        .fitted
        .fit
        .bootstrap
        .as_ref()
        .map_or(&[][..], |b| &b.params[..]);
    let written = pairs.score_groups();
    let threshold = e.threshold;
    let interval = |r: &dyn Fn(&crate::model::FsParams) -> f64| {
        written
            .as_ref()
            .map(|w| predictive_interval(w, params, reps, threshold, r, seed))
    };
    let what = if reps.is_empty() {
        "; the 95 % interval is predictive (which matches the fitted model lets through, drawn pattern by pattern, and those blocking misses, Poisson) with the fitted parameters held: set training.bootstrap to add their sampling error"
    } else {
        "; the 95 % interval is predictive over the bootstrap replicates (their parameters, then which matches each lets through and blocking misses)"
    };
    if method == LinkMethod::RulesOnly {
        return e.with_blocking_recall(
            Err("rules only: there is no model to estimate from".into()),
            None,
            String::new(),
        );
    }
    if model.exhaustive {
        let iv = interval(&|_| 1.0);
        return e.with_blocking_recall(
            Ok(1.0),
            iv,
            format!("exhaustive linkage: every admissible pair is scored, so blocking misses nothing{what}"),
        );
    }
    match BlockingModel::new(ds, link_type, &model.blocking, &model.comparisons, comparer) {
        Err(why) => e.with_blocking_recall(Err(why), None, String::new()),
        Ok(bm) => {
            let iv = interval(&|p| bm.recall(p));
            let bound = if bm.derived_keys {
                "; a rule uses a derived key (phonetic code or prefix), which agrees more often than the exact level, so the blocking recall is a lower bound and the rate an upper bound"
            } else {
                ""
            };
            e.with_blocking_recall(
                Ok(bm.recall(params)),
                iv,
                format!(
                    "1 - blocking_recall x recall: blocking_recall is the model's probability that a match agrees exactly on every key of at least one prediction blocking rule (exact-level m of each key column times its share of pairs with both values present, agreements independent given a match); conditional dependence between key columns makes it optimistic{bound}{what}"
                ),
            )
        }
    }
}
