//! `fellegi serve STORE --addr HOST:PORT`: the store as an HTTP service
//! ([`fellegi::store::service`]).

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use fellegi::store::{Store, service};

/// Arguments of `fellegi serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The store folder (from `fellegi store create`).
    store: PathBuf,
    /// Address to listen on; port 0 picks a free one (the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// Largest request body in bytes; bigger requests get 413 with a JSON error.
    #[arg(long, default_value_t = service::DEFAULT_MAX_BODY)]
    max_body: usize,
    /// Worker threads of the async runtime (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

/// Runs the service until SIGTERM or Ctrl-C; requests under way finish first.
pub fn run(a: Args) -> anyhow::Result<()> {
    let store = Store::open(&a.store)?;
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = a.threads {
        anyhow::ensure!(n >= 1, "--threads must be at least 1");
        rt.worker_threads(n);
    }
    let rt = rt
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&a.addr)
            .await
            .with_context(|| format!("cannot listen on {}", a.addr))?;
        let addr = listener.local_addr()?;
        println!("listening on http://{addr}");
        std::io::stdout().flush()?;
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        let shutdown = std::future::poll_fn(move |cx| {
            let t = term.poll_recv(cx).is_ready();
            let i = int.poll_recv(cx).is_ready();
            if t || i {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        });
        service::serve(store, listener, a.max_body, shutdown).await?;
        eprintln!("fellegi serve: shut down; every answered insert is committed");
        anyhow::Ok(())
    })
}
