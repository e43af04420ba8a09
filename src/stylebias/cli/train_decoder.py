"""``stylebias train-decoder``: train an AdaIN/EFDM decoder or the contrastive network with the
published recipe."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from ..stylize.train import TRAIN_METHODS, TrainDecoderConfig, train_decoder
from ._common import print_json
from ._options import add_device, add_json, add_list, add_output_dir, add_progress, add_resume, add_workers
from .stylize import config_from_args

NAME = "train-decoder"
HELP = "train a style-transfer decoder (AdaIN/EFDM recipe) or the contrastive network (IEContraAST recipe)"

_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrainDecoderConfig)}
_NUMBERS = {"lr": float, "lr_decay": float, "max_iter": int, "batch_size": int,
            "content_weight": float, "style_weight": float, "identity_weight": float,
            "identity_feature_weight": float, "contrastive_content_weight": float,
            "contrastive_style_weight": float, "gan_weight": float, "image_size": int, "crop": int,
            "save_every": int, "log_every": int, "seed": int, "max_pixels": int}  # fmt: skip
_HELP = {"lr": "Adam learning rate", "lr_decay": "lr_i = lr / (1 + lr_decay * i)", "max_iter": "training iterations",
         "batch_size": "images per step (default 8); contrastive: stylizations per step, even, >= 4 (default 12)",
         "content_weight": "weight of the content loss",
         "style_weight": "weight of the style loss (default 10; contrastive 1)",
         "identity_weight": "contrastive: weight of the pixel identity loss",
         "identity_feature_weight": "contrastive: weight of the feature identity loss",
         "contrastive_content_weight": "contrastive: weight of the content contrastive loss",
         "contrastive_style_weight": "contrastive: weight of the style contrastive loss",
         "gan_weight": "contrastive: weight of the generator's adversarial loss",
         "image_size": "side of the square images are resized to before the crop",
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
    add("--transformer", type=Path, default=None,
        help="contrastive only: transformer_iter_*.pth to start from (default: random)")
    add("--method", choices=TRAIN_METHODS, default=_DEFAULTS["method"],
        help="adain/efdm: the decoder for that transfer; contrastive: decoder and SANet transform")
    for name, kind in _NUMBERS.items():
        add(f"--{name.replace('_', '-')}", type=kind, default=_DEFAULTS[name], help=_HELP[name])
    add_workers(parser, _DEFAULTS["workers"], help="image decoding processes")
    add_device(parser)
    add_list(parser, "--extensions", default=_DEFAULTS["extensions"], metavar="SUFFIX",
             help="file suffixes to use, case-insensitive")
    add_resume(parser)
    add_progress(parser)
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    summary = train_decoder(config_from_args(TrainDecoderConfig, args))
    if args.json:
        print_json(summary)
    else:
        losses = ", ".join(f"{k} {v:.4f}" for k, v in summary.items() if k.startswith("loss_"))
        print(f"trained to iteration {summary['iterations']} (from {summary['resumed_from']}) in "
              f"{summary['seconds']:.1f} s: {losses}")
        for role in ("decoder", "transformer"):
            if role in summary:
                print(f"{role}: {summary[role]}")
    return 0
