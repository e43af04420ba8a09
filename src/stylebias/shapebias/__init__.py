"""Shape bias of image classifiers (Geirhos et al., ICLR 2019) and Grad-CAM explanations.

>>> from stylebias.shapebias import evaluate
>>> result = evaluate("torchvision:resnet50", "stimuli/cue-conflict")   # doctest: +SKIP
>>> result.shape_bias, result.accuracy, result.per_category["cat"]     # doctest: +SKIP

Raw-data CSV files of model-vs-human (humans and published CNNs) give the same metrics with
:func:`result_from_csv`; :func:`plot_shape_bias` draws the classic figure.
"""

from .categories import CATEGORIES, aggregation_matrix, imagenet_indices, logits_to_decisions, probabilities_to_16
from .evaluate import classify, compare, evaluate, resolve_model
from .explain import explain
from .gradcam import find_target_layer, grad_cam
from .metrics import ShapeBiasResult, Trial, accuracy, shape_bias
from .plot import plot_shape_bias
from .rawdata import COLUMNS, raw_csv_name, read_trials, result_from_csv, results_from_csvs, write_trials
from .stimuli import STIMULUS_SETS, Stimulus, find_stimuli, parse_cue_conflict_name, published_stimuli

__all__ = [
    "evaluate",
    "compare",
    "classify",
    "resolve_model",
    "ShapeBiasResult",
    "Trial",
    "shape_bias",
    "accuracy",
    "CATEGORIES",
    "imagenet_indices",
    "aggregation_matrix",
    "probabilities_to_16",
    "logits_to_decisions",
    "STIMULUS_SETS",
    "Stimulus",
    "find_stimuli",
    "parse_cue_conflict_name",
    "published_stimuli",
    "COLUMNS",
    "read_trials",
    "write_trials",
    "result_from_csv",
    "results_from_csvs",
    "raw_csv_name",
    "plot_shape_bias",
    "grad_cam",
    "find_target_layer",
    "explain",
]
