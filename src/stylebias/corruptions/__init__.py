"""ImageNet-C / CIFAR-C corruptions on batches of tensors, and the mCE metric.

``corrupt(images, "fog", 3, generator)`` applies one of the 15 benchmark corruptions or the 4
extras of Hendrycks & Dietterich (ICLR 2019) to ``(B, 3, H, W)`` images in [0, 1] on any
device; :func:`mce` turns a table of errors into mCE and relative mCE.
"""

from . import blur, digital, noise, weather  # noqa: F401  (registers the corruptions)
from ._base import CORRUPTIONS, Corruption
from ._frost import find_frost_dir
from .api import (
    BENCHMARK_CORRUPTIONS,
    EXTRA_CORRUPTIONS,
    SEVERITIES,
    corrupt,
    list_corruptions,
    parameter_family,
)
from .folder import CorruptFolderResult, corrupt_folder
from .labels import class_index, imagenet_wnids
from .metrics import ALEXNET_CLEAN_ERROR, ALEXNET_ERRORS, BASELINES, MCEResult, mce
from .robustness import RobustnessResult, detect_layout, evaluate_robustness, plot_robustness

__all__ = [
    "corrupt",
    "corrupt_folder",
    "CorruptFolderResult",
    "list_corruptions",
    "parameter_family",
    "find_frost_dir",
    "CORRUPTIONS",
    "Corruption",
    "BENCHMARK_CORRUPTIONS",
    "EXTRA_CORRUPTIONS",
    "SEVERITIES",
    "mce",
    "evaluate_robustness",
    "RobustnessResult",
    "detect_layout",
    "plot_robustness",
    "class_index",
    "imagenet_wnids",
    "MCEResult",
    "ALEXNET_ERRORS",
    "ALEXNET_CLEAN_ERROR",
    "BASELINES",
]
