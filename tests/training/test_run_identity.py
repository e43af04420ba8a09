"""A run's identity is its config: own folders, refused mismatches, clear errors, no leftovers."""

import json
import logging

import pytest
import torch

from stylebias.cli import main
from stylebias.errors import DataError, InvalidArgumentError, StyleBiasError
from stylebias.training import METHODS, load_config, train
from stylebias.training import methods as methods_module
from stylebias.training.identity import DEFAULT_RUNS_ROOT, identity_hash, resolve_hparams, run_identity
from tests.training.test_loop import cfg_for, weights


def crash_on_update(monkeypatch, method, call):
    """Make the ``call``-th update of ``method`` raise, as a killed process would stop there."""
    cls = METHODS.get(method)
    cls = getattr(cls, "func", cls)
    original, calls = cls.update, {"n": 0}

    def update(self, batch):
        calls["n"] += 1
        if calls["n"] == call:
            raise KeyboardInterrupt("killed")
        return original(self, batch)

    monkeypatch.setattr(cls, "update", update)


def interrupted(tmp_path, bundle, name="run", call=6, **kw):
    """A run killed at update ``call`` (checkpoint at step 4 with the defaults of cfg_for)."""
    with pytest.MonkeyPatch.context() as patch:
        crash_on_update(patch, kw.get("method", "erm"), call)
        with pytest.raises(KeyboardInterrupt):
            train(cfg_for(tmp_path, name, **kw), data=bundle)
    return tmp_path / name


def no_training(monkeypatch):
    monkeypatch.setattr(methods_module.ERM, "update", lambda *a: pytest.fail("retrained"))


# --- identity and the default folder ------------------------------------------------------

def test_each_config_gets_its_own_default_folder(tmp_path, bundle, monkeypatch):
    monkeypatch.chdir(tmp_path)
    small = dict(steps=2, batch_size=16, checkpoint_every=2, progress=False, hparams={"model_width": 4})
    dsu = train(load_config(method="dsu", **small), data=bundle)
    mix = train(load_config(method="mixstyle", **small), data=bundle)
    assert dsu.output_dir != mix.output_dir
    assert dsu.output_dir.parent == mix.output_dir.parent == DEFAULT_RUNS_ROOT
    assert mix.output_dir.name.startswith("mixstyle-") and mix.config["method"] == "mixstyle"
    assert json.loads((mix.output_dir / "config.json").read_text())["method"] == "mixstyle"
    # the same run asked again (display and loader settings aside) is read back, not retrained
    no_training(monkeypatch)
    again = train(load_config(method="dsu", **{**small, "progress": True, "workers": 0, "log_format": "csv"}), data=bundle)
    assert again.output_dir == dsu.output_dir and again.final == dsu.final


def test_identity_resolves_hparams_and_ignores_display_keys():
    base = load_config(method="MixStyle")
    same = load_config(method="mixstyle", hparams={"lr": 0.05}, progress=False, workers=3, output_dir="x")
    other = load_config(method="mixstyle", hparams={"lr": 0.01})

    def digest(cfg):
        return identity_hash(run_identity(cfg.to_dict(), resolve_hparams(cfg.method, cfg.hparams)))

    assert digest(base) == digest(same) != digest(other)
    assert digest(load_config(device="cpu")) != digest(load_config(device="auto"))


def test_a_folder_of_another_config_is_refused_naming_the_keys(tmp_path, bundle):
    train(cfg_for(tmp_path, steps=4, hparams={"lr": 0.1}), data=bundle)
    with pytest.raises(InvalidArgumentError, match=r"steps: stored 4, asked 8\).*--output-dir.*delete") as err:
        train(cfg_for(tmp_path, steps=8, hparams={"lr": 0.1}), data=bundle)
    assert str(tmp_path / "run") in str(err.value)
    with pytest.raises(InvalidArgumentError, match=r"differs: hparams\.lr: stored 0\.1, asked 0\.2\)"):
        train(cfg_for(tmp_path, steps=4, hparams={"lr": 0.2}), data=bundle)


def test_a_checkpoint_of_another_config_is_not_resumed(tmp_path, bundle):
    out = interrupted(tmp_path, bundle)
    (out / "config.json").unlink()  # only the checkpoint says which run this is
    with pytest.raises(InvalidArgumentError, match=r"checkpoint\.pt differs: hparams\.momentum: stored 0\.9, asked 0\.5"):
        train(cfg_for(tmp_path, hparams={"momentum": 0.5}), data=bundle)


