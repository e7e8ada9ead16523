//! The HTTP side's connections (dashboard, API, webhook endpoint), built so slow or hostile clients
//! cannot wear the server down ([`crate::config::HttpLimits`]):
//!
//! - at most `max_connections` served at once (a semaphore taken before `accept`; more wait in the
//!   kernel's queue);
//! - hyper's header-read timeout: a request's headers must arrive within `header_timeout`, which
//!   also bounds how long a kept-alive connection may sit idle between requests (hyper starts the
//!   clock again after each response);
//! - a handler must produce its answer within `idle_timeout` (408 otherwise), and a response the
//!   client accepts no byte of for `idle_timeout` is abandoned ([`stall`]);
//! - request bodies: any request declaring more than [`MAX_BODY`] is refused (413) unread, the
//!   webhook endpoint reads at most its own cap; header buffers are capped at [`MAX_HEADER_BYTES`].

pub mod stall;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::config::HttpLimits;
use crate::events::Events;
use crate::webhook;

/// Largest request body any route accepts (the webhook's own cap; the dashboard takes none).
pub const MAX_BODY: usize = webhook::MAX_BODY;

/// The read buffer of a connection, and so the most a request's headers may take.
pub const MAX_HEADER_BYTES: usize = 64 << 10;

/// Serves `app` on `listener` under `limits`; returns only if accepting fails for good.
pub async fn serve(listener: TcpListener, app: Router, limits: HttpLimits, events: Events) -> String {
    let app = app
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limits.idle_timeout))
        .layer(RequestBodyLimitLayer::new(MAX_BODY));
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut failures = 0u32;
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return "the connection slots were closed".into();
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => {
                failures = 0;
                stream
            }
            Err(e) => {
                // Out of descriptors and the like: wait for connections to end, then go on.
                failures += 1;
                if failures == 1 || failures.is_multiple_of(100) {
                    events.log(format!("http: cannot accept a connection ({failures} in a row): {e}"));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let io = TokioIo::new(stall::WriteStall::new(stream, limits.idle_timeout));
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .max_buf_size(MAX_HEADER_BYTES)
                .serve_connection(io, service);
            // Errors here are the client's doing (timeouts, resets, bad requests): nothing to log.
            let _ = connection.await;
            drop(slot);
        });
    }
}
