//! The store's on-disk layout: a manifest (`store.json`) naming append-only files by their
//! committed length and per-append SHA-256 checksums, replaced atomically by rename.
//!
//! An add appends to the files, syncs them, then writes `store.json` under a temporary name,
//! syncs it and renames it over the old one (a rename within one folder is atomic on POSIX
//! file systems). Bytes past a file's committed length belong to an add that did not finish:
//! readers ignore them and the next add truncates them, so a store killed at any moment reads
//! exactly as before or exactly as after the add.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::LinkType;
use crate::error::{Error, Result};

/// The store format's schema version; a store with another version is refused.
///
/// 2: records and cluster assignments binary (records.bin: interned columns and blocking keys;
/// assignments.bin), read without parsing CSV. 1: records.csv and assignments.csv.
pub const SCHEMA_VERSION: u32 = 2;

/// The manifest's file name inside a store folder.
pub const MANIFEST: &str = "store.json";

/// One append: the file's length after it and the SHA-256 of the bytes it added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    /// The file's committed length in bytes after this append.
    pub end: u64,
    /// SHA-256 (lowercase hex) of the bytes from the previous segment's end to `end`.
    pub sha256: String,
}

/// A file of the store as the manifest commits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileState {
    /// The file's name inside the store folder.
    pub name: String,
    /// Its appends, in order; the last one's `end` is the committed length.
    pub segments: Vec<Segment>,
}

impl FileState {
    /// The committed length in bytes.
    pub fn len(&self) -> u64 {
        self.segments.last().map_or(0, |s| s.end)
    }

    /// Whether nothing is committed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The store manifest (`store.json`): what the store holds and which bytes of which files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`SCHEMA_VERSION`] of the writer.
    pub schema_version: u32,
    /// Incremented by every committed change (create = 1).
    pub generation: u64,
    /// The tool that wrote the store (`fellegi X.Y.Z`).
    pub tool: String,
    /// The model's link type.
    pub link_type: LinkType,
    /// Source names, in order of first appearance (a record's source is an index into it).
    pub sources: Vec<String>,
    /// The cleaned columns kept per record (after the settings' transforms).
    pub columns: Vec<String>,
    /// Pairs with at least this match probability are kept (pairs.csv).
    pub min_probability: f64,
    /// Pairs with at least this match probability are links; clusters are their connected
    /// components.
    pub threshold: f64,
    /// Number of records.
    pub records: u64,
    /// Number of kept pairs.
    pub pairs: u64,
    /// The next cluster id to hand out (ids start at 1 and are never reused).
    pub next_cluster_id: u64,
    /// The next sequence number of changes.csv and merges.csv (starts at 1).
    pub next_change: u64,
    /// The files by role: `model`, `records`, `pairs`, `assignments`, `merges`, `changes`.
    pub files: BTreeMap<String, FileState>,
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::data::hex_sha256(bytes)
}

/// Reads the manifest of the store at `dir`.
///
/// # Errors
/// [`Error::Input`] when the folder is not a store, the manifest does not parse or has another
/// schema version.
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::Input {
                path: dir.to_path_buf(),
                message: format!(
                    "not a fellegi store (no {MANIFEST}); make one with `fellegi store create --model MODEL.json --out {}`",
                    dir.display()
                ),
            }
        } else {
            Error::io(&path, e)
        }
    })?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Input {
        path: path.clone(),
        message: format!("the store manifest does not parse ({e}); the store is damaged"),
    })?;
    let version = v.get("schema_version").and_then(|x| x.as_u64());
    if version != Some(SCHEMA_VERSION as u64) {
        return Err(Error::Input {
            path,
            message: format!(
                "store schema version {} is not the version this fellegi reads ({SCHEMA_VERSION}); use the fellegi that wrote it, or recreate the store from its inputs with `fellegi store create` (or `fellegi store export` it with the old fellegi first)",
                version.map_or("(none)".to_string(), |x| x.to_string())
            ),
        });
    }
    serde_json::from_value(v).map_err(|e| Error::Input {
        path,
        message: format!("the store manifest does not parse ({e}); the store is damaged"),
    })
}

/// Writes `m` as the store's manifest atomically: a temporary file, synced, renamed over
/// `store.json`, and the folder synced.
///
/// # Errors
/// [`Error::Io`] when a write fails.
pub fn commit_manifest(dir: &Path, m: &Manifest) -> Result<()> {
    let path = dir.join(MANIFEST);
    let tmp = dir.join(format!(".{MANIFEST}.tmp-{}", std::process::id()));
    let mut text = serde_json::to_string_pretty(m).map_err(|e| Error::Internal(e.to_string()))?;
    text.push('\n');
    (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        Ok(())
    })()
    .map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
    sync_dir(dir)
}

