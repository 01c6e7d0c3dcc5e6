//! `anubad bench --model qwen2.5-1.5b-q4km`: prompt-processing and
//! generation speed of a chat model of Qwen2.5-1.5B-Instruct's size with
//! random weights quantized as the published Q4_K_M file is, written to a
//! temporary GGUF and loaded through the project's own Qwen2
//! ([`crate::chat::qwen2`]), the code path `--summarizer` takes for such a
//! file.

use std::time::Instant;

use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{Device, Tensor};

use crate::chat::qwen2::Qwen2;

/// Qwen2.5-1.5B-Instruct's dimensions (its config.json).
pub struct QwenShape {
    pub(crate) vocab: usize,
    pub(crate) hidden: usize,
    pub(crate) intermediate: usize,
    pub(crate) layers: usize,
    pub(crate) heads: usize,
    pub(crate) kv_heads: usize,
    pub(crate) context: usize,
}

pub const QWEN25_1_5B: QwenShape = QwenShape {
    vocab: 151936,
    hidden: 1536,
    intermediate: 8960,
    layers: 28,
    heads: 12,
    kv_heads: 2,
    context: 32768,
};

pub struct ChatBenchRow {
    pub(crate) prompt_tokens: usize,
    pub(crate) prompt_seconds: f64,
    pub(crate) generated_tokens: usize,
    pub(crate) generate_seconds: f64,
    pub(crate) file_bytes: u64,
}

impl ChatBenchRow {
    pub fn markdown(&self) -> String {
        format!(
            "Qwen2.5-1.5B-sized model, Q4_K_M-style GGUF ({:.2} GB), threads {}\n\n\
             | phase | tokens | seconds | tokens/s |\n|---|---:|---:|---:|\n\
             | prompt processing | {} | {:.2} | {:.1} |\n\
             | generation | {} | {:.2} | {:.1} |\n",
            self.file_bytes as f64 / 1e9,
            candle_core::utils::get_num_threads(),
            self.prompt_tokens,
            self.prompt_seconds,
            self.prompt_tokens as f64 / self.prompt_seconds,
            self.generated_tokens,
            self.generate_seconds,
            self.generated_tokens as f64 / self.generate_seconds
        )
    }
}

/// Q4_K_M's mix, as llama.cpp writes it for Qwen2: Q6_K for the token
/// embedding (also the tied output layer), for `attn_v` and `ffn_down`;
/// Q4_K for the other matrices; f32 for norms and biases. (llama.cpp gives
/// Q6_K to only some layers' `attn_v`/`ffn_down`; using it in all is slightly
/// slower, so the figures are conservative.)
fn random_tensor(name: &str, shape: &[usize], device: &Device) -> candle_core::Result<QTensor> {
    let values = Tensor::randn(0f32, 0.02, shape, device)?;
    let dtype = if shape.len() == 1 {
        GgmlDType::F32
    } else if name == "token_embd.weight"
        || name.ends_with("attn_v.weight")
        || name.ends_with("ffn_down.weight")
    {
        GgmlDType::Q6K
    } else {
        GgmlDType::Q4K
    };
    QTensor::quantize(&values, dtype)
}

/// Where the chat benchmark's model comes from.
pub enum ChatBenchModel<'a> {
    /// Random weights of `shape`, written to a temporary GGUF, or to
    /// `save` when given (for peer engines to time the same file).
    Random {
        shape: &'a QwenShape,
        save: Option<&'a std::path::Path>,
    },
    /// A Qwen2 GGUF file on disk.
    File(&'a std::path::Path),
}

pub fn run(
    model: ChatBenchModel,
    prompt_tokens: usize,
    generated_tokens: usize,
    log: &mut dyn FnMut(String),
) -> candle_core::Result<ChatBenchRow> {
    let started = Instant::now();
    let (path, _temporary) = match model {
        ChatBenchModel::File(path) => (path.to_path_buf(), None),
        ChatBenchModel::Random { shape, save } => {
            let file = match save {
                Some(path) => {
                    write_random_gguf(shape, &mut std::fs::File::create(path)?)?;
                    (path.to_path_buf(), None)
                }
                None => {
                    let mut file = tempfile::NamedTempFile::new()?;
                    write_random_gguf(shape, file.as_file_mut())?;
                    (file.path().to_path_buf(), Some(file))
                }
            };
            log(format!(
                "random Qwen2.5-1.5B-sized Q4_K_M model written in {:.1}s",
                started.elapsed().as_secs_f64()
            ));
            file
        }
    };
    time_gguf(&path, prompt_tokens, generated_tokens, log)
}

