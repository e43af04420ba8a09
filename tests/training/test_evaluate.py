"""Corruption error: corrupted batches made once and shared; images under 32 px."""

import torch
from torch.nn.functional import interpolate
from torch.utils.data import Subset, TensorDataset

from stylebias.corruptions import corrupt
from stylebias.datasets import ShapeTexture
from stylebias.training import evaluate
from stylebias.training.data import BatchStream
from stylebias.training.evaluate import corrupt_any_size, corruption_error


def _predict(x):  # a fixed "model": the class is the brightest channel, from the mean colour
    return x.mean(dim=(2, 3)) * 10


def _dataset(size, n=24):
    g = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 3
    x = torch.rand(n, 3, size, size, generator=g) * 0.5
    x[torch.arange(n), y] += 0.5
    return TensorDataset(x, y)


def test_corrupt_any_size_matches_corrupt_at_32_px_and_resizes_smaller_images():
    x = _dataset(32)[:][0][:4]
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert torch.equal(corrupt_any_size(x, "gaussian_noise", 3, g1), corrupt(x, "gaussian_noise", 3, generator=g2))
    small = _dataset(16)[:][0][:4]
    out = corrupt_any_size(small, "contrast", 2, torch.Generator().manual_seed(0))
    up = interpolate(small, size=(32, 32), mode="bilinear", align_corners=False).clamp(0, 1)
    expected = interpolate(corrupt(up, "contrast", 2), size=(16, 16), mode="area")
    assert out.shape == small.shape and torch.allclose(out, expected.clamp(0, 1), atol=1e-6)
    assert 0 <= out.min() and out.max() <= 1


def test_corruption_error_on_16_px_images_and_with_a_shared_cache(monkeypatch):
    names = ["gaussian_noise", "contrast"]
    data = _dataset(16)
    plain = corruption_error(_predict, data, torch.device("cpu"), [1, 3], names=names, seed=5, batch_size=10)
    cache = {}
    cached = corruption_error(_predict, data, torch.device("cpu"), [1, 3], names=names, seed=5, batch_size=10, cache=cache)
    assert cached == plain and len(cache) == 4  # (corruption, severity) pairs, 3 batches each
    assert all(len(batches) == 3 for batches in cache.values())

    def no_new_corruption(*args, **kwargs):
        raise AssertionError("corrupted again instead of reading the cache")

    monkeypatch.setattr(evaluate, "corrupted_batches", no_new_corruption)
    assert corruption_error(_predict, data, torch.device("cpu"), [1, 3], names=names, seed=5, batch_size=10,
                            cache=cache) == plain
    # errors are fractions of wrong predictions, severity by severity
    for per in plain["errors"].values():
        assert set(per) == {1, 3} and all(0 <= e <= 1 for e in per.values())


def test_gathered_batches_equal_the_data_loaders():
    data = ShapeTexture("train", ("photo", "cartoon"), n_per_class=5, image_size=16, return_texture=True)
    gathered = BatchStream(data, 8, seed=3, start_step=4)
    loaded = BatchStream(Subset(data, range(len(data))), 8, seed=3, start_step=4)  # a Subset has no gather()
    assert hasattr(loaded, "loader") and not hasattr(gathered, "loader")  # the two paths differ
    for _ in range(15):  # across epoch boundaries (100 items, 8 per batch)
        a, b = next(gathered), next(loaded)
        assert len(a) == len(b) == 4
        assert all(torch.equal(u, v) and u.dtype == v.dtype for u, v in zip(a, b))
