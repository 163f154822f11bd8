//! The one conductor: the whole pipeline as typed library calls, load → clean → train → score →
//! decide → cluster → evaluate. The CLI, and every other face, parses its input into these
//! values, calls them and presents the result; no stage is run anywhere else.
//!
//! [`Job`] is a whole linkage run: validated settings, a [`LinkMethod`], decision options
//! ([`DecisionOptions`]: threshold or Fellegi–Sunter thresholds, one-to-one), the smallest
//! probability kept, a seed and a thread count. [`Job::run`] returns a [`LinkRun`]: the fitted
//! model, the scored pairs, the decisions, the clusters and, when the inputs have a truth column,
//! the typed [`LinkMetrics`] whose serialisation is `metrics.json`. The stages are library calls
//! too: [`load`], [`fit`] (train), [`score`] (predict), [`link`] (train and score in one pass),
//! [`cluster_pairs`] and [`explain`]; evaluation of a pairs file is [`crate::eval::evaluation`].
//!
//! ```
//! use fellegi::pipeline::{self, Job};
//! use fellegi::progress::Progress;
//! use fellegi::registry::Registry;
//! use fellegi::settings::Settings;
//!
//! # fn main() -> fellegi::Result<()> {
//! let registry = Registry::load(None)?;
//! let febrl4 = registry.get("febrl4")?;
//! let settings = Settings::from_path(&registry.settings_path(febrl4))?.expanded("febrl4")?;
//! let progress = Progress::default();
//! let ds = pipeline::load(&settings, &registry.files(febrl4), &progress)?;
//! let run = Job::new(settings).run(&ds, &progress)?;
//! let m = run.metrics.expect("FEBRL4 has a truth column");
//! println!("precision {:.4} recall {:.4} F1 {:.4}", m.precision, m.recall, m.f1);
//! assert!(m.f1 > 0.99);
//! # Ok(())
//! # }
//! ```

pub mod bayes;
mod explain;
mod job;
mod patterns;
mod source;
pub mod warnings;

use std::path::{Path, PathBuf};

pub use explain::{Explanation, explain, find_record};
pub use job::{
    DEFAULT_MAX_UNPARSED_SHARE, Job, LinkMethod, LinkRun, Linker, Written, describe_unparsed,
};
pub use patterns::{
    PatternExamples, PatternRow, PatternTable, pattern_table, pattern_table_with_examples,
};
pub use source::Candidates;
pub use warnings::Warning;

pub use crate::classify::{DecisionOptions, Decisions, FsRule, FsScale};
pub use crate::cluster::Clusters;
pub use crate::eval::LinkMetrics;

use crate::block::{Blocker, total_pairs};
use crate::clean::apply_transforms;
use crate::compare::candidates::CandidatePatterns;
use crate::compare::{Comparer, PatternCounts};
use crate::data::{
    Dataset, InputDescription, InputSpec, LinkType, MISSING, MemorySource, MemorySpec,
    read_csv_files, read_memory,
};
use crate::error::{Error, Result};
use crate::exhaustive::Exhaustive;
use crate::model::predict::{ScoredPairs, predict, predict_by, predict_cached};
use crate::model::tf::TermFrequencies;
use crate::model::train::{Fitted, oracle, train};
use crate::model::{FitInfo, FsParams, InputDigest};
use crate::progress::Progress;
use crate::settings::{LambdaSpec, Settings};

/// The seed used when neither the caller nor `training.u.seed` gives one.
pub const DEFAULT_SEED: u64 = 42;

/// The seed of a run: `explicit` (e.g. `--seed`) when given, else the settings'
/// `training.u.seed`, else [`DEFAULT_SEED`].
pub fn effective_seed(explicit: Option<u64>, settings: &Settings) -> u64 {
    explicit
        .or(settings.training.u.seed)
        .unwrap_or(DEFAULT_SEED)
}

