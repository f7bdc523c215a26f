//! From a read model's JSON (its serde form, after the read gate) to its typed message, by the
//! message's descriptor: one mechanism for every view, so no view field is copied by hand and
//! none can go missing in silence.
//!
//! The mapping is the serde form's own: a JSON key is the proto field of the same name; an object
//! is a message; an internally tagged enum (`{"kind": "insurance", …}`) is a message whose `kind`
//! is an enum and whose other fields are the variants'; a serde enum string (`self_pay`, `PHQ-9`)
//! is the enum value `PREFIX_SELF_PAY`, `PREFIX_PHQ_9`; an RFC 3339 string is a `Timestamp`; a hex
//! string is `bytes`. A key the message does not declare, a value of the wrong shape or an enum
//! value the proto lacks is an error naming the path: the typed contract must grow with the view.
//! A read-gate mark (`[redacted: …]`) stays in a text field and leaves any other field unset.

use std::collections::HashMap;
use std::sync::OnceLock;

use prost::Name;
use prost::bytes::Bytes;
use prost_reflect::{DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, Value};
use serde_json::Value as Json;

/// The prefix of a value the read gate withheld.
pub const WITHHELD_MARK: &str = "[redacted: ";

/// A JSON value that does not fit the typed message: a view changed and its proto did not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    /// Where, as `sessions[2].note.content.plan`.
    pub path: String,
    pub problem: String,
}

impl std::fmt::Display for ShapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.problem)
    }
}

impl std::error::Error for ShapeError {}

/// The typed message `M` holding what `value` holds.
///
/// # Errors
/// [`ShapeError`] for any key, value or enum name `M` does not declare.
pub fn from_json<M: prost::Message + Name + Default>(value: &Json) -> Result<M, ShapeError> {
    let descriptor = pool().get_message_by_name(&M::full_name()).ok_or_else(|| ShapeError {
        path: String::new(),
        problem: format!("{} is not in the compiled descriptor set", M::full_name()),
    })?;
    let message = message(&descriptor, value, &mut String::new())?;
    message.transcode_to::<M>().map_err(|e| ShapeError { path: String::new(), problem: e.to_string() })
}

/// `message` in the proto3 JSON mapping, for people and scripts (`carelog episode`, `carelog
/// audit diff`): proto field names, enum names, 64-bit integers as numbers, and every field
/// present (empty lists and zeros too), so two records compare field by field.
///
/// # Errors
/// When `M` is not in the compiled descriptor set, or its bytes do not decode (a bug).
pub fn to_json<M: prost::Message + Name>(message: &M) -> Result<Json, ShapeError> {
    let unknown = || ShapeError { path: String::new(), problem: format!("{} is not in the set", M::full_name()) };
    let descriptor = pool().get_message_by_name(&M::full_name()).ok_or_else(unknown)?;
    let dynamic = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())
        .map_err(|e| ShapeError { path: String::new(), problem: e.to_string() })?;
    let options = prost_reflect::SerializeOptions::new()
        .use_proto_field_name(true)
        .stringify_64_bit_integers(false)
        .skip_default_fields(false);
    dynamic
        .serialize_with_options(serde_json::value::Serializer, &options)
        .map_err(|e| ShapeError { path: String::new(), problem: e.to_string() })
}

fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    // The set is compiled into this crate by its build script: it always decodes.
    POOL.get_or_init(|| DescriptorPool::decode(crate::FILE_DESCRIPTOR_SET).expect("the compiled descriptor set"))
}

fn fail(path: &str, problem: impl Into<String>) -> ShapeError {
    ShapeError { path: path.to_owned(), problem: problem.into() }
}

