//! Reading articles from what the user names: files, directories (walked for
//! `.txt`, `.md`, `.html` and `.htm`), JSONL files (one `{id, text|html,
//! title?, url?, published?}` object a line) and `-` for stdin (JSONL when
//! its first character is `{`, else one page). HTML pages are reduced to
//! their main-content text and metadata here.
//!
//! [`plan_inputs`] walks what was named without reading an article;
//! [`InputPlan::articles`] then reads them one at a time (a JSONL file or
//! stdin a line at a time), so a run's memory does not grow with its
//! input. A [`Shard`] reads only its share of the articles.
//!
//! Every problem with one input becomes an [`InputError`] naming it and the
//! reason, so that the batch goes on with the others.
//!
//! Directories are walked following symbolic links, with loop detection by
//! device and inode: each file is read once however many ways it is
//! reached, and a link back to a folder being walked is skipped and
//! reported ([`Skipped`]). What anubad wrote is never read back as an
//! article: the run's own `--out` folder, any folder holding a digest, and
//! any `<id>.md`/`<id>.html` next to the `<id>.json` anubad wrote for it.
//!
//! [`ReadOptions`] narrows what is read: `--exclude` globs, `--limit` and a shard.

use std::collections::HashSet;
use std::fmt;
use std::io::{self, BufRead, Read};
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
    #[error(
        "{input}: not valid UTF-16 text (it starts with a UTF-16 byte-order mark; \
         bad code unit at byte offset {offset}); convert it to UTF-8"
    )]
    BadUtf16 { input: String, offset: usize },
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
    #[error(
        "{input}: HTML nested more than {limit} elements deep (news pages nest under 100); \
         not read, as a page like it takes minutes to parse"
    )]
    NestedTooDeep { input: String, limit: usize },
}

impl InputError {
    /// The input the error is about, for the digest's list of failures.
    pub(crate) fn input(&self) -> &str {
        match self {
            InputError::Read { input, .. }
            | InputError::NotUtf8 { input, .. }
            | InputError::Binary { input }
            | InputError::BadUtf16 { input, .. }
            | InputError::NestedTooDeep { input, .. }
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

/// What a walk passed over, and why; nothing here fails an article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: SkipReason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// A symbolic link to a folder that contains it: following it would
    /// walk forever.
    LinkLoop { target: PathBuf },
    /// The run's own output folder, or a folder holding an anubad digest.
    OutputFolder,
    /// A file anubad wrote: the `<id>.md` or `<id>.html` of an `<id>.json`.
    Output,
    /// Not an article by its name: another extension, or a folder's README.
    NotAnArticle,
    /// Matched an `--exclude` glob.
    Excluded { glob: String },
}

impl SkipReason {
    /// Whether the user should hear about it: a loop means the folder is
    /// not what they think it is; outputs are left out as expected.
    pub fn is_warning(&self) -> bool {
        matches!(self, SkipReason::LinkLoop { .. })
    }
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match &self.reason {
            SkipReason::LinkLoop { target } => write!(
                f,
                "skipped {path}: a symbolic link loop back to {}",
                target.display()
            ),
            SkipReason::OutputFolder => write!(f, "skipped {path}: an anubad output folder"),
            SkipReason::Output => write!(f, "skipped {path}: written by anubad"),
            SkipReason::NotAnArticle => write!(
                f,
                "skipped {path}: not an article (a README, or not .txt, .md, .html, .htm)"
            ),
            SkipReason::Excluded { glob } => write!(f, "skipped {path}: --exclude {glob}"),
        }
    }
}

/// Every article of a run's inputs, and what the walks passed over.
#[derive(Debug, Default)]
pub struct Inputs {
    /// In a stable order: inputs as given, directory entries sorted by path.
    pub articles: Vec<Result<Article, InputError>>,
    pub skipped: Vec<Skipped>,
    /// `--limit` stopped the reading before every input was read.
    pub limited: bool,
}

/// What to read of the inputs, beyond what they name.
#[derive(Debug, Default)]
pub struct ReadOptions {
    /// The run's output folder, never read.
    pub out_dir: Option<PathBuf>,
    pub exclude: Exclude,
    /// Stop after this many articles (failed inputs count: each is one).
    pub limit: Option<usize>,
    /// Read only the articles of this shard.
    pub shard: Option<Shard>,
}

/// `--exclude` globs: a file or folder is left out when its name, or its
/// path below the input folder (or as given, for a named file), matches one.
#[derive(Debug, Default)]
pub struct Exclude {
    globs: Vec<String>,
    set: globset::GlobSet,
}

/// An `--exclude` pattern that is no glob.
#[derive(Debug, thiserror::Error)]
#[error("--exclude {glob}: not a valid glob")]
pub struct BadGlob {
    glob: String,
    #[source]
    source: globset::Error,
}

impl Exclude {
    pub fn new(globs: &[String]) -> Result<Self, BadGlob> {
        let mut builder = globset::GlobSetBuilder::new();
        for glob in globs {
            // A trailing slash means "this folder" to users of .gitignore.
            let pattern = glob.trim_end_matches('/');
            let compiled = globset::GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()
                .map_err(|source| BadGlob {
                    glob: glob.clone(),
                    source,
                })?;
            builder.add(compiled);
        }
        let set = builder.build().map_err(|source| BadGlob {
            glob: globs.join(" "),
            source,
        })?;
        Ok(Self {
            globs: globs.to_vec(),
            set,
        })
    }

