//! Term-frequency adjustment: agreeing on a common value ("Smith") is weaker evidence of a match
//! than agreeing on a rare one ("Zyskowski").
//!
//! A comparison with `term_frequency_adjustments = true` adds to the weight of each adjusted
//! level (by default its exact level; any other non-null, non-else level with a
//! `tf_adjustment_weight`) the term, in bits,
//!
//! `w · (log2 u_exact − log2 max(tf_l, tf_r, tf_min))`,
//!
//! where `u_exact` is the fitted u of the comparison's exact level, `tf_l` and `tf_r` are the
//! term frequencies of the two records' values, `tf_min` is `tf.minimum` (default 0) and `w` the
//! level's `tf_adjustment_weight` (default 1 on the exact level). A value's term frequency is the
//! number of records (over all inputs together) with that value divided by the number of records
//! with a non-missing value, or the frequency a `tf.lookup` table gives; a value the lookup lacks
//! takes the other record's frequency, and a pair where neither value has one gets no
//! adjustment. This is Splink 5's formula (`ComparisonLevel._tf_adjustment_sql` and
//! `term_frequencies_for_single_column_sql` in splink 5.0.0, `splink/internals/`), with the same
//! frequencies (Splink counts over `__splink__df_concat`, the inputs concatenated).
//!
//! In token mode (`tf.mode = "token"`) a value is split on whitespace; a token's frequency is the
//! share of non-missing records whose value contains it, and the frequency of a pair is the
//! product of the frequencies of the distinct tokens both values contain (independent tokens:
//! the chance that a random pair shares them all), so that sharing "van der Berg" counts the
//! evidence of each shared token by its inverse frequency. A pair sharing no token gets no
//! adjustment.
//!
//! The adjustment enters scoring only. EM runs on pattern counts, without it: Splink by default
//! uses the adjusted probabilities in its E-step (`estimate_without_term_frequencies = False`),
//! and fellegi's training equals Splink's `estimate_without_term_frequencies = True`.
//!
//! # References
//! - Winkler, W. E. (1989). Frequency-based matching in Fellegi–Sunter model of record linkage.
//!   *Proc. Section on Survey Research Methods*, ASA, 778–783.
//! - Linacre, R. et al. (2022). Splink: free software for probabilistic record linkage at scale.
//!   *International Journal of Population Data Science* 7(3); Splink's "Term frequency
//!   adjustments" topic guide.

use rustc_hash::FxHashMap;

use super::FsParams;
use crate::compare::{Comparer, ComparisonSpec, Predicate, TfMode};
use crate::data::{Dataset, MISSING};
use crate::error::{Error, Result};

/// The term-frequency tables of a model's adjusted comparisons, compiled against the inputs and
/// the fitted u.
#[derive(Debug, Clone)]
pub struct TermFrequencies {
    /// One entry per adjusted comparison, in comparison order.
    pub comparisons: Vec<TfComparison>,
}

/// One adjusted comparison.
#[derive(Debug, Clone)]
pub struct TfComparison {
    /// Index of the comparison in the model.
    pub comparison: usize,
    /// The comparison's output name (the `tf_<name>` column of pairs.csv).
    pub name: String,
    /// Per level: the adjustment weight `w` (0 for a level that is not adjusted).
    pub level_weight: Vec<f64>,
    /// log2 of the u of the exact level.
    pub log2_u_exact: f64,
    /// The minimum frequency (`tf.minimum`), 0 for none.
    pub minimum: f64,
    /// Per distinct value of the column (value mode): its frequency, NaN when unknown.
    freq: Vec<f64>,
    /// Token mode: per distinct value, its distinct token ids, sorted; with their frequencies.
    tokens: Option<(Vec<Vec<u32>>, Vec<f64>)>,
}

