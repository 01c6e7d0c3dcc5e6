//! What a reader sees of an article in every format: its English title, its
//! date and source line, the model that wrote it, and the digest's order and
//! groups.

use crate::output::digest_groups::{group_stories, StoryGroup};
use crate::output::sources::display_source_name;

use crate::output::article::{ArticleOutput, ModelInfo, Summary, SummaryMethod};
use crate::output::markdown::{escape_markdown, single_line};

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

/// "2024-05-01 · Prothom Alo", or `None` when neither is known.
pub(crate) fn date_and_source(article: &ArticleOutput) -> Option<String> {
    let date = match (known(&article.published), known(&article.updated)) {
        (Some(published), _) => Some(published.to_string()),
        (None, Some(updated)) => Some(format!("updated {updated}")),
        (None, None) => None,
    };
    let source = known(&article.source).map(display_source_name);
    let parts: Vec<String> = [date.as_deref(), source.as_deref()]
        .into_iter()
        .flatten()
        .map(escape_markdown)
        .collect();
    (!parts.is_empty()).then(|| parts.join(" · "))
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

pub(crate) fn model_line(model: &ModelInfo) -> String {
    let mut line = format!("Translated by {}", escape_markdown(&model.name));
    if let Some(revision) = known(&model.revision) {
        line.push_str(&format!(" (revision {})", escape_markdown(revision)));
    }
    match known(&model.licence) {
        Some(licence) => line.push_str(&format!(", licence: {}.", escape_markdown(licence))),
        None => line.push_str(", licence unknown."),
    }
    line
}

/// Newest first by `published` (ISO 8601 dates sort as text), undated
/// articles after, ties broken by id so the order never depends on input
/// order.
fn digest_order(articles: &[ArticleOutput]) -> Vec<&ArticleOutput> {
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