    /// The first glob that matches `relative` or its last component.
    fn matching(&self, relative: &Path) -> Option<&str> {
        if self.globs.is_empty() {
            return None;
        }
        let by_path = self.set.matches(relative);
        let by_name = relative
            .file_name()
            .map(|name| self.set.matches(Path::new(name)))
            .unwrap_or_default();
        by_path
            .into_iter()
            .chain(by_name)
            .min()
            .map(|index| self.globs[index].as_str())
    }
}

/// Why a run cannot start on its inputs: said before any model loads.
#[derive(Debug, thiserror::Error)]
pub enum InputsError {
    #[error("{input}: no such file or directory")]
    NotFound { input: String },
    #[error(
        "no articles to read in {}: a folder is walked for .txt, .md, .html and .htm files \
         ({skipped} other files passed over; -v lists them)",
        inputs.join(", ")
    )]
    NoArticles { inputs: Vec<String>, skipped: usize },
}

/// Refuses inputs that name nothing: each path must exist (`-` is stdin).
pub fn check_inputs_exist(inputs: &[String]) -> Result<(), InputsError> {
    match inputs
        .iter()
        .find(|input| *input != "-" && !Path::new(input).exists())
    {
        Some(input) => Err(InputsError::NotFound {
            input: input.clone(),
        }),
        None => Ok(()),
    }
}

impl Inputs {
    /// Refuses a run with nothing to translate: every folder named was
    /// empty of articles (or all of it excluded).
    pub fn check_not_empty(&self, inputs: &[String]) -> Result<(), InputsError> {
        if self.articles.is_empty() {
            return Err(InputsError::NoArticles {
                inputs: inputs.to_vec(),
                skipped: self.skipped.len(),
            });
        }
        Ok(())
    }
}

/// `--out` would overwrite what the run reads.
#[derive(Debug, thiserror::Error)]
pub enum OutDirConflict {
    /// `--out` is an input folder: the outputs would overwrite inputs
    /// (`<id>.md` of `<id>.md`) and be read as articles by the next run.
    #[error(
        "--out {out} is the input folder {input}: outputs would overwrite articles and be \
         read as articles next time; write them to another folder (a folder inside the \
         input, such as {input}/out, is fine)"
    )]
    InputFolder { out: PathBuf, input: String },
    /// An input file in `--out` has a name the run writes there.
    #[error(
        "--out {out} holds the input {input}, which the run would overwrite with its own \
         output of that name; write the outputs to another folder"
    )]
    InputFile { out: PathBuf, input: String },
    /// `--out` names something that is not a folder.
    #[error("--out {out} is a file, not a folder; name a folder (it is created if missing)")]
    NotAFolder { out: PathBuf },
}

