//! The command line's conventions, driven through the real binary on the
//! committed fixtures: inputs and flags checked before a model loads, with
//! exit code 2 and one line; models named as users name them (`.gguf`
//! files, `ANUBAD_MODEL`); `translate` as a filter (stdin, JSON Lines,
//! `-o`); shell completions; `--limit` and `--exclude`; a closing line whose
//! numbers add up, and the same facts as JSON.

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

use serde_json::Value;

#[path = "support/binary.rs"]
mod binary;
use binary::{anubad, articles_dir, model_dir, root, run_command, stderr, stdout};

/// A usage or configuration error: exit 2, and no backtrace or panic.
fn assert_usage_error(output: &Output) -> String {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    err
}

#[test]
fn a_missing_input_is_exit_2_before_the_model_loads_and_creates_nothing() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    // The model does not exist either: the input is checked first.
    let output = anubad(work.path())
        .args(["run", "no-such-folder", "--out"])
        .arg(&out)
        .args(["--model", "no-such-model-dir/"])
        .output()
        .unwrap();
    let err = assert_usage_error(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("no-such-folder: no such file or directory"),
        "{err}"
    );
    assert!(!out.exists(), "--out was created");
}

#[test]
fn a_folder_without_articles_is_exit_2_and_verbose_lists_what_was_passed_over() {
    let work = tempfile::tempdir().unwrap();
    let inputs = work.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    std::fs::write(inputs.join("README.md"), "# Articles of December\n").unwrap();
    std::fs::write(inputs.join("notes.pdf"), b"%PDF-1.4").unwrap();
    let out = work.path().join("out");
    let output = run_command(work.path(), &[&inputs], &out, &["-v"])
        .output()
        .unwrap();
    let err = assert_usage_error(&output);
    assert!(err.contains("no articles to read in"), "{err}");
    assert!(
        err.lines()
            .any(|l| l.contains("README.md") && l.contains("not an article")),
        "{err}"
    );
    assert!(
        err.lines()
            .any(|l| l.contains("notes.pdf") && l.contains("not an article")),
        "{err}"
    );
    assert!(!out.exists(), "--out was created");
    assert!(!out.join("digest.md").exists());
}

#[test]
fn counts_of_zero_and_a_max_length_below_2_are_usage_errors() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    for flags in [
        ["--max-length", "0"],
        ["--max-length", "1"],
        ["--batch-size", "0"],
        ["--threads", "0"],
        ["--beams", "0"],
        ["--limit", "0"],
    ] {
        let output = run_command(work.path(), &[&articles_dir()], &out, &flags)
            .output()
            .unwrap();
        let err = assert_usage_error(&output);
        assert!(err.contains(flags[0]), "{flags:?}: {err}");
        assert!(!out.exists(), "{flags:?} created --out");
    }
}

#[test]
fn out_naming_a_file_is_a_usage_error() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out.txt");
    std::fs::write(&out, "keep me").unwrap();
    let output = run_command(work.path(), &[&articles_dir()], &out, &[])
        .output()
        .unwrap();
    let err = assert_usage_error(&output);
    assert!(err.contains("is a file, not a folder"), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep me");
}

#[test]
fn the_default_model_unreachable_names_the_flag_and_each_cause_once() {
    let work = tempfile::tempdir().unwrap();
    // A closed loopback port: the hub cannot be reached.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = anubad(work.path())
        .args(["translate"])
        .env_remove("HF_HUB_OFFLINE")
        .env("HF_ENDPOINT", format!("http://127.0.0.1:{port}"))
        .output()
        .unwrap();
    let err = assert_usage_error(&output);
    assert!(err.contains("--model ./opus-mt-bn-en"), "{err}");
    let lines: Vec<&str> = err.lines().map(str::trim).collect();
    for (i, line) in lines.iter().enumerate() {
        assert!(!lines[..i].contains(line), "printed twice: {line}\n{err}");
    }
}

