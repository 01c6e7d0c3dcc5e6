//! Qwen2 and Qwen2.5 from a GGUF file, with a KV cache the caller can cut
//! back to a prefix.
//!
//! candle's `quantized_qwen2` computes the same network, but keeps its KV
//! cache private and can only drop it whole. A summarizer or chat
//! translator sends prompts that start alike (the same instructions and
//! examples before each paragraph; the same article before a retry), so
//! [`Qwen2::keep_kv`] keeps the cached positions a new prompt shares and
//! only the rest is fed. Each position's keys and values depend only on the
//! positions before it, so the logits are those of feeding the whole prompt.

use candle_core::quantized::{gguf_file, QMatMul};
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::Embedding;
use candle_transformers::quantized_nn::RmsNorm;
use candle_transformers::utils::{build_causal_mask, repeat_kv};

use super::BoxError;
use crate::tokenize::gguf::metadata_uint;

struct Layer {
    attention_norm: RmsNorm,
    q: QMatMul,
    k: QMatMul,
    v: QMatMul,
    q_bias: Tensor,
    k_bias: Tensor,
    v_bias: Tensor,
    output: QMatMul,
    ffn_norm: RmsNorm,
    gate: QMatMul,
    up: QMatMul,
    down: QMatMul,
    /// Keys and values of the positions fed so far, `(1, kv_heads, positions, head_dim)`.
    kv_cache: Option<(Tensor, Tensor)>,
}

/// A Qwen2 network whose weights stay quantized as the GGUF file has them.
pub(crate) struct Qwen2 {
    embeddings: Embedding,
    layers: Vec<Layer>,
    norm: RmsNorm,
    lm_head: QMatMul,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
    cos: Tensor,
    sin: Tensor,
}

impl Qwen2 {
    pub(crate) fn from_gguf<R: std::io::Seek + std::io::Read>(
        content: &gguf_file::Content,
        reader: &mut R,
        device: &Device,
    ) -> Result<Self, BoxError> {
        let metadata = &content.metadata;
        let uint = |key: &str| {
            metadata_uint(metadata, &format!("qwen2.{key}"))
                .ok_or_else(|| format!("no qwen2.{key} in the GGUF metadata"))
        };
        let float = |key: &str, default: f32| {
            metadata
                .get(&format!("qwen2.{key}"))
                .and_then(|v| v.to_f32().ok())
                .unwrap_or(default)
        };
        let heads = uint("attention.head_count")?;
        let kv_heads = uint("attention.head_count_kv")?;
        let embedding = uint("embedding_length")?;
        let context = uint("context_length")?;
        let blocks = uint("block_count")?;
        let eps = metadata
            .get("qwen2.attention.layer_norm_rms_epsilon")
            .ok_or("no qwen2.attention.layer_norm_rms_epsilon in the GGUF metadata")?
            .to_f32()? as f64;
        let rope_base = float("rope.freq_base", 10_000.0);
        let head_dim = embedding / heads;
        let mut tensor = |name: &str| content.tensor(reader, name, device);
        let embeddings = tensor("token_embd.weight")?.dequantize(device)?;
        let norm = RmsNorm::from_qtensor(tensor("output_norm.weight")?, eps)?;
        // Without an output matrix the head is tied to the embeddings.
        let lm_head = match tensor("output.weight") {
            Ok(head) => QMatMul::from_qtensor(head)?,
            Err(_) => QMatMul::from_qtensor(tensor("token_embd.weight")?)?,
        };
        let mut layers = Vec::with_capacity(blocks);
        for index in 0..blocks {
            let mut weight = |name: &str| tensor(&format!("blk.{index}.{name}"));
            let mut matmul = |name: &str| -> candle_core::Result<QMatMul> {
                QMatMul::from_qtensor(weight(name)?)
            };
            let q = matmul("attn_q.weight")?;
            let k = matmul("attn_k.weight")?;
            let v = matmul("attn_v.weight")?;
            let output = matmul("attn_output.weight")?;
            let gate = matmul("ffn_gate.weight")?;
            let up = matmul("ffn_up.weight")?;
            let down = matmul("ffn_down.weight")?;
            let mut dense = |name: &str| weight(name)?.dequantize(device);
            layers.push(Layer {
                q_bias: dense("attn_q.bias")?,
                k_bias: dense("attn_k.bias")?,
                v_bias: dense("attn_v.bias")?,
                attention_norm: RmsNorm::from_qtensor(weight("attn_norm.weight")?, eps)?,
                ffn_norm: RmsNorm::from_qtensor(weight("ffn_norm.weight")?, eps)?,
                q,
                k,
                v,
                output,
                gate,
                up,
                down,
                kv_cache: None,
            });
        }
        let (cos, sin) = rotary_tables(head_dim, rope_base, context, device)?;
        Ok(Self {
            embeddings: Embedding::new(embeddings, embedding),
            layers,
            norm,
            lm_head,
            heads,
            kv_heads,
            head_dim,
            cos,
            sin,
        })
    }

