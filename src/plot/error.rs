//! Errors of the [`plot`](super) module.

use std::path::PathBuf;

/// Everything that can go wrong when building or rendering a chart.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The chart has nothing to draw (no pairs, no points, no comparisons, ...).
    #[error("{chart}: no data to plot: {reason}")]
    NoData {
        /// Which chart.
        chart: &'static str,
        /// What is missing.
        reason: String,
    },
    /// The data cannot be drawn (a NaN, a probability outside [0, 1], ...).
    #[error("{chart}: invalid data: {reason}")]
    InvalidData {
        /// Which chart.
        chart: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The vendored font could not be registered with plotters.
    #[error("cannot register the vendored DejaVu Sans font with plotters")]
    Font,
    /// Drawing failed (a font lookup, a backend error); no output was produced.
    #[error("{chart}: rendering failed: {message}")]
    Render {
        /// Which chart.
        chart: &'static str,
        /// The backend's message.
        message: String,
    },
    /// The image size is unusable.
    #[error("invalid image size {width}x{height}: both sides must be between 16 and 16384 pixels")]
    Size {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// The output path has no `.svg` or `.png` extension.
    #[error("{path}: unknown chart format; use a `.svg` or `.png` extension")]
    Format {
        /// The path as given.
        path: PathBuf,
    },
    /// The output file could not be written.
    #[error("cannot write {path}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
}

impl From<PlotError> for crate::Error {
    /// I/O failures become [`crate::Error::Io`]; everything else [`crate::Error::Plot`] with the
    /// message.
    fn from(e: PlotError) -> Self {
        match e {
            PlotError::Io { path, source } => crate::Error::Io { path, source },
            other => crate::Error::Plot(other.to_string()),
        }
    }
}