#[test]
fn a_device_this_build_lacks_names_the_feature_to_build_with() {
    if cfg!(feature = "cuda") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let output = anubad(work.path())
        .args(["translate", "--device", "cuda", "--model"])
        .arg(model_dir())
        .output()
        .unwrap();
    let err = assert_usage_error(&output);
    assert!(err.contains("--features cuda"), "{err}");
}

#[test]
fn a_chat_model_given_to_model_points_to_the_chat_flags() {
    let work = tempfile::tempdir().unwrap();
    let chat = root().join("tests/fixtures/chat-tiny");
    for spec in [chat.clone(), chat.join("model.gguf")] {
        let output = anubad(work.path())
            .args(["translate", "--model"])
            .arg(&spec)
            .output()
            .unwrap();
        let err = assert_usage_error(&output);
        assert!(err.contains("--summarizer or --translator"), "{err}");
    }
}

#[test]
fn a_gguf_file_is_a_model_as_its_folder_is() {
    let work = tempfile::tempdir().unwrap();
    let quantized = work.path().join("marian-q8");
    let output = anubad(work.path())
        .args(["models", "quantize"])
        .arg(model_dir())
        .arg("--out")
        .arg(&quantized)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    // A second .gguf beside it: a folder would be ambiguous, the file is not.
    std::fs::write(quantized.join("other.gguf"), b"GGUF").unwrap();
    let file = quantized.join("model-q8_0.gguf");
    assert!(file.is_file());
    let translate = |model: &Path| {
        let mut child = anubad(work.path())
            .args(["translate", "--no-cache", "--model"])
            .arg(model)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A command refused before it reads its input (exit 2) may close
        // the pipe before this is written: that is not the test's failure.
        let _ = child
            .stdin
            .take()
            .unwrap()
            .write_all("ঢাকায় বৃষ্টি হয়েছে।\nকিম রাশিয়া সফর করেছেন।\n".as_bytes());
        child.wait_with_output().unwrap()
    };
    let by_file = translate(&file);
    assert!(by_file.status.success(), "{}", stderr(&by_file));
    assert_eq!(stdout(&by_file).lines().count(), 2);
    let folder = translate(&quantized);
    assert_eq!(
        folder.status.code(),
        Some(2),
        "two .gguf files in the folder"
    );
    std::fs::remove_file(quantized.join("other.gguf")).unwrap();
    let folder = translate(&quantized);
    assert!(folder.status.success(), "{}", stderr(&folder));
    assert_eq!(stdout(&folder), stdout(&by_file));
}

#[test]
fn a_gguf_file_is_a_summarizer() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let article = articles_dir().join("kim-troops.txt");
    let output = run_command(
        work.path(),
        &[&article],
        &out,
        &[
            "--summarizer",
            root()
                .join("tests/fixtures/chat-tiny/model.gguf")
                .to_str()
                .unwrap(),
        ],
    )
    .output()
    .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("kim-troops.json")).unwrap())
            .unwrap();
    assert_eq!(json["summary"]["method"], "llm", "{json}");
}

