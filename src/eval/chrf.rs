//! chrF and chrF++ as sacreBLEU computes them (`metrics/chrf.py`):
//! character n-grams (1 to 6) of the sentence with its whitespace removed,
//! for chrF++ also word n-grams (1 and 2) of words with one punctuation
//! mark split off their end or start; per-order hypothesis, reference and
//! match counts summed over the corpus before one F-score, averaged over
//! the orders that have n-grams on both sides (sacreBLEU's default,
//! "effective order"), with β = 2 weighting recall.

use std::collections::HashMap;

use super::tokenize::{is_python_whitespace, python_split};
use super::{check_shape, MetricError};

/// chrF's settings; [`Chrf::CHRF`] and [`Chrf::CHRF_PLUS_PLUS`] are
/// sacreBLEU's `chrF2` and `chrF2++`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chrf {
    pub char_order: usize,
    pub word_order: usize,
    pub beta: u32,
    /// Keep whitespace inside character n-grams.
    pub whitespace: bool,
}

impl Default for Chrf {
    fn default() -> Self {
        Chrf::CHRF
    }
}

/// Per order (character orders first, then word orders): hypothesis
/// n-grams, reference n-grams, matches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChrfStats(pub Vec<[u64; 3]>);

impl ChrfStats {
    fn add(&mut self, other: &ChrfStats) {
        if self.0.is_empty() {
            self.0 = vec![[0; 3]; other.0.len()];
        }
        for (mine, theirs) in self.0.iter_mut().zip(&other.0) {
            for k in 0..3 {
                mine[k] += theirs[k];
            }
        }
    }
}

type Counts = HashMap<String, u64>;

/// sacreBLEU's `string.punctuation`: the ASCII marks chrF++ splits off words.
fn is_ascii_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
}

/// Words for chrF++: one ASCII punctuation mark split off the end of a
/// word, or else off its start (`(hi)` gives `(hi` and `)`, as sacreBLEU
/// does).
fn words_for_ngrams(sentence: &str) -> Vec<String> {
    let mut words = Vec::new();
    for word in python_split(sentence) {
        let mut chars = word.chars();
        let (first, last) = (chars.next(), chars.next_back());
        match (first, last) {
            (Some(_), None) => words.push(word.to_string()),
            (_, Some(last)) if is_ascii_punctuation(last) => {
                words.push(word[..word.len() - last.len_utf8()].to_string());
                words.push(last.to_string());
            }
            (Some(first), _) if is_ascii_punctuation(first) => {
                words.push(first.to_string());
                words.push(word[first.len_utf8()..].to_string());
            }
            _ => words.push(word.to_string()),
        }
    }
    words
}

fn char_ngrams(sentence: &str, order: usize, whitespace: bool) -> Vec<Counts> {
    let chars: Vec<char> = if whitespace {
        sentence.chars().collect()
    } else {
        sentence
            .chars()
            .filter(|c| !is_python_whitespace(*c))
            .collect()
    };
    (1..=order)
        .map(|n| {
            let mut counts = Counts::new();
            for window in chars.windows(n) {
                *counts.entry(window.iter().collect()).or_insert(0) += 1;
            }
            counts
        })
        .collect()
}

fn word_ngrams(words: &[String], n: usize) -> Counts {
    let mut counts = Counts::new();
    for window in words.windows(n) {
        *counts.entry(window.join(" ")).or_insert(0) += 1;
    }
    counts
}

/// sacreBLEU's `_get_match_statistics`: no reference n-grams of an order
/// means the hypothesis's do not count either.
fn match_statistics(hypothesis: &Counts, reference: &Counts) -> [u64; 3] {
    let mut hyp_count = 0;
    let mut matches = 0;
    for (ngram, count) in hypothesis {
        hyp_count += count;
        if let Some(reference_count) = reference.get(ngram) {
            matches += (*count).min(*reference_count);
        }
    }
    let reference_count = reference.values().sum();
    [
        if reference.is_empty() { 0 } else { hyp_count },
        reference_count,
        matches,
    ]
}

