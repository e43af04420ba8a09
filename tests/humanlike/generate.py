"""Synthetic raw-data folders in model-vs-human's exact CSV format (tests only).

Human files: ``<dataset>_subject-0k_session_1.csv`` with the header spelling ``Session`` where
the real noise-generalisation files do, experiment-prefixed image names
(``0003_nse_s01_0.10_knife_10_n03041632_7.png``) and conditions written as in the real files
(``0.00``, ``1``, ``true``); model files: ``<dataset>_<model>_session-1.csv`` as model-vs-human's
``ResultPrinter`` writes them (``rt`` = ``NaN``; cue-conflict condition ``NaN`` and bare image
names). Each observer sees every image of a condition once, in its own random order.

Each dataset is returned with the rows as model-vs-human's pandas reader would present them;
the condition strings come from a hand-written table (:data:`PANDAS_CONDITION`), not from
``stylebias``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from stylebias.shapebias import CATEGORIES
from tests.humanlike.mvh_reference import get_short_imagename

HUMANS = ("subject-01", "subject-02", "subject-03")
MODELS = ("model_good", "model_poor")

# raw condition strings per dataset, and how pandas' read_csv + astype(str) prints them
PANDAS_CONDITION = {
    "uniform-noise": {"0.00": "0.0", "0.03": "0.03", "0.05": "0.05", "0.10": "0.1", "0.20": "0.2",
                      "0.35": "0.35", "0.60": "0.6", "0.90": "0.9"},
    "high-pass": {"inf": "inf", "3": "3.0", "1.5": "1.5", "1": "1.0", "0.7": "0.7", "0.55": "0.55",
                  "0.45": "0.45", "0.4": "0.4"},
    "false-colour": {"true": "True", "false": "False"},
    "power-equalisation": {"0": "0", "pow": "pow"},
    "low-pass": {c: c for c in ("0", "1", "3", "5", "7", "10", "15", "40")},
    "cue-conflict": {"0": "0.0", "NaN": "nan"},  # int (humans) + all-NaN float (models) -> float
    "sketch": {"0": "0"},
}
_PREFIX = {"uniform-noise": "nse", "high-pass": "hp", "false-colour": "fc", "power-equalisation": "pow",
           "low-pass": "lp", "cue-conflict": "s5n", "sketch": "ske"}
HEADER = ["subj", "session", "trial", "rt", "object_response", "category", "condition", "imagename"]


def _images(dataset: str, rng: np.random.Generator, per_condition: int) -> list[tuple[str, str, str, str | None]]:
    """(raw condition, category, image stem, texture) of every image of the dataset."""
    out = []
    conditions = [c for c in PANDAS_CONDITION[dataset] if c != "NaN"]
    for ci, cond in enumerate(conditions):
        for k in range(per_condition + 2 * ci):  # unequal sizes: pooled accuracy != mean over conditions
            cat = CATEGORIES[k % len(CATEGORIES)]
            if dataset == "cue-conflict":
                texture = CATEGORIES[int(rng.integers(len(CATEGORIES)))]  # sometimes = shape
                out.append((cond, cat, f"{cat}{k + 1}-{texture}{ci + 1}.png", texture))
            elif dataset == "sketch":
                out.append((cond, cat, f"{cat}-{k:04d}-sketch-{ci}.png", None))
            else:
                out.append((cond, cat, f"n0{ci}{k:06d}_{k + 7}.png", None))
    return out


def _response(rng, cat, texture, skill, human):
    u = rng.random()
    if u < skill:
        return cat
    if texture is not None and u < skill + 0.25:
        return texture
    if human and u > 0.97:
        return "na"
    return CATEGORIES[int(rng.integers(len(CATEGORIES)))]


def write_dataset(root: Path, dataset: str, seed: int = 0, per_condition: int = 16) -> list[dict]:
    """Write one dataset folder under ``root``; return its rows as pandas would give them."""
    rng = np.random.default_rng(seed)
    folder = root / dataset
    folder.mkdir(parents=True, exist_ok=True)
    images = _images(dataset, rng, per_condition)
    conditions = sorted({c for c, *_ in images})
    rows = []
    for s, subj in enumerate(HUMANS + MODELS):
        human = subj.startswith("subject-")
        skill = {c: float(rng.uniform(0.2, 0.9)) for c in conditions}
        order = rng.permutation(len(images))
        lines = []
        for trial, i in enumerate(order, start=1):
            cond, cat, stem, texture = images[i]
            if dataset == "cue-conflict" and not human:
                cond_raw, name = "NaN", stem
            else:
                cond_raw = cond
                tag = f"s{s + 1:02d}" if human else "dnn"
                name = f"{trial:04d}_{_PREFIX[dataset]}_{tag}_{cond}_{cat}_10_{stem}"
            response = _response(rng, cat, texture, skill[cond], human)
            lines.append([subj, 1, trial, round(float(rng.uniform(0.5, 1.5)), 4) if human else "NaN",
                          response, cat, cond_raw, name])
            rows.append({"subj": subj, "condition": PANDAS_CONDITION[dataset][cond_raw], "category": cat,
                         "object_response": response, "imagename": name, "image_id": get_short_imagename(name)})
        header = list(HEADER)
        if human and dataset not in ("cue-conflict", "sketch"):
            header[1] = "Session"  # as in the real noise-generalisation files
        file = (f"{dataset}_{subj}_session_1.csv" if human
                else f"{dataset}_{subj.replace('_', '-')}_session-1.csv")
        with open(folder / file, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows(lines)
    # model-vs-human reads the files in sorted order; keep the reference rows in that order
    order = {subj: k for k, subj in enumerate(sorted(HUMANS + MODELS, key=lambda x: _file_key(dataset, x)))}
    rows.sort(key=lambda r: order[r["subj"]])
    return rows


def _file_key(dataset: str, subj: str) -> str:
    return (f"{dataset}_{subj}_session_1.csv" if subj.startswith("subject-")
            else f"{dataset}_{subj.replace('_', '-')}_session-1.csv")
