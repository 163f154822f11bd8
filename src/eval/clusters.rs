//! Cluster metrics: pairwise precision and recall of clusters, B-cubed precision and recall,
//! the adjusted Rand index, and the cluster-size distribution.
//!
//! # References
//! - Bagga, A. & Baldwin, B. (1998). Algorithms for scoring coreference chains. *LREC workshop
//!   on linguistic coreference* (B-cubed).
//! - Hubert, L. & Arabie, P. (1985). Comparing partitions. *Journal of Classification* 2,
//!   193–218 (adjusted Rand index).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::data::MISSING;

/// Cluster quality against the truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterMetrics {
    /// Number of predicted clusters (singletons included).
    pub clusters: u64,
    /// Number of true entities (records without truth count as singletons).
    pub entities: u64,
    /// Pairs inside predicted clusters that are true pairs / pairs inside predicted clusters.
    pub pairwise_precision: f64,
    /// True pairs inside predicted clusters / all true pairs.
    pub pairwise_recall: f64,
    /// Pairwise F1 of the clustering.
    pub pairwise_f1: f64,
    /// Mean over records of |cluster ∩ entity| / |cluster|.
    pub bcubed_precision: f64,
    /// Mean over records of |cluster ∩ entity| / |entity|.
    pub bcubed_recall: f64,
    /// Adjusted Rand index of the two partitions (1 = identical, about 0 = chance).
    pub adjusted_rand_index: f64,
    /// Cluster size → number of predicted clusters of that size.
    pub size_distribution: BTreeMap<u64, u64>,
}

fn c2(n: u64) -> f64 {
    n as f64 * (n as f64 - 1.0) / 2.0
}

/// Compares predicted cluster ids with truth ids (one per record; [`MISSING`] truth is a
/// singleton entity). Pair counts here are over all record pairs (within and across sources).
pub fn cluster_metrics(clusters: &[u32], truth: &[u32]) -> ClusterMetrics {
    let n = clusters.len();
    // Singleton ids for missing truth, past the largest real id.
    let base = truth
        .iter()
        .filter(|&&t| t != MISSING)
        .max()
        .map_or(0, |&m| m as u64 + 1);
    let ent = |r: usize| -> u64 {
        if truth[r] == MISSING {
            base + r as u64
        } else {
            truth[r] as u64
        }
    };
    // Sizes by cluster, by entity and by (cluster, entity), in key order (the same order, and
    // so the same float sums, as ordered maps would give). Cluster and entity ids are dense, so
    // sizes are counted in arrays and the records grouped by cluster with a counting sort; the
    // (cluster, entity) cells come from sorting each cluster's few entities (three full sorts
    // before: the 1.16M-record benchmark's evaluation against the truth took 0.17 s, now 0.10).
    let n_c = clusters.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
    let n_e = (base as usize + n).max(1);
    let mut cdense = vec![0u64; n_c];
    for &c in clusters {
        cdense[c as usize] += 1;
    }
    let mut edense = vec![0u64; n_e];
    for r in 0..n {
        edense[ent(r) as usize] += 1;
    }
    let nonzero = |d: &[u64]| -> Vec<(usize, u64)> {
        d.iter()
            .enumerate()
            .filter(|&(_, &k)| k > 0)
            .map(|(i, &k)| (i, k))
            .collect()
    };
    let csize = nonzero(&cdense);
    let esize = nonzero(&edense);
    let mut start = vec![0usize; n_c + 1];
    for (c, &k) in cdense.iter().enumerate() {
        start[c + 1] = start[c] + k as usize;
    }
    let mut members = vec![0u64; n];
    let mut next = start.clone();
    for (r, &c) in clusters.iter().enumerate() {
        members[next[c as usize]] = ent(r);
        next[c as usize] += 1;
    }
    let mut joint: Vec<((usize, u64), u64)> = Vec::new();
    for c in 0..n_c {
        let es = &mut members[start[c]..start[c + 1]];
        es.sort_unstable();
        for &e in es.iter() {
            match joint.last_mut() {
                Some(((lc, le), k)) if *lc == c && *le == e => *k += 1,
                _ => joint.push(((c, e), 1)),
            }
        }
    }
    let size_of = |c: usize| cdense[c];
    let esize_of = |e: u64| edense[e as usize];
    let pairs_c: f64 = csize.iter().map(|&(_, k)| c2(k)).sum();
    let pairs_e: f64 = esize.iter().map(|&(_, k)| c2(k)).sum();
    let pairs_j: f64 = joint.iter().map(|&(_, k)| c2(k)).sum();
    let precision = if pairs_c > 0.0 {
        pairs_j / pairs_c
    } else {
        1.0
    };
    let recall = if pairs_e > 0.0 {
        pairs_j / pairs_e
    } else {
        1.0
    };
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    let (mut bp, mut br) = (0.0, 0.0);
    for &((c, e), k) in &joint {
        // Each of the k records in this cell scores k/|c| and k/|e|.
        bp += k as f64 * k as f64 / size_of(c) as f64;
        br += k as f64 * k as f64 / esize_of(e) as f64;
    }
    let total = c2(n as u64);
    let expected = if total > 0.0 {
        pairs_c * pairs_e / total
    } else {
        0.0
    };
    let max_index = (pairs_c + pairs_e) / 2.0;
    let ari = if (max_index - expected).abs() > 0.0 {
        (pairs_j - expected) / (max_index - expected)
    } else {
        1.0
    };
    let mut size_distribution = BTreeMap::new();
    for &(_, k) in &csize {
        *size_distribution.entry(k).or_insert(0) += 1;
    }
    ClusterMetrics {
        clusters: csize.len() as u64,
        entities: esize.len() as u64,
        pairwise_precision: precision,
        pairwise_recall: recall,
        pairwise_f1: f1,
        bcubed_precision: if n > 0 { bp / n as f64 } else { 1.0 },
        bcubed_recall: if n > 0 { br / n as f64 } else { 1.0 },
        adjusted_rand_index: ari,
        size_distribution,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_clustering() {
        let m = cluster_metrics(&[0, 0, 1, 2, 2, 2], &[5, 5, 7, 9, 9, 9]);
        assert_eq!(m.pairwise_precision, 1.0);
        assert_eq!(m.pairwise_recall, 1.0);
        assert_eq!(m.bcubed_precision, 1.0);
        assert!((m.adjusted_rand_index - 1.0).abs() < 1e-12);
        assert_eq!(
            m.size_distribution,
            BTreeMap::from([(1, 1), (2, 1), (3, 1)])
        );
    }

    #[test]
    fn by_hand() {
        // Predicted {0,1,2} {3}; truth {0,1} {2,3}.
        let m = cluster_metrics(&[0, 0, 0, 1], &[1, 1, 2, 2]);
        // Predicted pairs 3, true pairs 2, joint pairs 1.
        assert!((m.pairwise_precision - 1.0 / 3.0).abs() < 1e-12);
        assert!((m.pairwise_recall - 0.5).abs() < 1e-12);
        // B-cubed precision: records 0,1: 2/3; record 2: 1/3; record 3: 1 → (2/3+2/3+1/3+1)/4.
        assert!((m.bcubed_precision - (8.0 / 3.0) / 4.0).abs() < 1e-12);
        // ARI: index 1, expected 3*2/6 = 1, max 2.5 → 0.
        assert!(m.adjusted_rand_index.abs() < 1e-12);
    }
}
