//! `anubad translate`: lines in, one translated line out for each.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context;

use anubad::pipeline::{self, EngineError, Event, ModelContext, SegmentTranslator};

use super::load::{close_cache, load};
use super::signals::Signals;
use super::{config, run_failure, Failure, TranslateArgs};

pub fn translate(args: TranslateArgs) -> Result<u8, Failure> {
    let mut loaded = load(&args.model)?;
    let model = ModelContext {
        summarizer: None,
        engine: loaded.engine(),
        info: loaded.info.clone(),
        identity: loaded.identity.clone(),
    };
    let mut segments = SegmentTranslator::new(&model, loaded.cache.as_ref(), args.model.batch_size);
    let signals = Signals::install();
    segments.stop_on(signals.stop.clone());
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
    let mut lines_done = 0;
    // Ok(false) when a signal stopped it.
    let mut translate_chunk = |lines: &[String]| -> Result<bool, Failure> {
        // Waiting for input ends at once on a signal; translating stops
        // after the batch in flight.
        signals.working(true);
        let translated =
            pipeline::translate_lines(lines, args.whole_lines, &mut segments, &mut observe);
        signals.working(false);
        let english = match translated {
            Err(EngineError::Stopped) => return Ok(false),
            result => result.map_err(run_failure)?,
        };
        for line in english {
            writeln!(out, "{line}").map_err(run_failure)?;
        }
        lines_done += lines.len();
        out.flush().map_err(run_failure)?;
        // A signal after the last batch still stops the command, once the
        // finished lines are printed.
        Ok(!signals.stop_requested())
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
    let mut finished = true;
    'inputs: for (name, reader) in readers {
        let mut pending = Vec::with_capacity(chunk);
        for line in reader.lines() {
            let line = line
                .with_context(|| format!("{name}: cannot read (is it UTF-8 text?)"))
                .map_err(run_failure)?;
            pending.push(line);
            if pending.len() >= chunk {
                finished = translate_chunk(&pending)?;
                if !finished {
                    break 'inputs;
                }
                pending.clear();
            }
        }
        if !pending.is_empty() {
            finished = translate_chunk(&pending)?;
            if !finished {
                break;
            }
        }
    }
    if let Some(cache) = &loaded.cache {
        let _ = cache.record_run(segments.hits, segments.misses);
    }
    drop(segments);
    close_cache(loaded.cache.take(), quiet);
    if !finished {
        eprintln!(
            "interrupted after {lines_done} lines; run the same command again to finish \
             (finished batches are cached)"
        );
        return Ok(signals.exit_code().unwrap_or(130));
    }
    Ok(0)
}
