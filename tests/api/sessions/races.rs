//! Cross-stream rules under concurrent commands.

use super::*;

const ROUNDS: usize = 15;

/// Holds each session on its own connection-level stream, all at once.
fn holds(
    ep: &Episode,
    sessions: &[String],
) -> Vec<impl Future<Output = Result<tonic::Response<proto::AppendReceipt>, Status>> + use<>> {
    sessions
        .iter()
        .map(|s| {
            let (mut client, request) = (ep.sessions.clone(), hold(s, InPerson));
            async move { client.hold_session(request).await }
        })
        .collect()
}

async fn no_session_is_held_after_treatment_consent_is_revoked_even_in_a_race(app: &TestApp) {
    for round in 0..ROUNDS {
        let mut ep = episode(app, false).await;
        let mut sessions = Vec::new();
        for _ in 0..3 {
            sessions.push(ep.scheduled().await);
        }
        let before = app.event_count().await;
        let holding = futures::future::join_all(holds(&ep, &sessions));
        let (revoked, held) = tokio::join!(ep.revoke_treatment_consent(), holding);
        let revoked_at = revoked.unwrap().position;
        let mut committed = 0;
        for (session, result) in sessions.iter().zip(held) {
            match result {
                Ok(receipt) => {
                    committed += 1;
                    assert!(receipt.get_ref().position < revoked_at, "round {round}: held after the revocation");
                }
                Err(err) => assert_rejected(&err, Code::FailedPrecondition, "CONSENT_NOT_ACTIVE"),
            }
            let events = stored(app, &format!("session-{session}")).await;
            assert!(events.iter().all(|e| e.event_type != "SessionHeld" || e.position.0 < revoked_at));
        }
        assert_eq!(app.event_count().await, before + 1 + committed, "round {round}: lost or duplicated events");
    }
}

/// A recorded revocation stops scheduling too: a booking racing it commits before it or is refused,
/// and every booking after it is refused.
async fn no_session_is_scheduled_after_treatment_consent_is_revoked_even_in_a_race(app: &TestApp) {
    for round in 0..ROUNDS / 3 {
        let mut ep = episode(app, false).await;
        let bookings: Vec<_> = (0..3).map(|_| ep.schedule_at(&id(), Duration::days(7))).collect();
        let before = app.event_count().await;
        let booking = futures::future::join_all(bookings.into_iter().map(|request| {
            let mut client = ep.sessions.clone();
            async move { client.schedule_session(request).await }
        }));
        let (revoked, booked) = tokio::join!(ep.revoke_treatment_consent(), booking);
        let revoked_at = revoked.unwrap().position;
        let mut committed = 0;
        for result in booked {
            match result {
                Ok(receipt) => {
                    committed += 1;
                    assert!(receipt.get_ref().position < revoked_at, "round {round}: booked after the revocation");
                }
                Err(err) => assert_rejected(&err, Code::FailedPrecondition, "CONSENT_NOT_ACTIVE"),
            }
        }
        assert_eq!(app.event_count().await, before + 1 + committed, "round {round}: lost or duplicated events");
        let err = ep.sessions.schedule_session(ep.schedule_at(&id(), Duration::days(8))).await.unwrap_err();
        assert_rejected(&err, Code::FailedPrecondition, "CONSENT_NOT_ACTIVE");
        assert_eq!(app.event_count().await, before + 1 + committed, "a refusal stores nothing");
    }
}

async fn an_episode_never_closes_over_a_session_held_in_a_race(app: &TestApp) {
    for round in 0..ROUNDS {
        let mut ep = episode(app, false).await;
        let sessions = vec![ep.scheduled().await, ep.scheduled().await];
        let before = app.event_count().await;
        let mut closing = ep.sessions.clone();
        let (closed, held) =
            tokio::join!(closing.close_episode(ep.close()), futures::future::join_all(holds(&ep, &sessions)));
        let committed = held.iter().filter(|r| r.is_ok()).count() as u64;
        let closures = u64::from(closed.is_ok());
        match closed {
            Ok(_) => {
                assert_eq!(committed, 0, "round {round}: a session was held in the closed episode");
                for err in held.iter().filter_map(|r| r.as_ref().err()) {
                    assert_rejected(err, Code::FailedPrecondition, "EPISODE_CLOSED");
                }
            }
            Err(err) => {
                assert_rejected(&err, Code::FailedPrecondition, "UNSIGNED_NOTES");
                assert!(committed > 0, "round {round}");
            }
        }
        assert_eq!(app.event_count().await, before + committed + closures, "round {round}");
    }
}

on_both_backends!(
    no_session_is_held_after_treatment_consent_is_revoked_even_in_a_race,
    no_session_is_scheduled_after_treatment_consent_is_revoked_even_in_a_race,
    an_episode_never_closes_over_a_session_held_in_a_race,
);
