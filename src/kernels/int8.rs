//! int8 linear layers, computed as CTranslate2 computes them on x86
//! ("int8_float32"): weights quantized per output channel once, when the
//! model loads; activations quantized per row on the fly; products summed
//! exactly in int32; scales, bias and everything around the layer in f32.
//!
//! candle's own 8-bit path (GGML's Q8_0) keeps a scale per 32 weights and
//! does not use VNNI on x86, so at batch 32 it is slower than candle's f32.
//! Here the whole reduction runs in integers, four byte products per lane
//! per instruction (`vpdpbusd`) where the CPU has VNNI.
//!
//! Every kernel computes the same int32 sums, so the output does not depend
//! on which kernel the CPU picks: the tests hold each one to the portable
//! kernel bit for bit.

use std::sync::OnceLock;

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

#[cfg(target_arch = "x86_64")]
use super::avx512;
use super::{cpu_f32, for_each_task, task_rows, Epilogue, SendPtr, TILE_CHANNELS};

/// Output channels in one block: one 512-bit register of int32 sums.
const BLOCK: usize = 16;
/// Input values summed by one VNNI lane: four byte products.
const GROUP: usize = 4;
/// Blocks in one tile, the columns a micro-kernel call covers.
const TILE_BLOCKS: usize = TILE_CHANNELS / BLOCK;
/// Bytes of packed weights per tile and group: 64 channels × 4 inputs.
const TILE_GROUP_BYTES: usize = TILE_CHANNELS * GROUP;
/// Values below which quantizing activations stays on the calling thread.
const PARALLEL_MIN_VALUES: usize = 1 << 16;
/// Activation quantization puts values in -127..=127; the VNNI instruction
/// wants unsigned bytes, so they are stored shifted by 128.
const ACTIVATION_OFFSET: i32 = 128;

/// The implementations of the int32 sums, fastest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// AMX tiles (`tdpbusd`, Intel Xeon since Sapphire Rapids) for every 16
    /// rows, 512-bit `vpdpbusd` for the rest.
    Amx,
    /// 512-bit `vpdpbusd` (Intel since Ice Lake / Cascade Lake, AMD Zen 4).
    Avx512Vnni,
    /// 256-bit `vpdpbusd` (Intel Alder Lake and later laptops and desktops).
    AvxVnni,
    /// Plain AVX2 (older Intel, AMD Zen 1–3), 16-bit products.
    Avx2,
    /// Any CPU.
    Portable,
}

impl Kernel {
    /// The best kernel this CPU runs, decided once.
    pub fn detect() -> Kernel {
        static DETECTED: OnceLock<Kernel> = OnceLock::new();
        *DETECTED.get_or_init(|| {
            Kernel::all()
                .into_iter()
                .find(|k| k.available())
                .unwrap_or(Kernel::Portable)
        })
    }

    pub fn all() -> [Kernel; 5] {
        [
            Kernel::Amx,
            Kernel::Avx512Vnni,
            Kernel::AvxVnni,
            Kernel::Avx2,
            Kernel::Portable,
        ]
    }

    /// Whether this CPU can run the kernel.
    pub fn available(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            match self {
                Kernel::Amx => Kernel::Avx512Vnni.available() && x86::amx_enabled(),
                Kernel::Avx512Vnni => {
                    is_x86_feature_detected!("avx512f")
                        && is_x86_feature_detected!("avx512bw")
                        && is_x86_feature_detected!("avx512vnni")
                }
                Kernel::AvxVnni => {
                    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("avxvnni")
                }
                Kernel::Avx2 => is_x86_feature_detected!("avx2"),
                Kernel::Portable => true,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self == Kernel::Portable
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Amx => "amx",
            Kernel::Avx512Vnni => "avx512-vnni",
            Kernel::AvxVnni => "avx-vnni",
            Kernel::Avx2 => "avx2",
            Kernel::Portable => "portable",
        }
    }
}

/// A weight matrix `[out, in]` in int8 with one f32 scale per output channel,
/// packed for the kernels: per tile of 64 channels, per group of 4 inputs,
/// the 64 channels' 4 bytes side by side, so that one 64-byte load gives 16
/// channels' next four weights. Channels are padded to whole tiles and
/// inputs to whole groups with zeros.
#[derive(Debug)]
pub struct Int8Matrix {
    out_features: usize,
    in_features: usize,
    groups: usize,
    tiles: usize,
    packed: Vec<i8>,
    /// Per (padded) channel: what one int8 step is worth in f32.
    scales: Vec<f32>,
    /// Per (padded) channel: the sum of its int8 weights, to take the
    /// activation offset back out of VNNI's unsigned products.
    sums: Vec<i32>,
}

impl Int8Matrix {
    /// Quantizes `weight`, row-major `[out_features, in_features]`: each row
    /// scaled so that its largest magnitude becomes 127.
    pub fn quantize(weight: &[f32], out_features: usize, in_features: usize) -> Self {
        assert_eq!(weight.len(), out_features * in_features);
        let mut matrix = Self::zeros(out_features, in_features);
        matrix.quantize_rows(0, weight);
        matrix
    }

    /// A matrix of zeros, to be filled by [`Self::quantize_rows`].
    pub fn zeros(out_features: usize, in_features: usize) -> Self {
        let groups = in_features.div_ceil(GROUP);
        let tiles = out_features.div_ceil(TILE_CHANNELS);
        let padded = tiles * TILE_CHANNELS;
        Self {
            out_features,
            in_features,
            groups,
            tiles,
            packed: vec![0i8; tiles * groups * TILE_GROUP_BYTES],
            scales: vec![0f32; padded],
            sums: vec![0i32; padded],
        }
    }

