//! `anubad eval`: scores a file of translations against references
//! (`--hyp`), or translates a source file with each `--model` and compares
//! them in one table (`--src`/`--set`): BLEU and chrF++ as sacreBLEU
//! computes them, the numbers kept, speed, peak memory and licence, and
//! with `--against f32` how far a quantized or reduced-precision run
//! strays from the same model in f32.
//!
//! Models are loaded one after another in this process. Peak memory is the
//! process's peak resident set (`VmHWM`), reset before each model loads
//! (Linux's `/proc/self/clear_refs`), so each row's figure is that model's
//! load and translation plus what the process already held (the set, a few
//! MB); where the reset is unavailable the column says n/a rather than
//! carry an earlier model's peak over. Child processes would give the same
//! number at the cost of passing translations back through pipes.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use serde_json::json;

use anubad::eval::agreement::{self, Agreement};
use anubad::eval::numbers::{numbers_kept, NumbersKept};
use anubad::eval::sets::{self, EvalSet};
use anubad::eval::{score_all, BleuTokenizer, Scored};
use anubad::models::weights::Quantization;
use anubad::nmt::translator::{DeviceChoice, Precision};
use anubad::pipeline::{self, Event, ModelContext, SegmentTranslator};

use super::load::{close_cache, load};
use super::{at_least, config, run_failure, CacheLocation, ChatArgs, Failure, ModelArgs};

#[derive(Debug, Args)]
#[command(after_help = "Score a file of translations:\n  \
    anubad eval --hyp out.en --ref ref.en [--ref ref2.en]\n\
    Compare models on your own test set (sources in Bengali, one a line):\n  \
    anubad eval --src test.bn --ref test.en --model opus-mt-bn-en --model nllb-200-distilled-600M:int8 --against f32\n\
    A model entry is NAME|DIR|FILE, optionally followed by :int8 or :q8_0 and/or :f16 or :bf16.")]
pub struct EvalArgs {
    /// Translations to score, one a line.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["src", "models", "translators"])]
    pub hyp: Option<PathBuf>,
    /// Bengali sources to translate with each --model, one a line.
    #[arg(long, value_name = "FILE", conflicts_with = "set")]
    pub src: Option<PathBuf>,
    /// English references, one a line; repeat for several references.
    #[arg(long = "ref", value_name = "FILE", conflicts_with = "set")]
    pub refs: Vec<PathBuf>,
    /// Sources and references in one file: TSV (source, then one column per
    /// reference) or JSON Lines (`{"src", "ref"}`, ref a string or a list).
    #[arg(long, value_name = "FILE")]
    pub set: Option<PathBuf>,
    /// A translation model to score (repeatable): NAME|DIR|FILE with
    /// optional :int8 or :q8_0 and :f16 or :bf16 suffixes.
    #[arg(long = "model", short = 'm', value_name = "SPEC")]
    pub models: Vec<String>,
    /// A chat model translating through its prompt (repeatable).
    #[arg(long = "translator", value_name = "SPEC")]
    pub translators: Vec<String>,
    /// BLEU's tokenizer, as sacreBLEU's --tokenize.
    #[arg(long, value_enum, default_value_t = BleuTokenizer::Thirteen)]
    pub tokenize: BleuTokenizer,
    /// Also compare each quantized or reduced-precision model with the
    /// same model in f32 (run too when not listed): sentences left
    /// identical, and chrF++ against the f32 output.
    #[arg(long, value_enum)]
    pub against: Option<Against>,
    /// One JSON object on stdout instead of text.
    #[arg(long)]
    pub json: bool,
    /// Translate each line as one segment (as other engines are scored)
    /// instead of splitting it into sentences.
    #[arg(long)]
    pub whole_lines: bool,
    #[command(flatten)]
    pub decoding: DecodingArgs,
}

/// What a run is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Against {
    F32,
}

