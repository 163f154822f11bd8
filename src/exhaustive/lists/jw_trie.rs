//! The Jaro–Winkler path of [`agreement_list`](super::agreement_list), for comparisons whose
//! levels are null, exact, Jaro–Winkler ≥ t… and else: value pairs split by common-prefix depth,
//! and joins of character-token tries pruned by a token-overlap bound on the Jaro–Winkler
//! similarity (Winkler, "String comparator metrics and enhanced decision rules in the
//! Fellegi-Sunter model of record linkage", Proceedings of the Section on Survey Research
//! Methods, American Statistical Association, 1990).
//!
//! The algorithm is described at [`jw_agreement_list`]. Cost, for `d` values of `T` characters
//! in all: sorting the character tokens, `O(T log T)`, and the values by length and tokens,
//! `O(d log d)` comparisons; building one [`PrefixForest`] (hash grouping and tries) per prefix
//! depth `0..=top`, `top ≤` [`MAX_PREFIX_DEPTH`], `O(T)` each; then the trie joins, whose work
//! follows the number of value pairs that share enough tokens rather than the number of pairs. A
//! join that needs more than `max(pairs / work_div, work_min)` states ([`Tuning`]) falls back to
//! comparing every pair of its two tries on the token masks, so the worst case stays
//! `O(d²)` mask tests; plus one comparator call per value pair found.

use rayon::prelude::*;

use super::{Agreement, VALUE_CHUNK, sorted_union, special_levels};
use crate::compare::Comparison;
use crate::compare::jaro::JwParams;
use crate::compare::{JwConfig, Predicate};
use crate::data::Dataset;
use rustc_hash::FxHashMap;

/// Tuning of [`jw_agreement_list`] (the result does not depend on it).
#[derive(Clone, Copy, Debug)]
pub(super) struct Tuning {
    /// Trie pairs with at most this many value pairs are compared pair by pair.
    small_join: usize,
    /// Joins run in parallel on chunks of about this many x values.
    chunk: usize,
    /// A join gives up for comparing pair by pair past `max(pairs / work_div, work_min)` states.
    work_div: usize,
    work_min: usize,
}

/// The tuning of [`agreement_list`](super::agreement_list).
pub(super) const TUNING: Tuning = Tuning {
    small_join: 16384,
    chunk: VALUE_CHUNK,
    work_div: 16,
    work_min: 1024,
};

/// The number of common elements of two ascending lists.
fn overlap(a: &[u32], b: &[u32]) -> usize {
    let (mut i, mut j, mut m) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                m += 1;
                i += 1;
                j += 1;
            }
        }
    }
    m
}

/// `need` entry of a length pair at which no value pair can reach the lowest threshold.
const NEVER: u32 = u32::MAX;

/// Deepest prefix depth (common-prefix length, in characters) by which value pairs are split
/// (see [`jw_agreement_list`]).
const MAX_PREFIX_DEPTH: usize = 6;

/// Upper bound on the Jaro–Winkler similarity ([`crate::compare::jaro::jaro_winkler`]) of two
/// strings of `la`, `lb ≥ 1` characters whose multisets of characters share at most `u`
/// characters (`U = Σ_c min(count_a(c), count_b(c))`) and whose common prefix, capped at
/// `p.max_prefix`, is at most `p.max_prefix`. Exact reasoning: the number of matching characters
/// `m ≤ U` and transpositions only lower Jaro, so `jaro ≤ (U/la + U/lb + 1)/3`, computed with the
/// comparator's floating-point operations so that it holds bit for bit; a common prefix of `l`
/// characters shares `l` characters, so `l ≤ min(max_prefix, la, lb, U)`; the boost is monotone
/// in Jaro and in `l`, and applies only when Jaro exceeds the boost threshold (always without
/// one). Non-decreasing in `u`. Callers compare it with a margin for the rounding of the boost.
fn jw_bound(u: usize, la: usize, lb: usize, p: &JwParams) -> f64 {
    let j = if u == 0 {
        0.0
    } else {
        let f = u as f64;
        (f / la as f64 + f / lb as f64 + 1.0) / 3.0
    };
    if let Some(th) = p.boost_threshold {
        if j.partial_cmp(&th) != Some(std::cmp::Ordering::Greater) {
            return j;
        }
    }
    let l = p.max_prefix.min(la).min(lb).min(u);
    let lp = l as f64 * p.prefix_scale;
    let lp = if lp.is_nan() || lp <= 0.0 {
        0.0
    } else {
        lp.min(1.0)
    };
    j.max((lp + (1.0 - lp) * j).min(1.0))
}

/// A value's characters as tokens (character, occurrence number), e.g. "ANNA" → {A#0, A#1, N#0,
/// N#1}, packed as `char << 8 | occurrence` (lengths stay below 255). The token overlap of two
/// values is then `Σ_c min(count_a(c), count_b(c))`.
fn char_tokens(s: &str) -> Vec<u64> {
    let mut cs: Vec<char> = s.chars().collect();
    cs.sort_unstable();
    let mut out = Vec::with_capacity(cs.len());
    let mut occ = 0u64;
    for (k, &ch) in cs.iter().enumerate() {
        occ = if k > 0 && cs[k - 1] == ch { occ + 1 } else { 0 };
        out.push(u64::from(u32::from(ch)) << 8 | occ);
    }
    out
}

/// Every value's token ranks, ascending (CSR), and their tracked bits ([`rank_bit`]).
struct Tokens {
    off: Vec<usize>,
    ranks: Vec<u32>,
    masks: Vec<u128>,
}

