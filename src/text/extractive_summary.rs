//! Deterministic extractive summary of an English translation: picks the few
//! sentences that best stand for the article, by position (news leads with
//! the essentials) and centrality (words shared with the rest of the text).

use std::collections::{BTreeMap, BTreeSet};

/// Sentences in a summary, extractive or written by a chat model, unless
/// the user asks otherwise.
pub const DEFAULT_SUMMARY_SENTENCES: usize = 3;

/// Sentences with fewer content words than this are captions, credits or
/// datelines rather than statements worth summarising.
const MIN_CONTENT_WORDS: usize = 4;
/// Weight of centrality against position in a sentence's score. Equal
/// weights keep a news lead (score 1 for position) from losing to the
/// second sentence merely because that one repeats a few words.
const CENTRALITY_WEIGHT: f64 = 0.5;
const LEAD_WEIGHT: f64 = 1.0 - CENTRALITY_WEIGHT;
/// Above this cosine similarity a candidate repeats a sentence already
/// chosen (pages often print an image caption twice).
const REDUNDANCY_THRESHOLD: f64 = 0.8;

const STOPWORDS: &[&str] = &[
    "a", "about", "after", "against", "all", "also", "an", "and", "any", "are", "as", "at", "be",
    "been", "before", "being", "between", "both", "but", "by", "can", "could", "did", "do", "does",
    "during", "each", "for", "from", "had", "has", "have", "having", "he", "her", "here", "hers",
    "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "more",
    "most", "much", "my", "no", "nor", "not", "now", "of", "on", "once", "one", "only", "or",
    "other", "our", "out", "over", "said", "same", "says", "she", "should", "so", "some", "such",
    "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those",
    "through", "to", "too", "under", "until", "up", "us", "very", "was", "we", "were", "what",
    "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you",
    "your",
];

/// Indices (in document order) of at most `max_sentences` sentences that
/// summarise the text.
///
/// Each sentence is scored by its average TF-IDF cosine similarity to the
/// other sentences (centrality, scaled to the best sentence) plus a lead
/// bonus that decays with position. Sentences with fewer than four content
/// words are only used when there are not enough longer ones, and a
/// near-duplicate of a sentence already chosen is skipped while alternatives
/// remain. When there are no more sentences than `max_sentences`, all are
/// returned. The result depends only on the input.
pub(crate) fn extractive_summary(sentences: &[String], max_sentences: usize) -> Vec<usize> {
    if sentences.len() <= max_sentences {
        return (0..sentences.len()).collect();
    }
    if max_sentences == 0 {
        return Vec::new();
    }
    let bags: Vec<BTreeMap<String, usize>> = sentences.iter().map(|s| word_bag(s)).collect();
    let vectors = tf_idf_vectors(&bags);
    let centrality = centrality_scores(&vectors);
    let best_centrality = centrality.iter().copied().fold(0.0_f64, f64::max);
    let score = |index: usize| {
        let central = if best_centrality > 0.0 {
            centrality[index] / best_centrality
        } else {
            0.0
        };
        let lead = 1.0 / (1.0 + index as f64);
        CENTRALITY_WEIGHT * central + LEAD_WEIGHT * lead
    };

    let mut ranked: Vec<usize> = (0..sentences.len()).collect();
    let substantial = |index: &usize| bags[*index].values().sum::<usize>() >= MIN_CONTENT_WORDS;
    ranked.sort_by(|&a, &b| {
        substantial(&b)
            .cmp(&substantial(&a))
            .then(score(b).total_cmp(&score(a)))
            .then(a.cmp(&b))
    });

    let mut chosen: Vec<usize> = Vec::with_capacity(max_sentences);
    let mut repeats: Vec<usize> = Vec::new();
    for &candidate in &ranked {
        if chosen.len() == max_sentences {
            break;
        }
        let repeats_chosen = chosen
            .iter()
            .any(|&picked| cosine(&vectors[candidate], &vectors[picked]) > REDUNDANCY_THRESHOLD);
        if repeats_chosen {
            repeats.push(candidate);
        } else {
            chosen.push(candidate);
        }
    }
    // Too few distinct sentences: fill up with the best-ranked repeats.
    chosen.extend(repeats.into_iter().take(max_sentences - chosen.len()));
    chosen.sort_unstable();
    chosen
}

/// Lower-cased content words with a crude plural fold, so that "troops" and
/// "troop" count as one word.
fn word_bag(sentence: &str) -> BTreeMap<String, usize> {
    let mut bag = BTreeMap::new();
    for raw in sentence.split(|c: char| !c.is_alphanumeric()) {
        let word = raw.to_lowercase();
        if word.chars().count() < 2 || STOPWORDS.contains(&word.as_str()) {
            continue;
        }
        let folded = match word.strip_suffix('s') {
            Some(stem) if stem.chars().count() >= 3 && !stem.ends_with('s') => stem.to_owned(),
            _ => word,
        };
        *bag.entry(folded).or_insert(0) += 1;
    }
    bag
}