/// Refuses an output folder that is one of the input folders (however
/// spelled: the same device and inode), or that holds an input file named
/// as an output would be (`<id>.md`, `<id>.html`, `digest.md`,
/// `digest.html`). Other input files may sit in `--out`: `a.txt` gives
/// `a.json`, `a.md` and `a.html` beside it.
pub fn check_out_dir(inputs: &[String], out: &Path) -> Result<(), OutDirConflict> {
    if out.exists() && !out.is_dir() {
        return Err(OutDirConflict::NotAFolder {
            out: out.to_path_buf(),
        });
    }
    let Some(out_key) = FileKey::of(out).filter(|_| out.is_dir()) else {
        return Ok(());
    };
    for input in inputs.iter().filter(|i| *i != "-") {
        let path = Path::new(input);
        if path.is_dir() {
            if FileKey::of(path).as_ref() == Some(&out_key) {
                return Err(OutDirConflict::InputFolder {
                    out: out.to_path_buf(),
                    input: input.clone(),
                });
            }
            continue;
        }
        let in_out = path
            .parent()
            .map(|parent| {
                if parent.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    parent
                }
            })
            .and_then(FileKey::of)
            .as_ref()
            == Some(&out_key);
        let named_like_an_output = path.extension().is_some_and(|e| {
            ["md", "json", "html"]
                .iter()
                .any(|o| e.eq_ignore_ascii_case(o))
        }) || path.file_name().is_some_and(|name| {
            name.eq_ignore_ascii_case("digest.md") || name.eq_ignore_ascii_case("digest.html")
        });
        if in_out && named_like_an_output {
            return Err(OutDirConflict::InputFile {
                out: out.to_path_buf(),
                input: input.clone(),
            });
        }
    }
    Ok(())
}

/// Reads every article named by `inputs` at once: [`plan_inputs`] and its
/// [`InputPlan::articles`], collected. For commands whose inputs are few;
/// `run` reads them one at a time.
pub fn read_inputs(inputs: &[String], options: &ReadOptions) -> Inputs {
    let plan = plan_inputs(inputs, options);
    let skipped = plan.skipped.clone();
    let mut articles = plan.articles();
    let read: Vec<_> = articles.by_ref().collect();
    Inputs {
        articles: read,
        skipped,
        limited: articles.limited(),
    }
}

/// Walks `inputs` without reading any article: what will be read, in a
/// stable order (inputs as given, directory entries sorted by path), and
/// what the walks passed over. A walk leaves out `out_dir` (the run's output
/// folder) and everything anubad wrote; a file reached twice (two links, or
/// named twice) is read once.
pub fn plan_inputs(inputs: &[String], options: &ReadOptions) -> InputPlan {
    let mut walk = Walk {
        out_dir: options.out_dir.as_deref().and_then(FileKey::of),
        exclude: &options.exclude,
        seen_dirs: HashSet::new(),
        seen_files: HashSet::new(),
        sources: Vec::new(),
        skipped: Vec::new(),
    };
    for input in inputs {
        if input == "-" {
            walk.sources.push(Source::Stdin);
            continue;
        }
        let path = Path::new(input);
        if path.is_dir() {
            walk.directory(path);
        } else if path.exists() {
            if let Some(glob) = walk.exclude.matching(path) {
                walk.skipped.push(Skipped {
                    path: path.to_path_buf(),
                    reason: SkipReason::Excluded {
                        glob: glob.to_string(),
                    },
                });
            } else if walk.first_visit(path) {
                walk.sources.push(Source::File(path.to_path_buf()));
            }
        } else {
            walk.sources.push(Source::Failed(InputError::NotFound {
                input: input.clone(),
            }));
        }
    }
    InputPlan {
        sources: walk.sources,
        skipped: walk.skipped,
        limit: options.limit,
        shard: options.shard,
    }
}

/// What a run will read, found by [`plan_inputs`]; nothing is read yet.
#[derive(Debug)]
pub struct InputPlan {
    sources: Vec<Source>,
    pub skipped: Vec<Skipped>,
    limit: Option<usize>,
    shard: Option<Shard>,
}

#[derive(Debug)]
enum Source {
    Stdin,
    File(PathBuf),
    /// Known to fail before reading: a missing input, a folder entry that
    /// cannot be read.
    Failed(InputError),
}

impl InputPlan {
    /// Refuses a run with nothing to translate: every folder named was
    /// empty of articles (or all of it excluded).
    pub fn check_not_empty(&self, inputs: &[String]) -> Result<(), InputsError> {
        if self.sources.is_empty() {
            return Err(InputsError::NoArticles {
                inputs: inputs.to_vec(),
                skipped: self.skipped.len(),
            });
        }
        Ok(())
    }