    /// Quantizes `weight`'s rows (row-major, `in_features` wide) as the
    /// rows from `first` on, as [`Self::quantize`] would: a large table can
    /// then be read and quantized a slice at a time. `first` is a multiple
    /// of the tile width (64).
    pub fn quantize_rows(&mut self, first: usize, weight: &[f32]) {
        let width = self.in_features.max(1);
        let rows = weight.len() / width;
        assert!(first.is_multiple_of(TILE_CHANNELS) && weight.len() == rows * width);
        assert!(first + rows <= self.out_features, "rows past the matrix");
        let tile_bytes = (self.groups * TILE_GROUP_BYTES).max(1);
        let first_tile = first / TILE_CHANNELS;
        // Tile by tile in parallel: NLLB's output head alone is 256k rows.
        self.packed[first_tile * tile_bytes..]
            .par_chunks_mut(tile_bytes)
            .zip(self.scales[first..].par_chunks_mut(TILE_CHANNELS))
            .zip(self.sums[first..].par_chunks_mut(TILE_CHANNELS))
            .zip(weight.par_chunks(TILE_CHANNELS * width))
            .for_each(|(((packed, scales), sums), rows)| {
                for (lane, row) in rows.chunks_exact(width).enumerate() {
                    let (quantized, scale) = quantize_row(row);
                    scales[lane] = scale;
                    sums[lane] = quantized.iter().map(|&q| q as i32).sum();
                    for (input, &q) in quantized.iter().enumerate() {
                        let (group, within) = (input / GROUP, input % GROUP);
                        packed[group * TILE_GROUP_BYTES + lane * GROUP + within] = q;
                    }
                }
            });
    }

    /// Quantizes a `[out, in]` tensor of any float dtype.
    pub fn from_tensor(weight: &Tensor) -> Result<Self> {
        let (out_features, in_features) = weight.dims2()?;
        with_f32_values(weight, |values| {
            Self::quantize(values, out_features, in_features)
        })
    }

    pub fn out_features(&self) -> usize {
        self.out_features
    }

    pub fn in_features(&self) -> usize {
        self.in_features
    }

    /// Bytes held: what the layer costs in memory.
    pub fn bytes(&self) -> usize {
        self.packed.len() + 8 * self.scales.len()
    }

    /// `out[m, n] = Σ_k x[m, k] · w[n, k] + bias[n]` for `rows` rows of `x`
    /// (row-major, `in_features` wide), with the given kernel.
    pub fn matmul_with(
        &self,
        kernel: Kernel,
        x: &[f32],
        rows: usize,
        bias: Option<&[f32]>,
        epilogue: Epilogue,
    ) -> Vec<f32> {
        assert!(
            kernel.available(),
            "{} is not available here",
            kernel.name()
        );
        assert_eq!(x.len(), rows * self.in_features);
        let activations = QuantizedRows::new(x, rows, self.in_features, self.groups);
        // Every value is written by exactly one task before `set_len`.
        let mut out = Vec::<f32>::with_capacity(rows * self.out_features);
        let task_rows = task_rows(rows, self.tiles);
        let row_tasks = rows.div_ceil(task_rows);
        let tasks = row_tasks * self.tiles;
        let out_ptr = SendPtr(out.as_mut_ptr());
        let run = |task: usize| {
            let (row_task, tile) = (task / self.tiles, task % self.tiles);
            let first = row_task * task_rows;
            let count = task_rows.min(rows - first);
            TILE_SUMS.with_borrow_mut(|sums| {
                self.tile_sums(kernel, &activations, first, count, tile, sums);
                // SAFETY: each task writes its own rows × its own tile's
                // columns, which no other task touches; `out` outlives the
                // parallel loop.
                unsafe {
                    self.write_tile(
                        &out_ptr,
                        &activations,
                        first,
                        count,
                        tile,
                        sums,
                        (bias, epilogue),
                    )
                };
            });
        };
        for_each_task(tasks, rows * self.in_features * self.out_features, run);
        // SAFETY: the tasks covered every row × every tile's real columns.
        unsafe { out.set_len(rows * self.out_features) };
        out
    }

    /// The exact int32 sums `Σ_k qx[m, k] · qw[n, k]` of `count` rows from
    /// `first`, for the 64 channels of `tile`, into `sums` (`count` × 64).
    fn tile_sums(
        &self,
        kernel: Kernel,
        activations: &QuantizedRows,
        first: usize,
        count: usize,
        tile: usize,
        sums: &mut [i32],
    ) {
        let weights =
            &self.packed[tile * self.groups * TILE_GROUP_BYTES..][..self.groups * TILE_GROUP_BYTES];
        let channel_sums = &self.sums[tile * TILE_CHANNELS..][..TILE_CHANNELS];
        let rows = &activations.data[first * activations.stride..][..count * activations.stride];
        let tile = TileArgs {
            weights,
            channel_sums,
            rows,
            stride: activations.stride,
            groups: self.groups,
        };
        match kernel {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `matmul_with` checked that the CPU has the features
            // (and, for AMX, that the OS let this process use the tiles).
            Kernel::Amx => unsafe { x86::tile_amx(&tile, count, sums) },
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni => unsafe { x86::tile_avx512_vnni(&tile, count, sums) },
            #[cfg(target_arch = "x86_64")]
            Kernel::AvxVnni => unsafe { x86::tile_avx_vnni(&tile, count, sums) },
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => unsafe { x86::tile_avx2(&tile, count, sums) },
            _ => tile_portable(&tile, count, sums),
        }
    }

