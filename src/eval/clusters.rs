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
    // Sizes by cluster, by entity and by (cluster, entity), in key order (sorted runs; the same
    // order, and so the same float sums, as ordered maps would give, in a fraction of the memory).
    fn runs<K: Ord + Copy>(mut keys: Vec<K>) -> Vec<(K, u64)> {
        keys.sort_unstable();
        let mut out: Vec<(K, u64)> = Vec::new();
        for k in keys {
            match out.last_mut() {
                Some((last, n)) if *last == k => *n += 1,
                _ => out.push((k, 1)),
            }
        }
        out
    }
    let csize = runs(clusters.to_vec());
    let esize = runs((0..n).map(ent).collect());
    let joint = runs((0..n).map(|r| (clusters[r], ent(r))).collect());
    let size_of = |v: &[(u32, u64)], k: u32| v[v.binary_search_by_key(&k, |x| x.0).unwrap_or(0)].1;
    let esize_of = |k: u64| esize[esize.binary_search_by_key(&k, |x| x.0).unwrap_or(0)].1;
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
        bp += k as f64 * k as f64 / size_of(&csize, c) as f64;
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
