//! The T5 family (T5, T5 v1.1, mT5, BanglaT5, MADLAD-400) on candle-nn,
//! following transformers' `T5ForConditionalGeneration` (5.23): pre-norm
//! blocks with T5's RMS layer norm computed in f32, unscaled attention scores
//! plus a learned relative position bias (computed by the first layer of each
//! stack and reused by the others), a plain or gated feed-forward, one
//! `shared` embedding for encoder and decoder, and an output head that is
//! either `lm_head` or the embedding itself.
//!
//! Unlike candle-transformers' T5 it masks padding (a sentence's output does
//! not depend on its batch), computes the cross-attention keys/values once
//! per source and shares them across beams, and keeps no state between
//! inputs except inside a [`DecodeSession`]. The same code reads
//! safetensors, `pytorch_model.bin` and GGUF files (quantized layers stay
//! quantized), since all of them name tensors as transformers' state dict.

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::Embedding;
use serde::Deserialize;

use crate::models::weights::{Linear, TokenEmbedding, Weights};

use super::attention::{causal_mask, last_position, padding_mask, Attention, MASKED};
use super::state::DecoderState;
use super::state::{DecoderStep, Session};
use super::{DecodeSession, EncoderDecoder};

fn default_vocab_size() -> usize {
    32128
}

fn default_d_model() -> usize {
    512
}

fn default_d_kv() -> usize {
    64
}

fn default_d_ff() -> usize {
    2048
}

fn default_num_layers() -> usize {
    6
}

fn default_num_heads() -> usize {
    8
}

fn default_buckets() -> usize {
    32
}

fn default_max_distance() -> usize {
    128
}

fn default_epsilon() -> f64 {
    1e-6
}

fn default_feed_forward_proj() -> String {
    "relu".to_string()
}

fn default_positions() -> usize {
    512
}

/// The fields of a T5 `config.json` the model needs, with transformers'
/// `T5Config` defaults for everything a config may leave out.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct T5Config {
    #[serde(default = "default_vocab_size")]
    pub(crate) vocab_size: usize,
    #[serde(default = "default_d_model")]
    pub(crate) d_model: usize,
    /// Width of one attention head; `num_heads * d_kv` may differ from
    /// `d_model` (MADLAD-400, T5 v1.1 XL).
    #[serde(default = "default_d_kv")]
    pub(crate) d_kv: usize,
    #[serde(default = "default_d_ff")]
    pub(crate) d_ff: usize,
    #[serde(default = "default_num_layers")]
    pub(crate) num_layers: usize,
    /// Decoder depth; `num_layers` when absent.
    #[serde(default)]
    pub(crate) num_decoder_layers: Option<usize>,
    #[serde(default = "default_num_heads")]
    pub(crate) num_heads: usize,
    #[serde(default = "default_buckets")]
    pub(crate) relative_attention_num_buckets: usize,
    #[serde(default = "default_max_distance")]
    pub(crate) relative_attention_max_distance: usize,
    #[serde(default = "default_epsilon")]
    pub(crate) layer_norm_epsilon: f64,
    /// `"relu"` (T5), `"gated-gelu"` (T5 v1.1, mT5, MADLAD), `"gated-silu"`…
    #[serde(default = "default_feed_forward_proj")]
    pub(crate) feed_forward_proj: String,
    /// Hub configs say `false` for T5 v1.1; absent means `true`.
    #[serde(default)]
    pub(crate) tie_word_embeddings: Option<bool>,
    /// Written by transformers 5, which always ties and records here whether
    /// the decoder output is scaled; wins over `tie_word_embeddings`.
    #[serde(default)]
    pub(crate) scale_decoder_outputs: Option<bool>,
    #[serde(default)]
    pub(crate) pad_token_id: Option<u32>,
    /// The source length the model was trained for (T5 has no position
    /// table; longer inputs run but leave the trained range).
    #[serde(default = "default_positions")]
    pub(crate) n_positions: usize,
}

/// The activation of the feed-forward block, by transformers' `ACT2FN` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FeedForwardActivation {
    Relu,
    /// `gelu`: the exact (erf) form.
    GeluErf,
    /// `gelu_new` / `gelu_pytorch_tanh`: the tanh approximation.
    GeluTanh,
    /// `silu` / `swish`.
    Silu,
}

