//! Links FEBRL4 (5,000 + 5,000 records) through the library and prints precision, recall and F1.
//!
//! Run with `cargo run --release --example link_febrl4`.

use fellegi::pipeline::{self, Job};
use fellegi::progress::Progress;
use fellegi::registry::Registry;
use fellegi::settings::Settings;

fn main() -> Result<(), fellegi::Error> {
    // The shipped dataset: its two CSV files and its default settings.
    let registry = Registry::load(None)?;
    let febrl4 = registry.get("febrl4")?;
    let settings = Settings::from_path(&registry.settings_path(febrl4))?.expanded("febrl4")?;

    // Read and clean the inputs, then run the whole job: train, score, decide, cluster, evaluate.
    let progress = Progress::default();
    let ds = pipeline::load(&settings, &registry.files(febrl4), &progress)?;
    let mut job = Job::new(settings);
    job.seed = Some(42);
    let run = job.run(&ds, &progress)?;

    println!("lambda    {:.6e}", run.fitted.params.lambda);
    println!(
        "pairs     {} scored, {} linked",
        run.pairs.len(),
        run.decisions.accepted.len()
    );
    let m = run.metrics.expect("FEBRL4 has a truth column");
    println!("precision {:.4}", m.precision);
    println!("recall    {:.4}", m.recall);
    println!("F1        {:.4}", m.f1);
    Ok(())
}
