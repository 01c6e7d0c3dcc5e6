//! Ctrl-C and SIGTERM for the commands that translate. While work is in
//! progress the first signal asks it to stop after the batch in flight (the
//! library checks the flag between batches), so the cache is flushed,
//! temporary files are gone and the closing line is printed; a second ends
//! the process at once. While the command only waits for input (a terminal,
//! a slow pipe) there is nothing to save, and a signal ends it at once. The
//! exit code says which signal it was: 130 for SIGINT, 143 for SIGTERM.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::flag;

pub(crate) struct Signals {
    /// Set by either signal; handed to the library.
    pub(crate) stop: Arc<AtomicBool>,
    /// Cleared while work is in progress.
    waiting: Arc<AtomicBool>,
    interrupted: Arc<AtomicBool>,
    terminated: Arc<AtomicBool>,
}

impl Signals {
    /// Installs the handlers, with the command waiting (a signal ends it at
    /// once) until [`Signals::working`]. Should installing fail, the signals
    /// keep their default action (ending the process at once), which loses
    /// at most the batch in flight.
    pub(crate) fn install() -> Signals {
        let signals = Signals {
            stop: Arc::default(),
            waiting: Arc::new(AtomicBool::new(true)),
            interrupted: Arc::default(),
            terminated: Arc::default(),
        };
        for (signal, exit_code, seen) in [
            (SIGINT, 130, &signals.interrupted),
            (SIGTERM, 143, &signals.terminated),
        ] {
            // Actions run in the order registered: the exits see `stop` as
            // it was before this signal, so only a second signal (or one
            // that comes while waiting) exits here.
            let _ = flag::register_conditional_shutdown(
                signal,
                exit_code,
                Arc::clone(&signals.waiting),
            );
            let _ =
                flag::register_conditional_shutdown(signal, exit_code, Arc::clone(&signals.stop));
            let _ = flag::register(signal, Arc::clone(&signals.stop));
            let _ = flag::register(signal, Arc::clone(seen));
        }
        signals
    }

    /// Marks work as in progress (a signal stops it gracefully) or not (a
    /// signal ends the process at once).
    pub(crate) fn working(&self, in_progress: bool) {
        self.waiting.store(!in_progress, Ordering::SeqCst);
    }

    /// Whether a signal asked the command to stop.
    pub(crate) fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// 130 or 143 when a signal stopped the command.
    pub(crate) fn exit_code(&self) -> Option<u8> {
        if self.interrupted.load(Ordering::Relaxed) {
            Some(130)
        } else if self.terminated.load(Ordering::Relaxed) {
            Some(143)
        } else {
            None
        }
    }
}