    /// How many articles (failed inputs included) reading will give, with
    /// `--limit` and the shard applied; `None` when stdin is among the
    /// inputs, whose size is known only once read. Costs a pass over each
    /// JSONL file (its lines, and with a shard their ids), no page parsing.
    pub fn count(&self) -> Option<usize> {
        let count = self.count_unlimited()?;
        Some(self.limit.map_or(count, |limit| count.min(limit)))
    }

    /// Whether `--limit` leaves out some of the articles.
    pub fn is_limited(&self) -> bool {
        match (self.limit, self.count_unlimited()) {
            (Some(limit), Some(count)) => count > limit,
            _ => false,
        }
    }

    fn count_unlimited(&self) -> Option<usize> {
        let mut count = 0;
        for source in &self.sources {
            count += match source {
                Source::Stdin => return None,
                Source::Failed(error) => self.holds(error.input()) as usize,
                Source::File(path) if is_jsonl(path) => self.count_records(path),
                Source::File(path) => self.holds(&file_id(path)) as usize,
            };
        }
        Some(count)
    }

    fn holds(&self, raw_id: &str) -> bool {
        self.shard.is_none_or(|shard| shard.holds(raw_id))
    }

    /// Records of a JSONL file in this plan's shard: its non-blank lines,
    /// each placed by its `id` (or by its line, where it has none).
    fn count_records(&self, path: &Path) -> usize {
        #[derive(Deserialize)]
        struct IdOnly {
            id: serde_json::Value,
        }
        let Ok(file) = std::fs::File::open(path) else {
            // Reading it will fail: one failed input.
            return 1;
        };
        let mut reader = io::BufReader::new(file);
        let mut line = Vec::new();
        let mut count = 0;
        let mut number = 0;
        let input = path.display().to_string();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            number += 1;
            if line.trim_ascii().is_empty() {
                continue;
            }
            let Some(shard) = self.shard else {
                count += 1;
                continue;
            };
            let key = serde_json::from_slice::<IdOnly>(line.trim_ascii())
                .ok()
                .and_then(|record| record_id(&record.id))
                .unwrap_or_else(|| format!("{input}#{number}"));
            count += shard.holds(&key) as usize;
        }
        count.max(1)
    }

    /// The articles, read one at a time as the iterator is advanced.
    pub fn articles(self) -> Articles {
        Articles {
            sources: self.sources.into(),
            records: None,
            left: self.limit.unwrap_or(usize::MAX),
            limited: false,
            shard: self.shard,
        }
    }
}

/// One shard of a job split over `count` processes: the articles whose id
/// hashes to `index` (see [`Shard::of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

/// A `--shard` that is not `K/N` with `K < N`.
#[derive(Debug, thiserror::Error)]
#[error("shard {given:?}: expected K/N with 0 <= K < N (e.g. 0/4)")]
pub struct BadShard {
    given: String,
}

impl Shard {
    pub fn new(index: usize, count: usize) -> Result<Shard, BadShard> {
        if count == 0 || index >= count {
            return Err(BadShard {
                given: format!("{index}/{count}"),
            });
        }
        Ok(Shard { index, count })
    }

    /// `K/N`.
    pub fn parse(text: &str) -> Result<Shard, BadShard> {
        let bad = || BadShard {
            given: text.to_string(),
        };
        let (index, count) = text.split_once('/').ok_or_else(bad)?;
        let index = index.trim().parse().map_err(|_| bad())?;
        let count = count.trim().parse().map_err(|_| bad())?;
        Shard::new(index, count).map_err(|_| bad())
    }