/// Whether two paths name the same file: equal as given, as absolute paths, or once
/// canonicalised (symbolic links and `..` resolved). Matches an input file with the `path` of
/// an `[[input]]`.
pub fn same_file(a: &Path, b: &Path) -> bool {
    a == b
        || std::path::absolute(a).ok() == std::path::absolute(b).ok()
        || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// The files to read and their descriptions: `paths` (e.g. `--input`) when given, each with the
/// settings' `[[input]]` whose `path` is that file or whose `source` is its stem (else the
/// defaults); with no `paths`, the `[[input]]` files themselves, in order.
///
/// # Errors
/// [`Error::Settings`] for an `[[input]]` without `path` when no files are given, or one named
/// only by `source` that matches none of the files.
pub fn resolve_inputs(
    settings: &Settings,
    paths: &[PathBuf],
) -> Result<(Vec<PathBuf>, Vec<InputDescription>)> {
    if paths.is_empty() {
        let mut files = Vec::new();
        for (i, d) in settings.inputs.iter().enumerate() {
            let Some(p) = &d.path else {
                return Err(Error::settings(
                    "settings",
                    format!("input[{i}].path"),
                    "no input files were given (--input), so every [[input]] needs `path = \"FILE.csv\"` (relative to the settings file)",
                ));
            };
            files.push(p.clone());
        }
        return Ok((files, settings.inputs.clone()));
    }
    let mut used = vec![false; settings.inputs.len()];
    let mut descriptions = Vec::with_capacity(paths.len());
    for p in paths {
        let stem = crate::data::stem_of(p);
        let found = settings
            .inputs
            .iter()
            .position(|d| d.path.as_deref().is_some_and(|q| same_file(p, q)))
            .or_else(|| {
                settings
                    .inputs
                    .iter()
                    .position(|d| d.path.is_none() && d.source.as_deref() == Some(stem.as_str()))
            });
        descriptions.push(match found {
            Some(i) => {
                used[i] = true;
                settings.inputs[i].clone()
            }
            None => InputDescription::default(),
        });
    }
    for (i, d) in settings.inputs.iter().enumerate() {
        if !used[i] && d.path.is_none() {
            let stems: Vec<String> = paths.iter().map(|p| crate::data::stem_of(p)).collect();
            return Err(Error::settings(
                "settings",
                format!("input[{i}].source"),
                format!(
                    "`{}` matches none of the input files (their stems: {}); name a file's stem, or give `path`",
                    d.source.as_deref().unwrap_or(""),
                    stems.join(", ")
                ),
            ));
        }
    }
    Ok((paths.to_vec(), descriptions))
}

/// Reads the inputs the settings need (the files `paths`, else the settings' `[[input]]`
/// files; see [`resolve_inputs`]) and applies the settings' transforms.
///
/// # Errors
/// Input errors (see [`read_csv_files`]), [`resolve_inputs`]' errors, and [`Error::Invalid`]
/// when the number of inputs does not fit the link type.
pub fn load(settings: &Settings, paths: &[PathBuf], progress: &Progress) -> Result<Dataset> {
    let (paths, descriptions) = resolve_inputs(settings, paths)?;
    if let Some(p) = paths.iter().find(|p| crate::data::is_parquet(p)) {
        return Err(Error::invalid(
            "--input",
            format!(
                "{} is a Parquet file, and this reads CSV: `fellegi link` reads inputs that are all Parquet in a build with `--features distributed`; otherwise convert it to CSV (e.g. duckdb -c \"COPY (FROM 'in.parquet') TO 'in.csv'\")",
                p.display()
            ),
        ));
    }
    check_input_count(settings, paths.len())?;
    let spec = InputSpec {
        paths,
        descriptions,
        date_targets: settings.date_targets(),
        unique_id: settings.unique_id.clone(),
        truth: settings.truth.clone(),
        columns: settings.columns_used(),
    };
    let mut ds = read_csv_files(&spec, progress)?;
    apply_transforms(&mut ds, &settings.transforms)?;
    Ok(ds)
}

/// As [`load`], from in-memory sources ([`crate::data::read_memory`]): the columns the
/// settings read, then the settings' transforms. Sources holding the values of CSV files give
/// the dataset [`load`] gives for those files (only the recorded digests differ, see
/// [`crate::data::content_sha256`]).
///
/// # Errors
/// As [`crate::data::read_memory`], and [`Error::Invalid`] when the number of sources does not
/// fit the link type.
pub fn load_memory(
    settings: &Settings,
    sources: &[MemorySource<'_>],
    progress: &Progress,
) -> Result<Dataset> {
    check_input_count(settings, sources.len())?;
    let t = std::time::Instant::now();
    let spec = MemorySpec {
        unique_id: settings.unique_id.clone(),
        truth: settings.truth.clone(),
        columns: settings.columns_used(),
    };
    let mut ds = read_memory(sources, &spec)?;
    progress.phase("read tables", t);
    apply_transforms(&mut ds, &settings.transforms)?;
    Ok(ds)
}

/// Fails when the number of inputs does not fit the link type.
fn check_input_count(settings: &Settings, n: usize) -> Result<()> {
    match (settings.link_type, n) {
        (LinkType::Link, n) if n < 2 => {
            return Err(Error::invalid(
                "inputs",
                format!(
                    "link_type = \"link\" needs two or more inputs, got {n}; use link_type = \"dedupe\" for one file"
                ),
            ));
        }
        (LinkType::Dedupe, n) if n != 1 => {
            return Err(Error::invalid(
                "inputs",
                format!(
                    "link_type = \"dedupe\" takes one input, got {n}; use \"link\" or \"link_and_dedupe\" for several"
                ),
            ));
        }
        _ => {}
    }
    Ok(())
}

/// A trained model: the fitted model as settings (with `lambda`, `m`, `u` and `fit`) and the
/// parameters and fit record it was written from.
#[derive(Debug, Clone)]
pub struct Trained {
    /// The fitted model (`model.json`).
    pub model: Settings,
    /// λ, m, u and how they were obtained.
    pub fitted: Fitted,
}

/// Pairs scored by a model, with the compiled comparisons that produced their levels.
#[derive(Debug)]
pub struct Scored {
    /// The comparisons, compiled against the inputs.
    pub comparer: Comparer,
    /// The pairs at or above the smallest probability kept.
    pub pairs: ScoredPairs,
    /// Notes for the user (e.g. that exhaustive scoring left patterns out); nothing is printed.
    pub notes: Vec<String>,
}

/// A linkage run up to the scored pairs: the trained model and the scored pairs.
#[derive(Debug)]
pub struct Linked {
    /// The fitted model and parameters.
    pub trained: Trained,
    /// The scored pairs.
    pub scored: Scored,
}

/// The pairs of `ds` under the settings, for training.
fn candidates<'a>(
    settings: &Settings,
    ds: &'a Dataset,
    comparer: &'a Comparer,
    cache: Option<&'a CandidatePatterns>,
    all_pairs: Option<&'a PatternCounts>,
    progress: &'a Progress,
) -> Candidates<'a> {
    Candidates {
        cache,
        all_pairs,
        ..Candidates::new(settings, ds, comparer, progress)
    }
}

