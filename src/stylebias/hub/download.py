"""Fetch an :class:`~stylebias.hub.manifest.Artifact` into the cache, verified by sha256.

``download`` is idempotent: a cached file whose size and sha256 match is returned without any
network access; anything else is fetched to ``<file>.partial``, hashed, and moved into place with
``os.replace`` only when the hash matches, so the cache never holds a half-written or wrong file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.error
import urllib.request
from pathlib import Path

from ..errors import IntegrityError, MissingFileError
from .manifest import Artifact, get_artifact

__all__ = ["cache_dir", "download", "sha256_file", "artifact_path"]

log = logging.getLogger(__name__)

_CHUNK = 1 << 20
_TIMEOUT_S = 60.0


def cache_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The folder downloaded files are kept in.

    The first of: ``explicit``, ``$STYLEBIAS_HOME``, ``$XDG_CACHE_HOME/stylebias``,
    ``~/.cache/stylebias``. The folder is not created here.
    """
    if explicit is not None:
        return Path(explicit).expanduser()
    if os.environ.get("STYLEBIAS_HOME"):
        return Path(os.environ["STYLEBIAS_HOME"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "stylebias"
    return Path.home() / ".cache" / "stylebias"


_resolve_dir = cache_dir  # ``download``'s ``cache_dir`` argument shadows the function


def artifact_path(artifact: str | Artifact, root: str | os.PathLike[str] | None = None) -> Path:
    """Where ``artifact`` lives (or would live) in the cache folder ``root``; no I/O."""
    return cache_dir(root) / get_artifact(artifact).file_name


def sha256_file(path: str | os.PathLike[str], chunk_size: int = _CHUNK) -> str:
    """Hex sha256 of the file at ``path``, read in chunks of ``chunk_size`` bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()


def _problem(path: Path, art: Artifact) -> str | None:
    """Why the file at ``path`` is not a valid copy of ``art`` (``None`` if it is)."""
    size = path.stat().st_size
    if art.size is not None and size != art.size:
        return f"its size is {size:,} bytes, expected {art.size:,}"
    actual = sha256_file(path)
    if actual != art.sha256:
        return f"its sha256 is {actual}, expected {art.sha256}"
    return None


def _fetch(art: Artifact, partial: Path, progress: bool) -> None:
    """Stream ``art.url`` into ``partial``; network failures raise ``MissingFileError``."""
    request = urllib.request.Request(art.url, headers={"User-Agent": "stylebias"})
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response, open(partial, "wb") as out:
            total = response.headers.get("Content-Length") if hasattr(response, "headers") else None
            total = int(total) if total else art.size
            bar = None
            if progress:
                from tqdm.auto import tqdm

                bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                           desc=art.file_name, leave=False)
            try:
                while block := response.read(_CHUNK):
                    out.write(block)
                    if bar is not None:
                        bar.update(len(block))
            finally:
                if bar is not None:
                    bar.close()
    except (urllib.error.URLError, OSError, ValueError) as err:
        partial.unlink(missing_ok=True)
        reason = getattr(err, "reason", err)
        raise MissingFileError(
            f"could not download {art.name!r} from {art.url} ({reason}). "
            f"Download that URL by hand (any machine with internet access) and put the file at "
            f"{partial.with_suffix('')} (sha256 {art.sha256}); or point --cache-dir / "
            f"$STYLEBIAS_HOME at a folder that already holds {art.file_name}."
        ) from err


def download(
    artifact: str | Artifact,
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    progress: bool = True,
) -> Path:
    """Path of a verified local copy of ``artifact``, downloading it if needed.

    Args:
        artifact: an :class:`Artifact` or the name of a registered one (``"adain-decoder"``).
        cache_dir: folder to keep the file in (see :func:`cache_dir` for the default).
        download: fetch the file when it is missing or corrupt; with ``False`` such a file
            raises instead (no network access at all).
        progress: show a tqdm progress bar while downloading.

    Returns:
        ``cache_dir / artifact.file_name``, whose size and sha256 have been checked.

    Raises:
        UnknownNameError: no artifact is registered under that name.
        MissingFileError: the file is missing (or corrupt) and ``download=False``, or the
            download failed (no network); the message gives the URL and where to put the file.
        IntegrityError: the downloaded file's sha256 differs from the expected one.

    Example:
        >>> path = download("adain-decoder", download=False)  # doctest: +SKIP
    """
    art = get_artifact(artifact)
    folder = _resolve_dir(cache_dir)
    target = folder / art.file_name
    if target.is_file():
        problem = _problem(target, art)
        if problem is None:
            return target
        if not download:
            raise IntegrityError(
                f"cached file {target} is corrupt: {problem}. Delete it and run "
                f"`stylebias download {art.name}`, or replace it with a good copy of {art.url}."
            )
        log.warning("cached %s is corrupt (%s); downloading it again", target, problem)
    elif not download:
        raise MissingFileError(
            f"{art.name!r} is not in the cache: expected {target}. Run `stylebias download "
            f"{art.name}` (or download {art.url} by hand and save it as {target}; "
            f"sha256 {art.sha256})."
        )
    folder.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    log.info("downloading %s to %s", art.url, target)
    _fetch(art, partial, progress)
    problem = _problem(partial, art)
    if problem is not None:
        actual = sha256_file(partial)
        partial.unlink(missing_ok=True)
        raise IntegrityError(
            f"downloaded file for {art.name!r} ({partial}, from {art.url}) failed verification: "
            f"{problem} (expected sha256 {art.sha256}, actual {actual}). The file was deleted. "
            f"Try again; if it keeps failing the file upstream has changed: download it by hand, "
            f"check it, and save it as {target}."
        )
    os.replace(partial, target)
    return target

