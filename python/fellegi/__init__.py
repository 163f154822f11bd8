"""fellegi: probabilistic record linkage (Fellegi–Sunter, m and u estimated by EM).

A thin face over the fellegi Rust library: records go in as pandas or polars DataFrames,
pyarrow Tables or CSV paths, through the Arrow C data interface (no per-row Python loop), and
results come back as pyarrow Tables. Every call runs the library's own pipeline with the GIL
released; Ctrl-C raises ``KeyboardInterrupt``.

>>> import fellegi
>>> data = fellegi.datasets.load("febrl4")                          # doctest: +SKIP
>>> run = fellegi.link(data.records, data.settings)                 # doctest: +SKIP
>>> run.metrics["f1"]                                               # doctest: +SKIP
>>> run.model.m_u().to_pandas()                                     # doctest: +SKIP

Values are text, read exactly as the CLI reads a CSV field: an empty string and a null are both
missing. Read CSV files with ``pandas.read_csv(path, dtype=str, keep_default_na=False)`` so that
``NA`` and numbers stay as written; then model and pairs equal the CLI's on the same file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import pyarrow as pa

from . import _native
from ._errors import (
    ChartError,
    DataError,
    DatasetError,
    FellegiError,
    FellegiIOError,
    InputError,
    InternalError,
    EngineError,
    CancelledError,
    OptionError,
    SettingsError,
)

__all__ = [
    "Settings",
    "LinkRun",
    "FittedModel",
    "Chart",
    "link",
    "train",
    "evaluate",
    "generate",
    "load_model",
    "Store",
    "datasets",
    "FellegiError",
    "SettingsError",
    "InputError",
    "OptionError",
    "DataError",
    "DatasetError",
    "FellegiIOError",
    "ChartError",
    "InternalError",
    "EngineError",
    "CancelledError",
]

__version__ = _native.version()

PathLike = Union[str, "os.PathLike[str]"]


# ------------------------------------------------------------------ tables


def _to_arrow(obj: Any, columns: Optional[Sequence[str]] = None) -> Any:
    """A pyarrow Table of ``obj`` (pandas, polars, pyarrow or any Arrow stream), keeping
    ``columns`` when given (those present), with every kept column as text."""
    if isinstance(obj, (pa.Table, pa.RecordBatch)):
        table = pa.Table.from_batches([obj]) if isinstance(obj, pa.RecordBatch) else obj
    elif type(obj).__module__.startswith("pandas"):
        if columns is not None:
            obj = obj[[c for c in columns if c in obj.columns]]
        table = pa.Table.from_pandas(obj, preserve_index=False)
    elif type(obj).__module__.startswith("polars"):
        if columns is not None:
            obj = obj.select([c for c in columns if c in obj.columns])
        table = obj.to_arrow()
    elif hasattr(obj, "__arrow_c_stream__"):
        table = pa.table(obj)
    else:
        raise InputError(
            f"expected a pandas or polars DataFrame, a pyarrow Table or a CSV path, got {type(obj).__name__}"
        )
    if columns is not None:
        keep = [c for c in columns if c in table.column_names]
        table = table.select(keep)
    return _as_text(table)


def _as_text(table: Any) -> Any:
    """Casts dictionary, integer and all-null columns to strings; other non-text columns are
    left for the library to reject with a message naming them."""
    fields = []
    arrays = []
    for field, col in zip(table.schema, table.columns):
        t = field.type
        if pa.types.is_dictionary(t):
            col = col.cast(t.value_type)
            t = t.value_type
        if pa.types.is_integer(t) or pa.types.is_null(t) or pa.types.is_boolean(t):
            col = col.cast(pa.string())
        fields.append(field.name)
        arrays.append(col)
    return pa.Table.from_arrays(arrays, names=fields)


def _named_inputs(inputs: Any, columns: Optional[Sequence[str]]) -> List[Tuple[str, Any]]:
    """(name, table or path) pairs: a dict's keys name its values; otherwise a path's stem, else
    ``source_0``, ``source_1``, ..."""
    if isinstance(inputs, Mapping):
        items = list(inputs.items())
    elif isinstance(inputs, (list, tuple)):
        items = [(None, x) for x in inputs]
    else:
        items = [(None, inputs)]
    out = []
    for i, (name, x) in enumerate(items):
        if isinstance(x, (str, os.PathLike)):
            out.append((str(name) if name is not None else Path(x).stem, os.fspath(x)))
        else:
            out.append((str(name) if name is not None else f"source_{i}", _to_arrow(x, columns)))
    return out


def _table(native: Any) -> Any:
    """A pyarrow Table from a native table (Arrow PyCapsule stream)."""
    return pa.RecordBatchReader.from_stream(native).read_all()


# ------------------------------------------------------------------ settings


class Settings:
    """Linkage settings: the TOML schema of ``fellegi link --settings`` (or a fitted model).

    Build them with :meth:`from_toml`, :meth:`from_file`, :meth:`from_dict`, or pass TOML text,
    a path or a dict to the constructor. Validation errors (:class:`SettingsError`) name the key
    path, as the CLI's do.
    """

    def __init__(self, source: Union[str, PathLike, Mapping[str, Any], "Settings"]) -> None:
        if isinstance(source, Settings):
            self._native = source._native
        elif isinstance(source, Mapping):
            self._native = _native.NativeSettings.from_json(json.dumps(source), "dict")
        elif isinstance(source, os.PathLike) or (
            isinstance(source, str) and "\n" not in source and "=" not in source
        ):
            self._native = _native.NativeSettings.from_path(os.fspath(source))
        else:
            self._native = _native.NativeSettings.from_toml(str(source), "string")

    @classmethod
    def _wrap(cls, native: Any) -> "Settings":
        s = cls.__new__(cls)
        s._native = native
        return s

    @classmethod
    def from_toml(cls, text: str, origin: str = "string") -> "Settings":
        """Settings from TOML text; ``origin`` names them in error messages."""
        return cls._wrap(_native.NativeSettings.from_toml(text, origin))

    @classmethod
    def from_file(cls, path: PathLike) -> "Settings":
        """Settings from a TOML file, or a fitted model from a ``model.json``."""
        return cls._wrap(_native.NativeSettings.from_path(os.fspath(path)))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], origin: str = "dict") -> "Settings":
        """Settings from a dict shaped like the TOML (as :meth:`to_dict` returns)."""
        return cls._wrap(_native.NativeSettings.from_json(json.dumps(d), origin))

    @classmethod
    def from_splink(
        cls, source: Union[str, PathLike, Mapping[str, Any]], origin: Optional[str] = None
    ) -> "Settings":
        """Settings from a Splink 5 settings dict, JSON text or JSON file.

        A trained Splink model (every level with ``m_probability`` and ``u_probability``) gives a
        fitted model that :func:`load_model`-style prediction can use directly. Levels with no
        fellegi counterpart raise :class:`SettingsError` naming the comparison and level.
        """
        if isinstance(source, Mapping):
            text, where = json.dumps(source), origin or "dict"
        elif isinstance(source, os.PathLike) or (
            isinstance(source, str) and not source.lstrip().startswith("{")
        ):
            text = Path(source).read_text(encoding="utf-8")
            where = origin or os.fspath(source)
        else:
            text, where = str(source), origin or "string"
        return cls._wrap(_native.NativeSettings.from_splink(text, where))

    def to_splink(self) -> Dict[str, Any]:
        """The settings (or fitted model, with m, u and λ) as a Splink 5 settings dict.

        Raises :class:`SettingsError` for a level Splink cannot express.
        """
        return json.loads(self._native.to_splink())

    def to_toml(self) -> str:
        """The settings as TOML text."""
        return self._native.to_toml()

    def to_dict(self) -> Dict[str, Any]:
        """The settings as a dict (the JSON schema of model.json)."""
        return json.loads(self._native.to_json())

    def input_columns(self) -> List[str]:
        """The columns read from each input: unique id, truth (if set), then every column used."""
        return self._native.input_columns()

    def __repr__(self) -> str:
        return f"Settings(origin={self._native.origin!r})"


def _settings(s: Union[Settings, str, PathLike, Mapping[str, Any]]) -> Settings:
    return s if isinstance(s, Settings) else Settings(s)


# ------------------------------------------------------------------ charts


class Chart:
    """A chart as SVG; displays inline in Jupyter (``_repr_svg_``)."""

    def __init__(self, name: str, svg: str) -> None:
        self.name = name
        self.svg = svg

    def _repr_svg_(self) -> str:
        return self.svg

    def save(self, path: PathLike) -> None:
        """Writes the SVG to ``path``."""
        Path(path).write_text(self.svg, encoding="utf-8")

    def __repr__(self) -> str:
        return f"Chart({self.name!r}, {len(self.svg)} bytes of SVG)"


# ------------------------------------------------------------------ models


class FittedModel:
    """A fitted model: the settings with λ, m and u filled in (the schema of ``model.json``)."""

    def __init__(self, settings: Settings, run: Optional["LinkRun"] = None) -> None:
        self.settings = settings
        self._run = run

    @property
    def lambda_(self) -> float:
        """λ, the prior probability that two records match."""
        return _native.model_lambda(self.settings._native)

    def m_u(self) -> Any:
        """The tidy m/u table (pyarrow): comparison, level, label, m, u, weight (log2 m/u)."""
        return _table(_native.model_mu_table(self.settings._native))

    def to_dict(self) -> Dict[str, Any]:
        """The model as a dict (model.json)."""
        return self.settings.to_dict()

    def to_splink(self) -> Dict[str, Any]:
        """The model as a trained Splink 5 settings dict (m, u and λ filled in)."""
        return self.settings.to_splink()

    def save(self, path: PathLike) -> Path:
        """Writes ``model.json`` to ``path`` (byte for byte as the CLI writes it)."""
        return Path(_native.model_save(self.settings._native, os.fspath(path)))

    def predict(self, inputs: Any, *, min_probability: float = 0.01, threads: Optional[int] = None) -> Any:
        """Scores ``inputs`` (as :func:`link` takes them): the pairs table (pyarrow)."""
        named = _named_inputs(inputs, self.settings.input_columns())
        return _table(_native.predict(self.settings._native, named, min_probability, threads))

    def explain(self, left_id: str, right_id: str, inputs: Any = None) -> Any:
        """The waterfall of one pair (records named ``SOURCE:ID`` or ``ID``) as a table: the
        prior, then per comparison its level, the two values, its weight, the running total and
        probability. ``inputs`` defaults to the run's own when the model came from :func:`link`."""
        if inputs is None:
            if self._run is None:
                raise OptionError("explain needs the inputs for a model that did not come from link()")
            return _table(self._run._native.explain(left_id, right_id))
        named = _named_inputs(inputs, self.settings.input_columns())
        return _table(_native.model_explain(self.settings._native, left_id, right_id, named))

    def chart(self, name: str) -> Chart:
        """A chart: ``match_weights`` or ``m_u`` for any model, and, for a model from
        :func:`link`, every chart of the run's report (see :meth:`LinkRun.chart_names`)."""
        if self._run is not None and name not in ("match_weights", "m_u"):
            return self._run.chart(name)
        return Chart(name, _native.model_chart_svg(self.settings._native, name))

    def report(self, path: PathLike) -> Path:
        """Writes the HTML report of the run this model came from to ``path``."""
        if self._run is None:
            raise OptionError(
                "a report shows the run's pairs and metrics: call fellegi.link(...).report(path)"
            )
        return self._run.report(path)

    def __repr__(self) -> str:
        return f"FittedModel(lambda_={self.lambda_:.6g})"


