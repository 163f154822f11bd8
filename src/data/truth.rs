//! Ground truth: the true pairs a link type admits.

use super::{LinkType, MISSING};

/// Calls `f(l, r)` with `l < r` for every true pair the link type admits (records with the same
/// truth value, [`MISSING`] matching nothing; `source_of[r]` is record r's source), entity by
/// entity in ascending truth value, each entity's records in ascending order.
pub fn for_each_true_pair(
    truth: &[u32],
    source_of: &[u16],
    link_type: LinkType,
    mut f: impl FnMut(u32, u32),
) {
    let mut order: Vec<u32> = (0..truth.len() as u32)
        .filter(|&r| truth[r as usize] != MISSING)
        .collect();
    order.sort_unstable_by_key(|&r| (truth[r as usize], r));
    for group in order.chunk_by(|&a, &b| truth[a as usize] == truth[b as usize]) {
        for (i, &l) in group.iter().enumerate() {
            for &r in &group[i + 1..] {
                if link_type.admits(source_of[l as usize], source_of[r as usize]) {
                    f(l, r);
                }
            }
        }
    }
}

/// Number of true pairs the link type admits: pairs of records with the same truth value
/// (`truth[r]`, [`MISSING`] matching nothing), cross-source only for [`LinkType::Link`];
/// `source_of[r]` is record r's source index among `n_sources`.
pub fn count_true_pairs(
    truth: &[u32],
    source_of: &[u16],
    n_sources: usize,
    link_type: LinkType,
) -> u64 {
    // Per entity: records per source.
    let n_ent = truth
        .iter()
        .filter(|&&t| t != MISSING)
        .map(|&t| t as usize + 1)
        .max()
        .unwrap_or(0);
    let mut total = vec![0u64; n_ent];
    for &t in truth {
        if t != MISSING {
            total[t as usize] += 1;
        }
    }
    let all: u64 = total.iter().map(|&n| n * n.saturating_sub(1) / 2).sum();
    match link_type {
        LinkType::Dedupe | LinkType::LinkAndDedupe => all,
        LinkType::Link => {
            let mut per = vec![0u64; n_ent * n_sources.max(1)];
            for (&t, &s) in truth.iter().zip(source_of) {
                if t != MISSING {
                    per[t as usize * n_sources + s as usize] += 1;
                }
            }
            let within: u64 = per.iter().map(|&n| n * n.saturating_sub(1) / 2).sum();
            all - within
        }
    }
}
