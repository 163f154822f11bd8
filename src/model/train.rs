//! Training: λ, u and m following the plan in [`crate::settings::Training`].
//!
//! As in Splink: λ from deterministic rules with an assumed recall (or a value, or EM on the
//! prediction candidates); u from seeded random sampling of admissible pairs; m from one or more
//! EM sessions, each over the pairs of one training blocking rule, in which the comparisons of the
//! columns the rule names are not estimated (inside the block they would all agree). A session
//! keeps u fixed unless told otherwise, starts from the blocking-adjusted λ and never writes its
//! within-block λ back as the global λ. A level trained in several sessions takes the median of
//! its session estimates (then each comparison's m is renormalised).
//!
//! Every session starts from `training.lambda_start` when given (else the global λ, else 1e-4)
//! and runs the estimator `training.algorithm` names: plain EM ([`super::em`]) or Haber's AS 207
//! as R RecordLinkage ([`super::loglinear`]; its requirements are checked by
//! [`Settings::check_algorithm`] before any work).

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::em::{self, EmOptions};
use super::loglinear::{self, As207Options};
use super::{FitInfo, FsParams, InputDigest, SessionFit, normalise};
use crate::block::{Blocker, total_pairs};
use crate::compare::candidates::CandidatePatterns;
use crate::compare::{Comparer, PatternCounts, merge_maps};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::settings::{
    Algorithm, DeterministicLambda, KeySpec, LambdaSpec, LinkType, Predicate, Settings,
};

/// Pairs per chunk of the u-sampling loop (fixed, so results do not depend on the thread count).
const SAMPLE_CHUNK: u64 = 1 << 16;

/// A fitted model: parameters plus how they were obtained.
#[derive(Debug, Clone)]
pub struct Fitted {
    /// λ, m and u.
    pub params: FsParams,
    /// The fit record written into `model.json`.
    pub fit: FitInfo,
}

/// Counts the pairs produced by a set of blocking rules, and builds their pattern counts if asked.
pub fn count_patterns(
    ds: &Dataset,
    comparer: &Comparer,
    blocker: &Blocker,
    progress: &Progress,
    msg: &str,
) -> PatternCounts {
    let units = blocker.work_units();
    let pb = progress.bar(units.len() as u64, msg);
    let maps: Vec<FxHashMap<u128, u64>> = units
        .par_iter()
        .map(|u| {
            let mut map: FxHashMap<u128, u64> = FxHashMap::default();
            blocker.for_each_pair(u, |l, r| {
                *map.entry(comparer.pattern(ds, l, r)).or_insert(0) += 1;
            });
            pb.inc(1);
            map
        })
        .collect();
    pb.finish_and_clear();
    PatternCounts::from_map(comparer.len(), merge_maps(maps))
}

/// Number of candidate pairs the rules produce (deduplicated).
pub fn count_pairs(blocker: &Blocker) -> u64 {
    let units = blocker.work_units();
    units
        .par_iter()
        .map(|u| {
            let mut n = 0u64;
            blocker.for_each_pair(u, |_, _| n += 1);
            n
        })
        .collect::<Vec<u64>>()
        .iter()
        .sum()
}

