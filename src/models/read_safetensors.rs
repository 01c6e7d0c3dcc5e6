//! Safetensors files read tensor by tensor with plain file reads instead of
//! a memory map.
//!
//! The pages of a mapped file count in the process's resident memory for as
//! long as the mapping lives, and candle's mmap backend lives until the model
//! is built. A model that keeps converted copies of its layers (int8, or f32
//! packed for the kernels) then peaks at the file's size plus those copies:
//! 486 MiB for opus-mt with int8 layers, whose layers take under 200. Read
//! one tensor at a time, the peak is what the model keeps plus one tensor.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use candle_core::safetensors::Load;
use candle_core::{DType, Device, Result, Shape, Tensor};
use safetensors::tensor::{TensorInfo, TensorView};

/// A safetensors header larger than this is not a model's (the format's
/// own reference implementation refuses headers over 100 MB).
const MAX_HEADER_BYTES: u64 = 100_000_000;

struct Entry {
    file: usize,
    info: TensorInfo,
    /// Where the tensor's bytes start in its file.
    offset: u64,
}

/// The tensors of one or more safetensors files (shards), read on demand.
/// Clones share the open files.
#[derive(Clone)]
pub(crate) struct ReadSafetensors {
    files: Arc<Vec<(PathBuf, Mutex<File>)>>,
    tensors: Arc<HashMap<String, Entry>>,
}

impl ReadSafetensors {
    pub(crate) fn open(paths: &[PathBuf]) -> Result<Self> {
        let mut files = Vec::with_capacity(paths.len());
        let mut tensors = HashMap::new();
        for (index, path) in paths.iter().enumerate() {
            let mut file = File::open(path).map_err(|e| io_error(path, e))?;
            let mut size = [0u8; 8];
            file.read_exact(&mut size).map_err(|e| io_error(path, e))?;
            let header_bytes = u64::from_le_bytes(size);
            if header_bytes > MAX_HEADER_BYTES {
                candle_core::bail!(
                    "{}: a {header_bytes}-byte header is not safetensors",
                    path.display()
                );
            }
            let mut header = vec![0u8; header_bytes as usize];
            file.read_exact(&mut header)
                .map_err(|e| io_error(path, e))?;
            let mut header: HashMap<String, serde_json::Value> = serde_json::from_slice(&header)
                .map_err(|e| {
                    candle_core::Error::Msg(format!("{}: bad header: {e}", path.display()))
                })?;
            header.remove("__metadata__");
            for (name, value) in header {
                let info: TensorInfo = serde_json::from_value(value).map_err(|e| {
                    candle_core::Error::Msg(format!("{}: tensor {name}: {e}", path.display()))
                })?;
                let offset = 8 + header_bytes + info.data_offsets.0 as u64;
                tensors.insert(
                    name,
                    Entry {
                        file: index,
                        info,
                        offset,
                    },
                );
            }
            files.push((path.clone(), Mutex::new(file)));
        }
        Ok(Self {
            files: Arc::new(files),
            tensors: Arc::new(tensors),
        })
    }

    fn read(&self, name: &str, device: &Device) -> Result<Tensor> {
        let entry = self.tensors.get(name).ok_or_else(|| {
            candle_core::Error::Msg(format!("tensor {name} not found in the safetensors files"))
        })?;
        let (path, file) = &self.files[entry.file];
        let (start, end) = entry.info.data_offsets;
        let bytes = end.saturating_sub(start);
        let read = |buffer: &mut [u8]| -> Result<()> {
            if buffer.len() != bytes {
                candle_core::bail!(
                    "{}: tensor {name} holds {bytes} bytes, {} expected from its shape",
                    path.display(),
                    buffer.len()
                );
            }
            let mut file = file
                .lock()
                .map_err(|_| candle_core::Error::Msg("safetensors file lock poisoned".into()))?;
            file.seek(SeekFrom::Start(entry.offset))
                .and_then(|_| file.read_exact(buffer))
                .map_err(|e| io_error(path, e))
        };
        let shape = entry.info.shape.clone();
        // The usual float types are read straight into the tensor's own
        // buffer: a byte buffer first would hold every tensor twice while it
        // is converted (2 GB for NLLB-600M's embedding).
        #[cfg(target_endian = "little")]
        match entry.info.dtype {
            safetensors::Dtype::F32 => return read_typed::<f32>(&shape, read, device),
            safetensors::Dtype::F16 => return read_typed::<half::f16>(&shape, read, device),
            safetensors::Dtype::BF16 => return read_typed::<half::bf16>(&shape, read, device),
            _ => {}
        }
        let mut buffer = vec![0u8; bytes];
        read(&mut buffer)?;
        let view = TensorView::new(entry.info.dtype, shape, &buffer).map_err(|e| {
            candle_core::Error::Msg(format!("{}: tensor {name}: {e}", path.display()))
        })?;
        view.load(device)
    }
}

