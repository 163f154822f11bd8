"""fellegi.Store (issue 16): the CLI's store from Python; same bytes as the CLI, atomic adds,
stable ids, errors as exceptions."""

import subprocess

import pandas as pd
import pytest

import fellegi


def _halves(febrl4, tmp_path):
    """FEBRL4's two files split: the first 4,000 rows of each for the store, the rest to add."""
    a, b = (pd.read_csv(f, dtype=str, keep_default_na=False) for f in febrl4.files)
    first = {"dataset4a": a.iloc[:4000], "dataset4b": b.iloc[:4000]}
    rest = {"dataset4a": a.iloc[4000:], "dataset4b": b.iloc[4000:]}
    paths = {}
    for part, frames in (("first", first), ("rest", rest)):
        for name, df in frames.items():
            p = tmp_path / "in" / part / f"{name}.csv"
            p.parent.mkdir(parents=True, exist_ok=True)
            df.to_csv(p, index=False)
            paths[name if part == "first" else name + "_rest"] = p
    return first, rest, paths


@pytest.fixture(scope="module")
def model(febrl4):
    return fellegi.link(febrl4.records, febrl4.settings, seed=3, threads=2).model


def test_store_from_python_equals_the_clis_store(cli, febrl4, model, tmp_path):
    """create + add from DataFrames exports the same bytes as `store create` + `store add` on
    the same rows as CSV files (pairs, clusters with their stable ids, changes)."""
    first, rest, paths = _halves(febrl4, tmp_path)
    model_path = model.save(tmp_path / "model.json")
    # The CLI.
    cli_store = tmp_path / "cli.store"
    subprocess.run(
        [cli, "store", "create", "--model", str(model_path), "--input", str(paths["dataset4a"]),
         "--input", str(paths["dataset4b"]), "--out", str(cli_store), "--quiet"],
        check=True, capture_output=True,
    )
    for name in ("dataset4a", "dataset4b"):
        subprocess.run(
            [cli, "store", "add", str(cli_store), str(paths[name + "_rest"]), "--source", name, "--quiet"],
            check=True, capture_output=True,
        )
    subprocess.run([cli, "store", "export", str(cli_store), "--out", str(tmp_path / "cli_out")],
                   check=True, capture_output=True)
    # Python, from DataFrames.
    store = fellegi.Store.create(model, first, tmp_path / "py.store")
    assert len(store) == 8000
    assert store.info()["generation"] == 1
    sums = [store.add(rest["dataset4a"], source="dataset4a"), store.add({"dataset4b": rest["dataset4b"]})]
    assert [s["records"] for s in sums] == [1000, 1000]
    assert len(sums[1]["cluster_ids"]) == 1000
    written = store.export(tmp_path / "py_out")
    names = sorted(p.name for p in written)
    assert {"clusters.csv", "pairs.csv"} <= set(names)
    assert names == sorted(p.name for p in (tmp_path / "cli_out").iterdir())
    for f in names:
        assert (tmp_path / "py_out" / f).read_bytes() == (tmp_path / "cli_out" / f).read_bytes(), f
    assert fellegi.Store.verify(tmp_path / "py.store")["ok"]
    # Reopened, the same store.
    again = fellegi.Store.open(tmp_path / "py.store")
    assert again.info() == store.info()
    assert again.model.to_dict() == model.to_dict()


def test_match_record_cluster_and_recluster(febrl4, model, tmp_path):
    first, rest, _ = _halves(febrl4, tmp_path)
    store = fellegi.Store.create(model, first, tmp_path / "s.store")
    # A stored record's copy under a new id, presented as the other source (a link store
    # compares across sources), finds it first, with contributions that add up.
    row = first["dataset4b"].iloc[[10]].copy()
    uid = model.settings.to_dict()["unique_id"]
    want_id = row[uid].iloc[0]
    row[uid] = "probe"
    t = store.match(row, source="dataset4a").to_pandas()
    assert len(t) >= 1 and t["rank"].iloc[0] == 1
    best = t.iloc[0]
    assert best["id"] == want_id and best["query_id"] == "probe"
    weights = [c for c in t.columns if c.startswith("weight_")]
    prior = best["match_weight"] - sum(best[c] for c in weights)
    assert all(abs(r["match_weight"] - prior - sum(r[c] for c in weights)) < 1e-9 for _, r in t.iterrows())
    # Nothing was added by a match; a list of dicts is a table of records.
    assert len(store) == 8000
    as_dicts = store.match(row.to_dict("records"), source="dataset4a").to_pandas()
    pd.testing.assert_frame_equal(as_dicts, t)
    rec = store.record(best["source"], best["id"])
    assert rec["cluster_id"] == best["cluster_id"]
    assert store.cluster(rec["cluster_id"])["records"]
    assert store.record("dataset4b", "no-such-id") is None
    assert store.cluster(10**12) is None
    # An add keeps stored ids; a recluster with the same model keeps every id.
    before = store.record(best["source"], best["id"])["cluster_id"]
    s = store.add({"dataset4a": rest["dataset4a"]})
    assert s["generation"] == 2
    r = store.recluster()
    assert r["moved_records"] == 0 and r["new_ids"] == 0
    assert store.record(best["source"], best["id"])["cluster_id"] == before


def test_store_errors_are_exceptions_and_leave_the_store_untouched(febrl4, model, tmp_path):
    first, rest, _ = _halves(febrl4, tmp_path)
    store = fellegi.Store.create(model, first, tmp_path / "s.store")
    snapshot = {p.name: p.read_bytes() for p in (tmp_path / "s.store").iterdir()}
    # An id already in the store.
    with pytest.raises(fellegi.DataError, match="already in the store"):
        store.add({"dataset4a": first["dataset4a"].iloc[:3]})
    # A table in a link store without its source.
    with pytest.raises(fellegi.OptionError, match="source="):
        store.add(rest["dataset4a"])
    # A missing column the model reads.
    with pytest.raises(fellegi.InputError, match="surname"):
        store.add({"dataset4a": rest["dataset4a"].drop(columns=["surname"])})
    # A bad minimum probability.
    with pytest.raises(fellegi.OptionError):
        store.match({"dataset4a": rest["dataset4a"].iloc[:2]}, min_probability=1.5)
    assert {p.name: p.read_bytes() for p in (tmp_path / "s.store").iterdir()} == snapshot
    assert fellegi.Store.verify(tmp_path / "s.store")["ok"]
    # Creating over a store, and opening a folder that is not one.
    with pytest.raises(fellegi.InputError, match="already exists"):
        fellegi.Store.create(model, first, tmp_path / "s.store")
    (tmp_path / "empty").mkdir()
    with pytest.raises(fellegi.FellegiError):
        fellegi.Store.open(tmp_path / "empty")
    assert not fellegi.Store.verify(tmp_path / "empty")["ok"]
