//! Charts of a linkage job, drawn with plotters into SVG or PNG.
//!
//! A [`Chart`] is plain data ([`ChartData`], one variant per kind of chart) plus an optional
//! title and size. It renders to an SVG string ([`Chart::to_svg`], which the HTML report inlines),
//! to an RGB pixel buffer ([`Chart::to_rgb`]), to PNG bytes ([`Chart::to_png`]) or to a file whose
//! extension picks the format ([`Chart::save`]). Output is deterministic: the same chart gives the
//! same bytes on every machine, because all text uses the vendored DejaVu Sans (registered with
//! plotters' `ab_glyph` feature; no system font is read) and the PNG encoder is this module's own.
//!
//! The builders name the charts:
//! [`match_weight_histogram`], [`m_u_chart`], [`match_weights_chart`], [`waterfall`] (and
//! [`waterfall_text`] for a terminal), [`pr_curve`], [`roc_curve`], [`em_trace`],
//! [`precision_recall_vs_threshold`] and [`blocking_rule_counts`] for one linkage job;
//! [`interval_chart`] (means with intervals per category and series) and [`xy_chart`] (scatter
//! or lines, linear or log axes) for the figures `fellegi paper build` draws from experiment
//! results.
//!
//! # Examples
//! ```
//! use fellegi::plot::{self, PrPoint};
//!
//! let points = vec![
//!     PrPoint { threshold: 0.9, precision: 0.98, recall: 0.70 },
//!     PrPoint { threshold: 0.5, precision: 0.93, recall: 0.88 },
//!     PrPoint { threshold: 0.1, precision: 0.71, recall: 0.95 },
//! ];
//! let svg = plot::pr_curve(points).title("Precision–recall").to_svg()?;
//! assert!(svg.starts_with("<svg"));
//! # Ok::<(), plot::PlotError>(())
//! ```
//!
//! # Errors
//! Every render returns [`PlotError`]: no data ([`PlotError::NoData`]), unusable data
//! ([`PlotError::InvalidData`]), or a failed draw ([`PlotError::Render`]); a failed render never
//! leaves a blank file behind.

mod data;
mod draw;
mod error;
mod font;
mod png;

use std::path::Path;

use plotters::prelude::*;

pub use data::{
    ComparisonParams, EmSession, EmStep, Interval, IntervalChart, IntervalSeries, LevelParams,
    ModelParams, PrPoint, RocPoint, RuleCount, Waterfall, WaterfallTerm, WeightHistogram, XyChart,
    XyPoint, XySeries, prior_weight, trapezoid_area, weight_to_probability,
};
pub use error::PlotError;
pub use font::ensure_font;

/// Output format of a chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Scalable vector graphics (text stays text, in `font-family="sans-serif"`).
    Svg,
    /// PNG, 8-bit RGB.
    Png,
}

impl Format {
    /// The format named by a path's extension (`.svg` or `.png`, any case).
    ///
    /// # Errors
    /// [`PlotError::Format`] for any other extension.
    pub fn from_path(path: &Path) -> Result<Format, PlotError> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
            .as_deref()
        {
            Some("svg") => Ok(Format::Svg),
            Some("png") => Ok(Format::Png),
            _ => Err(PlotError::Format {
                path: path.to_path_buf(),
            }),
        }
    }
}

/// An 8-bit RGB image, row-major, 3 bytes per pixel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 3` bytes.
    pub data: Vec<u8>,
}

impl RgbImage {
    /// The colour of pixel (x, y).
    ///
    /// # Panics
    /// If (x, y) is outside the image.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        assert!(x < self.width && y < self.height, "pixel out of bounds");
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }

    /// Encodes the image as PNG (deterministic).
    pub fn to_png(&self) -> Vec<u8> {
        png::encode_rgb(self.width, self.height, &self.data)
    }
}

/// What a chart draws: one variant per kind of chart.
#[derive(Debug, Clone, PartialEq)]
pub enum ChartData {
    /// Histogram of match weights, true matches against non-matches, with the threshold.
    WeightHistogram(WeightHistogram),
    /// m and u of every level, side by side.
    MU(ModelParams),
    /// Match weight `log2(m / u)` of every level, plus the prior (Splink's chart).
    MatchWeights(ModelParams),
    /// One pair's score explained term by term.
    Waterfall(Waterfall),
    /// Precision against recall.
    PrCurve(Vec<PrPoint>),
    /// True-positive rate against false-positive rate.
    RocCurve(Vec<RocPoint>),
    /// Log-likelihood and λ per EM iteration, one trace per session.
    EmTrace(Vec<EmSession>),
    /// Precision, recall and F1 against the threshold.
    ThresholdSweep(Vec<PrPoint>),
    /// Candidate pairs per blocking rule.
    BlockingRules {
        /// One entry per rule, in rule order.
        rules: Vec<RuleCount>,
        /// Logarithmic pair-count axis.
        log_x: bool,
    },
    /// Means with intervals: one band per category, one dot and whisker per series.
    Intervals(IntervalChart),
    /// Points or lines of one or more series, on linear or logarithmic axes.
    Xy(XyChart),
}

