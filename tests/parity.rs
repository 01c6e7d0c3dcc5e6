//! Parity with transformers: the committed fixture `tests/fixtures/marian-tiny`
//! (a small Marian model trained by `scripts/make_fixtures.py`) carries the
//! token ids and text that transformers' `MarianTokenizer` and `generate()`
//! produced. The same directory loaded here must give exactly the same.

use std::path::{Path, PathBuf};

use anubad::generate::{EarlyStopping, GenerationOverrides};
use anubad::marian_tokenizer::MarianTokenizer;
use anubad::translator::{LoadOptions, Translator};
use candle_core::Device;
use serde_json::Value;

fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Loads a fixture directory the way `--model DIR` does.
fn load(dir: &Path, overrides: &GenerationOverrides) -> Translator {
    let resolved = anubad::resolve::resolve(
        dir.to_str().expect("UTF-8 path"),
        &anubad::resolve::ResolveOptions::default(),
    )
    .expect("fixture directory resolves");
    let options = LoadOptions {
        device: Device::Cpu,
        overrides: overrides.clone(),
        ..LoadOptions::default()
    };
    Translator::load(&resolved, &options).expect("fixture model loads")
}

fn expected() -> Value {
    let path = fixture_dir("marian-tiny").join("expected.json");
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

fn overrides(settings: &Value) -> (GenerationOverrides, Option<EarlyStopping>) {
    let int = |k: &str| settings.get(k).and_then(Value::as_u64).map(|v| v as usize);
    let early = match settings.get("early_stopping") {
        Some(Value::Bool(true)) => Some(EarlyStopping::Finish),
        Some(Value::Bool(false)) => Some(EarlyStopping::Heuristic),
        Some(Value::String(s)) if s == "never" => Some(EarlyStopping::Never),
        _ => None,
    };
    (
        GenerationOverrides {
            num_beams: int("num_beams"),
            max_length: int("max_length"),
            no_repeat_ngram_size: int("no_repeat_ngram_size"),
            repetition_penalty: settings
                .get("repetition_penalty")
                .and_then(Value::as_f64)
                .map(|v| v as f32),
            length_penalty: settings
                .get("length_penalty")
                .and_then(Value::as_f64)
                .map(|v| v as f32),
            early_stopping: early,
        },
        early,
    )
}

fn check_generation(model_dir: &Path) {
    let expected = expected();
    let mut mismatches = Vec::new();
    let mut total = 0;
    for setting in expected["generation"].as_array().expect("generation list") {
        let name = setting["name"].as_str().unwrap_or("?");
        let (overrides, _) = overrides(&setting["settings"]);
        let translator = load(model_dir, &overrides);
        let cases = setting["cases"].as_array().expect("cases");
        let sources: Vec<String> = cases
            .iter()
            .map(|c| c["source"].as_str().unwrap().to_string())
            .collect();
        for (case, source) in cases.iter().zip(&sources) {
            assert_eq!(
                translator.encode(source).unwrap(),
                u32s(&case["input_ids"]),
                "{name}: input ids of {source:?}"
            );
        }
        // The whole setting in one batch: padding must not change anything.
        let generated = translator.generate_ids(&sources).expect("generation runs");
        let texts = translator
            .translate_encoded(
                &sources
                    .iter()
                    .map(|s| translator.encode(s).unwrap())
                    .collect::<Vec<_>>(),
            )
            .unwrap();
        for ((case, ids), (text, _)) in cases.iter().zip(&generated).zip(&texts) {
            total += 1;
            let want = u32s(&case["output_ids"]);
            if ids != &want || text != case["text"].as_str().unwrap() {
                mismatches.push(format!(
                    "{name}: {:?}\n  want {want:?} {:?}\n  got  {ids:?} {text:?}",
                    case["source"], case["text"]
                ));
            }
        }
    }
    assert!(total >= 20, "fixture has too few cases ({total})");
    assert!(
        mismatches.is_empty(),
        "{} of {total} cases differ from transformers:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn generation_matches_transformers_greedy_and_beam() {
    check_generation(&fixture_dir("marian-tiny"));
}

#[test]
fn pytorch_bin_weights_give_the_same_tokens() {
    check_generation(&fixture_dir("marian-tiny-pth"));
}

#[test]
fn first_decoding_steps_match_transformers_logits() {
    let expected = expected();
    let translator = load(&fixture_dir("marian-tiny"), &GenerationOverrides::default());
    let cases = expected["logits"].as_array().expect("logits list");
    assert!(!cases.is_empty());
    for case in cases {
        let source = case["source"].as_str().unwrap();
        let decoder_input = u32s(&case["decoder_input_ids"]);
        let want: Vec<Vec<f32>> = case["logits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                row.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap() as f32)
                    .collect()
            })
            .collect();
        let got = translator
            .teacher_forced_logits(source, &decoder_input[..want.len()])
            .unwrap();
        for (step, (g, w)) in got.iter().zip(&want).enumerate() {
            let worst = g
                .iter()
                .zip(w)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(
                worst < 1e-4,
                "{source:?} step {step}: logits differ by {worst}"
            );
        }
    }
}

#[test]
fn tokenizer_matches_marian_tokenizer() {
    let dir = fixture_dir("marian-tiny");
    let tokenizer = MarianTokenizer::from_files(
        &dir.join("source.spm"),
        &dir.join("target.spm"),
        &dir.join("vocab.json"),
    )
    .unwrap();
    let expected = expected();
    for case in expected["tokenizer"].as_array().unwrap() {
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
