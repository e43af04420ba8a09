"""The files of a run folder, read back only when they belong to the run asked for.

A run folder holds ``config.json``, ``hparams.json``, ``metrics.jsonl``, ``checkpoint.pt``,
``results.json`` and a ``done`` marker. Every stored config (config.json with hparams.json,
the checkpoint's, results.json's) is compared with the asked run's identity
(:mod:`~stylebias.training.identity`) before it is used; a truncated, foreign or half-finished
file is refused with the fix instead of ending in a traceback or a wrong result.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from ..errors import DataError, InvalidArgumentError
from ..hub import load_torch_file
from ..io import write_json
from .identity import check_same_run, stored_identity

__all__ = [
    "CHECKPOINT", "DONE", "RESULTS", "check_output_dir", "check_stored_config", "read_results",
    "load_checkpoint", "start_run_folder",
]

CHECKPOINT = "checkpoint.pt"
DONE = "done"
RESULTS = "results.json"
CHECKPOINT_KEYS = frozenset({"step", "model", "optimizer", "scheduler", "scaler", "layer_generator", "torch_rng", "history", "config"})
RESULT_KEYS = frozenset({"final", "selected", "history", "config", "hparams"})


def check_output_dir(out: Path) -> None:
    """Raise when ``out`` (or a folder above it) exists but is not a folder."""
    for path in (out, *out.parents):
        if path.exists():
            if not path.is_dir():
                raise InvalidArgumentError(
                    f"output_dir {out} (--output-dir): {path} is a file, not a folder; name another folder"
                )
            return


def _read_json(path: Path, fix: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{path} is not valid JSON ({err}); {fix}") from None


def check_stored_config(out: Path, identity: dict[str, Any]) -> None:
    """Raise when ``out/config.json`` (with ``hparams.json``) records another run than ``identity``."""
    config_path, hparams_path = out / "config.json", out / "hparams.json"
    if not config_path.is_file():
        return
    fix = f"it is not a stylebias run's; use another --output-dir or delete {out}"
    config = _read_json(config_path, fix)
    hparams = _read_json(hparams_path, fix) if hparams_path.is_file() else None
    check_same_run(stored_identity(config, hparams), identity, out, "config.json")


def read_results(out: Path, identity: dict[str, Any]) -> dict[str, Any]:
    """The stored results of the finished run in ``out`` (``done`` present), checked against ``identity``."""
    path = out / RESULTS
    fix = (f"delete {out / DONE} to finish the run again from its checkpoint (no retraining when the "
           f"checkpoint is the last step), or delete {out} to retrain")
    if not path.is_file():
        raise DataError(f"{out} has a '{DONE}' marker but no {RESULTS}; {fix}")
    saved = _read_json(path, fix)
    if not isinstance(saved, dict) or set(saved) != RESULT_KEYS:
        keys = sorted(saved) if isinstance(saved, dict) else type(saved).__name__
        raise DataError(f"{path} is not a stylebias results file (keys {keys}, expected {sorted(RESULT_KEYS)}); {fix}")
    check_same_run(stored_identity(saved["config"], saved["hparams"]), identity, out, RESULTS)
    return saved


def load_checkpoint(out: Path, device: torch.device, identity: dict[str, Any]) -> dict[str, Any]:
    """The checkpoint in ``out``, refused when unreadable, foreign or of another run."""
    path = out / CHECKPOINT
    fix = f"delete {path} to restart the run from step 0, or delete {out}"
    # weights-only, and damaged or foreign files become a DataError naming the file and the fix
    state = load_torch_file(path, what="checkpoint (truncated, or not a stylebias checkpoint?)", map_location=device, fix=fix)
    missing = sorted(CHECKPOINT_KEYS - set(state)) if isinstance(state, dict) else sorted(CHECKPOINT_KEYS)
    if missing:
        raise DataError(f"{path} is not a stylebias training checkpoint (it lacks {', '.join(missing)}); {fix}")
    try:
        config = json.loads(state["config"])
        hparams = json.loads(state["hparams"]) if "hparams" in state else None
    except (TypeError, json.JSONDecodeError):
        raise DataError(f"{path} holds an unreadable config; {fix}") from None
    check_same_run(stored_identity(config, hparams), identity, out, CHECKPOINT)
    return state


def start_run_folder(out: Path, config: dict[str, Any], hparams: dict[str, Any], fresh: bool) -> None:
    """Write config.json and hparams.json; a fresh start first removes an earlier attempt's
    results, done marker and checkpoint, so they are never read back as this run's."""
    if fresh:
        for name in (DONE, RESULTS, CHECKPOINT):
            (out / name).unlink(missing_ok=True)
    write_json(config, out / "config.json")
    write_json(hparams, out / "hparams.json")
