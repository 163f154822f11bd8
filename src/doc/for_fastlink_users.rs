#![doc = include_str!("../../docs/for_fastlink_users.md")]