    /// The shard of `count` that an article with id `raw_id` belongs to:
    /// the first 8 bytes of SHA-256 over its output id (the id made
    /// file-name safe, lower-cased), as a big-endian number, modulo
    /// `count`. Ids that could become the same file name land in one
    /// shard, so each shard makes them unique as one run would. A failed
    /// input with no id is placed by its name (`file.jsonl#7`).
    pub fn of(raw_id: &str, count: usize) -> usize {
        use sha2::{Digest, Sha256};
        let key = crate::output::safe_id(raw_id).to_lowercase();
        let digest = Sha256::digest(key.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        (u64::from_be_bytes(first) % count as u64) as usize
    }

    pub fn holds(&self, raw_id: &str) -> bool {
        Shard::of(raw_id, self.count) == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The articles of an [`InputPlan`], read lazily: a page when it is reached,
/// a JSONL file (or stdin) a line at a time, so a run holds only what it is
/// working on however large its inputs are.
pub struct Articles {
    sources: std::collections::VecDeque<Source>,
    records: Option<Records>,
    left: usize,
    limited: bool,
    shard: Option<Shard>,
}

impl Articles {
    /// Whether `--limit` stopped the reading before every input was read.
    pub fn limited(&self) -> bool {
        self.limited
    }

    fn holds(&self, raw_id: &str) -> bool {
        self.shard.is_none_or(|shard| shard.holds(raw_id))
    }

    /// The next article or failure of any source, shard and limit aside.
    fn next_any(&mut self) -> Option<Result<Article, InputError>> {
        loop {
            if let Some(records) = &mut self.records {
                match records.next(self.shard) {
                    Some(item) => return Some(item),
                    None => self.records = None,
                }
            }
            match self.sources.pop_front()? {
                Source::Failed(error) => {
                    if self.holds(error.input()) {
                        return Some(Err(error));
                    }
                }
                Source::Stdin => match open_stdin() {
                    Ok(StdinInput::Records(records)) => self.records = Some(records),
                    Ok(StdinInput::Page(bytes)) => {
                        if self.holds("stdin") {
                            return Some(article_from_bytes("stdin", "stdin", &bytes, false));
                        }
                    }
                    Err(error) => {
                        if self.holds(error.input()) {
                            return Some(Err(error));
                        }
                    }
                },
                Source::File(path) if is_jsonl(&path) => match Records::open(&path) {
                    Ok(records) => self.records = Some(records),
                    Err(error) => {
                        if self.holds(error.input()) {
                            return Some(Err(error));
                        }
                    }
                },
                Source::File(path) => {
                    if self.holds(&file_id(&path)) {
                        return Some(read_page_file(&path));
                    }
                }
            }
        }
    }
}

impl Iterator for Articles {
    type Item = Result<Article, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            // Whether anything was left unread decides `limited`.
            if !self.limited {
                self.limited = self.next_any().is_some();
            }
            return None;
        }
        let item = self.next_any()?;
        self.left -= 1;
        Some(item)
    }
}

/// The records of one JSONL input, read a line at a time.
struct Records {
    input: String,
    reader: Box<dyn io::BufRead>,
    line_number: usize,
    /// Any non-blank line met: a file of none is an empty input.
    any: bool,
    done: bool,
}

impl Records {
    fn open(path: &Path) -> Result<Records, InputError> {
        let input = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|source| InputError::Read {
            input: input.clone(),
            source,
        })?;
        let mut reader = io::BufReader::new(file);
        let start = reader.fill_buf().map_err(|source| InputError::Read {
            input: input.clone(),
            source,
        })?;
        // UTF-16 (Windows tools) is decoded whole; UTF-8 is streamed.
        let reader: Box<dyn io::BufRead> =
            if start.starts_with(&[0xff, 0xfe]) || start.starts_with(&[0xfe, 0xff]) {
                let mut bytes = Vec::new();
                reader
                    .read_to_end(&mut bytes)
                    .map_err(|source| InputError::Read {
                        input: input.clone(),
                        source,
                    })?;
                Box::new(io::Cursor::new(decode(&input, &bytes)?.into_bytes()))
            } else {
                Box::new(reader)
            };
        Ok(Records::new(input, reader))
    }

    fn new(input: String, reader: Box<dyn io::BufRead>) -> Records {
        Records {
            input,
            reader,
            line_number: 0,
            any: false,
            done: false,
        }
    }

