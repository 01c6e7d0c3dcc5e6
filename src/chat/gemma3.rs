//! Gemma 3 text models, from a GGUF file (llama.cpp's tensor names,
//! quantized matmuls) or from safetensors (transformers' names), one
//! implementation for both, written against transformers 5.23's
//! `Gemma3ForCausalLM`.
//!
//! candle 0.11.1 has Gemma 3 twice and neither computes what transformers
//! does: its GGUF model (`quantized_gemma3`) gates the MLP with SiLU where
//! Gemma uses tanh-approximated GELU, and both let a sliding-window layer see
//! one token more than the window (and the GGUF one forgets the window once
//! the prompt is cached). Here the sliding window keeps transformers' rule
//! (a query sees the `sliding_window` most recent positions, itself
//! included) in the prompt pass and while generating, a prompt may be fed in
//! chunks against the KV cache, and the global layers take their linear RoPE
//! scaling (Gemma 3 4B and larger).

use candle_core::quantized::gguf_file;
use candle_core::{DType, Device, Module, Tensor};
use serde_json::Value as Json;
use std::collections::HashMap;

use crate::models::weights::{Linear, Weights};

use super::BoxError;

/// llama.cpp and transformers' default layout: five sliding-window layers,
/// then a global one.
const DEFAULT_SLIDING_WINDOW_PATTERN: usize = 6;

/// What the network looks like, from `config.json` or GGUF metadata.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Gemma3Config {
    pub(crate) hidden_size: usize,
    pub(crate) num_heads: usize,
    pub(crate) num_kv_heads: usize,
    pub(crate) head_dim: usize,
    pub(crate) intermediate_size: usize,
    pub(crate) vocab_size: usize,
    pub(crate) rms_norm_eps: f64,
    /// RoPE base of the global layers, and their linear scaling factor.
    pub(crate) rope_theta: f64,
    pub(crate) rope_scaling_factor: f64,
    /// RoPE base of the sliding-window layers (never scaled).
    pub(crate) rope_local_theta: f64,
    /// Queries are scaled by `query_pre_attn_scalar^-0.5`.
    pub(crate) query_pre_attn_scalar: f64,
    pub(crate) sliding_window: usize,
    /// Per layer: whether it attends within the sliding window only.
    pub(crate) sliding_layers: Vec<bool>,
    pub(crate) final_logit_softcapping: Option<f64>,
    pub(crate) attn_logit_softcapping: Option<f64>,
    pub(crate) max_position_embeddings: usize,
}

fn pattern_layers(num_layers: usize, pattern: usize) -> Vec<bool> {
    (0..num_layers)
        .map(|layer| (layer + 1) % pattern.max(1) != 0)
        .collect()
}

