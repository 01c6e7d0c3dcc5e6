//! Opening a model's weights in the layouts the hub uses (found by
//! [`crate::resolve`]): one `model.safetensors`, shards listed by
//! `model.safetensors.index.json`, or an old `pytorch_model.bin`.

use candle_core::{DType, Device};
use candle_nn::VarBuilder;

use crate::resolve::WeightFiles;

#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("no weight files listed")]
    Missing,
    #[error("cannot load weights from {path}")]
    Load {
        path: String,
        #[source]
        source: candle_core::Error,
    },
}

/// Opens the weights as a `VarBuilder` converting to `dtype`.
pub fn var_builder(
    weights: &WeightFiles,
    dtype: DType,
    device: &Device,
) -> Result<VarBuilder<'static>, WeightsError> {
    let (path, result) = match weights {
        WeightFiles::PytorchBin(path) => (path, VarBuilder::from_pth(path, dtype, device)),
        WeightFiles::Safetensors { shards, .. } => {
            let first = shards.first().ok_or(WeightsError::Missing)?;
            // SAFETY: the files are memory-mapped read-only; like every
            // mmap-based loader (candle's examples, safetensors in Python) this
            // assumes no other process truncates them while the model is loaded.
            let vb = unsafe { VarBuilder::from_mmaped_safetensors(shards, dtype, device) };
            (first, vb)
        }
    };
    result.map_err(|source| WeightsError::Load {
        path: path.display().to_string(),
        source,
    })
}
