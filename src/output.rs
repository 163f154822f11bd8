//! Output files, written under temporary names and renamed into place only when every file of a
//! command is complete, so a failed run never leaves half-written output looking complete.

use std::fmt::Write as _;

use rayon::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::classify::Decision;
use crate::compare::Comparer;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::predict::ScoredPairs;

/// A count with its digits grouped by commas, as in text and tables: 100,358,589.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A set of files being written into one folder.
#[derive(Debug)]
pub struct Staged {
    dir: PathBuf,
    pending: Vec<(PathBuf, PathBuf)>,
}

impl Staged {
    /// Creates `dir` if needed.
    ///
    /// # Errors
    /// [`Error::Input`] if `dir` exists and is not a folder; [`Error::Io`] if the folder cannot be
    /// created.
    pub fn new(dir: &Path) -> Result<Staged> {
        if dir.exists() && !dir.is_dir() {
            return Err(Error::Input {
                path: dir.to_path_buf(),
                message: "exists and is not a folder: --out names the folder the outputs are written to; give a folder (new or existing)".into(),
            });
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        Ok(Staged {
            dir: dir.to_path_buf(),
            pending: Vec::new(),
        })
    }

    /// Writes `name` through `f` into a temporary file, to be renamed by [`Staged::commit`].
    ///
    /// # Errors
    /// [`Error::Io`] on write failure (the temporary file is removed).
    pub fn write(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<()> {
        let final_path = self.dir.join(name);
        let tmp = self.dir.join(format!(".{name}.tmp-{}", std::process::id()));
        let res = (|| {
            let file = std::fs::File::create(&tmp)?;
            let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
            f(&mut w)?;
            w.flush()?;
            Ok(())
        })();
        if let Err(e) = res {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::io(final_path, e));
        }
        self.pending.push((tmp, final_path));
        Ok(())
    }

    /// Renames every staged file into place.
    ///
    /// # Errors
    /// [`Error::Io`] if a rename fails.
    pub fn commit(mut self) -> Result<Vec<PathBuf>> {
        let mut done = Vec::new();
        for (tmp, fin) in std::mem::take(&mut self.pending) {
            std::fs::rename(&tmp, &fin).map_err(|e| Error::io(&fin, e))?;
            done.push(fin);
        }
        Ok(done)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        for (tmp, _) in &self.pending {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// Rows per formatting chunk: chunks are formatted in parallel and written in order, so the
/// bytes do not depend on the thread count.
const WRITE_CHUNK: usize = 1 << 12;

/// Formats rows `0..n` through `row` (one CSV record each, via a `csv::Writer` over a buffer) in
/// parallel chunks and writes them in order after `header`.
fn write_rows_parallel(
    w: &mut dyn Write,
    header: &[String],
    n: usize,
    row: impl Fn(&mut csv::Writer<&mut Vec<u8>>, usize, &mut String) -> csv::Result<()> + Sync,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    {
        let mut cw = csv::Writer::from_writer(&mut head);
        cw.write_record(header)?;
        cw.flush()?;
    }
    w.write_all(&head)?;
    let starts: Vec<usize> = (0..n).step_by(WRITE_CHUNK).collect();
    let format = |batch: &[usize]| -> Vec<std::io::Result<Vec<u8>>> {
        batch
            .par_iter()
            .map(|&s| {
                let mut buf = Vec::with_capacity(WRITE_CHUNK * 48);
                {
                    let mut cw = csv::Writer::from_writer(&mut buf);
                    let mut num = String::new();
                    for i in s..(s + WRITE_CHUNK).min(n) {
                        row(&mut cw, i, &mut num)?;
                    }
                    cw.flush()?;
                }
                Ok(buf)
            })
            .collect()
    };
    let write = |w: &mut dyn Write, parts: Vec<std::io::Result<Vec<u8>>>| -> std::io::Result<()> {
        for p in parts {
            w.write_all(&p?)?;
        }
        Ok(())
    };
    // Bounded batches of chunks keep memory flat for very large outputs; each batch is written
    // while the next is formatted. On the 1.16M-record benchmark (pairs.csv and clusters.csv,
    // 81 MB, alternated in one session, minimum of six runs) writing took 0.24 s one batch after
    // the other, 0.17 s so.
    let mut pending: Option<Vec<std::io::Result<Vec<u8>>>> = None;
    for batch in starts.chunks(16) {
        let parts = match pending.take() {
            None => format(batch),
            Some(prev) => {
                // The writer stays on this thread (it need not be `Send`).
                let mut parts = Vec::new();
                let done = rayon::in_place_scope(|sc| {
                    sc.spawn(|_| parts = format(batch));
                    write(&mut *w, prev)
                });
                done?;
                parts
            }
        };
        pending = Some(parts);
    }
    if let Some(prev) = pending {
        write(w, prev)?;
    }
    Ok(())
}

/// Writes `pairs.csv`: `id_l, source_l, id_r, source_r, match_weight, match_probability`, then
/// `gamma_<name>` per comparison in Splink's convention (null −1, else 0, best n − 1), then
/// `tf_<name>` (the term-frequency adjustment in bits, included in `match_weight`) per
/// comparison with `term_frequency_adjustments` (no such column otherwise), then, when
/// `decisions` are given (Fellegi–Sunter decisions, one per pair in pair order), a `decision`
/// column (`match`, `review`, `non_match`; [`Decision::name`]).
pub fn write_pairs(
    w: &mut dyn Write,
    ds: &Dataset,
    comparer: &Comparer,
    pairs: &ScoredPairs,
    decisions: Option<&[Decision]>,
) -> std::io::Result<()> {
    let mut header = vec![
        "id_l".to_string(),
        "source_l".into(),
        "id_r".into(),
        "source_r".into(),
        "match_weight".into(),
        "match_probability".into(),
    ];
    header.extend(
        comparer
            .comparisons
            .iter()
            .map(|c| format!("gamma_{}", c.name)),
    );
    header.extend(pairs.tf_names.iter().map(|n| format!("tf_{n}")));
    if decisions.is_some() {
        header.push("decision".into());
    }
    // Pairs of one pattern share their weight and probability, and a level's gamma is one of a
    // few small integers: both are formatted once (writing the 1.16M-record benchmark's 700,000
    // pairs formatted 7 million numbers). With term-frequency adjustments weights vary by pair.
    let gammas: Vec<Vec<String>> = comparer
        .comparisons
        .iter()
        .map(|c| {
            (0..c.n_levels())
                .map(|l| c.gamma(l as u8).to_string())
                .collect()
        })
        .collect();
    let mut numbers: rustc_hash::FxHashMap<(u64, u64), (String, String)> = Default::default();
    if pairs.tf_names.is_empty() {
        for (&w, &p) in pairs.weight.iter().zip(&pairs.probability) {
            numbers
                .entry((w.to_bits(), p.to_bits()))
                .or_insert_with(|| (w.to_string(), p.to_string()));
        }
    }
    write_rows_parallel(w, &header, pairs.len(), |cw, i, num| {
        let (l, r) = (pairs.left[i] as usize, pairs.right[i] as usize);
        cw.write_field(ds.ids.get(l))?;
        cw.write_field(ds.source_name(l))?;
        cw.write_field(ds.ids.get(r))?;
        cw.write_field(ds.source_name(r))?;
        let (x, y) = (pairs.weight[i], pairs.probability[i]);
        match numbers.get(&(x.to_bits(), y.to_bits())) {
            Some((a, b)) => {
                cw.write_field(a)?;
                cw.write_field(b)?;
            }
            None => {
                for x in [x, y] {
                    num.clear();
                    let _ = write!(num, "{x}");
                    cw.write_field(&*num)?;
                }
            }
        }
        for (g, &lv) in gammas.iter().zip(pairs.levels_of(i)) {
            cw.write_field(&g[lv as usize])?;
        }
        if !pairs.tf_names.is_empty() {
            for x in pairs.tf_of(i) {
                num.clear();
                let _ = write!(num, "{x}");
                cw.write_field(&*num)?;
            }
        }
        if let Some(d) = decisions {
            cw.write_field(d[i].name())?;
        }
        cw.write_record(None::<&[u8]>)
    })
}

/// Writes `clusters.csv`: `id, source, cluster_id`, one row per record in input order.
pub fn write_clusters(w: &mut dyn Write, ds: &Dataset, clusters: &[u32]) -> std::io::Result<()> {
    let header = ["id".to_string(), "source".into(), "cluster_id".into()];
    write_rows_parallel(w, &header, clusters.len(), |cw, r, num| {
        num.clear();
        let _ = write!(num, "{}", clusters[r]);
        cw.write_record([ds.ids.get(r), ds.source_name(r), num.as_str()])
    })
}

/// Writes a value as pretty JSON with a trailing newline.
pub fn write_json<T: serde::Serialize>(w: &mut dyn Write, v: &T) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, v).map_err(std::io::Error::other)?;
    w.write_all(b"\n")
}

/// One row of a pairs.csv, as `fellegi cluster` and `fellegi evaluate` read it back.
#[derive(Debug, Clone, PartialEq)]
pub struct PairRecord {
    /// Left record (source, id).
    pub left: (String, String),
    /// Right record (source, id).
    pub right: (String, String),
    /// Its match probability, in [0, 1].
    pub probability: f64,
}

/// Reads a pairs.csv written by fellegi (only the id, source and probability columns).
///
/// # Errors
/// [`crate::Error::Io`] if unreadable; [`crate::Error::Csv`] naming the line for a missing
/// column, a malformed row or a probability that is not a number in [0, 1].
pub fn read_pairs(path: &Path) -> crate::Result<Vec<PairRecord>> {
    let csv_err = |line: u64, message: String| crate::Error::Csv {
        path: path.to_path_buf(),
        line,
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut rdr = csv::Reader::from_reader(std::io::BufReader::new(file));
    let header = rdr
        .headers()
        .map_err(|e| csv_err(1, e.to_string()))?
        .clone();
    let col = |n: &str| -> crate::Result<usize> {
        header.iter().position(|h| h == n).ok_or_else(|| {
            csv_err(
                1,
                format!("no column `{n}`; expected a pairs.csv written by fellegi"),
            )
        })
    };
    let (il, sl, ir, sr, pc) = (
        col("id_l")?,
        col("source_l")?,
        col("id_r")?,
        col("source_r")?,
        col("match_probability")?,
    );
    let mut out = Vec::new();
    for (n, rec) in rdr.records().enumerate() {
        let line = n as u64 + 2;
        let rec = rec.map_err(|e| csv_err(line, format!("malformed row: {e}")))?;
        let p: f64 = rec[pc].parse().map_err(|_| {
            csv_err(
                line,
                format!("match_probability `{}` is not a number", &rec[pc]),
            )
        })?;
        if !(0.0..=1.0).contains(&p) {
            return Err(csv_err(
                line,
                format!("match_probability {p} is outside [0, 1]"),
            ));
        }
        out.push(PairRecord {
            left: (rec[sl].to_string(), rec[il].to_string()),
            right: (rec[sr].to_string(), rec[ir].to_string()),
            probability: p,
        });
    }
    Ok(out)
}
