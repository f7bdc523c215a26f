//! Given a chart with a signed note, when the client is erased, then every PHI value reads
//! `[erased]` and the ids, codes and times stay (the view still decodes).

use super::*;

#[test]
fn an_erased_chart_keeps_its_ids_and_times_and_loses_its_text() {
    let mut chart = Chart::new();
    chart.register();
    let session = chart.schedule(at(1, 9));
    chart.hold(session, at(1, 9), 55);
    chart.sign_note(session, vec![], at(1, 11));
    let before = chart.view();
    chart.intake(ClientErased { reason: reason("erasure request"), erased_by: ActorId::new_v4(), erased_at: at(9, 9) });

    let after = chart.view();

    let demographics = after.demographics.as_ref().expect("demographics");
    assert!(demographics.legal_name.is_erased());
    assert_eq!(demographics.date_of_birth, None);
    let (old, new) =
        (&before.sessions[0].note.as_ref().unwrap().signed, &after.sessions[0].note.as_ref().unwrap().signed);
    assert_eq!((new.signed_by, new.signed_at, &new.content_hash), (old.signed_by, old.signed_at, &old.content_hash));
    let json = serde_json::to_string(&after).unwrap();
    assert!(!json.contains("Ada Lovelace") && !json.contains("XYZ-12345"), "{json}");
    assert_eq!(after.erased_at, Some(at(9, 9)));
}
