//! The run's progress on stderr, drawn from the pipeline's events: one bar
//! over the whole job's sentences, the articles done beside it, and an ETA
//! from the model's own pace.
//!
//! Sentences served without the model (cached, or in unchanged articles)
//! move the bar at once but are left out of the pace, so a rerun that is
//! mostly cached does not promise an ETA of zero, and a cold run's ETA is
//! not thrown off by its first cache hits.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use anubad::pipeline::Event;

/// Draws the run's progress on stderr from the pipeline's events.
pub(crate) struct Progress {
    pub(crate) bar: ProgressBar,
    quiet: bool,
    /// Inputs of the job, when known before reading them.
    articles: Option<usize>,
    articles_done: usize,
    /// Sentences done, each occurrence counted (the bar's position).
    done: usize,
    /// Of `done`, those that took no model time.
    instant: usize,
    window: Window,
    /// Set when the job's size is known; the pace is measured from here.
    planned_at: Option<Instant>,
}

/// The group of articles being translated: its sentences (occurrences) and
/// the distinct segments the pipeline works on, which the bar maps back.
#[derive(Default)]
struct Window {
    /// `done` when the window began.
    base: usize,
    sentences: usize,
    segments: usize,
    segments_cached: usize,
    segments_translated: usize,
}

impl Window {
    /// Sentences of the window done so far, and how many of them were cached.
    fn progress(&self) -> (usize, usize) {
        if self.segments == 0 {
            return (0, 0);
        }
        let share = |n: usize| self.sentences * n.min(self.segments) / self.segments;
        let cached = share(self.segments_cached);
        (
            share(self.segments_cached + self.segments_translated),
            cached,
        )
    }
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
        // `wide_bar` takes what the rest leaves of the terminal's width, so
        // the line never wraps at 80 columns.
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} sentences  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Self {
            bar,
            quiet,
            articles: None,
            articles_done: 0,
            done: 0,
            instant: 0,
            window: Window::default(),
            planned_at: None,
        }
    }

    /// Sentences done and, of those, the ones that took no model time,
    /// the current window's share included.
    fn position(&self) -> (usize, usize) {
        let (window_done, window_cached) = self.window.progress();
        (self.window.base + window_done, self.instant + window_cached)
    }

    /// Time left at the model's pace so far: `None` until it has done some.
    fn eta(&self) -> Option<Duration> {
        let started = self.planned_at?;
        let (done, instant) = self.position();
        let worked = done.saturating_sub(instant);
        if worked == 0 {
            return None;
        }
        let total = self.bar.length().unwrap_or(0) as usize;
        let remaining = total.saturating_sub(done) as f64;
        Some(started.elapsed().mul_f64(remaining / worked as f64))
    }

    fn redraw(&mut self) {
        let eta = match self.eta() {
            Some(left) => format_duration(left),
            None => "-".to_string(),
        };
        self.bar.set_position(self.position().0 as u64);
        let articles = match self.articles {
            Some(total) => format!("{}/{total}", self.articles_done),
            None => self.articles_done.to_string(),
        };
        self.bar
            .set_message(format!("{articles} articles  ETA {eta}"));
    }

    /// Closes the current window: all its sentences are done.
    fn close_window(&mut self) {
        let (_, cached) = self.window.progress();
        self.done = self.window.base + self.window.sentences;
        self.instant += cached;
        self.window = Window {
            base: self.done,
            ..Window::default()
        };
    }

    pub(crate) fn observe(&mut self, event: Event) {
        match event {
            Event::Started { articles } => self.articles = articles,
            Event::Planned {
                articles,
                sentences,
                complete,
            } => {
                self.bar.set_length(estimated_sentences(
                    articles,
                    sentences,
                    complete,
                    self.articles,
                ) as u64);
                if self.planned_at.is_none() {
                    self.planned_at = Some(Instant::now());
                    self.window.base = self.done;
                }
            }
            Event::Window { sentences } => {
                self.close_window();
                self.window.sentences = sentences;
            }
            Event::Lookup { segments, cached } => {
                self.window.segments += segments;
                self.window.segments_cached += cached;
            }
            Event::Batch { sentences, .. } => self.window.segments_translated += sentences,
            Event::ArticleDone {
                unchanged,
                sentences,
                ..
            } => {
                self.articles_done += 1;
                if unchanged {
                    self.done += sentences;
                    self.instant += sentences;
                    self.window.base = self.done;
                }
            }
            Event::ArticleFailed { error } => {
                self.articles_done += 1;
                self.bar.suspend(|| eprintln!("error: {error}"));
            }
            Event::Warning { message } => {
                if !self.quiet {
                    self.bar.suspend(|| eprintln!("warning: {message}"));
                }
            }
            Event::SummaryCost {
                per_article,
                articles_left,
            } => {
                if !self.quiet && articles_left > 0 {
                    let left = per_article * articles_left as u32;
                    self.bar.suspend(|| {
                        eprintln!(
                            "note: summaries take {:.1}s an article so far: about {} for the \
                             {articles_left} left",
                            per_article.as_secs_f64(),
                            format_duration(left)
                        )
                    });
                }
            }
            Event::CacheDisabled { reason } => {
                if !self.quiet {
                    self.bar
                        .suspend(|| eprintln!("warning: {reason}; continuing without the cache"));
                }
            }
        }
        self.redraw();
    }
}

