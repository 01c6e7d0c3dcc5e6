use super::*;
use crate::chat::backbone::*;
use crate::tokenize::gguf::*;
use candle_core::quantized::{GgmlDType, QTensor};
use std::collections::HashMap;

/// Qwen2.5-Instruct's chat template.
const QWEN25_TEMPLATE: &str = include_str!("testdata/qwen25_chat_template.jinja");
/// google/gemma-3-*-it's chat template, as its tokenizer_config.json
/// holds it (quoted in ShishirPatil/gorilla, berkeley-function-call-
/// leaderboard/bfcl_eval/model_handler/local_inference/gemma.py).
const GEMMA3_TEMPLATE: &str = include_str!("testdata/gemma3_chat_template.jinja");
/// Meta-Llama-3-8B-Instruct's chat template.
const LLAMA3_TEMPLATE: &str = r#"{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>

'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>

' }}{% endif %}"#;

const HIDDEN: usize = 32;
const HEADS: usize = 4;
const KV_HEADS: usize = 2;
const LAYERS: usize = 2;
// 256 so that ffn_down's rows fill one Q4_K block.
const FFN: usize = 256;
const SPECIAL_TOKENS: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

/// GPT-2's byte-to-printable-character table used by byte-level BPE.
fn byte_level_alphabet() -> Vec<char> {
    let mut printable: Vec<u32> = (u32::from(b'!')..=u32::from(b'~'))
        .chain(0xA1..=0xAC)
        .chain(0xAE..=0xFF)
        .collect();
    let mut chars = printable.clone();
    let mut extra = 0;
    for byte in 0..256u32 {
        if !printable.contains(&byte) {
            printable.push(byte);
            chars.push(256 + extra);
            extra += 1;
        }
    }
    let mut table = vec![' '; 256];
    for (byte, ch) in printable.iter().zip(chars) {
        table[*byte as usize] = char::from_u32(ch).unwrap();
    }
    table
}

struct Vocab {
    tokens: Vec<String>,
    token_types: Vec<i32>,
    merges: Vec<String>,
}

/// 256 byte tokens, a few merges, then the Qwen control tokens.
fn tiny_vocab() -> Vocab {
    let alphabet = byte_level_alphabet();
    let mut tokens: Vec<String> = alphabet.iter().map(|c| c.to_string()).collect();
    let pairs = [
        ("H", "e"),
        ("l", "l"),
        ("He", "ll"),
        ("Hell", "o"),
        ("Ġ", "w"),
        ("o", "r"),
        ("Ġw", "or"),
        ("l", "d"),
        ("Ġwor", "ld"),
        ("i", "m"),
        ("Ċ", "Ċ"),
    ];
    let mut merges = Vec::new();
    for (left, right) in pairs {
        merges.push(format!("{left} {right}"));
        tokens.push(format!("{left}{right}"));
    }
    let mut token_types = vec![1; tokens.len()];
    for special in SPECIAL_TOKENS {
        tokens.push(special.to_string());
        token_types.push(3);
    }
    Vocab {
        tokens,
        token_types,
        merges,
    }
}

/// Deterministic weights in (-scale, scale), so fixtures do not depend
/// on a global RNG.
struct Lcg(u64);

