//! Tokenizer for T5-family models (BanglaT5, MADLAD-400, mT5) read from
//! `spiece.model`, without Python and without `tokenizer.json`.
//!
//! With no `tokenizer.json` in a repository, transformers 5's
//! `AutoTokenizer.from_pretrained` converts the SentencePiece model into a
//! fast tokenizer, and that conversion is not sentencepiece's own behaviour:
//!
//! - the vocabulary is the model's pieces (with their scores) followed by
//!   `<extra_id_{n-1}>` … `<extra_id_0>` (`extra_ids`, 100 unless the config
//!   says otherwise);
//! - the unknown id is always 2 (T5's layout), whatever the model says; in
//!   MADLAD-400's layout (`<unk>` 0, `<s>` 1, `</s>` 2) an unknown character
//!   therefore becomes `</s>`, and byte fallback is never used;
//! - text is normalized by the model's precompiled charsmap only, split on
//!   whitespace, and each word gets a `▁` prefix (Metaspace, "always");
//! - special tokens (named ones, the config's extra special tokens, sentinel
//!   `<extra_id_N>`s) are cut out of the raw text before normalization;
//! - `</s>` is appended.
//!
//! [`T5Tokenizer`] rebuilds that pipeline with the `tokenizers` crate from
//! `spiece.model` and `tokenizer_config.json`, so its ids equal
//! `tokenizer(text)["input_ids"]` and [`T5Tokenizer::decode`] equals
//! `decode(ids, skip_special_tokens=True)` (including
//! `clean_up_tokenization_spaces` when the config turns it on, as MADLAD's does).
//!
//! MADLAD-400 picks the target language with a `<2xx>` piece written before
//! the source text, followed by a space: `"<2en> " + text` (model card:
//! `"<2pt> I love pizza!"`). With the whitespace split the space makes no
//! difference to the ids, but it does to sentencepiece itself, so keep it.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tokenizers::decoders::metaspace::Metaspace as MetaspaceDecoder;
use tokenizers::models::unigram::Unigram;
use tokenizers::normalizers::Precompiled;
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
use tokenizers::pre_tokenizers::sequence::Sequence as PreTokenizerSequence;
use tokenizers::pre_tokenizers::whitespace::WhitespaceSplit;
use tokenizers::{AddedToken, Tokenizer};

use crate::tokenize::spm::{PieceType, SentencePieceModel, SpmError, SPACE_SYMBOL};

/// The id transformers' `T5Tokenizer` gives the Unigram model's unknown token.
const HARD_CODED_UNK_ID: usize = 2;
/// Sentinels added when the config does not say how many (`extra_ids`).
const DEFAULT_EXTRA_IDS: usize = 100;

/// Errors from loading or using a T5 tokenizer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum T5TokenizerError {
    #[error(transparent)]
    SentencePiece(#[from] SpmError),
    #[error("cannot read tokenizer config {path}")]
    ConfigIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("tokenizer config {path} is not valid JSON")]
    ConfigParse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("tokenizer config {path}: {reason}")]
    ConfigValue { path: PathBuf, reason: String },
    #[error("SentencePiece model {path} has {pieces} pieces; T5's unknown id 2 needs at least 3")]
    TooFewPieces { path: PathBuf, pieces: usize },
    #[error("cannot build the T5 tokenizer pipeline for {path}")]
    Tokenizers {
        path: PathBuf,
        #[source]
        source: tokenizers::Error,
    },
    #[error("cannot tokenize text")]
    Encode(#[source] tokenizers::Error),
    #[error("token id {id} is outside the vocabulary of {vocab_size}")]
    UnknownId { id: u32, vocab_size: usize },
}

/// Encodes source text to T5 input ids and decodes generated ids to text,
/// as transformers 5 does for a repository with `spiece.model` only.
#[derive(Clone)]
pub(crate) struct T5Tokenizer {
    tokenizer: Tokenizer,
    eos_id: u32,
    pad_id: u32,
    clean_up_tokenization_spaces: bool,
}

impl std::fmt::Debug for T5Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("T5Tokenizer")
            .field("vocab_size", &self.vocab_size())
            .field("eos_id", &self.eos_id)
            .field("pad_id", &self.pad_id)
            .field(
                "clean_up_tokenization_spaces",
                &self.clean_up_tokenization_spaces,
            )
            .finish()
    }
}

