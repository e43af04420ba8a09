"""Class folders -> model outputs in ``evaluate_robustness`` (one rule for every folder layout)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from stylebias.cli import main
from stylebias.corruptions import class_index, corrupt_folder, evaluate_robustness, imagenet_wnids
from stylebias.errors import DataError
from stylebias.models import LoadedModel, ModelSpec, Preprocess

TABBY, MOUNTAIN_BIKE = "n02123045", "n03792782"
DARK, BRIGHT = 0.2, 0.8


class Always(nn.Module):
    """``num_outputs`` logits whose argmax is always ``answer``."""

    def __init__(self, answer: int, num_outputs: int = 1000) -> None:
        super().__init__()
        self.answer, self.num_outputs = answer, num_outputs

    def forward(self, x):
        logits = torch.zeros(len(x), self.num_outputs)
        logits[:, self.answer] = 1.0
        return logits


class DarkOrBright(nn.Module):
    """Three outputs: 0 for dark images, 2 for bright ones, never 1."""

    def forward(self, x):
        m = x.mean(dim=(1, 2, 3))
        return torch.stack([0.5 - m, torch.full_like(m, -1.0), m - 0.5], 1)


def loaded(net: nn.Module) -> LoadedModel:
    return LoadedModel(net, Preprocess(resize=None, crop=None), ModelSpec("object", "net", None, "net"))


def write_classes(root, levels: dict[str, float | None], count: int = 2):
    """One folder per class name with ``count`` uniform PNGs (32 x 40) of that grey level;
    ``None`` makes an empty class folder."""
    for name, level in levels.items():
        (root / name).mkdir(parents=True)
        for i in range(count if level is not None else 0):
            Image.fromarray(np.full((32, 40, 3), int(255 * level) + i, np.uint8)).save(root / name / f"{i}.png")
    return root


def robustness(model, data, **kw):
    return evaluate_robustness(loaded(model), data, corruptions=["brightness"], severities=[1], num_workers=0, **kw)


# ----------------------------------------------------------------------------- the wnid list
def test_imagenet_wnids_are_the_standard_class_order():
    wnids = imagenet_wnids()
    assert len(wnids) == 1000 and len(set(wnids)) == 1000 and list(wnids) == sorted(wnids)
    assert (wnids[0], wnids[281], wnids[999]) == ("n01440764", TABBY, "n15075141")
    # cross-check against torchvision's own data: Imagenette's wnid -> name table and the
    # names of torchvision's ImageNet class indices must agree through our list
    imagenette = pytest.importorskip("torchvision.datasets.imagenette")
    meta = pytest.importorskip("torchvision.models._meta")
    table = getattr(imagenette.Imagenette, "_WNID_TO_CLASS", None)
    if table is None:
        pytest.skip("this torchvision has no Imagenette wnid table")
    for wnid, names in table.items():
        assert meta._IMAGENET_CATEGORIES[wnids.index(wnid)] == names[0]


# ----------------------------------------------------------------------------- the index rule
def test_class_index_rule():
    assert class_index(["b", "a"], 2) == {"a": 0, "b": 1}  # sorted folders, count matches
    assert class_index(["7", "3"], 10) == {"3": 3, "7": 7}  # integer names are indices
    assert class_index([MOUNTAIN_BIKE, TABBY], 1000) == {TABBY: 281, MOUNTAIN_BIKE: 671}
    assert class_index([MOUNTAIN_BIKE, TABBY], 2) == {TABBY: 0, MOUNTAIN_BIKE: 1}  # a 2-way model: sorted
    assert class_index(["cat", "bike"], 1000, {"cat": 281, "bike": 671, "other": 3}) == {"cat": 281, "bike": 671}
    with pytest.raises(DataError, match=r"\['bike', 'cat'\].*cannot be mapped.*class map.*WordNet ids"):
        class_index(["cat", "bike"], 1000)
    with pytest.raises(DataError, match="n99999999.*not among the 1000"):
        class_index([TABBY, "n99999999"], 1000)
    with pytest.raises(DataError, match="2 class folders but the model has 3 outputs.*class map"):
        class_index(["a", "b"], 3)
    with pytest.raises(DataError, match=r"\{'12': 12\}.*only 10 outputs"):
        class_index(["1", "12"], 10)
    with pytest.raises(DataError, match=r"\['dog'\].*not in the class map"):
        class_index(["cat", "dog"], 1000, {"cat": 281})


# ----------------------------------------------------------------------------- evaluation
def test_wnid_folders_are_scored_as_imagenet_classes(tmp_path):
    """Regression: wnid folders were numbered 0, 1 against a 1000-way model (error 100 %)."""
    data = write_classes(tmp_path / "clean", {TABBY: DARK, MOUNTAIN_BIKE: BRIGHT})
    result = robustness(Always(281), data)  # always "tabby": right on the tabby half
    assert result.clean_error == 0.5 and result.errors == {"brightness": {1: 0.5}}
    corrupt_folder(data, tmp_path / "c", ["brightness"], [1], resize=None, crop=None, progress=False)
    on_disk = robustness(Always(281), tmp_path / "c", clean_dir=data)  # ImageNet-C layout: same rule
    assert on_disk.layout == "imagenet-c" and on_disk.errors == {"brightness": {1: 0.5}}
    assert on_disk.clean_error == 0.5


def test_a_1000_way_model_refuses_unmapped_names_and_takes_a_class_map(tmp_path):
    data = write_classes(tmp_path / "clean", {"tabby": DARK, "bike": BRIGHT})
    with pytest.raises(DataError, match="class map"):
        robustness(Always(281), data)
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"tabby": 281, "bike": 671}))
    assert robustness(Always(671), data, class_map=mapping).clean_error == 0.5
    out = tmp_path / "report"
    args = ["robustness", "--model", "x", "--data", str(data), "--corruptions", "brightness", "--severities", "1",
            "--workers", "0", "--output", str(out), "--no-plot", "--json"]
    with pytest.MonkeyPatch.context() as mp:  # the CLI path, with --class-map, on the same model
        mp.setattr("stylebias.models.load_model", lambda *a, **k: loaded(Always(671)))
        assert main(args) == 2
        assert main([*args, "--class-map", str(mapping)]) == 0
    assert json.loads((out / "robustness.json").read_text())["clean_error"] == 0.5


def test_an_empty_class_folder_keeps_its_index(tmp_path, caplog):
    """Regression: an empty folder ``b`` shifted ``c`` from 2 to 1 (clean error 0 -> 0.5)."""
    data = write_classes(tmp_path / "clean", {"a": DARK, "b": None, "c": BRIGHT})
    with caplog.at_level("WARNING"):
        result = robustness(DarkOrBright(), data)
    assert result.clean_error == 0.0 and result.errors == {"brightness": {1: 0.0}}
    assert any(str(data / "b") in r.getMessage() and "no images" in r.getMessage() for r in caplog.records)
    # ImageNet-C layout: corrupt keeps the empty class folder, so the copy has the same index
    corrupt_folder(data, tmp_path / "c", ["brightness"], [1], resize=None, crop=None, progress=False)
    copy = tmp_path / "c" / "brightness" / "1"
    assert sorted(p.name for p in copy.iterdir()) == ["a", "b", "c"] and not any((copy / "b").iterdir())
    assert robustness(DarkOrBright(), tmp_path / "c").errors == {"brightness": {1: 0.0}}
    # without it, the clean folder's classes join the index; with neither, the count is refused
    (copy / "b").rmdir()
    assert robustness(DarkOrBright(), tmp_path / "c", clean_dir=data).errors == {"brightness": {1: 0.0}}
    with pytest.raises(DataError, match="2 class folders but the model has 3 outputs"):
        robustness(DarkOrBright(), tmp_path / "c")


def test_an_unreadable_class_folder_is_named_not_skipped(tmp_path, monkeypatch):
    """Regression: a folder that could not be listed was silently dropped (labels shifted)."""
    data = write_classes(tmp_path / "clean", {"a": DARK, "b": DARK, "c": BRIGHT})
    scandir = os.scandir

    def no_b(path="."):  # tests run as root, where chmod 000 does not stop reading
        if os.fspath(path) == str(data / "b"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", no_b)
    with pytest.raises(DataError, match=f"cannot read the folder {data / 'b'}.*Permission denied"):
        robustness(DarkOrBright(), data)


def test_a_broken_link_among_the_class_folders_is_named(tmp_path):
    data = write_classes(tmp_path / "clean", {"a": DARK, "c": BRIGHT})
    (data / "b").symlink_to(tmp_path / "gone")
    with pytest.raises(DataError, match="b is a broken link"):
        robustness(DarkOrBright(), data)
