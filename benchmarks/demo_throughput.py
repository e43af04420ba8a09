"""Training throughput of the demo: the old path against the new one, side by side.

The old quick demo trained one run after another in one process with two threads, fp32,
32-px images, and read each batch item by item through a DataLoader. The new one trains in
two processes of one thread each, with bf16 autocast, 16-px images, and batches gathered whole
from the rendered tensors. This script times ERM training steps (SmallResNet, batch 32) under
each change alone and under all of them, in one invocation, and prints images/s and the ratio
to the old path. With two processes both train at once and their rates add up.

    python benchmarks/demo_throughput.py                 # 60 timed steps per variant
    python benchmarks/demo_throughput.py --steps 5 --warmup 1    # a quick check that it runs

Absolute figures need a quiet machine (nothing else running); on a shared one only the ratios
mean something, and even they are noisy. Prints a table and a JSON record.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import time
from dataclasses import asdict, dataclass, replace

import torch
from torch.utils.data import Subset

from stylebias.datasets import ShapeTexture
from stylebias.models import build_classifier
from stylebias.training import create_method, default_hparams
from stylebias.training.data import BatchStream


@dataclass(frozen=True)
class Variant:
    name: str
    image_size: int = 32
    amp: bool = False
    gather: bool = False  # whole batches from the rendered tensors, not item by item
    processes: int = 1
    threads: int = 2  # torch threads per process


OLD = Variant("old path (1 process x 2 threads, fp32, 32 px, item-wise batches)")
NEW = Variant("new path (2 processes x 1 thread, bf16, 16 px, gathered batches)", 16, True, True, 2, 1)
VARIANTS = (
    OLD,
    replace(OLD, name="+ gathered batches", gather=True),
    replace(OLD, name="+ bf16 autocast", amp=True),
    replace(OLD, name="2 processes x 1 thread", processes=2, threads=1),
    replace(OLD, name="1 process x 1 thread", threads=1),
    replace(OLD, name="+ 16 px images", image_size=16),
    NEW,
)


def images_per_second(variant: Variant, steps: int, warmup: int, batch_size: int = 32) -> float:
    """ERM training images/s of one process running ``variant``."""
    torch.set_num_threads(variant.threads)
    data = ShapeTexture("train", ("photo", "cartoon", "painting"), n_per_class=100,
                        image_size=variant.image_size, texture_correlation=1.0)
    dataset = data if variant.gather else Subset(data, range(len(data)))  # a Subset has no gather()
    stream = BatchStream(dataset, batch_size, seed=0)
    torch.manual_seed(0)
    method = create_method("erm", build_classifier("small_resnet", 10), default_hparams("erm"),
                           amp_dtype=torch.bfloat16 if variant.amp else None)
    method.configure_optimizer()
    method.train()
    for _ in range(warmup):
        method.update(tuple(next(stream)))
    start = time.perf_counter()
    for _ in range(steps):
        method.update(tuple(next(stream)))
    return steps * batch_size / (time.perf_counter() - start)


def _worker(job: tuple[Variant, int, int]) -> float:
    return images_per_second(*job)


def measure(variant: Variant, steps: int, warmup: int) -> float:
    """Total images/s of the variant (its processes train at the same time)."""
    if variant.processes == 1:
        return images_per_second(variant, steps, warmup)
    with multiprocessing.get_context("spawn").Pool(variant.processes) as pool:
        return sum(pool.map(_worker, [(variant, steps, warmup)] * variant.processes))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=60, help="timed steps per process and variant")
    p.add_argument("--warmup", type=int, default=5)
    args = p.parse_args()
    threads_before = torch.get_num_threads()
    rows = []
    for variant in VARIANTS:
        rate = measure(variant, args.steps, args.warmup)
        rows.append({**asdict(variant), "images_per_s": rate})
    old = rows[0]["images_per_s"]
    print(f"{'variant':<68} {'img/s':>8} {'x old':>7}")
    for row in rows:
        row["ratio_to_old"] = row["images_per_s"] / old
        print(f"{row['name']:<68} {row['images_per_s']:8.1f} {row['ratio_to_old']:7.2f}")
    print(f"new / old: {rows[-1]['ratio_to_old']:.2f}x (absolute images/s need a quiet machine)")
    print(json.dumps({"torch": torch.__version__, "machine": platform.machine(), "processor": platform.processor(),
                      "cpu_threads_available": threads_before, "steps": args.steps, "warmup": args.warmup,
                      "batch_size": 32, "variants": rows}))


if __name__ == "__main__":
    main()
