"""A longer CPU run of `train-decoder --method contrastive`: how each loss term moves.

The unit tests run 10 steps, too few for the contrastive terms; this runs the full recipe on
generated striped images (each its own colour, frequency and angle) with a random VGG of the
published layout at reduced width, and prints each loss's mean over the first and last tenth of
the steps. Nothing is downloaded: with the published VGG and real images the reference trains
160,000 steps.

    python benchmarks/contrastive_training.py --steps 150 --width 16 --batch-size 8
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from stylebias.stylize.network import build_vgg
from stylebias.stylize.train import TrainDecoderConfig, train_decoder


def _pattern(rng: np.random.Generator, size: int) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size] / size
    freq, angle = rng.uniform(1, 6), rng.uniform(0, np.pi)
    stripes = np.sin(2 * np.pi * freq * (np.cos(angle) * xx + np.sin(angle) * yy))
    image = rng.uniform(0.2, 0.8, 3) + 0.3 * stripes[..., None] * rng.uniform(-1, 1, 3)
    image = image + rng.normal(0, 0.03, (size, size, 3))
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


def _data(root: Path, n: int, size: int, width: int) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    for kind in ("content", "style"):
        (root / kind).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(_pattern(rng, size)).save(root / kind / f"{i}.png")
    torch.manual_seed(0)
    vgg = build_vgg(width)
    with torch.no_grad():  # activations O(1) through the random layers
        for m in vgg.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                m.bias.uniform_(-0.1, 0.1)
    torch.save(vgg.state_dict(), root / "vgg.pth")
    return {"content_dir": root / "content", "style_dir": root / "style", "vgg": root / "vgg.pth"}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--width", type=int, default=16, help="VGG width (published: 64)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--lr", type=float, default=5e-4)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = _data(root, args.batch_size, args.size, args.width)
        cfg = TrainDecoderConfig(**files, output_dir=root / "run", method="contrastive", batch_size=args.batch_size,
                                 image_size=args.size, crop=args.size, workers=0, log_every=1, progress=False,
                                 max_iter=args.steps, lr=args.lr, seed=1)
        start = time.perf_counter()
        train_decoder(cfg)
        seconds = time.perf_counter() - start
        rows = [json.loads(line) for line in (root / "run" / "log.jsonl").read_text().splitlines()]
    k = max(3, args.steps // 10)
    print(f"{args.steps} steps of {args.batch_size} at {args.size} px, VGG width {args.width}: {seconds:.0f} s")
    for key in (key for key in rows[0] if key.startswith("loss")):
        first, last = np.mean([r[key] for r in rows[:k]]), np.mean([r[key] for r in rows[-k:]])
        print(f"  {key:26s} first {k}: {first:8.4f}   last {k}: {last:8.4f}   {'falls' if last < first else 'does not fall'}")


if __name__ == "__main__":
    main()
