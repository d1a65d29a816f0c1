//! The admin HTTP API of a running `weir run`: the state of its pipelines and partitions, and
//! live changes to them.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /status` | the [`StatusReport`] |
//! | `GET /health` | `ok` while the process runs |
//! | `POST /pipelines/{pipeline}/steps/{step}/plugin` | swaps in the component in the body |
//! | `POST /pipelines/{pipeline}/steps/{step}/rollback` | goes back to the previous version |
//! | `POST /reload` | reads the pipeline file again |
//!
//! It listens on 127.0.0.1 by default, so only the machine itself reaches it. A bearer token,
//! when set, guards every route.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::pipeline::{
    ControlError, PipelineControl, PluginSource, StatusBoard, StatusReport, SwapReport,
};

/// Largest component the swap route accepts.
const MAX_UPLOAD_BYTES: usize = 512 * 1024 * 1024;

/// Default address of the admin API.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:9710";

/// Environment variable that contains the admin API's bearer token, for the server and the client.
pub const TOKEN_VARIABLE: &str = "WEIR_ADMIN_TOKEN";

/// Settings of the admin API.
#[derive(Debug, Clone)]
pub struct AdminOptions {
    pub address: SocketAddr,
    /// Token every request must carry as `Authorization: Bearer <token>`; `None` lets any
    /// local client in.
    pub token: Option<String>,
}

/// Failure to start the admin API.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot listen for the admin API on {address}: {source}; another `weir run` may hold the \
     address, so pass --admin with a free address, or --admin off"
)]
pub struct AdminError {
    address: SocketAddr,
    source: std::io::Error,
}

struct AdminState {
    status: Arc<StatusBoard>,
    control: Arc<PipelineControl>,
    token: Option<String>,
}

/// Binds the admin API and serves it until `shutdown` turns true. Returns once the address
/// is bound, so a clash fails the start rather than surfacing later.
pub async fn serve(
    options: AdminOptions,
    status: Arc<StatusBoard>,
    control: Arc<PipelineControl>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<SocketAddr, AdminError> {
    let listener = TcpListener::bind(options.address)
        .await
        .map_err(|source| AdminError {
            address: options.address,
            source,
        })?;
    let address = listener.local_addr().map_err(|source| AdminError {
        address: options.address,
        source,
    })?;

    let state = Arc::new(AdminState {
        status,
        control,
        token: options.token,
    });
    let app = Router::new()
        .route("/status", get(status_route))
        .route("/health", get(|| async { "ok" }))
        .route(
            "/pipelines/{pipeline}/steps/{step}/plugin",
            post(swap_route).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
        .route(
            "/pipelines/{pipeline}/steps/{step}/rollback",
            post(rollback_route),
        )
        .route("/reload", post(reload_route))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            require_token,
        ))
        .with_state(state);

    tokio::spawn(async move {
        let stopped = async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        };
        if let Err(error) = axum::serve(listener, app)
            .with_graceful_shutdown(stopped)
            .await
        {
            tracing::error!(%address, %error, "admin API stopped");
        }
    });
    tracing::info!(%address, "admin API listening");
    Ok(address)
}

async fn status_route(State(state): State<Arc<AdminState>>) -> Json<StatusReport> {
    Json(state.status.report())
}

/// Query of the swap route: the component's file name, for messages and `weir status`.
#[derive(serde::Deserialize)]
struct SwapQuery {
    name: Option<String>,
}

async fn swap_route(
    State(state): State<Arc<AdminState>>,
    Path((pipeline, step)): Path<(String, String)>,
    Query(query): Query<SwapQuery>,
    body: Bytes,
) -> Response {
    let name = query.name.unwrap_or_else(|| "upload.wasm".to_string());
    tracing::info!(%pipeline, %step, plugin = %name, bytes = body.len(), "plugin swap requested through the admin API");
    let source = PluginSource::Upload {
        name: format!("upload:{name}"),
        bytes: body.to_vec(),
    };
    let control = Arc::clone(&state.control);
    let result = tokio::task::spawn_blocking(move || control.swap(&pipeline, &step, source)).await;
    swap_response(result.map(|report| report.map(|report| vec![report])))
}

async fn rollback_route(
    State(state): State<Arc<AdminState>>,
    Path((pipeline, step)): Path<(String, String)>,
) -> Response {
    tracing::info!(%pipeline, %step, "rollback requested through the admin API");
    let control = Arc::clone(&state.control);
    let result = tokio::task::spawn_blocking(move || control.roll_back(&pipeline, &step)).await;
    swap_response(result.map(|report| report.map(|report| vec![report])))
}

async fn reload_route(State(state): State<Arc<AdminState>>) -> Response {
    tracing::info!("pipeline file reload requested through the admin API");
    let control = Arc::clone(&state.control);
    let result = tokio::task::spawn_blocking(move || control.reload()).await;
    swap_response(result)
}

/// Returns the changed steps, or the error with a status code: 404 for a missing pipeline or
/// step, 409 for a change that needs a restart and 422 for a rejected version.
fn swap_response(
    result: Result<Result<Vec<SwapReport>, ControlError>, tokio::task::JoinError>,
) -> Response {
    let error = match result {
        Ok(Ok(reports)) => return Json(reports).into_response(),
        Ok(Err(error)) => error,
        Err(error) => {
            tracing::error!(%error, "a plugin change task panicked");
            let body = serde_json::json!({ "error": format!("the change failed: {error}") });
            return (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response();
        }
    };
    let status = match &error {
        ControlError::UnknownPipeline(_) | ControlError::UnknownStep { .. } => {
            StatusCode::NOT_FOUND
        }
        ControlError::RestartNeeded(_) | ControlError::NoFile | ControlError::NoPrevious { .. } => {
            StatusCode::CONFLICT
        }
        ControlError::Plugin { .. } | ControlError::Step { .. } | ControlError::Config(_) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
    };
    let body = serde_json::json!({ "error": error.to_string() });
    (status, Json(body)).into_response()
}

/// Compares tokens in time that does not depend on where they first differ, so the response
/// time does not leak a correct prefix.
fn same_token(presented: &str, token: &str) -> bool {
    let (presented, token) = (presented.as_bytes(), token.as_bytes());
    presented.len() == token.len()
        && presented
            .iter()
            .zip(token)
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

async fn require_token(
    State(state): State<Arc<AdminState>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(token) = &state.token {
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        if !presented.is_some_and(|presented| same_token(presented, token)) {
            tracing::warn!(path = %request.uri().path(), "admin API request without a valid token");
            return (
                StatusCode::UNAUTHORIZED,
                format!("missing or wrong bearer token; set {TOKEN_VARIABLE} for `weir` commands"),
            )
                .into_response();
        }
    }
    next.run(request).await
}
