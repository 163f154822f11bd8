//! `fellegi link`: train, predict, cluster and evaluate in one run.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::bail;
use fellegi::block::total_pairs;
use fellegi::classify::assign::{OneToOne, one_to_one};
use fellegi::classify::{FsScale, FsThresholds, fs_thresholds_on};
use fellegi::cluster::connected_components;
use fellegi::eval;
use fellegi::eval::clusters::cluster_metrics;
use fellegi::eval::curves::{estimated_errors, f_beta, sweep};
use fellegi::model::predict::pattern_weight;
use fellegi::model::weight_of_probability;
use fellegi::output::{Staged, write_clusters, write_json, write_pairs};
use fellegi::pipeline;
use fellegi::plot::Format;
use fellegi::report::{ReportInput, charts, render_html};
use fellegi::settings::LinkType;

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
    /// The match threshold as a match weight (log2 odds) instead; overrides --threshold.
    #[arg(long, allow_negative_numbers = true)]
    threshold_weight: Option<f64>,
    /// Link each record to at most one record of the other source before clustering and
    /// evaluation (link with two inputs only): greedy or optimal (maximum total weight).
    #[arg(long, value_enum)]
    one_to_one: Option<OneToOne>,
    /// Fellegi–Sunter three-way decisions with thresholds chosen from the model for target
    /// error rates: FALSE_MATCH_RATE,FALSE_NON_MATCH_RATE (e.g. 0.001,0.01).
    #[arg(
        long,
        value_delimiter = ',',
        num_args = 1,
        conflicts_with = "fs_weights",
        allow_negative_numbers = true
    )]
    fs_rates: Option<Vec<f64>>,
    /// Fellegi–Sunter three-way decisions with explicit weight thresholds: UPPER,LOWER (on
    /// the --fs-scale; link at or above UPPER, non-link at or below LOWER, review between).
    #[arg(
        long,
        value_delimiter = ',',
        num_args = 1,
        allow_negative_numbers = true
    )]
    fs_weights: Option<Vec<f64>>,
    /// The weight the Fellegi–Sunter decisions (--fs-weights, --fs-rates) read: match-weight
    /// (log2 Bayes factor plus the prior log-odds, as pairs.csv) or bayes-factor (the log2
    /// Bayes factor alone, without the prior, as Fellegi & Sunter (1969) and R RecordLinkage's
    /// emClassify).
    #[arg(long, value_enum, default_value_t = FsScale::MatchWeight)]
    fs_scale: FsScale,
    /// Fit λ, m and u from the truth column instead of estimating them (the oracle ceiling
    /// for benchmarks; never for real linkage).
    #[arg(long)]
    oracle: bool,
    /// Deterministic linkage, the baseline: a blocking candidate is a match (probability 1)
    /// iff it agrees exactly on every key of one of `training.lambda.deterministic_rules`, else
    /// probability 0; no model is fitted. Same outputs as a probabilistic run.
    #[arg(
        long,
        conflicts_with_all = ["oracle", "exhaustive", "fs_rates", "fs_weights", "report"]
    )]
    rules_only: bool,
    /// Also write report.html (one self-contained page with the settings, parameters, charts,
    /// metrics and a review list of the most uncertain pairs) and every chart as SVG and PNG
    /// under charts/.
    #[arg(long)]
    report: bool,
    /// Exhaustive linkage: no blocking; every admissible pair is counted exactly (without
    /// enumerating them all) for training, and the pairs whose pattern reaches
    /// --min-probability are written (same as `exhaustive = true` in the settings). With
    /// `u = { random_pairs = 0 }` and no `lambda` in the settings, u and λ come from EM over all
    /// pairs as in fastLink; `--exhaustive --threshold 0.85 --one-to-one greedy` reproduces
    /// fastLink's defaults (threshold.match = 0.85, dedupe.matches = TRUE).
    #[arg(long)]
    exhaustive: bool,
    /// Write pairs with at least this match probability to pairs.csv.
    #[arg(long, default_value_t = 0.01, allow_negative_numbers = true)]
    min_probability: f64,
    #[command(flatten)]
    run: RunArgs,
}

