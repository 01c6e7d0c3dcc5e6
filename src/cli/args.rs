//! Command-line flags (clap derive only). `main` turns these into the
//! library's option structs; nothing below the binary sees clap types except
//! the small value enums.

use std::path::PathBuf;

use clap::builder::{OsStringValueParser, RangedU64ValueParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};

use anubad::bench::BenchModel;
use anubad::cache::CacheTarget;
use anubad::ingest::Shard;
use anubad::models::weights::Quantization;
use anubad::nmt::translator::{DeviceChoice, Precision};
use anubad::text::extractive_summary::DEFAULT_SUMMARY_SENTENCES;

#[derive(Debug, Parser)]
#[command(
    name = "anubad",
    version,
    about = "Translate Bengali news articles into English with local models",
    long_about = "Translate Bengali news articles into English with local models on candle.\n\n\
                  `anubad run DIR --out OUT` translates every article in DIR, writes a JSON, a \
                  Markdown and an HTML file per article and a digest; results are cached, so re-runs \
                  and interrupted runs cost nothing twice.",
    after_help = "Exit codes: 0 all articles succeeded, 1 some article failed, 2 usage or \
                  configuration error, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).\n\
                  Environment: ANUBAD_MODEL and ANUBAD_SUMMARIZER set the default --model and \
                  --summarizer; HF_HOME, HF_ENDPOINT and HF_HUB_OFFLINE=1 are honoured as by \
                  Hugging Face's own tools."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Translate and summarize articles, writing <id>.json, <id>.md, <id>.html,
    /// digest.md, digest.html and manifest.json.
    Run(RunArgs),
    /// Translate lines (stdin or files) to stdout: one output line per input line.
    Translate(TranslateArgs),
    /// Print the story of each page as JSON Lines: title, dates, source,
    /// byline, body paragraphs, and every dropped line with its reason.
    Extract(ExtractArgs),
    /// List, download and inspect models.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Write digest.md, digest.html and manifest.json from the article files
    /// that runs wrote: the last step of a job split with --shard.
    Digest(DigestArgs),
    /// Inspect, check or clear the translation cache.
    Cache(CacheArgs),
    /// Measure translation speed on a random model of a real model's size,
    /// or on a model directory (--model-dir).
    Bench(BenchArgs),
    /// Score translations with BLEU, chrF and chrF++ as sacreBLEU does, or
    /// compare models on a test set (quality, numbers kept, speed, memory).
    Eval(super::eval::EvalArgs),
    /// Print a shell completion script: `anubad completions bash >
    /// ~/.local/share/bash-completion/completions/anubad`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// A count of at least `min`: anything less is a usage error, not a run
/// that fails later.
pub(crate) fn at_least(min: u64) -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::new().range(min..)
}

/// The translation model used when neither `--model` nor `ANUBAD_MODEL` names one.
pub const DEFAULT_MODEL: &str = "opus-mt-bn-en";

