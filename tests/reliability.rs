//! The failures a reliability run found (issue 13), each reproduced through
//! the real binary on the tiny fixture model: symlink loops, `--out` inside
//! an input folder, a killed run's leftovers, a broken or read-only cache,
//! hostile pages, signals, oversized and UTF-16 inputs, `--no-cache`.
//! Every test works in its own temporary directory and cache; none touches
//! the network.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "support/binary.rs"]
mod binary;
use binary::{anubad, articles_dir, model_dir, read_json, run_articles, run_command, stderr};

fn cache_command(work: &Path, action: &str) -> Output {
    anubad(work)
        .args(["cache", action, "--cache-dir"])
        .arg(work.join("cache"))
        .output()
        .expect("binary runs")
}

/// `(hits, misses)` of the last run, from `anubad cache stats`.
fn last_run(work: &Path) -> (u64, u64) {
    let output = cache_command(work, "stats");
    assert!(output.status.success(), "{}", stderr(&output));
    let stats = String::from_utf8(output.stdout).unwrap();
    let line = stats
        .lines()
        .find(|l| l.starts_with("last run:"))
        .expect("last run line");
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}

/// Waits for `child` at most `limit`; a child still running then is killed
/// and the test fails, so that a run that never ends cannot hang the suite.
fn finish_within(mut child: Child, limit: Duration, what: &str) -> Output {
    let deadline = Instant::now() + limit;
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The `.json` outputs in `out`, by file stem, sorted.
/// The ids of the article records in `out` (every `.json` but the manifest).
fn json_ids(out: &Path) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(out)
        .unwrap()
        .filter_map(|e| {
            let path = e.ok()?.path();
            (path.extension()? == "json").then(|| path.file_stem()?.to_str().map(str::to_string))?
        })
        .filter(|id| id != "manifest")
        .collect();
    ids.sort();
    ids
}

fn copy_article(name: &str, to: &Path) {
    std::fs::copy(articles_dir().join(name), to).unwrap();
}

