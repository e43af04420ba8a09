"""stylebias.models: spec parsing, every source, preprocessing, output checks (offline)."""

from __future__ import annotations

import sys
import types
import urllib.error
import urllib.request

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from stylebias.cli import main
from stylebias.errors import InvalidArgumentError, MissingFileError, ModelOutputError, UnknownNameError
from stylebias.models import (
    MODELS,
    IMAGENET_MEAN,
    IMAGENET_STD,
    LoadedModel,
    Normalized,
    Preprocess,
    check_num_outputs,
    load_model,
    parse_spec,
    register_model,
)

TINY = '''
import torch
from torch import nn
CALLS = []

class Tiny(nn.Module):
    def __init__(self, n=1000):
        super().__init__()
        self.fc = nn.Linear(3, n)
    def forward(self, x):
        return self.fc(x.mean(dim=(2, 3)))

def build():
    CALLS.append(1)
    return Tiny()

def build10():
    return Tiny(10)

def not_a_model():
    return 42
'''


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "my models" / "tiny_net.py"
    path.parent.mkdir()
    path.write_text(TINY)
    return path


# ----------------------------------------------------------------------------- parsing
@pytest.mark.parametrize(
    "text, kind, target, attr",
    [
        ("torchvision:resnet50", "torchvision", "resnet50", None),
        ("torchvision:resnet50.IMAGENET1K_V1", "torchvision", "resnet50", "IMAGENET1K_V1"),
        ("timm:convnext_tiny.fb_in1k", "timm", "convnext_tiny.fb_in1k", None),
        ("nets/mine.py:build", "file", "nets/mine.py", "build"),
        ("C:\\Users\\me\\net.py:build", "file", "C:\\Users\\me\\net.py", "build"),
        ("C:/models/net.py:make_model", "file", "C:/models/net.py", "make_model"),
        ("mypkg.nets:build", "module", "mypkg.nets", "build"),
    ],
)
def test_parse_spec_splits_on_last_colon(text, kind, target, attr):
    spec = parse_spec(text)
    assert (spec.kind, spec.target, spec.attr, spec.text) == (kind, target, attr, text)


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "non-empty"),
        ("torchvison:resnet50", "valid prefixes: torchvision, timm"),
        ("tim:resnet50", "did you mean 'timm'"),
        ("weird prefix:x", "unknown model source prefix"),
        ("torchvision:", "nothing after"),
        ("net.py", "no callable"),
        ("C:\\models\\net.py", "no callable"),
        ("dir/net.py:not-a-name", "not a Python name"),
    ],
)
def test_bad_specs(text, match):
    with pytest.raises(InvalidArgumentError, match=match):
        parse_spec(text)


def test_unregistered_bare_name():
    with pytest.raises(UnknownNameError, match="unknown model"):
        parse_spec("no_such_model_anywhere")


# ----------------------------------------------------------------------------- user files
def test_file_spec_imports_only_when_loading(model_file):
    spec = f"{model_file}:build"
    before = {m for m in sys.modules if m.startswith("_stylebias_user_model_")}
    parse_spec(spec)
    assert {m for m in sys.modules if m.startswith("_stylebias_user_model_")} == before
    lm = load_model(spec)
    assert isinstance(lm, LoadedModel) and lm.name == spec
    assert isinstance(lm.model, Normalized) and not lm.model.training
    assert lm.preprocess == Preprocess()  # ImageNet defaults for user models
    x = torch.rand(2, 3, 8, 8)
    inner = lm.model.model
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    torch.testing.assert_close(lm.model(x), inner((x - mean) / std))
    check_num_outputs(lm.model, 1000, 8)


def test_file_spec_errors(model_file, tmp_path):
    with pytest.raises(MissingFileError, match="does not exist"):
        load_model(f"{tmp_path / 'absent.py'}:build")
    with pytest.raises(InvalidArgumentError, match="no callable 'nope'.*build"):
        load_model(f"{model_file}:nope")
    with pytest.raises(InvalidArgumentError, match="int, not a torch.nn.Module"):
        load_model(f"{model_file}:not_a_model")


def test_module_spec(model_file, monkeypatch):
    monkeypatch.syspath_prepend(str(model_file.parent))
    lm = load_model("tiny_net:build10", preprocess={"resize": 32, "crop": 28})
    assert lm.preprocess.resize == 32 and lm.preprocess.crop == 28
    with pytest.raises(ModelOutputError, match=r"returned \(2, 10\).*1000-way ImageNet"):
        check_num_outputs(lm.model, 1000, 28)
    with pytest.raises(InvalidArgumentError, match="neither a model source prefix"):
        load_model("no_such_module_xyz:build")
    with pytest.raises(InvalidArgumentError, match="unknown preprocessing field"):
        load_model("tiny_net:build", preprocess={"size": 3})


# ----------------------------------------------------------------------------- torchvision
def test_torchvision_without_weights_uses_weights_transforms():
    lm = load_model("torchvision:resnet18", pretrained=False)
    assert isinstance(lm.model.model, torch.nn.Module)
    assert (lm.preprocess.resize, lm.preprocess.crop) == (256, 224)
    assert lm.preprocess.mean == IMAGENET_MEAN and lm.preprocess.interpolation == "bilinear"
    check_num_outputs(lm.model, 1000, 64)
    v2 = load_model("torchvision:resnet50.IMAGENET1K_V2", pretrained=False)
    assert v2.preprocess.resize == 232  # torchvision's V2 recipe
    assert load_model("torchvision:efficientnet_b0", pretrained=False).preprocess.interpolation == "bicubic"


def test_torchvision_bad_names():
    with pytest.raises(UnknownNameError, match="resnet18"):
        load_model("torchvision:resnet81", pretrained=False)
    with pytest.raises(UnknownNameError, match="IMAGENET1K_V1"):
        load_model("torchvision:resnet18.NOPE", pretrained=False)


