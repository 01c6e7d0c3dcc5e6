//! Decoder-only instruction-tuned LLMs (Qwen2/2.5, Qwen3, Llama 3.x,
//! Gemma 3) on candle, behind [`ChatModel`]: loads a directory holding one
//! GGUF file or `config.json` + safetensors, builds the tokenizer (from
//! `tokenizer.json` or the GGUF metadata), renders the model's own chat
//! template and generates greedily or with seeded sampling, feeding long
//! prompts in chunks so that attention memory stays bounded.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::generation::LogitsProcessor;
use candle_transformers::models::{
    llama, quantized_llama, quantized_qwen2, quantized_qwen3, qwen2, qwen3,
};
use serde_json::Value as Json;
use tokenizers::Tokenizer;

use super::gemma3::{Gemma3, Gemma3Config, TensorNames};
use super::{ChatError, ChatMessage, ChatModel, Sampling};
use crate::resolve::{self, ChatLayout, WeightFiles};
use crate::weights::Weights;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Tokens that end an assistant turn in the chat formats we support; any of
/// them present in the vocabulary stops generation, whatever the metadata says,
/// because GGUF conversions often name only the base model's end-of-text.
const END_OF_TURN_TOKENS: &[&str] = &[
    "<|im_end|>",
    "<|endoftext|>",
    "<|eot_id|>",
    "<|eom_id|>",
    "<|end_of_text|>",
    "<end_of_turn>",
];

/// Most prompt tokens fed to the model in one forward pass. Attention over a
/// chunk costs memory in proportion to chunk × prompt rather than prompt², so
/// a long article does not need a prompt²-sized mask and score matrix.
const PREFILL_CHUNK_TOKENS: usize = 512;

/// Pre-tokenizer regexes llama.cpp uses for byte-level BPE vocabularies
/// (`tokenizer.ggml.pre`), copied from the models' own `tokenizer.json`.
const QWEN2_PRETOKENIZER_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const LLAMA3_PRETOKENIZER_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const GPT2_PRETOKENIZER_REGEX: &str =
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

/// `general.architecture` values this module loads.
pub const SUPPORTED_GGUF_ARCHITECTURES: &[&str] = &["qwen2", "qwen3", "llama", "gemma3"];

/// `config.json` `model_type` values this module loads from safetensors.
pub const SUPPORTED_SAFETENSORS_MODEL_TYPES: &[&str] = &["qwen2", "qwen3", "llama", "gemma3_text"];

