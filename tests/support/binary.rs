//! What the binary-driving test files share: the repository's fixtures and
//! the `anubad` binary with a private, offline Hugging Face cache.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn model_dir() -> PathBuf {
    root().join("tests/fixtures/marian-tiny")
}

pub fn articles_dir() -> PathBuf {
    root().join("tests/fixtures/articles")
}

/// The binary with a private HF cache, so nothing outside the test is used.
pub fn anubad(work: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_anubad"));
    command
        .env("HF_HOME", work.join("hf"))
        .env("HF_HUB_OFFLINE", "1")
        .env_remove("HF_ENDPOINT")
        // A cache chosen in the developer's shell would replace the test's.
        .env_remove("ANUBAD_CACHE")
        .stdin(Stdio::null());
    command
}

/// `anubad run INPUTS --out OUT` on the fixture model with the work cache.
pub fn run_command(work: &Path, inputs: &[&Path], out: &Path, extra: &[&str]) -> Command {
    let mut command = anubad(work);
    command.arg("run");
    command.args(inputs);
    command
        .arg("--out")
        .arg(out)
        .arg("--model")
        .arg(model_dir())
        .arg("--cache-dir")
        .arg(work.join("cache"))
        .args(extra);
    command
}

/// [`run_command`], run to the end.
pub fn run_articles(work: &Path, inputs: &[&Path], out: &Path, extra: &[&str]) -> Output {
    run_command(work, inputs, out, extra)
        .output()
        .expect("binary runs")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("file exists")).expect("JSON")
}

/// 40 articles of 6 sentences in `work/in`, so that a run with
/// `--batch-size 1` is still going when a test interrupts it.
pub fn many_articles(work: &Path) -> std::path::PathBuf {
    let inputs = work.join("in");
    std::fs::create_dir(&inputs).unwrap();
    let sentences = [
        "উত্তর কোরিয়া রাশিয়ায় সেনা পাঠিয়েছে।",
        "কিম জং উন পুতিনের সঙ্গে বৈঠক করেছেন।",
        "লাভরভ পিয়ংইয়ং সফর করেছেন।",
        "কুরস্ক অঞ্চলে লড়াই চলছে।",
    ];
    for i in 0..40 {
        let body: String = (0..6)
            .map(|j| format!("{} {} নম্বর খবর।\n", sentences[(i + j) % 4], i * 6 + j))
            .collect();
        std::fs::write(
            inputs.join(format!("n{i:02}.txt")),
            format!("শিরোনাম {i}\n\n{body}"),
        )
        .unwrap();
    }
    inputs
}
