//! Abstractive summary of an English translation by a chat model, with a
//! check that the model did not invent what the article does not say.
//!
//! An article longer than the model's context is summarised map-reduce: its
//! paragraphs are packed into chunks that fit, each chunk is summarised, and
//! the chunk summaries are combined (in rounds, when even they do not fit
//! together). Small instruction-tuned models like to change numbers and
//! make up names, so every number and proper name of the summary must occur
//! in the translation; if one does not, the model is asked once more with a
//! stricter prompt naming the offenders, and a summary that still has some
//! is kept but flagged, so the caller can warn the reader. The stricter
//! prompt follows the first answer in the same conversation, so a model
//! that keeps its cache (see [`crate::chat::decoder`]) reads the article
//! once for both.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::json;

use crate::chat::prompts::{PromptError, PromptName, Prompts};
use crate::chat::{ChatError, ChatMessage, ChatModel, Sampling};
use crate::output::SummaryMethod;
use crate::text::english::{self, NumberWordForm};
use crate::text::extractive_summary::DEFAULT_SUMMARY_SENTENCES;
use crate::text::numbers::check_numbers;
use crate::text::{split_long, split_sentences};

/// Tokens kept free for the chat template's role markers and special
/// tokens, which `count_tokens` of the prompt text does not see.
const CHAT_FRAMING_TOKENS: usize = 16;

/// The article as the summariser sees it: the English translation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ArticleText {
    pub(crate) title: String,
    pub(crate) paragraphs: Vec<String>,
}

impl ArticleText {
    /// Title and body as one text, the evidence a summary is checked against.
    pub(crate) fn full_text(&self) -> String {
        std::iter::once(self.title.as_str())
            .chain(self.paragraphs.iter().map(String::as_str))
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join("\n\n")
    }

    fn body(&self) -> Vec<&str> {
        self.paragraphs
            .iter()
            .map(|paragraph| paragraph.trim())
            .filter(|paragraph| !paragraph.is_empty())
            .collect()
    }
}

/// How long a summary to ask for and how to sample it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SummaryOptions {
    /// Upper bound on the summary's sentences, as told to the model.
    pub sentences: usize,
    /// `max_new_tokens` bounds each answer and is reserved in every prompt.
    pub sampling: Sampling,
}

impl Default for SummaryOptions {
    fn default() -> Self {
        Self {
            sentences: DEFAULT_SUMMARY_SENTENCES,
            sampling: Sampling::default(),
        }
    }
}

/// Whether the summary keeps to what the article says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) enum Faithfulness {
    /// Every number and name of the summary occurs in the article.
    Faithful,
    /// These numbers and names of the summary do not occur in the article.
    Flagged(Vec<String>),
}

/// A summary written by the chat model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct LlmSummary {
    pub(crate) text: String,
    /// [`SummaryMethod::Llm`].
    pub(crate) method: SummaryMethod,
    /// SHA-256 of each prompt template used, by name, for cache keys and
    /// the record of how the summary was made.
    pub(crate) prompt_hashes: BTreeMap<PromptName, String>,
    pub(crate) faithfulness: Faithfulness,
    /// Parts the article was split into to fit the context (1: not split).
    pub(crate) chunks: usize,
    /// Whether the first summary was unfaithful and the strict prompt used.
    pub(crate) retried: bool,
    /// Whether the chat model stopped at the token limit writing the summary
    /// or a part summary it was combined from: it may be incomplete.
    pub(crate) cut_off: bool,
}

