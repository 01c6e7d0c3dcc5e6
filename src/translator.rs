//! A loaded translation model: tokenizer, network and decoding settings for
//! one model directory, with the family read from `config.json`.
//!
//! `translate` takes one batch of segments and returns their English text;
//! batching by length, caching and progress are the pipeline's business.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device};

use crate::generate::{generate, GenerationConfig, GenerationConfigError, GenerationOverrides};
use crate::marian_tokenizer::MarianTokenizer;
use crate::resolve::{ModelLayout, ResolvedModel, TokenizerFiles};
use crate::seq2seq::marian::{Marian, MarianConfig};
use crate::seq2seq::EncoderDecoder;
use crate::weights::{Weights, WeightsError};

/// Where the model runs. CUDA and Metal need the crate built with the
/// `cuda` or `metal` feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
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
    #[error("{path}: model_type {model_type:?} is not supported yet (supported: marian)")]
    UnsupportedFamily { path: PathBuf, model_type: String },
    #[error("{dir}: Marian needs source.spm, target.spm and vocab.json")]
    MissingMarianTokenizer { dir: PathBuf },
    #[error("cannot load the tokenizer of {dir}")]
    Tokenizer {
        dir: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(transparent)]
    Weights(#[from] WeightsError),
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
    #[error("device {0:?} is not available: {1}")]
    Device(DeviceChoice, String),
    #[error("translation failed")]
    Run(#[source] candle_core::Error),
    #[error("tokenization failed")]
    Tokenize(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub fn select_device(choice: DeviceChoice) -> Result<Device, TranslatorError> {
    let unavailable = |e: candle_core::Error| TranslatorError::Device(choice, e.to_string());
    match choice {
        DeviceChoice::Cpu => Ok(Device::Cpu),
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

/// The family named by `config.json`'s `model_type`.
fn model_type(config_path: &Path) -> Result<String, TranslatorError> {
    let read = || -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(config_path)?)?;
        Ok(json
            .get("model_type")
            .and_then(|v| v.as_str())
            .ok_or("no model_type field")?
            .to_string())
    };
    read().map_err(|source| TranslatorError::Config {
        path: config_path.to_path_buf(),
        source,
    })
}

pub struct Translator {
    model: Box<dyn EncoderDecoder>,
    tokenizer: MarianTokenizer,
    generation: GenerationConfig,
}

impl Translator {
    /// Loads a resolved model on `device`; the family comes from its
    /// `config.json`.
    pub fn load(
        model: &ResolvedModel,
        device: &Device,
        overrides: &GenerationOverrides,
    ) -> Result<Self, TranslatorError> {
        let layout: &ModelLayout = &model.layout;
        let dir = &model.dir;
        let family = model_type(&layout.config)?;
        if family != "marian" {
            return Err(TranslatorError::UnsupportedFamily {
                path: layout.config.clone(),
                model_type: family,
            });
        }
        let config: MarianConfig = std::fs::read_to_string(&layout.config)
            .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
            .and_then(|text| serde_json::from_str(&text).map_err(|e| e.into()))
            .map_err(|source| TranslatorError::Config {
                path: layout.config.clone(),
                source,
            })?;
        let TokenizerFiles::Marian {
            source_spm,
            target_spm,
            vocab,
        } = &layout.tokenizer
        else {
            return Err(TranslatorError::MissingMarianTokenizer { dir: dir.clone() });
        };
        let tokenizer =
            MarianTokenizer::from_files(source_spm, target_spm, vocab).map_err(|e| {
                TranslatorError::Tokenizer {
                    dir: dir.clone(),
                    source: Box::new(e),
                }
            })?;
        let mut generation =
            GenerationConfig::from_files(&layout.config, layout.generation_config.as_deref())
                .map_err(|source| TranslatorError::Generation {
                    dir: dir.clone(),
                    source,
                })?;
        generation.apply(overrides);
        let weights = Weights::open(&layout.weights, DType::F32, device, None)?;
        let model = Marian::load(config, weights).map_err(|source| TranslatorError::Model {
            dir: dir.clone(),
            source,
        })?;
        Ok(Self {
            model: Box::new(model),
            tokenizer,
            generation,
        })
    }

    pub fn generation(&self) -> &GenerationConfig {
        &self.generation
    }

    /// Tokens a segment may have, the end-of-sequence token included.
    pub fn max_source_tokens(&self) -> usize {
        self.model.max_source_tokens()
    }

    pub fn token_count(&self, text: &str) -> usize {
        self.tokenizer.token_count(text)
    }

    /// Token ids of a segment, as the model sees it.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, TranslatorError> {
        self.tokenizer
            .encode(text)
            .map_err(|e| TranslatorError::Tokenize(Box::new(e)))
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
                let text = self
                    .tokenizer
                    .decode(ids)
                    .map_err(|e| TranslatorError::Tokenize(Box::new(e)))?;
                Ok((text, ids.len().saturating_sub(1)))
            })
            .collect()
    }

    /// Full decoder sequences (start token included) for token-level checks.
    pub fn generate_ids(&self, segments: &[String]) -> Result<Vec<Vec<u32>>, TranslatorError> {
        let sources = segments
            .iter()
            .map(|s| self.encode(s))
            .collect::<Result<Vec<_>, _>>()?;
        generate(self.model.as_ref(), &sources, &self.generation).map_err(TranslatorError::Run)
    }

    /// Logits at each position of `decoder_input` (teacher forcing), fed one
    /// token at a time through the same cached path the search uses.
    pub fn teacher_forced_logits(
        &self,
        source: &str,
        decoder_input: &[u32],
    ) -> Result<Vec<Vec<f32>>, TranslatorError> {
        let ids = self.encode(source)?;
        let mut session = self.model.start(&[ids], 1).map_err(TranslatorError::Run)?;
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
