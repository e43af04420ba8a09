"""Small helpers shared by the commands."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from ..io import write_json

__all__ = ["print_json", "write_json", "json_stdout_only", "remove_if_empty"]

# Text print_json produced while json_stdout_only is active, written to stdout at its end.
_PENDING_JSON: ContextVar[list[str] | None] = ContextVar("stylebias_pending_json", default=None)


def print_json(obj: Any) -> None:
    """Print ``obj`` as indented JSON on stdout (at the end of :func:`json_stdout_only`)."""
    text = json.dumps(obj, indent=2, sort_keys=False) + "\n"
    pending = _PENDING_JSON.get()
    if pending is None:
        sys.stdout.write(text)
    else:
        pending.append(text)


@contextmanager
def json_stdout_only() -> Iterator[None]:
    """Send everything written to stdout inside the block to stderr, except :func:`print_json`.

    ``--json`` promises stdout holds JSON alone, but user model files, libraries and C
    extensions print while a command runs (e.g. "Loaded pretrained weights ..."). Inside the
    block ``sys.stdout`` is ``sys.stderr`` and file descriptor 1 points at descriptor 2, so
    Python prints and C-level writes both land on stderr; the JSON that :func:`print_json`
    collected is written to the real stdout when the block ends (also after an error).
    """
    real_stdout = sys.stdout
    real_stdout.flush()
    _flush_c_stdio()
    saved_fd = _redirect_fd(1, to=2)
    pending: list[str] = []
    token = _PENDING_JSON.set(pending)
    sys.stdout = sys.stderr
    try:
        yield
    finally:
        sys.stdout = real_stdout
        _PENDING_JSON.reset(token)
        sys.stderr.flush()
        _flush_c_stdio()
        real_stdout.flush()  # what was buffered through saved references still goes to stderr
        if saved_fd is not None:
            os.dup2(saved_fd, 1)
            os.close(saved_fd)
        real_stdout.write("".join(pending))
        real_stdout.flush()


def _redirect_fd(fd: int, *, to: int) -> int | None:
    """Point ``fd`` at ``to``; returns a duplicate of the old ``fd`` (``None`` if impossible)."""
    try:
        saved = os.dup(fd)
    except OSError:  # fd closed (e.g. a daemon): nothing to protect
        return None
    try:
        os.dup2(to, fd)
    except OSError:
        os.close(saved)
        return None
    return saved


def _flush_c_stdio() -> None:
    """Flush the C library's stdio buffers (printf from extensions), where ctypes can."""
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError, TypeError):  # no libc handle (e.g. Windows)
        pass


def remove_if_empty(folder: str | os.PathLike[str]) -> None:
    """Delete ``folder`` if it holds no files (only empty sub-folders); never touch a file.

    A command that failed before writing anything must not leave the output folder it made.
    """
    root = Path(folder)
    if not root.is_dir() or root.is_symlink():
        return
    dirs = []
    for path in root.rglob("*"):
        if path.is_symlink() or not path.is_dir():
            return  # something was written: keep everything
        dirs.append(path)
    for path in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
        path.rmdir()
    root.rmdir()
