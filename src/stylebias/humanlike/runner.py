"""Run models through the model-vs-human benchmark: ``run_benchmark(models, datasets, ...)``.

Each model goes once through the images of every dataset it still lacks, in one stream of
batches (decoding in DataLoader workers, :func:`~stylebias.shapebias.evaluate.decision_batches`);
a dataset's raw-data CSV files are written, in model-vs-human's format, as soon as its last
image is decided, followed by an identity file. A rerun skips every dataset whose identity (model
spec, weights, preprocessing, label mapping, the dataset's file listing) matches and whose CSV
files are complete; a different identity is refused, naming what differs. The decisions are
then compared with the human subjects (:func:`~stylebias.humanlike.benchmark.evaluate_dataset`).

Layout of ``output_dir``::

    raw-data/<dataset>/<dataset>_<model>_session-1.csv        (model-vs-human ResultPrinter format)
    raw-data/<dataset>/<dataset>_<model>.identity.json        (what produced the CSV files)
    results.json, report.md
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._registry import close_matches
from ..errors import DataError, InvalidArgumentError
from ..io import atomic_write, write_json
from ..models import LoadedModel
from ..models.resolve import ModelLike, resolve_model
from ..shapebias.evaluate import decision_batches
from ..shapebias.rawdata import COLUMNS, raw_csv_name
from ..training.identity import differences
from .benchmark import BENCHMARK_DATASETS, DatasetResult, evaluate_dataset, summarize
from .datasets import BenchmarkImage, benchmark_dataset_dir, human_raw_data, images_hash, list_benchmark_images
from .decisions import is_human, read_decisions
from .labels import LabelMapping, check_label_mapping, decision_function, mapping_hash, read_label_mapping

__all__ = ["run_benchmark", "resolve_datasets", "weights_fingerprint", "write_model_csvs", "results_dict",
           "MVH_PREPROCESS"]

log = logging.getLogger(__name__)

MVH_PREPROCESS = {"resize": None, "crop": None}
"""model-vs-human feeds its 224-px images unchanged (``image_size == 224``: no resize, no crop)."""
RESULTS = "results.json"
_FORMAT = 1  # version of the identity file


def resolve_datasets(datasets: str | Sequence[str] | None) -> list[str]:
    """``"all"`` (or None) -> the 17 benchmark datasets; else the names given, checked, in order.

    Raises:
        InvalidArgumentError: an unknown name (with the closest ones).
    """
    if datasets is None or datasets == "all" or (not isinstance(datasets, str) and list(datasets) == ["all"]):
        return list(BENCHMARK_DATASETS)
    names = [datasets] if isinstance(datasets, str) else list(datasets)
    for name in names:
        if name not in BENCHMARK_DATASETS:
            close = close_matches(name, BENCHMARK_DATASETS)
            hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
            raise InvalidArgumentError(f"unknown dataset {name!r}{hint} in datasets (--datasets); "
                                       f"known: all, {', '.join(BENCHMARK_DATASETS)}")
    return list(dict.fromkeys(names))


def weights_fingerprint(model: nn.Module) -> str:
    """sha256 over the model's state_dict (names, dtypes, shapes and bytes): its weights' identity."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        flat = tensor.detach().cpu().reshape(-1).contiguous()
        digest.update(f"{name}\t{flat.dtype}\t{tuple(tensor.shape)}\n".encode())
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def write_model_csvs(images: Sequence[BenchmarkImage], responses: Sequence[str], subj: str,
                     folder: Path, dataset: str) -> list[Path]:
    """The decisions as model-vs-human's ``ResultPrinter`` writes them: one file per session,
    ``<dataset>_<subj>_<session>.csv``, trials numbered from 1 within each session, ``rt`` NaN,
    the condition and image name as parsed from the path. Each file is written atomically."""
    sessions: dict[str, list[list[str]]] = {}
    for image, response in zip(images, responses, strict=True):
        rows = sessions.setdefault(image.session, [])
        number = image.session.split("-")[-1]
        rows.append([subj, str(int(number)), str(len(rows) + 1), "NaN", response, image.category,
                     image.condition, image.imagename])
    written = []
    for session, rows in sessions.items():
        path = folder / raw_csv_name(dataset, subj, int(session.split("-")[-1]))
        with atomic_write(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)  # "\r\n" line ends, as model-vs-human's csv.writer writes
            writer.writerow(COLUMNS)
            writer.writerows(rows)
        written.append(path)
    return written


