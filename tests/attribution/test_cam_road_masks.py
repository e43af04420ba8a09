"""The CAM family through grad-cam, ROAD against the library's own metric, and the object share."""

import json
import logging
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from stylebias.attribution import (
    CAM_METHODS, attribute_files, library_cam, noisy_linear_impute, object_share, road, road_keep_mask,
    silhouette_for, silhouette_mask,
)
from stylebias.errors import InvalidArgumentError
from stylebias.shapebias.gradcam import grad_cam
from tests.attribution.test_report import loaded

pytest.importorskip("pytorch_grad_cam")
from pytorch_grad_cam import GradCAM  # noqa: E402
from pytorch_grad_cam.metrics.perturbation_confidence import (  # noqa: E402
    PerturbationConfidenceMetric, RemoveLeastRelevantFirst, RemoveMostRelevantFirst,
)
from pytorch_grad_cam.metrics.road import NoisyLinearImputer  # noqa: E402
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget  # noqa: E402


class FullResNet(nn.Module):
    """Its last conv stage keeps the input's resolution, so no map is resized."""

    def __init__(self, classes=4):
        super().__init__()
        torch.manual_seed(1)
        self.features = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 6, 3, padding=1), nn.ReLU())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, classes))
        with torch.no_grad():  # mixed-sign weights per class: positive evidence somewhere, not everywhere
            self.head[2].weight.copy_(torch.randn(classes, 6, generator=torch.Generator().manual_seed(2)) + 0.5)

    def forward(self, x):
        return self.head(self.features(x))


class BrightSquare(nn.Module):
    """Logit 0 is the mean brightness of a central square (a model that looks only there)."""

    def forward(self, x):
        centre = x[:, :, 6:10, 6:10].mean(dim=(1, 2, 3))
        return torch.stack([centre, -centre], dim=1)


def _images(n=3, size=16, seed=0):
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def test_our_gradcam_is_the_librarys_gradcam():
    model, x = FullResNet().eval(), _images()
    targets = torch.tensor([0, 2, 3])
    ours, _ = grad_cam(model, x, layer="features", target=targets)
    assert (ours.flatten(1).amax(1) > 0).all() and (ours.flatten(1).amin(1) < 1).all()
    lib = GradCAM(model=model, target_layers=[model.features])
    theirs = lib(input_tensor=x, targets=[ClassifierOutputTarget(int(t)) for t in targets])
    # the library scales (c - min) / (max + 1e-7) after subtracting the min; ours is c / max
    lo = ours.flatten(1).amin(1).view(-1, 1, 1)
    hi = ours.flatten(1).amax(1).view(-1, 1, 1)
    np.testing.assert_allclose(((ours - lo) / (hi - lo)).numpy(), theirs, atol=1e-4)


@pytest.mark.parametrize("method", ["gradcam++", "scorecam", "eigencam", "layercam"])
def test_library_cams_are_batched_and_equal_one_image_calls(method):
    model, x = FullResNet().eval(), _images()
    targets = torch.tensor([1, 0, 3])
    maps = library_cam(model, x, method, "features", targets)
    assert maps.shape == (3, 16, 16) and maps.dtype == torch.float32
    assert float(maps.min()) >= 0 and float(maps.max()) <= 1 + 1e-6
    for i in range(3):
        single = library_cam(model, x[i:i + 1], method, "features", targets[i:i + 1])
        torch.testing.assert_close(maps[i], single[0], atol=1e-5, rtol=0)
    assert not model.training and not any(p.grad is not None for p in model.parameters())


def test_cam_errors_name_the_fix(monkeypatch):
    model, x = FullResNet().eval(), _images()
    with pytest.raises(InvalidArgumentError, match="did you mean"):
        library_cam(model, x, "gradcam++", "featurez", torch.zeros(3, dtype=torch.long))
    with pytest.raises(InvalidArgumentError, match="unknown CAM method"):
        library_cam(model, x, "gradcam+++", "features", torch.zeros(3, dtype=torch.long))
    monkeypatch.setitem(sys.modules, "pytorch_grad_cam", None)
    with pytest.raises(InvalidArgumentError, match=r"stylebias\[cam\]"):
        library_cam(model, x, "gradcam++", "features", torch.zeros(3, dtype=torch.long))


@pytest.mark.parametrize("morf", [True, False])
def test_road_masks_are_the_librarys(morf):
    sal = torch.rand(2, 9, 11, generator=torch.Generator().manual_seed(3))
    captured = []
    remover = (RemoveMostRelevantFirst if morf else RemoveLeastRelevantFirst)(30, lambda img, m: captured.append(m) or img)
    for i in range(2):
        remover(torch.zeros(3, 9, 11), sal[i])
    expected = torch.stack([c.bool() for c in captured])
    assert torch.equal(road_keep_mask(sal, 30, morf), expected)


