"""``stylebias list``: what is registered."""

from __future__ import annotations

import argparse
import fnmatch

from ..attach import PRESETS, list_presets
from ..layers import STYLE_LAYERS, list_style_layers
from ._catalogue import data_rows, method_rows, metric_rows, model_rows, recipe_rows
from ._common import print_json
from ._options import add_json

NAME = "list"
HELP = ("list what is registered: models, methods, datasets, layers, presets, artifacts, metrics, "
        "recipes, corruptions")
KINDS = ("models", "methods", "datasets", "layers", "presets", "artifacts", "metrics", "recipes", "corruptions")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", nargs="?", choices=KINDS, default="layers",
                        help="what to list (default: layers)")
    parser.add_argument("--pattern", default="*", help="wildcard filter on the names, e.g. '*mix*'")
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    rows = _rows(args.what, args.pattern)
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            print(f"{row['name']:<26} {row['summary']}")
    return 0


def _rows(what: str, pattern: str) -> list[dict[str, str]]:
    rows = _all_rows(what, pattern)
    # lists that are not registries (spec forms, metrics, recipes) are filtered here
    return [r for r in rows if fnmatch.fnmatchcase(r["name"].lower(), pattern.lower())]


def _all_rows(what: str, pattern: str) -> list[dict[str, str]]:
    if what == "models":
        return model_rows(pattern)
    if what == "methods":
        return method_rows(pattern)
    if what == "datasets":
        return data_rows()
    if what == "metrics":
        return metric_rows()
    if what == "recipes":
        return recipe_rows()
    if what == "corruptions":
        from ..corruptions import CORRUPTIONS

        return [{"name": n, "summary": f"{c.category}" + (" (extra, not in the 15 of ImageNet-C)" if c.extra else "")}
                for n in CORRUPTIONS.list(pattern) for c in (CORRUPTIONS.get(n),)]
    if what == "layers":
        rows = [
            {"name": n, "class": STYLE_LAYERS.get(n).__name__,
             "summary": (STYLE_LAYERS.get(n).__doc__ or "").strip().splitlines()[0]}
            for n in list_style_layers(pattern)
        ]
    elif what == "presets":
        rows = [{"name": n, "summary": PRESETS.get(n).description} for n in list_presets(pattern)]
    else:  # artifacts
        from ..hub import ARTIFACT_SETS, get_artifact, list_artifacts

        rows = [
            {"name": n, "summary": f"{a.file_name} ({_size(a.size)}) {a.url}"}
            for n in list_artifacts(pattern)
            for a in (get_artifact(n),)
        ] + [
            {"name": n, "summary": f"{s.meta.get('content', '')} ({s.license}) {s.base_url}/{s.prefix}"}
            for n in ARTIFACT_SETS.list(pattern)
            for s in (ARTIFACT_SETS.get(n),)
        ]
    return rows


def _size(size: int | None) -> str:
    return "size unknown" if size is None else f"{size / 2**20:.1f} MiB"
