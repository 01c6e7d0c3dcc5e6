//! The PostgreSQL server the cache tests use: `ANUBAD_TEST_POSTGRES`, a
//! `postgres://` URL of a user who may create databases
//! (`scripts/with_postgres.sh` starts one and sets it). Each test gets a
//! database of its own, dropped when it ends, so tests running at once never
//! see each other's rows.

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};

use postgres::{Client, NoTls};

const MISSING: &str = "ANUBAD_TEST_POSTGRES is not set (a postgres:// URL of a server where \
     the tests may create databases; `scripts/with_postgres.sh cargo test` starts one)";

/// The test server's URL; `None`, after saying so on stderr, when there is
/// none. Under `CI=true` a missing server fails the test instead.
pub fn server_url() -> Option<String> {
    required("ANUBAD_TEST_POSTGRES", MISSING)
}

/// The variable `name`, or `None` after printing `missing` (a panic under
/// `CI=true`, where every service the tests need must be there).
pub fn required(name: &str, missing: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => Some(value),
        _ if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
            panic!("{missing}; CI=true, so this test fails rather than skips")
        }
        _ => {
            eprintln!("skipped: {missing}");
            None
        }
    }
}

/// `url` with its database replaced by `database`; user, host and
/// parameters kept.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let (scheme, rest) = base.split_once("://").expect("a URL");
    let authority = rest.split('/').next().unwrap();
    let mut url = format!("{scheme}://{authority}/{database}");
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// A database of its own for one test, dropped (with any connection left
/// to it) when this is dropped.
pub struct TestDatabase {
    server: String,
    pub name: String,
    /// The URL of the new database, for `--cache`.
    pub url: String,
}

impl TestDatabase {
    /// A fresh database on the test server; `None` when there is no server
    /// (see [`server_url`]).
    pub fn create() -> Option<TestDatabase> {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let server = server_url()?;
        let name = format!(
            "anubad_test_{}_{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        );
        let mut client = Client::connect(&server, NoTls)
            .unwrap_or_else(|e| panic!("cannot connect to ANUBAD_TEST_POSTGRES: {e}"));
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("CREATE DATABASE");
        let url = with_database(&server, &name);
        Some(TestDatabase { server, name, url })
    }

    /// A connection to the test's database, to look at or change its rows.
    pub fn client(&self) -> Client {
        Client::connect(&self.url, NoTls).expect("connect to the test database")
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

/// A `postgres://` URL on a loopback port nothing listens on.
pub fn closed_port_url() -> (String, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    (
        format!("postgres://anubad:s3cret@127.0.0.1:{port}/anubad"),
        port,
    )
}