/// The fitted model: the settings with λ, m and u written in and the fit block attached.
fn trained(settings: &Settings, fitted: Fitted) -> Trained {
    let mut model = settings.clone();
    fitted.params.write_into(&mut model);
    model.fit = Some(fitted.fit.clone());
    Trained { model, fitted }
}

/// The error for settings without blocking rules where candidates are needed.
fn no_blocking(origin: &str, what: &str) -> Error {
    Error::settings(
        origin,
        "blocking",
        format!(
            "no [[blocking]] rules: {what} needs at least one, e.g. [[blocking]] keys = [\"surname\"]"
        ),
    )
}

/// The oracle's parameters for `ds` under the (expanded) settings: λ, m and u from the truth
/// ([`crate::model::train::oracle`]; `seed` seeds its u sample), for teaching and benchmarks.
///
/// # Errors
/// [`Error::Data`] without a truth column or true pairs; errors compiling the comparisons.
pub fn oracle_params(
    settings: &Settings,
    ds: &Dataset,
    seed: u64,
    progress: &Progress,
) -> Result<FsParams> {
    let comparer = Comparer::new(&settings.comparisons, ds)?;
    let src = candidates(settings, ds, &comparer, None, None, progress);
    Ok(oracle(&settings.train_spec(), &comparer, &src, seed)?.params)
}

/// Fits the model on `ds` following the (expanded) settings; `seed` seeds the u sample.
///
/// # Errors
/// As [`crate::model::train::train`], and blocking errors.
pub fn fit(settings: &Settings, ds: &Dataset, seed: u64, progress: &Progress) -> Result<Trained> {
    let comparer = Comparer::new(&settings.comparisons, ds)?;
    if settings.training.algorithm.is_bayesian() {
        let fit = bayes::fit_bayes(settings, ds, &comparer, seed, progress)?;
        return Ok(trained(settings, fit.fitted));
    }
    let fitted = if settings.exhaustive {
        let (_, counts) = exhaustive_index(ds, &comparer, settings, progress)?;
        let src = candidates(settings, ds, &comparer, None, Some(&counts), progress);
        train(&settings.train_spec(), &comparer, &src, seed, progress)?
    } else {
        let src = candidates(settings, ds, &comparer, None, None, progress);
        train(&settings.train_spec(), &comparer, &src, seed, progress)?
    };
    let fitted = with_labelled_m(settings, ds, &comparer, fitted)?;
    Ok(trained(settings, fitted))
}