/// A portable seed for chunk `i` of a stream seeded with `seed` (SplitMix64 finaliser).
pub fn chunk_seed(seed: u64, i: u64) -> u64 {
    let mut z = seed ^ i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Estimates u from a seeded random sample of records, comparing every admissible pair among
/// them (Splink's `estimate_u_using_random_sampling`): the sample size is chosen so that about
/// `n_pairs` admissible pairs are compared; when the data have no more than `n_pairs` admissible
/// pairs, all of them are compared. Levels never observed get half a count so that no weight is
/// infinite. Returns u per comparison and level (null levels 1.0), the number of pairs compared
/// and the number of records sampled.
pub fn estimate_u_by_sampling(
    ds: &Dataset,
    comparer: &Comparer,
    link_type: LinkType,
    n_pairs: u64,
    seed: u64,
    progress: &Progress,
) -> (Vec<Vec<f64>>, u64, usize) {
    sample_u(ds, comparer, link_type, n_pairs, seed, progress, false)
}

/// As [`estimate_u_by_sampling`]; with `exclude_true_matches`, sampled pairs whose records share
/// a truth value are left out (the oracle's u).
fn sample_u(
    ds: &Dataset,
    comparer: &Comparer,
    link_type: LinkType,
    n_pairs: u64,
    seed: u64,
    progress: &Progress,
    exclude_true_matches: bool,
) -> (Vec<Vec<f64>>, u64, usize) {
    let n = ds.len();
    let total = total_pairs(link_type, &ds.source_sizes());
    let sample: Vec<u32> = if total <= n_pairs as u128 {
        (0..n as u32).collect()
    } else {
        // Admissible share of all pairs, so that the sample yields about n_pairs admissible pairs.
        let all = (n as f64) * (n as f64 - 1.0) / 2.0;
        let share = (total as f64 / all).clamp(1e-12, 1.0);
        let want = n_pairs as f64 / share;
        let size = (((1.0 + (1.0 + 8.0 * want).sqrt()) / 2.0).ceil() as usize).clamp(2, n);
        let mut rng = ChaCha8Rng::seed_from_u64(chunk_seed(seed, 0));
        let mut v: Vec<u32> = rand::seq::index::sample(&mut rng, n, size)
            .into_iter()
            .map(|i| i as u32)
            .collect();
        v.sort_unstable();
        v
    };
    let s = sample.len();
    let n_c = comparer.len();
    // Gather the sample's values row-major so the all-pairs loop stays in cache.
    let mut vals = vec![0u32; s * n_c];
    let mut src = vec![0u16; s];
    let mut tr = vec![crate::data::MISSING; s];
    for (a, &r) in sample.iter().enumerate() {
        comparer.row_values(r, &mut vals[a * n_c..(a + 1) * n_c]);
        src[a] = ds.source_of[r as usize];
        if exclude_true_matches {
            if let Some(t) = ds.truth.as_deref() {
                tr[a] = t[r as usize];
            }
        }
    }
    let widths: Vec<usize> = comparer.comparisons.iter().map(|c| c.n_levels()).collect();
    let offsets: Vec<usize> = widths
        .iter()
        .scan(0, |acc, &w| {
            let o = *acc;
            *acc += w;
            Some(o)
        })
        .collect();
    let width: usize = widths.iter().sum();
    // Fixed row chunks of about SAMPLE_CHUNK pairs each, independent of the thread count.
    let mut bounds = vec![0usize];
    let mut acc_pairs = 0u64;
    for a in 0..s {
        acc_pairs += (s - 1 - a) as u64;
        if acc_pairs >= SAMPLE_CHUNK {
            bounds.push(a + 1);
            acc_pairs = 0;
        }
    }
    if *bounds.last().unwrap_or(&0) != s {
        bounds.push(s);
    }
    let pb = progress.bar(bounds.len() as u64 - 1, "sampling u");
    let parts: Vec<(Vec<u64>, u64)> = bounds
        .windows(2)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|w| {
            let mut acc = vec![0u64; width];
            let mut compared = 0u64;
            for a in w[0]..w[1] {
                let ra = &vals[a * n_c..(a + 1) * n_c];
                for b in a + 1..s {
                    if !link_type.admits(src[a], src[b]) {
                        continue;
                    }
                    if tr[a] != crate::data::MISSING && tr[a] == tr[b] {
                        continue;
                    }
                    let rb = &vals[b * n_c..(b + 1) * n_c];
                    for (k, c) in comparer.comparisons.iter().enumerate() {
                        let lv = c.level(&ds.columns[c.column], ra[k], rb[k]);
                        acc[offsets[k] + lv as usize] += 1;
                    }
                    compared += 1;
                }
            }
            pb.inc(1);
            (acc, compared)
        })
        .collect();
    pb.finish_and_clear();
    let mut counts = vec![0u64; width];
    let mut compared = 0u64;
    for (c, k) in &parts {
        compared += k;
        for (t, x) in counts.iter_mut().zip(c) {
            *t += x;
        }
    }
    let u = comparer
        .comparisons
        .iter()
        .enumerate()
        .map(|(k, cmp)| {
            let mut u: Vec<f64> = (0..widths[k])
                .map(|l| {
                    if Some(l) == cmp.null_level {
                        1.0
                    } else {
                        (counts[offsets[k] + l] as f64).max(0.5)
                    }
                })
                .collect();
            normalise(&mut u, cmp.null_level);
            u
        })
        .collect();
    (u, compared, s)
}

