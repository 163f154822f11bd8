"""fellegi from Python: same results as the CLI, errors as exceptions, the API's shapes."""

import html
import json
import re
import subprocess

import pandas as pd
import pyarrow as pa
import pytest

import fellegi


def cli_link(cli, files, settings, out, *extra):
    args = [cli, "link", "--settings", str(settings), "--out", str(out), "--quiet"]
    for f in files:
        args += ["--input", str(f)]
    subprocess.run(args + list(extra), check=True, capture_output=True)


def test_dataframes_give_the_clis_model_and_pairs(cli, febrl4, tmp_path):
    """Issue 13 point 4: same seed, same result from DataFrames and from the CLI."""
    settings_path = fellegi._native.dataset_entry("febrl4")[1]
    cli_link(cli, febrl4.files, settings_path, tmp_path / "cli", "--seed", "7")
    run = fellegi.link(febrl4.records, febrl4.settings, seed=7, threads=1)
    run.write(tmp_path / "py")
    cli_model = json.loads((tmp_path / "cli" / "model.json").read_text())
    py_model = json.loads((tmp_path / "py" / "model.json").read_text())
    # In-memory inputs record a digest of their values, not of a file: the only difference.
    for a, b in zip(cli_model["fit"]["inputs"], py_model["fit"]["inputs"]):
        assert a["source"] == b["source"] and a["records"] == b["records"]
        assert len(b["sha256"]) == 64 and a["sha256"] != b["sha256"]
        b["sha256"] = a["sha256"]
    assert py_model == cli_model
    # Pairs byte-identical as CSV, and the Arrow table holds the same rows.
    assert (tmp_path / "py" / "pairs.csv").read_bytes() == (tmp_path / "cli" / "pairs.csv").read_bytes()
    assert (tmp_path / "py" / "clusters.csv").read_bytes() == (tmp_path / "cli" / "clusters.csv").read_bytes()
    cli_pairs = pd.read_csv(tmp_path / "cli" / "pairs.csv", dtype={"id_l": str, "id_r": str})
    pd.testing.assert_frame_equal(run.pairs.to_pandas(), cli_pairs, check_dtype=False)
    m = json.loads((tmp_path / "cli" / "metrics.json").read_text())
    for k in ("precision", "recall", "f1", "threshold"):
        assert run.metrics[k] == m[k]


def test_csv_paths_give_byte_identical_model(cli, febrl4, tmp_path):
    settings_path = fellegi._native.dataset_entry("febrl4")[1]
    cli_link(cli, febrl4.files, settings_path, tmp_path / "cli")
    run = fellegi.link([str(f) for f in febrl4.files], settings_path, threads=2)
    run.model.save(tmp_path / "model.json")
    assert (tmp_path / "model.json").read_bytes() == (tmp_path / "cli" / "model.json").read_bytes()


def test_report_writes_the_clis_four_pages(cli, febrl4, tmp_path):
    """Issue 18: the review and teaching pages from Python, byte-identical to `link --report`."""
    settings_path = fellegi._native.dataset_entry("febrl4")[1]
    cli_link(cli, febrl4.files, settings_path, tmp_path / "cli", "--report")
    title = html.unescape(
        re.search(r"<title>(.*?)</title>", (tmp_path / "cli" / "report.html").read_text()).group(1)
    )
    run = fellegi.link([str(f) for f in febrl4.files], settings_path)
    files = run.write(tmp_path / "py", report=True, title=title)
    for page in ("patterns.html", "clusters.html", "label.html", "lab.html"):
        assert tmp_path / "py" / page in files
        assert (tmp_path / "py" / page).read_bytes() == (tmp_path / "cli" / page).read_bytes(), page
    # Without the report, no pages.
    plain = run.write(tmp_path / "plain")
    assert not any(f.name.endswith(".html") for f in plain)


def test_threads_do_not_change_results(febrl4):
    a = fellegi.link(febrl4.records, febrl4.settings, threads=1)
    b = fellegi.link(febrl4.records, febrl4.settings, threads=2)
    assert a.pairs.equals(b.pairs)
    assert a.model.to_dict() == b.model.to_dict()