/// The network underneath: candle's implementations, and our own Gemma 3
/// (see [`super::gemma3`] for why) for GGUF and safetensors alike.
enum Backbone {
    QuantizedQwen2(quantized_qwen2::ModelWeights),
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
    fn forward(&mut self, input_ids: &Tensor, position: usize) -> candle_core::Result<Tensor> {
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
    fn prefill(
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

    fn clear_kv_cache(&mut self) {
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

    /// The network in a GGUF file (`content` is its header, read from
    /// `file`), by `general.architecture`, and the context it takes.
    fn from_gguf(
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
                Backbone::QuantizedQwen2(quantized_qwen2::ModelWeights::from_gguf(
                    content, file, device,
                )?),
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
    fn from_safetensors(
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

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Finish {
    EndOfTurn,
    MaxNewTokens,
    ContextFull,
}

/// A chat template compiled once, rendered per conversation.
struct ChatTemplate {
    env: minijinja::Environment<'static>,
    bos_token: String,
    eos_token: String,
}

impl ChatTemplate {
    const NAME: &'static str = "chat";

    fn new(source: String, bos_token: String, eos_token: String) -> Result<Self, BoxError> {
        let mut env = minijinja::Environment::new();
        // The settings transformers' `apply_chat_template` renders with.
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function(
            "raise_exception",
            |message: String| -> Result<String, minijinja::Error> {
                Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    message,
                ))
            },
        );
        env.add_template_owned(Self::NAME, source)?;
        Ok(Self {
            env,
            bos_token,
            eos_token,
        })
    }

    fn render(&self, messages: &[ChatMessage]) -> Result<String, ChatError> {
        let template = self
            .env
            .get_template(Self::NAME)
            .map_err(|e| ChatError::Template(Box::new(e)))?;
        template
            .render(minijinja::context! {
                messages => messages,
                add_generation_prompt => true,
                // Qwen3's hybrid models think aloud unless told not to; a
                // summary or translation wants the answer only.
                enable_thinking => false,
                bos_token => &self.bos_token,
                eos_token => &self.eos_token,
            })
            .map_err(|e| ChatError::Template(Box::new(e)))
    }
}

/// An instruction-tuned decoder-only model ready to chat.
pub struct DecoderChat {
    identity: String,
    model: Backbone,
    tokenizer: Tokenizer,
    template: ChatTemplate,
    stop_ids: Vec<u32>,
    context_length: usize,
    prefill_chunk_tokens: usize,
    device: Device,
}

impl std::fmt::Debug for DecoderChat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecoderChat")
            .field("identity", &self.identity)
            .field("context_length", &self.context_length)
            .field("stop_ids", &self.stop_ids)
            .finish_non_exhaustive()
    }
}

impl DecoderChat {
    /// Loads the model in `dir`: either exactly one `.gguf` file (Qwen2/2.5,
    /// Qwen3, Llama 3.x or Gemma 3, chosen by `general.architecture`), or
    /// `config.json` + `*.safetensors` + `tokenizer.json` (Qwen2/2.5, Qwen3,
    /// Llama 3.x or text-only Gemma 3, by `model_type`). `tokenizer.json` / `tokenizer_config.json` beside a
    /// GGUF file take precedence over its embedded tokenizer and template.
    pub fn load_dir(dir: &Path, identity: String, device: &Device) -> Result<Self, ChatError> {
        let layout = resolve::chat_layout_in(dir).map_err(|source| ChatError::Load {
            path: dir.display().to_string(),
            source: Box::new(source),
        })?;
        Self::load(&layout, identity, device)
    }

    /// Loads the files `layout` names (what [`resolve::resolve_chat`] found).
    pub fn load(layout: &ChatLayout, identity: String, device: &Device) -> Result<Self, ChatError> {
        let load_error = |path: &Path, source: BoxError| ChatError::Load {
            path: path.display().to_string(),
            source,
        };
        let tokenizer_config = match &layout.tokenizer_config {
            Some(path) => read_json_if_present(path)?,
            None => None,
        };
        let generation_config = match &layout.generation_config {
            Some(path) => read_json_if_present(path)?,
            None => None,
        };
        match &layout.weights {
            WeightFiles::Gguf(gguf) => Self::load_gguf(
                gguf,
                layout.tokenizer.as_deref(),
                tokenizer_config.as_ref(),
                generation_config.as_ref(),
                identity,
                device,
            )
            .map_err(|source| load_error(gguf, source)),
            WeightFiles::Safetensors { shards, .. } => {
                let (Some(config), Some(tokenizer)) = (&layout.config, &layout.tokenizer) else {
                    let path = shards
                        .first()
                        .map(PathBuf::as_path)
                        .unwrap_or(Path::new(""));
                    return Err(load_error(
                        path,
                        "safetensors weights need config.json and tokenizer.json beside them"
                            .into(),
                    ));
                };
                Self::load_safetensors(
                    config,
                    shards,
                    tokenizer,
                    tokenizer_config.as_ref(),
                    generation_config.as_ref(),
                    identity,
                    device,
                )
                .map_err(|source| load_error(config, source))
            }
            WeightFiles::PytorchBin(path) | WeightFiles::PytorchShards { index: path, .. } => {
                Err(load_error(
                    path,
                    "chat models load from GGUF or safetensors, not PyTorch pickles".into(),
                ))
            }
        }
    }

    fn load_gguf(
        path: &Path,
        tokenizer_json: Option<&Path>,
        tokenizer_config: Option<&Json>,
        generation_config: Option<&Json>,
        identity: String,
        device: &Device,
    ) -> Result<Self, BoxError> {
        let mut file = File::open(path)?;
        let content = gguf_file::Content::read(&mut file)?;
        let metadata = content.metadata.clone();
        let (model, context_length) = Backbone::from_gguf(path, content, &mut file, device)?;

        let tokenizer = match tokenizer_json {
            Some(path) => Tokenizer::from_file(path)?,
            None => tokenizer_from_gguf(&metadata)?,
        };

        let template_source = tokenizer_config
            .and_then(chat_template_from_config)
            .or_else(|| {
                metadata
                    .get("tokenizer.chat_template")
                    .and_then(|v| v.to_string().ok())
                    .cloned()
            })
            .ok_or("no chat template (tokenizer_config.json or tokenizer.chat_template)")?;

        let id_to_string = |key: &str| {
            metadata_uint(&metadata, key)
                .and_then(|id| u32::try_from(id).ok())
                .and_then(|id| tokenizer.id_to_token(id))
        };
        let bos_token = special_token_from_config(tokenizer_config, "bos_token")
            .or_else(|| id_to_string("tokenizer.ggml.bos_token_id"))
            .unwrap_or_default();
        let eos_token = special_token_from_config(tokenizer_config, "eos_token")
            .or_else(|| id_to_string("tokenizer.ggml.eos_token_id"))
            .unwrap_or_default();

        let mut stop_ids = Vec::new();
        if let Some(id) = metadata_uint(&metadata, "tokenizer.ggml.eos_token_id") {
            stop_ids.extend(u32::try_from(id).ok());
        }
        stop_ids.extend(eos_ids_from_config(generation_config));
        let template = ChatTemplate::new(template_source, bos_token.clone(), eos_token.clone())?;
        Ok(Self::assemble(
            identity,
            model,
            tokenizer,
            template,
            stop_ids,
            &eos_token,
            context_length,
            device,
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn load_safetensors(
        config_path: &Path,
        shards: &[PathBuf],
        tokenizer_json: &Path,
        tokenizer_config: Option<&Json>,
        generation_config: Option<&Json>,
        identity: String,
        device: &Device,
    ) -> Result<Self, BoxError> {
        let config_text = std::fs::read_to_string(config_path)?;
        let config: Json = serde_json::from_str(&config_text)?;
        let (model, context_length) = Backbone::from_safetensors(&config_text, shards, device)?;

        let tokenizer = Tokenizer::from_file(tokenizer_json)?;
        let template_source = tokenizer_config
            .and_then(chat_template_from_config)
            .ok_or("no chat_template in tokenizer_config.json")?;
        let bos_token =
            special_token_from_config(tokenizer_config, "bos_token").unwrap_or_default();
        let eos_token =
            special_token_from_config(tokenizer_config, "eos_token").unwrap_or_default();
        let mut stop_ids = eos_ids_from_config(generation_config);
        stop_ids.extend(eos_ids_from_config(Some(&config)));
        let template = ChatTemplate::new(template_source, bos_token, eos_token.clone())?;
        Ok(Self::assemble(
            identity,
            model,
            tokenizer,
            template,
            stop_ids,
            &eos_token,
            context_length,
            device,
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        identity: String,
        model: Backbone,
        tokenizer: Tokenizer,
        template: ChatTemplate,
        mut stop_ids: Vec<u32>,
        eos_token: &str,
        context_length: usize,
        device: &Device,
    ) -> Self {
        let named_stops = END_OF_TURN_TOKENS
            .iter()
            .copied()
            .chain(std::iter::once(eos_token))
            .filter_map(|token| tokenizer.token_to_id(token));
        stop_ids.extend(named_stops);
        stop_ids.sort_unstable();
        stop_ids.dedup();
        Self {
            identity,
            model,
            tokenizer,
            template,
            stop_ids,
            context_length,
            prefill_chunk_tokens: PREFILL_CHUNK_TOKENS,
            device: device.clone(),
        }
    }

    /// The prompt text `messages` become, generation prompt included.
    pub fn render_prompt(&self, messages: &[ChatMessage]) -> Result<String, ChatError> {
        self.template.render(messages)
    }

    /// Token ids that end the assistant's turn.
    pub fn stop_ids(&self) -> &[u32] {
        &self.stop_ids
    }

    fn encode(&self, text: &str) -> Result<Vec<u32>, BoxError> {
        // The template already wrote any BOS; the tokenizer must not add another.
        Ok(self.tokenizer.encode(text, false)?.get_ids().to_vec())
    }

    /// Generated ids (stop token excluded) and why generation ended.
    fn generate_ids(
        &mut self,
        messages: &[ChatMessage],
        sampling: &Sampling,
    ) -> Result<(Vec<u32>, Finish), ChatError> {
        let prompt = self.render_prompt(messages)?;
        let prompt_ids = self.encode(&prompt).map_err(ChatError::Generate)?;
        if prompt_ids.len() > self.context_length {
            return Err(ChatError::PromptTooLong {
                tokens: prompt_ids.len(),
                limit: self.context_length,
            });
        }
        if prompt_ids.is_empty() {
            return Err(ChatError::Generate("the prompt has no tokens".into()));
        }
        let generate_error = |e: candle_core::Error| ChatError::Generate(Box::new(e));
        // Each call is a fresh conversation (one article): nothing cached
        // from the last one may leak into it.
        self.model.clear_kv_cache();
        let mut logits_processor =
            LogitsProcessor::new(sampling.seed, Some(sampling.temperature), None);

        let mut generated = Vec::new();
        let mut input = prompt_ids;
        let mut position = 0;
        let finish = loop {
            if generated.len() >= sampling.max_new_tokens {
                break Finish::MaxNewTokens;
            }
            // Every generated token but the last is fed back at the next position.
            if position + input.len() > self.context_length {
                break Finish::ContextFull;
            }
            let logits = self
                .forward_in_chunks(&input, position)
                .map_err(generate_error)?;
            position += input.len();
            let next = logits_processor.sample(&logits).map_err(generate_error)?;
            if self.stop_ids.contains(&next) {
                break Finish::EndOfTurn;
            }
            generated.push(next);
            input = vec![next];
        };
        Ok((generated, finish))
    }

    fn forward_in_chunks(&mut self, input: &[u32], position: usize) -> candle_core::Result<Tensor> {
        self.model
            .prefill(input, position, self.prefill_chunk_tokens, &self.device)
    }
}

impl ChatModel for DecoderChat {
    fn identity(&self) -> &str {
        &self.identity
    }

    fn context_length(&self) -> usize {
        self.context_length
    }

    fn count_tokens(&self, text: &str) -> usize {
        self.tokenizer
            .encode(text, false)
            .map(|encoding| encoding.len())
            // Tokenizing plain text only fails on internal errors; counting
            // bytes overestimates, which keeps chunking on the safe side.
            .unwrap_or(text.len())
    }

    fn chat(&mut self, messages: &[ChatMessage], sampling: &Sampling) -> Result<String, ChatError> {
        let (ids, _finish) = self.generate_ids(messages, sampling)?;
        self.tokenizer
            .decode(&ids, true)
            .map_err(ChatError::Generate)
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

fn read_json_if_present(path: &Path) -> Result<Option<Json>, ChatError> {
    if !path.is_file() {
        return Ok(None);
    }
    let parse = || -> Result<Json, BoxError> {
        let text = std::fs::read_to_string(path)?;
        Ok(serde_json::from_str(&text)?)
    };
    parse().map(Some).map_err(|source| ChatError::Load {
        path: path.display().to_string(),
        source,
    })
}

/// `chat_template` is a string, or a list of named templates of which
/// `default` is the chat one.
fn chat_template_from_config(config: &Json) -> Option<String> {
    match config.get("chat_template")? {
        Json::String(source) => Some(source.clone()),
        Json::Array(named) => named
            .iter()
            .find(|entry| entry.get("name").and_then(Json::as_str) == Some("default"))
            .and_then(|entry| entry.get("template")?.as_str().map(str::to_owned)),
        _ => None,
    }
}

/// `bos_token`/`eos_token` are a string or an added-token object.
fn special_token_from_config(config: Option<&Json>, key: &str) -> Option<String> {
    match config?.get(key)? {
        Json::String(token) => Some(token.clone()),
        Json::Object(token) => token.get("content")?.as_str().map(str::to_owned),
        _ => None,
    }
}

/// `eos_token_id` is one id or a list of them.
fn eos_ids_from_config(config: Option<&Json>) -> Vec<u32> {
    let Some(value) = config.and_then(|c| c.get("eos_token_id")) else {
        return Vec::new();
    };
    let as_id = |v: &Json| v.as_u64().and_then(|id| u32::try_from(id).ok());
    match value {
        Json::Array(ids) => ids.iter().filter_map(as_id).collect(),
        single => as_id(single).into_iter().collect(),
    }
}

/// An unsigned integer metadata value, whatever width the converter chose.
fn metadata_uint(metadata: &HashMap<String, gguf_file::Value>, key: &str) -> Option<usize> {
    use gguf_file::Value;
    let value = match metadata.get(key)? {
        Value::U8(v) => u64::from(*v),
        Value::U16(v) => u64::from(*v),
        Value::U32(v) => u64::from(*v),
        Value::U64(v) => *v,
        Value::I8(v) => u64::try_from(*v).ok()?,
        Value::I16(v) => u64::try_from(*v).ok()?,
        Value::I32(v) => u64::try_from(*v).ok()?,
        Value::I64(v) => u64::try_from(*v).ok()?,
        _ => return None,
    };
    usize::try_from(value).ok()
}

fn metadata_strings(
    metadata: &HashMap<String, gguf_file::Value>,
    key: &str,
) -> Result<Vec<String>, BoxError> {
    let values = metadata
        .get(key)
        .ok_or_else(|| format!("no {key} in the GGUF metadata"))?
        .to_vec()?;
    values
        .iter()
        .map(|v| -> Result<String, BoxError> { Ok(v.to_string()?.clone()) })
        .collect()
}

fn metadata_f32s(metadata: &HashMap<String, gguf_file::Value>, key: &str) -> Option<Vec<f32>> {
    metadata
        .get(key)?
        .to_vec()
        .ok()?
        .iter()
        .map(|v| v.to_f32().ok())
        .collect()
}

/// llama.cpp token types (`tokenizer.ggml.token_type`).
const TOKEN_TYPE_CONTROL: i64 = 3;
const TOKEN_TYPE_USER_DEFINED: i64 = 4;

/// Builds the tokenizer a GGUF file describes (`tokenizer.ggml.model`):
/// byte-level BPE (`gpt2`: Qwen, Llama 3) or SentencePiece BPE (`llama`:
/// Gemma, Llama 2, Mistral).
fn tokenizer_from_gguf(
    metadata: &HashMap<String, gguf_file::Value>,
) -> Result<Tokenizer, BoxError> {
    let model = metadata
        .get("tokenizer.ggml.model")
        .ok_or("no tokenizer.json and no tokenizer.ggml.model in the GGUF metadata")?
        .to_string()?;
    match model.as_str() {
        "gpt2" => byte_level_tokenizer_from_gguf(metadata),
        "llama" => sentencepiece_tokenizer_from_gguf(metadata),
        other => Err(format!(
            "GGUF tokenizer model {other:?} is not supported (gpt2 and llama are); \
             put the model's tokenizer.json beside the GGUF file"
        )
        .into()),
    }
}

/// `tokenizer.ggml.token_type`, or nothing when the file has none.
fn metadata_token_types(
    metadata: &HashMap<String, gguf_file::Value>,
) -> Result<Vec<i64>, BoxError> {
    let Some(value) = metadata.get("tokenizer.ggml.token_type") else {
        return Ok(Vec::new());
    };
    Ok(value
        .to_vec()?
        .iter()
        .map(|v| match v {
            gguf_file::Value::I32(t) => i64::from(*t),
            gguf_file::Value::U32(t) => i64::from(*t),
            _ => 1,
        })
        .collect())
}

/// The byte-level BPE tokenizer of a `gpt2` GGUF vocabulary, the way
/// llama.cpp tokenizes it: control and user-defined tokens matched whole,
/// the text split by the pre-tokenizer regex named by `tokenizer.ggml.pre`,
/// then byte-level BPE.
fn byte_level_tokenizer_from_gguf(
    metadata: &HashMap<String, gguf_file::Value>,
) -> Result<Tokenizer, BoxError> {
    let tokens = metadata_strings(metadata, "tokenizer.ggml.tokens")?;
    let merges = metadata_strings(metadata, "tokenizer.ggml.merges")?;
    let token_types = metadata_token_types(metadata)?;
    let pre = metadata
        .get("tokenizer.ggml.pre")
        .and_then(|v| v.to_string().ok())
        .map(String::as_str)
        .unwrap_or("default");
    let (regex, ignore_merges, nfc) = match pre {
        "qwen2" | "deepseek-r1-qwen" => (QWEN2_PRETOKENIZER_REGEX, false, true),
        "llama3" | "llama-bpe" | "smaug-bpe" => (LLAMA3_PRETOKENIZER_REGEX, true, false),
        _ => (GPT2_PRETOKENIZER_REGEX, false, false),
    };

    let mut vocab = serde_json::Map::with_capacity(tokens.len());
    let mut added_tokens = Vec::new();
    for (id, token) in tokens.iter().enumerate() {
        vocab.insert(token.clone(), Json::from(id));
        let token_type = token_types.get(id).copied().unwrap_or(1);
        if token_type == TOKEN_TYPE_CONTROL || token_type == TOKEN_TYPE_USER_DEFINED {
            added_tokens.push(serde_json::json!({
                "id": id,
                "content": token,
                "single_word": false,
                "lstrip": false,
                "rstrip": false,
                "normalized": false,
                "special": token_type == TOKEN_TYPE_CONTROL,
            }));
        }
    }
    let normalizer = if nfc {
        serde_json::json!({ "type": "NFC" })
    } else {
        Json::Null
    };
    let spec = serde_json::json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added_tokens,
        "normalizer": normalizer,
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {
                    "type": "Split",
                    "pattern": { "Regex": regex },
                    "behavior": "Isolated",
                    "invert": false
                },
                {
                    "type": "ByteLevel",
                    "add_prefix_space": false,
                    "trim_offsets": false,
                    "use_regex": false
                }
            ]
        },
        "post_processor": null,
        "decoder": {
            "type": "ByteLevel",
            "add_prefix_space": true,
            "trim_offsets": true,
            "use_regex": true
        },
        "model": {
            "type": "BPE",
            "dropout": null,
            "unk_token": null,
            "continuing_subword_prefix": null,
            "end_of_word_suffix": null,
            "fuse_unk": false,
            "byte_fallback": false,
            "ignore_merges": ignore_merges,
            "vocab": vocab,
            "merges": merges,
        }
    });
    let text = serde_json::to_string(&spec)?;
    text.parse::<Tokenizer>()
}

/// The tokenizer transformers builds from a SentencePiece BPE vocabulary in
/// a GGUF file (`integrations/gguf/gguf_tokenizer_mapping.py`, transformers
/// 5.x): BPE with byte fallback over merges recovered from the vocabulary,
/// control tokens (type 3) kept whole as special tokens and user-defined
/// ones (type 4) as plain added tokens.
///
/// Gemma (`gemma`, `gemma2`, `gemma3`) gets `GemmaTokenizer`'s pipeline:
/// spaces become "▁" with no prefix, merges ranked by file position (Gemma's
/// scores do not follow its merge order), and whitespace-run tokens, which
/// llama.cpp stores with real spaces, spelled with "▁" again. Other
/// architectures get `LlamaTokenizer`'s: a "▁" prefix on the first word
/// (stripped again when decoding) and merges ranked by score. Unlike
/// transformers, which always adds that prefix, a file saying
/// `tokenizer.ggml.add_space_prefix = false` gets none, as in llama.cpp.
fn sentencepiece_tokenizer_from_gguf(
    metadata: &HashMap<String, gguf_file::Value>,
) -> Result<Tokenizer, BoxError> {
    use tokenizers::decoders::byte_fallback::ByteFallback;
    use tokenizers::decoders::fuse::Fuse;
    use tokenizers::decoders::sequence::Sequence as DecoderSequence;
    use tokenizers::decoders::strip::Strip;
    use tokenizers::models::bpe::{Vocab, BPE};
    use tokenizers::normalizers::Replace;
    use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
    use tokenizers::pre_tokenizers::split::Split;
    use tokenizers::{AddedToken, DecoderWrapper, SplitDelimiterBehavior};

    let architecture = metadata
        .get("general.architecture")
        .and_then(|v| v.to_string().ok())
        .map(String::as_str)
        .unwrap_or_default();
    let gemma = matches!(architecture, "gemma" | "gemma2" | "gemma3");
    let file_tokens = metadata_strings(metadata, "tokenizer.ggml.tokens")?;
    let token_types = metadata_token_types(metadata)?;
    let tokens: Vec<String> = if gemma {
        file_tokens
            .iter()
            .map(|token| spell_whitespace_run(token))
            .collect()
    } else {
        file_tokens.clone()
    };
    let scores = if gemma {
        None
    } else {
        metadata_f32s(metadata, "tokenizer.ggml.scores")
    };
    let ranks: Vec<f64> = match scores {
        Some(scores) if scores.len() == tokens.len() => scores.into_iter().map(f64::from).collect(),
        // Earlier in the file is merged first.
        _ => (0..tokens.len()).map(|index| -(index as f64)).collect(),
    };
    let merges = merges_from_vocabulary(&tokens, &ranks);

    let mut vocab = Vocab::default();
    for (id, token) in tokens.iter().enumerate() {
        // A repeated token keeps its last id, as in a Python dict.
        vocab.insert(token.clone(), u32::try_from(id)?);
    }
    let unk_token = metadata_uint(metadata, "tokenizer.ggml.unknown_token_id")
        .and_then(|id| tokens.get(id))
        .cloned()
        .unwrap_or_else(|| "<unk>".to_string());
    let mut bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .byte_fallback(true)
        .fuse_unk(true);
    if tokens.contains(&unk_token) {
        bpe = bpe.unk_token(unk_token);
    }
    let mut tokenizer = Tokenizer::new(bpe.build()?);

    let mut decoders = vec![
        DecoderWrapper::Replace(Replace::new("▁", " ")?),
        DecoderWrapper::ByteFallback(ByteFallback::new()),
        DecoderWrapper::Fuse(Fuse::new()),
    ];
    if gemma {
        tokenizer.with_normalizer(Some(Replace::new(" ", "▁")?))?;
        // Splits nothing once spaces are "▁"; kept to match GemmaTokenizer.
        tokenizer.with_pre_tokenizer(Some(Split::new(
            " ",
            SplitDelimiterBehavior::MergedWithPrevious,
            false,
        )?));
    } else {
        let add_space_prefix = !matches!(
            metadata.get("tokenizer.ggml.add_space_prefix"),
            Some(gguf_file::Value::Bool(false))
        );
        let prepend = if add_space_prefix {
            PrependScheme::First
        } else {
            PrependScheme::Never
        };
        tokenizer.with_pre_tokenizer(Some(Metaspace::new('▁', prepend, false)));
        if add_space_prefix {
            decoders.push(DecoderWrapper::Strip(Strip::new(' ', 1, 0)));
        }
    }
    tokenizer.with_decoder(Some(DecoderSequence::new(decoders)));

    let token_types = &token_types;
    let typed = |wanted: i64| {
        file_tokens
            .iter()
            .zip(&tokens)
            .enumerate()
            .filter(move |(id, _)| token_types.get(*id).copied() == Some(wanted))
            .map(|(_, pair)| pair)
    };
    let control: Vec<AddedToken> = typed(TOKEN_TYPE_CONTROL)
        .map(|(_, token)| AddedToken::from(token.clone(), true).normalized(false))
        .collect();
    // A user-defined token respelled for Gemma is reached through merges,
    // not matched whole, as in transformers.
    let user_defined: Vec<AddedToken> = typed(TOKEN_TYPE_USER_DEFINED)
        .filter(|(file_token, token)| file_token == token)
        .map(|(_, token)| AddedToken::from(token.clone(), false).normalized(false))
        .collect();
    tokenizer.add_special_tokens(control)?;
    tokenizer.add_tokens(user_defined)?;
    Ok(tokenizer)
}

/// llama.cpp writes Gemma's whitespace-run tokens ("▁▁", …) with real
/// spaces; transformers spells every all-whitespace token that holds a space
/// as that many "▁" again.
fn spell_whitespace_run(token: &str) -> String {
    // Python's str.isspace also counts the separators U+001C..U+001F.
    let python_space = |c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c);
    if token.contains(' ') && token.chars().all(python_space) {
        "▁".repeat(token.chars().count())
    } else {
        token.to_string()
    }
}

/// transformers' `generate_merges(vocab, vocab_scores)`: every way of
/// cutting a token into two tokens of the vocabulary becomes a merge, ranked
/// by the token's score (highest first), then longer left, then longer right
/// part, ties in vocabulary order.
fn merges_from_vocabulary(tokens: &[String], ranks: &[f64]) -> Vec<(String, String)> {
    // Python dicts keyed by token: a repeated token keeps its first place in
    // the iteration order but its last id and score.
    let mut ids: HashMap<&str, usize> = HashMap::with_capacity(tokens.len());
    let mut distinct = Vec::with_capacity(tokens.len());
    for (id, token) in tokens.iter().enumerate() {
        if ids.insert(token.as_str(), id).is_none() {
            distinct.push(token.as_str());
        }
    }
    struct Candidate<'a> {
        left: &'a str,
        right: &'a str,
        rank: f64,
        left_chars: usize,
        right_chars: usize,
    }
    let mut candidates = Vec::new();
    let mut cuts = Vec::new();
    for token in distinct {
        let rank = ranks.get(ids[token]).copied().unwrap_or(f64::NEG_INFINITY);
        cuts.clear();
        for (cut, _) in token.char_indices().skip(1) {
            let (left, right) = token.split_at(cut);
            if let (Some(&left_id), Some(&right_id)) = (ids.get(left), ids.get(right)) {
                cuts.push((left_id, right_id, left, right));
            }
        }
        cuts.sort_by_key(|&(left_id, right_id, _, _)| (left_id, right_id));
        candidates.extend(cuts.iter().map(|&(_, _, left, right)| Candidate {
            left,
            right,
            rank,
            left_chars: left.chars().count(),
            right_chars: right.chars().count(),
        }));
    }
    // Stable, like Python's sort, so equal keys keep their order.
    candidates.sort_by(|a, b| {
        b.rank
            .partial_cmp(&a.rank)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(b.left_chars.cmp(&a.left_chars))
            .then(b.right_chars.cmp(&a.right_chars))
    });
    candidates
        .into_iter()
        .map(|c| (c.left.to_string(), c.right.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::{GgmlDType, QTensor};

    /// Qwen2.5-Instruct's chat template.
    const QWEN25_TEMPLATE: &str = include_str!("testdata/qwen25_chat_template.jinja");
    /// google/gemma-3-*-it's chat template, as its tokenizer_config.json
    /// holds it (quoted in ShishirPatil/gorilla, berkeley-function-call-
    /// leaderboard/bfcl_eval/model_handler/local_inference/gemma.py).
    const GEMMA3_TEMPLATE: &str = include_str!("testdata/gemma3_chat_template.jinja");
    /// Meta-Llama-3-8B-Instruct's chat template.
    const LLAMA3_TEMPLATE: &str = r#"{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>

'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>

' }}{% endif %}"#;

    const HIDDEN: usize = 32;
    const HEADS: usize = 4;
    const KV_HEADS: usize = 2;
    const LAYERS: usize = 2;
    // 256 so that ffn_down's rows fill one Q4_K block.
    const FFN: usize = 256;
    const SPECIAL_TOKENS: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

    /// GPT-2's byte-to-printable-character table used by byte-level BPE.
    fn byte_level_alphabet() -> Vec<char> {
        let mut printable: Vec<u32> = (u32::from(b'!')..=u32::from(b'~'))
            .chain(0xA1..=0xAC)
            .chain(0xAE..=0xFF)
            .collect();
        let mut chars = printable.clone();
        let mut extra = 0;
        for byte in 0..256u32 {
            if !printable.contains(&byte) {
                printable.push(byte);
                chars.push(256 + extra);
                extra += 1;
            }
        }
        let mut table = vec![' '; 256];
        for (byte, ch) in printable.iter().zip(chars) {
            table[*byte as usize] = char::from_u32(ch).unwrap();
        }
        table
    }

    struct Vocab {
        tokens: Vec<String>,
        token_types: Vec<i32>,
        merges: Vec<String>,
    }

    /// 256 byte tokens, a few merges, then the Qwen control tokens.
    fn tiny_vocab() -> Vocab {
        let alphabet = byte_level_alphabet();
        let mut tokens: Vec<String> = alphabet.iter().map(|c| c.to_string()).collect();
        let pairs = [
            ("H", "e"),
            ("l", "l"),
            ("He", "ll"),
            ("Hell", "o"),
            ("Ġ", "w"),
            ("o", "r"),
            ("Ġw", "or"),
            ("l", "d"),
            ("Ġwor", "ld"),
            ("i", "m"),
            ("Ċ", "Ċ"),
        ];
        let mut merges = Vec::new();
        for (left, right) in pairs {
            merges.push(format!("{left} {right}"));
            tokens.push(format!("{left}{right}"));
        }
        let mut token_types = vec![1; tokens.len()];
        for special in SPECIAL_TOKENS {
            tokens.push(special.to_string());
            token_types.push(3);
        }
        Vocab {
            tokens,
            token_types,
            merges,
        }
    }

    /// Deterministic weights in (-scale, scale), so fixtures do not depend
    /// on a global RNG.
    struct Lcg(u64);

    impl Lcg {
        fn values(&mut self, n: usize, scale: f32) -> Vec<f32> {
            (0..n)
                .map(|_| {
                    self.0 = self
                        .0
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((self.0 >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
                })
                .collect()
        }

        fn tensor(&mut self, shape: &[usize], scale: f32) -> Tensor {
            let n = shape.iter().product();
            Tensor::from_vec(self.values(n, scale), shape, &Device::Cpu).unwrap()
        }

        fn norm(&mut self, n: usize) -> Tensor {
            let values = self.values(n, 0.2).into_iter().map(|v| 1.0 + v).collect();
            Tensor::from_vec(values, n, &Device::Cpu).unwrap()
        }
    }

    /// The tiny model's tensors under their Hugging Face names.
    fn tiny_qwen2_weights(vocab_size: usize) -> Vec<(String, Tensor)> {
        let mut rng = Lcg(20241122);
        let head_dim = HIDDEN / HEADS;
        let kv = KV_HEADS * head_dim;
        let mut weights = vec![
            (
                "model.embed_tokens.weight".to_string(),
                rng.tensor(&[vocab_size, HIDDEN], 1.0),
            ),
            ("model.norm.weight".to_string(), rng.norm(HIDDEN)),
        ];
        for layer in 0..LAYERS {
            let p = format!("model.layers.{layer}");
            let mut add =
                |name: &str, tensor: Tensor| weights.push((format!("{p}.{name}"), tensor));
            add(
                "self_attn.q_proj.weight",
                rng.tensor(&[HIDDEN, HIDDEN], 0.4),
            );
            add("self_attn.q_proj.bias", rng.tensor(&[HIDDEN], 0.1));
            add("self_attn.k_proj.weight", rng.tensor(&[kv, HIDDEN], 0.4));
            add("self_attn.k_proj.bias", rng.tensor(&[kv], 0.1));
            add("self_attn.v_proj.weight", rng.tensor(&[kv, HIDDEN], 0.4));
            add("self_attn.v_proj.bias", rng.tensor(&[kv], 0.1));
            add(
                "self_attn.o_proj.weight",
                rng.tensor(&[HIDDEN, HIDDEN], 0.4),
            );
            add("mlp.gate_proj.weight", rng.tensor(&[FFN, HIDDEN], 0.4));
            add("mlp.up_proj.weight", rng.tensor(&[FFN, HIDDEN], 0.4));
            add("mlp.down_proj.weight", rng.tensor(&[HIDDEN, FFN], 0.2));
            add("input_layernorm.weight", rng.norm(HIDDEN));
            add("post_attention_layernorm.weight", rng.norm(HIDDEN));
        }
        weights
    }

    /// llama.cpp's name for a transformers tensor of architecture `arch`.
    fn gguf_name(arch: &str, hf_name: &str) -> String {
        match hf_name {
            "model.embed_tokens.weight" => return "token_embd.weight".into(),
            "model.norm.weight" => return "output_norm.weight".into(),
            "lm_head.weight" => return "output.weight".into(),
            _ => {}
        }
        let rest = hf_name.strip_prefix("model.layers.").unwrap();
        let (layer, name) = rest.split_once('.').unwrap();
        let norms: &[(&str, &str)] = if arch == "gemma3" {
            &[
                ("input_layernorm", "attn_norm"),
                ("post_attention_layernorm", "post_attention_norm"),
                ("pre_feedforward_layernorm", "ffn_norm"),
                ("post_feedforward_layernorm", "post_ffw_norm"),
            ]
        } else {
            &[
                ("input_layernorm", "attn_norm"),
                ("post_attention_layernorm", "ffn_norm"),
            ]
        };
        let renamed = [
            ("self_attn.q_proj", "attn_q"),
            ("self_attn.k_proj", "attn_k"),
            ("self_attn.v_proj", "attn_v"),
            ("self_attn.o_proj", "attn_output"),
            ("self_attn.q_norm", "attn_q_norm"),
            ("self_attn.k_norm", "attn_k_norm"),
            ("mlp.gate_proj", "ffn_gate"),
            ("mlp.up_proj", "ffn_up"),
            ("mlp.down_proj", "ffn_down"),
        ]
        .iter()
        .chain(norms)
        .find_map(|(hf, gguf)| {
            name.strip_prefix(hf)
                .map(|suffix| format!("{gguf}{suffix}"))
        })
        .unwrap();
        format!("blk.{layer}.{renamed}")
    }

    /// Writes the tiny model as `model.gguf` in `dir`; `quantize` stores the
    /// matrices as Q8_0 (Q4_K for ffn_down) like a real conversion.
    fn write_tiny_qwen2_gguf(dir: &Path, context_length: u32, quantize: bool) {
        use gguf_file::Value;
        let vocab = tiny_vocab();
        let im_end = vocab.tokens.len() as u32 - 1;
        let endoftext = vocab.tokens.len() as u32 - 3;
        let metadata: Vec<(&str, Value)> = vec![
            ("general.architecture", Value::String("qwen2".into())),
            ("qwen2.attention.head_count", Value::U32(HEADS as u32)),
            ("qwen2.attention.head_count_kv", Value::U32(KV_HEADS as u32)),
            ("qwen2.embedding_length", Value::U32(HIDDEN as u32)),
            ("qwen2.feed_forward_length", Value::U32(FFN as u32)),
            ("qwen2.context_length", Value::U32(context_length)),
            ("qwen2.block_count", Value::U32(LAYERS as u32)),
            ("qwen2.attention.layer_norm_rms_epsilon", Value::F32(1e-6)),
            ("qwen2.rope.freq_base", Value::F32(10000.0)),
            ("tokenizer.ggml.model", Value::String("gpt2".into())),
            ("tokenizer.ggml.pre", Value::String("qwen2".into())),
            (
                "tokenizer.ggml.tokens",
                Value::Array(vocab.tokens.iter().cloned().map(Value::String).collect()),
            ),
            (
                "tokenizer.ggml.token_type",
                Value::Array(vocab.token_types.iter().copied().map(Value::I32).collect()),
            ),
            (
                "tokenizer.ggml.merges",
                Value::Array(vocab.merges.iter().cloned().map(Value::String).collect()),
            ),
            ("tokenizer.ggml.eos_token_id", Value::U32(im_end)),
            ("tokenizer.ggml.bos_token_id", Value::U32(endoftext)),
            (
                "tokenizer.chat_template",
                Value::String(QWEN25_TEMPLATE.into()),
            ),
        ];
        let tensors: Vec<(String, QTensor)> = tiny_qwen2_weights(vocab.tokens.len())
            .into_iter()
            .map(|(name, tensor)| {
                let dtype = if !quantize || tensor.rank() == 1 {
                    GgmlDType::F32
                } else if name.ends_with("down_proj.weight") {
                    GgmlDType::Q4K
                } else {
                    GgmlDType::Q8_0
                };
                (
                    gguf_name("qwen2", &name),
                    QTensor::quantize(&tensor, dtype).unwrap(),
                )
            })
            .collect();
        let metadata_refs: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
        let tensor_refs: Vec<(&str, &QTensor)> =
            tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let mut file = File::create(dir.join("model.gguf")).unwrap();
        gguf_file::write(&mut file, &metadata_refs, &tensor_refs).unwrap();
    }

    /// Writes the committed fixture `tests/fixtures/chat-tiny/model.gguf`
    /// that tests/cli.rs runs `--summarizer` with. Run when the tiny model
    /// changes: `cargo test --lib write_chat_fixture -- --ignored`.
    #[test]
    #[ignore = "regenerates a committed fixture"]
    fn write_chat_fixture() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/chat-tiny");
        std::fs::create_dir_all(&dir).unwrap();
        write_tiny_qwen2_gguf(&dir, 4096, true);
    }

    fn load_tiny_gguf(context_length: u32) -> (tempfile::TempDir, DecoderChat) {
        let dir = tempfile::tempdir().unwrap();
        write_tiny_qwen2_gguf(dir.path(), context_length, true);
        let model =
            DecoderChat::load_dir(dir.path(), "test:tiny-qwen2".into(), &Device::Cpu).unwrap();
        (dir, model)
    }

    fn conversation() -> Vec<ChatMessage> {
        vec![
            ChatMessage::system("Translate Bengali to English."),
            ChatMessage::user("আমি ভাত খাই।"),
        ]
    }

    fn greedy(max_new_tokens: usize) -> Sampling {
        Sampling {
            max_new_tokens,
            temperature: 0.0,
            seed: 0,
        }
    }

    #[test]
    fn qwen_template_from_gguf_renders_like_transformers() {
        let (_dir, model) = load_tiny_gguf(512);
        // Rendered by transformers' `render_jinja_template` from the same template.
        assert_eq!(
            model.render_prompt(&conversation()).unwrap(),
            "<|im_start|>system\nTranslate Bengali to English.<|im_end|>\n<|im_start|>user\n\
             আমি ভাত খাই।<|im_end|>\n<|im_start|>assistant\n"
        );
        assert_eq!(
            model.render_prompt(&[ChatMessage::user("  Hi there  ")]).unwrap(),
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful \
             assistant.<|im_end|>\n<|im_start|>user\n  Hi there  <|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn llama3_template_gets_bos_token() {
        let template = ChatTemplate::new(
            LLAMA3_TEMPLATE.into(),
            "<|begin_of_text|>".into(),
            "<|eot_id|>".into(),
        )
        .unwrap();
        // Rendered by transformers' `render_jinja_template` from the same template.
        assert_eq!(
            template
                .render(&[ChatMessage::user("  Hi there  ")])
                .unwrap(),
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>\
             <|start_header_id|>assistant<|end_header_id|>\n\n"
        );
    }

    #[test]
    fn templates_may_use_python_string_methods_and_raise_exception() {
        let source = "{% for m in messages %}{% if m.content.startswith('!') %}[cmd]{% endif %}\
                      {{ m.content.strip() }}|{% endfor %}{% if messages|length > 2 %}\
                      {{ raise_exception('too many') }}{% endif %}";
        let template = ChatTemplate::new(source.into(), String::new(), String::new()).unwrap();
        let two = [ChatMessage::user("!go "), ChatMessage::user(" x")];
        assert_eq!(template.render(&two).unwrap(), "[cmd]!go|x|");
        let three = [two[0].clone(), two[1].clone(), ChatMessage::user("y")];
        assert!(matches!(
            template.render(&three),
            Err(ChatError::Template(_))
        ));
    }

    #[test]
    fn gguf_tokenizer_applies_merges_keeps_specials_whole_and_round_trips() {
        let (_dir, model) = load_tiny_gguf(512);
        let vocab = tiny_vocab();
        let id = |token: &str| vocab.tokens.iter().position(|t| t == token).unwrap() as u32;
        let ids = model.encode("<|im_start|>Hello world<|im_end|>").unwrap();
        assert_eq!(
            ids,
            [
                id("<|im_start|>"),
                id("Hello"),
                id("Ġworld"),
                id("<|im_end|>")
            ]
        );
        let bengali = "আমি ভাত খাই। Hello\n\nworld";
        let ids = model.encode(bengali).unwrap();
        assert_eq!(model.tokenizer.decode(&ids, false).unwrap(), bengali);
        assert_eq!(model.count_tokens(bengali), ids.len());
        assert!(model.stop_ids().contains(&id("<|im_end|>")));
        assert!(model.stop_ids().contains(&id("<|endoftext|>")));
    }

    #[test]
    fn greedy_chat_is_deterministic_and_respects_max_new_tokens() {
        let (_dir, mut model) = load_tiny_gguf(512);
        let (ids, finish) = model.generate_ids(&conversation(), &greedy(6)).unwrap();
        assert_eq!(finish, Finish::MaxNewTokens);
        assert_eq!(ids.len(), 6);
        let first = model.chat(&conversation(), &greedy(6)).unwrap();
        // A second conversation must not see the first one's KV cache.
        model
            .chat(&[ChatMessage::user("Hello world")], &greedy(3))
            .unwrap();
        let again = model.chat(&conversation(), &greedy(6)).unwrap();
        assert_eq!(first, again);
        assert_eq!(first, model.tokenizer.decode(&ids, true).unwrap());
        let (fewer, _) = model.generate_ids(&conversation(), &greedy(2)).unwrap();
        assert_eq!(fewer, ids[..2]);
    }

    #[test]
    fn seeded_sampling_is_reproducible_and_depends_on_the_seed() {
        let (_dir, mut model) = load_tiny_gguf(512);
        let sampling = |seed| Sampling {
            max_new_tokens: 8,
            temperature: 1.0,
            seed,
        };
        let (a, _) = model.generate_ids(&conversation(), &sampling(7)).unwrap();
        let (b, _) = model.generate_ids(&conversation(), &sampling(7)).unwrap();
        assert_eq!(a, b);
        let others: Vec<Vec<u32>> = (1..=4)
            .map(|seed| {
                model
                    .generate_ids(&conversation(), &sampling(seed))
                    .unwrap()
                    .0
            })
            .collect();
        assert!(others.iter().any(|ids| *ids != a), "{others:?} vs {a:?}");
    }

    #[test]
    fn prompt_over_the_context_length_is_refused() {
        let (_dir, mut model) = load_tiny_gguf(96);
        assert_eq!(model.context_length(), 96);
        let long = ChatMessage::user("x".repeat(200));
        match model.chat(&[long], &greedy(4)) {
            Err(ChatError::PromptTooLong { tokens, limit }) => {
                assert_eq!(limit, 96);
                assert!(tokens > 96);
            }
            other => panic!("expected PromptTooLong, got {other:?}"),
        }
    }

    #[test]
    fn generation_stops_when_the_context_is_full() {
        let (_dir, mut model) = load_tiny_gguf(96);
        let system = ChatMessage::system("s");
        let prompt_len = |text: &str| {
            let prompt = model
                .render_prompt(&[system.clone(), ChatMessage::user(text)])
                .unwrap();
            model.encode(&prompt).unwrap().len()
        };
        let padding = "x".repeat(96 - 2 - prompt_len(""));
        assert_eq!(prompt_len(&padding), 94);
        let messages = [system.clone(), ChatMessage::user(padding)];
        let (ids, finish) = model.generate_ids(&messages, &greedy(50)).unwrap();
        // 94 prompt positions + 2 fed-back tokens fill 96; the third is not fed.
        assert_eq!(finish, Finish::ContextFull);
        assert_eq!(ids.len(), 3);
    }

    #[test]
    fn every_chat_preset_names_an_architecture_this_build_runs() {
        let chat_presets = crate::resolve::presets()
            .into_iter()
            .filter(|preset| preset.kind == crate::resolve::ModelKind::Chat);
        for preset in chat_presets {
            assert!(
                SUPPORTED_GGUF_ARCHITECTURES.contains(&preset.family.as_str()),
                "{}: {}",
                preset.name,
                preset.family
            );
        }
    }

    #[test]
    fn thinking_is_switched_off_for_templates_that_offer_it() {
        // The generation-prompt tail of Qwen3's template.
        let template = ChatTemplate::new(
            "{{- messages[0].content }}{{- '<|im_start|>assistant\\n' }}\
             {%- if enable_thinking is defined and enable_thinking is false %}\
             {{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}"
                .to_string(),
            String::new(),
            String::new(),
        )
        .unwrap();
        let rendered = template.render(&[ChatMessage::user("Hi")]).unwrap();
        assert_eq!(rendered, "Hi<|im_start|>assistant\n<think>\n\n</think>\n\n");
    }

    #[test]
    fn several_gguf_files_are_ambiguous() {
        let dir = tempfile::tempdir().unwrap();
        write_tiny_qwen2_gguf(dir.path(), 64, true);
        std::fs::copy(dir.path().join("model.gguf"), dir.path().join("other.gguf")).unwrap();
        let err = DecoderChat::load_dir(dir.path(), "x".into(), &Device::Cpu).unwrap_err();
        assert!(matches!(err, ChatError::Load { .. }));
    }

    #[test]
    fn safetensors_qwen2_matches_the_same_weights_in_gguf() {
        let gguf_dir = tempfile::tempdir().unwrap();
        write_tiny_qwen2_gguf(gguf_dir.path(), 128, false);
        let mut from_gguf =
            DecoderChat::load_dir(gguf_dir.path(), "gguf".into(), &Device::Cpu).unwrap();

        let vocab = tiny_vocab();
        let dir = tempfile::tempdir().unwrap();
        let weights: HashMap<String, Tensor> =
            tiny_qwen2_weights(vocab.tokens.len()).into_iter().collect();
        candle_core::safetensors::save(&weights, dir.path().join("model.safetensors")).unwrap();
        let im_end = vocab.tokens.len() - 1;
        let config = serde_json::json!({
            "model_type": "qwen2",
            "vocab_size": vocab.tokens.len(),
            "hidden_size": HIDDEN,
            "intermediate_size": FFN,
            "num_hidden_layers": LAYERS,
            "num_attention_heads": HEADS,
            "num_key_value_heads": KV_HEADS,
            "max_position_embeddings": 128,
            "sliding_window": 128,
            "max_window_layers": LAYERS,
            "tie_word_embeddings": true,
            "rope_theta": 10000.0,
            "rms_norm_eps": 1e-6,
            "use_sliding_window": false,
            "hidden_act": "silu",
            "eos_token_id": im_end,
        });
        std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
        from_gguf
            .tokenizer
            .save(dir.path().join("tokenizer.json"), false)
            .unwrap();
        let tokenizer_config = serde_json::json!({
            "chat_template": QWEN25_TEMPLATE,
            "eos_token": "<|im_end|>",
            "bos_token": null,
        });
        std::fs::write(
            dir.path().join("tokenizer_config.json"),
            tokenizer_config.to_string(),
        )
        .unwrap();
        let mut from_safetensors =
            DecoderChat::load_dir(dir.path(), "st".into(), &Device::Cpu).unwrap();
        assert_eq!(from_safetensors.context_length(), 128);
        assert_eq!(from_safetensors.stop_ids(), from_gguf.stop_ids());

        let prompt = from_gguf.render_prompt(&conversation()).unwrap();
        assert_eq!(
            from_safetensors.render_prompt(&conversation()).unwrap(),
            prompt
        );
        let ids = from_gguf.encode(&prompt).unwrap();
        assert_eq!(from_safetensors.encode(&prompt).unwrap(), ids);
        let input = Tensor::new(ids.as_slice(), &Device::Cpu)
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        let a = from_gguf.model.forward(&input, 0).unwrap();
        let b = from_safetensors.model.forward(&input, 0).unwrap();
        let max_diff = (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(max_diff < 1e-3, "logits differ by {max_diff}");
        let reply = from_safetensors.chat(&conversation(), &greedy(5)).unwrap();
        assert_eq!(from_gguf.chat(&conversation(), &greedy(5)).unwrap(), reply);
        // candle's safetensors Qwen2 takes the prompt in chunks too.
        let (whole_logits, whole_ids) = prefill_and_generate(&mut from_safetensors, usize::MAX);
        let (chunked_logits, chunked_ids) = prefill_and_generate(&mut from_safetensors, 3);
        let diff = max_abs_diff(&whole_logits, &chunked_logits);
        assert!(diff < 1e-3, "prompt logits differ by {diff}");
        assert_eq!(chunked_ids, whole_ids);
        from_safetensors.prefill_chunk_tokens = PREFILL_CHUNK_TOKENS;
        // candle's qwen2 keeps appending to its KV cache unless it is cleared
        // between conversations.
        from_safetensors
            .chat(&[ChatMessage::user("Hello world")], &greedy(3))
            .unwrap();
        assert_eq!(
            from_safetensors.chat(&conversation(), &greedy(5)).unwrap(),
            reply
        );
    }

    /// tests/fixtures/gemma-tokenizer/cases.json, written by
    /// scripts/make_gemma_tokenizer_fixture.py from transformers.
    fn gguf_tokenizer_fixture() -> Json {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gemma-tokenizer/cases.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// The fixture's GGUF metadata with the value types llama.cpp writes.
    fn gguf_metadata_from_json(metadata: &Json) -> Vec<(String, gguf_file::Value)> {
        use gguf_file::Value;
        metadata
            .as_object()
            .unwrap()
            .iter()
            .map(|(key, value)| {
                let value = match value {
                    Json::String(text) => Value::String(text.clone()),
                    Json::Bool(flag) => Value::Bool(*flag),
                    Json::Number(id) => Value::U32(id.as_u64().unwrap() as u32),
                    Json::Array(items) if key.ends_with(".scores") => Value::Array(
                        items
                            .iter()
                            .map(|v| Value::F32(v.as_f64().unwrap() as f32))
                            .collect(),
                    ),
                    Json::Array(items) if key.ends_with(".token_type") => Value::Array(
                        items
                            .iter()
                            .map(|v| Value::I32(v.as_i64().unwrap() as i32))
                            .collect(),
                    ),
                    Json::Array(items) => Value::Array(
                        items
                            .iter()
                            .map(|v| Value::String(v.as_str().unwrap().to_string()))
                            .collect(),
                    ),
                    other => panic!("unexpected metadata value {other}"),
                };
                (key.clone(), value)
            })
            .collect()
    }

    #[test]
    fn gguf_sentencepiece_tokenizer_matches_transformers() {
        let fixture = gguf_tokenizer_fixture();
        for layout in ["gemma", "llama"] {
            let metadata: HashMap<String, gguf_file::Value> =
                gguf_metadata_from_json(&fixture[layout]["metadata"])
                    .into_iter()
                    .collect();
            let tokenizer = tokenizer_from_gguf(&metadata).unwrap();
            let cases = fixture[layout]["cases"].as_array().unwrap();
            assert!(cases.len() >= 20);
            for case in cases {
                let text = case["text"].as_str().unwrap();
                let expected: Vec<u32> = serde_json::from_value(case["ids"].clone()).unwrap();
                let ids = tokenizer.encode(text, false).unwrap().get_ids().to_vec();
                assert_eq!(ids, expected, "{layout}: ids of {text:?}");
                assert_eq!(
                    tokenizer.decode(&ids, false).unwrap(),
                    case["decoded"].as_str().unwrap(),
                    "{layout}: decoding {text:?}"
                );
                assert_eq!(
                    tokenizer.decode(&ids, true).unwrap(),
                    case["decoded_skip_special"].as_str().unwrap(),
                    "{layout}: decoding {text:?} without special tokens"
                );
            }
        }
    }

    /// The fixture's vocabulary cannot tell a respelled whitespace token
    /// from one matched whole, so the respelling is checked on its own.
    #[test]
    fn gemma_whitespace_tokens_are_spelled_with_the_sentencepiece_space() {
        assert_eq!(spell_whitespace_run("  "), "▁▁");
        assert_eq!(spell_whitespace_run("    "), "▁▁▁▁");
        assert_eq!(spell_whitespace_run(" \n"), "▁▁");
        assert_eq!(spell_whitespace_run("\n\n"), "\n\n");
        assert_eq!(spell_whitespace_run(" a"), " a");
        assert_eq!(spell_whitespace_run("▁▁"), "▁▁");
    }

    #[test]
    fn gemma3_template_folds_the_system_turn_like_transformers() {
        let template =
            ChatTemplate::new(GEMMA3_TEMPLATE.into(), "<bos>".into(), "<eos>".into()).unwrap();
        // Rendered by transformers' `render_jinja_template` from the same template.
        assert_eq!(
            template
                .render(&[
                    ChatMessage::system("Translate Bengali to English."),
                    ChatMessage::user("  আমি ভাত খাই।\n"),
                ])
                .unwrap(),
            "<bos><start_of_turn>user\nTranslate Bengali to English.\n\nআমি ভাত খাই।\
             <end_of_turn>\n<start_of_turn>model\n"
        );
        assert_eq!(
            template
                .render(&[
                    ChatMessage::system("S"),
                    ChatMessage::user("a"),
                    ChatMessage::assistant(" b "),
                    ChatMessage::user("c"),
                ])
                .unwrap(),
            "<bos><start_of_turn>user\nS\n\na<end_of_turn>\n<start_of_turn>model\nb<end_of_turn>\n\
             <start_of_turn>user\nc<end_of_turn>\n<start_of_turn>model\n"
        );
        assert!(matches!(
            template.render(&[ChatMessage::user("a"), ChatMessage::user("b")]),
            Err(ChatError::Template(_))
        ));
    }

    const GEMMA_HEAD_DIM: usize = 8;

    /// A tiny Gemma 3 under llama.cpp's tensor names, with the fixture's
    /// SentencePiece vocabulary; with Gemma 3's layout (every sixth layer
    /// global) both its layers see only the `sliding_window` latest tokens.
    fn write_tiny_gemma3_gguf(dir: &Path, context_length: u32, sliding_window: u32) {
        use gguf_file::Value;
        let fixture = gguf_tokenizer_fixture();
        let mut metadata = gguf_metadata_from_json(&fixture["gemma"]["metadata"]);
        let vocab_size = fixture["gemma"]["metadata"]["tokenizer.ggml.tokens"]
            .as_array()
            .unwrap()
            .len();
        let u32_value = |v: usize| Value::U32(v as u32);
        metadata.extend([
            ("gemma3.context_length".into(), Value::U32(context_length)),
            ("gemma3.embedding_length".into(), u32_value(HIDDEN)),
            ("gemma3.block_count".into(), u32_value(LAYERS)),
            ("gemma3.feed_forward_length".into(), u32_value(FFN)),
            ("gemma3.attention.head_count".into(), u32_value(HEADS)),
            ("gemma3.attention.head_count_kv".into(), u32_value(KV_HEADS)),
            (
                "gemma3.attention.key_length".into(),
                u32_value(GEMMA_HEAD_DIM),
            ),
            (
                "gemma3.attention.value_length".into(),
                u32_value(GEMMA_HEAD_DIM),
            ),
            (
                "gemma3.attention.layer_norm_rms_epsilon".into(),
                Value::F32(1e-6),
            ),
            (
                "gemma3.attention.sliding_window".into(),
                Value::U32(sliding_window),
            ),
            ("gemma3.rope.freq_base".into(), Value::F32(1_000_000.0)),
            ("gemma3.rope.local_freq_base".into(), Value::F32(10_000.0)),
            (
                "tokenizer.chat_template".into(),
                Value::String(GEMMA3_TEMPLATE.into()),
            ),
        ]);

        let mut rng = Lcg(20250301);
        let q_dim = HEADS * GEMMA_HEAD_DIM;
        let kv_dim = KV_HEADS * GEMMA_HEAD_DIM;
        let mut tensors = vec![
            (
                "token_embd.weight".to_string(),
                rng.tensor(&[vocab_size, HIDDEN], 0.2),
            ),
            ("output_norm.weight".to_string(), rng.norm(HIDDEN)),
        ];
        for layer in 0..LAYERS {
            let mut add = |name: &str, tensor: Tensor| {
                tensors.push((format!("blk.{layer}.{name}.weight"), tensor))
            };
            add("attn_q", rng.tensor(&[q_dim, HIDDEN], 0.4));
            add("attn_k", rng.tensor(&[kv_dim, HIDDEN], 0.4));
            add("attn_v", rng.tensor(&[kv_dim, HIDDEN], 0.4));
            add("attn_output", rng.tensor(&[HIDDEN, q_dim], 0.4));
            add("attn_q_norm", rng.norm(GEMMA_HEAD_DIM));
            add("attn_k_norm", rng.norm(GEMMA_HEAD_DIM));
            add("attn_norm", rng.norm(HIDDEN));
            add("post_attention_norm", rng.norm(HIDDEN));
            add("ffn_norm", rng.norm(HIDDEN));
            add("post_ffw_norm", rng.norm(HIDDEN));
            add("ffn_gate", rng.tensor(&[FFN, HIDDEN], 0.4));
            add("ffn_up", rng.tensor(&[FFN, HIDDEN], 0.4));
            add("ffn_down", rng.tensor(&[HIDDEN, FFN], 0.2));
        }
        let tensors: Vec<(String, QTensor)> = tensors
            .into_iter()
            .map(|(name, tensor)| {
                let dtype = if tensor.rank() == 1 {
                    GgmlDType::F32
                } else {
                    GgmlDType::Q8_0
                };
                (name, QTensor::quantize(&tensor, dtype).unwrap())
            })
            .collect();
        let metadata_refs: Vec<(&str, &gguf_file::Value)> =
            metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let tensor_refs: Vec<(&str, &QTensor)> =
            tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let mut file = File::create(dir.join("model.gguf")).unwrap();
        gguf_file::write(&mut file, &metadata_refs, &tensor_refs).unwrap();
    }

    fn load_tiny_gemma3(
        context_length: u32,
        sliding_window: u32,
    ) -> (tempfile::TempDir, DecoderChat) {
        let dir = tempfile::tempdir().unwrap();
        write_tiny_gemma3_gguf(dir.path(), context_length, sliding_window);
        let model =
            DecoderChat::load_dir(dir.path(), "test:tiny-gemma3".into(), &Device::Cpu).unwrap();
        (dir, model)
    }

    #[test]
    fn gemma3_gguf_chats_greedily_with_its_own_tokenizer_and_template() {
        let (_dir, mut model) = load_tiny_gemma3(256, 16);
        assert_eq!(model.context_length(), 256);
        let id = |token: &str| model.tokenizer.token_to_id(token).unwrap();
        assert!(model.stop_ids().contains(&id("<end_of_turn>")));
        assert!(model.stop_ids().contains(&id("<eos>")));
        let prompt = model.render_prompt(&conversation()).unwrap();
        assert!(prompt.starts_with("<bos><start_of_turn>user\nTranslate Bengali to English.\n\n"));
        let ids = model.encode(&prompt).unwrap();
        assert_eq!(ids[..2], [id("<bos>"), id("<start_of_turn>")]);

        let (generated, finish) = model.generate_ids(&conversation(), &greedy(6)).unwrap();
        assert_eq!(finish, Finish::MaxNewTokens);
        assert_eq!(generated.len(), 6);
        let first = model.chat(&conversation(), &greedy(6)).unwrap();
        assert_eq!(first, model.tokenizer.decode(&generated, true).unwrap());
        // A longer conversation in between must leave nothing behind.
        model
            .chat(&[ChatMessage::user("Hello world ".repeat(5))], &greedy(3))
            .unwrap();
        assert_eq!(model.chat(&conversation(), &greedy(6)).unwrap(), first);
        let (fewer, _) = model.generate_ids(&conversation(), &greedy(2)).unwrap();
        assert_eq!(fewer, generated[..2]);
    }

    /// A conversation whose prompt is about 40 tokens in the tiny models.
    fn longer_conversation() -> Vec<ChatMessage> {
        vec![
            ChatMessage::system("s"),
            ChatMessage::user("Hello world Hello world Hello world im im Hello world"),
        ]
    }

    /// Prompt logits and greedy ids with the prompt fed `chunk` tokens at a time.
    fn prefill_and_generate(model: &mut DecoderChat, chunk: usize) -> (Vec<f32>, Vec<u32>) {
        model.prefill_chunk_tokens = chunk;
        let prompt = model.render_prompt(&longer_conversation()).unwrap();
        let ids = model.encode(&prompt).unwrap();
        model.model.clear_kv_cache();
        let logits = model
            .forward_in_chunks(&ids, 0)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let (generated, _) = model
            .generate_ids(&longer_conversation(), &greedy(8))
            .unwrap();
        (logits, generated)
    }

    fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn qwen2_prompt_fed_in_chunks_matches_the_prompt_fed_whole() {
        let (_dir, mut model) = load_tiny_gguf(512);
        assert_eq!(model.prefill_chunk_tokens, PREFILL_CHUNK_TOKENS);
        let prompt = model.render_prompt(&longer_conversation()).unwrap();
        let prompt_len = model.encode(&prompt).unwrap().len();
        assert!(
            (30..=60).contains(&prompt_len),
            "{prompt_len} prompt tokens"
        );
        let (whole_logits, whole_ids) = prefill_and_generate(&mut model, usize::MAX);
        let (chunked_logits, chunked_ids) = prefill_and_generate(&mut model, 3);
        let diff = max_abs_diff(&whole_logits, &chunked_logits);
        assert!(diff < 1e-3, "prompt logits differ by {diff}");
        assert_eq!(chunked_ids, whole_ids);
        assert_eq!(whole_ids.len(), 8);
    }

    #[test]
    fn gemma3_prompt_fed_in_chunks_matches_the_prompt_fed_whole() {
        let (_dir, mut model) = load_tiny_gemma3(256, 16);
        let prompt = model.render_prompt(&longer_conversation()).unwrap();
        let prompt_len = model.encode(&prompt).unwrap().len();
        assert!(prompt_len > 2 * 16, "{prompt_len} prompt tokens");
        let (whole_logits, whole_ids) = prefill_and_generate(&mut model, usize::MAX);
        let (chunked_logits, chunked_ids) = prefill_and_generate(&mut model, 3);
        let diff = max_abs_diff(&whole_logits, &chunked_logits);
        assert!(diff < 1e-3, "prompt logits differ by {diff}");
        assert_eq!(chunked_ids, whole_ids);
    }

    /// What transformers 5.23 computed with a tiny random model:
    /// tests/fixtures/chat-reference/<arch>/, made by
    /// scripts/make_fixtures_chat.py.
    struct Reference {
        prompt_ids: Vec<u32>,
        prompt_logits: Vec<f32>,
        greedy_ids: Vec<u32>,
        last_step_logits: Vec<f32>,
    }

    fn reference_dir(arch: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/chat-reference")
            .join(arch)
    }

    fn read_reference(arch: &str, file: &str) -> Reference {
        let text = std::fs::read_to_string(reference_dir(arch).join(file)).unwrap();
        let json: Json = serde_json::from_str(&text).unwrap();
        let ids = |key: &str| serde_json::from_value::<Vec<u32>>(json[key].clone()).unwrap();
        let floats = |key: &str| serde_json::from_value::<Vec<f32>>(json[key].clone()).unwrap();
        Reference {
            prompt_ids: ids("prompt_ids"),
            prompt_logits: floats("prompt_logits"),
            greedy_ids: ids("greedy_ids"),
            last_step_logits: floats("last_step_logits"),
        }
    }

    /// Runs the reference's prompt (fed `chunk` tokens at a time) and as many
    /// greedy steps, and checks logits and ids against transformers'.
    fn assert_matches_reference(
        label: &str,
        model: &mut Backbone,
        reference: &Reference,
        chunk: usize,
    ) {
        let device = Device::Cpu;
        let to_vec = |logits: Tensor| logits.to_vec1::<f32>().unwrap();
        model.clear_kv_cache();
        let mut logits = to_vec(
            model
                .prefill(&reference.prompt_ids, 0, chunk, &device)
                .unwrap(),
        );
        let diff = max_abs_diff(&logits, &reference.prompt_logits);
        assert!(diff < 1e-4, "{label}: prompt logits differ by {diff}");
        let mut generated = Vec::new();
        for position in reference.prompt_ids.len().. {
            if generated.len() == reference.greedy_ids.len() {
                break;
            }
            let next = logits
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(id, _)| id as u32)
                .unwrap();
            generated.push(next);
            logits = to_vec(model.prefill(&[next], position, 1, &device).unwrap());
        }
        assert_eq!(generated, reference.greedy_ids, "{label}: greedy ids");
        let diff = max_abs_diff(&logits, &reference.last_step_logits);
        assert!(diff < 1e-4, "{label}: last step's logits differ by {diff}");
    }

    const REFERENCE_ARCHITECTURES: [&str; 4] = ["qwen2", "qwen3", "llama", "gemma3"];

    #[test]
    fn safetensors_models_compute_what_transformers_computes() {
        for arch in REFERENCE_ARCHITECTURES {
            let dir = reference_dir(arch);
            let config = std::fs::read_to_string(dir.join("config.json")).unwrap();
            let shards = [dir.join("model.safetensors")];
            let (mut model, context) =
                Backbone::from_safetensors(&config, &shards, &Device::Cpu).unwrap();
            assert_eq!(context, 256, "{arch}");
            // The Llama fixture carries Llama 3's rope_scaling, which
            // candle's safetensors Llama applies.
            let reference = read_reference(arch, "reference.json");
            for chunk in [usize::MAX, 7] {
                let label = format!("{arch} safetensors, prompt in chunks of {chunk}");
                assert_matches_reference(&label, &mut model, &reference, chunk);
            }
        }
    }

    /// Writes the reference model to `dir/model.gguf` as llama.cpp's
    /// convert_hf_to_gguf.py does, in f32: its tensor names and metadata,
    /// Llama's q/k rows permuted for interleaved RoPE, Gemma's norms with
    /// their +1 added.
    fn write_reference_gguf(arch: &str, dir: &Path) {
        use gguf_file::Value;
        let source = reference_dir(arch);
        let config: Json =
            serde_json::from_str(&std::fs::read_to_string(source.join("config.json")).unwrap())
                .unwrap();
        let uint = |key: &str| config[key].as_u64().unwrap() as u32;
        let heads = uint("num_attention_heads") as usize;
        let kv_heads = uint("num_key_value_heads") as usize;
        let head_dim = config["head_dim"]
            .as_u64()
            .map(|d| d as u32)
            .unwrap_or(uint("hidden_size") / heads as u32);
        let key = |name: &str| format!("{arch}.{name}");
        let mut metadata = vec![
            (
                "general.architecture".to_string(),
                Value::String(arch.into()),
            ),
            (
                key("context_length"),
                Value::U32(uint("max_position_embeddings")),
            ),
            (key("embedding_length"), Value::U32(uint("hidden_size"))),
            (key("block_count"), Value::U32(uint("num_hidden_layers"))),
            (
                key("feed_forward_length"),
                Value::U32(uint("intermediate_size")),
            ),
            (key("attention.head_count"), Value::U32(heads as u32)),
            (key("attention.head_count_kv"), Value::U32(kv_heads as u32)),
            (key("attention.key_length"), Value::U32(head_dim)),
            (key("attention.value_length"), Value::U32(head_dim)),
            (
                key("attention.layer_norm_rms_epsilon"),
                Value::F32(config["rms_norm_eps"].as_f64().unwrap() as f32),
            ),
            (
                key("rope.freq_base"),
                Value::F32(config["rope_theta"].as_f64().unwrap() as f32),
            ),
            (key("rope.dimension_count"), Value::U32(head_dim)),
        ];
        if arch == "gemma3" {
            metadata.push((
                key("attention.sliding_window"),
                Value::U32(uint("sliding_window")),
            ));
        }
        let permute = |tensor: &Tensor, heads: usize| {
            let (rows, cols) = tensor.dims2().unwrap();
            tensor
                .reshape((heads, 2, rows / heads / 2, cols))
                .unwrap()
                .transpose(1, 2)
                .unwrap()
                .contiguous()
                .unwrap()
                .reshape((rows, cols))
                .unwrap()
        };
        let tensors: Vec<(String, QTensor)> =
            candle_core::safetensors::load(source.join("model.safetensors"), &Device::Cpu)
                .unwrap()
                .into_iter()
                .map(|(name, tensor)| {
                    let tensor = match arch {
                        "llama" if name.ends_with("q_proj.weight") => permute(&tensor, heads),
                        "llama" if name.ends_with("k_proj.weight") => permute(&tensor, kv_heads),
                        "gemma3" if name.ends_with("norm.weight") => (tensor + 1.0).unwrap(),
                        _ => tensor,
                    };
                    let qtensor = QTensor::quantize(&tensor, GgmlDType::F32).unwrap();
                    (gguf_name(arch, &name), qtensor)
                })
                .collect();
        let metadata_refs: Vec<(&str, &Value)> =
            metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let tensor_refs: Vec<(&str, &QTensor)> =
            tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let mut file = File::create(dir.join("model.gguf")).unwrap();
        gguf_file::write(&mut file, &metadata_refs, &tensor_refs).unwrap();
    }

    #[test]
    fn gguf_models_compute_what_transformers_computes() {
        for arch in REFERENCE_ARCHITECTURES {
            let dir = tempfile::tempdir().unwrap();
            write_reference_gguf(arch, dir.path());
            let path = dir.path().join("model.gguf");
            let mut file = File::open(&path).unwrap();
            let content = gguf_file::Content::read(&mut file).unwrap();
            let (mut model, _) =
                Backbone::from_gguf(&path, content, &mut file, &Device::Cpu).unwrap();
            // candle's GGUF Llama ignores the rope_freqs tensor that carries
            // Llama 3's RoPE scaling, so it is checked without the scaling.
            let reference_file = if arch == "llama" {
                "reference-unscaled.json"
            } else {
                "reference.json"
            };
            let reference = read_reference(arch, reference_file);
            for chunk in [usize::MAX, 7] {
                let label = format!("{arch} GGUF, prompt in chunks of {chunk}");
                assert_matches_reference(&label, &mut model, &reference, chunk);
            }
        }
    }

    #[test]
    fn safetensors_llama_missing_a_tensor_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let source = reference_dir("llama");
        let mut tensors =
            candle_core::safetensors::load(source.join("model.safetensors"), &Device::Cpu).unwrap();
        tensors.remove("model.layers.1.mlp.up_proj.weight");
        let shard = dir.path().join("model.safetensors");
        candle_core::safetensors::save(&tensors, &shard).unwrap();
        let config = std::fs::read_to_string(source.join("config.json")).unwrap();
        let err = Backbone::from_safetensors(&config, &[shard], &Device::Cpu)
            .err()
            .unwrap();
        assert!(
            err.to_string()
                .contains("model.layers.1.mlp.up_proj.weight"),
            "{err}"
        );
    }

    #[test]
    fn unsupported_safetensors_model_types_are_named() {
        let dir = reference_dir("qwen2");
        let shards = [dir.join("model.safetensors")];
        for (model_type, expected) in [
            ("mistral", "\"mistral\" is not supported"),
            ("gemma3", "vision tower"),
        ] {
            let config = serde_json::json!({ "model_type": model_type }).to_string();
            let err = Backbone::from_safetensors(&config, &shards, &Device::Cpu)
                .err()
                .unwrap();
            assert!(err.to_string().contains(expected), "{err}");
        }
    }
}
