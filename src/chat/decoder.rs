//! Decoder-only instruction-tuned LLMs (Qwen2/2.5, Qwen3, Llama 3.x,
//! Gemma 3) on candle, behind [`ChatModel`]: loads a directory holding one
//! GGUF file or `config.json` + safetensors, builds the tokenizer (from
//! `tokenizer.json` or the GGUF metadata), renders the model's own chat
//! template and generates greedily or with seeded sampling, feeding long
//! prompts in chunks so that attention memory stays bounded.

use std::fs::File;
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use candle_transformers::generation::LogitsProcessor;
use serde_json::Value as Json;
use tokenizers::Tokenizer;

use super::BoxError;
use super::{ChatError, ChatMessage, ChatModel, Finish, Reply, Sampling};
use crate::models::{ChatLayout, WeightFiles};

use crate::chat::backbone::{Backbone, PREFILL_CHUNK_TOKENS};
use crate::chat::template::{chat_template_from_config, special_token_from_config, ChatTemplate};
use crate::tokenize::gguf::{metadata_uint, tokenizer_from_gguf};

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
    /// The tokens whose keys and values the model's cache holds, in order:
    /// the last prompt and what was generated after it.
    fed: Vec<u32>,
    /// Prompt tokens of the last call that came from the cache.
    last_reused: usize,
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
    #[cfg(test)]
    pub(crate) fn load_dir(
        dir: &Path,
        identity: String,
        device: &Device,
    ) -> Result<Self, ChatError> {
        let layout = crate::models::chat_layout_in(dir).map_err(|source| ChatError::Load {
            path: dir.display().to_string(),
            source: Box::new(source),
        })?;
        Self::load(&layout, identity, device)
    }

    /// Loads the files `layout` names (what [`models::resolve_chat`] found).
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
            fed: Vec::new(),
            last_reused: 0,
            device: device.clone(),
        }
    }

    /// The prompt text `messages` become, generation prompt included.
    pub(crate) fn render_prompt(&self, messages: &[ChatMessage]) -> Result<String, ChatError> {
        self.template.render(messages)
    }

    /// Token ids that end the assistant's turn.
    #[cfg(test)]
    pub(crate) fn stop_ids(&self) -> &[u32] {
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
        // Prompts often start alike (the same instructions and examples
        // before each paragraph, the same article before a retry): the
        // cached positions of the tokens this prompt shares with the last
        // conversation are kept, the rest dropped, and only the new part is
        // fed. A position's keys and values depend only on the tokens
        // before it, so nothing else of the last conversation leaks in. One
        // token at least is fed, for its logits.
        let shared = self
            .fed
            .iter()
            .zip(&prompt_ids)
            .take_while(|(fed, prompt)| fed == prompt)
            .count()
            .min(prompt_ids.len() - 1);
        let position = if self.model.keep_kv(shared).map_err(generate_error)? {
            shared
        } else {
            0
        };
        self.fed = prompt_ids[..position].to_vec();
        self.last_reused = position;
        let mut logits_processor =
            LogitsProcessor::new(sampling.seed, Some(sampling.temperature), None);

        let mut generated = Vec::new();
        let mut input = prompt_ids[position..].to_vec();
        let mut position = position;
        let finish = loop {
            if generated.len() >= sampling.max_new_tokens {
                break Finish::MaxNewTokens;
            }
            // Every generated token but the last is fed back at the next position.
            if position + input.len() > self.context_length {
                break Finish::ContextFull;
            }
            let fed = self.forward_in_chunks(&input, position);
            // A failed forward pass leaves the cache in an unknown state.
            let logits = fed
                .inspect_err(|_| self.fed.clear())
                .map_err(generate_error)?;
            self.fed.extend_from_slice(&input);
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

    fn chat(&mut self, messages: &[ChatMessage], sampling: &Sampling) -> Result<Reply, ChatError> {
        let (ids, finish) = self.generate_ids(messages, sampling)?;
        let text = self
            .tokenizer
            .decode(&ids, true)
            .map_err(ChatError::Generate)?;
        Ok(Reply { text, finish })
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

#[cfg(test)]
mod tests;
