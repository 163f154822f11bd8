import os
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import pyarrow as pa

from ._errors import (
    ChartError as ChartError,
    DataError as DataError,
    DatasetError as DatasetError,
    FellegiError as FellegiError,
    FellegiIOError as FellegiIOError,
    InputError as InputError,
    InternalError as InternalError,
    EngineError as EngineError,
    CancelledError as CancelledError,
    OptionError as OptionError,
    SettingsError as SettingsError,
)

__version__: str
PathLike = Union[str, os.PathLike[str]]
Inputs = Any  # DataFrame | pa.Table | PathLike | list or dict of them

class Settings:
    def __init__(self, source: Union[str, PathLike, Mapping[str, Any], Settings]) -> None: ...
    @classmethod
    def from_toml(cls, text: str, origin: str = ...) -> Settings: ...
    @classmethod
    def from_file(cls, path: PathLike) -> Settings: ...
    @classmethod
    def from_dict(cls, d: Mapping[str, Any], origin: str = ...) -> Settings: ...
    @classmethod
    def from_splink(
        cls, source: Union[str, PathLike, Mapping[str, Any]], origin: Optional[str] = ...
    ) -> Settings: ...
    def to_splink(self) -> Dict[str, Any]: ...
    def to_toml(self) -> str: ...
    def to_dict(self) -> Dict[str, Any]: ...
    def input_columns(self) -> List[str]: ...

class Chart:
    name: str
    svg: str
    def __init__(self, name: str, svg: str) -> None: ...
    def _repr_svg_(self) -> str: ...
    def save(self, path: PathLike) -> None: ...

class FittedModel:
    settings: Settings
    @property
    def lambda_(self) -> float: ...
    def m_u(self) -> pa.Table: ...
    def to_dict(self) -> Dict[str, Any]: ...
    def to_splink(self) -> Dict[str, Any]: ...
    def save(self, path: PathLike) -> Path: ...
    def predict(self, inputs: Inputs, *, min_probability: float = ..., threads: Optional[int] = ...) -> pa.Table: ...
    def explain(self, left_id: str, right_id: str, inputs: Inputs = ...) -> pa.Table: ...
    def chart(self, name: str) -> Chart: ...
    def report(self, path: PathLike) -> Path: ...

class LinkRun:
    @property
    def pairs(self) -> pa.Table: ...
    @property
    def clusters(self) -> pa.Table: ...
    @property
    def metrics(self) -> Optional[Dict[str, Any]]: ...
    @property
    def model(self) -> FittedModel: ...
    @property
    def notes(self) -> List[str]: ...
    def chart_names(self) -> List[str]: ...
    def chart(self, name: str) -> Chart: ...
    def report(self, path: PathLike, title: str = ...) -> Path: ...
    def write(self, out: PathLike, report: bool = ..., title: str = ...) -> List[Path]: ...

def link(
    inputs: Inputs,
    settings: Union[Settings, str, PathLike, Mapping[str, Any]],
    *,
    method: str = ...,
    threshold: float = ...,
    fs_thresholds: Optional[Tuple[float, float]] = ...,
    fs_rates: Optional[Tuple[float, float]] = ...,
    fs_scale: str = ...,
    one_to_one: Optional[str] = ...,
    min_probability: float = ...,
    seed: Optional[int] = ...,
    threads: Optional[int] = ...,
) -> LinkRun: ...
def train(
    inputs: Inputs,
    settings: Union[Settings, str, PathLike, Mapping[str, Any]],
    *,
    seed: Optional[int] = ...,
    threads: Optional[int] = ...,
) -> FittedModel: ...
def evaluate(
    pairs: Any,
    truth: Inputs = ...,
    *,
    labels: Any = ...,
    threshold: float = ...,
    link_type: Optional[str] = ...,
    unique_id: str = ...,
    truth_column: str = ...,
) -> Dict[str, Any]: ...
def generate(
    out: PathLike,
    *,
    entities: Optional[int] = ...,
    preset: str = ...,
    sources: Optional[int] = ...,
    overlap: Optional[float] = ...,
    seed: int = ...,
    phone_number: bool = ...,
) -> Dict[str, Any]: ...
def load_model(path: PathLike) -> FittedModel: ...

class _Loaded:
    name: str
    files: List[Path]
    settings: Settings
    unique_id: str
    truth: str
    link_type: str
    records: Dict[str, Any]

class _Datasets:
    def list(self, data_dir: Optional[PathLike] = ...) -> List[str]: ...
    def load(self, name: str, data_dir: Optional[PathLike] = ...) -> _Loaded: ...

datasets: _Datasets
