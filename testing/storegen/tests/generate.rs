use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

fn snapshot(root: &Path) -> BTreeMap<String, (u64, i64, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let e = e.expect("entry");
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).expect("meta");
            let rel = p
                .strip_prefix(root)
                .expect("prefix")
                .to_string_lossy()
                .into_owned();
            if m.is_dir() {
                stack.push(p.clone());
                out.insert(rel, (0, m.mtime(), Vec::new()));
            } else {
                out.insert(rel, (m.len(), m.mtime(), std::fs::read(&p).expect("read")));
            }
        }
    }
    out
}

#[test]
fn same_seed_same_tree_and_layout() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    let opts = storegen::Options {
        size: 3 << 20,
        ..Default::default()
    };
    let sa = storegen::generate(a.path(), &opts).expect("generate a");
    let sb = storegen::generate(b.path(), &opts).expect("generate b");
    assert_eq!(sa, sb);
    assert!(sa.bytes >= 3 << 20, "{sa:?}");
    let ta = snapshot(a.path());
    assert_eq!(ta, snapshot(b.path()), "same seed, same tree");
    for must in [
        "config/appliance.toml",
        "config/mailserver.cfg",
        "config/users.cfg",
        "license/license.key",
        "sslca/ca-root.crt",
        "sslcert/server.crt",
        "store/spamassassin/bayes_toks",
        "restore/README.txt",
    ] {
        assert!(ta.contains_key(must), "{must} missing");
    }
    let has = |frag: &str| ta.keys().any(|k| k.contains(frag));
    for frag in [
        "/Sent Items/cur/",
        "Entwürfe",
        "Входящие/2024",
        "store/public/",
        "store/queue/",
        "store/lists/",
        "store/contacts/",
        ".vcf",
    ] {
        assert!(has(frag), "nothing with {frag}");
    }
    // Dates spread over days: some messages inside a 24 h window, most outside.
    let now = opts.now;
    let msgs: Vec<_> = ta
        .iter()
        .filter(|(k, _)| {
            k.starts_with("store/mail/") && (k.contains("/cur/") || k.contains("/new/"))
        })
        .collect();
    let recent = msgs.iter().filter(|(_, v)| now - v.1 < 86_400).count();
    assert!(
        recent > 0 && recent < msgs.len() / 3,
        "{recent} of {}",
        msgs.len()
    );
    // Every message is RFC 5322: headers, a blank line, a body.
    for (k, v) in msgs.iter().take(50) {
        let text = String::from_utf8_lossy(&v.2);
        assert!(text.contains("\nDate: ") && text.contains("\n\n"), "{k}");
    }
    // Long tail: the largest message is far above the median.
    let mut sizes: Vec<u64> = msgs.iter().map(|(_, v)| v.0).collect();
    sizes.sort_unstable();
    assert!(
        sizes[sizes.len() - 1] > 8 * sizes[sizes.len() / 2],
        "{sizes:?}"
    );
}

#[test]
fn different_seed_differs_and_mutate_changes_a_share() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    let opts = storegen::Options {
        size: 2 << 20,
        ..Default::default()
    };
    storegen::generate(a.path(), &opts).expect("generate");
    storegen::generate(
        b.path(),
        &storegen::Options {
            seed: 9,
            ..opts.clone()
        },
    )
    .expect("generate");
    assert_ne!(snapshot(a.path()), snapshot(b.path()));
    let before = snapshot(a.path());
    let s = storegen::mutate(
        a.path(),
        &storegen::MutateOptions {
            percent: 10.0,
            seed: 3,
            now: opts.now + 86_400,
        },
    )
    .expect("mutate");
    assert!(
        s.deleted + s.renamed + s.rewritten > 0 && s.added > 0,
        "{s:?}"
    );
    let after = snapshot(a.path());
    let gone = before.keys().filter(|k| !after.contains_key(*k)).count();
    let new = after.keys().filter(|k| !before.contains_key(*k)).count();
    assert!(gone > 0 && new > 0);
    assert!(
        gone < before.len() / 2,
        "a mutation touches a share, not everything"
    );
}
