//! The link type: which record pairs are candidates.

use serde::{Deserialize, Serialize};

/// Which record pairs are candidates: within one file, across files, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkType {
    /// All pairs within one file (Splink's `dedupe_only`).
    #[serde(alias = "dedupe_only")]
    Dedupe,
    /// Pairs across two or more files only (Splink's `link_only`).
    #[serde(alias = "link_only")]
    Link,
    /// All pairs across and within N files.
    LinkAndDedupe,
}

impl LinkType {
    /// Whether a pair of records from sources `a` and `b` is a candidate under this link type.
    #[inline]
    pub fn admits(self, a: u16, b: u16) -> bool {
        match self {
            LinkType::Link => a != b,
            LinkType::Dedupe | LinkType::LinkAndDedupe => true,
        }
    }

    /// The settings name (`dedupe`, `link`, `link_and_dedupe`).
    pub fn name(self) -> &'static str {
        match self {
            LinkType::Dedupe => "dedupe",
            LinkType::Link => "link",
            LinkType::LinkAndDedupe => "link_and_dedupe",
        }
    }
}
