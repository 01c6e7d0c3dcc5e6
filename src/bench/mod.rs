//! `anubad bench`: translation speed on models of real sizes with random
//! weights and a fixed output length, so that anyone can rerun it without
//! downloading anything and compare numbers from one run: Marian at
//! opus-mt-bn-en's size (d_model 512, 6+6 layers, vocabulary 58101) and
//! M2M100 at NLLB-200-distilled-600M's (d_model 1024, 12+12 layers,
//! vocabulary 256206), in f32, bf16 or with Q8_0 linear layers.
//!
//! With a model directory instead (`--model-dir`, as `save_pretrained`
//! writes it) and source ids from a file, it times exactly the weights and
//! inputs that `scripts/bench_peers.py` hands transformers and CTranslate2,
//! so the numbers sit in one table with theirs.

pub mod chat;

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{DType, Device};
use candle_nn::{VarBuilder, VarMap};

use crate::models::weights::{Quantization, Weights};
use crate::nmt::generate::{generate, EarlyStopping, GenerationConfig};
use crate::nmt::m2m100::{M2M100Config, M2M100};
use crate::nmt::marian::{Marian, MarianConfig};
use crate::nmt::t5::{T5Config, T5};
use crate::nmt::translator::{LoadOptions, Network, Precision, TranslatorError};
use crate::nmt::EncoderDecoder;

/// Which model shape to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum BenchModel {
    /// Marian, opus-mt-bn-en's dimensions (~77M parameters).
    #[default]
    #[cfg_attr(feature = "cli", value(name = "opus-mt"))]
    OpusMt,
    /// M2M100, NLLB-200-distilled-600M's dimensions (~615M parameters).
    #[cfg_attr(feature = "cli", value(name = "nllb-600m"))]
    Nllb600m,
    /// T5 v1.1 base, BanglaT5's dimensions (~247M parameters).
    #[cfg_attr(feature = "cli", value(name = "banglat5"))]
    BanglaT5,
    /// Chat model: Qwen2.5-1.5B-Instruct's dimensions as a Q4_K_M GGUF
    /// (prompt processing and generation; see `bench_chat`).
    #[cfg_attr(feature = "cli", value(name = "qwen2.5-1.5b-q4km"))]
    Qwen25Q4km,
}

