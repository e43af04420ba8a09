"""The records of a ``stylize`` output folder: they always describe exactly the files on disk.

``manifest.jsonl`` holds one record per output image, keyed by its path relative to the
output folder, with the settings that made it (:data:`SETTINGS`: content and style files and
roots, alpha, method, precision, sizes, quality, a hash of the network weights) plus ``seed``,
``bytes`` and ``sha256`` of the written file.

How it stays true:

- every run appends a record to its own journal (``.stylebias/journal-*.jsonl``) right after
  each file is written, so an interrupted run's outputs keep their records;
- a merge (:func:`merge_records`) runs under an exclusive ``flock`` on ``.stylebias/lock``:
  it reads ``manifest.jsonl`` and every journal, keeps for each output the record that matches
  the file on disk (a regular file, not a link, of the recorded size; the sha256 decides
  between differing records) and drops records whose file is gone, then rewrites the manifest
  atomically. So runs into one folder, one after the other or at once, add up;
- a run that would reuse an output made with other settings refuses to start
  (:func:`check_reuse`), naming the settings that differ.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import secrets
import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from ..errors import DataError, InvalidArgumentError
from ..io import atomic_write

__all__ = [
    "SETTINGS",
    "STATE_DIR",
    "Journal",
    "check_output_dir",
    "check_reuse",
    "current_records",
    "file_digest",
    "merge_records",
    "read_jsonl",
    "write_jsonl",
]

log = logging.getLogger(__name__)

STATE_DIR = ".stylebias"
#: Record fields that decide an output's bytes: an output is reused only when all agree.
SETTINGS = ("content_dir", "content", "style_dir", "style", "alpha", "method", "precision",
            "content_size", "style_size", "crop", "max_pixels", "quality", "weights")  # fmt: skip
_SHOWN = 5  # problems listed in an error message


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The records of a JSON-lines file; a torn line (a run killed mid-write) is skipped."""
    if not path.is_file():
        return []
    records = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if line.strip():
                log.warning("ignoring unreadable line %d of %s", number, path)
    return records


def write_jsonl(records: Sequence[dict[str, Any]], path: Path) -> None:
    """Write atomically; an unchanged file is left alone (a resumed run rewrites nothing)."""
    text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records)
    if path.is_file() and path.read_text() == text:
        return
    with atomic_write(path) as tmp:
        tmp.write_text(text)


def file_digest(path: Path) -> str:
    """sha256 of a file, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------- folder checks
def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_output_dir(output_dir: Path, inputs: dict[str, Path]) -> None:
    """Refuse an output folder inside (or holding) an input folder.

    Outputs written inside the content folder would be stylized again by the next run
    (``stylized/stylized/...``); the rule is the one of ``stylebias corrupt``, applied both ways.

    Raises:
        InvalidArgumentError: naming both folders and the fix.
    """
    out = output_dir.resolve()
    for flag, folder in inputs.items():
        root = folder.resolve()
        if _inside(out, root) or _inside(root, out):
            raise InvalidArgumentError(
                f"output_dir {output_dir} and {flag} {folder} overlap (one is inside the other); "
                f"its outputs would be read back as inputs. Choose an output folder outside {folder}"
            )


def _safe_target(root: Path, rel: str, folders: dict[Path, str | None]) -> str | None:
    """Why ``root/rel`` must not be written, or None when it is safe: neither the file nor a
    folder between it and ``root`` is a link (a link could lead out of the output folder, or
    make two outputs one file)."""
    path = root / rel
    if path.is_symlink():
        return f"{path} is a symbolic link (stylize never writes through links; remove it)"
    return _folder_problem(root, path.parent, folders)


def _folder_problem(root: Path, folder: Path, checked: dict[Path, str | None]) -> str | None:
    if folder == root or root not in folder.parents:
        return None
    if folder not in checked:  # one lstat per folder
        if folder.is_symlink():
            where = "outside" if not _inside(folder.resolve(), root.resolve()) else "inside"
            checked[folder] = (f"{folder} is a symbolic link to {folder.resolve()}, {where} the "
                               "output folder (stylize never writes through links; remove it)")
        else:
            checked[folder] = _folder_problem(root, folder.parent, checked)
    return checked[folder]


# --------------------------------------------------------------------------- records
def _on_disk(root: Path, record: dict[str, Any]) -> bool:
    path = root / record["output"]
    if path.is_symlink():
        return False
    try:
        return path.stat().st_size == record.get("bytes")
    except OSError:
        return False


def _journals(root: Path) -> list[Path]:
    state = root / STATE_DIR
    found = state.glob("journal-*.jsonl") if state.is_dir() else []
    return sorted(found, key=lambda p: (p.stat().st_mtime_ns, p.name))


def _candidates(root: Path) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """Output records (oldest first, per output) and skip records of the manifest and journals."""
    outputs: dict[str, list[dict[str, Any]]] = {}
    skipped = read_jsonl(root / "skipped.jsonl")
    for rec in read_jsonl(root / "manifest.jsonl"):
        if "output" in rec and "bytes" in rec:  # records of older versions carry no settings
            outputs.setdefault(rec["output"], []).append(rec)
    for journal in _journals(root):
        for rec in read_jsonl(journal):
            kind = rec.pop("kind", "output")
            if kind == "skipped":
                skipped.append(rec)
            else:
                outputs.setdefault(rec["output"], []).append(rec)
    return outputs, skipped


def _choose(root: Path, records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The record describing the file on disk, or None."""
    valid = [r for r in records if _on_disk(root, r)]
    if len({json.dumps(r, sort_keys=True) for r in valid}) > 1:
        digest = file_digest(root / valid[-1]["output"])
        valid = [r for r in valid if r.get("sha256") == digest]
    return valid[-1] if valid else None