#[cfg(unix)]
#[test]
fn symlink_loops_are_skipped_by_name_and_every_file_is_read_once() {
    use std::os::unix::fs::symlink;
    let work = tempfile::tempdir().unwrap();
    let inputs = work.path().join("in");
    let sub = inputs.join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    copy_article("kim-troops.txt", &inputs.join("good0.txt"));
    // Two links back up make the walk branch at every level: without loop
    // detection it never ends.
    symlink("..", sub.join("l1")).unwrap();
    symlink("..", sub.join("l2")).unwrap();
    // Links that do not loop still count: a linked file, and a linked
    // folder outside the input.
    let elsewhere = work.path().join("elsewhere");
    std::fs::create_dir_all(elsewhere.join("more")).unwrap();
    copy_article("lavrov-visit.md", &elsewhere.join("linked-file.md"));
    copy_article(
        "self-defence.txt",
        &elsewhere.join("more/in-linked-dir.txt"),
    );
    symlink(
        elsewhere.join("linked-file.md"),
        inputs.join("linked-file.md"),
    )
    .unwrap();
    symlink(elsewhere.join("more"), sub.join("more")).unwrap();
    // The same folder reached a second way is still read once.
    symlink(elsewhere.join("more"), inputs.join("more-again")).unwrap();

    let out = work.path().join("out");
    let child = run_command(work.path(), &[&inputs], &out, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = finish_within(child, Duration::from_secs(20), "run over a symlink loop");
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert_eq!(
        json_ids(&out),
        ["good0", "in-linked-dir", "linked-file"],
        "each article once: {err}"
    );
    for link in ["l1", "l2"] {
        assert!(
            err.lines()
                .any(|l| l.contains(&format!("sub/{link}")) && l.contains("loop")),
            "stderr names the skipped link {link}: {err}"
        );
    }

    let child = anubad(work.path())
        .arg("extract")
        .arg(&inputs)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = finish_within(
        child,
        Duration::from_secs(20),
        "extract over a symlink loop",
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(String::from_utf8(output.stdout).unwrap().lines().count(), 3);
}

#[cfg(unix)]
#[test]
fn a_single_link_to_a_parent_does_not_repeat_articles() {
    let work = tempfile::tempdir().unwrap();
    let inputs = work.path().join("in");
    std::fs::create_dir_all(inputs.join("sub")).unwrap();
    copy_article("kim-troops.txt", &inputs.join("good0.txt"));
    std::os::unix::fs::symlink("..", inputs.join("sub/up")).unwrap();
    let out = work.path().join("out");
    let child = run_command(work.path(), &[&inputs], &out, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = finish_within(child, Duration::from_secs(60), "run over one loop link");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(json_ids(&out), ["good0"]);
}

#[test]
fn an_output_folder_inside_the_input_is_never_read() {
    let work = tempfile::tempdir().unwrap();
    let inputs = work.path().join("in");
    std::fs::create_dir_all(&inputs).unwrap();
    for name in ["kim-troops.txt", "lavrov-visit.md"] {
        copy_article(name, &inputs.join(name));
    }
    let out = inputs.join("out");
    for round in 0..2 {
        let output = run_articles(work.path(), &[&inputs], &out, &[]);
        let err = stderr(&output);
        assert!(output.status.success(), "round {round}: {err}");
        assert!(err.contains("2 articles ok"), "round {round}: {err}");
        assert_eq!(json_ids(&out), ["kim-troops", "lavrov-visit"]);
    }
    // Outputs of an earlier run into another folder are not articles either.
    let elsewhere = work.path().join("elsewhere");
    let output = run_articles(work.path(), &[&inputs], &elsewhere, &[]);
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(err.contains("2 articles ok"), "{err}");
    assert_eq!(json_ids(&elsewhere), ["kim-troops", "lavrov-visit"]);
}

#[test]
fn out_equal_to_an_input_folder_is_a_usage_error() {
    let work = tempfile::tempdir().unwrap();
    let inputs = work.path().join("in");
    std::fs::create_dir_all(&inputs).unwrap();
    copy_article("lavrov-visit.md", &inputs.join("lavrov-visit.md"));
    let before = std::fs::read(inputs.join("lavrov-visit.md")).unwrap();
    // The same folder, spelled another way.
    let output = run_articles(work.path(), &[&inputs], &inputs.join("."), &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("--out"), "{}", stderr(&output));
    assert_eq!(
        std::fs::read(inputs.join("lavrov-visit.md")).unwrap(),
        before
    );
    assert!(!inputs.join("lavrov-visit.json").exists());
    // A Markdown article named on its own, with --out its folder: its
    // output `lavrov-visit.md` would replace it.
    let output = run_articles(
        work.path(),
        &[&inputs.join("lavrov-visit.md")],
        &inputs,
        &[],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(
        std::fs::read(inputs.join("lavrov-visit.md")).unwrap(),
        before
    );
    // A text article beside its outputs is fine.
    copy_article("kim-troops.txt", &inputs.join("kim-troops.txt"));
    let output = run_articles(work.path(), &[&inputs.join("kim-troops.txt")], &inputs, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(inputs.join("kim-troops.md").exists());
    assert_eq!(
        std::fs::read(inputs.join("lavrov-visit.md")).unwrap(),
        before
    );
}

#[test]
fn a_killed_runs_leftovers_are_cleaned_or_completed_by_the_next_run() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let first = run_articles(work.path(), &[&articles_dir()], &out, &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    // What a kill leaves: temporary files of a process that is gone (named
    // as this version names them, and as earlier ones did, an hour old),
    // and a JSON whose Markdown was never written.
    let gone = {
        let mut child = Command::new("true").spawn().unwrap();
        child.wait().unwrap();
        child.id()
    };
    let dead = out.join(format!(".anubad-{gone}-a1B2c3.tmp"));
    let old = out.join(".anubad-Zq81xY.tmp");
    // A temporary file of a live process may be a concurrent run's write in
    // progress: it stays.
    let live = out.join(format!(".anubad-{}-d4E5f6.tmp", std::process::id()));
    for path in [&dead, &old, &live] {
        std::fs::write(path, "{\"partial\": ").unwrap();
    }
    let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(hour_ago)
        .unwrap();
    std::fs::remove_file(out.join("kim-troops.md")).unwrap();

    let rerun = run_articles(work.path(), &[&articles_dir()], &out, &[]);
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    assert!(!dead.exists(), "a dead run's temporary file is removed");
    assert!(!old.exists(), "an hour-old temporary file is removed");
    assert!(
        live.exists(),
        "a live process's temporary file is left alone"
    );
    assert!(
        out.join("kim-troops.md").exists(),
        "the rerun completes the pair"
    );
}

/// Cuts the cache file to `keep` bytes, as a full disk or a crash of the
/// machine can.
fn truncate_cache(work: &Path, keep: u64) {
    let path = work.join("cache/translations.sqlite3");
    for side in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(work.join(format!("cache/translations.sqlite3{side}")));
    }
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(keep)
        .unwrap();
}

#[test]
fn a_truncated_cache_is_reported_checked_and_repaired_by_cache_clear() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let first = run_articles(work.path(), &[&articles_dir()], &out, &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    truncate_cache(work.path(), 6000);

    let other = work.path().join("other");
    let damaged = run_articles(work.path(), &[&articles_dir()], &other, &[]);
    let err = stderr(&damaged);
    assert!(damaged.status.success(), "{err}");
    assert!(
        err.lines()
            .any(|l| l.starts_with("warning") && l.contains("anubad cache clear")),
        "the warning says how to fix it: {err}"
    );

    let check = cache_command(work.path(), "check");
    assert_eq!(check.status.code(), Some(1), "{}", stderr(&check));
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        stderr(&check)
    );
    assert!(report.contains("translations.sqlite3"), "{report}");
    assert!(report.contains("anubad cache clear"), "{report}");

    let clear = cache_command(work.path(), "clear");
    assert!(clear.status.success(), "{}", stderr(&clear));
    let check = cache_command(work.path(), "check");
    assert!(check.status.success(), "{}", stderr(&check));
    assert!(String::from_utf8_lossy(&check.stdout).contains("ok"));

    // Repaired: the next run fills it again and the one after hits.
    let third = work.path().join("third");
    let refill = run_articles(work.path(), &[&articles_dir()], &third, &[]);
    assert!(refill.status.success(), "{}", stderr(&refill));
    assert!(
        !stderr(&refill).lines().any(|l| l.starts_with("warning")),
        "{}",
        stderr(&refill)
    );
    let (_, misses) = last_run(work.path());
    let fourth = work.path().join("fourth");
    let hit = run_articles(work.path(), &[&articles_dir()], &fourth, &[]);
    assert!(hit.status.success(), "{}", stderr(&hit));
    assert_eq!(last_run(work.path()), (misses, 0));
}

#[test]
fn cache_check_says_ok_for_a_sound_cache() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    assert!(run_articles(work.path(), &[&articles_dir()], &out, &[])
        .status
        .success());
    let check = cache_command(work.path(), "check");
    assert!(check.status.success(), "{}", stderr(&check));
    assert!(String::from_utf8_lossy(&check.stdout).contains("ok"));
}

#[cfg(unix)]
#[test]
fn a_read_only_cache_is_still_read() {
    use std::os::unix::fs::PermissionsExt;
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let first = run_articles(work.path(), &[&articles_dir()], &out, &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    let (_, misses) = last_run(work.path());
    let cache = work.path().join("cache");
    let file = cache.join("translations.sqlite3");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o555)).unwrap();
    let other = work.path().join("other");
    let mut command = run_command(work.path(), &[&articles_dir()], &other, &[]);
    if std::fs::File::options().append(true).open(&file).is_ok() {
        // Root ignores permissions: run the binary as `nobody`, for whom the
        // root-owned cache is read-only, where setpriv can.
        let setpriv = Path::new("/usr/bin/setpriv");
        if !setpriv.exists() {
            eprintln!("skipped: permissions do not bind this user and setpriv is missing");
            return;
        }
        // A checkout under a private folder (mktemp -d) is out of nobody's reach.
        let reachable = Command::new(setpriv)
            .args([
                "--reuid=nobody",
                "--regid=nogroup",
                "--clear-groups",
                "--",
                "test",
                "-r",
            ])
            .arg(model_dir().join("config.json"))
            .status()
            .is_ok_and(|status| status.success());
        if !reachable {
            eprintln!("skipped: nobody cannot read the checkout's fixtures here");
            std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o755)).unwrap();
            return;
        }
        std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let mut as_nobody = Command::new(setpriv);
        as_nobody
            .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
            .arg(command.get_program())
            .args(command.get_args())
            .stdin(Stdio::null());
        for (key, value) in command.get_envs() {
            match value {
                Some(value) => as_nobody.env(key, value),
                None => as_nobody.env_remove(key),
            };
        }
        command = as_nobody;
    }
    let output = command.output().unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o755)).unwrap();
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    let summary = err.lines().last().unwrap_or_default();
    assert!(misses > 0);
    assert!(
        summary.contains(" sentences: 0 translated, "),
        "every sentence served from the read-only cache: {err}"
    );
    assert!(err.contains("read-only"), "{err}");
}

