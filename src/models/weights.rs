//! Opening a model's weights in the layouts the hub uses (found by
//! [`crate::models`]): one `model.safetensors`, shards listed by
//! `model.safetensors.index.json`, an old `pytorch_model.bin`, or a GGUF file
//! of quantized tensors.
//!
//! Model code asks a [`Weights`] for tensors by their transformers names and
//! for [`Linear`] layers; whether a layer multiplies dense or quantized
//! weights (a GGUF file, or `--quantize` applied while loading) is decided
//! here, once, so every family gets quantization for free.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::quantized::{gguf_file, GgmlDType, QMatMul, QTensor};
use candle_core::{DType, Device, Module, Result, Shape, Tensor};
use candle_nn::{Activation, Embedding, LayerNorm, VarBuilder};

use crate::kernels::dense::{PackedF32, PackedLinear};
use crate::kernels::int8::{Int8Linear, Int8Matrix, Int8Rows};
use crate::kernels::Epilogue;
use crate::models::read_safetensors::ReadSafetensors;
use crate::models::WeightFiles;

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

/// Quantization applied to linear layers while loading dense weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Quantization {
    /// int8 weights with one scale per output channel, activations
    /// quantized per row, int32 sums (VNNI where the CPU has it): the
    /// fastest CPU mode, as CTranslate2's int8.
    #[cfg_attr(feature = "cli", value(name = "int8"))]
    Int8,
    /// 8-bit blocks of 32 weights with one f16 scale (GGML's Q8_0).
    #[cfg_attr(feature = "cli", value(name = "q8_0"))]
    Q8_0,
}

impl Quantization {
    /// The GGUF type of this quantization, for those a GGUF file can hold.
    /// int8 is made while loading, from dense weights.
    pub fn ggml(self) -> Option<GgmlDType> {
        match self {
            Quantization::Int8 => None,
            Quantization::Q8_0 => Some(GgmlDType::Q8_0),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Quantization::Int8 => "int8",
            Quantization::Q8_0 => "q8_0",
        }
    }
}

/// The tensors of a GGUF file, kept quantized, plus its metadata.
#[derive(Debug)]
pub(crate) struct GgufTensors {
    pub(crate) path: PathBuf,
    pub(crate) metadata: HashMap<String, gguf_file::Value>,
    tensors: HashMap<String, Arc<QTensor>>,
}

impl GgufTensors {
    pub(crate) fn read(path: &Path, device: &Device) -> Result<Self> {
        let mut file = std::fs::File::open(path)?;
        let content = gguf_file::Content::read(&mut file)?;
        let mut tensors = HashMap::with_capacity(content.tensor_infos.len());
        for name in content.tensor_infos.keys() {
            let tensor = content.tensor(&mut file, name, device)?;
            tensors.insert(name.clone(), Arc::new(tensor));
        }
        Ok(Self {
            path: path.to_path_buf(),
            metadata: content.metadata,
            tensors,
        })
    }

    /// `general.architecture`, the family a GGUF file declares.
    pub(crate) fn architecture(&self) -> Option<&str> {
        self.metadata
            .get("general.architecture")
            .and_then(|value| value.to_string().ok())
            .map(String::as_str)
    }
}

/// Several `pytorch_model-*.bin` shards read as one checkpoint.
struct ShardedPickles {
    shards: Vec<candle_core::pickle::PthTensors>,
}

impl ShardedPickles {
    fn open(paths: &[PathBuf]) -> Result<Self> {
        let shards = paths
            .iter()
            .map(|path| candle_core::pickle::PthTensors::new(path, None))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { shards })
    }

    fn shard_with(&self, name: &str) -> Result<&candle_core::pickle::PthTensors> {
        self.shards
            .iter()
            .find(|shard| shard.tensor_infos().contains_key(name))
            .ok_or_else(|| candle_core::Error::Msg(format!("tensor {name} not found in any shard")))
    }
}

