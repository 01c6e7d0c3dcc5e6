//! Groups the stories of one batch that report the same event, so the digest
//! can show them under one heading instead of scattered by date.
//!
//! No model is involved: each story's English title, summary and first
//! paragraph are reduced to key terms (capitalized names such as "Kim Jong
//! Un", day-and-month dates, and numbers of two or more digits), each term is
//! weighted by how rare it is in the batch, and two stories are linked when
//! they share at least [`MIN_SHARED_TERMS`] terms whose weight makes up at
//! least [`MIN_WEIGHTED_JACCARD`] of all their terms. Groups are the connected
//! components of these links. Capitals are only trusted where English grammar
//! does not force them: a sentence-initial or title-case word counts as a
//! name only when the batch also writes it capitalized mid-sentence.
//!
//! Everything is decided by sets and sorted maps, so the groups do not depend
//! on the order of the input beyond the order the caller asks for.

use std::collections::{BTreeMap, BTreeSet};

use crate::output::ArticleOutput;
use crate::text::english::{
    self, is_acronym, is_capitalised, month_number, strip_possessive, HONORIFICS, MONTHS,
    NAME_CONNECTORS,
};

/// Fewest distinct shared terms that can link two stories: one shared name
/// ("Dhaka", "Bangladesh") is common to unrelated stories of one country.
pub(crate) const MIN_SHARED_TERMS: usize = 2;

/// Smallest weighted Jaccard similarity (shared term weight over the weight
/// of all terms of the two stories) that links two stories.
pub(crate) const MIN_WEIGHTED_JACCARD: f64 = 0.2;

/// Most shared terms named in a group's heading.
const MAX_HEADING_TERMS: usize = 4;

/// Stories about one event, in the order they were given, and the key terms
/// they share (most telling first, as the text writes them). `shared_terms`
/// is empty for a story that stands alone.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoryGroup<'a> {
    pub(crate) stories: Vec<&'a ArticleOutput>,
    pub(crate) shared_terms: Vec<String>,
}

/// Splits `ordered` into groups of stories about the same event.
///
/// Order is kept: each group sits where its first story is and lists its
/// stories in their given order, so stories passed newest first give groups
/// ordered by their newest story, each newest first.
pub(crate) fn group_stories<'a>(ordered: &[&'a ArticleOutput]) -> Vec<StoryGroup<'a>> {
    let texts: Vec<Vec<Sentence>> = ordered.iter().map(|a| story_sentences(a)).collect();
    let confirmed = confirmed_names(&texts);
    let raw_terms: Vec<Vec<Term>> = texts.iter().map(|t| extract_terms(t, &confirmed)).collect();
    let canonical = canonical_forms(&raw_terms);
    let displays = term_displays(&raw_terms, &canonical);
    let term_sets: Vec<BTreeSet<String>> = raw_terms
        .iter()
        .map(|terms| {
            terms
                .iter()
                .map(|term| canonical.get(&term.key).unwrap_or(&term.key).clone())
                .collect()
        })
        .collect();
    let weights = idf_weights(&term_sets);

    let mut components = UnionFind::new(ordered.len());
    for a in 0..ordered.len() {
        for b in a + 1..ordered.len() {
            if linked(&term_sets[a], &term_sets[b], &weights) {
                components.union(a, b);
            }
        }
    }

    let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for index in 0..ordered.len() {
        members
            .entry(components.find(index))
            .or_default()
            .push(index);
    }
    let mut groups: Vec<Vec<usize>> = members.into_values().collect();
    groups.sort_by_key(|indices| indices[0]);
    groups
        .into_iter()
        .map(|indices| StoryGroup {
            stories: indices.iter().map(|&i| ordered[i]).collect(),
            shared_terms: if indices.len() > 1 {
                heading_terms(&indices, &term_sets, &weights, &displays)
            } else {
                Vec::new()
            },
        })
        .collect()
}

/// How each term is shown: as the text first writes the term itself, or
/// else as the first variant that was mapped to it.
fn term_displays(
    raw_terms: &[Vec<Term>],
    canonical: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut displays: BTreeMap<String, String> = BTreeMap::new();
    for term in raw_terms.iter().flatten() {
        if !canonical.contains_key(&term.key) {
            displays
                .entry(term.key.clone())
                .or_insert_with(|| term.display.clone());
        }
    }
    for term in raw_terms.iter().flatten() {
        if let Some(key) = canonical.get(&term.key) {
            displays
                .entry(key.clone())
                .or_insert_with(|| term.display.clone());
        }
    }
    displays
}

