//! sacreBLEU's signature strings (`nrefs:1|case:mixed|eff:no|tok:13a|
//! smooth:exp|version:…`), which say how a score was computed. The
//! `version` field names anubad and the sacreBLEU release it reproduces
//! (`anubad-0.1.0+sacrebleu-2.6.0`), so a score from here is never passed
//! off as one sacreBLEU printed.

use super::bleu::Bleu;
use super::chrf::Chrf;

/// The sacreBLEU release whose scores this module reproduces, and which
/// `scripts/make_sacrebleu_fixture.py` pins.
pub const SACREBLEU_VERSION: &str = "2.6.0";

/// The `version` field of every signature.
pub fn version() -> String {
    format!(
        "anubad-{}+sacrebleu-{SACREBLEU_VERSION}",
        env!("CARGO_PKG_VERSION")
    )
}

/// sacreBLEU writes `var` when sentences have different numbers of
/// references; here every sentence has all of them.
fn fields(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(key, value)| format!("{key}:{value}"))
        .collect::<Vec<_>>()
        .join("|")
}

pub fn bleu_signature(bleu: &Bleu, references: usize) -> String {
    fields(&[
        ("nrefs", references.to_string()),
        ("case", "mixed".into()),
        (
            "eff",
            if bleu.effective_order { "yes" } else { "no" }.into(),
        ),
        ("tok", bleu.tokenizer.name().into()),
        ("smooth", "exp".into()),
        ("version", version()),
    ])
}

pub fn chrf_signature(chrf: &Chrf, references: usize) -> String {
    fields(&[
        ("nrefs", references.to_string()),
        ("case", "mixed".into()),
        // sacreBLEU's "eff": effective-order averaging rather than epsilon
        // smoothing, the only mode here.
        ("eff", "yes".into()),
        ("nc", chrf.char_order.to_string()),
        ("nw", chrf.word_order.to_string()),
        ("space", if chrf.whitespace { "yes" } else { "no" }.into()),
        ("version", version()),
    ])
}
