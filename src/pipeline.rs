//! The pipeline as library calls: load → clean → train → predict → cluster → evaluate.

use std::path::PathBuf;

use crate::block::{Blocker, total_pairs};
use crate::clean::apply_transforms;
use crate::compare::candidates::CandidatePatterns;
use crate::compare::{Comparer, PatternCounts};
use crate::data::{Dataset, InputSpec, MISSING, read_csv_files};
use crate::error::{Error, Result};
use crate::exhaustive::Exhaustive;
use crate::model::predict::{ScoredPairs, predict, predict_by, predict_cached};
use crate::model::train::{Fitted, count_pairs, train, train_with};
use crate::model::{FitInfo, FsParams, InputDigest};
use crate::progress::Progress;
use crate::settings::{LambdaSpec, LinkType, Settings};

/// Reads the inputs the settings need and applies the settings' transforms.
///
/// # Errors
/// Input errors (see [`read_csv_files`]), and [`Error::Usage`] when the number of inputs does not
/// fit the link type.
pub fn load(settings: &Settings, paths: &[PathBuf], progress: &Progress) -> Result<Dataset> {
    match (settings.link_type, paths.len()) {
        (LinkType::Link, n) if n < 2 => {
            return Err(Error::Usage(format!(
                "link_type = \"link\" needs two or more inputs, got {n}; use link_type = \"dedupe\" for one file"
            )));
        }
        (LinkType::Dedupe, n) if n != 1 => {
            return Err(Error::Usage(format!(
                "link_type = \"dedupe\" takes one input, got {n}; use \"link\" or \"link_and_dedupe\" for several"
            )));
        }
        _ => {}
    }
    let spec = InputSpec {
        paths: paths.to_vec(),
        unique_id: settings.unique_id.clone(),
        truth: settings.truth.clone(),
        columns: settings.columns_used(),
    };
    let mut ds = read_csv_files(&spec, progress)?;
    apply_transforms(&mut ds, &settings.transforms)?;
    Ok(ds)
}

