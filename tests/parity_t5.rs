//! Parity with transformers for the T5 family: the committed fixture
//! `tests/fixtures/t5-tiny` (a small T5 v1.1 model trained by
//! `scripts/make_fixtures_t5.py`, laid out like BanglaT5's repo) carries the
//! token ids, text and logits that transformers' `T5ForConditionalGeneration`
//! produced on text passed through BanglaT5's normalizer. Loaded through the
//! same path `--model DIR` takes, it must give exactly the same. Quantized
//! and half-precision variants cannot be exact; their agreement with the f32
//! reference is measured and held above a floor.

#[path = "support/parity.rs"]
mod parity;

use anubad::models::gguf_export::export_model_dir;
use anubad::models::weights::Quantization;
use anubad::models::{resolve, ResolveOptions};
use anubad::nmt::t5::relative_position_bucket;
use anubad::nmt::translator::{LoadOptions, Precision};
use candle_core::quantized::GgmlDType;
use parity::{
    assert_generation_matches, assert_logits_match, expected, fixture_dir, generation_agreement,
    u32s,
};

/// Share of sentences a Q8_0 GGUF export must translate to exactly the
/// reference tokens. The tiny fixture's decisions are often close calls
/// (greedy top-2 margins down to ~0.01), far more fragile than a real model's.
const GGUF_Q8_0_MIN_AGREEMENT: f64 = 0.6;
/// The same floor for `--quantize q8_0` on the dense weights and for bf16.
const LOSSY_MIN_AGREEMENT: f64 = 0.4;
/// The settings the agreement rates are quoted on.
const GREEDY_AND_BEAM: &[&str] = &["greedy", "beam4"];

#[test]
fn generation_matches_transformers_greedy_and_beam() {
    assert_generation_matches(&fixture_dir("t5-tiny"), &expected("t5-tiny"));
}

#[test]
fn first_decoding_steps_match_transformers_logits() {
    assert_logits_match(&fixture_dir("t5-tiny"), &expected("t5-tiny"));
}

#[test]
fn relative_position_buckets_match_transformers() {
    let expected = expected("t5-tiny");
    let tables = expected["relative_position_buckets"]
        .as_array()
        .expect("tables");
    assert_eq!(tables.len(), 4);
    for table in tables {
        let bidirectional = table["bidirectional"].as_bool().unwrap();
        let buckets = table["num_buckets"].as_u64().unwrap() as usize;
        let distance = table["max_distance"].as_u64().unwrap() as usize;
        let first = table["first_relative_position"].as_i64().unwrap();
        for (i, want) in u32s(&table["buckets"]).into_iter().enumerate() {
            let relative = first + i as i64;
            assert_eq!(
                relative_position_bucket(relative, bidirectional, buckets, distance),
                want,
                "relative position {relative}, bidirectional {bidirectional}, \
                 {buckets} buckets, max distance {distance}"
            );
        }
    }
}

#[test]
fn q8_0_gguf_export_mostly_agrees_with_transformers() {
    let dir = tempfile::tempdir().unwrap();
    let resolved = resolve(
        fixture_dir("t5-tiny").to_str().unwrap(),
        &ResolveOptions::default(),
    )
    .unwrap();
    let export = export_model_dir(&resolved, "t5", GgmlDType::Q8_0, dir.path()).expect("export");
    eprintln!("{export:?}");
    assert!(export.quantized > 0 && export.kept_f32 > 0);
    assert!(export.output_bytes < export.input_bytes);
    let result = generation_agreement(
        dir.path(),
        &expected("t5-tiny"),
        &LoadOptions::default(),
        GREEDY_AND_BEAM,
    );
    result.report("GGUF Q8_0");
    assert!(
        result.rate() >= GGUF_Q8_0_MIN_AGREEMENT,
        "GGUF Q8_0 agreement {:.3} below {GGUF_Q8_0_MIN_AGREEMENT}:\n{}",
        result.rate(),
        result.mismatches.join("\n")
    );
}

#[test]
fn quantize_flag_and_half_precision_mostly_agree() {
    let variants = [
        ("--quantize q8_0", Precision::F32, Some(Quantization::Q8_0)),
        ("--quantize int8", Precision::F32, Some(Quantization::Int8)),
        ("bf16", Precision::Bf16, None),
        ("f16", Precision::F16, None),
    ];
    for (label, precision, quantize) in variants {
        let options = LoadOptions {
            precision,
            quantize,
            ..LoadOptions::default()
        };
        let result = generation_agreement(
            &fixture_dir("t5-tiny"),
            &expected("t5-tiny"),
            &options,
            GREEDY_AND_BEAM,
        );
        result.report(label);
        assert!(
            result.rate() >= LOSSY_MIN_AGREEMENT,
            "{label} agreement {:.3} below {LOSSY_MIN_AGREEMENT}:\n{}",
            result.rate(),
            result.mismatches.join("\n")
        );
    }
}
