//! The networks under [`super::decoder::DecoderChat`]: Qwen2, Qwen3 and
//! Llama from candle-transformers (GGUF or safetensors) and our own Gemma 3,
//! behind one enum that forwards tokens, feeds prompts in chunks and clears
//! its KV cache between conversations.

use std::fs::File;
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::{llama, quantized_llama, quantized_qwen3, qwen2, qwen3};
use serde_json::Value as Json;

use super::gemma3::{Gemma3, Gemma3Config, TensorNames};
use super::qwen2::Qwen2;
use super::BoxError;
use crate::models::weights::Weights;
use crate::models::WeightFiles;

use crate::tokenize::gguf::metadata_uint;

/// Most prompt tokens fed to the model in one forward pass. Attention over a
/// chunk costs memory in proportion to chunk × prompt rather than prompt², so
/// a long article does not need a prompt²-sized mask and score matrix.
pub(crate) const PREFILL_CHUNK_TOKENS: usize = 512;

/// `general.architecture` values this module loads.
pub(crate) const SUPPORTED_GGUF_ARCHITECTURES: &[&str] = &["qwen2", "qwen3", "llama", "gemma3"];

/// `config.json` `model_type` values this module loads from safetensors.
pub(crate) const SUPPORTED_SAFETENSORS_MODEL_TYPES: &[&str] =
    &["qwen2", "qwen3", "llama", "gemma3_text"];

/// The network underneath: candle's implementations, and our own Gemma 3
/// (see [`super::gemma3`] for why) for GGUF and safetensors alike.
pub(crate) enum Backbone {
    /// Our own (see [`super::qwen2`]): its KV cache can be cut back.
    QuantizedQwen2(Qwen2),
    QuantizedQwen3(quantized_qwen3::ModelWeights),
    QuantizedLlama(quantized_llama::ModelWeights),
    Qwen2(qwen2::ModelForCausalLM),
    Qwen3(qwen3::ModelForCausalLM),
    /// candle's Llama keeps its KV cache outside the model; `empty_cache`
    /// holds the precomputed rotary tables, cloned (cheaply) to clear it.
    Llama {
        model: llama::Llama,
        cache: llama::Cache,
        empty_cache: llama::Cache,
    },
    Gemma3(Gemma3),
}

impl Backbone {
    /// Logits for the last position of `input_ids` (batch 1), as a vector.
    pub(crate) fn forward(
        &mut self,
        input_ids: &Tensor,
        position: usize,
    ) -> candle_core::Result<Tensor> {
        let logits = match self {
            Self::QuantizedQwen2(model) => model.forward(input_ids, position)?,
            Self::QuantizedQwen3(model) => model.forward(input_ids, position)?,
            Self::QuantizedLlama(model) => model.forward(input_ids, position)?,
            Self::Qwen2(model) => model.forward(input_ids, position)?,
            Self::Qwen3(model) => model.forward(input_ids, position)?,
            Self::Llama { model, cache, .. } => model.forward(input_ids, position, cache)?,
            Self::Gemma3(model) => model.forward(input_ids, position)?,
        };
        logits.flatten_all()?.to_dtype(DType::F32)
    }

    /// Feeds `input` (not empty) at `position` onwards, at most `chunk`
    /// tokens per forward pass, each chunk extending the KV cache the
    /// previous ones filled; returns the last position's logits.
    pub(crate) fn prefill(
        &mut self,
        input: &[u32],
        position: usize,
        chunk: usize,
        device: &Device,
    ) -> candle_core::Result<Tensor> {
        let mut logits = None;
        let mut chunk_position = position;
        for chunk in input.chunks(chunk.max(1)) {
            let chunk_tensor = Tensor::new(chunk, device)?.unsqueeze(0)?;
            logits = Some(self.forward(&chunk_tensor, chunk_position)?);
            chunk_position += chunk.len();
        }
        logits.ok_or_else(|| candle_core::Error::Msg("nothing to feed the model".into()))
    }

