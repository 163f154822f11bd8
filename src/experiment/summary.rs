//! Summaries of results over seeds: the tasks of one experiment grouped by (task group,
//! dataset), and the mean of a metric over the seeds with its 95 % t-interval.
//!
//! The interval is Student's: mean ± t(0.975, n − 1) · s / √n, with s the sample standard
//! deviation over the n seeds, clipped to the range the quantity can take (e.g. [0, 1] for F1).
//! It treats the seeds as independent draws of whatever the seed moves (the generated data, the
//! u sample); with n = 1 there is no interval and `lo = hi = mean`.
//!
//! # Examples
//! ```
//! use fellegi::experiment::summary::mean_interval;
//!
//! let s = mean_interval(&[0.90, 0.92, 0.94], Some((0.0, 1.0))).unwrap();
//! assert!((s.mean - 0.92).abs() < 1e-12);
//! // t(0.975, 2) = 4.3027, s = 0.02: half-width 4.3027 * 0.02 / sqrt(3) = 0.0497.
//! assert!((s.hi - s.mean - 0.0497).abs() < 1e-4);
//! ```
//!
//! # References
//! - Student (1908). The probable error of a mean. *Biometrika* 6(1), 1–25.

use super::Experiment;

/// The two-sided 95 % quantile of Student's t with `df` degrees of freedom, t(0.975, df), from
/// `statrs` ([`t_quantile_975`]; it replaced a hand-typed table of df 1–30, 40, 60, 120 that
/// took the nearest tabulated df below); `NaN` for df = 0.
pub fn t_975(df: usize) -> f64 {
    t_quantile_975(df)
}

/// A metric over seeds: its mean, the 95 % t-interval and the extremes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanInterval {
    /// Number of values (seeds).
    pub n: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// Lower end of the 95 % t-interval (clipped); the mean when n = 1.
    pub lo: f64,
    /// Upper end of the 95 % t-interval (clipped); the mean when n = 1.
    pub hi: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

/// Mean and 95 % t-interval of `xs`, clipped to `clip` when given; `None` when `xs` is empty.
pub fn mean_interval(xs: &[f64], clip: Option<(f64, f64)>) -> Option<MeanInterval> {
    let n = xs.len();
    if n == 0 {
        return None;
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    let half = if n > 1 {
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        t_975(n - 1) * (var / n as f64).sqrt()
    } else {
        0.0
    };
    let (mut lo, mut hi) = (mean - half, mean + half);
    if let Some((a, b)) = clip {
        lo = lo.max(a);
        hi = hi.min(b);
    }
    Some(MeanInterval {
        n,
        mean,
        lo,
        hi,
        min: xs.iter().copied().fold(f64::INFINITY, f64::min),
        max: xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    })
}

/// The results of one (task group, dataset) over its seeds.
#[derive(Debug, Clone)]
pub struct SeedGroup<'a> {
    /// Task group name (e.g. a method: `default`, `binary`).
    pub group: String,
    /// Dataset (e.g. `febrl4`, `generated-high-5000`).
    pub dataset: String,
    /// Results with status `ok`, in seed order.
    pub ok: Vec<&'a serde_json::Value>,
    /// Tasks whose result has another status.
    pub failed: usize,
}

impl SeedGroup<'_> {
    /// Mean and interval of the number at `pointer` (e.g. `/metrics/f1`) over the ok results
    /// that have it.
    pub fn summary(&self, pointer: &str, clip: Option<(f64, f64)>) -> Option<MeanInterval> {
        let xs: Vec<f64> = self
            .ok
            .iter()
            .filter_map(|v| v.pointer(pointer).and_then(|x| x.as_f64()))
            .collect();
        mean_interval(&xs, clip)
    }
}

/// The experiment's (task group, dataset) groups in spec order, each with its results over
/// seeds; `result(key)` looks a task's result up by its key. Groups without any result are left
/// out.
pub fn seed_groups<'a>(
    exp: &Experiment,
    result: impl Fn(&str) -> Option<&'a serde_json::Value>,
) -> Vec<SeedGroup<'a>> {
    let mut out: Vec<SeedGroup<'a>> = Vec::new();
    for t in exp.tasks(false) {
        let group = t.key.split('/').next().unwrap_or("").to_string();
        let Some(v) = result(&t.key) else { continue };
        let i = match out
            .iter()
            .position(|g| g.group == group && g.dataset == t.dataset)
        {
            Some(i) => i,
            None => {
                out.push(SeedGroup {
                    group,
                    dataset: t.dataset.clone(),
                    ok: Vec::new(),
                    failed: 0,
                });
                out.len() - 1
            }
        };
        if v["status"] == "ok" {
            out[i].ok.push(v);
        } else {
            out[i].failed += 1;
        }
    }
    out
}

