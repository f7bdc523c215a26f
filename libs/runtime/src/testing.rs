//! Property tests of the proto → domain conversions (dev-only: the `testing` feature).
//!
//! Requests are generated from the API's own descriptors ([`schema`]), so every request type and
//! every field added later is covered without a hand-written generator per message; field values
//! come from [`values`]: edge integers, out-of-range timestamps, unknown enum values, hostile text,
//! and well-formed ids and codes often enough that conversions also succeed. [`fuzz`] runs a
//! conversion on them and fails on a panic, on an error that is not a field violation naming a
//! field of the request, or on a broken invariant of an accepted request.

#[cfg(test)]
mod properties;
pub mod schema;
pub mod values;

use carelog_proto::v1 as proto;
use carelog_store::Actor;
use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::sync::atomic::{AtomicUsize, Ordering};
use uuid::Uuid;

use carelog_executor::{CommandMeta, ServiceError};

/// The service clock in every generated command: fixed, so a failure replays the same way.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).single().expect("a valid date")
}

/// The caller of every generated command.
pub fn actor() -> Actor {
    Actor::new("0199a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b", "clinician")
}

/// `command_context::parse` as a service calls it, with the fixed caller and clock.
pub fn parse_meta(context: Option<&proto::CommandContext>) -> Result<CommandMeta, ServiceError> {
    crate::command_context::parse(context, actor(), now())
}

/// Metadata for running a payload conversion: parsed from `context` when it is valid, otherwise a
/// valid context carrying the same reason (or none), so the payload is converted in every case.
pub fn meta(context: Option<&proto::CommandContext>) -> CommandMeta {
    let reason = context.map(|c| c.reason.clone()).unwrap_or_default();
    let fixed = |reason: String| proto::CommandContext {
        command_id: Uuid::from_u128(7).to_string(),
        reason,
        ..Default::default()
    };
    parse_meta(context)
        .or_else(|_| parse_meta(Some(&fixed(reason))))
        .or_else(|_| parse_meta(Some(&fixed(String::new()))))
        .expect("a fixed context parses")
}

/// The UUID a valid id field holds, for invariants of accepted requests.
pub fn uuid(raw: &str) -> Uuid {
    Uuid::parse_str(raw.trim()).unwrap_or_else(|e| panic!("{raw:?} was accepted as an id: {e}"))
}

/// A refusal must be field violations, each naming a field path of `message` and saying why.
pub fn check_refusal(message: &str, error: &ServiceError) -> Result<(), TestCaseError> {
    let ServiceError::Invalid(violations) = error else {
        return Err(TestCaseError::fail(format!("not a field violation: {error:?}")));
    };
    prop_assert!(!violations.is_empty(), "a refusal without a violation");
    for violation in violations {
        prop_assert!(
            schema::has_path(message, &violation.field),
            "{message} has no field {:?} ({})",
            violation.field,
            violation.description
        );
        prop_assert!(!violation.description.trim().is_empty(), "{} has no description", violation.field);
    }
    Ok(())
}

/// Runs `convert` on generated `message`s (`PROPTEST_CASES`, 256 by default): a refusal must pass
/// [`check_refusal`], an acceptance `accepted`. A panic fails with the shrunk request. At least one
/// case must be accepted, or the success path went untested. Returns (accepted, refused).
pub fn fuzz<M, T>(
    message: &str,
    convert: impl Fn(&M) -> Result<T, ServiceError>,
    accepted: impl Fn(&M, &T) -> Result<(), TestCaseError>,
) -> (usize, usize)
where
    M: prost::Message + Default + Clone + std::fmt::Debug + 'static,
{
    let (ok, refused) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let mut runner = TestRunner::new(Config { failure_persistence: None, ..Config::default() });
    let outcome = runner.run(&schema::request::<M>(message), |request| match convert(&request) {
        Ok(value) => {
            ok.fetch_add(1, Ordering::Relaxed);
            accepted(&request, &value)
        }
        Err(error) => {
            refused.fetch_add(1, Ordering::Relaxed);
            check_refusal(message, &error)
        }
    });
    if let Err(failure) = outcome {
        panic!("{message}: {failure}");
    }
    let (ok, refused) = (ok.into_inner(), refused.into_inner());
    eprintln!("{message}: {ok} accepted, {refused} refused");
    assert!(ok > 0, "{message}: no generated request was accepted ({refused} refused)");
    (ok, refused)
}
