//! How much a quantized or reduced-precision run changes the output
//! of the same model in f32: the sentences it leaves identical, and
//! its chrF++ with the f32 output as the reference. Outputs are
//! compared as strings: the same tokens decode to the same string, and
//! different tokens to a different one except in degenerate cases
//! (two spellings of one space), which this counts as agreeing.

use serde::Serialize;

use super::{Chrf, MetricError};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Agreement {
    /// Sentences whose output equals f32's.
    pub identical: usize,
    pub sentences: usize,
    /// chrF++ of the run with f32's output as the reference.
    pub chrf_plus_plus: f64,
}

pub fn against<S: AsRef<str>>(run: &[S], reference: &[S]) -> Result<Agreement, MetricError> {
    let references = vec![reference.iter().map(|s| s.as_ref()).collect::<Vec<_>>()];
    let run: Vec<&str> = run.iter().map(|s| s.as_ref()).collect();
    Ok(Agreement {
        chrf_plus_plus: Chrf::CHRF_PLUS_PLUS.corpus_score(&run, &references)?,
        identical: run
            .iter()
            .zip(reference)
            .filter(|(a, b)| **a == b.as_ref())
            .count(),
        sentences: run.len(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn identical_runs_agree_fully_and_a_changed_line_counts_once() {
        let f32 = ["The minister said.", "Prices rose 5 percent."];
        let same = super::against(&f32, &f32).unwrap();
        assert_eq!((same.identical, same.sentences), (2, 2));
        assert!((same.chrf_plus_plus - 100.0).abs() < 1e-9);
        let changed =
            super::against(&["The minister said.", "Prices rose 6 percent."], &f32).unwrap();
        assert_eq!(changed.identical, 1);
        assert!(changed.chrf_plus_plus < 100.0);
    }
}