/// m from clerical labels (`training.m = { labels = "labels.csv" }`), when the plan asks for
/// it: every comparison's m becomes the share of the labelled matches at each level (the
/// level vectors of the labelled pairs, compared as every run compares them; levels never seen
/// get half a count, null levels 1, as [`crate::model::train::u_from_counts`]). λ and u stay as
/// fitted; the fit records how m was obtained.
///
/// # Errors
/// As [`crate::eval::evaluation::read_labels`]; [`Error::Csv`] naming the line of a record
/// that is not in the inputs; [`Error::Settings`] when no pair is labelled a match.
pub fn with_labelled_m(
    settings: &Settings,
    ds: &Dataset,
    comparer: &Comparer,
    mut fitted: Fitted,
) -> Result<Fitted> {
    let Some(spec) = &settings.training.m else {
        return Ok(fitted);
    };
    let path = &spec.labels;
    let labels = crate::eval::evaluation::read_labels(path)?;
    crate::eval::evaluation::check_labels_known(ds, &labels, path)?;
    let index: std::collections::BTreeMap<(&str, &str), usize> = (0..ds.len())
        .map(|r| ((ds.source_name(r), ds.ids.get(r)), r))
        .collect();
    let mut counts: Vec<Vec<u64>> = comparer
        .comparisons
        .iter()
        .map(|c| vec![0; c.predicates.len()])
        .collect();
    let mut levels = vec![0u8; comparer.len()];
    let mut matches = 0u64;
    for l in labels.iter().filter(|l| l.is_match) {
        let a = index[&(l.left.0.as_str(), l.left.1.as_str())];
        let b = index[&(l.right.0.as_str(), l.right.1.as_str())];
        comparer.vector(ds, a.min(b) as u32, a.max(b) as u32, &mut levels);
        for (c, &lv) in levels.iter().enumerate() {
            counts[c][lv as usize] += 1;
        }
        matches += 1;
    }
    if matches == 0 {
        return Err(Error::settings(
            "settings",
            "training.m.labels",
            format!(
                "{}: no pair is labelled a match (clerical_match_score >= 0.5), so m cannot be estimated from it; label some matches or remove training.m",
                path.display()
            ),
        ));
    }
    let lc = crate::compare::sample::LevelCounts {
        counts,
        pairs: matches,
        records: ds.len(),
    };
    fitted.params.m = crate::model::train::u_from_counts(comparer, &lc);
    fitted.fit.m_method = Some(format!(
        "clerical labels: {matches} pairs labelled a match of {} in {}",
        labels.len(),
        path.display()
    ));
    Ok(fitted)
}

/// The exhaustive index of `ds` for the comparisons of `settings` (compiled in `comparer`) and
/// its exact pattern counts over every admissible pair.
fn exhaustive_index<'a>(
    ds: &'a Dataset,
    comparer: &'a Comparer,
    settings: &Settings,
    progress: &Progress,
) -> Result<(Exhaustive<'a>, PatternCounts)> {
    let ex = Exhaustive::build(
        ds,
        comparer,
        settings.link_type,
        Some(&settings.comparisons),
        progress,
    )?;
    let counts = ex.counts(progress)?;
    Ok((ex, counts))
}

/// Scores the prediction candidates of a fitted model (every admissible pair whose pattern
/// reaches `min_probability` for an exhaustive model).
///
/// # Errors
/// [`Error::Settings`] when the model lacks parameters or blocking rules; `origin` names it.
pub fn score(
    model: &Settings,
    origin: &str,
    ds: &Dataset,
    min_probability: f64,
    progress: &Progress,
) -> Result<Scored> {
    let params = FsParams::from_settings(model, origin)?;
    if !model.exhaustive && model.blocking.is_empty() {
        return Err(no_blocking(origin, "prediction"));
    }
    let comparer = Comparer::new(&model.comparisons, ds)?;
    let (pairs, notes) = score_with(model, &params, ds, &comparer, min_probability, progress)?;
    Ok(Scored {
        comparer,
        pairs,
        notes,
    })
}

