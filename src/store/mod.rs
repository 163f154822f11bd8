//! A persistent, incremental linkage store: records linked once by a fitted model, new records
//! linked against them later with the same model, and cluster ids that stay stable.
//!
//! [`create`] links the inputs the way `fellegi predict` does (the pipeline's own load, cleaning,
//! blocking, comparison and scoring: [`crate::pipeline::load`], [`crate::pipeline::score`]) and
//! writes a store folder; [`Store::open`] reads it back; [`Store::add`] links new records
//! against the stored ones and among themselves and updates the clusters; [`Store::find`]
//! scores records without inserting them (the service's `POST /match`); [`verify`] checks a
//! store; [`Store::export`] writes pairs.csv and clusters.csv in the usual formats.
//!
//! # The rules
//! - **Pairs** are the candidate pairs of the model's blocking rules (the union of the rules,
//!   as [`crate::block::Blocker`] forms it) whose match probability is at least the store's
//!   `min_probability` (default 0.01). The model is read-only: nothing is refitted.
//! - **Links** are the kept pairs whose probability is at least the store's `threshold`
//!   (default 0.5); **clusters** are the connected components of the links, singletons
//!   included. No one-to-one assignment and no Fellegi–Sunter review band enter the clusters
//!   (neither can be maintained incrementally without splitting clusters).
//! - **Cluster ids** are integers from 1, never reused. At create, clusters are numbered in
//!   order of their first record. In an add, a new record that links no stored cluster starts
//!   a new id (`new`); one that links exactly one takes its id (`joined`); one that links
//!   several merges them into the oldest (smallest) id (`merged`), and every stored record of
//!   the other clusters moves to it (`cluster_merged`), each recorded in changes.csv and the
//!   merge in merges.csv. An add never splits a cluster.
//! - Because a pair's score depends only on its two records' cleaned values and the model,
//!   and links never go away, `create(A)` then `add(B)` gives the same pairs and the same
//!   partition as `create(A ∪ B)` (tested in `tests/store.rs`).
//! - Exhaustive models (`exhaustive = true`, no blocking) are refused: every add would
//!   compare each new record with every stored one.
//!
//! # Layout
//! A store is a folder with `store.json` (the [`Manifest`]: schema version, generation, the
//! committed length and per-append SHA-256 of every file), `model.json`, and the append-only
//! files `records.bin` (binary, one chunk per append: source, id and the cleaned compared
//! values as interned string tables and u32 id columns, and the blocking keys with their key
//! tables, so that [`Store::open`] parses no CSV and recomputes no key), `pairs.csv` (the usual
//! pairs.csv), `assignments.bin` (the cluster id each record got when it was inserted, u64),
//! `merges.csv` (generation, from_cluster_id, into_cluster_id) and `changes.csv` (seq,
//! source, id, old_cluster_id, new_cluster_id, reason). See [`files`] for why an add is atomic.

mod binary;
pub mod files;
pub mod service;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use std::hash::BuildHasher as _;

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use rayon::prelude::*;
use rustc_hash::{FxBuildHasher, FxHashMap};
use serde::Serialize;

pub use files::{FileState, Manifest, SCHEMA_VERSION, Segment};

use crate::block::KeySpec;
use crate::clean::encode_key_value;
use crate::cluster::{Clusters, UnionFind};
use crate::compare::Comparer;
use crate::data::{
    Column, Dataset, InputDescription, InputSpec, Interner, LinkType, MISSING, Source, StringList,
};
use crate::error::{Error, Result};
use crate::model::predict::pattern_weight;
use crate::model::{FsParams, probability};
use crate::output::{Staged, write_pairs};
use crate::progress::Progress;
use crate::settings::Settings;
use files::{Appender, commit_manifest, read_committed, read_manifest};

/// Default of [`StoreOptions::min_probability`].
pub const DEFAULT_MIN_PROBABILITY: f64 = 0.01;
/// Default of [`StoreOptions::threshold`].
pub const DEFAULT_THRESHOLD: f64 = 0.5;

/// No record (end of a key chain).
const NONE: u32 = u32::MAX;

/// Rows (or pairs) from which a store scores in parallel; below it, one thread (no hand-off to
/// rayon's pool), which is what a single-record `POST /match` needs.
const PARALLEL_ROWS: usize = 1024;

/// Options of [`create`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoreOptions {
    /// Pairs with at least this match probability are kept; default 0.01.
    pub min_probability: f64,
    /// Pairs with at least this match probability link records into clusters; default 0.5.
    pub threshold: f64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            min_probability: DEFAULT_MIN_PROBABILITY,
            threshold: DEFAULT_THRESHOLD,
        }
    }
}

/// Per distinct value of one column: the key part it gives one blocking key (an interned
/// encoded value, [`MISSING`] when empty).
#[derive(Debug, Clone)]
struct KeyPart {
    column: usize,
    spec: KeySpec,
    /// Per column dictionary id: part id.
    of_value: Vec<u32>,
    /// Derived keys only: the encoded values by part id (a plain column's part id is its value
    /// id).
    strs: StringList,
    /// Derived keys only: encoded value → part id (ids into `strs`).
    map: HashTable<u32>,
}

/// The hash of a string in the store's tables.
fn hash_str(s: &str) -> u64 {
    FxBuildHasher.hash_one(s)
}

/// The id of `v` in `list` by `table` (a table of ids into `list`).
fn find_str(table: &HashTable<u32>, list: &StringList, v: &str) -> Option<u32> {
    table
        .find(hash_str(v), |&i| list.get(i as usize) == v)
        .copied()
}

/// A table of every id of `list` (whose strings are distinct).
fn table_of(list: &StringList) -> HashTable<u32> {
    let mut t = HashTable::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        t.insert_unique(hash_str(v), i as u32, |&j| hash_str(list.get(j as usize)));
    }
    t
}

impl KeyPart {
    /// Extends `of_value` to cover the column's dictionary.
    fn extend(&mut self, dict: &StringList) {
        while self.of_value.len() < dict.len() {
            let v = &dict[self.of_value.len()];
            let id = match &self.spec {
                KeySpec::Column(_) => self.of_value.len() as u32,
                KeySpec::Derived(d) => {
                    let s = encode_key_value(v, d.encode, d.prefix);
                    if s.is_empty() {
                        MISSING
                    } else if let Some(id) = find_str(&self.map, &self.strs, &s) {
                        id
                    } else {
                        let id = self.strs.len() as u32;
                        self.strs.push(&s);
                        let strs = &self.strs;
                        self.map
                            .insert_unique(hash_str(&s), id, |&j| hash_str(strs.get(j as usize)));
                        id
                    }
                }
            };
            self.of_value.push(id);
        }
    }

    /// The part id of a value that may not be in the dictionary (`None`: no stored record has
    /// it, so nothing can agree with it).
    fn lookup(&self, col: &StoreColumn, v: &str) -> Option<u32> {
        if v.is_empty() {
            return None;
        }
        if let Some(id) = col.find(v) {
            return Some(self.of_value[id as usize]).filter(|&p| p != MISSING);
        }
        match &self.spec {
            KeySpec::Column(_) => None,
            KeySpec::Derived(d) => {
                let s = encode_key_value(v, d.encode, d.prefix);
                find_str(&self.map, &self.strs, &s)
            }
        }
    }

    /// Number of part ids (a plain column's: its dictionary's size).
    fn count(&self, dict_len: usize) -> usize {
        match &self.spec {
            KeySpec::Column(_) => dict_len,
            KeySpec::Derived(_) => self.strs.len(),
        }
    }
}

/// One blocking rule's index: each record's key id and, per key, a chain of the records that
/// have it (newest first).
#[derive(Debug, Clone)]
struct KeyIndex {
    parts: Vec<KeyPart>,
    /// Multi-part keys: the part ids of each key id, `parts.len()` per key.
    tuple_parts: Vec<u32>,
    /// Multi-part keys: part ids → key id (ids into `tuple_parts`).
    tuples: HashTable<u32>,
    /// Per record: key id or [`MISSING`].
    key_of: Vec<u32>,
    /// Per key id: the newest record with it, or [`NONE`].
    head: Vec<u32>,
    /// Per record: the next older record with the same key, or [`NONE`].
    next: Vec<u32>,
}

impl KeyIndex {
    /// The key id of part ids `p` (interned when `add`, else looked up).
    fn key(&mut self, p: &[u32]) -> u32 {
        if p.contains(&MISSING) {
            return MISSING;
        }
        if p.len() == 1 {
            return p[0];
        }
        if let Some(k) = self.lookup_key(p) {
            return k;
        }
        let np = p.len();
        let k = (self.tuple_parts.len() / np) as u32;
        self.tuple_parts.extend_from_slice(p);
        let tp = &self.tuple_parts;
        self.tuples
            .insert_unique(FxBuildHasher.hash_one(p), k, |&j| {
                FxBuildHasher.hash_one(&tp[j as usize * np..(j as usize + 1) * np])
            });
        k
    }

    fn lookup_key(&self, p: &[u32]) -> Option<u32> {
        if p.len() == 1 {
            return Some(p[0]);
        }
        let np = p.len();
        let tp = &self.tuple_parts;
        self.tuples
            .find(FxBuildHasher.hash_one(p), |&j| {
                &tp[j as usize * np..(j as usize + 1) * np] == p
            })
            .copied()
    }

    /// Number of multi-part keys.
    fn tuple_count(&self) -> usize {
        self.tuple_parts.len() / self.parts.len().max(1)
    }

    /// Rebuilds the tuple table from `tuple_parts` and the chains from `key_of`.
    fn rebuild(&mut self) {
        let np = self.parts.len();
        if np > 1 {
            let n = self.tuple_count();
            let tp = &self.tuple_parts;
            let h = |j: usize| FxBuildHasher.hash_one(&tp[j * np..(j + 1) * np]);
            let mut t = HashTable::with_capacity(n);
            for j in 0..n {
                t.insert_unique(h(j), j as u32, |&i| h(i as usize));
            }
            self.tuples = t;
        }
        let keys = self.key_of.iter().filter(|&&k| k != MISSING).max();
        self.head = vec![NONE; keys.map_or(0, |&k| k as usize + 1)];
        self.next = vec![NONE; self.key_of.len()];
        for (r, &k) in self.key_of.iter().enumerate() {
            if k != MISSING {
                self.next[r] = self.head[k as usize];
                self.head[k as usize] = r as u32;
            }
        }
    }

    /// Records with key `k`, newest first.
    fn chain(&self, k: u32) -> impl Iterator<Item = u32> + '_ {
        let mut y = self.head.get(k as usize).copied().unwrap_or(NONE);
        std::iter::from_fn(move || {
            if y == NONE {
                return None;
            }
            let r = y;
            y = self.next[y as usize];
            Some(r)
        })
    }

    fn insert(&mut self, r: u32) {
        let k = self.key_of[r as usize];
        if self.next.len() <= r as usize {
            self.next.resize(r as usize + 1, NONE);
        }
        if k == MISSING {
            return;
        }
        if self.head.len() <= k as usize {
            self.head.resize(k as usize + 1, NONE);
        }
        self.next[r as usize] = self.head[k as usize];
        self.head[k as usize] = r;
    }
}

/// One stored column: interned cleaned values.
#[derive(Debug, Clone, Default)]
struct StoreColumn {
    name: String,
    values: Vec<u32>,
    dict: StringList,
    /// Value → id (ids into `dict`).
    map: HashTable<u32>,
}

