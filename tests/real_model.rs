//! Smoke tests with real preset weights from the Hugging Face hub (or its
//! cache). Ignored by default because they download: opus-mt-bn-en ~300 MB,
//! nllb-200-distilled-600M 2.5 GB, banglat5-nmt-bn-en ~1 GB,
//! madlad400-3b-mt-q4k 1.7 GB. Run one or all with
//!
//!     cargo test --release --test real_model -- --ignored [name]
//!
//! They check what a user would check first: every Bengali line comes back
//! as one line of English, and a well-known name survives.

use std::io::Write;
use std::process::{Command, Stdio};

fn translates_bengali_news_into_english(model: &str, extra: &[&str]) {
    let cache = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_anubad"))
        .args(["translate", "--model", model, "--cache-dir"])
        .arg(cache.path())
        .args(extra)
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
    translates_bengali_news_into_english("opus-mt-bn-en", &[]);
}

#[test]
#[ignore = "downloads nllb-200-distilled-600M (2.5 GB); run with --ignored"]
fn nllb_600m_translates_bengali_news_into_english() {
    translates_bengali_news_into_english("nllb-200-distilled-600M", &[]);
    translates_bengali_news_into_english("nllb-200-distilled-600M", &["--quantize", "q8_0"]);
}

#[test]
#[ignore = "downloads banglat5-nmt-bn-en (~1 GB); run with --ignored"]
fn banglat5_translates_bengali_news_into_english() {
    translates_bengali_news_into_english("banglat5-nmt-bn-en", &[]);
}

#[test]
#[ignore = "downloads madlad400-3b-mt-q4k (1.7 GB); run with --ignored"]
fn madlad_q4k_translates_bengali_news_into_english() {
    translates_bengali_news_into_english("madlad400-3b-mt-q4k", &[]);
}