    /// The next record of `shard` (every record without one).
    fn next(&mut self, shard: Option<Shard>) -> Option<Result<Article, InputError>> {
        if self.done {
            return None;
        }
        let mut line = Vec::new();
        loop {
            line.clear();
            let read = (&mut self.reader)
                .take(MAX_ARTICLE_BYTES + 1)
                .read_until(b'\n', &mut line);
            self.line_number += 1;
            let at = format!("{}#{}", self.input, self.line_number);
            match read {
                Ok(0) => {
                    self.done = true;
                    return (!self.any).then(|| {
                        Err(InputError::Empty {
                            input: self.input.clone(),
                        })
                    });
                }
                Ok(_) => {}
                Err(source) => {
                    self.done = true;
                    return Some(Err(InputError::Read { input: at, source }));
                }
            }
            if line.len() as u64 > MAX_ARTICLE_BYTES && !line.ends_with(b"\n") {
                // The rest of the line is skipped only to say how long it was.
                let rest = self.reader.skip_until(b'\n').unwrap_or(0);
                self.any = true;
                let size = (line.len() + rest) as u64;
                if shard.is_none_or(|shard| shard.holds(&at)) {
                    return Some(Err(InputError::TooLarge {
                        input: at,
                        size,
                        limit: MAX_ARTICLE_BYTES,
                    }));
                }
                continue;
            }
            let mut bytes = line.as_slice();
            if self.line_number == 1 {
                bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
            }
            if bytes.trim_ascii().is_empty() {
                continue;
            }
            self.any = true;
            let text = match std::str::from_utf8(bytes) {
                Ok(text) => text,
                Err(e) => {
                    if shard.is_none_or(|shard| shard.holds(&at)) {
                        return Some(Err(InputError::NotUtf8 {
                            input: at,
                            offset: e.valid_up_to(),
                        }));
                    }
                    continue;
                }
            };
            if let Some(item) = record(&at, text, shard) {
                return Some(item);
            }
        }
    }
}

/// What stdin holds: article JSONL (its first character is `{`), or one page.
enum StdinInput {
    Records(Records),
    Page(Vec<u8>),
}

fn open_stdin() -> Result<StdinInput, InputError> {
    let read_error = |source| InputError::Read {
        input: "stdin".into(),
        source,
    };
    let mut stdin = io::BufReader::with_capacity(1 << 16, io::stdin().lock());
    // Skip a UTF-8 byte-order mark and leading blank space to see the first
    // character; neither matters to a page or to JSONL.
    loop {
        let buffer = stdin.fill_buf().map_err(read_error)?;
        if buffer.starts_with(b"\xef\xbb\xbf") {
            stdin.consume(3);
            continue;
        }
        let blanks = buffer
            .iter()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
        if blanks == 0 || buffer.is_empty() {
            break;
        }
        stdin.consume(blanks);
    }
    if stdin.fill_buf().map_err(read_error)?.first() == Some(&b'{') {
        return Ok(StdinInput::Records(Records::new(
            "stdin".into(),
            Box::new(stdin),
        )));
    }
    let mut bytes = Vec::new();
    (&mut stdin)
        .take(MAX_ARTICLE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_ARTICLE_BYTES {
        // The rest is read only to say how large the input really was.
        let rest = io::copy(&mut stdin, &mut io::sink()).map_err(read_error)?;
        return Err(InputError::TooLarge {
            input: "stdin".into(),
            size: bytes.len() as u64 + rest,
            limit: MAX_ARTICLE_BYTES,
        });
    }
    Ok(StdinInput::Page(bytes))
}

fn is_jsonl(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("jsonl"))
}

/// The raw id of a page file: its stem.
fn file_id(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "article".into())
}

/// Identifies a file or folder however it is reached: device and inode
/// where there are such, else the path with every link resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum FileKey {
    #[cfg(unix)]
    Inode { device: u64, inode: u64 },
    #[cfg(not(unix))]
    Canonical(PathBuf),
}

impl FileKey {
    /// The key of what `path` leads to (links followed); `None` when it
    /// cannot be read.
    fn of(path: &Path) -> Option<FileKey> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let metadata = std::fs::metadata(path).ok()?;
            Some(FileKey::Inode {
                device: metadata.dev(),
                inode: metadata.ino(),
            })
        }
        #[cfg(not(unix))]
        {
            std::fs::canonicalize(path).ok().map(FileKey::Canonical)
        }
    }
}

/// The state of reading one run's inputs.
struct Walk<'a> {
    out_dir: Option<FileKey>,
    exclude: &'a Exclude,
    seen_dirs: HashSet<FileKey>,
    seen_files: HashSet<FileKey>,
    sources: Vec<Source>,
    skipped: Vec<Skipped>,
}

