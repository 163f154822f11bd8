//! Corruption functions: each takes a value and returns a changed copy, or `None` when the
//! corruption does not apply to that value (e.g. a transposition of `"aa"`, a misspelling of a
//! name the table does not list). A corruption that does not apply leaves the value as it is and
//! is counted as *skipped* in [`super::Summary`].

use rand::RngExt;
use rand::rngs::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::lookups::{CharCondition, MisspellTable, Rule, RulePosition};

/// One kind of corruption applied to one field of a duplicate record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Corruption {
    /// Insert one random character (a letter, or a digit in an all-digit value) at a random
    /// position.
    Insert,
    /// Delete one character (values of at least two characters).
    Delete,
    /// Replace one character by a different random one of the same class (letter or digit).
    Substitute,
    /// Swap two adjacent, different characters.
    Transpose,
    /// Replace one character by a neighbouring key on a QWERTY keyboard.
    Keyboard,
    /// Apply one OCR confusion (e.g. `m` → `rn`).
    Ocr,
    /// Apply one phonetic substitution (e.g. `ph` → `f`).
    Phonetic,
    /// Replace the value by one of its listed misspellings (`*-misspell.tbl`, correct →
    /// misspelt).
    Misspelling,
    /// Replace the value by another member of its variant group (`*-misspell.tbl` read in both
    /// directions, e.g. `abigail` ↔ `abbey`).
    Variant,
    /// Cut the value to a proper prefix of at least half its length (at least one character).
    Truncate,
    /// Swap given name and surname (when they differ).
    Swap,
    /// Swap day and month of a `YYYYMMDD` date (when the day is at most 12 and differs from the
    /// month, so the result is a valid date).
    DateSwap,
    /// Replace one digit of the month, day or the last two digits of the year by a different
    /// digit.
    DateDigit,
}

impl Corruption {
    /// Every corruption type, in the order used in reports.
    pub const ALL: [Corruption; 13] = [
        Corruption::Insert,
        Corruption::Delete,
        Corruption::Substitute,
        Corruption::Transpose,
        Corruption::Keyboard,
        Corruption::Ocr,
        Corruption::Phonetic,
        Corruption::Misspelling,
        Corruption::Variant,
        Corruption::Truncate,
        Corruption::Swap,
        Corruption::DateSwap,
        Corruption::DateDigit,
    ];

    /// The snake_case name used in configs and reports.
    pub fn name(self) -> &'static str {
        match self {
            Corruption::Insert => "insert",
            Corruption::Delete => "delete",
            Corruption::Substitute => "substitute",
            Corruption::Transpose => "transpose",
            Corruption::Keyboard => "keyboard",
            Corruption::Ocr => "ocr",
            Corruption::Phonetic => "phonetic",
            Corruption::Misspelling => "misspelling",
            Corruption::Variant => "variant",
            Corruption::Truncate => "truncate",
            Corruption::Swap => "swap",
            Corruption::DateSwap => "date_swap",
            Corruption::DateDigit => "date_digit",
        }
    }

    /// Index in [`Corruption::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const DIGITS: &[u8] = b"0123456789";

/// QWERTY neighbours (same row and the rows above and below) of a lowercase letter or digit.
pub fn keyboard_neighbours(c: u8) -> &'static [u8] {
    match c {
        b'q' => b"wa",
        b'w' => b"qeas",
        b'e' => b"wrsd",
        b'r' => b"etdf",
        b't' => b"ryfg",
        b'y' => b"tugh",
        b'u' => b"yihj",
        b'i' => b"uojk",
        b'o' => b"ipkl",
        b'p' => b"ol",
        b'a' => b"qwsz",
        b's' => b"adwezx",
        b'd' => b"sferxc",
        b'f' => b"dgrtcv",
        b'g' => b"fhtyvb",
        b'h' => b"gjyubn",
        b'j' => b"hkuinm",
        b'k' => b"jliom",
        b'l' => b"kop",
        b'z' => b"asx",
        b'x' => b"zcsd",
        b'c' => b"xvdf",
        b'v' => b"cbfg",
        b'b' => b"vngh",
        b'n' => b"bmhj",
        b'm' => b"njk",
        b'1' => b"2",
        b'2' => b"13",
        b'3' => b"24",
        b'4' => b"35",
        b'5' => b"46",
        b'6' => b"57",
        b'7' => b"68",
        b'8' => b"79",
        b'9' => b"80",
        b'0' => b"9",
        _ => b"",
    }
}

/// Digits for values with digits and no letters (postcodes, dates, phone numbers), else letters.
fn alphabet(v: &str) -> &'static [u8] {
    if v.bytes().any(|b| b.is_ascii_digit()) && !v.bytes().any(|b| b.is_ascii_alphabetic()) {
        DIGITS
    } else {
        LETTERS
    }
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, xs: &'a [T]) -> &'a T {
    &xs[rng.random_range(0..xs.len())]
}

