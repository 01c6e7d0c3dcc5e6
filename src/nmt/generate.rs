//! Greedy and beam search for every encoder-decoder family, written once.
//!
//! The bar is token-for-token equality with transformers' `generate()`
//! (version pinned in `scripts/requirements-fixtures.txt`): the same logits
//! processors in the same order, the same f32 arithmetic for beam scores
//! (including its -1e9 sentinels), the same length normalisation and
//! early-stopping rules. Each source sentence is searched independently; a
//! sentence whose search is over is dropped from the batch, which transformers
//! does not do but which cannot change any result, only save work.

use std::path::Path;

use candle_core::Tensor;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::kernels::cpu_f32;
use crate::nmt::row_scores::{best_continuations, best_token, top_k};
use crate::nmt::{DecodeSession, EncoderDecoder};

/// transformers' "minus infinity but finite" used to retire beams.
const RETIRED: f32 = -1.0e9;

/// transformers' `early_stopping`: `False` (stop when the heuristic says no
/// running beam can beat the finished ones), `True` (stop as soon as
/// `num_beams` hypotheses are finished) or `"never"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum EarlyStopping {
    #[default]
    Heuristic,
    Finish,
    Never,
}

impl EarlyStopping {
    fn from_json(value: &Value) -> Option<Self> {
        match value {
            Value::Bool(true) => Some(Self::Finish),
            Value::Bool(false) => Some(Self::Heuristic),
            Value::String(s) if s == "never" => Some(Self::Never),
            _ => None,
        }
    }
}

/// Decoding settings, read like transformers reads them: from
/// `generation_config.json`, falling back to `config.json`, then to
/// transformers' defaults; command-line flags override.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct GenerationConfig {
    pub(crate) num_beams: usize,
    pub(crate) max_length: usize,
    pub(crate) min_length: usize,
    pub(crate) decoder_start_token_id: u32,
    pub(crate) eos_token_ids: Vec<u32>,
    pub(crate) pad_token_id: u32,
    pub(crate) forced_bos_token_id: Option<u32>,
    pub(crate) forced_eos_token_ids: Vec<u32>,
    pub(crate) bad_words_ids: Vec<Vec<u32>>,
    pub(crate) no_repeat_ngram_size: usize,
    pub(crate) repetition_penalty: f32,
    pub(crate) length_penalty: f32,
    pub(crate) early_stopping: EarlyStopping,
}

/// Settings a user can override from the command line.
#[derive(Debug, Clone, Default)]
pub struct GenerationOverrides {
    pub num_beams: Option<usize>,
    pub max_length: Option<usize>,
    pub no_repeat_ngram_size: Option<usize>,
    pub repetition_penalty: Option<f32>,
    pub length_penalty: Option<f32>,
    pub early_stopping: Option<EarlyStopping>,
}

#[derive(Debug, thiserror::Error)]
pub enum GenerationConfigError {
    #[error("cannot read {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not valid JSON")]
    Parse {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

fn ids(value: Option<&Value>) -> Vec<u32> {
    match value {
        Some(Value::Number(n)) => n.as_u64().map(|v| vec![v as u32]).unwrap_or_default(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_u64().map(|v| v as u32))
            .collect(),
        _ => Vec::new(),
    }
}

fn read_json(path: &Path) -> Result<Value, GenerationConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| GenerationConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| GenerationConfigError::Parse {
        path: path.display().to_string(),
        source,
    })
}

impl GenerationConfig {
    /// Reads a model's `config.json` and, when it has one,
    /// `generation_config.json`.
    pub(crate) fn from_files(
        config: &Path,
        generation: Option<&Path>,
    ) -> Result<Self, GenerationConfigError> {
        let model = read_json(config)?;
        let generation = match generation {
            Some(path) => read_json(path)?,
            None => Value::Null,
        };
        Self::from_json(&generation, &model)
    }

