"""model-vs-human's analysis code re-expressed without pandas (tests only).

Followed line by line from bethgelab/model-vs-human, commit
79ed7cd1d9ac3a114e71b6638f0a98bdd627316c (MIT licence):
``modelvshuman/plotting/analyses.py`` (SixteenClassAccuracy, SixteenClassAccuracyDifference,
ErrorConsistency, Entropy, ShapeBias), ``modelvshuman/plotting/plot.py``
(get_raw_benchmark_df, format_benchmark_df, get_mean_over_datasets, exclude_conditions,
EXCLUDE_CONDITIONS), ``modelvshuman/datasets/experiments.py`` (data_conditions) and
``modelvshuman/helper/plotting_helper.py`` (get_short_imagename).

A "data frame" here is a list of dicts with the keys ``subj, condition, category,
object_response, imagename, image_id``, the condition already a string as pandas would print it.
Deliberately independent of ``stylebias.humanlike``: constants are copied again from the source.
"""

from __future__ import annotations

import numpy as np

EXPERIMENT_CONDITIONS = {
    "colour": ["cr", "bw"],
    "contrast": ["c100", "c50", "c30", "c15", "c10", "c05", "c03", "c01"],
    "high-pass": ["inf", "3.0", "1.5", "1.0", "0.7", "0.55", "0.45", "0.4"],
    "low-pass": ["0", "1", "3", "5", "7", "10", "15", "40"],
    "phase-scrambling": ["0", "30", "60", "90", "120", "150", "180"],
    "power-equalisation": ["0", "pow"],
    "false-colour": ["True", "False"],
    "rotation": ["0", "90", "180", "270"],
    "eidolonI": ["1-10-10", "2-10-10", "4-10-10", "8-10-10", "16-10-10", "32-10-10", "64-10-10", "128-10-10"],
    "eidolonII": ["1-3-10", "2-3-10", "4-3-10", "8-3-10", "16-3-10", "32-3-10", "64-3-10", "128-3-10"],
    "eidolonIII": ["1-0-10", "2-0-10", "4-0-10", "8-0-10", "16-0-10", "32-0-10", "64-0-10", "128-0-10"],
    "uniform-noise": ["0.0", "0.03", "0.05", "0.1", "0.2", "0.35", "0.6", "0.9"],
}
EXCLUDE = {
    "colour": ["cr"],
    "contrast": ["c100", "c03", "c01"],
    "high-pass": ["inf", "0.55", "0.45", "0.4"],
    "low-pass": ["0", "15", "40"],
    "phase-scrambling": ["0", "150", "180"],
    "power-equalisation": ["0"],
    "false-colour": ["True"],
    "rotation": ["0"],
    "eidolonI": ["1-10-10", "64-10-10", "128-10-10"],
    "eidolonII": ["1-3-10", "32-3-10", "64-3-10", "128-3-10"],
    "eidolonIII": ["1-0-10", "16-0-10", "32-0-10", "64-0-10", "128-0-10"],
    "uniform-noise": ["0.0", "0.6", "0.9"],
}


def get_short_imagename(imagename):
    splits = imagename.split("_")
    if len(splits) > 1:
        name = splits[-2:]
        if name[0].startswith("n0"):
            name = name[0] + "_" + name[1]
        else:
            name = name[1]
    else:
        name = splits[0]
    return name


def data_conditions(dataset):
    """exclude_conditions(get_experiments([dataset])): None for datasets without experiments."""
    if dataset not in EXPERIMENT_CONDITIONS:
        return None
    conditions = list(EXPERIMENT_CONDITIONS[dataset])
    for c in EXCLUDE[dataset]:
        conditions.remove(c)
    return conditions


def sixteen_class_accuracy(df):
    assert len(df) > 0, "empty dataframe"
    return len([r for r in df if r["object_response"] == r["category"]]) / len(df)


def accuracy_difference(df1, df2):
    return np.square(sixteen_class_accuracy(df1) - sixteen_class_accuracy(df2))


def error_consistency_analysis(df1, df2):
    assert len(df1) > 0 and len(df2) > 0
    assert len(df1) == len(df2)
    p1 = sixteen_class_accuracy(df1)
    p2 = sixteen_class_accuracy(df2)
    expected = p1 * p2 + (1 - p1) * (1 - p2)
    df1 = sorted(df1, key=lambda r: r["image_id"])
    df2 = sorted(df2, key=lambda r: r["image_id"])
    assert [r["image_id"] for r in df1] == [r["image_id"] for r in df2]
    c1 = [r["object_response"] == r["category"] for r in df1]
    c2 = [r["object_response"] == r["category"] for r in df2]
    observed = sum(a == b for a, b in zip(c1, c2)) / len(df1)
    kappa = 1.0 if observed == 1.0 else (observed - expected) / (1.0 - expected)
    return {"expected-consistency": expected, "observed-consistency": observed, "error-consistency": kappa}


