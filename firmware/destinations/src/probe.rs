use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;

/// Size and type of a mounted file system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsInfo {
    pub free_bytes: u64,
    pub total_bytes: u64,
    /// Kernel name of the file system type, e.g. "ext4", "vfat", "cifs".
    pub filesystem: String,
    pub read_only: bool,
}

/// Reads free space and file system type of the file system holding `path`.
pub fn statfs_info(path: &Path) -> nix::Result<FsInfo> {
    let st = nix::sys::statfs::statfs(path)?;
    let vst = nix::sys::statvfs::statvfs(path)?;
    let block = vst.fragment_size();
    let fs = fs_name(st.filesystem_type().0 as i64);
    Ok(FsInfo {
        free_bytes: vst.blocks_available() * block,
        total_bytes: vst.blocks() * block,
        filesystem: fs,
        read_only: vst.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY),
    })
}

fn fs_name(magic: i64) -> String {
    match magic {
        0xEF53 => "ext4".into(),
        0x4d44 => "vfat".into(),
        0xFF534D42 => "cifs".into(),
        0xFE534D42 => "smb3".into(),
        0x2011BAB0 => "exfat".into(),
        0x01021994 => "tmpfs".into(),
        0x9123683E => "btrfs".into(),
        0x58465342 => "xfs".into(),
        0x5346544e | 0x7366746e => "ntfs".into(),
        0x794c7630 => "overlay".into(),
        other => format!("unknown (0x{other:x})"),
    }
}

/// Writes, reads back and deletes a small probe file in `dir`, the check
/// Test Connectivity makes. Returns the steps taken with their outcome, and
/// the first failure in plain words.
pub fn probe_folder(dir: &Path) -> (Vec<(String, String)>, Result<(), String>) {
    let mut steps = Vec::new();
    let name = format!(".probe-{}", std::process::id());
    let path = dir.join(&name);
    let payload: Vec<u8> = (0..4096u32).map(|i| (i * 7 + 3) as u8).collect();
    let write = (|| -> std::io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        f.write_all(&payload)?;
        f.sync_all()
    })();
    if let Err(e) = write {
        let _ = fs::remove_file(&path);
        let why = plain_io_error(&e);
        steps.push(("write a probe file".into(), format!("failed: {why}")));
        return (steps, Err(why));
    }
    steps.push(("write a probe file".into(), "ok".into()));
    let mut back = Vec::new();
    let read = File::open(&path).and_then(|mut f| f.read_to_end(&mut back));
    let read_ok = read.is_ok() && back == payload;
    let read_outcome = match &read {
        Err(e) => format!("failed: {}", plain_io_error(e)),
        Ok(_) if back != payload => {
            "failed: the data read back differs from what was written".into()
        }
        Ok(_) => "ok".into(),
    };
    steps.push(("read it back".into(), read_outcome.clone()));
    let removed = fs::remove_file(&path);
    steps.push((
        "delete it".into(),
        match &removed {
            Ok(()) => "ok".into(),
            Err(e) => format!("failed: {}", plain_io_error(e)),
        },
    ));
    if !read_ok {
        return (
            steps,
            Err(read_outcome.trim_start_matches("failed: ").to_string()),
        );
    }
    if let Err(e) = removed {
        return (steps, Err(plain_io_error(&e)));
    }
    (steps, Ok(()))
}

/// An I/O error in the words an administrator needs.
pub fn plain_io_error(e: &std::io::Error) -> String {
    use nix::errno::Errno;
    match e.raw_os_error().map(Errno::from_raw) {
        Some(Errno::ENOSPC) | Some(Errno::EDQUOT) => "the destination is full".into(),
        Some(Errno::EROFS) => "the destination is read-only".into(),
        Some(Errno::EACCES) | Some(Errno::EPERM) => "access denied".into(),
        Some(Errno::ENOENT) => "the folder does not exist".into(),
        Some(Errno::EIO) => "input/output error (the drive or share went away?)".into(),
        Some(Errno::ENODEV) | Some(Errno::ENXIO) => "the device is gone".into(),
        Some(Errno::EHOSTDOWN) | Some(Errno::EHOSTUNREACH) | Some(Errno::ECONNREFUSED) => {
            "the server cannot be reached".into()
        }
        _ => e.to_string(),
    }
}