    /// `generation` wins over `model` key by key, as transformers'
    /// `GenerationConfig.from_model_config` does for models without a
    /// generation config.
    pub(crate) fn from_json(
        generation: &Value,
        model: &Value,
    ) -> Result<Self, GenerationConfigError> {
        let get = |key: &str| {
            generation
                .get(key)
                .filter(|v| !v.is_null())
                .or_else(|| model.get(key).filter(|v| !v.is_null()))
        };
        let int = |key: &str| get(key).and_then(Value::as_u64);
        let float = |key: &str| get(key).and_then(Value::as_f64);
        let eos_token_ids = ids(get("eos_token_id"));
        let pad_token_id = int("pad_token_id")
            .map(|v| v as u32)
            .or_else(|| eos_token_ids.first().copied())
            .ok_or_else(|| {
                GenerationConfigError::Invalid("no pad_token_id or eos_token_id".into())
            })?;
        let decoder_start_token_id = int("decoder_start_token_id")
            .map(|v| v as u32)
            .or_else(|| int("bos_token_id").map(|v| v as u32))
            .ok_or_else(|| {
                GenerationConfigError::Invalid(
                    "no decoder_start_token_id in the model config".into(),
                )
            })?;
        let bad_words_ids = match get("bad_words_ids") {
            Some(Value::Array(lists)) => lists.iter().map(|l| ids(Some(l))).collect(),
            _ => Vec::new(),
        };
        Ok(Self {
            num_beams: int("num_beams").unwrap_or(1).max(1) as usize,
            max_length: int("max_length").unwrap_or(20) as usize,
            min_length: int("min_length").unwrap_or(0) as usize,
            decoder_start_token_id,
            eos_token_ids,
            pad_token_id,
            forced_bos_token_id: int("forced_bos_token_id").map(|v| v as u32),
            forced_eos_token_ids: ids(get("forced_eos_token_id")),
            bad_words_ids,
            no_repeat_ngram_size: int("no_repeat_ngram_size").unwrap_or(0) as usize,
            repetition_penalty: float("repetition_penalty").unwrap_or(1.0) as f32,
            length_penalty: float("length_penalty").unwrap_or(1.0) as f32,
            early_stopping: get("early_stopping")
                .and_then(EarlyStopping::from_json)
                .unwrap_or_default(),
        })
    }

    pub(crate) fn apply(&mut self, overrides: &GenerationOverrides) {
        if let Some(v) = overrides.num_beams {
            self.num_beams = v.max(1);
        }
        if let Some(v) = overrides.max_length {
            self.max_length = v;
        }
        if let Some(v) = overrides.no_repeat_ngram_size {
            self.no_repeat_ngram_size = v;
        }
        if let Some(v) = overrides.repetition_penalty {
            self.repetition_penalty = v;
        }
        if let Some(v) = overrides.length_penalty {
            self.length_penalty = v;
        }
        if let Some(v) = overrides.early_stopping {
            self.early_stopping = v;
        }
    }

    /// Canonical JSON of every setting that can change an output: part of the
    /// cache key and written next to each translation.
    pub(crate) fn settings_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    fn is_eos(&self, token: u32) -> bool {
        self.eos_token_ids.contains(&token)
    }
}

/// Translates `sources` (token ids with the end-of-sequence token) and returns,
/// for each, the decoder sequence `generate()` would return: the start token,
/// the generated tokens and, when it finished, the end token.
pub(crate) fn generate(
    model: &dyn EncoderDecoder,
    sources: &[Vec<u32>],
    config: &GenerationConfig,
) -> candle_core::Result<Vec<Vec<u32>>> {
    if sources.is_empty() {
        return Ok(Vec::new());
    }
    if config.max_length < 2 {
        candle_core::bail!("max_length must be at least 2, got {}", config.max_length);
    }
    if config.num_beams <= 1 {
        greedy(model, sources, config)
    } else {
        beam_search(model, sources, config)
    }
}

/// Runs `per_row(r, logits of row r)` for every row of a step's logits
/// `[rows, vocab]`, rows in parallel, reading the logits where they are
/// (no per-row copies) when they are on the CPU.
fn for_rows<T: Send>(
    logits: &Tensor,
    per_row: impl Fn(usize, &[f32]) -> T + Sync,
) -> candle_core::Result<Vec<T>> {
    let logits = logits
        .to_device(&candle_core::Device::Cpu)?
        .to_dtype(candle_core::DType::F32)?
        .contiguous()?;
    let (rows, vocab) = logits.dims2()?;
    let (storage, layout) = logits.storage_and_layout();
    let Some(values) = cpu_f32(&storage, layout) else {
        candle_core::bail!("logits must be contiguous f32 on the CPU here");
    };
    Ok((0..rows)
        .into_par_iter()
        .map(|r| per_row(r, &values[r * vocab..][..vocab]))
        .collect())
}

