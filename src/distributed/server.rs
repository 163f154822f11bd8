//! The two Ballista roles from fellegi's own binary (`fellegi engine scheduler`, `fellegi engine
//! executor`), each with [`super::udf::PATTERN_UDF`] registered: the scheduler needs it to plan
//! the client's logical plans, the executors to decode the physical plans they run.

use std::net::SocketAddr;
use std::sync::Arc;

use ballista::datafusion::execution::FunctionRegistry;
use ballista::datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use ballista::datafusion::prelude::SessionConfig;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;

use super::udf::pattern_udf;
use crate::error::{Error, Result};

/// A DataFusion session state with the default functions and fellegi's UDF (the scheduler's
/// session builder; the client's state starts from it too).
///
/// # Errors
/// When the UDF cannot be registered (a DataFusion error, as text).
pub fn session_state(config: SessionConfig) -> ballista::datafusion::error::Result<SessionState> {
    let mut state = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .build();
    state.register_udf(pattern_udf())?;
    Ok(state)
}

/// The executors' function registry: DataFusion's built-ins plus fellegi's UDF.
pub fn function_registry() -> Arc<BallistaFunctionRegistry> {
    let mut registry = BallistaFunctionRegistry::default();
    let udf = pattern_udf();
    registry
        .scalar_functions
        .insert(udf.name().to_string(), udf);
    Arc::new(registry)
}

/// Options of `fellegi engine scheduler`.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// Address to listen on (default `0.0.0.0`).
    pub bind_host: String,
    /// Port (Ballista's default 50050).
    pub port: u16,
    /// Host name executors and clients use to reach the scheduler (default `localhost`).
    pub external_host: String,
    /// Seconds without a heartbeat before an executor is declared lost and its tasks run
    /// elsewhere (Ballista's default 180).
    pub executor_timeout_seconds: u64,
    /// Attempts per task before the job fails (Ballista's default 4).
    pub task_max_failures: usize,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        SchedulerOptions {
            bind_host: "0.0.0.0".into(),
            port: 50050,
            external_host: "localhost".into(),
            executor_timeout_seconds: 180,
            task_max_failures: 4,
        }
    }
}

fn engine_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Engine(format!("{what}: {e}"))
}

/// Runs a Ballista scheduler until the process ends.
///
/// # Errors
/// [`Error::Invalid`] for a bad address; [`Error::Engine`] when the server cannot start.
pub async fn run_scheduler(o: &SchedulerOptions) -> Result<()> {
    let config = SchedulerConfig {
        bind_host: o.bind_host.clone(),
        bind_port: o.port,
        external_host: o.external_host.clone(),
        executor_timeout_seconds: o.executor_timeout_seconds,
        expire_dead_executor_interval_seconds: 1.max(o.executor_timeout_seconds / 4),
        task_max_failures: o.task_max_failures,
        override_session_builder: Some(Arc::new(session_state)),
        ..Default::default()
    };
    let addr: SocketAddr = format!("{}:{}", o.bind_host, o.port).parse().map_err(|e| {
        Error::invalid(
            "--bind",
            format!("`{}:{}` is not a socket address: {e}", o.bind_host, o.port),
        )
    })?;
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| engine_error("scheduler", e))?;
    start_server(cluster, addr, Arc::new(config))
        .await
        .map_err(|e| engine_error("scheduler", e))
}

/// Options of `fellegi engine executor`.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// Scheduler host (default `localhost`).
    pub scheduler_host: String,
    /// Scheduler port (default 50050).
    pub scheduler_port: u16,
    /// Address to listen on (default `0.0.0.0`).
    pub bind_host: String,
    /// Host name the scheduler and other executors use to reach this one (default: the
    /// address the scheduler sees).
    pub external_host: Option<String>,
    /// Arrow Flight port (Ballista's default 50051).
    pub port: u16,
    /// gRPC port (Ballista's default 50052).
    pub grpc_port: u16,
    /// Concurrent tasks (default: the number of cores).
    pub vcores: usize,
    /// Folder for shuffle files (default: a temporary folder).
    pub work_dir: Option<String>,
    /// Seconds between heartbeats (Ballista's default 60; keep it below the scheduler's
    /// executor timeout).
    pub heartbeat_seconds: u64,
    /// Milliseconds each comparison batch sleeps: fault-injection tests only (default 0).
    pub delay_ms: u64,
}

impl Default for ExecutorOptions {
    fn default() -> Self {
        ExecutorOptions {
            scheduler_host: "localhost".into(),
            scheduler_port: 50050,
            bind_host: "0.0.0.0".into(),
            external_host: None,
            port: 50051,
            grpc_port: 50052,
            vcores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            work_dir: None,
            heartbeat_seconds: 60,
            delay_ms: 0,
        }
    }
}

/// Runs a Ballista executor until the process ends.
///
/// # Errors
/// [`Error::Engine`] when it cannot start or reach the scheduler.
pub async fn run_executor(o: &ExecutorOptions) -> Result<()> {
    super::udf::set_delay_ms(o.delay_ms);
    let config = ExecutorProcessConfig {
        bind_host: o.bind_host.clone(),
        external_host: o.external_host.clone(),
        port: o.port,
        grpc_port: o.grpc_port,
        scheduler_host: o.scheduler_host.clone(),
        scheduler_port: o.scheduler_port,
        scheduler_connect_timeout_seconds: 10,
        vcores: o.vcores,
        work_dir: o.work_dir.clone(),
        executor_heartbeat_interval_seconds: o.heartbeat_seconds,
        override_function_registry: Some(function_registry()),
        ..Default::default()
    };
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| engine_error("executor", e))
}
