//! # fellegi for Splink users
//!
//! | Splink | fellegi |
//! |---|---|
//! | `SettingsCreator(link_type="link_only")` | `link_type = "link"` (`dedupe_only` → `dedupe`; `link_and_dedupe` is the same) |
//! | `unique_id_column_name` | `unique_id` (a record is keyed by file stem and id) |
//! | `cl.JaroWinklerAtThresholds("x", [0.9, 0.8])` | `[[comparison]] column = "x"`, `use = "jaro_winkler_at_thresholds"`, `thresholds = [0.9, 0.8]` |
//! | `cl.LevenshteinAtThresholds`, `cl.ExactMatch`, `cl.AbsoluteDateDifferenceAtThresholds` | `levenshtein_at_thresholds`, `exact_match`, `date_difference_at_thresholds` (days) |
//! | custom comparison levels (SQL) | explicit `levels = [...]` with typed predicates |
//! | `blocking_rules_to_generate_predictions=[block_on("a", "b")]` | `[[blocking]] keys = ["a", "b"]` |
//! | `estimate_probability_two_random_records_match(rules, recall)` | `[training] lambda = { deterministic_rules = [[...]], recall = 0.8 }` |
//! | `estimate_u_using_random_sampling(max_pairs)` | `u = { random_pairs = N }` |
//! | `estimate_parameters_using_expectation_maximisation(block_on(...))` | `em = [{ blocking = [...] }, ...]` (u fixed by default, as in Splink) |
//! | `predict(threshold_match_probability=0.01)` | `--min-probability 0.01` (pairs.csv), `--threshold` for clusters and metrics |
//! | `cluster_pairwise_predictions_at_threshold` | clusters.csv (connected components at `--threshold`) |
//! | `match_weight`, `match_probability`, `gamma_x` | the same columns in pairs.csv (gamma: −1 null, 0 else, highest = best) |
//! | `probability_two_random_records_match` | `lambda` in model.json |
//! | waterfall chart, match weights chart, m/u chart | `link --report`, `fellegi explain` |
//!
//! Differences worth knowing: Jaro–Winkler applies the prefix bonus only above Jaro 0.7 (as
//! DuckDB); `jaro_winkler = { boost_threshold = -1 }` gives R stringdist's variant. Missing values
//! never form a blocking key. u sampling draws records and compares all pairs among them (as
//! Splink does), so u differs from Splink's in the third or fourth digit. Output is byte-identical
//! for a given `--seed` whatever the thread count.
