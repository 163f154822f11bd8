//! A whole linkage run as one value ([`Job`]) and its result ([`LinkRun`]).

use std::time::Instant;

use super::{Linked, link};
use crate::block::total_pairs;
use crate::classify::{DecisionOptions, Decisions, band_notes, check_probability, decide};
use crate::cluster::Clusters;
use crate::compare::Comparer;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::eval::LinkMetrics;
use crate::eval::curves::Sweep;
use crate::eval::summary::{RunContext, Seconds};
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
}

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
    /// Notes for the user; the library prints nothing.
    pub notes: Vec<String>,
    /// Seconds of the phases the run timed: `compare_train_score`, `cluster` and (evaluation
    /// only) `evaluate_and_write`.
    pub seconds: Seconds,
}

impl Job {
    /// A job with the defaults: the method the settings imply, threshold 0.5, no one-to-one or
    /// Fellegi–Sunter decisions, `min_probability` 0.01, the settings' seed or 42, all threads.
    pub fn new(settings: Settings) -> Job {
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
                .install(|| self.run_here(ds, progress)),
            None => self.run_here(ds, progress),
        }
    }

    fn run_here(&self, ds: &Dataset, progress: &Progress) -> Result<LinkRun> {
        let seed = self.effective_seed();
        let t = Instant::now();
        let Linked { trained, scored } = link(
            &self.settings,
            ds,
            self.method,
            seed,
            self.min_probability,
            progress,
        )?;
        let mut seconds = Seconds {
            compare_train_score: t.elapsed().as_secs_f64(),
            ..Seconds::default()
        };
        let t = Instant::now();
        let pairs = scored.pairs;
        let decisions = decide(&pairs, &trained.fitted.params, &self.decisions);
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
            notes,
            seconds,
        })
    }
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
        if let Some(m) = &metrics {
            stage.write("metrics.json", |w| write_json(w, &m.to_json()))?;
        }
        let mut notes = Vec::new();
        if let Some(title) = report {
            let input = ReportInput {
                title: title.to_string(),
                model: &self.model,
                params: &self.fitted.params,
                comparer: &self.comparer,
                ds,
                pairs: &self.pairs,
                threshold: self.decisions.threshold,
                metrics: metrics.as_ref(),
                sweep: self.sweep.as_ref(),
                review: 25,
            };
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
