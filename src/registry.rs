//! The registry of shipped datasets (`datasets/registry.toml`) and where to find them.
//!
//! `--dataset NAME` resolves against `--data-dir`, else `$FELLEGI_DATA`, else the source tree's
//! `datasets/`. Loading checks each file's SHA-256 and the record count against the registry.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::data::LinkType;
use crate::error::{Error, Result};

/// One shipped dataset.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetEntry {
    /// Name used with `--dataset`.
    pub name: String,
    /// Link type of its task.
    pub task: LinkType,
    /// Files relative to the data dir, one source each.
    pub files: Vec<String>,
    /// SHA-256 of each file.
    pub sha256: Vec<String>,
    /// Unique-id column.
    pub unique_id: String,
    /// Truth column.
    pub truth: String,
    /// Total records.
    pub records: u64,
    /// Distinct entities.
    pub entities: u64,
    /// True pairs the task admits.
    pub true_pairs: u64,
    /// Licence of the data.
    pub licence: String,
    /// Where the data come from.
    pub source: String,
    /// Default settings, relative to the data dir.
    pub settings: String,
    /// One-line description.
    pub description: String,
}

/// The registry file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    /// The datasets.
    #[serde(rename = "dataset")]
    pub datasets: Vec<DatasetEntry>,
    /// Folder the registry was read from.
    #[serde(skip)]
    pub dir: PathBuf,
}

/// The data dir: `explicit`, else `$FELLEGI_DATA`, else the source tree's `datasets/`.
pub fn candidate_dirs(explicit: Option<&Path>) -> Vec<PathBuf> {
    if let Some(p) = explicit {
        return vec![p.to_path_buf()];
    }
    let mut v = Vec::new();
    if let Some(p) = std::env::var_os("FELLEGI_DATA") {
        v.push(PathBuf::from(p));
    }
    v.push(PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/datasets"
    )));
    v
}

impl Registry {
    /// Loads the registry from the first data dir that has one.
    ///
    /// # Errors
    /// [`Error::Dataset`] listing the places looked at when none has `registry.toml`.
    pub fn load(explicit: Option<&Path>) -> Result<Registry> {
        let dirs = candidate_dirs(explicit);
        for d in &dirs {
            let f = d.join("registry.toml");
            if f.is_file() {
                let text = std::fs::read_to_string(&f).map_err(|e| Error::io(&f, e))?;
                let mut r: Registry = toml::from_str(&text).map_err(|e| Error::Parse {
                    origin: f.display().to_string(),
                    message: e.to_string(),
                })?;
                r.dir = d.clone();
                return Ok(r);
            }
        }
        Err(Error::Dataset {
            name: "registry".into(),
            message: format!(
                "no datasets/registry.toml found; looked in: {}. Pass --data-dir or set FELLEGI_DATA",
                dirs.iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
    }

    /// The entry called `name`.
    ///
    /// # Errors
    /// [`Error::Dataset`] listing the known names.
    pub fn get(&self, name: &str) -> Result<&DatasetEntry> {
        self.datasets
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| Error::Dataset {
                name: name.to_string(),
                message: format!(
                    "unknown dataset; known: {}",
                    self.datasets
                        .iter()
                        .map(|d| d.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
    }

    /// Absolute paths of an entry's files.
    pub fn files(&self, e: &DatasetEntry) -> Vec<PathBuf> {
        e.files.iter().map(|f| self.dir.join(f)).collect()
    }

    /// Absolute path of an entry's default settings.
    pub fn settings_path(&self, e: &DatasetEntry) -> PathBuf {
        self.dir.join(&e.settings)
    }
}

/// Checks loaded sources against the registry entry: SHA-256 of every file, then records,
/// entities and true pairs recomputed from the data.
///
/// # Errors
/// [`Error::Dataset`] saying which file differs and how.
pub fn verify(e: &DatasetEntry, ds: &crate::data::Dataset) -> Result<()> {
    for (s, want) in ds.sources.iter().zip(&e.sha256) {
        if &s.sha256 != want {
            return Err(Error::Dataset {
                name: e.name.clone(),
                message: format!(
                    "{} has SHA-256 {} but the registry expects {want}; the file was changed or damaged: restore it from the repository",
                    s.path.display(),
                    s.sha256
                ),
            });
        }
    }
    let fail = |what: &str, got: u64, want: u64| Error::Dataset {
        name: e.name.clone(),
        message: format!(
            "found {got} {what}, the registry says {want}; the files were changed: restore them from the repository"
        ),
    };
    if ds.len() as u64 != e.records {
        return Err(fail("records", ds.len() as u64, e.records));
    }
    let truth = ds.truth.as_deref().ok_or_else(|| Error::Dataset {
        name: e.name.clone(),
        message: format!("the truth column `{}` is missing", e.truth),
    })?;
    let mut ents: Vec<u32> = truth
        .iter()
        .copied()
        .filter(|&t| t != crate::data::MISSING)
        .collect();
    ents.sort_unstable();
    ents.dedup();
    if ents.len() as u64 != e.entities {
        return Err(fail("entities", ents.len() as u64, e.entities));
    }
    let pairs = crate::data::count_true_pairs(truth, &ds.source_of, ds.sources.len(), e.task);
    if pairs != e.true_pairs {
        return Err(fail("true pairs", pairs, e.true_pairs));
    }
    Ok(())
}
