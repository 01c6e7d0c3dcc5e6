//! The Hugging Face hub and its local cache: resolving a repo at a
//! revision to a snapshot directory through `hf-hub`, honouring the
//! Python client's environment variables, and saying how to fetch files by
//! hand when the hub cannot be reached.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use hf_hub::api::sync::{Api, ApiBuilder, ApiError};
use hf_hub::{Cache, Repo, RepoType};

use super::layout::{is_safe_relative_name, shard_names, DirSource, Discovery, FileSource, Layout};
use super::presets::Preset;
use super::spec::validate_revision;
use super::{ResolveError, ResolveOptions, Resolved};

/// Where `hf-hub` and the Python client download from unless `HF_ENDPOINT`
/// or [`ResolveOptions::endpoint`] says otherwise.
pub(crate) const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// The command a user can run on a connected machine to get the files,
/// shown in every error that a missing hub causes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualDownload {
    pub(crate) repo: String,
    pub(crate) revision: String,
    /// Files to fetch; empty when the layout is not known yet.
    pub(crate) files: Vec<String>,
}

impl fmt::Display for ManualDownload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let local_dir = self.repo.rsplit('/').next().unwrap_or(&self.repo);
        let wanted = if self.files.is_empty() {
            " --include \"*.json\" \"*.safetensors\" \"pytorch_model.bin\" \"*.spm\" \"*.model\""
                .to_string()
        } else {
            format!(" {}", self.files.join(" "))
        };
        write!(
            f,
            "to run without the hub, download the files on a machine that can reach it:\n    \
             huggingface-cli download {} --revision {}{wanted} --local-dir {local_dir}\n\
             then copy that directory here and run with `--model ./{local_dir}`",
            self.repo, self.revision
        )
    }
}

/// Whether every file of `preset` is in the HF cache at its pinned revision
/// (the environment decides where the cache is).
pub fn is_downloaded(preset: &Preset) -> bool {
    is_downloaded_in(preset, &ResolveOptions::default())
}

/// [`is_downloaded`] with explicit options.
pub fn is_downloaded_in(preset: &Preset, opts: &ResolveOptions) -> bool {
    let Ok(settings) = HubSettings::from_options(opts) else {
        return false;
    };
    match snapshot_dir(&settings.hub_cache, &preset.repo, &preset.revision) {
        Some(dir) => preset.files.iter().all(|file| dir.join(file).is_file()),
        None => false,
    }
}

// ---------------------------------------------------------------------------
// The hub and its cache

pub(crate) struct HubRequest {
    pub(crate) name: String,
    pub(crate) repo: String,
    pub(crate) revision: String,
    pub(crate) licence: Option<String>,
    /// A preset's pinned file list; `None` means discover the layout.
    pub(crate) files: Option<Vec<String>>,
    /// Fetched with `files` when present.
    pub(crate) optional_files: Vec<String>,
}

pub(crate) struct HubSettings {
    pub(crate) endpoint: String,
    hf_home: PathBuf,
    pub(crate) hub_cache: PathBuf,
    offline: bool,
}

impl HubSettings {
    pub(crate) fn from_options(opts: &ResolveOptions) -> Result<Self, ResolveError> {
        let endpoint = opts
            .endpoint
            .clone()
            .or_else(|| non_empty_env("HF_ENDPOINT"))
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string())
            .trim_end_matches('/')
            .to_string();
        let (hf_home, hub_cache) = match &opts.hf_home {
            Some(home) => (home.clone(), home.join("hub")),
            None => {
                let home = default_hf_home().ok_or(ResolveError::NoCacheDir)?;
                let hub = non_empty_env("HF_HUB_CACHE")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| home.join("hub"));
                (home, hub)
            }
        };
        Ok(Self {
            endpoint,
            hf_home,
            hub_cache,
            offline: opts.offline || env_flag("HF_HUB_OFFLINE"),
        })
    }

    fn token(&self) -> Option<String> {
        non_empty_env("HF_TOKEN").or_else(|| {
            fs::read_to_string(self.hf_home.join("token"))
                .ok()
                .map(|token| token.trim().to_string())
                .filter(|token| !token.is_empty())
        })
    }

    fn api(&self, progress: bool) -> Result<Api, ResolveError> {
        ApiBuilder::from_cache(Cache::new(self.hub_cache.clone()))
            .with_endpoint(self.endpoint.clone())
            .with_token(self.token())
            .with_progress(progress)
            // hf-hub's retry loop discards the result of its last attempt, so
            // retries can leave a complete `.part` file behind that no later
            // run can finish. A failed run resumes from `.part` instead.
            .with_retries(0)
            .build()
            .map_err(|source| ResolveError::HubClient {
                source: Box::new(source),
            })
    }
}

