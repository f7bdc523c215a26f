//! The event store contract: every backend runs the same suite. Test names start with the backend
//! (`sqlite::…`, `postgres::…`) so either half can be run alone. With the feature `kurrentdb`, the
//! `kurrentdb::…` tests run against KURRENTDB_URL (skipped with a printed notice when it is unset).

mod earlier_file;
#[cfg(feature = "kurrentdb")]
mod kurrentdb;
mod merkle;
mod reads;
mod sqlite_writer;
mod support;
mod turns;
mod verification;
mod writes;

macro_rules! contract_suite {
    ($backend:ident, $fresh:path; $($module:ident :: $test:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    let harness = $fresh().await;
                    crate::$module::$test(&harness).await;
                    harness.cleanup().await;
                }
            )*
        }
    };
}

macro_rules! both_backends {
    ($($module:ident :: $test:ident),* $(,)?) => {
        contract_suite!(sqlite, crate::support::sqlite; $($module::$test),*);
        contract_suite!(postgres, crate::support::postgres; $($module::$test),*);
    };
}

both_backends!(
    writes::append_and_read_back_the_full_envelope,
    writes::expected_revision_is_enforced_and_a_conflict_stores_nothing,
    writes::concurrent_writers_on_one_stream_lose_and_duplicate_nothing,
    writes::concurrent_writers_on_many_streams_get_dense_positions,
    writes::a_retried_append_is_stored_once,
    writes::concurrent_retries_of_one_append_store_it_once,
    writes::conditions_on_other_streams_are_checked_in_the_same_transaction,
    writes::a_condition_holds_under_a_race,
    writes::bad_input_gets_a_typed_error_and_stores_nothing,
    writes::events_cannot_be_updated_or_deleted_through_sql,
    writes::the_log_survives_a_reopen,
    turns::two_writers_taking_turns_agree_on_every_outcome,
    reads::read_a_stream_forward_and_backward,
    reads::read_the_log_with_filters,
    reads::subscription_catches_up_then_goes_live,
    reads::subscription_resumes_from_a_checkpoint_exactly_once,
    reads::filtered_subscription_reports_caught_up_past_skipped_events,
    reads::no_event_is_skipped_or_duplicated_under_concurrent_writers,
    reads::a_second_process_sees_commits_of_the_first,
    reads::read_one_clients_events_up_to_a_position,
    reads::position_at_maps_a_time_to_the_log_as_it_stood,
    reads::the_database_names_its_file_only_when_embedded,
    verification::an_untouched_log_verifies,
    verification::an_edited_row_is_reported,
    verification::a_deleted_row_is_reported,
    verification::reordered_rows_are_reported,
    verification::breaks_beyond_the_first_page_are_reported,
    verification::a_truncated_tail_is_reported,
    verification::verifying_one_stream_checks_only_that_stream,
    verification::a_retagged_row_is_reported,
    verification::payloads_are_checked_byte_exact,
    verification::an_unreadable_row_is_reported_and_checking_goes_on,
    merkle::the_tree_follows_the_log_and_proves_from_its_stored_nodes,
    merkle::builders_racing_on_one_database_build_one_tree,
    merkle::checkpoints_are_kept_exactly_and_listed_newest_first,
    merkle::a_row_edited_after_building_is_named_by_the_row_check,
);
