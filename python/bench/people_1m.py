"""Side-by-side benchmark (issue 13 point 5): `fellegi link` on the people file against the Python
package linking the same file from a pandas DataFrame, back to back, same settings and options.

The Python timing covers everything a notebook user waits for: pandas.read_csv (dtype=str,
keep_default_na=False), the conversion to Arrow, fellegi.link and run.write (the same files the
CLI writes). Prints both wall times and the ratio, and writes them as JSON.

usage: python python/bench/people_1m.py [--entities 700000] [--seed 2] [--data DIR] [--cli PATH]
       [--threads N] [--out results.json]
The data file is made with ../shared/bench/gen_people.py ENTITIES SEED (needs numpy) if absent;
700000 entities give the 1,162,717-record file.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entities", type=int, default=700000)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--data", default="/tmp")
    ap.add_argument("--cli", default=str(Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "fellegi"))
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()

    import pandas as pd

    import fellegi

    data = Path(a.data) / f"people_{a.entities}_{a.seed}.csv"
    if not data.exists():
        lookups = SHARED / "datasets" / "generator-lookups"
        subprocess.run([sys.executable, str(SHARED / "bench" / "gen_people.py"), str(a.entities), str(a.seed), str(data), str(lookups)], check=True)
    settings = ROOT / "experiments" / "scale" / "settings.toml"
    opts = ["--min-probability", "0.5", "--threshold", "0.5"]
    threads = [] if a.threads is None else ["--threads", str(a.threads)]
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        subprocess.run([a.cli, "link", "--input", str(data), "--settings", str(settings), "--out", f"{tmp}/cli", "-q"] + opts + threads, check=True, stdout=subprocess.DEVNULL)
        cli_s = time.perf_counter() - t

        t = time.perf_counter()
        df = pd.read_csv(data, dtype=str, keep_default_na=False)
        t_read = time.perf_counter() - t
        run = fellegi.link({data.stem: df}, settings, threshold=0.5, min_probability=0.5, threads=a.threads)
        run.write(f"{tmp}/py")
        py_s = time.perf_counter() - t

        same_pairs = Path(f"{tmp}/cli/pairs.csv").read_bytes() == Path(f"{tmp}/py/pairs.csv").read_bytes()
        m = run.metrics or {}
    result = {
        "records": len(df),
        "cli_seconds": round(cli_s, 3),
        "python_seconds": round(py_s, 3),
        "python_read_csv_seconds": round(t_read, 3),
        "ratio": round(py_s / cli_s, 3),
        "pairs_identical": same_pairs,
        "f1": m.get("f1"),
    }
    print(json.dumps(result, indent=2))
    if a.out:
        Path(a.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
