//! Interoperability with other record-linkage tools: settings and fitted models in their formats.
//!
//! - [`splink`]: Splink 5 settings and trained-model JSON, both ways
//!   ([`splink::settings_from_splink`], [`splink::settings_to_splink`]).
//!
//! This module sits above [`crate::settings`] (it reads and writes [`crate::settings::Settings`])
//! and below the faces (CLI, Python) that call it.

pub mod splink;
mod sql;
