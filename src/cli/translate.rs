//! `anubad translate`: lines in, one translated line out for each, as plain
//! text or as JSON Lines records (`--format jsonl`).

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context;
use serde::Deserialize;
use serde_json::json;

use anubad::pipeline::{self, EngineError, Event, ModelContext, SegmentTranslator, TranslatedLine};

use super::load::{close_cache, load};
use super::signals::Signals;
use super::{config, run_failure, Failure, LineFormat, TranslateArgs};

/// Lines translated together when reading a pipe or file, so that batches
/// fill; said in `translate --help`.
const CHUNK_LINES: usize = 256;

/// A `--format jsonl` input line.
#[derive(Deserialize)]
struct Record {
    /// Echoed back as given; the line number when absent.
    id: Option<serde_json::Value>,
    text: String,
}

/// One line to translate, with what its output record echoes.
struct Line {
    id: serde_json::Value,
    text: String,
}

pub fn translate(args: TranslateArgs) -> Result<u8, Failure> {
    let mut inputs: Vec<String> = args.files.clone();
    if inputs.is_empty() {
        inputs.push("-".to_string());
    }
    // Every file is opened before the model loads: a typo costs nothing.
    let readers: Vec<(String, Box<dyn BufRead>)> = inputs
        .iter()
        .map(|name| {
            if name == "-" {
                return Ok(("stdin".to_string(), Box::new(std::io::stdin().lock()) as _));
            }
            let file = std::fs::File::open(name)
                .with_context(|| format!("cannot open {name}"))
                .map_err(config)?;
            Ok((name.clone(), Box::new(std::io::BufReader::new(file)) as _))
        })
        .collect::<Result<_, Failure>>()?;
    let mut loaded = load(&args.model)?;
    // Created once the model is loaded: a failed load leaves an existing
    // file as it was.
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))
                .map_err(config)?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
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
    // Interactive use gets each line back at once.
    let interactive = inputs.iter().any(|name| name == "-") && std::io::stdin().is_terminal();
    let chunk = if interactive { 1 } else { CHUNK_LINES };
    let mut lines_done = 0;
    let mut bad_records = 0;
    // Ok(false) when a signal stopped it.
    let mut translate_chunk = |lines: &[Line]| -> Result<bool, Failure> {
        // Waiting for input ends at once on a signal; translating stops
        // after the batch in flight.
        signals.working(true);
        let texts: Vec<String> = lines.iter().map(|line| line.text.clone()).collect();
        let translated =
            pipeline::translate_lines(&texts, args.whole_lines, &mut segments, &mut observe);
        signals.working(false);
        let translated = match translated {
            Err(EngineError::Stopped) => return Ok(false),
            result => result.map_err(run_failure)?,
        };
        for (line, english) in lines.iter().zip(translated) {
            writeln!(out, "{}", render(args.format, line, english)).map_err(run_failure)?;
        }
        lines_done += lines.len();
        out.flush().map_err(run_failure)?;
        // A signal after the last batch still stops the command, once the
        // finished lines are printed.
        Ok(!signals.stop_requested())
    };
    let mut finished = true;
    'inputs: for (name, reader) in readers {
        let mut pending = Vec::with_capacity(chunk);
        for (number, line) in reader.lines().enumerate() {
            let text = line
                .with_context(|| format!("{name}: cannot read (is it UTF-8 text?)"))
                .map_err(run_failure)?;
            let line = match args.format {
                LineFormat::Text => Line {
                    id: json!(number + 1),
                    text,
                },
                LineFormat::Jsonl if text.trim().is_empty() => continue,
                LineFormat::Jsonl => match serde_json::from_str::<Record>(&text) {
                    Ok(record) => Line {
                        id: record.id.unwrap_or_else(|| json!(number + 1)),
                        text: record.text,
                    },
                    Err(e) => {
                        eprintln!(
                            "error: {name}:{}: not a {{\"id\", \"text\"}} record: {e}",
                            number + 1
                        );
                        bad_records += 1;
                        continue;
                    }
                },
            };
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
    Ok(if bad_records > 0 { 1 } else { 0 })
}

fn render(format: LineFormat, line: &Line, translated: TranslatedLine) -> String {
    match format {
        LineFormat::Text => translated.english,
        LineFormat::Jsonl => json!({
            "id": line.id,
            "text": line.text,
            "translation": translated.english,
            "cache_hit": translated.cache_hit,
            "warnings": translated.warnings,
        })
        .to_string(),
    }
}
