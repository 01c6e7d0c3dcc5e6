//! f32 linear layers with weights packed once, at load, for AVX-512.
//!
//! candle multiplies `x · wᵀ` through the `gemm` crate, which packs the
//! weight matrix again on every call. At a decoding step (32 rows, say) the
//! packing reads and writes every weight for only 32 multiply-adds each:
//! in a batch-32 profile of the opus-mt shape, packing took more time than
//! the arithmetic. Here the weights are laid out for the micro-kernel when
//! the model loads, so a call only streams them.
//!
//! Only CPUs with AVX-512 take this path; elsewhere the layer stays candle's.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};

use super::{for_each_task, task_rows, Epilogue, SendPtr, TILE_CHANNELS};

/// An f32 weight matrix `[out, in]` packed per tile of 64 output channels:
/// for each input, the tile's 64 weights side by side (four registers).
/// Channels are padded to whole tiles with zeros.
#[derive(Debug)]
pub struct PackedF32 {
    out_features: usize,
    in_features: usize,
    tiles: usize,
    packed: Vec<f32>,
}

impl PackedF32 {
    /// Whether this CPU has the instructions the kernel needs.
    pub fn available() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            super::avx512()
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// Packs `weight`, row-major `[out_features, in_features]`.
    pub fn pack(weight: &[f32], out_features: usize, in_features: usize) -> Self {
        assert_eq!(weight.len(), out_features * in_features);
        let tiles = out_features.div_ceil(TILE_CHANNELS);
        let mut packed = vec![0f32; tiles * in_features * TILE_CHANNELS];
        for (channel, row) in weight.chunks_exact(in_features.max(1)).enumerate() {
            let (tile, lane) = (channel / TILE_CHANNELS, channel % TILE_CHANNELS);
            let base = tile * in_features * TILE_CHANNELS + lane;
            for (input, &w) in row.iter().enumerate() {
                packed[base + input * TILE_CHANNELS] = w;
            }
        }
        Self {
            out_features,
            in_features,
            tiles,
            packed,
        }
    }