def test_results_of_another_config_are_not_read_back(tmp_path, bundle):
    out = train(cfg_for(tmp_path, steps=4), data=bundle).output_dir
    for name in ("config.json", "hparams.json"):
        (out / name).unlink()  # only results.json says which run this is
    with pytest.raises(InvalidArgumentError, match=r"results\.json differs: seed: stored 0, asked 1"):
        train(cfg_for(tmp_path, steps=4, seed=1), data=bundle)


# --- validation before anything is written ------------------------------------------------

@pytest.mark.parametrize("bad, message", [
    ({"steps": -5}, r"steps \(--steps\) must be an integer >= 1, got -5"),
    ({"batch_size": 0}, r"batch_size \(--batch-size\) must be an integer >= 1"),
    ({"checkpoint_every": 0}, r"checkpoint_every \(--checkpoint-every\) must be an integer >= 1"),
    ({"finetune_steps": -1}, r"finetune_steps .* >= 0"),
    ({"style_augment_fraction": 1.5}, r"style_augment_fraction must be in \[0, 1\]"),
    ({"log_format": "xml"}, r"log_format .* 'jsonl' or 'csv'"),
    ({"method": "mixstlye"}, r"unknown method 'mixstlye'. Did you mean 'mixstyle'"),
    ({"model": "vgg"}, r"unknown model 'vgg'.*Available: .*small_resnet"),
    ({"model": "torchvison:resnet18"}, r"unknown model source prefix 'torchvison'.*did you mean 'torchvision'"),
    ({"device": "cuda:7"}, r"device 'cuda:7' \(--device\).*CUDA device"),
    ({"device": "gpu"}, r"device 'gpu' \(--device\) is not a device name"),
    ({"hparams": {"alpah": 0.1}, "method": "mixstyle"}, r"unknown hyperparameter\(s\) 'alpah' \(did you mean 'alpha'\?\)"),
    ({"hparams": {"lr": 0.1, "moment": 0.5}}, r"'moment' \(did you mean 'momentum'\?\).*known: .*weight_decay"),
])
def test_bad_config_is_refused_and_leaves_nothing(tmp_path, bundle, bad, message):
    if bad.get("device", "").startswith("cuda") and torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    with pytest.raises(StyleBiasError, match=message):
        train(cfg_for(tmp_path, **bad), data=bundle)
    assert not (tmp_path / "run").exists()


def test_style_layer_arguments_are_known_hparams():
    assert resolve_hparams("mixstyle", {"mix": "crossdomain", "eps": 1e-5})["mix"] == "crossdomain"
    with pytest.raises(InvalidArgumentError, match="'mix'"):
        resolve_hparams("erm", {"mix": "crossdomain"})  # ERM has no style layer


def test_a_failing_start_leaves_no_folder(tmp_path, bundle):
    bundle.train = torch.utils.data.Subset(bundle.train, range(8))  # fewer items than one batch
    with pytest.raises(DataError, match="fewer than one batch"):
        train(cfg_for(tmp_path), data=bundle)
    assert not (tmp_path / "run").exists()


# --- the CLI: clear errors, not tracebacks ------------------------------------------------

# a small run, should a check fail to fire (later flags override these)
SMALL = ["--data", "shapes:n_per_class=2,val_per_class=1,test_per_class=2,cue_per_class=1", "--steps", "2",
         "--batch-size", "8", "--corruption-severities", "3", "--hparams", '{"model_width": 4}', "--no-progress"]

@pytest.mark.parametrize("flags, message", [
    (["--hparams", "{bad"], r"config key 'hparams' \(--hparams\) is not valid JSON"),
    (["--hparams", '{"alpah": 0.1}', "--method", "mixstyle"], r"did you mean 'alpha'"),
    (["--batch-size", "0"], r"batch_size \(--batch-size\) must be an integer >= 1, got 0"),
    (["--checkpoint-every", "0"], r"checkpoint_every \(--checkpoint-every\) must be an integer >= 1"),
    (["--steps", "-5"], r"steps \(--steps\) must be an integer >= 1, got -5"),
    (["--config", "MISSING/run.toml"], r"config file .*run\.toml \(--config\) does not exist"),
    (["--device", "cuda:7"], r"device 'cuda:7' \(--device\)"),
])
def test_cli_start_up_errors_are_messages(tmp_path, capsys, flags, message):
    if "cuda:7" in flags and torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    flags = [f.replace("MISSING", str(tmp_path / "missing")) for f in flags]
    code = main(["train", "--output-dir", str(tmp_path / "out"), *SMALL, *flags])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.startswith("stylebias train: error: ")
    assert __import__("re").search(message, err), err
    assert not (tmp_path / "out").exists()