def test_pyarrow_and_polars_inputs(febrl4):
    base = fellegi.link(febrl4.records, febrl4.settings)
    tables = {k: pa.Table.from_pandas(v, preserve_index=False) for k, v in febrl4.records.items()}
    assert fellegi.link(tables, febrl4.settings).pairs.equals(base.pairs)
    pl = pytest.importorskip("polars")
    frames = {k: pl.from_pandas(v) for k, v in febrl4.records.items()}
    assert fellegi.link(frames, febrl4.settings).pairs.equals(base.pairs)


def test_model_api(febrl4, tmp_path):
    run = fellegi.link(febrl4.records, febrl4.settings, one_to_one="greedy")
    model = run.model
    assert 0 < model.lambda_ < 1
    mu = model.m_u().to_pandas()
    assert list(mu.columns) == ["comparison", "level", "label", "m", "u", "weight"]
    rest = mu[mu["label"] != "null"]
    assert (rest.groupby("comparison")["m"].sum() - 1).abs().max() < 1e-9
    path = model.save(tmp_path / "m.json")
    loaded = fellegi.load_model(path)
    assert loaded.lambda_ == model.lambda_
    pairs = loaded.predict(febrl4.records)
    assert pairs.num_rows > 0
    top = run.pairs.sort_by([("match_probability", "descending")]).slice(0, 1).to_pylist()[0]
    left, right = f"{top['source_l']}:{top['id_l']}", f"{top['source_r']}:{top['id_r']}"
    w = model.explain(left, right).to_pandas()
    assert w["term"].iloc[0] == "prior"
    assert abs(w["cumulative_weight"].iloc[-1] - top["match_weight"]) < 1e-9
    w2 = loaded.explain(left, right, febrl4.records).to_pandas()
    pd.testing.assert_frame_equal(w, w2)
    for name in run.chart_names():
        svg = run.chart(name)._repr_svg_()
        assert svg.lstrip().startswith("<svg") or "<svg" in svg[:200]
    assert "<svg" in loaded.chart("m_u")._repr_svg_()
    with pytest.raises(fellegi.OptionError):
        loaded.chart("nope")
    report = run.report(tmp_path / "report.html")
    assert "<html" in report.read_text()[:500].lower()
    assert run.clusters.num_rows == sum(len(v) for v in febrl4.records.values())


def test_train_and_evaluate(febrl4):
    model = fellegi.train(febrl4.records, febrl4.settings)
    run = fellegi.link(febrl4.records, febrl4.settings)
    assert model.m_u().equals(run.model.m_u())
    assert model.lambda_ == run.model.lambda_
    e = fellegi.evaluate(run.pairs, febrl4.records, link_type="link", unique_id=febrl4.unique_id, truth_column=febrl4.truth)
    assert abs(e["f1"] - run.metrics["f1"]) < 1e-12
    # Labels: the true pairs among the kept pairs, Splink-style.
    p = run.pairs.to_pandas().head(50)
    labels = pd.DataFrame({
        "unique_id_l": p["id_l"], "source_dataset_l": p["source_l"],
        "unique_id_r": p["id_r"], "source_dataset_r": p["source_r"],
        "clerical_match_score": 1.0,
    })
    e = fellegi.evaluate(run.pairs, labels=labels)
    assert e["recall"] == 1.0


def test_settings_roundtrip(febrl4, tmp_path):
    s = febrl4.settings
    d = s.to_dict()
    assert fellegi.Settings(d).to_dict() == d
    t = fellegi.Settings.from_toml(s.to_toml())
    assert t.to_dict() == d
    p = tmp_path / "s.toml"
    p.write_text(s.to_toml())
    assert fellegi.Settings(p).to_dict() == d


