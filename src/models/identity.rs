//! A model's identity for cache keys: a SHA-256 over its files' contents
//! for local directories, with the hashes of large files remembered by
//! path, size and modification time so that they are read once.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ResolveError;
use crate::hash;

/// Name of the file, under [`ResolveOptions::cache_dir`], that remembers the
/// SHA-256 of local model files so that large weights are hashed once.
pub(crate) const FILE_HASH_CACHE_NAME: &str = "model-file-hashes.json";

/// `local:` + SHA-256 over (relative name, SHA-256 of content) of every
/// layout file. Names are relative so a moved directory keeps its identity.
pub(crate) fn files_identity(
    dir: &Path,
    files: &[&Path],
    cache_dir: Option<&Path>,
    warnings: &mut Vec<String>,
) -> Result<String, ResolveError> {
    let mut hash_cache = cache_dir.map(|dir| FileHashCache::load(dir, warnings));
    let mut combined = Sha256::new();
    for path in files {
        let name = path
            .strip_prefix(dir)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/");
        let digest = match hash_cache.as_mut() {
            Some(cache) => cache.digest(path)?,
            None => sha256_file(path)?,
        };
        combined.update(name.as_bytes());
        combined.update(b"\0");
        combined.update(digest.as_bytes());
        combined.update(b"\n");
    }
    if let Some(cache) = hash_cache {
        cache.save(warnings);
    }
    Ok(format!("local:{}", hash::to_hex(&combined.finalize())))
}

fn sha256_file(path: &Path) -> Result<String, ResolveError> {
    let io_error = |source| ResolveError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = fs::File::open(path).map_err(io_error)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file.read(&mut buffer).map_err(io_error)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hash::to_hex(&hasher.finalize()))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct FileHashEntry {
    size: u64,
    mtime_ns: u64,
    sha256: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct FileHashCacheFile {
    version: u32,
    entries: BTreeMap<String, FileHashEntry>,
}

/// Remembers file digests keyed by (canonical path, size, mtime). A file
/// rewritten with the same size within the same mtime tick would keep a stale
/// digest; nanosecond mtimes make that practically impossible for model files.
struct FileHashCache {
    path: PathBuf,
    contents: FileHashCacheFile,
    dirty: bool,
}

impl FileHashCache {
    const VERSION: u32 = 1;

    fn load(cache_dir: &Path, warnings: &mut Vec<String>) -> Self {
        let path = cache_dir.join(FILE_HASH_CACHE_NAME);
        let contents = match fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<FileHashCacheFile>(&bytes) {
                Ok(contents) if contents.version == Self::VERSION => contents,
                Ok(_) => FileHashCacheFile::default(),
                Err(err) => {
                    warnings.push(format!(
                        "ignoring unreadable hash cache {}: {err}",
                        path.display()
                    ));
                    FileHashCacheFile::default()
                }
            },
            Err(_) => FileHashCacheFile::default(),
        };
        Self {
            path,
            contents,
            dirty: false,
        }
    }

    fn digest(&mut self, file: &Path) -> Result<String, ResolveError> {
        let io_error = |source| ResolveError::Io {
            path: file.to_path_buf(),
            source,
        };
        let canonical = fs::canonicalize(file).map_err(io_error)?;
        let metadata = fs::metadata(&canonical).map_err(io_error)?;
        let mtime_ns = metadata
            .modified()
            .ok()
            .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
            .and_then(|age| u64::try_from(age.as_nanos()).ok());
        let Some(mtime_ns) = mtime_ns else {
            // Without an mtime a cached digest could not be trusted.
            return sha256_file(&canonical);
        };
        let key = canonical.to_string_lossy().into_owned();
        if let Some(entry) = self.contents.entries.get(&key) {
            if entry.size == metadata.len() && entry.mtime_ns == mtime_ns {
                return Ok(entry.sha256.clone());
            }
        }
        let sha256 = sha256_file(&canonical)?;
        self.contents.entries.insert(
            key,
            FileHashEntry {
                size: metadata.len(),
                mtime_ns,
                sha256: sha256.clone(),
            },
        );
        self.dirty = true;
        Ok(sha256)
    }

    fn save(mut self, warnings: &mut Vec<String>) {
        if !self.dirty {
            return;
        }
        self.contents.version = Self::VERSION;
        // Entries of deleted files would otherwise accumulate forever.
        self.contents
            .entries
            .retain(|path, _| Path::new(path).exists());
        let result = (|| -> io::Result<()> {
            if let Some(parent) = self.path.parent() {
                fs::create_dir_all(parent)?;
            }
            let json = serde_json::to_vec_pretty(&self.contents).map_err(io::Error::other)?;
            // Write-then-rename so a concurrent reader never sees half a file.
            let temporary = self
                .path
                .with_extension(format!("json.{}.tmp", std::process::id()));
            fs::write(&temporary, json)?;
            fs::rename(&temporary, &self.path)
        })();
        if let Err(err) = result {
            warnings.push(format!(
                "could not save the model hash cache {}: {err}",
                self.path.display()
            ));
        }
    }
}