    /// Positions in the KV cache.
    pub(crate) fn cached_positions(&self) -> usize {
        self.layers
            .first()
            .and_then(|layer| layer.kv_cache.as_ref())
            .map_or(0, |(k, _)| k.dims()[2])
    }

    pub(crate) fn clear_kv_cache(&mut self) {
        for layer in &mut self.layers {
            layer.kv_cache = None;
        }
    }

    /// Keeps the first `positions` of the KV cache and drops the rest.
    pub(crate) fn keep_kv(&mut self, positions: usize) -> candle_core::Result<()> {
        if positions == 0 {
            self.clear_kv_cache();
            return Ok(());
        }
        for layer in &mut self.layers {
            if let Some((k, v)) = &layer.kv_cache {
                let keep = positions.min(k.dims()[2]);
                layer.kv_cache = Some((k.narrow(2, 0, keep)?, v.narrow(2, 0, keep)?));
            }
        }
        Ok(())
    }

    /// The logits of the last of `input` (`(1, tokens)`), fed at `position`
    /// onwards after the `position` tokens the cache holds.
    pub(crate) fn forward(
        &mut self,
        input: &Tensor,
        position: usize,
    ) -> candle_core::Result<Tensor> {
        let (_, tokens) = input.dims2()?;
        if position != self.cached_positions() {
            candle_core::bail!(
                "fed at position {position} with {} positions cached",
                self.cached_positions()
            );
        }
        let mask = (tokens > 1)
            .then(|| build_causal_mask(tokens, position, input.device()))
            .transpose()?;
        let cos = self.cos.narrow(0, position, tokens)?;
        let sin = self.sin.narrow(0, position, tokens)?;
        let mut hidden = self.embeddings.forward(input)?;
        for layer in &mut self.layers {
            let attended = layer.attend(
                &layer.attention_norm.forward(&hidden)?,
                mask.as_ref(),
                (&cos, &sin),
                (self.heads, self.kv_heads, self.head_dim),
            )?;
            hidden = (attended + &hidden)?;
            let normed = layer.ffn_norm.forward(&hidden)?;
            let gated = (candle_nn::ops::silu(&layer.gate.forward(&normed)?)?
                * layer.up.forward(&normed)?)?;
            hidden = (layer.down.forward(&gated)? + &hidden)?;
        }
        let last = self
            .norm
            .forward(&hidden)?
            .narrow(1, tokens - 1, 1)?
            .squeeze(1)?;
        self.lm_head.forward(&last)
    }
}

