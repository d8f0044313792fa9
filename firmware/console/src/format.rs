//! Text for the screen: numbers for people (from `humanfmt`) and text from
//! outside made safe to draw.

pub use humanfmt::{bar, bytes, duration};

/// Makes text from outside (command output, file names) safe to draw:
/// control characters and escape sequences would move the terminal's cursor.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                // Skip a CSI sequence (ESC [ params final) or a two-byte escape.
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
            }
            '\t' => out.push_str("    "),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_removed() {
        assert_eq!(printable("a\u{1b}[31mred\u{1b}[0m\tb\r"), "ared    b");
    }
}
