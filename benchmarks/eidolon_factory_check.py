"""Check stylebias's eidolons against the Eidolon factory itself, fed the same noise.

Needs the factory on the path (not a stylebias dependency): the Python 3 version with the
partial-coherence fix that Geirhos et al. used (gestaltrevision/Eidolon pull request #1), e.g.
f-amerehi/Eidolon (commit add8802 or later):

    git clone https://github.com/f-amerehi/Eidolon /tmp/Eidolon
    PYTHONPATH=src:/tmp/Eidolon python benchmarks/eidolon_factory_check.py

A 256 x 256 grey photo (the factory's own size, so it does not resize) goes through the factory
as ``code/wrapper.py``'s ``partially_coherent_disarray`` does, with ``numpy.random.normal``
replaced by the planes stylebias gets, in the factory's draw order. The factory returns 8-bit
values truncated from float, so ``255 * ours - factory`` must lie in [0, 1). Prints one JSON
line per (coherence, reach) and exits 1 on a mismatch.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from stylebias.humanlike.eidolon import EIDOLON_GRAIN, eidolon_noise_shape, eidolon_with


def grey_photo(size: int = 256) -> np.ndarray:
    try:
        import skimage.data

        rgb = Image.fromarray(skimage.data.astronaut())
    except ImportError:
        rgb = Image.fromarray((np.random.RandomState(0).rand(64, 64, 3) * 255).astype(np.uint8))
    return np.asarray(rgb.resize((size, size), Image.BICUBIC).convert("L"))


def factory_eidolon(path: str, reach: float, coherence: float, planes: list[np.ndarray]) -> np.ndarray:
    from eidolon import helpers, picture, scalespaces

    queue = list(reversed(planes))

    def normal(loc=0.0, scale=1.0, size=None):
        plane = queue.pop()
        assert plane.shape == tuple(size), (plane.shape, size)
        return loc + scale * plane

    saved, np.random.normal = np.random.normal, normal
    try:
        pic = picture.Picture(path, 256, 1 / math.sqrt(2), 256 / 4.0, math.sqrt(2))
        h, w = pic.fatFiducialDataPlane.shape
        plane = helpers.PartiallyCoherentDisarray(
            scalespaces.DOGScaleSpace(pic), reach, coherence, EIDOLON_GRAIN, w, h,
            pic.MAX_SIGMA, pic.numScaleLevels, pic.scaleLevels,
        )  # fmt: skip
        return pic.DisembedDataPlane(plane).astype(np.float64)
    finally:
        np.random.normal = saved


def main() -> int:
    grey = grey_photo()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "grey.png")
        Image.fromarray(np.dstack([grey] * 3)).save(path)
        x = torch.from_numpy(np.dstack([grey] * 3) / 255.0).permute(2, 0, 1)[None]
        g = torch.Generator().manual_seed(0)
        for coherence in (1.0, 0.3, 0.0):
            normals = torch.randn(eidolon_noise_shape(1, 256, 256), generator=g, dtype=torch.float64)
            n = normals[0].numpy()
            levels = n.shape[2]
            # factory order: x coherent (all levels), y coherent, then per level x and y incoherent
            planes = [n[0, 0, k] for k in range(levels)] + [n[1, 0, k] for k in range(levels)]
            for k in range(levels):
                planes += [n[0, 1, k], n[1, 1, k]]
            for reach in (2.0, 16.0, 128.0):
                theirs = factory_eidolon(path, reach, coherence, planes)
                ours = eidolon_with(x, reach, coherence, normals)[0, 0].numpy() * 255
                diff = ours - theirs
                good = bool(diff.min() > -1e-6 and diff.max() < 1 + 1e-6)
                ok &= good
                print(json.dumps({"coherence": coherence, "reach": reach, "min_diff": diff.min(), "max_diff": diff.max(), "ok": good}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
