//! Article → normalized → segmented → translated → summarized → written.
//!
//! Segments from many articles are pooled, looked up in the cache, and the
//! misses translated in batches of similar length (an NMT model) or a
//! paragraph at a time (a chat model, `--translator`); each batch is stored
//! in the cache as soon as it finishes, so an interrupted run loses at most
//! one batch. Articles whose inputs and settings did not change since the last
//! run keep their files untouched.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::article::{Article, InputError};
use crate::cache::{Cache, CacheKey, SCHEMA_VERSION};
use crate::extract::{extract_page, Extracted};
use crate::llm_summary::{ArticleText, METHOD_LLM};
use crate::llm_translate::{LlmTranslateError, LlmTranslator, ParagraphTranslation};
use crate::numbers::check_numbers;
use crate::output::{
    self, ArticleOutput, Bilingual, IdAllocator, ModelInfo, OutputError, SentencePair, Summary,
    Timings,
};
use crate::summarizer::{StoryBrief, Summarizer};
use crate::summary::{extractive_summary, METHOD_EXTRACTIVE};
use crate::text;
use crate::translator::{Translator, TranslatorError};

/// Sentences in an extractive summary.
const SUMMARY_SENTENCES: usize = 3;
/// Segments pooled before translating, so batches can be formed by length
/// across articles while outputs still appear steadily.
const WINDOW_SEGMENTS: usize = 512;

/// What translates: an NMT model sentence by sentence, or a chat model a
/// paragraph at a time.
#[derive(Clone, Copy)]
pub enum Engine<'a> {
    Nmt(&'a Translator),
    Llm(&'a LlmTranslator),
}

impl Engine<'_> {
    /// Every setting that can change a translation, as written into each
    /// article's `generation` and hashed into cache keys.
    pub fn settings_json(&self) -> serde_json::Value {
        match self {
            Engine::Nmt(translator) => translator.settings_json(),
            Engine::Llm(translator) => translator.settings_json(),
        }
    }

    fn token_count(&self, text: &str) -> usize {
        match self {
            Engine::Nmt(translator) => translator.token_count(text),
            Engine::Llm(translator) => translator.token_count(text),
        }
    }

    fn max_source_tokens(&self) -> usize {
        match self {
            Engine::Nmt(translator) => translator.max_source_tokens(),
            Engine::Llm(translator) => translator.max_source_tokens(),
        }
    }

    /// The units one paragraph is translated in: its sentences, split where
    /// longer than the model takes; a chat model gets them in runs.
    fn paragraph_units(&self, paragraph: &str) -> Vec<Vec<String>> {
        let count = |s: &str| self.token_count(s);
        let sentences: Vec<String> = text::split_sentences(paragraph)
            .iter()
            .flat_map(|sentence| text::split_long(sentence, self.max_source_tokens(), &count))
            .collect();
        match self {
            _ if sentences.is_empty() => Vec::new(),
            Engine::Nmt(_) => vec![sentences],
            Engine::Llm(translator) => translator.units(sentences),
        }
    }
}

/// Why translating failed: the model, not the input. Boxed: a model error
/// is rare and large; the common result stays small.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Nmt(Box<TranslatorError>),
    #[error("the chat model could not translate")]
    Llm(#[source] Box<LlmTranslateError>),
}

impl From<TranslatorError> for EngineError {
    fn from(error: TranslatorError) -> Self {
        EngineError::Nmt(Box::new(error))
    }
}

impl From<LlmTranslateError> for EngineError {
    fn from(error: LlmTranslateError) -> Self {
        EngineError::Llm(Box::new(error))
    }
}

/// The model a run uses and how outputs name it.
pub struct ModelContext<'a> {
    pub engine: Engine<'a>,
    pub info: ModelInfo,
    /// Stable identity for cache keys: repo@revision or a content hash.
    pub identity: String,
    /// Writes summaries with a chat model; without one the summary is
    /// extractive (sentences picked from the translation), labelled so.
    pub summarizer: Option<&'a Summarizer>,
}

