//! The SQLite store: the cache as one file, `translations.sqlite3`, in a
//! directory on this machine. It is the default.
//!
//! The file is opened in WAL mode with a generous busy timeout so that two
//! `anubad run` processes can share one cache: readers never block, and a
//! writer waits for the other's short transaction instead of failing.
//!
//! A damaged file is a [`CacheError::Corrupt`], whose message says that
//! `anubad cache clear` replaces it ([`SqliteStore::clear_dir`] works on a
//! file that no longer opens) and [`SqliteStore::check`] runs SQLite's
//! integrity check. A cache file the user cannot write is still read:
//! lookups hit, and nothing new is stored. Closing checkpoints the WAL into
//! the database file, so that no `-wal` file is left behind when it can be
//! helped.

use std::io;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior};

use super::{CacheError, CacheHealth, CacheKey, CacheStats, Location, RunCounts, Store};

/// Version of the table layout, kept in SQLite's `user_version`; a file written
/// by a newer layout is refused rather than misread.
const TABLE_LAYOUT_VERSION: i64 = 1;

/// File name of the cache inside the cache directory.
pub(crate) const CACHE_FILE_NAME: &str = "translations.sqlite3";

/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The cache file, open. Each thread or process opens its own; SQLite
/// coordinates them through the file.
pub(super) struct SqliteStore {
    connection: Connection,
    path: PathBuf,
    /// The file (or its folder) cannot be written: lookups only.
    read_only: bool,
}

impl SqliteStore {
    /// Opens (creating if needed) `dir/translations.sqlite3`.
    pub(super) fn open(dir: &Path) -> Result<SqliteStore, CacheError> {
        std::fs::create_dir_all(dir).map_err(|source| CacheError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(CACHE_FILE_NAME);
        let connection = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(|source| CacheError::Open {
            path: path.clone(),
            source,
        })?;
        let cache = SqliteStore {
            connection,
            path,
            read_only: false,
        };
        // SQLite silently falls back to read-only when the file is not
        // writable.
        let read_only = cache
            .connection
            .is_readonly(rusqlite::MAIN_DB)
            .map_err(|e| cache.sqlite_error("checking write access", e))?;
        if read_only {
            drop(cache);
            return SqliteStore::open_read_only(dir.join(CACHE_FILE_NAME));
        }
        cache.prepare()?;
        Ok(cache)
    }

    /// Opens a cache file this user cannot write, for lookups. A WAL-mode
    /// file in a folder that cannot be written either is opened immutable:
    /// SQLite could not make its shared-memory file.
    pub(super) fn open_read_only(path: PathBuf) -> Result<SqliteStore, CacheError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let mut last_error = None;
        for target in [path.display().to_string(), immutable_uri(&path)] {
            let cache = match Connection::open_with_flags(&target, flags) {
                Ok(connection) => SqliteStore {
                    connection,
                    path: path.clone(),
                    read_only: true,
                },
                Err(source) => {
                    last_error = Some(CacheError::Open {
                        path: path.clone(),
                        source,
                    });
                    continue;
                }
            };
            match cache.check_layout() {
                Ok(()) => return Ok(cache),
                Err(error @ CacheError::NewerLayout { .. }) => return Err(error),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or(CacheError::ReadOnly { path }))
    }

    /// Refuses a file written by a newer layout, and one without the
    /// translations table, which a read-only connection cannot create.
    fn check_layout(&self) -> Result<(), CacheError> {
        self.connection
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| self.sqlite_error("setting the busy timeout", e))?;
        let layout: i64 = self
            .connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(|e| self.sqlite_error("reading the layout version", e))?;
        if layout > TABLE_LAYOUT_VERSION {
            return Err(CacheError::NewerLayout {
                path: self.path.clone(),
                found: layout,
                supported: TABLE_LAYOUT_VERSION,
            });
        }
        self.connection
            .query_row("SELECT COUNT(*) FROM translations LIMIT 0", [], |_| Ok(()))
            .optional()
            .map_err(|e| self.sqlite_error("reading the translations table", e))?;
        Ok(())
    }

