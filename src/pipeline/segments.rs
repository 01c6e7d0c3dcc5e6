//! Segments to English through the cache: looked up first, the misses
//! translated in batches of similar length (an NMT model) or a paragraph at
//! a time (a chat model), and each batch stored as soon as it finishes.
//!
//! Runs started together on one cache share the work: each takes its
//! batches in its own random order and looks every batch up again just
//! before translating it, so what another run has stored meanwhile is not
//! translated twice. A stop request (Ctrl-C) is honoured between batches.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::cache::{Cache, CacheKey, RunCache, StoredAsJson};
use crate::llm::translate::{LlmTranslateError, LlmTranslator, ParagraphTranslation};
use crate::nmt::translator::{Translator, TranslatorError};
use crate::output::SentencePair;
use crate::text;

use crate::pipeline::{report_cache_failure, Event, ModelContext};

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
    pub(crate) fn settings_json(&self) -> serde_json::Value {
        match self {
            Engine::Nmt(translator) => translator.settings_json(),
            Engine::Llm(translator) => translator.settings_json(),
        }
    }

    pub(crate) fn token_count(&self, text: &str) -> usize {
        match self {
            Engine::Nmt(translator) => translator.token_count(text),
            Engine::Llm(translator) => translator.token_count(text),
        }
    }

    pub(crate) fn max_source_tokens(&self) -> usize {
        match self {
            Engine::Nmt(translator) => translator.max_source_tokens(),
            Engine::Llm(translator) => translator.max_source_tokens(),
        }
    }

    /// The units one paragraph is translated in: its sentences, split where
    /// longer than the model takes; a chat model gets them in runs.
    pub(crate) fn paragraph_units(&self, paragraph: &str) -> Vec<Vec<String>> {
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
    /// A stop was requested ([`SegmentTranslator::stop_on`]); everything
    /// translated before it is in the cache.
    #[error("stopped on request")]
    Stopped,
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

/// A segment's English and whether the cache supplied it.
#[derive(Debug, Clone)]
pub(crate) struct Translated {
    pub(crate) english: String,
    pub(crate) cached: bool,
}

/// The English of a window's units: per sentence, and per unit where a chat
/// model's answer could not be split back into its sentences.
#[derive(Debug, Default)]
pub(crate) struct Translations {
    sentences: HashMap<String, Translated>,
    /// Keyed by [`unit_key`].
    units: HashMap<String, Translated>,
    /// Sentences of the cached entries of `units`.
    cached_in_units: HashSet<String>,
    /// [`unit_key`]s of the units the chat model stopped translating at the
    /// token limit.
    cut_off_units: HashSet<String>,
}

impl Translations {
    /// The aligned pairs of `unit`: one per sentence, or one for the whole
    /// unit when the model's answer did not split into its sentences.
    pub(crate) fn pairs(&self, unit: &[String]) -> Vec<SentencePair> {
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

    /// Whether the chat model stopped translating `unit` at the token limit,
    /// so that its English may lack the end.
    pub(crate) fn cut_off(&self, unit: &[String]) -> bool {
        self.cut_off_units.contains(&unit_key(unit))
    }

    /// Whether the cache supplied `segment`'s English.
    pub(crate) fn cached(&self, segment: &str) -> bool {
        self.sentences.get(segment).is_some_and(|t| t.cached)
            || self.cached_in_units.contains(segment)
    }
}

/// A unit's sentences as one text: the chat model's cache key and the key
/// of its unaligned answers.
fn unit_key(unit: &[String]) -> String {
    unit.join("\n")
}

/// A chat model's translation keeps whether it aligned with the unit's
/// sentences, so it is cached whole, as JSON; an NMT model's is plain text.
impl StoredAsJson for ParagraphTranslation {}

/// Translates segments through the cache; shared by `run` and `translate`.
pub struct SegmentTranslator<'a> {
    pub(crate) model: &'a ModelContext<'a>,
    /// Shared with the summarizer, so that a cache that failed is left alone
    /// by every later step of the run.
    pub(crate) cache: RunCache<'a>,
    batch_size: usize,
    settings: String,
    pub hits: u64,
    pub misses: u64,
    pub(crate) generated_tokens: usize,
    stop: Option<Arc<AtomicBool>>,
}

impl<'a> SegmentTranslator<'a> {
    pub fn new(model: &'a ModelContext<'a>, cache: Option<&'a Cache>, batch_size: usize) -> Self {
        let settings = model.engine.settings_json().to_string();
        Self {
            model,
            cache: RunCache::new(cache),
            batch_size: batch_size.max(1),
            settings,
            hits: 0,
            misses: 0,
            generated_tokens: 0,
            stop: None,
        }
    }

    /// Makes translating stop with [`EngineError::Stopped`] before the next
    /// batch once `stop` is set (by a signal handler, say).
    pub fn stop_on(&mut self, stop: Arc<AtomicBool>) {
        self.stop = Some(stop);
    }

    fn check_stop(&self) -> Result<(), EngineError> {
        match &self.stop {
            Some(stop) if stop.load(Ordering::Relaxed) => Err(EngineError::Stopped),
            _ => Ok(()),
        }
    }

    pub(crate) fn settings(&self) -> &str {
        &self.settings
    }

    fn key(&self, segment: &str) -> CacheKey {
        CacheKey::new(&self.model.identity, &self.settings, segment)
    }

    /// English for every unit: an NMT model translates the distinct
    /// sentences in batches, a chat model each distinct unit.
    pub(crate) fn translate_units(
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
        let found: Vec<Option<ParagraphTranslation>> =
            self.cache.lookup(&keys, &mut report_cache_failure(observe));
        let cached = found.iter().filter(|f| f.is_some()).count();
        self.hits += cached as u64;
        self.misses += (unique.len() - cached) as u64;
        // Progress counts sentences, as for NMT models.
        observe(Event::Lookup {
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
                    self.check_stop()?;
                    let translation = translator.translate(unit)?;
                    let tokens: usize = translation
                        .english
                        .iter()
                        .map(|e| translator.token_count(e))
                        .sum();
                    self.generated_tokens += tokens;
                    self.cache.store(
                        translator.identity(),
                        &[(key, &translation)],
                        &mut report_cache_failure(observe),
                    );
                    observe(Event::Batch {
                        sentences: unit.len(),
                        tokens,
                    });
                    (translation, false)
                }
            };
            if translation.cut_off {
                translations.cut_off_units.insert(unit_key(unit));
            }
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
    ) -> Result<HashMap<String, Translated>, EngineError> {
        let mut seen = HashSet::new();
        let unique: Vec<&String> = segments
            .iter()
            .filter(|s| !s.trim().is_empty() && seen.insert(s.as_str()))
            .collect();
        let keys: Vec<CacheKey> = unique.iter().map(|s| self.key(s)).collect();
        let found: Vec<Option<String>> =
            self.cache.lookup(&keys, &mut report_cache_failure(observe));
        let mut done = HashMap::with_capacity(unique.len());
        let mut missing: Vec<&String> = Vec::new();
        for (&segment, hit) in unique.iter().zip(found) {
            match hit {
                Some(english) => {
                    let cached = Translated {
                        english,
                        cached: true,
                    };
                    done.insert(segment.clone(), cached);
                }
                None => missing.push(segment),
            }
        }
        self.hits += done.len() as u64;
        self.misses += missing.len() as u64;
        observe(Event::Lookup {
            segments: unique.len(),
            cached: done.len(),
        });
        let mut encoded: Vec<(&String, Vec<u32>)> = missing
            .into_iter()
            .map(|s| Ok((s, translator.encode(s)?)))
            .collect::<Result<_, TranslatorError>>()?;
        // By length: similar lengths share a batch, so little is padding.
        encoded.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(b.0)));
        let batches: Vec<&[(&String, Vec<u32>)]> = encoded.chunks(self.batch_size).collect();
        for index in shuffled(batches.len()) {
            self.check_stop()?;
            let stored_meanwhile = self.lookup_again(batches[index], &mut done, observe);
            let batch: Vec<&(&String, Vec<u32>)> = batches[index]
                .iter()
                .filter(|(segment, _)| !stored_meanwhile.contains(*segment))
                .collect();
            if batch.is_empty() {
                continue;
            }
            let ids: Vec<Vec<u32>> = batch.iter().map(|(_, ids)| ids.clone()).collect();
            let outputs = translator.translate_encoded(&ids)?;
            let tokens: usize = outputs.iter().map(|(_, n)| n).sum();
            self.generated_tokens += tokens;
            let entries: Vec<(CacheKey, &String)> = batch
                .iter()
                .zip(&outputs)
                .map(|((segment, _), (english, _))| (self.key(segment), english))
                .collect();
            self.cache.store(
                &self.model.identity,
                &entries,
                &mut report_cache_failure(observe),
            );
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

    /// Looks `batch` up once more, right before translating it: another run
    /// on the same cache may have stored some of it since the window's
    /// lookup. What it finds goes into `done` as cached, counted as hits
    /// rather than misses, and is returned.
    fn lookup_again(
        &mut self,
        batch: &[(&String, Vec<u32>)],
        done: &mut HashMap<String, Translated>,
        observe: &mut dyn FnMut(Event),
    ) -> HashSet<String> {
        let keys: Vec<CacheKey> = batch.iter().map(|(s, _)| self.key(s)).collect();
        let found: Vec<Option<String>> =
            self.cache.lookup(&keys, &mut report_cache_failure(observe));
        let mut stored = HashSet::new();
        for ((segment, _), hit) in batch.iter().zip(found) {
            if let Some(english) = hit {
                stored.insert((*segment).clone());
                done.insert(
                    (*segment).clone(),
                    Translated {
                        english,
                        cached: true,
                    },
                );
            }
        }
        if !stored.is_empty() {
            let late = stored.len() as u64;
            self.hits += late;
            self.misses -= late;
            observe(Event::Lookup {
                segments: 0,
                cached: stored.len(),
            });
        }
        stored
    }
}

/// `0..count` in a random order, different in every process: two runs
/// started together then rarely reach the same batch at the same time.
fn shuffled(count: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..count).collect();
    // std's hasher keys are random per process; no crate needed for this.
    let mut state = RandomState::new().hash_one(std::process::id());
    for i in (1..count).rev() {
        // splitmix64
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        order.swap(i, (z % (i as u64 + 1)) as usize);
    }
    order
}
