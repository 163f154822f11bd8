//! The result of one experiment task, as written to `paper/results/<id>/<task>.json`: provenance
//! (experiment, task, dataset, seed, arguments, spec hash, tool, commit, run time, peak memory),
//! then either what the run fitted and measured (`status = "ok"`) or its error
//! (`status = "error"`).
//!
//! The file is [`TaskResult::to_json`] written with [`crate::output::write_json`]: every object's
//! keys sorted, absent values `null` (a run without a truth column has `"metrics": null`), and an
//! error result without `dataset_sha256`, `params`, `em` and `metrics`.

use serde::{Deserialize, Serialize};

use crate::compare::Predicate;
use crate::eval::LinkMetrics;
use crate::model::{InputDigest, SessionFit};

/// One task's result file.
///
/// Serialised through a flat view of the file ([`TaskResult::to_json`] gives the bytes' sorted
/// keys), not with `#[serde(flatten)]`: a flattened enum would buffer the metrics, whose integer
/// map keys (`clusters.metrics.size_distribution`) serde cannot read back from that buffer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "Wire", try_from = "Wire")]
pub struct TaskResult {
    /// The experiment id.
    pub experiment: String,
    /// The task key, `<group>/<dataset>/seed-<n>`.
    pub task: String,
    /// The dataset (or `generated-<preset>-<n>`).
    pub dataset: String,
    /// The seed of the run.
    pub seed: u64,
    /// The task's extra `fellegi link` arguments.
    pub args: Vec<String>,
    /// SHA-256 of the experiment spec and its settings files ([`super::Experiment::spec_hash`]).
    pub spec_hash: String,
    /// `fellegi <version>` of the runner.
    pub tool: String,
    /// The source tree's commit, `+dirty` when it had changes, or `unknown`.
    pub git_commit: String,
    /// Wall-clock seconds of the run (the link child; generation not included).
    pub runtime_s: f64,
    /// Peak resident memory of the link child in MiB (Linux only; older results lack it).
    pub peak_rss_mb: Option<f64>,
    /// `status` and what goes with it.
    pub outcome: Outcome,
}

/// How a task ended: in the file, its `status` (`ok` or `error`) beside the fields it brings.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The run succeeded (boxed: the metrics are large).
    Ok(Box<Fitted>),
    /// A child failed (or could not be run); the result holds its message.
    Error {
        /// The end (at most 2,000 characters) of the child's standard error, or why it did not
        /// run.
        error: String,
    },
}

/// What a successful run fitted and measured, read from its `model.json` and `metrics.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    /// The inputs' digests (the model's `fit.inputs`); `null` for a model without a fit block.
    pub dataset_sha256: Option<Vec<InputDigest>>,
    /// λ and every level's m and u.
    pub params: Params,
    /// The EM sessions (the model's `fit.sessions`); `null` for a model without a fit block.
    pub em: Option<Vec<SessionFit>>,
    /// The metrics (`metrics.json`); `null` when the inputs have no truth.
    pub metrics: Option<LinkMetrics>,
}

/// The fitted parameters of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// λ; `null` when the model has none.
    pub lambda: Option<f64>,
    /// One entry per comparison, in model order.
    pub comparisons: Vec<ComparisonParams>,
}

/// One comparison's levels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonParams {
    /// The compared column.
    pub column: String,
    /// Its levels, in order.
    pub levels: Vec<LevelParams>,
}

/// One level's predicate and parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelParams {
    /// When the level holds.
    pub predicate: Predicate,
    /// P(level | match); `null` when not fitted (e.g. rules-only runs).
    pub m: Option<f64>,
    /// P(level | non-match); `null` when not fitted.
    pub u: Option<f64>,
}