    /// Empties the cache in `dir`, or replaces it with an empty one when it
    /// is damaged (its file, `-wal` and `-shm` removed first). True when it
    /// was replaced.
    pub(super) fn clear_dir(dir: &Path) -> Result<bool, CacheError> {
        match SqliteStore::open(dir).and_then(|cache| cache.clear()) {
            Ok(()) => return Ok(false),
            Err(CacheError::Corrupt { .. }) => {}
            Err(error) => return Err(error),
        }
        let path = dir.join(CACHE_FILE_NAME);
        for suffix in ["-wal", "-shm", ""] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            let side = PathBuf::from(name);
            match std::fs::remove_file(&side) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => return Err(CacheError::Remove { path: side, source }),
            }
        }
        Box::new(SqliteStore::open(dir)?).close()?;
        Ok(true)
    }

    /// Runs SQLite's integrity check on the cache in `dir`; a missing cache
    /// is reported, not created.
    pub(super) fn check(dir: &Path) -> Result<CacheHealth, CacheError> {
        let path = dir.join(CACHE_FILE_NAME);
        if !path.exists() {
            return Ok(CacheHealth::Missing);
        }
        let damaged = |error: &dyn std::error::Error| {
            let mut text = error.to_string();
            let mut source = error.source();
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            CacheHealth::Damaged {
                problems: vec![text],
            }
        };
        let cache = match SqliteStore::open(dir) {
            Ok(cache) => cache,
            Err(error @ CacheError::Corrupt { .. }) => return Ok(damaged(&error)),
            Err(error) => return Err(error),
        };
        let findings =
            cache
                .connection
                .prepare("PRAGMA integrity_check")
                .and_then(|mut statement| {
                    statement
                        .query_map([], |row| row.get::<_, String>(0))?
                        .collect::<Result<Vec<String>, _>>()
                });
        let findings = match findings {
            Ok(findings) => findings,
            Err(e) => match cache.sqlite_error("checking integrity", e) {
                error @ CacheError::Corrupt { .. } => return Ok(damaged(&error)),
                error => return Err(error),
            },
        };
        if findings != ["ok"] {
            return Ok(CacheHealth::Damaged { problems: findings });
        }
        match cache.stats() {
            Ok(stats) => Ok(CacheHealth::Sound {
                entries: stats.entries,
            }),
            Err(error @ CacheError::Corrupt { .. }) => Ok(damaged(&error)),
            Err(error) => Err(error),
        }
    }

    /// Sets the connection up and makes sure the tables exist. SQLite opens
    /// files lazily, so this is also where a garbage file is detected.
    fn prepare(&self) -> Result<(), CacheError> {
        self.connection
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| self.sqlite_error("setting the busy timeout", e))?;
        self.enable_wal()?;
        // A kill -9 cannot lose WAL commits with synchronous=NORMAL; only a
        // power cut can, and then only the last batches, which are re-done.
        self.connection
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| self.sqlite_error("setting synchronous mode", e))?;

        let layout: i64 = self
            .connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(|e| self.sqlite_error("reading the layout version", e))?;
        if layout > TABLE_LAYOUT_VERSION {
            return Err(CacheError::NewerLayout {
                path: self.path.clone(),
                found: layout,
                supported: TABLE_LAYOUT_VERSION,
            });
        }
        let transaction = self.begin_write()?;
        transaction
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS translations (
                     key BLOB PRIMARY KEY NOT NULL,
                     translation TEXT NOT NULL,
                     model TEXT NOT NULL
                 ) WITHOUT ROWID;
                 CREATE TABLE IF NOT EXISTS meta (
                     name TEXT PRIMARY KEY NOT NULL,
                     value INTEGER NOT NULL
                 ) WITHOUT ROWID;",
            )
            .map_err(|e| self.sqlite_error("creating tables", e))?;
        if layout < TABLE_LAYOUT_VERSION {
            transaction
                .pragma_update(None, "user_version", TABLE_LAYOUT_VERSION)
                .map_err(|e| self.sqlite_error("writing the layout version", e))?;
        }
        transaction
            .commit()
            .map_err(|e| self.sqlite_error("creating tables", e))
    }

    /// Switches the file to WAL mode. Two processes opening a fresh file at
    /// once may both try; the loser can get SQLITE_BUSY without the busy
    /// handler being consulted, so it retries until the busy timeout.
    fn enable_wal(&self) -> Result<(), CacheError> {
        let deadline = Instant::now() + BUSY_TIMEOUT;
        loop {
            let result =
                self.connection
                    .pragma_update_and_check(None, "journal_mode", "WAL", |row| {
                        row.get::<_, String>(0)
                    });
            match result {
                Ok(_) => return Ok(()),
                Err(error) if is_busy(&error) && Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(20));
                }
                Err(error) => return Err(self.sqlite_error("enabling WAL mode", error)),
            }
        }
    }

    /// `BEGIN IMMEDIATE` takes the write lock up front, so waiting for another
    /// writer goes through the busy timeout; a deferred transaction upgrading
    /// to a write in WAL mode would fail at once instead.
    fn begin_write(&self) -> Result<Transaction<'_>, CacheError> {
        Transaction::new_unchecked(&self.connection, TransactionBehavior::Immediate)
            .map_err(|e| self.sqlite_error("starting a write transaction", e))
    }

    fn sqlite_error(&self, operation: &'static str, source: rusqlite::Error) -> CacheError {
        let path = self.path.clone();
        match source.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
                CacheError::Corrupt {
                    path,
                    operation,
                    source,
                }
            }
            _ => CacheError::Sqlite {
                path,
                operation,
                source,
            },
        }
    }

    fn size_on_disk(&self) -> Result<u64, CacheError> {
        let mut total = 0;
        for suffix in ["", "-wal", "-shm"] {
            let mut name = self.path.as_os_str().to_owned();
            name.push(suffix);
            let path = PathBuf::from(name);
            match std::fs::metadata(&path) {
                Ok(metadata) => total += metadata.len(),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => return Err(CacheError::Size { path, source }),
            }
        }
        Ok(total)
    }
}

