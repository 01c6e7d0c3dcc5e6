//! Reading articles from what the user names: files, directories (walked for
//! `.txt`, `.md`, `.html` and `.htm`), JSONL files (one `{id, text|html,
//! title?, url?, published?}` object a line) and `-` for stdin. HTML pages
//! are reduced to their main-content text and metadata here.
//!
//! Every problem with one input becomes an [`InputError`] naming it and the
//! reason, so that the batch goes on with the others.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::text;

pub(crate) mod html;

/// Facts already known about a page (from HTML metadata or a JSONL record);
/// each one wins over what the text rules find.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PageHints {
    pub(crate) title: Option<String>,
    pub(crate) published: Option<String>,
    pub(crate) updated: Option<String>,
    pub(crate) source: Option<String>,
    pub(crate) byline: Option<String>,
}

/// An article as read, before any processing.
#[derive(Debug, Clone, PartialEq)]
pub struct Article {
    /// File stem or JSONL `id`; made file-name safe and unique later.
    pub raw_id: String,
    /// Where it came from, as shown to the user: a path, `path#line`, `stdin`.
    pub(crate) input: String,
    /// The page as text: one block a line (HTML already reduced).
    pub text: String,
    pub(crate) url: Option<String>,
    /// What the input itself says (JSONL fields, HTML metadata); these win
    /// over what extraction finds in the text.
    pub hints: PageHints,
}

/// Why one input could not be used.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{input}: cannot read: {source}")]
    Read {
        input: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{input}: not UTF-8 text (invalid byte at offset {offset})")]
    NotUtf8 { input: String, offset: usize },
    #[error("{input}: looks binary (contains NUL bytes)")]
    Binary { input: String },
    #[error("{input}: empty")]
    Empty { input: String },
    #[error("{input}: no Bengali text")]
    NoBengali { input: String },
    #[error("{input}: bad JSONL record: {reason}")]
    BadRecord { input: String, reason: String },
    #[error("{input}: no such file or directory")]
    NotFound { input: String },
    #[error(
        "{input}: {size} bytes is too large for one article (limit {limit} bytes); \
         split it, or give many articles as a .jsonl file"
    )]
    TooLarge {
        input: String,
        size: u64,
        limit: u64,
    },
}

impl InputError {
    /// The input the error is about, for the digest's list of failures.
    pub(crate) fn input(&self) -> &str {
        match self {
            InputError::Read { input, .. }
            | InputError::NotUtf8 { input, .. }
            | InputError::Binary { input }
            | InputError::Empty { input }
            | InputError::NoBengali { input }
            | InputError::BadRecord { input, .. }
            | InputError::NotFound { input }
            | InputError::TooLarge { input, .. } => input,
        }
    }
}

#[derive(Deserialize)]
struct Record {
    id: serde_json::Value,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    html: Option<String>,
    title: Option<String>,
    url: Option<String>,
    published: Option<String>,
}

/// The largest single page read: far beyond any news article (a long story
/// is ~100 KB of text, a heavy web page a few MB), small enough that a stray
/// dump cannot start hours of translation or exhaust memory.
pub(crate) const MAX_ARTICLE_BYTES: u64 = 20 * 1024 * 1024;

/// Extensions picked up when walking a directory.
const ARTICLE_EXTENSIONS: &[&str] = &["txt", "md", "html", "htm"];

/// Reads every article named by `inputs`, in a stable order: inputs as given,
/// directory entries sorted by path.
pub fn read_inputs(inputs: &[String]) -> Vec<Result<Article, InputError>> {
    let mut articles = Vec::new();
    for input in inputs {
        if input == "-" {
            let mut bytes = Vec::new();
            articles.push(
                std::io::stdin()
                    .take(MAX_ARTICLE_BYTES + 1)
                    .read_to_end(&mut bytes)
                    .map_err(|source| InputError::Read {
                        input: "stdin".into(),
                        source,
                    })
                    .and_then(|_| {
                        if bytes.len() as u64 > MAX_ARTICLE_BYTES {
                            return Err(InputError::TooLarge {
                                input: "stdin".into(),
                                size: bytes.len() as u64,
                                limit: MAX_ARTICLE_BYTES,
                            });
                        }
                        article_from_bytes("stdin", "stdin", &bytes, false)
                    }),
            );
            continue;
        }
        let path = Path::new(input);
        if path.is_dir() {
            let mut files = Vec::new();
            walk(path, &mut files, &mut articles);
            files.sort();
            for file in files {
                read_file(&file, &mut articles);
            }
        } else if path.exists() {
            read_file(path, &mut articles);
        } else {
            articles.push(Err(InputError::NotFound {
                input: input.clone(),
            }));
        }
    }
    articles
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<Result<Article, InputError>>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(source) => {
            errors.push(Err(InputError::Read {
                input: dir.display().to_string(),
                source,
            }));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, files, errors);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| ARTICLE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
            // A folder's README describes the folder; it is not an article.
            && !path
                .file_stem()
                .is_some_and(|s| s.eq_ignore_ascii_case("readme"))
        {
            files.push(path);
        }
    }
}

