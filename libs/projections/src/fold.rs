//! Folding the log into the documents it touches, held in memory across batches. Pure: the runner
//! loads what a batch needs that is not held yet ([`Views::missing`], [`Views::hold`]), folds the
//! batch, and at each commit takes the changed documents and the audit rows ([`Views::take`]) to
//! write them with the checkpoint in one transaction.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use carelog_domain::intake::Demographics;
use carelog_store::RecordedEvent;
use serde::Serialize;

use crate::decode::DecodeOnce;
use crate::persist::{AuditRow, DocKind, DocWrite, StoredDoc};
use crate::quarantine::{Incomplete, Quarantined, Target, unstorable};
use crate::routing::{audit_row, episode_key, is_erasure, ledger_key};
use crate::{EpisodeView, LedgerView, ProjectionError};

pub use crate::routing::{changes_documents, erased_clients};

/// The documents folded so far and what the next commit writes.
#[derive(Debug)]
pub struct Views {
    episodes: BTreeMap<String, Held<EpisodeView>>,
    ledgers: BTreeMap<String, Held<LedgerView>>,
    /// JSON size of the held documents when last loaded or written.
    held_bytes: usize,
    /// Whether a document not held may be stored. Not for a generation that was empty when the
    /// fold began: there only the documents dropped since are, so the others need no query.
    stored_before: bool,
    dropped: HashSet<(DocKind, String)>,
    /// Since the last commit: one audit row per event, and the clients erased.
    audit: Vec<AuditRow>,
    erased: Vec<String>,
    quarantined: Vec<Quarantined>,
    /// Clients whose searchable facts changed (registered or erased) since the last commit.
    searchable: BTreeSet<String>,
}

/// One held document.
#[derive(Debug)]
struct Held<V> {
    view: V,
    /// A ledger's client (from its first tagged event); an episode's is worked out when written.
    owner: Option<String>,
    /// Position of the last event routed to it.
    position: u64,
    /// Folded into since the last commit.
    changed: bool,
    /// Its JSON size when last loaded or written: roughly what holding it costs.
    bytes: usize,
}

/// What one commit writes.
#[derive(Debug, Default)]
pub struct Taken {
    pub docs: Vec<DocWrite>,
    pub audit: Vec<AuditRow>,
    pub erased: Vec<String>,
    pub quarantined: Vec<Quarantined>,
    /// Each client whose searchable facts changed, with what is searchable now (`None` once
    /// erased): the committer turns them into blind-index tokens (see [`crate::search`]).
    pub search: Vec<(String, Option<Demographics>)>,
}

impl Default for Views {
    fn default() -> Self {
        Self::new()
    }
}

impl Views {
    /// Views to fold into a generation that may store documents already.
    pub fn new() -> Self {
        Self::with_stored(true)
    }

    /// Views to fold into a generation that stores no document yet (its checkpoint is 0).
    pub fn for_empty_generation() -> Self {
        Self::with_stored(false)
    }

    fn with_stored(stored_before: bool) -> Self {
        Self {
            episodes: BTreeMap::new(),
            ledgers: BTreeMap::new(),
            held_bytes: 0,
            stored_before,
            dropped: HashSet::new(),
            audit: Vec::new(),
            erased: Vec::new(),
            quarantined: Vec::new(),
            searchable: BTreeSet::new(),
        }
    }

    /// Events folded since the last [`take`](Self::take).
    pub fn pending(&self) -> usize {
        self.audit.len()
    }

    /// The documents `events` route to that are not held but may be stored: the runner loads them.
    pub fn missing(&self, events: &[RecordedEvent]) -> BTreeMap<DocKind, Vec<String>> {
        let mut missing: BTreeMap<DocKind, BTreeSet<&str>> = BTreeMap::new();
        for event in events {
            if let Some(client) = episode_key(event)
                && !self.episodes.contains_key(client)
                && self.may_be_stored(DocKind::Episode, client)
            {
                missing.entry(DocKind::Episode).or_default().insert(client);
            }
            if let Some(account) = ledger_key(event)
                && !self.ledgers.contains_key(account)
                && self.may_be_stored(DocKind::Ledger, account)
            {
                missing.entry(DocKind::Ledger).or_default().insert(account);
            }
        }
        missing.into_iter().map(|(kind, keys)| (kind, keys.into_iter().map(str::to_owned).collect())).collect()
    }

