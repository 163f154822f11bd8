//! Bounded fuzz targets (issue 15): the CSV reader, the settings parser, model.json loading and
//! pairs.csv reading must return Ok or Err on random bytes and on random mutations of valid
//! inputs, never panic. The number of cases per target is `FELLEGI_FUZZ_CASES` (default 256).

use std::io::Write;

use fellegi::data::{InputSpec, read_csv_files};
use fellegi::output::read_pairs;
use fellegi::progress::Progress;
use fellegi::settings::Settings;
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;

fn config() -> ProptestConfig {
    let cases = std::env::var("FELLEGI_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const CSV: &str = "id,entity,given,surname\n\
1,a,john,smith\n\
2,a,\"jon, jr\",smith\n\
3,b,\"mary\nann\",jones\n\
4,b,mary,jones\n\
5,c,peter,brown\n";

const SETTINGS: &str = include_str!("../datasets/settings/febrl4.toml");
/// A model fitted by `fellegi link` on the small data of tests/common.
const MODEL: &str = include_str!("bad_inputs/explain_ok/model.json");
const PAIRS: &str = include_str!("bad_inputs/evaluate_ok/pairs.csv");

/// Bytes that matter to the formats: delimiters, quotes, line ends, brackets, digits, NUL,
/// a UTF-8 lead byte and continuation byte, a BOM byte.
const SPECIAL: &[u8] = b",;\"'\n\r\t =[]{}.-0159eE\\#\0\xc3\xa9\xef";

#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, u8),
    Delete(usize),
    Replace(usize, u8),
    /// Copies a range of the text over to another position (duplicates lines, fields, tables).
    Splice(usize, usize, usize),
    Truncate(usize),
}

fn byte() -> impl Strategy<Value = u8> {
    prop_oneof![3 => proptest::sample::select(SPECIAL), 1 => any::<u8>()]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (any::<usize>(), byte()).prop_map(|(i, b)| Edit::Insert(i, b)),
        3 => any::<usize>().prop_map(Edit::Delete),
        3 => (any::<usize>(), byte()).prop_map(|(i, b)| Edit::Replace(i, b)),
        1 => (any::<usize>(), 0usize..64, any::<usize>()).prop_map(|(a, n, b)| Edit::Splice(a, n, b)),
        1 => any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn mutate(text: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut v = text.to_vec();
    for e in edits {
        let n = v.len();
        match *e {
            Edit::Insert(i, b) => v.insert(i % (n + 1), b),
            Edit::Delete(i) if n > 0 => {
                v.remove(i % n);
            }
            Edit::Replace(i, b) if n > 0 => v[i % n] = b,
            Edit::Splice(a, len, b) if n > 0 => {
                let a = a % n;
                let chunk = v[a..(a + len).min(n)].to_vec();
                let at = b % (n + 1);
                v.splice(at..at, chunk);
            }
            Edit::Truncate(i) => v.truncate(i % (n + 1)),
            _ => {}
        }
    }
    v
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    proptest::collection::vec(edit(), 1..12)
}

fn temp_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
    (dir, path)
}

fn read_csv(bytes: &[u8]) {
    let (_dir, path) = temp_file("data.csv", bytes);
    let spec = InputSpec {
        paths: vec![path],
        unique_id: "id".into(),
        truth: Some("entity".into()),
        columns: vec![
            ("given".into(), "comparison[0].column".into()),
            ("surname".into(), "comparison[1].column".into()),
        ],
        ..InputSpec::default()
    };
    let _ = read_csv_files(&spec, &Progress::default());
}

fn parse_settings(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    if let Ok(s) = Settings::from_toml(&text, "fuzz.toml") {
        let _ = s.expanded("fuzz.toml");
    }
}

fn load_model(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    if let Ok(s) = Settings::from_json(&text, "model.json") {
        let _ = s.expanded("model.json");
    }
}

fn read_pairs_bytes(bytes: &[u8]) {
    let (_dir, path) = temp_file("pairs.csv", bytes);
    let _ = read_pairs(&path);
}

#[test]
fn seeds_are_valid() {
    assert!(Settings::from_toml(SETTINGS, "febrl4.toml").is_ok());
    assert!(Settings::from_json(MODEL, "model.json").is_ok());
    assert!(read_pairs_bytes_ok(PAIRS.as_bytes()));
}

fn read_pairs_bytes_ok(bytes: &[u8]) -> bool {
    let (_dir, path) = temp_file("pairs.csv", bytes);
    read_pairs(&path).is_ok()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn csv_random_bytes(bytes in proptest::collection::vec(byte(), 0..400)) {
        read_csv(&bytes);
    }

    #[test]
    fn csv_mutations(e in edits()) {
        read_csv(&mutate(CSV.as_bytes(), &e));
    }

    #[test]
    fn settings_mutations(e in edits()) {
        parse_settings(&mutate(SETTINGS.as_bytes(), &e));
    }

    #[test]
    fn model_json_mutations(e in edits()) {
        load_model(&mutate(MODEL.as_bytes(), &e));
    }

    #[test]
    fn pairs_random_bytes(bytes in proptest::collection::vec(byte(), 0..400)) {
        read_pairs_bytes(&bytes);
    }

    #[test]
    fn pairs_mutations(e in edits()) {
        read_pairs_bytes(&mutate(PAIRS.as_bytes(), &e));
    }
}
