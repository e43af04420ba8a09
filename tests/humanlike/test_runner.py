"""run_benchmark end to end on stand-ins for the 17 datasets: the raw data equal model-vs-human's
own evaluation loop (re-expressed here: ImageFolder, ToTensor + Normalize, numpy decision
mapping, ResultPrinter rows), the metrics equal its analysis code, resume, label mappings, CLI."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms
from torchvision.datasets import ImageFolder

import stylebias.humanlike.runner as runner
from stylebias.cli import main
from stylebias.errors import DataError, InvalidArgumentError, ModelOutputError
from stylebias.humanlike import BENCHMARK_DATASETS, DATA_CONDITIONS, FOLDER_DATASETS, run_benchmark
from stylebias.shapebias import CATEGORIES, imagenet_indices
from tests.humanlike import mvh_reference as ref
from tests.humanlike.generate import PANDAS_CONDITION, write_dataset
from tests.humanlike.standins import write_standins

MODEL = """import torch

def build(pretrained=True):
    torch.manual_seed({seed})
    net = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten(), torch.nn.Linear(12, {out}))
    with torch.no_grad():
        net[2].weight.mul_(40.0)  # decisions that vary from image to image
    return net
"""
FIELDS = {"accuracy", "error_consistency", "observed_consistency", "accuracy_difference"}
REL = 1e-9


def _model_file(folder, seed=0, out=1000):
    path = folder / "net.py"
    path.write_text(MODEL.format(seed=seed, out=out))
    return f"{path}:build"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    data, humans = write_standins(root, per_condition=2, size=8)
    spec = _model_file(root)
    results = run_benchmark([spec], "all", data, root / "out", human_data=humans, num_workers=0, batch_size=5)
    return root, data, humans, spec, results


def mvh_rows(net, data, dataset, model_name):
    """model-vs-human's ModelEvaluator + ResultPrinter on one dataset, image by image."""
    root = data / dataset if dataset in FOLDER_DATASETS else data / dataset / "dnn"
    normalize = transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
    folder = ImageFolder(str(root), transforms.Compose([transforms.ToTensor(), normalize]))
    indices = imagenet_indices()
    rows, index = [], 0
    for (image, _), (path, _) in zip(folder, folder.imgs):
        with torch.no_grad():
            probabilities = torch.softmax(net(image[None]), dim=1).numpy()
        aggregated = np.transpose([np.mean(np.take(probabilities, indices[c], axis=-1), axis=-1) for c in CATEGORIES])
        response = np.take(CATEGORIES, np.flip(np.argsort(aggregated, axis=-1), axis=-1), axis=-1)[0]
        img_name = path.split("/")[-1]
        if dataset in FOLDER_DATASETS:
            session_name, condition, category = "session-1", "NaN", path.split("/")[-2]
        else:
            session_name, condition, category = path.split("/")[-2], img_name.split("_")[3], img_name.split("_")[4]
        rows.append([model_name, str(int(session_name.split("-")[-1])), str(index + 1), "NaN", response[0],
                     category, condition, img_name])
        index += 1
    return rows


def _read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


def _build(spec):
    namespace = {}
    exec(open(spec.rsplit(":", 1)[0]).read(), namespace)
    return namespace["build"]().eval()


@pytest.mark.parametrize("dataset", BENCHMARK_DATASETS)
def test_raw_data_equal_model_vs_humans_loop(run, dataset):
    root, data, _, spec, _ = run
    [csv_file] = (root / "out" / "raw-data" / dataset).glob("*.csv")
    assert csv_file.name == f"{dataset}_{runner.raw_csv_name('x', spec)[2:]}"
    rows = _read_csv(csv_file)
    assert rows[0] == ["subj", "session", "trial", "rt", "object_response", "category", "condition", "imagename"]
    assert rows[1:] == mvh_rows(_build(spec), data, dataset, spec)
    assert csv_file.read_bytes().count(b"\r\n") == len(rows)  # csv.writer line ends, as model-vs-human


