"""``stylebias demo``: the project's main job on its built-in default."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..showcase import showcase_layers
from ..training.demo import DEMO_METHODS, FULL_BUDGET, QUICK_BUDGET, DemoConfig, demo_methods, run_demo
from ._common import write_json
from ._options import add_list, add_output_dir, add_progress

NAME = "demo"
HELP = "train ERM and every method on the built-in benchmark over seeds; report DG accuracy, shape bias, corruption error"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_output_dir(parser, "demo_output")
    q, f = QUICK_BUDGET, FULL_BUDGET
    parser.add_argument("--quick", action="store_true",
                        help=f"the ~5 minute budget ({len(q.seeds)} seeds, {q.steps} steps of {q.batch_size} at "
                             f"{q.image_size} px, {', '.join(q.held_out)} held out); without it {len(f.seeds)} seeds, "
                             f"{f.steps} steps of {f.batch_size} at {f.image_size} px, {', '.join(f.held_out)} held out")
    add_list(parser, "--methods", default=None, metavar="METHOD",
             help=f"methods to train, erm first (`stylebias list methods`; default: {' '.join(DEMO_METHODS)}, "
                  "and debiased when the AdaIN weights are in the cache)")
    add_list(parser, "--seeds", item=int, metavar="N", help="training seeds (default: the budget's, 0 1 2)")
    parser.add_argument("--steps", type=int, help="training steps per run (default: the budget's)")
    add_list(parser, "--held-out", metavar="DOMAIN", help="held-out domains (default: the budget's)")
    parser.add_argument("--texture-correlation", type=float,
                        help=f"how often a shape comes with its own texture in training (fraction; default "
                             f"{q.texture_correlation:g}, chosen by benchmarks/demo_setting.py)")
    parser.add_argument("--processes", type=int, help=f"worker processes of one thread each (default {q.processes})")
    parser.add_argument("--ceiling", action=argparse.BooleanOptionalAction, default=True,
                        help="also train ERM on random textures, the ceiling line")
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
        output=args.output_dir, quick=args.quick, methods=tuple(args.methods) if args.methods else demo_methods(),
        seeds=tuple(args.seeds) if args.seeds else None, steps=args.steps,
        held_out=tuple(args.held_out) if args.held_out else None, texture_correlation=args.texture_correlation,
        processes=args.processes, ceiling=args.ceiling, progress=args.progress,
    )
    budget = cfg.budget()
    print(f"stylebias demo ({'quick' if args.quick else 'full'}): {len(cfg.methods)} methods x {len(budget.seeds)} seeds"
          f"{' + the random-texture ceiling' if cfg.ceiling else ''}, {budget.processes} process(es) ...", flush=True)
    results = run_demo(cfg)
    print(f"\n{'method':<18} {'DG acc':>8} {'shape bias':>11} {'corr. err':>10} {'in-domain':>10}")
    for row in results["methods"] + ([results["ceiling"]] if results["ceiling"] else []):
        print(f"{row['method']:<18} {row['dg_accuracy']:8.3f} {row['shape_bias']:11.3f} "
              f"{row['corruption_error']:10.3f} {row['in_domain_accuracy']:10.3f}")
    print("\n" + "\n".join(line.replace("**", "") for line in results["headline"]))
    if results["runs_read_back"] == results["runs"]:
        took = "every run read back from an earlier invocation"
    elif results["runs_read_back"]:
        took = f"{results['elapsed_s'] / 60:.1f} min; {results['runs_read_back']} of {results['runs']} runs read back"
    else:
        took = f"{results['elapsed_s'] / 60:.1f} min"
    print(f"\nwrote {args.output_dir / 'results.json'}, {args.output_dir / 'report.md'} ({took})")
    return 0