/// Why no summary could be written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SummaryError {
    #[error("the article has no text to summarise")]
    EmptyArticle,
    #[error(transparent)]
    Prompt(#[from] PromptError),
    #[error("the chat model failed")]
    Chat(#[from] ChatError),
    #[error("the chat model's context of {context_length} tokens cannot hold a summary prompt ({needed} tokens needed besides the answer)")]
    ContextTooSmall {
        context_length: usize,
        needed: usize,
    },
    #[error("the chat model answered with an empty summary")]
    EmptyAnswer,
    /// An answer that is no use unless whole (the digest introduction)
    /// stopped at the token limit.
    #[error("the chat model stopped at the token limit before finishing")]
    CutOff,
    /// The answer names what its sources do not (the digest introduction:
    /// the stories' summaries).
    #[error("it names {}, which the stories' summaries do not", terms.join(", "))]
    Unsupported { terms: Vec<String> },
}

/// A summary of `article` in at most `options.sentences` sentences, checked
/// for faithfulness (see the module documentation).
pub(crate) fn summarize(
    model: &mut dyn ChatModel,
    prompts: &Prompts,
    article: &ArticleText,
    options: &SummaryOptions,
) -> Result<LlmSummary, SummaryError> {
    let body = article.body();
    if body.is_empty() && article.title.trim().is_empty() {
        return Err(SummaryError::EmptyArticle);
    }
    let mut run = Run {
        model,
        prompts,
        options,
        title: article.title.trim(),
        used: BTreeSet::new(),
        last_exchange: None,
    };

    let whole = body.join("\n\n");
    let (first, final_input, chunks) = match run.fitting_prompt(&summarize_context(
        run.title,
        &whole,
        options.sentences,
        1,
        1,
    ))? {
        Some(prompt) => (
            run.ask(PromptName::Summarize, &prompt)?,
            Draft {
                text: whole,
                cut_off: false,
            },
            1,
        ),
        None => {
            let chunks = run.chunks(&body)?;
            let mut summaries = Vec::with_capacity(chunks.len());
            for (index, chunk) in chunks.iter().enumerate() {
                let context =
                    summarize_context(run.title, chunk, options.sentences, index + 1, chunks.len());
                summaries.push(run.ask_rendered(PromptName::Summarize, &context)?);
            }
            let (answer, inputs) = run.reduce(summaries)?;
            (answer, Draft::combined(&inputs), chunks.len())
        }
    };

    let evidence = article.full_text();
    let first_terms = unsupported_terms(&first.text, &evidence);
    if first_terms.is_empty() {
        return Ok(run.finish(first, Faithfulness::Faithful, chunks, false));
    }

    let strict_context = json!({
        "sentences": options.sentences,
        "terms": first_terms,
    });
    let follow_up = run
        .prompts
        .render(PromptName::SummarizeStrict, &strict_context)?;
    let Some(conversation) = run.continued(&follow_up) else {
        // The follow-up made the conversation too long; keep the flag.
        return Ok(run.finish(first, Faithfulness::Flagged(first_terms), chunks, false));
    };
    let mut second = run.ask_in(PromptName::SummarizeStrict, &conversation)?;
    second.cut_off |= final_input.cut_off;
    let second_terms = unsupported_terms(&second.text, &evidence);
    let (summary, terms) = if second_terms.len() <= first_terms.len() {
        (second, second_terms)
    } else {
        (first, first_terms)
    };
    let faithfulness = if terms.is_empty() {
        Faithfulness::Faithful
    } else {
        Faithfulness::Flagged(terms)
    };
    Ok(run.finish(summary, faithfulness, chunks, true))
}

fn summarize_context(
    title: &str,
    text: &str,
    sentences: usize,
    part: usize,
    parts: usize,
) -> serde_json::Value {
    json!({
        "title": title,
        "text": text,
        "sentences": sentences,
        "part": part,
        "parts": parts,
    })
}

/// A summary or part summary, and whether the model stopped at the token
/// limit writing it or anything it was made from.
#[derive(Debug, Clone)]
struct Draft {
    text: String,
    cut_off: bool,
}

impl Draft {
    /// The texts of `drafts` as one input to a prompt.
    fn combined(drafts: &[Draft]) -> Draft {
        Draft {
            text: drafts
                .iter()
                .map(|draft| draft.text.as_str())
                .collect::<Vec<_>>()
                .join("\n\n"),
            cut_off: drafts.iter().any(|draft| draft.cut_off),
        }
    }
}

/// One summarisation: the model, the settings and the templates used so far.
struct Run<'a> {
    model: &'a mut dyn ChatModel,
    prompts: &'a Prompts,
    options: &'a SummaryOptions,
    title: &'a str,
    used: BTreeSet<PromptName>,
    /// The last conversation sent and the model's reply, as it wrote it.
    last_exchange: Option<(Vec<ChatMessage>, String)>,
}

