"""The demo: verdicts on hand-made numbers, the parallel trainer, end to end with resume."""

import dataclasses
import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch

from stylebias.cli import main
from stylebias.errors import InvalidArgumentError
from stylebias.training import load_config, train
from stylebias.training.demo import DemoConfig, demo_configs
from stylebias.training.demo_report import headline, method_rows, paired_difference, verdict
from stylebias.training.dg import run_configs, sweep_configs
from tests.training.conftest import tiny_bundle


def _runs(values_by_method):
    """Run records from {method: {metric: [value per seed]}} (seeds 0, 1, 2, ...)."""
    runs = []
    for method, metrics in values_by_method.items():
        n = len(next(iter(metrics.values())))
        for seed in range(n):
            runs.append({"method": method, "seed": seed, "held_out": "sketch",
                         "selected": {key: values[seed] for key, values in metrics.items()}})
    return runs


def _metrics(test_acc, shape_bias, corruption_error, val_acc):
    return {"test_acc": test_acc, "shape_bias": shape_bias, "corruption_error": corruption_error, "val_acc": val_acc}


def test_paired_difference_is_a_t_interval_over_seeds():
    diff = paired_difference({0: 0.5, 1: 0.7, 2: 0.9}, {0: 0.4, 1: 0.5, 2: 0.6})  # diffs 0.1, 0.2, 0.3
    assert diff["n"] == 3 and diff["mean"] == pytest.approx(0.2) and diff["std"] == pytest.approx(0.1)
    half = 4.303 * 0.1 / math.sqrt(3)  # t(0.975, df=2) * sd / sqrt(n)
    assert diff["low"] == pytest.approx(0.2 - half) and diff["high"] == pytest.approx(0.2 + half)
    only_shared = paired_difference({0: 1.0, 5: 9.0}, {0: 0.25, 1: 3.0})  # seed 0 alone is shared
    assert only_shared["n"] == 1 and only_shared["mean"] == 0.75 and math.isnan(only_shared["low"])


def test_verdict_needs_the_interval_to_exclude_zero_and_the_gap_to_exceed_the_spread():
    clear = {"mean": 0.2, "low": 0.1, "high": 0.3, "spread": 0.05, "n": 3}
    assert verdict(clear, +1) == "raised"
    assert verdict({**clear, "mean": -0.2, "low": -0.3, "high": -0.1}, -1) == "lowered"
    # consistent across seeds (interval excludes 0) but smaller than the seeds' spread
    assert verdict({**clear, "spread": 0.25}, +1) == "within seed spread"
    # larger than the spread but the interval straddles 0
    assert verdict({**clear, "low": -0.01}, +1) == "within seed spread"
    assert verdict({"mean": 0.2, "low": math.nan, "high": math.nan, "spread": 0.0, "n": 1}, +1) == "one seed"


def test_headline_names_the_methods_that_moved_each_metric_and_their_cost():
    erm = _metrics([0.30, 0.32, 0.31], [0.20, 0.22, 0.21], [0.50, 0.52, 0.51], [0.95, 0.96, 0.97])
    shape = _metrics([0.30, 0.32, 0.31], [0.50, 0.53, 0.51], [0.50, 0.52, 0.51], [0.90, 0.91, 0.92])  # +30 pts shape bias
    robust = _metrics([0.41, 0.44, 0.42], [0.20, 0.22, 0.21], [0.40, 0.41, 0.40], [0.95, 0.96, 0.97])  # DG up, error down
    noisy = _metrics([0.10, 0.60, 0.31], [0.05, 0.50, 0.20], [0.30, 0.75, 0.51], [0.95, 0.96, 0.97])  # within spread
    rows = method_rows(_runs({"erm": erm, "shape": shape, "robust": robust, "noisy": noisy}),
                       ["erm", "shape", "robust", "noisy"])
    assert rows[1]["shape_bias"] == pytest.approx((0.50 + 0.53 + 0.51) / 3)
    assert rows[1]["shape_bias_vs_base"]["mean"] == pytest.approx(0.30 + 0.01 / 3)
    lines = headline(rows)
    assert lines[0].startswith("- **Raised shape bias vs ERM:** shape (+30.3 pts")
    assert "robust" not in lines[0] and "noisy" not in lines[0]
    assert lines[1].startswith("- **Raised held-out-domain accuracy vs ERM:** robust (+11.3 pts")
    assert lines[2].startswith("- **Lowered corruption error vs ERM:** robust (-10.7 pts")
    assert "noisy" not in "".join(lines)
    cost = lines[3]
    assert "shape -5.0 pts" in cost and "(a finding)" in cost  # 5 points lower in-domain on every seed
    assert "robust +0.0 pts" in cost and "(within seed spread)" in cost
    assert verdict(rows[3]["dg_accuracy_vs_base"], +1) == "within seed spread"