/// TF-IDF weights; BTreeMaps keep the summation order, and so the floating
/// point result, identical from run to run.
fn tf_idf_vectors(bags: &[BTreeMap<String, usize>]) -> Vec<BTreeMap<String, f64>> {
    let mut document_frequency: BTreeMap<&str, usize> = BTreeMap::new();
    for bag in bags {
        let distinct: BTreeSet<&str> = bag.keys().map(String::as_str).collect();
        for word in distinct {
            *document_frequency.entry(word).or_insert(0) += 1;
        }
    }
    let sentence_count = bags.len() as f64;
    bags.iter()
        .map(|bag| {
            bag.iter()
                .map(|(word, &count)| {
                    let frequency = document_frequency.get(word.as_str()).copied().unwrap_or(1);
                    let idf = (1.0 + sentence_count / frequency as f64).ln();
                    (word.clone(), count as f64 * idf)
                })
                .collect()
        })
        .collect()
}

fn cosine(a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>) -> f64 {
    let dot: f64 = a
        .iter()
        .filter_map(|(word, weight)| b.get(word).map(|other| weight * other))
        .sum();
    let norm = |v: &BTreeMap<String, f64>| v.values().map(|w| w * w).sum::<f64>().sqrt();
    let denominator = norm(a) * norm(b);
    if denominator > 0.0 {
        dot / denominator
    } else {
        0.0
    }
}

fn centrality_scores(vectors: &[BTreeMap<String, f64>]) -> Vec<f64> {
    let others = vectors.len().saturating_sub(1).max(1) as f64;
    (0..vectors.len())
        .map(|i| {
            let total: f64 = (0..vectors.len())
                .filter(|&j| j != i)
                .map(|j| cosine(&vectors[i], &vectors[j]))
                .sum();
            total / others
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(sentences: &[&str]) -> Vec<String> {
        sentences.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn short_inputs_return_every_sentence() {
        assert!(extractive_summary(&[], 3).is_empty());
        assert_eq!(extractive_summary(&owned(&["Only one."]), 3), vec![0]);
        assert_eq!(extractive_summary(&owned(&["One.", "Two."]), 3), vec![0, 1]);
        assert_eq!(
            extractive_summary(&owned(&["One.", "Two.", "Three."]), 3),
            vec![0, 1, 2]
        );
    }

    #[test]
    fn zero_budget_selects_nothing() {
        let sentences = owned(&["North Korea sent troops to Russia.", "Kim met Lavrov.", "x"]);
        assert!(extractive_summary(&sentences, 0).is_empty());
    }

    #[test]
    fn lead_sentence_wins_when_sentences_share_nothing() {
        let sentences = owned(&[
            "Pyongyang confirmed deploying soldiers abroad for the first time.",
            "Weather forecasters expect heavy monsoon rain across coastal districts.",
            "Football supporters celebrated their club winning the national cup.",
            "Bakers reported rising flour prices affecting bread production nationwide.",
        ]);
        assert_eq!(extractive_summary(&sentences, 1), vec![0]);
    }

    #[test]
    fn centrality_picks_the_sentence_sharing_most_words() {
        // Sentence 4 shares words with each of 1, 2 and 3, which share
        // nothing with each other: it is the hub of the story despite its
        // late position, while sentence 1 would win on position alone.
        let sentences = owned(&[
            "North Korea confirmed sending troops abroad for the first time.",
            "Officials in Seoul declined to comment on the report.",
            "Markets in Tokyo closed slightly higher after a quiet session.",
            "A monument honouring fallen soldiers will rise in Pyongyang.",
            "Seoul officials say soldiers from Pyongyang fought in Kursk, and Tokyo markets barely reacted.",
        ]);
        assert_eq!(extractive_summary(&sentences, 2), vec![0, 4]);
    }

    #[test]
    fn result_is_in_document_order_and_within_budget() {
        let sentences = owned(&[
            "Analysts say the weather was mild across the region this week.",
            "Kim Jong Un pledged unconditional support for Russia in the Ukraine war.",
            "Kim told Lavrov that North Korea supports every Russian measure in Ukraine.",
            "Lavrov and Kim discussed North Korea support for Russia during talks in Wonsan.",
            "Putin may visit soon, Lavrov told Kim during talks in Wonsan.",
        ]);
        let picked = extractive_summary(&sentences, 3);
        assert_eq!(picked.len(), 3);
        assert!(
            picked.windows(2).all(|pair| pair[0] < pair[1]),
            "{picked:?}"
        );
    }

    #[test]
    fn very_short_sentences_are_skipped() {
        let sentences = owned(&[
            "Source: Al Jazeera.",
            "North Korea pledged unconditional support for Russia in the Ukraine war.",
            "Photo: collected.",
            "Kim met Russian foreign minister Lavrov for strategic talks on the war.",
            "North Korea has supplied Russia with weapons and ammunition for the war.",
        ]);
        let picked = extractive_summary(&sentences, 2);
        assert!(!picked.contains(&0) && !picked.contains(&2), "{picked:?}");
    }

    #[test]
    fn duplicated_caption_is_not_picked_twice() {
        let caption = "Kim Jong Un met Russian defence minister Andrei Belousov in Pyongyang.";
        let sentences = owned(&[
            caption,
            caption,
            "Kim said Russia has the right to self defence against Ukraine.",
            "The United States allowed Ukraine to strike Russia with long range missiles.",
        ]);
        let picked = extractive_summary(&sentences, 2);
        assert_eq!(picked.len(), 2);
        assert!(!(picked.contains(&0) && picked.contains(&1)), "{picked:?}");
    }
}
