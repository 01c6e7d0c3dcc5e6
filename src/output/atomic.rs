//! Writing files so that nothing already written is lost or half-written: a
//! temporary file in the same directory renamed over the old one, and only
//! when the content changed.

use std::fs;
use std::io::Write;
use std::path::Path;

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
    let mut builder = tempfile::Builder::new();
    builder.prefix(".anubad-").suffix(".tmp");
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
    let mut temp = builder.tempfile_in(out_dir).map_err(write_error)?;
    temp.write_all(content).map_err(write_error)?;
    temp.as_file().sync_all().map_err(write_error)?;
    // On failure the temporary file is dropped, which deletes it.
    temp.persist(path).map_err(|e| write_error(e.error))?;
    Ok(())
}
