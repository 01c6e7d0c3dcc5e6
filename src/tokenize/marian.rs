//! Tokenizer for Marian (opus-mt) translation models, without Python.
//!
//! opus-mt repositories ship `source.spm`, `target.spm` and `vocab.json` but
//! no `tokenizer.json`. [`MarianTokenizer`] reproduces transformers'
//! `MarianTokenizer` (5.x, shared vocabulary): text is split around the
//! special tokens `</s>`, `<unk>` and `<pad>`, a leading `>>xx<<` language
//! code is kept as one token, the rest is segmented by the source
//! SentencePiece model, pieces are looked up in `vocab.json` (unknown pieces
//! become `<unk>`) and `</s>` is appended. [`MarianTokenizer::decode`] gives
//! what `decode(ids, skip_special_tokens=True)` gives.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::tokenize::spm::{SentencePieceModel, SpmError, SPACE_SYMBOL};

const UNK_TOKEN: &str = "<unk>";
const EOS_TOKEN: &str = "</s>";
const PAD_TOKEN: &str = "<pad>";

/// Errors from loading or using a Marian tokenizer.
#[derive(Debug, thiserror::Error)]
pub enum MarianTokenizerError {
    #[error(transparent)]
    SentencePiece(#[from] SpmError),
    #[error("cannot read Marian vocabulary {path}")]
    VocabIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("Marian vocabulary {path} is not a JSON object of token to id")]
    VocabParse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("Marian vocabulary {path} has no {token} token")]
    MissingSpecialToken { path: PathBuf, token: &'static str },
    #[error("token id {id} is neither in the Marian vocabulary nor in the SentencePiece model")]
    UnknownId { id: u32 },
}

/// Encodes source text to Marian input ids and decodes generated ids to text.
#[derive(Debug, Clone)]
pub struct MarianTokenizer {
    source_spm: SentencePieceModel,
    // Read by the accessors the tests use to check the files were read whole.
    #[cfg_attr(not(test), allow(dead_code))]
    target_spm: SentencePieceModel,
    token_to_id: HashMap<String, u32>,
    id_to_token: HashMap<u32, String>,
    /// Tokens split out of raw text before SentencePiece sees it, with their ids.
    special_tokens: Vec<(&'static str, u32)>,
    special_ids: HashSet<u32>,
    /// Entries in `vocab.json` itself, before any missing special token is appended.
    #[cfg_attr(not(test), allow(dead_code))]
    vocab_len: usize,
    eos_id: u32,
    #[cfg_attr(not(test), allow(dead_code))]
    pad_id: u32,
    unk_id: u32,
}

impl MarianTokenizer {
    /// Loads the tokenizer from an opus-mt repository's `source.spm`,
    /// `target.spm` and `vocab.json`.
    pub fn from_files(
        source_spm: &Path,
        target_spm: &Path,
        vocab_json: &Path,
    ) -> Result<Self, MarianTokenizerError> {
        let source_spm = SentencePieceModel::from_file(source_spm)?;
        let target_spm = SentencePieceModel::from_file(target_spm)?;
        let vocab_text = std::fs::read_to_string(vocab_json).map_err(|source| {
            MarianTokenizerError::VocabIo {
                path: vocab_json.to_path_buf(),
                source,
            }
        })?;
        let mut token_to_id: HashMap<String, u32> =
            serde_json::from_str(&vocab_text).map_err(|source| {
                MarianTokenizerError::VocabParse {
                    path: vocab_json.to_path_buf(),
                    source,
                }
            })?;
        let vocab_len = token_to_id.len();
        let unk_id = *token_to_id.get(UNK_TOKEN).ok_or_else(|| {
            MarianTokenizerError::MissingSpecialToken {
                path: vocab_json.to_path_buf(),
                token: UNK_TOKEN,
            }
        })?;
        // transformers appends special tokens missing from the vocabulary
        // after its last entry; real opus-mt vocabularies contain them all.
        let mut special_id = |token: &str| -> u32 {
            if let Some(&id) = token_to_id.get(token) {
                return id;
            }
            let next = u32::try_from(token_to_id.len()).unwrap_or(u32::MAX);
            token_to_id.insert(token.to_owned(), next);
            next
        };
        let eos_id = special_id(EOS_TOKEN);
        let pad_id = special_id(PAD_TOKEN);
        let id_to_token = token_to_id
            .iter()
            .map(|(token, &id)| (id, token.clone()))
            .collect();
        let special_tokens = vec![
            (EOS_TOKEN, eos_id),
            (UNK_TOKEN, unk_id),
            (PAD_TOKEN, pad_id),
        ];
        let special_ids = special_tokens.iter().map(|&(_, id)| id).collect();
        Ok(Self {
            source_spm,
            target_spm,
            token_to_id,
            id_to_token,
            special_tokens,
            special_ids,
            vocab_len,
            eos_id,
            pad_id,
            unk_id,
        })
    }