/// The Python client's default: `HF_HOME`, else `$XDG_CACHE_HOME/huggingface`,
/// else `~/.cache/huggingface` (on every OS, unlike `dirs::cache_dir`).
fn default_hf_home() -> Option<PathBuf> {
    if let Some(home) = non_empty_env("HF_HOME") {
        return Some(PathBuf::from(home));
    }
    let cache = non_empty_env("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|home| home.join(".cache")))?;
    Some(cache.join("huggingface"))
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|value| value.trim().to_string())
        .filter(|value| !value.is_empty())
}

/// Truthy the way `huggingface_hub` reads its boolean variables.
fn env_flag(name: &str) -> bool {
    non_empty_env(name).is_some_and(|value| is_truthy(&value))
}

pub(crate) fn is_truthy(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "on" | "yes" | "true"
    )
}

pub(crate) fn repo_cache_dir(hub_cache: &Path, repo: &str) -> PathBuf {
    hub_cache.join(format!("models--{}", repo.replace('/', "--")))
}

pub(crate) fn is_commit_hash(revision: &str) -> bool {
    revision.len() == 40 && revision.bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// The commit a revision points at in the cache: a commit hash is its own
/// snapshot (the Python client writes no ref for it); a branch or tag is
/// looked up in `refs/<revision>`.
fn cached_commit(hub_cache: &Path, repo: &str, revision: &str) -> Option<String> {
    if is_commit_hash(revision) {
        return Some(revision.to_ascii_lowercase());
    }
    let reference = repo_cache_dir(hub_cache, repo).join("refs").join(revision);
    let commit = fs::read_to_string(reference).ok()?.trim().to_string();
    // The ref file's content becomes a path component: refuse anything odd.
    is_safe_relative_name(&commit)
        .then_some(commit)
        .filter(|commit| !commit.contains('/'))
}

fn snapshot_dir(hub_cache: &Path, repo: &str, revision: &str) -> Option<PathBuf> {
    let commit = cached_commit(hub_cache, repo, revision)?;
    let dir = repo_cache_dir(hub_cache, repo)
        .join("snapshots")
        .join(commit);
    dir.is_dir().then_some(dir)
}

pub(crate) fn resolve_hub<L: Layout>(
    request: &HubRequest,
    opts: &ResolveOptions,
) -> Result<Resolved<L>, ResolveError> {
    validate_revision(&request.revision)?;
    let settings = HubSettings::from_options(opts)?;
    let help = ManualDownload {
        repo: request.repo.clone(),
        revision: request.revision.clone(),
        files: request.files.clone().unwrap_or_default(),
    };

    // Cache first: a complete snapshot needs no network, not even a check for
    // updates. Presets pin commits, so there is nothing to update; for a
    // branch, pin a commit (or delete the ref) to move on.
    let cached = snapshot_dir(&settings.hub_cache, &request.repo, &request.revision);
    let missing = match check_snapshot(
        cached.clone(),
        request.files.as_deref(),
        &request.optional_files,
    )? {
        Ok(layout) => {
            let dir = cached.ok_or(ResolveError::NoCacheDir)?;
            return Ok(hub_resolved(request, dir, layout, Vec::new()));
        }
        Err(missing) => missing,
    };
    if settings.offline {
        return Err(ResolveError::NotCached {
            repo: request.repo.clone(),
            revision: request.revision.clone(),
            cache: settings.hub_cache.clone(),
            missing,
            help: Box::new(help),
        });
    }

    let mut hub = HubSource {
        api: settings.api(opts.progress)?,
        settings: &settings,
        repo: &request.repo,
        revision: &request.revision,
        commit: cached_commit(&settings.hub_cache, &request.repo, &request.revision),
        help: help.clone(),
        downloaded: Vec::new(),
    };
    let incomplete = |missing| ResolveError::IncompleteHubRepo {
        endpoint: settings.endpoint.clone(),
        repo: request.repo.clone(),
        revision: request.revision.clone(),
        missing,
        help: Box::new(help.clone()),
    };
    let layout = match &request.files {
        Some(files) => {
            let mut missing = Vec::new();
            let mut allowed = files.clone();
            for file in files {
                match hub.fetch(file)? {
                    None => missing.push(file.clone()),
                    Some(path) if file.ends_with(".index.json") => {
                        for shard in shard_names(&path)? {
                            if hub.fetch(&shard)?.is_none() {
                                missing.push(format!("{shard} (listed in {file})"));
                            }
                            allowed.push(shard);
                        }
                    }
                    Some(_) => {}
                }
            }
            if !missing.is_empty() {
                return Err(incomplete(missing));
            }
            for file in &request.optional_files {
                if hub.fetch(file)?.is_some() {
                    allowed.push(file.clone());
                }
            }
            match L::discover(&mut DirSource::pinned(hub.snapshot_dir(), Some(&allowed)))? {
                Discovery::Complete(layout) => layout,
                Discovery::Incomplete(missing) => return Err(incomplete(missing)),
            }
        }
        None => match L::discover(&mut hub)? {
            Discovery::Complete(layout) => layout,
            Discovery::Incomplete(missing) => return Err(incomplete(missing)),
        },
    };
    let dir = hub.snapshot_dir().ok_or_else(|| incomplete(Vec::new()))?;
    let downloaded = std::mem::take(&mut hub.downloaded);
    Ok(hub_resolved(request, dir, layout, downloaded))
}

/// `Ok(layout)` when the snapshot holds a complete model (and every pinned
/// file); `Err(missing)` otherwise.
pub(crate) fn check_snapshot<L: Layout>(
    snapshot: Option<PathBuf>,
    pinned_files: Option<&[String]>,
    optional_files: &[String],
) -> Result<Result<L, Vec<String>>, ResolveError> {
    let Some(dir) = snapshot else {
        let missing = match pinned_files {
            Some(files) => files.to_vec(),
            None => L::wanted(),
        };
        return Ok(Err(missing));
    };
    let mut allowed = Vec::new();
    if let Some(files) = pinned_files {
        let missing: Vec<String> = files
            .iter()
            .filter(|file| !dir.join(file).is_file())
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Ok(Err(missing));
        }
        allowed.extend(files.iter().cloned());
        for index in files.iter().filter(|file| file.ends_with(".index.json")) {
            allowed.extend(shard_names(&dir.join(index))?);
        }
        // An optional file absent from the snapshot may simply not exist in
        // the repo; it cannot make the snapshot incomplete.
        allowed.extend(optional_files.iter().cloned());
    }
    let only = pinned_files.map(|_| allowed.as_slice());
    Ok(
        match L::discover(&mut DirSource::pinned(Some(dir), only))? {
            Discovery::Complete(layout) => Ok(layout),
            Discovery::Incomplete(missing) => Err(missing),
        },
    )
}

