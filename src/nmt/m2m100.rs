//! M2M100 and NLLB-200 on candle-nn, following transformers'
//! `M2M100ForConditionalGeneration`: pre-norm layers with a final layer norm
//! after each stack, fairseq sinusoidal positions (their own frequency
//! formula, numbered from `pad_token_id + 1`, with the padding row zero),
//! embeddings scaled by sqrt(d_model), one shared embedding for encoder,
//! decoder and the tied output head, no `final_logits_bias`.
//!
//! Position ids come from the token ids, as transformers computes them: a
//! token equal to `pad_token_id` gets the zero padding row wherever it
//! stands, and decoder positions continue from the number of tokens already
//! fed. Padding masks and per-source cross-attention keys/values work as in
//! [`super::marian`], so a sentence translates the same in any batch.

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{Activation, Embedding, LayerNorm};
use serde::{Deserialize, Deserializer};

use crate::kernels::residual_add;
use crate::models::weights::{Linear, TokenEmbedding, Weights};

use super::attention::{causal_mask, last_position, padding_mask};
use super::bart::{DecoderLayer, EncoderLayer, LayerShape, LAYER_NORM_EPS};
use super::state::DecoderState;
use super::state::{DecoderStep, Session};
use super::{DecodeSession, EncoderDecoder};

/// `M2M100SinusoidalPositionalEmbedding.offset`: rows kept below the first
/// position so that position `p` of a sequence reads row `pad + 1 + p`.
const POSITION_OFFSET: usize = 2;
/// transformers clamps f16 encoder states to this bound after every layer so
/// that an overflow does not turn into inf/NaN.
const F16_CLAMP: f64 = 65504.0 - 1000.0;

fn default_true() -> bool {
    true
}
fn default_vocab_size() -> usize {
    128112
}
fn default_d_model() -> usize {
    1024
}
fn default_layers() -> usize {
    12
}
fn default_heads() -> usize {
    16
}
fn default_ffn() -> usize {
    4096
}
fn default_activation() -> Activation {
    Activation::Relu
}
fn default_max_positions() -> usize {
    1024
}
fn default_pad() -> u32 {
    1
}
fn default_eos() -> u32 {
    2
}

/// `eos_token_id` may be one id or a list; the model only needs the first.
fn first_id<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<u32, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(u32),
        Many(Vec<u32>),
    }
    match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(id) => Ok(id),
        OneOrMany::Many(ids) => ids
            .first()
            .copied()
            .ok_or_else(|| serde::de::Error::custom("empty eos_token_id list")),
    }
}

/// The fields of an M2M100/NLLB `config.json` the model needs, with
/// transformers' `M2M100Config` defaults for the ones a file leaves out.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct M2M100Config {
    #[serde(default = "default_vocab_size")]
    pub(crate) vocab_size: usize,
    #[serde(default = "default_d_model")]
    pub(crate) d_model: usize,
    #[serde(default = "default_layers")]
    pub(crate) encoder_layers: usize,
    #[serde(default = "default_layers")]
    pub(crate) decoder_layers: usize,
    #[serde(default = "default_heads")]
    pub(crate) encoder_attention_heads: usize,
    #[serde(default = "default_heads")]
    pub(crate) decoder_attention_heads: usize,
    #[serde(default = "default_ffn")]
    pub(crate) encoder_ffn_dim: usize,
    #[serde(default = "default_ffn")]
    pub(crate) decoder_ffn_dim: usize,
    #[serde(default = "default_activation")]
    pub(crate) activation_function: Activation,
    #[serde(default = "default_max_positions")]
    pub(crate) max_position_embeddings: usize,
    #[serde(default = "default_true")]
    pub(crate) scale_embedding: bool,
    #[serde(default = "default_pad")]
    pub(crate) pad_token_id: u32,
    #[serde(default = "default_eos", deserialize_with = "first_id")]
    pub(crate) eos_token_id: u32,
    #[serde(default = "default_true")]
    pub(crate) tie_word_embeddings: bool,
}