fn nested_page(tag: &str, depth: usize) -> String {
    format!(
        "<!doctype html><html><body>{}<p>গভীরে লুকানো খবর।</p></body></html>",
        format!("<{tag}>").repeat(depth)
    )
}

#[test]
fn a_deeply_nested_page_fails_by_name_without_hanging() {
    let work = tempfile::tempdir().unwrap();
    let inputs = work.path().join("in");
    std::fs::create_dir_all(&inputs).unwrap();
    std::fs::write(inputs.join("deep.html"), nested_page("blockquote", 100_000)).unwrap();
    copy_article("kim-troops.txt", &inputs.join("good.txt"));
    let started = Instant::now();
    let child = anubad(work.path())
        .arg("extract")
        .arg(&inputs)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = finish_within(child, Duration::from_secs(60), "extract of a deep page");
    let elapsed = started.elapsed();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.lines()
            .any(|l| l.contains("deep.html") && l.contains("nest")),
        "the error names the page and the limit: {err}"
    );
    assert_eq!(String::from_utf8(output.stdout).unwrap().lines().count(), 1);
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
}

#[test]
fn the_run_summary_counts_the_time_spent_reading_inputs() {
    let work = tempfile::tempdir().unwrap();
    let inputs = work.path().join("in");
    std::fs::create_dir_all(&inputs).unwrap();
    // A large page with no Bengali text: seconds of parsing, no translation.
    let page: String = (0..60_000)
        .map(|n| format!("<div class=c{n}><p>Paragraph {n} of a long English page.</p></div>"))
        .collect();
    std::fs::write(
        inputs.join("big.html"),
        format!("<!doctype html><html><body><article>{page}</article></body></html>"),
    )
    .unwrap();
    let out = work.path().join("out");
    let started = Instant::now();
    let output = run_articles(work.path(), &[&inputs], &out, &["--no-cache"]);
    let wall = started.elapsed().as_secs_f64();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    let summary = err.lines().last().unwrap_or_default();
    let seconds: f64 = summary
        .split("; ")
        .find_map(|part| part.strip_suffix('s')?.parse().ok())
        .unwrap_or_else(|| panic!("no time in {summary:?}"));
    assert!(
        seconds >= wall * 0.5,
        "summary says {seconds}s of a {wall:.1}s run: {err}"
    );
}

