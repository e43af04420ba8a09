"""``stylebias train-decoder``: train an AdaIN/EFDM decoder with the published recipe."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from ..stylize.stylizer import METHODS
from ..stylize.train import TrainDecoderConfig, train_decoder
from ._common import print_json
from ._options import add_device, add_json, add_list, add_output_dir, add_resume, add_workers
from .stylize import config_from_args

NAME = "train-decoder"
HELP = "train a style-transfer decoder (AdaIN recipe: relu4_1 content loss, mean/std style loss)"

_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrainDecoderConfig)}
_NUMBERS = {"lr": float, "lr_decay": float, "max_iter": int, "batch_size": int,
            "content_weight": float, "style_weight": float, "image_size": int, "crop": int,
            "save_every": int, "log_every": int, "seed": int, "max_pixels": int}  # fmt: skip
_HELP = {"lr": "Adam learning rate", "lr_decay": "lr_i = lr / (1 + lr_decay * i)", "max_iter": "training iterations",
         "batch_size": "images per step", "content_weight": "weight of the content loss",
         "style_weight": "weight of the style loss", "image_size": "shorter side images are resized to",
         "crop": "random crop side", "save_every": "iterations between checkpoints",
         "log_every": "iterations between log lines", "seed": "seed of data order and init",
         "max_pixels": "larger images are downscaled to this many pixels"}  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--content-dir", type=Path, required=True, metavar="DIR", help="content images (e.g. MS-COCO) (required)")
    add("--style-dir", type=Path, required=True, metavar="DIR", help="style images (e.g. WikiArt) (required)")
    add_output_dir(parser, None, required=True, help="checkpoints, decoders and log (required)")
    add("--vgg", type=Path, default=None, help="vgg_normalised.pth (default: the published one)")
    add("--decoder", type=Path, default=None, help="decoder to start from (default: random)")
    add("--method", choices=METHODS, default=_DEFAULTS["method"], help="style transfer the decoder serves")
    for name, kind in _NUMBERS.items():
        add(f"--{name.replace('_', '-')}", type=kind, default=_DEFAULTS[name], help=_HELP[name])
    add_workers(parser, _DEFAULTS["workers"], help="image decoding processes")
    add_device(parser)
    add_list(parser, "--extensions", default=_DEFAULTS["extensions"], metavar="SUFFIX",
             help="file suffixes to use, case-insensitive")
    add_resume(parser)
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    summary = train_decoder(config_from_args(TrainDecoderConfig, args))
    if args.json:
        print_json(summary)
    else:
        print(f"trained to iteration {summary['iterations']} (from {summary['resumed_from']}) in "
              f"{summary['seconds']:.1f} s: loss_content {summary['loss_content']:.4f}, "
              f"loss_style {summary['loss_style']:.4f}")
        print(f"decoder: {summary['decoder']}")
    return 0
