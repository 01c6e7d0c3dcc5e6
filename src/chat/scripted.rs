//! The chat model of the tests: it answers from a script, counts
//! whitespace-separated words as tokens and logs every prompt it accepts, so
//! that summaries, headlines and LLM translation can be tested without
//! weights.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use crate::chat::{ChatError, ChatMessage, ChatModel, Sampling};

/// The prompts [`ScriptedChat`]s were given, in order. Shared, so that a
/// test still reads it once the model has moved into a
/// [`crate::chat::SharedChat`], and so that several models can count their
/// calls together.
#[derive(Debug, Clone, Default)]
pub(crate) struct PromptLog(Rc<RefCell<Vec<String>>>);

impl PromptLog {
    pub(crate) fn prompts(&self) -> Vec<String> {
        self.0.borrow().clone()
    }

    pub(crate) fn calls(&self) -> usize {
        self.0.borrow().len()
    }
}

pub(crate) struct ScriptedChat {
    /// Answers for the first calls, in order.
    script: VecDeque<String>,
    /// The answer to every call after the script.
    fallback: String,
    context_length: usize,
    log: PromptLog,
}

impl ScriptedChat {
    /// Answers every prompt with `answer`, in a context of 4096 tokens.
    pub(crate) fn answering(answer: &str) -> Self {
        Self {
            script: VecDeque::new(),
            fallback: answer.to_string(),
            context_length: 4096,
            log: PromptLog::default(),
        }
    }

    /// Answers the first prompts with `answers`, in order, and only then as
    /// [`ScriptedChat::answering`] says.
    pub(crate) fn first(mut self, answers: &[&str]) -> Self {
        self.script = answers.iter().map(|answer| answer.to_string()).collect();
        self
    }

    pub(crate) fn with_context_length(mut self, tokens: usize) -> Self {
        self.context_length = tokens;
        self
    }

    /// Logs into `log` instead of a log of its own.
    pub(crate) fn logging_to(mut self, log: &PromptLog) -> Self {
        self.log = log.clone();
        self
    }

    pub(crate) fn log(&self) -> PromptLog {
        self.log.clone()
    }

    pub(crate) fn prompts(&self) -> Vec<String> {
        self.log.prompts()
    }
}

impl ChatModel for ScriptedChat {
    fn identity(&self) -> &str {
        "test:scripted"
    }

    fn context_length(&self) -> usize {
        self.context_length
    }

    fn count_tokens(&self, text: &str) -> usize {
        text.split_whitespace().count()
    }

    fn chat(&mut self, messages: &[ChatMessage], sampling: &Sampling) -> Result<String, ChatError> {
        let prompt: String = messages.iter().map(|m| m.content.as_str()).collect();
        let tokens = self.count_tokens(&prompt);
        // A real model refuses a prompt that leaves no room to answer.
        if tokens + sampling.max_new_tokens > self.context_length {
            return Err(ChatError::PromptTooLong {
                tokens,
                limit: self.context_length,
            });
        }
        self.log.0.borrow_mut().push(prompt);
        Ok(self
            .script
            .pop_front()
            .unwrap_or_else(|| self.fallback.clone()))
    }
}