/// `M2M100SinusoidalPositionalEmbedding.get_embedding`: `rows` rows of
/// `[sin(half) | cos(half)]` (plus a zero column for an odd width) with the
/// padding row zero. transformers computes the frequencies and angles in f32;
/// rounding at the same points keeps the angles of late positions equal.
fn sinusoidal_table(rows: usize, dim: usize, padding_idx: usize) -> Vec<f32> {
    let half = dim / 2;
    let step = -((10000f64.ln() / (half as f64 - 1.0)) as f32);
    let frequencies: Vec<f32> = (0..half)
        .map(|i| ((i as f32 * step) as f64).exp() as f32)
        .collect();
    let mut table = vec![0f32; rows * dim];
    for (pos, row) in table.chunks_mut(dim).enumerate() {
        if pos == padding_idx {
            continue;
        }
        for (i, &frequency) in frequencies.iter().enumerate() {
            let angle = (pos as f32 * frequency) as f64;
            row[i] = angle.sin() as f32;
            row[half + i] = angle.cos() as f32;
        }
    }
    table
}

/// transformers' `create_position_ids_from_input_ids` for one row fed after
/// `past` earlier tokens: non-pad tokens count up from `pad + 1 + past`, pad
/// tokens get `pad`.
fn position_ids(ids: &[u32], pad: u32, past: usize) -> Vec<u32> {
    let mut seen = 0u32;
    ids.iter()
        .map(|&id| {
            if id == pad {
                pad
            } else {
                seen += 1;
                pad + seen + past as u32
            }
        })
        .collect()
}

/// Pre-norm: each sub-layer reads a normalized copy and adds to the residual
/// stream; f16 states are clamped as transformers does.
fn encoder_layer(layer: &EncoderLayer, xs: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let normed = layer.self_attn_layer_norm.forward(xs)?;
    let (keys, values) = layer.self_attn.keys_values(&normed)?;
    let attended = layer
        .self_attn
        .attend(&normed, &keys, &values, Some(mask))?;
    let xs = residual_add(xs, &attended)?;
    let ff = layer
        .feed_forward
        .forward(&layer.final_layer_norm.forward(&xs)?)?;
    let xs = residual_add(&xs, &ff)?;
    if xs.dtype() == DType::F16 {
        xs.clamp(-F16_CLAMP, F16_CLAMP)
    } else {
        Ok(xs)
    }
}

/// A loaded M2M100 or NLLB-200 translation model.
#[derive(Debug)]
pub(crate) struct M2M100 {
    config: M2M100Config,
    encoder_embed: TokenEmbedding,
    decoder_embed: TokenEmbedding,
    /// Rows for positions up to `max_position_embeddings`, in the model dtype.
    positions: Tensor,
    encoder_layers: Vec<EncoderLayer>,
    encoder_layer_norm: LayerNorm,
    decoder_layers: Vec<DecoderLayer>,
    decoder_layer_norm: LayerNorm,
    lm_head: Linear,
    embed_scale: f64,
    device: Device,
}

