//! The layer weights BART-style families share: Marian and M2M100 name and
//! shape them identically (`self_attn`, `encoder_attn`, `fc1`/`fc2` and a
//! layer norm after or before each). The families differ only in where the
//! norms go (Marian after each residual sum, M2M100 before each sub-layer),
//! so each applies these weights in its own order.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Activation, LayerNorm};

use super::attention::Attention;
use crate::models::weights::{Linear, Weights};

/// transformers' `nn.LayerNorm` default, used by both families.
pub(crate) const LAYER_NORM_EPS: f64 = 1e-5;

/// Sizes of one stack's layers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LayerShape {
    pub(crate) d_model: usize,
    pub(crate) heads: usize,
    pub(crate) ffn: usize,
    pub(crate) activation: Activation,
}

#[derive(Debug, Clone)]
pub(crate) struct FeedForward {
    fc1: Linear,
    fc2: Linear,
    activation: Activation,
}

impl FeedForward {
    fn load(w: &Weights, shape: LayerShape) -> Result<Self> {
        Ok(Self {
            fc1: w.pp("fc1").linear(shape.d_model, shape.ffn, true)?,
            fc2: w.pp("fc2").linear(shape.ffn, shape.d_model, true)?,
            activation: shape.activation,
        })
    }

    pub(crate) fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        self.fc2
            .forward(&self.fc1.forward_activated(xs, self.activation)?)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct EncoderLayer {
    pub(crate) self_attn: Attention,
    pub(crate) self_attn_layer_norm: LayerNorm,
    pub(crate) feed_forward: FeedForward,
    pub(crate) final_layer_norm: LayerNorm,
}

impl EncoderLayer {
    pub(crate) fn load(w: Weights, shape: LayerShape) -> Result<Self> {
        let d = shape.d_model;
        Ok(Self {
            self_attn: Attention::load(&w.pp("self_attn"), d, shape.heads, true)?,
            self_attn_layer_norm: w.pp("self_attn_layer_norm").layer_norm(d, LAYER_NORM_EPS)?,
            feed_forward: FeedForward::load(&w, shape)?,
            final_layer_norm: w.pp("final_layer_norm").layer_norm(d, LAYER_NORM_EPS)?,
        })
    }
}

#[derive(Debug, Clone)]
pub(crate) struct DecoderLayer {
    pub(crate) self_attn: Attention,
    pub(crate) self_attn_layer_norm: LayerNorm,
    pub(crate) encoder_attn: Attention,
    pub(crate) encoder_attn_layer_norm: LayerNorm,
    pub(crate) feed_forward: FeedForward,
    pub(crate) final_layer_norm: LayerNorm,
}

impl DecoderLayer {
    pub(crate) fn load(w: Weights, shape: LayerShape) -> Result<Self> {
        let d = shape.d_model;
        Ok(Self {
            self_attn: Attention::load(&w.pp("self_attn"), d, shape.heads, true)?,
            self_attn_layer_norm: w.pp("self_attn_layer_norm").layer_norm(d, LAYER_NORM_EPS)?,
            encoder_attn: Attention::load(&w.pp("encoder_attn"), d, shape.heads, true)?,
            encoder_attn_layer_norm: w
                .pp("encoder_attn_layer_norm")
                .layer_norm(d, LAYER_NORM_EPS)?,
            feed_forward: FeedForward::load(&w, shape)?,
            final_layer_norm: w.pp("final_layer_norm").layer_norm(d, LAYER_NORM_EPS)?,
        })
    }
}
