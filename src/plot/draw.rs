//! Validation and drawing of every chart, generic over the plotters backend.

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::data::{
    IntervalChart, ModelParams, PrPoint, RuleCount, Waterfall, WeightHistogram, XyChart,
    trapezoid_area,
};
use super::font::FAMILY;
use super::{ChartData, EmSession, PlotError, RocPoint};

/// Picks one number out of a data point.
type Metric<T> = fn(&T) -> f64;

pub(super) type DResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

const C_BLUE: RGBColor = RGBColor(31, 119, 180);
const C_ORANGE: RGBColor = RGBColor(255, 127, 14);
const C_GREEN: RGBColor = RGBColor(44, 160, 44);
const C_RED: RGBColor = RGBColor(214, 39, 40);
const C_GREY: RGBColor = RGBColor(120, 120, 120);
const C_HEADER: RGBColor = RGBColor(20, 40, 90);
const PALETTE: [RGBColor; 8] = [
    C_BLUE,
    C_ORANGE,
    C_GREEN,
    C_RED,
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

const TITLE_SIZE: f64 = 24.0;
const DESC_SIZE: f64 = 18.0;
const LABEL_SIZE: f64 = 16.0;
/// Annotations next to bars.
const NOTE_SIZE: f64 = 14.0;

/// A text style in the vendored font. Sizes are even numbers of pixels: plotters' `ab_glyph`
/// renderer truncates `size / 2 + glyph top` to whole pixels, so with odd sizes short glyphs
/// such as `.` land a pixel above the baseline.
fn text(size: f64) -> TextStyle<'static> {
    TextStyle::from((FAMILY, size).into_font()).color(&BLACK)
}

// ---------------------------------------------------------------------------------------------
// Validation

fn no_data(chart: &'static str, reason: impl Into<String>) -> PlotError {
    PlotError::NoData {
        chart,
        reason: reason.into(),
    }
}

fn invalid(chart: &'static str, reason: impl Into<String>) -> PlotError {
    PlotError::InvalidData {
        chart,
        reason: reason.into(),
    }
}

fn check_unit(chart: &'static str, what: &str, v: f64) -> Result<(), PlotError> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(invalid(chart, format!("{what} = {v} is not in [0, 1]")))
    }
}

fn check_finite(chart: &'static str, what: &str, v: f64) -> Result<(), PlotError> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(invalid(chart, format!("{what} = {v} is not finite")))
    }
}

