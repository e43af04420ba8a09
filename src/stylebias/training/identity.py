"""A training run's identity: the config values that decide its results, and its folder.

Two configs with the same identity train the same model, so a finished run or a checkpoint
is read back only when its stored identity equals the one asked for; anything else is
refused with the differing keys. Left out of the identity, because they do not change the
trained weights or the reported metrics:

* ``output_dir`` (where the files go), ``resume`` (whether to continue);
* ``progress``, ``log_format``, ``tensorboard`` (how progress and metrics are shown);
* ``workers`` (each item is seeded by (seed, epoch, index), so the worker count does not
  change a batch; see :class:`~stylebias.training.data.BatchStream`).

Everything else counts, ``device`` and ``amp`` included (numerics differ). Hyperparameters
count as resolved (the method's defaults merged with the overrides), so ``{"lr": 0.05}`` and
no override are the same run when 0.05 is the default; the method name counts canonically.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .._registry import close_matches
from ..errors import InvalidArgumentError, UnknownNameError
from .hparams import default_hparams, known_hparams
from .methods import METHODS

__all__ = [
    "NON_RESULT_KEYS", "DEFAULT_RUNS_ROOT", "resolve_hparams", "run_identity", "stored_identity",
    "identity_hash", "default_run_dir", "check_same_run",
]

NON_RESULT_KEYS = frozenset({"output_dir", "resume", "progress", "log_format", "tensorboard", "workers"})
DEFAULT_RUNS_ROOT = Path("runs/train")  # a run without output_dir goes to <root>/<method>-<hash>
_MISSING = "<missing>"


def resolve_hparams(method: str, overrides: dict[str, Any], layer: str | None = None) -> dict[str, Any]:
    """The defaults of ``method`` (plus an added style ``layer``'s, as ``"<layer>.<name>"``)
    updated with ``overrides``; unknown names raise with a hint."""
    canonical = METHODS.canonical(method)
    known = known_hparams(canonical, layer)
    unknown = sorted(set(overrides) - known)
    if unknown:
        hints = [f"{name!r} (did you mean {', '.join(map(repr, close))}?)" if (close := close_matches(name, known)) else repr(name)
                 for name in unknown]
        raise InvalidArgumentError(
            f"unknown hyperparameter(s) {', '.join(hints)} for method {canonical!r}"
            f"{f' with layer {layer!r}' if layer else ''} in hparams/--hparams; "
            f"known: {', '.join(sorted(known))}"
        )
    return {**default_hparams(canonical, layer), **overrides}


def _canonical_method(name: Any) -> Any:
    try:
        return METHODS.canonical(name)
    except (UnknownNameError, AttributeError):  # a stored run of a method this version lacks
        return name


def run_identity(config: dict[str, Any], hparams: dict[str, Any]) -> dict[str, Any]:
    """The identity of a run from its config dict and its resolved hparams (JSON-normalised)."""
    ident = {k: v for k, v in config.items() if k not in NON_RESULT_KEYS}
    ident["method"] = _canonical_method(ident.get("method"))
    ident["hparams"] = hparams
    return json.loads(json.dumps(ident, sort_keys=True))


def stored_identity(config: Any, hparams: Any = None) -> dict[str, Any]:
    """The identity of a stored run; without stored ``hparams``, its overrides on today's defaults."""
    if not isinstance(config, dict):
        return {"config": config}  # foreign content: differs from every real identity
    if not isinstance(hparams, dict):
        overrides = config.get("hparams") or {}
        try:
            hparams = {**default_hparams(_canonical_method(config.get("method")), config.get("layer")), **overrides}
        except (UnknownNameError, TypeError):
            hparams = overrides
    return run_identity(config, hparams)


def identity_hash(identity: dict[str, Any]) -> str:
    """10 hex digits of the sha256 of the identity: the folder-name suffix of a run."""
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:10]


def default_run_dir(identity: dict[str, Any]) -> Path:
    """``runs/train/<method>-<hash>``: where a run goes when no output_dir is named."""
    return DEFAULT_RUNS_ROOT / f"{identity['method']}-{identity_hash(identity)}"


def _flat(identity: dict[str, Any]) -> dict[str, Any]:
    """hparams spelt out as ``hparams.<name>`` so a difference names the hyperparameter."""
    out = {k: v for k, v in identity.items() if k != "hparams"}
    hparams = identity.get("hparams")
    if isinstance(hparams, dict):
        out.update({f"hparams.{k}": v for k, v in hparams.items()})
    elif "hparams" in identity:
        out["hparams"] = hparams
    return out


def differences(stored: dict[str, Any], asked: dict[str, Any]) -> list[str]:
    """``"key: stored X, asked Y"`` for every key whose values differ."""
    a, b = _flat(stored), _flat(asked)
    return [
        f"{key}: stored {json.dumps(a.get(key, _MISSING))}, asked {json.dumps(b.get(key, _MISSING))}"
        for key in sorted(set(a) | set(b)) if a.get(key, _MISSING) != b.get(key, _MISSING)
    ]


def check_same_run(stored: dict[str, Any], asked: dict[str, Any], folder: Path, source: str) -> None:
    """Raise unless the run stored in ``folder`` (read from ``source``) is the one asked for."""
    diff = differences(stored, asked)
    if diff:
        shown = "; ".join(diff[:8]) + (f"; and {len(diff) - 8} more" if len(diff) > 8 else "")
        raise InvalidArgumentError(
            f"{folder} holds a different run than the one asked for ({source} differs: {shown}). "
            f"Use another output_dir (--output-dir; left unset, every config gets its own folder "
            f"under {DEFAULT_RUNS_ROOT}), or delete {folder} to start over."
        )
