//! The stall watch. While a backup writes to a destination that can leave
//! the writer waiting (an SMB share whose server is gone: on kernel 6.12 a
//! soft mount fails each 4 MiB of queued data only after waiting 10 s for
//! the server, so a backup of some GiB would take hours to fail), a thread
//! follows the backup's progress. When nothing moved for a while it asks
//! the destination whether it is still there; gone twice in a row, the
//! destination is cut off so that the writer's calls fail at once and the
//! backup ends in seconds. A slow server that still answers is left alone.

use backupset::Progress;
use destinations::Watch;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How long the watch waits before it asks, and how often.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Nothing written for this long: ask the destination.
    pub stall: Duration,
    /// Between two questions (a gone server is asked twice before the cut,
    /// so a server that restarts in a second is not cut off).
    pub recheck: Duration,
    /// How often the progress is looked at.
    pub tick: Duration,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            stall: Duration::from_secs(10),
            recheck: Duration::from_secs(5),
            tick: Duration::from_secs(1),
        }
    }
}

fn snapshot(p: &Progress) -> (u64, u64, u8) {
    (
        p.bytes.load(Ordering::Relaxed),
        p.files.load(Ordering::Relaxed),
        p.phase.load(Ordering::Relaxed),
    )
}

/// Watches until `stop` is dropped (the backup ended) or the destination
/// was cut off; then returns why it was cut off.
pub fn watch(
    dest: &dyn Watch,
    progress: &Progress,
    stop: &Receiver<()>,
    policy: &Policy,
) -> Option<String> {
    let mut last = snapshot(progress);
    let mut moved = Instant::now();
    let mut asked: Option<Instant> = None;
    let mut gone_before = false;
    loop {
        match stop.recv_timeout(policy.tick) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return None,
        }
        let now = snapshot(progress);
        if now != last {
            last = now;
            moved = Instant::now();
            gone_before = false;
            continue;
        }
        if moved.elapsed() < policy.stall || asked.is_some_and(|t| t.elapsed() < policy.recheck) {
            continue;
        }
        asked = Some(Instant::now());
        let Some(why) = dest.gone() else {
            gone_before = false;
            continue;
        };
        if !gone_before {
            gone_before = true;
            continue;
        }
        log::warn!(
            "{why}; nothing written for {} s: cutting the destination off so the backup ends",
            moved.elapsed().as_secs()
        );
        if let Err(e) = dest.cut_off() {
            log::error!("{e}");
        }
        return Some(why);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;
    use std::sync::mpsc;

    /// A destination whose answers the test scripts: gone or not, per question.
    struct Scripted {
        answers: Mutex<Vec<bool>>,
        asked: AtomicUsize,
        cut: AtomicUsize,
    }

    impl Scripted {
        /// `answers` in order; the last one repeats.
        fn new(answers: &[bool]) -> Scripted {
            Scripted {
                answers: Mutex::new(answers.iter().rev().copied().collect()),
                asked: AtomicUsize::new(0),
                cut: AtomicUsize::new(0),
            }
        }
    }

    impl Watch for Scripted {
        fn gone(&self) -> Option<String> {
            self.asked.fetch_add(1, Ordering::SeqCst);
            let mut a = self.answers.lock().expect("lock");
            let gone = if a.len() > 1 {
                a.pop()
            } else {
                a.last().copied()
            };
            gone.unwrap_or(false)
                .then(|| "the server went away".to_string())
        }
        fn cut_off(&self) -> Result<(), String> {
            self.cut.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    fn quick() -> Policy {
        Policy {
            stall: Duration::from_millis(40),
            recheck: Duration::from_millis(20),
            tick: Duration::from_millis(5),
        }
    }

    /// Runs the watch for `run` while `step` is applied to the progress
    /// every tick; returns what the watch returned.
    fn run_for(dest: &Scripted, run: Duration, step: impl Fn(&Progress)) -> Option<String> {
        let progress = Progress::default();
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::scope(|s| {
            let progress = &progress;
            let h = s.spawn(move || watch(dest, progress, &stopped, &quick()));
            let end = Instant::now() + run;
            while Instant::now() < end && !h.is_finished() {
                step(progress);
                std::thread::sleep(Duration::from_millis(5));
            }
            drop(stop);
            h.join().expect("watch thread")
        })
    }

    #[test]
    fn a_backup_that_moves_is_never_asked_about() {
        let dest = Scripted::new(&[true]);
        let r = run_for(&dest, Duration::from_millis(300), |p| {
            p.bytes.fetch_add(512, Ordering::Relaxed);
        });
        assert_eq!(r, None);
        assert_eq!(dest.asked.load(Ordering::SeqCst), 0);
        assert_eq!(dest.cut.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_stalled_backup_on_a_gone_server_is_cut_off_after_two_answers() {
        let dest = Scripted::new(&[true]);
        let r = run_for(&dest, Duration::from_secs(10), |_| {});
        assert_eq!(r.as_deref(), Some("the server went away"));
        assert_eq!(dest.asked.load(Ordering::SeqCst), 2);
        assert_eq!(dest.cut.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_server_that_answers_again_is_not_cut_off() {
        // Gone once (a restart), then there: a stalled but slow share.
        let dest = Scripted::new(&[true, false]);
        let r = run_for(&dest, Duration::from_millis(300), |_| {});
        assert_eq!(r, None);
        assert!(dest.asked.load(Ordering::SeqCst) >= 3, "asked again");
        assert_eq!(dest.cut.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn progress_between_two_gone_answers_starts_over() {
        // Each time the server is found gone the writer moves on once more:
        // never two answers in a row about one stall.
        let dest = Scripted::new(&[true]);
        let progress = Progress::default();
        let (stop, stopped) = mpsc::channel::<()>();
        let r = std::thread::scope(|s| {
            let h = s.spawn(|| {
                let stopped = stopped;
                watch(&dest, &progress, &stopped, &quick())
            });
            let mut seen = 0;
            let end = Instant::now() + Duration::from_millis(400);
            while Instant::now() < end && !h.is_finished() {
                let asked = dest.asked.load(Ordering::SeqCst);
                if asked > seen {
                    seen = asked;
                    progress.files.fetch_add(1, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            drop(stop);
            h.join().expect("watch thread")
        });
        assert_eq!(r, None);
        assert!(dest.asked.load(Ordering::SeqCst) >= 2);
        assert_eq!(dest.cut.load(Ordering::SeqCst), 0);
    }
}
