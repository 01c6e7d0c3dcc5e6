//! A loaded translation model: tokenizer, network and decoding settings for
//! one model directory, with the family read from `config.json`.
//!
//! `translate` takes one batch of segments and returns their English text;
//! batching by length, caching and progress are the pipeline's business.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device};

use crate::models::weights::{Quantization, Weights, WeightsError};
use crate::models::{
    network_layout_in, ModelLayout, NetworkLayout, ResolveError, ResolvedModel, TokenizerFiles,
    WeightFiles,
};
use crate::nmt::generate::{
    generate, GenerationConfig, GenerationConfigError, GenerationOverrides,
};
use crate::nmt::m2m100::M2M100;
use crate::nmt::marian::Marian;
use crate::nmt::t5::T5;
use crate::nmt::EncoderDecoder;
use crate::tokenize::bangla_normalizer;
use crate::tokenize::hf::HfTokenizer;
use crate::tokenize::marian::MarianTokenizer;
use crate::tokenize::t5::T5Tokenizer;

/// Where the model runs. CUDA and Metal need the crate built with the
/// `cuda` or `metal` feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum DeviceChoice {
    #[default]
    Cpu,
    Cuda,
    Metal,
    Auto,
}

#[derive(Debug, thiserror::Error)]
pub enum TranslatorError {
    #[error("cannot read {path}")]
    Config {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(
        "{path}: model_type {model_type:?} is not supported (supported: marian, m2m_100, t5, mt5)"
    )]
    UnsupportedFamily { path: PathBuf, model_type: String },
    #[error("{dir}: the tokenizer has no {language} token to choose the language")]
    MissingLanguage {
        dir: PathBuf,
        language: &'static str,
    },
    #[error("cannot load the tokenizer of {dir}")]
    Tokenizer {
        dir: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(transparent)]
    Weights(#[from] WeightsError),
    #[error(transparent)]
    Layout(#[from] ResolveError),
    #[error("cannot build the model from {dir}")]
    Model {
        dir: PathBuf,
        #[source]
        source: candle_core::Error,
    },
    #[error("bad generation settings in {dir}")]
    Generation {
        dir: PathBuf,
        #[source]
        source: GenerationConfigError,
    },
    #[error("--device {} is not available: {reason}", format!("{choice:?}").to_lowercase())]
    Device {
        choice: DeviceChoice,
        reason: String,
    },
    #[error("translation failed")]
    Run(#[source] candle_core::Error),
    #[error("tokenization failed")]
    Tokenize(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub fn select_device(choice: DeviceChoice) -> Result<Device, TranslatorError> {
    let unavailable = |e: candle_core::Error| TranslatorError::Device {
        choice,
        reason: e.to_string(),
    };
    let not_built = |feature: &str| TranslatorError::Device {
        choice,
        reason: format!(
            "this anubad was built without {feature} support; build it with \
             `cargo install --path . --features {feature}` (or `cargo build --release \
             --features {feature}`)"
        ),
    };
    match choice {
        DeviceChoice::Cpu => Ok(Device::Cpu),
        DeviceChoice::Cuda if !cfg!(feature = "cuda") => Err(not_built("cuda")),
        DeviceChoice::Metal if !cfg!(feature = "metal") => Err(not_built("metal")),
        DeviceChoice::Cuda => Device::new_cuda(0).map_err(unavailable),
        DeviceChoice::Metal => Device::new_metal(0).map_err(unavailable),
        DeviceChoice::Auto => {
            if candle_core::utils::cuda_is_available() {
                Device::new_cuda(0).map_err(unavailable)
            } else if candle_core::utils::metal_is_available() {
                Device::new_metal(0).map_err(unavailable)
            } else {
                Ok(Device::Cpu)
            }
        }
    }
}

/// The model families this tool runs, named by `config.json`'s
/// `model_type` (or a GGUF file's `general.architecture`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Marian,
    /// M2M100 and NLLB-200.
    M2M100,
    /// T5 v1.1, mT5, BanglaT5, MADLAD-400.
    T5,
}

impl Family {
    pub(crate) fn from_model_type(model_type: &str) -> Option<Self> {
        match model_type {
            "marian" => Some(Family::Marian),
            "m2m_100" | "nllb" => Some(Family::M2M100),
            "t5" | "mt5" => Some(Family::T5),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Family::Marian => "marian",
            Family::M2M100 => "m2m_100",
            Family::T5 => "t5",
        }
    }
}

/// The family of a resolved model, from its GGUF metadata or `config.json`.
pub fn model_family(model: &ResolvedModel) -> Result<Family, TranslatorError> {
    let layout = &model.layout;
    let config_json = read_config(&layout.config)?;
    let gguf_architecture = match &layout.weights {
        WeightFiles::Gguf(path) => gguf_architecture(path),
        _ => None,
    };
    family_of(&layout.config, &config_json, gguf_architecture.as_deref())
}

/// `general.architecture` of a GGUF file, read from its header only.
fn gguf_architecture(path: &Path) -> Option<String> {
    let mut file = std::fs::File::open(path).ok()?;
    let content = candle_core::quantized::gguf_file::Content::read(&mut file).ok()?;
    content
        .metadata
        .get("general.architecture")?
        .to_string()
        .ok()
        .cloned()
}

fn family_of(
    config_path: &Path,
    config_json: &serde_json::Value,
    gguf_architecture: Option<&str>,
) -> Result<Family, TranslatorError> {
    let model_type = gguf_architecture
        .or_else(|| config_json.get("model_type").and_then(|v| v.as_str()))
        .unwrap_or_default();
    Family::from_model_type(model_type).ok_or_else(|| TranslatorError::UnsupportedFamily {
        path: config_path.to_path_buf(),
        model_type: model_type.to_string(),
    })
}

/// Numeric precision of the weights and activations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Precision {
    #[default]
    F32,
    F16,
    Bf16,
}

impl Precision {
    pub(crate) fn dtype(self) -> DType {
        match self {
            Precision::F32 => DType::F32,
            Precision::F16 => DType::F16,
            Precision::Bf16 => DType::BF16,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
            Precision::Bf16 => "bf16",
        }
    }
}

/// How to load a model.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub device: Device,
    pub precision: Precision,
    /// Quantize the linear layers of dense weights while loading.
    pub quantize: Option<Quantization>,
    pub overrides: GenerationOverrides,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            device: Device::Cpu,
            precision: Precision::F32,
            quantize: None,
            overrides: GenerationOverrides::default(),
        }
    }
}

