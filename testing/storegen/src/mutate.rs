//! Changing a generated tree the way a day of mail does: new messages,
//! flag changes (Maildir renames), edited drafts, deletions, and a removed
//! folder.

use crate::error::{GenError, io_at};
use crate::generate::{Writer, epoch};
use crate::layout;
use crate::message::{self, MessageSpec, Pools};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use std::fs::{self, File, FileTimes, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct MutateOptions {
    /// Share of the messages touched, in percent; as many new ones are added.
    pub percent: f64,
    pub seed: u64,
    /// Changed and added files get times just before this.
    pub now: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MutateStats {
    pub deleted: u64,
    pub renamed: u64,
    pub rewritten: u64,
    pub added: u64,
    pub added_bytes: u64,
    pub folders_removed: u64,
}

/// All files under `dir`, sorted, so the same seed touches the same files.
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), GenError> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_at(dir)(e)),
    };
    let mut entries: Vec<_> = rd.collect::<Result<_, _>>().map_err(io_at(dir))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        if e.file_type().map_err(io_at(&path))?.is_dir() {
            files_under(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

pub fn mutate(root: &Path, opts: &MutateOptions) -> Result<MutateStats, GenError> {
    if !(0.0..=100.0).contains(&opts.percent) {
        return Err(GenError::Invalid(
            "percent must be between 0 and 100".into(),
        ));
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(opts.seed ^ 0x5eed_cafe);
    let pools = Pools::new(&mut rng);
    let mut files = Vec::new();
    for top in ["store/mail", "store/public", "store/queue"] {
        files_under(&root.join(top), &mut files)?;
    }
    let messages = files.len();
    let share = opts.percent / 100.0;
    let mut stats = MutateStats::default();
    let mut folders: Vec<PathBuf> = Vec::new();
    let mut buf = Vec::new();
    for path in &files {
        if let Some(folder) = path.parent().and_then(Path::parent)
            && path.starts_with(root.join("store/mail"))
            && folders.last().map(PathBuf::as_path) != Some(folder)
        {
            folders.push(folder.to_path_buf());
        }
        if !rng.random_bool(share) {
            continue;
        }
        match rng.random_range(0..100u32) {
            0..35 => {
                fs::remove_file(path).map_err(io_at(path))?;
                stats.deleted += 1;
            }
            35..70 => {
                let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                let in_cur = path.parent().and_then(Path::file_name) == Some("cur".as_ref());
                let target = if in_cur {
                    path.with_file_name(format!("{name}R"))
                } else {
                    match path.parent().and_then(Path::parent) {
                        Some(folder) => folder.join("cur").join(format!("{name}:2,S")),
                        None => continue,
                    }
                };
                if let Some(d) = target.parent() {
                    fs::create_dir_all(d).map_err(io_at(d))?;
                }
                fs::rename(path, &target).map_err(io_at(path))?;
                stats.renamed += 1;
            }
            _ => {
                let size = fs::metadata(path).map_err(io_at(path))?.len() as usize;
                let date = opts.now - rng.random_range(60..3600);
                let extra = rng.random_range(0..2000);
                let id = rng.random();
                message::build(
                    &mut rng,
                    &pools,
                    &MessageSpec {
                        date,
                        from: ("Draft Writer", "drafts@example.com"),
                        to: ("Someone", "someone@example.com"),
                        size: size + extra,
                        id,
                    },
                    &mut buf,
                );
                let mut f = File::create(path).map_err(io_at(path))?;
                f.write_all(&buf).map_err(io_at(path))?;
                let t = epoch(date);
                f.set_times(FileTimes::new().set_modified(t).set_accessed(t))
                    .map_err(io_at(path))?;
                stats.rewritten += 1;
            }
        }
    }
    // New mail, delivered into `new/` within the last hours.
    let mut w = Writer::new(root);
    let adds = (messages as f64 * share).ceil() as usize;
    if !folders.is_empty() {
        for i in 0..adds {
            let folder = &folders[rng.random_range(0..folders.len())];
            let Ok(rel_folder) = folder.strip_prefix(root) else {
                continue;
            };
            let date = opts.now - rng.random_range(60..6 * 3600);
            let size = rng.random_range(800..60_000);
            let (display, addr) = layout::person(&mut rng);
            let from = format!("{addr}@example.org");
            let id = rng.random();
            message::build(
                &mut rng,
                &pools,
                &MessageSpec {
                    date,
                    from: (&display, &from),
                    to: ("Recipient", "recipient@example.com"),
                    size,
                    id,
                },
                &mut buf,
            );
            let name = layout::maildir_name(date, i as u32, 7, buf.len(), false, "");
            w.file(&rel_folder.join("new").join(name), &buf, date)?;
            stats.added += 1;
            stats.added_bytes += buf.len() as u64;
        }
    }
    // A user removes a whole folder now and then.
    if share > 0.0 && folders.len() > 2 {
        let victim = &folders[rng.random_range(0..folders.len())];
        if victim.exists() {
            fs::remove_dir_all(victim).map_err(io_at(victim))?;
            stats.folders_removed += 1;
        }
    }
    let users = root.join("config/users.cfg");
    if users.exists() {
        let mut f = OpenOptions::new()
            .append(true)
            .open(&users)
            .map_err(io_at(&users))?;
        writeln!(f, "<!-- changed {} -->", opts.now).map_err(io_at(&users))?;
        let t = epoch(opts.now - 10);
        f.set_times(FileTimes::new().set_modified(t).set_accessed(t))
            .map_err(io_at(&users))?;
    }
    Ok(stats)
}