impl Layer {
    fn attend(
        &mut self,
        x: &Tensor,
        mask: Option<&Tensor>,
        (cos, sin): (&Tensor, &Tensor),
        (heads, kv_heads, head_dim): (usize, usize, usize),
    ) -> candle_core::Result<Tensor> {
        let (batch, tokens, width) = x.dims3()?;
        let split = |projected: Tensor, count: usize| {
            projected
                .reshape((batch, tokens, count, head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        let q = split(self.q.forward(x)?.broadcast_add(&self.q_bias)?, heads)?;
        let k = split(self.k.forward(x)?.broadcast_add(&self.k_bias)?, kv_heads)?;
        let v = split(self.v.forward(x)?.broadcast_add(&self.v_bias)?, kv_heads)?;
        let q = candle_nn::rotary_emb::rope(&q, cos, sin)?;
        let k = candle_nn::rotary_emb::rope(&k, cos, sin)?;
        let (k, v) = match &self.kv_cache {
            Some((cached_k, cached_v)) => (
                Tensor::cat(&[cached_k, &k], 2)?,
                Tensor::cat(&[cached_v, &v], 2)?,
            ),
            None => (k, v),
        };
        self.kv_cache = Some((k.clone(), v.clone()));
        let k = repeat_kv(k, heads / kv_heads)?;
        let v = repeat_kv(v, heads / kv_heads)?;
        let scores = (q.matmul(&k.t()?)? / (head_dim as f64).sqrt())?;
        let scores = match mask {
            None => scores,
            Some(mask) => {
                let mask = mask.broadcast_as(scores.shape())?;
                let minus_infinity = Tensor::new(f32::NEG_INFINITY, scores.device())?
                    .broadcast_as(scores.shape())?;
                mask.where_cond(&minus_infinity, &scores)?
            }
        };
        let weights = candle_nn::ops::softmax_last_dim(&scores)?;
        let attended = weights.matmul(&v.contiguous()?)?;
        let attended = attended.transpose(1, 2)?.reshape((batch, tokens, width))?;
        self.output.forward(&attended)
    }
}

/// RoPE's cosine and sine tables for every position of the context.
fn rotary_tables(
    head_dim: usize,
    base: f32,
    context: usize,
    device: &Device,
) -> candle_core::Result<(Tensor, Tensor)> {
    let inverse_frequencies: Vec<f32> = (0..head_dim)
        .step_by(2)
        .map(|i| 1.0 / base.powf(i as f32 / head_dim as f32))
        .collect();
    let inverse_frequencies = Tensor::new(inverse_frequencies.as_slice(), device)?;
    let angles = Tensor::arange(0, context as u32, device)?
        .to_dtype(DType::F32)?
        .reshape((context, 1))?
        .matmul(&inverse_frequencies.reshape((1, head_dim / 2))?)?;
    Ok((angles.cos()?, angles.sin()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_transformers::models::quantized_qwen2;

    fn chat_tiny() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/chat-tiny/model.gguf")
    }

    fn load_both() -> (Qwen2, quantized_qwen2::ModelWeights) {
        let path = chat_tiny();
        let mut file = std::fs::File::open(&path).unwrap();
        let content = gguf_file::Content::read(&mut file).unwrap();
        let ours = Qwen2::from_gguf(&content, &mut file, &Device::Cpu).unwrap();
        let mut file = std::fs::File::open(&path).unwrap();
        let content = gguf_file::Content::read(&mut file).unwrap();
        let candles =
            quantized_qwen2::ModelWeights::from_gguf(content, &mut file, &Device::Cpu).unwrap();
        (ours, candles)
    }

    fn values(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1().unwrap()
    }

    #[test]
    fn computes_what_candles_qwen2_computes() {
        let (mut ours, mut candles) = load_both();
        let prompt: Vec<u32> = (0..37).map(|i| (i * 7 + 3) % 200).collect();
        let input = Tensor::new(prompt.as_slice(), &Device::Cpu)
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        assert_eq!(
            values(&ours.forward(&input, 0).unwrap()),
            values(&candles.forward(&input, 0).unwrap())
        );
        for (step, token) in [5u32, 17, 99].into_iter().enumerate() {
            let input = Tensor::new(&[token], &Device::Cpu)
                .unwrap()
                .unsqueeze(0)
                .unwrap();
            let position = prompt.len() + step;
            assert_eq!(
                values(&ours.forward(&input, position).unwrap()),
                values(&candles.forward(&input, position).unwrap()),
                "step {step}"
            );
        }
    }

    #[test]
    fn a_kept_prefix_gives_the_logits_of_feeding_the_whole_prompt() {
        let (mut ours, _) = load_both();
        let tokens = |ids: &[u32]| {
            Tensor::new(ids, &Device::Cpu)
                .unwrap()
                .unsqueeze(0)
                .unwrap()
        };
        let shared: Vec<u32> = (0..30).map(|i| (i * 5 + 1) % 200).collect();
        let first: Vec<u32> = shared.iter().copied().chain([11, 12, 13]).collect();
        let second: Vec<u32> = shared.iter().copied().chain([40, 41]).collect();
        let whole = values(&ours.forward(&tokens(&second), 0).unwrap());
        ours.clear_kv_cache();
        ours.forward(&tokens(&first), 0).unwrap();
        assert_eq!(ours.cached_positions(), first.len());
        ours.keep_kv(shared.len()).unwrap();
        assert_eq!(ours.cached_positions(), shared.len());
        let reused = values(
            &ours
                .forward(&tokens(&second[shared.len()..]), shared.len())
                .unwrap(),
        );
        let largest_difference = whole
            .iter()
            .zip(&reused)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(largest_difference < 1e-5, "{largest_difference}");
        // Feeding at a position the cache does not hold is refused.
        assert!(ours.forward(&tokens(&[1]), 3).is_err());
    }
}