/// Flags shared by the commands that translate.
#[derive(Debug, Args, Clone)]
pub struct ModelArgs {
    /// Model: a preset name, a hub id (owner/name[@revision]), a local
    /// directory, or a .gguf file [default: opus-mt-bn-en].
    #[arg(long, short = 'm', env = "ANUBAD_MODEL", value_name = "NAME|DIR|FILE")]
    pub model: Option<String>,
    /// Translate with a chat model instead of --model, a paragraph at a time
    /// through prompts/translate.md.j2: a chat preset (see `anubad models
    /// list`), hub id, directory or .gguf file.
    #[arg(long, value_name = "NAME|DIR|FILE", conflicts_with = "model")]
    pub translator: Option<String>,
    #[command(flatten)]
    pub chat: ChatArgs,
    /// Where the model runs.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    pub device: DeviceChoice,
    /// CPU threads (default: all cores).
    #[arg(long, value_parser = at_least(1))]
    pub threads: Option<usize>,
    /// Sentences translated together.
    #[arg(long, default_value_t = 16, value_parser = at_least(1))]
    pub batch_size: usize,
    /// Beam width (default: the model's generation_config.json).
    #[arg(long, value_parser = at_least(1))]
    pub beams: Option<usize>,
    /// Longest output in tokens, start token included (default: the
    /// model's); at least 2, room for one token after the start token.
    #[arg(long, value_parser = at_least(2))]
    pub max_length: Option<usize>,
    /// Forbid repeating any n-gram of this size (NLLB can loop; 3 or 4 helps).
    #[arg(long, value_name = "N")]
    pub no_repeat_ngram_size: Option<usize>,
    /// Penalize tokens already generated (1.0 = off; 1.2 is a common choice).
    #[arg(long, value_name = "PENALTY")]
    pub repetition_penalty: Option<f32>,
    /// Precision of weights and arithmetic (bf16/f16 halve memory; f32 is what
    /// the reference outputs are measured in).
    #[arg(long, value_enum, default_value_t = Precision::F32)]
    pub precision: Precision,
    /// Quantize while loading: int8 (linear layers and embeddings, the
    /// fastest CPU mode, as CTranslate2's int8) or q8_0 (GGML blocks). Both
    /// take about a quarter of f32's memory and change some outputs slightly.
    /// GGUF models are quantized already.
    #[arg(long, value_enum)]
    pub quantize: Option<Quantization>,
    /// Use only files already on disk; never contact the hub.
    #[arg(long)]
    pub offline: bool,
    #[command(flatten)]
    pub cache: CacheLocation,
    /// Neither read nor write the translation cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Print nothing but errors on stderr.
    #[arg(long, short = 'q', conflicts_with = "verbose")]
    pub quiet: bool,
    /// Explain what is happening on stderr.
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

impl ModelArgs {
    /// The translation model asked for, or the default.
    pub fn model_spec(&self) -> &str {
        self.model.as_deref().unwrap_or(DEFAULT_MODEL)
    }
}

#[derive(Debug, Args, Clone)]
pub struct CacheLocation {
    /// Cache directory, or a postgres:// (postgresql://) URL for a cache
    /// shared by runs on many machines (default: the platform cache dir,
    /// ~/.cache/anubad on Linux). --cache-dir is the same flag.
    #[arg(
        long = "cache",
        visible_alias = "cache-dir",
        value_name = "DIR|URL",
        env = "ANUBAD_CACHE",
        hide_env_values = true,
        global = true,
        value_parser = OsStringValueParser::new().map(CacheTarget::parse)
    )]
    pub cache: Option<CacheTarget>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Sharding: `--shard K/N` runs the articles whose id hashes into shard K \
                     of N (SHA-256 of the id made file-name safe and lower-cased, first 8 bytes \
                     big-endian, modulo N), so N processes given the same inputs split them with \
                     no coordination. Without --shard, a Slurm array task \
                     (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT) or, \
                     with --shards N, a Kubernetes Indexed Job (JOB_COMPLETION_INDEX) picks its \
                     shard itself. Each shard writes its articles and a shard manifest; `anubad \
                     digest OUT` writes the digest once all are done."
)]
pub struct RunArgs {
    #[command(flatten)]
    pub inputs: InputArgs,
    /// Output directory (optional with --emit).
    #[arg(long, short = 'o', required_unless_present = "emit")]
    pub out: Option<PathBuf>,
    /// Write each input's result to stdout as it finishes, in input order,
    /// one line each: the article's <id>.json, or {"input", "error"} for an
    /// input that failed. Nothing else goes to stdout. For engines that
    /// pipe a partition through a command (Spark, Ray Data, Beam): `anubad
    /// run - --emit jsonl`.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub emit: Option<EmitFormat>,
    /// Run only shard K of N (0 <= K < N); see below.
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,
    /// The job's shard count, for a Kubernetes Indexed Job: the shard is
    /// JOB_COMPLETION_INDEX.
    #[arg(long, value_name = "N", value_parser = at_least(1), conflicts_with = "shard")]
    pub shards: Option<usize>,
    /// Also write the closing summary's counts as JSON to FILE (`-` for
    /// stdout), for schedulers and scripts.
    #[arg(long, value_name = "FILE")]
    pub json_summary: Option<PathBuf>,
    /// Once the run completes, remove the files of articles in --out that
    /// are not in this run (only <id>.json records anubad wrote, with their
    /// <id>.md and <id>.html).
    #[arg(long, conflicts_with_all = ["shard", "shards"])]
    pub prune: bool,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub summary: SummaryArgs,
}

