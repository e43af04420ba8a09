"""``stylebias train``: train a classifier with style augmentation."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import fields
from typing import get_type_hints

from ..runtime import DEVICE_HELP
from ..recipes import list_recipes, resolve_config
from ..training.config import TrainConfig, config_from_args
from ..training.datasets import data_domains
from ..training.dg import format_table, leave_one_domain_out
from ..training.identity import DEFAULT_RUNS_ROOT
from ..training.loop import train
from ..training.methods import METHODS
from ._catalogue import DATA_FORMS, TRAIN_MODEL_SPECS
from ._common import print_json, write_json
from ._options import add_json, add_list, add_output_dir, add_workers

NAME = "train"
HELP = "train a classifier (optionally with a style layer) from a TOML config or flags"

# Flags whose TrainConfig docstring entry is missing or worded for Python rather than the shell.
_EXTRA_HELP = {
    "tensorboard": "also write TensorBoard event files",
    "hparams": "JSON object of method/optimiser hyperparameters, e.g. '{\"lr\": 0.1}'",
}
_LIST_METAVARS = {"train_domains": "DOMAIN", "test_domains": "DOMAIN", "layer_after": "MODULE",
                  "corruption_severities": "N"}


def _field_help() -> dict[str, str]:
    """Each TrainConfig field's help, read from the dataclass's ``Attributes:`` docstring."""
    doc = (TrainConfig.__doc__ or "").split("Attributes:", 1)[-1]
    helps: dict[str, list[str]] = {}
    current: list[str] = []
    for line in doc.splitlines():
        head, sep, text = line.strip().partition(": ")
        names = [n.strip() for n in head.split(",")]
        if sep and line.startswith(" " * 8) and not line.startswith(" " * 12) and all(n.isidentifier() for n in names):
            current = [text]
            for n in names:
                helps[n] = current
        elif current and line.strip():
            current.append(line.strip())
    out = {k: " ".join(v).replace("``", "") for k, v in helps.items()}
    out.update(_EXTRA_HELP)
    return out


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    """``--config`` and one flag per TrainConfig field; unset flags keep the file's values."""
    parser.add_argument("--config", metavar="FILE|RECIPE",
                        help="TOML file with any of the keys below, or a shipped recipe name "
                             f"({', '.join(list_recipes())}) (default: none)")
    helps, defaults, hints = _field_help(), {f.name: f for f in fields(TrainConfig)}, get_type_hints(TrainConfig)
    for name, f in defaults.items():
        value = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        shown = "none" if value is None or value == {} else (
            ("on" if value else "off") if isinstance(value, bool) else " ".join(map(str, value)) if isinstance(value, list) else value)
        text = helps.get(name, name.replace("_", " "))
        text = text if "default" in text.lower() else f"{text} (default: {shown})"
        hint = hints[name]
        if name == "output_dir":
            add_output_dir(parser, None, help=text)
        elif name == "workers":
            add_workers(parser, None, help=text)
        elif hint is bool:
            parser.add_argument(f"--{name.replace('_', '-')}", action=argparse.BooleanOptionalAction, default=None, help=text)
        elif "list[" in str(hint):
            add_list(parser, f"--{name.replace('_', '-')}", help=text, metavar=_LIST_METAVARS.get(name, "ITEM"))
        elif name == "device":  # default None: a config file's device is kept unless the flag is given
            parser.add_argument("--device", default=None, help=f"{DEVICE_HELP} (default: auto)")
        elif name == "hparams":
            parser.add_argument("--hparams", default=None, metavar="JSON", help=text)
        else:
            parser.add_argument(f"--{name.replace('_', '-')}", default=None, help=text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _add_config_flags(parser)
    add_json(parser)
    sweep = parser.add_argument_group("domain generalisation sweep")
    sweep.add_argument("--leave-one-domain-out", action="store_true",
                       help="train once per held-out domain (and seed); print the DomainBed-style table")
    add_list(sweep, "--seeds", item=int, default=[0], metavar="N", help="seeds of the sweep")
    add_list(sweep, "--methods", metavar="METHOD", help="methods of the sweep (default: --method)")


DESCRIPTION = f"""

--data forms:
  {chr(10).join('  ' + line for line in DATA_FORMS).strip()}
--model specs: {TRAIN_MODEL_SPECS}
--method: {', '.join(METHODS.list())} (`stylebias list methods`)
recipes (--config NAME): {', '.join(list_recipes())} (`stylebias list recipes`)
Every key of a TOML config is also a flag; flags override the file."""


def run(args: argparse.Namespace) -> int:
    if args.config is not None:
        args.config = resolve_config(args.config)
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
