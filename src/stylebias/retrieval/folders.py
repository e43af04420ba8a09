"""Re-id evaluation of a model on Market-1501 style query and gallery folders.

This is what ``stylebias retrieval`` runs: load the model by spec, embed every image (resized
to ``height x width`` without cropping, as re-id models expect; flip fusion on by default),
then rank the gallery for each query under the Market-1501 protocol.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch.utils.data import Dataset

from .._checks import check_choice, check_positive
from ..runtime import resolve_device
from ..errors import DataError, InvalidArgumentError
from ..image_files import ImageFiles, image_loader
from ..io import list_images, load_image, to_tensor
from ..models import load_model, output_width
from .distance import METRICS
from .features import extract_features
from .market import DISTRACTOR_PID, JUNK_PID, ReidSplit, reid_split
from .metrics import AP_MODES, RetrievalResult, evaluate_features

__all__ = ["ReidImages", "ReidEvalConfig", "ReidEvalReport", "evaluate_reid_folders"]

log = logging.getLogger(__name__)


def read_reid_image(path: str | os.PathLike[str], size: tuple[int, int]) -> torch.Tensor:
    """One file resized to ``size = (width, height)`` (bilinear, no crop), ``(3, H, W)`` in [0, 1].

    Raises:
        DataError: the file cannot be read (naming it).
    """
    return to_tensor(load_image(path).resize(size, Image.Resampling.BILINEAR))


class ReidImages(Dataset):
    """Images resized to ``(height, width)`` (no crop), as ``(3, H, W)`` RGB in [0, 1].

    Args:
        paths: image files.
        height, width: output size in pixels (re-id default 256 x 128).
    """

    def __init__(self, paths: Sequence[str | os.PathLike[str]], height: int = 256, width: int = 128):
        self.paths = list(paths)
        self.size = (int(check_positive(width, "width")), int(check_positive(height, "height")))

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        return read_reid_image(self.paths[index], self.size)


def _rgb_triple(value: Any, name: str) -> tuple[float, float, float] | None:
    if value is None:
        return None
    triple = tuple(float(v) for v in value)
    if len(triple) != 3:
        raise InvalidArgumentError(f"{name} must have 3 values (R, G, B); got {list(value)}")
    return triple  # type: ignore[return-value]


@dataclass(frozen=True)
class ReidEvalConfig:
    """Everything :func:`evaluate_reid_folders` needs (the CLI fills it from its flags).

    Attributes:
        model: model spec for :func:`stylebias.models.load_model`, e.g. ``"nets.py:build"``;
            the model maps ``(B, 3, H, W)`` RGB in [0, 1] to features ``(B, D)``.
        query, gallery: folders of Market-1501 named images (searched recursively).
        height, width: input size in pixels; images are resized without cropping.
        mean, std: override the model's normalisation statistics (3 values each).
        flip: fuse the features of each image and its mirror (then L2-normalise).
        normalize: L2-normalise features; ``None``: only with ``flip``.
        metric: ``"euclidean"`` (squared) or ``"cosine"``.
        max_rank: length of the CMC curve.
        ap_mode: ``"noninterpolated"`` (torchreid) or ``"trapezoid"`` (official Market-1501).
        batch_size: images per forward pass.
        chunk_size: queries ranked at once.
        num_workers: DataLoader worker processes for image decoding.
        device: where the model runs; ``None``: CUDA when available, else CPU.
        pretrained: load pretrained weights for torchvision/timm/registered specs.
    """

    model: str
    query: Path
    gallery: Path
    height: int = 256
    width: int = 128
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None
    flip: bool = True
    normalize: bool | None = None
    metric: str = "euclidean"
    max_rank: int = 50
    ap_mode: str = "noninterpolated"
    batch_size: int = 64
    chunk_size: int = 256
    num_workers: int = 0
    device: str | None = None
    pretrained: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "query", Path(self.query))
        object.__setattr__(self, "gallery", Path(self.gallery))
        object.__setattr__(self, "mean", _rgb_triple(self.mean, "mean"))
        object.__setattr__(self, "std", _rgb_triple(self.std, "std"))
        check_choice(self.metric, METRICS, "metric")
        check_choice(self.ap_mode, AP_MODES, "ap_mode")
        for name in ("height", "width", "max_rank", "batch_size", "chunk_size"):
            check_positive(getattr(self, name), name)
        check_positive(self.num_workers, "num_workers", allow_zero=True)


@dataclass(frozen=True)
class ReidEvalReport:
    """Result of :func:`evaluate_reid_folders`: the metrics plus what was read."""

    result: RetrievalResult
    config: ReidEvalConfig
    query: ReidSplit
    gallery: ReidSplit
    feature_dim: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: metrics (fractions), image counts, junk/distractor counts, settings."""
        cfg = {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(self.config).items()}
        return {
            **self.result.to_dict(),
            "num_query_images": len(self.query),
            "num_gallery_images": len(self.gallery),
            "dropped_query_images": {str(k): v for k, v in sorted(self.query.dropped.items())},
            "dropped_gallery_images": {str(k): v for k, v in sorted(self.gallery.dropped.items())},
            "num_gallery_distractors": sum(p == DISTRACTOR_PID for p in self.gallery.pids),
            "feature_dim": self.feature_dim,
            "config": cfg,
        }


