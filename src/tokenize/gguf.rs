//! Tokenizers built from a GGUF file's metadata, as transformers'
//! GGUF conversion builds them: byte-level BPE vocabularies (Qwen, Llama 3)
//! with their pre-tokenizer regexes, and SentencePiece vocabularies (Gemma,
//! Llama 2) with merges recovered from the scores. Also the typed readers
//! of GGUF metadata values.

use std::collections::HashMap;

use candle_core::quantized::gguf_file;
use serde_json::Value as Json;
use tokenizers::Tokenizer;

use tokenizers::Error as BoxError;

/// Pre-tokenizer regexes llama.cpp uses for byte-level BPE vocabularies
/// (`tokenizer.ggml.pre`), copied from the models' own `tokenizer.json`.
const QWEN2_PRETOKENIZER_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const LLAMA3_PRETOKENIZER_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const GPT2_PRETOKENIZER_REGEX: &str =
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

/// An unsigned integer metadata value, whatever width the converter chose.
pub(crate) fn metadata_uint(
    metadata: &HashMap<String, gguf_file::Value>,
    key: &str,
) -> Option<usize> {
    use gguf_file::Value;
    let value = match metadata.get(key)? {
        Value::U8(v) => u64::from(*v),
        Value::U16(v) => u64::from(*v),
        Value::U32(v) => u64::from(*v),
        Value::U64(v) => *v,
        Value::I8(v) => u64::try_from(*v).ok()?,
        Value::I16(v) => u64::try_from(*v).ok()?,
        Value::I32(v) => u64::try_from(*v).ok()?,
        Value::I64(v) => u64::try_from(*v).ok()?,
        _ => return None,
    };
    usize::try_from(value).ok()
}

fn metadata_strings(
    metadata: &HashMap<String, gguf_file::Value>,
    key: &str,
) -> Result<Vec<String>, BoxError> {
    let values = metadata
        .get(key)
        .ok_or_else(|| format!("no {key} in the GGUF metadata"))?
        .to_vec()?;
    values
        .iter()
        .map(|v| -> Result<String, BoxError> { Ok(v.to_string()?.clone()) })
        .collect()
}

fn metadata_f32s(metadata: &HashMap<String, gguf_file::Value>, key: &str) -> Option<Vec<f32>> {
    metadata
        .get(key)?
        .to_vec()
        .ok()?
        .iter()
        .map(|v| v.to_f32().ok())
        .collect()
}

/// llama.cpp token types (`tokenizer.ggml.token_type`).
const TOKEN_TYPE_CONTROL: i64 = 3;
const TOKEN_TYPE_USER_DEFINED: i64 = 4;

/// Builds the tokenizer a GGUF file describes (`tokenizer.ggml.model`):
/// byte-level BPE (`gpt2`: Qwen, Llama 3) or SentencePiece BPE (`llama`:
/// Gemma, Llama 2, Mistral).
pub(crate) fn tokenizer_from_gguf(
    metadata: &HashMap<String, gguf_file::Value>,
) -> Result<Tokenizer, BoxError> {
    let model = metadata
        .get("tokenizer.ggml.model")
        .ok_or("no tokenizer.json and no tokenizer.ggml.model in the GGUF metadata")?
        .to_string()?;
    match model.as_str() {
        "gpt2" => byte_level_tokenizer_from_gguf(metadata),
        "llama" => sentencepiece_tokenizer_from_gguf(metadata),
        other => Err(format!(
            "GGUF tokenizer model {other:?} is not supported (gpt2 and llama are); \
             put the model's tokenizer.json beside the GGUF file"
        )
        .into()),
    }
}

