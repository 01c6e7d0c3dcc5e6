use super::*;
use crate::chat::prompts::Prompts;
use crate::chat::scripted::ScriptedChat;
use crate::llm::summary::SummaryOptions;
use crate::llm::translate::LlmTranslator;
use crate::models::{resolve, ResolveOptions};
use crate::nmt::translator::{LoadOptions, Translator};
use crate::output::{SummaryMethod, Warning};
use crate::pipeline::segments::*;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A number that is in no article, so every summary is unfaithful.
const UNFAITHFUL_ANSWER: &str = "It happened 98765 times.";

fn scripted() -> ScriptedChat {
    ScriptedChat::answering(UNFAITHFUL_ANSWER).with_context_length(8192)
}

fn run_fixture_articles(out: &Path, cache: &Cache, summarizer: &Summarizer) -> RunReport {
    run_fixture_articles_observed(out, cache, summarizer, &mut |_| {})
}

/// The fixture articles through the fixture NMT model and `summarizer`.
fn run_fixture_articles_observed(
    out: &Path,
    cache: &Cache,
    summarizer: &Summarizer,
    observe: &mut dyn FnMut(Event),
) -> RunReport {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let resolved = resolve(
        &root.join("tests/fixtures/marian-tiny").to_string_lossy(),
        &ResolveOptions::default(),
    )
    .unwrap();
    let translator = Translator::load(&resolved, &LoadOptions::default()).unwrap();
    let model = ModelContext {
        engine: Engine::Nmt(&translator),
        info: ModelInfo {
            name: "marian-tiny".into(),
            revision: None,
            licence: None,
        },
        identity: resolved.identity.clone(),
        summarizer: Some(summarizer),
    };
    run_fixtures(out, cache, &model, observe)
}

/// The articles of `tests/fixtures/articles` run through `model` into `out`.
fn run_fixtures(
    out: &Path,
    cache: &Cache,
    model: &ModelContext,
    observe: &mut dyn FnMut(Event),
) -> RunReport {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let inputs = crate::ingest::read_inputs(
        &[root
            .join("tests/fixtures/articles")
            .to_string_lossy()
            .into_owned()],
        &crate::ingest::ReadOptions {
            out_dir: Some(out.to_path_buf()),
            ..Default::default()
        },
    )
    .articles;
    let options = RunOptions {
        out_dir: Some(out.to_path_buf()),
        shard: None,
        batch_size: 8,
        summary_sentences: DEFAULT_SUMMARY_SENTENCES,
        stop: None,
        prune: false,
    };
    run(inputs, None, model, Some(cache), &options, None, observe).unwrap()
}

#[test]
fn rejected_llm_summaries_are_kept_for_inspection_never_shown_and_cached() {
    let work = tempfile::tempdir().unwrap();
    let cache = Cache::open(&work.path().join("cache")).unwrap();
    let out = work.path().join("out");
    let summarizer = Summarizer::new(
        crate::chat::shared(scripted()),
        Prompts::load(None).unwrap(),
        SummaryOptions::default(),
    );
    let first = run_fixture_articles(&out, &cache, &summarizer);
    assert_eq!(first.ok, 3);
    assert_eq!(first.unfaithful_summaries, 3);
    let article = output::read_article(&out, "kim-troops").unwrap();
    // The story keeps its extractive summary, labelled so; the model's
    // rejected text is in the record, with what it invented.
    assert_eq!(article.summary.method, SummaryMethod::Extractive);
    assert!(!article.summary.text.contains("98765"));
    let rejected = article.summary.rejected.as_ref().unwrap();
    assert_eq!(rejected.text, UNFAITHFUL_ANSWER);
    assert_eq!(rejected.unsupported, ["98765"]);
    assert_eq!(
        article.summary.headline, None,
        "no headline from a rejected summary"
    );
    assert!(article.warnings.contains(&Warning::SummaryRejected {
        terms: vec!["98765".into()]
    }));
    assert!(article.generation["summarizer"]["prompts"]["summarize"].is_string());
    // No digest shows the rejected summary (its warning may name what it
    // invented), and no introduction is written from rejected summaries.
    for digest in ["digest.md", "digest.html"] {
        let text = std::fs::read_to_string(out.join(digest)).unwrap();
        assert!(!text.contains("It happened 98765"), "{digest}");
        assert!(!text.contains("Introduction written by"), "{digest}");
    }

    // Same settings: nothing changes.
    let second = run_fixture_articles(&out, &cache, &summarizer);
    assert_eq!((second.unchanged, second.cache_misses), (3, 0));

    // An edited summary prompt rewrites the articles, but every sentence
    // still comes from the translation cache.
    let prompts = tempfile::tempdir().unwrap();
    let edited = Prompts::load(None)
        .unwrap()
        .text(crate::chat::prompts::PromptName::Summarize)
        .to_string();
    std::fs::write(
        prompts.path().join("summarize.md.j2"),
        edited + "\nBe brief.",
    )
    .unwrap();
    let summarizer = Summarizer::new(
        crate::chat::shared(scripted()),
        Prompts::load(Some(prompts.path())).unwrap(),
        SummaryOptions::default(),
    );
    let third = run_fixture_articles(&out, &cache, &summarizer);
    assert_eq!((third.ok, third.unchanged, third.cache_misses), (3, 0, 0));
}

