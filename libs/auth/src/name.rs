//! A caller's display name, as a token (or a local caller's header) gives it. It is written into
//! every event the caller causes and shown to auditors beside ids, so it is checked like any other
//! input: bounded, printable, and unable to disguise itself (no control or bidirectional-override
//! characters that would make one name render as another).

/// The longest display name accepted, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 100;

/// The name trimmed, or why it is refused. An empty name after trimming means "no name".
pub fn display_name(raw: &str) -> Result<Option<String>, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Ok(None);
    }
    if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(format!("`name` is longer than {MAX_DISPLAY_NAME_CHARS} characters"));
    }
    if let Some(c) = name.chars().find(|c| is_hidden(*c)) {
        return Err(format!("`name` holds the invisible or control character U+{:04X}", u32::from(c)));
    }
    Ok(Some(name.to_owned()))
}

/// Control characters, and the format characters that reorder or hide text (bidirectional
/// overrides and isolates, zero-width joiners and spaces, the byte-order mark).
fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
        || matches!(c, '\u{E000}'..='\u{F8FF}' | '\u{FFF0}'..='\u{FFFF}')
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_plain_name_is_kept_trimmed_and_an_empty_one_means_none() {
        assert_eq!(display_name("  Dr. Ana Ruiz ").unwrap().as_deref(), Some("Dr. Ana Ruiz"));
        assert_eq!(display_name("Zoë O'Brien-Łukasz 山田").unwrap().as_deref(), Some("Zoë O'Brien-Łukasz 山田"));
        assert_eq!(display_name("   ").unwrap(), None);
    }

    #[test]
    fn control_and_reordering_characters_are_refused_naming_the_character() {
        for hostile in ["Ana\0Ruiz", "Ana\nRuiz", "Ana\u{202E}ziuR", "Ana\u{200B}", "\u{FEFF}Ana"] {
            let error = display_name(hostile).unwrap_err();
            assert!(error.contains("U+"), "{hostile:?}: {error}");
        }
    }

    proptest! {
        #[test]
        fn whatever_is_accepted_is_bounded_and_printable(raw in any::<String>()) {
            if let Ok(Some(name)) = display_name(&raw) {
                prop_assert!(name.chars().count() <= MAX_DISPLAY_NAME_CHARS);
                prop_assert!(!name.chars().any(is_hidden));
                prop_assert_eq!(name.trim(), name.as_str());
            }
        }

        #[test]
        fn too_long_names_are_refused(name in "[a-z]{101,300}") {
            prop_assert!(display_name(&name).is_err());
        }
    }
}
