//! Smoke test with the real opus-mt-bn-en weights (about 300 MB from the
//! Hugging Face hub, or already in its cache). Ignored by default because it
//! needs the network once; run it with
//!
//!     cargo test --release --test real_model -- --ignored
//!
//! It checks what a user would check first: every Bengali line comes back as
//! one line of English, and a well-known name survives.

use std::io::Write;
use std::process::{Command, Stdio};

#[test]
#[ignore = "downloads opus-mt-bn-en (~300 MB); run with --ignored"]
fn opus_mt_bn_en_translates_bengali_news_into_english() {
    let cache = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_anubad"))
        .args(["translate", "--model", "opus-mt-bn-en", "--cache-dir"])
        .arg(cache.path())
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
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].contains("Kim"), "{stdout}");
    assert_eq!(lines[1], "");
    for line in [lines[0], lines[2]] {
        let ascii = line.chars().filter(char::is_ascii_alphabetic).count();
        assert!(ascii * 2 > line.chars().count(), "not English: {line}");
    }
}
