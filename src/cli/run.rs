//! `anubad run`: translate and summarize articles into per-article files and
//! a digest.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;

use anubad::ingest::{check_inputs_exist, check_out_dir, plan_inputs, Exclude, ReadOptions, Shard};
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
    if let Some(out) = &args.out {
        check_out_dir(names, out).map_err(config)?;
    }
    let emit = args.emit.is_some();
    if emit && args.json_summary.as_deref() == Some(Path::new("-")) {
        return Err(config(anyhow::anyhow!(
            "--json-summary - would write to stdout, which --emit keeps for the results; \
             name a file"
        )));
    }
    let shard = shard_of(&args)?;
    if let (Some((shard, from)), true) = (&shard, args.prune) {
        return Err(config(anyhow::anyhow!(
            "--prune would remove the other shards' articles ({from} makes this shard {shard}); \
             prune in a run over the whole job"
        )));
    }
    let options = ReadOptions {
        out_dir: args.out.clone(),
        exclude: Exclude::new(&args.inputs.exclude).map_err(config)?,
        limit: args.inputs.limit,
        shard: shard.as_ref().map(|(shard, _)| *shard),
    };
    // The summary's time covers reading and parsing the inputs too.
    let started = Instant::now();
    let plan = plan_inputs(names, &options);
    report_skipped(&plan.skipped, args.model.quiet, args.model.verbose);
    plan.check_not_empty(names).map_err(config)?;
    let expected = plan.count();
    if args.model.verbose {
        if let Some((shard, from)) = &shard {
            eprintln!("shard {shard} (from {from})");
        }
        if plan.is_limited() {
            eprintln!(
                "--limit {}: the rest of the inputs are not read",
                args.inputs.limit.unwrap_or_default()
            );
        }
    }
    let mut loaded = load(&args.model)?;
    let summarizer = load_summarizer(&args.summary, &args.model, Some(&loaded))?;
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
        shard: shard.as_ref().map(|(shard, _)| *shard),
        batch_size: args.model.batch_size,
        summary_sentences: args.summary.summary_sentences,
        stop: Some(signals.stop.clone()),
        prune: args.prune,
    };
    let stdout = std::io::stdout();
    let mut results = stdout.lock();
    let report = pipeline::run(
        plan.articles(),
        expected,
        &model,
        loaded.cache.as_ref(),
        &options,
        if emit {
            Some(&mut results as &mut dyn std::io::Write)
        } else {
            None
        },
        &mut |e| progress.observe(e),
    )
    .with_context(|| match &args.out {
        Some(out) => format!("run into {} stopped", out.display()),
        None => "run stopped".to_string(),
    })
    .map_err(run_failure)?;
    progress.bar.finish_and_clear();
    close_cache(loaded.cache.take(), args.model.quiet);
    let seconds = started.elapsed().as_secs_f64();
    if !args.model.quiet || report.interrupted {
        let mut counts = closing_counts(&report, summarizer.is_some(), seconds);
        if let Some((shard, _)) = &shard {
            counts = format!("shard {shard}: {counts}");
        }
        if report.interrupted {
            eprintln!(
                "interrupted: {counts}; run the same command again to finish (finished batches \
                 are cached, written articles are kept; the digest is written when the batch \
                 completes)"
            );
        } else {
            match (&args.out, &shard) {
                (Some(out), Some(_)) => eprintln!(
                    "{counts}; when every shard is done, `anubad digest {}` writes the digest",
                    out.display()
                ),
                (Some(out), None) => eprintln!(
                    "{counts}; digest {} (and digest.html)",
                    out.join("digest.md").display()
                ),
                (None, _) => eprintln!("{counts}"),
            }
        }
    }
    if let Some(path) = &args.json_summary {
        let summary = JsonSummary::new(
            &report,
            args.out.as_deref(),
            shard.as_ref().map(|(shard, _)| shard.to_string()),
            seconds,
        );
        write_json_summary(path, &summary).map_err(run_failure)?;
    }
    if report.interrupted {
        return Ok(signals.exit_code().unwrap_or(130));
    }
    if let Some(out) = &args.out {
        report_out_dir(&report.out_dir, out, &args);
    }
    Ok(if report.failed > 0 { 1 } else { 0 })
}

/// The shard this run is, and what said so: `--shard`, a Slurm array task,
/// or a Kubernetes Indexed Job's index with `--shards`.
fn shard_of(args: &RunArgs) -> Result<Option<(Shard, &'static str)>, Failure> {
    if let Some(shard) = args.shard {
        return Ok(Some((shard, "--shard")));
    }
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let number = |name: &str, value: String| {
        value
            .trim()
            .parse::<usize>()
            .map_err(|_| config(anyhow::anyhow!("{name}={value:?} is not a whole number")))
    };
    if let Some(count) = args.shards {
        let Some(index) = var("JOB_COMPLETION_INDEX") else {
            return Err(config(anyhow::anyhow!(
                "--shards {count} needs JOB_COMPLETION_INDEX, which a Kubernetes Indexed Job \
                 sets; elsewhere give --shard K/{count}"
            )));
        };
        let index = number("JOB_COMPLETION_INDEX", index)?;
        let shard = Shard::new(index, count).map_err(config)?;
        return Ok(Some((shard, "JOB_COMPLETION_INDEX")));
    }
    if let (Some(task), Some(count)) = (var("SLURM_ARRAY_TASK_ID"), var("SLURM_ARRAY_TASK_COUNT")) {
        let task = number("SLURM_ARRAY_TASK_ID", task)?;
        let count = number("SLURM_ARRAY_TASK_COUNT", count)?;
        let min = match var("SLURM_ARRAY_TASK_MIN") {
            Some(min) => number("SLURM_ARRAY_TASK_MIN", min)?,
            None => 0,
        };
        let shard = Shard::new(task.saturating_sub(min), count).map_err(|e| {
            config(anyhow::Error::new(e).context(
                "the Slurm array's task ids must be consecutive (--array=0-N or 1-N, no step)",
            ))
        })?;
        return Ok(Some((shard, "the Slurm array task")));
    }
    Ok(None)
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
    /// `null` with `--emit` and no `--out`.
    out: Option<String>,
    /// `K/N` for one shard of a sharded job.
    shard: Option<String>,
    /// `null` when the run was interrupted, is a shard, or has no `--out`.
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
    fn new(report: &RunReport, out: Option<&Path>, shard: Option<String>, seconds: f64) -> Self {
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
            out: out.map(|out| out.display().to_string()),
            digest: out
                .filter(|_| !report.interrupted && shard.is_none())
                .map(|out| out.join("digest.md").display().to_string()),
            shard,
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
fn report_out_dir(out_dir: &OutDirReport, out: &Path, args: &RunArgs) {
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
            out.display(),
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
            out.display()
        );
    }
}
