//! The command line: kmsrecover's options with their short and long forms,
//! and the appliance's additions (`--system`, `--resume`, `--verify`,
//! `--restart-network`).

use crate::parts::{Part, parse_mask};
use crate::report::{ProgressMode, Verbosity};
use crate::selection::Selection;
use crate::services::Hooks;
use crate::source::Source;
use crate::targets::{DEFAULT_CFGDIR, DEFAULT_STORE, Targets};
use crate::{Action, Request};
use clap::Parser;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Kerio's examples, adapted to the appliance (shown by `-h`).
pub const EXAMPLES: &str = "\
Masks (-m, any combination, comma-separated):
  cfg           config/mailserver.cfg and config/users.cfg
  license       the license             sslca     CA certificates
  sslcert       the server certificates mail      the mailboxes (store/mail)
  lists         mailing lists           public    public folders
  spamassassin  SpamAssassin databases  contacts  user and system contacts
  queue         the message queues      system    config/appliance.toml (network,
                                                  host name, FTP, backup; no passwords)

Without -d, -u, -f or -m everything in the set is restored over the current
data (the services are stopped and restarted; the data is swapped in only once
all of it is restored and checked). A folder means its newest restore point:
the newest full backup with its newest differential, or the newest copy.
Selective restores read only what they need and replace the restored files,
keeping everything else; add --verify to check the set's MD5 first.

Examples:
  Full backup recovery from the newest restore point (local folder or USB drive):
    recover /data/backup
    recover /media/usb
  From a particular set instead of the newest one:
    recover /data/backup/mail-F20051009T220008Z.tar
  A folder name with a space must be quoted:
    recover \"/media/usb/backup 2\"
  One user's mailbox, saved outside the appliance's store (in /data/restore/tmp):
    recover -d company.com -u smith -s /data/restore/tmp /data/backup
    recover -d company.com -u smith -s /data/restore/tmp /data/backup/mail-F20051009T220008Z.tar
  One folder of a user (Sent Items), each restored file shown (-v):
    recover -v -d company.com -u smith -f \"Sent Items\" /data/backup
    recover -v -d company.com -u smith -f \"Sent Items\" /data/backup/mail-F20051009T220008Z.tar
  A domain's public folders, keeping the current ones as *.BAK (-b):
    recover -b -d company.com -m public /data/backup
  Configuration, license and certificates only:
    recover -m cfg,license,sslca,sslcert /data/backup
  What a set holds, down to each folder of one user:
    recover -l -d company.com -u smith /data/backup
  The whole appliance, as the console's Restore From Backup does:
    recover --system /data/restore/mail-F20051009T220008Z.tar";

#[derive(Debug, Clone)]
struct Mask(Vec<Part>);

fn mask(s: &str) -> Result<Mask, String> {
    parse_mask(s).map(Mask)
}

/// `--location`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LocationArg {
    /// The configured backup location.
    Configured,
    /// The FTP restore folder.
    Restore,
    /// The appliance's own folder of sets (/data/backup), whatever the
    /// configured destination.
    Local,
}

#[derive(Debug, Parser)]
#[command(
    name = "recover",
    version,
    about = "Restore the appliance's data from a backup set (kmsrecover's options).",
    override_usage = "recover [options] <directory>|<file>",
    after_help = EXAMPLES
)]
pub struct Cli {
    /// Restore (or list with -l) the data of this domain.
    #[arg(short = 'd', long = "domain", value_name = "DOMAIN")]
    domain: Option<String>,
    /// Restore (or list with -l) this user's data (every domain without -d).
    #[arg(short = 'u', long = "user", value_name = "USER")]
    user: Option<String>,
    /// Restore this mail folder of the user (needs -d and -u); sub-folders with /.
    #[arg(short = 'f', long = "folder", value_name = "FOLDER")]
    folder: Option<String>,
    /// Where the store is restored (mail, public folders, lists, contacts, queues, SpamAssassin).
    #[arg(short = 's', long = "store", value_name = "DIR", default_value = DEFAULT_STORE)]
    store: PathBuf,
    /// Where config/, license/, sslca/ and sslcert/ are restored.
    #[arg(short = 'c', long = "cfgdir", value_name = "DIR", default_value = DEFAULT_CFGDIR)]
    cfgdir: PathBuf,
    /// Which parts to restore, e.g. -m cfg,license,sslca,sslcert (see below).
    #[arg(short = 'm', long = "mask", value_name = "PARTS", value_parser = mask)]
    mask: Option<Mask>,
    /// Keep the current data as <name>.BAK first (needs the space for a copy).
    #[arg(short = 'b', long = "backup")]
    backup: bool,
    /// No progress information (for logs).
    #[arg(short = 'g', long = "noprogress")]
    noprogress: bool,
    /// List what the set holds instead of restoring.
    #[arg(short = 'l', long = "listing")]
    listing: bool,
    /// Say nothing but errors and warnings.
    #[arg(short = 'q', long = "quiet", conflicts_with = "verbose")]
    quiet: bool,
    /// Show every restored file.
    #[arg(short = 'v', long = "verbose")]
    verbose: bool,
    /// Restore the whole appliance (what the console's Restore From Backup runs).
    #[arg(long, conflicts_with_all = ["domain", "user", "folder", "mask", "listing"])]
    system: bool,
    /// With a whole restore: keep this unit's identity instead of taking the
    /// set's (for a second unit made from another's backup; without it a
    /// replacement unit takes over the old unit's identity and its sets).
    #[arg(long, conflicts_with_all = ["domain", "user", "folder", "mask", "listing"])]
    keep_identity: bool,
    /// With a whole restore: the age identity file (age-keygen's key.txt)
    /// that opens the set's encrypted secrets (secrets.toml.age, *.key.age):
    /// they come back instead of this unit's own.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["domain", "user", "folder", "mask", "listing"])]
    secrets_identity: Option<std::path::PathBuf>,
    /// The age identity file (age-keygen's key.txt) that opens encrypted
    /// sets (.tar.age, written with backup.encrypt_recipient set).
    #[arg(long, value_name = "FILE")]
    identity: Option<std::path::PathBuf>,
    /// Finish or roll back an interrupted whole-system restore (run at boot).
    #[arg(long, conflicts_with_all = ["domain", "user", "folder", "mask", "listing", "system"])]
    resume: bool,
    /// Check the set's MD5 before a selective restore (reads the whole set).
    #[arg(long)]
    verify: bool,
    /// After a whole-system restore, restart the network interface so the
    /// restored address takes effect now.
    #[arg(long)]
    restart_network: bool,
    /// Init scripts of the services (host tests).
    #[arg(long, hide = true, default_value = "/etc/init.d")]
    init_dir: PathBuf,
    /// The appctl program (host tests).
    #[arg(long, hide = true, default_value = "appctl")]
    appctl: PathBuf,
    /// Read the sets from the configured backup location (local folder, SMB
    /// share or USB drive, opened as backupd opens it), the FTP restore
    /// folder or the local folder of sets (/data/backup, whatever the
    /// destination); the argument is then a set's name (none: the newest
    /// restore point there).
    #[arg(long, value_enum, value_name = "WHERE")]
    location: Option<LocationArg>,
    /// A folder of backup sets, or one file of a set (.tar, .tar.NNN or
    /// .tar.md5); with --location, a set's name.
    #[arg(
        value_name = "DIRECTORY|FILE",
        required_unless_present_any = ["resume", "location"]
    )]
    source: Option<PathBuf>,
}