/// Syncs a folder so that renames in it are durable.
fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// Reads the committed bytes of `f` (ignoring anything an unfinished add left past them).
///
/// # Errors
/// [`Error::Input`] when the file is shorter than committed (the store is damaged).
pub fn read_committed(dir: &Path, f: &FileState) -> Result<Vec<u8>> {
    let path = dir.join(&f.name);
    let mut file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
    let mut buf = Vec::with_capacity(f.len() as usize);
    (&mut file)
        .take(f.len())
        .read_to_end(&mut buf)
        .map_err(|e| Error::io(&path, e))?;
    if (buf.len() as u64) < f.len() {
        return Err(Error::Input {
            path,
            message: format!(
                "holds {} bytes but the manifest commits {}: the store is damaged (restore it from a copy)",
                buf.len(),
                f.len()
            ),
        });
    }
    Ok(buf)
}

/// Pending appends to the store's files, written by [`Appender::finish`].
#[derive(Debug, Default)]
pub struct Appender {
    pending: BTreeMap<String, Vec<u8>>,
}

impl Appender {
    /// The buffer that will be appended to the file of role `role`.
    pub fn buf(&mut self, role: &str) -> &mut Vec<u8> {
        self.pending.entry(role.to_string()).or_default()
    }

    /// Appends each buffer to its file (truncated first to its committed length), syncs it and
    /// records the new segment in `m.files`. The manifest itself is not written.
    ///
    /// # Errors
    /// [`Error::Io`]; [`Error::Internal`] for a role the manifest lacks.
    /// The files are written and synced in parallel (one thread each); the manifest names
    /// none of the new bytes until [`commit_manifest`], so their order does not matter.
    pub fn finish(self, dir: &Path, m: &mut Manifest) -> Result<()> {
        let mut jobs = Vec::new();
        for (role, bytes) in self.pending {
            if bytes.is_empty() {
                continue;
            }
            let state = m
                .files
                .get(&role)
                .ok_or_else(|| Error::Internal(format!("store file role `{role}` unknown")))?;
            jobs.push((role, dir.join(&state.name), state.len(), bytes));
        }
        let done: Vec<Result<(String, Segment)>> = std::thread::scope(|s| {
            let handles: Vec<_> = jobs
                .iter()
                .map(|(role, path, start, bytes)| {
                    s.spawn(move || -> Result<(String, Segment)> {
                        let start = *start;
                        (|| -> std::io::Result<()> {
                            let mut f = std::fs::OpenOptions::new()
                                .write(true)
                                .create(true)
                                .truncate(false)
                                .open(path)?;
                            f.set_len(start)?;
                            f.seek(SeekFrom::Start(start))?;
                            f.write_all(bytes)?;
                            f.sync_all()?;
                            Ok(())
                        })()
                        .map_err(|e| Error::io(path, e))?;
                        Ok((
                            role.clone(),
                            Segment {
                                end: start + bytes.len() as u64,
                                sha256: sha256_hex(bytes),
                            },
                        ))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(Error::Internal("a store write panicked".into())))
                })
                .collect()
        });
        for d in done {
            let (role, seg) = d?;
            if let Some(state) = m.files.get_mut(&role) {
                state.segments.push(seg);
            }
        }
        Ok(())
    }
}

/// What [`check_files`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileCheck {
    /// Problems (a missing file, a short file, a checksum that does not match).
    pub errors: Vec<String>,
    /// Bytes past the committed length, per file (left by an add that did not finish).
    pub trailing: Vec<(String, u64)>,
}

/// Checks every committed segment of every file against its checksum.
pub fn check_files(dir: &Path, m: &Manifest) -> FileCheck {
    let mut out = FileCheck::default();
    for (role, f) in &m.files {
        let path = dir.join(&f.name);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                out.errors
                    .push(format!("{} ({role}): cannot be read: {e}", f.name));
                continue;
            }
        };
        if (bytes.len() as u64) < f.len() {
            out.errors.push(format!(
                "{} ({role}): {} bytes, but {} are committed",
                f.name,
                bytes.len(),
                f.len()
            ));
            continue;
        }
        let mut start = 0u64;
        for (i, s) in f.segments.iter().enumerate() {
            if s.end < start {
                out.errors.push(format!(
                    "{} ({role}): segment {i} ends before it starts",
                    f.name
                ));
                break;
            }
            let got = sha256_hex(&bytes[start as usize..s.end as usize]);
            if got != s.sha256 {
                out.errors.push(format!(
                    "{} ({role}): bytes {start}..{} have sha256 {got}, the manifest says {}",
                    f.name, s.end, s.sha256
                ));
            }
            start = s.end;
        }
        if bytes.len() as u64 > f.len() {
            out.trailing
                .push((f.name.clone(), bytes.len() as u64 - f.len()));
        }
    }
    out
}
