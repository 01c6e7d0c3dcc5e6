//! What a run leaves in its output folder as a whole: `manifest.json`, which
//! says what the run wrote and what failed, and the article files of earlier
//! runs, which the digest leaves out and counts, or `--prune` removes.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::output::atomic::{ensure_dir, write_if_changed, write_streamed_if_changed};
use crate::output::{
    article_file_names, article_paths, read_article, write_digest, DigestScope, FailedInput,
    OutputError, RunArticles, ANUBAD_VERSION, DIGEST_FILE_NAME, DIGEST_HTML_FILE_NAME,
    SCHEMA_VERSION,
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
    articles: ManifestArticles<'a>,
    /// By input.
    failed: Vec<&'a FailedInput>,
    digest: [&'a str; 2],
}

#[derive(Serialize)]
struct ManifestArticle<'a> {
    id: &'a str,
    input: &'a str,
    /// The article's files, relative to the manifest's folder.
    files: [String; 3],
    /// The id of the article with the same text that the digest shows in
    /// this one's place; `null` when the digest shows this one.
    duplicate_of: Option<&'a str>,
}

/// The manifest's articles, made one at a time as they are written: a
/// run of a million articles is not held twice over.
struct ManifestArticles<'a> {
    run: &'a RunArticles,
    by_id: Vec<u32>,
    duplicate_of: Vec<Option<u32>>,
}

impl Serialize for ManifestArticles<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let listed = self.run.listed();
        let mut seq = serializer.serialize_seq(Some(self.by_id.len()))?;
        for &index in &self.by_id {
            let article = &listed[index as usize];
            seq.serialize_element(&ManifestArticle {
                id: &article.id,
                input: &article.input,
                files: article_file_names(&article.id)
                    .map(|name| format!("{}{name}", self.run.folder_of(article))),
                duplicate_of: self.duplicate_of[index as usize]
                    .map(|shown| listed[shown as usize].id.as_str()),
            })?;
        }
        seq.end()
    }
}

/// Writes `manifest.json` (unless it holds this already).
fn write_manifest(
    out_dir: &Path,
    run: &RunArticles,
    failed: &[FailedInput],
) -> Result<(), OutputError> {
    let mut failed: Vec<&FailedInput> = failed.iter().collect();
    failed.sort();
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        anubad_version: ANUBAD_VERSION,
        articles: ManifestArticles {
            run,
            by_id: run.by_id(),
            duplicate_of: run.duplicate_of(),
        },
        failed,
        digest: [DIGEST_FILE_NAME, DIGEST_HTML_FILE_NAME],
    };
    write_streamed_if_changed(out_dir, &out_dir.join(MANIFEST_FILE_NAME), |out| {
        serde_json::to_writer_pretty(&mut *out, &manifest).map_err(io::Error::other)?;
        out.write_all(b"\n")
    })
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
fn older_article_ids(out_dir: &Path, run: &RunArticles) -> Vec<String> {
    let listed = run.listed();
    let by_id = run.by_id();
    let current = |id: &str| {
        by_id
            .binary_search_by(|&index| listed[index as usize].id.as_str().cmp(id))
            .is_ok()
    };
    let Ok(entries) = fs::read_dir(out_dir) else {
        return Vec::new();
    };
    let mut older: Vec<String> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            let id = name.to_str()?.strip_suffix(".json")?;
            if current(id) {
                return None;
            }
            let record = read_article(out_dir, id)?;
            (record.id == id).then(|| id.to_string())
        })
        .collect();
    older.sort();
    older
}