/// The settings of `tokenizer_config.json` that change tokenization.
#[derive(Debug, Default)]
struct TokenizerSettings {
    extra_ids: Option<usize>,
    /// bos / eos / unk / sep / pad / cls / mask, in transformers' order.
    named_tokens: Vec<(&'static str, String)>,
    /// `extra_special_tokens` / `additional_special_tokens`; `None` when the
    /// config has neither key, in which case the model's control and
    /// user-defined pieces are added instead.
    extra_special_tokens: Option<Vec<String>>,
    /// `added_tokens_decoder`, sorted by id.
    added_tokens: Vec<AddedToken>,
    clean_up_tokenization_spaces: bool,
}

const NAMED_TOKEN_KEYS: [&str; 7] = [
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
];

impl TokenizerSettings {
    fn read(path: &Path) -> Result<Self, T5TokenizerError> {
        let text = std::fs::read_to_string(path).map_err(|source| T5TokenizerError::ConfigIo {
            path: path.to_path_buf(),
            source,
        })?;
        let config: Value =
            serde_json::from_str(&text).map_err(|source| T5TokenizerError::ConfigParse {
                path: path.to_path_buf(),
                source,
            })?;
        let invalid = |reason: String| T5TokenizerError::ConfigValue {
            path: path.to_path_buf(),
            reason,
        };
        let object = config
            .as_object()
            .ok_or_else(|| invalid("not a JSON object".to_owned()))?;

        let extra_ids = match object.get("extra_ids") {
            None | Some(Value::Null) => None,
            Some(value) => Some(
                value
                    .as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| invalid(format!("extra_ids is not a count: {value}")))?,
            ),
        };
        let mut named_tokens = Vec::new();
        for key in NAMED_TOKEN_KEYS {
            if let Some(value) = object.get(key) {
                if let Some(content) = token_content(value) {
                    named_tokens.push((key, content));
                }
            }
        }
        // transformers 5 renamed the list; a non-empty new key wins, and the
        // mere presence of either key (even null or empty) replaces the
        // pieces the SentencePiece model would otherwise contribute.
        let list = |key: &str| object.get(key).map(token_list);
        let extra_special_tokens = match (
            list("extra_special_tokens"),
            list("additional_special_tokens"),
        ) {
            (Some(new), _) if !new.is_empty() => Some(new),
            (_, Some(old)) => Some(old),
            (new, None) => new,
        };
        let mut decoder_entries: Vec<(u32, AddedToken)> = Vec::new();
        if let Some(entries) = object
            .get("added_tokens_decoder")
            .and_then(Value::as_object)
        {
            for (id, entry) in entries {
                let id: u32 = id.parse().map_err(|_| {
                    invalid(format!("added_tokens_decoder key {id:?} is not an id"))
                })?;
                let content = token_content(entry).ok_or_else(|| {
                    invalid(format!("added_tokens_decoder entry {id} has no content"))
                })?;
                let flag = |name: &str, default: bool| {
                    entry.get(name).and_then(Value::as_bool).unwrap_or(default)
                };
                let special = flag("special", false);
                let token = AddedToken::from(content, special)
                    .normalized(flag("normalized", !special))
                    .lstrip(flag("lstrip", false))
                    .rstrip(flag("rstrip", false))
                    .single_word(flag("single_word", false));
                decoder_entries.push((id, token));
            }
        }
        decoder_entries.sort_by_key(|&(id, _)| id);
        let clean_up_tokenization_spaces = object
            .get("clean_up_tokenization_spaces")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok(Self {
            extra_ids,
            named_tokens,
            extra_special_tokens,
            added_tokens: decoder_entries
                .into_iter()
                .map(|(_, token)| token)
                .collect(),
            clean_up_tokenization_spaces,
        })
    }

    fn named(&self, key: &str) -> Option<&str> {
        self.named_tokens
            .iter()
            .find(|(name, _)| *name == key)
            .map(|(_, content)| content.as_str())
    }
}

/// A token written as a string or as a serialized `AddedToken` object.
fn token_content(value: &Value) -> Option<String> {
    match value {
        Value::String(content) => Some(content.clone()),
        Value::Object(fields) => fields
            .get("content")
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => None,
    }
}

fn token_list(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(token_content).collect())
        .unwrap_or_default()
}

impl T5Tokenizer {
    /// Loads the tokenizer from a repository's `spiece.model` and (when it
    /// has one) `tokenizer_config.json`; without a config, transformers'
    /// defaults apply (`</s>`, `<unk>`, `<pad>`, 100 sentinels).
    pub(crate) fn from_files(
        spiece: &Path,
        tokenizer_config: Option<&Path>,
    ) -> Result<Self, T5TokenizerError> {
        let model = SentencePieceModel::from_file(spiece)?;
        let settings = match tokenizer_config {
            Some(path) => TokenizerSettings::read(path)?,
            None => TokenizerSettings::default(),
        };
        Self::build(&model, &settings, spiece)
    }

