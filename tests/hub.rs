//! The real `resolve()` against a loopback fake hub: downloads, cache hits,
//! offline mode, a server that goes away, missing files, resumed downloads.
//! Each test has its own HF home and hub and passes both explicitly, so the
//! tests share no environment variables and may run in parallel.

#[path = "support/fake_hub.rs"]
mod fake_hub;

use std::error::Error as _;
use std::fs;
use std::path::{Path, PathBuf};

use anubad::models::{
    find_preset, is_downloaded_in, resolve, ResolveError, ResolveOptions, TokenizerFiles,
    WeightFiles,
};
use fake_hub::{proxy_in_environment, FakeHub};
use sha2::{Digest, Sha256};

const REPO: &str = "owner/tiny";
const MARIAN_TINY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/marian-tiny");

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::create_dir_all(dir).expect("dir");
    fs::write(dir.join(name), bytes).expect("write");
}

/// Weights big enough to need several reads and to be cut part-way.
fn weight_bytes(seed: u8) -> Vec<u8> {
    (0..300_000u32)
        .map(|i| (i.wrapping_mul(31) as u8) ^ seed)
        .collect()
}

/// A Marian-shaped repo with safetensors weights.
fn tiny_repo(dir: &Path) {
    write(
        dir,
        "config.json",
        br#"{"model_type":"marian","d_model":16,"encoder_layers":1,"decoder_layers":1,"vocab_size":64}"#,
    );
    write(dir, "generation_config.json", br#"{"num_beams":4}"#);
    write(dir, "model.safetensors", &weight_bytes(7));
    write(dir, "source.spm", b"source sentencepiece model");
    write(dir, "target.spm", b"target sentencepiece model");
    write(dir, "vocab.json", br#"{"<pad>":0,"</s>":1}"#);
    write(dir, "tokenizer_config.json", br#"{"source_lang":"ben"}"#);
}

/// hf-hub would send loopback requests to a proxy set in the environment.
fn proxy_forces_skip() -> bool {
    match proxy_in_environment() {
        Some(name) => {
            eprintln!("SKIPPED: {name} is set and hf-hub (ureq 2) ignores NO_PROXY");
            true
        }
        None => false,
    }
}

struct Setup {
    _repo_dir: tempfile::TempDir,
    repo_path: PathBuf,
    hf_home: tempfile::TempDir,
}

fn setup(fill: impl FnOnce(&Path)) -> Setup {
    let repo_dir = tempfile::tempdir().expect("repo dir");
    fill(repo_dir.path());
    Setup {
        repo_path: repo_dir.path().to_path_buf(),
        _repo_dir: repo_dir,
        hf_home: tempfile::tempdir().expect("hf home"),
    }
}

fn options(endpoint: &str, hf_home: &Path) -> ResolveOptions {
    ResolveOptions {
        endpoint: Some(endpoint.to_string()),
        hf_home: Some(hf_home.to_path_buf()),
        ..ResolveOptions::default()
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn assert_same_bytes(served_dir: &Path, name: &str, resolved: &Path) {
    let served = fs::read(served_dir.join(name)).expect("served file");
    let got = fs::read(resolved).expect("resolved file");
    assert_eq!(served, got, "{name} differs from what the hub served");
}

#[test]
fn download_then_cache_hit_then_offline() {
    if proxy_forces_skip() {
        return;
    }
    let s = setup(tiny_repo);
    let mut hub = FakeHub::serve(REPO, &s.repo_path).expect("hub");
    let opts = options(hub.endpoint(), s.hf_home.path());

    let first = resolve(REPO, &opts).expect("first download");
    let commit = hub.commit().to_string();
    let snapshot = s
        .hf_home
        .path()
        .join("hub/models--owner--tiny/snapshots")
        .join(&commit);
    assert_eq!(first.dir, snapshot);
    assert_eq!(first.identity, format!("{REPO}@{commit}"));
    assert_eq!(first.revision.as_deref(), Some(commit.as_str()));
    let mut downloaded = first.downloaded.clone();
    downloaded.sort();
    assert_eq!(
        downloaded,
        vec![
            "config.json",
            "generation_config.json",
            "model.safetensors",
            "source.spm",
            "target.spm",
            "tokenizer_config.json",
            "vocab.json"
        ]
    );
    match &first.layout.weights {
        WeightFiles::Safetensors {
            index: None,
            shards,
        } => {
            assert_same_bytes(&s.repo_path, "model.safetensors", &shards[0]);
        }
        other => panic!("unexpected weights {other:?}"),
    }
    match &first.layout.tokenizer {
        TokenizerFiles::Marian {
            source_spm, vocab, ..
        } => {
            assert_same_bytes(&s.repo_path, "source.spm", source_spm);
            assert_same_bytes(&s.repo_path, "vocab.json", vocab);
        }
        other => panic!("unexpected tokenizer {other:?}"),
    }

    // The cache is laid out as the Python client lays it out: a ref for the
    // branch, LFS blobs named by their sha256, snapshot entries as symlinks.
    let repo_cache = s.hf_home.path().join("hub/models--owner--tiny");
    assert_eq!(
        fs::read_to_string(repo_cache.join("refs/main")).expect("ref"),
        commit
    );
    let weights_sha = sha256_hex(&fs::read(s.repo_path.join("model.safetensors")).expect("w"));
    assert!(repo_cache.join("blobs").join(&weights_sha).is_file());
    assert!(fs::symlink_metadata(snapshot.join("model.safetensors"))
        .expect("link")
        .file_type()
        .is_symlink());

    // Only config.json is asked for by branch name; once the hub has named
    // the commit, every other file is fetched at that commit.
    let resolve_paths: Vec<String> = hub
        .requests()
        .into_iter()
        .map(|r| r.path)
        .filter(|p| p.contains("/resolve/"))
        .collect();
    // (hf-hub sends two requests per file: a `bytes=0-0` probe, then the body.)
    for path in &resolve_paths {
        if path.ends_with("/config.json") {
            assert!(path.ends_with("/resolve/main/config.json"), "{path}");
        } else {
            assert!(path.contains(&format!("/resolve/{commit}/")), "{path}");
        }
    }

    let before = hub.request_count();
    let second = resolve(REPO, &opts).expect("cache hit");
    assert_eq!(
        hub.request_count(),
        before,
        "a cache hit must not touch the hub"
    );
    assert!(second.downloaded.is_empty());
    assert_eq!(second.identity, first.identity);
    assert_eq!(second.dir, first.dir);

    hub.shutdown();
    let offline = ResolveOptions {
        offline: true,
        ..opts.clone()
    };
    let third = resolve(REPO, &offline).expect("offline from cache");
    assert_eq!(third.identity, first.identity);
    // Cache first also means a complete model needs no hub even when online.
    let fourth = resolve(REPO, &opts).expect("online, hub down, cache complete");
    assert_eq!(fourth.identity, first.identity);
}

#[test]
fn offline_without_cache_fails_with_instructions() {
    if proxy_forces_skip() {
        return;
    }
    let s = setup(tiny_repo);
    let hub = FakeHub::serve(REPO, &s.repo_path).expect("hub");
    let opts = ResolveOptions {
        offline: true,
        ..options(hub.endpoint(), s.hf_home.path())
    };
    let err = resolve(REPO, &opts).expect_err("nothing cached");
    let message = err.to_string();
    assert!(matches!(err, ResolveError::NotCached { .. }), "{message}");
    assert!(message.contains("owner/tiny@main"), "{message}");
    assert!(
        message.contains("huggingface-cli download owner/tiny --revision main"),
        "{message}"
    );
    assert!(message.contains("run with `--model ./tiny`"), "{message}");
    assert_eq!(hub.request_count(), 0, "offline must not send requests");
}

#[test]
fn unreachable_hub_is_reported_with_a_way_out() {
    if proxy_forces_skip() {
        return;
    }
    let s = setup(tiny_repo);
    let mut hub = FakeHub::serve(REPO, &s.repo_path).expect("hub");
    let endpoint = hub.endpoint().to_string();
    hub.shutdown();
    let err = resolve(REPO, &options(&endpoint, s.hf_home.path())).expect_err("hub gone");
    let message = err.to_string();
    assert!(
        matches!(err, ResolveError::HubUnreachable { .. }),
        "{message}"
    );
    assert!(message.contains(&endpoint), "{message}");
    assert!(message.contains("config.json"), "{message}");
    assert!(message.contains("owner/tiny@main"), "{message}");
    assert!(
        message.contains("huggingface-cli download owner/tiny"),
        "{message}"
    );
    assert!(err.source().is_some(), "the hf-hub error is kept as source");
}

#[test]
fn missing_weights_are_named() {
    if proxy_forces_skip() {
        return;
    }
    let s = setup(|dir| {
        tiny_repo(dir);
        fs::remove_file(dir.join("model.safetensors")).expect("rm");
    });
    let hub = FakeHub::serve(REPO, &s.repo_path).expect("hub");
    let err = resolve(REPO, &options(hub.endpoint(), s.hf_home.path())).expect_err("no weights");
    let message = err.to_string();
    assert!(
        matches!(err, ResolveError::IncompleteHubRepo { .. }),
        "{message}"
    );
    assert!(message.contains("model.safetensors"), "{message}");
    assert!(message.contains("pytorch_model.bin"), "{message}");
    assert!(
        message.contains("huggingface-cli download owner/tiny"),
        "{message}"
    );
}

#[test]
fn interrupted_download_resumes_where_it_stopped() {
    if proxy_forces_skip() {
        return;
    }
    let s = setup(tiny_repo);
    let mut hub = FakeHub::serve(REPO, &s.repo_path).expect("hub");
    let opts = options(hub.endpoint(), s.hf_home.path());
    hub.cut_after("model.safetensors", 100_000);
    let err = resolve(REPO, &opts).expect_err("body cut short");
    let message = err.to_string();
    assert!(
        matches!(err, ResolveError::DownloadFailed { .. }),
        "{message}"
    );
    assert!(message.contains("model.safetensors"), "{message}");
    assert!(message.contains("run again to resume"), "{message}");

    let weights = fs::read(s.repo_path.join("model.safetensors")).expect("w");
    let part = s
        .hf_home
        .path()
        .join("hub/models--owner--tiny/blobs")
        .join(format!("{}.part", sha256_hex(&weights)));
    assert_eq!(fs::metadata(&part).expect("part file").len(), 100_000);

    // The server is gone now: a clear error, and the partial file survives.
    hub.shutdown();
    let err = resolve(REPO, &opts).expect_err("hub gone");
    assert!(matches!(err, ResolveError::HubUnreachable { .. }), "{err}");
    assert!(part.is_file());

    // Back online (new port, same content): the download resumes.
    let hub = FakeHub::serve(REPO, &s.repo_path).expect("hub again");
    let resolved = resolve(REPO, &options(hub.endpoint(), s.hf_home.path())).expect("resumed");
    assert!(hub
        .requests()
        .iter()
        .any(|r| r.range.as_deref() == Some("bytes=100000-")));
    match &resolved.layout.weights {
        WeightFiles::Safetensors { shards, .. } => {
            assert_same_bytes(&s.repo_path, "model.safetensors", &shards[0]);
        }
        other => panic!("unexpected weights {other:?}"),
    }
    assert!(!part.exists());
}

#[test]
fn preset_downloads_exactly_its_pinned_files() {
    if proxy_forces_skip() {
        return;
    }
    let preset = find_preset("opus-mt-bn-en").expect("preset");
    let s = setup(|dir| {
        write(dir, "config.json", br#"{"model_type":"marian"}"#);
        write(dir, "pytorch_model.bin", &weight_bytes(3));
        write(dir, "source.spm", b"src");
        write(dir, "target.spm", b"tgt");
        write(dir, "vocab.json", b"{}");
        write(dir, "tokenizer_config.json", b"{}");
        write(dir, "tf_model.h5", b"not needed");
    });
    let hub = FakeHub::builder(&preset.repo, &s.repo_path)
        .commit(&preset.revision)
        .start()
        .expect("hub");
    let opts = options(hub.endpoint(), s.hf_home.path());
    assert!(!is_downloaded_in(&preset, &opts));
    let resolved = resolve("opus-mt-bn-en", &opts).expect("preset");
    assert_eq!(
        resolved.identity,
        format!("{}@{}", preset.repo, preset.revision)
    );
    assert_eq!(resolved.downloaded, preset.files);
    assert_eq!(resolved.licence.as_deref(), Some(preset.licence.as_str()));
    assert!(matches!(
        resolved.layout.weights,
        WeightFiles::PytorchBin(_)
    ));
    // Pinned files: no probing for layouts the preset does not use.
    assert!(hub
        .requests()
        .iter()
        .all(|r| !r.path.contains("tokenizer.json") && !r.path.contains("tf_model.h5")));
    assert!(is_downloaded_in(&preset, &opts));
}

#[test]
fn preset_missing_a_pinned_file_names_it() {
    if proxy_forces_skip() {
        return;
    }
    let preset = find_preset("opus-mt-bn-en").expect("preset");
    let s = setup(|dir| {
        write(dir, "config.json", br#"{"model_type":"marian"}"#);
        write(dir, "source.spm", b"src");
        write(dir, "target.spm", b"tgt");
        write(dir, "vocab.json", b"{}");
        write(dir, "tokenizer_config.json", b"{}");
    });
    let hub = FakeHub::builder(&preset.repo, &s.repo_path)
        .commit(&preset.revision)
        .start()
        .expect("hub");
    let err = resolve("opus-mt-bn-en", &options(hub.endpoint(), s.hf_home.path()))
        .expect_err("no weights");
    match &err {
        ResolveError::IncompleteHubRepo { missing, .. } => {
            assert_eq!(missing, &vec!["pytorch_model.bin".to_string()]);
        }
        other => panic!("expected IncompleteHubRepo, got {other}"),
    }
    let message = err.to_string();
    assert!(
        message.contains(&format!(
            "huggingface-cli download {} --revision {} config.json pytorch_model.bin",
            preset.repo, preset.revision
        )),
        "{message}"
    );
}

#[test]
fn unknown_repo_and_revision_are_told_apart() {
    if proxy_forces_skip() {
        return;
    }
    let s = setup(tiny_repo);
    let hub = FakeHub::serve(REPO, &s.repo_path).expect("hub");
    let opts = options(hub.endpoint(), s.hf_home.path());
    let err = resolve("someone/else", &opts).expect_err("no such repo");
    assert!(
        matches!(err, ResolveError::RepoNotFound { status: 401, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("HF_TOKEN"));
    let err = resolve("owner/tiny@v9", &opts).expect_err("no such revision");
    assert!(
        matches!(err, ResolveError::RevisionNotFound { .. }),
        "{err}"
    );
}

#[test]
fn pinned_commit_and_renamed_repo() {
    if proxy_forces_skip() {
        return;
    }
    let s = setup(tiny_repo);
    let hub = FakeHub::builder(REPO, &s.repo_path)
        .renamed_from("old-owner/tiny")
        .start()
        .expect("hub");
    let opts = options(hub.endpoint(), s.hf_home.path());
    let commit = hub.commit().to_string();

    let pinned = resolve(&format!("{REPO}@{commit}"), &opts).expect("pinned commit");
    assert_eq!(pinned.identity, format!("{REPO}@{commit}"));
    assert!(hub
        .requests()
        .iter()
        .filter(|r| r.path.contains("/resolve/"))
        .all(|r| r.path.contains(&commit)));

    // The hub's relative 307 for a renamed repo is followed.
    let renamed = resolve("old-owner/tiny", &opts).expect("renamed repo");
    assert_eq!(renamed.revision.as_deref(), Some(commit.as_str()));
    assert!(hub
        .requests()
        .iter()
        .any(|r| r.path.starts_with("/old-owner/tiny/resolve/main/")));
}

#[test]
fn sharded_safetensors_are_fetched_per_index() {
    if proxy_forces_skip() {
        return;
    }
    let s = setup(|dir| {
        write(dir, "config.json", br#"{"model_type":"t5"}"#);
        write(dir, "spiece.model", b"spm");
        write(
            dir,
            "model.safetensors.index.json",
            br#"{"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}"#,
        );
        write(dir, "model-00001-of-00002.safetensors", &weight_bytes(1));
        write(dir, "model-00002-of-00002.safetensors", &weight_bytes(2));
    });
    let hub = FakeHub::serve(REPO, &s.repo_path).expect("hub");
    let resolved = resolve(REPO, &options(hub.endpoint(), s.hf_home.path())).expect("sharded");
    match &resolved.layout.weights {
        WeightFiles::Safetensors {
            index: Some(_),
            shards,
        } => {
            assert_eq!(shards.len(), 2);
            assert_same_bytes(&s.repo_path, "model-00002-of-00002.safetensors", &shards[1]);
        }
        other => panic!("unexpected weights {other:?}"),
    }
    assert!(matches!(
        resolved.layout.tokenizer,
        TokenizerFiles::SentencePiece(_)
    ));
}

#[test]
fn marian_tiny_fixture_round_trips_when_present() {
    if proxy_forces_skip() {
        return;
    }
    let fixture = Path::new(MARIAN_TINY);
    if !fixture.join("config.json").is_file() {
        eprintln!("skipping: {MARIAN_TINY} not there yet");
        return;
    }
    let hf_home = tempfile::tempdir().expect("hf home");
    let hub = FakeHub::serve("fixtures/marian-tiny", fixture).expect("hub");
    let opts = options(hub.endpoint(), hf_home.path());
    let downloaded = resolve("fixtures/marian-tiny", &opts).expect("fixture via hub");
    let local = resolve(MARIAN_TINY, &ResolveOptions::default()).expect("fixture as dir");
    assert_eq!(downloaded.layout.files().len(), local.layout.files().len());
    for (hub_file, local_file) in downloaded.layout.files().iter().zip(local.layout.files()) {
        assert_eq!(
            fs::read(hub_file).expect("hub copy"),
            fs::read(local_file).expect("local")
        );
    }
}
