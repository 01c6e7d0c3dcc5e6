//! Decoder-only instruction-tuned LLMs (Qwen2/2.5, Qwen3, Llama 3.x) on
//! candle, behind [`ChatModel`]: loads a directory holding one GGUF file or
//! `config.json` + safetensors, builds the tokenizer (from `tokenizer.json`
//! or the GGUF metadata), renders the model's own chat template and
//! generates greedily or with seeded sampling.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::generation::LogitsProcessor;
use candle_transformers::models::{quantized_llama, quantized_qwen2, quantized_qwen3, qwen2};
use serde_json::Value as Json;
use tokenizers::Tokenizer;

use super::{ChatError, ChatMessage, ChatModel, Sampling};
use crate::resolve::{self, ChatLayout, WeightFiles};

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
];

/// Pre-tokenizer regexes llama.cpp uses for byte-level BPE vocabularies
/// (`tokenizer.ggml.pre`), copied from the models' own `tokenizer.json`.
const QWEN2_PRETOKENIZER_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const LLAMA3_PRETOKENIZER_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const GPT2_PRETOKENIZER_REGEX: &str =
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

/// The network underneath, one variant per candle implementation.
enum Backbone {
    QuantizedQwen2(quantized_qwen2::ModelWeights),
    QuantizedQwen3(quantized_qwen3::ModelWeights),
    QuantizedLlama(quantized_llama::ModelWeights),
    Qwen2(qwen2::ModelForCausalLM),
}

impl Backbone {
    /// Logits for the last position of `input_ids` (batch 1), as a vector.
    fn forward(&mut self, input_ids: &Tensor, position: usize) -> candle_core::Result<Tensor> {
        let logits = match self {
            Self::QuantizedQwen2(model) => model.forward(input_ids, position)?,
            Self::QuantizedQwen3(model) => model.forward(input_ids, position)?,
            Self::QuantizedLlama(model) => model.forward(input_ids, position)?,
            Self::Qwen2(model) => model.forward(input_ids, position)?,
        };
        logits.flatten_all()?.to_dtype(DType::F32)
    }

