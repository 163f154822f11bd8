//! The transform vocabulary of settings: `[[transform]]` tables.

use serde::{Deserialize, Serialize};

use super::Transform;

/// A list of transforms applied to one column, e.g. `steps = ["lowercase", "ascii_fold"]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformSpec {
    /// The column to transform in place.
    pub column: String,
    /// Transform names, applied in order (see [`Transform`]).
    pub steps: Vec<Transform>,
}