#[test]
fn anubad_model_sets_the_default_model_and_help_says_so() {
    let work = tempfile::tempdir().unwrap();
    let help = anubad(work.path())
        .args(["run", "--help"])
        .output()
        .unwrap();
    let help = stdout(&help);
    assert!(help.contains("ANUBAD_MODEL"), "{help}");
    assert!(help.contains("ANUBAD_SUMMARIZER"), "{help}");
    let out = work.path().join("out");
    let output = anubad(work.path())
        .arg("run")
        .arg(articles_dir().join("kim-troops.txt"))
        .arg("--out")
        .arg(&out)
        .arg("--cache-dir")
        .arg(work.path().join("cache"))
        .env("ANUBAD_MODEL", model_dir())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("kim-troops.json")).unwrap())
            .unwrap();
    assert_eq!(json["model"]["name"], "marian-tiny");
    // The flag wins over the variable.
    let output = anubad(work.path())
        .args(["translate", "--model"])
        .arg(model_dir())
        .env("ANUBAD_MODEL", "no-such-model-dir/")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn models_info_describes_a_preset_offline_and_list_has_json() {
    let work = tempfile::tempdir().unwrap();
    let info = anubad(work.path())
        .args(["models", "info", "nllb-200-distilled-600M", "--offline"])
        .output()
        .unwrap();
    assert!(info.status.success(), "{}", stderr(&info));
    let text = stdout(&info);
    assert!(text.contains("facebook/nllb-200-distilled-600M@"), "{text}");
    assert!(text.contains("CC-BY-NC-4.0"), "{text}");
    assert!(text.contains("not downloaded"), "{text}");

    let list = anubad(work.path())
        .args(["models", "list", "--json"])
        .output()
        .unwrap();
    assert!(list.status.success(), "{}", stderr(&list));
    let records: Vec<Value> = stdout(&list)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let defaults: Vec<&Value> = records.iter().filter(|r| r["default"] == true).collect();
    assert_eq!(defaults.len(), 1);
    assert_eq!(defaults[0]["name"], "opus-mt-bn-en");
    assert!(records.iter().all(|r| r["licence"].is_string()));
    let table = anubad(work.path())
        .args(["models", "list"])
        .output()
        .unwrap();
    assert!(
        stdout(&table)
            .lines()
            .any(|l| l.starts_with("opus-mt-bn-en *")),
        "{}",
        stdout(&table)
    );
}

#[test]
fn every_offline_flag_has_help() {
    let work = tempfile::tempdir().unwrap();
    // `-h` puts each flag's help on its line.
    for command in [
        &["run", "-h"][..],
        &["translate", "-h"],
        &["models", "pull", "-h"],
        &["models", "info", "-h"],
        &["models", "quantize", "-h"],
    ] {
        let help = stdout(&anubad(work.path()).args(command).output().unwrap());
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with("--offline"))
            .unwrap_or_else(|| panic!("{command:?}: {help}"));
        assert!(
            line.split("--offline").nth(1).unwrap().trim().len() > 10,
            "{line}"
        );
    }
}

