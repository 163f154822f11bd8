//! One-to-one assignment between two sources: each record is linked to at most one record of
//! the other source, greedily (highest probability first) or optimally (maximum total weight,
//! by the Hungarian method on each connected component of the accepted pairs).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How to enforce one-to-one links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum OneToOne {
    /// Accept pairs in descending probability, skipping records already linked.
    Greedy,
    /// Maximise the total match weight (Hungarian method per connected component).
    Optimal,
}

/// Largest component solved exactly by the Hungarian method (O(n³)); larger ones are solved
/// greedily and reported.
pub const MAX_EXACT_COMPONENT: usize = 2_000;

/// Result of an assignment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assignment {
    /// Indices (into the input pairs) kept, ascending.
    pub kept: Vec<usize>,
    /// Components too large for the exact method, solved greedily instead.
    pub greedy_fallback_components: usize,
}

/// Keeps a one-to-one subset of `pairs` (left record, right record, value). `Greedy` takes
/// pairs by descending value; `Optimal` maximises the sum of values, counting only pairs with a
/// positive value (pass w − logit(threshold) so that every accepted pair counts positively, as in
/// Jaro's linear sum assignment). Ties are broken by input order, so the result is deterministic.
pub fn one_to_one(pairs: &[(u32, u32, f64)], method: OneToOne) -> Assignment {
    match method {
        OneToOne::Greedy => Assignment {
            kept: greedy(pairs, &(0..pairs.len()).collect::<Vec<_>>()),
            greedy_fallback_components: 0,
        },
        OneToOne::Optimal => optimal(pairs),
    }
}

fn greedy(pairs: &[(u32, u32, f64)], idx: &[usize]) -> Vec<usize> {
    let mut order: Vec<usize> = idx.to_vec();
    order.sort_by(|&a, &b| pairs[b].2.total_cmp(&pairs[a].2).then(a.cmp(&b)));
    let mut used_l = std::collections::BTreeSet::new();
    let mut used_r = std::collections::BTreeSet::new();
    let mut kept = Vec::new();
    for i in order {
        let (l, r, _) = pairs[i];
        if !used_l.contains(&l) && !used_r.contains(&r) {
            used_l.insert(l);
            used_r.insert(r);
            kept.push(i);
        }
    }
    kept.sort_unstable();
    kept
}

fn optimal(pairs: &[(u32, u32, f64)]) -> Assignment {
    // Connected components over left and right records (union-find on 2 × distinct ids).
    let mut lid: BTreeMap<u32, usize> = BTreeMap::new();
    let mut rid: BTreeMap<u32, usize> = BTreeMap::new();
    for &(l, r, _) in pairs {
        let n = lid.len();
        lid.entry(l).or_insert(n);
        let n = rid.len();
        rid.entry(r).or_insert(n);
    }
    let nl = lid.len();
    let mut uf = crate::cluster::UnionFind::new(nl + rid.len());
    for &(l, r, _) in pairs {
        uf.union(lid[&l] as u32, (nl + rid[&r]) as u32);
    }
    let mut comps: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, &(l, _, _)) in pairs.iter().enumerate() {
        comps.entry(uf.find(lid[&l] as u32)).or_default().push(i);
    }
    let mut kept = Vec::new();
    let mut fallback = 0;
    for idx in comps.values() {
        if idx.len() == 1 {
            if pairs[idx[0]].2 > 0.0 {
                kept.push(idx[0]);
            }
            continue;
        }
        let mut ls: Vec<u32> = idx.iter().map(|&i| pairs[i].0).collect();
        let mut rs: Vec<u32> = idx.iter().map(|&i| pairs[i].1).collect();
        ls.sort_unstable();
        ls.dedup();
        rs.sort_unstable();
        rs.dedup();
        if ls.len().max(rs.len()) > MAX_EXACT_COMPONENT {
            fallback += 1;
            kept.extend(greedy(pairs, idx));
            continue;
        }
        kept.extend(hungarian_component(pairs, idx, &ls, &rs));
    }
    kept.sort_unstable();
    Assignment {
        kept,
        greedy_fallback_components: fallback,
    }
}

