"""Trial-level decisions of humans and models, read from model-vs-human raw-data CSV files.

A :class:`DecisionTable` holds one row per trial in plain numpy columns (``subj``,
``condition``, ``category``, ``response``, ``imagename`` and the derived ``image_id``), the
input of every metric in :mod:`stylebias.humanlike.metrics`.

Conditions are normalised as model-vs-human's analysis sees them: it reads each CSV file with
``pandas.read_csv`` (which infers one type per column and file), concatenates the files of a
dataset folder and applies ``astype(str)`` (``modelvshuman/helper/plotting_helper.py``,
``get_experimental_data``). So ``"0.00"`` in an all-float column becomes ``"0.0"``, ``"1"``
stays ``"1"`` in an all-int column but becomes ``"1.0"`` next to floats, ``"true"`` becomes
``"True"``, and ``"0"`` stays ``"0"`` in a column that also holds ``"pow"``.
:func:`normalise_conditions` does the same without pandas.

Example:
    >>> table = read_decisions("raw-data/uniform-noise")            # doctest: +SKIP
    >>> table.conditions()                                          # doctest: +SKIP
    ['0.03', '0.9', '0.0', ...]
    >>> accuracy(table.where(subj="subject-01", condition="0.0"))   # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError, InvalidArgumentError
from ..shapebias.metrics import Trial
from ..shapebias.rawdata import read_rows

__all__ = [
    "DecisionTable",
    "read_decisions",
    "short_imagename",
    "normalise_conditions",
    "infer_column",
    "is_human",
]

_COLUMNS = ("subj", "condition", "category", "response", "imagename")
_NEEDED = ("subj", "object_response", "category", "condition", "imagename")

# pandas 1.x default ``na_values`` of read_csv (model-vs-human needs pandas < 2: it calls
# DataFrame.append); these cells become NaN, i.e. the string "nan" after astype(str).
PANDAS_NA_STRINGS = frozenset(
    {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
     "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null"}
)
_TRUE = frozenset({"True", "TRUE", "true"})
_FALSE = frozenset({"False", "FALSE", "false"})
_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
# pandas' C parser reads these (case-insensitively) as infinities
_INF = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf,
        "infinity": math.inf, "+infinity": math.inf, "-infinity": -math.inf}


def is_human(subj: str) -> bool:
    """model-vs-human's rule: subjects named ``subject-<k>`` are human observers."""
    return subj.startswith("subject-")


def short_imagename(imagename: str) -> str:
    """The image's own name without an experiment prefix (model-vs-human ``image_id``).

    ``0001_s5n_s01_0_bird_00_bird3-bird2.png -> bird3-bird2.png``; ImageNet names keep
    their synset: ``0000_cl_s01_bw_boat_40_n02951358_5952.JPEG -> n02951358_5952.JPEG``
    (``helper/plotting_helper.py``, ``get_short_imagename``).
    """
    splits = imagename.split("_")
    if len(splits) == 1:
        return splits[0]
    first, second = splits[-2:]
    return f"{first}_{second}" if first.startswith("n0") else second


def _parse_float(text: str) -> float | None:
    if _FLOAT.fullmatch(text):
        return float(text)
    return _INF.get(text.lower())


def infer_column(values: Sequence[str]) -> tuple[str, list[object]]:
    """The type pandas' ``read_csv`` gives a column of text cells, and the parsed values.

    Returns ``(kind, parsed)``: ``"int"`` (Python ints), ``"float"`` (floats, NaN for NA cells;
    also an int column with NA cells), ``"bool"``, or ``"object"`` (the text, NaN for NA cells;
    also a bool column with NA cells). An all-NA column is ``"float"``.
    """
    is_na = [v in PANDAS_NA_STRINGS for v in values]
    present = [v for v, na in zip(values, is_na) if not na]
    nan = math.nan
    if present and all(_INT.fullmatch(v) for v in present):
        if not any(is_na):
            return "int", [int(v) for v in values]
        return "float", [nan if na else float(int(v)) for v, na in zip(values, is_na)]
    floats = [_parse_float(v) for v in present]
    if all(f is not None for f in floats):
        return "float", [nan if na else _parse_float(v) for v, na in zip(values, is_na)]
    if all(v in _TRUE or v in _FALSE for v in present):
        parsed = [nan if na else v in _TRUE for v, na in zip(values, is_na)]
        return ("object" if any(is_na) else "bool"), parsed
    return "object", [nan if na else v for v, na in zip(values, is_na)]


