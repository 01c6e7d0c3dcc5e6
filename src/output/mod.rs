//! Per-article outputs (`<id>.json`, `<id>.md`, and `<id>.html` for reading
//! in a browser or on a phone), the run's digest as `digest.md` and as a
//! self-contained `digest.html`, and `manifest.json` listing what the run
//! wrote. Both digests show stories about one event together
//! ([`crate::output::digest_groups`]) and articles of the same text once.
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
mod folder;
mod html;
mod ids;
mod markdown;
mod run_articles;
pub(crate) mod sources;
mod view;
mod warning;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

pub(crate) use crate::output::atomic::remove_stale_temp_files;
use crate::output::atomic::{ensure_dir, write_if_changed};
use crate::output::html::{render_article_html, render_digest_html};
use crate::output::markdown::{render_article_markdown, render_digest};
pub use article::ModelInfo;
pub(crate) use article::{
    ArticleOutput, Bilingual, RejectedText, SentencePair, Summary, SummaryMethod, Timings,
    ANUBAD_VERSION, SCHEMA_VERSION,
};
pub use folder::OutDirReport;
pub(crate) use folder::{
    article_ids, finish_run, finish_shard, read_manifest, remove_shard_manifests, shard_manifests,
    ShardManifest,
};
pub(crate) use ids::safe_id;
pub use ids::IdAllocator;
pub use run_articles::RunArticles;
#[cfg(test)]
pub(crate) use view::digest_order;
pub(crate) use view::DigestScope;
pub(crate) use view::{article_date, same_text_sets};
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
    #[error("cannot remove {path}")]
    Remove {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The names of the files written for article `id`: `<id>.json`,
/// `<id>.md`, `<id>.html`.
fn article_file_names(id: &str) -> [String; 3] {
    [
        format!("{id}.json"),
        format!("{id}.md"),
        html::article_page_name(id),
    ]
}

/// [`article_file_names`] in `out_dir`.
fn article_paths(out_dir: &Path, id: &str) -> [PathBuf; 3] {
    article_file_names(id).map(|name| out_dir.join(name))
}

/// The article previously written as `<id>.json`, or `None` when it is
/// missing or does not parse.
pub(crate) fn read_article(out_dir: &Path, id: &str) -> Option<ArticleOutput> {
    if safe_id(id) != id {
        return None;
    }
    let [json, ..] = article_paths(out_dir, id);
    let text = fs::read_to_string(json).ok()?;
    serde_json::from_str(&text).ok()
}

/// The article already on disk as `id`, when `<id>.json` (readable, of
/// this [`SCHEMA_VERSION`]), `<id>.md` and `<id>.html` all exist. `None`
/// means the article must be written again.
pub(crate) fn complete_article(out_dir: &Path, id: &str) -> Option<ArticleOutput> {
    let article = read_article(out_dir, id)?;
    let [_, markdown, page] = article_paths(out_dir, id);
    if article.schema_version != SCHEMA_VERSION || !markdown.is_file() || !page.is_file() {
        return None;
    }
    Some(article)
}

/// The fingerprint of [`complete_article`].
#[cfg(test)]
pub(crate) fn existing_fingerprint(out_dir: &Path, id: &str) -> Option<String> {
    complete_article(out_dir, id).map(|article| article.fingerprint)
}

/// Writes `<id>.md`, `<id>.html` and `<id>.json` for one article, each
/// atomically; files whose content is unchanged are not touched. The JSON
/// goes last: its fingerprint says the set is complete, so after a kill
/// before it the next run sees the article as changed and writes them all.
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
    let [json_file, markdown, page] = article_paths(out_dir, &article.id);
    let new_pages: Vec<&PathBuf> = [&markdown, &page]
        .into_iter()
        .filter(|p| !p.exists())
        .collect();
    let written = write_if_changed(
        out_dir,
        &markdown,
        render_article_markdown(article).as_bytes(),
    )
    .and_then(|()| write_if_changed(out_dir, &page, render_article_html(article).as_bytes()))
    .and_then(|()| write_if_changed(out_dir, &json_file, json.as_bytes()));
    if written.is_err() {
        // A failed article leaves nothing behind; replaced pages stay, and
        // the old JSON's fingerprint has the next run rewrite them all.
        for new_page in new_pages {
            let _ = fs::remove_file(new_page);
        }
    }
    written
}

/// An input that gave no article, and why; the digest lists these last.
/// Fields are in sort order: by input, then reason, as the digest lists them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub(crate) struct FailedInput {
    /// Input path, `"stdin"`, or `"file.jsonl#line"`.
    pub(crate) input: String,
    /// Why, without the input (which error messages start with).
    pub(crate) reason: String,
}

impl FailedInput {
    /// The failure of `input` with `message`; a message naming the input
    /// first ("a.txt: empty", as errors are written for the terminal) keeps
    /// only the reason, so that the digest names each input once.
    pub(crate) fn new(input: String, message: &str) -> Self {
        let reason = message
            .strip_prefix(input.as_str())
            .and_then(|rest| rest.strip_prefix(": "))
            .unwrap_or(message)
            .to_string();
        FailedInput { input, reason }
    }
}

/// Writes `digest.md` and `digest.html`: a line saying what they cover
/// (this run's articles; `older_articles` counts the other article files
/// left in the folder), the introduction a chat model wrote (if any), every
/// story once, stories about the same event grouped, groups newest first,
/// then the inputs that failed with their reasons. The order of `articles`
/// and `failed` does not matter; the same set gives the same bytes.
pub(crate) fn write_digest(
    out_dir: &Path,
    articles: &[ArticleOutput],
    failed: &[FailedInput],
    intro: Option<&str>,
    scope: &DigestScope,
) -> Result<(), OutputError> {
    ensure_dir(out_dir)?;
    write_if_changed(
        out_dir,
        &out_dir.join(DIGEST_FILE_NAME),
        render_digest(articles, failed, intro, scope).as_bytes(),
    )?;
    write_if_changed(
        out_dir,
        &out_dir.join(DIGEST_HTML_FILE_NAME),
        render_digest_html(articles, failed, intro, scope).as_bytes(),
    )
}

#[cfg(test)]
mod tests;