fn message(descriptor: &MessageDescriptor, value: &Json, path: &mut String) -> Result<DynamicMessage, ShapeError> {
    let mut out = DynamicMessage::new(descriptor.clone());
    match descriptor.full_name() {
        "google.protobuf.Timestamp" => return timestamp(out, value, path),
        // Free-form by design (the access log's `detail`): any JSON object.
        "google.protobuf.Struct" => return Ok(free_form(descriptor, value)),
        _ => {}
    }
    let Json::Object(object) = value else {
        return Err(fail(path, format!("expected an object for {}", descriptor.name())));
    };
    for (key, item) in object {
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
        let field = descriptor
            .get_field_by_name(key)
            .ok_or_else(|| fail(path, format!("{} declares no field `{key}`", descriptor.full_name())))?;
        if let Some(converted) = field_value(&field, item, path)? {
            out.set_field(&field, converted);
        }
        path.truncate(len);
    }
    Ok(out)
}

/// A `google.protobuf.Struct` (or `Value`, `ListValue`) holding `value`.
fn free_form(descriptor: &MessageDescriptor, value: &Json) -> DynamicMessage {
    let pool = descriptor.parent_pool();
    let by_name = |name: &str| pool.get_message_by_name(name).expect("well-known types are in the set");
    let mut out = DynamicMessage::new(descriptor.clone());
    match (descriptor.full_name(), value) {
        ("google.protobuf.Struct", Json::Object(object)) => {
            let value_type = by_name("google.protobuf.Value");
            let fields = object
                .iter()
                .map(|(k, v)| (MapKey::String(k.clone()), Value::Message(free_form(&value_type, v))))
                .collect();
            out.set_field_by_name("fields", Value::Map(fields));
        }
        ("google.protobuf.Struct", other) => {
            let mut wrapped = serde_json::Map::new();
            wrapped.insert("value".into(), other.clone());
            return free_form(descriptor, &Json::Object(wrapped));
        }
        ("google.protobuf.ListValue", Json::Array(items)) => {
            let value_type = by_name("google.protobuf.Value");
            let values = items.iter().map(|v| Value::Message(free_form(&value_type, v))).collect();
            out.set_field_by_name("values", Value::List(values));
        }
        (_, Json::Null) => out.set_field_by_name("null_value", Value::EnumNumber(0)),
        (_, Json::Bool(b)) => out.set_field_by_name("bool_value", Value::Bool(*b)),
        (_, Json::Number(n)) => out.set_field_by_name("number_value", Value::F64(n.as_f64().unwrap_or_default())),
        (_, Json::String(s)) => out.set_field_by_name("string_value", Value::String(s.clone())),
        (_, Json::Array(_)) => {
            let list = free_form(&by_name("google.protobuf.ListValue"), value);
            out.set_field_by_name("list_value", Value::Message(list));
        }
        (_, Json::Object(_)) => {
            let object = free_form(&by_name("google.protobuf.Struct"), value);
            out.set_field_by_name("struct_value", Value::Message(object));
        }
    }
    out
}

fn timestamp(mut out: DynamicMessage, value: &Json, path: &str) -> Result<DynamicMessage, ShapeError> {
    let text = value.as_str().ok_or_else(|| fail(path, "expected an RFC 3339 time"))?;
    let time: prost_types::Timestamp =
        text.parse().map_err(|e| fail(path, format!("`{text}` is not an RFC 3339 time: {e}")))?;
    out.set_field_by_name("seconds", Value::I64(time.seconds));
    out.set_field_by_name("nanos", Value::I32(time.nanos));
    Ok(out)
}

/// `None` for a null or a withheld value of a field that cannot hold the mark.
fn field_value(field: &FieldDescriptor, value: &Json, path: &mut String) -> Result<Option<Value>, ShapeError> {
    if value.is_null() {
        return Ok(None);
    }
    if field.is_map() {
        return map(field, value, path).map(Some);
    }
    if field.is_list() {
        let Json::Array(items) = value else { return Err(fail(path, "expected an array")) };
        let mut out = Vec::with_capacity(items.len());
        let len = path.len();
        for (i, item) in items.iter().enumerate() {
            path.push_str(&format!("[{i}]"));
            out.extend(single(&field.kind(), item, path)?);
            path.truncate(len);
        }
        return Ok(Some(Value::List(out)));
    }
    single(&field.kind(), value, path)
}