impl Run<'_> {
    /// Tokens a prompt may take: the context less the answer and framing.
    fn prompt_budget(&self) -> usize {
        self.model
            .context_length()
            .saturating_sub(self.options.sampling.max_new_tokens + CHAT_FRAMING_TOKENS)
    }

    fn fits(&self, prompt: &str) -> bool {
        self.model.count_tokens(prompt) <= self.prompt_budget()
    }

    fn fitting_prompt(&self, context: &serde_json::Value) -> Result<Option<String>, SummaryError> {
        let prompt = self.prompts.render(PromptName::Summarize, context)?;
        Ok(self.fits(&prompt).then_some(prompt))
    }

    fn too_small(&self, prompt: &str) -> SummaryError {
        SummaryError::ContextTooSmall {
            context_length: self.model.context_length(),
            needed: self.model.count_tokens(prompt),
        }
    }

    fn ask(&mut self, template: PromptName, prompt: &str) -> Result<Draft, SummaryError> {
        self.ask_in(template, &[ChatMessage::user(prompt)])
    }

    /// The last exchange followed by `follow_up`, when it fits the context.
    fn continued(&self, follow_up: &str) -> Option<Vec<ChatMessage>> {
        let (messages, reply) = self.last_exchange.as_ref()?;
        let mut conversation = messages.clone();
        conversation.push(ChatMessage::assistant(reply.as_str()));
        conversation.push(ChatMessage::user(follow_up));
        let tokens: usize = conversation
            .iter()
            .map(|message| self.model.count_tokens(&message.content))
            .sum();
        // Each turn has its own role markers.
        (tokens + conversation.len() * CHAT_FRAMING_TOKENS <= self.prompt_budget())
            .then_some(conversation)
    }

    fn ask_in(
        &mut self,
        template: PromptName,
        messages: &[ChatMessage],
    ) -> Result<Draft, SummaryError> {
        self.used.insert(template);
        let reply = self.model.chat(messages, &self.options.sampling)?;
        self.last_exchange = Some((messages.to_vec(), reply.text.clone()));
        let answer = clean_answer(&reply.text);
        if answer.is_empty() {
            return Err(SummaryError::EmptyAnswer);
        }
        Ok(Draft {
            text: answer,
            cut_off: reply.cut_off(),
        })
    }

    fn ask_rendered(
        &mut self,
        template: PromptName,
        context: &serde_json::Value,
    ) -> Result<Draft, SummaryError> {
        let prompt = self.prompts.render(template, context)?;
        if !self.fits(&prompt) {
            return Err(self.too_small(&prompt));
        }
        self.ask(template, &prompt)
    }

    /// The body packed, paragraph by paragraph, into as few chunks as fit a
    /// summarise prompt; a paragraph too long on its own is split at
    /// sentences, then clauses and words.
    fn chunks(&self, paragraphs: &[&str]) -> Result<Vec<String>, SummaryError> {
        // Fits are checked with part numbers larger than any real one, so
        // that the real numbers cannot push a prompt over the budget.
        let max_parts = paragraphs.len().max(1) * 1000;
        let prompt_for = |text: &str| -> Result<String, SummaryError> {
            Ok(self.prompts.render(
                PromptName::Summarize,
                &summarize_context(
                    self.title,
                    text,
                    self.options.sentences,
                    max_parts,
                    max_parts,
                ),
            )?)
        };
        let overhead_prompt = prompt_for("")?;
        if !self.fits(&overhead_prompt) {
            return Err(self.too_small(&overhead_prompt));
        }
        let room = self
            .prompt_budget()
            .saturating_sub(self.model.count_tokens(&overhead_prompt));
        let count = |text: &str| self.model.count_tokens(text);

        let mut pieces: Vec<(String, bool)> = Vec::new();
        for paragraph in paragraphs {
            if self.fits(&prompt_for(paragraph)?) {
                pieces.push((paragraph.to_string(), true));
                continue;
            }
            for sentence in split_sentences(paragraph) {
                for piece in split_long(&sentence, room, &count) {
                    pieces.push((piece, false));
                }
            }
        }

        let mut chunks: Vec<String> = Vec::new();
        let mut current = String::new();
        for (piece, starts_paragraph) in pieces {
            let joined = if current.is_empty() {
                piece.clone()
            } else {
                let separator = if starts_paragraph { "\n\n" } else { " " };
                format!("{current}{separator}{piece}")
            };
            if self.fits(&prompt_for(&joined)?) {
                current = joined;
                continue;
            }
            let alone = prompt_for(&piece)?;
            if !self.fits(&alone) {
                return Err(self.too_small(&alone));
            }
            if !current.is_empty() {
                chunks.push(std::mem::take(&mut current));
            }
            current = piece;
        }
        if !current.is_empty() {
            chunks.push(current);
        }
        Ok(chunks)
    }

    /// One summary from `summaries`, and the summaries the last reduce
    /// prompt combined (the input a strict retry works from).
    fn reduce(&mut self, summaries: Vec<Draft>) -> Result<(Draft, Vec<Draft>), SummaryError> {
        let mut summaries = summaries;
        loop {
            if summaries.len() == 1 {
                let only = summaries.clone();
                return Ok((summaries.remove(0), only));
            }
            let all = self.reduce_prompt(&summaries)?;
            if self.fits(&all) {
                let mut answer = self.ask(PromptName::SummarizeReduce, &all)?;
                answer.cut_off |= summaries.iter().any(|summary| summary.cut_off);
                return Ok((answer, summaries));
            }
            // Too many to combine at once: combine neighbours in groups that
            // fit, then combine the results. A summary that fits with none
            // of its neighbours goes on to the next round as it is.
            let before = summaries.len();
            let mut next = Vec::new();
            let mut group: Vec<Draft> = Vec::new();
            for summary in summaries {
                let mut candidate = group.clone();
                candidate.push(summary.clone());
                if group.is_empty() || self.fits(&self.reduce_prompt(&candidate)?) {
                    group = candidate;
                    continue;
                }
                next.push(self.reduce_group(std::mem::take(&mut group))?);
                group.push(summary);
            }
            next.push(self.reduce_group(group)?);
            if next.len() == before {
                // No two neighbours fit one prompt: rounds would not end.
                let pair = self.reduce_prompt(&next[..2])?;
                return Err(self.too_small(&pair));
            }
            summaries = next;
        }
    }

    /// The group's summaries combined into one (a single one is kept).
    fn reduce_group(&mut self, mut group: Vec<Draft>) -> Result<Draft, SummaryError> {
        if group.len() == 1 {
            return Ok(group.remove(0));
        }
        let prompt = self.reduce_prompt(&group)?;
        let mut answer = self.ask(PromptName::SummarizeReduce, &prompt)?;
        answer.cut_off |= group.iter().any(|summary| summary.cut_off);
        Ok(answer)
    }

    fn reduce_prompt(&self, summaries: &[Draft]) -> Result<String, SummaryError> {
        let texts: Vec<&str> = summaries.iter().map(|s| s.text.as_str()).collect();
        Ok(self.prompts.render(
            PromptName::SummarizeReduce,
            &json!({
                "title": self.title,
                "summaries": texts,
                "sentences": self.options.sentences,
            }),
        )?)
    }

    fn finish(
        self,
        summary: Draft,
        faithfulness: Faithfulness,
        chunks: usize,
        retried: bool,
    ) -> LlmSummary {
        LlmSummary {
            text: summary.text,
            cut_off: summary.cut_off,
            method: SummaryMethod::Llm,
            prompt_hashes: self
                .used
                .iter()
                .map(|&name| (name, self.prompts.hash(name)))
                .collect(),
            faithfulness,
            chunks,
            retried,
        }
    }
}

