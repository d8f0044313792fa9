mod common;

use backupset::SetError;
use backupset::SetKind;
use common::*;
use std::os::unix::ffi::OsStrExt;

#[test]
fn sockets_fifos_odd_names_are_reported_and_the_rest_backed_up() {
    let fx = Fixture::new(512 << 10);
    let odd = fx.data.join("store/odd");
    std::fs::create_dir_all(&odd).expect("mkdir");
    let _sock = std::os::unix::net::UnixListener::bind(odd.join("a.sock")).expect("socket");
    nix::unistd::mkfifo(
        &odd.join("a.fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .expect("fifo");
    let bad = std::ffi::OsStr::from_bytes(b"bad-\xff-name");
    std::fs::write(odd.join(bad), b"x").expect("non-utf8");
    // Deep path (beyond ustar's 256 bytes) and a 255-byte name.
    let mut deep = odd.clone();
    for i in 0..12 {
        deep.push(format!("level-{i}-Входящие-{}", "x".repeat(20)));
    }
    std::fs::create_dir_all(&deep).expect("deep");
    let long_name = "n".repeat(255);
    std::fs::write(deep.join(&long_name), b"deep file").expect("long");
    std::fs::write(odd.join("plain.txt"), b"kept").expect("plain");

    let out = fx.write(&fx.options(SetKind::Full, NOW + 60));
    assert_eq!(out.problem_count, 3, "{:?}", out.problems);
    let text = out.problems.join("\n");
    assert!(text.contains("a.sock: is a socket"), "{text}");
    assert!(text.contains("a.fifo: is a FIFO"), "{text}");
    assert!(text.contains("not valid UTF-8"), "{text}");
    assert_eq!(out.summary.skipped_files, 3);

    let names: Vec<String> = out.volumes.iter().map(|v| v.name.clone()).collect();
    let restored = fx.tmp.path().join("restored");
    gnu_extract(&fx.dest, &names, &restored);
    let r = restored.join("@backup/store/odd");
    assert_eq!(std::fs::read(r.join("plain.txt")).expect("plain"), b"kept");
    let rel_deep = deep.strip_prefix(&odd).expect("prefix");
    assert_eq!(
        std::fs::read(r.join(rel_deep).join(&long_name)).expect("deep"),
        b"deep file"
    );
    assert!(!r.join("a.sock").exists() && !r.join("a.fifo").exists());
}

#[test]
fn missing_data_root_is_a_clear_error() {
    let fx = Fixture::new(256 << 10);
    let mut opts = fx.options(SetKind::Full, NOW);
    opts.data_root = fx.tmp.path().join("nope");
    match backupset::write_set(&opts, &backupset::Progress::default()) {
        Err(SetError::DataRoot { .. }) => {}
        other => panic!("expected a data root error, got {other:?}"),
    }
    assert_eq!(
        std::fs::read_dir(&fx.dest).expect("dest").count(),
        0,
        "nothing left behind"
    );
}

/// A compressed set that does not fit: the writer's error stops every
/// stage (scanner, compressing workers, hasher) within bounded time, and
/// nothing is left behind. Incompressible data, so the set is large.
#[test]
fn a_full_destination_stops_a_compressed_backup_cleanly() {
    let mut fx = Fixture::new(1 << 20);
    fx.compress = Some(UNIT_LEVEL);
    let queue = fx.data.join("store/queue/incoming");
    std::fs::create_dir_all(&queue).expect("queue");
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for i in 0..24 {
        let bytes: Vec<u8> = (0..(1 << 20))
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        std::fs::write(queue.join(format!("m{i}")), bytes).expect("random file");
    }
    let small = fx.tmp.path().join("small");
    std::fs::create_dir_all(&small).expect("mkdir");
    nix::mount::mount(
        Some("tmpfs"),
        &small,
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        Some("size=4m"),
    )
    .expect("mount a 4 MB tmpfs (tests run as root)");
    struct Unmount<'a>(&'a std::path::Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = nix::mount::umount2(self.0, nix::mount::MntFlags::MNT_DETACH);
        }
    }
    let _guard = Unmount(&small);
    let mut opts = fx.options(SetKind::Full, NOW);
    opts.dest_dir = small.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(backupset::write_set(&opts, &backupset::Progress::default()));
    });
    let result = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the backup ends instead of hanging");
    let err = result.expect_err("must not fit");
    assert!(matches!(err, SetError::DestinationFull { .. }), "{err:?}");
    let left: Vec<String> = std::fs::read_dir(&small)
        .expect("dir")
        .map(|e| e.expect("e").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.is_empty(), "partial files gone: {left:?}");
}