/// The source language NLLB and M2M100 are told (their tokenizers prepend a
/// language token) and the target they are forced to start with.
const NLLB_SOURCE: &str = "ben_Beng";
const NLLB_TARGET: &str = "eng_Latn";
const M2M100_SOURCE: &str = "__bn__";
const M2M100_TARGET: &str = "__en__";
/// MADLAD-400 picks its output language from a prefix token on the source.
const MADLAD_TARGET_PREFIX: &str = "<2en>";

/// Output limit for models whose files set none (T5 checkpoints often
/// don't). transformers would stop at 20 tokens, cutting most news sentences
/// short; 256 tokens covers any sentence the splitter lets through.
const UNDECLARED_MAX_LENGTH: usize = 256;

fn declares_max_length(layout: &ModelLayout, config_json: &serde_json::Value) -> bool {
    let in_generation_config = layout
        .generation_config
        .as_deref()
        .and_then(|path| read_config(path).ok())
        .is_some_and(|json| json.get("max_length").is_some_and(|v| !v.is_null()));
    in_generation_config || config_json.get("max_length").is_some_and(|v| !v.is_null())
}

fn read_config(path: &Path) -> Result<serde_json::Value, TranslatorError> {
    let read = || -> Result<serde_json::Value, Box<dyn std::error::Error + Send + Sync>> {
        Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
    };
    read().map_err(|source| TranslatorError::Config {
        path: path.to_path_buf(),
        source,
    })
}

