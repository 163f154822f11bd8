//! `fellegi cluster`: scored pairs → clusters.csv (connected components at a threshold).

use std::collections::BTreeMap;
use std::path::PathBuf;

use fellegi::cluster::connected_components;
use fellegi::output::{Staged, read_pairs};

use super::common::check_probability;

/// Arguments of `fellegi cluster`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// pairs.csv from `fellegi predict` or `fellegi link`.
    #[arg(long)]
    pairs: PathBuf,
    /// Join pairs with match probability at or above this.
    #[arg(long, default_value_t = 0.5, allow_negative_numbers = true)]
    threshold: f64,
    /// Output folder for clusters.csv (default: the folder of --pairs).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    check_probability("--threshold", a.threshold)?;
    let pairs = read_pairs(&a.pairs)?;
    // Records keyed by (source, id), numbered in order of first appearance.
    let mut index: BTreeMap<(String, String), u32> = BTreeMap::new();
    let mut keys: Vec<(String, String)> = Vec::new();
    let mut edges = Vec::new();
    let mut intern = |k: &(String, String), keys: &mut Vec<(String, String)>| -> u32 {
        if let Some(&v) = index.get(k) {
            return v;
        }
        let v = keys.len() as u32;
        index.insert(k.clone(), v);
        keys.push(k.clone());
        v
    };
    for p in &pairs {
        let l = intern(&p.left, &mut keys);
        let r = intern(&p.right, &mut keys);
        if p.probability >= a.threshold {
            edges.push((l, r));
        }
    }
    let clusters = connected_components(keys.len(), edges);
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| a.pairs.parent().map(PathBuf::from).unwrap_or_default());
    let mut stage = Staged::new(&out)?;
    stage.write("clusters.csv", |w| {
        let mut cw = csv::Writer::from_writer(w);
        cw.write_record(["id", "source", "cluster_id"])?;
        for ((s, i), c) in keys.iter().zip(&clusters) {
            cw.write_record([i.as_str(), s.as_str(), &c.to_string()])?;
        }
        cw.flush()
    })?;
    let written = stage.commit()?;
    let n = clusters.iter().copied().max().map_or(0, |m| m + 1);
    println!(
        "{} records from pairs in {} clusters at threshold {}; wrote {}",
        keys.len(),
        n,
        a.threshold,
        written[0].display()
    );
    Ok(())
}
