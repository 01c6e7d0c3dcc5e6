//! Instruction-tuned chat models behind one small interface, so that
//! summaries, headlines and LLM translation are written once against
//! [`ChatModel`] whatever runs underneath (a GGUF or safetensors decoder on
//! candle, or a scripted model in tests).

pub(crate) mod backbone;
pub mod decoder;
pub(crate) mod gemma3;
pub mod prompts;
pub(crate) mod qwen2;
#[cfg(test)]
pub(crate) mod scripted;
pub(crate) mod template;

use std::cell::RefCell;
use std::rc::Rc;

/// Errors from the libraries a chat model is built with (candle,
/// tokenizers, minijinja), kept with their sources until they become a
/// [`ChatError`].
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One loaded chat model serving several jobs of a run (summaries and LLM
/// translation may name the same model; it is loaded once). Jobs take turns:
/// `chat` needs `&mut`.
pub type SharedChat = Rc<RefCell<Box<dyn ChatModel>>>;

/// `model` ready to be shared.
pub fn shared(model: impl ChatModel + 'static) -> SharedChat {
    Rc::new(RefCell::new(Box::new(model)))
}

/// One turn of a conversation, as chat templates expect it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub(crate) role: String,
    pub(crate) content: String,
}

impl ChatMessage {
    #[cfg(test)]
    pub(crate) fn system(content: impl Into<String>) -> Self {
        Self {
            role: "system".into(),
            content: content.into(),
        }
    }

    pub(crate) fn user(content: impl Into<String>) -> Self {
        Self {
            role: "user".into(),
            content: content.into(),
        }
    }

    pub(crate) fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: "assistant".into(),
            content: content.into(),
        }
    }
}

/// How to pick tokens. Temperature 0 is greedy (the default, reproducible);
/// above 0, sampling is seeded so a run can be repeated.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Sampling {
    pub max_new_tokens: usize,
    pub temperature: f64,
    pub seed: u64,
}

impl Default for Sampling {
    fn default() -> Self {
        Self {
            max_new_tokens: 256,
            temperature: 0.0,
            seed: 0,
        }
    }
}

/// Why a chat model stopped writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Finish {
    /// It ended its turn: the answer is whole.
    EndOfTurn,
    /// It wrote [`Sampling::max_new_tokens`] tokens.
    MaxNewTokens,
    /// Prompt and answer filled [`ChatModel::context_length`].
    ContextFull,
}

impl Finish {
    /// Whether a token limit, not the model, ended the answer, which may
    /// then stop mid-sentence.
    pub(crate) fn cut_off(self) -> bool {
        self != Finish::EndOfTurn
    }
}

/// A chat model's answer and why it ends where it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub(crate) text: String,
    pub(crate) finish: Finish,
}

impl Reply {
    /// See [`Finish::cut_off`].
    pub(crate) fn cut_off(&self) -> bool {
        self.finish.cut_off()
    }
}

/// Why a chat model could not answer.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("cannot load chat model from {path}")]
    Load {
        path: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the prompt has {tokens} tokens; the model takes at most {limit}")]
    PromptTooLong { tokens: usize, limit: usize },
    #[error("cannot render the chat template")]
    Template(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("generation failed")]
    Generate(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// What a GGUF chat model's metadata says about it, as `(label, value)`
/// lines for `anubad models info`; reads the header only.
pub fn gguf_facts(path: &std::path::Path) -> Result<Vec<(&'static str, String)>, ChatError> {
    use candle_core::quantized::gguf_file;
    let read = || -> Result<gguf_file::Content, Box<dyn std::error::Error + Send + Sync>> {
        let mut file = std::fs::File::open(path)?;
        Ok(gguf_file::Content::read(&mut file)?)
    };
    let content = read().map_err(|source| ChatError::Load {
        path: path.display().to_string(),
        source,
    })?;
    let value = |key: &str| {
        content.metadata.get(key).map(|v| match v {
            gguf_file::Value::String(s) => s.clone(),
            gguf_file::Value::U32(n) => n.to_string(),
            gguf_file::Value::U64(n) => n.to_string(),
            gguf_file::Value::I32(n) => n.to_string(),
            gguf_file::Value::I64(n) => n.to_string(),
            _ => "-".to_string(),
        })
    };
    let architecture = value("general.architecture").unwrap_or_else(|| "unknown".into());
    let per_arch = |key: &str| value(&format!("{architecture}.{key}")).unwrap_or("-".into());
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let template = if content.metadata.contains_key("tokenizer.chat_template") {
        "in the GGUF metadata"
    } else {
        "none in the GGUF (needs tokenizer_config.json beside it)"
    };
    Ok(vec![
        ("family:", architecture.clone()),
        (
            "size:",
            format!(
                "hidden {}, {} layers, context {} tokens",
                per_arch("embedding_length"),
                per_arch("block_count"),
                per_arch("context_length")
            ),
        ),
        (
            "tokenizer:",
            value("tokenizer.ggml.model").unwrap_or_else(|| "-".into()),
        ),
        ("template:", template.to_string()),
        (
            "file:",
            format!(
                "{} ({size} bytes, {} tensors)",
                path.file_name().unwrap_or_default().to_string_lossy(),
                content.tensor_infos.len()
            ),
        ),
    ])
}

/// An instruction-tuned model that answers a conversation.
pub trait ChatModel {
    /// Stable identity for cache keys (repo@revision or content hash).
    fn identity(&self) -> &str;

    /// Tokens the model can attend to: prompt plus answer.
    fn context_length(&self) -> usize;

    /// Tokens `text` takes in this model's vocabulary (for chunking).
    fn count_tokens(&self, text: &str) -> usize;

    /// The assistant's reply to `messages`, without the end-of-turn token,
    /// and why it ended.
    fn chat(&mut self, messages: &[ChatMessage], sampling: &Sampling) -> Result<Reply, ChatError>;
}
