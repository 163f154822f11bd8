//! The Bayesian one-to-one estimators (`training.algorithm = "vabl"` or `"fabl"`) as a pipeline
//! step: every pair of the two sources compared ([`Bipartite`]), the posterior fitted, and the
//! result expressed as a fitted model (posterior means of m and u, λ = E\[π\] / n1) and scored
//! pairs (each record of the second source with its most probable record of the first, at its
//! posterior link probability).

use crate::compare::Comparer;
use crate::data::{Dataset, LinkType};
use crate::error::{Error, Result};
use crate::model::bayes::{
    Bipartite, FablOptions, LinkPosterior, VablOptions, bayes_estimate, fabl, vabl,
};
use crate::model::plan::Algorithm;
use crate::model::predict::ScoredPairs;
use crate::model::train::Fitted;
use crate::model::{FitInfo, FsParams, InputDigest, PROB_FLOOR};
use crate::progress::Progress;
use crate::settings::Settings;

/// A Bayesian fit: the compared pairs, the posterior and its Bayes estimate.
#[derive(Debug, Clone)]
pub struct BayesFit {
    /// Every pair of the two sources, as pattern counts per record of the second.
    pub bipartite: Bipartite,
    /// The posterior.
    pub posterior: LinkPosterior,
    /// The Bayes estimate ([`bayes_estimate`]): per record of the second source, the index into
    /// `bipartite.left` of its link, if any.
    pub estimate: Vec<Option<u32>>,
    /// The fitted model's parameters and record.
    pub fitted: Fitted,
}

/// Fits `settings.training.algorithm` (vabl or fabl) on `ds`; `seed` seeds fabl's chain.
/// `training.max_iterations` is vabl's iteration limit and fabl's chain length when it is
/// not the EM default (25); otherwise the packages' defaults (1,000) apply.
///
/// # Errors
/// [`Error::Settings`] unless the settings link two sources (`link_type = "link"`).
pub fn fit_bayes(
    settings: &Settings,
    ds: &Dataset,
    comparer: &Comparer,
    seed: u64,
    progress: &Progress,
) -> Result<BayesFit> {
    let alg = settings.training.algorithm;
    if settings.link_type != LinkType::Link {
        return Err(Error::settings(
            "settings",
            "link_type",
            format!(
                "training.algorithm = \"{}\" is bipartite (one-to-one) linkage of two sources: set link_type = \"link\"",
                alg.name()
            ),
        ));
    }
    let t = std::time::Instant::now();
    let bipartite = Bipartite::build(ds, comparer)?;
    progress.phase("compare every pair", t);
    progress.checkpoint()?;
    let t = std::time::Instant::now();
    let iterations =
        (settings.training.max_iterations != 25).then_some(settings.training.max_iterations);
    let posterior = match alg {
        Algorithm::Fabl => {
            let mut o = FablOptions::default();
            if let Some(n) = iterations {
                o.iterations = n;
                o.burn_in = n / 10;
            }
            fabl(&bipartite, &o, seed)
        }
        _ => {
            let mut o = VablOptions::default();
            if let Some(n) = iterations {
                o.max_iterations = n;
            }
            vabl(&bipartite, &o)
        }
    };
    progress.phase("train", t);
    let estimate = bayes_estimate(&posterior);
    let n1 = bipartite.n1().max(1) as f64;
    let params = FsParams {
        lambda: (posterior.pi / n1).clamp(PROB_FLOOR, 0.5),
        m: posterior.m.clone(),
        u: posterior.u.clone(),
        null_level: comparer.comparisons.iter().map(|c| c.null_level).collect(),
    };
    let links = estimate.iter().filter(|e| e.is_some()).count();
    let fit = FitInfo {
        tool: format!("fellegi {}", env!("CARGO_PKG_VERSION")),
        seed,
        converged: posterior.converged,
        iterations: posterior.iterations,
        lambda_method: format!(
            "{}: posterior mean share of linked records {:.6} of {} × {} pairs; Bayes estimate {links} links",
            alg.name(),
            posterior.pi,
            bipartite.n1(),
            bipartite.n2()
        ),
        u_method: format!("{}: posterior means of m and u", alg.name()),
        inputs: InputDigest::of_dataset(ds),
        sessions: Vec::new(),
        bootstrap: None,
        m_method: None,
    };
    Ok(BayesFit {
        bipartite,
        posterior,
        estimate,
        fitted: Fitted { params, fit },
    })
}

/// The scored pairs of a Bayesian fit: each record of the second source with its most probable
/// record of the first when that posterior probability is at least `min_probability`, in the
/// second source's order, with match weight log2(p / (1 − p)). Classified at 0.5 with
/// one-to-one assignment (`--one-to-one greedy`) these are exactly the Bayes estimate.
pub fn bayes_pairs(
    fit: &BayesFit,
    ds: &Dataset,
    comparer: &Comparer,
    min_probability: f64,
) -> ScoredPairs {
    let n_c = comparer.len();
    let mut out = ScoredPairs {
        n_comparisons: n_c,
        candidates: fit.bipartite.n1() as u64 * fit.bipartite.n2() as u64,
        candidates_per_rule: Vec::new(),
        ..Default::default()
    };
    let mut lv = vec![0u8; n_c];
    for (j, b) in fit.posterior.best.iter().enumerate() {
        let Some((i, p)) = *b else { continue };
        if p < min_probability {
            continue;
        }
        let (x, y) = (fit.bipartite.left[i as usize], fit.bipartite.right[j]);
        let (l, r) = (x.min(y), x.max(y));
        comparer.vector(ds, l, r, &mut lv);
        let q = p.clamp(PROB_FLOOR, 1.0 - PROB_FLOOR);
        out.left.push(l);
        out.right.push(r);
        out.weight.push((q / (1.0 - q)).log2());
        out.probability.push(p);
        out.levels.extend_from_slice(&lv);
    }
    if let Some(t) = ds.truth.as_deref() {
        let mut n = 0u64;
        for &a in &fit.bipartite.left {
            for &b in &fit.bipartite.right {
                let (x, y) = (t[a as usize], t[b as usize]);
                n += (x != crate::data::MISSING && x == y) as u64;
            }
        }
        out.candidates_true = Some(n);
    }
    out
}
