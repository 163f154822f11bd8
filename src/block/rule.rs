//! The blocking vocabulary of settings: keys (columns or derived values) and rules.

use serde::{Deserialize, Serialize};

use crate::clean::PhoneticEncoder;
use crate::error::{Error, Result};

/// One part of a blocking key or deterministic rule: a column, or a value derived from it.
/// In settings: a string (`"surname"`) or a table (`{ column = "surname", encode = "soundex" }`);
/// a table's errors name the offending field (e.g. an unknown field or encoder).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum KeySpec {
    /// The column's (transformed) value.
    Column(String),
    /// A derived key: a phonetic code or a prefix of the column's value.
    Derived(DerivedKey),
}

impl<'de> Deserialize<'de> for KeySpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = KeySpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a column name, or a table such as { column = \"surname\", encode = \"soundex\" } or { column = \"postcode\", prefix = 2 }",
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<KeySpec, E> {
                Ok(KeySpec::Column(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<KeySpec, A::Error> {
                DerivedKey::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(KeySpec::Derived)
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// A derived blocking key: `{ column = "surname", encode = "soundex" }` or `{ column = "postcode", prefix = 2 }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DerivedKey {
    /// Source column.
    pub column: String,
    /// Phonetic encoder applied to the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encode: Option<PhoneticEncoder>,
    /// Keep only the first `prefix` characters (after encoding, if any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<usize>,
}

impl KeySpec {
    /// The column the key reads.
    pub fn column(&self) -> &str {
        match self {
            KeySpec::Column(c) => c,
            KeySpec::Derived(d) => &d.column,
        }
    }

    /// A short human-readable form, e.g. `soundex(surname)` or `substr(postcode,1,2)`.
    pub fn describe(&self) -> String {
        match self {
            KeySpec::Column(c) => c.clone(),
            KeySpec::Derived(d) => {
                let mut s = d.column.clone();
                if let Some(e) = d.encode {
                    s = format!("{}({s})", e.name());
                }
                if let Some(p) = d.prefix {
                    s = format!("prefix{p}({s})");
                }
                s
            }
        }
    }
}

/// A blocking rule: records agreeing exactly on every key form candidate pairs. Missing values
/// never form a key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockingRule {
    /// The keys that must all agree.
    pub keys: Vec<KeySpec>,
}

impl BlockingRule {
    /// A short human-readable form, e.g. `given_name & surname`.
    pub fn describe(&self) -> String {
        self.keys
            .iter()
            .map(KeySpec::describe)
            .collect::<Vec<_>>()
            .join(" & ")
    }
}

/// Checks a rule's keys (at least one, prefixes of at least 1); `key` is the rule's key path.
///
/// # Errors
/// [`Error::Settings`] naming the key.
pub fn validate_keys(origin: &str, key: &str, keys: &[KeySpec]) -> Result<()> {
    if keys.is_empty() {
        return Err(Error::settings(
            origin,
            key,
            "a rule needs at least one key",
        ));
    }
    for (i, k) in keys.iter().enumerate() {
        if let KeySpec::Derived(d) = k {
            if d.prefix == Some(0) {
                return Err(Error::settings(
                    origin,
                    format!("{key}[{i}].prefix"),
                    "must be at least 1",
                ));
            }
        }
    }
    Ok(())
}