    /// Model input ids for `text`, ending with `</s>`, as
    /// `MarianTokenizer(text)["input_ids"]`.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, MarianTokenizerError> {
        Ok(self.encode_infallible(text))
    }

    /// Ids for target-language text, segmented by the target SentencePiece
    /// model, as `MarianTokenizer(text_target=text)["input_ids"]`.
    #[cfg(test)]
    pub(crate) fn encode_target(&self, text: &str) -> Result<Vec<u32>, MarianTokenizerError> {
        Ok(self.encode_with(&self.target_spm, text))
    }

    /// How many ids [`Self::encode`] gives for `text` (including `</s>`).
    pub(crate) fn token_count(&self, text: &str) -> usize {
        self.encode_infallible(text).len()
    }

    fn encode_infallible(&self, text: &str) -> Vec<u32> {
        self.encode_with(&self.source_spm, text)
    }

    fn encode_with(&self, spm: &SentencePieceModel, text: &str) -> Vec<u32> {
        let mut ids = Vec::new();
        for segment in self.split_on_special_tokens(text) {
            match segment {
                Segment::Special(id) => ids.push(id),
                Segment::Text(text) => {
                    let (language_code, rest) = split_language_code(text);
                    if let Some(code) = language_code {
                        ids.push(self.token_id(code));
                    }
                    ids.extend(
                        spm.encode_pieces(rest)
                            .iter()
                            .map(|piece| self.token_id(piece)),
                    );
                }
            }
        }
        ids.push(self.eos_id);
        ids
    }

    fn token_id(&self, token: &str) -> u32 {
        // The Marian vocabulary is not aligned with SentencePiece ids, so a
        // piece it lacks is unknown, never the piece's SentencePiece id.
        self.special_tokens
            .iter()
            .find(|&&(special, _)| special == token)
            .map(|&(_, id)| id)
            .or_else(|| self.token_to_id.get(token).copied())
            .unwrap_or(self.unk_id)
    }

