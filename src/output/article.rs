//! What anubad writes about one article: the data model behind `<id>.json`,
//! read back on a re-run, and rendered as Markdown and HTML.
//!
//! Every optional field is written, as `null` when unknown, so that a reader
//! of the JSON sees one shape in every file (as in `anubad extract`'s lines);
//! fields missing from files of earlier versions read as unknown.

use serde::{Deserialize, Serialize};

use crate::output::Warning;

/// A text in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Bilingual {
    pub(crate) bn: String,
    pub(crate) en: String,
}

/// One source sentence and its translation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SentencePair {
    pub(crate) bn: String,
    pub(crate) en: String,
}

/// The English summary and how it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Summary {
    pub(crate) text: String,
    pub(crate) method: SummaryMethod,
    /// A headline the chat model wrote from the summary, when it wrote one
    /// that keeps to the translation; it heads the story in the digest.
    #[serde(default)]
    pub(crate) headline: Option<String>,
    /// The chat model's summary, when the check rejected it: kept for
    /// inspection, never shown as the story's summary.
    #[serde(default)]
    pub(crate) rejected: Option<RejectedText>,
    /// The chat model's headline, when the check rejected it.
    #[serde(default)]
    pub(crate) rejected_headline: Option<RejectedText>,
}

impl Summary {
    /// Sentences picked from the translation, with no chat model's text.
    pub(crate) fn extractive(text: String) -> Self {
        Summary {
            text,
            method: SummaryMethod::Extractive,
            headline: None,
            rejected: None,
            rejected_headline: None,
        }
    }
}

/// A chat model's text that names what its source does not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RejectedText {
    pub(crate) text: String,
    /// The numbers and names of `text` its source lacks.
    pub(crate) unsupported: Vec<String>,
}

/// How a summary was made; written as its lowercase name (`"extractive"`,
/// `"llm"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SummaryMethod {
    /// Sentences selected from the translation
    /// ([`crate::text::extractive_summary`]).
    Extractive,
    /// Written by a chat model ([`crate::llm::summary`]).
    Llm,
}

impl SummaryMethod {
    pub(crate) fn name(self) -> &'static str {
        match self {
            SummaryMethod::Extractive => "extractive",
            SummaryMethod::Llm => "llm",
        }
    }
}

impl std::fmt::Display for SummaryMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// The translation model, as recorded in the outputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub name: String,
    pub revision: Option<String>,
    pub licence: Option<String>,
}

/// Where the time went and how much the cache saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Timings {
    pub(crate) translate_ms: u64,
    pub(crate) total_ms: u64,
    pub(crate) cached_segments: usize,
    pub(crate) translated_segments: usize,
}

/// The version of the JSON this build writes (`<id>.json` and
/// `manifest.json`). An `<id>.json` of another version (earlier files have
/// none, read as 0) is out of date and written again, even when its article
/// did not change.
///
/// 2: `schema_version`, `anubad_version` and `source_en` added; optional
/// fields written as `null` instead of left out; `manifest.json`.
pub(crate) const SCHEMA_VERSION: u32 = 2;

/// The anubad release that writes the outputs.
pub(crate) const ANUBAD_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Everything written for one article; `<id>.json` is this, serialized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ArticleOutput {
    /// [`SCHEMA_VERSION`] when written by this build.
    #[serde(default)]
    pub(crate) schema_version: u32,
    /// [`ANUBAD_VERSION`] of the build that wrote the file.
    #[serde(default)]
    pub(crate) anubad_version: String,
    pub(crate) id: String,
    /// Input path, `"stdin"`, or `"file.jsonl#line"`.
    pub(crate) input: String,
    pub(crate) title: Bilingual,
    #[serde(default)]
    pub(crate) url: Option<String>,
    #[serde(default)]
    pub(crate) published: Option<String>,
    #[serde(default)]
    pub(crate) updated: Option<String>,
    /// The outlet or agency as the page names it, usually in Bengali.
    #[serde(default)]
    pub(crate) source: Option<String>,
    /// Its English name, when [`crate::output::sources`] knows the outlet.
    #[serde(default)]
    pub(crate) source_en: Option<String>,
    #[serde(default)]
    pub(crate) byline: Option<String>,
    pub(crate) paragraphs: Vec<Vec<SentencePair>>,
    pub(crate) summary: Summary,
    pub(crate) model: ModelInfo,
    /// The generation settings used.
    pub(crate) generation: serde_json::Value,
    pub(crate) warnings: Vec<Warning>,
    pub(crate) timings: Timings,
    /// Hash of inputs, settings and model identity: an equal fingerprint
    /// means the outputs would not change.
    pub(crate) fingerprint: String,
    /// What the digest keeps of an article it holds in short form; not
    /// written.
    #[serde(skip)]
    pub(crate) digest: DigestFacts,
}

/// What the digest needs of an article beyond its fields, when it holds
/// the article in short form ([`crate::output::RunArticles`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct DigestFacts {
    /// The hash of its text (see `same_text_key`), kept when the paragraphs
    /// after the first are dropped.
    pub(crate) text_key: Option<u64>,
    /// Where its files are, relative to the digest's folder, ending in
    /// `/`; empty when they are beside it.
    pub(crate) folder: String,
}

#[cfg(test)]
impl ArticleOutput {
    /// A record with nothing but `id` for tests to fill in: file `<id>.txt`,
    /// no dates, source or paragraphs, an extractive summary.
    pub(crate) fn bare(id: &str) -> Self {
        ArticleOutput {
            schema_version: SCHEMA_VERSION,
            anubad_version: ANUBAD_VERSION.to_string(),
            id: id.to_string(),
            input: format!("{id}.txt"),
            title: Bilingual {
                // Articles of equal text are one story in the digest.
                bn: format!("শিরোনাম {id}"),
                en: format!("title {id}"),
            },
            url: None,
            published: None,
            updated: None,
            source: None,
            source_en: None,
            byline: None,
            paragraphs: Vec::new(),
            summary: Summary::extractive(format!("summary {id}")),
            model: ModelInfo {
                name: "m".to_string(),
                revision: None,
                licence: None,
            },
            generation: serde_json::Value::Null,
            warnings: Vec::new(),
            timings: Timings {
                translate_ms: 0,
                total_ms: 0,
                cached_segments: 0,
                translated_segments: 0,
            },
            fingerprint: String::new(),
            digest: DigestFacts::default(),
        }
    }
}
