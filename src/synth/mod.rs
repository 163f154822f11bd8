//! Synthetic data with known truth, for estimator studies and tests.
//!
//! - [`vectors`]: comparison vectors drawn from known Fellegi–Sunter parameters (λ, m, u), with
//!   multi-level comparisons and values missing at random ([`VectorSpec`], [`generate`],
//!   [`SyntheticVectors`]). Fitting [`crate::model::em`] to them and comparing with
//!   [`SyntheticVectors::true_params`] is a known-parameter recovery study.
//!
//! # Examples
//!
//! ```
//! use fellegi::model::em;
//! use fellegi::synth::{generate, VectorSpec};
//!
//! let spec = VectorSpec {
//!     lambda: 0.1,
//!     m: vec![vec![0.9, 0.1], vec![0.8, 0.15, 0.05], vec![0.85, 0.15]],
//!     u: vec![vec![0.05, 0.95], vec![0.01, 0.04, 0.95], vec![0.02, 0.98]],
//!     missing: vec![0.0, 0.1, 0.05],
//! };
//! let sv = generate(&spec, 20_000, 7)?;
//! let counts = sv.pattern_counts();
//! assert_eq!(counts.total(), 20_000);
//!
//! // Start EM from a generic m-high / u-low guess and fit everything.
//! let mut init = spec.params()?;
//! init.lambda = 0.3;
//! for (m, u) in init.m.iter_mut().zip(&mut init.u) {
//!     let k = m.len() - 1; // non-null levels; index 0 is the null level
//!     for l in 1..=k {
//!         m[l] = if l == 1 { 0.7 } else { 0.3 / (k - 1) as f64 };
//!         u[l] = if l == k { 0.7 } else { 0.3 / (k - 1) as f64 };
//!     }
//! }
//! let mut opt = em::EmOptions::all_free(&spec.level_counts());
//! opt.max_iterations = 500;
//! opt.tolerance = 1e-7;
//! let fit = em::run(&counts, &init, &opt);
//! assert!((fit.params.lambda - 0.1).abs() < 0.01);
//! # Ok::<(), fellegi::Error>(())
//! ```

pub mod records;
pub mod vectors;

pub use vectors::{
    MAX_COMPARISONS, MAX_LEVELS, SUM_TOLERANCE, SyntheticVectors, VectorSpec, generate,
};
