//! String cleaning transforms applied before comparison.

use std::fmt;
use std::str::FromStr;

/// A cleaning step. Apply one with [`Transform::apply`] or a sequence with
/// [`apply_all`]. All transforms are total (never panic) and work on any
/// Unicode input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// Unicode lower-casing (`str::to_lowercase`; "ÉCOLE" → "école").
    /// Name `"lowercase"`.
    Lowercase,
    /// Unicode upper-casing (`str::to_uppercase`; "ß" → "SS").
    /// Name `"uppercase"`.
    Uppercase,
    /// Trim both ends and collapse every internal run of Unicode whitespace
    /// to one ASCII space ("  a \t b " → "a b"). Name `"trim"`.
    Trim,
    /// Remove Unicode punctuation and symbols (including emoji and format
    /// characters such as ZWJ): every character that is not alphanumeric,
    /// whitespace, a control character or a combining diacritical mark
    /// (U+0300–036F, U+1AB0–1AFF, U+1DC0–1DFF, U+20D0–20FF, U+FE20–FE2F) is
    /// dropped, without inserting a space ("O'Brien-Smith" → "OBrienSmith").
    /// Name `"strip_punctuation"`.
    StripPunctuation,
    /// Transliterate to ASCII with `deunicode`: letters and digits are folded
    /// ("é" → "e", "ß" → "ss", "Ø" → "O", "æ" → "ae", "Ł" → "L", "²" → "2";
    /// other scripts are romanised, "東京" → "Dong Jing", one space between
    /// syllables, a trailing one trimmed unless the input ended in
    /// whitespace); combining marks vanish; non-ASCII whitespace becomes a
    /// space; punctuation is folded only when its transliteration has no
    /// letters or digits ("’" → "'", "–" → "-", "…" → "..."); everything else
    /// (emoji, "€", characters without a transliteration) is removed.
    /// Name `"ascii_fold"`.
    AsciiFold,
    /// Keep only ASCII digits `0-9` ("+44 (0)20-7946" → "440207946").
    /// Name `"digits_only"`.
    DigitsOnly,
    /// Remove all Unicode whitespace. Name `"remove_whitespace"`.
    RemoveWhitespace,
}

impl Transform {
    /// All transforms, in declaration order.
    pub const ALL: [Transform; 7] = [
        Transform::Lowercase,
        Transform::Uppercase,
        Transform::Trim,
        Transform::StripPunctuation,
        Transform::AsciiFold,
        Transform::DigitsOnly,
        Transform::RemoveWhitespace,
    ];

    /// Apply this transform to `s`, returning a new string.
    pub fn apply(&self, s: &str) -> String {
        match self {
            Transform::Lowercase => s.to_lowercase(),
            Transform::Uppercase => s.to_uppercase(),
            Transform::Trim => {
                let mut out = String::with_capacity(s.len());
                for w in s.split_whitespace() {
                    if !out.is_empty() {
                        out.push(' ');
                    }
                    out.push_str(w);
                }
                out
            }
            Transform::StripPunctuation => s
                .chars()
                .filter(|&c| {
                    c.is_alphanumeric()
                        || c.is_whitespace()
                        || c.is_control()
                        || is_combining_diacritic(c)
                })
                .collect(),
            Transform::AsciiFold => ascii_fold(s),
            Transform::DigitsOnly => s.chars().filter(char::is_ascii_digit).collect(),
            Transform::RemoveWhitespace => s.chars().filter(|c| !c.is_whitespace()).collect(),
        }
    }

    /// The snake_case configuration name (inverse of [`FromStr`]).
    pub fn name(&self) -> &'static str {
        match self {
            Transform::Lowercase => "lowercase",
            Transform::Uppercase => "uppercase",
            Transform::Trim => "trim",
            Transform::StripPunctuation => "strip_punctuation",
            Transform::AsciiFold => "ascii_fold",
            Transform::DigitsOnly => "digits_only",
            Transform::RemoveWhitespace => "remove_whitespace",
        }
    }
}

/// Apply `transforms` left to right.
pub fn apply_all(transforms: &[Transform], s: &str) -> String {
    let mut cur = s.to_string();
    for t in transforms {
        cur = t.apply(&cur);
    }
    cur
}

