//! A decoder layer's self-attention cache: the keys and values of every
//! token each row has fed so far.
//!
//! On the CPU the cache is kept by position: each step's keys and values
//! are stored as they come (`[rows at that step, heads, dim]`), and each
//! live row keeps, per position, which row of that step's block is its
//! own history. A beam reorder then rewrites those small tables of row
//! numbers and copies no keys at all; the attention kernel follows them.
//! Concatenating candle tensors instead copied the whole cache at every step
//! of every layer and again at every reorder, into freshly allocated memory:
//! a seventh of a beam-search run. Elsewhere (a GPU, or half precision) the
//! cache stays candle tensors, concatenated and index-selected.

use candle_core::{Device, Result, Tensor};

use crate::kernels::attention::{attend_one_position_in, KeyValues, ScoreBias};
use crate::kernels::cpu_f32;

pub(crate) enum SelfCache {
    Empty,
    ByPosition(ByPosition),
    /// `[rows, heads, len, dim]` keys and values.
    Tensors(Tensor, Tensor),
}

pub(crate) struct ByPosition {
    /// Per position, the keys fed at that step: `[rows then, heads, dim]`.
    keys: Vec<Vec<f32>>,
    values: Vec<Vec<f32>>,
    /// `[rows, len]`: for each live row and position, the row of that
    /// position's block that holds this row's key and value.
    history: Vec<u32>,
    rows: usize,
    heads: usize,
    dim: usize,
    device: Device,
}

impl SelfCache {
    /// Appends `keys` and `values` (`[rows, heads, new, dim]`) after the
    /// positions already cached.
    pub(crate) fn append(&mut self, keys: &Tensor, values: &Tensor) -> Result<()> {
        match self {
            SelfCache::Empty => {
                let (rows, heads, _, dim) = keys.dims4()?;
                if values.dims() == keys.dims() && is_cpu_f32(keys) && is_cpu_f32(values) {
                    let mut cache = ByPosition {
                        keys: Vec::new(),
                        values: Vec::new(),
                        history: Vec::new(),
                        rows,
                        heads,
                        dim,
                        device: keys.device().clone(),
                    };
                    cache.append(keys, values)?;
                    *self = SelfCache::ByPosition(cache);
                } else {
                    *self = SelfCache::Tensors(keys.clone(), values.clone());
                }
                Ok(())
            }
            SelfCache::ByPosition(cache) => cache.append(keys, values),
            SelfCache::Tensors(cached_keys, cached_values) => {
                *cached_keys = Tensor::cat(&[&*cached_keys, keys], 2)?;
                *cached_values = Tensor::cat(&[&*cached_values, values], 2)?;
                Ok(())
            }
        }
    }

    /// Attention of `queries` (`[rows, heads, 1, dim]`, one position per
    /// row) over the cache, in the CPU kernel: `[rows, 1, heads * dim]`, or
    /// `None` where the kernel does not apply (then use [`Self::tensors`]).
    /// `mask` is additive: `[rows, 1, 1, len]` or `[1, heads, 1, len]`.
    pub(crate) fn attend_one(
        &self,
        queries: &Tensor,
        mask: Option<&Tensor>,
        scale: f32,
    ) -> Result<Option<Tensor>> {
        let SelfCache::ByPosition(cache) = self else {
            return Ok(None);
        };
        cache.attend_one(queries, mask, scale)
    }

    /// The cached keys and values as `[rows, heads, len, dim]` tensors.
    pub(crate) fn tensors(&self) -> Result<(Tensor, Tensor)> {
        match self {
            SelfCache::Empty => candle_core::bail!("the self-attention cache is empty"),
            SelfCache::ByPosition(cache) => cache.tensors(),
            SelfCache::Tensors(keys, values) => Ok((keys.clone(), values.clone())),
        }
    }

    /// Keeps the rows named by `rows`, in that order (rows may repeat).
    pub(crate) fn select_rows(&mut self, rows: &[u32]) -> Result<()> {
        match self {
            SelfCache::Empty => Ok(()),
            SelfCache::ByPosition(cache) => cache.select_rows(rows),
            SelfCache::Tensors(keys, values) => {
                let index = Tensor::new(rows, keys.device())?;
                *keys = keys.index_select(&index, 0)?;
                *values = values.index_select(&index, 0)?;
                Ok(())
            }
        }
    }
}

