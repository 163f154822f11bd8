//! The incremental store (issue 16): create/info/verify/export, adds with stable cluster ids,
//! and the equivalence create(A) + add(B) == create(A ∪ B) (same pairs bit for bit, same
//! partition) for dedupe, link and link_and_dedupe, over random splits and FEBRL3 halves.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use fellegi::pipeline;
use fellegi::progress::Progress;
use fellegi::settings::Settings;
use fellegi::store::{self, Store, StoreOptions};
use proptest::prelude::*;

const FEBRL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/datasets/febrl");

/// Test settings: a transform, a derived (phonetic) key in a two-key rule, three rules.
fn settings_toml(link_type: &str) -> String {
    format!(
        r#"
link_type = "{link_type}"
unique_id = "record_id"
truth = "entity_id"

[[transform]]
column = "surname"
steps = ["lowercase", "strip_punctuation"]

[[blocking]]
keys = ["given_name"]
[[blocking]]
keys = [{{ column = "surname", encode = "soundex" }}, "state"]
[[blocking]]
keys = ["date_of_birth"]

[training]
lambda = {{ deterministic_rules = [["given_name", "surname"], ["date_of_birth", "soc_sec_id"]], recall = 0.8 }}
u = {{ random_pairs = 200_000, seed = 3 }}
em = [{{ blocking = ["given_name", "surname"] }}, {{ blocking = ["date_of_birth"] }}]

[[comparison]]
column = "given_name"
use = "jaro_winkler_at_thresholds"
thresholds = [0.9, 0.8]

[[comparison]]
column = "surname"
use = "jaro_winkler_at_thresholds"
thresholds = [0.9, 0.8]

[[comparison]]
column = "date_of_birth"
use = "levenshtein_at_thresholds"
thresholds = [1, 2]

[[comparison]]
column = "suburb"
use = "jaro_winkler_at_thresholds"
thresholds = [0.9]

[[comparison]]
column = "postcode"
use = "exact_match"

[[comparison]]
column = "soc_sec_id"
use = "levenshtein_at_thresholds"
thresholds = [1, 2]
"#
    )
}

/// The header and rows of a FEBRL CSV file.
fn rows(file: &str) -> (String, Vec<String>) {
    let text = std::fs::read_to_string(Path::new(FEBRL).join(file)).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    (header, lines.map(str::to_string).collect())
}

fn write_csv(path: &Path, header: &str, rows: &[&String]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut s = String::from(header);
    s.push('\n');
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    std::fs::write(path, s).unwrap();
}

/// A fitted model (JSON) for the link type, fitted once on `files` (first `n` rows each).
fn model_for(link_type: &str, files: &[&str], n: usize, dir: &Path) -> Settings {
    let s = Settings::from_toml(&settings_toml(link_type), "test settings")
        .unwrap()
        .expanded("test settings")
        .unwrap();
    let mut paths = Vec::new();
    for f in files {
        let (h, r) = rows(f);
        let p = dir.join(f);
        write_csv(&p, &h, &r.iter().take(n).collect::<Vec<_>>());
        paths.push(p);
    }
    let progress = Progress::default();
    let ds = pipeline::load(&s, &paths, &progress).unwrap();
    pipeline::fit(&s, &ds, 7, &progress).unwrap().model
}