    /// Scales a tile's int32 sums back to f32 and adds the bias; the one
    /// place this arithmetic happens, so every kernel's output is the same
    /// (compiled for AVX-512 where the CPU has it; the compiler vectorizes
    /// the same IEEE operations, so the values do not change).
    #[allow(clippy::too_many_arguments)]
    unsafe fn write_tile(
        &self,
        out: &SendPtr,
        activations: &QuantizedRows,
        first: usize,
        count: usize,
        tile: usize,
        sums: &[i32],
        (bias, epilogue): (Option<&[f32]>, Epilogue),
    ) {
        #[cfg(target_arch = "x86_64")]
        if avx512() {
            // SAFETY: the CPU has AVX-512F; the rest as for `write_tile_any`.
            return unsafe {
                self.write_tile_avx512(out, activations, first, count, tile, sums, (bias, epilogue))
            };
        }
        // SAFETY: as the caller's.
        unsafe { self.write_tile_any(out, activations, first, count, tile, sums, (bias, epilogue)) }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn write_tile_avx512(
        &self,
        out: &SendPtr,
        activations: &QuantizedRows,
        first: usize,
        count: usize,
        tile: usize,
        sums: &[i32],
        (bias, epilogue): (Option<&[f32]>, Epilogue),
    ) {
        // SAFETY: as the caller's.
        unsafe { self.write_tile_any(out, activations, first, count, tile, sums, (bias, epilogue)) }
    }

    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn write_tile_any(
        &self,
        out: &SendPtr,
        activations: &QuantizedRows,
        first: usize,
        count: usize,
        tile: usize,
        sums: &[i32],
        (bias, epilogue): (Option<&[f32]>, Epilogue),
    ) {
        let start = tile * TILE_CHANNELS;
        let width = TILE_CHANNELS.min(self.out_features - start);
        let scales = &self.scales[start..start + width];
        for r in 0..count {
            let row = first + r;
            let row_scale = activations.scales[row];
            // SAFETY: see `matmul_with`.
            let out_row = unsafe {
                std::slice::from_raw_parts_mut(out.0.add(row * self.out_features + start), width)
            };
            let row_sums = &sums[r * TILE_CHANNELS..][..width];
            match bias {
                Some(bias) => {
                    let bias = &bias[start..start + width];
                    for c in 0..width {
                        out_row[c] = row_sums[c] as f32 * (row_scale * scales[c]) + bias[c];
                    }
                }
                None => {
                    for c in 0..width {
                        out_row[c] = row_sums[c] as f32 * (row_scale * scales[c]);
                    }
                }
            }
            epilogue.apply(out_row);
        }
    }
}

/// Runs `f` on the values of `tensor` as f32: in place when it is a
/// contiguous f32 CPU tensor (an embedding table can be a gigabyte; a copy
/// would double the peak while loading), else on a converted copy.
fn with_f32_values<R>(tensor: &Tensor, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    {
        let (storage, layout) = tensor.storage_and_layout();
        if let Some(values) = cpu_f32(&storage, layout) {
            return Ok(f(values));
        }
    }
    let values = tensor
        .to_dtype(candle_core::DType::F32)?
        .flatten_all()?
        .to_vec1::<f32>()?;
    Ok(f(&values))
}

/// A table of rows (token embeddings) in int8 with one scale per row,
/// looked up row by row: a quarter of the f32 table's memory, as
/// CTranslate2's int8 keeps embeddings.
#[derive(Debug)]
pub struct Int8Rows {
    table: RowTable,
    rows: usize,
    width: usize,
    dtype: candle_core::DType,
}

#[derive(Debug)]
enum RowTable {
    /// Row-major values and a scale per row.
    Own { values: Vec<i8>, scales: Vec<f32> },
    /// The rows of a linear layer's weight (a tied output head): its
    /// channels are quantized exactly as [`Int8Rows::quantize`] would
    /// quantize the rows, so the lookups are the same with one copy.
    Head(std::sync::Arc<Int8Matrix>),
}

impl Int8Rows {
    /// Quantizes `table` (`[rows, width]`); lookups give its dtype back.
    pub fn quantize(table: &Tensor) -> Result<Self> {
        let (rows, width) = table.dims2()?;
        let (values, scales) = with_f32_values(table, |values| {
            let mut quantized = vec![0i8; rows * width];
            let mut scales = vec![0f32; rows];
            quantized
                .par_chunks_mut(width.max(1))
                .zip(scales.par_iter_mut())
                .zip(values.par_chunks(width.max(1)))
                .for_each(|((out, scale), row)| {
                    let (q, s) = quantize_row(row);
                    out.copy_from_slice(&q);
                    *scale = s;
                });
            (quantized, scales)
        })?;
        Ok(Self {
            table: RowTable::Own { values, scales },
            rows,
            width,
            dtype: table.dtype(),
        })
    }