def test_results_hold_every_field_for_every_dataset(run):
    root, _, _, spec, results = run
    assert json.loads((root / "out" / "results.json").read_text()) == results
    assert set(results["observers"]) == {spec, "humans"} and results["datasets"] == list(BENCHMARK_DATASETS)
    model = results["observers"][spec]
    assert model["summary"]["complete"] and model["summary"]["ood_accuracy"] is not None
    for dataset, entry in model["datasets"].items():
        assert FIELDS <= set(entry) and ("shape_bias" in entry) == (dataset == "cue-conflict")
        assert list(entry["conditions"]) == list(DATA_CONDITIONS.get(dataset, ()))
        for condition in entry["conditions"].values():
            assert FIELDS <= set(condition)
    accuracies = {round(e["accuracy"], 6) for e in model["datasets"].values()}
    assert len(accuracies) > 2  # the random model's decisions vary
    report = (root / "out" / "report.md").read_text()
    assert "| observer | OOD accuracy" in report and spec in report and "Shape bias" in report
    for figure in ("accuracy_by_condition.png", "error_consistency.png", "shape_bias.png"):
        assert f"]({figure})" in report and (root / "out" / figure).stat().st_size > 1000


@pytest.mark.parametrize("dataset", ["uniform-noise", "edge"])
def test_metrics_equal_model_vs_humans_analysis(run, dataset):
    root, _, humans, spec, results = run
    spelling = PANDAS_CONDITION.get(dataset, {})
    rows = []
    for file in sorted([*(root / "out" / "raw-data" / dataset).glob("*.csv"), *(humans / dataset).glob("*.csv")]):
        header, *lines = _read_csv(file)
        for line in lines:
            r = dict(zip([h.lower() for h in header], line))
            rows.append({**r, "condition": spelling.get(r["condition"], r["condition"]),
                         "image_id": ref.get_short_imagename(r["imagename"])})
    expected = ref.format_benchmark(ref.raw_benchmark_rows(rows, dataset))[spec]
    ours = results["observers"][spec]["datasets"][dataset]
    assert ours["error_consistency"] == pytest.approx(expected["error consistency"], rel=REL)
    assert ours["observed_consistency"] == pytest.approx(expected["observed consistency"], rel=REL)
    assert ours["accuracy_difference"] == pytest.approx(expected["accuracy difference"], rel=REL)
    assert ours["accuracy"] == pytest.approx(ref.mean_over_datasets({dataset: rows})[spec], rel=REL)


def test_from_csv_reproduces_model_vs_humans_metrics_without_a_model(tmp_path):
    names = ("uniform-noise", "cue-conflict", "sketch")
    raw = {name: write_dataset(tmp_path / "raw-data", name, seed=k) for k, name in enumerate(names)}
    results = run_benchmark(from_csv=[tmp_path / "raw-data" / n for n in names], output_dir=tmp_path / "out")
    expected = ref.format_benchmark([row for n, rows in raw.items() for row in ref.raw_benchmark_rows(rows, n)])
    ood = ref.mean_over_datasets(raw)
    assert set(results["observers"]) == set(expected)
    assert results["datasets"] == ["cue-conflict", "uniform-noise", "sketch"]  # the benchmark's order
    for observer, row in results["observers"].items():
        summary = row["summary"]
        assert summary["ood_accuracy"] == pytest.approx(ood[observer], rel=REL)
        assert summary["error_consistency"] == pytest.approx(expected[observer]["error consistency"], rel=REL)
        assert summary["observed_consistency"] == pytest.approx(expected[observer]["observed consistency"], rel=REL)
        assert summary["accuracy_difference"] == pytest.approx(expected[observer]["accuracy difference"], rel=REL)
    sb = results["observers"]["model_good"]["datasets"]["cue-conflict"]["shape_bias"]
    assert sb == pytest.approx(ref.shape_bias([r for r in raw["cue-conflict"] if r["subj"] == "model_good"]), rel=REL)
    # a model's file alone: compared with the human data of --human-data (else the pinned files)
    alone = tmp_path / "alone"
    alone.mkdir()
    model_file = tmp_path / "raw-data" / "sketch" / "sketch_model-good_session-1.csv"
    model_file.rename(alone / model_file.name)
    (tmp_path / "raw-data" / "sketch" / "sketch_model-poor_session-1.csv").unlink()
    only = run_benchmark(from_csv=[alone / model_file.name], human_data=tmp_path / "raw-data", output_dir=tmp_path / "o")
    assert set(only["observers"]) == {"model_good", "humans"} and only["datasets"] == ["sketch"]
    assert only["observers"]["model_good"]["datasets"]["sketch"] == results["observers"]["model_good"]["datasets"]["sketch"]
    (tmp_path / "notaset_model_session-1.csv").write_text("subj\n")
    with pytest.raises(DataError, match="'notaset' is not a benchmark dataset"):
        run_benchmark(from_csv=[tmp_path / "notaset_model_session-1.csv"], output_dir=tmp_path / "o")
    with pytest.raises(InvalidArgumentError, match="--model.*--from-csv"):
        run_benchmark(output_dir=tmp_path / "o")


