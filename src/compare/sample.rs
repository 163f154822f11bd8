//! Pairs enumerated for estimation outside the prediction candidates: a seeded random sample of
//! records for u (Splink's `estimate_u_using_random_sampling`), and every true pair for the
//! oracle's m. Both produce per-comparison level counts, in fixed chunks merged in order, so the
//! results do not depend on the thread count.

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rayon::prelude::*;

use super::Comparer;
use crate::block::total_pairs;
use crate::data::{Dataset, LinkType, MISSING};
use crate::progress::Progress;

/// Value pairs per chunk of the u-sampling loop (the counts are integer sums, the same for any
/// split or thread count).
pub const SAMPLE_CHUNK: u64 = 1 << 16;

/// A portable seed for chunk `i` of a stream seeded with `seed` (SplitMix64 finaliser).
pub fn chunk_seed(seed: u64, i: u64) -> u64 {
    let mut z = seed ^ i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Level counts over a set of enumerated pairs: per comparison and level, how many pairs had it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelCounts {
    /// `counts[c][l]`: pairs at level `l` of comparison `c` (null levels included).
    pub counts: Vec<Vec<u64>>,
    /// Number of pairs counted.
    pub pairs: u64,
    /// Number of records the pairs were drawn from (all records when none were sampled).
    pub records: usize,
}

/// Value pairs per call of the batched evaluator in [`sample_level_counts`].
const SAMPLE_RUN: usize = 512;

/// Compares every admissible pair among a seeded random sample of records and counts their
/// levels (Splink's `estimate_u_using_random_sampling`): the sample size is chosen so that about
/// `n_pairs` admissible pairs are compared; when the data have no more than `n_pairs` admissible
/// pairs, all of them are compared. With `exclude_true_matches`, sampled pairs whose records share
/// a truth value are left out (the oracle's u). The sample is drawn with ChaCha8 from
/// [`chunk_seed`]`(seed, 0)`. The counts are those of comparing every pair, computed per
/// comparison over pairs of the sample's distinct (source, value) groups weighted by the groups'
/// sizes (a level depends only on the two values), in chunks of about [`SAMPLE_CHUNK`] value
/// pairs; integer sums, so the split does not change them.
pub fn sample_level_counts(
    ds: &Dataset,
    comparer: &Comparer,
    link_type: LinkType,
    n_pairs: u64,
    seed: u64,
    progress: &Progress,
    exclude_true_matches: bool,
) -> LevelCounts {
    let n = ds.len();
    let total = total_pairs(link_type, &ds.source_sizes());
    let sample: Vec<u32> = if total <= n_pairs as u128 {
        (0..n as u32).collect()
    } else {
        // Admissible share of all pairs, so that the sample yields about n_pairs admissible pairs.
        let all = (n as f64) * (n as f64 - 1.0) / 2.0;
        let share = (total as f64 / all).clamp(1e-12, 1.0);
        let want = n_pairs as f64 / share;
        let size = (((1.0 + (1.0 + 8.0 * want).sqrt()) / 2.0).ceil() as usize).clamp(2, n);
        let mut rng = ChaCha8Rng::seed_from_u64(chunk_seed(seed, 0));
        let mut v: Vec<u32> = rand::seq::index::sample(&mut rng, n, size)
            .into_iter()
            .map(|i| i as u32)
            .collect();
        v.sort_unstable();
        v
    };
    let s = sample.len();
    let n_c = comparer.len();
    let src: Vec<u16> = sample.iter().map(|&r| ds.source_of[r as usize]).collect();
    // Admissible pairs of the sample, from its records per source.
    let mut per_source: Vec<u64> = vec![0; ds.sources.len().max(1)];
    for &x in &src {
        per_source[x as usize] += 1;
    }
    let mut admitted = 0u64;
    for (x, &nx) in per_source.iter().enumerate() {
        for (y, &ny) in per_source.iter().enumerate().skip(x) {
            if link_type.admits(x as u16, y as u16) {
                admitted += if x == y {
                    nx * nx.saturating_sub(1) / 2
                } else {
                    nx * ny
                };
            }
        }
    }
    let pb = progress.bar(n_c as u64, "sampling u");
    // Levels depend only on the two values (and are symmetric), so each comparison counts the
    // pairs of distinct (source, value) groups of the sample, weighted by the groups' sizes:
    // the same integer counts as comparing every pair, with one comparator call per pair of
    // distinct values (4,500 records with 1,000 distinct names: 0.5 million calls, not 10).
    let mut counts: Vec<Vec<u64>> = comparer
        .comparisons
        .par_iter()
        .enumerate()
        .map(|(k, c)| {
            let col = &ds.columns[c.column];
            let mut keyed: Vec<(u16, u32)> = sample
                .iter()
                .zip(&src)
                .map(|(&r, &x)| (x, comparer.row(r)[k]))
                .collect();
            keyed.sort_unstable();
            let mut groups: Vec<(u16, u32, u64)> = Vec::new();
            for (x, v) in keyed {
                match groups.last_mut() {
                    Some(g) if g.0 == x && g.1 == v => g.2 += 1,
                    _ => groups.push((x, v, 1)),
                }
            }
            let g = groups.len();
            // Fixed chunks of about SAMPLE_CHUNK value pairs (integer sums: any split gives
            // the same counts).
            let mut bounds = vec![0usize];
            let mut acc_pairs = 0u64;
            for i in 0..g {
                acc_pairs += (g - i) as u64;
                if acc_pairs >= SAMPLE_CHUNK {
                    bounds.push(i + 1);
                    acc_pairs = 0;
                }
            }
            if *bounds.last().unwrap_or(&0) != g {
                bounds.push(g);
            }
            let w = c.n_levels();
            let parts: Vec<Vec<u64>> = bounds
                .windows(2)
                .collect::<Vec<_>>()
                .into_par_iter()
                .map(|b| {
                    let mut acc = vec![0u64; w];
                    // Levels of one value against a run of others, computed by the batched
                    // evaluator (one dispatch per run): at 198,782 records u sampling took
                    // 0.153 s pair by pair, 0.131 s so (minimum of ten alternated runs).
                    let mut lv: Vec<u32> = Vec::with_capacity(SAMPLE_RUN);
                    for i in b[0]..b[1] {
                        let (xi, vi, ni) = groups[i];
                        if link_type.admits(xi, xi) && ni > 1 {
                            acc[c.level(col, vi, vi) as usize] += ni * (ni - 1) / 2;
                        }
                        for run in groups[i + 1..].chunks(SAMPLE_RUN) {
                            lv.clear();
                            lv.resize(run.len(), 0);
                            c.add_levels(col, run.iter().map(|&(_, vj, _)| (vi, vj)), 1, &mut lv);
                            for (&(xj, _, nj), &l) in run.iter().zip(&lv) {
                                if link_type.admits(xi, xj) {
                                    acc[l as usize] += ni * nj;
                                }
                            }
                        }
                    }
                    acc
                })
                .collect();
            pb.inc(1);
            let mut acc = vec![0u64; w];
            for p in parts {
                for (t, x) in acc.iter_mut().zip(p) {
                    *t += x;
                }
            }
            acc
        })
        .collect();
    pb.finish_and_clear();
    let mut compared = admitted;
    if exclude_true_matches {
        if let Some(t) = ds.truth.as_deref() {
            // Take out the sampled pairs whose records share a truth value (few: they are
            // enumerated within each truth group).
            let mut by_truth: Vec<(u32, usize)> = sample
                .iter()
                .enumerate()
                .filter(|&(_, &r)| t[r as usize] != MISSING)
                .map(|(a, &r)| (t[r as usize], a))
                .collect();
            by_truth.sort_unstable();
            for run in by_truth.chunk_by(|x, y| x.0 == y.0) {
                for (i, &(_, a)) in run.iter().enumerate() {
                    for &(_, b) in &run[i + 1..] {
                        if !link_type.admits(src[a], src[b]) {
                            continue;
                        }
                        let (ra, rb) = (comparer.row(sample[a]), comparer.row(sample[b]));
                        for (k, c) in comparer.comparisons.iter().enumerate() {
                            let lv = c.level(&ds.columns[c.column], ra[k], rb[k]);
                            counts[k][lv as usize] -= 1;
                        }
                        compared -= 1;
                    }
                }
            }
        }
    }
    LevelCounts {
        counts,
        pairs: compared,
        records: s,
    }
}

/// Counts the levels of every true pair the link type admits (records sharing a truth value),
/// enumerated per entity, whether blocking would find them or not: the oracle's m. `None`
/// without a truth column.
pub fn true_pair_level_counts(
    ds: &Dataset,
    comparer: &Comparer,
    link_type: LinkType,
) -> Option<LevelCounts> {
    let truth = ds.truth.as_deref()?;
    let widths: Vec<usize> = comparer.comparisons.iter().map(|c| c.n_levels()).collect();
    let mut counts: Vec<Vec<u64>> = widths.iter().map(|&w| vec![0; w]).collect();
    let mut lv = vec![0u8; comparer.len()];
    crate::data::for_each_true_pair(truth, &ds.source_of, link_type, |l, r| {
        comparer.vector(ds, l, r, &mut lv);
        for (k, &x) in lv.iter().enumerate() {
            counts[k][x as usize] += 1;
        }
    });
    let pairs = counts.first().map_or(0, |c| c.iter().sum());
    Some(LevelCounts {
        counts,
        pairs,
        records: ds.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Column, Source};
    use crate::settings::Settings;
    use proptest::prelude::*;

    /// Every pair of all records compared one by one: what the grouped counting must equal.
    fn per_pair(ds: &Dataset, comparer: &Comparer, lt: LinkType, no_true: bool) -> LevelCounts {
        let mut counts: Vec<Vec<u64>> = comparer
            .comparisons
            .iter()
            .map(|c| vec![0; c.n_levels()])
            .collect();
        let mut pairs = 0;
        let t = ds.truth.as_deref().unwrap_or(&[]);
        for a in 0..ds.len() {
            for b in a + 1..ds.len() {
                if !lt.admits(ds.source_of[a], ds.source_of[b]) {
                    continue;
                }
                if no_true && !t.is_empty() && t[a] != MISSING && t[a] == t[b] {
                    continue;
                }
                let (ra, rb) = (comparer.row(a as u32), comparer.row(b as u32));
                for (k, c) in comparer.comparisons.iter().enumerate() {
                    counts[k][c.level(&ds.columns[c.column], ra[k], rb[k]) as usize] += 1;
                }
                pairs += 1;
            }
        }
        LevelCounts {
            counts,
            pairs,
            records: ds.len(),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Counting pairs of distinct values gives exactly the per-pair counts, for every link
        /// type, with and without the true pairs, over one and two sources.
        #[test]
        fn grouped_counts_equal_per_pair(
            rows in proptest::collection::vec(("[a-c]{0,3}", "[a-z]{0,6}", "[0-9]{0,3}", 0u32..40, 0u16..2), 2..420),
        ) {
            let toml = r#"
link_type = "dedupe"
[[comparison]]
column = "a"
use = "exact_match"
[[comparison]]
column = "b"
use = "jaro_winkler_at_thresholds"
thresholds = [0.9, 0.7]
[[comparison]]
column = "c"
use = "levenshtein_at_thresholds"
thresholds = [1, 2]
"#;
            let set = Settings::from_toml(toml, "t").unwrap().expanded("t").unwrap();
            let mut rows = rows;
            rows.sort_by_key(|r| r.4);
            let n0 = rows.iter().filter(|r| r.4 == 0).count();
            let words: [Vec<String>; 3] = [
                rows.iter().map(|r| r.0.clone()).collect(),
                rows.iter().map(|r| r.1.clone()).collect(),
                rows.iter().map(|r| r.2.clone()).collect(),
            ];
            let ds = Dataset {
                sources: vec![
                    Source { name: "x".into(), path: "x".into(), sha256: String::new(), start: 0, len: n0 },
                    Source { name: "y".into(), path: "y".into(), sha256: String::new(), start: n0, len: rows.len() - n0 },
                ],
                source_of: rows.iter().map(|r| r.4).collect(),
                ids: (0..rows.len()).map(|i| i.to_string()).collect(),
                truth: Some(rows.iter().map(|r| if r.3 == 0 { MISSING } else { r.3 }).collect()),
                columns: vec![
                    Column::of_words("a", &words[0]),
                    Column::of_words("b", &words[1]),
                    Column::of_words("c", &words[2]),
                ],
            };
            let comparer = Comparer::new(&set.comparisons, &ds).unwrap();
            for lt in [LinkType::Dedupe, LinkType::Link, LinkType::LinkAndDedupe] {
                for no_true in [false, true] {
                    let got = sample_level_counts(&ds, &comparer, lt, u64::MAX, 7, &Progress::default(), no_true);
                    prop_assert_eq!(got, per_pair(&ds, &comparer, lt, no_true));
                }
            }
        }
    }
}