/// Fits the model; returns the fitted model as settings (with `lambda`, `m`, `u`, `fit`).
///
/// # Errors
/// As [`train`].
pub fn fit(
    settings: &Settings,
    ds: &Dataset,
    seed: u64,
    progress: &Progress,
) -> Result<(Settings, Fitted)> {
    if settings.exhaustive {
        let comparer = Comparer::new(&settings.comparisons, ds)?;
        let (_, counts) = exhaustive_index(ds, &comparer, settings, progress)?;
        let fitted = train_with(settings, ds, &comparer, seed, progress, None, Some(&counts))?;
        let model = fitted_model(settings, &fitted);
        return Ok((model, fitted));
    }
    let comparer = Comparer::new(&settings.comparisons, ds)?;
    let fitted = train(settings, ds, &comparer, seed, progress, None)?;
    let model = fitted_model(settings, &fitted);
    Ok((model, fitted))
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

/// The fitted model: the settings with λ, m and u written in and the fit block attached.
fn fitted_model(settings: &Settings, fitted: &Fitted) -> Settings {
    let mut model = settings.clone();
    fitted.params.write_into(&mut model);
    model.fit = Some(fitted.fit.clone());
    model
}

/// Scores the prediction candidates of a fitted model.
///
/// # Errors
/// [`Error::Settings`] when the model lacks parameters or blocking rules.
pub fn score(
    model: &Settings,
    origin: &str,
    ds: &Dataset,
    min_probability: f64,
    progress: &Progress,
) -> Result<(Comparer, ScoredPairs)> {
    let params = FsParams::from_settings(model, origin)?;
    if model.exhaustive {
        let comparer = Comparer::new(&model.comparisons, ds)?;
        let pairs = {
            let (ex, counts) = exhaustive_index(ds, &comparer, model, progress)?;
            let (pairs, notes) = ex.score(&counts, &params, min_probability, progress);
            for n in notes {
                eprintln!("note: {n}");
            }
            pairs
        };
        return Ok((comparer, pairs));
    }
    if model.blocking.is_empty() {
        return Err(Error::settings(
            origin,
            "blocking",
            "no [[blocking]] rules: prediction needs at least one, e.g. [[blocking]] keys = [\"surname\"]",
        ));
    }
    let comparer = Comparer::new(&model.comparisons, ds)?;
    let rules: Vec<_> = model.blocking.iter().map(|b| b.keys.clone()).collect();
    let blocker = Blocker::new(ds, &rules, model.link_type)?;
    let pairs = predict(ds, &comparer, &blocker, &params, min_probability, progress);
    Ok((comparer, pairs))
}

/// Most candidate pairs whose pattern ids are kept in memory (4 bytes each) by [`link`].
pub const CACHE_MAX_PAIRS: u64 = 400_000_000;

/// Train and score in one go, comparing each prediction candidate once: the fitted model (as
/// settings), the fit, the compiled comparisons and the pairs at or above `min_probability`.
///
/// # Errors
/// As [`fit`] and [`score`].
pub fn link(
    settings: &Settings,
    ds: &Dataset,
    seed: u64,
    min_probability: f64,
    progress: &Progress,
) -> Result<(Settings, Fitted, Comparer, ScoredPairs)> {
    if settings.exhaustive {
        let (model, fitted, comparer, pairs, _notes) =
            link_exhaustive(settings, ds, seed, min_probability, progress)?;
        return Ok((model, fitted, comparer, pairs));
    }
    if settings.blocking.is_empty() {
        return Err(Error::settings(
            "settings",
            "blocking",
            "no [[blocking]] rules: prediction needs at least one, e.g. [[blocking]] keys = [\"surname\"]",
        ));
    }
    let t = std::time::Instant::now();
    let comparer = Comparer::new(&settings.comparisons, ds)?;
    progress.phase("compile comparisons", t);
    let t = std::time::Instant::now();
    let rules: Vec<_> = settings.blocking.iter().map(|b| b.keys.clone()).collect();
    let blocker = Blocker::new(ds, &rules, settings.link_type)?;
    // An upper bound (pairs within groups, before link-type and earlier-rule filtering) is
    // enough to decide whether the pattern ids fit in memory.
    let n: u64 = blocker.rules.iter().map(|r| r.raw_pairs()).sum();
    progress.phase("index blocking rules", t);
    if n > CACHE_MAX_PAIRS {
        let fitted = train(settings, ds, &comparer, seed, progress, None)?;
        let model = fitted_model(settings, &fitted);
        let pairs = predict(
            ds,
            &comparer,
            &blocker,
            &fitted.params,
            min_probability,
            progress,
        );
        return Ok((model, fitted, comparer, pairs));
    }
    let t = std::time::Instant::now();
    let cache = CandidatePatterns::build(ds, &comparer, blocker, progress);
    progress.phase("compare candidates", t);
    let t = std::time::Instant::now();
    let fitted = train(settings, ds, &comparer, seed, progress, Some(&cache))?;
    progress.phase("train", t);
    let t = std::time::Instant::now();
    let model = fitted_model(settings, &fitted);
    let pairs = predict_cached(ds, &cache, &fitted.params, min_probability);
    progress.phase("score", t);
    Ok((model, fitted, comparer, pairs))
}

/// Exhaustive linkage (no blocking): exact pattern counts over every admissible pair, EM on them
/// (the default EM session runs on all pairs), then the pairs whose pattern reaches
/// `min_probability`, ordered by (left, right). Also returns notes for the user (e.g. when a
/// pattern without agreement on any sparse comparison reaches `min_probability`).
///
/// # Errors
/// As [`Exhaustive::build`] and [`train_with`].
pub fn link_exhaustive(
    settings: &Settings,
    ds: &Dataset,
    seed: u64,
    min_probability: f64,
    progress: &Progress,
) -> Result<(Settings, Fitted, Comparer, ScoredPairs, Vec<String>)> {
    let t = std::time::Instant::now();
    let comparer = Comparer::new(&settings.comparisons, ds)?;
    progress.phase("compile comparisons", t);
    let (fitted, pairs, notes) = {
        let (ex, counts) = exhaustive_index(ds, &comparer, settings, progress)?;
        let t = std::time::Instant::now();
        let fitted = train_with(settings, ds, &comparer, seed, progress, None, Some(&counts))?;
        progress.phase("train", t);
        let (pairs, notes) = ex.score(&counts, &fitted.params, min_probability, progress);
        (fitted, pairs, notes)
    };
    let model = fitted_model(settings, &fitted);
    Ok((model, fitted, comparer, pairs, notes))
}

/// As [`link`], but with λ, m and u from the truth ([`crate::model::train::oracle`]): the
/// ceiling that unsupervised estimation can approach, for benchmarks only.
///
/// # Errors
/// As [`crate::model::train::oracle`] and [`score`].
pub fn link_oracle(
    settings: &Settings,
    ds: &Dataset,
    seed: u64,
    min_probability: f64,
    progress: &Progress,
) -> Result<(Settings, Fitted, Comparer, ScoredPairs)> {
    let comparer = Comparer::new(&settings.comparisons, ds)?;
    let fitted = crate::model::train::oracle(settings, ds, &comparer, seed, progress)?;
    let model = fitted_model(settings, &fitted);
    let (comparer, pairs) = score(&model, "oracle model", ds, min_probability, progress)?;
    Ok((model, fitted, comparer, pairs))
}

/// Match weight (bits) written for a pair the deterministic rules link in [`link_rules_only`];
/// the other candidates get its negative. Only a stand-in: those pairs' probabilities are exactly
/// 1 and 0.
pub const RULES_MATCH_WEIGHT: f64 = 64.0;

/// Deterministic linkage, the baseline probabilistic linkage is measured against: a candidate
/// pair (from the settings' blocking rules, as for every other method) is a match, with
/// probability 1 and match weight +[`RULES_MATCH_WEIGHT`], if and only if its records agree
/// exactly on every key of at least one of `training.lambda.deterministic_rules` (a missing value
/// never agrees); every other candidate has probability 0 and weight −[`RULES_MATCH_WEIGHT`].
/// A pair that a rule links but no blocking rule produces is not found, so the rules are best
/// kept within the blocking (e.g. rule `given_name & surname` within block `given_name`).
///
/// Nothing is estimated: the returned model is the settings with a `fit` block that says so
/// (no λ, m or u, so `fellegi predict` refuses it), and the returned parameters are starting
/// values with λ = the share of admissible pairs the rules link, never used for scoring.
///
/// # Errors
/// [`Error::Settings`] at `training.lambda.deterministic_rules` when the settings have no
/// deterministic rules, at `blocking` when they have no blocking rules; otherwise as
/// [`Blocker::new`].
pub fn link_rules_only(
    settings: &Settings,
    ds: &Dataset,
    seed: u64,
    min_probability: f64,
    progress: &Progress,
) -> Result<(Settings, Fitted, Comparer, ScoredPairs)> {
    let Some(LambdaSpec::Deterministic(det)) = &settings.training.lambda else {
        return Err(Error::settings(
            "settings",
            "training.lambda.deterministic_rules",
            "rules-only linkage classifies with the deterministic rules, but the settings have none: add e.g. [training] lambda = { deterministic_rules = [[\"given_name\", \"surname\", \"date_of_birth\"]], recall = 0.8 }",
        ));
    };
    if settings.blocking.is_empty() {
        return Err(Error::settings(
            "settings",
            "blocking",
            "no [[blocking]] rules: rules-only linkage classifies the blocking candidates, e.g. [[blocking]] keys = [\"surname\"]",
        ));
    }
    let comparer = Comparer::new(&settings.comparisons, ds)?;
    let rules = Blocker::new(ds, &det.deterministic_rules, settings.link_type)?;
    let linked = count_pairs(&rules);
    let keys: Vec<&[u32]> = rules.rules.iter().map(|r| r.keys.as_slice()).collect();
    let blocking: Vec<_> = settings.blocking.iter().map(|b| b.keys.clone()).collect();
    let blocker = Blocker::new(ds, &blocking, settings.link_type)?;
    let pairs = predict_by(
        ds,
        &comparer,
        &blocker,
        min_probability,
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
        seed,
        converged: true,
        iterations: 0,
        lambda_method: format!(
            "rules only, no model fitted: {linked} of {total} admissible pairs agree on a deterministic rule"
        ),
        u_method: "rules only, no model fitted".into(),
        inputs: InputDigest::of_dataset(ds),
        sessions: Vec::new(),
    };
    let mut model = settings.clone();
    model.fit = Some(fit.clone());
    let params = FsParams::initial(settings, &comparer, share);
    Ok((model, Fitted { params, fit }, comparer, pairs))
}
