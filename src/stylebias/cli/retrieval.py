"""``stylebias retrieval``: re-id mAP / CMC of a model on Market-1501 style folders."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from ..retrieval import AP_MODES, METRICS
from ..retrieval.folders import ReidEvalConfig, evaluate_reid_folders
from ._common import print_json
from ._model_args import MODEL_SPEC_HELP, RANDOM_WEIGHTS, random_weights_label
from ._options import add_device, add_json, add_pretrained, add_workers

NAME = "retrieval"
HELP = "re-identification evaluation (mAP, mINP, rank-1/5/10) on Market-1501 style query/gallery folders"

_DEFAULTS = {f.name: f.default for f in dataclasses.fields(ReidEvalConfig)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = _DEFAULTS
    parser.add_argument("--model", required=True, metavar="SPEC",
                        help=MODEL_SPEC_HELP + "; it must return (B, D) features (required)")
    parser.add_argument("--query", required=True, type=Path, metavar="DIR",
                        help="query images named <pid>_c<cam>s<seq>_<frame>_<idx>.jpg (required)")
    parser.add_argument("--gallery", required=True, type=Path, metavar="DIR",
                        help="gallery images, same naming (pid -1 junk is ignored, 0000 distractors kept) (required)")
    parser.add_argument("--height", type=int, help=f"input height in pixels (default: {d['height']})")
    parser.add_argument("--width", type=int, help=f"input width in pixels (default: {d['width']})")
    parser.add_argument("--mean", type=float, nargs=3, metavar=("R", "G", "B"),
                        help="normalisation mean, overriding the model's (default: the model's)")
    parser.add_argument("--std", type=float, nargs=3, metavar=("R", "G", "B"),
                        help="normalisation std, overriding the model's (default: the model's)")
    parser.add_argument("--flip", action=argparse.BooleanOptionalAction,
                        help=f"fuse features of each image and its mirror (default: {d['flip']})")
    parser.add_argument("--normalize", action=argparse.BooleanOptionalAction,
                        help="L2-normalise features (default: only with --flip)")
    parser.add_argument("--metric", choices=METRICS, help=f"distance (default: {d['metric']})")
    parser.add_argument("--ap-mode", choices=AP_MODES,
                        help=f"average precision: torchreid's or the official trapezoid one "
                             f"(default: {d['ap_mode']})")
    parser.add_argument("--max-rank", type=int, help=f"CMC length (default: {d['max_rank']})")
    parser.add_argument("--batch-size", type=int, help=f"images per batch (default: {d['batch_size']})")
    parser.add_argument("--chunk-size", type=int, help=f"queries ranked at once (default: {d['chunk_size']})")
    add_workers(parser, d["num_workers"], help="image loading workers", dest="num_workers")
    add_device(parser)
    add_pretrained(parser, default=d["pretrained"])
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    given = {k: v for k, v in vars(args).items() if k in _DEFAULTS and v is not None}
    report = evaluate_reid_folders(ReidEvalConfig(**given))
    if args.json:
        print_json({**report.to_dict(), **random_weights_label(args.pretrained)})
        return 0
    r = report.result
    weights = "" if args.pretrained else f" ({RANDOM_WEIGHTS})"
    print(f"model {report.config.model}{weights}: {len(report.query)} queries x {len(report.gallery)} gallery "
          f"images, {report.feature_dim}-D features, flip={report.config.flip}, "
          f"metric={report.config.metric}")
    if r.num_skipped:
        print(f"{r.num_skipped} of {r.num_queries} queries have no match in the gallery: skipped")
    print(f"{'mAP':<8}{100 * r.mean_ap:6.1f}%")
    print(f"{'mINP':<8}{100 * r.mean_inp:6.1f}%")
    for k in (1, 5, 10):
        if k <= r.cmc.numel():
            print(f"{f'rank-{k}':<8}{100 * r.rank(k):6.1f}%")
    return 0
