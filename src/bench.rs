//! `anubad bench`: translation speed on a Marian model of opus-mt-bn-en's
//! real size (d_model 512, 6+6 layers, 8 heads, ffn 2048, vocabulary 58101)
//! with random weights and a fixed output length, so that anyone can rerun it
//! without downloading anything and compare numbers from one run.

use std::time::Instant;

use candle_core::{DType, Device};
use candle_nn::{VarBuilder, VarMap};

use crate::generate::{generate, EarlyStopping, GenerationConfig};
use crate::seq2seq::marian::{Marian, MarianConfig};
use crate::weights::Weights;

pub struct BenchOptions {
    pub batch_sizes: Vec<usize>,
    pub sentences: usize,
    pub source_tokens: usize,
    pub output_tokens: usize,
    pub beams: usize,
}

#[derive(Debug, Clone)]
pub struct BenchRow {
    pub batch_size: usize,
    pub seconds: f64,
    pub sentences_per_second: f64,
    pub tokens_per_second: f64,
    /// Peak resident memory of the process so far, in MiB (Linux only).
    pub peak_rss_mib: Option<f64>,
}

/// opus-mt-bn-en's dimensions, from its config.json.
pub fn opus_mt_base_config() -> MarianConfig {
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

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Deterministic pseudo-random source ids, each ending in the end-of-sequence
/// id 0 as a tokenized sentence does (ids 1.. elsewhere, so none mid-sentence).
fn sources(count: usize, length: usize, vocab: u32) -> Vec<Vec<u32>> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..count)
        .map(|_| {
            let mut ids: Vec<u32> = (0..length.saturating_sub(1))
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    1 + (state % (vocab as u64 - 2)) as u32
                })
                .collect();
            ids.push(0);
            ids
        })
        .collect()
}

pub fn run(
    options: &BenchOptions,
    log: &mut dyn FnMut(String),
) -> candle_core::Result<Vec<BenchRow>> {
    let device = Device::Cpu;
    let config = opus_mt_base_config();
    let varmap = VarMap::new();
    let started = Instant::now();
    // Loading through a VarMap creates the random weights as trainable
    // variables; candle then records every result's inputs for backprop,
    // which would keep each step's KV cache alive. Real weights (safetensors,
    // pytorch_model.bin) are plain tensors, so the benchmark uses those too.
    Marian::load(
        config.clone(),
        Weights::from_var_builder(VarBuilder::from_varmap(&varmap, DType::F32, &device), None),
    )?;
    let weights = varmap
        .data()
        .lock()
        .map_err(|_| candle_core::Error::Msg("weights lock poisoned".into()))?
        .iter()
        .map(|(name, var)| (name.clone(), var.as_tensor().detach()))
        .collect();
    let model = Marian::load(
        config.clone(),
        Weights::from_var_builder(VarBuilder::from_tensors(weights, DType::F32, &device), None),
    )?;
    log(format!(
        "random opus-mt-sized model built in {:.1}s",
        started.elapsed().as_secs_f64()
    ));
    // No end token and no forced end: every sentence generates exactly
    // `output_tokens` tokens, whatever the random weights prefer.
    let generation = GenerationConfig {
        num_beams: options.beams.max(1),
        max_length: options.output_tokens + 1,
        min_length: 0,
        decoder_start_token_id: config.pad_token_id,
        eos_token_ids: Vec::new(),
        pad_token_id: config.pad_token_id,
        forced_bos_token_id: None,
        forced_eos_token_ids: Vec::new(),
        bad_words_ids: vec![vec![config.pad_token_id]],
        no_repeat_ngram_size: 0,
        repetition_penalty: 1.0,
        length_penalty: 1.0,
        early_stopping: EarlyStopping::Heuristic,
    };
    let inputs = sources(
        options.sentences,
        options.source_tokens,
        config.vocab_size as u32,
    );
    // One warm-up batch so that first-touch page faults are not timed.
    generate(&model, &inputs[..1.min(inputs.len())], &generation)?;
    let mut rows = Vec::new();
    for &batch_size in &options.batch_sizes {
        let started = Instant::now();
        let mut tokens = 0usize;
        for batch in inputs.chunks(batch_size.max(1)) {
            for sequence in generate(&model, batch, &generation)? {
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
    let mut table = format!(
        "{} sentences of {} tokens, {} output tokens each, beams {}, threads {}\n\n\
         | batch | seconds | sentences/s | target tokens/s | peak RSS (MiB) |\n\
         |---:|---:|---:|---:|---:|\n",
        options.sentences,
        options.source_tokens,
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
