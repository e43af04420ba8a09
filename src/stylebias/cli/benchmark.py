"""``stylebias benchmark``: models and/or raw-data CSV files on the model-vs-human benchmark."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._common import print_json
from ._model_args import add_model_arguments, load_models, preprocess_from_args, random_weights_label
from ._options import add_json, add_list, add_output_dir, add_progress, add_resume, add_workers

NAME = "benchmark"
HELP = ("the model-vs-human benchmark (Geirhos et al. 2021): OOD accuracy, accuracy difference, observed and "
        "error consistency with human observers on 17 datasets")
DESCRIPTION = """

Examples:
  stylebias benchmark --model torchvision:resnet50 --output-dir mvh
  stylebias benchmark --model my_net.py:build --label-map labels.json --datasets edge,sketch --output-dir mvh
  stylebias benchmark --from-csv model-vs-human/raw-data/* --output-dir mvh --json
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser, multiple=True, one_per_flag=True)
    add_list(parser, "--datasets", default=["all"], metavar="NAME",
             help="'all' or dataset names (edge, silhouette, cue-conflict, colour, contrast, high-pass, low-pass, "
                  "phase-scrambling, power-equalisation, false-colour, rotation, eidolonI, eidolonII, eidolonIII, "
                  "uniform-noise, sketch, stylized) (default: all; without --model: those of --from-csv)")
    parser.add_argument("--from-csv", nargs="+", default=[], type=Path, metavar="CSV",
                        help="model-vs-human raw-data CSV files or raw-data/<dataset> folders to compare too; no model "
                             "needed (default: none)")
    parser.add_argument("--data", type=Path, default=None, metavar="DIR",
                        help="folder with one image folder per dataset, as model-vs-human's datasets/ (default: the "
                             "release archives, downloaded into the cache)")
    parser.add_argument("--human-data", type=Path, default=None, metavar="DIR",
                        help="folder with the human raw-data CSVs, one sub-folder per dataset as model-vs-human's "
                             "raw-data/ (default: the pinned commit's files, downloaded and sha256-checked)")
    parser.add_argument("--label-map", type=Path, default=None, metavar="FILE",
                        help="JSON {category: [output indices]} for heads that are neither ImageNet's 1000 classes "
                             "nor the 16 categories (default: none)")
    add_output_dir(parser, None, help="folder for the raw-data CSVs, results.json and report.md (no default: required)")
    add_json(parser)
    run_group = parser.add_argument_group("running")
    run_group.add_argument("--batch-size", type=int, default=32, help="images per forward pass")
    add_workers(run_group, None, help="DataLoader workers (default: 0 on CPU, up to 8 on GPU)")
    run_group.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True,
                           help="run the model in channels_last memory layout")
    run_group.add_argument("--cache-dir", type=Path, default=None, metavar="DIR",
                           help="where downloads are kept (default: $STYLEBIAS_HOME, else "
                                "$XDG_CACHE_HOME/stylebias, else ~/.cache/stylebias)")
    run_group.add_argument("--download", action=argparse.BooleanOptionalAction, default=True,
                           help="download missing datasets and human raw data into the cache")
    add_resume(run_group)
    add_progress(run_group)


def run(args: argparse.Namespace) -> int:
    from ..errors import InvalidArgumentError
    from ..humanlike import MVH_PREPROCESS, resolve_datasets, run_benchmark
    from ._common import write_json

    if args.output_dir is None:
        raise InvalidArgumentError("the benchmark needs an output folder: --output-dir DIR")
    resolve_datasets(args.datasets)  # a misspelt name fails before any model is loaded
    preprocess = {**MVH_PREPROCESS, **(preprocess_from_args(args) or {})}
    models = load_models(args.model, args, preprocess)
    explicit = args.datasets != ["all"] or bool(models)
    results = run_benchmark(
        models, args.datasets if explicit else None, args.data, args.output_dir,
        from_csv=args.from_csv, label_map=args.label_map, human_data=args.human_data, preprocess=preprocess,
        batch_size=args.batch_size, num_workers=args.workers, channels_last=args.channels_last,
        cache_dir=args.cache_dir, download=args.download, resume=args.resume, progress=args.progress,
    )
    if models:  # results of the models carry pretrained true/false (random weights are labelled)
        for model in models:
            results["observers"][model.name].update(random_weights_label(args.pretrained))
        write_json(results, args.output_dir / "results.json")
    if args.json:
        print_json(results)
        return 0
    _print_summary(results)
    print(f"results written to {args.output_dir}/results.json and report.md")
    return 0


def _fmt(value: float | None) -> str:
    return "    n/a" if value is None else f"{value:7.3f}"


def _print_summary(results: dict[str, Any]) -> None:
    rows = results["observers"]
    width = max(12, *(len(name) for name in rows))
    print(f"{'observer':<{width}} {'OOD acc':>7} {'acc diff':>8} {'obs cons':>8} {'err cons':>8} datasets")
    for name, row in rows.items():
        s = row["summary"]
        print(f"{name:<{width}} {_fmt(s['ood_accuracy'])} {_fmt(s['accuracy_difference']):>8} "
              f"{_fmt(s['observed_consistency']):>8} {_fmt(s['error_consistency']):>8} {len(s['datasets'])}")
