"""Load torch files without running code from them.

Every file stylebias reads with ``torch.load`` (weights, checkpoints, caches) goes through
:func:`load_torch_file`, which unpickles tensors and plain containers only
(``weights_only=True``) and turns failures into one clear :class:`DataError`.

torchvision's pretrained weights take the same path: torchvision loads them through
``torch.hub.load_state_dict_from_url``, which unpickles with ``weights_only=False`` and checks
the file's hash only when it downloads it, so a file planted in torch's hub cache would run its
payload. :func:`torchvision_weights_file` finds or downloads the published file in that cache
and checks that its sha256 starts with the prefix torchvision puts in the file name
(``resnet18-f37072fd.pth``), exactly the check torchvision makes after a download, but on
every load; :func:`load_torchvision_state_dict` then loads it with :func:`load_torch_file`.
"""

from __future__ import annotations

import logging
import os
import re
import urllib.error
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

import torch

from ..errors import DataError, IntegrityError, MissingFileError
from .download import sha256_file, stream_url

__all__ = ["load_torch_file", "torchvision_weights_file", "load_torchvision_state_dict"]

log = logging.getLogger(__name__)

_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_HASH_IN_NAME = re.compile(r"-([a-f0-9]*)\.")  # torch.hub.HASH_REGEX: "resnet18-f37072fd.pth"
_UNPICKLER_MARK = "WeightsUnpickler error:"
_SAFE_LOAD_FIX = (
    "stylebias loads torch files only as tensors and plain containers "
    "(torch.load with weights_only=True), because unpickling other objects can run arbitrary "
    "code. If you wrote the file, save plain data instead, e.g. "
    "torch.save(model.state_dict(), path); otherwise delete it and get a fresh copy from its source"
)


def load_torch_file(
    path: str | os.PathLike[str],
    *,
    what: str = "torch file",
    map_location: str | torch.device | None = "cpu",
    fix: str | None = None,
) -> Any:
    """``torch.load(path, map_location=..., weights_only=True)`` with errors naming the file.

    Args:
        path: a file written by ``torch.save``.
        what: what the file is, for messages (``"decoder weights"``, ``"checkpoint"``).
        map_location: passed to ``torch.load``.
        fix: what the user should do when the file cannot be loaded (default: save plain
            tensors or get a fresh copy).

    Returns:
        The loaded object (tensors, dicts, lists, numbers, strings).

    Raises:
        MissingFileError: there is no file at ``path``.
        DataError: the file is damaged, not a torch file, or holds objects other than
            tensors and plain containers (such as pickled code); the message names the file,
            what was found and the fix, never torch's advice to retry with ``weights_only=False``.

    Example:
        >>> state = load_torch_file("decoder.pth", what="decoder weights")  # doctest: +SKIP
    """
    file = Path(path)
    if not file.is_file():
        raise MissingFileError(f"{what} {file} does not exist")
    try:
        return torch.load(file, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unpickling failure means a file we refuse
        # `from None`: torch's own message advises retrying with weights_only=False
        raise DataError(
            f"cannot load {what} {file}: {describe_load_error(err)}. {fix or _SAFE_LOAD_FIX}."
        ) from None


def describe_load_error(err: BaseException) -> str:
    """What went wrong in a ``torch.load``, in one line: without ANSI escape codes and without
    torch's advice to retry with ``weights_only=False`` or to allowlist globals."""
    text = " ".join(_ANSI_ESCAPE.sub("", str(err)).split())
    if _UNPICKLER_MARK in text:
        reason = text.split(_UNPICKLER_MARK, 1)[1]
        for advice in ("Please use", "Check the documentation"):  # allowlisting, links
            reason = reason.split(advice, 1)[0]
        reason = reason.strip().rstrip(".") or "unsupported content"
        if reason.startswith("Unsupported global"):  # a class or function: pickled code
            return f"it holds more than tensors and plain containers ({reason})"
        return f"it is damaged or was not written by torch.save ({reason})"
    sentences = [s for s in re.split(r"(?<=\.)\s+", text) if s and "weights_only" not in s]
    return sentences[0].rstrip(".") if sentences else type(err).__name__


# --------------------------------------------------------------------------- torchvision
def _hub_checkpoints() -> Path:
    """torch's hub cache for weights, where torchvision keeps (and users put) its files."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def _hash_prefix_problem(path: Path, prefix: str | None) -> str | None:
    """Why ``path`` is not the published file whose name carries ``prefix`` (None if it is)."""
    if not prefix:
        return None
    actual = sha256_file(path)
    if not actual.startswith(prefix):
        return f"its sha256 is {actual}, which does not start with {prefix} as its name says"
    return None


def torchvision_weights_file(weights: Any, *, download: bool = True, progress: bool = True) -> Path:
    """The verified local file of torchvision weights, downloading it into torch's hub cache.

    Args:
        weights: a torchvision weights enum member (anything with a ``url``), e.g.
            ``ResNet18_Weights.IMAGENET1K_V1``.
        download: fetch the file when it is missing; with ``False`` a missing file raises.
        progress: show a progress bar while downloading.

    Returns:
        ``torch.hub.get_dir() / "checkpoints" / <file name of the URL>``, whose sha256 starts
        with the hex prefix in the file name (names without one are not hash-checked).

    Raises:
        MissingFileError: the file is missing and cannot (or may not) be downloaded; the
            message gives the URL and where to put the file.
        IntegrityError: the cached or downloaded file's sha256 does not match its name.
    """
    url = str(weights.url)
    name = PurePosixPath(urlparse(url).path).name
    match = _HASH_IN_NAME.search(name)
    prefix = match.group(1) if match else None
    folder = _hub_checkpoints()
    target = folder / name
    if target.is_file():
        problem = _hash_prefix_problem(target, prefix)
        if problem is None:
            return target
        raise IntegrityError(
            f"the cached torchvision weights {target} are not the published file {url}: "
            f"{problem}. Delete the file; it will be downloaded again (or put a good copy there)."
        )
    where = (
        f"download {url} on a machine with internet access and put it in {folder} (torch's hub "
        f"cache; set $TORCH_HOME to move it), keeping the file name {name}"
    )
    if not download:
        raise MissingFileError(f"torchvision weights {name} are not in {folder}: {where}.")
    folder.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    log.info("downloading %s to %s", url, target)
    try:
        stream_url(url, partial, progress=progress, desc=name)
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise MissingFileError(
            f"could not download the torchvision weights {url} ({getattr(err, 'reason', err)}). "
            f"Without internet access, {where}."
        ) from err
    problem = _hash_prefix_problem(partial, prefix)
    if problem is not None:
        partial.unlink(missing_ok=True)
        raise IntegrityError(
            f"the download of {url} failed verification: {problem}. The file was deleted; try "
            f"again, or download it by hand, check it and save it as {target}."
        )
    os.replace(partial, target)
    return target


def load_torchvision_state_dict(weights: Any, *, progress: bool = True) -> dict[str, torch.Tensor]:
    """The state_dict of torchvision ``weights``, from :func:`torchvision_weights_file` through
    :func:`load_torch_file` (never ``weights_only=False``).

    Raises:
        MissingFileError, IntegrityError: see :func:`torchvision_weights_file`.
        DataError: the file is not a plain state_dict of tensors.
    """
    path = torchvision_weights_file(weights, progress=progress)
    fix = f"Delete {path}; it will be downloaded again from {weights.url}"
    state = load_torch_file(path, what="torchvision weights", fix=fix)
    if not isinstance(state, dict):
        raise DataError(
            f"torchvision weights {path} hold a {type(state).__name__}, not a state_dict. {fix}."
        )
    return state
