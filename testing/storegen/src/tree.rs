//! A tree's whole content as a value, for tests that compare a restored
//! tree with the one that was backed up.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// What a tree holds: path → (kind `f`/`d`/`l`, mode, mtime for files,
/// contents or link target).
pub type Tree = BTreeMap<String, (char, u32, i64, Vec<u8>)>;

/// Reads everything under `root` (nothing if it does not exist), leaving
/// out the top-level entries named in `skip_top`. Panics on an unreadable
/// entry: this is for tests.
pub fn snapshot(root: &Path, skip_top: &[&str]) -> Tree {
    let mut out = Tree::new();
    if root.exists() {
        walk(root, root, skip_top, &mut out);
    }
    out
}

fn walk(root: &Path, dir: &Path, skip_top: &[&str], out: &mut Tree) {
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let e = e.expect("entry");
        let p = e.path();
        let rel = p
            .strip_prefix(root)
            .expect("prefix")
            .to_string_lossy()
            .into_owned();
        if skip_top.contains(&rel.as_str()) {
            continue;
        }
        let m = std::fs::symlink_metadata(&p).expect("meta");
        let mode = m.mode() & 0o7777;
        if m.file_type().is_symlink() {
            let t = std::fs::read_link(&p).expect("link");
            out.insert(rel, ('l', 0, 0, t.as_os_str().as_encoded_bytes().to_vec()));
        } else if m.is_dir() {
            out.insert(rel, ('d', mode, 0, Vec::new()));
            walk(root, &p, skip_top, out);
        } else {
            out.insert(
                rel,
                ('f', mode, m.mtime(), std::fs::read(&p).expect("read")),
            );
        }
    }
}

/// Panics with the first difference between two trees.
pub fn assert_same(expected: &Tree, got: &Tree) {
    for (k, v) in expected {
        match got.get(k) {
            None => panic!("{k} missing in the restored tree"),
            Some(w) => assert!(
                v == w,
                "{k} differs: {:?} vs {:?}",
                (v.0, v.1, v.2, v.3.len()),
                (w.0, w.1, w.2, w.3.len())
            ),
        }
    }
    for k in got.keys() {
        assert!(
            expected.contains_key(k),
            "{k} is extra in the restored tree"
        );
    }
}