/// The answer without the wrappers small models put around it: surrounding
/// whitespace and quotes, and a leading `Summary:` label.
fn clean_answer(answer: &str) -> String {
    strip_wrappers(answer, &["Summary:", "**Summary:**", "Summary -"])
}

/// `answer` without surrounding whitespace and quotes and without any of
/// the leading `labels` a model may repeat from its prompt.
pub(crate) fn strip_wrappers(answer: &str, labels: &[&str]) -> String {
    let mut text = answer.trim();
    for label in labels {
        if let Some(rest) = text.strip_prefix(label) {
            text = rest.trim_start();
        }
    }
    let unquoted = text
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .filter(|inner| !inner.contains('"'));
    unquoted.unwrap_or(text).trim().to_string()
}

// ---------------------------------------------------------------------------
// Faithfulness

/// Numbers and proper names of `summary` that `source` does not carry, as
/// written in the summary, in order and each once.
///
/// Numbers are read as the number check after translation reads them
/// (`10,000` = `10000` = `ten thousand`, `1.5 million`, dates, clock times),
/// plus English number words (`three`, `twenty-one`, `two hundred`); a lone
/// `one` is left alone, being as often a pronoun as a count. Names are runs
/// of capitalised words not opening a sentence (the opening word joins a run
/// that continues after it); each word must occur in `source`, ignoring
/// case, or differ from a word of it only by an ending (`Bangladeshi` for
/// `Bangladesh`, `Hasina's`).
pub(crate) fn unsupported_terms(summary: &str, source: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    let mut push = |term: String| {
        if !terms.contains(&term) {
            terms.push(term);
        }
    };
    for mismatch in check_numbers(summary, source) {
        push(mismatch.source);
    }
    for (surface, value) in number_word_phrases(summary) {
        if !check_numbers(&value.to_string(), source).is_empty() {
            push(surface);
        }
    }
    let source_words: BTreeSet<String> = words(source)
        .into_iter()
        .map(|word| word.text.to_lowercase())
        .collect();
    for name in names(summary) {
        let supported = name
            .split(' ')
            .all(|word| is_supported_word(&word.to_lowercase(), &source_words));
        if !supported {
            push(name);
        }
    }
    terms
}

/// Endings by which a name's word may differ from the source's
/// (`Bangladesh`/`Bangladeshi`, `India`/`Indian`, `Dhaka`/`Dhaka's`).
const MAX_ENDING_DIFFERENCE: usize = 3;
const MIN_SHARED_STEM: usize = 4;

fn is_supported_word(word: &str, source_words: &BTreeSet<String>) -> bool {
    if source_words.contains(word) {
        return true;
    }
    let length = word.chars().count();
    if length < MIN_SHARED_STEM {
        return false;
    }
    source_words.iter().any(|candidate| {
        let candidate_length = candidate.chars().count();
        let (short, long) = if candidate_length < length {
            (candidate.as_str(), word)
        } else {
            (word, candidate.as_str())
        };
        short.chars().count() >= MIN_SHARED_STEM
            && long.starts_with(short)
            && long.chars().count() - short.chars().count() <= MAX_ENDING_DIFFERENCE
    })
}

/// A word of text, without surrounding punctuation or possessive `'s`.
#[derive(Debug)]
struct Word {
    text: String,
    /// Punctuation after the word ends a name or number phrase.
    breaks_after: bool,
}

