//! Corpus and sentence BLEU as sacreBLEU computes them (`metrics/bleu.py`):
//! n-grams up to 4 counted on tokenized words, each hypothesis n-gram
//! clipped by its largest count in any reference, the reference length
//! closest to the hypothesis (the shorter on a tie), statistics summed over
//! the corpus, then `exp` smoothing (mteval-v13a's) and the brevity penalty.

use std::collections::HashMap;

use super::tokenize::{python_rstrip, python_split, BleuTokenizer};
use super::{check_shape, MetricError};

/// The n-gram orders BLEU averages.
pub const MAX_NGRAM_ORDER: usize = 4;

/// BLEU's settings; the default is sacreBLEU's corpus BLEU.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bleu {
    pub tokenizer: BleuTokenizer,
    /// Average only the orders the hypothesis has n-grams for: what
    /// sacreBLEU does for sentence-level BLEU (`--sentence-level`), so a
    /// short sentence is not scored zero for lacking 4-grams.
    pub effective_order: bool,
}

/// The sufficient statistics of one sentence, or of a corpus (summed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BleuStats {
    pub hyp_len: u64,
    pub ref_len: u64,
    /// Clipped matches per order (1-grams first).
    pub correct: [u64; MAX_NGRAM_ORDER],
    /// Hypothesis n-grams per order.
    pub total: [u64; MAX_NGRAM_ORDER],
}

impl std::ops::AddAssign for BleuStats {
    fn add_assign(&mut self, other: BleuStats) {
        self.hyp_len += other.hyp_len;
        self.ref_len += other.ref_len;
        for n in 0..MAX_NGRAM_ORDER {
            self.correct[n] += other.correct[n];
            self.total[n] += other.total[n];
        }
    }
}

/// A BLEU score with what it was computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct BleuScore {
    /// 0 to 100, unrounded (sacreBLEU rounds only when printing).
    pub score: f64,
    /// Per-order precisions in percent, smoothed.
    pub precisions: [f64; MAX_NGRAM_ORDER],
    pub brevity_penalty: f64,
    pub stats: BleuStats,
}