/// What the pipeline reports while it works; the binary draws progress from it.
#[derive(Debug)]
pub enum Event<'a> {
    Started {
        articles: usize,
    },
    /// Segments of the current group of articles, and how many the cache had.
    Window {
        segments: usize,
        cached: usize,
    },
    Batch {
        sentences: usize,
        tokens: usize,
    },
    ArticleDone {
        id: &'a str,
        unchanged: bool,
    },
    ArticleFailed {
        error: &'a str,
    },
    CacheDisabled {
        reason: String,
    },
    /// Something the user should know that fails no article.
    Warning {
        message: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Translate(#[from] EngineError),
    #[error(transparent)]
    Output(#[from] OutputError),
}

#[derive(Debug, Default, Clone)]
pub struct RunReport {
    pub ok: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub segments: usize,
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub generated_tokens: usize,
    /// Warnings written into the articles (numbers lost in translation,
    /// pages without story text, unfaithful summaries).
    pub warnings: usize,
    /// LLM summaries whose numbers or names are not in the translation.
    pub unfaithful_summaries: usize,
    pub elapsed: Duration,
}

/// A segment's English and whether the cache supplied it.
#[derive(Debug, Clone)]
pub struct Translated {
    pub english: String,
    pub cached: bool,
}

/// The English of a window's units: per sentence, and per unit where a chat
/// model's answer could not be split back into its sentences.
#[derive(Debug, Default)]
pub struct Translations {
    sentences: HashMap<String, Translated>,
    /// Keyed by [`unit_key`].
    units: HashMap<String, Translated>,
    /// Sentences of the cached entries of `units`.
    cached_in_units: HashSet<String>,
}

impl Translations {
    /// The aligned pairs of `unit`: one per sentence, or one for the whole
    /// unit when the model's answer did not split into its sentences.
    pub fn pairs(&self, unit: &[String]) -> Vec<SentencePair> {
        match self.units.get(&unit_key(unit)) {
            Some(whole) if unit.len() > 1 => vec![SentencePair {
                bn: unit.join(" "),
                en: whole.english.clone(),
            }],
            _ => unit
                .iter()
                .map(|s| SentencePair {
                    bn: s.clone(),
                    en: self
                        .sentences
                        .get(s)
                        .map(|t| t.english.clone())
                        .unwrap_or_default(),
                })
                .collect(),
        }
    }

    /// Whether the cache supplied `segment`'s English.
    fn cached(&self, segment: &str) -> bool {
        self.sentences.get(segment).is_some_and(|t| t.cached)
            || self.cached_in_units.contains(segment)
    }
}

/// A unit's sentences as one text: the chat model's cache key and the key
/// of its unaligned answers.
fn unit_key(unit: &[String]) -> String {
    unit.join("\n")
}

/// Translates segments through the cache; shared by `run` and `translate`.
pub struct SegmentTranslator<'a> {
    model: &'a ModelContext<'a>,
    cache: Option<&'a Cache>,
    batch_size: usize,
    settings: String,
    pub hits: u64,
    pub misses: u64,
    pub generated_tokens: usize,
}

impl<'a> SegmentTranslator<'a> {
    pub fn new(model: &'a ModelContext<'a>, cache: Option<&'a Cache>, batch_size: usize) -> Self {
        let settings = model.engine.settings_json().to_string();
        Self {
            model,
            cache,
            batch_size: batch_size.max(1),
            settings,
            hits: 0,
            misses: 0,
            generated_tokens: 0,
        }
    }

    pub fn settings(&self) -> &str {
        &self.settings
    }

    fn key(&self, segment: &str) -> CacheKey {
        CacheKey::new(&self.model.identity, &self.settings, segment)
    }

    fn disable_cache(&mut self, error: &dyn std::error::Error, observe: &mut dyn FnMut(Event)) {
        self.cache = None;
        observe(Event::CacheDisabled {
            reason: with_causes(error),
        });
    }

    /// English for every unit: an NMT model translates the distinct
    /// sentences in batches, a chat model each distinct unit.
    pub fn translate_units(
        &mut self,
        units: &[&[String]],
        observe: &mut dyn FnMut(Event),
    ) -> Result<Translations, EngineError> {
        match self.model.engine {
            Engine::Nmt(translator) => {
                let segments: Vec<String> = units.iter().flat_map(|u| u.iter().cloned()).collect();
                Ok(Translations {
                    sentences: self.translate_all(translator, &segments, observe)?,
                    ..Translations::default()
                })
            }
            Engine::Llm(translator) => self.translate_with_llm(translator, units, observe),
        }
    }

    fn translate_with_llm(
        &mut self,
        translator: &LlmTranslator,
        units: &[&[String]],
        observe: &mut dyn FnMut(Event),
    ) -> Result<Translations, EngineError> {
        let mut seen = HashSet::new();
        let unique: Vec<&[String]> = units
            .iter()
            .copied()
            .filter(|u| !u.is_empty() && seen.insert(unit_key(u)))
            .collect();
        let keys: Vec<CacheKey> = unique.iter().map(|u| self.key(&unit_key(u))).collect();
        let mut found: Vec<Option<ParagraphTranslation>> = vec![None; unique.len()];
        if let Some(cache) = self.cache {
            match cache.get_many(&keys) {
                Ok(hits) => {
                    for (slot, hit) in found.iter_mut().zip(hits) {
                        *slot = hit.and_then(|json| serde_json::from_str(&json).ok());
                    }
                }
                Err(e) => self.disable_cache(&e, observe),
            }
        }
        let cached = found.iter().filter(|f| f.is_some()).count();
        self.hits += cached as u64;
        self.misses += (unique.len() - cached) as u64;
        // Progress counts sentences, as for NMT models.
        observe(Event::Window {
            segments: unique.iter().map(|u| u.len()).sum(),
            cached: unique
                .iter()
                .zip(&found)
                .filter(|(_, f)| f.is_some())
                .map(|(u, _)| u.len())
                .sum(),
        });
        let mut translations = Translations::default();
        for ((unit, key), found) in unique.iter().zip(keys).zip(found) {
            let (translation, cached) = match found {
                Some(translation) => (translation, true),
                None => {
                    let translation = translator.translate(unit)?;
                    let tokens: usize = translation
                        .english
                        .iter()
                        .map(|e| translator.token_count(e))
                        .sum();
                    self.generated_tokens += tokens;
                    if let (Some(cache), Ok(json)) =
                        (self.cache, serde_json::to_string(&translation))
                    {
                        if let Err(e) = cache.put_many(translator.identity(), &[(key, json)]) {
                            self.disable_cache(&e, observe);
                        }
                    }
                    observe(Event::Batch {
                        sentences: unit.len(),
                        tokens,
                    });
                    (translation, false)
                }
            };
            if translation.aligned && translation.english.len() == unit.len() {
                for (segment, english) in unit.iter().zip(translation.english) {
                    translations
                        .sentences
                        .insert(segment.clone(), Translated { english, cached });
                }
            } else {
                let english = translation.english.join(" ");
                if cached {
                    translations.cached_in_units.extend(unit.iter().cloned());
                }
                translations
                    .units
                    .insert(unit_key(unit), Translated { english, cached });
            }
        }
        Ok(translations)
    }

    /// English for every distinct non-empty segment of `segments`.
    fn translate_all(
        &mut self,
        translator: &Translator,
        segments: &[String],
        observe: &mut dyn FnMut(Event),
    ) -> Result<HashMap<String, Translated>, TranslatorError> {
        let mut seen = HashSet::new();
        let unique: Vec<&String> = segments
            .iter()
            .filter(|s| !s.trim().is_empty() && seen.insert(s.as_str()))
            .collect();
        let mut done = HashMap::with_capacity(unique.len());
        let mut missing: Vec<&String> = unique.clone();
        if let Some(cache) = self.cache {
            let keys: Vec<CacheKey> = unique.iter().map(|s| self.key(s)).collect();
            match cache.get_many(&keys) {
                Ok(found) => {
                    missing.clear();
                    for (segment, hit) in unique.iter().zip(found) {
                        match hit {
                            Some(english) => {
                                let cached = Translated {
                                    english,
                                    cached: true,
                                };
                                done.insert((*segment).clone(), cached);
                            }
                            None => missing.push(segment),
                        }
                    }
                }
                Err(e) => self.disable_cache(&e, observe),
            }
        }
        self.hits += done.len() as u64;
        self.misses += missing.len() as u64;
        observe(Event::Window {
            segments: unique.len(),
            cached: done.len(),
        });
        let mut encoded: Vec<(&String, Vec<u32>)> = missing
            .into_iter()
            .map(|s| Ok((s, translator.encode(s)?)))
            .collect::<Result<_, TranslatorError>>()?;
        // Longest first: similar lengths share a batch, so little is padding.
        encoded.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(b.0)));
        for batch in encoded.chunks(self.batch_size) {
            let ids: Vec<Vec<u32>> = batch.iter().map(|(_, ids)| ids.clone()).collect();
            let outputs = translator.translate_encoded(&ids)?;
            let tokens: usize = outputs.iter().map(|(_, n)| n).sum();
            self.generated_tokens += tokens;
            let entries: Vec<(CacheKey, String)> = batch
                .iter()
                .zip(&outputs)
                .map(|((segment, _), (english, _))| (self.key(segment), english.clone()))
                .collect();
            if let Some(cache) = self.cache {
                if let Err(e) = cache.put_many(&self.model.identity, &entries) {
                    self.disable_cache(&e, observe);
                }
            }
            for ((segment, _), (english, _)) in batch.iter().zip(outputs) {
                let fresh = Translated {
                    english,
                    cached: false,
                };
                done.insert((*segment).clone(), fresh);
            }
            observe(Event::Batch {
                sentences: batch.len(),
                tokens,
            });
        }
        Ok(done)
    }
}