fn map(field: &FieldDescriptor, value: &Json, path: &mut String) -> Result<Value, ShapeError> {
    let Json::Object(object) = value else { return Err(fail(path, "expected an object (a map)")) };
    let Kind::Message(entry) = field.kind() else { return Err(fail(path, "a map without an entry type")) };
    let (key_kind, value_kind) = (entry.map_entry_key_field().kind(), entry.map_entry_value_field().kind());
    if key_kind != Kind::String {
        return Err(fail(path, "only maps keyed by strings are supported"));
    }
    let mut out = HashMap::with_capacity(object.len());
    for (key, item) in object {
        let len = path.len();
        path.push_str(&format!("[{key}]"));
        if let Some(converted) = single(&value_kind, item, path)? {
            out.insert(MapKey::String(key.clone()), converted);
        }
        path.truncate(len);
    }
    Ok(Value::Map(out))
}

fn single(kind: &Kind, value: &Json, path: &mut String) -> Result<Option<Value>, ShapeError> {
    let withheld = value.as_str().is_some_and(|s| s.starts_with(WITHHELD_MARK));
    if value.is_null() || (withheld && *kind != Kind::String) {
        return Ok(None);
    }
    let converted = match kind {
        Kind::String => Value::String(value.as_str().ok_or_else(|| fail(path, "expected a string"))?.to_owned()),
        Kind::Bool => Value::Bool(value.as_bool().ok_or_else(|| fail(path, "expected true or false"))?),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(narrow(integer(value, path)?, path)?),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(narrow(integer(value, path)?, path)?),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(narrow(integer(value, path)?, path)?),
        Kind::Uint32 | Kind::Fixed32 => Value::U32(narrow(integer(value, path)?, path)?),
        Kind::Double => Value::F64(value.as_f64().ok_or_else(|| fail(path, "expected a number"))?),
        Kind::Float => Value::F32(value.as_f64().ok_or_else(|| fail(path, "expected a number"))? as f32),
        Kind::Bytes => {
            let text = value.as_str().ok_or_else(|| fail(path, "expected hex"))?;
            Value::Bytes(Bytes::from(hex::decode(text).map_err(|e| fail(path, format!("not hex: {e}")))?))
        }
        Kind::Enum(descriptor) => {
            let text = value.as_str().ok_or_else(|| fail(path, "expected an enum name"))?;
            let name = enum_value_name(descriptor.name(), text);
            let found = descriptor.get_value_by_name(&name);
            let found =
                found.ok_or_else(|| fail(path, format!("`{text}`: {} declares no {name}", descriptor.name())))?;
            Value::EnumNumber(found.number())
        }
        Kind::Message(descriptor) => Value::Message(message(descriptor, value, path)?),
    };
    Ok(Some(converted))
}

fn integer(value: &Json, path: &str) -> Result<i128, ShapeError> {
    value
        .as_i64()
        .map(i128::from)
        .or_else(|| value.as_u64().map(i128::from))
        .ok_or_else(|| fail(path, format!("expected an integer, found {value}")))
}

fn narrow<T: TryFrom<i128>>(n: i128, path: &str) -> Result<T, ShapeError> {
    T::try_from(n).map_err(|_| fail(path, format!("{n} is out of the field's range")))
}

