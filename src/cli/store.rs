//! `fellegi store ...`: create, inspect, verify, export and add to an incremental store.

use std::path::PathBuf;

use anyhow::bail;
use fellegi::settings::Settings;
use fellegi::store::{self, Store, StoreOptions};

use super::common::{InputArgs, RunArgs};

/// The store subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Link the inputs with a fitted model and write a new store.
    Create(CreateArgs),
    /// Print a store's summary.
    Info {
        /// The store folder.
        store: PathBuf,
        /// Print JSON instead of one line.
        #[arg(long)]
        json: bool,
    },
    /// Check a store's checksums and consistency; exit 2 when it is damaged.
    Verify {
        /// The store folder.
        store: PathBuf,
    },
    /// Write pairs.csv, clusters.csv (stable cluster ids) and changes.csv.
    Export {
        /// The store folder.
        store: PathBuf,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
    },
    /// Link new records against the store with its model and update the clusters.
    Add(AddArgs),
    /// Re-score and re-cluster every record (after a model change), keeping an id wherever its
    /// cluster survives; writes the old → new id mapping into the store.
    Recluster {
        /// The store folder.
        store: PathBuf,
        /// The new fitted model (default: the stored one).
        #[arg(long)]
        model: Option<PathBuf>,
        #[command(flatten)]
        run: RunArgs,
    },
}

/// Arguments of `fellegi store create`.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The fitted model (model.json from `fellegi train` or `fellegi link`).
    #[arg(long)]
    model: PathBuf,
    #[command(flatten)]
    input: InputArgs,
    /// The store folder to create (new or empty).
    #[arg(long)]
    out: PathBuf,
    /// Keep pairs with at least this match probability.
    #[arg(long, default_value_t = store::DEFAULT_MIN_PROBABILITY, allow_negative_numbers = true)]
    min_probability: f64,
    /// Link pairs with at least this match probability into clusters.
    #[arg(long, default_value_t = store::DEFAULT_THRESHOLD, allow_negative_numbers = true)]
    threshold: f64,
    #[command(flatten)]
    run: RunArgs,
}

/// Arguments of `fellegi store add`.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// The store folder.
    store: PathBuf,
    /// CSV files of new records (read as the model reads inputs).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Link and link_and_dedupe stores: the source the records belong to (new or existing;
    /// default each file's source name).
    #[arg(long)]
    source: Option<String>,
    #[command(flatten)]
    run: RunArgs,
}

/// Runs a store subcommand.
pub fn run(c: Command) -> anyhow::Result<()> {
    match c {
        Command::Create(a) => {
            let progress = a.run.setup()?;
            let resolved = a.input.resolve()?;
            let model = Settings::from_path(&a.model)?;
            let opts = StoreOptions {
                min_probability: a.min_probability,
                threshold: a.threshold,
            };
            let origin = a.model.display().to_string();
            store::create(&model, &origin, &resolved.paths, opts, &a.out, &progress)?;
            let s = Store::open(&a.out)?;
            println!("{}", store::describe(&s.info()));
        }
        Command::Info { store, json } => {
            let s = Store::open(&store)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s.info())?);
            } else {
                println!("{}", store::describe(&s.info()));
            }
        }
        Command::Verify { store } => {
            let v = store::verify(&store);
            for (f, n) in &v.trailing {
                println!(
                    "note: {f} has {n} bytes past its committed end (an add that did not finish); they are ignored and the next add removes them"
                );
            }
            if !v.ok() {
                for e in &v.errors {
                    eprintln!("error: {e}");
                }
                bail!(
                    "store {} is damaged ({} problems)",
                    store.display(),
                    v.errors.len()
                );
            }
            println!(
                "ok: store {} generation {} verified (checksums and contents)",
                store.display(),
                v.generation.unwrap_or(0)
            );
        }
        Command::Export { store, out } => {
            let s = Store::open(&store)?;
            let written = s.export(&out)?;
            for w in written {
                println!("wrote {}", w.display());
            }
        }
        Command::Add(a) => {
            let progress = a.run.setup()?;
            let t = std::time::Instant::now();
            let mut s = Store::open(&a.store)?;
            let opened = t.elapsed().as_secs_f64();
            let recs = s.read_new(&a.files, a.source.as_deref(), &progress)?;
            let sum = s.add(&recs)?;
            println!(
                "added {} records (generation {}): {} candidate pairs, {} kept, {} new clusters, {} clusters merged; {:.3} s ({:.3} s opening the store)",
                sum.records,
                sum.generation,
                sum.candidates,
                sum.pairs,
                sum.new_clusters,
                sum.merged_clusters,
                t.elapsed().as_secs_f64(),
                opened
            );
        }
        Command::Recluster { store, model, run } => {
            let progress = run.setup()?;
            let mut s = Store::open(&store)?;
            let new = match &model {
                Some(p) => Some((Settings::from_path(p)?, p.display().to_string())),
                None => None,
            };
            let sum = s.recluster(new.as_ref().map(|(m, o)| (m, o.as_str())), &progress)?;
            println!(
                "reclustered (generation {}): {} pairs, {} clusters ({} kept their id, {} new ids), {} records changed id; mapping in {}",
                sum.generation,
                sum.pairs,
                sum.clusters,
                sum.kept_ids,
                sum.new_ids,
                sum.moved_records,
                store.join(&sum.mapping).display()
            );
        }
    }
    Ok(())
}