/// The two-sided 95 % quantile of Student's t with `df` degrees of freedom from `statrs`
/// (inverse CDF at 0.975); `NaN` for df = 0. For paired differences ([`paired_difference`]).
pub fn t_quantile_975(df: usize) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    if df == 0 {
        return f64::NAN;
    }
    StudentsT::new(0.0, 1.0, df as f64).map_or(f64::NAN, |t| t.inverse_cdf(0.975))
}

/// The exact two-sided sign test: with `wins` positive and `losses` negative differences (ties
/// dropped), P = min(1, 2 · P(X ≤ min(wins, losses))) for X ~ Binomial(wins + losses, 1/2);
/// 1 when there is no non-zero difference.
///
/// # References
/// - Dixon, W. J. & Mood, A. M. (1946). The statistical sign test. *JASA* 41(236), 557–566.
pub fn sign_test_p(wins: usize, losses: usize) -> f64 {
    use statrs::distribution::{Binomial, DiscreteCDF};
    let n = wins + losses;
    if n == 0 {
        return 1.0;
    }
    let k = wins.min(losses) as u64;
    Binomial::new(0.5, n as u64).map_or(f64::NAN, |b| (2.0 * b.cdf(k)).min(1.0))
}

/// A paired comparison of two methods over the seeds both ran: the per-seed differences
/// (method − baseline), their mean with the 95 % t-interval, and the sign test.
///
/// The interval is mean ± t(0.975, n − 1) · s_d / √n over the n per-seed differences d
/// (Student 1908), so what the seed moves in both methods alike (the generated data, the u
/// sample) cancels; it is not clipped. With n = 1 there is no interval (`lo = hi = mean`).
#[derive(Debug, Clone, PartialEq)]
pub struct PairedDifference {
    /// The seeds both methods ran, ascending.
    pub seeds: Vec<u64>,
    /// Per seed: method − baseline.
    pub differences: Vec<f64>,
    /// Mean difference.
    pub mean: f64,
    /// Lower end of the 95 % t-interval of the mean difference.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
    /// Seeds where the method is higher.
    pub wins: usize,
    /// Seeds where it is lower.
    pub losses: usize,
    /// Seeds where both are equal.
    pub ties: usize,
    /// Two-sided exact sign-test p-value ([`sign_test_p`]).
    pub sign_p: f64,
}

/// The paired difference of `(seed, method value, baseline value)` triples; `None` when empty.
pub fn paired_difference(triples: &[(u64, f64, f64)]) -> Option<PairedDifference> {
    let n = triples.len();
    if n == 0 {
        return None;
    }
    let mut t = triples.to_vec();
    t.sort_by_key(|x| x.0);
    let differences: Vec<f64> = t.iter().map(|&(_, a, b)| a - b).collect();
    let mean = differences.iter().sum::<f64>() / n as f64;
    let half = if n > 1 {
        let var = differences.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        t_quantile_975(n - 1) * (var / n as f64).sqrt()
    } else {
        0.0
    };
    let wins = differences.iter().filter(|&&d| d > 0.0).count();
    let losses = differences.iter().filter(|&&d| d < 0.0).count();
    Some(PairedDifference {
        seeds: t.iter().map(|x| x.0).collect(),
        mean,
        lo: mean - half,
        hi: mean + half,
        wins,
        losses,
        ties: n - wins - losses,
        sign_p: sign_test_p(wins, losses),
        differences,
    })
}

/// One method against the baseline on one dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct PairedComparison {
    /// The method (task group).
    pub group: String,
    /// The baseline: the experiment's first task group.
    pub baseline: String,
    /// The dataset.
    pub dataset: String,
    /// The difference of the metric, method − baseline, over the seeds both ran.
    pub difference: PairedDifference,
}

