//! Article → normalized → segmented → translated → summarized → written.
//!
//! Inputs are read as the run goes, a bounded stretch ahead of the model,
//! so memory does not grow with the job; what is kept of every article is
//! what the manifest needs ([`crate::output::RunArticles`]). Results can
//! also be emitted as JSON lines in input order (`run --emit jsonl`), and a
//! shard of a split job writes a shard manifest instead of the digest,
//! which [`digest`] writes once every shard is done.
//!
//! Segments from many articles are pooled, looked up in the cache, and the
//! misses translated in batches of similar length (an NMT model) or a
//! paragraph at a time (a chat model, `--translator`); each batch is stored
//! in the cache as soon as it finishes, so an interrupted run loses at most
//! one batch. Articles whose inputs and settings did not change since the last
//! run keep their files untouched.
//!
//! A run asked to stop ([`RunOptions::stop`], set by the binary on Ctrl-C)
//! finishes the batch in flight, writes the articles whose translations are
//! complete, and returns its report marked `interrupted` without rewriting
//! the digest; running it again carries on from the cache.

mod assemble;
mod digest;
mod segments;
mod summaries;
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cache::{Cache, CacheError};
use crate::ingest::{Article, InputError, Shard};
use crate::llm::summarizer::Summarizer;
use crate::output::{
    self, ArticleOutput, FailedInput, IdAllocator, ModelInfo, OutDirReport, OutputError,
    RunArticles, Timings,
};
use crate::text;
use crate::text::extractive_summary::DEFAULT_SUMMARY_SENTENCES;