/// Char boundaries of `v` (byte offsets of each char, then `v.len()`).
fn bounds(v: &str) -> Vec<usize> {
    v.char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(v.len()))
        .collect()
}

/// Inserts a random character at a random position (`0..=len` chars).
pub fn insert(rng: &mut ChaCha8Rng, v: &str) -> Option<String> {
    let b = bounds(v);
    let at = b[rng.random_range(0..b.len())];
    let c = *pick(rng, alphabet(v)) as char;
    let mut s = String::with_capacity(v.len() + 1);
    s.push_str(&v[..at]);
    s.push(c);
    s.push_str(&v[at..]);
    Some(s)
}

/// Deletes a random character (values of at least two characters).
pub fn delete(rng: &mut ChaCha8Rng, v: &str) -> Option<String> {
    let b = bounds(v);
    let n = b.len() - 1;
    if n < 2 {
        return None;
    }
    let i = rng.random_range(0..n);
    Some(format!("{}{}", &v[..b[i]], &v[b[i + 1]..]))
}

/// Replaces a random character by a different character of the value's class.
pub fn substitute(rng: &mut ChaCha8Rng, v: &str) -> Option<String> {
    let b = bounds(v);
    let n = b.len() - 1;
    if n == 0 {
        return None;
    }
    let i = rng.random_range(0..n);
    let old = &v[b[i]..b[i + 1]];
    let alpha = alphabet(v);
    let c = loop {
        let c = *pick(rng, alpha) as char;
        if old.len() != 1 || old.as_bytes()[0] != c as u8 {
            break c;
        }
    };
    Some(format!("{}{}{}", &v[..b[i]], c, &v[b[i + 1]..]))
}

/// Swaps two adjacent different characters, chosen uniformly among such pairs.
pub fn transpose(rng: &mut ChaCha8Rng, v: &str) -> Option<String> {
    let cs: Vec<char> = v.chars().collect();
    let cand: Vec<usize> = (0..cs.len().saturating_sub(1))
        .filter(|&i| cs[i] != cs[i + 1])
        .collect();
    if cand.is_empty() {
        return None;
    }
    let i = *pick(rng, &cand);
    let mut cs = cs;
    cs.swap(i, i + 1);
    Some(cs.into_iter().collect())
}

/// Replaces a character that has QWERTY neighbours by one of them.
pub fn keyboard(rng: &mut ChaCha8Rng, v: &str) -> Option<String> {
    let bytes = v.as_bytes();
    let cand: Vec<usize> = (0..bytes.len())
        .filter(|&i| !keyboard_neighbours(bytes[i]).is_empty())
        .collect();
    if cand.is_empty() {
        return None;
    }
    let i = *pick(rng, &cand);
    let c = *pick(rng, keyboard_neighbours(bytes[i])) as char;
    // Only ASCII bytes have neighbours, so `i` is a char boundary.
    Some(format!("{}{}{}", &v[..i], c, &v[i + 1..]))
}

fn is_vowel(c: u8) -> bool {
    matches!(c, b'a' | b'e' | b'i' | b'o' | b'u')
}

fn cond_ok(cond: CharCondition, c: Option<u8>) -> bool {
    match cond {
        CharCondition::Any => true,
        CharCondition::Vowel => c.is_some_and(is_vowel),
        CharCondition::Consonant => c.is_some_and(|c| c.is_ascii_alphabetic() && !is_vowel(c)),
    }
}

/// Every place where one of `rules` applies: `(rule index, byte offset)`.
pub fn rule_matches(rules: &[Rule], v: &str) -> Vec<(usize, usize)> {
    let bytes = v.as_bytes();
    let mut out = Vec::new();
    for (ri, r) in rules.iter().enumerate() {
        for (at, _) in v.match_indices(r.from.as_str()) {
            let end = at + r.from.len();
            let pos_ok = match r.position {
                RulePosition::All => true,
                RulePosition::Start => at == 0,
                RulePosition::End => end == v.len(),
                RulePosition::Middle => at > 0 && end < v.len(),
            };
            if pos_ok
                && r.from != r.to
                && cond_ok(r.pre, at.checked_sub(1).map(|i| bytes[i]))
                && cond_ok(r.post, bytes.get(end).copied())
            {
                out.push((ri, at));
            }
        }
    }
    out
}

/// Applies one rule at one place, chosen uniformly among all places where a rule applies.
/// A result that would be empty does not count as applying.
pub fn apply_rule(rng: &mut ChaCha8Rng, rules: &[Rule], v: &str) -> Option<String> {
    let m = rule_matches(rules, v);
    if m.is_empty() {
        return None;
    }
    let (ri, at) = *pick(rng, &m);
    let r = &rules[ri];
    let s = format!("{}{}{}", &v[..at], r.to, &v[at + r.from.len()..]);
    (!s.is_empty() && s != v).then_some(s)
}

