//! A chat model summarizing the articles of a run: [`crate::llm::summary`]'s
//! summaries, a headline per story and an introduction to the digest, each
//! cached by what can change it (the model, its prompt's hash, the number of
//! sentences, the sampling settings and the English it is written from), so
//! a re-run costs nothing and editing a prompt re-runs only what it affects.
//! Headlines and introductions that name numbers or names their source does
//! not carry are dropped: the translated title and no introduction are
//! better than an invented one. So is an introduction the model stopped
//! writing at the token limit; a summary or headline cut off there is kept
//! and marked, for the caller to warn about. A cache that fails is handed to
//! the caller's report, as [`RunCache`] does for every step of a run, and the
//! model is asked instead.

use serde::{Deserialize, Serialize};

use crate::cache::{CacheError, CacheKey, CacheValue, RunCache, StoredAsJson};
use crate::chat::prompts::{PromptName, Prompts};
use crate::chat::{ChatMessage, Finish, Reply, Sampling, SharedChat};
use crate::llm::summary::{
    strip_wrappers, summarize, unsupported_terms, ArticleText, Faithfulness, SummaryError,
    SummaryOptions,
};

/// Longest headline, in tokens; the prompt asks for at most 12 words.
const HEADLINE_TOKENS: usize = 40;
/// Longest digest introduction, in tokens (2 or 3 sentences).
const INTRO_TOKENS: usize = 200;

/// A story as the digest introduction sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct StoryBrief {
    pub(crate) title: String,
    pub(crate) summary: String,
}

/// What a summary run produced, as stored in the cache and shown in outputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SummaryRecord {
    pub(crate) text: String,
    /// Numbers and names of the summary not found in the translation, after
    /// one stricter retry; empty when faithful.
    pub(crate) unsupported: Vec<String>,
    pub(crate) chunks: usize,
    pub(crate) retried: bool,
    /// Whether the model stopped at the token limit writing it (see
    /// [`crate::llm::summary::LlmSummary::cut_off`]). Absent, and so false,
    /// in records cached before it was kept.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) cut_off: bool,
}

/// A headline the chat model wrote for a story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Headline {
    pub(crate) text: String,
    /// Whether the model stopped at the token limit within it: it may be
    /// incomplete.
    pub(crate) cut_off: bool,
    /// Numbers and names of the headline that neither the article nor the
    /// summary has: when any, the headline must not be shown.
    pub(crate) unsupported: Vec<String>,
}

/// How the cache holds an answer the model stopped at the token limit, as
/// JSON. A whole answer is held as its bare text, as every answer was before
/// finish reasons were kept, so that those entries still read, as whole
/// answers, under unchanged keys. (No headline or introduction is itself
/// such an object.)
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredCutOff {
    text: String,
    finish: Finish,
}

impl CacheValue for Reply {
    fn to_stored(&self) -> Option<String> {
        if !self.cut_off() {
            return Some(self.text.clone());
        }
        serde_json::to_string(&StoredCutOff {
            text: self.text.clone(),
            finish: self.finish,
        })
        .ok()
    }

    fn from_stored(stored: String) -> Option<Self> {
        Some(match serde_json::from_str::<StoredCutOff>(&stored) {
            Ok(StoredCutOff { text, finish }) if finish.cut_off() => Reply { text, finish },
            _ => Reply {
                text: stored,
                finish: Finish::EndOfTurn,
            },
        })
    }
}

impl StoredAsJson for SummaryRecord {}

pub struct Summarizer {
    model: SharedChat,
    prompts: Prompts,
    options: SummaryOptions,
    /// What changes a summary: its cache key.
    summary_settings: String,
    /// What changes an article's output: summary, headline and introduction
    /// settings together.
    settings: String,
}

impl Summarizer {
    pub fn new(model: SharedChat, prompts: Prompts, options: SummaryOptions) -> Self {
        let prompt_hashes: std::collections::BTreeMap<PromptName, String> = [
            PromptName::Summarize,
            PromptName::SummarizeStrict,
            PromptName::SummarizeReduce,
        ]
        .into_iter()
        .map(|name| (name, prompts.hash(name)))
        .collect();
        let identity = model.borrow().identity().to_string();
        let summary_settings = serde_json::json!({
            "model": identity,
            "prompts": prompt_hashes,
            "sentences": options.sentences,
            "sampling": options.sampling,
        })
        .to_string();
        let settings = serde_json::json!({
            "model": identity,
            "prompts": prompt_hashes,
            "headline": prompts.hash(PromptName::Headline),
            "digest-intro": prompts.hash(PromptName::DigestIntro),
            "sentences": options.sentences,
            "sampling": options.sampling,
        })
        .to_string();
        Self {
            model,
            prompts,
            options,
            summary_settings,
            settings,
        }
    }