impl Chrf {
    /// sacreBLEU's default chrF (`chrF2`).
    pub const CHRF: Chrf = Chrf {
        char_order: 6,
        word_order: 0,
        beta: 2,
        whitespace: false,
    };
    /// chrF++ (`chrF2++`): chrF with word 1- and 2-grams.
    pub const CHRF_PLUS_PLUS: Chrf = Chrf {
        word_order: 2,
        ..Chrf::CHRF
    };

    /// Its name as sacreBLEU prints it: `chrF2`, `chrF2++`.
    pub fn name(&self) -> String {
        format!("chrF{}{}", self.beta, "+".repeat(self.word_order))
    }

    fn ngrams(&self, sentence: &str) -> Vec<Counts> {
        let mut ngrams = char_ngrams(sentence, self.char_order, self.whitespace);
        if self.word_order > 0 {
            let words = words_for_ngrams(sentence);
            ngrams.extend((1..=self.word_order).map(|n| word_ngrams(&words, n)));
        }
        ngrams
    }

    /// One sentence's statistics against the reference that gives it the
    /// best F-score (the first of equals).
    pub fn sentence_stats(&self, hypothesis: &str, references: &[&str]) -> ChrfStats {
        let hypothesis = self.ngrams(hypothesis);
        let mut best: Option<(f64, ChrfStats)> = None;
        for reference in references {
            let reference = self.ngrams(reference);
            let stats = ChrfStats(
                hypothesis
                    .iter()
                    .zip(&reference)
                    .map(|(h, r)| match_statistics(h, r))
                    .collect(),
            );
            let f_score = self.f_score(&stats);
            if best.as_ref().is_none_or(|(best_f, _)| f_score > *best_f) {
                best = Some((f_score, stats));
            }
        }
        best.map(|(_, stats)| stats).unwrap_or_default()
    }

    /// Corpus chrF: `references` holds reference streams, each as long as
    /// `hypotheses`.
    pub fn corpus_score<S: AsRef<str>>(
        &self,
        hypotheses: &[S],
        references: &[Vec<S>],
    ) -> Result<f64, MetricError> {
        check_shape(hypotheses.len(), references)?;
        let mut total = ChrfStats::default();
        for (i, hypothesis) in hypotheses.iter().enumerate() {
            let refs: Vec<&str> = references.iter().map(|stream| stream[i].as_ref()).collect();
            total.add(&self.sentence_stats(hypothesis.as_ref(), &refs));
        }
        Ok(self.f_score(&total))
    }

    /// One sentence's chrF (sacreBLEU's `sentence_score`).
    pub fn sentence_score(&self, hypothesis: &str, references: &[&str]) -> f64 {
        self.f_score(&self.sentence_stats(hypothesis, references))
    }

    /// sacreBLEU's `_compute_f_score` without epsilon smoothing: precision
    /// and recall averaged over the orders with n-grams on both sides,
    /// then one F-beta, 0 to 100.
    pub fn f_score(&self, stats: &ChrfStats) -> f64 {
        let factor = f64::from(self.beta * self.beta);
        let (mut precision, mut recall, mut orders) = (0.0, 0.0, 0u32);
        for &[hyp, reference, matches] in &stats.0 {
            if hyp > 0 && reference > 0 {
                precision += matches as f64 / hyp as f64;
                recall += matches as f64 / reference as f64;
                orders += 1;
            }
        }
        if orders == 0 {
            return 0.0;
        }
        precision /= f64::from(orders);
        recall /= f64::from(orders);
        if precision + recall == 0.0 {
            return 0.0;
        }
        let score = (1.0 + factor) * precision * recall / (factor * precision + recall);
        100.0 * score
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chrf_plus_plus_splits_one_punctuation_mark_off_a_word() {
        assert_eq!(
            words_for_ngrams("(hi) “x” a. ,b"),
            ["(hi", ")", "“x”", "a", ".", ",", "b"]
        );
    }

    #[test]
    fn identical_sentences_score_100() {
        let s = "প্রধানমন্ত্রী said on Tuesday.";
        assert!((Chrf::CHRF_PLUS_PLUS.sentence_score(s, &[s]) - 100.0).abs() < 1e-9);
    }

    #[test]
    fn names_follow_sacrebleu() {
        assert_eq!(Chrf::CHRF.name(), "chrF2");
        assert_eq!(Chrf::CHRF_PLUS_PLUS.name(), "chrF2++");
    }
}
