"""What every runner shares: devices, process ranks, seeds.

One place decides what ``--device auto`` means, refuses a device the machine does not have
before any work starts, reads the torchrun environment, and turns (seed, purpose, ...) into a
stable 63-bit seed, so that training, stylization and evaluation agree on all three.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from .errors import InvalidArgumentError

__all__ = [
    "resolve_device",
    "check_device",
    "distributed",
    "shard_from_env",
    "unwrap",
    "model_placement",
    "derive_seed",
    "content_seed",
    "default_num_workers",
    "rng_state",
    "set_rng_state",
    "DEVICE_HELP",
]

DEVICE_HELP = "auto (CUDA if available, else CPU), cpu, cuda, cuda:N or mps"


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """The device ``name`` stands for, refused unless this machine has it.

    ``"auto"`` (and ``None``) is CUDA when available (under torchrun the process's
    ``LOCAL_RANK`` device), else the CPU. ``"cuda"`` is the current CUDA device.

    Raises:
        InvalidArgumentError: not a device name, no CUDA/MPS here, or ``cuda:N`` past the
            number of CUDA devices; the message names the devices that exist.
    """
    if name is None or name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError, TypeError):
        raise InvalidArgumentError(f"device {str(name)!r} (--device) is not a device name; use {DEVICE_HELP}") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise InvalidArgumentError(f"device {str(name)!r} (--device): this machine has no CUDA device; use --device cpu or auto")
        if device.index is not None and device.index >= count:
            raise InvalidArgumentError(
                f"device {str(name)!r} (--device): this machine has {count} CUDA device(s), cuda:0..cuda:{count - 1}; "
                "pick one of those, or 'cuda' / 'auto'"
            )
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise InvalidArgumentError(f"device {str(name)!r} (--device): MPS is not available here; use --device cpu or auto")
    elif device.type != "cpu":
        raise InvalidArgumentError(f"device {str(name)!r} (--device) is not supported; use {DEVICE_HELP}")
    return device


def check_device(name: str | torch.device | None) -> None:
    """Raise as :func:`resolve_device` does; for validating a config before any work."""
    resolve_device(name)


def distributed() -> tuple[int, int]:
    """(rank, world size); initialises the process group under torchrun (``WORLD_SIZE`` > 1)."""
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def shard_from_env(rank: int | None = None, world_size: int | None = None) -> tuple[int, int]:
    """(rank, world size): the arguments where given, else torchrun's ``RANK``/``WORLD_SIZE``
    (0 and 1 without torchrun); no process group is started (file-sharded jobs need none).

    Raises:
        InvalidArgumentError: ``world_size < 1`` or ``rank`` outside ``[0, world_size)``.
    """
    rank = rank if rank is not None else int(os.environ.get("RANK", 0))
    world = world_size if world_size is not None else int(os.environ.get("WORLD_SIZE", 1))
    if world < 1 or not 0 <= rank < world:
        raise InvalidArgumentError(f"rank must be in [0, world_size); got rank={rank}, world_size={world}")
    return rank, world


def default_num_workers(device: str | torch.device = "cpu") -> int:
    """DataLoader workers used by default for decoding images.

    On CPU: 0. The model's own intra-op threads already use every core, and decoding a 224-px
    PNG costs a few per cent of a ResNet-50 forward pass; a worker process would only compete
    with those threads (measured in ``benchmarks/shapebias.py``). On a GPU: one worker per CPU
    core but one, at most 8, so decoding overlaps with the GPU's compute.
    """
    if torch.device(device).type == "cpu":
        return 0
    return max(0, min(8, (os.cpu_count() or 1) - 1))


def unwrap(model: nn.Module) -> nn.Module:
    """The network inside a ``DistributedDataParallel`` wrapper (or ``model`` itself)."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def model_placement(model: nn.Module) -> tuple[torch.device, torch.dtype]:
    """Where a model runs and in which float type: the device of its first parameter (or
    buffer; CPU when it has none) and the dtype of its first floating one (else float32).
    Inputs are sent there, so that a model moved or cast by its caller is used as it is."""
    tensors = [*model.parameters(), *model.buffers()]
    device = tensors[0].device if tensors else torch.device("cpu")
    return device, next((t.dtype for t in tensors if t.is_floating_point()), torch.float32)


def derive_seed(*parts: Any) -> int:
    """A 63-bit seed from any parts, e.g. ``(seed, "data")``: stable across processes and
    Python versions (unlike ``hash()``), and different for each purpose."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def content_seed(seed: int, key: str) -> int:
    """The 63-bit seed of one item (e.g. a content file's relative path) under a run's seed.

    ``sha256(f"{seed}\\0{key}")``, first 8 bytes little-endian, top bit cleared. This is
    stylize's style-assignment seed; it is kept apart from :func:`derive_seed` (which joins its
    parts with ``/`` and shifts instead of masking) because changing it would change which
    styles every seeded stylization run already on disk assigned. A key that is not valid
    UTF-8 (a file name's surrogate escapes) hashes as its original bytes.
    """
    digest = hashlib.sha256(f"{seed}\0{key}".encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def rng_state(generators: Mapping[str, torch.Generator], device: torch.device | str = "cpu") -> dict[str, Tensor]:
    """Every random state a run draws from, for a checkpoint: each named generator's state
    under its name, the global CPU state as ``"torch_rng"`` and, on a CUDA ``device``, that
    device's state as ``"cuda_rng"``. :func:`set_rng_state` puts them back."""
    states = {name: gen.get_state() for name, gen in generators.items()}
    states["torch_rng"] = torch.get_rng_state()
    if torch.device(device).type == "cuda":
        states["cuda_rng"] = torch.cuda.get_rng_state(device)
    return states


def set_rng_state(
    state: Mapping[str, Tensor], generators: Mapping[str, torch.Generator], device: torch.device | str = "cpu"
) -> None:
    """Restore what :func:`rng_state` saved (states may come back from ``torch.load`` on any
    device). A named generator the checkpoint lacks (one added after it was written) keeps
    its seeded state; the CUDA state is restored only on a CUDA ``device``.

    Call it after everything that draws at start-up is built, so those draws cannot shift it.
    """
    for name, gen in generators.items():
        if name in state:
            gen.set_state(state[name].cpu())
    torch.set_rng_state(state["torch_rng"].cpu())
    if "cuda_rng" in state and torch.device(device).type == "cuda":
        torch.cuda.set_rng_state(state["cuda_rng"].cpu(), device)
