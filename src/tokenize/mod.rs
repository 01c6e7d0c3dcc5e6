//! Text to token ids and back, for every model family, without Python:
//! SentencePiece models read natively ([`spm`]), Marian's and T5's
//! tokenizers built on them ([`marian`], [`t5`]), `tokenizer.json` files
//! through the `tokenizers` crate ([`hf`]), and BanglaT5's input normalizer
//! ([`bangla_normalizer`]). Each one matches transformers' tokenizer for the
//! same files id for id.

pub(crate) mod bangla_normalizer;
pub(crate) mod gguf;
pub mod hf;
pub mod marian;
pub(crate) mod spm;
pub(crate) mod t5;
