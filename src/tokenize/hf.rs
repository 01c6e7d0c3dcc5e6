//! Tokenizers saved as a Hugging Face `tokenizer.json` (NLLB-200 and other
//! models whose repo ships one), read with the `tokenizers` crate so that
//! ids match transformers' tokenizer for the same file.
//!
//! NLLB puts the source language into every input as a special token. The
//! hub's `tokenizer.json` bakes one language into its post-processor (a
//! `TemplateProcessing`, `eng_Latn $A </s>`); transformers swaps it when a
//! user passes `src_lang`, and [`HfTokenizer::with_source_language`] does the
//! same. Where the token goes follows transformers 5.23 too: for
//! `NllbTokenizer` it ignores the file's template and builds
//! `lang $A </s>`, or `$A </s> lang` when `tokenizer_config.json` sets
//! `legacy_behaviour`; for any other tokenizer the file's template keeps its
//! shape and only the language token is replaced.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tokenizers::models::ModelWrapper;
use tokenizers::processors::PostProcessorWrapper;
use tokenizers::Tokenizer;

type BoxedError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum HfTokenizerError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a tokenizer.json the tokenizers library can load")]
    Parse {
        path: PathBuf,
        #[source]
        source: BoxedError,
    },
    #[error("{path}: tokenizer_config.json is not valid JSON")]
    Config {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("language {language:?} is not in the tokenizer's vocabulary")]
    UnknownLanguage { language: String },
    #[error("{path}: the post-processor has no language token to replace")]
    NoLanguageToken { path: PathBuf },
    #[error("cannot rebuild the post-processor with language {language:?}")]
    Template {
        language: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("tokenization failed")]
    Encode(#[source] BoxedError),
    #[error("detokenization failed")]
    Decode(#[source] BoxedError),
}

/// A `tokenizer.json` tokenizer, set up as transformers uses it for
/// translation inputs.
#[derive(Debug, Clone)]
pub struct HfTokenizer {
    tokenizer: Tokenizer,
    path: PathBuf,
    /// The post-processor as saved, kept as JSON to swap its language token.
    post_processor: Option<Value>,
    /// transformers' `clean_up_tokenization_spaces` as it applies it after
    /// decoding (see [`cleanup_applies`]).
    clean_up_spaces: bool,
    /// For `NllbTokenizer`: the end-of-sequence token and whether the
    /// language goes last (`legacy_behaviour`).
    nllb: Option<NllbLayout>,
}

#[derive(Debug, Clone)]
struct NllbLayout {
    eos: String,
    legacy: bool,
}

impl NllbLayout {
    /// The tokenizer class transformers instantiates decides the layout.
    fn from_config(config: &Value) -> Option<Self> {
        let class = config.get("tokenizer_class").and_then(Value::as_str)?;
        if class != "NllbTokenizer" && class != "NllbTokenizerFast" {
            return None;
        }
        // Special tokens are saved as a string or as an AddedToken object.
        let eos = match config.get("eos_token") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Object(o)) => o
                .get("content")
                .and_then(Value::as_str)
                .unwrap_or("</s>")
                .to_string(),
            _ => "</s>".to_string(),
        };
        Some(Self {
            eos,
            legacy: config
                .get("legacy_behaviour")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
    }

    /// `NllbTokenizer.set_src_lang_special_tokens`' template.
    fn template(&self, language: &str, id: u32, eos_id: u32) -> Value {
        let lang = serde_json::json!({"SpecialToken": {"id": language, "type_id": 0}});
        let eos = serde_json::json!({"SpecialToken": {"id": self.eos, "type_id": 0}});
        let a = serde_json::json!({"Sequence": {"id": "A", "type_id": 0}});
        let b = serde_json::json!({"Sequence": {"id": "B", "type_id": 0}});
        let (single, pair) = if self.legacy {
            (
                vec![a.clone(), eos.clone(), lang.clone()],
                vec![a, b, eos, lang],
            )
        } else {
            (
                vec![lang.clone(), a.clone(), eos.clone()],
                vec![lang, a, b, eos],
            )
        };
        let mut specials = serde_json::Map::new();
        specials.insert(
            self.eos.clone(),
            serde_json::json!({"id": self.eos, "ids": [eos_id], "tokens": [self.eos]}),
        );
        specials.insert(
            language.to_string(),
            serde_json::json!({"id": language, "ids": [id], "tokens": [language]}),
        );
        serde_json::json!({
            "type": "TemplateProcessing",
            "single": single,
            "pair": pair,
            "special_tokens": specials,
        })
    }
}

/// NLLB codes (`ben_Beng`, `eng_Latn`) and M2M100 codes (`__bn__`).
fn is_language_code(token: &str) -> bool {
    let bytes = token.as_bytes();
    let nllb = bytes.len() == 8
        && bytes[..3].iter().all(u8::is_ascii_lowercase)
        && bytes[3] == b'_'
        && bytes[4].is_ascii_uppercase()
        && bytes[5..].iter().all(u8::is_ascii_lowercase);
    let m2m = token.len() >= 6
        && token.starts_with("__")
        && token.ends_with("__")
        && token[2..token.len() - 2]
            .bytes()
            .all(|b| b.is_ascii_lowercase());
    nllb || m2m
}

/// transformers 5.23 (`TokenizersBackend._decode`) cleans up spaces before
/// punctuation only when `clean_up_tokenization_spaces` is set, and ignores
/// the flag for BPE models (NLLB's) unless
/// `clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output`
/// is set too.
fn cleanup_applies(config: &Value, model_is_bpe: bool) -> bool {
    let flag = |key: &str| config.get(key).and_then(Value::as_bool).unwrap_or(false);
    flag("clean_up_tokenization_spaces")
        && (!model_is_bpe
            || flag("clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output"))
}

/// transformers' `clean_up_tokenization`.
fn clean_up_tokenization(text: &str) -> String {
    text.replace(" .", ".")
        .replace(" ?", "?")
        .replace(" !", "!")
        .replace(" ,", ",")
        .replace(" ' ", "'")
        .replace(" n't", "n't")
        .replace(" 'm", "'m")
        .replace(" 's", "'s")
        .replace(" 've", "'ve")
        .replace(" 're", "'re")
}

/// Replaces every language-code special token of a `TemplateProcessing`
/// (also inside a `Sequence`) by `language` with id `id`. Returns whether
/// one was found.
fn substitute_language(processor: &mut Value, language: &str, id: u32) -> bool {
    match processor.get("type").and_then(Value::as_str) {
        Some("Sequence") => {
            let mut found = false;
            if let Some(Value::Array(items)) = processor.get_mut("processors") {
                for item in items {
                    found |= substitute_language(item, language, id);
                }
            }
            found
        }
        Some("TemplateProcessing") => {
            let mut replaced = Vec::new();
            for part in ["single", "pair"] {
                let Some(Value::Array(items)) = processor.get_mut(part) else {
                    continue;
                };
                for item in items {
                    if let Some(Value::String(token)) = item.pointer_mut("/SpecialToken/id") {
                        if is_language_code(token) {
                            replaced.push(std::mem::replace(token, language.to_string()));
                        }
                    }
                }
            }
            if let Some(Value::Object(specials)) = processor.get_mut("special_tokens") {
                for old in &replaced {
                    specials.remove(old);
                }
                if !replaced.is_empty() {
                    specials.insert(
                        language.to_string(),
                        serde_json::json!({"id": language, "ids": [id], "tokens": [language]}),
                    );
                }
            }
            !replaced.is_empty()
        }
        _ => false,
    }
}

impl HfTokenizer {
    /// Loads `tokenizer.json`; a `tokenizer_config.json` beside it decides the
    /// decoding clean-up as it does in transformers.
    pub fn from_file(path: &Path) -> Result<Self, HfTokenizerError> {
        let text = std::fs::read_to_string(path).map_err(|source| HfTokenizerError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let parse_error = |source: BoxedError| HfTokenizerError::Parse {
            path: path.to_path_buf(),
            source,
        };
        let json: Value =
            serde_json::from_str(&text).map_err(|e| parse_error(Box::new(e) as BoxedError))?;
        let mut tokenizer: Tokenizer = text.parse().map_err(parse_error)?;
        // transformers' `tokenizer(text)` neither pads nor truncates unless
        // asked to, whatever the file says.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(None)
            .map_err(|e| parse_error(e as BoxedError))?;

        let config_path = path.with_file_name("tokenizer_config.json");
        let config = match std::fs::read_to_string(&config_path) {
            Ok(text) => serde_json::from_str(&text).map_err(|source| HfTokenizerError::Config {
                path: config_path.clone(),
                source,
            })?,
            Err(_) => Value::Null,
        };
        let model_is_bpe = matches!(tokenizer.get_model(), ModelWrapper::BPE(_));
        let loaded = Self {
            clean_up_spaces: cleanup_applies(&config, model_is_bpe),
            post_processor: json.get("post_processor").filter(|v| !v.is_null()).cloned(),
            tokenizer,
            path: path.to_path_buf(),
            nllb: NllbLayout::from_config(&config),
        };
        if loaded.nllb.is_none() {
            return Ok(loaded);
        }
        // transformers' NllbTokenizer starts from the saved `src_lang`, else
        // eng_Latn, whatever language the file's template names.
        let language = config
            .get("src_lang")
            .and_then(Value::as_str)
            .unwrap_or("eng_Latn");
        if loaded.tokenizer.token_to_id(language).is_some() {
            loaded.with_source_language(language)
        } else {
            Ok(loaded)
        }
    }

    /// Replaces the template's language-code special token (NLLB
    /// `xxx_Xxxx`, M2M100 `__xx__`) by `language`, where the template puts
    /// it, as transformers does for `src_lang`.
    pub fn with_source_language(mut self, language: &str) -> Result<Self, HfTokenizerError> {
        let id = self.tokenizer.token_to_id(language).ok_or_else(|| {
            HfTokenizerError::UnknownLanguage {
                language: language.to_string(),
            }
        })?;
        let eos_id = self
            .nllb
            .as_ref()
            .and_then(|layout| self.tokenizer.token_to_id(&layout.eos));
        let processor = match (&self.nllb, eos_id) {
            (Some(layout), Some(eos_id)) => layout.template(language, id, eos_id),
            _ => {
                let Some(mut processor) = self.post_processor.clone() else {
                    return Err(HfTokenizerError::NoLanguageToken { path: self.path });
                };
                if !substitute_language(&mut processor, language, id) {
                    return Err(HfTokenizerError::NoLanguageToken { path: self.path });
                }
                processor
            }
        };
        let rebuilt: PostProcessorWrapper =
            serde_json::from_value(processor.clone()).map_err(|source| {
                HfTokenizerError::Template {
                    language: language.to_string(),
                    source,
                }
            })?;
        self.tokenizer.with_post_processor(Some(rebuilt));
        self.post_processor = Some(processor);
        Ok(self)
    }

    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.tokenizer.token_to_id(token)
    }

    /// Token ids of `text` with the template's special tokens (language code
    /// and `</s>` for NLLB).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, HfTokenizerError> {
        let encoding = self
            .tokenizer
            .encode(text, true)
            .map_err(HfTokenizerError::Encode)?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Length of [`Self::encode`]'s result; 0 if the text cannot be encoded.
    pub(crate) fn token_count(&self, text: &str) -> usize {
        self.encode(text).map(|ids| ids.len()).unwrap_or(0)
    }

    /// Text of `ids` as transformers' `batch_decode(skip_special_tokens=True)`
    /// gives it: special tokens (language codes included) dropped.
    pub fn decode(&self, ids: &[u32]) -> Result<String, HfTokenizerError> {
        let text = self
            .tokenizer
            .decode(ids, true)
            .map_err(HfTokenizerError::Decode)?;
        Ok(if self.clean_up_spaces {
            clean_up_tokenization(&text)
        } else {
            text
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A word-level tokenizer.json with an NLLB-style template.
    fn tokenizer_json(template: Value) -> Value {
        serde_json::json!({
            "version": "1.0",
            "truncation": null,
            "padding": null,
            "added_tokens": [
                {"id": 0, "content": "</s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
                {"id": 1, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
                {"id": 2, "content": "eng_Latn", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
                {"id": 3, "content": "ben_Beng", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
            ],
            "normalizer": null,
            "pre_tokenizer": {"type": "Whitespace"},
            "post_processor": template,
            "decoder": null,
            "model": {
                "type": "WordLevel",
                "vocab": {"</s>": 0, "<unk>": 1, "eng_Latn": 2, "ben_Beng": 3, "hello": 4, "world": 5, ",": 6},
                "unk_token": "<unk>"
            }
        })
    }

    fn template(single: Value) -> Value {
        serde_json::json!({
            "type": "TemplateProcessing",
            "single": single,
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 0}}],
            "special_tokens": {
                "</s>": {"id": "</s>", "ids": [0], "tokens": ["</s>"]},
                "eng_Latn": {"id": "eng_Latn", "ids": [2], "tokens": ["eng_Latn"]}
            }
        })
    }

    fn special(token: &str) -> Value {
        serde_json::json!({"SpecialToken": {"id": token, "type_id": 0}})
    }

    fn sequence() -> Value {
        serde_json::json!({"Sequence": {"id": "A", "type_id": 0}})
    }

    fn write(dir: &Path, json: &Value, config: Option<Value>) -> PathBuf {
        let path = dir.join("tokenizer.json");
        std::fs::write(&path, json.to_string()).unwrap();
        if let Some(config) = config {
            std::fs::write(dir.join("tokenizer_config.json"), config.to_string()).unwrap();
        }
        path
    }

    #[test]
    fn source_language_replaces_the_prefix_token() {
        let dir = tempfile::tempdir().unwrap();
        let single = serde_json::json!([special("eng_Latn"), sequence(), special("</s>")]);
        let path = write(dir.path(), &tokenizer_json(template(single)), None);
        let tokenizer = HfTokenizer::from_file(&path).unwrap();
        assert_eq!(tokenizer.encode("hello world").unwrap(), vec![2, 4, 5, 0]);
        let bengali = tokenizer.with_source_language("ben_Beng").unwrap();
        assert_eq!(bengali.encode("hello world").unwrap(), vec![3, 4, 5, 0]);
        assert_eq!(bengali.token_count("hello"), 3);
    }

    #[test]
    fn legacy_templates_keep_the_language_last() {
        let dir = tempfile::tempdir().unwrap();
        let single = serde_json::json!([sequence(), special("</s>"), special("eng_Latn")]);
        let path = write(dir.path(), &tokenizer_json(template(single)), None);
        let tokenizer = HfTokenizer::from_file(&path)
            .unwrap()
            .with_source_language("ben_Beng")
            .unwrap();
        assert_eq!(tokenizer.encode("hello").unwrap(), vec![4, 0, 3]);
    }

    #[test]
    fn nllb_tokenizers_place_the_language_as_transformers_does() {
        let dir = tempfile::tempdir().unwrap();
        // The file says suffix, but transformers' NllbTokenizer builds its
        // own template from tokenizer_config.json.
        let single = serde_json::json!([sequence(), special("</s>"), special("eng_Latn")]);
        let json = tokenizer_json(template(single));
        let config =
            serde_json::json!({"tokenizer_class": "NllbTokenizer", "src_lang": "eng_Latn"});
        let path = write(dir.path(), &json, Some(config));
        let tokenizer = HfTokenizer::from_file(&path).unwrap();
        assert_eq!(tokenizer.encode("hello").unwrap(), vec![2, 4, 0]);
        let bengali = tokenizer.with_source_language("ben_Beng").unwrap();
        assert_eq!(bengali.encode("hello").unwrap(), vec![3, 4, 0]);

        let legacy = serde_json::json!({
            "tokenizer_class": "NllbTokenizerFast",
            "legacy_behaviour": true,
            "eos_token": {"content": "</s>", "special": true}
        });
        let path = write(dir.path(), &json, Some(legacy));
        let tokenizer = HfTokenizer::from_file(&path)
            .unwrap()
            .with_source_language("ben_Beng")
            .unwrap();
        assert_eq!(tokenizer.encode("hello").unwrap(), vec![4, 0, 3]);
    }

    #[test]
    fn unknown_languages_and_templates_without_one_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let single = serde_json::json!([special("eng_Latn"), sequence(), special("</s>")]);
        let path = write(dir.path(), &tokenizer_json(template(single)), None);
        let err = HfTokenizer::from_file(&path)
            .unwrap()
            .with_source_language("xyz_Abcd")
            .unwrap_err();
        assert!(matches!(err, HfTokenizerError::UnknownLanguage { .. }));

        let plain = serde_json::json!([sequence(), special("</s>")]);
        let path = write(dir.path(), &tokenizer_json(template(plain)), None);
        let err = HfTokenizer::from_file(&path)
            .unwrap()
            .with_source_language("ben_Beng")
            .unwrap_err();
        assert!(matches!(err, HfTokenizerError::NoLanguageToken { .. }));
    }

    #[test]
    fn decoding_drops_special_tokens_and_cleans_up_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let single = serde_json::json!([special("eng_Latn"), sequence(), special("</s>")]);
        let mut json = tokenizer_json(template(single));
        json["decoder"] =
            serde_json::json!({"type": "WordPiece", "prefix": "##", "cleanup": false});
        let path = write(dir.path(), &json, None);
        let ids = [2, 4, 6, 5, 0];
        let plain = HfTokenizer::from_file(&path).unwrap();
        assert_eq!(plain.decode(&ids).unwrap(), "hello , world");
        let config = serde_json::json!({"clean_up_tokenization_spaces": true});
        let path = write(dir.path(), &json, Some(config));
        let cleaned = HfTokenizer::from_file(&path).unwrap();
        assert_eq!(cleaned.decode(&ids).unwrap(), "hello, world");
    }

    #[test]
    fn bpe_models_ignore_the_clean_up_flag_like_transformers() {
        let config = serde_json::json!({"clean_up_tokenization_spaces": true});
        assert!(cleanup_applies(&config, false));
        assert!(!cleanup_applies(&config, true));
        let forced = serde_json::json!({
            "clean_up_tokenization_spaces": true,
            "clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output": true
        });
        assert!(cleanup_applies(&forced, true));
        assert!(!cleanup_applies(&Value::Null, false));
    }

    #[test]
    fn language_codes_are_recognised() {
        for code in ["eng_Latn", "ben_Beng", "zho_Hant", "__bn__", "__ast__"] {
            assert!(is_language_code(code), "{code}");
        }
        for other in ["</s>", "<mask>", "eng_latn", "__BN__", "____", "hello"] {
            assert!(!is_language_code(other), "{other}");
        }
    }

    #[test]
    fn missing_or_broken_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = HfTokenizer::from_file(&dir.path().join("tokenizer.json")).unwrap_err();
        assert!(matches!(missing, HfTokenizerError::Read { .. }));
        let path = dir.path().join("tokenizer.json");
        std::fs::write(&path, "{not json").unwrap();
        let broken = HfTokenizer::from_file(&path).unwrap_err();
        assert!(matches!(broken, HfTokenizerError::Parse { .. }));
    }
}
