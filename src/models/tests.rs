use super::*;
use super::{hub::*, identity::*, layout::*, presets::*, spec::*};

const PRESET_REPO: &str = "Helsinki-NLP/opus-mt-bn-en";

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn write(dir: &Path, name: &str, contents: &[u8]) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("create parent");
    }
    fs::write(&path, contents).expect("write file");
    path
}

/// A Marian-shaped directory like the opus-mt repos.
fn marian_dir(dir: &Path) {
    write(
        dir,
        "config.json",
        br#"{"model_type":"marian","d_model":16,"encoder_layers":1,"decoder_layers":2,"vocab_size":300,"architectures":["MarianMTModel"]}"#,
    );
    write(dir, "pytorch_model.bin", b"pickled weights");
    write(dir, "source.spm", b"source sentencepiece");
    write(dir, "target.spm", b"target sentencepiece");
    write(dir, "vocab.json", br#"{"<pad>":0}"#);
    write(dir, "tokenizer_config.json", br#"{"source_lang":"ben"}"#);
}

fn offline_options(hf_home: &Path) -> ResolveOptions {
    ResolveOptions {
        offline: true,
        // Unroutable endpoint: a test that wrongly goes online fails fast.
        endpoint: Some("http://127.0.0.1:9".to_string()),
        hf_home: Some(hf_home.to_path_buf()),
        ..ResolveOptions::default()
    }
}

/// Lays out a snapshot the way the Python client does for a commit
/// revision: `snapshots/<commit>/...`, no `refs/<commit>` file.
fn python_style_snapshot(hf_home: &Path, repo: &str, commit: &str) -> PathBuf {
    let dir = repo_cache_dir(&hf_home.join("hub"), repo)
        .join("snapshots")
        .join(commit);
    fs::create_dir_all(&dir).expect("snapshot dir");
    dir
}

/// Every preset, laid out in the HF cache as its hub repo is (its pinned
/// files, with placeholder contents), resolves offline to the weights and
/// tokenizer its family loads. The loading code of each kind is exercised
/// on real fixtures by tests/parity*.rs and tests/cli.rs.
#[test]
fn every_preset_resolves_from_a_snapshot_of_its_pinned_files() {
    for preset in presets() {
        let hf_home = temp_dir();
        let snapshot = python_style_snapshot(hf_home.path(), &preset.repo, &preset.revision);
        for file in &preset.files {
            if file.ends_with(".index.json") {
                write(
                    &snapshot,
                    file,
                    br#"{"weight_map":{"a":"pytorch_model-00001-of-00002.bin","b":"pytorch_model-00002-of-00002.bin"}}"#,
                );
                write(&snapshot, "pytorch_model-00001-of-00002.bin", b"one");
                write(&snapshot, "pytorch_model-00002-of-00002.bin", b"two");
            } else {
                write(&snapshot, file, b"placeholder");
            }
        }
        if preset.kind == ModelKind::Chat {
            // A chat preset is its one GGUF file; another quantization
            // fetched into the same snapshot must not make it ambiguous.
            write(&snapshot, "other-quantization.gguf", b"placeholder");
            let resolved = resolve_chat(&preset.name, &offline_options(hf_home.path()))
                .unwrap_or_else(|e| panic!("{}: {e}", preset.name));
            let gguf = preset.files.iter().find(|f| f.ends_with(".gguf")).unwrap();
            assert_eq!(
                resolved.layout.weights,
                WeightFiles::Gguf(snapshot.join(gguf)),
                "{}",
                preset.name
            );
            assert_eq!(resolved.licence.as_deref(), Some(preset.licence.as_str()));
            assert!(matches!(
                resolve(&preset.name, &offline_options(hf_home.path())),
                Err(ResolveError::WrongKind {
                    kind: ModelKind::Chat,
                    ..
                })
            ));
            continue;
        }
        let resolved = resolve(&preset.name, &offline_options(hf_home.path()))
            .unwrap_or_else(|e| panic!("{}: {e}", preset.name));
        assert!(matches!(
            resolve_chat(&preset.name, &offline_options(hf_home.path())),
            Err(ResolveError::WrongKind {
                kind: ModelKind::Translation,
                ..
            })
        ));
        let weights_kind = match &resolved.layout.weights {
            WeightFiles::Safetensors { .. } => "safetensors",
            WeightFiles::PytorchBin(_) => "pickle",
            WeightFiles::PytorchShards { shards, .. } => {
                assert_eq!(shards.len(), 2, "{}", preset.name);
                "pickle shards"
            }
            WeightFiles::Gguf(_) => "gguf",
        };
        let tokenizer_kind = match &resolved.layout.tokenizer {
            TokenizerFiles::TokenizerJson(_) => "tokenizer.json",
            TokenizerFiles::Marian { .. } => "marian",
            TokenizerFiles::SentencePiece(_) => "spiece",
        };
        let expected = match preset.name.as_str() {
            "opus-mt-bn-en" => ("pickle", "marian"),
            "nllb-200-distilled-600M" | "nllb-200-distilled-1.3B" => ("pickle", "tokenizer.json"),
            "nllb-200-3.3B" => ("pickle shards", "tokenizer.json"),
            "banglat5-nmt-bn-en" => ("pickle", "spiece"),
            "madlad400-3b-mt" => ("safetensors", "tokenizer.json"),
            "madlad400-3b-mt-q4k" => ("gguf", "tokenizer.json"),
            other => panic!("preset {other} has no expected layout in this test"),
        };
        assert_eq!((weights_kind, tokenizer_kind), expected, "{}", preset.name);
        assert_eq!(resolved.licence.as_deref(), Some(preset.licence.as_str()));
    }
}

#[test]
fn presets_parse_and_are_pinned() {
    let presets = presets();
    assert_eq!(presets.len(), PRESET_SOURCES.len());
    let mut names: Vec<&str> = presets.iter().map(|p| p.name.as_str()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), presets.len(), "preset names must be unique");
    for preset in &presets {
        assert!(
            is_commit_hash(&preset.revision),
            "preset {} must pin a 40-hex commit, has {}",
            preset.name,
            preset.revision
        );
        assert!(is_hub_id(&preset.repo), "{} repo", preset.name);
        match preset.kind {
            ModelKind::Translation => {
                assert!(preset.files.iter().any(|f| f == "config.json"));
                assert!(preset.languages.is_some(), "{} direction", preset.name);
            }
            ModelKind::Chat => assert!(
                preset.files.iter().filter(|f| f.ends_with(".gguf")).count() == 1,
                "{}: a chat preset pins one GGUF file",
                preset.name
            ),
        }
        assert!(preset.files.iter().all(|f| is_safe_relative_name(f)));
    }
}

#[test]
fn opus_mt_preset_matches_its_hub_revision() {
    let preset = find_preset("opus-mt-bn-en").expect("preset exists");
    assert_eq!(preset.repo, PRESET_REPO);
    assert_eq!(preset.revision, "b5d4c0e4129e33c597218f3834bb11191d167040");
    assert_eq!(preset.family, PresetFamily::Marian);
    let languages = preset.languages.as_ref().expect("a translation preset");
    assert_eq!(
        (languages.source.as_str(), languages.target.as_str()),
        ("bn", "en")
    );
    // The pinned revision has only the PyTorch pickle and Marian spm files.
    assert!(preset.files.contains(&"pytorch_model.bin".to_string()));
    assert!(!preset.files.contains(&"model.safetensors".to_string()));
    assert!(!preset.files.contains(&"generation_config.json".to_string()));
}

#[test]
fn spec_prefers_an_existing_directory() {
    let dir = temp_dir();
    let spec = dir.path().to_string_lossy().into_owned();
    assert_eq!(
        ModelSpec::parse(&spec).expect("dir spec"),
        ModelSpec::LocalDir(dir.path().to_path_buf())
    );
}

#[test]
fn spec_recognises_presets_and_hub_ids() {
    match ModelSpec::parse("opus-mt-bn-en").expect("preset") {
        ModelSpec::Preset { preset, revision } => {
            assert_eq!(preset.name, "opus-mt-bn-en");
            assert_eq!(revision, None);
        }
        other => panic!("expected a preset, got {other:?}"),
    }
    match ModelSpec::parse("opus-mt-bn-en@main").expect("preset at revision") {
        ModelSpec::Preset { revision, .. } => assert_eq!(revision.as_deref(), Some("main")),
        other => panic!("expected a preset, got {other:?}"),
    }
    assert_eq!(
        ModelSpec::parse("facebook/nllb-200-distilled-600M@refs/pr/3").expect("hub id"),
        ModelSpec::Hub {
            repo: "facebook/nllb-200-distilled-600M".to_string(),
            revision: Some("refs/pr/3".to_string()),
        }
    );
    assert_eq!(
        ModelSpec::parse("csebuetnlp/banglat5_nmt_bn_en").expect("hub id"),
        ModelSpec::Hub {
            repo: "csebuetnlp/banglat5_nmt_bn_en".to_string(),
            revision: None,
        }
    );
}

#[test]
fn spec_errors_say_what_was_tried() {
    for spec in [
        "no-such-model",
        "./missing/dir",
        "a/b/c",
        "/abs/missing",
        "bad owner/x",
    ] {
        let err = ModelSpec::parse(spec).expect_err(spec);
        let message = err.to_string();
        assert!(
            matches!(err, ResolveError::UnrecognisedSpec { .. }),
            "{spec}: {message}"
        );
        assert!(message.contains("no such directory"), "{message}");
        assert!(
            message.contains("opus-mt-bn-en"),
            "lists presets: {message}"
        );
        assert!(message.contains("owner/name"), "{message}");
    }
    assert!(matches!(
        ModelSpec::parse(""),
        Err(ResolveError::UnrecognisedSpec { .. })
    ));
}

#[test]
fn revisions_cannot_escape_the_cache() {
    for spec in [
        "owner/name@../../etc",
        "owner/name@/abs",
        "owner/name@",
        "owner/name@a b",
    ] {
        assert!(
            matches!(
                ModelSpec::parse(spec),
                Err(ResolveError::InvalidRevision { .. })
            ),
            "{spec}"
        );
    }
}

#[test]
fn hub_id_rules() {
    assert!(is_hub_id("Helsinki-NLP/opus-mt-bn-en"));
    assert!(is_hub_id("google/madlad400-3b-mt"));
    assert!(!is_hub_id("opus-mt-bn-en"));
    assert!(!is_hub_id("owner/-name"));
    assert!(!is_hub_id("owner/na--me"));
    assert!(!is_hub_id("owner/na..me"));
    assert!(!is_hub_id("/name"));
}

#[test]
fn local_marian_dir_resolves_with_its_layout() {
    let dir = temp_dir();
    marian_dir(dir.path());
    let resolved =
        resolve(&dir.path().to_string_lossy(), &ResolveOptions::default()).expect("resolve");
    let root = fs::canonicalize(dir.path()).expect("canonical");
    assert_eq!(resolved.dir, root);
    assert_eq!(resolved.repo, None);
    assert!(resolved.identity.starts_with("local:"));
    assert_eq!(resolved.identity.len(), "local:".len() + 64);
    assert_eq!(
        resolved.layout.weights,
        WeightFiles::PytorchBin(root.join("pytorch_model.bin"))
    );
    assert_eq!(
        resolved.layout.tokenizer,
        TokenizerFiles::Marian {
            source_spm: root.join("source.spm"),
            target_spm: root.join("target.spm"),
            vocab: root.join("vocab.json"),
        }
    );
    assert_eq!(resolved.layout.generation_config, None);
    assert!(resolved.downloaded.is_empty());
}

#[test]
fn safetensors_and_tokenizer_json_are_preferred() {
    let dir = temp_dir();
    marian_dir(dir.path());
    write(dir.path(), "model.safetensors", b"safe weights");
    write(dir.path(), "tokenizer.json", b"{}");
    write(dir.path(), "generation_config.json", b"{}");
    let resolved =
        resolve(&dir.path().to_string_lossy(), &ResolveOptions::default()).expect("resolve");
    let root = fs::canonicalize(dir.path()).expect("canonical");
    assert_eq!(
        resolved.layout.weights,
        WeightFiles::Safetensors {
            index: None,
            shards: vec![root.join("model.safetensors")],
        }
    );
    assert_eq!(
        resolved.layout.tokenizer,
        TokenizerFiles::TokenizerJson(root.join("tokenizer.json"))
    );
    assert_eq!(
        resolved.layout.generation_config,
        Some(root.join("generation_config.json"))
    );
}

#[test]
fn sharded_safetensors_need_every_shard() {
    let dir = temp_dir();
    write(dir.path(), "config.json", br#"{"model_type":"t5"}"#);
    write(dir.path(), "spiece.model", b"spm");
    write(
        dir.path(),
        "model.safetensors.index.json",
        br#"{"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors","c":"model-00001-of-00002.safetensors"}}"#,
    );
    write(dir.path(), "model-00001-of-00002.safetensors", b"one");
    let err = resolve(&dir.path().to_string_lossy(), &ResolveOptions::default())
        .expect_err("a shard is missing");
    let message = err.to_string();
    assert!(
        message.contains("model-00002-of-00002.safetensors"),
        "{message}"
    );

    write(dir.path(), "model-00002-of-00002.safetensors", b"two");
    let resolved =
        resolve(&dir.path().to_string_lossy(), &ResolveOptions::default()).expect("complete");
    let root = fs::canonicalize(dir.path()).expect("canonical");
    assert_eq!(
        resolved.layout.weights,
        WeightFiles::Safetensors {
            index: Some(root.join("model.safetensors.index.json")),
            shards: vec![
                root.join("model-00001-of-00002.safetensors"),
                root.join("model-00002-of-00002.safetensors"),
            ],
        }
    );
    assert_eq!(
        resolved.layout.tokenizer,
        TokenizerFiles::SentencePiece(root.join("spiece.model"))
    );
}

#[test]
fn a_single_gguf_file_is_the_weights_and_two_are_ambiguous() {
    let dir = temp_dir();
    write(dir.path(), "config.json", br#"{"model_type":"t5"}"#);
    write(dir.path(), "tokenizer.json", b"{}");
    write(dir.path(), "model-q4k.gguf", b"GGUF");
    let root = fs::canonicalize(dir.path()).expect("canonical");
    let resolved =
        resolve(&dir.path().to_string_lossy(), &ResolveOptions::default()).expect("gguf");
    assert_eq!(
        resolved.layout.weights,
        WeightFiles::Gguf(root.join("model-q4k.gguf"))
    );

    write(dir.path(), "model-q8_0.gguf", b"GGUF");
    let message = resolve(&dir.path().to_string_lossy(), &ResolveOptions::default())
        .expect_err("two candidates")
        .to_string();
    assert!(
        message.contains("model-q4k.gguf, model-q8_0.gguf"),
        "{message}"
    );

    // Dense weights win over a GGUF file beside them.
    write(dir.path(), "model.safetensors", b"dense");
    let resolved =
        resolve(&dir.path().to_string_lossy(), &ResolveOptions::default()).expect("dense");
    assert!(matches!(
        resolved.layout.weights,
        WeightFiles::Safetensors { .. }
    ));
}

#[test]
fn pickle_shards_come_from_their_index() {
    let dir = temp_dir();
    write(dir.path(), "config.json", br#"{"model_type":"m2m_100"}"#);
    write(dir.path(), "tokenizer.json", b"{}");
    write(
        dir.path(),
        "pytorch_model.bin.index.json",
        br#"{"weight_map":{"a":"pytorch_model-00001-of-00002.bin","b":"pytorch_model-00002-of-00002.bin"}}"#,
    );
    write(dir.path(), "pytorch_model-00001-of-00002.bin", b"one");
    let message = resolve(&dir.path().to_string_lossy(), &ResolveOptions::default())
        .expect_err("a shard is missing")
        .to_string();
    assert!(
        message.contains("pytorch_model-00002-of-00002.bin"),
        "{message}"
    );
    write(dir.path(), "pytorch_model-00002-of-00002.bin", b"two");
    let root = fs::canonicalize(dir.path()).expect("canonical");
    let resolved =
        resolve(&dir.path().to_string_lossy(), &ResolveOptions::default()).expect("complete");
    assert_eq!(
        resolved.layout.weights,
        WeightFiles::PytorchShards {
            index: root.join("pytorch_model.bin.index.json"),
            shards: vec![
                root.join("pytorch_model-00001-of-00002.bin"),
                root.join("pytorch_model-00002-of-00002.bin"),
            ],
        }
    );
}

#[test]
fn a_preset_loads_only_its_pinned_files_from_a_shared_snapshot() {
    let dir = temp_dir();
    write(dir.path(), "config.json", br#"{"model_type":"t5"}"#);
    write(dir.path(), "tokenizer.json", b"{}");
    write(dir.path(), "model-q4k.gguf", b"GGUF");
    // Someone else fetched the 12 GB dense weights into the same snapshot.
    write(dir.path(), "model.safetensors", b"dense");
    let pinned = ["config.json", "tokenizer.json", "model-q4k.gguf"].map(String::from);
    let layout = check_snapshot::<ModelLayout>(Some(dir.path().to_path_buf()), Some(&pinned), &[])
        .expect("readable")
        .expect("complete");
    assert_eq!(
        layout.weights,
        WeightFiles::Gguf(dir.path().join("model-q4k.gguf"))
    );
    // An optional file is used when present and not required otherwise.
    let optional = ["tokenizer_config.json".to_string()];
    let layout =
        check_snapshot::<ModelLayout>(Some(dir.path().to_path_buf()), Some(&pinned), &optional)
            .expect("readable")
            .expect("complete without the optional file");
    assert_eq!(layout.tokenizer_config, None);
    write(dir.path(), "tokenizer_config.json", b"{}");
    let layout =
        check_snapshot::<ModelLayout>(Some(dir.path().to_path_buf()), Some(&pinned), &optional)
            .expect("readable")
            .expect("complete");
    assert_eq!(
        layout.tokenizer_config,
        Some(dir.path().join("tokenizer_config.json"))
    );
}

#[test]
fn shard_names_cannot_escape_the_model_dir() {
    let dir = temp_dir();
    write(dir.path(), "config.json", b"{}");
    write(
        dir.path(),
        "model.safetensors.index.json",
        br#"{"weight_map":{"a":"../outside.safetensors"}}"#,
    );
    let err = resolve(&dir.path().to_string_lossy(), &ResolveOptions::default())
        .expect_err("unsafe shard name");
    assert!(matches!(err, ResolveError::UnsafeFileName { .. }), "{err}");
}

#[test]
fn incomplete_local_dir_lists_what_is_missing() {
    let dir = temp_dir();
    write(dir.path(), "config.json", b"{}");
    write(dir.path(), "source.spm", b"spm");
    let err =
        resolve(&dir.path().to_string_lossy(), &ResolveOptions::default()).expect_err("incomplete");
    let message = err.to_string();
    assert!(matches!(err, ResolveError::IncompleteModelDir { .. }));
    assert!(message.contains("pytorch_model.bin"), "{message}");
    assert!(message.contains("target.spm"), "{message}");
    assert!(message.contains("vocab.json"), "{message}");
}

#[test]
fn local_identity_follows_content_not_location() {
    let first = temp_dir();
    let second = temp_dir();
    marian_dir(first.path());
    marian_dir(second.path());
    let options = ResolveOptions::default();
    let a = resolve(&first.path().to_string_lossy(), &options).expect("first");
    let b = resolve(&second.path().to_string_lossy(), &options).expect("second");
    assert_eq!(a.identity, b.identity, "same bytes, same identity");

    write(second.path(), "pytorch_model.bin", b"different weights");
    let changed = resolve(&second.path().to_string_lossy(), &options).expect("changed");
    assert_ne!(a.identity, changed.identity);

    write(first.path(), "generation_config.json", b"{\"num_beams\":4}");
    let with_generation = resolve(&first.path().to_string_lossy(), &options).expect("gen");
    assert_ne!(a.identity, with_generation.identity);
}

#[test]
fn hash_cache_is_keyed_by_size_and_mtime() {
    let model = temp_dir();
    let cache = temp_dir();
    marian_dir(model.path());
    let options = ResolveOptions {
        cache_dir: Some(cache.path().to_path_buf()),
        ..ResolveOptions::default()
    };
    let spec = model.path().to_string_lossy().into_owned();
    let first = resolve(&spec, &options).expect("first");
    assert!(first.warnings.is_empty(), "{:?}", first.warnings);
    assert!(cache.path().join(FILE_HASH_CACHE_NAME).is_file());

    // Same size, same mtime, different bytes: only a cache hit keeps the
    // old identity, which proves the weights were not re-read.
    let weights = model.path().join("pytorch_model.bin");
    let mtime = fs::metadata(&weights)
        .and_then(|m| m.modified())
        .expect("mtime");
    write(model.path(), "pytorch_model.bin", b"PICKLED WEIGHTS");
    let file = fs::OpenOptions::new()
        .write(true)
        .open(&weights)
        .expect("open weights");
    file.set_modified(mtime).expect("restore mtime");
    drop(file);
    let cached = resolve(&spec, &options).expect("cached");
    assert_eq!(cached.identity, first.identity);

    // A new mtime invalidates the entry.
    let file = fs::OpenOptions::new()
        .write(true)
        .open(&weights)
        .expect("open weights");
    file.set_modified(mtime + std::time::Duration::from_secs(5))
        .expect("touch");
    drop(file);
    let rehashed = resolve(&spec, &options).expect("rehashed");
    assert_ne!(rehashed.identity, first.identity);
    let uncached = resolve(&spec, &ResolveOptions::default()).expect("uncached");
    assert_eq!(rehashed.identity, uncached.identity);
}

#[test]
fn corrupt_hash_cache_is_a_warning_not_an_error() {
    let model = temp_dir();
    let cache = temp_dir();
    marian_dir(model.path());
    write(cache.path(), FILE_HASH_CACHE_NAME, b"not json");
    let options = ResolveOptions {
        cache_dir: Some(cache.path().to_path_buf()),
        ..ResolveOptions::default()
    };
    let resolved = resolve(&model.path().to_string_lossy(), &options).expect("resolve");
    assert_eq!(resolved.warnings.len(), 1, "{:?}", resolved.warnings);
    let uncached =
        resolve(&model.path().to_string_lossy(), &ResolveOptions::default()).expect("plain");
    assert_eq!(resolved.identity, uncached.identity);
}

#[test]
fn offline_preset_uses_a_python_style_snapshot() {
    let hf_home = temp_dir();
    let preset = find_preset("opus-mt-bn-en").expect("preset");
    assert!(!is_downloaded_in(&preset, &offline_options(hf_home.path())));
    let snapshot = python_style_snapshot(hf_home.path(), &preset.repo, &preset.revision);
    marian_dir(&snapshot);
    assert!(is_downloaded_in(&preset, &offline_options(hf_home.path())));

    let resolved = resolve("opus-mt-bn-en", &offline_options(hf_home.path())).expect("cached");
    assert_eq!(resolved.dir, snapshot);
    assert_eq!(resolved.name, "opus-mt-bn-en");
    assert_eq!(resolved.repo.as_deref(), Some(PRESET_REPO));
    assert_eq!(resolved.revision.as_deref(), Some(preset.revision.as_str()));
    assert_eq!(
        resolved.identity,
        format!("{PRESET_REPO}@{}", preset.revision)
    );
    assert_eq!(resolved.licence.as_deref(), Some(preset.licence.as_str()));
    assert!(resolved.downloaded.is_empty());
}

#[test]
fn offline_branch_revision_goes_through_refs() {
    let hf_home = temp_dir();
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let snapshot = python_style_snapshot(hf_home.path(), "owner/tiny", commit);
    marian_dir(&snapshot);
    let refs = repo_cache_dir(&hf_home.path().join("hub"), "owner/tiny").join("refs");
    write(&refs, "main", commit.as_bytes());

    let resolved = resolve("owner/tiny", &offline_options(hf_home.path())).expect("via refs");
    assert_eq!(resolved.identity, format!("owner/tiny@{commit}"));
    assert_eq!(resolved.revision.as_deref(), Some(commit));

    let err =
        resolve("owner/tiny@v2", &offline_options(hf_home.path())).expect_err("no ref for v2");
    assert!(matches!(err, ResolveError::NotCached { .. }), "{err}");
}

#[test]
fn offline_without_files_explains_how_to_get_them() {
    let hf_home = temp_dir();
    let err =
        resolve("opus-mt-bn-en", &offline_options(hf_home.path())).expect_err("nothing cached");
    let message = err.to_string();
    assert!(matches!(err, ResolveError::NotCached { .. }), "{message}");
    assert!(
        message.contains(
            "huggingface-cli download Helsinki-NLP/opus-mt-bn-en --revision \
             b5d4c0e4129e33c597218f3834bb11191d167040 config.json pytorch_model.bin"
        ),
        "{message}"
    );
    assert!(message.contains("--local-dir opus-mt-bn-en"), "{message}");
    assert!(
        message.contains("run with `--model ./opus-mt-bn-en`"),
        "{message}"
    );
    assert!(message.contains("pytorch_model.bin"), "{message}");
}

#[test]
fn offline_partial_snapshot_names_the_missing_file() {
    let hf_home = temp_dir();
    let preset = find_preset("opus-mt-bn-en").expect("preset");
    let snapshot = python_style_snapshot(hf_home.path(), &preset.repo, &preset.revision);
    marian_dir(&snapshot);
    fs::remove_file(snapshot.join("target.spm")).expect("remove");
    let err = resolve("opus-mt-bn-en", &offline_options(hf_home.path())).expect_err("partial");
    match err {
        ResolveError::NotCached { missing, .. } => assert_eq!(missing, vec!["target.spm"]),
        other => panic!("expected NotCached, got {other}"),
    }
}

#[test]
fn truthy_values_match_the_python_client() {
    for value in ["1", "true", "TRUE", "yes", "on", " 1 "] {
        assert!(is_truthy(value), "{value}");
    }
    for value in ["0", "false", "no", "off", ""] {
        assert!(!is_truthy(value), "{value}");
    }
}

#[test]
fn endpoint_override_drops_trailing_slash() {
    let options = ResolveOptions {
        endpoint: Some("http://127.0.0.1:8080/".to_string()),
        hf_home: Some(PathBuf::from("/tmp/hf")),
        ..ResolveOptions::default()
    };
    let settings = HubSettings::from_options(&options).expect("settings");
    assert_eq!(settings.endpoint, "http://127.0.0.1:8080");
    assert_eq!(settings.hub_cache, PathBuf::from("/tmp/hf/hub"));
}

#[test]
fn commit_is_read_from_the_snapshot_path() {
    let path = Path::new("/c/models--o--n/snapshots/abc123/sub/file.bin");
    assert_eq!(
        snapshot_commit_of(path, "sub/file.bin").as_deref(),
        Some("abc123")
    );
}

#[test]
fn dir_summary_reads_config_and_lists_files() {
    let dir = temp_dir();
    marian_dir(dir.path());
    let summary = model_dir_summary(dir.path()).expect("summary");
    assert_eq!(summary.model_type.as_deref(), Some("marian"));
    assert_eq!(summary.architectures, vec!["MarianMTModel"]);
    assert_eq!(summary.d_model, Some(16));
    assert_eq!(summary.encoder_layers, Some(1));
    assert_eq!(summary.decoder_layers, Some(2));
    assert_eq!(summary.vocab_size, Some(300));
    let names: Vec<&str> = summary.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "config.json",
            "pytorch_model.bin",
            "source.spm",
            "target.spm",
            "tokenizer_config.json",
            "vocab.json"
        ]
    );
    assert_eq!(summary.files[1].size, b"pickled weights".len() as u64);
}

#[test]
fn dir_summary_understands_t5_layer_keys() {
    let dir = temp_dir();
    write(
        dir.path(),
        "config.json",
        br#"{"model_type":"t5","d_model":32,"num_layers":3,"vocab_size":100}"#,
    );
    let summary = model_dir_summary(dir.path()).expect("summary");
    assert_eq!(summary.encoder_layers, Some(3));
    assert_eq!(summary.decoder_layers, Some(3));
}

#[test]
fn dir_summary_without_config_is_an_error() {
    let dir = temp_dir();
    assert!(matches!(
        model_dir_summary(dir.path()),
        Err(ResolveError::Io { .. })
    ));
}

#[test]
fn manual_download_lists_files_or_patterns() {
    let known = ManualDownload {
        repo: "owner/name".to_string(),
        revision: "main".to_string(),
        files: vec!["config.json".to_string(), "model.safetensors".to_string()],
    };
    assert!(known.to_string().contains(
        "huggingface-cli download owner/name --revision main config.json model.safetensors \
         --local-dir name"
    ));
    let unknown = ManualDownload {
        files: Vec::new(),
        ..known
    };
    assert!(unknown.to_string().contains("--include \"*.json\""));
    assert!(unknown.to_string().contains("run with `--model ./name`"));
}

#[test]
fn preset_families_read_and_print_as_the_preset_files_spell_them() {
    let families = [
        PresetFamily::Marian,
        PresetFamily::M2m100,
        PresetFamily::T5,
        PresetFamily::Qwen2,
        PresetFamily::Qwen3,
        PresetFamily::Llama,
        PresetFamily::Gemma3,
    ];
    for family in families {
        let name = serde_json::to_value(family).unwrap();
        assert_eq!(name, family.name());
        assert_eq!(
            serde_json::from_value::<PresetFamily>(name).unwrap(),
            family
        );
    }
    assert!(serde_json::from_value::<PresetFamily>("gpt2".into()).is_err());
    // `models list` pads the family into its column.
    assert_eq!(format!("{:<8}|", PresetFamily::T5), "t5      |");
}
