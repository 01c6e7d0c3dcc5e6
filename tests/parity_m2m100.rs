//! Parity with transformers for NLLB-200 (M2M100): the committed fixture
//! `tests/fixtures/nllb-tiny` (a tiny model with NLLB's config flags, trained
//! by `scripts/make_fixtures_m2m100.py`) carries the token ids, text and
//! logits that transformers' `NllbTokenizer` and
//! `M2M100ForConditionalGeneration.generate()` produced. Loading the same
//! files through the public API must give exactly the same.

#[path = "support/parity.rs"]
mod parity;

use anubad::models::weights::Quantization;
use anubad::nmt::translator::{LoadOptions, Precision};
use anubad::tokenize::hf::HfTokenizer;
use parity::{
    assert_generation_matches, assert_logits_match, expected, fixture_dir, generation_agreement,
    u32s,
};

const SOURCE_LANGUAGE: &str = "ben_Beng";
const TARGET_LANGUAGE: &str = "eng_Latn";

#[test]
fn generation_matches_transformers_greedy_and_beam() {
    assert_generation_matches(&fixture_dir("nllb-tiny"), &expected("nllb-tiny"));
}

#[test]
fn sharded_weights_give_the_same_tokens() {
    assert_generation_matches(&fixture_dir("nllb-tiny-sharded"), &expected("nllb-tiny"));
}

#[test]
fn first_decoding_steps_match_transformers_logits() {
    assert_logits_match(&fixture_dir("nllb-tiny"), &expected("nllb-tiny"));
}

#[test]
fn tokenizer_matches_nllb_tokenizer() {
    let expected = expected("nllb-tiny");
    let tokenizer = HfTokenizer::from_file(&fixture_dir("nllb-tiny").join("tokenizer.json"))
        .unwrap()
        .with_source_language(SOURCE_LANGUAGE)
        .unwrap();
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

/// Reduced precision and Q8_0 run end to end; how often they keep
/// transformers' f32 tokens is printed for the record (the tiny model's
/// choices are close calls, so the rate says little about real NLLB).
#[test]
fn bf16_q8_0_and_int8_run_and_report_agreement() {
    for (label, options) in [
        (
            "bf16",
            LoadOptions {
                precision: Precision::Bf16,
                ..LoadOptions::default()
            },
        ),
        (
            "q8_0",
            LoadOptions {
                quantize: Some(Quantization::Q8_0),
                ..LoadOptions::default()
            },
        ),
        (
            "int8",
            LoadOptions {
                quantize: Some(Quantization::Int8),
                ..LoadOptions::default()
            },
        ),
    ] {
        let result = generation_agreement(
            &fixture_dir("nllb-tiny"),
            &expected("nllb-tiny"),
            &options,
            &[],
        );
        result.report(label);
        assert!(result.total >= 40);
        assert!(result.rate() >= 0.4, "{label}: {:.2}", result.rate());
    }
}
