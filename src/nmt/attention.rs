//! Multi-head attention with explicit padding masks, shared by the
//! encoder-decoder families.
//!
//! candle-transformers' Marian and T5 attend to padding and cache the wrong
//! things (see `shared/docs/candle-notes.md`); owning this small piece is what
//! makes a sentence's translation independent of the batch it lands in.

use candle_core::{DType, Device, Module, Result, Tensor};

use crate::kernels::attention::attend_one_position;
use crate::models::weights::{Linear, Weights};

use super::self_cache::SelfCache;

/// Added to the scores of positions a query must not see. Finite, as
/// transformers uses `finfo.min`, so a fully masked row cannot produce NaN.
pub(crate) const MASKED: f32 = f32::MIN;

#[derive(Debug, Clone)]
pub(crate) struct Attention {
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    out_proj: Linear,
    heads: usize,
    head_dim: usize,
    scale: f64,
}

impl Attention {
    /// Loads `q_proj`, `k_proj`, `v_proj`, `out_proj` under `weights`
    /// (BART/Marian/M2M100 naming), scores scaled by 1/sqrt(head_dim).
    pub(crate) fn load(
        weights: &Weights,
        d_model: usize,
        heads: usize,
        bias: bool,
    ) -> Result<Self> {
        let head_dim = d_model / heads;
        let make = |name: &str| weights.pp(name).linear(d_model, d_model, bias);
        Ok(Self::new(
            [
                make("q_proj")?,
                make("k_proj")?,
                make("v_proj")?,
                make("out_proj")?,
            ],
            heads,
            head_dim,
            (head_dim as f64).powf(-0.5),
        ))
    }

    /// From projections `[query, key, value, output]` mapping to and from
    /// `heads * head_dim`; `scale` multiplies the scores (T5 uses 1).
    pub(crate) fn new(projections: [Linear; 4], heads: usize, head_dim: usize, scale: f64) -> Self {
        let [q_proj, k_proj, v_proj, out_proj] = projections;
        Self {
            q_proj,
            k_proj,
            v_proj,
            out_proj,
            heads,
            head_dim,
            scale,
        }
    }

    /// `[batch, seq, d_model]` -> `[batch, heads, seq, head_dim]`.
    fn split_heads(&self, xs: &Tensor) -> Result<Tensor> {
        let (batch, seq, _) = xs.dims3()?;
        xs.reshape((batch, seq, self.heads, self.head_dim))?
            .transpose(1, 2)?
            .contiguous()
    }

    /// Keys and values of `xs`, already split into heads.
    pub(crate) fn keys_values(&self, xs: &Tensor) -> Result<(Tensor, Tensor)> {
        let keys = self.split_heads(&self.k_proj.forward(xs)?)?;
        let values = self.split_heads(&self.v_proj.forward(xs)?)?;
        Ok((keys, values))
    }

    /// Attends from `xs` to the given keys and values. `mask` is additive and
    /// broadcasts to `[batch, heads, query, key]`.
    pub(crate) fn attend(
        &self,
        xs: &Tensor,
        keys: &Tensor,
        values: &Tensor,
        mask: Option<&Tensor>,
    ) -> Result<Tensor> {
        let queries = self.split_heads(&self.q_proj.forward(xs)?)?;
        self.attend_queries(&queries, keys, values, mask)
    }

    /// Self-attention of `xs` over `cache`, which already holds `xs`'s own
    /// keys and values; `mask` as for [`Self::attend`].
    pub(crate) fn attend_cached(
        &self,
        xs: &Tensor,
        cache: &SelfCache,
        mask: Option<&Tensor>,
    ) -> Result<Tensor> {
        let queries = self.split_heads(&self.q_proj.forward(xs)?)?;
        if let Some(context) = cache.attend_one(&queries, mask, self.scale as f32)? {
            return self.out_proj.forward(&context);
        }
        let (keys, values) = cache.tensors()?;
        self.attend_queries(&queries, &keys, &values, mask)
    }

    /// [`Self::attend`] for queries already split into heads.
    fn attend_queries(
        &self,
        queries: &Tensor,
        keys: &Tensor,
        values: &Tensor,
        mask: Option<&Tensor>,
    ) -> Result<Tensor> {
        let (batch, _, seq, _) = queries.dims4()?;
        if seq == 1 {
            return self.attend_one(queries, keys, values, mask);
        }
        let mut scores = (queries.matmul(&keys.t()?.contiguous()?)? * self.scale)?;
        if let Some(mask) = mask {
            scores = scores.broadcast_add(mask)?;
        }
        let weights = candle_nn::ops::softmax_last_dim(&scores)?;
        let context = weights.matmul(values)?;
        let context = context
            .transpose(1, 2)?
            .reshape((batch, seq, self.heads * self.head_dim))?;
        self.out_proj.forward(&context)
    }