def current_records(root: Path) -> dict[str, dict[str, Any]]:
    """Output path -> the record that describes the file now on disk (read-only)."""
    outputs, _ = _candidates(root)
    chosen = {out: _choose(root, recs) for out, recs in outputs.items()}
    return {out: rec for out, rec in chosen.items() if rec is not None}


@contextmanager
def _folder_lock(root: Path) -> Iterator[None]:
    lock = root / STATE_DIR / "lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _hold_if_finished(journal: Path, stack: ExitStack) -> bool:
    """Lock the journal when no live run holds it (a writer keeps an flock on its journal
    until it is done), keeping the lock until ``stack`` closes; so what is read is final."""
    try:
        fh = stack.enter_context(open(journal, "a"))
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:  # BlockingIOError: a live run's journal
        return False


def merge_records(root: Path) -> tuple[Path, Path]:
    """Rewrite ``manifest.jsonl`` and ``skipped.jsonl`` from everything recorded so far.

    Safe to call from any number of processes at once (an exclusive lock serialises the
    read-modify-write). Journals of finished runs are deleted once merged.

    Returns:
        The paths of ``manifest.jsonl`` and ``skipped.jsonl``.
    """
    root = Path(root)
    with _folder_lock(root), ExitStack() as held:
        finished = [j for j in _journals(root) if _hold_if_finished(j, held)]
        outputs, skipped = _candidates(root)
        chosen = [r for r in (_choose(root, recs) for recs in outputs.values()) if r]
        chosen.sort(key=lambda r: r["output"])
        done = {r["output"] for r in chosen}
        latest = {(s.get("output"), s.get("file")): s for s in skipped if s.get("output") not in done}
        skips = sorted(latest.values(), key=lambda r: (r.get("output") or "", r.get("file") or ""))
        write_jsonl(chosen, root / "manifest.jsonl")
        write_jsonl(skips, root / "skipped.jsonl")
        for journal in finished:  # read under its lock after its writer closed it: all merged
            journal.unlink(missing_ok=True)
    return root / "manifest.jsonl", root / "skipped.jsonl"


class Journal:
    """This run's append-only record file; thread-safe. Holds an flock while open so that
    merges of other runs know it is live."""

    def __init__(self, root: Path) -> None:
        state = Path(root) / STATE_DIR
        state.mkdir(parents=True, exist_ok=True)
        self.path = state / f"journal-{os.getpid()}-{secrets.token_hex(4)}.jsonl"
        with _folder_lock(Path(root)):  # no merge may take it for a dead run's journal
            self._fh = open(self.path, "a")  # noqa: SIM115 - closed in close()
            fcntl.flock(self._fh, fcntl.LOCK_EX)
        self._lock = threading.Lock()

    def add(self, record: dict[str, Any], kind: str = "output") -> None:
        """Append one record (``kind`` ``"output"`` or ``"skipped"``) and flush it."""
        line = json.dumps({**record, "kind": kind}, sort_keys=True) + "\n"
        with self._lock:
            self._fh.write(line)
            self._fh.flush()

    def close(self) -> None:
        if not self._fh.closed:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()


# --------------------------------------------------------------------------- reuse
def check_reuse(
    root: Path, planned: Sequence[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split planned records (without ``bytes``/``sha256``) into finished and to-do.

    An output is finished when its file is on disk with a record of the same settings. A file
    without a (valid) record is redone. Nothing is returned when any output is unsafe.

    Raises:
        DataError: an output path is a link or leads outside ``root`` through one.
        InvalidArgumentError: existing outputs were made with other settings; the message
            names the settings, old and new values, and the fix.
    """
    existing = current_records(root)
    unsafe, conflicts, done, todo = [], [], [], []
    folders: dict[Path, str | None] = {}
    for want in planned:
        problem = _safe_target(root, want["output"], folders)
        if problem:
            unsafe.append(problem)
            continue
        have = existing.get(want["output"])
        if have is None:
            todo.append(want)
            continue
        differ = [k for k in SETTINGS if have.get(k) != want.get(k)]
        (conflicts.append((want["output"], differ, have, want)) if differ else done.append(have))
    if unsafe:
        raise DataError(f"{len(unsafe)} output path(s) are unsafe to write: "
                        + "; ".join(unsafe[:_SHOWN]))  # fmt: skip
    if conflicts:
        raise InvalidArgumentError(_conflict_message(root, conflicts))
    return done, todo


def _conflict_message(root: Path, conflicts: list[tuple[str, list[str], dict, dict]]) -> str:
    lines = []
    for output, differ, have, want in conflicts[:_SHOWN]:
        changes = ", ".join(f"{k}: {have.get(k)!r} on disk, {want.get(k)!r} now" for k in differ)
        lines.append(f"{output} ({changes})")
    keys = sorted({k for _, differ, _, _ in conflicts for k in differ})
    return (
        f"{len(conflicts)} output(s) in {root} already exist, made with other settings "
        f"({', '.join(keys)}): " + "; ".join(lines) + ". Write to a new --output-dir "
        "(output_dir), or delete those outputs to redo them with the new settings"
    )
