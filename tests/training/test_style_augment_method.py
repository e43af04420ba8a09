"""On-the-fly stylization as the method ``style_augment``, and the config keys that share it."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from stylebias.errors import DataError, InvalidArgumentError
from stylebias.functional import adain
from stylebias.layers import STYLE_LAYERS
from stylebias.models import build_classifier
from stylebias.stylize import AdaINStylizer
from stylebias.training import load_config, train
from stylebias.training import hparams as hparams_module
from stylebias.training import methods as methods_module
from stylebias.training.hparams import default_hparams
from stylebias.training.style_augment import StyleAugmentMethod
from tests.training.conftest import tiny_bundle


@pytest.fixture
def styles(tmp_path):
    folder = tmp_path / "styles"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (20 + 4 * i, 24, 3), dtype=np.uint8)).save(folder / f"s{i}.png")
    return folder


@pytest.fixture(autouse=True)
def small_style_images(monkeypatch):
    """Styles resized to 16 px instead of 512 (encoding 512-px styles dominates a tiny run);
    through the defaults table, so the config keys, which have no style_size, get it too."""
    monkeypatch.setitem(hparams_module._METHOD["style_augment"], "style_size", (16, lambda r: 16))


def _method(hparams, layer=None):
    torch.manual_seed(0)
    net = build_classifier("small_resnet", 3, width=4)
    method = StyleAugmentMethod(net, {**default_hparams("style_augment"), **hparams}, layer=layer,
                                generator=torch.Generator().manual_seed(0))
    method.configure_optimizer()
    return method.train()


def test_stylizes_a_fraction_of_the_batch_with_a_frozen_stylizer_and_composes_with_a_layer(styles):
    torch.manual_seed(1)
    stylizer = AdaINStylizer()  # random weights, any Stylizer object in direct Python use
    method = _method({"styles": str(styles), "stylizer": stylizer, "style_fraction": 0.5, "p": 1.0}, layer="mixstyle")
    assert {type(layer) for layer in method.handle.layers.values()} == {STYLE_LAYERS.get("mixstyle")}
    seen = []
    method.model.register_forward_pre_hook(lambda mod, inp: seen.append(inp[0].clone()))
    x, y = torch.rand(6, 3, 16, 16), torch.arange(6) % 3
    method.update((x, y))
    changed = [not torch.equal(a, b) for a, b in zip(seen[0], x)]
    assert sum(changed) == 3  # half the batch, drawn by the method's generator
    assert not stylizer.training and all(p.grad is None and not p.requires_grad for p in stylizer.parameters())
    method.eval()
    assert torch.equal(method.augment(x), x)  # no stylization while evaluating
    method.train()
    assert method.augment.training and not stylizer.training


def test_missing_or_unusable_styles_and_stylizers_are_named(tmp_path, styles):
    with pytest.raises(InvalidArgumentError, match=r"needs a folder of style images in hparams 'styles'"):
        _method({})
    with pytest.raises(DataError, match=r"hparams 'styles' of method 'style_augment': image folder .*nowhere does not exist"):
        _method({"styles": str(tmp_path / "nowhere")})
    with pytest.raises(InvalidArgumentError, match="needs a Stylizer"):
        _method({"styles": str(styles), "stylizer": adain})


def test_the_config_key_and_the_method_together_are_refused(tmp_path, styles):
    cfg = load_config(method="style_augment", style_augment=str(styles), hparams={"styles": str(styles)},
                      output_dir=tmp_path / "run", progress=False)
    with pytest.raises(InvalidArgumentError, match="would both stylize each batch; name the styles once"):
        train(cfg, data=tiny_bundle())
    assert not (tmp_path / "run").exists()


def _cfg(tmp_path, name, weights, **kw):
    vgg, decoder = map(str, weights)
    base = dict(steps=4, batch_size=8, checkpoint_every=2, output_dir=tmp_path / name, progress=False)
    hparams = {"model_width": 4, **kw.pop("hparams", {})}
    return load_config(**base, **kw, hparams=hparams)


def test_config_keys_and_method_train_on_identical_batches(tmp_path, styles, monkeypatch, weight_files):
    vgg, decoder = map(str, weight_files)
    seen = {"config": [], "method": []}
    original = methods_module.ERM.update
    current = {"path": "config"}

    def spy(self, batch):  # ERM.update gets the stylized batch on both paths
        seen[current["path"]].append(batch[0].clone())
        return original(self, batch)

    monkeypatch.setattr(methods_module.ERM, "update", spy)
    bundle = tiny_bundle(n=32, size=16)
    by_config = train(_cfg(tmp_path, "config", weight_files, method="erm", style_augment=str(styles),
                           style_augment_fraction=0.5, stylizer_vgg=vgg, stylizer_decoder=decoder), data=bundle)
    current["path"] = "method"
    by_method = train(_cfg(tmp_path, "method", weight_files, method="style_augment", hparams={
        "styles": str(styles), "style_fraction": 0.5, "stylizer_vgg": vgg, "stylizer_decoder": decoder}), data=bundle)
    assert len(seen["config"]) == len(seen["method"]) == 4
    assert all(torch.equal(a, b) for a, b in zip(seen["config"], seen["method"]))
    clean = torch.stack([bundle.train[i][0] for i in range(len(bundle.train))])
    stylized = [not any(torch.equal(img, c) for c in clean) for img in seen["method"][0]]
    assert sum(stylized) == 4  # half of the 8 images
    a = torch.load(by_config.output_dir / "checkpoint.pt", weights_only=True)["model"]
    b = torch.load(by_method.output_dir / "checkpoint.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_interrupted_run_resumes_exactly(tmp_path, styles, monkeypatch, weight_files):
    vgg, decoder = map(str, weight_files)
    hp = {"styles": str(styles), "stylizer": "efdm", "style_alpha": [0.5, 1.0], "stylizer_vgg": vgg, "stylizer_decoder": decoder}
    bundle = tiny_bundle(n=32, size=16)
    straight = train(_cfg(tmp_path, "straight", weight_files, method="style_augment", hparams=hp), data=bundle)
    original, calls = StyleAugmentMethod.update, {"n": 0}

    def crash_at_three(self, batch):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("killed")
        return original(self, batch)

    monkeypatch.setattr(StyleAugmentMethod, "update", crash_at_three)
    with pytest.raises(KeyboardInterrupt):
        train(_cfg(tmp_path, "resumed", weight_files, method="style_augment", hparams=hp), data=bundle)
    monkeypatch.setattr(StyleAugmentMethod, "update", original)
    resumed = train(_cfg(tmp_path, "resumed", weight_files, method="style_augment", hparams=hp), data=bundle)
    a = torch.load(straight.output_dir / "checkpoint.pt", weights_only=True)["model"]
    b = torch.load(resumed.output_dir / "checkpoint.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_cli_with_an_efdm_stylizer(tmp_path, capsys, styles, weight_files):
    from stylebias.cli import main

    vgg, decoder = map(str, weight_files)
    data = "shapes:n_per_class=2,val_per_class=1,test_per_class=6,cue_per_class=1"
    args = ["train", "--method", "style_augment", "--data", data,
            "--steps", "2", "--batch-size", "8", "--output-dir", str(tmp_path / "run"), "--corruption-severities", "1",
            "--no-progress", "--json", "--hparams",
            json.dumps({"styles": str(styles), "stylizer": "efdm", "model_width": 4, "stylizer_vgg": vgg, "stylizer_decoder": decoder})]
    assert main(args) == 0
    assert "shape_bias" in json.loads(capsys.readouterr().out)["final"]
    saved = json.loads((tmp_path / "run" / "hparams.json").read_text())
    assert saved["stylizer"] == "efdm" and saved["style_fraction"] == 0.5 and saved["style_size"] == 16
    # without styles the command fails before writing anything, naming the hyperparameter
    assert main(["train", "--method", "style_augment", "--data", data, "--output-dir", str(tmp_path / "bad"),
                 "--no-progress"]) == 2
    assert "hparams 'styles'" in capsys.readouterr().err and not (tmp_path / "bad").exists()
