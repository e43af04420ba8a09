"""``stylebias demo``: the project's main job on its built-in default."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..showcase import showcase_layers
from ..training.demo import DEMO_METHODS, DemoConfig, run_demo
from ._common import write_json
from ._options import add_list, add_output_dir, add_progress

NAME = "demo"
HELP = "train ERM and every style layer on the built-in benchmark; report DG accuracy, shape bias, corruption error"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_output_dir(parser, "demo_output")
    parser.add_argument("--quick", action="store_true",
                        help="the < 5 minute budget (1 seed, sketch held out, 250 steps of 32)")
    add_list(parser, "--methods", default=DEMO_METHODS, metavar="METHOD",
             help="methods to train (`stylebias list methods`)")
    add_list(parser, "--seeds", item=int, metavar="N", help="training seeds (default: 0 with --quick, else 0 1 2)")
    parser.add_argument("--steps", type=int, help="training steps per run (default: 250)")
    add_list(parser, "--held-out", metavar="DOMAIN",
             help="held-out domains (default: sketch with --quick, else sketch and painting)")
    parser.add_argument("--texture-correlation", type=float, default=0.9,
                        help="how often a shape comes with its own texture in training (fraction)")
    add_progress(parser)
    parser.add_argument("--showcase", action="store_true", help="only apply each layer to a random batch (seconds)")
    parser.add_argument("--seed", type=int, default=0, help="seed of --showcase")


def run(args: argparse.Namespace) -> int:
    if args.showcase:
        report = showcase_layers(batch=16, channels=64, size=16 if args.quick else 32, seed=args.seed)
        path = write_json(report, args.output_dir / "showcase.json")
        print(f"{'layer':<18} {'|dx|':>8} {'|dmu|':>8} {'|dsigma|':>9} {'ms':>8}  eval=identity")
        for row in report["layers"]:
            print(f"{row['layer']:<18} {row['mean_abs_change']:8.3f} {row['mu_change']:8.3f} "
                  f"{row['sigma_change']:9.3f} {row['forward_backward_ms']:8.1f}  {row['identity_in_eval']}")
        print(f"wrote {path}")
        return 0
    cfg = DemoConfig(
        output=args.output_dir, quick=args.quick, methods=tuple(args.methods),
        seeds=tuple(args.seeds) if args.seeds else None, steps=args.steps,
        held_out=tuple(args.held_out) if args.held_out else None,
        texture_correlation=args.texture_correlation, progress=args.progress,
    )
    print(f"stylebias demo ({'quick' if args.quick else 'full'}): training {len(cfg.methods)} methods ...", flush=True)
    results = run_demo(cfg)
    print(f"\n{'method':<18} {'DG acc':>8} {'shape bias':>11} {'corr. err':>10} {'in-domain':>10}")
    for row in results["methods"]:
        print(f"{row['method']:<18} {row['dg_accuracy']:8.3f} {row['shape_bias']:11.3f} "
              f"{row['corruption_error']:10.3f} {row['in_domain_accuracy']:10.3f}")
    if results["runs_read_back"] == results["runs"]:
        took = "every run read back from an earlier invocation"
    elif results["runs_read_back"]:
        took = f"{results['elapsed_s'] / 60:.1f} min; {results['runs_read_back']} of {results['runs']} runs read back"
    else:
        took = f"{results['elapsed_s'] / 60:.1f} min"
    print(f"\nwrote {args.output_dir / 'results.json'}, {args.output_dir / 'report.md'} ({took})")
    return 0