impl Store for SqliteStore {
    fn location(&self) -> Location {
        Location::File(self.path.clone())
    }

    fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Looks every key up; the result has one slot per key, in order.
    fn get_many(&self, keys: &[CacheKey]) -> Result<Vec<Option<String>>, CacheError> {
        let lookup_error = |e| self.sqlite_error("looking up translations", e);
        let mut statement = self
            .connection
            .prepare_cached("SELECT translation FROM translations WHERE key = ?1")
            .map_err(lookup_error)?;
        keys.iter()
            .map(|key| {
                statement
                    .query_row([&key.0[..]], |row| row.get::<_, String>(0))
                    .optional()
                    .map_err(lookup_error)
            })
            .collect()
    }

    /// Stores one batch of translations made by `model_identity` in a single
    /// transaction, replacing entries with the same key. Called after every
    /// batch, so an interrupted run loses at most the batch in flight.
    fn put_many(
        &self,
        model_identity: &str,
        entries: &[(CacheKey, String)],
    ) -> Result<(), CacheError> {
        // A read-only cache was announced when it was opened; its entries
        // still serve.
        if entries.is_empty() || self.read_only {
            return Ok(());
        }
        let store_error = |e| self.sqlite_error("storing translations", e);
        let transaction = self.begin_write()?;
        {
            let mut statement = transaction
                .prepare_cached(
                    "INSERT OR REPLACE INTO translations (key, translation, model)
                     VALUES (?1, ?2, ?3)",
                )
                .map_err(store_error)?;
            for (key, translation) in entries {
                statement
                    .execute((&key.0[..], translation, model_identity))
                    .map_err(store_error)?;
            }
        }
        transaction.commit().map_err(store_error)
    }

    /// Remembers the hit and miss counts of the run that just finished, for
    /// `stats`.
    fn record_run(&self, hits: u64, misses: u64) -> Result<(), CacheError> {
        if self.read_only {
            return Ok(());
        }
        let record_error = |e| self.sqlite_error("recording run counts", e);
        let transaction = self.begin_write()?;
        for (name, value) in [("last_run_hits", hits), ("last_run_misses", misses)] {
            transaction
                .execute(
                    "INSERT OR REPLACE INTO meta (name, value) VALUES (?1, ?2)",
                    (name, i64::try_from(value).unwrap_or(i64::MAX)),
                )
                .map_err(record_error)?;
        }
        transaction.commit().map_err(record_error)
    }