impl ChartData {
    /// Short name of the chart kind, used in errors.
    pub fn kind(&self) -> &'static str {
        match self {
            ChartData::WeightHistogram(_) => "match weight histogram",
            ChartData::MU(_) => "m/u chart",
            ChartData::MatchWeights(_) => "match weights chart",
            ChartData::Waterfall(_) => "waterfall",
            ChartData::PrCurve(_) => "precision-recall curve",
            ChartData::RocCurve(_) => "ROC curve",
            ChartData::EmTrace(_) => "EM trace",
            ChartData::ThresholdSweep(_) => "threshold sweep",
            ChartData::BlockingRules { .. } => "blocking rule counts",
            ChartData::Intervals(_) => "interval chart",
            ChartData::Xy(_) => "x-y chart",
        }
    }

    /// The default title.
    pub fn default_title(&self) -> String {
        match self {
            ChartData::WeightHistogram(_) => "Match weights of scored pairs".into(),
            ChartData::MU(_) => "m and u probabilities per comparison level".into(),
            ChartData::MatchWeights(_) => "Match weights per comparison level".into(),
            ChartData::Waterfall(w) => match &w.pair_label {
                Some(p) => format!("Match weight of {p}, term by term"),
                None => "Match weight of one pair, term by term".into(),
            },
            ChartData::PrCurve(_) => "Precision–recall curve".into(),
            ChartData::RocCurve(_) => "ROC curve".into(),
            ChartData::EmTrace(_) => "EM convergence".into(),
            ChartData::ThresholdSweep(_) => "Precision, recall and F1 by threshold".into(),
            ChartData::BlockingRules { .. } => "Candidate pairs per blocking rule".into(),
            ChartData::Intervals(c) => c.x_desc.clone(),
            ChartData::Xy(c) => format!("{} against {}", c.y_desc, c.x_desc),
        }
    }
}

/// A chart ready to render: its data, title and size.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// What to draw.
    pub data: ChartData,
    /// Title; `None` uses [`ChartData::default_title`].
    pub title: Option<String>,
    /// Size in pixels (SVG user units); `None` uses a size fitted to the content.
    pub size: Option<(u32, u32)>,
}

impl From<ChartData> for Chart {
    fn from(data: ChartData) -> Self {
        Chart {
            data,
            title: None,
            size: None,
        }
    }
}

