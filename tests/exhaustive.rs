//! Exhaustive linkage (no blocking): exact pattern counts equal brute-force enumeration of every
//! admissible pair, for link, dedupe and link_and_dedupe; pruned agreement lists equal unpruned
//! ones; models fitted from exhaustive counts equal those fitted from brute-force counts; and an
//! end-to-end `link --exhaustive` run.

use std::io::Write;
use std::path::{Path, PathBuf};

use fellegi::block::total_pairs;
use fellegi::compare::Comparer;
use fellegi::exhaustive::{
    Exhaustive, agreement_list, agreement_list_unpruned, brute_force_counts, exhaustive_counts,
};
use fellegi::model::train::train;
use fellegi::pipeline;
use fellegi::progress::Progress;
use fellegi::settings::{LinkType, Settings};

mod common;

/// A tiny portable generator (SplitMix64).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const SYL: [&str; 16] = [
    "an", "be", "cor", "da", "el", "fin", "gra", "ha", "is", "jo", "ka", "lu", "mar", "ne", "or",
    "pe",
];

fn word(rng: &mut Rng, parts: u64) -> String {
    (0..parts)
        .map(|_| SYL[rng.below(16) as usize])
        .collect::<String>()
        .to_uppercase()
}

fn typo(rng: &mut Rng, s: &str) -> String {
    let mut c: Vec<char> = s.chars().collect();
    if c.is_empty() {
        return s.to_string();
    }
    let i = rng.below(c.len() as u64) as usize;
    match rng.below(3) {
        0 if c.len() > 1 => {
            c.remove(i);
        }
        1 => c.insert(i, (b'A' + rng.below(26) as u8) as char),
        _ => c[i] = (b'A' + rng.below(26) as u8) as char,
    }
    c.into_iter().collect()
}

/// Entities with first/last name, birth year, house number and street; each record copies an
/// entity with fields blanked (5%) or given a typo (10%).
fn entities(rng: &mut Rng, n: usize) -> Vec<[String; 5]> {
    let firsts: Vec<String> = (0..150).map(|_| word(rng, 2)).collect();
    let lasts: Vec<String> = (0..1500).map(|_| word(rng, 3)).collect();
    let streets: Vec<String> = (0..200).map(|_| format!("{} ST", word(rng, 2))).collect();
    (0..n)
        .map(|_| {
            // Skewed choice: frequent names exist.
            let f = (rng.below(150) * rng.below(150) / 150) as usize;
            [
                firsts[f].clone(),
                lasts[rng.below(1500) as usize].clone(),
                (1930 + rng.below(70)).to_string(),
                (1 + rng.below(3000)).to_string(),
                streets[rng.below(200) as usize].clone(),
            ]
        })
        .collect()
}

fn record(rng: &mut Rng, e: &[String; 5]) -> Vec<String> {
    e.iter()
        .map(|v| {
            let u = rng.below(100);
            if u < 5 {
                String::new()
            } else if u < 15 {
                typo(rng, v)
            } else {
                v.clone()
            }
        })
        .collect()
}

/// Writes `sources` CSV files of `per_source` records each drawn from a shared pool of entities.
fn generate(dir: &Path, sources: usize, per_source: usize, seed: u64) -> Vec<PathBuf> {
    let mut rng = Rng(seed);
    let ents = entities(&mut rng, per_source * 3 / 2);
    (0..sources)
        .map(|s| {
            let p = dir.join(format!("src{s}.csv"));
            let mut f = std::fs::File::create(&p).unwrap();
            writeln!(
                f,
                "record_id,entity_id,first_name,last_name,birth_year,house_number,street_name"
            )
            .unwrap();
            for i in 0..per_source {
                let e = rng.below(ents.len() as u64) as usize;
                let r = record(&mut rng, &ents[e]);
                writeln!(f, "r{i},{e},{}", r.join(",")).unwrap();
            }
            p
        })
        .collect()
}

/// Exhaustive settings of `link_type` (u by EM) with the comparisons of `comparisons` (TOML).
fn exhaustive_settings(link_type: &str, comparisons: &str) -> Settings {
    let text = format!(
        "link_type = \"{link_type}\"\nexhaustive = true\n[training]\nu = {{ random_pairs = 0 }}\n{comparisons}"
    );
    Settings::from_toml(&text, "test")
        .unwrap()
        .expanded("test")
        .unwrap()
}