/// For every task group after the first (the baseline) and every dataset, the paired
/// difference of the number at `pointer` (e.g. `/metrics/f1`) over the seeds both the group and
/// the baseline ran with status ok (matched by the results' `seed`); pairs with fewer than two
/// common seeds are left out. In group order, then dataset order.
pub fn paired_comparisons(groups: &[SeedGroup<'_>], pointer: &str) -> Vec<PairedComparison> {
    let Some(baseline) = groups.first().map(|g| g.group.clone()) else {
        return Vec::new();
    };
    let by_seed = |g: &SeedGroup<'_>| -> std::collections::BTreeMap<u64, f64> {
        g.ok.iter()
            .filter_map(|v| {
                Some((
                    v["seed"].as_u64()?,
                    v.pointer(pointer).and_then(|x| x.as_f64())?,
                ))
            })
            .collect()
    };
    let mut out = Vec::new();
    for g in groups.iter().filter(|g| g.group != baseline) {
        let Some(b) = groups
            .iter()
            .find(|b| b.group == baseline && b.dataset == g.dataset)
        else {
            continue;
        };
        let base = by_seed(b);
        let triples: Vec<(u64, f64, f64)> = by_seed(g)
            .into_iter()
            .filter_map(|(seed, x)| base.get(&seed).map(|&y| (seed, x, y)))
            .collect();
        if triples.len() < 2 {
            continue;
        }
        if let Some(d) = paired_difference(&triples) {
            out.push(PairedComparison {
                group: g.group.clone(),
                baseline: baseline.clone(),
                dataset: g.dataset.clone(),
                difference: d,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paired_difference_by_hand() {
        // Differences 0.01, 0.02, 0.03: mean 0.02, s_d = 0.01, t(0.975, 2) = 4.3027.
        let d = paired_difference(&[(3, 0.93, 0.90), (1, 0.91, 0.90), (2, 0.92, 0.90)]).unwrap();
        assert_eq!(d.seeds, vec![1, 2, 3]);
        assert!((d.mean - 0.02).abs() < 1e-12);
        let half = 4.302_652_7 * 0.01 / 3f64.sqrt();
        assert!((d.hi - d.mean - half).abs() < 1e-6, "{}", d.hi - d.mean);
        assert_eq!((d.wins, d.losses, d.ties), (3, 0, 0));
        // Sign test: 2 · (1/2)^3 = 0.25.
        assert!((d.sign_p - 0.25).abs() < 1e-12);
        assert!((sign_test_p(5, 0) - 0.0625).abs() < 1e-12);
        // 9 wins 1 loss: 2 · (1 + 10) / 1024.
        assert!((sign_test_p(9, 1) - 22.0 / 1024.0).abs() < 1e-12);
        assert_eq!(sign_test_p(0, 0), 1.0);
        assert_eq!(sign_test_p(2, 2), 1.0);
        assert!((t_quantile_975(4) - 2.7764).abs() < 1e-4);
        assert!((t_quantile_975(120) - t_975(120)).abs() < 1e-4);
        // Paired intervals are narrower than separate ones when the seed moves both alike.
        let a = [0.80, 0.90, 0.95];
        let b = [0.79, 0.89, 0.94];
        let t: Vec<(u64, f64, f64)> = (0..3).map(|i| (i as u64, a[i], b[i])).collect();
        let d = paired_difference(&t).unwrap();
        let (sa, sb) = (
            mean_interval(&a, None).unwrap(),
            mean_interval(&b, None).unwrap(),
        );
        assert!(sa.lo < sb.hi, "separate intervals overlap");
        assert!(d.lo > 0.0, "paired interval excludes 0: {d:?}");
    }

    #[test]
    fn interval_of_known_values() {
        // n = 5, mean 3, s = sqrt(2.5): half-width 2.7764 * sqrt(2.5 / 5).
        let s = mean_interval(&[1.0, 2.0, 3.0, 4.0, 5.0], None).unwrap();
        assert_eq!(s.n, 5);
        assert!((s.mean - 3.0).abs() < 1e-12);
        let half = 2.776_445 * (0.5f64).sqrt();
        assert!((s.hi - 3.0 - half).abs() < 1e-6 && (3.0 - s.lo - half).abs() < 1e-6);
        assert_eq!((s.min, s.max), (1.0, 5.0));
    }

    #[test]
    fn one_value_and_equal_values_have_no_width_and_clipping_holds() {
        let s = mean_interval(&[0.7], Some((0.0, 1.0))).unwrap();
        assert_eq!((s.lo, s.mean, s.hi), (0.7, 0.7, 0.7));
        let s = mean_interval(&[0.5, 0.5, 0.5], None).unwrap();
        assert_eq!((s.lo, s.hi), (0.5, 0.5));
        let s = mean_interval(&[0.99, 1.0, 1.0], Some((0.0, 1.0))).unwrap();
        assert_eq!(s.hi, 1.0);
        assert!(s.lo < s.mean);
        assert!(mean_interval(&[], None).is_none());
    }

    #[test]
    fn t_quantiles() {
        // Reference values: R's qt(0.975, df).
        assert!(t_975(0).is_nan());
        assert!((t_975(1) - 12.706_205).abs() < 1e-5);
        assert!((t_975(4) - 2.776_445).abs() < 1e-6);
        assert!((t_975(35) - 2.030_108).abs() < 1e-6);
        assert!((t_975(1000) - 1.962_339).abs() < 1e-6);
        // Decreasing in df.
        for df in 1..200 {
            assert!(t_975(df + 1) <= t_975(df), "{df}");
        }
    }
}
