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

/// The two-sided 95 % quantile of Student's t with `df` degrees of freedom, t(0.975, df):
/// tabulated for df 1–30, 40, 60 and 120 (taking the nearest tabulated df below, which is
/// conservative), 1.96 beyond 120; `NaN` for df = 0.
pub fn t_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281, 2.2010,
        2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860, 2.0796, 2.0739,
        2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => TABLE[df - 1],
        31..=39 => 2.0423,
        40..=59 => 2.0211,
        60..=119 => 2.0003,
        120 => 1.9799,
        _ => 1.9600,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_of_known_values() {
        // n = 5, mean 3, s = sqrt(2.5): half-width 2.7764 * sqrt(2.5 / 5).
        let s = mean_interval(&[1.0, 2.0, 3.0, 4.0, 5.0], None).unwrap();
        assert_eq!(s.n, 5);
        assert!((s.mean - 3.0).abs() < 1e-12);
        let half = 2.7764 * (0.5f64).sqrt();
        assert!((s.hi - 3.0 - half).abs() < 1e-12 && (3.0 - s.lo - half).abs() < 1e-12);
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
        assert!(t_975(0).is_nan());
        assert_eq!(t_975(4), 2.7764);
        assert_eq!(t_975(35), 2.0423);
        assert_eq!(t_975(1000), 1.96);
        // Decreasing in df.
        for df in 1..200 {
            assert!(t_975(df + 1) <= t_975(df), "{df}");
        }
    }
}
