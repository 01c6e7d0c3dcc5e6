//! The run's progress on stderr, drawn from the pipeline's events.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use anubad::pipeline::Event;

/// Draws the run's progress on stderr from the pipeline's events.
pub(crate) struct Progress {
    pub(crate) bar: ProgressBar,
    quiet: bool,
    window_segments: usize,
    window_done: usize,
    cache_hits: usize,
    sentences: usize,
    tokens: usize,
    started: Instant,
}

impl Progress {
    pub(crate) fn new(quiet: bool) -> Self {
        let bar = ProgressBar::with_draw_target(
            Some(0),
            if quiet || !std::io::stderr().is_terminal() {
                ProgressDrawTarget::hidden()
            } else {
                ProgressDrawTarget::stderr()
            },
        );
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} articles  ETA {eta}  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Self {
            bar,
            quiet,
            window_segments: 0,
            window_done: 0,
            cache_hits: 0,
            sentences: 0,
            tokens: 0,
            started: Instant::now(),
        }
    }

    fn message(&self) {
        let seconds = self.started.elapsed().as_secs_f64().max(1e-3);
        self.bar.set_message(format!(
            "sentences {}/{}  {:.1} sent/s  {:.0} tok/s  cache hits {}",
            self.window_done,
            self.window_segments,
            self.sentences as f64 / seconds,
            self.tokens as f64 / seconds,
            self.cache_hits
        ));
    }

    pub(crate) fn observe(&mut self, event: Event) {
        match event {
            Event::Started { articles } => self.bar.set_length(articles as u64),
            Event::Window { segments, cached } => {
                self.window_segments = segments;
                self.window_done = cached;
                self.cache_hits += cached;
                self.message();
            }
            Event::Batch { sentences, tokens } => {
                self.window_done += sentences;
                self.sentences += sentences;
                self.tokens += tokens;
                self.message();
            }
            Event::ArticleDone { .. } => self.bar.inc(1),
            Event::ArticleFailed { error } => {
                self.bar.inc(1);
                self.bar.suspend(|| eprintln!("error: {error}"));
            }
            Event::Warning { message } => {
                if !self.quiet {
                    self.bar.suspend(|| eprintln!("warning: {message}"));
                }
            }
            Event::CacheDisabled { reason } => {
                if !self.quiet {
                    self.bar
                        .suspend(|| eprintln!("warning: {reason}; continuing without the cache"));
                }
            }
        }
    }
}
