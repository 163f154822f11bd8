//! The vendored font: DejaVu Sans, registered once with plotters' `ab_glyph` font table under
//! the family name `sans-serif`. No system font is ever consulted.

use std::sync::OnceLock;

use plotters::style::{FontFamily, FontStyle, register_font};

use super::PlotError;

/// DejaVu Sans (see `assets/fonts/LICENSE-DejaVu.txt`).
static DEJAVU_SANS: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/fonts/DejaVuSans.ttf"
));

/// The family every chart uses.
pub(crate) const FAMILY: FontFamily<'static> = FontFamily::SansSerif;

/// Registers the vendored font (once per process).
///
/// # Errors
/// [`PlotError::Font`] if the font file cannot be parsed.
pub fn ensure_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| register_font(FAMILY.as_str(), FontStyle::Normal, DEJAVU_SANS).is_ok());
    if ok { Ok(()) } else { Err(PlotError::Font) }
}
