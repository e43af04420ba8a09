"""Grad-CAM localisation on a model whose evidence is known, and the explain command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch import nn

from stylebias.cli import main
from stylebias.errors import InvalidArgumentError
from stylebias.models import Normalized, load_model
from stylebias.shapebias import explain, find_target_layer, grad_cam


class RedDetector(nn.Module):
    """Class 3's logit is the mean of ReLU(red - 0.5): only red pixels are evidence for it."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 1)
        with torch.no_grad():
            self.conv.weight.zero_()
            self.conv.weight[0, 0] = 1.0
            self.conv.bias.copy_(torch.tensor([-0.5, 0.0]))
        self.act = nn.ReLU()
        self.fc = nn.Linear(2, 1000)
        with torch.no_grad():
            self.fc.weight.zero_()
            self.fc.bias.zero_()
            self.fc.weight[3, 0] = 10.0

    def forward(self, x):
        return self.fc(self.act(self.conv(x)).mean(dim=(2, 3)))


def _red_square():
    x = torch.zeros(1, 3, 32, 32)
    x[0, 0, 4:12, 20:28] = 1.0
    return x


def test_heatmap_marks_the_evidence():
    model = RedDetector()
    assert find_target_layer(model, 32) == "act"
    heat, chosen = grad_cam(model, _red_square())
    assert heat.shape == (1, 32, 32) and chosen.tolist() == [3]
    assert heat.min() >= 0 and heat.max() == pytest.approx(1.0)
    inside = heat[0, 5:11, 21:27].mean()
    outside = heat[0, 20:, :12].mean()
    assert inside > 0.9 and outside < 0.05


def test_explicit_targets_and_layers():
    model = RedDetector()
    heat, chosen = grad_cam(model, _red_square(), target=7, layer="conv")
    assert chosen.tolist() == [7] and torch.all(heat == 0)  # class 7 has no evidence
    heat, chosen = grad_cam(model, _red_square(), target="bird")
    assert chosen.tolist() == [-1] and heat.shape == (1, 32, 32)
    with pytest.raises(InvalidArgumentError, match="no layer 'nope'"):
        grad_cam(model, _red_square(), layer="nope")
    with pytest.raises(InvalidArgumentError, match="one of airplane"):
        grad_cam(model, _red_square(), target="zebra")
    with pytest.raises(InvalidArgumentError, match="out of range"):
        grad_cam(model, _red_square(), target=1000)


def test_default_layer_of_torchvision_resnet():
    lm = load_model("torchvision:resnet18", pretrained=False)
    assert find_target_layer(lm.model, 64) == "model.layer4"
    assert not any(p.grad is not None for p in lm.model.parameters())


def test_explain_writes_side_by_side_panels(tmp_path, capsys):
    img = tmp_path / "img.png"
    Image.new("RGB", (40, 30), (200, 10, 10)).save(img)
    model_file = tmp_path / "det.py"
    model_file.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parents[2])!r})\n"
        "from tests.shapebias.test_gradcam import RedDetector\n"
        "def build():\n    return RedDetector()\n"
    )
    spec = f"{model_file}:build"
    records = explain([Normalized(RedDetector(), (0, 0, 0), (1, 1, 1)), spec], [img], tmp_path / "out",
                      preprocess={"resize": 32, "crop": 32})
    [rec] = records
    with Image.open(rec["output"]) as panel:
        assert panel.size == (3 * 32, 32 + 28)
    assert [m["class"] for m in rec["models"]] == [3, 3]
    code = main(["explain", str(img), "--model", spec, "--model", spec, "--output", str(tmp_path / "cli"),
                 "--json"])
    assert code == 0
    [cli_rec] = json.loads(capsys.readouterr().out)
    assert len(cli_rec["models"]) == 2 and (tmp_path / "cli" / "img_gradcam.png").is_file()
    assert (tmp_path / "cli" / "explain.json").is_file()


def test_explain_inputs_with_one_name_get_distinct_outputs(tmp_path):
    """a/x.png and b/x.png used to be written to one x_gradcam.png (the second overwrote)."""
    colours = {"a": (200, 10, 10), "b": (10, 10, 200)}
    paths = []
    for folder, colour in colours.items():
        (tmp_path / folder).mkdir()
        Image.new("RGB", (32, 32), colour).save(tmp_path / folder / "x.png")
        paths.append(tmp_path / folder / "x.png")
    model = Normalized(RedDetector(), (0, 0, 0), (1, 1, 1))
    records = explain([model], [*paths, paths[0]], tmp_path / "out", preprocess={"resize": 32, "crop": 32})
    outputs = [Path(r["output"]) for r in records]
    assert outputs[0] != outputs[1] and outputs[2] == outputs[0]  # the same file twice: one name
    assert [p.name for p in outputs[:2]] == ["a_x_gradcam.png", "b_x_gradcam.png"]
    for out, colour in zip(outputs, colours.values()):
        with Image.open(out) as panel:  # each panel shows its own input in the first tile
            assert panel.getpixel((16, 16)) == colour


def test_a_category_target_of_a_16_way_classifier_explains_that_category_logit():
    """With 16 category logits, target="bear" (CATEGORIES[1]) is logit 1: the same map as
    target=1, and red pixels are its evidence."""
    model = RedDetector()
    with torch.no_grad():
        model.fc = nn.Linear(2, 16)
        model.fc.weight.zero_()
        model.fc.bias.zero_()
        model.fc.weight[1, 0] = 10.0
    by_name, chosen = grad_cam(model, _red_square(), target="bear")
    by_index, _ = grad_cam(model, _red_square(), target=1)
    assert chosen.tolist() == [-1] and torch.allclose(by_name, by_index)
    assert by_name[0, 5:11, 21:27].mean() > 0.9
