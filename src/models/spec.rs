//! The syntax of a `--model` spec: a local directory or `.gguf` file, a
//! preset name or a hub id, each of the last two optionally `@REVISION`.

use std::path::{Path, PathBuf};

use super::layout::is_safe_relative_name;
use super::presets::{find_preset, presets, Preset};
use super::ResolveError;

/// What a `--model` spec refers to, before anything is downloaded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ModelSpec {
    /// An existing directory on this machine.
    LocalDir(PathBuf),
    /// An existing `.gguf` file: the model is its folder, with this file as
    /// the weights (other `.gguf` files beside it are not looked at).
    LocalGguf(PathBuf),
    /// A preset; `revision` replaces its pinned commit when given (`NAME@REV`).
    Preset {
        preset: Box<Preset>,
        revision: Option<String>,
    },
    /// A hub repository; `None` means the `main` branch.
    Hub {
        repo: String,
        revision: Option<String>,
    },
}

impl ModelSpec {
    /// Classifies `spec`: existing directory or `.gguf` file, then preset
    /// name, then hub id.
    pub(crate) fn parse(spec: &str) -> Result<Self, ResolveError> {
        let trimmed = spec.trim();
        if trimmed.is_empty() {
            return Err(ResolveError::UnrecognisedSpec {
                spec: spec.to_string(),
                tried: "the spec is empty".to_string(),
            });
        }
        let as_path = Path::new(trimmed);
        if as_path.is_dir() {
            return Ok(ModelSpec::LocalDir(as_path.to_path_buf()));
        }
        if as_path.is_file()
            && as_path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
        {
            return Ok(ModelSpec::LocalGguf(as_path.to_path_buf()));
        }
        let (base, revision) = match trimmed.split_once('@') {
            Some((base, revision)) => {
                validate_revision(revision)?;
                (base, Some(revision.to_string()))
            }
            None => (trimmed, None),
        };
        if let Some(preset) = find_preset(base) {
            return Ok(ModelSpec::Preset {
                preset: Box::new(preset),
                revision,
            });
        }
        if !looks_like_path(base) && is_hub_id(base) {
            return Ok(ModelSpec::Hub {
                repo: base.to_string(),
                revision,
            });
        }
        let preset_names: Vec<String> = presets().into_iter().map(|p| p.name).collect();
        let directory_note = if as_path.exists() {
            "it exists but is neither a directory nor a .gguf file"
        } else {
            "no such directory or file"
        };
        Err(ResolveError::UnrecognisedSpec {
            spec: spec.to_string(),
            tried: format!(
                "as a local path: {directory_note}; as a preset: none is called `{base}` \
                 (presets: {}); as a hub id: not of the form owner/name[@revision]",
                preset_names.join(", ")
            ),
        })
    }
}

// ---------------------------------------------------------------------------
// Spec syntax

pub(crate) fn validate_revision(revision: &str) -> Result<(), ResolveError> {
    let invalid = |reason| {
        Err(ResolveError::InvalidRevision {
            revision: revision.to_string(),
            reason,
        })
    };
    if revision.is_empty() {
        return invalid("it is empty");
    }
    if revision.len() > 256 {
        return invalid("it is longer than 256 characters");
    }
    if revision
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\\' || c == '@')
    {
        return invalid("it contains whitespace, control characters, `\\` or `@`");
    }
    // Revisions become cache paths (`refs/<revision>`), so they must not escape.
    if !is_safe_relative_name(revision) {
        return invalid(
            "it must be a branch, tag or commit, not a path with `..` or a leading `/`",
        );
    }
    Ok(())
}

/// Hub repo ids: `owner/name`, each part alphanumeric with `-`, `_`, `.`,
/// not starting or ending with `-` or `.`, without `--` or `..`.
pub(crate) fn is_hub_id(candidate: &str) -> bool {
    let Some((owner, name)) = candidate.split_once('/') else {
        return false;
    };
    let valid_part = |part: &str| {
        !part.is_empty()
            && part.len() <= 96
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && !part.starts_with(['-', '.'])
            && !part.ends_with(['-', '.'])
            && !part.contains("--")
            && !part.contains("..")
    };
    valid_part(owner) && valid_part(name)
}

/// Specs that can only have been meant as paths are never sent to the hub.
fn looks_like_path(spec: &str) -> bool {
    spec.starts_with(['.', '/', '~'])
        || spec.ends_with('/')
        || spec.contains('\\')
        || spec.matches('/').count() > 1
}
