"""``stylebias corrupt``: an ImageNet-C-layout corrupted copy of an image folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import print_json
from ._model_args import size_or_none

NAME = "corrupt"
HELP = "write <corruption>/<severity>/<class>/<file> copies of an image folder (ImageNet-C layout)"


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input-dir", type=Path, required=True, help="folder of clean images (<class>/<file>)")
    parser.add_argument("--output-dir", type=Path, required=True, help="where to write the corrupted copies")
    parser.add_argument("--corruptions", type=_names, default=None, metavar="A,B,...",
                        help="corruption names (default: the 15 ImageNet-C ones)")
    parser.add_argument("--severities", type=lambda t: [int(s) for s in _names(t)], default=[1, 2, 3, 4, 5],
                        metavar="1,2,...")
    parser.add_argument("--resize", type=size_or_none, default=256, metavar="PX|none",
                        help="shorter side before cropping (ImageNet-C: 256)")
    parser.add_argument("--crop", type=size_or_none, default=224, metavar="PX|none", help="centre crop (ImageNet-C: 224)")
    parser.add_argument("--params", choices=("auto", "imagenet", "cifar"), default="auto",
                        help="parameter table: auto = CIFAR-C up to 64 px, else ImageNet-C")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: cpu)")
    parser.add_argument("--frost-dir", type=Path, default=None, help="folder with frost1.png ... frost5.jpg")
    parser.add_argument("--quality", type=int, default=85, help="JPEG quality of written files (ImageNet-C: 85)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args: argparse.Namespace) -> int:
    from ..corruptions import corrupt_folder

    result = corrupt_folder(
        args.input_dir, args.output_dir, args.corruptions, args.severities,
        resize=args.resize, crop=args.crop, batch_size=args.batch_size, seed=args.seed,
        device=args.device, params=args.params, frost_dir=args.frost_dir,
        quality=args.quality, progress=not args.json,
    )
    if args.json:
        print_json(result.to_dict())
    else:
        print(f"{result.images} images x {len(result.corruptions)} corruptions x "
              f"{len(result.severities)} severities: {result.written} written, "
              f"{result.skipped} already present, in {result.output_dir}")
        for source, target in result.renamed.items():
            print(f"  {source} written as {target} (another input has the plain name)")
    return 0
