//! The log-softmax of one row of logits, for beam search on the host.
//!
//! A beam step at batch 32 × 4 beams takes the log-softmax of 128 rows of a
//! 58k (opus-mt) to 256k (NLLB) vocabulary. With the C library's `expf`, one
//! value at a time, that was an eighth of the run; here `exp` is a short
//! polynomial over 16 lanes that the compiler vectorizes. Only the row's
//! maximum and log-sum are computed: a log-probability is then
//! `(x - max) - log_sum`, taken where it is needed.

#[cfg(target_arch = "x86_64")]
use super::avx512;

/// The maximum of `row` and `ln Σ exp(x - max)` over it, so that
/// `(x - max) - log_sum` is the log-softmax of `x`.
pub fn max_and_log_sum(row: &[f32]) -> (f32, f32) {
    #[cfg(target_arch = "x86_64")]
    if avx512() {
        // SAFETY: the CPU has AVX-512F.
        return unsafe { max_and_log_sum_avx512(row) };
    }
    max_and_log_sum_any(row)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn max_and_log_sum_avx512(row: &[f32]) -> (f32, f32) {
    max_and_log_sum_any(row)
}

#[inline(always)]
fn max_and_log_sum_any(row: &[f32]) -> (f32, f32) {
    const LANES: usize = 16;
    let mut maxes = [f32::NEG_INFINITY; LANES];
    let chunks = row.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks.clone() {
        for (m, &v) in maxes.iter_mut().zip(chunk) {
            *m = if v > *m { v } else { *m };
        }
    }
    let max = maxes
        .iter()
        .chain(tail)
        .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let mut sums = [0f32; LANES];
    for chunk in chunks {
        for (s, &v) in sums.iter_mut().zip(chunk) {
            *s += exp(v - max);
        }
    }
    let sum: f32 = sums.iter().sum::<f32>() + tail.iter().map(|&v| exp(v - max)).sum::<f32>();
    (max, sum.ln())
}

/// `exp(x)` (Cephes' `expf`: x = n·ln2 + r, a degree-5 polynomial in r,
/// 2ⁿ put into the exponent bits), within 2 ulp of the C library's and
/// plain arithmetic the compiler vectorizes. Inputs are clamped to
/// -87..=88: below, the result is as good as 0 for a sum of probabilities or
/// a sigmoid; above, f32 overflows anyway.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2E + 0.5).floor();
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 5e-1;
    let e = p * r * r + r + 1.0;
    // SAFETY: `x` is clamped, so `n` is a whole number in -126..=128.
    // (`as i32` would be a saturating cast, which the compiler does one lane
    // at a time: that was most of a log-softmax.)
    let n = unsafe { n.to_int_unchecked::<i32>() };
    let scale = f32::from_bits(((n + 127) as u32) << 23);
    e * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_within_a_few_ulp_of_the_library() {
        let mut x = -87.0f32;
        while x <= 88.0 {
            let (got, want) = (exp(x), x.exp());
            assert!(
                (got - want).abs() <= 4.0 * f32::EPSILON * want,
                "exp({x}) = {got}, library {want}"
            );
            x += 0.0137;
        }
    }

    #[test]
    fn log_softmax_matches_the_plain_formula() {
        let row: Vec<f32> = (0..1003)
            .map(|i| ((i * 7919) % 2000) as f32 / 100.0 - 10.0)
            .collect();
        let (row_max, log_sum) = max_and_log_sum(&row);
        let got: Vec<f32> = row.iter().map(|&v| (v - row_max) - log_sum).collect();
        let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let log_sum = row
            .iter()
            .map(|&v| ((v - max) as f64).exp())
            .sum::<f64>()
            .ln();
        for (g, &v) in got.iter().zip(&row) {
            let want = (v - max) as f64 - log_sum;
            assert!((*g as f64 - want).abs() < 1e-5, "{g} vs {want}");
        }
    }
}