impl M2M100 {
    /// Builds the model from weights named as in
    /// `M2M100ForConditionalGeneration`'s state dict.
    pub(crate) fn load(config: M2M100Config, w: Weights) -> Result<Self> {
        let device = w.device().clone();
        let d = config.d_model;
        let vocab = config.vocab_size;
        let model = w.pp("model");
        // Some conversions store the shared table only under the encoder's
        // name; transformers ties them, so either is the same tensor.
        let shared_name =
            if model.contains("shared.weight") || !model.contains("encoder.embed_tokens.weight") {
                "shared"
            } else {
                "encoder.embed_tokens"
            };
        let (encoder_embed, decoder_embed, lm_head) = if config.tie_word_embeddings {
            let (head, shared) = model
                .pp(shared_name)
                .tied_head_and_embedding(vocab, d, None)?;
            (shared.clone(), shared, head)
        } else {
            let shared = model.pp(shared_name).embedding(vocab, d)?;
            // transformers 5 ties nothing when `tie_word_embeddings` is false;
            // a missing per-stack table falls back to the shared one.
            let own = |name: &str| -> Result<Embedding> {
                if model.contains(&format!("{name}.weight")) {
                    model.pp(name).embedding(vocab, d)
                } else {
                    Ok(shared.clone())
                }
            };
            (
                w.token_embedding(&own("encoder.embed_tokens")?)?,
                w.token_embedding(&own("decoder.embed_tokens")?)?,
                w.pp("lm_head").linear(d, vocab, false)?,
            )
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
        let encoder_layer_norm = model
            .pp("encoder.layer_norm")
            .layer_norm(d, LAYER_NORM_EPS)?;
        let decoder_layer_norm = model
            .pp("decoder.layer_norm")
            .layer_norm(d, LAYER_NORM_EPS)?;
        let rows = config.max_position_embeddings + POSITION_OFFSET;
        let positions = Tensor::from_vec(
            sinusoidal_table(rows, d, config.pad_token_id as usize),
            (rows, d),
            &device,
        )?
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
            encoder_layer_norm,
            decoder_layers,
            decoder_layer_norm,
            lm_head,
            embed_scale,
            device,
        })
    }

    /// Scaled token embeddings plus the position rows of `rows` (each row the
    /// same length), which were fed after `past` earlier tokens.
    fn embed(&self, table: &TokenEmbedding, rows: &[Vec<u32>], past: usize) -> Result<Tensor> {
        let seq = rows.first().map(Vec::len).unwrap_or(0);
        let pad = self.config.pad_token_id;
        let ids: Vec<u32> = rows.iter().flatten().copied().collect();
        let positions: Vec<u32> = rows
            .iter()
            .flat_map(|row| position_ids(row, pad, past))
            .collect();
        let ids = Tensor::from_vec(ids, (rows.len(), seq), &self.device)?;
        let tokens = (table.forward(&ids)? * self.embed_scale)?;
        let needed = positions.iter().max().map_or(0, |&p| p as usize + 1);
        // transformers grows its table for sequences past
        // max_position_embeddings; so does this, for that call only.
        let table_rows = if needed > self.positions.dim(0)? {
            let d = self.config.d_model;
            Tensor::from_vec(
                sinusoidal_table(needed, d, pad as usize),
                (needed, d),
                &self.device,
            )?
            .to_dtype(self.positions.dtype())?
        } else {
            self.positions.clone()
        };
        let index = Tensor::from_vec(positions, rows.len() * seq, &self.device)?;
        let positions =
            table_rows
                .index_select(&index, 0)?
                .reshape((rows.len(), seq, self.config.d_model))?;
        tokens + positions
    }

    /// Encoder states `[batch, seq, d_model]` and the padding mask.
    fn encode(&self, sources: &[Vec<u32>]) -> Result<(Tensor, Tensor)> {
        let seq = sources.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let pad = self.config.pad_token_id;
        let padded: Vec<Vec<u32>> = sources
            .iter()
            .map(|source| {
                let mut row = source.clone();
                row.resize(seq, pad);
                row
            })
            .collect();
        let lengths: Vec<usize> = sources.iter().map(|s| s.len().max(1)).collect();
        let mask = padding_mask(&lengths, seq, &self.device)?.to_dtype(self.positions.dtype())?;
        let mut hidden = self.embed(&self.encoder_embed, &padded, 0)?;
        for layer in &self.encoder_layers {
            hidden = encoder_layer(layer, &hidden, &mask)?;
        }
        Ok((self.encoder_layer_norm.forward(&hidden)?, mask))
    }
}

impl EncoderDecoder for M2M100 {
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
        self.config.vocab_size
    }

    fn max_source_tokens(&self) -> usize {
        self.config.max_position_embeddings
    }
}

