//! `models info` for a translation model directory: its files, sizes and
//! what its `config.json` says.

use std::fs;
use std::path::{Path, PathBuf};

use super::layout::read_json;
use super::ResolveError;

/// What `models info` shows about a model directory.
#[derive(Debug, Clone, PartialEq)]
pub struct DirSummary {
    pub(crate) dir: PathBuf,
    pub(crate) model_type: Option<String>,
    pub(crate) architectures: Vec<String>,
    /// Hidden size (`d_model`, or `hidden_size` in decoder-only configs).
    pub(crate) d_model: Option<u64>,
    pub(crate) encoder_layers: Option<u64>,
    pub(crate) decoder_layers: Option<u64>,
    pub(crate) vocab_size: Option<u64>,
    /// Top-level files with their sizes in bytes, sorted by name.
    pub(crate) files: Vec<DirFile>,
}

/// One file of a [`DirSummary`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DirFile {
    pub(crate) name: String,
    pub(crate) size: u64,
}

impl std::fmt::Display for DirSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
        writeln!(
            f,
            "family:    {}",
            self.model_type
                .as_deref()
                .unwrap_or("unknown (no model_type)")
        )?;
        writeln!(
            f,
            "size:      d_model {}, {} encoder + {} decoder layers, vocabulary {}",
            show(self.d_model),
            show(self.encoder_layers),
            show(self.decoder_layers),
            show(self.vocab_size)
        )?;
        write!(f, "files:")?;
        for file in &self.files {
            write!(f, "\n  {:<32} {:>12} bytes", file.name, file.size)?;
        }
        Ok(())
    }
}

/// Reads `config.json` of `dir` and lists its files.
pub fn model_dir_summary(dir: &Path) -> Result<DirSummary, ResolveError> {
    let config_path = dir.join("config.json");
    let config = read_json(&config_path)?;
    let number = |keys: &[&str]| keys.iter().find_map(|key| config.get(*key)?.as_u64());
    let encoder_layers = number(&["encoder_layers", "num_layers"]);
    let decoder_layers = number(&["decoder_layers", "num_decoder_layers", "num_hidden_layers"])
        // T5 configs omit num_decoder_layers when it equals num_layers.
        .or(encoder_layers.filter(|_| config.get("num_layers").is_some()));
    let architectures = config
        .get("architectures")
        .and_then(|value| value.as_array())
        .map(|names| {
            names
                .iter()
                .filter_map(|name| name.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();

    let io_error = |source| ResolveError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error)? {
        let entry = entry.map_err(io_error)?;
        // fs::metadata follows the symlinks of HF cache snapshots to their blobs.
        let Ok(metadata) = fs::metadata(entry.path()) else {
            continue;
        };
        if metadata.is_file() {
            files.push(DirFile {
                name: entry.file_name().to_string_lossy().into_owned(),
                size: metadata.len(),
            });
        }
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));

    Ok(DirSummary {
        dir: dir.to_path_buf(),
        model_type: config
            .get("model_type")
            .and_then(|value| value.as_str())
            .map(str::to_string),
        architectures,
        d_model: number(&["d_model", "hidden_size"]),
        encoder_layers,
        decoder_layers,
        vocab_size: number(&["vocab_size"]),
        files,
    })
}
