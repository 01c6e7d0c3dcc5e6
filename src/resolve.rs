//! Turns a `--model` spec into a directory of model files on this machine.
//!
//! A spec is one of, tried in this order:
//! 1. an existing local directory laid out like a hub repo (`config.json`,
//!    weights, tokenizer files);
//! 2. the name of a preset from `models/*.toml` (embedded in the binary, each
//!    pinned to a hub commit), optionally `NAME@REVISION`;
//! 3. a hub id `owner/name`, optionally `owner/name@REVISION`.
//!
//! Hub files go through `hf-hub` into the standard Hugging Face cache
//! (`$HF_HOME/hub`, shared with Python users), honouring `HF_HOME`,
//! `HF_HUB_CACHE`, `HF_ENDPOINT`, `HF_HUB_OFFLINE` and `HF_TOKEN`. A model
//! whose files are all in the cache resolves without touching the network.
//! Every failure says what was needed and how to fetch it by hand, because
//! the machines this tool runs on often cannot reach the hub at all.
//!
//! Resolution ends with a [`ResolvedModel`]: the directory, the exact file of
//! each role ([`ModelLayout`]), and a stable `identity` for cache keys.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::time::UNIX_EPOCH;

use hf_hub::api::sync::{Api, ApiBuilder, ApiError};
use hf_hub::{Cache, Repo, RepoType};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Every preset shipped with the binary. Embedded so that the tool works from
/// any directory; the `presets_parse_and_are_pinned` test guards their syntax.
const PRESET_SOURCES: &[(&str, &str)] = &[
    (
        "opus-mt-bn-en.toml",
        include_str!("../models/opus-mt-bn-en.toml"),
    ),
    (
        "nllb-200-distilled-600M.toml",
        include_str!("../models/nllb-200-distilled-600M.toml"),
    ),
    (
        "nllb-200-distilled-1.3B.toml",
        include_str!("../models/nllb-200-distilled-1.3B.toml"),
    ),
    (
        "nllb-200-3.3B.toml",
        include_str!("../models/nllb-200-3.3B.toml"),
    ),
    (
        "banglat5-nmt-bn-en.toml",
        include_str!("../models/banglat5-nmt-bn-en.toml"),
    ),
    (
        "madlad400-3b-mt.toml",
        include_str!("../models/madlad400-3b-mt.toml"),
    ),
    (
        "madlad400-3b-mt-q4k.toml",
        include_str!("../models/madlad400-3b-mt-q4k.toml"),
    ),
    (
        "qwen2.5-1.5b-instruct.toml",
        include_str!("../models/qwen2.5-1.5b-instruct.toml"),
    ),
    (
        "qwen2.5-3b-instruct.toml",
        include_str!("../models/qwen2.5-3b-instruct.toml"),
    ),
    ("qwen3-4b.toml", include_str!("../models/qwen3-4b.toml")),
    (
        "llama-3.2-3b-instruct.toml",
        include_str!("../models/llama-3.2-3b-instruct.toml"),
    ),
    (
        "gemma-3-1b-it.toml",
        include_str!("../models/gemma-3-1b-it.toml"),
    ),
];

/// Where `hf-hub` and the Python client download from unless `HF_ENDPOINT`
/// or [`ResolveOptions::endpoint`] says otherwise.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// Name of the file, under [`ResolveOptions::cache_dir`], that remembers the
/// SHA-256 of local model files so that large weights are hashed once.
pub const FILE_HASH_CACHE_NAME: &str = "model-file-hashes.json";

/// A model the project knows how to run, pinned to one hub commit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    /// Short name accepted by `--model`.
    pub name: String,
    /// Hub repository, `owner/name`.
    pub repo: String,
    /// Pinned commit (40 hex digits), so that every user runs the same bytes.
    pub revision: String,
    /// What the model is for: translation (`--model`, the default) or chat
    /// (`--summarizer`, `--translator`).
    #[serde(default)]
    pub kind: ModelKind,
    /// Model family, e.g. `marian`, `t5`, `qwen2`; picks the backend.
    pub family: String,
    /// Direction of a translation model; chat models have none.
    #[serde(default)]
    pub languages: Option<PresetLanguages>,
    /// Licence of the weights as the hub repository declares it.
    pub licence: String,
    /// Approximate download size, for people deciding whether to fetch it.
    pub size: String,
    #[serde(default)]
    pub params: Option<String>,
    /// Files to download from the repo at `revision`; together they must form
    /// a complete layout (config, weights, tokenizer). Shards named by a
    /// listed `*.index.json` are fetched too.
    pub files: Vec<String>,
    /// Files fetched when the repo has them (their presence at the pinned
    /// revision is not confirmed); a 404 is not an error.
    #[serde(default)]
    pub optional_files: Vec<String>,
    #[serde(default)]
    pub notes: String,
    /// FLORES-200 devtest chrF++ for the preset's direction, where published.
    #[serde(default)]
    pub flores_chrf: Option<f64>,
}

/// What a model is for, which decides the files it needs and the flag that
/// takes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// An encoder-decoder translation model (`--model`).
    #[default]
    Translation,
    /// An instruction-tuned decoder-only model (`--summarizer`, `--translator`).
    Chat,
}

impl ModelKind {
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Translation => "translation",
            ModelKind::Chat => "chat",
        }
    }

    /// The flags that take a model of this kind, for error messages.
    fn flags(self) -> &'static str {
        match self {
            ModelKind::Translation => "--model",
            ModelKind::Chat => "--summarizer or --translator",
        }
    }
}

/// Translation direction of a preset, as short language codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresetLanguages {
    pub source: String,
    pub target: String,
}

/// All presets embedded in the binary, in a fixed order.
pub fn presets() -> Vec<Preset> {
    PRESET_SOURCES
        .iter()
        .map(|(file, text)| {
            toml::from_str(text).unwrap_or_else(|err| {
                // Embedded at compile time and checked by a unit test, so this
                // can only fire on a build that skipped the tests.
                panic!("embedded preset models/{file} does not parse: {err}")
            })
        })
        .collect()
}

/// The preset called `name`, if there is one.
pub fn find_preset(name: &str) -> Option<Preset> {
    presets().into_iter().find(|preset| preset.name == name)
}

/// What a `--model` spec refers to, before anything is downloaded.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSpec {
    /// An existing directory on this machine.
    LocalDir(PathBuf),
    /// A preset; `revision` replaces its pinned commit when given (`NAME@REV`).
    Preset {
        preset: Box<Preset>,
        revision: Option<String>,
    },
    /// A hub repository; `None` means the `main` branch.
    Hub {
        repo: String,
        revision: Option<String>,
    },
}

