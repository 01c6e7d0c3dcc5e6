//! The translation cache: finished results (segment translations, chat
//! translations, summaries, headlines) kept so that a rerun, a run
//! interrupted part-way, or another run sharing the cache does not make the
//! same result with the same model and settings twice.
//!
//! Every entry is addressed by a [`CacheKey`], a SHA-256 over the cache schema
//! version, the model identity, the canonical generation settings and the
//! source segment. Changing any of them gives a different key, so stale
//! entries are never served; they only take space until `clear`.
//!
//! Entries live in one of two stores behind the small [`Store`] trait, chosen
//! by a [`CacheTarget`]: an SQLite file in a directory (`sqlite.rs`, the
//! default, for one machine) or a PostgreSQL database (`postgres.rs`, for a
//! cache shared by runs on many machines). Both keep the same keys and
//! stored text, so the same run gives the same results on either. Every
//! failure is a [`CacheError`] naming the file or the server (never a
//! password), so the caller can warn and carry on without a cache.
//!
//! A run goes through [`RunCache`], which holds the one policy for failures:
//! the first is reported through the caller's channel and the run goes on
//! without the cache. It also turns stored text back into typed values and
//! gives the get-or-compute every cached result shares.

mod postgres;
mod sqlite;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::hash;

pub(crate) use sqlite::CACHE_FILE_NAME;

/// Version of how cache keys and stored translations are derived. Bump it
/// whenever a change in the pipeline (segmentation, normalization, post-
/// processing) would make old entries wrong: old entries then simply miss.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// Where the cache lives by default: `anubad` under the platform cache
/// directory (`$XDG_CACHE_HOME/anubad` or `~/.cache/anubad` on Linux).
pub fn default_cache_dir() -> Option<PathBuf> {
    dirs::cache_dir().map(|dir| dir.join("anubad"))
}

/// The cache file in the cache directory `dir`.
pub fn cache_file(dir: &Path) -> PathBuf {
    dir.join(CACHE_FILE_NAME)
}

/// Where a cache is to be opened: a directory for the SQLite file, or a
/// PostgreSQL server.
#[derive(Clone, PartialEq, Eq)]
pub enum CacheTarget {
    Dir(PathBuf),
    /// A `postgres://` or `postgresql://` URL as given, password included;
    /// it is never displayed (see the `Display` impl).
    Postgres(String),
}

impl CacheTarget {
    /// A value starting `postgres://` or `postgresql://` is a PostgreSQL
    /// URL; anything else is a directory.
    pub fn parse(value: impl Into<std::ffi::OsString>) -> CacheTarget {
        let value = value.into();
        match value.to_str() {
            Some(url) if postgres::is_url(url) => CacheTarget::Postgres(url.to_string()),
            _ => CacheTarget::Dir(PathBuf::from(value)),
        }
    }
}

/// The directory, or the server's URL with any password left out.
impl fmt::Display for CacheTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheTarget::Dir(dir) => write!(f, "{}", dir.display()),
            CacheTarget::Postgres(url) => f.write_str(&postgres::redacted_url(url)),
        }
    }
}

impl fmt::Debug for CacheTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheTarget::Dir(dir) => f.debug_tuple("Dir").field(dir).finish(),
            CacheTarget::Postgres(_) => f.debug_tuple("Postgres").field(&self.to_string()).finish(),
        }
    }
}

/// Where an open cache keeps its entries, as the user is shown it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The SQLite file.
    File(PathBuf),
    /// A PostgreSQL database, as `postgres://host:port/dbname` (no user or
    /// password).
    Postgres(String),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File(path) => write!(f, "{}", path.display()),
            Location::Postgres(server) => f.write_str(server),
        }
    }
}

/// Address of one cached translation.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey([u8; 32]);

