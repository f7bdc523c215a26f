//! A gRPC command's context turned into the executor's [`CommandMeta`], and what the executor
//! committed turned into the reply every command gets (`AppendReceipt`).

use std::sync::Arc;

use carelog_auth::Pass;
use carelog_executor::{CommandMeta, Committed, FieldViolation, ServiceError};
use carelog_proto::v1 as proto;
use carelog_store::Actor;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::parse;

/// The context of a command, checked field by field: every bad field is reported at once.
pub fn parse(
    context: Option<&proto::CommandContext>,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<CommandMeta, ServiceError> {
    let context = context.ok_or_else(|| FieldViolation::new("context", "is required (command_id at least)"))?;
    // The same domain as every other reason (at most 2,000 characters, no control characters
    // but line breaks and tabs): a NUL here once reached PostgreSQL's audit rows and stalled
    // the projector.
    let reason = context.reason.trim();
    let reason_violation = (!reason.is_empty())
        .then(|| carelog_domain::types::Reason::parse(reason).err())
        .flatten()
        .map(|e| FieldViolation::new("context.reason", e.reason));
    // In range (years 1900–2199) and not in the future.
    let occurred_at = parse::optional_timestamp("context.occurred_at", context.occurred_at.as_ref())
        .and_then(|t| parse::past_time("context.occurred_at", t.unwrap_or(now), now));
    match (
        parse::uuid("context.command_id", &context.command_id),
        parse::optional_uuid("context.correlation_id", &context.correlation_id),
        parse::optional_uuid("context.causation_id", &context.causation_id),
        occurred_at,
    ) {
        (Ok(command_id), Ok(correlation_id), Ok(causation_id), Ok(occurred_at)) if reason_violation.is_none() => {
            Ok(CommandMeta {
                command_id,
                expected_revision: context.expected_revision,
                reason: (!reason.is_empty()).then(|| reason.to_owned()),
                occurred_at,
                correlation_id: correlation_id.unwrap_or_else(Uuid::now_v7),
                causation_id,
                actor,
                now,
                fingerprint: None,
                reach: None,
                client_hint: None,
                expects_new_stream: false,
            })
        }
        (a, b, c, d) => Err(ServiceError::Invalid(
            [a.err(), b.err(), c.err(), d.err(), reason_violation].into_iter().flatten().collect(),
        )),
    }
}

/// Parses a gRPC command the gate let through: the caller from its pass, the context, and the
/// payload's fingerprint (so reusing a command id for a different command is refused, not ignored).
pub fn from_request<R: prost::Message>(
    request: &tonic::Request<R>,
    context: Option<&proto::CommandContext>,
    pass: Pass,
) -> Result<CommandMeta, ServiceError> {
    let mut meta = parse(context, pass.principal.actor(), Utc::now())?;
    meta.fingerprint = Some(fingerprint(&request.get_ref().encode_to_vec()));
    meta.reach = Some(Arc::new(pass));
    Ok(meta)
}

/// The reply to a command: where its events landed (or, for a retry, where its first run's did).
pub fn receipt(committed: Committed) -> proto::AppendReceipt {
    proto::AppendReceipt {
        stream: committed.stream.to_string(),
        revision: committed.revision,
        position: committed.position.0,
        already_applied: committed.already_applied,
        event_types: committed.event_types,
    }
}

/// SHA-256 of an encoded request without field 1 (its `CommandContext`): a client that rebuilds
/// the context on retry (a new clinical time, a new correlation id) still retries the same command.
/// prost writes fields in number order, so the context, when present, is the leading field.
fn fingerprint(encoded: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let payload = strip_leading_field_1(encoded).unwrap_or(encoded);
    hex::encode(Sha256::digest(payload))
}

fn strip_leading_field_1(encoded: &[u8]) -> Option<&[u8]> {
    // Tag of field 1, wire type 2 (length-delimited).
    let rest = encoded.strip_prefix(&[0x0a])?;
    let mut length: usize = 0;
    for (i, byte) in rest.iter().enumerate().take(10) {
        length |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            // Two steps: `i + 1 + length` overflows for a 10-byte varint near u64::MAX.
            return rest.get(i + 1..)?.get(length..);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use sha2::Digest;

    fn request(command_id: &str, occurred: i64, name: &str) -> Vec<u8> {
        proto::RegisterClientRequest {
            context: Some(proto::CommandContext {
                command_id: command_id.into(),
                occurred_at: Some(prost_types::Timestamp { seconds: occurred, nanos: 0 }),
                ..Default::default()
            }),
            legal_name: name.into(),
            ..Default::default()
        }
        .encode_to_vec()
    }

    /// A length past the end (or near usize::MAX) means "no context to strip", never an overflow.
    #[test]
    fn a_context_length_beyond_the_bytes_is_not_stripped() {
        let mut huge = vec![0x0a];
        huge.extend([0xff; 9]);
        huge.push(0x01);
        for encoded in [huge, vec![0x0a, 0x05, 0x01], vec![0x0a], vec![0x0a, 0x80]] {
            assert_eq!(fingerprint(&encoded), hex::encode(sha2::Sha256::digest(&encoded)), "{encoded:?}");
        }
    }

    #[test]
    fn a_retry_with_a_rebuilt_context_has_the_same_fingerprint_and_another_payload_does_not() {
        let first = fingerprint(&request("a", 1, "Jo Blake"));
        assert_eq!(first, fingerprint(&request("a", 99, "Jo Blake")));
        assert_ne!(first, fingerprint(&request("a", 1, "Jo Black")));
        let without_context = proto::RegisterClientRequest { legal_name: "Jo Blake".into(), ..Default::default() };
        assert_eq!(first, fingerprint(&without_context.encode_to_vec()));
    }
}