    /// Number of entries, bytes on disk and the last run's counts.
    fn stats(&self) -> Result<CacheStats, CacheError> {
        let stats_error = |e| self.sqlite_error("reading statistics", e);
        let entries: i64 = self
            .connection
            .query_row("SELECT COUNT(*) FROM translations", [], |row| row.get(0))
            .map_err(stats_error)?;
        let meta_value = |name: &str| {
            self.connection
                .query_row("SELECT value FROM meta WHERE name = ?1", [name], |row| {
                    row.get::<_, i64>(0)
                })
                .optional()
                .map_err(stats_error)
        };
        let last_run = match (meta_value("last_run_hits")?, meta_value("last_run_misses")?) {
            (Some(hits), Some(misses)) => Some(RunCounts {
                hits: u64::try_from(hits).unwrap_or(0),
                misses: u64::try_from(misses).unwrap_or(0),
            }),
            _ => None,
        };
        Ok(CacheStats {
            location: Location::File(self.path.clone()),
            entries: u64::try_from(entries).unwrap_or(0),
            size_bytes: self.size_on_disk()?,
            last_run,
        })
    }

    /// Deletes every cached translation and gives the space back, leaving a
    /// valid, empty cache. The last run's counts are kept.
    fn clear(&self) -> Result<(), CacheError> {
        if self.read_only {
            return Err(CacheError::ReadOnly {
                path: self.path.clone(),
            });
        }
        let clear_error = |e| self.sqlite_error("clearing the cache", e);
        let transaction = self.begin_write()?;
        transaction
            .execute("DELETE FROM translations", [])
            .map_err(clear_error)?;
        transaction.commit().map_err(clear_error)?;
        self.connection
            .execute_batch("VACUUM")
            .map_err(|e| self.sqlite_error("vacuuming", e))?;
        // VACUUM writes the whole file through the WAL; truncate it so the
        // space is really returned.
        self.connection
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(|e| self.sqlite_error("checkpointing", e))
    }

    /// Checkpoints the WAL into the database file and closes it. The error
    /// (a full disk, say) means the `-wal` file stays; SQLite applies it
    /// the next time the cache is opened, so nothing is lost.
    fn close(self: Box<Self>) -> Result<(), CacheError> {
        if !self.read_only {
            self.connection
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .map_err(|e| self.sqlite_error("checkpointing the WAL", e))?;
        }
        let SqliteStore {
            connection, path, ..
        } = *self;
        connection
            .close()
            .map_err(|(_, source)| CacheError::Sqlite {
                path,
                operation: "closing",
                source,
            })
    }
}

/// An SQLite URI opening `path` immutable: read without locks or a
/// shared-memory file, as nothing can change a file no one may write.
fn immutable_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for c in path.to_string_lossy().chars() {
        match c {
            '%' | '?' | '#' => uri.push_str(&format!("%{:02X}", c as u32)),
            _ => uri.push(c),
        }
    }
    uri.push_str("?immutable=1");
    uri
}

fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

#[cfg(test)]
mod tests {
    use super::super::{cache_file, Cache};
    use super::*;
    use std::sync::{Arc, Barrier};

    const MODEL: &str = "Helsinki-NLP/opus-mt-bn-en@abc123";
    const SETTINGS: &str = r#"{"beam":4,"max_len":256}"#;

    fn key(source: &str) -> CacheKey {
        CacheKey::new(MODEL, SETTINGS, source)
    }

