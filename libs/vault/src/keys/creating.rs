//! New clients' keys stored first, together: where the log cannot commit a key with its append
//! (KurrentDB's, whose keys live in the read-model database), every new client's first command
//! stores its key before the append, each write a transaction of its own. So concurrent creators
//! combine: the first to get the turn stores every key queued by then in one transaction, and the
//! others take their answers from it (a lone creator stores its own at once).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use tokio::sync::oneshot;

use super::port::{ClientKeyRows, NewKey, StoredKey};
use crate::error::VaultError;

#[derive(Default)]
pub(super) struct KeyCreation {
    queue: Mutex<Vec<Request>>,
    turn: Arc<tokio::sync::Mutex<()>>,
}

struct Request {
    key: NewKey,
    reply: oneshot::Sender<Result<StoredKey, VaultError>>,
}

impl std::fmt::Debug for KeyCreation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCreation").finish_non_exhaustive()
    }
}

impl KeyCreation {
    /// Stores `key` unless the client has one or was shredded, and returns what is stored then.
    pub async fn get_or_insert(&self, rows: &Arc<dyn ClientKeyRows>, key: NewKey) -> Result<StoredKey, VaultError> {
        let (reply, mut answer) = oneshot::channel();
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).push(Request { key, reply });
        let turn = Arc::clone(&self.turn).lock_owned().await;
        match answer.try_recv() {
            Ok(answered) => return answered,
            Err(oneshot::error::TryRecvError::Closed) => return Err(gone()),
            Err(oneshot::error::TryRecvError::Empty) => {}
        }
        let batch = std::mem::take(&mut *self.queue.lock().unwrap_or_else(|e| e.into_inner()));
        // In a task of its own: a caller that goes away cannot leave the others unanswered.
        let rows = Arc::clone(rows);
        tokio::spawn(async move {
            store_batch(rows.as_ref(), batch).await;
            drop(turn);
        });
        answer.await.map_err(|_| gone())?
    }
}

async fn store_batch(rows: &dyn ClientKeyRows, batch: Vec<Request>) {
    // Two first commands of one client: the first key offered is the one stored for both.
    let mut keys: Vec<NewKey> = Vec::with_capacity(batch.len());
    for request in &batch {
        if !keys.iter().any(|key| key.client == request.key.client) {
            keys.push(request.key.clone());
        }
    }
    match rows.get_or_insert_all(&keys, Utc::now()).await {
        Ok(stored) => {
            let stored: HashMap<&str, &StoredKey> =
                keys.iter().map(|key| key.client.as_str()).zip(stored.iter()).collect();
            for request in batch {
                let answer = stored.get(request.key.client.as_str()).map(|s| (*s).clone());
                let _ = request.reply.send(answer.ok_or_else(|| missing(&request.key.client)));
            }
        }
        Err(error) => {
            for request in batch {
                let _ = request.reply.send(Err(copy(&error)));
            }
        }
    }
}

fn copy(error: &VaultError) -> VaultError {
    match error {
        VaultError::Unavailable(message) => VaultError::Unavailable(message.clone()),
        other => VaultError::Database(other.to_string()),
    }
}

fn missing(client: &str) -> VaultError {
    VaultError::Database(format!("the key store answered without client {client}'s key"))
}

fn gone() -> VaultError {
    VaultError::Unavailable("the key being created with this one was not stored; retry the command".into())
}