impl Cli {
    /// The request, and how output is shown (`is_terminal`: standard output
    /// is a terminal, where a progress bar can be drawn).
    pub fn into_request(self, is_terminal: bool) -> (Request, ProgressMode, Verbosity) {
        let action = if self.resume {
            Action::Resume
        } else if self.listing {
            Action::List
        } else if self.system {
            Action::System
        } else {
            Action::Restore
        };
        let verbosity = if self.quiet {
            Verbosity::Quiet
        } else if self.verbose {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        };
        let progress = if self.noprogress || action == Action::List {
            ProgressMode::Off
        } else if is_terminal {
            ProgressMode::Bar
        } else {
            ProgressMode::Lines
        };
        let request = Request {
            action,
            source: match self.location {
                None => Source::Path(self.source.unwrap_or_default()),
                Some(l) => Source::Location {
                    location: match l {
                        LocationArg::Configured => destinations::Location::Configured,
                        LocationArg::Restore => destinations::Location::RestoreFolder,
                        LocationArg::Local => destinations::Location::Local,
                    },
                    set: self.source.map(|s| s.to_string_lossy().into_owned()),
                },
            },
            selection: Selection {
                domain: self.domain,
                user: self.user,
                folder: self.folder,
                mask: self.mask.map(|m| m.0),
            },
            targets: Targets {
                store: self.store,
                cfgdir: self.cfgdir,
            },
            keep_bak: self.backup,
            keep_identity: self.keep_identity,
            secrets_identity: self.secrets_identity,
            identity: self.identity,
            verify: self.verify,
            hooks: Hooks {
                init_dir: self.init_dir,
                appctl: self.appctl,
                restart_network: self.restart_network,
            },
            stop: Arc::new(AtomicBool::new(false)),
        };
        (request, progress, verbosity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Request, clap::Error> {
        Cli::try_parse_from(std::iter::once("recover").chain(args.iter().copied()))
            .map(|c| c.into_request(false).0)
    }

    #[test]
    fn kerio_forms() {
        let r = parse(&[
            "-d",
            "company.com",
            "-u",
            "smith",
            "-s",
            "/tmp/x",
            "/backup",
        ])
        .expect("short");
        assert_eq!(r.selection.domain.as_deref(), Some("company.com"));
        assert_eq!(r.targets.store, PathBuf::from("/tmp/x"));
        assert_eq!(r.targets.cfgdir, PathBuf::from("/data"));
        let r = parse(&[
            "--domain=company.com",
            "--user=smith",
            "--folder=Sent Items",
            "--mask=mail",
            "--cfgdir=/c",
            "--backup",
            "--noprogress",
            "--verbose",
            "/backup/F.tar",
        ])
        .expect("long");
        assert_eq!(r.selection.folder.as_deref(), Some("Sent Items"));
        assert_eq!(r.selection.mask, Some(vec![Part::Mail]));
        assert!(r.keep_bak);
        assert_eq!(
            parse(&["-m", "cfg,license,sslca,sslcert", "/b"])
                .expect("mask")
                .selection
                .mask
                .map(|m| m.len()),
            Some(4)
        );
        assert_eq!(parse(&["-l", "/b"]).expect("l").action, Action::List);
        assert_eq!(
            parse(&["--system", "/b"]).expect("sys").action,
            Action::System
        );
        assert_eq!(parse(&["--resume"]).expect("resume").action, Action::Resume);
        let r = parse(&["-d", "c.com", "--location", "local", "s.tar"]).expect("local");
        assert!(matches!(
            r.source,
            Source::Location {
                location: destinations::Location::Local,
                ..
            }
        ));
        assert!(parse(&["-q", "-v", "/b"]).is_err());
        assert!(parse(&["--system", "-d", "x", "/b"]).is_err());
        assert!(parse(&["-m", "nonsense", "/b"]).is_err());
        assert!(parse(&[]).is_err(), "the source is required");
    }
}
