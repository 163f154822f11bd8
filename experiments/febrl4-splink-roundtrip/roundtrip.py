"""Splink interop check on FEBRL4, both directions (run by run.sh; needs Splink 5 from
shared/bench/setup.sh).

  (a) fellegi's fitted FEBRL4 model, exported with `fellegi config export-splink`, loaded into
      Splink 5's Linker: Splink's match weight for every pair fellegi scores.
  (b) a Splink-trained FEBRL4 model (the training of shared/bench/splink_febrl.py), imported with
      `fellegi config import-splink` and scored by `fellegi predict`: fellegi's match weight for
      every pair Splink scores.

Pairs are keyed by the two record ids (unordered); both tools score all candidate pairs (no
probability threshold). Writes one JSON object with the pair counts and the largest absolute
weight differences, and exits 1 if a difference exceeds the tolerance or the pair sets differ.
usage: python roundtrip.py FELLEGI_BIN DATA_DIR WORK_DIR OUT_JSON"""
import json, subprocess, sys, time
import pandas as pd
from splink import Linker, SettingsCreator, block_on, DuckDBAPI
import splink.comparison_library as cl

fellegi, data, work, out_json = sys.argv[1:5]
TOL = 1e-9


def load(name):
    # fellegi's missing value is an empty field; Splink's is NULL.
    return pd.read_csv(f"{data}/{name}", dtype=str, keep_default_na=False).replace("", None)


def frames():
    return [load("dataset4a.csv"), load("dataset4b.csv")]


def run(*args):
    subprocess.run([fellegi, *args], check=True)


def splink_weights(linker):
    pred = linker.inference.predict().as_pandas_dataframe()
    return {frozenset((r.record_id_l, r.record_id_r)): float(r.match_weight)
            for r in pred[["record_id_l", "record_id_r", "match_weight"]].itertuples()}


def fellegi_weights(pairs_csv):
    p = pd.read_csv(pairs_csv, dtype={"id_l": str, "id_r": str})
    return {frozenset((a, b)): float(w) for a, b, w in zip(p.id_l, p.id_r, p.match_weight)}


def compare(ref, other):
    common = ref.keys() & other.keys()
    diffs = [abs(ref[k] - other[k]) for k in common]
    worst = max(common, key=lambda k: abs(ref[k] - other[k])) if common else None
    return {
        "pairs_reference": len(ref), "pairs_other": len(other), "pairs_common": len(common),
        "only_in_reference": len(ref.keys() - other.keys()),
        "only_in_other": len(other.keys() - ref.keys()),
        "max_abs_weight_diff": max(diffs) if diffs else None,
        "worst_pair": sorted(worst) if worst else None,
        "max_abs_weight": max(abs(v) for v in ref.values()) if ref else None,
    }


def linker_for(settings):
    db = DuckDBAPI()
    sdfs = [db.register(f, table_name=f"febrl4{s}") for f, s in zip(frames(), "ab")]
    return Linker(sdfs, settings, log_level=30)


t0 = time.time()
# (a) fellegi -> Splink
run("link", "--dataset", "febrl4", "--out", f"{work}/fellegi", "--min-probability", "0",
    "--seed", "42", "-q")
run("config", "export-splink", f"{work}/fellegi/model.json", "--out", f"{work}/fellegi-as-splink.json")
exported = json.load(open(f"{work}/fellegi-as-splink.json"))
a = compare(fellegi_weights(f"{work}/fellegi/pairs.csv"), splink_weights(linker_for(exported)))
a["reference"], a["other"] = "fellegi link (its model.json)", "Splink 5 Linker on the exported JSON"

# (b) Splink -> fellegi
settings = SettingsCreator(
    link_type="link_only",
    unique_id_column_name="record_id",
    comparisons=[
        cl.JaroWinklerAtThresholds("given_name", [0.9, 0.8]),
        cl.JaroWinklerAtThresholds("surname", [0.9, 0.8]),
        cl.LevenshteinAtThresholds("date_of_birth", [1, 2]),
        cl.JaroWinklerAtThresholds("suburb", [0.9]),
        cl.ExactMatch("postcode"),
        cl.ExactMatch("state"),
        cl.JaroWinklerAtThresholds("address_1", [0.9]),
        cl.LevenshteinAtThresholds("soc_sec_id", [1, 2]),
        cl.ExactMatch("street_number"),
    ],
    blocking_rules_to_generate_predictions=[
        block_on("given_name"), block_on("surname"), block_on("date_of_birth"),
        block_on("soc_sec_id"), block_on("postcode"),
    ],
)
linker = linker_for(settings)
linker.training.estimate_probability_two_random_records_match(
    [block_on("given_name", "surname"), block_on("date_of_birth", "soc_sec_id")], recall=0.8)
linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
linker.training.estimate_parameters_using_expectation_maximisation(block_on("given_name", "surname"))
linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
linker.misc.save_model_to_json(f"{work}/splink-model.json", overwrite=True)
sw = splink_weights(linker)
run("config", "import-splink", f"{work}/splink-model.json", "--out", f"{work}/splink-as-fellegi.json")
run("predict", "--dataset", "febrl4", "--model", f"{work}/splink-as-fellegi.json",
    "--out", f"{work}/fellegi-predict", "--min-probability", "0", "-q")
b = compare(sw, fellegi_weights(f"{work}/fellegi-predict/pairs.csv"))
b["reference"], b["other"] = "Splink 5 (trained, saved model JSON)", "fellegi predict on the imported model"

# (c) every level kind: a hand-set fitted model (every_level.toml) on generated records with
# typos, transpositions, shifted dates, nearby and unparseable numbers and missing values.
import random
rng = random.Random(7)
names = ["anna", "annie", "johanna", "jon", "john", "jonathan", "mary", "marie", "maria",
         "smith", "smyth", "smiht", "schmidt", "o'neil", "oneill", "müller", "muller", "zoë"]
rows = []
for i in range(1500):
    def typo(s):
        s = list(s)
        r = rng.random()
        if r < 0.2 and len(s) > 2:
            j = rng.randrange(len(s) - 1); s[j], s[j + 1] = s[j + 1], s[j]
        elif r < 0.35:
            s[rng.randrange(len(s))] = rng.choice("aeiouxyz")
        elif r < 0.45:
            s.insert(rng.randrange(len(s) + 1), rng.choice("abcn"))
        return "".join(s)
    y, m, d = rng.randint(1950, 2000), rng.randint(1, 12), rng.randint(1, 28)
    dob = f"{y}-{m:02d}-{d:02d}" if rng.random() > 0.05 else rng.choice(["", "n/a", "1990-02-30"])
    inc = rng.choice([str(rng.randint(0, 50) * 100), f"{rng.uniform(-500, 20000):.1f}", "0", "", "unknown", " 1200 "])
    rows.append({"rid": f"r{i}", "given name": typo(rng.choice(names)) if rng.random() > 0.05 else "",
                 "surname": typo(rng.choice(names)) if rng.random() > 0.03 else "", "dob": dob, "income": inc})
gen = pd.DataFrame(rows)
gen.to_csv(f"{work}/generated.csv", index=False)
here = "experiments/febrl4-splink-roundtrip"
run("predict", "-i", f"{work}/generated.csv", "--model", f"{here}/every_level.toml",
    "--out", f"{work}/every-level", "--min-probability", "0", "-q")
run("config", "export-splink", f"{here}/every_level.toml", "--out", f"{work}/every-level-splink.json")
gen_sp = pd.read_csv(f"{work}/generated.csv", dtype=str, keep_default_na=False).replace("", None)
ev = Linker(DuckDBAPI().register(gen_sp, table_name="generated"),
            json.load(open(f"{work}/every-level-splink.json")), log_level=30)
pred = ev.inference.predict().as_pandas_dataframe()
ev_splink = {frozenset((a_, b_)): float(w) for a_, b_, w in zip(pred.rid_l, pred.rid_r, pred.match_weight)}
c = compare(fellegi_weights(f"{work}/every-level/pairs.csv"), ev_splink)
c["reference"], c["other"] = "fellegi predict (every_level.toml)", "Splink 5 on the exported JSON"
fp = pd.read_csv(f"{work}/every-level/pairs.csv", dtype=str)
c["pairs_per_level"] = {col: fp[col].value_counts().sort_index().to_dict()
                        for col in fp.columns if col.startswith("gamma_")}

result = {
    "dataset": "febrl4", "tolerance": TOL,
    "fellegi_to_splink": a, "splink_to_fellegi": b, "every_level_kind": c,
    "seconds": round(time.time() - t0, 1),
}
ok = all(r["max_abs_weight_diff"] is not None and r["max_abs_weight_diff"] <= TOL
         and r["only_in_reference"] == 0 and r["only_in_other"] == 0 for r in (a, b, c))
result["pass"] = ok
json.dump(result, open(out_json, "w"), indent=2)
open(out_json, "a").write("\n")
print(json.dumps(result, indent=2))
sys.exit(0 if ok else 1)
