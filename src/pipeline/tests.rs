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

/// A number that is in no article, so every summary is unfaithful.
const UNFAITHFUL_ANSWER: &str = "It happened 98765 times.";

fn scripted() -> ScriptedChat {
    ScriptedChat::answering(UNFAITHFUL_ANSWER).with_context_length(8192)
}

fn run_fixture_articles(out: &Path, cache: &Cache, summarizer: &Summarizer) -> RunReport {
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
    run_fixtures(out, cache, &model, &mut |_| {})
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
        Some(out),
    )
    .articles;
    let options = RunOptions {
        out_dir: out.to_path_buf(),
        batch_size: 8,
        summary_sentences: DEFAULT_SUMMARY_SENTENCES,
        stop: None,
    };
    run(inputs, model, Some(cache), &options, observe).unwrap()
}

#[test]
fn llm_summaries_are_written_flagged_and_cached_with_the_translations() {
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
    assert_eq!(article.summary.method, SummaryMethod::Llm);
    assert_eq!(article.summary.text, "It happened 98765 times.");
    assert!(article
        .warnings
        .iter()
        .map(Warning::to_string)
        .any(|w| w.contains("summary mentions terms not found") && w.contains("98765")));
    assert!(article.generation["summarizer"]["prompts"]["summarize"].is_string());

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
