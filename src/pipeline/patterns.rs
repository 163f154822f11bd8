//! The pattern table of a fitted model over its candidate pairs: the library call behind
//! `fellegi patterns`.

use std::collections::BTreeMap;

use crate::compare::Comparer;
use crate::data::{Dataset, MISSING};
use crate::error::Result;
use crate::model::predict::pattern_weight;
use crate::model::{FsParams, probability};
use crate::progress::Progress;
use crate::settings::Settings;

/// One comparison pattern: its levels, how many candidate pairs have it, its match weight and
/// posterior match probability under the model, and (with truth) how many of its pairs are
/// true matches.
#[derive(Debug, Clone, PartialEq)]
pub struct PatternRow {
    /// Level index per comparison (0 = the first level, as the settings list them).
    pub levels: Vec<u8>,
    /// Candidate pairs with this pattern.
    pub count: u64,
    /// Match weight (bits): log2(λ / (1 − λ)) + Σ_k log2(m_k / u_k).
    pub weight: f64,
    /// Posterior match probability, `1 / (1 + 2^(−weight))`: EM's E-step value.
    pub posterior: f64,
    /// Pairs of the pattern that are true matches, when the inputs have a truth column.
    pub true_matches: Option<u64>,
}

/// The pattern table: one row per distinct pattern, by weight (highest first, ties by levels).
#[derive(Debug, Clone, PartialEq)]
pub struct PatternTable {
    /// The comparison names, in order.
    pub comparisons: Vec<String>,
    /// Per comparison, its level labels (for the `pattern` text).
    pub level_labels: Vec<Vec<String>>,
    /// The rows.
    pub rows: Vec<PatternRow>,
}

