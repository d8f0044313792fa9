//! An outside program (fsck.fat, an init script, an administrator's
//! command) run to its end within a time limit.
//!
//! Its standard output and error go to one unlinked temporary file, not to
//! pipes: a pipe that filled up while nobody read it would hold the program
//! until the limit, and a daemon it left behind could hold a pipe open for
//! ever. The file is read back only after the program ended, up to a cap.
//! Standard input is closed.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How often the program is polled for its end.
const POLL: Duration = Duration::from_millis(20);

/// A program that ran to its end (with success or not).
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    /// Its standard output and error as they came, up to the cap.
    pub output: String,
}

impl Finished {
    /// The last line of its output that is not blank ("" when none).
    pub fn last_line(&self) -> &str {
        self.output
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{program} cannot be run: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("{program} did not finish within {secs} s and was stopped")]
    TimedOut { program: String, secs: u64 },
    #[error("waiting for {program}: {source}")]
    Wait {
        program: String,
        source: std::io::Error,
    },
}

impl RunError {
    /// The program was not found (or is not a program).
    pub fn is_not_found(&self) -> bool {
        matches!(self, RunError::Spawn { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// Runs `command` to its end, killing it (SIGKILL) when it is still running
/// after `limit`; returns how it ended and up to `max_output` bytes of its
/// output. Whatever the command's stdin/stdout/stderr were set to is
/// replaced.
pub fn run(command: &mut Command, limit: Duration, max_output: u64) -> Result<Finished, RunError> {
    let program = command.get_program().to_string_lossy().into_owned();
    let spawn = |source| RunError::Spawn {
        program: program.clone(),
        source,
    };
    let mut out = tempfile::tempfile().map_err(spawn)?;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(out.try_clone().map_err(spawn)?)
        .stderr(out.try_clone().map_err(spawn)?)
        .spawn()
        .map_err(spawn)?;
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(RunError::TimedOut {
                    program,
                    secs: limit.as_secs(),
                });
            }
            Ok(None) => std::thread::sleep(POLL),
            Err(source) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(RunError::Wait { program, source });
            }
        }
    };
    Ok(Finished {
        status,
        output: read_back(&mut out, max_output),
    })
}

/// Up to `max` bytes from the start of the file; what cannot be read is
/// left out (the exit status is what counts).
fn read_back(out: &mut File, max: u64) -> String {
    let mut bytes = Vec::new();
    let _ = out
        .seek(SeekFrom::Start(0))
        .and_then(|_| out.take(max).read_to_end(&mut bytes));
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("/bin/sh");
        c.args(["-c", script]);
        c
    }

    #[test]
    fn output_and_status_of_a_program_that_ends() {
        let done = run(
            &mut sh("echo one; echo two >&2; exit 3"),
            Duration::from_secs(10),
            1024,
        )
        .expect("ran");
        assert_eq!(done.status.code(), Some(3));
        assert_eq!(done.output, "one\ntwo\n");
        assert_eq!(done.last_line(), "two");
    }

    #[test]
    fn a_missing_program_is_told_apart() {
        let err = run(
            &mut Command::new("/nonexistent/fsck"),
            Duration::from_secs(1),
            1024,
        )
        .expect_err("no such program");
        assert!(err.is_not_found(), "{err}");
        assert!(
            err.to_string()
                .starts_with("/nonexistent/fsck cannot be run: "),
            "{err}"
        );
    }

    #[test]
    fn a_program_that_never_ends_is_stopped_at_the_limit() {
        let started = Instant::now();
        let err = run(&mut sh("sleep 30"), Duration::from_millis(300), 1024).expect_err("stopped");
        assert!(matches!(err, RunError::TimedOut { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_program_that_says_a_lot_is_not_held_up_and_its_output_is_capped() {
        // 2 MB, far more than a pipe holds: with pipes read afterwards this
        // would stop at the limit.
        let done = run(
            &mut sh("i=0; while [ $i -lt 20000 ]; do printf '%0100d\\n' $i; i=$((i+1)); done"),
            Duration::from_secs(60),
            4096,
        )
        .expect("ran");
        assert!(done.status.success());
        assert_eq!(done.output.len(), 4096);
    }

    #[test]
    fn a_daemon_left_behind_does_not_hold_the_caller() {
        // The background sleep keeps the output file open; the caller
        // returns when the shell itself ends.
        let started = Instant::now();
        let done = run(
            &mut sh("sleep 20 & echo started"),
            Duration::from_secs(10),
            1024,
        )
        .expect("ran");
        assert!(done.status.success());
        assert_eq!(done.output, "started\n");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
