"""Human-likeness of image classifiers: the model-vs-human benchmark metrics (Geirhos et al.).

Decisions are read from raw-data CSV files (:func:`read_decisions`), compared with human
subjects per dataset (:func:`evaluate_dataset`) and averaged over datasets (:func:`summarize`)
exactly as bethgelab/model-vs-human's analysis code does; :func:`bootstrap_summary` and
:func:`compare_ci` add seeded bootstrap intervals. :func:`distort` applies model-vs-human's twelve
parametric distortions (Geirhos et al., NeurIPS 2018) to any batch of images.
:func:`run_benchmark` puts models through the 17 image sets (:mod:`.datasets`), writes their
raw data in model-vs-human's format and compares them with the human subjects.

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
from .datasets import (
    FOLDER_DATASETS,
    SESSION_DATASETS,
    BenchmarkImage,
    benchmark_dataset_dir,
    human_raw_data,
    list_benchmark_images,
    parse_image_path,
)
from .decisions import DecisionTable, infer_column, is_human, normalise_conditions, read_decisions, short_imagename
from .distortions import DISTORTIONS, Distortion, distort
from .labels import check_label_mapping, decision_function, read_label_mapping
from .report import write_report
from .runner import MVH_PREPROCESS, resolve_datasets, results_dict, run_benchmark
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
    "FOLDER_DATASETS",
    "SESSION_DATASETS",
    "BenchmarkImage",
    "parse_image_path",
    "list_benchmark_images",
    "benchmark_dataset_dir",
    "human_raw_data",
    "check_label_mapping",
    "read_label_mapping",
    "decision_function",
    "run_benchmark",
    "resolve_datasets",
    "results_dict",
    "MVH_PREPROCESS",
    "write_report",
]
