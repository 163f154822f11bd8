//! Experiments: specs in `experiments/<id>/experiment.toml`, expanded into tasks (dataset ×
//! variant × seed), each run by the `fellegi` binary itself, with one result JSON per task under
//! `paper/results/<id>/` (or `target/quick-results/<id>/` with `--quick`). Runs resume: a task
//! whose result exists with the same spec hash and status `ok` is not run again. Failures are
//! results too (`status = "error"`). [`runner`] runs the tasks; [`TaskResult`] is a result file.
//!
//! An experiment whose spec has no `[[task]]` is *external* (e.g. a side-by-side benchmark with its
//! own `run.sh`): it is listed by `fellegi experiment status` but not run by `--all`.

use std::path::{Path, PathBuf};

pub mod figures;
pub mod paper;
pub mod result;
pub mod runner;
pub mod summary;

pub use result::TaskResult;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One task group of an experiment: a dataset (or inputs) with settings and options, over seeds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    /// Name of this task group, e.g. `default-settings` or a method. Groups may share a name
    /// (e.g. one method on two dataset series that need different settings) as long as no
    /// task key `<name>/<dataset>/seed-<n>` repeats.
    pub name: String,
    /// Shipped dataset names; one task per dataset.
    #[serde(default)]
    pub datasets: Vec<String>,
    /// Settings file relative to the experiment folder; default: each dataset's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<String>,
    /// Seeds; one task per seed. Default `[42]`.
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    /// Extra `fellegi link` arguments, e.g. `["--one-to-one", "greedy"]`.
    #[serde(default)]
    pub args: Vec<String>,
    /// Generated inputs instead of shipped datasets: one task per entity count (and seed),
    /// made by `fellegi generate` and linked with `settings` (required then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate: Option<GenerateSpec>,
}

/// Data a task generates with `fellegi generate` before linking.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateSpec {
    /// Entity counts; one task per count.
    pub entities: Vec<u64>,
    /// Difficulty preset (`low`, `medium`, `high`), or a list of them (one task per preset);
    /// default `medium`.
    #[serde(default)]
    pub preset: Presets,
    /// Extra `fellegi generate` arguments, e.g. `["--sources", "2", "--overlap", "0.5"]`.
    /// Every CSV file it writes becomes an input of the link run, in name order.
    #[serde(default)]
    pub args: Vec<String>,
}

/// One preset or several (`preset = "high"` or `preset = ["low", "medium", "high"]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Presets {
    /// One preset.
    One(String),
    /// Several presets, in task order.
    Many(Vec<String>),
}

impl Default for Presets {
    fn default() -> Self {
        Presets::One("medium".into())
    }
}

impl Presets {
    /// The presets, in order.
    pub fn list(&self) -> Vec<String> {
        match self {
            Presets::One(p) => vec![p.clone()],
            Presets::Many(v) => v.clone(),
        }
    }
}

/// What a generated task makes with `fellegi generate` before linking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateTask {
    /// Number of entities.
    pub entities: u64,
    /// Difficulty preset.
    pub preset: String,
    /// Extra `fellegi generate` arguments.
    pub args: Vec<String>,
}

fn default_seeds() -> Vec<u64> {
    vec![42]
}

/// A published number the experiment checks, with its tolerance and source.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    /// Task (`<group>/<dataset>/seed-<n>`) whose result holds the number.
    pub task: String,
    /// JSON pointer into the result, e.g. `/params/lambda` or `/metrics/f1`.
    pub pointer: String,
    /// The published value.
    pub value: f64,
    /// Allowed absolute difference.
    pub tolerance: f64,
    /// Where the number comes from.
    pub source: String,
}

/// An experiment spec (`experiment.toml`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExperimentSpec {
    /// Identifier; starts with its dataset's name (e.g. `febrl4-splink-demo`).
    pub id: String,
    /// What it reproduces or asks.
    #[serde(default)]
    pub question: String,
    /// Task groups; none means an external experiment.
    #[serde(default, rename = "task")]
    pub tasks: Vec<TaskSpec>,
    /// Published numbers checked against the results.
    #[serde(default)]
    pub expected: Vec<Expected>,
    /// Any other keys (documentation for external experiments).
    #[serde(flatten)]
    pub other: toml::Table,
}

/// One concrete task.
#[derive(Debug, Clone)]
pub struct Task {
    /// `<group>/<dataset>/seed-<n>`.
    pub key: String,
    /// The dataset.
    pub dataset: String,
    /// Settings file, if not the dataset's default.
    pub settings: Option<PathBuf>,
    /// The seed.
    pub seed: u64,
    /// Extra link arguments.
    pub args: Vec<String>,
    /// Generate the inputs instead of loading a dataset.
    pub generate: Option<GenerateTask>,
}

