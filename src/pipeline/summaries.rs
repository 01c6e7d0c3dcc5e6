//! The chat model's part of a run: the digest introduction, written from the
//! newest stories' summaries.

use crate::cache::RunCache;
use crate::llm::summarizer::{StoryBrief, Summarizer};
use crate::llm::summary::METHOD_LLM;
use crate::output::ArticleOutput;

use crate::pipeline::{report_cache_failure, with_causes, Event};

/// The chat model's introduction to the digest of `articles`, newest story
/// first; a model that fails leaves the digest without one, with a warning.
pub(crate) fn digest_intro(
    summarizer: &Summarizer,
    articles: &[ArticleOutput],
    cache: &mut RunCache,
    observe: &mut dyn FnMut(Event),
) -> Option<String> {
    let mut by_date: Vec<&ArticleOutput> = articles
        .iter()
        .filter(|a| a.summary.method == METHOD_LLM)
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
    let intro = summarizer.digest_intro(&stories, day, cache, &mut report_cache_failure(observe));
    match intro {
        Ok(intro) => intro,
        Err(e) => {
            observe(Event::Warning {
                message: format!("no digest introduction: {}", with_causes(&e)),
            });
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::{Cache, CACHE_FILE_NAME};
    use crate::chat::prompts::Prompts;
    use crate::chat::{self, ChatError, ChatMessage, ChatModel, Sampling};
    use crate::llm::summary::SummaryOptions;
    use crate::output::{Bilingual, ModelInfo, Summary, Timings};

    /// Introduces every digest with the same faithful sentence.
    struct Introducer;

    impl ChatModel for Introducer {
        fn identity(&self) -> &str {
            "test:introducer"
        }
        fn context_length(&self) -> usize {
            4096
        }
        fn count_tokens(&self, text: &str) -> usize {
            text.split_whitespace().count()
        }
        fn chat(&mut self, _: &[ChatMessage], _: &Sampling) -> Result<String, ChatError> {
            Ok("Floods in Sylhet lead the day.".to_string())
        }
    }

    fn story(id: &str, published: Option<&str>, updated: Option<&str>) -> ArticleOutput {
        ArticleOutput {
            id: id.to_string(),
            input: format!("{id}.txt"),
            title: Bilingual {
                bn: "শিরোনাম".to_string(),
                en: format!("title {id}"),
            },
            url: None,
            published: published.map(str::to_string),
            updated: updated.map(str::to_string),
            source: None,
            byline: None,
            paragraphs: Vec::new(),
            summary: Summary {
                text: format!("summary {id}"),
                method: METHOD_LLM.to_string(),
                headline: None,
            },
            model: ModelInfo {
                name: "m".to_string(),
                revision: None,
                licence: None,
            },
            generation: serde_json::Value::Null,
            warnings: Vec::new(),
            timings: Timings {
                translate_ms: 0,
                total_ms: 0,
                cached_segments: 0,
                translated_segments: 0,
            },
            fingerprint: String::new(),
        }
    }

    #[test]
    fn a_cache_failing_under_the_introduction_is_one_event_and_the_intro_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        rusqlite::Connection::open(dir.path().join(CACHE_FILE_NAME))
            .unwrap()
            .execute_batch("DROP TABLE translations")
            .unwrap();
        let summarizer = Summarizer::new(
            chat::shared(Introducer),
            Prompts::load(None).unwrap(),
            SummaryOptions::default(),
        );
        let mut floods = story("a", Some("2024-05-01"), None);
        floods.summary.headline = Some("Floods in Sylhet".to_string());
        let mut cache = RunCache::new(Some(&cache));
        let mut events = Vec::new();
        let intro = digest_intro(&summarizer, &[floods], &mut cache, &mut |event| {
            events.push(format!("{event:?}"))
        });
        assert_eq!(intro.as_deref(), Some("Floods in Sylhet lead the day."));
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(
            events[0].starts_with("CacheDisabled") && events[0].contains(CACHE_FILE_NAME),
            "{events:?}"
        );
    }
}