fn read_file(path: &Path, out: &mut Vec<Result<Article, InputError>>) {
    let input = path.display().to_string();
    let is_jsonl = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("jsonl"));
    if let Ok(meta) = std::fs::metadata(path) {
        if !is_jsonl && meta.len() > MAX_ARTICLE_BYTES {
            out.push(Err(InputError::TooLarge {
                input,
                size: meta.len(),
                limit: MAX_ARTICLE_BYTES,
            }));
            return;
        }
    }
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(source) => {
            out.push(Err(InputError::Read { input, source }));
            return;
        }
    };
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let is_html = extension == "html" || extension == "htm";
    if is_jsonl {
        match decode(&input, &bytes) {
            Ok(text) => out.extend(records(&input, &text)),
            Err(e) => out.push(Err(e)),
        }
    } else {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "article".into());
        out.push(article_from_bytes(&input, &stem, &bytes, is_html));
    }
}

fn decode(input: &str, bytes: &[u8]) -> Result<String, InputError> {
    if bytes.contains(&0) {
        return Err(InputError::Binary {
            input: input.into(),
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| InputError::NotUtf8 {
        input: input.into(),
        offset: e.valid_up_to(),
    })?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text).to_string())
}

fn article_from_bytes(
    input: &str,
    raw_id: &str,
    bytes: &[u8],
    is_html: bool,
) -> Result<Article, InputError> {
    let text = decode(input, bytes)?;
    page(input, raw_id, &text, is_html, PageHints::default(), None)
}

/// An article from page text or HTML; `given` holds what the input's own
/// fields say, which wins over the HTML metadata.
fn page(
    input: &str,
    raw_id: &str,
    content: &str,
    is_html: bool,
    given: PageHints,
    url: Option<String>,
) -> Result<Article, InputError> {
    let (text, hints) = if is_html || html::looks_like_html(content) {
        let page = html::html_page(content);
        let found = page.hints;
        let hints = PageHints {
            title: given.title.or(found.title),
            published: given.published.or(found.published),
            updated: given.updated.or(found.updated),
            source: given.source.or(found.source),
            byline: given.byline.or(found.byline),
        };
        (page.text, hints)
    } else {
        (content.to_string(), given)
    };
    check_text(input, &text)?;
    Ok(Article {
        raw_id: raw_id.into(),
        input: input.into(),
        text,
        url,
        hints,
    })
}

fn check_text(input: &str, text: &str) -> Result<(), InputError> {
    if text.trim().is_empty() {
        return Err(InputError::Empty {
            input: input.into(),
        });
    }
    if !text::has_bengali(text) {
        return Err(InputError::NoBengali {
            input: input.into(),
        });
    }
    Ok(())
}

fn records(input: &str, text: &str) -> Vec<Result<Article, InputError>> {
    let mut out = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("{input}#{}", number + 1);
        let record = match serde_json::from_str::<Record>(line) {
            Ok(record) => record,
            Err(e) => {
                out.push(Err(InputError::BadRecord {
                    input: at,
                    reason: e.to_string(),
                }));
                continue;
            }
        };
        let raw_id = match &record.id {
            serde_json::Value::String(s) if !s.trim().is_empty() => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => {
                out.push(Err(InputError::BadRecord {
                    input: at,
                    reason: "`id` must be a non-empty string or a number".into(),
                }));
                continue;
            }
        };
        let given = PageHints {
            title: record.title.filter(|t| !t.trim().is_empty()),
            published: record.published,
            ..PageHints::default()
        };
        let article = match (record.text, record.html) {
            (Some(text), _) => page(&at, &raw_id, &text, false, given, record.url),
            (None, Some(html)) => page(&at, &raw_id, &html, true, given, record.url),
            (None, None) => Err(InputError::BadRecord {
                input: at.clone(),
                reason: "needs a `text` or an `html` field".into(),
            }),
        };
        out.push(article);
    }
    if out.is_empty() {
        out.push(Err(InputError::Empty {
            input: input.into(),
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_records_become_articles_and_bad_lines_are_reported() {
        let text = "{\"id\": \"a1\", \"text\": \"ঢাকায় বৃষ্টি।\", \"title\": \"বৃষ্টি\"}\n\
                    not json\n\
                    {\"id\": 7, \"text\": \"hello\"}\n";
        let got = records("in.jsonl", text);
        assert_eq!(got.len(), 3);
        let first = got[0].as_ref().unwrap();
        assert_eq!(first.raw_id, "a1");
        assert_eq!(first.hints.title.as_deref(), Some("বৃষ্টি"));
        assert_eq!(first.input, "in.jsonl#1");
        assert!(
            matches!(got[1], Err(InputError::BadRecord { ref input, .. }) if input == "in.jsonl#2")
        );
        assert!(matches!(got[2], Err(InputError::NoBengali { .. })));
    }

    #[test]
    fn bad_bytes_are_named() {
        assert!(matches!(
            article_from_bytes("x.txt", "x", b"\xff\xfe\x00a", false),
            Err(InputError::Binary { .. })
        ));
        assert!(matches!(
            article_from_bytes("x.txt", "x", b"abc \xff", false),
            Err(InputError::NotUtf8 { offset: 4, .. })
        ));
        assert!(matches!(
            article_from_bytes("x.txt", "x", b"  \n", false),
            Err(InputError::Empty { .. })
        ));
    }
}
