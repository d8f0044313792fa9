//! Running the appliance's tools: short commands with a time limit
//! (`appctl network apply`), and long ones whose output is shown live
//! (`rauc install`, `recover`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::time::{Duration, Instant};

/// Output kept from a short command; the rest is dropped.
const MAX_OUTPUT: u64 = 64 << 10;

/// How a short command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Exit status 0.
    Ok { output: String },
    /// A non-zero exit status or a signal.
    Failed { status: String, output: String },
    /// The program is not installed.
    Missing { program: String },
    /// Still running after the time limit; it was killed.
    TimedOut { secs: u64 },
    /// It could not be started for another reason.
    Error { reason: String },
}

impl Outcome {
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok { .. })
    }

    /// One line for the screen: "ok", or what went wrong with the output's
    /// last line.
    pub fn summary(&self) -> String {
        let last = |output: &str| {
            output
                .lines()
                .rev()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(crate::format::printable)
        };
        match self {
            Outcome::Ok { output } => match last(output) {
                Some(l) => format!("ok ({l})"),
                None => "ok".into(),
            },
            Outcome::Failed { status, output } => match last(output) {
                Some(l) => format!("failed, {status}: {l}"),
                None => format!("failed, {status}"),
            },
            Outcome::Missing { program } => format!("{program} is not installed"),
            Outcome::TimedOut { secs } => format!("no answer within {secs} s, stopped"),
            Outcome::Error { reason } => format!("could not be started: {reason}"),
        }
    }
}

/// Whether `program` can be run: a path that exists, or a name found on `PATH`.
pub fn available(program: &str) -> bool {
    find_program(program).is_some()
}

fn find_program(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        p.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    if program.contains('/') {
        let p = PathBuf::from(program);
        return executable(&p).then_some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| executable(p))
}

/// Starts `argv` with standard input closed and standard output and error
/// merged into one pipe (they must never reach the terminal the screen owns).
fn spawn_merged(argv: &[String]) -> Result<(Child, std::io::PipeReader), Outcome> {
    let Some((program, args)) = argv.split_first() else {
        return Err(Outcome::Error {
            reason: "no command configured".into(),
        });
    };
    if !available(program) {
        return Err(Outcome::Missing {
            program: program.clone(),
        });
    }
    let error = |e: std::io::Error| Outcome::Error {
        reason: e.to_string(),
    };
    let (reader, writer) = std::io::pipe().map_err(error)?;
    let writer2 = writer.try_clone().map_err(error)?;
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(writer2)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Outcome::Missing {
                program: program.clone(),
            },
            _ => error(e),
        })?;
    Ok((child, reader))
}

fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => status.to_string(),
    }
}

/// Runs a short command to its end, killing it after `timeout`. Its output
/// goes to a file, not a pipe, so that neither a chatty command nor a
/// daemon it starts can hold the screen up.
pub fn run(argv: &[String], timeout: Duration) -> Outcome {
    let Some((program, args)) = argv.split_first() else {
        return Outcome::Error {
            reason: "no command configured".into(),
        };
    };
    if !available(program) {
        return Outcome::Missing {
            program: program.clone(),
        };
    }
    match timedcmd::run(Command::new(program).args(args), timeout, MAX_OUTPUT) {
        Ok(done) if done.status.success() => Outcome::Ok {
            output: done.output,
        },
        Ok(done) => Outcome::Failed {
            status: describe(done.status),
            output: done.output,
        },
        Err(e) if e.is_not_found() => Outcome::Missing {
            program: program.clone(),
        },
        Err(timedcmd::RunError::TimedOut { secs, .. }) => Outcome::TimedOut { secs },
        Err(e) => Outcome::Error {
            reason: e.to_string(),
        },
    }
}

/// A long command whose output is shown as it comes.
pub struct Job {
    child: Child,
    lines: Receiver<String>,
    /// The output pipe has closed (every writer has exited).
    eof: bool,
    /// How and when the command itself ended.
    ended: Option<(bool, String, Instant)>,
}