/// The translate flags that apply to every model of the comparison.
/// `ModelArgs` holds one `--model`; these repeat its other flags so that
/// `--model` can be given several times here.
#[derive(Debug, Args, Clone)]
pub struct DecodingArgs {
    #[command(flatten)]
    pub chat: ChatArgs,
    /// Where the models run.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    pub device: DeviceChoice,
    /// CPU threads (default: all cores).
    #[arg(long, value_parser = at_least(1))]
    pub threads: Option<usize>,
    /// Sentences translated together.
    #[arg(long, default_value_t = 16, value_parser = at_least(1))]
    pub batch_size: usize,
    /// Beam width (default: each model's generation_config.json).
    #[arg(long, value_parser = at_least(1))]
    pub beams: Option<usize>,
    /// Longest output in tokens (default: each model's).
    #[arg(long, value_parser = at_least(2))]
    pub max_length: Option<usize>,
    /// Forbid repeating any n-gram of this size.
    #[arg(long, value_name = "N")]
    pub no_repeat_ngram_size: Option<usize>,
    /// Penalize tokens already generated (1.0 = off).
    #[arg(long, value_name = "PENALTY")]
    pub repetition_penalty: Option<f32>,
    /// Use only files already on disk; never contact the hub.
    #[arg(long)]
    pub offline: bool,
    #[command(flatten)]
    pub cache: CacheLocation,
    /// Neither read nor write the translation cache (every sentence is
    /// translated, so the speeds cover the whole set).
    #[arg(long)]
    pub no_cache: bool,
    /// Print nothing but errors on stderr.
    #[arg(long, short = 'q', conflicts_with = "verbose")]
    pub quiet: bool,
    /// Explain what is happening on stderr.
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

/// One model of the comparison, as given and as parsed.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    /// As the user wrote it, the table's row name.
    label: String,
    spec: String,
    chat: bool,
    quantize: Option<Quantization>,
    precision: Precision,
}

impl Entry {
    /// `NAME[:int8|:q8_0][:f16|:bf16|:f32]`: suffixes are taken off the end
    /// while they name a quantization or precision, so a path or hub id
    /// keeps any other colon.
    fn parse(label: &str, chat: bool) -> Result<Entry, String> {
        let mut spec = label;
        let (mut quantize, mut precision) = (None, None);
        while let Some((rest, suffix)) = spec.rsplit_once(':') {
            match (suffix, quantize, precision) {
                ("int8", None, _) => quantize = Some(Quantization::Int8),
                ("q8_0", None, _) => quantize = Some(Quantization::Q8_0),
                ("f32", _, None) => precision = Some(Precision::F32),
                ("f16", _, None) => precision = Some(Precision::F16),
                ("bf16", _, None) => precision = Some(Precision::Bf16),
                _ => break,
            }
            spec = rest;
        }
        if chat && (quantize.is_some() || precision.is_some()) {
            return Err(format!(
                "{label}: quantization and precision suffixes apply to --model entries, not --translator"
            ));
        }
        if spec.is_empty() {
            return Err(format!("{label}: no model named"));
        }
        Ok(Entry {
            label: label.to_string(),
            spec: spec.to_string(),
            chat,
            quantize,
            precision: precision.unwrap_or_default(),
        })
    }

    fn is_reference_precision(&self) -> bool {
        self.quantize.is_none() && self.precision == Precision::F32
    }

    /// The same model in f32, unquantized.
    fn f32(&self) -> Entry {
        Entry {
            label: format!("{} (f32)", self.spec),
            quantize: None,
            precision: Precision::F32,
            ..self.clone()
        }
    }

    fn same_model(&self, other: &Entry) -> bool {
        self.spec == other.spec && self.chat == other.chat
    }

    fn model_args(&self, decoding: &DecodingArgs) -> ModelArgs {
        let d = decoding.clone();
        ModelArgs {
            model: (!self.chat).then(|| self.spec.clone()),
            translator: self.chat.then(|| self.spec.clone()),
            chat: d.chat,
            device: d.device,
            threads: d.threads,
            batch_size: d.batch_size,
            beams: d.beams,
            max_length: d.max_length,
            no_repeat_ngram_size: d.no_repeat_ngram_size,
            repetition_penalty: d.repetition_penalty,
            precision: self.precision,
            quantize: self.quantize,
            offline: d.offline,
            cache: d.cache,
            no_cache: d.no_cache,
            quiet: d.quiet,
            verbose: d.verbose,
        }
    }
}

