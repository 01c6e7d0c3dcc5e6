//! Writing a dense checkpoint (safetensors, sharded or not, or
//! `pytorch_model.bin`) as one GGUF file of quantized weights, which
//! [`crate::models::weights::Weights`] then loads with its layers kept quantized.
//!
//! Tensor names stay those of the transformers state dict, as candle's
//! `tensor-tools quantize` writes them, so the model code reads either file
//! the same way. Only 2-D weight matrices whose rows are whole quantization
//! blocks are quantized; norms, biases, position tables and narrow matrices
//! stay f32, where quantization would cost accuracy and save nothing.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{DType, Device, Tensor};

use crate::models::{ResolvedModel, TokenizerFiles, WeightFiles};

/// What [`write_gguf`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct GgufExportReport {
    pub(crate) path: PathBuf,
    pub(crate) quantization: GgmlDType,
    /// Tensors written in `quantization`.
    pub quantized: usize,
    /// Tensors written as f32.
    pub kept_f32: usize,
    /// Tied copies of the shared embedding not written again (pickles store
    /// `encoder.embed_tokens.weight` and friends next to `shared.weight`).
    pub(crate) aliases_skipped: Vec<String>,
    /// Size of the input weight files.
    pub input_bytes: u64,
    /// Size of the GGUF file written.
    pub output_bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum GgufExportError {
    #[error("cannot read weights from {path}")]
    Read {
        path: String,
        #[source]
        source: candle_core::Error,
    },
    #[error("{path} holds no tensors")]
    Empty { path: String },
    #[error("{0:?} is already quantized; export needs dense weights")]
    AlreadyQuantized(PathBuf),
    #[error("cannot convert tensor {name}")]
    Convert {
        name: String,
        #[source]
        source: candle_core::Error,
    },
    #[error("cannot write {path}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot encode GGUF data for {path}")]
    Encode {
        path: String,
        #[source]
        source: candle_core::Error,
    },
}

/// Writes a complete model directory at `out_dir` that `--model` can load:
/// the weights of `model` as `model-<quantization>.gguf` plus copies of its
/// config, generation config and tokenizer files. `architecture` is the
/// family's `model_type` (e.g. `"m2m_100"`, `"t5"`).
pub fn export_model_dir(
    model: &ResolvedModel,
    architecture: &str,
    quantization: GgmlDType,
    out_dir: &Path,
) -> Result<GgufExportReport, GgufExportError> {
    let write_error = |path: &Path| {
        let path = path.display().to_string();
        move |source| GgufExportError::Write { path, source }
    };
    std::fs::create_dir_all(out_dir).map_err(write_error(out_dir))?;
    let layout = &model.layout;
    let mut copies: Vec<&Path> = vec![&layout.config];
    copies.extend(layout.generation_config.as_deref());
    copies.extend(layout.tokenizer_config.as_deref());
    match &layout.tokenizer {
        TokenizerFiles::TokenizerJson(path) | TokenizerFiles::SentencePiece(path) => {
            copies.push(path)
        }
        TokenizerFiles::Marian {
            source_spm,
            target_spm,
            vocab,
        } => copies.extend([source_spm.as_path(), target_spm, vocab]),
    }
    for source in copies {
        let Some(name) = source.file_name() else {
            continue;
        };
        let target = out_dir.join(name);
        std::fs::copy(source, &target).map_err(write_error(&target))?;
    }
    let name = format!("model-{}.gguf", format!("{quantization:?}").to_lowercase());
    write_gguf(
        &layout.weights,
        architecture,
        quantization,
        &out_dir.join(name),
    )
}

/// GGML's `general.file_type` codes (`llama_ftype`) for files whose matrices
/// are mostly of one type.
fn file_type(dtype: GgmlDType) -> Option<u32> {
    Some(match dtype {
        GgmlDType::F32 => 0,
        GgmlDType::F16 => 1,
        GgmlDType::Q4_0 => 2,
        GgmlDType::Q4_1 => 3,
        GgmlDType::Q8_0 => 7,
        GgmlDType::Q5_0 => 8,
        GgmlDType::Q5_1 => 9,
        GgmlDType::Q2K => 10,
        GgmlDType::Q3K => 11,
        GgmlDType::Q4K => 14,
        GgmlDType::Q5K => 16,
        GgmlDType::Q6K => 18,
        GgmlDType::BF16 => 32,
        _ => return None,
    })
}

/// Names under which checkpoints store a copy of the shared embedding.
fn is_embedding_alias(name: &str) -> bool {
    name.ends_with("embed_tokens.weight") || name == "lm_head.weight"
}

const SHARED_NAMES: [&str; 2] = ["shared.weight", "model.shared.weight"];