    /// `prompt` rendered with `variables`, answered, without wrappers; the
    /// answer and why it ended are cached under `settings` + `source`.
    fn cached_answer(
        &self,
        prompt: PromptName,
        variables: serde_json::Value,
        max_new_tokens: usize,
        cache: &mut RunCache,
        on_cache_failure: &mut dyn FnMut(&CacheError),
    ) -> Result<Reply, SummaryError> {
        let identity = self.model.borrow().identity().to_string();
        let settings = serde_json::json!({
            "prompt": prompt.as_str(),
            "hash": self.prompts.hash(prompt),
            "sampling": self.options.sampling,
        })
        .to_string();
        let key = CacheKey::new(&identity, &settings, &variables.to_string());
        cache
            .get_or_compute(&identity, key, on_cache_failure, || {
                let rendered = self.prompts.render(prompt, &variables)?;
                let sampling = Sampling {
                    max_new_tokens,
                    ..self.options.sampling
                };
                let reply = self
                    .model
                    .borrow_mut()
                    .chat(&[ChatMessage::user(rendered)], &sampling)?;
                Ok::<_, SummaryError>(Reply {
                    text: strip_wrappers(
                        &reply.text,
                        &["Headline:", "**Headline:**", "Introduction:"],
                    ),
                    finish: reply.finish,
                })
            })
            .map(|(answer, _cached)| answer)
    }

    /// A headline for the story from its translated title and summary, or
    /// `None` when the model's names no number or name of `article` lacks.
    pub(crate) fn headline(
        &self,
        article: &ArticleText,
        summary: &str,
        cache: &mut RunCache,
        on_cache_failure: &mut dyn FnMut(&CacheError),
    ) -> Result<Option<Headline>, SummaryError> {
        let answer = self.cached_answer(
            PromptName::Headline,
            serde_json::json!({"title": article.title, "summary": summary}),
            HEADLINE_TOKENS,
            cache,
            on_cache_failure,
        )?;
        let headline = answer
            .text
            .lines()
            .next()
            .unwrap_or_default()
            .trim_matches(|c: char| c == '#' || c == '*' || c.is_whitespace())
            .trim_end_matches('.')
            .to_string();
        // The headline is the answer's first line: a cut in a later line
        // leaves it whole.
        let cut_off = answer.cut_off() && !answer.text.contains('\n');
        let source = format!("{}\n{summary}", article.full_text());
        Ok((!headline.is_empty()).then(|| Headline {
            unsupported: unsupported_terms(&headline, &source),
            text: headline,
            cut_off,
        }))
    }

    /// A short introduction to a digest of `stories` (as many as fit half
    /// the model's context, in the order given); `None` when the model
    /// wrote nothing. One that names anything the stories do not is
    /// [`SummaryError::Unsupported`], and one the model stopped writing at
    /// the token limit [`SummaryError::CutOff`]: a digest opening with an
    /// invented claim or a broken sentence is worse than one without an
    /// introduction.
    pub(crate) fn digest_intro(
        &self,
        stories: &[StoryBrief],
        date: Option<&str>,
        cache: &mut RunCache,
        on_cache_failure: &mut dyn FnMut(&CacheError),
    ) -> Result<Option<String>, SummaryError> {
        let budget = self.model.borrow().context_length() / 2;
        let mut used = 0;
        let mut included = Vec::new();
        for story in stories {
            used += self
                .model
                .borrow()
                .count_tokens(&format!("{} {}", story.title, story.summary));
            if used > budget && !included.is_empty() {
                break;
            }
            included.push(story);
        }
        if included.is_empty() {
            return Ok(None);
        }
        let intro = self.cached_answer(
            PromptName::DigestIntro,
            serde_json::json!({"date": date, "articles": included}),
            INTRO_TOKENS,
            cache,
            on_cache_failure,
        )?;
        if intro.cut_off() {
            return Err(SummaryError::CutOff);
        }
        let intro = intro.text.split_whitespace().collect::<Vec<_>>().join(" ");
        if intro.is_empty() {
            return Ok(None);
        }
        let source: Vec<String> = included
            .iter()
            .map(|s| format!("{}\n{}", s.title, s.summary))
            .collect();
        let unsupported = unsupported_terms(&intro, &source.join("\n"));
        if !unsupported.is_empty() {
            return Err(SummaryError::Unsupported { terms: unsupported });
        }
        Ok(Some(intro))
    }

