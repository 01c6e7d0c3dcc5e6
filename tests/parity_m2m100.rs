//! Parity with transformers for NLLB-200 (M2M100): the committed fixture
//! `tests/fixtures/nllb-tiny` (a tiny model with NLLB's config flags, trained
//! by `scripts/make_fixtures_m2m100.py`) carries the token ids, text and
//! logits that transformers' `NllbTokenizer` and
//! `M2M100ForConditionalGeneration.generate()` produced. Loading the same
//! files through the public API must give exactly the same.

use std::path::{Path, PathBuf};

use anubad::generate::{generate, GenerationConfig, GenerationOverrides};
use anubad::hf_tokenizer::HfTokenizer;
use anubad::resolve::{resolve, ResolveOptions, TokenizerFiles};
use anubad::seq2seq::m2m100::{M2M100Config, M2M100};
use anubad::seq2seq::EncoderDecoder;
use anubad::weights::{Quantization, Weights};
use candle_core::{DType, Device};
use serde_json::Value;

const SOURCE_LANGUAGE: &str = "ben_Beng";
const TARGET_LANGUAGE: &str = "eng_Latn";

fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn expected() -> Value {
    let path = fixture_dir("nllb-tiny").join("expected.json");
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture present"))
        .expect("fixture is JSON")
}

fn u32s(value: &Value) -> Vec<u32> {
    value
        .as_array()
        .expect("array of ids")
        .iter()
        .map(|v| v.as_u64().expect("id") as u32)
        .collect()
}

/// What a user of `--model DIR` gets: model, tokenizer for Bengali input,
/// and the generation settings of the directory.
struct Loaded {
    model: M2M100,
    tokenizer: HfTokenizer,
    generation: GenerationConfig,
}

fn load(dir: &Path, dtype: DType, quantize: Option<Quantization>) -> Loaded {
    let resolved = resolve(
        dir.to_str().expect("UTF-8 path"),
        &ResolveOptions::default(),
    )
    .expect("fixture directory resolves");
    let layout = resolved.layout;
    let config: M2M100Config =
        serde_json::from_str(&std::fs::read_to_string(&layout.config).unwrap()).unwrap();
    let weights = Weights::open(&layout.weights, dtype, &Device::Cpu, quantize).unwrap();
    let model = M2M100::load(config, weights).expect("fixture model loads");
    let TokenizerFiles::TokenizerJson(tokenizer_path) = &layout.tokenizer else {
        panic!("NLLB fixture resolves to a tokenizer.json");
    };
    let tokenizer = HfTokenizer::from_file(tokenizer_path)
        .unwrap()
        .with_source_language(SOURCE_LANGUAGE)
        .unwrap();
    let mut generation =
        GenerationConfig::from_files(&layout.config, layout.generation_config.as_deref()).unwrap();
    // As a user calls generate(): the hub's generation_config.json does not
    // force the target language.
    generation.forced_bos_token_id = tokenizer.token_id(TARGET_LANGUAGE);
    Loaded {
        model,
        tokenizer,
        generation,
    }
}

fn configured(base: &GenerationConfig, settings: &Value) -> GenerationConfig {
    let int = |k: &str| settings.get(k).and_then(Value::as_u64).map(|v| v as usize);
    let mut config = base.clone();
    config.apply(&GenerationOverrides {
        num_beams: int("num_beams"),
        max_length: int("max_length"),
        no_repeat_ngram_size: int("no_repeat_ngram_size"),
        repetition_penalty: settings
            .get("repetition_penalty")
            .and_then(Value::as_f64)
            .map(|v| v as f32),
        ..GenerationOverrides::default()
    });
    assert_eq!(
        config.forced_bos_token_id,
        int("forced_bos_token_id").map(|v| v as u32),
        "the fixture forced the same target language"
    );
    config
}

/// Runs every generation setting of the fixture, each as one padded batch,
/// and returns (setting name, source, expected ids, got ids, expected text,
/// got text) per case.
#[allow(clippy::type_complexity)]
fn run_all(loaded: &Loaded) -> Vec<(String, String, Vec<u32>, Vec<u32>, String, String)> {
    let expected = expected();
    let mut results = Vec::new();
    for setting in expected["generation"].as_array().expect("generation list") {
        let name = setting["name"].as_str().unwrap().to_string();
        let config = configured(&loaded.generation, &setting["settings"]);
        let cases = setting["cases"].as_array().expect("cases");
        let sources: Vec<Vec<u32>> = cases
            .iter()
            .map(|c| {
                let source = c["source"].as_str().unwrap();
                let ids = loaded.tokenizer.encode(source).unwrap();
                assert_eq!(
                    ids,
                    u32s(&c["input_ids"]),
                    "{name}: input ids of {source:?}"
                );
                ids
            })
            .collect();
        let outputs = generate(&loaded.model, &sources, &config).expect("generation runs");
        for (case, got) in cases.iter().zip(outputs) {
            let text = loaded.tokenizer.decode(&got).unwrap();
            results.push((
                name.clone(),
                case["source"].as_str().unwrap().to_string(),
                u32s(&case["output_ids"]),
                got,
                case["text"].as_str().unwrap().to_string(),
                text,
            ));
        }
    }
    results
}