fn generated_settings(link_type: &str) -> Settings {
    exhaustive_settings(
        link_type,
        r#"
[[comparison]]
column = "first_name"
use = "jaro_winkler_at_thresholds"
thresholds = [0.94, 0.88]
jaro_winkler = { boost_threshold = -1 }
[[comparison]]
column = "last_name"
use = "jaro_winkler_at_thresholds"
thresholds = [0.94, 0.88]
jaro_winkler = { boost_threshold = -1 }
[[comparison]]
column = "birth_year"
use = "exact_match"
[[comparison]]
column = "house_number"
use = "levenshtein_at_thresholds"
thresholds = [1]
[[comparison]]
column = "street_name"
use = "jaro_winkler_at_thresholds"
thresholds = [0.9]
"#,
    )
}

fn check_counts(s: &Settings, paths: &[PathBuf]) {
    let p = Progress::default();
    let ds = pipeline::load(s, paths, &p).unwrap();
    let comparer = Comparer::new(&s.comparisons, &ds).unwrap();
    let brute = brute_force_counts(&ds, &comparer, s.link_type);
    let total = total_pairs(s.link_type, &ds.source_sizes());
    assert_eq!(brute.total() as u128, total);
    let fast = exhaustive_counts(&ds, &comparer, s.link_type, &p).unwrap();
    assert_eq!(fast, brute, "{:?}", s.link_type);
    // All sparse, all dense, and the default split give the same counts, with the joint
    // agreements of exact comparisons counted in bulk (by default, or forced) or enumerated.
    for dense_max in [0, 200, usize::MAX] {
        for (bulk, enumerate) in [
            (None, None),
            (Some(0), None),
            (Some(2), None),
            (Some(4), None),
            (Some(4), Some(true)),
            (Some(4), Some(false)),
            (Some(1), Some(true)),
            (None, Some(true)),
        ] {
            let mut ex = Exhaustive::build_with(
                &ds,
                &comparer,
                s.link_type,
                Some(&s.comparisons),
                dense_max,
                &p,
            )
            .unwrap();
            if let Some(b) = bulk {
                ex.bulk_exact(b);
            }
            if enumerate.is_some() {
                ex.enumerate_fuzzy(enumerate);
            }
            let c = ex.counts(&p).unwrap();
            assert_eq!(
                c, brute,
                "{:?} dense_max {dense_max} bulk {bulk:?} enumerate {enumerate:?}",
                s.link_type
            );
            assert_eq!(c.total() as u128, total);
        }
    }
}

/// Settings with four exact comparisons (low and high cardinality, with missing values) and two
/// fuzzy ones: with everything sparse, their joint agreements are counted in bulk.
fn exact_heavy_settings(link_type: &str) -> Settings {
    exhaustive_settings(
        link_type,
        r#"
[[comparison]]
column = "first_name"
use = "jaro_winkler_at_thresholds"
thresholds = [0.94, 0.88]
jaro_winkler = { boost_threshold = -1 }
[[comparison]]
column = "last_name"
use = "exact_match"
[[comparison]]
column = "birth_year"
use = "exact_match"
[[comparison]]
column = "house_number"
use = "exact_match"
[[comparison]]
column = "street_name"
use = "exact_match"
[[comparison]]
column = "last_name"
name = "last_name_typos"
use = "levenshtein_at_thresholds"
thresholds = [1]
"#,
    )
}

#[test]
fn exact_heavy_counts_equal_brute_force() {
    let dir = tempfile::tempdir().unwrap();
    let two = generate(dir.path(), 2, 1500, 21);
    check_counts(&exact_heavy_settings("link"), &two);
    check_counts(&exact_heavy_settings("dedupe"), &two[..1]);
    let sub = dir.path().join("three");
    std::fs::create_dir_all(&sub).unwrap();
    let three = generate(&sub, 3, 600, 23);
    check_counts(&exact_heavy_settings("link_and_dedupe"), &three);
}

