//! The pipeline as library calls: load → clean → train → predict → cluster → evaluate.

use std::path::PathBuf;

use crate::block::Blocker;
use crate::clean::apply_transforms;
use crate::compare::candidates::CandidatePatterns;
use crate::compare::{Comparer, PatternCounts};
use crate::data::{Dataset, InputSpec, read_csv_files};
use crate::error::{Error, Result};
use crate::exhaustive::Exhaustive;
use crate::model::FsParams;
use crate::model::predict::{ScoredPairs, predict, predict_cached};
use crate::model::train::{Fitted, train, train_with};
use crate::progress::Progress;
use crate::settings::{LinkType, Settings};

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
