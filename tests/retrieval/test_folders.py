"""Folder evaluation and the ``stylebias retrieval`` command on a tiny synthetic Market set."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from stylebias.cli import main
from stylebias.errors import DataError
from stylebias.retrieval.folders import ReidEvalConfig, ReidImages, evaluate_reid_folders

MODEL_FILE = '''
from torch import nn


class MeanColour(nn.Module):
    def forward(self, x):
        return x.mean(dim=(2, 3))


def build():
    return MeanColour()
'''

RED, GREEN, BLUE, GREY, YELLOW = (255, 0, 0), (0, 255, 0), (0, 0, 255), (128, 128, 128), (255, 255, 0)


def _write(folder, names_colours):
    folder.mkdir(parents=True, exist_ok=True)
    for name, colour in names_colours:
        Image.new("RGB", (8, 16), colour).save(folder / name)


@pytest.fixture
def market(tmp_path):
    """Identity = colour; a junk image (-1) ties with the red matches and sorts before them."""
    _write(
        tmp_path / "query",
        [
            ("0001_c1s1_000001_01.png", RED),
            ("0002_c1s1_000001_01.png", GREEN),
            ("0003_c2s1_000001_01.png", BLUE),
            ("0004_c1s1_000001_01.png", YELLOW),  # no match in the gallery: skipped
            ("-1_c1s1_000001_01.png", RED),  # junk query: left out
            ("0000_c2s1_000001_01.png", GREY),  # distractor query: left out
        ],
    )
    _write(
        tmp_path / "gallery",
        [
            ("-1_c3s1_000001_01.png", BLUE),  # junk: would tie with the blue match if kept
            ("0000_c3s1_000002_01.png", GREY),
            ("0001_c2s1_000001_01.png", RED),
            ("0001_c3s1_000001_01.png", RED),
            ("0002_c2s1_000001_01.png", GREEN),
            ("0002_c1s1_000009_01.png", GREEN),  # same identity + camera as its query: removed
            ("0003_c1s1_000001_01.png", BLUE),
        ],
    )
    (tmp_path / "net.py").write_text(MODEL_FILE)
    return tmp_path


def test_reid_images_resize_without_crop(tmp_path):
    Image.new("RGB", (40, 30), RED).save(tmp_path / "0001_c1s1_000001_01.png")
    x = ReidImages([tmp_path / "0001_c1s1_000001_01.png"], height=12, width=5)[0]
    assert x.shape == (3, 12, 5)
    assert x[0].min().item() == 1.0 and x[1].max().item() == 0.0


def test_evaluate_folders(market):
    config = ReidEvalConfig(
        model=f"{market / 'net.py'}:build", query=market / "query", gallery=market / "gallery",
        height=16, width=8, device="cpu",
    )  # fmt: skip
    report = evaluate_reid_folders(config)
    r = report.result
    assert r.num_queries == 4 and r.num_skipped == 1
    assert r.mean_ap == 1.0 and r.rank(1) == 1.0 and r.mean_inp == 1.0
    out = report.to_dict()
    assert out["dropped_query_images"] == {"-1": 1, "0": 1}
    assert out["dropped_gallery_images"] == {"-1": 1}
    assert out["num_gallery_distractors"] == 1 and out["num_gallery_images"] == 6
    assert out["feature_dim"] == 3 and out["config"]["flip"] is True


def test_cli_json_and_table(market, capsys):
    args = [
        "retrieval", "--model", f"{market / 'net.py'}:build", "--query", str(market / "query"),
        "--gallery", str(market / "gallery"), "--height", "16", "--width", "8", "--device", "cpu",
    ]  # fmt: skip
    assert main([*args, "--json", "--ap-mode", "trapezoid", "--no-flip", "--mean", "0", "0", "0"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["mAP"] == 1.0 and out["rank1"] == 1.0 and out["num_skipped"] == 1
    assert out["ap_mode"] == "trapezoid"
    assert out["config"]["flip"] is False and out["config"]["mean"] == [0.0, 0.0, 0.0]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "mAP" in text and "100.0%" in text and "rank-1 " in text
    assert "1 of 4 queries have no match" in text


def test_cli_reports_bad_names(market, capsys):
    Image.new("RGB", (8, 16), RED).save(market / "gallery" / "cat.png")
    code = main(["retrieval", "--model", f"{market / 'net.py'}:build",
                 "--query", str(market / "query"), "--gallery", str(market / "gallery")])  # fmt: skip
    assert code == 2
    assert "cat.png" in capsys.readouterr().err


def test_only_junk_queries(market):
    junk_only = market / "junk"
    _write(junk_only, [("-1_c1s1_000001_01.png", RED)])
    config = ReidEvalConfig(model=f"{market / 'net.py'}:build", query=junk_only, gallery=market / "gallery")
    with pytest.raises(DataError, match="no usable image"):
        evaluate_reid_folders(config)


def test_a_model_that_fails_on_the_images_is_refused_clearly(market, capsys):
    """Regression: the RuntimeError of the forward pass escaped as a traceback."""
    (market / "bad.py").write_text("from torch import nn\n\ndef build():\n    return nn.Linear(10, 4)\n")
    code = main(["retrieval", "--model", f"{market / 'bad.py'}:build", "--query", str(market / "query"),
                 "--gallery", str(market / "gallery"), "--device", "cpu", "--json"])
    err = capsys.readouterr().err
    assert code == 2
    assert "failed on the first query image" in err and "a feature extractor taking (B, 3, 256, 128)" in err