/// `tokenizer.ggml.token_type`, or nothing when the file has none.
fn metadata_token_types(
    metadata: &HashMap<String, gguf_file::Value>,
) -> Result<Vec<i64>, BoxError> {
    let Some(value) = metadata.get("tokenizer.ggml.token_type") else {
        return Ok(Vec::new());
    };
    Ok(value
        .to_vec()?
        .iter()
        .map(|v| match v {
            gguf_file::Value::I32(t) => i64::from(*t),
            gguf_file::Value::U32(t) => i64::from(*t),
            _ => 1,
        })
        .collect())
}

/// The byte-level BPE tokenizer of a `gpt2` GGUF vocabulary, the way
/// llama.cpp tokenizes it: control and user-defined tokens matched whole,
/// the text split by the pre-tokenizer regex named by `tokenizer.ggml.pre`,
/// then byte-level BPE.
fn byte_level_tokenizer_from_gguf(
    metadata: &HashMap<String, gguf_file::Value>,
) -> Result<Tokenizer, BoxError> {
    let tokens = metadata_strings(metadata, "tokenizer.ggml.tokens")?;
    let merges = metadata_strings(metadata, "tokenizer.ggml.merges")?;
    let token_types = metadata_token_types(metadata)?;
    let pre = metadata
        .get("tokenizer.ggml.pre")
        .and_then(|v| v.to_string().ok())
        .map(String::as_str)
        .unwrap_or("default");
    let (regex, ignore_merges, nfc) = match pre {
        "qwen2" | "deepseek-r1-qwen" => (QWEN2_PRETOKENIZER_REGEX, false, true),
        "llama3" | "llama-bpe" | "smaug-bpe" => (LLAMA3_PRETOKENIZER_REGEX, true, false),
        _ => (GPT2_PRETOKENIZER_REGEX, false, false),
    };

    let mut vocab = serde_json::Map::with_capacity(tokens.len());
    let mut added_tokens = Vec::new();
    for (id, token) in tokens.iter().enumerate() {
        vocab.insert(token.clone(), Json::from(id));
        let token_type = token_types.get(id).copied().unwrap_or(1);
        if token_type == TOKEN_TYPE_CONTROL || token_type == TOKEN_TYPE_USER_DEFINED {
            added_tokens.push(serde_json::json!({
                "id": id,
                "content": token,
                "single_word": false,
                "lstrip": false,
                "rstrip": false,
                "normalized": false,
                "special": token_type == TOKEN_TYPE_CONTROL,
            }));
        }
    }
    let normalizer = if nfc {
        serde_json::json!({ "type": "NFC" })
    } else {
        Json::Null
    };
    let spec = serde_json::json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added_tokens,
        "normalizer": normalizer,
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {
                    "type": "Split",
                    "pattern": { "Regex": regex },
                    "behavior": "Isolated",
                    "invert": false
                },
                {
                    "type": "ByteLevel",
                    "add_prefix_space": false,
                    "trim_offsets": false,
                    "use_regex": false
                }
            ]
        },
        "post_processor": null,
        "decoder": {
            "type": "ByteLevel",
            "add_prefix_space": true,
            "trim_offsets": true,
            "use_regex": true
        },
        "model": {
            "type": "BPE",
            "dropout": null,
            "unk_token": null,
            "continuing_subword_prefix": null,
            "end_of_word_suffix": null,
            "fuse_unk": false,
            "byte_fallback": false,
            "ignore_merges": ignore_merges,
            "vocab": vocab,
            "merges": merges,
        }
    });
    let text = serde_json::to_string(&spec)?;
    text.parse::<Tokenizer>()
}

