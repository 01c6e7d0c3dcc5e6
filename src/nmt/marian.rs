//! Marian (opus-mt) on candle-nn, following transformers' `MarianMTModel`:
//! post-norm layers, sinusoidal positions (sin half then cos half), embeddings
//! scaled by sqrt(d_model), a head tied to the shared embedding plus
//! `final_logits_bias`.
//!
//! Unlike candle-transformers' Marian it masks padding (so batches of mixed
//! lengths give the same result as single sentences), computes the
//! cross-attention keys/values once per source instead of at every step, and
//! keeps no state between inputs except inside a [`DecodeSession`].

use candle_core::{Device, Module, Result, Tensor};
use candle_nn::Activation;
use serde::Deserialize;

use crate::kernels::residual_add;
use crate::models::weights::{Linear, TokenEmbedding, Weights};

use super::attention::{causal_mask, last_position, padding_mask};
use super::bart::{DecoderLayer, EncoderLayer, LayerShape};
use super::state::DecoderState;
use super::state::{DecoderStep, Session};
use super::{DecodeSession, EncoderDecoder};

fn default_true() -> bool {
    true
}
fn default_activation() -> Activation {
    Activation::Swish
}
fn default_max_positions() -> usize {
    512
}

/// The fields of a Marian `config.json` the model needs. Older opus-mt
/// configs lack several of them, so everything transformers defaults has a
/// default here too.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct MarianConfig {
    pub(crate) vocab_size: usize,
    #[serde(default)]
    pub(crate) decoder_vocab_size: Option<usize>,
    pub(crate) d_model: usize,
    pub(crate) encoder_layers: usize,
    pub(crate) decoder_layers: usize,
    pub(crate) encoder_attention_heads: usize,
    pub(crate) decoder_attention_heads: usize,
    pub(crate) encoder_ffn_dim: usize,
    pub(crate) decoder_ffn_dim: usize,
    #[serde(default = "default_activation")]
    pub(crate) activation_function: Activation,
    #[serde(default = "default_max_positions")]
    pub(crate) max_position_embeddings: usize,
    #[serde(default = "default_true")]
    pub(crate) scale_embedding: bool,
    pub(crate) pad_token_id: u32,
    pub(crate) eos_token_id: u32,
    #[serde(default = "default_true")]
    pub(crate) share_encoder_decoder_embeddings: bool,
    #[serde(default = "default_true")]
    pub(crate) tie_word_embeddings: bool,
}

impl MarianConfig {
    pub(crate) fn decoder_vocab(&self) -> usize {
        self.decoder_vocab_size.unwrap_or(self.vocab_size)
    }
}

/// transformers' `MarianSinusoidalPositionalEmbedding._init_weight`: angles in
/// f64, sines in the first half of each row and cosines in the second.
fn sinusoidal_positions(positions: usize, dim: usize, device: &Device) -> Result<Tensor> {
    let sin_width = dim.div_ceil(2);
    let mut table = vec![0f32; positions * dim];
    for pos in 0..positions {
        let row = &mut table[pos * dim..(pos + 1) * dim];
        for j in 0..dim {
            let angle = pos as f64 / 10000f64.powf((2 * (j / 2)) as f64 / dim as f64);
            if j % 2 == 0 {
                row[j / 2] = angle.sin() as f32;
            } else {
                row[sin_width + j / 2] = angle.cos() as f32;
            }
        }
    }
    Tensor::from_vec(table, (positions, dim), device)
}

/// Post-norm: each sub-layer's output is added to its input, then normalized.
fn encoder_layer(layer: &EncoderLayer, xs: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let (keys, values) = layer.self_attn.keys_values(xs)?;
    let attended = layer.self_attn.attend(xs, &keys, &values, Some(mask))?;
    let xs = layer
        .self_attn_layer_norm
        .forward(&residual_add(xs, &attended)?)?;
    let ff = layer.feed_forward.forward(&xs)?;
    layer.final_layer_norm.forward(&residual_add(&xs, &ff)?)
}

/// A loaded Marian translation model.
#[derive(Debug)]
pub(crate) struct Marian {
    config: MarianConfig,
    encoder_embed: TokenEmbedding,
    decoder_embed: TokenEmbedding,
    positions: Tensor,
    encoder_layers: Vec<EncoderLayer>,
    decoder_layers: Vec<DecoderLayer>,
    lm_head: Linear,
    embed_scale: f64,
    device: Device,
}

