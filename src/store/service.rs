//! The store as an HTTP service (axum on tokio): match records against the store, insert
//! records, read records and clusters.
//!
//! | route | does |
//! |---|---|
//! | `POST /match` | `{"record": {..}}` or `{"records": [..]}` (optional `"min_probability"`, default the store's) → per record its candidates, best first, each with match weight, probability, cluster id and every comparison's contribution ([`super::Candidate`]) |
//! | `POST /records` | `{"record": {..}}` or `{"records": [..]}` → inserts them (one add, committed before the answer) and returns each record's cluster id; inserts are serialised |
//! | `GET /records/{source}/{id}` | the record's cleaned values and cluster id |
//! | `GET /clusters/{id}` | the cluster's current id (an id merged away resolves to its survivor) and records |
//! | `GET /health` | `{"status": "ok", "generation", "records", "clusters"}` |
//!
//! A record is a flat JSON object: the model's unique-id column (e.g. `"record_id"`), the
//! columns the model reads (strings or numbers; absent or null = missing) and, in link stores,
//! `"_source"` naming its source (required for inserts there). A record is read as a row of
//! its source's `[[input]]` in the model would be (the input whose `source` or file stem is
//! `_source`; in a dedupe store `_source` only picks the input, and without it the store's
//! source's input applies): that input's `unique_id` column, its `rename`s (a column may be
//! given under its file name or the model's), `missing` markers and `date_format`s; then the
//! model's transforms clean the values.
//! Bad requests (malformed JSON, unknown fields, a duplicate id, a body over the limit) get a
//! 4xx with `{"error": "..."}`; nothing is inserted from a rejected request.

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{NewRecord, Store};
use crate::data::LinkType;
use crate::error::{Error, Result};

/// Default of the body limit: 4 MiB.
pub const DEFAULT_MAX_BODY: usize = 4 << 20;

/// Most records in one request.
pub const MAX_RECORDS_PER_REQUEST: usize = 10_000;

type Shared = Arc<RwLock<Store>>;

/// A rejected request: the status and the message of its JSON error answer.
#[derive(Debug)]
struct Reject(StatusCode, String);

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        (self.0, axum::Json(json!({"error": self.1}))).into_response()
    }
}

/// A JSON error answer.
fn err(status: StatusCode, message: impl std::fmt::Display) -> Reject {
    Reject(status, message.to_string())
}

fn ok(v: Value) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

/// The router of the service over an open store; `max_body` bytes at most per request.
pub fn router(store: Store, max_body: usize) -> Router {
    // The service looks records up and inserts often: build the id table once, now.
    store.index_ids();
    let shared: Shared = Arc::new(RwLock::new(store));
    Router::new()
        .route("/health", get(health))
        .route("/match", post(match_records))
        .route("/records", post(insert))
        .route("/records/{source}/{id}", get(get_record))
        .route("/clusters/{id}", get(get_cluster))
        .fallback(|| async { err(StatusCode::NOT_FOUND, "no such route; see GET /health, POST /match, POST /records, GET /records/{source}/{id}, GET /clusters/{id}") })
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(shared)
}

/// Serves `store` on `listener` until `shutdown` completes; requests under way finish first,
/// so every insert that was answered is durable (each add commits before it answers).
///
/// # Errors
/// [`Error::Io`] when serving fails.
pub async fn serve(
    store: Store,
    listener: tokio::net::TcpListener,
    max_body: usize,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let dir = store.dir().to_path_buf();
    axum::serve(listener, router(store, max_body))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| Error::io(dir, e))
}

fn read(s: &Shared) -> std::sync::RwLockReadGuard<'_, Store> {
    s.read().unwrap_or_else(|p| p.into_inner())
}

async fn health(State(s): State<Shared>) -> Response {
    let st = read(&s);
    ok(json!({
        "status": "ok",
        "generation": st.manifest.generation,
        "records": st.len(),
        "clusters": st.cluster_count(),
    }))
}

/// The body as JSON, or the 4xx answer.
fn parse_body(
    body: std::result::Result<Bytes, BytesRejection>,
) -> std::result::Result<Value, Reject> {
    let bytes = body.map_err(|r| {
        let status = r.status();
        let msg = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "the request body is over the service's limit (--max-body); send fewer records per request".to_string()
        } else {
            r.body_text()
        };
        err(status, msg)
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        err(
            StatusCode::BAD_REQUEST,
            format!("the body is not valid JSON: {e}"),
        )
    })
}