fn words(text: &str) -> Vec<Word> {
    text.split_whitespace()
        .filter_map(|raw| {
            let trimmed_end = raw.trim_end_matches(|c: char| !c.is_alphanumeric());
            let breaks_after = trimmed_end.len() < raw.len();
            let core = trimmed_end.trim_start_matches(|c: char| !c.is_alphanumeric());
            let core = english::strip_possessive(core);
            (!core.is_empty()).then(|| Word {
                text: core.to_string(),
                breaks_after,
            })
        })
        .collect()
}

/// Whether a word (in lower case) opens sentences capitalised without
/// naming anything: the function words every name check knows, and
/// "according" ("According to police, …").
fn is_sentence_opener(lower: &str) -> bool {
    english::OPENING_FUNCTION_WORDS.contains(&lower) || lower == "according"
}

/// Runs of capitalised words that are not merely a sentence's first word.
fn names(summary: &str) -> Vec<String> {
    let mut found = Vec::new();
    for paragraph in summary.split("\n\n") {
        for sentence in split_sentences(paragraph) {
            let sentence_words = words(&sentence);
            let mut run: Vec<&str> = Vec::new();
            let mut flush = |run: &mut Vec<&str>| {
                if !run.is_empty() {
                    found.push(run.join(" "));
                    run.clear();
                }
            };
            for (index, word) in sentence_words.iter().enumerate() {
                let text = word.text.as_str();
                let counts = english::is_capitalised(text)
                    && text != "I"
                    && (index > 0
                        || (!is_sentence_opener(&text.to_lowercase())
                            && !word.breaks_after
                            && sentence_words
                                .get(1)
                                .is_some_and(|next| english::is_capitalised(&next.text))));
                if counts {
                    run.push(text);
                    if word.breaks_after {
                        flush(&mut run);
                    }
                } else {
                    flush(&mut run);
                }
            }
            flush(&mut run);
        }
    }
    found
}

/// The value of a cardinal number word below a hundred (`seven`, `forty`):
/// the words a count starts with and adds up.
fn unit_value(word: &str) -> Option<u128> {
    english::number_word(word)
        .filter(|number| number.form == NumberWordForm::Cardinal && !number.is_multiplier())
        .map(|number| u128::from(number.value))
}

/// The value of a singular multiplier word (`hundred` 100, `lakh` 100000);
/// plurals (`hundreds of`) are no counts.
fn scale_value(word: &str) -> Option<u128> {
    english::number_word(word)
        .filter(|number| number.form == NumberWordForm::Cardinal && number.is_multiplier())
        .map(|number| 10u128.pow(number.value))
}

/// Quantities written in English words (`three`, `twenty-one`,
/// `two hundred and five`, `ten thousand`) with their values. Phrases
/// opening with a scale word (`hundreds of`, `a million`) are not counts.
fn number_word_phrases(text: &str) -> Vec<(String, u128)> {
    let mut phrases = Vec::new();
    let text_words = words(text);
    let mut index = 0;
    while index < text_words.len() {
        let Some((surface, value, next)) = number_phrase_at(&text_words, index) else {
            index += 1;
            continue;
        };
        if surface != "one" {
            phrases.push((surface, value));
        }
        index = next;
    }
    phrases
}

