//! `anubad run`: translate and summarize articles into per-article files and
//! a digest.

use anyhow::Context;

use anubad::ingest::read_inputs;
use anubad::pipeline::{self, ModelContext, RunOptions};

use super::load::{load, load_summarizer};
use super::progress::Progress;
use super::{run_failure, Failure, RunArgs};

pub fn run(args: RunArgs) -> Result<u8, Failure> {
    let loaded = load(&args.model)?;
    let summarizer = load_summarizer(&args.summary, &args.model, &loaded)?;
    let model = ModelContext {
        summarizer: summarizer.as_ref(),
        engine: loaded.engine(),
        info: loaded.info.clone(),
        identity: loaded.identity.clone(),
    };
    let inputs = read_inputs(&args.inputs);
    let mut progress = Progress::new(args.model.quiet);
    let options = RunOptions {
        out_dir: args.out.clone(),
        batch_size: args.model.batch_size,
        summary_sentences: args.summary.summary_sentences.max(1),
    };
    let report = pipeline::run(inputs, &model, loaded.cache.as_ref(), &options, &mut |e| {
        progress.observe(e)
    })
    .with_context(|| format!("run into {} stopped", args.out.display()))
    .map_err(run_failure)?;
    progress.bar.finish_and_clear();
    if !args.model.quiet {
        let lookups = report.cache_hits + report.cache_misses;
        eprintln!(
            "{} articles ok ({} unchanged), {} failed; {} sentences, cache hits {}/{}, \
             warnings {}{}; {:.1}s; digest {} (and digest.html)",
            report.ok + report.unchanged,
            report.unchanged,
            report.failed,
            report.segments,
            report.cache_hits,
            lookups,
            report.warnings,
            if summarizer.is_some() {
                format!(" ({} unfaithful summaries)", report.unfaithful_summaries)
            } else {
                String::new()
            },
            report.elapsed.as_secs_f64(),
            args.out.join("digest.md").display()
        );
    }
    Ok(if report.failed > 0 { 1 } else { 0 })
}