pub(super) fn validate(data: &ChartData) -> Result<(), PlotError> {
    let kind = data.kind();
    match data {
        ChartData::WeightHistogram(h) => {
            if h.matches.is_empty() && h.non_matches.is_empty() {
                return Err(no_data(kind, "there are no scored pairs"));
            }
            for (i, &w) in h.matches.iter().chain(&h.non_matches).enumerate() {
                check_finite(kind, &format!("weight #{i}"), w)?;
            }
            if let Some(t) = h.threshold {
                check_finite(kind, "threshold", t)?;
            }
            if let Some(b) = h.bin_width
                && !(b.is_finite() && b > 0.0)
            {
                return Err(invalid(kind, format!("bin width {b} must be positive")));
            }
        }
        ChartData::MU(p) | ChartData::MatchWeights(p) => {
            if p.comparisons.is_empty() {
                return Err(no_data(kind, "the model has no comparisons"));
            }
            if matches!(data, ChartData::MatchWeights(_)) && !(p.lambda > 0.0 && p.lambda < 1.0) {
                return Err(invalid(
                    kind,
                    format!("lambda = {} is not in (0, 1)", p.lambda),
                ));
            }
            for c in &p.comparisons {
                if c.levels.is_empty() {
                    return Err(no_data(
                        kind,
                        format!("comparison `{}` has no non-null levels", c.name),
                    ));
                }
                for l in &c.levels {
                    check_unit(kind, &format!("{}[{}].m", c.name, l.label), l.m)?;
                    check_unit(kind, &format!("{}[{}].u", c.name, l.label), l.u)?;
                }
            }
        }
        ChartData::Waterfall(w) => {
            check_finite(kind, "prior weight", w.prior_weight)?;
            for t in &w.terms {
                check_finite(kind, &format!("weight of `{}`", t.name), t.weight)?;
            }
        }
        ChartData::PrCurve(pts) | ChartData::ThresholdSweep(pts) => {
            if pts.is_empty() {
                return Err(no_data(kind, "there are no points"));
            }
            for (i, p) in pts.iter().enumerate() {
                check_unit(kind, &format!("precision of point {i}"), p.precision)?;
                check_unit(kind, &format!("recall of point {i}"), p.recall)?;
                check_finite(kind, &format!("threshold of point {i}"), p.threshold)?;
            }
        }
        ChartData::RocCurve(pts) => {
            if pts.is_empty() {
                return Err(no_data(kind, "there are no points"));
            }
            for (i, p) in pts.iter().enumerate() {
                check_unit(kind, &format!("fpr of point {i}"), p.fpr)?;
                check_unit(kind, &format!("tpr of point {i}"), p.tpr)?;
            }
        }
        ChartData::EmTrace(sessions) => {
            if sessions.iter().all(|s| s.steps.is_empty()) {
                return Err(no_data(kind, "there are no EM iterations"));
            }
            for s in sessions {
                for (i, st) in s.steps.iter().enumerate() {
                    check_finite(
                        kind,
                        &format!("{} iteration {} log-likelihood", s.name, i + 1),
                        st.log_likelihood,
                    )?;
                    check_unit(
                        kind,
                        &format!("{} iteration {} lambda", s.name, i + 1),
                        st.lambda,
                    )?;
                }
            }
        }
        ChartData::BlockingRules { rules, .. } => {
            if rules.is_empty() {
                return Err(no_data(kind, "there are no blocking rules"));
            }
        }
        ChartData::Intervals(c) => {
            if c.categories.is_empty() || c.series.is_empty() {
                return Err(no_data(kind, "there are no categories or no series"));
            }
            let mut any = false;
            for s in &c.series {
                if s.values.len() != c.categories.len() {
                    return Err(invalid(
                        kind,
                        format!(
                            "series `{}` has {} values for {} categories",
                            s.name,
                            s.values.len(),
                            c.categories.len()
                        ),
                    ));
                }
                for (cat, v) in c.categories.iter().zip(&s.values) {
                    let Some(v) = v else { continue };
                    any = true;
                    let what = format!("{} of `{}`", cat, s.name);
                    check_finite(kind, &format!("mean {what}"), v.mean)?;
                    check_finite(kind, &format!("lower end {what}"), v.lo)?;
                    check_finite(kind, &format!("upper end {what}"), v.hi)?;
                    if !(v.lo <= v.mean && v.mean <= v.hi) {
                        return Err(invalid(
                            kind,
                            format!(
                                "interval {what} is not lo <= mean <= hi: {} {} {}",
                                v.lo, v.mean, v.hi
                            ),
                        ));
                    }
                }
            }
            if !any {
                return Err(no_data(kind, "every value is missing"));
            }
        }
        ChartData::Xy(c) => {
            if c.series.iter().all(|s| s.points.is_empty()) {
                return Err(no_data(kind, "there are no points"));
            }
            for s in &c.series {
                for (i, p) in s.points.iter().enumerate() {
                    check_finite(kind, &format!("x of `{}` point {i}", s.name), p.x)?;
                    check_finite(kind, &format!("y of `{}` point {i}", s.name), p.y)?;
                    if (c.log_x && p.x <= 0.0) || (c.log_y && p.y <= 0.0) {
                        return Err(invalid(
                            kind,
                            format!(
                                "`{}` point {i} ({}, {}) is not positive on a log axis",
                                s.name, p.x, p.y
                            ),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Dispatch

pub(super) fn draw<DB>(data: &ChartData, title: &str, root: &DrawingArea<DB, Shift>) -> DResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let area = root.titled(title, text(TITLE_SIZE))?;
    match data {
        ChartData::WeightHistogram(h) => histogram(&area, h),
        ChartData::MU(p) => m_u(root, &area, p),
        ChartData::MatchWeights(p) => match_weights(root, &area, p),
        ChartData::Waterfall(w) => waterfall(root, &area, w),
        ChartData::PrCurve(p) => pr_curve(&area, p),
        ChartData::RocCurve(p) => roc_curve(&area, p),
        ChartData::EmTrace(s) => em_trace(&area, s),
        ChartData::ThresholdSweep(p) => threshold_sweep(&area, p),
        ChartData::BlockingRules { rules, log_x } => blocking(root, &area, rules, *log_x),
        ChartData::Intervals(c) => intervals(root, &area, c),
        ChartData::Xy(c) => xy(&area, c),
    }
}

// ---------------------------------------------------------------------------------------------
// Number formatting

/// A round step (1, 2 or 5 × 10^k) at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let r = raw / mag;
    let f = if r <= 1.0 {
        1.0
    } else if r <= 2.0 {
        2.0
    } else if r <= 5.0 {
        5.0
    } else {
        10.0
    };
    f * mag
}

/// Axis tick text: short, no float noise.
fn fmt_tick(v: f64) -> String {
    let a = v.abs();
    if a < 1e-12 {
        return "0".into();
    }
    if !(1e-3..1e5).contains(&a) {
        let s = format!("{v:.2e}");
        // "1.50e5" → "1.5e5"
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mant = mant.trim_end_matches('0').trim_end_matches('.');
        return format!("{mant}e{exp}");
    }
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A count for an axis tick: 950, 12k, 3.5M, 1G.
fn fmt_compact(v: f64) -> String {
    let a = v.abs();
    let (scaled, suffix) = if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    format!("{}{suffix}", fmt_tick(scaled))
}

/// `(lo, hi)` widened by `frac` of the span on each side; never empty.
fn padded(lo: f64, hi: f64, frac: f64) -> (f64, f64) {
    let span = hi - lo;
    if span.abs() < 1e-12 {
        let d = lo.abs() * 0.05 + 1e-6;
        (lo - d, hi + d)
    } else {
        (lo - span * frac, hi + span * frac)
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

fn legend_box(color: RGBColor) -> impl Fn((i32, i32)) -> Rectangle<(i32, i32)> {
    move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], color.filled())
}

fn legend_line(color: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(3))
}

// ---------------------------------------------------------------------------------------------
// Histogram

fn histogram<DB>(area: &DrawingArea<DB, Shift>, h: &WeightHistogram) -> DResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let all = h.matches.iter().chain(&h.non_matches).copied();
    let mut lo = all.clone().fold(f64::INFINITY, f64::min);
    let mut hi = all.fold(f64::NEG_INFINITY, f64::max);
    if let Some(t) = h.threshold {
        lo = lo.min(t);
        hi = hi.max(t);
    }
    let width = h
        .bin_width
        .unwrap_or_else(|| nice_step((hi - lo) / 40.0).max(1e-6));
    let start = (lo / width).floor() * width;
    let nbins = (((hi - start) / width).floor() as usize + 1).min(100_000);
    let bin = |w: f64| (((w - start) / width).floor().max(0.0) as usize).min(nbins - 1);
    let mut counts = [vec![0u64; nbins], vec![0u64; nbins]];
    for &w in &h.non_matches {
        counts[0][bin(w)] += 1;
    }
    for &w in &h.matches {
        counts[1][bin(w)] += 1;
    }
    let max = counts.iter().flatten().copied().max().unwrap_or(1).max(1) as f64;
    let x = (start - width)..(start + (nbins as f64 + 1.0) * width);
    let series = [
        (
            format!(
                "non-matches (n = {})",
                crate::output::thousands(h.non_matches.len() as u64)
            ),
            C_BLUE,
        ),
        (
            format!(
                "true matches (n = {})",
                crate::output::thousands(h.matches.len() as u64)
            ),
            C_ORANGE,
        ),
    ];
    if h.log_y {
        histogram_on(
            area,
            h,
            x,
            (0.7..max * 12.0).log_scale(),
            0.7,
            &counts,
            start,
            width,
            &series,
        )
    } else {
        histogram_on(
            area,
            h,
            x,
            0.0..max * 1.35,
            0.0,
            &counts,
            start,
            width,
            &series,
        )
    }
}

#[allow(clippy::too_many_arguments)]
fn histogram_on<DB, YR>(
    area: &DrawingArea<DB, Shift>,
    h: &WeightHistogram,
    x: std::ops::Range<f64>,
    y: YR,
    floor: f64,
    counts: &[Vec<u64>; 2],
    start: f64,
    width: f64,
    series: &[(String, RGBColor); 2],
) -> DResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    YR: AsRangedCoord<Value = f64>,
    YR::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .margin_right(24)
        .x_label_area_size(52)
        .y_label_area_size(76)
        .build_cartesian_2d(x, y)?;
    let y_desc = if h.log_y {
        "pairs per bin (log scale)"
    } else {
        "pairs per bin"
    };
    chart
        .configure_mesh()
        .x_desc(format!(
            "match weight (bits; bin width {})",
            fmt_tick(width)
        ))
        .y_desc(y_desc)
        .axis_desc_style(text(DESC_SIZE))
        .label_style(text(LABEL_SIZE))
        .x_label_formatter(&|v| fmt_tick(*v))
        .y_label_formatter(&|v| fmt_tick(*v))
        .light_line_style(WHITE)
        .draw()?;
    for (k, (label, color)) in series.iter().enumerate() {
        let color = *color;
        let bars = counts[k]
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(move |(i, &c)| {
                let x0 = start + i as f64 * width;
                Rectangle::new(
                    [(x0, floor), (x0 + width, c as f64)],
                    color.mix(0.55).filled(),
                )
            });
        chart
            .draw_series(bars)?
            .label(label.as_str())
            .legend(legend_box(color));
    }
    if let Some(t) = h.threshold {
        let top = chart.y_range().end;
        chart
            .draw_series(LineSeries::new(
                [(t, floor), (t, top)],
                BLACK.stroke_width(2),
            ))?
            .label(
                h.threshold_label
                    .clone()
                    .unwrap_or_else(|| format!("threshold = {} (match weight)", fmt_tick(t))),
            )
            .legend(legend_line(BLACK));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(C_GREY)
        .label_font(text(LABEL_SIZE))
        .draw()?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Row charts: one horizontal band per level or rule, grouped under section headers.

struct RowBar {
    from: f64,
    to: f64,
    color: RGBColor,
    note: Option<String>,
}

enum Row {
    /// Empty band (room for the legend).
    Spacer,
    Header(String),
    Item {
        label: String,
        bars: Vec<RowBar>,
    },
}

struct RowChart {
    x_desc: String,
    rows: Vec<Row>,
    legend: Vec<(String, RGBColor)>,
    zero_line: bool,
}

fn label_area_width<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    rows: &[Row],
) -> Result<u32, Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    let mut w = 60;
    for r in rows {
        if let Row::Item { label, .. } = r {
            w = w.max(root.estimate_text_size(label, &text(LABEL_SIZE))?.0);
        }
    }
    let max = root.dim_in_pixel().0 * 45 / 100;
    Ok((w + 20).min(max))
}

fn draw_rows<DB, XR>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    spec: &RowChart,
    x: XR,
    fmt: &dyn Fn(&f64) -> String,
) -> DResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    XR: AsRangedCoord<Value = f64>,
    XR::CoordDescType: ValueFormatter<f64>,
{
    let n = spec.rows.len() as f64;
    let label_w = label_area_width(root, &spec.rows)?;
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .margin_right(70)
        .x_label_area_size(52)
        .y_label_area_size(label_w)
        .build_cartesian_2d(x, 0.0..n)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc(spec.x_desc.as_str())
        .axis_desc_style(text(DESC_SIZE))
        .label_style(text(LABEL_SIZE))
        .x_label_formatter(fmt)
        .light_line_style(WHITE)
        .draw()?;
    let x_range = chart.x_range();
    let (x_lo, x_hi) = (x_range.start, x_range.end);
    let clamp = |v: f64| v.clamp(x_lo, x_hi);
    let plot_left = chart.backend_coord(&(x_lo, 0.0)).0;
    let label_style = text(LABEL_SIZE).pos(Pos::new(HPos::Right, VPos::Center));
    let header_style = text(LABEL_SIZE)
        .color(&C_HEADER)
        .pos(Pos::new(HPos::Left, VPos::Center));
    let left_edge = plot_left - label_w as i32 + 4;
    for (i, row) in spec.rows.iter().enumerate() {
        let yc = n - i as f64 - 0.5;
        let (_, py) = chart.backend_coord(&(x_lo, yc));
        match row {
            Row::Spacer => {}
            Row::Header(h) => {
                // Separator above each section, except at the very top.
                if i > 0 && !matches!(spec.rows[i - 1], Row::Spacer) {
                    let top = n - i as f64;
                    chart.draw_series(LineSeries::new(
                        [(x_lo, top), (x_hi, top)],
                        C_GREY.mix(0.5).stroke_width(1),
                    ))?;
                }
                root.draw(&Text::new(
                    h.clone(),
                    (left_edge.max(2), py),
                    header_style.clone(),
                ))?;
            }
            Row::Item { label, bars } => {
                root.draw(&Text::new(
                    label.clone(),
                    (plot_left - 8, py),
                    label_style.clone(),
                ))?;
                let k = bars.len().max(1) as f64;
                let band = 0.76 / k;
                for (j, b) in bars.iter().enumerate() {
                    let y1 = yc + 0.38 - j as f64 * band;
                    let y0 = y1 - band;
                    let (a, z) = (clamp(b.from), clamp(b.to));
                    if (z - a).abs() > 0.0 {
                        chart.draw_series(std::iter::once(Rectangle::new(
                            [(a, y0 + 0.04 * band), (z, y1 - 0.04 * band)],
                            b.color.filled(),
                        )))?;
                    }
                    if let Some(note) = &b.note {
                        let (anchor, dx) = if b.to >= b.from {
                            (HPos::Left, 4)
                        } else {
                            (HPos::Right, -4)
                        };
                        let style = text(NOTE_SIZE).pos(Pos::new(anchor, VPos::Center));
                        chart.draw_series(std::iter::once(
                            EmptyElement::at((z, (y0 + y1) / 2.0))
                                + Text::new(note.clone(), (dx, 0), style),
                        ))?;
                    }
                }
            }
        }
    }
    if spec.zero_line && x_lo < 0.0 && x_hi > 0.0 {
        chart.draw_series(LineSeries::new(
            [(0.0, 0.0), (0.0, n)],
            BLACK.stroke_width(1),
        ))?;
    }
    if !spec.legend.is_empty() {
        for (label, color) in &spec.legend {
            // An empty series that only carries the legend entry.
            chart
                .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())?
                .label(label.as_str())
                .legend(legend_box(*color));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(C_GREY)
            .label_font(text(LABEL_SIZE))
            .draw()?;
    }
    Ok(())
}

fn m_u<DB>(root: &DrawingArea<DB, Shift>, area: &DrawingArea<DB, Shift>, p: &ModelParams) -> DResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    // Two empty bands at the top hold the legend (upper right) clear of the bars.
    let mut rows = vec![Row::Spacer, Row::Spacer];
    for c in &p.comparisons {
        rows.push(Row::Header(truncate(&c.name, 60)));
        for l in &c.levels {
            rows.push(Row::Item {
                label: truncate(&l.label, 48),
                bars: vec![
                    RowBar {
                        from: 0.0,
                        to: l.m,
                        color: C_BLUE,
                        note: Some(format!("m = {:.3}", l.m)),
                    },
                    RowBar {
                        from: 0.0,
                        to: l.u,
                        color: C_ORANGE,
                        note: Some(format!("u = {:.3}", l.u)),
                    },
                ],
            });
        }
    }
    let spec = RowChart {
        x_desc: "probability of the level given match (m) or non-match (u)".into(),
        rows,
        legend: vec![
            ("m = P(level | match)".into(), C_BLUE),
            ("u = P(level | non-match)".into(), C_ORANGE),
        ],
        zero_line: false,
    };
    draw_rows(root, area, &spec, 0.0..1.0, &|v| fmt_tick(*v))
}

fn match_weights<DB>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    p: &ModelParams,
) -> DResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let sign_color = |w: f64| if w >= 0.0 { C_GREEN } else { C_RED };
    let prior = p.prior_weight();
    let mut rows = vec![
        Row::Header("prior".into()),
        Row::Item {
            label: format!("λ = {}", fmt_tick(p.lambda)),
            bars: vec![RowBar {
                from: 0.0,
                to: prior,
                color: C_GREY,
                note: Some(format!("{prior:+.2}")),
            }],
        },
    ];
    let (mut lo, mut hi) = (prior.min(0.0), prior.max(0.0));
    for c in &p.comparisons {
        rows.push(Row::Header(truncate(&c.name, 60)));
        for l in &c.levels {
            let w = l.weight();
            lo = lo.min(w);
            hi = hi.max(w);
            rows.push(Row::Item {
                label: truncate(&l.label, 48),
                bars: vec![RowBar {
                    from: 0.0,
                    to: w,
                    color: sign_color(w),
                    note: Some(format!("{w:+.2}")),
                }],
            });
        }
    }
    let (lo, hi) = padded(lo, hi, 0.12);
    let spec = RowChart {
        x_desc: "match weight log2(m / u), bits".into(),
        rows,
        legend: vec![],
        zero_line: true,
    };
    draw_rows(root, area, &spec, lo..hi, &|v| fmt_tick(*v))
}

