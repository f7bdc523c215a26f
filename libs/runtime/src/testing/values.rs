//! Field values in two modes. `Wild`: the edges a hostile or careless client sends (edge integers,
//! out-of-range timestamps, unknown enum values, control characters, huge text, near-UUIDs) mixed
//! with well-formed values. `Plausible`: only well-formed values, so a whole request of many fields
//! is often valid and the success path is exercised too. A string's shape is hinted by its field's
//! name (`*_id` → UUID, `icd10_code` → ICD-10, `*_on` → date …).

use proptest::collection::SizeRange;
use proptest::prelude::*;
use proptest::sample::select;
use uuid::{Builder, Uuid, Variant, Version};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Wild,
    Plausible,
}

/// The text of a string field named `field`.
pub fn text(field: &str, mode: Mode) -> BoxedStrategy<String> {
    match mode {
        Mode::Plausible => plausible(field),
        Mode::Wild => prop_oneof![2 => plausible(field), 2 => near(field), 1 => hostile()].boxed(),
    }
}

fn plausible(field: &str) -> BoxedStrategy<String> {
    match field {
        "icd10_code" | "icd10_codes" => "[Ff][0-9]{2}(\\.?[0-9A-Za-z]{1,4})?".boxed(),
        "cpt" => select(&["90785", "90791", "90832", "90834", "90837", "90839", "90840", "90846", "90847"][..])
            .prop_map(str::to_owned)
            .boxed(),
        "code_set_version" => (2016u32..=2100).prop_map(|y| y.to_string()).boxed(),
        "carc" => "[0-9A-Z]{1,3}".boxed(),
        "remarks" => "(M|MA|N)[0-9]{1,4}".boxed(),
        "email" => "[a-z]{1,8}@[a-z]{1,8}\\.[a-z]{2,3}".boxed(),
        "phone" => "\\+1 [0-9]{3} [0-9]{3}-[0-9]{4}".boxed(),
        "member_id" => "[A-Z0-9-]{2,30}".boxed(),
        "page_token" => (0..10_000u64).prop_map(|n| n.to_string()).boxed(),
        f if f.ends_with("_id") || f.ends_with("_ids") || f == "goals_addressed" => {
            prop_oneof![4 => uuid_of(Version::SortRand), 1 => uuid_of(Version::Random)]
                .prop_map(|u| u.hyphenated().to_string())
                .boxed()
        }
        f if f.ends_with("_on") || f.ends_with("_date") || f == "date_of_birth" => {
            let today = super::now().date_naive();
            let days = if f == "date_of_birth" { -36_500i64..0 } else { -800..800 };
            days.prop_map(move |days| (today + chrono::Duration::days(days)).to_string()).boxed()
        }
        // One line: most text fields refuse line breaks; the multi-line ones get them when wild.
        _ => "[A-Za-z][A-Za-z0-9 ,.'-]{0,60}".boxed(),
    }
}

/// Almost what the field takes: the look-alikes a careless client sends.
fn near(field: &str) -> BoxedStrategy<String> {
    match field {
        "icd10_code" | "icd10_codes" => {
            "[A-Z][0-9A-Z]{1,3}\\.?[0-9A-Za-z]{0,6}|F[0-9]{2}\\.{1,2}[0-9]{0,5}| f43\\.10 |F[0-9]{3,8}".boxed()
        }
        "cpt" => "[0-9]{5}| ?9083[0-9] ?|[0-9]{4,6}".boxed(),
        "code_set_version" => prop_oneof![(0u32..3000).prop_map(|y| y.to_string()), "0?[0-9]{1,5}| 2026 "].boxed(),
        "carc" => "[0-9A-Za-z]{0,5}".boxed(),
        "remarks" => "(M|MA|N|X)[0-9]{0,6}".boxed(),
        "email" => "[a-z@. ]{0,12}".boxed(),
        "phone" => "\\+?[0-9 ().a-z-]{0,20}".boxed(),
        "member_id" => "[A-Za-z0-9_ -]{0,32}".boxed(),
        "page_token" => prop_oneof![any::<u64>().prop_map(|n| n.to_string()), "-?[0-9]{1,21}"].boxed(),
        f if f.ends_with("_id") || f.ends_with("_ids") || f == "goals_addressed" => near_uuid(),
        f if f.ends_with("_on") || f.ends_with("_date") || f == "date_of_birth" => prop_oneof![
            (-1i32..=10_001, 0u32..=13, 0u32..=32).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
            "[0-9]{1,5}[-/.][0-9]{1,2}[-/.][0-9]{1,3}| ?[0-9]{4}-[0-9]{2}-[0-9]{2}T00:00:00Z ?|\\+[0-9]{5}-01-01",
        ]
        .boxed(),
        _ => prop_oneof!["[A-Za-z0-9 ,.'\n\t-]{0,80}", "[A-Za-z][A-Za-z .]{0,40}(\n[A-Za-z\t .]{1,40}){1,4}"].boxed(),
    }
}