    #[test]
    fn stored_translations_come_back_and_unknown_keys_miss() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        let stored = key("আমি ভাত খাই।");
        let unknown = key("সে বই পড়ে।");
        cache
            .put_many(MODEL, &[(stored, "I eat rice.".to_string())])
            .unwrap();
        let found = cache.get_many(&[stored, unknown, stored]).unwrap();
        assert_eq!(
            found,
            vec![
                Some("I eat rice.".to_string()),
                None,
                Some("I eat rice.".to_string())
            ]
        );
    }

    #[test]
    fn changing_model_settings_or_source_misses() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        let source = "আমি ভাত খাই।";
        cache
            .put_many(MODEL, &[(key(source), "I eat rice.".to_string())])
            .unwrap();
        let variants = [
            CacheKey::new("Helsinki-NLP/opus-mt-bn-en@def456", SETTINGS, source),
            CacheKey::new(MODEL, r#"{"beam":1,"max_len":256}"#, source),
            CacheKey::new(MODEL, SETTINGS, "আমি ভাত খাই"),
        ];
        assert_eq!(cache.get_many(&variants).unwrap(), vec![None, None, None]);
    }

    #[test]
    fn entries_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let cache = Cache::open(dir.path()).unwrap();
            cache
                .put_many(MODEL, &[(key("এক"), "one".to_string())])
                .unwrap();
        }
        let reopened = Cache::open(dir.path()).unwrap();
        assert_eq!(
            reopened.get_many(&[key("এক")]).unwrap(),
            vec![Some("one".to_string())]
        );
    }

    #[test]
    fn replacing_an_entry_keeps_the_newest_translation() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        cache
            .put_many(MODEL, &[(key("এক"), "1".to_string())])
            .unwrap();
        cache
            .put_many(MODEL, &[(key("এক"), "one".to_string())])
            .unwrap();
        assert_eq!(
            cache.get_many(&[key("এক")]).unwrap(),
            vec![Some("one".to_string())]
        );
        assert_eq!(cache.stats().unwrap().entries, 1);
    }

    #[test]
    fn garbage_file_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CACHE_FILE_NAME);
        std::fs::write(&path, vec![0x5a_u8; 8192]).unwrap();
        let error = Cache::open(dir.path()).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains(&path.display().to_string()),
            "message {message:?} does not name {}",
            path.display()
        );
    }

    #[test]
    fn unusable_cache_path_is_an_error_naming_the_file() {
        // A directory where the file should be cannot be opened by anyone,
        // root included, unlike a chmod-ed file.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CACHE_FILE_NAME);
        std::fs::create_dir(&path).unwrap();
        let message = Cache::open(dir.path()).unwrap_err().to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
    }

    #[test]
    fn cache_directory_under_a_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("not-a-dir");
        std::fs::write(&blocker, "x").unwrap();
        let cache_dir = blocker.join("anubad");
        let message = Cache::open(&cache_dir).unwrap_err().to_string();
        assert!(
            message.contains(&cache_dir.display().to_string()),
            "{message}"
        );
    }

    #[test]
    fn two_writers_on_one_file_both_succeed() {
        let dir = tempfile::tempdir().unwrap();
        // Both open a fresh file at the same moment, which also exercises the
        // race to switch it to WAL mode.
        let barrier = Arc::new(Barrier::new(2));
        let writers: Vec<_> = (0..2)
            .map(|writer| {
                let dir = dir.path().to_path_buf();
                let barrier = Arc::clone(&barrier);
                thread::spawn(move || {
                    barrier.wait();
                    let cache = Cache::open(&dir).unwrap();
                    for batch in 0..50 {
                        let entries: Vec<_> = (0..20)
                            .map(|i| {
                                let source = format!("{writer}-{batch}-{i}");
                                (key(&source), format!("translation {source}"))
                            })
                            .collect();
                        cache.put_many(MODEL, &entries).unwrap();
                        // Reads interleaved with the other writer's commits.
                        let back = cache.get_many(&[entries[0].0]).unwrap();
                        assert_eq!(back[0].as_deref(), Some(entries[0].1.as_str()));
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        let cache = Cache::open(dir.path()).unwrap();
        assert_eq!(cache.stats().unwrap().entries, 2 * 50 * 20);
        for writer in 0..2 {
            for batch in 0..50 {
                let keys: Vec<_> = (0..20)
                    .map(|i| key(&format!("{writer}-{batch}-{i}")))
                    .collect();
                let found = cache.get_many(&keys).unwrap();
                for (i, translation) in found.iter().enumerate() {
                    assert_eq!(
                        translation.as_deref(),
                        Some(format!("translation {writer}-{batch}-{i}").as_str())
                    );
                }
            }
        }
    }

    #[test]
    fn clear_empties_the_cache_and_leaves_it_usable() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        let entries: Vec<_> = (0..200)
            .map(|i| (key(&i.to_string()), "x".repeat(500)))
            .collect();
        cache.put_many(MODEL, &entries).unwrap();
        let size_before = cache.stats().unwrap().size_bytes;
        cache.clear().unwrap();
        let stats = cache.stats().unwrap();
        assert_eq!(stats.entries, 0);
        assert!(stats.size_bytes < size_before);
        assert_eq!(cache.get_many(&[entries[0].0]).unwrap(), vec![None]);
        cache.put_many(MODEL, &entries[..1]).unwrap();
        drop(cache);
        let reopened = Cache::open(dir.path()).unwrap();
        assert_eq!(reopened.stats().unwrap().entries, 1);
    }

    #[test]
    fn stats_count_entries_size_and_last_run() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        let empty = cache.stats().unwrap();
        assert_eq!(empty.entries, 0);
        assert_eq!(empty.last_run, None);
        assert_eq!(
            empty.location,
            Location::File(dir.path().join(CACHE_FILE_NAME))
        );
        cache
            .put_many(
                MODEL,
                &[(key("a"), "A".to_string()), (key("b"), "B".to_string())],
            )
            .unwrap();
        cache.record_run(7, 2).unwrap();
        cache.record_run(5, 3).unwrap();
        let stats = cache.stats().unwrap();
        assert_eq!(stats.entries, 2);
        assert_eq!(stats.last_run, Some(RunCounts { hits: 5, misses: 3 }));
        let on_disk: u64 = ["", "-wal", "-shm"]
            .iter()
            .filter_map(|suffix| {
                std::fs::metadata(dir.path().join(format!("{CACHE_FILE_NAME}{suffix}"))).ok()
            })
            .map(|m| m.len())
            .sum();
        assert!(stats.size_bytes > 0);
        assert_eq!(stats.size_bytes, on_disk);
    }

    #[test]
    fn a_read_only_cache_is_read_and_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        cache
            .put_many(MODEL, &[(key("এক"), "one".to_string())])
            .unwrap();
        cache.close().unwrap();
        // The connection SQLite falls back to when the file is not
        // writable (which root cannot be shown with permissions).
        let read_only = Cache::from_store(Box::new(
            SqliteStore::open_read_only(cache_file(dir.path())).unwrap(),
        ));
        assert!(read_only.is_read_only());
        assert_eq!(
            read_only.get_many(&[key("এক"), key("দুই")]).unwrap(),
            vec![Some("one".to_string()), None]
        );
        read_only
            .put_many(MODEL, &[(key("দুই"), "two".to_string())])
            .unwrap();
        read_only.record_run(1, 1).unwrap();
        assert!(matches!(
            read_only.clear(),
            Err(CacheError::ReadOnly { .. })
        ));
        assert_eq!(read_only.stats().unwrap().entries, 1);
    }

    #[test]
    fn the_immutable_uri_escapes_what_sqlite_would_read_as_uri_syntax() {
        assert_eq!(
            immutable_uri(Path::new("/tmp/a b?c#d%e/translations.sqlite3")),
            "file:/tmp/a b%3Fc%23d%25e/translations.sqlite3?immutable=1"
        );
    }

    #[test]
    fn a_damaged_file_says_how_to_fix_it_and_clear_dir_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = cache_file(dir.path());
        std::fs::write(&path, vec![0x5a_u8; 8192]).unwrap();
        let error = Cache::open(dir.path()).unwrap_err();
        assert!(matches!(error, CacheError::Corrupt { .. }), "{error:?}");
        assert!(error.to_string().contains("anubad cache clear"), "{error}");
        assert!(matches!(
            Cache::check(dir.path()).unwrap(),
            CacheHealth::Damaged { .. }
        ));
        assert!(Cache::clear_dir(dir.path()).unwrap(), "replaced");
        assert_eq!(
            Cache::check(dir.path()).unwrap(),
            CacheHealth::Sound { entries: 0 }
        );
        // A sound cache is emptied, not replaced.
        let cache = Cache::open(dir.path()).unwrap();
        cache
            .put_many(MODEL, &[(key("এক"), "one".to_string())])
            .unwrap();
        assert!(!Cache::clear_dir(dir.path()).unwrap());
        assert_eq!(cache.stats().unwrap().entries, 0);
    }

    #[test]
    fn check_reports_a_missing_cache_without_creating_one() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Cache::check(dir.path()).unwrap(), CacheHealth::Missing);
        assert!(!cache_file(dir.path()).exists());
    }

    #[test]
    fn close_checkpoints_the_wal() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        let keep_open = Cache::open(dir.path()).unwrap();
        cache
            .put_many(MODEL, &[(key("এক"), "x".repeat(10_000))])
            .unwrap();
        let wal = dir.path().join(format!("{CACHE_FILE_NAME}-wal"));
        assert!(std::fs::metadata(&wal).unwrap().len() > 0);
        // Another connection stays open, so SQLite's own checkpoint on the
        // last close does not happen: only the explicit one empties the WAL.
        cache.close().unwrap();
        assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0);
        drop(keep_open);
    }
}
