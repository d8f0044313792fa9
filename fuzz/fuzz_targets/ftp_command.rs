#![no_main]
//! Any bytes from an FTP client, as ftpd's front reads them: lines of at
//! most 4 KiB (never more held), each split into verb and argument, and
//! the address arguments of PORT and EPRT parsed; and any bytes as
//! libunftp's replies. Never a panic, never a line past the limit.

use ftpd::ftpcmd::{Command, Got, LineBuf, ReplyBuf, parse_eprt, parse_port};
use libfuzzer_sys::fuzz_target;

const MAX: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread().build() else {
        return;
    };
    rt.block_on(async {
        let mut input = data;
        let mut lines = LineBuf::new(MAX);
        loop {
            match lines.next(&mut input).await {
                Ok(Got::Line(l)) => {
                    assert!(l.len() <= MAX, "a line of {} bytes", l.len());
                    let c = Command::parse(&l);
                    let arg = c.arg_text();
                    match c.verb.as_str() {
                        "PORT" => {
                            let _ = parse_port(&arg);
                        }
                        "EPRT" => {
                            let _ = parse_eprt(&arg);
                        }
                        _ => {}
                    }
                }
                Ok(Got::TooLong) | Ok(Got::Eof) | Err(_) => break,
            }
        }
        let mut input = data;
        let mut replies = ReplyBuf::default();
        while let Ok(Some(r)) = replies.next(&mut input).await {
            let _ = r.text();
            let _ = r.bytes();
        }
    });
});