/// Inverse document frequency over the batch, `ln(1 + N / df)`: a term in
/// every story still weighs something (small batches are often one topic),
/// a term in one story in a hundred weighs much more.
fn idf_weights(term_sets: &[BTreeSet<String>]) -> BTreeMap<String, f64> {
    let mut document_frequency: BTreeMap<&str, usize> = BTreeMap::new();
    for set in term_sets {
        for term in set {
            *document_frequency.entry(term).or_default() += 1;
        }
    }
    let stories = term_sets.len() as f64;
    document_frequency
        .into_iter()
        .map(|(term, df)| (term.to_string(), (1.0 + stories / df as f64).ln()))
        .collect()
}

fn linked(a: &BTreeSet<String>, b: &BTreeSet<String>, weights: &BTreeMap<String, f64>) -> bool {
    let weight = |term: &String| weights.get(term).copied().unwrap_or(0.0);
    let shared: Vec<&String> = a.intersection(b).collect();
    if shared.len() < MIN_SHARED_TERMS {
        return false;
    }
    let shared_weight: f64 = shared.iter().map(|t| weight(t)).sum();
    let union_weight: f64 = a.union(b).map(weight).sum();
    union_weight > 0.0 && shared_weight / union_weight >= MIN_WEIGHTED_JACCARD
}

/// The terms most of the group shares, most stories first, then the rarer
/// in the batch; a word already named inside a longer shared name is left
/// out ("Kim" after "Kim Jong Un").
fn heading_terms(
    indices: &[usize],
    term_sets: &[BTreeSet<String>],
    weights: &BTreeMap<String, f64>,
    displays: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut counts: BTreeMap<&String, usize> = BTreeMap::new();
    for &index in indices {
        for term in &term_sets[index] {
            *counts.entry(term).or_default() += 1;
        }
    }
    let mut shared: Vec<(&String, usize)> = counts.into_iter().filter(|(_, n)| *n >= 2).collect();
    shared.sort_by(|(ta, na), (tb, nb)| {
        let wa = weights.get(*ta).copied().unwrap_or(0.0);
        let wb = weights.get(*tb).copied().unwrap_or(0.0);
        nb.cmp(na)
            .then(wb.total_cmp(&wa))
            .then(tb.split(' ').count().cmp(&ta.split(' ').count()))
            .then(ta.cmp(tb))
    });
    let mut chosen: Vec<&String> = Vec::new();
    for (term, _) in shared {
        let inside_chosen = chosen
            .iter()
            .any(|c| c.split(' ').any(|word| word == term.as_str()));
        if !inside_chosen {
            chosen.push(term);
        }
        if chosen.len() == MAX_HEADING_TERMS {
            break;
        }
    }
    chosen
        .into_iter()
        .map(|key| displays.get(key).cloned().unwrap_or_else(|| key.clone()))
        .collect()
}

/// A sentence as words, each marked when its capital may be grammar's
/// rather than a name's (first word of a sentence, any word of a
/// title-case headline).
type Sentence = Vec<Word>;

#[derive(Debug, Clone)]
struct Word {
    text: String,
    position: Position,
}

/// Why a word might be capitalized other than for being a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    /// Mid-sentence: a capital means a name.
    Free,
    /// First word of a sentence or clause.
    SentenceStart,
    /// In a headline that capitalizes every word.
    TitleCase,
}

impl Word {
    fn capital_is_ambiguous(&self) -> bool {
        self.position != Position::Free
    }
}

/// Title, summary and first paragraph: the parts where a story names its
/// who, where and when.
fn story_sentences(article: &ArticleOutput) -> Vec<Sentence> {
    let mut sentences = Vec::new();
    let title = &article.title.en;
    let title_case = is_title_case(title);
    for mut sentence in split_sentences(title) {
        if title_case {
            for word in &mut sentence {
                word.position = Position::TitleCase;
            }
        }
        sentences.push(sentence);
    }
    sentences.extend(split_sentences(&article.summary.text));
    if let Some(first) = article.paragraphs.first() {
        for pair in first {
            sentences.extend(split_sentences(&pair.en));
        }
    }
    sentences
}

