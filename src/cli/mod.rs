//! The binary's side of every command: flags ([`args`]), loading what a
//! command needs with its notes on stderr ([`load`]), the progress display
//! ([`progress`]), Ctrl-C and SIGTERM ([`signals`]), and one module per
//! subcommand. The library does the work; these modules turn flags into its
//! option structs and its results into output.

mod args;
pub mod bench;
pub mod cache;
pub mod digest;
pub mod eval;
pub mod extract;
mod load;
pub mod models;
mod progress;
pub mod run;
mod signals;
pub mod translate;

pub use args::*;

/// Errors that stop the whole command, sorted by what they say about the run.
pub(crate) enum Failure {
    /// Bad flags or configuration: a model that can't be resolved or loaded.
    Config(anyhow::Error),
    /// Something broke while working.
    Run(anyhow::Error),
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Config(_) => 2,
            Failure::Run(_) => 1,
        }
    }
}

pub(crate) fn config<E: Into<anyhow::Error>>(e: E) -> Failure {
    Failure::Config(e.into())
}

pub(crate) fn run_failure<E: Into<anyhow::Error>>(e: E) -> Failure {
    Failure::Run(e.into())
}

pub(crate) fn set_threads(threads: Option<usize>) {
    if let Some(n) = threads.filter(|n| *n > 0) {
        // candle's CPU kernels size their pools from this variable; it must
        // be set before the first tensor operation.
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
    }
}
