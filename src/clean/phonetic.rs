//! TEMPORARY shim, replaced by the real encoders.
use serde::{Deserialize, Serialize};
/// A phonetic encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneticEncoder {
    /// Soundex.
    Soundex,
}
impl PhoneticEncoder {
    /// Encodes.
    pub fn encode(&self, s: &str) -> String {
        s.chars().take(1).collect()
    }
    /// Name.
    pub fn name(&self) -> &'static str {
        "soundex"
    }
}