def _split(folder: Path, drop: tuple[int, ...], what: str) -> ReidSplit:
    split = reid_split(list_images(folder), drop_pids=drop)
    if not len(split):
        raise DataError(
            f"the {what} folder {folder} holds no usable image: all {sum(split.dropped.values())} "
            f"have a junk/distractor identity ({', '.join(map(str, drop))})"
        )
    return split


def _check_model_fits(model: torch.nn.Module, path: Path, config: ReidEvalConfig, device: str) -> None:
    """Run the model once on the first query image (as a batch of two), so that a model that
    fails on the input size or returns no ``(B, D)`` features is refused here, clearly."""
    image = ReidImages([path], config.height, config.width)[0]
    x = image.unsqueeze(0).repeat(2, 1, 1, 1).to(device)
    output_width(model, x, what="a feature extractor",
                 sample=f"the first query image {path} (resized to --height {config.height} --width {config.width})")


def evaluate_reid_folders(config: ReidEvalConfig) -> ReidEvalReport:
    """Embed query and gallery folders with a model and compute CMC / mAP / mINP.

    Queries with identity -1 (junk) or 0 (distractor) are left out; in the gallery junk is
    left out and distractors stay as wrong answers (torchreid's Market-1501 loader).

    Args:
        config: see :class:`ReidEvalConfig`.

    Returns:
        A :class:`ReidEvalReport`.

    Raises:
        DataError: a folder is missing or empty, a file name does not parse, an image cannot be
            read, or no query has a true match.
        InvalidArgumentError, UnknownNameError, MissingFileError: from the model spec.
        ModelOutputError: the model fails on the images or does not return ``(B, D)`` features.
    """
    device = str(resolve_device(config.device))  # a missing device is refused before any work
    query = _split(config.query, (JUNK_PID, DISTRACTOR_PID), "query")
    gallery = _split(config.gallery, (JUNK_PID,), "gallery")
    overrides = {k: v for k, v in (("mean", config.mean), ("std", config.std)) if v is not None}
    loaded = load_model(
        config.model, pretrained=config.pretrained, device=device, preprocess=overrides or None
    )
    _check_model_fits(loaded.model, Path(query.paths[0]), config, device)
    log.info(
        "embedding %d query and %d gallery images with %s on %s",
        len(query), len(gallery), loaded.spec.text, device,
    )  # fmt: skip

    def features(split: ReidSplit) -> torch.Tensor:
        files = ImageFiles(split.paths, partial(read_reid_image, size=(config.width, config.height)))
        loader = image_loader(files, batch_size=config.batch_size, num_workers=config.num_workers,
                              device="cpu")  # fmt: skip
        batches = (batch.checked() for batch in loader)  # DataError naming unreadable files
        return extract_features(
            loaded.model, batches, flip=config.flip, normalize=config.normalize, device=device
        )

    qf, gf = features(query), features(gallery)
    result = evaluate_features(
        qf.to(device), gf.to(device), query.pids, gallery.pids, query.camids, gallery.camids,
        config.max_rank, metric=config.metric, ap_mode=config.ap_mode, chunk_size=config.chunk_size,
    )  # fmt: skip
    return ReidEvalReport(result, config, query, gallery, feature_dim=qf.shape[1])