    /// Splits raw text around special-token strings, leftmost match first,
    /// dropping empty stretches (transformers' added-token trie).
    fn split_on_special_tokens<'a>(&self, text: &'a str) -> Vec<Segment<'a>> {
        let mut segments = Vec::new();
        let mut rest = text;
        loop {
            let next_match = self
                .special_tokens
                .iter()
                .filter_map(|&(token, id)| rest.find(token).map(|at| (at, token.len(), id)))
                .min_by_key(|&(at, length, _)| (at, std::cmp::Reverse(length)));
            let Some((at, length, id)) = next_match else {
                break;
            };
            if at > 0 {
                segments.push(Segment::Text(&rest[..at]));
            }
            segments.push(Segment::Special(id));
            rest = &rest[at + length..];
        }
        if !rest.is_empty() {
            segments.push(Segment::Text(rest));
        }
        segments
    }

    /// Text for generated ids, as `decode(ids, skip_special_tokens=True)`:
    /// `</s>`, `<pad>` and `<unk>` are dropped, the remaining pieces are
    /// joined by SentencePiece, `▁` becomes a space and the ends are trimmed.
    ///
    /// Like transformers 5 with a shared vocabulary, pieces are joined with
    /// the source model and ids missing from `vocab.json` fall back to that
    /// model's pieces; an id in neither is an error.
    pub fn decode(&self, ids: &[u32]) -> Result<String, MarianTokenizerError> {
        let decoding_spm = &self.source_spm;
        let mut out = String::new();
        let mut pending: Vec<&str> = Vec::new();
        for &id in ids {
            if self.special_ids.contains(&id) {
                continue;
            }
            let token = match self.id_to_token.get(&id) {
                Some(token) => token.as_str(),
                None => match decoding_spm.id_to_piece(id) {
                    Some("") => UNK_TOKEN,
                    Some(piece) => piece,
                    None => return Err(MarianTokenizerError::UnknownId { id }),
                },
            };
            if self
                .special_tokens
                .iter()
                .any(|&(special, _)| special == token)
            {
                // Special tokens are never handed to SentencePiece.
                out.push_str(&decoding_spm.decode_pieces(&pending));
                out.push_str(token);
                out.push(' ');
                pending.clear();
            } else {
                pending.push(token);
            }
        }
        out.push_str(&decoding_spm.decode_pieces(&pending));
        let out = out.replace(SPACE_SYMBOL, " ");
        Ok(out.trim_matches(is_python_whitespace).to_owned())
    }

    #[cfg(test)]
    pub(crate) fn eos_id(&self) -> u32 {
        self.eos_id
    }

    #[cfg(test)]
    pub(crate) fn pad_id(&self) -> u32 {
        self.pad_id
    }

    #[cfg(test)]
    pub(crate) fn unk_id(&self) -> u32 {
        self.unk_id
    }

    /// Number of entries in `vocab.json` (transformers' `vocab_size`).
    #[cfg(test)]
    pub(crate) fn vocab_size(&self) -> usize {
        self.vocab_len
    }
}

enum Segment<'a> {
    Text(&'a str),
    Special(u32),
}

/// Splits off a leading `>>xx<<` target-language code, as transformers'
/// `remove_language_code` does (everything up to the first `<<`).
fn split_language_code(text: &str) -> (Option<&str>, &str) {
    if text.starts_with(">>") {
        if let Some(end) = text.find("<<") {
            return (Some(&text[..end + 2]), &text[end + 2..]);
        }
    }
    (None, text)
}

