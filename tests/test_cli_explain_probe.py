"""``stylebias explain --method`` (saved maps and scores) and ``stylebias probe`` end to end."""

import json

import numpy as np
import pytest
from PIL import Image

from stylebias.cli import main

MODEL = '''
import torch
from torch import nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.layer1 = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())
        self.layer2 = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, stride=2), nn.BatchNorm2d(8), nn.ReLU())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 1000))

    def forward(self, x):
        return self.head(self.layer2(self.layer1(self.conv1(x))))

def build():
    torch.manual_seed(0)
    return Net()
'''


@pytest.fixture
def setup(tmp_path):
    (tmp_path / "m.py").write_text(MODEL)
    rng = np.random.default_rng(0)
    for i, size in enumerate([(40, 30), (36, 36), (30, 44), (32, 32)]):
        Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(tmp_path / f"img{i}.png")
    return tmp_path, f"{tmp_path / 'm.py'}:build"


def test_explain_saves_gradcam_and_iba_maps_with_scores(setup, capsys):
    root, spec = setup
    images = [str(root / f"img{i}.png") for i in range(3)]
    code = main(["explain", *images, "--model", spec, "--method", "gradcam,iba",
                 "--output-dir", str(root / "out"), "--json"])
    assert code == 0
    records = json.loads(capsys.readouterr().out)
    assert [len(r["maps"]) for r in records] == [2, 2, 2]
    for rec in records:
        w, h = Image.open(rec["image"]).size
        for m in rec["maps"]:
            assert np.load(m["heatmap"]).shape == (h, w)
            assert 0 <= m["deletion_auc"] <= 1 and m["method"] in ("gradcam", "iba")
    assert (root / "out" / "attributions.json").is_file() and (root / "out" / "explain.json").is_file()


def test_explain_refuses_an_unknown_method_before_any_work(setup, capsys):
    root, spec = setup
    code = main(["explain", str(root / "img0.png"), "--model", spec, "--method", "lime", "--output-dir", str(root / "out")])
    assert code == 2 and "lime" in capsys.readouterr().err
    assert not (root / "out").exists()


@pytest.mark.parametrize("probe, figure", [("style", "style_reliance"), ("normalisers", "normalisers")])
def test_probe_writes_json_and_figure(setup, capsys, probe, figure):
    root, spec = setup
    code = main(["probe", probe, "--model", spec, "--no-pretrained", "--data", str(root), "--resize", "32", "--crop", "32",
                 "--output-dir", str(root / "probe"), "--batch-size", "4", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["images"] == 4 and out["pretrained"] is False
    (name, result), = out["models"].items()
    if probe == "style":
        assert [s["stage"] for s in result["stages"]] == ["model.conv1", "model.layer1", "model.layer2"]
    else:
        assert result[-1]["layer"].endswith("head.2")
    assert (root / "probe" / f"{figure}.json").is_file() and (root / "probe" / f"{figure}.png").is_file()


def test_explain_cam_family_with_road_and_object_share(setup, capsys):
    pytest.importorskip("pytorch_grad_cam")
    root, spec = setup
    sil = root / "sil" / "cat"
    sil.mkdir(parents=True)
    arr = np.full((30, 40), 255, np.uint8)
    arr[8:22, 10:30] = 0
    Image.fromarray(arr).save(sil / "cat2.png")
    conflict = root / "cat2-elephant1.png"
    Image.open(root / "img0.png").save(conflict)
    code = main(["explain", str(conflict), str(root / "img1.png"), "--model", spec, "--method", "gradcam++",
                 "--road", "--no-faithfulness", "--silhouettes", str(root / "sil"), "--target", "3",
                 "--output-dir", str(root / "out"), "--json"])
    assert code == 0
    maps = {r["image"]: r["maps"][0] for r in json.loads(capsys.readouterr().out)}
    first, second = maps[str(conflict)], maps[str(root / "img1.png")]
    assert first["method"] == "gradcam++" and first["target"] == 3 and "deletion_auc" not in first
    assert 0 <= first["object_share"] <= 1 and second["object_share"] is None
    assert {"road"} <= set(first) and np.load(first["heatmap"]).shape == (30, 40)


def test_explain_and_probe_run_on_a_timm_model(setup, capsys):
    """timm backbones: Grad-CAM and IBA find their stages by name, the probe walks their stages."""
    pytest.importorskip("timm")
    root, _ = setup
    spec = "timm:resnet10t"
    code = main(["explain", str(root / "img0.png"), str(root / "img1.png"), "--model", spec, "--no-pretrained",
                 "--method", "gradcam", "--layer", "layer3", "--target", "5", "--no-faithfulness",
                 "--output-dir", str(root / "maps"), "--json"])
    assert code == 0
    records = json.loads(capsys.readouterr().out)
    assert [m["method"] for m in records[0]["maps"]] == ["gradcam"]
    code = main(["probe", "style", "--model", spec, "--no-pretrained", "--data", str(root), "--resize", "32",
                 "--crop", "32", "--output-dir", str(root / "probe"), "--batch-size", "4", "--json"])
    assert code == 0
    (result,) = json.loads(capsys.readouterr().out)["models"].values()
    assert [s["stage"].split(".")[-1] for s in result["stages"]][-4:] == ["layer1", "layer2", "layer3", "layer4"]