/// Scores with a model's parameters and its compiled comparisons (see [`score`]).
fn score_with(
    model: &Settings,
    params: &FsParams,
    ds: &Dataset,
    comparer: &Comparer,
    min_probability: f64,
    progress: &Progress,
) -> Result<(ScoredPairs, Vec<String>)> {
    if model.exhaustive {
        let (ex, counts) = exhaustive_index(ds, comparer, model, progress)?;
        return Ok(ex.score(&counts, params, min_probability, progress));
    }
    let blocker = prediction_blocker(model, ds)?;
    let tf = TermFrequencies::build(&model.comparisons, comparer, ds, params)?;
    let pairs = predict(
        ds,
        comparer,
        &blocker,
        params,
        tf.as_ref(),
        min_probability,
        progress,
    );
    Ok((pairs, Vec::new()))
}

/// The blocker of the settings' prediction rules.
fn prediction_blocker(settings: &Settings, ds: &Dataset) -> Result<Blocker> {
    let rules: Vec<_> = settings.blocking.iter().map(|b| b.keys.clone()).collect();
    Blocker::new(ds, &rules, settings.link_type)
}

/// Most candidate pairs whose pattern ids are kept in memory (4 bytes each) by [`link`].
pub const CACHE_MAX_PAIRS: u64 = 400_000_000;

/// Trains and scores by `method` in one pass, comparing each prediction candidate once (the
/// settings must be expanded; `settings.exhaustive` makes [`LinkMethod::Probabilistic`] and
/// [`LinkMethod::Oracle`] enumerate every admissible pair instead of blocking).
///
/// # Errors
/// As [`fit`] and [`score`]; for [`LinkMethod::RulesOnly`] see [`RULES_MATCH_WEIGHT`].
pub fn link(
    settings: &Settings,
    ds: &Dataset,
    method: LinkMethod,
    seed: u64,
    min_probability: f64,
    progress: &Progress,
) -> Result<Linked> {
    let bayesian = settings.training.algorithm.is_bayesian() && method == LinkMethod::Probabilistic;
    let exhaustive = method == LinkMethod::Exhaustive
        || (settings.exhaustive && method == LinkMethod::Probabilistic && !bayesian);
    let blocked = !exhaustive && method != LinkMethod::Oracle && !bayesian;
    if blocked && settings.blocking.is_empty() {
        return Err(if method == LinkMethod::RulesOnly {
            Error::settings(
                "settings",
                "blocking",
                "no [[blocking]] rules: rules-only linkage classifies the blocking candidates, e.g. [[blocking]] keys = [\"surname\"]",
            )
        } else {
            no_blocking("settings", "prediction")
        });
    }
    let t = std::time::Instant::now();
    let comparer = Comparer::new(&settings.comparisons, ds)?;
    progress.phase("compile comparisons", t);
    progress.checkpoint()?;
    let call = Call {
        ds,
        comparer: &comparer,
        seed,
        min_probability,
        progress,
    };
    let (trained, pairs, notes) = match method {
        _ if bayesian => {
            let fit = bayes::fit_bayes(settings, ds, &comparer, seed, progress)?;
            let pairs = bayes::bayes_pairs(&fit, ds, &comparer, min_probability);
            (trained(settings, fit.fitted), pairs, Vec::new())
        }
        LinkMethod::RulesOnly => call.rules_only(settings)?,
        LinkMethod::Oracle => call.oracle(settings)?,
        _ if exhaustive => {
            let mut settings = settings.clone();
            settings.exhaustive = true;
            call.exhaustive(&settings)?
        }
        _ => call.blocked(settings)?,
    };
    Ok(Linked {
        trained,
        scored: Scored {
            comparer,
            pairs,
            notes,
        },
    })
}

/// What every method of [`link`] reads besides the settings.
struct Call<'a> {
    ds: &'a Dataset,
    comparer: &'a Comparer,
    seed: u64,
    min_probability: f64,
    progress: &'a Progress,
}

/// A method's result: the trained model, the scored pairs and notes for the user.
type MethodResult = Result<(Trained, ScoredPairs, Vec<String>)>;