#[test]
fn generated_counts_equal_brute_force() {
    let dir = tempfile::tempdir().unwrap();
    let two = generate(dir.path(), 2, 2000, 11);
    check_counts(&generated_settings("link"), &two);
    let one = generate(&dir.path().join("."), 1, 2000, 12);
    check_counts(&generated_settings("dedupe"), &one[..1]);
    let sub = dir.path().join("three");
    std::fs::create_dir_all(&sub).unwrap();
    let three = generate(&sub, 3, 700, 13);
    check_counts(&generated_settings("link_and_dedupe"), &three);
    let mut s = generated_settings("link");
    s.link_type = LinkType::Link;
    check_counts(&s, &three);
}

fn febrl_heads(dir: &Path, n: usize) -> Vec<PathBuf> {
    ["dataset4a.csv", "dataset4b.csv"]
        .iter()
        .map(|f| {
            let text =
                std::fs::read_to_string(common::repo(&format!("datasets/febrl/{f}"))).unwrap();
            let head: Vec<&str> = text.lines().take(n + 1).collect();
            let p = dir.join(f);
            std::fs::write(&p, head.join("\n") + "\n").unwrap();
            p
        })
        .collect()
}

fn febrl_settings() -> Settings {
    let mut s = Settings::from_path(&common::repo("datasets/settings/febrl4.toml"))
        .unwrap()
        .expanded("febrl4.toml")
        .unwrap();
    s.exhaustive = true;
    s
}

#[test]
fn febrl_counts_equal_brute_force() {
    let dir = tempfile::tempdir().unwrap();
    let paths = febrl_heads(dir.path(), 1500);
    check_counts(&febrl_settings(), &paths);
}

#[test]
fn pruned_agreement_lists_equal_unpruned() {
    let dir = tempfile::tempdir().unwrap();
    let paths = generate(dir.path(), 2, 1500, 21);
    let s = generated_settings("link");
    let p = Progress::default();
    let ds = pipeline::load(&s, &paths, &p).unwrap();
    let comparer = Comparer::new(&s.comparisons, &ds).unwrap();
    for (k, c) in comparer.comparisons.iter().enumerate() {
        let jw = s.comparisons[k].jaro_winkler.unwrap_or_default();
        let pruned = agreement_list(&ds, c, Some(&jw));
        let plain = agreement_list_unpruned(&ds, c);
        assert_eq!(pruned, plain, "comparison {}", c.name);
        assert!(!pruned.is_empty());
    }
}

/// The first `n` values of column 0 of a lookup CSV (as `gen_two_sources.py` reads it: comment
/// lines, blank lines and lines without a count skipped), upper-cased.
fn lookup(path: &str, n: usize) -> Vec<String> {
    let text = std::fs::read_to_string(common::repo(path)).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && l.contains(','))
        .filter_map(|l| {
            let mut f = l.split(',');
            let v = f.next()?.trim().to_uppercase();
            f.next()?.trim().parse::<f64>().ok()?;
            (!v.is_empty() && !v.contains('"')).then_some(v)
        })
        .take(n)
        .collect()
}