impl Gemma3Config {
    /// From a `gemma3_text` `config.json`, in transformers 4's layout (as the
    /// hub's checkpoints have it: `rope_theta`, `rope_local_base_freq`,
    /// `rope_scaling`) or 5's (`rope_parameters` per layer type).
    pub(crate) fn from_transformers(config: &Json) -> Result<Self, BoxError> {
        let uint = |key: &str| config.get(key).and_then(Json::as_u64).map(|v| v as usize);
        let float = |key: &str| config.get(key).and_then(Json::as_f64);
        let required = |key: &str| uint(key).ok_or_else(|| format!("no {key} in config.json"));
        let activation = config
            .get("hidden_activation")
            .and_then(Json::as_str)
            .unwrap_or("gelu_pytorch_tanh");
        if activation != "gelu_pytorch_tanh" {
            return Err(format!(
                "hidden_activation {activation:?} (Gemma 3 uses gelu_pytorch_tanh)"
            )
            .into());
        }
        let num_layers = required("num_hidden_layers")?;
        let sliding_layers = match config.get("layer_types").and_then(Json::as_array) {
            Some(types) => types
                .iter()
                .map(|t| t.as_str() == Some("sliding_attention"))
                .collect(),
            None => pattern_layers(
                num_layers,
                uint("sliding_window_pattern")
                    .or_else(|| uint("_sliding_window_pattern"))
                    .unwrap_or(DEFAULT_SLIDING_WINDOW_PATTERN),
            ),
        };
        if sliding_layers.len() != num_layers {
            return Err("layer_types does not list every layer".into());
        }
        let rope_theta_of =
            |params: Option<&Json>| params.and_then(|p| p.get("rope_theta")?.as_f64());
        let (rope_theta, rope_local_theta, scaling) = match config.get("rope_parameters") {
            Some(parameters) => (
                rope_theta_of(parameters.get("full_attention")).unwrap_or(1_000_000.0),
                rope_theta_of(parameters.get("sliding_attention")).unwrap_or(10_000.0),
                parameters.get("full_attention").cloned(),
            ),
            None => (
                float("rope_theta").unwrap_or(1_000_000.0),
                float("rope_local_base_freq").unwrap_or(10_000.0),
                config.get("rope_scaling").cloned(),
            ),
        };
        let rope_scaling_factor = match scaling.as_ref().filter(|s| !s.is_null()) {
            None => 1.0,
            Some(scaling) => match scaling.get("rope_type").and_then(Json::as_str) {
                None | Some("default") => 1.0,
                Some("linear") => scaling.get("factor").and_then(Json::as_f64).unwrap_or(1.0),
                Some(other) => {
                    return Err(
                        format!("RoPE scaling {other:?} is not supported (linear is)").into(),
                    )
                }
            },
        };
        let head_dim = uint("head_dim").unwrap_or(256);
        Ok(Self {
            hidden_size: required("hidden_size")?,
            num_heads: required("num_attention_heads")?,
            num_kv_heads: required("num_key_value_heads")?,
            head_dim,
            intermediate_size: required("intermediate_size")?,
            vocab_size: required("vocab_size")?,
            rms_norm_eps: float("rms_norm_eps").unwrap_or(1e-6),
            rope_theta,
            rope_scaling_factor,
            rope_local_theta,
            query_pre_attn_scalar: float("query_pre_attn_scalar").unwrap_or(head_dim as f64),
            sliding_window: uint("sliding_window").unwrap_or(4096),
            sliding_layers,
            final_logit_softcapping: float("final_logit_softcapping"),
            attn_logit_softcapping: float("attn_logit_softcapping"),
            max_position_embeddings: uint("max_position_embeddings").unwrap_or(131_072),
        })
    }

    /// From the `gemma3.*` metadata llama.cpp's converter writes. Like
    /// llama.cpp, every sixth layer is global, and queries are scaled by
    /// the head size except in the 62-layer (27B) model, whose
    /// `query_pre_attn_scalar` is hidden size / heads.
    pub(crate) fn from_gguf(
        metadata: &HashMap<String, gguf_file::Value>,
        vocab_size: usize,
    ) -> Result<Self, BoxError> {
        let get = |key: &str| metadata.get(&format!("gemma3.{key}"));
        let uint = |key: &str| -> Result<usize, BoxError> {
            let value = get(key).ok_or_else(|| format!("no gemma3.{key} in the GGUF metadata"))?;
            Ok(value.to_u64().or_else(|_| value.to_u32().map(u64::from))? as usize)
        };
        let float = |key: &str| get(key).and_then(|v| v.to_f32().ok()).map(f64::from);
        let num_layers = uint("block_count")?;
        let hidden_size = uint("embedding_length")?;
        let num_heads = uint("attention.head_count")?;
        let head_dim = uint("attention.key_length")?;
        let linear_scaling = get("rope.scaling.type")
            .and_then(|v| v.to_string().ok())
            .is_none_or(|t| t == "linear");
        let query_pre_attn_scalar = if num_layers == 62 {
            (hidden_size / num_heads) as f64
        } else {
            head_dim as f64
        };
        Ok(Self {
            hidden_size,
            num_heads,
            num_kv_heads: uint("attention.head_count_kv")?,
            head_dim,
            intermediate_size: uint("feed_forward_length")?,
            vocab_size,
            rms_norm_eps: float("attention.layer_norm_rms_epsilon").unwrap_or(1e-6),
            rope_theta: float("rope.freq_base").unwrap_or(1_000_000.0),
            rope_scaling_factor: if linear_scaling {
                float("rope.scaling.factor").unwrap_or(1.0)
            } else {
                1.0
            },
            rope_local_theta: float("rope.local_freq_base").unwrap_or(10_000.0),
            query_pre_attn_scalar,
            sliding_window: uint("attention.sliding_window")?,
            sliding_layers: pattern_layers(num_layers, DEFAULT_SLIDING_WINDOW_PATTERN),
            final_logit_softcapping: float("final_logit_softcapping"),
            attn_logit_softcapping: float("attn_logit_softcapping"),
            max_position_embeddings: uint("context_length")?,
        })
    }
}