    fn may_be_stored(&self, kind: DocKind, key: &str) -> bool {
        self.stored_before || self.dropped.contains(&(kind, key.to_owned()))
    }

    /// Holds a stored document, unless a newer copy of it is held already.
    pub fn hold(&mut self, kind: DocKind, stored: StoredDoc) -> Result<(), ProjectionError> {
        let corrupt = |e| corrupt(&stored.key, e);
        match kind {
            DocKind::Episode if !self.episodes.contains_key(&stored.key) => {
                let view = serde_json::from_str(&stored.json).map_err(corrupt)?;
                self.held_bytes += stored.json.len();
                self.episodes.insert(stored.key, Held::loaded(view, stored.owner, stored.json.len()));
            }
            DocKind::Ledger if !self.ledgers.contains_key(&stored.key) => {
                let view = serde_json::from_str(&stored.json).map_err(corrupt)?;
                self.held_bytes += stored.json.len();
                self.ledgers.insert(stored.key, Held::loaded(view, stored.owner, stored.json.len()));
            }
            DocKind::Episode | DocKind::Ledger => {}
        }
        Ok(())
    }

    /// Folds `events` in position order into the held documents (missing ones start empty) and
    /// keeps one audit row per event. An event a document cannot fold is quarantined for that
    /// document alone ([`crate::quarantine`]): the document stays as it was, notes the event, and
    /// every other document folds on. No event can stop the fold.
    pub fn fold(&mut self, events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        for event in events {
            let mut decoding = DecodeOnce::default();
            let position = event.position.0;
            let tag = event.metadata.tags.client.as_ref();
            if let Some(error) = unstorable(event) {
                // Neither its audit row nor any document could be written: keep it aside whole.
                self.quarantined.push(Quarantined::new(event, Target::Audit, event.stream.as_str(), error));
                if let Some(client) = episode_key(event) {
                    let held = held_or_new(&mut self.episodes, client);
                    held.view.incomplete.push(Incomplete::of(event));
                    held.touched(position);
                }
                continue;
            }
            if let Some(client) = episode_key(event) {
                let held = held_or_new(&mut self.episodes, client);
                if let Err(error) = held.view.apply_once(event, &mut decoding) {
                    held.view.incomplete.push(Incomplete::of(event));
                    self.quarantined.push(Quarantined::new(
                        event,
                        Target::Doc(DocKind::Episode),
                        client,
                        error.to_string(),
                    ));
                }
                held.touched(position);
            }
            if let Some(account) = ledger_key(event) {
                let held = held_or_new(&mut self.ledgers, account);
                if let Err(error) = fold_ledger(held, event, &mut decoding) {
                    self.quarantined.push(Quarantined::new(
                        event,
                        Target::Doc(DocKind::Ledger),
                        account,
                        error.to_string(),
                    ));
                }
            }
            // An erasure also scrubs every ledger its client owns (held, or loaded by the runner).
            if is_erasure(event)
                && let Some(client) = tag
            {
                let owned = self.ledgers.iter_mut().filter(|(_, held)| held.owner.as_ref() == Some(client));
                for (account, held) in owned {
                    if let Err(error) = fold_ledger(held, event, &mut decoding) {
                        let target = Target::Doc(DocKind::Ledger);
                        self.quarantined.push(Quarantined::new(event, target, account, error.to_string()));
                    }
                }
                if !self.erased.contains(client) {
                    self.erased.push(client.clone());
                }
            }
            if matches!(event.event_type.as_str(), "ClientRegistered" | "ClientErased")
                && let Some(client) = tag
            {
                self.searchable.insert(client.clone());
            }
            self.audit.push(audit_row(event));
        }
        Ok(())
    }