impl PatternTable {
    /// A pattern as text: `name=level label` per comparison, joined by `; `.
    pub fn describe(&self, row: &PatternRow) -> String {
        self.comparisons
            .iter()
            .zip(&row.levels)
            .enumerate()
            .map(|(c, (name, &l))| format!("{name}={}", self.level_labels[c][l as usize]))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Writes the table as CSV: `pattern, gamma_<name>…, count, match_weight, posterior`, and
    /// `true_matches, non_matches` when the truth is known. Gammas are in pairs.csv's
    /// convention (null −1, else 0, best n − 1).
    pub fn write_csv(
        &self,
        w: &mut dyn std::io::Write,
        comparer: &Comparer,
    ) -> std::io::Result<()> {
        let truth = self.rows.iter().any(|r| r.true_matches.is_some());
        let mut cw = csv::Writer::from_writer(w);
        let mut header = vec!["pattern".to_string()];
        header.extend(self.comparisons.iter().map(|c| format!("gamma_{c}")));
        header.extend(["count", "match_weight", "posterior"].map(String::from));
        if truth {
            header.extend(["true_matches", "non_matches"].map(String::from));
        }
        cw.write_record(&header)?;
        for r in &self.rows {
            let mut rec = vec![self.describe(r)];
            rec.extend(
                comparer
                    .comparisons
                    .iter()
                    .zip(&r.levels)
                    .map(|(c, &l)| c.gamma(l).to_string()),
            );
            rec.push(r.count.to_string());
            rec.push(format!("{}", r.weight));
            rec.push(format!("{}", r.posterior));
            if let Some(t) = r.true_matches {
                rec.push(t.to_string());
                rec.push((r.count - t).to_string());
            }
            cw.write_record(&rec)?;
        }
        cw.flush()
    }
}

/// The pattern table of `model` (a fitted model, `origin` names it in errors) over the pairs
/// its blocking rules make candidates in `ds` (for an exhaustive model, every admissible pair,
/// counted exactly as exhaustive EM counts them): the same pairs a run scores, counted by
/// pattern, with the weight and posterior of each pattern under the model. With a truth column,
/// the true matches per pattern.
///
/// # Errors
/// [`crate::Error::Settings`] when the model lacks parameters, or blocking rules unless it is
/// exhaustive; errors compiling the comparisons or keys against `ds`.
pub fn pattern_table(
    model: &Settings,
    origin: &str,
    ds: &Dataset,
    progress: &Progress,
) -> Result<(Comparer, PatternTable)> {
    let (comparer, table, _) = pattern_table_with_examples(model, origin, ds, 0, progress)?;
    Ok((comparer, table))
}

/// Example pairs of each row of a [`PatternTable`] (record indices `(left, right)`, left < right).
pub type PatternExamples = Vec<Vec<(u32, u32)>>;

/// As [`pattern_table`], and for each row up to `examples` of its pairs (record indices), the
/// first ones met in the blocking's deterministic enumeration order. Exhaustive models count
/// patterns without enumerating pairs, so their rows get no examples.
///
/// # Errors
/// As [`pattern_table`].
pub fn pattern_table_with_examples(
    model: &Settings,
    origin: &str,
    ds: &Dataset,
    examples: usize,
    progress: &Progress,
) -> Result<(Comparer, PatternTable, PatternExamples)> {
    let params = FsParams::from_settings(model, origin)?;
    let t = std::time::Instant::now();
    let comparer = Comparer::new(&model.comparisons, ds)?;
    let truth = ds.truth.as_deref();
    let mut counts: BTreeMap<Vec<u8>, (u64, u64)> = BTreeMap::new();
    let mut found: BTreeMap<Vec<u8>, Vec<(u32, u32)>> = BTreeMap::new();
    let mut levels = vec![0u8; comparer.len()];
    if model.exhaustive {
        // Every admissible pair, counted exactly as exhaustive EM counts them; the true pairs
        // (few) are enumerated within the truth groups.
        let (_, all) = super::exhaustive_index(ds, &comparer, model, progress)?;
        for (i, &n) in all.counts.iter().enumerate() {
            let lv: Vec<u8> = (0..comparer.len()).map(|c| all.level(i, c)).collect();
            counts.insert(lv, (n, 0));
        }
        if let Some(t) = truth {
            crate::data::for_each_true_pair(t, &ds.source_of, model.link_type, |l, r| {
                comparer.vector(ds, l, r, &mut levels);
                if let Some(e) = counts.get_mut(&levels) {
                    e.1 += 1;
                }
            });
        }
    } else {
        if model.blocking.is_empty() {
            return Err(super::no_blocking(origin, "the pattern table"));
        }
        let blocker = super::prediction_blocker(model, ds)?;
        for unit in blocker.work_units() {
            blocker.for_each_pair(&unit, |l, r| {
                comparer.vector(ds, l, r, &mut levels);
                let is_true = truth.is_some_and(|t| {
                    let (a, b) = (t[l as usize], t[r as usize]);
                    a != MISSING && a == b
                });
                let e = counts.entry(levels.clone()).or_default();
                e.0 += 1;
                e.1 += u64::from(is_true);
                if examples > 0 {
                    let ex = found.entry(levels.clone()).or_default();
                    if ex.len() < examples {
                        ex.push((l.min(r), l.max(r)));
                    }
                }
            });
        }
    }
    progress.phase("count patterns", t);
    let lw = params.level_weights();
    let prior = params.prior_weight();
    let mut rows: Vec<PatternRow> = counts
        .into_iter()
        .map(|(levels, (count, true_matches))| {
            let weight = pattern_weight(prior, &lw, &levels);
            PatternRow {
                posterior: probability(weight),
                weight,
                count,
                true_matches: truth.map(|_| true_matches),
                levels,
            }
        })
        .collect();
    rows.sort_by(|a, b| b.weight.total_cmp(&a.weight).then(a.levels.cmp(&b.levels)));
    let examples: PatternExamples = rows
        .iter()
        .map(|r| found.remove(&r.levels).unwrap_or_default())
        .collect();
    let table = PatternTable {
        comparisons: comparer
            .comparisons
            .iter()
            .map(|c| c.name.clone())
            .collect(),
        level_labels: model
            .comparisons
            .iter()
            .map(|c| c.levels.iter().map(|l| l.display_label()).collect())
            .collect(),
        rows,
    };
    Ok((comparer, table, examples))
}