impl Lcg {
    fn values(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n)
            .map(|_| {
                self.0 = self
                    .0
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((self.0 >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
            })
            .collect()
    }

    fn tensor(&mut self, shape: &[usize], scale: f32) -> Tensor {
        let n = shape.iter().product();
        Tensor::from_vec(self.values(n, scale), shape, &Device::Cpu).unwrap()
    }

    fn norm(&mut self, n: usize) -> Tensor {
        let values = self.values(n, 0.2).into_iter().map(|v| 1.0 + v).collect();
        Tensor::from_vec(values, n, &Device::Cpu).unwrap()
    }
}

/// The tiny model's tensors under their Hugging Face names.
fn tiny_qwen2_weights(vocab_size: usize) -> Vec<(String, Tensor)> {
    let mut rng = Lcg(20241122);
    let head_dim = HIDDEN / HEADS;
    let kv = KV_HEADS * head_dim;
    let mut weights = vec![
        (
            "model.embed_tokens.weight".to_string(),
            rng.tensor(&[vocab_size, HIDDEN], 1.0),
        ),
        ("model.norm.weight".to_string(), rng.norm(HIDDEN)),
    ];
    for layer in 0..LAYERS {
        let p = format!("model.layers.{layer}");
        let mut add = |name: &str, tensor: Tensor| weights.push((format!("{p}.{name}"), tensor));
        add(
            "self_attn.q_proj.weight",
            rng.tensor(&[HIDDEN, HIDDEN], 0.4),
        );
        add("self_attn.q_proj.bias", rng.tensor(&[HIDDEN], 0.1));
        add("self_attn.k_proj.weight", rng.tensor(&[kv, HIDDEN], 0.4));
        add("self_attn.k_proj.bias", rng.tensor(&[kv], 0.1));
        add("self_attn.v_proj.weight", rng.tensor(&[kv, HIDDEN], 0.4));
        add("self_attn.v_proj.bias", rng.tensor(&[kv], 0.1));
        add(
            "self_attn.o_proj.weight",
            rng.tensor(&[HIDDEN, HIDDEN], 0.4),
        );
        add("mlp.gate_proj.weight", rng.tensor(&[FFN, HIDDEN], 0.4));
        add("mlp.up_proj.weight", rng.tensor(&[FFN, HIDDEN], 0.4));
        add("mlp.down_proj.weight", rng.tensor(&[HIDDEN, FFN], 0.2));
        add("input_layernorm.weight", rng.norm(HIDDEN));
        add("post_attention_layernorm.weight", rng.norm(HIDDEN));
    }
    weights
}

/// llama.cpp's name for a transformers tensor of architecture `arch`.
fn gguf_name(arch: &str, hf_name: &str) -> String {
    match hf_name {
        "model.embed_tokens.weight" => return "token_embd.weight".into(),
        "model.norm.weight" => return "output_norm.weight".into(),
        "lm_head.weight" => return "output.weight".into(),
        _ => {}
    }
    let rest = hf_name.strip_prefix("model.layers.").unwrap();
    let (layer, name) = rest.split_once('.').unwrap();
    let norms: &[(&str, &str)] = if arch == "gemma3" {
        &[
            ("input_layernorm", "attn_norm"),
            ("post_attention_layernorm", "post_attention_norm"),
            ("pre_feedforward_layernorm", "ffn_norm"),
            ("post_feedforward_layernorm", "post_ffw_norm"),
        ]
    } else {
        &[
            ("input_layernorm", "attn_norm"),
            ("post_attention_layernorm", "ffn_norm"),
        ]
    };
    let renamed = [
        ("self_attn.q_proj", "attn_q"),
        ("self_attn.k_proj", "attn_k"),
        ("self_attn.v_proj", "attn_v"),
        ("self_attn.o_proj", "attn_output"),
        ("self_attn.q_norm", "attn_q_norm"),
        ("self_attn.k_norm", "attn_k_norm"),
        ("mlp.gate_proj", "ffn_gate"),
        ("mlp.up_proj", "ffn_up"),
        ("mlp.down_proj", "ffn_down"),
    ]
    .iter()
    .chain(norms)
    .find_map(|(hf, gguf)| {
        name.strip_prefix(hf)
            .map(|suffix| format!("{gguf}{suffix}"))
    })
    .unwrap();
    format!("blk.{layer}.{renamed}")
}

/// Writes the tiny model as `model.gguf` in `dir`; `quantize` stores the
/// matrices as Q8_0 (Q4_K for ffn_down) like a real conversion.
fn write_tiny_qwen2_gguf(dir: &Path, context_length: u32, quantize: bool) {
    use gguf_file::Value;
    let vocab = tiny_vocab();
    let im_end = vocab.tokens.len() as u32 - 1;
    let endoftext = vocab.tokens.len() as u32 - 3;
    let metadata: Vec<(&str, Value)> = vec![
        ("general.architecture", Value::String("qwen2".into())),
        ("qwen2.attention.head_count", Value::U32(HEADS as u32)),
        ("qwen2.attention.head_count_kv", Value::U32(KV_HEADS as u32)),
        ("qwen2.embedding_length", Value::U32(HIDDEN as u32)),
        ("qwen2.feed_forward_length", Value::U32(FFN as u32)),
        ("qwen2.context_length", Value::U32(context_length)),
        ("qwen2.block_count", Value::U32(LAYERS as u32)),
        ("qwen2.attention.layer_norm_rms_epsilon", Value::F32(1e-6)),
        ("qwen2.rope.freq_base", Value::F32(10000.0)),
        ("tokenizer.ggml.model", Value::String("gpt2".into())),
        ("tokenizer.ggml.pre", Value::String("qwen2".into())),
        (
            "tokenizer.ggml.tokens",
            Value::Array(vocab.tokens.iter().cloned().map(Value::String).collect()),
        ),
        (
            "tokenizer.ggml.token_type",
            Value::Array(vocab.token_types.iter().copied().map(Value::I32).collect()),
        ),
        (
            "tokenizer.ggml.merges",
            Value::Array(vocab.merges.iter().cloned().map(Value::String).collect()),
        ),
        ("tokenizer.ggml.eos_token_id", Value::U32(im_end)),
        ("tokenizer.ggml.bos_token_id", Value::U32(endoftext)),
        (
            "tokenizer.chat_template",
            Value::String(QWEN25_TEMPLATE.into()),
        ),
    ];
    let tensors: Vec<(String, QTensor)> = tiny_qwen2_weights(vocab.tokens.len())
        .into_iter()
        .map(|(name, tensor)| {
            let dtype = if !quantize || tensor.rank() == 1 {
                GgmlDType::F32
            } else if name.ends_with("down_proj.weight") {
                GgmlDType::Q4K
            } else {
                GgmlDType::Q8_0
            };
            (
                gguf_name("qwen2", &name),
                QTensor::quantize(&tensor, dtype).unwrap(),
            )
        })
        .collect();
    let metadata_refs: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    let tensor_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut file = File::create(dir.join("model.gguf")).unwrap();
    gguf_file::write(&mut file, &metadata_refs, &tensor_refs).unwrap();
}

/// Writes the committed fixture `tests/fixtures/chat-tiny/model.gguf`
/// that tests/cli.rs runs `--summarizer` with. Run when the tiny model
/// changes: `cargo test --lib write_chat_fixture -- --ignored`.
#[test]
#[ignore = "regenerates a committed fixture"]
fn write_chat_fixture() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/chat-tiny");
    std::fs::create_dir_all(&dir).unwrap();
    write_tiny_qwen2_gguf(&dir, 4096, true);
}

fn load_tiny_gguf(context_length: u32) -> (tempfile::TempDir, DecoderChat) {
    let dir = tempfile::tempdir().unwrap();
    write_tiny_qwen2_gguf(dir.path(), context_length, true);
    let model = DecoderChat::load_dir(dir.path(), "test:tiny-qwen2".into(), &Device::Cpu).unwrap();
    (dir, model)
}

fn conversation() -> Vec<ChatMessage> {
    vec![
        ChatMessage::system("Translate Bengali to English."),
        ChatMessage::user("আমি ভাত খাই।"),
    ]
}

fn greedy(max_new_tokens: usize) -> Sampling {
    Sampling {
        max_new_tokens,
        temperature: 0.0,
        seed: 0,
    }
}

#[test]
fn qwen_template_from_gguf_renders_like_transformers() {
    let (_dir, model) = load_tiny_gguf(512);
    // Rendered by transformers' `render_jinja_template` from the same template.
    assert_eq!(
        model.render_prompt(&conversation()).unwrap(),
        "<|im_start|>system\nTranslate Bengali to English.<|im_end|>\n<|im_start|>user\n\
         আমি ভাত খাই।<|im_end|>\n<|im_start|>assistant\n"
    );
    assert_eq!(
        model
            .render_prompt(&[ChatMessage::user("  Hi there  ")])
            .unwrap(),
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful \
         assistant.<|im_end|>\n<|im_start|>user\n  Hi there  <|im_end|>\n<|im_start|>assistant\n"
    );
}

