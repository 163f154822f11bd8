//! The `fellegi` command line: parses arguments and dispatches to one subcommand.

mod cli;

use std::process::ExitCode;

/// Returns freed large buffers to the system at once: glibc's malloc otherwise raises its mmap
/// threshold to the largest block freed so far (up to 32 MiB), after which big temporary vectors
/// come from the heap and the resident size stays at its high-water mark. A fixed threshold of
/// 128 KiB keeps the peak resident memory of large runs near their live data (for the 10^10-pair
/// exhaustive benchmark, about 100 MB down to about 72 MB) at no measurable cost in time.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    // SAFETY: `mallopt` only sets a malloc parameter; called once, before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

fn main() -> ExitCode {
    use clap::Parser;
    tune_allocator();
    // `println!` panics when stdout has been closed (e.g. `fellegi ... | head`); that is the end
    // of the output, not an error: exit 0 quietly, as for a broken pipe reported as an error.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.contains("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default_hook(info);
    }));
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A closed stdout (e.g. `| head`) is not an error.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
