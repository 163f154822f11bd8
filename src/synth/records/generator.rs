//! The streaming engine: entities in fixed-size blocks, each block from its own seed, blocks
//! generated in parallel and written in block order.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write;

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use serde::Serialize;

use super::config::{Field, GeneratorConfig};
use super::corrupt::{self, Corruption};
use super::lookups::{Lookups, MisspellTable};
use crate::error::{Error, Result};

/// Entities per block. Fixed (it is part of the random stream): each block's generator is
/// seeded from the master seed and the block index, so the output does not depend on the thread
/// count.
pub const BLOCK_ENTITIES: u64 = 1024;

/// Blocks generated in parallel before they are written; bounds memory.
const BATCH_BLOCKS: u64 = 32;

/// Reference year for dates of birth: year of birth = `REFERENCE_YEAR` − age.
pub const REFERENCE_YEAR: u32 = 2020;

const NF: usize = Field::ALL.len();
const NC: usize = Corruption::ALL.len();

/// One output file of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileSummary {
    /// Source name (`records`, or `a`, `b`, ...).
    pub source: String,
    /// File name.
    pub file: String,
    /// Records in the file.
    pub records: u64,
}

/// True matching pairs among the output records.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TruePairs {
    /// Pairs of records of one entity in the same file.
    pub within_files: u64,
    /// Pairs of records of one entity in different files.
    pub across_files: u64,
    /// Sum of both.
    pub total: u64,
}

/// Realised corruption counts of one field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldCounts {
    /// Corruptions applied (value changed), by type.
    pub applied: BTreeMap<String, u64>,
    /// Corruptions drawn but not applicable to the value (left unchanged), by type.
    pub skipped: BTreeMap<String, u64>,
    /// Values blanked.
    pub missing: u64,
}

/// What a run produced, with realised counts (the `generate.json` body besides the config).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Entities generated.
    pub entities: u64,
    /// Records written, all files together.
    pub records: u64,
    /// Per output file.
    pub files: Vec<FileSummary>,
    /// True pairs.
    pub true_pairs: TruePairs,
    /// `entities_by_sources[k]`: entities that appear in `k + 1` sources.
    pub entities_by_sources: Vec<u64>,
    /// Realised share of entities in two or more sources.
    pub overlap_realised: f64,
    /// `duplicates_histogram[k]`: entities with `k` duplicates.
    pub duplicates_histogram: Vec<u64>,
    /// Realised mean duplicates per entity.
    pub duplicates_mean_realised: f64,
    /// Mean of the configured duplicate distribution.
    pub duplicates_mean_expected: f64,
    /// Copies: records that are not an entity's original (the ones subject to corruption).
    pub copies: u64,
    /// Copies with at least one modification drawn.
    pub copies_modified: u64,
    /// Realised counts per field (output fields only).
    pub corruptions: BTreeMap<String, FieldCounts>,
}

/// Counters of one block, merged in block order.
#[derive(Clone)]
struct Counts {
    records: Vec<u64>,
    within: u64,
    across: u64,
    by_sources: Vec<u64>,
    dup_hist: Vec<u64>,
    copies: u64,
    modified: u64,
    applied: [[u64; NC]; NF],
    skipped: [[u64; NC]; NF],
    missing: [u64; NF],
}

impl Counts {
    fn new(k: usize, max_dup: usize) -> Counts {
        Counts {
            records: vec![0; k],
            within: 0,
            across: 0,
            by_sources: vec![0; k],
            dup_hist: vec![0; max_dup + 1],
            copies: 0,
            modified: 0,
            applied: [[0; NC]; NF],
            skipped: [[0; NC]; NF],
            missing: [0; NF],
        }
    }

    fn add(&mut self, o: &Counts) {
        let add = |a: &mut [u64], b: &[u64]| a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        add(&mut self.records, &o.records);
        add(&mut self.by_sources, &o.by_sources);
        add(&mut self.dup_hist, &o.dup_hist);
        self.within += o.within;
        self.across += o.across;
        self.copies += o.copies;
        self.modified += o.modified;
        for f in 0..NF {
            add(&mut self.applied[f], &o.applied[f]);
            add(&mut self.skipped[f], &o.skipped[f]);
        }
        add(&mut self.missing, &o.missing);
    }
}

/// Rows of one block for one source, without their record id.
struct SourceRows {
    buf: Vec<u8>,
    ends: Vec<usize>,
}

