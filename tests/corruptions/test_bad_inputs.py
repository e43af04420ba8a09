"""``corrupt`` and ``robustness`` refuse bad inputs with a clear error instead of a wrong result."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from stylebias.cli import main
from stylebias.corruptions import corrupt_folder, evaluate_robustness
from stylebias.errors import DataError, InvalidArgumentError, ModelOutputError
from stylebias.models import LoadedModel, ModelSpec, Preprocess


class Brightness(nn.Module):
    """Class 1 if the mean value is above 0.5, else class 0."""

    def forward(self, x):
        m = x.mean(dim=(1, 2, 3))
        return torch.stack([0.5 - m, m - 0.5], 1)


def loaded(net: nn.Module, resize=None, crop=None) -> LoadedModel:
    return LoadedModel(net, Preprocess(resize=resize, crop=crop), ModelSpec("object", "net", None, "net"))


def grey(path, level: int, size=(40, 32)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size[1], size[0], 3), level, np.uint8)).save(path)


@pytest.fixture()
def two_classes(tmp_path):
    root = tmp_path / "clean"
    for label, level in (("0", 50), ("1", 200)):
        for i in range(2):
            grey(root / label / f"{i}.png", level + i)
    return root


# ----------------------------------------------------------------------------- model output
def test_a_model_that_fails_on_the_images_is_refused_clearly(two_classes, tmp_path, capsys):
    """Regression: a forward-pass failure surfaced as a RuntimeError traceback from the loop."""
    with pytest.raises(ModelOutputError, match=r"failed on the first image .*0\.png.*mat1 and mat2"):
        evaluate_robustness(loaded(nn.Linear(10, 2)), two_classes, corruptions=["fog"], severities=[1],
                            num_workers=0)
    net = tmp_path / "net.py"
    net.write_text("from torch import nn\ndef build():\n    return nn.Linear(10, 2)\n")
    assert main(["robustness", "--model", f"{net}:build", "--data", str(two_classes), "--corruptions", "fog",
                 "--severities", "1", "--workers", "0", "--output", str(tmp_path / "r"), "--json"]) == 2
    assert "failed on the first image" in capsys.readouterr().err


def test_cifar_labels_beyond_the_model_outputs(tmp_path):
    np.save(tmp_path / "labels.npy", np.array([0, 2] * 5, np.int64))
    np.save(tmp_path / "fog.npy", np.zeros((10, 32, 32, 3), np.uint8))
    with pytest.raises(DataError, match="class index 2 but the model has 2 outputs"):
        evaluate_robustness(loaded(Brightness()), tmp_path, corruptions=["fog"], severities=[1])


# ----------------------------------------------------------------------------- CIFAR-C arrays
GOOD_LABELS = np.array([0, 1] * 5, np.int64)
GOOD_IMAGES = np.zeros((10, 32, 32, 3), np.uint8)


@pytest.mark.parametrize(
    ("labels", "images", "message"),
    [
        (GOOD_LABELS, np.array([object()] * 10, dtype=object), "fog.npy is not a plain numeric .npy.*refused"),
        (np.array([0, 1] * 5, dtype=object), GOOD_IMAGES, "labels.npy is not a plain numeric .npy.*refused"),
        (GOOD_LABELS.astype(np.float32), GOOD_IMAGES, "integer class indices.*float32"),
        (GOOD_LABELS.reshape(5, 2), GOOD_IMAGES, r"integer class indices of shape \(N,\)"),
        (GOOD_LABELS[:9], GOOD_IMAGES[:9], "9 labels.*multiple of 5"),
        (GOOD_LABELS - 1, GOOD_IMAGES, "negative class index -1"),
        (GOOD_LABELS, GOOD_IMAGES.astype(np.float32) / 255, r"uint8 RGB images.*float32"),
        (GOOD_LABELS, GOOD_IMAGES[..., 0], r"uint8 RGB images.*\(10, 32, 32\)"),
        (GOOD_LABELS, GOOD_IMAGES[:5], "5 images but labels.npy has 10"),
    ],
    ids=["object-images", "object-labels", "float-labels", "2d-labels", "not-5-severities", "negative",
         "float-images", "no-channels", "length-mismatch"],
)
def test_bad_cifar_arrays_are_refused(tmp_path, labels, images, message):
    """Regression: pickled arrays raised numpy's ValueError; float or short arrays were used as is."""
    np.save(tmp_path / "labels.npy", labels, allow_pickle=True)
    np.save(tmp_path / "fog.npy", images, allow_pickle=True)
    with pytest.raises(DataError, match=message):
        evaluate_robustness(loaded(Brightness()), tmp_path, corruptions=["fog"], severities=[1])


def test_a_pickle_posing_as_npy_is_refused_not_loaded(tmp_path):
    import pickle

    np.save(tmp_path / "labels.npy", GOOD_LABELS)
    (tmp_path / "fog.npy").write_bytes(pickle.dumps(GOOD_IMAGES))
    with pytest.raises(DataError, match="fog.npy is not a plain numeric .npy"):
        evaluate_robustness(loaded(Brightness()), tmp_path, corruptions=["fog"], severities=[1])


