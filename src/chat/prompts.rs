//! Prompt templates for the chat model (summaries, headlines, LLM
//! translation, the digest introduction), kept as Jinja files in `prompts/`
//! rather than `format!` strings in code so that they can be read, reviewed
//! and tuned without touching Rust.
//!
//! The built-in set is compiled into the binary, so it works from any
//! directory; `--prompts DIR` replaces it file by file. Each template starts
//! with a `{# variables: a, b #}` comment naming what it expects, and
//! [`Prompts::hash`] fingerprints the text that was used so that a cached
//! answer is not reused after a prompt changed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use minijinja::{Environment, UndefinedBehavior};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::hash;

/// A prompt template. Its name (`summarize`, `digest-intro`, …) is its file
/// name without [`TEMPLATE_EXTENSION`], its key in `prompt_hashes` and cache
/// keys, and how it is written in settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum PromptName {
    /// Summary of (a part of) an article.
    Summarize,
    /// The retry after a summary named things the article does not say.
    SummarizeStrict,
    /// One summary from the summaries of an article's parts.
    SummarizeReduce,
    /// A headline from a summary.
    Headline,
    /// Translation of one Bengali paragraph, with few-shot examples.
    Translate,
    /// The opening paragraph of a digest.
    DigestIntro,
}

impl PromptName {
    pub(crate) const ALL: [PromptName; 6] = [
        PromptName::Summarize,
        PromptName::SummarizeStrict,
        PromptName::SummarizeReduce,
        PromptName::Headline,
        PromptName::Translate,
        PromptName::DigestIntro,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PromptName::Summarize => "summarize",
            PromptName::SummarizeStrict => "summarize-strict",
            PromptName::SummarizeReduce => "summarize-reduce",
            PromptName::Headline => "headline",
            PromptName::Translate => "translate",
            PromptName::DigestIntro => "digest-intro",
        }
    }

    /// The template's file name in a prompts directory.
    pub(crate) fn file_name(self) -> String {
        format!("{}{TEMPLATE_EXTENSION}", self.as_str())
    }
}

impl std::fmt::Display for PromptName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl std::str::FromStr for PromptName {
    type Err = PromptError;

    fn from_str(name: &str) -> Result<Self, PromptError> {
        PromptName::ALL
            .into_iter()
            .find(|prompt| prompt.as_str() == name)
            .ok_or_else(|| PromptError::Unknown(name.to_string()))
    }
}

/// By name, so that maps keyed by prompt (`prompt_hashes`, which feed cache
/// keys and settings) keep the alphabetical order they had as strings.
impl Ord for PromptName {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for PromptName {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// As its name, also as a map key.
impl Serialize for PromptName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Extension of template files; the name of a prompt is the file name
/// without it.
pub(crate) const TEMPLATE_EXTENSION: &str = ".md.j2";
/// File of few-shot examples for [`PromptName::Translate`], one JSON object
/// `{"bn": …, "en": …}` per line.
pub(crate) const TRANSLATE_EXAMPLES_FILE: &str = "translate-examples.jsonl";

const BUILT_IN: &[(PromptName, &str)] = &[
    (
        PromptName::Summarize,
        include_str!("../../prompts/summarize.md.j2"),
    ),
    (
        PromptName::SummarizeStrict,
        include_str!("../../prompts/summarize-strict.md.j2"),
    ),
    (
        PromptName::SummarizeReduce,
        include_str!("../../prompts/summarize-reduce.md.j2"),
    ),
    (
        PromptName::Headline,
        include_str!("../../prompts/headline.md.j2"),
    ),
    (
        PromptName::Translate,
        include_str!("../../prompts/translate.md.j2"),
    ),
    (
        PromptName::DigestIntro,
        include_str!("../../prompts/digest-intro.md.j2"),
    ),
];

const BUILT_IN_TRANSLATE_EXAMPLES: &str = include_str!("../../prompts/translate-examples.jsonl");

/// A Bengali sentence and its reference English translation, shown to the
/// model before the paragraph to translate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TranslationExample {
    pub(crate) bn: String,
    pub(crate) en: String,
}

/// Why prompts could not be loaded or rendered.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("cannot read prompts directory {path}")]
    ReadDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read prompt file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("syntax error in prompt template {origin}")]
    Syntax {
        /// The file, or `built-in <name>`.
        origin: String,
        #[source]
        source: minijinja::Error,
    },
    #[error("bad translation example on line {line} of {origin}")]
    Example {
        origin: String,
        line: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("no prompt template named {0:?}")]
    Unknown(String),
    #[error("cannot render prompt template {origin}")]
    Render {
        origin: String,
        #[source]
        source: minijinja::Error,
    },
}