/// What `run --emit` writes to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EmitFormat {
    /// One JSON object a line.
    Jsonl,
}

fn parse_shard(text: &str) -> Result<Shard, String> {
    Shard::parse(text).map_err(|e| e.to_string())
}

#[derive(Debug, Args)]
pub struct DigestArgs {
    /// Output folders of runs (the shards of one job, on shared storage).
    #[arg(required = true, value_name = "OUT_DIR")]
    pub folders: Vec<PathBuf>,
    /// Where to write the digest (default: the first folder).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub summary: SummaryArgs,
    /// The chat model's settings (the translation model's flags are unused).
    #[command(flatten)]
    pub model: ModelArgs,
}

/// Which articles a command reads.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Files, directories (walked for .txt, .md, .html, .htm), .jsonl files, or - for stdin.
    #[arg(required = true)]
    pub inputs: Vec<String>,
    /// Leave out files and folders whose name or path below the input
    /// folder matches GLOB (e.g. 'drafts', '*.html', '2024-*/**');
    /// repeatable.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Read only the first N articles (in the order they are read: inputs
    /// as given, folders sorted by path), to try a job on a sample.
    #[arg(long, value_name = "N", value_parser = at_least(1))]
    pub limit: Option<usize>,
}

/// How summaries are written.
#[derive(Debug, Args, Clone)]
pub struct SummaryArgs {
    /// Chat model that writes the summaries: a chat preset (e.g.
    /// qwen2.5-1.5b-instruct), a hub id, a .gguf file, or a directory holding
    /// one .gguf file or config.json + safetensors + tokenizer.json. Without
    /// it the summary is extractive (sentences picked from the translation).
    #[arg(long, value_name = "NAME|DIR|FILE", env = "ANUBAD_SUMMARIZER")]
    pub summarizer: Option<String>,
    /// Sentences in each summary, at most.
    #[arg(long, default_value_t = DEFAULT_SUMMARY_SENTENCES, value_name = "N", value_parser = at_least(1))]
    pub summary_sentences: usize,
}

/// Settings shared by every chat model of a run (summarizer and translator).
#[derive(Debug, Args, Clone)]
pub struct ChatArgs {
    /// Prompt templates overriding the built-in ones file by file
    /// (summarize.md.j2, translate.md.j2, translate-examples.jsonl, ...).
    #[arg(long, value_name = "DIR")]
    pub prompts: Option<PathBuf>,
    /// Sampling temperature of chat models (0: greedy, reproducible).
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f64,
    /// Seed for sampling when the temperature is above 0.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct ExtractArgs {
    #[command(flatten)]
    pub inputs: InputArgs,
    /// Explain what is skipped on stderr.
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

/// What `translate` reads and writes, a line at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LineFormat {
    /// Bengali text in, English text out: one output line per input line.
    Text,
    /// `{"id", "text"}` records in; `{"id", "text", "translation",
    /// "cache_hit", "warnings"}` records out.
    Jsonl,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Lines are read and translated 256 at a time (so that batches fill), \
                        and each chunk is printed as soon as it is done; from a terminal, \
                        each line is translated as soon as it is typed."
)]
pub struct TranslateArgs {
    /// Input files; `-` or none for stdin.
    pub files: Vec<String>,
    /// Write to FILE instead of stdout (written as lines finish).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Line format of input and output.
    #[arg(long, value_enum, default_value_t = LineFormat::Text, visible_alias = "output-format")]
    pub format: LineFormat,
    /// Translate each line as one segment, splitting only what exceeds the
    /// model's input limit (for evaluation against other engines).
    #[arg(long)]
    pub whole_lines: bool,
    #[command(flatten)]
    pub model: ModelArgs,
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// The presets: family, size, licence, downloaded or not; `*` marks
    /// the default.
    List {
        /// One JSON object per preset, a line each.
        #[arg(long)]
        json: bool,
    },
    /// Download a model into the Hugging Face cache and print its directory.
    Pull {
        /// Preset name or hub id (owner/name[@revision]).
        name: String,
        /// Only check the Hugging Face cache; never contact the hub.
        #[arg(long)]
        offline: bool,
    },
    /// Write a quantized copy of a model (GGUF weights plus its config and
    /// tokenizer files) into a directory that `--model` accepts.
    Quantize {
        /// Preset name, hub id or local directory (dense weights).
        name: String,
        /// Directory to write.
        #[arg(long, short = 'o')]
        out: PathBuf,
        /// Quantization of the linear layers (q8_0; int8 is made while
        /// loading, with `--quantize int8`, and is not stored).
        #[arg(long = "type", value_enum, default_value_t = Quantization::Q8_0)]
        quantization: Quantization,
        /// Use only files already on disk; never contact the hub.
        #[arg(long)]
        offline: bool,
    },
    /// Show a model's family, dimensions, files and licence (a preset's
    /// built-in facts when it is not downloaded).
    Info {
        /// Preset name, hub id, local directory or .gguf file.
        name: String,
        /// Use only files already on disk; never contact the hub.
        #[arg(long)]
        offline: bool,
    },
}