/// The tokenizer transformers builds from a SentencePiece BPE vocabulary in
/// a GGUF file (`integrations/gguf/gguf_tokenizer_mapping.py`, transformers
/// 5.x): BPE with byte fallback over merges recovered from the vocabulary,
/// control tokens (type 3) kept whole as special tokens and user-defined
/// ones (type 4) as plain added tokens.
///
/// Gemma (`gemma`, `gemma2`, `gemma3`) gets `GemmaTokenizer`'s pipeline:
/// spaces become "▁" with no prefix, merges ranked by file position (Gemma's
/// scores do not follow its merge order), and whitespace-run tokens, which
/// llama.cpp stores with real spaces, spelled with "▁" again. Other
/// architectures get `LlamaTokenizer`'s: a "▁" prefix on the first word
/// (stripped again when decoding) and merges ranked by score. Unlike
/// transformers, which always adds that prefix, a file saying
/// `tokenizer.ggml.add_space_prefix = false` gets none, as in llama.cpp.
fn sentencepiece_tokenizer_from_gguf(
    metadata: &HashMap<String, gguf_file::Value>,
) -> Result<Tokenizer, BoxError> {
    use tokenizers::decoders::byte_fallback::ByteFallback;
    use tokenizers::decoders::fuse::Fuse;
    use tokenizers::decoders::sequence::Sequence as DecoderSequence;
    use tokenizers::decoders::strip::Strip;
    use tokenizers::models::bpe::{Vocab, BPE};
    use tokenizers::normalizers::Replace;
    use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
    use tokenizers::pre_tokenizers::split::Split;
    use tokenizers::{AddedToken, DecoderWrapper, SplitDelimiterBehavior};

    let architecture = metadata
        .get("general.architecture")
        .and_then(|v| v.to_string().ok())
        .map(String::as_str)
        .unwrap_or_default();
    let gemma = matches!(architecture, "gemma" | "gemma2" | "gemma3");
    let file_tokens = metadata_strings(metadata, "tokenizer.ggml.tokens")?;
    let token_types = metadata_token_types(metadata)?;
    let tokens: Vec<String> = if gemma {
        file_tokens
            .iter()
            .map(|token| spell_whitespace_run(token))
            .collect()
    } else {
        file_tokens.clone()
    };
    let scores = if gemma {
        None
    } else {
        metadata_f32s(metadata, "tokenizer.ggml.scores")
    };
    let ranks: Vec<f64> = match scores {
        Some(scores) if scores.len() == tokens.len() => scores.into_iter().map(f64::from).collect(),
        // Earlier in the file is merged first.
        _ => (0..tokens.len()).map(|index| -(index as f64)).collect(),
    };
    let merges = merges_from_vocabulary(&tokens, &ranks);

    let mut vocab = Vocab::default();
    for (id, token) in tokens.iter().enumerate() {
        // A repeated token keeps its last id, as in a Python dict.
        vocab.insert(token.clone(), u32::try_from(id)?);
    }
    let unk_token = metadata_uint(metadata, "tokenizer.ggml.unknown_token_id")
        .and_then(|id| tokens.get(id))
        .cloned()
        .unwrap_or_else(|| "<unk>".to_string());
    let mut bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .byte_fallback(true)
        .fuse_unk(true);
    if tokens.contains(&unk_token) {
        bpe = bpe.unk_token(unk_token);
    }
    let mut tokenizer = Tokenizer::new(bpe.build()?);

    let mut decoders = vec![
        DecoderWrapper::Replace(Replace::new("▁", " ")?),
        DecoderWrapper::ByteFallback(ByteFallback::new()),
        DecoderWrapper::Fuse(Fuse::new()),
    ];
    if gemma {
        tokenizer.with_normalizer(Some(Replace::new(" ", "▁")?))?;
        // Splits nothing once spaces are "▁"; kept to match GemmaTokenizer.
        tokenizer.with_pre_tokenizer(Some(Split::new(
            " ",
            SplitDelimiterBehavior::MergedWithPrevious,
            false,
        )?));
    } else {
        let add_space_prefix = !matches!(
            metadata.get("tokenizer.ggml.add_space_prefix"),
            Some(gguf_file::Value::Bool(false))
        );
        let prepend = if add_space_prefix {
            PrependScheme::First
        } else {
            PrependScheme::Never
        };
        tokenizer.with_pre_tokenizer(Some(Metaspace::new('▁', prepend, false)));
        if add_space_prefix {
            decoders.push(DecoderWrapper::Strip(Strip::new(' ', 1, 0)));
        }
    }
    tokenizer.with_decoder(Some(DecoderSequence::new(decoders)));

    let token_types = &token_types;
    let typed = |wanted: i64| {
        file_tokens
            .iter()
            .zip(&tokens)
            .enumerate()
            .filter(move |(id, _)| token_types.get(*id).copied() == Some(wanted))
            .map(|(_, pair)| pair)
    };
    let control: Vec<AddedToken> = typed(TOKEN_TYPE_CONTROL)
        .map(|(_, token)| AddedToken::from(token.clone(), true).normalized(false))
        .collect();
    // A user-defined token respelled for Gemma is reached through merges,
    // not matched whole, as in transformers.
    let user_defined: Vec<AddedToken> = typed(TOKEN_TYPE_USER_DEFINED)
        .filter(|(file_token, token)| file_token == token)
        .map(|(_, token)| AddedToken::from(token.clone(), false).normalized(false))
        .collect();
    tokenizer.add_special_tokens(control)?;
    tokenizer.add_tokens(user_defined)?;
    Ok(tokenizer)
}

