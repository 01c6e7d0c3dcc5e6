//! Per-article outputs (`<id>.json`, `<id>.md`) and the run's digest, as
//! `digest.md` and as a self-contained `digest.html` for reading in a
//! browser or on a phone. Both show stories about one event together
//! ([`crate::digest_groups`]).
//!
//! Every file is written to a temporary file in the output directory and then
//! renamed over the target, so a reader or a killed run never sees a
//! half-written file. A file whose content would not change is left alone,
//! which keeps modification times meaningful for tools that watch the
//! directory. The digest holds no timestamps, so rerunning on the same inputs
//! leaves it byte-identical.

use std::collections::HashSet;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::digest_groups::{group_stories, StoryGroup};
use crate::sources::display_source_name;
use thiserror::Error;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// File name of the digest inside the output directory.
pub const DIGEST_FILE_NAME: &str = "digest.md";

/// File name of the HTML digest, next to [`DIGEST_FILE_NAME`].
pub const DIGEST_HTML_FILE_NAME: &str = "digest.html";

/// Longest id, in characters, that [`safe_id`] produces.
pub const MAX_ID_CHARS: usize = 100;

/// Longest id in bytes: Bengali takes three bytes a character in UTF-8, and
/// file names are limited to 255 bytes with room needed for `-N.json`.
const MAX_ID_BYTES: usize = 200;

/// Id used when nothing usable is left of the raw one.
const FALLBACK_ID: &str = "article";

/// A text in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bilingual {
    pub bn: String,
    pub en: String,
}

/// One source sentence and its translation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentencePair {
    pub bn: String,
    pub en: String,
}

/// The English summary and how it was made (e.g. `"model"`, `"extractive"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub text: String,
    pub method: String,
    /// A headline the chat model wrote from the summary, when it wrote one
    /// that keeps to the translation; it heads the story in the digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headline: Option<String>,
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
pub struct Timings {
    pub translate_ms: u64,
    pub total_ms: u64,
    pub cached_segments: usize,
    pub translated_segments: usize,
}

/// Everything written for one article; `<id>.json` is this, serialized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArticleOutput {
    pub id: String,
    /// Input path, `"stdin"`, or `"file.jsonl#line"`.
    pub input: String,
    pub title: Bilingual,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byline: Option<String>,
    pub paragraphs: Vec<Vec<SentencePair>>,
    pub summary: Summary,
    pub model: ModelInfo,
    /// The generation settings used.
    pub generation: serde_json::Value,
    pub warnings: Vec<String>,
    pub timings: Timings,
    /// Hash of inputs, settings and model identity: an equal fingerprint
    /// means the outputs would not change.
    pub fingerprint: String,
}

/// Why an output file could not be written.
#[derive(Debug, Error)]
pub enum OutputError {
    #[error("cannot create output directory {path}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot serialize article {id}")]
    Serialize {
        id: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("article id {id:?} is not a safe file name (use safe_id or IdAllocator)")]
    UnsafeId { id: String },
}

/// Turns any string (a title, a file stem, a JSON `id` field) into a file
/// name stem that is safe on Linux, macOS and Windows.
///
/// Unicode letters and digits (Bengali included, with its vowel signs and
/// virama), `-`, `_` and `.` are kept; anything else becomes `-`, runs of
/// `-` are collapsed, and leading or trailing `.`/`-` are removed. The result
/// is never empty, at most [`MAX_ID_CHARS`] characters, never a Windows
/// device name, and never clashes with the digest. Applying it twice changes
/// nothing.
pub fn safe_id(raw: &str) -> String {
    let mut id = String::new();
    for c in raw.nfc() {
        let kept = c.is_alphanumeric() || is_combining_mark(c) || matches!(c, '_' | '.' | '-');
        if kept {
            if c == '-' && id.ends_with('-') {
                continue;
            }
            id.push(c);
        } else if matches!(c, '\u{200c}' | '\u{200d}') {
            // Zero-width (non-)joiners only shape Bengali conjuncts; a `-`
            // in their place would split a word.
        } else if !id.ends_with('-') {
            id.push('-');
        }
    }
    let mut id = trim_id_edges(&id).to_string();
    if id.chars().count() > MAX_ID_CHARS || id.len() > MAX_ID_BYTES {
        let mut cut = String::new();
        for c in id.chars().take(MAX_ID_CHARS) {
            if cut.len() + c.len_utf8() > MAX_ID_BYTES {
                break;
            }
            cut.push(c);
        }
        id = trim_id_edges(&cut).to_string();
    }
    if id.is_empty() {
        return FALLBACK_ID.to_string();
    }
    if is_reserved(&id) {
        id.push('_');
    }
    id
}

fn trim_id_edges(id: &str) -> &str {
    id.trim_matches(|c| c == '.' || c == '-')
}

/// Names that would clash with the digest or that Windows refuses as file
/// names, whatever the extension.
fn is_reserved(id: &str) -> bool {
    let lower = id.to_lowercase();
    if lower == "digest" {
        return true;
    }
    let stem = lower.split('.').next().unwrap_or("");
    if matches!(stem, "con" | "prn" | "aux" | "nul") {
        return true;
    }
    ["com", "lpt"].iter().any(|prefix| {
        stem.strip_prefix(prefix).is_some_and(|digit| {
            digit.len() == 1 && digit.chars().all(|d| d.is_ascii_digit() && d != '0')
        })
    })
}

/// Hands out ids that are unique within one run: `x`, `x-2`, `x-3`, …
/// Uniqueness is case-insensitive because macOS and Windows file systems are.
#[derive(Debug, Default)]
pub struct IdAllocator {
    taken: HashSet<String>,
}

impl IdAllocator {
    pub fn new() -> IdAllocator {
        IdAllocator::default()
    }

    /// A safe, not yet used id derived from `raw`.
    pub fn allocate(&mut self, raw: &str) -> String {
        let base = safe_id(raw);
        let mut candidate = base.clone();
        let mut counter = 2_u64;
        while self.taken.contains(&candidate.to_lowercase()) {
            candidate = format!("{base}-{counter}");
            counter += 1;
        }
        self.taken.insert(candidate.to_lowercase());
        candidate
    }
}

fn json_path(out_dir: &Path, id: &str) -> PathBuf {
    out_dir.join(format!("{id}.json"))
}

fn markdown_path(out_dir: &Path, id: &str) -> PathBuf {
    out_dir.join(format!("{id}.md"))
}

/// The article previously written as `<id>.json`, or `None` when it is
/// missing or does not parse.
pub fn read_article(out_dir: &Path, id: &str) -> Option<ArticleOutput> {
    if safe_id(id) != id {
        return None;
    }
    let text = fs::read_to_string(json_path(out_dir, id)).ok()?;
    serde_json::from_str(&text).ok()
}

