//! anubad: batch translation of Bengali news articles into English with local
//! models on candle.
//!
//! One folder per stage, in the order an article meets them:
//!
//! - [`ingest`] reads inputs (files, directories, JSONL, stdin) and reduces
//!   HTML pages to text;
//! - [`extract`] separates the story from the site furniture;
//! - [`text`] normalizes and segments Bengali text, reads dates and numbers
//!   (and checks that numbers survive translation), and holds the English
//!   word tables every stage shares;
//! - [`models`] turns a preset, hub id or directory into a model's files and
//!   opens its weights;
//! - [`tokenize`] turns text into token ids for every model family;
//! - [`nmt`] runs encoder-decoder translation models with one search;
//! - [`chat`] runs instruction-tuned chat models, with their prompts;
//! - [`llm`] is what chat models write: translations, summaries, headlines
//!   and the digest introduction;
//! - [`cache`] remembers every finished result;
//! - [`pipeline`] strings the stages together for a run;
//! - [`output`] writes per-article files and the digest;
//! - [`kernels`] holds the arithmetic owned where candle is slow;
//! - [`bench`] measures speed;
//! - [`eval`] scores translations as sacreBLEU does (BLEU, chrF, chrF++).
//!
//! Nothing here prints to stdout.

pub mod bench;
pub mod cache;
pub mod chat;
pub mod eval;
pub mod extract;
mod hash;
pub mod ingest;
pub mod kernels;
pub mod llm;
pub mod models;
pub mod nmt;
pub mod output;
pub mod pipeline;
pub mod text;
pub mod tokenize;

/// Cases for a property test: `PROPTEST_CASES` when set (for long fuzzing
/// runs), else the test's own default, which keeps `cargo test` quick.
#[cfg(test)]
pub(crate) fn proptest_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
