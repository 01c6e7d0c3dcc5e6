//! The PostgreSQL cache (`--cache postgres://...`) through the real binary,
//! on the fixture model and articles: runs on different machines (each with
//! its own Hugging Face and platform cache directories) share one cache,
//! runs started together both finish, `cache stats`/`check`/`clear` work on
//! it, a killed run resumes from it, TLS is verified, and an unreachable
//! server or a connection lost mid-run is a warning, not a failure.
//!
//! Needs `ANUBAD_TEST_POSTGRES` (see `support/postgres.rs`; run
//! `scripts/with_postgres.sh cargo test`). Without it these tests say what
//! is missing and pass, except under `CI=true`, where they fail. The
//! unreachable-server test needs no server and always runs.

use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "support/binary.rs"]
mod binary;
use binary::{anubad, articles_dir, many_articles, model_dir, read_json, stderr, stdout};

#[path = "support/postgres.rs"]
mod server;
use server::{closed_port_url, required, TestDatabase};

/// `anubad` as run on a machine of its own: `machine` holds its Hugging Face
/// cache and its platform cache directory (where model file hashes go).
fn on_machine(machine: &Path) -> Command {
    let mut command = anubad(machine);
    command
        .env("XDG_CACHE_HOME", machine.join("xdg"))
        .env_remove("ANUBAD_CACHE")
        .env_remove("PGPASSWORD");
    command
}

/// `anubad run INPUTS --out OUT` with the fixture model and `--cache CACHE`.
fn run_with_cache(
    machine: &Path,
    inputs: &Path,
    out: &Path,
    cache: &str,
    extra: &[&str],
) -> Command {
    let mut command = on_machine(machine);
    command
        .arg("run")
        .arg(inputs)
        .arg("--out")
        .arg(out)
        .arg("--model")
        .arg(model_dir())
        .args(["--cache", cache])
        .args(extra);
    command
}

fn json_summary(output: &Output) -> Value {
    assert!(output.status.success(), "{}", stderr(output));
    serde_json::from_str(&stdout(output)).expect("--json-summary - prints JSON")
}

/// `anubad cache ACTION --cache CACHE`.
fn cache_command(machine: &Path, action: &str, cache: &str) -> Output {
    on_machine(machine)
        .args(["cache", action, "--cache", cache])
        .output()
        .expect("binary runs")
}

/// The `entries:` and `last run:` lines of `cache stats`, as numbers.
fn stats(machine: &Path, cache: &str) -> (u64, Option<(u64, u64)>) {
    let output = cache_command(machine, "stats", cache);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let numbers = |line: &str| -> Vec<u64> {
        line.split(|c: char| !c.is_ascii_digit())
            .filter_map(|w| w.parse().ok())
            .collect()
    };
    let entries = text
        .lines()
        .find(|l| l.starts_with("entries:"))
        .map(|l| numbers(l)[0])
        .expect("entries line");
    let last_run = text
        .lines()
        .find(|l| l.starts_with("last run:"))
        .expect("last run line");
    let last_run = (!last_run.contains("none")).then(|| {
        let n = numbers(last_run);
        (n[0], n[1])
    });
    (entries, last_run)
}

fn assert_same_articles(a: &Path, b: &Path) {
    for id in ["kim-troops", "lavrov-visit", "self-defence"] {
        let (ja, jb) = (
            read_json(&a.join(format!("{id}.json"))),
            read_json(&b.join(format!("{id}.json"))),
        );
        for field in ["title", "paragraphs", "summary", "warnings"] {
            assert_eq!(ja[field], jb[field], "{id}: {field}");
        }
        let md = |dir: &Path| std::fs::read_to_string(dir.join(format!("{id}.md"))).unwrap();
        assert_eq!(md(a), md(b), "{id}.md");
    }
}

