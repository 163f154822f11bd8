//! An add is atomic (issue 16, part 4): `fellegi store add` killed with SIGKILL at random
//! moments, many times; after each kill `fellegi store verify` passes and the store is exactly
//! as before the add or exactly as after it (its export equals a reference store's that ran
//! the same adds uninterrupted).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fellegi::progress::Progress;
use fellegi::settings::Settings;
use fellegi::store::{self, Store, StoreOptions};

const BIN: &str = env!("CARGO_BIN_EXE_fellegi");
const FEBRL3: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/datasets/febrl/dataset3.csv");
const SETTINGS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/datasets/settings/febrl_dedupe.toml"
);

fn write_csv(path: &Path, header: &str, rows: &[&str]) {
    let mut s = String::from(header);
    s.push('\n');
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    std::fs::write(path, s).unwrap();
}

fn export_bytes(dir: &Path, out: &Path) -> Vec<Vec<u8>> {
    let _ = std::fs::remove_dir_all(out);
    Store::open(dir).unwrap().export(out).unwrap();
    ["pairs.csv", "clusters.csv", "changes.csv"]
        .iter()
        .map(|f| std::fs::read(out.join(f)).unwrap())
        .collect()
}

/// A small deterministic generator (xorshift), so the test needs no seed plumbing.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn sigkilled_adds_leave_the_store_as_before_or_as_after() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let text = std::fs::read_to_string(FEBRL3).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    // Fit a model on the whole file once, in process.
    let settings = Settings::from_path(Path::new(SETTINGS))
        .unwrap()
        .expanded("febrl_dedupe")
        .unwrap();
    let base = t.join("people.csv");
    write_csv(&base, header, &rows[..1500]);
    let progress = Progress::default();
    let ds = fellegi::pipeline::load(&settings, std::slice::from_ref(&base), &progress).unwrap();
    let model = fellegi::pipeline::fit(&settings, &ds, 1, &progress)
        .unwrap()
        .model;
    let opts = StoreOptions::default();
    let victim = t.join("victim");
    let reference = t.join("reference");
    store::create(
        &model,
        "m",
        std::slice::from_ref(&base),
        opts,
        &victim,
        &progress,
    )
    .unwrap();
    store::create(
        &model,
        "m",
        std::slice::from_ref(&base),
        opts,
        &reference,
        &progress,
    )
    .unwrap();
    // Batches of 100 new records each.
    let batches: Vec<PathBuf> = (0..30)
        .map(|b| {
            let p = t.join(format!("batch{b}.csv"));
            let lo = 1500 + b * 100;
            write_csv(&p, header, &rows[lo..lo + 100]);
            p
        })
        .collect();
    // How long one add takes, to spread the kills over it.
    let probe = t.join("probe");
    store::create(
        &model,
        "m",
        std::slice::from_ref(&base),
        opts,
        &probe,
        &progress,
    )
    .unwrap();
    let start = Instant::now();
    let st = Command::new(BIN)
        .args(["store", "add", "-q"])
        .arg(&probe)
        .arg(&batches[0])
        .status()
        .unwrap();
    assert!(st.success());
    let full = start.elapsed();
    let mut rng = Rng(0x9e3779b97f4a7c15);
    let mut next = 0usize;
    let (mut kills, mut before, mut after) = (0, 0, 0);
    let mut expected = export_bytes(&reference, &t.join("e_ref"));
    for _round in 0..40 {
        if next >= batches.len() {
            break;
        }
        let g0 = Store::open(&victim).unwrap().manifest.generation;
        let mut child = Command::new(BIN)
            .args(["store", "add", "-q"])
            .arg(&victim)
            .arg(&batches[next])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let wait = full.as_micros() as u64 * (rng.next() % 120) / 100;
        std::thread::sleep(Duration::from_micros(wait));
        let _ = child.kill(); // SIGKILL on Unix
        let _ = child.wait();
        kills += 1;
        // verify (the CLI) passes whatever the moment of the kill.
        let v = Command::new(BIN)
            .args(["store", "verify"])
            .arg(&victim)
            .output()
            .unwrap();
        assert!(
            v.status.success(),
            "verify failed after a kill: {}",
            String::from_utf8_lossy(&v.stderr)
        );
        let g1 = Store::open(&victim).unwrap().manifest.generation;
        if g1 == g0 + 1 {
            // After: the reference does the same add uninterrupted.
            let mut r = Store::open(&reference).unwrap();
            let recs = r
                .read_new(&[batches[next].clone()], None, &progress)
                .unwrap();
            r.add(&recs).unwrap();
            expected = export_bytes(&reference, &t.join("e_ref"));
            next += 1;
            after += 1;
        } else {
            assert_eq!(g1, g0, "generation jumped");
            before += 1;
        }
        assert_eq!(
            export_bytes(&victim, &t.join("e_victim")),
            expected,
            "the store is neither as before nor as after the add"
        );
    }
    assert!(kills >= 30);
    // Both outcomes were seen, so the kills did land inside adds and after them.
    assert!(before > 0 && after > 0, "before {before}, after {after}");
    // And the store still takes adds after all the kills.
    let st = Command::new(BIN)
        .args(["store", "add", "-q"])
        .arg(&victim)
        .arg(&batches[batches.len() - 1])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success() || next == batches.len());
    assert!(store::verify(&victim).ok());
}
