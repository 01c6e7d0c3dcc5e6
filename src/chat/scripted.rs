//! The chat model of the tests: it answers from a script, counts
//! whitespace-separated words as tokens, stops at `max_new_tokens` of them as
//! a real model would, and logs every prompt it accepts, so that summaries,
//! headlines and LLM translation can be tested without weights.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use crate::chat::{ChatError, ChatMessage, ChatModel, Finish, Reply, Sampling};

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

    fn chat(&mut self, messages: &[ChatMessage], sampling: &Sampling) -> Result<Reply, ChatError> {
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
        let answer = self
            .script
            .pop_front()
            .unwrap_or_else(|| self.fallback.clone());
        if self.count_tokens(&answer) <= sampling.max_new_tokens {
            return Ok(Reply {
                text: answer,
                finish: Finish::EndOfTurn,
            });
        }
        Ok(Reply {
            text: first_words(&answer, sampling.max_new_tokens).to_string(),
            finish: Finish::MaxNewTokens,
        })
    }
}

/// `text` as far as its first `count` words, line breaks and all.
fn first_words(text: &str, count: usize) -> &str {
    let mut words = 0;
    let mut in_word = false;
    for (index, c) in text.char_indices() {
        let starts_word = !in_word && !c.is_whitespace();
        in_word = !c.is_whitespace();
        if starts_word {
            if words == count {
                return text[..index].trim_end();
            }
            words += 1;
        }
    }
    text
}
