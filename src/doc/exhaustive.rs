//! # Exhaustive linkage: every pair, no blocking
//!
//! `fellegi link --exhaustive` (or `exhaustive = true` in settings) counts and scores every
//! admissible pair — all cross-source pairs for `link`, all pairs i < j for `dedupe` and
//! `link_and_dedupe` — without blocking rules, as fastLink does, and without visiting the pairs
//! one by one. The counts are exact: the code asserts that they sum to the number of admissible
//! pairs, and the tests compare them (and the fitted models and scored pairs) with brute-force
//! enumeration. The implementation is [`crate::exhaustive`].
//!
//! ## How it works
//! 1. **Agreement lists.** Per comparison, the pairs of *distinct values* whose level is neither
//!    null nor else ([`crate::exhaustive::agreement_list`]). Two strings sharing at most `U`
//!    characters (as multisets) have Jaro ≤ (U/|a| + U/|b| + 1)/3, and a common prefix of `l`
//!    characters bounds the Winkler boost, so for each common-prefix length and pair of lengths
//!    there is a fewest number of shared characters that can reach the lowest threshold. The
//!    values are grouped by their first `l` characters and by length, each group stored as a trie
//!    of its characters (sorted, common ones first), and two tries are walked together keeping
//!    only the value pairs that can still share enough characters; the comparator then runs on
//!    those few. For Levenshtein levels (≤ k edits), each value cut into k + 1 segments keeps
//!    one intact under any k edits, found in the other value within k positions, so only value
//!    pairs sharing such a segment are compared (the pigeonhole filter of Pass-Join). Other
//!    comparators skip value pairs by exact length bounds and character counts. No bound ever
//!    drops a pair the plain comparator keeps (tested over every value pair).
//! 2. **Bulk counts.** Every pair starts in the pattern its missing values alone give (null or
//!    else), counted from the number of records per missing mask. Comparisons with few distinct
//!    values (≤ [`crate::exhaustive::DENSE_MAX`]) are counted per *cell* (records sharing those
//!    values and the missing mask). For each entry (a, b, level) of another comparison's list, the
//!    records holding a and those holding b, counted per cell, move their pairs to the pattern
//!    with that level: exact for every pair that agrees on that comparison only.
//! 3. **Pairs agreeing twice.** Only pairs that agree on two or more of the high-cardinality
//!    comparisons are visited, through joins: for each pair of comparisons, each record looks up
//!    the records of the other side whose values are neighbours of its own in both lists. Each is
//!    counted once (by its two lowest agreeing comparisons) and the bulk moves of step 2 are undone
//!    for it. These pairs are kept (6 bytes each, up to
//!    [`crate::exhaustive::KEEP_TOUCHED_MAX`]) and scoring reads them back once the model is
//!    fitted; past that cap scoring joins again, only for the pairs of comparisons and levels of
//!    observed patterns that reach `--min-probability` (the counts list every pattern that
//!    occurs, so this choice is exact). Pairs of patterns with one or no agreement are
//!    enumerated, with a note, only when such a pattern reaches it.
//!
//! ## Cost model
//! Time ≈ (distinct-value pairs the filters cannot rule out, per comparison) + (records ×
//! neighbour values per record, per pair of comparisons) + (pairs agreeing on two or more
//! comparisons). None of these grows with |A|·|B| for fields with many distinct values: the
//! benchmark in `experiments/exhaustive/` (10^10 pairs) visits 1.2 million pairs (2.4 million
//! for its 2·10^10-pair dedupe) and runs in under 2 s (dedupe: under 4 s) on two cores, at
//! about 70 MB (dedupe: about 85 MB) peak. Memory is linear in records, distinct values,
//! agreement lists and the pairs agreeing twice (capped, above). Costs grow when a comparison has few
//! distinct values but is not dense (it makes many pairs agree twice), when a threshold is so low
//! that most values agree with many others, or when `--min-probability` is so low that patterns
//! with one agreement must be written pair by pair.
//!
//! ## When to choose it over blocking
//! - You must defend the pair set: exhaustive linkage has no pairs-completeness loss to explain,
//!   and λ and u are estimated over all pairs (fastLink's setting).
//! - Blocking keys are weak or unknown: every field is noisy, so any rule loses true pairs.
//! - The files are up to a few hundred thousand records per side with mostly high-cardinality
//!   fields. For millions of records, or when the fields with most evidence have few distinct
//!   values, blocking with several rules is cheaper and usually loses almost nothing (see
//!   `experiments/febrl3-blocking-tradeoff/`).
//!
//! `fellegi explain` works on exhaustive pairs like on blocked ones (it recomputes the levels
//! from the records).
//!
//! # References
//! - Enamorado, T., Fifield, B. & Imai, K. (2019). Using a probabilistic model to assist merging
//!   of large-scale administrative records. *APSR* 113(2), 353–371 (fastLink: EM on pattern counts
//!   over all pairs, hashing of unique values).
//! - Bayardo, R. J., Ma, Y. & Srikant, R. (2007). Scaling up all pairs similarity search. *WWW*
//!   (overlap bounds for similarity joins, which the character-count bound applies to Jaro).
//! - Li, G., Deng, D., Wang, J. & Feng, J. (2011). Pass-Join: a partition-based method for
//!   similarity joins. *PVLDB* 5(3), 253–264 (the segment filter for edit distance).
//! - Winkler, W. E. (1990). String comparator metrics and enhanced decision rules in the
//!   Fellegi–Sunter model of record linkage. *Proc. Section on Survey Research Methods*, ASA.
