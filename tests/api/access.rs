//! Access control over real gRPC: the whole role × RPC matrix, the clinician–client assignment,
//! signatures that must be the caller's own, psychotherapy notes for their author alone, the
//! biller's view without note text, and an access log that records every read of PHI and every
//! denial.

mod assigned;
mod disclosure;
mod matrix;
mod naming;
mod reads;

use carelog_store::{LogFilter, LogQuery, Position, RecordedEvent};

use carelog_blackbox::TestApp;

/// Every `RecordAccessed` event in the log.
async fn access_log(app: &TestApp) -> Vec<RecordedEvent> {
    let filter = LogFilter { categories: vec!["access".into()], event_types: vec!["RecordAccessed".into()] };
    let query = LogQuery { from: Position(1), up_to: None, filter, limit: 100_000 };
    app.store.read_all(&query).await.expect("read the access log")
}

fn outcome(event: &RecordedEvent) -> &str {
    event.data["outcome"].as_str().unwrap_or_default()
}