/// Precomputed sampling tables.
struct Plan<'a> {
    cfg: &'a GeneratorConfig,
    lk: &'a Lookups,
    active: Vec<Field>,
    dup_cdf: Vec<f64>,
    /// Per field: (corruption, cumulative weight).
    type_cdf: Vec<Vec<(Corruption, f64)>>,
    weights: [f64; NF],
    missing: [f64; NF],
    n_weighted: usize,
}

impl<'a> Plan<'a> {
    fn new(cfg: &'a GeneratorConfig, lk: &'a Lookups) -> Result<Plan<'a>> {
        let active = cfg.active_fields();
        let mut acc = 0.0;
        let dup_cdf = cfg
            .duplicates
            .pmf()?
            .iter()
            .map(|p| {
                acc += p;
                acc
            })
            .collect();
        let mut type_cdf = vec![Vec::new(); NF];
        let mut weights = [0.0; NF];
        let mut missing = [0.0; NF];
        for &f in &active {
            let fs = &cfg.corruption.fields[&f];
            let mut acc = 0.0;
            for (&t, &w) in &fs.types {
                if w > 0.0 {
                    acc += w;
                    type_cdf[f.index()].push((t, acc));
                }
            }
            if acc > 0.0 {
                weights[f.index()] = fs.weight;
            }
            missing[f.index()] = fs.missing;
        }
        let n_weighted = weights.iter().filter(|&&w| w > 0.0).count();
        Ok(Plan {
            cfg,
            lk,
            active,
            dup_cdf,
            type_cdf,
            weights,
            missing,
            n_weighted,
        })
    }

    fn block_rng(&self, block: u64) -> ChaCha8Rng {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&self.cfg.seed.to_le_bytes());
        key[8..16].copy_from_slice(&block.to_le_bytes());
        key[16..32].copy_from_slice(b"fellegi-records\0");
        ChaCha8Rng::from_seed(key)
    }

    /// An entity's original values, by [`Field::index`].
    fn original(&self, rng: &mut ChaCha8Rng) -> [Cow<'a, str>; NF] {
        let lk = self.lk;
        let given = lk.given_name.sample(rng);
        let surname = lk.surname.sample(rng);
        let street = lk.street_number.sample(rng);
        let addr = lk.address_1.sample(rng);
        let suburb = lk.suburb.sample(rng);
        let (state, postcode): (&'a str, &'a str) = match lk.suburb_postcode.get(suburb) {
            Some(v) => {
                let (s, p) = &v[rng.random_range(0..v.len())];
                (s, p)
            }
            None => (lk.state.sample(rng), lk.postcode.sample(rng)),
        };
        let age: u32 = lk.age.sample(rng).parse().unwrap_or(30);
        let year = REFERENCE_YEAR.saturating_sub(age);
        let month = rng.random_range(1..=12u32);
        let dim = match month {
            2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let day = rng.random_range(1..=dim);
        let dob = format!("{year:04}{month:02}{day:02}");
        let ssn = rng.random_range(1_000_000u32..10_000_000).to_string();
        let phone = if self.cfg.phone_number {
            let area = lk.area_code.get(state).map_or("02", String::as_str);
            let n = rng.random_range(0u32..100_000_000);
            format!("{area} {:04} {:04}", n / 10_000, n % 10_000)
        } else {
            String::new()
        };
        [
            Cow::Borrowed(given),
            Cow::Borrowed(surname),
            Cow::Borrowed(street),
            Cow::Borrowed(addr),
            Cow::Borrowed(suburb),
            Cow::Borrowed(postcode),
            Cow::Borrowed(state),
            Cow::Owned(dob),
            Cow::Owned(ssn),
            Cow::Owned(phone),
        ]
    }

    fn misspell_table(&self, f: Field) -> Option<&'a MisspellTable> {
        match f {
            Field::GivenName => Some(&self.lk.given_name_misspell),
            Field::Surname => Some(&self.lk.surname_misspell),
            Field::Suburb => Some(&self.lk.suburb_misspell),
            _ => None,
        }
    }

    /// A corrupted copy of `orig`.
    fn copy<'e>(
        &self,
        rng: &mut ChaCha8Rng,
        orig: &'e [Cow<'a, str>; NF],
        counts: &mut Counts,
    ) -> [Cow<'e, str>; NF] {
        let mut v: [Cow<'e, str>; NF] = std::array::from_fn(|i| Cow::Borrowed(&*orig[i]));
        counts.copies += 1;
        let c = &self.cfg.corruption;
        if self.n_weighted > 0 && rng.random::<f64>() < c.record_rate {
            counts.modified += 1;
            let n = rng.random_range(1..=c.max_modifications as usize);
            let n = n.min(self.n_weighted);
            let mut w = self.weights;
            let mut swapped = false;
            for _ in 0..n {
                let total: f64 = w.iter().sum();
                let mut x = rng.random::<f64>() * total;
                let mut fi = NF;
                for (i, &wi) in w.iter().enumerate() {
                    if wi > 0.0 {
                        fi = i;
                        if x < wi {
                            break;
                        }
                        x -= wi;
                    }
                }
                w[fi] = 0.0;
                let f = Field::ALL[fi];
                let cdf = &self.type_cdf[fi];
                let y = rng.random::<f64>() * cdf.last().map_or(0.0, |l| l.1);
                let t = cdf
                    .iter()
                    .find(|(_, cum)| y < *cum)
                    .unwrap_or(&cdf[cdf.len() - 1])
                    .0;
                let done = self.apply(rng, f, t, &mut v, &mut swapped);
                if done {
                    counts.applied[fi][t.index()] += 1;
                } else {
                    counts.skipped[fi][t.index()] += 1;
                }
            }
        }
        for &f in &self.active {
            let i = f.index();
            if self.missing[i] > 0.0 && rng.random::<f64>() < self.missing[i] {
                v[i] = Cow::Borrowed("");
                counts.missing[i] += 1;
            }
        }
        v
    }

    /// Applies `t` to field `f` of `v`; false when it does not apply.
    fn apply(
        &self,
        rng: &mut ChaCha8Rng,
        f: Field,
        t: Corruption,
        v: &mut [Cow<'_, str>; NF],
        swapped: &mut bool,
    ) -> bool {
        use Corruption as C;
        let i = f.index();
        if t == C::Swap {
            let (g, s) = (Field::GivenName.index(), Field::Surname.index());
            if *swapped || v[g].is_empty() || v[s].is_empty() || v[g] == v[s] {
                return false;
            }
            v.swap(g, s);
            *swapped = true;
            return true;
        }
        let val: &str = &v[i];
        if val.is_empty() {
            return false;
        }
        let out = match t {
            C::Insert => corrupt::insert(rng, val),
            C::Delete => corrupt::delete(rng, val),
            C::Substitute => corrupt::substitute(rng, val),
            C::Transpose => corrupt::transpose(rng, val),
            C::Keyboard => corrupt::keyboard(rng, val),
            C::Ocr => corrupt::apply_rule(rng, &self.lk.ocr, val),
            C::Phonetic => corrupt::apply_rule(rng, &self.lk.phonetic, val),
            C::Misspelling => self
                .misspell_table(f)
                .and_then(|tb| corrupt::misspell(rng, tb, val)),
            C::Variant => self
                .misspell_table(f)
                .and_then(|tb| corrupt::variant(rng, tb, val)),
            C::Truncate => corrupt::truncate(rng, val),
            C::DateSwap => corrupt::date_swap(val),
            C::DateDigit => corrupt::date_digit(rng, val),
            C::Swap => unreachable!("handled above"),
        };
        match out {
            Some(s) if s != val => {
                v[i] = Cow::Owned(s);
                true
            }
            _ => false,
        }
    }

    /// Appends one row (entity id and values, no record id) to `rows`.
    fn push_row(&self, rows: &mut SourceRows, entity: u64, v: &[Cow<'_, str>; NF]) {
        let b = &mut rows.buf;
        let mut itoa = [0u8; 20];
        b.extend_from_slice(fmt_u64(entity, &mut itoa));
        for &f in &self.active {
            b.push(b',');
            write_field(b, &v[f.index()]);
        }
        b.push(b'\n');
        rows.ends.push(b.len());
    }

    /// Generates block `block`: rows per source, shuffled within the block, and its counts.
    fn block(&self, block: u64) -> (Vec<SourceRows>, Vec<Vec<u32>>, Counts) {
        let k = self.cfg.sources.count;
        let max_dup = self.cfg.duplicates.max as usize;
        let mut rng = self.block_rng(block);
        let mut counts = Counts::new(k, max_dup);
        let first = block * BLOCK_ENTITIES;
        let last = (first + BLOCK_ENTITIES).min(self.cfg.entities);
        let mut rows: Vec<SourceRows> = (0..k)
            .map(|_| SourceRows {
                buf: Vec::with_capacity(((last - first) as usize * 2 / k.max(1)) * 90),
                ends: Vec::new(),
            })
            .collect();
        let mut in_src = vec![0u64; k];
        let mut srcs: Vec<usize> = Vec::with_capacity(k);
        for e in first..last {
            let orig = self.original(&mut rng);
            // Sources.
            srcs.clear();
            let m = if k > 1 && rng.random::<f64>() < self.cfg.sources.overlap {
                rng.random_range(2..=k)
            } else {
                1
            };
            // Partial Fisher–Yates over 0..k for m distinct sources.
            let mut pool: Vec<usize> = (0..k).collect();
            for j in 0..m {
                let r = rng.random_range(j..k);
                pool.swap(j, r);
                srcs.push(pool[j]);
            }
            srcs.sort_unstable();
            counts.by_sources[m - 1] += 1;
            // Duplicates.
            let x = rng.random::<f64>();
            let d = self
                .dup_cdf
                .iter()
                .position(|&c| x < c)
                .unwrap_or(max_dup)
                .min(max_dup);
            counts.dup_hist[d] += 1;
            in_src.fill(0);
            for (j, &s) in srcs.iter().enumerate() {
                if j == 0 {
                    self.push_row(
                        &mut rows[s],
                        e,
                        &std::array::from_fn(|i| Cow::Borrowed(&*orig[i])),
                    );
                } else {
                    let v = self.copy(&mut rng, &orig, &mut counts);
                    self.push_row(&mut rows[s], e, &v);
                }
                in_src[s] += 1;
            }
            for _ in 0..d {
                let s = srcs[rng.random_range(0..srcs.len())];
                let v = self.copy(&mut rng, &orig, &mut counts);
                self.push_row(&mut rows[s], e, &v);
                in_src[s] += 1;
            }
            let mut seen = 0u64;
            for &n in &in_src {
                counts.within += n * n.saturating_sub(1) / 2;
                counts.across += seen * n;
                seen += n;
            }
        }
        // Shuffle rows within the block, per source, so that ids do not reveal entities.
        let perms = rows
            .iter()
            .enumerate()
            .map(|(s, r)| {
                counts.records[s] += r.ends.len() as u64;
                let mut p: Vec<u32> = (0..r.ends.len() as u32).collect();
                for i in (1..p.len()).rev() {
                    let j = rng.random_range(0..=i);
                    p.swap(i, j);
                }
                p
            })
            .collect();
        (rows, perms, counts)
    }
}

fn fmt_u64(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

/// Appends a CSV field, quoted when it holds a comma, quote or line break.
fn write_field(b: &mut Vec<u8>, v: &str) {
    if v.bytes().any(|c| matches!(c, b',' | b'"' | b'\n' | b'\r')) {
        b.push(b'"');
        for c in v.bytes() {
            if c == b'"' {
                b.push(b'"');
            }
            b.push(c);
        }
        b.push(b'"');
    } else {
        b.extend_from_slice(v.as_bytes());
    }
}

/// Streams the records of `cfg` into `writers` (one per source, in source order), each with a
/// header line, and returns the realised counts. Memory stays flat in the number of entities:
/// at most a batch of blocks is held at a time. Output is byte-identical for the same config and
/// lookups whatever the size of rayon's thread pool.
///
/// Columns: `record_id` (`r-0000001` for one source, `a-0000001`, `b-...` for several; unique
/// within its file), `entity_id` (the entity's index, equal across files), then the fields of
/// [`GeneratorConfig::active_fields`]. Records of an entity are shuffled among the records of
/// [`BLOCK_ENTITIES`] consecutive entities.
///
/// # Examples
/// ```
/// use fellegi::synth::records::{GeneratorConfig, Lookups, Preset, generate};
/// let lk = Lookups::load(&Lookups::default_dir())?;
/// let mut cfg = GeneratorConfig::new(Preset::Medium);
/// cfg.entities = 50;
/// let mut out = Vec::new();
/// let summary = generate(&cfg, &lk, &mut [&mut out])?;
/// let text = String::from_utf8(out).unwrap();
/// assert!(text.starts_with("record_id,entity_id,given_name,surname,"));
/// assert_eq!(text.lines().count() as u64, 1 + summary.records);
/// # Ok::<(), fellegi::Error>(())
/// ```
///
/// # Errors
/// Those of [`GeneratorConfig::validate`]; [`Error::Invalid`] if the number of writers differs
/// from the number of sources; [`Error::Io`] (path `<source name>`) if a write fails.
pub fn generate(
    cfg: &GeneratorConfig,
    lookups: &Lookups,
    writers: &mut [&mut dyn Write],
) -> Result<Summary> {
    generate_with_progress(cfg, lookups, writers, &mut |_| {})
}

/// [`generate`], calling `progress(entities_done)` after each batch of blocks.
///
/// # Errors
/// Those of [`generate`].
pub fn generate_with_progress(
    cfg: &GeneratorConfig,
    lookups: &Lookups,
    writers: &mut [&mut dyn Write],
    progress: &mut dyn FnMut(u64),
) -> Result<Summary> {
    cfg.validate("generator config")?;
    let k = cfg.sources.count;
    if writers.len() != k {
        return Err(Error::invalid(
            "generate",
            format!(
                "generate: {} writer(s) given for {k} source(s)",
                writers.len()
            ),
        ));
    }
    let plan = Plan::new(cfg, lookups)?;
    let names = cfg.sources.names();
    let prefixes = cfg.sources.id_prefixes();
    let io = |s: usize, e: std::io::Error| Error::io(format!("<{}>", names[s]), e);
    let mut header = b"record_id,entity_id".to_vec();
    for f in &plan.active {
        header.push(b',');
        header.extend_from_slice(f.name().as_bytes());
    }
    header.push(b'\n');
    for (s, w) in writers.iter_mut().enumerate() {
        w.write_all(&header).map_err(|e| io(s, e))?;
    }
    let n_blocks = cfg.entities.div_ceil(BLOCK_ENTITIES);
    let mut total = Counts::new(k, cfg.duplicates.max as usize);
    let mut next_id = vec![1u64; k];
    let mut line = Vec::with_capacity(256);
    let mut b0 = 0;
    while b0 < n_blocks {
        let b1 = (b0 + BATCH_BLOCKS).min(n_blocks);
        let outs: Vec<_> = (b0..b1).into_par_iter().map(|b| plan.block(b)).collect();
        for (rows, perms, counts) in outs {
            total.add(&counts);
            for (s, (r, p)) in rows.iter().zip(&perms).enumerate() {
                let w = &mut writers[s];
                let mut itoa = [0u8; 20];
                for &ri in p {
                    let ri = ri as usize;
                    let start = if ri == 0 { 0 } else { r.ends[ri - 1] };
                    line.clear();
                    line.extend_from_slice(prefixes[s].as_bytes());
                    line.push(b'-');
                    let id = fmt_u64(next_id[s], &mut itoa);
                    line.extend(std::iter::repeat_n(b'0', 7usize.saturating_sub(id.len())));
                    line.extend_from_slice(id);
                    line.push(b',');
                    line.extend_from_slice(&r.buf[start..r.ends[ri]]);
                    w.write_all(&line).map_err(|e| io(s, e))?;
                    next_id[s] += 1;
                }
            }
        }
        progress((b1 * BLOCK_ENTITIES).min(cfg.entities));
        b0 = b1;
    }
    for (s, w) in writers.iter_mut().enumerate() {
        w.flush().map_err(|e| io(s, e))?;
    }
    Ok(summarise(cfg, &plan.active, &total))
}

fn summarise(cfg: &GeneratorConfig, active: &[Field], t: &Counts) -> Summary {
    let files = cfg
        .sources
        .names()
        .into_iter()
        .zip(cfg.sources.file_names())
        .zip(&t.records)
        .map(|((source, file), &records)| FileSummary {
            source,
            file,
            records,
        })
        .collect();
    let n = cfg.entities as f64;
    let multi: u64 = t.by_sources.iter().skip(1).sum();
    let dups: u64 = t
        .dup_hist
        .iter()
        .enumerate()
        .map(|(k, &c)| k as u64 * c)
        .sum();
    let corruptions = active
        .iter()
        .map(|&f| {
            let i = f.index();
            let by_type = |a: &[u64; NC]| {
                Corruption::ALL
                    .iter()
                    .filter(|c| a[c.index()] > 0)
                    .map(|c| (c.name().to_string(), a[c.index()]))
                    .collect()
            };
            (
                f.name().to_string(),
                FieldCounts {
                    applied: by_type(&t.applied[i]),
                    skipped: by_type(&t.skipped[i]),
                    missing: t.missing[i],
                },
            )
        })
        .collect();
    Summary {
        entities: cfg.entities,
        records: t.records.iter().sum(),
        files,
        true_pairs: TruePairs {
            within_files: t.within,
            across_files: t.across,
            total: t.within + t.across,
        },
        entities_by_sources: t.by_sources.clone(),
        overlap_realised: multi as f64 / n,
        duplicates_histogram: t.dup_hist.clone(),
        duplicates_mean_realised: dups as f64 / n,
        duplicates_mean_expected: cfg.duplicates.expected_mean().unwrap_or(f64::NAN),
        copies: t.copies,
        copies_modified: t.modified,
        corruptions,
    }
}
