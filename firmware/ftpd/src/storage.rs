//! libunftp's storage back-end for the appliance: the virtual tree of
//! [`crate::vfs`] over `/data/backup` (read-only) and `/data/restore`
//! (uploads through [`crate::upload`]), with transfers that give up when
//! the client stops moving data, and a log line for everything that changes
//! or leaves the appliance.

use crate::channel::{Link, Request};
use crate::space;
use crate::transfer::{self, Stalled};
use crate::upload::TempUpload;
use crate::vfs::{self, Folder, PathError, Target};
use async_trait::async_trait;
use std::fmt::Debug;
use std::fs::File;
use std::net::IpAddr;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{AsyncRead, AsyncSeekExt, AsyncWrite};
use unftp_core::auth::DefaultUser;
use unftp_core::storage::{
    Error, ErrorKind, FEATURE_RESTART, Fileinfo, Metadata, Permissions, Result, StorageBackend,
};

/// How long a transfer may go without moving a byte before it is dropped.
pub const DEFAULT_STALL: Duration = Duration::from_secs(120);

/// What a session tells the rest of the service, and asks of it.
#[derive(Debug, Clone, Default)]
pub struct SessionLinks {
    /// The control connection: an upload whose client hung up on it before
    /// hearing "transfer complete" was abandoned, not completed.
    pub control: Option<Arc<OwnedFd>>,
    /// The link to the supervisor: told of each completed upload to
    /// `restore`, so it checks new sets.
    pub link: Option<Arc<Link>>,
}

/// The two real folders behind the tree, and who is using them.
#[derive(Debug, Clone)]
pub struct ApplianceFs {
    pub backup_dir: PathBuf,
    pub restore_dir: PathBuf,
    /// The client's address, for log lines.
    pub peer: IpAddr,
    pub links: SessionLinks,
    pub stall: Duration,
}

/// What a listing or `SIZE`/`MDTM`/`MLST` reports about an entry.
#[derive(Debug, Clone)]
pub struct Meta {
    dir: bool,
    len: u64,
    modified: SystemTime,
    mode: u32,
}

impl Metadata for Meta {
    fn len(&self) -> u64 {
        self.len
    }
    fn is_dir(&self) -> bool {
        self.dir
    }
    fn is_file(&self) -> bool {
        !self.dir
    }
    fn is_symlink(&self) -> bool {
        false
    }
    fn modified(&self) -> Result<SystemTime> {
        Ok(self.modified)
    }
    fn gid(&self) -> u32 {
        0
    }
    fn uid(&self) -> u32 {
        0
    }
    fn permissions(&self) -> Permissions {
        Permissions(self.mode)
    }
}

fn not_found(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
    Error::new(ErrorKind::PermanentFileNotAvailable, e)
}

fn denied(why: String) -> Error {
    Error::new(ErrorKind::PermissionDenied, why)
}

/// The entry for one of the two folders; the real folder's time when it exists.
fn folder_meta(folder: Folder, dir: &Path) -> Meta {
    Meta {
        dir: true,
        len: 0,
        modified: std::fs::metadata(dir)
            .and_then(|m| m.modified())
            .unwrap_or_else(|_| SystemTime::now()),
        mode: if folder.writable() { 0o755 } else { 0o555 },
    }
}

/// The entry for a plain file; anything else (symlink, folder, device) is
/// reported as absent.
fn file_meta(folder: Folder, path: &Path) -> std::io::Result<Meta> {
    let m = std::fs::symlink_metadata(path)?;
    if !m.file_type().is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "not a plain file",
        ));
    }
    Ok(Meta {
        dir: false,
        len: m.len(),
        modified: m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        mode: if folder.writable() { 0o644 } else { 0o444 },
    })
}

/// Opens a plain file for reading without following a symlink, and without
/// hanging on a FIFO someone may have left there.
fn open_regular(path: &Path) -> std::io::Result<(File, u64)> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)?;
    let m = f.metadata()?;
    if !m.file_type().is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "not a plain file",
        ));
    }
    Ok((f, m.size()))
}

