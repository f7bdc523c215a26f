//! LISTEN/NOTIFY between processes on one log: the channel a log's commits are announced on, and
//! the listener that wakes this process's subscribers when another process commits.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;

use crate::model::Position;
use crate::postgres::read_head;

/// One channel per log: a short digest keeps it within PostgreSQL's 63-byte identifier limit.
pub(crate) fn notify_channel(schema: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("carelog_log_{}", &hex::encode(Sha256::digest(schema.as_bytes()))[..16])
}

pub(crate) fn is_plain_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

/// Wakes local subscribers when another process commits to this log. Missed notifications only
/// delay a subscriber until its next poll; they can never make it skip an event. This process's
/// own commits (notified by its writer's connection, `writer_pid`) are skipped: the writer told
/// the subscribers already.
pub(crate) async fn listen_for_commits(
    pool: PgPool,
    channel: String,
    heads: Arc<watch::Sender<Position>>,
    writer_pid: Arc<AtomicU32>,
) {
    loop {
        let listened = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(&channel).await?;
            loop {
                let notification = listener.recv().await?;
                if notification.process_id() == writer_pid.load(Ordering::Relaxed) {
                    continue;
                }
                // The payload is only a hint (any role may notify): the head is read back from this log.
                let Ok(position) = read_head(&pool).await else { continue };
                heads.send_if_modified(|head| {
                    let moved = position > head.0;
                    if moved {
                        *head = Position(position);
                    }
                    moved
                });
            }
            #[allow(unreachable_code)]
            Ok::<(), sqlx::Error>(())
        };
        tokio::select! {
            _ = heads.closed() => return,
            result = listened => {
                if let Err(error) = result {
                    tracing::debug!(%error, "commit listener lost its connection; reconnecting");
                }
            }
        }
        tokio::select! {
            _ = heads.closed() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}