/// "North Korea Sends Troops To Russia": most words capitalized, so a
/// capital says nothing about a word.
fn is_title_case(title: &str) -> bool {
    let words: Vec<&str> = title
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphabetic))
        .collect();
    let content: Vec<&&str> = words
        .iter()
        .filter(|w| !is_function_or_style_word(&w.to_lowercase()))
        .collect();
    if content.len() < 3 {
        return false;
    }
    let capitalized = content.iter().filter(|w| is_capitalised(w)).count();
    capitalized * 10 >= content.len() * 8
}

/// Splits on sentence ends and on punctuation that starts a new clause a
/// writer capitalizes (colon, opening quote or bracket): the word after
/// such a mark is sentence-initial. Words are runs of letters, digits and
/// inner `'`, `-`, `.` or `,` (so "10,000", "3.5" and "Sher-e-Bangla" stay
/// whole).
fn split_sentences(text: &str) -> Vec<Sentence> {
    let mut sentences: Vec<Sentence> = Vec::new();
    let mut current: Sentence = Vec::new();
    let mut next_is_initial = true;
    let chars: Vec<char> = text.chars().collect();
    let mut index = 0;
    while index < chars.len() {
        let c = chars[index];
        if c.is_alphanumeric() {
            let start = index;
            while index < chars.len() {
                let here = chars[index];
                let joins = matches!(here, '\'' | '’' | '-' | '.' | ',')
                    && chars.get(index + 1).is_some_and(|n| n.is_alphanumeric())
                    && chars[index - 1].is_alphanumeric()
                    && (here != ','
                        || (chars[index - 1].is_ascii_digit()
                            && chars[index + 1].is_ascii_digit()))
                    && (here != '.' || chars[index + 1].is_ascii_digit());
                if here.is_alphanumeric() || joins {
                    index += 1;
                } else {
                    break;
                }
            }
            let word: String = chars[start..index].iter().collect();
            current.push(Word {
                text: strip_possessive(&word).to_string(),
                position: if next_is_initial {
                    Position::SentenceStart
                } else {
                    Position::Free
                },
            });
            next_is_initial = false;
            continue;
        }
        match c {
            '.' | '!' | '?' | '\n' => {
                if !current.is_empty() {
                    sentences.push(std::mem::take(&mut current));
                }
                next_is_initial = true;
            }
            ':' | '"' | '“' | '‘' | '(' | '[' | '—' | '–' | ';' => next_is_initial = true,
            // A comma or dash between words keeps the names on either side
            // from running together ("Kim, Putin").
            _ if !c.is_whitespace() => current.push(Word {
                text: String::new(),
                position: Position::Free,
            }),
            _ => {}
        }
        index += 1;
    }
    if !current.is_empty() {
        sentences.push(current);
    }
    sentences
}

