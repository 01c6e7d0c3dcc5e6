//! The `anubad` binary: parses flags, builds the library's objects, draws
//! progress on stderr, prints errors once and chooses the exit code
//! (0 all succeeded, 1 some article failed, 2 usage or configuration error).

mod cli;

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use anubad::article::read_inputs;
use anubad::cache::{default_cache_dir, Cache};
use anubad::chat::decoder::DecoderChat;
use anubad::chat::{self, Sampling, SharedChat};
use anubad::extract::extract_page;
use anubad::generate::GenerationOverrides;
use anubad::llm_summary::SummaryOptions;
use anubad::llm_translate::LlmTranslator;
use anubad::output::{IdAllocator, ModelInfo};
use anubad::pipeline::{self, Engine, Event, ModelContext, RunOptions, SegmentTranslator};
use anubad::prompts::Prompts;
use anubad::resolve::{self, ResolveOptions};
use anubad::summarizer::Summarizer;
use anubad::translator::{select_device, LoadOptions, Translator};

use cli::{CacheAction, CacheArgs, CacheLocation, Cli, Command, ModelArgs, ModelsCommand};

/// Errors that stop the whole command, sorted by what they say about the run.
enum Failure {
    /// Bad flags or configuration: a model that can't be resolved or loaded.
    Config(anyhow::Error),
    /// Something broke while working.
    Run(anyhow::Error),
}

impl Failure {
    fn exit_code(&self) -> u8 {
        match self {
            Failure::Config(_) => 2,
            Failure::Run(_) => 1,
        }
    }
}

fn config<E: Into<anyhow::Error>>(e: E) -> Failure {
    Failure::Config(e.into())
}

fn run_failure<E: Into<anyhow::Error>>(e: E) -> Failure {
    Failure::Run(e.into())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            let (Failure::Config(error) | Failure::Run(error)) = &failure;
            eprintln!("error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(failure.exit_code())
        }
    }
}

fn dispatch(cli: Cli) -> Result<u8, Failure> {
    match cli.command {
        Command::Run(args) => run(args),
        Command::Translate(args) => translate(args),
        Command::Extract(args) => extract(args),
        Command::Models(command) => models(command),
        Command::Cache(args) => cache(args),
        Command::Bench(args) => bench(args),
    }
}

fn set_threads(threads: Option<usize>) {
    if let Some(n) = threads.filter(|n| *n > 0) {
        // candle's CPU kernels size their pools from this variable; it must
        // be set before the first tensor operation.
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
    }
}

/// The model that translates, loaded.
// One per process, never moved around: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
enum Translating {
    Nmt(Translator),
    Llm(LlmTranslator),
}

/// Everything a translating command needs, loaded once.
struct Loaded {
    translating: Translating,
    info: ModelInfo,
    identity: String,
    cache: Option<Cache>,
    /// The `--translator` chat model and its spec, for a summarizer that
    /// names the same model.
    chat: Option<(String, SharedChat)>,
}

impl Loaded {
    fn engine(&self) -> Engine<'_> {
        match &self.translating {
            Translating::Nmt(translator) => Engine::Nmt(translator),
            Translating::Llm(translator) => Engine::Llm(translator),
        }
    }
}

fn resolve_options(args: &ModelArgs) -> ResolveOptions {
    ResolveOptions {
        offline: args.offline,
        cache_dir: cache_dir(&args.cache),
        progress: !args.quiet,
        ..ResolveOptions::default()
    }
}

/// What a user should know about a model's licence before using its output,
/// if anything.
fn licence_note(licence: &str) -> Option<&'static str> {
    const PERMISSIVE: &[&str] = &["APACHE-2.0", "MIT", "BSD-3-CLAUSE", "CC-BY-4.0"];
    let upper = licence.to_ascii_uppercase();
    if upper.contains("-NC") {
        Some("non-commercial use only")
    } else if PERMISSIVE.contains(&upper.as_str()) {
        None
    } else {
        Some("read its terms of use before publishing its output")
    }
}

