//! The read side's request parsing in this module, on generated requests: a query or violations
//! naming the request's fields; never a panic. (The rest of RecordsService parses inline in grpc.rs.)

use carelog_runtime::testing::{fuzz, uuid};
use proptest::prelude::*;

use super::*;

#[test]
fn audit_query_never_panics() {
    fuzz("ListAuditTrailRequest", audit_query, |r, query| {
        prop_assert!((1..=MAX_PAGE).contains(&query.limit), "limit {}", query.limit);
        let canonical = |raw: &str| (!raw.trim().is_empty()).then(|| uuid(raw).to_string());
        prop_assert_eq!(&query.client, &canonical(&r.client_id));
        prop_assert_eq!(&query.actor_id, &canonical(&r.actor_id));
        prop_assert_eq!(&query.correlation_id, &canonical(&r.correlation_id));
        prop_assert_eq!(&query.event_types, &r.event_types);
        Ok(())
    });
}

#[test]
fn ids_are_canonical_uuids_or_a_violation_of_their_field() {
    fuzz(
        "GetEpisodeRequest",
        |r: &proto::GetEpisodeRequest| id("client_id", &r.client_id),
        |r, id| {
            prop_assert_eq!(id, &uuid(&r.client_id).hyphenated().to_string());
            Ok(())
        },
    );
}

#[test]
fn caseload_pages_are_bounded_and_tokens_are_client_ids_or_a_violation() {
    fuzz("GetCaseloadRequest", caseload_page, |r, page| {
        prop_assert!((1..=MAX_PAGE as usize).contains(&page.size), "size {}", page.size);
        let token = (!r.page_token.trim().is_empty()).then(|| uuid(&r.page_token).to_string());
        prop_assert_eq!(&page.after, &token);
        Ok(())
    });
    let refused = |r: proto::GetCaseloadRequest| caseload_page(&r).unwrap_err().to_string();
    let huge = proto::GetCaseloadRequest { page_size: u32::MAX, ..Default::default() };
    assert!(refused(huge).contains("page_size"));
    let forged =
        proto::GetCaseloadRequest { page_token: "'; DROP TABLE read_models; --\0".into(), ..Default::default() };
    assert!(refused(forged).contains("page_token"));
}
