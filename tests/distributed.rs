//! A job split over processes, through the real binary on the fixture
//! model: `--shard K/N` (and the Slurm and Kubernetes indexes), `anubad
//! digest` over the shards' folder, `run - --emit jsonl` for engines that
//! pipe, a shard killed with SIGKILL and restarted, and shards on two
//! machines sharing one PostgreSQL cache (that test needs
//! `ANUBAD_TEST_POSTGRES`: see `support/postgres.rs`). Every test works in
//! its own temporary directory and caches; none touches the network beyond
//! loopback.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "support/binary.rs"]
mod binary;
use binary::{anubad, articles_dir, model_dir, stderr, stdout};

#[path = "support/postgres.rs"]
mod server;
use server::TestDatabase;

/// `count` article records made from the fixture pages, each with its own
/// numbered title (so every article has a sentence of its own) and the
/// page's text, as wire copies repeat; plus, at the given line numbers,
/// a record without Bengali (an input that fails).
fn jsonl_articles(count: usize, failing_at: &[usize]) -> String {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(articles_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pages.sort();
    let pages: Vec<String> = pages
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let mut lines = String::new();
    for i in 0..count {
        let record = if failing_at.contains(&i) {
            serde_json::json!({"id": format!("english-{i:03}"), "text": "Only English here."})
        } else {
            let page = &pages[i % pages.len()];
            let (title, body) = page.trim_start_matches("# ").split_once('\n').unwrap();
            let title = format!("{} {}", title.trim(), bengali_number(i + 1));
            serde_json::json!({
                "id": format!("article-{i:03}"),
                "title": title,
                "text": format!("{title}\n{body}"),
            })
        };
        lines.push_str(&record.to_string());
        lines.push('\n');
    }
    lines
}

fn bengali_number(n: usize) -> String {
    n.to_string()
        .chars()
        .map(|d| char::from_u32(0x09E6 + d.to_digit(10).unwrap()).unwrap())
        .collect()
}

/// `anubad run INPUT --out OUT` with its own cache folder and `extra` flags.
fn run(work: &Path, input: &Path, out: &Path, cache: &str, extra: &[&str]) -> Command {
    let mut command = anubad(work);
    command
        .arg("run")
        .arg(input)
        .arg("--out")
        .arg(out)
        .arg("--model")
        .arg(model_dir())
        .arg("--cache-dir")
        .arg(work.join(cache))
        .args(extra)
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("SLURM_ARRAY_TASK_COUNT")
        .env_remove("SLURM_ARRAY_TASK_MIN")
        .env_remove("JOB_COMPLETION_INDEX");
    command
}

/// Every file of `dir` by name, JSON records without their timings (which
/// differ from run to run): what "the same files" means for two runs.
fn files_of(dir: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let text = match serde_json::from_str::<Value>(&text) {
            Ok(mut record) if record.get("timings").is_some() => {
                record.as_object_mut().unwrap().remove("timings");
                record.to_string()
            }
            _ => text,
        };
        files.insert(name, text);
    }
    files
}

fn assert_same_files(expected: &Path, got: &Path) {
    let (expected, got) = (files_of(expected), files_of(got));
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        got.keys().collect::<Vec<_>>(),
        "the same file names"
    );
    for (name, text) in &expected {
        assert_eq!(text, &got[name], "{name} differs");
    }
}

fn json_summary(output: &std::process::Output) -> Value {
    serde_json::from_str(&stdout(output)).expect("--json-summary - prints JSON")
}