impl FeedForwardActivation {
    fn forward(self, xs: &Tensor) -> Result<Tensor> {
        match self {
            Self::Relu => xs.relu(),
            Self::GeluErf => xs.gelu_erf(),
            Self::GeluTanh => xs.gelu(),
            Self::Silu => xs.silu(),
        }
    }
}

impl T5Config {
    pub(crate) fn decoder_layers(&self) -> usize {
        self.num_decoder_layers.unwrap_or(self.num_layers)
    }

    pub(crate) fn pad_token(&self) -> u32 {
        self.pad_token_id.unwrap_or(0)
    }

    /// Whether the decoder output is multiplied by `d_model^-0.5` before the
    /// head: original T5 (tied) yes, T5 v1.1 and its descendants no.
    pub(crate) fn scales_decoder_outputs(&self) -> bool {
        self.scale_decoder_outputs
            .unwrap_or(self.tie_word_embeddings != Some(false))
    }

    /// `(gated, activation)` from `feed_forward_proj`, as `T5Config` reads it:
    /// `"gated-ACT"` or `"ACT"`, with `"gated-gelu"` meaning `gelu_new`.
    pub(crate) fn feed_forward(&self) -> Result<(bool, FeedForwardActivation)> {
        let parts: Vec<&str> = self.feed_forward_proj.split('-').collect();
        let (gated, name) = match parts.as_slice() {
            [name] => (false, *name),
            ["gated", name] => (true, *name),
            _ => candle_core::bail!(
                "feed_forward_proj `{}` is not `ACT` or `gated-ACT`",
                self.feed_forward_proj
            ),
        };
        let activation = match (gated, name) {
            (true, "gelu") => FeedForwardActivation::GeluTanh,
            (_, "relu") => FeedForwardActivation::Relu,
            (_, "gelu") => FeedForwardActivation::GeluErf,
            (_, "gelu_new" | "gelu_pytorch_tanh") => FeedForwardActivation::GeluTanh,
            (_, "silu" | "swish") => FeedForwardActivation::Silu,
            _ => candle_core::bail!(
                "feed_forward_proj `{}`: activation `{name}` is not supported",
                self.feed_forward_proj
            ),
        };
        Ok((gated, activation))
    }
}

/// transformers' `T5Attention._relative_position_bucket` for one relative
/// position (`key - query`), in the same f32 arithmetic.
pub fn relative_position_bucket(
    relative_position: i64,
    bidirectional: bool,
    num_buckets: usize,
    max_distance: usize,
) -> u32 {
    let mut num_buckets = num_buckets as i64;
    let mut bucket = 0i64;
    let distance = if bidirectional {
        num_buckets /= 2;
        if relative_position > 0 {
            bucket += num_buckets;
        }
        relative_position.abs()
    } else {
        -relative_position.min(0)
    };
    let max_exact = num_buckets / 2;
    if distance < max_exact {
        bucket += distance;
    } else {
        // torch: log(float(d) / max_exact) / math.log(max_distance / max_exact)
        // * (num_buckets - max_exact), on an f32 tensor, then truncated.
        let ratio = (distance as f32 / max_exact as f32).ln();
        let scale = (max_distance as f64 / max_exact as f64).ln() as f32;
        let large = max_exact + (ratio / scale * (num_buckets - max_exact) as f32) as i64;
        bucket += large.min(num_buckets - 1);
    }
    bucket as u32
}

/// T5's layer norm: no mean, no bias; the variance in f32 whatever the
/// model's dtype, the result cast back to the weight's dtype.
#[derive(Debug, Clone)]
struct T5LayerNorm {
    weight: Tensor,
    eps: f64,
}

impl T5LayerNorm {
    fn load(w: &Weights, dim: usize, eps: f64) -> Result<Self> {
        Ok(Self {
            weight: w.get(dim, "weight")?,
            eps,
        })
    }

    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let xs = xs.to_dtype(DType::F32)?;
        let variance = xs.sqr()?.mean_keepdim(candle_core::D::Minus1)?;
        // x * rsqrt(var + eps), as transformers computes it.
        let normed = xs.broadcast_mul(&(variance + self.eps)?.sqrt()?.recip()?)?;
        normed
            .to_dtype(self.weight.dtype())?
            .broadcast_mul(&self.weight)
    }
}

