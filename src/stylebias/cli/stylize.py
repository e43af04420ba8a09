"""``stylebias stylize``: make a stylized copy of an image folder (Stylized-ImageNet style)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any, TypeVar

from ..stylize.dataset import OUTPUT_FORMATS, PRECISIONS, StylizeConfig, stylize_dataset
from ..stylize.factory import STYLIZER_METHODS
from ._common import print_json
from ._options import add_device, add_json, add_list, add_output_dir, add_progress, add_workers

NAME = "stylize"
HELP = "stylize every image of a folder with random paintings (AdaIN/EFDM/contrastive); resumable, sharded"

T = TypeVar("T")
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(StylizeConfig)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = _DEFAULTS
    add = parser.add_argument
    add("--content-dir", type=Path, required=True, metavar="DIR", help="folder of content images (recursive) (required)")
    add("--style-dir", type=Path, required=True, metavar="DIR", help="folder of style images (recursive) (required)")
    add_output_dir(parser, None, required=True, help="where the stylized tree and manifest go (required)")
    add("--num-styles", type=int, default=d["num_styles"], help="styles per content image")
    add("--alpha", type=float, default=d["alpha"], help="degree of stylization in [0, 1]")
    add("--content-size", type=int, default=d["content_size"],
        help="shorter side of contents in pixels (0: keep)")
    add("--style-size", type=int, default=d["style_size"],
        help="shorter side of styles in pixels (0: keep)")
    add("--crop", type=int, default=d["crop"], help="centre crop of contents (0: none)")
    add_list(parser, "--extensions", default=d["extensions"], metavar="SUFFIX",
             help="file suffixes to use, case-insensitive")
    add("--seed", type=int, default=d["seed"], help="style assignment seed")
    add("--batch-size", type=int, default=d["batch_size"], help="images stylized at once")
    add_workers(parser, d["workers"], help="decoding processes")
    add_device(parser)
    add("--vgg", type=Path, default=None, help="vgg_normalised.pth (default: the published one)")
    add("--decoder", type=Path, default=None,
        help="decoder.pth, or decoder_iter_*.pth for contrastive (default: the published one)")
    add("--transformer", type=Path, default=None,
        help="contrastive only: transformer_iter_*.pth of IEContraAST (default: the cached one)")
    add("--method", choices=STYLIZER_METHODS, default=d["method"], help="stylization network")
    add("--precision", choices=sorted(PRECISIONS), default=d["precision"],
        help="network dtype; bf16 is much faster on CPUs with AMX and on GPUs")
    add("--format", dest="output_format", choices=OUTPUT_FORMATS, default=d["output_format"],
        help="output format ('same': the content's)")
    add("--quality", type=int, default=d["quality"], help="JPEG/WebP quality")
    add("--max-pixels", type=int, default=d["max_pixels"],
        help="larger images are downscaled to this many pixels, and a batch holds at most this "
             "many (the network needs ~1 KB per pixel at fp32; default 2 Mpx, ~2 GiB)")
    add_progress(parser)
    add_json(parser)


def config_from_args(cls: type[T], args: argparse.Namespace, **extra: Any) -> T:
    """Build the config dataclass ``cls`` from the parsed arguments that match its fields."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values = {k: v for k, v in vars(args).items() if k in names}
    if "extensions" in values:
        values["extensions"] = tuple(values["extensions"])
    return cls(**values, **extra)


def run(args: argparse.Namespace) -> int:
    summary = stylize_dataset(config_from_args(StylizeConfig, args))
    if args.json:
        print_json(summary)
        return 0
    print(f"wrote {summary['written']} images ({summary['existing']} already there, "
          f"{summary['failed']} skipped) in {summary['seconds']:.1f} s, "
          f"{summary['images_per_second']:.2f} img/s on {summary['device']} "
          f"(rank {summary['rank']}/{summary['world_size']})")
    if summary["manifest"]:
        print(f"manifest: {summary['manifest']}")
    if summary["failed"]:
        print(f"skipped files: {summary['skipped']}")
    return 0



