"""Descriptions of every file stylebias fetches: weights, stimuli, checkpoints.

An :class:`Artifact` is data, not code: where a file lives, its full sha256, its size and licence.
Every artifact is registered in :data:`ARTIFACTS` so that ``stylebias download NAME`` can fetch
it by name. Registering does no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any
from urllib.parse import urlparse

from .._registry import Registry
from ..errors import InvalidArgumentError

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
]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Artifact:
    """One downloadable file, verified by its full sha256.

    Args:
        name: registry name, e.g. ``"adain-decoder"``.
        url: ``https://`` (or ``file://``) address of the file; for a ``manual`` artifact, the
            page the file is obtained from by hand.
        sha256: 64 lower-case hex digits of the file's sha256; None only where the hash cannot
            be known (never guessed): a ``manual`` artifact, or one with ``record_sha256``.
        size: size in bytes, checked before hashing when given.
        filename: name in the cache folder; default: the URL's base name with the first 8 hex
            digits of the sha256 inserted before the suffix (``decoder-379ca41d.pth``), so two
            versions of a file never overwrite each other. Required without a sha256.
        meta: free-form metadata (paper, origin, what the file holds). For a ``manual``
            artifact, ``meta["how"]`` says how to get the file from ``url``.
        license: licence of the file as its authors state it.
        manual: the file cannot be downloaded by a program (e.g. a Google Drive archive);
            :func:`~stylebias.hub.download` only finds it in the cache, where it is placed by hand.
        record_sha256: the publisher gives no hash (e.g. a GitHub release asset): with
            ``sha256=None``, :func:`~stylebias.hub.download` records the file's sha256 next to
            it on first download (``<file>.sha256``) and checks it on every later use.

    Raises:
        InvalidArgumentError: ``sha256`` is not 64 hex digits (or None without ``filename`` and
            one of ``manual``, ``record_sha256``), or ``size`` is negative.
    """

    name: str
    url: str
    sha256: str | None
    size: int | None = None
    filename: str | None = None
    meta: Any = field(default_factory=dict)
    license: str = ""
    manual: bool = False
    record_sha256: bool = False

    def __post_init__(self) -> None:
        if self.sha256 is None:
            if not ((self.manual or self.record_sha256) and self.filename):
                raise InvalidArgumentError(
                    f"artifact {self.name!r}: a sha256 is required, except for a manual or "
                    "record_sha256 artifact with a filename"
                )
            self._check_size()
            object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))
            return
        digest = self.sha256.lower()
        if not _SHA256.match(digest):
            raise InvalidArgumentError(
                f"artifact {self.name!r}: sha256 must be 64 hex digits, got {self.sha256!r}"
            )
        object.__setattr__(self, "sha256", digest)
        self._check_size()
        object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))

    def _check_size(self) -> None:
        if self.size is not None and self.size < 0:
            raise InvalidArgumentError(f"artifact {self.name!r}: size must be >= 0, got {self.size}")

    @property
    def file_name(self) -> str:
        """Name of the file in the cache folder (see ``filename``)."""
        if self.filename:
            return self.filename
        base = PurePosixPath(urlparse(self.url).path).name or self.name
        stem, dot, suffix = base.partition(".")
        return f"{stem}-{(self.sha256 or '')[:8]}{dot}{suffix}"


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


def _register_adain(name: str, file: str, sha256: str, size: int, content: str, alias: str) -> None:
    register_artifact(
        Artifact(name, f"{_ADAIN_RELEASE}/{file}", sha256, size,
                 meta={**_ADAIN_META, "content": content}, license="MIT (naoto0804/pytorch-AdaIN)"),
        aliases=(alias,),
    )


_register_adain("adain-vgg", "vgg_normalised.pth",
                "804ca2835ecf7539f0cd2a7ac3c18ce81e6f8468969ae7117ac0c148d286bb4a", 80_102_481,
                "normalised VGG-19 encoder state_dict (nn.Sequential)", "vgg_normalised")
_register_adain("adain-decoder", "decoder.pth",
                "379ca41d59f3a37eed3599bbbc2560c19da5c458870a5ffd3a9dd41aa88f9472", 14_023_458,
                "AdaIN decoder state_dict (nn.Sequential)", "decoder")


# IEContraAST (Chen et al., NeurIPS 2021) publishes its trained decoder and transformer only in
# one Google Drive archive (README of HalbertCH/IEContraAST, "pre-trained model" link). Drive
# serves it through an interactive confirmation page, so the files are placed by hand; their
# size and sha256 are not published, so none is given here (a placed file is checked by loading
# it strictly into the reference layout with weights_only=True). The VGG in that archive is the
# AdaIN release's vgg_normalised.pth, taken from "adain-vgg" (sha256-checked) instead.
_IECONTRAAST_DRIVE = "https://drive.google.com/file/d/11uddn7sfe8DurHMXa0_tPZkZtYmumRNH/view"
_IECONTRAAST_META = {
    "paper": "Chen et al., Artistic Style Transfer with Internal-external Learning and "
    "Contrastive Learning, NeurIPS 2021",
    "source": "HalbertCH/IEContraAST README, pre-trained model (Google Drive archive)",
}


def _register_iecontraast(name: str, member: str, content: str) -> None:
    how = (f"open {_IECONTRAAST_DRIVE} in a browser, download the archive, extract {member} "
           "(Eval.py's default file; its model/ folder)")
    register_artifact(
        Artifact(name, _IECONTRAAST_DRIVE, None, filename=f"iecontraast-{member}",
                 meta={**_IECONTRAAST_META, "content": content, "member": member, "how": how},
                 license="MIT (HalbertCH/IEContraAST)", manual=True),
    )


_register_iecontraast("contrastive-decoder", "decoder_iter_160000.pth",
                      "IEContraAST decoder state_dict (nn.Sequential, AdaIN decoder layout)")
_register_iecontraast("contrastive-transformer", "transformer_iter_160000.pth",
                      "IEContraAST Transform state_dict (sanet4_1, sanet5_1, merge_conv)")

# --------------------------------------------------------------------------- sets of files
@dataclass(frozen=True)
class ArtifactSet:
    """Many small files fetched one by one (e.g. the 1,280 cue-conflict stimuli).

    The files are listed, with size and sha256, in a manifest shipped as package data
    (``src/stylebias/data/``): one ``path<TAB>size<TAB>sha256`` line per file, ``#`` comments.
    Each file is downloaded from ``base_url + "/" + path`` and kept at
    ``cache_dir / folder / path[len(prefix):]``, so the folder layout of the source is kept.

    Args:
        name: registry name, e.g. ``"cue-conflict"``.
        base_url: URL prefix of every file (pin a commit, never a branch).
        manifest: file name of the manifest in ``stylebias/data``, or an absolute path.
        prefix: only manifest paths starting with this are part of the set; it is dropped from
            the local path.
        folder: sub-folder of the cache folder holding the set.
        meta: free-form metadata.
        license: licence of the files.
    """

    name: str
    base_url: str
    manifest: str
    prefix: str = ""
    folder: str = ""
    meta: Any = field(default_factory=dict)
    license: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))

    def files(self) -> list[tuple[str, Artifact]]:
        """``(local relative path, Artifact)`` for every file, in manifest order."""
        from importlib.resources import files

        source = Path(self.manifest) if Path(self.manifest).is_absolute() else (
            files("stylebias") / "data" / self.manifest
        )
        text = source.read_text(encoding="utf-8")
        out = []
        for line in text.splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            path, size, sha256 = line.split("\t")
            if not path.startswith(self.prefix):
                continue
            rel = path[len(self.prefix):]
            art = Artifact(
                name=f"{self.name}:{rel}",
                url=f"{self.base_url}/{path}",
                sha256=sha256,
                size=int(size),
                filename=PurePosixPath(rel).name,
                license=self.license,
            )
            out.append((rel, art))
        return out


ARTIFACT_SETS: Registry[ArtifactSet] = Registry("artifact set")


def get_artifact_set(name: str | ArtifactSet) -> ArtifactSet:
    """The registered set called ``name`` (an :class:`ArtifactSet` is returned as is)."""
    return name if isinstance(name, ArtifactSet) else ARTIFACT_SETS.get(name)


def register_artifact_set(artifact_set: ArtifactSet, *, aliases: tuple[str, ...] = ()) -> ArtifactSet:
    """Add ``artifact_set`` to :data:`ARTIFACT_SETS` under its name; returns it."""
    return ARTIFACT_SETS.register(artifact_set.name, artifact_set, aliases=aliases)


# Stimuli of Geirhos et al., ICLR 2019, at a pinned commit of rgeirhos/texture-vs-shape. The
# sha256 values were computed from that commit's git blobs (each blob's git SHA-1 checked).
_TVS_COMMIT = "ccd0c01d42c0a8a834e90ec141e7f24fa915dc23"
_TVS_META = {
    "paper": "Geirhos et al., ImageNet-trained CNNs are biased towards texture; increasing shape "
    "bias improves accuracy and robustness, ICLR 2019 (arXiv:1811.12231)",
    "source": f"rgeirhos/texture-vs-shape @ {_TVS_COMMIT}",
}


def _register_texture_vs_shape(name: str, sub: str, aliases: tuple[str, ...], content: str) -> None:
    register_artifact_set(
        ArtifactSet(
            name=name,
            base_url=f"https://raw.githubusercontent.com/rgeirhos/texture-vs-shape/{_TVS_COMMIT}",
            manifest="texture_vs_shape_stimuli.tsv",
            prefix=f"stimuli/{sub}/",
            folder=f"texture-vs-shape-{_TVS_COMMIT[:8]}/{sub}",
            meta={**_TVS_META, "content": content},
            license="CC BY 4.0 (texture-vs-shape DATASET_LICENSE)",
        ),
        aliases=aliases,
    )


_register_texture_vs_shape(
    "cue-conflict", "style-transfer-preprocessed-512", ("texture-vs-shape", "style-transfer-preprocessed-512"),
    "1,280 cue-conflict images (shape of one category, texture of another), 16 folders",
)
_register_texture_vs_shape(
    "silhouettes", "filled-silhouettes", ("filled-silhouettes", "silhouette"),
    "160 filled silhouettes (black shape on white), 16 folders",
)
_register_texture_vs_shape("edges", "edges", ("edge",), "160 edge maps, 16 folders")


# model-vs-human (Geirhos et al., NeurIPS 2021): the 17 benchmark image sets are assets of its
# GitHub release v0.1 (modelvshuman/utils.py, dataset_base_url). No hash is published for them,
# so each archive's sha256 is recorded on first download and checked after (record_sha256). The
# human raw data come file by file from a pinned commit; their sha256 values were computed from
# that commit's git blobs (each blob's git SHA-1 checked).
MVH_COMMIT = "79ed7cd1d9ac3a114e71b6638f0a98bdd627316c"
MVH_RELEASE_URL = "https://github.com/bethgelab/model-vs-human/releases/download/v0.1/{name}.tar.gz"
MVH_DATASETS = ("edge", "silhouette", "cue-conflict", "colour", "contrast", "high-pass", "low-pass",
                "phase-scrambling", "power-equalisation", "false-colour", "rotation", "eidolonI",
                "eidolonII", "eidolonIII", "uniform-noise", "sketch", "stylized")
_MVH_META = {
    "paper": "Geirhos et al., Partial success in closing the gap between human and machine vision, "
    "NeurIPS 2021 (arXiv:2106.07411)",
}

for _name in MVH_DATASETS:
    register_artifact(Artifact(
        f"model-vs-human-{_name}", MVH_RELEASE_URL.format(name=_name), None,
        filename=f"model-vs-human-v0.1-{_name}.tar.gz", record_sha256=True,
        meta={**_MVH_META, "source": "bethgelab/model-vs-human release v0.1",
              "content": f"the {_name} images of the model-vs-human benchmark (tar.gz holding {_name}/)"},
        license="see bethgelab/model-vs-human (images from their original sources)",
    ))

register_artifact_set(ArtifactSet(
    name="model-vs-human-raw-data",
    base_url=f"https://raw.githubusercontent.com/bethgelab/model-vs-human/{MVH_COMMIT}",
    manifest="model_vs_human_raw_data.tsv",
    prefix="raw-data/",
    folder=f"model-vs-human-{MVH_COMMIT[:8]}/raw-data",
    meta={**_MVH_META, "source": f"bethgelab/model-vs-human @ {MVH_COMMIT}",
          "content": "human raw data (trial-level decisions) of the 17 benchmark datasets: 90 CSV files"},
    license="MIT (bethgelab/model-vs-human)",
))
