//! RFC 5322 message bodies built from pre-generated pools of text, so that a
//! gigabyte of mail is made at memory-copy speed.

use crate::dates::rfc5322;
use rand::Rng;
use rand::seq::IndexedRandom;

const WORDS: &[&str] = &[
    "the",
    "invoice",
    "meeting",
    "please",
    "attached",
    "regards",
    "schedule",
    "project",
    "quarterly",
    "report",
    "review",
    "deadline",
    "customer",
    "shipment",
    "order",
    "contract",
    "update",
    "thanks",
    "tomorrow",
    "morning",
    "server",
    "backup",
    "and",
    "of",
    "to",
    "in",
    "for",
    "we",
    "will",
    "you",
    "your",
    "Grüße",
    "vielen",
    "Dank",
    "привет",
    "спасибо",
    "děkuji",
    "zítra",
    "budget",
    "draft",
    "agenda",
    "minutes",
    "follow-up",
    "issue",
];
const SUBJECT_WORDS: &[&str] = &[
    "Re:",
    "Fwd:",
    "Invoice",
    "Meeting",
    "Quarterly",
    "report",
    "Project",
    "update",
    "Angebot",
    "Счёт",
    "Objednávka",
    "lunch",
    "Q3",
    "numbers",
    "urgent",
    "review",
];
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Pools of body text and base64 lines that messages are cut from.
pub struct Pools {
    text: Vec<u8>,
    base64: Vec<u8>,
}

const POOL: usize = 2 << 20;

impl Pools {
    pub fn new(rng: &mut impl Rng) -> Pools {
        let mut text = Vec::with_capacity(POOL + 128);
        let mut line = 0;
        while text.len() < POOL {
            let w = WORDS.choose(rng).copied().unwrap_or("x");
            text.extend_from_slice(w.as_bytes());
            line += w.len() + 1;
            if line > 68 {
                text.push(b'\n');
                line = 0;
            } else {
                text.push(b' ');
            }
        }
        let mut base64 = Vec::with_capacity(POOL + 80);
        while base64.len() < POOL {
            for _ in 0..76 {
                base64.push(B64[rng.random_range(0..64)]);
            }
            base64.push(b'\n');
        }
        Pools { text, base64 }
    }

    /// Appends `n` bytes cut from `pool` at a random place.
    fn cut(rng: &mut impl Rng, pool: &[u8], out: &mut Vec<u8>, mut n: usize) {
        while n > 0 {
            let start = rng.random_range(0..pool.len() / 2);
            let take = n.min(pool.len() - start);
            out.extend_from_slice(&pool[start..start + take]);
            n -= take;
        }
    }
}

/// Who, when and how big.
pub struct MessageSpec<'a> {
    pub date: i64,
    pub from: (&'a str, &'a str),
    pub to: (&'a str, &'a str),
    pub size: usize,
    pub id: u64,
}

/// Writes one message of about `spec.size` bytes into `out` (cleared first).
pub fn build(rng: &mut impl Rng, pools: &Pools, spec: &MessageSpec<'_>, out: &mut Vec<u8>) {
    out.clear();
    let date = rfc5322(spec.date);
    let subject: Vec<&str> = (0..rng.random_range(2..7))
        .map(|_| SUBJECT_WORDS.choose(rng).copied().unwrap_or("x"))
        .collect();
    let from_domain = spec.from.1.rsplit('@').next().unwrap_or("example.com");
    let to_domain = spec.to.1.rsplit('@').next().unwrap_or("example.com");
    let hop = rng.random_range(1..250u8);
    let header = format!(
        "Return-Path: <{fa}>\n\
         Received: from mx{hop}.{fd} (mx{hop}.{fd} [192.0.2.{hop}])\n\tby mail.{td} with ESMTPS id {id:x}\n\tfor <{ta}>; {date}\n\
         Message-ID: <{id:x}.{date_n}@{fd}>\n\
         Date: {date}\n\
         From: {fn_} <{fa}>\n\
         To: {tn} <{ta}>\n\
         Subject: {subject}\n\
         MIME-Version: 1.0\n",
        fa = spec.from.1,
        fd = from_domain,
        td = to_domain,
        ta = spec.to.1,
        fn_ = spec.from.0,
        tn = spec.to.0,
        id = spec.id,
        date_n = spec.date,
        subject = subject.join(" "),
    );
    out.extend_from_slice(header.as_bytes());
    // Big messages carry an attachment, as they do in real stores.
    if spec.size > 48 << 10 {
        let boundary = format!("=_b{:x}", spec.id);
        out.extend_from_slice(
            format!(
                "Content-Type: multipart/mixed; boundary=\"{boundary}\"\n\n--{boundary}\n\
                 Content-Type: text/plain; charset=utf-8\n\n"
            )
            .as_bytes(),
        );
        Pools::cut(rng, &pools.text, out, 2000);
        out.extend_from_slice(
            format!(
                "\n--{boundary}\nContent-Type: application/pdf; name=\"scan-{:x}.pdf\"\n\
                 Content-Transfer-Encoding: base64\n\n",
                spec.id
            )
            .as_bytes(),
        );
        let rest = spec.size.saturating_sub(out.len() + boundary.len() + 8);
        Pools::cut(rng, &pools.base64, out, rest);
        out.extend_from_slice(format!("\n--{boundary}--\n").as_bytes());
    } else {
        out.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\n\n");
        let rest = spec.size.saturating_sub(out.len()).max(40);
        Pools::cut(rng, &pools.text, out, rest);
        out.push(b'\n');
    }
}