    fn build(
        model: &SentencePieceModel,
        settings: &TokenizerSettings,
        source: &Path,
    ) -> Result<Self, T5TokenizerError> {
        let pipeline_error = |source_error: tokenizers::Error| T5TokenizerError::Tokenizers {
            path: source.to_path_buf(),
            source: source_error,
        };
        if model.vocab_size() <= HARD_CODED_UNK_ID {
            return Err(T5TokenizerError::TooFewPieces {
                path: source.to_path_buf(),
                pieces: model.vocab_size(),
            });
        }
        let extra_ids = settings.extra_ids.unwrap_or(DEFAULT_EXTRA_IDS);
        let sentinels: Vec<String> = (0..extra_ids).map(|i| format!("<extra_id_{i}>")).collect();
        let mut vocab: Vec<(String, f64)> = model
            .pieces()
            .iter()
            .map(|piece| (piece.text.clone(), f64::from(piece.score)))
            .collect();
        vocab.extend(sentinels.iter().rev().map(|token| (token.clone(), 0.0)));
        let unigram =
            Unigram::from(vocab, Some(HARD_CODED_UNK_ID), false).map_err(pipeline_error)?;
        let mut tokenizer = Tokenizer::new(unigram);

        let charsmap = &model.normalizer_spec().precompiled_charsmap;
        if !charsmap.is_empty() {
            let precompiled =
                Precompiled::from(charsmap).map_err(|error| pipeline_error(Box::new(error)))?;
            tokenizer
                .with_normalizer(Some(precompiled))
                .map_err(pipeline_error)?;
        }
        tokenizer.with_pre_tokenizer(Some(PreTokenizerSequence::new(vec![
            WhitespaceSplit.into(),
            Metaspace::new(SPACE_SYMBOL, PrependScheme::Always, true).into(),
        ])));
        tokenizer.with_decoder(Some(MetaspaceDecoder::new(
            SPACE_SYMBOL,
            PrependScheme::Always,
            true,
        )));

        // The order below is transformers': saved added tokens, then the
        // named special tokens, then the extra special tokens. It only
        // matters for tokens the vocabulary lacks, which get new ids in turn.
        tokenizer
            .add_tokens(settings.added_tokens.iter().cloned())
            .map_err(pipeline_error)?;
        let eos = settings.named("eos_token").unwrap_or("</s>").to_owned();
        let unk = settings.named("unk_token").unwrap_or("<unk>").to_owned();
        let pad = settings.named("pad_token").unwrap_or("<pad>").to_owned();
        let mut named: Vec<String> = Vec::new();
        for key in NAMED_TOKEN_KEYS {
            let content = match key {
                "eos_token" => Some(eos.as_str()),
                "unk_token" => Some(unk.as_str()),
                "pad_token" => Some(pad.as_str()),
                other => settings.named(other),
            };
            if let Some(content) = content {
                named.push(content.to_owned());
            }
        }
        tokenizer
            .add_tokens(named.into_iter().map(|content| special(&content)))
            .map_err(pipeline_error)?;

        let mut extra: Vec<AddedToken> = match &settings.extra_special_tokens {
            Some(listed) => listed.iter().map(|content| special(content)).collect(),
            // No list in the config: the model's control pieces become
            // special tokens and its user-defined pieces plain added tokens.
            None => model
                .pieces()
                .iter()
                .filter_map(|piece| match piece.kind {
                    PieceType::Control => Some(special(&piece.text)),
                    PieceType::UserDefined => {
                        Some(AddedToken::from(piece.text.clone(), false).normalized(false))
                    }
                    _ => None,
                })
                .collect(),
        };
        let lists_sentinels = extra
            .iter()
            .any(|token| token.special && token.content.contains("<extra_id_"));
        if !lists_sentinels {
            extra.extend(sentinels.iter().map(|token| special(token)));
        }
        tokenizer.add_tokens(extra).map_err(pipeline_error)?;

        let missing = |token: &str| T5TokenizerError::ConfigValue {
            path: source.to_path_buf(),
            reason: format!("special token {token:?} has no id"),
        };
        let eos_id = tokenizer.token_to_id(&eos).ok_or_else(|| missing(&eos))?;
        let pad_id = tokenizer.token_to_id(&pad).ok_or_else(|| missing(&pad))?;
        Ok(Self {
            tokenizer,
            eos_id,
            pad_id,
            clean_up_tokenization_spaces: settings.clean_up_tokenization_spaces,
        })
    }

