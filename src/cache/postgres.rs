//! The PostgreSQL store: the cache in a database that runs on many machines
//! share (`--cache postgres://...`), so that what one worker translated is
//! never translated again by another.
//!
//! Two tables, `anubad_translations` (key, stored text, the model that made
//! it) and `anubad_meta` (the layout version and the last run's counts),
//! created if missing when the cache is opened; the `anubad_` prefix keeps
//! them apart from other tables in a shared database. A batch is one
//! `INSERT ... ON CONFLICT DO NOTHING` statement, one transaction, with its
//! keys in sorted order: any number of writers may store the same keys at
//! once without duplicates, deadlocks or errors, and the first text stored
//! under a key stays, so every machine is served the same text.
//!
//! A query or connection that fails for a reason that may pass (the
//! connection lost, the server restarting, a deadlock) is retried on a new
//! connection a few times with a short pause; then it is a [`CacheError`]
//! naming the server by host, port and database, never with the password.
//!
//! TLS goes through rustls, with libpq's `sslmode` meanings, so that a URL
//! that works with `psql` works here: `disable` is plain text; `prefer`
//! (the default) encrypts when the server offers TLS and `require` always,
//! neither checking the server's certificate (unless `require` is given
//! `sslrootcert`, when it checks as `verify-ca`), which keeps out a passive
//! listener only; `verify-ca` checks the certificate's chain against the
//! certificates in `sslrootcert=FILE`, else Mozilla's roots; `verify-full`
//! also checks that it names the host.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use postgres::config::{Host, SslMode};
use postgres::{Client, Config, NoTls};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{CacheError, CacheHealth, CacheKey, CacheStats, Location, RunCounts, Store};

/// Version of the table layout, kept in `anubad_meta` under `layout`; a
/// database written by a newer layout is refused rather than misread.
const TABLE_LAYOUT_VERSION: i64 = 1;

/// Tries of one operation before it is an error, and the pause after each
/// failed one: about 3 s in all, enough for a server restart or a dropped
/// connection, short enough that a run whose server is gone goes on soon.
const TRIES: u32 = 3;
const PAUSES: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(2)];

/// Defaults where the URL says nothing: how long to wait for a connection,
/// and for a server that stopped answering, so that a run never hangs on a
/// cache.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(15);
const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);

/// How long a statement waits for another session's lock (a `cache clear`
/// in progress, a writer of the same keys) before it fails, as SQLite's busy
/// timeout.
const LOCK_TIMEOUT: &str = "10s";

/// Serializes table creation among workers opening a fresh database at
/// once, where concurrent `CREATE TABLE IF NOT EXISTS` can fail. Advisory
/// locks are per database; the number is arbitrary ("anubad" in ASCII).
const CREATE_LOCK: i64 = 0x616e_7562_6164;

/// Whether `value` names a PostgreSQL server rather than a directory.
pub(super) fn is_url(value: &str) -> bool {
    let lower = |prefix: &str| {
        value
            .get(..prefix.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
    };
    lower("postgres://") || lower("postgresql://")
}

/// `url` as it may be shown: the server and database, without user,
/// password or parameters.
pub(super) fn redacted_url(url: &str) -> String {
    match parse_config(url) {
        Ok((config, _)) => server_name(&config),
        Err(_) => without_secrets(url),
    }
}

/// The scheme, host, port and path of a URL that does not parse; user
/// information and parameters (which may hold a password) left out.
fn without_secrets(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let (authority, path) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, ""),
    };
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}{path}")
}

/// How to connect: the parsed URL with this module's defaults, the TLS
/// connector, and the server's name for messages.
struct Connection {
    config: Config,
    tls: Tls,
    server: String,
}

/// TLS as the URL's `sslmode` asks: none, or rustls checking the server
/// as much as [`Verify`] says.
enum Tls {
    Off,
    Rustls(MakeRustlsConnect),
}

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verify {
    /// Nothing (libpq's `prefer` and `require`): encrypted, but to whoever
    /// answers.
    Nothing,
    /// The chain up to a trusted root, not the name (`verify-ca`).
    Chain,
    /// The chain and the host name (`verify-full`).
    Full,
}

/// What the URL says about TLS that tokio-postgres does not read itself.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TlsOptions {
    verify: Verify,
    root_cert: Option<PathBuf>,
}

/// The client's configuration for `url`, and the TLS options it gives.
fn parse_config(url: &str) -> Result<(Config, TlsOptions), CacheError> {
    let invalid = |source: Box<dyn std::error::Error + Send + Sync>| CacheError::PostgresUrl {
        url: without_secrets(url),
        source,
    };
    let (url_for_client, tls) = split_tls_options(url).map_err(|e| invalid(e.into()))?;
    let config = Config::from_str(&url_for_client).map_err(|e| invalid(e.into()))?;
    Ok((config, tls))
}

