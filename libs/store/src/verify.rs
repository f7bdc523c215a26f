//! Hash-chain verification: recompute every link and report each row that was edited, deleted,
//! inserted or reordered behind the store's back, with its stream and position.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;

use crate::error::StoreError;

use crate::model::{EventHash, Position};
use crate::row::RowRef;

/// Keep reports bounded: a wholesale rewrite would otherwise list every row.
const MAX_PROBLEMS: usize = 1000;

/// What to verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyScope {
    /// Every stream, plus the global order (no gaps, head matches).
    All,
    /// Only these streams' chains (e.g. one client's record).
    Streams(Vec<String>),
}

/// Progress of a long verification, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyProgress {
    pub checked: u64,
    pub head: Position,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// The row's content no longer matches its hash: it was edited.
    HashMismatch { stored: String, computed: String },
    /// The row does not link to the previous event of its stream: an event before it was removed or replaced.
    BrokenLink,
    /// The stream's revisions skip or repeat: an event was deleted, inserted or moved.
    RevisionOutOfOrder { expected: u64, found: u64 },
    /// The global order skips: an event was deleted (or positions rewritten).
    PositionGap { expected: u64, found: u64 },
    /// The log ends before its recorded head: the newest events were deleted.
    Truncated { recorded_head: u64, last_found: u64 },
    /// The indexed client column disagrees with the hashed metadata: the row was re-tagged.
    ClientTagMismatch { column: Option<String>, metadata: Option<String> },
    /// The row cannot be read at all.
    Unreadable(String),
}

/// A break in the chain, at the first row where it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainProblem {
    pub position: Position,
    pub stream: String,
    pub revision: Option<u64>,
    pub kind: ProblemKind,
}

impl fmt::Display for ChainProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "position {} stream {}", self.position, self.stream)?;
        if let Some(revision) = self.revision {
            write!(f, " revision {revision}")?;
        }
        match &self.kind {
            ProblemKind::HashMismatch { stored, computed } => {
                write!(f, ": content changed (stored hash {stored}, computed {computed})")
            }
            ProblemKind::BrokenLink => write!(f, ": does not link to the previous event of its stream"),
            ProblemKind::RevisionOutOfOrder { expected, found } => {
                write!(f, ": revision {found} where {expected} was expected")
            }
            ProblemKind::PositionGap { expected, found } => {
                write!(f, ": position {found} where {expected} was expected (rows missing or moved)")
            }
            ProblemKind::Truncated { recorded_head, last_found } => {
                write!(f, ": log ends at {last_found} but its head is {recorded_head} (newest rows deleted)")
            }
            ProblemKind::ClientTagMismatch { column, metadata } => {
                write!(f, ": client column {column:?} disagrees with the hashed metadata {metadata:?}")
            }
            ProblemKind::Unreadable(reason) => write!(f, ": unreadable: {reason}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub events_checked: u64,
    pub streams_checked: u64,
    pub problems: Vec<ChainProblem>,
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }

    /// The earliest break in log order.
    pub fn first_problem(&self) -> Option<&ChainProblem> {
        self.problems.iter().min_by_key(|p| p.position)
    }
}

/// `metadata.tags.client` without decoding the rest of the metadata (times, ids): verification
/// reads every row, so it parses only what it checks.
fn client_tag_of(metadata: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Tagged {
        #[serde(default)]
        tags: TagsOnly,
    }
    #[derive(serde::Deserialize, Default)]
    struct TagsOnly {
        #[serde(default)]
        client: Option<String>,
    }
    serde_json::from_str::<Tagged>(metadata).ok().and_then(|m| m.tags.client)
}

/// Consumes rows in position order (or one stream's rows in revision order) and records every break.
#[derive(Debug, Default)]
pub(crate) struct ChainVerifier {
    check_global_order: bool,
    next_position: u64,
    streams: HashMap<String, (u64, EventHash)>,
    events: u64,
    problems: Vec<ChainProblem>,
}

impl ChainVerifier {
    /// `check_global_order`: the rows are the whole log, so positions must run 1, 2, 3 …
    pub fn new(check_global_order: bool) -> Self {
        Self { check_global_order, next_position: 1, ..Self::default() }
    }

    pub fn checked(&self) -> u64 {
        self.events
    }

    pub fn check(&mut self, row: RowRef<'_>) {
        self.check_row(row, Position(row.position));
    }

    /// Checks a row whose hash does not cover its position (KurrentDB assigns it at commit), reporting
    /// problems at `position`.
    #[cfg(feature = "kurrentdb")]
    pub fn check_at(&mut self, row: &crate::row::StoredRow, position: Position) {
        self.check_row(row.view(), position);
    }

    fn check_row(&mut self, row: RowRef<'_>, position: Position) {
        self.events += 1;
        if self.check_global_order && position.0 != self.next_position {
            self.report(position, &row, ProblemKind::PositionGap { expected: self.next_position, found: position.0 });
        }
        self.next_position = position.0 + 1;
        let (expected_revision, expected_prev) = match self.streams.get(row.stream) {
            Some((revision, hash)) => (revision + 1, *hash),
            None => (0, EventHash::GENESIS),
        };
        if row.revision != expected_revision {
            self.report(
                position,
                &row,
                ProblemKind::RevisionOutOfOrder { expected: expected_revision, found: row.revision },
            );
        }
        if row.prev_hash != expected_prev.0 {
            self.report(position, &row, ProblemKind::BrokenLink);
        }
        let computed = row.compute_hash(row.prev_hash);
        if row.hash != computed.0 {
            let stored = hex::encode(row.hash);
            self.report(position, &row, ProblemKind::HashMismatch { stored, computed: computed.to_hex() });
        }
        let tagged = client_tag_of(row.metadata);
        if tagged.as_deref() != row.client_tag {
            let kind = ProblemKind::ClientTagMismatch { column: row.client_tag.map(str::to_owned), metadata: tagged };
            self.report(position, &row, kind);
        }
        // Continue from the row as stored, so one edited row is reported once, not for every later row.
        let stored_hash = EventHash::from_slice(row.hash).unwrap_or(computed);
        match self.streams.get_mut(row.stream) {
            Some(link) => *link = (row.revision, stored_hash),
            None => {
                self.streams.insert(row.stream.to_owned(), (row.revision, stored_hash));
            }
        }
    }