/// Whether the client has closed its side of the control connection.
fn hung_up(control: &OwnedFd) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd;
    // nix has no name for POLLRDHUP: the peer's FIN, even with unread data.
    let gone =
        PollFlags::from_bits_retain(nix::libc::POLLRDHUP) | PollFlags::POLLHUP | PollFlags::POLLERR;
    let mut fds = [PollFd::new(control.as_fd(), gone)];
    // Only the events asked for (and POLLNVAL) make poll count the fd:
    // nix's revents() cannot be used, it gives None for POLLRDHUP.
    matches!(poll(&mut fds, PollTimeout::ZERO), Ok(n) if n > 0)
}

/// An upload whose session ends before it does: the temporary file goes
/// with it (dropped), and this says so in the log.
struct PendingUpload<'a> {
    who: String,
    shown: &'a str,
    settled: bool,
}

impl Drop for PendingUpload<'_> {
    fn drop(&mut self) {
        if !self.settled {
            log::warn!(
                "{}: upload of {} abandoned: the session ended before it completed; the partial file was removed",
                self.who,
                self.shown
            );
        }
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

impl ApplianceFs {
    pub fn new(backup_dir: PathBuf, restore_dir: PathBuf, peer: IpAddr) -> ApplianceFs {
        ApplianceFs {
            backup_dir,
            restore_dir,
            peer,
            links: SessionLinks::default(),
            stall: DEFAULT_STALL,
        }
    }

    fn dir(&self, folder: Folder) -> &Path {
        match folder {
            Folder::Backup => &self.backup_dir,
            Folder::Restore => &self.restore_dir,
        }
    }

    fn who(&self) -> String {
        format!("{}@{}", appconfig::FTP_USER, self.peer)
    }

    /// Resolves a path, logging attempts to leave the tree.
    fn resolve(&self, path: &Path) -> Result<Target> {
        vfs::resolve(path).map_err(|e| {
            if !matches!(e, PathError::NotUtf8(_)) {
                log::info!("{}: refused {e}", self.who());
            }
            not_found(e)
        })
    }

    /// Resolves a path that must name a file.
    fn file(&self, path: &Path) -> Result<(Folder, String)> {
        match self.resolve(path)? {
            Target::File(f, n) => Ok((f, n)),
            other => Err(not_found(format!("{} is not a file", other.display()))),
        }
    }

    /// Resolves a path that must name a file in `restore` that may be changed.
    fn writable_file(&self, path: &Path, action: &str) -> Result<(Folder, String)> {
        let (folder, name) = self.file(path)?;
        if !folder.writable() {
            let why = format!(
                "refused to {action} /{}/{name}: the {} folder is read-only",
                folder.name(),
                folder.name()
            );
            log::warn!("{}: {why}", self.who());
            return Err(denied(why));
        }
        if let Some(problem) = vfs::upload_name_problem(&name) {
            log::warn!("{}: refused to {action} {name:?}: {problem}", self.who());
            return Err(Error::new(ErrorKind::FileNameNotAllowedError, problem));
        }
        Ok((folder, name))
    }

    fn list_folder(
        &self,
        folder: Folder,
        pattern: Option<&str>,
    ) -> Result<Vec<Fileinfo<PathBuf, Meta>>> {
        let dir = self.dir(folder);
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            // A folder not created yet is empty, not an error.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::new(ErrorKind::LocalError, e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::new(ErrorKind::LocalError, e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if !vfs::visible(&name) || pattern.is_some_and(|p| !vfs::matches(p, &name)) {
                continue;
            }
            if let Ok(metadata) = file_meta(folder, &entry.path()) {
                out.push(Fileinfo {
                    path: PathBuf::from(name),
                    metadata,
                });
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    async fn upload_finished(&self, name: &str) {
        if backupset::SetName::parse_file(name).is_none() {
            return;
        }
        if let Some(link) = &self.links.link {
            // A supervisor that is gone has nobody to check the set.
            let _ = link.send(&Request::Uploaded).await;
        }
    }
}

#[async_trait]
impl StorageBackend<DefaultUser> for ApplianceFs {
    type Metadata = Meta;

    fn name(&self) -> &str {
        "appliance"
    }

    fn supported_features(&self) -> u32 {
        FEATURE_RESTART
    }

    async fn metadata<P: AsRef<Path> + Send + Debug>(
        &self,
        _user: &DefaultUser,
        path: P,
    ) -> Result<Meta> {
        match self.resolve(path.as_ref())? {
            Target::Root => Ok(Meta {
                dir: true,
                len: 0,
                modified: SystemTime::now(),
                mode: 0o555,
            }),
            Target::Folder(f) => Ok(folder_meta(f, self.dir(f))),
            Target::File(f, n) => file_meta(f, &self.dir(f).join(n)).map_err(not_found),
            Target::Pattern(..) => Err(not_found("a wildcard names no single file")),
        }
    }

    /// As vsftpd does, a listing of something that is not there is empty
    /// rather than an error (an error after "150" leaves TLS clients with a
    /// half-open data connection).
    async fn list<P: AsRef<Path> + Send + Debug>(
        &self,
        _user: &DefaultUser,
        path: P,
    ) -> Result<Vec<Fileinfo<PathBuf, Meta>>>
    where
        Meta: Metadata,
    {
        let Ok(target) = self.resolve(path.as_ref()) else {
            return Ok(Vec::new());
        };
        match target {
            Target::Root => Ok(Folder::ALL
                .into_iter()
                .map(|f| Fileinfo {
                    path: PathBuf::from(f.name()),
                    metadata: folder_meta(f, self.dir(f)),
                })
                .collect()),
            Target::Folder(f) => self.list_folder(f, None),
            Target::Pattern(f, p) => self.list_folder(f, Some(&p)),
            Target::File(f, n) => Ok(file_meta(f, &self.dir(f).join(&n))
                .map(|metadata| Fileinfo {
                    path: PathBuf::from(n),
                    metadata,
                })
                .into_iter()
                .collect()),
        }
    }

    async fn get<P: AsRef<Path> + Send + Debug>(
        &self,
        _user: &DefaultUser,
        path: P,
        start_pos: u64,
    ) -> Result<Box<dyn AsyncRead + Send + Sync + Unpin>> {
        let (folder, name) = self.file(path.as_ref())?;
        let (file, _) = open_regular(&self.dir(folder).join(name)).map_err(not_found)?;
        let mut file = tokio::fs::File::from_std(file);
        file.seek(std::io::SeekFrom::Start(start_pos)).await?;
        Ok(Box::new(file))
    }

    async fn get_into<'a, P, W: ?Sized>(
        &self,
        _user: &DefaultUser,
        path: P,
        start_pos: u64,
        output: &'a mut W,
    ) -> Result<u64>
    where
        W: AsyncWrite + Unpin + Sync + Send,
        P: AsRef<Path> + Send + Debug,
    {
        let (folder, name) = self.file(path.as_ref())?;
        let shown = format!("/{}/{name}", folder.name());
        let (file, size) = open_regular(&self.dir(folder).join(&name)).map_err(not_found)?;
        let mut file = tokio::fs::File::from_std(file);
        file.seek(std::io::SeekFrom::Start(start_pos)).await?;
        let started = Instant::now();
        let (sent, result) = transfer::copy(&mut file, output, self.stall).await;
        let from = if start_pos > 0 {
            format!(" from byte {start_pos}")
        } else {
            String::new()
        };
        match result {
            Ok(()) => {
                log::info!(
                    "{}: sent {shown} ({sent} of {size} bytes{from}) in {}",
                    self.who(),
                    secs(started.elapsed())
                );
                Ok(sent)
            }
            Err(e) => {
                log::warn!(
                    "{}: download of {shown} stopped after {sent} bytes{from}: {}",
                    self.who(),
                    transfer::describe(&e)
                );
                Err(transfer::storage_error(e))
            }
        }
    }

    async fn put<P: AsRef<Path> + Send + Debug, R: AsyncRead + Send + Sync + Unpin + 'static>(
        &self,
        _user: &DefaultUser,
        input: R,
        path: P,
        start_pos: u64,
    ) -> Result<u64> {
        let mut input = input;
        // libunftp has already said "150 ready to receive": a refusal takes
        // the client's bytes (up to a limit) so it hears the reason instead
        // of a broken connection.
        let (folder, name) = match self.writable_file(path.as_ref(), "upload") {
            Ok(f) => f,
            Err(e) => {
                transfer::discard(&mut input, self.stall).await;
                return Err(e);
            }
        };
        let shown = format!("/{}/{name}", folder.name());
        if start_pos > 0 {
            // The partial file of an interrupted upload is never kept, so
            // there is nothing to resume or append to.
            log::warn!(
                "{}: refused to resume or append to {shown}: upload the whole file again",
                self.who()
            );
            transfer::discard(&mut input, self.stall).await;
            return Err(Error::new(
                ErrorKind::CommandNotImplemented,
                "resumed uploads are not supported",
            ));
        }
        let dir = self.dir(folder).to_path_buf();
        let (temp, file) = match TempUpload::create(&dir, &name) {
            Ok(t) => t,
            Err(e) => {
                log::error!("{}: cannot start the upload of {shown}: {e}", self.who());
                transfer::discard(&mut input, self.stall).await;
                return Err(Error::from(e));
            }
        };
        // Every write keeps the mail store's share of the partition free.
        let mut file = space::Guarded::new(tokio::fs::File::from_std(file), dir.clone());
        let mut pending = PendingUpload {
            who: self.who(),
            shown: &shown,
            settled: false,
        };
        let started = Instant::now();
        let (received, mut result) = transfer::copy(&mut input, &mut file, self.stall).await;
        if result.is_ok() {
            result = file.get_mut().sync_all().await.map_err(Stalled::Write);
        }
        if result.is_ok() {
            // A client that hung up without waiting for "transfer complete"
            // abandoned the upload; its end of data is not the file's end.
            tokio::time::sleep(Duration::from_millis(100)).await;
            if self.links.control.as_deref().is_some_and(hung_up) {
                result = Err(Stalled::Abandoned);
            }
        }
        drop(file);
        let result = result.and_then(|()| temp.publish(&dir.join(&name)).map_err(Stalled::Write));
        pending.settled = true;
        match result {
            Ok(()) => {
                log::info!(
                    "{}: received {shown} ({received} bytes) in {}",
                    self.who(),
                    secs(started.elapsed())
                );
                self.upload_finished(&name).await;
                Ok(received)
            }
            Err(e) => {
                log::warn!(
                    "{}: upload of {shown} failed after {received} bytes: {}; the partial file was removed",
                    self.who(),
                    transfer::describe(&e)
                );
                if matches!(e, Stalled::Write(_)) {
                    // Let the client finish sending so it reads "452" rather
                    // than a reset connection.
                    transfer::discard(&mut input, self.stall).await;
                }
                Err(transfer::storage_error(e))
            }
        }
    }

    async fn del<P: AsRef<Path> + Send + Debug>(&self, _user: &DefaultUser, path: P) -> Result<()> {
        let (folder, name) = self.writable_file(path.as_ref(), "delete")?;
        let real = self.dir(folder).join(&name);
        file_meta(folder, &real).map_err(not_found)?;
        std::fs::remove_file(&real)?;
        log::info!("{}: deleted /{}/{name}", self.who(), folder.name());
        Ok(())
    }

    async fn mkd<P: AsRef<Path> + Send + Debug>(&self, _user: &DefaultUser, path: P) -> Result<()> {
        let shown = path.as_ref().display().to_string();
        log::info!(
            "{}: refused to make folder {shown:?}: the tree is fixed",
            self.who()
        );
        Err(denied("the folders of this server are fixed".into()))
    }

    async fn rename<P: AsRef<Path> + Send + Debug>(
        &self,
        _user: &DefaultUser,
        from: P,
        to: P,
    ) -> Result<()> {
        let (ff, from_name) = self.writable_file(from.as_ref(), "rename")?;
        let (tf, to_name) = self.writable_file(to.as_ref(), "rename to")?;
        let from_real = self.dir(ff).join(&from_name);
        file_meta(ff, &from_real).map_err(not_found)?;
        std::fs::rename(&from_real, self.dir(tf).join(&to_name))?;
        log::info!(
            "{}: renamed /{}/{from_name} to /{}/{to_name}",
            self.who(),
            ff.name(),
            tf.name()
        );
        self.upload_finished(&to_name).await;
        Ok(())
    }

    async fn rmd<P: AsRef<Path> + Send + Debug>(&self, _user: &DefaultUser, path: P) -> Result<()> {
        let shown = path.as_ref().display().to_string();
        log::info!(
            "{}: refused to remove folder {shown:?}: the tree is fixed",
            self.who()
        );
        Err(denied("the folders of this server are fixed".into()))
    }

    async fn cwd<P: AsRef<Path> + Send + Debug>(&self, _user: &DefaultUser, path: P) -> Result<()> {
        match self.resolve(path.as_ref())? {
            Target::Root | Target::Folder(_) => Ok(()),
            other => Err(Error::new(
                ErrorKind::PermanentDirectoryNotAvailable,
                format!("{} is not a folder", other.display()),
            )),
        }
    }
}