/// Where the tensors are and how their norms are stored: transformers keeps
/// Gemma's norm weights as offsets from 1, llama.cpp's converter adds the 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TensorNames {
    Gguf,
    Transformers,
}

impl TensorNames {
    fn global(self, name: &'static str) -> &'static str {
        match (self, name) {
            (Self::Gguf, "embed") => "token_embd",
            (Self::Gguf, "norm") => "output_norm",
            (Self::Gguf, "lm_head") => "output",
            (Self::Transformers, "embed") => "model.embed_tokens",
            (Self::Transformers, "norm") => "model.norm",
            (Self::Transformers, "lm_head") => "lm_head",
            _ => unreachable!("no global tensor {name}"),
        }
    }

    fn layer(self, layer: usize) -> String {
        match self {
            Self::Gguf => format!("blk.{layer}"),
            Self::Transformers => format!("model.layers.{layer}"),
        }
    }

    /// A layer tensor's name under the layer prefix, given transformers' name.
    fn in_layer(self, name: &'static str) -> &'static str {
        match self {
            Self::Transformers => name,
            Self::Gguf => match name {
                "self_attn.q_proj" => "attn_q",
                "self_attn.k_proj" => "attn_k",
                "self_attn.v_proj" => "attn_v",
                "self_attn.o_proj" => "attn_output",
                "self_attn.q_norm" => "attn_q_norm",
                "self_attn.k_norm" => "attn_k_norm",
                "input_layernorm" => "attn_norm",
                "post_attention_layernorm" => "post_attention_norm",
                "pre_feedforward_layernorm" => "ffn_norm",
                "post_feedforward_layernorm" => "post_ffw_norm",
                "mlp.gate_proj" => "ffn_gate",
                "mlp.up_proj" => "ffn_up",
                "mlp.down_proj" => "ffn_down",
                _ => unreachable!("no layer tensor {name}"),
            },
        }
    }

    fn norm_offset(self) -> f64 {
        match self {
            Self::Gguf => 0.0,
            Self::Transformers => 1.0,
        }
    }
}

/// RMS norm computed in f32, as transformers' `Gemma3RMSNorm` does; the
/// weight includes Gemma's +1.
#[derive(Debug, Clone)]
struct RmsNorm {
    weight: Tensor,
    eps: f32,
}

impl RmsNorm {
    fn load(
        weights: &Weights,
        dim: usize,
        names: TensorNames,
        eps: f64,
    ) -> candle_core::Result<Self> {
        let weight = weights.get(dim, "weight")?.to_dtype(DType::F32)?;
        Ok(Self {
            weight: (weight + names.norm_offset())?,
            eps: eps as f32,
        })
    }

    fn forward(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        let dtype = xs.dtype();
        candle_nn::ops::rms_norm(
            &xs.to_dtype(DType::F32)?.contiguous()?,
            &self.weight,
            self.eps,
        )?
        .to_dtype(dtype)
    }
}

#[derive(Debug, Clone)]
struct Layer {
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    o_proj: Linear,
    q_norm: RmsNorm,
    k_norm: RmsNorm,
    input_norm: RmsNorm,
    post_attention_norm: RmsNorm,
    pre_feedforward_norm: RmsNorm,
    post_feedforward_norm: RmsNorm,
    gate_proj: Linear,
    up_proj: Linear,
    down_proj: Linear,
    sliding: bool,
    /// RoPE inverse frequencies for this layer's kind (local or global).
    inv_freq: Vec<f32>,
    kv_cache: Option<(Tensor, Tensor)>,
}

/// Gemma 3's decoder stack with its KV cache (batch 1).
#[derive(Debug, Clone)]
pub(crate) struct Gemma3 {
    config: Gemma3Config,
    embed_tokens: Tensor,
    layers: Vec<Layer>,
    norm: RmsNorm,
    lm_head: Linear,
    dtype: DType,
    device: Device,
}

fn inv_freq(head_dim: usize, theta: f64, scaling_factor: f64) -> Vec<f32> {
    (0..head_dim)
        .step_by(2)
        .map(|i| (1.0 / theta.powf(i as f64 / head_dim as f64) / scaling_factor) as f32)
        .collect()
}

impl Gemma3 {
    pub(crate) fn load(
        config: Gemma3Config,
        weights: &Weights,
        names: TensorNames,
    ) -> candle_core::Result<Self> {
        let c = &config;
        let eps = c.rms_norm_eps;
        let embed_weights = weights.pp(names.global("embed"));
        let embed_tokens = embed_weights.get((c.vocab_size, c.hidden_size), "weight")?;
        let lm_head_weights = weights.pp(names.global("lm_head"));
        let lm_head = if lm_head_weights.contains("weight") {
            lm_head_weights.linear(c.hidden_size, c.vocab_size, false)?
        } else if names == TensorNames::Gguf {
            // Tied: the quantized embedding matrix doubles as the head.
            embed_weights.linear(c.hidden_size, c.vocab_size, false)?
        } else {
            weights.linear_from(embed_tokens.clone(), None)?
        };
        let q_dim = c.num_heads * c.head_dim;
        let kv_dim = c.num_kv_heads * c.head_dim;
        let mut layers = Vec::with_capacity(c.sliding_layers.len());
        for (index, &sliding) in c.sliding_layers.iter().enumerate() {
            let layer = weights.pp(names.layer(index));
            let part = |name: &'static str| layer.pp(names.in_layer(name));
            let norm = |name: &'static str, dim: usize| RmsNorm::load(&part(name), dim, names, eps);
            layers.push(Layer {
                q_proj: part("self_attn.q_proj").linear(c.hidden_size, q_dim, false)?,
                k_proj: part("self_attn.k_proj").linear(c.hidden_size, kv_dim, false)?,
                v_proj: part("self_attn.v_proj").linear(c.hidden_size, kv_dim, false)?,
                o_proj: part("self_attn.o_proj").linear(q_dim, c.hidden_size, false)?,
                q_norm: norm("self_attn.q_norm", c.head_dim)?,
                k_norm: norm("self_attn.k_norm", c.head_dim)?,
                input_norm: norm("input_layernorm", c.hidden_size)?,
                post_attention_norm: norm("post_attention_layernorm", c.hidden_size)?,
                pre_feedforward_norm: norm("pre_feedforward_layernorm", c.hidden_size)?,
                post_feedforward_norm: norm("post_feedforward_layernorm", c.hidden_size)?,
                gate_proj: part("mlp.gate_proj").linear(
                    c.hidden_size,
                    c.intermediate_size,
                    false,
                )?,
                up_proj: part("mlp.up_proj").linear(c.hidden_size, c.intermediate_size, false)?,
                down_proj: part("mlp.down_proj").linear(
                    c.intermediate_size,
                    c.hidden_size,
                    false,
                )?,
                sliding,
                inv_freq: if sliding {
                    inv_freq(c.head_dim, c.rope_local_theta, 1.0)
                } else {
                    inv_freq(c.head_dim, c.rope_theta, c.rope_scaling_factor)
                },
                kv_cache: None,
            });
        }
        Ok(Self {
            norm: RmsNorm::load(&weights.pp(names.global("norm")), c.hidden_size, names, eps)?,
            embed_tokens,
            layers,
            lm_head,
            dtype: weights.dtype(),
            device: weights.device().clone(),
            config,
        })
    }

    pub(crate) fn clear_kv_cache(&mut self) {
        for layer in &mut self.layers {
            layer.kv_cache = None;
        }
    }

    /// Keeps the first `positions` of the KV cache and drops the rest, so a
    /// prompt sharing them is fed from there on.
    pub(crate) fn keep_kv(&mut self, positions: usize) -> candle_core::Result<()> {
        for layer in &mut self.layers {
            if let Some((k, v)) = &layer.kv_cache {
                let keep = positions.min(k.dims()[2]);
                layer.kv_cache = (keep > 0)
                    .then(|| {
                        Ok::<_, candle_core::Error>((k.narrow(2, 0, keep)?, v.narrow(2, 0, keep)?))
                    })
                    .transpose()?;
            }
        }
        Ok(())
    }

    /// Logits `[1, 1, vocab]` for the last of `input_ids` (`[1, len]`), which
    /// sit at positions `position..`; positions before them must be in the
    /// KV cache.
    pub(crate) fn forward(
        &mut self,
        input_ids: &Tensor,
        position: usize,
    ) -> candle_core::Result<Tensor> {
        let (_, len) = input_ids.dims2()?;
        let c = &self.config;
        let mut xs = self
            .embed_tokens
            .index_select(&input_ids.flatten_all()?, 0)?
            .unsqueeze(0)?;
        xs = (xs * (c.hidden_size as f64).sqrt())?;
        let total = position + len;
        let global_mask = attention_mask(len, position, None, &self.device)?;
        let sliding_mask = attention_mask(len, position, Some(c.sliding_window), &self.device)?;
        let positions: Vec<f32> = (position..total).map(|p| p as f32).collect();
        let positions = Tensor::new(positions.as_slice(), &self.device)?.unsqueeze(1)?;
        for layer in &mut self.layers {
            let mask = if layer.sliding {
                &sliding_mask
            } else {
                &global_mask
            };
            xs = layer.forward(&xs, &positions, mask.as_ref(), c, self.dtype)?;
        }
        let last = xs.narrow(1, len - 1, 1)?;
        let logits = self.lm_head.forward(&self.norm.forward(&last)?)?;
        match c.final_logit_softcapping {
            Some(cap) => (logits / cap)?.tanh()? * cap,
            None => Ok(logits),
        }
    }
}

/// Additive mask `[len, position + len]` for queries at `position..`: a query
/// sees keys at or before it, and with a window only the `window` most recent
/// of them (itself included), as transformers' `sliding_window_overlay`.
/// `None` when nothing is hidden.
fn attention_mask(
    len: usize,
    position: usize,
    window: Option<usize>,
    device: &Device,
) -> candle_core::Result<Option<Tensor>> {
    let total = position + len;
    let visible = |query: usize, key: usize| key <= query && window.is_none_or(|w| query - key < w);
    let mut hidden_any = false;
    let mut values = Vec::with_capacity(len * total);
    for query in position..total {
        for key in 0..total {
            if visible(query, key) {
                values.push(0f32);
            } else {
                hidden_any = true;
                values.push(f32::NEG_INFINITY);
            }
        }
    }
    if !hidden_any {
        return Ok(None);
    }
    Tensor::from_vec(values, (len, total), device).map(Some)
}

impl Layer {
    fn rope(&self, xs: &Tensor, positions: &Tensor) -> candle_core::Result<Tensor> {
        let inv_freq = Tensor::new(self.inv_freq.as_slice(), positions.device())?.unsqueeze(0)?;
        let angles = positions.broadcast_mul(&inv_freq)?;
        let dtype = xs.dtype();
        candle_nn::rotary_emb::rope(
            &xs.contiguous()?,
            &angles.cos()?.to_dtype(dtype)?,
            &angles.sin()?.to_dtype(dtype)?,
        )
    }

    fn forward(
        &mut self,
        xs: &Tensor,
        positions: &Tensor,
        mask: Option<&Tensor>,
        c: &Gemma3Config,
        dtype: DType,
    ) -> candle_core::Result<Tensor> {
        let (batch, len, _) = xs.dims3()?;
        let residual = xs;
        let normed = self.input_norm.forward(xs)?;
        let heads =
            |proj: &Linear, norm: Option<&RmsNorm>, count: usize| -> candle_core::Result<Tensor> {
                let projected = proj
                    .forward(&normed)?
                    .reshape((batch, len, count, c.head_dim))?;
                let projected = match norm {
                    Some(norm) => norm.forward(&projected)?,
                    None => projected,
                };
                projected.transpose(1, 2)?.contiguous()
            };
        let q = self.rope(
            &heads(&self.q_proj, Some(&self.q_norm), c.num_heads)?,
            positions,
        )?;
        let k = self.rope(
            &heads(&self.k_proj, Some(&self.k_norm), c.num_kv_heads)?,
            positions,
        )?;
        let v = heads(&self.v_proj, None, c.num_kv_heads)?;
        let (k, v) = match &self.kv_cache {
            Some((cached_k, cached_v)) => (
                Tensor::cat(&[cached_k, &k], 2)?,
                Tensor::cat(&[cached_v, &v], 2)?,
            ),
            None => (k, v),
        };
        self.kv_cache = Some((k.clone(), v.clone()));
        // Query heads sharing a key/value head are stacked as extra rows
        // against it, rather than copying the cache once per query head.
        let groups = c.num_heads / c.num_kv_heads;
        let total = k.dim(2)?;
        let q = q.reshape((batch, c.num_kv_heads, groups * len, c.head_dim))?;
        let mut scores =
            (q.matmul(&k.t()?)? * c.query_pre_attn_scalar.powf(-0.5))?.to_dtype(DType::F32)?;
        if let Some(cap) = c.attn_logit_softcapping {
            scores = ((scores / cap)?.tanh()? * cap)?;
        }
        if let Some(mask) = mask {
            scores = scores
                .reshape((batch, c.num_kv_heads, groups, len, total))?
                .broadcast_add(mask)?
                .reshape((batch, c.num_kv_heads, groups * len, total))?;
        }
        let probabilities = candle_nn::ops::softmax_last_dim(&scores)?.to_dtype(dtype)?;
        let attended = probabilities
            .matmul(&v)?
            .reshape((batch, c.num_heads, len, c.head_dim))?
            .transpose(1, 2)?
            .reshape((batch, len, c.num_heads * c.head_dim))?;
        let attended = self.o_proj.forward(&attended)?;
        let xs = (residual + self.post_attention_norm.forward(&attended)?)?;

        let normed = self.pre_feedforward_norm.forward(&xs)?;
        let gate = self.gate_proj.forward(&normed)?.gelu()?;
        let hidden = (gate * self.up_proj.forward(&normed)?)?;
        let out = self.down_proj.forward(&hidden)?;
        xs + self.post_feedforward_norm.forward(&out)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visible(mask: &Option<Tensor>, len: usize, total: usize) -> Vec<Vec<bool>> {
        match mask {
            None => vec![vec![true; total]; len],
            Some(mask) => mask
                .to_vec2::<f32>()
                .unwrap()
                .into_iter()
                .map(|row| row.into_iter().map(|v| v == 0.0).collect())
                .collect(),
        }
    }

    #[test]
    fn a_sliding_window_query_sees_the_window_latest_positions_itself_included() {
        // Three new tokens after five cached ones, window of 3.
        let mask = attention_mask(3, 5, Some(3), &Device::Cpu).unwrap();
        let rows = visible(&mask, 3, 8);
        let seen = |row: &Vec<bool>| {
            row.iter()
                .enumerate()
                .filter(|(_, v)| **v)
                .map(|(i, _)| i)
                .collect::<Vec<_>>()
        };
        assert_eq!(seen(&rows[0]), [3, 4, 5]);
        assert_eq!(seen(&rows[1]), [4, 5, 6]);
        assert_eq!(seen(&rows[2]), [5, 6, 7]);
        // Global layers: everything up to the query.
        let rows = visible(&attention_mask(2, 5, None, &Device::Cpu).unwrap(), 2, 7);
        assert_eq!(seen(&rows[0]), (0..=5).collect::<Vec<_>>());
        assert_eq!(seen(&rows[1]), (0..=6).collect::<Vec<_>>());
        // One generated token within reach of everything needs no mask.
        assert!(attention_mask(1, 5, None, &Device::Cpu).unwrap().is_none());
        assert!(attention_mask(1, 2, Some(3), &Device::Cpu)
            .unwrap()
            .is_none());
        assert!(attention_mask(1, 3, Some(3), &Device::Cpu)
            .unwrap()
            .is_some());
    }

    fn hub_config() -> Json {
        // google/gemma-3-4b-it's text_config fields that matter here, in
        // transformers 4's layout.
        serde_json::json!({
            "model_type": "gemma3_text",
            "hidden_size": 2560,
            "intermediate_size": 10240,
            "num_hidden_layers": 34,
            "num_attention_heads": 8,
            "num_key_value_heads": 4,
            "head_dim": 256,
            "vocab_size": 262208,
            "query_pre_attn_scalar": 256,
            "rope_theta": 1000000.0,
            "rope_local_base_freq": 10000.0,
            "rope_scaling": {"factor": 8.0, "rope_type": "linear"},
            "sliding_window": 1024,
            "sliding_window_pattern": 6,
            "hidden_activation": "gelu_pytorch_tanh",
            "final_logit_softcapping": null,
        })
    }

    #[test]
    fn config_reads_the_layer_pattern_and_linear_rope_scaling() {
        let config = Gemma3Config::from_transformers(&hub_config()).unwrap();
        assert_eq!(config.rope_scaling_factor, 8.0);
        assert_eq!(config.rope_local_theta, 10_000.0);
        assert_eq!(config.sliding_layers.len(), 34);
        let global: Vec<usize> = (0..34).filter(|&i| !config.sliding_layers[i]).collect();
        assert_eq!(global, [5, 11, 17, 23, 29]);
        assert_eq!(config.final_logit_softcapping, None);

        // transformers 5's layout says the same with rope_parameters and
        // layer_types.
        let mut v5 = hub_config();
        let map = v5.as_object_mut().unwrap();
        for key in [
            "rope_theta",
            "rope_local_base_freq",
            "rope_scaling",
            "sliding_window_pattern",
        ] {
            map.remove(key);
        }
        map.insert(
            "rope_parameters".into(),
            serde_json::json!({
                "full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0},
                "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
            }),
        );
        let layer_types: Vec<&str> = config
            .sliding_layers
            .iter()
            .map(|&s| {
                if s {
                    "sliding_attention"
                } else {
                    "full_attention"
                }
            })
            .collect();
        map.insert("layer_types".into(), serde_json::json!(layer_types));
        assert_eq!(Gemma3Config::from_transformers(&v5).unwrap(), config);
    }

    #[test]
    fn configs_this_code_would_get_wrong_are_refused() {
        let mut config = hub_config();
        config["rope_scaling"] = serde_json::json!({"rope_type": "yarn", "factor": 8.0});
        let err = Gemma3Config::from_transformers(&config).unwrap_err();
        assert!(err.to_string().contains("yarn"), "{err}");
        let mut config = hub_config();
        config["hidden_activation"] = serde_json::json!("silu");
        assert!(Gemma3Config::from_transformers(&config).is_err());
        let mut config = hub_config();
        config["layer_types"] = serde_json::json!(["full_attention"]);
        assert!(Gemma3Config::from_transformers(&config).is_err());
    }

    /// Side by side on 2 threads: this implementation and candle's
    /// `quantized_gemma3` on one random GGUF of Gemma-3-1B's shape,
    /// quantized as llama.cpp's Q4_K_M mixes it. Run with
    /// `cargo test --release --lib gemma3_speed -- --ignored --nocapture`;
    /// docs/benchmarks.md has the figures.
    #[test]
    #[ignore = "benchmark: minutes, 3 GB of memory"]
    fn gemma3_speed_against_candle_quantized_gemma3() {
        use candle_core::quantized::{GgmlDType, QTensor};
        use candle_transformers::models::quantized_gemma3;
        use std::time::Instant;
        let (vocab, hidden, ffn, layers, heads, kv_heads, head_dim) =
            (262_144, 1152, 6912, 26, 4, 1, 256);
        let device = Device::Cpu;
        let mut names: Vec<(String, Vec<usize>)> = vec![
            ("token_embd.weight".into(), vec![vocab, hidden]),
            ("output_norm.weight".into(), vec![hidden]),
        ];
        for layer in 0..layers {
            let p = format!("blk.{layer}");
            for (name, dims) in [
                ("attn_q", vec![heads * head_dim, hidden]),
                ("attn_k", vec![kv_heads * head_dim, hidden]),
                ("attn_v", vec![kv_heads * head_dim, hidden]),
                ("attn_output", vec![hidden, heads * head_dim]),
                ("ffn_gate", vec![ffn, hidden]),
                ("ffn_up", vec![ffn, hidden]),
                ("ffn_down", vec![hidden, ffn]),
                ("attn_q_norm", vec![head_dim]),
                ("attn_k_norm", vec![head_dim]),
                ("attn_norm", vec![hidden]),
                ("post_attention_norm", vec![hidden]),
                ("ffn_norm", vec![hidden]),
                ("post_ffw_norm", vec![hidden]),
            ] {
                names.push((format!("{p}.{name}.weight"), dims));
            }
        }
        let tensors: Vec<QTensor> = names
            .iter()
            .map(|(name, dims)| {
                let values = Tensor::randn(0f32, 0.02, dims.as_slice(), &device).unwrap();
                // llama.cpp's Q4_K_M for this shape: K-quants need rows of
                // 256, so matrices over the 1152-wide hidden state fall
                // back to Q5_0 and the embedding (Q6_K) to Q8_0.
                let dtype = match dims.as_slice() {
                    [_] => GgmlDType::F32,
                    _ if name == "token_embd.weight" => GgmlDType::Q8_0,
                    [_, columns] if columns % 256 == 0 => GgmlDType::Q4K,
                    _ => GgmlDType::Q5_0,
                };
                QTensor::quantize(
                    &(values + if dims.len() == 1 { 1.0 } else { 0.0 }).unwrap(),
                    dtype,
                )
                .unwrap()
            })
            .collect();
        let u32_value = |v: usize| gguf_file::Value::U32(v as u32);
        let metadata = [
            (
                "general.architecture",
                gguf_file::Value::String("gemma3".into()),
            ),
            ("gemma3.context_length", u32_value(32_768)),
            ("gemma3.embedding_length", u32_value(hidden)),
            ("gemma3.block_count", u32_value(layers)),
            ("gemma3.feed_forward_length", u32_value(ffn)),
            ("gemma3.attention.head_count", u32_value(heads)),
            ("gemma3.attention.head_count_kv", u32_value(kv_heads)),
            ("gemma3.attention.key_length", u32_value(head_dim)),
            ("gemma3.attention.value_length", u32_value(head_dim)),
            ("gemma3.attention.sliding_window", u32_value(512)),
            (
                "gemma3.attention.layer_norm_rms_epsilon",
                gguf_file::Value::F32(1e-6),
            ),
            ("gemma3.rope.freq_base", gguf_file::Value::F32(1_000_000.0)),
        ];
        let file = tempfile::NamedTempFile::new().unwrap();
        {
            let mut writer = std::io::BufWriter::new(file.as_file());
            let metadata: Vec<(&str, &gguf_file::Value)> =
                metadata.iter().map(|(k, v)| (*k, v)).collect();
            let tensors: Vec<(&str, &QTensor)> = names
                .iter()
                .map(|(n, _)| n.as_str())
                .zip(tensors.iter())
                .collect();
            gguf_file::write(&mut writer, &metadata, &tensors).unwrap();
        }
        drop(tensors);
        let (prompt_tokens, generated) = (512, 32);
        let prompt: Vec<u32> = (0..prompt_tokens)
            .map(|i| 1000 + (i as u32 * 7919) % 200_000)
            .collect();
        let argmax = |logits: Tensor| {
            let id = logits.flatten_all().unwrap().argmax(0).unwrap();
            id.to_scalar::<u32>().unwrap()
        };
        let time = |forward: &mut dyn FnMut(&[u32], usize) -> Tensor| {
            let started = Instant::now();
            let logits = forward(&prompt, 0);
            let prompt_seconds = started.elapsed().as_secs_f64();
            let mut next = argmax(logits);
            let started = Instant::now();
            for step in 0..generated {
                let logits = forward(&[next], prompt_tokens + step);
                next = argmax(logits);
            }
            (
                prompt_tokens as f64 / prompt_seconds,
                generated as f64 / started.elapsed().as_secs_f64(),
            )
        };
        let input = |ids: &[u32]| {
            Tensor::new(ids, &Device::Cpu)
                .unwrap()
                .unsqueeze(0)
                .unwrap()
        };
        for round in 1..=2 {
            let weights = Weights::open(
                &crate::models::WeightFiles::Gguf(file.path().to_path_buf()),
                DType::F32,
                &device,
                None,
            )
            .unwrap();
            let mut reader = std::fs::File::open(file.path()).unwrap();
            let content = gguf_file::Content::read(&mut reader).unwrap();
            let config = Gemma3Config::from_gguf(&content.metadata, vocab).unwrap();
            let mut ours = Gemma3::load(config, &weights, TensorNames::Gguf).unwrap();
            let (pp, tg) = time(&mut |ids, position| ours.forward(&input(ids), position).unwrap());
            eprintln!("round {round} anubad gemma3:        prompt {pp:.1} tokens/s, generation {tg:.2} tokens/s");
            drop(ours);
            let mut candle =
                quantized_gemma3::ModelWeights::from_gguf(content, &mut reader, &device).unwrap();
            let (pp, tg) =
                time(&mut |ids, position| candle.forward(&input(ids), position).unwrap());
            eprintln!("round {round} candle quantized_gemma3: prompt {pp:.1} tokens/s, generation {tg:.2} tokens/s");
        }
        eprintln!("threads: {}", candle_core::utils::get_num_threads());
    }
}
