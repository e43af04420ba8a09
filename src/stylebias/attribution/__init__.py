"""Attribution: information-bottleneck heatmaps (IBA) and faithfulness scores of attribution maps.

>>> from stylebias.attribution import estimate_feature_stats, iba, deletion_curve, area_under_curve
>>> stats = estimate_feature_stats(model, "layer2", loader)                  # doctest: +SKIP
>>> result = iba(model, images, "layer2", stats)                             # doctest: +SKIP
>>> area_under_curve(deletion_curve(model, images, result.heatmaps))         # doctest: +SKIP

Grad-CAM lives in :mod:`stylebias.shapebias.gradcam`; the rest of the CAM family comes from the
grad-cam library (:mod:`.cam`, the ``cam`` extra), as does ROAD's imputation (:mod:`.road`).
"""

from .cam import CAM_METHODS, library_cam
from .masks import object_share, silhouette_for, silhouette_mask
from .road import ROADScores, noisy_linear_impute, road, road_keep_mask
from .bottleneck import FeatureStats, capacity, capacity_heatmap, gaussian_kernel, restrict_information, smooth_lambda
from .faithfulness import area_under_curve, blur_substrate, causal_curve, deletion_curve, insertion_curve
from .geometry import crop_box, heatmap_to_image
from .iba import IBAResult, estimate_feature_stats, iba, resolve_layer
from .report import ATTRIBUTION_METHODS, attribute_files, default_iba_layer

__all__ = [
    "CAM_METHODS",
    "library_cam",
    "object_share",
    "silhouette_for",
    "silhouette_mask",
    "road",
    "ROADScores",
    "road_keep_mask",
    "noisy_linear_impute",
    "attribute_files",
    "ATTRIBUTION_METHODS",
    "default_iba_layer",
    "heatmap_to_image",
    "crop_box",
    "FeatureStats",
    "IBAResult",
    "estimate_feature_stats",
    "iba",
    "resolve_layer",
    "capacity",
    "capacity_heatmap",
    "gaussian_kernel",
    "restrict_information",
    "smooth_lambda",
    "deletion_curve",
    "insertion_curve",
    "causal_curve",
    "area_under_curve",
    "blur_substrate",
]
