"""Model arguments shared by the commands that evaluate a classifier (``--model SPEC`` and the
preprocessing overrides), so every command reads them the same way."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_model_arguments", "preprocess_from_args", "size_or_none"]

MODEL_SPEC_HELP = (
    "torchvision:NAME, timm:NAME, path/file.py:callable, package.module:callable or a registered name"
)


def size_or_none(text: str) -> int | None:
    """``"none"`` -> None, else an int (pixels)."""
    return None if text.lower() == "none" else int(text)


def add_model_arguments(parser: argparse.ArgumentParser, *, multiple: bool = False) -> None:
    """``--model`` (one, or repeatable with ``multiple``), ``--no-pretrained``, ``--device`` and the
    preprocessing group (``--resize --crop --mean --std --interpolation``)."""
    if multiple:
        parser.add_argument("--model", action="append", default=[], metavar="SPEC",
                            help=MODEL_SPEC_HELP + "; repeat for several models")
    else:
        parser.add_argument("--model", required=True, metavar="SPEC", help=MODEL_SPEC_HELP)
    parser.add_argument("--no-pretrained", action="store_true", help="random weights (for timing)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cpu)")
    pre = parser.add_argument_group("preprocessing (default: the model's own; ImageNet 256/224 for user models)")
    pre.add_argument("--resize", type=size_or_none, default=argparse.SUPPRESS, metavar="PX|none")
    pre.add_argument("--crop", type=size_or_none, default=argparse.SUPPRESS, metavar="PX|none")
    pre.add_argument("--mean", type=float, nargs=3, default=argparse.SUPPRESS)
    pre.add_argument("--std", type=float, nargs=3, default=argparse.SUPPRESS)
    pre.add_argument("--interpolation", choices=("bilinear", "bicubic", "nearest", "lanczos"),
                     default=argparse.SUPPRESS)


def preprocess_from_args(args: argparse.Namespace) -> dict[str, Any] | None:
    """The preprocessing fields given on the command line, or None."""
    fields = {k: getattr(args, k) for k in ("resize", "crop", "mean", "std", "interpolation") if hasattr(args, k)}
    return fields or None