    pub fn unreadable(&mut self, position: Position, reason: String) {
        self.events += 1;
        self.next_position = position.0 + 1;
        self.push(ChainProblem {
            position,
            stream: String::new(),
            revision: None,
            kind: ProblemKind::Unreadable(reason),
        });
    }

    /// Closes a whole-log verification against the head the store recorded.
    pub fn finish(mut self, recorded_head: Option<u64>) -> VerifyReport {
        let last_found = self.next_position - 1;
        if let Some(recorded_head) = recorded_head.filter(|head| *head != last_found) {
            self.push(ChainProblem {
                position: Position(last_found + 1),
                stream: String::new(),
                revision: None,
                kind: ProblemKind::Truncated { recorded_head, last_found },
            });
        }
        VerifyReport {
            events_checked: self.events,
            streams_checked: self.streams.len() as u64,
            problems: self.problems,
        }
    }

    fn report(&mut self, position: Position, row: &RowRef<'_>, kind: ProblemKind) {
        self.push(ChainProblem { position, stream: row.stream.to_owned(), revision: Some(row.revision), kind });
    }

    fn push(&mut self, problem: ChainProblem) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(problem);
        }
    }
}

/// Rows per page while verifying (and between progress reports).
pub(crate) const VERIFY_PAGE: usize = 10_000;

/// A row as checked: borrowed from the row as fetched, or the position and reason it cannot be read.
pub(crate) type ScannedRow<'a> = Result<RowRef<'a>, (u64, String)>;

/// What a backend provides so the shared verification can walk its rows. (SQLite walks one
/// snapshot of its own on synchronous connections: `sqlite_reader`.)
pub(crate) trait RowSource: Sync {
    /// A row as fetched, handed whole to the hashing thread.
    type Row: Send + 'static;

    /// Decodes a fetched row there, borrowing its text and bytes.
    fn scan(row: &Self::Row) -> ScannedRow<'_>;
    /// Rows with position > `after`, in position order.
    fn log_page(&self, after: u64, limit: usize) -> impl Future<Output = Result<Vec<Self::Row>, StoreError>> + Send;
    /// One stream's rows in revision order, skipping the first `offset`.
    fn stream_page(
        &self,
        stream: &str,
        offset: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Self::Row>, StoreError>> + Send;
    /// The head position the store recorded with its last commit.
    fn recorded_head(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

pub(crate) async fn run<R: RowSource>(
    source: &R,
    scope: &VerifyScope,
    progress: &(dyn Fn(VerifyProgress) + Send + Sync),
) -> Result<VerifyReport, StoreError> {
    match scope {
        VerifyScope::All => {
            // Read the head first: rows committed while we walk lie beyond it and are left for next time.
            let head = source.recorded_head().await?;
            let mut verifier = ChainVerifier::new(true);
            let mut page = source.log_page(0, VERIFY_PAGE).await?;
            // A pipeline over the two cores: the next page is read while this one is decoded and hashed
            // on a blocking thread. The checks stay in log order, so the global-order check is unchanged.
            while let Some(last) = page.last() {
                let after = R::scan(last).map_or_else(|(p, _)| p, |row| row.position);
                let checking = tokio::task::spawn_blocking(move || {
                    let beyond_head = page_into::<R>(&mut verifier, &page, head);
                    (verifier, beyond_head)
                });
                let (next, checked) = tokio::join!(source.log_page(after, VERIFY_PAGE), checking);
                let beyond_head;
                (verifier, beyond_head) = checked.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
                progress(VerifyProgress { checked: verifier.checked(), head: Position(head) });
                if beyond_head {
                    break;
                }
                page = next?;
            }
            Ok(verifier.finish(Some(head)))
        }
        VerifyScope::Streams(streams) => {
            let mut verifier = ChainVerifier::new(false);
            for stream in streams {
                let mut offset = 0;
                loop {
                    let page = source.stream_page(stream, offset, VERIFY_PAGE).await?;
                    let full = page.len() == VERIFY_PAGE;
                    offset += page.len() as u64;
                    page_into::<R>(&mut verifier, &page, u64::MAX);
                    progress(VerifyProgress { checked: verifier.checked(), head: Position(0) });
                    if !full {
                        break;
                    }
                }
            }
            Ok(verifier.finish(None))
        }
    }
}

/// Feeds a page to the verifier; true once it reached rows committed after the walk began.
fn page_into<R: RowSource>(verifier: &mut ChainVerifier, page: &[R::Row], head: u64) -> bool {
    for row in page {
        match R::scan(row) {
            Ok(row) if row.position > head => return true,
            Ok(row) => verifier.check(row),
            Err((position, _)) if position > head => return true,
            Err((position, reason)) => verifier.unreadable(Position(position), reason),
        }
    }
    false
}
