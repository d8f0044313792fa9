#![no_main]
//! Any bytes on a control socket (backupd's or hotplugd's): served by the
//! real connection loop with a handler that only echoes the request kind.
//! Every request gets a reply or the connection ends; never a panic, and a
//! line is never held beyond the request limit.

use libfuzzer_sys::fuzz_target;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<control::backupd::Request>(data);
    let _ = serde_json::from_slice::<control::hotplug::Request>(data);
    let Ok((mut client, server)) = UnixStream::pair() else {
        return;
    };
    let served = std::thread::spawn(move || {
        control::serve_connection(
            server,
            Duration::from_secs(5),
            |r: control::backupd::Request| control::backupd::Reply::Reloaded {
                message: format!("{r:?}").chars().take(64).collect(),
            },
            |message| control::backupd::Reply::Error { message },
        )
    });
    let _ = client.write_all(data);
    let _ = client.shutdown(std::net::Shutdown::Write);
    let mut out = Vec::new();
    let _ = client.read_to_end(&mut out);
    let _ = served.join();
});
