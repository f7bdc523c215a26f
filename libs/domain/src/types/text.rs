//! Non-empty, bounded text. Values are trimmed; control characters are refused except line
//! breaks and tabs in multi-line text, because they corrupt printed records and claim forms.

use std::fmt;
use std::str::FromStr;

use crate::error::ValidationError;

/// What a PHI value reads as once its client's key was shredded. Stored events keep their
/// ciphertext; the read path puts this in its place, and every text type decodes it.
pub const ERASED: &str = "[erased]";

macro_rules! bounded_text {
    ($(#[$meta:meta])* $name:ident, $field:literal, $max:expr, multiline: $multi:expr, shape: $shape:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Field name used in validation errors.
            pub const FIELD: &'static str = $field;
            /// Maximum length in characters.
            pub const MAX_CHARS: usize = $max;

            /// Trims and validates. The erased marker is refused: only a shredded record shows it.
            pub fn parse(s: &str) -> Result<Self, ValidationError> {
                if s.trim() == ERASED {
                    return Err(ValidationError::new($field, "is reserved for erased records"));
                }
                let t = check_text(s, $field, $max, $multi)?;
                let shape: fn(&str) -> Result<(), ValidationError> = $shape;
                shape(&t)?;
                Ok(Self(t))
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Whether the value was crypto-shredded and only the marker is left.
            pub fn is_erased(&self) -> bool {
                self.0 == ERASED
            }

            /// The erased marker: what a read model keeps once the client's PHI was shredded.
            pub fn erased() -> Self {
                Self(ERASED.to_owned())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        /// Decoding (serde) also accepts the erased marker, so an erased history still loads.
        impl TryFrom<String> for $name {
            type Error = ValidationError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                if s == ERASED {
                    return Ok(Self(s));
                }
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(t: $name) -> Self {
                t.0
            }
        }
    };
}

fn check_text(s: &str, field: &str, max: usize, multiline: bool) -> Result<String, ValidationError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    let n = t.chars().count();
    if n > max {
        return Err(ValidationError::new(field, format!("must be at most {max} characters (got {n})")));
    }
    let allowed = |c: char| !c.is_control() || (multiline && matches!(c, '\n' | '\r' | '\t'));
    if !t.chars().all(allowed) {
        return Err(ValidationError::new(field, "must not contain control characters"));
    }
    Ok(t.to_owned())
}

bounded_text!(/// A person's name (legal or preferred).
    PersonName, "name", 200, multiline: false, shape: |_| Ok(()));
bounded_text!(/// A short single-line label: a goal's target, a payer name, a recipient.
    ShortText, "text", 500, multiline: false, shape: |_| Ok(()));
bounded_text!(/// Why something was done: a revocation, a cancellation, a correction.
    Reason, "reason", 2000, multiline: true, shape: |_| Ok(()));
bounded_text!(/// Clinical free text: note sections, discharge summaries, addenda.
    NoteText, "text", 50_000, multiline: true, shape: |_| Ok(()));
bounded_text!(/// A telephone number as entered (digits, spaces, `+ - ( ) .` only).
    PhoneNumber, "phone", 32, multiline: false, shape: phone_shape);
bounded_text!(/// An e-mail address (shape-checked only; deliverability is not the domain's business).
    Email, "email", 254, multiline: false, shape: email_shape);

fn phone_shape(p: &str) -> Result<(), ValidationError> {
    let digits = p.chars().filter(char::is_ascii_digit).count();
    let shape = p.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if !shape || !(7..=15).contains(&digits) {
        return Err(ValidationError::new("phone", "must be a phone number of 7 to 15 digits"));
    }
    Ok(())
}

fn email_shape(e: &str) -> Result<(), ValidationError> {
    let ok = match e.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !e.contains(char::is_whitespace)
        }
        None => false,
    };
    if !ok {
        return Err(ValidationError::new("email", "must be an e-mail address"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_must_not_be_empty() {
        assert_eq!(PersonName::parse("  Ada Lovelace ").unwrap().as_str(), "Ada Lovelace");
        assert_eq!(PersonName::parse("   ").unwrap_err().reason, "must not be empty");
        assert_eq!(Reason::parse("").unwrap_err().field, "reason");
    }

    #[test]
    fn text_is_bounded() {
        let long = "x".repeat(PersonName::MAX_CHARS + 1);
        assert!(PersonName::parse(&long).unwrap_err().reason.starts_with("must be at most 200"));
        assert!(PersonName::parse(&long[..200]).is_ok());
        assert!(NoteText::parse(&"y".repeat(50_001)).is_err());
    }

    #[test]
    fn control_characters_only_allowed_as_line_breaks_in_multiline_text() {
        assert!(PersonName::parse("Ada\nLovelace").is_err());
        assert!(ShortText::parse("bell\u{7}").is_err());
        assert!(NoteText::parse("S: sad\nO: tearful\tcalm").is_ok());
        assert!(NoteText::parse("nul\u{0}").is_err());
    }

    #[test]
    fn phone_numbers() {
        assert!(PhoneNumber::parse("+1 (555) 010-0199").is_ok());
        assert!(PhoneNumber::parse("12345").is_err());
        assert!(PhoneNumber::parse("555-CALL-NOW").is_err());
    }

    #[test]
    fn email_addresses() {
        assert!(Email::parse("ada@example.org").is_ok());
        for bad in ["ada", "@example.org", "ada@example", "ada@.org", "a da@example.org", "a@b@c.org"] {
            assert_eq!(Email::parse(bad).unwrap_err().field, "email", "{bad}");
        }
    }

    #[test]
    fn the_erased_marker_decodes_but_is_refused_as_input() {
        let name: PersonName = serde_json::from_str("\"[erased]\"").unwrap();
        assert!(name.is_erased());
        let phone: PhoneNumber = serde_json::from_str("\"[erased]\"").unwrap();
        assert!(phone.is_erased());
        assert_eq!(PersonName::parse(" [erased] ").unwrap_err().reason, "is reserved for erased records");
        assert!(!PersonName::parse("Ada").unwrap().is_erased());
    }

    #[test]
    fn text_deserialization_revalidates() {
        assert!(serde_json::from_str::<Reason>("\"  \"").is_err());
        assert_eq!(serde_json::from_str::<Reason>("\"why\"").unwrap().as_str(), "why");
    }
}