impl BenchModel {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            BenchModel::OpusMt => "Marian at opus-mt-bn-en's size",
            BenchModel::Nllb600m => "M2M100 at NLLB-200-distilled-600M's size",
            BenchModel::BanglaT5 => "T5 v1.1 at BanglaT5's size",
            BenchModel::Qwen25Q4km => "Qwen2 at Qwen2.5-1.5B-Instruct's size, Q4_K_M",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("cannot read source ids from {path}")]
    ReadSourceIds {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}, line {line}: {reason}")]
    BadSourceIds {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    /// Boxed: a load error is large, and every function here returns this.
    #[error(transparent)]
    Load(Box<TranslatorError>),
    #[error("benchmark failed")]
    Run(#[from] candle_core::Error),
}

impl From<TranslatorError> for BenchError {
    fn from(error: TranslatorError) -> Self {
        BenchError::Load(Box::new(error))
    }
}

/// Source sentences given as token ids, one sentence a line, ids separated
/// by spaces: how `scripts/bench_peers.py` shares its inputs with anubad.
#[derive(Debug, Clone)]
pub struct SourceIds {
    pub path: PathBuf,
    pub sentences: Vec<Vec<u32>>,
}

impl SourceIds {
    pub fn read(path: &Path) -> Result<Self, BenchError> {
        let text = std::fs::read_to_string(path).map_err(|source| BenchError::ReadSourceIds {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    fn parse(path: &Path, text: &str) -> Result<Self, BenchError> {
        let bad = |line: usize, reason: String| BenchError::BadSourceIds {
            path: path.to_path_buf(),
            line,
            reason,
        };
        let mut sentences = Vec::new();
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let ids = line
                .split_whitespace()
                .map(|word| {
                    word.parse::<u32>()
                        .map_err(|_| bad(index + 1, format!("{word:?} is not a token id")))
                })
                .collect::<Result<Vec<u32>, _>>()?;
            sentences.push(ids);
        }
        if sentences.is_empty() {
            return Err(bad(1, "no sentences".into()));
        }
        Ok(Self {
            path: path.to_path_buf(),
            sentences,
        })
    }

    /// Fails on the first id the model has no embedding for, which candle
    /// would otherwise report as an index error deep inside the encoder.
    fn check_vocabulary(&self, vocab_size: usize) -> Result<(), BenchError> {
        for (index, sentence) in self.sentences.iter().enumerate() {
            if let Some(id) = sentence.iter().find(|&&id| id as usize >= vocab_size) {
                return Err(BenchError::BadSourceIds {
                    path: self.path.clone(),
                    line: index + 1,
                    reason: format!("id {id} is outside the model's vocabulary of {vocab_size}"),
                });
            }
        }
        Ok(())
    }

    /// "30 tokens", or "12–40 tokens" when the lengths differ.
    fn describe_lengths(&self) -> String {
        let lengths = self.sentences.iter().map(Vec::len);
        let (shortest, longest) = (
            lengths.clone().min().unwrap_or(0),
            lengths.max().unwrap_or(0),
        );
        if shortest == longest {
            format!("{shortest} tokens")
        } else {
            format!("{shortest}–{longest} tokens")
        }
    }
}

pub struct BenchOptions {
    pub model: BenchModel,
    /// Time the model in this directory instead of random weights of
    /// `model`'s size.
    pub model_dir: Option<PathBuf>,
    /// Time these sources instead of `sentences` generated ones of
    /// `source_tokens` tokens.
    pub source_ids: Option<SourceIds>,
    pub precision: Precision,
    pub quantize: Option<Quantization>,
    pub batch_sizes: Vec<usize>,
    pub sentences: usize,
    pub source_tokens: usize,
    pub output_tokens: usize,
    pub beams: usize,
}

#[derive(Debug, Clone)]
pub struct BenchRow {
    pub(crate) batch_size: usize,
    pub(crate) seconds: f64,
    pub(crate) sentences_per_second: f64,
    pub(crate) tokens_per_second: f64,
    /// Peak resident memory of the process so far, in MiB (Linux only).
    pub(crate) peak_rss_mib: Option<f64>,
}

/// opus-mt-bn-en's dimensions, from its config.json.
pub(crate) fn opus_mt_base_config() -> MarianConfig {
    serde_json::from_value(serde_json::json!({
        "vocab_size": 58101, "d_model": 512,
        "encoder_layers": 6, "decoder_layers": 6,
        "encoder_attention_heads": 8, "decoder_attention_heads": 8,
        "encoder_ffn_dim": 2048, "decoder_ffn_dim": 2048,
        "activation_function": "swish", "max_position_embeddings": 512,
        "pad_token_id": 58100, "eos_token_id": 0, "decoder_start_token_id": 58100
    }))
    .expect("static config is valid")
}

/// facebook/nllb-200-distilled-600M's dimensions, from its config.json.
pub(crate) fn nllb_600m_config() -> M2M100Config {
    serde_json::from_value(serde_json::json!({
        "vocab_size": 256206, "d_model": 1024,
        "encoder_layers": 12, "decoder_layers": 12,
        "encoder_attention_heads": 16, "decoder_attention_heads": 16,
        "encoder_ffn_dim": 4096, "decoder_ffn_dim": 4096,
        "activation_function": "relu", "max_position_embeddings": 1024,
        "scale_embedding": true, "pad_token_id": 1, "bos_token_id": 0,
        "eos_token_id": 2, "decoder_start_token_id": 2
    }))
    .expect("static config is valid")
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// T5 v1.1 base as BanglaT5 uses it (d_model 768, 12+12 layers, 12 heads,
/// gated-GELU ffn 2048, SentencePiece vocabulary 32k padded to 32128).
pub(crate) fn banglat5_config() -> T5Config {
    serde_json::from_value(serde_json::json!({
        "vocab_size": 32128, "d_model": 768, "d_kv": 64, "d_ff": 2048,
        "num_layers": 12, "num_decoder_layers": 12, "num_heads": 12,
        "feed_forward_proj": "gated-gelu", "tie_word_embeddings": false,
        "pad_token_id": 0, "eos_token_id": 1, "decoder_start_token_id": 0
    }))
    .expect("static config is valid")
}

/// Deterministic pseudo-random source ids, each ending in the end-of-sequence
/// id as a tokenized sentence does (ids 3.. elsewhere, so no special token
/// mid-sentence).
fn sources(count: usize, length: usize, vocab: u32, eos: u32) -> Vec<Vec<u32>> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..count)
        .map(|_| {
            let mut ids: Vec<u32> = (0..length.saturating_sub(1))
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    3 + (state % (vocab as u64 - 4)) as u32
                })
                .collect();
            ids.push(eos);
            ids
        })
        .collect()
}