    /// The rows named by `ids` (u32, any shape), as `[ids.., width]`.
    pub fn lookup(&self, ids: &Tensor) -> Result<Tensor> {
        let wanted = ids.flatten_all()?.to_vec1::<u32>()?;
        let mut out = Vec::with_capacity(wanted.len() * self.width);
        for &id in &wanted {
            let id = id as usize;
            if id >= self.rows {
                candle_core::bail!("token id {id} is outside the {}-row embedding", self.rows);
            }
            match &self.table {
                RowTable::Own { values, scales } => {
                    let scale = scales[id];
                    out.extend(
                        values[id * self.width..][..self.width]
                            .iter()
                            .map(|&q| q as f32 * scale),
                    );
                }
                RowTable::Head(matrix) => {
                    let scale = matrix.scales[id];
                    let (tile, lane) = (id / TILE_CHANNELS, id % TILE_CHANNELS);
                    let tile_bytes = &matrix.packed[tile * matrix.groups * TILE_GROUP_BYTES..];
                    out.extend((0..self.width).map(|input| {
                        let (group, within) = (input / GROUP, input % GROUP);
                        tile_bytes[group * TILE_GROUP_BYTES + lane * GROUP + within] as f32 * scale
                    }));
                }
            }
        }
        let mut dims = ids.dims().to_vec();
        dims.push(self.width);
        Tensor::from_vec(out, dims, ids.device())?.to_dtype(self.dtype)
    }
}

/// Rounds `row` to int8 so that its largest magnitude becomes ±127; returns
/// the values and what one step is worth.
fn quantize_row(row: &[f32]) -> (Vec<i8>, f32) {
    let max = abs_max(row);
    if max == 0.0 || !max.is_finite() {
        return (vec![0; row.len()], 0.0);
    }
    let inverse = 127.0 / max;
    let quantized = row
        .iter()
        .map(|v| round_to_int8(v * inverse) as i8)
        .collect();
    (quantized, max / 127.0)
}

/// The largest magnitude in `values`, in 16 lanes the compiler vectorizes.
#[inline(always)]
fn abs_max(values: &[f32]) -> f32 {
    let mut lanes = [0f32; 16];
    let mut chunks = values.chunks_exact(16);
    for chunk in &mut chunks {
        for (lane, v) in lanes.iter_mut().zip(chunk) {
            let a = v.abs();
            // A comparison, not `f32::max`, whose NaN rules keep it
            // scalar. A NaN is passed over, and later quantizes to 0.
            *lane = if a > *lane { a } else { *lane };
        }
    }
    let mut max = chunks.remainder().iter().fold(0f32, |m, v| m.max(v.abs()));
    for lane in lanes {
        max = max.max(lane);
    }
    max
}

/// Rounds to the nearest integer in -127..=127, ties to even (as the
/// CPU's own conversion does): adding and subtracting 1.5 · 2²³ leaves
/// the rounded value, in plain f32 arithmetic that vectorizes, where
/// `f32::round` is a library call per value.
#[inline(always)]
fn round_to_int8(v: f32) -> i32 {
    const SHIFT: f32 = 12_582_912.0;
    ((v.clamp(-127.0, 127.0) + SHIFT) - SHIFT) as i32
}

thread_local! {
    /// One task's int32 sums, kept per thread so no task allocates or
    /// zeroes them (the kernels overwrite every value they hand on).
    static TILE_SUMS: std::cell::RefCell<Vec<i32>> =
        std::cell::RefCell::new(vec![0; super::MAX_TASK_ROWS * TILE_CHANNELS]);
}

/// Activations quantized per row, stored offset by 128 as unsigned bytes and
/// padded with the offset (a zero) to whole groups.
struct QuantizedRows {
    data: Vec<u8>,
    scales: Vec<f32>,
    stride: usize,
}

impl QuantizedRows {
    fn new(x: &[f32], rows: usize, width: usize, groups: usize) -> Self {
        let stride = groups * GROUP;
        let mut data = vec![ACTIVATION_OFFSET as u8; rows * stride];
        let mut scales = vec![0f32; rows];
        let quantize = |row: &[f32], out: &mut [u8], scale: &mut f32| {
            #[cfg(target_arch = "x86_64")]
            if avx512() {
                // SAFETY: the CPU has AVX-512F.
                return unsafe { quantize_activations_avx512(row, out, scale) };
            }
            quantize_activations(row, out, scale)
        };
        let (width, stride_nonzero) = (width.max(1), stride.max(1));
        if rows * width >= PARALLEL_MIN_VALUES {
            x.par_chunks_exact(width)
                .zip(data.par_chunks_exact_mut(stride_nonzero))
                .zip(scales.par_iter_mut())
                .for_each(|((row, out), scale)| quantize(row, out, scale));
        } else {
            x.chunks_exact(width)
                .zip(data.chunks_exact_mut(stride_nonzero))
                .zip(scales.iter_mut())
                .for_each(|((row, out), scale)| quantize(row, out, scale));
        }
        Self {
            data,
            scales,
            stride,
        }
    }
}

/// One row of activations to offset int8 and its scale; a row of zeros
/// (or of non-finite values) keeps the zero it was given.
#[inline(always)]
fn quantize_activations(row: &[f32], out: &mut [u8], scale: &mut f32) {
    let max = abs_max(row);
    if max == 0.0 || !max.is_finite() {
        return;
    }
    let inverse = 127.0 / max;
    for (o, v) in out.iter_mut().zip(row) {
        *o = (round_to_int8(v * inverse) + ACTIVATION_OFFSET) as u8;
    }
    *scale = max / 127.0;
}

/// [`quantize_activations`] 16 values at a time; the conversion rounds to
/// nearest even as `round_to_int8` does, so the bytes are the same.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn quantize_activations_avx512(row: &[f32], out: &mut [u8], scale: &mut f32) {
    use std::arch::x86_64::*;
    let chunks = row.len() / 16;
    let tail = &row[chunks * 16..];
    // SAFETY: loads and stores stay within the first `chunks` × 16 values of
    // `row` and bytes of `out` (which is at least as long as `row`).
    unsafe {
        let mut maxes = _mm512_setzero_ps();
        for c in 0..chunks {
            maxes = _mm512_max_ps(
                maxes,
                _mm512_abs_ps(_mm512_loadu_ps(row.as_ptr().add(c * 16))),
            );
        }
        let max = tail
            .iter()
            .fold(_mm512_reduce_max_ps(maxes), |m, v| m.max(v.abs()));
        if max == 0.0 || !max.is_finite() {
            return;
        }
        let inverse = _mm512_set1_ps(127.0 / max);
        let (low, high) = (_mm512_set1_ps(-127.0), _mm512_set1_ps(127.0));
        let offset = _mm512_set1_epi32(ACTIVATION_OFFSET);
        for c in 0..chunks {
            let v = _mm512_mul_ps(_mm512_loadu_ps(row.as_ptr().add(c * 16)), inverse);
            let v = _mm512_min_ps(_mm512_max_ps(v, low), high);
            let q = _mm512_add_epi32(_mm512_cvtps_epi32(v), offset);
            _mm_storeu_si128(
                out.as_mut_ptr().add(c * 16) as *mut _,
                _mm512_cvtepi32_epi8(q),
            );
        }
        let inverse = 127.0 / max;
        for (o, v) in out[chunks * 16..].iter_mut().zip(tail) {
            *o = (round_to_int8(v * inverse) + ACTIVATION_OFFSET) as u8;
        }
        *scale = max / 127.0;
    }
}

/// What a kernel needs for one tile: the tile's packed weights and channel
/// sums, and the rows' quantized activations.
struct TileArgs<'a> {
    weights: &'a [i8],
    channel_sums: &'a [i32],
    rows: &'a [u8],
    stride: usize,
    groups: usize,
}

