"""Downloadable files (weights, stimuli) described as data and fetched with sha256 checks.

>>> from stylebias.hub import download, list_artifacts
>>> "adain-decoder" in list_artifacts()
True
"""

from .download import artifact_path, cache_dir, download, download_set, fetch, sha256_file
from .weights import load_torch_file, load_torchvision_state_dict, torchvision_weights_file
from .manifest import (
    ARTIFACT_SETS,
    ARTIFACTS,
    Artifact,
    ArtifactSet,
    get_artifact,
    get_artifact_set,
    list_artifacts,
    register_artifact,
    register_artifact_set,
)

__all__ = [
    "Artifact",
    "ARTIFACTS",
    "register_artifact",
    "get_artifact",
    "list_artifacts",
    "ArtifactSet",
    "ARTIFACT_SETS",
    "register_artifact_set",
    "get_artifact_set",
    "cache_dir",
    "artifact_path",
    "download",
    "download_set",
    "fetch",
    "sha256_file",
    "load_torch_file",
    "torchvision_weights_file",
    "load_torchvision_state_dict",
]
