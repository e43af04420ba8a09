"""Generation speed of the built-in ShapeTexture benchmark.

Times, in one process: rendering a whole split into the memory cache (batched), rendering
single items on access (``cache="none"``, what a DataLoader worker does), reloading the split
from its ``.pt`` disk cache, and, as a yardstick, decoding the same images from PNG files
through :class:`~stylebias.datasets.ImageFolderDataset` (what a real image folder costs).

    python benchmarks/datasets.py                  # 10k images at 32 px, 2.5k at 64 px
    python benchmarks/datasets.py --n 20000 --sizes 32

Prints a table and a JSON record (torch version, threads, machine, sizes, images/s).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import torch

from stylebias.datasets import ImageFolderDataset, ShapeTexture
from stylebias.io import save_image


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def bench(size: int, n: int, single: int, png: int) -> dict:
    per_class = max(1, n // 40)  # 10 classes x 4 domains
    kwargs = {"n_per_class": per_class, "image_size": size}
    ShapeTexture("train", n_per_class=1, image_size=size)  # warm-up: the shape atlas
    ds, t_render = timed(lambda: ShapeTexture("train", **kwargs))
    lazy = ShapeTexture("train", cache="none", **kwargs)
    _, t_item = timed(lambda: [lazy[i] for i in range(single)])
    with tempfile.TemporaryDirectory() as tmp:
        ShapeTexture("train", cache_dir=tmp, **kwargs)
        _, t_reload = timed(lambda: ShapeTexture("train", cache_dir=tmp, **kwargs))
        root = Path(tmp) / "png"
        for i in range(png):
            save_image(ds[i][0], root / ShapeTexture.CLASSES[i % 10] / f"{i}.png")
        folder = ImageFolderDataset(root)
        _, t_png = timed(lambda: [folder[i] for i in range(len(folder))])
    return {
        "image_size": size, "images": len(ds),
        "render_batched_img_per_s": len(ds) / t_render,
        "render_batched_s": t_render,
        "render_single_item_img_per_s": single / t_item,
        "reload_disk_cache_img_per_s": len(ds) / t_reload,
        "png_folder_decode_img_per_s": png / t_png,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000, help="images at 32 px (a quarter at 64)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--single", type=int, default=300, help="items rendered one by one")
    parser.add_argument("--png", type=int, default=500, help="images decoded from PNG files")
    args = parser.parse_args()
    rows = [bench(s, args.n if s <= 32 else args.n // 4, args.single, args.png) for s in args.sizes]
    print(f"{'size':>5} {'images':>7} {'batched img/s':>14} {'time s':>7} {'1-item img/s':>13} "
          f"{'reload img/s':>13} {'PNG img/s':>10}")
    for r in rows:
        print(f"{r['image_size']:>5} {r['images']:>7} {r['render_batched_img_per_s']:>14.0f} "
              f"{r['render_batched_s']:>7.2f} {r['render_single_item_img_per_s']:>13.0f} "
              f"{r['reload_disk_cache_img_per_s']:>13.0f} {r['png_folder_decode_img_per_s']:>10.0f}")
    record = {"benchmark": "datasets.shape_texture", "torch": torch.__version__,
              "threads": torch.get_num_threads(), "machine": platform.machine(),
              "processor": platform.processor() or platform.platform(), "results": rows}
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
