"""``stylebias train``: train a classifier with style augmentation."""

from __future__ import annotations

import argparse

from ..training.config import add_config_arguments, config_from_args
from ..training.datasets import data_domains
from ..training.dg import format_table, leave_one_domain_out
from ..training.identity import DEFAULT_RUNS_ROOT
from ..training.loop import train
from ._common import print_json, write_json

NAME = "train"
HELP = "train a classifier (optionally with a style layer) from a TOML config or flags"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    sweep = parser.add_argument_group("domain generalisation sweep")
    sweep.add_argument("--leave-one-domain-out", action="store_true",
                       help="train once per held-out domain (and seed); print the DomainBed-style table")
    sweep.add_argument("--seeds", nargs="+", type=int, default=[0], help="seeds of the sweep")
    sweep.add_argument("--methods", nargs="+", help="methods of the sweep (default: --method)")


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    if args.leave_one_domain_out:
        methods = args.methods or [cfg.method]
        sweep_dir = cfg.output_dir if cfg.output_dir is not None else DEFAULT_RUNS_ROOT  # runs: hashed subfolders
        result = leave_one_domain_out(cfg, data_domains(cfg), methods, args.seeds, sweep_dir)
        write_json(result.to_dict(), sweep_dir / "dg_results.json")
        if args.json:
            print_json(result.table)
        else:
            print(format_table(result.table))
        return 0
    result = train(cfg)
    summary = {"output_dir": str(result.output_dir), "final": result.final, "selected": result.selected}
    if args.json:
        print_json(summary)
    else:
        for key in ("val_acc", "test_acc", "shape_bias", "corruption_error"):
            if key in result.selected:
                print(f"{key:<18} {result.selected[key]:.4f}")
        print(f"results in {result.output_dir}")
    return 0