fn model_json(link_type: &'static str) -> &'static str {
    static CACHE: OnceLock<std::sync::Mutex<BTreeMap<&'static str, &'static str>>> =
        OnceLock::new();
    let m = CACHE.get_or_init(Default::default);
    let mut m = m.lock().unwrap();
    m.entry(link_type).or_insert_with(|| {
        let dir = tempfile::tempdir().unwrap();
        let model = match link_type {
            "dedupe" => model_for("dedupe", &["dataset3.csv"], 5000, dir.path()),
            lt => model_for(lt, &["dataset4a.csv", "dataset4b.csv"], 2000, dir.path()),
        };
        Box::leak(serde_json::to_string(&model).unwrap().into_boxed_str())
    })
}

fn model(link_type: &'static str) -> Settings {
    Settings::from_json(model_json(link_type), "test model").unwrap()
}

/// Pairs of an exported pairs.csv: unordered record pair → (weight, probability, gammas) as
/// written (strings, so equality is bit for bit).
/// A record (source, id).
type Key = (String, String);
/// An unordered pair of records.
type PairKey = (Key, Key);

fn pairs_of(dir: &Path) -> BTreeMap<PairKey, Vec<String>> {
    let mut rdr = csv::Reader::from_path(dir.join("pairs.csv")).unwrap();
    let mut out = BTreeMap::new();
    for r in rdr.records() {
        let r = r.unwrap();
        let a = (r[1].to_string(), r[0].to_string());
        let b = (r[3].to_string(), r[2].to_string());
        let key = if a < b { (a, b) } else { (b, a) };
        let rest: Vec<String> = r.iter().skip(4).map(str::to_string).collect();
        assert!(out.insert(key, rest).is_none(), "a pair is written twice");
    }
    out
}

/// The partition of an exported clusters.csv: sets of (source, id).
fn partition_of(dir: &Path) -> BTreeSet<BTreeSet<(String, String)>> {
    let mut rdr = csv::Reader::from_path(dir.join("clusters.csv")).unwrap();
    let mut by: BTreeMap<u64, BTreeSet<(String, String)>> = BTreeMap::new();
    for r in rdr.records() {
        let r = r.unwrap();
        by.entry(r[2].parse().unwrap())
            .or_default()
            .insert((r[1].to_string(), r[0].to_string()));
    }
    by.into_values().collect()
}

fn opts() -> StoreOptions {
    StoreOptions {
        min_probability: 0.01,
        threshold: 0.5,
    }
}

/// Creates a store from `files` and exports it into `out`.
fn create_export(model: &Settings, files: &[PathBuf], store: &Path, out: &Path) {
    store::create(
        model,
        "test model",
        files,
        opts(),
        store,
        &Progress::default(),
    )
    .unwrap();
    Store::open(store).unwrap().export(out).unwrap();
}

/// Renames the dedupe source in exported partitions/pairs (a dedupe store's records all have
/// its one source name, the stem of the file it was created from).
fn ids_only<T: Clone>(p: &BTreeMap<PairKey, T>) -> BTreeMap<(String, String), T> {
    p.iter()
        .map(|(((_, a), (_, b)), v)| ((a.clone(), b.clone()), v.clone()))
        .collect()
}

fn partition_ids(p: &BTreeSet<BTreeSet<(String, String)>>) -> BTreeSet<BTreeSet<String>> {
    p.iter()
        .map(|c| c.iter().map(|(_, id)| id.clone()).collect())
        .collect()
}

/// For one link type: files named `names` (each a FEBRL file), rows split by `mask` into A
/// (false) and B (true; B added in `n_adds` batches); checks create(A)+adds == create(A ∪ B).
fn check_equivalence(
    link_type: &'static str,
    names: &[&str],
    take: usize,
    mask: &[bool],
    n_adds: usize,
) {
    let model = model(link_type);
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let mut all_files = Vec::new();
    let mut a_files = Vec::new();
    let mut b_files: Vec<Vec<PathBuf>> = vec![Vec::new(); n_adds];
    let mut k = 0usize;
    for name in names {
        let (h, r) = rows(name);
        let r: Vec<&String> = r.iter().take(take).collect();
        let mut a = Vec::new();
        let mut b: Vec<Vec<&String>> = vec![Vec::new(); n_adds];
        for (i, row) in r.iter().enumerate() {
            if mask[k % mask.len()] {
                b[i % n_adds].push(row);
            } else {
                a.push(*row);
            }
            k += 1;
        }
        let p = t.join("all").join(name);
        write_csv(&p, &h, &r);
        all_files.push(p);
        let p = t.join("a").join(name);
        write_csv(&p, &h, &a);
        a_files.push(p);
        for (j, rows) in b.iter().enumerate() {
            if rows.is_empty() {
                continue;
            }
            let p = t.join(format!("b{j}")).join(name);
            write_csv(&p, &h, rows);
            b_files[j].push(p);
        }
    }
    create_export(&model, &all_files, &t.join("s_all"), &t.join("e_all"));
    store::create(
        &model,
        "test model",
        &a_files,
        opts(),
        &t.join("s_inc"),
        &Progress::default(),
    )
    .unwrap();
    let mut s = Store::open(&t.join("s_inc")).unwrap();
    for files in &b_files {
        if files.is_empty() {
            continue;
        }
        let recs = s.read_new(files, None, &Progress::default()).unwrap();
        s.add(&recs).unwrap();
    }
    assert!(store::verify(&t.join("s_inc")).ok());
    // Reopened from disk, not the in-memory state.
    Store::open(&t.join("s_inc"))
        .unwrap()
        .export(&t.join("e_inc"))
        .unwrap();
    let (pa, pi) = (pairs_of(&t.join("e_all")), pairs_of(&t.join("e_inc")));
    let (ca, ci) = (
        partition_of(&t.join("e_all")),
        partition_of(&t.join("e_inc")),
    );
    if link_type == "dedupe" {
        assert_eq!(ids_only(&pa), ids_only(&pi), "pairs differ");
        assert_eq!(partition_ids(&ca), partition_ids(&ci), "partitions differ");
    } else {
        assert_eq!(pa, pi, "pairs differ");
        assert_eq!(ca, ci, "partitions differ");
    }
    assert!(!pa.is_empty());
}

#[test]
fn febrl3_halves_create_then_add_equals_create_of_all() {
    let mask: Vec<bool> = (0..5000).map(|i| i >= 2500).collect();
    check_equivalence("dedupe", &["dataset3.csv"], 5000, &mask, 1);
}

#[test]
fn febrl4_link_halves_in_three_adds_equal_create_of_all() {
    let mask: Vec<bool> = (0..7).map(|i| i % 2 == 1).collect();
    check_equivalence("link", &["dataset4a.csv", "dataset4b.csv"], 1500, &mask, 3);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn random_splits_are_equivalent_for_every_link_type(
        mask in proptest::collection::vec(any::<bool>(), 1..60),
        adds in 1usize..4,
        lt in 0usize..3,
    ) {
        // A store is created from at least one record of every file (an all-B mask leaves the
        // create with empty files, which the reader rejects).
        prop_assume!(mask.iter().any(|&m| !m));
        let (link_type, names, take): (&'static str, &[&str], usize) = match lt {
            0 => ("dedupe", &["dataset3.csv"], 600),
            1 => ("link", &["dataset4a.csv", "dataset4b.csv"], 300),
            _ => ("link_and_dedupe", &["dataset4a.csv", "dataset4b.csv"], 300),
        };
        check_equivalence(link_type, names, take, &mask, adds);
    }
}

/// A small dedupe store of FEBRL3's first `n` rows at `dir`.
fn small_store(dir: &Path, n: usize) -> PathBuf {
    let (h, r) = rows("dataset3.csv");
    let p = dir.join("in").join("people.csv");
    write_csv(&p, &h, &r.iter().take(n).collect::<Vec<_>>());
    let s = dir.join("store");
    store::create(
        &model("dedupe"),
        "test model",
        &[p],
        opts(),
        &s,
        &Progress::default(),
    )
    .unwrap();
    s
}

#[test]
fn cluster_ids_are_stable_never_reused_and_merge_into_the_oldest() {
    let tmp = tempfile::tempdir().unwrap();
    let (h, r) = rows("dataset3.csv");
    let s = small_store(tmp.path(), 300);
    let mut st = Store::open(&s).unwrap();
    let before: Vec<u64> = (0..st.len() as u32).map(|i| st.cluster_of(i)).collect();
    let next_before = st.info().next_cluster_id;
    // Add the rest of FEBRL3 in one go.
    let p = tmp.path().join("in2").join("more.csv");
    write_csv(&p, &h, &r.iter().skip(300).take(1500).collect::<Vec<_>>());
    let recs = st.read_new(&[p], None, &Progress::default()).unwrap();
    let sum = st.add(&recs).unwrap();
    assert_eq!(sum.records, 1500);
    assert!(sum.new_clusters > 0);
    // New ids are handed out from next_cluster_id on, never below.
    for &c in &sum.cluster_ids {
        assert!(c < st.info().next_cluster_id);
    }
    assert_eq!(
        st.info().next_cluster_id,
        next_before + sum.new_clusters,
        "one id per new cluster"
    );
    // Stored records keep their id unless their cluster was merged, and then into an older id.
    for (i, &c0) in before.iter().enumerate() {
        let c1 = st.cluster_of(i as u32);
        assert!(c1 <= c0, "record {i} moved from {c0} to a younger id {c1}");
    }
    // changes.csv: one row per new record and per moved record, consecutive seqs.
    let out = tmp.path().join("export");
    st.export(&out).unwrap();
    let mut rdr = csv::Reader::from_path(out.join("changes.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    let news = rows.iter().filter(|r| r[3].is_empty()).count();
    assert_eq!(news, 1500);
    let moved = rows.iter().filter(|r| &r[5] == "cluster_merged").count() as u64;
    assert_eq!(sum.merged_clusters > 0, moved > 0);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r[0].parse::<usize>().unwrap(), i + 1);
    }
    assert!(store::verify(&s).ok());
}

#[test]
fn changes_are_the_same_bytes_for_the_same_adds() {
    let tmp = tempfile::tempdir().unwrap();
    let (h, r) = rows("dataset3.csv");
    let p = tmp.path().join("in2").join("more.csv");
    write_csv(&p, &h, &r.iter().skip(200).take(400).collect::<Vec<_>>());
    let mut bytes = Vec::new();
    for k in 0..2 {
        let d = tmp.path().join(format!("run{k}"));
        let s = small_store(&d, 200);
        let mut st = Store::open(&s).unwrap();
        let recs = st
            .read_new(std::slice::from_ref(&p), None, &Progress::default())
            .unwrap();
        st.add(&recs).unwrap();
        let mut all = Vec::new();
        for f in [
            "changes.csv",
            "pairs.csv",
            "records.bin",
            "assignments.bin",
            "merges.csv",
            "store.json",
        ] {
            all.push(std::fs::read(s.join(f)).unwrap());
        }
        bytes.push(all);
    }
    assert_eq!(bytes[0], bytes[1]);
}

#[test]
fn bad_adds_are_rejected_whole_and_leave_the_store_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let s = small_store(tmp.path(), 100);
    let snapshot = |s: &Path| -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(s)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().to_string(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let before = snapshot(&s);
    let (h, r) = rows("dataset3.csv");
    let mut st = Store::open(&s).unwrap();
    // A duplicate id already in the store, among new ones.
    let p = tmp.path().join("dup.csv");
    write_csv(&p, &h, &[&r[150], &r[5], &r[151]]);
    let recs = st
        .read_new(std::slice::from_ref(&p), None, &Progress::default())
        .unwrap();
    let e = st.add(&recs).unwrap_err().to_string();
    assert!(e.contains("already in the store"), "{e}");
    // An unknown column (the blocking column is missing).
    let p = tmp.path().join("cols.csv");
    std::fs::write(&p, "record_id,given_name\nx1,anna\n").unwrap();
    let e = st
        .read_new(std::slice::from_ref(&p), None, &Progress::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("cols.csv"), "{e}");
    // A malformed (ragged) row.
    let p = tmp.path().join("ragged.csv");
    std::fs::write(&p, format!("{h}\n{}\nrec-x,1,2\n", r[160])).unwrap();
    let e = st
        .read_new(std::slice::from_ref(&p), None, &Progress::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("ragged.csv"), "{e}");
    // --source in a dedupe store.
    let p = tmp.path().join("ok.csv");
    write_csv(&p, &h, &[&r[170]]);
    assert!(
        st.read_new(std::slice::from_ref(&p), Some("x"), &Progress::default())
            .is_err()
    );
    assert_eq!(before, snapshot(&s), "a rejected add changed the store");
    assert!(store::verify(&s).ok());
}

#[test]
fn verify_finds_damage_and_tolerates_an_unfinished_add() {
    let tmp = tempfile::tempdir().unwrap();
    let s = small_store(tmp.path(), 100);
    assert!(store::verify(&s).ok());
    // Trailing bytes (an add killed before its manifest was renamed) are noted, not errors,
    // and the next add removes them.
    let rec = s.join("records.bin");
    let mut f = std::fs::OpenOptions::new().append(true).open(&rec).unwrap();
    std::io::Write::write_all(&mut f, b"half a row,").unwrap();
    drop(f);
    let v = store::verify(&s);
    assert!(v.ok(), "{:?}", v.errors);
    assert_eq!(v.trailing, vec![("records.bin".to_string(), 11)]);
    let (h, r) = rows("dataset3.csv");
    let p = tmp.path().join("more.csv");
    write_csv(&p, &h, &r.iter().skip(100).take(50).collect::<Vec<_>>());
    let mut st = Store::open(&s).unwrap();
    let recs = st.read_new(&[p], None, &Progress::default()).unwrap();
    st.add(&recs).unwrap();
    let v = store::verify(&s);
    assert!(v.ok() && v.trailing.is_empty(), "{v:?}");
    // A flipped byte in committed data is an error.
    let mut bytes = std::fs::read(&rec).unwrap();
    bytes[40] ^= 0x20;
    std::fs::write(&rec, &bytes).unwrap();
    let v = store::verify(&s);
    assert!(!v.ok());
    assert!(v.errors[0].contains("records.bin"), "{:?}", v.errors);
    // Another schema version is refused with the version named.
    let m = s.join("store.json");
    let text = std::fs::read_to_string(&m)
        .unwrap()
        .replace("\"schema_version\": 2", "\"schema_version\": 99");
    std::fs::write(&m, text).unwrap();
    let e = Store::open(&s).unwrap_err().to_string();
    assert!(e.contains("schema version 99"), "{e}");
    // A store of the CSV format (schema 1) is refused with the fix named.
    let text = std::fs::read_to_string(&m)
        .unwrap()
        .replace("\"schema_version\": 99", "\"schema_version\": 1");
    std::fs::write(&m, text).unwrap();
    let e = Store::open(&s).unwrap_err().to_string();
    assert!(
        e.contains("schema version 1 ") && e.contains("fellegi store create"),
        "{e}"
    );
}

#[test]
fn find_scores_like_the_store_and_gives_contributions() {
    let tmp = tempfile::tempdir().unwrap();
    let s = small_store(tmp.path(), 400);
    let st = Store::open(&s).unwrap();
    // A stored record matched against the store finds its stored pairs with the same
    // probabilities (the same bits), itself excluded only by source/id (it is a query).
    let (h, r) = rows("dataset3.csv");
    let p = tmp.path().join("q.csv");
    write_csv(&p, &h, &[&r[450]]);
    let q = st.read_new(&[p], None, &Progress::default()).unwrap();
    let found = st.find(&q, 0.01).unwrap();
    assert_eq!(found.len(), 1);
    for c in &found[0] {
        let sum: f64 = st.prior_weight() + c.contributions.iter().map(|x| x.weight).sum::<f64>();
        assert_eq!(sum, c.match_weight);
        assert_eq!(c.contributions.len(), st.comparison_names().len());
    }
    // Adding the same record gives the pairs find predicted.
    let mut st = st;
    let sum = st.add(&q).unwrap();
    assert_eq!(sum.pairs as usize, found[0].len());
}

#[test]
fn exhaustive_models_are_refused_with_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let mut m = model("dedupe");
    m.exhaustive = true;
    let (h, r) = rows("dataset3.csv");
    let p = tmp.path().join("x.csv");
    write_csv(&p, &h, &r.iter().take(10).collect::<Vec<_>>());
    let e = store::create(
        &m,
        "m.json",
        &[p],
        opts(),
        &tmp.path().join("s"),
        &Progress::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("exhaustive"), "{e}");
}

