"""Is `stylebias benchmark` bound by the model's forward pass? The 17-dataset evaluation of one
model against model-vs-human's own evaluation loop and against the pure forward time.

Generates stand-ins for the 17 model-vs-human datasets in their exact layouts (random-pixel PNGs,
``--per-condition`` images per condition, about 400 images at the default of 4; human raw data
alongside; see ``tests/humanlike/standins.py``), then times, with one randomly initialised
torchvision model and the same images:

* forward: the model alone on ready ``(B, 3, S, S)`` batches, as many images as all datasets hold;
* decode: the DataLoader pass alone (PNG decoding, uint8 stacking), no model;
* stylebias: ``stylebias.humanlike.run_benchmark`` end to end (listing and parsing the files,
  decoding, forward, 16-class decisions, raw-data CSVs, identity files, metrics against the
  humans, results.json and report.md), ``resume=False``;
* model-vs-human: its loop re-expressed (``ModelEvaluator._pytorch_evaluator``: per dataset an
  ``ImageFolder`` with ``ToTensor`` + ``Normalize`` in a DataLoader of its default batch size 16
  and 4 workers, ``softmax`` to numpy, ``ImageNetProbabilitiesTo16ClassesMapping`` in numpy, one
  ``ResultPrinter`` CSV row per image, the file opened for each row).

Prints where the time goes and the ratios total/forward (target <= 1.1) and model-vs-human/total;
on a shared machine the figures swing with other people's load (best of ``--repeats`` counts),
so take them on a quiet machine. Run from the repository root:

    python benchmarks/humanlike_benchmark.py --arch resnet50 --per-condition 4 --repeats 3
    python benchmarks/humanlike_benchmark.py --arch resnet18 --per-condition 1 --size 32 --repeats 1   # tiny check
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torchvision
from torchvision import transforms
from torchvision.datasets import ImageFolder

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.humanlike.standins

from stylebias.humanlike import BENCHMARK_DATASETS, FOLDER_DATASETS, list_benchmark_images, run_benchmark  # noqa: E402
from stylebias.image_files import ImageFiles, image_loader, read_image  # noqa: E402
from stylebias.models import load_model  # noqa: E402
from stylebias.runtime import default_num_workers  # noqa: E402
from stylebias.shapebias import CATEGORIES, imagenet_indices  # noqa: E402
from tests.humanlike.standins import write_standins  # noqa: E402


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def forward_only(net: torch.nn.Module, n: int, batch_size: int, size: int, device: torch.device) -> None:
    x = torch.rand(batch_size, 3, size, size, generator=torch.Generator().manual_seed(0)).to(device)
    x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        for start in range(0, n, batch_size):
            net(x[: min(batch_size, n - start)])
    if device.type == "cuda":
        torch.cuda.synchronize()


def decode_only(paths: list[Path], batch_size: int, workers: int, device: torch.device) -> None:
    files = ImageFiles(paths, partial(read_image, geometry=None, channels_last=True))
    for batch in image_loader(files, batch_size=batch_size, num_workers=workers, device=device):
        batch.checked()


class _ResultPrinter:
    """modelvshuman/evaluation/evaluate.py ResultPrinter (one CSV row per image, file opened per row)."""

    def __init__(self, model_name: str, dataset: str, folder: Path) -> None:
        self.model_name, self.dataset, self.folder = model_name, dataset, folder
        self.sessions: list[int] = []

    def print_batch_to_csv(self, object_response, paths) -> None:
        for response, path in zip(object_response, paths):
            img_name = path.split("/")[-1]
            if self.dataset in FOLDER_DATASETS:  # ImageNetInfoMapping
                session_name, condition, category = "session-1", "NaN", path.split("/")[-2]
            else:  # InfoMappingWithSessions
                session_name, condition, category = path.split("/")[-2], img_name.split("_")[3], img_name.split("_")[4]
            session_num = int(session_name.split("-")[-1])
            if session_num not in self.sessions:
                self.sessions.append(session_num)
                self.csv_file_path = self.folder / f"{self.dataset}_{self.model_name.replace('_', '-')}_{session_name}.csv"
                self.index = 0
                with open(self.csv_file_path, "w") as f:
                    csv.writer(f).writerow(["subj", "session", "trial", "rt", "object_response", "category",
                                            "condition", "imagename"])
            with open(self.csv_file_path, "a") as f:
                csv.writer(f).writerow([self.model_name, str(session_num), str(self.index + 1), "NaN", response[0],
                                        category, condition, img_name])
            self.index += 1


class _PathsFolder(ImageFolder):
    """ImageFolderWithPaths (modelvshuman/datasets/dataloaders.py): items carry their path."""

    def __getitem__(self, index):
        sample, target = super().__getitem__(index)
        return sample, target, self.imgs[index][0]


def model_vs_human_loop(net: torch.nn.Module, data: Path, out: Path, device: torch.device, workers: int) -> None:
    """ModelEvaluator._pytorch_evaluator with print_predictions=True, over the 17 datasets."""
    normalize = transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
    indices = [list(imagenet_indices()[c]) for c in CATEGORIES]
    for dataset in BENCHMARK_DATASETS:
        root = data / dataset if dataset in FOLDER_DATASETS else data / dataset / "dnn"
        folder = _PathsFolder(str(root), transforms.Compose([transforms.ToTensor(), normalize]))
        loader = torch.utils.data.DataLoader(folder, batch_size=16, shuffle=False, num_workers=workers,
                                             pin_memory=device.type == "cuda")
        printer = _ResultPrinter("model", dataset, out)
        with torch.no_grad():
            for images, _, paths in loader:
                softmax = torch.softmax(net(images.to(device)), dim=1).cpu().numpy()
                assert (softmax >= 0.0).all() and (softmax <= 1.0).all()  # DecisionMapping.check_input
                aggregated = np.transpose([np.mean(np.take(softmax, idx, axis=-1), axis=-1) for idx in indices])
                decisions = np.take(CATEGORIES, np.flip(np.argsort(aggregated, axis=-1), axis=-1), axis=-1)
                printer.print_batch_to_csv(decisions, paths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="resnet50")
    parser.add_argument("--per-condition", type=int, default=4, help="images per condition of each stand-in")
    parser.add_argument("--size", type=int, default=224, help="image side in pixels (model-vs-human: 224)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=None, help="stylebias DataLoader workers (default: library's)")
    parser.add_argument("--mvh-workers", type=int, default=4, help="model-vs-human's DataLoader workers (its default 4)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each side; the best counts")
    args = parser.parse_args()
    device = torch.device(args.device)
    workers = default_num_workers(device) if args.workers is None else args.workers

    loaded = load_model(f"torchvision:{args.arch}", pretrained=False, device=device,
                        preprocess={"resize": None, "crop": None})
    loaded.model.to(memory_format=torch.channels_last)
    net = loaded.model.model  # the network under the normalisation: model-vs-human normalises in the loader
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data, humans = write_standins(root / "standins", per_condition=args.per_condition, size=args.size)
        paths = [i.path for d in BENCHMARK_DATASETS for i in list_benchmark_images(data / d, d)]
        n = len(paths)
        forward_only(loaded.model, 2 * args.batch_size, args.batch_size, args.size, device)  # warm-up
        runs: dict[str, list[float]] = {"forward": [], "decode": [], "stylebias": [], "model-vs-human": []}
        for k in range(args.repeats):
            runs["forward"].append(timed(lambda: forward_only(loaded.model, n, args.batch_size, args.size, device)))
            runs["decode"].append(timed(lambda: decode_only(paths, args.batch_size, workers, device)))
            runs["stylebias"].append(timed(lambda: run_benchmark(
                [loaded], "all", data, root / f"out{k}", human_data=humans, batch_size=args.batch_size,
                num_workers=workers, device=device, resume=False)))
            mvh_out = root / f"mvh{k}"
            mvh_out.mkdir()
            runs["model-vs-human"].append(timed(lambda: model_vs_human_loop(net, data, mvh_out, device, args.mvh_workers)))
    best = {name: min(values) for name, values in runs.items()}
    serial = workers == 0
    bookkeeping = best["stylebias"] - best["forward"] - (best["decode"] if serial else 0.0)
    report = {
        "benchmark": "run_benchmark (17 datasets) vs forward vs model-vs-human's loop",
        "arch": args.arch, "pretrained": False, "n_images": n, "image_size": args.size,
        "batch_size": args.batch_size, "num_workers": workers, "mvh_batch_size": 16, "mvh_workers": args.mvh_workers,
        "best_seconds": {k: round(v, 3) for k, v in best.items()},
        "all_seconds": {k: [round(x, 3) for x in v] for k, v in runs.items()},
        "ratio_total_over_forward": round(best["stylebias"] / best["forward"], 3),
        "ratio_model_vs_human_over_stylebias": round(best["model-vs-human"] / best["stylebias"], 3),
        "bookkeeping_seconds": round(bookkeeping, 3),
        "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "torch": torch.__version__, "torchvision": torchvision.__version__, "python": sys.version.split()[0],
        "platform": platform.platform(), "device": str(device),
    }
    print(f"{args.arch} (random init), {n} PNGs of {args.size} px in the 17 layouts, batch {args.batch_size}, "
          f"{workers} worker(s) (model-vs-human: batch 16, {args.mvh_workers} workers), {device}")
    print(f"  best of {args.repeats}        seconds   images/s")
    for name in ("forward", "decode", "stylebias", "model-vs-human"):
        print(f"  {name:<15} {best[name]:9.2f} {n / best[name]:10.1f}")
    where = "decode + forward + rest" if serial else "forward + rest (decoding overlaps in workers)"
    print(f"  stylebias = {where}; rest (files, CSVs, metrics, report) = {bookkeeping:.2f} s")
    print(f"  total / forward          : {report['ratio_total_over_forward']:.3f}   (target <= 1.1)")
    print(f"  model-vs-human / stylebias: {report['ratio_model_vs_human_over_stylebias']:.3f}")
    print(f"  load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores: take the figures on a quiet machine")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
