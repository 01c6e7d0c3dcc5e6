//! `anubad cache`: inspect, check or clear the translation cache, in its
//! directory or on its PostgreSQL server.

use anyhow::Context;

use anubad::cache::{cache_file, Cache, CacheHealth, CacheTarget};

use super::load::cache_target;
use super::{config, run_failure, CacheAction, CacheArgs, Failure};

/// Problems of a damaged cache shown, at most; SQLite can list thousands.
const PROBLEMS_SHOWN: usize = 10;

pub fn cache(args: CacheArgs) -> Result<u8, Failure> {
    let target = cache_target(&args.location)
        .context("no cache directory on this platform; pass --cache")
        .map_err(config)?;
    // What the cache is called before it is opened: the SQLite file, or
    // the server without its password.
    let name = match &target {
        CacheTarget::Dir(dir) => cache_file(dir).display().to_string(),
        CacheTarget::Postgres(_) => target.to_string(),
    };
    match args.action {
        CacheAction::Stats => {
            // Looking never creates: no folder, no empty database file.
            if let CacheTarget::Dir(dir) = &target {
                if !cache_file(dir).exists() {
                    println!("cache:   {name} (none yet)");
                    println!("entries: 0");
                    return Ok(0);
                }
            }
            let cache = Cache::open_at(&target).map_err(run_failure)?;
            let stats = cache.stats().map_err(run_failure)?;
            println!("cache:   {}", stats.location);
            println!("entries: {}", stats.entries);
            println!("size:    {:.1} KiB", stats.size_bytes as f64 / 1024.0);
            match stats.last_run {
                Some(run) => println!("last run: {} hits, {} misses", run.hits, run.misses),
                None => println!("last run: none recorded"),
            }
        }
        CacheAction::Check => match Cache::check_at(&target).map_err(run_failure)? {
            CacheHealth::Missing => println!("{name}: no cache yet"),
            CacheHealth::Sound { entries } => println!("{name}: ok ({entries} entries)"),
            CacheHealth::Damaged { problems } => {
                println!("{name}: damaged");
                for problem in problems.iter().take(PROBLEMS_SHOWN) {
                    println!("  {problem}");
                }
                if problems.len() > PROBLEMS_SHOWN {
                    println!("  ... and {} more", problems.len() - PROBLEMS_SHOWN);
                }
                // Emptying the tables would not mend a database whose
                // tables were changed by hand.
                if let CacheTarget::Dir(_) = target {
                    println!("`anubad cache clear` replaces it with an empty cache");
                }
                return Ok(1);
            }
        },
        CacheAction::Clear => {
            if Cache::clear_at(&target).map_err(run_failure)? {
                eprintln!("replaced the damaged {name} with an empty cache");
            } else {
                eprintln!("cleared {name}");
            }
        }
    }
    Ok(0)
}