    pub(crate) fn clear_kv_cache(&mut self) {
        match self {
            Self::QuantizedQwen2(model) => model.clear_kv_cache(),
            Self::QuantizedQwen3(model) => model.clear_kv_cache(),
            Self::QuantizedLlama(model) => model.clear_kv_cache(),
            Self::Qwen2(model) => model.clear_kv_cache(),
            Self::Qwen3(model) => model.clear_kv_cache(),
            Self::Llama {
                cache, empty_cache, ..
            } => *cache = empty_cache.clone(),
            Self::Gemma3(model) => model.clear_kv_cache(),
        }
    }

    /// Keeps the first `positions` of the KV cache, for a prompt that
    /// starts with the tokens fed there; false when this network can only
    /// drop its cache whole (candle's keep theirs private), and then it is
    /// dropped.
    pub(crate) fn keep_kv(&mut self, positions: usize) -> candle_core::Result<bool> {
        match self {
            Self::QuantizedQwen2(model) => model.keep_kv(positions).map(|()| true),
            Self::Gemma3(model) => model.keep_kv(positions).map(|()| true),
            _ => {
                self.clear_kv_cache();
                Ok(false)
            }
        }
    }

    /// The network in a GGUF file (`content` is its header, read from
    /// `file`), by `general.architecture`, and the context it takes.
    pub(crate) fn from_gguf(
        path: &Path,
        content: gguf_file::Content,
        file: &mut File,
        device: &Device,
    ) -> Result<(Self, usize), BoxError> {
        let metadata = &content.metadata;
        let architecture = metadata
            .get("general.architecture")
            .ok_or("no general.architecture in the GGUF metadata")?
            .to_string()?
            .clone();
        let declared_context =
            metadata_uint(metadata, &format!("{architecture}.context_length"))
                .ok_or_else(|| format!("no {architecture}.context_length in the GGUF metadata"))?;
        let (model, context_length) = match architecture.as_str() {
            "qwen2" => (
                Backbone::QuantizedQwen2(Qwen2::from_gguf(&content, file, device)?),
                declared_context,
            ),
            "qwen3" => {
                // candle's Qwen3 keeps its attention and KV cache in f16
                // unless `general.dtype` (which llama.cpp never writes) says
                // f32; on a CPU, f32 is what transformers computes in (f16
                // put the tiny reference model's logits 1.4e-3 off).
                let mut content = content;
                if device.is_cpu() {
                    content
                        .metadata
                        .insert("general.dtype".into(), gguf_file::Value::U32(0));
                }
                (
                    Backbone::QuantizedQwen3(quantized_qwen3::ModelWeights::from_gguf(
                        content, file, device,
                    )?),
                    declared_context,
                )
            }
            // candle precomputes rotary tables for MAX_SEQ_LEN positions only.
            "llama" => (
                Backbone::QuantizedLlama(quantized_llama::ModelWeights::from_gguf(
                    content, file, device,
                )?),
                declared_context.min(quantized_llama::MAX_SEQ_LEN),
            ),
            "gemma3" => {
                let vocab_size = content
                    .tensor_infos
                    .get("token_embd.weight")
                    .ok_or("no token_embd.weight in the GGUF file")?
                    .shape
                    .dims()[0];
                let config = Gemma3Config::from_gguf(metadata, vocab_size)?;
                let weights = Weights::open(
                    &WeightFiles::Gguf(path.to_path_buf()),
                    DType::F32,
                    device,
                    None,
                )?;
                let model = Gemma3::load(config, &weights, TensorNames::Gguf)?;
                (Backbone::Gemma3(model), declared_context)
            }
            other => {
                return Err(format!(
                    "GGUF architecture {other:?} is not supported ({} are)",
                    SUPPORTED_GGUF_ARCHITECTURES.join(", ")
                )
                .into())
            }
        };
        Ok((model, context_length))
    }