impl Call<'_> {
    /// Probabilistic linkage on the blocking candidates.
    fn blocked(&self, settings: &Settings) -> MethodResult {
        let (ds, comparer, progress) = (self.ds, self.comparer, self.progress);
        let t = std::time::Instant::now();
        let blocker = prediction_blocker(settings, ds)?;
        // An upper bound (pairs within groups, before link-type and earlier-rule filtering) is
        // enough to decide whether the pattern ids fit in memory.
        let n: u64 = blocker.rules.iter().map(|r| r.raw_pairs()).sum();
        progress.phase("index blocking rules", t);
        let spec = settings.train_spec();
        if n > CACHE_MAX_PAIRS {
            let src = candidates(settings, ds, comparer, None, None, progress);
            let fitted = train(&spec, comparer, &src, self.seed, progress)?;
            let fitted = with_labelled_m(settings, ds, comparer, fitted)?;
            progress.checkpoint()?;
            let tf = TermFrequencies::build(&settings.comparisons, comparer, ds, &fitted.params)?;
            let pairs = predict(
                ds,
                comparer,
                &blocker,
                &fitted.params,
                tf.as_ref(),
                self.min_probability,
                progress,
            );
            return Ok((trained(settings, fitted), pairs, Vec::new()));
        }
        let t = std::time::Instant::now();
        let cache = CandidatePatterns::build(ds, comparer, blocker, progress);
        progress.phase("compare candidates", t);
        progress.checkpoint()?;
        let t = std::time::Instant::now();
        let fitted = {
            let src = candidates(settings, ds, comparer, Some(&cache), None, progress);
            train(&spec, comparer, &src, self.seed, progress)?
        };
        let fitted = with_labelled_m(settings, ds, comparer, fitted)?;
        progress.phase("train", t);
        progress.checkpoint()?;
        let t = std::time::Instant::now();
        let tf = TermFrequencies::build(&settings.comparisons, comparer, ds, &fitted.params)?;
        let pairs = predict_cached(
            ds,
            comparer,
            &cache,
            &fitted.params,
            tf.as_ref(),
            self.min_probability,
        );
        progress.phase("score", t);
        Ok((trained(settings, fitted), pairs, Vec::new()))
    }

    /// Exhaustive linkage (no blocking; `settings.exhaustive` is set): exact pattern counts over
    /// every admissible pair, EM on them (the default EM session runs on all pairs), then the
    /// pairs whose pattern reaches `min_probability`, ordered by (left, right), with notes for
    /// the user (e.g. when a pattern without agreement on any sparse comparison reaches it).
    fn exhaustive(&self, settings: &Settings) -> MethodResult {
        let (ds, comparer, progress) = (self.ds, self.comparer, self.progress);
        let (ex, counts) = exhaustive_index(ds, comparer, settings, progress)?;
        progress.checkpoint()?;
        let t = std::time::Instant::now();
        let src = candidates(settings, ds, comparer, None, Some(&counts), progress);
        let fitted = train(&settings.train_spec(), comparer, &src, self.seed, progress)?;
        let fitted = with_labelled_m(settings, ds, comparer, fitted)?;
        progress.phase("train", t);
        progress.checkpoint()?;
        let (pairs, notes) = ex.score(&counts, &fitted.params, self.min_probability, progress);
        Ok((trained(settings, fitted), pairs, notes))
    }

    /// λ, m and u from the truth ([`crate::model::train::oracle`]): the ceiling that
    /// unsupervised estimation can approach, for benchmarks only; scored as the settings say
    /// (blocked, or every pair when exhaustive).
    fn oracle(&self, settings: &Settings) -> MethodResult {
        let (ds, comparer, progress) = (self.ds, self.comparer, self.progress);
        let fitted = {
            let src = candidates(settings, ds, comparer, None, None, progress);
            oracle(&settings.train_spec(), comparer, &src, self.seed)?
        };
        let trained = trained(settings, fitted);
        if !settings.exhaustive && settings.blocking.is_empty() {
            return Err(no_blocking("oracle model", "prediction"));
        }
        let (pairs, notes) = score_with(
            &trained.model,
            &trained.fitted.params,
            ds,
            comparer,
            self.min_probability,
            progress,
        )?;
        Ok((trained, pairs, notes))
    }

    /// Deterministic linkage ([`LinkMethod::RulesOnly`]), the baseline probabilistic linkage is
    /// measured against: a candidate pair (from the settings' blocking rules, as for every other
    /// method) is a match, with probability 1 and match weight +[`RULES_MATCH_WEIGHT`], if and
    /// only if its records agree exactly on every key of at least one of
    /// `training.lambda.deterministic_rules` (a missing value never agrees); every other
    /// candidate has probability 0 and weight −[`RULES_MATCH_WEIGHT`]. A pair that a rule links
    /// but no blocking rule produces is not found, so the rules are best kept within the blocking
    /// (e.g. rule `given_name & surname` within block `given_name`).
    ///
    /// Nothing is estimated: the returned model is the settings with a `fit` block that says so
    /// (no λ, m or u, so `fellegi predict` refuses it), and the returned parameters are starting
    /// values with λ = the share of admissible pairs the rules link, never used for scoring.
    fn rules_only(&self, settings: &Settings) -> MethodResult {
        let (ds, comparer, progress) = (self.ds, self.comparer, self.progress);
        let Some(LambdaSpec::Deterministic(det)) = &settings.training.lambda else {
            return Err(Error::settings(
                "settings",
                "training.lambda.deterministic_rules",
                "rules-only linkage classifies with the deterministic rules, but the settings have none: add e.g. [training] lambda = { deterministic_rules = [[\"given_name\", \"surname\", \"date_of_birth\"]], recall = 0.8 }",
            ));
        };
        let rules = Blocker::new(ds, &det.deterministic_rules, settings.link_type)?;
        let linked = crate::block::count_pairs(&rules);
        let keys: Vec<&[u32]> = rules.rules.iter().map(|r| r.keys.as_slice()).collect();
        let blocker = prediction_blocker(settings, ds)?;
        let pairs = predict_by(
            ds,
            comparer,
            &blocker,
            self.min_probability,
            progress,
            |l, r, _| {
                let agree = keys.iter().any(|k| {
                    let a = k[l as usize];
                    a != MISSING && a == k[r as usize]
                });
                if agree {
                    (RULES_MATCH_WEIGHT, 1.0)
                } else {
                    (-RULES_MATCH_WEIGHT, 0.0)
                }
            },
        );
        let total = total_pairs(settings.link_type, &ds.source_sizes());
        let share = if total > 0 {
            linked as f64 / total as f64
        } else {
            0.0
        };
        let fit = FitInfo {
            tool: format!("fellegi {}", env!("CARGO_PKG_VERSION")),
            seed: self.seed,
            converged: true,
            iterations: 0,
            lambda_method: format!(
                "rules only, no model fitted: {linked} of {total} admissible pairs agree on a deterministic rule"
            ),
            u_method: "rules only, no model fitted".into(),
            inputs: InputDigest::of_dataset(ds),
            sessions: Vec::new(),
            bootstrap: None,
            m_method: None,
        };
        let mut model = settings.clone();
        model.fit = Some(fit.clone());
        let params = FsParams::initial(&settings.comparisons, comparer, share);
        let trained = Trained {
            model,
            fitted: Fitted { params, fit },
        };
        Ok((trained, pairs, Vec::new()))
    }
}