impl Walk<'_> {
    /// True the first time a file is met, however it is reached.
    fn first_visit(&mut self, file: &Path) -> bool {
        FileKey::of(file).is_none_or(|key| self.seen_files.insert(key))
    }

    fn directory(&mut self, root: &Path) {
        let mut files = Vec::new();
        let mut entries = walkdir::WalkDir::new(root)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter();
        while let Some(entry) = entries.next() {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    self.walk_error(error);
                    continue;
                }
            };
            let path = entry.path();
            if entry.depth() > 0 {
                let relative = path.strip_prefix(root).unwrap_or(path);
                if let Some(glob) = self.exclude.matching(relative) {
                    self.skipped.push(Skipped {
                        path: path.to_path_buf(),
                        reason: SkipReason::Excluded {
                            glob: glob.to_string(),
                        },
                    });
                    if entry.file_type().is_dir() {
                        entries.skip_current_dir();
                    }
                    continue;
                }
            }
            if entry.file_type().is_dir() {
                let key = FileKey::of(path);
                let is_output = entry.depth() > 0
                    && (key.is_some() && key == self.out_dir || holds_digest(path));
                if is_output {
                    self.skipped.push(Skipped {
                        path: path.to_path_buf(),
                        reason: SkipReason::OutputFolder,
                    });
                    entries.skip_current_dir();
                } else if key.is_some_and(|key| !self.seen_dirs.insert(key)) {
                    // Already walked by another way in (a link or another
                    // input): its files are read once.
                    entries.skip_current_dir();
                }
            } else if is_article_file(path) {
                if written_by_anubad(path) {
                    self.skipped.push(Skipped {
                        path: path.to_path_buf(),
                        reason: SkipReason::Output,
                    });
                } else if self.first_visit(path) {
                    files.push(path.to_path_buf());
                }
            } else {
                self.skipped.push(Skipped {
                    path: path.to_path_buf(),
                    reason: SkipReason::NotAnArticle,
                });
            }
        }
        files.sort();
        self.sources.extend(files.into_iter().map(Source::File));
    }

    fn walk_error(&mut self, error: walkdir::Error) {
        let path = error.path().map(Path::to_path_buf).unwrap_or_default();
        if let Some(ancestor) = error.loop_ancestor() {
            self.skipped.push(Skipped {
                reason: SkipReason::LinkLoop {
                    target: ancestor.to_path_buf(),
                },
                path,
            });
            return;
        }
        let source = error
            .into_io_error()
            .unwrap_or_else(|| io::Error::other("cannot walk the folder"));
        // A dangling link or an unreadable entry that would not have been
        // an article anyway is no failure of the batch.
        if source.kind() == io::ErrorKind::NotFound && !is_article_file(&path) {
            return;
        }
        self.sources.push(Source::Failed(InputError::Read {
            input: path.display().to_string(),
            source,
        }));
    }
}

/// Whether a walk picks `path` up as an article: by extension, and not a
/// folder's README (which describes the folder).
fn is_article_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| ARTICLE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        && !path
            .file_stem()
            .is_some_and(|s| s.eq_ignore_ascii_case("readme"))
}

/// A folder anubad wrote a digest into: both digest files are there.
fn holds_digest(dir: &Path) -> bool {
    ["digest.md", "digest.html"]
        .iter()
        .all(|name| dir.join(name).is_file())
}

/// Whether `path` is the Markdown or HTML anubad wrote next to an
/// `<id>.json` article record.
fn written_by_anubad(path: &Path) -> bool {
    let json = path.with_extension("json");
    let Ok(text) = std::fs::read_to_string(&json) else {
        return false;
    };
    serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|record| {
        ["fingerprint", "paragraphs", "model"]
            .iter()
            .all(|field| record.get(field).is_some())
    })
}

/// A page file (not JSONL): `.txt`, `.md`, `.html`, or anything named.
fn read_page_file(path: &Path) -> Result<Article, InputError> {
    let input = path.display().to_string();
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.len() > MAX_ARTICLE_BYTES {
            return Err(InputError::TooLarge {
                input,
                size: meta.len(),
                limit: MAX_ARTICLE_BYTES,
            });
        }
    }
    let bytes = std::fs::read(path).map_err(|source| InputError::Read {
        input: input.clone(),
        source,
    })?;
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let is_html = extension == "html" || extension == "htm";
    article_from_bytes(&input, &file_id(path), &bytes, is_html)
}

