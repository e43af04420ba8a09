import json

import pytest
import torch

from stylebias.errors import InvalidArgumentError, UnknownNameError
from stylebias.training import METHODS, load_config, train
from stylebias.training import methods as methods_module
from stylebias.training.hparams import default_hparams, random_hparams
from tests.training.conftest import NEEDS_USER_FILES


def cfg_for(tmp_path, name="run", **kw):
    base = dict(steps=8, batch_size=16, checkpoint_every=4, output_dir=tmp_path / name, progress=False)
    merged = {**base, **kw}
    merged["hparams"] = {"model_width": 4, **kw.get("hparams", {})}  # a tiny, fast network
    return load_config(**merged)


def weights(result_dir):
    return torch.load(result_dir / "checkpoint.pt", weights_only=True)["model"]


def test_train_writes_its_files_and_learns(tmp_path, bundle):
    result = train(cfg_for(tmp_path, steps=40, hparams={"lr": 0.1}), data=bundle)
    out = result.output_dir
    assert {p.name for p in out.iterdir()} >= {"config.json", "hparams.json", "metrics.jsonl", "checkpoint.pt", "results.json", "done"}
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [4, 8, 12, 16, 20, 24, 28, 32, 36, 40]
    assert rows[-1]["loss"] < rows[0]["loss"]
    assert result.final["val_acc"] > 0.9  # the toy task is easy
    assert 0 <= result.final["shape_bias"] <= 1
    assert json.loads((out / "hparams.json").read_text())["lr"] == 0.1
    assert result.hparams["model_width"] == 4


@pytest.mark.parametrize("method", ["mixstyle", "adversarial_style"])
def test_interrupted_run_resumes_exactly(tmp_path, bundle, monkeypatch, method):
    hp = {"p": 0.5} if method == "mixstyle" else {"steps": 1}
    straight = train(cfg_for(tmp_path, "straight", method=method, hparams=hp), data=bundle)

    calls = {"n": 0}
    original = METHODS.get(method).func.update

    def crash_after_five(self, batch):
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt("killed")
        return original(self, batch)

    monkeypatch.setattr(METHODS.get(method).func, "update", crash_after_five)
    with pytest.raises(KeyboardInterrupt):
        train(cfg_for(tmp_path, "resumed", method=method, hparams=hp), data=bundle)
    monkeypatch.undo()
    resumed = train(cfg_for(tmp_path, "resumed", method=method, hparams=hp), data=bundle)
    a, b = weights(straight.output_dir), weights(resumed.output_dir)
    assert all(torch.equal(a[k], b[k]) for k in a)
    steps = [json.loads(line)["step"] for line in (resumed.output_dir / "metrics.jsonl").read_text().splitlines()]
    assert steps == [4, 8]  # nothing logged twice
    assert resumed.final["loss"] == straight.final["loss"]


def test_finished_run_is_not_retrained(tmp_path, bundle, monkeypatch):
    first = train(cfg_for(tmp_path), data=bundle)
    monkeypatch.setattr(methods_module.ERM, "update", lambda *a: pytest.fail("retrained"))
    again = train(cfg_for(tmp_path), data=bundle)
    assert again.final == first.final


def test_selection_uses_best_validation_accuracy(tmp_path, bundle):
    result = train(cfg_for(tmp_path, steps=12), data=bundle)
    assert result.selected["val_acc"] == max(h["val_acc"] for h in result.history)


def test_csv_log(tmp_path, bundle):
    result = train(cfg_for(tmp_path, log_format="csv"), data=bundle)
    lines = (result.output_dir / "metrics.csv").read_text().splitlines()
    assert lines[0].startswith("step,loss") and len(lines) == 3


@pytest.mark.parametrize("method", sorted(set(METHODS) - NEEDS_USER_FILES))
def test_every_method_trains_a_few_steps(tmp_path, bundle, method):
    result = train(cfg_for(tmp_path, method=method, steps=4, model="small_resnet"), data=bundle)
    assert torch.isfinite(torch.tensor(result.final["loss"]))


def test_amp_bf16_on_cpu(tmp_path, bundle):
    result = train(cfg_for(tmp_path, amp=True, steps=4, method="mixstyle"), data=bundle)
    assert torch.isfinite(torch.tensor(result.final["loss"]))