#[test]
fn llama3_template_gets_bos_token() {
    let template = ChatTemplate::new(
        LLAMA3_TEMPLATE.into(),
        "<|begin_of_text|>".into(),
        "<|eot_id|>".into(),
    )
    .unwrap();
    // Rendered by transformers' `render_jinja_template` from the same template.
    assert_eq!(
        template
            .render(&[ChatMessage::user("  Hi there  ")])
            .unwrap(),
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>\
         <|start_header_id|>assistant<|end_header_id|>\n\n"
    );
}

#[test]
fn templates_may_use_python_string_methods_and_raise_exception() {
    let source = "{% for m in messages %}{% if m.content.startswith('!') %}[cmd]{% endif %}\
                  {{ m.content.strip() }}|{% endfor %}{% if messages|length > 2 %}\
                  {{ raise_exception('too many') }}{% endif %}";
    let template = ChatTemplate::new(source.into(), String::new(), String::new()).unwrap();
    let two = [ChatMessage::user("!go "), ChatMessage::user(" x")];
    assert_eq!(template.render(&two).unwrap(), "[cmd]!go|x|");
    let three = [two[0].clone(), two[1].clone(), ChatMessage::user("y")];
    assert!(matches!(
        template.render(&three),
        Err(ChatError::Template(_))
    ));
}

#[test]
fn gguf_tokenizer_applies_merges_keeps_specials_whole_and_round_trips() {
    let (_dir, model) = load_tiny_gguf(512);
    let vocab = tiny_vocab();
    let id = |token: &str| vocab.tokens.iter().position(|t| t == token).unwrap() as u32;
    let ids = model.encode("<|im_start|>Hello world<|im_end|>").unwrap();
    assert_eq!(
        ids,
        [
            id("<|im_start|>"),
            id("Hello"),
            id("Ġworld"),
            id("<|im_end|>")
        ]
    );
    let bengali = "আমি ভাত খাই। Hello\n\nworld";
    let ids = model.encode(bengali).unwrap();
    assert_eq!(model.tokenizer.decode(&ids, false).unwrap(), bengali);
    assert_eq!(model.count_tokens(bengali), ids.len());
    assert!(model.stop_ids().contains(&id("<|im_end|>")));
    assert!(model.stop_ids().contains(&id("<|endoftext|>")));
}

#[test]
fn greedy_chat_is_deterministic_and_respects_max_new_tokens() {
    let (_dir, mut model) = load_tiny_gguf(512);
    let (ids, finish) = model.generate_ids(&conversation(), &greedy(6)).unwrap();
    assert_eq!(finish, Finish::MaxNewTokens);
    assert_eq!(ids.len(), 6);
    let first = model.chat(&conversation(), &greedy(6)).unwrap();
    // A second conversation must not see the first one's KV cache.
    model
        .chat(&[ChatMessage::user("Hello world")], &greedy(3))
        .unwrap();
    let again = model.chat(&conversation(), &greedy(6)).unwrap();
    assert_eq!(first, again);
    assert_eq!(first.text, model.tokenizer.decode(&ids, true).unwrap());
    assert_eq!(first.finish, Finish::MaxNewTokens);
    let (fewer, _) = model.generate_ids(&conversation(), &greedy(2)).unwrap();
    assert_eq!(fewer, ids[..2]);
}

#[test]
fn a_prompt_sharing_the_last_ones_start_is_fed_from_where_they_differ() {
    let (_dir, mut model) = load_tiny_gguf(512);
    let (_fresh_dir, mut fresh) = load_tiny_gguf(512);
    check_prefix_reuse(&mut model, &mut fresh);
}

#[test]
fn gemma3_also_feeds_only_what_a_prompt_does_not_share() {
    // A 16-token window, so the kept prefix crosses sliding-window layers.
    let (_dir, mut model) = load_tiny_gemma3(256, 16);
    let (_fresh_dir, mut fresh) = load_tiny_gemma3(256, 16);
    check_prefix_reuse(&mut model, &mut fresh);
}

/// Two paragraphs under the same instructions: the second prompt is fed
/// from where it differs from the first, and every reply is the one a
/// model with nothing cached (`fresh`) gives.
fn check_prefix_reuse(model: &mut DecoderChat, fresh: &mut DecoderChat) {
    let paragraph = |text: &str| {
        vec![
            ChatMessage::system("Translate Bengali to English, keeping every number."),
            ChatMessage::user(text),
        ]
    };
    let tokens = |model: &DecoderChat, messages: &[ChatMessage]| {
        model
            .encode(&model.render_prompt(messages).unwrap())
            .unwrap()
    };
    let first = model.chat(&paragraph("আমি ভাত খাই।"), &greedy(8)).unwrap();
    let second = paragraph("ঢাকায় বৃষ্টি হয়েছে।");
    let prompt = tokens(model, &second);
    let shared = tokens(model, &paragraph("আমি ভাত খাই।"))
        .iter()
        .zip(&prompt)
        .take_while(|(a, b)| a == b)
        .count();
    let reply = model.chat(&second, &greedy(8)).unwrap();
    // The instructions and the user turn's opening were not fed again.
    assert!(shared > 10, "{shared}");
    assert_eq!(model.last_reused, shared);
    assert_eq!(reply, fresh.chat(&second, &greedy(8)).unwrap());
    fresh.model.clear_kv_cache();
    fresh.fed.clear();
    assert_eq!(
        first,
        fresh.chat(&paragraph("আমি ভাত খাই।"), &greedy(8)).unwrap()
    );
    // The same prompt again: everything but its last token is reused.
    let again = model.chat(&second, &greedy(8)).unwrap();
    assert_eq!(again, reply);
    assert_eq!(model.last_reused, prompt.len() - 1);
}