#[derive(Debug, Clone)]
struct FeedForward {
    /// `wi` (plain) or `wi_0` (gated, through the activation).
    wi: Linear,
    /// `wi_1`, the linear half of a gated block.
    gate: Option<Linear>,
    wo: Linear,
    activation: FeedForwardActivation,
    /// transformers keeps `wo` in f32 for f16 models (`_keep_in_fp32_modules`)
    /// because T5's feed-forward overflows f16; its output is then f32.
    wo_in_f32: bool,
}

impl FeedForward {
    fn load(w: &Weights, cfg: &T5Config) -> Result<Self> {
        let (gated, activation) = cfg.feed_forward()?;
        let w = w.pp("DenseReluDense");
        let (d, ff) = (cfg.d_model, cfg.d_ff);
        let (wi, gate) = if gated {
            (
                w.pp("wi_0").linear(d, ff, false)?,
                Some(w.pp("wi_1").linear(d, ff, false)?),
            )
        } else {
            (w.pp("wi").linear(d, ff, false)?, None)
        };
        let wo_in_f32 = w.dtype() == DType::F16;
        let mut wo = w.pp("wo").linear(ff, d, false)?;
        if wo_in_f32 {
            if let Linear::Dense(dense) = &wo {
                wo = Linear::Dense(candle_nn::Linear::new(
                    dense.weight().to_dtype(DType::F32)?,
                    None,
                ));
            }
        }
        Ok(Self {
            wi,
            gate,
            wo,
            activation,
            wo_in_f32,
        })
    }

    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let mut hidden = self.activation.forward(&self.wi.forward(xs)?)?;
        if let Some(gate) = &self.gate {
            hidden = (hidden * gate.forward(xs)?)?;
        }
        if self.wo_in_f32 {
            hidden = hidden.to_dtype(DType::F32)?;
        }
        self.wo.forward(&hidden)
    }
}

/// `a + b` with torch's type promotion: an f16/bf16 tensor meeting an f32 one
/// gives f32 (what happens to the residual stream after an f32 `wo`).
fn add(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if a.dtype() == b.dtype() {
        crate::kernels::residual_add(a, b)
    } else {
        a.to_dtype(DType::F32)? + b.to_dtype(DType::F32)?
    }
}

/// transformers clamps f16 hidden states after every sub-layer so that an
/// overflow to infinity does not propagate.
fn clamp_f16(xs: Tensor) -> Result<Tensor> {
    if xs.dtype() != DType::F16 {
        return Ok(xs);
    }
    let largest = xs
        .abs()?
        .max_all()?
        .to_dtype(DType::F32)?
        .to_scalar::<f32>()?;
    let limit = if largest.is_infinite() {
        65504.0 - 1000.0
    } else {
        65504.0
    };
    xs.clamp(-limit, limit)
}

fn load_attention(w: &Weights, cfg: &T5Config) -> Result<Attention> {
    let inner = cfg.num_heads * cfg.d_kv;
    let d = cfg.d_model;
    Ok(Attention::new(
        [
            w.pp("q").linear(d, inner, false)?,
            w.pp("k").linear(d, inner, false)?,
            w.pp("v").linear(d, inner, false)?,
            w.pp("o").linear(inner, d, false)?,
        ],
        cfg.num_heads,
        cfg.d_kv,
        // T5 folds the scaling into its initialisation: scores are unscaled.
        1.0,
    ))
}

/// The learned relative position bias of a stack's first layer.
#[derive(Debug, Clone)]
struct PositionBias {
    /// `[buckets, heads]`.
    table: Embedding,
    bidirectional: bool,
    buckets: usize,
    max_distance: usize,
}

impl PositionBias {
    fn load(w: &Weights, cfg: &T5Config, bidirectional: bool) -> Result<Self> {
        let buckets = cfg.relative_attention_num_buckets;
        Ok(Self {
            table: Embedding::new(w.get((buckets, cfg.num_heads), "weight")?, cfg.num_heads),
            bidirectional,
            buckets,
            max_distance: cfg.relative_attention_max_distance,
        })
    }

