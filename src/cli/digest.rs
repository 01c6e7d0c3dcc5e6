//! `anubad digest`: the digest of a sharded job, from its shards' folders.

use anyhow::Context;

use anubad::pipeline;

use super::load::{close_cache, load_summarizer, open_cache};
use super::{config, run_failure, DigestArgs, Failure};

pub fn digest(args: DigestArgs) -> Result<u8, Failure> {
    let out = args.out.clone().unwrap_or_else(|| args.folders[0].clone());
    for folder in &args.folders {
        if !folder.is_dir() {
            return Err(config(anyhow::anyhow!(
                "{}: no such folder (name the --out folders of the runs)",
                folder.display()
            )));
        }
    }
    let summarizer = load_summarizer(&args.summary, &args.model, None)?;
    let cache = match (&summarizer, args.model.no_cache) {
        (Some(_), false) => open_cache(&args.model.cache, args.model.quiet),
        _ => None,
    };
    let quiet = args.model.quiet;
    let report = pipeline::digest(
        &args.folders,
        &out,
        summarizer.as_ref(),
        cache.as_ref(),
        &mut |event| {
            if let pipeline::Event::Warning { message } = event {
                if !quiet {
                    eprintln!("warning: {message}");
                }
            }
        },
    )
    .with_context(|| format!("cannot write the digest into {}", out.display()))
    .map_err(|e| match e.downcast_ref::<pipeline::DigestError>() {
        Some(pipeline::DigestError::Output(_)) => run_failure(e),
        _ => config(e),
    })?;
    close_cache(cache, quiet);
    if !report.missing_shards.is_empty() {
        eprintln!(
            "warning: no shard manifest from shard{} {}: {} not finished, so the digest lacks \
             {} articles",
            if report.missing_shards.len() == 1 {
                ""
            } else {
                "s"
            },
            report.missing_shards.join(", "),
            if report.missing_shards.len() == 1 {
                "it has"
            } else {
                "they have"
            },
            if report.missing_shards.len() == 1 {
                "its"
            } else {
                "their"
            },
        );
    }
    if !quiet {
        eprintln!(
            "{} articles, {} failed inputs; digest {} (and digest.html)",
            report.articles,
            report.failed,
            out.join("digest.md").display()
        );
    }
    Ok(if report.missing_shards.is_empty() {
        0
    } else {
        1
    })
}