type Ngrams<'a> = HashMap<&'a [&'a str], u64>;

fn count_ngrams<'a>(words: &'a [&'a str]) -> Ngrams<'a> {
    let mut counts = HashMap::new();
    for n in 1..=MAX_NGRAM_ORDER {
        for ngram in words.windows(n) {
            *counts.entry(ngram).or_insert(0) += 1;
        }
    }
    counts
}

impl Bleu {
    /// What sacreBLEU scores: the line without trailing whitespace, tokenized.
    fn prepare(&self, line: &str) -> String {
        self.tokenizer.tokenize(python_rstrip(line)).into_owned()
    }

    /// One sentence's statistics against its references (at least one).
    pub fn sentence_stats(&self, hypothesis: &str, references: &[&str]) -> BleuStats {
        let references: Vec<String> = references.iter().map(|r| self.prepare(r)).collect();
        let reference_words: Vec<Vec<&str>> = references
            .iter()
            .map(|r| python_split(r).collect())
            .collect();
        let mut max_reference_counts: Ngrams = HashMap::new();
        for words in &reference_words {
            for (ngram, count) in count_ngrams(words) {
                let best = max_reference_counts.entry(ngram).or_insert(0);
                *best = (*best).max(count);
            }
        }
        let hypothesis = self.prepare(hypothesis);
        let words: Vec<&str> = python_split(&hypothesis).collect();
        let hyp_len = words.len() as u64;
        let mut stats = BleuStats {
            hyp_len,
            ref_len: closest_reference_length(
                hyp_len,
                reference_words.iter().map(|w| w.len() as u64),
            ),
            ..BleuStats::default()
        };
        for (ngram, count) in count_ngrams(&words) {
            let n = ngram.len() - 1;
            stats.total[n] += count;
            if let Some(reference_count) = max_reference_counts.get(ngram) {
                stats.correct[n] += count.min(*reference_count);
            }
        }
        stats
    }

    /// Corpus BLEU: `references` holds reference streams, each as long as
    /// `hypotheses`.
    pub fn corpus_score<S: AsRef<str>>(
        &self,
        hypotheses: &[S],
        references: &[Vec<S>],
    ) -> Result<BleuScore, MetricError> {
        check_shape(hypotheses.len(), references)?;
        let mut stats = BleuStats::default();
        for (i, hypothesis) in hypotheses.iter().enumerate() {
            let refs: Vec<&str> = references.iter().map(|stream| stream[i].as_ref()).collect();
            stats += self.sentence_stats(hypothesis.as_ref(), &refs);
        }
        Ok(self.score(stats))
    }

    /// One sentence's BLEU (sacreBLEU's `sentence_score`).
    pub fn sentence_score(&self, hypothesis: &str, references: &[&str]) -> BleuScore {
        self.score(self.sentence_stats(hypothesis, references))
    }

    /// The score of summed statistics (sacreBLEU's `compute_bleu` with
    /// `exp` smoothing).
    pub fn score(&self, stats: BleuStats) -> BleuScore {
        let (hyp_len, ref_len) = (stats.hyp_len, stats.ref_len);
        let mut brevity_penalty = 1.0;
        if hyp_len < ref_len {
            brevity_penalty = if hyp_len > 0 {
                (1.0 - ref_len as f64 / hyp_len as f64).exp()
            } else {
                0.0
            };
        }
        let mut precisions = [0.0; MAX_NGRAM_ORDER];
        if stats.correct.iter().all(|&c| c == 0) {
            return BleuScore {
                score: 0.0,
                precisions,
                brevity_penalty,
                stats,
            };
        }
        let mut smooth = 1.0;
        let mut orders = MAX_NGRAM_ORDER;
        let orders_counted = stats.correct.iter().zip(&stats.total).zip(&mut precisions);
        for (n, ((&correct, &total), precision)) in orders_counted.enumerate() {
            if total == 0 {
                break;
            }
            if self.effective_order {
                orders = n + 1;
            }
            *precision = if correct == 0 {
                // mteval-v13a: each order without a match halves what the
                // previous one got.
                smooth *= 2.0;
                100.0 / (smooth * total as f64)
            } else {
                100.0 * correct as f64 / total as f64
            };
        }
        // Python's sum() from 0, left to right; log(0) floored as
        // sacreBLEU's my_log does, which makes the score 0.
        let log_sum = precisions[..orders].iter().fold(0.0, |sum, &p| {
            sum + if p == 0.0 { -9_999_999_999.0 } else { p.ln() }
        });
        BleuScore {
            score: brevity_penalty * (log_sum / orders as f64).exp(),
            precisions,
            brevity_penalty,
            stats,
        }
    }
}

/// The reference length closest to the hypothesis length; the shorter of
/// two equally close.
fn closest_reference_length(hyp_len: u64, reference_lengths: impl Iterator<Item = u64>) -> u64 {
    let mut closest: Option<(u64, u64)> = None;
    for length in reference_lengths {
        let difference = hyp_len.abs_diff(length);
        closest = match closest {
            Some((best_difference, best))
                if best_difference < difference
                    || (best_difference == difference && best <= length) =>
            {
                Some((best_difference, best))
            }
            _ => Some((difference, length)),
        };
    }
    closest.map_or(0, |(_, length)| length)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_sentences_score_100_and_unrelated_ones_0() {
        let bleu = Bleu::default();
        let same = bleu.sentence_score("The minister said so.", &["The minister said so."]);
        assert!((same.score - 100.0).abs() < 1e-9);
        assert_eq!(bleu.sentence_score("a b c d", &["e f g h"]).score, 0.0);
    }

    #[test]
    fn the_closest_reference_length_prefers_the_shorter_on_a_tie() {
        assert_eq!(closest_reference_length(5, [7, 3, 9].into_iter()), 3);
        assert_eq!(closest_reference_length(5, [6, 4].into_iter()), 4);
    }

    #[test]
    fn mismatched_streams_are_an_error() {
        let refs = vec![vec!["a".to_string()]];
        let hyps = vec!["a".to_string(), "b".to_string()];
        assert!(Bleu::default().corpus_score(&hyps, &refs).is_err());
    }
}