impl candle_nn::var_builder::SimpleBackend for ShardedPickles {
    fn get(
        &self,
        shape: Shape,
        name: &str,
        hints: candle_nn::Init,
        dtype: DType,
        device: &Device,
    ) -> Result<Tensor> {
        candle_nn::var_builder::SimpleBackend::get(
            self.shard_with(name)?,
            shape,
            name,
            hints,
            dtype,
            device,
        )
    }

    fn get_unchecked(&self, name: &str, dtype: DType, device: &Device) -> Result<Tensor> {
        candle_nn::var_builder::SimpleBackend::get_unchecked(
            self.shard_with(name)?,
            name,
            dtype,
            device,
        )
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.shard_with(name).is_ok()
    }
}

/// Rows of a tied table read and quantized at a time (16 MB of NLLB's f32).
const TABLE_CHUNK_ROWS: usize = 4096;

#[derive(Clone)]
enum Store {
    Dense(VarBuilder<'static>),
    Gguf(Arc<GgufTensors>),
}

/// Named weights under a prefix, as model code sees them.
#[derive(Clone)]
pub(crate) struct Weights {
    store: Store,
    prefix: String,
    dtype: DType,
    device: Device,
    quantize: Option<Quantization>,
    /// The safetensors files, when the weights come from them: a table can
    /// then be read a slice at a time.
    files: Option<ReadSafetensors>,
}

impl Weights {
    /// Opens `files` for a model computing in `dtype`. `quantize` turns the
    /// linear layers of dense weights into quantized ones; GGUF files are
    /// quantized already and keep their own types.
    pub(crate) fn open(
        files: &WeightFiles,
        dtype: DType,
        device: &Device,
        quantize: Option<Quantization>,
    ) -> std::result::Result<Self, WeightsError> {
        let mut readable = None;
        let (path, store) = match files {
            WeightFiles::PytorchBin(path) => (
                path,
                VarBuilder::from_pth(path, dtype, device).map(Store::Dense),
            ),
            WeightFiles::Safetensors { shards, .. } => {
                let first = shards.first().ok_or(WeightsError::Missing)?;
                // Read, not memory-mapped: see `read_safetensors`.
                let files = ReadSafetensors::open(shards);
                (
                    first,
                    files.map(|files| {
                        readable = Some(files.clone());
                        Store::Dense(VarBuilder::from_backend(
                            Box::new(files),
                            dtype,
                            device.clone(),
                        ))
                    }),
                )
            }
            WeightFiles::PytorchShards { index, shards } => (
                index,
                ShardedPickles::open(shards).map(|backend| {
                    Store::Dense(VarBuilder::from_backend(
                        Box::new(backend),
                        dtype,
                        device.clone(),
                    ))
                }),
            ),
            WeightFiles::Gguf(path) => (
                path,
                GgufTensors::read(path, device).map(|t| Store::Gguf(Arc::new(t))),
            ),
        };
        let store = store.map_err(|source| WeightsError::Load {
            path: path.display().to_string(),
            source,
        })?;
        Ok(Self {
            store,
            prefix: String::new(),
            dtype,
            device: device.clone(),
            quantize,
            files: readable,
        })
    }

    /// Wraps tensors already in memory (random benchmark models, tests).
    pub(crate) fn from_var_builder(
        vb: VarBuilder<'static>,
        quantize: Option<Quantization>,
    ) -> Self {
        Self {
            dtype: vb.dtype(),
            device: vb.device().clone(),
            store: Store::Dense(vb),
            prefix: String::new(),
            quantize,
            files: None,
        }
    }

    /// The same weights one level down: `pp("encoder")` reads `encoder.*`.
    pub(crate) fn pp(&self, name: impl AsRef<str>) -> Self {
        let name = name.as_ref();
        let prefix = if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        };
        Self {
            prefix,
            ..self.clone()
        }
    }