def test_cli_output_dir_naming_a_file(tmp_path, capsys):
    (tmp_path / "taken").write_text("not a folder")
    assert main(["train", "--output-dir", str(tmp_path / "taken" / "run"), *SMALL]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert main(["train", "--output-dir", str(tmp_path / "taken"), *SMALL]) == 2
    assert (tmp_path / "taken").read_text() == "not a folder"


# --- damaged run files --------------------------------------------------------------------

@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_bytes(torch.randn(64).numpy().tobytes()), "cannot load checkpoint"),
    (lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "cannot load checkpoint"),
    (lambda p: p.write_bytes(b""), "cannot load checkpoint"),
    (lambda p: torch.save({"weights": torch.ones(3)}, p), "not a stylebias training checkpoint"),
])
def test_damaged_checkpoint_is_a_clear_error(tmp_path, bundle, damage, message):
    out = interrupted(tmp_path, bundle)
    damage(out / "checkpoint.pt")
    with pytest.raises(DataError, match=message + r".*delete .*checkpoint\.pt to restart"):
        train(cfg_for(tmp_path), data=bundle)


def test_torn_last_metrics_line_is_dropped_on_resume(tmp_path, bundle, caplog):
    out = interrupted(tmp_path, bundle)
    with open(out / "metrics.jsonl", "a") as fh:
        fh.write('{"step": 8, "lo')  # the process died in the middle of a write
    with caplog.at_level(logging.WARNING):
        result = train(cfg_for(tmp_path), data=bundle)
    assert "torn last line" in caplog.text
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [4, 8] and rows[-1]["loss"] == result.final["loss"]


def test_torn_csv_row_is_dropped_and_the_header_kept(tmp_path, bundle):
    out = interrupted(tmp_path, bundle, log_format="csv")
    with open(out / "metrics.csv", "a") as fh:
        fh.write("8,0.4")
    train(cfg_for(tmp_path, log_format="csv"), data=bundle)
    lines = (out / "metrics.csv").read_text().splitlines()
    assert lines[0].startswith("step,loss") and [line.split(",")[0] for line in lines[1:]] == ["4", "8"]


@pytest.mark.parametrize("damage", ["missing", "garbage", "foreign"])
def test_done_marker_without_valid_results(tmp_path, bundle, monkeypatch, damage):
    first = train(cfg_for(tmp_path), data=bundle)
    results = first.output_dir / "results.json"
    {"missing": results.unlink, "garbage": lambda: results.write_text('{"final": {'),
     "foreign": lambda: results.write_text('{"accuracy": 1}')}[damage]()
    with pytest.raises(DataError, match=r"results\.json.*delete .*done to finish the run again from its checkpoint"):
        train(cfg_for(tmp_path), data=bundle)
    (first.output_dir / "done").unlink()  # the fix the message names: no retraining needed
    no_training(monkeypatch)
    again = train(cfg_for(tmp_path), data=bundle)
    assert again.final == first.final and (first.output_dir / "done").exists()


# --- exact resume with dropout --------------------------------------------------------------

DROPOUT_NET = """
import torch


def dropout_net(num_classes):
    # a tiny classifier whose dropout masks come from the global RNG (like mobilenet_v3's)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(), torch.nn.Dropout(0.2), torch.nn.Linear(4, num_classes),
    )
"""


def test_resume_with_dropout_is_bit_exact(tmp_path, bundle):
    """A resumed run must draw the same dropout masks as an uninterrupted one, so no start-up
    step (data loader, stylizer) may draw from the global RNG after the checkpoint's state is
    restored."""
    (tmp_path / "nets.py").write_text(DROPOUT_NET)
    model = f"{tmp_path / 'nets.py'}:dropout_net"
    straight = train(cfg_for(tmp_path, "straight", model=model, hparams={"lr": 0.2}), data=bundle)
    interrupted(tmp_path, bundle, "resumed", model=model, hparams={"lr": 0.2})
    resumed = train(cfg_for(tmp_path, "resumed", model=model, hparams={"lr": 0.2}), data=bundle)
    assert any(isinstance(m, torch.nn.Dropout) for m in resumed.model.modules())  # the user's network ran
    a, b = weights(straight.output_dir), weights(resumed.output_dir)
    assert [k for k in a if not torch.equal(a[k], b[k])] == []
    assert resumed.final["loss"] == straight.final["loss"]
