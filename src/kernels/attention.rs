//! Attention for one decoding step (one query per row) as a single pass over
//! each row's keys and values.
//!
//! Written with candle's operations, a step is a broadcast multiply, a sum,
//! a softmax and another multiply and sum: each allocates a tensor, and each
//! of more than 64k elements goes through candle's spinning thread pool,
//! which held the main thread waiting for a fifth of a batch-32 run (and
//! much more when other processes share the cores). Here every (row, head)
//! is done in one go, and rows are shared out by rayon's work stealing.

use candle_core::{Result, Tensor};
use rayon::prelude::*;

#[cfg(target_arch = "x86_64")]
use super::avx512;
use super::cpu_f32;

/// Below this many multiply-adds a step runs on the calling thread.
const PARALLEL_MIN_MACS: usize = 1 << 16;

/// `queries` `[rows, heads, 1, dim]` attend to `keys` and `values`
/// `[sources, heads, len, dim]`, where rows come in groups of `copies`
/// consecutive rows per source (the beams of one sentence; 1 when each row
/// has its own keys). `mask` is additive: `[sources, 1, 1, len]` (padding)
/// or `[1, heads, 1, len]` (T5's position bias). Scores are multiplied by
/// `scale`. Returns `[rows, 1, heads * dim]`.
///
/// `None` when the tensors are not contiguous f32 on the CPU, or the mask
/// has another shape: the caller then takes candle's general path.
pub fn attend_one_position(
    queries: &Tensor,
    keys: &Tensor,
    values: &Tensor,
    mask: Option<&Tensor>,
    copies: usize,
    scale: f32,
) -> Result<Option<Tensor>> {
    let (rows, heads, one, dim) = queries.dims4()?;
    let (sources, key_heads, len, key_dim) = keys.dims4()?;
    if one != 1
        || key_heads != heads
        || key_dim != dim
        || values.dims() != keys.dims()
        || copies == 0
        || rows != sources * copies
    {
        return Ok(None);
    }
    let per_head = match mask.map(Tensor::dims) {
        None => false,
        Some(dims) if dims == [sources, 1, 1, len] => false,
        Some(dims) if dims == [1, heads, 1, len] => true,
        Some(_) => return Ok(None),
    };
    let (q_storage, q_layout) = queries.storage_and_layout();
    let (k_storage, k_layout) = keys.storage_and_layout();
    let (v_storage, v_layout) = values.storage_and_layout();
    let mask_guard = mask.map(|m| m.storage_and_layout());
    let (Some(q), Some(k), Some(v)) = (
        cpu_f32(&q_storage, q_layout),
        cpu_f32(&k_storage, k_layout),
        cpu_f32(&v_storage, v_layout),
    ) else {
        return Ok(None);
    };
    let bias = match &mask_guard {
        Some((storage, layout)) => match cpu_f32(storage, layout) {
            Some(m) if per_head => ScoreBias::PerHead(m),
            Some(m) => ScoreBias::PerSource(m),
            None => return Ok(None),
        },
        None => ScoreBias::None,
    };
    let contiguous = Contiguous {
        keys: k,
        values: v,
        heads,
        len,
        dim,
    };
    let out = attend_one_position_in(q, heads, dim, &contiguous, bias, copies, scale);
    let device = queries.device().clone();
    drop((q_storage, k_storage, v_storage, mask_guard));
    Ok(Some(Tensor::from_vec(
        out,
        (rows, 1, heads * dim),
        &device,
    )?))
}

/// Where the keys and values one query attends to are: `key(source, head,
/// position)` is one `dim`-long key vector, likewise `value`.
pub(crate) trait KeyValues: Sync {
    /// Positions every (source, head) has.
    fn len(&self) -> usize;
    fn key(&self, source: usize, head: usize, position: usize) -> &[f32];
    fn value(&self, source: usize, head: usize, position: usize) -> &[f32];
}

/// Keys and values laid out `[sources, heads, len, dim]`.
struct Contiguous<'a> {
    keys: &'a [f32],
    values: &'a [f32],
    heads: usize,
    len: usize,
    dim: usize,
}