impl TermFrequencies {
    /// Compiles the tables of every comparison of `specs` (expanded settings) with
    /// `term_frequency_adjustments = true`; `None` when there is none.
    ///
    /// # Errors
    /// [`Error::Settings`] when a fitted u of an exact level is 0 or missing;
    /// [`Error::Io`]/[`Error::Csv`] for an unreadable or malformed lookup table.
    pub fn build(
        specs: &[ComparisonSpec],
        comparer: &Comparer,
        ds: &Dataset,
        params: &FsParams,
    ) -> Result<Option<TermFrequencies>> {
        let mut out = Vec::new();
        for (c, spec) in specs.iter().enumerate() {
            if !spec.term_frequency_adjustments {
                continue;
            }
            let mut spec = spec.clone();
            spec.expand_builder("settings", &format!("comparison[{c}]"))?;
            let exact = spec
                .levels
                .iter()
                .position(|l| l.predicate == Predicate::Exact)
                .ok_or_else(|| {
                    Error::settings(
                        "settings",
                        format!("comparison[{c}].term_frequency_adjustments"),
                        "needs an exact level (the adjustment is relative to its u)",
                    )
                })?;
            let level_weight = spec.tf_level_weights();
            let u_exact = params.u[c][exact];
            if u_exact.is_nan() || u_exact <= 0.0 {
                return Err(Error::settings(
                    "model",
                    format!("comparison[{c}].levels[{exact}].u"),
                    format!(
                        "the term-frequency adjustment needs the exact level's u > 0, got {u_exact}: train the model first"
                    ),
                ));
            }
            let opts = spec.tf.clone().unwrap_or_default();
            let col = &ds.columns[comparer.comparisons[c].column];
            let n_values = col.dict.len();
            // Record counts per distinct value, over every input (Splink's df_concat).
            let mut count = vec![0u64; n_values];
            let mut n_present = 0u64;
            for r in 0..ds.len() as u32 {
                let v = comparer.row(r)[c];
                if v != MISSING {
                    count[v as usize] += 1;
                    n_present += 1;
                }
            }
            let (freq, tokens) = match opts.mode {
                TfMode::Value => {
                    let freq = match &opts.lookup {
                        Some(path) => lookup_frequencies(path, col)?,
                        None => count
                            .iter()
                            .map(|&k| {
                                if k > 0 {
                                    k as f64 / n_present as f64
                                } else {
                                    f64::NAN
                                }
                            })
                            .collect(),
                    };
                    (freq, None)
                }
                TfMode::Token => (Vec::new(), Some(token_frequencies(col, &count, n_present))),
            };
            out.push(TfComparison {
                comparison: c,
                name: comparer.comparisons[c].name.clone(),
                level_weight,
                log2_u_exact: u_exact.log2(),
                minimum: opts.minimum.unwrap_or(0.0),
                freq,
                tokens,
            });
        }
        Ok((!out.is_empty()).then_some(TermFrequencies { comparisons: out }))
    }

    /// Number of adjusted comparisons.
    pub fn len(&self) -> usize {
        self.comparisons.len()
    }

    /// Whether no comparison is adjusted.
    pub fn is_empty(&self) -> bool {
        self.comparisons.is_empty()
    }

    /// The adjustments (bits) of records `l` and `r` at `levels`, one per adjusted comparison,
    /// written to `out`; returns their sum (added in comparison order).
    #[inline]
    pub fn adjust(
        &self,
        comparer: &Comparer,
        l: u32,
        r: u32,
        levels: &[u8],
        out: &mut [f64],
    ) -> f64 {
        let (rl, rr) = (comparer.row(l), comparer.row(r));
        let mut sum = 0.0;
        for (t, o) in self.comparisons.iter().zip(out.iter_mut()) {
            let c = t.comparison;
            *o = t.term(levels[c], rl[c], rr[c]);
            sum += *o;
        }
        sum
    }
}

impl TfComparison {
    /// The adjustment (bits) at level `level` for values `a` and `b` (value ids of the column,
    /// [`MISSING`] when missing).
    pub fn term(&self, level: u8, a: u32, b: u32) -> f64 {
        let w = self.level_weight[level as usize];
        if w == 0.0 || a == MISSING || b == MISSING {
            return 0.0;
        }
        let f = match &self.tokens {
            None => {
                let (fa, fb) = (self.freq[a as usize], self.freq[b as usize]);
                match (fa.is_nan(), fb.is_nan()) {
                    (true, true) => return 0.0,
                    (true, false) => fb,
                    (false, true) => fa,
                    (false, false) => fa.max(fb),
                }
            }
            Some((toks, tf)) => {
                let (ta, tb) = (&toks[a as usize], &toks[b as usize]);
                let (mut i, mut j, mut p, mut shared) = (0, 0, 1.0, false);
                while i < ta.len() && j < tb.len() {
                    match ta[i].cmp(&tb[j]) {
                        std::cmp::Ordering::Less => i += 1,
                        std::cmp::Ordering::Greater => j += 1,
                        std::cmp::Ordering::Equal => {
                            p *= tf[ta[i] as usize];
                            shared = true;
                            i += 1;
                            j += 1;
                        }
                    }
                }
                if !shared {
                    return 0.0;
                }
                p
            }
        };
        w * (self.log2_u_exact - f.max(self.minimum).log2())
    }

    /// The frequency used for a single value (value mode; token mode: the product over its
    /// tokens), NaN when unknown; for explanations.
    pub fn frequency(&self, v: u32) -> f64 {
        if v == MISSING {
            return f64::NAN;
        }
        match &self.tokens {
            None => self.freq[v as usize],
            Some((toks, tf)) => toks[v as usize].iter().map(|&t| tf[t as usize]).product(),
        }
    }
}

