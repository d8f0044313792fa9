//! Shared by the set fuzz targets: any bytes as a backup set, run through
//! recover as its command line would.

use std::path::Path;

fn md5_hex(data: &[u8]) -> String {
    use md5::Digest;
    md5::Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            out.push(p.clone());
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                walk(&p, out);
            }
        }
    }
}

/// Runs recover as its command line would, with these arguments.
fn recover_with(args: &[&str]) {
    use clap::Parser;
    let argv = std::iter::once("recover").chain(args.iter().copied());
    if let Ok(cli) = recover::options::Cli::try_parse_from(argv) {
        let (request, _, _) = cli.into_request(false);
        let _ = recover::run(&request, &mut recover::Reporter::quiet());
    }
}

/// Writes `data` as the first volume `name` of a set with a matching .md5
/// and runs recover over it: listed, restored whole and selectively, or
/// refused; checks that nothing was written outside the target.
pub fn exercise(data: &[u8], name: &str) {
    let Ok(tmp) = tempfile::tempdir() else { return };
    let sets = tmp.path().join("sets");
    let target = tmp.path().join("target");
    if std::fs::create_dir_all(&sets).is_err() {
        return;
    }
    let _ = std::fs::write(sets.join(name), data);
    let _ = std::fs::write(
        sets.join(format!("{name}.md5")),
        format!("{}  {name}\n", md5_hex(data)),
    );
    let set_path = sets.join(name);
    let (set, target_text) = (set_path.to_string_lossy(), target.to_string_lossy());
    let store = format!("{target_text}/store");
    for extra in [
        &["-l"][..],
        &[][..],
        &["-l", "-d", "a.com", "-u", "bob"][..],
        &["-d", "a.com", "-u", "bob"][..],
    ] {
        let mut args = vec!["-g", "-q", "-c", &target_text, "-s", &store];
        args.extend_from_slice(extra);
        args.push(&set);
        recover_with(&args);
    }
    let mut all = Vec::new();
    walk(tmp.path(), &mut all);
    for p in all {
        assert!(
            p.starts_with(&sets) || p.starts_with(&target),
            "written outside the target: {}",
            p.display()
        );
    }
}
