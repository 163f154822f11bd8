//! The nonparametric bootstrap of training (`training.bootstrap = B`): the inputs of training
//! are resampled, the model refitted on each replicate, and 95 % percentile intervals read off
//! the B refitted parameters (Efron & Tibshirani 1993, ch. 13).
//!
//! A replicate resamples, multinomially with the observed shares and the observed total, the
//! pattern counts of every EM session (the pairs of a session drawn with replacement) and,
//! per comparison, the level counts of the random u sample. λ from deterministic rules or a fixed
//! value is held: the rule count is a census of the data, not a sample, and the uncertainty of
//! its assumed recall is not a sampling error. Replicate `r` draws from its own random stream,
//! seeded with [`derive_seed`]`(seed, BOOTSTRAP_STREAM, r)`, so its result depends on neither
//! the thread count nor the other replicates.
//!
//! # References
//! - Efron, B. & Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*. Chapman & Hall.

use ndarray::{Array2, Axis};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rand_distr::{Binomial, Distribution};
use serde::{Deserialize, Serialize};

use super::FsParams;
use crate::compare::PatternCounts;
use crate::compare::sample::LevelCounts;

/// Stream number of bootstrap replicates in [`derive_seed`].
pub const BOOTSTRAP_STREAM: u64 = 0xB007;
/// Stream number of random EM starts in [`derive_seed`].
pub const EM_START_STREAM: u64 = 0x5747;

/// The seed of item `index` of stream `stream` under the run's `seed`: SplitMix64 (Steele, Lea
/// & Flood 2014) applied to each in turn, so nearby inputs give unrelated seeds.
pub fn derive_seed(seed: u64, stream: u64, index: u64) -> u64 {
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    mix(mix(mix(seed) ^ stream) ^ index)
}

/// A multinomial draw of `total` items over categories with weights `counts` (the observed
/// counts), by conditional binomials in category order: O(categories) draws whatever `total`.
fn multinomial(counts: &[u64], rng: &mut ChaCha8Rng) -> Vec<u64> {
    let total: u64 = counts.iter().sum();
    let mut left_n = total;
    let mut left_mass = total as f64;
    let mut out = Vec::with_capacity(counts.len());
    for &c in counts {
        if left_n == 0 || c == 0 {
            out.push(0);
            left_mass -= c as f64;
            continue;
        }
        let p = (c as f64 / left_mass).clamp(0.0, 1.0);
        let x = if p >= 1.0 {
            left_n
        } else {
            Binomial::new(left_n, p).map_or(0, |b| b.sample(rng))
        };
        out.push(x);
        left_n -= x;
        left_mass -= c as f64;
    }
    out
}

/// A bootstrap replicate of `counts`: as many pairs, drawn with replacement (multinomially
/// over the patterns with the observed shares); patterns drawn 0 times are dropped.
pub fn resample_patterns(counts: &PatternCounts, rng: &mut ChaCha8Rng) -> PatternCounts {
    let drawn = multinomial(&counts.counts, rng);
    let mut out = PatternCounts {
        n_comparisons: counts.n_comparisons,
        patterns: Vec::with_capacity(counts.len()),
        counts: Vec::with_capacity(counts.len()),
    };
    for (&p, n) in counts.patterns.iter().zip(drawn) {
        if n > 0 {
            out.patterns.push(p);
            out.counts.push(n);
        }
    }
    out
}

/// A bootstrap replicate of the u sample's level counts: per comparison, as many pairs drawn
/// multinomially over its levels (each comparison's margin resampled on its own, which is all
/// u, a product of margins, reads).
pub fn resample_levels(levels: &LevelCounts, rng: &mut ChaCha8Rng) -> LevelCounts {
    LevelCounts {
        counts: levels.counts.iter().map(|c| multinomial(c, rng)).collect(),
        pairs: levels.pairs,
        records: levels.records,
    }
}

/// The random stream of replicate `replicate` under the run's `seed`.
pub fn replicate_rng(seed: u64, replicate: usize) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(derive_seed(seed, BOOTSTRAP_STREAM, replicate as u64))
}

/// `b` bootstrap refits of one table of pattern counts: replicate `r` resamples `counts`
/// ([`resample_patterns`]) with [`replicate_rng`]`(seed, r)` and is refitted with `fit`
/// (`None`: the refit failed). Replicates run in parallel and are returned in replicate order,
/// so the result does not depend on the thread count.
pub fn replicates<F>(counts: &PatternCounts, b: usize, seed: u64, fit: F) -> Vec<Option<FsParams>>
where
    F: Fn(&PatternCounts) -> Option<FsParams> + Sync,
{
    use rayon::prelude::*;
    (0..b)
        .into_par_iter()
        .map(|r| fit(&resample_patterns(counts, &mut replicate_rng(seed, r))))
        .collect()
}

/// A two-sided percentile interval `[low, high]`.
pub type Interval = [f64; 2];