def load_model(path: PathLike) -> FittedModel:
    """Reads a ``model.json`` written by ``fellegi train``, ``fellegi link`` or :meth:`FittedModel.save`."""
    return FittedModel(Settings.from_file(path))


# ------------------------------------------------------------------ store


def _model_settings(model: Any) -> Settings:
    """The settings of a fitted model given as a FittedModel, Settings, dict or path."""
    if isinstance(model, FittedModel):
        return model.settings
    return _settings(model)


def _store_inputs(store: "Store", records: Any, source: Optional[str]) -> List[Tuple[str, Any]]:
    """Records for a store: as :func:`link` takes inputs, and also a list of dicts (one
    record each, column -> value). In a link store a table needs its source: ``source=`` or
    a dict key."""
    if isinstance(records, list) and records and all(isinstance(r, Mapping) for r in records):
        records = pa.Table.from_pylist(
            [{k: (None if v is None else str(v)) for k, v in r.items()} for r in records]
        )
    named = _named_inputs(records, store._native.model().input_columns())
    unnamed = not isinstance(records, Mapping) and any(not isinstance(x, str) for _, x in named)
    if unnamed and source is None and store.info()["link_type"] != "dedupe":
        raise OptionError(
            "records given as a table need their source in a link store: pass source=\"NAME\" "
            "or a dict {\"NAME\": table}"
        )
    return named


