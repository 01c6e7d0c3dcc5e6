//! What a reader sees of an article in every format: its English title,
//! date and source, whether its summary was written by a model, and the
//! digest's order, stories and groups.

use std::collections::HashMap;

use crate::output::digest_groups::{group_stories, StoryGroup};
use crate::output::sources::display_source_name;

use crate::output::article::{ArticleOutput, ModelInfo, Summary, SummaryMethod};

/// Label under a machine-written introduction, so nobody takes it for an
/// editor's.
pub(crate) const INTRO_LABEL: &str =
    "Introduction written by a language model from the summaries below.";

pub(crate) fn known(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The date a reader sorts by: publication, else the last update.
pub(crate) fn article_date(article: &ArticleOutput) -> Option<&str> {
    known(&article.published).or_else(|| known(&article.updated))
}

/// The outlet or agency as a reader is shown it: its English name when
/// known, else the name as the page wrote it.
pub(crate) fn source_name(article: &ArticleOutput) -> Option<String> {
    known(&article.source_en)
        .map(str::to_string)
        .or_else(|| known(&article.source).map(display_source_name))
}

/// "Translated by NAME (revision R), licence: L.", each value escaped for
/// the page it goes into.
pub(crate) fn model_line(model: &ModelInfo, escape: fn(&str) -> String) -> String {
    let mut line = format!("Translated by {}", escape(&single_line(&model.name)));
    if let Some(revision) = known(&model.revision) {
        line.push_str(&format!(" (revision {})", escape(revision)));
    }
    match known(&model.licence) {
        Some(licence) => line.push_str(&format!(", licence: {}.", escape(licence))),
        None => line.push_str(", licence unknown."),
    }
    line
}

/// The story's English heading: the model's headline, else the translated
/// title, else the Bengali one, else the id.
pub(crate) fn english_title(article: &ArticleOutput) -> String {
    let headline = article.summary.headline.as_deref().unwrap_or("");
    [headline, &article.title.en, &article.title.bn, &article.id]
        .into_iter()
        .map(single_line)
        .find(|t| !t.is_empty())
        .unwrap_or_default()
}

pub(crate) fn is_extractive(summary: &Summary) -> bool {
    summary.method == SummaryMethod::Extractive
}

/// Newest first by [`article_date`] (ISO 8601 dates sort as text), undated
/// articles after, ties broken by id so the order never depends on input
/// order. The digest's stories and the digest introduction's both follow it.
pub(crate) fn digest_order(articles: &[ArticleOutput]) -> Vec<&ArticleOutput> {
    let mut ordered: Vec<&ArticleOutput> = articles.iter().collect();
    ordered.sort_by(|a, b| digest_cmp(a, b));
    ordered
}

/// [`digest_order`]'s comparison of two articles.
pub(crate) fn digest_cmp(a: &ArticleOutput, b: &ArticleOutput) -> std::cmp::Ordering {
    let date_order = match (article_date(a), article_date(b)) {
        (Some(x), Some(y)) => y.cmp(x),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    };
    date_order.then_with(|| a.id.cmp(&b.id))
}

/// What makes two articles of a run one story: their Bengali title and
/// paragraphs, each after [`crate::text::normalize`] with its whitespace
/// collapsed to single spaces. That is exactly the text the model
/// translated; the input's name and format (a page or its text), URL,
/// dates, byline and the site furniture around the story do not count, so
/// one report saved twice, or fetched from two addresses, is one story.
fn same_text_key(article: &ArticleOutput) -> String {
    let normalized = |text: &str| single_line(&crate::text::normalize(text));
    let mut key = normalized(&article.title.bn);
    for paragraph in &article.paragraphs {
        let sentences: Vec<&str> = paragraph.iter().map(|pair| pair.bn.as_str()).collect();
        key.push('\n');
        key.push_str(&normalized(&sentences.join(" ")));
    }
    key
}

/// [`same_text_key`] as a 64-bit hash (the first 8 bytes of its SHA-256),
/// which an article held in short form keeps in place of its paragraphs.
pub(crate) fn same_text_hash(article: &ArticleOutput) -> u64 {
    use sha2::{Digest, Sha256};
    if let Some(key) = article.digest.text_key {
        return key;
    }
    let digest = Sha256::digest(same_text_key(article).as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// The articles in digest order, those with the same text (see
/// [`same_text_key`]) together: each set starts with the one the digest
/// shows (the first in [`digest_order`], so a dated copy wins over an
/// undated one).
pub(crate) fn same_text_sets(articles: &[ArticleOutput]) -> Vec<Vec<&ArticleOutput>> {
    let mut sets: Vec<Vec<&ArticleOutput>> = Vec::new();
    let mut set_of_key: HashMap<u64, usize> = HashMap::new();
    for article in digest_order(articles) {
        let next = sets.len();
        let index = *set_of_key.entry(same_text_hash(article)).or_insert(next);
        if index == next {
            sets.push(Vec::new());
        }
        sets[index].push(article);
    }
    sets
}

/// The digest's stories: one per text, in digest order, grouped by event.
pub(crate) struct DigestStories<'a> {
    pub(crate) groups: Vec<StoryGroup<'a>>,
    /// Every article of a story that more than one input carried, by the id
    /// of the one shown (which comes first).
    same_text: HashMap<&'a str, Vec<&'a ArticleOutput>>,
    /// Articles of the run, copies included.
    pub(crate) articles: usize,
    /// Stories (distinct texts) of the run.
    pub(crate) stories: usize,
    /// Articles of the run the digest holds (the newest, when it cannot
    /// hold them all).
    pub(crate) shown_articles: usize,
}

/// What a digest covers: the run's articles and stories (which the digest
/// may show only the newest of), and the older articles in its folder.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DigestScope {
    pub(crate) articles: usize,
    pub(crate) stories: usize,
    pub(crate) older_articles: usize,
}

impl<'a> DigestStories<'a> {
    pub(crate) fn new(articles: &'a [ArticleOutput], scope: &DigestScope) -> Self {
        let sets = same_text_sets(articles);
        let shown: Vec<&ArticleOutput> = sets.iter().map(|set| set[0]).collect();
        let same_text = sets
            .into_iter()
            .filter(|set| set.len() > 1)
            .map(|set| (set[0].id.as_str(), set))
            .collect();
        DigestStories {
            groups: group_stories(&shown),
            same_text,
            articles: scope.articles.max(articles.len()),
            stories: scope.stories.max(shown.len()),
            shown_articles: articles.len(),
        }
    }

    /// The articles of the run with `shown`'s text, `shown` first; empty
    /// when it is the only one.
    pub(crate) fn same_text_as(&self, shown: &ArticleOutput) -> &[&'a ArticleOutput] {
        self.same_text
            .get(shown.id.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The digest's first line: what of this run it shows, and what in its
    /// folder it leaves out ("4 articles from this run (1 with the same
    /// text as another, shown with it); 2 older articles in this folder are
    /// not included (run with --prune to remove them).").
    pub(crate) fn scope_line(&self, older_articles: usize) -> String {
        let mut line = match self.articles {
            0 => "No articles were translated in this run".to_string(),
            1 => "1 article from this run".to_string(),
            n => format!("{n} articles from this run"),
        };
        match self.articles - self.stories {
            0 => {}
            1 => line.push_str(" (1 with the same text as another, shown with it)"),
            n => line.push_str(&format!(
                " ({n} with the same text as another, shown with it)"
            )),
        }
        match older_articles {
            0 => {}
            1 => line.push_str(
                "; 1 older article in this folder is not included \
                 (run with --prune to remove it)",
            ),
            n => line.push_str(&format!(
                "; {n} older articles in this folder are not included \
                 (run with --prune to remove them)"
            )),
        }
        line.push('.');
        if self.shown_articles < self.articles {
            line.push_str(&format!(
                " The digest shows the newest {}; manifest.json lists every article.",
                self.shown_articles
            ));
        }
        line
    }
}

/// Collapses all whitespace, newlines included, to single spaces, so a text
/// stays on its line or in its paragraph.
pub(crate) fn single_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// "2 stories: Kim Jong Un, North Korea, Russia".
pub(crate) fn group_heading(group: &StoryGroup) -> String {
    let count = format!("{} stories", group.stories.len());
    if group.shared_terms.is_empty() {
        count
    } else {
        format!("{count}: {}", group.shared_terms.join(", "))
    }
}