fn hub_resolved<L>(
    request: &HubRequest,
    dir: PathBuf,
    layout: L,
    downloaded: Vec<String>,
) -> Resolved<L> {
    let commit = dir
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| request.revision.clone());
    Resolved {
        identity: format!("{}@{commit}", request.repo),
        dir,
        name: request.name.clone(),
        repo: Some(request.repo.clone()),
        revision: Some(commit),
        licence: request.licence.clone(),
        layout,
        downloaded,
        warnings: Vec::new(),
    }
}

/// Fetches files through `hf-hub`, cache first. After the first download it
/// pins the commit the hub reported, so every file comes from one commit even
/// if the branch moves meanwhile.
struct HubSource<'a> {
    api: Api,
    settings: &'a HubSettings,
    repo: &'a str,
    revision: &'a str,
    commit: Option<String>,
    help: ManualDownload,
    downloaded: Vec<String>,
}

/// An `hf-hub` failure sorted by what the user can do about it.
enum HubFailure {
    /// The server answered with an HTTP error status.
    Status {
        status: u16,
        error_code: Option<String>,
    },
    /// No HTTP answer at all: connection refused, DNS, TLS, proxy.
    Unreachable(ApiError),
    /// Anything else, mostly I/O while receiving a body.
    Other(ApiError),
}