    /// Serialises every document changed since the last commit (once each) and hands them over
    /// with the audit rows and erasures of the events folded since.
    pub fn take(&mut self) -> Result<Taken, ProjectionError> {
        let mut docs = Vec::new();
        for (key, held) in self.episodes.iter_mut().filter(|(_, held)| held.changed) {
            let owner = held.view.assigned_clinician().map(|c| c.to_string());
            docs.push(write(DocKind::Episode, key, held, owner, &mut self.held_bytes)?);
        }
        for (key, held) in self.ledgers.iter_mut().filter(|(_, held)| held.changed) {
            let owner = held.owner.clone();
            docs.push(write(DocKind::Ledger, key, held, owner, &mut self.held_bytes)?);
        }
        let search = std::mem::take(&mut self.searchable)
            .into_iter()
            .map(|client| {
                let view = self.episodes.get(&client).map(|held| &held.view);
                let searchable = view.filter(|v| v.erased_at.is_none()).and_then(|v| v.demographics.clone());
                (client, searchable)
            })
            .collect();
        Ok(Taken {
            docs,
            audit: std::mem::take(&mut self.audit),
            erased: std::mem::take(&mut self.erased),
            quarantined: std::mem::take(&mut self.quarantined),
            search,
        })
    }

    /// After a commit: drops the documents changed least recently until those held weigh at
    /// most `bytes` of JSON (they are stored, so a later batch loads them again if it needs them).
    pub fn shrink_to(&mut self, bytes: usize) {
        if self.held_bytes <= bytes {
            return;
        }
        let episodes = self.episodes.iter().map(|(key, held)| (held.position, held.changed, DocKind::Episode, key));
        let ledgers = self.ledgers.iter().map(|(key, held)| (held.position, held.changed, DocKind::Ledger, key));
        let mut by_age: Vec<(u64, DocKind, String)> = episodes
            .chain(ledgers)
            .filter(|(_, changed, _, _)| !changed)
            .map(|(position, _, kind, key)| (position, kind, key.clone()))
            .collect();
        by_age.sort_unstable();
        for (_, kind, key) in by_age {
            if self.held_bytes <= bytes {
                break;
            }
            let freed = match kind {
                DocKind::Episode => self.episodes.remove(&key).map(|held| held.bytes),
                DocKind::Ledger => self.ledgers.remove(&key).map(|held| held.bytes),
            };
            self.held_bytes -= freed.unwrap_or_default();
            if !self.stored_before {
                self.dropped.insert((kind, key));
            }
        }
    }

    /// How many documents are held (for tests of the bound).
    #[cfg(test)]
    pub fn held_count(&self) -> usize {
        self.episodes.len() + self.ledgers.len()
    }
}

impl<V> Held<V> {
    fn loaded(view: V, owner: Option<String>, bytes: usize) -> Self {
        Self { view, owner, position: 0, changed: false, bytes }
    }

    fn touched(&mut self, position: u64) {
        self.position = position;
        self.changed = true;
    }
}

/// The held document under `key`, created empty if there is none.
fn held_or_new<'a, V: Default>(docs: &'a mut BTreeMap<String, Held<V>>, key: &str) -> &'a mut Held<V> {
    if !docs.contains_key(key) {
        docs.insert(key.to_owned(), Held::loaded(V::default(), None, 0));
    }
    docs.get_mut(key).expect("inserted above")
}

/// Folds `event` into a ledger; on a failure the ledger stays as it was and notes the event.
fn fold_ledger(
    held: &mut Held<LedgerView>,
    event: &RecordedEvent,
    decoding: &mut DecodeOnce,
) -> Result<(), crate::ViewError> {
    let folded = held.view.apply_once(event, decoding);
    if folded.is_err() {
        held.view.incomplete.push(Incomplete::of(event));
    }
    if held.owner.is_none() {
        held.owner.clone_from(&event.metadata.tags.client);
    }
    held.touched(event.position.0);
    folded
}

fn write<V: Serialize>(
    kind: DocKind,
    key: &str,
    held: &mut Held<V>,
    owner: Option<String>,
    held_bytes: &mut usize,
) -> Result<DocWrite, ProjectionError> {
    let json = serde_json::to_string(&held.view).map_err(|e| corrupt(key, e))?;
    *held_bytes = *held_bytes - held.bytes + json.len();
    held.bytes = json.len();
    held.changed = false;
    Ok(DocWrite { kind, key: key.to_owned(), owner, json, position: held.position })
}

fn corrupt(key: &str, error: serde_json::Error) -> ProjectionError {
    ProjectionError::Corrupt(format!("document {key}: {error}"))
}

#[cfg(test)]
#[path = "fold_tests.rs"]
mod tests;