/// "error: cause: deeper cause", for one-line warnings.
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// An article ready to translate.
struct Prepared {
    article: Article,
    story: Extracted,
    id: String,
    title: String,
    title_segments: Vec<String>,
    paragraphs: Vec<Vec<String>>,
    fingerprint: String,
}

impl Prepared {
    fn segments(&self) -> impl Iterator<Item = &String> {
        self.title_segments
            .iter()
            .chain(self.paragraphs.iter().flatten())
    }
}

fn fingerprint(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(SCHEMA_VERSION.to_le_bytes());
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn prepare(article: Article, id: String, model: &ModelContext, settings: &str) -> Prepared {
    let story = extract_page(&article.text, &article.hints);
    let title = story.title.clone().unwrap_or_default();
    let title_segments: Vec<String> = model
        .engine
        .paragraph_units(&title)
        .into_iter()
        .flatten()
        .collect();
    // A chat model's runs of sentences become paragraphs of their own.
    let paragraphs: Vec<Vec<String>> = story
        .body
        .iter()
        .flat_map(|p| model.engine.paragraph_units(p))
        .collect();
    let body = story.body.join("\n");
    let fingerprint = fingerprint(&[
        &model.identity,
        settings,
        &id,
        &article.input,
        &title,
        &body,
        article.url.as_deref().unwrap_or(""),
        story.published.as_deref().unwrap_or(""),
        story.updated.as_deref().unwrap_or(""),
        story.source.as_deref().unwrap_or(""),
        story.byline.as_deref().unwrap_or(""),
    ]);
    Prepared {
        article,
        story,
        id,
        title,
        title_segments,
        paragraphs,
        fingerprint,
    }
}

/// The English of `unit`'s sentences as one text.
fn english(translations: &Translations, unit: &[String]) -> String {
    translations
        .pairs(unit)
        .into_iter()
        .map(|pair| pair.en)
        .collect::<Vec<_>>()
        .join(" ")
}

fn assemble(
    prepared: Prepared,
    translations: &Translations,
    model: &ModelContext,
    timings: Timings,
) -> ArticleOutput {
    let title_en = english(translations, &prepared.title_segments);
    let paragraphs: Vec<Vec<SentencePair>> = prepared
        .paragraphs
        .iter()
        .map(|p| translations.pairs(p))
        .collect();
    let mut warnings = Vec::new();
    for (p, paragraph) in paragraphs.iter().enumerate() {
        for (i, pair) in paragraph.iter().enumerate() {
            for missing in check_numbers(&pair.bn, &pair.en) {
                warnings.push(format!(
                    "paragraph {}, sentence {}: number {} ({}) is not in the translation",
                    p + 1,
                    i + 1,
                    missing.source,
                    missing.value
                ));
            }
        }
    }
    if paragraphs.is_empty() {
        warnings.push("no story text found on the page; only the title was translated".into());
    }
    let sentences: Vec<String> = paragraphs.iter().flatten().map(|p| p.en.clone()).collect();
    let summary = if sentences.is_empty() {
        title_en.clone()
    } else {
        extractive_summary(&sentences, SUMMARY_SENTENCES)
            .into_iter()
            .map(|i| sentences[i].clone())
            .collect::<Vec<_>>()
            .join(" ")
    };
    ArticleOutput {
        id: prepared.id,
        input: prepared.article.input,
        title: Bilingual {
            bn: prepared.title,
            en: title_en,
        },
        url: prepared.article.url,
        published: prepared.story.published,
        updated: prepared.story.updated,
        source: prepared.story.source,
        byline: prepared.story.byline,
        paragraphs,
        summary: Summary {
            text: summary,
            method: METHOD_EXTRACTIVE.to_string(),
            headline: None,
        },
        model: model.info.clone(),
        generation: model.engine.settings_json(),
        warnings,
        timings,
        fingerprint: prepared.fingerprint,
    }
}

pub struct RunOptions {
    pub out_dir: PathBuf,
    pub batch_size: usize,
}

/// Translates every article, writes its files and the digest.
pub fn run(
    inputs: Vec<Result<Article, InputError>>,
    model: &ModelContext,
    cache: Option<&Cache>,
    options: &RunOptions,
    observe: &mut dyn FnMut(Event),
) -> Result<RunReport, RunError> {
    let started = Instant::now();
    observe(Event::Started {
        articles: inputs.len(),
    });
    let mut run = Run {
        model,
        options,
        segments: SegmentTranslator::new(model, cache, options.batch_size),
        report: RunReport::default(),
        written: Vec::new(),
        failed: Vec::new(),
        observe,
    };
    // An article's outputs change with the translation settings and, when
    // there is one, the summarizer's (model, prompt hashes, sampling).
    let settings = match model.summarizer {
        Some(summarizer) => format!("{}\n{}", run.segments.settings(), summarizer.settings()),
        None => run.segments.settings().to_string(),
    };
    let mut ids = IdAllocator::new();
    let mut window: Vec<Prepared> = Vec::new();
    let mut window_segments = 0;
    for input in inputs {
        let article = match input {
            Ok(article) => article,
            Err(error) => {
                run.fail(error.input().to_string(), error.to_string());
                continue;
            }
        };
        let id = ids.allocate(&article.raw_id);
        let prepared = prepare(article, id, model, &settings);
        if prepared.title.is_empty() && prepared.paragraphs.is_empty() {
            let message = format!(
                "{}: no story text found ({} lines of site furniture dropped)",
                prepared.article.input,
                prepared.story.dropped.len()
            );
            run.fail(prepared.article.input.clone(), message);
        } else if !run.reuse_unchanged(&prepared) {
            window_segments += prepared.segments().count();
            window.push(prepared);
            if window_segments >= WINDOW_SEGMENTS {
                run.flush(std::mem::take(&mut window))?;
                window_segments = 0;
            }
        }
    }
    run.flush(window)?;
    let Run {
        mut report,
        segments,
        written,
        failed,
        ..
    } = run;
    report.failed = failed.len();
    report.cache_hits = segments.hits;
    report.cache_misses = segments.misses;
    report.generated_tokens = segments.generated_tokens;
    let intro = match model.summarizer {
        Some(summarizer) => digest_intro(summarizer, &written, cache, observe),
        None => None,
    };
    output::write_digest(&options.out_dir, &written, &failed, intro.as_deref())?;
    if let Some(cache) = cache {
        // The counts are informational; a failure to store them is not worth
        // failing a finished run for.
        let _ = cache.record_run(report.cache_hits, report.cache_misses);
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

/// The chat model's introduction to the digest of `articles`, newest story
/// first; a model that fails leaves the digest without one, with a warning.
fn digest_intro(
    summarizer: &Summarizer,
    articles: &[ArticleOutput],
    cache: Option<&Cache>,
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

/// The state of one `run`: what was written, what failed, the counts.
struct Run<'a, 'o> {
    model: &'a ModelContext<'a>,
    options: &'a RunOptions,
    segments: SegmentTranslator<'a>,
    report: RunReport,
    written: Vec<ArticleOutput>,
    failed: Vec<(String, String)>,
    observe: &'o mut dyn FnMut(Event),
}

impl Run<'_, '_> {
    fn fail(&mut self, input: String, message: String) {
        (self.observe)(Event::ArticleFailed { error: &message });
        self.failed.push((input, message));
    }

    /// Keeps the previous output when its fingerprint matches; true if it did.
    fn reuse_unchanged(&mut self, prepared: &Prepared) -> bool {
        let out_dir = &self.options.out_dir;
        if output::existing_fingerprint(out_dir, &prepared.id).as_deref()
            != Some(prepared.fingerprint.as_str())
        {
            return false;
        }
        let Some(previous) = output::read_article(out_dir, &prepared.id) else {
            return false;
        };
        (self.observe)(Event::ArticleDone {
            id: &previous.id,
            unchanged: true,
        });
        self.report.unchanged += 1;
        self.report.warnings += previous.warnings.len();
        self.report.segments += prepared.segments().count();
        // Served from the up-to-date output instead of a lookup: no model
        // call, so it counts as a hit.
        let distinct: HashSet<&String> = prepared.segments().collect();
        self.segments.hits += distinct.len() as u64;
        self.written.push(previous);
        true
    }

    /// Replaces the extractive summary by the chat model's. A model that
    /// fails leaves the extractive one, with a warning saying why.
    fn summarize(&mut self, summarizer: &Summarizer, article: &mut ArticleOutput) {
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
        match summarizer.summarize(&text, self.segments.cache) {
            Ok((record, _cached)) => {
                if !record.unsupported.is_empty() {
                    self.report.unfaithful_summaries += 1;
                    article.warnings.push(format!(
                        "summary mentions terms not found in the translation: {}",
                        record.unsupported.join(", ")
                    ));
                }
                let headline = match summarizer.headline(&text, &record.text, self.segments.cache) {
                    Ok(headline) => headline,
                    Err(e) => {
                        article.warnings.push(format!(
                            "no LLM headline ({}); the translated title heads the story",
                            with_causes(&e)
                        ));
                        None
                    }
                };
                article.summary = Summary {
                    text: record.text,
                    method: METHOD_LLM.to_string(),
                    headline,
                };
                if let (Some(generation), Ok(settings)) = (
                    article.generation.as_object_mut(),
                    serde_json::from_str::<serde_json::Value>(summarizer.settings()),
                ) {
                    generation.insert("summarizer".into(), settings);
                }
            }
            Err(e) => article.warnings.push(format!(
                "no LLM summary ({}); the summary is extractive",
                with_causes(&e)
            )),
        }
    }

    /// Translates the pooled articles together and writes each one.
    fn flush(&mut self, window: Vec<Prepared>) -> Result<(), RunError> {
        if window.is_empty() {
            return Ok(());
        }
        let units: Vec<&[String]> = window
            .iter()
            .flat_map(|p| {
                std::iter::once(p.title_segments.as_slice())
                    .chain(p.paragraphs.iter().map(Vec::as_slice))
            })
            .collect();
        let misses_before = self.segments.misses;
        let started = Instant::now();
        let translations = self.segments.translate_units(&units, &mut *self.observe)?;
        let translate_ms = started.elapsed().as_millis() as u64;
        let window_misses = (self.segments.misses - misses_before).max(1);
        for prepared in window {
            let article_started = Instant::now();
            let count = prepared.segments().count();
            let distinct: HashSet<&String> = prepared.segments().collect();
            let cached = distinct.iter().filter(|s| translations.cached(s)).count();
            let translated = distinct.len() - cached;
            let timings = Timings {
                // The window's model time, shared out by the segments each
                // article sent.
                translate_ms: translate_ms * translated as u64 / window_misses,
                total_ms: 0,
                cached_segments: cached,
                translated_segments: translated,
            };
            let input = prepared.article.input.clone();
            let mut article = assemble(prepared, &translations, self.model, timings);
            if let Some(summarizer) = self.model.summarizer {
                self.summarize(summarizer, &mut article);
            }
            article.timings.total_ms =
                article.timings.translate_ms + article_started.elapsed().as_millis() as u64;
            self.report.segments += count;
            self.report.warnings += article.warnings.len();
            match output::write_article(&self.options.out_dir, &article) {
                Ok(()) => {
                    (self.observe)(Event::ArticleDone {
                        id: &article.id,
                        unchanged: false,
                    });
                    self.report.ok += 1;
                    self.written.push(article);
                }
                Err(e) => self.fail(input.clone(), format!("{input}: {e}")),
            }
        }
        Ok(())
    }
}

/// `anubad translate`: one output line per input line. With `whole_lines`
/// a line is split only where it exceeds the model's input limit (an NMT
/// model then gets each piece as one segment).
pub fn translate_lines(
    lines: &[String],
    whole_lines: bool,
    segments: &mut SegmentTranslator,
    observe: &mut dyn FnMut(Event),
) -> Result<Vec<String>, EngineError> {
    let engine = segments.model.engine;
    let count = |s: &str| engine.token_count(s);
    let split: Vec<Vec<Vec<String>>> = lines
        .iter()
        .map(|line| {
            let line = text::normalize(line);
            let line = line.trim();
            if line.is_empty() {
                Vec::new()
            } else if whole_lines {
                text::split_long(line, engine.max_source_tokens(), &count)
                    .into_iter()
                    .map(|piece| vec![piece])
                    .collect()
            } else {
                engine.paragraph_units(line)
            }
        })
        .collect();
    let units: Vec<&[String]> = split.iter().flatten().map(Vec::as_slice).collect();
    let translations = segments.translate_units(&units, observe)?;
    Ok(split
        .iter()
        .map(|line_units| {
            line_units
                .iter()
                .map(|unit| english(&translations, unit))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::{ChatError, ChatMessage, ChatModel, Sampling};
    use crate::llm_summary::SummaryOptions;
    use crate::prompts::Prompts;
    use crate::resolve::{resolve, ResolveOptions};
    use crate::translator::LoadOptions;
    use std::path::Path;

    /// Answers with the first words of the article's title plus a number
    /// that is in no article, so every summary is unfaithful.
    struct Scripted;

    impl ChatModel for Scripted {
        fn identity(&self) -> &str {
            "test:scripted"
        }
        fn context_length(&self) -> usize {
            8192
        }
        fn count_tokens(&self, text: &str) -> usize {
            text.split_whitespace().count()
        }
        fn chat(&mut self, _: &[ChatMessage], _: &Sampling) -> Result<String, ChatError> {
            Ok("It happened 98765 times.".into())
        }
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
        let inputs = crate::article::read_inputs(&[root
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
            crate::chat::shared(Scripted),
            Prompts::load(None).unwrap(),
            SummaryOptions::default(),
        );
        let first = run_fixture_articles(&out, &cache, &summarizer);
        assert_eq!(first.ok, 3);
        assert_eq!(first.unfaithful_summaries, 3);
        let article = output::read_article(&out, "kim-troops").unwrap();
        assert_eq!(article.summary.method, METHOD_LLM);
        assert_eq!(article.summary.text, "It happened 98765 times.");
        assert!(article
            .warnings
            .iter()
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
            .text(crate::prompts::SUMMARIZE)
            .unwrap()
            .to_string();
        std::fs::write(
            prompts.path().join("summarize.md.j2"),
            edited + "\nBe brief.",
        )
        .unwrap();
        let summarizer = Summarizer::new(
            crate::chat::shared(Scripted),
            Prompts::load(Some(prompts.path())).unwrap(),
            SummaryOptions::default(),
        );
        let third = run_fixture_articles(&out, &cache, &summarizer);
        assert_eq!((third.ok, third.unchanged, third.cache_misses), (3, 0, 0));
    }
}