/// The pruning test on the exhaustive benchmark's own fields and settings
/// (`experiments/exhaustive/settings.toml`: Jaro–Winkler 0.94/0.88 without boost threshold on
/// first name, last name, house number and street): values from the generator's lookup tables
/// (`gen_two_sources.py`), each also with a typo, every value pair compared.
#[test]
fn pruned_lists_equal_unpruned_on_benchmark_fields() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(31);
    let cols = [
        lookup(
            "datasets/generator-lookups/febrl-dsgen/givenname-freq.csv",
            700,
        ),
        lookup(
            "datasets/generator-lookups/gecko-data-en_US/last-name.csv",
            900,
        ),
        (0..700)
            .map(|_| (1 + rng.below(9998)).to_string())
            .collect(),
        lookup(
            "datasets/generator-lookups/febrl-dsgen/address1-freq.csv",
            700,
        ),
    ];
    let n = cols.iter().map(Vec::len).max().unwrap();
    let path = dir.path().join("a.csv");
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(
        f,
        "record_id,entity_id,first_name,last_name,birth_year,house_number,street_name"
    )
    .unwrap();
    for i in 0..2 * n {
        let mut row = Vec::new();
        for c in &cols {
            let v = &c[(i / 2) % c.len()];
            row.push(if i % 2 == 1 {
                typo(&mut rng, v)
            } else {
                v.clone()
            });
        }
        writeln!(
            f,
            "r{i},{i},{},{},1980,{},{}",
            row[0], row[1], row[2], row[3]
        )
        .unwrap();
    }
    drop(f);
    // The dedupe twin of the benchmark's settings (same comparisons), for one file.
    let s = Settings::from_path(&common::repo("experiments/exhaustive/settings_dedupe.toml"))
        .unwrap()
        .expanded("settings_dedupe.toml")
        .unwrap();
    let p = Progress::default();
    let ds = pipeline::load(&s, &[path], &p).unwrap();
    let comparer = Comparer::new(&s.comparisons, &ds).unwrap();
    let mut jw_lists = 0;
    for (k, c) in comparer.comparisons.iter().enumerate() {
        let Some(jw) = s.comparisons[k].jaro_winkler else {
            continue;
        };
        let pruned = agreement_list(&ds, c, Some(&jw));
        let plain = agreement_list_unpruned(&ds, c);
        assert_eq!(pruned, plain, "comparison {}", c.name);
        // Both levels and near-misses occur.
        assert!(pruned.iter().any(|e| e.0 != e.1), "comparison {}", c.name);
        jw_lists += 1;
    }
    assert_eq!(jw_lists, 4);
}

#[test]
fn exhaustive_fit_equals_brute_force_fit() {
    let dir = tempfile::tempdir().unwrap();
    let paths = generate(dir.path(), 2, 1500, 31);
    let s = generated_settings("link");
    let p = Progress::default();
    let ds = pipeline::load(&s, &paths, &p).unwrap();
    let pipeline::Trained { model, fitted } = pipeline::fit(&s, &ds, 5, &p).unwrap();
    let comparer = Comparer::new(&s.comparisons, &ds).unwrap();
    let brute = brute_force_counts(&ds, &comparer, s.link_type);
    let source = pipeline::Candidates {
        all_pairs: Some(&brute),
        ..pipeline::Candidates::new(&s, &ds, &comparer, &p)
    };
    let f2 = train(&s.train_spec(), &comparer, &source, 5, &p).unwrap();
    let mut m2 = s.clone();
    f2.params.write_into(&mut m2);
    m2.fit = Some(f2.fit.clone());
    assert_eq!(
        serde_json::to_string(&model).unwrap(),
        serde_json::to_string(&m2).unwrap()
    );
    assert_eq!(fitted.params.lambda.to_bits(), f2.params.lambda.to_bits());
    assert!(fitted.fit.lambda_method.contains("exhaustive"));

    // link_exhaustive gives the same model, and its pairs are exactly the admissible pairs
    // whose probability reaches the minimum, in (left, right) order.
    let linked = pipeline::link(&s, &ds, pipeline::LinkMethod::Exhaustive, 5, 0.2, &p).unwrap();
    let (model3, cmp3, pairs) = (
        linked.trained.model,
        linked.scored.comparer,
        linked.scored.pairs,
    );
    assert_eq!(
        serde_json::to_string(&model).unwrap(),
        serde_json::to_string(&model3).unwrap()
    );
    let weights = fitted.params.level_weights();
    let prior = fitted.params.prior_weight();
    let mut want = Vec::new();
    let mut lv = vec![0u8; cmp3.len()];
    for l in 0..ds.len() as u32 {
        for r in l + 1..ds.len() as u32 {
            if ds.source_of[l as usize] == ds.source_of[r as usize] {
                continue;
            }
            cmp3.vector(&ds, l, r, &mut lv);
            let w = fellegi::model::predict::pattern_weight(prior, &weights, &lv);
            if fellegi::model::probability(w) >= 0.2 {
                want.push((l, r));
            }
        }
    }
    let got: Vec<(u32, u32)> = pairs
        .left
        .iter()
        .copied()
        .zip(pairs.right.iter().copied())
        .collect();
    assert_eq!(got, want);
    assert_eq!(
        pairs.candidates as u128,
        total_pairs(s.link_type, &ds.source_sizes())
    );
}