fn waterfall<DB>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    w: &Waterfall,
) -> DResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let mut cum = w.prior_weight;
    let (mut lo, mut hi) = (cum.min(0.0), cum.max(0.0));
    let mut rows = vec![Row::Item {
        label: "prior".into(),
        bars: vec![RowBar {
            from: 0.0,
            to: cum,
            color: C_GREY,
            note: Some(format!("{cum:+.2}")),
        }],
    }];
    for t in &w.terms {
        let from = cum;
        cum += t.weight;
        lo = lo.min(cum);
        hi = hi.max(cum);
        rows.push(Row::Item {
            label: truncate(&format!("{}: {}", t.name, t.level_label), 56),
            bars: vec![RowBar {
                from,
                to: cum,
                color: if t.weight >= 0.0 { C_GREEN } else { C_RED },
                note: Some(format!("{:+.2}", t.weight)),
            }],
        });
    }
    rows.push(Row::Item {
        label: "final match weight".into(),
        bars: vec![RowBar {
            from: 0.0,
            to: cum,
            color: C_BLUE,
            note: Some(format!("{cum:+.2} (p = {:.4})", w.probability())),
        }],
    });
    let (lo, hi) = padded(lo, hi, 0.15);
    let spec = RowChart {
        x_desc: "cumulative match weight (bits)".into(),
        rows,
        legend: vec![],
        zero_line: true,
    };
    draw_rows(root, area, &spec, lo..hi, &|v| fmt_tick(*v))
}

