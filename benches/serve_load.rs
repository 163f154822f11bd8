//! Load test of `fellegi serve` (issue 16, part 6): single-record `POST /match` requests over
//! keep-alive loopback connections, bounded in count and time; reports p50/p99 latency,
//! throughput and errors as one JSON line.
//!
//! ```sh
//! fellegi serve STORE --addr 127.0.0.1:8080 &
//! cargo bench --bench serve_load -- --addr 127.0.0.1:8080 --queries people.csv \
//!     [--requests 20000] [--seconds 30] [--clients 4] [--skip entity_id] [--server-pid PID]
//! ```
//! With `--server-pid` it also reads the server's CPU time (user + system, from
//! `/proc/PID/stat`) before and after the run and reports the server's CPU milliseconds per
//! request and the throughput that implies on two cores fully given to the server
//! (`2000 / cpu_ms_per_request`): on a 2-core machine the client shares the cores, so the
//! measured throughput alone understates what the server sustains on two cores of its own.
//! The queries are the rows of a CSV file (header = field names), sent in order, round robin
//! over the clients. Loopback only: the address must be 127.0.0.1 or localhost.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// One request on a keep-alive connection; returns the status.
fn request(s: &mut BufReader<TcpStream>, addr: &str, body: &[u8]) -> std::io::Result<u16> {
    let head = format!(
        "POST /match HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let w = s.get_mut();
    w.write_all(head.as_bytes())?;
    w.write_all(body)?;
    let mut line = String::new();
    s.read_line(&mut line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut len = 0usize;
    loop {
        line.clear();
        s.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut buf = vec![0u8; len];
    s.read_exact(&mut buf)?;
    Ok(status)
}

/// The CPU seconds (user + system) process `pid` has used, from `/proc/PID/stat`.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/PID/stat");
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    // SAFETY: sysconf has no preconditions; _SC_CLK_TCK is the unit of /proc's CPU times.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks / hz
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--bench") && arg(&args, "--addr").is_none() {
        // `cargo bench` without arguments: nothing to do.
        eprintln!("serve_load: give --addr and --queries (see the file's docs)");
        return;
    }
    let addr = arg(&args, "--addr").expect("--addr HOST:PORT");
    assert!(
        addr.starts_with("127.0.0.1:") || addr.starts_with("localhost:"),
        "loopback only"
    );
    let queries = arg(&args, "--queries").expect("--queries FILE.csv");
    let n: usize = arg(&args, "--requests").map_or(20_000, |v| v.parse().unwrap());
    let secs: f64 = arg(&args, "--seconds").map_or(30.0, |v| v.parse().unwrap());
    let clients: usize = arg(&args, "--clients").map_or(4, |v| v.parse().unwrap());
    let skip = arg(&args, "--skip").unwrap_or_else(|| "entity_id".into());
    let mut rdr = csv::Reader::from_path(&queries).expect("read queries");
    let header: Vec<String> = rdr.headers().unwrap().iter().map(str::to_string).collect();
    let bodies: Vec<Vec<u8>> = rdr
        .records()
        .take(n.max(1))
        .map(|r| {
            let r = r.unwrap();
            let mut o = serde_json::Map::new();
            for (h, v) in header.iter().zip(r.iter()) {
                if *h != skip {
                    o.insert(h.clone(), serde_json::Value::String(v.to_string()));
                }
            }
            serde_json::json!({ "record": o }).to_string().into_bytes()
        })
        .collect();
    let server_pid = arg(&args, "--server-pid");
    let cpu_before = server_pid.as_deref().map(cpu_seconds);
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let start = Instant::now();
    let results: Vec<(Vec<f64>, u64)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..clients)
            .map(|c| {
                let (addr, bodies) = (&addr, &bodies);
                s.spawn(move || {
                    let mut lat = Vec::new();
                    let mut errors = 0u64;
                    let mut conn = BufReader::new(TcpStream::connect(addr).expect("connect"));
                    conn.get_ref().set_nodelay(true).ok();
                    let mut i = c;
                    while i < n && Instant::now() < deadline {
                        let t = Instant::now();
                        match request(&mut conn, addr, &bodies[i % bodies.len()]) {
                            Ok(200) => lat.push(t.elapsed().as_secs_f64() * 1e3),
                            Ok(_) => errors += 1,
                            Err(_) => {
                                errors += 1;
                                conn = BufReader::new(TcpStream::connect(addr).expect("reconnect"));
                            }
                        }
                        i += clients;
                    }
                    (lat, errors)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let wall = start.elapsed().as_secs_f64();
    let server_cpu = server_pid
        .as_deref()
        .map(cpu_seconds)
        .zip(cpu_before)
        .map(|(a, b)| a - b);
    let mut lat: Vec<f64> = results.iter().flat_map(|r| r.0.iter().copied()).collect();
    let errors: u64 = results.iter().map(|r| r.1).sum();
    lat.sort_by(f64::total_cmp);
    let q = |p: f64| {
        if lat.is_empty() {
            f64::NAN
        } else {
            lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1]
        }
    };
    let mut out = serde_json::json!({
            "requests_ok": lat.len(),
            "errors": errors,
            "clients": clients,
            "seconds": wall,
            "throughput_per_s": lat.len() as f64 / wall,
            "p50_ms": q(0.50),
            "p99_ms": q(0.99),
            "max_ms": lat.last().copied().unwrap_or(f64::NAN),
    });
    if let Some(cpu) = server_cpu {
        let per = cpu * 1e3 / lat.len().max(1) as f64;
        out["server_cpu_s"] = serde_json::json!(cpu);
        out["server_cpu_ms_per_request"] = serde_json::json!(per);
        out["two_core_capacity_per_s"] = serde_json::json!(2000.0 / per);
    }
    println!("{out}");
}