/// Lower-case forms of the words the batch writes capitalized where grammar
/// does not ask for it: these are names wherever they appear. A
/// sentence-initial word counts when the next word is such a name ("North"
/// in "North Korea has…") or when it is an acronym ("KCNA said…").
fn confirmed_names(texts: &[Vec<Sentence>]) -> BTreeSet<String> {
    let is_free_capital = |word: &Word| {
        !word.capital_is_ambiguous()
            && is_capitalised(&word.text)
            && !is_stopword(&word.text.to_lowercase())
    };
    let mut confirmed = BTreeSet::new();
    for sentence in texts.iter().flatten() {
        for (index, word) in sentence.iter().enumerate() {
            let starts_sentence = word.position == Position::SentenceStart
                && is_capitalised(&word.text)
                && !is_stopword(&word.text.to_lowercase())
                && (is_acronym(&word.text) || sentence.get(index + 1).is_some_and(is_free_capital));
            if is_free_capital(word) || starts_sentence {
                confirmed.insert(word.text.to_lowercase());
            }
        }
    }
    confirmed
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Term {
    /// Lower-case, words joined by single spaces (`"kim jong un"`,
    /// `"date 1 december"`, `"10000"`).
    key: String,
    /// As the text first writes it.
    display: String,
}

fn is_name_word(word: &Word, confirmed: &BTreeSet<String>) -> bool {
    if !is_capitalised(&word.text) || is_stopword(&word.text.to_lowercase()) {
        return false;
    }
    !word.capital_is_ambiguous() || confirmed.contains(&word.text.to_lowercase())
}

fn extract_terms(sentences: &[Sentence], confirmed: &BTreeSet<String>) -> Vec<Term> {
    let mut terms = Vec::new();
    for sentence in sentences {
        let mut index = 0;
        while index < sentence.len() {
            let word = &sentence[index];
            if let Some((date, used)) = date_at(sentence, index) {
                terms.push(date);
                index += used;
                continue;
            }
            if let Some(number) = number_term(&word.text) {
                terms.push(number);
                index += 1;
                continue;
            }
            if !is_name_word(word, confirmed) {
                index += 1;
                continue;
            }
            // A name runs over capitalized words, and over a lower-case
            // connector between two of them ("Bank of England").
            let mut end = index + 1;
            while end < sentence.len() {
                if is_name_word(&sentence[end], confirmed)
                    && month_number(&sentence[end].text).is_none()
                {
                    end += 1;
                } else if NAME_CONNECTORS.contains(&sentence[end].text.as_str())
                    && sentence
                        .get(end + 1)
                        .is_some_and(|n| is_name_word(n, confirmed))
                {
                    end += 2;
                } else {
                    break;
                }
            }
            // Titles are not part of a name and separate the names around
            // them ("Russian Foreign Minister Sergei Lavrov").
            let run: Vec<&str> = sentence[index..end]
                .iter()
                .map(|w| w.text.as_str())
                .collect();
            for name in run.split(|w| HONORIFICS.contains(&w.to_lowercase().as_str())) {
                let mut name = name;
                while let Some((last, rest)) = name.split_last() {
                    if NAME_CONNECTORS.contains(last) {
                        name = rest;
                    } else {
                        break;
                    }
                }
                while let Some((first, rest)) = name.split_first() {
                    if NAME_CONNECTORS.contains(first) {
                        name = rest;
                    } else {
                        break;
                    }
                }
                if name.first().is_some_and(|w| month_number(w).is_none()) {
                    let display = name.join(" ");
                    terms.push(Term {
                        key: normalize_words(&display),
                        display,
                    });
                }
            }
            index = end;
        }
    }
    terms
}

fn normalize_words(text: &str) -> String {
    text.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// "1 December", "December 1" or "December 1, 2024" as one term keyed by day
/// and month, so the two orders match; the year is left out because stories
/// on the same event may give it or not.
fn date_at(sentence: &[Word], index: usize) -> Option<(Term, usize)> {
    let word = &sentence[index].text;
    let next = sentence.get(index + 1).map(|w| w.text.as_str());
    let (day, month, used) =
        if let (Some(month), Some(day)) = (month_number(word), next.and_then(day_number)) {
            (day, month, 2)
        } else if let (Some(day), Some(month)) = (day_number(word), next.and_then(month_number)) {
            (day, month, 2)
        } else {
            return None;
        };
    let (month_name, _) = MONTHS[month as usize - 1];
    let display = format!("{day} {month_name}");
    Some((
        Term {
            key: format!("date {day} {}", month_name.to_lowercase()),
            display,
        },
        used,
    ))
}

fn day_number(word: &str) -> Option<u32> {
    let digits = word
        .strip_suffix("st")
        .or_else(|| word.strip_suffix("nd"))
        .or_else(|| word.strip_suffix("rd"))
        .or_else(|| word.strip_suffix("th"))
        .unwrap_or(word);
    if digits.is_empty() || digits.len() > 2 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|d| (1..=31).contains(d))
}

/// Numbers of two or more digits, separators dropped ("10,000" = "10000").
/// Years alone are not terms: most stories of a batch share one.
fn number_term(word: &str) -> Option<Term> {
    if !word.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    if !word
        .chars()
        .all(|c| c.is_ascii_digit() || c == ',' || c == '.')
    {
        return None;
    }
    let key: String = word.chars().filter(|c| *c != ',').collect();
    let digits = key.chars().filter(char::is_ascii_digit).count();
    if digits < 2 {
        return None;
    }
    if key.len() == 4 && (key.starts_with("19") || key.starts_with("20")) && !key.contains('.') {
        return None;
    }
    Some(Term {
        key,
        display: word.to_string(),
    })
}

/// Maps a term to the one it stands for elsewhere in the batch: a lone
/// "Kim" to "Kim Jong Un", "Russian" to "Russia", "North Korean" to "North
/// Korea". Among several candidates the one in most stories wins, then the
/// longer, then the first alphabetically, so the choice is deterministic.
fn canonical_forms(raw_terms: &[Vec<Term>]) -> BTreeMap<String, String> {
    let mut document_frequency: BTreeMap<&str, usize> = BTreeMap::new();
    for terms in raw_terms {
        let unique: BTreeSet<&str> = terms.iter().map(|t| t.key.as_str()).collect();
        for key in unique {
            *document_frequency.entry(key).or_default() += 1;
        }
    }
    let names: Vec<&str> = document_frequency
        .keys()
        .copied()
        .filter(|k| !k.starts_with("date ") && !k.starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    let mut canonical = BTreeMap::new();
    for &name in &names {
        let words: Vec<&str> = name.split(' ').collect();
        let mut candidates: Vec<&str> = Vec::new();
        // A demonym or plural of a name the batch uses.
        let base_forms = demonym_bases(&words);
        for base in &base_forms {
            if let Some(found) = names.iter().find(|n| **n == base.as_str()) {
                candidates.push(found);
            }
        }
        if words.len() == 1 && candidates.is_empty() {
            // Only an unambiguous expansion: with both "Dhaka University"
            // and "Dhaka Metropolitan Police" in the batch, "Dhaka" is
            // neither.
            let word = words[0];
            let longer: Vec<&str> = names
                .iter()
                .copied()
                .filter(|longer| {
                    let longer_words: Vec<&str> = longer.split(' ').collect();
                    longer_words.len() > 1
                        && (longer_words.first() == Some(&word)
                            || longer_words.last() == Some(&word))
                })
                .collect();
            if let [only] = longer[..] {
                candidates.push(only);
            }
        }
        let best = candidates.into_iter().max_by(|a, b| {
            let df = |k: &str| document_frequency.get(k).copied().unwrap_or(0);
            df(a).cmp(&df(b)).then(a.len().cmp(&b.len())).then(b.cmp(a))
        });
        if let Some(best) = best {
            canonical.insert(name.to_string(), best.to_string());
        }
    }
    // Follow chains ("russians" → "russian" → "russia") to their end; a
    // cycle cannot arise because every step shortens or lengthens a name in
    // one direction only, but the walk is bounded all the same.
    let keys: Vec<String> = canonical.keys().cloned().collect();
    for key in keys {
        let mut target = canonical[&key].clone();
        for _ in 0..4 {
            match canonical.get(&target) {
                Some(next) if *next != key => target = next.clone(),
                _ => break,
            }
        }
        canonical.insert(key, target);
    }
    canonical
}

/// Names a demonym or plural may come from: the last word without "s",
/// "n", "i", or with "ian" turned into "e" ("Ukrainian" → "Ukraine").
fn demonym_bases(words: &[&str]) -> Vec<String> {
    let Some((last, rest)) = words.split_last() else {
        return Vec::new();
    };
    let mut bases = Vec::new();
    let mut push = |replaced: String| {
        if replaced.len() >= 3 {
            let mut all: Vec<String> = rest.iter().map(|w| w.to_string()).collect();
            all.push(replaced);
            bases.push(all.join(" "));
        }
    };
    for suffix in ["s", "n", "i"] {
        if let Some(stem) = last.strip_suffix(suffix) {
            push(stem.to_string());
        }
    }
    if let Some(stem) = last.strip_suffix("ian") {
        push(format!("{stem}e"));
    }
    bases
}

fn is_stopword(lower: &str) -> bool {
    is_function_or_style_word(lower) || english::is_weekday_name(lower)
}

fn is_function_or_style_word(lower: &str) -> bool {
    english::OPENING_FUNCTION_WORDS.contains(&lower) || STOPWORDS.contains(&lower)
}

struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    fn new(size: usize) -> UnionFind {
        UnionFind {
            parent: (0..size).collect(),
        }
    }

    fn find(&mut self, mut index: usize) -> usize {
        while self.parent[index] != index {
            self.parent[index] = self.parent[self.parent[index]];
            index = self.parent[index];
        }
        index
    }

    /// The smaller index becomes the root, so roots do not depend on the
    /// order links are found in.
    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        let (root, child) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.parent[child] = root;
    }
}

