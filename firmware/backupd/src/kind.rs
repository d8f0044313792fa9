//! The configuration's backup type and the set format's set kind: the same
//! three kinds, named in two crates that do not know each other.

use appconfig::BackupType;
use backupset::SetKind;

/// The kind of set a backup of `kind` writes.
pub fn set_kind(kind: BackupType) -> SetKind {
    match kind {
        BackupType::Full => SetKind::Full,
        BackupType::Differential => SetKind::Differential,
        BackupType::Copy => SetKind::Copy,
    }
}

/// The backup type a set of `kind` reports (control protocol, history).
pub fn backup_type(kind: SetKind) -> BackupType {
    match kind {
        SetKind::Full => BackupType::Full,
        SetKind::Differential => BackupType::Differential,
        SetKind::Copy => BackupType::Copy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_letter_and_name() {
        for t in [BackupType::Full, BackupType::Differential, BackupType::Copy] {
            let k = set_kind(t);
            assert_eq!(backup_type(k), t);
            assert_eq!(k.letter(), t.letter());
            assert_eq!(k.to_string(), t.to_string());
        }
    }
}