/// One template as loaded: where it came from, for error messages and
/// reports, and its text, for hashing.
#[derive(Debug, Clone)]
struct Source {
    origin: String,
    text: String,
}

/// The prompt templates in use: built-in ones with any overrides applied.
pub struct Prompts {
    environment: Environment<'static>,
    /// Every [`PromptName`]: `load` fills them all.
    sources: BTreeMap<PromptName, Source>,
    translate_examples: Vec<TranslationExample>,
    /// The examples file's text, part of the translate prompt's hash.
    translate_examples_text: String,
}

impl std::fmt::Debug for Prompts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prompts")
            .field("sources", &self.sources)
            .field("translate_examples", &self.translate_examples.len())
            .finish()
    }
}

impl Prompts {
    /// The built-in templates, each replaced by `DIR/<name>.md.j2` (and the
    /// examples by `DIR/translate-examples.jsonl`) where `dir` has that file.
    /// Other files in `dir` are ignored. Every template is compiled here, so
    /// a syntax error is reported at start-up with the file it is in.
    pub fn load(dir: Option<&Path>) -> Result<Self, PromptError> {
        if let Some(dir) = dir {
            // A mistyped --prompts must not silently fall back to the built-ins.
            std::fs::read_dir(dir).map_err(|source| PromptError::ReadDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let mut environment = Environment::new();
        // A variable the caller forgot must fail loudly, not render as "".
        environment.set_undefined_behavior(UndefinedBehavior::Strict);
        environment.set_trim_blocks(true);
        environment.set_lstrip_blocks(true);

        let mut sources = BTreeMap::new();
        for &(name, built_in) in BUILT_IN {
            let file_name = name.file_name();
            let source = match read_override(dir, &file_name)? {
                Some((path, text)) => Source {
                    origin: path.display().to_string(),
                    text,
                },
                None => Source {
                    origin: format!("built-in {file_name}"),
                    text: built_in.to_string(),
                },
            };
            environment
                .add_template_owned(name.as_str(), source.text.clone())
                .map_err(|error| PromptError::Syntax {
                    origin: source.origin.clone(),
                    source: error,
                })?;
            sources.insert(name, source);
        }

        let (examples_origin, translate_examples_text) =
            match read_override(dir, TRANSLATE_EXAMPLES_FILE)? {
                Some((path, text)) => (path.display().to_string(), text),
                None => (
                    format!("built-in {TRANSLATE_EXAMPLES_FILE}"),
                    BUILT_IN_TRANSLATE_EXAMPLES.to_string(),
                ),
            };
        let translate_examples = parse_examples(&examples_origin, &translate_examples_text)?;

        Ok(Self {
            environment,
            sources,
            translate_examples,
            translate_examples_text,
        })
    }

    /// Names of the templates, in alphabetical order.
    #[cfg(test)]
    pub(crate) fn names(&self) -> impl Iterator<Item = PromptName> + '_ {
        self.sources.keys().copied()
    }

    fn source(&self, name: PromptName) -> &Source {
        &self.sources[&name]
    }

    /// Where template `name` came from: its file, or `built-in <file>`.
    pub(crate) fn origin(&self, name: PromptName) -> &str {
        &self.source(name).origin
    }

    /// The text of template `name`.
    pub(crate) fn text(&self, name: PromptName) -> &str {
        &self.source(name).text
    }

    /// The few-shot examples for the translate prompt (pass them as its
    /// `examples` variable).
    pub(crate) fn translate_examples(&self) -> &[TranslationExample] {
        &self.translate_examples
    }

    /// Template `name` rendered with the variables of `context` (a JSON
    /// object). A variable the template uses but `context` lacks is an error.
    pub(crate) fn render(
        &self,
        name: PromptName,
        context: &serde_json::Value,
    ) -> Result<String, PromptError> {
        let render_error = |error| PromptError::Render {
            origin: self.origin(name).to_string(),
            source: error,
        };
        let template = self
            .environment
            .get_template(name.as_str())
            .map_err(render_error)?;
        let rendered = template.render(context).map_err(render_error)?;
        Ok(rendered.trim().to_string())
    }

    /// SHA-256 (hex) of template `name` as loaded, for cache keys: an edit
    /// to the file changes it. The translate prompt's hash also covers its
    /// examples file, which changes its output as much as the template does.
    pub(crate) fn hash(&self, name: PromptName) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.text(name).as_bytes());
        if name == PromptName::Translate {
            hasher.update([0u8]);
            hasher.update(self.translate_examples_text.as_bytes());
        }
        hash::to_hex(&hasher.finalize())
    }

    /// The variables template `name` declares in its
    /// `{# variables: a, b #}` header, in the order written.
    #[cfg(test)]
    pub(crate) fn declared_variables(&self, name: PromptName) -> Option<Vec<String>> {
        header_variables(self.text(name))
    }

    /// The variables template `name` reads from its context, as minijinja's
    /// analysis of the compiled template finds them.
    #[cfg(test)]
    pub(crate) fn used_variables(&self, name: PromptName) -> Option<Vec<String>> {
        let template = self.environment.get_template(name.as_str()).ok()?;
        let mut used: Vec<String> = template.undeclared_variables(false).into_iter().collect();
        used.sort();
        Some(used)
    }
}