fn blocking<DB>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    rules: &[RuleCount],
    log_x: bool,
) -> DResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let floor = if log_x { 1.0 } else { 0.0 };
    let rows: Vec<Row> = rules
        .iter()
        .map(|r| Row::Item {
            label: truncate(&r.rule, 56),
            bars: vec![RowBar {
                from: floor,
                to: (r.pairs as f64).max(floor),
                color: C_BLUE,
                note: Some(crate::output::thousands(r.pairs)),
            }],
        })
        .collect();
    let max = rules.iter().map(|r| r.pairs).max().unwrap_or(0).max(1) as f64;
    let mut spec = RowChart {
        x_desc: "candidate pairs".into(),
        rows,
        legend: vec![],
        zero_line: false,
    };
    let fmt = |v: &f64| fmt_compact(*v);
    if log_x {
        spec.x_desc = "candidate pairs (log scale)".into();
        draw_rows(root, area, &spec, (1.0..max * 3.0).log_scale(), &fmt)
    } else {
        draw_rows(root, area, &spec, 0.0..max * 1.05, &fmt)
    }
}

// ---------------------------------------------------------------------------------------------
// x–y charts

fn unit_chart<'a, DB>(
    area: &'a DrawingArea<DB, Shift>,
    x: std::ops::Range<f64>,
    x_desc: &str,
    y_desc: &str,
) -> DResult<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .margin_right(24)
        .x_label_area_size(52)
        .y_label_area_size(64)
        .build_cartesian_2d(x, 0.0..1.0)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .axis_desc_style(text(DESC_SIZE))
        .label_style(text(LABEL_SIZE))
        .x_label_formatter(&|v| fmt_tick(*v))
        .y_label_formatter(&|v| fmt_tick(*v))
        .light_line_style(WHITE)
        .draw()?;
    Ok(chart)
}

