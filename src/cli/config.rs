//! `fellegi config`: settings tools — `expand` prints settings with every level explicit;
//! `import-splink` and `export-splink` convert Splink 5 settings and models (see
//! [`fellegi::interop::splink`]).

use std::path::{Path, PathBuf};

use fellegi::interop::splink;
use fellegi::output::{Staged, write_json};
use fellegi::settings::Settings;

/// Settings subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print the settings with every builder expanded into explicit levels (TOML).
    Expand {
        /// Settings TOML (or model JSON).
        file: PathBuf,
    },
    /// Convert a Splink 5 settings or trained-model JSON to fellegi settings (a fitted model
    /// when the JSON carries m and u on every level).
    ImportSplink {
        /// The Splink settings or model JSON (e.g. from `linker.misc.save_model_to_json`).
        file: PathBuf,
        /// Output file: TOML, or a model JSON when it ends in `.json`; written only when
        /// complete. Default: TOML on stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Convert fellegi settings or a fitted model (model.json) to a Splink 5 settings JSON
    /// that Splink's `Linker` loads (with m, u and λ when fitted).
    ExportSplink {
        /// Settings TOML or model JSON.
        file: PathBuf,
        /// Output file, written only when complete. Default: stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Writes `text` to `out` under a temporary name, then renames it into place.
fn write_file(
    out: &Path,
    f: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let name = out
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| anyhow::anyhow!("--out {}: give a file name", out.display()))?;
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut stage = Staged::new(&dir)?;
    stage.write(name, f)?;
    stage.commit()?;
    Ok(())
}

pub fn run(c: Command) -> anyhow::Result<()> {
    match c {
        Command::Expand { file } => {
            let s = Settings::from_path(&file)?;
            let e = s.expanded(&file.display().to_string())?;
            print!("{}", e.to_toml());
            Ok(())
        }
        Command::ImportSplink { file, out } => {
            let text = std::fs::read_to_string(&file).map_err(|e| fellegi::Error::io(&file, e))?;
            let s = splink::settings_from_splink(&text, &file.display().to_string())?;
            match out {
                None => print!("{}", s.to_toml()),
                Some(o) if o.extension().is_some_and(|e| e == "json") => {
                    write_file(&o, |w| write_json(w, &s))?
                }
                Some(o) => write_file(&o, |w| w.write_all(s.to_toml().as_bytes()))?,
            }
            Ok(())
        }
        Command::ExportSplink { file, out } => {
            let s = Settings::from_path(&file)?;
            let json = splink::settings_to_splink(&s).map_err(|e| match e {
                fellegi::Error::Settings { key, message, .. } => fellegi::Error::Settings {
                    origin: file.display().to_string(),
                    key,
                    message,
                },
                e => e,
            })?;
            match out {
                None => print!("{json}"),
                Some(o) => write_file(&o, |w| w.write_all(json.as_bytes()))?,
            }
            Ok(())
        }
    }
}
