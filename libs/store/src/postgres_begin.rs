//! Transactions on pooled PostgreSQL connections that a cancelled caller cannot leave open.

/// `pool.begin()` that a cancelled caller cannot break. sqlx 0.9.0 (issue #4393) leaves a pooled
/// PostgreSQL connection inside an open transaction when the future is dropped during `BEGIN`,
/// and hands it to the next borrower, whose statements then hold that transaction's locks
/// indefinitely. Here `BEGIN` runs in a task of its own: if the caller goes away, the task still
/// finishes and its `Transaction` is dropped normally, which rolls back.
pub async fn begin_uncancellable(
    pool: &sqlx::PgPool,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    begin_in_task(pool, "BEGIN").await
}

/// [`begin_uncancellable`] for rows derived from the log (read models, the Merkle tree): the
/// commit returns without waiting for its WAL flush. They are rebuilt from the durable log after a
/// crash, and WAL is flushed in order, so a durable later commit (the next append) makes them
/// durable too. A crash of the database loses at most its last few hundred milliseconds of
/// derived rows together with their checkpoint, which the next run folds again; appends keep
/// `synchronous_commit=on`.
pub async fn begin_derived(pool: &sqlx::PgPool) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    begin_in_task(pool, "BEGIN; SET LOCAL synchronous_commit TO OFF").await
}

async fn begin_in_task(
    pool: &sqlx::PgPool,
    statement: &'static str,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    let pool = pool.clone();
    match tokio::spawn(async move { pool.begin_with(statement).await }).await {
        Ok(begun) => begun,
        Err(join) => Err(sqlx::Error::Io(std::io::Error::other(format!("BEGIN task failed: {join}")))),
    }
}