/// Maximum-weight matching in one component: a square Hungarian problem over max(|L|, |R|)
/// rows and columns where a missing or non-positive pair is worth 0 (left unmatched).
fn hungarian_component(
    pairs: &[(u32, u32, f64)],
    idx: &[usize],
    ls: &[u32],
    rs: &[u32],
) -> Vec<usize> {
    let n = ls.len().max(rs.len());
    // cost = -(value); value 0 for no edge. Keep the best edge per cell.
    let mut val = vec![0.0f64; n * n];
    let mut edge = vec![usize::MAX; n * n];
    for &i in idx {
        let (l, r, w) = pairs[i];
        let a = ls.binary_search(&l).unwrap_or(0);
        let b = rs.binary_search(&r).unwrap_or(0);
        let v = w;
        if v <= 0.0 || v.is_nan() {
            continue;
        }
        if edge[a * n + b] == usize::MAX || v > val[a * n + b] {
            val[a * n + b] = v;
            edge[a * n + b] = i;
        }
    }
    let assignment = hungarian_max(&val, n);
    let mut out = Vec::new();
    for (a, &b) in assignment.iter().enumerate() {
        let e = edge[a * n + b];
        if e != usize::MAX {
            out.push(e);
        }
    }
    out
}

/// The Hungarian method (Kuhn–Munkres with potentials, O(n³)) maximising Σ val[i][p(i)] over
/// permutations p; returns p.
fn hungarian_max(val: &[f64], n: usize) -> Vec<usize> {
    let maxv = val.iter().copied().fold(0.0f64, f64::max);
    let cost = |i: usize, j: usize| maxv - val[i * n + j];
    let inf = f64::INFINITY;
    let mut u = vec![0.0; n + 1];
    let mut v = vec![0.0; n + 1];
    let mut p = vec![0usize; n + 1];
    let mut way = vec![0usize; n + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0usize;
        let mut minv = vec![inf; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = inf;
            let mut j1 = 0usize;
            for j in 1..=n {
                if !used[j] {
                    let cur = cost(i0 - 1, j - 1) - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=n {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut ans = vec![0usize; n];
    for j in 1..=n {
        if p[j] > 0 {
            ans[p[j] - 1] = j - 1;
        }
    }
    ans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_and_optimal_differ_where_they_should() {
        // a-x 10, a-y 9, b-x 9: greedy takes a-x (10), optimal takes a-y + b-x (18).
        let pairs = [(0, 100, 10.0), (0, 101, 9.0), (1, 100, 9.0)];
        assert_eq!(one_to_one(&pairs, OneToOne::Greedy).kept, vec![0]);
        assert_eq!(one_to_one(&pairs, OneToOne::Optimal).kept, vec![1, 2]);
    }

    #[test]
    fn optimal_matches_brute_force_on_small_graphs() {
        use rand::rngs::ChaCha8Rng;
        use rand::{RngExt, SeedableRng};
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..200 {
            let n = rng.random_range(1..7usize);
            let mut pairs = Vec::new();
            for l in 0..4u32 {
                for r in 0..4u32 {
                    if pairs.len() < n * 2 && rng.random_range(0..3u32) == 0 {
                        pairs.push((l, 10 + r, rng.random_range(0.1..20.0f64)));
                    }
                }
            }
            if pairs.is_empty() {
                continue;
            }
            let got = one_to_one(&pairs, OneToOne::Optimal).kept;
            let total = |s: &[usize]| s.iter().map(|&i| pairs[i].2).sum::<f64>();
            // Brute force over subsets that are one-to-one.
            let mut best = 0.0f64;
            for mask in 0u32..(1 << pairs.len()) {
                let s: Vec<usize> = (0..pairs.len()).filter(|&i| mask >> i & 1 == 1).collect();
                let mut ls: Vec<u32> = s.iter().map(|&i| pairs[i].0).collect();
                let mut rs: Vec<u32> = s.iter().map(|&i| pairs[i].1).collect();
                ls.sort_unstable();
                rs.sort_unstable();
                let ok = ls.windows(2).all(|w| w[0] != w[1]) && rs.windows(2).all(|w| w[0] != w[1]);
                if ok {
                    best = best.max(total(&s));
                }
            }
            assert!((total(&got) - best).abs() < 1e-6, "{pairs:?}: {got:?}");
        }
    }
}
