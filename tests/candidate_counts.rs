//! Counts read from the cached prediction candidates (EM sessions and deterministic-rule pair
//! counts, `CandidatePatterns::count_agreeing`) equal those of a blocker built for the session
//! or rule alone, for every link type, with overlapping, multi-key and derived rules.

use std::path::PathBuf;

use fellegi::block::{Blocker, KeySpec, count_pairs, rule_has_pair};
use fellegi::compare::candidates::{CandidatePatterns, covers};
use fellegi::compare::{Comparer, count_patterns};
use fellegi::pipeline;
use fellegi::progress::Progress;
use fellegi::settings::Settings;

fn repo(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(p)
}

const SETTINGS: &str = r#"
link_type = "LINK"
unique_id = "record_id"

[[blocking]]
keys = ["surname", { column = "given_name", prefix = 2 }]
[[blocking]]
keys = ["postcode"]
[[blocking]]
keys = ["date_of_birth", "suburb"]
[[blocking]]
keys = [{ column = "surname", encode = "soundex" }, "state"]

[[comparison]]
column = "given_name"
use = "jaro_winkler_at_thresholds"
thresholds = [0.9]

[[comparison]]
column = "surname"
use = "exact_match"

[[comparison]]
column = "suburb"
use = "exact_match"
"#;

fn keys(toml: &str) -> Vec<KeySpec> {
    let s = Settings::from_toml(
        &format!("[[blocking]]\nkeys = {toml}\n[[comparison]]\ncolumn = \"surname\"\nuse = \"exact_match\"\n"),
        "t",
    )
    .unwrap();
    s.blocking[0].keys.clone()
}

#[test]
fn cached_counts_equal_fresh_blockers() {
    let sets: Vec<Vec<KeySpec>> = [
        // Each prediction rule on its own, then supersets of one, of two and of a later one.
        r#"["surname", { column = "given_name", prefix = 2 }]"#,
        r#"["postcode"]"#,
        r#"["date_of_birth", "suburb"]"#,
        r#"["postcode", "surname"]"#,
        r#"["surname", { column = "given_name", prefix = 2 }, "postcode"]"#,
        r#"["date_of_birth", "suburb", "given_name"]"#,
        r#"["state", { column = "surname", encode = "soundex" }, "suburb"]"#,
    ]
    .iter()
    .map(|t| keys(t))
    .collect();
    let p = Progress::default();
    for (link_type, files) in [
        (
            "link",
            vec![
                "datasets/febrl/dataset4a.csv",
                "datasets/febrl/dataset4b.csv",
            ],
        ),
        ("dedupe", vec!["datasets/febrl/dataset3.csv"]),
        (
            "link_and_dedupe",
            vec![
                "datasets/febrl/dataset4a.csv",
                "datasets/febrl/dataset4b.csv",
            ],
        ),
    ] {
        let s = Settings::from_toml(&SETTINGS.replace("LINK", link_type), "t")
            .unwrap()
            .expanded("t")
            .unwrap();
        let paths: Vec<PathBuf> = files.iter().map(|f| repo(f)).collect();
        let ds = pipeline::load(&s, &paths, &p).unwrap();
        let comparer = Comparer::new(&s.comparisons, &ds).unwrap();
        let rules: Vec<_> = s.blocking.iter().map(|b| b.keys.clone()).collect();
        let cache = CandidatePatterns::build(
            &ds,
            &comparer,
            Blocker::new(&ds, &rules, s.link_type).unwrap(),
            &p,
        );
        // Patterns numbered directly or hashed: the same ids for the same pairs.
        let hashed = CandidatePatterns::build_numbering(
            &ds,
            &comparer,
            Blocker::new(&ds, &rules, s.link_type).unwrap(),
            &p,
            0,
        );
        assert_eq!(hashed.patterns, cache.patterns, "{link_type}");
        assert!(cache.patterns.len() > 10, "{link_type}");
        let listing = |c: &CandidatePatterns| {
            c.map_units(
                |v: &mut Vec<(u32, u32, u32)>, l, r, id| v.push((l, r, id)),
                Vec::new,
            )
        };
        assert_eq!(listing(&hashed), listing(&cache), "{link_type}");
        for set in &sets {
            assert!(covers(&rules, set), "{set:?}");
            let got = cache.counts_within(&ds, set).unwrap();
            let fresh = Blocker::new(&ds, std::slice::from_ref(set), s.link_type).unwrap();
            let want = count_patterns(&ds, &comparer, &fresh, &p, "");
            assert!(want.total() > 0, "{link_type} {set:?}: no pairs");
            assert_eq!(got.patterns, want.patterns, "{link_type} {set:?}");
            assert_eq!(got.counts, want.counts, "{link_type} {set:?}");
        }
        // Whether a rule gives any pair at all (the warning for an empty deterministic rule;
        // src/block/mod.rs tests the rules that give none).
        let mut outcomes = Vec::new();
        for set in sets.iter().chain(&[keys(
            r#"["date_of_birth", "given_name", "surname", "postcode", "suburb", "state"]"#,
        )]) {
            let n =
                count_pairs(&Blocker::new(&ds, std::slice::from_ref(set), s.link_type).unwrap());
            let has = rule_has_pair(&ds, set, s.link_type).unwrap();
            assert_eq!(has, n > 0, "{link_type} {set:?}");
            outcomes.push(has);
        }
        assert!(outcomes.contains(&true), "{link_type}");
        // Pairs agreeing on any of several sets (λ's deterministic rules), overlapping or not.
        for pick in [&[0usize, 3][..], &[4, 5, 6], &[1, 2, 3, 6], &[5]] {
            let chosen: Vec<Vec<KeySpec>> = pick.iter().map(|&i| sets[i].clone()).collect();
            let got: u64 = cache.count_agreeing(&ds, &chosen).unwrap().iter().sum();
            let want = count_pairs(&Blocker::new(&ds, &chosen, s.link_type).unwrap());
            assert!(want > 0);
            assert_eq!(got, want, "{link_type} {pick:?}");
        }
    }
}