fn greedy(
    model: &dyn EncoderDecoder,
    sources: &[Vec<u32>],
    config: &GenerationConfig,
) -> candle_core::Result<Vec<Vec<u32>>> {
    let mut session = model.start(sources, 1)?;
    let mut sequences: Vec<Vec<u32>> = vec![vec![config.decoder_start_token_id]; sources.len()];
    let mut live: Vec<usize> = (0..sources.len()).collect();
    while !live.is_empty() {
        let feed: Vec<Vec<u32>> = live
            .iter()
            .map(|&s| {
                vec![*sequences[s]
                    .last()
                    .unwrap_or(&config.decoder_start_token_id)]
            })
            .collect();
        let tokens = for_rows(&session.step(&feed)?, |row, logits| {
            best_token(config, &sequences[live[row]], logits)
        })?;
        let mut keep = Vec::with_capacity(live.len());
        for (row, (&source, token)) in live.iter().zip(tokens).enumerate() {
            sequences[source].push(token);
            let done = config.is_eos(token) || sequences[source].len() >= config.max_length;
            if !done {
                keep.push(row);
            }
        }
        if keep.len() != live.len() {
            let still: Vec<usize> = keep.iter().map(|&r| live[r]).collect();
            if !still.is_empty() {
                let rows: Vec<u32> = keep.iter().map(|&r| r as u32).collect();
                session.select_rows(&rows)?;
            }
            live = still;
        }
    }
    Ok(sequences)
}

#[derive(Clone)]
struct Hypothesis {
    tokens: Vec<u32>,
    score: f32,
}

/// Beam state of one source sentence, mirroring transformers' per-batch-item
/// tensors (`running_*`, `sequences`, `beam_scores`, `is_sent_finished`).
struct BeamItem {
    running: Vec<Hypothesis>,
    finished: Vec<(Hypothesis, bool)>,
    improvement_possible: bool,
}

impl BeamItem {
    fn new(config: &GenerationConfig) -> Self {
        let start = vec![config.decoder_start_token_id];
        let running = (0..config.num_beams)
            .map(|k| Hypothesis {
                tokens: start.clone(),
                score: if k == 0 { 0.0 } else { RETIRED },
            })
            .collect();
        let finished = (0..config.num_beams)
            .map(|_| {
                (
                    Hypothesis {
                        tokens: start.clone(),
                        score: RETIRED,
                    },
                    false,
                )
            })
            .collect();
        Self {
            running,
            finished,
            improvement_possible: true,
        }
    }

    fn all_finished(&self) -> bool {
        self.finished.iter().all(|(_, done)| *done)
    }

    /// Once true, transformers can no longer change this item's finished
    /// hypotheses, so it can leave the batch.
    fn frozen(&self, config: &GenerationConfig) -> bool {
        !self.improvement_possible
            || (config.early_stopping == EarlyStopping::Finish && self.all_finished())
    }
}

/// transformers computes `sum_logprobs / (len ** length_penalty)` with the
/// power in f64 (Python) and the division in f32 (torch).
fn length_normalised(score: f32, length: usize, length_penalty: f32) -> f32 {
    score / (length as f64).powf(length_penalty as f64) as f32
}

