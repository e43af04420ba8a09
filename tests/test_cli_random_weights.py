"""robustness and explain label the results of random-weight models (issue 11)."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from stylebias.cli import main

MODEL = (
    "import torch\n\n"
    "def build(pretrained=True):\n"
    "    torch.manual_seed(0)\n"
    "    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),\n"
    "                               torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, {n}))\n"
)


@pytest.fixture
def setup(tmp_path):
    for label, colour in (("0", (200, 30, 30)), ("1", (30, 30, 200))):
        (tmp_path / "imgs" / label).mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (32, 32), colour).save(tmp_path / "imgs" / label / f"{i}.png")
    (tmp_path / "two.py").write_text(MODEL.format(n=2))
    (tmp_path / "imagenet.py").write_text(MODEL.format(n=1000))
    return tmp_path


@pytest.mark.parametrize("pretrained", [True, False])
def test_robustness_json_says_whether_weights_were_pretrained(setup, pretrained, capsys):
    flag = "--pretrained" if pretrained else "--no-pretrained"
    spec = f"{setup / 'two.py'}:build"
    argv = ["robustness", "--model", spec, flag, "--data", str(setup / "imgs"), "--corruptions", "brightness",
            "--severities", "1", "--resize", "none", "--crop", "none", "--workers", "0", "--no-plot",
            "--output-dir", str(setup / "out"), "--json", "--no-progress"]
    assert main(argv) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["pretrained"] is pretrained
    assert (row["model"] == spec) is pretrained and row["model"].endswith("(random weights)") is not pretrained
    assert json.loads((setup / "out" / "robustness.json").read_text())["pretrained"] is pretrained


def test_explain_records_say_random_weights(setup, capsys):
    argv = ["explain", str(setup / "imgs" / "0" / "0.png"), "--model", f"{setup / 'imagenet.py'}:build",
            "--no-pretrained", "--output-dir", str(setup / "cams"), "--json"]
    assert main(argv) == 0
    [record] = json.loads(capsys.readouterr().out)
    assert record["pretrained"] is False and record["weights"] == "random weights"
    assert record["models"][0]["source"].endswith("(random weights)")
    assert json.loads((setup / "cams" / "explain.json").read_text())[0]["pretrained"] is False


@pytest.mark.parametrize("pretrained", [True, False])
def test_retrieval_json_says_whether_weights_were_pretrained(tmp_path, pretrained, capsys):
    (tmp_path / "feat.py").write_text(
        "import torch\n\ndef build(pretrained=True):\n"
        "    return torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())\n"
    )
    for folder, cam in (("query", 1), ("gallery", 2)):
        (tmp_path / folder).mkdir()
        for pid, colour in ((1, (200, 30, 30)), (2, (30, 30, 200))):
            Image.new("RGB", (8, 16), colour).save(tmp_path / folder / f"{pid:04d}_c{cam}s1_000001_01.jpg")
    flag = "--pretrained" if pretrained else "--no-pretrained"
    argv = ["retrieval", "--model", f"{tmp_path / 'feat.py'}:build", flag, "--query", str(tmp_path / "query"),
            "--gallery", str(tmp_path / "gallery"), "--height", "16", "--width", "8", "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["pretrained"] is pretrained and report["config"]["pretrained"] is pretrained
    assert ("weights" in report) is not pretrained
    assert main(argv[:-1]) == 0
    assert ("(random weights)" in capsys.readouterr().out) is not pretrained
