//! Mounts a share, writes, reads back and deletes a probe file, reports the
//! dialect and free space, and unmounts: the SMB check the QEMU system
//! tests run inside the guest, and a tool for a technician.
//!
//! The password is read from standard input (one line) or the file named by
//! --password-file, never from the command line. The share is mounted in a
//! private folder under --mount-base, so this runs beside backupd's own
//! mounts; --hold keeps it mounted a while and probes again after (tests of
//! mounts side by side).

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use smbmount::{Login, MountConfig, Resolver, Share, UpnForm};
use std::io::{BufRead, Read, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, ValueEnum)]
enum Upn {
    Split,
    Whole,
}

#[derive(Parser)]
#[command(
    version,
    about = "Test an SMB share the way the SMB destination uses it"
)]
struct Args {
    /// Server: IP address or fully qualified name, optionally :port.
    #[arg(long)]
    server: String,
    #[arg(long)]
    share: String,
    /// Folder inside the share.
    #[arg(long, default_value = "")]
    path: String,
    /// DOMAIN\user, user@fqdn or user.
    #[arg(long)]
    user: String,
    /// Read the password from this file instead of standard input.
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// DNS server for names (repeatable).
    #[arg(long)]
    dns: Vec<Ipv4Addr>,
    /// The share is mounted in a folder of its own under this one.
    #[arg(long, default_value = smbmount::DEFAULT_MOUNT_BASE)]
    mount_base: PathBuf,
    /// After the probe, keep the share mounted this many seconds, then
    /// probe again.
    #[arg(long, default_value_t = 0)]
    hold: u64,
    /// How user@fqdn goes to the kernel.
    #[arg(long, value_enum, default_value = "split")]
    upn: Upn,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    applog::init(
        c"smbtest",
        applog::Options {
            echo_stderr: true,
            to_syslog: false,
            ..Default::default()
        },
    );
    let password = match &args.password_file {
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("reading {}", p.display()))?
            .trim_end_matches(['\r', '\n'])
            .to_string(),
        None => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    let upn = match args.upn {
        Upn::Split => UpnForm::Split,
        Upn::Whole => UpnForm::Whole,
    };
    let share = Share::new(&args.server, &args.share, &args.path)?;
    let login = Login::parse(&args.user, &password, upn)?;
    let cfg = MountConfig {
        mount_base: args.mount_base,
        upn,
        ..Default::default()
    };
    let addr = smbmount::resolve(&share.server, &Resolver::new(&args.dns))?;
    println!("resolve: ok ({addr})");
    smbmount::reach::check_reachable(addr, share.server.port, cfg.connect_timeout)?;
    println!("reach: ok (port {})", share.server.port);
    let m = smbmount::mount_at(&share, addr, &login, &cfg)?;
    println!("mount: ok (SMB {}) at {}", m.dialect(), m.dir().display());
    let mut result = probe(m.dir(), "1");
    if result.is_ok() {
        println!("probe: ok (wrote, read back, deleted {} bytes)", PROBE_LEN);
    }
    if result.is_ok() && args.hold > 0 {
        println!("holding: {} s", args.hold);
        std::io::stdout().flush()?;
        std::thread::sleep(std::time::Duration::from_secs(args.hold));
        result = probe(m.dir(), "2").context("after holding the share");
        if result.is_ok() {
            println!("probe after holding: ok");
        }
    }
    if let Ok(st) = nix::sys::statvfs::statvfs(m.dir()) {
        println!("free: {} bytes", st.blocks_available() * st.fragment_size());
    }
    m.unmount()?;
    println!("unmount: ok");
    result?;
    println!("OK");
    Ok(())
}

const PROBE_LEN: u32 = 65536;

/// Writes, flushes, reads back, compares and deletes a probe file.
fn probe(dir: &Path, tag: &str) -> anyhow::Result<()> {
    let probe = dir.join(format!(".smbtest-{}-{tag}", std::process::id()));
    let data: Vec<u8> = (0..PROBE_LEN).map(|i| (i * 31 + 7) as u8).collect();
    let result = (|| -> anyhow::Result<()> {
        let mut f = std::fs::File::create(&probe).context("writing a probe file")?;
        f.write_all(&data).context("writing a probe file")?;
        f.sync_all().context("flushing the probe file")?;
        let mut back = Vec::new();
        std::fs::File::open(&probe)
            .and_then(|mut f| f.read_to_end(&mut back))
            .context("reading the probe file back")?;
        if back != data {
            bail!("the probe file read back differs from what was written");
        }
        Ok(())
    })();
    let removed = std::fs::remove_file(&probe);
    result?;
    removed.context("deleting the probe file")
}
