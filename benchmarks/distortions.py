"""Time model-vs-human's twelve distortions: stylebias (batched torch) vs Geirhos et al.'s code.

The reference is Geirhos et al. (2018)'s manipulations and the Eidolon factory re-expressed in
NumPy/SciPy one image at a time (``tests/humanlike/reference.py``, which the tests check
stylebias against); it runs on the CPU in float64 as the original does. stylebias distorts the
whole batch at once, in float32, on ``--device``. Both get the same images (scikit-image's
sample photos, else smooth random images) at one middle condition per distortion.

    PYTHONPATH=src python benchmarks/distortions.py --images 8 --size 224 [--device cuda]

Power equalisation needs 224 x 224 (the shipped spectrum's size); at other sizes it is skipped.
Prints a table and, last, one JSON object (torch version, device, shapes, images per second).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from stylebias.humanlike import DISTORTIONS, distort
from stylebias.humanlike import distortion_ops as ops
from stylebias.humanlike.eidolon import EIDOLON_COHERENCE, EIDOLON_GRAIN, eidolon_noise_shape

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests/humanlike/reference.py
from tests.humanlike import reference as ref  # noqa: E402

LEVELS = {
    "colour": "bw", "contrast": "c05", "high-pass": "1.0", "low-pass": "7", "phase-scrambling": "90",
    "power-equalisation": "pow", "false-colour": "False", "rotation": "90", "eidolonI": "16-10-10",
    "eidolonII": "16-3-10", "eidolonIII": "16-0-10", "uniform-noise": "0.35",
}  # fmt: skip


def sample_images(n: int, size: int) -> np.ndarray:
    """``(n, size, size, 3)`` float64 8-bit photos in [0, 1] (skimage.data) or smooth noise."""
    try:
        import skimage.data as data
        from PIL import Image

        names = ["astronaut", "coffee", "chelsea", "rocket", "cat"]
        out = []
        for i in range(n):
            im = Image.fromarray(getattr(data, names[i % len(names)])())
            w, h = im.size
            s = min(w, h)
            im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
            out.append(np.asarray(im.resize((size, size), Image.BICUBIC).convert("RGB")))
        return np.stack(out) / 255.0
    except ImportError:
        g = torch.Generator().manual_seed(0)
        low = torch.rand(n, 3, size // 16, size // 16, generator=g)
        x = torch.nn.functional.interpolate(low, size=(size, size), mode="bicubic").clamp(0, 1)
        return (x.permute(0, 2, 3, 1) * 255).round().numpy() / 255.0


def reference_fn(name: str, level, size: int):
    """Per-image reference for ``name`` at ``level`` (a number), its noise drawn with NumPy."""
    rs = np.random.RandomState(0)
    spectrum = ops.reference_amplitude_spectrum().numpy()
    gamma = ops.reference_gamma_curve().numpy()
    count = ops.phase_shift_count(size, size)
    if name in EIDOLON_COHERENCE:
        shape = eidolon_noise_shape(1, size, size)[1:]
        coherence = EIDOLON_COHERENCE[name]

        def eidolon_ref(p):
            return ref.eidolon(p @ [0.299, 0.587, 0.114], level, coherence, EIDOLON_GRAIN, rs.standard_normal(shape))

        return eidolon_ref
    return {
        "colour": lambda p: ref.rgb2gray(p),
        "contrast": lambda p: ref.contrast(p, level),
        "high-pass": lambda p: ref.high_pass(p, level),
        "low-pass": lambda p: ref.low_pass(p, level),
        "phase-scrambling": lambda p: ref.phase_scramble(p, (rs.random_sample(count) - 0.5) * 2 * level / 180 * np.pi),
        "power-equalisation": lambda p: ref.power_equalise(p, spectrum),
        "false-colour": lambda p: ref.false_colour(p, gamma),
        "rotation": lambda p: ref.rotate(p, int(level)),
        "uniform-noise": lambda p: ref.uniform_noise(p, rs.uniform(-level, level, size=p.shape[:2])),
    }[name]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_ours(x: torch.Tensor, name: str, level: str, repeats: int) -> float:
    g = torch.Generator(device=x.device).manual_seed(0)
    distort(x, name, level, g)  # warm-up (cuFFT plans, kernels)
    sync(x.device)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        distort(x, name, level, g)
        sync(x.device)
        best = min(best, time.perf_counter() - start)
    return best


def time_reference(images: np.ndarray, fn, repeats: int) -> float:
    fn(images[0])
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for p in images:
            fn(p)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=8, help="batch size")
    parser.add_argument("--size", type=int, default=224, help="image side in pixels")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; the best counts")
    parser.add_argument("--only", nargs="*", default=None, help="distortion names (default: all)")
    parser.add_argument("--reference-images", type=int, default=None, help="images the slow reference runs on (default: --images)")
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    images = sample_images(args.images, args.size)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float().contiguous().to(device)
    ref_images = images[: args.reference_images or args.images]
    names = [DISTORTIONS.canonical(n) for n in args.only] if args.only else DISTORTIONS.list()
    rows = []
    print(f"{'distortion':<20}{'condition':>10}{'ours img/s':>14}{'reference img/s':>18}{'speed-up':>10}")
    for name in names:
        level = LEVELS[name]
        if name == "power-equalisation" and args.size != 224:
            print(f"{name:<20}{level:>10}   skipped: the reference spectrum is 224 x 224")
            continue
        ours = args.images / time_ours(x, name, level, args.repeats)
        fn = reference_fn(name, DISTORTIONS.get(name).level(level), args.size)
        theirs = len(ref_images) / time_reference(ref_images, fn, args.repeats)
        rows.append({"distortion": name, "condition": level, "ours_images_per_s": ours, "reference_images_per_s": theirs})
        print(f"{name:<20}{level:>10}{ours:>14.1f}{theirs:>18.1f}{ours / theirs:>9.1f}x")
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "numpy": np.__version__,
                "python": platform.python_version(),
                "device": str(device),
                "threads": torch.get_num_threads(),
                "images": args.images,
                "reference_images": len(ref_images),
                "size": args.size,
                "dtype": {"ours": "float32", "reference": "float64"},
                "results": rows,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