/// The records of a request body: `{"record": {..}}` or `{"records": [..]}`.
fn records_of(st: &Store, v: &Value, insert: bool) -> std::result::Result<Vec<NewRecord>, Reject> {
    let bad = |m: String| err(StatusCode::BAD_REQUEST, m);
    let obj = v
        .as_object()
        .ok_or_else(|| bad("the body must be a JSON object with `record` or `records`".into()))?;
    for k in obj.keys() {
        if !matches!(k.as_str(), "record" | "records" | "min_probability") {
            return Err(bad(format!(
                "unknown key `{k}`; the body takes `record` (one object) or `records` (an array){}",
                if insert {
                    ""
                } else {
                    ", and optionally `min_probability`"
                }
            )));
        }
    }
    let list: Vec<&Value> = match (obj.get("record"), obj.get("records")) {
        (Some(r), None) => vec![r],
        (None, Some(Value::Array(a))) => a.iter().collect(),
        (None, Some(_)) => return Err(bad("`records` must be an array of objects".into())),
        _ => {
            return Err(bad(
                "give exactly one of `record` (an object) or `records` (an array)".into(),
            ));
        }
    };
    if list.len() > MAX_RECORDS_PER_REQUEST {
        return Err(err(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "{} records in one request; at most {MAX_RECORDS_PER_REQUEST}",
                list.len()
            ),
        ));
    }
    let uid = st.model.unique_id.clone();
    let mut out = Vec::with_capacity(list.len());
    for (i, r) in list.into_iter().enumerate() {
        let o = r
            .as_object()
            .ok_or_else(|| bad(format!("record {i} is not a JSON object")))?;
        let mut fields = Vec::new();
        let mut source = None;
        for (k, v) in o {
            let s = match v {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => {
                    return Err(bad(format!(
                        "record {i}: field `{k}` must be a string, number or null"
                    )));
                }
            };
            if s.len() > crate::data::MAX_FIELD_BYTES {
                return Err(err(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "record {i}: field `{k}` is over {} bytes",
                        crate::data::MAX_FIELD_BYTES
                    ),
                ));
            }
            if k == "_source" {
                source = Some(s);
            } else {
                fields.push((k.clone(), s));
            }
        }
        // The record is read as a row of its source's [[input]] would be: that input's id
        // column, renames, missing markers and date formats. In a dedupe store `_source`
        // only picks the rules; every record joins the store's one source.
        let rules = match (&source, st.manifest.link_type) {
            (Some(s), _) if !s.is_empty() => st.input_rules(s),
            (_, LinkType::Dedupe) => st.input_rules(&st.manifest.sources[0]),
            _ => None,
        };
        let id_key = rules.and_then(|d| d.unique_id.as_deref()).unwrap_or(&uid);
        let mut id = None;
        let mut rest = Vec::with_capacity(fields.len());
        for (k, v) in fields {
            if k == id_key || k == uid {
                if id.is_some() {
                    return Err(bad(format!(
                        "record {i}: the id is given twice (`{id_key}` and `{uid}`); give it once"
                    )));
                }
                id = Some(v);
            } else {
                rest.push((k, v));
            }
        }
        let fields = rest;
        let id = match id {
            Some(id) if !id.is_empty() => id,
            _ if !insert => format!("query-{i}"),
            _ => {
                return Err(bad(format!("record {i} has no `{id_key}` (the unique id)")));
            }
        };
        let source = match (st.manifest.link_type, source) {
            (LinkType::Dedupe, _) => st.manifest.sources[0].clone(),
            (_, Some(s)) if !s.is_empty() => s,
            _ if !insert => String::new(),
            _ => {
                return Err(bad(format!(
                    "record {i} has no `_source`: a {} store needs each inserted record's source",
                    st.manifest.link_type.name()
                )));
            }
        };
        let rec = st
            .clean_record(&source, &id, &fields, rules)
            .map_err(|e| bad(format!("record {i}: {e}")))?;
        out.push(rec);
    }
    Ok(out)
}

