//! One pair's match weight, term by term: the library call behind `fellegi explain` and the
//! waterfall chart.

use crate::block::Blocker;
use crate::compare::Comparer;
use crate::data::{Dataset, MISSING};
use crate::error::{Error, Result};
use crate::model::FsParams;
use crate::plot::{Waterfall, WaterfallTerm};
use crate::settings::Settings;

/// A pair explained: the records, the values compared and the waterfall of weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The lower record index of the pair.
    pub left: usize,
    /// The higher record index.
    pub right: usize,
    /// Per comparison: its name and the two values compared (`None` when missing), in the
    /// order the records were named.
    pub values: Vec<(String, Option<String>, Option<String>)>,
    /// The prior and each comparison's level and weight (bits), then one `tf_<name>` term per
    /// term-frequency-adjusted comparison (see [`crate::model::tf`]).
    pub waterfall: Waterfall,
    /// Per comparison: m and u of the level the pair is at (P(level | match), P(level |
    /// non-match)); the weight is log2(m / u), 0 for a null level.
    pub m_u: Vec<(f64, f64)>,
    /// The match probability, from the prior and the weights.
    pub probability: f64,
    /// Whether the link type admits the pair at all (a `link` never pairs two records of one
    /// source).
    pub admissible: bool,
    /// The model is exhaustive: every admissible pair is a candidate.
    pub exhaustive: bool,
    /// The blocking rules that make the pair a candidate (their keys agree and are not
    /// missing); empty when no rule does, so a run never scores the pair.
    pub candidate_rules: Vec<String>,
    /// The truth when the inputs have a truth column and both records have a value: `true`
    /// when they are the same entity.
    pub truth: Option<bool>,
}

impl Explanation {
    /// Whether a run with this model scores the pair: admissible, and exhaustive or a candidate
    /// of at least one blocking rule.
    pub fn is_candidate(&self) -> bool {
        self.admissible && (self.exhaustive || !self.candidate_rules.is_empty())
    }
}

/// A term frequency for display (`-` when unknown).
fn show_freq(f: f64) -> String {
    if f.is_nan() {
        "-".into()
    } else {
        format!("{f:.6}")
    }
}

/// Finds a record named `SOURCE:ID`, or `ID` when that id is unique across the sources.
///
/// # Errors
/// [`Error::Data`] when the id is in several sources (write SOURCE:ID) or in none.
pub fn find_record(ds: &Dataset, name: &str) -> Result<usize> {
    let by_id: Vec<usize> = (0..ds.len()).filter(|&r| ds.ids.get(r) == name).collect();
    if by_id.len() == 1 {
        return Ok(by_id[0]);
    }
    if let Some((src, id)) = name.split_once(':') {
        if let Some(r) = (0..ds.len()).find(|&r| ds.source_name(r) == src && ds.ids.get(r) == id) {
            return Ok(r);
        }
    }
    if by_id.len() > 1 {
        return Err(Error::Data(format!(
            "id `{name}` is in several sources ({}); write SOURCE:ID",
            by_id
                .iter()
                .map(|&r| ds.source_name(r))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Err(Error::Data(format!(
        "no record `{name}` in the inputs (sources: {}); write SOURCE:ID or ID",
        ds.sources
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// Explains the match weight of records `x` and `y` of `ds` under a fitted model (`origin`
/// names it in errors): the values compared, each comparison's level with its m, u and weight,
/// whether the pair is a candidate (and of which blocking rules), and the truth when known.
///
/// # Errors
/// [`Error::Settings`] when the model lacks parameters; [`Error::Invalid`] when `x == y`;
/// errors compiling the comparisons or the blocking keys against `ds`.
pub fn explain(
    model: &Settings,
    origin: &str,
    ds: &Dataset,
    x: usize,
    y: usize,
) -> Result<Explanation> {
    let params = FsParams::from_settings(model, origin)?;
    if x == y {
        return Err(Error::invalid(
            "--pair",
            "--pair names the same record twice; give two different records",
        ));
    }
    let (l, r) = (x.min(y), x.max(y));
    let comparer = Comparer::new(&model.comparisons, ds)?;
    let mut levels = vec![0u8; comparer.len()];
    comparer.vector(ds, l as u32, r as u32, &mut levels);
    let lw = params.level_weights();
    let tf = crate::model::tf::TermFrequencies::build(&model.comparisons, &comparer, ds, &params)?;
    let waterfall = Waterfall {
        pair_label: Some(format!(
            "{}:{} – {}:{}",
            ds.source_name(l),
            ds.ids.get(l),
            ds.source_name(r),
            ds.ids.get(r)
        )),
        prior_weight: params.prior_weight(),
        terms: comparer
            .comparisons
            .iter()
            .zip(&levels)
            .enumerate()
            .map(|(c, (cmp, &lv))| WaterfallTerm {
                name: cmp.name.clone(),
                level_label: model.comparisons[c].levels[lv as usize].display_label(),
                weight: lw[c][lv as usize],
            })
            .chain(tf.iter().flat_map(|t| &t.comparisons).map(|t| {
                let c = t.comparison;
                let (a, b) = (comparer.row(l as u32)[c], comparer.row(r as u32)[c]);
                WaterfallTerm {
                    name: format!("tf_{}", t.name),
                    level_label: format!(
                        "term frequency {} / {}",
                        show_freq(t.frequency(a)),
                        show_freq(t.frequency(b))
                    ),
                    weight: t.term(levels[c], a, b),
                }
            }))
            .collect(),
    };
    let m_u = levels
        .iter()
        .enumerate()
        .map(|(c, &lv)| (params.m[c][lv as usize], params.u[c][lv as usize]))
        .collect();
    let weight = waterfall.prior_weight + waterfall.terms.iter().map(|t| t.weight).sum::<f64>();
    let admissible = model.link_type.admits(ds.source_of[l], ds.source_of[r]);
    let candidate_rules = if model.exhaustive || !admissible {
        Vec::new()
    } else {
        let rules: Vec<_> = model.blocking.iter().map(|b| b.keys.clone()).collect();
        let blocker = Blocker::new(ds, &rules, model.link_type)?;
        blocker
            .rules
            .iter()
            .filter(|rule| rule.keys[l] != MISSING && rule.keys[l] == rule.keys[r])
            .map(|rule| rule.name.clone())
            .collect()
    };
    let truth = ds
        .truth
        .as_deref()
        .and_then(|t| (t[l] != MISSING && t[r] != MISSING).then_some(t[l] == t[r]));
    let values = comparer
        .comparisons
        .iter()
        .map(|cmp| {
            let col = &ds.columns[cmp.column];
            let v = |r: usize| col.get(r).map(str::to_string);
            (cmp.name.clone(), v(x), v(y))
        })
        .collect();
    Ok(Explanation {
        left: l,
        right: r,
        values,
        waterfall,
        m_u,
        probability: crate::model::probability(weight),
        admissible,
        exhaustive: model.exhaustive,
        candidate_rules,
        truth,
    })
}
