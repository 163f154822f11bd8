//! `fellegi link`: train, predict, cluster and evaluate in one run.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::bail;
use fellegi::classify::assign::OneToOne;
use fellegi::classify::{Decision, FsScale};
use fellegi::eval::summary::Seconds;
use fellegi::pipeline::{self, DecisionOptions, FsRule, Job, LinkMethod, LinkRun};

use super::common::{InputArgs, RunArgs, load_settings, thousands};

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
        allow_hyphen_values = true
    )]
    fs_rates: Option<Vec<f64>>,
    /// Fellegi–Sunter three-way decisions with explicit weight thresholds: UPPER,LOWER (on
    /// the --fs-scale; link at or above UPPER, non-link at or below LOWER, review between).
    #[arg(long, value_delimiter = ',', num_args = 1, allow_hyphen_values = true)]
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
    /// Values of a date or numeric comparison that do not parse are compared as missing and
    /// reported (stderr, metrics.json `unparsed`, the report); when more than this share of one
    /// comparison's values in one input fail, the run stops (exit 2) naming the column, the
    /// file, the expected format and an example [default: the settings' `max_unparsed`, else
    /// 0.05].
    #[arg(long, value_name = "SHARE", allow_negative_numbers = true)]
    max_unparsed: Option<f64>,
    /// Go on however many values fail to parse (they are compared as missing, and reported).
    #[arg(long)]
    allow_unparsed: bool,
    /// Run comparison, counting and scoring on a distributed engine (feature `distributed`):
    /// `ballista://HOST:PORT` (a scheduler from `fellegi engine scheduler`) or
    /// `ballista-standalone` (scheduler and executor in this process). The inputs must be
    /// readable at the same paths by every executor. [default: this machine]
    #[cfg(feature = "distributed")]
    #[arg(long, value_name = "URL")]
    engine: Option<String>,
    /// Work folder of a distributed run, on a disk every executor can read and write (key
    /// tables, job file, partitioned pairs) [default: a hidden folder inside --out].
    #[cfg(feature = "distributed")]
    #[arg(long, value_name = "DIR", requires = "engine")]
    work_dir: Option<PathBuf>,
    /// Shuffle partitions per stage of a distributed run.
    #[cfg(feature = "distributed")]
    #[arg(long, default_value_t = 8, requires = "engine")]
    partitions: usize,
    #[command(flatten)]
    run: RunArgs,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let threshold = match a.threshold_weight {
        Some(w) if !w.is_finite() => bail!("--threshold-weight must be a finite number, got {w}"),
        Some(w) => fellegi::model::probability(w),
        None => a.threshold,
    };
    let fs = match (&a.fs_rates, &a.fs_weights) {
        (Some(r), _) if r.len() != 2 => bail!(
            "--fs-rates takes two error rates in [0, 1]: FALSE_MATCH_RATE,FALSE_NON_MATCH_RATE"
        ),
        (Some(r), _) => Some(FsRule::Rates {
            false_match_rate: r[0],
            false_non_match_rate: r[1],
        }),
        (_, Some(w)) if w.len() != 2 => {
            bail!("--fs-weights takes UPPER,LOWER with UPPER >= LOWER, both finite")
        }
        (_, Some(w)) => Some(FsRule::Weights {
            upper: w[0],
            lower: w[1],
        }),
        _ => None,
    };
    let decisions = DecisionOptions {
        threshold,
        one_to_one: a.one_to_one,
        fs,
        fs_scale: a.fs_scale,
    };
    let progress = a.run.setup()?;
    let t0 = Instant::now();
    let resolved = a.input.resolve_or_settings(a.settings.as_ref())?;
    let mut settings = load_settings(a.settings.as_ref(), &resolved)?;
    if a.exhaustive {
        settings.exhaustive = true;
    }
    let method = if a.rules_only {
        LinkMethod::RulesOnly
    } else if a.oracle {
        LinkMethod::Oracle
    } else {
        Job::new(settings.clone()).method
    };
    let job = Job {
        method,
        decisions,
        min_probability: a.min_probability,
        seed: a.run.seed,
        ..Job::new(settings)
    };
    let job = Job {
        max_unparsed_share: if a.allow_unparsed {
            None
        } else {
            a.max_unparsed.or(job.max_unparsed_share)
        },
        ..job
    };
    job.validate()?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(&resolved.name));

    #[cfg(feature = "distributed")]
    let ds = if !resolved.paths.is_empty()
        && resolved.paths.iter().all(|p| fellegi::data::is_parquet(p))
    {
        fellegi::distributed::parquet::load(&job.settings, &resolved.paths, &progress)?
    } else {
        pipeline::load(&job.settings, &resolved.paths, &progress)?
    };
    #[cfg(not(feature = "distributed"))]
    let ds = pipeline::load(&job.settings, &resolved.paths, &progress)?;
    if let Some(e) = &resolved.entry {
        fellegi::registry::verify(e, &ds)?;
    }
    let t_load = t0.elapsed().as_secs_f64();
    #[cfg(feature = "distributed")]
    if a.engine.is_some() {
        super::engine::init_log("warn");
    }
    #[cfg(feature = "distributed")]
    let dist = match &a.engine {
        Some(e) => Some(fellegi::distributed::Options {
            partitions: a.partitions,
            ..fellegi::distributed::Options::new(
                fellegi::distributed::Engine::parse(e)?,
                a.work_dir
                    .clone()
                    .unwrap_or_else(|| out.join(format!(".distributed-{}", std::process::id()))),
            )
        }),
        None => None,
    };
    #[cfg(feature = "distributed")]
    let run = match &dist {
        Some(o) => {
            let r = fellegi::distributed::run_job(&job, &ds, o, &progress);
            if r.is_err() && o.work_dir.exists() {
                let _ = std::fs::remove_dir_all(&o.work_dir);
            }
            r?
        }
        None => job.run(&ds, &progress)?,
    };
    #[cfg(not(feature = "distributed"))]
    let run = job.run(&ds, &progress)?;
    for n in &run.notes {
        eprintln!("note: {n}");
    }
    for w in &run.warnings {
        eprintln!("warning: {}", w.message);
    }

    let t4 = Instant::now();
    let seconds = Seconds {
        load: t_load,
        total: t0.elapsed().as_secs_f64(),
        ..run.seconds
    };
    let title = format!("fellegi link: {}", resolved.name);
    #[allow(unused_mut)]
    let mut written = run.write(&out, &ds, seconds, a.report.then_some(title.as_str()))?;
    #[cfg(feature = "distributed")]
    if let Some(o) = &dist {
        if let Some(p) = fellegi::distributed::finish(o, &out)? {
            written.files.push(p);
        }
    }
    for n in &written.notes {
        if !run.notes.contains(n) {
            eprintln!("note: {n}");
        }
    }
    if a.report {
        // The review and teaching pages (issue 18), drawn from what the run just wrote.
        let seed = job
            .seed
            .unwrap_or(pipeline::effective_seed(None, &run.model));
        fellegi::view::write_run_pages(
            &out,
            &title,
            &run.model,
            &ds,
            job.decisions.threshold,
            seed,
            &progress,
        )?;
    }
    progress.phase("evaluate and write", t4);
    print_summary(&resolved.name, &job, &ds, &run, t_load, t0, &written.files);
    Ok(())
}