impl CacheKey {
    /// Key for translating `source` with the model `model_identity` (name and
    /// pinned revision, or a hash of local weights) under `settings`, the
    /// canonical JSON of the generation settings. `source` must be the segment
    /// exactly as it is given to the model, i.e. already normalized, so that
    /// the key describes what the model actually saw.
    pub(crate) fn new(model_identity: &str, settings: &str, source: &str) -> CacheKey {
        let mut hasher = Sha256::new();
        hasher.update(b"anubad-cache-key");
        hasher.update(SCHEMA_VERSION.to_le_bytes());
        // Length-prefixing makes the framing unambiguous: ("ab", "c") and
        // ("a", "bc") hash different byte streams.
        for field in [model_identity, settings, source] {
            hasher.update((field.len() as u64).to_le_bytes());
            hasher.update(field.as_bytes());
        }
        CacheKey(hasher.finalize().into())
    }

    /// Lower-case hexadecimal form of the digest.
    pub(crate) fn to_hex(self) -> String {
        hash::to_hex(&self.0)
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CacheKey({self})")
    }
}

/// Why the cache could not be used. Every variant names the file,
/// directory or server involved (a server by host, port and database, never
/// with its password); the underlying error is kept as the source.
#[derive(Debug, Error)]
pub enum CacheError {
    #[error("cannot create cache directory {path}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot open cache file {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cache file {path} is read-only")]
    ReadOnly { path: PathBuf },
    #[error("cache file {path} was written by a newer version of anubad (layout {found}, this version understands {supported})")]
    NewerLayout {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error(
        "cache file {path} is damaged ({operation} failed); `anubad cache clear` replaces it \
         with an empty cache"
    )]
    Corrupt {
        path: PathBuf,
        operation: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot remove the damaged cache file {path}")]
    Remove {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cache file {path}: {operation} failed")]
    Sqlite {
        path: PathBuf,
        operation: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot read the size of cache file {path}")]
    Size {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// `url` is the URL without its password.
    #[error("invalid PostgreSQL cache URL {url}")]
    PostgresUrl {
        url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cannot read the TLS root certificates {path} for the PostgreSQL cache at {server}")]
    PostgresRootCert {
        server: String,
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cannot connect to the PostgreSQL cache at {server} ({tries} tries)")]
    PostgresConnect {
        server: String,
        tries: u32,
        #[source]
        source: ::postgres::Error,
    },
    #[error("PostgreSQL cache at {server}: {operation} failed ({tries} tries)")]
    Postgres {
        server: String,
        operation: &'static str,
        tries: u32,
        #[source]
        source: ::postgres::Error,
    },
    #[error("PostgreSQL cache at {server} was written by a newer version of anubad (layout {found}, this version understands {supported})")]
    PostgresNewerLayout {
        server: String,
        found: i64,
        supported: i64,
    },
    #[error("PostgreSQL cache at {server} is read-only for this user")]
    PostgresReadOnly { server: String },
}

/// Counts from the most recent run that called [`Cache::record_run`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunCounts {
    pub hits: u64,
    pub misses: u64,
}

/// What `anubad cache stats` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheStats {
    /// The SQLite file or the PostgreSQL database.
    pub location: Location,
    /// Number of cached entries.
    pub entries: u64,
    /// Bytes on disk: the SQLite file with its `-wal` and `-shm` side
    /// files, or PostgreSQL's size of the cache's tables with their indexes.
    pub size_bytes: u64,
    /// Hits and misses of the last recorded run, if any run was recorded.
    /// With a shared cache, the last run to finish, on any machine.
    pub last_run: Option<RunCounts>,
}

/// What `anubad cache check` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheHealth {
    /// No cache file, or no cache tables in the database, yet.
    Missing,
    /// SQLite's integrity check passed, or PostgreSQL's tables read as this
    /// version lays them out.
    Sound { entries: u64 },
    /// The integrity check's findings, or the error that stopped it.
    Damaged { problems: Vec<String> },
}

/// Where entries are kept: the one interface the SQLite file and the
/// PostgreSQL database give [`Cache`]. Every method that writes is one
/// transaction, so a run killed at any point leaves whole batches.
trait Store: Send {
    /// The file or server, for messages and `cache stats`.
    fn location(&self) -> Location;

    /// Whether nothing new can be stored: lookups only.
    fn is_read_only(&self) -> bool;

    /// Looks every key up; one slot per key, in order.
    fn get_many(&self, keys: &[CacheKey]) -> Result<Vec<Option<String>>, CacheError>;

    /// Stores one batch made by `model_identity`. Nothing (and no error)
    /// when read-only.
    fn put_many(
        &self,
        model_identity: &str,
        entries: &[(CacheKey, String)],
    ) -> Result<(), CacheError>;

    /// Remembers the counts of the run that just finished, for `stats`.
    fn record_run(&self, hits: u64, misses: u64) -> Result<(), CacheError>;

    fn stats(&self) -> Result<CacheStats, CacheError>;

    /// Deletes every entry, leaving a usable, empty cache; the last run's
    /// counts are kept.
    fn clear(&self) -> Result<(), CacheError>;

    /// Finishes with the store: SQLite checkpoints its WAL.
    fn close(self: Box<Self>) -> Result<(), CacheError>;
}

/// An open translation cache. Each thread or process opens its own; SQLite
/// coordinates them through the file, PostgreSQL through its transactions.
pub struct Cache {
    store: Box<dyn Store>,
    location: Location,
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("location", &self.location)
            .finish()
    }
}

impl Cache {
    fn from_store(store: Box<dyn Store>) -> Cache {
        Cache {
            location: store.location(),
            store,
        }
    }

    /// Opens (creating if needed) the SQLite cache `dir/translations.sqlite3`.
    pub fn open(dir: &Path) -> Result<Cache, CacheError> {
        Ok(Cache::from_store(Box::new(sqlite::SqliteStore::open(dir)?)))
    }

    /// Opens the cache at `target`, creating the SQLite file or the
    /// PostgreSQL tables if needed. A PostgreSQL server that does not answer
    /// is tried a few times first.
    pub fn open_at(target: &CacheTarget) -> Result<Cache, CacheError> {
        match target {
            CacheTarget::Dir(dir) => Cache::open(dir),
            CacheTarget::Postgres(url) => Ok(Cache::from_store(Box::new(
                postgres::PostgresStore::open(url)?,
            ))),
        }
    }

    /// The SQLite file or the PostgreSQL database.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Whether the cache is only read: nothing new is stored.
    pub fn is_read_only(&self) -> bool {
        self.store.is_read_only()
    }

    /// Finishes with the cache. For SQLite this checkpoints the WAL into the
    /// database file; the error (a full disk, say) means the `-wal` file
    /// stays, and SQLite applies it the next time the cache is opened, so
    /// nothing is lost.
    pub fn close(self) -> Result<(), CacheError> {
        self.store.close()
    }

    /// Empties the SQLite cache in `dir`, or replaces it with an empty one
    /// when it is damaged (its file, `-wal` and `-shm` removed first). True
    /// when it was replaced.
    pub fn clear_dir(dir: &Path) -> Result<bool, CacheError> {
        sqlite::SqliteStore::clear_dir(dir)
    }

    /// Empties the cache at `target` ([`Cache::clear_dir`] for a
    /// directory); true when a damaged SQLite file was replaced.
    pub fn clear_at(target: &CacheTarget) -> Result<bool, CacheError> {
        match target {
            CacheTarget::Dir(dir) => Cache::clear_dir(dir),
            CacheTarget::Postgres(_) => {
                let cache = Cache::open_at(target)?;
                cache.clear()?;
                cache.close()?;
                Ok(false)
            }
        }
    }

    /// Runs SQLite's integrity check on the cache in `dir`; a missing cache
    /// is reported, not created.
    pub fn check(dir: &Path) -> Result<CacheHealth, CacheError> {
        sqlite::SqliteStore::check(dir)
    }

    /// Checks the cache at `target` without creating it: SQLite's integrity
    /// check, or for PostgreSQL that the server answers and the tables read
    /// as this version lays them out.
    pub fn check_at(target: &CacheTarget) -> Result<CacheHealth, CacheError> {
        match target {
            CacheTarget::Dir(dir) => Cache::check(dir),
            CacheTarget::Postgres(url) => postgres::PostgresStore::check(url),
        }
    }

    /// Looks every key up; the result has one slot per key, in order.
    pub(crate) fn get_many(&self, keys: &[CacheKey]) -> Result<Vec<Option<String>>, CacheError> {
        self.store.get_many(keys)
    }

    /// Stores one batch of results made by `model_identity` in a single
    /// transaction. Called after every batch, so an interrupted run loses at
    /// most the batch in flight. SQLite replaces an entry with the same key;
    /// PostgreSQL keeps the first one stored, so that every machine sharing
    /// it is served the same text.
    pub(crate) fn put_many(
        &self,
        model_identity: &str,
        entries: &[(CacheKey, String)],
    ) -> Result<(), CacheError> {
        // A read-only cache was announced when it was opened; its entries
        // still serve.
        if entries.is_empty() || self.store.is_read_only() {
            return Ok(());
        }
        self.store.put_many(model_identity, entries)
    }

    /// Remembers the hit and miss counts of the run that just finished, for
    /// `stats`.
    pub fn record_run(&self, hits: u64, misses: u64) -> Result<(), CacheError> {
        if self.store.is_read_only() {
            return Ok(());
        }
        self.store.record_run(hits, misses)
    }

    /// Number of entries, bytes on disk and the last run's counts.
    pub fn stats(&self) -> Result<CacheStats, CacheError> {
        self.store.stats()
    }

    /// Deletes every cached entry and gives the space back, leaving a valid,
    /// empty cache. The last run's counts are kept.
    pub fn clear(&self) -> Result<(), CacheError> {
        self.store.clear()
    }
}

/// How a value is kept in the cache's text column.
pub(crate) trait CacheValue: Sized {
    /// The text to store, or `None` when the value cannot be written; it is
    /// then made again next time.
    fn to_stored(&self) -> Option<String>;

    /// The value back, or `None` when the entry does not read as one, which
    /// counts as a miss.
    fn from_stored(stored: String) -> Option<Self>;
}

/// Translations and chat answers are stored as their plain text (not as a
/// JSON string), as they always were: entries written by earlier versions
/// keep hitting.
impl CacheValue for String {
    fn to_stored(&self) -> Option<String> {
        Some(self.clone())
    }

    fn from_stored(stored: String) -> Option<Self> {
        Some(stored)
    }
}

/// A record kept in the cache as its JSON.
pub(crate) trait StoredAsJson: Serialize + DeserializeOwned {}

impl<T: StoredAsJson> CacheValue for T {
    fn to_stored(&self) -> Option<String> {
        serde_json::to_string(self).ok()
    }

    fn from_stored(stored: String) -> Option<Self> {
        serde_json::from_str(&stored).ok()
    }
}

/// The cache as one run uses it, with the one policy for its failures: the
/// first error is handed to the caller's `report` (the library never prints;
/// the pipeline turns it into an event) and the cache is left alone for the
/// rest of the run, which goes on without it. A cache that failed once
/// (a full disk, a file replaced under the run) is likely to fail again, and
/// one warning says all there is to say.
#[derive(Debug)]
pub(crate) struct RunCache<'a> {
    cache: Option<&'a Cache>,
}

impl<'a> RunCache<'a> {
    /// `None` runs without a cache.
    pub(crate) fn new(cache: Option<&'a Cache>) -> Self {
        Self { cache }
    }