#[test]
fn recluster_with_the_same_model_keeps_every_id_and_a_new_threshold_maps_them() {
    let tmp = tempfile::tempdir().unwrap();
    let s = small_store(tmp.path(), 600);
    let mut st = Store::open(&s).unwrap();
    let (h, r) = rows("dataset3.csv");
    let p = tmp.path().join("more.csv");
    write_csv(&p, &h, &r.iter().skip(600).take(400).collect::<Vec<_>>());
    let recs = st.read_new(&[p], None, &Progress::default()).unwrap();
    st.add(&recs).unwrap();
    st.export(&tmp.path().join("e0")).unwrap();
    let before = std::fs::read(tmp.path().join("e0/clusters.csv")).unwrap();
    let pairs0 = pairs_of(&tmp.path().join("e0"));
    // Same model: the same pairs and every record keeps its id.
    let sum = st.recluster(None, &Progress::default()).unwrap();
    assert_eq!(sum.moved_records, 0);
    assert_eq!(sum.new_ids, 0);
    st.export(&tmp.path().join("e1")).unwrap();
    assert_eq!(
        before,
        std::fs::read(tmp.path().join("e1/clusters.csv")).unwrap()
    );
    assert_eq!(pairs0, pairs_of(&tmp.path().join("e1")));
    assert!(store::verify(&s).ok());
    // A model that links less (a much lower prior) splits some clusters: each old id goes to
    // at most one new cluster, new ids start at the old next id, and the mapping says so.
    let next = st.info().next_cluster_id;
    let mut text = serde_json::to_value(&st.model).unwrap();
    let lam = text["lambda"].as_f64().unwrap();
    text["lambda"] = serde_json::json!(lam / 1e4);
    let m2: Settings = Settings::from_json(&text.to_string(), "m2").unwrap();
    let sum = st
        .recluster(Some((&m2, "m2")), &Progress::default())
        .unwrap();
    assert!(sum.new_ids > 0 && sum.moved_records > 0, "{sum:?}");
    assert_eq!(st.info().next_cluster_id, next + sum.new_ids);
    let mut rdr = csv::Reader::from_path(s.join(&sum.mapping)).unwrap();
    let mut kept = BTreeSet::new();
    for row in rdr.records() {
        let row = row.unwrap();
        if row[0] == row[1] {
            assert!(kept.insert(row[0].to_string()), "an old id kept twice");
        }
    }
    assert_eq!(kept.len() as u64, sum.kept_ids);
    assert!(store::verify(&s).ok());
    // The store still takes adds.
    let p = tmp.path().join("more2.csv");
    write_csv(&p, &h, &r.iter().skip(1000).take(50).collect::<Vec<_>>());
    let recs = st.read_new(&[p], None, &Progress::default()).unwrap();
    st.add(&recs).unwrap();
    assert!(store::verify(&s).ok());
}

