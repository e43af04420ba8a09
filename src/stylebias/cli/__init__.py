"""Command-line interface: ``stylebias <command> ...``.

Each command lives in its own module with ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``; it parses arguments, calls one library function and prints or writes
JSON. Commands hold no logic or defaults of their own.
"""

from __future__ import annotations

import argparse
import importlib
import io
import logging
import os
import sys
from collections.abc import Sequence
from contextlib import nullcontext

from .._version import __version__
from ..errors import StyleBiasError
from ._common import json_stdout_only, remove_if_empty
from ._options import HelpFormatter

__all__ = ["main", "build_parser", "COMMAND_MODULES"]

# One line per command.
COMMAND_MODULES = (
    "stylebias.cli.list_cmd",
    "stylebias.cli.demo",
    "stylebias.cli.train",
    "stylebias.cli.download",
    "stylebias.cli.retrieval",
    "stylebias.cli.shape_bias",
    "stylebias.cli.benchmark",
    "stylebias.cli.explain",
    "stylebias.cli.probe",
    "stylebias.cli.corrupt",
    "stylebias.cli.robustness",
    "stylebias.cli.stylize",
    "stylebias.cli.train_decoder",
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every command's sub-parser."""
    parser = argparse.ArgumentParser(
        prog="stylebias",
        description="Measure and reduce the texture/style bias of image classifiers.",
    )
    parser.add_argument("--version", action="version", version=f"stylebias {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for path in COMMAND_MODULES:
        module = importlib.import_module(path)
        sub = commands.add_parser(module.NAME, help=module.HELP, formatter_class=HelpFormatter,
                                  description=module.HELP + getattr(module, "DESCRIPTION", ""))
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def _print_undecodable_names() -> None:
    """Let stdout print file names that are not valid UTF-8.

    Python hands such names over with lone surrogates; a ``strict`` stdout (the default under
    e.g. ``en_US.UTF-8``) would fail on them with ``UnicodeEncodeError`` halfway through the
    output. ``surrogateescape`` writes the name's original bytes, as ``ls`` does.
    """
    if isinstance(sys.stdout, io.TextIOWrapper) and sys.stdout.errors == "strict":
        sys.stdout.reconfigure(errors="surrogateescape")


def _message(err: StyleBiasError) -> str:
    """The error's message, without the worker traceback torch puts into errors re-raised from
    a DataLoader worker process ("Caught DataError in DataLoader worker process 0. Original
    Traceback ... stylebias.errors.DataError: <message>")."""
    text = str(err)
    head, sep, rest = text.partition("\nOriginal Traceback (most recent call last):\n")
    marker = f"{type(err).__module__}.{type(err).__qualname__}: "
    if not sep or marker not in rest:
        return text
    where = head.removeprefix(f"Caught {type(err).__name__} ").rstrip(".")
    return f"{rest.rsplit(marker, 1)[1].strip()} ({where})"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``stylebias`` console script; returns the exit code."""
    _print_undecodable_names()
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.command is None:
        parser.print_help()
        return 0
    output_dir = getattr(args, "output_dir", None)
    existed = output_dir is None or os.path.lexists(output_dir)
    try:
        # --json: stdout is the JSON alone; prints of user code and libraries go to stderr
        with json_stdout_only() if getattr(args, "json", False) else nullcontext():
            return int(args._run(args) or 0)
    except StyleBiasError as err:  # expected, user-facing errors: no traceback
        if not existed:  # a start-up failure leaves no empty output folder behind
            remove_if_empty(output_dir)
        print(f"stylebias {args.command}: error: {_message(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