#[test]
fn a_rejected_headline_and_introduction_are_not_shown() {
    let work = tempfile::tempdir().unwrap();
    let cache = Cache::open(&work.path().join("cache")).unwrap();
    let out = work.path().join("out");
    // Summaries that name nothing (faithful to anything); headlines and an
    // introduction naming someone no article mentions.
    let invented = "Zanzibar Oblonsky resigns";
    let faithful = "the rain went on.";
    let chat = ScriptedChat::answering(faithful)
        .first(&[
            faithful,
            invented,
            faithful,
            invented,
            faithful,
            invented,
            "Zanzibar Oblonsky leads the news of the day.",
        ])
        .with_context_length(8192);
    let summarizer = Summarizer::new(
        crate::chat::shared(chat),
        Prompts::load(None).unwrap(),
        SummaryOptions::default(),
    );
    let mut events = Vec::new();
    let report = run_fixture_articles_observed(&out, &cache, &summarizer, &mut |event| {
        if let Event::Warning { message } = event {
            events.push(message);
        }
    });
    assert_eq!((report.ok, report.unfaithful_summaries), (3, 0));
    let article = output::read_article(&out, "kim-troops").unwrap();
    assert_eq!(article.summary.method, SummaryMethod::Llm);
    assert_eq!(article.summary.text, faithful);
    assert_eq!(article.summary.headline, None);
    let rejected = article.summary.rejected_headline.as_ref().unwrap();
    assert_eq!(rejected.text, invented);
    assert!(article.warnings.iter().any(|w| matches!(
        w,
        Warning::HeadlineRejected { terms } if terms.iter().any(|t| t.contains("Zanzibar"))
    )));
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        events[0].starts_with("no digest introduction: it names ")
            && events[0].contains("Zanzibar"),
        "{events:?}"
    );
    for digest in ["digest.md", "digest.html"] {
        let text = std::fs::read_to_string(out.join(digest)).unwrap();
        assert!(!text.contains(invented), "{digest}");
        assert!(!text.contains("leads the news"), "{digest}");
    }
}

#[test]
fn answers_cut_off_at_the_token_limit_are_warned_about_also_when_served_from_the_cache() {
    let work = tempfile::tempdir().unwrap();
    let cache = Cache::open(&work.path().join("cache")).unwrap();
    // Longer than any answer may be (translation: the source's length plus a
    // margin; summary: 50 tokens here; headline: 40; introduction: 200), and
    // naming nothing, so that it is faithful to anything.
    let chat = ScriptedChat::answering(&["the rain went on"; 100].join(" "));
    let calls = chat.log();
    let chat = crate::chat::shared(chat.with_context_length(8192));
    let translator = LlmTranslator::new(
        chat.clone(),
        Prompts::load(None).unwrap(),
        Default::default(),
    );
    let summarizer = Summarizer::new(
        chat,
        Prompts::load(None).unwrap(),
        SummaryOptions {
            sampling: crate::chat::Sampling {
                max_new_tokens: 50,
                ..Default::default()
            },
            ..SummaryOptions::default()
        },
    );
    let model = ModelContext {
        engine: Engine::Llm(&translator),
        info: ModelInfo {
            name: "scripted".into(),
            revision: None,
            licence: None,
        },
        identity: translator.identity().to_string(),
        summarizer: Some(&summarizer),
    };
    let run_into = |out: &Path| {
        let mut events = Vec::new();
        let report = run_fixtures(out, &cache, &model, &mut |event| {
            if let Event::Warning { message } = event {
                events.push(message);
            }
        });
        assert_eq!(report.ok, 3);
        let article = output::read_article(out, "kim-troops").unwrap();
        (article.warnings, events)
    };

    let (warnings, events) = run_into(&work.path().join("first"));
    for expected in [
        Warning::TitleTranslationCutOff,
        Warning::ParagraphTranslationCutOff { paragraph: 1 },
        Warning::SummaryCutOff,
        Warning::HeadlineCutOff,
    ] {
        assert!(
            warnings.contains(&expected),
            "{expected} not in {warnings:?}"
        );
    }
    assert_eq!(
        events,
        ["no digest introduction: the chat model stopped at the token limit before finishing"]
    );
    let digest = std::fs::read_to_string(work.path().join("first").join("digest.md")).unwrap();
    assert!(!digest.contains("Introduction written by a language model"));

    // New outputs, the same cache: every answer comes from it, and so do the
    // warnings.
    let model_calls = calls.calls();
    let (again, events_again) = run_into(&work.path().join("second"));
    assert_eq!(calls.calls(), model_calls);
    assert_eq!(again, warnings);
    assert_eq!(events_again, events);
}