fn uuid_of(version: Version) -> impl Strategy<Value = Uuid> {
    any::<u128>()
        .prop_map(move |n| Builder::from_u128(n).with_variant(Variant::RFC4122).with_version(version).into_uuid())
}

/// The other forms `Uuid::parse_str` takes, padding, other versions, nil, max, and near-UUIDs
/// with one character changed or dropped.
fn near_uuid() -> BoxedStrategy<String> {
    let id = any::<u128>().prop_map(Uuid::from_u128);
    prop_oneof![
        2 => id.clone().prop_map(|u| u.hyphenated().to_string()),
        1 => uuid_of(Version::SortRand).prop_map(|u| format!(" \t{}\n", u.hyphenated().to_string().to_uppercase())),
        1 => uuid_of(Version::SortRand).prop_map(|u| u.simple().to_string()),
        1 => uuid_of(Version::SortRand).prop_map(|u| u.braced().to_string()),
        1 => uuid_of(Version::SortRand).prop_map(|u| u.urn().to_string()),
        1 => select(vec![Uuid::nil().to_string(), Uuid::max().to_string()]),
        2 => (id.clone(), 0..36usize, any::<char>()).prop_map(|(u, at, c)| {
            u.hyphenated().to_string().chars().enumerate().map(|(i, old)| if i == at { c } else { old }).collect()
        }),
        1 => (id, 0..36usize).prop_map(|(u, at)| {
            u.hyphenated().to_string().chars().enumerate().filter(|&(i, _)| i != at).map(|(_, c)| c).collect()
        }),
    ]
    .boxed()
}

/// Empty, blank, arbitrary (control characters included) and printable unicode, look-alikes of
/// valid values, numbers as text, and strings just under and over every length bound (and huge).
pub fn hostile() -> BoxedStrategy<String> {
    let specials = [
        "",
        "[erased]",
        " [erased] ",
        "\0",
        "\u{7f}",
        "\u{200b}",
        "\u{feff}",
        "\u{202e}txet",
        "e\u{301}",
        "😀",
        "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}",
        "null",
        "NaN",
        "-0",
        "1e309",
        "0x1F",
        "../../etc/passwd",
        "'; DROP TABLE events; --",
        "F32.1\0",
        "90834\u{a0}",
    ];
    let lengths =
        [1usize, 2, 31, 32, 33, 199, 200, 201, 254, 255, 499, 500, 501, 1999, 2000, 2001, 50_000, 50_001, 100_000];
    prop_oneof![
        2 => select(specials.to_vec()).prop_map(str::to_owned),
        2 => "[ \t\r\n\u{a0}\u{2028}\u{3000}]{1,8}",
        3 => any::<String>(),
        2 => "\\PC{1,40}",
        1 => prop::collection::vec(prop::char::range('\0', '\u{1f}'), 1..6).prop_map(|c| c.into_iter().collect()),
        2 => prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u128>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|n| n.to_string()),
        ],
        1 => (select(vec!['x', 'é', '😀', ' ', '\n', '7']), select(lengths.to_vec()))
            .prop_map(|(c, n)| c.to_string().repeat(n)),
    ]
    .boxed()
}

pub fn bytes(mode: Mode) -> BoxedStrategy<Vec<u8>> {
    let hash = prop::collection::vec(any::<u8>(), 32);
    match mode {
        Mode::Plausible => hash.boxed(),
        Mode::Wild => prop_oneof![1 => hash, 1 => prop::collection::vec(any::<u8>(), 0..70)].boxed(),
    }
}