impl DecoderStep for M2M100 {
    fn step(&self, state: &mut DecoderState, tokens: &[Vec<u32>]) -> Result<Tensor> {
        let model = self;
        let new = DecoderState::tokens_per_row(tokens)?;
        let mut hidden = model.embed(&model.decoder_embed, tokens, state.past())?;
        let causal = if new > 1 {
            Some(causal_mask(state.past(), new, &model.device)?.to_dtype(hidden.dtype())?)
        } else {
            None
        };
        for (i, layer) in model.decoder_layers.iter().enumerate() {
            let normed = layer.self_attn_layer_norm.forward(&hidden)?;
            let attended = state.self_attend(i, &layer.self_attn, &normed, causal.as_ref())?;
            hidden = residual_add(&hidden, &attended)?;

            let normed = layer.encoder_attn_layer_norm.forward(&hidden)?;
            let attended = state.cross_attend(i, &layer.encoder_attn, &normed)?;
            hidden = residual_add(&hidden, &attended)?;

            let ff = layer
                .feed_forward
                .forward(&layer.final_layer_norm.forward(&hidden)?)?;
            hidden = residual_add(&hidden, &ff)?;
        }
        state.advance(new);
        let last = hidden.narrow(1, new - 1, 1)?;
        let last = model.decoder_layer_norm.forward(&last)?;
        last_position(&model.lm_head.forward(&last)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_nn::{VarBuilder, VarMap};

    fn tiny_config() -> M2M100Config {
        serde_json::from_value(serde_json::json!({
            "vocab_size": 50,
            "d_model": 16,
            "encoder_layers": 2,
            "decoder_layers": 2,
            "encoder_attention_heads": 4,
            "decoder_attention_heads": 4,
            "encoder_ffn_dim": 32,
            "decoder_ffn_dim": 32,
            "max_position_embeddings": 64,
        }))
        .unwrap()
    }

    /// Random weights large enough (std 0.5, layer norm gains included) that
    /// the logits clearly depend on the input.
    fn random_model(dtype: DType) -> (M2M100, VarMap) {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, dtype, &Device::Cpu);
        M2M100::load(tiny_config(), Weights::from_var_builder(vb.clone(), None)).unwrap();
        for var in varmap.all_vars() {
            var.set(&(var.as_tensor() * 10.0).unwrap()).unwrap();
        }
        let model = M2M100::load(tiny_config(), Weights::from_var_builder(vb, None)).unwrap();
        (model, varmap)
    }

    fn rows(t: &Tensor) -> Vec<Vec<f32>> {
        t.to_vec2::<f32>().unwrap()
    }

    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn config_defaults_are_transformers_defaults() {
        let config: M2M100Config = serde_json::from_str(r#"{"eos_token_id": [2, 5]}"#).unwrap();
        assert_eq!(config.vocab_size, 128112);
        assert_eq!(config.d_model, 1024);
        assert_eq!(config.encoder_layers, 12);
        assert_eq!(config.activation_function, Activation::Relu);
        assert_eq!(config.max_position_embeddings, 1024);
        assert!(config.scale_embedding && config.tie_word_embeddings);
        assert_eq!((config.pad_token_id, config.eos_token_id), (1, 2));
    }

    #[test]
    fn position_table_follows_the_fairseq_formula() {
        let dim = 8;
        let table = sinusoidal_table(6, dim, 1);
        // Frequencies exp(-i * ln(10000) / (half - 1)), sines then cosines.
        let expected = |pos: f64, j: usize| {
            let frequency = (-((j % 4) as f64) * 10000f64.ln() / 3.0).exp();
            if j < 4 {
                (pos * frequency).sin()
            } else {
                (pos * frequency).cos()
            }
        };
        for pos in [0usize, 2, 5] {
            for j in 0..dim {
                let got = table[pos * dim + j] as f64;
                assert!(
                    (got - expected(pos as f64, j)).abs() < 1e-6,
                    "row {pos} column {j}: {got}"
                );
            }
        }
        assert!(table[dim..2 * dim].iter().all(|&v| v == 0.0), "padding row");
        assert_eq!(&table[..dim], &[0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
        // An odd width leaves a zero last column.
        let odd = sinusoidal_table(4, 7, 1);
        assert_eq!(odd[3 * 7 + 6], 0.0);
        assert!(odd[3 * 7] != 0.0);
    }

    #[test]
    fn position_ids_skip_pad_tokens_and_continue_after_the_past() {
        assert_eq!(position_ids(&[5, 6, 7], 1, 0), vec![2, 3, 4]);
        // A pad token inside the text gets the padding row; the count goes on.
        assert_eq!(position_ids(&[5, 1, 7, 1], 1, 0), vec![2, 1, 3, 1]);
        assert_eq!(position_ids(&[9], 1, 4), vec![6]);
        assert_eq!(position_ids(&[9, 8], 1, 4), vec![6, 7]);
    }

    fn first_steps(model: &M2M100, sources: &[Vec<u32>], steps: &[u32]) -> Vec<Vec<Vec<f32>>> {
        let mut session = model.start(sources, 1).unwrap();
        steps
            .iter()
            .map(|&t| rows(&session.step(&vec![vec![t]; sources.len()]).unwrap()))
            .collect()
    }

    #[test]
    fn a_sentence_gives_the_same_logits_alone_and_in_a_padded_batch() {
        let (model, _vars) = random_model(DType::F32);
        let short = vec![7, 8, 2];
        let long = vec![9, 10, 11, 12, 13, 14, 2];
        let steps = [2, 5, 6];
        let alone = first_steps(&model, std::slice::from_ref(&short), &steps);
        let batched = first_steps(&model, &[long, short], &steps);
        for (a, b) in alone.iter().zip(&batched) {
            let d = max_diff(&a[0], &b[1]);
            assert!(d < 1e-5, "difference {d}");
        }
        // And the logits depend on the source at all.
        let other = first_steps(&model, &[vec![20, 21, 2]], &steps);
        assert!(max_diff(&alone[0][0], &other[0][0]) > 0.01);
    }

    #[test]
    fn feeding_tokens_together_or_one_by_one_gives_the_same_last_logits() {
        let (model, _vars) = random_model(DType::F32);
        let sources = vec![vec![7, 8, 9, 2]];
        let one_by_one = first_steps(&model, &sources, &[2, 5, 6]);
        let mut session = model.start(&sources, 1).unwrap();
        let together = rows(&session.step(&[vec![2, 5, 6]]).unwrap());
        let d = max_diff(&one_by_one[2][0], &together[0]);
        assert!(d < 1e-5, "difference {d}");
    }

    #[test]
    fn beams_share_their_source_and_rows_can_be_reordered() {
        let (model, _vars) = random_model(DType::F32);
        let sources = vec![vec![7, 8, 2], vec![9, 10, 11, 2]];
        let mut shared = model.start(&sources, 2).unwrap();
        let logits = rows(&shared.step(&vec![vec![2]; 4]).unwrap());
        assert!(max_diff(&logits[0], &logits[1]) == 0.0);
        // Keep only the second source's beams, swapped, then feed distinct tokens.
        shared.select_rows(&[3, 2]).unwrap();
        let after = rows(&shared.step(&[vec![5], vec![6]]).unwrap());
        let alone = first_steps(&model, &sources[1..], &[2, 6]);
        assert!(max_diff(&after[1], &alone[1][0]) < 1e-5);
        assert!(shared.select_rows(&[0]).is_err());
    }

    #[test]
    fn half_precision_models_return_f32_logits() {
        for dtype in [DType::BF16, DType::F16] {
            let (model, _vars) = random_model(dtype);
            let mut session = model.start(&[vec![7, 8, 2]], 1).unwrap();
            let logits = session.step(&[vec![2]]).unwrap();
            assert_eq!(logits.dtype(), DType::F32);
            assert_eq!(logits.dims(), &[1, 50]);
        }
    }
}
