"""Training builds its network through stylebias.models: user files and modules train, the
run state writes and reads the checkpoint in one place."""

import json

import torch

from stylebias.cli import main
from stylebias.training import RunState, train
from stylebias.training.run_folder import CHECKPOINT_KEYS
from tests.training.test_loop import cfg_for, weights

USER_NET = '''
from torch import nn


def build(num_classes):
    return nn.Sequential(nn.Conv2d(3, 5, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(5, num_classes))


def build_imagenet():  # no num_classes argument: its 1000-way head is resized
    return build(1000)
'''


def test_train_cli_trains_a_model_from_a_file(tmp_path):
    (tmp_path / "my_net.py").write_text(USER_NET)
    out = tmp_path / "run"
    args = ["train", "--model", f"{tmp_path / 'my_net.py'}:build", "--data",
            "shapes:n_per_class=4,val_per_class=2,test_per_class=4,cue_per_class=2", "--steps", "2",
            "--batch-size", "8", "--checkpoint-every", "2", "--corruption-severities", "3",
            "--output-dir", str(out), "--no-progress", "--json"]
    assert main(args) == 0
    state = weights(out)
    assert list(state) == ["0.weight", "0.bias", "4.weight", "4.bias"]  # the user's network, unwrapped
    assert state["4.weight"].shape == (10, 5)  # shapes has 10 classes
    assert json.loads((out / "config.json").read_text())["model"].endswith("my_net.py:build")


def test_train_a_module_callable_whose_head_is_resized(tmp_path, bundle, monkeypatch):
    (tmp_path / "user_pkg_nets.py").write_text(USER_NET)
    monkeypatch.syspath_prepend(str(tmp_path))
    result = train(cfg_for(tmp_path, steps=4, model="user_pkg_nets:build_imagenet", hparams={"lr": 0.1}), data=bundle)
    assert result.model[4].out_features == bundle.num_classes
    assert (result.output_dir / "done").exists() and result.final["loss"] > 0


def test_checkpoint_keys_are_written_and_read_by_the_run_state(tmp_path, bundle):
    first = train(cfg_for(tmp_path, "a", steps=4), data=bundle)
    saved = torch.load(first.output_dir / "checkpoint.pt", weights_only=True)
    assert CHECKPOINT_KEYS <= set(saved)  # every key the reader requires is written
    assert {"conv1.weight", "fc.weight"} <= set(saved["model"])  # small_resnet's own names, as before

    other = train(cfg_for(tmp_path, "b", steps=4, seed=5), data=bundle)
    from stylebias.training.loop import _set_up

    cfg = cfg_for(tmp_path, "b", steps=4, seed=5)
    state: RunState = _set_up(cfg, bundle, other.hparams, torch.device("cpu"), 0, 1)
    state.load_state_dict(saved, first.output_dir / "checkpoint.pt")
    again = state.state_dict()
    assert state.step == 4 and state.history == first.history
    assert all(torch.equal(again["model"][k], v) for k, v in saved["model"].items())
    assert again["optimizer"]["state"].keys() == saved["optimizer"]["state"].keys()
    assert json.loads(again["config"])["seed"] == 5  # the state's own config, not the loaded file's