impl Connection {
    fn parse(url: &str) -> Result<Connection, CacheError> {
        let (mut config, tls) = parse_config(url)?;
        let server = server_name(&config);
        // libpq's convention, so that the password need not be on a command
        // line or in a URL that is logged.
        if config.get_password().is_none() {
            if let Some(password) = std::env::var_os("PGPASSWORD") {
                config.password(password.as_encoded_bytes());
            }
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(TCP_USER_TIMEOUT);
        }
        // tokio-postgres's default is two hours of silence before the first
        // probe: a server that vanished would go unnoticed for the run.
        if config.get_keepalives_idle() == Duration::from_secs(2 * 60 * 60) {
            config.keepalives_idle(KEEPALIVE_IDLE);
        }
        if config.get_application_name().is_none() {
            config.application_name("anubad");
        }
        let tls = match config.get_ssl_mode() {
            SslMode::Disable => Tls::Off,
            _ => Tls::Rustls(tls_connector(&tls, &server)?),
        };
        Ok(Connection {
            config,
            tls,
            server,
        })
    }

    /// One connection, with the session's lock timeout set.
    fn connect(&self) -> Result<Client, postgres::Error> {
        let mut client = match &self.tls {
            Tls::Off => self.config.connect(NoTls)?,
            Tls::Rustls(tls) => self.config.connect(tls.clone())?,
        };
        client.batch_execute(&format!("SET lock_timeout = '{LOCK_TIMEOUT}'"))?;
        Ok(client)
    }
}

/// The URL without what tokio-postgres does not read, and that as
/// [`TlsOptions`]: `sslrootcert` is taken out, and `verify-ca` and
/// `verify-full` become `require`, which tokio-postgres knows.
fn split_tls_options(url: &str) -> Result<(String, TlsOptions), String> {
    let mut options = TlsOptions {
        verify: Verify::Nothing,
        root_cert: None,
    };
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), options));
    };
    let mut kept = Vec::new();
    let mut mode = None;
    for parameter in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = parameter.split_once('=').unwrap_or((parameter, ""));
        match (name, percent_decode(value)?) {
            ("sslrootcert", path) => options.root_cert = Some(PathBuf::from(path)),
            ("sslmode", value) => {
                if value == "verify-ca" || value == "verify-full" {
                    kept.push("sslmode=require".to_string());
                } else {
                    kept.push(parameter.to_string());
                }
                mode = Some(value);
            }
            _ => kept.push(parameter.to_string()),
        }
    }
    options.verify = match mode.as_deref() {
        Some("verify-full") => Verify::Full,
        Some("verify-ca") => Verify::Chain,
        // libpq: `require` with a root certificate checks the chain.
        Some("require") if options.root_cert.is_some() => Verify::Chain,
        _ => Verify::Nothing,
    };
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, options))
}

fn percent_decode(value: &str) -> Result<String, String> {
    let bytes = value.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let digits = value
                .get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .ok_or_else(|| format!("bad percent-encoding in {value:?}"))?;
            decoded.push(digits);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(decoded).map_err(|_| format!("{value:?} does not decode to UTF-8"))
}

/// `postgres://host:port/dbname`, as the client will connect (the default
/// port and the user's name as database filled in).
fn server_name(config: &Config) -> String {
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            match host {
                Host::Tcp(name) if name.contains(':') => format!("[{name}]:{port}"),
                Host::Tcp(name) => format!("{name}:{port}"),
                #[cfg(unix)]
                Host::Unix(dir) => format!("{}:{port}", dir.display()),
            }
        })
        .collect();
    let hosts = if hosts.is_empty() {
        "localhost:5432".to_string()
    } else {
        hosts.join(",")
    };
    let database = config.get_dbname().or(config.get_user()).unwrap_or("");
    format!("postgres://{hosts}/{database}")
}