fn columns_of(rule: &[KeySpec]) -> Vec<&str> {
    rule.iter().map(KeySpec::column).collect()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Fits λ, m and u on `ds` following `settings.training` (settings must be expanded).
///
/// # Errors
/// [`Error::Settings`] when λ cannot be determined from the plan or the plan does not suit
/// `training.algorithm` ([`Settings::check_algorithm`]); errors from blocking.
///
/// With `cache` (the prediction candidates' patterns), sessions whose blocking rule implies a
/// prediction rule count patterns from it instead of comparing pairs again; the result is the same.
pub fn train(
    settings: &Settings,
    ds: &Dataset,
    comparer: &Comparer,
    seed: u64,
    progress: &Progress,
    cache: Option<&CandidatePatterns>,
) -> Result<Fitted> {
    train_with(settings, ds, comparer, seed, progress, cache, None)
}

/// As [`train`], with the exact pattern counts of every admissible pair (`all_pairs`, from
/// [`crate::exhaustive`]): an EM session without its own blocking rule then runs on all pairs
/// (the prediction candidates of exhaustive linkage), so λ from it needs no scaling.
///
/// # Errors
/// As [`train`].
pub fn train_with(
    settings: &Settings,
    ds: &Dataset,
    comparer: &Comparer,
    seed: u64,
    progress: &Progress,
    cache: Option<&CandidatePatterns>,
    all_pairs: Option<&PatternCounts>,
) -> Result<Fitted> {
    let t = &settings.training;
    settings.check_algorithm("training")?;
    let link_type = settings.link_type;
    let total = total_pairs(link_type, &ds.source_sizes());
    if total == 0 {
        return Err(Error::Usage(format!(
            "no admissible pairs: link type `{}` over {} record(s) in {} source(s)",
            link_type.name(),
            ds.len(),
            ds.sources.len()
        )));
    }
    let n_c = comparer.len();
    let levels: Vec<usize> = comparer.comparisons.iter().map(|c| c.n_levels()).collect();
    let mut params = FsParams::initial(settings, comparer, 1e-4);

    // u by random sampling, unless every u is fixed or u is left to EM.
    let all_u_fixed = settings.comparisons.iter().all(|c| {
        c.levels
            .iter()
            .all(|l| l.fix_u || l.predicate == Predicate::Null)
    });
    let u_from_em = t.u.random_pairs == 0;
    let t_u = std::time::Instant::now();
    let u_method = if all_u_fixed {
        "fixed in settings".to_string()
    } else if u_from_em {
        "EM".to_string()
    } else {
        let (u, compared, sampled) =
            estimate_u_by_sampling(ds, comparer, link_type, t.u.random_pairs, seed, progress);
        for (c, uc) in u.into_iter().enumerate() {
            for (l, v) in uc.into_iter().enumerate() {
                if !settings.comparisons[c].levels[l].fix_u {
                    params.u[c][l] = v;
                }
            }
        }
        if compared as u128 == total {
            format!("all {compared} admissible pairs")
        } else {
            format!(
                "all {compared} admissible pairs among {sampled} randomly sampled records (seed {seed})"
            )
        }
    };

    progress.phase("u sampling", t_u);
    let t_l = std::time::Instant::now();
    // λ.
    let (mut lambda, mut lambda_method) = match &t.lambda {
        Some(LambdaSpec::Value(v)) => (Some(*v), format!("fixed at {v}")),
        Some(LambdaSpec::Deterministic(DeterministicLambda {
            deterministic_rules,
            recall,
        })) => {
            let b = Blocker::new(ds, deterministic_rules, link_type)?;
            let n = count_pairs(&b);
            let l = ((n as f64 / recall) / total as f64).clamp(super::PROB_FLOOR, 0.5);
            (
                Some(l),
                format!("deterministic rules with recall {recall}: {n} of {total} pairs"),
            )
        }
        None => (None, String::new()),
    };
    if let Some(l) = lambda {
        params.lambda = l;
    }
    progress.phase("lambda", t_l);

    let fixed_m: Vec<Vec<bool>> = settings
        .comparisons
        .iter()
        .map(|c| c.levels.iter().map(|l| l.fix_m).collect())
        .collect();
    let fixed_u: Vec<Vec<bool>> = settings
        .comparisons
        .iter()
        .map(|c| c.levels.iter().map(|l| l.fix_u).collect())
        .collect();
    let prediction_rules: Vec<Vec<KeySpec>> =
        settings.blocking.iter().map(|b| b.keys.clone()).collect();
    let default_session = [crate::settings::EmSession {
        blocking: None,
        fix_u: None,
    }];
    let sessions: &[crate::settings::EmSession] = if t.em.is_empty() {
        &default_session
    } else {
        &t.em
    };

    let mut m_est: Vec<Vec<Vec<f64>>> = vec![Vec::new(); n_c];
    let mut u_est: Vec<Vec<Vec<f64>>> = vec![Vec::new(); n_c];
    let mut fits = Vec::new();
    for (si, s) in sessions.iter().enumerate() {
        let (rules, label, fixed_cols): (Vec<Vec<KeySpec>>, String, Vec<&str>) = match &s.blocking {
            Some(keys) => (
                vec![keys.clone()],
                keys.iter()
                    .map(KeySpec::describe)
                    .collect::<Vec<_>>()
                    .join(" & "),
                columns_of(keys),
            ),
            None if all_pairs.is_some() => {
                (Vec::new(), "all pairs (exhaustive)".to_string(), Vec::new())
            }
            None => {
                if prediction_rules.is_empty() {
                    return Err(Error::settings(
                        "training",
                        format!("training.em[{si}].blocking"),
                        "this session has no blocking rule and the settings have no [[blocking]] rules; give one of them",
                    ));
                }
                (
                    prediction_rules.clone(),
                    "prediction candidates".to_string(),
                    Vec::new(),
                )
            }
        };
        let active: Vec<bool> = settings
            .comparisons
            .iter()
            .map(|c| !fixed_cols.contains(&c.column.as_str()))
            .collect();
        let counts = match (cache, &s.blocking) {
            (_, None) if all_pairs.is_some() => all_pairs.cloned().unwrap_or_default(),
            (Some(c), None) => c.counts(),
            (Some(c), Some(keys)) if c.covers(&prediction_rules, keys) => {
                c.counts_within(&crate::block::RuleIndex::build(ds, keys)?)
            }
            _ => {
                let blocker = Blocker::new(ds, &rules, link_type)?;
                count_patterns(
                    ds,
                    comparer,
                    &blocker,
                    progress,
                    &format!("EM session {}", si + 1),
                )
            }
        };
        let pairs = counts.total();
        // Blocking-adjusted starting λ: the global prior odds times the Bayes factors of the
        // fixed comparisons at their exact level (Splink's adjustment).
        let mut init = params.clone();
        let start_lambda = t.lambda_start.or(lambda).unwrap_or(1e-4);
        let mut odds = start_lambda / (1.0 - start_lambda);
        for (c, on) in active.iter().enumerate() {
            if !on {
                let preds = &comparer.comparisons[c].predicates;
                if let Some(l) = preds
                    .iter()
                    .position(|p| *p == Predicate::Exact)
                    .or_else(|| preds.iter().position(|p| *p != Predicate::Null))
                {
                    odds *= params.m[c][l].max(super::PROB_FLOOR)
                        / params.u[c][l].max(super::PROB_FLOOR);
                }
            }
        }
        init.lambda = (odds / (1.0 + odds)).clamp(1e-6, 0.99);
        let opt = EmOptions {
            max_iterations: t.max_iterations,
            tolerance: t.tolerance,
            active: active.clone(),
            fix_u: s.fix_u.unwrap_or(!u_from_em),
            fix_lambda: false,
            fixed_m: fixed_m.clone(),
            fixed_u: fixed_u.clone(),
            prior_lambda: t.prior.and_then(|p| p.lambda),
            prior_m: t.prior.map_or(1.0, |p| p.m),
            prior_u: t.prior.map_or(1.0, |p| p.u),
        };
        let _ = &levels;
        let res = match t.algorithm {
            Algorithm::Em => em::run(&counts, &init, &opt),
            Algorithm::As207 => loglinear::run(
                &counts,
                &init,
                &As207Options {
                    max_iterations: t.max_iterations,
                    tolerance: t.tolerance,
                    ..As207Options::default()
                },
            )?,
        };
        for c in 0..n_c {
            if active[c] {
                m_est[c].push(res.params.m[c].clone());
                if !opt.fix_u {
                    u_est[c].push(res.params.u[c].clone());
                }
            }
        }
        if s.blocking.is_none() && lambda.is_none() {
            let l = (res.params.lambda * pairs as f64 / total as f64).clamp(super::PROB_FLOOR, 0.5);
            lambda = Some(l);
            lambda_method = if all_pairs.is_some() {
                format!("EM on all {total} admissible pairs (exhaustive)")
            } else {
                format!("EM on the prediction candidates: {pairs} pairs, scaled to all {total}")
            };
        }
        fits.push(SessionFit {
            blocking: label,
            pairs,
            patterns: counts.len(),
            estimated: settings
                .comparisons
                .iter()
                .zip(&active)
                .filter(|(_, a)| **a)
                .map(|(c, _)| c.output_name().to_string())
                .collect(),
            converged: res.converged,
            lambda_in_block: res.params.lambda,
            trace: res.trace,
        });
    }
    let Some(lambda) = lambda else {
        return Err(Error::settings(
            "training",
            "training.lambda",
            "λ is not determined: give `lambda = 0.001`, `lambda = { deterministic_rules = [[...]], recall = 0.8 }`, or an EM session without `blocking`",
        ));
    };
    params.lambda = lambda;
    for (c, ests) in m_est.iter().enumerate() {
        combine(&mut params.m[c], ests, &fixed_m[c], params.null_level[c]);
    }
    for (c, ests) in u_est.iter().enumerate() {
        combine(&mut params.u[c], ests, &fixed_u[c], params.null_level[c]);
    }
    let fit = FitInfo {
        tool: format!("fellegi {}", env!("CARGO_PKG_VERSION")),
        seed,
        converged: fits.iter().all(|f| f.converged),
        iterations: fits.iter().map(|f| f.trace.len()).sum(),
        lambda_method,
        u_method,
        inputs: InputDigest::of_dataset(ds),
        sessions: fits,
    };
    Ok(Fitted { params, fit })
}

/// Median of session estimates per level; fixed levels keep their value; free levels are then
/// renormalised to the mass the fixed ones leave.
fn combine(target: &mut [f64], ests: &[Vec<f64>], fixed: &[bool], null: Option<usize>) {
    if ests.is_empty() {
        return;
    }
    let mut free_sum = 0.0;
    let mut fixed_sum = 0.0;
    for l in 0..target.len() {
        if Some(l) == null {
            continue;
        }
        if fixed[l] {
            fixed_sum += target[l];
        } else {
            let mut v: Vec<f64> = ests.iter().map(|e| e[l]).collect();
            target[l] = median(&mut v);
            free_sum += target[l];
        }
    }
    if free_sum > 0.0 {
        let scale = (1.0 - fixed_sum).max(0.0) / free_sum;
        for l in 0..target.len() {
            if Some(l) != null && !fixed[l] {
                target[l] *= scale;
            }
        }
    }
}

/// The oracle ceiling for comparisons with unsupervised estimation: λ = true pairs / admissible
/// pairs, m from every true pair (enumerated per entity, whether blocking finds it or not), u from
/// random pairs with the true matches left out. It reads the truth column, so it is a benchmark
/// upper bound, never a way to link real data. Levels never observed get half a count, as in
/// [`estimate_u_by_sampling`].
///
/// # Errors
/// [`Error::Usage`] without a truth column or without true pairs.
pub fn oracle(
    settings: &Settings,
    ds: &Dataset,
    comparer: &Comparer,
    seed: u64,
    progress: &Progress,
) -> Result<Fitted> {
    let truth = ds
        .truth
        .as_deref()
        .ok_or_else(|| Error::Usage("the oracle needs a truth column in the inputs".into()))?;
    let link_type = settings.link_type;
    let total = total_pairs(link_type, &ds.source_sizes());
    let true_pairs =
        crate::eval::count_true_pairs(truth, &ds.source_of, ds.sources.len(), link_type);
    if true_pairs == 0 || total == 0 {
        return Err(Error::Usage(
            "the oracle needs at least one true pair".into(),
        ));
    }
    let mut params = FsParams::initial(settings, comparer, true_pairs as f64 / total as f64);
    // m: the levels of every true pair.
    let mut order: Vec<u32> = (0..ds.len() as u32)
        .filter(|&r| truth[r as usize] != crate::data::MISSING)
        .collect();
    order.sort_unstable_by_key(|&r| (truth[r as usize], r));
    let widths: Vec<usize> = comparer.comparisons.iter().map(|c| c.n_levels()).collect();
    let mut counts: Vec<Vec<u64>> = widths.iter().map(|&w| vec![0; w]).collect();
    let mut lv = vec![0u8; comparer.len()];
    let mut i = 0;
    while i < order.len() {
        let e = truth[order[i] as usize];
        let mut j = i;
        while j < order.len() && truth[order[j] as usize] == e {
            j += 1;
        }
        for a in i..j {
            for b in a + 1..j {
                let (l, r) = (order[a], order[b]);
                if !link_type.admits(ds.source_of[l as usize], ds.source_of[r as usize]) {
                    continue;
                }
                comparer.vector(ds, l, r, &mut lv);
                for (k, &x) in lv.iter().enumerate() {
                    counts[k][x as usize] += 1;
                }
            }
        }
        i = j;
    }
    for (c, cnt) in counts.iter().enumerate() {
        let null = params.null_level[c];
        for (l, &n) in cnt.iter().enumerate() {
            params.m[c][l] = if Some(l) == null {
                1.0
            } else {
                (n as f64).max(0.5)
            };
        }
        normalise(&mut params.m[c], null);
    }
    let n_pairs = settings.training.u.random_pairs.max(1_000_000);
    let (u, compared, sampled) = sample_u(ds, comparer, link_type, n_pairs, seed, progress, true);
    params.u = u;
    let fit = FitInfo {
        tool: format!("fellegi {}", env!("CARGO_PKG_VERSION")),
        seed,
        converged: true,
        iterations: 0,
        lambda_method: format!("oracle: {true_pairs} true pairs of {total} admissible pairs"),
        u_method: format!(
            "oracle: {compared} pairs among {sampled} randomly sampled records (seed {seed}), true matches left out"
        ),
        inputs: InputDigest::of_dataset(ds),
        sessions: Vec::new(),
    };
    Ok(Fitted { params, fit })
}