def test_offline_pretrained_download_says_where_to_put_weights(monkeypatch, tmp_path):
    def offline(url, *a, **k):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty hub cache
    monkeypatch.setattr(urllib.request, "urlopen", offline)  # stylebias downloads the weights
    with pytest.raises(MissingFileError) as info:
        load_model("torchvision:resnet18", pretrained=True)
    msg = str(info.value)
    assert str(torch.hub.get_dir()) in msg and "resnet18-f37072fd.pth" in msg
    assert "TORCH_HOME" in msg


# ----------------------------------------------------------------------------- timm
def test_timm_missing_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "timm", None)  # makes `import timm` raise ImportError
    with pytest.raises(InvalidArgumentError, match="pip install timm"):
        load_model("timm:resnet50", pretrained=False)


def test_timm_uses_data_config(monkeypatch):
    fake = types.ModuleType("timm")
    calls = {}

    def create_model(name, pretrained):
        calls["args"] = (name, pretrained)
        return nn.Linear(1, 1)

    fake.__version__ = "1.0.26"
    fake.create_model = create_model
    fake.data = types.SimpleNamespace(resolve_data_config=lambda args, model: {
        "input_size": (3, 288, 288), "crop_pct": 0.9, "interpolation": "bicubic",
        "mean": (0.5, 0.5, 0.5), "std": (0.5, 0.5, 0.5),
    })
    monkeypatch.setitem(sys.modules, "timm", fake)
    lm = load_model("timm:fake_net", pretrained=True)
    assert calls["args"] == ("fake_net", True)
    assert (lm.preprocess.resize, lm.preprocess.crop) == (320, 288)
    assert lm.preprocess.mean == (0.5, 0.5, 0.5) and lm.preprocess.interpolation == "bicubic"


def test_timm_versions_that_unpickle_weights_unsafely_are_refused_for_pretrained(monkeypatch):
    fake = types.ModuleType("timm")
    fake.__version__ = "0.9.16"
    fake.create_model = lambda name, pretrained: pytest.fail("create_model must not run")
    monkeypatch.setitem(sys.modules, "timm", fake)
    with pytest.raises(InvalidArgumentError, match=r"timm 0.9.16 may load .*weights_only=False.*timm>=1.0.26"):
        load_model("timm:resnet50", pretrained=True)


# ----------------------------------------------------------------------------- registry
def test_registered_model(monkeypatch):
    monkeypatch.setattr(MODELS, "_items", dict(MODELS._items))
    monkeypatch.setattr(MODELS, "_keys", dict(MODELS._keys))
    seen = []
    register_model("unit-net", lambda pretrained: seen.append(pretrained) or nn.Conv2d(3, 4, 1),
                   preprocess=Preprocess(resize=None, crop=32), description="for tests")
    lm = load_model("Unit_Net", pretrained=False)
    assert seen == [False] and lm.preprocess.crop == 32 and lm.spec.kind == "registered"
    with pytest.raises(ModelOutputError, match="returned"):
        check_num_outputs(lm.model, 1000, 32)
    assert main(["list", "models"]) == 0


# ----------------------------------------------------------------------------- preprocessing
def test_preprocess_transform_matches_torchvision():
    from torchvision.transforms import v2

    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8))
    ours = Preprocess().transform(img)
    ref = v2.Compose([v2.Resize(256), v2.CenterCrop(224), v2.PILToTensor(),
                      v2.ToDtype(torch.float32, scale=True)])(img)
    assert ours.shape == (3, 224, 224)
    torch.testing.assert_close(ours, ref)
    tall = Preprocess(resize=16, crop=None).transform(Image.new("RGB", (10, 30)))
    assert tall.shape == (3, 48, 16)


def test_preprocess_normalize_and_validation():
    p = Preprocess(mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    torch.testing.assert_close(p.normalize(torch.ones(1, 3, 2, 2)), torch.full((1, 3, 2, 2), 2.0))
    with pytest.raises(InvalidArgumentError):
        Preprocess(crop=0)
    with pytest.raises(InvalidArgumentError):
        Preprocess(std=(1.0, 0.0, 1.0))
    with pytest.raises(InvalidArgumentError, match="interpolation"):
        Preprocess(interpolation="cubic")


def test_check_num_outputs_non_tensor_and_failure():
    class TupleNet(nn.Module):
        def forward(self, x):
            return x, x

    with pytest.raises(ModelOutputError, match="returned a tuple"):
        check_num_outputs(TupleNet())
    with pytest.raises(ModelOutputError, match="failed on a dummy batch"):
        check_num_outputs(nn.Linear(5, 1000))


def test_importing_stylebias_imports_no_user_code():
    import subprocess

    code = ("import sys, stylebias, stylebias.models, stylebias.hub, stylebias.io; "
            "print(any(m.startswith('_stylebias_user_model_') for m in sys.modules), "
            "'timm' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_with_preprocess_rewraps_normalisation(model_file):
    lm = load_model(f"{model_file}:build")
    same = lm.with_preprocess({"crop": 100})
    assert same.model is lm.model and same.preprocess.crop == 100
    moved = lm.with_preprocess({"mean": (0, 0, 0), "std": (1, 1, 1)})
    assert moved.model.model is lm.model.model  # weights shared
    x = torch.rand(1, 3, 4, 4)
    torch.testing.assert_close(moved.model(x), lm.model.model(x))
    bare = LoadedModel(nn.Identity(), Preprocess(), lm.spec)
    with pytest.raises(InvalidArgumentError, match="cannot change mean/std"):
        bare.with_preprocess({"std": (1, 1, 1)})
