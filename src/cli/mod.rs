//! Subcommands; each file holds one command's `Args` and `run`.

mod cluster;
mod common;
mod config;
mod datasets;
#[cfg(feature = "distributed")]
mod engine;
mod evaluate;
mod experiment;
mod explain;
mod generate;
mod link;
mod paper;
mod patterns;
mod predict;
mod serve;
mod store;
mod train;
mod view;

use clap::{Parser, Subcommand};

/// fellegi: probabilistic record linkage (Fellegi–Sunter with EM-estimated m and u).
#[derive(Debug, Parser)]
#[command(name = "fellegi", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train, predict, cluster and evaluate in one run.
    Link(link::Args),
    /// Fit a model (λ, m, u) and write model.json.
    Train(train::Args),
    /// Score candidate pairs with a fitted model and write pairs.csv.
    Predict(predict::Args),
    /// Cluster scored pairs at a threshold and write clusters.csv.
    Cluster(cluster::Args),
    /// Explain one pair's match weight, term by term.
    Explain(explain::Args),
    /// Write the pattern table of a run: pattern, count, weight, posterior (and truth counts).
    Patterns(patterns::Args),
    /// Review pages of a run: the comparison viewer (patterns) and the cluster studio.
    View {
        #[command(subcommand)]
        command: view::Command,
    },
    /// Write the labelling tool of a run (label.html): pairs one at a time, labels exported as
    /// a Splink-style labels.csv.
    Label(view::LabelArgs),
    /// Write the Fellegi–Sunter lab of a run (lab.html): sliders for λ, m, u, the threshold
    /// and the clerical band, with every number recomputed live.
    Lab(view::LabArgs),
    /// Evaluate a pairs.csv against the truth or clerical labels.
    Evaluate(evaluate::Args),
    /// Generate synthetic records with known truth.
    Generate(generate::Args),
    /// List and describe the shipped datasets.
    Datasets {
        #[command(subcommand)]
        command: datasets::Command,
    },
    /// Run experiments and report their status.
    Experiment {
        #[command(subcommand)]
        command: experiment::Command,
    },
    /// Build the paper's tables and constants from committed results.
    Paper {
        #[command(subcommand)]
        command: paper::Command,
    },
    /// An incremental store: create, info, verify, export, add.
    Store {
        #[command(subcommand)]
        command: store::Command,
    },
    /// Serve a store over HTTP: match, insert, look up records and clusters.
    Serve(serve::Args),
    /// Settings tools.
    Config {
        #[command(subcommand)]
        command: config::Command,
    },
    /// Start a Ballista scheduler or executor for `fellegi link --engine` (feature `distributed`).
    #[cfg(feature = "distributed")]
    Engine {
        #[command(subcommand)]
        command: engine::Command,
    },
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Link(a) => link::run(a),
        Command::Train(a) => train::run(a),
        Command::Predict(a) => predict::run(a),
        Command::Cluster(a) => cluster::run(a),
        Command::Config { command } => config::run(command),
        Command::Store { command } => store::run(command),
        Command::Serve(a) => serve::run(a),
        Command::Generate(a) => generate::run(a),
        Command::Evaluate(a) => evaluate::run(a),
        Command::Explain(a) => explain::run(a),
        Command::Patterns(a) => patterns::run(a),
        Command::View { command } => view::run(command),
        Command::Label(a) => view::run_label(a),
        Command::Lab(a) => view::run_lab(a),
        Command::Experiment { command } => experiment::run(command),
        Command::Paper { command } => paper::run(command),
        Command::Datasets { command } => datasets::run(command),
        #[cfg(feature = "distributed")]
        Command::Engine { command } => engine::run(command),
    }
}
