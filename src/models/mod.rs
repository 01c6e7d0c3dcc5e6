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

pub mod gguf_export;
pub mod licence;
pub mod weights;

mod hub;
mod identity;
mod info;
mod layout;
mod presets;
mod read_safetensors;
mod spec;

use std::fs;
use std::io::{self};
use std::path::{Path, PathBuf};

use hf_hub::api::sync::ApiError;

pub use hub::{is_downloaded, is_downloaded_in, ManualDownload};
use hub::{resolve_hub, HubRequest};
use identity::files_identity;
pub use info::{model_dir_summary, DirSummary};
#[cfg(test)]
pub(crate) use layout::chat_layout_in;
pub use layout::{
    network_layout_in, ChatLayout, ModelLayout, NetworkLayout, TokenizerFiles, WeightFiles,
};
use layout::{DirSource, Discovery, Layout};
pub use presets::{find_preset, presets, ModelKind, Preset, PresetFamily};
pub(crate) use spec::ModelSpec;

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
pub(crate) type ResolvedModel = Resolved<ModelLayout>;
/// A chat model whose files are all on this machine.
pub(crate) type ResolvedChat = Resolved<ChatLayout>;

/// A model whose files are all on this machine; `L` says which file plays
/// each role.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved<L> {
    /// Directory with the hub layout: the local directory itself, or the
    /// `snapshots/<commit>` directory of the HF cache.
    pub dir: PathBuf,
    /// Preset name, hub id, or the local directory's name.
    pub name: String,
    pub(crate) repo: Option<String>,
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
        ModelSpec::LocalDir(dir) => resolve_local_dir(&dir, None, opts),
        ModelSpec::LocalGguf(file) => {
            let dir = match file.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
                _ => PathBuf::from("."),
            };
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
            resolve_local_dir(&dir, name, opts)
        }
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

/// What `models pull` and `models info` show of a model of either kind.
pub struct AnyModel {
    pub name: String,
    pub dir: std::path::PathBuf,
    pub repo: Option<String>,
    pub revision: Option<String>,
    pub licence: Option<String>,
    /// The GGUF file of a chat model, whose metadata describes it.
    pub gguf_chat_model: Option<std::path::PathBuf>,
}

/// A translation model, or else a chat model (presets say which they are).
pub fn resolve_any(name: &str, options: &ResolveOptions) -> Result<AnyModel, ResolveError> {
    match resolve(name, options) {
        Ok(model) => Ok(AnyModel {
            name: model.name,
            dir: model.dir,
            repo: model.repo,
            revision: model.revision,
            licence: model.licence,
            gguf_chat_model: None,
        }),
        Err(translation_error) => {
            let chat_preset = matches!(
                translation_error,
                ResolveError::WrongKind {
                    kind: ModelKind::Chat,
                    ..
                }
            );
            // A directory or hub repo that is no translation model may be a
            // chat model; say what was wrong as a translation model if not.
            let chat = match resolve_chat(name, options) {
                Ok(chat) => chat,
                Err(chat_error) if chat_preset => return Err(chat_error),
                Err(_) => return Err(translation_error),
            };
            let gguf_chat_model = match &chat.layout.weights {
                WeightFiles::Gguf(path) => Some(path.clone()),
                _ => None,
            };
            Ok(AnyModel {
                name: chat.name,
                dir: chat.dir,
                repo: chat.repo,
                revision: chat.revision,
                licence: chat.licence,
                gguf_chat_model,
            })
        }
    }
}

// ---------------------------------------------------------------------------
// Local directories

/// A model in a local directory; with `gguf`, that file of the directory
/// is the weights (`--model path/model.gguf`).
fn resolve_local_dir<L: Layout>(
    dir: &Path,
    gguf: Option<String>,
    opts: &ResolveOptions,
) -> Result<Resolved<L>, ResolveError> {
    let dir = fs::canonicalize(dir).map_err(|source| ResolveError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let source = || match &gguf {
        Some(file) => DirSource::with_only_gguf(dir.clone(), file),
        None => DirSource::new(Some(dir.clone())),
    };
    let layout = match L::discover(&mut source())? {
        Discovery::Complete(layout) => layout,
        Discovery::Incomplete(missing) => {
            let name = match &gguf {
                Some(file) => dir.join(file).display().to_string(),
                None => dir.display().to_string(),
            };
            // A chat model given to --model (or the reverse) is a common
            // slip; name the right flag rather than the files "missing".
            let other_kind = match L::KIND {
                ModelKind::Translation => ModelKind::Chat,
                ModelKind::Chat => ModelKind::Translation,
            };
            let is_other_kind = match other_kind {
                ModelKind::Chat => matches!(
                    ChatLayout::discover(&mut source()),
                    Ok(Discovery::Complete(_))
                ),
                ModelKind::Translation => matches!(
                    ModelLayout::discover(&mut source()),
                    Ok(Discovery::Complete(_))
                ),
            };
            if is_other_kind {
                return Err(ResolveError::WrongKind {
                    name,
                    kind: other_kind,
                });
            }
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
    let name = match gguf.as_deref().and_then(|file| file.strip_suffix(".gguf")) {
        Some(stem) => stem.to_string(),
        None => dir
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string()),
    };
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

#[cfg(test)]
mod tests;