pub fn run(mut a: Args) -> anyhow::Result<()> {
    if let Some(w) = a.threshold_weight {
        if !w.is_finite() {
            bail!("--threshold-weight must be a finite number, got {w}");
        }
        a.threshold = fellegi::model::probability(w);
    }
    check_probability("--threshold", a.threshold)?;
    check_probability("--min-probability", a.min_probability)?;
    if a.min_probability > a.threshold {
        bail!(
            "--min-probability ({}) must not exceed --threshold ({}): clusters and metrics need every pair at the threshold",
            a.min_probability,
            a.threshold
        );
    }
    if let Some(r) = &a.fs_rates {
        if r.len() != 2 || r.iter().any(|x| !(0.0..=1.0).contains(x)) {
            bail!(
                "--fs-rates takes two error rates in [0, 1]: FALSE_MATCH_RATE,FALSE_NON_MATCH_RATE"
            );
        }
    }
    if let Some(w) = &a.fs_weights {
        if w.len() != 2 || w.iter().any(|x| !x.is_finite()) || w[0] < w[1] {
            bail!("--fs-weights takes UPPER,LOWER with UPPER >= LOWER, both finite");
        }
    }
    let progress = a.run.setup()?;
    let t0 = Instant::now();
    let resolved = a.input.resolve()?;
    let mut settings = load_settings(a.settings.as_ref(), &resolved)?;
    if a.exhaustive {
        settings.exhaustive = true;
    }
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
    if a.rules_only && settings.exhaustive {
        bail!(
            "--rules-only classifies the blocking candidates; it does not combine with `exhaustive = true` in the settings"
        );
    }
    let (model, fitted, comparer, pairs) = if a.rules_only {
        pipeline::link_rules_only(&settings, &ds, a.run.seed, a.min_probability, &progress)?
    } else if a.oracle {
        pipeline::link_oracle(&settings, &ds, a.run.seed, a.min_probability, &progress)?
    } else if settings.exhaustive {
        let (model, fitted, comparer, pairs, notes) =
            pipeline::link_exhaustive(&settings, &ds, a.run.seed, a.min_probability, &progress)?;
        for n in notes {
            eprintln!("note: {n}");
        }
        (model, fitted, comparer, pairs)
    } else {
        pipeline::link(&settings, &ds, a.run.seed, a.min_probability, &progress)?
    };
    let t_model = t1.elapsed().as_secs_f64();

    let t3 = Instant::now();
    let above: Vec<usize> = (0..pairs.len())
        .filter(|&i| pairs.probability[i] >= a.threshold)
        .collect();
    // Optional one-to-one assignment among the accepted pairs.
    let (accepted, one_to_one) = match a.one_to_one {
        None => (above.clone(), None),
        Some(method) => {
            if settings.link_type != LinkType::Link || ds.sources.len() != 2 {
                bail!(
                    "--one-to-one needs link_type = \"link\" with exactly two inputs (got {} with {} input(s))",
                    settings.link_type.name(),
                    ds.sources.len()
                );
            }
            let floor = weight_of_probability(a.threshold.clamp(1e-12, 1.0 - 1e-12));
            let edges: Vec<(u32, u32, f64)> = above
                .iter()
                .map(|&i| {
                    (
                        pairs.left[i],
                        pairs.right[i],
                        pairs.weight[i] - floor + 1e-9,
                    )
                })
                .collect();
            let res = one_to_one(&edges, method);
            let kept: Vec<usize> = res.kept.iter().map(|&k| above[k]).collect();
            (kept, Some((method, res.greedy_fallback_components)))
        }
    };
    let edges = || accepted.iter().map(|&i| (pairs.left[i], pairs.right[i]));
    let clusters = connected_components(ds.len(), edges());
    let n_clusters = clusters.iter().copied().max().map_or(0, |m| m as u64 + 1);
    let t_cluster = t3.elapsed().as_secs_f64();
    progress.phase("cluster", t3);

    let t4 = Instant::now();
    let metrics = eval::pairwise(&ds, settings.link_type, edges());
    progress.phase("pairwise metrics", t4);
    let mut stage = Staged::new(&out)?;
    stage.write("model.json", |w| write_json(w, &model))?;
    stage.write("pairs.csv", |w| write_pairs(w, &ds, &comparer, &pairs))?;
    stage.write("clusters.csv", |w| write_clusters(w, &ds, &clusters))?;
    progress.phase("write pairs and clusters", t4);
    let total = total_pairs(settings.link_type, &ds.source_sizes());
    let true_pairs = ds
        .truth
        .as_deref()
        .map(|t| eval::count_true_pairs(t, &ds.source_of, ds.sources.len(), settings.link_type));
    let estimated = estimated_errors(&pairs.probability, a.threshold);
    let (doc, sw) = if let (Some(m), Some(truth), Some(tp_all)) =
        (&metrics, ds.truth.as_deref(), true_pairs)
    {
        let is_true = |i: usize| {
            let (x, y) = (
                truth[pairs.left[i] as usize],
                truth[pairs.right[i] as usize],
            );
            x != fellegi::data::MISSING && x == y
        };
        let scored: Vec<(f64, bool)> = (0..pairs.len())
            .map(|i| (pairs.probability[i], is_true(i)))
            .collect();
        let sw = sweep(&scored, tp_all, total);
        progress.phase("sweep", t4);
        let rule_names: Vec<String> = if model.exhaustive {
            vec!["all pairs (exhaustive)".to_string()]
        } else {
            model.blocking.iter().map(|b| b.describe()).collect()
        };
        let blocking = eval::blocking_metrics(
            &rule_names,
            &pairs.candidates_per_rule,
            pairs.candidates_true_per_rule.as_deref(),
            total,
            true_pairs,
        );
        let cm = cluster_metrics(&clusters, truth);
        progress.phase("cluster metrics", t4);
        let without = if one_to_one.is_some() {
            eval::pairwise(
                &ds,
                settings.link_type,
                above.iter().map(|&i| (pairs.left[i], pairs.right[i])),
            )
        } else {
            None
        };
        // Fellegi–Sunter three-way decisions, if asked for.
        let fs = match (&a.fs_rates, &a.fs_weights) {
            (Some(r), _) => Some(fs_thresholds_on(&fitted.params, r[0], r[1], a.fs_scale)),
            (_, Some(w)) => Some(FsThresholds {
                upper: w[0],
                lower: w[1],
                false_match_rate: f64::NAN,
                false_non_match_rate: f64::NAN,
            }),
            _ => None,
        };
        let fs_block = fs.map(|t| {
            // On the Bayes-factor scale: the level weights summed in comparison order from 0,
            // as the weight distribution behind --fs-rates sums them.
            let level_weights = fitted.params.level_weights();
            let weight_on_scale = |i: usize| match a.fs_scale {
                FsScale::MatchWeight => pairs.weight[i],
                FsScale::BayesFactor => pattern_weight(0.0, &level_weights, pairs.levels_of(i)),
            };
            let mut counts = std::collections::BTreeMap::new();
            for i in 0..pairs.len() {
                let d = t.decide(weight_on_scale(i));
                let e = counts.entry(format!("{d:?}")).or_insert([0u64, 0u64]);
                e[usize::from(!is_true(i))] += 1;
            }
            serde_json::json!({
                "scale": a.fs_scale.name(),
                "prior_weight": fitted.params.prior_weight(),
                "upper_weight": t.upper,
                "lower_weight": t.lower,
                "model_false_match_rate": t.false_match_rate.is_finite().then_some(t.false_match_rate),
                "model_false_non_match_rate": t.false_non_match_rate.is_finite().then_some(t.false_non_match_rate),
                "decisions_among_pairs_written": counts.iter().map(|(k, v)| (k.clone(), serde_json::json!({"true_matches": v[0], "non_matches": v[1]}))).collect::<serde_json::Map<_, _>>(),
                "note": "counts cover pairs.csv (match_probability >= min_probability); unscored pairs are non-matches",
            })
        });
        let t_write = t4.elapsed().as_secs_f64();
        let doc = serde_json::json!({
            "precision": m.precision,
            "recall": m.recall,
            "f1": m.f1,
            "f2": f_beta(m.precision, m.recall, 2.0),
            "threshold": a.threshold,
            "true_positives": m.true_positives,
            "false_positives": m.false_positives,
            "false_negatives": m.false_negatives,
            "true_pairs": true_pairs,
            "candidate_pairs": pairs.candidates,
            "pairs_completeness": blocking.last().and_then(|b| b.pairs_completeness),
            "pairs_written": pairs.len(),
            "min_probability": a.min_probability,
            "records": ds.len(),
            "sources": ds.sources.iter().map(|s| serde_json::json!({"source": s.name, "records": s.len})).collect::<Vec<_>>(),
            "link_type": settings.link_type.name(),
            "lambda": fitted.params.lambda,
            "seed": a.run.seed,
            "blocking": blocking,
            "threshold_sweep": {
                "average_precision": sw.average_precision,
                "best_f1": sw.best_f1,
                "note": "over the pairs written (match_probability >= min_probability); pairs never scored count as missed",
            },
            "error_rates": {
                "estimated_false_discovery_rate": estimated.false_discovery_rate,
                "estimated_false_negative_rate": estimated.false_negative_rate,
                "true_false_discovery_rate": if m.true_positives + m.false_positives > 0 { m.false_positives as f64 / (m.true_positives + m.false_positives) as f64 } else { 0.0 },
                "true_false_negative_rate": 1.0 - m.recall,
                "expected_matches": estimated.expected_matches,
            },
            "one_to_one": one_to_one.map(|(method, fallback)| serde_json::json!({
                "method": method,
                "components_solved_greedily": fallback,
                "without_one_to_one": without,
                "precision_gain": without.map(|w| m.precision - w.precision),
                "recall_change": without.map(|w| m.recall - w.recall),
            })),
            "fellegi_sunter": fs_block,
            "clusters": {
                "threshold": a.threshold,
                "count": n_clusters,
                "metrics": cm,
            },
            "seconds": { "load": t_load, "compare_train_score": t_model, "cluster": t_cluster,
                         "evaluate_and_write": t_write, "total": t0.elapsed().as_secs_f64() },
        });
        (Some(doc), Some(sw))
    } else {
        (None, None)
    };
    if let Some(doc) = &doc {
        stage.write("metrics.json", |w| write_json(w, doc))?;
    }
    if a.report {
        let input = ReportInput {
            title: format!("fellegi link: {}", resolved.name),
            model: &model,
            params: &fitted.params,
            comparer: &comparer,
            ds: &ds,
            pairs: &pairs,
            threshold: a.threshold,
            metrics: doc.as_ref(),
            sweep: sw.as_ref(),
            review: 25,
        };
        let html = render_html(&input);
        stage.write("report.html", |w| w.write_all(html.as_bytes()))?;
        let mut chart_stage = Staged::new(&out.join("charts"))?;
        for (name, chart) in charts(&input) {
            for fmt in [Format::Svg, Format::Png] {
                match chart.render(fmt) {
                    Ok(bytes) => {
                        let ext = if fmt == Format::Svg { "svg" } else { "png" };
                        chart_stage.write(&format!("{name}.{ext}"), |w| w.write_all(&bytes))?;
                    }
                    Err(e) => eprintln!("note: chart {name} not drawn: {e}"),
                }
            }
        }
        chart_stage.commit()?;
    }
    let written = stage.commit()?;
    progress.phase("evaluate and write", t4);

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
        println!(
            "  error rates       estimated FDR {:.4} FNR {:.4}; true FDR {:.4} FNR {:.4}",
            estimated.false_discovery_rate,
            estimated.false_negative_rate,
            if m.true_positives + m.false_positives > 0 {
                m.false_positives as f64 / (m.true_positives + m.false_positives) as f64
            } else {
                0.0
            },
            1.0 - m.recall
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
