//! Scoring translations against references: sacreBLEU's BLEU, chrF and
//! chrF++ reproduced exactly (every score of
//! `tests/fixtures/sacrebleu/cases.json` to 1e-9), with their signatures;
//! the evaluation sets they are computed on ([`sets`]); and how closely a
//! quantized or reduced-precision run agrees with f32 ([`agreement`]).
//!
//! Scores are unrounded, 0 to 100; sacreBLEU rounds only when printing.

pub mod agreement;
pub mod bleu;
pub mod chrf;
pub mod numbers;
pub mod sets;
pub mod signature;
pub mod tokenize;

use serde::Serialize;

pub use bleu::{Bleu, BleuScore, BleuStats};
pub use chrf::Chrf;
pub use signature::{bleu_signature, chrf_signature, SACREBLEU_VERSION};
pub use tokenize::BleuTokenizer;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MetricError {
    #[error("nothing to score: no hypotheses")]
    Empty,
    #[error("nothing to score against: no references")]
    NoReferences,
    #[error("{hypotheses} hypotheses but reference {stream} has {references} lines")]
    LengthMismatch {
        hypotheses: usize,
        /// 1-based, as the user numbers `--ref` flags.
        stream: usize,
        references: usize,
    },
}

/// Every reference stream has one line per hypothesis.
pub(crate) fn check_shape<S>(hypotheses: usize, references: &[Vec<S>]) -> Result<(), MetricError> {
    if hypotheses == 0 {
        return Err(MetricError::Empty);
    }
    if references.is_empty() {
        return Err(MetricError::NoReferences);
    }
    for (i, stream) in references.iter().enumerate() {
        if stream.len() != hypotheses {
            return Err(MetricError::LengthMismatch {
                hypotheses,
                stream: i + 1,
                references: stream.len(),
            });
        }
    }
    Ok(())
}

/// One metric's corpus score, named and signed as sacreBLEU prints it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Scored {
    /// `BLEU`, `chrF2`, `chrF2++`.
    pub name: String,
    pub score: f64,
    pub signature: String,
}

impl std::fmt::Display for Scored {
    /// sacreBLEU's line: `BLEU|nrefs:1|…|version:… = 35.12`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}|{} = {:.2}", self.name, self.signature, self.score)
    }
}

/// BLEU (with `tokenizer`), chrF and chrF++ of a corpus, in that order.
pub fn score_all<S: AsRef<str>>(
    hypotheses: &[S],
    references: &[Vec<S>],
    tokenizer: BleuTokenizer,
) -> Result<Vec<Scored>, MetricError> {
    let bleu = Bleu {
        tokenizer,
        effective_order: false,
    };
    let mut scores = vec![Scored {
        name: "BLEU".into(),
        score: bleu.corpus_score(hypotheses, references)?.score,
        signature: bleu_signature(&bleu, references.len()),
    }];
    for chrf in [Chrf::CHRF, Chrf::CHRF_PLUS_PLUS] {
        scores.push(Scored {
            name: chrf.name(),
            score: chrf.corpus_score(hypotheses, references)?,
            signature: chrf_signature(&chrf, references.len()),
        });
    }
    Ok(scores)
}