fn beam_search(
    model: &dyn EncoderDecoder,
    sources: &[Vec<u32>],
    config: &GenerationConfig,
) -> candle_core::Result<Vec<Vec<u32>>> {
    let beams = config.num_beams;
    let keep_count = 2usize.max(1 + config.eos_token_ids.len()) * beams;
    let mut session: Box<dyn DecodeSession + '_> = model.start(sources, beams)?;
    let mut items: Vec<BeamItem> = sources.iter().map(|_| BeamItem::new(config)).collect();
    let mut live: Vec<usize> = (0..sources.len()).collect();
    // Length of every running hypothesis (they all grow together).
    let mut cur_len = 1usize;
    while !live.is_empty() {
        let feed: Vec<Vec<u32>> = live
            .iter()
            .flat_map(|&s| {
                items[s]
                    .running
                    .iter()
                    .map(|h| vec![*h.tokens.last().unwrap_or(&0)])
            })
            .collect();
        let logits = session.step(&feed)?;
        let vocab = logits.dim(1)?;
        // b. and c. per row, in parallel: log-probs, processors, plus the
        // running score, and the row's best `keep_count`. The best of an
        // item's rows together are the item's best over all its beams.
        let mut row_best = for_rows(&logits, |row, logits| {
            let hyp = &items[live[row / beams]].running[row % beams];
            best_continuations(config, &hyp.tokens, hyp.score, logits, keep_count)
        })?;
        let mut reorder: Vec<u32> = Vec::with_capacity(live.len() * beams);
        let mut still_live = Vec::with_capacity(live.len());
        let mut hit_max_length = false;
        for (slot, &source) in live.iter().enumerate() {
            let item = &mut items[source];
            // c. top-k continuations over all beams: as `top_k` over the
            // concatenated rows, ties in index (beam, then token) order.
            let mut merged: Vec<(usize, f32)> = (0..beams)
                .flat_map(|k| {
                    std::mem::take(&mut row_best[slot * beams + k])
                        .into_iter()
                        .map(move |(token, score)| (k * vocab + token, score))
                })
                .collect();
            merged.sort_by(|a, b| {
                b.1.partial_cmp(&a.1)
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then(a.0.cmp(&b.0))
            });
            merged.truncate(keep_count);
            let candidates: Vec<(usize, Hypothesis, bool)> = merged
                .into_iter()
                .map(|(flat, score)| {
                    let (beam, token) = (flat / vocab, (flat % vocab) as u32);
                    let mut tokens = item.running[beam].tokens.clone();
                    tokens.push(token);
                    // d. stopping criteria: EOS, or max_length reached.
                    let stops = config.is_eos(token) || tokens.len() >= config.max_length;
                    (beam, Hypothesis { tokens, score }, stops)
                })
                .collect();
            // e. the best non-finished continuations keep running.
            let running_scores: Vec<f32> = candidates
                .iter()
                .map(|(_, h, stops)| h.score + if *stops { RETIRED } else { 0.0 })
                .collect();
            let next: Vec<usize> = top_k(running_scores.iter().copied(), beams)
                .into_iter()
                .map(|(i, _)| i)
                .collect();
            for &i in &next {
                reorder.push((slot * beams + candidates[i].0) as u32);
            }
            let new_running: Vec<Hypothesis> = next
                .iter()
                .map(|&i| Hypothesis {
                    tokens: candidates[i].1.tokens.clone(),
                    score: running_scores[i],
                })
                .collect();
            // f. merge newly finished hypotheses into the finished set.
            let beams_full = config.early_stopping == EarlyStopping::Finish && item.all_finished();
            let mut merged: Vec<(Hypothesis, bool)> = item.finished.clone();
            for (i, (_, hyp, stops)) in candidates.iter().enumerate() {
                let just_finished = *stops && i < beams;
                let mut score = length_normalised(hyp.score, cur_len, config.length_penalty);
                if beams_full {
                    score += RETIRED;
                }
                if !item.improvement_possible {
                    score += RETIRED;
                }
                if !just_finished {
                    score += RETIRED;
                }
                merged.push((
                    Hypothesis {
                        tokens: hyp.tokens.clone(),
                        score,
                    },
                    just_finished,
                ));
            }
            item.finished = top_k(merged.iter().map(|(h, _)| h.score), beams)
                .into_iter()
                .map(|(i, _)| merged[i].clone())
                .collect();
            item.running = new_running;
            if candidates.iter().all(|(_, _, stops)| *stops) {
                hit_max_length = true;
            }
            // g. the early-stopping heuristic, after cur_len += 1.
            let best_length =
                if config.early_stopping == EarlyStopping::Never && config.length_penalty > 0.0 {
                    config.max_length - 1
                } else {
                    cur_len
                };
            let best_running =
                length_normalised(item.running[0].score, best_length, config.length_penalty);
            let worst = item
                .finished
                .iter()
                .map(|(h, _)| h.score)
                .fold(f32::INFINITY, f32::min);
            let can_improve = item
                .finished
                .iter()
                .any(|(_, done)| best_running > if *done { worst } else { RETIRED });
            item.improvement_possible &= can_improve;
            if !item.frozen(config) {
                still_live.push(slot);
            }
        }
        cur_len += 1;
        if hit_max_length || cur_len >= config.max_length {
            break;
        }
        if still_live.len() != live.len() {
            let rows: Vec<u32> = still_live
                .iter()
                .flat_map(|&slot| reorder[slot * beams..(slot + 1) * beams].iter().copied())
                .collect();
            live = still_live.iter().map(|&slot| live[slot]).collect();
            if live.is_empty() {
                break;
            }
            session.select_rows(&rows)?;
        } else {
            session.select_rows(&reorder)?;
        }
    }
    Ok(items
        .into_iter()
        .map(|item| {
            item.finished
                .into_iter()
                .next()
                .map(|(h, _)| h.tokens)
                .unwrap_or_default()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_config_falls_back_to_model_config() {
        let c = GenerationConfig::from_json(
            &serde_json::json!({"num_beams": 6}),
            &serde_json::json!({"num_beams": 2, "max_length": 512, "eos_token_id": 0,
                                 "pad_token_id": 5, "decoder_start_token_id": 5,
                                 "early_stopping": true}),
        )
        .unwrap();
        assert_eq!(c.num_beams, 6);
        assert_eq!(c.max_length, 512);
        assert_eq!(c.early_stopping, EarlyStopping::Finish);
        assert_eq!(c.length_penalty, 1.0);
    }
}
