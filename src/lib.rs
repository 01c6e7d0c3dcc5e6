//! anubad: batch translation of Bengali news articles into English with local
//! models on candle.
//!
//! The pieces, in the order an article meets them: [`article`] reads inputs
//! ([`html`] reduces web pages to text), [`extract`] separates the story from
//! the site furniture (with [`dates`] for datelines), [`text`] normalizes and
//! segments it, [`resolve`] finds the model's files
//! (preset, hub or local directory), [`translator`] loads the model family
//! named by its `config.json` ([`seq2seq`]) and decodes with the one search in
//! [`generate`], [`cache`] remembers every translated segment, [`numbers`]
//! checks that numbers survived translation, [`summary`] picks summary
//! sentences, and [`output`] writes the files (with [`digest_groups`]
//! grouping stories and [`sources`] naming outlets in English); [`pipeline`]
//! strings them together. Chat models ([`chat`], with [`prompts`]) write
//! summaries, headlines and the digest introduction ([`llm_summary`],
//! [`summarizer`]) and can translate instead of an NMT model
//! ([`llm_translate`]). Nothing here prints to stdout.

pub mod article;
pub mod bangla_normalizer;
pub mod bench;
pub mod bench_chat;
pub mod cache;
pub mod chat;
pub mod dates;
pub mod digest_groups;
pub mod extract;
pub mod generate;
pub mod gguf_export;
pub mod hf_tokenizer;
pub mod html;
pub mod llm_summary;
pub mod llm_translate;
pub mod marian_tokenizer;
pub mod numbers;
pub mod output;
pub mod pipeline;
pub mod prompts;
pub mod resolve;
pub mod seq2seq;
pub mod sources;
pub mod spm;
pub mod summarizer;
pub mod summary;
pub mod t5_tokenizer;
pub mod text;
pub mod translator;
pub mod weights;

/// Cases for a property test: `PROPTEST_CASES` when set (for long fuzzing
/// runs), else the test's own default, which keeps `cargo test` quick.
#[cfg(test)]
pub(crate) fn proptest_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