class Store:
    """A persistent store (``fellegi store``): records linked by a fitted model, the pairs at
    or above its minimum probability and clusters whose ids stay stable as records are added.

    Create one with :meth:`create` (or the CLI's ``fellegi store create``), open one with
    :meth:`open`. Adds are atomic: a failed or interrupted :meth:`add` leaves the store as it
    was. The same store can be served over HTTP with ``fellegi serve STORE``.

    >>> store = fellegi.Store.create(run.model, "people.csv", "people.store")   # doctest: +SKIP
    >>> store.add("new.csv")["cluster_ids"]                                    # doctest: +SKIP
    >>> store.match(new_df).to_pandas()                                        # doctest: +SKIP
    """

    def __init__(self, native: Any) -> None:
        self._native = native

    @classmethod
    def create(
        cls,
        model: Any,
        inputs: Any,
        path: PathLike,
        *,
        min_probability: float = 0.01,
        threshold: float = 0.5,
    ) -> "Store":
        """Creates a store at ``path`` (a new or empty folder) from ``inputs`` (as :func:`link`
        takes them) linked by the fitted ``model`` (a :class:`FittedModel`, its settings or a
        ``model.json`` path). Pairs with probability >= ``min_probability`` (default 0.01) are
        kept; pairs >= ``threshold`` (default 0.5) link records into clusters."""
        s = _model_settings(model)
        named = _named_inputs(inputs, s.input_columns())
        return cls(_native.store_create(s._native, named, os.fspath(path), min_probability, threshold))

    @classmethod
    def open(cls, path: PathLike) -> "Store":
        """Opens the store at ``path`` (every record in memory)."""
        return cls(_native.store_open(os.fspath(path)))

    @staticmethod
    def verify(path: PathLike) -> Dict[str, Any]:
        """Checks a store's checksums and contents (``fellegi store verify``):
        ``{"ok", "generation", "errors", "trailing"}``."""
        return json.loads(_native.store_verify(os.fspath(path)))

    @property
    def path(self) -> Path:
        """The store's folder."""
        return Path(self._native.path())

    @property
    def model(self) -> FittedModel:
        """The store's fitted model."""
        return FittedModel(Settings._wrap(self._native.model()))

    def info(self) -> Dict[str, Any]:
        """``fellegi store info --json``: generation, link type, records per source, pairs,
        clusters, the next cluster id, min_probability and threshold."""
        return json.loads(self._native.info_json())

    def __len__(self) -> int:
        return self._native.len()

    def add(self, records: Any, *, source: Optional[str] = None) -> Dict[str, Any]:
        """Adds records (one atomic add) and updates the clusters: a record joining one cluster
        takes its id, one joining none gets a new id, one joining several merges them into the
        oldest. ``records``: CSV paths (read with their ``[[input]]`` rules, as ``store add``
        reads them), DataFrames or Tables (columns under the model's names), a dict of them by
        source, or a list of dicts. ``source`` names the source in link stores (default a
        file's stem or a dict key). Returns the summary: generation, records, candidates,
        pairs, new_clusters, merged_clusters and ``cluster_ids`` (one per record, in order)."""
        return json.loads(self._native.add(_store_inputs(self, records, source), source))

    def match(
        self,
        records: Any,
        *,
        min_probability: Optional[float] = None,
        source: Optional[str] = None,
    ) -> Any:
        """Matches records against the store without adding them (``POST /match``): a pyarrow
        Table with one row per candidate at or above ``min_probability`` (default the store's),
        best first per query: query_source, query_id, rank, source, id, cluster_id,
        match_weight, match_probability, then per comparison its ``level_``, ``gamma_`` and
        ``weight_`` (bits; the prior plus the weights is match_weight)."""
        named = _store_inputs(self, records, source if source is not None else "")
        return _table(self._native.find(named, min_probability, source))

    def record(self, source: str, id: str) -> Optional[Dict[str, Any]]:
        """A stored record: ``{"source", "id", "cluster_id", "values"}`` (cleaned values), or
        None."""
        r = self._native.record(source, id)
        return None if r is None else json.loads(r)

    def cluster(self, cluster_id: int) -> Optional[Dict[str, Any]]:
        """A cluster: ``{"cluster_id", "requested", "records"}`` (an id merged away resolves
        to the cluster it went into), or None."""
        r = self._native.cluster(cluster_id)
        return None if r is None else json.loads(r)

    def export(self, out: PathLike) -> List[Path]:
        """Writes pairs.csv and clusters.csv (cluster_id = the stable id) under ``out``, as
        ``fellegi store export`` does; returns the paths."""
        return [Path(p) for p in self._native.export(os.fspath(out))]

    def recluster(self, model: Any = None) -> Dict[str, Any]:
        """Re-scores and re-clusters after a model change (``fellegi store recluster``),
        keeping an id wherever its cluster survives; returns the summary (generation, pairs,
        clusters, kept_ids, new_ids, moved_records, mapping: the old-to-new id file)."""
        native = None if model is None else _model_settings(model)._native
        return json.loads(self._native.recluster(native))

    def __repr__(self) -> str:
        i = self.info()
        return f"Store({str(self.path)!r}, {i['records']} records, {i['clusters']} clusters, generation {i['generation']})"