/// `ClientRegistered` → `client_registered`: an event type's member of `EventData`, and the
/// stem of an enum's value prefix.
pub fn snake_case(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// `PayerKind` + `self_pay` → `PAYER_KIND_SELF_PAY`; `Instrument` + `PHQ-9` → `INSTRUMENT_PHQ_9`.
fn enum_value_name(enum_name: &str, serde_name: &str) -> String {
    let value: String =
        serde_name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    format!("{}_{value}", snake_case(enum_name).to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::v1;

    #[test]
    fn enum_names_follow_the_proto_style() {
        assert_eq!(enum_value_name("PayerKind", "self_pay"), "PAYER_KIND_SELF_PAY");
        assert_eq!(enum_value_name("Instrument", "PHQ-9"), "INSTRUMENT_PHQ_9");
        assert_eq!(enum_value_name("NoteFormat", "SOAP"), "NOTE_FORMAT_SOAP");
    }

    #[test]
    fn a_view_becomes_its_message_and_a_withheld_value_stays_out_of_typed_fields() {
        let view = json!({
            "client_id": "c1",
            "demographics": {"legal_name": "[redacted: demographics]", "preferred_name": null,
                             "contact": {"phone": "555"}, "payer": {"kind": "self_pay"}},
            "registered_at": "2026-11-21T09:30:00Z",
            "assessments": [{"instrument": "PHQ-9", "items": [1, "[redacted: assessment]", 3],
                             "total": "[redacted: assessment]", "severity": "mild"}],
            "sessions": [{"note": {"content_hash": "00ff", "content": {"format": "SOAP", "plan": "p"}}}],
            "billing": {"claims": {"k1": "paid"}, "claims_by_status": {"paid": 1}},
            "last_position": 42
        });
        let typed: v1::EpisodeView = from_json(&view).expect("fits");
        let demographics = typed.demographics.as_ref().unwrap();
        assert_eq!(demographics.legal_name, "[redacted: demographics]");
        assert_eq!(demographics.payer.as_ref().unwrap().kind(), v1::PayerKind::SelfPay);
        assert_eq!(typed.registered_at.unwrap().seconds, 1_795_253_400);
        assert_eq!(typed.assessments[0].instrument(), v1::Instrument::Phq9);
        assert_eq!(typed.assessments[0].items, vec![1, 3]);
        assert_eq!(typed.assessments[0].total, 0);
        let note = typed.sessions[0].note.as_ref().unwrap();
        assert_eq!(note.content_hash, vec![0, 255]);
        assert_eq!(note.content.as_ref().unwrap().format(), v1::NoteFormat::Soap);
        assert_eq!(typed.billing.as_ref().unwrap().claims["k1"], v1::ClaimStatus::Paid as i32);
        assert_eq!(typed.last_position, 42);
    }

    #[test]
    fn a_null_optional_value_is_the_same_message_as_an_absent_one() {
        // Views written since they keep the domain's events hold `null` where older ones left the
        // key out (the late-entry label of a held session, a note or an addendum; a payment's
        // service date).
        let view = |late_entry: Option<Json>| {
            let (mut held, mut addendum) =
                (json!({"actual_minutes": 50}), json!({"appended_at": "2026-03-02T09:00:00Z"}));
            let mut note = json!({"signed_at": "2026-03-02T09:00:00Z"});
            if let Some(label) = late_entry {
                held["late_entry"] = label.clone();
                note["late_entry"] = label.clone();
                addendum["late_entry"] = label;
            }
            note["addenda"] = json!([addendum]);
            json!({"sessions": [{"held": held, "note": note}]})
        };
        let (absent, null) = (view(None), view(Some(Json::Null)));
        assert_eq!(from_json::<v1::EpisodeView>(&null).unwrap(), from_json::<v1::EpisodeView>(&absent).unwrap());
        let payment = |p: Json| json!({"payments": [p]});
        assert_eq!(
            from_json::<v1::LedgerView>(&payment(json!({"amount": 100, "service_date": null}))).unwrap(),
            from_json::<v1::LedgerView>(&payment(json!({"amount": 100}))).unwrap()
        );
    }

    #[test]
    fn what_the_message_does_not_declare_is_an_error_naming_the_path() {
        let unknown = json!({"sessions": [{}, {"note": {"mood": "x"}}]});
        let err = from_json::<v1::EpisodeView>(&unknown).unwrap_err();
        assert_eq!(err.path, "sessions[1].note.mood");
        let bad_enum = json!({"episodes": [{"status": "paused"}]});
        assert!(from_json::<v1::EpisodeView>(&bad_enum).unwrap_err().problem.contains("EPISODE_STATUS_PAUSED"));
        let too_big = json!({"psychotherapy_notes": 5_000_000_000_u64});
        assert_eq!(from_json::<v1::EpisodeView>(&too_big).unwrap_err().path, "psychotherapy_notes");
        let wrong = json!({"registered_at": "yesterday"});
        assert_eq!(from_json::<v1::EpisodeView>(&wrong).unwrap_err().path, "registered_at");
    }
}