#[test]
fn seeded_sampling_is_reproducible_and_depends_on_the_seed() {
    let (_dir, mut model) = load_tiny_gguf(512);
    let sampling = |seed| Sampling {
        max_new_tokens: 8,
        temperature: 1.0,
        seed,
    };
    let (a, _) = model.generate_ids(&conversation(), &sampling(7)).unwrap();
    let (b, _) = model.generate_ids(&conversation(), &sampling(7)).unwrap();
    assert_eq!(a, b);
    let others: Vec<Vec<u32>> = (1..=4)
        .map(|seed| {
            model
                .generate_ids(&conversation(), &sampling(seed))
                .unwrap()
                .0
        })
        .collect();
    assert!(others.iter().any(|ids| *ids != a), "{others:?} vs {a:?}");
}

#[test]
fn prompt_over_the_context_length_is_refused() {
    let (_dir, mut model) = load_tiny_gguf(96);
    assert_eq!(model.context_length(), 96);
    let long = ChatMessage::user("x".repeat(200));
    match model.chat(&[long], &greedy(4)) {
        Err(ChatError::PromptTooLong { tokens, limit }) => {
            assert_eq!(limit, 96);
            assert!(tokens > 96);
        }
        other => panic!("expected PromptTooLong, got {other:?}"),
    }
}

#[test]
fn generation_stops_when_the_context_is_full() {
    let (_dir, mut model) = load_tiny_gguf(96);
    let system = ChatMessage::system("s");
    let prompt_len = |text: &str| {
        let prompt = model
            .render_prompt(&[system.clone(), ChatMessage::user(text)])
            .unwrap();
        model.encode(&prompt).unwrap().len()
    };
    let padding = "x".repeat(96 - 2 - prompt_len(""));
    assert_eq!(prompt_len(&padding), 94);
    let messages = [system.clone(), ChatMessage::user(padding)];
    let (ids, finish) = model.generate_ids(&messages, &greedy(50)).unwrap();
    // 94 prompt positions + 2 fed-back tokens fill 96; the third is not fed.
    assert_eq!(finish, Finish::ContextFull);
    assert_eq!(ids.len(), 3);
    let reply = model.chat(&messages, &greedy(50)).unwrap();
    assert_eq!(reply.finish, Finish::ContextFull);
    assert!(reply.cut_off());
}

#[test]
fn every_chat_preset_names_an_architecture_this_build_runs() {
    let chat_presets = crate::models::presets()
        .into_iter()
        .filter(|preset| preset.kind == crate::models::ModelKind::Chat);
    for preset in chat_presets {
        assert!(
            SUPPORTED_GGUF_ARCHITECTURES.contains(&preset.family.name()),
            "{}: {}",
            preset.name,
            preset.family
        );
    }
}

#[test]
fn thinking_is_switched_off_for_templates_that_offer_it() {
    // The generation-prompt tail of Qwen3's template.
    let template = ChatTemplate::new(
        "{{- messages[0].content }}{{- '<|im_start|>assistant\\n' }}\
         {%- if enable_thinking is defined and enable_thinking is false %}\
         {{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}"
            .to_string(),
        String::new(),
        String::new(),
    )
    .unwrap();
    let rendered = template.render(&[ChatMessage::user("Hi")]).unwrap();
    assert_eq!(rendered, "Hi<|im_start|>assistant\n<think>\n\n</think>\n\n");
}

#[test]
fn several_gguf_files_are_ambiguous() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny_qwen2_gguf(dir.path(), 64, true);
    std::fs::copy(dir.path().join("model.gguf"), dir.path().join("other.gguf")).unwrap();
    let err = DecoderChat::load_dir(dir.path(), "x".into(), &Device::Cpu).unwrap_err();
    assert!(matches!(err, ChatError::Load { .. }));
}

