"""Small stand-ins for the 17 model-vs-human image sets and their human raw data (tests and
benchmarks only).

Layouts as in the release archives (``datasets/<dataset>/...``): the parametric sets, sketch
and stylized under ``dnn/session-1/`` with the condition and category in the file name
(``0001_nse_dnn_0.00_knife_10_n00000001_1.png``); edge, silhouette and cue-conflict in
category folders. The condition spellings per dataset are those of the real human files
(``0.00``, ``1``, ``true``, ``c100``, ``1-10-10``), written out here by hand. The human files
hold the same images (paired by model-vs-human's ``image_id``) as
``<dataset>_subject-0k_session_1.csv``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

from stylebias.shapebias import CATEGORIES

# raw condition strings of the real human files, and the name abbreviations
RAW_CONDITIONS = {
    "colour": ("cr", "bw"),
    "contrast": ("c100", "c50", "c30", "c15", "c10", "c05", "c03", "c01"),
    "high-pass": ("inf", "3", "1.5", "1", "0.7", "0.55", "0.45", "0.4"),
    "low-pass": ("0", "1", "3", "5", "7", "10", "15", "40"),
    "phase-scrambling": ("0", "30", "60", "90", "120", "150", "180"),
    "power-equalisation": ("0", "pow"),
    "false-colour": ("true", "false"),
    "rotation": ("0", "90", "180", "270"),
    "eidolonI": tuple(f"{r}-10-10" for r in (1, 2, 4, 8, 16, 32, 64, 128)),
    "eidolonII": tuple(f"{r}-3-10" for r in (1, 2, 4, 8, 16, 32, 64, 128)),
    "eidolonIII": tuple(f"{r}-0-10" for r in (1, 2, 4, 8, 16, 32, 64, 128)),
    "uniform-noise": ("0.00", "0.03", "0.05", "0.10", "0.20", "0.35", "0.60", "0.90"),
    "sketch": ("0",),
    "stylized": ("0",),
}
ABBREVIATION = {"colour": "cl", "contrast": "cop", "high-pass": "hp", "low-pass": "lp", "phase-scrambling": "ps",
                "power-equalisation": "pow", "false-colour": "fc", "rotation": "rot", "eidolonI": "eid",
                "eidolonII": "eid", "eidolonIII": "eid", "uniform-noise": "nse", "sketch": "ske",
                "stylized": "sty", "edge": "edg", "silhouette": "sif", "cue-conflict": "s5n"}
FOLDER_SETS = ("edge", "silhouette", "cue-conflict")
SUBJECTS = ("subject-01", "subject-02")
HEADER = ["subj", "session", "trial", "rt", "object_response", "category", "condition", "imagename"]


def _image_ids(dataset: str, per_condition: int) -> list[tuple[str, str, str]]:
    """(raw condition, category, image id) of every image."""
    out = []
    for ci, cond in enumerate(RAW_CONDITIONS.get(dataset, ("0",))):
        for k in range(per_condition):
            cat = CATEGORIES[(3 * ci + k) % len(CATEGORIES)]
            if dataset == "cue-conflict":
                texture = CATEGORIES[(3 * ci + 2 * k + 1) % len(CATEGORIES)]
                image_id = f"{cat}{k + 1}-{texture}{k + 2}.png"
            elif dataset in FOLDER_SETS:
                image_id = f"{cat}{k + 1}.png"
            elif dataset == "sketch":
                image_id = f"{cat}-{k:04d}-sketch-{ci}.png"
            elif dataset == "stylized":
                image_id = f"{cat}-{k:04d}-ILSVRC2012-val-{k:08d}.png"
            else:
                image_id = f"n0{ci:02d}{k:05d}_{k + 1}.png"
            out.append((cond, cat, image_id))
    return out


def write_standins(root: Path, datasets=None, per_condition: int = 2, size: int = 16,
                   seed: int = 0) -> tuple[Path, Path]:
    """Write ``root/datasets/<dataset>/...`` images and ``root/raw-data/<dataset>/*.csv`` human
    files for the given datasets (default: all 17); returns the two folders."""
    from stylebias.humanlike import BENCHMARK_DATASETS

    rng = np.random.default_rng(seed)
    data, raw = root / "datasets", root / "raw-data"
    for dataset in datasets or BENCHMARK_DATASETS:
        items = _image_ids(dataset, per_condition)
        for trial, (cond, cat, image_id) in enumerate(items, start=1):
            if dataset in FOLDER_SETS:
                path = data / dataset / cat / image_id
            else:
                name = f"{trial:04d}_{ABBREVIATION[dataset]}_dnn_{cond}_{cat}_10_{image_id}"
                path = data / dataset / "dnn" / "session-1" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path)
        _write_humans(raw / dataset, dataset, items, rng)
    return data, raw


def _write_humans(folder: Path, dataset: str, items, rng: np.random.Generator) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for s, subj in enumerate(SUBJECTS, start=1):
        rows = []
        for trial, i in enumerate(rng.permutation(len(items)), start=1):
            cond, cat, image_id = items[i]
            response = cat if rng.random() < 0.6 else CATEGORIES[int(rng.integers(len(CATEGORIES)))]
            name = f"{trial:04d}_{ABBREVIATION[dataset]}_s{s:02d}_{cond}_{cat}_10_{image_id}"
            rows.append([subj, 1, trial, round(float(rng.uniform(0.4, 1.2)), 4), response, cat, cond, name])
        header = list(HEADER)
        if dataset in RAW_CONDITIONS and dataset not in ("sketch", "stylized"):
            header[1] = "Session"  # as the real noise-generalisation files spell it
        with open(folder / f"{dataset}_{subj}_session_1.csv", "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows(rows)
