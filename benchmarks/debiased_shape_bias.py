"""Shape bias after ERM and after shape-texture debiased training, at the same step budget.

Trains the built-in ShapeTexture benchmark's small ResNet with ERM and with the ``debiased``
method, seed by seed, and reports the cue-conflict shape bias and the validation accuracy of
each. The stylizer is AdaIN in pixel space (``stylebias.functional.adain`` on the RGB
channels: the partner's colour statistics), so nothing is downloaded; with real weights pass
``--stylizer adain --vgg FILE --decoder FILE``.

    python benchmarks/debiased_shape_bias.py                        # 150 steps, seeds 0 1 2
    python benchmarks/debiased_shape_bias.py --steps 5 --seeds 0    # a smoke run

Prints one line per run and a JSON record (torch version, device, settings, results).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch

from stylebias.functional import adain
from stylebias.models import build_classifier
from stylebias.training import create_method, load_config
from stylebias.training.data import BatchStream, seed_for
from stylebias.training.datasets import build_data
from stylebias.training.evaluate import accuracy, cue_conflict_shape_bias
from stylebias.training.hparams import default_hparams


def run(method: str, seed: int, data, args, device: torch.device) -> dict:
    torch.manual_seed(seed_for(seed, "init"))
    net = build_classifier("small_resnet", data.num_classes, width=args.width)
    hp = {**default_hparams(method), "lr": args.lr}
    if method == "debiased":
        hp.update(style_alpha=args.alpha, label_gamma=args.gamma, stylizer=adain if args.stylizer == "pixel" else args.stylizer,
                  stylizer_vgg=args.vgg, stylizer_decoder=args.decoder)
    trainer = create_method(method, net, hp, generator=torch.Generator().manual_seed(seed_for(seed, "layers")))
    trainer.to(device)
    trainer.configure_optimizer()
    trainer.train()
    stream = BatchStream(data.train, args.batch_size, seed_for(seed, "data"))
    start = time.perf_counter()
    for _ in range(args.steps):
        logs = trainer.update(tuple(t.to(device) for t in next(stream)))
    seconds = time.perf_counter() - start
    trainer.eval()
    bias = cue_conflict_shape_bias(trainer.predict, data.cue_conflict, device, data.class_names)["shape_bias"]
    return {"method": method, "seed": seed, "shape_bias": bias, "val_acc": accuracy(trainer.predict, data.val, device),
            "final_loss": logs["loss"], "train_seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--alpha", type=float, default=1.0, help="style_alpha (the reference's default is 0.5)")
    parser.add_argument("--gamma", type=float, default=0.8, help="label_gamma")
    parser.add_argument("--stylizer", default="pixel", help="'pixel' (AdaIN on RGB), or adain/efdm with --vgg/--decoder")
    parser.add_argument("--vgg")
    parser.add_argument("--decoder")
    parser.add_argument("--data", default="shapes:n_per_class=20,cue_per_class=10,test_per_class=6")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    data = build_data(load_config(data=args.data, image_size=32))
    results = []
    for seed in args.seeds:
        for method in ("erm", "debiased"):
            results.append(run(method, seed, data, args, device))
            r = results[-1]
            print(f"{method:9s} seed {seed}: shape bias {r['shape_bias']:.3f}, val acc {r['val_acc']:.3f}, "
                  f"{r['train_seconds']:.1f} s", flush=True)
    mean = {m: statistics.mean(r["shape_bias"] for r in results if r["method"] == m) for m in ("erm", "debiased")}
    record = {"torch": torch.__version__, "python": platform.python_version(), "device": str(device),
              "threads": torch.get_num_threads(), "settings": vars(args), "results": results, "mean_shape_bias": mean}
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