/// rustls with ring, checking the server as `options` say against the
/// certificates in its root file, else Mozilla's roots.
fn tls_connector(options: &TlsOptions, server: &str) -> Result<MakeRustlsConnect, CacheError> {
    let failed = |path: &Path, source: Box<dyn std::error::Error + Send + Sync>| {
        CacheError::PostgresRootCert {
            server: server.to_string(),
            path: path.to_path_buf(),
            source,
        }
    };
    let mut roots = rustls::RootCertStore::empty();
    match &options.root_cert {
        Some(path) => {
            let certificates = CertificateDer::pem_file_iter(path)
                .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
                .map_err(|e| failed(path, e.into()))?;
            if certificates.is_empty() {
                return Err(failed(path, "no PEM certificate in the file".into()));
            }
            for certificate in certificates {
                roots.add(certificate).map_err(|e| failed(path, e.into()))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    // Only ring's algorithms: the process-wide default provider would depend
    // on the features other crates turn on.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // ring supports the safe defaults and any root store builds a verifier
    // (an empty one is refused above): these cannot fail, but are not
    // unwrapped.
    let unexpected = |e: Box<dyn std::error::Error + Send + Sync>| {
        failed(options.root_cert.as_deref().unwrap_or(Path::new("")), e)
    };
    let full = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| unexpected(e.into()))?;
    let verifier: Arc<dyn ServerCertVerifier> = match options.verify {
        Verify::Full => full,
        Verify::Chain => Arc::new(ChainOnly(full)),
        Verify::Nothing => Arc::new(Unchecked(provider.clone())),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| unexpected(e.into()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// `verify-ca`: the chain is checked, the name in the certificate is not.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // webpki checks the chain first, so a name error means the chain
        // was good.
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// libpq's `prefer` and `require`: any certificate is accepted; the
/// handshake's signatures are still checked, so the session is encrypted to
/// the holder of the certificate's key.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Whether `error` may pass on a new connection: the connection lost or
/// refused, the server shutting down or starting, too many clients, a
/// deadlock or serialization failure, a lock not granted in time. Not: bad
/// credentials, a certificate that fails verification, a missing table.
fn is_transient(error: &postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    if let Some(db) = error.as_db_error() {
        let code = db.code().code();
        return code.starts_with("08")
            || code.starts_with("57P")
            || matches!(code, "40001" | "40P01" | "53300" | "55P03");
    }
    let source = std::error::Error::source(error);
    match source.and_then(|e| e.downcast_ref::<std::io::Error>()) {
        // tokio-rustls reports a failed handshake as an I/O error around
        // rustls's own: trying again would fail the same way.
        Some(io) => io
            .get_ref()
            .is_none_or(|inner| inner.downcast_ref::<rustls::Error>().is_none()),
        None => false,
    }
}

/// What opening the cache read from the database.
struct Opened {
    layout: i64,
    can_insert: bool,
}

/// An open PostgreSQL cache: one connection, replaced when it fails.
pub(super) struct PostgresStore {
    connection: Connection,
    /// `None` before the first use and after a failure.
    client: RefCell<Option<Client>>,
    /// This user may not insert rows: lookups only.
    read_only: bool,
    /// An operation failed after every try: later ones try once, so that the
    /// end of a run whose server is gone is not slowed by more pauses.
    gave_up: Cell<bool>,
}

impl PostgresStore {
    /// Connects and creates the tables if missing; refuses a database whose
    /// layout is newer than this version's.
    pub(super) fn open(url: &str) -> Result<PostgresStore, CacheError> {
        let mut store = PostgresStore {
            connection: Connection::parse(url)?,
            client: RefCell::new(None),
            read_only: false,
            gave_up: Cell::new(false),
        };
        let opened = store.with_client("opening the cache", |client| {
            if !tables_exist(client)? {
                create_tables(client)?;
            }
            let layout = layout(client)?.unwrap_or(TABLE_LAYOUT_VERSION);
            let can_insert = client
                .query_one(
                    "SELECT has_table_privilege('anubad_translations', 'INSERT')",
                    &[],
                )?
                .get(0);
            Ok(Opened { layout, can_insert })
        })?;
        if opened.layout > TABLE_LAYOUT_VERSION {
            return Err(store.newer_layout(opened.layout));
        }
        store.read_only = !opened.can_insert;
        Ok(store)
    }

    /// `cache check`: the server answers, the tables exist (else
    /// [`CacheHealth::Missing`]; nothing is created) and read as this
    /// version lays them out.
    pub(super) fn check(url: &str) -> Result<CacheHealth, CacheError> {
        let store = PostgresStore {
            connection: Connection::parse(url)?,
            client: RefCell::new(None),
            read_only: true,
            gave_up: Cell::new(false),
        };
        let found = store.with_client("checking the tables", |client| {
            if !tables_exist(client)? {
                return Ok(None);
            }
            let layout = layout(client)?;
            // Every column this version reads and writes, with its type.
            let probe = client.query_one(
                "SELECT (SELECT COUNT(*) FROM anubad_translations),
                        (SELECT COUNT(*) FROM (
                             SELECT key::bytea, translation::text, model::text
                             FROM anubad_translations LIMIT 0) AS columns),
                        (SELECT COUNT(*) FROM (
                             SELECT name::text, value::bigint FROM anubad_meta LIMIT 0) AS meta)",
                &[],
            );
            Ok(Some((layout, probe.map(|row| row.get::<_, i64>(0)))))
        });
        let newer_layout = |found| store.newer_layout(found);
        let (layout, probe) = match found? {
            None => return Ok(CacheHealth::Missing),
            Some(found) => found,
        };
        match layout {
            Some(layout) if layout > TABLE_LAYOUT_VERSION => Err(newer_layout(layout)),
            None => Ok(CacheHealth::Damaged {
                problems: vec!["anubad_meta holds no layout version".to_string()],
            }),
            Some(_) => match probe {
                Ok(entries) => Ok(CacheHealth::Sound {
                    entries: u64::try_from(entries).unwrap_or(0),
                }),
                Err(error) => Ok(CacheHealth::Damaged {
                    problems: vec![crate::pipeline::with_causes(&error)],
                }),
            },
        }
    }

    fn server(&self) -> &str {
        &self.connection.server
    }

    fn newer_layout(&self, found: i64) -> CacheError {
        CacheError::PostgresNewerLayout {
            server: self.server().to_string(),
            found,
            supported: TABLE_LAYOUT_VERSION,
        }
    }

    /// Runs `work` on the connection, connecting first if there is none.
    /// A transient failure drops the connection and tries again on a new
    /// one after a pause, up to [`TRIES`] times. `work` must be safe to
    /// repeat: every write here is one statement, which either committed or
    /// did not, and storing a key twice stores it once.
    fn with_client<T>(
        &self,
        operation: &'static str,
        mut work: impl FnMut(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, CacheError> {
        let mut slot = self.client.borrow_mut();
        let tries = if self.gave_up.get() { 1 } else { TRIES };
        let mut tried = 0;
        loop {
            tried += 1;
            let (connecting, result) = match slot.as_mut() {
                Some(client) => (false, work(client)),
                None => match self.connection.connect() {
                    Ok(client) => (false, work(slot.insert(client))),
                    Err(error) => (true, Err(error)),
                },
            };
            let error = match result {
                Ok(value) => {
                    self.gave_up.set(false);
                    return Ok(value);
                }
                Err(error) => error,
            };
            let transient = is_transient(&error);
            if transient {
                // A connection that failed this way is not trusted again.
                *slot = None;
            }
            if transient && tried < tries {
                thread::sleep(PAUSES[(tried - 1) as usize % PAUSES.len()]);
                continue;
            }
            if transient {
                self.gave_up.set(true);
            }
            let server = self.server().to_string();
            return Err(if connecting {
                CacheError::PostgresConnect {
                    server,
                    tries: tried,
                    source: error,
                }
            } else {
                CacheError::Postgres {
                    server,
                    operation,
                    tries: tried,
                    source: error,
                }
            });
        }
    }

    fn close_quietly(self) {
        if let Some(client) = self.client.into_inner() {
            // Only says goodbye to the server; nothing is pending.
            let _ = client.close();
        }
    }
}

/// Whether both tables are there (in the first schema of the search path
/// that has them, as every query here finds them).
fn tables_exist(client: &mut Client) -> Result<bool, postgres::Error> {
    client
        .query_one(
            "SELECT to_regclass('anubad_translations') IS NOT NULL
                    AND to_regclass('anubad_meta') IS NOT NULL",
            &[],
        )
        .map(|row| row.get(0))
}

fn create_tables(client: &mut Client) -> Result<(), postgres::Error> {
    let mut transaction = client.transaction()?;
    transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&CREATE_LOCK])?;
    transaction.batch_execute(
        "CREATE TABLE IF NOT EXISTS anubad_translations (
             key BYTEA PRIMARY KEY,
             translation TEXT NOT NULL,
             model TEXT NOT NULL
         );
         CREATE TABLE IF NOT EXISTS anubad_meta (
             name TEXT PRIMARY KEY,
             value BIGINT NOT NULL
         );",
    )?;
    transaction.execute(
        "INSERT INTO anubad_meta (name, value) VALUES ('layout', $1)
         ON CONFLICT (name) DO NOTHING",
        &[&TABLE_LAYOUT_VERSION],
    )?;
    transaction.commit()
}

fn layout(client: &mut Client) -> Result<Option<i64>, postgres::Error> {
    client
        .query_opt("SELECT value FROM anubad_meta WHERE name = 'layout'", &[])
        .map(|row| row.map(|row| row.get(0)))
}

impl Store for PostgresStore {
    fn location(&self) -> Location {
        Location::Postgres(self.server().to_string())
    }

    fn is_read_only(&self) -> bool {
        self.read_only
    }

    fn get_many(&self, keys: &[CacheKey]) -> Result<Vec<Option<String>>, CacheError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let raw: Vec<&[u8]> = keys.iter().map(|key| &key.0[..]).collect();
        let rows = self.with_client("looking up translations", |client| {
            client.query(
                "SELECT key, translation FROM anubad_translations WHERE key = ANY($1)",
                &[&raw],
            )
        })?;
        let found: HashMap<Vec<u8>, String> = rows
            .into_iter()
            .map(|row| (row.get::<_, Vec<u8>>(0), row.get::<_, String>(1)))
            .collect();
        Ok(raw.iter().map(|key| found.get(*key).cloned()).collect())
    }

    fn put_many(
        &self,
        model_identity: &str,
        entries: &[(CacheKey, String)],
    ) -> Result<(), CacheError> {
        if entries.is_empty() || self.read_only {
            return Ok(());
        }
        // Sorted, so that writers of overlapping batches take the rows'
        // locks in one order and never deadlock. One row per key: the last
        // text given for it, which is what SQLite keeps.
        let mut sorted: Vec<&(CacheKey, String)> = entries.iter().rev().collect();
        sorted.sort_by_key(|(key, _)| key.0);
        sorted.dedup_by(|a, b| a.0 == b.0);
        let keys: Vec<&[u8]> = sorted.iter().map(|(key, _)| &key.0[..]).collect();
        let texts: Vec<&str> = sorted.iter().map(|(_, text)| text.as_str()).collect();
        self.with_client("storing translations", |client| {
            client.execute(
                "INSERT INTO anubad_translations (key, translation, model)
                 SELECT key, translation, $3
                 FROM unnest($1::bytea[], $2::text[]) AS batch (key, translation)
                 ON CONFLICT (key) DO NOTHING",
                &[&keys, &texts, &model_identity],
            )
        })?;
        Ok(())
    }

    fn record_run(&self, hits: u64, misses: u64) -> Result<(), CacheError> {
        if self.read_only {
            return Ok(());
        }
        let hits = i64::try_from(hits).unwrap_or(i64::MAX);
        let misses = i64::try_from(misses).unwrap_or(i64::MAX);
        self.with_client("recording run counts", |client| {
            client.execute(
                "INSERT INTO anubad_meta (name, value)
                 VALUES ('last_run_hits', $1), ('last_run_misses', $2)
                 ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
                &[&hits, &misses],
            )
        })?;
        Ok(())
    }

    fn stats(&self) -> Result<CacheStats, CacheError> {
        let row = self.with_client("reading statistics", |client| {
            client.query_one(
                "SELECT (SELECT COUNT(*) FROM anubad_translations),
                        pg_total_relation_size('anubad_translations')
                            + pg_total_relation_size('anubad_meta'),
                        (SELECT value FROM anubad_meta WHERE name = 'last_run_hits'),
                        (SELECT value FROM anubad_meta WHERE name = 'last_run_misses')",
                &[],
            )
        })?;
        let count = |value: i64| u64::try_from(value).unwrap_or(0);
        let last_run = match (row.get::<_, Option<i64>>(2), row.get::<_, Option<i64>>(3)) {
            (Some(hits), Some(misses)) => Some(RunCounts {
                hits: count(hits),
                misses: count(misses),
            }),
            _ => None,
        };
        Ok(CacheStats {
            location: self.location(),
            entries: count(row.get(0)),
            size_bytes: count(row.get(1)),
            last_run,
        })
    }

    fn clear(&self) -> Result<(), CacheError> {
        if self.read_only {
            return Err(CacheError::PostgresReadOnly {
                server: self.server().to_string(),
            });
        }
        // TRUNCATE gives the space back at once, which DELETE leaves to a
        // later VACUUM; it waits (up to the lock timeout) for the running
        // statements of other runs.
        self.with_client("clearing the cache", |client| {
            client.batch_execute("TRUNCATE anubad_translations")
        })
    }

    fn close(self: Box<Self>) -> Result<(), CacheError> {
        self.close_quietly();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls_are_told_from_directories() {
        assert!(is_url("postgres://db.example/anubad"));
        assert!(is_url("postgresql://u:p@db.example:6543/anubad"));
        assert!(is_url("PostgreSQL://db.example/anubad"));
        assert!(!is_url("postgres"));
        assert!(!is_url("./postgres://x"));
        assert!(!is_url("/var/cache/anubad"));
    }

    #[test]
    fn the_server_is_named_without_user_or_password() {
        let url = "postgres://worker:s3cret@db.example:6543/anubad?sslmode=disable";
        assert_eq!(redacted_url(url), "postgres://db.example:6543/anubad");
        assert_eq!(
            redacted_url("postgresql://worker@db.example/cache"),
            "postgres://db.example:5432/cache"
        );
        // No database: the client uses the user's name.
        assert_eq!(
            redacted_url("postgres://worker:pw@[::1]"),
            "postgres://[::1]:5432/worker"
        );
        // What does not parse is still shown without its secrets.
        let bad = "postgres://worker:s3cret@db.example:notaport/anubad?password=s3cret";
        assert!(
            !redacted_url(bad).contains("s3cret"),
            "{}",
            redacted_url(bad)
        );
        let error = Connection::parse(bad).err().expect("a bad port");
        let message = crate::pipeline::with_causes(&error);
        assert!(!message.contains("s3cret"), "{message}");
        assert!(message.contains("db.example"), "{message}");
    }

    #[test]
    fn tls_options_tokio_postgres_lacks_are_taken_out() {
        let (url, tls) = split_tls_options(
            "postgres://u@h/db?sslmode=verify-full&sslrootcert=%2Fetc%2Fca%20bundle.pem&application_name=x",
        )
        .unwrap();
        assert_eq!(url, "postgres://u@h/db?sslmode=require&application_name=x");
        assert_eq!(
            tls,
            TlsOptions {
                verify: Verify::Full,
                root_cert: Some(PathBuf::from("/etc/ca bundle.pem"))
            }
        );
        let (url, tls) = split_tls_options("postgres://u@h/db").unwrap();
        assert_eq!(url, "postgres://u@h/db");
        assert_eq!(tls.verify, Verify::Nothing);
        assert!(split_tls_options("postgres://u@h/db?sslrootcert=%zz").is_err());
    }

    #[test]
    fn sslmode_means_what_it_means_to_libpq() {
        let plain = Connection::parse("postgres://u@127.0.0.1/db?sslmode=disable").unwrap();
        assert!(matches!(plain.tls, Tls::Off));
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        // Any well-formed certificate will do to fill a root store.
        std::fs::write(&ca, TEST_CERTIFICATE).unwrap();
        let ca = ca.display();
        for (query, verify) in [
            ("", Verify::Nothing),
            ("?sslmode=prefer", Verify::Nothing),
            ("?sslmode=require", Verify::Nothing),
            (&format!("?sslmode=require&sslrootcert={ca}"), Verify::Chain),
            ("?sslmode=verify-ca", Verify::Chain),
            ("?sslmode=verify-full", Verify::Full),
            (
                &format!("?sslrootcert={ca}&sslmode=verify-full"),
                Verify::Full,
            ),
            (&format!("?sslrootcert={ca}"), Verify::Nothing),
        ] {
            let url = format!("postgres://u@127.0.0.1/db{query}");
            assert_eq!(parse_config(&url).unwrap().1.verify, verify, "{url}");
            let connection = Connection::parse(&url).unwrap();
            assert!(matches!(connection.tls, Tls::Rustls(_)), "{url}");
        }
        for bad in ["sometimes", "verify-everything"] {
            assert!(Connection::parse(&format!("postgres://u@h/db?sslmode={bad}")).is_err());
        }
    }

    /// A self-signed certificate (`openssl req -x509`, P-256, no use beyond
    /// filling a root store).
    const TEST_CERTIFICATE: &str = "-----BEGIN CERTIFICATE-----
MIIBjTCCATOgAwIBAgIUM/iC2ORX/L4m7NlPMh5T9c5ndCMwCgYIKoZIzj0EAwIw
GzEZMBcGA1UEAwwQYW51YmFkIHRlc3Qgcm9vdDAgFw0yNjEyMDYxMTUwMzBaGA8y
MTI2MTExMjExNTAzMFowGzEZMBcGA1UEAwwQYW51YmFkIHRlc3Qgcm9vdDBZMBMG
ByqGSM49AgEGCCqGSM49AwEHA0IABCNswI/II4R7W3UembxwR3sUzokdXxlqTrHD
R/6/4s/O6QXoXLZ4N5EEAP/dwl9urxURwfvTSdNR+9cCejJimA2jUzBRMB0GA1Ud
DgQWBBQyiEw8btclhxIGNtzJXFc4UhC0hDAfBgNVHSMEGDAWgBQyiEw8btclhxIG
NtzJXFc4UhC0hDAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIQC5
is+s6rYoWpIeLJdfLSIhZkUOj6hLw0J4NymZ+jXlxAIgRpDHZmCSou3xPG3gJ/he
ujew/6QyBaBGuWkTmvBTFAw=
-----END CERTIFICATE-----
";

    #[test]
    fn a_root_certificate_that_cannot_be_read_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        for path in [&missing, &empty] {
            let url = format!(
                "postgres://u@127.0.0.1/db?sslmode=require&sslrootcert={}",
                path.display()
            );
            let error = Connection::parse(&url).err().expect("refused");
            let message = error.to_string();
            assert!(
                matches!(error, CacheError::PostgresRootCert { .. }),
                "{message}"
            );
            assert!(message.contains(&path.display().to_string()), "{message}");
        }
    }

    #[test]
    fn a_closed_port_is_retried_then_an_error_naming_the_server() {
        // Bind then drop: a loopback port nothing listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("postgres://worker:s3cret@127.0.0.1:{port}/anubad");
        let started = std::time::Instant::now();
        let error = PostgresStore::open(&url).err().expect("nothing listens");
        let message = crate::pipeline::with_causes(&error);
        assert!(
            matches!(error, CacheError::PostgresConnect { tries: TRIES, .. }),
            "{message}"
        );
        assert!(
            message.contains(&format!("127.0.0.1:{port}/anubad")),
            "{message}"
        );
        assert!(!message.contains("s3cret"), "{message}");
        // The pauses between tries were taken.
        assert!(started.elapsed() >= PAUSES.iter().sum::<Duration>());
    }

    /// A database of its own on the server in `ANUBAD_TEST_POSTGRES` (see
    /// `tests/support/postgres.rs`), dropped afterwards; `None` after saying
    /// so when there is no server, a panic under `CI=true`.
    struct TestDatabase {
        server: String,
        name: String,
        url: String,
    }

    impl TestDatabase {
        fn create() -> Option<TestDatabase> {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static COUNT: AtomicUsize = AtomicUsize::new(0);
            let missing = "ANUBAD_TEST_POSTGRES is not set (a postgres:// URL of a server \
                           where the tests may create databases; `scripts/with_postgres.sh \
                           cargo test` starts one)";
            let server = match std::env::var("ANUBAD_TEST_POSTGRES") {
                Ok(url) if !url.is_empty() => url,
                _ if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
                    panic!("{missing}; CI=true, so this test fails rather than skips")
                }
                _ => {
                    eprintln!("skipped: {missing}");
                    return None;
                }
            };
            let name = format!(
                "anubad_unit_{}_{}",
                std::process::id(),
                COUNT.fetch_add(1, Ordering::Relaxed)
            );
            let mut client = Client::connect(&server, NoTls).expect("the test server");
            client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .unwrap();
            let (base, query) = server.split_once('?').unwrap_or((&server, ""));
            let (scheme, rest) = base.split_once("://").unwrap();
            let authority = rest.split('/').next().unwrap();
            let mut url = format!("{scheme}://{authority}/{name}");
            if !query.is_empty() {
                url = format!("{url}?{query}");
            }
            Some(TestDatabase { server, name, url })
        }

        fn client(&self) -> Client {
            Client::connect(&self.url, NoTls).unwrap()
        }
    }

    impl Drop for TestDatabase {
        fn drop(&mut self) {
            if let Ok(mut client) = Client::connect(&self.server, NoTls) {
                let _ = client.batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ));
            }
        }
    }

    const MODEL: &str = "Helsinki-NLP/opus-mt-bn-en@abc123";

    fn key(source: &str) -> CacheKey {
        CacheKey::new(MODEL, "{}", source)
    }

    #[test]
    fn entries_round_trip_and_the_first_text_stored_stays() {
        let Some(db) = TestDatabase::create() else {
            return;
        };
        let store = PostgresStore::open(&db.url).unwrap();
        assert!(!store.is_read_only());
        let (a, b, c) = (key("এক"), key("দুই"), key("তিন"));
        store
            .put_many(
                MODEL,
                &[(a, "one".into()), (b, "2".into()), (b, "two".into())],
            )
            .unwrap();
        // Another writer's text for a stored key does not replace it.
        store.put_many("other model", &[(a, "ONE".into())]).unwrap();
        assert_eq!(
            store.get_many(&[a, c, b, a]).unwrap(),
            vec![
                Some("one".into()),
                None,
                Some("two".into()),
                Some("one".into())
            ]
        );
        store.record_run(3, 4).unwrap();
        let stats = store.stats().unwrap();
        assert_eq!(stats.entries, 2);
        assert!(stats.size_bytes > 0);
        assert_eq!(stats.last_run, Some(RunCounts { hits: 3, misses: 4 }));
        assert_eq!(stats.location, Location::Postgres(redacted_url(&db.url)));
        let model: String = db
            .client()
            .query_one(
                "SELECT model FROM anubad_translations WHERE key = $1",
                &[&&a.0[..]],
            )
            .unwrap()
            .get(0);
        assert_eq!(model, MODEL);
        // Reopened: the tables are there already.
        Box::new(store).close().unwrap();
        let store = PostgresStore::open(&db.url).unwrap();
        store.clear().unwrap();
        let stats = store.stats().unwrap();
        assert_eq!(
            (stats.entries, stats.last_run.map(|r| r.hits)),
            (0, Some(3))
        );
        assert_eq!(store.get_many(&[a]).unwrap(), vec![None]);
    }

    #[test]
    fn writers_of_overlapping_batches_all_succeed_and_store_each_key_once() {
        let Some(db) = TestDatabase::create() else {
            return;
        };
        let keys: Vec<CacheKey> = (0..300).map(|i| key(&i.to_string())).collect();
        let barrier = std::sync::Barrier::new(6);
        std::thread::scope(|scope| {
            for writer in 0..6 {
                let (keys, barrier, url) = (&keys, &barrier, &db.url);
                scope.spawn(move || {
                    // All open a fresh database at once: table creation races.
                    barrier.wait();
                    let store = PostgresStore::open(url).unwrap();
                    for round in 0..10 {
                        // Each writer takes the keys in its own order.
                        let mut batch: Vec<(CacheKey, String)> = keys
                            .iter()
                            .map(|key| (*key, format!("by {writer}")))
                            .collect();
                        batch.rotate_left((writer * 50 + round * 7) % keys.len());
                        if writer % 2 == 1 {
                            batch.reverse();
                        }
                        store.put_many(MODEL, &batch[..200]).unwrap();
                    }
                });
            }
        });
        let store = PostgresStore::open(&db.url).unwrap();
        let found = store.get_many(&keys).unwrap();
        assert!(found.iter().all(Option::is_some));
        assert_eq!(store.stats().unwrap().entries, keys.len() as u64);
        let rows: i64 = db
            .client()
            .query_one("SELECT COUNT(DISTINCT key) FROM anubad_translations", &[])
            .unwrap()
            .get(0);
        assert_eq!(rows, keys.len() as i64);
    }

    #[test]
    fn a_dropped_connection_is_replaced_and_the_work_done() {
        let Some(db) = TestDatabase::create() else {
            return;
        };
        let store = PostgresStore::open(&db.url).unwrap();
        store.put_many(MODEL, &[(key("এক"), "one".into())]).unwrap();
        let ended: i64 = db
            .client()
            .query_one(
                "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
                 WHERE datname = current_database() AND application_name = 'anubad'",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(ended, 1, "the store's own connection");
        assert_eq!(
            store.get_many(&[key("এক")]).unwrap(),
            vec![Some("one".to_string())]
        );
        store.put_many(MODEL, &[(key("দুই"), "two".into())]).unwrap();
        assert_eq!(store.stats().unwrap().entries, 2);
    }

    #[test]
    fn a_user_who_may_only_read_gets_lookups_and_no_errors() {
        let Some(db) = TestDatabase::create() else {
            return;
        };
        let store = PostgresStore::open(&db.url).unwrap();
        store.put_many(MODEL, &[(key("এক"), "one".into())]).unwrap();
        let role = format!("{}_reader", db.name);
        db.client()
            .batch_execute(&format!(
                "CREATE ROLE {role} LOGIN;
                 GRANT SELECT ON anubad_translations, anubad_meta TO {role};"
            ))
            .unwrap();
        let (scheme, rest) = db.url.split_once("://").unwrap();
        let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
        let reader = PostgresStore::open(&format!("{scheme}://{role}@{host}")).unwrap();
        assert!(reader.is_read_only());
        assert_eq!(
            reader.get_many(&[key("এক")]).unwrap(),
            vec![Some("one".to_string())]
        );
        reader
            .put_many(MODEL, &[(key("দুই"), "two".into())])
            .unwrap();
        reader.record_run(1, 1).unwrap();
        assert!(matches!(
            reader.clear(),
            Err(CacheError::PostgresReadOnly { .. })
        ));
        assert_eq!(store.stats().unwrap().entries, 1);
        drop(reader);
        db.client()
            .batch_execute(&format!("DROP OWNED BY {role}; DROP ROLE {role};"))
            .unwrap();
    }
}
