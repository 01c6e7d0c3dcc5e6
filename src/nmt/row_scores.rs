//! One row of a decoding step: transformers' logits processors, and the best
//! next tokens read from the logits where they are.
//!
//! A beam step at batch 32 × 4 beams scores 128 rows of a 58k (opus-mt) to
//! 256k (NLLB) vocabulary. Writing each row's log-softmax out, processing it
//! and scanning it again was a quarter of a beam-search run. Here a row is
//! read three times (its maximum, its sum of exponentials, its best
//! entries) and never written, and the processors, which change a handful
//! of entries unless they force a token, change just those. Every score is
//! still the same f32 arithmetic as transformers' `log_softmax`, processors
//! and `+ beam_scores`, in that order.

use std::collections::BTreeMap;

use crate::kernels::softmax::max_and_log_sum;

use super::generate::GenerationConfig;

/// Scores a logits processor reads and changes by token id.
trait Scores {
    fn len(&self) -> usize;
    fn get(&self, token: usize) -> f32;
    fn set(&mut self, token: usize, score: f32);
}

impl Scores for [f32] {
    fn len(&self) -> usize {
        <[f32]>::len(self)
    }

    fn get(&self, token: usize) -> f32 {
        self[token]
    }

    fn set(&mut self, token: usize, score: f32) {
        self[token] = score;
    }
}

/// A row's scores as computed by `base`, plus the processors' changes.
struct Changed<F> {
    base: F,
    len: usize,
    changes: BTreeMap<usize, f32>,
}

impl<F: Fn(usize) -> f32> Scores for Changed<F> {
    fn len(&self) -> usize {
        self.len
    }

    fn get(&self, token: usize) -> f32 {
        match self.changes.get(&token) {
            Some(&score) => score,
            None => (self.base)(token),
        }
    }

    fn set(&mut self, token: usize, score: f32) {
        self.changes.insert(token, score);
    }
}

/// The processors of `generate()` that change single tokens, in
/// transformers' order, for the hypothesis `sequence` (which starts with the
/// decoder start token).
fn apply_rules<S: Scores + ?Sized>(config: &GenerationConfig, sequence: &[u32], scores: &mut S) {
    let vocab = scores.len();
    let ban = |scores: &mut S, token: u32| {
        if (token as usize) < vocab {
            scores.set(token as usize, f32::NEG_INFINITY);
        }
    };
    if config.repetition_penalty != 1.0 {
        let mut seen = std::collections::HashSet::new();
        for &token in sequence {
            let t = token as usize;
            if t < vocab && seen.insert(token) {
                let s = scores.get(t);
                let penalised = if s < 0.0 {
                    s * config.repetition_penalty
                } else {
                    s / config.repetition_penalty
                };
                scores.set(t, penalised);
            }
        }
    }
    let n = config.no_repeat_ngram_size;
    if n > 0 && sequence.len() + 1 >= n {
        let prefix = &sequence[sequence.len() + 1 - n..];
        for window in sequence.windows(n) {
            if &window[..n - 1] == prefix {
                ban(scores, window[n - 1]);
            }
        }
    }
    for bad in &config.bad_words_ids {
        if let Some((&last, prefix)) = bad.split_last() {
            if sequence.ends_with(prefix) {
                ban(scores, last);
            }
        }
    }
    if sequence.len() < config.min_length {
        for &eos in &config.eos_token_ids {
            ban(scores, eos);
        }
    }
}

/// The tokens a processor forces after `sequence`, if any: every other
/// token's score becomes -inf and theirs 0, whatever the rules did. A
/// forced end (at `max_length`) comes after, so wins over, a forced start.
fn forced_tokens<'c>(config: &'c GenerationConfig, sequence: &[u32]) -> Option<&'c [u32]> {
    if !config.forced_eos_token_ids.is_empty() && sequence.len() + 1 == config.max_length {
        return Some(&config.forced_eos_token_ids);
    }
    match &config.forced_bos_token_id {
        Some(bos) if sequence.len() == 1 => Some(std::slice::from_ref(bos)),
        _ => None,
    }
}

/// The scores every processor leaves for a forced step: -inf, 0 for `tokens`.
fn forced_scores(vocab: usize, tokens: &[u32]) -> Vec<f32> {
    let mut scores = vec![f32::NEG_INFINITY; vocab];
    for &t in tokens {
        if let Some(s) = scores.get_mut(t as usize) {
            *s = 0.0;
        }
    }
    scores
}

/// Every logits processor of `generate()`, in transformers' order, applied
/// to one whole row of scores for the hypothesis `sequence`.
#[cfg(test)]
fn process(config: &GenerationConfig, sequence: &[u32], scores: &mut [f32]) {
    apply_rules(config, sequence, scores);
    if let Some(tokens) = forced_tokens(config, sequence) {
        scores.copy_from_slice(&forced_scores(scores.len(), tokens));
    }
}