/// One model's row.
#[derive(Debug, Serialize)]
struct Row {
    model: String,
    spec: String,
    quantize: Option<&'static str>,
    precision: &'static str,
    /// BLEU, chrF2, chrF2++.
    scores: Vec<Scored>,
    numbers: NumbersKept,
    /// Over the sentences the model translated in this run (none when the
    /// cache had them all).
    sentences_per_second: Option<f64>,
    target_tokens_per_second: Option<f64>,
    translated_sentences: usize,
    peak_rss_bytes: Option<u64>,
    licence: Option<String>,
    against_f32: Option<Agreement>,
    #[serde(skip)]
    translations: Vec<String>,
}

pub fn eval(args: EvalArgs) -> Result<u8, Failure> {
    let Inputs {
        sources,
        references,
    } = read_inputs(&args)?;
    if let Some(hyp) = &args.hyp {
        let hypotheses = sets::read_lines(hyp).map_err(config)?;
        return score_file(&args, &hypotheses, &references);
    }
    let Some(sources) = sources else {
        return Err(config(anyhow::anyhow!(
            "nothing to score: give --hyp FILE, or --src FILE (or --set FILE) with --model"
        )));
    };
    if sources.len() != references[0].len() {
        return Err(config(anyhow::anyhow!(
            "{} source lines but {} reference lines",
            sources.len(),
            references[0].len()
        )));
    }
    let entries = entries(&args)?;
    compare(&args, &entries, &sources, &references)
}

/// The sources (when translating) and reference streams, all checked
/// before any model loads.
/// What the command reads: sources only when it translates.
struct Inputs {
    sources: Option<Vec<String>>,
    references: Vec<Vec<String>>,
}

fn read_inputs(args: &EvalArgs) -> Result<Inputs, Failure> {
    if let Some(set) = &args.set {
        let EvalSet {
            sources,
            references,
        } = sets::read_set(set).map_err(config)?;
        return Ok(Inputs {
            sources: Some(sources),
            references,
        });
    }
    if args.refs.is_empty() {
        return Err(config(anyhow::anyhow!(
            "no references: give --ref FILE (repeatable) or --set FILE"
        )));
    }
    let references = args
        .refs
        .iter()
        .map(|path| sets::read_lines(path).map_err(config))
        .collect::<Result<Vec<_>, _>>()?;
    let sources = match &args.src {
        Some(path) => Some(sets::read_lines(path).map_err(config)?),
        None => None,
    };
    Ok(Inputs {
        sources,
        references,
    })
}

fn entries(args: &EvalArgs) -> Result<Vec<Entry>, Failure> {
    let mut entries: Vec<Entry> = args
        .models
        .iter()
        .map(|m| Entry::parse(m, false))
        .chain(args.translators.iter().map(|t| Entry::parse(t, true)))
        .collect::<Result<_, _>>()
        .map_err(|e| config(anyhow::anyhow!(e)))?;
    if entries.is_empty() {
        return Err(config(anyhow::anyhow!(
            "no model to score: give --model (repeatable), or --hyp FILE to score translations"
        )));
    }
    if args.against == Some(Against::F32) {
        // Each model compared gets its f32 run, once, before it in the table.
        let mut with_f32 = Vec::new();
        for entry in entries.drain(..) {
            let f32 = entry.f32();
            if !entry.is_reference_precision()
                && !with_f32
                    .iter()
                    .any(|e: &Entry| e.same_model(&entry) && e.is_reference_precision())
            {
                with_f32.push(f32);
            }
            with_f32.push(entry);
        }
        entries = with_f32;
    }
    Ok(entries)
}

