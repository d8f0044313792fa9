//! A QMP client: JSON commands over QEMU's monitor socket.

use crate::HarnessError;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

pub struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    /// Events seen while waiting for replies, oldest first.
    pub events: Vec<Value>,
}

impl Qmp {
    /// Connects (QEMU creates the socket shortly after it starts) and
    /// negotiates capabilities.
    pub fn connect(path: &Path, timeout: Duration) -> Result<Qmp, HarnessError> {
        let deadline = Instant::now() + timeout;
        let stream = loop {
            match UnixStream::connect(path) {
                Ok(s) => break s,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => {
                    return Err(HarnessError::io(format!(
                        "connecting to QMP at {}",
                        path.display()
                    ))(e));
                }
            }
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(HarnessError::io("QMP socket"))?;
        let writer = stream.try_clone().map_err(HarnessError::io("QMP socket"))?;
        let mut qmp = Qmp {
            reader: BufReader::new(stream),
            writer,
            events: Vec::new(),
        };
        qmp.read_message("greeting")?;
        qmp.execute("qmp_capabilities", json!({}))?;
        Ok(qmp)
    }

    fn read_message(&mut self, command: &str) -> Result<Value, HarnessError> {
        let mut line = String::new();
        let n = self
            .reader
            .read_line(&mut line)
            .map_err(|e| HarnessError::Qmp {
                command: command.into(),
                reason: e.to_string(),
            })?;
        if n == 0 {
            return Err(HarnessError::Qmp {
                command: command.into(),
                reason: "QEMU closed the monitor".into(),
            });
        }
        serde_json::from_str(&line).map_err(|e| HarnessError::Qmp {
            command: command.into(),
            reason: format!("bad reply {line:?}: {e}"),
        })
    }

    /// Runs a command and returns its `return` value.
    pub fn execute(&mut self, command: &str, arguments: Value) -> Result<Value, HarnessError> {
        let msg = json!({"execute": command, "arguments": arguments});
        let mut bytes = msg.to_string().into_bytes();
        bytes.push(b'\n');
        self.writer
            .write_all(&bytes)
            .map_err(|e| HarnessError::Qmp {
                command: command.into(),
                reason: e.to_string(),
            })?;
        loop {
            let v = self.read_message(command)?;
            if let Some(r) = v.get("return") {
                return Ok(r.clone());
            }
            if let Some(e) = v.get("error") {
                return Err(HarnessError::Qmp {
                    command: command.into(),
                    reason: e.to_string(),
                });
            }
            if v.get("event").is_some() {
                self.events.push(v);
            }
        }
    }

    /// Waits for an event named `name` whose `data` passes `matches`: an
    /// earlier event of the same name about something else (another
    /// device, a drive's child device) is left where it is.
    pub fn wait_event_matching(
        &mut self,
        name: &str,
        matches: impl Fn(&Value) -> bool,
        timeout: Duration,
    ) -> Result<Value, HarnessError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(i) = self
                .events
                .iter()
                .position(|e| e["event"] == name && matches(&e["data"]))
            {
                return Ok(self.events.remove(i));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(HarnessError::Qmp {
                    command: format!("wait for {name}"),
                    reason: format!("no event within {} s", timeout.as_secs()),
                });
            }
            self.reader
                .get_ref()
                .set_read_timeout(Some(left))
                .map_err(HarnessError::io("QMP socket"))?;
            let v = self.read_message(name);
            let _ = self
                .reader
                .get_ref()
                .set_read_timeout(Some(Duration::from_secs(30)));
            let v = v?;
            if v.get("event").is_some() {
                self.events.push(v);
            }
        }
    }
}
