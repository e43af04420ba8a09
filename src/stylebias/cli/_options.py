"""The flags every command shares, defined once: one spelling and one meaning per concept.

=============  ==========================================  ============================
concept        spelling                                    old spellings (hidden, warn)
=============  ==========================================  ============================
output folder  ``--output-dir DIR``                        ``--output``
workers        ``--workers N``                             ``--num-workers``
pretrained     ``--pretrained/--no-pretrained``            --
progress       ``--progress/--no-progress`` (default on)   --
resume         ``--resume/--no-resume`` (default on)       --
device         ``--device`` (default ``auto``)             --
lists          ``--flag A B C``; each item may be ``A,B``  --
=============  ==========================================  ============================

An old spelling still parses into the same destination for one release and prints a one-line
deprecation note on stderr; it is hidden from ``--help``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..runtime import DEVICE_HELP

__all__ = [
    "HelpFormatter",
    "add_output_dir",
    "add_device",
    "add_workers",
    "add_progress",
    "add_pretrained",
    "add_resume",
    "add_list",
    "add_json",
    "add_alias",
    "split_items",
]


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows every optional flag's default: appends ``(default: X)`` unless the help already
    says what the default is (flags whose default is None must say it in words)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "%(default)" in text or "default" in text.lower() or not action.option_strings:
            return text
        if action.default is argparse.SUPPRESS or action.default is None:
            return text
        return f"{text} (default: {_show(action.default)})" if text else text


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value) or "none"
    return str(value)


class _DeprecatedAlias(argparse.Action):
    """A hidden old spelling: stores into the new flag's destination and says so on stderr."""

    def __init__(self, option_strings: list[str], dest: str, *, new: str, **kwargs: Any) -> None:
        self.new = new
        super().__init__(option_strings, dest, help=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        print(f"stylebias: {option_string} is deprecated and will be removed in the next release; "
              f"use {self.new}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_alias(parser: argparse.ArgumentParser, old: str, new: str, dest: str, **kwargs: Any) -> None:
    """Accept ``old`` as a hidden, deprecated spelling of ``new`` (same ``dest``, same type)."""
    parser.add_argument(old, dest=dest, action=_DeprecatedAlias, new=new, default=argparse.SUPPRESS, **kwargs)


def split_items(item: Callable[[str], Any] = str) -> Callable[[str], list[Any]]:
    """An argparse ``type`` that splits one command-line word on commas: ``"a,b"`` -> [a, b]."""

    def parse(text: str) -> list[Any]:
        return [item(part.strip()) for part in text.split(",") if part.strip()]

    parse.__name__ = getattr(item, "__name__", "item")  # argparse names the type in its errors
    return parse


class _FlattenList(argparse.Action):
    """``--flag a b,c --flag d`` -> [a, b, c, d]: space- and comma-separated items, repeatable."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        flat = [v for chunk in values for v in chunk]
        if not flat:
            parser.error(f"{option_string} needs at least one value")
        given = getattr(namespace, self.dest, None)
        # the default is replaced, not extended; a repeated flag adds to what the first gave
        start = list(given) if given is not None and given is not self.default else []
        setattr(namespace, self.dest, start + flat)


def add_list(parser: argparse.ArgumentParser | argparse._ArgumentGroup, flag: str, *,
             item: Callable[[str], Any] = str, default: Sequence[Any] | None = None,
             help: str, metavar: str | None = None, dest: str | None = None) -> argparse.Action:
    """A list-valued flag: ``--flag A B C`` or ``--flag A,B,C`` (or both). Not for paths."""
    kwargs: dict[str, Any] = {"dest": dest} if dest else {}
    return parser.add_argument(flag, nargs="+", type=split_items(item), action=_FlattenList,
                               default=None if default is None else list(default),
                               metavar=metavar or "ITEM", help=help, **kwargs)


def add_output_dir(parser: argparse.ArgumentParser, default: Path | str | None, *,
                   help: str = "output folder", required: bool = False) -> None:
    """``--output-dir DIR`` (old spelling ``--output``); ``default`` None with ``required``."""
    parser.add_argument("--output-dir", type=Path, default=None if default is None else Path(default),
                        required=required, metavar="DIR", help=help)
    if not required:  # the commands that require it never had --output (argparse would demand --output-dir)
        add_alias(parser, "--output", "--output-dir", "output_dir", type=Path, metavar="DIR")


def add_device(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--device`` (default ``auto``: CUDA if available, else CPU)."""
    parser.add_argument("--device", default="auto", help=f"{DEVICE_HELP} (default: auto)")


def add_workers(parser: argparse.ArgumentParser | argparse._ArgumentGroup, default: int | None, *,
                help: str = "data loading worker processes", dest: str = "workers") -> None:
    """``--workers N`` (old spelling ``--num-workers``)."""
    parser.add_argument("--workers", type=int, default=default, dest=dest, metavar="N", help=help)
    add_alias(parser, "--num-workers", "--workers", dest, type=int, metavar="N")


def add_progress(parser: argparse.ArgumentParser | argparse._ArgumentGroup, default: bool = True) -> None:
    """``--progress/--no-progress`` (default on; ``--json`` does not turn it off: bars go to stderr)."""
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=default,
                        help="show a progress bar per job on stderr")


def add_pretrained(parser: argparse.ArgumentParser | argparse._ArgumentGroup, default: bool) -> None:
    """``--pretrained/--no-pretrained``: load the published weights of torchvision/timm/registered specs."""
    parser.add_argument("--pretrained", action=argparse.BooleanOptionalAction, default=default,
                        help="load the published weights of torchvision/timm/registered models; "
                             "--no-pretrained uses random weights and labels every result so")


def add_resume(parser: argparse.ArgumentParser | argparse._ArgumentGroup, default: bool = True) -> None:
    """``--resume/--no-resume``: continue from what the output folder holds."""
    parser.add_argument("--resume", action=argparse.BooleanOptionalAction, default=default,
                        help="continue from the checkpoint in the output folder; --no-resume starts over")


def add_json(parser: argparse.ArgumentParser) -> None:
    """``--json``: stdout holds the JSON result alone."""
    parser.add_argument("--json", action="store_true", help="print the result as JSON alone on stdout")
