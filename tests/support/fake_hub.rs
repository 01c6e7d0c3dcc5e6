//! A stand-in for the Hugging Face hub on 127.0.0.1, for tests of the model
//! download path without a network.
//!
//! It serves one directory as one model repo the way huggingface.co does for
//! `hf-hub` 0.4.3's sync (ureq) client, and for the Python client:
//!
//! - `GET|HEAD /{repo}/resolve/{revision}/{file}` for `revision` = `main` or
//!   the repo's commit (`%2F` in a revision is decoded). Every answer carries
//!   `X-Repo-Commit`.
//! - Small ("git") files answer directly: `ETag: "<id>"`, and for a `Range`
//!   request `206` with `Content-Range: bytes a-b/size` (hf-hub asks for
//!   `bytes=0-0` first and reads the size from `Content-Range`).
//! - Large ("LFS") files (`.bin`, `.safetensors`, `.h5`, `.gguf`, `.onnx`,
//!   `.msgpack`, `.pt`) answer `302` with an absolute `Location` on a
//!   `/cdn/<sha256>` path, `X-Linked-Etag: "<sha256>"` and `X-Linked-Size`, as
//!   the hub does before handing over to its CDN; hf-hub takes the ETag and
//!   commit from the 302 and the size from the CDN's `Content-Range`. The blob
//!   therefore lands in the cache as `blobs/<sha256>`, the name the Python
//!   client gives it too.
//! - `Range: bytes=N-` resumes (`206`); a range past the end is `416` with
//!   `Content-Range: bytes */size`, like S3.
//! - A repo served under an old name (`renamed_from`) answers `307` with a
//!   relative `Location`, which hf-hub follows by hand.
//! - Errors carry the hub's `X-Error-Code`: unknown repo → `401 RepoNotFound`
//!   (what the hub tells anonymous clients), unknown revision →
//!   `404 RevisionNotFound`, missing file → `404 EntryNotFound`.
//! - `GET /api/models/{repo}/revision/{revision}` lists the files (`sha`,
//!   `siblings`), as `ApiRepo::info` expects.
//!
//! Every response is `Connection: close`. Reads and writes time out after a
//! few seconds and the accept loop polls a stop flag, so no test can hang on
//! it. [`FakeHub::cut_after`] makes the server drop a file's body part-way,
//! which is what a client sees when the server goes away mid-download;
//! [`FakeHub::shutdown`] closes the port. Requests are recorded so a test can
//! assert that a cache hit made none.
//!
//! Content is read into memory at start: serve small fixtures only. Empty
//! files cannot be fetched by hf-hub (its `bytes=0-0` probe gets `416`).
//!
//! hf-hub's HTTP agent takes a proxy from `ALL_PROXY`/`HTTPS_PROXY`/
//! `HTTP_PROXY` (any case) and ureq 2 ignores `NO_PROXY`, so with a proxy in
//! the environment even 127.0.0.1 goes through it; tests should skip then
//! (see [`proxy_in_environment`]).

#![allow(dead_code)] // Each test binary uses a different part of it.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use sha2::{Digest, Sha256};

const IO_TIMEOUT: Duration = Duration::from_secs(5);
const ACCEPT_POLL: Duration = Duration::from_millis(5);
const MAX_REQUEST_HEAD: usize = 16 * 1024;
const LFS_EXTENSIONS: &[&str] = &["bin", "safetensors", "h5", "gguf", "onnx", "msgpack", "pt"];

/// The proxy variable that would divert hf-hub's requests away from a
/// loopback hub, if one is set.
pub fn proxy_in_environment() -> Option<String> {
    [
        "ALL_PROXY",
        "all_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
    ]
    .into_iter()
    .find(|name| std::env::var(name).is_ok_and(|value| !value.trim().is_empty()))
    .map(str::to_string)
}

/// One request as the fake hub saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    /// The `Range` header, if any.
    pub range: Option<String>,
}

/// A running fake hub; stops when dropped.
pub struct FakeHub {
    endpoint: String,
    shared: Arc<Shared>,
    accept_thread: Option<JoinHandle<()>>,
}

/// Options for [`FakeHub`] before it starts.
pub struct FakeHubBuilder {
    repo: String,
    dir: PathBuf,
    commit: Option<String>,
    old_names: Vec<String>,
}

struct ServedFile {
    bytes: Vec<u8>,
    sha256: String,
    lfs: bool,
}