use crate::pipeline::assemble::{assemble, prepare, Prepared};
use crate::pipeline::summaries::digest_intro;
pub use digest::{digest, DigestError, DigestReport};
pub use segments::{Engine, EngineError, SegmentTranslator};

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
///
/// A run reports `Started`, then reads ahead: one `ArticleDone` or
/// `ArticleFailed` per input whose fate is known without the model
/// (unchanged outputs, unusable inputs), and `Planned` with what it has read
/// so far. The articles to translate follow in windows: `Window` (its
/// sentences, each occurrence counted), `Lookup` (its distinct segments and
/// the cache's share of them), a `Batch` per model call, and an
/// `ArticleDone` per article written; then more reading ahead, until every
/// input is read (`Planned` with `complete`) and translated.
#[derive(Debug)]
pub enum Event<'a> {
    /// `articles`: how many inputs the run will read, when known before
    /// reading them (not for stdin).
    Started {
        articles: Option<usize>,
    },
    /// The inputs read and segmented so far: articles (failed ones
    /// included) and their sentences (unchanged articles' included);
    /// `complete` once every input is read, when `sentences` is the job's.
    Planned {
        articles: usize,
        sentences: usize,
        complete: bool,
    },
    /// A group of articles translated together: their sentences.
    Window {
        sentences: usize,
    },
    /// Distinct segments newly looked up in the cache, and how many it had.
    /// A lookup repeated just before a batch (another run may have stored
    /// it meanwhile) reports no new segments, only what it found.
    Lookup {
        segments: usize,
        cached: usize,
    },
    /// Distinct segments the model translated, and the tokens it wrote.
    Batch {
        sentences: usize,
        tokens: usize,
    },
    ArticleDone {
        id: &'a str,
        /// Its outputs were up to date and kept; nothing was translated.
        unchanged: bool,
        sentences: usize,
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
    /// The chat model's summaries so far, for a run that will spend hours
    /// on them: said once, after the first few.
    SummaryCost {
        per_article: Duration,
        articles_left: usize,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Translate(#[from] EngineError),
    #[error(transparent)]
    Output(#[from] OutputError),
    /// The reader of `--emit jsonl` went away, or its pipe broke.
    #[error("cannot write the results")]
    Emit(#[source] std::io::Error),
}

#[derive(Debug, Default, Clone)]
pub struct RunReport {
    /// Articles written or kept (`unchanged` of them kept).
    pub ok: usize,
    pub unchanged: usize,
    pub failed: usize,
    /// Sentences of the articles done, each occurrence counted:
    /// `translated + cached + unchanged`.
    pub segments: usize,
    /// Sentences whose English the model wrote in this run.
    pub sentences_translated: usize,
    /// Sentences whose English came from the cache.
    pub sentences_cached: usize,
    /// Sentences of unchanged articles, whose outputs were kept.
    pub sentences_unchanged: usize,
    /// Distinct segments found in the cache (unchanged articles' included).
    pub cache_hits: u64,
    /// Distinct segments the model was asked for.
    pub cache_misses: u64,
    pub(crate) generated_tokens: usize,
    /// Warnings written into the articles (numbers lost in translation,
    /// pages without story text, unfaithful summaries, answers cut off at
    /// the token limit).
    pub warnings: usize,
    /// LLM summaries whose numbers or names are not in the translation.
    pub unfaithful_summaries: usize,
    pub elapsed: Duration,
    /// Model time spent translating (cache lookups and writing aside).
    pub translating: Duration,
    /// Chat model time spent on summaries and headlines.
    pub summarizing: Duration,
    /// Stopped on request before every article was done; the digest was
    /// not rewritten.
    pub interrupted: bool,
    /// Earlier runs' articles in `--out`: left out of the digest, or
    /// removed ([`RunOptions::prune`]). Empty when interrupted.
    pub out_dir: OutDirReport,
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

/// How a run reports its cache failing, to [`crate::cache::RunCache`]: as
/// [`Event::CacheDisabled`], whichever step met the failure.
pub(crate) fn report_cache_failure(observe: &mut dyn FnMut(Event)) -> impl FnMut(&CacheError) + '_ {
    move |error| {
        observe(Event::CacheDisabled {
            reason: with_causes(error),
        })
    }
}

pub struct RunOptions {
    /// Where the article files and the digest go; `None` writes no files
    /// (results go to the `emit` writer of [`run`] only).
    pub out_dir: Option<PathBuf>,
    /// The shard of a sharded job this run is: its folder gets a shard
    /// manifest instead of the digest.
    pub shard: Option<Shard>,
    pub batch_size: usize,
    /// Sentences in each extractive summary, at most (the chat model's
    /// summaries take theirs from its own options).
    pub summary_sentences: usize,
    /// Once set, the run stops after the batch in flight.
    pub stop: Option<Arc<AtomicBool>>,
    /// Remove the files of articles in `out_dir` that are not in this run,
    /// once it completes.
    pub prune: bool,
}

/// Segments pooled before translating, so batches can be formed by length
/// across articles while outputs still appear steadily.
const WINDOW_SEGMENTS: usize = 512;

/// Segments read and prepared ahead of translation. A job this small is
/// read whole before the first batch, so its progress knows its size; a
/// larger one holds this much at a time, whatever its size.
const READ_AHEAD_SEGMENTS: usize = 16 * WINDOW_SEGMENTS;

/// Translates every article of `inputs` (read as the run goes: see
/// [`READ_AHEAD_SEGMENTS`]), writes its files and the digest. `expected`
/// is how many inputs there are, when known, for progress. With `emit`,
/// each input's result is also written there as one line of JSON, in input
/// order, as soon as it and those before it are done: the article's
/// `<id>.json` content, or `{"schema_version", "anubad_version", "input",
/// "error"}` for an input that failed.
pub fn run(
    inputs: impl IntoIterator<Item = Result<Article, InputError>>,
    expected: Option<usize>,
    model: &ModelContext,
    cache: Option<&Cache>,
    options: &RunOptions,
    emit: Option<&mut dyn Write>,
    observe: &mut dyn FnMut(Event),
) -> Result<RunReport, RunError> {
    let started = Instant::now();
    observe(Event::Started { articles: expected });
    if let Some(out_dir) = &options.out_dir {
        output::remove_stale_temp_files(out_dir);
    }
    let mut segments = SegmentTranslator::new(model, cache, options.batch_size);
    if let Some(stop) = &options.stop {
        segments.stop_on(Arc::clone(stop));
    }
    let mut run = Run {
        model,
        options,
        segments,
        report: RunReport::default(),
        written: RunArticles::new(),
        failed: Vec::new(),
        observe,
        emitter: emit.map(Emitter::new),
        articles_expected: expected,
        articles_summarized: 0,
    };
    // An article's outputs change with the translation settings and, when
    // there is one, the summarizer's (model, prompt hashes, sampling).
    // The extractive summary's length joins them when it is not the
    // default: outputs written before the length could be chosen used the
    // default and stay up to date.
    let settings = match model.summarizer {
        Some(summarizer) => format!("{}\n{}", run.segments.settings(), summarizer.settings()),
        None if options.summary_sentences == DEFAULT_SUMMARY_SENTENCES => {
            run.segments.settings().to_string()
        }
        None => format!(
            "{}\nextractive summary sentences {}",
            run.segments.settings(),
            options.summary_sentences
        ),
    };
    let mut ids = IdAllocator::new();
    let mut inputs = inputs.into_iter().enumerate();
    // Read and prepared, not yet translated; in input order.
    let mut ahead: VecDeque<(usize, Prepared)> = VecDeque::new();
    let mut ahead_segments = 0;
    let mut read = (0, 0);
    let mut all_read = false;
    let mut planned = None;
    loop {
        while !all_read && ahead_segments < READ_AHEAD_SEGMENTS && !run.stop_requested() {
            let Some((number, input)) = inputs.next() else {
                all_read = true;
                break;
            };
            read.0 += 1;
            let article = match input {
                Ok(article) => article,
                Err(error) => {
                    run.fail(number, error.input().to_string(), error.to_string())?;
                    continue;
                }
            };
            let id = ids.allocate(&article.raw_id);
            let prepared = prepare(article, id, model, &settings);
            read.1 += prepared.segments().count();
            if prepared.title.is_empty() && prepared.paragraphs.is_empty() {
                let message = format!(
                    "{}: no story text found ({} lines of site furniture dropped)",
                    prepared.article.input,
                    prepared.story.dropped.len()
                );
                run.fail(number, prepared.article.input.clone(), message)?;
            } else if !run.reuse_unchanged(number, &prepared)? {
                ahead_segments += prepared.segments().count();
                ahead.push_back((number, prepared));
            }
        }
        if planned != Some((read, all_read)) {
            planned = Some((read, all_read));
            (run.observe)(Event::Planned {
                articles: read.0,
                sentences: read.1,
                complete: all_read,
            });
        }
        if ahead.is_empty() || run.stop_requested() {
            break;
        }
        let mut window = Vec::new();
        let mut window_segments = 0;
        while window_segments < WINDOW_SEGMENTS {
            let Some((number, prepared)) = ahead.pop_front() else {
                break;
            };
            let count = prepared.segments().count();
            window_segments += count;
            ahead_segments -= count;
            window.push((number, prepared));
        }
        run.flush(window)?;
    }
    let interrupted = run.stop_requested();
    let Run {
        mut report,
        mut segments,
        written,
        failed,
        ..
    } = run;
    report.failed = failed.len();
    report.cache_hits = segments.hits;
    report.cache_misses = segments.misses;
    report.generated_tokens = segments.generated_tokens;
    report.interrupted = interrupted;
    // The digest and the manifest are of the whole batch, and pruning needs
    // to know all of it: an interrupted run leaves the folder's last ones in
    // place until the rerun finishes.
    match (&options.out_dir, options.shard) {
        (Some(_), _) if interrupted => {}
        (Some(out_dir), Some(shard)) => {
            output::finish_shard(out_dir, (shard.index, shard.count), &written, &failed)?;
        }
        (Some(out_dir), None) => {
            output::remove_shard_manifests(out_dir)?;
            let intro = match model.summarizer {
                Some(summarizer) => {
                    digest_intro(summarizer, &written.shown(), &mut segments.cache, observe)
                }
                None => None,
            };
            report.out_dir =
                output::finish_run(out_dir, &written, &failed, intro.as_deref(), options.prune)?;
        }
        (None, _) => {}
    }
    if let Some(cache) = cache {
        // The counts are informational; a failure to store them is not worth
        // failing a finished run for.
        let _ = cache.record_run(report.cache_hits, report.cache_misses);
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Writes each input's result line in input order, holding those that
/// finish before an earlier input's.
struct Emitter<'w> {
    out: &'w mut dyn Write,
    next: usize,
    waiting: BTreeMap<usize, String>,
}

impl<'w> Emitter<'w> {
    fn new(out: &'w mut dyn Write) -> Self {
        Self {
            out,
            next: 0,
            waiting: BTreeMap::new(),
        }
    }

    fn emit(&mut self, number: usize, line: String) -> Result<(), RunError> {
        self.waiting.insert(number, line);
        while let Some(line) = self.waiting.remove(&self.next) {
            self.out
                .write_all(line.as_bytes())
                .and_then(|()| self.out.write_all(b"\n"))
                .and_then(|()| self.out.flush())
                .map_err(RunError::Emit)?;
            self.next += 1;
        }
        Ok(())
    }
}

/// The result line of an input that failed.
fn failure_line(input: &str, message: &str) -> String {
    serde_json::json!({
        "schema_version": output::SCHEMA_VERSION,
        "anubad_version": output::ANUBAD_VERSION,
        "input": input,
        "error": message,
    })
    .to_string()
}

/// The state of one `run`: what was written, what failed, the counts.
struct Run<'a, 'o, 'w> {
    model: &'a ModelContext<'a>,
    options: &'a RunOptions,
    segments: SegmentTranslator<'a>,
    report: RunReport,
    written: RunArticles,
    failed: Vec<FailedInput>,
    observe: &'o mut dyn FnMut(Event),
    emitter: Option<Emitter<'w>>,
    /// Inputs of the run, when known; and the articles summarized so far.
    articles_expected: Option<usize>,
    articles_summarized: usize,
}

/// Summaries timed before [`Event::SummaryCost`] estimates the rest.
const SUMMARIES_BEFORE_ESTIMATE: usize = 3;

impl Run<'_, '_, '_> {
    fn stop_requested(&self) -> bool {
        self.options
            .stop
            .as_ref()
            .is_some_and(|stop| stop.load(Ordering::Relaxed))
    }

    /// Input `number` gave no article.
    fn fail(&mut self, number: usize, input: String, message: String) -> Result<(), RunError> {
        (self.observe)(Event::ArticleFailed { error: &message });
        if let Some(emitter) = &mut self.emitter {
            emitter.emit(number, failure_line(&input, &message))?;
        }
        self.failed.push(FailedInput::new(input, &message));
        Ok(())
    }

    /// Input `number` is done: its article is in `out_dir` (when there is
    /// one) and goes to the digest and the emitted results.
    fn done(&mut self, number: usize, article: &ArticleOutput) -> Result<(), RunError> {
        if let Some(emitter) = &mut self.emitter {
            let line = serde_json::to_string(article).map_err(|source| OutputError::Serialize {
                id: article.id.clone(),
                source,
            })?;
            emitter.emit(number, line)?;
        }
        if self.options.out_dir.is_some() {
            self.written.add(article, "");
        }
        Ok(())
    }

    /// Keeps the previous output when its fingerprint matches; true if it did.
    fn reuse_unchanged(&mut self, number: usize, prepared: &Prepared) -> Result<bool, RunError> {
        let Some(out_dir) = &self.options.out_dir else {
            return Ok(false);
        };
        // Read once: the record both says whether it is up to date and is
        // what the digest and the emitted results take.
        let Some(previous) = output::complete_article(out_dir, &prepared.id)
            .filter(|previous| previous.fingerprint == prepared.fingerprint)
        else {
            return Ok(false);
        };
        let sentences = prepared.segments().count();
        (self.observe)(Event::ArticleDone {
            id: &previous.id,
            unchanged: true,
            sentences,
        });
        self.report.unchanged += 1;
        self.report.warnings += previous.warnings.len();
        self.report.segments += sentences;
        self.report.sentences_unchanged += sentences;
        // Served from the up-to-date output instead of a lookup: no model
        // call, so it counts as a hit.
        let distinct: HashSet<&String> = prepared.segments().collect();
        self.segments.hits += distinct.len() as u64;
        self.done(number, &previous)?;
        Ok(true)
    }

    /// Translates the pooled articles together and writes each one.
    fn flush(&mut self, window: Vec<(usize, Prepared)>) -> Result<(), RunError> {
        if window.is_empty() {
            return Ok(());
        }
        (self.observe)(Event::Window {
            sentences: window.iter().map(|(_, p)| p.segments().count()).sum(),
        });
        let units: Vec<&[String]> = window
            .iter()
            .flat_map(|(_, p)| {
                std::iter::once(p.title_segments.as_slice())
                    .chain(p.paragraphs.iter().map(Vec::as_slice))
            })
            .collect();
        let misses_before = self.segments.misses;
        let started = Instant::now();
        let translations = match self.segments.translate_units(&units, &mut *self.observe) {
            // Every finished batch is in the cache; the window's articles
            // are written by the rerun.
            Err(EngineError::Stopped) => return Ok(()),
            result => result?,
        };
        self.report.translating += started.elapsed();
        let translate_ms = started.elapsed().as_millis() as u64;
        let window_misses = (self.segments.misses - misses_before).max(1);
        for (number, prepared) in window {
            // Summaries take a chat model seconds each: a stop ends them
            // here. Without one, writing the rest of the window is quick.
            if self.model.summarizer.is_some() && self.stop_requested() {
                break;
            }
            let article_started = Instant::now();
            let count = prepared.segments().count();
            let cached_occurrences = prepared
                .segments()
                .filter(|s| translations.cached(s))
                .count();
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
            let mut article = assemble(
                prepared,
                &translations,
                self.model,
                self.options.summary_sentences,
                timings,
            );
            if let Some(summarizer) = self.model.summarizer {
                let started = Instant::now();
                self.summarize(summarizer, &mut article);
                self.report.summarizing += started.elapsed();
                self.articles_summarized += 1;
                if self.articles_summarized == SUMMARIES_BEFORE_ESTIMATE {
                    (self.observe)(Event::SummaryCost {
                        per_article: self.report.summarizing / SUMMARIES_BEFORE_ESTIMATE as u32,
                        articles_left: self.articles_expected.unwrap_or(0).saturating_sub(
                            self.failed.len() + self.report.unchanged + self.articles_summarized,
                        ),
                    });
                }
            }
            article.timings.total_ms =
                article.timings.translate_ms + article_started.elapsed().as_millis() as u64;
            self.report.segments += count;
            self.report.sentences_cached += cached_occurrences;
            self.report.sentences_translated += count - cached_occurrences;
            self.report.warnings += article.warnings.len();
            let written = match &self.options.out_dir {
                Some(out_dir) => output::write_article(out_dir, &article),
                None => Ok(()),
            };
            match written {
                Ok(()) => {
                    (self.observe)(Event::ArticleDone {
                        id: &article.id,
                        unchanged: false,
                        sentences: count,
                    });
                    self.report.ok += 1;
                    self.done(number, &article)?;
                }
                Err(e) => self.fail(number, input.clone(), format!("{input}: {e}"))?,
            }
        }
        Ok(())
    }
}

/// One line of `anubad translate`, translated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranslatedLine {
    pub english: String,
    /// Every sentence of it came from the cache (an empty line too).
    pub cache_hit: bool,
    /// Numbers lost in translation, answers cut off at the token limit.
    pub warnings: Vec<String>,
}

/// `anubad translate`: one output line per input line. With `whole_lines`
/// a line is split only where it exceeds the model's input limit (an NMT
/// model then gets each piece as one segment).
pub fn translate_lines(
    lines: &[String],
    whole_lines: bool,
    segments: &mut SegmentTranslator,
    observe: &mut dyn FnMut(Event),
) -> Result<Vec<TranslatedLine>, EngineError> {
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
            let mut warnings = Vec::new();
            let mut english = Vec::new();
            let mut sentence = 0;
            for unit in line_units {
                if translations.cut_off(unit) {
                    warnings.push("the translation was cut off at the token limit".to_string());
                }
                for pair in translations.pairs(unit) {
                    sentence += 1;
                    for missing in text::numbers::check_numbers(&pair.bn, &pair.en) {
                        warnings.push(format!(
                            "sentence {sentence}: number {} ({}) is not in the translation",
                            missing.source, missing.value
                        ));
                    }
                    english.push(pair.en);
                }
            }
            TranslatedLine {
                english: english.join(" "),
                cache_hit: line_units.iter().flatten().all(|s| translations.cached(s)),
                warnings,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests;