# ------------------------------------------------------------------ link


class LinkRun:
    """The result of :func:`link`: pairs, clusters, metrics and the fitted model."""

    def __init__(self, native: Any) -> None:
        self._native = native
        self._pairs = None
        self._clusters = None

    @property
    def pairs(self) -> Any:
        """The scored pairs (pyarrow Table; the columns of pairs.csv)."""
        if self._pairs is None:
            self._pairs = _table(self._native.pairs())
        return self._pairs

    @property
    def clusters(self) -> Any:
        """Every record's cluster (pyarrow Table: id, source, cluster_id)."""
        if self._clusters is None:
            self._clusters = _table(self._native.clusters())
        return self._clusters

    @property
    def metrics(self) -> Optional[Dict[str, Any]]:
        """metrics.json as a dict (``None`` when the inputs have no truth column)."""
        text = self._native.metrics_json()
        return None if text is None else json.loads(text)

    @property
    def model(self) -> FittedModel:
        """The fitted model."""
        return FittedModel(Settings._wrap(self._native.model()), self)

    @property
    def notes(self) -> List[str]:
        """Notes for the user (nothing is printed)."""
        return self._native.notes()

    def chart_names(self) -> List[str]:
        """The names of the run's charts, in report order."""
        return self._native.chart_names()

    def chart(self, name: str) -> Chart:
        """One of the run's charts (see :meth:`chart_names`)."""
        return Chart(name, self._native.chart_svg(name))

    def report(self, path: PathLike, title: str = "fellegi link") -> Path:
        """Writes the self-contained HTML report to ``path``."""
        p = Path(path)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=p.parent or ".", delete=False, suffix=".tmp") as f:
            f.write(self._native.report_html(title))
        os.replace(f.name, p)
        return p

    def write(self, out: PathLike, report: bool = False, title: str = "fellegi link") -> List[Path]:
        """Writes model.json, pairs.csv, clusters.csv, metrics.json (and with ``report``,
        report.html, charts/ and the four review and teaching pages: patterns.html (comparison
        viewer), clusters.html (cluster studio), label.html (labelling tool) and lab.html
        (Fellegi–Sunter lab)) under ``out``, as ``fellegi link --report --out`` does."""
        files, _notes = self._native.write(os.fspath(out), title if report else None)
        return [Path(f) for f in files]

    def __repr__(self) -> str:
        m = self.metrics
        extra = f", f1={m['f1']:.4f}" if m else ""
        return f"LinkRun(pairs={self.pairs.num_rows}{extra})"