#[test]
fn two_shards_and_a_digest_write_exactly_the_files_of_one_unsharded_run() {
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("articles.jsonl");
    std::fs::write(&input, jsonl_articles(200, &[17, 150])).unwrap();

    let whole = work.path().join("whole");
    let output = run(work.path(), &input, &whole, "cache-whole", &[])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));

    // Two machines: each its own cache folder, one shared output folder.
    let shared = work.path().join("shared");
    let mut counts = Vec::new();
    for (shard, cache) in [("0/2", "cache-a"), ("1/2", "cache-b")] {
        let output = run(
            work.path(),
            &input,
            &shared,
            cache,
            &["--shard", shard, "--json-summary", "-"],
        )
        .output()
        .unwrap();
        let summary = json_summary(&output);
        assert_eq!(summary["shard"], shard, "{summary}");
        assert_eq!(summary["digest"], Value::Null, "a shard writes no digest");
        assert!(
            stderr(&output).contains(&format!("shard {shard}: ")),
            "the closing line names the shard: {}",
            stderr(&output)
        );
        counts.push(summary["articles"]["ok"].as_u64().unwrap());
    }
    assert_eq!(
        counts.iter().sum::<u64>(),
        198,
        "every article in one shard"
    );
    assert!(
        counts.iter().all(|&c| c > 60),
        "both shards work: {counts:?}"
    );
    assert!(!shared.join("digest.md").exists());

    let output = anubad(work.path())
        .arg("digest")
        .arg(&shared)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_same_files(&whole, &shared);
    // Again: the folder's manifest now says what the shard manifests did.
    let output = anubad(work.path())
        .arg("digest")
        .arg(&shared)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_same_files(&whole, &shared);
}

