//! The model's estimate of how many matches the prediction blocking rules produce (its
//! *blocking recall*), so that the model-based false-negative rate also counts the matches
//! among admissible pairs that blocking never compared.
//!
//! Under the Fellegi–Sunter model's conditional independence, a match agrees exactly on column
//! `k` with probability `a_k = q_k · m_k[exact]`, where `m_k[exact]` is the fitted m of the exact
//! level of the comparison on `k` (given both values present, the null level being missing at
//! random) and `q_k` the share of admissible pairs with both values present (from the records'
//! non-missing shares; missing values never block). A match is a candidate when every key of at
//! least one rule agrees; with the agreements independent given a match, that probability is
//! summed exactly over the 2^K agreement states of the K columns the rules name:
//!
//! `R = Σ_{s ∈ {0,1}^K} [∃ rule r: s_k = 1 ∀ k ∈ r] · Π_k a_k^{s_k} (1 − a_k)^{1 − s_k}`.
//!
//! The expected matches among all admissible pairs are then `E / R` (E: expected matches among
//! the pairs written) and the blocking-aware recall of the links `R · Σ_{links} p / E`.
//!
//! Limits, said in the output: derived keys (a phonetic code, a prefix) agree more often than
//! the exact level, so `R` is then a lower bound (the false-negative rate an upper bound);
//! conditional dependence between the key columns (errors that come together) makes `R`
//! optimistic; m estimated only among pairs the same rules produced over-states `R`.
//!
//! # References
//! - Fellegi, I. P. & Sunter, A. B. (1969). A theory for record linkage. *JASA* 64(328).
//! - Christen, P. (2012). *Data Matching*, §4.7 (pairs completeness), Springer.

use crate::block::{BlockingRule, KeySpec, total_pairs};
use crate::compare::{Comparer, ComparisonSpec, Predicate};
use crate::data::{Dataset, LinkType, MISSING};
use crate::model::FsParams;

/// Most distinct columns the rules may name (the sum runs over 2^K states).
pub const MAX_KEY_COLUMNS: usize = 20;

/// The blocking rules as the model sees them: per column named, its comparison's exact level
/// and the share of admissible pairs with both values present.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockingModel {
    /// Per column: (comparison index, exact level index, share of pairs with both present).
    columns: Vec<(usize, usize, f64)>,
    /// Per rule, the bit set of its columns.
    rules: Vec<u32>,
    /// Whether a rule uses a derived key (then the recall is a lower bound).
    pub derived_keys: bool,
}

impl BlockingModel {
    /// The model of `rules` over `ds` under `link_type`; `comparisons` and `comparer` are the
    /// run's (expanded) comparisons.
    ///
    /// # Errors
    /// Why the model cannot say: a key column without a comparison, a comparison without an
    /// exact level, more than [`MAX_KEY_COLUMNS`] columns, no rules.
    pub fn new(
        ds: &Dataset,
        link_type: LinkType,
        rules: &[BlockingRule],
        comparisons: &[ComparisonSpec],
        comparer: &Comparer,
    ) -> std::result::Result<BlockingModel, String> {
        if rules.is_empty() {
            return Err("there are no blocking rules".into());
        }
        let mut names: Vec<&str> = Vec::new();
        let mut derived = false;
        let mut masks = Vec::with_capacity(rules.len());
        for r in rules {
            let mut mask = 0u32;
            for k in &r.keys {
                derived |= matches!(k, KeySpec::Derived(_));
                let col = k.column();
                let i = match names.iter().position(|n| *n == col) {
                    Some(i) => i,
                    None => {
                        names.push(col);
                        names.len() - 1
                    }
                };
                if i >= MAX_KEY_COLUMNS {
                    return Err(format!(
                        "the blocking rules name more than {MAX_KEY_COLUMNS} columns"
                    ));
                }
                mask |= 1 << i;
            }
            masks.push(mask);
        }
        let sizes = ds.source_sizes();
        let all = total_pairs(link_type, &sizes);
        let mut columns = Vec::with_capacity(names.len());
        for name in names {
            let Some(c) = comparisons.iter().position(|s| s.column == name) else {
                return Err(format!(
                    "blocking column `{name}` has no comparison, so the model has no m for its agreement"
                ));
            };
            let Some(l) = comparer.comparisons[c]
                .predicates
                .iter()
                .position(|p| *p == Predicate::Exact)
            else {
                return Err(format!(
                    "the comparison on blocking column `{name}` has no exact level"
                ));
            };
            let present_share = match ds.column_index(name) {
                Some(ci) => {
                    let col = &ds.columns[ci];
                    let mut present = vec![0u64; sizes.len()];
                    for (r, &v) in col.values.iter().enumerate() {
                        if v != MISSING {
                            present[ds.source_of[r] as usize] += 1;
                        }
                    }
                    if all > 0 {
                        total_pairs(link_type, &present) as f64 / all as f64
                    } else {
                        0.0
                    }
                }
                None => return Err(format!("blocking column `{name}` is not in the inputs")),
            };
            columns.push((c, l, present_share));
        }
        Ok(BlockingModel {
            columns,
            rules: masks,
            derived_keys: derived,
        })
    }

    /// The model's blocking recall R under `params`: the probability that a match agrees on
    /// every key of at least one rule.
    pub fn recall(&self, params: &FsParams) -> f64 {
        let a: Vec<f64> = self
            .columns
            .iter()
            .map(|&(c, l, q)| (q * params.m[c][l]).clamp(0.0, 1.0))
            .collect();
        let k = a.len();
        let mut r = 0.0;
        for s in 0u32..(1u32 << k) {
            if !self.rules.iter().any(|&m| s & m == m) {
                continue;
            }
            let mut p = 1.0;
            for (i, &ai) in a.iter().enumerate() {
                p *= if s & (1 << i) != 0 { ai } else { 1.0 - ai };
            }
            r += p;
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(columns: Vec<(usize, usize, f64)>, rules: Vec<u32>) -> BlockingModel {
        BlockingModel {
            columns,
            rules,
            derived_keys: false,
        }
    }

    fn params(m_exact: &[f64]) -> FsParams {
        FsParams {
            lambda: 0.01,
            m: m_exact.iter().map(|&a| vec![1.0, a, 1.0 - a]).collect(),
            u: m_exact.iter().map(|_| vec![1.0, 0.1, 0.9]).collect(),
            null_level: vec![Some(0); m_exact.len()],
        }
    }

    #[test]
    fn recall_by_hand() {
        // One rule on one column: its agreement probability.
        let p = params(&[0.9, 0.8, 0.5]);
        assert!((model(vec![(0, 1, 1.0)], vec![1]).recall(&p) - 0.9).abs() < 1e-12);
        // Missing values never block: q = 0.5.
        assert!((model(vec![(0, 1, 0.5)], vec![1]).recall(&p) - 0.45).abs() < 1e-12);
        // A & B: 0.72; A or B: 1 − 0.1 · 0.2 = 0.98.
        let cols = vec![(0, 1, 1.0), (1, 1, 1.0), (2, 1, 1.0)];
        assert!((model(cols.clone(), vec![0b011]).recall(&p) - 0.72).abs() < 1e-12);
        assert!((model(cols.clone(), vec![0b001, 0b010]).recall(&p) - 0.98).abs() < 1e-12);
        // (A & B) or C: 0.72 + 0.5 − 0.36.
        let r = model(cols, vec![0b011, 0b100]).recall(&p);
        assert!((r - (0.72 + 0.5 - 0.36)).abs() < 1e-12, "{r}");
    }
}
