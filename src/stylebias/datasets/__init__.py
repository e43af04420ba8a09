"""Datasets: the built-in ShapeTexture benchmark, image folders, CIFAR, DG splits.

Every dataset here yields ``(image, label, domain)`` items with float RGB ``(3, H, W)`` images
in [0, 1] (unless a ``transform`` says otherwise), so one training loop reads them all.
"""

from .cifar import cifar
from .folders import ImageFolderDataset, MultiDomainFolder
from .registry import DATASETS, create_dataset, list_datasets
from .shape_texture import SPLITS, ShapeTexture, ShapeTextureConfig
from .splits import leave_one_domain_out, split_holdout

__all__ = [
    "DATASETS",
    "create_dataset",
    "list_datasets",
    "ShapeTexture",
    "ShapeTextureConfig",
    "SPLITS",
    "ImageFolderDataset",
    "MultiDomainFolder",
    "cifar",
    "leave_one_domain_out",
    "split_holdout",
]
