//! `anubad run`: translate and summarize articles into per-article files and
//! a digest.

use std::time::Instant;

use anyhow::Context;

use anubad::ingest::{check_out_dir, read_inputs};
use anubad::output::OutDirReport;
use anubad::pipeline::{self, ModelContext, RunOptions};

use super::load::{close_cache, load, load_summarizer, report_skipped};
use super::progress::Progress;
use super::signals::Signals;
use super::{config, run_failure, Failure, RunArgs};

pub fn run(args: RunArgs) -> Result<u8, Failure> {
    check_out_dir(&args.inputs, &args.out).map_err(config)?;
    let mut loaded = load(&args.model)?;
    let summarizer = load_summarizer(&args.summary, &args.model, &loaded)?;
    let model = ModelContext {
        summarizer: summarizer.as_ref(),
        engine: loaded.engine(),
        info: loaded.info.clone(),
        identity: loaded.identity.clone(),
    };
    // Reading the inputs (stdin may be a terminal) can end at once; from
    // the first translation on, a signal stops the run gracefully.
    let signals = Signals::install();
    // The summary's time covers reading and parsing the inputs too.
    let started = Instant::now();
    let inputs = read_inputs(&args.inputs, Some(&args.out));
    signals.working(true);
    report_skipped(&inputs.skipped, &args.model);
    let mut progress = Progress::new(args.model.quiet);
    let options = RunOptions {
        out_dir: args.out.clone(),
        batch_size: args.model.batch_size,
        summary_sentences: args.summary.summary_sentences.max(1),
        stop: Some(signals.stop.clone()),
        prune: args.prune,
    };
    let report = pipeline::run(
        inputs.articles,
        &model,
        loaded.cache.as_ref(),
        &options,
        &mut |e| progress.observe(e),
    )
    .with_context(|| format!("run into {} stopped", args.out.display()))
    .map_err(run_failure)?;
    progress.bar.finish_and_clear();
    close_cache(loaded.cache.take(), args.model.quiet);
    if !args.model.quiet || report.interrupted {
        let lookups = report.cache_hits + report.cache_misses;
        let counts = format!(
            "{} articles ok ({} unchanged), {} failed; {} sentences, cache hits {}/{}, \
             warnings {}{}; {:.1}s",
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
            started.elapsed().as_secs_f64(),
        );
        if report.interrupted {
            eprintln!(
                "interrupted: {counts}; run the same command again to finish (finished batches \
                 are cached, written articles are kept; the digest is written when the batch \
                 completes)"
            );
        } else {
            eprintln!(
                "{counts}; digest {} (and digest.html)",
                args.out.join("digest.md").display()
            );
        }
    }
    if report.interrupted {
        return Ok(signals.exit_code().unwrap_or(130));
    }
    report_out_dir(&report.out_dir, &args);
    Ok(if report.failed > 0 { 1 } else { 0 })
}

/// What the run removed from `--out` (`--prune`), or left there that the
/// digest does not cover.
fn report_out_dir(out_dir: &OutDirReport, args: &RunArgs) {
    if args.model.quiet {
        return;
    }
    let plural = |n: usize| if n == 1 { ("", "is") } else { ("s", "are") };
    if args.prune {
        let files = out_dir.pruned_files.len();
        eprintln!(
            "pruned {} older article{} from {} ({files} file{})",
            out_dir.pruned_articles,
            plural(out_dir.pruned_articles).0,
            args.out.display(),
            plural(files).0
        );
        if args.model.verbose {
            for file in &out_dir.pruned_files {
                eprintln!("  removed {}", file.display());
            }
        }
    } else if out_dir.older_articles > 0 {
        let (s, verb) = plural(out_dir.older_articles);
        eprintln!(
            "note: {} older article{s} in {} {verb} not in this run's digest (--prune removes \
             their files)",
            out_dir.older_articles,
            args.out.display()
        );
    }
}
