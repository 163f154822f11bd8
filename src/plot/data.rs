//! Plain data the charts draw. Nothing here depends on the pipeline's types, so any caller
//! (CLI, report, experiment runner) can fill these in.

/// Match weights of scored pairs, split by truth, for [`ChartData::WeightHistogram`](super::ChartData).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WeightHistogram {
    /// Match weights (log2 Bayes factor plus prior, bits) of true matches.
    pub matches: Vec<f64>,
    /// Match weights of true non-matches.
    pub non_matches: Vec<f64>,
    /// Classification threshold as a match weight (bits), drawn as a vertical line.
    pub threshold: Option<f64>,
    /// The threshold's legend, in the unit it was given in (e.g. `threshold p = 0.5 (match
    /// weight 0.00)`); `None` labels it `threshold = W (match weight)`.
    pub threshold_label: Option<String>,
    /// Bin width in bits; `None` picks a round width giving about 40 bins.
    pub bin_width: Option<f64>,
    /// Logarithmic count axis (default `false`); useful because non-matches usually outnumber
    /// matches by orders of magnitude.
    pub log_y: bool,
}

/// m and u of one level of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelParams {
    /// The level's label, e.g. `"exact"` or `"jaro_winkler >= 0.9"`.
    pub label: String,
    /// P(level | match), in [0, 1].
    pub m: f64,
    /// P(level | non-match), in [0, 1].
    pub u: f64,
}

impl LevelParams {
    /// The level's match weight `log2(m / u)` in bits (both floored at 1e-12).
    pub fn weight(&self) -> f64 {
        (self.m.max(1e-12) / self.u.max(1e-12)).log2()
    }
}

/// The non-null levels of one comparison, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct ComparisonParams {
    /// The comparison's output name, e.g. `"first_name"`.
    pub name: String,
    /// Its levels (null levels left out: they have no m or u).
    pub levels: Vec<LevelParams>,
}

/// Fitted parameters as the m/u and match-weight charts draw them.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelParams {
    /// Prior match probability λ, in (0, 1).
    pub lambda: f64,
    /// One entry per comparison.
    pub comparisons: Vec<ComparisonParams>,
}

impl ModelParams {
    /// Builds chart data from fitted [`FsParams`](crate::model::FsParams): `names[c]` names
    /// comparison `c`, `labels[c][l]` labels its level `l` (a missing label becomes
    /// `"level l"`); null levels are left out.
    pub fn from_fs(
        params: &crate::model::FsParams,
        names: &[String],
        labels: &[Vec<String>],
    ) -> Self {
        let comparisons = params
            .m
            .iter()
            .zip(&params.u)
            .enumerate()
            .map(|(c, (m, u))| ComparisonParams {
                name: names
                    .get(c)
                    .cloned()
                    .unwrap_or_else(|| format!("comparison {c}")),
                levels: m
                    .iter()
                    .zip(u)
                    .enumerate()
                    .filter(|(l, _)| params.null_level.get(c).copied().flatten() != Some(*l))
                    .map(|(l, (&m, &u))| LevelParams {
                        label: labels
                            .get(c)
                            .and_then(|v| v.get(l))
                            .cloned()
                            .unwrap_or_else(|| format!("level {l}")),
                        m,
                        u,
                    })
                    .collect(),
            })
            .collect();
        ModelParams {
            lambda: params.lambda,
            comparisons,
        }
    }

    /// The prior weight `log2(λ / (1 − λ))` in bits.
    pub fn prior_weight(&self) -> f64 {
        prior_weight(self.lambda)
    }
}

/// `log2(λ / (1 − λ))`, with λ clamped to [1e-12, 1 − 1e-12].
pub fn prior_weight(lambda: f64) -> f64 {
    let l = lambda.clamp(1e-12, 1.0 - 1e-12);
    (l / (1.0 - l)).log2()
}

/// Match probability of a match weight: `1 / (1 + 2^(−w))`.
pub fn weight_to_probability(weight: f64) -> f64 {
    1.0 / (1.0 + (-weight).exp2())
}

/// One comparison's contribution to a pair's score.
#[derive(Debug, Clone, PartialEq)]
pub struct WaterfallTerm {
    /// The comparison's name.
    pub name: String,
    /// The level the pair fell in, e.g. `"exact"` (`"null"` for a null level).
    pub level_label: String,
    /// Its match weight `log2(m / u)` in bits (0 for a null level).
    pub weight: f64,
}

/// One pair's score, term by term.
#[derive(Debug, Clone, PartialEq)]
pub struct Waterfall {
    /// What the pair is, e.g. `"pair a17 – b203"`; shown in the title and the text table.
    pub pair_label: Option<String>,
    /// Prior weight `log2(λ / (1 − λ))` in bits (see [`prior_weight`]).
    pub prior_weight: f64,
    /// One term per comparison, in model order.
    pub terms: Vec<WaterfallTerm>,
}