#[test]
fn slurm_and_kubernetes_indexes_pick_the_shard() {
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("articles.jsonl");
    std::fs::write(&input, jsonl_articles(12, &[])).unwrap();
    let ids_in = |out: &Path| -> Vec<String> {
        let mut ids: Vec<String> = std::fs::read_dir(out)
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().to_string_lossy().into_owned();
                name.strip_suffix(".md").map(str::to_string)
            })
            .collect();
        ids.sort();
        ids
    };
    let by_flag = work.path().join("flag");
    let output = run(work.path(), &input, &by_flag, "c", &["--shard", "1/3"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));

    // Slurm numbers tasks from --array's first value.
    let slurm = work.path().join("slurm");
    let output = run(work.path(), &input, &slurm, "c", &[])
        .env("SLURM_ARRAY_TASK_ID", "2")
        .env("SLURM_ARRAY_TASK_MIN", "1")
        .env("SLURM_ARRAY_TASK_COUNT", "3")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("shard 1/3: "),
        "{}",
        stderr(&output)
    );

    let kubernetes = work.path().join("kubernetes");
    let output = run(work.path(), &input, &kubernetes, "c", &["--shards", "3"])
        .env("JOB_COMPLETION_INDEX", "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));

    assert!(!ids_in(&by_flag).is_empty());
    assert_eq!(ids_in(&by_flag), ids_in(&slurm));
    assert_eq!(ids_in(&by_flag), ids_in(&kubernetes));

    // --shards without the index it needs, and a shard out of range, are
    // usage errors before any model loads.
    let output = run(work.path(), &input, &kubernetes, "c", &["--shards", "3"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("JOB_COMPLETION_INDEX"),
        "{}",
        stderr(&output)
    );
    let output = run(work.path(), &input, &kubernetes, "c", &["--shard", "3/3"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn emit_jsonl_writes_one_result_a_line_in_input_order_and_nothing_else() {
    let work = tempfile::tempdir().unwrap();
    let mut records = jsonl_articles(30, &[4]);
    // A line that is no JSON record at all.
    records.insert_str(0, "{not json\n");
    let input = work.path().join("articles.jsonl");
    std::fs::write(&input, &records).unwrap();
    let out = work.path().join("out");
    let output = run(work.path(), &input, &out, "c1", &[]).output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));

    let mut child = anubad(work.path())
        .args(["run", "-", "--emit", "jsonl", "--model"])
        .arg(model_dir())
        .arg("--cache-dir")
        .arg(work.path().join("c2"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(records.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let lines: Vec<Value> = stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("every stdout line is JSON"))
        .collect();
    assert_eq!(lines.len(), 31, "one line per input");
    assert_eq!(lines[0]["input"], "stdin#1");
    assert!(lines[0]["error"]
        .as_str()
        .unwrap()
        .contains("bad JSONL record"));
    assert_eq!(lines[5]["input"], "stdin#6");
    assert!(lines[5]["error"].as_str().unwrap().contains("no Bengali"));
    for (i, line) in lines.iter().enumerate() {
        if i == 0 || i == 5 {
            continue;
        }
        let id = line["id"].as_str().expect("an article has an id");
        assert_eq!(id, format!("article-{:03}", i - 1), "input order");
        assert_eq!(line["input"], format!("stdin#{}", i + 1));
        // The same record `run --out` writes, but for where it came from
        // (and the fingerprint, which covers that).
        let mut written: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join(format!("{id}.json"))).unwrap())
                .unwrap();
        let mut emitted = line.clone();
        for record in [&mut written, &mut emitted] {
            let record = record.as_object_mut().unwrap();
            record.remove("timings");
            record.remove("input");
            record.remove("fingerprint");
        }
        assert_eq!(emitted, written, "{id}");
    }
}

#[test]
fn a_shard_killed_mid_run_and_restarted_ends_with_the_same_files() {
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("articles.jsonl");
    std::fs::write(&input, jsonl_articles(200, &[])).unwrap();
    let clean = work.path().join("clean");
    let flags = ["--shard", "0/2", "--batch-size", "1"];
    let output = run(work.path(), &input, &clean, "cache-clean", &flags)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));

    let killed = work.path().join("killed");
    // One sentence a batch keeps the model busy long enough to be killed
    // in the middle.
    let mut child = run(work.path(), &input, &killed, "cache-killed", &flags)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let written = |dir: &Path| {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter(|e| {
                        e.as_ref()
                            .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".json"))
                    })
                    .count()
            })
            .unwrap_or(0)
    };
    while written(&killed) < 3 && started.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let expected = written(&clean);
    assert!(
        (1..expected).contains(&written(&killed)),
        "killed part-way: {} of {expected} files",
        written(&killed)
    );

    let output = run(work.path(), &input, &killed, "cache-killed", &flags)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_same_files(&clean, &killed);
    // Every translation is in the cache once: as many entries as the run
    // that was never killed stored.
    let entries = |cache: &str| {
        let output = anubad(work.path())
            .args(["cache", "stats", "--cache-dir"])
            .arg(work.path().join(cache))
            .output()
            .unwrap();
        stdout(&output)
            .lines()
            .find(|l| l.starts_with("entries"))
            .unwrap_or_default()
            .to_string()
    };
    assert!(!entries("cache-clean").is_empty());
    assert_eq!(entries("cache-clean"), entries("cache-killed"));
}