/// A loaded experiment.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// Its folder.
    pub dir: PathBuf,
    /// The spec.
    pub spec: ExperimentSpec,
    /// SHA-256 of experiment.toml and every settings file it names.
    pub spec_hash: String,
}

impl Experiment {
    /// Loads `dir/experiment.toml`.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Parse`] with the file, or [`Error::Settings`] for a task naming a
    /// missing settings file or no dataset.
    pub fn load(dir: &Path) -> Result<Experiment> {
        let path = dir.join("experiment.toml");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let spec: ExperimentSpec = toml::from_str(&text).map_err(|e| Error::Parse {
            origin: path.display().to_string(),
            message: e.to_string(),
        })?;
        let mut hashed = text.into_bytes();
        for (i, t) in spec.tasks.iter().enumerate() {
            if t.generate.is_some() && t.settings.is_none() {
                return Err(Error::settings(
                    &path.display().to_string(),
                    format!("task[{i}].settings"),
                    "a task with `generate` needs `settings` for the generated files",
                ));
            }
            if t.datasets.is_empty() && t.generate.is_none() {
                return Err(Error::settings(
                    &path.display().to_string(),
                    format!("task[{i}].datasets"),
                    "name at least one shipped dataset",
                ));
            }
            if let Some(s) = &t.settings {
                let p = dir.join(s);
                let b = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
                hashed.extend_from_slice(&b);
            }
        }
        let exp = Experiment {
            dir: dir.to_path_buf(),
            spec_hash: crate::data::hex_sha256(&hashed),
            spec,
        };
        let mut seen = std::collections::BTreeSet::new();
        for t in exp.tasks(false) {
            if !seen.insert(t.key.clone()) {
                return Err(Error::settings(
                    &path.display().to_string(),
                    "task",
                    format!(
                        "task `{}` is defined twice: give the groups different names or datasets",
                        t.key
                    ),
                ));
            }
        }
        Ok(exp)
    }

    /// Whether it has tasks the runner executes.
    pub fn is_runnable(&self) -> bool {
        !self.spec.tasks.is_empty()
    }

    /// The concrete tasks, in spec order; `quick` keeps only each group's first seed and, for
    /// generated data, its first entity count (every preset).
    pub fn tasks(&self, quick: bool) -> Vec<Task> {
        let mut out = Vec::new();
        for g in &self.spec.tasks {
            let seeds = if quick {
                &g.seeds[..g.seeds.len().min(1)]
            } else {
                &g.seeds[..]
            };
            if let Some(spec_gen) = &g.generate {
                let counts = if quick {
                    &spec_gen.entities[..spec_gen.entities.len().min(1)]
                } else {
                    &spec_gen.entities[..]
                };
                for preset in spec_gen.preset.list() {
                    for &n in counts {
                        for &seed in seeds {
                            out.push(Task {
                                key: format!("{}/generated-{}-{}/seed-{}", g.name, preset, n, seed),
                                dataset: format!("generated-{preset}-{n}"),
                                settings: g.settings.as_ref().map(|s| self.dir.join(s)),
                                seed,
                                args: g.args.clone(),
                                generate: Some(GenerateTask {
                                    entities: n,
                                    preset: preset.clone(),
                                    args: spec_gen.args.clone(),
                                }),
                            });
                        }
                    }
                }
                continue;
            }
            for d in &g.datasets {
                let seeds = if quick {
                    &g.seeds[..g.seeds.len().min(1)]
                } else {
                    &g.seeds[..]
                };
                for &seed in seeds {
                    out.push(Task {
                        key: format!("{}/{}/seed-{}", g.name, d, seed),
                        dataset: d.clone(),
                        settings: g.settings.as_ref().map(|s| self.dir.join(s)),
                        seed,
                        args: g.args.clone(),
                        generate: None,
                    });
                }
            }
        }
        out
    }
}

/// All experiment folders (those with an experiment.toml) under `root`, sorted by name.
///
/// # Errors
/// [`Error::Io`] if `root` cannot be listed.
pub fn discover(root: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root)
        .map_err(|e| Error::io(root, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("experiment.toml").is_file())
        .collect();
    v.sort();
    Ok(v)
}

/// File name of a task's result.
pub fn result_file(results: &Path, exp: &str, task: &Task) -> PathBuf {
    results
        .join(exp)
        .join(format!("{}.json", task.key.replace('/', "__")))
}
