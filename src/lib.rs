//! anubad: batch translation of Bengali news articles into English with local
//! models on candle.
//!
//! The pieces, in the order an article meets them: [`article`] reads inputs,
//! [`text`] normalizes and segments them, [`resolve`] finds the model's files
//! (preset, hub or local directory), [`translator`] loads the model family
//! named by its `config.json` ([`seq2seq`]) and decodes with the one search in
//! [`generate`], [`cache`] remembers every translated segment, [`summary`]
//! picks summary sentences, and [`output`] writes the files; [`pipeline`]
//! strings them together. Nothing here prints to stdout.

pub mod article;
pub mod bench;
pub mod cache;
pub mod generate;
pub mod marian_tokenizer;
pub mod output;
pub mod pipeline;
pub mod resolve;
pub mod seq2seq;
pub mod spm;
pub mod summary;
pub mod text;
pub mod translator;
pub mod weights;