    /// The network a `config.json` (`config_text`) describes, by
    /// `model_type`, from safetensors `shards`, and the context it takes.
    pub(crate) fn from_safetensors(
        config_text: &str,
        shards: &[PathBuf],
        device: &Device,
    ) -> Result<(Self, usize), BoxError> {
        let config: Json = serde_json::from_str(config_text)?;
        let model_type = config
            .get("model_type")
            .and_then(Json::as_str)
            .unwrap_or_default();
        // bf16 matmuls are slow or missing on CPU; accelerators take bf16.
        let dtype = if device.is_cpu() {
            DType::F32
        } else {
            DType::BF16
        };
        // SAFETY: the files are memory-mapped read-only; like every mmap
        // user we rely on nobody truncating them while the model is loaded.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(shards, dtype, device)? };
        let (model, context_length) = match model_type {
            "qwen2" => {
                let cfg: qwen2::Config = serde_json::from_str(config_text)?;
                let model = qwen2::ModelForCausalLM::new(&cfg, vb)?;
                (Backbone::Qwen2(model), cfg.max_position_embeddings)
            }
            "qwen3" => {
                let cfg: qwen3::Config = serde_json::from_str(config_text)?;
                let model = qwen3::ModelForCausalLM::new(&cfg, vb)?;
                (Backbone::Qwen3(model), cfg.max_position_embeddings)
            }
            "llama" => {
                let cfg =
                    serde_json::from_str::<llama::LlamaConfig>(config_text)?.into_config(false);
                // candle's Llama::load panics on a missing layer tensor.
                if let Some(missing) = llama_tensor_names(&cfg)
                    .into_iter()
                    .find(|name| !vb.contains_tensor(name))
                {
                    return Err(format!("no tensor {missing} in the safetensors files").into());
                }
                let model = llama::Llama::load(vb, &cfg)?;
                let empty_cache = llama::Cache::new(true, dtype, &cfg, device)?;
                let backbone = Backbone::Llama {
                    model,
                    cache: empty_cache.clone(),
                    empty_cache,
                };
                (backbone, cfg.max_position_embeddings)
            }
            "gemma3_text" => {
                let cfg = Gemma3Config::from_transformers(&config)?;
                let context_length = cfg.max_position_embeddings;
                let weights = Weights::from_var_builder(vb, None);
                let model = Gemma3::load(cfg, &weights, TensorNames::Transformers)?;
                (Backbone::Gemma3(model), context_length)
            }
            "gemma3" => {
                return Err(
                    "model_type \"gemma3\" is Gemma 3 with its vision tower, which is \
                     not supported with safetensors; use a text-only checkpoint \
                     (model_type gemma3_text, e.g. gemma-3-1b-it) or a GGUF file"
                        .into(),
                )
            }
            other => {
                return Err(format!(
                    "model_type {other:?} is not supported with safetensors ({} are)",
                    SUPPORTED_SAFETENSORS_MODEL_TYPES.join(", ")
                )
                .into())
            }
        };
        Ok((model, context_length))
    }
}

/// The tensors candle's `Llama::load` reads, under Hugging Face names.
fn llama_tensor_names(cfg: &llama::Config) -> Vec<String> {
    let mut names = vec![
        "model.embed_tokens.weight".to_string(),
        "model.norm.weight".into(),
    ];
    if !cfg.tie_word_embeddings {
        names.push("lm_head.weight".into());
    }
    for layer in 0..cfg.num_hidden_layers {
        for name in [
            "self_attn.q_proj",
            "self_attn.k_proj",
            "self_attn.v_proj",
            "self_attn.o_proj",
            "mlp.gate_proj",
            "mlp.up_proj",
            "mlp.down_proj",
            "input_layernorm",
            "post_attention_layernorm",
        ] {
            names.push(format!("model.layers.{layer}.{name}.weight"));
        }
    }
    names
}
