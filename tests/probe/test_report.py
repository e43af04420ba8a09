"""Probe reports: default stages, JSON and figures for several models."""

import json

import pytest
import torch
import torchvision
from torch import nn

from stylebias.errors import InvalidArgumentError
from stylebias.models.preprocess import Normalized
from stylebias.probe import default_stages, probe_normalisers, probe_style_reliance

from .test_style_reliance import Net, batches


def test_default_stages_of_resnets_and_other_cnns():
    resnet = torchvision.models.resnet18(num_classes=10)
    assert default_stages(resnet) == ["conv1", "layer1", "layer2", "layer3", "layer4"]
    wrapped = Normalized(resnet, (0.5,) * 3, (0.5,) * 3)
    assert default_stages(wrapped) == ["model.conv1", "model.layer1", "model.layer2", "model.layer3", "model.layer4"]
    assert default_stages(Net("pool")) == ["stage1.0", "stage2"]
    with pytest.raises(InvalidArgumentError, match="name the stages"):
        default_stages(nn.Linear(2, 2))


def test_style_reliance_report_writes_json_and_figure(tmp_path):
    models = {"pool": Net("pool"), "normalised": Net("normalised")}
    results = probe_style_reliance(models, batches(n=2), tmp_path)
    saved = json.loads((tmp_path / "style_reliance.json").read_text())
    assert set(saved) == {"pool", "normalised"}
    assert [s["stage"] for s in saved["pool"]["stages"]] == ["stage1.0", "stage2"]
    assert saved["pool"]["stages"][-1]["follows_donor"] == results["pool"].stages[-1].follows_donor
    assert (tmp_path / "style_reliance.png").stat().st_size > 1000


def test_normaliser_report_writes_json_and_figure(tmp_path):
    models = {"bn": nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.LazyLinear(3))}
    x = torch.randn(4, 3, 8, 8)
    models["bn"](x)  # materialise the lazy layer
    probe_normalisers(models, x, tmp_path)
    saved = json.loads((tmp_path / "normalisers.json").read_text())
    assert [d["layer"] for d in saved["bn"]] == ["0", "4"]
    assert (tmp_path / "normalisers.png").stat().st_size > 1000