/// The 2.5 % and 97.5 % percentiles of `values` (linear interpolation between order
/// statistics, R's type 7); `[NaN, NaN]` when empty. NaNs are ignored.
pub fn percentile_95(values: &[f64]) -> Interval {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return [f64::NAN, f64::NAN];
    }
    v.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let h = (v.len() - 1) as f64 * p;
        let lo = h.floor() as usize;
        let hi = h.ceil() as usize;
        v[lo] + (h - lo as f64) * (v[hi] - v[lo])
    };
    [q(0.025), q(0.975)]
}

/// The bootstrap's record in the fit (`model.json`, `fit.bootstrap`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapSummary {
    /// Replicates asked for (`training.bootstrap`).
    pub replicates: usize,
    /// Replicates whose refit failed (e.g. a resampled session without pairs); left out.
    pub failed: usize,
    /// 95 % percentile interval of λ.
    pub lambda: Interval,
    /// Per comparison and level, the 95 % percentile interval of m (null levels `[1, 1]`).
    pub m: Vec<Vec<Interval>>,
    /// As `m`, for u.
    pub u: Vec<Vec<Interval>>,
    /// 95 % percentile interval of the number of links at the threshold, when the run scored
    /// pairs (`fellegi link`; absent from `fellegi train`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<Interval>,
    /// 95 % percentile interval of the model-based precision at the threshold (as
    /// metrics.json `estimated.precision`), when the run scored pairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<Interval>,
    /// 95 % percentile interval of the model-based recall among the pairs written (as
    /// metrics.json `estimated.recall`), when the run scored pairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recall: Option<Interval>,
    /// What was resampled and what was held.
    pub note: String,
    /// The refitted parameters of every successful replicate, in replicate order (not
    /// written).
    #[serde(skip)]
    pub params: Vec<FsParams>,
}

impl BootstrapSummary {
    /// The summary of `replicates` refits (`None` for a failed one) of a model with `template`'s
    /// shape.
    pub fn of(
        template: &FsParams,
        refits: Vec<Option<FsParams>>,
        note: String,
    ) -> BootstrapSummary {
        let replicates = refits.len();
        let params: Vec<FsParams> = refits.into_iter().flatten().collect();
        let failed = replicates - params.len();
        // The replicates as a matrix, one row per successful replicate and one column per
        // parameter: λ, then m and u by comparison and level in `template`'s shape.
        let shape = |x: &Vec<Vec<f64>>| x.iter().map(Vec::len).sum::<usize>();
        let (nm, nu) = (shape(&template.m), shape(&template.u));
        let mut table = Array2::<f64>::zeros((params.len(), 1 + nm + nu));
        for (mut row, p) in table.rows_mut().into_iter().zip(&params) {
            let m = template.m.iter().enumerate();
            let u = template.u.iter().enumerate();
            let values = std::iter::once(p.lambda)
                .chain(m.flat_map(|(c, r)| (0..r.len()).map(move |l| p.m[c][l])))
                .chain(u.flat_map(|(c, r)| (0..r.len()).map(move |l| p.u[c][l])));
            for (x, v) in row.iter_mut().zip(values) {
                *x = v;
            }
        }
        let mut intervals = table
            .axis_iter(Axis(1))
            .map(|column| percentile_95(&column.to_vec()));
        let lambda = intervals.next().unwrap_or([f64::NAN, f64::NAN]);
        let mut like = |of: &Vec<Vec<f64>>| -> Vec<Vec<Interval>> {
            of.iter()
                .map(|row| intervals.by_ref().take(row.len()).collect())
                .collect()
        };
        let (m, u) = (like(&template.m), like(&template.u));
        BootstrapSummary {
            replicates,
            failed,
            lambda,
            m,
            u,
            links: None,
            precision: None,
            recall: None,
            note,
            params,
        }
    }
}

