//! Blocking: the candidate set equals brute-force enumeration of pairs that agree on some rule,
//! each pair once, for every link type over three sources.

use std::collections::BTreeSet;

use fellegi::block::{Blocker, total_pairs};
use fellegi::data::{Column, Dataset, MISSING, Source, StringList};
use fellegi::settings::{DerivedKey, KeySpec, LinkType};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

/// A random dataset: `n` records over three sources, columns `a` (5 values), `b` (7 values,
/// 20 % missing) and `name` (words for prefix keys).
fn dataset(n: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let words = ["smith", "smyth", "jones", "johns", "brown", "braun", "lee"];
    let mut ds = Dataset::default();
    let mut ids = StringList::default();
    let mut a = Column {
        name: "a".into(),
        values: vec![],
        dict: (0..5).map(|i| format!("a{i}")).collect(),
    };
    let mut b = Column {
        name: "b".into(),
        values: vec![],
        dict: (0..7).map(|i| format!("b{i}")).collect(),
    };
    let mut w = Column {
        name: "name".into(),
        values: vec![],
        dict: words.iter().map(|s| s.to_string()).collect(),
    };
    for s in 0..3u16 {
        let start = ds.source_of.len();
        let len = n / 3;
        for i in 0..len {
            ids.push(&format!("{i}"));
            ds.source_of.push(s);
            a.values.push(rng.random_range(0..5u32));
            b.values.push(if rng.random_range(0..5u32) == 0 {
                MISSING
            } else {
                rng.random_range(0..7u32)
            });
            w.values.push(rng.random_range(0..words.len() as u32));
        }
        ds.sources.push(Source {
            name: format!("s{s}"),
            path: format!("s{s}.csv").into(),
            sha256: String::new(),
            start,
            len,
        });
    }
    ds.ids = ids;
    ds.columns = vec![a, b, w];
    ds
}

fn agrees(ds: &Dataset, rule: &[KeySpec], l: usize, r: usize) -> bool {
    rule.iter().all(|k| {
        let c = &ds.columns[ds.column_index(k.column()).unwrap()];
        let (x, y) = (c.values[l], c.values[r]);
        if x == MISSING || y == MISSING {
            return false;
        }
        match k {
            KeySpec::Column(_) => x == y,
            KeySpec::Derived(d) => {
                let p = d.prefix.unwrap_or(usize::MAX);
                let f = |v: u32| c.dict[v as usize].chars().take(p).collect::<String>();
                f(x) == f(y)
            }
        }
    })
}

#[test]
fn union_of_rules_equals_brute_force_for_every_link_type() {
    let rules = vec![
        vec![KeySpec::Column("a".into()), KeySpec::Column("b".into())],
        vec![KeySpec::Derived(DerivedKey {
            column: "name".into(),
            encode: None,
            prefix: Some(3),
        })],
        vec![KeySpec::Column("b".into())],
    ];
    for seed in 0..3 {
        let ds = dataset(300, seed);
        for lt in [LinkType::Link, LinkType::LinkAndDedupe] {
            let blocker = Blocker::new(&ds, &rules, lt).unwrap();
            let mut got = Vec::new();
            for u in blocker.work_units() {
                blocker.for_each_pair(&u, |l, r| got.push((l, r)));
            }
            let set: BTreeSet<(u32, u32)> = got.iter().copied().collect();
            assert_eq!(
                set.len(),
                got.len(),
                "duplicate candidate pairs ({lt:?}, seed {seed})"
            );
            let mut want = BTreeSet::new();
            for l in 0..ds.len() {
                for r in l + 1..ds.len() {
                    if lt.admits(ds.source_of[l], ds.source_of[r])
                        && rules.iter().any(|rule| agrees(&ds, rule, l, r))
                    {
                        want.insert((l as u32, r as u32));
                    }
                }
            }
            assert_eq!(set, want, "{lt:?} seed {seed}");
            assert!(got.iter().all(|&(l, r)| l < r));
        }
    }
}

#[test]
fn work_units_do_not_depend_on_big_groups_being_split() {
    // One huge group (everyone shares `a` when a has one value) is split by rows; the pairs
    // must still be all pairs, once.
    let mut ds = dataset(900, 7);
    ds.columns[0].values.iter_mut().for_each(|v| *v = 0);
    let blocker = Blocker::new(
        &ds,
        &[vec![KeySpec::Column("a".into())]],
        LinkType::LinkAndDedupe,
    )
    .unwrap();
    let units = blocker.work_units();
    assert!(
        units.len() > 1,
        "a 900-record group should be split into several units"
    );
    let mut n = 0u64;
    let mut seen = BTreeSet::new();
    for u in &units {
        blocker.for_each_pair(u, |l, r| {
            n += 1;
            seen.insert((l, r));
        });
    }
    assert_eq!(n, 900 * 899 / 2);
    assert_eq!(seen.len() as u64, n);
}

#[test]
fn total_pairs_by_link_type() {
    assert_eq!(total_pairs(LinkType::Dedupe, &[5]), 10);
    assert_eq!(
        total_pairs(LinkType::Link, &[2, 3, 4]),
        2 * 3 + 2 * 4 + 3 * 4
    );
    assert_eq!(total_pairs(LinkType::LinkAndDedupe, &[2, 3, 4]), 36);
}