def link(
    inputs: Any,
    settings: Union[Settings, str, PathLike, Mapping[str, Any]],
    *,
    method: str = "em",
    threshold: float = 0.5,
    fs_thresholds: Optional[Tuple[float, float]] = None,
    fs_rates: Optional[Tuple[float, float]] = None,
    fs_scale: str = "match_weight",
    one_to_one: Optional[str] = None,
    min_probability: float = 0.01,
    seed: Optional[int] = None,
    threads: Optional[int] = None,
) -> LinkRun:
    """Links records end to end: train, score, decide, cluster and (with a truth column) evaluate.

    ``inputs``: a pandas or polars DataFrame, a pyarrow Table, a CSV path, or a list or dict of
    them (dict keys name the sources; otherwise a path's stem, or ``source_0``, ``source_1``...).
    ``method``: ``"em"`` (default), ``"exhaustive"`` (every pair, no blocking), ``"oracle"``
    (m/u from the truth, benchmarks only) or ``"rules"`` (deterministic rules only).
    ``threshold``: match probability for clusters and metrics (default 0.5).
    ``fs_thresholds``: (upper, lower) Fellegi–Sunter weight thresholds; ``fs_rates``:
    (false match rate, false non-match rate) to choose them; ``fs_scale``: ``"match_weight"``
    or ``"bayes_factor"``. ``one_to_one``: ``"greedy"`` or ``"optimal"`` (two sources).
    ``min_probability``: pairs kept (default 0.01). ``seed``: default the settings'
    ``training.u.seed``, else 42. ``threads``: default all cores; results do not depend on it.
    """
    s = _settings(settings)
    named = _named_inputs(inputs, s.input_columns())
    native = _native.link(
        named,
        s._native,
        method,
        threshold,
        fs_thresholds,
        fs_rates,
        fs_scale,
        one_to_one,
        min_probability,
        seed,
        threads,
    )
    return LinkRun(native)


