//! `fellegi paper build`: tables (Markdown, LaTeX, CSV), a reproductions table (published vs
//! obtained) and a constants file for in-text numbers, from committed results only. The output
//! depends only on the result files (sorted, fixed formatting), so rebuilding is byte-identical.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Experiment, discover};
use crate::error::{Error, Result};
use crate::output::Staged;

/// A loaded result, keyed by (experiment, task).
type Results = BTreeMap<(String, String), serde_json::Value>;

fn load_results(dir: &Path) -> Result<Results> {
    let mut out = Results::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let p = e.map_err(|e| Error::io(dir, e))?.path();
        if p.is_dir() {
            for f in std::fs::read_dir(&p).map_err(|e| Error::io(&p, e))? {
                let f = f.map_err(|e| Error::io(&p, e))?.path();
                if f.extension().is_some_and(|x| x == "json") {
                    files.push(f);
                }
            }
        }
    }
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| Error::io(&f, e))?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Parse {
            origin: f.display().to_string(),
            message: e.to_string(),
        })?;
        let key = (
            v["experiment"].as_str().unwrap_or("").to_string(),
            v["task"].as_str().unwrap_or("").to_string(),
        );
        out.insert(key, v);
    }
    Ok(out)
}

fn num(v: &serde_json::Value, digits: usize) -> String {
    v.as_f64().map_or("–".into(), |x| {
        if x != 0.0 && x.abs() < 1e-3 {
            format!("{x:.3e}")
        } else {
            format!("{x:.digits$}")
        }
    })
}

const COLUMNS: [&str; 11] = [
    "task",
    "dataset",
    "seed",
    "status",
    "precision",
    "recall",
    "F1",
    "lambda",
    "candidate pairs",
    "pairs completeness",
    "seconds",
];

fn row(v: &serde_json::Value) -> [String; 11] {
    let m = &v["metrics"];
    [
        v["task"].as_str().unwrap_or("").to_string(),
        v["dataset"].as_str().unwrap_or("").to_string(),
        v["seed"].to_string(),
        v["status"].as_str().unwrap_or("").to_string(),
        num(&m["precision"], 4),
        num(&m["recall"], 4),
        num(&m["f1"], 4),
        num(&v["params"]["lambda"], 6),
        m["candidate_pairs"]
            .as_u64()
            .map_or("–".into(), |n| n.to_string()),
        num(&m["pairs_completeness"], 4),
        num(&v["runtime_s"], 2),
    ]
}

fn latex_escape(s: &str) -> String {
    s.replace('\\', "\\textbackslash{}")
        .replace('_', "\\_")
        .replace('&', "\\&")
        .replace('%', "\\%")
        .replace('#', "\\#")
}

/// Builds `out` from the results in `results` for the experiments in `experiments`.
///
/// # Errors
/// [`Error::Io`] or [`Error::Parse`] for unreadable results or specs.
pub fn build(experiments: &Path, results: &Path, out: &Path) -> Result<Vec<std::path::PathBuf>> {
    let res = load_results(results)?;
    let mut stage = Staged::new(out)?;
    let mut constants: BTreeMap<String, String> = BTreeMap::new();
    let mut repro = String::from(
        "| experiment | quantity | published | obtained | tolerance | within | source |\n|---|---|---|---|---|---|---|\n",
    );
    for d in discover(experiments)? {
        let exp = Experiment::load(&d)?;
        let id = exp.spec.id.clone();
        let rows: Vec<&serde_json::Value> = res
            .iter()
            .filter(|((e, _), _)| *e == id)
            .map(|(_, v)| v)
            .collect();
        if rows.is_empty() {
            continue;
        }
        let mut md = format!(
            "Table: experiment `{id}` ({}). Made by `fellegi paper build` from paper/results/{id}/.\n\n",
            exp.spec.question
        );
        md.push_str(&format!(
            "| {} |\n|{}|\n",
            COLUMNS.join(" | "),
            COLUMNS.iter().map(|_| "---").collect::<Vec<_>>().join("|")
        ));
        let mut csv = COLUMNS.join(",") + "\n";
        let mut tex = format!(
            "% experiment {id}, made by fellegi paper build\n\\begin{{tabular}}{{{}}}\n\\hline\n{} \\\\\n\\hline\n",
            "l".repeat(COLUMNS.len()),
            COLUMNS.join(" & ")
        );
        for v in &rows {
            let r = row(v);
            md.push_str(&format!("| {} |\n", r.join(" | ")));
            csv.push_str(
                &r.iter()
                    .map(|c| {
                        if c.contains(',') {
                            format!("\"{c}\"")
                        } else {
                            c.clone()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(","),
            );
            csv.push('\n');
            tex.push_str(&format!(
                "{} \\\\\n",
                r.iter()
                    .map(|c| latex_escape(c))
                    .collect::<Vec<_>>()
                    .join(" & ")
            ));
            let key = format!("{id}.{}", r[0].replace('/', "."));
            for (name, val) in [
                ("f1", &r[6]),
                ("precision", &r[4]),
                ("recall", &r[5]),
                ("lambda", &r[7]),
            ] {
                constants.insert(format!("{key}.{name}"), val.clone());
            }
        }
        tex.push_str("\\hline\n\\end{tabular}\n");
        stage.write(&format!("{id}.md"), |w| w.write_all(md.as_bytes()))?;
        stage.write(&format!("{id}.csv"), |w| w.write_all(csv.as_bytes()))?;
        stage.write(&format!("{id}.tex"), |w| w.write_all(tex.as_bytes()))?;
        for e in &exp.spec.expected {
            let got = res
                .get(&(id.clone(), e.task.clone()))
                .and_then(|v| v.pointer(&e.pointer))
                .and_then(|x| x.as_f64());
            let within = got.map(|g| (g - e.value).abs() <= e.tolerance);
            repro.push_str(&format!(
                "| {id} | {} {} | {} | {} | {} | {} | {} |\n",
                e.task,
                e.pointer,
                e.value,
                got.map_or("–".into(), |g| format!("{g}")),
                e.tolerance,
                match within {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "no result",
                },
                e.source
            ));
        }
    }
    stage.write("reproductions.md", |w| w.write_all(repro.as_bytes()))?;
    let cj =
        serde_json::to_string_pretty(&constants).map_err(|e| Error::Usage(e.to_string()))? + "\n";
    stage.write("constants.json", |w| w.write_all(cj.as_bytes()))?;
    stage.commit()
}