def test_config_file_flags_and_typos(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('method = "mixstyle"\nsteps = 50\n[hparams]\nlr = 0.01\nalpha = 0.3\n')
    cfg = load_config(path, steps=7)
    assert (cfg.method, cfg.steps, cfg.hparams) == ("mixstyle", 7, {"lr": 0.01, "alpha": 0.3})
    path.write_text("stesp = 5\n")
    with pytest.raises(InvalidArgumentError, match="unknown config key.*stesp.*valid keys"):
        load_config(path)
    with pytest.raises(InvalidArgumentError, match="config key 'steps' must be int, got 'many'"):
        load_config(steps="many")


def test_hparams_defaults_and_seeded_draws():
    assert default_hparams("mixstyle")["alpha"] == 0.1 and default_hparams("padain")["p"] == 0.01
    a, b = random_hparams("mixstyle", 3), random_hparams("mixstyle", 3)
    assert a == b and a != random_hparams("mixstyle", 4)
    # each value depends only on (seed, name): the common keys agree across methods
    assert random_hparams("erm", 3)["lr"] == a["lr"]


def test_stylized_mixing_then_finetuning_on_the_original(tmp_path, bundle):
    from torch.utils.data import TensorDataset

    stylized = TensorDataset(torch.ones(32, 3, 12, 12) * 0.5, torch.zeros(32, dtype=torch.long))
    bundle.finetune = bundle.train
    bundle.train = torch.utils.data.ConcatDataset([bundle.train, stylized])
    result = train(cfg_for(tmp_path, steps=4, finetune_steps=4, hparams={"lr": 0.1}), data=bundle)
    lrs = [h["lr"] for h in result.history]
    assert [h["step"] for h in result.history] == [4, 8]
    assert lrs[-1] == pytest.approx(0.1 * 0.1)  # a tenth of the base rate while fine-tuning


def test_train_cli_leave_one_domain_out_on_the_builtin_benchmark(tmp_path, capsys):
    from stylebias.cli import main

    args = ["train", "--data", "shapes:n_per_class=4,val_per_class=2,test_per_class=6,cue_per_class=2",
            "--leave-one-domain-out", "--methods", "erm", "--steps", "2", "--batch-size", "8",
            "--corruption-severities", "3", "--output-dir", str(tmp_path / "sweep"), "--no-progress",
            "--hparams", '{"model_width": 4}']
    assert main(args) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0] == "| method | photo | cartoon | sketch | painting | average |"
    saved = json.loads((tmp_path / "sweep" / "dg_results.json").read_text())
    assert len(saved["runs"]) == 4 and {r["held_out"] for r in saved["runs"]} == {"photo", "cartoon", "sketch", "painting"}


def test_registered_benchmark_networks_build_with_any_head():
    from stylebias.models import build_classifier

    net = build_classifier("cifar_resnet18", 7)
    assert net.fc.out_features == 7 and net.conv1.stride == (1, 1) and isinstance(net.maxpool, torch.nn.Identity)
    assert build_classifier("cifar_resnet", 3).fc.in_features == 512  # the depth defaults to 18
    assert build_classifier("small_resnet", 5, width=8).fc.in_features == 32  # 4 x width
    with pytest.raises(UnknownNameError, match=r"unknown model 'vgg'.*Available: .*small_resnet"):
        build_classifier("vgg", 3)


def test_tensorboard_without_the_package_is_a_clear_error(tmp_path, bundle, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if not installed
    with pytest.raises(InvalidArgumentError, match="pip install tensorboard"):
        train(cfg_for(tmp_path, tensorboard=True), data=bundle)


def test_stylized_data_does_not_change_the_shared_builtin_bundle(tmp_path):
    """The built-in benchmark is rendered once per process and cached: mixing stylized images
    into one run's training set must not leak into a later run without them."""
    from PIL import Image

    from stylebias.datasets import ShapeTexture
    from stylebias.training.datasets import build_data

    for name in ShapeTexture.CLASSES:
        (tmp_path / "sty" / name).mkdir(parents=True)
        Image.new("RGB", (16, 16), (200, 30, 30)).save(tmp_path / "sty" / name / "a.png")
    data = "shapes:n_per_class=2,val_per_class=1,test_per_class=1,cue_per_class=1"
    plain = build_data(load_config(data=data))
    mixed = build_data(load_config(data=data, stylized_data=str(tmp_path / "sty")))
    again = build_data(load_config(data=data))
    assert len(mixed.train) == len(plain.train) + len(ShapeTexture.CLASSES)
    assert again.train is plain.train and len(again.train) == len(plain.train) and again.finetune is None
    # labels follow the class names, not the folders' sorted order
    names = ShapeTexture.CLASSES
    stylized = mixed.train.datasets[1]
    assert [names[label] for _, label, _ in stylized.samples] == [path.parent.name for path, _, _ in stylized.samples]
    assert sorted(names) != list(names)  # the case that used to be refused, or mislabelled
