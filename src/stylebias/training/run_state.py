"""``RunState``: what a training run carries from step to step, and its checkpoint.

The checkpoint's keys are written by :meth:`RunState.state_dict` and read by
:meth:`RunState.load_state_dict` / :meth:`RunState.restore_random_state` alone; the keys every
checkpoint must hold are :data:`~stylebias.training.run_folder.CHECKPOINT_KEYS`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import DataError
from ..runtime import rng_state, set_rng_state, unwrap
from .methods import Method

__all__ = ["RunState"]


@dataclass
class RunState:
    """The method (which holds the network, DDP-wrapped or not), its optimiser, scheduler and
    grad scaler, every random generator the run draws from, the step reached and the
    evaluations so far.

    Attributes:
        method: owns the network (``method.model``) and the grad scaler.
        optimizer, scheduler: the method's optimiser and its learning-rate schedule.
        layer_generator: the method's generator (style layers, pairings, on-the-fly stylization).
        device: where the run computes (its CUDA RNG is part of the state).
        config, hparams: the run's config and resolved hyperparameters (stored for identity checks).
        step: optimisation steps done.
        history: one row per evaluation.
    """

    method: Method
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    layer_generator: torch.Generator
    device: torch.device
    config: dict[str, Any]
    hparams: dict[str, Any]
    step: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def network(self) -> nn.Module:
        """The bare network (inside any DDP wrapper)."""
        return unwrap(self.method.model)

    def state_dict(self) -> dict[str, Any]:
        """The checkpoint: weights, optimiser, schedule, scaler, every RNG state, step, history, config."""
        return {
            "step": self.step, "model": self.network.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "scaler": self.method.scaler.state_dict(),  # type: ignore[union-attr]
            **rng_state(self._generators(), self.device),  # layer generator, torch_rng, cuda_rng
            "history": json.dumps(self.history), "config": json.dumps(self.config), "hparams": json.dumps(self.hparams),
        }

    def _generators(self) -> dict[str, torch.Generator]:
        """The run's named generators, by their checkpoint keys."""
        return {"layer_generator": self.layer_generator}

    def load_state_dict(self, state: dict[str, Any], path: Path) -> None:
        """Load weights, optimiser, schedule, scaler, step and history from checkpoint ``state``
        (read from ``path``, named in errors). The random states are restored separately by
        :meth:`restore_random_state`, once start-up has stopped drawing from them.

        Raises:
            DataError: the checkpoint does not fit this run's network or optimiser.
        """
        try:
            self.network.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            self.method.scaler.load_state_dict(state["scaler"])  # type: ignore[union-attr]
        except (RuntimeError, KeyError, ValueError) as err:
            raise DataError(f"checkpoint {path} does not fit this run's model or optimiser ({str(err)[:200]}); "
                            f"delete it to restart from step 0, or delete {path.parent}") from None
        self.step, self.history = int(state["step"]), json.loads(state["history"])

    def restore_random_state(self, state: dict[str, Any]) -> None:
        """Restore every random state of checkpoint ``state``. Call it after everything that
        draws from them at start-up is built (network, data stream, stylizer), so those draws
        cannot shift them."""
        # a generator the checkpoint lacks keeps its seed; one it holds that the run has no more
        # (augment_generator, before stylization drew from the method's) is ignored
        set_rng_state(state, self._generators(), self.device)
