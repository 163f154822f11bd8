#![doc = include_str!("../../docs/distributed.md")]