struct Shared {
    repo: String,
    old_names: Vec<String>,
    commit: String,
    base_url: String,
    files: HashMap<String, ServedFile>,
    stop: AtomicBool,
    requests: Mutex<Vec<RecordedRequest>>,
    cuts: Mutex<HashMap<String, usize>>,
    connections: Mutex<Vec<JoinHandle<()>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking connection thread must not take the whole test down with a
    // poisoned lock; the data stays usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl FakeHub {
    /// Serves `dir` as repo `repo` (e.g. `owner/tiny`) with a commit derived
    /// from the content.
    pub fn serve(repo: &str, dir: &Path) -> io::Result<FakeHub> {
        FakeHub::builder(repo, dir).start()
    }

    pub fn builder(repo: &str, dir: &Path) -> FakeHubBuilder {
        FakeHubBuilder {
            repo: repo.to_string(),
            dir: dir.to_path_buf(),
            commit: None,
            old_names: Vec::new(),
        }
    }

    /// Base URL to use as `HF_ENDPOINT`, e.g. `http://127.0.0.1:41234`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The commit every answer reports in `X-Repo-Commit`.
    pub fn commit(&self) -> &str {
        &self.shared.commit
    }

    /// Number of requests received so far (resolve, CDN and API together).
    pub fn request_count(&self) -> usize {
        lock(&self.shared.requests).len()
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// From now on, bodies of `file` longer than one byte stop after `bytes`
    /// bytes and the connection closes, although the headers promised more.
    pub fn cut_after(&self, file: &str, bytes: usize) {
        lock(&self.shared.cuts).insert(file.to_string(), bytes);
    }

    /// Undoes [`FakeHub::cut_after`] for every file.
    pub fn stop_cutting(&self) {
        lock(&self.shared.cuts).clear();
    }

    /// Stops accepting, closes the port and waits for open connections to
    /// finish (each is bounded by the I/O timeout). Idempotent.
    pub fn shutdown(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.accept_thread.take() {
            let _ = thread.join();
        }
        let connections: Vec<JoinHandle<()>> = lock(&self.shared.connections).drain(..).collect();
        for connection in connections {
            let _ = connection.join();
        }
    }
}

impl Drop for FakeHub {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl FakeHubBuilder {
    /// Reports this commit instead of one derived from the content (e.g. a
    /// preset's pinned revision).
    pub fn commit(mut self, commit: &str) -> Self {
        self.commit = Some(commit.to_string());
        self
    }

    /// Also answers for `old_repo`, with a relative 307 to the real name.
    pub fn renamed_from(mut self, old_repo: &str) -> Self {
        self.old_names.push(old_repo.to_string());
        self
    }

    pub fn start(self) -> io::Result<FakeHub> {
        let mut files = HashMap::new();
        collect_files(&self.dir, &self.dir, &mut files)?;
        let commit = self.commit.unwrap_or_else(|| content_commit(&files));
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Shared {
            repo: self.repo,
            old_names: self.old_names,
            commit,
            base_url: base_url.clone(),
            files,
            stop: AtomicBool::new(false),
            requests: Mutex::new(Vec::new()),
            cuts: Mutex::new(HashMap::new()),
            connections: Mutex::new(Vec::new()),
        });
        let accept_shared = Arc::clone(&shared);
        let accept_thread = std::thread::Builder::new()
            .name("fake-hub-accept".to_string())
            .spawn(move || accept_loop(listener, accept_shared))?;
        Ok(FakeHub {
            endpoint: base_url,
            shared,
            accept_thread: Some(accept_thread),
        })
    }
}

fn collect_files(
    root: &Path,
    dir: &Path,
    files: &mut HashMap<String, ServedFile>,
) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(root, &path, files)?;
            continue;
        }
        let name = path
            .strip_prefix(root)
            .map_err(io::Error::other)?
            .to_string_lossy()
            .replace('\\', "/");
        let bytes = std::fs::read(&path)?;
        let lfs = Path::new(&name)
            .extension()
            .and_then(|ext| ext.to_str())
            .is_some_and(|ext| LFS_EXTENSIONS.contains(&ext));
        files.insert(
            name,
            ServedFile {
                sha256: hex(&Sha256::digest(&bytes)),
                bytes,
                lfs,
            },
        );
    }
    Ok(())
}

