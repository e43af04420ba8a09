"""Photo-like test images and fake frost pictures for the corruption tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from stylebias.corruptions._frost import FROST_FILES


def photo_like(batch: int, size: int, seed: int = 0) -> torch.Tensor:
    """``(batch, 3, size, size)`` images in [0.05, 0.95]: smooth colour fields plus sharp shapes.

    No photos are shipped with the project; these have what the corruptions react to (smooth
    regions, edges, texture, colour), which is enough for ordering and determinism tests.
    """
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(batch, 3, 4, 4, generator=g)
    x = F.interpolate(low, size=(size, size), mode="bicubic", align_corners=False)
    mid = torch.rand(batch, 3, size // 4, size // 4, generator=g)
    x = x + 0.25 * (F.interpolate(mid, size=(size, size), mode="bilinear", align_corners=False) - 0.5)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    for b in range(batch):
        cx, cy, r = (torch.rand(3, generator=g) * torch.tensor([1.0, 1.0, 0.5]) - torch.tensor([0.5, 0.5, -0.2])).tolist()
        disk = ((xx - cx) ** 2 + (yy - cy) ** 2 < r**2).float()
        colour = torch.rand(3, 1, 1, generator=g)
        x[b] = x[b] * (1 - disk) + colour * disk
    return x.clamp(0.05, 0.95)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Run these tests on one torch thread (restored afterwards).

    On a busy shared 2-core machine, torch's thread pool waits on its own threads and the
    batched corruptions get tens of times slower; one thread is also what the reference gets.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(name="photo_like", scope="session")
def photo_like_fixture():
    """The :func:`photo_like` image maker."""
    return photo_like


@pytest.fixture(scope="session")
def frost_dir(tmp_path_factory) -> str:
    """A folder with five fake frost pictures (light, blotchy, like the real ones), named as the
    reference's."""
    folder = tmp_path_factory.mktemp("frost")
    rng = np.random.default_rng(0)
    for i, name in enumerate(FROST_FILES):
        h, w = 300 + 20 * i, 420 + 10 * i
        base = 130 + rng.random((h // 8, w // 8, 1)) * 125 + rng.random((h // 8, w // 8, 3)) * 0
        img = Image.fromarray(base.astype(np.uint8)).resize((w, h), Image.BICUBIC)
        img.save(folder / name)
    return str(folder)