impl ModelSpec {
    /// Classifies `spec`: existing directory, then preset name, then hub id.
    pub fn parse(spec: &str) -> Result<Self, ResolveError> {
        let trimmed = spec.trim();
        if trimmed.is_empty() {
            return Err(ResolveError::UnrecognisedSpec {
                spec: spec.to_string(),
                tried: "the spec is empty".to_string(),
            });
        }
        let as_path = Path::new(trimmed);
        if as_path.is_dir() {
            return Ok(ModelSpec::LocalDir(as_path.to_path_buf()));
        }
        let (base, revision) = match trimmed.split_once('@') {
            Some((base, revision)) => {
                validate_revision(revision)?;
                (base, Some(revision.to_string()))
            }
            None => (trimmed, None),
        };
        if let Some(preset) = find_preset(base) {
            return Ok(ModelSpec::Preset {
                preset: Box::new(preset),
                revision,
            });
        }
        if !looks_like_path(base) && is_hub_id(base) {
            return Ok(ModelSpec::Hub {
                repo: base.to_string(),
                revision,
            });
        }
        let preset_names: Vec<String> = presets().into_iter().map(|p| p.name).collect();
        let directory_note = if as_path.exists() {
            "it exists but is not a directory"
        } else {
            "no such directory"
        };
        Err(ResolveError::UnrecognisedSpec {
            spec: spec.to_string(),
            tried: format!(
                "as a local directory: {directory_note}; as a preset: none is called `{base}` \
                 (presets: {}); as a hub id: not of the form owner/name[@revision]",
                preset_names.join(", ")
            ),
        })
    }
}

/// How to resolve. The `Option` fields override the environment
/// (`HF_ENDPOINT`, `HF_HOME`), which tests use to avoid mutating global state.
#[derive(Debug, Clone, Default)]
pub struct ResolveOptions {
    /// Use only the local HF cache; also switched on by `HF_HUB_OFFLINE=1`.
    pub offline: bool,
    /// Hub base URL; default `HF_ENDPOINT`, else [`DEFAULT_ENDPOINT`].
    pub endpoint: Option<String>,
    /// HF home; the hub cache is `<hf_home>/hub`. Default: `HF_HUB_CACHE` for
    /// the hub cache, else `HF_HOME`, else `$XDG_CACHE_HOME/huggingface`,
    /// else `~/.cache/huggingface` (the Python client's rules).
    pub hf_home: Option<PathBuf>,
    /// The tool's own cache directory. When set, hashes of local model files
    /// are remembered there (keyed by path, size and mtime) so a 300 MB model
    /// is hashed once, not on every run.
    pub cache_dir: Option<PathBuf>,
    /// Let `hf-hub` draw download progress bars on stderr.
    pub progress: bool,
}

/// A translation model whose files are all on this machine.
pub type ResolvedModel = Resolved<ModelLayout>;
/// A chat model whose files are all on this machine.
pub type ResolvedChat = Resolved<ChatLayout>;

/// A model whose files are all on this machine; `L` says which file plays
/// each role.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved<L> {
    /// Directory with the hub layout: the local directory itself, or the
    /// `snapshots/<commit>` directory of the HF cache.
    pub dir: PathBuf,
    /// Preset name, hub id, or the local directory's name.
    pub name: String,
    pub repo: Option<String>,
    /// The resolved commit for hub models.
    pub revision: Option<String>,
    pub licence: Option<String>,
    /// Stable key for result caches: `owner/name@<commit>` for hub models,
    /// `local:<sha256>` over the files' contents for local directories.
    pub identity: String,
    /// The file playing each role.
    pub layout: L,
    /// Files downloaded by this call (empty on a cache hit).
    pub downloaded: Vec<String>,
    /// Problems that did not stop resolution (e.g. the hash cache was unwritable).
    pub warnings: Vec<String>,
}

/// The files a model needs, each resolved to a path.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelLayout {
    pub config: PathBuf,
    pub generation_config: Option<PathBuf>,
    pub weights: WeightFiles,
    pub tokenizer: TokenizerFiles,
    pub tokenizer_config: Option<PathBuf>,
}

/// The files of a decoder-only chat model: one GGUF file (tokenizer and chat
/// template usually inside it; `tokenizer.json` / `tokenizer_config.json`
/// beside it take precedence), or `config.json` + safetensors +
/// `tokenizer.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatLayout {
    /// [`WeightFiles::Gguf`] or [`WeightFiles::Safetensors`].
    pub weights: WeightFiles,
    pub config: Option<PathBuf>,
    pub tokenizer: Option<PathBuf>,
    pub tokenizer_config: Option<PathBuf>,
    pub generation_config: Option<PathBuf>,
}

/// Which weight format the model ships.
#[derive(Debug, Clone, PartialEq)]
pub enum WeightFiles {
    /// `model.safetensors`, or the shards listed by `model.safetensors.index.json`.
    Safetensors {
        index: Option<PathBuf>,
        shards: Vec<PathBuf>,
    },
    /// A PyTorch pickle, `pytorch_model.bin`.
    PytorchBin(PathBuf),
    /// Pickle shards listed by `pytorch_model.bin.index.json` (NLLB-200-3.3B).
    PytorchShards {
        index: PathBuf,
        shards: Vec<PathBuf>,
    },
    /// One GGUF file of (usually quantized) tensors; `config.json` beside it
    /// still gives the dimensions.
    Gguf(PathBuf),
}

/// Which tokenizer files the model ships.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenizerFiles {
    /// A `tokenizers` JSON file.
    TokenizerJson(PathBuf),
    /// Marian: one SentencePiece model per side plus the shared id map.
    Marian {
        source_spm: PathBuf,
        target_spm: PathBuf,
        vocab: PathBuf,
    },
    /// T5 family: `spiece.model`.
    SentencePiece(PathBuf),
}

impl ModelLayout {
    /// Every file, in the fixed order used for hashing.
    pub fn files(&self) -> Vec<&Path> {
        let mut files = vec![self.config.as_path()];
        files.extend(self.generation_config.as_deref());
        files.extend(weight_files(&self.weights));
        match &self.tokenizer {
            TokenizerFiles::TokenizerJson(path) | TokenizerFiles::SentencePiece(path) => {
                files.push(path)
            }
            TokenizerFiles::Marian {
                source_spm,
                target_spm,
                vocab,
            } => files.extend([source_spm.as_path(), target_spm, vocab]),
        }
        files.extend(self.tokenizer_config.as_deref());
        files
    }
}

impl ChatLayout {
    /// Every file, in the fixed order used for hashing.
    pub fn files(&self) -> Vec<&Path> {
        let mut files: Vec<&Path> = self.config.iter().map(PathBuf::as_path).collect();
        files.extend(self.generation_config.as_deref());
        files.extend(weight_files(&self.weights));
        files.extend(self.tokenizer.as_deref());
        files.extend(self.tokenizer_config.as_deref());
        files
    }
}

fn weight_files(weights: &WeightFiles) -> Vec<&Path> {
    match weights {
        WeightFiles::Safetensors { index, shards } => {
            index.iter().chain(shards).map(PathBuf::as_path).collect()
        }
        WeightFiles::PytorchBin(path) | WeightFiles::Gguf(path) => vec![path],
        WeightFiles::PytorchShards { index, shards } => std::iter::once(index)
            .chain(shards)
            .map(PathBuf::as_path)
            .collect(),
    }
}

/// The command a user can run on a connected machine to get the files,
/// shown in every error that a missing hub causes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualDownload {
    pub repo: String,
    pub revision: String,
    /// Files to fetch; empty when the layout is not known yet.
    pub files: Vec<String>,
}