fn classify(error: ApiError) -> HubFailure {
    match error {
        ApiError::RequestError(request_error) => {
            // hf-hub hides ureq behind a Box and this crate does not depend on
            // ureq, so its error is inspected through methods: `kind()`
            // reports HTTP status errors as "HTTP status error".
            if request_error.kind().to_string() == "HTTP status error" {
                match (*request_error).into_response() {
                    Some(response) => HubFailure::Status {
                        status: response.status(),
                        error_code: response.header("x-error-code").map(str::to_string),
                    },
                    None => HubFailure::Status {
                        status: 0,
                        error_code: None,
                    },
                }
            } else {
                HubFailure::Unreachable(ApiError::RequestError(request_error))
            }
        }
        other => HubFailure::Other(other),
    }
}

impl HubSource<'_> {
    fn snapshot_dir(&self) -> Option<PathBuf> {
        let commit = self.commit.as_deref().unwrap_or(self.revision);
        snapshot_dir(&self.settings.hub_cache, self.repo, commit)
    }

    fn download(&mut self, name: &str) -> Result<Option<PathBuf>, ResolveError> {
        let revision = self
            .commit
            .clone()
            .unwrap_or_else(|| self.revision.to_string());
        let repo = Repo::with_revision(self.repo.to_string(), RepoType::Model, revision.clone());
        let error_context = |file: &str| {
            (
                self.settings.endpoint.clone(),
                self.repo.to_string(),
                revision.clone(),
                file.to_string(),
                Box::new(self.help.clone()),
            )
        };
        match self.api.repo(repo).download(name) {
            Ok(path) => {
                if self.commit.is_none() {
                    self.commit = snapshot_commit_of(&path, name);
                }
                self.downloaded.push(name.to_string());
                Ok(Some(path))
            }
            Err(error) => {
                let (endpoint, repo, revision, file, help) = error_context(name);
                match classify(error) {
                    HubFailure::Status { status, error_code } => {
                        match (status, error_code.as_deref()) {
                            (_, Some("RepoNotFound")) | (401, _) => {
                                Err(ResolveError::RepoNotFound {
                                    endpoint,
                                    repo,
                                    status,
                                })
                            }
                            (_, Some("RevisionNotFound")) => Err(ResolveError::RevisionNotFound {
                                endpoint,
                                repo,
                                revision,
                            }),
                            (404, _) => Ok(None),
                            _ => Err(ResolveError::HubStatus {
                                endpoint,
                                repo,
                                revision,
                                file,
                                status,
                                help,
                            }),
                        }
                    }
                    HubFailure::Unreachable(source) => Err(ResolveError::HubUnreachable {
                        endpoint,
                        repo,
                        revision,
                        file,
                        help,
                        source: Box::new(source),
                    }),
                    HubFailure::Other(source) => Err(ResolveError::DownloadFailed {
                        endpoint,
                        repo,
                        revision,
                        file,
                        help,
                        source: Box::new(source),
                    }),
                }
            }
        }
    }
}

impl FileSource for HubSource<'_> {
    fn fetch(&mut self, name: &str) -> Result<Option<PathBuf>, ResolveError> {
        if !is_safe_relative_name(name) {
            return Err(ResolveError::UnsafeFileName {
                path: PathBuf::from(self.repo),
                name: name.to_string(),
            });
        }
        if let Some(cached) = self
            .snapshot_dir()
            .map(|dir| dir.join(name))
            .filter(|path| path.is_file())
        {
            return Ok(Some(cached));
        }
        self.download(name)
    }
}

/// hf-hub returns `<cache>/snapshots/<commit>/<name>`; the commit is the
/// directory above the file's own components.
pub(crate) fn snapshot_commit_of(path: &Path, name: &str) -> Option<String> {
    let mut dir = path.to_path_buf();
    for _ in Path::new(name).components() {
        dir.pop();
    }
    dir.file_name()
        .map(|commit| commit.to_string_lossy().into_owned())
}