impl Tokens {
    fn of(&self, v: u32) -> &[u32] {
        &self.ranks[self.off[v as usize]..self.off[v as usize + 1]]
    }
}

/// Bit of a token rank in a [`Node`] mask; ranks from 128 on are not tracked.
#[inline]
fn rank_bit(r: u32) -> u128 {
    if r < 128 { 1u128 << r } else { 0 }
}

/// Bits of the ranks above `last` (all of them for [`NO_TOKEN`]).
#[inline]
fn bits_above(last: u32) -> u128 {
    match last {
        NO_TOKEN => !0,
        r if r >= 127 => 0,
        r => !((1u128 << (r + 1)) - 1),
    }
}

/// No token processed yet.
const NO_TOKEN: u32 = u32::MAX;

/// A trie node: the tracked tokens of its subtree, on some path (`any`) and on every path (`all`)
/// through it, its own included; the most untracked tokens on a path through it (`big`); its
/// children `nodes[kid_lo..kid_hi]` (sorted by token); the values of its subtree `vals[vlo..vhi]`;
/// the character after the forest's prefix shared by all these values, or [`MIXED`].
#[derive(Clone, Copy, Default)]
struct Node {
    any: u128,
    all: u128,
    kid_lo: u32,
    kid_hi: u32,
    vlo: u32,
    vhi: u32,
    next_char: u32,
    big: u8,
    /// Whether the subtree holds one leaf.
    chain: bool,
}

/// [`Node::next_char`] when the values differ there, or some value ends there (pairs never
/// deferred), and at the top prefix depth (not used).
const MIXED: u32 = u32::MAX - 1;
/// [`Node::next_char`] before any value.
const UNSET: u32 = u32::MAX - 2;

/// The common [`Node::next_char`] of two sets of values.
#[inline]
fn merge_next_char(a: u32, b: u32) -> u32 {
    if a == UNSET || a == b {
        b
    } else if b == UNSET {
        a
    } else {
        MIXED
    }
}

/// The values of one length in one prefix group of a [`PrefixForest`], as a trie of their token
/// sequences: their length and the trie's root in [`PrefixForest::nodes`] (a trie only compared
/// pair by pair is its root alone).
#[derive(Clone, Copy)]
struct Trie {
    /// Length of the values (in characters, = tokens).
    len: usize,
    /// The root node (no token).
    root: usize,
}

/// The tries of prefix depth `l`, for the value pairs with a common prefix of `l` characters:
/// the values of length ≥ `l` grouped by their first `l` characters (a prefix group), each group
/// by length, each length as a [`Trie`] over the values' token ranks (ascending). The nodes of
/// every trie are in [`PrefixForest::nodes`]; the children of a node are contiguous and sorted by
/// token.
#[derive(Default)]
struct PrefixForest {
    nodes: Vec<Node>,
    /// The token of each node (0 for roots).
    tok: Vec<u32>,
    vals: Vec<u32>,
    /// The tracked tokens of each of `vals`.
    vmask: Vec<u128>,
    /// The character after the forest's prefix of each of `vals` (as [`Node::next_char`]).
    vnext_char: Vec<u32>,
    tries: Vec<Trie>,
    /// Tries of group `g`: `tries[group_off[g]..group_off[g + 1]]`, by length.
    group_off: Vec<usize>,
}

