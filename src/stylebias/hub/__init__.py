"""Downloadable files (weights, stimuli) described as data and fetched with sha256 checks.

>>> from stylebias.hub import download, list_artifacts
>>> "adain-decoder" in list_artifacts()
True
"""

from .download import artifact_path, cache_dir, download, sha256_file
from .manifest import ARTIFACTS, Artifact, get_artifact, list_artifacts, register_artifact

__all__ = [
    "Artifact",
    "ARTIFACTS",
    "register_artifact",
    "get_artifact",
    "list_artifacts",
    "cache_dir",
    "artifact_path",
    "download",
    "sha256_file",
]
