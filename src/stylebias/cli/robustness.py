"""``stylebias robustness``: a classifier's corruption robustness (ImageNet-C / CIFAR-C)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._common import print_json, write_json
from ._model_args import add_model_arguments, load_models, preprocess_from_args, random_weights_label
from ._options import add_json, add_list, add_output_dir, add_progress, add_workers

NAME = "robustness"
HELP = ("top-1 error per corruption and severity, mCE and relative mCE (ImageNet-C, AlexNet-normalised) "
        "or the mean corruption error (CIFAR-C)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser)
    parser.add_argument("--data", type=Path, required=True, metavar="DIR",
                        help="ImageNet-C layout (<corruption>/<severity>/<class>/<file>), CIFAR-10/100-C .npy "
                             "files, or clean <class>/<file> images to corrupt on the fly (required)")
    parser.add_argument("--layout", choices=("auto", "imagenet-c", "cifar-c", "clean"), default="auto",
                        help="how --data is laid out; auto: detected")
    add_list(parser, "--corruptions", metavar="NAME", help="default: the 15 ImageNet-C corruptions")
    add_list(parser, "--severities", item=int, default=[1, 2, 3, 4, 5], metavar="N", help="severities 1-5")
    parser.add_argument("--clean-dir", type=Path, default=None, metavar="DIR",
                        help="clean <class>/<file> images for the clean error (relative mCE) (default: none)")
    parser.add_argument("--clean-error", type=float, default=None, metavar="FRACTION",
                        help="the model's clean top-1 error, if known (e.g. 0.2387) (default: unknown)")
    parser.add_argument("--normalise", action=argparse.BooleanOptionalAction, default=True,
                        help="normalise by AlexNet's errors (mCE); --no-normalise reports the mean error only")
    parser.add_argument("--params", choices=("auto", "imagenet", "cifar"), default="auto",
                        help="corruption parameters when corrupting on the fly")
    parser.add_argument("--seed", type=int, default=0, help="seed of the on-the-fly corruptions")
    parser.add_argument("--frost-dir", type=Path, default=None, metavar="DIR",
                        help="folder with frost1.png ... frost5.jpg (default: $STYLEBIAS_FROST_DIR, else the packaged images)")
    parser.add_argument("--limit", type=int, default=None,
                        help="at most this many images per corruption/severity (default: all)")
    parser.add_argument("--class-map", type=Path, default=None, metavar="FILE.json",
                        help='class folder -> model output index, as {"folder": index, ...} or a list of folder '
                             "names in output order (default: integer folders are indices, ImageNet wnids map to "
                             "a 1000-way model's classes, else sorted folders must match the model's outputs)")
    parser.add_argument("--batch-size", type=int, default=64, help="images per forward pass")
    add_workers(parser, None, help="DataLoader workers (default: spare cores)")
    add_output_dir(parser, "robustness_output", help="folder for robustness.json and robustness.png")
    parser.add_argument("--plot", action=argparse.BooleanOptionalAction, default=True,
                        help="draw the bar plot robustness.png in the output folder")
    add_progress(parser)
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    from ..corruptions import evaluate_robustness, plot_robustness

    (loaded,) = load_models([args.model], args, preprocess_from_args(args))
    result = evaluate_robustness(
        loaded, args.data, layout=args.layout, corruptions=args.corruptions, severities=args.severities,
        clean_dir=args.clean_dir, clean_error=args.clean_error,
        baseline="auto" if args.normalise else None, params=args.params, seed=args.seed,
        batch_size=args.batch_size, num_workers=args.workers, device=args.device,
        frost_dir=args.frost_dir, limit=args.limit, class_map=args.class_map, progress=args.progress,
    )
    row = {**result.to_dict(), **random_weights_label(args.pretrained)}
    write_json(row, args.output_dir / "robustness.json")
    plot = None
    if args.plot:
        try:
            plot = plot_robustness(result, args.output_dir / "robustness.png")
        except ImportError:
            print("matplotlib is not installed: no plot (pip install matplotlib)")
    if args.json:
        print_json(row)
        return 0
    _print_table(row)
    print(f"results written to {args.output_dir / 'robustness.json'}" + (f" and {plot}" if plot else ""))
    return 0


def _pct(value: float | None) -> str:
    return "   n/a" if value is None else f"{value:6.1f}"


def _print_table(row: dict[str, Any]) -> None:
    levels = sorted({s for errs in row["errors"].values() for s in errs})
    print(f"{row['model']} on {row['data']} ({row['layout']}), top-1 error %:")
    print(f"{'corruption':<18}" + "".join(f" {'s' + str(s):>6}" for s in levels) + f" {'mean':>6} {'CE':>6} {'relCE':>6}")
    for name, errs in row["errors"].items():
        mean = 100 * sum(errs.values()) / len(errs)
        cells = "".join(f" {_pct(100 * errs[s]) if s in errs else '     -':>6}" for s in levels)
        print(f"{name:<18}{cells} {_pct(mean)} {_pct(row['ce'].get(name))} {_pct(row['relative_ce'].get(name))}")
    clean = None if row["clean_error"] is None else 100 * row["clean_error"]
    print(f"\nclean error {_pct(clean).strip()}%  mean corruption error {_pct(row['mean_error']).strip()}%  "
          f"mCE {_pct(row['mce']).strip()}  relative mCE {_pct(row['relative_mce']).strip()}")