/// Greedy search's next token after `sequence`: the argmax of the processed
/// `logits`, ties to the lowest id as `torch.argmax`.
pub(super) fn best_token(config: &GenerationConfig, sequence: &[u32], logits: &[f32]) -> u32 {
    if let Some(tokens) = forced_tokens(config, sequence) {
        let scores = forced_scores(logits.len(), tokens);
        return top_k(scores, 1)
            .first()
            .map_or(0, |&(token, _)| token as u32);
    }
    let mut scores = Changed {
        base: |token: usize| logits[token],
        len: logits.len(),
        changes: BTreeMap::new(),
    };
    apply_rules(config, sequence, &mut scores);
    let changes: Vec<(usize, f32)> = scores.changes.into_iter().collect();
    top_k_of_row(logits, |v| v, &changes, 1)
        .first()
        .map_or(0, |&(token, _)| token as u32)
}

/// Beam search's `k` best continuations of the hypothesis `sequence` with
/// running score `score`: `top_k(process(log_softmax(logits)) + score)`.
pub(super) fn best_continuations(
    config: &GenerationConfig,
    sequence: &[u32],
    score: f32,
    logits: &[f32],
    k: usize,
) -> Vec<(usize, f32)> {
    if let Some(tokens) = forced_tokens(config, sequence) {
        let scores = forced_scores(logits.len(), tokens);
        return top_k(scores.into_iter().map(|s| s + score), k);
    }
    let (max, log_sum) = max_and_log_sum(logits);
    let log_prob = |v: f32| (v - max) - log_sum;
    let mut scores = Changed {
        base: |token: usize| log_prob(logits[token]),
        len: logits.len(),
        changes: BTreeMap::new(),
    };
    apply_rules(config, sequence, &mut scores);
    let changes: Vec<(usize, f32)> = scores
        .changes
        .into_iter()
        .map(|(token, s)| (token, s + score))
        .collect();
    top_k_of_row(logits, |v| log_prob(v) + score, &changes, k)
}

/// The best `k` entries offered so far, best first; equal values keep the
/// order they were offered in (as `torch.topk` returns them here).
struct Best {
    k: usize,
    entries: Vec<(usize, f32)>,
}

impl Best {
    fn new(k: usize) -> Self {
        Self {
            k,
            entries: Vec::with_capacity(k + 1),
        }
    }

    fn full(&self) -> bool {
        self.entries.len() == self.k
    }

    /// The value an entry must exceed to get in once full.
    fn bar(&self) -> f32 {
        self.entries
            .last()
            .map_or(f32::NEG_INFINITY, |&(_, value)| value)
    }

    #[inline(always)]
    fn offer(&mut self, index: usize, value: f32) {
        if self.k == 0 {
            return;
        }
        // A later index never displaces an equal value.
        if self.full() && value.partial_cmp(&self.bar()) != Some(std::cmp::Ordering::Greater) {
            return;
        }
        let at = self.entries.partition_point(|&(_, v)| v >= value);
        self.entries.insert(at, (index, value));
        self.entries.truncate(self.k);
    }
}

/// The `k` largest of `values` as `(index, value)`, largest first; equal
/// values keep index order. One pass, no sorting of the whole input: k is a
/// few beams, the input a vocabulary.
pub(super) fn top_k(values: impl IntoIterator<Item = f32>, k: usize) -> Vec<(usize, f32)> {
    let mut best = Best::new(k);
    for (index, value) in values.into_iter().enumerate() {
        best.offer(index, value);
    }
    best.entries
}