impl fmt::Display for Transform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error returned when a [`Transform`] name is not recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownTransform(pub String);

impl fmt::Display for UnknownTransform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown transform {:?} (expected lowercase, uppercase, trim, strip_punctuation, ascii_fold, digits_only or remove_whitespace)",
            self.0
        )
    }
}

impl std::error::Error for UnknownTransform {}

impl FromStr for Transform {
    type Err = UnknownTransform;

    /// snake_case names (case-insensitive, whitespace trimmed): `lowercase`,
    /// `uppercase`, `trim`, `strip_punctuation`, `ascii_fold`, `digits_only`,
    /// `remove_whitespace`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        Transform::ALL
            .into_iter()
            .find(|x| x.name() == t)
            .ok_or_else(|| UnknownTransform(s.to_string()))
    }
}

/// Combining diacritical mark blocks (kept by `StripPunctuation`).
fn is_combining_diacritic(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE20}'..='\u{FE2F}')
}

fn ascii_fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else if c.is_whitespace() {
            out.push(' ');
        } else if let Some(t) = deunicode::deunicode_char(c)
            && (c.is_alphanumeric() || !t.bytes().any(|b| b.is_ascii_alphanumeric()))
        {
            // Collapse deunicode's syllable separator against an existing
            // space.
            if t.starts_with(' ') && out.ends_with(' ') {
                out.push_str(t.trim_start());
            } else {
                out.push_str(t);
            }
        }
    }
    if !s.ends_with(char::is_whitespace) {
        let n = out.trim_end().len();
        out.truncate(n);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use Transform::*;
    use proptest::prelude::*;

    #[test]
    fn values() {
        assert_eq!(Lowercase.apply("ÉCOLE Zoë"), "école zoë");
        assert_eq!(Uppercase.apply("straße"), "STRASSE");
        assert_eq!(Trim.apply("  a \t\u{a0} b\n "), "a b");
        assert_eq!(Trim.apply("   "), "");
        assert_eq!(
            StripPunctuation.apply("O'Brien-Smith, Jr."),
            "OBrienSmith Jr"
        );
        assert_eq!(StripPunctuation.apply("a😀b€c_d「e」"), "abcde");
        assert_eq!(StripPunctuation.apply("Zoe\u{308}!"), "Zoe\u{308}");
        assert_eq!(
            AsciiFold.apply("Zoë Ørsted æble straße Łódź"),
            "Zoe Orsted aeble strasse Lodz"
        );
        assert_eq!(AsciiFold.apply("Zoe\u{308}"), "Zoe");
        assert_eq!(AsciiFold.apply("O’Brien – 😀 5€"), "O'Brien -  5");
        assert_eq!(AsciiFold.apply("東京"), "Dong Jing");
        assert_eq!(AsciiFold.apply("x²"), "x2");
        assert_eq!(DigitsOnly.apply("+44 (0)20-7946 ٣"), "440207946");
        assert_eq!(RemoveWhitespace.apply(" a b\u{a0}c\t"), "abc");
        assert_eq!(
            apply_all(
                &[AsciiFold, Lowercase, StripPunctuation, Trim],
                "  José  O’Neil "
            ),
            "jose oneil"
        );
    }

    #[test]
    fn names() {
        for t in Transform::ALL {
            assert_eq!(t.name().parse(), Ok(t));
            assert_eq!(t.to_string(), t.name());
        }
        assert_eq!("ASCII_FOLD".parse(), Ok(AsciiFold));
        assert!("fold".parse::<Transform>().is_err());
    }

    #[test]
    fn big_and_empty() {
        let big = "Zoë ".repeat(2_000_000);
        for t in Transform::ALL {
            assert_eq!(t.apply(""), "");
            let _ = t.apply(&big);
        }
    }

    proptest! {
        #[test]
        fn prop_total_and_ascii(s in "\\PC{0,24}") {
            for t in Transform::ALL {
                let _ = t.apply(&s);
            }
            prop_assert!(AsciiFold.apply(&s).is_ascii());
            prop_assert!(DigitsOnly.apply(&s).bytes().all(|b| b.is_ascii_digit()));
            let tr = Trim.apply(&s);
            prop_assert_eq!(Trim.apply(&tr), tr);
        }
    }
}