/// Token ids per distinct value and each token's share of present records containing it.
fn token_frequencies(
    col: &crate::data::Column,
    count: &[u64],
    n_present: u64,
) -> (Vec<Vec<u32>>, Vec<f64>) {
    let mut ids: FxHashMap<&str, u32> = FxHashMap::default();
    let mut records: Vec<u64> = Vec::new();
    let mut toks = Vec::with_capacity(col.dict.len());
    for (v, s) in col.dict.iter().enumerate() {
        let mut t: Vec<u32> = s
            .split_whitespace()
            .map(|w| {
                let next = ids.len() as u32;
                *ids.entry(w).or_insert(next)
            })
            .collect();
        t.sort_unstable();
        t.dedup();
        for &x in &t {
            if x as usize >= records.len() {
                records.resize(x as usize + 1, 0);
            }
            records[x as usize] += count[v];
        }
        toks.push(t);
    }
    let tf = records
        .iter()
        .map(|&k| k as f64 / n_present.max(1) as f64)
        .collect();
    (toks, tf)
}

/// Reads a `value,frequency` CSV (with a header row) into per-value frequencies of `col`
/// (NaN for values it lacks).
fn lookup_frequencies(path: &std::path::Path, col: &crate::data::Column) -> Result<Vec<f64>> {
    let csv_err = |line: u64, message: String| Error::Csv {
        path: path.to_path_buf(),
        line,
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut rdr = csv::Reader::from_reader(std::io::BufReader::new(file));
    let index: FxHashMap<&str, usize> = col.dict.iter().enumerate().map(|(i, s)| (s, i)).collect();
    let mut freq = vec![f64::NAN; col.dict.len()];
    for (n, rec) in rdr.records().enumerate() {
        let line = n as u64 + 2;
        let rec = rec.map_err(|e| csv_err(line, format!("malformed row: {e}")))?;
        if rec.len() < 2 {
            return Err(csv_err(
                line,
                "expected two columns, value and frequency".into(),
            ));
        }
        let f: f64 = rec[1]
            .trim()
            .parse()
            .map_err(|_| csv_err(line, format!("frequency `{}` is not a number", &rec[1])))?;
        if !(f > 0.0 && f <= 1.0) {
            return Err(csv_err(
                line,
                format!("frequency {f} must be in (0, 1] (a share of records)"),
            ));
        }
        if let Some(&i) = index.get(&rec[0]) {
            freq[i] = f;
        }
    }
    Ok(freq)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tfc(freq: Vec<f64>, minimum: f64) -> TfComparison {
        TfComparison {
            comparison: 0,
            name: "x".into(),
            level_weight: vec![0.0, 1.0, 0.5, 0.0],
            log2_u_exact: 0.01f64.log2(),
            minimum,
            freq,
            tokens: None,
        }
    }

    #[test]
    fn splink_formula_on_exact_and_fuzzy_levels() {
        let t = tfc(vec![0.1, 0.001, f64::NAN], 0.0);
        // Exact level, common value: log2(0.01 / 0.1).
        assert!((t.term(1, 0, 0) - (0.01f64 / 0.1).log2()).abs() < 1e-12);
        // Rare value: positive adjustment.
        assert!((t.term(1, 1, 1) - (0.01f64 / 0.001).log2()).abs() < 1e-12);
        // Fuzzy level with weight 0.5 uses the more common value.
        assert!((t.term(2, 0, 1) - 0.5 * (0.01f64 / 0.1).log2()).abs() < 1e-12);
        // Unknown on one side: the other side's frequency; both unknown: nothing.
        assert!((t.term(1, 2, 1) - (0.01f64 / 0.001).log2()).abs() < 1e-12);
        assert_eq!(t.term(1, 2, 2), 0.0);
        // Unadjusted levels and missing values: nothing.
        assert_eq!(t.term(3, 0, 1), 0.0);
        assert_eq!(t.term(1, MISSING, 0), 0.0);
        // A minimum caps the rare value's adjustment.
        let t = tfc(vec![0.1, 0.001], 0.005);
        assert!((t.term(1, 1, 1) - (0.01f64 / 0.005).log2()).abs() < 1e-12);
    }

    #[test]
    fn token_mode_multiplies_shared_token_frequencies() {
        let t = TfComparison {
            tokens: Some((
                vec![vec![0, 1], vec![1, 2], vec![3]],
                vec![0.5, 0.01, 0.2, 0.3],
            )),
            ..tfc(Vec::new(), 0.0)
        };
        // Shared token 1 only.
        assert!((t.term(1, 0, 1) - (0.01f64 / 0.01).log2()).abs() < 1e-12);
        // Same value: both tokens.
        assert!((t.term(1, 0, 0) - (0.01f64 / (0.5 * 0.01)).log2()).abs() < 1e-12);
        // Nothing shared.
        assert_eq!(t.term(1, 0, 2), 0.0);
    }
}
