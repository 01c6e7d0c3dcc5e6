//! `anubad cache`: inspect, check or clear the translation cache.

use anyhow::Context;

use anubad::cache::{cache_file, Cache, CacheHealth};

use super::load::cache_dir;
use super::{config, run_failure, CacheAction, CacheArgs, Failure};

/// Problems of a damaged cache shown, at most; SQLite can list thousands.
const PROBLEMS_SHOWN: usize = 10;

pub fn cache(args: CacheArgs) -> Result<u8, Failure> {
    let dir = cache_dir(&args.location)
        .context("no cache directory on this platform; pass --cache-dir")
        .map_err(config)?;
    match args.action {
        CacheAction::Stats => {
            // Looking never creates: no folder, no empty database.
            let path = cache_file(&dir);
            if !path.exists() {
                println!("cache:   {} (none yet)", path.display());
                println!("entries: 0");
                return Ok(0);
            }
            let cache = Cache::open(&dir).map_err(run_failure)?;
            let stats = cache.stats().map_err(run_failure)?;
            println!("cache:   {}", stats.path.display());
            println!("entries: {}", stats.entries);
            println!("size:    {:.1} KiB", stats.size_bytes as f64 / 1024.0);
            match stats.last_run {
                Some(run) => println!("last run: {} hits, {} misses", run.hits, run.misses),
                None => println!("last run: none recorded"),
            }
        }
        CacheAction::Check => {
            let path = cache_file(&dir);
            match Cache::check(&dir).map_err(run_failure)? {
                CacheHealth::Missing => println!("{}: no cache yet", path.display()),
                CacheHealth::Sound { entries } => {
                    println!("{}: ok ({entries} entries)", path.display())
                }
                CacheHealth::Damaged { problems } => {
                    println!("{}: damaged", path.display());
                    for problem in problems.iter().take(PROBLEMS_SHOWN) {
                        println!("  {problem}");
                    }
                    if problems.len() > PROBLEMS_SHOWN {
                        println!("  ... and {} more", problems.len() - PROBLEMS_SHOWN);
                    }
                    println!("`anubad cache clear` replaces it with an empty cache");
                    return Ok(1);
                }
            }
        }
        CacheAction::Clear => {
            let replaced = Cache::clear_dir(&dir).map_err(run_failure)?;
            let path = cache_file(&dir);
            if replaced {
                eprintln!(
                    "replaced the damaged {} with an empty cache",
                    path.display()
                );
            } else {
                eprintln!("cleared {}", path.display());
            }
        }
    }
    Ok(0)
}