#[test]
fn a_second_machine_is_served_entirely_from_postgres() {
    let Some(db) = TestDatabase::create() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let (first, second) = (work.path().join("first"), work.path().join("second"));
    let output = run_with_cache(
        &first,
        &articles_dir(),
        &first.join("out"),
        &db.url,
        &["--json-summary", "-"],
    )
    .output()
    .unwrap();
    let cold = json_summary(&output);
    assert!(cold["cache"]["misses"].as_u64().unwrap() > 0, "{cold}");
    assert!(
        !stderr(&output).contains("warning: cannot"),
        "{}",
        stderr(&output)
    );
    // Model file hashes describe this machine's files: they stay in its
    // platform cache directory, which holds no SQLite cache.
    let local = first.join("xdg/anubad");
    assert!(local.join("model-file-hashes.json").is_file());
    assert!(!local.join("translations.sqlite3").exists());

    // Another machine, with nothing local, given the cache by ANUBAD_CACHE.
    let output = on_machine(&second)
        .env("ANUBAD_CACHE", &db.url)
        .arg("run")
        .arg(articles_dir())
        .arg("--out")
        .arg(second.join("out"))
        .arg("--model")
        .arg(model_dir())
        .args(["--json-summary", "-"])
        .output()
        .unwrap();
    let warm = json_summary(&output);
    assert_eq!(warm["cache"]["misses"], 0, "no model call: {warm}");
    assert_eq!(warm["sentences"]["translated"], 0, "{warm}");
    let looked_up = |summary: &Value| {
        summary["cache"]["hits"].as_u64().unwrap() + summary["cache"]["misses"].as_u64().unwrap()
    };
    assert_eq!(
        warm["cache"]["hits"].as_u64(),
        Some(looked_up(&cold)),
        "every segment from the cache: {warm}"
    );
    assert!(!second.join("xdg/anubad/translations.sqlite3").exists());
    assert_same_articles(&first.join("out"), &second.join("out"));
}

