"""Is `stylebias shape-bias` bound by the model's compute? Full evaluation vs pure forward.

Generates N 224-px PNG cue-conflict stimuli (16 folders, published naming), then measures in
one process, with a randomly initialised torchvision ResNet-50 and the same batch size:

* forward: the model alone on a ready (B, 3, 224, 224) tensor, inference_mode, channels_last;
* evaluate: ``stylebias.shapebias.evaluate`` end to end (listing and checking files, PNG
  decoding, resize 256 + crop 224 in DataLoader workers, forward, 16-class decisions).

ratio = evaluate images/s / forward images/s; close to 1 means decoding and Python overhead do
not matter. On a shared machine wall-clock times swing with other people's load, so each side
runs ``--repeats`` times alternately and the best run counts; CPU seconds per image (this
process and its DataLoader workers) are reported too, as a load-independent cost measure.
Prints a table and one JSON line.

    python benchmarks/shapebias.py --n 1280 --batch-size 32 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torchvision
from PIL import Image

from stylebias.models import load_model
from stylebias.shapebias import CATEGORIES, evaluate
from stylebias.runtime import default_num_workers


def make_stimuli(root: Path, n: int, seed: int = 0) -> None:
    """N textured 224-px PNGs (about the size of the published ones) in 16 category folders."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        shape = CATEGORIES[i % 16]
        texture = CATEGORIES[(i // 16 + 1 + i) % 16]
        coarse = rng.integers(0, 256, (28, 28, 3), dtype=np.uint8)
        img = np.asarray(Image.fromarray(coarse).resize((224, 224), Image.Resampling.BICUBIC), dtype=np.int16)
        img = np.clip(img + rng.integers(-12, 13, img.shape), 0, 255).astype(np.uint8)
        path = root / shape / f"{shape}{i}-{texture}{i % 10 + 1}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(path)


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (DataLoader workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def measure(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of ``fn()``."""
    c0, t0 = cpu_seconds(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, cpu_seconds() - c0


def forward_only(model: torch.nn.Module, n: int, batch_size: int, channels_last: bool) -> None:
    """The model alone on random [0, 1] batches, n images in all."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.rand(batch_size, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    x = x.contiguous(memory_format=fmt)
    with torch.inference_mode():
        done = 0
        while done < n:
            b = min(batch_size, n - done)
            model(x[:b])
            done += b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1280, help="number of stimuli (1280 = the published set)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: library default)")
    parser.add_argument("--arch", default="resnet50")
    parser.add_argument("--no-channels-last", action="store_true")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each side; the best counts")
    args = parser.parse_args()
    channels_last = not args.no_channels_last
    workers = default_num_workers("cpu") if args.workers is None else args.workers

    loaded = load_model(f"torchvision:{args.arch}", pretrained=False)
    if channels_last:
        loaded.model.to(memory_format=torch.channels_last)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "cue-conflict"
        t0 = time.perf_counter()
        make_stimuli(root, args.n)
        gen_s = time.perf_counter() - t0
        size_kb = sum(p.stat().st_size for p in root.rglob("*.png")) / args.n / 1024

        with torch.inference_mode():  # warm-up (oneDNN kernel selection), not timed
            loaded.model(torch.rand(2, 3, 224, 224).contiguous(
                memory_format=torch.channels_last if channels_last else torch.contiguous_format))
        fwd, ev, result = [], [], None
        for _ in range(args.repeats):
            fwd.append(measure(lambda: forward_only(loaded.model, args.n, args.batch_size, channels_last)))
            holder = {}
            ev.append(measure(lambda: holder.setdefault("r", evaluate(
                loaded, root, batch_size=args.batch_size, num_workers=workers,
                channels_last=channels_last, complete=False))))
            result = holder["r"]
    fwd_wall, fwd_cpu = min(w for w, _ in fwd), min(c for _, c in fwd)
    eval_wall, eval_cpu = min(w for w, _ in ev), min(c for _, c in ev)
    forward_ips, eval_ips = args.n / fwd_wall, args.n / eval_wall
    eval_s = eval_wall
    report = {
        "benchmark": "shapebias.evaluate vs forward",
        "arch": args.arch,
        "pretrained": False,
        "n_images": args.n,
        "image_size": 224,
        "mean_png_kb": round(size_kb, 1),
        "batch_size": args.batch_size,
        "num_workers": workers,
        "channels_last": channels_last,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "forward_images_per_s": round(forward_ips, 2),
        "evaluate_images_per_s": round(eval_ips, 2),
        "ratio_evaluate_over_forward": round(eval_ips / forward_ips, 3),
        "forward_cpu_ms_per_image": round(1000 * fwd_cpu / args.n, 1),
        "evaluate_cpu_ms_per_image": round(1000 * eval_cpu / args.n, 1),
        "cpu_cost_ratio_forward_over_evaluate": round(fwd_cpu / eval_cpu, 3),
        "repeats": args.repeats,
        "all_wall_seconds": {"forward": [round(w, 1) for w, _ in fwd], "evaluate": [round(w, 1) for w, _ in ev]},
        "load_average_1min": round(os.getloadavg()[0], 2),
        "evaluate_seconds": round(eval_s, 1),
        "stimuli_generation_seconds": round(gen_s, 1),
        "n_conflict_trials": result.n,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "device": "cpu",
    }
    print(f"{args.arch} (random init), {args.n} PNG stimuli of 224 px (~{size_kb:.0f} KB), batch "
          f"{args.batch_size}, {workers} worker(s), channels_last={channels_last}, "
          f"{torch.get_num_threads()} torch threads")
    print(f"  best of {args.repeats}      images/s   CPU ms/image")
    print(f"  forward only : {forward_ips:8.2f}   {1000 * fwd_cpu / args.n:10.1f}")
    print(f"  evaluate     : {eval_ips:8.2f}   {1000 * eval_cpu / args.n:10.1f}   ({eval_s:.1f} s for {args.n} images)")
    print(f"  ratio        : {eval_ips / forward_ips:8.3f}   {fwd_cpu / eval_cpu:10.3f}   (1.0 = bound by the model)")
    print(f"  load average : {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
