"""Model arguments shared by the commands that evaluate a classifier (``--model SPEC``,
``--pretrained/--no-pretrained``, ``--device`` and the preprocessing overrides), so every
command reads them the same way."""

from __future__ import annotations

import argparse
from typing import Any

from ._options import add_device, add_pretrained

__all__ = ["add_model_arguments", "preprocess_from_args", "size_or_none", "MODEL_SPEC_HELP", "random_weights_label", "load_models"]

MODEL_SPEC_HELP = (
    "torchvision:NAME[.WEIGHTS], timm:NAME, path/file.py:callable, package.module:callable or a "
    "registered name (`stylebias list models`)"
)


def size_or_none(text: str) -> int | None:
    """``"none"`` -> None, else an int (pixels)."""
    return None if text.lower() == "none" else int(text)


def add_model_arguments(parser: argparse.ArgumentParser, *, multiple: bool = False,
                        preprocessing: bool = True, one_per_flag: bool = False) -> None:
    """``--model`` (one, or several with ``multiple``), ``--pretrained/--no-pretrained`` (default
    on), ``--device`` and the preprocessing group (``--resize --crop --mean --std --interpolation``).

    ``one_per_flag``: several models as ``--model A --model B`` only, for commands whose
    positional arguments would otherwise be read as more models.
    """
    if multiple and one_per_flag:
        parser.add_argument("--model", action="append", default=[], metavar="SPEC",
                            help=MODEL_SPEC_HELP + "; repeat --model to compare models (default: none)")
    elif multiple:
        parser.add_argument("--model", action="extend", nargs="+", default=[], metavar="SPEC",
                            help=MODEL_SPEC_HELP + "; several: --model A B or --model A --model B (default: none)")
    else:
        parser.add_argument("--model", required=True, metavar="SPEC", help=MODEL_SPEC_HELP + " (required)")
    add_pretrained(parser, default=True)
    add_device(parser)
    if not preprocessing:
        return
    pre = parser.add_argument_group("preprocessing (default: the model's own; ImageNet 256/224 for user models)")
    pre.add_argument("--resize", type=size_or_none, default=argparse.SUPPRESS, metavar="PX|none",
                     help="shorter side before cropping (default: the model's)")
    pre.add_argument("--crop", type=size_or_none, default=argparse.SUPPRESS, metavar="PX|none",
                     help="centre crop (default: the model's)")
    pre.add_argument("--mean", type=float, nargs=3, default=argparse.SUPPRESS, metavar=("R", "G", "B"),
                     help="normalisation mean (default: the model's)")
    pre.add_argument("--std", type=float, nargs=3, default=argparse.SUPPRESS, metavar=("R", "G", "B"),
                     help="normalisation std (default: the model's)")
    pre.add_argument("--interpolation", choices=("bilinear", "bicubic", "nearest", "lanczos"),
                     default=argparse.SUPPRESS, help="resize interpolation (default: the model's)")


def preprocess_from_args(args: argparse.Namespace) -> dict[str, Any] | None:
    """The preprocessing fields given on the command line, or None."""
    fields = {k: getattr(args, k) for k in ("resize", "crop", "mean", "std", "interpolation") if hasattr(args, k)}
    return fields or None


def random_weights_label(pretrained: bool) -> dict[str, Any]:
    """The fields every result of a model command carries: ``pretrained`` and, for random
    weights, a ``weights`` label, so numbers from untrained models are never mistaken."""
    return {"pretrained": True} if pretrained else {"pretrained": False, "weights": RANDOM_WEIGHTS}


RANDOM_WEIGHTS = "random weights"


def load_models(specs: list[str], args: argparse.Namespace, preprocess: dict[str, Any] | None = None) -> list[Any]:
    """Load every spec with ``--pretrained/--device``; a random-weight model's name (used in
    tables, JSON, plots and file names) ends in ``(random weights)``."""
    import dataclasses

    from ..models import load_model
    from ..runtime import resolve_device

    args.device = str(resolve_device(args.device))  # "auto" -> this machine's device, for every later call
    loaded = [load_model(s, pretrained=args.pretrained, device=args.device, preprocess=preprocess) for s in specs]
    if args.pretrained:
        return loaded
    return [dataclasses.replace(m, spec=dataclasses.replace(m.spec, text=f"{m.spec.text} ({RANDOM_WEIGHTS})"))
            for m in loaded]
