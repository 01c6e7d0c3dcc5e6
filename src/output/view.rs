//! What a reader sees of an article in every format: its English title and
//! date, whether its summary was written by a model, and the digest's order
//! and groups.

use crate::output::digest_groups::{group_stories, StoryGroup};

use crate::output::article::{ArticleOutput, Summary, SummaryMethod};

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
    ordered.sort_by(|a, b| {
        let date_order = match (article_date(a), article_date(b)) {
            (Some(x), Some(y)) => y.cmp(x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        date_order.then_with(|| a.id.cmp(&b.id))
    });
    ordered
}

/// The digest's stories in digest order, grouped by event.
pub(crate) fn digest_groups(articles: &[ArticleOutput]) -> Vec<StoryGroup<'_>> {
    group_stories(&digest_order(articles))
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