impl Chart {
    /// Sets the title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets the size in pixels.
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.size = Some((width, height));
        self
    }

    /// The title drawn at the top.
    pub fn title_text(&self) -> String {
        self.title
            .clone()
            .unwrap_or_else(|| self.data.default_title())
    }

    /// The size used when none is set: 900 × 560 for x–y charts; for charts with one row per
    /// level or rule, tall enough for every row.
    pub fn default_size(&self) -> (u32, u32) {
        let rows = |n: usize| (140 + 26 * n as u32).clamp(300, 4000);
        match &self.data {
            ChartData::MU(p) => (900, rows(row_count(p))),
            ChartData::MatchWeights(p) => (900, rows(row_count(p))),
            ChartData::Waterfall(w) => (900, rows(w.terms.len() + 2)),
            ChartData::BlockingRules { rules, .. } => (900, rows(rules.len())),
            ChartData::EmTrace(_) => (900, 640),
            ChartData::PrCurve(_) | ChartData::RocCurve(_) => (640, 600),
            ChartData::Intervals(c) => (
                900,
                (170 + c.categories.len() as u32 * (16 + 20 * c.series.len().max(1) as u32))
                    .clamp(300, 4000),
            ),
            _ => (900, 560),
        }
    }

    fn resolved_size(&self) -> Result<(u32, u32), PlotError> {
        let (width, height) = self.size.unwrap_or_else(|| self.default_size());
        if !(16..=16384).contains(&width) || !(16..=16384).contains(&height) {
            return Err(PlotError::Size { width, height });
        }
        Ok((width, height))
    }

    /// Checks the data without drawing.
    ///
    /// # Errors
    /// [`PlotError::NoData`] or [`PlotError::InvalidData`].
    pub fn validate(&self) -> Result<(), PlotError> {
        draw::validate(&self.data)
    }

    /// Renders as SVG at the chart's size.
    ///
    /// # Errors
    /// See [the module](self#errors).
    pub fn to_svg(&self) -> Result<String, PlotError> {
        let size = self.resolved_size()?;
        self.validate()?;
        ensure_font()?;
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
            draw::draw(&self.data, &self.title_text(), &root)
                .and_then(|()| root.present().map_err(|e| e.into()))
                .map_err(|e| self.render_error(e))?;
        }
        Ok(out)
    }

    /// Renders into an RGB pixel buffer at the chart's size.
    ///
    /// # Errors
    /// See [the module](self#errors).
    pub fn to_rgb(&self) -> Result<RgbImage, PlotError> {
        let (width, height) = self.resolved_size()?;
        self.validate()?;
        ensure_font()?;
        let mut data = vec![0u8; width as usize * height as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut data, (width, height)).into_drawing_area();
            draw::draw(&self.data, &self.title_text(), &root)
                .and_then(|()| root.present().map_err(|e| e.into()))
                .map_err(|e| self.render_error(e))?;
        }
        Ok(RgbImage {
            width,
            height,
            data,
        })
    }

    /// Renders as PNG bytes at the chart's size.
    ///
    /// # Errors
    /// See [the module](self#errors).
    pub fn to_png(&self) -> Result<Vec<u8>, PlotError> {
        Ok(self.to_rgb()?.to_png())
    }

    /// Renders in `format`.
    ///
    /// # Errors
    /// See [the module](self#errors).
    pub fn render(&self, format: Format) -> Result<Vec<u8>, PlotError> {
        match format {
            Format::Svg => self.to_svg().map(String::into_bytes),
            Format::Png => self.to_png(),
        }
    }

    /// Renders and writes to `path`, in the format its extension names. Nothing is written
    /// unless the render succeeded.
    ///
    /// # Errors
    /// [`PlotError::Format`] for an unknown extension, [`PlotError::Io`] if the file cannot be
    /// written, or any render error.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), PlotError> {
        let path = path.as_ref();
        let bytes = self.render(Format::from_path(path)?)?;
        std::fs::write(path, bytes).map_err(|source| PlotError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    fn render_error(&self, e: Box<dyn std::error::Error>) -> PlotError {
        PlotError::Render {
            chart: self.data.kind(),
            message: e.to_string(),
        }
    }
}

fn row_count(p: &ModelParams) -> usize {
    let levels: usize = p.comparisons.iter().map(|c| c.levels.len() + 1).sum();
    // The prior section (header and row), or the two bands that hold the m/u legend.
    levels + 2
}

/// Histogram of match weights of true matches and non-matches, with the threshold (bits) as a
/// vertical line. Set [`WeightHistogram::bin_width`] or [`WeightHistogram::log_y`] on the data
/// for more control.
pub fn match_weight_histogram(
    matches: Vec<f64>,
    non_matches: Vec<f64>,
    threshold: Option<f64>,
) -> Chart {
    ChartData::WeightHistogram(WeightHistogram {
        matches,
        non_matches,
        threshold,
        threshold_label: None,
        bin_width: None,
        log_y: false,
    })
    .into()
}

/// m and u of every level of every comparison, as side-by-side horizontal bars.
pub fn m_u_chart(params: ModelParams) -> Chart {
    ChartData::MU(params).into()
}

/// Match weight `log2(m / u)` of every level, one section per comparison, positive green and
/// negative red, with the prior `log2(λ / (1 − λ))` first.
pub fn match_weights_chart(params: ModelParams) -> Chart {
    ChartData::MatchWeights(params).into()
}

/// One pair's score: prior, each comparison's term as a floating bar from the running total,
/// and the final weight; the title gives the final weight and probability.
pub fn waterfall(w: Waterfall) -> Chart {
    ChartData::Waterfall(w).into()
}

/// Precision (y) against recall (x), both on [0, 1], joined in order of falling threshold.
pub fn pr_curve(points: Vec<PrPoint>) -> Chart {
    ChartData::PrCurve(points).into()
}