/// Reads every tensor of a dense checkpoint in f32, sorted by name.
fn read_tensors(weights: &WeightFiles) -> Result<(Vec<(String, Tensor)>, u64), GgufExportError> {
    let read_error = |path: &Path| {
        let path = path.display().to_string();
        move |source| GgufExportError::Read { path, source }
    };
    let size = |path: &Path| std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let mut tensors = Vec::new();
    let input_bytes;
    match weights {
        WeightFiles::Safetensors { shards, .. } => {
            input_bytes = shards.iter().map(|p| size(p)).sum();
            for shard in shards {
                // SAFETY: read-only mapping of a file nobody is expected to
                // truncate while it is read, as in `Weights::open`.
                let file = unsafe { candle_core::safetensors::MmapedSafetensors::new(shard) }
                    .map_err(read_error(shard))?;
                for (name, _) in file.tensors() {
                    let tensor = file.load(&name, &Device::Cpu).map_err(read_error(shard))?;
                    tensors.push((name, tensor));
                }
            }
        }
        WeightFiles::PytorchBin(path) => {
            input_bytes = size(path);
            tensors = candle_core::pickle::read_all(path).map_err(read_error(path))?;
        }
        WeightFiles::PytorchShards { shards, .. } => {
            input_bytes = shards.iter().map(|p| size(p)).sum();
            for shard in shards {
                tensors.extend(candle_core::pickle::read_all(shard).map_err(read_error(shard))?);
            }
        }
        WeightFiles::Gguf(path) => return Err(GgufExportError::AlreadyQuantized(path.clone())),
    }
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    // A later shard wins for a name stored twice, as in candle's loader.
    tensors.dedup_by(|later, earlier| {
        if later.0 == earlier.0 {
            std::mem::swap(later, earlier);
            true
        } else {
            false
        }
    });
    Ok((tensors, input_bytes))
}

fn same_values(a: &Tensor, b: &Tensor) -> candle_core::Result<bool> {
    if a.shape() != b.shape() {
        return Ok(false);
    }
    let unequal = a
        .ne(b)?
        .to_dtype(DType::F32)?
        .sum_all()?
        .to_scalar::<f32>()?;
    Ok(unequal == 0.0)
}