#[test]
fn bulk_pattern_pairs_are_streamed() {
    // A very low minimum probability makes patterns without any sparse agreement qualify: their
    // pairs must be written too, with a note.
    let dir = tempfile::tempdir().unwrap();
    let paths = generate(dir.path(), 2, 300, 41);
    let s = generated_settings("link");
    let p = Progress::default();
    let ds = pipeline::load(&s, &paths, &p).unwrap();
    let linked = pipeline::link(&s, &ds, pipeline::LinkMethod::Exhaustive, 5, 0.0, &p).unwrap();
    let (fitted, cmp, pairs, notes) = (
        linked.trained.fitted,
        linked.scored.comparer,
        linked.scored.pairs,
        linked.scored.notes,
    );
    assert!(!notes.is_empty());
    let total = total_pairs(s.link_type, &ds.source_sizes());
    assert_eq!(pairs.len() as u128, total);
    let mut lv = vec![0u8; cmp.len()];
    let mut k = 0;
    for l in 0..ds.len() as u32 {
        for r in l + 1..ds.len() as u32 {
            if ds.source_of[l as usize] == ds.source_of[r as usize] {
                continue;
            }
            cmp.vector(&ds, l, r, &mut lv);
            assert_eq!((pairs.left[k], pairs.right[k]), (l, r));
            assert_eq!(pairs.levels_of(k), &lv[..]);
            k += 1;
        }
    }
    let _ = fitted;
}

#[test]
fn cli_link_exhaustive_on_febrl_heads() {
    let wd = tempfile::tempdir().unwrap();
    let paths = febrl_heads(wd.path(), 1000);
    let settings = wd.path().join("s.toml");
    std::fs::write(
        &settings,
        r#"
link_type = "link"
[training]
u = { random_pairs = 0 }
[[comparison]]
column = "given_name"
use = "jaro_winkler_at_thresholds"
thresholds = [0.94, 0.88]
jaro_winkler = { boost_threshold = -1 }
[[comparison]]
column = "surname"
use = "jaro_winkler_at_thresholds"
thresholds = [0.94, 0.88]
jaro_winkler = { boost_threshold = -1 }
[[comparison]]
column = "date_of_birth"
use = "levenshtein_at_thresholds"
thresholds = [1]
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
thresholds = [1]
"#,
    )
    .unwrap();
    let out = wd.path().join("out");
    let o = std::process::Command::new(common::BIN)
        .args([
            "link",
            "--exhaustive",
            "-q",
            "--threshold",
            "0.85",
            "--min-probability",
            "0.5",
        ])
        .arg("--input")
        .arg(&paths[0])
        .arg("--input")
        .arg(&paths[1])
        .arg("--settings")
        .arg(&settings)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let f1 = m["f1"].as_f64().unwrap();
    assert!(f1 > 0.95, "F1 {f1}");
    assert_eq!(m["candidate_pairs"].as_u64().unwrap(), 1_000_000);
    let model = std::fs::read_to_string(out.join("model.json")).unwrap();
    assert!(model.contains("\"exhaustive\": true"));
    // `fellegi explain` on the first pair written: its final weight is the one in pairs.csv.
    let pairs = std::fs::read_to_string(out.join("pairs.csv")).unwrap();
    let header: Vec<&str> = pairs.lines().next().unwrap().split(',').collect();
    let first: Vec<&str> = pairs.lines().nth(1).unwrap().split(',').collect();
    let col = |name: &str| first[header.iter().position(|h| *h == name).unwrap()];
    let o = std::process::Command::new(common::BIN)
        .args(["explain", "-q", "--model"])
        .arg(out.join("model.json"))
        .arg("--input")
        .arg(&paths[0])
        .arg("--input")
        .arg(&paths[1])
        .arg("--pair")
        .arg(format!("{}:{}", col("source_l"), col("id_l")))
        .arg(format!("{}:{}", col("source_r"), col("id_r")))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    let w: f64 = col("match_weight").parse().unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("final match weight"))
        .unwrap();
    let shown: f64 = line.split_whitespace().last().unwrap().parse().unwrap();
    assert!(
        (shown - w).abs() < 0.006,
        "explain says {shown}, pairs.csv {w}"
    );
}