/// Present timestamps (absence is the caller's choice): in the last 20 years; when wild, also near
/// the clock, at the edges of what chrono and protobuf represent, and with out-of-range nanos.
pub fn timestamp(mode: Mode) -> BoxedStrategy<prost_types::Timestamp> {
    let now = super::now().timestamp();
    let past = (now - 20 * 365 * 86_400..=now, 0..1_000_000_000i32);
    let edge_seconds = [
        i64::MIN,
        i64::MIN + 1,
        -62_135_596_801,
        -62_135_596_800,
        -1,
        0,
        1,
        253_402_300_799,
        253_402_300_800,
        8_210_266_876_799,
        8_210_266_876_800,
        i64::MAX,
        now - 61,
        now + 59,
        now + 60,
        now + 61,
        now + 3_600,
    ];
    let edge_nanos = [i32::MIN, -1, 0, 1, 999_999_999, 1_000_000_000, 1_999_999_999, i32::MAX];
    let pair = match mode {
        Mode::Plausible => past.boxed(),
        Mode::Wild => prop_oneof![
            2 => past,
            2 => (select(edge_seconds.to_vec()), select(edge_nanos.to_vec())),
            1 => (any::<i64>(), any::<i32>()),
        ]
        .boxed(),
    };
    pair.prop_map(|(seconds, nanos)| prost_types::Timestamp { seconds, nanos }).boxed()
}

/// Known values but the unspecified 0; when wild, also 0 and unknown values.
pub fn enumeration(known: Vec<i32>, mode: Mode) -> BoxedStrategy<i32> {
    let set: Vec<i32> = known.iter().copied().filter(|v| *v != 0).collect();
    let set = if set.is_empty() { vec![0] } else { set };
    let max = known.iter().copied().max().unwrap_or(0);
    match mode {
        Mode::Plausible => select(set).boxed(),
        Mode::Wild => prop_oneof![
            3 => select(set),
            1 => select(vec![0, -1, i32::MIN, i32::MAX, max.saturating_add(1)]),
            1 => any::<i32>(),
        ]
        .boxed(),
    }
}

pub fn int32(mode: Mode) -> BoxedStrategy<i32> {
    match mode {
        Mode::Plausible => (0..1_000i32).boxed(),
        Mode::Wild => {
            prop_oneof![2 => -10..1_000i32, 1 => select(vec![i32::MIN, -1, 0, 1, i32::MAX]), 1 => any::<i32>()].boxed()
        }
    }
}

/// Cents: plausible amounts; when wild, also the bound of `Money` either side and the i64 edges.
pub fn int64(mode: Mode) -> BoxedStrategy<i64> {
    let edges = vec![
        i64::MIN,
        i64::MIN + 1,
        -1,
        0,
        1,
        99_999_999_999_999,
        100_000_000_000_000,
        100_000_000_000_001,
        i64::MAX - 1,
        i64::MAX,
    ];
    match mode {
        Mode::Plausible => (1..10_000_000i64).boxed(),
        Mode::Wild => prop_oneof![2 => 0..10_000_000i64, 1 => select(edges), 1 => any::<i64>()].boxed(),
    }
}

/// Minutes, units, pointers, page sizes, item scores: valid ranges by field name when plausible.
pub fn uint32(field: &str, mode: Mode) -> BoxedStrategy<u32> {
    let plausible = match field {
        "item_scores" => (0..=3u32).boxed(),
        "diagnosis_pointers" => (1..=4u32).boxed(),
        _ => (1..=100u32).boxed(),
    };
    let edges = vec![0, 1, 3, 4, 12, 13, 100, 101, 600, 601, 1_000, 1_001, 65_535, 65_536, u32::MAX];
    match mode {
        Mode::Plausible => plausible,
        Mode::Wild => prop_oneof![2 => plausible, 2 => 0..=1_100u32, 1 => select(edges), 1 => any::<u32>()].boxed(),
    }
}

pub fn uint64(mode: Mode) -> BoxedStrategy<u64> {
    let edges = vec![0, 1, i64::MAX as u64, i64::MAX as u64 + 1, u64::MAX - 1, u64::MAX];
    match mode {
        Mode::Plausible => (0..1_000u64).boxed(),
        Mode::Wild => prop_oneof![3 => 0..1_000u64, 1 => select(edges), 1 => any::<u64>()].boxed(),
    }
}

/// How many times a repeated field occurs (about an instrument's item count for `item_scores`).
pub fn count(field: &str, mode: Mode) -> SizeRange {
    match (field, mode) {
        ("item_scores", Mode::Plausible) => (7..=9).into(),
        ("item_scores", Mode::Wild) => (0..=12).into(),
        (_, Mode::Plausible) => (1..=3).into(),
        (_, Mode::Wild) => (0..=6).into(),
    }
}