@dataclass
class _Job:
    """One model on one dataset."""

    dataset: str
    images: list[BenchmarkImage]
    identity: dict[str, Any]
    folder: Path  # output_dir/raw-data/<dataset>

    @property
    def identity_file(self) -> Path:
        """``<dataset>_<model>.identity.json``: the CSV files' common name part, not a ``*.csv``
        (model-vs-human reads every CSV file of a dataset folder)."""
        stem = raw_csv_name(self.dataset, self.identity["model"]).removesuffix("_session-1.csv")
        return self.folder / f"{stem}.identity.json"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _finished_csvs(job: _Job, resume: bool) -> list[Path] | None:
    """The job's CSV files when a matching, complete run is stored; None when it must run.

    Raises:
        InvalidArgumentError: (with ``resume``) the stored run has another identity.
    """
    file = job.identity_file
    if not resume or not file.is_file():
        return None
    try:
        stored = json.loads(file.read_text(encoding="utf-8"))
        identity, files, n = stored["identity"], stored["files"], stored["n"]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError):
        raise DataError(f"{file} is not a stylebias benchmark identity file; delete it (its dataset is "
                        f"then evaluated again) or use another --output-dir") from None
    diff = differences(identity, job.identity)
    if diff:
        raise InvalidArgumentError(
            f"{job.folder} holds {job.dataset} decisions of a different run ({file.name} differs: "
            f"{'; '.join(diff)}). Use another --output-dir (output_dir), or --no-resume (resume=False) "
            f"to overwrite them."
        )
    paths = [job.folder / name for name in files]
    complete = n == len(job.images) and all(p.is_file() and _sha256(p) == files[p.name] for p in paths)
    if not complete:
        log.warning("%s: the stored CSV files of %s are incomplete or changed; evaluating again", file, job.dataset)
        return None
    return paths


def _finish(job: _Job, responses: list[str]) -> list[Path]:
    paths = write_model_csvs(job.images, responses, job.identity["model"], job.folder, job.dataset)
    write_json({"identity": job.identity, "files": {p.name: _sha256(p) for p in paths}, "n": len(responses)},
               job.identity_file)
    return paths


def _run_jobs(loaded: LoadedModel, jobs: Sequence[_Job], decide: Callable[[int], Any],
              **options: Any) -> dict[str, list[Path]]:
    """One stream of batches over the images of every job; each job's files are written as soon
    as its last image is decided."""
    paths = [image.path for job in jobs for image in job.images]
    written: dict[str, list[Path]] = {}
    pending, current = list(jobs), []
    for batch in decision_batches(loaded, paths, decide=decide, **options):
        current.extend(batch)
        while pending and len(current) >= len(pending[0].images):
            job = pending.pop(0)
            done, current = current[:len(job.images)], current[len(job.images):]
            written[job.dataset] = _finish(job, done)
    return written


def _model_csvs(loaded: LoadedModel, folders: Mapping[str, Path], images: Mapping[str, list[BenchmarkImage]],
                output_dir: Path, mapping: dict[str, tuple[int, ...]] | None, resume: bool,
                **options: Any) -> dict[str, list[Path]]:
    """The raw-data CSV files of one model on every dataset: stored ones reused, others run."""
    base = {"format": _FORMAT, "model": loaded.name, "weights": weights_fingerprint(loaded.model),
            "preprocess": json.loads(json.dumps(asdict(loaded.preprocess))), "label_map": mapping_hash(mapping)}
    jobs = [_Job(name, images[name], {**base, "dataset": name, "images": images_hash(images[name], folders[name])},
                 output_dir / "raw-data" / name) for name in folders]
    out: dict[str, list[Path]] = {}
    todo = []
    for job in jobs:
        found = _finished_csvs(job, resume)
        if found is None:
            todo.append(job)
        else:
            out[job.dataset] = found
            log.info("%s on %s: finished earlier, not run again", loaded.name, job.dataset)
    if todo:
        out.update(_run_jobs(loaded, todo, lambda width: decision_function(width, mapping), **options))
    return {name: out[name] for name in folders}