def _common_kind(kinds: Sequence[str]) -> str:
    """dtype of ``pd.concat`` over columns of these kinds: int + float -> float; equal kinds
    stay; any other mix -> object (each value keeps its own type)."""
    distinct = set(kinds)
    if len(distinct) == 1:
        return kinds[0]
    return "float" if distinct <= {"int", "float"} else "object"


def _as_str(value: object, kind: str) -> str:
    """``str()`` of one cell after ``astype(str)`` of a column of dtype ``kind``."""
    if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    return str(value)  # str(float) is the shortest repr numpy also prints: 0.0, 1e-05, inf, nan


def normalise_conditions(files: Sequence[Sequence[str]]) -> list[list[str]]:
    """Condition strings of several CSV files as model-vs-human's analysis sees them.

    Each file's column is typed on its own (:func:`infer_column`), the files are concatenated
    (int next to float becomes float, other mixes keep each file's values) and turned into
    strings.

    Args:
        files: the raw ``condition`` cells of each file, in the order model-vs-human reads the
            files (sorted by file name).

    Example:
        >>> normalise_conditions([["0.00", "0.10"], ["0.90"]])
        [['0.0', '0.1'], ['0.9']]
        >>> normalise_conditions([["1", "3"], ["0.5"]])
        [['1.0', '3.0'], ['0.5']]
        >>> normalise_conditions([["0", "pow"], ["true"]])
        [['0', 'pow'], ['True']]
    """
    typed = [infer_column(list(values)) for values in files]
    kind = _common_kind([k for k, _ in typed]) if typed else "object"
    return [[_as_str(v, kind) for v in parsed] for _, parsed in typed]


@dataclass(frozen=True)
class DecisionTable:
    """Decisions, one row per trial (columns are equally long 1-D numpy string arrays).

    Attributes:
        subj: observer of each trial (``subject-<k>`` for humans, else a model name).
        condition: condition string, normalised as model-vs-human does (:func:`normalise_conditions`).
        category: true category (the shape category of a cue-conflict image).
        response: the decision (one of the 16 categories; humans may answer ``"na"``).
        imagename: stimulus file name as in the CSV.
        dataset: dataset name (e.g. ``"uniform-noise"``), ``""`` when unknown.
        image_id: :func:`short_imagename` of ``imagename``: the key that pairs the trials of
            two observers.
    """

    subj: np.ndarray
    condition: np.ndarray
    category: np.ndarray
    response: np.ndarray
    imagename: np.ndarray
    dataset: str = ""
    image_id: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        lengths = {}
        for name in _COLUMNS:
            column = np.asarray(getattr(self, name), dtype=str).reshape(-1)
            object.__setattr__(self, name, column)
            lengths[name] = len(column)
        if len(set(lengths.values())) > 1:
            raise InvalidArgumentError(f"DecisionTable columns differ in length: {lengths}")
        ids = np.asarray([short_imagename(n) for n in self.imagename.tolist()], dtype=str).reshape(-1)
        object.__setattr__(self, "image_id", ids)

    def __len__(self) -> int:
        return len(self.subj)

    @property
    def correct(self) -> np.ndarray:
        """Boolean array: ``response == category``."""
        return self.response == self.category

    def subjects(self) -> list[str]:
        """Distinct observers in order of first appearance."""
        return _unique(self.subj)

    def conditions(self) -> list[str]:
        """Distinct conditions in order of first appearance."""
        return _unique(self.condition)

    def take(self, rows: np.ndarray) -> DecisionTable:
        """The rows selected by a boolean mask or an index array."""
        return DecisionTable(self.subj[rows], self.condition[rows], self.category[rows],
                             self.response[rows], self.imagename[rows], self.dataset)

    def where(self, subj: str | Iterable[str] | None = None, condition: str | Iterable[str] | None = None) -> DecisionTable:
        """Rows of the given observer(s) and condition(s) (``None``: all)."""
        mask = np.ones(len(self), dtype=bool)
        for column, wanted in ((self.subj, subj), (self.condition, condition)):
            if wanted is not None:
                wanted = [wanted] if isinstance(wanted, str) else list(wanted)
                mask &= np.isin(column, wanted)
        return self.take(mask)

    @classmethod
    def from_trials(cls, trials: Iterable[Trial], subj: str, condition: str = "nan", dataset: str = "") -> DecisionTable:
        """Decisions of one observer from :class:`~stylebias.shapebias.Trial` objects (the
        output of a model run); ``condition`` as model-vs-human's analysis would read it."""
        rows = list(trials)
        n = len(rows)
        return cls([subj] * n, [condition] * n, [t.category for t in rows], [t.response for t in rows],
                   [t.imagename for t in rows], dataset)

    @classmethod
    def concat(cls, tables: Sequence[DecisionTable], dataset: str | None = None) -> DecisionTable:
        """Rows of all tables in order (``dataset``: the first table's unless given)."""
        if not tables:
            raise InvalidArgumentError("DecisionTable.concat needs at least one table")
        cols = [np.concatenate([getattr(t, c) for t in tables]) for c in _COLUMNS]
        return cls(*cols, dataset=tables[0].dataset if dataset is None else dataset)


