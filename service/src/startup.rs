//! Builds the application: the routes and the layers around them, composed
//! here in one place. Order, outermost first:
//! 1. request id   – assigned before anything else so every later layer and
//!    log sees it (the trace layer must run after it);
//! 2. telemetry    – server span, HTTP metrics, access log, traceparent echo;
//!    a request dropped before its response is still ended and counted;
//! 3. catch panic  – a panicking handler becomes a 500 with `error.type=panic`
//!    (inside telemetry, so it is traced and counted like any 5xx), never a
//!    dropped connection;
//! 4. header limit – 431 with a JSON body, still traced and counted;
//! 5. body limit   – enforced by the JSON extractor (413);
//! 6. faults       – drill faults, on the API routes only, innermost so
//!    they look like handler behaviour to everything above.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
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
        );
    if settings.prometheus_metrics {
        operations = operations.route("/metrics", get(health::prometheus));
    }
    api.merge(operations)
        .fallback(fallback)
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
    };
    Ok(router(state, settings))
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    grace: Duration,
}

impl Application {
    pub async fn build(settings: &Settings, telemetry: TelemetryHandle) -> anyhow::Result<Self> {
        let router = app(settings, telemetry)?;
        let listener = TcpListener::bind(settings.listen).await?;
        Ok(Application {
            listener,
            router,
            grace: Duration::from_secs(settings.shutdown_grace_seconds),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then stops accepting and lets
    /// in-flight requests finish (at most the grace period).
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stopping_tx, mut stopping_rx) = tokio::sync::watch::channel(false);
        let listener = self.listener.tap_io(|tcp| {
            // Small JSON responses: do not wait for Nagle.
            let _ = tcp.set_nodelay(true);
        });
        let server = axum::serve(listener, self.router).with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: no new connections, finishing in-flight requests");
            let _ = stopping_tx.send(true);
        });
        let grace = self.grace;
        tokio::select! {
            result = server => result,
            _ = async move {
                let _ = stopping_rx.wait_for(|stopping| *stopping).await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!(grace_seconds = grace.as_secs(), "grace period over, dropping in-flight requests");
                Ok(())
            }
        }
    }
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