/// Match weight (bits) written for a pair the deterministic rules link with
/// [`LinkMethod::RulesOnly`]; the other candidates get its negative. Only a stand-in: those
/// pairs' probabilities are exactly 1 and 0 (see [`link`]).
pub const RULES_MATCH_WEIGHT: f64 = 64.0;

/// Clusters records named by (source, id) from scored pairs (as read back from a pairs.csv):
/// connected components of the pairs with `probability >= threshold`. Records are numbered in
/// order of first appearance; returns their keys and the clusters.
pub fn cluster_pairs<'a>(
    pairs: impl IntoIterator<Item = (&'a (String, String), &'a (String, String), f64)>,
    threshold: f64,
) -> (Vec<(String, String)>, Clusters) {
    let mut index: std::collections::BTreeMap<(String, String), u32> = Default::default();
    let mut keys: Vec<(String, String)> = Vec::new();
    let mut edges = Vec::new();
    let mut intern = |k: &(String, String), keys: &mut Vec<(String, String)>| -> u32 {
        if let Some(&v) = index.get(k) {
            return v;
        }
        let v = keys.len() as u32;
        index.insert(k.clone(), v);
        keys.push(k.clone());
        v
    };
    for (left, right, p) in pairs {
        let l = intern(left, &mut keys);
        let r = intern(right, &mut keys);
        if p >= threshold {
            edges.push((l, r));
        }
    }
    let clusters = Clusters::of(keys.len(), edges);
    (keys, clusters)
}