impl PrefixForest {
    /// `sorted`: every value, by length, then tokens, then id; `split`: whether pairs must
    /// differ after the prefix (below the top prefix depth).
    fn build(
        l: usize,
        split: bool,
        small_join: usize,
        sorted: &[u32],
        lens: &[usize],
        head: &[[u32; MAX_PREFIX_DEPTH]],
        toks: &Tokens,
    ) -> PrefixForest {
        let toks_of = |v: u32| toks.of(v);
        // The values of length ≥ l by group (first l characters; groups in order of first
        // appearance), then as in `sorted`: a stable counting sort.
        let mut ids: FxHashMap<&[u32], u32> = FxHashMap::default();
        let mut group: Vec<(u32, u32)> = Vec::with_capacity(sorted.len());
        for &v in sorted {
            if lens[v as usize] >= l {
                let n = ids.len() as u32;
                group.push((*ids.entry(&head[v as usize][..l]).or_insert(n), v));
            }
        }
        let mut start = vec![0usize; ids.len() + 1];
        for &(g, _) in &group {
            start[g as usize + 1] += 1;
        }
        for g in 0..ids.len() {
            start[g + 1] += start[g];
        }
        let mut members = vec![0u32; group.len()];
        for &(g, v) in &group {
            members[start[g as usize]] = v;
            start[g as usize] += 1;
        }
        drop(group);
        // The character after the prefix; none (MIXED: pairs never deferred) at the top prefix
        // depth and past the end, where a pair's common prefix cannot go on.
        let next_of = |v: u32| {
            if split && lens[v as usize] > l {
                head[v as usize][l]
            } else {
                MIXED
            }
        };
        let mut pf = PrefixForest::default();
        pf.group_off.push(0);
        // One trie in preorder (token, subtree end, node; the root first), then laid out breadth
        // first.
        let (mut ptok, mut pend, mut pnode): (Vec<u32>, Vec<usize>, Vec<Node>) =
            (Vec::new(), Vec::new(), Vec::new());
        let mut order: Vec<usize> = Vec::new();
        let mut stack: Vec<usize> = Vec::new();
        // The tries' member ranges and the largest of each group: a trie only compared pair by
        // pair needs no nodes below its root.
        let mut ranges: Vec<(usize, usize, bool)> = Vec::new();
        let mut k = 0;
        while k < members.len() {
            let first = members[k] as usize;
            let mut e = k;
            while e < members.len() && {
                let v = members[e] as usize;
                lens[v] == lens[first] && head[v][..l] == head[first][..l]
            } {
                e += 1;
            }
            let new_group = k > 0 && head[members[k - 1] as usize][..l] != head[first][..l];
            ranges.push((k, e, new_group));
            k = e;
        }
        let mut largest = vec![0usize; ranges.len()];
        let mut g0 = 0;
        for b in 0..=ranges.len() {
            if b == ranges.len() || ranges[b].2 {
                let m = ranges[g0..b].iter().map(|r| r.1 - r.0).max().unwrap_or(0);
                largest[g0..b].fill(m);
                g0 = b;
            }
        }
        for (b, &(k, e, new_group)) in ranges.iter().enumerate() {
            let len = lens[members[k] as usize];
            if new_group {
                pf.group_off.push(pf.tries.len());
            }
            if (e - k) * largest[b] <= small_join {
                // The root alone, summing up the values.
                let base = pf.nodes.len();
                let mut root = Node {
                    all: !0,
                    vlo: pf.vals.len() as u32,
                    next_char: UNSET,
                    ..Node::default()
                };
                for &y in &members[k..e] {
                    let m = toks.masks[y as usize];
                    root.any |= m;
                    root.all &= m;
                    root.next_char = merge_next_char(root.next_char, next_of(y));
                    let big = toks_of(y).iter().filter(|&&t| t >= 128).count();
                    root.big = root.big.max(big as u8);
                    pf.vals.push(y);
                    pf.vmask.push(m);
                    pf.vnext_char.push(next_of(y));
                }
                root.vhi = pf.vals.len() as u32;
                pf.nodes.push(root);
                pf.tok.push(0);
                pf.tries.push(Trie { len, root: base });
                continue;
            }
            ptok.clear();
            pend.clear();
            pnode.clear();
            // stack[dpt]: the open node at depth dpt (the root at 0).
            stack.clear();
            stack.resize(len + 1, 0);
            let new_node = |pnode: &mut Vec<Node>,
                            ptok: &mut Vec<u32>,
                            pend: &mut Vec<usize>,
                            t: u32,
                            leaf: bool,
                            vlo: usize| {
                let (own, big) = if ptok.is_empty() {
                    (0, 0)
                } else {
                    (rank_bit(t), u8::from(t >= 128))
                };
                pnode.push(Node {
                    any: own,
                    // Leaves: their own token; inner nodes: the intersection of their children's.
                    all: if leaf { own } else { !0 },
                    vlo: vlo as u32,
                    next_char: UNSET,
                    big,
                    ..Node::default()
                });
                ptok.push(t);
                pend.push(0);
                pnode.len() - 1
            };
            stack[0] = new_node(&mut pnode, &mut ptok, &mut pend, 0, len == 0, pf.vals.len());
            // Closes the nodes at depths ≥ `from`, deepest first, passing masks up.
            let close = |pnode: &mut Vec<Node>,
                         pend: &mut Vec<usize>,
                         ptok: &[u32],
                         stack: &[usize],
                         from: usize,
                         nvals: usize| {
                let at = pnode.len();
                for dpt in (from..stack.len()).rev() {
                    let i = stack[dpt];
                    pend[i] = at;
                    pnode[i].vhi = nvals as u32;
                    if dpt > 0 {
                        // A node's own token is on every path through it.
                        pnode[i].all |= rank_bit(ptok[i]);
                        let (any, all, big) = (pnode[i].any, pnode[i].all, pnode[i].big);
                        let next = pnode[i].next_char;
                        let parent = &mut pnode[stack[dpt - 1]];
                        parent.any |= any;
                        parent.all &= all;
                        parent.next_char = merge_next_char(parent.next_char, next);
                        parent.big = parent
                            .big
                            .max(big + u8::from(dpt > 1 && ptok[stack[dpt - 1]] >= 128));
                    }
                }
            };
            let mut prev: &[u32] = &[];
            for (idx, &y) in members[k..e].iter().enumerate() {
                let s = toks_of(y);
                let lcp = if idx == 0 {
                    0
                } else {
                    s.iter().zip(prev).take_while(|(a, b)| a == b).count()
                };
                if idx == 0 || lcp < len {
                    if idx > 0 {
                        close(&mut pnode, &mut pend, &ptok, &stack, lcp + 1, pf.vals.len());
                    }
                    for dpt in lcp..len {
                        stack[dpt + 1] = new_node(
                            &mut pnode,
                            &mut ptok,
                            &mut pend,
                            s[dpt],
                            dpt + 1 == len,
                            pf.vals.len(),
                        );
                    }
                }
                let leaf = &mut pnode[stack[len]];
                leaf.next_char = merge_next_char(leaf.next_char, next_of(y));
                pf.vals.push(y);
                pf.vmask.push(toks.masks[y as usize]);
                pf.vnext_char.push(next_of(y));
                prev = s;
            }
            close(&mut pnode, &mut pend, &ptok, &stack, 0, pf.vals.len());
            // Breadth-first layout: the children of a node (in preorder: the node after it, then
            // each after the previous one's subtree) become contiguous.
            let base = pf.nodes.len();
            order.clear();
            order.push(0);
            let mut h = 0;
            while h < order.len() {
                let i = order[h];
                let lo = order.len();
                let mut c = i + 1;
                while c < pend[i] {
                    order.push(c);
                    c = pend[c];
                }
                pnode[i].kid_lo = (base + lo) as u32;
                pnode[i].kid_hi = (base + order.len()) as u32;
                h += 1;
            }
            for &i in &order {
                pf.nodes.push(pnode[i]);
                pf.tok.push(ptok[i]);
            }
            for i in (base..pf.nodes.len()).rev() {
                let (lo, hi) = (pf.nodes[i].kid_lo as usize, pf.nodes[i].kid_hi as usize);
                pf.nodes[i].chain = lo == hi || (hi == lo + 1 && pf.nodes[lo].chain);
            }
            pf.tries.push(Trie { len, root: base });
        }
        pf.group_off.push(pf.tries.len());
        pf
    }
}

