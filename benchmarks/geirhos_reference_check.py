"""Check stylebias's distortions against Geirhos et al.'s own ``image_manipulation.py``.

The reference file is not a stylebias dependency; fetch it, then run:

    git clone https://github.com/rgeirhos/generalisation-humans-DNNs /tmp/gen
    PYTHONPATH=src python benchmarks/geirhos_reference_check.py /tmp/gen/code/image_manipulation.py

It was written for 2018's SciPy and scikit-image, so three names they have since removed are
shimmed before the import (``scipy.misc.toimage``, only used to save images;
``scipy.ndimage.filters``, now ``scipy.ndimage``; ``skimage.color.rgb2grey``, now ``rgb2gray``).
Random manipulations get stylebias's draws (``np.random.random`` and the ``rng`` replaced).
Float64, three 224 x 224 photos; prints the largest difference per manipulation and exits 1 if
one exceeds 1e-9. The eidolons are checked by ``eidolon_factory_check.py``.
"""

from __future__ import annotations

import importlib.util
import sys
import types

import numpy as np
import scipy
import scipy.ndimage
import skimage.color
import torch

from stylebias.humanlike import distort
from stylebias.humanlike import distortion_ops as ops

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
from distortions import sample_images  # noqa: E402


def load_reference(path: str) -> types.ModuleType:
    sys.modules.setdefault("scipy.misc", types.ModuleType("scipy.misc")).toimage = None
    sys.modules["scipy.ndimage.filters"] = scipy.ndimage
    skimage.color.rgb2grey = skimage.color.rgb2gray
    spec = importlib.util.spec_from_file_location("image_manipulation", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _GivenUniform:
    """Stands in for the reference's ``np.random.RandomState``: hands out given [0, 1) draws."""

    def __init__(self, draws: np.ndarray) -> None:
        self.draws = list(draws)

    def uniform(self, low, high, size):
        return low + (high - low) * self.draws.pop(0)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(__doc__)
        return 2
    im = load_reference(argv[0])
    photos = sample_images(3, 224)
    x = torch.from_numpy(photos).permute(0, 3, 1, 2).contiguous()
    gamma = ops.reference_gamma_curve().numpy()
    spectrum = ops.reference_amplitude_spectrum().numpy()

    def ours(name, level, seed=0):
        return distort(x, name, level, torch.Generator().manual_seed(seed))[:, 0].numpy()

    def each(fn):
        return np.stack([fn(p) for p in photos])

    checks = {
        "colour": (ours("colour", 1), each(skimage.color.rgb2gray)),
        "contrast 0.05": (ours("contrast", 0.05), each(lambda p: im.grayscale_contrast(p, 0.05))),
        "high-pass 3": (ours("high-pass", 3.0), each(lambda p: im.high_pass_filter(p, 3.0)[:, :, 0])),
        "high-pass 0.4": (ours("high-pass", 0.4), each(lambda p: im.high_pass_filter(p, 0.4)[:, :, 0])),
        "low-pass 10": (ours("low-pass", 10.0), each(lambda p: im.low_pass_filter(p, 10.0)[:, :, 0])),
        "low-pass 40": (ours("low-pass", 40.0), each(lambda p: im.low_pass_filter(p, 40.0)[:, :, 0])),
        "power-equalisation": (ours("power-equalisation", 1), each(lambda p: im.power_equalisation(p, spectrum)[:, :, 0])),
        "rotation 90": (ours("rotation", 90), each(lambda p: im.rotate90(p)[:, :, 0])),
        "rotation 180": (ours("rotation", 180), each(lambda p: im.rotate180(p)[:, :, 0])),
        "rotation 270": (ours("rotation", 270), each(lambda p: im.rotate270(p)[:, :, 0])),
        "false-colour": (
            distort(x, "false-colour", 1).permute(0, 2, 3, 1).numpy(),
            each(lambda p: im.false_colour(p, gamma)),
        ),
    }
    # phase scrambling: stylebias draws torch.rand(B, n) from the generator, then scales it
    u = torch.rand(3, ops.phase_shift_count(224, 224), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    draws = list(u.numpy())
    saved, np.random.random = np.random.random, lambda n: draws.pop(0)
    try:
        checks["phase-scrambling 90"] = (ours("phase-scrambling", 90.0), each(lambda p: im.phase_scrambling(p, 90.0)[:, :, 0]))
    finally:
        np.random.random = saved
    noise = torch.rand(3, 224, 224, generator=torch.Generator().manual_seed(0), dtype=torch.float64).numpy()
    rng = _GivenUniform(noise)
    checks["uniform-noise 0.35"] = (ours("uniform-noise", 0.35), each(lambda p: im.uniform_noise(p, 0.35, 0.3, rng)))

    worst = 0.0
    for label, (a, b) in checks.items():
        diff = float(np.abs(a - b).max())
        worst = max(worst, diff)
        print(f"{label:<22} max |stylebias - reference| = {diff:.3g}")
    return 0 if worst < 1e-9 else 1


if __name__ == "__main__":
    raise SystemExit(main())
