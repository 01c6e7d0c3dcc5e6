//! End-to-end tests of the `anubad` binary on the committed fixture model
//! (`tests/fixtures/marian-tiny`, trained by `scripts/make_fixtures.py`) and
//! fixture articles. Every test works in its own temporary directory and cache;
//! none touches the network.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "support/fake_hub.rs"]
mod fake_hub;

#[path = "support/binary.rs"]
mod binary;
use binary::{
    anubad, articles_dir, many_articles, model_dir, read_json, root, run_articles, stderr,
};

fn cache_stats(work: &Path) -> String {
    let output = anubad(work)
        .args(["cache", "stats", "--cache-dir"])
        .arg(work.join("cache"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    String::from_utf8(output.stdout).unwrap()
}

/// `(hits, misses)` of the last run, from `anubad cache stats`.
fn last_run(work: &Path) -> (u64, u64) {
    let stats = cache_stats(work);
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

fn translate(work: &Path, input: &str, extra: &[&str]) -> Output {
    translate_with(&model_dir(), work, input, extra)
}

fn translate_with(model: &Path, work: &Path, input: &str, extra: &[&str]) -> Output {
    use std::io::Write;
    let mut child = anubad(work)
        .arg("translate")
        .arg("--model")
        .arg(model)
        .arg("--cache-dir")
        .arg(work.join("cache"))
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// `(source, text)` pairs and the `max_length` of one recorded setting.
fn expected_generation(fixture: &Path, name: &str) -> (Vec<(String, String)>, Option<u64>) {
    let expected = read_json(&fixture.join("expected.json"));
    let setting = expected["generation"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("fixture has setting {name}"))
        .clone();
    let cases = setting["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["source"].as_str().unwrap().to_string(),
                c["text"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (cases, setting["settings"]["max_length"].as_u64())
}

/// `anubad translate --model FIXTURE` prints, line for line, the text
/// transformers' `generate()` + `batch_decode` gave for the same model.
fn check_translate_parity(fixture: &str, setting: &str, beams: &str) {
    let work = tempfile::tempdir().unwrap();
    let fixture = root().join("tests/fixtures").join(fixture);
    let (cases, max_length) = expected_generation(&fixture, setting);
    // An empty line must give an empty line here; transformers would
    // translate the bare end token (tests/parity.rs checks that case).
    let cases: Vec<_> = cases
        .into_iter()
        .filter(|(source, _)| !source.trim().is_empty())
        .collect();
    let input: String = cases.iter().map(|(s, _)| format!("{s}\n")).collect();
    let max_length = max_length.map(|m| m.to_string());
    let mut args = vec!["--whole-lines", "--beams", beams, "--no-cache"];
    if let Some(max_length) = &max_length {
        args.extend(["--max-length", max_length]);
    }
    let output = translate_with(&fixture, work.path(), &input, &args);
    assert!(output.status.success(), "{}", stderr(&output));
    let lines: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let want: Vec<String> = cases.into_iter().map(|(_, t)| t).collect();
    assert_eq!(lines, want);
}

#[test]
fn translate_prints_what_transformers_prints_greedy() {
    check_translate_parity("marian-tiny", "greedy", "1");
}

#[test]
fn translate_prints_what_transformers_prints_beam() {
    check_translate_parity("marian-tiny", "beam4", "4");
}

#[test]
fn translate_matches_transformers_for_nllb_greedy() {
    check_translate_parity("nllb-tiny", "greedy", "1");
}

#[test]
fn translate_matches_transformers_for_nllb_beam() {
    check_translate_parity("nllb-tiny", "beam4", "4");
}

#[test]
fn translate_matches_transformers_for_t5_greedy() {
    check_translate_parity("t5-tiny", "greedy", "1");
}

#[test]
fn translate_matches_transformers_for_t5_beam() {
    check_translate_parity("t5-tiny", "beam4", "4");
}

#[test]
fn translate_gives_one_line_per_input_line_and_empty_for_empty() {
    let work = tempfile::tempdir().unwrap();
    let input =
        "ঢাকায় আজ বৃষ্টি হয়েছে।\n\n   \nকিম জং উন রাশিয়া সফর করেছেন। তিনি পুতিনের সঙ্গে বৈঠক করেন।\n";
    let output = translate(work.path(), input, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.split('\n').collect();
    assert_eq!(lines.len(), 5, "4 lines and a final newline: {stdout:?}");
    assert!(!lines[0].is_empty());
    assert_eq!(lines[1], "");
    assert_eq!(lines[2], "");
    assert!(!lines[3].is_empty());
}

#[test]
fn a_sentence_translates_the_same_in_any_batch() {
    for fixture in ["marian-tiny", "nllb-tiny", "t5-tiny"] {
        let work = tempfile::tempdir().unwrap();
        let fixture = root().join("tests/fixtures").join(fixture);
        let (cases, _) = expected_generation(&fixture, "beam4");
        let input: String = cases.iter().map(|(s, _)| format!("{s}\n")).collect();
        let run = |batch: &str| {
            translate_with(
                &fixture,
                work.path(),
                &input,
                &["--beams", "4", "--batch-size", batch, "--no-cache"],
            )
        };
        let (alone, batched) = (run("1"), run("16"));
        assert!(alone.status.success() && batched.status.success());
        assert_eq!(
            String::from_utf8(alone.stdout).unwrap(),
            String::from_utf8(batched.stdout).unwrap(),
            "{}",
            fixture.display()
        );
    }
}

#[test]
fn run_writes_article_files_and_digest() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let output = run_articles(work.path(), &[&articles_dir()], &out, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    for id in ["kim-troops", "lavrov-visit", "self-defence"] {
        let json = read_json(&out.join(format!("{id}.json")));
        assert_eq!(json["id"], id);
        assert!(json["title"]["bn"].as_str().unwrap().contains('ক'));
        assert!(!json["title"]["en"].as_str().unwrap().is_empty());
        let paragraphs = json["paragraphs"].as_array().unwrap();
        assert!(!paragraphs.is_empty());
        for pair in paragraphs.iter().flat_map(|p| p.as_array().unwrap()) {
            assert!(!pair["bn"].as_str().unwrap().is_empty());
            assert!(!pair["en"].as_str().unwrap().is_empty());
        }
        assert_eq!(json["summary"]["method"], "extractive");
        assert!(!json["summary"]["text"].as_str().unwrap().is_empty());
        assert_eq!(json["model"]["name"], "marian-tiny");
        assert!(json["generation"]["num_beams"].is_number());
        let md = std::fs::read_to_string(out.join(format!("{id}.md"))).unwrap();
        assert!(md.contains(json["title"]["en"].as_str().unwrap()));
        assert!(md.contains(json["title"]["bn"].as_str().unwrap()));
    }
    // The title line is not repeated as body text.
    let json = read_json(&out.join("kim-troops.json"));
    assert_eq!(json["title"]["bn"], "রাশিয়ায় সেনা পাঠিয়েছে উত্তর কোরিয়া");
    assert!(!json["paragraphs"][0][0]["bn"]
        .as_str()
        .unwrap()
        .starts_with("রাশিয়ায় সেনা"));
    // Sentence split on the danda but not after the abbreviation "ড.".
    let sentences: Vec<String> = json["paragraphs"][1]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["bn"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sentences.len(), 2, "{sentences:?}");
    assert!(sentences[1].starts_with("ড. কিম"));
    let digest = std::fs::read_to_string(out.join("digest.md")).unwrap();
    for id in ["kim-troops", "lavrov-visit", "self-defence"] {
        assert!(digest.contains(&format!("{id}.md")), "{digest}");
    }
}

#[test]
fn second_run_is_served_from_the_cache_and_leaves_files_alone() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let first = run_articles(work.path(), &[&articles_dir()], &out, &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    let (hits, misses) = last_run(work.path());
    assert_eq!(hits, 0);
    assert!(misses > 0);
    let modified = std::fs::metadata(out.join("kim-troops.json"))
        .unwrap()
        .modified()
        .unwrap();

    // Another output directory: no files to reuse, so every segment is
    // looked up, and every lookup hits.
    let other = work.path().join("other");
    let second = run_articles(work.path(), &[&articles_dir()], &other, &[]);
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(last_run(work.path()), (misses, 0));
    let first_json = read_json(&out.join("kim-troops.json"));
    let second_json = read_json(&other.join("kim-troops.json"));
    assert_eq!(first_json["paragraphs"], second_json["paragraphs"]);
    assert_eq!(first_json["title"], second_json["title"]);
    assert_eq!(second_json["timings"]["translated_segments"], 0);

    // The same output directory: unchanged articles are not rewritten.
    let third = run_articles(work.path(), &[&articles_dir()], &out, &[]);
    assert!(third.status.success(), "{}", stderr(&third));
    assert!(stderr(&third).contains("3 unchanged"), "{}", stderr(&third));
    assert_eq!(last_run(work.path()), (misses, 0), "a rerun shows all hits");
    let again = std::fs::metadata(out.join("kim-troops.json"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(modified, again);
}

#[test]
fn other_beam_width_misses_the_cache() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    assert!(
        run_articles(work.path(), &[&articles_dir()], &out, &["--beams", "2"])
            .status
            .success()
    );
    let (_, misses) = last_run(work.path());
    let out2 = work.path().join("out2");
    assert!(
        run_articles(work.path(), &[&articles_dir()], &out2, &["--beams", "3"])
            .status
            .success()
    );
    assert_eq!(last_run(work.path()), (0, misses));
    let out3 = work.path().join("out3");
    assert!(
        run_articles(work.path(), &[&articles_dir()], &out3, &["--beams", "2"])
            .status
            .success()
    );
    assert_eq!(last_run(work.path()), (misses, 0));
}

#[test]
fn bad_inputs_are_reported_by_name_and_the_batch_goes_on() {
    let work = tempfile::tempdir().unwrap();
    let inputs = work.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    std::fs::copy(
        articles_dir().join("kim-troops.txt"),
        inputs.join("good.txt"),
    )
    .unwrap();
    std::fs::write(inputs.join("latin1.txt"), b"caf\xe9 \xe0 Dhaka").unwrap();
    std::fs::write(inputs.join("empty.txt"), b"\n  \n").unwrap();
    std::fs::write(inputs.join("binary.txt"), b"\x7fELF\x00\x01\x02").unwrap();
    std::fs::write(inputs.join("english.md"), "Only English text here.\n").unwrap();
    let huge = "ঢাকায় বৃষ্টি হয়েছে।\n".repeat(800_000);
    std::fs::write(inputs.join("huge.txt"), huge).unwrap();
    let out = work.path().join("out");
    let output = run_articles(work.path(), &[&inputs], &out, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    for (file, reason) in [
        ("latin1.txt", "not UTF-8"),
        ("empty.txt", "empty"),
        ("binary.txt", "binary"),
        ("english.md", "no Bengali"),
        ("huge.txt", "too large"),
    ] {
        assert!(
            err.lines().any(|l| l.contains(file) && l.contains(reason)),
            "no line for {file} ({reason}) in:\n{err}"
        );
    }
    assert!(out.join("good.json").exists());
    let digest = std::fs::read_to_string(out.join("digest.md")).unwrap();
    assert!(digest.contains("latin1.txt"));
}

#[test]
fn jsonl_and_stdin_inputs() {
    let work = tempfile::tempdir().unwrap();
    let jsonl = work.path().join("batch.jsonl");
    std::fs::write(
        &jsonl,
        "{\"id\": \"a/1\", \"title\": \"কিমের সফর\", \"text\": \"কিম রাশিয়া সফর করেছেন।\", \"published\": \"2025-07-13\"}\n\
         {\"id\": \"a/1\", \"text\": \"পুতিন বৈঠক করেছেন।\"}\n",
    )
    .unwrap();
    let out = work.path().join("out");
    let output = run_articles(work.path(), &[&jsonl], &out, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let first = read_json(&out.join("a-1.json"));
    assert_eq!(first["title"]["bn"], "কিমের সফর");
    assert_eq!(first["published"], "2025-07-13");
    assert_eq!(first["input"], format!("{}#1", jsonl.display()));
    assert!(out.join("a-1-2.json").exists(), "ids made unique");

    let mut command = anubad(work.path());
    command
        .args(["run", "-", "--out"])
        .arg(work.path().join("stdin-out"))
        .arg("--model")
        .arg(model_dir())
        .arg("--no-cache")
        .stdin(std::fs::File::open(articles_dir().join("lavrov-visit.md")).unwrap());
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(work.path().join("stdin-out/stdin.json").exists());
}

#[test]
fn unresolvable_model_is_a_configuration_error() {
    let work = tempfile::tempdir().unwrap();
    let output = anubad(work.path())
        .arg("run")
        .arg(articles_dir())
        .arg("--out")
        .arg(work.path().join("out"))
        .args(["--model", "no-such-preset-or-dir", "--offline"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("no-such-preset-or-dir"));

    let output = anubad(work.path()).args(["run"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "missing arguments");
}

#[test]
fn a_corrupt_cache_file_gives_a_warning_and_the_run_goes_on() {
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(work.path().join("cache")).unwrap();
    std::fs::write(
        work.path().join("cache/translations.sqlite3"),
        b"this is not a database, just bytes that look nothing like SQLite",
    )
    .unwrap();
    let out = work.path().join("out");
    let output = run_articles(work.path(), &[&articles_dir()], &out, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.lines()
            .any(|l| l.starts_with("warning") && l.contains("translations.sqlite3")),
        "the warning names the cache file: {err}"
    );
    assert!(out.join("kim-troops.json").exists());
}

#[test]
fn two_processes_sharing_one_cache_both_finish_correctly() {
    let work = tempfile::tempdir().unwrap();
    let spawn = |out: &str| {
        let mut command = anubad(work.path());
        command
            .arg("run")
            .arg(articles_dir())
            .arg("--out")
            .arg(work.path().join(out))
            .arg("--model")
            .arg(model_dir())
            .arg("--cache-dir")
            .arg(work.path().join("cache"))
            .args(["--batch-size", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command.spawn().unwrap()
    };
    let a = spawn("a");
    let b = spawn("b");
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success(), "{}", stderr(&a));
    assert!(b.status.success(), "{}", stderr(&b));
    for id in ["kim-troops", "lavrov-visit", "self-defence"] {
        let ja = read_json(&work.path().join(format!("a/{id}.json")));
        let jb = read_json(&work.path().join(format!("b/{id}.json")));
        assert_eq!(ja["paragraphs"], jb["paragraphs"]);
        assert_eq!(ja["title"], jb["title"]);
    }
}

#[test]
fn a_killed_run_resumes_from_the_cache() {
    let work = tempfile::tempdir().unwrap();
    // Many articles, so the run is still going when it is killed.
    let inputs = many_articles(work.path());
    let out = work.path().join("out");
    let mut child = {
        let mut command = anubad(work.path());
        command
            .arg("run")
            .arg(&inputs)
            .arg("--out")
            .arg(&out)
            .arg("--model")
            .arg(model_dir())
            .arg("--cache-dir")
            .arg(work.path().join("cache"))
            .args(["--batch-size", "1"])
            .stderr(Stdio::null());
        command.spawn().unwrap()
    };
    // Kill as soon as some batches are in the cache.
    let deadline = Instant::now() + Duration::from_secs(60);
    let db = work.path().join("cache/translations.sqlite3");
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let entries = std::process::Command::new(env!("CARGO_BIN_EXE_anubad"))
            .args(["cache", "stats", "--cache-dir"])
            .arg(work.path().join("cache"))
            .output()
            .ok()
            .and_then(|o| {
                String::from_utf8(o.stdout).ok()?.lines().find_map(|l| {
                    l.strip_prefix("entries:")
                        .and_then(|n| n.trim().parse::<u64>().ok())
                })
            })
            .unwrap_or(0);
        if (db.exists() && entries >= 5) || Instant::now() > deadline {
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let resumed = run_articles(work.path(), &[&inputs], &out, &["--batch-size", "1"]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    let (hits, _) = last_run(work.path());
    assert!(hits >= 5, "the resumed run reused the killed run's work");
    // The resumed outputs equal those of a clean run.
    let clean = work.path().join("clean");
    let fresh = run_articles(
        work.path(),
        &[&inputs],
        &clean,
        &["--no-cache", "--batch-size", "1"],
    );
    assert!(fresh.status.success());
    for i in [0, 17, 39] {
        let a = read_json(&out.join(format!("n{i:02}.json")));
        let b = read_json(&clean.join(format!("n{i:02}.json")));
        assert_eq!(a["paragraphs"], b["paragraphs"]);
    }
}

#[test]
fn long_sentences_are_split_never_truncated() {
    let work = tempfile::tempdir().unwrap();
    // Far beyond the fixture model's input limit.
    let long: String = (0..400)
        .map(|i| format!("শব্দ{} ", i % 10))
        .collect::<String>()
        + "শেষ।";
    let article = format!("দীর্ঘ বাক্যের খবর\n\n{long}\n");
    let input = work.path().join("long.txt");
    std::fs::write(&input, &article).unwrap();
    let out = work.path().join("out");
    let output = run_articles(work.path(), &[&input], &out, &["--no-cache"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json = read_json(&out.join("long.json"));
    let pieces: Vec<String> = json["paragraphs"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["bn"].as_str().unwrap().to_string())
        .collect();
    assert!(pieces.len() > 1, "split into several segments");
    let joined: String = pieces
        .concat()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let original: String = long.chars().filter(|c| !c.is_whitespace()).collect();
    assert_eq!(
        joined, original,
        "every source character is in some segment"
    );
}

#[test]
fn models_list_shows_presets_with_licences() {
    let work = tempfile::tempdir().unwrap();
    let output = anubad(work.path())
        .args(["models", "list"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let line = stdout
        .lines()
        .find(|l| l.starts_with("opus-mt-bn-en"))
        .expect("preset listed");
    assert!(line.contains("Apache-2.0"));
    assert!(line.contains("marian"));
    assert!(
        line.trim_end().ends_with("no"),
        "not downloaded in a fresh HF_HOME"
    );
    for (name, kind, family, chrf, licence) in [
        (
            "nllb-200-distilled-600M",
            "translation",
            "m2m_100",
            "57.0",
            "CC-BY-NC-4.0",
        ),
        (
            "nllb-200-distilled-1.3B",
            "translation",
            "m2m_100",
            "59.4",
            "CC-BY-NC-4.0",
        ),
        (
            "nllb-200-3.3B",
            "translation",
            "m2m_100",
            "59.6",
            "CC-BY-NC-4.0",
        ),
        (
            "banglat5-nmt-bn-en",
            "translation",
            "t5",
            "56.3",
            "CC-BY-NC-SA-4.0",
        ),
        (
            "madlad400-3b-mt-q4k",
            "translation",
            "t5",
            "-",
            "Apache-2.0",
        ),
        ("qwen2.5-1.5b-instruct", "chat", "qwen2", "-", "Apache-2.0"),
        (
            "qwen2.5-3b-instruct",
            "chat",
            "qwen2",
            "-",
            "Qwen-Research-NC",
        ),
        ("gemma-3-1b-it", "chat", "gemma3", "-", "Gemma-Terms"),
    ] {
        let line = stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} listed:\n{stdout}"));
        // Sizes contain a space ("2.48 GB"), so read the last columns from the end.
        let columns: Vec<&str> = line.split_whitespace().collect();
        let n = columns.len();
        assert_eq!((columns[1], columns[2]), (kind, family), "{line}");
        assert_eq!(
            (columns[n - 3], columns[n - 2], columns[n - 1]),
            (chrf, licence, "no"),
            "{line}"
        );
    }
}

/// `models quantize` writes a GGUF copy that `--model` loads like any other
/// directory; quantized output stays close to the f32 model's (the rates
/// are measured in tests/parity_t5.rs and tests/parity_m2m100.rs).
#[test]
fn a_quantized_copy_translates_like_the_original() {
    for fixture in ["nllb-tiny", "t5-tiny"] {
        let work = tempfile::tempdir().unwrap();
        let fixture = root().join("tests/fixtures").join(fixture);
        let quantized = work.path().join("quantized");
        let output = anubad(work.path())
            .args(["models", "quantize"])
            .arg(&fixture)
            .arg("--out")
            .arg(&quantized)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(quantized.join("model-q8_0.gguf").is_file());
        assert!(quantized.join("config.json").is_file());

        let (cases, _) = expected_generation(&fixture, "greedy");
        let input: String = cases.iter().map(|(s, _)| format!("{s}\n")).collect();
        let args = [
            "--whole-lines",
            "--beams",
            "1",
            "--max-length",
            "64",
            "--no-cache",
        ];
        let from_gguf = translate_with(&quantized, work.path(), &input, &args);
        let on_the_fly = translate_with(
            &fixture,
            work.path(),
            &input,
            &[&args[..], &["--quantize", "q8_0"]].concat(),
        );
        for output in [&from_gguf, &on_the_fly] {
            // Q8_0 changes close calls of these tiny models, not most outputs.
            assert_mostly_equal(output, &cases, &fixture);
        }
    }
}

/// Asserts that `output` succeeded with one line per case and that at
/// least half the lines equal the f32 reference.
fn assert_mostly_equal(output: &std::process::Output, cases: &[(String, String)], fixture: &Path) {
    assert!(output.status.success(), "{}", stderr(output));
    let lines: Vec<&str> = std::str::from_utf8(&output.stdout)
        .unwrap()
        .lines()
        .collect();
    assert_eq!(lines.len(), cases.len());
    let same = lines
        .iter()
        .zip(cases)
        .filter(|(got, (_, want))| *got == want)
        .count();
    assert!(
        same * 2 >= cases.len(),
        "{}: only {same} of {} lines equal the f32 reference",
        fixture.display(),
        cases.len()
    );
}

/// `--quantize int8` runs every family through the real binary and keeps
/// most outputs (rates in tests/parity_t5.rs and tests/parity_m2m100.rs);
/// it is made while loading, so `models quantize` refuses to store it.
#[test]
fn int8_translates_every_family_and_is_not_stored() {
    for fixture in ["nllb-tiny", "t5-tiny"] {
        let work = tempfile::tempdir().unwrap();
        let fixture = root().join("tests/fixtures").join(fixture);
        let (cases, _) = expected_generation(&fixture, "greedy");
        let input: String = cases.iter().map(|(s, _)| format!("{s}\n")).collect();
        let args = [
            "--whole-lines",
            "--beams",
            "1",
            "--max-length",
            "64",
            "--no-cache",
            "--quantize",
            "int8",
        ];
        let output = translate_with(&fixture, work.path(), &input, &args);
        assert_mostly_equal(&output, &cases, &fixture);

        let output = anubad(work.path())
            .args(["models", "quantize"])
            .arg(&fixture)
            .arg("--out")
            .arg(work.path().join("int8"))
            .args(["--type", "int8"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        assert!(
            stderr(&output).contains("--quantize int8"),
            "{}",
            stderr(&output)
        );
        assert!(!work.path().join("int8").exists());
    }
}

#[test]
fn models_info_reads_a_local_directory() {
    let work = tempfile::tempdir().unwrap();
    let output = anubad(work.path())
        .args(["models", "info"])
        .arg(model_dir())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("marian"), "{stdout}");
}

#[test]
fn models_pull_downloads_through_the_hub_client_then_works_offline() {
    if let Some(proxy) = fake_hub::proxy_in_environment() {
        eprintln!("skipping: a proxy ({proxy}) would receive the loopback traffic");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let hub = fake_hub::FakeHub::serve("owner/tiny-marian", &model_dir()).unwrap();
    let online = |args: &[&str]| {
        anubad(work.path())
            .env_remove("HF_HUB_OFFLINE")
            .env("HF_ENDPOINT", hub.endpoint())
            .args(args)
            .output()
            .unwrap()
    };
    let pulled = online(&["models", "pull", "owner/tiny-marian"]);
    assert!(pulled.status.success(), "{}", stderr(&pulled));
    let dir = PathBuf::from(String::from_utf8(pulled.stdout).unwrap().trim());
    assert!(dir.starts_with(work.path().join("hf")), "{}", dir.display());
    assert!(dir.join("config.json").exists() && dir.join("source.spm").exists());
    let requests = hub.request_count();
    assert!(requests > 0);

    // Translating by hub id now needs nothing from the network.
    let output = anubad(work.path())
        .env("HF_ENDPOINT", hub.endpoint())
        .args([
            "translate",
            "--model",
            "owner/tiny-marian",
            "--offline",
            "--no-cache",
        ])
        .stdin(std::fs::File::open(articles_dir().join("lavrov-visit.md")).unwrap())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!String::from_utf8(output.stdout).unwrap().trim().is_empty());
    assert_eq!(hub.request_count(), requests, "offline run made no request");
}

#[test]
fn offline_without_the_files_says_what_to_download() {
    let work = tempfile::tempdir().unwrap();
    let output = anubad(work.path())
        .args(["translate", "--model", "opus-mt-bn-en", "--offline"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("Helsinki-NLP/opus-mt-bn-en"), "{err}");
    assert!(err.contains("huggingface-cli download"), "{err}");
    assert!(err.contains("--model ./opus-mt-bn-en"), "{err}");
}

#[test]
fn a_changed_article_is_rewritten_even_when_the_last_input_is_unchanged() {
    let work = tempfile::tempdir().unwrap();
    let inputs = work.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    for name in ["kim-troops.txt", "lavrov-visit.md", "self-defence.txt"] {
        std::fs::copy(articles_dir().join(name), inputs.join(name)).unwrap();
    }
    let out = work.path().join("out");
    assert!(run_articles(work.path(), &[&inputs], &out, &[])
        .status
        .success());
    // Sorted by path, kim-troops comes first and self-defence last.
    let edited = "ঢাকায় নতুন বৃষ্টির খবর\n\nঢাকায় আজ বৃষ্টি হয়েছে।\n";
    std::fs::write(inputs.join("kim-troops.txt"), edited).unwrap();
    let rerun = run_articles(work.path(), &[&inputs], &out, &[]);
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    assert!(stderr(&rerun).contains("2 unchanged"), "{}", stderr(&rerun));
    let json = read_json(&out.join("kim-troops.json"));
    assert_eq!(json["title"]["bn"], "ঢাকায় নতুন বৃষ্টির খবর");
    assert_eq!(json["paragraphs"][0][0]["bn"], "ঢাকায় আজ বৃষ্টি হয়েছে।");
}

/// Every page with a `.gold.json` next to it, through `anubad extract`.
#[test]
fn extract_gives_the_gold_story_of_every_committed_page() {
    let work = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for folder in ["tests/fixtures/html", "tests/fixtures/pages"] {
        for entry in std::fs::read_dir(root().join(folder)).unwrap() {
            let gold_path = entry.unwrap().path();
            let Some(name) = gold_path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Some(stem) = name.strip_suffix(".gold.json") else {
                continue;
            };
            let page = ["html", "txt", "md"]
                .iter()
                .map(|ext| gold_path.with_file_name(format!("{stem}.{ext}")))
                .find(|p| p.exists())
                .expect("page next to its gold");
            let gold = read_json(&gold_path);
            let output = anubad(work.path())
                .arg("extract")
                .arg(&page)
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "{}: {}",
                page.display(),
                stderr(&output)
            );
            let got: Value = serde_json::from_slice(&output.stdout).unwrap();
            for key in ["title", "published", "source", "body"] {
                assert_eq!(got[key], gold[key], "{}: {key}", page.display());
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} gold pages");
}

#[test]
fn run_translates_only_the_story_of_an_html_page_and_keeps_its_metadata() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let page = root().join("tests/fixtures/html/jugantor.html");
    let output = run_articles(work.path(), &[&page], &out, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json = read_json(&out.join("jugantor.json"));
    let gold = read_json(&root().join("tests/fixtures/html/jugantor.gold.json"));
    assert_eq!(json["title"]["bn"], gold["title"]);
    assert_eq!(json["published"], gold["published"]);
    assert_eq!(json["source"], gold["source"]);
    let translated: Vec<String> = json["paragraphs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p.as_array()
                .unwrap()
                .iter()
                .map(|s| s["bn"].as_str().unwrap())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let body: Vec<String> = gold["body"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        translated, body,
        "exactly the story paragraphs are translated"
    );
    let digest = std::fs::read_to_string(out.join("digest.md")).unwrap();
    assert!(digest.contains("2025-06-02T18:45:00+06:00"), "{digest}");
}

#[test]
fn pages_without_a_story_fail_by_name() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let pages = root().join("tests/fixtures");
    let output = run_articles(
        work.path(),
        &[
            &pages.join("html/no-body.html"),
            &pages.join("html/boilerplate.html"),
            &pages.join("pages/allfurniture-section-index.txt"),
            &articles_dir().join("kim-troops.txt"),
        ],
        &out,
        &[],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    for (file, reason) in [
        ("no-body.html", "empty"),
        ("boilerplate.html", "no Bengali"),
        ("allfurniture-section-index.txt", "no story text"),
    ] {
        assert!(
            err.lines().any(|l| l.contains(file) && l.contains(reason)),
            "no line for {file} ({reason}) in:\n{err}"
        );
    }
    assert!(out.join("kim-troops.json").exists());
}

/// `--summarizer DIR` with a tiny random chat model (GGUF with its own
/// tokenizer and chat template, `tests/fixtures/chat-tiny`): its summaries
/// replace the extractive ones and the run reports the unfaithful count (its
/// noise carries no names or numbers, so none is flagged here; flagging is
/// tested with a scripted model in src/pipeline.rs); a re-run is served from
/// the caches; `--prompts` with an edited summary prompt re-summarizes
/// without re-translating.
#[test]
fn run_with_a_summarizer_writes_llm_summaries_and_flags_unfaithful_ones() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let chat = root().join("tests/fixtures/chat-tiny");
    let summarize = |extra: &[&str]| {
        let mut args = vec![
            "--summarizer",
            chat.to_str().unwrap(),
            "--summary-sentences",
            "2",
        ];
        args.extend_from_slice(extra);
        run_articles(work.path(), &[&articles_dir()], &out, &args)
    };
    let first = summarize(&[]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("unfaithful summaries"),
        "{}",
        stderr(&first)
    );
    let mut texts = Vec::new();
    for id in ["kim-troops", "lavrov-visit", "self-defence"] {
        let json = read_json(&out.join(format!("{id}.json")));
        assert_eq!(json["summary"]["method"], "llm", "{id}");
        texts.push(json["summary"]["text"].as_str().unwrap().to_string());
        let settings = &json["generation"]["summarizer"];
        assert_eq!(settings["sentences"], 2);
        assert!(settings["prompts"]["summarize"].is_string());
    }
    let digest = std::fs::read_to_string(out.join("digest.md")).unwrap();
    assert!(
        !digest.contains("extractive"),
        "digest labels LLM summaries: {digest}"
    );

    let again = summarize(&[]);
    assert!(again.status.success());
    assert!(
        stderr(&again).contains("3 articles ok (3 unchanged)"),
        "{}",
        stderr(&again)
    );

    let prompts = work.path().join("prompts");
    std::fs::create_dir_all(&prompts).unwrap();
    let builtin = std::fs::read_to_string(root().join("prompts/summarize.md.j2")).unwrap();
    std::fs::write(
        prompts.join("summarize.md.j2"),
        builtin + "\nUse plain words.\n",
    )
    .unwrap();
    let edited = summarize(&["--prompts", prompts.to_str().unwrap()]);
    assert!(edited.status.success(), "{}", stderr(&edited));
    let line = stderr(&edited);
    assert!(line.contains("(0 unchanged)"), "{line}");
    let (hits, misses) = last_run(work.path());
    assert_eq!(misses, 0, "translations came from the cache ({hits} hits)");
}

/// `--translator DIR` translates with a chat model (the tiny random one, so
/// the English is noise) a paragraph at a time: every article is written
/// with its paragraphs paired, the settings name the LLM engine and its
/// prompt, and a re-run of a changed output directory is served from the
/// cache without a model call. `translate --translator` keeps one output
/// line per input line.
#[test]
fn a_chat_model_can_translate_through_the_same_cache_and_outputs() {
    let work = tempfile::tempdir().unwrap();
    let chat = root().join("tests/fixtures/chat-tiny");
    let chat = chat.to_str().unwrap();
    let translate_into = |out: &Path| {
        let output = anubad(work.path())
            .arg("run")
            .arg(articles_dir())
            .arg("--out")
            .arg(out)
            .args(["--translator", chat, "--cache-dir"])
            .arg(work.path().join("cache"))
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
    };
    let out = work.path().join("out");
    translate_into(&out);
    for id in ["kim-troops", "lavrov-visit", "self-defence"] {
        let json = read_json(&out.join(format!("{id}.json")));
        assert_eq!(json["generation"]["engine"], "llm", "{id}");
        assert!(json["generation"]["prompt"].is_string(), "{id}");
        assert_eq!(json["model"]["name"], "chat-tiny", "{id}");
        let paragraphs = json["paragraphs"].as_array().unwrap();
        assert!(!paragraphs.is_empty(), "{id}");
        for pair in paragraphs.iter().flat_map(|p| p.as_array().unwrap()) {
            assert!(!pair["bn"].as_str().unwrap().is_empty(), "{id}: {pair}");
        }
    }
    let (_, first_misses) = last_run(work.path());
    assert!(first_misses > 0);

    let elsewhere = work.path().join("out2");
    translate_into(&elsewhere);
    assert_eq!(last_run(work.path()).1, 0, "every paragraph from the cache");
    assert_eq!(
        std::fs::read_to_string(out.join("kim-troops.md")).unwrap(),
        std::fs::read_to_string(elsewhere.join("kim-troops.md")).unwrap()
    );

    let mut translate = anubad(work.path());
    translate
        .args(["translate", "--translator", chat, "--cache-dir"])
        .arg(work.path().join("cache"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = translate.spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all("ঢাকায় বৃষ্টি হয়েছে।\n\nরাস্তায় পানি জমেছে। যান চলাচল বন্ধ।\n".as_bytes())
            .unwrap();
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let lines: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[1].is_empty(), "an empty line stays empty: {lines:?}");
}

/// A preset of the wrong kind is refused before anything is downloaded,
/// with the flag that takes it.
#[test]
fn chat_and_translation_presets_go_to_their_own_flags() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let output = anubad(work.path())
        .args(["run", "--out"])
        .arg(&out)
        .arg(articles_dir())
        .args(["--model", "qwen2.5-1.5b-instruct"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(
            "`qwen2.5-1.5b-instruct` is a chat model; pass it to --summarizer or --translator"
        ),
        "{}",
        stderr(&output)
    );
    let output = run_articles(
        work.path(),
        &[&articles_dir()],
        &out,
        &["--summarizer", "opus-mt-bn-en"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("`opus-mt-bn-en` is a translation model; pass it to --model"),
        "{}",
        stderr(&output)
    );
}

/// Whether `text` is exactly `count` of `sentences` joined by spaces, as an
/// extractive summary is.
fn made_of_sentences(text: &str, sentences: &[String], count: usize) -> bool {
    if count == 0 {
        return text.is_empty();
    }
    sentences.iter().any(|sentence| {
        text.strip_prefix(sentence.as_str())
            .is_some_and(|rest| match rest.strip_prefix(' ') {
                Some(rest) => made_of_sentences(rest, sentences, count - 1),
                None => rest.is_empty() && count == 1,
            })
    })
}

/// `--summary-sentences` sets the length of the extractive summary (the
/// one written without `--summarizer`), and a re-run with another length
/// rewrites the summaries of an output directory that is otherwise up to
/// date.
#[test]
fn summary_sentences_sets_the_extractive_summary_length() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let summaries_of = |length: usize| {
        let flag = length.to_string();
        let output = run_articles(
            work.path(),
            &[&articles_dir()],
            &out,
            &["--summary-sentences", &flag],
        );
        assert!(output.status.success(), "{}", stderr(&output));
        let mut long_enough = 0;
        for entry in std::fs::read_dir(&out).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") || path.ends_with("manifest.json") {
                continue;
            }
            let article = read_json(&path);
            let sentences: Vec<String> = article["paragraphs"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|p| p.as_array().unwrap())
                .map(|pair| pair["en"].as_str().unwrap().to_string())
                .collect();
            let summary = article["summary"]["text"].as_str().unwrap();
            let expected = length.min(sentences.len());
            assert!(
                made_of_sentences(summary, &sentences, expected),
                "{}: summary is not {expected} of its sentences: {summary}",
                path.display()
            );
            if sentences.len() > 3 {
                long_enough += 1;
            }
        }
        assert!(
            long_enough >= 2,
            "the fixtures are too short to tell lengths apart"
        );
    };
    summaries_of(3);
    summaries_of(1);
    summaries_of(2);
}

/// `anubad bench --model-dir` times a directory holding only what
/// `save_pretrained` writes (no tokenizer) on the ids it is given, as
/// scripts/bench_peers.py runs it.
#[test]
fn bench_times_a_model_directory_on_given_source_ids() {
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    let dir = work.join("model");
    std::fs::create_dir(&dir).unwrap();
    for name in ["config.json", "model.safetensors"] {
        std::fs::copy(model_dir().join(name), dir.join(name)).unwrap();
    }
    let ids = work.join("ids.txt");
    std::fs::write(&ids, "5 6 7 0\n8 9 10 11 12 0\n7 7 0\n").unwrap();
    let output = anubad(work)
        .arg("bench")
        .arg("--model-dir")
        .arg(&dir)
        .arg("--source-ids")
        .arg(&ids)
        .args([
            "--batch-sizes",
            "1,2",
            "--beams",
            "2",
            "--output-tokens",
            "5",
        ])
        .args(["--threads", "1"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let first = stdout.lines().next().unwrap();
    assert!(first.contains(&dir.display().to_string()), "{first}");
    assert!(first.contains("3 sentences of 3–6 tokens"), "{first}");
    assert!(first.contains("5 output tokens each, beams 2"), "{first}");
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("| 1 |") || l.starts_with("| 2 |"))
        .collect();
    assert_eq!(rows.len(), 2, "{stdout}");

    std::fs::write(&ids, "5 6 100000\n").unwrap();
    let output = anubad(work)
        .arg("bench")
        .arg("--model-dir")
        .arg(&dir)
        .arg("--source-ids")
        .arg(&ids)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("outside the model's vocabulary"));
}