#[test]
fn safetensors_qwen2_matches_the_same_weights_in_gguf() {
    let gguf_dir = tempfile::tempdir().unwrap();
    write_tiny_qwen2_gguf(gguf_dir.path(), 128, false);
    let mut from_gguf =
        DecoderChat::load_dir(gguf_dir.path(), "gguf".into(), &Device::Cpu).unwrap();

    let vocab = tiny_vocab();
    let dir = tempfile::tempdir().unwrap();
    let weights: HashMap<String, Tensor> =
        tiny_qwen2_weights(vocab.tokens.len()).into_iter().collect();
    candle_core::safetensors::save(&weights, dir.path().join("model.safetensors")).unwrap();
    let im_end = vocab.tokens.len() - 1;
    let config = serde_json::json!({
        "model_type": "qwen2",
        "vocab_size": vocab.tokens.len(),
        "hidden_size": HIDDEN,
        "intermediate_size": FFN,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS,
        "num_key_value_heads": KV_HEADS,
        "max_position_embeddings": 128,
        "sliding_window": 128,
        "max_window_layers": LAYERS,
        "tie_word_embeddings": true,
        "rope_theta": 10000.0,
        "rms_norm_eps": 1e-6,
        "use_sliding_window": false,
        "hidden_act": "silu",
        "eos_token_id": im_end,
    });
    std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
    from_gguf
        .tokenizer
        .save(dir.path().join("tokenizer.json"), false)
        .unwrap();
    let tokenizer_config = serde_json::json!({
        "chat_template": QWEN25_TEMPLATE,
        "eos_token": "<|im_end|>",
        "bos_token": null,
    });
    std::fs::write(
        dir.path().join("tokenizer_config.json"),
        tokenizer_config.to_string(),
    )
    .unwrap();
    let mut from_safetensors =
        DecoderChat::load_dir(dir.path(), "st".into(), &Device::Cpu).unwrap();
    assert_eq!(from_safetensors.context_length(), 128);
    assert_eq!(from_safetensors.stop_ids(), from_gguf.stop_ids());

    let prompt = from_gguf.render_prompt(&conversation()).unwrap();
    assert_eq!(
        from_safetensors.render_prompt(&conversation()).unwrap(),
        prompt
    );
    let ids = from_gguf.encode(&prompt).unwrap();
    assert_eq!(from_safetensors.encode(&prompt).unwrap(), ids);
    let input = Tensor::new(ids.as_slice(), &Device::Cpu)
        .unwrap()
        .unsqueeze(0)
        .unwrap();
    let a = from_gguf.model.forward(&input, 0).unwrap();
    let b = from_safetensors.model.forward(&input, 0).unwrap();
    let max_diff = (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(max_diff < 1e-3, "logits differ by {max_diff}");
    let reply = from_safetensors.chat(&conversation(), &greedy(5)).unwrap();
    assert_eq!(from_gguf.chat(&conversation(), &greedy(5)).unwrap(), reply);
    // candle's safetensors Qwen2 takes the prompt in chunks too.
    let (whole_logits, whole_ids) = prefill_and_generate(&mut from_safetensors, usize::MAX);
    let (chunked_logits, chunked_ids) = prefill_and_generate(&mut from_safetensors, 3);
    let diff = max_abs_diff(&whole_logits, &chunked_logits);
    assert!(diff < 1e-3, "prompt logits differ by {diff}");
    assert_eq!(chunked_ids, whole_ids);
    from_safetensors.prefill_chunk_tokens = PREFILL_CHUNK_TOKENS;
    // candle's qwen2 keeps appending to its KV cache unless it is cleared
    // between conversations.
    from_safetensors
        .chat(&[ChatMessage::user("Hello world")], &greedy(3))
        .unwrap();
    assert_eq!(
        from_safetensors.chat(&conversation(), &greedy(5)).unwrap(),
        reply
    );
}

/// tests/fixtures/gemma-tokenizer/cases.json, written by
/// scripts/make_gemma_tokenizer_fixture.py from transformers.
fn gguf_tokenizer_fixture() -> Json {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gemma-tokenizer/cases.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The fixture's GGUF metadata with the value types llama.cpp writes.
fn gguf_metadata_from_json(metadata: &Json) -> Vec<(String, gguf_file::Value)> {
    use gguf_file::Value;
    metadata
        .as_object()
        .unwrap()
        .iter()
        .map(|(key, value)| {
            let value = match value {
                Json::String(text) => Value::String(text.clone()),
                Json::Bool(flag) => Value::Bool(*flag),
                Json::Number(id) => Value::U32(id.as_u64().unwrap() as u32),
                Json::Array(items) if key.ends_with(".scores") => Value::Array(
                    items
                        .iter()
                        .map(|v| Value::F32(v.as_f64().unwrap() as f32))
                        .collect(),
                ),
                Json::Array(items) if key.ends_with(".token_type") => Value::Array(
                    items
                        .iter()
                        .map(|v| Value::I32(v.as_i64().unwrap() as i32))
                        .collect(),
                ),
                Json::Array(items) => Value::Array(
                    items
                        .iter()
                        .map(|v| Value::String(v.as_str().unwrap().to_string()))
                        .collect(),
                ),
                other => panic!("unexpected metadata value {other}"),
            };
            (key.clone(), value)
        })
        .collect()
}

#[test]
fn gguf_sentencepiece_tokenizer_matches_transformers() {
    let fixture = gguf_tokenizer_fixture();
    for layout in ["gemma", "llama"] {
        let metadata: HashMap<String, gguf_file::Value> =
            gguf_metadata_from_json(&fixture[layout]["metadata"])
                .into_iter()
                .collect();
        let tokenizer = tokenizer_from_gguf(&metadata).unwrap();
        let cases = fixture[layout]["cases"].as_array().unwrap();
        assert!(cases.len() >= 20);
        for case in cases {
            let text = case["text"].as_str().unwrap();
            let expected: Vec<u32> = serde_json::from_value(case["ids"].clone()).unwrap();
            let ids = tokenizer.encode(text, false).unwrap().get_ids().to_vec();
            assert_eq!(ids, expected, "{layout}: ids of {text:?}");
            assert_eq!(
                tokenizer.decode(&ids, false).unwrap(),
                case["decoded"].as_str().unwrap(),
                "{layout}: decoding {text:?}"
            );
            assert_eq!(
                tokenizer.decode(&ids, true).unwrap(),
                case["decoded_skip_special"].as_str().unwrap(),
                "{layout}: decoding {text:?} without special tokens"
            );
        }
    }
}

/// The fixture's vocabulary cannot tell a respelled whitespace token
/// from one matched whole, so the respelling is checked on its own.
#[test]
fn gemma_whitespace_tokens_are_spelled_with_the_sentencepiece_space() {
    assert_eq!(spell_whitespace_run("  "), "▁▁");
    assert_eq!(spell_whitespace_run("    "), "▁▁▁▁");
    assert_eq!(spell_whitespace_run(" \n"), "▁▁");
    assert_eq!(spell_whitespace_run("\n\n"), "\n\n");
    assert_eq!(spell_whitespace_run(" a"), " a");
    assert_eq!(spell_whitespace_run("▁▁"), "▁▁");
}

#[test]
fn gemma3_template_folds_the_system_turn_like_transformers() {
    let template =
        ChatTemplate::new(GEMMA3_TEMPLATE.into(), "<bos>".into(), "<eos>".into()).unwrap();
    // Rendered by transformers' `render_jinja_template` from the same template.
    assert_eq!(
        template
            .render(&[
                ChatMessage::system("Translate Bengali to English."),
                ChatMessage::user("  আমি ভাত খাই।\n"),
            ])
            .unwrap(),
        "<bos><start_of_turn>user\nTranslate Bengali to English.\n\nআমি ভাত খাই।\
         <end_of_turn>\n<start_of_turn>model\n"
    );
    assert_eq!(
        template
            .render(&[
                ChatMessage::system("S"),
                ChatMessage::user("a"),
                ChatMessage::assistant(" b "),
                ChatMessage::user("c"),
            ])
            .unwrap(),
        "<bos><start_of_turn>user\nS\n\na<end_of_turn>\n<start_of_turn>model\nb<end_of_turn>\n\
         <start_of_turn>user\nc<end_of_turn>\n<start_of_turn>model\n"
    );
    assert!(matches!(
        template.render(&[ChatMessage::user("a"), ChatMessage::user("b")]),
        Err(ChatError::Template(_))
    ));
}

const GEMMA_HEAD_DIM: usize = 8;

/// A tiny Gemma 3 under llama.cpp's tensor names, with the fixture's
/// SentencePiece vocabulary; with Gemma 3's layout (every sixth layer
/// global) both its layers see only the `sliding_window` latest tokens.
fn write_tiny_gemma3_gguf(dir: &Path, context_length: u32, sliding_window: u32) {
    use gguf_file::Value;
    let fixture = gguf_tokenizer_fixture();
    let mut metadata = gguf_metadata_from_json(&fixture["gemma"]["metadata"]);
    let vocab_size = fixture["gemma"]["metadata"]["tokenizer.ggml.tokens"]
        .as_array()
        .unwrap()
        .len();
    let u32_value = |v: usize| Value::U32(v as u32);
    metadata.extend([
        ("gemma3.context_length".into(), Value::U32(context_length)),
        ("gemma3.embedding_length".into(), u32_value(HIDDEN)),
        ("gemma3.block_count".into(), u32_value(LAYERS)),
        ("gemma3.feed_forward_length".into(), u32_value(FFN)),
        ("gemma3.attention.head_count".into(), u32_value(HEADS)),
        ("gemma3.attention.head_count_kv".into(), u32_value(KV_HEADS)),
        (
            "gemma3.attention.key_length".into(),
            u32_value(GEMMA_HEAD_DIM),
        ),
        (
            "gemma3.attention.value_length".into(),
            u32_value(GEMMA_HEAD_DIM),
        ),
        (
            "gemma3.attention.layer_norm_rms_epsilon".into(),
            Value::F32(1e-6),
        ),
        (
            "gemma3.attention.sliding_window".into(),
            Value::U32(sliding_window),
        ),
        ("gemma3.rope.freq_base".into(), Value::F32(1_000_000.0)),
        ("gemma3.rope.local_freq_base".into(), Value::F32(10_000.0)),
        (
            "tokenizer.chat_template".into(),
            Value::String(GEMMA3_TEMPLATE.into()),
        ),
    ]);

    let mut rng = Lcg(20250301);
    let q_dim = HEADS * GEMMA_HEAD_DIM;
    let kv_dim = KV_HEADS * GEMMA_HEAD_DIM;
    let mut tensors = vec![
        (
            "token_embd.weight".to_string(),
            rng.tensor(&[vocab_size, HIDDEN], 0.2),
        ),
        ("output_norm.weight".to_string(), rng.norm(HIDDEN)),
    ];
    for layer in 0..LAYERS {
        let mut add = |name: &str, tensor: Tensor| {
            tensors.push((format!("blk.{layer}.{name}.weight"), tensor))
        };
        add("attn_q", rng.tensor(&[q_dim, HIDDEN], 0.4));
        add("attn_k", rng.tensor(&[kv_dim, HIDDEN], 0.4));
        add("attn_v", rng.tensor(&[kv_dim, HIDDEN], 0.4));
        add("attn_output", rng.tensor(&[HIDDEN, q_dim], 0.4));
        add("attn_q_norm", rng.norm(GEMMA_HEAD_DIM));
        add("attn_k_norm", rng.norm(GEMMA_HEAD_DIM));
        add("attn_norm", rng.norm(HIDDEN));
        add("post_attention_norm", rng.norm(HIDDEN));
        add("ffn_norm", rng.norm(HIDDEN));
        add("post_ffw_norm", rng.norm(HIDDEN));
        add("ffn_gate", rng.tensor(&[FFN, HIDDEN], 0.4));
        add("ffn_up", rng.tensor(&[FFN, HIDDEN], 0.4));
        add("ffn_down", rng.tensor(&[HIDDEN, FFN], 0.2));
    }
    let tensors: Vec<(String, QTensor)> = tensors
        .into_iter()
        .map(|(name, tensor)| {
            let dtype = if tensor.rank() == 1 {
                GgmlDType::F32
            } else {
                GgmlDType::Q8_0
            };
            (name, QTensor::quantize(&tensor, dtype).unwrap())
        })
        .collect();
    let metadata_refs: Vec<(&str, &gguf_file::Value)> =
        metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let tensor_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut file = File::create(dir.join("model.gguf")).unwrap();
    gguf_file::write(&mut file, &metadata_refs, &tensor_refs).unwrap();
}

fn load_tiny_gemma3(context_length: u32, sliding_window: u32) -> (tempfile::TempDir, DecoderChat) {
    let dir = tempfile::tempdir().unwrap();
    write_tiny_gemma3_gguf(dir.path(), context_length, sliding_window);
    let model = DecoderChat::load_dir(dir.path(), "test:tiny-gemma3".into(), &Device::Cpu).unwrap();
    (dir, model)
}

#[test]
fn gemma3_gguf_chats_greedily_with_its_own_tokenizer_and_template() {
    let (_dir, mut model) = load_tiny_gemma3(256, 16);
    assert_eq!(model.context_length(), 256);
    let id = |token: &str| model.tokenizer.token_to_id(token).unwrap();
    assert!(model.stop_ids().contains(&id("<end_of_turn>")));
    assert!(model.stop_ids().contains(&id("<eos>")));
    let prompt = model.render_prompt(&conversation()).unwrap();
    assert!(prompt.starts_with("<bos><start_of_turn>user\nTranslate Bengali to English.\n\n"));
    let ids = model.encode(&prompt).unwrap();
    assert_eq!(ids[..2], [id("<bos>"), id("<start_of_turn>")]);

    let (generated, finish) = model.generate_ids(&conversation(), &greedy(6)).unwrap();
    assert_eq!(finish, Finish::MaxNewTokens);
    assert_eq!(generated.len(), 6);
    let first = model.chat(&conversation(), &greedy(6)).unwrap();
    assert_eq!(
        first.text,
        model.tokenizer.decode(&generated, true).unwrap()
    );
    assert_eq!(first.finish, Finish::MaxNewTokens);
    // A longer conversation in between must leave nothing behind.
    model
        .chat(&[ChatMessage::user("Hello world ".repeat(5))], &greedy(3))
        .unwrap();
    assert_eq!(model.chat(&conversation(), &greedy(6)).unwrap(), first);
    let (fewer, _) = model.generate_ids(&conversation(), &greedy(2)).unwrap();
    assert_eq!(fewer, generated[..2]);
}

/// A conversation whose prompt is about 40 tokens in the tiny models.
fn longer_conversation() -> Vec<ChatMessage> {
    vec![
        ChatMessage::system("s"),
        ChatMessage::user("Hello world Hello world Hello world im im Hello world"),
    ]
}

/// Prompt logits and greedy ids with the prompt fed `chunk` tokens at a time.
fn prefill_and_generate(model: &mut DecoderChat, chunk: usize) -> (Vec<f32>, Vec<u32>) {
    model.prefill_chunk_tokens = chunk;
    let prompt = model.render_prompt(&longer_conversation()).unwrap();
    let ids = model.encode(&prompt).unwrap();
    model.model.clear_kv_cache();
    let logits = model
        .forward_in_chunks(&ids, 0)
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let (generated, _) = model
        .generate_ids(&longer_conversation(), &greedy(8))
        .unwrap();
    (logits, generated)
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn qwen2_prompt_fed_in_chunks_matches_the_prompt_fed_whole() {
    let (_dir, mut model) = load_tiny_gguf(512);
    assert_eq!(model.prefill_chunk_tokens, PREFILL_CHUNK_TOKENS);
    let prompt = model.render_prompt(&longer_conversation()).unwrap();
    let prompt_len = model.encode(&prompt).unwrap().len();
    assert!(
        (30..=60).contains(&prompt_len),
        "{prompt_len} prompt tokens"
    );
    let (whole_logits, whole_ids) = prefill_and_generate(&mut model, usize::MAX);
    let (chunked_logits, chunked_ids) = prefill_and_generate(&mut model, 3);
    let diff = max_abs_diff(&whole_logits, &chunked_logits);
    assert!(diff < 1e-3, "prompt logits differ by {diff}");
    assert_eq!(chunked_ids, whole_ids);
    assert_eq!(whole_ids.len(), 8);
}

#[test]
fn gemma3_prompt_fed_in_chunks_matches_the_prompt_fed_whole() {
    let (_dir, mut model) = load_tiny_gemma3(256, 16);
    let prompt = model.render_prompt(&longer_conversation()).unwrap();
    let prompt_len = model.encode(&prompt).unwrap().len();
    assert!(prompt_len > 2 * 16, "{prompt_len} prompt tokens");
    let (whole_logits, whole_ids) = prefill_and_generate(&mut model, usize::MAX);
    let (chunked_logits, chunked_ids) = prefill_and_generate(&mut model, 3);
    let diff = max_abs_diff(&whole_logits, &chunked_logits);
    assert!(diff < 1e-3, "prompt logits differ by {diff}");
    assert_eq!(chunked_ids, whole_ids);
}

/// What transformers 5.23 computed with a tiny random model:
/// tests/fixtures/chat-reference/<arch>/, made by
/// scripts/make_fixtures_chat.py.
struct Reference {
    prompt_ids: Vec<u32>,
    prompt_logits: Vec<f32>,
    greedy_ids: Vec<u32>,
    last_step_logits: Vec<f32>,
}

fn reference_dir(arch: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/chat-reference")
        .join(arch)
}

fn read_reference(arch: &str, file: &str) -> Reference {
    let text = std::fs::read_to_string(reference_dir(arch).join(file)).unwrap();
    let json: Json = serde_json::from_str(&text).unwrap();
    let ids = |key: &str| serde_json::from_value::<Vec<u32>>(json[key].clone()).unwrap();
    let floats = |key: &str| serde_json::from_value::<Vec<f32>>(json[key].clone()).unwrap();
    Reference {
        prompt_ids: ids("prompt_ids"),
        prompt_logits: floats("prompt_logits"),
        greedy_ids: ids("greedy_ids"),
        last_step_logits: floats("last_step_logits"),
    }
}

/// Runs the reference's prompt (fed `chunk` tokens at a time) and as many
/// greedy steps, and checks logits and ids against transformers'.
fn assert_matches_reference(
    label: &str,
    model: &mut Backbone,
    reference: &Reference,
    chunk: usize,
) {
    let device = Device::Cpu;
    let to_vec = |logits: Tensor| logits.to_vec1::<f32>().unwrap();
    model.clear_kv_cache();
    let mut logits = to_vec(
        model
            .prefill(&reference.prompt_ids, 0, chunk, &device)
            .unwrap(),
    );
    let diff = max_abs_diff(&logits, &reference.prompt_logits);
    assert!(diff < 1e-4, "{label}: prompt logits differ by {diff}");
    let mut generated = Vec::new();
    for position in reference.prompt_ids.len().. {
        if generated.len() == reference.greedy_ids.len() {
            break;
        }
        let next = logits
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(id, _)| id as u32)
            .unwrap();
        generated.push(next);
        logits = to_vec(model.prefill(&[next], position, 1, &device).unwrap());
    }
    assert_eq!(generated, reference.greedy_ids, "{label}: greedy ids");
    let diff = max_abs_diff(&logits, &reference.last_step_logits);
    assert!(diff < 1e-4, "{label}: last step's logits differ by {diff}");
}

const REFERENCE_ARCHITECTURES: [&str; 4] = ["qwen2", "qwen3", "llama", "gemma3"];

#[test]
fn safetensors_models_compute_what_transformers_computes() {
    for arch in REFERENCE_ARCHITECTURES {
        let dir = reference_dir(arch);
        let config = std::fs::read_to_string(dir.join("config.json")).unwrap();
        let shards = [dir.join("model.safetensors")];
        let (mut model, context) =
            Backbone::from_safetensors(&config, &shards, &Device::Cpu).unwrap();
        assert_eq!(context, 256, "{arch}");
        // The Llama fixture carries Llama 3's rope_scaling, which
        // candle's safetensors Llama applies.
        let reference = read_reference(arch, "reference.json");
        for chunk in [usize::MAX, 7] {
            let label = format!("{arch} safetensors, prompt in chunks of {chunk}");
            assert_matches_reference(&label, &mut model, &reference, chunk);
        }
    }
}

/// Writes the reference model to `dir/model.gguf` as llama.cpp's
/// convert_hf_to_gguf.py does, in f32: its tensor names and metadata,
/// Llama's q/k rows permuted for interleaved RoPE, Gemma's norms with
/// their +1 added.
fn write_reference_gguf(arch: &str, dir: &Path) {
    use gguf_file::Value;
    let source = reference_dir(arch);
    let config: Json =
        serde_json::from_str(&std::fs::read_to_string(source.join("config.json")).unwrap())
            .unwrap();
    let uint = |key: &str| config[key].as_u64().unwrap() as u32;
    let heads = uint("num_attention_heads") as usize;
    let kv_heads = uint("num_key_value_heads") as usize;
    let head_dim = config["head_dim"]
        .as_u64()
        .map(|d| d as u32)
        .unwrap_or(uint("hidden_size") / heads as u32);
    let key = |name: &str| format!("{arch}.{name}");
    let mut metadata = vec![
        (
            "general.architecture".to_string(),
            Value::String(arch.into()),
        ),
        (
            key("context_length"),
            Value::U32(uint("max_position_embeddings")),
        ),
        (key("embedding_length"), Value::U32(uint("hidden_size"))),
        (key("block_count"), Value::U32(uint("num_hidden_layers"))),
        (
            key("feed_forward_length"),
            Value::U32(uint("intermediate_size")),
        ),
        (key("attention.head_count"), Value::U32(heads as u32)),
        (key("attention.head_count_kv"), Value::U32(kv_heads as u32)),
        (key("attention.key_length"), Value::U32(head_dim)),
        (key("attention.value_length"), Value::U32(head_dim)),
        (
            key("attention.layer_norm_rms_epsilon"),
            Value::F32(config["rms_norm_eps"].as_f64().unwrap() as f32),
        ),
        (
            key("rope.freq_base"),
            Value::F32(config["rope_theta"].as_f64().unwrap() as f32),
        ),
        (key("rope.dimension_count"), Value::U32(head_dim)),
    ];
    if arch == "gemma3" {
        metadata.push((
            key("attention.sliding_window"),
            Value::U32(uint("sliding_window")),
        ));
    }
    let permute = |tensor: &Tensor, heads: usize| {
        let (rows, cols) = tensor.dims2().unwrap();
        tensor
            .reshape((heads, 2, rows / heads / 2, cols))
            .unwrap()
            .transpose(1, 2)
            .unwrap()
            .contiguous()
            .unwrap()
            .reshape((rows, cols))
            .unwrap()
    };
    let tensors: Vec<(String, QTensor)> =
        candle_core::safetensors::load(source.join("model.safetensors"), &Device::Cpu)
            .unwrap()
            .into_iter()
            .map(|(name, tensor)| {
                let tensor = match arch {
                    "llama" if name.ends_with("q_proj.weight") => permute(&tensor, heads),
                    "llama" if name.ends_with("k_proj.weight") => permute(&tensor, kv_heads),
                    "gemma3" if name.ends_with("norm.weight") => (tensor + 1.0).unwrap(),
                    _ => tensor,
                };
                let qtensor = QTensor::quantize(&tensor, GgmlDType::F32).unwrap();
                (gguf_name(arch, &name), qtensor)
            })
            .collect();
    let metadata_refs: Vec<(&str, &Value)> =
        metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let tensor_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut file = File::create(dir.join("model.gguf")).unwrap();
    gguf_file::write(&mut file, &metadata_refs, &tensor_refs).unwrap();
}

#[test]
fn gguf_models_compute_what_transformers_computes() {
    for arch in REFERENCE_ARCHITECTURES {
        let dir = tempfile::tempdir().unwrap();
        write_reference_gguf(arch, dir.path());
        let path = dir.path().join("model.gguf");
        let mut file = File::open(&path).unwrap();
        let content = gguf_file::Content::read(&mut file).unwrap();
        let (mut model, _) = Backbone::from_gguf(&path, content, &mut file, &Device::Cpu).unwrap();
        // candle's GGUF Llama ignores the rope_freqs tensor that carries
        // Llama 3's RoPE scaling, so it is checked without the scaling.
        let reference_file = if arch == "llama" {
            "reference-unscaled.json"
        } else {
            "reference.json"
        };
        let reference = read_reference(arch, reference_file);
        for chunk in [usize::MAX, 7] {
            let label = format!("{arch} GGUF, prompt in chunks of {chunk}");
            assert_matches_reference(&label, &mut model, &reference, chunk);
        }
    }
}

#[test]
fn safetensors_llama_missing_a_tensor_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let source = reference_dir("llama");
    let mut tensors =
        candle_core::safetensors::load(source.join("model.safetensors"), &Device::Cpu).unwrap();
    tensors.remove("model.layers.1.mlp.up_proj.weight");
    let shard = dir.path().join("model.safetensors");
    candle_core::safetensors::save(&tensors, &shard).unwrap();
    let config = std::fs::read_to_string(source.join("config.json")).unwrap();
    let err = Backbone::from_safetensors(&config, &[shard], &Device::Cpu)
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("model.layers.1.mlp.up_proj.weight"),
        "{err}"
    );
}

#[test]
fn unsupported_safetensors_model_types_are_named() {
    let dir = reference_dir("qwen2");
    let shards = [dir.join("model.safetensors")];
    for (model_type, expected) in [
        ("mistral", "\"mistral\" is not supported"),
        ("gemma3", "vision tower"),
    ] {
        let config = serde_json::json!({ "model_type": model_type }).to_string();
        let err = Backbone::from_safetensors(&config, &shards, &Device::Cpu)
            .err()
            .unwrap();
        assert!(err.to_string().contains(expected), "{err}");
    }
}