#[test]
fn destination_full_is_a_clear_error_and_leaves_older_sets() {
    let fx = Fixture::new(1 << 20);
    let small = fx.tmp.path().join("small");
    std::fs::create_dir_all(&small).expect("mkdir");
    // A real size-limited file system (the tests run as root).
    nix::mount::mount(
        Some("tmpfs"),
        &small,
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        Some("size=1600k"),
    )
    .expect("mount a 1.6 MB tmpfs (tests run as root)");
    struct Unmount<'a>(&'a std::path::Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = nix::mount::umount2(self.0, nix::mount::MntFlags::MNT_DETACH);
        }
    }
    let _guard = Unmount(&small);
    let mut opts = fx.options(SetKind::Full, NOW);
    opts.dest_dir = small.clone();
    let first = fx.write(&opts);
    let before: Vec<_> = first
        .volumes
        .iter()
        .map(|v| std::fs::read(small.join(&v.name)).expect("read"))
        .collect();

    storegen::generate(
        &fx.data.join("store/more"),
        &storegen::Options {
            size: 1 << 20,
            seed: 7,
            ..Default::default()
        },
    )
    .expect("more data");
    let mut opts2 = fx.options(SetKind::Full, NOW + 60);
    opts2.dest_dir = small.clone();
    let err =
        backupset::write_set(&opts2, &backupset::Progress::default()).expect_err("must not fit");
    assert!(matches!(err, SetError::DestinationFull { .. }), "{err:?}");
    assert!(err.to_string().contains("destination is full"), "{err}");
    let mut left: Vec<String> = std::fs::read_dir(&small)
        .expect("dir")
        .map(|e| e.expect("e").file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [first.name.tar_name(), first.name.md5_name()],
        "partial files gone"
    );
    let after: Vec<_> = first
        .volumes
        .iter()
        .map(|v| std::fs::read(small.join(&v.name)).expect("read"))
        .collect();
    assert!(before == after, "older set untouched");
    md5sum_check(&small, &first.name.md5_name());
    // The state still belongs to the first full.
    let st = backupset::state::StateReader::open(&fx.state.join("full.state")).expect("state");
    assert_eq!(st.base, first.name.tar_name());
}

#[test]
fn a_file_growing_during_the_backup_is_stored_as_read_and_reported() {
    let fx = Fixture::new(256 << 10);
    let growing = fx.data.join("store/queue/incoming/growing.eml");
    std::fs::create_dir_all(fx.data.join("store/queue/incoming")).expect("mkdir");
    std::fs::write(&growing, vec![b'x'; 24 << 20]).expect("write");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let path = growing.clone();
        std::thread::spawn(move || {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .expect("open");
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                f.write_all(&[b'y'; 4096]).expect("append");
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
        })
    };
    let out = fx.write(&fx.options(SetKind::Full, NOW + 60));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().expect("writer");
    assert_eq!(out.summary.changed_files, 1, "{:?}", out.problems);
    assert!(
        out.problems
            .iter()
            .any(|p| p.contains("growing.eml: changed while it was read")),
        "{:?}",
        out.problems
    );
    md5sum_check(&fx.dest, &out.name.md5_name());
    // Marked so the next differential stores it again.
    let diff = fx.write(&fx.options(SetKind::Differential, NOW + 120));
    let set = backupset::SetReader::open(&fx.dest, &diff.name.tar_name()).expect("open");
    let queue = set
        .find("store/queue/incoming")
        .expect("find")
        .expect("queue folder in the differential");
    assert!(queue.files >= 1);
}

#[test]
fn excluded_folders_are_left_out_however_they_are_spelled() {
    let fx = Fixture::new(256 << 10);
    let inside = fx.data.join("store/sets");
    std::fs::create_dir_all(&inside).expect("mkdir");
    std::fs::write(inside.join("old.tar"), b"not data").expect("write");
    let mut opts = fx.options(SetKind::Full, NOW);
    opts.exclude
        .push(std::path::PathBuf::from(format!("{}//store/sets/", fx.data.display())).into());
    let out = fx.write(&opts);
    let names: Vec<String> = out.volumes.iter().map(|v| v.name.clone()).collect();
    let listing = tar_list(&fx.dest, &names);
    assert!(
        !listing.iter().any(|l| l.contains("store/sets")),
        "{listing:?}"
    );
    assert!(listing.iter().any(|l| l.contains("store/mail/")));
}
