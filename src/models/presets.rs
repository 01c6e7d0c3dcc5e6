//! The models the project knows how to run: `models/*.toml`, embedded in the
//! binary, each pinned to one hub commit with its licence and where every
//! fact came from.

use serde::{Deserialize, Serialize};

/// Every preset shipped with the binary. Embedded so that the tool works from
/// any directory; the `presets_parse_and_are_pinned` test guards their syntax.
pub(crate) const PRESET_SOURCES: &[(&str, &str)] = &[
    (
        "opus-mt-bn-en.toml",
        include_str!("../../models/opus-mt-bn-en.toml"),
    ),
    (
        "nllb-200-distilled-600M.toml",
        include_str!("../../models/nllb-200-distilled-600M.toml"),
    ),
    (
        "nllb-200-distilled-1.3B.toml",
        include_str!("../../models/nllb-200-distilled-1.3B.toml"),
    ),
    (
        "nllb-200-3.3B.toml",
        include_str!("../../models/nllb-200-3.3B.toml"),
    ),
    (
        "banglat5-nmt-bn-en.toml",
        include_str!("../../models/banglat5-nmt-bn-en.toml"),
    ),
    (
        "madlad400-3b-mt.toml",
        include_str!("../../models/madlad400-3b-mt.toml"),
    ),
    (
        "madlad400-3b-mt-q4k.toml",
        include_str!("../../models/madlad400-3b-mt-q4k.toml"),
    ),
    (
        "qwen2.5-1.5b-instruct.toml",
        include_str!("../../models/qwen2.5-1.5b-instruct.toml"),
    ),
    (
        "qwen2.5-3b-instruct.toml",
        include_str!("../../models/qwen2.5-3b-instruct.toml"),
    ),
    ("qwen3-4b.toml", include_str!("../../models/qwen3-4b.toml")),
    (
        "llama-3.2-3b-instruct.toml",
        include_str!("../../models/llama-3.2-3b-instruct.toml"),
    ),
    (
        "gemma-3-1b-it.toml",
        include_str!("../../models/gemma-3-1b-it.toml"),
    ),
];

/// A model the project knows how to run, pinned to one hub commit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    /// Short name accepted by `--model`.
    pub name: String,
    /// Hub repository, `owner/name`.
    pub repo: String,
    /// Pinned commit (40 hex digits), so that every user runs the same bytes.
    pub revision: String,
    /// What the model is for: translation (`--model`, the default) or chat
    /// (`--summarizer`, `--translator`).
    #[serde(default)]
    pub kind: ModelKind,
    /// Model family, e.g. `marian`, `t5`, `qwen2`; picks the backend.
    pub family: PresetFamily,
    /// Direction of a translation model; chat models have none.
    #[serde(default)]
    pub(crate) languages: Option<PresetLanguages>,
    /// Licence of the weights as the hub repository declares it.
    pub licence: String,
    /// Approximate download size, for people deciding whether to fetch it.
    pub size: String,
    #[serde(default)]
    pub params: Option<String>,
    /// Files to download from the repo at `revision`; together they must form
    /// a complete layout (config, weights, tokenizer). Shards named by a
    /// listed `*.index.json` are fetched too.
    pub files: Vec<String>,
    /// Files fetched when the repo has them (their presence at the pinned
    /// revision is not confirmed); a 404 is not an error.
    #[serde(default)]
    pub(crate) optional_files: Vec<String>,
    #[serde(default)]
    pub(crate) notes: String,
    /// FLORES-200 devtest chrF++ for the preset's direction, where published.
    #[serde(default)]
    pub flores_chrf: Option<f64>,
}

/// What a model is for, which decides the files it needs and the flag that
/// takes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// An encoder-decoder translation model (`--model`).
    #[default]
    Translation,
    /// An instruction-tuned decoder-only model (`--summarizer`, `--translator`).
    Chat,
}

impl ModelKind {
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Translation => "translation",
            ModelKind::Chat => "chat",
        }
    }

    /// The flags that take a model of this kind, for error messages.
    pub(crate) fn flags(self) -> &'static str {
        match self {
            ModelKind::Translation => "--model",
            ModelKind::Chat => "--summarizer or --translator",
        }
    }
}

/// The model families presets name, written as `config.json`'s
/// `model_type` (or a GGUF file's `general.architecture`) spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PresetFamily {
    #[serde(rename = "marian")]
    Marian,
    /// M2M100 and NLLB-200.
    #[serde(rename = "m2m_100")]
    M2m100,
    /// T5 v1.1, mT5, BanglaT5, MADLAD-400.
    #[serde(rename = "t5")]
    T5,
    /// Qwen2 and Qwen2.5.
    #[serde(rename = "qwen2")]
    Qwen2,
    #[serde(rename = "qwen3")]
    Qwen3,
    /// Llama 3.x.
    #[serde(rename = "llama")]
    Llama,
    #[serde(rename = "gemma3")]
    Gemma3,
}

impl PresetFamily {
    /// The name as the preset files write it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            PresetFamily::Marian => "marian",
            PresetFamily::M2m100 => "m2m_100",
            PresetFamily::T5 => "t5",
            PresetFamily::Qwen2 => "qwen2",
            PresetFamily::Qwen3 => "qwen3",
            PresetFamily::Llama => "llama",
            PresetFamily::Gemma3 => "gemma3",
        }
    }
}

impl std::fmt::Display for PresetFamily {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `pad`, not `write_str`: `models list` aligns it in a column.
        f.pad(self.name())
    }
}

/// Translation direction of a preset, as short language codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PresetLanguages {
    pub(crate) source: String,
    pub(crate) target: String,
}

/// All presets embedded in the binary, in a fixed order.
pub fn presets() -> Vec<Preset> {
    PRESET_SOURCES
        .iter()
        .map(|(file, text)| {
            toml::from_str(text).unwrap_or_else(|err| {
                // Embedded at compile time and checked by a unit test, so this
                // can only fire on a build that skipped the tests.
                panic!("embedded preset models/{file} does not parse: {err}")
            })
        })
        .collect()
}

/// The preset called `name`, if there is one.
pub fn find_preset(name: &str) -> Option<Preset> {
    presets().into_iter().find(|preset| preset.name == name)
}
