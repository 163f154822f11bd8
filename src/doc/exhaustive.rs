#![doc = include_str!("../../docs/exhaustive.md")]
