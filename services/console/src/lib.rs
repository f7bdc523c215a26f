//! The audit console: a read-only web view of care episodes for auditors, supervisors, clinicians
//! and billers. A small backend-for-frontend: it renders HTML on the server from the
//! RecordsService and ProofService, called over gRPC with the signed-in user's own bearer token,
//! so every policy check and every audit entry (each page view of PHI is a logged read) happens in
//! the services, once. Assets are embedded; no PHI goes into a URL.

#![forbid(unsafe_code)]

mod api;
pub mod asof;
mod changes;
pub mod chart;
mod disclosures;
mod episode;
mod episode_sessions;
mod filters;
mod html;
mod ledger;
mod pages;
mod report;
mod report_format;
mod routes;
mod search;
mod security;
pub mod session;
mod show;
mod signin;
mod timeline;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::routing::{get, post};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

/// The console's routes over channels to the RecordsService and the ProofService.
pub fn router(records: Channel, proofs: Channel) -> Router {
    let console = Arc::new(routes::Console { api: api::Api::new(records, proofs), sessions: Default::default() });
    Router::new()
        .route("/", get(routes::home))
        .route("/signin", get(signin::sign_in_page).post(signin::sign_in))
        .route("/signout", post(signin::sign_out))
        .route("/client", post(routes::open_client))
        .route("/search", post(search::search))
        .route("/episode", get(routes::episode))
        .route("/as-of", post(routes::set_as_of))
        .route("/ledger", get(routes::ledger))
        .route("/disclosures", get(disclosures::page))
        .route("/timeline", get(timeline::page))
        .route("/diff", get(changes::page))
        .route("/report", get(report::printable))
        .route("/report.csv", get(report::csv))
        .route("/caseload", get(routes::caseload).post(routes::choose_clinician))
        .route("/static/console.css", get(routes::stylesheet))
        .route("/static/console.js", get(routes::script))
        .fallback(routes::not_found)
        .layer(axum::middleware::map_response(security::headers))
        .with_state(console)
}

/// The console serving in the background.
#[derive(Debug)]
pub struct RunningConsole {
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

/// Serves the console on `listen` (port 0 picks one), reading from the gRPC server at `grpc_url`
/// (connected lazily: the server may start after the console).
pub async fn start(listen: SocketAddr, grpc_url: &str) -> anyhow::Result<RunningConsole> {
    let channel = Channel::from_shared(grpc_url.to_owned())
        .with_context(|| format!("the console's gRPC address {grpc_url:?}"))?
        .connect_lazy();
    start_with(listen, channel.clone(), channel).await
}

/// Serves the console on `listen` over channels the caller configured (TLS, separate services).
pub async fn start_with(listen: SocketAddr, records: Channel, proofs: Channel) -> anyhow::Result<RunningConsole> {
    let listener =
        tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding the console to {listen}"))?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let app = router(records, proofs);
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    Ok(RunningConsole { addr, stop, task })
}

/// The gRPC URL a console in the same process uses for a server bound to `addr` (a wildcard
/// address is reached over loopback).
pub fn local_grpc_url(addr: SocketAddr) -> String {
    let host = match addr.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_owned(),
        ip if ip.is_unspecified() => "[::1]".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        std::net::IpAddr::V4(ip) => ip.to_string(),
    };
    format!("http://{host}:{}", addr.port())
}

impl RunningConsole {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await.context("console task panicked")?.context("console failed")?;
        Ok(())
    }
}