/// llama.cpp writes Gemma's whitespace-run tokens ("▁▁", …) with real
/// spaces; transformers spells every all-whitespace token that holds a space
/// as that many "▁" again.
pub(crate) fn spell_whitespace_run(token: &str) -> String {
    // Python's str.isspace also counts the separators U+001C..U+001F.
    let python_space = |c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c);
    if token.contains(' ') && token.chars().all(python_space) {
        "▁".repeat(token.chars().count())
    } else {
        token.to_string()
    }
}

/// transformers' `generate_merges(vocab, vocab_scores)`: every way of
/// cutting a token into two tokens of the vocabulary becomes a merge, ranked
/// by the token's score (highest first), then longer left, then longer right
/// part, ties in vocabulary order.
fn merges_from_vocabulary(tokens: &[String], ranks: &[f64]) -> Vec<(String, String)> {
    // Python dicts keyed by token: a repeated token keeps its first place in
    // the iteration order but its last id and score.
    let mut ids: HashMap<&str, usize> = HashMap::with_capacity(tokens.len());
    let mut distinct = Vec::with_capacity(tokens.len());
    for (id, token) in tokens.iter().enumerate() {
        if ids.insert(token.as_str(), id).is_none() {
            distinct.push(token.as_str());
        }
    }
    struct Candidate<'a> {
        left: &'a str,
        right: &'a str,
        rank: f64,
        left_chars: usize,
        right_chars: usize,
    }
    let mut candidates = Vec::new();
    let mut cuts = Vec::new();
    for token in distinct {
        let rank = ranks.get(ids[token]).copied().unwrap_or(f64::NEG_INFINITY);
        cuts.clear();
        for (cut, _) in token.char_indices().skip(1) {
            let (left, right) = token.split_at(cut);
            if let (Some(&left_id), Some(&right_id)) = (ids.get(left), ids.get(right)) {
                cuts.push((left_id, right_id, left, right));
            }
        }
        cuts.sort_by_key(|&(left_id, right_id, _, _)| (left_id, right_id));
        candidates.extend(cuts.iter().map(|&(_, _, left, right)| Candidate {
            left,
            right,
            rank,
            left_chars: left.chars().count(),
            right_chars: right.chars().count(),
        }));
    }
    // Stable, like Python's sort, so equal keys keep their order.
    candidates.sort_by(|a, b| {
        b.rank
            .partial_cmp(&a.rank)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(b.left_chars.cmp(&a.left_chars))
            .then(b.right_chars.cmp(&a.right_chars))
    });
    candidates
        .into_iter()
        .map(|c| (c.left.to_string(), c.right.to_string()))
        .collect()
}
