//! What kind of data every field holds, declared once: the class of each field of each event
//! (and, through [`Classes`], of each read-model document), from which the read gate decides what
//! a role may see (DESIGN.md §5a, "one gate out").
//!
//! A field is named by its path in the event's data: keys joined by `.`, `[]` after a key for
//! each element of its array (`lines[].amount`). A class comes from the event type's own entries
//! first (a pattern ending in `.*` covers everything under that key), then from the vocabulary of
//! field names shared by every event ([`KEYS`], matched on the path's last key). A field neither
//! names is unclassed, and an unclassed field is withheld from everyone: a new field stays closed
//! until someone declares what it holds, and the round-trip tests of every aggregate fail until
//! they do ([`assert_classified`]).

use serde_json::Value;

/// What kind of data a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FieldClass {
    /// Ids of records and of the people acting on them, hashes: meaningless without the record.
    Identifier,
    /// Times, statuses, kinds, counts, versions and the access log's bookkeeping: the shape of
    /// care, not its content.
    Administrative,
    /// Legal and preferred name, date of birth, health plan member id: who the client is.
    Demographics,
    /// Phone, email, address.
    Contact,
    /// Who pays: self-pay or the payer's name.
    Coverage,
    /// Procedure codes, amounts, claims and payments.
    Financial,
    /// Free text in billing records: write-off notes, payer rejection reasons. Seen as billing is,
    /// kept sealed at rest as clinical text is.
    BillingText,
    /// ICD-10-CM codes and their code sets.
    Diagnosis,
    /// Screening instruments: item scores, totals, severity bands, progress ratings.
    Assessment,
    /// Clinical free text: note content, addenda, reasons, goals, plans, discharge summaries,
    /// amendment requests and decisions, risk-flag actions.
    ClinicalText,
    /// Consent terms that name third parties: recipients, purposes, signers, programs.
    ConsentTerms,
    /// Psychotherapy note text (HIPAA §164.501): its author alone reads it, through
    /// `GetPsychotherapyNote`; no role sees it anywhere else.
    PsychotherapyNote,
}

impl FieldClass {
    pub const ALL: [FieldClass; 12] = [
        Self::Identifier,
        Self::Administrative,
        Self::Demographics,
        Self::Contact,
        Self::Coverage,
        Self::Financial,
        Self::BillingText,
        Self::Diagnosis,
        Self::Assessment,
        Self::ClinicalText,
        Self::ConsentTerms,
        Self::PsychotherapyNote,
    ];

    /// The name users see in redaction marks and docs/security.md.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Identifier => "identifier",
            Self::Administrative => "administrative",
            Self::Demographics => "demographics",
            Self::Contact => "contact",
            Self::Coverage => "coverage",
            Self::Financial => "financial",
            Self::BillingText => "billing_text",
            Self::Diagnosis => "diagnosis",
            Self::Assessment => "assessment",
            Self::ClinicalText => "clinical_text",
            Self::ConsentTerms => "consent_terms",
            Self::PsychotherapyNote => "psychotherapy_note",
        }
    }

    /// Whether the class holds protected health information on its own.
    pub fn is_phi(self) -> bool {
        !matches!(self, Self::Identifier | Self::Administrative)
    }

    /// Whether values of the class are sealed at rest (encrypted under the client's key, so erasure
    /// shreds them): what identifies the client and every free text. Codes, scores, amounts, ids
    /// and times stay readable so chains, ledgers and statistics survive erasure (ADR 0003). Every
    /// value of a sealed class is text (a test holds every event type's fixtures to it), so the
    /// erased marker can stand in for it.
    pub fn sealed_at_rest(self) -> bool {
        matches!(
            self,
            Self::Demographics
                | Self::Contact
                | Self::BillingText
                | Self::ClinicalText
                | Self::ConsentTerms
                | Self::PsychotherapyNote
        )
    }
}

impl std::fmt::Display for FieldClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

use crate::field_classes::EVENTS;
pub use crate::field_classes::KEYS;

