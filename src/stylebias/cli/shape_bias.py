"""``stylebias shape-bias``: shape bias of models and/or raw-data CSV files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._common import print_json
from ._model_args import add_model_arguments, load_models, preprocess_from_args, random_weights_label
from ._options import add_alias, add_json, add_output_dir, add_progress, add_workers

NAME = "shape-bias"
HELP = "shape bias (Geirhos et al. 2019) of ImageNet classifiers on cue-conflict stimuli, or accuracy on silhouettes/edges"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser, multiple=True)
    parser.add_argument("--stimuli", type=Path, default=None, metavar="DIR",
                        help="folder with 16 category folders (default: download the published set "
                             "from rgeirhos/texture-vs-shape into the cache, sha256-checked)")
    parser.add_argument("--stimulus-set", default="cue-conflict",
                        choices=("cue-conflict", "silhouettes", "edges"),
                        help="which stimuli: shape bias on cue-conflict, 16-class accuracy on the others")
    parser.add_argument("--from-csv", nargs="+", default=[], type=Path, metavar="FILE",
                        help="model-vs-human raw-data CSV files to compute the same metrics from (default: none)")
    add_output_dir(parser, "shape_bias_output", help="folder for the models' raw-data CSV files and results.json")
    add_json(parser)
    parser.add_argument("--plot-file", type=Path, default=None, metavar="FILE", dest="plot",
                        help="draw the shape-vs-texture figure into FILE (.png or .pdf) (default: no figure)")
    add_alias(parser, "--plot", "--plot-file", "plot", type=Path, metavar="FILE")
    run_group = parser.add_argument_group("running")
    run_group.add_argument("--batch-size", type=int, default=32, help="images per forward pass")
    add_workers(run_group, None, help="DataLoader workers (default: 0 on CPU, up to 8 on GPU)")
    run_group.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True,
                           help="run the model in channels_last memory layout (faster convolutions on CPU)")
    run_group.add_argument("--allow-incomplete", action="store_true",
                           help="evaluate a published stimulus folder even if files are missing")
    run_group.add_argument("--cache-dir", type=Path, default=None, metavar="DIR",
                           help="where downloaded stimuli are kept (default: $STYLEBIAS_HOME, "
                                "else $XDG_CACHE_HOME/stylebias, else ~/.cache/stylebias)")
    run_group.add_argument("--download", action=argparse.BooleanOptionalAction, default=True,
                           help="download the published stimuli into the cache when missing")
    add_progress(run_group)


def run(args: argparse.Namespace) -> int:
    from ..shapebias import compare, plot_shape_bias
    from ._common import write_json

    models = load_models(args.model, args, preprocess_from_args(args))
    results = compare(
        models, args.from_csv, args.stimuli,
        stimuli=args.stimulus_set,
        output_dir=args.output_dir if models else None,
        batch_size=args.batch_size,
        num_workers=args.workers,
        channels_last=args.channels_last,
        complete=False if args.allow_incomplete else None,
        cache_dir=args.cache_dir,
        download=args.download,
        progress=args.progress,
    )
    # compare() lists CSV files first; the models' results carry pretrained true/false
    label = random_weights_label(args.pretrained)
    first_model = len(results) - len(models)
    rows = [{**r.to_dict(), **(label if i >= first_model else {})} for i, r in enumerate(results)]
    if models:
        write_json(rows, args.output_dir / "results.json")
    if args.plot is not None:
        plot_shape_bias(results, args.plot)
    if args.json:
        print_json(rows)
        return 0
    _print_table(rows)
    if models:
        print(f"decisions written to {args.output_dir}/")
    if args.plot is not None:
        print(f"figure written to {args.plot}")
    return 0


def _fmt(value: float | None) -> str:
    return "   n/a" if value is None else f"{value:6.3f}"


def _print_table(rows: list[dict[str, Any]]) -> None:
    width = max(12, *(len(r["source"]) for r in rows))
    print(f"{'source':<{width}} {'set':<12} {'shape bias':>10} {'shape':>6} {'texture':>7} {'n':>5} {'accuracy':>8}")
    for r in rows:
        texture = "" if r["texture"] is None else r["texture"]
        print(f"{r['source']:<{width}} {r['stimuli']:<12} {_fmt(r['shape_bias']):>10} {r['shape']:>6} "
              f"{texture:>7} {r['n']:>5} {_fmt(r['accuracy']):>8}")
    if len(rows) > 8:
        return
    categories = sorted({c for r in rows for c in r["per_category"]})
    what = "shape bias" if rows[0]["stimuli"] == "cue-conflict" else "accuracy"
    print(f"\nper category ({what}):")
    print(f"{'category':<10}" + "".join(f" {r['source'][:12]:>12}" for r in rows))
    for c in categories:
        print(f"{c:<10}" + "".join(f" {_fmt(r['per_category'].get(c)):>12}" for r in rows))