#[test]
fn two_runs_started_together_on_one_postgres_cache_both_finish_alike() {
    let Some(db) = TestDatabase::create() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let spawn = |name: &str| {
        let machine = work.path().join(name);
        run_with_cache(
            &machine,
            &articles_dir(),
            &machine.join("out"),
            &db.url,
            &["--batch-size", "1", "--json-summary", "-"],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
    };
    let (a, b) = (spawn("a"), spawn("b"));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let (sa, sb) = (json_summary(&a), json_summary(&b));
    for output in [&a, &b] {
        assert!(
            !stderr(output).contains("without the cache"),
            "{}",
            stderr(output)
        );
    }
    assert_same_articles(&work.path().join("a/out"), &work.path().join("b/out"));
    // Each key is stored once, whoever stored it; a third run finds them
    // all.
    let segments = sa["cache"]["hits"].as_u64().unwrap() + sa["cache"]["misses"].as_u64().unwrap();
    assert_eq!(
        segments,
        sb["cache"]["hits"].as_u64().unwrap() + sb["cache"]["misses"].as_u64().unwrap()
    );
    let (entries, _) = stats(work.path(), &db.url);
    assert_eq!(entries, segments, "one row per segment");
    let third = work.path().join("third");
    let output = run_with_cache(
        &third,
        &articles_dir(),
        &third.join("out"),
        &db.url,
        &["--json-summary", "-"],
    )
    .output()
    .unwrap();
    assert_eq!(json_summary(&output)["cache"]["misses"], 0);
}

#[test]
fn cache_stats_check_and_clear_work_on_postgres() {
    let Some(db) = TestDatabase::create() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let machine = work.path();
    // A database with no cache in it yet.
    let check = cache_command(machine, "check", &db.url);
    assert!(check.status.success(), "{}", stderr(&check));
    assert!(
        stdout(&check).contains("no cache yet"),
        "{}",
        stdout(&check)
    );
    assert_eq!(stats(machine, &db.url), (0, None));

    let output = run_with_cache(
        machine,
        &articles_dir(),
        &machine.join("out"),
        &db.url,
        &["--json-summary", "-"],
    )
    .output()
    .unwrap();
    let run = json_summary(&output);
    let (hits, misses) = (
        run["cache"]["hits"].as_u64().unwrap(),
        run["cache"]["misses"].as_u64().unwrap(),
    );
    let stats_output = cache_command(machine, "stats", &db.url);
    let text = stdout(&stats_output);
    let server = db.url.split("://").nth(1).unwrap();
    let host = server.rsplit('@').next().unwrap();
    assert!(
        text.contains(&format!("cache:   postgres://{host}")),
        "the server is named: {text}"
    );
    assert_eq!(stats(machine, &db.url), (misses, Some((hits, misses))));
    let check = cache_command(machine, "check", &db.url);
    assert!(check.status.success(), "{}", stderr(&check));
    assert!(
        stdout(&check).contains(&format!("ok ({misses} entries)")),
        "{}",
        stdout(&check)
    );

    let clear = cache_command(machine, "clear", &db.url);
    assert!(clear.status.success(), "{}", stderr(&clear));
    assert!(
        stderr(&clear).starts_with("cleared postgres://"),
        "{}",
        stderr(&clear)
    );
    // Emptied; the last run's counts are kept, as with SQLite.
    assert_eq!(stats(machine, &db.url), (0, Some((hits, misses))));
    let again = run_with_cache(
        machine,
        &articles_dir(),
        &machine.join("again"),
        &db.url,
        &["--json-summary", "-"],
    )
    .output()
    .unwrap();
    assert_eq!(json_summary(&again)["cache"]["misses"], misses);
}

#[test]
fn an_unreachable_server_is_a_warning_and_the_run_goes_on() {
    // Needs no server: a loopback port nothing listens on.
    let (url, port) = closed_port_url();
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let started = Instant::now();
    let output = run_with_cache(work.path(), &articles_dir(), &out, &url, &[])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let err = stderr(&output);
    let server = format!("postgres://127.0.0.1:{port}/anubad");
    assert!(
        err.contains(&format!(
            "warning: cannot connect to the PostgreSQL cache at {server} (3 tries)"
        )),
        "{err}"
    );
    assert!(err.contains("running without a cache"), "{err}");
    assert!(!err.contains("s3cret"), "no password on stderr: {err}");
    assert_eq!(err.matches("PostgreSQL").count(), 1, "one warning: {err}");
    // Tried for a few seconds, not more.
    assert!(started.elapsed() >= Duration::from_secs(3));
    assert!(out.join("kim-troops.json").is_file());
    assert!(
        !work.path().join("xdg/anubad/translations.sqlite3").exists(),
        "no fallback to a local cache"
    );
    // The cache commands fail (exit 1), naming the server.
    for action in ["stats", "check", "clear"] {
        let output = cache_command(work.path(), action, &url);
        assert_eq!(output.status.code(), Some(1), "cache {action}");
        let err = stderr(&output);
        assert!(err.contains(&server), "cache {action}: {err}");
        assert!(!err.contains("s3cret"), "cache {action}: {err}");
    }
}

#[test]
fn a_database_of_a_newer_layout_is_refused_and_left_alone() {
    let Some(db) = TestDatabase::create() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let stats = cache_command(work.path(), "stats", &db.url);
    assert!(stats.status.success(), "{}", stderr(&stats));
    db.client()
        .batch_execute("UPDATE anubad_meta SET value = 2 WHERE name = 'layout'")
        .unwrap();
    let output = run_with_cache(
        work.path(),
        &articles_dir(),
        &work.path().join("out"),
        &db.url,
        &[],
    )
    .output()
    .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("was written by a newer version of anubad (layout 2"),
        "{err}"
    );
    assert!(err.contains("running without a cache"), "{err}");
    let rows: i64 = db
        .client()
        .query_one("SELECT COUNT(*) FROM anubad_translations", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 0, "nothing written into a layout it does not know");
    let check = cache_command(work.path(), "check", &db.url);
    assert_eq!(check.status.code(), Some(1));
    assert!(
        stderr(&check).contains("newer version"),
        "{}",
        stderr(&check)
    );
}

/// Waits until the cache holds `rows` entries (or the run ended, or a
/// minute passed).
fn wait_for_rows(client: &mut postgres::Client, rows: i64, run: &mut std::process::Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        std::thread::sleep(Duration::from_millis(20));
        // Before the run creates the table, a query naming it fails.
        let created: bool = client
            .query_one("SELECT to_regclass('anubad_translations') IS NOT NULL", &[])
            .unwrap()
            .get(0);
        let stored: i64 = if created {
            client
                .query_one("SELECT COUNT(*) FROM anubad_translations", &[])
                .unwrap()
                .get(0)
        } else {
            0
        };
        if stored >= rows || Instant::now() > deadline || run.try_wait().unwrap().is_some() {
            return;
        }
    }
}