    /// `[1, heads, queries, past + queries]` for queries at positions
    /// `past..past + queries` (a cached decoding step's query sits at the
    /// cache length, as `compute_bias(past_seen_tokens=...)` puts it).
    fn forward(&self, past: usize, queries: usize, device: &Device) -> Result<Tensor> {
        let keys = past + queries;
        let mut buckets = Vec::with_capacity(queries * keys);
        for q in 0..queries {
            for k in 0..keys {
                let relative = k as i64 - (past + q) as i64;
                buckets.push(relative_position_bucket(
                    relative,
                    self.bidirectional,
                    self.buckets,
                    self.max_distance,
                ));
            }
        }
        let buckets = Tensor::from_vec(buckets, (queries, keys), device)?;
        // [q, k, heads] -> [1, heads, q, k]
        self.table
            .forward(&buckets)?
            .permute((2, 0, 1))?
            .unsqueeze(0)?
            .contiguous()
    }
}

#[derive(Debug, Clone)]
struct EncoderBlock {
    self_attn: Attention,
    self_attn_norm: T5LayerNorm,
    feed_forward: FeedForward,
    feed_forward_norm: T5LayerNorm,
}

impl EncoderBlock {
    fn load(w: Weights, cfg: &T5Config) -> Result<Self> {
        let (d, eps) = (cfg.d_model, cfg.layer_norm_epsilon);
        let layer = w.pp("layer");
        Ok(Self {
            self_attn: load_attention(&layer.pp("0.SelfAttention"), cfg)?,
            self_attn_norm: T5LayerNorm::load(&layer.pp("0.layer_norm"), d, eps)?,
            feed_forward: FeedForward::load(&layer.pp("1"), cfg)?,
            feed_forward_norm: T5LayerNorm::load(&layer.pp("1.layer_norm"), d, eps)?,
        })
    }

    /// `mask` is the position bias plus the padding mask, `[batch, heads, q, k]`.
    fn forward(&self, xs: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let normed = self.self_attn_norm.forward(xs)?;
        let (keys, values) = self.self_attn.keys_values(&normed)?;
        let attended = self.self_attn.attend(&normed, &keys, &values, Some(mask))?;
        let xs = clamp_f16(add(xs, &attended)?)?;
        let ff = self
            .feed_forward
            .forward(&self.feed_forward_norm.forward(&xs)?)?;
        clamp_f16(add(&xs, &ff)?)
    }
}

#[derive(Debug, Clone)]
struct DecoderBlock {
    self_attn: Attention,
    self_attn_norm: T5LayerNorm,
    cross_attn: Attention,
    cross_attn_norm: T5LayerNorm,
    feed_forward: FeedForward,
    feed_forward_norm: T5LayerNorm,
}

impl DecoderBlock {
    fn load(w: Weights, cfg: &T5Config) -> Result<Self> {
        let (d, eps) = (cfg.d_model, cfg.layer_norm_epsilon);
        let layer = w.pp("layer");
        Ok(Self {
            self_attn: load_attention(&layer.pp("0.SelfAttention"), cfg)?,
            self_attn_norm: T5LayerNorm::load(&layer.pp("0.layer_norm"), d, eps)?,
            cross_attn: load_attention(&layer.pp("1.EncDecAttention"), cfg)?,
            cross_attn_norm: T5LayerNorm::load(&layer.pp("1.layer_norm"), d, eps)?,
            feed_forward: FeedForward::load(&layer.pp("2"), cfg)?,
            feed_forward_norm: T5LayerNorm::load(&layer.pp("2.layer_norm"), d, eps)?,
        })
    }
}

/// A loaded T5-family translation model.
#[derive(Debug)]
pub(crate) struct T5 {
    config: T5Config,
    shared: TokenEmbedding,
    encoder_blocks: Vec<EncoderBlock>,
    encoder_bias: PositionBias,
    encoder_norm: T5LayerNorm,
    decoder_blocks: Vec<DecoderBlock>,
    decoder_bias: PositionBias,
    decoder_norm: T5LayerNorm,
    lm_head: Linear,
    /// `d_model^-0.5` for tied T5 heads, 1 for T5 v1.1.
    output_scale: f64,
    dtype: DType,
    device: Device,
}