/// The entries of one kind of document, with [`KEYS`] behind them.
#[derive(Debug, Clone, Copy)]
pub struct Classes {
    own: &'static [(&'static str, FieldClass)],
}

impl Classes {
    pub const fn new(own: &'static [(&'static str, FieldClass)]) -> Self {
        Self { own }
    }

    /// The class of the field at `path` (array indexes written `[]`), if one is declared.
    pub fn of(&self, path: &str) -> Option<FieldClass> {
        if let Some(class) = self.own.iter().find(|(pattern, _)| covers(pattern, path)).map(|(_, c)| *c) {
            return Some(class);
        }
        let last = path.rsplit('.').next().unwrap_or(path).trim_end_matches("[]");
        KEYS.iter().find(|(key, _)| *key == last).map(|(_, c)| *c)
    }
}

/// The classes of an event type's fields; an unknown type has only the shared vocabulary.
pub fn event_classes(event_type: &str) -> Classes {
    Classes::new(EVENTS.iter().find(|(t, _)| *t == event_type).map_or(&[][..], |(_, own)| own))
}

fn covers(pattern: &str, path: &str) -> bool {
    match pattern.strip_suffix(".*") {
        Some(prefix) => path.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('.') || rest.starts_with("[]")),
        None => pattern == path,
    }
}

/// The mark left where a value was withheld: visible, and saying what kind of data it was.
pub fn redaction_mark(class: Option<FieldClass>) -> Value {
    match class {
        Some(class) => Value::String(format!("[redacted: {class}]")),
        None => Value::String("[redacted: unclassified]".to_owned()),
    }
}

/// What [`redact`] withheld: per path pattern (`sessions[].note.content.plan`) and class, how many
/// values. Ordered by path, so a reply lists it the same way every time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Withheld(pub std::collections::BTreeMap<(String, Option<FieldClass>), u32>);

impl Withheld {
    /// How many values were withheld in all.
    pub fn count(&self) -> usize {
        self.0.values().map(|n| *n as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `(path, class name, count)`, with `unclassified` for values no table declares.
    pub fn entries(&self) -> impl Iterator<Item = (&str, String, u32)> {
        self.0.iter().map(|((path, class), n)| {
            (path.as_str(), class.map_or_else(|| "unclassified".to_owned(), |c| c.to_string()), *n)
        })
    }
}

/// Replaces every value whose class `visible` refuses (and every unclassed value) with its
/// [`redaction_mark`]; nulls stay null. Returns what was withheld.
pub fn redact(value: &mut Value, classes: &Classes, visible: &impl Fn(FieldClass) -> bool) -> Withheld {
    let mut withheld = Withheld::default();
    walk(value, &mut |path, leaf| {
        let class = classes.of(path);
        if class.is_some_and(visible) || leaf.is_null() {
            return 0;
        }
        *leaf = redaction_mark(class);
        *withheld.0.entry((path.to_owned(), class)).or_default() += 1;
        1
    });
    withheld
}

/// Replaces every text value of `value` that is sealed at rest under `classes` (and every text
/// value without a class) by `marker`: the scrub an erasure applies to documents folded before it,
/// derived from the same declaration as the sealing of the log. Returns how many were replaced.
pub fn scrub(value: &mut Value, classes: &Classes, marker: &str) -> usize {
    walk(value, &mut |path, leaf| {
        let sealed = classes.of(path).is_none_or(FieldClass::sealed_at_rest);
        if sealed && leaf.is_string() {
            *leaf = Value::from(marker);
            return 1;
        }
        0
    })
}

/// Asserts that every field of `data` has a class under `classes`.
pub fn assert_classified(what: &str, data: &Value, classes: &Classes) {
    let mut unclassed = Vec::new();
    walk(&mut data.clone(), &mut |path, leaf| {
        // An absent optional value has no class of its own: its present form is checked instead.
        if !leaf.is_null() && classes.of(path).is_none() {
            unclassed.push(path.to_owned());
        }
        0
    });
    unclassed.dedup();
    assert!(
        unclassed.is_empty(),
        "{what}: fields without a class (declare each where its type or view is classed): {unclassed:?}"
    );
}

/// Visits every leaf of `value` with its concrete path (`progress[0].comment`, what a ciphertext
/// is bound to) and its pattern (`progress[].comment`, what classes are declared by); stops at the
/// first error.
pub fn for_each_leaf<E>(
    value: &mut Value,
    on_leaf: &mut impl FnMut(&str, &str, &mut Value) -> Result<(), E>,
) -> Result<(), E> {
    leaves(value, &mut String::new(), &mut String::new(), on_leaf)
}

fn leaves<E>(
    value: &mut Value,
    concrete: &mut String,
    pattern: &mut String,
    on_leaf: &mut impl FnMut(&str, &str, &mut Value) -> Result<(), E>,
) -> Result<(), E> {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                let (c, p) = (concrete.len(), pattern.len());
                if !concrete.is_empty() {
                    concrete.push('.');
                    pattern.push('.');
                }
                concrete.push_str(key);
                pattern.push_str(key);
                leaves(child, concrete, pattern, on_leaf)?;
                concrete.truncate(c);
                pattern.truncate(p);
            }
        }
        Value::Array(items) => {
            let (c, p) = (concrete.len(), pattern.len());
            pattern.push_str("[]");
            for (i, item) in items.iter_mut().enumerate() {
                concrete.push_str(&format!("[{i}]"));
                leaves(item, concrete, pattern, on_leaf)?;
                concrete.truncate(c);
            }
            pattern.truncate(p);
        }
        leaf => on_leaf(concrete, pattern, leaf)?,
    }
    Ok(())
}