fn parse_config<T: serde::de::DeserializeOwned>(
    path: &Path,
    json: &serde_json::Value,
) -> Result<T, TranslatorError> {
    serde_json::from_value(json.clone()).map_err(|source| TranslatorError::Config {
        path: path.to_path_buf(),
        source: Box::new(source),
    })
}

/// Text in, token ids out, for whichever tokenizer files the model ships.
enum SourceTokenizer {
    Marian(MarianTokenizer),
    Json(HfTokenizer),
    T5(T5Tokenizer),
}

/// What is done to a segment's text before tokenization.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SourcePreparation {
    None,
    /// BanglaT5 was trained on text passed through its authors' normalizer.
    BanglaNormalizer,
    /// MADLAD-400: `<2en> ` before the text.
    Prefix(String),
}

impl SourcePreparation {
    fn apply<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        match self {
            SourcePreparation::None => text.into(),
            SourcePreparation::BanglaNormalizer => bangla_normalizer::normalize(text).into(),
            SourcePreparation::Prefix(prefix) => format!("{prefix} {text}").into(),
        }
    }

    fn describe(&self) -> serde_json::Value {
        match self {
            SourcePreparation::None => serde_json::Value::Null,
            SourcePreparation::BanglaNormalizer => {
                serde_json::json!({"normalizer": bangla_normalizer::UPSTREAM})
            }
            SourcePreparation::Prefix(prefix) => serde_json::json!({ "prefix": prefix }),
        }
    }
}

impl SourceTokenizer {
    fn encode(&self, text: &str) -> Result<Vec<u32>, TranslatorError> {
        let tokenize = |e: Box<dyn std::error::Error + Send + Sync>| TranslatorError::Tokenize(e);
        match self {
            SourceTokenizer::Marian(t) => t.encode(text).map_err(|e| tokenize(Box::new(e))),
            SourceTokenizer::Json(t) => t.encode(text).map_err(|e| tokenize(Box::new(e))),
            SourceTokenizer::T5(t) => t.encode(text).map_err(|e| tokenize(Box::new(e))),
        }
    }

    fn token_count(&self, text: &str) -> usize {
        match self {
            SourceTokenizer::Marian(t) => t.token_count(text),
            SourceTokenizer::Json(t) => t.token_count(text),
            SourceTokenizer::T5(t) => t.token_count(text),
        }
    }

    fn decode(&self, ids: &[u32]) -> Result<String, TranslatorError> {
        let tokenize = |e: Box<dyn std::error::Error + Send + Sync>| TranslatorError::Tokenize(e);
        match self {
            SourceTokenizer::Marian(t) => t.decode(ids).map_err(|e| tokenize(Box::new(e))),
            SourceTokenizer::Json(t) => t.decode(ids).map_err(|e| tokenize(Box::new(e))),
            SourceTokenizer::T5(t) => t.decode(ids).map_err(|e| tokenize(Box::new(e))),
        }
    }

    fn token_id(&self, token: &str) -> Option<u32> {
        match self {
            SourceTokenizer::Marian(_) => None,
            SourceTokenizer::Json(t) => t.token_id(token),
            SourceTokenizer::T5(t) => t.token_id(token),
        }
    }
}

/// A model's network and the generation settings its files declare, without
/// a tokenizer: what `anubad bench --model-dir` times on a directory that
/// `save_pretrained` wrote.
pub struct Network {
    family: Family,
    pub(crate) model: Box<dyn EncoderDecoder>,
    /// As declared by `config.json` and `generation_config.json`, with no
    /// family-specific changes (NLLB's target language is not forced).
    pub(crate) generation: GenerationConfig,
}

impl Network {
    /// Loads the network in `dir`: `config.json` and weights in any layout
    /// [`Translator::load`] reads; tokenizer files are not needed.
    pub fn load(dir: &Path, options: &LoadOptions) -> Result<Self, TranslatorError> {
        let layout = network_layout_in(dir)?;
        NetworkParts::open(dir, &layout, options)?.build()
    }