#[test]
fn cache_stats_creates_nothing() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("never-made");
    let output = anubad(work.path())
        .args(["cache", "stats", "--cache-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("entries: 0"));
    assert!(!dir.exists());
}

fn translate_stdin(work: &Path, args: &[&str], input: &str) -> Output {
    let mut child = anubad(work)
        .arg("translate")
        .args(args)
        .arg("--model")
        .arg(model_dir())
        .arg("--cache-dir")
        .arg(work.join("cache"))
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

#[test]
fn translate_reads_stdin_as_dash_and_writes_jsonl_records_or_a_file() {
    let work = tempfile::tempdir().unwrap();
    let lines = "ঢাকায় বৃষ্টি হয়েছে।\n\nকিম রাশিয়া সফর করেছেন।\n";
    let plain = translate_stdin(work.path(), &[], lines);
    assert!(plain.status.success(), "{}", stderr(&plain));
    let dash = translate_stdin(work.path(), &["-"], lines);
    assert!(dash.status.success(), "{}", stderr(&dash));
    assert_eq!(stdout(&dash), stdout(&plain));
    let english: Vec<String> = stdout(&plain).lines().map(str::to_string).collect();
    assert_eq!(english.len(), 3);
    assert_eq!(english[1], "");

    let records = "{\"id\": \"a-1\", \"text\": \"ঢাকায় বৃষ্টি হয়েছে।\"}\n\
                   {\"id\": 7, \"text\": \"কিম রাশিয়া সফর করেছেন।\"}\n";
    let output_file = work.path().join("english.jsonl");
    let jsonl = translate_stdin(
        work.path(),
        &["--format", "jsonl", "-o", output_file.to_str().unwrap()],
        records,
    );
    assert!(jsonl.status.success(), "{}", stderr(&jsonl));
    assert_eq!(stdout(&jsonl), "", "-o writes the file, not stdout");
    let written: Vec<Value> = std::fs::read_to_string(&output_file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(written.len(), 2);
    assert_eq!(written[0]["id"], "a-1");
    assert_eq!(written[1]["id"], 7);
    assert_eq!(written[0]["text"], "ঢাকায় বৃষ্টি হয়েছে।");
    assert_eq!(written[0]["translation"], english[0].as_str());
    assert_eq!(written[1]["translation"], english[2].as_str());
    // Both sentences were translated by the runs before.
    assert_eq!(written[0]["cache_hit"], true);
    assert!(written[0]["warnings"].is_array());
    // --output-format is the same flag.
    let alias = translate_stdin(work.path(), &["--output-format", "jsonl"], records);
    assert!(alias.status.success(), "{}", stderr(&alias));
    assert_eq!(
        stdout(&alias),
        std::fs::read_to_string(&output_file).unwrap()
    );
    // A broken record is named by line; the others are still translated.
    let broken = translate_stdin(
        work.path(),
        &["--format", "jsonl"],
        "{\"id\": 1}\n{\"id\": 2, \"text\": \"কিম রাশিয়া সফর করেছেন।\"}\n",
    );
    assert_eq!(broken.status.code(), Some(1));
    assert!(stderr(&broken).contains("stdin:1:"), "{}", stderr(&broken));
    assert_eq!(stdout(&broken).lines().count(), 1);
    let help = stdout(
        &anubad(work.path())
            .args(["translate", "--help"])
            .output()
            .unwrap(),
    );
    assert!(help.contains("256 at a time"), "{help}");
}

#[test]
fn completions_are_printed_for_each_shell() {
    let work = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let output = anubad(work.path())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(output.status.success(), "{shell}: {}", stderr(&output));
        let script = stdout(&output);
        assert!(script.contains("anubad"), "{shell}");
        assert!(
            script.contains("summarizer"),
            "{shell}: flags are completed"
        );
    }
}

#[test]
fn limit_and_exclude_choose_a_sample() {
    let work = tempfile::tempdir().unwrap();
    let inputs = work.path().join("in");
    std::fs::create_dir_all(inputs.join("drafts")).unwrap();
    for name in ["kim-troops.txt", "lavrov-visit.md", "self-defence.txt"] {
        std::fs::copy(articles_dir().join(name), inputs.join(name)).unwrap();
    }
    std::fs::copy(
        articles_dir().join("kim-troops.txt"),
        inputs.join("drafts/draft.txt"),
    )
    .unwrap();
    let ids = |out: &Path| {
        let mut ids: Vec<String> = std::fs::read_dir(out)
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().to_string_lossy().into_owned();
                name.strip_suffix(".json")
                    .filter(|id| *id != "manifest")
                    .map(str::to_string)
            })
            .collect();
        ids.sort();
        ids
    };
    let out = work.path().join("out-excluded");
    let output = run_command(
        work.path(),
        &[&inputs],
        &out,
        &["--exclude", "drafts", "--exclude", "*.md", "-v"],
    )
    .output()
    .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(ids(&out), ["kim-troops", "self-defence"]);
    assert!(
        stderr(&output).contains("--exclude drafts"),
        "{}",
        stderr(&output)
    );

    let out = work.path().join("out-limited");
    let output = run_command(work.path(), &[&inputs], &out, &["--limit", "2"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    // Folders are read in path order: drafts/draft.txt comes first.
    assert_eq!(ids(&out), ["draft", "kim-troops"]);

    let bad = run_command(work.path(), &[&inputs], &out, &["--exclude", "a[b"])
        .output()
        .unwrap();
    let err = assert_usage_error(&bad);
    assert!(err.contains("--exclude a[b"), "{err}");
}

#[test]
fn the_closing_line_adds_up_and_json_summary_says_the_same() {
    let work = tempfile::tempdir().unwrap();
    let inputs = work.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    for name in ["kim-troops.txt", "lavrov-visit.md"] {
        std::fs::copy(articles_dir().join(name), inputs.join(name)).unwrap();
    }
    let out = work.path().join("out");
    let summary_file = work.path().join("summary.json");
    let summary_arg = summary_file.to_str().unwrap().to_string();
    let first = run_command(
        work.path(),
        &[&inputs],
        &out,
        &["--json-summary", &summary_arg],
    )
    .output()
    .unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    let first_summary: Value =
        serde_json::from_str(&std::fs::read_to_string(&summary_file).unwrap()).unwrap();
    // A third article, one of them repeated from before: some sentences
    // come from the cache, two articles are unchanged.
    std::fs::copy(
        articles_dir().join("self-defence.txt"),
        inputs.join("self-defence.txt"),
    )
    .unwrap();
    let second = run_command(work.path(), &[&inputs], &out, &["--json-summary", "-"])
        .output()
        .unwrap();
    assert!(second.status.success(), "{}", stderr(&second));
    let summary: Value = serde_json::from_str(&stdout(&second)).unwrap();
    for summary in [&first_summary, &summary] {
        let sentences = &summary["sentences"];
        let parts: u64 = ["translated", "cached", "unchanged"]
            .iter()
            .map(|k| sentences[k].as_u64().unwrap())
            .sum();
        assert_eq!(sentences["total"].as_u64().unwrap(), parts, "{summary}");
    }
    assert_eq!(first_summary["sentences"]["unchanged"], 0);
    assert_eq!(summary["articles"]["ok"], 3);
    assert_eq!(summary["articles"]["unchanged"], 2);
    assert!(summary["sentences"]["unchanged"].as_u64().unwrap() > 0);
    assert_eq!(summary["interrupted"], false);
    // The closing line says the same numbers.
    let line = stderr(&second);
    let line = line.lines().last().unwrap();
    let sentences = &summary["sentences"];
    let expected = format!(
        "{} sentences: {} translated, {} from the cache, {} unchanged",
        sentences["total"], sentences["translated"], sentences["cached"], sentences["unchanged"]
    );
    assert!(line.contains(&expected), "{line}\nexpected: {expected}");
    assert!(
        line.contains("3 articles ok (2 unchanged), 0 failed"),
        "{line}"
    );
}

#[test]
fn a_summarizer_run_says_where_the_time_goes_and_estimates_the_rest_early() {
    let work = tempfile::tempdir().unwrap();
    let inputs = work.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    for entry in std::fs::read_dir(articles_dir()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, inputs.join(path.file_name().unwrap())).unwrap();
    }
    std::fs::copy(
        articles_dir().join("kim-troops.txt"),
        inputs.join("kim-troops-again.txt"),
    )
    .unwrap();
    let chat = root().join("tests/fixtures/chat-tiny/model.gguf");
    let out = work.path().join("out");
    let output = run_command(
        work.path(),
        &[&inputs],
        &out,
        &[
            "--summarizer",
            chat.to_str().unwrap(),
            "--json-summary",
            "-",
        ],
    )
    .output()
    .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let err = stderr(&output);
    // After three of the four articles: an estimate for the last one.
    assert!(
        err.lines()
            .any(|l| l.starts_with("note: summaries take") && l.contains("for the 1 left")),
        "{err}"
    );
    let closing = err.lines().last().unwrap();
    assert!(
        closing.contains("(translating ") && closing.contains(", summarizing "),
        "{closing}"
    );
    let summary: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert!(
        summary["seconds_summarizing"].as_f64().unwrap() > 0.0,
        "{summary}"
    );
    assert!(summary["seconds_translating"].as_f64().is_some());
}