METRICS = {
    "accuracy difference": lambda a, b: accuracy_difference(a, b),
    "observed consistency": lambda a, b: error_consistency_analysis(a, b)["observed-consistency"],
    "error consistency": lambda a, b: error_consistency_analysis(a, b)["error-consistency"],
}


def entropy(df):
    values = []
    for subj in dict.fromkeys(r["subj"] for r in df):
        sub = [r for r in df if r["subj"] == subj]
        probabilities = []
        for category in dict.fromkeys(r["category"] for r in sub):
            if str(category) != "na":
                probabilities.append(len([r for r in sub if r["object_response"] == category]) / len(sub))
        e = 0.0
        for p in probabilities:
            if abs(p) > 1e-5:
                e += p * np.log2(p)
        values.append(0 - e)
    return np.mean(values)


def shape_bias(df):
    def texture(imagename):
        c = imagename.split("_")[-1].split(".")[0].split("-")[-1]
        return "".join(i for i in c if not i.isdigit())

    conflict = [r for r in df if r["category"] != texture(r["imagename"])]
    shape = len([r for r in conflict if r["object_response"] == r["category"]]) / len(df)
    tex = len([r for r in conflict if r["object_response"] == texture(r["imagename"])]) / len(df)
    return shape / (shape + tex)


def raw_benchmark_rows(df, dataset):
    """get_raw_benchmark_df for one dataset: models x humans, then humans x humans (i < j)."""
    subjects = list(dict.fromkeys(r["subj"] for r in df))
    humans = [s for s in subjects if s.startswith("subject-")]
    models = [s for s in subjects if not s.startswith("subject-")]
    conditions = data_conditions(dataset) or [None]
    rows = []
    for group_1, group_2 in ((models, humans), (humans, humans)):
        same = group_1 == group_2
        for i, g1 in enumerate(group_1):
            for colname, fun in METRICS.items():
                for condition in conditions:
                    for j, g2 in enumerate(group_2):
                        if same and j <= i or g1 == g2:
                            continue
                        df1 = [r for r in df if r["subj"] == g1]
                        df2 = [r for r in df if r["subj"] == g2]
                        if condition is not None:
                            df1 = [r for r in df1 if r["condition"] == condition]
                            df2 = [r for r in df2 if r["condition"] == condition]
                        rows.append({"model": g1, "human": g2, "dataset": dataset, "metric": colname,
                                     "condition": condition, "value": fun(df1, df2)})
    return rows


def _groupby_mean(rows, keys):
    groups = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in keys), []).append(r["value"])
    return [dict(zip(keys, k), value=float(np.mean(v))) for k, v in groups.items()]


def format_benchmark(rows):
    """format_benchmark_df: {model or 'humans': {metric: value}}."""
    humans = [r for r in rows if r["model"].startswith("subject-")]
    humans = _groupby_mean(humans, ["model", "human", "dataset", "metric"])
    humans = _groupby_mean(humans, ["dataset", "metric"])
    humans = _groupby_mean(humans, ["metric"])
    models = [r for r in rows if not r["model"].startswith("subject-")]
    models = _groupby_mean(models, ["model", "human", "dataset", "metric"])
    models = _groupby_mean(models, ["model", "dataset", "metric"])
    models = _groupby_mean(models, ["model", "metric"])
    out = {}
    for r in models:
        out.setdefault(r["model"], {})[r["metric"]] = r["value"]
    out["humans"] = {r["metric"]: r["value"] for r in humans}
    return out


def mean_over_datasets(frames):
    """get_mean_over_datasets with one decision maker per model and one 'humans' (subject-*)."""
    per = {}
    for dataset, df in frames.items():
        conditions = data_conditions(dataset)
        subjects = list(dict.fromkeys(r["subj"] for r in df))
        makers = {s: [s] for s in subjects if not s.startswith("subject-")}
        makers["humans"] = [s for s in subjects if s.startswith("subject-")]
        for name, members in makers.items():
            sel = [r for r in df if r["subj"] in members and (conditions is None or r["condition"] in conditions)]
            per.setdefault(name, []).append(sixteen_class_accuracy(sel))
    return {name: float(np.mean(v)) for name, v in per.items()}
