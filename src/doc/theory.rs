#![doc = include_str!("../../docs/theory.md")]