fn print_licence_note(name: &str, licence: Option<&str>, quiet: bool) {
    if let (Some(licence), false) = (licence, quiet) {
        if let Some(note) = licence_note(licence) {
            eprintln!("note: {name} is licensed {licence}: {note}");
        }
    }
}

/// `--verbose`: which model was loaded from where, how fast, and its
/// cache identity.
fn report_loaded<L>(what: &str, resolved: &resolve::Resolved<L>, started: Instant) {
    eprintln!(
        "{what} {} from {} loaded in {:.1}s; identity {}",
        resolved.name,
        resolved.dir.display(),
        started.elapsed().as_secs_f32(),
        resolved.identity
    );
}

/// A chat model (`--summarizer`, `--translator`) resolved and loaded.
fn load_chat(spec: &str, args: &ModelArgs) -> Result<(SharedChat, ModelInfo), Failure> {
    let resolved = resolve::resolve_chat(spec, &resolve_options(args)).map_err(config)?;
    for warning in resolved.warnings.iter().filter(|_| !args.quiet) {
        eprintln!("warning: {warning}");
    }
    print_licence_note(&resolved.name, resolved.licence.as_deref(), args.quiet);
    let device = select_device(args.device).map_err(config)?;
    let started = Instant::now();
    let model =
        DecoderChat::load(&resolved.layout, resolved.identity.clone(), &device).map_err(config)?;
    if args.verbose {
        report_loaded("chat model", &resolved, started);
    }
    let info = ModelInfo {
        name: resolved.name,
        revision: resolved.revision,
        licence: resolved.licence,
    };
    Ok((chat::shared(model), info))
}

fn chat_sampling(args: &cli::ChatArgs) -> Sampling {
    Sampling {
        temperature: args.temperature.max(0.0),
        seed: args.seed,
        ..Sampling::default()
    }
}

fn load(args: &ModelArgs) -> Result<Loaded, Failure> {
    set_threads(args.threads);
    let cache = if args.no_cache {
        None
    } else {
        open_cache(&args.cache, args.quiet)
    };
    if let (Some(cache), true) = (&cache, args.verbose) {
        eprintln!("cache {}", cache.path().display());
    }
    if let Some(spec) = &args.translator {
        let (model, info) = load_chat(spec, args)?;
        let prompts = Prompts::load(args.chat.prompts.as_deref()).map_err(config)?;
        let translator = LlmTranslator::new(model.clone(), prompts, chat_sampling(&args.chat));
        return Ok(Loaded {
            identity: translator.identity().to_string(),
            translating: Translating::Llm(translator),
            info,
            cache,
            chat: Some((spec.clone(), model)),
        });
    }
    let resolved = resolve::resolve(&args.model, &resolve_options(args)).map_err(config)?;
    if !args.quiet {
        for warning in &resolved.warnings {
            eprintln!("warning: {warning}");
        }
    }
    let options = LoadOptions {
        device: select_device(args.device).map_err(config)?,
        precision: args.precision,
        quantize: args.quantize,
        overrides: GenerationOverrides {
            num_beams: args.beams,
            max_length: args.max_length,
            no_repeat_ngram_size: args.no_repeat_ngram_size,
            repetition_penalty: args.repetition_penalty,
            ..GenerationOverrides::default()
        },
    };
    print_licence_note(&resolved.name, resolved.licence.as_deref(), args.quiet);
    let started = Instant::now();
    let translator = Translator::load(&resolved, &options).map_err(config)?;
    if args.verbose {
        report_loaded("model", &resolved, started);
        eprintln!(
            "family {}; settings {}",
            translator.family().name(),
            translator.settings_json()
        );
    }
    Ok(Loaded {
        translating: Translating::Nmt(translator),
        info: ModelInfo {
            name: resolved.name,
            revision: resolved.revision,
            licence: resolved.licence,
        },
        identity: resolved.identity,
        cache,
        chat: None,
    })
}

fn cache_dir(location: &CacheLocation) -> Option<std::path::PathBuf> {
    location.cache_dir.clone().or_else(default_cache_dir)
}