/// 40 hex digits that change whenever any served file changes, like a commit.
fn content_commit(files: &HashMap<String, ServedFile>) -> String {
    let mut names: Vec<&String> = files.keys().collect();
    names.sort();
    let mut hasher = Sha256::new();
    for name in names {
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(files[name].sha256.as_bytes());
    }
    hex(&hasher.finalize())[..40].to_string()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let connection_shared = Arc::clone(&shared);
                let spawned = std::thread::Builder::new()
                    .name("fake-hub-connection".to_string())
                    .spawn(move || {
                        let _ = handle_connection(stream, &connection_shared);
                    });
                if let Ok(handle) = spawned {
                    lock(&shared.connections).push(handle);
                }
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(ACCEPT_POLL);
            }
            Err(_) => std::thread::sleep(ACCEPT_POLL),
        }
    }
    // Dropping the listener here closes the port: later connects are refused.
}

struct Request {
    method: String,
    target: String,
    range: Option<String>,
}

fn read_request(stream: &TcpStream) -> io::Result<Request> {
    let mut reader = BufReader::new(stream);
    let mut head_bytes = 0;
    let mut request_line = String::new();
    head_bytes += reader.read_line(&mut request_line)?;
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "bad request line",
        ));
    };
    let mut range = None;
    loop {
        let mut line = String::new();
        let read = reader.read_line(&mut line)?;
        head_bytes += read;
        if read == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if head_bytes > MAX_REQUEST_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request head too large",
            ));
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("range") {
                range = Some(value.trim().to_string());
            }
        }
    }
    Ok(Request {
        method: method.to_string(),
        target: target.to_string(),
        range,
    })
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Bytes of `body` actually sent before the connection is dropped.
    cut_at: Option<usize>,
}

impl Response {
    fn new(status: u16) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            cut_at: None,
        }
    }

    fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    fn hub_error(status: u16, code: &str, message: &str) -> Self {
        let mut response = Response::new(status)
            .header("X-Error-Code", code)
            .header("X-Error-Message", message)
            .header("Content-Type", "application/json");
        response.body = format!("{{\"error\":\"{message}\"}}").into_bytes();
        response
    }
}

fn handle_connection(stream: TcpStream, shared: &Shared) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let request = read_request(&stream)?;
    lock(&shared.requests).push(RecordedRequest {
        method: request.method.clone(),
        path: request.target.clone(),
        range: request.range.clone(),
    });
    let response = route(&request, shared);
    write_response(stream, &request.method, response)
}

