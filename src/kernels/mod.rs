//! Hot paths the project owns because candle is slow on them: linear layers
//! with weights laid out once at load (f32 for AVX-512, and the int8 layers
//! behind `--quantize int8`), attention for a decoding step, and the
//! log-softmax of beam search.
//!
//! The linear kernels split their work the same way: tasks of up to
//! [`task_rows`] rows × one tile of [`TILE_CHANNELS`] output channels, many
//! more tasks than threads, handed out by rayon's work stealing. A thread
//! the OS preempts (another process on the cores) leaves its share to the
//! others instead of holding them at a barrier.

pub mod attention;
pub mod dense;
pub mod int8;
pub mod softmax;

use rayon::prelude::*;

/// Output channels per tile: four 16-lane registers.
pub(crate) const TILE_CHANNELS: usize = 64;
/// Rows one task takes when rows must be split to keep the threads busy
/// (few tiles, many rows: an encoder): enough to reuse a tile's weights many
/// times, few enough that the rows stay in cache.
const TASK_ROWS: usize = 48;
/// Rows one task takes at most when the tiles alone give every thread
/// plenty of tasks (a vocabulary-wide output layer): each tile's weights are
/// then read from memory once per call, not once per 48 rows.
pub(crate) const MAX_TASK_ROWS: usize = 240;

/// How many rows each task of a `rows` × `tiles` matmul takes.
pub(crate) fn task_rows(rows: usize, tiles: usize) -> usize {
    if tiles >= 8 * rayon::current_num_threads() {
        rows.clamp(1, MAX_TASK_ROWS)
    } else {
        TASK_ROWS
    }
}
/// Below this many multiply-adds a matmul runs on the calling thread: the
/// work would take less time than waking the pool.
const PARALLEL_MIN_MACS: usize = 1 << 20;

/// Runs `task(0..tasks)`, spread over the pool when `macs` is worth it.
pub(crate) fn for_each_task(tasks: usize, macs: usize, task: impl Fn(usize) + Sync + Send) {
    if macs < PARALLEL_MIN_MACS {
        (0..tasks).for_each(task);
    } else {
        (0..tasks).into_par_iter().for_each(task);
    }
}

/// An activation applied to a linear layer's output while it is still in
/// cache, instead of as another pass over memory (and, for SiLU, with the
/// vectorized `exp` rather than the C library's, one value at a time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Epilogue {
    Identity,
    Relu,
    /// `x · sigmoid(x)` (Marian's "swish").
    Silu,
}

impl Epilogue {
    /// The epilogue for a candle activation, if there is one.
    pub fn for_activation(activation: candle_nn::Activation) -> Option<Self> {
        match activation {
            candle_nn::Activation::Relu => Some(Epilogue::Relu),
            candle_nn::Activation::Silu | candle_nn::Activation::Swish => Some(Epilogue::Silu),
            _ => None,
        }
    }

    #[inline(always)]
    pub(crate) fn apply(self, values: &mut [f32]) {
        match self {
            Epilogue::Identity => {}
            Epilogue::Relu => values.iter_mut().for_each(|v| *v = v.max(0.0)),
            // As candle's silu: x / (1 + exp(-x)).
            Epilogue::Silu => values
                .iter_mut()
                .for_each(|v| *v = *v / (1.0 + softmax::exp(-*v))),
        }
    }
}

/// Whether the CPU has AVX-512F, asked once.
#[cfg(target_arch = "x86_64")]
pub(crate) fn avx512() -> bool {
    static AVX512: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVX512.get_or_init(|| is_x86_feature_detected!("avx512f"))
}

/// The values of a contiguous f32 CPU tensor's storage, read in place.
pub(crate) fn cpu_f32<'a>(
    storage: &'a candle_core::Storage,
    layout: &candle_core::Layout,
) -> Option<&'a [f32]> {
    match storage {
        candle_core::Storage::Cpu(candle_core::CpuStorage::F32(values)) => {
            let (start, end) = layout.contiguous_offsets()?;
            Some(&values[start..end])
        }
        _ => None,
    }
}

/// `a + b` for the residual stream. candle sends an elementwise operation
/// of 64k values or more (a batch of 128 beams × 512) to its own thread
/// pool, whose caller spins until the worker is done: 14% of a beam-search
/// run, more on a busy machine. The sum is the same wherever it is taken, so
/// contiguous f32 CPU tensors are added here, on the calling thread.
pub(crate) fn residual_add(
    a: &candle_core::Tensor,
    b: &candle_core::Tensor,
) -> candle_core::Result<candle_core::Tensor> {
    if a.dims() == b.dims() {
        let (a_storage, a_layout) = a.storage_and_layout();
        let (b_storage, b_layout) = b.storage_and_layout();
        if let (Some(x), Some(y)) = (cpu_f32(&a_storage, a_layout), cpu_f32(&b_storage, b_layout)) {
            let sum: Vec<f32> = x.iter().zip(y).map(|(x, y)| x + y).collect();
            return candle_core::Tensor::from_vec(sum, a.dims(), a.device());
        }
    }
    a + b
}

/// A raw output pointer that tasks writing disjoint parts may share.
pub(crate) struct SendPtr(pub(crate) *mut f32);
// SAFETY: only used for disjoint writes while the owner waits for the tasks.
unsafe impl Sync for SendPtr {}
unsafe impl Send for SendPtr {}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor};

    #[test]
    fn residual_add_is_candles_sum_for_any_layout() {
        let a = Tensor::arange(0f32, 24.0, &Device::Cpu)
            .unwrap()
            .reshape((2, 3, 4))
            .unwrap();
        let b = (Tensor::arange(0f32, 24.0, &Device::Cpu)
            .unwrap()
            .reshape((2, 3, 4))
            .unwrap()
            * 0.5)
            .unwrap();
        let want = (&a + &b).unwrap();
        let got = super::residual_add(&a, &b).unwrap();
        assert_eq!(got.dims(), &[2, 3, 4]);
        assert_eq!(
            got.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            want.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        );
        // A transposed (non-contiguous) operand takes candle's path.
        let t = a.transpose(1, 2).unwrap();
        let u = b.transpose(1, 2).unwrap();
        let got = super::residual_add(&t, &u).unwrap();
        let want = (&t + &u).unwrap();
        assert_eq!(
            got.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            want.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        );
    }
}