def train(
    inputs: Any,
    settings: Union[Settings, str, PathLike, Mapping[str, Any]],
    *,
    seed: Optional[int] = None,
    threads: Optional[int] = None,
) -> FittedModel:
    """Fits λ, m and u on ``inputs`` (as :func:`link` takes them) following the settings."""
    s = _settings(settings)
    named = _named_inputs(inputs, s.input_columns())
    return FittedModel(Settings._wrap(_native.train(named, s._native, seed, threads)))


def evaluate(
    pairs: Any,
    truth: Any = None,
    *,
    labels: Any = None,
    threshold: float = 0.5,
    link_type: Optional[str] = None,
    unique_id: str = "record_id",
    truth_column: str = "entity_id",
) -> Dict[str, Any]:
    """Scores pairs (a table with id_l, source_l, id_r, source_r, match_probability) against the
    truth column of the inputs ``truth`` (as :func:`link` takes them) or against clerical
    ``labels`` (unique_id_l, source_dataset_l, unique_id_r, source_dataset_r,
    clerical_match_score); returns the evaluation (as evaluation.json) as a dict."""
    lab = None
    if labels is not None:
        t = _to_arrow(labels)
        if "clerical_match_score" in t.column_names:
            i = t.column_names.index("clerical_match_score")
            t = t.set_column(i, "clerical_match_score", t.column(i).cast(pa.float64()))
        lab = t
    named = None if truth is None else _named_inputs(truth, [unique_id, truth_column])
    text = _native.evaluate(
        _pairs_for_eval(pairs),
        threshold,
        link_type,
        named,
        unique_id,
        truth_column,
        lab,
    )
    return json.loads(text)