/// Scoring writes exactly the admissible pairs whose probability reaches the minimum, with their
/// true levels, whatever the split into dense and sparse comparisons, for link, dedupe and
/// link_and_dedupe, at minimum probabilities that exercise the one-, two-or-more- and
/// no-sparse-agreement paths.
#[test]
fn scoring_equals_brute_force_for_every_split() {
    let dir = tempfile::tempdir().unwrap();
    let two = generate(dir.path(), 2, 400, 51);
    let sub = dir.path().join("three");
    std::fs::create_dir_all(&sub).unwrap();
    let three = generate(&sub, 3, 250, 52);
    let cases = [
        (generated_settings("link"), two.clone()),
        (generated_settings("dedupe"), two[..1].to_vec()),
        (generated_settings("link_and_dedupe"), three.clone()),
        (exact_heavy_settings("link"), two.clone()),
        (exact_heavy_settings("link_and_dedupe"), three),
    ];
    let p = Progress::default();
    for (s, paths) in &cases {
        let ds = pipeline::load(s, paths, &p).unwrap();
        let fitted = pipeline::fit(s, &ds, 5, &p).unwrap().fitted;
        let comparer = Comparer::new(&s.comparisons, &ds).unwrap();
        let weights = fitted.params.level_weights();
        let prior = fitted.params.prior_weight();
        let mut lv = vec![0u8; comparer.len()];
        let mut all = Vec::new();
        for l in 0..ds.len() as u32 {
            for r in l + 1..ds.len() as u32 {
                if !s
                    .link_type
                    .admits(ds.source_of[l as usize], ds.source_of[r as usize])
                {
                    continue;
                }
                comparer.vector(&ds, l, r, &mut lv);
                let w = fellegi::model::predict::pattern_weight(prior, &weights, &lv);
                all.push((l, r, fellegi::model::probability(w), lv.clone()));
            }
        }
        // Pairs kept from counting (default), none kept (joined again), or too many to keep;
        // exact joint agreements counted in bulk by default, forced, or enumerated.
        for (dense_max, keep, bulk, enumerate) in [
            (0, usize::MAX, None, None),
            (0, usize::MAX, Some(4), None),
            (0, usize::MAX, Some(4), Some(true)),
            (0, 0, Some(4), Some(true)),
            (0, 0, Some(4), None),
            (0, usize::MAX, Some(0), None),
            (200, usize::MAX, None, None),
            (200, usize::MAX, Some(2), Some(true)),
            (usize::MAX, usize::MAX, None, None),
            (200, 0, None, None),
            (200, 3, Some(3), Some(true)),
        ] {
            let mut ex = Exhaustive::build_with(
                &ds,
                &comparer,
                s.link_type,
                Some(&s.comparisons),
                dense_max,
                &p,
            )
            .unwrap();
            if keep != usize::MAX {
                ex.keep_touched(keep);
            }
            if let Some(b) = bulk {
                ex.bulk_exact(b);
            }
            if enumerate.is_some() {
                ex.enumerate_fuzzy(enumerate);
            }
            let counts = ex.counts(&p).unwrap();
            for min_p in [1e-9, 0.01, 0.5, 0.9] {
                let (pairs, _) = ex.score(&counts, &fitted.params, min_p, &p);
                let want: Vec<(u32, u32, Vec<u8>)> = all
                    .iter()
                    .filter(|x| x.2 >= min_p)
                    .map(|x| (x.0, x.1, x.3.clone()))
                    .collect();
                let got: Vec<(u32, u32, Vec<u8>)> = (0..pairs.len())
                    .map(|k| (pairs.left[k], pairs.right[k], pairs.levels_of(k).to_vec()))
                    .collect();
                assert_eq!(
                    got.len(),
                    want.len(),
                    "{:?} dense_max {dense_max} keep {keep} bulk {bulk:?} enumerate {enumerate:?} min_p {min_p}",
                    s.link_type
                );
                assert_eq!(
                    got, want,
                    "{:?} dense_max {dense_max} keep {keep} bulk {bulk:?} enumerate {enumerate:?} min_p {min_p}",
                    s.link_type
                );
            }
        }
    }
}

