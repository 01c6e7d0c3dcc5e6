//! A model's own chat template (from `tokenizer_config.json` or GGUF
//! metadata), compiled once with minijinja and rendered as transformers'
//! `apply_chat_template` renders it.

use serde_json::Value as Json;

use super::BoxError;
use super::{ChatError, ChatMessage};

/// A chat template compiled once, rendered per conversation.
pub(crate) struct ChatTemplate {
    env: minijinja::Environment<'static>,
    bos_token: String,
    eos_token: String,
}

impl ChatTemplate {
    const NAME: &'static str = "chat";

    pub(crate) fn new(
        source: String,
        bos_token: String,
        eos_token: String,
    ) -> Result<Self, BoxError> {
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

    pub(crate) fn render(&self, messages: &[ChatMessage]) -> Result<String, ChatError> {
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

/// `chat_template` is a string, or a list of named templates of which
/// `default` is the chat one.
pub(crate) fn chat_template_from_config(config: &Json) -> Option<String> {
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
pub(crate) fn special_token_from_config(config: Option<&Json>, key: &str) -> Option<String> {
    match config?.get(key)? {
        Json::String(token) => Some(token.clone()),
        Json::Object(token) => token.get("content")?.as_str().map(str::to_owned),
        _ => None,
    }
}