    /// `out[m, n] = Σ_k x[m, k] · w[n, k] + bias[n]`.
    pub fn matmul(
        &self,
        x: &[f32],
        rows: usize,
        bias: Option<&[f32]>,
        epilogue: Epilogue,
    ) -> Vec<f32> {
        assert!(Self::available(), "the packed f32 kernel needs AVX-512");
        assert_eq!(x.len(), rows * self.in_features);
        // Every value is written by exactly one task before `set_len`.
        let mut out = Vec::<f32>::with_capacity(rows * self.out_features);
        let task_rows = task_rows(rows, self.tiles);
        let out_ptr = SendPtr(out.as_mut_ptr());
        let row_tasks = rows.div_ceil(task_rows);
        let macs = rows * self.in_features * self.out_features;
        for_each_task(row_tasks * self.tiles, macs, |task| {
            let (row_task, tile) = (task / self.tiles, task % self.tiles);
            let first = row_task * task_rows;
            let count = task_rows.min(rows - first);
            #[cfg(target_arch = "x86_64")]
            // SAFETY: AVX-512 checked above; each task writes its own rows ×
            // its own tile's columns of `out`, which outlives the tasks.
            unsafe {
                self.tile_avx512(x, first, count, tile, &out_ptr, (bias, epilogue))
            };
        });
        // SAFETY: the tasks covered every row × every tile's real columns.
        unsafe { out.set_len(rows * self.out_features) };
        out
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn tile_avx512(
        &self,
        x: &[f32],
        first: usize,
        count: usize,
        tile: usize,
        out: &SendPtr,
        (bias, epilogue): (Option<&[f32]>, Epilogue),
    ) {
        let k = self.in_features;
        let weights = &self.packed[tile * k * TILE_CHANNELS..][..k * TILE_CHANNELS];
        let start = tile * TILE_CHANNELS;
        let width = TILE_CHANNELS.min(self.out_features - start);
        let mut tile_bias = [0f32; TILE_CHANNELS];
        if let Some(bias) = bias {
            tile_bias[..width].copy_from_slice(&bias[start..start + width]);
        }
        let mut r = 0;
        while r < count {
            let rows = x86::ROWS.min(count - r);
            let row = first + r;
            let args = x86::Args {
                x: &x[row * k..],
                k,
                weights,
                bias: &tile_bias,
                // SAFETY: row `row` and on, columns `start..start + width`.
                out: unsafe { out.0.add(row * self.out_features + start) },
                out_stride: self.out_features,
                width,
            };
            // SAFETY: as the caller's.
            unsafe {
                match rows {
                    6 => x86::micro::<6>(&args),
                    5 => x86::micro::<5>(&args),
                    4 => x86::micro::<4>(&args),
                    3 => x86::micro::<3>(&args),
                    2 => x86::micro::<2>(&args),
                    _ => x86::micro::<1>(&args),
                }
            }
            if epilogue != Epilogue::Identity {
                for row in row..row + rows {
                    // SAFETY: this task's own row and columns, just written.
                    let written = unsafe {
                        std::slice::from_raw_parts_mut(
                            out.0.add(row * self.out_features + start),
                            width,
                        )
                    };
                    epilogue.apply(written);
                }
            }
            r += rows;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::TILE_CHANNELS;

    /// 6 rows × 4 registers of sums, plus 4 of weights, in 32 registers.
    pub(super) const ROWS: usize = 6;

    pub(super) struct Args<'a> {
        pub(super) x: &'a [f32],
        pub(super) k: usize,
        pub(super) weights: &'a [f32],
        pub(super) bias: &'a [f32; TILE_CHANNELS],
        pub(super) out: *mut f32,
        pub(super) out_stride: usize,
        pub(super) width: usize,
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn micro<const R: usize>(args: &Args) {
        let mut acc = [[_mm512_setzero_ps(); 4]; R];
        let (x, w, k) = (args.x.as_ptr(), args.weights.as_ptr(), args.k);
        for i in 0..k {
            // SAFETY: `weights` holds k × 64 values and `x` R rows of k.
            unsafe {
                let wi = w.add(i * TILE_CHANNELS);
                let w0 = _mm512_loadu_ps(wi);
                let w1 = _mm512_loadu_ps(wi.add(16));
                let w2 = _mm512_loadu_ps(wi.add(32));
                let w3 = _mm512_loadu_ps(wi.add(48));
                for (r, acc) in acc.iter_mut().enumerate() {
                    let xv = _mm512_set1_ps(*x.add(r * k + i));
                    acc[0] = _mm512_fmadd_ps(xv, w0, acc[0]);
                    acc[1] = _mm512_fmadd_ps(xv, w1, acc[1]);
                    acc[2] = _mm512_fmadd_ps(xv, w2, acc[2]);
                    acc[3] = _mm512_fmadd_ps(xv, w3, acc[3]);
                }
            }
        }
        for (b, chunk) in (0..4).map(|b| (b, b * 16)) {
            if chunk >= args.width {
                break;
            }
            let lanes = (args.width - chunk).min(16);
            let mask: __mmask16 = if lanes == 16 {
                0xffff
            } else {
                (1u16 << lanes) - 1
            };
            // SAFETY: masked stores write only the tile's real columns.
            unsafe {
                let bias = _mm512_loadu_ps(args.bias.as_ptr().add(chunk));
                for (r, acc) in acc.iter().enumerate() {
                    let y = _mm512_add_ps(acc[b], bias);
                    _mm512_mask_storeu_ps(args.out.add(r * args.out_stride + chunk), mask, y);
                }
            }
        }
    }
}

/// A linear layer `x · wᵀ + b` over packed f32 weights, as a candle
/// operation on f32 tensors of any rank (the last dimension is the input).
#[derive(Debug, Clone)]
pub struct PackedLinear {
    weight: std::sync::Arc<PackedF32>,
    bias: Option<std::sync::Arc<Vec<f32>>>,
}

impl PackedLinear {
    /// Packs `weight` (`[out, in]`, f32); `bias` is `[out]`.
    pub fn new(weight: &Tensor, bias: Option<&Tensor>) -> Result<Self> {
        let (out_features, in_features) = weight.dims2()?;
        let values = weight.flatten_all()?.to_vec1::<f32>()?;
        let bias = bias.map(|b| b.to_vec1::<f32>()).transpose()?;
        if bias.as_ref().is_some_and(|b| b.len() != out_features) {
            candle_core::bail!("bias length differs from {out_features} outputs");
        }
        Ok(Self {
            weight: std::sync::Arc::new(PackedF32::pack(&values, out_features, in_features)),
            bias: bias.map(std::sync::Arc::new),
        })
    }

    pub fn forward(&self, xs: &Tensor, epilogue: Epilogue) -> Result<Tensor> {
        xs.contiguous()?.apply_op1_no_bwd(&Call {
            layer: self,
            epilogue,
        })
    }
}

/// One call of a [`PackedLinear`], with what to apply to its output.
struct Call<'a> {
    layer: &'a PackedLinear,
    epilogue: Epilogue,
}

impl CustomOp1 for Call<'_> {
    fn name(&self) -> &'static str {
        "packed-f32-linear"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(values) = storage else {
            candle_core::bail!("packed f32 linear takes f32 input");
        };
        let dims = layout.dims();
        let width = dims.last().copied().unwrap_or(0);
        let layer = self.layer;
        if width != layer.weight.in_features {
            candle_core::bail!(
                "linear layer takes {} inputs, got {width}",
                layer.weight.in_features
            );
        }
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("packed f32 linear needs a contiguous input");
        };
        let x = &values[start..end];
        let rows = x.len() / width.max(1);
        let out = layer.weight.matmul(
            x,
            rows,
            layer.bias.as_deref().map(Vec::as_slice),
            self.epilogue,
        );
        let mut out_dims = dims.to_vec();
        if let Some(last) = out_dims.last_mut() {
            *last = layer.weight.out_features;
        }
        Ok((CpuStorage::F32(out), Shape::from(out_dims)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_matmul_matches_the_plain_sum() {
        if !PackedF32::available() {
            eprintln!("no AVX-512 here: nothing to test");
            return;
        }
        for (rows, out, inputs) in [(1, 64, 8), (5, 130, 37), (13, 70, 128), (50, 200, 33)] {
            let w: Vec<f32> = (0..out * inputs)
                .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
                .collect();
            let x: Vec<f32> = (0..rows * inputs)
                .map(|i| ((i * 104729) % 997) as f32 / 997.0 - 0.5)
                .collect();
            let bias: Vec<f32> = (0..out).map(|i| i as f32 / 100.0).collect();
            let got =
                PackedF32::pack(&w, out, inputs).matmul(&x, rows, Some(&bias), Epilogue::Identity);
            for m in 0..rows {
                for n in 0..out {
                    let expected: f32 = (0..inputs)
                        .map(|k| x[m * inputs + k] * w[n * inputs + k])
                        .sum::<f32>()
                        + bias[n];
                    let g = got[m * out + n];
                    assert!(
                        (g - expected).abs() < 1e-4,
                        "{rows}×{out}×{inputs} at ({m}, {n}): {g} vs {expected}"
                    );
                }
            }
        }
    }
}
