//! What chat models write for a run: translations a paragraph at a time
//! ([`translate`]), abstractive summaries with a check against invented
//! facts ([`summary`]), and the run's cached summaries, headlines and digest
//! introduction ([`summarizer`]).

pub mod summarizer;
pub mod summary;
pub mod translate;