impl Job {
    /// Starts `argv`; the error says why it could not be started.
    pub fn start(argv: &[String]) -> Result<Job, Outcome> {
        let (child, reader) = spawn_merged(argv)?;
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(reader);
            let mut buf = Vec::new();
            // Progress output often ends lines with '\r' only: split on both.
            loop {
                buf.clear();
                match read_until_either(&mut reader, &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = crate::format::printable(&String::from_utf8_lossy(&buf));
                        if !line.trim().is_empty() && tx.send(line).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Ok(Job {
            child,
            lines: rx,
            eof: false,
            ended: None,
        })
    }

    /// New output lines since the last call.
    pub fn take_lines(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            match self.lines.try_recv() {
                Ok(line) => out.push(line),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.eof = true;
                    break;
                }
            }
        }
        out
    }

    /// `Some(ok)` once the command has ended and its output has been read
    /// (or, if something it started keeps the pipe open, shortly after).
    pub fn finished(&mut self) -> Option<bool> {
        if self.ended.is_none() {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    self.ended = Some((status.success(), describe(status), Instant::now()))
                }
                Ok(None) => return None,
                Err(e) => self.ended = Some((false, e.to_string(), Instant::now())),
            }
        }
        let (ok, _, when) = self.ended.as_ref()?;
        (self.eof || when.elapsed() > Duration::from_secs(2)).then_some(*ok)
    }

    /// How it ended, e.g. "exit status 1", once it has.
    pub fn status(&self) -> Option<&str> {
        self.ended.as_ref().map(|(_, s, _)| s.as_str())
    }
}

fn read_until_either(reader: &mut impl BufRead, out: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut total = 0;
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(total);
        }
        match available.iter().position(|&b| b == b'\n' || b == b'\r') {
            Some(i) => {
                out.extend_from_slice(&available[..i]);
                reader.consume(i + 1);
                return Ok(total + i + 1);
            }
            None => {
                let n = available.len();
                out.extend_from_slice(available);
                reader.consume(n);
                total += n;
                // A line without an end must not grow without bound.
                if out.len() > 4096 {
                    return Ok(total);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<String> {
        vec!["/bin/sh".into(), "-c".into(), script.into()]
    }

    #[test]
    fn success_and_failure_with_output() {
        let ok = run(&sh("echo applying; echo done >&2"), Duration::from_secs(10));
        assert_eq!(ok.summary(), "ok (done)");
        let bad = run(
            &sh("echo 'eth9: no such interface'; exit 3"),
            Duration::from_secs(10),
        );
        assert_eq!(
            bad.summary(),
            "failed, exit status 3: eth9: no such interface"
        );
    }

    #[test]
    fn missing_program_is_reported() {
        let out = run(
            &["/nonexistent/appctl".to_string(), "accounts".to_string()],
            Duration::from_secs(1),
        );
        assert_eq!(
            out,
            Outcome::Missing {
                program: "/nonexistent/appctl".into()
            }
        );
        assert!(!available("surely-not-a-real-program-name"));
        assert!(available("sh"));
    }

    #[test]
    fn slow_command_is_stopped() {
        let out = run(&sh("sleep 30"), Duration::from_millis(200));
        assert_eq!(out, Outcome::TimedOut { secs: 0 });
    }

    #[test]
    fn job_streams_lines_split_on_carriage_returns() {
        let mut job = Job::start(&sh("printf '10%%\\r20%%\\rdone\\n'; echo oops >&2; exit 1"))
            .expect("start");
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut lines = Vec::new();
        let ok = loop {
            lines.extend(job.take_lines());
            if let Some(ok) = job.finished() {
                break ok;
            }
            assert!(Instant::now() < deadline, "job did not end");
            std::thread::sleep(Duration::from_millis(10));
        };
        assert!(!ok);
        assert_eq!(job.status(), Some("exit status 1"));
        assert_eq!(lines, ["10%", "20%", "done", "oops"]);
    }
}