#[test]
fn shards_on_two_machines_share_one_postgres_cache_and_a_third_machine_translates_nothing() {
    let Some(database) = TestDatabase::create() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("articles.jsonl");
    std::fs::write(&input, jsonl_articles(200, &[])).unwrap();
    let whole = work.path().join("whole");
    let output = run(work.path(), &input, &whole, "cache-whole", &[])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));

    // Each machine: its own Hugging Face cache and local cache directory.
    let on_machine = |name: &str, out: &Path, extra: &[&str]| {
        let machine = work.path().join(name);
        let mut command = anubad(&machine);
        command
            .arg("run")
            .arg(&input)
            .arg("--out")
            .arg(out)
            .arg("--model")
            .arg(model_dir())
            .args(["--cache", &database.url, "--json-summary", "-"])
            .args(extra)
            .env("XDG_CACHE_HOME", machine.join("xdg"))
            .env_remove("ANUBAD_CACHE")
            .env_remove("SLURM_ARRAY_TASK_ID")
            .env_remove("SLURM_ARRAY_TASK_COUNT")
            .env_remove("JOB_COMPLETION_INDEX");
        let output = command.output().unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        json_summary(&output)
    };
    let shared = work.path().join("shared");
    let (first, second) = std::thread::scope(|scope| {
        let first = scope.spawn(|| on_machine("machine-a", &shared, &["--shard", "0/2"]));
        let second = scope.spawn(|| on_machine("machine-b", &shared, &["--shard", "1/2"]));
        (first.join().unwrap(), second.join().unwrap())
    });
    let ok = |summary: &Value| summary["articles"]["ok"].as_u64().unwrap();
    assert_eq!(ok(&first) + ok(&second), 200);
    let output = anubad(work.path())
        .arg("digest")
        .arg(&shared)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_same_files(&whole, &shared);

    let third = on_machine("machine-c", &work.path().join("third"), &[]);
    assert_eq!(third["cache"]["misses"], 0, "no model call: {third}");
    assert_eq!(third["sentences"]["translated"], 0, "{third}");
    assert_same_files(&whole, &work.path().join("third"));
}

#[test]
fn a_digest_of_shards_in_separate_folders_links_each_article_where_it_is() {
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("articles.jsonl");
    std::fs::write(&input, jsonl_articles(6, &[])).unwrap();
    for shard in ["0", "1"] {
        let out = work.path().join(format!("shard-{shard}"));
        let output = run(
            work.path(),
            &input,
            &out,
            "c",
            &["--shard", &format!("{shard}/2")],
        )
        .output()
        .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
    }
    let digest_dir = work.path().join("digest");
    let output = anubad(work.path())
        .arg("digest")
        .arg(work.path().join("shard-0"))
        .arg(work.path().join("shard-1"))
        .arg("--out")
        .arg(&digest_dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let digest = std::fs::read_to_string(digest_dir.join("digest.md")).unwrap();
    assert!(
        digest.starts_with("# Anubad digest\n\n6 articles from this run"),
        "{digest}"
    );
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(digest_dir.join("manifest.json")).unwrap())
            .unwrap();
    let articles = manifest["articles"].as_array().unwrap();
    assert_eq!(articles.len(), 6);
    for article in articles {
        let id = article["id"].as_str().unwrap();
        let page = article["files"][1].as_str().unwrap();
        assert!(page.starts_with("../shard-"), "{page}");
        // Each link, followed from the digest's folder, reaches the page.
        assert!(digest_dir.join(page).is_file(), "{page}");
        assert!(
            digest.contains(&format!("(<{page}>)")),
            "{id} links to {page}"
        );
    }
}

/// With a chat model, the digest of the shards' folder has the same
/// introduction (or says why it has none) as the unsharded run's: `anubad
/// digest --summarizer` writes it from the same stories.
#[test]
fn a_digest_with_a_summarizer_equals_the_unsharded_runs() {
    let work = tempfile::tempdir().unwrap();
    let chat = binary::root().join("tests/fixtures/chat-tiny");
    let summarizer = ["--summarizer", chat.to_str().unwrap()];
    let whole = work.path().join("whole");
    let output = run(work.path(), &articles_dir(), &whole, "c", &summarizer)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let shared = work.path().join("shared");
    for shard in ["0/2", "1/2"] {
        let mut flags = summarizer.to_vec();
        flags.extend(["--shard", shard]);
        let output = run(work.path(), &articles_dir(), &shared, "c", &flags)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
    }
    let output = anubad(work.path())
        .arg("digest")
        .arg(&shared)
        .args(summarizer)
        .arg("--cache-dir")
        .arg(work.path().join("c"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    // The tiny random model writes until its token limit, so neither digest
    // gets an introduction; both say why.
    assert!(
        stderr(&output).contains("no digest introduction: the chat model stopped"),
        "{}",
        stderr(&output)
    );
    assert_same_files(&whole, &shared);
}
