//! Instruction-tuned chat models behind one small interface, so that
//! summaries, headlines and LLM translation are written once against
//! [`ChatModel`] whatever runs underneath (a GGUF or safetensors decoder on
//! candle, or a scripted model in tests).

pub mod decoder;

/// One turn of a conversation, as chat templates expect it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: "system".into(),
            content: content.into(),
        }
    }

    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: "user".into(),
            content: content.into(),
        }
    }

    pub fn assistant(content: impl Into<String>) -> Self {
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

/// An instruction-tuned model that answers a conversation.
pub trait ChatModel {
    /// Stable identity for cache keys (repo@revision or content hash).
    fn identity(&self) -> &str;

    /// Tokens the model can attend to: prompt plus answer.
    fn context_length(&self) -> usize;

    /// Tokens `text` takes in this model's vocabulary (for chunking).
    fn count_tokens(&self, text: &str) -> usize;

    /// The assistant's reply to `messages`, without the end-of-turn token.
    fn chat(&mut self, messages: &[ChatMessage], sampling: &Sampling) -> Result<String, ChatError>;
}