fn decode(input: &str, bytes: &[u8]) -> Result<String, InputError> {
    // Windows tools write UTF-16 with a byte-order mark; without one it is
    // indistinguishable from binary.
    match bytes {
        [0xff, 0xfe, rest @ ..] => return decode_utf16(input, rest, u16::from_le_bytes),
        [0xfe, 0xff, rest @ ..] => return decode_utf16(input, rest, u16::from_be_bytes),
        _ => {}
    }
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

/// `bytes` after a UTF-16 byte-order mark, read with `unit`'s byte order.
fn decode_utf16(input: &str, bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, InputError> {
    let units = bytes.chunks(2).map(|pair| match pair {
        [a, b] => Ok(unit([*a, *b])),
        _ => Err(()),
    });
    let mut text = String::with_capacity(bytes.len());
    let mut offset = 2;
    for decoded in char::decode_utf16(units.map_while(Result::ok)) {
        match decoded {
            Ok(c) => {
                text.push(c);
                offset += 2 * c.len_utf16();
            }
            Err(_) => break,
        }
    }
    if offset != bytes.len() + 2 {
        return Err(InputError::BadUtf16 {
            input: input.into(),
            offset,
        });
    }
    Ok(text)
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
        let page = html::html_page(content).map_err(|too_deep| InputError::NestedTooDeep {
            input: input.into(),
            limit: too_deep.limit,
        })?;
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

/// The `id` of a JSONL record as a raw id: a non-empty string or a number.
fn record_id(id: &serde_json::Value) -> Option<String> {
    match id {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The article of one JSONL line `at` (`file.jsonl#7`), or why it is none;
/// `None` when it belongs to another shard. A record is placed by its id,
/// one without a usable id by `at`.
fn record(at: &str, line: &str, shard: Option<Shard>) -> Option<Result<Article, InputError>> {
    let ours = |key: &str| shard.is_none_or(|shard| shard.holds(key));
    let record = match serde_json::from_str::<Record>(line) {
        Ok(record) => record,
        Err(e) => {
            return ours(at).then(|| {
                Err(InputError::BadRecord {
                    input: at.to_string(),
                    reason: e.to_string(),
                })
            })
        }
    };
    let Some(raw_id) = record_id(&record.id) else {
        return ours(at).then(|| {
            Err(InputError::BadRecord {
                input: at.to_string(),
                reason: "`id` must be a non-empty string or a number".into(),
            })
        });
    };
    if !ours(&raw_id) {
        return None;
    }
    let given = PageHints {
        title: record.title.filter(|t| !t.trim().is_empty()),
        published: record.published,
        ..PageHints::default()
    };
    let size = [&record.text, &record.html]
        .iter()
        .filter_map(|field| field.as_ref().map(|f| f.len() as u64))
        .max()
        .unwrap_or(0);
    if size > MAX_ARTICLE_BYTES {
        return Some(Err(InputError::TooLarge {
            input: at.to_string(),
            size,
            limit: MAX_ARTICLE_BYTES,
        }));
    }
    Some(match (record.text, record.html) {
        (Some(text), _) => page(at, &raw_id, &text, false, given, record.url),
        (None, Some(html)) => page(at, &raw_id, &html, true, given, record.url),
        (None, None) => Err(InputError::BadRecord {
            input: at.to_string(),
            reason: "needs a `text` or an `html` field".into(),
        }),
    })
}

/// Every record of a JSONL text, as one input `input`.
#[cfg(test)]
fn records(input: &str, text: &str) -> Vec<Result<Article, InputError>> {
    let mut records = Records::new(
        input.to_string(),
        Box::new(io::Cursor::new(text.as_bytes().to_vec())),
    );
    std::iter::from_fn(|| records.next(None)).collect()
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
            article_from_bytes("x.txt", "x", b"\x7fELF\x00a", false),
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

    #[test]
    fn utf16_with_a_byte_order_mark_is_decoded_and_bad_utf16_named() {
        let text = "ঢাকায় বৃষ্টি।\nদ্বিতীয় লাইন";
        let mut le = vec![0xff, 0xfe];
        le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let mut be = vec![0xfe, 0xff];
        be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
        for bytes in [le, be] {
            assert_eq!(
                article_from_bytes("x.txt", "x", &bytes, false)
                    .unwrap()
                    .text,
                text
            );
        }
        // An odd byte at the end, and a lone surrogate, are named by offset.
        assert!(matches!(
            article_from_bytes("x.txt", "x", b"\xff\xfe\x95\x09\x00", false),
            Err(InputError::BadUtf16 { offset: 4, .. })
        ));
        assert!(matches!(
            article_from_bytes("x.txt", "x", b"\xff\xfe\x95\x09\x00\xd8\x95\x09", false),
            Err(InputError::BadUtf16 { offset: 4, .. })
        ));
    }
}
