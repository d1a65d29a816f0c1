//! The admin HTTP API of a running `weir run`: the state of its pipelines and partitions.
//!
//! It listens on 127.0.0.1 by default, so only the machine itself reaches it. A bearer token,
//! when set, guards every route.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::pipeline::{StatusBoard, StatusReport};

/// Default address of the admin API.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:9710";

/// Environment variable that holds the admin API's bearer token, for the server and the client.
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
    token: Option<String>,
}

/// Binds the admin API and serves it until `shutdown` turns true. Returns once the address
/// is bound, so a clash fails the start rather than surfacing later.
pub async fn serve(
    options: AdminOptions,
    status: Arc<StatusBoard>,
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
        token: options.token,
    });
    let app = Router::new()
        .route("/status", get(status_route))
        .route("/health", get(|| async { "ok" }))
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
        if presented != Some(token.as_str()) {
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