fn pr_curve<DB>(area: &DrawingArea<DB, Shift>, pts: &[PrPoint]) -> DResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    // Joined in order of falling threshold, so recall rises along the line.
    let mut pts = pts.to_vec();
    pts.sort_by(|a, b| {
        b.threshold
            .total_cmp(&a.threshold)
            .then(a.recall.total_cmp(&b.recall))
    });
    let xy: Vec<(f64, f64)> = pts.iter().map(|p| (p.recall, p.precision)).collect();
    let mut chart = unit_chart(area, 0.0..1.0, "recall", "precision")?;
    chart
        .draw_series(LineSeries::new(xy.iter().copied(), C_BLUE.stroke_width(2)))?
        .label(format!("precision–recall ({} thresholds)", pts.len()))
        .legend(legend_line(C_BLUE));
    chart.draw_series(xy.iter().map(|&p| Circle::new(p, 3, C_BLUE.filled())))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(C_GREY)
        .label_font(text(LABEL_SIZE))
        .draw()?;
    Ok(())
}

fn roc_curve<DB>(area: &DrawingArea<DB, Shift>, pts: &[RocPoint]) -> DResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    // A ROC curve runs from (0, 0) to (1, 1): the points of a sweep over the scored pairs stop
    // at a tiny false-positive rate, and every pair never scored ranks below them as one tie.
    let mut xy: Vec<(f64, f64)> = vec![(0.0, 0.0)];
    xy.extend(pts.iter().map(|p| (p.fpr, p.tpr)));
    xy.push((1.0, 1.0));
    xy.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let auc = trapezoid_area(xy.clone());
    let mut chart = unit_chart(area, 0.0..1.0, "false-positive rate", "true-positive rate")?;
    chart
        .draw_series(DashedLineSeries::new(
            [(0.0, 0.0), (1.0, 1.0)],
            6,
            6,
            C_GREY.stroke_width(1),
        ))?
        .label("chance")
        .legend(legend_line(C_GREY));
    chart
        .draw_series(LineSeries::new(xy.iter().copied(), C_BLUE.stroke_width(2)))?
        .label(format!("ROC, AUC = {auc:.3}"))
        .legend(legend_line(C_BLUE));
    chart.draw_series(xy.iter().map(|&p| Circle::new(p, 3, C_BLUE.filled())))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(C_GREY)
        .label_font(text(LABEL_SIZE))
        .draw()?;
    Ok(())
}