fn score_file(
    args: &EvalArgs,
    hypotheses: &[String],
    references: &[Vec<String>],
) -> Result<u8, Failure> {
    let scores = score_all(hypotheses, references, args.tokenize).map_err(config)?;
    if args.json {
        println!(
            "{}",
            json!({
                "hyp": args.hyp,
                "sentences": hypotheses.len(),
                "references": references.len(),
                "scores": scores,
            })
        );
    } else {
        for score in &scores {
            println!("{score}");
        }
    }
    Ok(0)
}

/// Lines translated between progress updates, as `translate` does.
const CHUNK_LINES: usize = 256;

fn compare(
    args: &EvalArgs,
    entries: &[Entry],
    sources: &[String],
    references: &[Vec<String>],
) -> Result<u8, Failure> {
    let quiet = args.decoding.quiet;
    let bar = progress_bar(quiet, (entries.len() * sources.len()) as u64);
    let mut rows: Vec<Row> = Vec::new();
    for entry in entries {
        bar.set_message(entry.label.clone());
        rows.push(translate_set(args, entry, sources, references, &bar)?);
    }
    bar.finish_and_clear();
    if args.against == Some(Against::F32) {
        for i in 0..rows.len() {
            let entry = &entries[i];
            if entry.is_reference_precision() {
                continue;
            }
            let reference = entries
                .iter()
                .position(|e| e.same_model(entry) && e.is_reference_precision())
                .expect("entries() adds an f32 run for every other");
            let agreement =
                agreement::against(&rows[i].translations, &rows[reference].translations)
                    .map_err(run_failure)?;
            rows[i].against_f32 = Some(agreement);
        }
    }
    if args.json {
        let bleu_signature = rows[0].scores[0].signature.clone();
        println!(
            "{}",
            json!({
                "sentences": sources.len(),
                "references": references.len(),
                "tokenize": args.tokenize.name(),
                "signatures": {
                    "BLEU": bleu_signature,
                    "chrF2": rows[0].scores[1].signature,
                    "chrF2++": rows[0].scores[2].signature,
                },
                "models": rows,
            })
        );
    } else {
        print!("{}", table(&rows, args.against.is_some()));
        println!(
            "{} sentences, {} reference(s)",
            sources.len(),
            references.len()
        );
        for score in &rows[0].scores {
            println!("{}|{}", score.name, score.signature);
        }
    }
    Ok(0)
}