/// Python's `str.isspace`, which `str.strip()` uses: Unicode whitespace plus
/// the information separators U+001C..U+001F.
fn is_python_whitespace(ch: char) -> bool {
    ch.is_whitespace() || ('\u{1C}'..='\u{1F}').contains(&ch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn fixture_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/marian-tiny")
    }

    fn load_with_vocab(vocab: &Path) -> Result<MarianTokenizer, MarianTokenizerError> {
        let dir = fixture_dir();
        MarianTokenizer::from_files(&dir.join("source.spm"), &dir.join("target.spm"), vocab)
    }

    fn fixture_tokenizer() -> MarianTokenizer {
        load_with_vocab(&fixture_dir().join("vocab.json")).expect("fixture tokenizer loads")
    }

    fn expected() -> Value {
        let text = std::fs::read_to_string(fixture_dir().join("expected.json"))
            .expect("expected.json readable");
        serde_json::from_str(&text).expect("expected.json parses")
    }

    fn ids(value: &Value) -> Vec<u32> {
        value
            .as_array()
            .expect("id list")
            .iter()
            .map(|id| id.as_u64().expect("integer id") as u32)
            .collect()
    }

    fn cases<'a>(expected: &'a Value, key: &str) -> &'a Vec<Value> {
        let cases = expected[key].as_array().expect("case list");
        assert!(!cases.is_empty(), "no {key} cases in the fixture");
        cases
    }

    #[test]
    fn encodes_every_fixture_text_like_transformers() {
        let tokenizer = fixture_tokenizer();
        let expected = expected();
        for case in cases(&expected, "tokenizer") {
            let text = case["text"].as_str().expect("text");
            let want = ids(&case["input_ids"]);
            assert_eq!(tokenizer.encode(text).expect("encodes"), want, "{text:?}");
            assert_eq!(tokenizer.token_count(text), want.len(), "{text:?}");
        }
    }

    #[test]
    fn encodes_target_text_like_transformers_text_target() {
        let tokenizer = fixture_tokenizer();
        let expected = expected();
        for case in cases(&expected, "tokenizer_target") {
            let text = case["text"].as_str().expect("text");
            let want = ids(&case["input_ids"]);
            assert_eq!(
                tokenizer.encode_target(text).expect("encodes"),
                want,
                "{text:?}"
            );
        }
    }

    #[test]
    fn decodes_every_fixture_case_like_skip_special_tokens() {
        let tokenizer = fixture_tokenizer();
        let expected = expected();
        for case in cases(&expected, "detokenizer") {
            let want = case["text"].as_str().expect("text");
            let got = tokenizer.decode(&ids(&case["ids"])).expect("decodes");
            assert_eq!(got, want);
        }
    }

    #[test]
    fn special_ids_match_the_fixture() {
        let tokenizer = fixture_tokenizer();
        let special = &expected()["special_ids"];
        assert_eq!(u64::from(tokenizer.eos_id()), special["eos"]);
        assert_eq!(u64::from(tokenizer.unk_id()), special["unk"]);
        assert_eq!(u64::from(tokenizer.pad_id()), special["pad"]);
        assert_eq!(tokenizer.vocab_size() as u64, special["vocab_size"]);
    }

    #[test]
    fn language_code_prefix_is_a_single_token() {
        let vocab_text =
            std::fs::read_to_string(fixture_dir().join("vocab.json")).expect("vocab readable");
        let mut vocab: HashMap<String, u32> = serde_json::from_str(&vocab_text).expect("parses");
        let code_id = vocab.values().max().copied().unwrap_or(0) + 1;
        vocab.insert(">>eng<<".to_owned(), code_id);
        let dir = tempfile::tempdir().expect("temp dir");
        let vocab_path = dir.path().join("vocab.json");
        std::fs::write(
            &vocab_path,
            serde_json::to_string(&vocab).expect("serializes"),
        )
        .expect("writes");
        let tokenizer = load_with_vocab(&vocab_path).expect("loads");

        let mut want = vec![code_id];
        want.extend(tokenizer.encode(" আজ ঢাকায়").expect("encodes"));
        assert_eq!(tokenizer.encode(">>eng<< আজ ঢাকায়").expect("encodes"), want);
        // Only a code at the very start counts.
        assert!(!tokenizer
            .encode("আজ >>eng<<")
            .expect("encodes")
            .contains(&code_id));
    }

    #[test]
    fn special_tokens_in_text_are_kept_whole() {
        let tokenizer = fixture_tokenizer();
        let ids = tokenizer.encode("আজ</s>ঢাকায়<pad>").expect("encodes");
        let mut want = tokenizer.encode("আজ").expect("encodes");
        want.extend(tokenizer.encode("ঢাকায়").expect("encodes"));
        want.insert(want.len() - 1, tokenizer.pad_id());
        assert_eq!(ids, want);
    }

    #[test]
    fn decode_of_an_id_outside_every_vocabulary_is_an_error() {
        let tokenizer = fixture_tokenizer();
        let result = tokenizer.decode(&[5, 1_000_000]);
        assert!(matches!(
            result,
            Err(MarianTokenizerError::UnknownId { id: 1_000_000 })
        ));
    }

    #[test]
    fn vocabulary_errors_name_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("missing-vocab.json");
        let error = load_with_vocab(&missing).expect_err("missing vocab fails");
        assert!(matches!(error, MarianTokenizerError::VocabIo { .. }));
        assert!(error.to_string().contains("missing-vocab.json"));

        let no_unk = dir.path().join("no-unk.json");
        std::fs::write(&no_unk, r#"{"</s>": 0, "a": 1}"#).expect("writes");
        let error = load_with_vocab(&no_unk).expect_err("vocab without <unk> fails");
        assert!(matches!(
            error,
            MarianTokenizerError::MissingSpecialToken { token: "<unk>", .. }
        ));

        let broken = dir.path().join("broken.json");
        std::fs::write(&broken, "[1, 2").expect("writes");
        let error = load_with_vocab(&broken).expect_err("broken vocab fails");
        assert!(matches!(error, MarianTokenizerError::VocabParse { .. }));
        assert!(error.to_string().contains("broken.json"));
    }
}
