"""``stylebias download``: fetch a registered file (weights, stimuli) into the cache."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..hub import fetch

NAME = "download"
HELP = "download registered files or stimulus sets (see `stylebias list artifacts`), verified by sha256"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="+", metavar="NAME", help="artifact name(s)")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="folder to keep files in (default: $STYLEBIAS_HOME, "
                             "else $XDG_CACHE_HOME/stylebias, else ~/.cache/stylebias)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(args: argparse.Namespace) -> int:
    for name in args.names:
        path = fetch(name, args.cache_dir, progress=not args.no_progress)
        print(f"{name}: {path}")
    return 0
