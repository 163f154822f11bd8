//! `fellegi engine scheduler|executor`: the two Ballista roles, with fellegi's comparison UDF
//! registered (feature `distributed`).

use anyhow::Context;
use fellegi::distributed::server::{
    ExecutorOptions, SchedulerOptions, run_executor, run_scheduler,
};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Start a Ballista scheduler; clients connect with `fellegi link --engine ballista://HOST:PORT`.
    Scheduler {
        /// Address to listen on.
        #[arg(long, default_value = "0.0.0.0")]
        bind: String,
        /// Port to listen on.
        #[arg(long, default_value_t = 50050)]
        port: u16,
        /// Host name executors and clients use to reach this scheduler.
        #[arg(long, default_value = "localhost")]
        external_host: String,
        /// Seconds without a heartbeat before an executor is declared lost and its tasks are
        /// run elsewhere.
        #[arg(long, default_value_t = 180)]
        executor_timeout: u64,
        /// Attempts per task before the job fails.
        #[arg(long, default_value_t = 4)]
        task_max_failures: usize,
    },
    /// Start a Ballista executor that registers with a scheduler.
    Executor {
        /// The scheduler, HOST:PORT.
        #[arg(long, default_value = "localhost:50050")]
        scheduler: String,
        /// Address to listen on.
        #[arg(long, default_value = "0.0.0.0")]
        bind: String,
        /// Host name the scheduler and other executors use to reach this executor [default:
        /// the address the scheduler sees].
        #[arg(long)]
        external_host: Option<String>,
        /// Arrow Flight port (shuffle data and results).
        #[arg(long, default_value_t = 50051)]
        port: u16,
        /// gRPC port.
        #[arg(long, default_value_t = 50052)]
        grpc_port: u16,
        /// Concurrent tasks [default: the number of cores].
        #[arg(long)]
        concurrent_tasks: Option<usize>,
        /// Folder for shuffle files [default: a temporary folder].
        #[arg(long)]
        work_dir: Option<String>,
        /// Seconds between heartbeats to the scheduler (keep below its --executor-timeout).
        #[arg(long, default_value_t = 60)]
        heartbeat: u64,
        /// Sleep this many milliseconds per comparison batch: for fault-injection tests only.
        #[arg(long, default_value_t = 0, hide = true)]
        delay_ms: u64,
    },
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")
}

/// Sends Ballista's log (the `log` facade) to stderr: `level` and above (`info` for the two
/// roles, `warn` for a `link --engine` client) unless `RUST_LOG` says otherwise (e.g.
/// `RUST_LOG=ballista_scheduler=debug`), so an operator sees executors register, tasks fail and
/// stages roll back.
pub fn init_log(level: &str) {
    let env = env_logger::Env::default().default_filter_or(level);
    // A second initialisation (never in the CLI) is harmless: keep the first logger.
    let _ = env_logger::Builder::from_env(env).try_init();
}

pub fn run(c: Command) -> anyhow::Result<()> {
    init_log("info");
    match c {
        Command::Scheduler {
            bind,
            port,
            external_host,
            executor_timeout,
            task_max_failures,
        } => {
            let o = SchedulerOptions {
                bind_host: bind,
                port,
                external_host,
                executor_timeout_seconds: executor_timeout,
                task_max_failures,
            };
            eprintln!(
                "fellegi engine scheduler: listening on {}:{} (clients: --engine ballista://{}:{})",
                o.bind_host, o.port, o.external_host, o.port
            );
            runtime()?.block_on(run_scheduler(&o))?;
        }
        Command::Executor {
            scheduler,
            bind,
            external_host,
            port,
            grpc_port,
            concurrent_tasks,
            work_dir,
            heartbeat,
            delay_ms,
        } => {
            let (host, sport) = scheduler.rsplit_once(':').with_context(|| {
                format!("--scheduler `{scheduler}`: expected HOST:PORT, e.g. localhost:50050")
            })?;
            let sport: u16 = sport.parse().with_context(|| {
                format!("--scheduler `{scheduler}`: the port must be a number 1-65535")
            })?;
            let d = ExecutorOptions::default();
            let o = ExecutorOptions {
                scheduler_host: host.to_string(),
                scheduler_port: sport,
                bind_host: bind,
                external_host,
                port,
                grpc_port,
                vcores: concurrent_tasks.unwrap_or(d.vcores),
                work_dir,
                heartbeat_seconds: heartbeat,
                delay_ms,
            };
            eprintln!(
                "fellegi engine executor: ports {}/{}, scheduler {}:{}",
                o.port, o.grpc_port, o.scheduler_host, o.scheduler_port
            );
            runtime()?.block_on(run_executor(&o))?;
        }
    }
    Ok(())
}
