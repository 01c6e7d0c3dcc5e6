//! Hot paths the project owns because candle is slow on them: linear layers
//! with weights laid out once at load (f32 for AVX-512, and the int8 layers
//! behind `--quantize int8`), attention for a decoding step, and the
//! log-softmax of beam search.
//!
//! The linear kernels split their work the same way: tasks of up to
//! [`TASK_ROWS`] rows × one tile of [`TILE_CHANNELS`] output channels, many
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
/// Rows one task takes: enough to reuse a tile's weights many times, few
/// enough that the rows stay in cache.
pub(crate) const TASK_ROWS: usize = 48;
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

/// A raw output pointer that tasks writing disjoint parts may share.
pub(crate) struct SendPtr(pub(crate) *mut f32);
// SAFETY: only used for disjoint writes while the owner waits for the tasks.
unsafe impl Sync for SendPtr {}
unsafe impl Send for SendPtr {}
