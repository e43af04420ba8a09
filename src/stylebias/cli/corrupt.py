"""``stylebias corrupt``: an ImageNet-C-layout corrupted copy of an image folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import print_json
from ._model_args import size_or_none
from ._options import add_device, add_json, add_list, add_output_dir, add_progress

NAME = "corrupt"
HELP = "write <corruption>/<severity>/<class>/<file> copies of an image folder (ImageNet-C layout)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input-dir", type=Path, required=True, metavar="DIR",
                        help="folder of clean images (<class>/<file>) (required)")
    add_output_dir(parser, None, required=True, help="where to write the corrupted copies (required)")
    add_list(parser, "--corruptions", metavar="NAME",
             help="corruption names (default: the 15 ImageNet-C ones; `stylebias list corruptions`)")
    add_list(parser, "--severities", item=int, default=[1, 2, 3, 4, 5], metavar="N", help="severities 1-5")
    parser.add_argument("--resize", type=size_or_none, default=256, metavar="PX|none",
                        help="shorter side before cropping (ImageNet-C: 256)")
    parser.add_argument("--crop", type=size_or_none, default=224, metavar="PX|none", help="centre crop (ImageNet-C: 224)")
    parser.add_argument("--params", choices=("auto", "imagenet", "cifar"), default="auto",
                        help="parameter table: auto = CIFAR-C up to 64 px, else ImageNet-C")
    parser.add_argument("--batch-size", type=int, default=16, help="images corrupted at once")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random corruptions")
    add_device(parser)
    parser.add_argument("--frost-dir", type=Path, default=None, metavar="DIR",
                        help="folder with frost1.png ... frost5.jpg (default: $STYLEBIAS_FROST_DIR, else the packaged images)")
    parser.add_argument("--quality", type=int, default=85, help="JPEG quality of written files (ImageNet-C: 85)")
    add_progress(parser)
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    from ..corruptions import corrupt_folder
    from ..runtime import resolve_device

    result = corrupt_folder(
        args.input_dir, args.output_dir, args.corruptions, args.severities,
        resize=args.resize, crop=args.crop, batch_size=args.batch_size, seed=args.seed,
        device=resolve_device(args.device), params=args.params, frost_dir=args.frost_dir,
        quality=args.quality, progress=args.progress,
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
