//! `fellegi generate`: synthetic person records with known truth (see `docs/generator.md`).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::bail;
use fellegi::synth::records::{
    ConfigFile, DuplicateDistribution, GeneratorConfig, Lookups, Preset, write_dir,
};

use super::common::{RunArgs, thousands};

/// Arguments of `fellegi generate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of entities (overrides the config file; default 1000).
    #[arg(long, allow_negative_numbers = true)]
    entities: Option<i64>,
    /// Difficulty preset: low, medium or high (default: the config file's, else medium).
    #[arg(long)]
    preset: Option<String>,
    /// Duplicates per entity: poisson, uniform (on 0..=max) or zipf (default poisson).
    #[arg(long)]
    duplicates: Option<String>,
    /// Mean duplicates per entity (default 0.7; not for uniform, whose mean is max/2).
    #[arg(long, allow_negative_numbers = true)]
    mean_duplicates: Option<f64>,
    /// Most duplicates per entity (default 5).
    #[arg(long, allow_negative_numbers = true)]
    max_duplicates: Option<i64>,
    /// Number of output sources (files), 1 to 26 (default 1). Duplicates are still drawn per
    /// entity, so each file also holds duplicates within itself (true pairs within files) unless
    /// --mean-duplicates 0; with --overlap, entities then appear across the files.
    #[arg(long, allow_negative_numbers = true)]
    sources: Option<i64>,
    /// Share of entities in two or more sources (default 0).
    #[arg(long, allow_negative_numbers = true)]
    overlap: Option<f64>,
    /// Add a phone_number column.
    #[arg(long)]
    phone_number: bool,
    /// Lookup tables folder (default: the source tree's datasets/generator-lookups).
    #[arg(long)]
    lookups: Option<PathBuf>,
    /// TOML config overriding the preset (see docs/generator.md).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output folder: records.csv (or source_a.csv, source_b.csv, ...) and generate.json.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    run: RunArgs,
}

/// Builds the effective configuration: preset, then the config file, then flags.
fn config(a: &Args) -> anyhow::Result<GeneratorConfig> {
    let file = match &a.config {
        Some(p) => ConfigFile::load(p)?,
        None => ConfigFile::default(),
    };
    let origin = a
        .config
        .as_ref()
        .map_or("command line".to_string(), |p| p.display().to_string());
    let preset = match &a.preset {
        Some(s) => s.parse::<Preset>()?,
        None => file.preset.unwrap_or(Preset::Medium),
    };
    let mut cfg = GeneratorConfig::new(preset);
    file.apply(&mut cfg, &origin)?;
    cfg.seed = a.run.seed.unwrap_or(fellegi::pipeline::DEFAULT_SEED);
    if let Some(n) = a.entities {
        if n < 1 {
            bail!("--entities must be at least 1, got {n}");
        }
        cfg.entities = n as u64;
    }
    if let Some(d) = &a.duplicates {
        cfg.duplicates.distribution = d.parse::<DuplicateDistribution>()?;
    }
    if let Some(m) = a.max_duplicates {
        if !(0..=1000).contains(&m) {
            bail!("--max-duplicates must be 0 to 1000, got {m}");
        }
        cfg.duplicates.max = m as u32;
    }
    if let Some(m) = a.mean_duplicates {
        if cfg.duplicates.distribution == DuplicateDistribution::Uniform {
            bail!(
                "--mean-duplicates does not apply to --duplicates uniform (its mean is max/2); set --max-duplicates"
            );
        }
        if !(m.is_finite() && m >= 0.0) {
            bail!("--mean-duplicates must be a non-negative number, got {m}");
        }
        cfg.duplicates.mean = m;
    }
    if cfg.duplicates.distribution == DuplicateDistribution::Uniform {
        cfg.duplicates.mean = cfg.duplicates.max as f64 / 2.0;
    }
    if let Some(k) = a.sources {
        if !(1..=26).contains(&k) {
            bail!("--sources must be 1 to 26, got {k}");
        }
        cfg.sources.count = k as usize;
    }
    if let Some(o) = a.overlap {
        if !(0.0..=1.0).contains(&o) {
            bail!("--overlap must be a share in [0, 1], got {o}");
        }
        if cfg.sources.count < 2 && o > 0.0 {
            bail!("--overlap needs --sources 2 or more");
        }
        cfg.sources.overlap = o;
    }
    if a.phone_number {
        cfg.phone_number = true;
    }
    cfg.validate(&origin)?;
    Ok(cfg)
}

pub fn run(a: Args) -> anyhow::Result<()> {
    // Everything is validated before the output folder is touched.
    let cfg = config(&a)?;
    let progress = a.run.setup()?;
    let dir = a.lookups.clone().unwrap_or_else(Lookups::default_dir);
    let lookups = Lookups::load(&dir)?;
    let t0 = Instant::now();
    let bar = progress.bar(cfg.entities, "generating entities");
    let (report, written) = write_dir(&cfg, &lookups, &a.out, &mut |n| bar.set_position(n))?;
    bar.finish_and_clear();
    progress.phase("generate", t0);
    let s = &report.summary;
    println!(
        "fellegi generate: {} entities, {} records, preset {}, seed {}",
        thousands(s.entities),
        thousands(s.records),
        cfg.preset.name(),
        cfg.seed
    );
    for f in &s.files {
        println!("  {:<16} {} records", f.file, thousands(f.records));
    }
    println!(
        "  true pairs        {} within files, {} across files",
        thousands(s.true_pairs.within_files),
        thousands(s.true_pairs.across_files)
    );
    if cfg.sources.count > 1 {
        println!(
            "  overlap           {:.4} of entities in two or more sources",
            s.overlap_realised
        );
    }
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