def _csv_files(paths: Sequence[str | os.PathLike[str]]) -> dict[str, list[Path]]:
    """``--from-csv`` files (or model-vs-human ``raw-data/<dataset>`` folders) by dataset."""
    out: dict[str, list[Path]] = {}
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files, name = sorted(p for p in path.glob("*.csv") if p.is_file()), path.name
            if not files:
                raise DataError(f"{path} (--from-csv) holds no *.csv raw-data files")
        elif path.is_file():
            files, name = [path], path.name.split("_")[0]
        else:
            raise DataError(f"{path} (--from-csv) does not exist")
        if name not in BENCHMARK_DATASETS:
            raise DataError(f"{path} (--from-csv): {name!r} is not a benchmark dataset; raw-data files are "
                            f"named <dataset>_<observer>_session-<k>.csv and folders <dataset>, the dataset "
                            f"one of {', '.join(BENCHMARK_DATASETS)}")
        out.setdefault(name, []).extend(files)
    return out


def _has_humans(files: Sequence[Path]) -> bool:
    return any(is_human(s) for s in read_decisions(list(files)).subjects())


def run_benchmark(
    models: Sequence[ModelLike] = (),
    datasets: str | Sequence[str] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    output_dir: str | os.PathLike[str] = "benchmark_output",
    *,
    from_csv: Sequence[str | os.PathLike[str]] = (),
    label_map: LabelMapping | str | os.PathLike[str] | None = None,
    human_data: str | os.PathLike[str] | None = None,
    preprocess: Mapping[str, Any] | None = None,
    batch_size: int = 32,
    num_workers: int | None = None,
    device: str | torch.device | None = None,
    channels_last: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    resume: bool = True,
    progress: bool = False,
) -> dict[str, Any]:
    """Evaluate models (and/or read raw-data CSV files) on the model-vs-human benchmark.

    Args:
        models: specs (``"torchvision:resnet50"``), :class:`LoadedModel` objects or modules;
            each observer is named by its spec.
        datasets: ``"all"`` (default with models) or names among :data:`BENCHMARK_DATASETS`;
            without models, default: the datasets of ``from_csv``.
        data_dir: a folder with one image folder per dataset (model-vs-human's ``datasets/``);
            default: the release archives, downloaded into the cache and extracted once.
        output_dir: where the raw-data CSVs, ``results.json`` and ``report.md`` go.
        from_csv: model-vs-human raw-data CSV files or ``raw-data/<dataset>`` folders whose
            observers join the comparison (no model needed). A dataset whose files hold no
            human subject is compared with the pinned human data.
        label_map: JSON file or dict ``{category: [output indices]}`` for heads that are
            neither ImageNet's 1000 classes nor the 16 categories.
        human_data: a folder like model-vs-human's ``raw-data/`` with the human CSVs; default:
            the pinned commit's files, downloaded and sha256-checked.
        preprocess: fields of :class:`~stylebias.models.Preprocess` to change; default
            :data:`MVH_PREPROCESS` (the 224-px images unchanged, as model-vs-human does).
        batch_size, num_workers, device, channels_last, progress: as in
            :func:`~stylebias.shapebias.evaluate`.
        cache_dir, download: where downloads are kept, and whether they are allowed.
        resume: reuse finished datasets in ``output_dir`` (a different model there is refused).

    Returns:
        The content of ``results.json`` (see :func:`results_dict`).

    Raises:
        InvalidArgumentError: nothing to evaluate, an unknown dataset, two models with the same
            file name, or a stored run of a different model (resume).
        DataError: malformed images, CSV files or label mapping (named).
        ModelOutputError: a model's outputs fit no decision (the message names the fix).
    """
    if not models and not from_csv:
        raise InvalidArgumentError("give at least one model (--model) or raw-data CSV file (--from-csv)")
    out = Path(output_dir)
    if out.exists() and not out.is_dir():
        raise InvalidArgumentError(f"output_dir {out} (--output-dir) is a file, not a folder; name another folder")
    csvs = _csv_files(from_csv)
    names = resolve_datasets(datasets) if models or datasets is not None else list(BENCHMARK_DATASETS)
    if not models:
        names = [n for n in names if n in csvs]
        if not names:
            raise InvalidArgumentError(f"--from-csv holds none of the datasets asked for ({datasets})")
    left_out = sorted(set(csvs) - set(names))
    if left_out:
        log.warning("--from-csv files of %s are left out: not among the datasets asked for (--datasets)",
                    ", ".join(left_out))
    mapping = (read_label_mapping(label_map) if isinstance(label_map, (str, os.PathLike))
               else None if label_map is None else check_label_mapping(label_map, "label_map"))
    loaded = [resolve_model(m, {**MVH_PREPROCESS, **(preprocess or {})}, device) for m in models]
    _check_file_names(loaded)
    files: dict[str, list[Path]] = {n: list(csvs.get(n, [])) for n in names}
    if loaded:
        folders = {n: benchmark_dataset_dir(n, data_dir, cache_dir, download_missing=download, progress=progress)
                   for n in names}
        images = {n: list_benchmark_images(folders[n], n) for n in names}
        options = {"batch_size": batch_size, "num_workers": num_workers, "channels_last": channels_last,
                   "progress": progress}
        for model in loaded:
            for name, paths in _model_csvs(model, folders, images, out, mapping, resume, **options).items():
                files[name].extend(paths)
    per_dataset, cue_conflict = [], None
    for name in names:
        if not _has_humans(files[name]):
            files[name].extend(human_raw_data(name, human_data, cache_dir, download_missing=download,
                                              progress=progress))
        table = read_decisions(files[name], name)
        cue_conflict = table if name == "cue-conflict" else cue_conflict
        per_dataset.append(evaluate_dataset(table))
    results = results_dict(per_dataset)
    write_json(results, out / RESULTS)
    from .report import write_figures, write_report

    write_report(results, out, figures=write_figures(per_dataset, cue_conflict, out))
    return results