/// The fingerprint of the outputs already on disk for `id`, when both
/// `<id>.json` (readable) and `<id>.md` exist. `None` means the article must
/// be written again.
pub fn existing_fingerprint(out_dir: &Path, id: &str) -> Option<String> {
    let article = read_article(out_dir, id)?;
    if !markdown_path(out_dir, id).is_file() {
        return None;
    }
    Some(article.fingerprint)
}

/// Writes `<id>.json` and `<id>.md` for one article, atomically; files whose
/// content is unchanged are not touched.
pub fn write_article(out_dir: &Path, article: &ArticleOutput) -> Result<(), OutputError> {
    if safe_id(&article.id) != article.id {
        return Err(OutputError::UnsafeId {
            id: article.id.clone(),
        });
    }
    let mut json =
        serde_json::to_string_pretty(article).map_err(|source| OutputError::Serialize {
            id: article.id.clone(),
            source,
        })?;
    json.push('\n');
    ensure_dir(out_dir)?;
    write_if_changed(out_dir, &json_path(out_dir, &article.id), json.as_bytes())?;
    write_if_changed(
        out_dir,
        &markdown_path(out_dir, &article.id),
        render_article_markdown(article).as_bytes(),
    )
}

/// Writes `digest.md` and `digest.html`: the introduction a chat model
/// wrote (if any), every article, stories about the same event grouped,
/// groups newest first, then the inputs that failed with their reasons. The
/// order of `articles` and `failed` does not matter; the same set gives the
/// same bytes.
pub fn write_digest(
    out_dir: &Path,
    articles: &[ArticleOutput],
    failed: &[(String, String)],
    intro: Option<&str>,
) -> Result<(), OutputError> {
    ensure_dir(out_dir)?;
    write_if_changed(
        out_dir,
        &out_dir.join(DIGEST_FILE_NAME),
        render_digest(articles, failed, intro).as_bytes(),
    )?;
    write_if_changed(
        out_dir,
        &out_dir.join(DIGEST_HTML_FILE_NAME),
        render_digest_html(articles, failed, intro).as_bytes(),
    )
}

/// Label under a machine-written introduction, so nobody takes it for an
/// editor's.
const INTRO_LABEL: &str = "Introduction written by a language model from the summaries below.";

fn ensure_dir(out_dir: &Path) -> Result<(), OutputError> {
    fs::create_dir_all(out_dir).map_err(|source| OutputError::CreateDir {
        path: out_dir.to_path_buf(),
        source,
    })
}

/// Replaces `path` with `content` through a temporary file in the same
/// directory (a rename is atomic only within one file system), unless the
/// file already holds exactly `content`.
fn write_if_changed(out_dir: &Path, path: &Path, content: &[u8]) -> Result<(), OutputError> {
    if fs::read(path).is_ok_and(|existing| existing == content) {
        return Ok(());
    }
    let write_error = |source| OutputError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".anubad-").suffix(".tmp");
    // Temporary files are created private (0600); outputs are meant to be
    // shared like any file the user writes.
    #[cfg(unix)]
    let permissions = {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path)
            .map(|m| m.permissions())
            .unwrap_or_else(|_| fs::Permissions::from_mode(0o644))
    };
    #[cfg(unix)]
    builder.permissions(permissions);
    let mut temp = builder.tempfile_in(out_dir).map_err(write_error)?;
    temp.write_all(content).map_err(write_error)?;
    temp.as_file().sync_all().map_err(write_error)?;
    // On failure the temporary file is dropped, which deletes it.
    temp.persist(path).map_err(|e| write_error(e.error))?;
    Ok(())
}

