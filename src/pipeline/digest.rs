//! `anubad digest`: the reduce step of a job split over machines. Builds
//! `digest.md`, `digest.html` and `manifest.json` from the `<id>.json`
//! records that runs (the shards of one job) wrote to shared storage, so
//! that a sharded job ends in the digest one unsharded run would have
//! written.
//!
//! A folder that sharded runs wrote holds their shard manifests
//! (`manifest-shard-K-of-N.json`): the job's articles are those they list,
//! and its failed inputs theirs. Once the digest is written into that
//! folder, its `manifest.json` says the same and the shard manifests go.
//! A folder with neither is taken whole: every article record in it.

use std::path::{Component, Path, PathBuf};

use crate::cache::Cache;
use crate::llm::summarizer::Summarizer;
use crate::output::{self, FailedInput, OutDirReport, OutputError, RunArticles, ShardManifest};
use crate::pipeline::summaries::digest_intro;
use crate::pipeline::Event;

#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error("{path}: not a folder of anubad outputs")]
    NotAFolder { path: PathBuf },
    #[error(
        "{} hold the shard manifests of jobs split {counts} ways; remove the stale ones \
         (manifest-shard-K-of-N.json) and run again",
        folders.join(", ")
    )]
    MixedShardCounts {
        folders: Vec<String>,
        counts: String,
    },
    #[error("{path}: not a shard manifest")]
    BadShardManifest {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no article records in {}", folders.join(", "))]
    Empty { folders: Vec<String> },
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// What [`digest`] found.
#[derive(Debug, Default, Clone)]
pub struct DigestReport {
    pub articles: usize,
    pub failed: usize,
    /// Shards whose manifest is missing, as `K/N`: those shards have not
    /// finished (or wrote elsewhere), and the digest lacks their articles.
    pub missing_shards: Vec<String>,
    pub out_dir: OutDirReport,
}

/// Writes the digest of the articles in `folders` into `out` (with a
/// chat model's introduction when `summarizer` is given). Links to articles
/// in other folders are relative to `out`.
pub fn digest(
    folders: &[PathBuf],
    out: &Path,
    summarizer: Option<&Summarizer>,
    cache: Option<&Cache>,
    observe: &mut dyn FnMut(Event),
) -> Result<DigestReport, DigestError> {
    let mut run = RunArticles::new();
    let mut failed: Vec<FailedInput> = Vec::new();
    let mut report = DigestReport::default();
    for folder in folders {
        if !folder.is_dir() {
            return Err(DigestError::NotAFolder {
                path: folder.clone(),
            });
        }
    }
    report.missing_shards = missing_shards(folders)?;
    for folder in folders {
        let prefix = relative_prefix(out, folder);
        let job = match shards_of(folder)? {
            Some(job) => Some(job),
            None => output::read_manifest(folder),
        };
        let ids = match job {
            Some((ids, job_failed)) => {
                failed.extend(job_failed);
                ids
            }
            None => output::article_ids(folder),
        };
        for id in ids {
            match output::read_article(folder, &id) {
                Some(article) => run.add(&article, &prefix),
                None => observe(Event::Warning {
                    message: format!(
                        "{}: listed by a shard manifest but missing or unreadable; left out",
                        folder.join(format!("{id}.json")).display()
                    ),
                }),
            }
        }
    }
    if run.len() == 0 && failed.is_empty() {
        return Err(DigestError::Empty {
            folders: folders.iter().map(|f| f.display().to_string()).collect(),
        });
    }
    let intro = summarizer.and_then(|summarizer| {
        let mut cache = crate::cache::RunCache::new(cache);
        digest_intro(summarizer, &run.shown(), &mut cache, observe)
    });
    report.articles = run.len();
    report.failed = failed.len();
    report.out_dir = output::finish_run(out, &run, &failed, intro.as_deref(), false)?;
    if report.missing_shards.is_empty()
        && folders.iter().all(|f| relative_prefix(out, f).is_empty())
    {
        output::remove_shard_manifests(out)?;
    }
    Ok(report)
}

/// The shards of the job whose manifests `folders` hold (the shards may
/// have written to different folders) that have none, as `K/N`. Manifests
/// of different shard counts are an error: an earlier job's are left over.
fn missing_shards(folders: &[PathBuf]) -> Result<Vec<String>, DigestError> {
    let found: Vec<(usize, usize)> = folders
        .iter()
        .flat_map(|folder| output::shard_manifests(folder))
        .map(|(_, shard)| shard)
        .collect();
    let mut counts: Vec<usize> = found.iter().map(|(_, count)| *count).collect();
    counts.sort_unstable();
    counts.dedup();
    match counts.as_slice() {
        [] => Ok(Vec::new()),
        [count] => Ok((0..*count)
            .filter(|index| !found.contains(&(*index, *count)))
            .map(|index| format!("{index}/{count}"))
            .collect()),
        _ => {
            let counts: Vec<String> = counts.iter().map(usize::to_string).collect();
            Err(DigestError::MixedShardCounts {
                folders: folders.iter().map(|f| f.display().to_string()).collect(),
                counts: counts.join(" and "),
            })
        }
    }
}

/// The articles and failed inputs the shard manifests in `folder` list;
/// `None` when it holds none.
#[allow(clippy::type_complexity)]
fn shards_of(folder: &Path) -> Result<Option<(Vec<String>, Vec<FailedInput>)>, DigestError> {
    let manifests = output::shard_manifests(folder);
    if manifests.is_empty() {
        return Ok(None);
    }
    let mut ids = Vec::new();
    let mut failed = Vec::new();
    for (path, _) in &manifests {
        let text = std::fs::read_to_string(path).map_err(|source| DigestError::Read {
            path: path.clone(),
            source,
        })?;
        let manifest: ShardManifest =
            serde_json::from_str(&text).map_err(|source| DigestError::BadShardManifest {
                path: path.clone(),
                source,
            })?;
        ids.extend(manifest.articles);
        failed.extend(manifest.failed);
    }
    Ok(Some((ids, failed)))
}

/// How the digest in `out` reaches files in `folder`: empty when they are
/// the same folder, else a relative path ending in `/` (absolute when no
/// relative one exists, as across Windows drives).
fn relative_prefix(out: &Path, folder: &Path) -> String {
    let absolute = |path: &Path| std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let normal = |path: &Path| -> Vec<String> {
        let mut parts: Vec<String> = Vec::new();
        for component in absolute(path).components() {
            match component {
                Component::ParentDir => {
                    parts.pop();
                }
                Component::CurDir => {}
                other => parts.push(other.as_os_str().to_string_lossy().into_owned()),
            }
        }
        parts
    };
    let (from, to) = (normal(out), normal(folder));
    if from == to {
        return String::new();
    }
    if from.first() != to.first() {
        return format!("{}/", absolute(folder).display());
    }
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut prefix = "../".repeat(from.len() - common);
    for part in &to[common..] {
        prefix.push_str(part);
        prefix.push('/');
    }
    prefix
}

#[cfg(test)]
mod tests {
    use super::relative_prefix;
    use std::path::Path;

    #[test]
    fn links_reach_other_folders_relative_to_the_digest() {
        assert_eq!(
            relative_prefix(Path::new("/a/out"), Path::new("/a/out")),
            ""
        );
        assert_eq!(
            relative_prefix(Path::new("/a/out"), Path::new("/a/out/")),
            ""
        );
        assert_eq!(
            relative_prefix(Path::new("/a/out"), Path::new("/a/shard1")),
            "../shard1/"
        );
        assert_eq!(
            relative_prefix(Path::new("/a/out"), Path::new("/a/out/x/y")),
            "x/y/"
        );
        assert_eq!(
            relative_prefix(Path::new("/a/b/out"), Path::new("/a/c")),
            "../../c/"
        );
    }
}
