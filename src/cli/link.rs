//! `fellegi link`: train, predict, cluster and evaluate in one run.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::bail;
use fellegi::cluster::connected_components;
use fellegi::eval;
use fellegi::output::{Staged, write_clusters, write_json, write_pairs};
use fellegi::pipeline;

use super::common::{InputArgs, RunArgs, check_probability, load_settings, thousands};

/// Arguments of `fellegi link`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    /// Settings TOML (or a model JSON); default: the dataset's shipped settings.
    #[arg(long)]
    settings: Option<PathBuf>,
    /// Output folder (default: out/<dataset or first input stem>/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Match threshold on the match probability, for clusters and metrics.
    #[arg(long, default_value_t = 0.5, allow_negative_numbers = true)]
    threshold: f64,
    /// Write pairs with at least this match probability to pairs.csv.
    #[arg(long, default_value_t = 0.01, allow_negative_numbers = true)]
    min_probability: f64,
    #[command(flatten)]
    run: RunArgs,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    check_probability("--threshold", a.threshold)?;
    check_probability("--min-probability", a.min_probability)?;
    if a.min_probability > a.threshold {
        bail!(
            "--min-probability ({}) must not exceed --threshold ({}): clusters and metrics need every pair at the threshold",
            a.min_probability,
            a.threshold
        );
    }
    let progress = a.run.setup()?;
    let t0 = Instant::now();
    let resolved = a.input.resolve()?;
    let settings = load_settings(a.settings.as_ref(), &resolved)?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(&resolved.name));

    let ds = pipeline::load(&settings, &resolved.paths, &progress)?;
    if let Some(e) = &resolved.entry {
        fellegi::registry::verify(e, &ds)?;
    }
    let t_load = t0.elapsed().as_secs_f64();

    let t1 = Instant::now();
    let (model, fitted, comparer, pairs) =
        pipeline::link(&settings, &ds, a.run.seed, a.min_probability, &progress)?;
    let t_model = t1.elapsed().as_secs_f64();

    let t3 = Instant::now();
    let accepted = || {
        (0..pairs.len())
            .filter(|&i| pairs.probability[i] >= a.threshold)
            .map(|i| (pairs.left[i], pairs.right[i]))
    };
    let clusters = connected_components(ds.len(), accepted());
    let n_clusters = clusters.iter().copied().max().map_or(0, |m| m as u64 + 1);
    let t_cluster = t3.elapsed().as_secs_f64();

    let t4 = Instant::now();
    let metrics = eval::pairwise(&ds, settings.link_type, accepted());
    let mut stage = Staged::new(&out)?;
    stage.write("model.json", |w| write_json(w, &model))?;
    stage.write("pairs.csv", |w| write_pairs(w, &ds, &comparer, &pairs))?;
    stage.write("clusters.csv", |w| write_clusters(w, &ds, &clusters))?;
    let true_pairs = ds
        .truth
        .as_deref()
        .map(|t| eval::count_true_pairs(t, &ds.source_of, ds.sources.len(), settings.link_type));
    if let Some(m) = &metrics {
        let completeness = match (pairs.candidates_true, true_pairs) {
            (Some(c), Some(t)) if t > 0 => Some(c as f64 / t as f64),
            _ => None,
        };
        let t_write = t4.elapsed().as_secs_f64();
        let doc = serde_json::json!({
            "precision": m.precision,
            "recall": m.recall,
            "f1": m.f1,
            "threshold": a.threshold,
            "true_positives": m.true_positives,
            "false_positives": m.false_positives,
            "false_negatives": m.false_negatives,
            "true_pairs": true_pairs,
            "candidate_pairs": pairs.candidates,
            "candidate_pairs_per_rule": model.blocking.iter().zip(&pairs.candidates_per_rule)
                .map(|(b, n)| serde_json::json!({"rule": b.describe(), "pairs": n})).collect::<Vec<_>>(),
            "pairs_completeness": completeness,
            "pairs_written": pairs.len(),
            "min_probability": a.min_probability,
            "records": ds.len(),
            "sources": ds.sources.iter().map(|s| serde_json::json!({"source": s.name, "records": s.len})).collect::<Vec<_>>(),
            "link_type": settings.link_type.name(),
            "lambda": fitted.params.lambda,
            "seed": a.run.seed,
            "clusters": { "threshold": a.threshold, "count": n_clusters },
            "seconds": { "load": t_load, "compare_train_score": t_model, "cluster": t_cluster,
                         "evaluate_and_write": t_write, "total": t0.elapsed().as_secs_f64() },
        });
        stage.write("metrics.json", |w| write_json(w, &doc))?;
    }
    let written = stage.commit()?;

    // Summary on stdout.
    println!(
        "fellegi link: {} ({}, {} source(s), {} records)",
        resolved.name,
        settings.link_type.name(),
        ds.sources.len(),
        thousands(ds.len() as u64)
    );
    println!("  candidate pairs   {}", thousands(pairs.candidates));
    println!(
        "  lambda            {:.6e}  ({})",
        fitted.params.lambda, fitted.fit.lambda_method
    );
    println!(
        "  EM                {} session(s), {} iterations, converged: {}",
        fitted.fit.sessions.len(),
        fitted.fit.iterations,
        fitted.fit.converged
    );
    println!(
        "  pairs >= {:<8} {}",
        a.min_probability,
        thousands(pairs.len() as u64)
    );
    println!(
        "  clusters          {} at threshold {}",
        thousands(n_clusters),
        a.threshold
    );
    if let Some(m) = &metrics {
        println!("  precision         {:.4}", m.precision);
        println!("  recall            {:.4}", m.recall);
        println!("  F1                {:.4}", m.f1);
        println!(
            "  tp / fp / fn      {} / {} / {}",
            m.true_positives, m.false_positives, m.false_negatives
        );
    }
    println!(
        "  seconds           load {:.2}  compare+train+score {:.2}  cluster {:.2}  total {:.2}",
        t_load,
        t_model,
        t_cluster,
        t0.elapsed().as_secs_f64()
    );
    println!(
        "  outputs           {}",
        written
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}