impl StoreColumn {
    fn find(&self, v: &str) -> Option<u32> {
        find_str(&self.map, &self.dict, v)
    }

    fn push(&mut self, v: &str) {
        let id = if v.is_empty() {
            MISSING
        } else if let Some(id) = self.find(v) {
            id
        } else {
            let id = self.dict.len() as u32;
            self.dict.push(v);
            let dict = &self.dict;
            self.map
                .insert_unique(hash_str(v), id, |&j| hash_str(dict.get(j as usize)));
            id
        };
        self.values.push(id);
    }

    fn get(&self, r: usize) -> &str {
        match self.values[r] {
            MISSING => "",
            v => &self.dict[v as usize],
        }
    }
}

/// A record to add or to match: source name, id and the cleaned values of the store's columns
/// (in [`Manifest::columns`] order; empty = missing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecord {
    /// The source name.
    pub source: String,
    /// The unique id within the source.
    pub id: String,
    /// Cleaned values, one per store column.
    pub values: Vec<String>,
}

/// What one add did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AddSummary {
    /// The store's generation after the add.
    pub generation: u64,
    /// Records added.
    pub records: u64,
    /// Candidate pairs compared.
    pub candidates: u64,
    /// Pairs kept (at or above the store's min_probability).
    pub pairs: u64,
    /// New clusters started.
    pub new_clusters: u64,
    /// Clusters merged into an older one.
    pub merged_clusters: u64,
    /// Per added record, in order: its cluster id.
    pub cluster_ids: Vec<u64>,
}

/// One candidate of a record matched against the store ([`Store::find`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// The stored record's source.
    pub source: String,
    /// The stored record's id.
    pub id: String,
    /// Its current cluster id.
    pub cluster_id: u64,
    /// Match weight (bits): the prior plus each contribution.
    pub match_weight: f64,
    /// Match probability.
    pub match_probability: f64,
    /// Per comparison, as `fellegi explain` gives them.
    pub contributions: Vec<Contribution>,
}

/// One comparison's part in a candidate's match weight.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    /// The comparison's output name.
    pub comparison: String,
    /// The level the pair is at (its label).
    pub level: String,
    /// The level's gamma as in pairs.csv (−1 null, 0 else, higher is closer).
    pub gamma: i32,
    /// The level's weight log2(m/u) in bits (0 for a null level).
    pub weight: f64,
}

/// What [`Store::score_rows`] returns: per pair its match weight, and its levels flat.
struct Scored {
    /// Comparisons per pair.
    n_c: usize,
    /// Match weight per pair (log2 Bayes factor plus the prior).
    weights: Vec<f64>,
    /// `n_c` levels per pair, pair after pair.
    levels: Vec<u8>,
}

impl Scored {
    /// The levels of pair `i`.
    fn levels(&self, i: usize) -> &[u8] {
        &self.levels[i * self.n_c..(i + 1) * self.n_c]
    }
}

/// A scored pair: store record indices (`left < right`), weight, probability, levels.
#[derive(Debug, Clone)]
struct ScoredPair {
    left: u32,
    right: u32,
    weight: f64,
    probability: f64,
    levels: Vec<u8>,
}

/// The first bytes of every records.bin chunk.
const RECORDS_MAGIC: &[u8; 4] = b"FREC";
/// The records file (role `records`): chunks of [`Store::encode_records`], one per append.
const RECORDS_FILE: &str = "records.bin";
/// The assignments file (role `assignments`): per record, in record order, the cluster id it
/// got when inserted (u64, little-endian).
const ASSIGNMENTS_FILE: &str = "assignments.bin";

/// The hash of a record's (source, id) in [`Store::by_key`].
fn hash_rec(source: u16, id: &str) -> u64 {
    FxBuildHasher.hash_one((source, id))
}

/// The current clusters as lists of records: per cluster id the first and the last record of
/// its list, per record the next one of its cluster ([`NONE`] ends a list).
#[derive(Debug, Clone, Default)]
struct Members {
    head: Vec<u32>,
    tail: Vec<u32>,
    next: Vec<u32>,
    /// Number of cluster ids with records.
    live: usize,
}

impl Members {
    fn reserve(&mut self, ids: usize, records: usize) {
        self.head.reserve(ids);
        self.tail.reserve(ids);
        self.next.reserve(records);
    }

    /// Appends record `r` to cluster `c`.
    fn push(&mut self, c: u64, r: u32) {
        let c = c as usize;
        if self.head.len() <= c {
            self.head.resize(c + 1, NONE);
            self.tail.resize(c + 1, NONE);
        }
        if self.next.len() <= r as usize {
            self.next.resize(r as usize + 1, NONE);
        }
        if self.head[c] == NONE {
            self.head[c] = r;
            self.live += 1;
        } else {
            self.next[self.tail[c] as usize] = r;
        }
        self.tail[c] = r;
        self.next[r as usize] = NONE;
    }

    /// Moves every record of cluster `from` to cluster `into`.
    fn merge(&mut self, from: u64, into: u64) {
        let (f, i) = (from as usize, into as usize);
        let Some(&h) = self.head.get(f).filter(|&&h| h != NONE) else {
            return;
        };
        if self.head.len() <= i {
            self.head.resize(i + 1, NONE);
            self.tail.resize(i + 1, NONE);
        }
        if self.head[i] == NONE {
            self.head[i] = h;
        } else {
            self.next[self.tail[i] as usize] = h;
            self.live -= 1;
        }
        self.tail[i] = self.tail[f];
        self.head[f] = NONE;
        self.tail[f] = NONE;
    }

    /// The records of cluster `c` in record order, `None` when it has none.
    fn get(&self, c: u64) -> Option<Vec<u32>> {
        let mut y = self.head.get(c as usize).copied().filter(|&h| h != NONE)?;
        let mut out = Vec::new();
        while y != NONE {
            out.push(y);
            y = self.next[y as usize];
        }
        out.sort_unstable();
        Some(out)
    }
}

/// The table of (source, id) → record index over `source_of`/`ids`, and the first record
/// whose (source, id) an earlier one has (left out of the table).
fn records_table(source_of: &[u16], ids: &StringList) -> (HashTable<u32>, Option<usize>) {
    let h = |r: usize| hash_rec(source_of[r], ids.get(r));
    let mut t = HashTable::with_capacity(source_of.len());
    let mut dup = None;
    for r in 0..source_of.len() {
        let same =
            |&x: &u32| source_of[x as usize] == source_of[r] && ids.get(x as usize) == ids.get(r);
        match t.entry(h(r), same, |&x| h(x as usize)) {
            Entry::Occupied(_) => {
                dup = dup.or(Some(r));
            }
            Entry::Vacant(v) => {
                v.insert(r as u32);
            }
        }
    }
    (t, dup)
}

/// The table sizes before an add ([`Store::mark`]).
#[derive(Debug, Clone, Default)]
struct Mark {
    records: usize,
    dict: Vec<usize>,
    strs: Vec<Vec<usize>>,
    tuples: Vec<usize>,
}

/// An open store, every record in memory.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    /// The committed manifest.
    pub manifest: Manifest,
    /// The model (read-only).
    pub model: Settings,
    params: FsParams,
    level_weights: Vec<Vec<f64>>,
    prior: f64,
    source_of: Vec<u16>,
    ids: StringList,
    /// (source, id) → record (record indices).
    by_key: std::sync::OnceLock<HashTable<u32>>,
    columns: Vec<StoreColumn>,
    keys: Vec<KeyIndex>,
    /// Per record: the cluster id it got when inserted.
    assigned: Vec<u64>,
    /// Cluster id → the id it was merged into.
    merged_into: FxHashMap<u64, u64>,
    /// Current cluster id → its records, in record order.
    members: Members,
    /// Comparison output names (pairs.csv gamma columns).
    gamma_names: Vec<String>,
    /// The comparisons compiled once (on no records), rebound to each scoring's rows.
    template: Comparer,
}

/// The error for a bad store option.
fn check_options(o: &StoreOptions) -> Result<()> {
    crate::classify::check_probability("--min-probability", o.min_probability)?;
    crate::classify::check_probability("--threshold", o.threshold)?;
    if o.min_probability > o.threshold {
        return Err(Error::invalid(
            "--min-probability",
            format!(
                "--min-probability ({}) must not exceed --threshold ({}): clusters need every pair at the threshold",
                o.min_probability, o.threshold
            ),
        ));
    }
    Ok(())
}

/// Refuses models a store cannot hold.
fn check_model(model: &Settings, origin: &str) -> Result<FsParams> {
    let params = FsParams::from_settings(model, origin)?;
    if model.exhaustive {
        return Err(Error::settings(
            origin,
            "exhaustive",
            "a store needs blocking rules: an exhaustive model (exhaustive = true) would compare every added record with every stored one; fit a model with [[blocking]] rules for the store",
        ));
    }
    if model.blocking.is_empty() {
        return Err(Error::settings(
            origin,
            "blocking",
            "no [[blocking]] rules: a store finds each new record's candidates by the model's blocking rules, e.g. [[blocking]] keys = [\"surname\"]",
        ));
    }
    Ok(params)
}

/// Writes a CSV row of fields into `buf`.
fn csv_row<I: IntoIterator<Item = S>, S: AsRef<[u8]>>(buf: &mut Vec<u8>, fields: I) -> Result<()> {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    w.write_record(fields)
        .map_err(|e| Error::Internal(e.to_string()))?;
    buf.extend_from_slice(&w.into_inner().map_err(|e| Error::Internal(e.to_string()))?);
    Ok(())
}

/// The header of changes.csv.
const CHANGES_HEADER: [&str; 6] = [
    "seq",
    "source",
    "id",
    "old_cluster_id",
    "new_cluster_id",
    "reason",
];

/// Creates a store at `out` from the inputs `paths` linked by the fitted `model` (`origin`
/// names it in errors). The inputs are read as `fellegi predict` reads them; the store is
/// written under a temporary name beside `out` and renamed into place when complete.
///
/// # Errors
/// [`Error::Input`] when `out` exists and is not an empty folder; model errors (no parameters,
/// exhaustive, no blocking rules); the pipeline's input errors.
pub fn create(
    model: &Settings,
    origin: &str,
    paths: &[PathBuf],
    opts: StoreOptions,
    out: &Path,
    progress: &Progress,
) -> Result<Manifest> {
    check_create(model, origin, &opts, out)?;
    let ds = crate::pipeline::load(model, paths, progress)?;
    write_new_store(model, origin, &ds, opts, out, progress)
}

/// As [`create`], from records already loaded for `model` (by [`crate::pipeline::load`] or
/// [`crate::pipeline::load_memory`], which the Python package uses for DataFrames).
///
/// # Errors
/// As [`create`], less the input errors.
pub fn create_from(
    model: &Settings,
    origin: &str,
    ds: &Dataset,
    opts: StoreOptions,
    out: &Path,
    progress: &Progress,
) -> Result<Manifest> {
    check_create(model, origin, &opts, out)?;
    let columns_used = model.columns_used();
    if let Some((c, _)) = columns_used
        .iter()
        .find(|(c, _)| ds.column_index(c).is_none())
    {
        return Err(Error::Data(format!(
            "the records have no column `{c}`, which the model reads; load them for this model"
        )));
    }
    write_new_store(model, origin, ds, opts, out, progress)
}

