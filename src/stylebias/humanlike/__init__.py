"""Human-likeness of image classifiers: the model-vs-human benchmark metrics (Geirhos et al.).

Decisions are read from raw-data CSV files (:func:`read_decisions`), compared with human
subjects per dataset (:func:`evaluate_dataset`) and averaged over datasets (:func:`summarize`)
exactly as bethgelab/model-vs-human's analysis code does; :func:`bootstrap_summary` and
:func:`compare_ci` add seeded bootstrap intervals. :func:`distort` applies model-vs-human's twelve
parametric distortions (Geirhos et al., NeurIPS 2018) to any batch of images.

>>> from stylebias.humanlike import read_decisions, evaluate_dataset, summarize
>>> results = [evaluate_dataset(read_decisions(f"raw-data/{d}")) for d in ("edge", "sketch")]  # doctest: +SKIP
>>> summarize(results)["resnet50"].error_consistency                                            # doctest: +SKIP

Reference:
    Geirhos et al., Partial success in closing the gap between human and machine vision,
    NeurIPS 2021 (arXiv:2106.07411).
"""

from .benchmark import (
    BENCHMARK_DATASETS,
    DATA_CONDITIONS,
    EXCLUDE_CONDITIONS,
    HUMANS,
    METRICS,
    ConditionResult,
    DatasetResult,
    Summary,
    bootstrap_summary,
    compare_ci,
    evaluate_dataset,
    included_conditions,
    summarize,
)
from .decisions import DecisionTable, infer_column, is_human, normalise_conditions, read_decisions, short_imagename
from .distortions import DISTORTIONS, Distortion, distort
from .metrics import (
    Consistency,
    accuracy,
    accuracy_difference,
    align,
    bootstrap_ci,
    consistency,
    expected_consistency,
    kappa,
    response_entropy,
    shape_bias,
)

__all__ = [
    "DecisionTable",
    "read_decisions",
    "normalise_conditions",
    "infer_column",
    "short_imagename",
    "is_human",
    "Consistency",
    "accuracy",
    "accuracy_difference",
    "align",
    "consistency",
    "expected_consistency",
    "kappa",
    "response_entropy",
    "shape_bias",
    "bootstrap_ci",
    "BENCHMARK_DATASETS",
    "DATA_CONDITIONS",
    "EXCLUDE_CONDITIONS",
    "HUMANS",
    "METRICS",
    "included_conditions",
    "ConditionResult",
    "DatasetResult",
    "Summary",
    "evaluate_dataset",
    "summarize",
    "bootstrap_summary",
    "compare_ci",
    "DISTORTIONS",
    "Distortion",
    "distort",
]
