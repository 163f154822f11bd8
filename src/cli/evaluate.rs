//! `fellegi evaluate`: scores a pairs.csv against the truth (a truth column in the inputs) or
//! against clerical labels (a Splink-style labels CSV), and writes evaluation.json.

use std::path::PathBuf;

use fellegi::classify::check_probability;
use fellegi::data::{InputSpec, LinkType, read_csv_files};
use fellegi::eval::evaluation;
use fellegi::output::{Staged, read_pairs, write_json};
use fellegi::progress::Progress;

use anyhow::bail;
use fellegi::pipeline;
use fellegi::settings::Settings;

use super::common::InputArgs;

/// Arguments of `fellegi evaluate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// pairs.csv written by `fellegi link` or `fellegi predict`.
    #[arg(long)]
    pairs: PathBuf,
    #[command(flatten)]
    input: InputArgs,
    /// Clerical labels instead of a truth column: CSV with unique_id_l, source_dataset_l,
    /// unique_id_r, source_dataset_r, clerical_match_score (a score >= 0.5 is a match).
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Link type of the task (default: the dataset's, else dedupe for one input, link for more).
    #[arg(long, value_parser = parse_link_type)]
    link_type: Option<LinkType>,
    /// Unique-id column of the inputs [default: the model's `unique_id` (and its [[input]]
    /// descriptions), else the dataset's, else record_id].
    #[arg(long)]
    unique_id: Option<String>,
    /// Truth column of the inputs [default: the model's `truth`, else the dataset's, else
    /// entity_id].
    #[arg(long)]
    truth: Option<String>,
    /// The run's model.json (or settings), read for the id and truth column names, the link
    /// type and the [[input]] descriptions [default: model.json beside --pairs, when there].
    #[arg(long)]
    model: Option<PathBuf>,
    /// Match threshold on match_probability.
    #[arg(long, default_value_t = 0.5, allow_negative_numbers = true)]
    threshold: f64,
    /// Output folder for evaluation.json (default: the folder of --pairs).
    #[arg(long)]
    out: Option<PathBuf>,
}

fn parse_link_type(s: &str) -> Result<LinkType, String> {
    match s {
        "dedupe" | "dedupe_only" => Ok(LinkType::Dedupe),
        "link" | "link_only" => Ok(LinkType::Link),
        "link_and_dedupe" => Ok(LinkType::LinkAndDedupe),
        _ => Err(format!("`{s}` is not one of dedupe, link, link_and_dedupe")),
    }
}

/// The run's model: `--model`, else model.json beside the pairs file when there.
fn run_model(a: &Args) -> anyhow::Result<Option<Settings>> {
    let path = match &a.model {
        Some(p) => p.clone(),
        None => {
            let p = a
                .pairs
                .parent()
                .map(|d| d.join("model.json"))
                .unwrap_or_else(|| PathBuf::from("model.json"));
            if !p.is_file() {
                return Ok(None);
            }
            p
        }
    };
    Ok(Some(Settings::from_path(&path)?))
}

/// The inputs' spec: files from --input/--dataset, else the model's [[input]] paths, each
/// with its description; ids and truth from the flags, else the model, else the dataset.
fn input_spec(
    a: &Args,
    model: Option<&Settings>,
    truth: bool,
) -> anyhow::Result<(InputSpec, Option<fellegi::registry::DatasetEntry>)> {
    let from_model = a.input.dataset.is_none()
        && a.input.input.is_empty()
        && model.is_some_and(|m| !m.inputs.is_empty());
    let resolved = if from_model {
        None
    } else {
        Some(a.input.resolve()?)
    };
    let entry = resolved.as_ref().and_then(|r| r.entry.clone());
    let paths = resolved.map(|r| r.paths).unwrap_or_default();
    let (paths, descriptions) = match model {
        Some(m) => pipeline::resolve_inputs(m, &paths)?,
        None => (paths, Vec::new()),
    };
    let unique_id = a
        .unique_id
        .clone()
        .or(model.map(|m| m.unique_id.clone()))
        .or(entry.as_ref().map(|e| e.unique_id.clone()))
        .unwrap_or_else(|| "record_id".into());
    let truth_col = if truth {
        let t = match (&a.truth, model) {
            (Some(t), _) => Some(t.clone()),
            (None, Some(m)) => m.truth.clone(),
            (None, None) => entry
                .as_ref()
                .map(|e| e.truth.clone())
                .or(Some("entity_id".into())),
        };
        if t.is_none() {
            bail!(
                "the model sets truth = \"\" (no truth column); give --truth COLUMN to evaluate against one, or --labels"
            );
        }
        t
    } else {
        None
    };
    Ok((
        InputSpec {
            paths,
            descriptions,
            unique_id,
            truth: truth_col,
            ..InputSpec::default()
        },
        entry,
    ))
}

pub fn run(a: Args) -> anyhow::Result<()> {
    check_probability("--threshold", a.threshold)?;
    let model = run_model(&a)?;
    let pairs = read_pairs(&a.pairs)?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| a.pairs.parent().map(PathBuf::from).unwrap_or_default());
    let estimated = evaluation::estimated_errors_of(&pairs, a.threshold);
    let (doc, prf) = if let Some(labels) = &a.labels {
        let path = labels;
        let labels = evaluation::read_labels(path)?;
        // With inputs given, every labelled record must be one of them (a typo in an id would
        // otherwise count silently as an unscored pair).
        if a.input.dataset.is_some() || !a.input.input.is_empty() {
            let (spec, _) = input_spec(&a, model.as_ref(), false)?;
            let ds = read_csv_files(&spec, &Progress::default())?;
            evaluation::check_labels_known(&ds, &labels, path)?;
        }
        let e = evaluation::against_labels(&labels, &pairs, a.threshold);
        let prf = [e.precision, e.recall, e.f1];
        (serde_json::to_value(&e)?, prf)
    } else {
        let (spec, entry) = input_spec(&a, model.as_ref(), true)?;
        let link_type = a
            .link_type
            .or(model.as_ref().map(|m| m.link_type))
            .or(entry.as_ref().map(|e| e.task))
            .unwrap_or(if spec.paths.len() > 1 {
                LinkType::Link
            } else {
                LinkType::Dedupe
            });
        let truth_col = spec.truth.clone().unwrap_or_default();
        let ds = read_csv_files(&spec, &Progress::default())?;
        let e =
            evaluation::against_truth(&ds, link_type, &pairs, &a.pairs, &truth_col, a.threshold)?;
        let prf = [e.precision, e.recall, e.f1];
        (serde_json::to_value(&e)?, prf)
    };
    let mut stage = Staged::new(&out)?;
    stage.write("evaluation.json", |w| write_json(w, &doc))?;
    let written = stage.commit()?;
    for (k, v) in ["precision", "recall", "f1"].iter().zip(prf) {
        println!("{k:<10} {v:.4}");
    }
    println!(
        "estimated FDR {:.4}  FNR {:.4}; wrote {}",
        estimated.false_discovery_rate,
        estimated.false_negative_rate,
        written[0].display()
    );
    Ok(())
}
