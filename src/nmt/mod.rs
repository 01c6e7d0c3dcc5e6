//! Encoder-decoder models behind one small interface, so that the search in
//! `generate` is written once for every family.
//!
//! A family implements [`EncoderDecoder`]: it encodes a padded batch once and
//! hands back a [`DecodeSession`] that holds the per-row decoder state (self
//! attention cache, cross-attention keys/values, encoder padding mask). The
//! search feeds one token per row and reorders or drops rows as beams move and
//! sentences finish; nothing about a row depends on the other rows.

pub(crate) mod attention;
pub(crate) mod bart;
pub mod generate;
pub(crate) mod m2m100;
pub(crate) mod marian;
pub(crate) mod row_scores;
pub(crate) mod self_cache;
pub(crate) mod state;
pub mod t5;
pub mod translator;

use candle_core::Tensor;

/// One decoding run over a batch of source sentences.
pub(crate) trait DecodeSession {
    /// Feeds `tokens[r]` (one or more tokens) to each live row and returns the
    /// logits for the last position of every row, shape `[rows, vocab]`, f32.
    fn step(&mut self, tokens: &[Vec<u32>]) -> candle_core::Result<Tensor>;

    /// Keeps the rows named by `rows`, in that order: row `i` of the new state
    /// is row `rows[i]` of the old one. Used for beam reordering and for
    /// dropping sources whose search is over. Rows come in groups of
    /// `copies` (as given to [`EncoderDecoder::start`]), each group from one
    /// source, so per-source state needs no copying while beams move.
    fn select_rows(&mut self, rows: &[u32]) -> candle_core::Result<()>;
}

/// A translation model that can be driven by the shared search.
pub(crate) trait EncoderDecoder {
    /// Encodes `sources` (token ids, without padding) and repeats each one's
    /// state `copies` times (the beam width) so that row `s * copies + k`
    /// belongs to source `s`.
    fn start<'a>(
        &'a self,
        sources: &[Vec<u32>],
        copies: usize,
    ) -> candle_core::Result<Box<dyn DecodeSession + 'a>>;

    /// Size of the output vocabulary (columns of the logits).
    fn vocab_size(&self) -> usize;

    /// The longest source, in tokens, the model was built to take.
    fn max_source_tokens(&self) -> usize;
}