/// A listed misspelling of `v`.
pub fn misspell(rng: &mut ChaCha8Rng, table: &MisspellTable, v: &str) -> Option<String> {
    let alts: Vec<&String> = table
        .forward
        .get(v)?
        .iter()
        .filter(|a| a.as_str() != v)
        .collect();
    (!alts.is_empty()).then(|| pick(rng, &alts).to_string())
}

/// Another member of one of `v`'s variant groups.
pub fn variant(rng: &mut ChaCha8Rng, table: &MisspellTable, v: &str) -> Option<String> {
    let alts = table.variants.get(v)?;
    (!alts.is_empty()).then(|| pick(rng, alts).clone())
}

/// A proper prefix of at least half the value's length (and at least one character).
pub fn truncate(rng: &mut ChaCha8Rng, v: &str) -> Option<String> {
    let b = bounds(v);
    let n = b.len() - 1;
    if n < 2 {
        return None;
    }
    let keep = rng.random_range(n.div_ceil(2).max(1)..n);
    Some(v[..b[keep]].to_string())
}

/// `YYYYMMDD` → `YYYYDDMM` when the day is at most 12 and differs from the month.
pub fn date_swap(v: &str) -> Option<String> {
    if v.len() != 8 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (y, m, d) = (&v[..4], &v[4..6], &v[6..]);
    let day: u32 = d.parse().ok()?;
    ((1..=12).contains(&day) && m != d).then(|| format!("{y}{d}{m}"))
}

/// Replaces one digit among positions 2..8 of a `YYYYMMDD` date by a different digit.
pub fn date_digit(rng: &mut ChaCha8Rng, v: &str) -> Option<String> {
    if v.len() != 8 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let i = rng.random_range(2..8);
    let mut b = v.as_bytes().to_vec();
    let old = b[i];
    b[i] = loop {
        let c = *pick(rng, DIGITS);
        if c != old {
            break c;
        }
    };
    String::from_utf8(b).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn rng() -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(1)
    }

    #[test]
    fn typos_change_by_one_edit() {
        let mut r = rng();
        for _ in 0..200 {
            let v = "miller";
            assert_eq!(insert(&mut r, v).unwrap().len(), 7);
            assert_eq!(delete(&mut r, v).unwrap().len(), 5);
            let s = substitute(&mut r, v).unwrap();
            assert_eq!(s.len(), 6);
            assert_eq!(s.bytes().zip(v.bytes()).filter(|(a, b)| a != b).count(), 1);
            let t = transpose(&mut r, v).unwrap();
            assert_ne!(t, v);
            let k = keyboard(&mut r, v).unwrap();
            let i = k.bytes().zip(v.bytes()).position(|(a, b)| a != b).unwrap();
            assert!(keyboard_neighbours(v.as_bytes()[i]).contains(&k.as_bytes()[i]));
            let tr = truncate(&mut r, v).unwrap();
            assert!(v.starts_with(&tr) && tr.len() >= 3 && tr.len() < 6);
        }
        assert!(transpose(&mut r, "aa").is_none());
        assert!(delete(&mut r, "a").is_none());
        assert!(
            insert(&mut r, "123")
                .unwrap()
                .bytes()
                .all(|b| b.is_ascii_digit())
        );
    }

    #[test]
    fn dates() {
        assert_eq!(date_swap("19850312").as_deref(), Some("19851203"));
        assert_eq!(date_swap("19850313"), None);
        assert_eq!(date_swap("19850303"), None);
        let mut r = rng();
        let d = date_digit(&mut r, "19850312").unwrap();
        assert_eq!(&d[..2], "19");
        assert_ne!(d, "19850312");
    }

    #[test]
    fn rules_respect_position_and_conditions() {
        let rule = |p, f: &str, t: &str, pre, post| Rule {
            position: p,
            from: f.into(),
            to: t.into(),
            pre,
            post,
        };
        let rs = vec![
            rule(
                RulePosition::End,
                "y",
                "i",
                CharCondition::Any,
                CharCondition::Any,
            ),
            rule(
                RulePosition::Middle,
                "j",
                "y",
                CharCondition::Vowel,
                CharCondition::Vowel,
            ),
        ];
        assert_eq!(rule_matches(&rs, "yoyo"), vec![]);
        assert_eq!(rule_matches(&rs, "amy"), vec![(0, 2)]);
        assert_eq!(rule_matches(&rs, "maja"), vec![(1, 2)]);
        assert_eq!(rule_matches(&rs, "mjja"), vec![]);
        let mut r = rng();
        assert_eq!(apply_rule(&mut r, &rs, "maja").as_deref(), Some("maya"));
    }
}
