//! # The Fellegi–Sunter model as fellegi fits it
//!
//! **Pairs and patterns.** Each candidate pair of records (a, b) is compared field by field. A
//! comparison has ordered levels (null first, else last, first match wins), so the pair gets a
//! level γ_k per comparison k; the vector γ = (γ_1, …, γ_K) is its *comparison pattern*.
//!
//! **The model.** Pairs are matches (M) with prior probability λ or non-matches (U). Given the
//! class, comparisons are independent: m_k(l) = P(γ_k = l | M), u_k(l) = P(γ_k = l | U). Null
//! levels (a missing value on either side) are missing at random: they carry no evidence, m and u
//! are not estimated for them, and they add 0 to the weight.
//!
//! **Weights.** The match weight of a pair is the log2 of its posterior odds,
//! `w = log2(λ / (1 − λ)) + Σ_k log2(m_k(γ_k) / u_k(γ_k))`, and its match probability is
//! `1 / (1 + 2^(−w))`. A level weight log2(m/u) is the evidence, in bits, that agreeing at that
//! level gives.
//!
//! **Estimation.** With no labels, EM alternates: the E-step computes each pattern's posterior
//! match probability from the current λ, m, u (in log space); the M-step sets λ to the mean
//! posterior and m (u) of each level to the posterior-weighted (non-match-weighted) share of pairs
//! at that level among pairs where the comparison is not null. Because the likelihood depends on
//! pairs only through their patterns, fellegi runs EM on the counts of unique patterns
//! ([`crate::compare::PatternCounts`]): an iteration costs O(#patterns · K), however many pairs.
//! With `training.algorithm = "as207"` the same model is fitted as R RecordLinkage fits it: as a
//! log-linear model of the complete table (2 classes × every level combination) by Haber's (1984)
//! algorithm AS 207, whose M-step is cyclic iterative scaling stopped at a tolerance
//! ([`crate::model::loglinear`]); it has the same fixed points as plain EM but follows another
//! path, and where the likelihood is flat it stops elsewhere (RLdata500 vignette).
//!
//! **Training plan** (as Splink; [`crate::model::train`]): λ from deterministic rules whose
//! matches are divided by an assumed recall; u from all pairs among a random sample of records
//! (almost all random pairs are non-matches); m by EM sessions over training blocking rules. A
//! rule fixes the comparisons of its columns (inside the block they always agree), so a session
//! leaves them out and estimates the others; a level estimated in several sessions takes the
//! median; λ inside a block is never used as the global λ.
//!
//! **Decisions.** A threshold on probability or weight; Fellegi–Sunter's three-way rule (link,
//! review, non-link) with thresholds chosen for target error rates
//! ([`crate::classify::fs_thresholds`]) or given, on the match weight or, as Fellegi & Sunter
//! (1969) and R RecordLinkage state them, on the log2 Bayes factor without the prior
//! ([`crate::classify::FsScale`]); one-to-one assignment for two-source links
//! ([`crate::classify::assign`]); connected components for entities ([`crate::cluster`]).
//!
//! # References
//! - Fellegi, I. P. & Sunter, A. B. (1969). A theory for record linkage. *JASA* 64(328), 1183–1210.
//! - Winkler, W. E. (1988). Using the EM algorithm for weight computation in the Fellegi–Sunter
//!   model of record linkage. *Proc. Section on Survey Research Methods*, ASA, 667–671.
//! - Jaro, M. A. (1989). Advances in record-linkage methodology as applied to matching the 1985
//!   census of Tampa, Florida. *JASA* 84(406), 414–420.
//! - Enamorado, T., Fifield, B. & Imai, K. (2019). Using a probabilistic model to assist merging
//!   of large-scale administrative records. *APSR* 113(2), 353–371.
//! - Haber, M. (1984). Algorithm AS 207: Fitting a general log-linear model. *Applied Statistics*
//!   33(3), 358–362.