    /// Whether the run still uses a cache: false without one, and after one
    /// failed.
    #[cfg(test)]
    pub(crate) fn is_enabled(&self) -> bool {
        self.cache.is_some()
    }

    /// The values stored under `keys`, one slot per key in order; `None` for
    /// a miss, for an entry that does not read as a `T` and for every key
    /// once the cache is off.
    pub(crate) fn lookup<T: CacheValue>(
        &mut self,
        keys: &[CacheKey],
        report: &mut dyn FnMut(&CacheError),
    ) -> Vec<Option<T>> {
        let all_missed = || std::iter::repeat_with(|| None).take(keys.len()).collect();
        let Some(cache) = self.cache else {
            return all_missed();
        };
        match cache.get_many(keys) {
            Ok(found) => found
                .into_iter()
                .map(|stored| stored.and_then(T::from_stored))
                .collect(),
            Err(error) => {
                self.disable(&error, report);
                all_missed()
            }
        }
    }

    /// Stores what `model_identity` made, in one transaction. A value that
    /// cannot be written is left out.
    pub(crate) fn store<T: CacheValue>(
        &mut self,
        model_identity: &str,
        entries: &[(CacheKey, &T)],
        report: &mut dyn FnMut(&CacheError),
    ) {
        let Some(cache) = self.cache else {
            return;
        };
        let stored: Vec<(CacheKey, String)> = entries
            .iter()
            .filter_map(|(key, value)| Some((*key, value.to_stored()?)))
            .collect();
        if let Err(error) = cache.put_many(model_identity, &stored) {
            self.disable(&error, report);
        }
    }

