//! Which file plays each role in a model directory (weights, tokenizer,
//! configuration), found the same way in a local directory, the HF cache
//! and on the hub.

use std::fs;
use std::path::{Component, Path, PathBuf};

use super::presets::ModelKind;
use super::ResolveError;

/// The files a model needs, each resolved to a path.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelLayout {
    pub(crate) config: PathBuf,
    pub(crate) generation_config: Option<PathBuf>,
    pub weights: WeightFiles,
    pub tokenizer: TokenizerFiles,
    pub(crate) tokenizer_config: Option<PathBuf>,
}

/// The files that define a translation network, without its tokenizer:
/// what timing a `save_pretrained` directory needs (`anubad bench
/// --model-dir`), where no text is ever tokenized.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkLayout {
    pub(crate) config: PathBuf,
    pub(crate) generation_config: Option<PathBuf>,
    pub weights: WeightFiles,
}

/// The files of a decoder-only chat model: one GGUF file (tokenizer and chat
/// template usually inside it; `tokenizer.json` / `tokenizer_config.json`
/// beside it take precedence), or `config.json` + safetensors +
/// `tokenizer.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatLayout {
    /// [`WeightFiles::Gguf`] or [`WeightFiles::Safetensors`].
    pub(crate) weights: WeightFiles,
    pub(crate) config: Option<PathBuf>,
    pub(crate) tokenizer: Option<PathBuf>,
    pub(crate) tokenizer_config: Option<PathBuf>,
    pub(crate) generation_config: Option<PathBuf>,
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
    pub(crate) fn files(&self) -> Vec<&Path> {
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

/// The chat-model files in `dir` (one `.gguf`, or config + safetensors +
/// `tokenizer.json`), without hashing anything.
#[cfg(test)]
pub(crate) fn chat_layout_in(dir: &Path) -> Result<ChatLayout, ResolveError> {
    match discover_chat_layout(&mut DirSource::new(Some(dir.to_path_buf())))? {
        Discovery::Complete(layout) => Ok(layout),
        Discovery::Incomplete(missing) => Err(ResolveError::IncompleteModelDir {
            dir: dir.to_path_buf(),
            missing,
        }),
    }
}

// ---------------------------------------------------------------------------
// Layout discovery, shared by local directories, the HF cache and the hub

/// Somewhere files can be looked up by their name in a repo.
pub(crate) trait FileSource {
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
pub(crate) struct DirSource {
    dir: Option<PathBuf>,
    /// A preset's pinned files: other files in a cache snapshot (fetched by
    /// someone else) must not change which weights a preset loads.
    only: Option<Vec<String>>,
}

impl DirSource {
    pub(crate) fn new(dir: Option<PathBuf>) -> Self {
        Self { dir, only: None }
    }

    pub(crate) fn pinned(dir: Option<PathBuf>, files: Option<&[String]>) -> Self {
        Self {
            dir,
            only: files.map(<[String]>::to_vec),
        }
    }

    /// `dir` with `gguf` as its only `.gguf` file: a model named by its
    /// weights file, whose folder may hold other `.gguf` models.
    pub(crate) fn with_only_gguf(dir: PathBuf, gguf: &str) -> Self {
        let only = fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(|entry| entry.ok())
                    .map(|entry| entry.file_name().to_string_lossy().into_owned())
                    .filter(|name| name == gguf || !name.ends_with(".gguf"))
                    .collect()
            })
            .unwrap_or_else(|_| vec![gguf.to_string()]);
        Self {
            dir: Some(dir),
            only: Some(only),
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

pub(crate) enum Discovery<L> {
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
pub(crate) trait Layout: Sized {
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
    let mut missing = Vec::new();
    let network = find_network(source, config, &mut missing)?;
    let tokenizer = find_tokenizer(source, &mut missing)?;
    let tokenizer_config = source.fetch("tokenizer_config.json")?;
    match (network, tokenizer) {
        (Some(network), Some(tokenizer)) if missing.is_empty() => {
            Ok(Discovery::Complete(ModelLayout {
                config: network.config,
                generation_config: network.generation_config,
                weights: network.weights,
                tokenizer,
                tokenizer_config,
            }))
        }
        _ => Ok(Discovery::Incomplete(missing)),
    }
}

/// The network files of a local directory; tokenizer files are neither
/// needed nor looked for.
pub fn network_layout_in(dir: &Path) -> Result<NetworkLayout, ResolveError> {
    let source = &mut DirSource::new(Some(dir.to_path_buf()));
    let mut missing = Vec::new();
    let network = match source.fetch("config.json")? {
        Some(config) => find_network(source, config, &mut missing)?,
        None => {
            missing.push("config.json".to_string());
            None
        }
    };
    network
        .filter(|_| missing.is_empty())
        .ok_or_else(|| ResolveError::IncompleteModelDir {
            dir: dir.to_path_buf(),
            missing,
        })
}

/// Generation config and weights beside `config`.
fn find_network(
    source: &mut dyn FileSource,
    config: PathBuf,
    missing: &mut Vec<String>,
) -> Result<Option<NetworkLayout>, ResolveError> {
    let generation_config = source.fetch("generation_config.json")?;
    Ok(find_weights(source, missing)?.map(|weights| NetworkLayout {
        config,
        generation_config,
        weights,
    }))
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
pub(crate) fn shard_names(index_path: &Path) -> Result<Vec<String>, ResolveError> {
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

pub(crate) fn read_json(path: &Path) -> Result<serde_json::Value, ResolveError> {
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
pub(crate) fn is_safe_relative_name(name: &str) -> bool {
    !name.is_empty()
        && !name.contains('\\')
        && Path::new(name)
            .components()
            .all(|component| matches!(component, Component::Normal(_)))
}
