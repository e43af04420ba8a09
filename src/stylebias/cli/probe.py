"""``stylebias probe``: where in a network the reliance on style statistics lives.

``probe style`` swaps AdaIN (or EFDM) statistics between image pairs at each stage's output
and reports how often the prediction follows the donor; ``probe normalisers`` gives the
per-layer similarity, stable rank and gradient norm of Beyond BatchNorm. Both write JSON and
one figure against depth for all ``--model``s.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InvalidArgumentError
from ._common import print_json
from ._model_args import MODEL_SPEC_HELP, add_model_arguments, load_models, random_weights_label
from ._options import add_json, add_list, add_output_dir

NAME = "probe"
HELP = "probe where style statistics drive a model's decisions (style swaps by depth, normaliser diagnostics)"
PROBES = ("style", "normalisers")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("probe", choices=PROBES, help="style: swap statistics stage by stage; "
                                                      "normalisers: similarity/rank/gradients per layer")
    add_model_arguments(parser, multiple=True, one_per_flag=True)
    parser.add_argument("--data", type=Path, required=True, metavar="DIR",
                        help="a folder of images (searched recursively), preprocessed as each model expects")
    add_output_dir(parser, "probe_output")
    add_list(parser, "--stages", default=None, metavar="NAME",
             help="module names to probe, shallow to deep (default: a ResNet's conv1 and layer1-4, "
                  "else every Conv2d; normalisers: every Conv2d and Linear)")
    parser.add_argument("--mode", choices=("adain", "efdm"), default="adain",
                        help="style: swap channel mean/std (adain) or the sorted values (efdm)")
    parser.add_argument("--batch-size", type=int, default=32, help="images per batch (pairs form within a batch)")
    parser.add_argument("--limit", type=int, default=None, help="use at most this many images (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the pairing of images")
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    from ..attribution.report import preprocessed_batches
    from ..io import list_images
    from ..runtime import model_placement
    from ..probe import probe_normalisers, probe_style_reliance

    if not args.model:
        raise InvalidArgumentError("probe needs at least one --model SPEC (" + MODEL_SPEC_HELP + ")")
    if args.batch_size < 2:
        raise InvalidArgumentError(f"--batch-size must be >= 2 (pairs form within a batch), got {args.batch_size}")
    files = list_images(args.data)[: args.limit]
    models = load_models(args.model, args)
    if any(m.preprocess != models[0].preprocess for m in models):
        raise InvalidArgumentError("the models prepare images differently; probe them one at a time, or give "
                                   "--resize/--crop so they see the same images")
    stages = {m.name: args.stages for m in models} if args.stages else None
    device = model_placement(models[0].model)[0]
    if args.probe == "style":
        results = probe_style_reliance({m.name: m.model for m in models},
                                       list(preprocessed_batches(models[0], files, device, args.batch_size)),
                                       args.output_dir, stages=stages, mode=args.mode, seed=args.seed)
        out = {name: r.to_dict() for name, r in results.items()}
    else:
        first = next(preprocessed_batches(models[0], files, device, args.batch_size))
        diags = probe_normalisers({m.name: m.model for m in models}, first, args.output_dir, layers=stages)
        out = {name: [d.__dict__ for d in ds] for name, ds in diags.items()}
    result = {"probe": args.probe, "images": len(files), **random_weights_label(args.pretrained), "models": out}
    if args.json:
        print_json(result)
    else:
        print(f"wrote {args.output_dir}/{'style_reliance' if args.probe == 'style' else 'normalisers'}.json and .png")
    return 0
