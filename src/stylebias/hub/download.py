"""Fetch an :class:`~stylebias.hub.manifest.Artifact` into the cache, verified by sha256.

``download`` is idempotent: a cached file whose size and sha256 match is returned without any
network access; anything else is fetched to ``<file>.partial``, hashed, and moved into place with
``os.replace`` only when the hash matches, so the cache never holds a half-written or wrong file.

An artifact whose publisher gives no hash (``record_sha256``) is trusted on first download: its
sha256 is recorded in ``<file>.sha256`` next to it, and every later use (and every re-download)
is checked against that record.
"""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from ..errors import IntegrityError, MissingFileError, UnknownNameError
from ..io import atomic_write
from .manifest import ARTIFACT_SETS, ARTIFACTS, Artifact, ArtifactSet, get_artifact, get_artifact_set

__all__ = ["cache_dir", "download", "download_set", "fetch", "sha256_file", "artifact_path"]

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


def _problem(path: Path, art: Artifact, recorded: str | None = None) -> str | None:
    """Why the file at ``path`` is not a valid copy of ``art`` (``None`` if it is); without a
    published sha256, ``recorded`` (the hash recorded on first download) is expected."""
    size = path.stat().st_size
    if art.size is not None and size != art.size:
        return f"its size is {size:,} bytes, expected {art.size:,}"
    expected = art.sha256 or recorded
    if expected is None:  # manual without a known hash (the loader checks it), or not yet recorded
        return None
    actual = sha256_file(path)
    if actual != expected:
        source = "" if art.sha256 else f" (recorded on first download in {_record_path(path)})"
        return f"its sha256 is {actual}, expected {expected}{source}"
    return None


def _hash_note(art: Artifact) -> str:
    """The hash a hand-placed file is checked against, for messages."""
    return f"sha256 {art.sha256}" if art.sha256 else "no published sha256: it is recorded on first use"


def _record_path(target: Path) -> Path:
    """Where the sha256 of a ``record_sha256`` artifact is recorded: ``<file>.sha256``."""
    return target.with_name(target.name.removesuffix(".partial") + ".sha256")


def _recorded_sha256(art: Artifact, target: Path) -> str | None:
    """The sha256 recorded for ``art`` (``None``: nothing recorded, or a published hash)."""
    record = _record_path(target)
    if art.sha256 is not None or not art.record_sha256 or not record.is_file():
        return None
    digest = record.read_text(encoding="utf-8").split(maxsplit=1)[0] if record.stat().st_size else ""
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise IntegrityError(
            f"{record} does not hold a sha256 (got {digest[:80]!r}); delete it, and {target} with it "
            f"unless you have checked that file, to record the hash again on the next download"
        )
    return digest


def _record_sha256(art: Artifact, target: Path) -> None:
    """Record the sha256 of a ``record_sha256`` artifact's file on its first use."""
    if art.sha256 is not None or not art.record_sha256 or _record_path(target).is_file():
        return
    digest = sha256_file(target)
    with atomic_write(_record_path(target)) as tmp:
        tmp.write_text(f"{digest}  {target.name}\n", encoding="utf-8")
    log.info("recorded sha256 %s of %s (no published hash); later uses are checked against it", digest, target)


