//! The chat model's part of a run: the digest introduction, written from the
//! newest stories' summaries.

use crate::cache::Cache;
use crate::llm::summarizer::{StoryBrief, Summarizer};
use crate::output::{ArticleOutput, SummaryMethod};

use crate::pipeline::{with_causes, Event};

/// The chat model's introduction to the digest of `articles`, newest story
/// first; a model that fails leaves the digest without one, with a warning.
pub(crate) fn digest_intro(
    summarizer: &Summarizer,
    articles: &[ArticleOutput],
    cache: Option<&Cache>,
    observe: &mut dyn FnMut(Event),
) -> Option<String> {
    let mut by_date: Vec<&ArticleOutput> = articles
        .iter()
        .filter(|a| a.summary.method == SummaryMethod::Llm)
        .collect();
    let date = |a: &ArticleOutput| {
        a.published
            .clone()
            .or_else(|| a.updated.clone())
            .unwrap_or_default()
    };
    by_date.sort_by(|a, b| date(b).cmp(&date(a)).then_with(|| a.id.cmp(&b.id)));
    let stories: Vec<StoryBrief> = by_date
        .iter()
        .map(|a| StoryBrief {
            title: a
                .summary
                .headline
                .clone()
                .unwrap_or_else(|| a.title.en.clone()),
            summary: a.summary.text.clone(),
        })
        .collect();
    // "A digest of 2024-05-01" only when every story is of that day.
    let mut days: Vec<String> = by_date
        .iter()
        .map(|a| date(a).chars().take(10).collect())
        .collect();
    days.dedup();
    let day = match days.as_slice() {
        [day] if !day.is_empty() => Some(day.as_str()),
        _ => None,
    };
    match summarizer.digest_intro(&stories, day, cache) {
        Ok(intro) => intro,
        Err(e) => {
            observe(Event::Warning {
                message: format!("no digest introduction: {}", with_causes(&e)),
            });
            None
        }
    }
}
