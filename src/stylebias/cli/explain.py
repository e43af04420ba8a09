"""``stylebias explain``: Grad-CAM heatmaps of one or more models, side by side."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InvalidArgumentError
from ._common import print_json, write_json
from ._model_args import MODEL_SPEC_HELP, add_model_arguments, load_models, random_weights_label
from ._options import add_json, add_output_dir

NAME = "explain"
HELP = "write Grad-CAM heatmaps of one or more models side by side for image files"


def _target(text: str) -> int | str:
    return int(text) if text.lstrip("-").isdigit() else text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="image files to explain")
    add_model_arguments(parser, multiple=True, preprocessing=False, one_per_flag=True)
    add_output_dir(parser, "explain_output")
    parser.add_argument("--target", type=_target, default=None,
                        help="ImageNet class index or one of the 16 categories (default: the top class)")
    parser.add_argument("--layer", default=None, help="layer name (default: the last convolutional stage)")
    parser.add_argument("--alpha", type=float, default=0.5, help="heatmap opacity in the overlay")
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    from ..shapebias import explain

    if not args.model:
        raise InvalidArgumentError("explain needs at least one --model SPEC (" + MODEL_SPEC_HELP + ")")
    models = load_models(args.model, args)
    records = explain(models, args.images, args.output_dir, target=args.target, layer=args.layer,
                      alpha=args.alpha)
    label = random_weights_label(args.pretrained)
    records = [{**rec, **label} for rec in records]
    write_json(records, args.output_dir / "explain.json")
    if args.json:
        print_json(records)
    else:
        for rec in records:
            decisions = ", ".join(f"{m['source']}: {m['decision']}" for m in rec["models"])
            print(f"{rec['output']}  ({decisions})")
    return 0