impl ReadSafetensors {
    /// The shape of tensor `name` in the file.
    pub(crate) fn shape(&self, name: &str) -> Option<&[usize]> {
        self.tensors
            .get(name)
            .map(|entry| entry.info.shape.as_slice())
    }

    /// Feeds the 2-D tensor `name` (f32, f16 or bf16 in the file) to
    /// `visit` as f32, `chunk_rows` rows at a time, first to last, without
    /// ever holding it whole; returns its `(rows, width)`. `None` when the
    /// file holds it in another type or shape.
    pub(crate) fn read_rows(
        &self,
        name: &str,
        chunk_rows: usize,
        mut visit: impl FnMut(&[f32]) -> Result<()>,
    ) -> Result<Option<(usize, usize)>> {
        let Some(entry) = self.tensors.get(name) else {
            candle_core::bail!("tensor {name} not found in the safetensors files");
        };
        let &[rows, width] = entry.info.shape.as_slice() else {
            return Ok(None);
        };
        let value_bytes = match entry.info.dtype {
            safetensors::Dtype::F32 => 4,
            safetensors::Dtype::F16 | safetensors::Dtype::BF16 => 2,
            _ => return Ok(None),
        };
        let (start, end) = entry.info.data_offsets;
        if end.saturating_sub(start) != rows * width * value_bytes {
            return Ok(None);
        }
        let (path, file) = &self.files[entry.file];
        let chunk_rows = chunk_rows.max(1);
        let mut bytes = vec![0u8; chunk_rows * width * value_bytes];
        let mut values = vec![0f32; chunk_rows * width];
        let mut file = file
            .lock()
            .map_err(|_| candle_core::Error::Msg("safetensors file lock poisoned".into()))?;
        file.seek(SeekFrom::Start(entry.offset))
            .map_err(|e| io_error(path, e))?;
        for first in (0..rows).step_by(chunk_rows) {
            let count = chunk_rows.min(rows - first);
            let (bytes, values) = (
                &mut bytes[..count * width * value_bytes],
                &mut values[..count * width],
            );
            file.read_exact(bytes).map_err(|e| io_error(path, e))?;
            match entry.info.dtype {
                safetensors::Dtype::F32 => {
                    for (v, b) in values.iter_mut().zip(bytes.chunks_exact(4)) {
                        *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                    }
                }
                safetensors::Dtype::F16 => {
                    for (v, b) in values.iter_mut().zip(bytes.chunks_exact(2)) {
                        *v = half::f16::from_le_bytes([b[0], b[1]]).to_f32();
                    }
                }
                _ => {
                    for (v, b) in values.iter_mut().zip(bytes.chunks_exact(2)) {
                        *v = half::bf16::from_le_bytes([b[0], b[1]]).to_f32();
                    }
                }
            }
            visit(values)?;
        }
        Ok(Some((rows, width)))
    }
}

/// A tensor of `T` read in place: the file's little-endian bytes are the
/// values' memory on a little-endian machine.
#[cfg(target_endian = "little")]
fn read_typed<T: candle_core::WithDType>(
    shape: &[usize],
    read: impl FnOnce(&mut [u8]) -> Result<()>,
    device: &Device,
) -> Result<Tensor> {
    let count: usize = shape.iter().product();
    let mut values = vec![T::from_f64(0.0); count];
    // SAFETY: `values` owns `count` initialized values of a plain numeric
    // type, so its memory is `count * size_of::<T>()` valid bytes, any bit
    // pattern of which is a valid `T`.
    let bytes = unsafe {
        std::slice::from_raw_parts_mut(
            values.as_mut_ptr() as *mut u8,
            count * std::mem::size_of::<T>(),
        )
    };
    read(bytes)?;
    Tensor::from_vec(values, shape, device)
}

