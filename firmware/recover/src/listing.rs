//! `-l/--listing`: what a set holds, part by part, down to every mail
//! folder with its message count and how many of those messages are
//! stored with their headers only. Read from the index alone (plus the
//! few bytes of the configuration folder), so it is quick on any set.

use crate::chain::{Chain, OpenSet};
use crate::error::RecoverError;
use crate::index::SetIndex;
use crate::parts::Part;
use crate::selection::Selection;
use backupset::timefmt;
use std::fmt::Write as _;

/// Folders of a Maildir that hold the messages of the folder above.
const MAILDIR: [&str; 3] = ["cur", "new", "tmp"];

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

const COLUMNS: &str = "messages  headers-only        size";

fn set_header(out: &mut String, set: &OpenSet, index: &SetIndex) {
    let v = &set.version;
    let s = &set.summary;
    let _ = writeln!(out, "Set {}", set.path().display());
    let base = match &v.base {
        Some(b) => format!(" based on {b}"),
        None => String::new(),
    };
    let _ = writeln!(
        out,
        "  {} backup of {}{base}, started {} UTC, firmware {} (set format {})",
        set.kind(),
        v.hostname,
        timefmt::utc_text(v.started),
        v.version,
        v.format
    );
    if let Some(unit) = &v.unit {
        let _ = writeln!(out, "  written by unit {unit}");
    }
    let vols = set.reader.volumes().len();
    let _ = writeln!(
        out,
        "  {}, {}{}; {}, {} of data; {} messages with headers only (body window {})",
        plural(vols as u64, "volume"),
        humanfmt::bytes(set.reader.total_size()),
        if set.reader.is_compressed() {
            " compressed"
        } else {
            ""
        },
        plural(s.count_files, "file"),
        humanfmt::bytes(s.total_size),
        s.headers_only_files,
        if v.body_window_hours == 0 {
            "off: every body kept".to_string()
        } else {
            format!("{} h", v.body_window_hours)
        }
    );
    if s.headers_only_files > 0 {
        let _ = writeln!(
            out,
            "  headers only: messages older than the body window, stored without their body;\n  \
             a restore puts them back only where the message is missing"
        );
    }
    if s.deleted_entries > 0 || set.kind() == backupset::SetKind::Differential {
        let _ = writeln!(
            out,
            "  changed or added since the full: the files below; deleted since: {} paths",
            s.deleted_entries
        );
    }
    if index.get(".").is_none() {
        let _ = writeln!(out, "  (no index)");
    }
}

/// Messages directly in a mail folder (its Maildir sub-folders).
fn own_messages(index: &SetIndex, folder: &str) -> (u64, u64, u64) {
    MAILDIR.iter().fold((0, 0, 0), |acc, m| {
        match index.counts(&format!("{folder}/{m}")) {
            Some((f, b, h)) => (
                acc.0.saturating_add(f),
                acc.1.saturating_add(b),
                acc.2.saturating_add(h),
            ),
            None => acc,
        }
    })
}

fn row(out: &mut String, indent: usize, name: &str, counts: (u64, u64, u64)) {
    let label = format!("{}{}", "  ".repeat(indent), name);
    let _ = writeln!(
        out,
        "{label:<44} {:>8} {:>13} {:>11}",
        counts.0,
        counts.2,
        humanfmt::bytes(counts.1)
    );
}

/// A mail folder tree: each folder with its own messages, then its sub-folders.
fn folders(out: &mut String, index: &SetIndex, dir: &str, indent: usize) {
    for (name, e) in index.child_names(dir) {
        if MAILDIR.contains(&name.as_str()) {
            continue;
        }
        row(out, indent, &name, own_messages(index, &e.path));
        folders(out, index, &e.path, indent + 1);
    }
}

fn mailboxes(out: &mut String, index: &SetIndex, sel: &Selection, base: &str) {
    let domains: Vec<String> = match &sel.domain {
        Some(d) => vec![d.clone()],
        None => index.child_names(base).into_keys().collect(),
    };
    for d in domains {
        let dpath = format!("{base}/{d}");
        let Some(de) = index.get(&dpath) else {
            let _ = writeln!(out, "    {d}: not in this set");
            continue;
        };
        if base == "store/public" {
            row(out, 2, &d, (de.files, de.bytes, de.headers_only));
            folders(out, index, &dpath, 3);
            continue;
        }
        let users: Vec<String> = match &sel.user {
            Some(u) => vec![u.clone()],
            None => index.child_names(&dpath).into_keys().collect(),
        };
        if sel.user.is_none() {
            row(out, 2, &d, (de.files, de.bytes, de.headers_only));
        }
        for u in users {
            let upath = format!("{dpath}/{u}");
            let Some(ue) = index.get(&upath) else {
                if sel.user.is_some() {
                    let _ = writeln!(out, "    {u}@{d}: no mailbox in this set");
                }
                continue;
            };
            match &sel.folder {
                None => {
                    row(
                        out,
                        3,
                        &format!("{u}@{d}"),
                        (ue.files, ue.bytes, ue.headers_only),
                    );
                    folders(out, index, &upath, 4);
                }
                Some(f) => {
                    let fpath = format!("{upath}/{}", f.trim_matches('/'));
                    if index.get(&fpath).is_some() {
                        row(
                            out,
                            3,
                            &format!("{u}@{d}: {f}"),
                            own_messages(index, &fpath),
                        );
                        folders(out, index, &fpath, 4);
                    } else {
                        let _ = writeln!(out, "    {u}@{d}: no folder {f:?} in this set");
                    }
                }
            }
        }
    }
}