impl ByPosition {
    fn append(&mut self, keys: &Tensor, values: &Tensor) -> Result<()> {
        let (rows, heads, new, dim) = keys.dims4()?;
        if (rows, heads, dim) != (self.rows, self.heads, self.dim) || values.dims() != keys.dims() {
            candle_core::bail!(
                "new keys {:?} do not fit a cache of {} rows × {} heads × {} dims",
                keys.dims(),
                self.rows,
                self.heads,
                self.dim
            );
        }
        let blocks = |new_values: &Tensor| -> Result<Vec<Vec<f32>>> {
            let (storage, layout) = new_values.storage_and_layout();
            let Some(new_values) = cpu_f32(&storage, layout) else {
                candle_core::bail!("the self-attention cache takes contiguous f32 CPU tensors");
            };
            if new == 1 {
                return Ok(vec![new_values.to_vec()]);
            }
            Ok((0..new)
                .map(|position| {
                    new_values
                        .chunks(new * dim)
                        .flat_map(|per_head| &per_head[position * dim..][..dim])
                        .copied()
                        .collect()
                })
                .collect())
        };
        self.keys.extend(blocks(keys)?);
        self.values.extend(blocks(values)?);
        let (old, len) = (self.len() - new, self.len());
        let mut history = Vec::with_capacity(rows * len);
        for row in 0..rows {
            history.extend_from_slice(&self.history[row * old..][..old]);
            history.extend(std::iter::repeat_n(row as u32, new));
        }
        self.history = history;
        Ok(())
    }

    fn attend_one(
        &self,
        queries: &Tensor,
        mask: Option<&Tensor>,
        scale: f32,
    ) -> Result<Option<Tensor>> {
        let (rows, heads, one, dim) = queries.dims4()?;
        let len = self.len();
        if (rows, heads, one, dim) != (self.rows, self.heads, 1, self.dim) {
            return Ok(None);
        }
        let per_head = match mask.map(Tensor::dims) {
            None => false,
            Some(dims) if dims == [rows, 1, 1, len] => false,
            Some(dims) if dims == [1, heads, 1, len] => true,
            Some(_) => return Ok(None),
        };
        let (q_storage, q_layout) = queries.storage_and_layout();
        let Some(q) = cpu_f32(&q_storage, q_layout) else {
            return Ok(None);
        };
        let mask_guard = mask.map(|m| m.storage_and_layout());
        let bias = match &mask_guard {
            Some((storage, layout)) => match cpu_f32(storage, layout) {
                Some(m) if per_head => ScoreBias::PerHead(m),
                Some(m) => ScoreBias::PerSource(m),
                None => return Ok(None),
            },
            None => ScoreBias::None,
        };
        let context = attend_one_position_in(q, heads, dim, self, bias, 1, scale);
        Ok(Some(Tensor::from_vec(
            context,
            (rows, 1, heads * dim),
            &self.device,
        )?))
    }

    fn tensors(&self) -> Result<(Tensor, Tensor)> {
        Ok((self.gather(Self::key)?, self.gather(Self::value)?))
    }

    /// `[rows, heads, len, dim]` of what `get` finds for each row, head and
    /// position.
    fn gather(&self, get: fn(&Self, usize, usize, usize) -> &[f32]) -> Result<Tensor> {
        let (rows, heads, len) = (self.rows, self.heads, self.len());
        let mut values = Vec::with_capacity(rows * heads * len * self.dim);
        for row in 0..rows {
            for head in 0..heads {
                for position in 0..len {
                    values.extend_from_slice(get(self, row, head, position));
                }
            }
        }
        Tensor::from_vec(values, (rows, heads, len, self.dim), &self.device)
    }

