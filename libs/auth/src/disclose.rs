//! Which role sees which class of data (minimum necessary, HIPAA §164.502(b)), and the one place
//! a reply's data is cut to it: every outbound value (views, ledgers, alerts, streamed events,
//! exports) is redacted here by the field classes declared in `carelog_domain::disclosure` and the
//! projections' view classes. A withheld value is replaced by a visible `[redacted: CLASS]` mark.

use carelog_domain::disclosure::{self, Classes, FieldClass};
use serde_json::Value;

use super::Role;
use super::access::Pass;

#[rustfmt::skip]
const SEES: &[(FieldClass, &str)] = &[
    //                                    int cli sup bil aud con adm
    (FieldClass::Identifier,             "Y   Y   Y   Y   Y   Y   Y"),
    (FieldClass::Administrative,         "Y   Y   Y   Y   Y   Y   Y"),
    (FieldClass::Demographics,           "Y   Y   Y   Y   Y   Y   -"),
    (FieldClass::Contact,                "Y   Y   Y   Y   Y   Y   -"),
    (FieldClass::Coverage,               "Y   Y   Y   Y   Y   Y   -"),
    (FieldClass::Financial,              "Y   Y   Y   Y   Y   Y   -"),
    (FieldClass::BillingText,            "Y   Y   Y   Y   Y   Y   -"),
    (FieldClass::Diagnosis,              "-   Y   Y   Y   Y   Y   -"),
    (FieldClass::Assessment,             "-   Y   Y   -   Y   Y   -"),
    (FieldClass::ClinicalText,           "-   Y   Y   -   Y   Y   -"),
    (FieldClass::ConsentTerms,           "Y   Y   Y   -   Y   Y   -"),
    // Read by its author alone, through GetPsychotherapyNote: never through any shared channel.
    (FieldClass::PsychotherapyNote,      "-   -   -   -   -   -   -"),
];

/// Whether `role` may see data of `class`. A class missing from the table is seen by nobody.
pub fn sees(role: Role, class: FieldClass) -> bool {
    let column = Role::ALL.iter().position(|r| *r == role).unwrap_or(usize::MAX);
    SEES.iter().find(|(c, _)| *c == class).and_then(|(_, cells)| cells.split_whitespace().nth(column)) == Some("Y")
}

/// What kind of document leaves, so its fields can be classed.
#[derive(Debug, Clone, Copy)]
pub enum Outbound<'a> {
    /// An event's data, by its type.
    Event(&'a str),
    /// A read model with its own field classes.
    View(&'a Classes),
}

impl Outbound<'_> {
    fn classes(&self) -> Classes {
        match self {
            Self::Event(event_type) => disclosure::event_classes(event_type),
            Self::View(classes) => **classes,
        }
    }
}

impl Pass {
    /// Cuts `value` to what this caller's role may see; returns how many values were withheld.
    pub fn redact(&self, what: Outbound<'_>, value: &mut Value) -> disclosure::Withheld {
        let role = self.principal.role;
        disclosure::redact(value, &what.classes(), &|class| sees(role, class))
    }
}

/// An envelope's free-text reason: clinical text unless the event is the access log's own.
pub fn reason_class(event_type: &str) -> FieldClass {
    disclosure::event_classes(event_type).of("reason").unwrap_or(FieldClass::ClinicalText)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_has_a_row_with_a_cell_per_role() {
        for class in FieldClass::ALL {
            let (_, cells) = SEES.iter().find(|(c, _)| *c == class).unwrap_or_else(|| panic!("{class} has no row"));
            let marks: Vec<&str> = cells.split_whitespace().collect();
            assert_eq!(marks.len(), Role::ALL.len(), "{class}");
            assert!(marks.iter().all(|m| *m == "Y" || *m == "-"), "{class}: {cells}");
        }
    }

    #[test]
    fn psychotherapy_notes_are_seen_by_no_role_and_billers_see_no_clinical_text() {
        assert!(Role::ALL.iter().all(|role| !sees(*role, FieldClass::PsychotherapyNote)));
        assert!(!sees(Role::Biller, FieldClass::ClinicalText));
        assert!(!sees(Role::Biller, FieldClass::Assessment));
        assert!(sees(Role::Biller, FieldClass::Diagnosis));
        assert!(sees(Role::Auditor, FieldClass::ClinicalText));
        assert!(!sees(Role::Admin, FieldClass::Demographics));
    }
}
