"""The benchmark equals model-vs-human's analysis code (re-expressed in mvh_reference.py) on
generated raw-data folders in its exact format; condition selection; bootstrap intervals."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from stylebias.errors import DataError, InvalidArgumentError
from stylebias.humanlike import (
    BENCHMARK_DATASETS,
    HUMANS,
    bootstrap_summary,
    compare_ci,
    evaluate_dataset,
    included_conditions,
    read_decisions,
    summarize,
)
from tests.humanlike import mvh_reference as ref
from tests.humanlike.generate import MODELS, PANDAS_CONDITION, write_dataset

DATASETS = tuple(PANDAS_CONDITION)
REL = 1e-12


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    """{dataset: (folder, reference rows)} for seven datasets of mixed condition types."""
    root = tmp_path_factory.mktemp("raw-data")
    out = {}
    for k, name in enumerate(DATASETS):
        rows = write_dataset(root, name, seed=k, per_condition=48 if name in ("cue-conflict", "sketch") else 16)
        out[name] = (root / name, rows)
    return out


@pytest.fixture(scope="module")
def evaluated(raw):
    return {name: evaluate_dataset(read_decisions(folder)) for name, (folder, _) in raw.items()}


def test_conditions_read_as_model_vs_human_sees_them(raw):
    for name, (folder, rows) in raw.items():
        table = read_decisions(folder)
        assert table.condition.tolist() == [r["condition"] for r in rows], name
        assert table.image_id.tolist() == [r["image_id"] for r in rows], name


def test_summary_equals_model_vs_human(raw, evaluated):
    expected = ref.format_benchmark([row for _, rows in raw.values() for row in ref.raw_benchmark_rows(rows, _name(rows, raw))])
    ood = ref.mean_over_datasets({name: rows for name, (_, rows) in raw.items()})
    ours = summarize(evaluated.values())
    assert set(ours) == {*MODELS, HUMANS}
    for observer, summary in ours.items():
        assert summary.ood_accuracy == pytest.approx(ood[observer], rel=REL)
        assert summary.accuracy_difference == pytest.approx(expected[observer]["accuracy difference"], rel=REL)
        assert summary.observed_consistency == pytest.approx(expected[observer]["observed consistency"], rel=REL)
        assert summary.error_consistency == pytest.approx(expected[observer]["error consistency"], rel=REL)
        assert summary.datasets == list(DATASETS) and not summary.complete
    # the generated observers are not all alike, so the comparison is not trivially passing
    assert len({round(s.error_consistency, 6) for s in ours.values()}) == 3


def _name(rows, raw):
    return next(name for name, (_, r) in raw.items() if r is rows)


@pytest.mark.parametrize("dataset", ["uniform-noise", "cue-conflict"])
def test_per_dataset_values_equal_model_vs_human(raw, evaluated, dataset):
    rows = raw[dataset][1]
    expected = ref.format_benchmark(ref.raw_benchmark_rows(rows, dataset))
    ood = ref.mean_over_datasets({dataset: rows})
    for observer, result in evaluated[dataset].items():
        assert result.accuracy == pytest.approx(ood[observer], rel=REL)
        assert result.error_consistency == pytest.approx(expected[observer]["error consistency"], rel=REL)
        assert result.accuracy_difference == pytest.approx(expected[observer]["accuracy difference"], rel=REL)
    if dataset == "cue-conflict":
        sb = evaluated[dataset]["model_good"].shape_bias
        assert sb == pytest.approx(ref.shape_bias([r for r in rows if r["subj"] == "model_good"]), rel=REL)
        assert evaluated[dataset]["model_good"].conditions == {}


def test_per_condition_results(raw, evaluated):
    rows = raw["uniform-noise"][1]
    result = evaluated["uniform-noise"]["model_poor"]
    assert list(result.conditions) == ["0.0", "0.03", "0.05", "0.1", "0.2", "0.35", "0.6", "0.9"]
    assert [c for c, r in result.conditions.items() if r.included] == ["0.03", "0.05", "0.1", "0.2", "0.35"]
    for cond, r in result.conditions.items():
        mine = [x for x in rows if x["subj"] == "model_poor" and x["condition"] == cond]
        assert r.accuracy == pytest.approx(ref.sixteen_class_accuracy(mine), rel=REL)
        assert r.entropy == pytest.approx(ref.entropy(mine), rel=REL)
        humans = [s for s in ("subject-01", "subject-02", "subject-03")]
        kappas = [ref.error_consistency_analysis(mine, [x for x in rows if x["subj"] == h and x["condition"] == cond])["error-consistency"] for h in humans]
        assert r.error_consistency == pytest.approx(np.mean(kappas), rel=REL)
    # OOD accuracy pools the trials of the included conditions (of unequal sizes here)
    used = [r for r in result.conditions.values() if r.included]
    assert result.accuracy == pytest.approx(sum(r.accuracy * r.n for r in used) / sum(r.n for r in used), rel=REL)
    assert result.accuracy != pytest.approx(np.mean([r.accuracy for r in used]), rel=1e-6)
    as_json = json.loads(json.dumps(result.to_dict()))
    assert as_json["conditions"]["0.1"]["included"] is True and as_json["observer"] == "model_poor"


def test_included_conditions_follow_the_exclusion_lists():
    assert included_conditions("uniform-noise") == ("0.03", "0.05", "0.1", "0.2", "0.35")
    assert included_conditions("false-colour") == ("False",)
    assert included_conditions("contrast") == ("c50", "c30", "c15", "c10", "c05")
    assert included_conditions("cue-conflict") is None and included_conditions("my-set") is None
    assert len(BENCHMARK_DATASETS) == 17
    for name in BENCHMARK_DATASETS:
        assert included_conditions(name) == (None if ref.data_conditions(name) is None else tuple(ref.data_conditions(name)))


def _write(folder, name, rows):
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / name, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["subj", "session", "trial", "rt", "object_response", "category", "condition", "imagename"])
        w.writerows(rows)


def test_missing_conditions_and_images_are_refused(tmp_path):
    folder = tmp_path / "power-equalisation"
    _write(folder, "power-equalisation_subject-01_session_1.csv",
           [["subject-01", 1, 1, 1, "cat", "cat", "0", "0001_pow_s01_0_cat_35_n01_1.png"]])
    with pytest.raises(DataError, match=r"condition\(s\) \['pow'\]"):
        evaluate_dataset(read_decisions(folder))
    _write(folder, "power-equalisation_subject-01_session_1.csv",
           [["subject-01", 1, 1, 1, "cat", "cat", "0", "0001_pow_s01_0_cat_35_n01_1.png"],
            ["subject-01", 1, 2, 1, "cat", "cat", "pow", "0002_pow_s01_pow_cat_35_n01_2.png"]])
    _write(folder, "power-equalisation_m_session-1.csv",
           [["m", 1, 1, "NaN", "cat", "cat", "0", "0001_pow_dnn_0_cat_35_n01_1.png"],
            ["m", 1, 2, "NaN", "cat", "cat", "pow", "0002_pow_dnn_pow_cat_35_n01_3.png"]])
    with pytest.raises(DataError, match=r"different images.*only the first has 1 \(n01_2\.png\).*second 1 \(n01_3\.png\)"):
        evaluate_dataset(read_decisions(folder))
    with pytest.raises(DataError, match="no trials of \\['other'\\]"):
        evaluate_dataset(read_decisions(folder), observers=["other"])


def test_bootstrap_intervals_are_seeded_and_paired(raw, evaluated):
    tables = [read_decisions(raw[name][0]) for name in ("uniform-noise", "cue-conflict", "low-pass")]
    summary = summarize([evaluate_dataset(t) for t in tables])
    ci = bootstrap_summary(tables, ["model_good", HUMANS], n_boot=200, seed=0)
    assert ci == bootstrap_summary(tables, ["model_good", HUMANS], n_boot=200, seed=0)
    assert ci != bootstrap_summary(tables, ["model_good", HUMANS], n_boot=200, seed=1)
    for observer in ("model_good", HUMANS):
        for metric, (low, high) in ci[observer].items():
            point = getattr(summary[observer], metric)
            assert low <= high and low - 0.1 < point < high + 0.1, (observer, metric)
    # an observer compared with itself differs by exactly 0 in every resample (paired draws)
    same = compare_ci(tables, "model_good", "model_good", n_boot=50, seed=0)
    assert all(v == (0.0, 0.0) for v in same.values()) and "error_consistency" in same
    diff = compare_ci(tables, "model_good", "model_poor", n_boot=200, seed=0)
    point = summary["model_good"].ood_accuracy - summary["model_poor"].ood_accuracy
    assert diff["ood_accuracy"][0] - 0.05 < point < diff["ood_accuracy"][1] + 0.05
    with pytest.raises(InvalidArgumentError, match="level"):
        compare_ci(tables, "model_good", "model_poor", level=0)
    with pytest.raises(DataError, match="no dataset has trials of 'absent'"):
        bootstrap_summary(tables, ["absent"], n_boot=5)


def test_models_only_and_a_missing_condition_of_one_observer(tmp_path):
    folder = tmp_path / "my-set"  # unknown dataset: all trials pooled, as model-vs-human does
    _write(folder, "my-set_a_session-1.csv", [["a", 1, 1, "NaN", "cat", "cat", "NaN", "cat1.png"],
                                              ["a", 1, 2, "NaN", "dog", "cat", "NaN", "cat2.png"]])
    result = evaluate_dataset(read_decisions(folder))["a"]
    assert (result.accuracy, result.n, result.error_consistency, result.conditions) == (0.5, 2, None, {})
    assert summarize([{"a": result}])["a"].error_consistency is None
    folder = tmp_path / "false-colour"
    _write(folder, "false-colour_subject-01_session_1.csv",
           [["subject-01", 1, 1, 1, "cat", "cat", "true", "0001_fc_s01_true_cat_35_n01_1.png"],
            ["subject-01", 1, 2, 1, "cat", "cat", "false", "0002_fc_s01_false_cat_35_n01_2.png"]])
    _write(folder, "false-colour_m_session-1.csv", [["m", 1, 1, "NaN", "cat", "cat", "false", "0001_fc_dnn_false_cat_35_n01_2.png"]])
    with pytest.raises(DataError, match="condition 'True' of dataset 'false-colour' has no trials of 'm'"):
        evaluate_dataset(read_decisions(folder))
