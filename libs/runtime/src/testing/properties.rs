//! The runtime's own conversions under generated input: `command_context::parse` and the `parse`
//! helpers every service builds on.

use carelog_proto::v1 as proto;
use chrono::Duration;
use proptest::prelude::*;
use uuid::Uuid;

use super::{fuzz, now, parse_meta, uuid, values};
use crate::parse;

#[test]
fn command_meta_parse_refuses_with_context_fields_or_keeps_what_it_was_given() {
    let in_context = |r: &proto::RegisterClientRequest| {
        let meta = parse_meta(r.context.as_ref());
        if let Err(carelog_executor::ServiceError::Invalid(violations)) = &meta {
            assert!(violations.iter().all(|v| v.field.starts_with("context")), "{violations:?}");
        }
        meta
    };
    fuzz("RegisterClientRequest", in_context, |r, meta| {
        let context = r.context.as_ref().expect("a parsed context was given");
        prop_assert_eq!(meta.command_id, uuid(&context.command_id));
        prop_assert_eq!(meta.expected_revision, context.expected_revision);
        let reason = context.reason.trim();
        prop_assert_eq!(meta.reason.as_deref(), (!reason.is_empty()).then_some(reason));
        prop_assert!(meta.occurred_at <= now() + Duration::minutes(1), "{} is in the future", meta.occurred_at);
        if let Some(at) = context.occurred_at {
            prop_assert_eq!(parse::to_timestamp(meta.occurred_at), at);
        }
        if !context.correlation_id.trim().is_empty() {
            prop_assert_eq!(meta.correlation_id, uuid(&context.correlation_id));
        }
        prop_assert_eq!(
            meta.causation_id,
            (!context.causation_id.trim().is_empty()).then(|| uuid(&context.causation_id))
        );
        Ok(())
    });
}

/// Found by `timestamps_in_range_round_trip_and_the_rest_are_refused`: chrono took these as leap seconds.
#[test]
fn nanos_of_a_second_or_more_are_refused_not_read_as_a_leap_second() {
    for (seconds, nanos) in [(-62_135_596_801, 1_000_000_000), (59, 1_999_999_999), (0, i32::MAX), (0, -1)] {
        let time = prost_types::Timestamp { seconds, nanos };
        let refused = parse::timestamp("context.occurred_at", Some(&time)).expect_err("out-of-range nanos");
        assert_eq!(refused.field, "context.occurred_at");
    }
    let last = prost_types::Timestamp { seconds: 59, nanos: 999_999_999 };
    assert!(parse::timestamp("at", Some(&last)).is_ok());
}

proptest! {
    #[test]
    fn uuid_is_the_trimmed_input_or_a_violation_of_its_field(raw in values::text("client_id", values::Mode::Wild)) {
        match parse::uuid("client_id", &raw) {
            Ok(id) => {
                prop_assert_eq!(Some(id), Uuid::parse_str(raw.trim()).ok());
                prop_assert!(!id.is_nil());
            }
            Err(violation) => prop_assert_eq!(violation.field, "client_id"),
        }
        let optional = parse::optional_uuid("causation_id", &raw);
        prop_assert_eq!(raw.trim().is_empty(), matches!(optional, Ok(None)));
    }

    #[test]
    fn timestamps_in_range_round_trip_and_the_rest_are_refused(time in values::timestamp(values::Mode::Wild)) {
        match parse::timestamp("starts_at", Some(&time)) {
            Ok(parsed) => {
                prop_assert_eq!(parse::to_timestamp(parsed), time);
                prop_assert!((0..1_000_000_000).contains(&time.nanos), "nanos {} accepted", time.nanos);
                let past = parse::past_time("started_at", parsed, now());
                prop_assert_eq!(past.is_ok(), parsed <= now() + Duration::minutes(1));
            }
            Err(violation) => prop_assert_eq!(violation.field, "starts_at"),
        }
    }

    #[test]
    fn dates_read_back_as_written(raw in values::text("due_on", values::Mode::Wild)) {
        match parse::date("due_on", &raw) {
            Ok(date) => prop_assert_eq!(parse::date("due_on", &date.format("%Y-%m-%d").to_string()), Ok(date)),
            Err(violation) => prop_assert_eq!(violation.field, "due_on"),
        }
    }

    #[test]
    fn enumerations_are_set_and_known(value in values::enumeration(vec![0, 1, 2, 3], values::Mode::Wild)) {
        match parse::enumeration::<proto::SessionModality>("modality", value) {
            Ok(modality) => prop_assert!(value != 0 && modality as i32 == value),
            Err(violation) => prop_assert_eq!(violation.field, "modality"),
        }
    }
}