/// The body of a `POST /match` answer.
#[derive(serde::Serialize)]
struct MatchResponse<'a> {
    /// The model's prior match weight (bits).
    prior_weight: f64,
    /// Per query record, in request order.
    results: Vec<MatchResult<'a>>,
}

/// One query record's candidates, best first.
#[derive(serde::Serialize)]
struct MatchResult<'a> {
    /// The query's id as given (empty when it had none).
    id: &'a str,
    /// Stored records at or above the request's minimum probability.
    candidates: Vec<super::Candidate>,
}

async fn match_records(
    State(s): State<Shared>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let v = match parse_body(body) {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let st = read(&s);
    let recs = match records_of(&st, &v, false) {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    let min_p = match v.get("min_probability") {
        None => st.manifest.min_probability,
        Some(x) => match x.as_f64().filter(|p| (0.0..=1.0).contains(p)) {
            Some(p) => p,
            None => {
                return err(
                    StatusCode::BAD_REQUEST,
                    "`min_probability` must be a number in [0, 1]",
                )
                .into_response();
            }
        },
    };
    match st.find(&recs, min_p) {
        // Serialised straight from the typed result: building a `Value` tree first was a
        // fifth of the server's time per request (allocations), for the same JSON.
        Ok(found) => (
            StatusCode::OK,
            axum::Json(MatchResponse {
                prior_weight: st.prior_weight(),
                results: found
                    .into_iter()
                    .zip(&recs)
                    .map(|(candidates, r)| MatchResult {
                        id: &r.id,
                        candidates,
                    })
                    .collect(),
            }),
        )
            .into_response(),
        Err(e) => err(StatusCode::BAD_REQUEST, e).into_response(),
    }
}

async fn insert(
    State(s): State<Shared>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let v = match parse_body(body) {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let res = tokio::task::spawn_blocking(move || {
        let mut st = s.write().unwrap_or_else(|p| p.into_inner());
        let recs = records_of(&st, &v, true)?;
        match st.add(&recs) {
            Ok(sum) => Ok(ok(json!({
                "generation": sum.generation,
                "pairs": sum.pairs,
                "new_clusters": sum.new_clusters,
                "merged_clusters": sum.merged_clusters,
                "records": recs.iter().zip(&sum.cluster_ids).map(|(r, c)| json!({
                    "source": r.source, "id": r.id, "cluster_id": c,
                })).collect::<Vec<_>>(),
            }))),
            Err(e @ (Error::Data(_) | Error::Invalid { .. })) => Err(err(StatusCode::CONFLICT, e)),
            Err(e) => {
                // The add failed while writing: the store on disk is as before; reopen it
                // so the memory matches the disk.
                let dir = st.dir().to_path_buf();
                if let Ok(fresh) = Store::open(&dir) {
                    fresh.index_ids();
                    *st = fresh;
                }
                Err(err(StatusCode::INTERNAL_SERVER_ERROR, e))
            }
        }
    })
    .await;
    match res {
        Ok(Ok(r)) => r,
        Ok(Err(r)) => r.into_response(),
        Err(e) => err(StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    }
}

async fn get_record(
    State(s): State<Shared>,
    Path((source, id)): Path<(String, String)>,
) -> Response {
    let st = read(&s);
    match st.record(&source, &id) {
        Some(r) => ok(json!({
            "source": source,
            "id": id,
            "cluster_id": st.cluster_of(r),
            "values": st.values(r).into_iter().map(|(k, v)| (k, Value::String(v))).collect::<serde_json::Map<String, Value>>(),
        })),
        None => err(
            StatusCode::NOT_FOUND,
            format!("no record {source}:{id} in the store"),
        )
        .into_response(),
    }
}

async fn get_cluster(State(s): State<Shared>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return err(
            StatusCode::BAD_REQUEST,
            format!("cluster id `{id}` is not a positive integer"),
        )
        .into_response();
    };
    let st = read(&s);
    match st.cluster(id) {
        Some((cur, recs)) => ok(json!({
            "cluster_id": cur,
            "requested": id,
            "records": recs.into_iter().map(|(s, i)| json!({"source": s, "id": i})).collect::<Vec<_>>(),
        })),
        None => err(
            StatusCode::NOT_FOUND,
            format!("no cluster {id} in the store"),
        )
        .into_response(),
    }
}
