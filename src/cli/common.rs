//! Arguments shared by several subcommands, turned into validated values before any work starts.

use std::path::PathBuf;

use anyhow::{Context, bail};
use fellegi::registry::{DatasetEntry, Registry};
use fellegi::settings::Settings;

/// Where the records come from.
#[derive(Debug, clap::Args)]
pub struct InputArgs {
    /// A shipped dataset by name (e.g. febrl4); see datasets/registry.toml.
    #[arg(long, conflicts_with = "input")]
    pub dataset: Option<String>,
    /// An input CSV file (repeat for several sources); `link` and `train` then need --settings,
    /// the other commands read the model's.
    #[arg(long = "input", short = 'i')]
    pub input: Vec<PathBuf>,
    /// Folder holding registry.toml (default: $FELLEGI_DATA, else the source tree's datasets/).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// Seed, threads, quiet.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Seed for every random choice; overrides `training.u.seed` in the settings [default: the
    /// settings' `training.u.seed`, else 42].
    #[arg(long, allow_negative_numbers = true)]
    pub seed: Option<u64>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bars.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

impl RunArgs {
    /// Sets up the thread pool and returns the progress settings.
    pub fn setup(&self) -> anyhow::Result<fellegi::progress::Progress> {
        if let Some(n) = self.threads {
            if n == 0 {
                bail!("--threads must be at least 1");
            }
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build_global()
                .context("could not start the thread pool")?;
        }
        Ok(fellegi::progress::Progress {
            enabled: !self.quiet,
            cancel: None,
        })
    }
}

/// Inputs resolved: files, the dataset entry (if any) and a name for the default output folder.
pub struct Resolved {
    pub paths: Vec<PathBuf>,
    pub entry: Option<DatasetEntry>,
    pub name: String,
    pub registry_settings: Option<PathBuf>,
}

impl InputArgs {
    /// Resolves `--dataset` or `--input`, or (neither given) the `[[input]]` files of the
    /// settings at `settings`: then the paths are left empty for [`fellegi::pipeline::load`]
    /// to take from the settings, and the name is the settings file's stem.
    pub fn resolve_or_settings(&self, settings: Option<&PathBuf>) -> anyhow::Result<Resolved> {
        if let (None, true, Some(s)) = (&self.dataset, self.input.is_empty(), settings) {
            return Ok(Resolved {
                paths: Vec::new(),
                entry: None,
                name: fellegi::data::stem_of(s),
                registry_settings: None,
            });
        }
        self.resolve()
    }

    /// Resolves `--dataset` or `--input`.
    pub fn resolve(&self) -> anyhow::Result<Resolved> {
        if let Some(name) = &self.dataset {
            let reg = Registry::load(self.data_dir.as_deref())?;
            let e = reg.get(name)?.clone();
            return Ok(Resolved {
                paths: reg.files(&e),
                name: e.name.clone(),
                registry_settings: Some(reg.settings_path(&e)),
                entry: Some(e),
            });
        }
        if self.input.is_empty() {
            bail!(
                "no input: give --dataset NAME, --input FILE.csv (repeat --input for several sources), or --settings with [[input]] paths"
            );
        }
        let name = fellegi::data::stem_of(&self.input[0]);
        Ok(Resolved {
            paths: self.input.clone(),
            entry: None,
            name,
            registry_settings: None,
        })
    }
}

/// Loads settings from `--settings`, else the dataset's defaults; returns them expanded.
pub fn load_settings(explicit: Option<&PathBuf>, resolved: &Resolved) -> anyhow::Result<Settings> {
    let path = match (explicit, &resolved.registry_settings) {
        (Some(p), _) => p.clone(),
        (None, Some(p)) => p.clone(),
        (None, None) => {
            bail!("--input needs --settings SETTINGS.toml (shipped datasets have default settings)")
        }
    };
    let s = Settings::from_path(&path)?;
    let origin = path.display().to_string();
    Ok(s.expanded(&origin)?)
}

pub use fellegi::output::thousands;