    fn full_name(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    pub(crate) fn dtype(&self) -> DType {
        self.dtype
    }

    pub(crate) fn device(&self) -> &Device {
        &self.device
    }

    /// The GGUF file's metadata when the weights come from one.
    pub(crate) fn gguf(&self) -> Option<&GgufTensors> {
        match &self.store {
            Store::Gguf(gguf) => Some(gguf),
            Store::Dense(_) => None,
        }
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        match &self.store {
            Store::Dense(vb) => vb.contains_tensor(&self.full_name(name)),
            Store::Gguf(gguf) => gguf.tensors.contains_key(&self.full_name(name)),
        }
    }

    /// A dense tensor in the model's dtype (dequantized if stored quantized).
    pub(crate) fn get<S: Into<Shape>>(&self, shape: S, name: &str) -> Result<Tensor> {
        let shape = shape.into();
        match &self.store {
            // The hint only matters for a VarMap (random benchmark models);
            // files ignore it.
            Store::Dense(vb) => vb.get_with_hints(
                shape,
                &self.full_name(name),
                candle_nn::Init::Randn {
                    mean: 0.0,
                    stdev: 0.05,
                },
            ),
            Store::Gguf(gguf) => {
                let tensor = self.gguf_tensor(gguf, name)?;
                if tensor.shape() != &shape {
                    candle_core::bail!(
                        "{}: shape {:?} in the file, {shape:?} expected",
                        self.full_name(name),
                        tensor.shape()
                    );
                }
                tensor.dequantize(&self.device)?.to_dtype(self.dtype)
            }
        }
    }

    fn gguf_tensor(&self, gguf: &GgufTensors, name: &str) -> Result<Arc<QTensor>> {
        let full = self.full_name(name);
        gguf.tensors.get(&full).cloned().ok_or_else(|| {
            candle_core::Error::Msg(format!(
                "tensor {full} not found in {}",
                gguf.path.display()
            ))
        })
    }

    /// `weight` `[out, in]` and, if `bias`, `bias` `[out]` under this prefix.
    pub(crate) fn linear(&self, in_dim: usize, out_dim: usize, bias: bool) -> Result<Linear> {
        let bias = if bias {
            Some(self.get(out_dim, "bias")?)
        } else {
            None
        };
        if let Store::Gguf(gguf) = &self.store {
            let weight = self.gguf_tensor(gguf, "weight")?;
            if weight.shape().dims() != [out_dim, in_dim] {
                candle_core::bail!(
                    "{}: shape {:?} in the file, {:?} expected",
                    self.full_name("weight"),
                    weight.shape(),
                    [out_dim, in_dim]
                );
            }
            if !matches!(
                weight.dtype(),
                GgmlDType::F32 | GgmlDType::F16 | GgmlDType::BF16
            ) {
                return Ok(Linear::Quantized {
                    weight: QMatMul::from_arc(weight)?,
                    bias: bias.map(|b| b.to_dtype(DType::F32)).transpose()?,
                });
            }
        }
        let weight = self.get((out_dim, in_dim), "weight")?;
        self.linear_from(weight, bias)
    }

    /// A linear layer over weights obtained elsewhere (a tied embedding),
    /// quantized when `--quantize` asks for it.
    pub(crate) fn linear_from(&self, weight: Tensor, bias: Option<Tensor>) -> Result<Linear> {
        if self.quantize == Some(Quantization::Int8) && self.device.is_cpu() {
            return Ok(Linear::Int8(Int8Linear::new(&weight, bias.as_ref())?));
        }
        if self.quantize.is_none()
            && self.device.is_cpu()
            && weight.dtype() == DType::F32
            && PackedF32::available()
        {
            return Ok(Linear::Packed(PackedLinear::new(&weight, bias.as_ref())?));
        }
        if let Some(ggml) = self.quantize.and_then(Quantization::ggml) {
            let in_dim = weight.dim(1)?;
            // Quantized blocks cover whole rows; a layer whose width is not a
            // multiple of the block size stays dense.
            if in_dim % ggml.block_size() == 0 {
                let qtensor = QTensor::quantize(&weight.to_dtype(DType::F32)?, ggml)?;
                return Ok(Linear::Quantized {
                    weight: QMatMul::from_qtensor(qtensor)?,
                    bias: bias.map(|b| b.to_dtype(DType::F32)).transpose()?,
                });
            }
        }
        Ok(Linear::Dense(candle_nn::Linear::new(weight, bias)))
    }

    pub(crate) fn embedding(&self, vocab: usize, dim: usize) -> Result<Embedding> {
        Ok(Embedding::new(self.get((vocab, dim), "weight")?, dim))
    }

    /// The embedding as the model keeps it once anything tied to its dense
    /// table (an output layer) is built: int8 under `--quantize int8`.
    pub(crate) fn token_embedding(&self, embedding: &Embedding) -> Result<TokenEmbedding> {
        if self.quantize == Some(Quantization::Int8) && self.device.is_cpu() {
            let rows = Int8Rows::quantize(embedding.embeddings())?;
            return Ok(TokenEmbedding::Int8(Arc::new(rows)));
        }
        Ok(TokenEmbedding::Dense(embedding.clone()))
    }

    /// The `[vocab, dim]` table under this prefix as an output head (plus
    /// `bias`) tied to the token embedding, and that embedding. Under int8
    /// both read one int8 copy, and a table in safetensors files is read and
    /// quantized a slice at a time: NLLB's f32 table alone is 1 GB.
    pub(crate) fn tied_head_and_embedding(
        &self,
        vocab: usize,
        dim: usize,
        bias: Option<Tensor>,
    ) -> Result<(Linear, TokenEmbedding)> {
        let name = self.full_name("weight");
        // Only for an f32 model: its dense path quantizes the f32 values too.
        let int8 = self.quantize == Some(Quantization::Int8)
            && self.device.is_cpu()
            && self.dtype == DType::F32;
        if let (true, Some(files)) = (int8, &self.files) {
            if files.shape(&name) == Some(&[vocab, dim]) {
                let mut matrix = Int8Matrix::zeros(vocab, dim);
                let mut next = 0;
                let read = files.read_rows(&name, TABLE_CHUNK_ROWS, |rows| {
                    matrix.quantize_rows(next, rows);
                    next += rows.len() / dim.max(1);
                    Ok(())
                })?;
                if read.is_some() {
                    let bias = bias.map(|b| b.to_dtype(DType::F32)).transpose()?;
                    let head = Int8Linear::from_matrix(matrix, bias.as_ref())?;
                    let table = TokenEmbedding::Int8(Arc::new(head.rows(self.dtype)));
                    return Ok((Linear::Int8(head), table));
                }
            }
        }
        let embedding = self.embedding(vocab, dim)?;
        let head = self.linear_from(embedding.embeddings().clone(), bias)?;
        let table = match &head {
            Linear::Int8(linear) => {
                TokenEmbedding::Int8(Arc::new(linear.rows(embedding.embeddings().dtype())))
            }
            _ => self.token_embedding(&embedding)?,
        };
        Ok((head, table))
    }

    /// LayerNorm with `weight` and `bias` (BART-style layers).
    pub(crate) fn layer_norm(&self, dim: usize, eps: f64) -> Result<LayerNorm> {
        Ok(LayerNorm::new(
            self.get(dim, "weight")?,
            self.get(dim, "bias")?,
            eps,
        ))
    }
}

impl Linear {
    /// `activation(self(xs))`, applied inside the layer's own kernel where
    /// it has one (see [`Epilogue`]).
    pub(crate) fn forward_activated(&self, xs: &Tensor, activation: Activation) -> Result<Tensor> {
        match (self, Epilogue::for_activation(activation)) {
            (Linear::Packed(linear), Some(epilogue)) => linear.forward(xs, epilogue),
            (Linear::Int8(linear), Some(epilogue)) => {
                let dtype = xs.dtype();
                linear
                    .forward(&xs.to_dtype(DType::F32)?.contiguous()?, epilogue)?
                    .to_dtype(dtype)
            }
            _ => activation.forward(&self.forward(xs)?),
        }
    }
}

/// Token embeddings, dense or int8 with a scale per token.
#[derive(Debug, Clone)]
pub(crate) enum TokenEmbedding {
    Dense(Embedding),
    Int8(Arc<Int8Rows>),
}

impl Module for TokenEmbedding {
    fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        match self {
            TokenEmbedding::Dense(embedding) => embedding.forward(ids),
            TokenEmbedding::Int8(rows) => rows.lookup(ids),
        }
    }
}