#[test]
fn a_run_killed_mid_way_resumes_from_postgres_with_the_same_files() {
    let Some(db) = TestDatabase::create() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let inputs = many_articles(work.path());
    let out = work.path().join("out");
    let mut child = run_with_cache(work.path(), &inputs, &out, &db.url, &["--batch-size", "1"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut client = db.client();
    wait_for_rows(&mut client, 5, &mut child);
    // SIGKILL: nothing is flushed or closed.
    let _ = child.kill();
    let _ = child.wait();
    let resumed = run_with_cache(
        work.path(),
        &inputs,
        &out,
        &db.url,
        &["--batch-size", "1", "--json-summary", "-"],
    )
    .output()
    .unwrap();
    let summary = json_summary(&resumed);
    assert!(
        summary["cache"]["hits"].as_u64().unwrap() >= 5,
        "the resumed run reused the killed run's rows: {summary}"
    );
    let clean = work.path().join("clean");
    let fresh = run_with_cache(work.path(), &inputs, &clean, &db.url, &["--no-cache"])
        .output()
        .unwrap();
    assert!(fresh.status.success(), "{}", stderr(&fresh));
    for i in 0..40 {
        let a = read_json(&out.join(format!("n{i:02}.json")));
        let b = read_json(&clean.join(format!("n{i:02}.json")));
        assert_eq!(a["paragraphs"], b["paragraphs"], "n{i:02}");
    }
    // Every segment is in the cache once: one more run translates nothing,
    // and the rows are exactly its lookups.
    let last = run_with_cache(
        work.path(),
        &inputs,
        &work.path().join("last"),
        &db.url,
        &["--json-summary", "-"],
    )
    .output()
    .unwrap();
    let last = json_summary(&last);
    assert_eq!(last["cache"]["misses"], 0, "{last}");
    let rows: i64 = client
        .query_one("SELECT COUNT(*) FROM anubad_translations", &[])
        .unwrap()
        .get(0);
    assert_eq!(Some(rows as u64), last["cache"]["hits"].as_u64());
}

/// A TCP relay to the test server that can be cut: its connections closed
/// and its port no longer listening, as when the server or the network
/// goes away in the middle of a run.
struct Relay {
    port: u16,
    cut: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relay {
    fn to(server: &str) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (server, stop, streams) = (server.to_string(), cut.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    // Dropping the listener refuses every later connection.
                    return;
                }
                let Ok(client) = client else { continue };
                let upstream = TcpStream::connect(&server).unwrap();
                let mut streams = streams.lock().unwrap();
                streams.push(client.try_clone().unwrap());
                streams.push(upstream.try_clone().unwrap());
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), upstream.try_clone().unwrap()),
                    (upstream, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(Shutdown::Both);
                    });
                }
            }
        });
        Relay { port, cut, open }
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for stream in self.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
        // Wakes the accept loop, which sees the flag and stops listening.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

