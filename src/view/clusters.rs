//! The cluster studio: sampled clusters of a run drawn as graphs.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use serde_json::{Value, json};

use super::{Records, RunData, page};
use crate::cluster::bridges;
use crate::pipeline::cluster_pairs;

/// Which clusters the studio embeds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClusterOptions {
    /// Clusters taken by each rule (largest, lowest density, random); default 40.
    pub per_rule: usize,
    /// Clusters larger than this many records are listed but not drawn; default 150.
    pub max_drawn: usize,
    /// Seed of the random sample; default 42.
    pub seed: u64,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            per_rule: 40,
            max_drawn: 150,
            seed: 42,
        }
    }
}

/// One cluster (two records or more) of the run at its threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterView {
    /// The cluster's id (its lowest record's order among the pairs' records).
    pub id: u32,
    /// Its records, as indices into the keys [`cluster_pairs`] returns.
    pub nodes: Vec<u32>,
    /// Its links: (node position, node position, match probability), probability ≥ threshold.
    pub edges: Vec<(usize, usize, f64)>,
    /// Links over possible pairs: edges / (n (n − 1) / 2).
    pub density: f64,
    /// Indices into `edges` of the links whose removal splits the cluster.
    pub bridges: Vec<usize>,
    /// Index into `edges` of the link with the lowest probability.
    pub weakest: usize,
    /// Why it was sampled: `largest`, `lowest density` or `random`.
    pub reason: &'static str,
}

/// The clusters of `run` (connected components of its pairs at its threshold) with two
/// records or more, sampled by `opt`: the largest, the least dense and a seeded random choice
/// (each cluster once, in that order). Returns the sample, the record keys it refers to and the
/// number of such clusters in the run.
pub fn sample_clusters(
    run: &RunData<'_>,
    opt: &ClusterOptions,
) -> (Vec<ClusterView>, Vec<(String, String)>, usize) {
    let (keys, clusters) = cluster_pairs(
        run.pairs.iter().map(|p| (&p.left, &p.right, p.probability)),
        run.threshold,
    );
    let mut members: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (r, &c) in clusters.ids.iter().enumerate() {
        members.entry(c).or_default().push(r as u32);
    }
    members.retain(|_, m| m.len() >= 2);
    let mut edges: BTreeMap<u32, Vec<(u32, u32, f64)>> = BTreeMap::new();
    let index: BTreeMap<&(String, String), u32> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k, i as u32))
        .collect();
    for p in &run.pairs {
        if p.probability >= run.threshold {
            let (l, r) = (index[&p.left], index[&p.right]);
            edges
                .entry(clusters.ids[l as usize])
                .or_default()
                .push((l, r, p.probability));
        }
    }
    let view = |id: u32, reason: &'static str| -> ClusterView {
        let nodes = members[&id].clone();
        let pos: BTreeMap<u32, usize> = nodes.iter().enumerate().map(|(i, &n)| (n, i)).collect();
        let e: Vec<(usize, usize, f64)> = edges
            .get(&id)
            .into_iter()
            .flatten()
            .map(|&(l, r, p)| (pos[&l], pos[&r], p))
            .collect();
        let n = nodes.len() as f64;
        let simple: Vec<(u32, u32)> = e.iter().map(|&(a, b, _)| (a as u32, b as u32)).collect();
        let weakest = (0..e.len())
            .min_by(|&a, &b| e[a].2.total_cmp(&e[b].2))
            .unwrap_or(0);
        ClusterView {
            id,
            density: e.len() as f64 / (n * (n - 1.0) / 2.0),
            bridges: bridges(nodes.len(), &simple),
            weakest,
            nodes,
            edges: e,
            reason,
        }
    };
    let mut all: Vec<ClusterView> = members.keys().map(|&id| view(id, "random")).collect();
    let total = all.len();
    let mut chosen: Vec<usize> = Vec::new();
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by(|&a, &b| all[b].nodes.len().cmp(&all[a].nodes.len()).then(a.cmp(&b)));
    chosen.extend(order.iter().take(opt.per_rule));
    for &i in &chosen {
        all[i].reason = "largest";
    }
    let mut by_density: Vec<usize> = (0..all.len())
        .filter(|&i| all[i].nodes.len() >= 3 && !chosen.contains(&i))
        .collect();
    by_density.sort_by(|&a, &b| all[a].density.total_cmp(&all[b].density).then(a.cmp(&b)));
    for &i in by_density.iter().take(opt.per_rule) {
        all[i].reason = "lowest density";
        chosen.push(i);
    }
    let rest: Vec<usize> = (0..all.len()).filter(|i| !chosen.contains(i)).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(opt.seed);
    let k = opt.per_rule.min(rest.len());
    let mut picked: Vec<usize> = rand::seq::index::sample(&mut rng, rest.len(), k)
        .into_iter()
        .map(|i| rest[i])
        .collect();
    picked.sort_unstable();
    chosen.extend(picked);
    let sample = chosen.into_iter().map(|i| all[i].clone()).collect();
    (sample, keys, total)
}

/// The cluster studio's data: the common header, the sampled clusters and their records.
pub fn clusters_data(run: &RunData<'_>, opt: &ClusterOptions) -> Value {
    let (sample, keys, total) = sample_clusters(run, opt);
    let mut o = run.common_json();
    let mut recs = Records::default();
    let by_key: BTreeMap<(&str, &str), usize> = (0..run.ds.len())
        .map(|r| ((run.ds.source_name(r), run.ds.ids.get(r)), r))
        .collect();
    let mut missing = 0usize;
    let clusters: Vec<Value> = sample
        .iter()
        .map(|c| {
            let drawn = c.nodes.len() <= opt.max_drawn;
            let nodes: Vec<Value> = c
                .nodes
                .iter()
                .map(|&n| {
                    let k = &keys[n as usize];
                    match by_key.get(&(k.0.as_str(), k.1.as_str())) {
                        Some(&r) => json!(recs.id(r)),
                        None => {
                            missing += 1;
                            json!(format!("{}:{}", k.0, k.1))
                        }
                    }
                })
                .collect();
            json!({
                "id": c.id,
                "reason": c.reason,
                "size": c.nodes.len(),
                "density": c.density,
                "drawn": drawn,
                "nodes": if drawn { nodes } else { Vec::new() },
                "edges": if drawn { c.edges.iter().map(|&(a, b, p)| json!([a, b, p])).collect() } else { Vec::new() },
                "bridges": c.bridges.len(),
                "bridge_edges": if drawn { json!(c.bridges) } else { json!([]) },
                "weakest": c.edges.get(c.weakest).map(|e| e.2),
                "weakest_edge": c.weakest,
            })
        })
        .collect();
    o.insert("clusters".into(), Value::Array(clusters));
    o.insert("records".into(), recs.json(run.ds));
    o.insert(
        "sample_note".into(),
        json!(format!(
            "{} of the run's {} clusters with two records or more (at match probability ≥ {}): the {} largest, the {} least dense of three records or more, and {} at random (seed {}); clusters over {} records are listed, not drawn{}",
            sample.len(),
            total,
            run.threshold,
            opt.per_rule,
            opt.per_rule,
            opt.per_rule,
            opt.seed,
            opt.max_drawn,
            if missing > 0 {
                format!("; {missing} records of the pairs are not in these inputs")
            } else {
                String::new()
            }
        )),
    );
    Value::Object(o)
}

/// The cluster studio page.
pub fn clusters_html(run: &RunData<'_>, opt: &ClusterOptions) -> String {
    page(
        &format!("{} — cluster studio", run.title),
        &clusters_data(run, opt),
        include_str!("assets/clusters.js"),
    )
}
