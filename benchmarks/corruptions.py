"""Time the 15-corruption x 5-severity ImageNet-C sweep: stylebias vs the reference package.

The reference is ``imagecorruptions`` (here the maintained fork ``imagecorruptions-imaug``),
which corrupts one uint8 NumPy image at a time on the CPU. The fork compiles glass blur's pixel
loop with numba; ``--python-glass`` runs that loop as plain Python, as ``imagecorruptions``
1.1.2 (the PyPI release, which no longer runs on current NumPy / scikit-image) does. stylebias corrupts the whole batch
of float tensors at once. Both get the same images (scikit-image's sample photos when
scikit-image is installed, else smooth random images), and a warm-up call per corruption
(numba compiles the reference's glass blur on first use).

    PYTHONPATH=src python benchmarks/corruptions.py --images 8 --size 224 [--device cuda]

Prints a table and, last, one JSON object (torch version, device, shapes, seconds, ratios).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np
import torch

from stylebias.corruptions import BENCHMARK_CORRUPTIONS, corrupt


def sample_images(n: int, size: int) -> np.ndarray:
    """``(n, size, size, 3)`` uint8 photos (skimage.data) or smooth random images."""
    try:
        import skimage.data as data
        from PIL import Image

        photos = []
        names = ["astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "cat"]
        for i in range(n):
            im = Image.fromarray(getattr(data, names[i % len(names)])())
            w, h = im.size
            s = min(w, h)
            im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
            photos.append(np.asarray(im.resize((size, size), Image.BICUBIC).convert("RGB")))
        return np.stack(photos)
    except ImportError:
        g = torch.Generator().manual_seed(0)
        low = torch.rand(n, 3, size // 16, size // 16, generator=g)
        x = torch.nn.functional.interpolate(low, size=(size, size), mode="bicubic").clamp(0, 1)
        return (x.permute(0, 2, 3, 1) * 255).round().to(torch.uint8).numpy()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=8, help="batch size")
    parser.add_argument("--size", type=int, default=224, help="image side in pixels")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--corruptions", default=",".join(BENCHMARK_CORRUPTIONS))
    parser.add_argument("--no-reference", action="store_true", help="time stylebias only")
    parser.add_argument("--python-glass", action="store_true",
                        help="reference glass blur without numba, as imagecorruptions 1.1.2")
    parser.add_argument(
        "--threads", type=int, default=1,
        help="torch CPU threads (default 1: the reference runs on one core too)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    device = torch.device(args.device)
    names = [n.strip() for n in args.corruptions.split(",") if n.strip()]
    photos = sample_images(args.images, args.size)
    x = torch.from_numpy(photos).permute(0, 3, 1, 2).float().div(255).to(device)
    gen = torch.Generator(device=device).manual_seed(0)

    reference = None
    if not args.no_reference:
        try:
            import imagecorruptions as reference  # type: ignore[no-redef]
        except ImportError:
            print("imagecorruptions is not installed: timing stylebias only", file=sys.stderr)
    if reference is not None:
        np.random.seed(0)  # the reference draws from NumPy's global generator
        if args.python_glass:
            module = reference.corruptions
            loop = getattr(module._shuffle_pixels_njit_glass_blur, "py_func", None)
            if loop is not None:  # numba's seeds may exceed NumPy's 32-bit range

                def python_loop(d0, d1, x, c, seed=None, _loop=loop):
                    return _loop(d0, d1, x, c, None if seed is None else int(seed) % 2**32)

                module._shuffle_pixels_njit_glass_blur = python_loop

    rows = []
    for name in names:
        corrupt(x[:1], name, 1, gen)  # warm-up
        sync(device)
        start = time.perf_counter()
        for severity in range(1, 6):
            corrupt(x, name, severity, gen)
        sync(device)
        ours = time.perf_counter() - start
        ref = None
        if reference is not None:
            reference.corrupt(photos[0], corruption_name=name, severity=1)  # warm-up (numba)
            start = time.perf_counter()
            for severity in range(1, 6):
                for photo in photos:
                    reference.corrupt(photo, corruption_name=name, severity=severity)
            ref = time.perf_counter() - start
        rows.append({"corruption": name, "stylebias_s": ours, "reference_s": ref,
                     "speedup": None if ref is None else ref / ours})
        speed = "" if ref is None else f"{ref:9.2f} s {ref / ours:8.1f}x"
        print(f"{name:18s} {ours:9.3f} s {speed}", flush=True)

    total_ours = sum(r["stylebias_s"] for r in rows)
    total_ref = None if reference is None else sum(r["reference_s"] for r in rows)
    speed = "" if total_ref is None else f"{total_ref:9.2f} s {total_ref / total_ours:8.1f}x"
    print(f"{'TOTAL':18s} {total_ours:9.3f} s {speed}")
    print(json.dumps({
        "benchmark": "corruption sweep (corruptions x severities 1-5)",
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "device": str(device) if device.type != "cuda" else torch.cuda.get_device_name(device),
        "cpu_threads": torch.get_num_threads(),
        "batch_shape": list(x.shape),
        "reference": None if reference is None else (
            "imagecorruptions (one image at a time)"
            + (", glass blur in plain Python as in 1.1.2" if args.python_glass else "")
        ),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "stylebias_total_s": total_ours,
        "reference_total_s": total_ref,
        "speedup": None if total_ref is None else total_ref / total_ours,
        "per_corruption": rows,
    }, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