/// Where the shared embedding may be stored: `shared.weight` in transformers'
/// state dict; files that dropped the tied alias keep one of the others
/// (candle's quantized T5 reads `decoder.embed_tokens.weight` too).
const SHARED_EMBEDDING_NAMES: [&str; 3] = [
    "shared.weight",
    "decoder.embed_tokens.weight",
    "encoder.embed_tokens.weight",
];

impl T5 {
    /// Builds the model from weights named as in `T5ForConditionalGeneration`'s
    /// state dict.
    pub(crate) fn load(config: T5Config, w: Weights) -> Result<Self> {
        if config.num_heads == 0 || config.d_kv == 0 || config.num_layers == 0 {
            candle_core::bail!("T5 config needs num_heads, d_kv and num_layers above zero");
        }
        config.feed_forward()?;
        let device = w.device().clone();
        let d = config.d_model;
        let shared_name = SHARED_EMBEDDING_NAMES
            .iter()
            .find(|name| w.contains(name))
            .ok_or_else(|| {
                candle_core::Error::Msg(format!(
                    "no embedding found (looked for {})",
                    SHARED_EMBEDDING_NAMES.join(", ")
                ))
            })?;
        let shared_weight = w.get((config.vocab_size, d), shared_name)?;
        let shared = Embedding::new(shared_weight.clone(), d);
        // transformers 5 ties lm_head to the embedding unless the file has a
        // separate (different) lm_head, whatever the config says.
        let lm_head = if w.contains("lm_head.weight") {
            w.pp("lm_head").linear(d, config.vocab_size, false)?
        } else {
            w.linear_from(shared_weight, None)?
        };
        let shared = w.token_embedding(&shared)?;
        let encoder = w.pp("encoder");
        let encoder_blocks = (0..config.num_layers)
            .map(|i| EncoderBlock::load(encoder.pp(format!("block.{i}")), &config))
            .collect::<Result<Vec<_>>>()?;
        let encoder_bias = PositionBias::load(
            &encoder.pp("block.0.layer.0.SelfAttention.relative_attention_bias"),
            &config,
            true,
        )?;
        let encoder_norm = T5LayerNorm::load(
            &encoder.pp("final_layer_norm"),
            d,
            config.layer_norm_epsilon,
        )?;
        let decoder = w.pp("decoder");
        let decoder_blocks = (0..config.decoder_layers())
            .map(|i| DecoderBlock::load(decoder.pp(format!("block.{i}")), &config))
            .collect::<Result<Vec<_>>>()?;
        if decoder_blocks.is_empty() {
            candle_core::bail!("T5 config has no decoder layers");
        }
        let decoder_bias = PositionBias::load(
            &decoder.pp("block.0.layer.0.SelfAttention.relative_attention_bias"),
            &config,
            false,
        )?;
        let decoder_norm = T5LayerNorm::load(
            &decoder.pp("final_layer_norm"),
            d,
            config.layer_norm_epsilon,
        )?;
        let output_scale = if config.scales_decoder_outputs() {
            (d as f64).powf(-0.5)
        } else {
            1.0
        };
        Ok(Self {
            dtype: w.dtype(),
            config,
            shared,
            encoder_blocks,
            encoder_bias,
            encoder_norm,
            decoder_blocks,
            decoder_bias,
            decoder_norm,
            lm_head,
            output_scale,
            device,
        })
    }

    /// Encoder states `[batch, seq, d_model]` and the padding mask
    /// `[batch, 1, 1, seq]` in the model's dtype.
    fn encode(&self, sources: &[Vec<u32>]) -> Result<(Tensor, Tensor)> {
        let seq = sources.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let pad = self.config.pad_token();
        let mut ids = Vec::with_capacity(sources.len() * seq);
        for source in sources {
            ids.extend_from_slice(source);
            ids.extend(std::iter::repeat_n(pad, seq - source.len()));
        }
        let ids = Tensor::from_vec(ids, (sources.len(), seq), &self.device)?;
        let lengths: Vec<usize> = sources.iter().map(|s| s.len().max(1)).collect();
        let padding = padding_mask(&lengths, seq, &self.device)?;
        // Bias and mask summed once in f32 (a masked key stays at MASKED),
        // shared by every layer as transformers shares the first layer's bias.
        let bias = self
            .encoder_bias
            .forward(0, seq, &self.device)?
            .to_dtype(DType::F32)?;
        let mask = bias
            .broadcast_add(&padding)?
            .clamp(MASKED, f32::MAX)?
            .to_dtype(self.dtype)?;
        let mut hidden = self.shared.forward(&ids)?;
        for block in &self.encoder_blocks {
            hidden = block.forward(&hidden, &mask)?;
        }
        let hidden = self.encoder_norm.forward(&hidden)?;
        Ok((hidden, padding.to_dtype(self.dtype)?))
    }
}

