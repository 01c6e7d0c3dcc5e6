//! A chat model summarizing the articles of a run: [`crate::llm_summary`]'s
//! summaries, cached by what can change them (the model, the summary prompts'
//! hashes, the number of sentences, the sampling settings and the English
//! text), so a re-run costs nothing and editing a prompt re-runs only the
//! summaries it affects.

use serde::{Deserialize, Serialize};

use crate::cache::{Cache, CacheKey};
use crate::chat::SharedChat;
use crate::llm_summary::{summarize, ArticleText, Faithfulness, SummaryError, SummaryOptions};
use crate::prompts::{Prompts, SUMMARIZE, SUMMARIZE_REDUCE, SUMMARIZE_STRICT};

/// What a summary run produced, as stored in the cache and shown in outputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryRecord {
    pub text: String,
    /// Numbers and names of the summary not found in the translation, after
    /// one stricter retry; empty when faithful.
    pub unsupported: Vec<String>,
    pub chunks: usize,
    pub retried: bool,
}

pub struct Summarizer {
    model: SharedChat,
    prompts: Prompts,
    options: SummaryOptions,
    settings: String,
}

impl Summarizer {
    pub fn new(model: SharedChat, prompts: Prompts, options: SummaryOptions) -> Self {
        let prompt_hashes: std::collections::BTreeMap<String, String> =
            [SUMMARIZE, SUMMARIZE_STRICT, SUMMARIZE_REDUCE]
                .iter()
                .map(|name| (name.to_string(), prompts.hash(name)))
                .collect();
        let settings = serde_json::json!({
            "model": model.borrow().identity(),
            "prompts": prompt_hashes,
            "sentences": options.sentences,
            "sampling": options.sampling,
        })
        .to_string();
        Self {
            model,
            prompts,
            options,
            settings,
        }
    }

    /// Every setting that can change a summary, as canonical JSON: part of
    /// the cache key and of each article's fingerprint.
    pub fn settings(&self) -> &str {
        &self.settings
    }

    /// The summary of `article`, from the cache when it has one; `cached`
    /// says which. A cache that fails is skipped, not fatal.
    pub fn summarize(
        &self,
        article: &ArticleText,
        cache: Option<&Cache>,
    ) -> Result<(SummaryRecord, bool), SummaryError> {
        let identity = self.model.borrow().identity().to_string();
        let key = CacheKey::new(&identity, &self.settings, &article.full_text());
        if let Some(cache) = cache {
            if let Ok(mut found) = cache.get_many(std::slice::from_ref(&key)) {
                if let Some(record) = found
                    .pop()
                    .flatten()
                    .and_then(|json| serde_json::from_str::<SummaryRecord>(&json).ok())
                {
                    return Ok((record, true));
                }
            }
        }
        let mut model = self.model.borrow_mut();
        let summary = summarize(model.as_mut(), &self.prompts, article, &self.options)?;
        let record = SummaryRecord {
            text: summary.text,
            unsupported: match summary.faithfulness {
                Faithfulness::Faithful => Vec::new(),
                Faithfulness::Flagged(terms) => terms,
            },
            chunks: summary.chunks,
            retried: summary.retried,
        };
        if let (Some(cache), Ok(json)) = (cache, serde_json::to_string(&record)) {
            // A summary that cannot be stored is made again next time.
            let _ = cache.put_many(&identity, &[(key, json)]);
        }
        Ok((record, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::{self, ChatError, ChatMessage, ChatModel, Sampling};
    use std::cell::RefCell;
    use std::rc::Rc;

    /// Answers every prompt with a fixed text and counts the calls.
    struct Echo {
        answer: String,
        calls: Rc<RefCell<usize>>,
    }

    impl ChatModel for Echo {
        fn identity(&self) -> &str {
            "test:echo"
        }
        fn context_length(&self) -> usize {
            4096
        }
        fn count_tokens(&self, text: &str) -> usize {
            text.split_whitespace().count()
        }
        fn chat(&mut self, _: &[ChatMessage], _: &Sampling) -> Result<String, ChatError> {
            *self.calls.borrow_mut() += 1;
            Ok(self.answer.clone())
        }
    }

    fn summarizer(answer: &str, prompts: Prompts, calls: &Rc<RefCell<usize>>) -> Summarizer {
        Summarizer::new(
            chat::shared(Echo {
                answer: answer.into(),
                calls: calls.clone(),
            }),
            prompts,
            SummaryOptions::default(),
        )
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
        let calls = Rc::new(RefCell::new(0));
        let answer = "Kim Jong Un visited Moscow.";
        let first = summarizer(answer, Prompts::load(None).unwrap(), &calls);
        let (record, cached) = first.summarize(&article(), Some(&cache)).unwrap();
        assert_eq!(
            (record.text.as_str(), cached, *calls.borrow()),
            (answer, false, 1)
        );
        let (again, cached) = first.summarize(&article(), Some(&cache)).unwrap();
        assert_eq!((again, cached, *calls.borrow()), (record.clone(), true, 1));

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
        assert_eq!(headline_edit.settings(), first.settings());
        let (_, cached) = headline_edit.summarize(&article(), Some(&cache)).unwrap();
        assert!(cached);

        // ...an edited summary prompt re-summarizes.
        let summary_prompt = Prompts::load(None)
            .unwrap()
            .text(SUMMARIZE)
            .unwrap()
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
        let (_, cached) = summary_edit.summarize(&article(), Some(&cache)).unwrap();
        assert!(!cached);
        assert_eq!(*calls.borrow(), 2);
    }

    #[test]
    fn an_unfaithful_summary_is_kept_with_its_unsupported_terms() {
        let calls = Rc::new(RefCell::new(0));
        let summarizer = summarizer(
            "Kim Jong Un met 300 officials in Pyongyang.",
            Prompts::load(None).unwrap(),
            &calls,
        );
        let (record, _) = summarizer.summarize(&article(), None).unwrap();
        assert!(record.retried);
        assert!(record.unsupported.iter().any(|t| t == "300"), "{record:?}");
        assert!(
            record.unsupported.iter().any(|t| t.contains("Pyongyang")),
            "{record:?}"
        );
        assert_eq!(*calls.borrow(), 2, "one first try, one strict retry");
    }
}