fn read_override(
    dir: Option<&Path>,
    file_name: &str,
) -> Result<Option<(PathBuf, String)>, PromptError> {
    let Some(dir) = dir else {
        return Ok(None);
    };
    let path = dir.join(file_name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some((path, text))),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(PromptError::Read { path, source }),
    }
}

fn parse_examples(origin: &str, text: &str) -> Result<Vec<TranslationExample>, PromptError> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            serde_json::from_str(line).map_err(|source| PromptError::Example {
                origin: origin.to_string(),
                line: index + 1,
                source,
            })
        })
        .collect()
}

/// The names listed in a leading `{# variables: a, b #}` comment.
#[cfg(test)]
fn header_variables(text: &str) -> Option<Vec<String>> {
    let rest = text.trim_start().strip_prefix("{#")?;
    let (comment, _) = rest.split_once("#}")?;
    let list = comment.trim().strip_prefix("variables:")?;
    Some(
        list.split(',')
            .map(|name| name.trim().to_string())
            .filter(|name| !name.is_empty())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map, Value};

    /// A plausible value for each variable the built-in templates declare;
    /// lists get two entries so loops are exercised.
    fn sample_value(variable: &str) -> Value {
        match variable {
            "sentences" => json!(3),
            "part" => json!(2),
            "parts" => json!(3),
            "terms" => json!(["300", "Rahim"]),
            "summaries" => json!(["First part.", "Second part."]),
            "examples" => json!([{"bn": "এক", "en": "one"}, {"bn": "দুই", "en": "two"}]),
            "articles" => json!([
                {"title": "Fire in Mirpur", "summary": "Three people died."},
                {"title": "Exports rise", "summary": "Up 10 percent."}
            ]),
            other => json!(format!("<{other}>")),
        }
    }

    #[test]
    fn every_built_in_template_renders_with_exactly_its_declared_variables() {
        let prompts = Prompts::load(None).unwrap();
        let names: Vec<PromptName> = prompts.names().collect();
        assert_eq!(names.len(), BUILT_IN.len());
        for name in names {
            let declared = prompts
                .declared_variables(name)
                .unwrap_or_else(|| panic!("{name} lacks a {{# variables: … #}} header"));
            let mut used = prompts.used_variables(name).unwrap();
            // `loop` is minijinja's own, not the caller's.
            used.retain(|variable| variable != "loop");
            let mut declared_sorted = declared.clone();
            declared_sorted.sort();
            assert_eq!(
                declared_sorted, used,
                "{name}: header and template disagree"
            );

            let context: Map<String, Value> = declared
                .iter()
                .map(|variable| (variable.clone(), sample_value(variable)))
                .collect();
            let rendered = prompts.render(name, &Value::Object(context)).unwrap();
            for variable in &declared {
                if let Some(text) = sample_value(variable).as_str() {
                    assert!(rendered.contains(text), "{name} does not show {variable}");
                }
            }
            assert!(!rendered.contains("{{") && !rendered.contains("{%"));
        }
    }

    #[test]
    fn summarize_prompt_asks_for_the_requested_length_and_shows_the_article() {
        let prompts = Prompts::load(None).unwrap();
        let rendered = prompts
            .render(
                PromptName::Summarize,
                &json!({"title": "Fire in Mirpur", "text": "Three people died. \"A & B\" <said>.",
                        "sentences": 2, "part": 1, "parts": 1}),
            )
            .unwrap();
        // Prompts are plain text: nothing may be HTML-escaped.
        assert!(rendered.contains("\"A & B\" <said>."));
        assert!(!rendered.contains("variables:"));
        assert!(rendered.contains("in 2 sentences"));
        assert!(rendered.contains("Fire in Mirpur"));
        assert!(rendered.contains("Three people died."));
        assert!(!rendered.contains("part 1 of 1"));
    }

    #[test]
    fn a_missing_variable_is_an_error_not_an_empty_string() {
        let prompts = Prompts::load(None).unwrap();
        let error = prompts
            .render(
                PromptName::Summarize,
                &json!({"title": "t", "sentences": 2}),
            )
            .unwrap_err();
        assert!(matches!(error, PromptError::Render { .. }), "{error:?}");
    }

    #[test]
    fn unknown_prompt_name_is_an_error() {
        let prompts = Prompts::load(None).unwrap();
        assert!(matches!(
            "nonexistent".parse::<PromptName>(),
            Err(PromptError::Unknown(_))
        ));
        for name in prompts.names() {
            assert_eq!(name.as_str().parse::<PromptName>().unwrap(), name);
        }
    }

    #[test]
    fn prompt_names_are_the_file_names_and_keep_their_string_order() {
        let prompts = Prompts::load(None).unwrap();
        let names: Vec<&str> = prompts.names().map(PromptName::as_str).collect();
        assert_eq!(
            names,
            [
                "digest-intro",
                "headline",
                "summarize",
                "summarize-reduce",
                "summarize-strict",
                "translate"
            ]
        );
        assert_eq!(PromptName::DigestIntro.file_name(), "digest-intro.md.j2");
        // Maps keyed by name serialize as they did keyed by string.
        let by_name: BTreeMap<PromptName, String> = PromptName::ALL
            .into_iter()
            .map(|name| (name, prompts.hash(name)))
            .collect();
        let by_string: BTreeMap<String, String> = PromptName::ALL
            .into_iter()
            .map(|name| (name.as_str().to_string(), prompts.hash(name)))
            .collect();
        assert_eq!(
            serde_json::to_string(&by_name).unwrap(),
            serde_json::to_string(&by_string).unwrap()
        );
    }

    #[test]
    fn built_in_translation_examples_parse() {
        let prompts = Prompts::load(None).unwrap();
        assert!(!prompts.translate_examples().is_empty());
        let rendered = prompts
            .render(
                PromptName::Translate,
                &json!({"text": "পরীক্ষা", "examples": prompts.translate_examples()}),
            )
            .unwrap();
        assert!(rendered.contains(&prompts.translate_examples()[0].en));
        assert!(rendered.ends_with("Bengali: পরীক্ষা\nEnglish:"));
    }

    #[test]
    fn editing_one_override_changes_only_that_prompts_hash() {
        let built_in = Prompts::load(None).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let empty_override = Prompts::load(Some(dir.path())).unwrap();
        for name in built_in.names() {
            assert_eq!(built_in.hash(name), empty_override.hash(name));
        }

        let edited = built_in
            .text(PromptName::Headline)
            .replace("at most 12 words", "at most 10 words");
        std::fs::write(dir.path().join("headline.md.j2"), &edited).unwrap();
        let overridden = Prompts::load(Some(dir.path())).unwrap();
        assert_ne!(
            overridden.hash(PromptName::Headline),
            built_in.hash(PromptName::Headline)
        );
        assert_eq!(overridden.text(PromptName::Headline), edited.as_str());
        assert!(overridden
            .origin(PromptName::Headline)
            .ends_with("headline.md.j2"));
        for name in built_in
            .names()
            .filter(|&name| name != PromptName::Headline)
        {
            assert_eq!(overridden.hash(name), built_in.hash(name), "{name}");
        }
        assert_eq!(overridden.hash(PromptName::Headline).len(), 64);
    }

    #[test]
    fn new_translation_examples_change_the_translate_hash_only() {
        let built_in = Prompts::load(None).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(TRANSLATE_EXAMPLES_FILE),
            "{\"bn\": \"এক\", \"en\": \"one\"}\n",
        )
        .unwrap();
        let overridden = Prompts::load(Some(dir.path())).unwrap();
        assert_eq!(overridden.translate_examples().len(), 1);
        assert_ne!(
            overridden.hash(PromptName::Translate),
            built_in.hash(PromptName::Translate)
        );
        assert_eq!(
            overridden.hash(PromptName::Summarize),
            built_in.hash(PromptName::Summarize)
        );
    }

    #[test]
    fn syntax_error_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summarize.md.j2");
        std::fs::write(&path, "{# variables: text #}\n{% if text %}unclosed").unwrap();
        let error = Prompts::load(Some(dir.path())).unwrap_err();
        assert!(matches!(error, PromptError::Syntax { .. }));
        assert!(
            error.to_string().contains(&path.display().to_string()),
            "{error}"
        );
    }

    #[test]
    fn bad_example_line_is_reported_with_its_number() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(TRANSLATE_EXAMPLES_FILE),
            "{\"bn\": \"এক\", \"en\": \"one\"}\nnot json\n",
        )
        .unwrap();
        let error = Prompts::load(Some(dir.path())).unwrap_err();
        assert!(
            matches!(error, PromptError::Example { line: 2, .. }),
            "{error:?}"
        );
    }

    #[test]
    fn missing_prompts_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        assert!(matches!(
            Prompts::load(Some(&missing)),
            Err(PromptError::ReadDir { .. })
        ));
    }
}