/// The fixture NMT model, loaded.
fn fixture_translator() -> (Translator, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let resolved = resolve(
        &root.join("tests/fixtures/marian-tiny").to_string_lossy(),
        &ResolveOptions::default(),
    )
    .unwrap();
    let translator = Translator::load(&resolved, &LoadOptions::default()).unwrap();
    (translator, resolved.identity)
}

fn nmt_context<'a>(translator: &'a Translator, identity: &str) -> ModelContext<'a> {
    ModelContext {
        engine: Engine::Nmt(translator),
        info: ModelInfo {
            name: "marian-tiny".into(),
            revision: None,
            licence: None,
        },
        identity: identity.to_string(),
        summarizer: None,
    }
}

#[test]
fn sentences_another_run_stored_after_the_window_lookup_are_not_translated() {
    let work = tempfile::tempdir().unwrap();
    let cache = Cache::open(work.path()).unwrap();
    // A second connection, as another process sharing the cache would have.
    let other_run = Cache::open(work.path()).unwrap();
    let (translator, identity) = fixture_translator();
    let model = nmt_context(&translator, &identity);
    let mut segments = SegmentTranslator::new(&model, Some(&cache), 2);
    let lines: Vec<String> = [
        "ঢাকায় বৃষ্টি হয়েছে।",
        "কিম রাশিয়া সফর করেছেন।",
        "পুতিন বৈঠক করেছেন।",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let settings = segments.settings().to_string();
    let mut observe = |event: Event| {
        // Between the window's lookup and its first batch, the other run
        // stores every sentence.
        if matches!(event, Event::Lookup { segments, .. } if segments > 0) {
            let entries: Vec<_> = lines
                .iter()
                .map(|line| {
                    let key = crate::cache::CacheKey::new(&identity, &settings, line);
                    (key, format!("stored by another run: {line}"))
                })
                .collect();
            other_run.put_many(&identity, &entries).unwrap();
        }
    };
    let english: Vec<String> = translate_lines(&lines, true, &mut segments, &mut observe)
        .unwrap()
        .into_iter()
        .map(|line| line.english)
        .collect();
    let expected: Vec<String> = lines
        .iter()
        .map(|line| format!("stored by another run: {line}"))
        .collect();
    assert_eq!(english, expected);
    assert_eq!((segments.hits, segments.misses), (3, 0));
    assert_eq!(segments.generated_tokens, 0, "the model translated nothing");
}

#[test]
fn a_stop_request_ends_the_run_after_the_batch_in_flight_without_a_digest() {
    let work = tempfile::tempdir().unwrap();
    let cache = Cache::open(&work.path().join("cache")).unwrap();
    let (translator, identity) = fixture_translator();
    let model = nmt_context(&translator, &identity);
    let out = work.path().join("out");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let inputs = crate::ingest::read_inputs(
        &[root
            .join("tests/fixtures/articles")
            .to_string_lossy()
            .into_owned()],
        &crate::ingest::ReadOptions {
            out_dir: Some(out.clone()),
            ..Default::default()
        },
    )
    .articles;
    let stop = Arc::new(AtomicBool::new(false));
    let options = RunOptions {
        out_dir: Some(out.clone()),
        shard: None,
        batch_size: 1,
        summary_sentences: DEFAULT_SUMMARY_SENTENCES,
        stop: Some(Arc::clone(&stop)),
        prune: false,
    };
    let mut batches = 0;
    let report = run(
        inputs,
        None,
        &model,
        Some(&cache),
        &options,
        None,
        &mut |event| {
            if let Event::Batch { .. } = event {
                batches += 1;
                // Ctrl-C while the second batch is being translated.
                if batches == 2 {
                    stop.store(true, Ordering::Relaxed);
                }
            }
        },
    )
    .unwrap();
    assert!(report.interrupted);
    assert_eq!(batches, 2, "no batch starts after the request");
    assert_eq!(report.ok, 0, "no article of the window is complete");
    assert!(!out.join("digest.md").exists());
    assert_eq!(cache.stats().unwrap().entries, 2, "both batches are stored");
}