# ----------------------------------------------------------------------------- resize and crop
def test_corrupt_refuses_a_crop_larger_than_the_resize(two_classes, tmp_path, capsys):
    """Regression: --resize 16 --crop 64 wrote 64 px images that were mostly black padding."""
    out = tmp_path / "c"
    assert main(["corrupt", "--input-dir", str(two_classes), "--output-dir", str(out), "--corruptions", "fog",
                 "--severities", "1", "--resize", "16", "--crop", "64", "--json"]) == 2
    err = capsys.readouterr().err
    assert "crop 64 is larger than resize 16" in err and "--resize 64 --crop 64" in err
    assert not out.exists()
    with pytest.raises(DataError, match=r"0/0\.png is 40x32 px, smaller than the centre crop 36"):
        corrupt_folder(two_classes, out, ["fog"], [1], resize=None, crop=36, progress=False)


def test_robustness_refuses_a_crop_the_images_do_not_fill(two_classes, tmp_path):
    with pytest.raises(InvalidArgumentError, match="crop 64 is larger than resize 16"):
        evaluate_robustness(loaded(Brightness(), resize=16, crop=64), two_classes, corruptions=["fog"],
                            severities=[1], num_workers=0)
    with pytest.raises(DataError, match=r"0\.png is 40x32 px, smaller than the centre crop 36"):
        evaluate_robustness(loaded(Brightness(), crop=36), two_classes, corruptions=["fog"], severities=[1],
                            num_workers=0)
    np.save(tmp_path / "labels.npy", GOOD_LABELS)
    np.save(tmp_path / "fog.npy", GOOD_IMAGES)
    with pytest.raises(DataError, match="every image of .*fog.npy is 32x32 px, smaller than the centre crop 36"):
        evaluate_robustness(loaded(Brightness(), crop=36), tmp_path, corruptions=["fog"], severities=[1])


# ----------------------------------------------------------------------------- corrupt's outputs
def test_inputs_that_share_a_stem_get_distinct_outputs(tmp_path, capsys):
    """Regression: x.bmp and x.png were both written as x.png (one file for two inputs)."""
    src = tmp_path / "in"
    grey(src / "a" / "x.bmp", 40)
    grey(src / "a" / "x.png", 220)
    grey(src / "a" / "y.tif", 40)  # converted, but no other input is called y.png: plain name
    out = tmp_path / "out"
    result = corrupt_folder(src, out, ["brightness"], [1], resize=None, crop=None, progress=False)
    folder = out / "brightness" / "1" / "a"
    assert sorted(p.name for p in folder.iterdir()) == ["x.bmp.png", "x.png", "y.png"]
    assert result.written == 3 and result.renamed == {"a/x.bmp": "a/x.bmp.png"}
    assert np.asarray(Image.open(folder / "x.bmp.png")).mean() < 128 < np.asarray(Image.open(folder / "x.png")).mean()
    again = corrupt_folder(src, out, ["brightness"], [1], resize=None, crop=None, progress=False)
    assert (again.written, again.skipped) == (0, 3)
    assert main(["corrupt", "--input-dir", str(src), "--output-dir", str(out), "--corruptions", "brightness",
                 "--severities", "1", "--resize", "none", "--crop", "none", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["renamed"] == {"a/x.bmp": "a/x.bmp.png"}


def test_names_that_would_still_collide_are_refused(tmp_path):
    src = tmp_path / "in"
    grey(src / "x.bmp", 40)
    grey(src / "x.png", 40)
    grey(src / "x.bmp.png", 40)  # the name x.bmp would be renamed to
    with pytest.raises(InvalidArgumentError, match=r"x\.bmp and .*x\.bmp\.png would both be written as x\.bmp\.png"):
        corrupt_folder(src, tmp_path / "out", ["brightness"], [1], resize=None, crop=None, progress=False)


def test_a_link_at_an_output_path_is_not_counted_as_done(two_classes, tmp_path):
    """Regression: a symlink at an expected output (to any file) was skipped as finished."""
    out = tmp_path / "out"
    corrupt_folder(two_classes, out, ["brightness"], [1], resize=None, crop=None, progress=False)
    target = out / "brightness" / "1" / "1" / "0.png"
    expected = target.read_bytes()
    elsewhere = tmp_path / "elsewhere.png"
    grey(elsewhere, 0)
    before = elsewhere.read_bytes()
    target.unlink()
    target.symlink_to(elsewhere)
    again = corrupt_folder(two_classes, out, ["brightness"], [1], resize=None, crop=None, progress=False)
    assert (again.written, again.skipped) == (1, 3)
    assert not target.is_symlink() and target.read_bytes() == expected
    assert elsewhere.read_bytes() == before  # the link's target is left alone


def test_a_linked_output_folder_is_never_followed(two_classes, tmp_path):
    """Regression: an output class folder that was a symlink was written through, out of the output."""
    out = tmp_path / "out"
    outside = tmp_path / "outside"
    outside.mkdir()
    (out / "brightness" / "1").mkdir(parents=True)
    (out / "brightness" / "1" / "1").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InvalidArgumentError, match=r"brightness/1/1 is a symbolic link .*output folder"):
        corrupt_folder(two_classes, out, ["brightness"], [1], resize=None, crop=None, progress=False)
    assert list(outside.iterdir()) == []


def test_corrupt_names_an_input_folder_it_cannot_read(two_classes, tmp_path, monkeypatch):
    """Regression: an unreadable class folder was left out of the copy without a word."""
    import os

    scandir = os.scandir

    def no_class_1(path="."):  # tests run as root, where chmod 000 does not stop reading
        if os.fspath(path) == str(two_classes / "1"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", no_class_1)
    with pytest.raises(DataError, match="cannot read the folder .*clean/1 "):
        corrupt_folder(two_classes, tmp_path / "out", ["brightness"], [1], resize=None, crop=None, progress=False)