    /// Cross-attention for a decoding step where every `copies` consecutive
    /// rows (the beams of one source) share one source's keys and values:
    /// `xs` is `[sources * copies, 1, d_model]`, `keys`/`values` are
    /// `[sources, heads, len, dim]` and `mask` is `[sources, 1, 1, len]`.
    /// Keeping them per source instead of per row saves memory and the
    /// re-gathering at every beam reorder.
    pub(crate) fn attend_shared(
        &self,
        xs: &Tensor,
        keys: &Tensor,
        values: &Tensor,
        mask: &Tensor,
        copies: usize,
    ) -> Result<Tensor> {
        let (rows, seq, _) = xs.dims3()?;
        if copies == 1 {
            return self.attend(xs, keys, values, Some(mask));
        }
        if seq != 1 {
            candle_core::bail!("shared cross-attention takes one position per row");
        }
        let sources = rows / copies;
        let queries = self.split_heads(&self.q_proj.forward(xs)?)?;
        if let Some(context) = attend_one_position(
            &queries,
            keys,
            values,
            Some(mask),
            copies,
            self.scale as f32,
        )? {
            return self.out_proj.forward(&context);
        }
        let queries = queries.reshape((sources, copies, self.heads, 1, self.head_dim))?;
        // [s, 1, h, len, d] * [s, copies, h, 1, d] -> [s, copies, h, len]
        let scores = (keys.unsqueeze(1)?.broadcast_mul(&queries)?.sum(4)? * self.scale)?;
        // [s, 1, 1, len] broadcasts over copies and heads.
        let scores = scores.broadcast_add(mask)?;
        let weights = candle_nn::ops::softmax_last_dim(&scores)?;
        // [s, 1, h, len, d] * [s, copies, h, len, 1] -> [s, copies, h, d]
        let context = values
            .unsqueeze(1)?
            .broadcast_mul(&weights.unsqueeze(4)?)?
            .sum(3)?;
        self.out_proj
            .forward(&context.reshape((rows, 1, self.heads * self.head_dim))?)
    }

    /// One query position per row (a decoding step): on the CPU in one fused
    /// pass (`kernels::attention`); elsewhere candle's CPU matmul would run
    /// one small gemm per (row, head), so a broadcast multiply and a sum do
    /// the same work as a few large operations.
    fn attend_one(
        &self,
        queries: &Tensor,
        keys: &Tensor,
        values: &Tensor,
        mask: Option<&Tensor>,
    ) -> Result<Tensor> {
        if let Some(context) =
            attend_one_position(queries, keys, values, mask, 1, self.scale as f32)?
        {
            return self.out_proj.forward(&context);
        }
        let batch = queries.dim(0)?;
        // [batch, heads, 1, dim] * [batch, heads, keys, dim] -> [batch, heads, keys]
        let mut scores = (keys.broadcast_mul(queries)?.sum(3)? * self.scale)?;
        if let Some(mask) = mask {
            // [batch, 1, 1, keys] -> [batch, 1, keys]
            scores = scores.broadcast_add(&mask.squeeze(2)?)?;
        }
        let weights = candle_nn::ops::softmax_last_dim(&scores)?;
        // [batch, heads, keys, 1] * [batch, heads, keys, dim] -> [batch, heads, dim]
        let context = values.broadcast_mul(&weights.unsqueeze(3)?)?.sum(2)?;
        self.out_proj
            .forward(&context.reshape((batch, 1, self.heads * self.head_dim))?)
    }
}

/// Additive mask `[batch, 1, 1, seq]` from per-row lengths: 0 for real tokens,
/// [`MASKED`] for the padding after them.
pub(crate) fn padding_mask(lengths: &[usize], seq: usize, device: &Device) -> Result<Tensor> {
    let mut values = Vec::with_capacity(lengths.len() * seq);
    for &len in lengths {
        values.extend((0..seq).map(|i| if i < len { 0.0 } else { MASKED }));
    }
    Tensor::from_vec(values, (lengths.len(), 1, 1, seq), device)
}

/// Additive causal mask `[1, 1, new, past + new]` for feeding `new` tokens
/// after `past` cached ones.
pub(crate) fn causal_mask(past: usize, new: usize, device: &Device) -> Result<Tensor> {
    let total = past + new;
    let values: Vec<f32> = (0..new)
        .flat_map(|q| (0..total).map(move |k| if k <= past + q { 0.0 } else { MASKED }))
        .collect();
    Tensor::from_vec(values, (1, 1, new, total), device)
}

/// Last position of `[batch, seq, vocab]` as f32 `[batch, vocab]`.
pub(crate) fn last_position(logits: &Tensor) -> Result<Tensor> {
    let seq = logits.dim(1)?;
    logits
        .narrow(1, seq - 1, 1)?
        .squeeze(1)?
        .to_dtype(DType::F32)
}
