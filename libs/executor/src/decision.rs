//! What a decision produces: the events to append, and what must still hold when they commit.

use carelog_store::{Condition, Tags};

use crate::aggregate::Loaded;

/// What a decision produced: the events, the other streams it read (still at the revisions read),
/// and the tags that let read models find the events.
#[derive(Debug)]
pub struct Decision<E> {
    pub events: Vec<E>,
    pub conditions: Vec<Condition>,
    pub tags: Tags,
}

impl<E> Decision<E> {
    pub fn new(events: Vec<E>) -> Self {
        Self { events, conditions: Vec::new(), tags: Tags::default() }
    }

    /// The decision read `loaded`: refuse the append if that stream moved since.
    pub fn unless_changed<S>(mut self, loaded: &Loaded<S>) -> Self {
        self.conditions.push(Condition { stream: loaded.stream.clone(), expected: loaded.expected() });
        self
    }

    pub fn tagged(mut self, client: impl ToString, episode: Option<String>) -> Self {
        self.tags = Tags { client: Some(client.to_string()), episode };
        self
    }
}