/// Levenshtein agreement lists equal the plain ones on both filters: seven-digit codes at k = 2
/// (few deletion variants per value: the deletion-neighbourhood filter) and long street names at
/// k = 2 (many variants: the segment filter), with short values and typos mixed in.
#[test]
fn levenshtein_lists_equal_unpruned_on_both_filters() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(77);
    let streets = lookup(
        "datasets/generator-lookups/febrl-dsgen/address1-freq.csv",
        600,
    );
    let path = dir.path().join("a.csv");
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "record_id,code,street").unwrap();
    for i in 0..1500 {
        let code = match i % 10 {
            0 => (rng.below(90)).to_string(),
            _ => format!("{:07}", rng.below(3_000_000)),
        };
        let code = if i % 3 == 0 {
            typo(&mut rng, &code)
        } else {
            code
        };
        let street = &streets[i % streets.len()];
        let street = if i % 2 == 0 {
            typo(&mut rng, street)
        } else {
            street.clone()
        };
        writeln!(f, "r{i},{code},{street}").unwrap();
    }
    drop(f);
    let s = Settings::from_toml(
        r#"
truth = ""
[[comparison]]
column = "code"
use = "levenshtein_at_thresholds"
thresholds = [1, 2]
[[comparison]]
column = "street"
use = "levenshtein_at_thresholds"
thresholds = [1, 2]
"#,
        "test",
    )
    .unwrap()
    .expanded("test")
    .unwrap();
    let p = Progress::default();
    let ds = pipeline::load(&s, &[path], &p).unwrap();
    let comparer = Comparer::new(&s.comparisons, &ds).unwrap();
    for c in &comparer.comparisons {
        let pruned = agreement_list(&ds, c, None);
        let plain = agreement_list_unpruned(&ds, c);
        assert_eq!(pruned, plain, "comparison {}", c.name);
        assert!(
            pruned.iter().any(|e| e.0 != e.1 && e.2 > 1),
            "comparison {}",
            c.name
        );
    }
}

/// Dates that do not parse are compared as missing in exhaustive runs too: the exact counts
/// equal brute force on a date comparison where some values are unparsable (issue 19).
#[test]
fn unparsed_dates_count_as_missing_exhaustively() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(91);
    let mut paths = Vec::new();
    for s in 0..2 {
        let p = dir.path().join(format!("s{s}.csv"));
        let mut f = std::fs::File::create(&p).unwrap();
        writeln!(f, "record_id,name,dob").unwrap();
        for i in 0..300 {
            let dob = match rng.below(10) {
                0 => String::new(),
                1 => format!("19{:02}13{:02}", rng.below(99), 1 + rng.below(28)),
                2 => "z0070602".to_string(),
                _ => format!(
                    "19{:02}0{}{:02}",
                    rng.below(99),
                    1 + rng.below(9),
                    1 + rng.below(28)
                ),
            };
            writeln!(f, "r{i},{},{dob}", word(&mut rng, 2)).unwrap();
        }
        paths.push(p);
    }
    let s = Settings::from_toml(
        r#"
link_type = "link"
truth = ""
exhaustive = true
max_unparsed = 1.0
[training]
u = { random_pairs = 0 }
[[comparison]]
column = "name"
use = "jaro_winkler_at_thresholds"
thresholds = [0.9]
[[comparison]]
column = "dob"
use = "date_difference_at_thresholds"
thresholds = [30, 365]
date_format = "%Y%m%d"
"#,
        "test",
    )
    .unwrap()
    .expanded("test")
    .unwrap();
    let p = Progress::default();
    let ds = pipeline::load(&s, &paths, &p).unwrap();
    let comparer = Comparer::new(&s.comparisons, &ds).unwrap();
    assert!(
        (0..ds.len() as u32).any(|r| comparer.comparisons[1]
            .is_unparsed(ds.columns[comparer.comparisons[1].column].values[r as usize])),
        "the data must hold unparsed dates"
    );
    check_counts(&s, &paths);
}
