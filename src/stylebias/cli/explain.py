"""``stylebias explain``: Grad-CAM heatmaps of one or more models, side by side."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import print_json, write_json

NAME = "explain"
HELP = "write Grad-CAM heatmaps of one or more models side by side for image files"


def _target(text: str) -> int | str:
    return int(text) if text.lstrip("-").isdigit() else text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    parser.add_argument("--model", action="append", required=True, metavar="SPEC",
                        help="model spec (see shape-bias); repeat to compare models side by side")
    parser.add_argument("--output", type=Path, default=Path("explain_output"), help="output folder")
    parser.add_argument("--target", type=_target, default=None,
                        help="ImageNet class index or one of the 16 categories (default: top class)")
    parser.add_argument("--layer", default=None, help="layer name (default: last convolutional stage)")
    parser.add_argument("--alpha", type=float, default=0.5, help="heatmap opacity in the overlay")
    parser.add_argument("--device", default=None)
    parser.add_argument("--no-pretrained", action="store_true", help="random weights")
    parser.add_argument("--json", action="store_true", help="print the records as JSON")


def run(args: argparse.Namespace) -> int:
    from ..models import load_model
    from ..shapebias import explain

    models = [load_model(s, pretrained=not args.no_pretrained, device=args.device) for s in args.model]
    records = explain(models, args.images, args.output, target=args.target, layer=args.layer,
                      alpha=args.alpha)
    write_json(records, args.output / "explain.json")
    if args.json:
        print_json(records)
    else:
        for rec in records:
            decisions = ", ".join(f"{m['source']}: {m['decision']}" for m in rec["models"])
            print(f"{rec['output']}  ({decisions})")
    return 0