    /// Model input ids for `text`, ending with `</s>`, as
    /// `tokenizer(text)["input_ids"]`.
    pub(crate) fn encode(&self, text: &str) -> Result<Vec<u32>, T5TokenizerError> {
        let encoding = self
            .tokenizer
            .encode(text, false)
            .map_err(T5TokenizerError::Encode)?;
        let mut ids = encoding.get_ids().to_vec();
        ids.push(self.eos_id);
        Ok(ids)
    }

    /// How many ids [`Self::encode`] gives for `text` (including `</s>`);
    /// 1 if the text cannot be tokenized at all.
    pub(crate) fn token_count(&self, text: &str) -> usize {
        self.encode(text).map_or(1, |ids| ids.len())
    }

    /// Text for generated ids, as `decode(ids, skip_special_tokens=True)`:
    /// special tokens are dropped, `▁` becomes a space and the first word's
    /// space is removed; the ends are not trimmed.
    pub(crate) fn decode(&self, ids: &[u32]) -> Result<String, T5TokenizerError> {
        let vocab_size = self.vocab_size();
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= vocab_size) {
            return Err(T5TokenizerError::UnknownId { id, vocab_size });
        }
        let text = self
            .tokenizer
            .decode(ids, true)
            .map_err(T5TokenizerError::Encode)?;
        Ok(if self.clean_up_tokenization_spaces {
            clean_up_tokenization(&text)
        } else {
            text
        })
    }

    /// Id of a piece or added token (`<2en>`, `</s>`, `<extra_id_0>`).
    pub(crate) fn token_id(&self, piece: &str) -> Option<u32> {
        self.tokenizer.token_to_id(piece)
    }

    #[cfg(test)]
    pub(crate) fn eos_id(&self) -> u32 {
        self.eos_id
    }

    #[cfg(test)]
    pub(crate) fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// Pieces plus sentinels plus added tokens (`len(tokenizer)`).
    pub(crate) fn vocab_size(&self) -> usize {
        self.tokenizer.get_vocab_size(true)
    }
}

fn special(content: &str) -> AddedToken {
    AddedToken::from(content.to_owned(), true)
}