impl Params {
    /// The parameters of a fitted model.
    pub fn of_model(model: &crate::settings::Settings) -> Params {
        Params {
            lambda: model.lambda,
            comparisons: model
                .comparisons
                .iter()
                .map(|c| ComparisonParams {
                    column: c.column.clone(),
                    levels: c
                        .levels
                        .iter()
                        .map(|l| LevelParams {
                            predicate: l.predicate.clone(),
                            m: l.m,
                            u: l.u,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

impl TaskResult {
    /// Whether the run succeeded.
    pub fn is_ok(&self) -> bool {
        matches!(self.outcome, Outcome::Ok(_))
    }

    /// `ok` or `error`, as in the file.
    pub fn status(&self) -> &'static str {
        match self.outcome {
            Outcome::Ok(_) => "ok",
            Outcome::Error { .. } => "error",
        }
    }

    /// The run's pairwise F1, when it succeeded and had a truth.
    pub fn f1(&self) -> Option<f64> {
        match &self.outcome {
            Outcome::Ok(f) => f.metrics.as_ref().map(|m| m.f1),
            Outcome::Error { .. } => None,
        }
    }

    /// The error message of a failed run.
    pub fn error(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Ok(_) => None,
            Outcome::Error { error } => Some(error),
        }
    }

    /// The result as JSON with every object's keys sorted, as result files are written.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Parses a result file's text.
    ///
    /// # Errors
    /// The parser's message when the text is not JSON or not a task result.
    pub fn from_json(text: &str) -> Result<TaskResult, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// A result's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Ok,
    Error,
}

/// The file's flat shape. The fields of an ok result are present (`null` when empty) and absent
/// from an error result: `Option<Option<_>>`, skipped when the outer option is `None`. Reading
/// back, `null` and absent are both `None`, which [`TaskResult`]'s `TryFrom` maps to `null`.
#[derive(Serialize, Deserialize)]
struct Wire {
    experiment: String,
    task: String,
    dataset: String,
    seed: u64,
    args: Vec<String>,
    spec_hash: String,
    tool: String,
    git_commit: String,
    runtime_s: f64,
    #[serde(default)]
    peak_rss_mb: Option<f64>,
    status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dataset_sha256: Option<Option<Vec<InputDigest>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    params: Option<Params>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    em: Option<Option<Vec<SessionFit>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    metrics: Option<Option<LinkMetrics>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl From<TaskResult> for Wire {
    fn from(r: TaskResult) -> Wire {
        let (status, fitted, error) = match r.outcome {
            Outcome::Ok(f) => (Status::Ok, Some(f), None),
            Outcome::Error { error } => (Status::Error, None, Some(error)),
        };
        let (dataset_sha256, params, em, metrics) = match fitted {
            Some(f) => (
                Some(f.dataset_sha256),
                Some(f.params),
                Some(f.em),
                Some(f.metrics),
            ),
            None => (None, None, None, None),
        };
        Wire {
            experiment: r.experiment,
            task: r.task,
            dataset: r.dataset,
            seed: r.seed,
            args: r.args,
            spec_hash: r.spec_hash,
            tool: r.tool,
            git_commit: r.git_commit,
            runtime_s: r.runtime_s,
            peak_rss_mb: r.peak_rss_mb,
            status,
            dataset_sha256,
            params,
            em,
            metrics,
            error,
        }
    }
}

impl TryFrom<Wire> for TaskResult {
    type Error = String;

    fn try_from(w: Wire) -> Result<TaskResult, String> {
        let outcome = match w.status {
            Status::Ok => Outcome::Ok(Box::new(Fitted {
                dataset_sha256: w.dataset_sha256.flatten(),
                params: w
                    .params
                    .ok_or_else(|| "an ok result without `params`".to_string())?,
                em: w.em.flatten(),
                metrics: w.metrics.flatten(),
            })),
            Status::Error => Outcome::Error {
                error: w.error.unwrap_or_default(),
            },
        };
        Ok(TaskResult {
            experiment: w.experiment,
            task: w.task,
            dataset: w.dataset,
            seed: w.seed,
            args: w.args,
            spec_hash: w.spec_hash,
            tool: w.tool,
            git_commit: w.git_commit,
            runtime_s: w.runtime_s,
            peak_rss_mb: w.peak_rss_mb,
            outcome,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(v: &serde_json::Value) -> Vec<u8> {
        let mut b = Vec::new();
        crate::output::write_json(&mut b, v).unwrap();
        b
    }

    fn base(outcome: Outcome) -> TaskResult {
        TaskResult {
            experiment: "e".into(),
            task: "g/d/seed-1".into(),
            dataset: "d".into(),
            seed: 1,
            args: vec!["--threshold".into(), "0.5".into()],
            spec_hash: "abc".into(),
            tool: "fellegi 0".into(),
            git_commit: "unknown".into(),
            runtime_s: 0.5,
            peak_rss_mb: None,
            outcome,
        }
    }

    #[test]
    fn error_and_untruthed_results_have_todays_shape() {
        let e = base(Outcome::Error {
            error: "boom".into(),
        });
        let v = e.to_json();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "args",
                "dataset",
                "error",
                "experiment",
                "git_commit",
                "peak_rss_mb",
                "runtime_s",
                "seed",
                "spec_hash",
                "status",
                "task",
                "tool"
            ]
        );
        assert_eq!(v["status"], "error");
        assert!(v["peak_rss_mb"].is_null());
        let back: TaskResult = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.f1(), None);

        // An ok run without a truth column: metrics null but present, no error key.
        let ok = base(Outcome::Ok(Box::new(Fitted {
            dataset_sha256: None,
            params: Params {
                lambda: Some(0.25),
                comparisons: vec![ComparisonParams {
                    column: "name".into(),
                    levels: vec![
                        LevelParams {
                            predicate: Predicate::JaroWinklerAtLeast(0.9),
                            m: Some(0.75),
                            u: Some(0.125),
                        },
                        LevelParams {
                            predicate: Predicate::Else,
                            m: None,
                            u: None,
                        },
                    ],
                }],
            },
            em: Some(vec![]),
            metrics: None,
        })));
        let v = ok.to_json();
        assert_eq!(v["status"], "ok");
        assert!(v.get("error").is_none());
        assert!(v.get("metrics").is_some_and(|m| m.is_null()));
        assert!(v.get("dataset_sha256").is_some_and(|m| m.is_null()));
        assert_eq!(
            v["params"]["comparisons"][0]["levels"][0],
            serde_json::json!({"m": 0.75, "predicate": {"jaro_winkler_at_least": 0.9}, "u": 0.125})
        );
        let text = String::from_utf8(bytes(&v)).unwrap();
        let back = TaskResult::from_json(&text).unwrap();
        assert_eq!(back, ok);
        assert_eq!(bytes(&back.to_json()), text.as_bytes());
    }

    /// Every committed result reads back typed and writes back to the same bytes (older files
    /// lack `peak_rss_mb`, which reads as `None` and writes as `null`).
    #[test]
    fn committed_results_round_trip_byte_identically() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("paper/results");
        let Ok(dirs) = std::fs::read_dir(&root) else {
            return;
        };
        let mut n = 0;
        for d in dirs {
            for f in std::fs::read_dir(d.unwrap().path()).unwrap() {
                let p = f.unwrap().path();
                if p.extension().is_none_or(|x| x != "json") {
                    continue;
                }
                let text = std::fs::read_to_string(&p).unwrap();
                let r =
                    TaskResult::from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                let mut v = r.to_json();
                if !text.contains("\"peak_rss_mb\"") {
                    assert!(r.peak_rss_mb.is_none());
                    v.as_object_mut().unwrap().remove("peak_rss_mb");
                }
                assert!(
                    bytes(&v) == text.as_bytes(),
                    "{} does not round-trip",
                    p.display()
                );
                n += 1;
            }
        }
        assert!(n > 0 || !root.exists());
    }
}