/// A task at one prefix depth: x trie, y trie (indices in [`PrefixForest::tries`]), and the x
/// root's children to join (`None`: compare every pair of the two tries).
type Task = (usize, usize, Option<(usize, usize)>);

/// A state of the join of two tries: nodes `u` (of the x trie, depth `du`) and `v` (of the y
/// trie, depth `dv`) whose paths are merged up to token `last` (later tokens of both are greater):
/// `sk` of x's tokens and `ins` of y's tokens unmatched so far; `eq`: same trie and same path.
#[derive(Clone, Copy)]
struct State {
    u: u32,
    v: u32,
    last: u32,
    du: u8,
    dv: u8,
    sk: u8,
    ins: u8,
    eq: bool,
}

/// One join: the values of length `lx` under the x root's children `roots` against the values of
/// length `ly ≤ lx` of the same prefix group (the same trie when equal: then each pair once),
/// keeping the pairs of at least `n ≥ 1` shared tokens. Tokens are sorted, so a pair of paths is a
/// merge: a token of one path is matched by the other's or unmatched, and unmatched tokens are at
/// most `lx − n` on x's side and `ly − n` on y's. States are abandoned when a bound from the
/// lengths left or from the subtrees' token masks exceeds either; where one side is a single path
/// and the other holds few values, the rest of each pair is compared directly.
struct Join<'a> {
    pf: &'a PrefixForest,
    toks: &'a Tokens,
    tx: Trie,
    ty: Trie,
    roots: (usize, usize),
    n: usize,
    ex: usize,
    ey: usize,
}

