//! `anubad bench`: translation or chat-model speed on random weights of a
//! real model's size.

use super::{run_failure, set_threads, BenchArgs, Failure};

pub fn bench(args: BenchArgs) -> Result<u8, Failure> {
    set_threads(args.threads);
    if args.model == anubad::bench::BenchModel::Qwen25Q4km {
        let row = anubad::bench::chat::run(
            &anubad::bench::chat::QWEN25_1_5B,
            args.prompt_tokens,
            args.output_tokens,
            &mut |line| eprintln!("{line}"),
        )
        .map_err(run_failure)?;
        println!("{}", row.markdown());
        return Ok(0);
    }
    let options = anubad::bench::BenchOptions {
        model: args.model,
        precision: args.precision,
        quantize: args.quantize,
        batch_sizes: args.batch_sizes,
        sentences: args.sentences,
        source_tokens: args.source_tokens,
        output_tokens: args.output_tokens,
        beams: args.beams,
    };
    let rows =
        anubad::bench::run(&options, &mut |line| eprintln!("{line}")).map_err(run_failure)?;
    println!("{}", anubad::bench::markdown_table(&options, &rows));
    Ok(0)
}