def test_headline_with_nothing_found_or_one_seed():
    erm = _metrics([0.3, 0.4], [0.2, 0.3], [0.5, 0.6], [0.9, 0.8])
    other = _metrics([0.4, 0.3], [0.3, 0.2], [0.6, 0.5], [0.8, 0.9])
    lines = headline(method_rows(_runs({"erm": erm, "other": other}), ["erm", "other"]))
    assert all("none (every difference" in line for line in lines[:3]) and "no cost" in lines[3]
    one = headline(method_rows(_runs({"erm": _metrics([0.3], [0.2], [0.5], [0.9]),
                                      "other": _metrics([0.9], [0.9], [0.1], [0.9])}), ["erm", "other"]))
    assert all("one seed" in line for line in one[:3])


def _data(cfg):  # module level: worker processes unpickle it by name
    return tiny_bundle(seed=1)


def test_worker_processes_give_the_same_runs_as_training_here(tmp_path):
    base = load_config(steps=6, batch_size=16, checkpoint_every=3, progress=False, device="cpu",
                       hparams={"model_width": 4})
    cfgs = sweep_configs(base, ["a", "b"], {"erm": {}, "mixstyle": {"p": 1.0}}, [0, 1], tmp_path / "pool", held_out=["a"])
    pooled = run_configs(cfgs, processes=2, data_fn=_data)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the workers' setting: convolutions sum in the same order
    try:
        here = [train(dataclasses.replace(cfg, output_dir=tmp_path / "here" / cfg.output_dir.name), data=_data(cfg))
                for cfg in cfgs]
    finally:
        torch.set_num_threads(threads)
    assert [(r["method"], r["seed"]) for r in pooled] == [("erm", 0), ("erm", 1), ("mixstyle", 0), ("mixstyle", 1)]
    for record, result in zip(pooled, here):
        assert record["final"] == result.final | {"images_per_s": record["final"]["images_per_s"]}  # same losses, exactly
        assert record["selected"]["val_acc"] == result.selected["val_acc"]
    assert pooled[0]["final"]["loss"] != pooled[1]["final"]["loss"]  # seeds differ
    # the pool reads finished runs back (identity-checked) instead of training again
    again = run_configs(cfgs, processes=1, data_fn=_data)
    assert [r["final"] for r in again] == [r["final"] for r in pooled]


def test_demo_configs_are_checked_before_anything_is_written(tmp_path):
    with pytest.raises(InvalidArgumentError, match="must start with erm"):
        demo_configs(DemoConfig(output=tmp_path / "o", methods=("mixstyle", "erm")))
    with pytest.raises(InvalidArgumentError, match="does not run"):
        demo_configs(DemoConfig(output=tmp_path / "o", methods=("erm",), hparams={"dsu": {"p": 0.1}}))
    with pytest.raises(InvalidArgumentError, match="held-out"):
        demo_configs(DemoConfig(output=tmp_path / "o", held_out=("moon",)))
    assert not (tmp_path / "o").exists()
    compared, ceiling = demo_configs(DemoConfig(output=tmp_path / "o", quick=True, methods=("erm", "dsu"),
                                                hparams={"dsu": {"p": 0.25}}))
    assert [(c.method, c.seed, c.hparams) for c in compared] == [
        ("erm", 0, {}), ("erm", 1, {}), ("erm", 2, {}), ("dsu", 0, {"p": 0.25}), ("dsu", 1, {"p": 0.25}), ("dsu", 2, {"p": 0.25})]
    assert {c.data for c in ceiling} == {"shapes:texture_correlation=0.0"} and len(ceiling) == 3
    assert len({c.output_dir for c in compared + ceiling}) == 9  # every run its own folder


