"""``stylebias explain``: attribution maps of one or more models, side by side.

Writes the Grad-CAM panels (``<image>_gradcam.png``) and, for every ``--method``, each map as
``<image>__<model>__<method>.npy`` on the image's own pixel grid with its deletion/insertion
scores (and with ``--road`` its ROAD score, with ``--silhouettes`` its object share) in
``attributions.json`` (:func:`stylebias.attribution.attribute_files`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InvalidArgumentError
from ._common import print_json, write_json
from ._model_args import MODEL_SPEC_HELP, add_model_arguments, load_models, random_weights_label
from ._options import add_json, add_list, add_output_dir

NAME = "explain"
HELP = "attribution maps (Grad-CAM and the CAM family, IBA) of one or more models for image files: panels, .npy maps, faithfulness scores"


def _target(text: str) -> int | str:
    return int(text) if text.lstrip("-").isdigit() else text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="image files to explain")
    add_model_arguments(parser, multiple=True, preprocessing=False, one_per_flag=True)
    add_output_dir(parser, "explain_output")
    parser.add_argument("--target", type=_target, default=None,
                        help="ImageNet class index or one of the 16 categories (default: the top class)")
    parser.add_argument("--layer", default=None, help="layer name (default: the last convolutional stage)")
    parser.add_argument("--alpha", type=float, default=0.5, help="heatmap opacity in the overlay")
    add_list(parser, "--method", default=["gradcam"], dest="methods", metavar="METHOD",
             help="attribution methods whose maps are saved as .npy: gradcam, iba, and with the cam extra "
                  "(pip install 'stylebias[cam]') gradcam++, xgradcam, layercam, hirescam, eigencam, "
                  "eigengradcam, scorecam, ablationcam, gradcam-elementwise")
    parser.add_argument("--stats-images", type=Path, default=None, metavar="DIR",
                        help="images for IBA's feature statistics, e.g. a sample of the training set "
                             "(default: the explained images themselves)")
    parser.add_argument("--faithfulness", action=argparse.BooleanOptionalAction, default=True,
                        help="score every map by its deletion and insertion areas (RISE)")
    parser.add_argument("--road", action=argparse.BooleanOptionalAction, default=False,
                        help="also score every map by ROAD (noisy linear imputation; needs the cam extra; slow)")
    parser.add_argument("--silhouettes", type=Path, default=None, metavar="DIR",
                        help="filled-silhouettes folder: the share of each cue-conflict image's map on its "
                             "object (object_share) (default: none, no object share)")
    parser.add_argument("--seed", type=int, default=0, help="seeds IBA's noise")
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    from ..shapebias import explain

    from .._checks import check_choice
    from ..attribution import ATTRIBUTION_METHODS

    if not args.model:
        raise InvalidArgumentError("explain needs at least one --model SPEC (" + MODEL_SPEC_HELP + ")")
    for method in args.methods:
        check_choice(method, ATTRIBUTION_METHODS, "--method")
    models = load_models(args.model, args)
    records = explain(models, args.images, args.output_dir, target=args.target, layer=args.layer,
                      alpha=args.alpha)
    label = random_weights_label(args.pretrained)
    records = [{**rec, **label} for rec in records]
    maps = _attribution_maps(models, args)
    if maps:
        records = [{**rec, "maps": [m for m in maps if m["image"] == rec["image"]]} for rec in records]
    write_json(records, args.output_dir / "explain.json")
    if args.json:
        print_json(records)
    else:
        for rec in records:
            decisions = ", ".join(f"{m['source']}: {m['decision']}" for m in rec["models"])
            print(f"{rec['output']}  ({decisions})")
    return 0


def _attribution_maps(models: list, args: argparse.Namespace) -> list[dict]:
    """The saved maps and their scores; none for a category target (the maps explain one class)."""
    from ..attribution import attribute_files
    from ..io import list_images

    if isinstance(args.target, str):
        if "iba" in args.methods:
            raise InvalidArgumentError("--method iba explains one class: give --target as an ImageNet class index")
        return []
    stats = list_images(args.stats_images) if args.stats_images is not None else None
    label = random_weights_label(args.pretrained)
    records = attribute_files(models, args.images, args.output_dir, methods=args.methods, layer=args.layer,
                              target=args.target, stats_images=stats, faithfulness=args.faithfulness,
                              road_score=args.road, silhouettes=args.silhouettes, seed=args.seed, device=args.device)
    return [{**rec, **label} for rec in records]