/// Random weights of `shape`, quantized as Q4_K_M files are, as GGUF.
fn write_random_gguf(shape: &QwenShape, out: &mut std::fs::File) -> candle_core::Result<()> {
    let device = Device::Cpu;
    let head_dim = shape.hidden / shape.heads;
    let kv = shape.kv_heads * head_dim;
    let mut names: Vec<(String, Vec<usize>)> = vec![
        ("token_embd.weight".into(), vec![shape.vocab, shape.hidden]),
        ("output_norm.weight".into(), vec![shape.hidden]),
    ];
    for layer in 0..shape.layers {
        let p = format!("blk.{layer}");
        names.extend([
            (
                format!("{p}.attn_q.weight"),
                vec![shape.hidden, shape.hidden],
            ),
            (format!("{p}.attn_k.weight"), vec![kv, shape.hidden]),
            (format!("{p}.attn_v.weight"), vec![kv, shape.hidden]),
            (format!("{p}.attn_q.bias"), vec![shape.hidden]),
            (format!("{p}.attn_k.bias"), vec![kv]),
            (format!("{p}.attn_v.bias"), vec![kv]),
            (
                format!("{p}.attn_output.weight"),
                vec![shape.hidden, shape.hidden],
            ),
            (
                format!("{p}.ffn_gate.weight"),
                vec![shape.intermediate, shape.hidden],
            ),
            (
                format!("{p}.ffn_up.weight"),
                vec![shape.intermediate, shape.hidden],
            ),
            (
                format!("{p}.ffn_down.weight"),
                vec![shape.hidden, shape.intermediate],
            ),
            (format!("{p}.attn_norm.weight"), vec![shape.hidden]),
            (format!("{p}.ffn_norm.weight"), vec![shape.hidden]),
        ]);
    }
    let tensors = names
        .iter()
        .map(|(name, dims)| random_tensor(name, dims, &device))
        .collect::<candle_core::Result<Vec<_>>>()?;
    let u32_value = |v: usize| gguf_file::Value::U32(v as u32);
    let metadata = [
        (
            "general.architecture",
            gguf_file::Value::String("qwen2".into()),
        ),
        ("qwen2.attention.head_count", u32_value(shape.heads)),
        ("qwen2.attention.head_count_kv", u32_value(shape.kv_heads)),
        ("qwen2.embedding_length", u32_value(shape.hidden)),
        // Ours infers it from the weights; llama.cpp requires it.
        ("qwen2.feed_forward_length", u32_value(shape.intermediate)),
        ("qwen2.context_length", u32_value(shape.context)),
        ("qwen2.block_count", u32_value(shape.layers)),
        (
            "qwen2.attention.layer_norm_rms_epsilon",
            gguf_file::Value::F32(1e-6),
        ),
        ("qwen2.rope.freq_base", gguf_file::Value::F32(1_000_000.0)),
    ];
    {
        let mut writer = std::io::BufWriter::new(out);
        let metadata: Vec<(&str, &gguf_file::Value)> =
            metadata.iter().map(|(k, v)| (*k, v)).collect();
        let tensors: Vec<(&str, &QTensor)> = names
            .iter()
            .map(|(name, _)| name.as_str())
            .zip(tensors.iter())
            .collect();
        gguf_file::write(&mut writer, &metadata, &tensors)?;
    }
    Ok(())
}

/// Prompt-processing and generation speed of the Qwen2 GGUF at `path`.
fn time_gguf(
    path: &std::path::Path,
    prompt_tokens: usize,
    generated_tokens: usize,
    log: &mut dyn FnMut(String),
) -> candle_core::Result<ChatBenchRow> {
    let device = Device::Cpu;
    let file_bytes = std::fs::metadata(path)?.len();
    let mut reader = std::fs::File::open(path)?;
    let content = gguf_file::Content::read(&mut reader)?;
    let mut model = Qwen2::from_gguf(&content, &mut reader, &device)
        .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
    log(format!(
        "{} ({:.2} GB) loaded",
        path.display(),
        file_bytes as f64 / 1e9
    ));

    // Token ids drawn from the middle of the vocabulary, as real text's are.
    let prompt: Vec<u32> = (0..prompt_tokens)
        .map(|i| 1000 + (i as u32 * 7919) % 100_000)
        .collect();
    let input = Tensor::new(prompt.as_slice(), &device)?.unsqueeze(0)?;
    let started = Instant::now();
    let logits = model.forward(&input, 0)?;
    let mut next = logits
        .squeeze(0)?
        .argmax(candle_core::D::Minus1)?
        .to_scalar::<u32>()?;
    let prompt_seconds = started.elapsed().as_secs_f64();
    log(format!(
        "prompt of {prompt_tokens} tokens in {prompt_seconds:.2}s"
    ));
    let started = Instant::now();
    for step in 0..generated_tokens {
        let input = Tensor::new(&[next], &device)?.unsqueeze(0)?;
        let logits = model.forward(&input, prompt_tokens + step)?;
        next = logits
            .squeeze(0)?
            .argmax(candle_core::D::Minus1)?
            .to_scalar::<u32>()?;
    }
    let generate_seconds = started.elapsed().as_secs_f64();
    log(format!(
        "{generated_tokens} tokens generated in {generate_seconds:.2}s"
    ));
    Ok(ChatBenchRow {
        prompt_tokens,
        prompt_seconds,
        generated_tokens,
        generate_seconds,
        file_bytes,
    })
}