def stream_url(url: str, partial: Path, *, progress: bool, desc: str, size: int | None = None) -> None:
    """Stream ``url`` into the file ``partial`` (deleted again on failure).

    Raises:
        urllib.error.URLError, OSError, ValueError: the download failed; callers turn these
            into a :class:`MissingFileError` saying where to put the file by hand.
    """
    request = urllib.request.Request(url, headers={"User-Agent": "stylebias"})
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response, open(partial, "wb") as out:
            total = response.headers.get("Content-Length") if hasattr(response, "headers") else None
            total = int(total) if total else size
            bar = None
            if progress:
                from tqdm.auto import tqdm

                bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                           desc=desc, leave=False)
            try:
                while block := response.read(_CHUNK):
                    out.write(block)
                    if bar is not None:
                        bar.update(len(block))
            finally:
                if bar is not None:
                    bar.close()
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _fetch(art: Artifact, partial: Path, progress: bool) -> None:
    """Stream ``art.url`` into ``partial``; network failures raise ``MissingFileError``."""
    try:
        stream_url(art.url, partial, progress=progress, desc=art.file_name, size=art.size)
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        raise MissingFileError(
            f"could not download {art.name!r} from {art.url} ({reason}). "
            f"Download that URL by hand (any machine with internet access) and put the file at "
            f"{partial.with_suffix('')} ({_hash_note(art)}); or set $STYLEBIAS_HOME to a folder "
            f"that already holds {art.file_name}."
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
            download failed (no network), or a ``manual`` artifact is not in the cache; the
            message gives the URL and where to put the file.
        IntegrityError: the downloaded file's sha256 differs from the expected one.

    Example:
        >>> path = download("adain-decoder", download=False)  # doctest: +SKIP
    """
    art = get_artifact(artifact)
    folder = _resolve_dir(cache_dir)
    target = folder / art.file_name
    recorded = _recorded_sha256(art, target)
    if target.is_file():
        problem = _problem(target, art, recorded)
        if problem is None:
            _record_sha256(art, target)  # a file placed by hand: its first use records it
            return target
        if not download or art.manual:
            raise IntegrityError(
                f"cached file {target} is corrupt: {problem}. Delete it and run "
                f"`stylebias download {art.name}`, or replace it with a good copy of {art.url}."
            )
        log.warning("cached %s is corrupt (%s); downloading it again", target, problem)
    elif art.manual:
        raise MissingFileError(
            f"{art.name!r} is not in the cache and cannot be downloaded by a program: "
            f"{art.meta.get('how', f'get it from {art.url}')}, and save it as {target} (or "
            f"set $STYLEBIAS_HOME to a folder that holds {art.file_name})."
        )
    elif not download:
        raise MissingFileError(
            f"{art.name!r} is not in the cache: expected {target}. Run `stylebias download "
            f"{art.name}` (or download {art.url} by hand and save it as {target}; "
            f"{_hash_note(art)})."
        )
    folder.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    log.info("downloading %s to %s", art.url, target)
    _fetch(art, partial, progress)
    problem = _problem(partial, art, recorded)
    if problem is not None:
        actual = sha256_file(partial)
        partial.unlink(missing_ok=True)
        changed = (f"delete {_record_path(target)} if you trust the new file" if recorded
                   else f"download it by hand, check it, and save it as {target}")
        raise IntegrityError(
            f"downloaded file for {art.name!r} ({partial}, from {art.url}) failed verification: "
            f"{problem} (expected sha256 {art.sha256 or recorded}, actual {actual}). The file was "
            f"deleted. Try again; if it keeps failing the file upstream has changed: {changed}."
        )
    os.replace(partial, target)
    _record_sha256(art, target)
    return target



def _stamp_for(artifact_set: ArtifactSet, files: list[tuple[str, Artifact]]) -> str:
    digest = hashlib.sha256()
    for rel, art in files:
        digest.update(f"{rel}\t{art.size}\t{art.sha256}\n".encode())
    return f"{artifact_set.name}\t{digest.hexdigest()}\n"


def download_set(
    artifact_set: str | ArtifactSet,
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    progress: bool = True,
    workers: int = 8,
) -> Path:
    """Folder holding every file of ``artifact_set``, each verified by size and sha256.

    Files already present and valid are not fetched again; the others are downloaded one by
    one (``workers`` at a time) through :func:`download`. After a full verification a stamp
    file ``.verified`` is written; while it matches the manifest, later calls only check that
    every file exists with the right size (no hashing).

    Args:
        artifact_set: an :class:`ArtifactSet` or the name of a registered one
            (``"cue-conflict"``, ``"silhouettes"``, ``"edges"``).
        cache_dir: see :func:`cache_dir`; the set lives in ``cache_dir / artifact_set.folder``.
        download: fetch missing or corrupt files; with ``False`` they raise instead.
        progress: show a progress bar over the files being fetched.
        workers: parallel downloads.

    Returns:
        The set's folder.

    Raises:
        MissingFileError: files are missing and ``download=False``, or could not be
            downloaded; the message names them.
        IntegrityError: a file failed verification.
    """
    aset = get_artifact_set(artifact_set)
    root = _resolve_dir(cache_dir) / aset.folder
    files = aset.files()
    stamp = root / ".verified"
    expected_stamp = _stamp_for(aset, files)
    if stamp.is_file() and stamp.read_text() == expected_stamp and all(
        (p := root / rel).is_file() and p.stat().st_size == art.size for rel, art in files
    ):
        return root
    todo = []
    for rel, art in files:
        target = root / rel
        if target.is_file() and _problem(target, art) is None:
            continue
        todo.append((rel, art))
    if todo and not download:
        names = ", ".join(rel for rel, _ in todo[:5]) + (" ..." if len(todo) > 5 else "")
        raise MissingFileError(
            f"{len(todo)} of {len(files)} files of {aset.name!r} are missing or corrupt in {root} "
            f"({names}). Run `stylebias download {aset.name}`, or copy the files from "
            f"{aset.base_url}/{aset.prefix} into that folder."
        )
    if todo:
        log.info("downloading %d files of %s into %s", len(todo), aset.name, root)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(todo), unit="file", desc=aset.name)

        def fetch_one(item: tuple[str, Artifact]) -> None:
            rel, art = item
            _download_file(art, root / Path(rel).parent, progress=False)
            if bar is not None:
                bar.update(1)

        try:
            pool = ThreadPoolExecutor(max_workers=max(1, workers))
            try:
                for future in as_completed([pool.submit(fetch_one, item) for item in todo]):
                    future.result()  # the first failure stops the set (offline: no 1,280 timeouts)
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
        finally:
            if bar is not None:
                bar.close()
    stamp.write_text(expected_stamp)
    return root


def fetch(
    name: str, cache_dir: str | os.PathLike[str] | None = None, *, progress: bool = True
) -> Path:
    """Download a registered artifact or artifact set by name; returns its file or folder.

    Raises:
        UnknownNameError: the name is neither an artifact nor a set (lists both).
    """
    if name in ARTIFACTS:
        return download(name, cache_dir, progress=progress)
    if name in ARTIFACT_SETS:
        return download_set(name, cache_dir, progress=progress)
    available = sorted([*ARTIFACTS, *ARTIFACT_SETS])
    raise UnknownNameError(
        f"nothing to download is called {name!r}; available: {', '.join(available)} "
        f"(see `stylebias list artifacts`)"
    )


_download_file = download  # ``download_set``'s ``download`` argument shadows the function