/// A cache that can't be opened is a warning: the run goes on without it.
fn open_cache(location: &CacheLocation, quiet: bool) -> Option<Cache> {
    let Some(dir) = cache_dir(location) else {
        if !quiet {
            eprintln!("warning: no cache directory on this platform; running without a cache");
        }
        return None;
    };
    match Cache::open(&dir) {
        Ok(cache) => Some(cache),
        Err(e) => {
            eprintln!(
                "warning: {}; running without a cache",
                pipeline::with_causes(&e)
            );
            None
        }
    }
}

/// Draws the run's progress on stderr from the pipeline's events.
struct Progress {
    bar: ProgressBar,
    quiet: bool,
    window_segments: usize,
    window_done: usize,
    cache_hits: usize,
    sentences: usize,
    tokens: usize,
    started: Instant,
}

impl Progress {
    fn new(quiet: bool) -> Self {
        let bar = ProgressBar::with_draw_target(
            Some(0),
            if quiet || !std::io::stderr().is_terminal() {
                ProgressDrawTarget::hidden()
            } else {
                ProgressDrawTarget::stderr()
            },
        );
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} articles  ETA {eta}  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Self {
            bar,
            quiet,
            window_segments: 0,
            window_done: 0,
            cache_hits: 0,
            sentences: 0,
            tokens: 0,
            started: Instant::now(),
        }
    }

    fn message(&self) {
        let seconds = self.started.elapsed().as_secs_f64().max(1e-3);
        self.bar.set_message(format!(
            "sentences {}/{}  {:.1} sent/s  {:.0} tok/s  cache hits {}",
            self.window_done,
            self.window_segments,
            self.sentences as f64 / seconds,
            self.tokens as f64 / seconds,
            self.cache_hits
        ));
    }

    fn observe(&mut self, event: Event) {
        match event {
            Event::Started { articles } => self.bar.set_length(articles as u64),
            Event::Window { segments, cached } => {
                self.window_segments = segments;
                self.window_done = cached;
                self.cache_hits += cached;
                self.message();
            }
            Event::Batch { sentences, tokens } => {
                self.window_done += sentences;
                self.sentences += sentences;
                self.tokens += tokens;
                self.message();
            }
            Event::ArticleDone { .. } => self.bar.inc(1),
            Event::ArticleFailed { error } => {
                self.bar.inc(1);
                self.bar.suspend(|| eprintln!("error: {error}"));
            }
            Event::Warning { message } => {
                if !self.quiet {
                    self.bar.suspend(|| eprintln!("warning: {message}"));
                }
            }
            Event::CacheDisabled { reason } => {
                if !self.quiet {
                    self.bar
                        .suspend(|| eprintln!("warning: {reason}; continuing without the cache"));
                }
            }
        }
    }
}

/// The chat model and prompts that write summaries, when `--summarizer`
/// names one; the `--translator` model is reused when it is the same.
fn load_summarizer(
    args: &cli::SummaryArgs,
    model: &ModelArgs,
    loaded: &Loaded,
) -> Result<Option<Summarizer>, Failure> {
    let prompts = Prompts::load(model.chat.prompts.as_deref()).map_err(config)?;
    let Some(spec) = &args.summarizer else {
        return Ok(None);
    };
    let chat = match &loaded.chat {
        Some((translator_spec, chat)) if translator_spec == spec => chat.clone(),
        _ => load_chat(spec, model)?.0,
    };
    let options = SummaryOptions {
        sentences: args.summary_sentences.max(1),
        sampling: chat_sampling(&model.chat),
    };
    Ok(Some(Summarizer::new(chat, prompts, options)))
}

