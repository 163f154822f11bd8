//! The pairs training reads ([`PairSource`]) for blocked and exhaustive linkage: candidate
//! pairs from the blocking rules (or their cached patterns), every admissible pair counted
//! exactly, a seeded record sample for u and the true pairs for the oracle.

use crate::block::{Blocker, KeySpec, count_pairs, total_pairs};
use crate::compare::candidates::CandidatePatterns;
use crate::compare::sample::{LevelCounts, sample_level_counts, true_pair_level_counts};
use crate::compare::{Comparer, PatternCounts, count_patterns};
use crate::data::{Dataset, LinkType, count_true_pairs};
use crate::error::Result;
use crate::model::InputDigest;
use crate::model::train::PairSource;
use crate::progress::Progress;
use crate::settings::Settings;

/// The pairs of one dataset under one link type and set of prediction blocking rules, as
/// training reads them ([`PairSource`]).
#[derive(Debug, Clone)]
pub struct Candidates<'a> {
    /// The inputs.
    pub ds: &'a Dataset,
    /// The comparisons compiled against them.
    pub comparer: &'a Comparer,
    /// The link type.
    pub link_type: LinkType,
    /// The prediction blocking rules' keys.
    pub rules: Vec<Vec<KeySpec>>,
    /// The prediction candidates' patterns, when already compared (then sessions read them
    /// instead of comparing again; the counts are the same).
    pub cache: Option<&'a CandidatePatterns>,
    /// The exact pattern counts of every admissible pair (exhaustive linkage): then they are the
    /// prediction candidates.
    pub all_pairs: Option<&'a PatternCounts>,
    /// Progress bars.
    pub progress: &'a Progress,
}

impl<'a> Candidates<'a> {
    /// The blocking candidates of `settings` on `ds`, compared by `comparer`.
    pub fn new(
        settings: &Settings,
        ds: &'a Dataset,
        comparer: &'a Comparer,
        progress: &'a Progress,
    ) -> Candidates<'a> {
        Candidates {
            ds,
            comparer,
            link_type: settings.link_type,
            rules: settings.blocking.iter().map(|b| b.keys.clone()).collect(),
            cache: None,
            all_pairs: None,
            progress,
        }
    }
}

impl PairSource for Candidates<'_> {
    fn admissible_pairs(&self) -> u128 {
        total_pairs(self.link_type, &self.ds.source_sizes())
    }

    fn inputs(&self) -> Vec<InputDigest> {
        InputDigest::of_dataset(self.ds)
    }

    fn sample_levels(&self, n_pairs: u64, seed: u64, exclude_true_matches: bool) -> LevelCounts {
        sample_level_counts(
            self.ds,
            self.comparer,
            self.link_type,
            n_pairs,
            seed,
            self.progress,
            exclude_true_matches,
        )
    }

    fn true_pair_levels(&self) -> Option<LevelCounts> {
        true_pair_level_counts(self.ds, self.comparer, self.link_type)
    }

    fn true_pairs(&self) -> Option<u64> {
        let ds = self.ds;
        let truth = ds.truth.as_deref()?;
        Some(count_true_pairs(
            truth,
            &ds.source_of,
            ds.sources.len(),
            self.link_type,
        ))
    }

    fn rule_pairs(&self, rules: &[Vec<KeySpec>]) -> Result<u64> {
        if let Some(c) = self.cache {
            if rules
                .iter()
                .all(|r| crate::compare::candidates::covers(&self.rules, r))
            {
                return Ok(c.count_agreeing(self.ds, rules)?.iter().sum());
            }
        }
        Ok(count_pairs(&Blocker::new(self.ds, rules, self.link_type)?))
    }

    fn candidates_are_all_pairs(&self) -> bool {
        self.all_pairs.is_some()
    }

    fn session_counts(&self, session: usize, rule: Option<&[KeySpec]>) -> Result<PatternCounts> {
        let counts = match (self.all_pairs, self.cache, rule) {
            (Some(all), _, None) => all.clone(),
            (_, Some(c), None) => c.counts(),
            (_, Some(c), Some(keys)) if crate::compare::candidates::covers(&self.rules, keys) => {
                c.counts_within(self.ds, keys)?
            }
            _ => {
                let rules = match rule {
                    Some(keys) => vec![keys.to_vec()],
                    None => self.rules.clone(),
                };
                let blocker = Blocker::new(self.ds, &rules, self.link_type)?;
                count_patterns(
                    self.ds,
                    self.comparer,
                    &blocker,
                    self.progress,
                    &format!("EM session {}", session + 1),
                )
            }
        };
        Ok(counts)
    }
}
