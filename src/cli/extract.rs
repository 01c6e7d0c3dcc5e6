//! `anubad extract`: the story of each page as JSON Lines.

use std::io::Write;

use anubad::extract::{extract_page, story_record};
use anubad::ingest::{check_inputs_exist, read_inputs, Exclude, ReadOptions};
use anubad::output::IdAllocator;

use super::load::report_skipped;
use super::{config, run_failure, ExtractArgs, Failure};

pub fn extract(args: ExtractArgs) -> Result<u8, Failure> {
    let names = &args.inputs.inputs;
    check_inputs_exist(names).map_err(config)?;
    let options = ReadOptions {
        out_dir: None,
        exclude: Exclude::new(&args.inputs.exclude).map_err(config)?,
        limit: args.inputs.limit,
        shard: None,
    };
    let inputs = read_inputs(names, &options);
    report_skipped(&inputs.skipped, false, args.verbose);
    inputs.check_not_empty(names).map_err(config)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut ids = IdAllocator::new();
    let mut failed = 0;
    for input in inputs.articles {
        match input {
            Ok(article) => {
                let story = extract_page(&article.text, &article.hints);
                let record = story_record(&ids.allocate(&article.raw_id), &article, &story);
                writeln!(out, "{record}").map_err(run_failure)?;
            }
            Err(error) => {
                eprintln!("error: {error}");
                failed += 1;
            }
        }
    }
    Ok(if failed > 0 { 1 } else { 0 })
}