/// Words capitalized for grammar or style rather than as names, besides
/// [`english::OPENING_FUNCTION_WORDS`]: more function words, titles, and
/// words of time; months are handled as dates and weekdays say nothing
/// about which event it is.
#[rustfmt::skip]
const STOPWORDS: &[&str] = &[
    "about", "again", "against", "all", "also", "any", "are", "be", "because", "been", "being",
    "between", "both", "can", "could", "did", "do", "does", "each", "had", "has", "have", "here",
    "hers", "him", "how", "if", "into", "is", "just", "last", "many", "may", "me", "more", "most",
    "mr", "mrs", "ms", "much", "my", "new", "no", "nor", "not", "now", "of", "once", "one", "only",
    "or", "other", "our", "out", "over", "said", "says", "should", "since", "so", "some", "such",
    "than", "that", "them", "then", "though", "through", "today", "tomorrow", "too", "two", "under",
    "until", "up", "very", "was", "were", "what", "where", "which", "who", "whom", "why", "will",
    "would", "yesterday", "you", "your",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::SentencePair;

    fn story(id: &str, title: &str, summary: &str, first_paragraph: &[&str]) -> ArticleOutput {
        let mut story = ArticleOutput::bare(id);
        story.title.en = title.to_string();
        story.summary.text = summary.to_string();
        story.paragraphs = vec![first_paragraph
            .iter()
            .map(|en| SentencePair {
                bn: "বাক্য।".to_string(),
                en: en.to_string(),
            })
            .collect()];
        story
    }

    fn ids(groups: &[StoryGroup]) -> Vec<Vec<String>> {
        groups
            .iter()
            .map(|g| g.stories.iter().map(|s| s.id.clone()).collect())
            .collect()
    }

    fn kim_troops() -> ArticleOutput {
        story(
            "kim-troops",
            "North Korea Confirms Sending Troops To Russia",
            "North Korea has confirmed for the first time that it sent troops to Russia. \
             KCNA said on Monday that its forces fought in the Kursk region.",
            &[
                "North Korea has confirmed for the first time that it sent troops to Russia.",
                "Its forces fought in the Kursk region, leader Kim Jong Un said.",
            ],
        )
    }

    fn kim_self_defence() -> ArticleOutput {
        story(
            "self-defence",
            "Russia has the right to self-defence: Kim",
            "North Korean leader Kim Jong Un said Russia has the right to defend itself. \
             He made the remark on 1 December.",
            &["North Korean leader Kim Jong Un said Russia has the right to defend itself."],
        )
    }

    fn cricket() -> ArticleOutput {
        story(
            "cricket",
            "Bangladesh beat Zimbabwe by 8 wickets in Sylhet",
            "Bangladesh beat Zimbabwe by eight wickets at the Sylhet International Cricket \
             Stadium on Sunday. Shakib Al Hasan took four wickets.",
            &["Bangladesh beat Zimbabwe by eight wickets on Sunday."],
        )
    }

    fn lavrov_visit() -> ArticleOutput {
        story(
            "lavrov-visit",
            "Kim meets Lavrov",
            "Russian Foreign Minister Sergei Lavrov visited North Korea. He met Kim Jong Un, \
             who pledged unconditional support to Moscow.",
            &["Russian Foreign Minister Sergei Lavrov visited North Korea."],
        )
    }

    #[test]
    fn three_reports_on_north_korea_and_russia_form_one_group() {
        let (a, b, c, d) = (kim_troops(), cricket(), lavrov_visit(), kim_self_defence());
        let groups = group_stories(&[&a, &b, &c, &d]);
        assert_eq!(
            ids(&groups),
            vec![
                vec!["kim-troops", "lavrov-visit", "self-defence"],
                vec!["cricket"]
            ]
        );
        assert_eq!(
            groups[0].shared_terms,
            vec!["Kim Jong Un", "North Korea", "Russia"]
        );
    }

    #[test]
    fn stories_about_kim_and_russia_group_and_cricket_stands_apart() {
        let (a, b, c) = (kim_troops(), cricket(), kim_self_defence());
        let groups = group_stories(&[&a, &b, &c]);
        assert_eq!(
            ids(&groups),
            vec![vec!["kim-troops", "self-defence"], vec!["cricket"]]
        );
        let heading = &groups[0].shared_terms;
        assert!(heading.contains(&"Kim Jong Un".to_string()), "{heading:?}");
        assert!(heading.contains(&"Russia".to_string()), "{heading:?}");
        assert!(heading.contains(&"North Korea".to_string()), "{heading:?}");
        // A word of a longer shared name is not repeated.
        assert!(!heading.contains(&"Kim".to_string()), "{heading:?}");
        assert!(groups[1].shared_terms.is_empty());
    }

    #[test]
    fn groups_keep_the_given_order() {
        let (a, b, c) = (kim_troops(), cricket(), kim_self_defence());
        let groups = group_stories(&[&b, &c, &a]);
        assert_eq!(
            ids(&groups),
            vec![vec!["cricket"], vec!["self-defence", "kim-troops"]]
        );
    }

    #[test]
    fn one_shared_place_is_not_enough() {
        let politics = story(
            "politics",
            "Election Commission meets parties in Dhaka",
            "The Election Commission met political parties in Dhaka on Tuesday to discuss the \
             schedule. The BNP and Jamaat attended.",
            &[],
        );
        let flood = story(
            "flood",
            "Waterlogging in Dhaka after heavy rain",
            "Heavy rain left roads in Dhaka under water. The Met Office forecast more rain.",
            &[],
        );
        let groups = group_stories(&[&politics, &flood]);
        assert_eq!(groups.len(), 2, "{:?}", ids(&groups));
    }

    #[test]
    fn sentence_initial_and_title_case_capitals_are_not_names() {
        let texts = vec![
            split_sentences("Troops Return Home After Talks"),
            split_sentences("Officials said troops returned. Talks with Lavrov ended."),
        ];
        let mut texts = texts;
        for word in &mut texts[0][0] {
            word.position = Position::TitleCase;
        }
        let confirmed = confirmed_names(&texts);
        let keys: Vec<String> = texts
            .iter()
            .flat_map(|t| extract_terms(t, &confirmed))
            .map(|t| t.key)
            .collect();
        assert_eq!(keys, vec!["lavrov"]);
    }

    #[test]
    fn names_numbers_and_dates_are_terms() {
        let sentences =
            split_sentences("On 1 December, President Vladimir Putin's aide met the Bank of England and 10,000 troops in 2024.");
        let keys: Vec<String> = extract_terms(&sentences, &BTreeSet::new())
            .into_iter()
            .map(|t| t.key)
            .collect();
        assert_eq!(
            keys,
            vec![
                "date 1 december",
                "vladimir putin",
                "bank of england",
                "10000"
            ]
        );
        let other_order =
            extract_terms(&split_sentences("It began December 1st."), &BTreeSet::new());
        assert_eq!(other_order[0].key, "date 1 december");
    }

    #[test]
    fn a_lone_surname_and_a_demonym_join_their_full_names() {
        let terms = vec![
            vec![
                Term {
                    key: "kim jong un".into(),
                    display: "Kim Jong Un".into(),
                },
                Term {
                    key: "russia".into(),
                    display: "Russia".into(),
                },
            ],
            vec![
                Term {
                    key: "kim".into(),
                    display: "Kim".into(),
                },
                Term {
                    key: "russian".into(),
                    display: "Russian".into(),
                },
            ],
        ];
        let canonical = canonical_forms(&terms);
        assert_eq!(
            canonical.get("kim").map(String::as_str),
            Some("kim jong un")
        );
        assert_eq!(canonical.get("russian").map(String::as_str), Some("russia"));
        assert_eq!(canonical.get("russia"), None);
    }

    #[test]
    fn grouping_is_deterministic_whatever_the_input_order() {
        let (a, b, c) = (kim_troops(), cricket(), kim_self_defence());
        let forward = group_stories(&[&a, &b, &c]);
        let again = group_stories(&[&a, &b, &c]);
        assert_eq!(forward, again);
        let mut sorted_forward: Vec<Vec<String>> = ids(&forward)
            .into_iter()
            .map(|mut g| {
                g.sort();
                g
            })
            .collect();
        sorted_forward.sort();
        let mut sorted_reverse: Vec<Vec<String>> = ids(&group_stories(&[&c, &b, &a]))
            .into_iter()
            .map(|mut g| {
                g.sort();
                g
            })
            .collect();
        sorted_reverse.sort();
        assert_eq!(sorted_forward, sorted_reverse);
    }

    #[test]
    fn untranslated_gibberish_and_empty_stories_stand_alone() {
        let empty = story("empty", "", "", &[]);
        let lower = story("lower", "uttar koriyaa", "raashiyaar senaa", &[]);
        let groups = group_stories(&[&empty, &lower]);
        assert_eq!(groups.len(), 2);
        assert!(group_stories(&[]).is_empty());
    }
}