impl EncoderDecoder for T5 {
    fn start<'a>(
        &'a self,
        sources: &[Vec<u32>],
        copies: usize,
    ) -> Result<Box<dyn DecodeSession + 'a>> {
        let (hidden, mask) = self.encode(sources)?;
        let cross_attentions = self.decoder_blocks.iter().map(|layer| &layer.cross_attn);
        Session::start(self, &hidden, mask, cross_attentions, copies)
    }

    fn vocab_size(&self) -> usize {
        self.config.vocab_size
    }

    fn max_source_tokens(&self) -> usize {
        self.config.n_positions
    }
}

impl DecoderStep for T5 {
    fn step(&self, state: &mut DecoderState, tokens: &[Vec<u32>]) -> Result<Tensor> {
        let model = self;
        let new = DecoderState::tokens_per_row(tokens)?;
        let flat: Vec<u32> = tokens.iter().flatten().copied().collect();
        let ids = Tensor::from_vec(flat, (tokens.len(), new), &model.device)?;
        let mut hidden = model.shared.forward(&ids)?;
        let mut bias = model
            .decoder_bias
            .forward(state.past(), new, &model.device)?
            .to_dtype(DType::F32)?;
        if new > 1 {
            bias = bias
                .broadcast_add(&causal_mask(state.past(), new, &model.device)?)?
                .clamp(MASKED, f32::MAX)?;
        }
        let bias = bias.to_dtype(model.dtype)?;
        for (i, block) in model.decoder_blocks.iter().enumerate() {
            let normed = block.self_attn_norm.forward(&hidden)?;
            let attended = state.self_attend(i, &block.self_attn, &normed, Some(&bias))?;
            hidden = clamp_f16(add(&hidden, &attended)?)?;

            let normed = block.cross_attn_norm.forward(&hidden)?;
            let attended = state.cross_attend(i, &block.cross_attn, &normed)?;
            hidden = clamp_f16(add(&hidden, &attended)?)?;

            let ff = block
                .feed_forward
                .forward(&block.feed_forward_norm.forward(&hidden)?)?;
            hidden = clamp_f16(add(&hidden, &ff)?)?;
        }
        state.advance(new);
        let last = hidden.narrow(1, new - 1, 1)?;
        let mut last = model.decoder_norm.forward(&last)?;
        if model.output_scale != 1.0 {
            last = (last * model.output_scale)?;
        }
        last_position(&model.lm_head.forward(&last)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_nn::{VarBuilder, VarMap};

    fn parse(json: &str) -> T5Config {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn output_scaling_follows_transformers_5() {
        // Original T5 configs say nothing: tied and scaled.
        assert!(parse("{}").scales_decoder_outputs());
        // T5 v1.1 / BanglaT5 / MADLAD on the hub.
        assert!(!parse(r#"{"tie_word_embeddings": false}"#).scales_decoder_outputs());
        // What transformers 5 writes for a v1.1 model: its flag wins.
        assert!(
            !parse(r#"{"tie_word_embeddings": true, "scale_decoder_outputs": false}"#)
                .scales_decoder_outputs()
        );
    }

    #[test]
    fn config_defaults_and_feed_forward_names() {
        let config = parse(r#"{"num_layers": 3, "eos_token_id": [1, 5]}"#);
        assert_eq!(config.decoder_layers(), 3);
        assert_eq!(config.pad_token(), 0);
        assert_eq!(
            config.feed_forward().unwrap(),
            (false, FeedForwardActivation::Relu)
        );
        let gated = |proj: &str| {
            let mut c = config.clone();
            c.feed_forward_proj = proj.to_string();
            c.feed_forward()
        };
        assert_eq!(
            gated("gated-gelu").unwrap(),
            (true, FeedForwardActivation::GeluTanh)
        );
        assert_eq!(
            gated("gelu").unwrap(),
            (false, FeedForwardActivation::GeluErf)
        );
        assert_eq!(
            gated("gated-silu").unwrap(),
            (true, FeedForwardActivation::Silu)
        );
        assert!(gated("gated-gelu-extra").is_err());
        assert!(gated("tanh").is_err());
    }

    /// A random tied T5 (no `lm_head.weight`, original-T5 scaling, relu).
    fn random_t5(dtype: DType) -> T5 {
        let config = parse(
            r#"{"vocab_size": 40, "d_model": 16, "d_kv": 6, "d_ff": 24, "num_layers": 2,
                "num_decoder_layers": 1, "num_heads": 2, "relative_attention_num_buckets": 8,
                "relative_attention_max_distance": 12}"#,
        );
        let map = VarMap::new();
        let vb = VarBuilder::from_varmap(&map, DType::F32, &Device::Cpu);
        // `contains` only sees tensors that exist: create the embedding first.
        vb.get_with_hints(
            (40, 16),
            "shared.weight",
            candle_nn::Init::Randn {
                mean: 0.0,
                stdev: 1.0,
            },
        )
        .unwrap();
        let weights = Weights::from_var_builder(vb, None);
        // Creates every tensor under its transformers name.
        T5::load(config.clone(), weights).unwrap();
        let tensors = map.data().lock().unwrap().clone();
        let tensors = tensors
            .into_iter()
            .map(|(name, var)| (name, var.as_tensor().clone()))
            .collect();
        let vb = VarBuilder::from_tensors(tensors, dtype, &Device::Cpu);
        T5::load(config, Weights::from_var_builder(vb, None)).unwrap()
    }

    fn greedy_logits(model: &T5, sources: &[Vec<u32>], steps: usize) -> Vec<Vec<Vec<f32>>> {
        let mut session = model.start(sources, 1).unwrap();
        let mut tokens: Vec<u32> = vec![0; sources.len()];
        let mut out = vec![Vec::new(); sources.len()];
        for _ in 0..steps {
            let feed: Vec<Vec<u32>> = tokens.iter().map(|&t| vec![t]).collect();
            let logits = session.step(&feed).unwrap().to_vec2::<f32>().unwrap();
            for (row, scores) in logits.into_iter().enumerate() {
                tokens[row] =
                    scores
                        .iter()
                        .enumerate()
                        .fold(0, |best, (i, &s)| if s > scores[best] { i } else { best })
                        as u32;
                out[row].push(scores);
            }
        }
        out
    }

    #[test]
    fn a_sentence_gives_the_same_logits_alone_and_in_a_padded_batch() {
        let model = random_t5(DType::F32);
        assert_ne!(model.output_scale, 1.0);
        let short = vec![5, 6, 7, 1];
        let long = vec![9, 3, 4, 8, 2, 11, 30, 21, 17, 1];
        let alone = greedy_logits(&model, std::slice::from_ref(&short), 4);
        let batched = greedy_logits(&model, &[long, short], 4);
        for (a, b) in alone[0].iter().zip(&batched[1]) {
            let worst = a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0f32, f32::max);
            assert!(worst < 1e-5, "padding changed the logits by {worst}");
        }
    }

    #[test]
    fn half_precision_models_run_and_return_f32_logits() {
        for dtype in [DType::F16, DType::BF16] {
            let model = random_t5(dtype);
            let mut session = model.start(&[vec![5, 6, 1]], 2).unwrap();
            let logits = session.step(&[vec![0], vec![0]]).unwrap();
            assert_eq!(logits.dtype(), DType::F32);
            assert_eq!(logits.dims(), &[2, 40]);
            session.select_rows(&[1, 0]).unwrap();
            let logits = session.step(&[vec![3], vec![4]]).unwrap();
            let values = logits.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            assert!(values.iter().all(|v| v.is_finite()), "{dtype:?}");
        }
    }

    #[test]
    fn missing_embedding_is_an_error_not_a_panic() {
        let vb = VarBuilder::from_tensors(Default::default(), DType::F32, &Device::Cpu);
        let err = T5::load(parse("{}"), Weights::from_var_builder(vb, None)).unwrap_err();
        assert!(err.to_string().contains("shared.weight"), "{err}");
    }
}
