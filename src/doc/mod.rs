//! Documentation-only modules: the theory behind fellegi, notes for users coming from Splink and
//! fastLink, exhaustive (no-blocking) linkage, going distributed (feature `distributed`), and a
//! glossary that maps fellegi's terms and units onto theirs. Each page is a Markdown file under
//! `docs/` (readable on its own), rendered here by `include_str!`; the tutorial
//! (`docs/tutorial.md`) is the crate's front page.

pub mod distributed;
pub mod exhaustive;
pub mod for_fastlink_users;
pub mod for_splink_users;
pub mod glossary;
pub mod theory;