impl Join<'_> {
    /// Calls `pair(i, j)` for each pair found (positions of x and y in [`PrefixForest::vals`]);
    /// false (some pairs not reported) when more than `limit` states were needed.
    fn run(
        &self,
        stack: &mut Vec<State>,
        limit: usize,
        mut pair: impl FnMut(usize, usize),
    ) -> bool {
        let pf = self.pf;
        let (lx, ly, n, ex, ey) = (self.tx.len, self.ty.len, self.n, self.ex, self.ey);
        let same = self.tx.root == self.ty.root;
        // Children of `i` with tokens above `last` (the x root: only `roots`).
        let kids = |i: usize, x_side: bool, last: u32| {
            let (lo, hi) = if x_side && i == self.tx.root {
                self.roots
            } else {
                (pf.nodes[i].kid_lo as usize, pf.nodes[i].kid_hi as usize)
            };
            let ts = &pf.tok[lo..hi];
            if last == NO_TOKEN || ts.first().is_none_or(|&t| t > last) {
                (lo, hi)
            } else if ts.len() <= 8 {
                (lo + ts.iter().take_while(|&&t| t <= last).count(), hi)
            } else {
                (lo + ts.partition_point(|&t| t <= last), hi)
            }
        };
        let viable = |s: &State| {
            let (nu, nv) = (&pf.nodes[s.u as usize], &pf.nodes[s.v as usize]);
            let (du, dv, sk, ins) = (s.du as usize, s.dv as usize, s.sk as usize, s.ins as usize);
            let (rx, ry) = (lx - du, ly - dv);
            let above = bits_above(s.last);
            let shared =
                (nu.any & nv.any & above).count_ones() as usize + usize::from(nu.big.min(nv.big));
            let only_y = (nv.all & above & !nu.any).count_ones() as usize;
            let only_x = (nu.all & above & !nv.any).count_ones() as usize;
            (nu.next_char != nv.next_char || nu.next_char == MIXED)
                && du - sk + shared.min(rx).min(ry) >= n
                && ins + only_y.max(ry.saturating_sub(rx)) <= ey
                && sk + only_x.max(rx.saturating_sub(ry)) <= ex
        };
        stack.clear();
        stack.push(State {
            u: self.tx.root as u32,
            v: self.ty.root as u32,
            last: NO_TOKEN,
            du: 0,
            dv: 0,
            sk: 0,
            ins: 0,
            eq: same,
        });
        let mut states = 0;
        while let Some(s) = stack.pop() {
            states += 1;
            if states > limit {
                return false;
            }
            let (u, v, du, dv) = (s.u as usize, s.v as usize, s.du as usize, s.dv as usize);
            if du == lx && dv == ly {
                let (nu, nv) = (&pf.nodes[u], &pf.nodes[v]);
                let (xr, yr) = (
                    nu.vlo as usize..nu.vhi as usize,
                    nv.vlo as usize..nv.vhi as usize,
                );
                for i in xr {
                    let ys = if s.eq { i + 1..yr.end } else { yr.clone() };
                    ys.for_each(|j| pair(i, j));
                }
                continue;
            }
            // One side a single path and the other holding few values: each pair directly.
            let (nu, nv) = (&pf.nodes[u], &pf.nodes[v]);
            let small = |nd: &Node| nd.vhi - nd.vlo <= 32;
            if !s.eq && u != self.tx.root && ((nu.chain && small(nv)) || (nv.chain && small(nu))) {
                // The tokens after the nodes' own: by the masks when every one is tracked.
                let (after_u, after_v) = (
                    if du == 0 { !0 } else { bits_above(pf.tok[u]) },
                    if dv == 0 { !0 } else { bits_above(pf.tok[v]) },
                );
                let tracked = nu.big == 0 && nv.big == 0;
                let ok = |i: usize, j: usize| {
                    if tracked {
                        let (a, b) = (pf.vmask[i] & after_u, pf.vmask[j] & after_v);
                        let m = (a & b).count_ones() as usize;
                        return (a | b) & !bits_above(s.last) == 0
                            && s.sk as usize + (lx - du) - m <= ex
                            && s.ins as usize + (ly - dv) - m <= ey;
                    }
                    let a = &self.toks.of(pf.vals[i])[du..];
                    let b = &self.toks.of(pf.vals[j])[dv..];
                    let after = |t: &u32| s.last == NO_TOKEN || *t > s.last;
                    let m = overlap(a, b);
                    a.first().is_none_or(after)
                        && b.first().is_none_or(after)
                        && s.sk as usize + a.len() - m <= ex
                        && s.ins as usize + b.len() - m <= ey
                };
                let (xr, yr) = (
                    nu.vlo as usize..nu.vhi as usize,
                    nv.vlo as usize..nv.vhi as usize,
                );
                if nu.chain {
                    for j in yr {
                        if ok(xr.start, j) {
                            xr.clone().for_each(|i| pair(i, j));
                        }
                    }
                } else {
                    for i in xr {
                        if ok(i, yr.start) {
                            yr.clone().for_each(|j| pair(i, j));
                        }
                    }
                }
                continue;
            }
            let (ulo, uhi) = if du < lx {
                kids(u, true, s.last)
            } else {
                (0, 0)
            };
            let (vlo, vhi) = if dv < ly {
                kids(v, false, s.last)
            } else {
                (0, 0)
            };
            // Length bounds after one more unmatched token on either side.
            let (sk, ins, rx, ry) = (s.sk as usize, s.ins as usize, lx - du, ly - dv);
            let skip_ok = sk < ex
                && rx > 0
                && sk + 1 + (rx - 1).saturating_sub(ry) <= ex
                && ins + ry.saturating_sub(rx - 1) <= ey;
            let ins_ok = ins < ey
                && ry > 0
                && ins + 1 + (ry - 1).saturating_sub(rx) <= ey
                && sk + rx.saturating_sub(ry - 1) <= ex;
            // x's next token unmatched: y's next is greater (or y is complete).
            if skip_ok {
                for cu in ulo..uhi {
                    let t = pf.tok[cu];
                    if dv < ly && (vlo == vhi || pf.tok[vhi - 1] <= t) {
                        break;
                    }
                    let c = State {
                        u: cu as u32,
                        last: t,
                        du: s.du + 1,
                        sk: s.sk + 1,
                        eq: false,
                        ..s
                    };
                    if viable(&c) {
                        stack.push(c);
                    }
                }
            }
            // y's next token unmatched: x's next is greater (or x is complete); never on x's own
            // path (y would precede x).
            if ins_ok && !s.eq {
                for cv in vlo..vhi {
                    let t = pf.tok[cv];
                    if du < lx && (ulo == uhi || pf.tok[uhi - 1] <= t) {
                        break;
                    }
                    let c = State {
                        v: cv as u32,
                        last: t,
                        dv: s.dv + 1,
                        ins: s.ins + 1,
                        eq: false,
                        ..s
                    };
                    if viable(&c) {
                        stack.push(c);
                    }
                }
            }
            // Matched tokens.
            let (mut i, mut j) = (ulo, vlo);
            while i < uhi && j < vhi {
                let (a, b) = (pf.tok[i], pf.tok[j]);
                if a < b {
                    i += 1;
                } else if a > b {
                    j += 1;
                } else {
                    let c = State {
                        u: i as u32,
                        v: j as u32,
                        last: a,
                        du: s.du + 1,
                        dv: s.dv + 1,
                        eq: s.eq && i == j,
                        ..s
                    };
                    if viable(&c) {
                        stack.push(c);
                    }
                    i += 1;
                    j += 1;
                }
            }
        }
        true
    }
}