/// Random weights for whatever `load` reads, as plain tensors.
///
/// Built through a `VarMap`, they would be trainable variables: candle then
/// records every result's inputs for backprop and keeps every step's KV cache
/// alive. Real weights (safetensors, pytorch_model.bin) are plain tensors, so
/// the benchmark detaches them first.
/// `upfront` names tensors to create before loading: a VarMap holds only
/// what was asked for, and T5 checks which embedding names exist first.
fn random_weights<T>(
    dtype: DType,
    device: &Device,
    quantize: Option<Quantization>,
    upfront: &[(&str, (usize, usize))],
    load: impl Fn(Weights) -> candle_core::Result<T>,
) -> candle_core::Result<T> {
    let varmap = VarMap::new();
    let creator =
        Weights::from_var_builder(VarBuilder::from_varmap(&varmap, DType::F32, device), None);
    for (name, shape) in upfront {
        creator.get(*shape, name)?;
    }
    load(Weights::from_var_builder(
        VarBuilder::from_varmap(&varmap, DType::F32, device),
        None,
    ))?;
    let tensors = varmap
        .data()
        .lock()
        .map_err(|_| candle_core::Error::Msg("weights lock poisoned".into()))?
        .iter()
        .map(|(name, var)| Ok((name.clone(), var.as_tensor().detach().to_dtype(dtype)?)))
        .collect::<candle_core::Result<_>>()?;
    drop(varmap);
    load(Weights::from_var_builder(
        VarBuilder::from_tensors(tensors, dtype, device),
        quantize,
    ))
}

/// The network to time and the ids it needs around the sources.
struct BenchNetwork {
    model: Box<dyn EncoderDecoder>,
    pad: u32,
    eos: u32,
    start: u32,
}

fn load_model_dir(dir: &Path, options: &BenchOptions) -> Result<BenchNetwork, BenchError> {
    let network = Network::load(
        dir,
        &LoadOptions {
            precision: options.precision,
            quantize: options.quantize,
            ..LoadOptions::default()
        },
    )?;
    let generation = &network.generation;
    let (pad, start) = (generation.pad_token_id, generation.decoder_start_token_id);
    let eos = generation.eos_token_ids.first().copied().unwrap_or(pad);
    Ok(BenchNetwork {
        model: network.model,
        pad,
        eos,
        start,
    })
}

fn random_model(options: &BenchOptions) -> candle_core::Result<BenchNetwork> {
    let device = Device::Cpu;
    let dtype = options.precision.dtype();
    let (model, pad, eos, start): (Box<dyn EncoderDecoder>, u32, u32, u32) = match options.model {
        BenchModel::OpusMt => {
            let config = opus_mt_base_config();
            let (pad, eos) = (config.pad_token_id, config.eos_token_id);
            let model = random_weights(dtype, &device, options.quantize, &[], |w| {
                Marian::load(config.clone(), w)
            })?;
            (Box::new(model), pad, eos, pad)
        }
        BenchModel::Nllb600m => {
            let config = nllb_600m_config();
            let (pad, eos) = (config.pad_token_id, config.eos_token_id);
            let model = random_weights(dtype, &device, options.quantize, &[], |w| {
                M2M100::load(config.clone(), w)
            })?;
            (Box::new(model), pad, eos, eos)
        }
        BenchModel::BanglaT5 => {
            let config = banglat5_config();
            let shared = [("shared.weight", (config.vocab_size, config.d_model))];
            let model = random_weights(dtype, &device, options.quantize, &shared, |w| {
                T5::load(config.clone(), w)
            })?;
            (Box::new(model), 0, 1, 0)
        }
        BenchModel::Qwen25Q4km => {
            candle_core::bail!("chat models are measured by bench_chat::run, not here")
        }
    };
    Ok(BenchNetwork {
        model,
        pad,
        eos,
        start,
    })
}

