"""Term-frequency parity on FEBRL4 (run by run.sh; needs Splink 5 from shared/bench/setup.sh).

fellegi links FEBRL4 with term-frequency adjustments on given_name and surname
(settings-tf.toml) and writes every candidate pair (--min-probability 0); its fitted model is
exported with `fellegi config export-splink` (tf_adjustment_column on the exact levels) and
loaded into Splink 5's Linker, which computes its own term-frequency tables over both inputs
and predicts every candidate pair. Both tools then hold the same λ, m and u, so the match
weights, term-frequency terms included, must agree for every pair. Also checks that
fellegi's tf_<comparison> columns equal Splink's tf adjustment (log2 of bf_tf_adj_<comparison>).
Writes one JSON object; exits 1 if a difference exceeds 1e-9 or the pair sets differ.
usage: python parity.py FELLEGI_BIN DATA_DIR WORK_DIR OUT_JSON"""
import json, math, subprocess, sys, time
import pandas as pd
from splink import Linker, DuckDBAPI

fellegi, data, work, out_json = sys.argv[1:5]
TOL = 1e-9
here = "experiments/febrl4-splink-tf"


def load(name):
    # fellegi's missing value is an empty field; Splink's is NULL.
    return pd.read_csv(f"{data}/{name}", dtype=str, keep_default_na=False).replace("", None)


t0 = time.time()
subprocess.run([fellegi, "link", "--dataset", "febrl4", "--settings", f"{here}/settings-tf.toml",
                "--out", f"{work}/fellegi", "--min-probability", "0", "--seed", "42", "-q"], check=True)
subprocess.run([fellegi, "config", "export-splink", f"{work}/fellegi/model.json",
                "--out", f"{work}/model-as-splink.json"], check=True)
t1 = time.time()
settings = json.load(open(f"{work}/model-as-splink.json"))
settings["retain_intermediate_calculation_columns"] = True
db = DuckDBAPI()
sdfs = [db.register(load(f), table_name=f"febrl4{s}") for f, s in (("dataset4a.csv", "a"), ("dataset4b.csv", "b"))]
linker = Linker(sdfs, settings, log_level=30)
pred = linker.inference.predict().as_pandas_dataframe()
t2 = time.time()

fel = pd.read_csv(f"{work}/fellegi/pairs.csv", dtype={"id_l": str, "id_r": str})
key = lambda a, b: frozenset((a, b))
f_w = {key(a, b): w for a, b, w in zip(fel.id_l, fel.id_r, fel.match_weight)}
s_w = {key(a, b): w for a, b, w in zip(pred.record_id_l, pred.record_id_r, pred.match_weight)}
common = f_w.keys() & s_w.keys()
diff = {k: abs(f_w[k] - s_w[k]) for k in common}
worst = max(diff, key=diff.get) if diff else None
out = {
    "pairs_fellegi": len(f_w), "pairs_splink": len(s_w), "pairs_common": len(common),
    "only_in_fellegi": len(f_w.keys() - s_w.keys()), "only_in_splink": len(s_w.keys() - f_w.keys()),
    "max_abs_weight_diff": max(diff.values()) if diff else None,
    "worst_pair": sorted(worst) if worst else None,
}
for c in ("given_name", "surname"):
    f_tf = {key(a, b): t for a, b, t in zip(fel.id_l, fel.id_r, fel[f"tf_{c}"])}
    col = f"bf_tf_adj_{c}"
    if col in pred.columns:
        s_tf = {key(a, b): math.log2(x) for a, b, x in zip(pred.record_id_l, pred.record_id_r, pred[col])}
    else:  # Splink 5 keeps the adjustment in log space
        s_tf = {key(a, b): x for a, b, x in zip(pred.record_id_l, pred.record_id_r, pred[f"mw_tf_adj_{c}"])}
    d = [abs(f_tf[k] - s_tf[k]) for k in common]
    out[f"max_abs_tf_{c}_diff"] = max(d)
    out[f"pairs_with_tf_{c}"] = sum(1 for k in common if f_tf[k] != 0.0)
out["seconds_fellegi"] = round(t1 - t0, 2)
out["seconds_splink"] = round(t2 - t1, 2)
out["tolerance"] = TOL
out["ok"] = (out["only_in_fellegi"] == 0 and out["only_in_splink"] == 0
             and out["max_abs_weight_diff"] <= TOL
             and all(out[f"max_abs_tf_{c}_diff"] <= TOL for c in ("given_name", "surname")))
json.dump(out, open(out_json, "w"), indent=2)
open(out_json, "a").write("\n")
print(json.dumps(out))
sys.exit(0 if out["ok"] else 1)
