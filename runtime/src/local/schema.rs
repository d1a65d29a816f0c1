//! Connection settings and schema of the local topic database.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::LocalError;

/// `PRAGMA application_id` of a Weir database: the ASCII bytes of "WEIR".
pub(crate) const APPLICATION_ID: i32 = 0x5745_4952;

/// `PRAGMA user_version` of the schema that this build creates and reads.
pub(crate) const SCHEMA_VERSION: i32 = 1;

/// Size in bytes above which a checkpoint truncates the WAL file.
const WAL_SIZE_LIMIT_BYTES: i64 = 64 * 1024 * 1024;

/// Tables of schema version 1.
///
/// - `topics`: one row per topic. `next_round_robin` is the partition that the next
///   keyless record without an explicit partition goes to.
/// - `partitions`: one row per partition with its end offset, the offset that the next
///   appended record gets. Offsets are assigned from this column, not from the records.
/// - `records`: the records, keyed by topic, partition and offset. `headers` is NULL
///   when a record has none, else the blob of `record::encode_headers`.
/// - `group_offsets`: the next offset to read per consumer group and partition.
const CREATE_TABLES: &str = "
CREATE TABLE topics (
    topic_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    partitions INTEGER NOT NULL,
    next_round_robin INTEGER NOT NULL,
    created_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE partitions (
    topic_id INTEGER NOT NULL REFERENCES topics (topic_id),
    partition INTEGER NOT NULL,
    end_offset INTEGER NOT NULL,
    PRIMARY KEY (topic_id, partition)
) STRICT, WITHOUT ROWID;

CREATE TABLE records (
    topic_id INTEGER NOT NULL,
    partition INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    key BLOB,
    value BLOB,
    headers BLOB,
    PRIMARY KEY (topic_id, partition, offset)
) STRICT;

CREATE TABLE group_offsets (
    group_id TEXT NOT NULL,
    topic_id INTEGER NOT NULL REFERENCES topics (topic_id),
    partition INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,
    committed_ms INTEGER NOT NULL,
    PRIMARY KEY (group_id, topic_id, partition)
) STRICT, WITHOUT ROWID;
";

/// Opens the database file with the settings that every connection needs, and creates
/// the schema when the file is new.
///
/// WAL mode lets readers run while one connection writes. `synchronous=FULL` makes each
/// commit wait for an fsync of the WAL, so an acknowledged write survives a crash of the
/// process, and of the machine when the storage honours fsync. The busy timeout makes a
/// connection wait for the write lock instead of failing at once while another
/// connection or process writes.
pub(crate) fn open_connection(
    path: &Path,
    busy_timeout: Duration,
) -> Result<Connection, LocalError> {
    let sqlite_error = |source| LocalError::sqlite(path.to_owned(), busy_timeout, source);

    let connection = Connection::open(path).map_err(sqlite_error)?;
    connection
        .busy_timeout(busy_timeout)
        .map_err(sqlite_error)?;

    let journal_mode: String = connection
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(sqlite_error)?;
    if !journal_mode.eq_ignore_ascii_case("wal") {
        return Err(LocalError::WalUnavailable {
            path: path.to_owned(),
            journal_mode,
        });
    }
    connection
        .pragma_update(None, "synchronous", "FULL")
        .map_err(sqlite_error)?;
    // A checkpoint leaves the WAL file at the size of the largest transaction since it was
    // created, such as one large `weir topic produce`. This truncates it back after a
    // checkpoint when it exceeds 64 MiB.
    connection
        .pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT_BYTES)
        .map_err(sqlite_error)?;

    // The store prepares fewer than 20 distinct statements, and rusqlite caches 16 by
    // default, so this keeps all of them cached with room for more.
    connection.set_prepared_statement_cache_capacity(32);

    create_or_check_schema(&connection, path, busy_timeout)?;
    Ok(connection)
}

/// Creates the tables in an empty database, or checks that an existing database is a
/// Weir database of the supported schema version.
fn create_or_check_schema(
    connection: &Connection,
    path: &Path,
    busy_timeout: Duration,
) -> Result<(), LocalError> {
    let sqlite_error = |source| LocalError::sqlite(path.to_owned(), busy_timeout, source);

    // An immediate transaction takes the write lock before reading, so when several
    // connections open a new file at once, one creates the tables and the others then
    // see them.
    let transaction = Transaction::new_unchecked(connection, TransactionBehavior::Immediate)
        .map_err(sqlite_error)?;

    let application_id: i32 = transaction
        .pragma_query_value(None, "application_id", |row| row.get(0))
        .map_err(sqlite_error)?;
    let user_version: i32 = transaction
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(sqlite_error)?;

    match application_id {
        APPLICATION_ID if user_version == SCHEMA_VERSION => return Ok(()),
        APPLICATION_ID => {
            return Err(LocalError::UnsupportedSchema {
                path: path.to_owned(),
                found: user_version,
                supported: SCHEMA_VERSION,
            });
        }
        0 => {}
        _ => {
            return Err(LocalError::NotWeirDatabase {
                path: path.to_owned(),
                application_id,
            });
        }
    }

    // An application_id of 0 is also what any other SQLite file has, so only a file
    // without tables counts as new.
    let table_count: i64 = transaction
        .query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))
        .map_err(sqlite_error)?;
    if table_count > 0 {
        return Err(LocalError::NotWeirDatabase {
            path: path.to_owned(),
            application_id,
        });
    }

    transaction
        .execute_batch(CREATE_TABLES)
        .map_err(sqlite_error)?;
    transaction
        .pragma_update(None, "application_id", APPLICATION_ID)
        .map_err(sqlite_error)?;
    transaction
        .pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(sqlite_error)?;
    transaction.commit().map_err(sqlite_error)?;

    tracing::info!(path = %path.display(), schema_version = SCHEMA_VERSION, "created local topic database");
    Ok(())
}
