"""``stylebias demo``: the project's main job on its built-in default."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..showcase import showcase_layers
from ._common import write_json

NAME = "demo"
HELP = "run every style layer on a random batch and report what it did"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", type=Path, default=Path("demo_output"), help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="smaller batch")


def run(args: argparse.Namespace) -> int:
    size = 16 if args.quick else 32
    report = showcase_layers(batch=16, channels=64, size=size, seed=args.seed)
    path = write_json(report, args.output / "results.json")
    print(f"{'layer':<18} {'|dx|':>8} {'|dmu|':>8} {'|dsigma|':>9} {'ms':>8}  eval=identity")
    for row in report["layers"]:
        print(
            f"{row['layer']:<18} {row['mean_abs_change']:8.3f} {row['mu_change']:8.3f} "
            f"{row['sigma_change']:9.3f} {row['forward_backward_ms']:8.1f}  {row['identity_in_eval']}"
        )
    print(f"wrote {path}")
    return 0
