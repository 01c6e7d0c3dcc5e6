//! `anubad cache`: inspect or clear the translation cache.

use anyhow::Context;

use anubad::cache::Cache;

use super::load::cache_dir;
use super::{config, run_failure, CacheAction, CacheArgs, Failure};

pub fn cache(args: CacheArgs) -> Result<u8, Failure> {
    let dir = cache_dir(&args.location)
        .context("no cache directory on this platform; pass --cache-dir")
        .map_err(config)?;
    let cache = Cache::open(&dir).map_err(run_failure)?;
    match args.action {
        CacheAction::Stats => {
            let stats = cache.stats().map_err(run_failure)?;
            println!("cache:   {}", stats.path.display());
            println!("entries: {}", stats.entries);
            println!("size:    {:.1} KiB", stats.size_bytes as f64 / 1024.0);
            match stats.last_run {
                Some(run) => println!("last run: {} hits, {} misses", run.hits, run.misses),
                None => println!("last run: none recorded"),
            }
        }
        CacheAction::Clear => {
            cache.clear().map_err(run_failure)?;
            eprintln!("cleared {}", cache.path().display());
        }
    }
    Ok(0)
}
