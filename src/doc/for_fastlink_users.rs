//! # fellegi for fastLink users
//!
//! | fastLink | fellegi |
//! |---|---|
//! | `fastLink(dfA, dfB, varnames, stringdist.match, partial.match)` | `link_type = "link"` with two inputs; `use = "jaro_winkler_at_thresholds"`, `thresholds = [0.94, 0.88]` per string field |
//! | `cut.a = 0.94`, `cut.p = 0.88` | the two thresholds above; `jaro_winkler = { boost_threshold = -1 }` for stringdist's JW |
//! | agreement patterns γ ∈ {0, 1, 2} and `NA` | levels else / partial / agree and null (gamma −1/0/1/2 in pairs.csv) |
//! | `p.m` (prior) | `lambda` |
//! | `p.gamma.k.m`, `p.gamma.k.u` | each level's `m` and `u` in model.json |
//! | `zeta.j` (posterior) | `match_probability` |
//! | EM on counts of unique patterns, MAR missing values | the same ([`crate::model::em`]) |
//! | all pairs compared (no blocking), counts from unique values | `--exhaustive` ([`crate::doc::exhaustive`]) |
//! | `threshold.match = 0.85`, `dedupe.matches = TRUE` | `--threshold 0.85 --one-to-one greedy` |
//! | `confusion()` estimated FDR/FNR | metrics.json `error_rates.estimated_*` |
//!
//! Weights: fastLink reports natural-log weights, fellegi log2 (bits): divide fastLink's by
//! ln 2 ≈ 0.693 to compare.