fn run(args: cli::RunArgs) -> Result<u8, Failure> {
    let loaded = load(&args.model)?;
    let summarizer = load_summarizer(&args.summary, &args.model, &loaded)?;
    let model = ModelContext {
        summarizer: summarizer.as_ref(),
        engine: loaded.engine(),
        info: loaded.info.clone(),
        identity: loaded.identity.clone(),
    };
    let inputs = read_inputs(&args.inputs);
    let mut progress = Progress::new(args.model.quiet);
    let options = RunOptions {
        out_dir: args.out.clone(),
        batch_size: args.model.batch_size,
    };
    let report = pipeline::run(inputs, &model, loaded.cache.as_ref(), &options, &mut |e| {
        progress.observe(e)
    })
    .with_context(|| format!("run into {} stopped", args.out.display()))
    .map_err(run_failure)?;
    progress.bar.finish_and_clear();
    if !args.model.quiet {
        let lookups = report.cache_hits + report.cache_misses;
        eprintln!(
            "{} articles ok ({} unchanged), {} failed; {} sentences, cache hits {}/{}, \
             warnings {}{}; {:.1}s; digest {} (and digest.html)",
            report.ok + report.unchanged,
            report.unchanged,
            report.failed,
            report.segments,
            report.cache_hits,
            lookups,
            report.warnings,
            if summarizer.is_some() {
                format!(" ({} unfaithful summaries)", report.unfaithful_summaries)
            } else {
                String::new()
            },
            report.elapsed.as_secs_f64(),
            args.out.join("digest.md").display()
        );
    }
    Ok(if report.failed > 0 { 1 } else { 0 })
}