impl fmt::Display for ManualDownload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let local_dir = self.repo.rsplit('/').next().unwrap_or(&self.repo);
        let wanted = if self.files.is_empty() {
            " --include \"*.json\" \"*.safetensors\" \"pytorch_model.bin\" \"*.spm\" \"*.model\""
                .to_string()
        } else {
            format!(" {}", self.files.join(" "))
        };
        write!(
            f,
            "to run without the hub, download the files on a machine that can reach it:\n    \
             huggingface-cli download {} --revision {}{wanted} --local-dir {local_dir}\n\
             then copy that directory here and pass `./{local_dir}` instead of the model's name",
            self.repo, self.revision
        )
    }
}

/// Why a spec could not be resolved. Messages name what was tried and how to
/// get the files some other way.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("`{spec}` names no model: {tried}")]
    UnrecognisedSpec { spec: String, tried: String },

    #[error("`{name}` is a {} model; pass it to {}", kind.name(), kind.flags())]
    WrongKind { name: String, kind: ModelKind },

    #[error("invalid revision `{revision}`: {reason}")]
    InvalidRevision {
        revision: String,
        reason: &'static str,
    },

    #[error("{} is not a complete model directory: missing {}", dir.display(), missing.join("; "))]
    IncompleteModelDir { dir: PathBuf, missing: Vec<String> },

    #[error(
        "offline (--offline or HF_HUB_OFFLINE): {repo}@{revision} is not complete in the cache {}: \
         missing {}\n{help}",
        cache.display(),
        missing.join("; ")
    )]
    NotCached {
        repo: String,
        revision: String,
        cache: PathBuf,
        missing: Vec<String>,
        help: Box<ManualDownload>,
    },

    #[error(
        "cannot reach the model hub at {endpoint} to fetch `{file}` of {repo}@{revision}\n{help}"
    )]
    HubUnreachable {
        endpoint: String,
        repo: String,
        revision: String,
        file: String,
        help: Box<ManualDownload>,
        #[source]
        source: Box<ApiError>,
    },

    #[error(
        "the hub at {endpoint} has no repository {repo} (HTTP {status}); if it is private or gated, \
         log in with `huggingface-cli login` or set HF_TOKEN"
    )]
    RepoNotFound {
        endpoint: String,
        repo: String,
        status: u16,
    },

    #[error("repository {repo} on {endpoint} has no revision `{revision}`")]
    RevisionNotFound {
        endpoint: String,
        repo: String,
        revision: String,
    },

    #[error("{repo}@{revision} on {endpoint} lacks files a model needs: missing {}\n{help}", missing.join("; "))]
    IncompleteHubRepo {
        endpoint: String,
        repo: String,
        revision: String,
        missing: Vec<String>,
        help: Box<ManualDownload>,
    },

    #[error(
        "the hub at {endpoint} answered HTTP {status} for `{file}` of {repo}@{revision}\n{help}"
    )]
    HubStatus {
        endpoint: String,
        repo: String,
        revision: String,
        file: String,
        status: u16,
        help: Box<ManualDownload>,
    },

    #[error(
        "downloading `{file}` of {repo}@{revision} from {endpoint} failed; run again to resume\n{help}"
    )]
    DownloadFailed {
        endpoint: String,
        repo: String,
        revision: String,
        file: String,
        help: Box<ManualDownload>,
        #[source]
        source: Box<ApiError>,
    },

    #[error("cannot set up the hub client")]
    HubClient {
        #[source]
        source: Box<ApiError>,
    },

    #[error("no Hugging Face cache directory: no home directory found; set HF_HOME")]
    NoCacheDir,

    #[error("{} lists an unsafe file name `{name}`", path.display())]
    UnsafeFileName { path: PathBuf, name: String },

    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("{} is not valid JSON", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// Resolves `spec` (directory, preset name, or hub id) into the files of a
/// translation model, downloading what is missing unless offline.
pub fn resolve(spec: &str, opts: &ResolveOptions) -> Result<ResolvedModel, ResolveError> {
    resolve_as(spec, opts)
}

/// [`resolve`] for a chat model (`--summarizer`, `--translator`).
pub fn resolve_chat(spec: &str, opts: &ResolveOptions) -> Result<ResolvedChat, ResolveError> {
    resolve_as(spec, opts)
}

fn resolve_as<L: Layout>(spec: &str, opts: &ResolveOptions) -> Result<Resolved<L>, ResolveError> {
    match ModelSpec::parse(spec)? {
        ModelSpec::LocalDir(dir) => resolve_local_dir(&dir, opts),
        ModelSpec::Preset { preset, revision } => {
            if preset.kind != L::KIND {
                return Err(ResolveError::WrongKind {
                    name: preset.name.clone(),
                    kind: preset.kind,
                });
            }
            let pinned_files = revision.is_none().then(|| preset.files.clone());
            let request = HubRequest {
                name: preset.name.clone(),
                repo: preset.repo.clone(),
                revision: revision.unwrap_or_else(|| preset.revision.clone()),
                licence: Some(preset.licence.clone()),
                files: pinned_files,
                optional_files: preset.optional_files.clone(),
            };
            resolve_hub(&request, opts)
        }
        ModelSpec::Hub { repo, revision } => {
            let request = HubRequest {
                name: repo.clone(),
                repo,
                revision: revision.unwrap_or_else(|| "main".to_string()),
                licence: None,
                files: None,
                optional_files: Vec::new(),
            };
            resolve_hub(&request, opts)
        }
    }
}

/// Whether every file of `preset` is in the HF cache at its pinned revision
/// (the environment decides where the cache is).
pub fn is_downloaded(preset: &Preset) -> bool {
    is_downloaded_in(preset, &ResolveOptions::default())
}

/// [`is_downloaded`] with explicit options.
pub fn is_downloaded_in(preset: &Preset, opts: &ResolveOptions) -> bool {
    let Ok(settings) = HubSettings::from_options(opts) else {
        return false;
    };
    match snapshot_dir(&settings.hub_cache, &preset.repo, &preset.revision) {
        Some(dir) => preset.files.iter().all(|file| dir.join(file).is_file()),
        None => false,
    }
}

/// The hub cache directory these options point at (`<hf_home>/hub`).
pub fn hub_cache_dir(opts: &ResolveOptions) -> Result<PathBuf, ResolveError> {
    HubSettings::from_options(opts).map(|settings| settings.hub_cache)
}

/// What `models info` shows about a model directory.
#[derive(Debug, Clone, PartialEq)]
pub struct DirSummary {
    pub dir: PathBuf,
    pub model_type: Option<String>,
    pub architectures: Vec<String>,
    /// Hidden size (`d_model`, or `hidden_size` in decoder-only configs).
    pub d_model: Option<u64>,
    pub encoder_layers: Option<u64>,
    pub decoder_layers: Option<u64>,
    pub vocab_size: Option<u64>,
    /// Top-level files with their sizes in bytes, sorted by name.
    pub files: Vec<DirFile>,
}

/// One file of a [`DirSummary`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirFile {
    pub name: String,
    pub size: u64,
}

impl std::fmt::Display for DirSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
        writeln!(
            f,
            "family:    {}",
            self.model_type
                .as_deref()
                .unwrap_or("unknown (no model_type)")
        )?;
        writeln!(
            f,
            "size:      d_model {}, {} encoder + {} decoder layers, vocabulary {}",
            show(self.d_model),
            show(self.encoder_layers),
            show(self.decoder_layers),
            show(self.vocab_size)
        )?;
        write!(f, "files:")?;
        for file in &self.files {
            write!(f, "\n  {:<32} {:>12} bytes", file.name, file.size)?;
        }
        Ok(())
    }
}

