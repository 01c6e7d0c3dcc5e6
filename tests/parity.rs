//! Parity with transformers for Marian (opus-mt): the committed fixture
//! `tests/fixtures/marian-tiny` (a small Marian model trained by
//! `scripts/make_fixtures.py`) carries the token ids, text and logits that
//! transformers' `MarianTokenizer` and `generate()` produced. The same
//! directory loaded here must give exactly the same.

#[path = "support/parity.rs"]
mod parity;

use anubad::tokenize::marian::MarianTokenizer;
use parity::{assert_generation_matches, assert_logits_match, expected, fixture_dir, u32s};

#[test]
fn generation_matches_transformers_greedy_and_beam() {
    assert_generation_matches(&fixture_dir("marian-tiny"), &expected("marian-tiny"));
}

/// `marian-tiny-pth` holds only the pickled weights; the tokenizer and
/// config files are `marian-tiny`'s, so the test lays out a directory the way
/// an old opus-mt repo ships it: the same files with `pytorch_model.bin`.
#[test]
fn pytorch_bin_weights_give_the_same_tokens() {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixture_dir("marian-tiny")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        if name != "model.safetensors" && name != "expected.json" {
            std::fs::copy(&path, dir.path().join(name)).unwrap();
        }
    }
    std::fs::copy(
        fixture_dir("marian-tiny-pth").join("pytorch_model.bin"),
        dir.path().join("pytorch_model.bin"),
    )
    .unwrap();
    assert_generation_matches(dir.path(), &expected("marian-tiny"));
}

#[test]
fn first_decoding_steps_match_transformers_logits() {
    assert_logits_match(&fixture_dir("marian-tiny"), &expected("marian-tiny"));
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
    let expected = expected("marian-tiny");
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
