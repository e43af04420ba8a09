"""corrupt_folder, evaluate_robustness and the two commands, on tiny hand-made data."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from stylebias.cli import main
from stylebias.corruptions import (
    ALEXNET_CLEAN_ERROR,
    ALEXNET_ERRORS,
    BENCHMARK_CORRUPTIONS,
    RobustnessResult,
    corrupt_folder,
    detect_layout,
    evaluate_robustness,
)
from stylebias.corruptions.robustness import _summarise
from stylebias.errors import DataError, InvalidArgumentError
from stylebias.models import LoadedModel, ModelSpec, Preprocess

DARK, BRIGHT = 0.2, 0.8


class Brightness(nn.Module):
    """Class 1 if the mean value is above 0.5, else class 0 (takes RGB in [0, 1])."""

    def forward(self, x):
        m = x.mean(dim=(1, 2, 3))
        return torch.stack([0.5 - m, m - 0.5], 1)


def brightness_model() -> LoadedModel:
    return LoadedModel(Brightness(), Preprocess(resize=None, crop=None), ModelSpec("object", "bright", None, "bright"))


@pytest.fixture()
def two_classes(tmp_path):
    """``<class>/<file>``: class 0 dark grey, class 1 light grey, 3 PNGs each (32 x 40 px)."""
    root = tmp_path / "clean"
    for label, level in (("0", DARK), ("1", BRIGHT)):
        (root / label).mkdir(parents=True)
        for i in range(3):
            value = int(round(255 * (level + 0.01 * i)))
            Image.fromarray(np.full((32, 40, 3), value, np.uint8)).save(root / label / f"{i}.png")
    return root


# Brightness adds 0.1 (severity 1) or 0.5 (severity 5) to V: dark images stay dark at 1 and
# turn bright at 5, so the model is wrong on half the images at severity 5 only.
EXPECTED = {1: 0.0, 5: 0.5}


def test_corrupt_folder_layout_and_resume(two_classes, tmp_path):
    out = tmp_path / "c"
    first = corrupt_folder(two_classes, out, ["brightness", "gaussian_noise"], [1, 5], resize=None, crop=None,
                           batch_size=4, progress=False)
    assert (first.written, first.skipped, first.images) == (24, 0, 6)
    target = out / "gaussian_noise" / "5" / "1" / "2.png"
    assert target.is_file()
    before = target.read_bytes()
    target.unlink()
    again = corrupt_folder(two_classes, out, ["brightness", "gaussian_noise"], [1, 5], resize=None, crop=None,
                           batch_size=4, progress=False)
    assert (again.written, again.skipped) == (1, 23)
    assert target.read_bytes() == before  # same randomness as the uninterrupted run
    assert not list(out.rglob("*.tmp"))


def test_corrupt_folder_refuses_output_inside_input(two_classes):
    with pytest.raises(InvalidArgumentError, match="inside"):
        corrupt_folder(two_classes, two_classes / "out", ["fog"], [1], progress=False)


def test_layouts_are_detected(two_classes, tmp_path):
    assert detect_layout(two_classes) == "clean"
    corrupt_folder(two_classes, tmp_path / "c", ["contrast"], [1], resize=None, crop=None, progress=False)
    assert detect_layout(tmp_path / "c") == "imagenet-c"
    (tmp_path / "npy").mkdir()
    np.save(tmp_path / "npy" / "fog.npy", np.zeros((5, 32, 32, 3), np.uint8))
    assert detect_layout(tmp_path / "npy") == "cifar-c"


def test_imagenet_c_folder_errors_are_counted(two_classes, tmp_path):
    corrupt_folder(two_classes, tmp_path / "c", ["brightness"], [1, 5], resize=None, crop=None, progress=False)
    result = evaluate_robustness(brightness_model(), tmp_path / "c", corruptions=["brightness"], severities=[1, 5],
                                 clean_dir=two_classes, num_workers=0)
    assert result.layout == "imagenet-c"
    assert result.errors == {"brightness": EXPECTED}
    assert result.images == {"brightness": {1: 6, 5: 6}}
    assert result.clean_error == 0.0
    alex = ALEXNET_ERRORS["brightness"]
    assert result.ce["brightness"] == pytest.approx(100 * 0.5 / (alex[0] + alex[4]))
    assert result.mce is None  # a subset: no mCE


def test_on_the_fly_matches_the_folder_route(two_classes):
    result = evaluate_robustness(brightness_model(), two_classes, corruptions=["brightness"], severities=[1, 5],
                                 num_workers=0, params="imagenet")
    assert result.layout == "clean" and result.params == "imagenet"
    assert result.errors == {"brightness": EXPECTED} and result.clean_error == 0.0


def test_cifar_c_arrays(tmp_path):
    n = 4  # images per severity
    labels = np.array([0, 1, 0, 1] * 5, np.uint8)
    images = np.zeros((5 * n, 32, 32, 3), np.uint8)
    for s in range(5):
        for i in range(n):  # severity s + 1 darkens class 1 more and more: from severity 4 it reads dark
            images[s * n + i] = int(255 * (DARK if labels[i] == 0 else BRIGHT - 0.12 * s))
    np.save(tmp_path / "labels.npy", labels)
    np.save(tmp_path / "fog.npy", images)
    result = evaluate_robustness(brightness_model(), tmp_path, corruptions=["fog"], batch_size=3)
    assert result.layout == "cifar-c"
    assert result.errors["fog"] == {1: 0.0, 2: 0.0, 3: 0.0, 4: 0.5, 5: 0.5}
    assert result.mce is None and result.mean_error == pytest.approx(20.0)  # CIFAR: unnormalised


def test_full_table_gives_mce_and_relative_mce():
    errors = {n: dict(zip(range(1, 6), ALEXNET_ERRORS[n])) for n in BENCHMARK_CORRUPTIONS}
    result = RobustnessResult("alexnet", "-", "imagenet-c", errors, {}, clean_error=ALEXNET_CLEAN_ERROR)
    _summarise(result, normalise=True)
    assert result.mce == pytest.approx(100) and result.relative_mce == pytest.approx(100)


def test_missing_corruption_folder_is_named(two_classes, tmp_path):
    corrupt_folder(two_classes, tmp_path / "c", ["contrast"], [1], resize=None, crop=None, progress=False)
    with pytest.raises(DataError, match="fog/1"):
        evaluate_robustness(brightness_model(), tmp_path / "c", corruptions=["contrast", "fog"], severities=[1])


def test_commands_write_files(two_classes, tmp_path, capsys):
    model_file = tmp_path / "net.py"
    model_file.write_text(textwrap.dedent("""
        import torch
        from torch import nn
        class Net(nn.Module):
            def forward(self, x):
                m = x.mean(dim=(1, 2, 3))
                return torch.stack([-m, m], 1)
        def build():
            return Net()
    """))
    out = tmp_path / "c"
    assert main(["corrupt", "--input-dir", str(two_classes), "--output-dir", str(out), "--corruptions",
                 "contrast,fog", "--severities", "2", "--resize", "none", "--crop", "none", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["written"] == 12 and (out / "fog" / "2" / "0" / "0.png").is_file()
    report = tmp_path / "report"
    assert main(["robustness", "--model", f"{model_file}:build", "--data", str(out), "--corruptions", "contrast,fog",
                 "--severities", "2", "--resize", "none", "--crop", "none", "--workers", "0",
                 "--output", str(report), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed["errors"]) == {"contrast", "fog"}
    assert json.loads((report / "robustness.json").read_text())["layout"] == "imagenet-c"
    assert (report / "robustness.png").stat().st_size > 0
    assert main(["robustness", "--model", f"{model_file}:build", "--data", str(out), "--corruptions", "fgo"]) == 2
    assert "Did you mean 'fog'" in capsys.readouterr().err