def _check_file_names(loaded: Sequence[LoadedModel]) -> None:
    seen: dict[str, str] = {}
    for model in loaded:
        key = raw_csv_name("x", model.name)
        if key in seen and seen[key] != model.name:
            raise InvalidArgumentError(f"models {seen[key]!r} and {model.name!r} would write the same raw-data "
                                       f"file names; evaluate them into different --output-dir folders")
        seen[key] = model.name


_FIELDS = ("accuracy", "error_consistency", "observed_consistency", "accuracy_difference")


def _dataset_entry(result: DatasetResult) -> dict[str, Any]:
    entry: dict[str, Any] = {field: getattr(result, field) for field in _FIELDS}
    if result.dataset == "cue-conflict":
        entry["shape_bias"] = result.shape_bias
    entry["n"] = result.n
    entry["conditions"] = {
        name: {**{field: getattr(c, field) for field in _FIELDS}, "n": c.n, "included": c.included,
               "entropy": c.entropy}
        for name, c in result.conditions.items()
    }
    return entry


def results_dict(per_dataset: Sequence[Mapping[str, DatasetResult]]) -> dict[str, Any]:
    """``results.json``: per observer (model spec, or ``"humans"`` for subjects against each
    other) a ``summary`` (``ood_accuracy`` and the three human-likeness means over datasets)
    and per dataset ``accuracy``, ``error_consistency``, ``observed_consistency``,
    ``accuracy_difference`` (``shape_bias`` for cue-conflict), the same per condition under
    ``conditions``; consistencies are against the human subjects, averaged as model-vs-human
    averages them."""
    summaries = summarize(per_dataset)
    observers: dict[str, Any] = {}
    for observer, summary in summaries.items():
        row = summary.to_dict()
        row.pop("observer")
        observers[observer] = {"summary": row, "datasets": {}}
    humans = {}
    for results in per_dataset:
        for observer, result in results.items():
            observers[observer]["datasets"][result.dataset] = _dataset_entry(result)
            humans[result.dataset] = result.humans
    return {"datasets": [next(iter(r.values())).dataset for r in per_dataset if r], "humans": humans,
            "observers": observers}
