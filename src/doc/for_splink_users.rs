#![doc = include_str!("../../docs/for_splink_users.md")]