/// The agreement list of a comparison whose levels are null, exact, Jaro–Winkler ≥ t… and else
/// (`None` for other level shapes), exact and without comparing most value pairs.
///
/// Each value is a set of character tokens (character, occurrence number), so the token overlap
/// `U` of two values bounds their number of matching characters and [`jw_bound`] bounds their
/// similarity. Value pairs are split by their common prefix `l` (the prefix depth): exactly `l`
/// below the top prefix depth `min(max_prefix, MAX_PREFIX_DEPTH)`, at least `l` at it. The prefix
/// boost is then bounded, so per prefix depth and length pair `need` is the fewest shared tokens
/// that can reach the lowest threshold; value pairs sharing fewer are at the else level.
///
/// At prefix depth `l` ([`PrefixForest`]), the values sharing their first `l` characters form a
/// prefix group, and a group's values of one length form a [`Trie`] of their token ranks in
/// ascending order (common tokens first). For two tries of lengths `lx ≥ ly`, the pairs sharing
/// `n = need` tokens are found by walking both tries at once ([`Join`]): a pair of paths is a
/// merge of two sorted lists, abandoned when more than `lx − n` tokens of one or `ly − n` of the
/// other are unmatched, by bounds from the lengths left and from each subtree's token masks
/// (tokens on some / on every path), and below the top prefix depth when both subtrees have the
/// same character after the prefix (those pairs belong to a deeper prefix depth). Tries with few
/// pairs, and joins that turn out to cost more than that (past a limit on their states), are
/// compared pair by pair on the token masks. Each value pair is found at most once, and those
/// found get their level from [`Comparison::level`]. The work follows the number of similar
/// pairs, not the number of pairs; the forest of each prefix depth is built while the previous
/// one is joined, and joins run in parallel in chunks of the x trie's first tokens. With `need` 0
/// (a threshold a pair sharing nothing can reach), every pair of the two tries is compared.
pub(super) fn jw_agreement_list(
    ds: &Dataset,
    c: &Comparison,
    cfg: &JwConfig,
    by_len: &[Vec<u32>],
    tuning: Tuning,
) -> Option<Vec<Agreement>> {
    let mut min_t = f64::INFINITY;
    for p in &c.predicates {
        match p {
            Predicate::Null | Predicate::Exact | Predicate::Else => {}
            Predicate::JaroWinklerAtLeast(t) => min_t = min_t.min(*t),
            _ => return None,
        }
    }
    if !min_t.is_finite() {
        return None;
    }
    let max_len = by_len.len() - 1;
    if max_len >= 255 {
        return None;
    }
    let params = JwParams {
        prefix_scale: cfg.prefix_scale,
        max_prefix: cfg.max_prefix,
        boost_threshold: (cfg.boost_threshold >= 0.0).then_some(cfg.boost_threshold),
    };
    let boosts = cfg.prefix_scale > 0.0 && cfg.max_prefix > 0;
    let top = if boosts {
        cfg.max_prefix.min(MAX_PREFIX_DEPTH).min(max_len)
    } else {
        0
    };
    let stride = max_len + 1;
    let present: Vec<usize> = (0..=max_len).filter(|&l| !by_len[l].is_empty()).collect();
    // need[l][la * stride + lb] at prefix depth l; NEVER when even min(la, lb) shared tokens
    // cannot reach min_t; 0 with a length 0.
    let mut need = vec![vec![NEVER; stride * stride]; top + 1];
    for (l, nd) in need.iter_mut().enumerate() {
        let p = JwParams {
            max_prefix: if l < top { l } else { params.max_prefix },
            ..params
        };
        for &la in &present {
            for &lb in &present {
                let n = if la == 0 || lb == 0 {
                    0
                } else {
                    (0..=la.min(lb))
                        .find(|&u| jw_bound(u, la, lb, &p) >= min_t - 1e-9)
                        .map_or(NEVER, |u| u as u32)
                };
                nd[la * stride + lb] = n;
            }
        }
    }

    let col = &ds.columns[c.column];
    let d = col.dict.len();
    let (miss, other) = special_levels(c);
    // Tokens of every value, then a global order: most frequent first (compact tries), ties by
    // token.
    let raw: Vec<Vec<u64>> = col.dict.par_iter().map(char_tokens).collect();
    let mut all: Vec<u64> = raw.concat();
    all.par_sort_unstable();
    let mut keys: Vec<u64> = Vec::new();
    let mut freq: Vec<u32> = Vec::new();
    for &k in &all {
        match keys.last() {
            Some(&last) if last == k => {
                if let Some(f) = freq.last_mut() {
                    *f += 1;
                }
            }
            _ => {
                keys.push(k);
                freq.push(1);
            }
        }
    }
    drop(all);
    let mut order: Vec<u32> = (0..keys.len() as u32).collect();
    order.sort_unstable_by_key(|&k| (std::cmp::Reverse(freq[k as usize]), keys[k as usize]));
    let mut rank_of = vec![0u32; keys.len()];
    for (r, &k) in order.iter().enumerate() {
        rank_of[k as usize] = r as u32;
    }
    // Per value: its token ranks, ascending (CSR) and as bits, its length and first characters.
    let mut tok_off = Vec::with_capacity(d + 1);
    tok_off.push(0usize);
    for t in &raw {
        tok_off.push(tok_off.last().copied().unwrap_or(0) + t.len());
    }
    let toks: Vec<u32> = raw
        .par_iter()
        .flat_map_iter(|t| {
            let mut r: Vec<u32> = t
                .iter()
                .map(|k| rank_of[keys.binary_search(k).unwrap_or(0)])
                .collect();
            r.sort_unstable();
            r
        })
        .collect();
    drop(raw);
    let lens: Vec<usize> = (0..d).map(|v| tok_off[v + 1] - tok_off[v]).collect();
    let masks = (0..d)
        .map(|v| {
            toks[tok_off[v]..tok_off[v + 1]]
                .iter()
                .fold(0u128, |m, &t| m | rank_bit(t))
        })
        .collect();
    let toks = Tokens {
        off: tok_off,
        ranks: toks,
        masks,
    };
    let mut sorted: Vec<u32> = (0..d as u32).collect();
    sorted.par_sort_unstable_by(|&a, &b| {
        lens[a as usize]
            .cmp(&lens[b as usize])
            .then_with(|| toks.of(a).cmp(toks.of(b)))
            .then(a.cmp(&b))
    });
    let head: Vec<[u32; MAX_PREFIX_DEPTH]> = col
        .dict
        .par_iter()
        .map(|s| {
            let mut h = [u32::MAX; MAX_PREFIX_DEPTH];
            for (x, ch) in h.iter_mut().zip(s.chars()) {
                *x = u32::from(ch);
            }
            h
        })
        .collect();

    let keep = |a: u32, b: u32| {
        let lev = c.level(col, a, b);
        (lev != miss && lev != other).then_some((a, b, lev))
    };
    let mut parts: Vec<Vec<Agreement>> = vec![
        (0..d as u32)
            .into_par_iter()
            .filter_map(|x| keep(x, x))
            .collect(),
    ];
    let build =
        |l: usize| PrefixForest::build(l, l < top, tuning.small_join, &sorted, &lens, &head, &toks);
    // Joins the tries of one prefix depth.
    let join_depth = |l: usize, pf: &PrefixForest| -> Vec<Vec<Agreement>> {
        let nd = &need[l];
        let mut tasks: Vec<Task> = Vec::new();
        for g in 0..pf.group_off.len() - 1 {
            let group = pf.group_off[g]..pf.group_off[g + 1];
            for ix in group.clone() {
                let tx = pf.tries[ix];
                let rn = &pf.nodes[tx.root];
                // The root's children in runs of about `tuning.chunk` values.
                let mut chunks = Vec::new();
                let (mut lo, mut count) = (rn.kid_lo as usize, 0);
                for k in rn.kid_lo as usize..rn.kid_hi as usize {
                    count += (pf.nodes[k].vhi - pf.nodes[k].vlo) as usize;
                    if count >= tuning.chunk || k + 1 == rn.kid_hi as usize {
                        chunks.push((lo, k + 1));
                        (lo, count) = (k + 1, 0);
                    }
                }
                for iy in group.clone() {
                    let ty = pf.tries[iy];
                    if ty.len > tx.len {
                        break;
                    }
                    let size = |b: Trie| (pf.nodes[b.root].vhi - pf.nodes[b.root].vlo) as usize;
                    match nd[tx.len * stride + ty.len] {
                        NEVER => {}
                        // Every pair, or few: each pair's overlap directly.
                        0 => tasks.push((ix, iy, None)),
                        _ if size(tx) * size(ty) <= tuning.small_join => tasks.push((ix, iy, None)),
                        _ => tasks.extend(chunks.iter().map(|&ch| (ix, iy, Some(ch)))),
                    }
                }
            }
        }
        let batch = (tasks.len() / 256).max(1);
        let depth_parts: Vec<Vec<Agreement>> = tasks
            .par_chunks(batch)
            .map_init(Vec::new, |stack, batch| {
                let mut out = Vec::new();
                for &(ix, iy, roots) in batch {
                    let (tx, ty) = (pf.tries[ix], pf.tries[iy]);
                    let n = nd[tx.len * stride + ty.len] as usize;
                    // Positions of the x values (the trie, or the subtrees of `roots`) and y's.
                    let (rx, ry) = (&pf.nodes[tx.root], &pf.nodes[ty.root]);
                    let xr = match roots {
                        None => rx.vlo as usize..rx.vhi as usize,
                        Some((lo, hi)) => pf.nodes[lo].vlo as usize..pf.nodes[hi - 1].vhi as usize,
                    };
                    let yr = ry.vlo as usize..ry.vhi as usize;
                    let mark = out.len();
                    // The entry of a value pair sharing enough tokens, if it agrees: below the top
                    // prefix depth, pairs whose prefix goes on belong to a deeper one.
                    let entry = |i: usize, j: usize| {
                        if pf.vnext_char[i] == pf.vnext_char[j] && pf.vnext_char[i] != MIXED {
                            return None;
                        }
                        let (x, y) = (pf.vals[i], pf.vals[j]);
                        keep(x.min(y), x.max(y))
                    };
                    // The join, unless it turns out to cost more than comparing every pair
                    // (many pairs sharing many tokens, or lax bounds).
                    let joined = roots.is_some_and(|roots| {
                        let join = Join {
                            pf,
                            toks: &toks,
                            tx,
                            ty,
                            roots,
                            n,
                            ex: tx.len - n,
                            ey: ty.len - n,
                        };
                        let limit = (xr.len() * yr.len() / tuning.work_div).max(tuning.work_min);
                        join.run(stack, limit, |i, j| out.extend(entry(i, j)))
                    });
                    if joined {
                        continue;
                    }
                    // Every pair, by the overlap of their tokens (positions in leaf order, that
                    // is by token sequence: within a trie each pair once).
                    out.truncate(mark);
                    let tracked = rx.big == 0 && ry.big == 0;
                    for i in xr {
                        let ys = if ix == iy { i + 1..yr.end } else { yr.clone() };
                        for j in ys {
                            let u = if tracked {
                                (pf.vmask[i] & pf.vmask[j]).count_ones() as usize
                            } else {
                                overlap(toks.of(pf.vals[i]), toks.of(pf.vals[j]))
                            };
                            if u >= n {
                                out.extend(entry(i, j));
                            }
                        }
                    }
                }
                out
            })
            .collect();
        depth_parts
    };
    // Each prefix depth's forest is built while the previous one is joined (building one in
    // sequence after another measured ~0.1 s slower on two cores, for ~7 MB less peak memory).
    let mut pf = build(0);
    for l in 0..=top {
        let (next, depth_parts) =
            rayon::join(|| (l < top).then(|| build(l + 1)), || join_depth(l, &pf));
        parts.extend(depth_parts);
        match next {
            Some(n) => pf = n,
            None => break,
        }
    }
    Some(sorted_union(parts))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{comparison, dataset, words};
    use super::super::{agreement_list, agreement_list_unpruned};
    use super::*;
    use crate::compare::Comparer;

    /// Checks the Jaro–Winkler agreement lists of `ds` against the unpruned ones for several
    /// thresholds and Jaro–Winkler variants, with the default tuning and with tunings that join
    /// every trie pair (in chunks of one or many x values; to the end, giving up at once, or
    /// sometimes).
    fn check_jw_lists(ds: &Dataset, thresholds: &[&str], variants: &[&str]) {
        let col = &ds.columns[0];
        let max_len = col
            .dict
            .iter()
            .map(|s| s.chars().count())
            .max()
            .unwrap_or(0);
        let mut by_len: Vec<Vec<u32>> = vec![Vec::new(); max_len + 1];
        for (v, s) in col.dict.iter().enumerate() {
            by_len[s.chars().count()].push(v as u32);
        }
        for t in thresholds {
            for jw in variants {
                let s = comparison(&format!(
                    "use = \"jaro_winkler_at_thresholds\"\nthresholds = {t}\n{jw}"
                ));
                let comparer = Comparer::new(&s.comparisons, ds).unwrap();
                let c = &comparer.comparisons[0];
                let cfg = s.comparisons[0].jaro_winkler.unwrap_or_default();
                let mut plain = agreement_list_unpruned(ds, c);
                plain.sort_unstable();
                assert!(
                    plain.len() > col.dict.len(),
                    "{t} {jw}: too few agreements to test"
                );
                assert_eq!(agreement_list(ds, c, Some(&cfg)), plain, "{t} {jw}");
                let join = |chunk, work_div, work_min| Tuning {
                    small_join: 0,
                    chunk,
                    work_div,
                    work_min,
                };
                for tuning in [
                    join(1, 1, usize::MAX),
                    join(1000, 1, usize::MAX),
                    join(3, usize::MAX, 0),
                    join(10, 1000, 10),
                ] {
                    let list = jw_agreement_list(ds, c, &cfg, &by_len, tuning);
                    assert_eq!(list.as_ref(), Some(&plain), "{t} {jw} {tuning:?}");
                }
            }
        }
    }

    const VARIANTS: [&str; 5] = [
        "",
        "jaro_winkler = { boost_threshold = -1 }",
        "jaro_winkler = { boost_threshold = 0.9 }",
        "jaro_winkler = { prefix_scale = 0.25, max_prefix = 9, boost_threshold = -1 }",
        "jaro_winkler = { prefix_scale = 0.0 }",
    ];

    #[test]
    fn jw_lists_equal_unpruned() {
        check_jw_lists(
            &dataset(&words()),
            &["[0.94, 0.88]", "[0.7]", "[0.99, 0.9, 0.8]", "[0.4]"],
            &VARIANTS,
        );
    }

    /// Values of length 0 (not made by the reader, but allowed in a dictionary), and more
    /// distinct tokens than the masks track.
    #[test]
    fn jw_lists_equal_unpruned_edge_cases() {
        let mut ds = dataset(&words()[..300]);
        let col = &mut ds.columns[0];
        for s in ["", "A", ""] {
            col.dict.push(s);
            col.values.push(col.dict.len() as u32 - 1);
        }
        ds.source_of = vec![0; ds.columns[0].values.len()];
        check_jw_lists(&ds, &["[0.88]", "[0.6]"], &VARIANTS[..2]);
        // 300 distinct characters: many token ranks past 128.
        let mut rng = 7u64;
        let mut next = |n: u64| {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((rng >> 33) % n) as u32
        };
        let mut words = Vec::new();
        for _ in 0..300 {
            let base: Vec<char> = (0..3 + next(8))
                .map(|_| char::from_u32(0x100 + next(300)).unwrap_or('a'))
                .collect();
            for _ in 0..3 {
                let mut w = base.clone();
                let i = next(w.len() as u64) as usize;
                w[i] = char::from_u32(0x100 + next(300)).unwrap_or('b');
                if next(2) == 0 {
                    w.swap(0, i);
                }
                words.push(w.into_iter().collect::<String>());
            }
        }
        check_jw_lists(&dataset(&words), &["[0.88]", "[0.75]"], &VARIANTS[..2]);
    }

    #[test]
    fn jw_bound_is_an_upper_bound() {
        use crate::compare::jaro::jaro_winkler;
        let w = words();
        for p in [
            JwParams::default(),
            JwParams {
                boost_threshold: None,
                ..JwParams::default()
            },
        ] {
            for a in w.iter().take(200) {
                for b in w.iter().take(200) {
                    let (la, lb) = (a.chars().count(), b.chars().count());
                    let (ta, tb) = (char_tokens(a), char_tokens(b));
                    let u = ta.iter().filter(|t| tb.contains(t)).count();
                    assert!(jw_bound(u, la, lb, &p) >= jaro_winkler(a, b, &p) - 1e-12);
                }
            }
        }
    }
}