/// Any CPU. Also the reference the other kernels are tested against.
#[inline(always)]
fn tile_portable(tile: &TileArgs, count: usize, sums: &mut [i32]) {
    for r in 0..count {
        let row = &tile.rows[r * tile.stride..][..tile.stride];
        let out = &mut sums[r * TILE_CHANNELS..][..TILE_CHANNELS];
        let mut acc = [0i32; TILE_CHANNELS];
        for g in 0..tile.groups {
            let a = &row[g * GROUP..][..GROUP];
            let a = [
                a[0] as i32 - ACTIVATION_OFFSET,
                a[1] as i32 - ACTIVATION_OFFSET,
                a[2] as i32 - ACTIVATION_OFFSET,
                a[3] as i32 - ACTIVATION_OFFSET,
            ];
            let w = &tile.weights[g * TILE_GROUP_BYTES..][..TILE_GROUP_BYTES];
            for (c, acc) in acc.iter_mut().enumerate() {
                let w = &w[c * GROUP..][..GROUP];
                *acc += a[0] * w[0] as i32
                    + a[1] * w[1] as i32
                    + a[2] * w[2] as i32
                    + a[3] * w[3] as i32;
            }
        }
        out.copy_from_slice(&acc);
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{TileArgs, BLOCK, GROUP, TILE_BLOCKS, TILE_CHANNELS, TILE_GROUP_BYTES};

    /// Whether this CPU has AMX int8 and the OS lets this process use the
    /// tiles' state, asked once. Linux hands out AMX only on request
    /// (`arch_prctl(ARCH_REQ_XCOMP_PERM)`), for the whole process.
    pub(super) fn amx_enabled() -> bool {
        static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *ENABLED.get_or_init(|| {
            // CPUID leaf 7: EDX bit 24 is AMX-TILE, bit 25 AMX-INT8.
            let leaf = __cpuid_count(7, 0);
            let has_amx = leaf.edx & (1 << 24) != 0 && leaf.edx & (1 << 25) != 0;
            has_amx && request_tile_state()
        })
    }

    #[cfg(target_os = "linux")]
    fn request_tile_state() -> bool {
        const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
        const XFEATURE_XTILEDATA: libc::c_long = 18;
        // SAFETY: a plain system call with integer arguments.
        unsafe {
            libc::syscall(
                libc::SYS_arch_prctl,
                ARCH_REQ_XCOMP_PERM,
                XFEATURE_XTILEDATA,
            ) == 0
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn request_tile_state() -> bool {
        false
    }

    /// Rows of one AMX tile multiply, and input bytes per tile row.
    const AMX_ROWS: usize = 16;
    const AMX_K_BYTES: usize = 64;
    /// How many 64-byte input steps ahead the weights are prefetched.
    const PREFETCH_STEPS: usize = 2;

    /// The AMX tile configuration (palette 1): tiles 0–3 hold the int32
    /// sums of 16 rows × 16 channels each, tile 4 16 rows × 64 activation
    /// bytes, tiles 5 and 6 16 groups × 16 channels × 4 weight bytes.
    #[repr(C, align(64))]
    struct TileConfig {
        palette: u8,
        start_row: u8,
        reserved: [u8; 14],
        bytes_per_row: [u16; 16],
        rows: [u8; 16],
    }

    /// [`tile_avx512_vnni`] with each whole 16 rows done by AMX: one tile
    /// multiply is 16 × 16 × 64 byte products. The packed weights already
    /// have AMX's layout (per group of 4 inputs, 16 channels × 4 bytes per
    /// 64-byte block), read with a stride of one group.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn tile_amx(tile: &TileArgs, count: usize, sums: &mut [i32]) {
        let whole = if (tile.groups * GROUP).is_multiple_of(AMX_K_BYTES) {
            count / AMX_ROWS * AMX_ROWS
        } else {
            0
        };
        if whole > 0 {
            let mut config = TileConfig {
                palette: 1,
                start_row: 0,
                reserved: [0; 14],
                bytes_per_row: [0; 16],
                rows: [0; 16],
            };
            for t in 0..7 {
                config.bytes_per_row[t] = 64;
                config.rows[t] = AMX_ROWS as u8;
            }
            let steps = tile.groups * GROUP / AMX_K_BYTES;
            let groups_per_step = AMX_K_BYTES / GROUP;
            // SAFETY: `amx_enabled` said the CPU has AMX and the OS gave
            // this process the tile state. Every tile load reads 16 rows of
            // 64 bytes inside `tile.rows` (rows `first..first + 16` of
            // `count`, bytes `step * 64..` of a `groups * 4`-byte stride) or
            // inside `tile.weights` (`groups` × 256 bytes); every store
            // writes 16 rows × 64 channels of `sums`, which holds `count`.
            unsafe {
                std::arch::asm!("ldtilecfg [{}]", in(reg) &config, options(nostack, readonly));
                for first in (0..whole).step_by(AMX_ROWS) {
                    std::arch::asm!(
                        "tilezero tmm0",
                        "tilezero tmm1",
                        "tilezero tmm2",
                        "tilezero tmm3",
                        options(nostack, nomem)
                    );
                    let rows = tile.rows.as_ptr().add(first * tile.stride);
                    for step in 0..steps {
                        let w = tile
                            .weights
                            .as_ptr()
                            .add(step * groups_per_step * TILE_GROUP_BYTES);
                        if first == 0 && step + PREFETCH_STEPS < steps {
                            // The first 16 rows read the tile's weights from
                            // memory; tile loads alone wait for each line.
                            let ahead = w.add(PREFETCH_STEPS * groups_per_step * TILE_GROUP_BYTES);
                            for line in 0..groups_per_step * TILE_GROUP_BYTES / 64 {
                                _mm_prefetch::<_MM_HINT_T0>(ahead.add(line * 64));
                            }
                        }
                        std::arch::asm!(
                            "tileloadd tmm4, [{a} + {a_stride}*1]",
                            "tileloadd tmm5, [{w0} + {w_stride}*1]",
                            "tdpbusd tmm0, tmm4, tmm5",
                            "tileloadd tmm6, [{w1} + {w_stride}*1]",
                            "tdpbusd tmm1, tmm4, tmm6",
                            "tileloadd tmm5, [{w2} + {w_stride}*1]",
                            "tdpbusd tmm2, tmm4, tmm5",
                            "tileloadd tmm6, [{w3} + {w_stride}*1]",
                            "tdpbusd tmm3, tmm4, tmm6",
                            a = in(reg) rows.add(step * AMX_K_BYTES),
                            a_stride = in(reg) tile.stride,
                            w0 = in(reg) w,
                            w1 = in(reg) w.add(BLOCK * GROUP),
                            w2 = in(reg) w.add(2 * BLOCK * GROUP),
                            w3 = in(reg) w.add(3 * BLOCK * GROUP),
                            w_stride = in(reg) TILE_GROUP_BYTES,
                            options(nostack, readonly)
                        );
                    }
                    let out = sums.as_mut_ptr().add(first * TILE_CHANNELS);
                    std::arch::asm!(
                        "tilestored [{o0} + {stride}*1], tmm0",
                        "tilestored [{o1} + {stride}*1], tmm1",
                        "tilestored [{o2} + {stride}*1], tmm2",
                        "tilestored [{o3} + {stride}*1], tmm3",
                        o0 = in(reg) out,
                        o1 = in(reg) out.add(BLOCK),
                        o2 = in(reg) out.add(2 * BLOCK),
                        o3 = in(reg) out.add(3 * BLOCK),
                        stride = in(reg) TILE_CHANNELS * 4,
                        options(nostack)
                    );
                }
                std::arch::asm!("tilerelease", options(nostack, nomem));
                // (x + 128)·w summed, less 128·Σw, is x·w summed.
                for b in 0..TILE_BLOCKS {
                    let offset = _mm512_slli_epi32::<7>(_mm512_loadu_si512(
                        tile.channel_sums.as_ptr().add(b * BLOCK) as *const _,
                    ));
                    for r in 0..whole {
                        let at = sums.as_mut_ptr().add(r * TILE_CHANNELS + b * BLOCK);
                        _mm512_storeu_si512(
                            at as *mut _,
                            _mm512_sub_epi32(_mm512_loadu_si512(at as *const _), offset),
                        );
                    }
                }
            }
        }
        if whole < count {
            let rest = TileArgs {
                rows: &tile.rows[whole * tile.stride..],
                ..*tile
            };
            // SAFETY: as the caller's.
            unsafe { tile_avx512_vnni(&rest, count - whole, &mut sums[whole * TILE_CHANNELS..]) }
        }
    }

    /// Rows per AVX-512 micro-kernel call: 6 rows × 4 registers of sums
    /// leave room in the 32 registers for the 4 weight registers.
    const AVX512_ROWS: usize = 6;

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn tile_avx512_vnni(tile: &TileArgs, count: usize, sums: &mut [i32]) {
        let mut r = 0;
        while r < count {
            let rows = AVX512_ROWS.min(count - r);
            let out = &mut sums[r * TILE_CHANNELS..];
            let a = tile.rows[r * tile.stride..].as_ptr();
            // SAFETY (all arms): the rows and weights slices hold
            // `rows` × `stride` and `groups` × 256 bytes.
            unsafe {
                match rows {
                    6 => micro_avx512::<6>(tile, a, out),
                    5 => micro_avx512::<5>(tile, a, out),
                    4 => micro_avx512::<4>(tile, a, out),
                    3 => micro_avx512::<3>(tile, a, out),
                    2 => micro_avx512::<2>(tile, a, out),
                    _ => micro_avx512::<1>(tile, a, out),
                }
            }
            r += rows;
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn micro_avx512<const ROWS: usize>(tile: &TileArgs, a: *const u8, out: &mut [i32]) {
        let mut acc = [[_mm512_setzero_si512(); TILE_BLOCKS]; ROWS];
        let w = tile.weights.as_ptr();
        for g in 0..tile.groups {
            unsafe {
                let wg = w.add(g * TILE_GROUP_BYTES);
                let w0 = _mm512_loadu_si512(wg as *const _);
                let w1 = _mm512_loadu_si512(wg.add(64) as *const _);
                let w2 = _mm512_loadu_si512(wg.add(128) as *const _);
                let w3 = _mm512_loadu_si512(wg.add(192) as *const _);
                for (r, acc) in acc.iter_mut().enumerate() {
                    let four = (a.add(r * tile.stride + g * GROUP) as *const i32).read_unaligned();
                    let av = _mm512_set1_epi32(four);
                    acc[0] = _mm512_dpbusd_epi32(acc[0], av, w0);
                    acc[1] = _mm512_dpbusd_epi32(acc[1], av, w1);
                    acc[2] = _mm512_dpbusd_epi32(acc[2], av, w2);
                    acc[3] = _mm512_dpbusd_epi32(acc[3], av, w3);
                }
            }
        }
        for b in 0..TILE_BLOCKS {
            unsafe {
                // (x + 128)·w summed, less 128·Σw, is x·w summed.
                let offset = _mm512_slli_epi32::<7>(_mm512_loadu_si512(
                    tile.channel_sums.as_ptr().add(b * BLOCK) as *const _,
                ));
                for (r, acc) in acc.iter().enumerate() {
                    _mm512_storeu_si512(
                        out.as_mut_ptr().add(r * TILE_CHANNELS + b * BLOCK) as *mut _,
                        _mm512_sub_epi32(acc[b], offset),
                    );
                }
            }
        }
    }

    /// Rows per AVX-VNNI call: 2 rows × 4 registers of sums per half tile,
    /// plus 4 weight registers, fit the 16 registers.
    const AVX_VNNI_ROWS: usize = 2;

    #[target_feature(enable = "avx2,avxvnni")]
    pub(super) unsafe fn tile_avx_vnni(tile: &TileArgs, count: usize, sums: &mut [i32]) {
        let mut r = 0;
        while r < count {
            let rows = AVX_VNNI_ROWS.min(count - r);
            let out = &mut sums[r * TILE_CHANNELS..];
            let a = tile.rows[r * tile.stride..].as_ptr();
            for half in 0..2 {
                // SAFETY: as for AVX-512.
                unsafe {
                    if rows == 2 {
                        micro_avx_vnni::<2>(tile, a, half, out)
                    } else {
                        micro_avx_vnni::<1>(tile, a, half, out)
                    }
                }
            }
            r += rows;
        }
    }

    /// One half (32 channels) of a tile; in the packing, a 64-byte block of
    /// 16 channels is two 32-byte registers of 8.
    #[inline]
    #[target_feature(enable = "avx2,avxvnni")]
    unsafe fn micro_avx_vnni<const ROWS: usize>(
        tile: &TileArgs,
        a: *const u8,
        half: usize,
        out: &mut [i32],
    ) {
        let mut acc = [[_mm256_setzero_si256(); 4]; ROWS];
        let w = tile.weights.as_ptr();
        for g in 0..tile.groups {
            unsafe {
                let wg = w.add(g * TILE_GROUP_BYTES + half * 128);
                let w0 = _mm256_loadu_si256(wg as *const _);
                let w1 = _mm256_loadu_si256(wg.add(32) as *const _);
                let w2 = _mm256_loadu_si256(wg.add(64) as *const _);
                let w3 = _mm256_loadu_si256(wg.add(96) as *const _);
                for (r, acc) in acc.iter_mut().enumerate() {
                    let four = (a.add(r * tile.stride + g * GROUP) as *const i32).read_unaligned();
                    let av = _mm256_set1_epi32(four);
                    acc[0] = _mm256_dpbusd_avx_epi32(acc[0], av, w0);
                    acc[1] = _mm256_dpbusd_avx_epi32(acc[1], av, w1);
                    acc[2] = _mm256_dpbusd_avx_epi32(acc[2], av, w2);
                    acc[3] = _mm256_dpbusd_avx_epi32(acc[3], av, w3);
                }
            }
        }
        for j in 0..4 {
            let channel = half * 32 + j * 8;
            unsafe {
                let offset = _mm256_slli_epi32::<7>(_mm256_loadu_si256(
                    tile.channel_sums.as_ptr().add(channel) as *const _,
                ));
                for (r, acc) in acc.iter().enumerate() {
                    _mm256_storeu_si256(
                        out.as_mut_ptr().add(r * TILE_CHANNELS + channel) as *mut _,
                        _mm256_sub_epi32(acc[j], offset),
                    );
                }
            }
        }
    }

    /// Without VNNI, `vpmaddubsw` would saturate at 16 bits (255 × 127 × 2
    /// overflows), so weights and activations widen to 16 bits and
    /// `vpmaddwd` sums pairs exactly. Each 32-bit lane then holds half of a
    /// channel's sum (inputs 0–1 or 2–3 of every group); the halves are added
    /// at the end.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn tile_avx2(tile: &TileArgs, count: usize, sums: &mut [i32]) {
        for r in 0..count {
            let a = &tile.rows[r * tile.stride..][..tile.stride];
            let out = &mut sums[r * TILE_CHANNELS..][..TILE_CHANNELS];
            // Eight registers cover 32 channels (4 per register, 2 lanes
            // each); two passes cover the tile.
            for half in 0..2 {
                let mut acc = [_mm256_setzero_si256(); 8];
                for g in 0..tile.groups {
                    unsafe {
                        let four = [
                            a[g * GROUP] as i16 - 128,
                            a[g * GROUP + 1] as i16 - 128,
                            a[g * GROUP + 2] as i16 - 128,
                            a[g * GROUP + 3] as i16 - 128,
                        ];
                        let av = _mm256_set1_epi64x(std::mem::transmute::<[i16; 4], i64>(four));
                        let wg = tile.weights.as_ptr().add(g * TILE_GROUP_BYTES + half * 128);
                        for (q, acc) in acc.iter_mut().enumerate() {
                            let w =
                                _mm256_cvtepi8_epi16(_mm_loadu_si128(wg.add(q * 16) as *const _));
                            *acc = _mm256_add_epi32(*acc, _mm256_madd_epi16(w, av));
                        }
                    }
                }
                for pair in 0..4 {
                    unsafe {
                        // hadd gives channels 0,1,4,5 | 2,3,6,7 of the pair's 8;
                        // the permute puts them in order.
                        let summed = _mm256_hadd_epi32(acc[2 * pair], acc[2 * pair + 1]);
                        let ordered = _mm256_permute4x64_epi64::<0b11_01_10_00>(summed);
                        _mm256_storeu_si256(
                            out.as_mut_ptr().add(half * 32 + pair * 8) as *mut _,
                            ordered,
                        );
                    }
                }
            }
        }
    }
}

/// A linear layer `x · wᵀ + b` over int8 weights, as a candle operation on
/// f32 tensors of any rank (the last dimension is the input).
#[derive(Debug, Clone)]
pub struct Int8Linear {
    weight: std::sync::Arc<Int8Matrix>,
    bias: Option<std::sync::Arc<Vec<f32>>>,
}

impl Int8Linear {
    /// Quantizes `weight` (`[out, in]`); `bias` (`[out]`) stays f32.
    pub fn new(weight: &Tensor, bias: Option<&Tensor>) -> Result<Self> {
        Self::from_matrix(Int8Matrix::from_tensor(weight)?, bias)
    }

    /// A layer over weights already quantized; `bias` (`[out]`) stays f32.
    pub fn from_matrix(weight: Int8Matrix, bias: Option<&Tensor>) -> Result<Self> {
        let bias = bias
            .map(|b| b.to_dtype(candle_core::DType::F32)?.to_vec1::<f32>())
            .transpose()?;
        if let Some(bias) = &bias {
            if bias.len() != weight.out_features {
                candle_core::bail!(
                    "bias has {} values for {} outputs",
                    bias.len(),
                    weight.out_features
                );
            }
        }
        Ok(Self {
            weight: std::sync::Arc::new(weight),
            bias: bias.map(std::sync::Arc::new),
        })
    }

    /// The weight's rows as a token embedding table (lookups in `dtype`),
    /// sharing this layer's int8 copy: a head tied to the embedding is then
    /// quantized and kept once (NLLB's is 256k × 1024).
    pub fn rows(&self, dtype: candle_core::DType) -> Int8Rows {
        Int8Rows {
            rows: self.weight.out_features,
            width: self.weight.in_features,
            table: RowTable::Head(self.weight.clone()),
            dtype,
        }
    }

    pub fn forward(&self, xs: &Tensor, epilogue: Epilogue) -> Result<Tensor> {
        xs.apply_op1_no_bwd(&Call {
            layer: self,
            epilogue,
        })
    }
}

/// One call of an [`Int8Linear`], with what to apply to its output.
struct Call<'a> {
    layer: &'a Int8Linear,
    epilogue: Epilogue,
}

impl CustomOp1 for Call<'_> {
    fn name(&self) -> &'static str {
        "int8-linear"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(values) = storage else {
            candle_core::bail!("int8 linear takes f32 input");
        };
        let dims = layout.dims();
        let Some(&width) = dims.last() else {
            candle_core::bail!("int8 linear needs at least one dimension");
        };
        let layer = self.layer;
        if width != layer.weight.in_features {
            candle_core::bail!(
                "int8 linear takes {} inputs, got {width}",
                layer.weight.in_features
            );
        }
        let x = match layout.contiguous_offsets() {
            Some((start, end)) => &values[start..end],
            None => candle_core::bail!("int8 linear needs a contiguous input"),
        };
        let rows = x.len() / width.max(1);
        let out = layer.weight.matmul_with(
            Kernel::detect(),
            x,
            rows,
            layer.bias.as_deref().map(Vec::as_slice),
            self.epilogue,
        );
        let mut out_dims = dims.to_vec();
        *out_dims.last_mut().expect("checked above") = layer.weight.out_features;
        Ok((CpuStorage::F32(out), Shape::from(out_dims)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in -1..1, some of them large, so rows have
    /// different scales.
    fn values(count: usize, seed: u64) -> Vec<f32> {
        let mut state = seed | 1;
        (0..count)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let v = (state % 2001) as f32 / 1000.0 - 1.0;
                if i % 37 == 0 {
                    v * 8.0
                } else {
                    v
                }
            })
            .collect()
    }

    fn reference(x: &[f32], w: &[f32], rows: usize, out: usize, inputs: usize) -> Vec<f32> {
        let mut y = vec![0f32; rows * out];
        for m in 0..rows {
            for n in 0..out {
                y[m * out + n] = (0..inputs)
                    .map(|k| x[m * inputs + k] * w[n * inputs + k])
                    .sum();
            }
        }
        y
    }

    /// Shapes that exercise every remainder: rows not a multiple of the
    /// micro-kernels' row counts or of a task's rows, inputs not a multiple
    /// of 4, outputs not a multiple of a tile.
    const SHAPES: [(usize, usize, usize); 9] = [
        (1, 64, 64),
        (5, 130, 37),
        (7, 70, 128),
        (13, 200, 256),
        (50, 33, 100),
        (97, 512, 96),
        // Whole 16-row blocks and 64-byte input steps, for AMX.
        (16, 64, 64),
        (40, 130, 128),
        (300, 200, 512),
    ];

    #[test]
    fn every_kernel_this_cpu_runs_gives_the_portable_kernels_exact_output() {
        for &(rows, out, inputs) in &SHAPES {
            let w = values(out * inputs, 7 + out as u64);
            let x = values(rows * inputs, 11 + rows as u64);
            let bias = values(out, 3);
            let matrix = Int8Matrix::quantize(&w, out, inputs);
            let expected =
                matrix.matmul_with(Kernel::Portable, &x, rows, Some(&bias), Epilogue::Silu);
            for kernel in Kernel::all().into_iter().filter(|k| k.available()) {
                let got = matrix.matmul_with(kernel, &x, rows, Some(&bias), Epilogue::Silu);
                assert!(
                    got.iter()
                        .zip(&expected)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{} differs from portable at {rows}×{out}×{inputs}",
                    kernel.name()
                );
            }
        }
    }

    #[test]
    fn activations_quantize_to_the_same_bytes_on_every_path() {
        #[cfg(target_arch = "x86_64")]
        if avx512() {
            for width in [1, 15, 16, 17, 100, 512] {
                let row = values(width, width as u64);
                let (mut plain, mut fast) = (vec![128u8; width], vec![128u8; width]);
                let (mut plain_scale, mut fast_scale) = (0f32, 0f32);
                quantize_activations(&row, &mut plain, &mut plain_scale);
                // SAFETY: checked above that the CPU has AVX-512F.
                unsafe { quantize_activations_avx512(&row, &mut fast, &mut fast_scale) };
                assert_eq!(plain, fast, "width {width}");
                assert_eq!(plain_scale.to_bits(), fast_scale.to_bits());
            }
        }
    }

    #[test]
    fn int8_matmul_stays_close_to_f32() {
        for &(rows, out, inputs) in &SHAPES {
            let w = values(out * inputs, 5 + inputs as u64);
            let x = values(rows * inputs, 9);
            let matrix = Int8Matrix::quantize(&w, out, inputs);
            let got = matrix.matmul_with(Kernel::detect(), &x, rows, None, Epilogue::Identity);
            let expected = reference(&x, &w, rows, out, inputs);
            let scale = expected.iter().fold(0f32, |m, v| m.max(v.abs()));
            let worst = got
                .iter()
                .zip(&expected)
                .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            // Two roundings of 1/254 of each row's range each.
            assert!(
                worst <= 0.03 * scale,
                "{rows}×{out}×{inputs}: error {worst} against a scale of {scale}"
            );
        }
    }

    /// A tied head's rows must look up exactly what quantizing the table
    /// on its own gives, across tile and group boundaries.
    #[test]
    fn a_heads_rows_look_up_the_same_values_as_the_table_quantized_alone() {
        let device = candle_core::Device::Cpu;
        let (vocab, width) = (130, 70);
        let table = Tensor::new(values(vocab * width, 9), &device)
            .unwrap()
            .reshape((vocab, width))
            .unwrap();
        let alone = Int8Rows::quantize(&table).unwrap();
        let head = Int8Linear::new(&table, None)
            .unwrap()
            .rows(candle_core::DType::F32);
        let ids = Tensor::new(&[0u32, 63, 64, 65, 127, 128, 129, 7], &device).unwrap();
        let (a, b) = (alone.lookup(&ids).unwrap(), head.lookup(&ids).unwrap());
        let bits = |t: Tensor| -> Vec<u32> {
            t.flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
                .iter()
                .map(|v| v.to_bits())
                .collect()
        };
        assert_eq!(bits(a), bits(b));
        assert!(head
            .lookup(&Tensor::new(&[130u32], &device).unwrap())
            .is_err());
    }

    #[test]
    fn int8_rows_look_up_close_to_the_table() {
        let device = candle_core::Device::Cpu;
        let table = Tensor::new(values(10 * 6, 5), &device)
            .unwrap()
            .reshape((10, 6))
            .unwrap();
        let rows = Int8Rows::quantize(&table).unwrap();
        let ids = Tensor::new(&[[3u32, 0], [9, 3]], &device).unwrap();
        let got = rows.lookup(&ids).unwrap();
        assert_eq!(got.dims(), &[2, 2, 6]);
        let want = table
            .embedding(&ids.flatten_all().unwrap())
            .unwrap()
            .reshape((2, 2, 6))
            .unwrap();
        let diff = (got - want)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(diff < 0.04, "max difference {diff}");
        assert!(rows
            .lookup(&Tensor::new(&[10u32], &device).unwrap())
            .is_err());
    }

    #[test]
    fn zero_rows_and_zero_weights_give_the_bias() {
        let matrix = Int8Matrix::quantize(&[0.0; 8], 2, 4);
        let out = matrix.matmul_with(
            Kernel::detect(),
            &[1.0, 2.0, 3.0, 4.0],
            1,
            Some(&[0.5, -1.0]),
            Epilogue::Identity,
        );
        assert_eq!(out, vec![0.5, -1.0]);
        let matrix = Int8Matrix::quantize(&values(8, 1), 2, 4);
        let out = matrix.matmul_with(
            Kernel::detect(),
            &[0.0; 4],
            1,
            Some(&[0.5, -1.0]),
            Epilogue::Identity,
        );
        assert_eq!(out, vec![0.5, -1.0]);
    }

    #[test]
    fn the_layer_keeps_leading_dimensions() {
        let device = candle_core::Device::Cpu;
        let w = Tensor::new(values(6 * 8, 2), &device)
            .unwrap()
            .reshape((6, 8))
            .unwrap();
        let b = Tensor::new(values(6, 4), &device).unwrap();
        let x = Tensor::new(values(2 * 3 * 8, 6), &device)
            .unwrap()
            .reshape((2, 3, 8))
            .unwrap();
        let layer = Int8Linear::new(&w, Some(&b)).unwrap();
        let y = layer.forward(&x, Epilogue::Identity).unwrap();
        assert_eq!(y.dims(), &[2, 3, 6]);
        let dense = x
            .broadcast_matmul(&w.t().unwrap())
            .unwrap()
            .broadcast_add(&b)
            .unwrap();
        let diff = (y - dense)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(diff < 0.1, "max difference {diff}");
    }
}
