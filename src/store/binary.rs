//! Little-endian encoding of the store's binary files (records.bin, assignments.bin): u16, u32
//! and u64 arrays and string blocks, written into a buffer and read back with bounds checks, so
//! that a damaged file is an error naming it, never a panic.

use std::path::Path;

use crate::data::StringList;
use crate::error::{Error, Result};

/// A buffer being encoded.
#[derive(Debug, Default)]
pub struct Enc(pub Vec<u8>);

impl Enc {
    /// Appends raw bytes.
    pub fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }

    /// Appends a u32.
    pub fn u32(&mut self, x: u32) {
        self.0.extend_from_slice(&x.to_le_bytes());
    }

    /// Appends u16s.
    pub fn u16s(&mut self, xs: &[u16]) {
        self.0.reserve(xs.len() * 2);
        for x in xs {
            self.0.extend_from_slice(&x.to_le_bytes());
        }
    }

    /// Appends u32s.
    pub fn u32s(&mut self, xs: &[u32]) {
        self.0.reserve(xs.len() * 4);
        for x in xs {
            self.0.extend_from_slice(&x.to_le_bytes());
        }
    }

    /// Appends u64s.
    pub fn u64s(&mut self, xs: &[u64]) {
        self.0.reserve(xs.len() * 8);
        for x in xs {
            self.0.extend_from_slice(&x.to_le_bytes());
        }
    }

    /// Appends strings `from..to` of `list` as a block: count (u32), each string's end within
    /// the block (u32), then the text.
    pub fn strings(&mut self, list: &StringList, from: usize, to: usize) {
        self.u32((to - from) as u32);
        let mut end = 0u32;
        let mut ends = Vec::with_capacity(to - from);
        for i in from..to {
            end += list.get(i).len() as u32;
            ends.push(end);
        }
        self.u32s(&ends);
        for i in from..to {
            self.0.extend_from_slice(list.get(i).as_bytes());
        }
    }
}

/// The damaged-store error for the file at `path`, at byte `pos`.
pub fn damaged_at(path: &Path, pos: usize, what: impl std::fmt::Display) -> Error {
    Error::Input {
        path: path.to_path_buf(),
        message: format!(
            "{what} at byte {pos}; the store is damaged (restore it from a copy, or recreate it with `fellegi store create`)"
        ),
    }
}

/// A reader over committed bytes of a store file.
#[derive(Debug)]
pub struct Dec<'a> {
    bytes: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Dec<'a> {
    /// Reads `bytes`, the committed contents of the file at `path`.
    pub fn new(path: &'a Path, bytes: &'a [u8]) -> Dec<'a> {
        Dec {
            bytes,
            pos: 0,
            path,
        }
    }

    /// Whether every byte was read.
    pub fn done(&self) -> bool {
        self.pos == self.bytes.len()
    }

    /// The damaged-store error at the current offset.
    pub fn damaged(&self, what: impl std::fmt::Display) -> Error {
        damaged_at(self.path, self.pos, what)
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.bytes.len() - self.pos < n {
            return Err(self.damaged(format!("{n} more bytes expected, the file ends")));
        }
        let b = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(b)
    }

    /// The next u32.
    pub fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// The next `n` u16s, appended to `out`.
    pub fn u16s(&mut self, n: usize, out: &mut Vec<u16>) -> Result<()> {
        let b = self.take(n.checked_mul(2).ok_or_else(|| self.damaged("bad length"))?)?;
        out.extend(b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])));
        Ok(())
    }

    /// The next `n` u32s, appended to `out`.
    pub fn u32s(&mut self, n: usize, out: &mut Vec<u32>) -> Result<()> {
        let b = self.take(n.checked_mul(4).ok_or_else(|| self.damaged("bad length"))?)?;
        out.extend(
            b.chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
        Ok(())
    }

    /// The next `n` u64s, appended to `out`.
    pub fn u64s(&mut self, n: usize, out: &mut Vec<u64>) -> Result<()> {
        let b = self.take(n.checked_mul(8).ok_or_else(|| self.damaged("bad length"))?)?;
        out.extend(
            b.chunks_exact(8)
                .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])),
        );
        Ok(())
    }

    /// The next string block ([`Enc::strings`]), appended to `list`; returns its count.
    pub fn strings(&mut self, list: &mut StringList) -> Result<usize> {
        let n = self.u32()? as usize;
        let mut ends = Vec::new();
        self.u32s(n, &mut ends)?;
        let len = ends.last().copied().unwrap_or(0) as usize;
        let text = self.take(len)?;
        let text = std::str::from_utf8(text).map_err(|_| self.damaged("text is not UTF-8"))?;
        list.push_block(text, &ends).map_err(|e| self.damaged(e))?;
        Ok(n)
    }
}
