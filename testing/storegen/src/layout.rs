//! Names: domains, users, folders, Maildir file names.

use rand::Rng;
use rand::seq::IndexedRandom;

const DOMAIN_WORDS: &[&str] = &[
    "example",
    "acme",
    "northwind",
    "contoso",
    "fabrikam",
    "globex",
    "initech",
    "umbrella",
    "stark",
    "wayne",
    "tyrell",
    "cyberdyne",
    "hooli",
    "vandelay",
    "wonka",
    "soylent",
];
const TLDS: &[&str] = &["com", "net", "org", "cz", "de", "co.uk", "ru"];
const FIRST: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "zoe", "jiri",
    "katerina", "jurgen", "oleg", "svetlana",
];
const LAST: &[&str] = &[
    "smith", "novak", "mueller", "ivanov", "garcia", "kowalski", "dvorak", "schmidt", "petrov",
    "brown", "jones", "svoboda", "weber", "sokolov",
];

/// Mail folders of a user with their relative weight (share of messages).
/// Nested folders, spaces and non-ASCII names as real mailboxes have.
pub const FOLDERS: &[(&str, u32)] = &[
    ("INBOX", 50),
    ("Sent Items", 18),
    ("Deleted Items", 6),
    ("Drafts", 2),
    ("Entwürfe", 1),
    ("Junk E-mail", 4),
    ("Входящие/2024", 5),
    ("Projects/Alpha", 5),
    ("Projects/Beta/Specs & Notes", 3),
    ("Archive/2023/Q4", 6),
];

pub const PUBLIC_FOLDERS: &[&str] = &["Announcements", "Support/Tickets", "Příručky"];

pub fn domains(rng: &mut impl Rng, n: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(n);
    while out.len() < n {
        let w = DOMAIN_WORDS.choose(rng).copied().unwrap_or("example");
        let t = TLDS.choose(rng).copied().unwrap_or("com");
        let name = if out.len() < DOMAIN_WORDS.len() {
            format!("{w}.{t}")
        } else {
            format!("{w}{}.{t}", out.len())
        };
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

pub fn users(rng: &mut impl Rng, n: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(n);
    while out.len() < n {
        let f = FIRST.choose(rng).copied().unwrap_or("user");
        let l = LAST.choose(rng).copied().unwrap_or("x");
        let name = match out.len() % 3 {
            0 => f.to_string(),
            1 => format!("{f}.{l}"),
            _ => format!("{}{l}", &f[..1]),
        };
        let name = if out.contains(&name) {
            format!("{name}{}", out.len())
        } else {
            name
        };
        out.push(name);
    }
    out
}

pub fn person(rng: &mut impl Rng) -> (String, String) {
    let f = FIRST.choose(rng).copied().unwrap_or("user");
    let l = LAST.choose(rng).copied().unwrap_or("x");
    let mut display = String::new();
    display.push_str(&f[..1].to_ascii_uppercase());
    display.push_str(&f[1..]);
    display.push(' ');
    display.push_str(&l[..1].to_ascii_uppercase());
    display.push_str(&l[1..]);
    (display, format!("{f}.{l}"))
}

/// A Maildir file name: `<secs>.M<usec>P<pid>.<host>,S=<size>` with `:2,<flags>` in `cur`.
pub fn maildir_name(secs: i64, usec: u32, pid: u32, size: usize, cur: bool, flags: &str) -> String {
    if cur {
        format!("{secs}.M{usec}P{pid}.mail,S={size}:2,{flags}")
    } else {
        format!("{secs}.M{usec}P{pid}.mail,S={size}")
    }
}
