//! Clustering: connected components of the pairs at or above a threshold (union–find).
//!
//! Cluster ids are dense, numbered in order of each cluster's lowest record index, so they depend
//! only on the data and the accepted pairs, never on thread count or hash order.

/// Union–find with path halving and union by size.
#[derive(Debug, Clone)]
pub struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    /// `n` singletons.
    pub fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
        }
    }

    /// The representative of `x`'s set.
    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = self.parent[x as usize];
        }
        x
    }

    /// Merges the sets of `a` and `b`.
    pub fn union(&mut self, a: u32, b: u32) {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return;
        }
        if self.size[a as usize] < self.size[b as usize] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b as usize] = a;
        self.size[a as usize] += self.size[b as usize];
    }
}

/// Connected components of `n` records under the edges `pairs`; returns a dense cluster id per
/// record, numbered by each cluster's lowest record index.
pub fn connected_components(n: usize, pairs: impl IntoIterator<Item = (u32, u32)>) -> Vec<u32> {
    let mut uf = UnionFind::new(n);
    for (a, b) in pairs {
        uf.union(a, b);
    }
    let mut id_of_root = vec![u32::MAX; n];
    let mut next = 0u32;
    let mut out = vec![0u32; n];
    for r in 0..n as u32 {
        let root = uf.find(r);
        if id_of_root[root as usize] == u32::MAX {
            id_of_root[root as usize] = next;
            next += 1;
        }
        out[r as usize] = id_of_root[root as usize];
    }
    out
}

/// The clusters of a run: a dense cluster id per record (numbered by each cluster's lowest
/// record index) and how many there are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clusters {
    /// Cluster id of each record, in record order.
    pub ids: Vec<u32>,
    /// Number of clusters (singletons included).
    pub count: u64,
}

impl Clusters {
    /// Connected components of `n` records under `pairs` ([`connected_components`]).
    pub fn of(n: usize, pairs: impl IntoIterator<Item = (u32, u32)>) -> Clusters {
        let ids = connected_components(n, pairs);
        let count = ids.iter().copied().max().map_or(0, |m| m as u64 + 1);
        Clusters { ids, count }
    }
}

/// The bridges of an undirected graph on nodes `0..n`: the indices into `edges` of the edges
/// whose removal disconnects their endpoints (Tarjan's low-link, iterative so deep clusters
/// do not overflow the stack). Parallel edges between the same two nodes are never bridges.
/// Returned in increasing order.
///
/// # References
/// Tarjan, R. E. (1974). A note on finding the bridges of a graph. *Information Processing
/// Letters* 2(6), 160–161.
pub fn bridges(n: usize, edges: &[(u32, u32)]) -> Vec<usize> {
    let mut adj: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    for (i, &(a, b)) in edges.iter().enumerate() {
        if a != b {
            adj[a as usize].push((b as usize, i));
            adj[b as usize].push((a as usize, i));
        }
    }
    const UNSEEN: usize = usize::MAX;
    let (mut disc, mut low) = (vec![UNSEEN; n], vec![0usize; n]);
    let mut out = Vec::new();
    let mut time = 0;
    for root in 0..n {
        if disc[root] != UNSEEN {
            continue;
        }
        // (node, the edge it was entered by, next neighbour to look at)
        let mut stack: Vec<(usize, usize, usize)> = vec![(root, UNSEEN, 0)];
        disc[root] = time;
        low[root] = time;
        time += 1;
        while let Some(&mut (v, via, ref mut next)) = stack.last_mut() {
            if let Some(&(w, e)) = adj[v].get(*next) {
                *next += 1;
                if e == via {
                    continue;
                }
                if disc[w] == UNSEEN {
                    disc[w] = time;
                    low[w] = time;
                    time += 1;
                    stack.push((w, e, 0));
                } else {
                    low[v] = low[v].min(disc[w]);
                }
            } else {
                stack.pop();
                if let Some(&(p, _, _)) = stack.last() {
                    low[p] = low[p].min(low[v]);
                    if low[v] > disc[p] {
                        out.push(via);
                    }
                }
            }
        }
    }
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_are_numbered_by_lowest_member() {
        let c = connected_components(6, [(4, 5), (1, 3), (3, 4)]);
        assert_eq!(c, vec![0, 1, 2, 1, 1, 1]);
    }
}