/// Many small articles, so that a run is still going when a test
/// interrupts it.
fn many_articles(dir: &Path, count: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let sentences = [
        "উত্তর কোরিয়া রাশিয়ায় সেনা পাঠিয়েছে।",
        "কিম জং উন পুতিনের সঙ্গে বৈঠক করেছেন।",
        "লাভরভ পিয়ংইয়ং সফর করেছেন।",
        "কুরস্ক অঞ্চলে লড়াই চলছে।",
    ];
    for i in 0..count {
        let body: String = (0..6)
            .map(|j| format!("{} {} নম্বর খবর।\n", sentences[(i + j) % 4], i * 6 + j))
            .collect();
        std::fs::write(
            dir.join(format!("n{i:02}.txt")),
            format!("শিরোনাম {i}\n\n{body}"),
        )
        .unwrap();
    }
}

/// Entries in the work cache, read through a second connection.
fn cache_entries(work: &Path) -> u64 {
    cache_command(work, "stats")
        .stdout
        .split(|b| *b == b'\n')
        .find_map(|line| {
            std::str::from_utf8(line)
                .ok()?
                .strip_prefix("entries:")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// Starts a run over many articles, sends `signal` once some batches are
/// cached, and returns what the run printed and its exit status.
fn interrupt_run(work: &Path, signal: &str, times: usize) -> Output {
    let inputs = work.join("in");
    many_articles(&inputs, 60);
    let out = work.join("out");
    let child = run_command(work, &[&inputs], &out, &["--batch-size", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while cache_entries(work) < 5 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    for _ in 0..times {
        let sent = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }
    finish_within(child, Duration::from_secs(30), "an interrupted run")
}

fn check_interrupted(work: &Path, output: &Output, code: i32) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(code), "{err}");
    let closing = err.lines().last().unwrap_or_default();
    assert!(closing.contains("interrupted"), "{err}");
    assert!(closing.contains("articles ok"), "the usual counts: {err}");
    assert!(closing.contains("again"), "says how to resume: {err}");
    let out = work.join("out");
    if out.exists() {
        for entry in std::fs::read_dir(&out).unwrap() {
            let name = entry.unwrap().file_name();
            assert!(
                !name.to_string_lossy().ends_with(".tmp"),
                "temporary file {name:?} left behind"
            );
        }
    }
    let wal = work.join("cache/translations.sqlite3-wal");
    assert!(
        std::fs::metadata(&wal).map_or(true, |m| m.len() == 0),
        "the cache's WAL was checkpointed on exit"
    );
    // Only a completed run says what it wrote.
    assert!(
        !out.join("manifest.json").exists(),
        "manifest of an interrupted run"
    );
    // The work done before the signal is kept: the rerun finishes the batch
    // from the cache.
    let rerun = run_articles(work, &[&work.join("in")], &out, &["--batch-size", "1"]);
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    assert!(out.join("manifest.json").is_file());
    assert!(
        last_run(work).0 >= 5,
        "the rerun reused the interrupted run's work"
    );
    assert_eq!(json_ids(&out).len(), 60);
}

#[cfg(unix)]
#[test]
fn sigint_finishes_the_batch_prints_the_closing_line_and_exits_130() {
    let work = tempfile::tempdir().unwrap();
    let output = interrupt_run(work.path(), "INT", 1);
    check_interrupted(work.path(), &output, 130);
}

#[cfg(unix)]
#[test]
fn sigterm_finishes_the_batch_prints_the_closing_line_and_exits_143() {
    let work = tempfile::tempdir().unwrap();
    let output = interrupt_run(work.path(), "TERM", 1);
    check_interrupted(work.path(), &output, 143);
}

#[cfg(unix)]
#[test]
fn a_second_sigint_exits_at_once_with_130() {
    let work = tempfile::tempdir().unwrap();
    let output = interrupt_run(work.path(), "INT", 2);
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
}

#[test]
fn an_oversized_jsonl_record_and_stdin_are_refused_with_their_real_size() {
    let work = tempfile::tempdir().unwrap();
    let big = "ঢাকায় বৃষ্টি হয়েছে। ".repeat(1_000_000);
    let jsonl = work.path().join("batch.jsonl");
    let record = serde_json::json!({"id": "big", "text": big}).to_string();
    let small = serde_json::json!({"id": "small", "text": "ঢাকায় বৃষ্টি হয়েছে।"}).to_string();
    std::fs::write(&jsonl, format!("{record}\n{small}\n")).unwrap();
    let output = anubad(work.path())
        .arg("extract")
        .arg(&jsonl)
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.lines()
            .any(|l| l.contains("batch.jsonl#1") && l.contains("too large")),
        "{err}"
    );
    assert_eq!(String::from_utf8(output.stdout).unwrap().lines().count(), 1);

    let bytes = big.len() + 10_000_000;
    let mut child = anubad(work.path())
        .args(["extract", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let chunk = vec![b'a'; 1 << 20];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(chunk.len());
            if stdin.write_all(&chunk[..n]).is_err() {
                break;
            }
            left -= n;
        }
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("stdin: {bytes} bytes")), "{err}");
}

#[test]
fn utf16_input_with_a_bom_is_read() {
    let work = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(articles_dir().join("kim-troops.txt")).unwrap();
    let inputs = work.path().join("in");
    std::fs::create_dir_all(&inputs).unwrap();
    let mut le = vec![0xff, 0xfe];
    le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    std::fs::write(inputs.join("le.txt"), le).unwrap();
    let mut be = vec![0xfe, 0xff];
    be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
    std::fs::write(inputs.join("be.txt"), be).unwrap();
    let output = anubad(work.path())
        .arg("extract")
        .arg(&inputs)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let titles: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["title"].clone())
        .collect();
    assert_eq!(titles.len(), 2);
    for title in titles {
        assert_eq!(title, "রাশিয়ায় সেনা পাঠিয়েছে উত্তর কোরিয়া");
    }
}

