use carelog_domain::intake::{Contact, Demographics, Payer};
use carelog_domain::types::{MemberId, PersonName, ShortText};
use chrono::NaiveDate;
use proptest::prelude::*;

use super::*;

fn key(byte: u8) -> SearchKey {
    SearchKey::new([byte; 32])
}

fn person(legal: &str, preferred: Option<&str>, born: (i32, u32, u32), member: Option<&str>) -> Demographics {
    Demographics {
        legal_name: PersonName::parse(legal).unwrap(),
        preferred_name: preferred.map(|p| PersonName::parse(p).unwrap()),
        date_of_birth: NaiveDate::from_ymd_opt(born.0, born.1, born.2),
        contact: Contact::default(),
        payer: match member {
            Some(id) => Payer::Insurance {
                payer_name: ShortText::parse("Blue Plan").unwrap(),
                member_id: MemberId::parse(id).unwrap(),
            },
            None => Payer::SelfPay,
        },
    }
}

fn finds(key: &SearchKey, who: &Demographics, query: SearchQuery<'_>) -> bool {
    let stored = key.tokens_of(who);
    key.tokens_for(&query).unwrap().iter().all(|t| stored.contains(t))
}

#[test]
fn a_client_is_found_by_any_name_word_in_any_case_or_accent_by_birth_date_and_member_id() {
    let k = key(7);
    let zoe = person("Zoë O'Brien-Łukasz", Some("Zo"), (1990, 5, 17), Some("XYZ-123456"));
    for name in ["zoe", "ZOË", "obrien", "o brien", "łukasz", "Brien Zoe", "zo"] {
        let name_only = SearchQuery { name, ..Default::default() };
        // "obrien" is one word and the name's words are o, brien: it must not match.
        assert_eq!(finds(&k, &zoe, name_only), name != "obrien", "{name}");
    }
    assert!(finds(&k, &zoe, SearchQuery { date_of_birth: "1990-05-17", ..Default::default() }));
    assert!(finds(&k, &zoe, SearchQuery { member_id: "xyz123456", ..Default::default() }));
    let all = SearchQuery { name: "zoe", date_of_birth: "1990-05-17", member_id: "XYZ-123456" };
    assert!(finds(&k, &zoe, all));
    assert!(!finds(&k, &zoe, SearchQuery { date_of_birth: "1990-05-18", ..all }), "every criterion must match");
    assert!(!finds(&k, &zoe, SearchQuery { name: "zoey", ..Default::default() }), "whole words only");
}

#[test]
fn tokens_are_keyed_and_hold_nothing_readable() {
    let zoe = person("Zoe Rivera", None, (1990, 5, 17), Some("XYZ123456"));
    let (a, b) = (key(1).tokens_of(&zoe), key(2).tokens_of(&zoe));
    assert!(a.iter().all(|t| !b.contains(t)), "another key, other tokens: a stolen index cannot be matched");
    for token in &a {
        assert_eq!(token.len(), 32, "128-bit hex");
        assert!(token.chars().all(|c| c.is_ascii_hexdigit()));
    }
}

#[test]
fn hostile_or_empty_searches_are_refused_naming_the_field() {
    let k = key(3);
    let long = "a".repeat(MAX_NAME_CHARS + 1);
    let many = "a b c d e f g h i";
    for (query, field) in [
        (SearchQuery::default(), "name"),
        (SearchQuery { name: "   ", ..Default::default() }, "name"),
        (SearchQuery { name: "--- '''", ..Default::default() }, "name"),
        (SearchQuery { name: "Ana\0Ruiz", ..Default::default() }, "name"),
        (SearchQuery { name: &long, ..Default::default() }, "name"),
        (SearchQuery { name: many, ..Default::default() }, "name"),
        (SearchQuery { date_of_birth: "-5000-01-01", ..Default::default() }, "date_of_birth"),
        (SearchQuery { date_of_birth: "1990-5-17", ..Default::default() }, "date_of_birth"),
        (SearchQuery { member_id: "x", ..Default::default() }, "member_id"),
        (SearchQuery { member_id: "ID\0", ..Default::default() }, "member_id"),
    ] {
        assert_eq!(k.tokens_for(&query).unwrap_err().field, field, "{query:?}");
    }
}

proptest! {
    /// Whatever the name, each of its words (in another case) finds the client, under any key.
    #[test]
    fn every_word_of_a_registered_name_finds_its_client(
        words in prop::collection::vec("[A-Za-zÀ-ÖØ-öø-ÿ]{1,12}", 1..5),
        pick in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let name = words.join(" ");
        let who = person(&name, None, (1980, 1, 1), None);
        let word = pick.get(&words).to_uppercase();
        let k = key(byte);
        prop_assert!(finds(&k, &who, SearchQuery { name: &word, ..Default::default() }), "{word} in {name}");
    }

    /// A search never panics, and whatever it accepts yields at most one token per term.
    #[test]
    fn any_input_is_either_refused_or_bounded(name in any::<String>(), born in any::<String>(), member in any::<String>()) {
        let query = SearchQuery { name: &name, date_of_birth: &born, member_id: &member };
        if let Ok(tokens) = key(9).tokens_for(&query) {
            prop_assert!(!tokens.is_empty() && tokens.len() <= MAX_NAME_WORDS + 2);
        }
    }
}