def _pairs_for_eval(pairs: Any) -> Any:
    if isinstance(pairs, pa.Table):
        t = pairs
    elif type(pairs).__module__.startswith("pandas"):
        t = pa.Table.from_pandas(pairs, preserve_index=False)
    elif type(pairs).__module__.startswith("polars"):
        t = pairs.to_arrow()
    else:
        t = pa.table(pairs)
    cols = ["id_l", "source_l", "id_r", "source_r"]
    out = _as_text(t.select([c for c in cols if c in t.column_names]))
    if "match_probability" in t.column_names:
        out = out.append_column("match_probability", t.column("match_probability").cast(pa.float64()))
    return out


def generate(
    out: PathLike,
    *,
    entities: Optional[int] = None,
    preset: str = "medium",
    sources: Optional[int] = None,
    overlap: Optional[float] = None,
    seed: int = 42,
    phone_number: bool = False,
) -> Dict[str, Any]:
    """Generates synthetic person records with known truth into the folder ``out`` (as
    ``fellegi generate``); returns ``{source name: pandas DataFrame}`` of the CSV files written
    (pandas needed) and leaves the files in ``out``."""
    files = [Path(f) for f in _native.generate(os.fspath(out), entities, preset, sources, overlap, seed, phone_number)]
    return {f.stem: _read_csv(f) for f in files if f.suffix == ".csv"}


def _read_csv(path: Path) -> Any:
    import pandas as pd

    return pd.read_csv(path, dtype=str, keep_default_na=False)


# ------------------------------------------------------------------ datasets


class _Loaded:
    """A shipped dataset: ``records`` (source name → pandas DataFrame), ``settings``, ``unique_id``,
    ``truth`` (the truth column's name), ``link_type`` and ``files``."""

    def __init__(self, name: str, files: List[Path], settings: Settings, unique_id: str, truth: str, link_type: str) -> None:
        self.name = name
        self.files = files
        self.settings = settings
        self.unique_id = unique_id
        self.truth = truth
        self.link_type = link_type
        self.records = {f.stem: _read_csv(f) for f in files}

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}: {len(v)}" for k, v in self.records.items())
        return f"Dataset({self.name!r}, {sizes})"


class _Datasets:
    """The datasets shipped with fellegi (``datasets/registry.toml``)."""

    def list(self, data_dir: Optional[PathLike] = None) -> List[str]:
        """The names of the shipped datasets."""
        return _native.datasets_list(None if data_dir is None else os.fspath(data_dir))

    def load(self, name: str, data_dir: Optional[PathLike] = None) -> _Loaded:
        """A dataset's records (pandas DataFrames with every column as text), truth column
        name and default settings."""
        files, settings, uid, truth, task, _sha = _native.dataset_entry(name, None if data_dir is None else os.fspath(data_dir))
        return _Loaded(name, [Path(f) for f in files], Settings.from_file(settings), uid, truth, task)


datasets = _Datasets()
