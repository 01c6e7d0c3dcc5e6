//! Finding and opening a model directory's weights, in the layouts the hub
//! uses: one `model.safetensors`, shards listed by
//! `model.safetensors.index.json`, or an old `pytorch_model.bin`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device};
use candle_nn::VarBuilder;

#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error(
        "{dir} has no weights: expected model.safetensors, model.safetensors.index.json \
         or pytorch_model.bin"
    )]
    Missing { dir: String },
    #[error("cannot read the shard index {path}")]
    Index {
        path: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cannot load weights from {path}")]
    Load {
        path: String,
        #[source]
        source: candle_core::Error,
    },
}

/// The weight files of a model directory, in the order they should be read.
pub fn weight_files(dir: &Path) -> Result<Vec<PathBuf>, WeightsError> {
    let single = dir.join("model.safetensors");
    if single.is_file() {
        return Ok(vec![single]);
    }
    let index = dir.join("model.safetensors.index.json");
    if index.is_file() {
        let read = || -> Result<Vec<PathBuf>, Box<dyn std::error::Error + Send + Sync>> {
            let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&index)?)?;
            let map = json
                .get("weight_map")
                .and_then(|m| m.as_object())
                .ok_or("no weight_map object")?;
            let shards: BTreeSet<&str> = map.values().filter_map(|v| v.as_str()).collect();
            Ok(shards.into_iter().map(|s| dir.join(s)).collect())
        };
        return read().map_err(|source| WeightsError::Index {
            path: index.display().to_string(),
            source,
        });
    }
    let pth = dir.join("pytorch_model.bin");
    if pth.is_file() {
        return Ok(vec![pth]);
    }
    Err(WeightsError::Missing {
        dir: dir.display().to_string(),
    })
}

/// Opens the weights of `dir` as a `VarBuilder` converting to `dtype`.
pub fn var_builder(
    dir: &Path,
    dtype: DType,
    device: &Device,
) -> Result<VarBuilder<'static>, WeightsError> {
    let files = weight_files(dir)?;
    let first = files[0].display().to_string();
    let result = if files[0].extension().is_some_and(|e| e == "bin") {
        VarBuilder::from_pth(&files[0], dtype, device)
    } else {
        // SAFETY: the files are memory-mapped read-only; like every mmap-based
        // loader (candle's examples, safetensors in Python) this assumes no
        // other process truncates them while the model is loaded.
        unsafe { VarBuilder::from_mmaped_safetensors(&files, dtype, device) }
    };
    result.map_err(|source| WeightsError::Load {
        path: first,
        source,
    })
}