/// The job's sentences: exact once every input is read; until then those
/// read so far, and the rest of the inputs (when their number is known) at
/// the mean of the ones read.
fn estimated_sentences(
    articles_read: usize,
    sentences_read: usize,
    complete: bool,
    articles: Option<usize>,
) -> usize {
    match articles {
        Some(total) if !complete && articles_read > 0 && total > articles_read => {
            sentences_read + (total - articles_read) * sentences_read / articles_read
        }
        _ => sentences_read,
    }
}

/// `8s`, `4m05s`, `2h07m`: short enough for the progress line.
fn format_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m{:02}s", seconds / 60, seconds % 60),
        _ => format!("{}h{:02}m", seconds / 3600, seconds % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hidden() -> Progress {
        let progress = Progress::new(true);
        progress.bar.set_draw_target(ProgressDrawTarget::hidden());
        progress
    }

    #[test]
    fn the_bar_covers_the_whole_job_and_moves_with_each_batch() {
        let mut progress = hidden();
        progress.observe(Event::Started { articles: Some(3) });
        progress.observe(Event::ArticleDone {
            id: "kept",
            unchanged: true,
            sentences: 10,
        });
        progress.observe(Event::Planned {
            articles: 3,
            sentences: 50,
            complete: true,
        });
        assert_eq!(progress.bar.length(), Some(50));
        assert_eq!(progress.bar.position(), 10);
        // Two articles of 40 sentences, 20 distinct; the cache has 5.
        progress.observe(Event::Window { sentences: 40 });
        progress.observe(Event::Lookup {
            segments: 20,
            cached: 5,
        });
        assert_eq!(progress.bar.position(), 20);
        progress.observe(Event::Batch {
            sentences: 5,
            tokens: 60,
        });
        assert_eq!(progress.bar.position(), 30);
        progress.observe(Event::Batch {
            sentences: 10,
            tokens: 120,
        });
        assert_eq!(progress.bar.position(), 50);
        progress.observe(Event::ArticleDone {
            id: "a",
            unchanged: false,
            sentences: 20,
        });
        assert_eq!(progress.bar.position(), 50);
        assert_eq!(progress.articles_done, 2);
    }

    #[test]
    fn sentences_served_without_the_model_do_not_speed_up_the_eta() {
        let mut progress = hidden();
        progress.observe(Event::Started { articles: Some(2) });
        progress.observe(Event::Planned {
            articles: 2,
            sentences: 100,
            complete: true,
        });
        progress.observe(Event::Window { sentences: 100 });
        progress.observe(Event::Lookup {
            segments: 100,
            cached: 50,
        });
        // Nothing translated yet: no pace to go by.
        assert_eq!(progress.eta(), None);
        std::thread::sleep(Duration::from_millis(200));
        progress.observe(Event::Batch {
            sentences: 10,
            tokens: 100,
        });
        // 10 sentences took ~200 ms; 40 are left: ~800 ms, not the ~222 ms
        // that counting the 50 cached ones as work would give.
        let eta = progress.eta().unwrap();
        assert!(
            eta >= Duration::from_millis(700) && eta <= Duration::from_millis(1500),
            "{eta:?}"
        );
    }

    #[test]
    fn a_job_read_in_part_is_sized_from_the_articles_read() {
        // 100 of 1,000 articles read, 2,000 sentences: about 20,000 in all.
        assert_eq!(estimated_sentences(100, 2000, false, Some(1000)), 20_000);
        // Once all is read the count is exact, whatever was expected.
        assert_eq!(estimated_sentences(1000, 19_000, true, Some(1000)), 19_000);
        // Stdin: nothing to go by but what was read.
        assert_eq!(estimated_sentences(100, 2000, false, None), 2000);
    }

    #[test]
    fn durations_fit_the_line() {
        assert_eq!(format_duration(Duration::from_secs(8)), "8s");
        assert_eq!(format_duration(Duration::from_secs(245)), "4m05s");
        assert_eq!(format_duration(Duration::from_secs(7620)), "2h07m");
    }
}
