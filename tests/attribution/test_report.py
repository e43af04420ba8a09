"""attribute_files: maps on each file's own pixel grid, names, scores; the geometry inverse."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from stylebias.attribution import attribute_files, crop_box, heatmap_to_image
from stylebias.errors import InvalidArgumentError
from stylebias.models import LoadedModel, Preprocess
from stylebias.models.preprocess import Normalized
from stylebias.models.spec import ModelSpec


class TinyResNetish(nn.Module):
    """Has a ``layer2`` (IBA's default place) and 5 classes."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.layer1 = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU())
        self.layer2 = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, stride=2), nn.ReLU())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5))

    def forward(self, x):
        return self.head(self.layer2(self.layer1(x)))


def loaded(resize=40, crop=32):
    pre = Preprocess(resize=resize, crop=crop)
    net = Normalized(TinyResNetish(), pre.mean, pre.std).eval()
    return LoadedModel(net, pre, ModelSpec("object", "tiny/net:v1", None, "tiny/net:v1"))


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for folder, size in (("a", (60, 45)), ("b", (50, 70)), ("c", (48, 48))):
        p = tmp_path / "in" / folder / "x.png"
        p.parent.mkdir(parents=True)
        Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(p)
        paths.append(p)
    return paths


def test_crop_box_matches_what_preprocess_cuts(tmp_path):
    """Paint the box crop_box reports: the model's view must be exactly that region."""
    pre = Preprocess(resize=40, crop=32)
    for w, h in ((60, 45), (50, 70), (48, 48), (100, 40)):
        x0, y0, x1, y1 = crop_box(w, h, pre)
        arr = np.zeros((h, w, 3), np.uint8)
        arr[int(round(y0)):int(round(y1)), int(round(x0)):int(round(x1))] = 255
        view = np.asarray(pre.geometry(Image.fromarray(arr)))[..., 0].astype(float) / 255
        # bilinear resampling blurs the edge by about a pixel: the inside is white, the outside black
        assert view[2:-2, 2:-2].min() > 0.9, (w, h)
        assert x1 - x0 == pytest.approx(32 * w / (40 if w <= h else int(40 * w / h)), rel=0.05)


def test_heatmap_on_the_file_grid_keeps_bits_and_zeroes_the_unseen_border():
    pre = Preprocess(resize=40, crop=32)
    heat = torch.rand(32, 32, generator=torch.Generator().manual_seed(0))
    full = heatmap_to_image(heat, 60, 45, pre, keep_total=True)
    assert full.shape == (45, 60)
    assert full.sum().item() == pytest.approx(heat.sum().item(), rel=1e-5)
    x0, _, x1, _ = crop_box(60, 45, pre)
    assert full[:, : int(x0) - 1].abs().sum() == 0 and full[:, int(x1) + 1:].abs().sum() == 0
    plain = heatmap_to_image(heat.clamp(0, 1), 60, 45, pre)
    assert plain.max() <= 1.0 + 1e-6


def test_attribute_files_writes_one_array_per_image_model_and_method(images, tmp_path):
    records = attribute_files([loaded(), loaded()], images, tmp_path / "out", methods=["gradcam", "iba"],
                              faithfulness_points=8)
    assert len(records) == 3 * 2 * 2
    files = {r["heatmap"] for r in records}
    assert len(files) == 12  # same stems in three folders, two models of one name: all distinct
    for r in records:
        arr = np.load(r["heatmap"])
        w, h = Image.open(r["image"]).size
        assert arr.shape == (h, w) and np.isfinite(arr).all()
        assert 0.0 <= r["deletion_auc"] <= 1.0 and 0.0 <= r["insertion_auc"] <= 1.0
        if r["method"] == "iba":
            assert arr.min() >= 0 and r["total"] == pytest.approx(float(arr.sum()), rel=1e-5)
    saved = json.loads((tmp_path / "out" / "attributions.json").read_text())
    assert saved == records


def test_iba_maps_are_reproducible_and_do_not_depend_on_the_batch(images, tmp_path):
    one = attribute_files([loaded()], images, tmp_path / "o1", methods=["iba"], faithfulness=False)
    two = attribute_files([loaded()], images[1:2], tmp_path / "o2", methods=["iba"], faithfulness=False,
                          stats_images=images)
    again = attribute_files([loaded()], images, tmp_path / "o3", methods=["iba"], faithfulness=False,
                            stats_images=images)
    np.testing.assert_array_equal(np.load(one[1]["heatmap"]), np.load(again[1]["heatmap"]))
    np.testing.assert_allclose(np.load(two[0]["heatmap"]), np.load(again[1]["heatmap"]), rtol=1e-4, atol=1e-6)


def test_bad_requests_are_named(images, tmp_path):
    with pytest.raises(InvalidArgumentError, match="method"):
        attribute_files([loaded()], images, tmp_path / "o", methods=["lime"])
    with pytest.raises(InvalidArgumentError, match="stats_images"):
        attribute_files([loaded()], images[:1], tmp_path / "o", methods=["iba"])
