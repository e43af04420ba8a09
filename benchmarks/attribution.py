"""Time IBA heatmaps and the style-reliance probe against what they must cost at least.

IBA: stylebias fits a batch of images at once; the reference (BioroboticsLab/IBA's
``PerSampleBottleneck.heatmap``, re-expressed in ``tests/attribution/reference.py``) fits one
image at a time. Both run the paper's settings (10 steps, 10 noise samples) on the same
torchvision model with random weights, interleaved, and the figure is heatmaps per second.
The floor is the 10 forward passes over 10 copies of each image, without gradients; IBA
adds one backward pass to ``alpha`` per step (no weight gradients), so about 2-3x the floor is
the compute it needs.

Probe: ``style_reliance`` over S stages needs one clean forward pass plus one per stage for each
batch; its time is compared with exactly those plain forward passes.

    PYTHONPATH=src python benchmarks/attribution.py --arch resnet18 --images 8 --size 224

Prints a table and, last, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch
import torchvision

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests/attribution/reference.py
from tests.attribution import reference as ref  # noqa: E402

from stylebias.attribution import estimate_feature_stats, iba  # noqa: E402
from stylebias.probe import default_stages, style_reliance  # noqa: E402


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = torchvision.models.get_model(args.arch, num_classes=1000).eval()
    x = torch.rand(args.images, 3, args.size, args.size, generator=torch.Generator().manual_seed(1))
    stats = estimate_feature_stats(model, "layer2", [x])
    targets = model(x).argmax(1)
    head = torch.nn.Sequential(model.conv1, model.bn1, model.relu, model.maxpool, model.layer1, model.layer2)
    tail = torch.nn.Sequential(model.layer3, model.layer4, model.avgpool, torch.nn.Flatten(), model.fc)

    def ours():
        iba(model, x, "layer2", stats, target=targets, generator=[torch.Generator().manual_seed(i) for i in range(len(x))])

    def reference():
        for i in range(len(x)):
            ref.heatmap(head, tail, x[i:i + 1], int(targets[i]), stats.mean, stats.std, stats.active,
                        generator=torch.Generator().manual_seed(i))

    def floor():  # the 10 forward passes over the 10 noisy copies of each image, without gradients
        batch = x.repeat_interleave(10, 0)
        with torch.no_grad():
            for _ in range(10):
                model(batch)

    t_ours, t_ref, t_floor = (best(f, args.repeats) for f in (ours, reference, floor))
    stages = default_stages(model)
    pairs = torch.Generator()

    def probe():
        style_reliance(model, [x], stages, generator=pairs.manual_seed(0))

    def plain():
        with torch.no_grad():
            for _ in range(1 + len(stages)):
                model(x)

    t_probe, t_plain = best(probe, args.repeats), best(plain, args.repeats)
    n = args.images
    rows = [
        ("IBA heatmaps/s, stylebias (batched)", n / t_ours),
        ("IBA heatmaps/s, reference (one image at a time)", n / t_ref),
        ("IBA speed-up over the reference", t_ref / t_ours),
        ("IBA time / its 10 forward passes over 10 copies", t_ours / t_floor),
        (f"probe time / {1 + len(stages)} plain forward passes", t_probe / t_plain),
    ]
    for name, value in rows:
        print(f"{name:<52} {value:8.2f}")
    print(json.dumps({"torch": torch.__version__, "machine": platform.machine(), "threads": torch.get_num_threads(),
                      "arch": args.arch, "images": n, "size": args.size, "stages": stages,
                      "iba_s": t_ours, "reference_s": t_ref, "floor_s": t_floor, "probe_s": t_probe, "plain_s": t_plain}))


if __name__ == "__main__":
    main()
