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

/// Summary of (a part of) an article.
pub const SUMMARIZE: &str = "summarize";
/// The retry after a summary named things the article does not say.
pub const SUMMARIZE_STRICT: &str = "summarize-strict";
/// One summary from the summaries of an article's parts.
pub const SUMMARIZE_REDUCE: &str = "summarize-reduce";
/// A headline from a summary.
pub const HEADLINE: &str = "headline";
/// Translation of one Bengali paragraph, with few-shot examples.
pub const TRANSLATE: &str = "translate";
/// The opening paragraph of a digest.
pub const DIGEST_INTRO: &str = "digest-intro";

/// Extension of template files; the name of a prompt is the file name
/// without it.
pub const TEMPLATE_EXTENSION: &str = ".md.j2";
/// File of few-shot examples for [`TRANSLATE`], one JSON object
/// `{"bn": …, "en": …}` per line.
pub const TRANSLATE_EXAMPLES_FILE: &str = "translate-examples.jsonl";

const BUILT_IN: &[(&str, &str)] = &[
    (SUMMARIZE, include_str!("../../prompts/summarize.md.j2")),
    (
        SUMMARIZE_STRICT,
        include_str!("../../prompts/summarize-strict.md.j2"),
    ),
    (
        SUMMARIZE_REDUCE,
        include_str!("../../prompts/summarize-reduce.md.j2"),
    ),
    (HEADLINE, include_str!("../../prompts/headline.md.j2")),
    (TRANSLATE, include_str!("../../prompts/translate.md.j2")),
    (
        DIGEST_INTRO,
        include_str!("../../prompts/digest-intro.md.j2"),
    ),
];

const BUILT_IN_TRANSLATE_EXAMPLES: &str = include_str!("../../prompts/translate-examples.jsonl");

/// A Bengali sentence and its reference English translation, shown to the
/// model before the paragraph to translate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranslationExample {
    pub bn: String,
    pub en: String,
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
    sources: BTreeMap<String, Source>,
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
            let file_name = format!("{name}{TEMPLATE_EXTENSION}");
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
                .add_template_owned(name.to_string(), source.text.clone())
                .map_err(|error| PromptError::Syntax {
                    origin: source.origin.clone(),
                    source: error,
                })?;
            sources.insert(name.to_string(), source);
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
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.sources.keys().map(String::as_str)
    }

    /// Where template `name` came from: its file, or `built-in <file>`.
    pub fn origin(&self, name: &str) -> Option<&str> {
        self.sources.get(name).map(|source| source.origin.as_str())
    }

    /// The text of template `name`.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.sources.get(name).map(|source| source.text.as_str())
    }

    /// The few-shot examples for the translate prompt (pass them as its
    /// `examples` variable).
    pub fn translate_examples(&self) -> &[TranslationExample] {
        &self.translate_examples
    }

    /// Template `name` rendered with the variables of `context` (a JSON
    /// object). A variable the template uses but `context` lacks is an error.
    pub fn render(&self, name: &str, context: &serde_json::Value) -> Result<String, PromptError> {
        let source = self
            .sources
            .get(name)
            .ok_or_else(|| PromptError::Unknown(name.to_string()))?;
        let render_error = |error| PromptError::Render {
            origin: source.origin.clone(),
            source: error,
        };
        let template = self.environment.get_template(name).map_err(render_error)?;
        let rendered = template.render(context).map_err(render_error)?;
        Ok(rendered.trim().to_string())
    }

    /// SHA-256 (hex) of template `name` as loaded, for cache keys: an edit
    /// to the file changes it. The translate prompt's hash also covers its
    /// examples file, which changes its output as much as the template does.
    /// An unknown name hashes as the empty template.
    pub fn hash(&self, name: &str) -> String {
        let mut hasher = Sha256::new();
        if let Some(source) = self.sources.get(name) {
            hasher.update(source.text.as_bytes());
        }
        if name == TRANSLATE {
            hasher.update([0u8]);
            hasher.update(self.translate_examples_text.as_bytes());
        }
        hash::to_hex(&hasher.finalize())
    }

    /// The variables template `name` declares in its
    /// `{# variables: a, b #}` header, in the order written.
    pub fn declared_variables(&self, name: &str) -> Option<Vec<String>> {
        self.sources
            .get(name)
            .and_then(|source| header_variables(&source.text))
    }

    /// The variables template `name` reads from its context, as minijinja's
    /// analysis of the compiled template finds them.
    pub fn used_variables(&self, name: &str) -> Option<Vec<String>> {
        let template = self.environment.get_template(name).ok()?;
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
        let names: Vec<&str> = prompts.names().collect();
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
                SUMMARIZE,
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
            .render(SUMMARIZE, &json!({"title": "t", "sentences": 2}))
            .unwrap_err();
        assert!(matches!(error, PromptError::Render { .. }), "{error:?}");
    }

    #[test]
    fn unknown_prompt_name_is_an_error() {
        let prompts = Prompts::load(None).unwrap();
        assert!(matches!(
            prompts.render("nonexistent", &json!({})),
            Err(PromptError::Unknown(_))
        ));
    }

    #[test]
    fn built_in_translation_examples_parse() {
        let prompts = Prompts::load(None).unwrap();
        assert!(!prompts.translate_examples().is_empty());
        let rendered = prompts
            .render(
                TRANSLATE,
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
            .text(HEADLINE)
            .unwrap()
            .replace("at most 12 words", "at most 10 words");
        std::fs::write(dir.path().join("headline.md.j2"), &edited).unwrap();
        let overridden = Prompts::load(Some(dir.path())).unwrap();
        assert_ne!(overridden.hash(HEADLINE), built_in.hash(HEADLINE));
        assert_eq!(overridden.text(HEADLINE), Some(edited.as_str()));
        assert!(overridden
            .origin(HEADLINE)
            .unwrap()
            .ends_with("headline.md.j2"));
        for name in built_in.names().filter(|&name| name != HEADLINE) {
            assert_eq!(overridden.hash(name), built_in.hash(name), "{name}");
        }
        assert_eq!(overridden.hash(HEADLINE).len(), 64);
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
        assert_ne!(overridden.hash(TRANSLATE), built_in.hash(TRANSLATE));
        assert_eq!(overridden.hash(SUMMARIZE), built_in.hash(SUMMARIZE));
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