#[test]
fn no_cache_writes_nothing_to_the_cache_directory() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let output = run_articles(work.path(), &[&articles_dir()], &out, &["--no-cache"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let cache = work.path().join("cache");
    let written: Vec<_> = std::fs::read_dir(&cache)
        .map(|entries| entries.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(written.is_empty(), "--no-cache wrote {written:?}");
}

#[test]
fn a_finished_run_leaves_no_cache_wal_behind() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let output = run_articles(work.path(), &[&articles_dir()], &out, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let wal = work.path().join("cache/translations.sqlite3-wal");
    assert!(
        std::fs::metadata(&wal).map_or(true, |m| m.len() == 0),
        "WAL left behind"
    );
    let json = read_json(&out.join("kim-troops.json"));
    assert_eq!(json["id"], "kim-troops");
}

#[cfg(unix)]
#[test]
fn translate_waiting_for_input_ends_at_once_on_sigint() {
    use std::io::{BufRead, BufReader};
    let work = tempfile::tempdir().unwrap();
    let mut child = anubad(work.path())
        .args(["translate", "-v", "--model"])
        .arg(model_dir())
        .arg("--cache-dir")
        .arg(work.path().join("cache"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kept open: translate waits for input, as at a terminal.
    let _stdin = child.stdin.take().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let loaded = stderr
        .by_ref()
        .map_while(Result::ok)
        .any(|line| line.contains("loaded in"));
    assert!(loaded, "the model loads");
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("translate still waiting for input after Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}
