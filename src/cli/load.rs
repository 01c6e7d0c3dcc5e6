//! Loading what a translating command needs (the translation model or chat
//! translator, the summarizer, the cache) with the warnings, licence notes
//! and `--verbose` lines a user sees on stderr.

use std::time::Instant;

use anubad::cache::{default_cache_dir, Cache, CacheTarget, Location};
use anubad::chat::decoder::DecoderChat;
use anubad::chat::prompts::Prompts;
use anubad::chat::{self, Sampling, SharedChat};
use anubad::ingest::Skipped;
use anubad::llm::summarizer::Summarizer;
use anubad::llm::summary::SummaryOptions;
use anubad::llm::translate::LlmTranslator;
use anubad::models::{self, licence::licence_note, ResolveOptions};
use anubad::nmt::generate::GenerationOverrides;
use anubad::nmt::translator::{select_device, LoadOptions, Translator};
use anubad::output::ModelInfo;
use anubad::pipeline::{self, Engine};

use super::{config, set_threads, CacheLocation, ChatArgs, Failure, ModelArgs, SummaryArgs};

/// The model that translates, loaded.
// One per process, never moved around: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Translating {
    Nmt(Translator),
    Llm(LlmTranslator),
}

/// Everything a translating command needs, loaded once.
pub(crate) struct Loaded {
    translating: Translating,
    pub(crate) info: ModelInfo,
    pub(crate) identity: String,
    pub(crate) cache: Option<Cache>,
    /// The `--translator` chat model and its spec, for a summarizer that
    /// names the same model.
    chat: Option<(String, SharedChat)>,
}

impl Loaded {
    pub(crate) fn engine(&self) -> Engine<'_> {
        match &self.translating {
            Translating::Nmt(translator) => Engine::Nmt(translator),
            Translating::Llm(translator) => Engine::Llm(translator),
        }
    }
}

pub(crate) fn resolve_options(args: &ModelArgs) -> ResolveOptions {
    ResolveOptions {
        offline: args.offline,
        // The cache directory also keeps model file hashes: `--no-cache`
        // leaves it alone too.
        cache_dir: local_cache_dir(&args.cache).filter(|_| !args.no_cache),
        progress: !args.quiet,
        ..ResolveOptions::default()
    }
}

pub(crate) fn print_licence_note(name: &str, licence: Option<&str>, quiet: bool) {
    if let (Some(licence), false) = (licence, quiet) {
        if let Some(note) = licence_note(licence) {
            eprintln!("note: {name} is licensed {licence}: {note}");
        }
    }
}

/// `--verbose`: which model was loaded from where, how fast, and its
/// cache identity.
pub(crate) fn report_loaded<L>(what: &str, resolved: &models::Resolved<L>, started: Instant) {
    eprintln!(
        "{what} {} from {} loaded in {:.1}s; identity {}",
        resolved.name,
        resolved.dir.display(),
        started.elapsed().as_secs_f32(),
        resolved.identity
    );
}

/// A chat model (`--summarizer`, `--translator`) resolved and loaded.
pub(crate) fn load_chat(spec: &str, args: &ModelArgs) -> Result<(SharedChat, ModelInfo), Failure> {
    let resolved = models::resolve_chat(spec, &resolve_options(args)).map_err(config)?;
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

pub(crate) fn chat_sampling(args: &ChatArgs) -> Sampling {
    Sampling {
        temperature: args.temperature.max(0.0),
        seed: args.seed,
        ..Sampling::default()
    }
}

pub(crate) fn load(args: &ModelArgs) -> Result<Loaded, Failure> {
    set_threads(args.threads);
    // Before anything is downloaded: a build without the device fails now.
    select_device(args.device).map_err(config)?;
    let cache = if args.no_cache {
        None
    } else {
        open_cache(&args.cache, args.quiet)
    };
    if let (Some(cache), true) = (&cache, args.verbose) {
        eprintln!("cache {}", cache.location());
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
    let resolved = models::resolve(args.model_spec(), &resolve_options(args)).map_err(config)?;
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

/// The cache asked for (`--cache`, `ANUBAD_CACHE`), else the default
/// directory.
pub(crate) fn cache_target(location: &CacheLocation) -> Option<CacheTarget> {
    location
        .cache
        .clone()
        .or_else(|| default_cache_dir().map(CacheTarget::Dir))
}

/// This machine's cache directory, for the hashes of local model files: the
/// cache's own, or the default one when the cache is PostgreSQL. The hashes
/// are remembered by local path and modification time, which mean nothing
/// on another machine.
fn local_cache_dir(location: &CacheLocation) -> Option<std::path::PathBuf> {
    match &location.cache {
        Some(CacheTarget::Dir(dir)) => Some(dir.clone()),
        Some(CacheTarget::Postgres(_)) | None => default_cache_dir(),
    }
}

/// A cache that can't be opened is a warning: the run goes on without it.
pub(crate) fn open_cache(location: &CacheLocation, quiet: bool) -> Option<Cache> {
    let Some(target) = cache_target(location) else {
        if !quiet {
            eprintln!("warning: no cache directory on this platform; running without a cache");
        }
        return None;
    };
    match Cache::open_at(&target) {
        Ok(cache) => {
            if cache.is_read_only() && !quiet {
                let what = match cache.location() {
                    Location::File(path) => format!("cache file {}", path.display()),
                    Location::Postgres(server) => {
                        format!("PostgreSQL cache at {server} (for this user)")
                    }
                };
                eprintln!("warning: {what} is read-only: using what it holds, storing nothing new");
            }
            Some(cache)
        }
        Err(e) => {
            eprintln!(
                "warning: {}; running without a cache",
                pipeline::with_causes(&e)
            );
            None
        }
    }
}

/// The chat model and prompts that write summaries, when `--summarizer`
/// names one; the `--translator` model is reused when it is the same.
pub(crate) fn load_summarizer(
    args: &SummaryArgs,
    model: &ModelArgs,
    loaded: Option<&Loaded>,
) -> Result<Option<Summarizer>, Failure> {
    let prompts = Prompts::load(model.chat.prompts.as_deref()).map_err(config)?;
    let Some(spec) = &args.summarizer else {
        return Ok(None);
    };
    let chat = match loaded.and_then(|loaded| loaded.chat.as_ref()) {
        Some((translator_spec, chat)) if translator_spec == spec => chat.clone(),
        _ => load_chat(spec, model)?.0,
    };
    let options = SummaryOptions {
        sentences: args.summary_sentences.max(1),
        sampling: chat_sampling(&model.chat),
    };
    Ok(Some(Summarizer::new(chat, prompts, options)))
}

/// Checkpoints and closes the cache at the end of a command. A failure
/// (a full disk) loses nothing: the `-wal` file stays and is applied the
/// next time the cache is opened.
pub(crate) fn close_cache(cache: Option<Cache>, quiet: bool) {
    if let Some(Err(e)) = cache.map(Cache::close) {
        if !quiet {
            eprintln!(
                "warning: {}; its WAL file stays and is applied by the next run",
                pipeline::with_causes(&e)
            );
        }
    }
}

/// What a walk passed over: symbolic link loops always (the folder is not
/// what the user thinks), the rest (outputs, other files, exclusions) only
/// with `--verbose`.
pub(crate) fn report_skipped(skipped: &[Skipped], quiet: bool, verbose: bool) {
    for skip in skipped {
        if skip.reason.is_warning() && !quiet {
            eprintln!("warning: {skip}");
        } else if verbose {
            eprintln!("{skip}");
        }
    }
}
