use ::kurrentdb::{CurrentRevision, StreamPosition, StreamState};

use super::*;

#[test]
fn the_pinned_head_maps_to_an_exact_stream_state() {
    assert_eq!(pinned_state(None), StreamState::NoStream);
    assert_eq!(pinned_state(Some(0)), StreamState::StreamRevision(0));
    assert_eq!(pinned_state(Some(41)), StreamState::StreamRevision(41));
    assert_eq!(actual_revision(CurrentRevision::Current(7)), Some(7));
    assert_eq!(actual_revision(CurrentRevision::NoStream), None);
}

#[test]
fn checkpoints_map_to_commit_positions_and_resume_after_them() {
    assert_eq!(start_after(Position::START), StreamPosition::Start);
    assert_eq!(
        start_after(Position(4096)),
        StreamPosition::Position(::kurrentdb::Position { commit: 4096, prepare: 4096 })
    );
    assert_eq!(from_kurrent(::kurrentdb::Position { commit: 4096, prepare: 4096 }), Position(4096));
    assert!(!is_after(Position(4096), Position(4096)), "the checkpoint event itself is dropped");
    assert!(is_after(Position(4097), Position(4096)));
}

#[test]
fn a_namespace_prefixes_streams_and_hides_everything_else() {
    let ns = Namespace::new(Some("test_1a2b")).unwrap();
    assert_eq!(ns.to_kurrent("client-1"), "test_1a2b.client-1");
    assert_eq!(ns.carelog_name("test_1a2b.client-1"), Some("client-1"));
    assert_eq!(ns.carelog_name("other.client-1"), None);
    assert_eq!(ns.carelog_name("$stats-127.0.0.1:2113"), None);
    let plain = Namespace::new(None).unwrap();
    assert_eq!(plain.to_kurrent("client-1"), "client-1");
    assert_eq!(plain.carelog_name("$$client-1"), None, "system streams are never Carelog streams");
    let error = Namespace::new(Some("a b")).unwrap_err();
    assert!(error.contains("namespace \"a b\""), "{error}");
}

#[test]
fn filters_become_anchored_escaped_regular_expressions() {
    let plain = Namespace::new(None).unwrap();
    assert_eq!(plain.server_filter(&LogFilter::all()), ServerFilter::StreamName("^[^$]".into()));
    assert_eq!(
        plain.server_filter(&LogFilter::categories(["client", "plan"])),
        ServerFilter::StreamName(r"^(client|plan)(-|$)".into())
    );
    assert_eq!(
        plain.server_filter(&LogFilter::event_types(["SessionHeld", "v2.Noted"])),
        ServerFilter::EventType(r"^(SessionHeld|v2\.Noted)$".into())
    );
    let ns = Namespace::new(Some("t1")).unwrap();
    assert_eq!(ns.server_filter(&LogFilter::all()), ServerFilter::StreamName(r"^t1\.[^$]".into()));
    assert_eq!(
        ns.server_filter(&LogFilter::event_types(["Noted"])),
        ServerFilter::StreamName(r"^t1\.[^$]".into()),
        "with a namespace the server filters streams; types are filtered by the adapter"
    );
    assert_eq!(
        plain.server_filter(&LogFilter::categories(["a$b.c"])),
        ServerFilter::StreamName(r"^(a\$b\.c)(-|$)".into())
    );
}

#[test]
fn outages_are_unavailable_and_everything_else_is_a_database_error() {
    for error in [::kurrentdb::Error::ConnectionClosed, ::kurrentdb::Error::DeadlineExceeded] {
        assert!(store_error(error).is_transient());
    }
    let refused = store_error(::kurrentdb::Error::AccessDenied);
    assert!(matches!(&refused, StoreError::Database(m) if m.contains("user and password")), "{refused:?}");
    assert!(matches!(store_error(::kurrentdb::Error::ResourceDeleted), StoreError::Database(_)));
}