fn assert_all_equal(dir: &Path) {
    let loaded = load(dir, DType::F32, None);
    let results = run_all(&loaded);
    let per_setting = |name: &str| results.iter().filter(|r| r.0 == name).count();
    assert!(per_setting("greedy") >= 20 && per_setting("beam4") >= 20);
    let mismatches: Vec<String> = results
        .iter()
        .filter(|(_, _, want, got, want_text, text)| want != got || want_text != text)
        .map(|(name, source, want, got, want_text, text)| {
            format!("{name}: {source:?}\n  want {want:?} {want_text:?}\n  got  {got:?} {text:?}")
        })
        .collect();
    assert!(
        mismatches.is_empty(),
        "{} of {} cases differ from transformers:\n{}",
        mismatches.len(),
        results.len(),
        mismatches.join("\n")
    );
}

#[test]
fn generation_matches_transformers_greedy_and_beam() {
    assert_all_equal(&fixture_dir("nllb-tiny"));
}

#[test]
fn sharded_weights_give_the_same_tokens() {
    assert_all_equal(&fixture_dir("nllb-tiny-sharded"));
}

#[test]
fn tokenizer_matches_nllb_tokenizer() {
    let expected = expected();
    let loaded = load(&fixture_dir("nllb-tiny"), DType::F32, None);
    let tokenizer = &loaded.tokenizer;
    let special = &expected["special_ids"];
    for (token, key) in [
        (SOURCE_LANGUAGE, "ben_Beng"),
        (TARGET_LANGUAGE, "eng_Latn"),
        ("<mask>", "mask"),
        ("</s>", "eos"),
        ("<pad>", "pad"),
    ] {
        assert_eq!(
            tokenizer.token_id(token).map(u64::from),
            special[key].as_u64(),
            "{token}"
        );
    }
    assert_eq!(
        loaded.model.vocab_size() as u64,
        special["vocab_size"].as_u64().unwrap()
    );
    let cases = expected["tokenizer"].as_array().unwrap();
    assert!(cases.len() > 30);
    for case in cases {
        let text = case["text"].as_str().unwrap();
        assert_eq!(
            tokenizer.encode(text).unwrap(),
            u32s(&case["input_ids"]),
            "encoding {text:?}"
        );
    }
    for case in expected["detokenizer"].as_array().unwrap() {
        let ids = u32s(&case["ids"]);
        assert_eq!(
            tokenizer.decode(&ids).unwrap(),
            case["text"].as_str().unwrap(),
            "decoding {ids:?}"
        );
    }
}

#[test]
fn first_decoding_steps_match_transformers_logits() {
    let expected = expected();
    let loaded = load(&fixture_dir("nllb-tiny"), DType::F32, None);
    let cases = expected["logits"].as_array().expect("logits list");
    assert!(!cases.is_empty());
    for case in cases {
        let source = case["source"].as_str().unwrap();
        let input_ids = u32s(&case["input_ids"]);
        let decoder_input = u32s(&case["decoder_input_ids"]);
        let mut session = loaded.model.start(&[input_ids], 1).unwrap();
        for (step, (token, want)) in decoder_input
            .iter()
            .zip(case["logits"].as_array().unwrap())
            .enumerate()
        {
            let got = session
                .step(&[vec![*token]])
                .unwrap()
                .to_vec2::<f32>()
                .unwrap();
            let want: Vec<f32> = want
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            assert_eq!(got[0].len(), want.len());
            let worst = got[0]
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(
                worst < 1e-4,
                "{source:?} step {step}: logits differ by {worst}"
            );
        }
    }
}

/// Share of cases whose tokens equal transformers' f32 output.
fn agreement(loaded: &Loaded) -> (usize, usize) {
    let results = run_all(loaded);
    let eng = loaded.tokenizer.token_id(TARGET_LANGUAGE).unwrap();
    for (name, source, _, got, _, _) in &results {
        assert!(
            got.len() >= 2 && got[..2] == [2, eng],
            "{name}: {source:?} starts {got:?}"
        );
    }
    let same = results.iter().filter(|r| r.2 == r.3).count();
    (same, results.len())
}

#[test]
fn bf16_weights_run_and_report_agreement() {
    let loaded = load(&fixture_dir("nllb-tiny"), DType::BF16, None);
    let (same, total) = agreement(&loaded);
    eprintln!(
        "bf16: {same}/{total} cases ({:.0}%) give transformers' f32 tokens",
        100.0 * same as f64 / total as f64
    );
}

#[test]
fn q8_0_quantization_runs_and_reports_agreement() {
    let loaded = load(
        &fixture_dir("nllb-tiny"),
        DType::F32,
        Some(Quantization::Q8_0),
    );
    let (same, total) = agreement(&loaded);
    eprintln!(
        "q8_0: {same}/{total} cases ({:.0}%) give transformers' f32 tokens",
        100.0 * same as f64 / total as f64
    );
}