impl KeyValues for Contiguous<'_> {
    fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    fn key(&self, source: usize, head: usize, position: usize) -> &[f32] {
        &self.keys[((source * self.heads + head) * self.len + position) * self.dim..][..self.dim]
    }

    #[inline(always)]
    fn value(&self, source: usize, head: usize, position: usize) -> &[f32] {
        &self.values[((source * self.heads + head) * self.len + position) * self.dim..][..self.dim]
    }
}

/// What is added to the scores before the softmax.
#[derive(Clone, Copy)]
pub(crate) enum ScoreBias<'a> {
    None,
    /// `[sources, len]`: padding.
    PerSource(&'a [f32]),
    /// `[heads, len]`: T5's relative position bias.
    PerHead(&'a [f32]),
}

/// [`attend_one_position`] on slices: `queries` is `[rows, heads, dim]`,
/// rows in groups of `copies` per source of `keys`; returns
/// `[rows, heads * dim]`.
pub(crate) fn attend_one_position_in<K: KeyValues>(
    queries: &[f32],
    heads: usize,
    dim: usize,
    keys: &K,
    bias: ScoreBias,
    copies: usize,
    scale: f32,
) -> Vec<f32> {
    let rows = queries.len() / (heads * dim);
    let shape = Shape {
        heads,
        dim,
        copies,
        scale,
    };
    let mut out = vec![0f32; rows * heads * dim];
    let work = |(row, out): (usize, &mut [f32])| shape.row_fastest(row, queries, keys, bias, out);
    if rows * heads * keys.len() * dim < PARALLEL_MIN_MACS {
        out.chunks_mut(heads * dim).enumerate().for_each(work);
    } else {
        out.par_chunks_mut(heads * dim).enumerate().for_each(work);
    }
    out
}

#[derive(Clone, Copy)]
struct Shape {
    heads: usize,
    dim: usize,
    copies: usize,
    scale: f32,
}

impl Shape {
    /// [`Shape::row`], compiled for AVX-512 where the CPU has it.
    fn row_fastest<K: KeyValues>(
        &self,
        row: usize,
        q: &[f32],
        keys: &K,
        bias: ScoreBias,
        out: &mut [f32],
    ) {
        #[cfg(target_arch = "x86_64")]
        if avx512() {
            // SAFETY: the CPU has AVX-512F.
            return unsafe { self.row_avx512(row, q, keys, bias, out) };
        }
        self.row(row, q, keys, bias, out)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn row_avx512<K: KeyValues>(
        &self,
        row: usize,
        q: &[f32],
        keys: &K,
        bias: ScoreBias,
        out: &mut [f32],
    ) {
        self.row(row, q, keys, bias, out)
    }

    /// Every head of one row, into `out` (`heads * dim`).
    #[inline(always)]
    fn row<K: KeyValues>(&self, row: usize, q: &[f32], keys: &K, bias: ScoreBias, out: &mut [f32]) {
        let Shape {
            heads,
            dim,
            copies,
            scale,
        } = *self;
        let len = keys.len();
        let source = row / copies;
        let mut scores = vec![0f32; len];
        for head in 0..heads {
            let query = &q[(row * heads + head) * dim..][..dim];
            for (j, score) in scores.iter_mut().enumerate() {
                *score = dot(query, keys.key(source, head, j)) * scale;
            }
            let bias = match bias {
                ScoreBias::None => None,
                ScoreBias::PerSource(b) => Some(&b[source * len..][..len]),
                ScoreBias::PerHead(b) => Some(&b[head * len..][..len]),
            };
            if let Some(bias) = bias {
                for (score, b) in scores.iter_mut().zip(bias) {
                    *score += b;
                }
            }
            // As candle's softmax: subtract the maximum, exponentiate,
            // divide by the sum.
            let max = scores.iter().fold(f32::NEG_INFINITY, |m, &s| m.max(s));
            let mut sum = 0f32;
            for score in scores.iter_mut() {
                *score = (*score - max).exp();
                sum += *score;
            }
            let context = &mut out[head * dim..][..dim];
            for (j, &weight) in scores.iter().enumerate() {
                let weight = weight / sum;
                for (c, &value) in context.iter_mut().zip(keys.value(source, head, j)) {
                    *c += weight * value;
                }
            }
        }
    }
}

/// A dot product in 16 independent lanes, which the compiler vectorizes.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let mut lanes = [0f32; LANES];
    let split = a.len() / LANES * LANES;
    for (a, b) in a[..split]
        .chunks_exact(LANES)
        .zip(b[..split].chunks_exact(LANES))
    {
        for l in 0..LANES {
            lanes[l] += a[l] * b[l];
        }
    }
    let mut total: f32 = lanes.iter().sum();
    for (a, b) in a[split..].iter().zip(&b[split..]) {
        total += a * b;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, D};

    fn tensor(dims: &[usize], seed: u32) -> Tensor {
        let count: usize = dims.iter().product();
        let values: Vec<f32> = (0..count)
            .map(|i| {
                ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 500.0 - 1.0
            })
            .collect();
        Tensor::from_vec(values, dims, &Device::Cpu).unwrap()
    }

    /// The same attention with candle's general operations.
    fn reference(
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        mask: &Tensor,
        copies: usize,
        scale: f64,
    ) -> Tensor {
        let (rows, heads, _, dim) = q.dims4().unwrap();
        let index: Vec<u32> = (0..rows as u32).map(|r| r / copies as u32).collect();
        let index = Tensor::new(index.as_slice(), &Device::Cpu).unwrap();
        let k = k.index_select(&index, 0).unwrap();
        let v = v.index_select(&index, 0).unwrap();
        let mask = mask.index_select(&index, 0).unwrap();
        let scores = (q.matmul(&k.t().unwrap()).unwrap() * scale).unwrap();
        let scores = scores.broadcast_add(&mask).unwrap();
        let weights = candle_nn::ops::softmax(&scores, D::Minus1).unwrap();
        weights
            .matmul(&v)
            .unwrap()
            .reshape((rows, 1, heads * dim))
            .unwrap()
    }

    #[test]
    fn one_step_matches_candles_attention_with_padding_and_beams() {
        for (sources, copies, heads, len, dim) in
            [(3, 1, 2, 5, 8), (2, 4, 4, 7, 64), (5, 2, 8, 33, 20)]
        {
            let q = tensor(&[sources * copies, heads, 1, dim], 1);
            let k = tensor(&[sources, heads, len, dim], 2);
            let v = tensor(&[sources, heads, len, dim], 3);
            // Source s has its last s positions masked as padding.
            let mask: Vec<f32> = (0..sources)
                .flat_map(|s| (0..len).map(move |j| if j + s >= len { f32::MIN } else { 0.0 }))
                .collect();
            let mask = Tensor::from_vec(mask, (sources, 1, 1, len), &Device::Cpu).unwrap();
            let scale = (dim as f64).powf(-0.5);
            let got = attend_one_position(&q, &k, &v, Some(&mask), copies, scale as f32)
                .unwrap()
                .expect("f32 CPU tensors take the fused path");
            let expected = reference(&q, &k, &v, &mask, copies, scale);
            let diff = (got - expected)
                .unwrap()
                .abs()
                .unwrap()
                .max_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(diff < 1e-5, "max difference {diff}");
        }
    }

    #[test]
    fn one_step_matches_candles_attention_with_a_position_bias_per_head() {
        let (rows, heads, len, dim) = (3, 4, 9, 16);
        let q = tensor(&[rows, heads, 1, dim], 1);
        let k = tensor(&[rows, heads, len, dim], 2);
        let v = tensor(&[rows, heads, len, dim], 3);
        let bias = tensor(&[1, heads, 1, len], 4);
        let got = attend_one_position(&q, &k, &v, Some(&bias), 1, 1.0)
            .unwrap()
            .expect("a per-head bias takes the fused path");
        let scores = q
            .matmul(&k.t().unwrap())
            .unwrap()
            .broadcast_add(&bias)
            .unwrap();
        let weights = candle_nn::ops::softmax(&scores, D::Minus1).unwrap();
        let expected = weights
            .matmul(&v)
            .unwrap()
            .reshape((rows, 1, heads * dim))
            .unwrap();
        let diff = (got - expected)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(diff < 1e-5, "max difference {diff}");
    }

    #[test]
    fn other_mask_shapes_are_left_to_candle() {
        let q = tensor(&[2, 2, 1, 4], 1);
        let k = tensor(&[2, 2, 3, 4], 2);
        let per_row_and_head = tensor(&[2, 2, 1, 3], 3);
        assert!(
            attend_one_position(&q, &k, &k, Some(&per_row_and_head), 1, 1.0)
                .unwrap()
                .is_none()
        );
    }
}
