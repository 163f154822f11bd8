//! Cleaning: column transforms (case, whitespace, punctuation, accents) and phonetic encoders,
//! applied to each distinct value once.

pub mod normalise;
pub mod phonetic;
mod spec;

pub use normalise::Transform;
pub use phonetic::PhoneticEncoder;
pub use spec::TransformSpec;

use crate::data::Dataset;
use crate::error::{Error, Result};

/// Applies the settings' transforms to the dataset's columns, in order. Values that become empty
/// become missing.
///
/// # Errors
/// [`Error::Internal`] if a transformed column was not loaded.
pub fn apply_transforms(ds: &mut Dataset, transforms: &[TransformSpec]) -> Result<()> {
    for t in transforms {
        let ci = ds.column_index(&t.column).ok_or_else(|| {
            Error::Internal(format!("transform column `{}` was not loaded (read the inputs with the settings' columns, as pipeline::load does)", t.column))
        })?;
        let c = &ds.columns[ci];
        let new = c.map_values(c.name.clone(), |v| {
            let mut s = v.to_string();
            for step in &t.steps {
                s = step.apply(&s);
            }
            s
        });
        ds.columns[ci] = new;
    }
    Ok(())
}

/// A derived key value: the phonetic code (if any) of `v`, then its first `prefix` characters.
pub fn encode_key_value(v: &str, encode: Option<PhoneticEncoder>, prefix: Option<usize>) -> String {
    let s = match encode {
        Some(e) => e.encode(v),
        None => v.to_string(),
    };
    match prefix {
        Some(p) => s.chars().take(p).collect(),
        None => s,
    }
}