    /// The value stored under `key`, else the one `compute` makes, stored
    /// for next time as made by `model_identity`; true when the cache had it.
    pub(crate) fn get_or_compute<T: CacheValue, E>(
        &mut self,
        model_identity: &str,
        key: CacheKey,
        report: &mut dyn FnMut(&CacheError),
        compute: impl FnOnce() -> Result<T, E>,
    ) -> Result<(T, bool), E> {
        if let Some(found) = self.lookup(&[key], report).pop().flatten() {
            return Ok((found, true));
        }
        let value = compute()?;
        self.store(model_identity, &[(key, &value)], report);
        Ok((value, false))
    }

    fn disable(&mut self, error: &CacheError, report: &mut dyn FnMut(&CacheError)) {
        self.cache = None;
        report(error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODEL: &str = "Helsinki-NLP/opus-mt-bn-en@abc123";
    const SETTINGS: &str = r#"{"beam":4,"max_len":256}"#;

    fn key(source: &str) -> CacheKey {
        CacheKey::new(MODEL, SETTINGS, source)
    }

    #[test]
    fn key_fields_are_framed_unambiguously() {
        assert_ne!(CacheKey::new("ab", "c", "d"), CacheKey::new("a", "bc", "d"));
        assert_ne!(CacheKey::new("a", "bc", "d"), CacheKey::new("a", "b", "cd"));
        assert_ne!(CacheKey::new("", "ab", ""), CacheKey::new("ab", "", ""));
        assert_eq!(CacheKey::new("a", "b", "c"), CacheKey::new("a", "b", "c"));
    }

    #[test]
    fn key_displays_as_64_hex_digits() {
        let hex = key("x").to_hex();
        assert_eq!(hex.len(), 64);
        assert!(hex
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(hex, format!("{}", key("x")));
    }

    /// A record stored as JSON, as summaries and chat translations are.
    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    struct Record {
        text: String,
        count: usize,
    }

    impl StoredAsJson for Record {}

    /// Makes every later lookup and store of the open cache in `dir` fail,
    /// as a file replaced under a run would.
    fn break_cache(dir: &Path) {
        rusqlite::Connection::open(dir.join(CACHE_FILE_NAME))
            .unwrap()
            .execute_batch("DROP TABLE translations")
            .unwrap();
    }

    #[test]
    fn text_is_stored_as_itself_and_records_as_json() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        let mut run = RunCache::new(Some(&cache));
        let record = Record {
            text: "I eat rice.".to_string(),
            count: 2,
        };
        let text = "I eat rice.".to_string();
        run.store(MODEL, &[(key("record"), &record)], &mut unexpected);
        run.store(MODEL, &[(key("text"), &text)], &mut unexpected);
        assert_eq!(
            cache.get_many(&[key("record"), key("text")]).unwrap(),
            vec![
                Some(r#"{"text":"I eat rice.","count":2}"#.to_string()),
                Some("I eat rice.".to_string())
            ]
        );
        let records: Vec<Option<Record>> =
            run.lookup(&[key("record"), key("text"), key("none")], &mut unexpected);
        // Plain text does not read as a record: a miss, not an error.
        assert_eq!(records, vec![Some(record), None, None]);
        let texts: Vec<Option<String>> = run.lookup(&[key("text")], &mut unexpected);
        assert_eq!(texts, vec![Some(text)]);
        assert!(run.is_enabled());
    }

    #[test]
    fn get_or_compute_computes_a_miss_once_and_keeps_failures_out() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        let mut run = RunCache::new(Some(&cache));
        let mut computed = 0;
        let mut compute = || {
            computed += 1;
            Ok::<_, String>("one".to_string())
        };
        let first = run.get_or_compute(MODEL, key("এক"), &mut unexpected, &mut compute);
        let second = run.get_or_compute(MODEL, key("এক"), &mut unexpected, &mut compute);
        assert_eq!(first, Ok(("one".to_string(), false)));
        assert_eq!(second, Ok(("one".to_string(), true)));
        assert_eq!(computed, 1);
        let failed: Result<(String, bool), _> =
            run.get_or_compute(MODEL, key("দুই"), &mut unexpected, || Err("no model"));
        assert_eq!(failed, Err("no model"));
        assert_eq!(cache.get_many(&[key("দুই")]).unwrap(), vec![None]);
    }

    #[test]
    fn a_failing_cache_is_reported_once_and_then_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        let mut run = RunCache::new(Some(&cache));
        break_cache(dir.path());
        let mut reports = Vec::new();
        let mut report = |error: &CacheError| reports.push(error.to_string());
        let found: Vec<Option<String>> = run.lookup(&[key("a"), key("b")], &mut report);
        assert_eq!(found, vec![None, None]);
        assert!(!run.is_enabled());
        run.store(MODEL, &[(key("a"), &"A".to_string())], &mut report);
        let (value, cached) = run
            .get_or_compute(MODEL, key("b"), &mut report, || {
                Ok::<_, CacheError>("B".to_string())
            })
            .unwrap();
        assert_eq!((value.as_str(), cached), ("B", false));
        assert_eq!(reports.len(), 1, "{reports:?}");
        let path = dir.path().join(CACHE_FILE_NAME);
        assert!(
            reports[0].contains(&path.display().to_string()),
            "{reports:?}"
        );
    }

    #[test]
    fn a_store_that_fails_is_reported_and_turns_the_cache_off() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        let mut run = RunCache::new(Some(&cache));
        break_cache(dir.path());
        let mut reports = 0;
        run.store(MODEL, &[(key("a"), &"A".to_string())], &mut |_| {
            reports += 1
        });
        let found: Vec<Option<String>> = run.lookup(&[key("a")], &mut unexpected);
        assert_eq!((reports, found), (1, vec![None]));
    }

    #[test]
    fn without_a_cache_everything_misses_and_nothing_is_reported() {
        let mut run = RunCache::new(None);
        assert!(!run.is_enabled());
        run.store(MODEL, &[(key("a"), &"A".to_string())], &mut unexpected);
        let found: Vec<Option<String>> = run.lookup(&[key("a"), key("b")], &mut unexpected);
        assert_eq!(found, vec![None, None]);
    }

    fn unexpected(error: &CacheError) {
        panic!("the cache failed: {error}");
    }

    #[test]
    fn default_dir_ends_in_anubad() {
        if let Some(dir) = default_cache_dir() {
            assert_eq!(dir.file_name().and_then(|n| n.to_str()), Some("anubad"));
        }
    }
}
