//! What a run leaves in its output folder as a whole: `manifest.json`, which
//! says what the run wrote and what failed, and the article files of earlier
//! runs, which the digest leaves out and counts, or `--prune` removes.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::output::atomic::{ensure_dir, write_if_changed};
use crate::output::view::same_text_sets;
use crate::output::{
    article_file_names, article_paths, read_article, write_digest, ArticleOutput, FailedInput,
    OutputError, ANUBAD_VERSION, DIGEST_FILE_NAME, DIGEST_HTML_FILE_NAME, SCHEMA_VERSION,
};

/// File name of the manifest inside the output directory.
pub(crate) const MANIFEST_FILE_NAME: &str = "manifest.json";

/// `manifest.json`. It holds no timestamps or timings, so a rerun on the
/// same inputs leaves it byte-identical.
#[derive(Serialize)]
struct Manifest<'a> {
    schema_version: u32,
    anubad_version: &'a str,
    /// By id.
    articles: Vec<ManifestArticle<'a>>,
    /// By input.
    failed: Vec<&'a FailedInput>,
    digest: [&'a str; 2],
}

#[derive(Serialize)]
struct ManifestArticle<'a> {
    id: &'a str,
    input: &'a str,
    /// The article's files, in the output folder.
    files: [String; 3],
    /// The id of the article with the same text that the digest shows in
    /// this one's place; `null` when the digest shows this one.
    duplicate_of: Option<&'a str>,
}

fn render_manifest(articles: &[ArticleOutput], failed: &[FailedInput]) -> String {
    let mut entries: Vec<ManifestArticle> = same_text_sets(articles)
        .into_iter()
        .flat_map(|set| {
            let first: &ArticleOutput = set[0];
            let shown = first.id.as_str();
            set.into_iter().map(move |article| ManifestArticle {
                id: &article.id,
                input: &article.input,
                files: article_file_names(&article.id),
                duplicate_of: (article.id != shown).then_some(shown),
            })
        })
        .collect();
    entries.sort_by(|a, b| a.id.cmp(b.id));
    let mut failed: Vec<&FailedInput> = failed.iter().collect();
    failed.sort();
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        anubad_version: ANUBAD_VERSION,
        articles: entries,
        failed,
        digest: [DIGEST_FILE_NAME, DIGEST_HTML_FILE_NAME],
    };
    let mut json = serde_json::to_string_pretty(&manifest)
        .expect("the manifest is strings and numbers, which always serialize");
    json.push('\n');
    json
}

/// What [`finish_run`] found and did in the output folder besides writing
/// the digest and the manifest.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OutDirReport {
    /// Articles of earlier runs whose files are still in the folder.
    pub older_articles: usize,
    /// Articles of earlier runs whose files were removed (`--prune`).
    pub pruned_articles: usize,
    /// Every file removed, in the order removed.
    pub pruned_files: Vec<PathBuf>,
}

/// Ids of the articles of earlier runs in `out_dir`: every `<id>.json` that
/// reads as an article record with that id, other than this run's.
fn older_article_ids(out_dir: &Path, articles: &[ArticleOutput]) -> Vec<String> {
    let current: HashSet<&str> = articles.iter().map(|a| a.id.as_str()).collect();
    let Ok(entries) = fs::read_dir(out_dir) else {
        return Vec::new();
    };
    let mut older: Vec<String> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            let id = name.to_str()?.strip_suffix(".json")?;
            // Only a record that names itself is taken for one of ours: a
            // JSON file that merely looks similar is never counted or removed.
            let record = read_article(out_dir, id)?;
            (record.id == id && !current.contains(id)).then(|| id.to_string())
        })
        .collect();
    older.sort();
    older
}

/// Removes the files of article `id`, its JSON last: a prune cut short
/// leaves any remaining page beside the record that marks it as anubad's.
fn remove_article_files(out_dir: &Path, id: &str) -> Result<Vec<PathBuf>, OutputError> {
    let [json, markdown, page] = article_paths(out_dir, id);
    let mut removed = Vec::new();
    for path in [markdown, page, json] {
        match fs::remove_file(&path) {
            Ok(()) => removed.push(path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(OutputError::Remove { path, source }),
        }
    }
    Ok(removed)
}

/// Ends a run that was not interrupted: removes the earlier runs' article
/// files when `prune` is set, then writes the digest of `articles` (this
/// run's, which it says, with how many older ones it leaves out) and the
/// manifest.
pub(crate) fn finish_run(
    out_dir: &Path,
    articles: &[ArticleOutput],
    failed: &[FailedInput],
    intro: Option<&str>,
    prune: bool,
) -> Result<OutDirReport, OutputError> {
    ensure_dir(out_dir)?;
    let older = older_article_ids(out_dir, articles);
    let mut report = OutDirReport::default();
    if prune {
        for id in &older {
            report
                .pruned_files
                .extend(remove_article_files(out_dir, id)?);
            report.pruned_articles += 1;
        }
    } else {
        report.older_articles = older.len();
    }
    write_digest(out_dir, articles, failed, intro, report.older_articles)?;
    write_if_changed(
        out_dir,
        &out_dir.join(MANIFEST_FILE_NAME),
        render_manifest(articles, failed).as_bytes(),
    )?;
    Ok(report)
}
