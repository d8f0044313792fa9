//! The host's side of the campaign: the store carried into the appliance,
//! FAT32 drives read with mtools, `md5sum -c` of sets on the host, the
//! Samba server killed and started again, and a slow link to it.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::rng::Rng;
use super::sets::{Found, complete_sets, field, version_txt};

/// Runs a host command; its standard output, or why it failed.
pub fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{cmd:?} cannot run: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn mtools(tool: &str) -> Command {
    let mut c = Command::new(tool);
    c.env("MTOOLS_SKIP_CHECK", "1");
    c
}

/// The campaign's store: storegen's tree (message dates over 14 days, so
/// most bodies are older than the 24-hour window and sets hold them as
/// headers only) plus `payload_mib` of recent messages in the campaign's
/// own domain, `faults.test`, the only files the campaign changes. Packed
/// as a tar (GNU tar keeps the dates) for the appliance to unpack.
pub fn make_store_tar(
    work: &Path,
    store_mib: u64,
    payload_mib: u64,
    seed: u64,
) -> Result<PathBuf, String> {
    let root = work.join("data");
    let _ = std::fs::remove_dir_all(&root);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    storegen::generate(
        &root,
        &storegen::Options {
            size: store_mib << 20,
            seed,
            now,
            days: 14,
            hostname: "appliance".into(),
        },
    )
    .map_err(|e| format!("storegen: {e}"))?;
    let mut rng = Rng::derive(seed, "payload");
    let mut left = payload_mib << 20;
    let mut i = 0;
    while left > 0 {
        let user = i % 4;
        let dir = root.join(format!("store/mail/faults.test/user{user}/INBOX/cur"));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let size = (rng.range(64.0, 2048.0) as u64 * 1024).min(left);
        let mut body = format!(
            "From: sender@faults.test\r\nTo: user{user}@faults.test\r\nSubject: payload {i}\r\n\r\n"
        )
        .into_bytes();
        while (body.len() as u64) < size {
            body.extend_from_slice(&rng.next_u64().to_le_bytes());
        }
        std::fs::write(dir.join(format!("p{i}.eml")), &body)
            .map_err(|e| format!("payload: {e}"))?;
        left -= size;
        i += 1;
    }
    let tar = work.join("store.tar");
    run(Command::new("tar")
        .args(["-cf"])
        .arg(&tar)
        .args(["--owner=0", "--group=0", "--numeric-owner", "-C"])
        .arg(&root)
        .args([
            "store",
            "config/mailserver.cfg",
            "config/users.cfg",
            "license",
            "sslca",
            "sslcert",
        ]))?;
    let _ = std::fs::remove_dir_all(&root);
    Ok(tar)
}

/// A FAT32 image holding `files`, big enough for them.
pub fn carry_image(work: &Path, files: &[&Path]) -> Result<PathBuf, String> {
    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    let img = work.join("carry.img");
    systest::make_fat32_image(&img, (bytes >> 20) + 64, "CARRY").map_err(|e| e.to_string())?;
    let mut c = mtools("mcopy");
    c.arg("-i").arg(&img);
    for f in files {
        c.arg(f);
    }
    c.arg("::");
    run(&mut c)?;
    Ok(img)
}

/// Names in the root folder of a FAT image.
pub fn fat_names(img: &Path) -> Result<Vec<String>, String> {
    let listing = run(mtools("mdir").args(["-b", "-a", "-i"]).arg(img).arg("::"))?;
    Ok(listing
        .lines()
        .filter_map(|l| l.strip_prefix("::/"))
        .map(|s| s.trim_end_matches('/').to_string())
        .collect())
}

/// Bytes free on a FAT image.
pub fn fat_free(img: &Path) -> Result<u64, String> {
    let listing = run(mtools("mdir").args(["-i"]).arg(img).arg("::"))?;
    listing
        .lines()
        .find(|l| l.contains("bytes free"))
        .map(|l| l.chars().filter(char::is_ascii_digit).collect::<String>())
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| format!("no free space in mdir's output:\n{listing}"))
}

/// Writes a file of `bytes` zeros named `name` in the image's root.
pub fn fat_fill(img: &Path, work: &Path, name: &str, bytes: u64) -> Result<(), String> {
    let src = work.join(name);
    std::fs::File::create(&src)
        .and_then(|f| f.set_len(bytes))
        .map_err(|e| format!("filler: {e}"))?;
    let r = run(mtools("mcopy")
        .args(["-o", "-i"])
        .arg(img)
        .arg(&src)
        .arg(format!("::/{name}")));
    let _ = std::fs::remove_file(&src);
    r.map(|_| ())
}

pub fn fat_delete(img: &Path, name: &str) -> Result<(), String> {
    run(mtools("mdel").arg("-i").arg(img).arg(format!("::/{name}"))).map(|_| ())
}

