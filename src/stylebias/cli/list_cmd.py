"""``stylebias list``: what is registered."""

from __future__ import annotations

import argparse

from ..attach import PRESETS, list_presets
from ..layers import STYLE_LAYERS, list_style_layers
from ._common import print_json

NAME = "list"
HELP = "list registered style layers, attachment presets, downloadable artifacts or models"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", nargs="?", choices=("layers", "presets", "artifacts", "models"), default="layers")
    parser.add_argument("--pattern", default="*", help="wildcard filter, e.g. '*mix*'")
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    if args.what == "layers":
        rows = [
            {"name": n, "class": STYLE_LAYERS.get(n).__name__,
             "summary": (STYLE_LAYERS.get(n).__doc__ or "").strip().splitlines()[0]}
            for n in list_style_layers(args.pattern)
        ]
    elif args.what == "presets":
        rows = [{"name": n, "summary": PRESETS.get(n).description} for n in list_presets(args.pattern)]
    elif args.what == "artifacts":
        from ..hub import ARTIFACT_SETS, get_artifact, list_artifacts

        rows = [
            {"name": n, "summary": f"{a.file_name} ({_size(a.size)}) {a.url}"}
            for n in list_artifacts(args.pattern)
            for a in (get_artifact(n),)
        ] + [
            {"name": n, "summary": f"{s.meta.get('content', '')} ({s.license}) {s.base_url}/{s.prefix}"}
            for n in ARTIFACT_SETS.list(args.pattern)
            for s in (ARTIFACT_SETS.get(n),)
        ]
    else:
        from ..models import MODELS

        rows = [{"name": n, "summary": MODELS.get(n).description} for n in MODELS.list(args.pattern)]
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            print(f"{row['name']:<20} {row['summary']}")
    return 0


def _size(size: int | None) -> str:
    return "size unknown" if size is None else f"{size / 2**20:.1f} MiB"
