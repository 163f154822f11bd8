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

/// Pairs per chunk of the u-sampling loop (fixed, so results do not depend on the thread count).
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

/// Compares every admissible pair among a seeded random sample of records and counts their
/// levels (Splink's `estimate_u_using_random_sampling`): the sample size is chosen so that about
/// `n_pairs` admissible pairs are compared; when the data have no more than `n_pairs` admissible
/// pairs, all of them are compared. With `exclude_true_matches`, sampled pairs whose records share
/// a truth value are left out (the oracle's u). The sample is drawn with ChaCha8 from
/// [`chunk_seed`]`(seed, 0)`; pairs are counted in fixed chunks of about [`SAMPLE_CHUNK`] and
/// merged in order.
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
    // Gather the sample's values row-major so the all-pairs loop stays in cache.
    let mut vals = vec![0u32; s * n_c];
    let mut src = vec![0u16; s];
    let mut tr = vec![MISSING; s];
    for (a, &r) in sample.iter().enumerate() {
        comparer.row_values(r, &mut vals[a * n_c..(a + 1) * n_c]);
        src[a] = ds.source_of[r as usize];
        if exclude_true_matches {
            if let Some(t) = ds.truth.as_deref() {
                tr[a] = t[r as usize];
            }
        }
    }
    let widths: Vec<usize> = comparer.comparisons.iter().map(|c| c.n_levels()).collect();
    let offsets: Vec<usize> = widths
        .iter()
        .scan(0, |acc, &w| {
            let o = *acc;
            *acc += w;
            Some(o)
        })
        .collect();
    let width: usize = widths.iter().sum();
    // Fixed row chunks of about SAMPLE_CHUNK pairs each, independent of the thread count.
    let mut bounds = vec![0usize];
    let mut acc_pairs = 0u64;
    for a in 0..s {
        acc_pairs += (s - 1 - a) as u64;
        if acc_pairs >= SAMPLE_CHUNK {
            bounds.push(a + 1);
            acc_pairs = 0;
        }
    }
    if *bounds.last().unwrap_or(&0) != s {
        bounds.push(s);
    }
    let pb = progress.bar(bounds.len() as u64 - 1, "sampling u");
    let parts: Vec<(Vec<u64>, u64)> = bounds
        .windows(2)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|w| {
            let mut acc = vec![0u64; width];
            let mut compared = 0u64;
            for a in w[0]..w[1] {
                let ra = &vals[a * n_c..(a + 1) * n_c];
                for b in a + 1..s {
                    if !link_type.admits(src[a], src[b]) {
                        continue;
                    }
                    if tr[a] != MISSING && tr[a] == tr[b] {
                        continue;
                    }
                    let rb = &vals[b * n_c..(b + 1) * n_c];
                    for (k, c) in comparer.comparisons.iter().enumerate() {
                        let lv = c.level(&ds.columns[c.column], ra[k], rb[k]);
                        acc[offsets[k] + lv as usize] += 1;
                    }
                    compared += 1;
                }
            }
            pb.inc(1);
            (acc, compared)
        })
        .collect();
    pb.finish_and_clear();
    let mut counts = vec![0u64; width];
    let mut compared = 0u64;
    for (c, k) in &parts {
        compared += k;
        for (t, x) in counts.iter_mut().zip(c) {
            *t += x;
        }
    }
    let counts = widths
        .iter()
        .zip(&offsets)
        .map(|(&w, &o)| counts[o..o + w].to_vec())
        .collect();
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