/// Visits every leaf with its pattern; sums what `on_leaf` counts.
fn walk(value: &mut Value, on_leaf: &mut impl FnMut(&str, &mut Value) -> usize) -> usize {
    let mut count = 0;
    let _ = for_each_leaf(value, &mut |_, pattern, leaf| {
        count += on_leaf(pattern, leaf);
        Ok::<_, ()>(())
    });
    count
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use FieldClass::*;

    #[test]
    fn an_event_entry_wins_over_the_shared_vocabulary_and_patterns_cover_their_subtree() {
        let consent = event_classes("ConsentGiven");
        assert_eq!(consent.of("kind.signed_by"), Some(ConsentTerms));
        assert_eq!(consent.of("kind.kind"), Some(Administrative));
        assert_eq!(consent.of("recorded_by"), Some(Identifier));
        assert_eq!(event_classes("TreatmentPlanSigned").of("signed_by"), Some(Identifier));
        assert_eq!(event_classes("ProgressNoteSigned").of("content.subjective"), Some(ClinicalText));
        assert_eq!(event_classes("ProgressNoteSigned").of("contents"), None);
        assert_eq!(event_classes("GoodFaithEstimateIssued").of("lines[].amount"), Some(Financial));
        assert_eq!(event_classes("Anything").of("mystery_field"), None);
    }

    #[test]
    fn redaction_marks_what_the_role_may_not_see_and_withholds_unclassed_fields() {
        let mut data = json!({
            "note_id": "n1", "text": "the secret", "author": "c1",
            "extra": {"nested": [1, 2]}, "reason": null
        });
        let withheld = redact(&mut data, &event_classes("PsychotherapyNoteRecorded"), &|c| c != PsychotherapyNote);
        assert_eq!(withheld.count(), 3);
        let listed: Vec<_> = withheld.entries().collect();
        assert_eq!(
            listed,
            vec![("extra.nested[]", "unclassified".to_owned(), 2), ("text", "psychotherapy_note".to_owned(), 1)]
        );
        assert_eq!(data["text"], "[redacted: psychotherapy_note]");
        assert_eq!(data["extra"]["nested"], json!(["[redacted: unclassified]", "[redacted: unclassified]"]));
        assert_eq!(data["note_id"], "n1");
        assert_eq!(data["reason"], Value::Null);
    }
}
