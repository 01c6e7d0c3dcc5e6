//! Smoke tests with real preset weights from the Hugging Face hub (or its
//! cache). Ignored by default because they download: opus-mt-bn-en ~300 MB,
//! nllb-200-distilled-600M 2.5 GB, banglat5-nmt-bn-en ~1 GB,
//! madlad400-3b-mt-q4k 1.7 GB, qwen2.5-1.5b-instruct 1.1 GB. Run one or all
//! with
//!
//!     cargo test --release --test real_model -- --ignored [name]
//!
//! They check what a user would check first: every Bengali line comes back
//! as one line of English, and a well-known name survives.

use std::io::Write;
use std::process::{Command, Stdio};

/// `model` is the flags choosing the model (`--model NAME ...` or
/// `--translator NAME`).
fn translates_bengali_news_into_english(model: &[&str]) {
    let cache = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_anubad"))
        .args(["translate", "--cache-dir"])
        .arg(cache.path())
        .args(model)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let input = "উত্তর কোরিয়ার নেতা কিম জং উন রাশিয়া সফর করেছেন।\n\nঢাকায় আজ ভারী বৃষ্টি হয়েছে।\n";
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let model = model.join(" ");
    assert!(output.status.success(), "{model}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{model}: {stdout}");
    assert!(lines[0].contains("Kim"), "{model}: {stdout}");
    assert_eq!(lines[1], "");
    for line in [lines[0], lines[2]] {
        let ascii = line.chars().filter(char::is_ascii_alphabetic).count();
        assert!(
            ascii * 2 > line.chars().count(),
            "{model}: not English: {line}"
        );
    }
}

#[test]
#[ignore = "downloads opus-mt-bn-en (~300 MB); run with --ignored"]
fn opus_mt_bn_en_translates_bengali_news_into_english() {
    translates_bengali_news_into_english(&["--model", "opus-mt-bn-en"]);
}

#[test]
#[ignore = "downloads nllb-200-distilled-600M (2.5 GB); run with --ignored"]
fn nllb_600m_translates_bengali_news_into_english() {
    translates_bengali_news_into_english(&["--model", "nllb-200-distilled-600M"]);
    translates_bengali_news_into_english(&[
        "--model",
        "nllb-200-distilled-600M",
        "--quantize",
        "q8_0",
    ]);
}

#[test]
#[ignore = "downloads banglat5-nmt-bn-en (~1 GB); run with --ignored"]
fn banglat5_translates_bengali_news_into_english() {
    translates_bengali_news_into_english(&["--model", "banglat5-nmt-bn-en"]);
}

#[test]
#[ignore = "downloads madlad400-3b-mt-q4k (1.7 GB); run with --ignored"]
fn madlad_q4k_translates_bengali_news_into_english() {
    translates_bengali_news_into_english(&["--model", "madlad400-3b-mt-q4k"]);
}

#[test]
#[ignore = "downloads qwen2.5-1.5b-instruct (1.1 GB); run with --ignored"]
fn qwen_translates_bengali_news_into_english() {
    translates_bengali_news_into_english(&["--translator", "qwen2.5-1.5b-instruct"]);
}

/// The fixture articles summarized by the real chat model: every summary is
/// the model's, in English, and no longer than asked.
#[test]
#[ignore = "downloads opus-mt-bn-en and qwen2.5-1.5b-instruct (1.4 GB); run with --ignored"]
fn qwen_summarizes_the_fixture_articles_in_english() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let articles = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/articles");
    let output = Command::new(env!("CARGO_BIN_EXE_anubad"))
        .arg("run")
        .arg(&articles)
        .arg("--out")
        .arg(&out)
        .arg("--cache-dir")
        .arg(work.path().join("cache"))
        .args([
            "--summarizer",
            "qwen2.5-1.5b-instruct",
            "--summary-sentences",
            "3",
        ])
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(output.status.success());
    for id in ["kim-troops", "lavrov-visit", "self-defence"] {
        let text = std::fs::read_to_string(out.join(format!("{id}.json"))).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["summary"]["method"], "llm", "{id}");
        let summary = json["summary"]["text"].as_str().unwrap();
        let ascii = summary.chars().filter(char::is_ascii_alphabetic).count();
        assert!(
            ascii * 2 > summary.chars().count(),
            "{id}: not English: {summary}"
        );
        let sentences = summary.matches(['.', '!', '?']).count();
        assert!((1..=4).contains(&sentences), "{id}: {summary}");
    }
}