#[test]
fn a_connection_lost_mid_run_is_one_warning_and_the_run_finishes() {
    let Some(db) = TestDatabase::create() else {
        return;
    };
    let (_, rest) = db.url.split_once("://").unwrap();
    let at = rest.rsplit_once('@').map_or(rest, |(_, at)| at);
    let (server, database) = at.split_once('/').unwrap();
    let relay = Relay::to(server);
    let url = format!(
        "postgres://postgres:s3cret@127.0.0.1:{}/{database}",
        relay.port
    );
    let work = tempfile::tempdir().unwrap();
    let inputs = many_articles(work.path());
    let out = work.path().join("out");
    let mut run = run_with_cache(work.path(), &inputs, &out, &url, &["--batch-size", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_rows(&mut db.client(), 5, &mut run);
    assert!(run.try_wait().unwrap().is_none(), "the run is still going");
    relay.cut();
    let output = run.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let err = stderr(&output);
    let named = format!(
        "PostgreSQL cache at postgres://127.0.0.1:{}/{database}",
        relay.port
    );
    assert_eq!(
        err.matches(&named).count(),
        1,
        "one warning naming the server: {err}"
    );
    assert!(err.contains("(3 tries)"), "{err}");
    assert!(err.contains("continuing without the cache"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
    // Every article is written, as without a cache.
    let clean = work.path().join("clean");
    let fresh = run_with_cache(work.path(), &inputs, &clean, &db.url, &["--no-cache"])
        .output()
        .unwrap();
    assert!(fresh.status.success(), "{}", stderr(&fresh));
    for i in 0..40 {
        let a = read_json(&out.join(format!("n{i:02}.json")));
        let b = read_json(&clean.join(format!("n{i:02}.json")));
        assert_eq!(a["paragraphs"], b["paragraphs"], "n{i:02}");
    }
}

/// With TLS on, `scripts/with_postgres.sh` lets the role `anubad_tls`
/// connect over TLS only, so a connection that succeeds as it used TLS.
#[test]
fn sslmode_is_honoured_as_libpq_does_and_verified_tls_works() {
    let Some(db) = TestDatabase::create() else {
        return;
    };
    let Some(ca) = required(
        "ANUBAD_TEST_POSTGRES_CA",
        "ANUBAD_TEST_POSTGRES_CA is not set (the CA of a test server with TLS on; \
         scripts/with_postgres.sh sets it when openssl is installed)",
    ) else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    // postgres://anubad_tls@127.0.0.1:PORT/DB, and the same server under a
    // name its certificate (for IP 127.0.0.1) does not give.
    let (_, rest) = db.url.split_once("://").unwrap();
    let at = rest.rsplit_once('@').map_or(rest, |(_, at)| at);
    let by_ip = format!("postgres://anubad_tls@{at}");
    let (hostport, database) = at.split_once('/').unwrap();
    let port = hostport.rsplit_once(':').unwrap().1;
    let by_other_name =
        format!("postgres://anubad_tls@anubad-test.invalid:{port}/{database}?hostaddr=127.0.0.1");
    let with = |url: &str, params: &str| {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}{params}")
    };
    let root = format!("sslrootcert={ca}");
    let wrong_root = Path::new(&ca).with_file_name("server.crt");
    let wrong_root = wrong_root.display();
    let cases = [
        // Plain text is refused to this role: the others did use TLS.
        (with(&by_ip, "sslmode=disable"), false, "no encryption"),
        (by_ip.clone(), true, ""),
        (with(&by_ip, "sslmode=require"), true, ""),
        // The test CA is not among Mozilla's roots.
        (with(&by_ip, "sslmode=verify-ca"), false, "certificate"),
        (with(&by_ip, "sslmode=verify-full"), false, "certificate"),
        (
            with(&by_ip, &format!("sslmode=verify-full&{root}")),
            true,
            "",
        ),
        // verify-ca checks the chain, verify-full the name too.
        (
            with(&by_other_name, &format!("sslmode=verify-ca&{root}")),
            true,
            "",
        ),
        (
            with(&by_other_name, &format!("sslmode=verify-full&{root}")),
            false,
            "certificate",
        ),
        // libpq: `require` with a root certificate checks the chain; the
        // server's own certificate (beside the CA's) is not its issuer.
        (
            with(&by_ip, &format!("sslmode=require&sslrootcert={wrong_root}")),
            false,
            "certificate",
        ),
        (with(&by_ip, &format!("sslmode=require&{root}")), true, ""),
    ];
    for (url, succeeds, says) in &cases {
        let output = cache_command(work.path(), "stats", url);
        assert_eq!(
            output.status.success(),
            *succeeds,
            "{url}: {}",
            stderr(&output)
        );
        assert!(stderr(&output).contains(says), "{url}: {}", stderr(&output));
    }
    // A run over verified TLS is served like any other.
    let trusted = with(&by_ip, &format!("sslmode=verify-full&{root}"));
    let output = run_with_cache(
        work.path(),
        &articles_dir(),
        &work.path().join("out"),
        &trusted,
        &["--json-summary", "-"],
    )
    .output()
    .unwrap();
    assert!(json_summary(&output)["cache"]["misses"].as_u64().unwrap() > 0);
    assert!(
        !stderr(&output).contains("warning: cannot"),
        "{}",
        stderr(&output)
    );
}