fn io_error(path: &Path, error: std::io::Error) -> candle_core::Error {
    candle_core::Error::Msg(format!("{}: {error}", path.display()))
}

impl candle_nn::var_builder::SimpleBackend for ReadSafetensors {
    fn get(
        &self,
        shape: Shape,
        name: &str,
        _: candle_nn::Init,
        dtype: DType,
        device: &Device,
    ) -> Result<Tensor> {
        let tensor = self.get_unchecked(name, dtype, device)?;
        if tensor.shape() != &shape {
            candle_core::bail!(
                "{name}: shape {:?} in the file, {shape:?} expected",
                tensor.shape()
            );
        }
        Ok(tensor)
    }

    fn get_unchecked(&self, name: &str, dtype: DType, device: &Device) -> Result<Tensor> {
        self.read(name, &Device::Cpu)?
            .to_dtype(dtype)?
            .to_device(device)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_nn::var_builder::SimpleBackend;

    #[test]
    fn reads_what_candle_wrote_across_shards() {
        let dir = tempfile::tempdir().unwrap();
        let device = Device::Cpu;
        let a = Tensor::arange(0f32, 12.0, &device)
            .unwrap()
            .reshape((3, 4))
            .unwrap();
        let b = Tensor::new(&[1u32, 2, 3], &device).unwrap();
        let c = Tensor::new(&[0.5f32, -1.5], &device)
            .unwrap()
            .to_dtype(DType::BF16)
            .unwrap();
        let first = dir.path().join("a.safetensors");
        let second = dir.path().join("b.safetensors");
        candle_core::safetensors::save(
            &HashMap::from([("a", a.clone()), ("b", b.clone())]),
            &first,
        )
        .unwrap();
        candle_core::safetensors::save(&HashMap::from([("c", c.clone())]), &second).unwrap();
        let files = ReadSafetensors::open(&[first, second]).unwrap();
        assert!(files.contains_tensor("c") && !files.contains_tensor("d"));
        let read_a = files
            .get(
                (3, 4).into(),
                "a",
                candle_nn::Init::Const(0.0),
                DType::F32,
                &device,
            )
            .unwrap();
        assert_eq!(
            read_a.to_vec2::<f32>().unwrap(),
            a.to_vec2::<f32>().unwrap()
        );
        let read_b = files.get_unchecked("b", DType::U32, &device).unwrap();
        assert_eq!(read_b.to_vec1::<u32>().unwrap(), vec![1, 2, 3]);
        let read_c = files.get_unchecked("c", DType::F32, &device).unwrap();
        assert_eq!(read_c.to_vec1::<f32>().unwrap(), vec![0.5, -1.5]);
        let wrong = files.get(
            (4, 3).into(),
            "a",
            candle_nn::Init::Const(0.0),
            DType::F32,
            &device,
        );
        assert!(wrong.is_err());
    }

    #[test]
    fn rows_read_in_chunks_are_the_tensor() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        let values: Vec<f32> = (0..7 * 5).map(|i| i as f32 * 0.25 - 3.0).collect();
        let table = Tensor::from_vec(values.clone(), (7, 5), &Device::Cpu).unwrap();
        let half = table.to_dtype(DType::BF16).unwrap();
        candle_core::safetensors::save(
            &HashMap::from([
                ("table".to_string(), table),
                ("half".to_string(), half.clone()),
            ]),
            &path,
        )
        .unwrap();
        let files = ReadSafetensors::open(&[path]).unwrap();
        let mut seen = Vec::new();
        let shape = files
            .read_rows("table", 3, |chunk| {
                seen.push(chunk.to_vec());
                Ok(())
            })
            .unwrap();
        assert_eq!(shape, Some((7, 5)));
        assert_eq!(seen.iter().map(Vec::len).collect::<Vec<_>>(), [15, 15, 5]);
        assert_eq!(seen.concat(), values);
        let mut halves = Vec::new();
        files
            .read_rows("half", 4, |chunk| {
                halves.extend_from_slice(chunk);
                Ok(())
            })
            .unwrap();
        let want = half.to_dtype(DType::F32).unwrap().flatten_all().unwrap();
        assert_eq!(halves, want.to_vec1::<f32>().unwrap());
    }
}