@pytest.fixture
def small(tmp_path):
    data, humans = write_standins(tmp_path, ["edge", "colour"], per_condition=2, size=8)
    return tmp_path, data, humans


def _run(root, data, humans, spec, **kw):
    return run_benchmark([spec], ["edge", "colour"], data, root / "out", human_data=humans, num_workers=0, **kw)


def test_a_finished_dataset_is_not_run_again_and_a_changed_model_is_refused(small, monkeypatch):
    root, data, humans = small
    spec = _model_file(root, seed=0)
    first = _run(root, data, humans, spec)
    real = runner.decision_batches
    calls = []
    monkeypatch.setattr(runner, "decision_batches", lambda *a, **k: calls.append(len(a[1])) or real(*a, **k))
    assert _run(root, data, humans, spec) == first and calls == []
    colour_csv = next((root / "out" / "raw-data" / "colour").glob("*.csv"))
    colour_csv.write_text(colour_csv.read_text()[:-40])  # an interrupted write of another tool
    assert _run(root, data, humans, spec) == first and calls == [len(list((data / "colour").rglob("*.png")))]
    _model_file(root, seed=1)  # same spec, other weights
    with pytest.raises(InvalidArgumentError, match=r"different run.*weights: stored .*--no-resume"):
        _run(root, data, humans, spec)
    identity = next((root / "out" / "raw-data" / "edge").glob("*.identity.json"))
    before = json.loads(identity.read_text())["identity"]["weights"]
    calls.clear()
    _run(root, data, humans, spec, resume=False)  # overwrites: both datasets run in one stream
    assert calls == [len(list((data / "edge").rglob("*.png"))) + len(list((data / "colour").rglob("*.png")))]
    assert json.loads(identity.read_text())["identity"]["weights"] != before
    with pytest.raises(InvalidArgumentError, match="preprocess"):
        _run(root, data, humans, spec, preprocess={"resize": 8})


def test_any_head_through_a_label_mapping(small):
    root, data, humans = small
    spec = _model_file(root, out=5)
    with pytest.raises(ModelOutputError, match="outputs 5 values.*--label-map"):
        _run(root, data, humans, spec)
    (root / "map.json").write_text(json.dumps({"dog": [0, 1], "cat": [2], "car": [3, 4]}))
    _run(root, data, humans, spec, label_map=root / "map.json", resume=False)
    for file in (root / "out" / "raw-data").rglob("*.csv"):
        assert {row[4] for row in _read_csv(file)[1:]} <= {"dog", "cat", "car"}
    with pytest.raises(InvalidArgumentError, match="label_map"):  # a changed mapping is another run
        _run(root, data, humans, spec, label_map={"dog": [0], "cat": [2]})


def test_cli_json_and_labelled_random_weights(small, capsys):
    root, data, humans = small
    spec = _model_file(root)
    argv = ["benchmark", "--model", spec, "--no-pretrained", "--datasets", "edge", "--data", str(data),
            "--human-data", str(humans), "--output", str(root / "cli"), "--workers", "0", "--json", "--no-progress"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert "deprecated" in captured.err  # --output: the hidden old spelling of --output-dir
    name = f"{spec} (random weights)"
    assert out["observers"][name]["pretrained"] is False and out["observers"][name]["weights"] == "random weights"
    assert FIELDS <= set(out["observers"][name]["datasets"]["edge"]) and "ood_accuracy" in out["observers"][name]["summary"]
    assert json.loads((root / "cli" / "results.json").read_text()) == out
    assert main(["benchmark", "--model", spec, "--datasets", "edgee", "--output-dir", str(root / "x")]) == 2
    assert "did you mean 'edge'" in capsys.readouterr().err and not (root / "x").exists()
