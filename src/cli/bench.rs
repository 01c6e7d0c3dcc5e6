//! `anubad bench`: translation or chat-model speed on random weights of a
//! real model's size, or on a model directory with given source ids.

use anubad::bench::chat::ChatBenchModel;
use anubad::bench::{BenchError, SourceIds};

use super::{config, run_failure, set_threads, BenchArgs, Failure};

pub fn bench(args: BenchArgs) -> Result<u8, Failure> {
    set_threads(args.threads);
    if args.model == anubad::bench::BenchModel::Qwen25Q4km || args.gguf.is_some() {
        let model = match &args.gguf {
            Some(path) => ChatBenchModel::File(path),
            None => ChatBenchModel::Random {
                shape: &anubad::bench::chat::QWEN25_1_5B,
                save: args.save_gguf.as_deref(),
            },
        };
        let row =
            anubad::bench::chat::run(model, args.prompt_tokens, args.output_tokens, &mut |line| {
                eprintln!("{line}")
            })
            .map_err(run_failure)?;
        println!("{}", row.markdown());
        return Ok(0);
    }
    let source_ids = args
        .source_ids
        .as_deref()
        .map(SourceIds::read)
        .transpose()
        .map_err(config)?;
    let options = anubad::bench::BenchOptions {
        model: args.model,
        model_dir: args.model_dir,
        source_ids,
        precision: args.precision,
        quantize: args.quantize,
        batch_sizes: args.batch_sizes,
        sentences: args.sentences,
        source_tokens: args.source_tokens,
        output_tokens: args.output_tokens,
        beams: args.beams,
    };
    let rows =
        anubad::bench::run(&options, &mut |line| eprintln!("{line}")).map_err(|e| match e {
            // A directory that does not load or ids it cannot take are the
            // caller's to fix, like a model `translate` cannot resolve.
            BenchError::Load(_) | BenchError::BadSourceIds { .. } => config(e),
            _ => run_failure(e),
        })?;
    println!("{}", anubad::bench::markdown_table(&options, &rows));
    Ok(0)
}
