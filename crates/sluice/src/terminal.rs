//! Text for an administrator's terminal.
//!
//! Much of what the CLI prints was chosen by someone else: a computer's DNS name and OS
//! description come from the client, update titles from an upstream server or an imported file.
//! A raw ESC in one of them would drive the terminal (colours, cursor moves, window titles,
//! hyperlinks), and bidi overrides or zero-width characters make one name look like another. Every
//! human-readable line goes through [`escape`], so such characters print as visible `\x1b` or
//! `\u{202e}` instead. (`--json` output is escaped by JSON itself and is not touched.)

use std::borrow::Cow;

/// Whether `c` must not reach a terminal as itself: C0 controls (tab and newline included: one
/// printed line is one line of output), DEL, C1 controls, and the invisible characters that
/// reorder or hide text (bidi embeddings, overrides, isolates and marks; zero-width spaces,
/// joiners, the word joiner and the byte order mark).
pub fn needs_escape(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200b}'..='\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2060}'..='\u{2069}'
        | '\u{feff}')
}

/// `s` with every character of [`needs_escape`] written as `\xNN` (up to U+00FF) or `\u{NNNN}`.
/// Borrowed when there is nothing to escape, which is nearly always.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if !needs_escape(c) {
            out.push(c);
        } else if (c as u32) <= 0xff {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    Cow::Owned(out)
}

/// `println!` for human-readable output: the formatted line is escaped with [`escape`].
#[macro_export]
macro_rules! outln {
    () => {
        println!()
    };
    ($($arg:tt)*) => {
        println!("{}", $crate::terminal::escape(&format!($($arg)*)))
    };
}

/// `eprintln!` for human-readable messages on standard error, escaped likewise.
#[macro_export]
macro_rules! errln {
    () => {
        eprintln!()
    };
    ($($arg:tt)*) => {
        eprintln!("{}", $crate::terminal::escape(&format!($($arg)*)))
    };
}

/// `writeln!` into a `String` being built for printing, escaped likewise.
#[macro_export]
macro_rules! push_line {
    ($out:expr, $($arg:tt)*) => {{
        $out.push_str(&$crate::terminal::escape(&format!($($arg)*)));
        $out.push('\n');
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_15_controls_and_invisible_characters_are_made_visible() {
        assert_eq!(escape("evil\x1b[31m"), "evil\\x1b[31m");
        assert_eq!(escape("a\tb\nc\rd\u{7f}e\u{9b}f"), "a\\x09b\\x0ac\\x0dd\\x7fe\\x9bf");
        assert_eq!(escape("Ring\u{202e}1\u{200b}\u{2066}\u{feff}"), "Ring\\u{202e}1\\u{200b}\\u{2066}\\u{feff}");
        // Ordinary text, accents, CJK, emoji and Windows paths are left alone (and not copied).
        for plain in ["Ring 1", "Ünïcødé 型 😀", "HKEY_LOCAL_MACHINE\\SOFTWARE\\Contoso", ""] {
            assert!(matches!(escape(plain), Cow::Borrowed(_)), "{plain}");
        }
    }
}

/// Prints `value` as JSON (`--json`), or runs `human` to print it for people.
pub fn output<T: serde::Serialize>(json: bool, value: &T, human: impl FnOnce(&T)) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        human(value);
    }
    Ok(())
}

/// [`output`] for a view rendered into text first.
pub fn output_text<T: serde::Serialize>(json: bool, value: &T, text: impl FnOnce(&T) -> String) -> anyhow::Result<()> {
    output(json, value, |v| print!("{}", text(v)))
}
