//! `anubad run`: translate and summarize articles into per-article files and
//! a digest.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;

use anubad::ingest::{check_inputs_exist, check_out_dir, read_inputs, Exclude, ReadOptions};
use anubad::output::OutDirReport;
use anubad::pipeline::{self, ModelContext, RunOptions, RunReport};

use super::load::{close_cache, load, load_summarizer, report_skipped};
use super::progress::Progress;
use super::signals::Signals;
use super::{config, run_failure, Failure, RunArgs};

pub fn run(args: RunArgs) -> Result<u8, Failure> {
    // Everything about the inputs is checked before a model loads (which
    // can mean a download): a typo costs nothing and leaves no --out behind.
    let names = &args.inputs.inputs;
    check_inputs_exist(names).map_err(config)?;
    check_out_dir(names, &args.out).map_err(config)?;
    let options = ReadOptions {
        out_dir: Some(args.out.clone()),
        exclude: Exclude::new(&args.inputs.exclude).map_err(config)?,
        limit: args.inputs.limit,
    };
    // The summary's time covers reading and parsing the inputs too.
    let started = Instant::now();
    let inputs = read_inputs(names, &options);
    report_skipped(&inputs.skipped, args.model.quiet, args.model.verbose);
    inputs.check_not_empty(names).map_err(config)?;
    if inputs.limited && args.model.verbose {
        eprintln!(
            "--limit {}: the rest of the inputs are not read",
            inputs.articles.len()
        );
    }
    let mut loaded = load(&args.model)?;
    let summarizer = load_summarizer(&args.summary, &args.model, &loaded)?;
    let model = ModelContext {
        summarizer: summarizer.as_ref(),
        engine: loaded.engine(),
        info: loaded.info.clone(),
        identity: loaded.identity.clone(),
    };
    // From the first translation on, a signal stops the run gracefully.
    let signals = Signals::install();
    signals.working(true);
    let mut progress = Progress::new(args.model.quiet);
    let options = RunOptions {
        out_dir: args.out.clone(),
        batch_size: args.model.batch_size,
        summary_sentences: args.summary.summary_sentences,
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
    let seconds = started.elapsed().as_secs_f64();
    if !args.model.quiet || report.interrupted {
        let counts = closing_counts(&report, summarizer.is_some(), seconds);
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
    if let Some(path) = &args.json_summary {
        write_json_summary(path, &JsonSummary::new(&report, &args.out, seconds))
            .map_err(run_failure)?;
    }
    if report.interrupted {
        return Ok(signals.exit_code().unwrap_or(130));
    }
    report_out_dir(&report.out_dir, &args);
    Ok(if report.failed > 0 { 1 } else { 0 })
}

/// The closing line's counts, which add up: articles ok + failed is every
/// input, sentences = translated + from the cache + unchanged.
fn closing_counts(report: &RunReport, with_summarizer: bool, seconds: f64) -> String {
    let model_time = if with_summarizer {
        format!(
            " (translating {:.1}s, summarizing {:.1}s)",
            report.translating.as_secs_f64(),
            report.summarizing.as_secs_f64()
        )
    } else {
        String::new()
    };
    format!(
        "{} articles ok ({} unchanged), {} failed; {} sentences: {} translated, {} from the \
         cache, {} unchanged; {} warnings{}; {seconds:.1}s{model_time}",
        report.ok + report.unchanged,
        report.unchanged,
        report.failed,
        report.segments,
        report.sentences_translated,
        report.sentences_cached,
        report.sentences_unchanged,
        report.warnings,
        if with_summarizer {
            format!(
                " ({} unfaithful summaries rejected)",
                report.unfaithful_summaries
            )
        } else {
            String::new()
        },
    )
}

/// `--json-summary`: the closing line's facts for schedulers and scripts.
#[derive(Serialize)]
struct JsonSummary {
    articles: ArticleCounts,
    sentences: SentenceCounts,
    /// Distinct segments looked up: found in the cache, or sent to the model.
    cache: CacheCounts,
    warnings: usize,
    unfaithful_summaries: usize,
    seconds: f64,
    /// Model time translating, and the chat model's on summaries and headlines.
    seconds_translating: f64,
    seconds_summarizing: f64,
    /// Stopped by a signal; the digest was not rewritten.
    interrupted: bool,
    out: String,
    /// Absent when the run was interrupted.
    digest: Option<String>,
}

#[derive(Serialize)]
struct ArticleCounts {
    ok: usize,
    unchanged: usize,
    failed: usize,
}

#[derive(Serialize)]
struct SentenceCounts {
    total: usize,
    translated: usize,
    cached: usize,
    unchanged: usize,
}

#[derive(Serialize)]
struct CacheCounts {
    hits: u64,
    misses: u64,
}

impl JsonSummary {
    fn new(report: &RunReport, out: &Path, seconds: f64) -> Self {
        Self {
            articles: ArticleCounts {
                ok: report.ok + report.unchanged,
                unchanged: report.unchanged,
                failed: report.failed,
            },
            sentences: SentenceCounts {
                total: report.segments,
                translated: report.sentences_translated,
                cached: report.sentences_cached,
                unchanged: report.sentences_unchanged,
            },
            cache: CacheCounts {
                hits: report.cache_hits,
                misses: report.cache_misses,
            },
            warnings: report.warnings,
            unfaithful_summaries: report.unfaithful_summaries,
            seconds: tenths(seconds),
            seconds_translating: tenths(report.translating.as_secs_f64()),
            seconds_summarizing: tenths(report.summarizing.as_secs_f64()),
            interrupted: report.interrupted,
            out: out.display().to_string(),
            digest: (!report.interrupted).then(|| out.join("digest.md").display().to_string()),
        }
    }
}

fn tenths(seconds: f64) -> f64 {
    (seconds * 10.0).round() / 10.0
}

/// Writes the summary to `path` (`-`: stdout) in one piece: a scheduler
/// polling the file never reads half of it.
fn write_json_summary(path: &Path, summary: &JsonSummary) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(summary)?;
    text.push('\n');
    if path.as_os_str() == "-" {
        print!("{text}");
        return Ok(());
    }
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write --json-summary {}", path.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .with_context(|| format!("cannot write --json-summary {}", path.display()))?;
    file.persist(path)
        .with_context(|| format!("cannot write --json-summary {}", path.display()))?;
    Ok(())
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