/// A linear layer over dense or quantized weights.
#[derive(Debug, Clone)]
pub(crate) enum Linear {
    Dense(candle_nn::Linear),
    /// Quantized matmuls take and give f32; the bias is kept in f32 too.
    Quantized {
        weight: QMatMul,
        bias: Option<Tensor>,
    },
    /// int8 weights per output channel (`--quantize int8`), f32 in and out.
    Int8(Int8Linear),
    /// f32 weights laid out for the AVX-512 kernel when the model loads.
    Packed(PackedLinear),
}

impl Module for Linear {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        match self {
            Linear::Dense(linear) => linear.forward(xs),
            Linear::Quantized { weight, bias } => {
                let dtype = xs.dtype();
                let mut out = weight.forward(&xs.to_dtype(DType::F32)?.contiguous()?)?;
                if let Some(bias) = bias {
                    out = out.broadcast_add(bias)?;
                }
                out.to_dtype(dtype)
            }
            Linear::Packed(linear) => linear.forward(xs, Epilogue::Identity),
            Linear::Int8(linear) => {
                let dtype = xs.dtype();
                linear
                    .forward(&xs.to_dtype(DType::F32)?.contiguous()?, Epilogue::Identity)?
                    .to_dtype(dtype)
            }
        }
    }
}