fn translate(args: cli::TranslateArgs) -> Result<u8, Failure> {
    let loaded = load(&args.model)?;
    let model = ModelContext {
        summarizer: None,
        engine: loaded.engine(),
        info: loaded.info.clone(),
        identity: loaded.identity.clone(),
    };
    let mut segments = SegmentTranslator::new(&model, loaded.cache.as_ref(), args.model.batch_size);
    let quiet = args.model.quiet;
    let mut observe = |event: Event| {
        if let (Event::CacheDisabled { reason }, false) = (event, quiet) {
            eprintln!("warning: {reason}; continuing without the cache");
        }
    };
    // Interactive use gets each line back at once; pipes are translated in
    // chunks so that batches can fill.
    let chunk = if args.files.is_empty() && std::io::stdin().is_terminal() {
        1
    } else {
        256
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut translate_chunk = |lines: &[String]| -> Result<(), Failure> {
        let english =
            pipeline::translate_lines(lines, args.whole_lines, &mut segments, &mut observe)
                .map_err(run_failure)?;
        for line in english {
            writeln!(out, "{line}").map_err(run_failure)?;
        }
        out.flush().map_err(run_failure)
    };
    let readers: Vec<(String, Box<dyn BufRead>)> = if args.files.is_empty() {
        vec![("stdin".into(), Box::new(std::io::stdin().lock()))]
    } else {
        args.files
            .iter()
            .map(|path| {
                let file = std::fs::File::open(path)
                    .with_context(|| format!("cannot open {}", path.display()))
                    .map_err(config)?;
                Ok((
                    path.display().to_string(),
                    Box::new(std::io::BufReader::new(file)) as Box<dyn BufRead>,
                ))
            })
            .collect::<Result<_, Failure>>()?
    };
    for (name, reader) in readers {
        let mut pending = Vec::with_capacity(chunk);
        for line in reader.lines() {
            let line = line
                .with_context(|| format!("{name}: cannot read (is it UTF-8 text?)"))
                .map_err(run_failure)?;
            pending.push(line);
            if pending.len() >= chunk {
                translate_chunk(&pending)?;
                pending.clear();
            }
        }
        if !pending.is_empty() {
            translate_chunk(&pending)?;
        }
    }
    if let Some(cache) = &loaded.cache {
        let _ = cache.record_run(segments.hits, segments.misses);
    }
    Ok(0)
}

fn extract(args: cli::ExtractArgs) -> Result<u8, Failure> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut ids = IdAllocator::new();
    let mut failed = 0;
    for input in read_inputs(&args.inputs) {
        match input {
            Ok(article) => {
                let story = extract_page(&article.text, &article.hints);
                let record = serde_json::json!({
                    "id": ids.allocate(&article.raw_id),
                    "input": article.input,
                    "url": article.url,
                    "title": story.title,
                    "published": story.published,
                    "updated": story.updated,
                    "source": story.source,
                    "byline": story.byline,
                    "body": story.body,
                    "dropped": story.dropped,
                });
                writeln!(out, "{record}").map_err(run_failure)?;
            }
            Err(error) => {
                eprintln!("error: {error}");
                failed += 1;
            }
        }
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

fn models(command: ModelsCommand) -> Result<u8, Failure> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match command {
        ModelsCommand::List => {
            writeln!(
                out,
                "{:<24} {:<11} {:<8} {:>7} {:>9} {:>13}  {:<19} DOWNLOADED",
                "NAME", "KIND", "FAMILY", "PARAMS", "SIZE", "FLORES chrF++", "LICENCE"
            )
            .map_err(run_failure)?;
            for preset in resolve::presets() {
                let downloaded = resolve::is_downloaded(&preset);
                writeln!(
                    out,
                    "{:<24} {:<11} {:<8} {:>7} {:>9} {:>13}  {:<19} {}",
                    preset.name,
                    preset.kind.name(),
                    preset.family,
                    preset.params.as_deref().unwrap_or("-"),
                    preset.size,
                    preset
                        .flores_chrf
                        .map(|v| format!("{v:.1}"))
                        .unwrap_or_else(|| "-".into()),
                    preset.licence,
                    if downloaded { "yes" } else { "no" }
                )
                .map_err(run_failure)?;
            }
            Ok(0)
        }
        ModelsCommand::Pull { name, offline } => {
            let options = ResolveOptions {
                offline,
                ..ResolveOptions::default()
            };
            let resolved = resolve_any(&name, &options).map_err(config)?;
            if let Some(licence) = &resolved.licence {
                eprintln!("{}: licence {licence}", resolved.name);
            }
            writeln!(out, "{}", resolved.dir.display()).map_err(run_failure)?;
            Ok(0)
        }
        ModelsCommand::Quantize {
            name,
            out: out_dir,
            quantization,
            offline,
        } => {
            let options = ResolveOptions {
                offline,
                ..ResolveOptions::default()
            };
            let resolved = resolve::resolve(&name, &options).map_err(config)?;
            let family = anubad::translator::model_family(&resolved).map_err(config)?;
            let report = anubad::gguf_export::export_model_dir(
                &resolved,
                family.name(),
                quantization.ggml(),
                &out_dir,
            )
            .map_err(config)?;
            eprintln!(
                "{} tensors {}, {} kept f32; {:.1} MB -> {:.1} MB",
                report.quantized,
                quantization.name(),
                report.kept_f32,
                report.input_bytes as f64 / 1e6,
                report.output_bytes as f64 / 1e6
            );
            if let Some(licence) = &resolved.licence {
                eprintln!("licence of the weights: {licence}");
            }
            writeln!(out, "{}", out_dir.display()).map_err(run_failure)?;
            Ok(0)
        }
        ModelsCommand::Info { name, offline } => {
            let options = ResolveOptions {
                offline,
                ..ResolveOptions::default()
            };
            let resolved = resolve_any(&name, &options).map_err(config)?;
            writeln!(out, "name:      {}", resolved.name).map_err(run_failure)?;
            writeln!(out, "directory: {}", resolved.dir.display()).map_err(run_failure)?;
            if let Some(repo) = &resolved.repo {
                writeln!(
                    out,
                    "hub:       {repo}@{}",
                    resolved.revision.as_deref().unwrap_or("main")
                )
                .map_err(run_failure)?;
            }
            writeln!(
                out,
                "licence:   {}",
                resolved
                    .licence
                    .as_deref()
                    .unwrap_or("unknown (see the model card)")
            )
            .map_err(run_failure)?;
            match &resolved.gguf_chat_model {
                Some(gguf) => {
                    writeln!(out, "kind:      chat").map_err(run_failure)?;
                    for (key, value) in chat::gguf_facts(gguf).map_err(config)? {
                        writeln!(out, "{key:<10} {value}").map_err(run_failure)?;
                    }
                }
                None => {
                    let summary = resolve::model_dir_summary(&resolved.dir).map_err(config)?;
                    writeln!(out, "{summary}").map_err(run_failure)?;
                }
            }
            Ok(0)
        }
    }
}

/// What `models pull` and `models info` show of a model of either kind.
struct AnyModel {
    name: String,
    dir: std::path::PathBuf,
    repo: Option<String>,
    revision: Option<String>,
    licence: Option<String>,
    /// The GGUF file of a chat model, whose metadata describes it.
    gguf_chat_model: Option<std::path::PathBuf>,
}

/// A translation model, or else a chat model (presets say which they are).
fn resolve_any(name: &str, options: &ResolveOptions) -> Result<AnyModel, resolve::ResolveError> {
    match resolve::resolve(name, options) {
        Ok(model) => Ok(AnyModel {
            name: model.name,
            dir: model.dir,
            repo: model.repo,
            revision: model.revision,
            licence: model.licence,
            gguf_chat_model: None,
        }),
        Err(translation_error) => {
            let chat_preset = matches!(
                translation_error,
                resolve::ResolveError::WrongKind {
                    kind: resolve::ModelKind::Chat,
                    ..
                }
            );
            // A directory or hub repo that is no translation model may be a
            // chat model; say what was wrong as a translation model if not.
            let chat = match resolve::resolve_chat(name, options) {
                Ok(chat) => chat,
                Err(chat_error) if chat_preset => return Err(chat_error),
                Err(_) => return Err(translation_error),
            };
            let gguf_chat_model = match &chat.layout.weights {
                resolve::WeightFiles::Gguf(path) => Some(path.clone()),
                _ => None,
            };
            Ok(AnyModel {
                name: chat.name,
                dir: chat.dir,
                repo: chat.repo,
                revision: chat.revision,
                licence: chat.licence,
                gguf_chat_model,
            })
        }
    }
}

fn cache(args: CacheArgs) -> Result<u8, Failure> {
    let dir = cache_dir(&args.location)
        .context("no cache directory on this platform; pass --cache-dir")
        .map_err(config)?;
    let cache = Cache::open(&dir).map_err(run_failure)?;
    match args.action {
        CacheAction::Stats => {
            let stats = cache.stats().map_err(run_failure)?;
            println!("cache:   {}", stats.path.display());
            println!("entries: {}", stats.entries);
            println!("size:    {:.1} KiB", stats.size_bytes as f64 / 1024.0);
            match stats.last_run {
                Some(run) => println!("last run: {} hits, {} misses", run.hits, run.misses),
                None => println!("last run: none recorded"),
            }
        }
        CacheAction::Clear => {
            cache.clear().map_err(run_failure)?;
            eprintln!("cleared {}", cache.path().display());
        }
    }
    Ok(0)
}

fn bench(args: cli::BenchArgs) -> Result<u8, Failure> {
    set_threads(args.threads);
    if args.model == anubad::bench::BenchModel::Qwen25Q4km {
        let row = anubad::bench_chat::run(
            &anubad::bench_chat::QWEN25_1_5B,
            args.prompt_tokens,
            args.output_tokens,
            &mut |line| eprintln!("{line}"),
        )
        .map_err(run_failure)?;
        println!("{}", row.markdown());
        return Ok(0);
    }
    let options = anubad::bench::BenchOptions {
        model: args.model,
        precision: args.precision,
        quantize: args.quantize,
        batch_sizes: args.batch_sizes,
        sentences: args.sentences,
        source_tokens: args.source_tokens,
        output_tokens: args.output_tokens,
        beams: args.beams,
    };
    let rows =
        anubad::bench::run(&options, &mut |line| eprintln!("{line}")).map_err(run_failure)?;
    println!("{}", anubad::bench::markdown_table(&options, &rows));
    Ok(0)
}
