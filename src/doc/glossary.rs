//! # Glossary
//!
//! - **λ (lambda)**: prior probability that two random admissible records match. Splink:
//!   `probability_two_random_records_match`; fastLink: `p.m`. Unitless, in (0, 1).
//! - **m, u**: per comparison level, P(level | match) and P(level | non-match).
//! - **Match weight**: log2 posterior odds of a pair, in bits: prior log-odds plus Σ log2(m/u).
//!   fastLink's weights are natural logs (× 1/ln 2 to convert); RecordLinkage's weights omit the
//!   prior (Bayes factor only): `link --fs-scale bayes-factor` reads FS thresholds on that scale.
//! - **Bayes factor** of a level: m/u; its log2 is the level's weight.
//! - **Match probability**: 1 / (1 + 2^(−weight)); fastLink's posterior ζ.
//! - **Pattern**: the vector of a pair's levels; **pattern counts**: how many pairs have each one.
//! - **Blocking rule**: keys that must agree for a pair to be a candidate; the candidates are the
//!   union of the rules. **Reduction ratio**: 1 − candidates / all pairs. **Pairs completeness**:
//!   true pairs among candidates / all true pairs. **Pairs quality**: true pairs / candidates.
//! - **Link type**: `dedupe` (one file), `link` (across files only), `link_and_dedupe` (all pairs).
//! - **Threshold**: pairs at or above it (probability) are matches. **FS thresholds**: upper and
//!   lower weights of the three-way rule with a clerical-review band, on the match weight or (with
//!   `--fs-scale bayes-factor`) on the log2 Bayes factor of the whole pattern.
//! - **AS 207**: Haber's (1984) algorithm for general log-linear models, which R RecordLinkage's
//!   `emWeights` uses to fit the latent-class model; `training.algorithm = "as207"`
//!   ([`crate::model::loglinear`]).
//! - **B-cubed**, **adjusted Rand index**: cluster quality measures ([`crate::eval::clusters`]).