    pub fn family(&self) -> Family {
        self.family
    }
}

/// Everything read before the network is built, so that [`Translator::load`]
/// can check the tokenizer before spending time on the weights.
struct NetworkParts {
    dir: PathBuf,
    config: PathBuf,
    config_json: serde_json::Value,
    family: Family,
    weights: Weights,
    generation: GenerationConfig,
}

impl NetworkParts {
    fn open(
        dir: &Path,
        layout: &NetworkLayout,
        options: &LoadOptions,
    ) -> Result<Self, TranslatorError> {
        let dtype = options.precision.dtype();
        let weights = Weights::open(&layout.weights, dtype, &options.device, options.quantize)?;
        let config_json = read_config(&layout.config)?;
        let family = family_of(
            &layout.config,
            &config_json,
            weights.gguf().and_then(|gguf| gguf.architecture()),
        )?;
        let generation =
            GenerationConfig::from_files(&layout.config, layout.generation_config.as_deref())
                .map_err(|source| TranslatorError::Generation {
                    dir: dir.to_path_buf(),
                    source,
                })?;
        Ok(Self {
            dir: dir.to_path_buf(),
            config: layout.config.clone(),
            config_json,
            family,
            weights,
            generation,
        })
    }

    fn build(self) -> Result<Network, TranslatorError> {
        let NetworkParts {
            dir,
            config,
            config_json,
            family,
            weights,
            generation,
        } = self;
        let model_error = |source| TranslatorError::Model { dir, source };
        let model: Box<dyn EncoderDecoder> = match family {
            Family::Marian => Box::new(
                Marian::load(parse_config(&config, &config_json)?, weights).map_err(model_error)?,
            ),
            Family::M2M100 => Box::new(
                M2M100::load(parse_config(&config, &config_json)?, weights).map_err(model_error)?,
            ),
            Family::T5 => Box::new(
                T5::load(parse_config(&config, &config_json)?, weights).map_err(model_error)?,
            ),
        };
        Ok(Network {
            family,
            model,
            generation,
        })
    }
}

pub struct Translator {
    family: Family,
    model: Box<dyn EncoderDecoder>,
    tokenizer: SourceTokenizer,
    preparation: SourcePreparation,
    generation: GenerationConfig,
    precision: Precision,
    quantization: Option<&'static str>,
}

impl Translator {
    /// Loads a resolved model; the family comes from its `config.json` (or
    /// the GGUF file's metadata), never from a flag.
    pub fn load(model: &ResolvedModel, options: &LoadOptions) -> Result<Self, TranslatorError> {
        let layout: &ModelLayout = &model.layout;
        let dir = &model.dir;
        let parts = NetworkParts::open(
            dir,
            &NetworkLayout {
                config: layout.config.clone(),
                generation_config: layout.generation_config.clone(),
                weights: layout.weights.clone(),
            },
            options,
        )?;
        let family = parts.family;
        let tokenizer_error =
            |source: Box<dyn std::error::Error + Send + Sync>| TranslatorError::Tokenizer {
                dir: dir.clone(),
                source,
            };
        let tokenizer = match &layout.tokenizer {
            TokenizerFiles::Marian {
                source_spm,
                target_spm,
                vocab,
            } => SourceTokenizer::Marian(
                MarianTokenizer::from_files(source_spm, target_spm, vocab)
                    .map_err(|e| tokenizer_error(Box::new(e)))?,
            ),
            TokenizerFiles::TokenizerJson(path) => {
                let tokenizer =
                    HfTokenizer::from_file(path).map_err(|e| tokenizer_error(Box::new(e)))?;
                let tokenizer = if family == Family::M2M100 {
                    let source = if tokenizer.token_id(NLLB_SOURCE).is_some() {
                        NLLB_SOURCE
                    } else {
                        M2M100_SOURCE
                    };
                    tokenizer
                        .with_source_language(source)
                        .map_err(|e| tokenizer_error(Box::new(e)))?
                } else {
                    tokenizer
                };
                SourceTokenizer::Json(tokenizer)
            }
            TokenizerFiles::SentencePiece(spiece) => SourceTokenizer::T5(
                T5Tokenizer::from_files(spiece, layout.tokenizer_config.as_deref())
                    .map_err(|e| tokenizer_error(Box::new(e)))?,
            ),
        };
        let mut generation = parts.generation.clone();
        let mut preparation = SourcePreparation::None;
        match family {
            Family::Marian => {}
            Family::M2M100 => {
                let target = [NLLB_TARGET, M2M100_TARGET]
                    .into_iter()
                    .find_map(|language| tokenizer.token_id(language))
                    .ok_or_else(|| TranslatorError::MissingLanguage {
                        dir: dir.clone(),
                        language: NLLB_TARGET,
                    })?;
                generation.forced_bos_token_id = Some(target);
            }
            Family::T5 => {
                preparation = if tokenizer.token_id(MADLAD_TARGET_PREFIX).is_some() {
                    SourcePreparation::Prefix(MADLAD_TARGET_PREFIX.to_string())
                } else {
                    SourcePreparation::BanglaNormalizer
                };
            }
        }
        if !declares_max_length(layout, &parts.config_json) {
            generation.max_length = UNDECLARED_MAX_LENGTH;
        }
        generation.apply(&options.overrides);
        let network = parts.build()?.model;
        let quantization = match &layout.weights {
            WeightFiles::Gguf(_) => Some("gguf"),
            _ => options.quantize.map(Quantization::name),
        };
        Ok(Self {
            family,
            model: network,
            tokenizer,
            preparation,
            generation,
            precision: options.precision,
            quantization,
        })
    }

