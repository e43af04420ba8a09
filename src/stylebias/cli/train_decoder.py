"""``stylebias train-decoder``: train an AdaIN/EFDM decoder with the published recipe."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from ..stylize.stylizer import METHODS
from ..stylize.train import TrainDecoderConfig, train_decoder
from ._common import print_json
from .stylize import config_from_args

NAME = "train-decoder"
HELP = "train a style-transfer decoder (AdaIN recipe: relu4_1 content loss, mean/std style loss)"

_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrainDecoderConfig)}
_NUMBERS = {"lr": float, "lr_decay": float, "max_iter": int, "batch_size": int,
            "content_weight": float, "style_weight": float, "image_size": int, "crop": int,
            "save_every": int, "log_every": int, "workers": int, "seed": int,
            "max_pixels": int}  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--content-dir", type=Path, required=True, help="content images (e.g. MS-COCO)")
    add("--style-dir", type=Path, required=True, help="style images (e.g. WikiArt)")
    add("--output-dir", type=Path, required=True, help="checkpoints, decoders and log")
    add("--vgg", type=Path, default=None, help="vgg_normalised.pth (default: the published one)")
    add("--decoder", type=Path, default=None, help="decoder to start from (default: random)")
    add("--method", choices=METHODS, default=_DEFAULTS["method"])
    for name, kind in _NUMBERS.items():
        add(f"--{name.replace('_', '-')}", type=kind, default=_DEFAULTS[name])
    add("--device", default=_DEFAULTS["device"])
    add("--extensions", nargs="+", default=list(_DEFAULTS["extensions"]))
    add("--no-resume", action="store_true", help="start over even if a checkpoint exists")
    add("--json", action="store_true", help="print the summary as JSON")


def run(args: argparse.Namespace) -> int:
    summary = train_decoder(config_from_args(TrainDecoderConfig, args, resume=not args.no_resume))
    if args.json:
        print_json(summary)
    else:
        print(f"trained to iteration {summary['iterations']} (from {summary['resumed_from']}) in "
              f"{summary['seconds']:.1f} s: loss_content {summary['loss_content']:.4f}, "
              f"loss_style {summary['loss_style']:.4f}")
        print(f"decoder: {summary['decoder']}")
    return 0
