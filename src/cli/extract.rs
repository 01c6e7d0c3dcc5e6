//! `anubad extract`: the story of each page as JSON Lines.

use std::io::Write;

use anubad::extract::{extract_page, story_record};
use anubad::ingest::read_inputs;
use anubad::output::IdAllocator;

use super::{run_failure, ExtractArgs, Failure};

pub fn extract(args: ExtractArgs) -> Result<u8, Failure> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut ids = IdAllocator::new();
    let mut failed = 0;
    let inputs = read_inputs(&args.inputs, None);
    for skipped in inputs.skipped.iter().filter(|s| s.reason.is_warning()) {
        eprintln!("warning: {skipped}");
    }
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
