//! `fellegi view patterns|clusters`, `fellegi label` and `fellegi lab`: the review and teaching
//! pages of a run (one self-contained HTML file each), drawn by `fellegi::view`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use fellegi::output::{Staged, read_pairs};
use fellegi::pipeline;
use fellegi::settings::Settings;
use fellegi::view::{self, ClusterOptions, LabParams, LabelOptions, LabelStrategy, RunData};

use super::common::{InputArgs, RunArgs};

/// What every page command reads: a run folder and the inputs it linked.
#[derive(Debug, clap::Args)]
pub struct RunDirArgs {
    /// The run's folder (from `fellegi link`): its model.json and pairs.csv are read.
    run_dir: PathBuf,
    /// The inputs the run linked (the run folder records their sha256, not their paths).
    #[command(flatten)]
    input: InputArgs,
    /// Output folder for the page (default: RUN_DIR).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Match threshold on the match probability [default: the run's, from metrics.json, else
    /// 0.5].
    #[arg(long)]
    threshold: Option<f64>,
    #[command(flatten)]
    run: RunArgs,
}

/// `fellegi view` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// The comparison viewer (patterns.html): one bar per comparison pattern; a click shows
    /// its pairs side by side with the waterfall of weights.
    Patterns(RunDirArgs),
    /// The cluster studio (clusters.html): sampled clusters drawn as graphs, with size,
    /// density, bridges and the weakest link.
    Clusters {
        #[command(flatten)]
        args: RunDirArgs,
        /// Clusters sampled by each rule (largest, lowest density, random).
        #[arg(long, default_value_t = 40)]
        per_rule: usize,
    },
}

/// Arguments of `fellegi label`.
#[derive(Debug, clap::Args)]
pub struct LabelArgs {
    #[command(flatten)]
    args: RunDirArgs,
    /// Pairs to label.
    #[arg(long, default_value_t = 100)]
    sample: usize,
    /// How the pairs are picked from pairs.csv.
    #[arg(long, value_enum, default_value_t = LabelStrategy::Uncertain)]
    strategy: LabelStrategy,
}

/// Arguments of `fellegi lab`.
#[derive(Debug, clap::Args)]
pub struct LabArgs {
    #[command(flatten)]
    args: RunDirArgs,
    /// Instead of writing the page, print (JSON) the links, clerical workload, precision,
    /// recall and F1 that fellegi computes for the parameters in this JSON file (the lab's
    /// state: lambda, m, u, threshold, review_lower, review_upper); the browser tests compare
    /// the page against it.
    #[arg(long, value_name = "PARAMS.json")]
    evaluate: Option<PathBuf>,
}

/// A loaded run: model, records, pairs, threshold and a title.
struct Loaded {
    model: Settings,
    origin: String,
    ds: fellegi::data::Dataset,
    pairs: Vec<fellegi::output::PairRecord>,
    threshold: f64,
    title: String,
    out: PathBuf,
    seed: u64,
    progress: fellegi::progress::Progress,
}

fn load(a: &RunDirArgs) -> anyhow::Result<Loaded> {
    let progress = a.run.setup()?;
    let model_path = a.run_dir.join("model.json");
    let pairs_path = a.run_dir.join("pairs.csv");
    for p in [&model_path, &pairs_path] {
        if !p.is_file() {
            bail!(
                "{}: no {}; give the folder a `fellegi link` run wrote",
                a.run_dir.display(),
                p.file_name().and_then(|n| n.to_str()).unwrap_or("")
            );
        }
    }
    let origin = model_path.display().to_string();
    let model = Settings::from_path(&model_path)?;
    let resolved = a.input.resolve()?;
    let ds = pipeline::load(&model, &resolved.paths, &progress)?;
    let pairs = read_pairs(&pairs_path)?;
    let threshold = match a.threshold {
        Some(t) if !(0.0..=1.0).contains(&t) => {
            bail!("--threshold is a match probability in [0, 1], got {t}")
        }
        Some(t) => t,
        None => run_threshold(&a.run_dir)?.unwrap_or(0.5),
    };
    let seed = pipeline::effective_seed(a.run.seed, &model);
    Ok(Loaded {
        model,
        origin,
        ds,
        pairs,
        threshold,
        title: format!("fellegi: {}", resolved.name),
        out: a.out.clone().unwrap_or_else(|| a.run_dir.clone()),
        seed,
        progress,
    })
}

/// The threshold recorded in the run's metrics.json, if any.
fn run_threshold(dir: &Path) -> anyhow::Result<Option<f64>> {
    let p = dir.join("metrics.json");
    if !p.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", p.display()))?;
    Ok(v.get("threshold").and_then(serde_json::Value::as_f64))
}

impl Loaded {
    fn data(&self) -> anyhow::Result<RunData<'_>> {
        Ok(RunData::build(
            &self.title,
            &self.model,
            &self.origin,
            &self.ds,
            self.pairs.clone(),
            self.threshold,
            &self.progress,
        )?)
    }

    fn write(&self, name: &str, html: &str) -> anyhow::Result<()> {
        let mut stage = Staged::new(&self.out)?;
        stage.write(name, |w| w.write_all(html.as_bytes()))?;
        let written = stage.commit()?;
        println!("wrote {} ({} bytes)", written[0].display(), html.len());
        Ok(())
    }
}

pub fn run(c: Command) -> anyhow::Result<()> {
    match c {
        Command::Patterns(a) => {
            let l = load(&a)?;
            let html = view::patterns_html(&l.data()?);
            l.write("patterns.html", &html)
        }
        Command::Clusters { args, per_rule } => {
            let l = load(&args)?;
            let opt = ClusterOptions {
                per_rule,
                seed: l.seed,
                ..ClusterOptions::default()
            };
            let html = view::clusters_html(&l.data()?, &opt);
            l.write("clusters.html", &html)
        }
    }
}

pub fn run_label(a: LabelArgs) -> anyhow::Result<()> {
    if a.sample == 0 {
        bail!("--sample must be at least 1");
    }
    let l = load(&a.args)?;
    let opt = LabelOptions {
        sample: a.sample,
        strategy: a.strategy,
        seed: l.seed,
    };
    let html = view::label_html(&l.data()?, &opt)?;
    l.write("label.html", &html)
}

pub fn run_lab(a: LabArgs) -> anyhow::Result<()> {
    let l = load(&a.args)?;
    let data = l.data()?;
    if let Some(path) = &a.evaluate {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let p: LabParams = serde_json::from_str(&text).with_context(|| {
            format!(
                "{}: expected the lab's parameters as JSON: {{\"lambda\", \"m\", \"u\", \"threshold\", \"review_lower\", \"review_upper\"}}",
                path.display()
            )
        })?;
        let r = view::lab_evaluate(&data, &p)?;
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    let opt = view::lab_options(&data, l.seed, &l.progress)?;
    let html = view::lab_html(&data, &opt);
    l.write("lab.html", &html)
}