fn threshold_sweep<DB>(area: &DrawingArea<DB, Shift>, pts: &[PrPoint]) -> DResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let mut pts = pts.to_vec();
    pts.sort_by(|a, b| a.threshold.total_cmp(&b.threshold));
    let lo = pts.first().map_or(0.0, |p| p.threshold).min(0.0);
    let hi = pts.last().map_or(1.0, |p| p.threshold).max(1.0);
    let mut chart = unit_chart(area, lo..hi, "match probability threshold", "value")?;
    let lines: [(&str, RGBColor, Metric<PrPoint>); 3] = [
        ("precision", C_BLUE, |p| p.precision),
        ("recall", C_ORANGE, |p| p.recall),
        ("F1", C_GREEN, |p| p.f1()),
    ];
    for (name, color, f) in lines {
        chart
            .draw_series(LineSeries::new(
                pts.iter().map(|p| (p.threshold, f(p))),
                color.stroke_width(2),
            ))?
            .label(name)
            .legend(legend_line(color));
    }
    // The first point of best F1 (sorted by threshold, so ties pick the lowest threshold).
    let best = pts
        .iter()
        .fold(None::<&PrPoint>, |b, p| match b {
            Some(b) if b.f1() >= p.f1() => Some(b),
            _ => Some(p),
        })
        .copied();
    if let Some(b) = best {
        chart
            .draw_series(DashedLineSeries::new(
                [(b.threshold, 0.0), (b.threshold, 1.0)],
                5,
                5,
                BLACK.stroke_width(1),
            ))?
            .label(format!(
                "best F1 = {:.3} at {}",
                b.f1(),
                fmt_tick(b.threshold)
            ))
            .legend(legend_line(BLACK));
        chart.draw_series(std::iter::once(Circle::new(
            (b.threshold, b.f1()),
            5,
            C_GREEN.filled(),
        )))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(C_GREY)
        .label_font(text(LABEL_SIZE))
        .draw()?;
    Ok(())
}

fn em_trace<DB>(area: &DrawingArea<DB, Shift>, sessions: &[EmSession]) -> DResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let sessions: Vec<&EmSession> = sessions.iter().filter(|s| !s.steps.is_empty()).collect();
    let max_iter = sessions.iter().map(|s| s.steps.len()).max().unwrap_or(1) as f64;
    let (x_lo, x_hi) = (0.5, max_iter + 0.5);
    let range = |f: fn(&super::EmStep) -> f64| {
        let vals = sessions.iter().flat_map(|s| s.steps.iter().map(f));
        let lo = vals.clone().fold(f64::INFINITY, f64::min);
        let hi = vals.fold(f64::NEG_INFINITY, f64::max);
        padded(lo, hi, 0.08)
    };
    let half = area.dim_in_pixel().1 / 2;
    let (top, bottom) = area.split_vertically(half);
    let panels: [(&DrawingArea<DB, Shift>, &str, Metric<super::EmStep>); 2] = [
        (&top, "log-likelihood", |s| s.log_likelihood),
        (&bottom, "λ (prior match probability)", |s| s.lambda),
    ];
    for (pi, (panel, y_desc, f)) in panels.into_iter().enumerate() {
        let (lo, hi) = range(f);
        let mut chart = ChartBuilder::on(panel)
            .margin(12)
            .margin_right(24)
            .x_label_area_size(if pi == 1 { 52 } else { 36 })
            .y_label_area_size(96)
            .build_cartesian_2d(x_lo..x_hi, lo..hi)?;
        let x_labels = (max_iter as usize).min(12);
        let mut mesh = chart.configure_mesh();
        mesh.y_desc(y_desc)
            .axis_desc_style(text(DESC_SIZE))
            .label_style(text(LABEL_SIZE))
            .x_labels(x_labels)
            .x_label_formatter(&|v| {
                if (v - v.round()).abs() < 1e-9 {
                    format!("{}", v.round() as i64)
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|v| fmt_tick(*v))
            .light_line_style(WHITE);
        if pi == 1 {
            mesh.x_desc("EM iteration");
        }
        mesh.draw()?;
        for (si, s) in sessions.iter().enumerate() {
            let color = PALETTE[si % PALETTE.len()];
            let pts: Vec<(f64, f64)> = s
                .steps
                .iter()
                .enumerate()
                .map(|(i, st)| ((i + 1) as f64, f(st)))
                .collect();
            let series =
                chart.draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))?;
            if pi == 0 {
                series
                    .label(truncate(&s.name, 50))
                    .legend(legend_line(color));
            }
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
        }
        if pi == 0 {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.9))
                .border_style(C_GREY)
                .label_font(text(LABEL_SIZE))
                .draw()?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Figures from experiment results: intervals per category, x–y scatter and lines