impl Waterfall {
    /// The final match weight: prior plus every term (bits).
    pub fn total(&self) -> f64 {
        self.prior_weight + self.terms.iter().map(|t| t.weight).sum::<f64>()
    }

    /// The final match probability.
    pub fn probability(&self) -> f64 {
        weight_to_probability(self.total())
    }
}

/// One point of a precision–recall sweep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrPoint {
    /// Threshold on the match probability (or weight) at which the point was measured.
    pub threshold: f64,
    /// Precision, in [0, 1].
    pub precision: f64,
    /// Recall, in [0, 1].
    pub recall: f64,
}

impl PrPoint {
    /// F1, the harmonic mean of precision and recall (0 where both are 0).
    pub fn f1(&self) -> f64 {
        let s = self.precision + self.recall;
        if s > 0.0 {
            2.0 * self.precision * self.recall / s
        } else {
            0.0
        }
    }
}

/// One point of a ROC curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RocPoint {
    /// False-positive rate, in [0, 1].
    pub fpr: f64,
    /// True-positive rate (recall), in [0, 1].
    pub tpr: f64,
}

/// Area under a curve of (x, y) points by the trapezoid rule, after sorting by x.
pub fn trapezoid_area(mut points: Vec<(f64, f64)>) -> f64 {
    points.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    points
        .windows(2)
        .map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0)
        .sum()
}

/// One EM iteration as [`EmSession`] records it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EmStep {
    /// Log-likelihood (natural log) of the pattern counts.
    pub log_likelihood: f64,
    /// λ after the iteration.
    pub lambda: f64,
}

/// The trace of one EM session (e.g. one per training blocking rule).
#[derive(Debug, Clone, PartialEq)]
pub struct EmSession {
    /// Shown in the legend, e.g. `"blocked on surname"`.
    pub name: String,
    /// One entry per iteration, first to last.
    pub steps: Vec<EmStep>,
}

/// Candidate pairs produced by one blocking rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleCount {
    /// The rule as written, e.g. `"l.surname = r.surname"`.
    pub rule: String,
    /// Candidate pairs it produces (before or after deduplication; say which in the title).
    pub pairs: u64,
}

/// A central value with an interval around it, e.g. a mean over seeds with its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// The central value (drawn as a dot).
    pub mean: f64,
    /// Lower end of the interval (`<= mean`).
    pub lo: f64,
    /// Upper end of the interval (`>= mean`).
    pub hi: f64,
}

/// One series of an [`IntervalChart`]: one value per category, or `None` where it has none.
#[derive(Debug, Clone, PartialEq)]
pub struct IntervalSeries {
    /// Shown in the legend, e.g. the dataset.
    pub name: String,
    /// One entry per category of the chart, in the chart's category order.
    pub values: Vec<Option<Interval>>,
}

/// Dot-and-whisker chart: one horizontal band per category (e.g. a method), one dot with its
/// interval per series (e.g. a dataset) in each band.
#[derive(Debug, Clone, PartialEq)]
pub struct IntervalChart {
    /// The value axis, e.g. `"F1 (mean over 5 seeds, 95 % t-interval)"`.
    pub x_desc: String,
    /// Category labels, top to bottom.
    pub categories: Vec<String>,
    /// The series, in legend order.
    pub series: Vec<IntervalSeries>,
}

/// One point of an [`XyChart`].
#[derive(Debug, Clone, PartialEq)]
pub struct XyPoint {
    /// Horizontal position (positive on a log axis).
    pub x: f64,
    /// Vertical position (positive on a log axis).
    pub y: f64,
    /// Text drawn next to the point, if any.
    pub label: Option<String>,
}

/// One series of an [`XyChart`].
#[derive(Debug, Clone, PartialEq)]
pub struct XySeries {
    /// Shown in the legend.
    pub name: String,
    /// The points; joined in order of `x` when `line` is set.
    pub points: Vec<XyPoint>,
    /// Join the points with a line (else markers only).
    pub line: bool,
}

/// A scatter or line chart of one or more series, each axis linear or logarithmic.
#[derive(Debug, Clone, PartialEq)]
pub struct XyChart {
    /// The horizontal axis, e.g. `"records (log scale)"`.
    pub x_desc: String,
    /// The vertical axis, e.g. `"seconds (log scale)"`.
    pub y_desc: String,
    /// Logarithmic horizontal axis (every x must then be positive).
    pub log_x: bool,
    /// Logarithmic vertical axis (every y must then be positive).
    pub log_y: bool,
    /// The series, in legend order.
    pub series: Vec<XySeries>,
}
