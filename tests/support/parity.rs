//! What the parity tests share. Each fixture directory under tests/fixtures
//! carries in `expected.json` what transformers produced with it; these
//! helpers load the directory through the public `Translator` API, exactly
//! as `--model DIR` does, and compare.

#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};

use anubad::nmt::generate::{EarlyStopping, GenerationOverrides};
use anubad::nmt::translator::{LoadOptions, Translator};
use serde_json::Value;

pub fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn expected(fixture: &str) -> Value {
    let path = fixture_dir(fixture).join("expected.json");
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture present"))
        .expect("fixture is JSON")
}

pub fn u32s(value: &Value) -> Vec<u32> {
    value
        .as_array()
        .expect("array of ids")
        .iter()
        .map(|v| v.as_u64().expect("id") as u32)
        .collect()
}

/// The `generate()` keyword arguments of a recorded setting, as flags.
pub fn overrides(settings: &Value) -> GenerationOverrides {
    let int = |k: &str| settings.get(k).and_then(Value::as_u64).map(|v| v as usize);
    let float = |k: &str| settings.get(k).and_then(Value::as_f64).map(|v| v as f32);
    GenerationOverrides {
        num_beams: int("num_beams"),
        max_length: int("max_length"),
        no_repeat_ngram_size: int("no_repeat_ngram_size"),
        repetition_penalty: float("repetition_penalty"),
        length_penalty: float("length_penalty"),
        early_stopping: match settings.get("early_stopping") {
            Some(Value::Bool(true)) => Some(EarlyStopping::Finish),
            Some(Value::Bool(false)) => Some(EarlyStopping::Heuristic),
            Some(Value::String(s)) if s == "never" => Some(EarlyStopping::Never),
            _ => None,
        },
    }
}

/// Loads a fixture directory the way `--model DIR` does.
pub fn load(dir: &Path, options: &LoadOptions) -> Translator {
    let resolved = anubad::models::resolve(
        dir.to_str().expect("UTF-8 path"),
        &anubad::models::ResolveOptions::default(),
    )
    .expect("fixture directory resolves");
    Translator::load(&resolved, options).expect("fixture model loads")
}

/// How many recorded sentences came out token- and text-identical.
pub struct Agreement {
    pub same: usize,
    pub total: usize,
    pub mismatches: Vec<String>,
}

impl Agreement {
    pub fn rate(&self) -> f64 {
        self.same as f64 / self.total.max(1) as f64
    }

    pub fn report(&self, label: &str) {
        eprintln!(
            "{label}: {}/{} sentences ({:.1}%) identical to transformers f32",
            self.same,
            self.total,
            100.0 * self.rate()
        );
    }
}

/// Runs the recorded generation settings named in `settings` (all when
/// empty), each as one padded batch, on the model in `dir` loaded with
/// `base` (precision, quantization) plus the setting's flags. Input ids must
/// match exactly whatever the precision: tokenization does not depend on it.
pub fn generation_agreement(
    dir: &Path,
    expected: &Value,
    base: &LoadOptions,
    settings: &[&str],
) -> Agreement {
    let mut result = Agreement {
        same: 0,
        total: 0,
        mismatches: Vec::new(),
    };
    for setting in expected["generation"].as_array().expect("generation list") {
        let name = setting["name"].as_str().unwrap_or("?");
        if !settings.is_empty() && !settings.contains(&name) {
            continue;
        }
        let options = LoadOptions {
            overrides: overrides(&setting["settings"]),
            ..base.clone()
        };
        let translator = load(dir, &options);
        let cases = setting["cases"].as_array().expect("cases");
        let sources: Vec<Vec<u32>> = cases
            .iter()
            .map(|case| {
                let source = case["source"].as_str().unwrap();
                let ids = translator.encode(source).unwrap();
                assert_eq!(
                    ids,
                    u32s(&case["input_ids"]),
                    "{name}: input ids of {source:?}"
                );
                ids
            })
            .collect();
        let texts = translator
            .translate_encoded(&sources)
            .expect("generation runs");
        let generated = translator
            .generate_encoded(&sources)
            .expect("generation runs");
        for ((case, ids), (text, _)) in cases.iter().zip(&generated).zip(&texts) {
            result.total += 1;
            let want = u32s(&case["output_ids"]);
            if ids == &want && text == case["text"].as_str().unwrap() {
                result.same += 1;
            } else {
                result.mismatches.push(format!(
                    "{name}: {:?}\n  want {want:?} {:?}\n  got  {ids:?} {text:?}",
                    case["source"], case["text"]
                ));
            }
        }
    }
    result
}

/// Every recorded case of every setting, in f32, must be identical.
pub fn assert_generation_matches(dir: &Path, expected: &Value) {
    let result = generation_agreement(dir, expected, &LoadOptions::default(), &[]);
    assert!(
        result.total >= 40,
        "fixture has too few cases ({})",
        result.total
    );
    assert!(
        result.mismatches.is_empty(),
        "{} of {} cases differ from transformers:\n{}",
        result.mismatches.len(),
        result.total,
        result.mismatches.join("\n")
    );
}

/// Logits of the first decoding steps, fed one token at a time through the
/// cache the search uses, within 1e-4 of transformers' (teacher forcing).
pub fn assert_logits_match(dir: &Path, expected: &Value) {
    let translator = load(dir, &LoadOptions::default());
    let cases = expected["logits"].as_array().expect("logits list");
    assert!(!cases.is_empty());
    for case in cases {
        let source = &case["source"];
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
            .teacher_forced_logits(&u32s(&case["input_ids"]), &decoder_input[..want.len()])
            .unwrap();
        assert_eq!(got.len(), want.len());
        for (step, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g.len(), w.len(), "vocabulary size");
            let worst = g
                .iter()
                .zip(w)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(
                worst < 1e-4,
                "{source} step {step}: logits differ by {worst}"
            );
        }
    }
}