    /// Every setting that can change a summary, headline or introduction, as
    /// canonical JSON: part of each article's fingerprint.
    pub(crate) fn settings(&self) -> &str {
        &self.settings
    }

    /// The summary of `article`, from the cache when it has one; the flag
    /// says which. A cache that fails goes to `on_cache_failure` and the
    /// model summarizes.
    pub(crate) fn summarize(
        &self,
        article: &ArticleText,
        cache: &mut RunCache,
        on_cache_failure: &mut dyn FnMut(&CacheError),
    ) -> Result<(SummaryRecord, bool), SummaryError> {
        let identity = self.model.borrow().identity().to_string();
        let key = CacheKey::new(&identity, &self.summary_settings, &article.full_text());
        cache.get_or_compute(&identity, key, on_cache_failure, || {
            let mut model = self.model.borrow_mut();
            let summary = summarize(model.as_mut(), &self.prompts, article, &self.options)?;
            Ok(SummaryRecord {
                text: summary.text,
                unsupported: match summary.faithfulness {
                    Faithfulness::Faithful => Vec::new(),
                    Faithfulness::Flagged(terms) => terms,
                },
                chunks: summary.chunks,
                retried: summary.retried,
                cut_off: summary.cut_off,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::Cache;
    use crate::chat;
    use crate::chat::scripted::{PromptLog, ScriptedChat};

    fn summarizer(answer: &str, prompts: Prompts, calls: &PromptLog) -> Summarizer {
        Summarizer::new(
            chat::shared(ScriptedChat::answering(answer).logging_to(calls)),
            prompts,
            SummaryOptions::default(),
        )
    }

    /// The report of a cache that must not fail.
    fn unexpected(error: &CacheError) {
        panic!("the cache failed: {error}");
    }

    fn article() -> ArticleText {
        ArticleText {
            title: "Kim Jong Un visits Moscow".into(),
            paragraphs: vec!["Kim Jong Un met officials in Moscow on Monday.".into()],
        }
    }

    #[test]
    fn a_cached_summary_costs_no_model_call_and_a_prompt_edit_invalidates_it() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        let mut cache = RunCache::new(Some(&cache));
        let calls = PromptLog::default();
        let answer = "Kim Jong Un visited Moscow.";
        let first = summarizer(answer, Prompts::load(None).unwrap(), &calls);
        let (record, cached) = first
            .summarize(&article(), &mut cache, &mut unexpected)
            .unwrap();
        assert_eq!(
            (record.text.as_str(), cached, calls.calls()),
            (answer, false, 1)
        );
        let (again, cached) = first
            .summarize(&article(), &mut cache, &mut unexpected)
            .unwrap();
        assert_eq!((again, cached, calls.calls()), (record.clone(), true, 1));

        // An edited headline prompt does not touch summaries...
        let prompts_dir = tempfile::tempdir().unwrap();
        std::fs::write(
            prompts_dir.path().join("headline.md.j2"),
            "{# variables: title, text #}Headline for {{ title }}: {{ text }}",
        )
        .unwrap();
        let headline_edit = summarizer(
            answer,
            Prompts::load(Some(prompts_dir.path())).unwrap(),
            &calls,
        );
        assert_ne!(headline_edit.settings(), first.settings());
        let (_, cached) = headline_edit
            .summarize(&article(), &mut cache, &mut unexpected)
            .unwrap();
        assert!(cached);

        // ...an edited summary prompt re-summarizes.
        let summary_prompt = Prompts::load(None)
            .unwrap()
            .text(PromptName::Summarize)
            .to_string();
        std::fs::write(
            prompts_dir.path().join("summarize.md.j2"),
            summary_prompt + "\nBe brief.",
        )
        .unwrap();
        let summary_edit = summarizer(
            answer,
            Prompts::load(Some(prompts_dir.path())).unwrap(),
            &calls,
        );
        assert_ne!(summary_edit.settings(), first.settings());
        let (_, cached) = summary_edit
            .summarize(&article(), &mut cache, &mut unexpected)
            .unwrap();
        assert!(!cached);
        assert_eq!(calls.calls(), 2);
    }

    #[test]
    fn a_cache_that_fails_while_summarizing_is_reported_once_and_the_summary_still_made() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        let mut cache = RunCache::new(Some(&cache));
        // The table gone under the open cache: every lookup and store fails.
        rusqlite::Connection::open(dir.path().join(crate::cache::CACHE_FILE_NAME))
            .unwrap()
            .execute_batch("DROP TABLE translations")
            .unwrap();
        let calls = PromptLog::default();
        let answer = "Kim Jong Un visited Moscow.";
        let summarizer = summarizer(answer, Prompts::load(None).unwrap(), &calls);
        let mut reports = Vec::new();
        let mut report = |error: &CacheError| reports.push(error.to_string());

        let (record, cached) = summarizer
            .summarize(&article(), &mut cache, &mut report)
            .unwrap();
        assert_eq!((record.text.as_str(), cached), (answer, false));
        let headline = summarizer
            .headline(&article(), &record.text, &mut cache, &mut report)
            .unwrap();
        assert_eq!(
            headline.map(|h| h.text).as_deref(),
            Some("Kim Jong Un visited Moscow")
        );
        assert_eq!(calls.calls(), 2);
        assert_eq!(reports.len(), 1, "{reports:?}");
        assert!(
            reports[0].contains(crate::cache::CACHE_FILE_NAME),
            "{reports:?}"
        );
        assert!(!cache.is_enabled());
    }

    #[test]
    fn headlines_and_introductions_that_invent_names_or_numbers_are_flagged() {
        let calls = PromptLog::default();
        let faithful = summarizer(
            "Headline: \"Kim Jong Un visits Moscow.\"",
            Prompts::load(None).unwrap(),
            &calls,
        );
        let summary = "Kim Jong Un met officials in Moscow on Monday.";
        assert_eq!(
            faithful
                .headline(
                    &article(),
                    summary,
                    &mut RunCache::new(None),
                    &mut unexpected
                )
                .unwrap(),
            Some(Headline {
                text: "Kim Jong Un visits Moscow".into(),
                cut_off: false,
                unsupported: Vec::new(),
            })
        );
        let stories = [StoryBrief {
            title: "Kim Jong Un visits Moscow".into(),
            summary: summary.into(),
        }];
        assert_eq!(
            faithful
                .digest_intro(&stories, None, &mut RunCache::new(None), &mut unexpected)
                .unwrap()
                .as_deref(),
            Some("Headline: \"Kim Jong Un visits Moscow.\"").map(|_| "Kim Jong Un visits Moscow.")
        );

        let inventive = summarizer(
            "Kim Jong Un visits Pyongyang with 300 officials",
            Prompts::load(None).unwrap(),
            &calls,
        );
        let headline = inventive
            .headline(
                &article(),
                summary,
                &mut RunCache::new(None),
                &mut unexpected,
            )
            .unwrap()
            .unwrap();
        assert!(
            headline.unsupported.iter().any(|t| t == "300"),
            "{headline:?}"
        );
        assert!(
            headline.unsupported.iter().any(|t| t.contains("Pyongyang")),
            "{headline:?}"
        );
        let intro =
            inventive.digest_intro(&stories, None, &mut RunCache::new(None), &mut unexpected);
        assert!(
            matches!(&intro, Err(SummaryError::Unsupported { terms }) if terms.iter().any(|t| t == "300")),
            "{intro:?}"
        );
    }

    #[test]
    fn an_unfaithful_summary_is_kept_with_its_unsupported_terms() {
        let calls = PromptLog::default();
        let summarizer = summarizer(
            "Kim Jong Un met 300 officials in Pyongyang.",
            Prompts::load(None).unwrap(),
            &calls,
        );
        let (record, _) = summarizer
            .summarize(&article(), &mut RunCache::new(None), &mut unexpected)
            .unwrap();
        assert!(record.retried);
        assert!(record.unsupported.iter().any(|t| t == "300"), "{record:?}");
        assert!(
            record.unsupported.iter().any(|t| t.contains("Pyongyang")),
            "{record:?}"
        );
        assert_eq!(calls.calls(), 2, "one first try, one strict retry");
    }

    #[test]
    fn answers_cut_off_at_the_token_limit_stay_so_when_served_from_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        let calls = PromptLog::default();
        // One line, longer than any answer may be, naming only what the
        // article names.
        let answer = ["Kim Jong Un met officials in Moscow on Monday."; 25].join(" ");
        let summarizer = || {
            Summarizer::new(
                chat::shared(ScriptedChat::answering(&answer).logging_to(&calls)),
                Prompts::load(None).unwrap(),
                SummaryOptions {
                    sampling: Sampling {
                        max_new_tokens: 20,
                        ..Sampling::default()
                    },
                    ..SummaryOptions::default()
                },
            )
        };
        let stories = [StoryBrief {
            title: "Kim Jong Un visits Moscow".into(),
            summary: "Kim Jong Un met officials in Moscow on Monday.".into(),
        }];
        for (run, calls_before) in [(summarizer(), 0), (summarizer(), 3)] {
            assert_eq!(calls.calls(), calls_before);
            let (record, cached) = run
                .summarize(
                    &article(),
                    &mut RunCache::new(Some(&cache)),
                    &mut unexpected,
                )
                .unwrap();
            assert_eq!(cached, calls_before > 0);
            assert_eq!(record.text.split_whitespace().count(), 20);
            assert!(record.cut_off);
            let headline = run
                .headline(
                    &article(),
                    &record.text,
                    &mut RunCache::new(Some(&cache)),
                    &mut unexpected,
                )
                .unwrap()
                .unwrap();
            assert_eq!(headline.text.split_whitespace().count(), HEADLINE_TOKENS);
            assert!(headline.cut_off);
            assert!(matches!(
                run.digest_intro(
                    &stories,
                    None,
                    &mut RunCache::new(Some(&cache)),
                    &mut unexpected
                ),
                Err(SummaryError::CutOff)
            ));
        }
        assert_eq!(calls.calls(), 3, "the second run is served from the cache");
    }

    #[test]
    fn a_headline_whole_on_its_line_is_not_cut_off_by_a_later_line() {
        let answer = format!(
            "Kim Jong Un visits Moscow\n{}",
            ["He met officials."; 20].join(" ")
        );
        let summarizer = summarizer(&answer, Prompts::load(None).unwrap(), &PromptLog::default());
        let summary = "Kim Jong Un met officials in Moscow on Monday.";
        assert_eq!(
            summarizer
                .headline(
                    &article(),
                    summary,
                    &mut RunCache::new(None),
                    &mut unexpected
                )
                .unwrap(),
            Some(Headline {
                text: "Kim Jong Un visits Moscow".into(),
                cut_off: false,
                unsupported: Vec::new(),
            })
        );
    }

    #[test]
    fn answers_and_records_cached_before_finish_reasons_were_kept_read_as_whole() {
        let old_answer = "Kim Jong Un visits Moscow".to_string();
        assert_eq!(
            Reply::from_stored(old_answer.clone()).unwrap(),
            Reply {
                text: old_answer,
                finish: Finish::EndOfTurn
            }
        );
        let json_answer = r#"{"text": "not ours"}"#.to_string();
        assert_eq!(
            Reply::from_stored(json_answer.clone()).unwrap().text,
            json_answer
        );
        for finish in [Finish::MaxNewTokens, Finish::ContextFull] {
            let cut_off = Reply {
                text: "Kim Jong Un visits".into(),
                finish,
            };
            let stored = cut_off.to_stored().unwrap();
            assert_eq!(Reply::from_stored(stored).unwrap(), cut_off);
        }
        // A whole answer is stored as it always was.
        let whole = Reply {
            text: "Kim Jong Un visits Moscow".into(),
            finish: Finish::EndOfTurn,
        };
        assert_eq!(whole.to_stored().unwrap(), whole.text);

        let old_record = r#"{"text":"Kim visited.","unsupported":[],"chunks":1,"retried":false}"#;
        let record: SummaryRecord = serde_json::from_str(old_record).unwrap();
        assert!(!record.cut_off);
        assert_eq!(serde_json::to_string(&record).unwrap(), old_record);
    }
}
