"""Raw-data CSV files in the model-vs-human format, read and written.

One row per trial: ``subj,session,trial,rt,object_response,category,condition,imagename``
(bethgelab/model-vs-human ``raw-data/<dataset>/<dataset>_<subject>_session-1.csv``; models
write ``rt`` and ``condition`` as ``NaN``). ``category`` is the true (shape) category,
``object_response`` the decision, and the texture category of a cue-conflict image is read from
``imagename`` (:func:`~stylebias.shapebias.stimuli.texture_from_imagename`).
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import DataError
from ..io import atomic_write
from .metrics import ShapeBiasResult, Trial, accuracy, shape_bias
from .stimuli import texture_from_imagename

__all__ = ["COLUMNS", "read_rows", "read_trials", "write_trials", "result_from_csv", "results_from_csvs", "raw_csv_name"]

COLUMNS = ("subj", "session", "trial", "rt", "object_response", "category", "condition", "imagename")
_CONFLICT_NAME = re.compile(r"[a-z]+\d+-[a-z]+\d+\.\w+$")
_NEEDED = ("object_response", "category", "imagename")


def read_rows(path: str | os.PathLike[str], needed: Sequence[str] = _NEEDED) -> list[dict[str, str]]:
    """Rows of one raw-data CSV file as ``{column: text}``, header names lower-cased.

    Values are stripped of surrounding blanks and otherwise left as written (no type
    conversion). Header names are lower-cased as model-vs-human's reader does (its human files
    spell ``Session``).

    Raises:
        DataError: the file is missing, has no rows, lacks one of ``needed`` (the message lists
            the columns it has and the expected header), or has an empty ``category`` or
            ``imagename`` on some line.
    """
    file = Path(path)
    if not file.is_file():
        raise DataError(f"raw-data CSV {file} does not exist")
    with open(file, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
        missing = [c for c in needed if c not in header]
        if missing:
            raise DataError(
                f"{file} lacks the column(s) {', '.join(missing)} (it has: {', '.join(header) or 'none'}); "
                f"raw-data CSVs have the header {','.join(COLUMNS)}"
            )
        rows = []
        for line, raw in enumerate(reader, start=2):
            row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
            if not row.get("imagename") or not row.get("category"):
                raise DataError(f"{file}, line {line}: empty category or imagename")
            rows.append(row)
    if not rows:
        raise DataError(f"{file} has a header but no trials")
    return rows


def read_trials(path: str | os.PathLike[str]) -> tuple[list[Trial], list[str]]:
    """Trials and the distinct ``subj`` values of one raw-data CSV file.

    ``texture`` is filled from ``imagename`` when it has the cue-conflict form
    (``..._<shape><k>-<texture><m>.png``), else left ``None``.

    Raises:
        DataError: as :func:`read_rows`.
    """
    trials, subjects = [], []
    for row in read_rows(path):
        name = row["imagename"]
        texture = texture_from_imagename(name) if _CONFLICT_NAME.search(name) else None
        trials.append(Trial(name, row["category"], row["object_response"], texture))
        subj = row.get("subj", "")
        if subj and subj not in subjects:
            subjects.append(subj)
    return trials, subjects


def result_from_csv(path: str | os.PathLike[str], stimuli: str | None = None) -> ShapeBiasResult:
    """Metrics of one raw-data CSV file (a subject or a model).

    Args:
        path: the CSV file.
        stimuli: ``"cue-conflict"`` for shape bias, another set name for accuracy; default:
            cue-conflict when every ``imagename`` has the cue-conflict form, else accuracy
            under the set named by the file name (``silhouette_subject-01_session_1.csv`` ->
            ``"silhouettes"``).

    The source is the file's single ``subj`` (else its file name); subjects named
    ``subject-<k>`` are human observers.
    """
    trials, subjects = read_trials(path)
    source = subjects[0] if len(subjects) == 1 else Path(path).stem
    observer = "human" if all(s.startswith("subject-") for s in subjects) and subjects else "model"
    kind = stimuli or ("cue-conflict" if all(t.texture is not None for t in trials) else _set_name(path))
    if kind == "cue-conflict":
        if any(t.texture is None for t in trials):
            bad = [t.imagename for t in trials if t.texture is None][:5]
            raise DataError(
                f"{path}: cue-conflict imagenames must end in <shape><k>-<texture><m>.png; "
                f"these do not: {', '.join(bad)}"
            )
        return shape_bias(trials, source, observer=observer)
    return accuracy(trials, source, observer=observer, stimuli=kind)


_SET_ALIASES = {"silhouette": "silhouettes", "edge": "edges"}


def _set_name(path: str | os.PathLike[str]) -> str:
    """Stimulus set from a model-vs-human file name ``<dataset>_<subject>_session...``."""
    prefix = Path(path).name.split("_")[0]
    return _SET_ALIASES.get(prefix, prefix if "_" in Path(path).name else "accuracy")


def raw_csv_name(stimuli: str, source: str, session: int = 1) -> str:
    """model-vs-human file name: ``<stimuli>_<source with '_' -> '-'>_session-<k>.csv``.

    Characters that are unsafe in file names (``/ \\ : *`` ...) become ``-`` as well.
    """
    safe = re.sub(r"[^A-Za-z0-9.+-]+", "-", source.replace("_", "-")).strip("-.") or "model"
    return f"{stimuli}_{safe}_session-{session}.csv"


def write_trials(
    trials: Iterable[Trial], path: str | os.PathLike[str], subj: str, session: int = 1
) -> Path:
    """Write trials as a raw-data CSV (atomically); ``rt`` and ``condition`` are ``NaN``."""
    target = Path(path)
    with atomic_write(target) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for k, t in enumerate(trials, start=1):
            writer.writerow([subj, session, k, "NaN", t.response, t.category, "NaN", t.imagename])
    return target


def results_from_csvs(paths: Sequence[str | os.PathLike[str]], stimuli: str | None = None) -> list[ShapeBiasResult]:
    """:func:`result_from_csv` for each file, in order."""
    return [result_from_csv(p, stimuli) for p in paths]