/// Copies the sets' files (names ending in .tar, .tar.NNN, .tar.md5) off a
/// FAT image into `to` (emptied first); returns all the names on it.
pub fn fat_copy_sets(img: &Path, to: &Path) -> Result<Vec<String>, String> {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let names = fat_names(img)?;
    for n in &names {
        if n.starts_with('.') || !n.contains(".tar") {
            continue;
        }
        run(mtools("mcopy")
            .args(["-n", "-i"])
            .arg(img)
            .arg(format!("::/{n}"))
            .arg(to.join(n)))?;
    }
    Ok(names)
}

/// The sets in a host folder that look complete, each checked with the
/// host's `md5sum -c` (GNU coreutils, not the product's code).
pub fn check_folder(dir: &Path) -> Result<Vec<Found>, String> {
    let names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let mut found = Vec::new();
    for tar in complete_sets(&names) {
        let out = Command::new("md5sum")
            .arg("-c")
            .arg(format!("{tar}.md5"))
            .current_dir(dir)
            .output()
            .map_err(|e| format!("md5sum: {e}"))?;
        let ok = out.status.success();
        let why = if ok {
            String::new()
        } else {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            text.lines()
                .filter(|l| !l.ends_with(": OK"))
                .take(3)
                .collect::<Vec<_>>()
                .join("; ")
        };
        let base = if ok {
            let mut prefix = vec![0u8; 64 << 10];
            let n = if tar.ends_with(".tar.zst") {
                // The stock tool decompresses the start of a compressed set.
                std::process::Command::new("sh")
                    .arg("-c")
                    .arg("zstd -dc 2>/dev/null | head -c 65536")
                    .stdin(std::fs::File::open(dir.join(&tar)).map_err(|e| e.to_string())?)
                    .output()
                    .map(|o| {
                        let k = o.stdout.len().min(prefix.len());
                        prefix[..k].copy_from_slice(&o.stdout[..k]);
                        k
                    })
                    .unwrap_or(0)
            } else {
                std::fs::File::open(dir.join(&tar))
                    .and_then(|mut f| f.read(&mut prefix))
                    .unwrap_or(0)
            };
            prefix.truncate(n);
            version_txt(&prefix).and_then(|t| field(&t, "base"))
        } else {
            None
        };
        found.push(Found { tar, ok, why, base });
    }
    Ok(found)
}

/// Names in a host folder that are leftovers of interrupted runs (hidden
/// temporary files).
pub fn hidden_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default()
}

/// The process ids of the smbd processes started with `conf` (the test
/// server's own configuration file: nobody else's smbd matches).
pub fn smbd_pids(conf: &Path) -> Vec<i32> {
    let conf = conf.display().to_string();
    let mut pids = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return pids;
    };
    for e in rd.filter_map(|e| e.ok()) {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|&b| b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if args.first().is_some_and(|a| a.ends_with("smbd")) && args.contains(&conf) {
            pids.push(pid);
        }
    }
    pids
}

/// Kills the test server's smbd processes with SIGKILL, by id, until none
/// is left (a file server that crashes or loses power: no goodbye on any
/// connection). Returns how many were killed.
pub fn kill_smbd(conf: &Path) -> usize {
    let mut killed = 0;
    for _ in 0..20 {
        let pids = smbd_pids(conf);
        if pids.is_empty() {
            break;
        }
        for p in &pids {
            let _ = Command::new("kill")
                .args(["-KILL", &p.to_string()])
                .status();
        }
        killed += pids.len();
        std::thread::sleep(Duration::from_millis(100));
    }
    killed
}

/// A TCP relay on the host's loopback to `to_port` carrying at most `rate`
/// bytes a second each way per connection: a file server behind a slow
/// link, so a backup to it lasts long enough to be hit in the middle.
pub fn slow_link(to_port: u16, rate: f64) -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("relay: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(guest) = conn else { continue };
            let Ok(server) = TcpStream::connect(("127.0.0.1", to_port)) else {
                let _ = guest.shutdown(Shutdown::Both);
                continue;
            };
            for (from, to) in [
                (guest.try_clone(), server.try_clone()),
                (server.try_clone(), guest.try_clone()),
            ] {
                if let (Ok(from), Ok(to)) = (from, to) {
                    std::thread::spawn(move || pump(from, to, rate));
                }
            }
        }
    });
    Ok(port)
}

fn pump(mut from: TcpStream, mut to: TcpStream, rate: f64) {
    let mut buf = vec![0u8; 64 << 10];
    let mut credit = 0.0f64;
    let mut last = Instant::now();
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        let now = Instant::now();
        credit = (credit + now.duration_since(last).as_secs_f64() * rate).min(256.0 * 1024.0);
        last = now;
        credit -= n as f64;
        if credit < 0.0 {
            std::thread::sleep(Duration::from_secs_f64(-credit / rate));
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}