/// Issue 16: a JSON record (the service's) is read as a CSV row of its source's `[[input]]`
/// would be: the input's id column, renames, missing markers and date formats, then the
/// model's transforms. Every row of a file in the input's own format, given field by field to
/// `clean_record`, must equal what `read_new` reads from the file.
#[test]
fn json_records_follow_their_inputs_rules_as_the_csv_reader_does() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let mut m = model("link");
    m.inputs.push(fellegi::data::InputDescription {
        source: Some("census".into()),
        unique_id: Some("rec".into()),
        rename: [
            ("family".to_string(), "surname".to_string()),
            ("dob".to_string(), "date_of_birth".to_string()),
        ]
        .into(),
        date_format: [("date_of_birth".to_string(), "%d/%m/%Y".to_string())].into(),
        missing: Some(vec!["NA".into(), "?".into()]),
        ..Default::default()
    });
    let (h, r) = rows("dataset4a.csv");
    let a = t.join("in").join("dataset4a.csv");
    write_csv(&a, &h, &r.iter().take(300).collect::<Vec<_>>());

    // dataset4b's rows in the census input's format: renamed columns, d/m/Y dates, and
    // missing markers in some fields.
    let (hb, rb) = rows("dataset4b.csv");
    let file_header: Vec<String> = hb
        .split(',')
        .map(|c| match c {
            "record_id" => "rec".to_string(),
            "surname" => "family".to_string(),
            "date_of_birth" => "dob".to_string(),
            c => c.to_string(),
        })
        .collect();
    let dob = file_header.iter().position(|c| c == "dob").unwrap();
    let mut file_rows: Vec<Vec<String>> = Vec::new();
    for (i, row) in rb.iter().take(250).enumerate() {
        let mut f: Vec<String> = row.split(',').map(str::to_string).collect();
        let d = f[dob].clone();
        if d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()) {
            f[dob] = format!("{}/{}/{}", &d[6..8], &d[4..6], &d[..4]);
        }
        match i % 7 {
            0 => f[2] = "NA".into(),
            3 => f[dob] = " ? ".into(),
            5 => f[dob] = "31/02/1970".into(),
            _ => {}
        }
        file_rows.push(f);
    }
    // The store holds dataset4a and the census file's last 50 rows (read by the input's
    // rules at create); the first 200 are new.
    let joined: Vec<String> = file_rows.iter().map(|f| f.join(",")).collect();
    let first = t.join("in").join("census.csv");
    write_csv(
        &first,
        &file_header.join(","),
        &joined[200..].iter().collect::<Vec<_>>(),
    );
    let s = t.join("store");
    store::create(
        &m,
        "test model",
        &[a, first],
        opts(),
        &s,
        &Progress::default(),
    )
    .unwrap();
    let st = Store::open(&s).unwrap();
    assert_eq!(st.len(), 350);
    let census = t.join("new").join("census.csv");
    file_rows.truncate(200);
    let joined: Vec<String> = file_rows.iter().map(|f| f.join(",")).collect();
    write_csv(
        &census,
        &file_header.join(","),
        &joined.iter().collect::<Vec<_>>(),
    );
    let from_csv = st
        .read_new(std::slice::from_ref(&census), None, &Progress::default())
        .unwrap();
    assert_eq!(from_csv.len(), 200);
    let rules = st.input_rules("census");
    assert!(rules.is_some());
    let used: BTreeSet<String> = m.columns_used().into_iter().map(|(c, _)| c).collect();
    for (f, want) in file_rows.iter().zip(&from_csv) {
        let fields: Vec<(String, String)> = file_header
            .iter()
            .zip(f)
            .filter(|(c, _)| used.contains(rules.unwrap().settings_name(c)))
            .map(|(c, v)| (c.clone(), v.clone()))
            .collect();
        let got = st.clean_record("census", &f[0], &fields, rules).unwrap();
        assert_eq!(&got, want, "row {}", f[0]);
    }
    // The rules matter: without them the same fields are not the file's records.
    let f = &file_rows[1];
    let fields: Vec<(String, String)> = vec![("given_name".into(), f[2].clone())];
    let e = st
        .clean_record("census", &f[0], &[("dob".into(), f[dob].clone())], None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown field `dob`"), "{e}");
    // A column under both its file name and the model's is refused; the model's name alone
    // is accepted.
    let both = [
        ("family".to_string(), "x".to_string()),
        ("surname".to_string(), "y".to_string()),
    ];
    let e = st
        .clean_record("census", "z", &both, rules)
        .unwrap_err()
        .to_string();
    assert!(e.contains("given twice"), "{e}");
    let one = st.clean_record("census", "z", &fields, rules).unwrap();
    assert_eq!(
        one.values,
        from_csv[1]
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| if st.manifest.columns[i] == "given_name" {
                v.clone()
            } else {
                String::new()
            })
            .collect::<Vec<_>>()
    );
    // A file of that source with `rename`d dates also gives candidates as its CSV form does.
    let q = st.find(&from_csv[..20], 0.0).unwrap();
    let fields0: Vec<Vec<(String, String)>> = file_rows[..20]
        .iter()
        .map(|f| {
            file_header
                .iter()
                .zip(f)
                .filter(|(c, _)| used.contains(rules.unwrap().settings_name(c)))
                .map(|(c, v)| (c.clone(), v.clone()))
                .collect()
        })
        .collect();
    let json: Vec<_> = file_rows[..20]
        .iter()
        .zip(&fields0)
        .map(|(f, fl)| st.clean_record("census", &f[0], fl, rules).unwrap())
        .collect();
    assert_eq!(st.find(&json, 0.0).unwrap(), q);
    assert!(q.iter().any(|c| !c.is_empty()), "no candidates at all");
}