fn write_response(mut stream: TcpStream, method: &str, response: Response) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        response.status,
        reason(response.status),
        response.body.len()
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if method != "HEAD" {
        let sent = response
            .cut_at
            .map_or(response.body.len(), |cut| cut.min(response.body.len()));
        stream.write_all(&response.body[..sent])?;
    }
    stream.flush()?;
    // Closing both directions makes a cut body look like a vanished server.
    let _ = stream.shutdown(Shutdown::Both);
    Ok(())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        302 => "Found",
        307 => "Temporary Redirect",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        416 => "Range Not Satisfiable",
        _ => "Unknown",
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let hex_value = |byte: u8| (byte as char).to_digit(16).map(|digit| digit as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&high), Some(&low)) => hex_value(high).zip(hex_value(low)),
            _ => None,
        };
        match escaped {
            Some((high, low)) => {
                out.push(high * 16 + low);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn route(request: &Request, shared: &Shared) -> Response {
    if request.method != "GET" && request.method != "HEAD" {
        return Response::new(405);
    }
    let path = request
        .target
        .split_once('?')
        .map_or(request.target.as_str(), |(path, _)| path);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();

    if segments.first() == Some(&"cdn") && segments.len() == 2 {
        return serve_cdn(request, shared, segments[1]);
    }
    if segments.len() == 6 && segments[..2] == ["api", "models"] && segments[4] == "revision" {
        return serve_info(
            shared,
            &format!("{}/{}", segments[2], segments[3]),
            segments[5],
        );
    }
    if segments.len() < 5 || segments[2] != "resolve" {
        return Response::hub_error(404, "EntryNotFound", "Not a resolve URL");
    }
    let repo = format!("{}/{}", segments[0], segments[1]);
    let revision = percent_decode(segments[3]);
    let file = segments[4..]
        .iter()
        .map(|segment| percent_decode(segment))
        .collect::<Vec<_>>()
        .join("/");

    if shared.old_names.contains(&repo) {
        // The hub's answer for a renamed repo: relative, so hf-hub follows it.
        return Response::new(307).header(
            "Location",
            format!(
                "/{}/resolve/{}/{}",
                shared.repo,
                segments[3],
                segments[4..].join("/")
            ),
        );
    }
    if repo != shared.repo {
        return Response::hub_error(401, "RepoNotFound", "Repository not found");
    }
    if revision != "main" && revision != shared.commit {
        return Response::hub_error(404, "RevisionNotFound", "Invalid rev id");
    }
    let Some(served) = shared.files.get(&file) else {
        return Response::hub_error(404, "EntryNotFound", "Entry not found")
            .header("X-Repo-Commit", shared.commit.clone());
    };
    if served.lfs {
        return Response::new(302)
            .header(
                "Location",
                format!("{}/cdn/{}", shared.base_url, served.sha256),
            )
            .header("X-Repo-Commit", shared.commit.clone())
            .header("X-Linked-Etag", format!("\"{}\"", served.sha256))
            .header("X-Linked-Size", served.bytes.len().to_string())
            // The hub's own ETag for an LFS pointer differs from the object's.
            .header("ETag", format!("\"{}\"", &served.sha256[..40]));
    }
    ranged_body(request, shared, &file, served)
        .header("X-Repo-Commit", shared.commit.clone())
        .header("ETag", format!("\"{}\"", &served.sha256[..40]))
}

fn serve_cdn(request: &Request, shared: &Shared, sha256: &str) -> Response {
    match shared.files.iter().find(|(_, file)| file.sha256 == sha256) {
        Some((name, served)) => ranged_body(request, shared, name, served)
            .header("ETag", format!("\"{}\"", served.sha256)),
        None => Response::new(404),
    }
}

fn serve_info(shared: &Shared, repo: &str, revision: &str) -> Response {
    if repo != shared.repo {
        return Response::hub_error(401, "RepoNotFound", "Repository not found");
    }
    let revision = percent_decode(revision);
    if revision != "main" && revision != shared.commit {
        return Response::hub_error(404, "RevisionNotFound", "Invalid rev id");
    }
    let mut names: Vec<&String> = shared.files.keys().collect();
    names.sort();
    let siblings: Vec<String> = names
        .iter()
        .map(|name| format!("{{\"rfilename\":\"{name}\"}}"))
        .collect();
    let mut response = Response::new(200).header("Content-Type", "application/json");
    response.body = format!(
        "{{\"id\":\"{}\",\"sha\":\"{}\",\"siblings\":[{}]}}",
        shared.repo,
        shared.commit,
        siblings.join(",")
    )
    .into_bytes();
    response
}

/// `Ok(Some((start, end_inclusive)))` for a satisfiable single range,
/// `Ok(None)` without a usable `Range`, `Err(())` for an unsatisfiable one.
fn parse_range(range: Option<&str>, size: usize) -> Result<Option<(usize, usize)>, ()> {
    let Some(spec) = range.and_then(|value| value.strip_prefix("bytes=")) else {
        return Ok(None);
    };
    let Some((start, end)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (start, end) = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let Ok(suffix) = suffix.parse::<usize>() else {
                return Ok(None);
            };
            if suffix == 0 || size == 0 {
                return Err(());
            }
            (size.saturating_sub(suffix), size - 1)
        }
        (start, end) => {
            let Ok(start) = start.parse::<usize>() else {
                return Ok(None);
            };
            let end = if end.is_empty() {
                size.saturating_sub(1)
            } else {
                match end.parse::<usize>() {
                    Ok(end) => end.min(size.saturating_sub(1)),
                    Err(_) => return Ok(None),
                }
            };
            (start, end)
        }
    };
    if start >= size || start > end {
        return Err(());
    }
    Ok(Some((start, end)))
}

fn ranged_body(request: &Request, shared: &Shared, name: &str, served: &ServedFile) -> Response {
    let size = served.bytes.len();
    let mut response = match parse_range(request.range.as_deref(), size) {
        Ok(None) => {
            let mut response = Response::new(200);
            response.body = served.bytes.clone();
            response
        }
        Ok(Some((start, end))) => {
            let mut response =
                Response::new(206).header("Content-Range", format!("bytes {start}-{end}/{size}"));
            response.body = served.bytes[start..=end].to_vec();
            response
        }
        Err(()) => {
            return Response::new(416).header("Content-Range", format!("bytes */{size}"));
        }
    };
    if response.body.len() > 1 {
        response.cut_at = lock(&shared.cuts).get(name).copied();
    }
    response.header("Accept-Ranges", "bytes")
}
