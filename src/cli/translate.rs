//! `anubad translate`: lines in, one translated line out for each.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context;

use anubad::pipeline::{self, Event, ModelContext, SegmentTranslator};

use super::load::load;
use super::{config, run_failure, Failure, TranslateArgs};

pub fn translate(args: TranslateArgs) -> Result<u8, Failure> {
    let loaded = load(&args.model)?;
    let model = ModelContext {
        summarizer: None,
        engine: loaded.engine(),
        info: loaded.info.clone(),
        identity: loaded.identity.clone(),
    };
    let mut segments = SegmentTranslator::new(&model, loaded.cache.as_ref(), args.model.batch_size);
    let quiet = args.model.quiet;
    let mut observe = |event: Event| {
        if let (Event::CacheDisabled { reason }, false) = (event, quiet) {
            eprintln!("warning: {reason}; continuing without the cache");
        }
    };
    // Interactive use gets each line back at once; pipes are translated in
    // chunks so that batches can fill.
    let chunk = if args.files.is_empty() && std::io::stdin().is_terminal() {
        1
    } else {
        256
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut translate_chunk = |lines: &[String]| -> Result<(), Failure> {
        let english =
            pipeline::translate_lines(lines, args.whole_lines, &mut segments, &mut observe)
                .map_err(run_failure)?;
        for line in english {
            writeln!(out, "{line}").map_err(run_failure)?;
        }
        out.flush().map_err(run_failure)
    };
    let readers: Vec<(String, Box<dyn BufRead>)> = if args.files.is_empty() {
        vec![("stdin".into(), Box::new(std::io::stdin().lock()))]
    } else {
        args.files
            .iter()
            .map(|path| {
                let file = std::fs::File::open(path)
                    .with_context(|| format!("cannot open {}", path.display()))
                    .map_err(config)?;
                Ok((
                    path.display().to_string(),
                    Box::new(std::io::BufReader::new(file)) as Box<dyn BufRead>,
                ))
            })
            .collect::<Result<_, Failure>>()?
    };
    for (name, reader) in readers {
        let mut pending = Vec::with_capacity(chunk);
        for line in reader.lines() {
            let line = line
                .with_context(|| format!("{name}: cannot read (is it UTF-8 text?)"))
                .map_err(run_failure)?;
            pending.push(line);
            if pending.len() >= chunk {
                translate_chunk(&pending)?;
                pending.clear();
            }
        }
        if !pending.is_empty() {
            translate_chunk(&pending)?;
        }
    }
    if let Some(cache) = &loaded.cache {
        let _ = cache.record_run(segments.hits, segments.misses);
    }
    Ok(0)
}