/// The largest absolute value in `t`: how far apart two layers' outputs are.
#[cfg(test)]
pub(crate) fn max_abs(t: &Tensor) -> f32 {
    t.abs()
        .and_then(|a| a.max_all())
        .and_then(|m| m.to_scalar::<f32>())
        .expect("an f32 tensor")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_tensors() -> HashMap<String, Tensor> {
        let device = Device::Cpu;
        let mut tensors = HashMap::new();
        tensors.insert(
            "layer.weight".to_string(),
            Tensor::randn(0f32, 1.0, (8, 64), &device).unwrap(),
        );
        tensors.insert(
            "layer.bias".to_string(),
            Tensor::randn(0f32, 1.0, 8, &device).unwrap(),
        );
        tensors.insert(
            "odd.weight".to_string(),
            Tensor::randn(0f32, 1.0, (8, 20), &device).unwrap(),
        );
        tensors
    }

    fn weights(tensors: &HashMap<String, Tensor>, quantize: Option<Quantization>) -> Weights {
        Weights::from_var_builder(
            VarBuilder::from_tensors(tensors.clone(), DType::F32, &Device::Cpu),
            quantize,
        )
    }

    #[test]
    fn q8_0_linear_stays_close_to_the_dense_one() {
        let tensors = random_tensors();
        let dense = weights(&tensors, None)
            .pp("layer")
            .linear(64, 8, true)
            .unwrap();
        let quantized = weights(&tensors, Some(Quantization::Q8_0))
            .pp("layer")
            .linear(64, 8, true)
            .unwrap();
        assert!(matches!(dense, Linear::Dense(_) | Linear::Packed(_)));
        assert!(matches!(quantized, Linear::Quantized { .. }));
        let xs = Tensor::randn(0f32, 1.0, (3, 64), &Device::Cpu).unwrap();
        let a = dense.forward(&xs).unwrap();
        let b = quantized.forward(&xs).unwrap();
        let scale = max_abs(&a);
        let diff = max_abs(&(a - b).unwrap());
        assert!(diff < 0.02 * scale, "diff {diff} vs scale {scale}");
    }

    #[test]
    fn int8_linear_stays_close_to_the_dense_one() {
        let tensors = random_tensors();
        let dense = weights(&tensors, None)
            .pp("layer")
            .linear(64, 8, true)
            .unwrap();
        let int8 = weights(&tensors, Some(Quantization::Int8))
            .pp("layer")
            .linear(64, 8, true)
            .unwrap();
        assert!(matches!(int8, Linear::Int8(_)));
        let xs = Tensor::randn(0f32, 1.0, (2, 3, 64), &Device::Cpu).unwrap();
        let a = dense.forward(&xs).unwrap();
        let b = int8.forward(&xs).unwrap();
        assert_eq!(a.dims(), b.dims());
        let scale = max_abs(&a);
        let diff = max_abs(&(a - b).unwrap());
        assert!(diff < 0.03 * scale, "diff {diff} vs scale {scale}");
    }

    #[test]
    fn widths_that_are_not_whole_blocks_stay_dense() {
        let linear = weights(&random_tensors(), Some(Quantization::Q8_0))
            .pp("odd")
            .linear(20, 8, false)
            .unwrap();
        assert!(matches!(linear, Linear::Dense(_)));
    }

    #[test]
    fn pickle_shards_read_as_one_checkpoint() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pickle-shards");
        let files = WeightFiles::PytorchShards {
            index: dir.join("pytorch_model.bin.index.json"),
            shards: vec![
                dir.join("pytorch_model-00001-of-00002.bin"),
                dir.join("pytorch_model-00002-of-00002.bin"),
            ],
        };
        let weights = Weights::open(&files, DType::F32, &Device::Cpu, None).unwrap();
        let encoder = weights.get((2, 3), "encoder.weight").unwrap();
        assert_eq!(
            encoder.to_vec2::<f32>().unwrap(),
            vec![vec![0.0, 1.0, 2.0], vec![3.0, 4.0, 5.0]]
        );
        let decoder = weights.pp("decoder").get(4, "weight").unwrap();
        assert_eq!(
            decoder.to_vec1::<f32>().unwrap(),
            vec![0.0, 10.0, 20.0, 30.0]
        );
        assert!(!weights.contains("lm_head.weight"));
        assert!(weights.get(4, "lm_head.weight").is_err());
    }

    #[test]
    fn gguf_round_trip_keeps_quantized_layers_quantized() {
        let device = Device::Cpu;
        let weight = Tensor::randn(0f32, 1.0, (8, 64), &device).unwrap();
        let qweight = QTensor::quantize(&weight, GgmlDType::Q8_0).unwrap();
        let norm = QTensor::quantize(
            &Tensor::ones(64, DType::F32, &device).unwrap(),
            GgmlDType::F32,
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tiny.gguf");
        let mut file = std::fs::File::create(&path).unwrap();
        let arch = gguf_file::Value::String("t5".to_string());
        gguf_file::write(
            &mut file,
            &[("general.architecture", &arch)],
            &[("a.weight", &qweight), ("norm.weight", &norm)],
        )
        .unwrap();
        drop(file);
        let weights = Weights::open(&WeightFiles::Gguf(path), DType::F32, &device, None).unwrap();
        assert_eq!(weights.gguf().unwrap().architecture(), Some("t5"));
        let linear = weights.pp("a").linear(64, 8, false).unwrap();
        assert!(matches!(linear, Linear::Quantized { .. }));
        let norm = weights.get(64, "norm.weight").unwrap();
        assert_eq!(norm.to_vec1::<f32>().unwrap(), vec![1.0; 64]);
        assert!(weights.get(64, "missing").is_err());
    }
}