/// Writes `weights` as a GGUF file at `out` (atomically: a temporary file in
/// the same directory, renamed when complete), with 2-D matrices whose rows
/// are whole blocks in `quantization` and everything else in f32.
/// `architecture` goes to `general.architecture` (e.g. `"t5"`).
pub(crate) fn write_gguf(
    weights: &WeightFiles,
    architecture: &str,
    quantization: GgmlDType,
    out: &Path,
) -> Result<GgufExportReport, GgufExportError> {
    let (tensors, input_bytes) = read_tensors(weights)?;
    if tensors.is_empty() {
        let path = match weights {
            WeightFiles::Safetensors { shards, .. } | WeightFiles::PytorchShards { shards, .. } => {
                shards
                    .first()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            }
            WeightFiles::PytorchBin(p) | WeightFiles::Gguf(p) => p.display().to_string(),
        };
        return Err(GgufExportError::Empty { path });
    }
    let shared = tensors
        .iter()
        .find(|(name, _)| SHARED_NAMES.contains(&name.as_str()))
        .map(|(_, t)| t.clone());
    let block = quantization.block_size();
    let mut quantized = Vec::with_capacity(tensors.len());
    let mut report = GgufExportReport {
        path: out.to_path_buf(),
        quantization,
        quantized: 0,
        kept_f32: 0,
        aliases_skipped: Vec::new(),
        input_bytes,
        output_bytes: 0,
    };
    for (name, tensor) in &tensors {
        let convert = |source| GgufExportError::Convert {
            name: name.clone(),
            source,
        };
        if let Some(shared) = &shared {
            if is_embedding_alias(name) && same_values(tensor, shared).map_err(convert)? {
                report.aliases_skipped.push(name.clone());
                continue;
            }
        }
        let tensor = tensor.to_dtype(DType::F32).map_err(convert)?;
        let dims = tensor.dims();
        let quantize = dims.len() == 2 && dims[1] % block == 0 && quantization != GgmlDType::F32;
        let dtype = if quantize {
            report.quantized += 1;
            quantization
        } else {
            report.kept_f32 += 1;
            GgmlDType::F32
        };
        let qtensor = QTensor::quantize(&tensor, dtype).map_err(convert)?;
        quantized.push((name.clone(), qtensor));
    }

    let architecture = gguf_file::Value::String(architecture.to_string());
    let note = gguf_file::Value::String(format!(
        "{quantization:?} for 2-D matrices whose rows are multiples of {block}; F32 otherwise"
    ));
    let file_type = file_type(quantization).map(gguf_file::Value::U32);
    let version = gguf_file::Value::U32(2);
    let mut metadata = vec![
        ("general.architecture", &architecture),
        ("general.quantization_version", &version),
        ("anubad.quantization", &note),
    ];
    if let Some(file_type) = &file_type {
        metadata.push(("general.file_type", file_type));
    }
    let tensor_refs: Vec<(&str, &QTensor)> =
        quantized.iter().map(|(n, t)| (n.as_str(), t)).collect();

    let write_error = |source| GgufExportError::Write {
        path: out.display().to_string(),
        source,
    };
    let dir = match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let temp = tempfile::NamedTempFile::new_in(dir).map_err(write_error)?;
    {
        let mut writer = BufWriter::new(temp.as_file());
        gguf_file::write(&mut writer, &metadata, &tensor_refs).map_err(|source| {
            GgufExportError::Encode {
                path: out.display().to_string(),
                source,
            }
        })?;
        writer.flush().map_err(write_error)?;
    }
    temp.as_file().sync_all().map_err(write_error)?;
    temp.persist(out).map_err(|e| write_error(e.error))?;
    report.output_bytes = std::fs::metadata(out).map_err(write_error)?.len();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::weights::max_abs;
    use crate::models::weights::{Linear, Weights};
    use candle_core::Module;
    use std::collections::HashMap;

    fn checkpoint(dir: &Path) -> (PathBuf, HashMap<String, Tensor>) {
        let device = Device::Cpu;
        let mut tensors = HashMap::new();
        let shared = Tensor::randn(0f32, 1.0, (16, 64), &device).unwrap();
        tensors.insert("shared.weight".to_string(), shared.clone());
        tensors.insert("encoder.embed_tokens.weight".to_string(), shared);
        tensors.insert(
            "layer.weight".to_string(),
            Tensor::randn(0f32, 1.0, (8, 64), &device).unwrap(),
        );
        tensors.insert(
            "narrow.weight".to_string(),
            Tensor::randn(0f32, 1.0, (8, 20), &device).unwrap(),
        );
        tensors.insert(
            "norm.weight".to_string(),
            Tensor::randn(0f32, 1.0, 64, &device)
                .unwrap()
                .to_dtype(DType::BF16)
                .unwrap(),
        );
        let path = dir.join("model.safetensors");
        candle_core::safetensors::save(&tensors, &path).unwrap();
        (path, tensors)
    }

    #[test]
    fn round_trip_through_weights_keeps_matrices_quantized() {
        let dir = tempfile::tempdir().unwrap();
        let (path, tensors) = checkpoint(dir.path());
        let files = WeightFiles::Safetensors {
            index: None,
            shards: vec![path],
        };
        let out = dir.path().join("model-q8_0.gguf");
        let report = write_gguf(&files, "t5", GgmlDType::Q8_0, &out).unwrap();
        assert_eq!(report.quantized, 2, "{report:?}");
        assert_eq!(report.kept_f32, 2, "{report:?}");
        assert_eq!(report.aliases_skipped, vec!["encoder.embed_tokens.weight"]);
        assert!(report.output_bytes > 0 && report.output_bytes < report.input_bytes);
        // Only the finished file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");

        let device = Device::Cpu;
        let weights = Weights::open(&WeightFiles::Gguf(out), DType::F32, &device, None).unwrap();
        let gguf = weights.gguf().unwrap();
        assert_eq!(gguf.architecture(), Some("t5"));
        assert_eq!(
            gguf.metadata
                .get("general.file_type")
                .unwrap()
                .to_u32()
                .unwrap(),
            7
        );
        let layer = weights.pp("layer").linear(64, 8, false).unwrap();
        assert!(matches!(layer, Linear::Quantized { .. }));
        let narrow = weights.pp("narrow").linear(20, 8, false).unwrap();
        assert!(matches!(narrow, Linear::Dense(_) | Linear::Packed(_)));
        // f32 tensors come back exactly; quantized ones within Q8_0's error.
        let norm = weights.get(64, "norm.weight").unwrap();
        let want = tensors["norm.weight"].to_dtype(DType::F32).unwrap();
        assert_eq!(
            norm.to_vec1::<f32>().unwrap(),
            want.to_vec1::<f32>().unwrap()
        );
        let xs = Tensor::randn(0f32, 1.0, (3, 64), &device).unwrap();
        let dense = xs.matmul(&tensors["layer.weight"].t().unwrap()).unwrap();
        let diff = max_abs(&(layer.forward(&xs).unwrap() - &dense).unwrap());
        let scale = max_abs(&dense);
        assert!(diff < 0.02 * scale, "diff {diff} vs scale {scale}");
    }

    #[test]
    fn gguf_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_gguf(
            &WeightFiles::Gguf(dir.path().join("x.gguf")),
            "t5",
            GgmlDType::Q8_0,
            &dir.path().join("y.gguf"),
        )
        .unwrap_err();
        assert!(matches!(err, GgufExportError::AlreadyQuantized(_)));
        assert!(!dir.path().join("y.gguf").exists());
    }

    #[test]
    fn pytorch_pickles_export_without_their_tied_copies() {
        let bin = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/marian-tiny-pth/pytorch_model.bin");
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("marian.gguf");
        let report = write_gguf(
            &WeightFiles::PytorchBin(bin),
            "marian",
            GgmlDType::Q8_0,
            &out,
        )
        .unwrap();
        let mut skipped = report.aliases_skipped.clone();
        skipped.sort();
        assert_eq!(
            skipped,
            vec![
                "lm_head.weight",
                "model.decoder.embed_tokens.weight",
                "model.encoder.embed_tokens.weight"
            ]
        );
        let weights =
            Weights::open(&WeightFiles::Gguf(out), DType::F32, &Device::Cpu, None).unwrap();
        assert!(weights.contains("model.shared.weight"));
        assert!(!weights.contains("lm_head.weight"));
    }
}