fn per_domain_counts(out: &mut String, index: &SetIndex, sel: &Selection, base: &str, unit: &str) {
    for (d, e) in index.child_names(base) {
        if sel.domain.as_ref().is_some_and(|x| *x != d) {
            continue;
        }
        let _ = writeln!(
            out,
            "    {d}: {}, {}",
            plural(e.files, unit),
            humanfmt::bytes(e.bytes)
        );
    }
}

/// Names of the files in `config/` (read from the set: the index lists folders only).
fn config_files(set: &OpenSet, index: &SetIndex) -> Result<Vec<String>, RecoverError> {
    let mut names = Vec::new();
    if let Some(r) = index.range_for("config", false) {
        set.reader
            .entries(r, |e, _| {
                if e.path.starts_with("config/") && !e.path[7..].contains('/') {
                    names.push(e.path.clone());
                }
                Ok(())
            })
            .map_err(|e| RecoverError::from_set(&set.name(), e))?;
    }
    Ok(names)
}

fn part_section(
    out: &mut String,
    set: &OpenSet,
    index: &SetIndex,
    sel: &Selection,
    part: Part,
) -> Result<(), RecoverError> {
    let title = format!("  {} ({})", part.title(), part.name());
    if let Part::Cfg | Part::System = part {
        let files = config_files(set, index)?;
        let mine: Vec<&String> = files
            .iter()
            .filter(|f| part.paths().contains(&f.as_str()))
            .collect();
        let shown = if mine.is_empty() {
            "not in this set".to_string()
        } else {
            mine.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(out, "{title}: {shown}");
        return Ok(());
    }
    // Each of the other parts is one folder of the data tree.
    let base = part.paths()[0];
    let Some(e) = index.get(base) else {
        let _ = writeln!(out, "{title}: not in this set");
        return Ok(());
    };
    match part {
        Part::Mail | Part::Public => {
            let _ = writeln!(
                out,
                "{title}: {} messages ({} of them headers only), {}",
                e.files,
                e.headers_only,
                humanfmt::bytes(e.bytes)
            );
            let _ = writeln!(out, "{:<44} {COLUMNS}", "    folder");
            mailboxes(out, index, sel, base);
        }
        Part::Lists | Part::Contacts => {
            let _ = writeln!(
                out,
                "{title}: {}, {}",
                plural(e.files, "file"),
                humanfmt::bytes(e.bytes)
            );
            per_domain_counts(
                out,
                index,
                sel,
                base,
                if part == Part::Lists { "list" } else { "user" },
            );
        }
        Part::License | Part::SslCa | Part::SslCert | Part::SpamAssassin | Part::Queue => {
            let _ = write!(
                out,
                "{title}: {}, {}",
                plural(e.files, "file"),
                humanfmt::bytes(e.bytes)
            );
            if part == Part::Queue {
                let q: Vec<String> = index
                    .child_names(base)
                    .iter()
                    .map(|(n, e)| format!("{n} {}", e.files))
                    .collect();
                if !q.is_empty() {
                    let _ = write!(out, " ({})", q.join(", "));
                }
            }
            out.push('\n');
        }
        // Listed above, from the configuration files.
        Part::Cfg | Part::System => {}
    }
    Ok(())
}

/// The listing of every set of the chain (oldest first), narrowed by the
/// selection's domain, user, folder and mask.
pub fn listing(
    chain: &Chain,
    indexes: &[SetIndex],
    sel: &Selection,
) -> Result<String, RecoverError> {
    sel.check()?;
    let mut out = String::new();
    for (set, index) in chain.sets.iter().zip(indexes) {
        set_header(&mut out, set, index);
        let parts = sel.parts();
        let narrowed = sel.domain.is_some() || sel.user.is_some();
        for part in parts {
            // With -d/-u only the parts that belong to domains are listed,
            // unless the mask names others.
            if narrowed && !part.per_domain() && sel.mask.is_none() {
                continue;
            }
            if sel.user.is_some() && !part.per_user() {
                continue;
            }
            part_section(&mut out, set, index, sel, part)?;
        }
        out.push('\n');
    }
    Ok(out)
}
