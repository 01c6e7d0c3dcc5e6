//! The chat model's part of a run: each article's summary and headline
//! (replacing the extractive summary), and the digest introduction written
//! from the stories' summaries.

use crate::cache::RunCache;
use crate::llm::summarizer::{StoryBrief, Summarizer};
use crate::llm::summary::ArticleText;
use crate::output::{
    article_date, same_text_sets, ArticleOutput, RejectedText, Summary, SummaryMethod, Warning,
};

use crate::pipeline::{report_cache_failure, with_causes, Event, Run};

impl Run<'_, '_, '_> {
    /// Replaces the extractive summary by the chat model's. A model that
    /// fails, or whose summary names what the translation does not (after
    /// the strict retry), leaves the extractive one, with a warning saying
    /// why; a rejected summary or headline is kept in the record, never
    /// shown.
    pub(super) fn summarize(&mut self, summarizer: &Summarizer, article: &mut ArticleOutput) {
        let text = ArticleText {
            title: article.title.en.clone(),
            paragraphs: article
                .paragraphs
                .iter()
                .map(|p| {
                    p.iter()
                        .map(|s| s.en.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect(),
        };
        let cache = &mut self.segments.cache;
        let mut on_cache_failure = report_cache_failure(&mut *self.observe);
        match summarizer.summarize(&text, cache, &mut on_cache_failure) {
            // Still naming what the translation lacks after the strict
            // retry: a reader who knows no Bengali could not tell, so the
            // extractive summary stays, and no headline is written from it.
            Ok((record, _cached)) if !record.unsupported.is_empty() => {
                self.report.unfaithful_summaries += 1;
                article.warnings.push(Warning::SummaryRejected {
                    terms: record.unsupported.clone(),
                });
                article.summary.rejected = Some(RejectedText {
                    text: record.text,
                    unsupported: record.unsupported,
                });
                record_summarizer(summarizer, article);
            }
            Ok((record, _cached)) => {
                if record.cut_off {
                    article.warnings.push(Warning::SummaryCutOff);
                }
                let headline =
                    summarizer.headline(&text, &record.text, cache, &mut on_cache_failure);
                let mut rejected_headline = None;
                let headline = match headline {
                    Ok(Some(headline)) if !headline.unsupported.is_empty() => {
                        article.warnings.push(Warning::HeadlineRejected {
                            terms: headline.unsupported.clone(),
                        });
                        rejected_headline = Some(RejectedText {
                            text: headline.text,
                            unsupported: headline.unsupported,
                        });
                        None
                    }
                    Ok(Some(headline)) => {
                        if headline.cut_off {
                            article.warnings.push(Warning::HeadlineCutOff);
                        }
                        Some(headline.text)
                    }
                    Ok(None) => None,
                    Err(e) => {
                        article.warnings.push(Warning::NoLlmHeadline {
                            reason: with_causes(&e),
                        });
                        None
                    }
                };
                article.summary = Summary {
                    text: record.text,
                    method: SummaryMethod::Llm,
                    headline,
                    rejected: None,
                    rejected_headline,
                };
                record_summarizer(summarizer, article);
            }
            Err(e) => article.warnings.push(Warning::NoLlmSummary {
                reason: with_causes(&e),
            }),
        }
    }
}

/// The summarizer's settings in the article's record of how it was made.
fn record_summarizer(summarizer: &Summarizer, article: &mut ArticleOutput) {
    if let (Some(generation), Ok(settings)) = (
        article.generation.as_object_mut(),
        serde_json::from_str::<serde_json::Value>(summarizer.settings()),
    ) {
        generation.insert("summarizer".into(), settings);
    }
}

/// The chat model's introduction to the digest of `articles`, its stories in
/// the digest's order; a model that fails leaves the digest without one,
/// with a warning.
pub(crate) fn digest_intro(
    summarizer: &Summarizer,
    articles: &[ArticleOutput],
    cache: &mut RunCache,
    observe: &mut dyn FnMut(Event),
) -> Option<String> {
    let (stories, day) = intro_stories(articles);
    let intro = summarizer.digest_intro(
        &stories,
        day.as_deref(),
        cache,
        &mut report_cache_failure(observe),
    );
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

/// The stories with a chat model's summary, once each and in the order the
/// digest shows them (newest first), so that the introduction leads with
/// the story the reader meets first; and their day when they all share one.
fn intro_stories(articles: &[ArticleOutput]) -> (Vec<StoryBrief>, Option<String>) {
    let ordered: Vec<&ArticleOutput> = same_text_sets(articles)
        .into_iter()
        .map(|set| set[0])
        .filter(|a| a.summary.method == SummaryMethod::Llm)
        .collect();
    let stories = ordered
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
    // "A digest of 2024-05-01" only when every story is of that day. Equal
    // days are adjacent in digest order, and undated stories come last.
    let mut days: Vec<String> = ordered
        .iter()
        .map(|a| {
            article_date(a)
                .unwrap_or_default()
                .chars()
                .take(10)
                .collect()
        })
        .collect();
    days.dedup();
    let day = match days.as_slice() {
        [day] if !day.is_empty() => Some(day.clone()),
        _ => None,
    };
    (stories, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::{Cache, CACHE_FILE_NAME};
    use crate::chat;
    use crate::chat::prompts::Prompts;
    use crate::chat::scripted::ScriptedChat;
    use crate::llm::summary::SummaryOptions;
    use crate::output::digest_order;

    fn story(id: &str, published: Option<&str>, updated: Option<&str>) -> ArticleOutput {
        let mut story = ArticleOutput::bare(id);
        story.published = published.map(str::to_string);
        story.updated = updated.map(str::to_string);
        story.summary.method = SummaryMethod::Llm;
        story
    }

    fn titles(stories: &[StoryBrief]) -> Vec<&str> {
        stories.iter().map(|s| s.title.as_str()).collect()
    }

    #[test]
    fn the_introduction_follows_the_digest_order_blank_and_padded_dates_included() {
        let mut extractive = story("e-extractive", Some("2024-05-09"), None);
        extractive.summary.method = SummaryMethod::Extractive;
        let articles = vec![
            story("a-undated", None, None),
            story("b", Some("2024-05-01"), None),
            // A blank publication date falls back to the update, as the
            // digest shows it; it used to count as the blank text itself.
            story("c-blank", Some("  "), Some("2024-05-03")),
            // Padding is trimmed, as the digest shows it; the padded text
            // used to sort after every unpadded date.
            story("d-padded", Some(" 2024-05-02"), None),
            extractive,
            story("f-updated", None, Some("2024-05-01")),
            story("g-empty", Some(""), None),
        ];
        let (stories, day) = intro_stories(&articles);
        assert_eq!(
            titles(&stories),
            [
                "title c-blank",
                "title d-padded",
                "title b",
                "title f-updated",
                "title a-undated",
                "title g-empty",
            ]
        );
        let digest: Vec<&str> = digest_order(&articles)
            .into_iter()
            .filter(|a| a.summary.method == SummaryMethod::Llm)
            .map(|a| a.id.as_str())
            .collect();
        let intro: Vec<&str> = stories
            .iter()
            .map(|s| s.title.trim_start_matches("title "))
            .collect();
        assert_eq!(intro, digest);
        assert_eq!(day, None);
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
            chat::shared(ScriptedChat::answering("Floods in Sylhet lead the day.")),
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

    #[test]
    fn the_day_is_named_only_when_every_story_shares_it() {
        let mut headlined = story("b", Some(" 2024-05-01T18:00:00+06:00 "), None);
        headlined.summary.headline = Some("Floods in Sylhet".to_string());
        let same_day = vec![
            story("a", Some("2024-05-01T09:00:00+06:00"), None),
            headlined,
            story("c", Some(""), Some("2024-05-01")),
        ];
        let (stories, day) = intro_stories(&same_day);
        assert_eq!(titles(&stories), ["Floods in Sylhet", "title a", "title c"]);
        assert_eq!(stories[0].summary, "summary b");
        assert_eq!(day.as_deref(), Some("2024-05-01"));

        let with_undated = vec![story("a", Some("2024-05-01"), None), story("b", None, None)];
        assert_eq!(intro_stories(&with_undated).1, None);
        let all_undated = vec![story("a", None, None), story("b", Some(" "), None)];
        assert_eq!(intro_stories(&all_undated).1, None);
        assert_eq!(intro_stories(&[]), (Vec::new(), None));
    }

    #[test]
    fn a_story_several_inputs_carried_is_introduced_once() {
        let original = story("a", Some("2024-05-01"), None);
        let mut copy = original.clone();
        copy.id = "a-copy".to_string();
        copy.input = "elsewhere/a.html".to_string();
        let (stories, _) = intro_stories(&[copy, original, story("b", None, None)]);
        assert_eq!(titles(&stories), ["title a", "title b"]);
    }
}