#[derive(Debug, Args)]
pub struct CacheArgs {
    #[command(subcommand)]
    pub action: CacheAction,
    #[command(flatten)]
    pub location: CacheLocation,
}

#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// Entries, size on disk, and the last run's hits and misses.
    Stats,
    /// Delete every cached translation; a damaged cache file is replaced
    /// with an empty one.
    Clear,
    /// Run SQLite's integrity check on the cache file, or check that the
    /// PostgreSQL server answers and its tables are laid out as this version
    /// expects (exit 1 when damaged or unreachable).
    Check,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Model shape (random weights).
    #[arg(long, value_enum, default_value_t = BenchModel::OpusMt)]
    pub model: BenchModel,
    /// Time the model in this directory (config.json and weights, as
    /// save_pretrained writes them; no tokenizer needed) instead of random
    /// weights; scripts/bench_peers.py times peer engines on the same one.
    #[arg(long, value_name = "DIR", conflicts_with = "model")]
    pub model_dir: Option<PathBuf>,
    /// Source token ids, one sentence a line, ids separated by spaces
    /// (default: --sentences deterministic pseudo-random sentences).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["sentences", "source_tokens"])]
    pub source_ids: Option<PathBuf>,
    /// Precision of weights and arithmetic.
    #[arg(long, value_enum, default_value_t = Precision::F32)]
    pub precision: Precision,
    /// Quantize linear layers.
    #[arg(long, value_enum)]
    pub quantize: Option<Quantization>,
    /// Batch sizes to measure.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 8, 32], value_parser = at_least(1))]
    pub batch_sizes: Vec<usize>,
    /// Sentences translated at each batch size.
    #[arg(long, default_value_t = 64, value_parser = at_least(1))]
    pub sentences: usize,
    /// Tokens per source sentence.
    #[arg(long, default_value_t = 30, value_parser = at_least(1))]
    pub source_tokens: usize,
    /// Generated tokens per sentence (held fixed).
    #[arg(long, default_value_t = 32, value_parser = at_least(1))]
    pub output_tokens: usize,
    /// Time this Qwen2 GGUF file (prompt processing and generation) instead
    /// of random weights; scripts/bench_llama_cpp.py times llama.cpp on the
    /// same file.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["model", "model_dir"])]
    pub gguf: Option<PathBuf>,
    /// With `--model qwen2.5-1.5b-q4km`: keep the random model's GGUF file here.
    #[arg(long, value_name = "PATH")]
    pub save_gguf: Option<PathBuf>,
    /// Prompt length for chat models (an article and its instructions).
    #[arg(long, default_value_t = 512, value_parser = at_least(1))]
    pub prompt_tokens: usize,
    /// Beam width.
    #[arg(long, default_value_t = 1, value_parser = at_least(1))]
    pub beams: usize,
    /// CPU threads (default: all cores).
    #[arg(long, value_parser = at_least(1))]
    pub threads: Option<usize>,
}