/// Height of one line of the legend under the interval and x–y charts.
const LEGEND_LINE: u32 = 26;

/// The legend entries (name, colour, text width) laid out in lines that fit `width`.
fn legend_lines<DB>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, RGBColor)],
) -> DResult<Vec<Vec<(String, RGBColor, u32)>>>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let style = text(LABEL_SIZE);
    let width = area.dim_in_pixel().0.saturating_sub(24);
    let mut lines: Vec<Vec<(String, RGBColor, u32)>> = vec![Vec::new()];
    let mut used = 0;
    for (name, color) in entries {
        let tw = area.estimate_text_size(name, &style)?.0;
        let w = tw + 20 + 24;
        if used > 0 && used + w > width {
            lines.push(Vec::new());
            used = 0;
        }
        used += w;
        if let Some(line) = lines.last_mut() {
            line.push((name.clone(), *color, tw));
        }
    }
    Ok(lines)
}

/// Splits `area` into the plot and a legend strip below it, and draws `entries` (name, colour)
/// in the strip, each line centred, each entry a colour box and its name. Returns the plot area.
fn with_legend<DB>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, RGBColor)],
) -> DResult<DrawingArea<DB, Shift>>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let lines = legend_lines(area, entries)?;
    let (w, h) = area.dim_in_pixel();
    let strip_h = 8 + LEGEND_LINE * lines.len() as u32;
    let (plot_area, strip) = area.split_vertically(h.saturating_sub(strip_h));
    let style = text(LABEL_SIZE).pos(Pos::new(HPos::Left, VPos::Center));
    for (li, line) in lines.iter().enumerate() {
        let total: u32 = line.iter().map(|(_, _, tw)| tw + 20 + 24).sum::<u32>() - 24;
        let mut x = (w.saturating_sub(total) / 2) as i32;
        let y = (LEGEND_LINE / 2 + LEGEND_LINE * li as u32) as i32;
        for (name, color, tw) in line {
            strip.draw(&Rectangle::new(
                [(x, y - 6), (x + 14, y + 6)],
                color.filled(),
            ))?;
            strip.draw(&Text::new(name.clone(), (x + 20, y), style.clone()))?;
            x += (tw + 20 + 24) as i32;
        }
    }
    Ok(plot_area)
}

fn intervals<DB>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    c: &IntervalChart,
) -> DResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let entries: Vec<(String, RGBColor)> = c
        .series
        .iter()
        .enumerate()
        .map(|(j, s)| (truncate(&s.name, 40), PALETTE[j % PALETTE.len()]))
        .collect();
    let plot_area = with_legend(area, &entries)?;
    let all = c.series.iter().flat_map(|s| s.values.iter().flatten());
    let lo = all.clone().map(|v| v.lo).fold(f64::INFINITY, f64::min);
    let hi = all.map(|v| v.hi).fold(f64::NEG_INFINITY, f64::max);
    let (mut x_lo, mut x_hi) = padded(lo, hi, 0.08);
    // Shares stay on [0, 1]: no axis ticks beyond what the quantity can take.
    if lo >= 0.0 && hi <= 1.0 {
        x_lo = x_lo.max(0.0);
        x_hi = x_hi.min(1.0);
    }
    let n = c.categories.len() as f64;
    let mut label_w = 60;
    for cat in &c.categories {
        label_w = label_w.max(root.estimate_text_size(cat, &text(LABEL_SIZE))?.0);
    }
    let label_w = (label_w + 20).min(root.dim_in_pixel().0 * 45 / 100);
    let mut chart = ChartBuilder::on(&plot_area)
        .margin(12)
        .margin_right(76)
        .x_label_area_size(52)
        .y_label_area_size(label_w)
        .build_cartesian_2d(x_lo..x_hi, 0.0..n)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc(c.x_desc.as_str())
        .axis_desc_style(text(DESC_SIZE))
        .label_style(text(LABEL_SIZE))
        .x_label_formatter(&|v| fmt_tick(*v))
        .light_line_style(WHITE)
        .draw()?;
    let plot_left = chart.backend_coord(&(x_lo, 0.0)).0;
    let label_style = text(LABEL_SIZE).pos(Pos::new(HPos::Right, VPos::Center));
    let note_style = text(NOTE_SIZE).pos(Pos::new(HPos::Left, VPos::Center));
    let k = c.series.len() as f64;
    let band = 0.8 / k;
    for (i, cat) in c.categories.iter().enumerate() {
        let top = n - i as f64;
        let yc = top - 0.5;
        if i > 0 {
            chart.draw_series(LineSeries::new(
                [(x_lo, top), (x_hi, top)],
                C_GREY.mix(0.4).stroke_width(1),
            ))?;
        }
        let (_, py) = chart.backend_coord(&(x_lo, yc));
        root.draw(&Text::new(
            cat.clone(),
            (plot_left - 8, py),
            label_style.clone(),
        ))?;
        for (j, s) in c.series.iter().enumerate() {
            let Some(v) = s.values[i] else { continue };
            let color = PALETTE[j % PALETTE.len()];
            let y = top - 0.1 - (j as f64 + 0.5) * band;
            let cap = band * 0.25;
            chart.draw_series(LineSeries::new(
                [(v.lo, y), (v.hi, y)],
                color.stroke_width(2),
            ))?;
            for e in [v.lo, v.hi] {
                chart.draw_series(LineSeries::new(
                    [(e, y - cap), (e, y + cap)],
                    color.stroke_width(2),
                ))?;
            }
            chart.draw_series(std::iter::once(Circle::new((v.mean, y), 5, color.filled())))?;
            chart.draw_series(std::iter::once(
                EmptyElement::at((v.hi, y))
                    + Text::new(fmt_mean(v.mean), (8, 0), note_style.clone()),
            ))?;
        }
    }
    Ok(())
}