    pub fn family(&self) -> Family {
        self.family
    }

    /// Every setting that can change an output: generation settings,
    /// precision, quantization and source preparation. Part of the cache key.
    pub fn settings_json(&self) -> serde_json::Value {
        let mut settings = self.generation.settings_json();
        if let Some(map) = settings.as_object_mut() {
            if self.precision != Precision::F32 {
                map.insert("precision".into(), self.precision.name().into());
            }
            if let Some(quantization) = self.quantization {
                map.insert("quantization".into(), quantization.into());
            }
            let preparation = self.preparation.describe();
            if !preparation.is_null() {
                map.insert("source_preparation".into(), preparation);
            }
        }
        settings
    }

    #[cfg(test)]
    pub(crate) fn generation(&self) -> &GenerationConfig {
        &self.generation
    }

    /// Tokens a segment may have, the end-of-sequence token included.
    pub(crate) fn max_source_tokens(&self) -> usize {
        self.model.max_source_tokens()
    }

    pub(crate) fn token_count(&self, text: &str) -> usize {
        self.tokenizer.token_count(&self.preparation.apply(text))
    }

    /// Token ids of a segment, as the model sees it.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, TranslatorError> {
        self.tokenizer.encode(&self.preparation.apply(text))
    }

    /// Translates one batch of encoded segments; every output depends on its
    /// own input only. Returns the English text and the number of generated
    /// tokens of each.
    pub fn translate_encoded(
        &self,
        sources: &[Vec<u32>],
    ) -> Result<Vec<(String, usize)>, TranslatorError> {
        let generated = generate(self.model.as_ref(), sources, &self.generation)
            .map_err(TranslatorError::Run)?;
        generated
            .iter()
            .map(|ids| {
                let text = self.tokenizer.decode(ids)?;
                Ok((text, ids.len().saturating_sub(1)))
            })
            .collect()
    }

    /// Full decoder sequences (start token included) for token-level checks.
    pub fn generate_encoded(&self, sources: &[Vec<u32>]) -> Result<Vec<Vec<u32>>, TranslatorError> {
        generate(self.model.as_ref(), sources, &self.generation).map_err(TranslatorError::Run)
    }

    /// Logits at each position of `decoder_input` for the encoded source
    /// (teacher forcing), fed one token at a time through the same cached
    /// path the search uses.
    pub fn teacher_forced_logits(
        &self,
        source: &[u32],
        decoder_input: &[u32],
    ) -> Result<Vec<Vec<f32>>, TranslatorError> {
        let mut session = self
            .model
            .start(&[source.to_vec()], 1)
            .map_err(TranslatorError::Run)?;
        decoder_input
            .iter()
            .map(|&token| {
                let logits = session.step(&[vec![token]]).map_err(TranslatorError::Run)?;
                let mut rows = logits.to_vec2::<f32>().map_err(TranslatorError::Run)?;
                Ok(rows.remove(0))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{resolve, ResolveOptions};

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name)
    }

    fn load(dir: &Path, options: &LoadOptions) -> Translator {
        let resolved = resolve(&dir.to_string_lossy(), &ResolveOptions::default()).unwrap();
        Translator::load(&resolved, options).unwrap()
    }

    #[test]
    fn every_preset_names_a_family_this_build_runs() {
        let translation_presets = crate::models::presets()
            .into_iter()
            .filter(|preset| preset.kind == crate::models::ModelKind::Translation);
        for preset in translation_presets {
            assert!(
                Family::from_model_type(preset.family.name()).is_some(),
                "{}: family {}",
                preset.name,
                preset.family
            );
        }
    }

    #[test]
    fn each_family_gets_its_source_preparation_and_forced_language() {
        let options = LoadOptions::default();
        let marian = load(&fixture("marian-tiny"), &options);
        assert_eq!(marian.family(), Family::Marian);
        assert_eq!(marian.preparation, SourcePreparation::None);

        let nllb = load(&fixture("nllb-tiny"), &options);
        assert_eq!(nllb.family(), Family::M2M100);
        let eng = nllb.tokenizer.token_id(NLLB_TARGET).unwrap();
        assert_eq!(nllb.generation().forced_bos_token_id, Some(eng));
        let ben = nllb.tokenizer.token_id(NLLB_SOURCE).unwrap();
        assert_eq!(nllb.encode("আজ").unwrap().first(), Some(&ben));

        let t5 = load(&fixture("t5-tiny"), &options);
        assert_eq!(t5.family(), Family::T5);
        assert_eq!(t5.preparation, SourcePreparation::BanglaNormalizer);
        assert_eq!(
            t5.settings_json()["source_preparation"]["normalizer"],
            bangla_normalizer::UPSTREAM
        );
    }

    #[test]
    fn a_model_without_max_length_gets_room_for_a_sentence() {
        let dir = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(fixture("t5-tiny")).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_owned();
            if name != "expected.json" {
                std::fs::copy(&path, dir.path().join(name)).unwrap();
            }
        }
        std::fs::write(
            dir.path().join("generation_config.json"),
            r#"{"decoder_start_token_id": 0, "eos_token_id": 1, "pad_token_id": 0}"#,
        )
        .unwrap();
        let translator = load(dir.path(), &LoadOptions::default());
        assert_eq!(translator.generation().max_length, UNDECLARED_MAX_LENGTH);

        let options = LoadOptions {
            overrides: GenerationOverrides {
                max_length: Some(12),
                ..GenerationOverrides::default()
            },
            ..LoadOptions::default()
        };
        assert_eq!(load(dir.path(), &options).generation().max_length, 12);
        // The fixture's own generation_config.json declares 64.
        assert_eq!(
            load(&fixture("t5-tiny"), &LoadOptions::default())
                .generation()
                .max_length,
            64
        );
    }

    #[test]
    fn precision_and_quantization_are_part_of_the_settings() {
        let plain = load(&fixture("nllb-tiny"), &LoadOptions::default()).settings_json();
        assert!(plain.get("precision").is_none() && plain.get("quantization").is_none());
        let options = LoadOptions {
            precision: Precision::Bf16,
            quantize: Some(Quantization::Q8_0),
            ..LoadOptions::default()
        };
        let settings = load(&fixture("nllb-tiny"), &options).settings_json();
        assert_eq!(settings["precision"], "bf16");
        assert_eq!(settings["quantization"], "q8_0");
    }
}
