//! # fellegi
//!
//! Probabilistic record linkage: the Fellegi–Sunter model with m and u estimated by EM, blocking,
//! string comparators, multi-level comparisons, thresholds, clustering and evaluation.
//!
//! The pipeline is a chain of named stages, each a module with an explicit input and output:
//! [`data`] (CSV → columnar [`data::Dataset`]) → [`clean`] (transforms, phonetic codes) →
//! [`block`] (candidate pairs) → [`compare`] (levels, [`compare::PatternCounts`]) →
//! [`model`] (EM, weights, scoring) → [`classify`] → [`cluster`] → [`eval`]. Each stage owns its
//! vocabulary (types, defaults, validation) and imports only downward; [`settings::Settings`]
//! composes them into a job's description, and a fitted model is the same settings with λ, m and
//! u filled in. [`pipeline`] is the one conductor: [`pipeline::Job::run`] runs a whole linkage to
//! a [`pipeline::LinkRun`] (model, scored pairs, decisions, clusters, typed metrics), and the CLI
//! is a thin face over it.
//!
//! ```
//! use fellegi::compare::PatternCounts;
//! use fellegi::model::{em, FsParams};
//!
//! // Two comparisons with levels (exact, else); 90 non-matching and 10 matching pairs.
//! let mut vectors: Vec<[u8; 2]> = vec![[1, 1]; 90];
//! vectors.extend(std::iter::repeat([0, 0]).take(10));
//! let counts = PatternCounts::from_vectors(2, vectors.iter().map(|v| &v[..]));
//! let init = FsParams {
//!     lambda: 0.2,
//!     m: vec![vec![0.8, 0.2]; 2],
//!     u: vec![vec![0.2, 0.8]; 2],
//!     null_level: vec![None; 2],
//! };
//! let fit = em::run(&counts, &init, &em::EmOptions::all_free(&[2, 2]));
//! assert!((fit.params.lambda - 0.1).abs() < 0.01);
//! ```

#![doc = include_str!("../docs/tutorial.md")]
#![warn(missing_docs)]

pub mod block;
pub mod classify;
pub mod clean;
pub mod cluster;
pub mod compare;
pub mod data;
#[cfg(feature = "distributed")]
pub mod distributed;
pub mod doc;
pub mod error;
pub mod eval;
pub mod exhaustive;
pub mod experiment;
pub mod interop;
pub mod model;
pub mod output;
pub mod pipeline;
pub mod plot;
pub mod progress;
pub mod registry;
pub mod report;
pub mod settings;
pub mod store;
pub mod synth;
pub mod view;

pub use error::{Error, Result};
