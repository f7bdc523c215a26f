//! Black-box tests of the audit console: the all-in-one server on port 0 over a fresh store, the
//! demo episode, the console in front, driven over plain HTTP and in a real browser.

mod audit;
mod browser;
mod browser_audit;
mod disclosure;
mod http;
mod search;
mod support;

/// Runs each listed `async fn(&Stack)` against SQLite and PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let stack = $crate::support::Stack::start(carelog_blackbox::Backend::Sqlite).await;
                    super::$test(&stack).await;
                    stack.stop().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let stack = $crate::support::Stack::start(carelog_blackbox::Backend::Postgres).await;
                    super::$test(&stack).await;
                    stack.stop().await;
                }
            )*
        }
    };
}
