//! Per-article outputs (`<id>.json`, `<id>.md`) and the run's digest, as
//! `digest.md` and as a self-contained `digest.html` for reading in a
//! browser or on a phone. Both show stories about one event together
//! ([`crate::output::digest_groups`]).
//!
//! Every file is written to a temporary file in the output directory and then
//! renamed over the target, so a reader or a killed run never sees a
//! half-written file. A file whose content would not change is left alone,
//! which keeps modification times meaningful for tools that watch the
//! directory. The digest holds no timestamps, so rerunning on the same inputs
//! leaves it byte-identical.

mod article;
mod atomic;
pub(crate) mod digest_groups;
mod html;
mod ids;
mod markdown;
pub(crate) mod sources;
mod view;
mod warning;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

pub(crate) use crate::output::atomic::remove_stale_temp_files;
use crate::output::atomic::{ensure_dir, write_if_changed};
use crate::output::html::render_digest_html;
use crate::output::markdown::{render_article_markdown, render_digest};
pub use article::ModelInfo;
pub(crate) use article::{
    ArticleOutput, Bilingual, RejectedText, SentencePair, Summary, SummaryMethod, Timings,
};
pub(crate) use ids::safe_id;
pub use ids::IdAllocator;
pub(crate) use view::{article_date, digest_order};
pub(crate) use warning::Warning;

/// File name of the digest inside the output directory.
pub(crate) const DIGEST_FILE_NAME: &str = "digest.md";

/// File name of the HTML digest, next to [`DIGEST_FILE_NAME`].
pub(crate) const DIGEST_HTML_FILE_NAME: &str = "digest.html";

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

fn json_path(out_dir: &Path, id: &str) -> PathBuf {
    out_dir.join(format!("{id}.json"))
}

fn markdown_path(out_dir: &Path, id: &str) -> PathBuf {
    out_dir.join(format!("{id}.md"))
}

/// The article previously written as `<id>.json`, or `None` when it is
/// missing or does not parse.
pub(crate) fn read_article(out_dir: &Path, id: &str) -> Option<ArticleOutput> {
    if safe_id(id) != id {
        return None;
    }
    let text = fs::read_to_string(json_path(out_dir, id)).ok()?;
    serde_json::from_str(&text).ok()
}

/// The fingerprint of the outputs already on disk for `id`, when both
/// `<id>.json` (readable) and `<id>.md` exist. `None` means the article must
/// be written again.
pub(crate) fn existing_fingerprint(out_dir: &Path, id: &str) -> Option<String> {
    let article = read_article(out_dir, id)?;
    if !markdown_path(out_dir, id).is_file() {
        return None;
    }
    Some(article.fingerprint)
}

/// Writes `<id>.md` and `<id>.json` for one article, each atomically; files
/// whose content is unchanged are not touched. The JSON goes last: its
/// fingerprint says the pair is complete, so after a kill between the two
/// the next run sees the article as changed and writes both.
pub(crate) fn write_article(out_dir: &Path, article: &ArticleOutput) -> Result<(), OutputError> {
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
    let markdown = markdown_path(out_dir, &article.id);
    let new_article = !markdown.exists();
    write_if_changed(
        out_dir,
        &markdown,
        render_article_markdown(article).as_bytes(),
    )?;
    let written = write_if_changed(out_dir, &json_path(out_dir, &article.id), json.as_bytes());
    if written.is_err() && new_article {
        // A failed article leaves nothing behind; a replaced Markdown stays,
        // and the old JSON's fingerprint has the next run rewrite both.
        let _ = fs::remove_file(&markdown);
    }
    written
}

/// An input that gave no article, and why; the digest lists these last.
/// Fields are in sort order: by input, then reason, as the digest lists them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct FailedInput {
    /// Input path, `"stdin"`, or `"file.jsonl#line"`.
    pub(crate) input: String,
    pub(crate) reason: String,
}

/// Writes `digest.md` and `digest.html`: the introduction a chat model
/// wrote (if any), every article, stories about the same event grouped,
/// groups newest first, then the inputs that failed with their reasons. The
/// order of `articles` and `failed` does not matter; the same set gives the
/// same bytes.
pub(crate) fn write_digest(
    out_dir: &Path,
    articles: &[ArticleOutput],
    failed: &[FailedInput],
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

#[cfg(test)]
mod tests;