/// A mean next to its dot: four decimals (F1, precision and recall are read at that precision
/// in the tables).
fn fmt_mean(v: f64) -> String {
    if v != 0.0 && v.abs() < 1e-3 {
        format!("{v:.2e}")
    } else {
        format!("{v:.4}")
    }
}

fn xy<DB>(area: &DrawingArea<DB, Shift>, c: &XyChart) -> DResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let entries: Vec<(String, RGBColor)> = c
        .series
        .iter()
        .enumerate()
        .map(|(j, s)| (truncate(&s.name, 48), PALETTE[j % PALETTE.len()]))
        .collect();
    let plot_area = with_legend(area, &entries)?;
    let pts = || c.series.iter().flat_map(|s| s.points.iter());
    let range = |f: fn(&super::XyPoint) -> f64, log: bool| {
        let lo = pts().map(f).fold(f64::INFINITY, f64::min);
        let hi = pts().map(f).fold(f64::NEG_INFINITY, f64::max);
        if log {
            (lo / 1.6, hi * 1.6)
        } else {
            padded(lo, hi, 0.1)
        }
    };
    let (x0, x1) = range(|p| p.x, c.log_x);
    let (y0, y1) = range(|p| p.y, c.log_y);
    let log = |lo: f64, hi: f64| (lo..hi).log_scale().with_key_points(log_ticks(lo, hi));
    match (c.log_x, c.log_y) {
        (false, false) => xy_on(&plot_area, c, x0..x1, y0..y1)?,
        (true, false) => xy_on(&plot_area, c, log(x0, x1), y0..y1)?,
        (false, true) => xy_on(&plot_area, c, x0..x1, log(y0, y1))?,
        (true, true) => xy_on(&plot_area, c, log(x0, x1), log(y0, y1))?,
    }
    Ok(())
}

/// Ticks of a log axis on [lo, hi]: 1, 2 and 5 × 10^k over up to three decades, else the
/// powers of ten alone.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let steps: &[f64] = if b - a <= 3 { &[1.0, 2.0, 5.0] } else { &[1.0] };
    (a..=b)
        .flat_map(|k| steps.iter().map(move |s| s * 10f64.powi(k)))
        .filter(|t| (lo..=hi).contains(t))
        .collect()
}

fn xy_on<DB, XR, YR>(area: &DrawingArea<DB, Shift>, c: &XyChart, x: XR, y: YR) -> DResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    XR: AsRangedCoord<Value = f64>,
    XR::CoordDescType: ValueFormatter<f64>,
    YR: AsRangedCoord<Value = f64>,
    YR::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .margin_right(24)
        .x_label_area_size(52)
        .y_label_area_size(76)
        .build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .x_desc(c.x_desc.as_str())
        .y_desc(c.y_desc.as_str())
        .axis_desc_style(text(DESC_SIZE))
        .label_style(text(LABEL_SIZE))
        .x_labels(10)
        .y_labels(10)
        .x_label_formatter(&|v| fmt_compact(*v))
        .y_label_formatter(&|v| fmt_compact(*v))
        .light_line_style(WHITE)
        .draw()?;
    let (px_lo, px_hi) = {
        let a = chart.plotting_area().get_pixel_range().0;
        (a.start, a.end)
    };
    for (j, s) in c.series.iter().enumerate() {
        let color = PALETTE[j % PALETTE.len()];
        let mut xy: Vec<(f64, f64)> = s.points.iter().map(|p| (p.x, p.y)).collect();
        xy.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        if s.line {
            chart.draw_series(LineSeries::new(xy.iter().copied(), color.stroke_width(2)))?;
        }
        chart.draw_series(xy.iter().map(|&p| Circle::new(p, 5, color.filled())))?;
        for p in &s.points {
            let Some(label) = &p.label else { continue };
            // Labels sit right of their point, or left of it in the rightmost third.
            let px = chart.backend_coord(&(p.x, p.y)).0;
            let right_side = px > px_lo + (px_hi - px_lo) * 2 / 3;
            let (anchor, dx) = if right_side {
                (HPos::Right, -9)
            } else {
                (HPos::Left, 9)
            };
            let style = text(NOTE_SIZE).pos(Pos::new(anchor, VPos::Center));
            chart.draw_series(std::iter::once(
                EmptyElement::at((p.x, p.y)) + Text::new(label.clone(), (dx, 0), style),
            ))?;
        }
    }
    Ok(())
}