/// True-positive rate (y) against false-positive rate (x), both on [0, 1], with the AUC and the
/// chance diagonal. The curve is drawn, and its area taken, from (0, 0) through the points to
/// (1, 1), as a sweep over the scored pairs leaves the pairs never scored as one tie at the end.
pub fn roc_curve(points: Vec<RocPoint>) -> Chart {
    ChartData::RocCurve(points).into()
}

/// Log-likelihood (top panel) and λ (bottom panel) per iteration, one line per EM session.
pub fn em_trace(sessions: Vec<EmSession>) -> Chart {
    ChartData::EmTrace(sessions).into()
}

/// Precision, recall and F1 against the threshold, marking the threshold of best F1.
pub fn precision_recall_vs_threshold(points: Vec<PrPoint>) -> Chart {
    ChartData::ThresholdSweep(points).into()
}

/// Candidate pairs per blocking rule as horizontal bars, on a log axis if `log_x`.
pub fn blocking_rule_counts(rules: Vec<RuleCount>, log_x: bool) -> Chart {
    ChartData::BlockingRules { rules, log_x }.into()
}

/// Means with intervals: one horizontal band per category, top to bottom, one dot (the mean)
/// and whisker (the interval) per series in each band, the series' colours in a legend below.
///
/// # Examples
/// ```
/// use fellegi::plot::{self, Interval, IntervalChart, IntervalSeries};
///
/// let c = plot::interval_chart(IntervalChart {
///     x_desc: "F1 (mean over seeds, 95 % t-interval)".into(),
///     categories: vec!["default".into(), "binary".into()],
///     series: vec![IntervalSeries {
///         name: "febrl4".into(),
///         values: vec![
///             Some(Interval { mean: 0.998, lo: 0.997, hi: 0.999 }),
///             Some(Interval { mean: 0.95, lo: 0.94, hi: 0.96 }),
///         ],
///     }],
/// });
/// assert!(c.to_svg()?.contains("binary"));
/// # Ok::<(), plot::PlotError>(())
/// ```
pub fn interval_chart(data: IntervalChart) -> Chart {
    ChartData::Intervals(data).into()
}

/// Points (and lines, per series) on linear or logarithmic axes; a point's label is drawn
/// beside it.
pub fn xy_chart(data: XyChart) -> Chart {
    ChartData::Xy(data).into()
}

/// The waterfall as a plain-text table for a terminal: one row per term with its weight and the
/// running total, then the final weight and probability.
///
/// # Examples
/// ```
/// use fellegi::plot::{Waterfall, WaterfallTerm, waterfall_text};
///
/// let w = Waterfall {
///     pair_label: None,
///     prior_weight: -6.0,
///     terms: vec![WaterfallTerm { name: "surname".into(), level_label: "exact".into(), weight: 9.0 }],
/// };
/// let t = waterfall_text(&w);
/// assert!(t.contains("surname") && t.contains("+3.00"));
/// ```
pub fn waterfall_text(w: &Waterfall) -> String {
    use std::fmt::Write;
    let name_w = w
        .terms
        .iter()
        .map(|t| t.name.chars().count())
        .chain([18])
        .max()
        .unwrap_or(18);
    let level_w = w
        .terms
        .iter()
        .map(|t| t.level_label.chars().count())
        .chain([5])
        .max()
        .unwrap_or(5);
    let mut s = String::new();
    if let Some(p) = &w.pair_label {
        let _ = writeln!(s, "{p}");
    }
    let _ = writeln!(
        s,
        "{:<name_w$}  {:<level_w$}  {:>9}  {:>10}",
        "term", "level", "weight", "cumulative"
    );
    let rule = "-".repeat(name_w + level_w + 25);
    let _ = writeln!(s, "{rule}");
    let mut cum = w.prior_weight;
    let _ = writeln!(
        s,
        "{:<name_w$}  {:<level_w$}  {:>+9.2}  {:>+10.2}",
        "prior", "", w.prior_weight, cum
    );
    for t in &w.terms {
        cum += t.weight;
        let _ = writeln!(
            s,
            "{:<name_w$}  {:<level_w$}  {:>+9.2}  {:>+10.2}",
            t.name, t.level_label, t.weight, cum
        );
    }
    let _ = writeln!(s, "{rule}");
    let _ = writeln!(
        s,
        "{:<name_w$}  {:<level_w$}  {:>9}  {:>+10.2}",
        "final match weight",
        "",
        "",
        w.total()
    );
    let _ = writeln!(
        s,
        "{:<name_w$}  {:<level_w$}  {:>9}  {:>10.4}",
        "match probability",
        "",
        "",
        w.probability()
    );
    s
}
