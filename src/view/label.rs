//! The labelling tool: scored pairs one at a time for clerical review.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use serde_json::{Value, json};

use super::{Records, RunData, page};
use crate::error::{Error, Result};

/// How the labelling tool picks its pairs from the run's scored pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LabelStrategy {
    /// The pairs whose match probability is closest to 0.5 (ties by pair order): where a
    /// reviewer's label tells the model most.
    Uncertain,
    /// A seeded random sample.
    Random,
    /// Equal shares from ten bands of match probability ([0, 0.1), …, [0.9, 1]), seeded; a band
    /// with too few pairs gives its share to the others.
    Stratified,
}

impl LabelStrategy {
    /// The name, as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            LabelStrategy::Uncertain => "uncertain",
            LabelStrategy::Random => "random",
            LabelStrategy::Stratified => "stratified",
        }
    }
}

/// What the labelling tool shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelOptions {
    /// Pairs to label; default 100.
    pub sample: usize,
    /// How they are picked; default [`LabelStrategy::Uncertain`].
    pub strategy: LabelStrategy,
    /// Seed of the random strategies; default 42.
    pub seed: u64,
}

impl Default for LabelOptions {
    fn default() -> Self {
        LabelOptions {
            sample: 100,
            strategy: LabelStrategy::Uncertain,
            seed: 42,
        }
    }
}

/// Indices into `probabilities` of the pairs to label, in review order.
pub fn sample_pairs(probabilities: &[f64], opt: &LabelOptions) -> Vec<usize> {
    let n = probabilities.len();
    let k = opt.sample.min(n);
    let mut rng = ChaCha8Rng::seed_from_u64(opt.seed);
    match opt.strategy {
        LabelStrategy::Uncertain => {
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&a, &b| {
                (probabilities[a] - 0.5)
                    .abs()
                    .total_cmp(&(probabilities[b] - 0.5).abs())
                    .then(a.cmp(&b))
            });
            order.truncate(k);
            order
        }
        LabelStrategy::Random => rand::seq::index::sample(&mut rng, n, k).into_vec(),
        LabelStrategy::Stratified => {
            let mut bands: Vec<Vec<usize>> = vec![Vec::new(); 10];
            for (i, &p) in probabilities.iter().enumerate() {
                bands[((p * 10.0) as usize).min(9)].push(i);
            }
            // Shares: equal, and what a small band cannot fill goes to the others in turn.
            let mut share = [0usize; 10];
            let mut left = k;
            while left > 0 {
                let mut moved = false;
                for (b, band) in bands.iter().enumerate() {
                    if left > 0 && share[b] < band.len() {
                        share[b] += 1;
                        left -= 1;
                        moved = true;
                    }
                }
                if !moved {
                    break;
                }
            }
            let mut out = Vec::with_capacity(k);
            for (b, band) in bands.iter().enumerate() {
                let picked = rand::seq::index::sample(&mut rng, band.len(), share[b]);
                let mut picked: Vec<usize> = picked.into_iter().map(|i| band[i]).collect();
                picked.sort_unstable();
                out.extend(picked);
            }
            out
        }
    }
}

/// The labelling tool's data: the common header, the pairs to label (records, match
/// probability, level per comparison) and their records.
///
/// # Errors
/// [`Error::Data`] when a sampled pair names a record that is not in the inputs.
pub fn label_data(run: &RunData<'_>, opt: &LabelOptions) -> Result<Value> {
    let probs: Vec<f64> = run.pairs.iter().map(|p| p.probability).collect();
    let picked = sample_pairs(&probs, opt);
    let by_key: BTreeMap<(&str, &str), usize> = (0..run.ds.len())
        .map(|r| ((run.ds.source_name(r), run.ds.ids.get(r)), r))
        .collect();
    let find = |k: &(String, String)| -> Result<usize> {
        by_key
            .get(&(k.0.as_str(), k.1.as_str()))
            .copied()
            .ok_or_else(|| {
                Error::Data(format!(
                    "pairs.csv names record `{}` of source `{}`, which is not in the inputs; give the inputs the run linked",
                    k.1, k.0
                ))
            })
    };
    let mut recs = Records::default();
    let mut levels = vec![0u8; run.comparer.len()];
    let mut pairs = Vec::with_capacity(picked.len());
    for &i in &picked {
        let p = &run.pairs[i];
        let (l, r) = (find(&p.left)?, find(&p.right)?);
        run.comparer
            .vector(run.ds, l.min(r) as u32, l.max(r) as u32, &mut levels);
        pairs.push(json!({
            "l": recs.id(l),
            "r": recs.id(r),
            "p": p.probability,
            "levels": levels,
        }));
    }
    let mut o = run.common_json();
    o.insert("pairs".into(), Value::Array(pairs));
    o.insert("records".into(), recs.json(run.ds));
    o.insert("strategy".into(), json!(opt.strategy.name()));
    o.insert(
        "sample_note".into(),
        json!(format!(
            "{} of the run's {} scored pairs, strategy {} (seed {})",
            picked.len(),
            run.pairs.len(),
            opt.strategy.name(),
            opt.seed
        )),
    );
    Ok(Value::Object(o))
}

/// The labelling tool page.
///
/// # Errors
/// As [`label_data`].
pub fn label_html(run: &RunData<'_>, opt: &LabelOptions) -> Result<String> {
    Ok(page(
        &format!("{} — labelling tool", run.title),
        &label_data(run, opt)?,
        include_str!("assets/label.js"),
    ))
}
