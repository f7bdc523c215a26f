//! Which values of an event are sealed at rest, derived from the one declaration of what each
//! field holds (`carelog_domain::disclosure`): a value is sealed when its class is sealed at rest
//! (what identifies the client, and every free text) or when it has no class at all — a field
//! nobody declared is treated as the most sensitive kind, never left in clear by omission. Ids,
//! codes, scores, amounts and times stay readable forever (docs/adr/0003-crypto-shredding.md).
//!
//! Ciphertexts are bound to the value's concrete path: keys joined by `.`, array elements as
//! `key[i]` (`progress[0].comment`).

use carelog_domain::disclosure::{event_classes, for_each_leaf};
use serde_json::Value;

/// Metadata fields sealed on every event about a client: the free-text reason (a revocation's
/// reason is also its context reason) and the command fingerprint (a SHA-256 of the request,
/// which a dictionary of names and birth dates could invert).
pub const METADATA_PATHS: &[&str] = &["reason", "command.fingerprint"];

/// The erasure bookkeeping stays readable after the erasure it records; its reasons must hold no PHI.
pub fn is_erasure_record(event_type: &str) -> bool {
    matches!(event_type, "LegalHoldPlaced" | "LegalHoldReleased" | "ClientErased")
}

/// Calls `f` with every present, non-null value of `data` that is sealed at rest (see the module
/// docs), with its concrete path, and replaces the value with what `f` returns.
pub fn rewrite_sealed<E>(
    event_type: &str,
    data: &mut Value,
    f: &mut impl FnMut(&str, &Value) -> Result<Value, E>,
) -> Result<(), E> {
    let classes = event_classes(event_type);
    let sealed = |pattern: &str| classes.of(pattern).is_none_or(|class| class.sealed_at_rest());
    rewrite_where(data, &sealed, f)
}

/// Calls `f` with every present, non-null string of `data` (with its concrete path) and replaces
/// it with what `f` returns: opening looks at every value, so a ciphertext is found wherever it is.
pub fn rewrite_strings<E>(data: &mut Value, f: &mut impl FnMut(&str, &Value) -> Result<Value, E>) -> Result<(), E> {
    let mut only_strings =
        |path: &str, value: &Value| if value.is_string() { f(path, value) } else { Ok(value.clone()) };
    rewrite_where(data, &|_| true, &mut only_strings)
}

fn rewrite_where<E>(
    data: &mut Value,
    selected: &impl Fn(&str) -> bool,
    f: &mut impl FnMut(&str, &Value) -> Result<Value, E>,
) -> Result<(), E> {
    for_each_leaf(data, &mut |concrete, pattern, leaf| {
        if !leaf.is_null() && selected(pattern) {
            *leaf = f(concrete, leaf)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests;
