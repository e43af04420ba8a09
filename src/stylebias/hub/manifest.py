"""Descriptions of every file stylebias fetches: weights, stimuli, checkpoints.

An :class:`Artifact` is data, not code: where a file lives, its full sha256, its size and licence.
Every artifact is registered in :data:`ARTIFACTS` so that ``stylebias download NAME`` can fetch
it by name. Registering does no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from types import MappingProxyType
from typing import Any
from urllib.parse import urlparse

from .._registry import Registry
from ..errors import InvalidArgumentError

__all__ = ["Artifact", "ARTIFACTS", "register_artifact", "get_artifact", "list_artifacts"]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Artifact:
    """One downloadable file, verified by its full sha256.

    Args:
        name: registry name, e.g. ``"adain-decoder"``.
        url: ``https://`` (or ``file://``) address of the file.
        sha256: 64 lower-case hex digits of the file's sha256.
        size: size in bytes, checked before hashing when given.
        filename: name in the cache folder; default: the URL's base name with the first 8 hex
            digits of the sha256 inserted before the suffix (``decoder-379ca41d.pth``), so two
            versions of a file never overwrite each other.
        meta: free-form metadata (paper, origin, what the file holds).
        license: licence of the file as its authors state it.

    Raises:
        InvalidArgumentError: ``sha256`` is not 64 hex digits or ``size`` is negative.
    """

    name: str
    url: str
    sha256: str
    size: int | None = None
    filename: str | None = None
    meta: Any = field(default_factory=dict)
    license: str = ""

    def __post_init__(self) -> None:
        digest = self.sha256.lower()
        if not _SHA256.match(digest):
            raise InvalidArgumentError(
                f"artifact {self.name!r}: sha256 must be 64 hex digits, got {self.sha256!r}"
            )
        object.__setattr__(self, "sha256", digest)
        if self.size is not None and self.size < 0:
            raise InvalidArgumentError(f"artifact {self.name!r}: size must be >= 0, got {self.size}")
        object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))

    @property
    def file_name(self) -> str:
        """Name of the file in the cache folder (see ``filename``)."""
        if self.filename:
            return self.filename
        base = PurePosixPath(urlparse(self.url).path).name or self.name
        stem, dot, suffix = base.partition(".")
        return f"{stem}-{self.sha256[:8]}{dot}{suffix}"


ARTIFACTS: Registry[Artifact] = Registry("artifact")


def register_artifact(artifact: Artifact, *, aliases: tuple[str, ...] = ()) -> Artifact:
    """Add ``artifact`` to :data:`ARTIFACTS` under its name; returns it."""
    return ARTIFACTS.register(artifact.name, artifact, aliases=aliases)


def get_artifact(name: str | Artifact) -> Artifact:
    """The registered artifact called ``name`` (an :class:`Artifact` is returned as is)."""
    return name if isinstance(name, Artifact) else ARTIFACTS.get(name)


def list_artifacts(pattern: str = "*") -> list[str]:
    """Sorted names of registered artifacts matching a wildcard such as ``"adain*"``."""
    return ARTIFACTS.list(pattern)


_ADAIN_RELEASE = "https://github.com/naoto0804/pytorch-AdaIN/releases/download/v0.0.0"
_ADAIN_META = {
    "paper": "Huang & Belongie, Arbitrary Style Transfer in Real-time with Adaptive Instance "
    "Normalization, ICCV 2017 (arXiv:1703.06868)",
    "source": "naoto0804/pytorch-AdaIN release v0.0.0",
}

register_artifact(
    Artifact(
        name="adain-vgg",
        url=f"{_ADAIN_RELEASE}/vgg_normalised.pth",
        sha256="804ca2835ecf7539f0cd2a7ac3c18ce81e6f8468969ae7117ac0c148d286bb4a",
        size=80_102_481,
        meta={**_ADAIN_META, "content": "normalised VGG-19 encoder state_dict (nn.Sequential)"},
        license="MIT (naoto0804/pytorch-AdaIN)",
    ),
    aliases=("vgg_normalised",),
)
register_artifact(
    Artifact(
        name="adain-decoder",
        url=f"{_ADAIN_RELEASE}/decoder.pth",
        sha256="379ca41d59f3a37eed3599bbbc2560c19da5c458870a5ffd3a9dd41aa88f9472",
        size=14_023_458,
        meta={**_ADAIN_META, "content": "AdaIN decoder state_dict (nn.Sequential)"},
        license="MIT (naoto0804/pytorch-AdaIN)",
    ),
    aliases=("decoder",),
)
