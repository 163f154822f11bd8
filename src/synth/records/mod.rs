//! Synthetic person records with known truth, in the spirit of FEBRL's dsgen (Christen 2005) and
//! GeCo (Christen & Pudjijono 2009; Tran, Vatsalan & Christen 2013).
//!
//! Each entity gets original values drawn from the shipped frequency tables ([`Lookups`]); it
//! appears in one or more sources ([`SourceSpec`]) and gets a number of duplicates drawn from a
//! [`DuplicateSpec`]. The original goes out unchanged in the first source it appears in; every
//! other record of the entity (its *copies*) is corrupted independently:
//!
//! 1. with probability [`CorruptionSpec::record_rate`] the copy is modified: it gets a uniform
//!    number of modifications in `1..=max_modifications`, each on a different field chosen with
//!    probability proportional to [`FieldSpec::weight`], each of a [`Corruption`] type drawn
//!    from that field's [`FieldSpec::types`] weights; a type that does not apply to the value
//!    (say, a misspelling of a name no table lists) leaves it unchanged and is counted as
//!    skipped;
//! 2. then every field is blanked with probability [`FieldSpec::missing`].
//!
//! The presets ([`Preset`]) fill these in at three difficulty levels; a TOML [`ConfigFile`]
//! overrides any of them. Output is CSV: `record_id`, `entity_id`, then the fields of
//! [`GeneratorConfig::active_fields`], missing values as empty fields. [`generate`] streams into
//! any writers; [`write_dir`] writes the files and `generate.json` into a folder, renamed into
//! place only when complete. See `docs/generator.md` for the presets table and the CLI.
//!
//! # Examples
//!
//! ```
//! use fellegi::synth::records::{GeneratorConfig, Lookups, Preset, generate};
//!
//! let lookups = Lookups::load(&Lookups::default_dir())?;
//! let mut cfg = GeneratorConfig::new(Preset::High);
//! cfg.entities = 200;
//! cfg.sources.count = 2;
//! cfg.sources.overlap = 0.5;
//! let (mut a, mut b) = (Vec::new(), Vec::new());
//! let s = generate(&cfg, &lookups, &mut [&mut a, &mut b])?;
//! assert_eq!(s.files.len(), 2);
//! assert!(s.true_pairs.across_files > 0);
//! # Ok::<(), fellegi::Error>(())
//! ```
//!
//! # References
//! - Christen, P. (2005). Probabilistic data generation for deduplication and data linkage.
//!   *Intelligent Data Engineering and Automated Learning (IDEAL 2005)*, LNCS 3578, 109–116.
//! - Christen, P. & Pudjijono, A. (2009). Accurate synthetic generation of realistic personal
//!   information. *Advances in Knowledge Discovery and Data Mining (PAKDD 2009)*, LNCS 5476,
//!   507–514.
//! - Tran, K.-N., Vatsalan, D. & Christen, P. (2013). GeCo: an online personal data generator
//!   and corruptor. *Proc. 22nd ACM CIKM*, 2473–2476.

mod config;
pub mod corrupt;
mod generator;
pub mod lookups;

use std::io::Write;
use std::path::{Path, PathBuf};

pub use config::{
    ConfigFile, CorruptionFile, CorruptionSpec, DuplicateDistribution, DuplicateSpec,
    DuplicatesFile, Field, FieldFile, FieldSpec, GeneratorConfig, Preset, SourceSpec, SourcesFile,
};
pub use corrupt::Corruption;
pub use generator::{
    BLOCK_ENTITIES, FieldCounts, FileSummary, REFERENCE_YEAR, Summary, TruePairs, generate,
    generate_with_progress,
};
pub use lookups::{FreqTable, Lookups};

use crate::error::{Error, Result};

/// The body of `generate.json`: tool, effective configuration and realised counts (no times or
/// dates, so equal inputs give identical bytes).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// Always `fellegi`.
    pub tool: &'static str,
    /// The crate version.
    pub version: &'static str,
    /// The lookup folder as given.
    pub lookups: String,
    /// Phonetic rules of `lib_phonetic_rules.txt` outside the supported subset (not used).
    pub phonetic_rules_skipped: usize,
    /// The effective configuration.
    pub config: GeneratorConfig,
    /// Realised counts.
    pub summary: Summary,
}

/// Writes the source files ([`SourceSpec::file_names`]) and `generate.json` into `dir` (created
/// if needed). Files are written under temporary names and renamed into place only when all are
/// complete; on error the temporary files are removed.
///
/// # Errors
/// Those of [`generate`]; [`Error::Io`] if the folder or a file cannot be written.
pub fn write_dir(
    cfg: &GeneratorConfig,
    lookups: &Lookups,
    dir: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<(Report, Vec<PathBuf>)> {
    cfg.validate("generator config")?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut names = cfg.sources.file_names();
    names.push("generate.json".into());
    let pid = std::process::id();
    let tmp: Vec<PathBuf> = names
        .iter()
        .map(|n| dir.join(format!(".{n}.tmp-{pid}")))
        .collect();
    let cleanup = |tmp: &[PathBuf]| {
        for t in tmp {
            let _ = std::fs::remove_file(t);
        }
    };
    let res = (|| -> Result<Report> {
        let k = cfg.sources.count;
        let mut files = Vec::with_capacity(k);
        for t in &tmp[..k] {
            let f = std::fs::File::create(t).map_err(|e| Error::io(t, e))?;
            files.push(std::io::BufWriter::with_capacity(1 << 20, f));
        }
        let mut ws: Vec<&mut dyn Write> = files.iter_mut().map(|f| f as &mut dyn Write).collect();
        let summary = generate_with_progress(cfg, lookups, &mut ws, progress).map_err(|e| {
            match e {
                // Name the file rather than the source.
                Error::Io { path, source } => {
                    let s = path.to_string_lossy().trim_matches(['<', '>']).to_string();
                    let i = cfg
                        .sources
                        .names()
                        .iter()
                        .position(|n| *n == s)
                        .unwrap_or(0);
                    Error::io(dir.join(&names[i]), source)
                }
                e => e,
            }
        })?;
        drop(ws);
        for (f, t) in files.into_iter().zip(&tmp) {
            f.into_inner().map_err(|e| Error::io(t, e.into_error()))?;
        }
        let report = Report {
            tool: "fellegi",
            version: env!("CARGO_PKG_VERSION"),
            lookups: lookups.dir.display().to_string(),
            phonetic_rules_skipped: lookups.phonetic_skipped,
            config: cfg.clone(),
            summary,
        };
        let json_tmp = &tmp[k];
        let mut text = serde_json::to_vec_pretty(&report)
            .map_err(|e| Error::io(json_tmp, std::io::Error::other(e)))?;
        text.push(b'\n');
        std::fs::write(json_tmp, text).map_err(|e| Error::io(json_tmp, e))?;
        Ok(report)
    })();
    let report = match res {
        Ok(r) => r,
        Err(e) => {
            cleanup(&tmp);
            return Err(e);
        }
    };
    let mut done = Vec::new();
    for (t, n) in tmp.iter().zip(&names) {
        let fin = dir.join(n);
        if let Err(e) = std::fs::rename(t, &fin) {
            cleanup(&tmp);
            return Err(Error::io(fin, e));
        }
        done.push(fin);
    }
    Ok((report, done))
}