/// The checks of a store's options, model and folder before anything is read.
fn check_create(model: &Settings, origin: &str, opts: &StoreOptions, out: &Path) -> Result<()> {
    check_options(opts)?;
    check_model(model, origin)?;
    if out.exists() {
        let empty = out.is_dir()
            && std::fs::read_dir(out)
                .map_err(|e| Error::io(out, e))?
                .next()
                .is_none();
        if !empty {
            return Err(Error::Input {
                path: out.to_path_buf(),
                message: "already exists: a store is created in a new (or empty) folder; add records to an existing store with `fellegi store add`".into(),
            });
        }
    }
    Ok(())
}

/// Scores `ds`, clusters it and writes the store (temporary folder, then renamed).
fn write_new_store(
    model: &Settings,
    origin: &str,
    ds: &Dataset,
    opts: StoreOptions,
    out: &Path,
    progress: &Progress,
) -> Result<Manifest> {
    let scored = crate::pipeline::score(model, origin, ds, opts.min_probability, progress)?;
    let pairs = &scored.pairs;
    let t = Instant::now();
    let links = (0..pairs.len())
        .filter(|&i| pairs.probability[i] >= opts.threshold)
        .map(|i| (pairs.left[i], pairs.right[i]));
    let clusters = Clusters::of(ds.len(), links);
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "store".into());
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let result = (|| -> Result<Manifest> {
        let mut files = std::collections::BTreeMap::new();
        let mut put = |role: &str, name: &str, bytes: Vec<u8>| -> Result<()> {
            let path = tmp.join(name);
            std::fs::write(&path, &bytes).map_err(|e| Error::io(&path, e))?;
            files.insert(
                role.to_string(),
                FileState {
                    name: name.to_string(),
                    segments: vec![Segment {
                        end: bytes.len() as u64,
                        sha256: files::sha256_hex(&bytes),
                    }],
                },
            );
            Ok(())
        };
        let mut model_json = serde_json::to_vec_pretty(model)
            .map_err(|e| Error::Internal(format!("model to JSON: {e}")))?;
        model_json.push(b'\n');
        put("model", "model.json", model_json)?;
        // Sources in dataset order; record source indices are the dataset's.
        let sources: Vec<String> = ds.sources.iter().map(|s| s.name.clone()).collect();
        let columns: Vec<String> = ds.columns.iter().map(|c| c.name.clone()).collect();
        let m = Manifest {
            schema_version: SCHEMA_VERSION,
            generation: 1,
            tool: format!("fellegi {}", env!("CARGO_PKG_VERSION")),
            link_type: model.link_type,
            sources,
            columns,
            min_probability: opts.min_probability,
            threshold: opts.threshold,
            records: ds.len() as u64,
            pairs: pairs.len() as u64,
            next_cluster_id: clusters.count + 1,
            next_change: 1,
            files: Default::default(),
        };
        let rec = encode_all_records(&tmp, &m, model, origin, &ds.source_of, &ds.ids, |c, r| {
            ds.columns[c].get(r).unwrap_or("")
        })?;
        put("records", RECORDS_FILE, rec)?;
        let ids: Vec<u64> = clusters.ids.iter().map(|&c| c as u64 + 1).collect();
        let mut asg = binary::Enc::default();
        asg.u64s(&ids);
        put("assignments", ASSIGNMENTS_FILE, asg.0)?;
        let mut pb = Vec::new();
        write_pairs(&mut pb, ds, &scored.comparer, pairs, None).map_err(|e| Error::io(&tmp, e))?;
        put("pairs", "pairs.csv", pb)?;
        let mut mg = Vec::new();
        csv_row(
            &mut mg,
            ["generation", "from_cluster_id", "into_cluster_id"],
        )?;
        put("merges", "merges.csv", mg)?;
        let mut ch = Vec::new();
        csv_row(&mut ch, CHANGES_HEADER)?;
        put("changes", "changes.csv", ch)?;
        let m = Manifest { files, ..m };
        commit_manifest(&tmp, &m)?;
        Ok(m)
    })();
    let m = match result {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    if out.exists() {
        std::fs::remove_dir(out).map_err(|e| Error::io(out, e))?;
    }
    std::fs::rename(&tmp, out).map_err(|e| Error::io(out, e))?;
    progress.phase("write store", t);
    Ok(m)
}

/// The whole records.bin of a store with manifest `m` and model `model` holding the records
/// `source_of`/`ids` whose cleaned value of column `c` in record `r` is `value(c, r)`: one
/// chunk, the values interned and the blocking keys computed as an add would.
#[allow(clippy::too_many_arguments)]
fn encode_all_records<'a>(
    dir: &Path,
    m: &Manifest,
    model: &Settings,
    origin: &str,
    source_of: &[u16],
    ids: &StringList,
    value: impl Fn(usize, usize) -> &'a str,
) -> Result<Vec<u8>> {
    let mut st = Store::empty(dir, m.clone(), model.clone(), origin)?;
    let mark = st.mark();
    st.source_of = source_of.to_vec();
    st.ids = ids.clone();
    for (c, col) in st.columns.iter_mut().enumerate() {
        col.values.reserve(source_of.len());
        for r in 0..source_of.len() {
            col.push(value(c, r));
        }
    }
    st.index_keys(0, false);
    Ok(st.encode_records(&mark))
}

/// Parses committed CSV bytes, calling `row` with each record (line numbers from 2).
fn each_row(
    path: &Path,
    bytes: &[u8],
    mut row: impl FnMut(u64, &csv::StringRecord) -> Result<()>,
) -> Result<csv::StringRecord> {
    let mut rdr = csv::ReaderBuilder::new().from_reader(bytes);
    let bad = |line: u64, e: csv::Error| Error::Csv {
        path: path.to_path_buf(),
        line,
        message: format!("{e}; the store is damaged"),
    };
    let header = rdr.headers().map_err(|e| bad(1, e))?.clone();
    let mut rec = csv::StringRecord::new();
    let mut line = 1u64;
    loop {
        line += 1;
        match rdr.read_record(&mut rec) {
            Ok(true) => row(line, &rec)?,
            Ok(false) => break,
            Err(e) => return Err(bad(line, e)),
        }
    }
    Ok(header)
}

/// The damaged-store error for `path` at `line`.
fn damaged(path: &Path, line: u64, what: impl std::fmt::Display) -> Error {
    Error::Csv {
        path: path.to_path_buf(),
        line,
        message: format!("{what}; the store is damaged"),
    }
}

/// A store's clusters as read from its files ([`load_clusters`]).
struct LoadedClusters {
    /// Per record, the cluster id it was given.
    assigned: Vec<u64>,
    /// Merged cluster id → the id it merged into.
    merged_into: FxHashMap<u64, u64>,
    /// Records per current cluster id.
    members: Members,
    /// The first record whose assigned id is out of range: (record, id, file).
    bad: Option<(usize, u64, PathBuf)>,
}

/// The current id of cluster `id` (following merges).
fn resolve_in(merged_into: &FxHashMap<u64, u64>, mut id: u64) -> u64 {
    while let Some(&n) = merged_into.get(&id) {
        id = n;
    }
    id
}

/// Reads the cluster assignments (one per record of `m`) and the merges of the store at `dir`
/// and builds each current cluster's member list. Needs only the manifest, so that
/// [`Store::open`] runs it beside the decoding of the records.
fn load_clusters(dir: &Path, m: &Manifest) -> Result<LoadedClusters> {
    let f = &m.files["assignments"];
    let path = dir.join(&f.name);
    let bytes = read_committed(dir, f)?;
    let next = m.next_cluster_id;
    let mut d = binary::Dec::new(&path, &bytes);
    let n = m.records as usize;
    let mut assigned = Vec::with_capacity(n);
    if bytes.len() != n * 8 {
        return Err(d.damaged(format!(
            "{} bytes for {n} records' cluster ids (8 bytes each)",
            bytes.len()
        )));
    }
    d.u64s(n, &mut assigned)?;
    let bad = assigned
        .iter()
        .position(|i| !(1..next).contains(i))
        .map(|r| (r, assigned[r], path.clone()));
    if bad.is_some() {
        return Ok(LoadedClusters {
            assigned: Vec::new(),
            merged_into: FxHashMap::default(),
            members: Members::default(),
            bad,
        });
    }
    let f = &m.files["merges"];
    let path = dir.join(&f.name);
    let bytes = read_committed(dir, f)?;
    let mut merged = FxHashMap::default();
    each_row(&path, &bytes, |line, rec| {
        let num = |i: usize| -> Result<u64> {
            rec.get(i)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| damaged(&path, line, "bad merge row"))
        };
        let (from, into) = (num(1)?, num(2)?);
        if into >= from || from >= next {
            return Err(damaged(&path, line, "a merge must go into an older id"));
        }
        merged.insert(from, into);
        Ok(())
    })?;
    let mut members = Members::default();
    members.reserve(next as usize, assigned.len());
    for (r, &a) in assigned.iter().enumerate() {
        members.push(resolve_in(&merged, a), r as u32);
    }
    Ok(LoadedClusters {
        assigned,
        merged_into: merged,
        members,
        bad,
    })
}

impl Store {
    /// Opens the store at `dir`: reads the manifest, the model, the binary records (values,
    /// blocking keys) and cluster assignments, and rebuilds the in-memory hash tables.
    ///
    /// # Errors
    /// [`Error::Input`] when `dir` is not a store, has another schema version, or a file is
    /// damaged.
    pub fn open(dir: &Path) -> Result<Store> {
        let manifest = read_manifest(dir)?;
        let file = |role: &str| {
            manifest.files.get(role).ok_or_else(|| Error::Input {
                path: dir.join(files::MANIFEST),
                message: format!("names no `{role}` file; the store is damaged"),
            })
        };
        let model_state = file("model")?;
        let model_bytes = read_committed(dir, model_state)?;
        let origin = dir.join(&model_state.name).display().to_string();
        let text = String::from_utf8(model_bytes).map_err(|_| Error::Input {
            path: dir.join(&model_state.name),
            message: "is not UTF-8; the store is damaged".into(),
        })?;
        let model = Settings::from_json(&text, &origin)?;
        let mut store = Store::empty(dir, manifest, model, &origin)?;
        // The cluster files need only the manifest: they are read on a second thread while
        // this one reads and decodes the records (single-threaded up to the hash tables).
        let (dir2, manifest2) = (store.dir.clone(), store.manifest.clone());
        let (records, clusters) = std::thread::scope(|s| {
            let clusters = s.spawn(move || load_clusters(&dir2, &manifest2));
            let records = store.read_records();
            let clusters = clusters
                .join()
                .unwrap_or_else(|_| Err(Error::Internal("reading the clusters panicked".into())));
            (records, clusters)
        });
        records?;
        let c = clusters?;
        if let Some((r, id, path)) = c.bad {
            return Err(binary::damaged_at(
                &path,
                r * 8,
                format!("record {} has bad cluster id {id}", store.name(r as u32)),
            ));
        }
        store.assigned = c.assigned;
        store.merged_into = c.merged_into;
        store.members = c.members;
        Ok(store)
    }

