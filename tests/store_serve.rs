//! `fellegi serve` (issue 16, part 5), started on an ephemeral loopback port: match with
//! contributions, concurrent inserts (none lost), record and cluster look-ups, 4xx JSON errors
//! for malformed and oversized requests, and graceful SIGTERM with every answered insert
//! durable.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use fellegi::progress::Progress;
use fellegi::settings::Settings;
use fellegi::store::{self, Store, StoreOptions};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_fellegi");
const FEBRL3: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/datasets/febrl/dataset3.csv");
const SETTINGS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/datasets/settings/febrl_dedupe.toml"
);

/// One HTTP/1.1 request (Connection: close); returns (status, body as JSON).
fn http(addr: &str, method: &str, path: &str, body: Option<&[u8]>) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    let body = body.unwrap_or(b"");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let text = String::from_utf8_lossy(&resp).to_string();
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let v = serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body:?}"));
    (status, v)
}

fn post(addr: &str, path: &str, v: &Value) -> (u16, Value) {
    http(addr, "POST", path, Some(v.to_string().as_bytes()))
}

struct Server {
    child: Child,
    addr: String,
}

fn start(store: &Path, extra: &[&str]) -> Server {
    let mut child = Command::new(BIN)
        .arg("serve")
        .arg(store)
        .args(["--addr", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    Server { child, addr }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A FEBRL3 row as a JSON record (header → value).
fn record(header: &[&str], row: &str) -> Value {
    let vals: Vec<&str> = row.split(',').collect();
    let mut o = serde_json::Map::new();
    for (h, v) in header.iter().zip(vals) {
        // The truth and a column the model does not read are not sent (unknown fields are
        // rejected).
        if *h == "entity_id" || *h == "address_2" {
            continue;
        }
        o.insert(h.to_string(), Value::String(v.to_string()));
    }
    Value::Object(o)
}

#[test]
fn the_service_matches_inserts_looks_up_rejects_and_shuts_down_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let text = std::fs::read_to_string(FEBRL3).unwrap();
    let mut lines = text.lines();
    let header_line = lines.next().unwrap();
    let header: Vec<&str> = header_line.split(',').collect();
    let rows: Vec<&str> = lines.collect();
    let base = t.join("people.csv");
    std::fs::write(
        &base,
        format!("{header_line}\n{}\n", rows[..2000].join("\n")),
    )
    .unwrap();
    let settings = Settings::from_path(Path::new(SETTINGS))
        .unwrap()
        .expanded("febrl_dedupe")
        .unwrap();
    let progress = Progress::default();
    let ds = fellegi::pipeline::load(&settings, std::slice::from_ref(&base), &progress).unwrap();
    let mut model = fellegi::pipeline::fit(&settings, &ds, 1, &progress)
        .unwrap()
        .model;
    // An input described in the model, not among the store's files: JSON records naming it
    // as `_source` are read by its rules.
    model.inputs.push(fellegi::data::InputDescription {
        path: Some(t.join("elsewhere").join("census.csv")),
        source: Some("census".into()),
        unique_id: Some("rec".into()),
        rename: [("family".to_string(), "surname".to_string())].into(),
        date_format: [("date_of_birth".to_string(), "%d/%m/%Y".to_string())].into(),
        missing: Some(vec!["NA".into()]),
        ..Default::default()
    });
    let dir = t.join("store");
    store::create(
        &model,
        "m",
        &[base],
        StoreOptions::default(),
        &dir,
        &progress,
    )
    .unwrap();

    let srv = start(&dir, &["--max-body", "20000"]);
    let a = srv.addr.clone();
    let (st, h) = http(&a, "GET", "/health", None);
    assert_eq!(st, 200);
    assert_eq!(h["status"], "ok");
    assert_eq!(h["records"], 2000);

    // Match: a record not in the store; contributions add up to the weight.
    let q = record(&header, rows[2500]);
    let (st, m) = post(&a, "/match", &json!({ "record": q }));
    assert_eq!(st, 200, "{m}");
    let prior = m["prior_weight"].as_f64().unwrap();
    let cands = m["results"][0]["candidates"].as_array().unwrap();
    for c in cands {
        let sum: f64 = prior
            + c["contributions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["weight"].as_f64().unwrap())
                .sum::<f64>();
        assert!((sum - c["match_weight"].as_f64().unwrap()).abs() < 1e-9);
        assert!(c["contributions"][0]["level"].is_string());
    }
    // A stored record's duplicate finds it.
    let q = record(&header, rows[10]);
    let mut q2 = q.clone();
    q2["record_id"] = json!("probe");
    let (_, m) = post(&a, "/match", &json!({ "records": [q2] }));
    let best = &m["results"][0]["candidates"][0];
    assert_eq!(best["id"], rows[10].split(',').next().unwrap());
    // The same record as the census input writes it (its id column, a renamed column, d/m/Y
    // dates, a missing marker) gets the same answer as in the model's own form.
    let mut plain = q2.clone();
    plain["street_number"] = json!("");
    let mut census = serde_json::Map::new();
    for (k, v) in plain.as_object().unwrap() {
        let v = v.as_str().unwrap().to_string();
        match k.as_str() {
            "record_id" => census.insert("rec".into(), json!(v)),
            "surname" => census.insert("family".into(), json!(v)),
            "date_of_birth" if v.len() == 8 => census.insert(
                k.clone(),
                json!(format!("{}/{}/{}", &v[6..8], &v[4..6], &v[..4])),
            ),
            "street_number" => census.insert(k.clone(), json!("NA")),
            _ => census.insert(k.clone(), json!(v)),
        };
    }
    census.insert("_source".into(), json!("census"));
    let (st, m_census) = post(&a, "/match", &json!({ "record": census }));
    assert_eq!(st, 200, "{m_census}");
    let (_, m_plain) = post(&a, "/match", &json!({ "record": plain }));
    assert_eq!(m_census["results"], m_plain["results"]);
    assert!(
        !m_plain["results"][0]["candidates"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Without `_source` the census names are unknown fields.
    census.remove("_source");
    let (st, e) = post(&a, "/match", &json!({ "record": census }));
    assert_eq!(st, 400, "{e}");
    assert!(
        e["error"].as_str().unwrap().contains("unknown field"),
        "{e}"
    );

    // Concurrent inserts: 8 clients × 10 records, none lost.
    let answers: Vec<Vec<(String, u64)>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..8)
            .map(|k| {
                let a = a.clone();
                let header = header.clone();
                let rows = &rows;
                s.spawn(move || {
                    let recs: Vec<Value> = (0..10)
                        .map(|i| record(&header, rows[3000 + k * 10 + i]))
                        .collect();
                    let (st, v) = post(&a, "/records", &json!({ "records": recs }));
                    assert_eq!(st, 200, "{v}");
                    v["records"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| {
                            (
                                r["id"].as_str().unwrap().to_string(),
                                r["cluster_id"].as_u64().unwrap(),
                            )
                        })
                        .collect()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let inserted: Vec<(String, u64)> = answers.into_iter().flatten().collect();
    assert_eq!(inserted.len(), 80);
    let (_, h) = http(&a, "GET", "/health", None);
    assert_eq!(h["records"], 2080);
    let src = Store::open(&dir).unwrap().manifest.sources[0].clone();
    for (id, c) in &inserted {
        let (st, r) = http(&a, "GET", &format!("/records/{src}/{id}"), None);
        assert_eq!(st, 200);
        // Later inserts may merge a cluster into an older id, never a younger one.
        assert!(r["cluster_id"].as_u64().unwrap() <= *c);
        let (st, cl) = http(&a, "GET", &format!("/clusters/{c}"), None);
        assert_eq!(st, 200);
        assert!(
            cl["records"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["id"] == id.as_str())
        );
    }

    // Errors: JSON 4xx, never a crash.
    let (st, e) = http(&a, "POST", "/match", Some(b"{not json"));
    assert_eq!(st, 400);
    assert!(e["error"].as_str().unwrap().contains("JSON"));
    let (st, e) = post(
        &a,
        "/match",
        &json!({ "record": { "record_id": "x", "colour": "red" } }),
    );
    assert_eq!(st, 400);
    assert!(e["error"].as_str().unwrap().contains("colour"), "{e}");
    let (st, e) = post(
        &a,
        "/records",
        &json!({ "record": record(&header, rows[3000]) }),
    );
    assert_eq!(st, 409, "{e}");
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("already in the store")
    );
    let big = vec![b'x'; 30000];
    let mut body = b"{\"record\": {\"record_id\": \"".to_vec();
    body.extend(&big);
    body.extend(b"\"}}");
    let (st, e) = http(&a, "POST", "/records", Some(&body));
    assert_eq!(st, 413);
    assert!(e["error"].is_string());
    let (st, _) = http(&a, "GET", "/records/nope/nothing", None);
    assert_eq!(st, 404);
    let (st, _) = http(&a, "GET", "/clusters/abc", None);
    assert_eq!(st, 400);
    let (st, _) = http(&a, "GET", "/clusters/99999999", None);
    assert_eq!(st, 404);
    let (st, _) = http(&a, "GET", "/nowhere", None);
    assert_eq!(st, 404);
    let (st, h) = http(&a, "GET", "/health", None);
    assert_eq!((st, h["records"].clone()), (200, json!(2080)));

    // SIGTERM: a clean exit, and every answered insert is in the store on disk.
    let (st, _) = post(
        &a,
        "/records",
        &json!({ "record": record(&header, rows[4000]) }),
    );
    assert_eq!(st, 200);
    let mut srv = srv;
    let pid = srv.child.id() as i32;
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = srv.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let s = Store::open(&dir).unwrap();
    assert_eq!(s.len(), 2081);
    for (id, _) in &inserted {
        assert!(s.record(&src, id).is_some());
    }
    assert!(store::verify(&dir).ok());
}
