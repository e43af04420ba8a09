"""``stylebias train``: train a classifier with style augmentation."""

from __future__ import annotations

import argparse

from ..training.config import add_config_arguments, config_from_args
from ..training.loop import train
from ._common import print_json

NAME = "train"
HELP = "train a classifier (optionally with a style layer) from a TOML config or flags"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    result = train(cfg)
    summary = {"output_dir": str(result.output_dir), "final": result.final, "selected": result.selected}
    if args.json:
        print_json(summary)
    else:
        for key in ("val_acc", "test_acc", "shape_bias", "corruption_error"):
            if key in result.selected:
                print(f"{key:<18} {result.selected[key]:.4f}")
        print(f"results in {result.output_dir}")
    return 0