/// The run's summary on stdout.
fn print_summary(
    name: &str,
    job: &Job,
    ds: &fellegi::data::Dataset,
    run: &LinkRun,
    t_load: f64,
    t0: Instant,
    written: &[PathBuf],
) {
    let fitted = &run.fitted;
    println!(
        "fellegi link: {} ({}, {} source(s), {} records)",
        name,
        job.settings.link_type.name(),
        ds.sources.len(),
        thousands(ds.len() as u64)
    );
    println!("  candidate pairs   {}", thousands(run.pairs.candidates));
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
    if let Some(b) = &fitted.fit.bootstrap {
        for (k, v) in b.describe() {
            println!("  {k:<17} {v}");
        }
    }
    println!(
        "  pairs >= {:<8} {}",
        job.min_probability,
        thousands(run.pairs.len() as u64)
    );
    match &run.decisions.fs {
        None => println!(
            "  clusters          {} at threshold {}",
            thousands(run.clusters.count),
            job.decisions.threshold
        ),
        Some(fs) => {
            let count = |d: Decision| fs.decisions.iter().filter(|&&x| x == d).count() as u64;
            let t = &fs.thresholds;
            println!(
                "  decisions         match {}, review {}, non_match {} (upper {:.2}, lower {:.2} on the {} scale; pairs.csv column `decision`)",
                thousands(count(Decision::Match)),
                thousands(count(Decision::Review)),
                thousands(count(Decision::NonMatch)),
                t.upper,
                t.lower,
                fs.scale.name()
            );
            println!(
                "  clusters          {} from the match decisions",
                thousands(run.clusters.count)
            );
        }
    }
    let est = &run.estimated.estimated;
    println!(
        "  estimated         {:.1} expected matches among the pairs written ({:.1} by lambda over all pairs); precision {:.4} recall {:.4} (model-based)",
        est.expected_matches_written, est.expected_matches_admissible, est.precision, est.recall
    );
    if !run.warnings.is_empty() {
        println!(
            "  warnings          {} (see stderr and metrics.json)",
            run.warnings.len()
        );
    }
    if let Some(m) = &run.metrics {
        println!("  precision         {:.4}", m.precision);
        println!("  recall            {:.4}", m.recall);
        println!("  F1                {:.4}", m.f1);
        println!(
            "  tp / fp / fn      {} / {} / {}",
            m.true_positives, m.false_positives, m.false_negatives
        );
        let e = &m.error_rates;
        println!(
            "  error rates       estimated FDR {:.4} FNR {:.4}; true FDR {:.4} FNR {:.4}",
            e.estimated_false_discovery_rate,
            e.estimated_false_negative_rate,
            e.true_false_discovery_rate,
            e.true_false_negative_rate
        );
    }
    println!(
        "  seconds           load {:.2}  compare+train+score {:.2}  cluster {:.2}  total {:.2}",
        t_load,
        run.seconds.compare_train_score,
        run.seconds.cluster,
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
}
