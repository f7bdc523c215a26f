//! Finding a client by name, date of birth or member id without keeping any of them in clear: a
//! keyed blind index. Each searchable fact becomes a term (`kind`, normalised value), and the index
//! stores only HMAC-SHA256(key, term), cut to 128 bits. The key comes from the vault's master key
//! and never touches the database, so a copy of the read models cannot be searched or reversed
//! by guessing names; erasure removes the client's terms with the rest of its PHI.

use carelog_domain::error::ValidationError;
use carelog_domain::intake::{Demographics, Payer};
use carelog_domain::types::{MemberId, iso_date};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The longest name a search takes, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// The most name words a search takes: each is one more term to match.
pub const MAX_NAME_WORDS: usize = 8;

/// The blind index's key (derived from the vault's master key; never stored).
#[derive(Clone)]
pub struct SearchKey([u8; 32]);

impl SearchKey {
    pub fn new(key: [u8; 32]) -> Self {
        Self(key)
    }

    /// The stored token of one term.
    fn token(&self, term: &Term) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(term.kind.as_bytes());
        mac.update(&[0]);
        mac.update(term.value.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// The tokens of every searchable fact of a client's demographics (none once erased).
    pub fn tokens_of(&self, demographics: &Demographics) -> Vec<String> {
        let mut terms = Vec::new();
        let names = std::iter::once(&demographics.legal_name).chain(demographics.preferred_name.as_ref());
        for name in names {
            terms.extend(name_words(name.as_str()).into_iter().map(|w| Term::new(NAME, w)));
        }
        if let Some(born) = demographics.date_of_birth {
            terms.push(Term::new(BORN, born.format("%Y-%m-%d").to_string()));
        }
        if let Payer::Insurance { member_id, .. } = &demographics.payer {
            terms.push(Term::new(MEMBER, member_key(member_id.as_str())));
        }
        self.tokens(&terms)
    }

    /// The tokens a search must all match, or the field at fault.
    pub fn tokens_for(&self, query: &SearchQuery<'_>) -> Result<Vec<String>, ValidationError> {
        let mut terms = Vec::new();
        if !query.name.trim().is_empty() {
            if query.name.chars().count() > MAX_NAME_CHARS {
                return Err(ValidationError::new("name", format!("must be at most {MAX_NAME_CHARS} characters")));
            }
            if query.name.chars().any(char::is_control) {
                return Err(ValidationError::new("name", "must not hold control characters"));
            }
            let words = name_words(query.name);
            if words.is_empty() {
                return Err(ValidationError::new("name", "must hold at least one letter or digit"));
            }
            if words.len() > MAX_NAME_WORDS {
                return Err(ValidationError::new("name", format!("must be at most {MAX_NAME_WORDS} words")));
            }
            terms.extend(words.into_iter().map(|w| Term::new(NAME, w)));
        }
        if !query.date_of_birth.is_empty() {
            let born = iso_date("date_of_birth", query.date_of_birth)?;
            terms.push(Term::new(BORN, born.format("%Y-%m-%d").to_string()));
        }
        if !query.member_id.is_empty() {
            let id = MemberId::parse(query.member_id)?;
            terms.push(Term::new(MEMBER, member_key(id.as_str())));
        }
        if terms.is_empty() {
            return Err(ValidationError::new("name", "give a name, a date_of_birth or a member_id to search by"));
        }
        Ok(self.tokens(&terms))
    }

    /// The distinct tokens of `terms`, sorted.
    fn tokens(&self, terms: &[Term]) -> Vec<String> {
        let mut tokens: Vec<String> = terms.iter().map(|t| self.token(t)).collect();
        tokens.sort();
        tokens.dedup();
        tokens
    }
}

impl std::fmt::Debug for SearchKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SearchKey(…)")
    }
}

/// What a caller searches by; empty means "not by this".
#[derive(Debug, Clone, Copy, Default)]
pub struct SearchQuery<'a> {
    pub name: &'a str,
    pub date_of_birth: &'a str,
    pub member_id: &'a str,
}

const NAME: &str = "name";
const BORN: &str = "born";
const MEMBER: &str = "member";

struct Term {
    kind: &'static str,
    value: String,
}

impl Term {
    fn new(kind: &'static str, value: String) -> Self {
        Self { kind, value }
    }
}

/// A name's words, folded the way people search: compatibility-decomposed, accents dropped,
/// case folded (upper then lower, so "ß" and "SS" meet), split at anything that is not a letter
/// or digit ("O'Brien-Łukasz" → o, brien, łukasz — Ł has no decomposition and stays itself).
fn name_words(name: &str) -> Vec<String> {
    let bare = |s: &str| s.nfkd().filter(|c| !is_combining_mark(*c)).collect::<String>();
    let folded = bare(&bare(name).to_uppercase().to_lowercase());
    let mut words: Vec<String> =
        folded.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_owned).collect();
    words.sort();
    words.dedup();
    words
}

/// A member id without its hyphens (payers print them differently).
fn member_key(member_id: &str) -> String {
    member_id.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_uppercase()
}

#[cfg(test)]
#[path = "search_tests.rs"]
mod tests;