    fn select_rows(&mut self, rows: &[u32]) -> Result<()> {
        if let Some(&bad) = rows.iter().find(|&&r| r as usize >= self.rows) {
            candle_core::bail!("row {bad} is not in a cache of {} rows", self.rows);
        }
        let len = self.len();
        self.history = rows
            .iter()
            .flat_map(|&row| &self.history[row as usize * len..][..len])
            .copied()
            .collect();
        self.rows = rows.len();
        Ok(())
    }
}

impl KeyValues for ByPosition {
    fn len(&self) -> usize {
        self.keys.len()
    }

    #[inline(always)]
    fn key(&self, row: usize, head: usize, position: usize) -> &[f32] {
        let at = self.history[row * self.keys.len() + position] as usize;
        &self.keys[position][(at * self.heads + head) * self.dim..][..self.dim]
    }

    #[inline(always)]
    fn value(&self, row: usize, head: usize, position: usize) -> &[f32] {
        let at = self.history[row * self.keys.len() + position] as usize;
        &self.values[position][(at * self.heads + head) * self.dim..][..self.dim]
    }
}

fn is_cpu_f32(tensor: &Tensor) -> bool {
    let (storage, layout) = tensor.storage_and_layout();
    cpu_f32(&storage, layout).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(dims: (usize, usize, usize, usize), seed: u32, device: &Device) -> Tensor {
        let count = dims.0 * dims.1 * dims.2 * dims.3;
        let values: Vec<f32> = (0..count as u32)
            .map(|i| (i.wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        Tensor::from_vec(values, dims, device).unwrap()
    }

    fn values(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    }

    /// The cache must hold exactly what concatenating and index-selecting
    /// candle tensors holds, across growth and reorders that repeat, drop
    /// and shuffle rows.
    #[test]
    fn the_cache_by_position_holds_what_concatenated_tensors_hold() {
        let device = Device::Cpu;
        let (rows, heads, dim) = (4, 3, 5);
        let mut cache = SelfCache::Empty;
        let mut reference = SelfCache::Empty;
        let mut live = rows;
        for step in 0..40u32 {
            let new = if step == 0 { 2 } else { 1 };
            let k = tensor((live, heads, new, dim), step, &device);
            let v = tensor((live, heads, new, dim), step + 1000, &device);
            cache.append(&k, &v).unwrap();
            match &mut reference {
                SelfCache::Empty => reference = SelfCache::Tensors(k.clone(), v.clone()),
                reference => reference.append(&k, &v).unwrap(),
            }
            assert!(matches!(cache, SelfCache::ByPosition(_)));
            let order: Vec<u32> = match step % 3 {
                0 => (0..live as u32).rev().collect(),
                1 => (0..live as u32).map(|r| r / 2).collect(),
                _ if live > 1 && step > 30 => (1..live as u32).collect(),
                _ => (0..live as u32).collect(),
            };
            cache.select_rows(&order).unwrap();
            reference.select_rows(&order).unwrap();
            live = order.len();
            let (got_k, got_v) = cache.tensors().unwrap();
            let (want_k, want_v) = reference.tensors().unwrap();
            assert_eq!(got_k.dims(), want_k.dims());
            assert_eq!(values(&got_k), values(&want_k), "keys at step {step}");
            assert_eq!(values(&got_v), values(&want_v), "values at step {step}");
        }
        assert!(live < rows, "the test should drop rows too");
    }

    #[test]
    fn attention_over_the_cache_matches_attention_over_its_tensors() {
        let device = Device::Cpu;
        let (rows, heads, dim) = (3, 2, 8);
        let mut cache = SelfCache::Empty;
        for step in 0..5 {
            let k = tensor((rows, heads, 1, dim), step, &device);
            let v = tensor((rows, heads, 1, dim), step + 7, &device);
            cache.append(&k, &v).unwrap();
        }
        let q = tensor((rows, heads, 1, dim), 99, &device);
        let bias = tensor((1, heads, 1, 5), 5, &device);
        let got = cache.attend_one(&q, Some(&bias), 0.25).unwrap().unwrap();
        let (k, v) = cache.tensors().unwrap();
        let want = crate::kernels::attention::attend_one_position(&q, &k, &v, Some(&bias), 1, 0.25)
            .unwrap()
            .unwrap();
        assert_eq!(values(&got), values(&want));
    }
}
