//! The decoder state every encoder-decoder family keeps the same way during
//! one search: per-source cross-attention keys/values and padding mask, the
//! per-row self-attention cache, and how many tokens were fed. Families own
//! their layer arithmetic; this owns the bookkeeping, once.

use candle_core::{Device, Result, Tensor};

use super::attention::Attention;
use super::self_cache::SelfCache;

pub(crate) struct DecoderState {
    /// Per source, not per row: `[sources, 1, 1, len]`.
    encoder_mask: Tensor,
    /// Per source, not per row: `[sources, heads, len, head_dim]` per layer.
    cross: Vec<(Tensor, Tensor)>,
    /// Rows per source (the beam width); rows of a source are consecutive.
    copies: usize,
    sources: usize,
    /// Per row: keys and values of every token fed so far, per layer.
    self_cache: Vec<SelfCache>,
    /// Tokens fed so far (transformers' past length): where positions resume.
    past: usize,
    device: Device,
}

impl DecoderState {
    /// State for the encoded sources `encoded` (`[sources, len, d_model]`,
    /// padding marked by `encoder_mask`), each repeated `copies` times: the
    /// keys and values of every decoder layer's cross-attention are computed
    /// here, once.
    pub(crate) fn for_sources<'l>(
        encoded: &Tensor,
        encoder_mask: Tensor,
        cross_attentions: impl Iterator<Item = &'l Attention>,
        copies: usize,
    ) -> Result<Self> {
        let cross = cross_attentions
            .map(|attention| attention.keys_values(encoded))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self::new(encoder_mask, cross, copies, encoded.dim(0)?))
    }

    fn new(
        encoder_mask: Tensor,
        cross: Vec<(Tensor, Tensor)>,
        copies: usize,
        sources: usize,
    ) -> Self {
        Self {
            device: encoder_mask.device().clone(),
            self_cache: (0..cross.len()).map(|_| SelfCache::Empty).collect(),
            encoder_mask,
            cross,
            copies: copies.max(1),
            sources,
            past: 0,
        }
    }

    /// The number of tokens each row feeds in this step, which must be the
    /// same, non-zero, for every row.
    pub(crate) fn tokens_per_row(tokens: &[Vec<u32>]) -> Result<usize> {
        let new = tokens.first().map(Vec::len).unwrap_or(0);
        if new == 0 || tokens.iter().any(|t| t.len() != new) {
            candle_core::bail!("every row must feed the same, non-zero number of tokens");
        }
        Ok(new)
    }

    /// Tokens fed before this step.
    pub(crate) fn past(&self) -> usize {
        self.past
    }

    /// Marks `new` more tokens as fed; call once per step, after the layers.
    pub(crate) fn advance(&mut self, new: usize) {
        self.past += new;
    }

    /// Self-attention of layer `layer`: `xs` attends to every token fed so
    /// far plus its own, which join the cache.
    pub(crate) fn self_attend(
        &mut self,
        layer: usize,
        attention: &Attention,
        xs: &Tensor,
        mask: Option<&Tensor>,
    ) -> Result<Tensor> {
        let (keys, values) = attention.keys_values(xs)?;
        let cache = &mut self.self_cache[layer];
        cache.append(&keys, &values)?;
        attention.attend_cached(xs, cache, mask)
    }

    /// Cross-attention of layer `layer` to the rows' sources.
    pub(crate) fn cross_attend(
        &self,
        layer: usize,
        attention: &Attention,
        xs: &Tensor,
    ) -> Result<Tensor> {
        let (keys, values) = &self.cross[layer];
        attention.attend_shared(xs, keys, values, &self.encoder_mask, self.copies)
    }

    /// Keeps the rows named by `rows` ([`super::DecodeSession::select_rows`]).
    pub(crate) fn select_rows(&mut self, rows: &[u32]) -> Result<()> {
        let copies = self.copies as u32;
        if !rows.len().is_multiple_of(self.copies) {
            candle_core::bail!("rows must come in groups of {copies}, one group per source");
        }
        // Beams move only within their source; the sources kept, in order.
        let mut kept = Vec::with_capacity(rows.len() / self.copies);
        for group in rows.chunks(self.copies) {
            let source = group[0] / copies;
            if group.iter().any(|row| row / copies != source) {
                candle_core::bail!("a row group mixes sources: {group:?}");
            }
            kept.push(source);
        }
        if kept.len() != self.sources || kept.iter().enumerate().any(|(i, &s)| s != i as u32) {
            let index = Tensor::new(kept.as_slice(), &self.device)?;
            self.encoder_mask = self.encoder_mask.index_select(&index, 0)?;
            for (k, v) in &mut self.cross {
                *k = k.index_select(&index, 0)?;
                *v = v.index_select(&index, 0)?;
            }
            self.sources = kept.len();
        }
        for cache in &mut self.self_cache {
            cache.select_rows(rows)?;
        }
        Ok(())
    }
}

/// A family's decoder run for one step over its [`DecoderState`]: the only
/// part of a decoding session that differs between families.
pub(crate) trait DecoderStep {
    /// Feeds `tokens[r]` to each live row and returns the logits of every
    /// row's last position (see [`super::DecodeSession::step`]).
    fn step(&self, state: &mut DecoderState, tokens: &[Vec<u32>]) -> Result<Tensor>;
}

/// The [`super::DecodeSession`] of every family: its model and the state.
pub(crate) struct Session<'a, M> {
    model: &'a M,
    state: DecoderState,
}

impl<'a, M: DecoderStep> Session<'a, M> {
    /// A session over `model`'s decoder for the encoded sources (see
    /// [`DecoderState::for_sources`]).
    pub(crate) fn start(
        model: &'a M,
        encoded: &Tensor,
        encoder_mask: Tensor,
        cross_attentions: impl Iterator<Item = &'a Attention>,
        copies: usize,
    ) -> Result<Box<dyn super::DecodeSession + 'a>> {
        let state = DecoderState::for_sources(encoded, encoder_mask, cross_attentions, copies)?;
        Ok(Box::new(Self { model, state }))
    }
}

impl<M: DecoderStep> super::DecodeSession for Session<'_, M> {
    fn step(&mut self, tokens: &[Vec<u32>]) -> Result<Tensor> {
        self.model.step(&mut self.state, tokens)
    }

    fn select_rows(&mut self, rows: &[u32]) -> Result<()> {
        self.state.select_rows(rows)
    }
}
