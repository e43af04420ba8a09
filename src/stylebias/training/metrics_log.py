"""The metrics log of a run: one JSONL or CSV row per evaluation, appended as the run goes.

Each row is written with a single ``write`` of a whole line, so an interruption can tear at
most the last line; on resume a torn last line is dropped with a warning, and so are the
rows after the checkpoint being resumed (they will be logged again).
"""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path
from typing import Any

from ..errors import DataError, InvalidArgumentError
from ..io import atomic_write

__all__ = ["MetricsLog", "summary_writer_class"]

log = logging.getLogger(__name__)


def summary_writer_class() -> Any:
    """TensorBoard's SummaryWriter, or a clear error when the optional package is missing."""
    try:
        from torch.utils.tensorboard import SummaryWriter  # optional dependency
    except ImportError:
        raise InvalidArgumentError("tensorboard = true needs the tensorboard package: pip install tensorboard") from None
    return SummaryWriter


class MetricsLog:
    """Append-only ``metrics.jsonl`` or ``metrics.csv`` in ``folder``.

    Args:
        folder: the run folder.
        fmt: ``"jsonl"`` or ``"csv"``.
        resume_step: the step of the checkpoint being resumed (0: a fresh start, the log is emptied).
        tensorboard: also write TensorBoard event files.
    """

    def __init__(self, folder: Path, fmt: str, resume_step: int, tensorboard: bool) -> None:
        if fmt not in ("jsonl", "csv"):
            raise InvalidArgumentError(f"log_format must be 'jsonl' or 'csv', got {fmt!r}")
        self.path = folder / f"metrics.{fmt}"
        self.fmt = fmt
        self._keep_rows_up_to(resume_step)
        self.writer = summary_writer_class()(str(folder / "tensorboard")) if tensorboard else None

    def _complete_lines(self) -> tuple[list[str], bool]:
        """The lines of the log that were written whole, and whether a torn last line was dropped."""
        if not self.path.exists():
            return [], False
        text = self.path.read_text(encoding="utf-8", errors="replace")
        torn = bool(text) and not text.endswith("\n")
        if torn:
            log.warning("%s: dropping its torn last line (the run stopped while writing it): %r",
                        self.path, text[text.rfind("\n") + 1:][:80])
            text = text[: text.rfind("\n") + 1]
        return [line for line in text.splitlines() if line.strip()], torn

    def _step(self, line: str, header: list[str], number: int) -> int:
        try:
            if self.fmt == "jsonl":
                return int(json.loads(line)["step"])
            return int(next(csv.reader([line]))[header.index("step")])
        except (ValueError, KeyError, IndexError, TypeError):
            raise DataError(
                f"{self.path} line {number} is not a metrics row: {line[:80]!r}; delete {self.path} "
                "(the run resumes without its earlier rows) or the run folder"
            ) from None

    def _keep_rows_up_to(self, resume_step: int) -> None:
        lines, torn = self._complete_lines()
        header = next(csv.reader(lines[:1]), []) if self.fmt == "csv" else []
        body = lines[1:] if header else lines
        first = 2 if header else 1
        kept = [line for i, line in enumerate(body, first) if resume_step and self._step(line, header, i) <= resume_step]
        if torn or len(kept) != len(body):
            rows = ([lines[0]] if header and kept else []) + kept
            with atomic_write(self.path) as tmp:
                tmp.write_text("".join(line + "\n" for line in rows), encoding="utf-8")

    def _format(self, row: dict[str, Any], header: bool) -> str:
        if self.fmt == "jsonl":
            return json.dumps(row) + "\n"
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(row), extrasaction="ignore", lineterminator="\n")
        if header:
            writer.writeheader()
        writer.writerow(row)
        return buffer.getvalue()

    def write(self, row: dict[str, Any]) -> None:
        """Append one row (CSV: its scalar values; the header first when the file is new)."""
        header = self.fmt == "csv" and (not self.path.exists() or self.path.stat().st_size == 0)
        flat = {k: v for k, v in row.items() if not isinstance(v, (dict, list))}
        text = self._format(flat if self.fmt == "csv" else row, header)
        with open(self.path, "a", encoding="utf-8", newline="") as fh:
            fh.write(text)  # one write of whole lines: an interruption tears at most the last
        if self.writer is not None:
            for key, value in flat.items():
                if isinstance(value, (int, float)) and key != "step":
                    self.writer.add_scalar(key, value, row["step"])