    /// A store of no records with `manifest`'s columns and `model`'s blocking rules.
    fn empty(dir: &Path, manifest: Manifest, model: Settings, origin: &str) -> Result<Store> {
        let params = check_model(&model, origin)?;
        let level_weights = params.level_weights();
        let prior = params.prior_weight();
        let gamma_names = model
            .comparisons
            .iter()
            .map(|c| c.output_name().to_string())
            .collect();
        let columns: Vec<StoreColumn> = manifest
            .columns
            .iter()
            .map(|n| StoreColumn {
                name: n.clone(),
                ..Default::default()
            })
            .collect();
        let mut keys = Vec::new();
        for b in &model.blocking {
            let mut parts = Vec::new();
            for k in &b.keys {
                let column = manifest
                    .columns
                    .iter()
                    .position(|c| c == k.column())
                    .ok_or_else(|| Error::Input {
                        path: dir.join(files::MANIFEST),
                        message: format!(
                            "blocking column `{}` is not among the stored columns; the store is damaged",
                            k.column()
                        ),
                    })?;
                parts.push(KeyPart {
                    column,
                    spec: k.clone(),
                    of_value: Vec::new(),
                    strs: StringList::default(),
                    map: HashTable::new(),
                });
            }
            keys.push(KeyIndex {
                parts,
                tuple_parts: Vec::new(),
                tuples: HashTable::new(),
                key_of: Vec::new(),
                head: Vec::new(),
                next: Vec::new(),
            });
        }
        let empty = Dataset {
            columns: manifest
                .columns
                .iter()
                .map(|n| Column {
                    name: n.clone(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let template = Comparer::new(&model.comparisons, &empty)?;
        Ok(Store {
            template,
            dir: dir.to_path_buf(),
            manifest,
            model,
            params,
            level_weights,
            prior,
            source_of: Vec::new(),
            ids: StringList::default(),
            by_key: std::sync::OnceLock::new(),
            columns,
            keys,
            assigned: Vec::new(),
            merged_into: FxHashMap::default(),
            members: Members::default(),
            gamma_names,
        })
    }

    /// How much of every table the records before an add fill ([`Store::encode_records`]).
    fn mark(&self) -> Mark {
        Mark {
            records: self.source_of.len(),
            dict: self.columns.iter().map(|c| c.dict.len()).collect(),
            strs: self
                .keys
                .iter()
                .map(|k| k.parts.iter().map(|p| p.strs.len()).collect())
                .collect(),
            tuples: self.keys.iter().map(KeyIndex::tuple_count).collect(),
        }
    }

    /// One records.bin chunk: everything records `m.records..` added to the tables.
    ///
    /// Layout (little-endian): `FREC`, n (u32), n sources (u16), the ids (a string block:
    /// count, ends, text); per column its new dictionary strings (a string block) and n value
    /// ids (u32, `u32::MAX` missing); per blocking rule, per key part of a derived key its new
    /// encoded values (a string block) and the part id of each new dictionary value, for
    /// multi-part rules the new keys (count, then their part ids), and n key ids.
    fn encode_records(&self, m: &Mark) -> Vec<u8> {
        let n = self.source_of.len();
        let mut e = binary::Enc::default();
        e.bytes(RECORDS_MAGIC);
        e.u32((n - m.records) as u32);
        e.u16s(&self.source_of[m.records..]);
        e.strings(&self.ids, m.records, n);
        for (c, col) in self.columns.iter().enumerate() {
            e.strings(&col.dict, m.dict[c], col.dict.len());
            e.u32s(&col.values[m.records..]);
        }
        for (k, ki) in self.keys.iter().enumerate() {
            for (j, p) in ki.parts.iter().enumerate() {
                if let KeySpec::Derived(_) = p.spec {
                    e.strings(&p.strs, m.strs[k][j], p.strs.len());
                    e.u32s(&p.of_value[m.dict[p.column]..]);
                }
            }
            let np = ki.parts.len();
            if np > 1 {
                e.u32((ki.tuple_count() - m.tuples[k]) as u32);
                e.u32s(&ki.tuple_parts[m.tuples[k] * np..]);
            }
            e.u32s(&ki.key_of[m.records..]);
        }
        e.0
    }

    /// Appends one records.bin chunk to the tables (without the hash tables and chains,
    /// [`Store::rebuild`]).
    fn decode_records(&mut self, d: &mut binary::Dec<'_>) -> Result<()> {
        if d.take(4)? != RECORDS_MAGIC {
            return Err(d.damaged("no records chunk"));
        }
        let from = self.source_of.len();
        let n = d.u32()? as usize;
        d.u16s(n, &mut self.source_of)?;
        let n_src = self.manifest.sources.len();
        if self.source_of[from..].iter().any(|&s| s as usize >= n_src) {
            return Err(d.damaged("a record's source is not among the manifest's"));
        }
        if d.strings(&mut self.ids)? != n {
            return Err(d.damaged("the ids do not match the record count"));
        }
        for col in &mut self.columns {
            d.strings(&mut col.dict)?;
            d.u32s(n, &mut col.values)?;
            let len = col.dict.len() as u32;
            if col.values[from..].iter().any(|&v| v != MISSING && v >= len) {
                return Err(d.damaged(format!(
                    "a value id of column `{}` is out of range",
                    col.name
                )));
            }
        }
        let columns = &self.columns;
        for ki in &mut self.keys {
            for p in &mut ki.parts {
                let dict_len = columns[p.column].dict.len();
                let had = p.of_value.len();
                match p.spec {
                    KeySpec::Column(_) => p.of_value.extend(had as u32..dict_len as u32),
                    KeySpec::Derived(_) => {
                        d.strings(&mut p.strs)?;
                        d.u32s(dict_len - had, &mut p.of_value)?;
                        let len = p.strs.len() as u32;
                        if p.of_value[had..].iter().any(|&v| v != MISSING && v >= len) {
                            return Err(d.damaged("a key part id is out of range"));
                        }
                    }
                }
            }
            let np = ki.parts.len();
            let keys = if np > 1 {
                let had = ki.tuple_parts.len();
                let t = d.u32()? as usize;
                d.u32s(t * np, &mut ki.tuple_parts)?;
                for (i, &v) in ki.tuple_parts[had..].iter().enumerate() {
                    let p = &ki.parts[i % np];
                    if v as usize >= p.count(columns[p.column].dict.len()) {
                        return Err(d.damaged("a key's part id is out of range"));
                    }
                }
                ki.tuple_count()
            } else {
                let p = &ki.parts[0];
                p.count(columns[p.column].dict.len())
            } as u32;
            d.u32s(n, &mut ki.key_of)?;
            if ki.key_of[from..].iter().any(|&k| k != MISSING && k >= keys) {
                return Err(d.damaged("a key id is out of range"));
            }
        }
        Ok(())
    }

    /// Rebuilds the hash tables (values, key parts, keys) and the key chains from the tables,
    /// in parallel. The table of record ids is built when first needed ([`Store::by_key`]).
    fn rebuild(&mut self) -> Result<()> {
        let Store { columns, keys, .. } = self;
        rayon::scope(|s| {
            for col in columns.iter_mut() {
                s.spawn(move |_| col.map = table_of(&col.dict));
            }
            for ki in keys.iter_mut() {
                s.spawn(move |_| {
                    for p in &mut ki.parts {
                        if let KeySpec::Derived(_) = p.spec {
                            p.map = table_of(&p.strs);
                        }
                    }
                    ki.rebuild();
                });
            }
        });
        Ok(())
    }

    fn read_records(&mut self) -> Result<()> {
        let f = self.manifest.files["records"].clone();
        let path = self.dir.join(&f.name);
        let t = Instant::now();
        let bytes = read_committed(&self.dir, &f)?;
        Progress::default().phase("store: read records", t);
        let t = Instant::now();
        let mut d = binary::Dec::new(&path, &bytes);
        while !d.done() {
            self.decode_records(&mut d)?;
        }
        Progress::default().phase("store: decode records", t);
        if self.source_of.len() as u64 != self.manifest.records {
            return Err(d.damaged(format!(
                "{} records, the manifest says {}",
                self.source_of.len(),
                self.manifest.records
            )));
        }
        drop(bytes);
        let t = Instant::now();
        self.rebuild()?;
        Progress::default().phase("store: hash tables and chains", t);
        Ok(())
    }

    /// Computes the blocking keys of records `from..` and, with `chain`, inserts them into the
    /// chains.
    fn index_keys(&mut self, from: usize, chain: bool) {
        let n = self.source_of.len();
        let columns = &self.columns;
        for ki in &mut self.keys {
            for p in &mut ki.parts {
                p.extend(&columns[p.column].dict);
            }
            let mut part = vec![0u32; ki.parts.len()];
            for r in from..n {
                for (j, p) in ki.parts.iter().enumerate() {
                    let v = columns[p.column].values[r];
                    part[j] = if v == MISSING {
                        MISSING
                    } else {
                        p.of_value[v as usize]
                    };
                }
                let k = ki.key(&part);
                ki.key_of.push(k);
                if chain {
                    ki.insert(r as u32);
                }
            }
        }
    }

    /// The current id of cluster `id` (following merges).
    pub fn resolve(&self, id: u64) -> u64 {
        resolve_in(&self.merged_into, id)
    }

    /// The table of (source, id) → record, built on first use (an add from the command line
    /// checks its new ids by a scan instead, [`Store::stored_among`]).
    fn by_key(&self) -> &HashTable<u32> {
        self.by_key
            .get_or_init(|| records_table(&self.source_of, &self.ids).0)
    }

    /// Builds the (source, id) table now rather than on first use (a long-running service
    /// does, so that no insert scans the stored ids).
    pub fn index_ids(&self) {
        self.by_key();
    }

    /// The first record whose (source, id) an earlier record has (the store is damaged).
    pub fn duplicate_record(&self) -> Option<String> {
        records_table(&self.source_of, &self.ids)
            .1
            .map(|r| self.name(r as u32))
    }

    /// Per new record, whether its (source, id) is stored: from the table when built, else by
    /// one scan of the stored ids against a table of the new ones.
    fn stored_among(&self, recs: &[NewRecord]) -> Vec<bool> {
        if self.by_key.get().is_some() {
            return recs
                .iter()
                .map(|r| self.record(&r.source, &r.id).is_some())
                .collect();
        }
        let keyed: Vec<Option<(u16, &str)>> = recs
            .iter()
            .map(|r| {
                let s = self.manifest.sources.iter().position(|x| *x == r.source)?;
                Some((s as u16, r.id.as_str()))
            })
            .collect();
        let mut t: HashTable<u32> = HashTable::with_capacity(recs.len());
        for (i, k) in keyed.iter().enumerate() {
            if let Some((s, id)) = k {
                t.insert_unique(hash_rec(*s, id), i as u32, |&j| {
                    keyed[j as usize].map_or(0, |(s, id)| hash_rec(s, id))
                });
            }
        }
        let mut out = vec![false; recs.len()];
        if t.is_empty() {
            return out;
        }
        let hits: Vec<u32> = (0..self.source_of.len())
            .into_par_iter()
            .with_min_len(1 << 16)
            .filter_map(|r| {
                let (s, id) = (self.source_of[r], self.ids.get(r));
                t.find(hash_rec(s, id), |&j| keyed[j as usize] == Some((s, id)))
                    .copied()
            })
            .collect();
        for j in hits {
            out[j as usize] = true;
        }
        out
    }

    /// The record index of (source, id), if stored.
    pub fn record(&self, source: &str, id: &str) -> Option<u32> {
        let s = self.manifest.sources.iter().position(|x| x == source)? as u16;
        self.by_key()
            .find(hash_rec(s, id), |&r| {
                self.source_of[r as usize] == s && self.ids.get(r as usize) == id
            })
            .copied()
    }

    /// `source:id` of record `r`.
    fn name(&self, r: u32) -> String {
        format!(
            "{}:{}",
            self.manifest.sources[self.source_of[r as usize] as usize],
            self.ids.get(r as usize)
        )
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.source_of.len()
    }

    /// Whether the store holds no record.
    pub fn is_empty(&self) -> bool {
        self.source_of.is_empty()
    }

    /// The store's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Number of clusters.
    pub fn cluster_count(&self) -> usize {
        self.members.live
    }

    /// The current cluster id of record `r`.
    pub fn cluster_of(&self, r: u32) -> u64 {
        self.resolve(self.assigned[r as usize])
    }

    /// The records of cluster `id` as (source, id), in record order; `None` when no cluster
    /// has that id now. An id merged into another resolves to it: the returned id says which.
    pub fn cluster(&self, id: u64) -> Option<(u64, Vec<(String, String)>)> {
        let cur = self.resolve(id);
        let m = self.members.get(cur)?;
        Some((
            cur,
            m.iter()
                .map(|&r| {
                    (
                        self.manifest.sources[self.source_of[r as usize] as usize].clone(),
                        self.ids.get(r as usize).to_string(),
                    )
                })
                .collect(),
        ))
    }

    /// The cleaned values of record `r`, by column name.
    pub fn values(&self, r: u32) -> Vec<(String, String)> {
        self.columns
            .iter()
            .map(|c| (c.name.clone(), c.get(r as usize).to_string()))
            .collect()
    }

    /// Reads new records from CSV files as the store's model reads inputs (its `[[input]]`
    /// descriptions, date formats and transforms). In a dedupe store every record joins the
    /// store's one source; in link stores a file's records are the source `source` when given,
    /// else the file's source name (its stem, or its `[[input]]`'s `source`). A file is read by
    /// the `[[input]]` whose `path` it is, else by that of the source it adds to
    /// ([`Store::input_rules`] of `source`, or of its stem); with none, as a plain CSV. Unlike
    /// a link run, inputs of the model that no new file matches are not an error: they
    /// describe sources added at other times. With no `paths`, the model's `[[input]]` files
    /// are read.
    ///
    /// # Errors
    /// The reader's errors (unknown column, malformed row, empty file, huge field, duplicate
    /// id within a file); [`Error::Invalid`] for `source` in a dedupe store.
    pub fn read_new(
        &self,
        paths: &[PathBuf],
        source: Option<&str>,
        progress: &Progress,
    ) -> Result<Vec<NewRecord>> {
        self.check_source_option(source, "--source")?;
        let settings = &self.model;
        let (paths, descriptions) = if paths.is_empty() {
            crate::pipeline::resolve_inputs(settings, paths)?
        } else {
            // Each new file is read by the [[input]] of the source it adds to (`source`, else
            // its stem); the model's other inputs may describe sources added later.
            let descriptions = paths
                .iter()
                .map(|p| {
                    let name = source.map_or_else(|| crate::data::stem_of(p), str::to_string);
                    settings
                        .inputs
                        .iter()
                        .find(|d| {
                            source.is_none()
                                && d.path
                                    .as_deref()
                                    .is_some_and(|q| crate::pipeline::same_file(p, q))
                        })
                        .or_else(|| self.input_rules(&name))
                        .cloned()
                        .unwrap_or_default()
                })
                .collect();
            (paths.to_vec(), descriptions)
        };
        let spec = InputSpec {
            paths,
            descriptions,
            date_targets: settings.date_targets(),
            unique_id: settings.unique_id.clone(),
            truth: None,
            columns: settings.columns_used(),
        };
        let mut ds = crate::data::read_csv_files(&spec, progress)?;
        crate::clean::apply_transforms(&mut ds, &settings.transforms)?;
        self.records_of(&ds, source)
    }

    /// New records from in-memory tables (the Python package's DataFrames), read as
    /// [`crate::pipeline::load_memory`] reads them for the store's model (columns under the
    /// model's names; no `[[input]]` rules), then its transforms. Sources as in
    /// [`Store::read_new`]: a table's name is its source unless `source` is given.
    ///
    /// # Errors
    /// [`crate::data::read_memory`]'s errors; [`Error::Invalid`] for `source` in a dedupe store.
    pub fn read_tables(
        &self,
        tables: &[crate::data::MemorySource<'_>],
        source: Option<&str>,
    ) -> Result<Vec<NewRecord>> {
        self.check_source_option(source, "source")?;
        let spec = crate::data::MemorySpec {
            unique_id: self.model.unique_id.clone(),
            truth: None,
            columns: self.model.columns_used(),
        };
        let mut ds = crate::data::read_memory(tables, &spec)?;
        crate::clean::apply_transforms(&mut ds, &self.model.transforms)?;
        self.records_of(&ds, source)
    }

    /// Refuses a source option (`option`, as the caller names it) in a dedupe store.
    fn check_source_option(&self, source: Option<&str>, option: &str) -> Result<()> {
        if source.is_some() && self.manifest.link_type == LinkType::Dedupe {
            return Err(Error::invalid(
                option,
                format!(
                    "{option} names a source of a link or link_and_dedupe store; a dedupe store has one population, so leave {option} out"
                ),
            ));
        }
        Ok(())
    }

    /// The records of a dataset loaded for the store's model, with their sources.
    fn records_of(&self, ds: &Dataset, source: Option<&str>) -> Result<Vec<NewRecord>> {
        let cols: Vec<usize> = self
            .manifest
            .columns
            .iter()
            .map(|c| {
                ds.column_index(c).ok_or_else(|| {
                    Error::Internal(format!(
                        "stored column `{c}` was not read from the new records"
                    ))
                })
            })
            .collect::<Result<_>>()?;
        Ok((0..ds.len())
            .map(|r| NewRecord {
                source: match (self.manifest.link_type, source) {
                    (LinkType::Dedupe, _) => self.manifest.sources[0].clone(),
                    (_, Some(s)) => s.to_string(),
                    _ => ds.source_name(r).to_string(),
                },
                id: ds.ids.get(r).to_string(),
                values: cols
                    .iter()
                    .map(|&c| ds.columns[c].get(r).unwrap_or("").to_string())
                    .collect(),
            })
            .collect())
    }

    /// The `[[input]]` description of the model whose rules apply to records of `input`: the
    /// one whose `source` is `input`, else the one whose file's stem is `input`.
    pub fn input_rules(&self, input: &str) -> Option<&InputDescription> {
        let inputs = &self.model.inputs;
        inputs
            .iter()
            .find(|d| d.source.as_deref() == Some(input))
            .or_else(|| {
                inputs.iter().find(|d| {
                    d.source.is_none()
                        && d.path
                            .as_deref()
                            .is_some_and(|p| crate::data::stem_of(p) == input)
                })
            })
    }

    /// Raw field values → a cleaned [`NewRecord`], as a CSV row of that input would be read:
    /// `rules` (an `[[input]]` description, see [`Store::input_rules`]) renames its file
    /// columns, reads its missing markers as missing and rewrites its dates in the form the
    /// comparisons expect; then the model's transforms are applied. `fields` maps a column name
    /// (the file's name under `rules`, or the model's) to its value as given; a column left out
    /// is missing. Used by the service, whose records come as JSON.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a field that is not a column the model reads (nor renamed onto
    /// one), or a column given twice (under its file name and its model name).
    pub fn clean_record(
        &self,
        source: &str,
        id: &str,
        fields: &[(String, String)],
        rules: Option<&InputDescription>,
    ) -> Result<NewRecord> {
        let used: Vec<String> = {
            let mut u: Vec<String> = Vec::new();
            for (c, _) in self.model.columns_used() {
                if !u.contains(&c) {
                    u.push(c);
                }
            }
            u
        };
        let plain = InputDescription::default();
        let desc = rules.unwrap_or(&plain);
        let targets = self.model.date_targets();
        let mut named: Vec<(&str, std::borrow::Cow<'_, str>)> = Vec::with_capacity(fields.len());
        for (k, v) in fields {
            let c = desc.settings_name(k);
            if !used.iter().any(|u| u == c) {
                let renamed = if c == k {
                    String::new()
                } else {
                    format!(" (input rename maps it to `{c}`)")
                };
                return Err(Error::invalid(
                    "record",
                    format!(
                        "unknown field `{k}`{renamed}: the model reads {}",
                        used.join(", ")
                    ),
                ));
            }
            if named.iter().any(|(n, _)| *n == c) {
                return Err(Error::invalid(
                    "record",
                    format!(
                        "column `{c}` is given twice (once under its input's name); give it once"
                    ),
                ));
            }
            let target = targets.iter().find(|(t, _)| t == c).map(|(_, f)| *f);
            let v = desc
                .value_rule(c, target)
                .apply(std::borrow::Cow::Borrowed(v.as_str()));
            named.push((c, v));
        }
        let mut ds = Dataset {
            sources: vec![Source {
                name: source.to_string(),
                path: PathBuf::new(),
                sha256: String::new(),
                start: 0,
                len: 1,
            }],
            source_of: vec![0],
            ids: std::iter::once(id).collect(),
            truth: None,
            columns: Vec::new(),
        };
        for c in &used {
            let mut int = Interner::default();
            let v = named
                .iter()
                .find(|(k, _)| *k == c)
                .map_or("", |(_, v)| v.as_ref());
            let id = int.intern(v);
            ds.columns.push(Column {
                name: c.clone(),
                values: vec![id],
                dict: int.into_dict(),
            });
        }
        crate::clean::apply_transforms(&mut ds, &self.model.transforms)?;
        let values = self
            .manifest
            .columns
            .iter()
            .map(|c| {
                ds.column_index(c)
                    .and_then(|i| ds.columns[i].get(0))
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        Ok(NewRecord {
            source: source.to_string(),
            id: id.to_string(),
            values,
        })
    }

    /// Checks a batch before anything changes: known or new sources as the link type allows,
    /// ids not already stored nor repeated.
    fn check_new(&self, recs: &[NewRecord]) -> Result<()> {
        let mut seen: FxHashMap<(&str, &str), ()> = FxHashMap::default();
        let stored = self.stored_among(recs);
        for (r, &stored) in recs.iter().zip(&stored) {
            if r.values.len() != self.columns.len() {
                return Err(Error::Internal(
                    "record values do not match the store's columns".into(),
                ));
            }
            if r.id.is_empty() {
                return Err(Error::Data(format!(
                    "a record of source `{}` has an empty id; every record needs a unique id",
                    r.source
                )));
            }
            if self.manifest.link_type == LinkType::Dedupe && r.source != self.manifest.sources[0] {
                return Err(Error::Data(format!(
                    "record {}:{}: a dedupe store has one source, `{}`",
                    r.source, r.id, self.manifest.sources[0]
                )));
            }
            if stored {
                return Err(Error::Data(format!(
                    "record {}:{} is already in the store; ids are unique within a source (nothing was added)",
                    r.source, r.id
                )));
            }
            if seen.insert((&r.source, &r.id), ()).is_some() {
                return Err(Error::Data(format!(
                    "record {}:{} appears twice among the new records (nothing was added)",
                    r.source, r.id
                )));
            }
        }
        Ok(())
    }

    /// The candidate pairs of records `from..` against all earlier records: (earlier, new), in
    /// record order, each pair once (the first blocking rule whose keys agree).
    fn candidates_of_new(&self, from: usize) -> Vec<(u32, u32)> {
        // The chains hold the records before `from` plus, as we go, the new ones; simulate
        // insertion with per-rule "pending" lists so that each new-new pair is seen once.
        let n = self.source_of.len();
        let link = self.manifest.link_type == LinkType::Link;
        let mut out = Vec::new();
        let mut pending: Vec<FxHashMap<u32, Vec<u32>>> =
            vec![FxHashMap::default(); self.keys.len()];
        for x in from..n {
            let x = x as u32;
            let sx = self.source_of[x as usize];
            for (k, ki) in self.keys.iter().enumerate() {
                let key = ki.key_of[x as usize];
                if key == MISSING {
                    continue;
                }
                let earlier_new = pending[k].get(&key).map(Vec::as_slice).unwrap_or(&[]);
                let older = ki.chain(key).filter(|&y| (y as usize) < from);
                for y in older.chain(earlier_new.iter().copied()) {
                    if link && self.source_of[y as usize] == sx {
                        continue;
                    }
                    if self.keys[..k].iter().any(|e| {
                        let a = e.key_of[y as usize];
                        a != MISSING && a == e.key_of[x as usize]
                    }) {
                        continue;
                    }
                    out.push((y, x));
                }
                pending[k].entry(key).or_default().push(x);
            }
        }
        out
    }

    /// Scores pairs of rows. A row is a stored record (`Ok(r)`) or a query (`Err(values)`);
    /// returns per pair, in order, its match weight and its levels (flat, one byte per
    /// comparison). With `parallel`, big batches use rayon's pool: `add` wants that, while
    /// the service's `POST /match` does not, as its requests already keep the cores busy
    /// and handing one request's work to the pool cost more than it saved (rayon's latch
    /// waits and the pool's context switches were a quarter of the server's profile).
    fn score_rows(
        &self,
        rows: &[std::result::Result<u32, &[String]>],
        pairs: &[(u32, u32)],
        parallel: bool,
    ) -> Result<Scored> {
        let parallel = parallel && rows.len() >= PARALLEL_ROWS;
        // A small dataset of just the rows involved: levels depend only on the two values
        // compared, so they are the batch run's levels bit for bit.
        let mut ds = Dataset {
            sources: Vec::new(),
            source_of: vec![0; rows.len()],
            ids: StringList::default(),
            truth: None,
            columns: Vec::new(),
        };
        // Local ids in order of first appearance, one per distinct value (as an interner
        // would give them), found by the stored value ids rather than by hashing strings.
        let build = |(c, col): (usize, &StoreColumn)| {
            // Dense when the rows are many against the dictionary, else hashed.
            let dense = rows.len() * 8 >= col.dict.len();
            let mut of_dense: Vec<u32> = if dense {
                vec![NONE; col.dict.len()]
            } else {
                Vec::new()
            };
            let mut of_stored: FxHashMap<u32, u32> = FxHashMap::default();
            let mut novel = Interner::default();
            let mut of_novel: Vec<u32> = Vec::new();
            let mut dict = StringList::default();
            let mut values = Vec::with_capacity(rows.len());
            for row in rows {
                let (stored, v) = match row {
                    Ok(r) => (Some(col.values[*r as usize]), col.get(*r as usize)),
                    Err(v) => (col.find(&v[c]), v[c].as_str()),
                };
                let id = match stored {
                    _ if v.is_empty() => MISSING,
                    Some(MISSING) => MISSING,
                    Some(sid) if dense => {
                        let l = &mut of_dense[sid as usize];
                        if *l == NONE {
                            dict.push(v);
                            *l = dict.len() as u32 - 1;
                        }
                        *l
                    }
                    Some(sid) => *of_stored.entry(sid).or_insert_with(|| {
                        dict.push(v);
                        dict.len() as u32 - 1
                    }),
                    None => {
                        let k = novel.intern(v) as usize;
                        if k == of_novel.len() {
                            dict.push(v);
                            of_novel.push(dict.len() as u32 - 1);
                        }
                        of_novel[k]
                    }
                };
                values.push(id);
            }
            Column {
                name: col.name.clone(),
                values,
                dict,
            }
        };
        // A thread per column pays for itself only on big batches.
        ds.columns = if parallel {
            self.columns.par_iter().enumerate().map(build).collect()
        } else {
            self.columns.iter().enumerate().map(build).collect()
        };
        let comparer = self.template.rebind(&self.model.comparisons, &ds)?;
        let n_c = comparer.len();
        let mut out = Scored {
            n_c,
            weights: vec![0.0; pairs.len()],
            levels: vec![0u8; pairs.len() * n_c],
        };
        let score = |pairs: &[(u32, u32)], weights: &mut [f64], levels: &mut [u8]| {
            for (i, (&(a, b), w)) in pairs.iter().zip(weights.iter_mut()).enumerate() {
                let lv = &mut levels[i * n_c..(i + 1) * n_c];
                comparer.vector(&ds, a, b, lv);
                *w = pattern_weight(self.prior, &self.level_weights, lv);
            }
        };
        const CHUNK: usize = 4096;
        // (No comparisons: no levels to chunk, and every weight is the prior.)
        if parallel && pairs.len() >= PARALLEL_ROWS && n_c > 0 {
            pairs
                .par_chunks(CHUNK)
                .zip(out.weights.par_chunks_mut(CHUNK))
                .zip(out.levels.par_chunks_mut(CHUNK * n_c))
                .for_each(|((p, w), l)| score(p, w, l));
        } else {
            score(pairs, &mut out.weights, &mut out.levels);
        }
        Ok(out)
    }

    /// Scores `queries` against the stored records without inserting them: each query's
    /// candidates (by the model's blocking rules) with probability at least `min_probability`,
    /// best first (ties in record order), with each comparison's contribution as
    /// `fellegi explain` gives it.
    ///
    /// # Errors
    /// [`Error::Invalid`] when a query's values do not match the store's columns.
    pub fn find(&self, queries: &[NewRecord], min_probability: f64) -> Result<Vec<Vec<Candidate>>> {
        let link = self.manifest.link_type == LinkType::Link;
        let mut rows: Vec<std::result::Result<u32, &[String]>> = Vec::new();
        let mut row_of: FxHashMap<u32, u32> = FxHashMap::default();
        let mut pairs = Vec::new();
        let mut owner = Vec::new();
        for (qi, q) in queries.iter().enumerate() {
            if q.values.len() != self.columns.len() {
                return Err(Error::invalid(
                    "record",
                    "values do not match the store's columns",
                ));
            }
            let sq = self.manifest.sources.iter().position(|s| *s == q.source);
            let qrow = rows.len() as u32;
            rows.push(Err(q.values.as_slice()));
            // Key ids of the query per rule (None: no stored record can agree).
            let qkeys: Vec<Option<u32>> = self
                .keys
                .iter()
                .map(|ki| {
                    let parts: Option<Vec<u32>> = ki
                        .parts
                        .iter()
                        .map(|p| p.lookup(&self.columns[p.column], &q.values[p.column]))
                        .collect();
                    parts.and_then(|p| ki.lookup_key(&p))
                })
                .collect();
            for (k, ki) in self.keys.iter().enumerate() {
                let Some(key) = qkeys[k] else { continue };
                for y in ki.chain(key) {
                    if link && sq == Some(self.source_of[y as usize] as usize) {
                        continue;
                    }
                    if self.keys[..k]
                        .iter()
                        .enumerate()
                        .any(|(j, e)| qkeys[j].is_some_and(|a| a == e.key_of[y as usize]))
                    {
                        continue;
                    }
                    let yrow = *row_of.entry(y).or_insert_with(|| {
                        rows.push(Ok(y));
                        rows.len() as u32 - 1
                    });
                    pairs.push((yrow, qrow));
                    owner.push((qi, y));
                }
            }
        }
        let scored = self.score_rows(&rows, &pairs, queries.len() > 1)?;
        let mut out: Vec<Vec<(u32, Candidate)>> = vec![Vec::new(); queries.len()];
        for (i, (qi, y)) in owner.into_iter().enumerate() {
            let w = scored.weights[i];
            let p = probability(w);
            if p < min_probability {
                continue;
            }
            let lv = scored.levels(i);
            let contributions = self
                .model
                .comparisons
                .iter()
                .zip(lv)
                .enumerate()
                .map(|(c, (spec, &l))| Contribution {
                    comparison: spec.output_name().to_string(),
                    level: spec.levels[l as usize].display_label(),
                    gamma: gamma(spec, l),
                    weight: self.level_weights[c][l as usize],
                })
                .collect();
            out[qi].push((
                y,
                Candidate {
                    source: self.manifest.sources[self.source_of[y as usize] as usize].clone(),
                    id: self.ids.get(y as usize).to_string(),
                    cluster_id: self.cluster_of(y),
                    match_weight: w,
                    match_probability: p,
                    contributions,
                },
            ));
        }
        Ok(out
            .into_iter()
            .map(|mut v| {
                v.sort_by(|a, b| {
                    b.1.match_weight
                        .total_cmp(&a.1.match_weight)
                        .then(a.0.cmp(&b.0))
                });
                v.into_iter().map(|(_, c)| c).collect()
            })
            .collect())
    }

    /// The model's prior weight (bits), the start of every candidate's match weight.
    pub fn prior_weight(&self) -> f64 {
        self.prior
    }

    /// Links `recs` against the store and among themselves with the stored model, updates the
    /// clusters (see the module docs for the rules) and commits the add atomically. A batch with
    /// a bad record (an id already stored or repeated, a dedupe record of another source)
    /// is rejected whole and nothing changes.
    ///
    /// # Errors
    /// [`Error::Data`] for a bad batch; [`Error::Io`] when the store cannot be written (the
    /// store on disk is then as before; this value should be dropped and the store reopened).
    pub fn add(&mut self, recs: &[NewRecord]) -> Result<AddSummary> {
        self.check_new(recs)?;
        if recs.is_empty() {
            return Ok(AddSummary {
                generation: self.manifest.generation,
                ..Default::default()
            });
        }
        let mut m = self.manifest.clone();
        let from = self.source_of.len();
        let mark = self.mark();
        // Insert in memory.
        for r in recs {
            let s = match m.sources.iter().position(|s| *s == r.source) {
                Some(s) => s,
                None => {
                    m.sources.push(r.source.clone());
                    m.sources.len() - 1
                }
            } as u16;
            let i = self.source_of.len() as u32;
            self.source_of.push(s);
            self.ids.push(&r.id);
            let (src, ids) = (&self.source_of, &self.ids);
            if let Some(t) = self.by_key.get_mut() {
                t.insert_unique(hash_rec(s, &r.id), i, |&x| {
                    hash_rec(src[x as usize], ids.get(x as usize))
                });
            }
            for (c, col) in self.columns.iter_mut().enumerate() {
                col.push(&r.values[c]);
            }
        }
        self.manifest.sources = m.sources.clone();
        let t = Instant::now();
        // Keys without chain insertion first, so that candidates see only older records.
        self.index_keys(from, false);
        let cand = self.candidates_of_new(from);
        Progress::default().phase("add: keys and candidates", t);
        let t = Instant::now();
        for ki in &mut self.keys {
            for r in from..self.source_of.len() {
                ki.insert(r as u32);
            }
        }
        // Score with the global record indices as rows only over involved records.
        let mut involved: Vec<u32> = cand.iter().flat_map(|&(a, b)| [a, b]).collect();
        involved.sort_unstable();
        involved.dedup();
        let mut local = vec![NONE; self.source_of.len()];
        for (i, &r) in involved.iter().enumerate() {
            local[r as usize] = i as u32;
        }
        let sub_rows: Vec<std::result::Result<u32, &[String]>> =
            involved.iter().map(|&r| Ok(r)).collect();
        let sub_pairs: Vec<(u32, u32)> = cand
            .iter()
            .map(|&(a, b)| (local[a as usize], local[b as usize]))
            .collect();
        drop(local);
        let scored = self.score_rows(&sub_rows, &sub_pairs, true)?;
        Progress::default().phase("add: score", t);
        let t = Instant::now();
        let kept: Vec<ScoredPair> = cand
            .iter()
            .enumerate()
            .filter_map(|(i, &(a, b))| {
                let w = scored.weights[i];
                let p = probability(w);
                (p >= m.min_probability).then(|| ScoredPair {
                    left: a,
                    right: b,
                    weight: w,
                    probability: p,
                    levels: scored.levels(i).to_vec(),
                })
            })
            .collect();
        // Clusters: nodes are the new records (0..n_new) and the stored clusters they link.
        let n_new = recs.len();
        let mut node_of_cluster: FxHashMap<u64, u32> = FxHashMap::default();
        let mut cluster_of_node: Vec<u64> = Vec::new();
        let mut edges = Vec::new();
        for p in kept.iter().filter(|p| p.probability >= m.threshold) {
            let x = p.right - from as u32;
            let y = if (p.left as usize) >= from {
                p.left - from as u32
            } else {
                let c = self.cluster_of(p.left);
                *node_of_cluster.entry(c).or_insert_with(|| {
                    cluster_of_node.push(c);
                    (n_new + cluster_of_node.len() - 1) as u32
                })
            };
            edges.push((x, y));
        }
        let mut uf = UnionFind::new(n_new + cluster_of_node.len());
        for &(a, b) in &edges {
            uf.union(a, b);
        }
        // Components in order of their first new record.
        let mut comp_of_root: FxHashMap<u32, usize> = FxHashMap::default();
        let mut comps: Vec<(Vec<u32>, Vec<u64>)> = Vec::new();
        for x in 0..n_new as u32 {
            let root = uf.find(x);
            let c = *comp_of_root.entry(root).or_insert_with(|| {
                comps.push((Vec::new(), Vec::new()));
                comps.len() - 1
            });
            comps[c].0.push(x);
        }
        for (i, &cid) in cluster_of_node.iter().enumerate() {
            let root = uf.find((n_new + i) as u32);
            let c = comp_of_root[&root];
            comps[c].1.push(cid);
        }
        let mut app = Appender::default();
        let mut summary = AddSummary {
            records: n_new as u64,
            candidates: cand.len() as u64,
            pairs: kept.len() as u64,
            cluster_ids: vec![0; n_new],
            ..Default::default()
        };
        let generation = m.generation + 1;
        let src_name =
            |s: &Store, r: u32| s.manifest.sources[s.source_of[r as usize] as usize].clone();
        let mut new_members: Vec<(u64, Vec<u32>)> = Vec::new();
        let mut merges: Vec<(u64, u64)> = Vec::new();
        {
            let mut changes = Vec::new();
            let mut mg = Vec::new();
            let mut seqs = m.next_change;
            for (news, mut olds) in comps {
                olds.sort_unstable();
                let winner = match olds.first() {
                    Some(&w) => w,
                    None => {
                        m.next_cluster_id += 1;
                        summary.new_clusters += 1;
                        m.next_cluster_id - 1
                    }
                };
                for &o in olds.iter().skip(1) {
                    csv_row(
                        &mut mg,
                        [generation.to_string(), o.to_string(), winner.to_string()],
                    )?;
                    merges.push((o, winner));
                    summary.merged_clusters += 1;
                    for r in self.members.get(o).unwrap_or_default() {
                        csv_row(
                            &mut changes,
                            [
                                seqs.to_string(),
                                src_name(self, r),
                                self.ids.get(r as usize).to_string(),
                                o.to_string(),
                                winner.to_string(),
                                "cluster_merged".to_string(),
                            ],
                        )?;
                        seqs += 1;
                    }
                }
                let reason = match olds.len() {
                    0 => "new",
                    1 => "joined",
                    _ => "merged",
                };
                let mut rs = Vec::new();
                for &x in &news {
                    let r = from as u32 + x;
                    summary.cluster_ids[x as usize] = winner;
                    csv_row(
                        &mut changes,
                        [
                            seqs.to_string(),
                            src_name(self, r),
                            self.ids.get(r as usize).to_string(),
                            String::new(),
                            winner.to_string(),
                            reason.to_string(),
                        ],
                    )?;
                    seqs += 1;
                    rs.push(r);
                }
                new_members.push((winner, rs));
            }
            m.next_change = seqs;
            app.buf("changes").extend_from_slice(&changes);
            app.buf("merges").extend_from_slice(&mg);
        }
        Progress::default().phase("add: clusters", t);
        let t = Instant::now();
        // Records, assignments and pairs.
        let rec = self.encode_records(&mark);
        app.buf("records").extend_from_slice(&rec);
        let mut asg = binary::Enc::default();
        asg.u64s(&summary.cluster_ids);
        app.buf("assignments").extend_from_slice(&asg.0);
        {
            let comps = &self.model.comparisons;
            let mut w = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(Vec::new());
            let mut num = String::new();
            for p in &kept {
                let (l, r) = (p.left as usize, p.right as usize);
                let mut row: Vec<String> = vec![
                    self.ids.get(l).to_string(),
                    self.manifest.sources[self.source_of[l] as usize].clone(),
                    self.ids.get(r).to_string(),
                    self.manifest.sources[self.source_of[r] as usize].clone(),
                ];
                for x in [p.weight, p.probability] {
                    num.clear();
                    let _ = write!(num, "{x}");
                    row.push(num.clone());
                }
                for (spec, &lv) in comps.iter().zip(&p.levels) {
                    row.push(gamma(spec, lv).to_string());
                }
                w.write_record(&row)
                    .map_err(|e| Error::Internal(e.to_string()))?;
            }
            let bytes = w.into_inner().map_err(|e| Error::Internal(e.to_string()))?;
            app.buf("pairs").extend_from_slice(&bytes);
        }
        m.generation = generation;
        m.records = self.source_of.len() as u64;
        m.pairs += kept.len() as u64;
        Progress::default().phase("add: encode", t);
        let t = Instant::now();
        app.finish(&self.dir, &mut m)?;
        commit_manifest(&self.dir, &m)?;
        Progress::default().phase("add: write and sync", t);
        // Committed: update the in-memory clusters.
        self.assigned.extend_from_slice(&summary.cluster_ids);
        for (from_id, into) in merges {
            self.merged_into.insert(from_id, into);
            self.members.merge(from_id, into);
        }
        for (w, rs) in new_members {
            for r in rs {
                self.members.push(w, r);
            }
        }
        summary.generation = generation;
        self.manifest = m;
        Ok(summary)
    }

    /// Writes pairs.csv (every kept pair, the usual format), clusters.csv (id, source,
    /// cluster_id: the stable id, in record order) and changes.csv under `out`, each under a
    /// temporary name renamed when complete.
    ///
    /// # Errors
    /// [`Error::Io`] when a file cannot be read or written.
    pub fn export(&self, out: &Path) -> Result<Vec<PathBuf>> {
        let mut stage = Staged::new(out)?;
        let pairs = read_committed(&self.dir, &self.manifest.files["pairs"])?;
        stage.write("pairs.csv", |w| w.write_all(&pairs))?;
        stage.write("clusters.csv", |w| {
            let mut cw = csv::Writer::from_writer(w);
            cw.write_record(["id", "source", "cluster_id"])?;
            for r in 0..self.len() {
                cw.write_record([
                    self.ids.get(r),
                    &self.manifest.sources[self.source_of[r] as usize],
                    &self.cluster_of(r as u32).to_string(),
                ])?;
            }
            cw.flush()
        })?;
        let changes = read_committed(&self.dir, &self.manifest.files["changes"])?;
        stage.write("changes.csv", |w| w.write_all(&changes))?;
        stage.commit()
    }

    /// The comparison output names (the gamma columns of pairs.csv).
    pub fn comparison_names(&self) -> &[String] {
        &self.gamma_names
    }

    /// The model's parameters.
    pub fn params(&self) -> &FsParams {
        &self.params
    }
}

/// pairs.csv's gamma of level `l` of a comparison: −1 for its null level, else levels count
/// down to 0 for the last (as [`crate::compare::Comparison::gamma`]).
fn gamma(spec: &crate::compare::ComparisonSpec, l: u8) -> i32 {
    let l = l as usize;
    let null = spec
        .levels
        .iter()
        .position(|x| x.predicate == crate::compare::Predicate::Null);
    if Some(l) == null {
        return -1;
    }
    (spec.levels.len() - 1 - l) as i32
}

/// A summary of a store for `fellegi store info`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Info {
    /// The schema version.
    pub schema_version: u32,
    /// The generation (number of committed changes, create = 1).
    pub generation: u64,
    /// The link type.
    pub link_type: &'static str,
    /// Records per source.
    pub sources: Vec<(String, u64)>,
    /// Records.
    pub records: u64,
    /// Kept pairs.
    pub pairs: u64,
    /// Clusters now.
    pub clusters: u64,
    /// The next cluster id.
    pub next_cluster_id: u64,
    /// min_probability and threshold.
    pub min_probability: f64,
    /// The link threshold.
    pub threshold: f64,
}

impl Store {
    /// The store's summary.
    pub fn info(&self) -> Info {
        let mut per = vec![0u64; self.manifest.sources.len()];
        for &s in &self.source_of {
            per[s as usize] += 1;
        }
        Info {
            schema_version: self.manifest.schema_version,
            generation: self.manifest.generation,
            link_type: self.manifest.link_type.name(),
            sources: self.manifest.sources.iter().cloned().zip(per).collect(),
            records: self.manifest.records,
            pairs: self.manifest.pairs,
            clusters: self.members.live as u64,
            next_cluster_id: self.manifest.next_cluster_id,
            min_probability: self.manifest.min_probability,
            threshold: self.manifest.threshold,
        }
    }
}

/// The result of [`verify`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verified {
    /// The committed generation, when the manifest reads.
    pub generation: Option<u64>,
    /// Problems; empty when the store is sound.
    pub errors: Vec<String>,
    /// Bytes an unfinished add left past the committed end, per file (ignored by readers,
    /// removed by the next add).
    pub trailing: Vec<(String, u64)>,
}

impl Verified {
    /// Whether the store is sound.
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Checks a store: the manifest's schema version, every committed segment's SHA-256, and that
/// the records, pairs, assignments and merges read back consistently (each record once with a
/// cluster id, each pair between stored records, the counts the manifest gives).
pub fn verify(dir: &Path) -> Verified {
    let mut out = Verified::default();
    let m = match read_manifest(dir) {
        Ok(m) => m,
        Err(e) => {
            out.errors.push(e.to_string());
            return out;
        }
    };
    out.generation = Some(m.generation);
    for role in [
        "model",
        "records",
        "pairs",
        "assignments",
        "merges",
        "changes",
    ] {
        if !m.files.contains_key(role) {
            out.errors
                .push(format!("the manifest names no `{role}` file"));
        }
    }
    if !out.errors.is_empty() {
        return out;
    }
    let fc = files::check_files(dir, &m);
    out.errors.extend(fc.errors);
    out.trailing = fc.trailing;
    if !out.errors.is_empty() {
        return out;
    }
    let store = match Store::open(dir) {
        Ok(s) => s,
        Err(e) => {
            out.errors.push(e.to_string());
            return out;
        }
    };
    if let Some(r) = store.duplicate_record() {
        out.errors.push(format!(
            "{}: holds record {r} twice; the store is damaged",
            dir.join(&m.files["records"].name).display()
        ));
    }
    // Pairs name stored records, left before right, as many as the manifest says.
    let f = &m.files["pairs"];
    let path = dir.join(&f.name);
    let res = read_committed(dir, f).and_then(|bytes| {
        let mut n = 0u64;
        each_row(&path, &bytes, |line, rec| {
            let l = store.record(rec.get(1).unwrap_or(""), rec.get(0).unwrap_or(""));
            let r = store.record(rec.get(3).unwrap_or(""), rec.get(2).unwrap_or(""));
            match (l, r) {
                (Some(_), Some(_)) => {}
                _ => {
                    return Err(damaged(
                        &path,
                        line,
                        "a pair names a record that is not stored",
                    ));
                }
            }
            let p: f64 = rec
                .get(5)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| damaged(&path, line, "bad match_probability"))?;
            if p.is_nan() || p < m.min_probability {
                return Err(damaged(&path, line, "a pair below min_probability"));
            }
            n += 1;
            Ok(())
        })?;
        if n != m.pairs {
            return Err(damaged(
                &path,
                1,
                format!("{n} pairs, the manifest says {}", m.pairs),
            ));
        }
        Ok(())
    });
    if let Err(e) = res {
        out.errors.push(e.to_string());
    }
    let f = &m.files["changes"];
    let path = dir.join(&f.name);
    let res = read_committed(dir, f).and_then(|bytes| {
        let mut last = 0u64;
        each_row(&path, &bytes, |line, rec| {
            let s: u64 = rec
                .get(0)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| damaged(&path, line, "bad seq"))?;
            if s != last + 1 {
                return Err(damaged(&path, line, "sequence numbers are not consecutive"));
            }
            last = s;
            Ok(())
        })?;
        if last + 1 != m.next_change {
            return Err(damaged(&path, 1, "the last change is not the manifest's"));
        }
        Ok(())
    });
    if let Err(e) = res {
        out.errors.push(e.to_string());
    }
    out
}

/// The record count of a [`crate::data::Dataset`]-free summary line, for the CLI.
pub fn describe(info: &Info) -> String {
    let sources: Vec<String> = info
        .sources
        .iter()
        .map(|(s, n)| format!("{s} ({n})"))
        .collect();
    format!(
        "store schema {} generation {}: {} store, {} records [{}], {} pairs (p >= {}), {} clusters (links p >= {}), next cluster id {}",
        info.schema_version,
        info.generation,
        info.link_type,
        info.records,
        sources.join(", "),
        info.pairs,
        info.min_probability,
        info.clusters,
        info.threshold,
        info.next_cluster_id
    )
}

/// What [`Store::recluster`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReclusterSummary {
    /// The store's generation after it.
    pub generation: u64,
    /// Pairs kept under the (new) model.
    pub pairs: u64,
    /// Clusters now.
    pub clusters: u64,
    /// Clusters that kept an old id.
    pub kept_ids: u64,
    /// Clusters that got a new id.
    pub new_ids: u64,
    /// Records whose cluster id changed.
    pub moved_records: u64,
    /// The file (in the store folder) mapping old ids to new ones.
    pub mapping: String,
}

impl Store {
    /// Re-scores every stored record with `new_model` (`None`: the stored model) and
    /// re-clusters, keeping an old id wherever its cluster survives: each new cluster takes the
    /// old id that most of its records had (ties to the oldest id), each old id going to at most
    /// one new cluster (the one holding most of its records, then the one with the earliest
    /// record); every other new cluster gets a new id. Writes `recluster-gN.csv`
    /// (old_cluster_id, new_cluster_id, records: how many records went from one to the other),
    /// a `recluster` row in changes.csv for every record whose id changed, and replaces the
    /// model, pairs and assignments; merges.csv starts afresh (ids that did not survive are
    /// retired, never reused). The new model's transforms are applied to the stored (already
    /// cleaned) values; the shipped transforms are idempotent, so the same transforms give the
    /// same values. Atomic like an add: new files, then the manifest renamed.
    ///
    /// # Errors
    /// [`Error::Settings`] when the new model is unusable for a store, has another link type, or
    /// reads a column the store does not keep; [`Error::Io`].
    pub fn recluster(
        &mut self,
        new_model: Option<(&Settings, &str)>,
        progress: &Progress,
    ) -> Result<ReclusterSummary> {
        let (model, origin) = match new_model {
            Some((m, o)) => (m.clone(), o.to_string()),
            None => (
                self.model.clone(),
                self.dir.join("model.json").display().to_string(),
            ),
        };
        check_model(&model, &origin)?;
        if model.link_type != self.manifest.link_type {
            return Err(Error::settings(
                &origin,
                "link_type",
                format!(
                    "is `{}` but the store is `{}`; a recluster keeps the link type (create a new store for another)",
                    model.link_type.name(),
                    self.manifest.link_type.name()
                ),
            ));
        }
        for (c, key) in model.columns_used() {
            if !self.manifest.columns.contains(&c) {
                return Err(Error::settings(
                    &origin,
                    key,
                    format!(
                        "reads column `{c}`, which the store does not keep (it keeps {}); create a new store from the inputs",
                        self.manifest.columns.join(", ")
                    ),
                ));
            }
        }
        let mut sizes = vec![0usize; self.manifest.sources.len()];
        for &s in &self.source_of {
            sizes[s as usize] += 1;
        }
        let mut ds = Dataset {
            sources: self
                .manifest
                .sources
                .iter()
                .zip(&sizes)
                .map(|(n, &len)| Source {
                    name: n.clone(),
                    path: PathBuf::new(),
                    sha256: String::new(),
                    start: 0,
                    len,
                })
                .collect(),
            source_of: self.source_of.clone(),
            ids: self.ids.clone(),
            truth: None,
            columns: self
                .columns
                .iter()
                .map(|c| Column {
                    name: c.name.clone(),
                    values: c.values.clone(),
                    dict: c.dict.clone(),
                })
                .collect(),
        };
        crate::clean::apply_transforms(&mut ds, &model.transforms)?;
        let min_p = self.manifest.min_probability;
        let scored = crate::pipeline::score(&model, &origin, &ds, min_p, progress)?;
        let pairs = &scored.pairs;
        let links = (0..pairs.len())
            .filter(|&i| pairs.probability[i] >= self.manifest.threshold)
            .map(|i| (pairs.left[i], pairs.right[i]));
        let clusters = Clusters::of(ds.len(), links);
        // Overlaps (new cluster, old id) → records.
        let mut overlap: std::collections::BTreeMap<(u32, u64), u64> = Default::default();
        for (r, &c) in clusters.ids.iter().enumerate() {
            *overlap.entry((c, self.cluster_of(r as u32))).or_default() += 1;
        }
        let mut order: Vec<(&(u32, u64), &u64)> = overlap.iter().collect();
        // Most records first, then the oldest id, then the earliest new cluster.
        order.sort_by(|a, b| b.1.cmp(a.1).then(a.0.1.cmp(&b.0.1)).then(a.0.0.cmp(&b.0.0)));
        let mut new_id: Vec<u64> = vec![0; clusters.count as usize];
        let mut used: FxHashMap<u64, ()> = FxHashMap::default();
        for (&(c, old), _) in order {
            if new_id[c as usize] == 0 && !used.contains_key(&old) {
                new_id[c as usize] = old;
                used.insert(old, ());
            }
        }
        let mut m = self.manifest.clone();
        let generation = m.generation + 1;
        let mut summary = ReclusterSummary {
            generation,
            pairs: pairs.len() as u64,
            clusters: clusters.count,
            ..Default::default()
        };
        for id in new_id.iter_mut() {
            if *id == 0 {
                *id = m.next_cluster_id;
                m.next_cluster_id += 1;
                summary.new_ids += 1;
            } else {
                summary.kept_ids += 1;
            }
        }
        // New files under new names; the manifest switches to them.
        let mut written: Vec<(String, String, Vec<u8>)> = Vec::new();
        let mut model_json = serde_json::to_vec_pretty(&model)
            .map_err(|e| Error::Internal(format!("model to JSON: {e}")))?;
        model_json.push(b'\n');
        written.push((
            "model".into(),
            format!("model-g{generation}.json"),
            model_json,
        ));
        let mut pb = Vec::new();
        write_pairs(&mut pb, &ds, &scored.comparer, pairs, None)
            .map_err(|e| Error::io(&self.dir, e))?;
        written.push(("pairs".into(), format!("pairs-g{generation}.csv"), pb));
        // The records again: the new model's blocking keys over the stored values.
        let rec = encode_all_records(
            &self.dir,
            &m,
            &model,
            &origin,
            &self.source_of,
            &self.ids,
            |c, r| self.columns[c].get(r),
        )?;
        written.push(("records".into(), format!("records-g{generation}.bin"), rec));
        let mut asg = Vec::with_capacity(self.source_of.len());
        let mut changes = Vec::new();
        let mut seq = m.next_change;
        for (r, &c) in clusters.ids.iter().enumerate() {
            let src = &self.manifest.sources[self.source_of[r] as usize];
            let id = self.ids.get(r);
            let (old, new) = (self.cluster_of(r as u32), new_id[c as usize]);
            asg.push(new);
            if old != new {
                csv_row(
                    &mut changes,
                    [
                        seq.to_string(),
                        src.clone(),
                        id.to_string(),
                        old.to_string(),
                        new.to_string(),
                        "recluster".to_string(),
                    ],
                )?;
                seq += 1;
                summary.moved_records += 1;
            }
        }
        m.next_change = seq;
        let mut enc = binary::Enc::default();
        enc.u64s(&asg);
        written.push((
            "assignments".into(),
            format!("assignments-g{generation}.bin"),
            enc.0,
        ));
        let mut mg = Vec::new();
        csv_row(
            &mut mg,
            ["generation", "from_cluster_id", "into_cluster_id"],
        )?;
        written.push(("merges".into(), format!("merges-g{generation}.csv"), mg));
        let mut map = Vec::new();
        csv_row(&mut map, ["old_cluster_id", "new_cluster_id", "records"])?;
        let mut rows: Vec<(u64, u64, u64)> = overlap
            .iter()
            .map(|(&(c, old), &n)| (old, new_id[c as usize], n))
            .collect();
        rows.sort_unstable();
        for (o, n, k) in rows {
            csv_row(&mut map, [o.to_string(), n.to_string(), k.to_string()])?;
        }
        summary.mapping = format!("recluster-g{generation}.csv");
        written.push((summary.mapping.clone(), summary.mapping.clone(), map));
        let mut old_files = Vec::new();
        for (role, name, bytes) in written {
            let path = self.dir.join(&name);
            (|| -> std::io::Result<()> {
                let mut f = std::fs::File::create(&path)?;
                std::io::Write::write_all(&mut f, &bytes)?;
                f.sync_all()
            })()
            .map_err(|e| Error::io(&path, e))?;
            let state = FileState {
                name,
                segments: vec![Segment {
                    end: bytes.len() as u64,
                    sha256: files::sha256_hex(&bytes),
                }],
            };
            if let Some(old) = m.files.insert(role, state) {
                old_files.push(old.name);
            }
        }
        let mut app = Appender::default();
        app.buf("changes").extend_from_slice(&changes);
        app.finish(&self.dir, &mut m)?;
        m.generation = generation;
        m.pairs = pairs.len() as u64;
        commit_manifest(&self.dir, &m)?;
        for f in old_files {
            let _ = std::fs::remove_file(self.dir.join(f));
        }
        *self = Store::open(&self.dir)?;
        Ok(summary)
    }
}
