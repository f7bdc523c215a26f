//! The record two ways in time: "as recorded" (what the record said at a past moment) and "as of
//! clinical date" (everything that had occurred by a date, as known now). The demo's episode is
//! dated weeks in the past but recorded today, so the two differ as they do for any late entry.

use carelog_blackbox::{Caller, TestApp, on_both_backends};
use carelog_proto::v1 as proto;
use chrono::{DateTime, Duration, Utc};
use tonic::Code;

fn timestamp(t: DateTime<Utc>) -> Option<prost_types::Timestamp> {
    Some(carelog_runtime::parse::to_timestamp(t))
}

fn time(t: &prost_types::Timestamp) -> DateTime<Utc> {
    let nanos = u32::try_from(t.nanos).expect("non-negative nanos");
    DateTime::from_timestamp(t.seconds, nanos).expect("a time in range")
}

async fn a_backdated_episode_reads_as_of_a_clinical_date_and_as_recorded(app: &TestApp) {
    let demo = app.run_demo().await;
    let mut records = app.records(&Caller::new("auditor"));
    let starts = |i: usize| -> DateTime<Utc> {
        let starts_at = demo.episode.sessions[i].starts_at.expect("a session's start");
        time(&starts_at)
    };
    // A day after the second session: two sessions held, the rest not yet.
    let by = starts(1) + Duration::days(1);
    let ask = |as_of| proto::GetEpisodeAsOfRequest { client_id: demo.client_id.clone(), as_of: Some(as_of) };
    use proto::get_episode_as_of_request::AsOf;
    let reply = records.get_episode_as_of(ask(AsOf::OccurredBy(timestamp(by).unwrap()))).await;
    let reply = reply.expect("as of clinical date").into_inner();
    assert_eq!(reply.basis, proto::EpisodeBasis::AsOfClinical as i32, "the reply says which view it is");
    assert_eq!(reply.occurred_by, timestamp(by));
    let view = reply.view.expect("a view");
    assert_eq!(view.demographics.expect("demographics").legal_name, "Alexandra Maria Reyes");
    let held: Vec<DateTime<Utc>> =
        view.sessions.iter().filter_map(|s| s.held.as_ref()?.started_at.as_ref()).map(time).collect();
    assert_eq!(held.len(), 2, "two sessions had been held by {by}: {held:?}");
    let all_held = demo.episode.sessions.iter().filter(|s| s.held.is_some()).count();
    assert!(all_held > 2, "the whole episode holds more: {all_held}");

    // As recorded at the same moment: nothing had been recorded yet.
    let recorded = records.get_episode_as_of(ask(AsOf::RecordedAt(timestamp(by).unwrap()))).await;
    assert_eq!(recorded.expect_err("nothing recorded then").code(), Code::NotFound);
    // Before the episode began, nothing had occurred either.
    let before = records.get_episode_as_of(ask(AsOf::OccurredBy(timestamp(starts(0) - Duration::days(30)).unwrap())));
    assert_eq!(before.await.expect_err("nothing occurred then").code(), Code::NotFound);
    // By now, everything has occurred: the clinical view is the live one.
    let now = records.get_episode_as_of(ask(AsOf::OccurredBy(timestamp(Utc::now()).unwrap()))).await.unwrap();
    let now = now.into_inner().view.expect("a view");
    assert_eq!(now.sessions, demo.episode.sessions);
    // A time out of the plausible range is refused naming the field.
    let far = prost_types::Timestamp { seconds: -300_000_000_000, nanos: 0 };
    let refused = records.get_episode_as_of(ask(AsOf::OccurredBy(far))).await.expect_err("year −7500");
    assert_eq!(refused.code(), Code::InvalidArgument);

    // The FHIR export takes the same clinical date: two held sessions' Encounters as finished.
    use proto::export_episode_fhir_request::AsOf as ExportAsOf;
    let export = |as_of| proto::ExportEpisodeFhirRequest { client_id: demo.client_id.clone(), as_of: Some(as_of) };
    let finished = |bundle: &str| {
        let bundle: serde_json::Value = serde_json::from_str(bundle).expect("a Bundle");
        let entries = bundle["entry"].as_array().cloned().unwrap_or_default();
        let encounters = entries.iter().map(|e| &e["resource"]).filter(|r| r["resourceType"] == "Encounter");
        encounters.filter(|r| r["status"] == "finished").count()
    };
    let then = records.export_episode_fhir(export(ExportAsOf::OccurredBy(timestamp(by).unwrap()))).await;
    let then = then.expect("a clinical-date export").into_inner();
    assert_eq!(finished(&then.bundle_json), 2);
    assert_eq!(then.basis, proto::EpisodeBasis::AsOfClinical as i32, "the export says which record it holds");
    assert_eq!(then.occurred_by, timestamp(by));
    let head = proto::ExportEpisodeFhirRequest { client_id: demo.client_id.clone(), as_of: None };
    assert_eq!(records.export_episode_fhir(head).await.unwrap().into_inner().basis, proto::EpisodeBasis::Live as i32);
    let whole = records.export_episode_fhir(export(ExportAsOf::OccurredBy(timestamp(Utc::now()).unwrap()))).await;
    assert_eq!(finished(&whole.unwrap().into_inner().bundle_json), all_held);
    let early = timestamp(starts(0) - Duration::days(30)).unwrap();
    let none = records.export_episode_fhir(export(ExportAsOf::OccurredBy(early))).await;
    assert_eq!(none.expect_err("nothing occurred then").code(), Code::NotFound);
    let far = prost_types::Timestamp { seconds: -300_000_000_000, nanos: 0 };
    let refused = records.export_episode_fhir(export(ExportAsOf::OccurredBy(far))).await.expect_err("year −7500");
    assert_eq!(refused.code(), Code::InvalidArgument);
}

on_both_backends!(a_backdated_episode_reads_as_of_a_clinical_date_and_as_recorded);
