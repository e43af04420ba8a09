"""``stylebias download``: fetch a registered file (weights, stimuli) into the cache."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..hub import fetch
from ._options import add_progress

NAME = "download"
HELP = "download registered files or stimulus sets (see `stylebias list artifacts`), verified by sha256"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="+", metavar="NAME", help="artifact or stimulus-set name(s) (`stylebias list artifacts`)")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="folder to keep files in (default: $STYLEBIAS_HOME, "
                             "else $XDG_CACHE_HOME/stylebias, else ~/.cache/stylebias)")
    add_progress(parser)


def run(args: argparse.Namespace) -> int:
    for name in args.names:
        path = fetch(name, args.cache_dir, progress=args.progress)
        print(f"{name}: {path}")
    return 0
