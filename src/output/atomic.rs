//! Writing files so that nothing already written is lost or half-written: a
//! temporary file in the same directory renamed over the old one, and only
//! when the content changed.
//!
//! A temporary file is named `.anubad-<pid>-XXXXXX.tmp`. One that a killed
//! run left behind is removed by the next run into the folder
//! ([`remove_stale_temp_files`]): when the process that made it is gone,
//! or when it is older than any write takes. A live process's file may be
//! a concurrent run's write in progress, and stays.

use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use crate::output::OutputError;

pub(crate) fn ensure_dir(out_dir: &Path) -> Result<(), OutputError> {
    fs::create_dir_all(out_dir).map_err(|source| OutputError::CreateDir {
        path: out_dir.to_path_buf(),
        source,
    })
}

/// Replaces `path` with `content` through a temporary file in the same
/// directory (a rename is atomic only within one file system), unless the
/// file already holds exactly `content`.
pub(crate) fn write_if_changed(
    out_dir: &Path,
    path: &Path,
    content: &[u8],
) -> Result<(), OutputError> {
    if fs::read(path).is_ok_and(|existing| existing == content) {
        return Ok(());
    }
    let write_error = |source| OutputError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut temp = temp_file_for(out_dir, path).map_err(write_error)?;
    temp.write_all(content).map_err(write_error)?;
    temp.as_file().sync_all().map_err(write_error)?;
    // On failure the temporary file is dropped, which deletes it.
    temp.persist(path).map_err(|e| write_error(e.error))?;
    Ok(())
}

/// A temporary file in `out_dir` to be renamed over `path`.
fn temp_file_for(out_dir: &Path, path: &Path) -> io::Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    let prefix = format!("{TEMP_PREFIX}{}-", std::process::id());
    builder.prefix(&prefix).suffix(TEMP_SUFFIX);
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
    builder.tempfile_in(out_dir)
}

/// [`write_if_changed`] for content too large to hold: `write` writes it to
/// the temporary file, which then replaces `path` unless the two are equal.
pub(crate) fn write_streamed_if_changed(
    out_dir: &Path,
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), OutputError> {
    let write_error = |source| OutputError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut temp = temp_file_for(out_dir, path).map_err(write_error)?;
    {
        let mut buffered = io::BufWriter::new(temp.as_file_mut());
        write(&mut buffered).map_err(write_error)?;
        buffered.flush().map_err(write_error)?;
    }
    if same_content(temp.path(), path) {
        return Ok(());
    }
    temp.as_file().sync_all().map_err(write_error)?;
    temp.persist(path).map_err(|e| write_error(e.error))?;
    Ok(())
}

/// Whether two files hold the same bytes, read a block at a time.
fn same_content(a: &Path, b: &Path) -> bool {
    use std::io::Read;
    let (Ok(a), Ok(b)) = (fs::File::open(a), fs::File::open(b)) else {
        return false;
    };
    if a.metadata().map(|m| m.len()).ok() != b.metadata().map(|m| m.len()).ok() {
        return false;
    }
    let (mut a, mut b) = (io::BufReader::new(a), io::BufReader::new(b));
    let (mut block_a, mut block_b) = ([0u8; 8192], [0u8; 8192]);
    loop {
        let read = match a.read(&mut block_a) {
            Ok(0) => return true,
            Ok(read) => read,
            Err(_) => return false,
        };
        if b.read_exact(&mut block_b[..read]).is_err() || block_a[..read] != block_b[..read] {
            return false;
        }
    }
}

const TEMP_PREFIX: &str = ".anubad-";
const TEMP_SUFFIX: &str = ".tmp";

/// A temporary file older than this is stale whoever made it: a write takes
/// milliseconds.
const STALE_TEMP_AGE: Duration = Duration::from_secs(10 * 60);

/// Removes the temporary files a killed run left in `out_dir`; returns how
/// many. Failures are ignored: a leftover costs only its space.
pub(crate) fn remove_stale_temp_files(out_dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(out_dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(middle) = name
            .to_str()
            .and_then(|n| n.strip_prefix(TEMP_PREFIX))
            .and_then(|n| n.strip_suffix(TEMP_SUFFIX))
        else {
            continue;
        };
        // Files of earlier versions have no pid in their name: age decides.
        let writer_gone = middle
            .split_once('-')
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
            .is_some_and(|pid| !process_alive(pid));
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|age| age > STALE_TEMP_AGE);
        if (writer_gone || old) && fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Whether process `pid` is running (possibly as another user).
#[cfg(unix)]
fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 sends nothing; it only checks that the process exists.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Unknown off Unix: only the file's age can show it is stale.
#[cfg(not(unix))]
fn process_alive(_pid: u32) -> bool {
    true
}