    fn clear_kv_cache(&mut self) {
        match self {
            Self::QuantizedQwen2(model) => model.clear_kv_cache(),
            Self::QuantizedQwen3(model) => model.clear_kv_cache(),
            Self::QuantizedLlama(model) => model.clear_kv_cache(),
            Self::Qwen2(model) => model.clear_kv_cache(),
        }
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
    /// Qwen3 or Llama 3.x, chosen by `general.architecture`), or
    /// `config.json` + `*.safetensors` + `tokenizer.json` (Qwen2, by
    /// `model_type`). `tokenizer.json` / `tokenizer_config.json` beside a
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
        let architecture = metadata
            .get("general.architecture")
            .ok_or("no general.architecture in the GGUF metadata")?
            .to_string()?
            .clone();
        let declared_context = metadata_uint(&metadata, &format!("{architecture}.context_length"))
            .ok_or_else(|| format!("no {architecture}.context_length in the GGUF metadata"))?;
        let (model, context_length) = match architecture.as_str() {
            "qwen2" => (
                Backbone::QuantizedQwen2(quantized_qwen2::ModelWeights::from_gguf(
                    content, &mut file, device,
                )?),
                declared_context,
            ),
            "qwen3" => (
                Backbone::QuantizedQwen3(quantized_qwen3::ModelWeights::from_gguf(
                    content, &mut file, device,
                )?),
                declared_context,
            ),
            // candle precomputes rotary tables for MAX_SEQ_LEN positions only.
            "llama" => (
                Backbone::QuantizedLlama(quantized_llama::ModelWeights::from_gguf(
                    content, &mut file, device,
                )?),
                declared_context.min(quantized_llama::MAX_SEQ_LEN),
            ),
            other => {
                return Err(format!(
                    "GGUF architecture {other:?} is not supported (qwen2, qwen3, llama are)"
                )
                .into())
            }
        };

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
        let model_type = config
            .get("model_type")
            .and_then(Json::as_str)
            .unwrap_or_default();
        if model_type != "qwen2" {
            return Err(format!(
                "model_type {model_type:?} is not supported with safetensors (qwen2 is)"
            )
            .into());
        }
        let qwen_config: qwen2::Config = serde_json::from_str(&config_text)?;
        // bf16 matmuls are slow or missing on CPU; accelerators take bf16.
        let dtype = if device.is_cpu() {
            DType::F32
        } else {
            DType::BF16
        };
        // SAFETY: the files are memory-mapped read-only; like every mmap
        // user we rely on nobody truncating them while the model is loaded.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(shards, dtype, device)? };
        let model = Backbone::Qwen2(qwen2::ModelForCausalLM::new(&qwen_config, vb)?);

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
            qwen_config.max_position_embeddings,
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
        let generate_error = |e: candle_core::Error| ChatError::Generate(Box::new(e));
        // Each call is a fresh conversation.
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
            let input_tensor = Tensor::new(input.as_slice(), &self.device)
                .and_then(|t| t.unsqueeze(0))
                .map_err(generate_error)?;
            let logits = self
                .model
                .forward(&input_tensor, position)
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

/// llama.cpp token types (`tokenizer.ggml.token_type`).
const TOKEN_TYPE_CONTROL: i64 = 3;
const TOKEN_TYPE_USER_DEFINED: i64 = 4;

/// Builds the byte-level BPE tokenizer a GGUF file describes
/// (`tokenizer.ggml.model` = `gpt2`), the way llama.cpp tokenizes it:
/// control and user-defined tokens matched whole, the text split by the
/// pre-tokenizer regex named by `tokenizer.ggml.pre`, then byte-level BPE.
fn tokenizer_from_gguf(
    metadata: &HashMap<String, gguf_file::Value>,
) -> Result<Tokenizer, BoxError> {
    let model = metadata
        .get("tokenizer.ggml.model")
        .ok_or("no tokenizer.json and no tokenizer.ggml.model in the GGUF metadata")?
        .to_string()?;
    if model != "gpt2" {
        return Err(format!(
            "GGUF tokenizer model {model:?} is not supported (byte-level BPE, gpt2, is); \
             put the model's tokenizer.json beside the GGUF file"
        )
        .into());
    }
    let tokens = metadata_strings(metadata, "tokenizer.ggml.tokens")?;
    let merges = metadata_strings(metadata, "tokenizer.ggml.merges")?;
    let token_types: Vec<i64> = match metadata.get("tokenizer.ggml.token_type") {
        Some(value) => value
            .to_vec()?
            .iter()
            .map(|v| match v {
                gguf_file::Value::I32(t) => i64::from(*t),
                gguf_file::Value::U32(t) => i64::from(*t),
                _ => 1,
            })
            .collect(),
        None => Vec::new(),
    };
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

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::{GgmlDType, QTensor};

    /// Qwen2.5-Instruct's chat template.
    const QWEN25_TEMPLATE: &str = include_str!("testdata/qwen25_chat_template.jinja");
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

    /// llama.cpp's name for a Hugging Face Qwen2 tensor.
    fn gguf_name(hf_name: &str) -> String {
        if hf_name == "model.embed_tokens.weight" {
            return "token_embd.weight".into();
        }
        if hf_name == "model.norm.weight" {
            return "output_norm.weight".into();
        }
        let rest = hf_name.strip_prefix("model.layers.").unwrap();
        let (layer, name) = rest.split_once('.').unwrap();
        let renamed = [
            ("self_attn.q_proj", "attn_q"),
            ("self_attn.k_proj", "attn_k"),
            ("self_attn.v_proj", "attn_v"),
            ("self_attn.o_proj", "attn_output"),
            ("mlp.gate_proj", "ffn_gate"),
            ("mlp.up_proj", "ffn_up"),
            ("mlp.down_proj", "ffn_down"),
            ("input_layernorm", "attn_norm"),
            ("post_attention_layernorm", "ffn_norm"),
        ]
        .iter()
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
                (gguf_name(&name), QTensor::quantize(&tensor, dtype).unwrap())
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
}
