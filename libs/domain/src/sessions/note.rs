//! Session and note vocabularies.

use serde::{Deserialize, Serialize};

use crate::types::{AddendumId, NoteText, Reason};

/// What kind of visit a session is; billing derives the CPT code from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    /// Psychiatric diagnostic evaluation.
    Intake,
    /// Individual psychotherapy.
    Psychotherapy,
    /// Psychotherapy for crisis.
    Crisis,
    FamilyWithPatient,
    FamilyWithoutPatient,
}

/// Who cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelledBy {
    Client,
    Clinician,
    Practice,
}

/// The documentation format of a progress note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum NoteFormat {
    Soap,
    Dap,
    Birp,
}

/// A progress note's sections, by format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "format", rename_all = "UPPERCASE")]
pub enum NoteContent {
    Soap { subjective: NoteText, objective: NoteText, assessment: NoteText, plan: NoteText },
    Dap { data: NoteText, assessment: NoteText, plan: NoteText },
    Birp { behavior: NoteText, intervention: NoteText, response: NoteText, plan: NoteText },
}

impl NoteContent {
    /// The format.
    pub fn format(&self) -> NoteFormat {
        match self {
            Self::Soap { .. } => NoteFormat::Soap,
            Self::Dap { .. } => NoteFormat::Dap,
            Self::Birp { .. } => NoteFormat::Birp,
        }
    }

    /// Sections as (name, text) in documentation order.
    pub fn sections(&self) -> Vec<(&'static str, &NoteText)> {
        match self {
            Self::Soap { subjective, objective, assessment, plan } => {
                vec![("subjective", subjective), ("objective", objective), ("assessment", assessment), ("plan", plan)]
            }
            Self::Dap { data, assessment, plan } => {
                vec![("data", data), ("assessment", assessment), ("plan", plan)]
            }
            Self::Birp { behavior, intervention, response, plan } => {
                vec![("behavior", behavior), ("intervention", intervention), ("response", response), ("plan", plan)]
            }
        }
    }

    /// The exact bytes the content hash covers: the format, then each section as
    /// `name`, a line feed, its byte length, a line feed and the text. Length-prefixing makes
    /// the encoding unambiguous whatever the sections contain. The service hashes this with
    /// SHA-256 and passes the digest in `SignProgressNote`.
    pub fn canonical_text(&self) -> String {
        let mut out = format!("{:?}\n", self.format()).to_ascii_uppercase();
        for (name, text) in self.sections() {
            out.push_str(&format!("{name}\n{}\n{}\n", text.as_str().len(), text.as_str()));
        }
        out
    }
}

/// Why text is appended to a signed note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddendumKind {
    /// New information added after signing.
    Addendum,
    /// Fixes an error in the signed text (which stays visible).
    Correction,
    /// Documentation of care entered after the usual window.
    LateEntry,
}

/// Grounds on which 45 CFR 164.526(a)(2) allows denying an amendment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DenialBasis {
    NotCreatedByPractice,
    NotPartOfDesignatedRecordSet,
    NotAvailableForInspection,
    AccurateAndComplete,
}

/// The outcome of an amendment request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AmendmentDecision {
    /// Accepted; the change was appended as a correction with this addendum id.
    Accepted { addendum_id: AddendumId },
    /// Denied in writing with the basis (164.526(d)).
    Denied { basis: DenialBasis, explanation: Reason },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::note;

    #[test]
    fn canonical_text_is_stable_and_unambiguous() {
        let a = NoteContent::Dap { data: note("a\nb"), assessment: note("c"), plan: note("d") };
        let b = NoteContent::Dap { data: note("a"), assessment: note("b\nc"), plan: note("d") };
        assert_eq!(a.canonical_text(), "DAP\ndata\n3\na\nb\nassessment\n1\nc\nplan\n1\nd\n");
        assert_ne!(a.canonical_text(), b.canonical_text());
        assert_eq!(a.format(), NoteFormat::Dap);
    }
}