def test_quick_demo_end_to_end_then_read_back(tmp_path, capsys):
    out = tmp_path / "demo"
    args = ["demo", "--quick", "--output-dir", str(out), "--methods", "erm", "mixstyle", "--steps", "2",
            "--seeds", "0", "1", "--processes", "1", "--no-progress"]
    assert main(args) == 0
    results = json.loads((out / "results.json").read_text())
    assert [r["method"] for r in results["methods"]] == ["erm", "mixstyle"]
    assert results["ceiling"]["method"] == "random_textures" and results["runs"] == 6
    for row in results["methods"]:
        assert row["runs"] == 2 and set(row["shape_bias_seeds"]) == {"0", "1"}
        for key in ("dg_accuracy", "shape_bias", "corruption_error", "in_domain_accuracy"):
            assert 0.0 <= row[key] <= 1.0
    assert results["methods"][1]["shape_bias_vs_base"]["n"] == 2
    report = (out / "report.md").read_text()
    first = report.splitlines()[2:6]
    assert [line.split(":**")[0] for line in first] == [
        "- **Raised shape bias vs ERM", "- **Raised held-out-domain accuracy vs ERM",
        "- **Lowered corruption error vs ERM", "- **In-domain cost"]
    assert "| random textures (ceiling) |" in report and "| chance (floor) | 10.0 |" in report
    assert (out / "report.png").stat().st_size > 1000
    assert "Wall time" in report and "read back" not in report
    assert main(args) == 0  # a second invocation reads every finished run back
    report = (out / "report.md").read_text()
    assert "All 6 runs were read back" in report and "Wall time" not in report
    assert "read back from an earlier invocation" in capsys.readouterr().out
    again = json.loads((out / "results.json").read_text())
    assert again["runs_read_back"] == 6 and again["methods"] == results["methods"]


def _setting_script():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "demo_setting.py"
    spec = importlib.util.spec_from_file_location("demo_setting", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_setting_rule_plateau_and_choice_on_hand_made_histories():
    script = _setting_script()
    history = [{"step": 100 * (i + 1), "val_acc": v} for i, v in enumerate([0.5, 0.9, 0.95, 0.955, 0.95])]
    assert script.plateau(history, 0.01)["step"] == 300  # first within 0.01 of the best, 2 evaluations follow
    assert script.plateau(history[:4], 0.01) is None  # only one evaluation after it: not yet a plateau
    rows = [{"texture_correlation": 0.0, "plateaued": True, "shape_bias": 0.99},
            {"texture_correlation": 0.9, "plateaued": True, "shape_bias": 0.8},
            {"texture_correlation": 0.98, "plateaued": True, "shape_bias": 0.2},
            {"texture_correlation": 0.98, "plateaued": True, "shape_bias": 0.45},  # one seed is not texture-biased
            {"texture_correlation": 1.0, "plateaued": True, "shape_bias": 0.15},
            {"texture_correlation": 1.0, "plateaued": True, "shape_bias": 0.2}]
    assert script.choose(rows, [0.0, 0.9, 0.98, 1.0], 0.3) == 1.0
    assert script.choose(rows, [0.0, 0.9, 0.98, 1.0], 0.5) == 0.98
    rows[-1]["plateaued"] = False
    assert script.choose(rows, [0.0, 0.9, 0.98, 1.0], 0.3) is None
