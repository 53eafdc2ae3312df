//! Builds the application: the routes and the layers around them, composed
//! here in one place, and serves it. Order, outermost first:
//! 0. connection   – hyper: a request's line and headers must arrive within
//!    the header read timeout (else the connection is closed, no response),
//!    at most 100 headers and about 400 KiB of head (else hyper's own 431
//!    without a body); none of this reaches the layers below;
//! 1. request id   – assigned before anything else so every later layer and
//!    log sees it (the trace layer must run after it);
//! 2. telemetry    – server span, HTTP metrics, access log, traceparent echo;
//!    a request dropped before its response is still ended and counted;
//! 3. catch panic  – a panicking handler becomes a 500 with `error.type=panic`
//!    (inside telemetry, so it is traced and counted like any 5xx), never a
//!    dropped connection;
//! 4. header limit – 431 with a JSON body, still traced and counted;
//! 5. body limit   – enforced by the JSON extractor (413), which also gives
//!    the body its read timeout (408);
//! 6. faults       – drill faults, on the API routes only, innermost so
//!    they look like handler behaviour to everything above.
//!
//! Unknown paths and wrong methods get JSON 404 and 405 bodies from the
//! router's two fallbacks.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder as ConnectionBuilder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;

use crate::configuration::Settings;
use crate::error::ApiError;
use crate::faults::{self, Faults};
use crate::routes::{admin, health, projects, todos, AppState};
use crate::store::{Database, SqliteStore};
use crate::telemetry::http::ObserveLayer;
use crate::telemetry::request_id::request_id_layer;
use crate::telemetry::TelemetryHandle;

async fn header_limit(State(limit): State<usize>, request: Request, next: Next) -> Response {
    let size: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if size > limit {
        return ApiError::HeadersTooLarge { limit }.into_response();
    }
    next.run(request).await
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::MethodNotAllowed {
        // Extension methods are client text: bounded like the path.
        method: method.as_str().chars().take(32).collect(),
        path: uri.path().chars().take(200).collect(),
    }
}

async fn fallback(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::NoRoute {
        method: method.to_string(),
        path: uri.path().chars().take(200).collect(),
    }
}

pub fn router(state: AppState, settings: &Settings) -> Router {
    // The API: the only routes fault drills apply to (route_layer: matched
    // routes only, so MatchedPath is always there).
    let api = Router::new()
        .route("/projects", get(projects::list).post(projects::create))
        .route(
            "/projects/{id}",
            get(projects::get).delete(projects::delete),
        )
        .route(
            "/projects/{project_id}/todos",
            get(todos::list).post(todos::create),
        )
        .route(
            "/todos/{id}",
            get(todos::get).patch(todos::update).delete(todos::delete),
        )
        .route_layer(from_fn_with_state(
            Arc::clone(&state.faults),
            faults::inject,
        ));
    let mut operations = Router::new()
        .route("/health", get(health::live))
        .route("/ready", get(health::ready))
        .route("/health/telemetry", get(health::telemetry))
        .route(
            "/admin/faults",
            get(admin::list_faults)
                .post(admin::set_fault)
                .delete(admin::clear_faults),
        )
        .route(
            "/admin/telemetry",
            get(admin::get_telemetry)
                .patch(admin::set_telemetry)
                .delete(admin::reset_telemetry),
        );
    if settings.prometheus_metrics {
        operations = operations.route("/metrics", get(health::prometheus));
    }
    api.merge(operations)
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(settings.max_body_bytes))
        .layer(from_fn_with_state(settings.max_header_bytes, header_limit))
        .layer(CatchPanicLayer::custom(ApiError::from_panic))
        .layer(ObserveLayer::new(state.telemetry.clone()))
        .layer(from_fn(request_id_layer))
        .with_state(state)
}

/// The whole application without a listener: the store opened (schema
/// created), the state assembled, the router built.
pub fn app(settings: &Settings, telemetry: TelemetryHandle) -> anyhow::Result<Router> {
    let state = AppState {
        db: Database::new(Arc::new(SqliteStore::open(&settings.database)?)),
        telemetry,
        faults: Arc::new(Faults::default()),
        admin_token: settings.admin_token.as_deref().map(Arc::from),
        max_body_bytes: settings.max_body_bytes,
        // 0: no limit (tokio takes a deadline past its range as "never").
        body_read_timeout: match settings.body_read_timeout_seconds {
            0 => Duration::MAX,
            seconds => Duration::from_secs(seconds),
        },
    };
    Ok(router(state, settings))
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    grace: Duration,
    header_read_timeout: Option<Duration>,
}

impl Application {
    pub async fn build(settings: &Settings, telemetry: TelemetryHandle) -> anyhow::Result<Self> {
        let router = app(settings, telemetry)?;
        let listener = TcpListener::bind(settings.listen).await?;
        Ok(Application {
            listener,
            router,
            grace: Duration::from_secs(settings.shutdown_grace_seconds),
            header_read_timeout: match settings.header_read_timeout_seconds {
                0 => None,
                seconds => Some(Duration::from_secs(seconds)),
            },
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then stops accepting and lets
    /// in-flight requests finish (at most the grace period).
    ///
    /// hyper-util's connection builder instead of `axum::serve`: axum 0.8
    /// exposes none of hyper's settings, and without a timer hyper has no
    /// header read timeout, so a client dribbling its headers (slowloris)
    /// would hold a connection and a task for ever.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let mut builder = ConnectionBuilder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout);
        // As axum::serve does: HTTP/2 extended CONNECT (websockets).
        builder
            .http2()
            .timer(TokioTimer::new())
            .enable_connect_protocol();
        let graceful = GracefulShutdown::new();
        let service = TowerToHyperService::new(self.router);
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let tcp = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((tcp, _)) => tcp,
                    Err(error) => {
                        accept_failed(error).await;
                        continue;
                    }
                },
                _ = &mut shutdown => break,
            };
            // Small JSON responses: do not wait for Nagle.
            let _ = tcp.set_nodelay(true);
            let connection = builder
                .serve_connection_with_upgrades(TokioIo::new(tcp), service.clone())
                .into_owned();
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                // A client that goes away or times out ends its connection
                // with an error: nothing to do about it here.
                let _ = connection.await;
            });
        }
        drop(self.listener);
        tracing::info!("shutting down: no new connections, finishing in-flight requests");
        let grace = self.grace;
        tokio::select! {
            _ = graceful.shutdown() => Ok(()),
            _ = tokio::time::sleep(grace) => {
                tracing::warn!(grace_seconds = grace.as_secs(), "grace period over, dropping in-flight requests");
                Ok(())
            }
        }
    }
}

/// After a failed accept: errors of one connection (reset before accept) are
/// skipped, others (out of file descriptors) wait a second so the loop does
/// not spin, as axum::serve does.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %error, "accept failed, retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Threads for blocking work: the store's SQLite calls, which one connection behind a
/// mutex serialises anyway. Tokio's default (512) let a stalled moment (the process
/// starved of CPU, a slow checkpoint) start a thread per queued request, each keeping
/// its own allocator heap: a 5-second stall at 100 requests/s added 64 threads and
/// 150 MiB that stayed (docs/reliability.md, the soak).
pub const BLOCKING_THREADS: usize = 4;