impl BootstrapSummary {
    /// One-line summaries (label, text) of λ and, when known, the links, precision and recall,
    /// for the CLI summary and the report.
    pub fn describe(&self) -> Vec<(String, String)> {
        let iv = |x: &Interval| format!("[{:.4e}, {:.4e}]", x[0], x[1]);
        let mut out = vec![(
            "bootstrap".to_string(),
            format!(
                "{} replicates ({} failed): 95 % percentile intervals",
                self.replicates, self.failed
            ),
        )];
        out.push(("  lambda".into(), iv(&self.lambda)));
        if let Some(l) = &self.links {
            out.push(("  links".into(), format!("[{:.0}, {:.0}]", l[0], l[1])));
        }
        for (name, v) in [("  precision", &self.precision), ("  recall", &self.recall)] {
            if let Some(x) = v {
                out.push((name.into(), format!("[{:.4}, {:.4}]", x[0], x[1])));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multinomial_keeps_the_total_and_follows_the_shares() {
        let counts = PatternCounts {
            n_comparisons: 1,
            patterns: vec![1, 2, 3, 4],
            counts: vec![1000, 0, 3000, 6000],
        };
        let mut sum = [0u64; 4];
        for r in 0..200 {
            let mut rng = replicate_rng(7, r);
            let x = resample_patterns(&counts, &mut rng);
            assert_eq!(x.total(), 10_000);
            assert!(!x.patterns.contains(&2));
            for (p, n) in x.patterns.iter().zip(&x.counts) {
                sum[*p as usize - 1] += n;
            }
        }
        let share = sum[0] as f64 / 2_000_000.0;
        assert!((share - 0.1).abs() < 0.002, "{share}");
        // Same seed and replicate, same draw; another replicate, another draw.
        let a = resample_patterns(&counts, &mut replicate_rng(7, 3));
        assert_eq!(a, resample_patterns(&counts, &mut replicate_rng(7, 3)));
        assert_ne!(a, resample_patterns(&counts, &mut replicate_rng(7, 4)));
    }

    /// Percentile intervals from refitting EM on resampled pattern counts cover the generating
    /// λ, m and u at about the nominal 95 % over 40 seeds of generated vectors.
    #[test]
    fn intervals_cover_the_generating_parameters() {
        use crate::model::em::{EmOptions, run};
        use crate::synth::{VectorSpec, generate};
        let spec = VectorSpec {
            lambda: 0.1,
            m: vec![vec![0.85, 0.1, 0.05], vec![0.9, 0.1], vec![0.8, 0.2]],
            u: vec![vec![0.05, 0.15, 0.8], vec![0.1, 0.9], vec![0.2, 0.8]],
            missing: vec![0.05, 0.0, 0.1],
        };
        let truth = spec.params().unwrap();
        let mut opt = EmOptions::all_free(&spec.level_counts());
        opt.max_iterations = 1000;
        opt.tolerance = 1e-7;
        // Every free parameter: λ, then the non-null m and u levels.
        let values = |p: &FsParams| -> Vec<f64> {
            let mut v = vec![p.lambda];
            for c in 0..p.m.len() {
                v.extend_from_slice(&p.m[c][1..]);
                v.extend_from_slice(&p.u[c][1..]);
            }
            v
        };
        let want = values(&truth);
        let seeds = 40;
        let mut covered = vec![0usize; want.len()];
        for seed in 0..seeds {
            let counts = generate(&spec, 4_000, 1000 + seed)
                .unwrap()
                .pattern_counts();
            let init = truth.clone();
            let refits = replicates(&counts, 200, seed, |c| Some(run(c, &init, &opt).params));
            let reps: Vec<Vec<f64>> = refits.iter().flatten().map(values).collect();
            for (k, w) in want.iter().enumerate() {
                let iv = percentile_95(&reps.iter().map(|r| r[k]).collect::<Vec<_>>());
                if iv[0] <= *w && *w <= iv[1] {
                    covered[k] += 1;
                }
            }
        }
        // Binomial(40, 0.95): P(X <= 33) is about 0.5 %; overall 95 % ± a few points.
        let all: usize = covered.iter().sum();
        let rate = all as f64 / (seeds as usize * want.len()) as f64;
        assert!(
            (0.90..=0.99).contains(&rate),
            "coverage {rate}: {covered:?}"
        );
        assert!(covered.iter().all(|&c| c >= 33), "{covered:?}");
    }

    /// The summary's interval of each parameter is the percentile interval of that parameter
    /// over the successful replicates (columns of the replicate table in the template's shape:
    /// λ, m by comparison and level, u likewise); failed replicates are counted and left out.
    #[test]
    fn summary_intervals_follow_each_parameter() {
        let params = |k: f64| FsParams {
            lambda: k,
            m: vec![vec![10.0 + k, 20.0 + k, 30.0 + k], vec![40.0 + k]],
            u: vec![vec![-k, -2.0 * k], vec![-3.0 * k, 100.0]],
            null_level: vec![None, None],
        };
        let mut refits: Vec<Option<FsParams>> = (0..=100).map(|k| Some(params(k as f64))).collect();
        refits.insert(7, None);
        let s = BootstrapSummary::of(&params(0.0), refits, String::new());
        assert_eq!((s.replicates, s.failed, s.params.len()), (102, 1, 101));
        assert_eq!(s.lambda, [2.5, 97.5]);
        assert_eq!(
            s.m,
            vec![
                vec![[12.5, 107.5], [22.5, 117.5], [32.5, 127.5]],
                vec![[42.5, 137.5]]
            ]
        );
        assert_eq!(
            s.u,
            vec![
                vec![[-97.5, -2.5], [-195.0, -5.0]],
                vec![[-292.5, -7.5], [100.0, 100.0]]
            ]
        );
        let none = BootstrapSummary::of(&params(0.0), vec![None, None], String::new());
        assert_eq!(none.failed, 2);
        assert!(
            none.lambda
                .iter()
                .chain(none.m[1][0].iter())
                .all(|x| x.is_nan())
        );
    }

    #[test]
    fn percentiles_by_hand() {
        let v: Vec<f64> = (0..=100).map(f64::from).collect();
        assert_eq!(percentile_95(&v), [2.5, 97.5]);
        assert_eq!(percentile_95(&[3.0]), [3.0, 3.0]);
        assert!(percentile_95(&[]).iter().all(|x| x.is_nan()));
        assert_ne!(derive_seed(1, 2, 3), derive_seed(1, 2, 4));
        assert_ne!(derive_seed(1, 2, 3), derive_seed(2, 2, 3));
    }
}