impl Marian {
    /// Builds the model from weights named as in `MarianMTModel`'s state dict.
    pub(crate) fn load(config: MarianConfig, w: Weights) -> Result<Self> {
        let device = w.device().clone();
        let d = config.d_model;
        let model = w.pp("model");
        let (decoder_table, decoder_rows) = if config.share_encoder_decoder_embeddings {
            ("shared", config.vocab_size)
        } else {
            ("decoder.embed_tokens", config.decoder_vocab())
        };
        // A buffer in transformers; checkpoints written without it mean zeros.
        let bias = if w.contains("final_logits_bias") {
            w.get((1, config.decoder_vocab()), "final_logits_bias")?
                .squeeze(0)?
        } else {
            Tensor::zeros(config.decoder_vocab(), w.dtype(), &device)?
        };
        let (lm_head, decoder_embed) = if config.tie_word_embeddings {
            model
                .pp(decoder_table)
                .tied_head_and_embedding(decoder_rows, d, Some(bias))?
        } else {
            let head_weight = w.get((config.decoder_vocab(), d), "lm_head.weight")?;
            let table = model.pp(decoder_table).embedding(decoder_rows, d)?;
            (
                w.linear_from(head_weight, Some(bias))?,
                w.token_embedding(&table)?,
            )
        };
        let encoder_embed = if config.share_encoder_decoder_embeddings {
            decoder_embed.clone()
        } else {
            let table = model
                .pp("encoder.embed_tokens")
                .embedding(config.vocab_size, d)?;
            w.token_embedding(&table)?
        };
        let encoder_shape = LayerShape {
            d_model: d,
            heads: config.encoder_attention_heads,
            ffn: config.encoder_ffn_dim,
            activation: config.activation_function,
        };
        let decoder_shape = LayerShape {
            heads: config.decoder_attention_heads,
            ffn: config.decoder_ffn_dim,
            ..encoder_shape
        };
        let encoder_layers = (0..config.encoder_layers)
            .map(|i| EncoderLayer::load(model.pp(format!("encoder.layers.{i}")), encoder_shape))
            .collect::<Result<Vec<_>>>()?;
        let decoder_layers = (0..config.decoder_layers)
            .map(|i| DecoderLayer::load(model.pp(format!("decoder.layers.{i}")), decoder_shape))
            .collect::<Result<Vec<_>>>()?;
        let positions = sinusoidal_positions(config.max_position_embeddings, d, &device)?
            .to_dtype(w.dtype())?;
        let embed_scale = if config.scale_embedding {
            (d as f64).sqrt()
        } else {
            1.0
        };
        Ok(Self {
            config,
            encoder_embed,
            decoder_embed,
            positions,
            encoder_layers,
            decoder_layers,
            lm_head,
            embed_scale,
            device,
        })
    }

    fn embed(&self, table: &TokenEmbedding, ids: &Tensor, offset: usize) -> Result<Tensor> {
        let seq = ids.dim(1)?;
        if offset + seq > self.config.max_position_embeddings {
            candle_core::bail!(
                "sequence of {} tokens exceeds the model's {} positions",
                offset + seq,
                self.config.max_position_embeddings
            );
        }
        let tokens = (table.forward(ids)? * self.embed_scale)?;
        tokens.broadcast_add(&self.positions.narrow(0, offset, seq)?)
    }

    /// Encoder states `[batch, seq, d_model]` and the padding mask.
    fn encode(&self, sources: &[Vec<u32>]) -> Result<(Tensor, Tensor)> {
        let seq = sources.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let pad = self.config.pad_token_id;
        let mut ids = Vec::with_capacity(sources.len() * seq);
        for source in sources {
            ids.extend_from_slice(source);
            ids.extend(std::iter::repeat_n(pad, seq - source.len()));
        }
        let ids = Tensor::from_vec(ids, (sources.len(), seq), &self.device)?;
        let lengths: Vec<usize> = sources.iter().map(|s| s.len().max(1)).collect();
        let mask = padding_mask(&lengths, seq, &self.device)?.to_dtype(self.positions.dtype())?;
        let mut hidden = self.embed(&self.encoder_embed, &ids, 0)?;
        for layer in &self.encoder_layers {
            hidden = encoder_layer(layer, &hidden, &mask)?;
        }
        Ok((hidden, mask))
    }
}

impl EncoderDecoder for Marian {
    fn start<'a>(
        &'a self,
        sources: &[Vec<u32>],
        copies: usize,
    ) -> Result<Box<dyn DecodeSession + 'a>> {
        let (hidden, mask) = self.encode(sources)?;
        let cross_attentions = self.decoder_layers.iter().map(|layer| &layer.encoder_attn);
        Session::start(self, &hidden, mask, cross_attentions, copies)
    }

    fn vocab_size(&self) -> usize {
        self.config.decoder_vocab()
    }

    fn max_source_tokens(&self) -> usize {
        self.config.max_position_embeddings
    }
}

impl DecoderStep for Marian {
    fn step(&self, state: &mut DecoderState, tokens: &[Vec<u32>]) -> Result<Tensor> {
        let model = self;
        let new = DecoderState::tokens_per_row(tokens)?;
        let flat: Vec<u32> = tokens.iter().flatten().copied().collect();
        let ids = Tensor::from_vec(flat, (tokens.len(), new), &model.device)?;
        let mut hidden = model.embed(&model.decoder_embed, &ids, state.past())?;
        let causal = if new > 1 {
            Some(causal_mask(state.past(), new, &model.device)?.to_dtype(hidden.dtype())?)
        } else {
            None
        };
        for (i, layer) in model.decoder_layers.iter().enumerate() {
            let attended = state.self_attend(i, &layer.self_attn, &hidden, causal.as_ref())?;
            hidden = layer
                .self_attn_layer_norm
                .forward(&residual_add(&hidden, &attended)?)?;

            let attended = state.cross_attend(i, &layer.encoder_attn, &hidden)?;
            hidden = layer
                .encoder_attn_layer_norm
                .forward(&residual_add(&hidden, &attended)?)?;

            let ff = layer.feed_forward.forward(&hidden)?;
            hidden = layer
                .final_layer_norm
                .forward(&residual_add(&hidden, &ff)?)?;
        }
        state.advance(new);
        let last = hidden.narrow(1, new - 1, 1)?;
        last_position(&model.lm_head.forward(&last)?)
    }
}
