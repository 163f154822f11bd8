//! `fellegi generate` and `fellegi::synth::records`: determinism, corruption rates, duplicate
//! distributions, source overlap, input errors, and an end-to-end link of generated sources.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use fellegi::synth::records::corrupt::{keyboard_neighbours, rule_matches};
use fellegi::synth::records::{
    Corruption, DuplicateDistribution, Field, GeneratorConfig, Lookups, Preset, Summary, generate,
};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fellegi"))
}

fn lookups() -> &'static Lookups {
    static LK: std::sync::OnceLock<Lookups> = std::sync::OnceLock::new();
    LK.get_or_init(|| Lookups::load(&Lookups::default_dir()).unwrap())
}

fn run_ok(args: &[&str]) {
    let o = bin().args(args).arg("-q").output().unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Runs a command expected to fail: exit code 2, and returns stderr.
fn run_err(args: &[&str]) -> String {
    let o = bin().args(args).arg("-q").output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{args:?}");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

#[test]
fn same_seed_same_bytes_different_seed_different_bytes() {
    let d = tempfile::tempdir().unwrap();
    let out = |name: &str| d.path().join(name);
    let o = |n: &str| out(n).to_str().unwrap().to_string();
    run_ok(&[
        "generate",
        "--entities",
        "3000",
        "--seed",
        "9",
        "--out",
        &o("a"),
    ]);
    run_ok(&[
        "generate",
        "--entities",
        "3000",
        "--seed",
        "9",
        "--out",
        &o("b"),
    ]);
    run_ok(&[
        "generate",
        "--entities",
        "3000",
        "--seed",
        "10",
        "--out",
        &o("c"),
    ]);
    let a = read(&out("a/records.csv"));
    assert_eq!(a, read(&out("b/records.csv")));
    assert_eq!(read(&out("a/generate.json")), read(&out("b/generate.json")));
    assert_ne!(a, read(&out("c/records.csv")));
    let text = String::from_utf8(a).unwrap();
    assert!(text.starts_with(
        "record_id,entity_id,given_name,surname,street_number,address_1,suburb,postcode,state,date_of_birth,soc_sec_id\n"
    ));
    // Record ids unique.
    let mut ids: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n);
    let json: serde_json::Value = serde_json::from_slice(&read(&out("a/generate.json"))).unwrap();
    assert_eq!(json["config"]["seed"], 9);
    assert_eq!(json["summary"]["records"], n as u64);
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn thread_count_does_not_change_output() {
    let d = tempfile::tempdir().unwrap();
    let o = |n: &str| d.path().join(n).to_str().unwrap().to_string();
    let common = [
        "generate",
        "--entities",
        "5000",
        "--sources",
        "3",
        "--overlap",
        "0.5",
        "--preset",
        "high",
        "--phone-number",
    ];
    let mut a1 = common.to_vec();
    let (p1, p2) = (o("t1"), o("t2"));
    a1.extend(["--threads", "1", "--out", &p1]);
    let mut a2 = common.to_vec();
    a2.extend(["--threads", "2", "--out", &p2]);
    run_ok(&a1);
    run_ok(&a2);
    for f in [
        "source_a.csv",
        "source_b.csv",
        "source_c.csv",
        "generate.json",
    ] {
        let (x, y) = (d.path().join("t1").join(f), d.path().join("t2").join(f));
        assert_eq!(read(&x), read(&y), "{f}");
    }
    let a = String::from_utf8(read(&d.path().join("t1/source_a.csv"))).unwrap();
    assert!(a.lines().next().unwrap().ends_with(",phone_number"));
    assert!(a.lines().nth(1).unwrap().starts_with("a-0000001,"));
}

/// Parsed CSV rows: header and rows of fields.
fn parse(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_reader(bytes);
    let h = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    (h, rows)
}

/// A config where only `field` can be modified, only by `t`, with probability `p` per copy, no
/// missing values; two sources, every entity in both and no further duplicates, so each entity
/// has its original in source a and one copy in source b.
fn one_type(field: Field, t: Corruption, p: f64, entities: u64) -> GeneratorConfig {
    let mut cfg = GeneratorConfig::new(Preset::Low);
    cfg.entities = entities;
    cfg.seed = 3;
    cfg.sources.count = 2;
    cfg.sources.overlap = 1.0;
    cfg.duplicates.max = 0;
    cfg.duplicates.mean = 0.0;
    cfg.corruption.record_rate = p;
    cfg.corruption.max_modifications = 1;
    for (f, fs) in cfg.corruption.fields.iter_mut() {
        fs.missing = 0.0;
        fs.weight = if *f == field { 1.0 } else { 0.0 };
        if *f == field {
            fs.types = BTreeMap::from([(t, 1.0)]);
        }
    }
    cfg
}

/// Generates `cfg` (two sources) and returns (summary, original rows by entity, copy rows by
/// entity, header).
type Rows = HashMap<String, Vec<String>>;
fn originals_and_copies(cfg: &GeneratorConfig) -> (Summary, Rows, Rows, Vec<String>) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let s = generate(cfg, lookups(), &mut [&mut a, &mut b]).unwrap();
    let (h, ra) = parse(&a);
    let (_, rb) = parse(&b);
    let by_entity = |rows: Vec<Vec<String>>| rows.into_iter().map(|r| (r[1].clone(), r)).collect();
    (s, by_entity(ra), by_entity(rb), h)
}

/// Whether `c` is `o` with the corruption `t` applied once (the distinguishing property).
fn looks_like(t: Corruption, o: &str, c: &str, lk: &Lookups, field: Field) -> bool {
    let oc: Vec<char> = o.chars().collect();
    let cc: Vec<char> = c.chars().collect();
    let diffs: Vec<usize> = (0..oc.len().min(cc.len()))
        .filter(|&i| oc[i] != cc[i])
        .collect();
    let without = |long: &[char], short: &[char]| {
        long.len() == short.len() + 1
            && (0..long.len()).any(|i| {
                let mut v = long.to_vec();
                v.remove(i);
                v == short
            })
    };
    let by_rule = |rules| {
        rule_matches(rules, o).into_iter().any(|(ri, at)| {
            let r = &rules[ri];
            format!("{}{}{}", &o[..at], r.to, &o[at + r.from.len()..]) == c
        })
    };
    let table = match field {
        Field::GivenName => &lk.given_name_misspell,
        Field::Surname => &lk.surname_misspell,
        _ => &lk.suburb_misspell,
    };
    match t {
        Corruption::Insert => without(&cc, &oc),
        Corruption::Delete => without(&oc, &cc),
        Corruption::Substitute => oc.len() == cc.len() && diffs.len() == 1,
        Corruption::Transpose => {
            oc.len() == cc.len()
                && diffs.len() == 2
                && diffs[1] == diffs[0] + 1
                && oc[diffs[0]] == cc[diffs[1]]
                && oc[diffs[1]] == cc[diffs[0]]
        }
        Corruption::Keyboard => {
            oc.len() == cc.len()
                && diffs.len() == 1
                && keyboard_neighbours(oc[diffs[0]] as u8).contains(&(cc[diffs[0]] as u8))
        }
        Corruption::Ocr => by_rule(&lk.ocr),
        Corruption::Phonetic => by_rule(&lk.phonetic),
        Corruption::Misspelling => table
            .forward
            .get(o)
            .is_some_and(|v| v.iter().any(|x| x == c)),
        Corruption::Variant => table
            .variants
            .get(o)
            .is_some_and(|v| v.iter().any(|x| x == c)),
        Corruption::Truncate => o.starts_with(c) && c.len() < o.len() && !c.is_empty(),
        Corruption::DateSwap => c.len() == 8 && c == format!("{}{}{}", &o[..4], &o[6..], &o[4..6]),
        Corruption::DateDigit => {
            oc.len() == 8 && cc.len() == 8 && diffs.len() == 1 && diffs[0] >= 2
        }
        Corruption::Swap => unreachable!("checked on two fields"),
    }
}

/// Each corruption type, enabled alone, is attempted at its configured rate (within 4 standard
/// errors), every applied corruption shows in the output with its distinguishing property, and
/// the output changes exactly as often as `generate.json` says.
#[test]
fn each_corruption_type_at_its_rate() {
    let lk = lookups();
    let n = 20_000u64;
    let p = 0.4;
    let cases = [
        (Field::Surname, Corruption::Insert),
        (Field::Surname, Corruption::Delete),
        (Field::SocSecId, Corruption::Substitute),
        (Field::Surname, Corruption::Transpose),
        (Field::Suburb, Corruption::Keyboard),
        (Field::Surname, Corruption::Ocr),
        (Field::Surname, Corruption::Phonetic),
        (Field::GivenName, Corruption::Misspelling),
        (Field::GivenName, Corruption::Variant),
        (Field::Address1, Corruption::Truncate),
        (Field::GivenName, Corruption::Swap),
        (Field::DateOfBirth, Corruption::DateSwap),
        (Field::DateOfBirth, Corruption::DateDigit),
    ];
    for (field, t) in cases {
        let cfg = one_type(field, t, p, n);
        let (s, orig, copy, h) = originals_and_copies(&cfg);
        assert_eq!(s.copies, n);
        let counts = &s.corruptions[field.name()];
        let applied = counts.applied.get(t.name()).copied().unwrap_or(0);
        let skipped = counts.skipped.get(t.name()).copied().unwrap_or(0);
        let attempted = (applied + skipped) as f64;
        let se = (n as f64 * p * (1.0 - p)).sqrt();
        assert!(
            (attempted - n as f64 * p).abs() < 4.0 * se,
            "{field:?} {t:?}: attempted {attempted}, expected {}",
            n as f64 * p
        );
        let col = h.iter().position(|c| c == field.name()).unwrap();
        let (gi, si) = (2, 3);
        let mut changed = 0u64;
        for (e, c) in &copy {
            let o = &orig[e];
            if t == Corruption::Swap {
                if c[gi] != o[gi] || c[si] != o[si] {
                    assert!(c[gi] == o[si] && c[si] == o[gi], "{o:?} -> {c:?}");
                    changed += 1;
                }
            } else if c[col] != o[col] {
                assert!(
                    looks_like(t, &o[col], &c[col], lk, field),
                    "{t:?}: {} -> {}",
                    o[col],
                    c[col]
                );
                changed += 1;
            }
            // Nothing else changes.
            for (j, (x, y)) in o.iter().zip(c).enumerate().skip(2) {
                if j != col && !(t == Corruption::Swap && (j == gi || j == si)) {
                    assert_eq!(x, y, "{t:?} changed column {}", h[j]);
                }
            }
        }
        assert_eq!(changed, applied, "{field:?} {t:?}");
        // Types that always apply to these values are applied at the rate itself.
        if matches!(
            t,
            Corruption::Insert
                | Corruption::Substitute
                | Corruption::Keyboard
                | Corruption::Truncate
                | Corruption::DateDigit
        ) {
            assert_eq!(skipped, 0, "{t:?}");
        }
        if matches!(t, Corruption::Misspelling | Corruption::Variant) {
            assert!(applied > 1000, "{t:?} applied only {applied}");
        }
    }
}

#[test]
fn missing_values_at_their_rate() {
    let n = 20_000u64;
    let mut cfg = one_type(Field::Postcode, Corruption::Substitute, 0.0, n);
    cfg.corruption
        .fields
        .get_mut(&Field::Postcode)
        .unwrap()
        .missing = 0.15;
    let (s, orig, copy, h) = originals_and_copies(&cfg);
    let col = h.iter().position(|c| c == "postcode").unwrap();
    let blank = copy.values().filter(|r| r[col].is_empty()).count() as u64;
    assert_eq!(blank, s.corruptions["postcode"].missing);
    assert!(
        orig.values().all(|r| !r[col].is_empty()),
        "originals complete"
    );
    let se = (n as f64 * 0.15 * 0.85).sqrt();
    assert!((blank as f64 - n as f64 * 0.15).abs() < 4.0 * se, "{blank}");
}

#[test]
fn per_record_modifications_follow_max_modifications() {
    // Every copy modified, 1..=3 modifications on distinct fields with always-applicable typos.
    let mut cfg = GeneratorConfig::new(Preset::Low);
    cfg.entities = 5000;
    cfg.sources.count = 2;
    cfg.sources.overlap = 1.0;
    cfg.duplicates.max = 0;
    cfg.corruption.record_rate = 1.0;
    cfg.corruption.max_modifications = 3;
    for fs in cfg.corruption.fields.values_mut() {
        fs.missing = 0.0;
        fs.weight = 1.0;
        fs.types = BTreeMap::from([(Corruption::Insert, 1.0)]);
    }
    cfg.corruption
        .fields
        .get_mut(&Field::DateOfBirth)
        .unwrap()
        .types = BTreeMap::from([(Corruption::DateDigit, 1.0)]);
    let (s, orig, copy, _) = originals_and_copies(&cfg);
    let mut hist = [0u64; 4];
    for (e, c) in &copy {
        let k = orig[e]
            .iter()
            .zip(c)
            .skip(2)
            .filter(|(a, b)| a != b)
            .count();
        hist[k] += 1;
    }
    assert_eq!(hist[0], 0);
    let n = 5000.0_f64;
    for &h in &hist[1..] {
        let se = (n * (1.0 / 3.0) * (2.0 / 3.0)).sqrt();
        assert!((h as f64 - n / 3.0).abs() < 4.0 * se, "{hist:?}");
    }
    assert_eq!(s.copies_modified, 5000);
}

/// The mean number of duplicates per entity matches each distribution's mean.
#[test]
fn duplicate_distributions_have_the_right_mean() {
    for (dist, mean, max) in [
        (DuplicateDistribution::Poisson, 0.7, 5),
        (DuplicateDistribution::Poisson, 2.0, 30),
        (DuplicateDistribution::Uniform, 2.0, 4),
        (DuplicateDistribution::Zipf, 0.8, 6),
    ] {
        let mut cfg = GeneratorConfig::new(Preset::Medium);
        cfg.entities = 20_000;
        cfg.duplicates.distribution = dist;
        cfg.duplicates.mean = mean;
        cfg.duplicates.max = max;
        let mut out = Vec::new();
        let s = generate(&cfg, lookups(), &mut [&mut out]).unwrap();
        let (_, rows) = parse(&out);
        let mut per: HashMap<&str, u64> = HashMap::new();
        for r in &rows {
            *per.entry(r[1].as_str()).or_default() += 1;
        }
        assert_eq!(per.len(), 20_000);
        let d: Vec<f64> = per.values().map(|&c| (c - 1) as f64).collect();
        let m = d.iter().sum::<f64>() / d.len() as f64;
        let pmf = cfg.duplicates.pmf().unwrap();
        let mu: f64 = pmf.iter().enumerate().map(|(k, p)| k as f64 * p).sum();
        let var: f64 = pmf
            .iter()
            .enumerate()
            .map(|(k, p)| (k as f64 - mu).powi(2) * p)
            .sum();
        let se = (var / d.len() as f64).sqrt();
        assert!((m - mu).abs() < 4.0 * se, "{dist:?}: {m} vs {mu}");
        assert!(d.iter().all(|&x| x <= max as f64));
        assert!((s.duplicates_mean_realised - m).abs() < 1e-12);
        if dist != DuplicateDistribution::Poisson || max == 30 {
            assert!((mu - mean).abs() < 1e-6, "{dist:?} mean {mu}");
        }
        let within = per.values().map(|&c| c * (c - 1) / 2).sum::<u64>();
        assert_eq!(s.true_pairs.within_files, within);
    }
}

/// With three sources and overlap 0.6, 60 % of entities appear in two or more files.
#[test]
fn overlap_share_is_realised() {
    let mut cfg = GeneratorConfig::new(Preset::Medium);
    cfg.entities = 20_000;
    cfg.sources.count = 3;
    cfg.sources.overlap = 0.6;
    let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
    let s = generate(&cfg, lookups(), &mut [&mut a, &mut b, &mut c]).unwrap();
    let mut files_of: HashMap<String, [u64; 3]> = HashMap::new();
    for (i, buf) in [&a, &b, &c].into_iter().enumerate() {
        let (_, rows) = parse(buf);
        let prefix = ["a-", "b-", "c-"][i];
        assert_eq!(rows.len() as u64, s.files[i].records);
        for r in rows {
            assert!(r[0].starts_with(prefix));
            files_of.entry(r[1].clone()).or_default()[i] += 1;
        }
    }
    assert_eq!(files_of.len(), 20_000);
    let multi = files_of
        .values()
        .filter(|v| v.iter().filter(|&&x| x > 0).count() >= 2)
        .count() as f64;
    let n = 20_000.0_f64;
    let se = (n * 0.6 * 0.4).sqrt();
    assert!((multi - 0.6 * n).abs() < 4.0 * se, "{multi}");
    assert!((s.overlap_realised - multi / n).abs() < 1e-12);
    // True pairs within and across files agree with the output.
    let (mut within, mut across) = (0, 0);
    for v in files_of.values() {
        within += v.iter().map(|&x| x * x.saturating_sub(1) / 2).sum::<u64>();
        across += v[0] * v[1] + v[0] * v[2] + v[1] * v[2];
    }
    assert_eq!(s.true_pairs.within_files, within);
    assert_eq!(s.true_pairs.across_files, across);
    assert!(within > 0, "repeats within a source exist");
}

fn no_output(dir: &Path) {
    assert!(
        !dir.exists() || std::fs::read_dir(dir).unwrap().next().is_none(),
        "output left in {}",
        dir.display()
    );
}

#[test]
fn bad_inputs_exit_2_with_a_clear_message_and_no_output() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    let o = out.to_str().unwrap();

    let e = run_err(&[
        "generate",
        "--entities",
        "10",
        "--preset",
        "extreme",
        "--out",
        o,
    ]);
    assert!(e.contains("unknown preset `extreme`"), "{e}");
    no_output(&out);

    let e = run_err(&["generate", "--entities", "0", "--out", o]);
    assert!(e.contains("--entities"), "{e}");
    no_output(&out);

    let cfg = d.path().join("gen.toml");
    std::fs::write(&cfg, "[corruption]\nrecord_rat = 0.5\n").unwrap();
    let e = run_err(&[
        "generate",
        "--entities",
        "10",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        o,
    ]);
    assert!(e.contains("record_rat") && e.contains("gen.toml"), "{e}");
    no_output(&out);

    std::fs::write(&cfg, "[fields.surname]\nmissing = -0.2\n").unwrap();
    let e = run_err(&[
        "generate",
        "--entities",
        "10",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        o,
    ]);
    assert!(e.contains("fields.surname.missing"), "{e}");
    no_output(&out);

    std::fs::write(
        &cfg,
        "[duplicates]\nmean = 1.0\ndistribution = \"uniform\"\n",
    )
    .unwrap();
    let e = run_err(&[
        "generate",
        "--entities",
        "10",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        o,
    ]);
    assert!(e.contains("duplicates.mean"), "{e}");
    no_output(&out);

    let e = run_err(&[
        "generate",
        "--entities",
        "10",
        "--overlap",
        "-0.1",
        "--sources",
        "2",
        "--out",
        o,
    ]);
    assert!(e.contains("--overlap"), "{e}");
    no_output(&out);

    // A malformed lookup line: copy the tables and break line 3 of the surname table.
    let lk = d.path().join("lookups");
    copy_dir(&Lookups::default_dir(), &lk);
    let sn = lk.join("febrl-dsgen/surname-freq.csv");
    let text = std::fs::read_to_string(&sn).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[2] = "abat;2";
    std::fs::write(&sn, lines.join("\n")).unwrap();
    let e = run_err(&[
        "generate",
        "--entities",
        "10",
        "--lookups",
        lk.to_str().unwrap(),
        "--out",
        o,
    ]);
    assert!(e.contains("surname-freq.csv:3:"), "{e}");
    no_output(&out);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// Three low-difficulty sources linked and deduplicated by `fellegi link` with FEBRL-like
/// settings reach F1 > 0.9.
#[test]
fn generated_sources_link_end_to_end() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    run_ok(&[
        "generate",
        "--entities",
        "3000",
        "--preset",
        "low",
        "--sources",
        "3",
        "--overlap",
        "0.6",
        "--seed",
        "5",
        "--out",
        data.to_str().unwrap(),
    ]);
    let settings = d.path().join("settings.toml");
    std::fs::write(
        &settings,
        r#"link_type = "link_and_dedupe"
unique_id = "record_id"
truth = "entity_id"

[[blocking]]
keys = ["given_name"]
[[blocking]]
keys = ["surname"]
[[blocking]]
keys = ["date_of_birth"]
[[blocking]]
keys = ["soc_sec_id"]
[[blocking]]
keys = ["postcode"]

[training]
lambda = { deterministic_rules = [["given_name", "surname"], ["date_of_birth", "soc_sec_id"]], recall = 0.8 }
u = { random_pairs = 200_000 }
em = [{ blocking = ["given_name", "surname"] }, { blocking = ["date_of_birth"] }]

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
column = "state"
use = "exact_match"
[[comparison]]
column = "address_1"
use = "jaro_winkler_at_thresholds"
thresholds = [0.9]
[[comparison]]
column = "soc_sec_id"
use = "levenshtein_at_thresholds"
thresholds = [1, 2]
[[comparison]]
column = "street_number"
use = "exact_match"
"#,
    )
    .unwrap();
    let out = d.path().join("link");
    let inputs: Vec<PathBuf> = ["a", "b", "c"]
        .iter()
        .map(|s| data.join(format!("source_{s}.csv")))
        .collect();
    let o = bin()
        .arg("link")
        .args(
            inputs
                .iter()
                .flat_map(|p| ["--input".as_ref(), p.as_os_str()]),
        )
        .arg("--settings")
        .arg(&settings)
        .arg("--out")
        .arg(&out)
        .arg("-q")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m: serde_json::Value = serde_json::from_slice(&read(&out.join("metrics.json"))).unwrap();
    let g: serde_json::Value = serde_json::from_slice(&read(&data.join("generate.json"))).unwrap();
    assert_eq!(m["true_pairs"], g["summary"]["true_pairs"]["total"]);
    let f1 = m["f1"].as_f64().unwrap();
    assert!(f1 > 0.9, "F1 {f1}");
}
