//! Typed errors of the library. Every variant says what is wrong, where (file and line, or the
//! settings key path) and what to do about it. The CLI maps all of them to exit code 2.

use std::path::PathBuf;

/// Everything that can go wrong in fellegi's library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be opened, read or written.
    #[error("cannot read or write {path}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A CSV input is malformed (ragged row, not UTF-8, no header, oversized field, ...).
    #[error("{path}:{line}: {message}")]
    Csv {
        /// The CSV file.
        path: PathBuf,
        /// 1-based line number (the header is line 1).
        line: u64,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// An input file is unusable as a whole (empty, missing a column, duplicate ids, ...).
    #[error("{path}: {message}")]
    Input {
        /// The file involved.
        path: PathBuf,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The settings (TOML or model JSON) are invalid; `key` is the dotted key path.
    #[error("settings {origin}: key `{key}`: {message}")]
    Settings {
        /// Where the settings came from (a file path, or a dataset's built-in settings).
        origin: String,
        /// Dotted path of the offending key, e.g. `comparison[2].levels[1].predicate`.
        key: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A settings or model file could not be parsed at all.
    #[error("settings {origin}: {message}")]
    Parse {
        /// Where the settings came from.
        origin: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A value given to the library is out of range or inconsistent: a run option (a
    /// command-line flag or its [`crate::pipeline::Job`] field), a generator or comparison-vector
    /// spec. `what` names it (e.g. `--threshold`, `vector spec`); the message says how to fix it.
    #[error("{message}")]
    Invalid {
        /// The option or spec, e.g. `--min-probability`.
        what: String,
        /// What is wrong and how to fix it (it names `what`).
        message: String,
    },
    /// The inputs cannot support what was asked of them (no admissible pairs, no truth column
    /// for the oracle, a record that is not there, ...).
    #[error("{0}")]
    Data(String),
    /// A chart could not be drawn (invalid data, size, format); I/O failures are [`Error::Io`].
    #[error("chart: {0}")]
    Plot(String),
    /// The run was stopped through its cancellation flag ([`crate::progress::Progress::cancel`])
    /// between two phases; nothing was written.
    #[error("the run was cancelled")]
    Cancelled,
    /// An internal invariant does not hold: a bug in fellegi, never a problem with the input.
    #[error("internal error: {0}; please report it with the command that caused it")]
    Internal(String),
    /// The distributed engine (feature `distributed`, Apache DataFusion Ballista) failed: it
    /// could not be reached, a query failed, or its results are inconsistent; the message names
    /// the engine address and what to check.
    #[error("distributed engine: {0}")]
    Engine(String),
    /// A named dataset is unknown, missing or fails its checksum.
    #[error("dataset {name}: {message}")]
    Dataset {
        /// The dataset name as given.
        name: String,
        /// What is wrong and how to fix it.
        message: String,
    },
}

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Builds an [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Builds an [`Error::Invalid`] for the option or spec `what`.
    pub fn invalid(what: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid {
            what: what.into(),
            message: message.into(),
        }
    }

    /// Builds an [`Error::Settings`].
    pub fn settings(origin: &str, key: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Settings {
            origin: origin.to_string(),
            key: key.into(),
            message: message.into(),
        }
    }
}
