//! Progress bars on stderr (hidden when stderr is not a terminal or when quiet).

use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::error::{Error, Result};

/// Creates progress bars for the phases of a run, and carries its cancellation flag.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    /// Show bars (default false in the library; the CLI turns them on).
    pub enabled: bool,
    /// When set and raised (by another thread, e.g. on Ctrl-C in Python), the pipeline stops at
    /// its next phase boundary with [`Error::Cancelled`]; default none (never cancelled).
    pub cancel: Option<&'static AtomicBool>,
}

impl Progress {
    /// `Err(Error::Cancelled)` when the run's cancellation flag is raised: the pipeline calls it
    /// between phases (after reading, training, scoring, deciding and clustering).
    ///
    /// # Errors
    /// [`Error::Cancelled`].
    pub fn checkpoint(&self) -> Result<()> {
        match self.cancel {
            Some(flag) if flag.load(Ordering::Relaxed) => Err(Error::Cancelled),
            _ => Ok(()),
        }
    }

    /// Prints `phase: seconds` to stderr when the environment variable `FELLEGI_TIMING` is set
    /// (for profiling; never part of any output file), with the peak resident memory so far
    /// where the system reports it (Linux).
    pub fn phase(&self, name: &str, since: std::time::Instant) {
        if std::env::var_os("FELLEGI_TIMING").is_some() {
            let secs = since.elapsed().as_secs_f64();
            match (rss_kb("VmRSS:"), rss_kb("VmHWM:")) {
                (Some(now), Some(peak)) => eprintln!(
                    "[timing] {name}: {secs:.3} s (RSS {} MB, peak {} MB)",
                    now / 1024,
                    peak / 1024
                ),
                _ => eprintln!("[timing] {name}: {secs:.3} s"),
            }
        }
    }

    /// One line on stderr per phase of a long computation (`name: seconds`) when enabled, even
    /// when stderr is not a terminal (for logs of batch jobs); with `FELLEGI_TIMING` set, as
    /// [`Progress::phase`] instead.
    pub fn step(&self, name: &str, since: std::time::Instant) {
        if std::env::var_os("FELLEGI_TIMING").is_some() {
            self.phase(name, since);
        } else if self.enabled {
            eprintln!("{name}: {:.2} s", since.elapsed().as_secs_f64());
        }
    }

    /// A bar of `len` steps labelled `msg`; a hidden one when disabled.
    pub fn bar(&self, len: u64, msg: &str) -> ProgressBar {
        if !self.enabled {
            return ProgressBar::hidden();
        }
        let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        pb.set_style(
            ProgressStyle::with_template(
                "{msg:>22} [{bar:30}] {percent:>3}% {elapsed_precise} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        pb.set_message(msg.to_string());
        pb
    }
}

/// Resident set size (`VmRSS:`) or its peak (`VmHWM:`) of this process in KiB, from
/// `/proc/self/status` where the system has it.
fn rss_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
