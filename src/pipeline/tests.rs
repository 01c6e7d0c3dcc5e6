use super::*;
use crate::chat::prompts::Prompts;
use crate::chat::scripted::ScriptedChat;
use crate::llm::summary::SummaryOptions;
use crate::models::{resolve, ResolveOptions};
use crate::nmt::translator::{LoadOptions, Translator};
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
    let inputs = crate::ingest::read_inputs(&[root
        .join("tests/fixtures/articles")
        .to_string_lossy()
        .into_owned()]);
    let options = RunOptions {
        out_dir: out.to_path_buf(),
        batch_size: 8,
    };
    run(inputs, &model, Some(cache), &options, &mut |_| {}).unwrap()
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
