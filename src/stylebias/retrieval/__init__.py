"""Re-identification / retrieval evaluation: features, distances, CMC / mAP / mINP.

Quick tour::

    from stylebias.retrieval import extract_features, evaluate_features
    qf = extract_features(model, query_loader, flip=True)    # f(x) + f(flip x), L2-normalised
    gf = extract_features(model, gallery_loader, flip=True)
    result = evaluate_features(qf, gf, q_pids, g_pids, q_camids, g_camids)
    result.mean_ap, result.rank(1)

:func:`evaluate` takes a ready distance matrix instead and matches torchreid's
``evaluate_rank`` (Market-1501 protocol); :func:`evaluate_reid_folders` runs the whole thing
on Market-1501 style folders (what ``stylebias retrieval`` does).
"""

from .distance import METRICS, iter_distance_blocks, pairwise_distance
from .features import embed_batch, extract_features
from .folders import ReidEvalConfig, ReidEvalReport, ReidImages, evaluate_reid_folders
from .market import DISTRACTOR_PID, JUNK_PID, ReidSplit, parse_reid_name, reid_split
from .metrics import AP_MODES, RetrievalResult, evaluate, evaluate_features

__all__ = [
    "METRICS",
    "AP_MODES",
    "pairwise_distance",
    "iter_distance_blocks",
    "embed_batch",
    "extract_features",
    "RetrievalResult",
    "evaluate",
    "evaluate_features",
    "JUNK_PID",
    "DISTRACTOR_PID",
    "ReidSplit",
    "parse_reid_name",
    "reid_split",
    "ReidImages",
    "ReidEvalConfig",
    "ReidEvalReport",
    "evaluate_reid_folders",
]