/// [`top_k`] of `value(row[i])`, except that `changes` (sorted by index)
/// give some entries' values outright.
fn top_k_of_row(
    row: &[f32],
    value: impl Fn(f32) -> f32,
    changes: &[(usize, f32)],
    k: usize,
) -> Vec<(usize, f32)> {
    #[cfg(target_arch = "x86_64")]
    if crate::kernels::avx512() {
        // SAFETY: the CPU has AVX-512F.
        return unsafe { top_k_of_row_avx512(row, value, changes, k) };
    }
    top_k_of_row_any(row, value, changes, k)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn top_k_of_row_avx512(
    row: &[f32],
    value: impl Fn(f32) -> f32,
    changes: &[(usize, f32)],
    k: usize,
) -> Vec<(usize, f32)> {
    top_k_of_row_any(row, value, changes, k)
}

#[inline(always)]
fn top_k_of_row_any(
    row: &[f32],
    value: impl Fn(f32) -> f32,
    changes: &[(usize, f32)],
    k: usize,
) -> Vec<(usize, f32)> {
    const LANES: usize = 16;
    let mut best = Best::new(k);
    let mut changes = changes.iter().peekable();
    for (chunk_index, chunk) in row.chunks(LANES).enumerate() {
        let start = chunk_index * LANES;
        let changed_here = changes
            .peek()
            .is_some_and(|&&(i, _)| i < start + chunk.len());
        if changed_here || !best.full() || chunk.len() < LANES {
            for (offset, &v) in chunk.iter().enumerate() {
                let index = start + offset;
                let v = match changes.peek() {
                    Some(&&(i, changed)) if i == index => {
                        changes.next();
                        changed
                    }
                    _ => value(v),
                };
                best.offer(index, v);
            }
            continue;
        }
        // Most chunks hold nothing better than the k-th best so far: check
        // all 16 lanes at once and only then go one by one.
        let bar = best.bar();
        let mut values = [0f32; LANES];
        let mut better = false;
        for (slot, &v) in values.iter_mut().zip(chunk) {
            *slot = value(v);
            better |= *slot > bar;
        }
        if better {
            for (offset, &v) in values.iter().enumerate() {
                best.offer(start + offset, v);
            }
        }
    }
    best.entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn config() -> GenerationConfig {
        GenerationConfig::from_json(
            &serde_json::json!({"num_beams": 4, "max_length": 10, "bad_words_ids": [[9]],
                                 "forced_eos_token_id": 0, "decoder_start_token_id": 9,
                                 "eos_token_id": 0, "pad_token_id": 9}),
            &Value::Null,
        )
        .unwrap()
    }

    #[test]
    fn bad_words_and_forced_eos_are_applied() {
        let c = config();
        let mut scores = vec![0.5f32; 12];
        process(&c, &[9, 3], &mut scores);
        assert_eq!(scores[9], f32::NEG_INFINITY, "pad is a banned word");
        let mut scores = vec![0.5f32; 12];
        process(&c, &[9, 3, 4, 5, 6, 7, 8, 1, 2], &mut scores);
        assert_eq!(scores[0], 0.0, "eos forced at max_length - 1");
        assert!(scores[1..].iter().all(|s| *s == f32::NEG_INFINITY));
    }

    #[test]
    fn no_repeat_ngram_bans_completing_a_seen_ngram() {
        let mut c = config();
        c.bad_words_ids.clear();
        c.forced_eos_token_ids.clear();
        c.no_repeat_ngram_size = 2;
        let mut scores = vec![0.0f32; 12];
        // "3 4" was seen; the hypothesis ends in 3, so 4 is banned.
        process(&c, &[9, 3, 4, 5, 3], &mut scores);
        assert_eq!(scores[4], f32::NEG_INFINITY);
        assert_eq!(scores[5], 0.0);
    }

    #[test]
    fn top_k_orders_by_value_then_index() {
        let indices = |v: &[f32], k| {
            top_k(v.iter().copied(), k)
                .into_iter()
                .map(|(i, _)| i)
                .collect::<Vec<_>>()
        };
        assert_eq!(indices(&[1.0, 3.0, 3.0, 2.0], 3), vec![1, 2, 3]);
        assert_eq!(indices(&[1.0], 4), vec![0]);
        assert_eq!(
            indices(&[f32::NEG_INFINITY, 0.5, f32::NEG_INFINITY], 3),
            vec![1, 0, 2]
        );
    }

    /// The row read in place must give exactly what writing the
    /// log-softmax out, processing it and scanning it gives, ties and all.
    #[test]
    fn continuations_read_in_place_equal_the_written_out_row() {
        let mut c = config();
        c.forced_eos_token_ids.clear();
        c.no_repeat_ngram_size = 2;
        c.repetition_penalty = 1.3;
        c.min_length = 6;
        for seed in 0..50u32 {
            let vocab = 37 + seed as usize * 13;
            // Few distinct values, so there are many ties.
            let logits: Vec<f32> = (0..vocab as u32)
                .map(|i| (i.wrapping_mul(2654435761).wrapping_add(seed) % 7) as f32 * 0.5 - 1.0)
                .collect();
            let sequence = [9, 3, 4, 5, 3, seed % 11];
            let score = -(seed as f32) * 0.37;
            for k in [1, 3, 8] {
                let (max, log_sum) = max_and_log_sum(&logits);
                let mut written: Vec<f32> = logits.iter().map(|&v| (v - max) - log_sum).collect();
                process(&c, &sequence, &mut written);
                let expected = top_k(written.iter().map(|s| s + score), k);
                assert_eq!(
                    best_continuations(&c, &sequence, score, &logits, k),
                    expected,
                    "seed {seed}, k {k}"
                );
            }
            let mut processed = logits.clone();
            process(&c, &sequence, &mut processed);
            assert_eq!(
                best_token(&c, &sequence, &logits) as usize,
                top_k(processed, 1)[0].0,
                "seed {seed}"
            );
        }
    }

    #[test]
    fn a_forced_token_is_the_only_continuation_with_a_finite_score() {
        let c = config();
        let logits = vec![0.25f32; 40];
        let sequence = [9, 3, 4, 5, 6, 7, 8, 1, 2];
        assert_eq!(best_token(&c, &sequence, &logits), 0);
        let best = best_continuations(&c, &sequence, -2.0, &logits, 3);
        assert_eq!(best[0], (0, -2.0));
        assert_eq!(best[1..], [(1, f32::NEG_INFINITY), (2, f32::NEG_INFINITY)]);
    }
}