/// Reads `config.json` of `dir` and lists its files.
pub fn model_dir_summary(dir: &Path) -> Result<DirSummary, ResolveError> {
    let config_path = dir.join("config.json");
    let config = read_json(&config_path)?;
    let number = |keys: &[&str]| keys.iter().find_map(|key| config.get(*key)?.as_u64());
    let encoder_layers = number(&["encoder_layers", "num_layers"]);
    let decoder_layers = number(&["decoder_layers", "num_decoder_layers", "num_hidden_layers"])
        // T5 configs omit num_decoder_layers when it equals num_layers.
        .or(encoder_layers.filter(|_| config.get("num_layers").is_some()));
    let architectures = config
        .get("architectures")
        .and_then(|value| value.as_array())
        .map(|names| {
            names
                .iter()
                .filter_map(|name| name.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();

    let io_error = |source| ResolveError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error)? {
        let entry = entry.map_err(io_error)?;
        // fs::metadata follows the symlinks of HF cache snapshots to their blobs.
        let Ok(metadata) = fs::metadata(entry.path()) else {
            continue;
        };
        if metadata.is_file() {
            files.push(DirFile {
                name: entry.file_name().to_string_lossy().into_owned(),
                size: metadata.len(),
            });
        }
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));

    Ok(DirSummary {
        dir: dir.to_path_buf(),
        model_type: config
            .get("model_type")
            .and_then(|value| value.as_str())
            .map(str::to_string),
        architectures,
        d_model: number(&["d_model", "hidden_size"]),
        encoder_layers,
        decoder_layers,
        vocab_size: number(&["vocab_size"]),
        files,
    })
}

// ---------------------------------------------------------------------------
// Local directories

fn resolve_local_dir<L: Layout>(
    dir: &Path,
    opts: &ResolveOptions,
) -> Result<Resolved<L>, ResolveError> {
    let dir = fs::canonicalize(dir).map_err(|source| ResolveError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let layout = match L::discover(&mut DirSource::new(Some(dir.clone())))? {
        Discovery::Complete(layout) => layout,
        Discovery::Incomplete(missing) => {
            return Err(ResolveError::IncompleteModelDir { dir, missing });
        }
    };
    let mut warnings = Vec::new();
    let identity = files_identity(
        &dir,
        &layout.files(),
        opts.cache_dir.as_deref(),
        &mut warnings,
    )?;
    let name = dir
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string());
    Ok(Resolved {
        dir,
        name,
        repo: None,
        revision: None,
        licence: None,
        identity,
        layout,
        downloaded: Vec::new(),
        warnings,
    })
}

/// The chat-model files in `dir` (one `.gguf`, or config + safetensors +
/// `tokenizer.json`), without hashing anything.
pub fn chat_layout_in(dir: &Path) -> Result<ChatLayout, ResolveError> {
    match discover_chat_layout(&mut DirSource::new(Some(dir.to_path_buf())))? {
        Discovery::Complete(layout) => Ok(layout),
        Discovery::Incomplete(missing) => Err(ResolveError::IncompleteModelDir {
            dir: dir.to_path_buf(),
            missing,
        }),
    }
}

/// `local:` + SHA-256 over (relative name, SHA-256 of content) of every
/// layout file. Names are relative so a moved directory keeps its identity.
fn files_identity(
    dir: &Path,
    files: &[&Path],
    cache_dir: Option<&Path>,
    warnings: &mut Vec<String>,
) -> Result<String, ResolveError> {
    let mut hash_cache = cache_dir.map(|dir| FileHashCache::load(dir, warnings));
    let mut combined = Sha256::new();
    for path in files {
        let name = path
            .strip_prefix(dir)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/");
        let digest = match hash_cache.as_mut() {
            Some(cache) => cache.digest(path)?,
            None => sha256_file(path)?,
        };
        combined.update(name.as_bytes());
        combined.update(b"\0");
        combined.update(digest.as_bytes());
        combined.update(b"\n");
    }
    if let Some(cache) = hash_cache {
        cache.save(warnings);
    }
    Ok(format!("local:{}", to_hex(&combined.finalize())))
}

fn sha256_file(path: &Path) -> Result<String, ResolveError> {
    let io_error = |source| ResolveError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = fs::File::open(path).map_err(io_error)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file.read(&mut buffer).map_err(io_error)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(to_hex(&hasher.finalize()))
}

fn to_hex(bytes: &[u8]) -> String {
    use fmt::Write;
    bytes.iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct FileHashEntry {
    size: u64,
    mtime_ns: u64,
    sha256: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct FileHashCacheFile {
    version: u32,
    entries: BTreeMap<String, FileHashEntry>,
}

/// Remembers file digests keyed by (canonical path, size, mtime). A file
/// rewritten with the same size within the same mtime tick would keep a stale
/// digest; nanosecond mtimes make that practically impossible for model files.
struct FileHashCache {
    path: PathBuf,
    contents: FileHashCacheFile,
    dirty: bool,
}

impl FileHashCache {
    const VERSION: u32 = 1;

    fn load(cache_dir: &Path, warnings: &mut Vec<String>) -> Self {
        let path = cache_dir.join(FILE_HASH_CACHE_NAME);
        let contents = match fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<FileHashCacheFile>(&bytes) {
                Ok(contents) if contents.version == Self::VERSION => contents,
                Ok(_) => FileHashCacheFile::default(),
                Err(err) => {
                    warnings.push(format!(
                        "ignoring unreadable hash cache {}: {err}",
                        path.display()
                    ));
                    FileHashCacheFile::default()
                }
            },
            Err(_) => FileHashCacheFile::default(),
        };
        Self {
            path,
            contents,
            dirty: false,
        }
    }

    fn digest(&mut self, file: &Path) -> Result<String, ResolveError> {
        let io_error = |source| ResolveError::Io {
            path: file.to_path_buf(),
            source,
        };
        let canonical = fs::canonicalize(file).map_err(io_error)?;
        let metadata = fs::metadata(&canonical).map_err(io_error)?;
        let mtime_ns = metadata
            .modified()
            .ok()
            .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
            .and_then(|age| u64::try_from(age.as_nanos()).ok());
        let Some(mtime_ns) = mtime_ns else {
            // Without an mtime a cached digest could not be trusted.
            return sha256_file(&canonical);
        };
        let key = canonical.to_string_lossy().into_owned();
        if let Some(entry) = self.contents.entries.get(&key) {
            if entry.size == metadata.len() && entry.mtime_ns == mtime_ns {
                return Ok(entry.sha256.clone());
            }
        }
        let sha256 = sha256_file(&canonical)?;
        self.contents.entries.insert(
            key,
            FileHashEntry {
                size: metadata.len(),
                mtime_ns,
                sha256: sha256.clone(),
            },
        );
        self.dirty = true;
        Ok(sha256)
    }

    fn save(mut self, warnings: &mut Vec<String>) {
        if !self.dirty {
            return;
        }
        self.contents.version = Self::VERSION;
        // Entries of deleted files would otherwise accumulate forever.
        self.contents
            .entries
            .retain(|path, _| Path::new(path).exists());
        let result = (|| -> io::Result<()> {
            if let Some(parent) = self.path.parent() {
                fs::create_dir_all(parent)?;
            }
            let json = serde_json::to_vec_pretty(&self.contents).map_err(io::Error::other)?;
            // Write-then-rename so a concurrent reader never sees half a file.
            let temporary = self
                .path
                .with_extension(format!("json.{}.tmp", std::process::id()));
            fs::write(&temporary, json)?;
            fs::rename(&temporary, &self.path)
        })();
        if let Err(err) = result {
            warnings.push(format!(
                "could not save the model hash cache {}: {err}",
                self.path.display()
            ));
        }
    }
}

// ---------------------------------------------------------------------------
// Layout discovery, shared by local directories, the HF cache and the hub

/// Somewhere files can be looked up by their name in a repo.
trait FileSource {
    /// `Some(path)` when the file exists (downloading it if need be), `None`
    /// when it does not.
    fn fetch(&mut self, name: &str) -> Result<Option<PathBuf>, ResolveError>;

    /// Names of the `.gguf` files the source can list (a directory can; the
    /// hub is only asked for files by name).
    fn gguf_files(&mut self) -> Result<Vec<String>, ResolveError> {
        Ok(Vec::new())
    }
}

/// A directory on disk: a local model directory or a cache snapshot.
struct DirSource {
    dir: Option<PathBuf>,
    /// A preset's pinned files: other files in a cache snapshot (fetched by
    /// someone else) must not change which weights a preset loads.
    only: Option<Vec<String>>,
}

impl DirSource {
    fn new(dir: Option<PathBuf>) -> Self {
        Self { dir, only: None }
    }

    fn pinned(dir: Option<PathBuf>, files: Option<&[String]>) -> Self {
        Self {
            dir,
            only: files.map(<[String]>::to_vec),
        }
    }

    fn allowed(&self, name: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|files| files.iter().any(|file| file == name))
    }
}

impl FileSource for DirSource {
    fn fetch(&mut self, name: &str) -> Result<Option<PathBuf>, ResolveError> {
        // is_file follows symlinks, so a snapshot link to a deleted blob counts
        // as missing.
        Ok(self
            .dir
            .as_ref()
            .filter(|_| self.allowed(name))
            .map(|dir| dir.join(name))
            .filter(|path| path.is_file()))
    }

    fn gguf_files(&mut self) -> Result<Vec<String>, ResolveError> {
        let Some(dir) = &self.dir else {
            return Ok(Vec::new());
        };
        let io_error = |source| ResolveError::Io {
            path: dir.clone(),
            source,
        };
        let mut names = Vec::new();
        for entry in fs::read_dir(dir).map_err(io_error)? {
            let name = entry
                .map_err(io_error)?
                .file_name()
                .to_string_lossy()
                .into_owned();
            if name.ends_with(".gguf") && self.allowed(&name) && dir.join(&name).is_file() {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }
}

enum Discovery<L> {
    Complete(L),
    /// Human-readable descriptions of what is missing.
    Incomplete(Vec<String>),
}

const WEIGHTS_WANTED: &str =
    "weights (model.safetensors, or model.safetensors.index.json with its \
     shards, or pytorch_model.bin, or one .gguf file)";
const TOKENIZER_WANTED: &str =
    "tokenizer (tokenizer.json, or source.spm + target.spm + vocab.json, or spiece.model)";

/// The files a kind of model needs, found by name in a [`FileSource`].
trait Layout: Sized {
    const KIND: ModelKind;

    fn discover(source: &mut dyn FileSource) -> Result<Discovery<Self>, ResolveError>;

    /// What to ask for when nothing is there yet.
    fn wanted() -> Vec<String>;

    fn files(&self) -> Vec<&Path>;
}

impl Layout for ModelLayout {
    const KIND: ModelKind = ModelKind::Translation;

    fn discover(source: &mut dyn FileSource) -> Result<Discovery<Self>, ResolveError> {
        discover_layout(source)
    }

    fn wanted() -> Vec<String> {
        vec![
            "config.json".to_string(),
            WEIGHTS_WANTED.to_string(),
            TOKENIZER_WANTED.to_string(),
        ]
    }

    fn files(&self) -> Vec<&Path> {
        ModelLayout::files(self)
    }
}

impl Layout for ChatLayout {
    const KIND: ModelKind = ModelKind::Chat;

    fn discover(source: &mut dyn FileSource) -> Result<Discovery<Self>, ResolveError> {
        discover_chat_layout(source)
    }

    fn wanted() -> Vec<String> {
        vec![CHAT_WANTED.to_string()]
    }

    fn files(&self) -> Vec<&Path> {
        ChatLayout::files(self)
    }
}

const CHAT_WANTED: &str = "one .gguf file, or config.json + model.safetensors (or \
     model.safetensors.index.json with its shards) + tokenizer.json";

/// A chat model: one GGUF file (with the tokenizer files beside it when
/// there are any), else config, safetensors and `tokenizer.json`.
fn discover_chat_layout(
    source: &mut dyn FileSource,
) -> Result<Discovery<ChatLayout>, ResolveError> {
    let mut missing = Vec::new();
    let weights = match source.gguf_files()?.as_slice() {
        [single] => source.fetch(single)?.map(WeightFiles::Gguf),
        [] => None,
        several => {
            missing.push(format!(
                "a single .gguf file (found {}; keep the one to use)",
                several.join(", ")
            ));
            return Ok(Discovery::Incomplete(missing));
        }
    };
    let tokenizer = source.fetch("tokenizer.json")?;
    let tokenizer_config = source.fetch("tokenizer_config.json")?;
    let generation_config = source.fetch("generation_config.json")?;
    if let Some(weights) = weights {
        let config = source.fetch("config.json")?;
        return Ok(Discovery::Complete(ChatLayout {
            weights,
            config,
            tokenizer,
            tokenizer_config,
            generation_config,
        }));
    }
    let Some(config) = source.fetch("config.json")? else {
        return Ok(Discovery::Incomplete(ChatLayout::wanted()));
    };
    let weights = match source.fetch("model.safetensors")? {
        Some(single) => Some(WeightFiles::Safetensors {
            index: None,
            shards: vec![single],
        }),
        None => match source.fetch(SAFETENSORS_INDEX)? {
            Some(index) => {
                fetch_shards(source, &index, SAFETENSORS_INDEX, &mut missing)?.map(|shards| {
                    WeightFiles::Safetensors {
                        index: Some(index),
                        shards,
                    }
                })
            }
            None => {
                missing.push("model.safetensors (or model.safetensors.index.json)".to_string());
                None
            }
        },
    };
    if tokenizer.is_none() {
        missing.push("tokenizer.json".to_string());
    }
    match (weights, tokenizer) {
        (Some(weights), Some(tokenizer)) if missing.is_empty() => {
            Ok(Discovery::Complete(ChatLayout {
                weights,
                config: Some(config),
                tokenizer: Some(tokenizer),
                tokenizer_config,
                generation_config,
            }))
        }
        _ => Ok(Discovery::Incomplete(missing)),
    }
}

/// Finds config, weights and tokenizer, preferring safetensors over pickles
/// and `tokenizer.json` over SentencePiece files.
fn discover_layout(source: &mut dyn FileSource) -> Result<Discovery<ModelLayout>, ResolveError> {
    let Some(config) = source.fetch("config.json")? else {
        // Without a config nothing else can be interpreted; probing further
        // would only cost requests.
        return Ok(Discovery::Incomplete(vec!["config.json".to_string()]));
    };
    let generation_config = source.fetch("generation_config.json")?;
    let mut missing = Vec::new();
    let weights = find_weights(source, &mut missing)?;
    let tokenizer = find_tokenizer(source, &mut missing)?;
    let tokenizer_config = source.fetch("tokenizer_config.json")?;
    match (weights, tokenizer) {
        (Some(weights), Some(tokenizer)) if missing.is_empty() => {
            Ok(Discovery::Complete(ModelLayout {
                config,
                generation_config,
                weights,
                tokenizer,
                tokenizer_config,
            }))
        }
        _ => Ok(Discovery::Incomplete(missing)),
    }
}

fn find_weights(
    source: &mut dyn FileSource,
    missing: &mut Vec<String>,
) -> Result<Option<WeightFiles>, ResolveError> {
    if let Some(single) = source.fetch("model.safetensors")? {
        return Ok(Some(WeightFiles::Safetensors {
            index: None,
            shards: vec![single],
        }));
    }
    if let Some(index) = source.fetch(SAFETENSORS_INDEX)? {
        return Ok(
            fetch_shards(source, &index, SAFETENSORS_INDEX, missing)?.map(|shards| {
                WeightFiles::Safetensors {
                    index: Some(index),
                    shards,
                }
            }),
        );
    }
    if let Some(pickle) = source.fetch("pytorch_model.bin")? {
        return Ok(Some(WeightFiles::PytorchBin(pickle)));
    }
    if let Some(index) = source.fetch(PYTORCH_INDEX)? {
        return Ok(fetch_shards(source, &index, PYTORCH_INDEX, missing)?
            .map(|shards| WeightFiles::PytorchShards { index, shards }));
    }
    match source.gguf_files()?.as_slice() {
        [] => {}
        [single] => {
            if let Some(path) = source.fetch(single)? {
                return Ok(Some(WeightFiles::Gguf(path)));
            }
        }
        several => {
            missing.push(format!(
                "a single .gguf file (found {}; keep the one to use)",
                several.join(", ")
            ));
            return Ok(None);
        }
    }
    missing.push(WEIGHTS_WANTED.to_string());
    Ok(None)
}

const SAFETENSORS_INDEX: &str = "model.safetensors.index.json";
const PYTORCH_INDEX: &str = "pytorch_model.bin.index.json";

/// The shards an index lists, or `None` (with what is missing) when some
/// are absent.
fn fetch_shards(
    source: &mut dyn FileSource,
    index: &Path,
    index_name: &str,
    missing: &mut Vec<String>,
) -> Result<Option<Vec<PathBuf>>, ResolveError> {
    let mut shards = Vec::new();
    let mut complete = true;
    for name in shard_names(index)? {
        match source.fetch(&name)? {
            Some(path) => shards.push(path),
            None => {
                complete = false;
                missing.push(format!("{name} (listed in {index_name})"));
            }
        }
    }
    Ok(complete.then_some(shards))
}

fn find_tokenizer(
    source: &mut dyn FileSource,
    missing: &mut Vec<String>,
) -> Result<Option<TokenizerFiles>, ResolveError> {
    if let Some(json) = source.fetch("tokenizer.json")? {
        return Ok(Some(TokenizerFiles::TokenizerJson(json)));
    }
    if let Some(source_spm) = source.fetch("source.spm")? {
        let target_spm = source.fetch("target.spm")?;
        let vocab = source.fetch("vocab.json")?;
        return match (target_spm, vocab) {
            (Some(target_spm), Some(vocab)) => Ok(Some(TokenizerFiles::Marian {
                source_spm,
                target_spm,
                vocab,
            })),
            (target_spm, vocab) => {
                if target_spm.is_none() {
                    missing.push("target.spm (source.spm is present)".to_string());
                }
                if vocab.is_none() {
                    missing.push("vocab.json (source.spm is present)".to_string());
                }
                Ok(None)
            }
        };
    }
    if let Some(spiece) = source.fetch("spiece.model")? {
        return Ok(Some(TokenizerFiles::SentencePiece(spiece)));
    }
    missing.push(TOKENIZER_WANTED.to_string());
    Ok(None)
}

/// Shard file names from a safetensors or pickle index, deduplicated, in
/// sorted order.
fn shard_names(index_path: &Path) -> Result<Vec<String>, ResolveError> {
    let index = read_json(index_path)?;
    let mut names: Vec<String> = index
        .get("weight_map")
        .and_then(|map| map.as_object())
        .map(|map| {
            map.values()
                .filter_map(|value| value.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names.dedup();
    if let Some(unsafe_name) = names.iter().find(|name| !is_safe_relative_name(name)) {
        return Err(ResolveError::UnsafeFileName {
            path: index_path.to_path_buf(),
            name: unsafe_name.clone(),
        });
    }
    Ok(names)
}

fn read_json(path: &Path) -> Result<serde_json::Value, ResolveError> {
    let bytes = fs::read(path).map_err(|source| ResolveError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| ResolveError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// A repo-relative path that cannot escape the directory it is joined to.
fn is_safe_relative_name(name: &str) -> bool {
    !name.is_empty()
        && !name.contains('\\')
        && Path::new(name)
            .components()
            .all(|component| matches!(component, Component::Normal(_)))
}

// ---------------------------------------------------------------------------
// The hub and its cache

struct HubRequest {
    name: String,
    repo: String,
    revision: String,
    licence: Option<String>,
    /// A preset's pinned file list; `None` means discover the layout.
    files: Option<Vec<String>>,
    /// Fetched with `files` when present.
    optional_files: Vec<String>,
}

struct HubSettings {
    endpoint: String,
    hf_home: PathBuf,
    hub_cache: PathBuf,
    offline: bool,
}

impl HubSettings {
    fn from_options(opts: &ResolveOptions) -> Result<Self, ResolveError> {
        let endpoint = opts
            .endpoint
            .clone()
            .or_else(|| non_empty_env("HF_ENDPOINT"))
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string())
            .trim_end_matches('/')
            .to_string();
        let (hf_home, hub_cache) = match &opts.hf_home {
            Some(home) => (home.clone(), home.join("hub")),
            None => {
                let home = default_hf_home().ok_or(ResolveError::NoCacheDir)?;
                let hub = non_empty_env("HF_HUB_CACHE")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| home.join("hub"));
                (home, hub)
            }
        };
        Ok(Self {
            endpoint,
            hf_home,
            hub_cache,
            offline: opts.offline || env_flag("HF_HUB_OFFLINE"),
        })
    }

    fn token(&self) -> Option<String> {
        non_empty_env("HF_TOKEN").or_else(|| {
            fs::read_to_string(self.hf_home.join("token"))
                .ok()
                .map(|token| token.trim().to_string())
                .filter(|token| !token.is_empty())
        })
    }

    fn api(&self, progress: bool) -> Result<Api, ResolveError> {
        ApiBuilder::from_cache(Cache::new(self.hub_cache.clone()))
            .with_endpoint(self.endpoint.clone())
            .with_token(self.token())
            .with_progress(progress)
            // hf-hub's retry loop discards the result of its last attempt, so
            // retries can leave a complete `.part` file behind that no later
            // run can finish. A failed run resumes from `.part` instead.
            .with_retries(0)
            .build()
            .map_err(|source| ResolveError::HubClient {
                source: Box::new(source),
            })
    }
}

/// The Python client's default: `HF_HOME`, else `$XDG_CACHE_HOME/huggingface`,
/// else `~/.cache/huggingface` (on every OS, unlike `dirs::cache_dir`).
fn default_hf_home() -> Option<PathBuf> {
    if let Some(home) = non_empty_env("HF_HOME") {
        return Some(PathBuf::from(home));
    }
    let cache = non_empty_env("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|home| home.join(".cache")))?;
    Some(cache.join("huggingface"))
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|value| value.trim().to_string())
        .filter(|value| !value.is_empty())
}

/// Truthy the way `huggingface_hub` reads its boolean variables.
fn env_flag(name: &str) -> bool {
    non_empty_env(name).is_some_and(|value| is_truthy(&value))
}

fn is_truthy(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "on" | "yes" | "true"
    )
}

fn repo_cache_dir(hub_cache: &Path, repo: &str) -> PathBuf {
    hub_cache.join(format!("models--{}", repo.replace('/', "--")))
}

fn is_commit_hash(revision: &str) -> bool {
    revision.len() == 40 && revision.bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// The commit a revision points at in the cache: a commit hash is its own
/// snapshot (the Python client writes no ref for it); a branch or tag is
/// looked up in `refs/<revision>`.
fn cached_commit(hub_cache: &Path, repo: &str, revision: &str) -> Option<String> {
    if is_commit_hash(revision) {
        return Some(revision.to_ascii_lowercase());
    }
    let reference = repo_cache_dir(hub_cache, repo).join("refs").join(revision);
    let commit = fs::read_to_string(reference).ok()?.trim().to_string();
    // The ref file's content becomes a path component: refuse anything odd.
    is_safe_relative_name(&commit)
        .then_some(commit)
        .filter(|commit| !commit.contains('/'))
}

fn snapshot_dir(hub_cache: &Path, repo: &str, revision: &str) -> Option<PathBuf> {
    let commit = cached_commit(hub_cache, repo, revision)?;
    let dir = repo_cache_dir(hub_cache, repo)
        .join("snapshots")
        .join(commit);
    dir.is_dir().then_some(dir)
}

fn resolve_hub<L: Layout>(
    request: &HubRequest,
    opts: &ResolveOptions,
) -> Result<Resolved<L>, ResolveError> {
    validate_revision(&request.revision)?;
    let settings = HubSettings::from_options(opts)?;
    let help = ManualDownload {
        repo: request.repo.clone(),
        revision: request.revision.clone(),
        files: request.files.clone().unwrap_or_default(),
    };

    // Cache first: a complete snapshot needs no network, not even a check for
    // updates. Presets pin commits, so there is nothing to update; for a
    // branch, pin a commit (or delete the ref) to move on.
    let cached = snapshot_dir(&settings.hub_cache, &request.repo, &request.revision);
    let missing = match check_snapshot(
        cached.clone(),
        request.files.as_deref(),
        &request.optional_files,
    )? {
        Ok(layout) => {
            let dir = cached.ok_or(ResolveError::NoCacheDir)?;
            return Ok(hub_resolved(request, dir, layout, Vec::new()));
        }
        Err(missing) => missing,
    };
    if settings.offline {
        return Err(ResolveError::NotCached {
            repo: request.repo.clone(),
            revision: request.revision.clone(),
            cache: settings.hub_cache.clone(),
            missing,
            help: Box::new(help),
        });
    }

    let mut hub = HubSource {
        api: settings.api(opts.progress)?,
        settings: &settings,
        repo: &request.repo,
        revision: &request.revision,
        commit: cached_commit(&settings.hub_cache, &request.repo, &request.revision),
        help: help.clone(),
        downloaded: Vec::new(),
    };
    let incomplete = |missing| ResolveError::IncompleteHubRepo {
        endpoint: settings.endpoint.clone(),
        repo: request.repo.clone(),
        revision: request.revision.clone(),
        missing,
        help: Box::new(help.clone()),
    };
    let layout = match &request.files {
        Some(files) => {
            let mut missing = Vec::new();
            let mut allowed = files.clone();
            for file in files {
                match hub.fetch(file)? {
                    None => missing.push(file.clone()),
                    Some(path) if file.ends_with(".index.json") => {
                        for shard in shard_names(&path)? {
                            if hub.fetch(&shard)?.is_none() {
                                missing.push(format!("{shard} (listed in {file})"));
                            }
                            allowed.push(shard);
                        }
                    }
                    Some(_) => {}
                }
            }
            if !missing.is_empty() {
                return Err(incomplete(missing));
            }
            for file in &request.optional_files {
                if hub.fetch(file)?.is_some() {
                    allowed.push(file.clone());
                }
            }
            match L::discover(&mut DirSource::pinned(hub.snapshot_dir(), Some(&allowed)))? {
                Discovery::Complete(layout) => layout,
                Discovery::Incomplete(missing) => return Err(incomplete(missing)),
            }
        }
        None => match L::discover(&mut hub)? {
            Discovery::Complete(layout) => layout,
            Discovery::Incomplete(missing) => return Err(incomplete(missing)),
        },
    };
    let dir = hub.snapshot_dir().ok_or_else(|| incomplete(Vec::new()))?;
    let downloaded = std::mem::take(&mut hub.downloaded);
    Ok(hub_resolved(request, dir, layout, downloaded))
}

/// `Ok(layout)` when the snapshot holds a complete model (and every pinned
/// file); `Err(missing)` otherwise.
fn check_snapshot<L: Layout>(
    snapshot: Option<PathBuf>,
    pinned_files: Option<&[String]>,
    optional_files: &[String],
) -> Result<Result<L, Vec<String>>, ResolveError> {
    let Some(dir) = snapshot else {
        let missing = match pinned_files {
            Some(files) => files.to_vec(),
            None => L::wanted(),
        };
        return Ok(Err(missing));
    };
    let mut allowed = Vec::new();
    if let Some(files) = pinned_files {
        let missing: Vec<String> = files
            .iter()
            .filter(|file| !dir.join(file).is_file())
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Ok(Err(missing));
        }
        allowed.extend(files.iter().cloned());
        for index in files.iter().filter(|file| file.ends_with(".index.json")) {
            allowed.extend(shard_names(&dir.join(index))?);
        }
        // An optional file absent from the snapshot may simply not exist in
        // the repo; it cannot make the snapshot incomplete.
        allowed.extend(optional_files.iter().cloned());
    }
    let only = pinned_files.map(|_| allowed.as_slice());
    Ok(
        match L::discover(&mut DirSource::pinned(Some(dir), only))? {
            Discovery::Complete(layout) => Ok(layout),
            Discovery::Incomplete(missing) => Err(missing),
        },
    )
}

fn hub_resolved<L>(
    request: &HubRequest,
    dir: PathBuf,
    layout: L,
    downloaded: Vec<String>,
) -> Resolved<L> {
    let commit = dir
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| request.revision.clone());
    Resolved {
        identity: format!("{}@{commit}", request.repo),
        dir,
        name: request.name.clone(),
        repo: Some(request.repo.clone()),
        revision: Some(commit),
        licence: request.licence.clone(),
        layout,
        downloaded,
        warnings: Vec::new(),
    }
}

/// Fetches files through `hf-hub`, cache first. After the first download it
/// pins the commit the hub reported, so every file comes from one commit even
/// if the branch moves meanwhile.
struct HubSource<'a> {
    api: Api,
    settings: &'a HubSettings,
    repo: &'a str,
    revision: &'a str,
    commit: Option<String>,
    help: ManualDownload,
    downloaded: Vec<String>,
}

/// An `hf-hub` failure sorted by what the user can do about it.
enum HubFailure {
    /// The server answered with an HTTP error status.
    Status {
        status: u16,
        error_code: Option<String>,
    },
    /// No HTTP answer at all: connection refused, DNS, TLS, proxy.
    Unreachable(ApiError),
    /// Anything else, mostly I/O while receiving a body.
    Other(ApiError),
}

fn classify(error: ApiError) -> HubFailure {
    match error {
        ApiError::RequestError(request_error) => {
            // hf-hub hides ureq behind a Box and this crate does not depend on
            // ureq, so its error is inspected through methods: `kind()`
            // reports HTTP status errors as "HTTP status error".
            if request_error.kind().to_string() == "HTTP status error" {
                match (*request_error).into_response() {
                    Some(response) => HubFailure::Status {
                        status: response.status(),
                        error_code: response.header("x-error-code").map(str::to_string),
                    },
                    None => HubFailure::Status {
                        status: 0,
                        error_code: None,
                    },
                }
            } else {
                HubFailure::Unreachable(ApiError::RequestError(request_error))
            }
        }
        other => HubFailure::Other(other),
    }
}

impl HubSource<'_> {
    fn snapshot_dir(&self) -> Option<PathBuf> {
        let commit = self.commit.as_deref().unwrap_or(self.revision);
        snapshot_dir(&self.settings.hub_cache, self.repo, commit)
    }

    fn download(&mut self, name: &str) -> Result<Option<PathBuf>, ResolveError> {
        let revision = self
            .commit
            .clone()
            .unwrap_or_else(|| self.revision.to_string());
        let repo = Repo::with_revision(self.repo.to_string(), RepoType::Model, revision.clone());
        let error_context = |file: &str| {
            (
                self.settings.endpoint.clone(),
                self.repo.to_string(),
                revision.clone(),
                file.to_string(),
                Box::new(self.help.clone()),
            )
        };
        match self.api.repo(repo).download(name) {
            Ok(path) => {
                if self.commit.is_none() {
                    self.commit = snapshot_commit_of(&path, name);
                }
                self.downloaded.push(name.to_string());
                Ok(Some(path))
            }
            Err(error) => {
                let (endpoint, repo, revision, file, help) = error_context(name);
                match classify(error) {
                    HubFailure::Status { status, error_code } => {
                        match (status, error_code.as_deref()) {
                            (_, Some("RepoNotFound")) | (401, _) => {
                                Err(ResolveError::RepoNotFound {
                                    endpoint,
                                    repo,
                                    status,
                                })
                            }
                            (_, Some("RevisionNotFound")) => Err(ResolveError::RevisionNotFound {
                                endpoint,
                                repo,
                                revision,
                            }),
                            (404, _) => Ok(None),
                            _ => Err(ResolveError::HubStatus {
                                endpoint,
                                repo,
                                revision,
                                file,
                                status,
                                help,
                            }),
                        }
                    }
                    HubFailure::Unreachable(source) => Err(ResolveError::HubUnreachable {
                        endpoint,
                        repo,
                        revision,
                        file,
                        help,
                        source: Box::new(source),
                    }),
                    HubFailure::Other(source) => Err(ResolveError::DownloadFailed {
                        endpoint,
                        repo,
                        revision,
                        file,
                        help,
                        source: Box::new(source),
                    }),
                }
            }
        }
    }
}

impl FileSource for HubSource<'_> {
    fn fetch(&mut self, name: &str) -> Result<Option<PathBuf>, ResolveError> {
        if !is_safe_relative_name(name) {
            return Err(ResolveError::UnsafeFileName {
                path: PathBuf::from(self.repo),
                name: name.to_string(),
            });
        }
        if let Some(cached) = self
            .snapshot_dir()
            .map(|dir| dir.join(name))
            .filter(|path| path.is_file())
        {
            return Ok(Some(cached));
        }
        self.download(name)
    }
}

/// hf-hub returns `<cache>/snapshots/<commit>/<name>`; the commit is the
/// directory above the file's own components.
fn snapshot_commit_of(path: &Path, name: &str) -> Option<String> {
    let mut dir = path.to_path_buf();
    for _ in Path::new(name).components() {
        dir.pop();
    }
    dir.file_name()
        .map(|commit| commit.to_string_lossy().into_owned())
}

// ---------------------------------------------------------------------------
// Spec syntax

fn validate_revision(revision: &str) -> Result<(), ResolveError> {
    let invalid = |reason| {
        Err(ResolveError::InvalidRevision {
            revision: revision.to_string(),
            reason,
        })
    };
    if revision.is_empty() {
        return invalid("it is empty");
    }
    if revision.len() > 256 {
        return invalid("it is longer than 256 characters");
    }
    if revision
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\\' || c == '@')
    {
        return invalid("it contains whitespace, control characters, `\\` or `@`");
    }
    // Revisions become cache paths (`refs/<revision>`), so they must not escape.
    if !is_safe_relative_name(revision) {
        return invalid(
            "it must be a branch, tag or commit, not a path with `..` or a leading `/`",
        );
    }
    Ok(())
}

/// Hub repo ids: `owner/name`, each part alphanumeric with `-`, `_`, `.`,
/// not starting or ending with `-` or `.`, without `--` or `..`.
fn is_hub_id(candidate: &str) -> bool {
    let Some((owner, name)) = candidate.split_once('/') else {
        return false;
    };
    let valid_part = |part: &str| {
        !part.is_empty()
            && part.len() <= 96
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && !part.starts_with(['-', '.'])
            && !part.ends_with(['-', '.'])
            && !part.contains("--")
            && !part.contains("..")
    };
    valid_part(owner) && valid_part(name)
}

/// Specs that can only have been meant as paths are never sent to the hub.
fn looks_like_path(spec: &str) -> bool {
    spec.starts_with(['.', '/', '~'])
        || spec.ends_with('/')
        || spec.contains('\\')
        || spec.matches('/').count() > 1
}

#[cfg(test)]
mod tests {
    use super::*;

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
                "nllb-200-distilled-600M" | "nllb-200-distilled-1.3B" => {
                    ("pickle", "tokenizer.json")
                }
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
        assert_eq!(preset.family, "marian");
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
        let layout =
            check_snapshot::<ModelLayout>(Some(dir.path().to_path_buf()), Some(&pinned), &[])
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
        let err = resolve(&dir.path().to_string_lossy(), &ResolveOptions::default())
            .expect_err("incomplete");
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
        assert!(message.contains("pass `./opus-mt-bn-en`"), "{message}");
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
        assert!(unknown.to_string().contains("pass `./name`"));
    }
}