fn progress_bar(quiet: bool, total: u64) -> ProgressBar {
    use std::io::IsTerminal;
    let target = if quiet || !std::io::stderr().is_terminal() {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let bar = ProgressBar::with_draw_target(Some(total), target);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} sentences  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Translates the set with one model, through the cache, and scores it.
fn translate_set(
    args: &EvalArgs,
    entry: &Entry,
    sources: &[String],
    references: &[Vec<String>],
    bar: &ProgressBar,
) -> Result<Row, Failure> {
    let model_args = entry.model_args(&args.decoding);
    let peak_reset = reset_peak_memory();
    let mut loaded = bar.suspend(|| load(&model_args))?;
    let model = ModelContext {
        summarizer: None,
        engine: loaded.engine(),
        info: loaded.info.clone(),
        identity: loaded.identity.clone(),
    };
    let mut segments = SegmentTranslator::new(&model, loaded.cache.as_ref(), model_args.batch_size);
    let (mut translated_sentences, mut tokens) = (0usize, 0usize);
    let mut observe = |event: Event| match event {
        Event::Batch {
            sentences,
            tokens: written,
        } => {
            translated_sentences += sentences;
            tokens += written;
        }
        Event::CacheDisabled { reason } if !args.decoding.quiet => {
            bar.suspend(|| eprintln!("warning: {reason}; continuing without the cache"));
        }
        _ => {}
    };
    let started = Instant::now();
    let mut translations = Vec::with_capacity(sources.len());
    for chunk in sources.chunks(CHUNK_LINES) {
        let lines = pipeline::translate_lines(chunk, args.whole_lines, &mut segments, &mut observe)
            .with_context(|| format!("translating with {}", entry.label))
            .map_err(run_failure)?;
        translations.extend(lines.into_iter().map(|line| line.english));
        bar.inc(chunk.len() as u64);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let peak_rss_bytes = peak_reset.then(peak_memory).flatten();
    if let Some(cache) = &loaded.cache {
        let _ = cache.record_run(segments.hits, segments.misses);
    }
    drop(segments);
    let info = loaded.info.clone();
    close_cache(loaded.cache.take(), args.decoding.quiet);
    drop(loaded);
    let per_second =
        |n: usize| (translated_sentences > 0 && elapsed > 0.0).then(|| n as f64 / elapsed);
    Ok(Row {
        model: entry.label.clone(),
        spec: info.name,
        quantize: entry.quantize.map(Quantization::name),
        precision: entry.precision.name(),
        scores: score_all(&translations, references, args.tokenize).map_err(run_failure)?,
        numbers: numbers_kept(sources, &translations),
        sentences_per_second: per_second(translated_sentences),
        target_tokens_per_second: per_second(tokens),
        translated_sentences,
        peak_rss_bytes,
        licence: info.licence,
        against_f32: None,
        translations,
    })
}

/// Starts a fresh peak-RSS measurement (Linux: writing 5 to
/// `/proc/self/clear_refs` resets `VmHWM` to the current RSS). False where
/// it cannot, and the peak is then not reported.
fn reset_peak_memory() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// `VmHWM` of `/proc/self/status`, in bytes.
fn peak_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn table(rows: &[Row], against: bool) -> String {
    let mut header = vec![
        "model",
        "BLEU",
        "chrF++",
        "numbers kept",
        "sent/s",
        "tok/s",
        "peak RSS",
        "licence",
    ];
    if against {
        header.extend(["same as f32", "chrF++ vs f32"]);
    }
    let speed = |v: Option<f64>| v.map_or_else(|| "cached".to_string(), |v| format!("{v:.1}"));
    let mut cells: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for row in rows {
        let mut line = vec![
            row.model.clone(),
            format!("{:.2}", row.scores[0].score),
            format!("{:.2}", row.scores[2].score),
            format!("{}/{}", row.numbers.kept, row.numbers.numbers),
            speed(row.sentences_per_second),
            speed(row.target_tokens_per_second),
            row.peak_rss_bytes.map_or_else(
                || "n/a".to_string(),
                |b| format!("{} MiB", b / (1024 * 1024)),
            ),
            row.licence.clone().unwrap_or_else(|| "unknown".to_string()),
        ];
        if against {
            match &row.against_f32 {
                Some(a) => line.extend([
                    format!("{}/{}", a.identical, a.sentences),
                    format!("{:.2}", a.chrf_plus_plus),
                ]),
                None => line.extend(["-".to_string(), "-".to_string()]),
            }
        }
        cells.push(line);
    }
    let widths: Vec<usize> = (0..cells[0].len())
        .map(|c| {
            cells
                .iter()
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &cells {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (cell, width))| {
                // Names left, numbers right.
                if c == 0 || c == 7 {
                    format!("{cell:<width$}")
                } else {
                    format!("{cell:>width$}")
                }
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_suffixes_set_quantization_and_precision() {
        let e = Entry::parse("nllb-600m:q8_0", false).unwrap();
        assert_eq!(
            (e.spec.as_str(), e.quantize, e.precision),
            ("nllb-600m", Some(Quantization::Q8_0), Precision::F32)
        );
        let e = Entry::parse("dir/model:int8:bf16", false).unwrap();
        assert_eq!(
            (e.spec.as_str(), e.quantize, e.precision),
            ("dir/model", Some(Quantization::Int8), Precision::Bf16)
        );
        // A colon that names neither stays part of the model.
        assert_eq!(
            Entry::parse("C:/models/x", false).unwrap().spec,
            "C:/models/x"
        );
        assert!(Entry::parse("qwen:int8", true).is_err());
        assert!(Entry::parse(":int8", false).is_err());
    }
}