def _unique(column: np.ndarray) -> list[str]:
    return list(dict.fromkeys(column.tolist()))


def read_decisions(path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
                   dataset: str | None = None) -> DecisionTable:
    """Decisions from one raw-data CSV file, from all ``*.csv`` files of a dataset folder, or
    from a list of CSV files read as if they were one folder.

    A folder is read as model-vs-human reads ``raw-data/<dataset>/``: its ``*.csv`` files in
    sorted order, header names lower-cased, conditions typed per file and then concatenated
    (:func:`normalise_conditions`). A list of files (e.g. the human files of the pinned raw
    data and a model's new files) is sorted by file name the same way.

    Args:
        path: a CSV file, a folder of them, or a list of CSV files.
        dataset: dataset name; default: the folder's name, or for a file the part of its name
            before the first ``_`` (``uniform-noise_subject-01_session_1.csv``).

    Raises:
        DataError: no CSV file, two listed files with the same name, or a file that is
            missing, empty or lacks one of the columns ``subj, object_response, category,
            condition, imagename``.
    """
    if isinstance(path, (str, os.PathLike)):
        source = Path(path)
        if source.is_dir():
            files = sorted(p for p in source.iterdir() if p.name.endswith(".csv") and p.is_file())
            if not files:
                raise DataError(f"{source} holds no *.csv raw-data files")
            name = source.name if dataset is None else dataset
        else:
            files = [source]
            name = source.name.split("_")[0] if dataset is None else dataset
    else:
        files = sorted((Path(p) for p in path), key=lambda p: p.name)
        if not files:
            raise DataError("no raw-data CSV files to read")
        twice = sorted({a.name for a, b in zip(files, files[1:]) if a.name == b.name})
        if twice:
            raise DataError(f"raw-data files with the same name in different folders: {', '.join(twice)}; "
                            f"model-vs-human keeps one folder per dataset, so a name is one observer's session")
        name = files[0].name.split("_")[0] if dataset is None else dataset
    return _read_files(files, name)


def _read_files(files: Sequence[Path], name: str) -> DecisionTable:
    per_file = [read_rows(f, _NEEDED) for f in files]
    conditions = normalise_conditions([[row["condition"] for row in rows] for rows in per_file])
    rows = [row for file_rows in per_file for row in file_rows]
    return DecisionTable(
        [r["subj"] for r in rows],
        [c for file_conditions in conditions for c in file_conditions],
        [r["category"] for r in rows],
        [r["object_response"] for r in rows],
        [r["imagename"] for r in rows],
        name,
    )