pub fn run(
    options: &BenchOptions,
    log: &mut dyn FnMut(String),
) -> Result<Vec<BenchRow>, BenchError> {
    let started = Instant::now();
    let BenchNetwork {
        model,
        pad,
        eos,
        start,
    } = match &options.model_dir {
        Some(dir) => {
            let network = load_model_dir(dir, options)?;
            log(format!(
                "model {} loaded in {:.1}s",
                dir.display(),
                started.elapsed().as_secs_f64()
            ));
            network
        }
        None => {
            let network = random_model(options)?;
            log(format!(
                "random model ({}) built in {:.1}s",
                options.model.describe(),
                started.elapsed().as_secs_f64()
            ));
            network
        }
    };
    // No end token and no forced end: every sentence generates exactly
    // `output_tokens` tokens, whatever the random weights prefer.
    let generation = GenerationConfig {
        num_beams: options.beams.max(1),
        max_length: options.output_tokens + 1,
        min_length: 0,
        decoder_start_token_id: start,
        eos_token_ids: Vec::new(),
        pad_token_id: pad,
        forced_bos_token_id: None,
        forced_eos_token_ids: Vec::new(),
        bad_words_ids: vec![vec![pad]],
        no_repeat_ngram_size: 0,
        repetition_penalty: 1.0,
        length_penalty: 1.0,
        early_stopping: EarlyStopping::Heuristic,
    };
    let model = model.as_ref();
    let inputs = match &options.source_ids {
        Some(ids) => {
            ids.check_vocabulary(model.vocab_size())?;
            ids.sentences.clone()
        }
        None => sources(
            options.sentences,
            options.source_tokens,
            model.vocab_size() as u32,
            eos,
        ),
    };
    // One warm-up batch so that first-touch page faults are not timed.
    generate(model, &inputs[..1.min(inputs.len())], &generation)?;
    let mut rows = Vec::new();
    for &batch_size in &options.batch_sizes {
        let started = Instant::now();
        let mut tokens = 0usize;
        for batch in inputs.chunks(batch_size.max(1)) {
            for sequence in generate(model, batch, &generation)? {
                tokens += sequence.len() - 1;
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let row = BenchRow {
            batch_size,
            seconds,
            sentences_per_second: inputs.len() as f64 / seconds,
            tokens_per_second: tokens as f64 / seconds,
            peak_rss_mib: peak_rss_mib(),
        };
        log(format!(
            "batch {:>3}: {:.2}s, {:.1} sentences/s, {:.1} target tokens/s",
            row.batch_size, row.seconds, row.sentences_per_second, row.tokens_per_second
        ));
        rows.push(row);
    }
    Ok(rows)
}

pub fn markdown_table(options: &BenchOptions, rows: &[BenchRow]) -> String {
    let model = match &options.model_dir {
        Some(dir) => format!("Model directory {}", dir.display()),
        None => options.model.describe().to_string(),
    };
    let inputs = match &options.source_ids {
        Some(ids) => format!(
            "{} sentences of {} from {}",
            ids.sentences.len(),
            ids.describe_lengths(),
            ids.path.display()
        ),
        None => format!(
            "{} sentences of {} tokens",
            options.sentences, options.source_tokens
        ),
    };
    let mut table = format!(
        "{model}, {}{}: {inputs}, {} output tokens each, beams {}, threads {}\n\n\
         | batch | seconds | sentences/s | target tokens/s | peak RSS (MiB) |\n\
         |---:|---:|---:|---:|---:|\n",
        options.precision.name(),
        options
            .quantize
            .map(|q| format!(", linear layers {}", q.name()))
            .unwrap_or_default(),
        options.output_tokens,
        options.beams,
        candle_core::utils::get_num_threads()
    );
    for row in rows {
        table.push_str(&format!(
            "| {} | {:.2} | {:.1} | {:.1} | {} |\n",
            row.batch_size,
            row.seconds,
            row.sentences_per_second,
            row.tokens_per_second,
            row.peak_rss_mib
                .map(|m| format!("{m:.0}"))
                .unwrap_or_else(|| "-".into())
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_ids_are_read_a_sentence_a_line() {
        let ids = SourceIds::parse(Path::new("ids.txt"), "5 6 0\n\n  7 8 9 0 \n").unwrap();
        assert_eq!(ids.sentences, vec![vec![5, 6, 0], vec![7, 8, 9, 0]]);
        assert_eq!(ids.describe_lengths(), "3–4 tokens");
        let error = SourceIds::parse(Path::new("ids.txt"), "5 6\n5 -1\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "ids.txt, line 2: \"-1\" is not a token id"
        );
        assert!(SourceIds::parse(Path::new("ids.txt"), "\n").is_err());
        assert!(ids.check_vocabulary(10).is_ok());
        assert!(ids.check_vocabulary(9).is_err());
    }
}