/// Ids of every article record in `out_dir`: each `<id>.json` that reads
/// as an article with that id, sorted.
pub(crate) fn article_ids(out_dir: &Path) -> Vec<String> {
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
            (record.id == id).then(|| id.to_string())
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
/// files when `prune` is set, then writes the digest of `run` (this run's
/// articles, which it says, with how many older ones it leaves out) and the
/// manifest.
pub(crate) fn finish_run(
    out_dir: &Path,
    run: &RunArticles,
    failed: &[FailedInput],
    intro: Option<&str>,
    prune: bool,
) -> Result<OutDirReport, OutputError> {
    ensure_dir(out_dir)?;
    let older = older_article_ids(out_dir, run);
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
    let scope = DigestScope {
        articles: run.len(),
        stories: run.distinct_texts(),
        older_articles: report.older_articles,
    };
    write_digest(out_dir, &run.shown(), failed, intro, &scope)?;
    write_manifest(out_dir, run, failed)?;
    Ok(report)
}

/// Removes the shard manifests in `out_dir`: they describe an earlier
/// sharded job, which an unsharded run's manifest replaces.
pub(crate) fn remove_shard_manifests(out_dir: &Path) -> Result<(), OutputError> {
    for (path, _) in shard_manifests(out_dir) {
        fs::remove_file(&path).map_err(|source| OutputError::Remove { path, source })?;
    }
    Ok(())
}

/// What `manifest.json` says of a run: its articles' ids and its failed
/// inputs; `None` when there is none, or it does not read as one.
pub(crate) fn read_manifest(out_dir: &Path) -> Option<(Vec<String>, Vec<FailedInput>)> {
    #[derive(Deserialize)]
    struct Listed {
        id: String,
    }
    #[derive(Deserialize)]
    struct Written {
        articles: Vec<Listed>,
        failed: Vec<FailedInput>,
    }
    let text = fs::read_to_string(out_dir.join(MANIFEST_FILE_NAME)).ok()?;
    let written: Written = serde_json::from_str(&text).ok()?;
    Some((
        written.articles.into_iter().map(|a| a.id).collect(),
        written.failed,
    ))
}

/// A shard's part of a sharded run's manifest, `manifest-shard-K-of-N.json`:
/// the articles it wrote and the inputs that failed, from which
/// `anubad digest` builds the job's digest and manifest.
#[derive(Serialize, Deserialize)]
pub(crate) struct ShardManifest {
    pub(crate) schema_version: u32,
    pub(crate) anubad_version: String,
    /// `K/N`.
    pub(crate) shard: String,
    /// Ids, in the order written.
    pub(crate) articles: Vec<String>,
    pub(crate) failed: Vec<FailedInput>,
}

/// The file name of shard `index` of `count`'s manifest.
pub(crate) fn shard_manifest_name(index: usize, count: usize) -> String {
    format!("manifest-shard-{index}-of-{count}.json")
}

/// Every `manifest-shard-K-of-N.json` in `out_dir`, with its `(K, N)`.
pub(crate) fn shard_manifests(out_dir: &Path) -> Vec<(PathBuf, (usize, usize))> {
    let Ok(entries) = fs::read_dir(out_dir) else {
        return Vec::new();
    };
    let mut found: Vec<(PathBuf, (usize, usize))> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            let rest = name.to_str()?.strip_prefix("manifest-shard-")?;
            let (index, count) = rest.strip_suffix(".json")?.split_once("-of-")?;
            Some((entry.path(), (index.parse().ok()?, count.parse().ok()?)))
        })
        .collect();
    found.sort();
    found
}

/// Ends one shard of a sharded run: writes its shard manifest, and no
/// digest (the other shards' articles are not known here; `anubad digest`
/// writes it once every shard is done).
pub(crate) fn finish_shard(
    out_dir: &Path,
    shard: (usize, usize),
    run: &RunArticles,
    failed: &[FailedInput],
) -> Result<(), OutputError> {
    ensure_dir(out_dir)?;
    let mut failed = failed.to_vec();
    failed.sort();
    let manifest = ShardManifest {
        schema_version: SCHEMA_VERSION,
        anubad_version: ANUBAD_VERSION.to_string(),
        shard: format!("{}/{}", shard.0, shard.1),
        articles: run.listed().iter().map(|l| l.id.clone()).collect(),
        failed,
    };
    let mut json = serde_json::to_string_pretty(&manifest)
        .expect("the manifest is strings and numbers, which always serialize");
    json.push('\n');
    write_if_changed(
        out_dir,
        &out_dir.join(shard_manifest_name(shard.0, shard.1)),
        json.as_bytes(),
    )
}
