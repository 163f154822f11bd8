//! The module graph (issue 12): no import cycle among the top-level modules of `src/`, and the
//! stages import only downward: `data`, `clean`, `block` and `compare` reach neither `model` nor
//! `pipeline`, directly or through another module, and nothing below `pipeline` reaches it.
//!
//! Edges are `crate::X` references in a module's files (comments and `#[cfg(test)]` modules left
//! out), read the same way as `shared/hooks/modgraph.py`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Top-level module → the top-level modules its code names as `crate::X`.
fn module_graph(src: &Path) -> Graph {
    let mut g = Graph::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let rel = p.strip_prefix(src).unwrap();
            let first = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy();
            let top = first.trim_end_matches(".rs").to_string();
            if top == "main" || top == "lib" {
                continue;
            }
            let mut text = std::fs::read_to_string(&p).unwrap();
            if let Some(i) = text.find("#[cfg(test)]") {
                // Everything from the first test module on is test code.
                if text[i..]
                    .trim_start_matches("#[cfg(test)]")
                    .trim_start()
                    .starts_with("mod ")
                {
                    text.truncate(i);
                }
            }
            let entry = g.entry(top.clone()).or_default();
            for line in text.lines() {
                let line = line.trim();
                if line.starts_with("//") {
                    continue;
                }
                let mut rest = line;
                while let Some(i) = rest.find("crate::") {
                    let before = rest[..i].chars().last();
                    let after = &rest[i + "crate::".len()..];
                    rest = after;
                    if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                        continue;
                    }
                    let name: String = after
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                        .collect();
                    if !name.is_empty() && name != top && name != "doc" {
                        entry.insert(name);
                    }
                }
            }
        }
    }
    g
}

/// Every module `from` reaches through one or more edges.
fn reach(g: &Graph, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_string()];
    while let Some(m) = todo.pop() {
        for n in g.get(&m).into_iter().flatten() {
            if seen.insert(n.clone()) {
                todo.push(n.clone());
            }
        }
    }
    seen
}

fn graph() -> Graph {
    module_graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

#[test]
fn no_import_cycle_between_top_level_modules() {
    let g = graph();
    let cycles: Vec<String> = g
        .keys()
        .filter(|m| reach(&g, m).contains(*m))
        .cloned()
        .collect();
    assert!(
        cycles.is_empty(),
        "modules on an import cycle: {cycles:?}; graph: {g:#?}"
    );
}

#[test]
fn candidate_generation_reaches_neither_the_model_nor_the_pipeline() {
    let g = graph();
    for stage in ["data", "clean", "block", "compare"] {
        let r = reach(&g, stage);
        for above in [
            "model", "pipeline", "settings", "classify", "cluster", "eval",
        ] {
            assert!(
                !r.contains(above),
                "`{stage}` reaches `{above}` (it reaches {r:?}); stages import only downward"
            );
        }
    }
    for stage in [
        "model",
        "classify",
        "cluster",
        "eval",
        "settings",
        "exhaustive",
    ] {
        let r = reach(&g, stage);
        assert!(
            !r.contains("pipeline"),
            "`{stage}` reaches `pipeline` ({r:?}); the conductor sits above the stages"
        );
    }
    assert!(
        !reach(&g, "model").contains("settings"),
        "`model` reaches `settings`: training takes the plan, not the settings"
    );
}

#[test]
fn the_graph_reader_sees_the_edges() {
    // A check that the test itself can fail: the conductor does use the stages.
    let g = graph();
    let p = reach(&g, "pipeline");
    for m in [
        "data", "block", "compare", "model", "classify", "cluster", "eval",
    ] {
        assert!(p.contains(m), "pipeline should reach {m}: {p:?}");
    }
}

#[test]
fn the_store_sits_above_the_pipeline() {
    // Issue 16: the incremental store uses the pipeline's stages; nothing in the library
    // below it reaches it.
    let g = graph();
    assert!(reach(&g, "store").contains("pipeline"));
    for m in [
        "data",
        "clean",
        "block",
        "compare",
        "model",
        "classify",
        "cluster",
        "eval",
        "settings",
        "exhaustive",
        "pipeline",
    ] {
        assert!(
            !reach(&g, m).contains("store"),
            "`{m}` reaches `store`; the store sits above the pipeline"
        );
    }
}