def test_errors_are_exceptions(febrl4):
    with pytest.raises(fellegi.SettingsError) as e:
        fellegi.Settings.from_toml('link_type = "link"\nunique_id = "id"\n[[comparison]]\ncolumn = "x"\nuse = "nope"\n')
    assert isinstance(e.value, ValueError)
    with pytest.raises(fellegi.OptionError):
        fellegi.link(febrl4.records, febrl4.settings, threshold=2.0)
    with pytest.raises(fellegi.OptionError):
        fellegi.link(febrl4.records, febrl4.settings, method="magic")
    a, b = febrl4.records.values()
    bad = a.copy()
    bad.loc[3, febrl4.unique_id] = bad.loc[2, febrl4.unique_id]
    with pytest.raises(fellegi.InputError, match="row 3.*duplicate id"):
        fellegi.link({"a": bad, "b": b}, febrl4.settings)
    missing = a.drop(columns=["surname"])
    with pytest.raises(fellegi.InputError, match="no column `surname`"):
        fellegi.link({"a": missing, "b": b}, febrl4.settings)
    floats = a.copy()
    floats["surname"] = 1.5
    with pytest.raises(fellegi.InputError, match="Arrow type"):
        fellegi.link({"a": floats, "b": b}, febrl4.settings)
    with pytest.raises(fellegi.OptionError, match="two or more inputs"):
        fellegi.link(a, febrl4.settings)
    with pytest.raises(fellegi.DatasetError):
        fellegi.datasets.load("no-such-dataset")
    with pytest.raises(fellegi.FellegiError):
        fellegi.load_model("/nonexistent/model.json")


def test_nulls_and_empty_strings_are_missing(febrl4):
    a, b = febrl4.records.values()
    with_none = a.copy()
    with_none.loc[with_none["surname"] == "", "surname"] = None
    base = fellegi.link(febrl4.records, febrl4.settings)
    names = list(febrl4.records)
    other = fellegi.link({names[0]: with_none, names[1]: b}, febrl4.settings)
    assert other.pairs.equals(base.pairs)


def test_datasets_and_generate(tmp_path):
    assert "febrl4" in fellegi.datasets.list()
    recs = fellegi.generate(tmp_path / "gen", entities=200, sources=2, overlap=0.5, seed=3)
    assert len(recs) == 2 and all(len(v) > 0 for v in recs.values())
    again = fellegi.generate(tmp_path / "gen2", entities=200, sources=2, overlap=0.5, seed=3)
    for k in recs:
        pd.testing.assert_frame_equal(recs[k], again[k])


def test_splink_settings_round_trip(febrl4):
    # A fitted fellegi model goes to Splink's JSON and back with the same levels, m, u and λ.
    run = fellegi.link(febrl4.records, febrl4.settings, seed=3)
    model = fellegi.Settings(run.model.to_dict())
    splink = model.to_splink()
    assert splink["link_type"] == "link_only"
    assert len(splink["comparisons"]) == len(model.to_dict()["comparison"])
    back = fellegi.Settings.from_splink(splink)
    assert abs(back.to_dict()["lambda"] - model.to_dict()["lambda"]) < 1e-12
    for c_old, c_new in zip(model.to_dict()["comparison"], back.to_dict()["comparison"]):
        for l_old, l_new in zip(c_old["levels"], c_new["levels"]):
            for key in ("m", "u"):
                if key in l_old:
                    assert abs(l_old[key] - l_new[key]) < 1e-12
    # A level Splink's JSON has and fellegi does not: a named error.
    splink["comparisons"][0]["comparison_levels"][1]["sql_condition"] = "soundex(x_l) = soundex(x_r)"
    with pytest.raises(fellegi.SettingsError, match="comparison_levels"):
        fellegi.Settings.from_splink(splink)


def test_ctrl_c_stops_the_run_with_keyboard_interrupt(febrl4):
    # Ctrl-C (SIGINT to the main thread) while Rust works: the run stops at its next phase
    # boundary and KeyboardInterrupt is raised; the next call works normally.
    import _thread
    import threading

    import pyarrow as pa

    # The inputs as Arrow tables first, so that each call's Python side is next to nothing and
    # the one interrupt lands while Rust works (not in pandas-to-Arrow conversion code, whose
    # own signal checks are outside fellegi's control).
    tables = {k: pa.Table.from_pandas(v, preserve_index=False) for k, v in febrl4.records.items()}
    timer = threading.Timer(0.05, _thread.interrupt_main)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        # Long enough that the interrupt lands while Rust is working.
        for _ in range(50):
            fellegi.link(tables, febrl4.settings, method="exhaustive")
    timer.join()
    run = fellegi.link(febrl4.records, febrl4.settings)
    assert run.metrics["f1"] > 0.9