/// Collapses all whitespace, newlines included, to single spaces, so a text
/// stays on its line or in its paragraph.
fn single_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Escapes `text` so Markdown shows it literally as inline text at the start
/// of a block (heading, paragraph, list item or link text).
fn escape_markdown(text: &str) -> String {
    let text = single_line(text);
    let chars: Vec<char> = text.chars().collect();
    // A trailing run of `#` would be taken as a heading's closing sequence.
    let trailing_hashes_from = chars
        .iter()
        .rposition(|&c| c != '#')
        .map_or(0, |last| last + 1);
    let leading_digits = chars.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut escaped = String::with_capacity(text.len() + 8);
    for (index, &c) in chars.iter().enumerate() {
        let needs_escape = match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' => true,
            '#' => index == 0 || index >= trailing_hashes_from,
            // Only at the start would these open a list, quote, rule or fence.
            '-' | '+' | '=' | '~' => index == 0,
            // `1.` or `1)` at the start would open an ordered list.
            '.' | ')' => {
                leading_digits > 0
                    && index == leading_digits
                    && chars.get(index + 1).is_none_or(|next| next.is_whitespace())
            }
            _ => false,
        };
        if needs_escape {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// A link destination in `<…>` form, which allows spaces and parentheses;
/// only the characters that would end it need encoding.
fn link_destination(url: &str) -> String {
    let mut encoded = String::from("<");
    for c in url.trim().chars() {
        match c {
            '<' => encoded.push_str("%3C"),
            '>' => encoded.push_str("%3E"),
            ' ' => encoded.push_str("%20"),
            c if c.is_whitespace() || c.is_control() => {}
            c => encoded.push(c),
        }
    }
    encoded.push('>');
    encoded
}

fn known(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The date a reader sorts by: publication, else the last update.
fn article_date(article: &ArticleOutput) -> Option<&str> {
    known(&article.published).or_else(|| known(&article.updated))
}

/// "2024-05-01 · Prothom Alo", or `None` when neither is known.
fn date_and_source(article: &ArticleOutput) -> Option<String> {
    let date = match (known(&article.published), known(&article.updated)) {
        (Some(published), _) => Some(published.to_string()),
        (None, Some(updated)) => Some(format!("updated {updated}")),
        (None, None) => None,
    };
    let source = known(&article.source).map(display_source_name);
    let parts: Vec<String> = [date.as_deref(), source.as_deref()]
        .into_iter()
        .flatten()
        .map(escape_markdown)
        .collect();
    (!parts.is_empty()).then(|| parts.join(" · "))
}

/// The story's English heading: the model's headline, else the translated
/// title, else the Bengali one, else the id.
fn english_title(article: &ArticleOutput) -> String {
    let headline = article.summary.headline.as_deref().unwrap_or("");
    [headline, &article.title.en, &article.title.bn, &article.id]
        .into_iter()
        .map(single_line)
        .find(|t| !t.is_empty())
        .unwrap_or_default()
}

fn is_extractive(summary: &Summary) -> bool {
    summary.method.trim().eq_ignore_ascii_case("extractive")
}

fn model_line(model: &ModelInfo) -> String {
    let mut line = format!("Translated by {}", escape_markdown(&model.name));
    if let Some(revision) = known(&model.revision) {
        line.push_str(&format!(" (revision {})", escape_markdown(revision)));
    }
    match known(&model.licence) {
        Some(licence) => line.push_str(&format!(", licence: {}.", escape_markdown(licence))),
        None => line.push_str(", licence unknown."),
    }
    line
}

fn paragraph_text(sentences: &[SentencePair], pick: fn(&SentencePair) -> &str) -> String {
    let joined: Vec<String> = sentences
        .iter()
        .map(|pair| single_line(pick(pair)))
        .filter(|s| !s.is_empty())
        .collect();
    escape_markdown(&joined.join(" "))
}

fn render_article_markdown(article: &ArticleOutput) -> String {
    let mut md = String::new();
    md.push_str(&format!(
        "# {}\n\n",
        escape_markdown(&english_title(article))
    ));
    let translated_title = single_line(&article.title.en);
    if article.summary.headline.is_some() && !translated_title.is_empty() {
        md.push_str(&format!(
            "Translated title: {}\n\n",
            escape_markdown(&translated_title)
        ));
    }
    if let Some(line) = date_and_source(article) {
        md.push_str(&format!("{line}\n\n"));
    }
    if let Some(url) = known(&article.url) {
        md.push_str(&format!(
            "[Original article]({})\n\n",
            link_destination(url)
        ));
    }

    md.push_str("## Summary\n\n");
    let summary = single_line(&article.summary.text);
    if summary.is_empty() {
        md.push_str("_No summary._\n\n");
    } else {
        md.push_str(&format!("{}\n\n", escape_markdown(&summary)));
    }
    if is_extractive(&article.summary) {
        md.push_str("_Extractive summary: sentences selected from the translation._\n\n");
    }

    md.push_str("## Translation\n\n");
    for paragraph in &article.paragraphs {
        let text = paragraph_text(paragraph, |pair| &pair.en);
        if !text.is_empty() {
            md.push_str(&format!("{text}\n\n"));
        }
    }

    md.push_str("## Original (Bengali)\n\n");
    let bengali_title = single_line(&article.title.bn);
    if !bengali_title.is_empty() {
        md.push_str(&format!("**{}**\n\n", escape_markdown(&bengali_title)));
    }
    for paragraph in &article.paragraphs {
        let text = paragraph_text(paragraph, |pair| &pair.bn);
        if !text.is_empty() {
            md.push_str(&format!("{text}\n\n"));
        }
    }

    if !article.warnings.is_empty() {
        md.push_str("## Warnings\n\n");
        for warning in &article.warnings {
            md.push_str(&format!("- {}\n", escape_markdown(warning)));
        }
        md.push('\n');
    }

    md.push_str("---\n\n");
    md.push_str(&format!("_{}_\n", model_line(&article.model)));
    md
}

/// Newest first by `published` (ISO 8601 dates sort as text), undated
/// articles after, ties broken by id so the order never depends on input
/// order.
fn digest_order(articles: &[ArticleOutput]) -> Vec<&ArticleOutput> {
    let mut ordered: Vec<&ArticleOutput> = articles.iter().collect();
    ordered.sort_by(|a, b| {
        let date_order = match (article_date(a), article_date(b)) {
            (Some(x), Some(y)) => y.cmp(x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        date_order.then_with(|| a.id.cmp(&b.id))
    });
    ordered
}

fn render_digest(
    articles: &[ArticleOutput],
    failed: &[(String, String)],
    intro: Option<&str>,
) -> String {
    let mut md = String::from("# Anubad digest\n\n");

    let count = articles.len();
    if count == 0 {
        md.push_str("No articles were translated.\n\n");
    } else {
        let mut models: Vec<String> = articles
            .iter()
            .map(|a| {
                let licence = known(&a.model.licence).unwrap_or("licence unknown");
                format!(
                    "{} ({})",
                    escape_markdown(&a.model.name),
                    escape_markdown(licence)
                )
            })
            .collect();
        models.sort();
        models.dedup();
        let noun = if count == 1 { "article" } else { "articles" };
        md.push_str(&format!(
            "{count} {noun} translated with {}.\n\n",
            models.join(", ")
        ));
    }
    if let Some(intro) = intro.map(single_line).filter(|i| !i.is_empty()) {
        md.push_str(&format!(
            "{}\n\n_{INTRO_LABEL}_\n\n",
            escape_markdown(&intro)
        ));
    }

    for group in digest_groups(articles) {
        let story_level = if group.stories.len() > 1 {
            md.push_str(&format!(
                "## {}\n\n",
                escape_markdown(&group_heading(&group))
            ));
            "###"
        } else {
            "##"
        };
        for article in &group.stories {
            md.push_str(&format!(
                "{story_level} [{}]({})\n\n",
                escape_markdown(&english_title(article)),
                link_destination(&format!("{}.md", article.id))
            ));
            if let Some(line) = date_and_source(article) {
                md.push_str(&format!("{line}\n\n"));
            }
            let summary = single_line(&article.summary.text);
            if !summary.is_empty() {
                md.push_str(&format!("{}\n\n", escape_markdown(&summary)));
            }
            match article.warnings.len() {
                0 => {}
                1 => md.push_str("_1 warning_\n\n"),
                n => md.push_str(&format!("_{n} warnings_\n\n")),
            }
        }
    }

    if !failed.is_empty() {
        let mut failed: Vec<&(String, String)> = failed.iter().collect();
        failed.sort();
        md.push_str("## Failed inputs\n\n");
        for (input, reason) in failed {
            md.push_str(&format!(
                "- {}: {}\n",
                escape_markdown(input),
                escape_markdown(reason)
            ));
        }
        md.push('\n');
    }
    // Exactly one newline at the end, whatever the last section was.
    let trimmed_len = md.trim_end().len();
    md.truncate(trimmed_len);
    md.push('\n');
    md
}

/// The digest's stories in digest order, grouped by event.
fn digest_groups(articles: &[ArticleOutput]) -> Vec<StoryGroup<'_>> {
    group_stories(&digest_order(articles))
}

/// "2 stories: Kim Jong Un, North Korea, Russia".
fn group_heading(group: &StoryGroup) -> String {
    let count = format!("{} stories", group.stories.len());
    if group.shared_terms.is_empty() {
        count
    } else {
        format!("{count}: {}", group.shared_terms.join(", "))
    }
}

/// Inline style sheet of `digest.html`: system fonts only, one readable
/// column on any width, and colours that follow the reader's dark mode.
const DIGEST_CSS: &str = "\
:root{color-scheme:light dark;--bg:#fdfdfc;--fg:#1c1c1e;--muted:#5f6368;--rule:#dcdcdc;\
--link:#0b57d0;--warn-bg:#fff4e0;--warn-fg:#7a4a00;--card:#ffffff}\
@media (prefers-color-scheme:dark){:root{--bg:#121214;--fg:#e8e8ea;--muted:#a0a4aa;\
--rule:#3a3a3e;--link:#8ab4f8;--warn-bg:#3a2a0c;--warn-fg:#ffd38a;--card:#1c1c20}}\
*{box-sizing:border-box}\
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}\
body{margin:0;background:var(--bg);color:var(--fg);\
font:1.0625rem/1.55 system-ui,-apple-system,\"Segoe UI\",Roboto,\"Noto Sans\",\"Helvetica Neue\",Arial,sans-serif}\
main{max-width:42rem;margin:0 auto;padding:1rem 1rem 3rem}\
header{border-bottom:1px solid var(--rule);margin-bottom:1.25rem}\
h1{font-size:1.6rem;line-height:1.2;margin:.5rem 0}\
.batch{color:var(--muted);margin:.25rem 0 1rem}\
h2.group{font-size:.95rem;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);\
margin:2rem 0 .5rem;padding-bottom:.25rem;border-bottom:1px solid var(--rule)}\
section.group>article{border-left:3px solid var(--rule);padding-left:.85rem}\
article{background:var(--card);margin:0 0 1.5rem}\
article h2,article h3{font-size:1.25rem;line-height:1.3;margin:0 0 .25rem}\
a{color:var(--link);text-underline-offset:.15em}\
h2 a,h3 a{text-decoration:none}h2 a:hover,h3 a:hover{text-decoration:underline}\
.meta{color:var(--muted);font-size:.9rem;margin:0 0 .5rem}\
.summary{margin:.5rem 0;overflow-wrap:anywhere}\
.method{display:inline-block;font-size:.75rem;text-transform:uppercase;letter-spacing:.05em;\
color:var(--muted);border:1px solid var(--rule);border-radius:.25rem;padding:0 .35rem;margin-right:.4rem}\
.warnings{background:var(--warn-bg);color:var(--warn-fg);border-radius:.35rem;\
padding:.4rem .75rem .4rem 1.75rem;margin:.5rem 0;font-size:.9rem}\
details{margin:.5rem 0}\
summary{cursor:pointer;color:var(--link);font-size:.95rem}\
.bn{font-family:\"Noto Sans Bengali\",\"Noto Serif Bengali\",\"Kohinoor Bangla\",\"Bangla Sangam MN\",\
Vrinda,\"Nirmala UI\",system-ui,sans-serif;line-height:1.8}\
.bn-title{font-weight:600}\
.failed li{overflow-wrap:anywhere}\
footer{color:var(--muted);font-size:.85rem;border-top:1px solid var(--rule);margin-top:2rem;padding-top:.75rem}";

/// Escapes text for HTML element content and double-quoted attributes.
fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => escaped.push(c),
        }
    }
    escaped
}

/// The link to the article's own page, when it is an `http(s)` address;
/// anything else (`javascript:`, `data:`, a local path) is not linked.
fn web_link(url: &str) -> Option<String> {
    let url = url.trim();
    let lower = url.to_ascii_lowercase();
    let is_web = lower.starts_with("https://") || lower.starts_with("http://");
    if !is_web {
        return None;
    }
    Some(
        url.chars()
            .filter(|c| *c == ' ' || !(c.is_whitespace() || c.is_control()))
            .map(|c| {
                if c == ' ' {
                    "%20".to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// An ISO 8601 date or date-time (`2024-12-01`, `2024-12-01T12:43:00+06:00`)
/// for a reader: "1 Dec 2024" or "1 Dec 2024, 12:43" in the time zone the
/// source gave. `None` when the text is not such a date; it is then shown
/// as written.
fn readable_date(iso: &str) -> Option<String> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let bytes = iso.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = iso.get(range)?;
        if part.bytes().all(|b| b.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let year = digits(0..4)?;
    if bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
        return None;
    }
    let month = digits(5..7).filter(|m| (1..=12).contains(m))?;
    let day = digits(8..10).filter(|d| (1..=31).contains(d))?;
    let date = format!("{day} {} {year}", MONTHS[month as usize - 1]);
    match bytes.get(10) {
        None => Some(date),
        Some(b'T' | b' ') => {
            let hour = digits(11..13).filter(|h| *h < 24)?;
            let minute = digits(14..16).filter(|m| *m < 60)?;
            if bytes.get(13) != Some(&b':') {
                return None;
            }
            Some(format!("{date}, {hour:02}:{minute:02}"))
        }
        Some(_) => None,
    }
}

/// `<time>` for a date the reader can read and a machine can parse, or
/// the text as given when it is no ISO date.
fn html_time(value: &str) -> String {
    match readable_date(value) {
        Some(readable) => format!(
            "<time datetime=\"{}\">{}</time>",
            escape_html(value),
            escape_html(&readable)
        ),
        None => escape_html(value),
    }
}

/// "1 Dec 2024 – 28 Apr 2025", from the dates of the stories that have one.
fn date_range(articles: &[ArticleOutput]) -> Option<String> {
    let mut days: Vec<&str> = articles
        .iter()
        .filter_map(article_date)
        .filter_map(|d| d.get(0..10))
        .filter(|d| readable_date(d).is_some())
        .collect();
    days.sort_unstable();
    let first = readable_date(days.first()?)?;
    let last = readable_date(days.last()?)?;
    Some(if first == last {
        first
    } else {
        format!("{first} – {last}")
    })
}

fn render_story_html(html: &mut String, article: &ArticleOutput, heading: &str) {
    html.push_str(&format!(
        "<article id=\"story-{}\">\n<{heading}><a href=\"{}\">{}</a></{heading}>\n",
        escape_html(&article.id),
        escape_html(&format!("{}.md", article.id)),
        escape_html(&english_title(article))
    ));

    let mut meta: Vec<String> = Vec::new();
    match (known(&article.published), known(&article.updated)) {
        (Some(published), _) => meta.push(html_time(published)),
        (None, Some(updated)) => meta.push(format!("updated {}", html_time(updated))),
        (None, None) => {}
    }
    let source = known(&article.source).map(display_source_name);
    match (source.as_deref(), known(&article.url).and_then(web_link)) {
        (Some(source), Some(url)) => meta.push(format!(
            "<a href=\"{}\" rel=\"noreferrer\">{}</a>",
            escape_html(&url),
            escape_html(source)
        )),
        (Some(source), None) => meta.push(escape_html(source)),
        (None, Some(url)) => meta.push(format!(
            "<a href=\"{}\" rel=\"noreferrer\">original</a>",
            escape_html(&url)
        )),
        (None, None) => {}
    }
    if !meta.is_empty() {
        html.push_str(&format!("<p class=\"meta\">{}</p>\n", meta.join(" · ")));
    }

    let summary = single_line(&article.summary.text);
    let method = single_line(&article.summary.method);
    let label = if is_extractive(&article.summary) {
        "extractive summary".to_string()
    } else if method.is_empty() {
        "summary".to_string()
    } else {
        format!("{method} summary")
    };
    if summary.is_empty() {
        html.push_str("<p class=\"summary\"><em>No summary.</em></p>\n");
    } else {
        html.push_str(&format!(
            "<p class=\"summary\"><span class=\"method\" title=\"{}\">{}</span>{}</p>\n",
            if is_extractive(&article.summary) {
                "Sentences selected from the translation"
            } else {
                "How this summary was made"
            },
            escape_html(&label),
            escape_html(&summary)
        ));
    }

    if !article.warnings.is_empty() {
        html.push_str("<ul class=\"warnings\" aria-label=\"Warnings\">\n");
        for warning in &article.warnings {
            html.push_str(&format!(
                "<li>{}</li>\n",
                escape_html(&single_line(warning))
            ));
        }
        html.push_str("</ul>\n");
    }

    let bengali_title = single_line(&article.title.bn);
    let bengali_paragraphs: Vec<String> = article
        .paragraphs
        .iter()
        .map(|paragraph| {
            let sentences: Vec<String> = paragraph
                .iter()
                .map(|pair| single_line(&pair.bn))
                .filter(|s| !s.is_empty())
                .collect();
            sentences.join(" ")
        })
        .filter(|p| !p.is_empty())
        .collect();
    if !bengali_title.is_empty() || !bengali_paragraphs.is_empty() {
        html.push_str(
            "<details>\n<summary>Bengali original</summary>\n<div class=\"bn\" lang=\"bn\">\n",
        );
        if !bengali_title.is_empty() {
            html.push_str(&format!(
                "<p class=\"bn-title\">{}</p>\n",
                escape_html(&bengali_title)
            ));
        }
        for paragraph in bengali_paragraphs {
            html.push_str(&format!("<p>{}</p>\n", escape_html(&paragraph)));
        }
        html.push_str("</div>\n</details>\n");
    }
    html.push_str("</article>\n");
}

/// `digest.html`: the digest as one self-contained page (no scripts, fonts
/// or other files), readable on a phone and in dark mode, with each
/// story's Bengali original behind a toggle.
fn render_digest_html(
    articles: &[ArticleOutput],
    failed: &[(String, String)],
    intro: Option<&str>,
) -> String {
    let mut html = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n\
         <title>Anubad digest</title>\n",
    );
    html.push_str(&format!(
        "<style>{DIGEST_CSS}</style>\n</head>\n<body>\n<main>\n"
    ));

    html.push_str("<header>\n<h1>Anubad digest</h1>\n");
    let count = articles.len();
    if count == 0 {
        html.push_str("<p class=\"batch\">No articles were translated.</p>\n");
    } else {
        let noun = if count == 1 { "story" } else { "stories" };
        let mut batch = vec![format!("{count} {noun}")];
        if let Some(range) = date_range(articles) {
            batch.push(escape_html(&range));
        }
        let mut models: Vec<String> = articles
            .iter()
            .map(|a| {
                let licence = known(&a.model.licence).unwrap_or("licence unknown");
                format!("{} ({licence})", single_line(&a.model.name))
            })
            .collect();
        models.sort();
        models.dedup();
        batch.push(format!(
            "translated from Bengali with {}",
            escape_html(&models.join(", "))
        ));
        html.push_str(&format!("<p class=\"batch\">{}</p>\n", batch.join(" · ")));
    }
    if let Some(intro) = intro.map(single_line).filter(|i| !i.is_empty()) {
        html.push_str(&format!(
            "<p class=\"intro\">{}</p>\n<p class=\"method\">{INTRO_LABEL}</p>\n",
            escape_html(&intro)
        ));
    }
    html.push_str("</header>\n");

    for group in digest_groups(articles) {
        if group.stories.len() > 1 {
            html.push_str(&format!(
                "<section class=\"group\">\n<h2 class=\"group\">{}</h2>\n",
                escape_html(&group_heading(&group))
            ));
            for article in &group.stories {
                render_story_html(&mut html, article, "h3");
            }
            html.push_str("</section>\n");
        } else {
            for article in &group.stories {
                render_story_html(&mut html, article, "h2");
            }
        }
    }

    if !failed.is_empty() {
        let mut failed: Vec<&(String, String)> = failed.iter().collect();
        failed.sort();
        html.push_str("<section class=\"failed\">\n<h2>Failed inputs</h2>\n<ul>\n");
        for (input, reason) in failed {
            html.push_str(&format!(
                "<li><code>{}</code>: {}</li>\n",
                escape_html(&single_line(input)),
                escape_html(&single_line(reason))
            ));
        }
        html.push_str("</ul>\n</section>\n");
    }

    if count > 0 {
        html.push_str(
            "<footer>Machine translation: names and numbers may be wrong; \
             each title opens the full translation with its Bengali original.</footer>\n",
        );
    }
    html.push_str("</main>\n</body>\n</html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn pair(bn: &str, en: &str) -> SentencePair {
        SentencePair {
            bn: bn.to_string(),
            en: en.to_string(),
        }
    }

    #[test]
    fn readers_see_outlets_by_their_english_names_and_llm_headlines_first() {
        let mut a = article("a", Some("2024-05-01"));
        a.source = Some("আল জাজিরা".to_string());
        a.summary.headline = Some("Rain floods Dhaka streets".to_string());
        let digest = render_digest(std::slice::from_ref(&a), &[], Some("Rain fell in Dhaka."));
        assert!(digest.contains("2024-05-01 · Al Jazeera"), "{digest}");
        assert!(!digest.contains("আল জাজিরা"), "{digest}");
        assert!(
            digest.contains("## [Rain floods Dhaka streets](<a.md>)"),
            "{digest}"
        );
        assert!(
            digest.contains(&format!("Rain fell in Dhaka.\n\n_{INTRO_LABEL}_")),
            "{digest}"
        );
        let html = render_digest_html(std::slice::from_ref(&a), &[], Some("Rain fell in Dhaka."));
        assert!(html.contains("Al Jazeera"), "{html}");
        assert!(
            html.contains("<p class=\"intro\">Rain fell in Dhaka.</p>"),
            "{html}"
        );
        let markdown = render_article_markdown(&a);
        assert!(markdown.starts_with("# Rain floods Dhaka streets\n\nTranslated title: "));
        // The JSON keeps the name as the page wrote it.
        assert_eq!(a.source.as_deref(), Some("আল জাজিরা"));
    }

    fn article(id: &str, published: Option<&str>) -> ArticleOutput {
        ArticleOutput {
            id: id.to_string(),
            input: format!("news/{id}.txt"),
            title: Bilingual {
                bn: "ঢাকায় বৃষ্টি".to_string(),
                en: format!("Rain in Dhaka {id}"),
            },
            url: Some("https://example.com/a (1)".to_string()),
            published: published.map(str::to_string),
            updated: None,
            source: Some("Prothom Alo".to_string()),
            byline: None,
            paragraphs: vec![
                vec![
                    pair("আজ ঢাকায় বৃষ্টি হয়েছে।", "It rained in Dhaka today."),
                    pair("রাস্তায় পানি জমেছে।", "Water collected on the roads."),
                ],
                vec![pair("১২৩ জন আটকা পড়েছেন।", "123 people were stranded.")],
            ],
            summary: Summary {
                text: "It rained in Dhaka.".to_string(),
                method: "extractive".to_string(),
                headline: None,
            },
            model: ModelInfo {
                name: "Helsinki-NLP/opus-mt-bn-en".to_string(),
                revision: Some("abc123".to_string()),
                licence: Some("CC-BY-4.0".to_string()),
            },
            generation: serde_json::json!({"beam": 4, "max_len": 256}),
            warnings: vec![],
            timings: Timings {
                translate_ms: 120,
                total_ms: 150,
                cached_segments: 1,
                translated_segments: 2,
            },
            fingerprint: format!("fp-{id}"),
        }
    }

    fn dir_entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writing_leaves_only_the_outputs_behind() {
        let dir = tempfile::tempdir().unwrap();
        write_article(dir.path(), &article("a", Some("2024-05-01"))).unwrap();
        write_article(dir.path(), &article("b", None)).unwrap();
        let mut changed = article("a", Some("2024-05-02"));
        changed.fingerprint = "new".to_string();
        write_article(dir.path(), &changed).unwrap();
        write_digest(dir.path(), &[changed, article("b", None)], &[], None).unwrap();
        assert_eq!(
            dir_entries(dir.path()),
            vec![
                "a.json",
                "a.md",
                "b.json",
                "b.md",
                "digest.html",
                "digest.md"
            ]
        );
    }

    #[test]
    fn failed_write_is_an_error_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        fs::create_dir(&out).unwrap();
        // A directory in place of the target makes the final rename fail.
        fs::create_dir(out.join("a.json")).unwrap();
        let error = write_article(&out, &article("a", None)).unwrap_err();
        assert!(error.to_string().contains("a.json"), "{error}");
        assert_eq!(dir_entries(&out), vec!["a.json"]);
    }

    #[test]
    fn output_dir_that_is_a_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        fs::write(&out, "x").unwrap();
        assert!(matches!(
            write_article(&out, &article("a", None)),
            Err(OutputError::CreateDir { .. })
        ));
    }

    #[test]
    fn unchanged_content_is_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let first = article("a", Some("2024-05-01"));
        write_article(dir.path(), &first).unwrap();
        write_digest(dir.path(), std::slice::from_ref(&first), &[], None).unwrap();
        let names = ["a.json", "a.md", "digest.md", "digest.html"];
        let before: Vec<_> = names
            .iter()
            .map(|n| fs::metadata(dir.path().join(n)).unwrap())
            .collect();
        std::thread::sleep(Duration::from_millis(30));
        write_article(dir.path(), &first).unwrap();
        write_digest(dir.path(), std::slice::from_ref(&first), &[], None).unwrap();
        for (name, old) in names.iter().zip(&before) {
            let new = fs::metadata(dir.path().join(name)).unwrap();
            assert_eq!(old.modified().unwrap(), new.modified().unwrap(), "{name}");
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                assert_eq!(old.ino(), new.ino(), "{name} was replaced");
            }
        }
        // A change does rewrite: only the JSON carries timings.
        let mut slower = first.clone();
        slower.timings.total_ms += 1;
        write_article(dir.path(), &slower).unwrap();
        assert_eq!(read_article(dir.path(), "a"), Some(slower));
        let md_after = fs::metadata(dir.path().join("a.md")).unwrap();
        assert_eq!(md_after.modified().unwrap(), before[1].modified().unwrap());
    }

    #[cfg(unix)]
    #[test]
    fn outputs_are_not_private_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        write_article(dir.path(), &article("a", None)).unwrap();
        let mode = fs::metadata(dir.path().join("a.md"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644);
    }

    #[test]
    fn safe_id_keeps_bengali_and_replaces_path_characters() {
        assert_eq!(safe_id("ঢাকায় বৃষ্টি"), "ঢাকায়-বৃষ্টি");
        // Virama conjuncts and vowel signs stay whole; ZWJ is dropped, not
        // turned into a separator.
        assert_eq!(safe_id("র\u{200d}্যাব"), "র্যাব");
        assert_eq!(safe_id("২০২৪_খবর"), "২০২৪_খবর");
        assert_eq!(safe_id("news/2024/05/story"), "news-2024-05-story");
        assert_eq!(safe_id("a\\b:c*d?e\"f<g>h|i"), "a-b-c-d-e-f-g-h-i");
        assert_eq!(safe_id("../../etc/passwd"), "etc-passwd");
        assert_eq!(safe_id(".hidden"), "hidden");
        assert_eq!(safe_id("report.v2"), "report.v2");
        assert_eq!(safe_id("trailing. "), "trailing");
    }

    #[test]
    fn safe_id_is_never_empty() {
        for raw in ["", "..", ".", "/", "   ", "???", "-", "\u{200c}"] {
            assert_eq!(safe_id(raw), "article", "{raw:?}");
        }
    }

    #[test]
    fn safe_id_bounds_length_in_characters_and_bytes() {
        let ascii = safe_id(&"a".repeat(1000));
        assert_eq!(ascii.chars().count(), MAX_ID_CHARS);
        let bengali = safe_id(&"ক".repeat(1000));
        assert!(bengali.chars().count() <= MAX_ID_CHARS);
        assert!(bengali.len() <= MAX_ID_BYTES);
        assert!(!bengali.is_empty());
        // A cut that lands on a separator does not leave it dangling.
        let cut_at_dash = safe_id(&format!("{}-tail", "a".repeat(MAX_ID_CHARS - 1)));
        assert!(!cut_at_dash.ends_with('-'));
    }

    #[test]
    fn safe_id_avoids_reserved_names() {
        assert_eq!(safe_id("CON"), "CON_");
        assert_eq!(safe_id("nul.txt"), "nul.txt_");
        assert_eq!(safe_id("com1"), "com1_");
        assert_eq!(safe_id("Digest"), "Digest_");
        assert_eq!(safe_id("console"), "console");
        assert_eq!(safe_id("com10"), "com10");
        assert_eq!(safe_id("digest-2"), "digest-2");
    }

    #[test]
    fn safe_id_is_idempotent() {
        for raw in [
            "ঢাকায় বৃষ্টি",
            "../x",
            "CON",
            "digest",
            &"ক".repeat(500),
            &format!("{}-x", "a".repeat(99)),
            "a--b..c",
        ] {
            let once = safe_id(raw);
            assert_eq!(safe_id(&once), once, "{raw:?}");
        }
    }

    #[test]
    fn allocator_makes_ids_unique_ignoring_case() {
        let mut ids = IdAllocator::new();
        assert_eq!(ids.allocate("story"), "story");
        assert_eq!(ids.allocate("Story"), "Story-2");
        assert_eq!(ids.allocate("story"), "story-3");
        assert_eq!(ids.allocate("story-2"), "story-2-2");
        assert_eq!(ids.allocate("a/b"), "a-b");
        assert_eq!(ids.allocate("a?b"), "a-b-2");
        assert_eq!(ids.allocate(""), "article");
        assert_eq!(ids.allocate(".."), "article-2");
    }

    #[test]
    fn json_roundtrips_with_the_agreed_field_names() {
        let dir = tempfile::tempdir().unwrap();
        let mut original = article("a", Some("2024-05-01"));
        original.warnings = vec!["number 123 missing".to_string()];
        write_article(dir.path(), &original).unwrap();
        assert_eq!(read_article(dir.path(), "a"), Some(original.clone()));

        let text = fs::read_to_string(dir.path().join("a.json")).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        for field in [
            "id",
            "input",
            "title",
            "url",
            "published",
            "source",
            "paragraphs",
            "summary",
            "model",
            "generation",
            "warnings",
            "timings",
            "fingerprint",
        ] {
            assert!(value.get(field).is_some(), "missing {field}");
        }
        assert_eq!(value["paragraphs"][0][0]["bn"], "আজ ঢাকায় বৃষ্টি হয়েছে।");
        assert_eq!(value["timings"]["cached_segments"], 1);

        let mut undated = article("b", None);
        undated.url = None;
        undated.source = None;
        let json = serde_json::to_value(&undated).unwrap();
        for absent in ["url", "published", "source"] {
            assert!(json.get(absent).is_none(), "{absent} should be omitted");
        }
        let back: ArticleOutput = serde_json::from_value(json).unwrap();
        assert_eq!(back, undated);
    }

    #[test]
    fn missing_or_broken_outputs_have_no_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(existing_fingerprint(dir.path(), "a"), None);
        write_article(dir.path(), &article("a", None)).unwrap();
        assert_eq!(
            existing_fingerprint(dir.path(), "a"),
            Some("fp-a".to_string())
        );
        fs::remove_file(dir.path().join("a.md")).unwrap();
        assert_eq!(existing_fingerprint(dir.path(), "a"), None);

        fs::write(dir.path().join("b.json"), "{ not json").unwrap();
        fs::write(dir.path().join("b.md"), "# b\n").unwrap();
        assert_eq!(read_article(dir.path(), "b"), None);
        assert_eq!(existing_fingerprint(dir.path(), "b"), None);
        assert_eq!(read_article(dir.path(), "../b"), None);
    }

    #[test]
    fn unsafe_id_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let result = write_article(&out, &article("../escape", None));
        assert!(matches!(result, Err(OutputError::UnsafeId { .. })));
        assert!(!dir.path().join("escape.json").exists());
    }

    #[test]
    fn markdown_has_both_languages_in_order() {
        let dir = tempfile::tempdir().unwrap();
        write_article(dir.path(), &article("a", Some("2024-05-01"))).unwrap();
        let md = fs::read_to_string(dir.path().join("a.md")).unwrap();
        assert!(md.starts_with("# Rain in Dhaka a\n"));
        assert!(md.contains("2024-05-01 · Prothom Alo"));
        assert!(md.contains("[Original article](<https://example.com/a%20(1)>)"));
        assert!(md.contains("Extractive summary"));
        assert!(md.contains("\n\nIt rained in Dhaka today. Water collected on the roads.\n\n"));
        assert!(md.contains("\n\n123 people were stranded.\n\n"));
        assert!(md.contains("**ঢাকায় বৃষ্টি**"));
        assert!(md.contains("আজ ঢাকায় বৃষ্টি হয়েছে। রাস্তায় পানি জমেছে।"));
        assert!(md.contains("১২৩ জন আটকা পড়েছেন।"));
        assert!(md.contains("Helsinki-NLP/opus-mt-bn-en (revision abc123), licence: CC-BY-4.0."));
        let order: Vec<usize> = [
            "## Summary",
            "## Translation",
            "## Original (Bengali)",
            "---",
        ]
        .iter()
        .map(|h| md.find(h).unwrap())
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{md}");
    }

    #[test]
    fn abstractive_summary_has_no_extractive_note() {
        let mut a = article("a", None);
        a.summary.method = "model".to_string();
        assert!(!render_article_markdown(&a).contains("Extractive"));
    }

    #[test]
    fn markdown_syntax_in_text_is_shown_literally() {
        assert_eq!(escape_markdown("# Breaking"), "\\# Breaking");
        assert_eq!(escape_markdown("C# rises #"), "C# rises \\#");
        assert_eq!(escape_markdown("[link](x)"), "\\[link\\](x)");
        assert_eq!(escape_markdown("- not a list"), "\\- not a list");
        assert_eq!(escape_markdown("1. not a list"), "1\\. not a list");
        assert_eq!(escape_markdown("2024. Dhaka"), "2024\\. Dhaka");
        assert_eq!(escape_markdown("a_b *c* <d>"), "a\\_b \\*c\\* \\<d\\>");
        assert_eq!(escape_markdown("line\nbreak"), "line break");
        assert_eq!(escape_markdown("3.5 percent"), "3.5 percent");

        let mut a = article("a", None);
        a.title.en = "[Update] # Floods\n## Now".to_string();
        let digest = render_digest(&[a], &[], None);
        assert!(
            digest.contains("## [\\[Update\\] # Floods ## Now](<a.md>)"),
            "{digest}"
        );
    }

    #[test]
    fn digest_orders_newest_first_then_undated_by_id() {
        let articles = vec![
            article("c-undated", None),
            article("old", Some("2023-12-31")),
            article("b-undated", None),
            article("new", Some("2024-05-02T08:00:00+06:00")),
            article("mid", Some("2024-05-01")),
        ];
        let digest = render_digest(&articles, &[], None);
        let positions: Vec<usize> = ["new.md", "mid.md", "old.md", "b-undated.md", "c-undated.md"]
            .iter()
            .map(|link| digest.find(&format!("(<{link}>)")).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{digest}");
        assert!(
            digest.contains("5 articles translated with Helsinki-NLP/opus-mt-bn-en (CC-BY-4.0).")
        );
    }

    #[test]
    fn digest_is_deterministic_and_independent_of_input_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut warned = article("b", Some("2024-05-01"));
        warned.warnings = vec!["x".to_string(), "y".to_string()];
        let articles = vec![article("a", None), warned, article("c", Some("2024-01-01"))];
        let failed = vec![
            ("z.txt".to_string(), "not UTF-8".to_string()),
            ("feed.jsonl#3".to_string(), "missing body".to_string()),
        ];
        write_digest(dir.path(), &articles, &failed, None).unwrap();
        let first = fs::read(dir.path().join(DIGEST_FILE_NAME)).unwrap();

        let mut reversed = articles.clone();
        reversed.reverse();
        let mut failed_reversed = failed.clone();
        failed_reversed.reverse();
        write_digest(dir.path(), &reversed, &failed_reversed, None).unwrap();
        let second = fs::read(dir.path().join(DIGEST_FILE_NAME)).unwrap();
        assert_eq!(first, second);

        let text = String::from_utf8(first).unwrap();
        assert!(text.contains("_2 warnings_"));
        let failed_section = text.find("## Failed inputs").unwrap();
        let feed = text.find("- feed.jsonl#3: missing body").unwrap();
        let z = text.find("- z.txt: not UTF-8").unwrap();
        assert!(failed_section < feed && feed < z, "{text}");
        assert!(text.ends_with("not UTF-8\n") && !text.ends_with("\n\n"));
    }

    #[test]
    fn empty_digest_says_so() {
        let digest = render_digest(&[], &[("x.txt".to_string(), "empty".to_string())], None);
        assert!(digest.contains("No articles were translated."));
        assert!(digest.contains("- x.txt: empty"));
    }
    #[test]
    fn html_digest_escapes_everything_from_the_page() {
        let mut hostile = article("x", Some("2024-12-01T12:43:00+06:00"));
        hostile.title.en = "<script>alert(1)</script> Tom & Jerry \"quoted\"".to_string();
        hostile.title.bn = "<b>শিরোনাম</b>".to_string();
        hostile.source = Some("A&B <News>".to_string());
        hostile.summary.text = "x < y & z".to_string();
        hostile.warnings = vec!["number <1> lost".to_string()];
        hostile.url = Some("javascript:alert(1)".to_string());
        let html = render_digest_html(
            &[hostile],
            &[("<evil>.txt".to_string(), "bad & worse".to_string())],
            None,
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(html
            .contains("&lt;script&gt;alert(1)&lt;/script&gt; Tom &amp; Jerry &quot;quoted&quot;"));
        assert!(html.contains("A&amp;B &lt;News&gt;"));
        assert!(html.contains("x &lt; y &amp; z"));
        assert!(html.contains("<li>number &lt;1&gt; lost</li>"));
        assert!(html.contains("<code>&lt;evil&gt;.txt</code>: bad &amp; worse"));
    }

    #[test]
    fn html_digest_shows_each_story_for_a_reader() {
        let mut dated = article("a", Some("2024-12-01T12:43:00+06:00"));
        dated.warnings = vec!["number 28 missing".to_string()];
        let mut updated_only = article("b", None);
        updated_only.updated = Some("2024-11-30".to_string());
        let html = render_digest_html(&[updated_only, dated], &[], None);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("name=\"viewport\""));
        assert!(html.contains("prefers-color-scheme:dark"));
        assert!(html.contains("<a href=\"a.md\">Rain in Dhaka a</a>"));
        assert!(
            html.contains("<time datetime=\"2024-12-01T12:43:00+06:00\">1 Dec 2024, 12:43</time>")
        );
        assert!(html.contains("updated <time datetime=\"2024-11-30\">30 Nov 2024</time>"));
        assert!(html.contains("2 stories · 30 Nov 2024 – 1 Dec 2024 · translated from Bengali with Helsinki-NLP/opus-mt-bn-en (CC-BY-4.0)"));
        assert!(html.contains(">extractive summary</span>It rained in Dhaka."));
        assert!(html.contains("<li>number 28 missing</li>"));
        assert!(html.contains(
            "<a href=\"https://example.com/a%20(1)\" rel=\"noreferrer\">Prothom Alo</a>"
        ));
        // The original is there, behind a closed toggle, marked as Bengali.
        assert!(html.contains("<details>\n<summary>Bengali original</summary>\n<div class=\"bn\" lang=\"bn\">\n<p class=\"bn-title\">ঢাকায় বৃষ্টি</p>\n<p>আজ ঢাকায় বৃষ্টি হয়েছে। রাস্তায় পানি জমেছে।</p>"));
        assert!(!html.contains("<details open"));
        // Newest first, as in digest.md.
        assert!(html.find("a.md").unwrap() < html.find("b.md").unwrap());
        // Nothing is loaded from elsewhere.
        for external in ["<script", "<link", "<img", "@import", "url("] {
            assert!(!html.contains(external), "{external}");
        }
    }

    #[test]
    fn readable_dates_only_for_iso_dates() {
        assert_eq!(
            readable_date("2025-06-02T18:45:00+06:00").as_deref(),
            Some("2 Jun 2025, 18:45")
        );
        assert_eq!(readable_date("2025-06-02").as_deref(), Some("2 Jun 2025"));
        for odd in [
            "২০২৫-০৬-০২",
            "June 2, 2025",
            "2025-13-01",
            "2025-06-02Tnoon",
            "",
        ] {
            assert_eq!(readable_date(odd), None, "{odd}");
        }
        assert_eq!(html_time("June 2, 2025"), "June 2, 2025");
    }

    #[test]
    fn stories_about_one_event_share_a_heading_in_both_digests() {
        let mut troops = article("troops", Some("2025-04-28"));
        troops.title.en = "North Korea confirms sending troops to Russia".to_string();
        troops.summary.text = "North Korea has confirmed that its troops fought for Russia in the Kursk region, Kim Jong Un said.".to_string();
        let mut lavrov = article("lavrov", Some("2024-12-01"));
        lavrov.title.en = "Kim Jong Un meets Lavrov".to_string();
        lavrov.summary.text =
            "Russian Foreign Minister Sergei Lavrov met Kim Jong Un in North Korea.".to_string();
        troops.paragraphs.clear();
        lavrov.paragraphs.clear();
        let mut rain = article("rain", Some("2025-01-10"));
        rain.summary.text = "It rained in Dhaka.".to_string();
        let articles = [lavrov, rain, troops];
        let md = render_digest(&articles, &[], None);
        let heading = md
            .find("## 2 stories: Kim Jong Un, North Korea, Russia\n")
            .expect(&md);
        let troops_at = md.find("### [North Korea confirms").expect(&md);
        let lavrov_at = md.find("### [Kim Jong Un meets Lavrov]").expect(&md);
        let rain_at = md.find("## [Rain in Dhaka rain]").expect(&md);
        // The group sits where its newest story would; newest first inside.
        assert!(
            heading < troops_at && troops_at < lavrov_at && lavrov_at < rain_at,
            "{md}"
        );
        let html = render_digest_html(&articles, &[], None);
        assert!(
            html.contains("<h2 class=\"group\">2 stories: Kim Jong Un, North Korea, Russia</h2>")
        );
        assert!(html.contains("<h3><a href=\"troops.md\">"));
        assert!(html.contains("<h2><a href=\"rain.md\">"));
    }
}