/// transformers' `clean_up_tokenization`: English spacing around punctuation
/// and contractions, applied in this order.
fn clean_up_tokenization(text: &str) -> String {
    const REPLACEMENTS: [(&str, &str); 10] = [
        (" .", "."),
        (" ?", "?"),
        (" !", "!"),
        (" ,", ","),
        (" ' ", "'"),
        (" n't", "n't"),
        (" 'm", "'m"),
        (" 's", "'s"),
        (" 've", "'ve"),
        (" 're", "'re"),
    ];
    REPLACEMENTS
        .iter()
        .fold(text.to_owned(), |text, (from, to)| text.replace(from, to))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Deserialize)]
    struct Cases {
        texts: Vec<String>,
        layouts: BTreeMap<String, Layout>,
    }

    #[derive(Deserialize)]
    struct Layout {
        input_ids: Vec<Vec<u32>>,
        decoded: Vec<String>,
        id_lists: Vec<Vec<u32>>,
        id_lists_decoded: Vec<String>,
        eos_id: u32,
        pad_id: u32,
        len: usize,
        special_ids: Vec<u32>,
    }

    /// `ANUBAD_T5_FIXTURE_DIR` points the comparison at a larger,
    /// uncommitted fixture (see scripts/make_t5_tokenizer_fixture.py --nfkc).
    fn fixture_dir() -> PathBuf {
        std::env::var_os("ANUBAD_T5_FIXTURE_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/t5-tokenizer")
            })
    }

    fn load_cases() -> Cases {
        let text = std::fs::read_to_string(fixture_dir().join("cases.json"))
            .expect("t5-tokenizer cases.json readable");
        serde_json::from_str(&text).expect("cases.json parses")
    }

    fn tokenizer_for(layout: &str) -> T5Tokenizer {
        let dir = fixture_dir();
        let model = if layout == "madlad" {
            "madlad.model"
        } else {
            "t5.model"
        };
        let config = dir.join(format!("{layout}.tokenizer_config.json"));
        T5Tokenizer::from_files(&dir.join(model), Some(&config)).expect("fixture tokenizer loads")
    }

    #[test]
    fn encodes_and_decodes_exactly_like_transformers() {
        let cases = load_cases();
        assert!(cases.layouts.len() >= 5);
        let mut checked = 0;
        for (name, expected) in &cases.layouts {
            let tokenizer = tokenizer_for(name);
            assert_eq!(tokenizer.vocab_size(), expected.len, "{name}");
            assert_eq!(tokenizer.eos_id(), expected.eos_id, "{name}");
            assert_eq!(tokenizer.pad_id(), expected.pad_id, "{name}");
            let mut failures = Vec::new();
            for (index, text) in cases.texts.iter().enumerate() {
                let ids = tokenizer.encode(text).expect("encodes");
                if ids != expected.input_ids[index] {
                    failures.push(format!(
                        "encode {text:?}: {ids:?} != {:?}",
                        expected.input_ids[index]
                    ));
                }
                assert_eq!(tokenizer.token_count(text), ids.len());
                let decoded = tokenizer
                    .decode(&expected.input_ids[index])
                    .expect("decodes");
                if decoded != expected.decoded[index] {
                    failures.push(format!(
                        "decode {text:?}: {decoded:?} != {:?}",
                        expected.decoded[index]
                    ));
                }
                checked += 1;
            }
            for (ids, text) in expected.id_lists.iter().zip(&expected.id_lists_decoded) {
                let decoded = tokenizer.decode(ids).expect("decodes");
                if &decoded != text {
                    failures.push(format!("decode {ids:?}: {decoded:?} != {text:?}"));
                }
            }
            assert!(
                failures.is_empty(),
                "{name}: {} of {} differ:\n{}",
                failures.len(),
                cases.texts.len(),
                failures.join("\n")
            );
            // Every special id decodes to nothing on its own.
            for &id in &expected.special_ids {
                assert_eq!(tokenizer.decode(&[id]).expect("decodes"), "", "{name} {id}");
            }
        }
        assert!(checked >= 500, "only {checked} comparisons");
    }

    #[test]
    fn t5_layout_sentinels_and_language_tags() {
        let tokenizer = tokenizer_for("t5-v5");
        assert_eq!(tokenizer.token_id("<extra_id_0>"), Some(519));
        assert_eq!(tokenizer.token_id("<extra_id_99>"), Some(420));
        let tag = tokenizer.token_id("<2en>").expect("<2en> is a piece");
        let with_space = tokenizer.encode("<2en> আজ").expect("encodes");
        assert_eq!(with_space[0], tag);
        assert_eq!(with_space, tokenizer.encode("<2en>আজ").expect("encodes"));
        assert_eq!(with_space.last(), Some(&tokenizer.eos_id()));
        assert_eq!(tokenizer.decode(&with_space).expect("decodes"), "আজ");
    }

    #[test]
    fn madlad_layout_keeps_its_language_tag_and_cleans_up_spaces() {
        let tokenizer = tokenizer_for("madlad");
        assert_eq!(tokenizer.eos_id(), 2);
        assert_eq!(tokenizer.pad_id(), 1);
        let ids = tokenizer.encode("<2en> আজ").expect("encodes");
        assert!(ids.contains(&tokenizer.token_id("<2en>").expect("piece")));
        assert_eq!(clean_up_tokenization("a , b . c ?"), "a, b. c?");
    }

    #[test]
    fn without_a_config_transformers_defaults_apply() {
        let dir = fixture_dir();
        let bare = T5Tokenizer::from_files(&dir.join("t5.model"), None).expect("loads");
        let configured = tokenizer_for("t5-bare");
        assert_eq!(bare.vocab_size(), configured.vocab_size());
        let text = "<2en> আজ ঢাকায় <extra_id_0> বৃষ্টি";
        assert_eq!(
            bare.encode(text).expect("encodes"),
            configured.encode(text).expect("encodes")
        );
    }

    #[test]
    fn bad_inputs_are_errors_not_panics() {
        let tokenizer = tokenizer_for("t5-v5");
        let too_big = tokenizer.vocab_size() as u32;
        assert!(matches!(
            tokenizer.decode(&[5, too_big]),
            Err(T5TokenizerError::UnknownId { .. })
        ));
        let dir = fixture_dir();
        let missing = T5Tokenizer::from_files(&dir.join("no-such.model"), None);
        assert!(matches!(missing, Err(T5TokenizerError::SentencePiece(_))));
        let not_json = dir.join("t5.model");
        let error = T5Tokenizer::from_files(&dir.join("t5.model"), Some(&not_json))
            .expect_err("a model file is not a config");
        assert!(matches!(
            error,
            T5TokenizerError::ConfigParse { .. } | T5TokenizerError::ConfigIo { .. }
        ));
    }
}