def test_imputation_is_the_librarys_and_reproduces_a_linear_ramp():
    ys, xs = torch.meshgrid(torch.arange(12.0), torch.arange(12.0), indexing="ij")
    ramp = torch.stack([0.02 * xs + 0.03 * ys, 0.5 - 0.01 * xs, 0.04 * ys])[None]
    keep = torch.ones(1, 12, 12, dtype=torch.bool)
    keep[0, 4:8, 3:9] = False
    filled = noisy_linear_impute(ramp, keep, noise=0.0)
    torch.testing.assert_close(filled, ramp, atol=1e-5, rtol=0)  # the mean-value property of a linear function
    img = _images(1, 12)[0]
    theirs = NoisyLinearImputer(noise=0.0)(img, keep[0].float())
    torch.testing.assert_close(noisy_linear_impute(img[None], keep, noise=0.0)[0], theirs)
    noisy = noisy_linear_impute(img[None], keep, noise=0.01, generator=torch.Generator().manual_seed(0))[0]
    assert torch.equal(noisy[:, keep[0]], img[:, keep[0]])  # noise only where imputed
    assert 0 < float((noisy - theirs).abs().max()) < 0.1


def test_road_equals_the_librarys_combined_score_without_noise():
    model, x = FullResNet().eval(), _images()
    targets = torch.tensor([0, 1, 2])
    sal = torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(5))  # no ties: every point defined
    ours = road(model, x, sal, targets, percentiles=(20, 50, 80), noise=0.0)
    tgt = [ClassifierOutputTarget(int(t)) for t in targets]
    imputer = NoisyLinearImputer(noise=0.0)
    morf = [PerturbationConfidenceMetric(RemoveMostRelevantFirst(p, imputer))(x, sal.numpy(), tgt, model) for p in (20, 50, 80)]
    lerf = [PerturbationConfidenceMetric(RemoveLeastRelevantFirst(p, imputer))(x, sal.numpy(), tgt, model) for p in (20, 50, 80)]
    expected = np.mean((np.array(lerf) - np.array(morf)) / 2, axis=0)
    np.testing.assert_allclose(ours.combined.numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(ours.morf.numpy(), np.array(morf), atol=1e-5)


def test_road_ranks_a_faithful_map_above_its_inverse_and_skips_constant_maps(caplog):
    x = torch.zeros(2, 3, 16, 16)
    x[:, :, 5:11, 5:11] = 1.0  # a bright square over the model's window, on black
    good = torch.zeros(2, 16, 16)
    good[:, 6:10, 6:10] = 1.0
    good += torch.rand(2, 16, 16, generator=torch.Generator().manual_seed(0)) * 0.01
    targets = torch.zeros(2, dtype=torch.long)
    g = torch.Generator().manual_seed(0)
    faithful = road(BrightSquare(), x, good, targets, generator=g).combined
    inverse = road(BrightSquare(), x, 1 - good, targets, generator=g).combined
    assert (faithful > inverse + 0.1).all()
    with caplog.at_level(logging.WARNING):
        flat = road(BrightSquare(), x, torch.zeros(2, 16, 16), targets, percentiles=(10, 50)).combined
    assert torch.isnan(flat).all() and "kept no pixel" in caplog.text


def test_object_share_by_hand():
    maps = torch.tensor([[[1.0, 3.0], [0.0, 4.0]], [[1.0, 1.0], [1.0, 1.0]], [[0.0, 0.0], [0.0, 0.0]]])
    mask = torch.tensor([[True, False], [False, True]]).expand(3, 2, 2)
    share = object_share(maps, mask)
    assert share[0] == pytest.approx(5 / 8) and share[1] == pytest.approx(0.5) and torch.isnan(share[2])
    assert object_share(-maps[:1], mask[:1]).isnan().all()  # only positive attribution counts


def _silhouettes(tmp_path):
    folder = tmp_path / "filled-silhouettes" / "cat"
    folder.mkdir(parents=True)
    arr = np.full((20, 30), 255, np.uint8)
    arr[5:15, 10:20] = 0  # the object, black on white
    Image.fromarray(arr).save(folder / "cat2.png")
    return tmp_path / "filled-silhouettes"


def test_silhouette_lookup_and_mask(tmp_path):
    root = _silhouettes(tmp_path)
    assert silhouette_for("x/cat/cat2-elephant1.png", root) == root / "cat" / "cat2.png"
    assert silhouette_for("x/cat/cat3-elephant1.png", root) is None  # no such silhouette
    assert silhouette_for("photo.png", root) is None  # not a cue-conflict name
    mask = silhouette_mask(root / "cat" / "cat2.png", 60, 40)
    assert mask.shape == (40, 60) and mask[20, 30] and not mask[2, 2]
    assert int(mask.sum()) == 20 * 20


def test_attribute_files_scores_road_and_object_share(tmp_path):
    root = _silhouettes(tmp_path)
    rng = np.random.default_rng(0)
    paths = []
    for name in ("cat2-elephant1.png", "dog1.png"):
        p = tmp_path / "in" / name
        p.parent.mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)).save(p)
        paths.append(p)
    records = attribute_files([loaded()], paths, tmp_path / "out", methods=["gradcam++"], layer="model.layer2",
                              faithfulness=False, road_score=True, silhouettes=root)
    by_image = {r["image"]: r for r in records}
    cat, dog = by_image[str(paths[0])], by_image[str(paths[1])]
    heat = np.load(cat["heatmap"])
    expected = heat[(silhouette_mask(root / "cat" / "cat2.png", 60, 40)).numpy()].sum() / heat.sum()
    assert cat["object_share"] == pytest.approx(float(expected), rel=1e-5)
    assert cat["object_mask"].endswith("cat2.png")
    assert dog["object_share"] is None and dog["object_mask"].startswith("none:")
    assert all(isinstance(r["road"], float) for r in records)
    assert json.loads((tmp_path / "out" / "attributions.json").read_text()) == records
