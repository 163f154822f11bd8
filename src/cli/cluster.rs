//! `fellegi cluster`: scored pairs → clusters.csv (connected components at a threshold).

use std::path::PathBuf;

use fellegi::classify::check_probability;
use fellegi::output::{Staged, read_pairs};
use fellegi::pipeline;

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
    let (keys, clusters) = pipeline::cluster_pairs(
        pairs.iter().map(|p| (&p.left, &p.right, p.probability)),
        a.threshold,
    );
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| a.pairs.parent().map(PathBuf::from).unwrap_or_default());
    let mut stage = Staged::new(&out)?;
    stage.write("clusters.csv", |w| {
        let mut cw = csv::Writer::from_writer(w);
        cw.write_record(["id", "source", "cluster_id"])?;
        for ((s, i), c) in keys.iter().zip(&clusters.ids) {
            cw.write_record([i.as_str(), s.as_str(), &c.to_string()])?;
        }
        cw.flush()
    })?;
    let written = stage.commit()?;
    let n = clusters.count;
    println!(
        "{} records from pairs in {} clusters at threshold {}; wrote {}",
        keys.len(),
        n,
        a.threshold,
        written[0].display()
    );
    Ok(())
}
