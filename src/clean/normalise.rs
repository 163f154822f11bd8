//! TEMPORARY shim, replaced by the real normalisers.
use serde::{Deserialize, Serialize};
/// A column transform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// Lowercase.
    Lowercase,
    /// Trim.
    Trim,
}
impl Transform {
    /// Applies it.
    pub fn apply(&self, s: &str) -> String {
        match self {
            Transform::Lowercase => s.to_lowercase(),
            Transform::Trim => s.trim().to_string(),
        }
    }
}