fn number_phrase_at(text_words: &[Word], start: usize) -> Option<(String, u128, usize)> {
    let first = text_words.get(start)?;
    let first_part = first.text.to_lowercase();
    let first_part = first_part.split('-').next().unwrap_or_default();
    unit_value(first_part)?;
    // A digit before (`1.5 million`) means the number check has this one.
    if start > 0
        && text_words[start - 1]
            .text
            .chars()
            .any(|c| c.is_ascii_digit())
    {
        return None;
    }

    let mut total: u128 = 0;
    let mut current: u128 = 0;
    let mut surface: Vec<&str> = Vec::new();
    let mut index = start;
    while let Some(word) = text_words.get(index) {
        let lower = word.text.to_lowercase();
        let parts: Vec<&str> = lower.split('-').collect();
        let is_connector = lower == "and" && !surface.is_empty();
        let all_numeric = parts
            .iter()
            .all(|part| unit_value(part).is_some() || scale_value(part).is_some());
        if is_connector {
            // "and" belongs to the number only when one follows it.
            let continues = !word.breaks_after
                && text_words
                    .get(index + 1)
                    .is_some_and(|next| unit_value(&next.text.to_lowercase()).is_some());
            if !continues {
                break;
            }
            surface.push(&word.text);
            index += 1;
            continue;
        }
        if !all_numeric {
            break;
        }
        for part in &parts {
            if let Some(unit) = unit_value(part) {
                current = current.checked_add(unit)?;
            } else if let Some(scale) = scale_value(part) {
                if scale == 100 {
                    current = current.max(1).checked_mul(scale)?;
                } else {
                    total = total.checked_add(current.max(1).checked_mul(scale)?)?;
                    current = 0;
                }
            }
        }
        surface.push(&word.text);
        index += 1;
        if word.breaks_after {
            break;
        }
    }
    // A word that only begins with a number word ("three-year-old") starts
    // no number phrase.
    if surface.is_empty() {
        return None;
    }
    Some((surface.join(" "), total.checked_add(current)?, index))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::scripted::ScriptedChat;

    /// The scripted chat model these tests use: `answers` first, then a
    /// faithful sentence about nothing in particular.
    fn scripted(context_length: usize, answers: &[&str]) -> ScriptedChat {
        ScriptedChat::answering("The minister spoke in Dhaka.")
            .first(answers)
            .with_context_length(context_length)
    }

    fn options(sentences: usize, max_new_tokens: usize) -> SummaryOptions {
        SummaryOptions {
            sentences,
            sampling: Sampling {
                max_new_tokens,
                ..Sampling::default()
            },
        }
    }

    fn short_article() -> ArticleText {
        ArticleText {
            title: "Fire at Khulna factory".into(),
            paragraphs: vec![
                "A fire at a jute factory in Khulna killed 30 people on Tuesday.".into(),
                "Fire Service official Abdul Karim said 10,000 workers were employed there.".into(),
            ],
        }
    }

    /// Regression: a hyphenated word that starts with a number word made the
    /// check loop forever, so a summary saying "three-year-old" hung the run.
    #[test]
    fn words_that_begin_with_a_number_word_end_the_check() {
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let terms = unsupported_terms(
                "A three-year-old girl and a one-day strike.",
                "A three-year-old girl was hurt during a one-day strike.",
            );
            let _ = done.send(terms);
        });
        let terms = finished
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("the check finishes");
        assert!(terms.is_empty(), "{terms:?}");
    }

    #[test]
    fn short_article_takes_one_call_with_the_summarize_template() {
        let prompts = Prompts::load(None).unwrap();
        let mut model = scripted(
            2048,
            &["A fire at a jute factory in Khulna killed 30 people on Tuesday, Abdul Karim of the Fire Service said."],
        );
        let article = short_article();
        let summary = summarize(&mut model, &prompts, &article, &options(2, 100)).unwrap();

        let sent = model.prompts();
        assert_eq!(sent.len(), 1);
        let expected_prompt = prompts
            .render(
                PromptName::Summarize,
                &summarize_context(&article.title, &article.paragraphs.join("\n\n"), 2, 1, 1),
            )
            .unwrap();
        assert_eq!(sent[0], expected_prompt);
        assert!(sent[0].contains("in 2 sentences"));
        assert_eq!(summary.faithfulness, Faithfulness::Faithful);
        assert_eq!(summary.method, SummaryMethod::Llm);
        assert_eq!(summary.chunks, 1);
        assert!(!summary.retried);
        assert!(!summary.cut_off);
        assert!(summary.text.starts_with("A fire at a jute factory"));
        assert_eq!(
            summary.prompt_hashes,
            BTreeMap::from([(PromptName::Summarize, prompts.hash(PromptName::Summarize))])
        );
    }

    /// Paragraphs of `words` words each, every one naming its number so the
    /// test can see which prompt carried it.
    fn long_article(paragraphs: usize, words: usize) -> ArticleText {
        ArticleText {
            title: "Floods in Sylhet".into(),
            paragraphs: (0..paragraphs)
                .map(|index| {
                    let mut text = format!("Paragraph{index} reports that");
                    for _ in 2..words {
                        text.push_str(" water");
                    }
                    text
                })
                .collect(),
        }
    }

    #[test]
    fn long_article_is_summarised_per_chunk_then_combined_within_the_context() {
        let prompts = Prompts::load(None).unwrap();
        let context_length = 400;
        let max_new = 40;
        let mut model =
            ScriptedChat::answering("Floods in Sylhet rose.").with_context_length(context_length);
        let article = long_article(12, 60);
        let summary = summarize(&mut model, &prompts, &article, &options(3, max_new)).unwrap();

        assert!(summary.chunks > 1, "{} chunks", summary.chunks);
        let sent = model.prompts();
        assert_eq!(sent.len(), summary.chunks + 1);
        for prompt in &sent {
            assert!(
                model.count_tokens(prompt) + max_new + CHAT_FRAMING_TOKENS <= context_length,
                "prompt of {} tokens",
                model.count_tokens(prompt)
            );
        }
        // Every paragraph is summarised exactly once, in order.
        let map_prompts = &sent[..summary.chunks];
        let mut seen = Vec::new();
        for (part, prompt) in map_prompts.iter().enumerate() {
            assert!(prompt.contains(&format!("part {} of {}", part + 1, summary.chunks)));
            for index in 0..12 {
                if prompt.contains(&format!("Paragraph{index} ")) {
                    seen.push(index);
                }
            }
        }
        assert_eq!(seen, (0..12).collect::<Vec<_>>());
        let reduce = sent.last().unwrap();
        assert!(reduce.contains(&format!("Part {}:", summary.chunks)));
        assert!(!reduce.contains("Paragraph0"));
        assert_eq!(summary.text, "Floods in Sylhet rose.");
        assert_eq!(
            summary.prompt_hashes.keys().collect::<Vec<_>>(),
            [&PromptName::Summarize, &PromptName::SummarizeReduce]
        );
    }

    #[test]
    fn chunk_summaries_too_long_to_combine_at_once_are_combined_in_rounds() {
        let prompts = Prompts::load(None).unwrap();
        let context_length = 300;
        let max_new = 60;
        // Long chunk answers: only a few fit into one reduce prompt.
        let mut model = ScriptedChat::answering(&["Floods in Sylhet rose."; 8].join(" "))
            .with_context_length(context_length);
        let article = long_article(30, 40);
        let summary = summarize(&mut model, &prompts, &article, &options(3, max_new)).unwrap();

        let sent = model.prompts();
        let reduce_calls = sent
            .iter()
            .filter(|prompt| prompt.contains("Combine them"))
            .count();
        assert!(reduce_calls >= 2, "{reduce_calls} reduce calls");
        assert_eq!(sent.len(), summary.chunks + reduce_calls);
        for prompt in &sent {
            assert!(model.count_tokens(prompt) + max_new <= context_length);
        }
    }

    #[test]
    fn a_paragraph_longer_than_the_context_is_split_at_sentences() {
        let prompts = Prompts::load(None).unwrap();
        let mut model = ScriptedChat::answering("Floods in Sylhet rose.").with_context_length(300);
        let sentence = "The water in Sylhet rose again overnight and more villages were cut off.";
        let article = ArticleText {
            title: "Floods in Sylhet".into(),
            paragraphs: vec![[sentence; 40].join(" ")],
        };
        let summary = summarize(&mut model, &prompts, &article, &options(3, 40)).unwrap();
        assert!(summary.chunks > 1);
        let sentences_sent: usize = model.prompts()[..summary.chunks]
            .iter()
            .map(|prompt| prompt.matches(sentence).count())
            .sum();
        assert_eq!(sentences_sent, 40);
    }

    #[test]
    fn a_context_too_small_for_the_template_is_an_error() {
        let prompts = Prompts::load(None).unwrap();
        let mut model = scripted(120, &[]);
        let error =
            summarize(&mut model, &prompts, &long_article(5, 50), &options(3, 100)).unwrap_err();
        assert!(
            matches!(error, SummaryError::ContextTooSmall { .. }),
            "{error:?}"
        );
        assert!(model.prompts().is_empty());
    }

    #[test]
    fn a_changed_number_triggers_one_strict_retry_naming_it() {
        let prompts = Prompts::load(None).unwrap();
        let mut model = scripted(
            2048,
            &[
                "A fire in Khulna killed 300 people on Tuesday.",
                "A fire in Khulna killed 30 people on Tuesday.",
            ],
        );
        let summary = summarize(&mut model, &prompts, &short_article(), &options(2, 100)).unwrap();

        let sent = model.prompts();
        assert_eq!(sent.len(), 2);
        let strict = &sent[1];
        assert!(strict.contains("- 300\n"), "{strict}");
        // The same conversation: the article, the first answer, then the
        // terms to drop.
        assert!(strict.starts_with(&sent[0]), "{strict}");
        assert!(strict.contains("killed 300 people on Tuesday."));
        assert!(summary.retried);
        assert_eq!(summary.faithfulness, Faithfulness::Faithful);
        assert_eq!(
            summary.text,
            "A fire in Khulna killed 30 people on Tuesday."
        );
        assert!(summary
            .prompt_hashes
            .contains_key(&PromptName::SummarizeStrict));
    }

    #[test]
    fn unfaithful_twice_is_kept_and_flagged() {
        let prompts = Prompts::load(None).unwrap();
        let mut model = scripted(
            2048,
            &[
                "A fire in Khulna killed 300 people on Tuesday.",
                "A fire in Khulna killed 300 people, Rahim Uddin said.",
            ],
        );
        let summary = summarize(&mut model, &prompts, &short_article(), &options(2, 100)).unwrap();
        assert_eq!(model.prompts().len(), 2);
        assert!(summary.retried);
        // The retry is worse (an invented name too), so the first is kept.
        assert_eq!(
            summary.text,
            "A fire in Khulna killed 300 people on Tuesday."
        );
        assert_eq!(
            summary.faithfulness,
            Faithfulness::Flagged(vec!["300".into()])
        );
    }

    #[test]
    fn a_summary_stopped_at_the_token_limit_is_marked_cut_off() {
        let prompts = Prompts::load(None).unwrap();
        let mut model = scripted(
            2048,
            &["A fire at a jute factory in Khulna killed 30 people on Tuesday, Abdul Karim said."],
        );
        let summary = summarize(&mut model, &prompts, &short_article(), &options(2, 8)).unwrap();
        assert_eq!(summary.text, "A fire at a jute factory in Khulna");
        assert!(summary.cut_off);
    }

    #[test]
    fn a_part_summary_stopped_at_the_token_limit_marks_the_combined_summary() {
        let prompts = Prompts::load(None).unwrap();
        let max_new = 40;
        let long_part = ["Floods in Sylhet rose."; 12].join(" ");
        let mut model = ScriptedChat::answering("Floods in Sylhet rose.")
            .first(&[&long_part])
            .with_context_length(400);
        let summary = summarize(
            &mut model,
            &prompts,
            &long_article(12, 60),
            &options(3, max_new),
        )
        .unwrap();
        assert!(summary.chunks > 1);
        // The combining answer itself was whole.
        assert_eq!(summary.text, "Floods in Sylhet rose.");
        assert!(summary.cut_off);
    }

    #[test]
    fn a_whole_strict_retry_replacing_a_cut_off_answer_is_not_cut_off() {
        let prompts = Prompts::load(None).unwrap();
        let mut model = scripted(
            2048,
            &[
                "A fire in Khulna killed 300 people on Tuesday as the roof fell in.",
                "A fire in Khulna killed 30 people on Tuesday.",
            ],
        );
        let summary = summarize(&mut model, &prompts, &short_article(), &options(2, 12)).unwrap();
        assert!(summary.retried);
        assert_eq!(
            summary.text,
            "A fire in Khulna killed 30 people on Tuesday."
        );
        assert!(!summary.cut_off);

        let mut model = scripted(
            2048,
            &[
                "A fire in Khulna killed 300 people on Tuesday.",
                "A fire in Khulna killed 30 people on Tuesday as the roof fell in.",
            ],
        );
        let summary = summarize(&mut model, &prompts, &short_article(), &options(2, 12)).unwrap();
        assert_eq!(
            summary.text,
            "A fire in Khulna killed 30 people on Tuesday as the roof"
        );
        assert!(summary.cut_off);
    }

    #[test]
    fn chat_errors_are_passed_on() {
        let prompts = Prompts::load(None).unwrap();
        let mut model = scripted(2048, &["   "]);
        let error =
            summarize(&mut model, &prompts, &short_article(), &options(2, 100)).unwrap_err();
        assert!(matches!(error, SummaryError::EmptyAnswer));
        assert!(matches!(
            summarize(
                &mut model,
                &prompts,
                &ArticleText::default(),
                &options(2, 100)
            ),
            Err(SummaryError::EmptyArticle)
        ));
    }

    #[test]
    fn numbers_match_in_any_written_form() {
        let source = "Police said 10,000 people and three ministers joined; 1,500,000 taka was \
                      raised in 2025 at 10:30 am.";
        assert!(unsupported_terms("Some 10000 people joined.", source).is_empty());
        assert!(unsupported_terms("Ten thousand people joined.", source).is_empty());
        assert!(unsupported_terms("It raised 1.5 million taka.", source).is_empty());
        assert!(unsupported_terms("Police said 3 ministers came in 2025.", source).is_empty());
        assert!(unsupported_terms("The meeting began at 10:30.", source).is_empty());
        assert_eq!(
            unsupported_terms(
                "Police said 100,000 people and four ministers joined.",
                source
            ),
            ["100,000", "four"]
        );
        assert_eq!(
            unsupported_terms("Twenty-one people joined in 2024.", source),
            ["2024", "Twenty-one"]
        );
        // "one" alone is a pronoun as often as a count.
        assert!(unsupported_terms("Police said one of them fled.", source).is_empty());
    }

    #[test]
    fn names_must_occur_in_the_source() {
        let source = "Prime Minister Sheikh Hasina met Indian officials in Dhaka on Monday. \
                      The Bangladesh Nationalist Party criticised the visit.";
        assert!(unsupported_terms(
            "Officials said Sheikh Hasina's talks in Dhaka on Monday went well. \
             The Bangladesh Nationalist Party objected.",
            source
        )
        .is_empty());
        // Word endings: Bangladeshi for Bangladesh, India for Indian.
        assert!(
            unsupported_terms("Officials of Bangladeshi and India groups met.", source).is_empty()
        );
        assert_eq!(
            unsupported_terms(
                "Sheikh Hasina met Narendra Modi in Delhi on Tuesday.",
                source
            ),
            ["Narendra Modi", "Delhi", "Tuesday"]
        );
        // An invented name opening a sentence is caught with its surname.
        assert_eq!(
            unsupported_terms("Rahim Uddin said the visit went well.", source),
            ["Rahim Uddin"]
        );
        // A common word opening a sentence is not a name.
        assert!(unsupported_terms("Talks went well.", source).is_empty());
    }

    #[test]
    fn answer_wrappers_are_removed() {
        assert_eq!(clean_answer("  Summary: \"Rain fell.\" \n"), "Rain fell.");
        assert_eq!(clean_answer("Rain fell."), "Rain fell.");
    }
}
