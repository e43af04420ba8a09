"""The machinery every style-transfer training recipe shares (``stylebias train-decoder``).

A *recipe* (AdaIN's decoder, the contrastive network) says what is trained and how one step
goes; this module feeds it images, sets the learning rates, averages gradients across
processes, draws the progress bar, and writes and reads checkpoints:

- data: content and style folders, each an endless stream of ``resize -> random crop``
  batches. Item ``p`` of a stream (its place in the sequence of all items any process ever
  draws) is fully determined by the seed and ``p``: the pass ``p // n`` picks a seeded
  permutation and ``p`` seeds the crop. So a resumed run reads exactly the images and crops
  the uninterrupted run would have, with no replay, and under DDP every process draws its own
  items (step ``i``, rank ``r``: items ``(i * world + r) * batch ...``);
- distribution: under torchrun every process runs the recipe on its own batch and the
  gradients are averaged (all-reduce) before each optimizer step: what
  ``DistributedDataParallel`` does, but also for recipes that run a network several times
  per step (the contrastive one runs its decoder three times);
- checkpoints: every trained module and optimizer in ``checkpoint.pt``, written atomically
  after the recipe's published-layout files, so a crash leaves the previous checkpoint.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

import torch
from PIL import Image
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, Sampler

from ..errors import DataError
from ..hub import load_torch_file
from ..io import atomic_write, load_image
from ..runtime import derive_seed

__all__ = ["Recipe", "image_stream", "decayed_lr", "run_recipe", "CHECKPOINT", "GradSync"]

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"

#: Averages the gradients of the given parameters across processes (a no-op in one process).
GradSync = Callable[[Iterable[nn.Parameter]], None]


class Recipe(Protocol):
    """What :func:`run_recipe` needs from a training recipe."""

    #: Trained modules by name; their states go into the checkpoint.
    modules: dict[str, nn.Module]
    #: Optimizers by name (``"optimizer"``, ``"optimizer_d"``); their learning rates follow
    #: :func:`decayed_lr`.
    optimizers: dict[str, torch.optim.Optimizer]
    #: Modules saved in the published layout, by role: ``<role>_iter_<n>.pth`` and
    #: ``<role>.pth`` (the latest), state_dicts on the CPU, as the reference scripts save them.
    published: dict[str, nn.Module]
    #: Content and style images per step and process.
    content_batch: int
    style_batch: int
    #: Fewest images of each kind a step can use (batches shrink when images fail to load).
    min_batch: int

    def step(self, content: Tensor, style: Tensor, sync: GradSync) -> dict[str, Tensor]:
        """One optimisation step on ``(N, 3, H, W)`` images in [0, 1]; the unweighted losses."""
        ...



# ---------------------------------------------------------------------------------- data
class _PositionSampler(Sampler):
    """``(image index, crop seed)`` of the items at positions ``(i * world + rank) * batch + j``
    for steps ``i >= start`` and ``j < batch``: every item a function of (seed, position)."""

    def __init__(self, n: int, seed: int, start: int, batch: int, rank: int, world: int) -> None:
        self.n, self.seed, self.start, self.batch, self.rank, self.world = n, seed, start, batch, rank, world

    def __iter__(self) -> Iterator[tuple[int, int]]:
        cached_pass, order = -1, []
        step = self.start
        while True:
            first = (step * self.world + self.rank) * self.batch
            for position in range(first, first + self.batch):
                if position // self.n != cached_pass:
                    cached_pass = position // self.n
                    gen = torch.Generator().manual_seed(derive_seed(self.seed, "pass", cached_pass))
                    order = torch.randperm(self.n, generator=gen).tolist()
                yield order[position % self.n], derive_seed(self.seed, "crop", position)
            step += 1


class _CroppedImages(Dataset):
    """Resize to ``size x size`` and take a random ``crop x crop`` (the reference transform)."""

    def __init__(self, paths: list[Path], size: int, crop: int, max_pixels: int) -> None:
        self.paths, self.size, self.crop, self.max_pixels = paths, size, crop, max_pixels

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, item: tuple[int, int]) -> Tensor | None:
        index, seed = item
        try:
            image = load_image(self.paths[index], max_pixels=self.max_pixels)
        except DataError as err:
            log.warning("skipping training image: %s", err)
            return None
        image = image.resize((self.size, self.size), Image.Resampling.BILINEAR)
        gen = torch.Generator().manual_seed(seed)
        top, left = (int(torch.randint(self.size - self.crop + 1, (), generator=gen)) for _ in "yx")
        image = image.crop((left, top, left + self.crop, top + self.crop))
        data = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8)
        return data.view(self.crop, self.crop, 3).permute(2, 0, 1).contiguous()


def _collate(items: list[Tensor | None]) -> Tensor:
    good = [x for x in items if x is not None]
    return torch.stack(good) if good else torch.zeros(0, 3, 1, 1, dtype=torch.uint8)


def image_stream(paths: list[Path], *, seed: int, start: int, batch: int, size: int, crop: int,
                 max_pixels: int, workers: int, rank: int = 0, world: int = 1) -> Iterator[Tensor]:  # fmt: skip
    """Endless uint8 batches ``(N, 3, crop, crop)`` of steps ``start, start + 1, ...`` for one
    process; ``N < batch`` when images failed to load (each is logged and skipped)."""
    data = _CroppedImages(paths, size, crop, max_pixels)
    sampler = _PositionSampler(len(paths), seed, start, batch, rank, world)
    loader = DataLoader(data, batch_size=batch, sampler=sampler, num_workers=workers,
                        collate_fn=_collate, drop_last=True)  # fmt: skip
    yield from loader


def decayed_lr(lr: float, lr_decay: float, iteration: int) -> float:
    """``lr / (1 + lr_decay * iteration)``, iterations counted from 0 (the references'
    ``adjust_learning_rate``)."""
    return lr / (1.0 + lr_decay * iteration)


# ---------------------------------------------------------------------------------- processes
def _grad_sync(world: int) -> GradSync:
    if world == 1:
        return lambda params: None
    import torch.distributed as dist

    def sync(params: list[nn.Parameter]) -> None:
        for p in params:
            if p.grad is None:  # a parameter this process's loss did not reach
                p.grad = torch.zeros_like(p)
        flat = torch.cat([p.grad.flatten() for p in params])  # one all-reduce, not one per tensor
        dist.all_reduce(flat)
        flat /= world
        offset = 0
        for p in params:
            p.grad.copy_(flat[offset : offset + p.numel()].view_as(p))
            offset += p.numel()

    return lambda params: sync([p for p in params if p.requires_grad])


def _all_ranks_agree(ok: bool, world: int, device: torch.device) -> bool:
    """True when ``ok`` on every process (so all skip a step together, or none does)."""
    if world == 1:
        return ok
    import torch.distributed as dist

    flag = torch.tensor([0 if ok else 1], device=device)
    dist.all_reduce(flag)
    return int(flag) == 0


# ---------------------------------------------------------------------------------- checkpoints
def _load(recipe: Recipe, path: Path, method: str, device: torch.device) -> tuple[int, list[dict]]:
    state = load_torch_file(path, what="decoder training checkpoint", map_location=device,
                            fix="Delete it to train from iteration 0, or pass --no-resume")  # fmt: skip
    if "modules" not in state and "decoder" in state:  # written before recipes (AdaIN only)
        state = {"modules": {"decoder": state["decoder"]}, "optimizers": {"optimizer": state["optimizer"]},
                 "iteration": state["iteration"], "history": state["history"], "method": method}  # fmt: skip
    saved = state.get("method", "adain")
    if set(state["modules"]) != set(recipe.modules) or (saved == "contrastive") != (method == "contrastive"):
        raise DataError(
            f"{path} is a checkpoint of method {saved!r} training ({', '.join(sorted(state['modules']))}), "
            f"not of {method!r}: pass another --output-dir, or --no-resume to start again there"
        )
    for name, module in recipe.modules.items():
        module.load_state_dict(state["modules"][name])
    for name, optimizer in recipe.optimizers.items():
        optimizer.load_state_dict(state["optimizers"][name])
    return int(state["iteration"]), json.loads(state["history"])


def _cpu_state(module: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}


def _save(recipe: Recipe, out: Path, iteration: int, history: list[dict], method: str) -> None:
    for role, module in recipe.published.items():
        state = _cpu_state(module)
        for name in (f"{role}_iter_{iteration}.pth", f"{role}.pth"):
            with atomic_write(out / name) as tmp:
                torch.save(state, tmp)
    with atomic_write(out / "log.jsonl") as tmp:
        tmp.write_text("".join(json.dumps(r) + "\n" for r in history))
    state = {
        "modules": {n: _cpu_state(m) for n, m in recipe.modules.items()},
        "optimizers": {n: o.state_dict() for n, o in recipe.optimizers.items()},
        "iteration": iteration, "history": json.dumps(history), "method": method,
    }  # fmt: skip
    with atomic_write(out / CHECKPOINT) as tmp:  # last: a crash before it resumes earlier
        torch.save(state, tmp)
    log.info("iteration %d: saved %s", iteration, out / CHECKPOINT)


# ---------------------------------------------------------------------------------- the loop
def run_recipe(recipe: Recipe, cfg: Any, contents: list[Path], styles: list[Path], *,
               device: torch.device, rank: int, world: int) -> dict[str, Any]:  # fmt: skip
    """Train ``recipe`` from its checkpoint in ``cfg.output_dir`` (when ``cfg.resume``) to
    ``cfg.max_iter``; rank 0 writes. Returns the iterations, the last losses and timing."""
    out = Path(cfg.output_dir)
    start, history = 0, []
    if cfg.resume and (out / CHECKPOINT).is_file():
        start, history = _load(recipe, out / CHECKPOINT, cfg.method, device)
        log.info("resuming from %s at iteration %d", out / CHECKPOINT, start)
    # no broadcast of the weights: every process builds them from the same seed and files
    common = dict(start=start, size=cfg.image_size, crop=cfg.crop, max_pixels=cfg.max_pixels,
                  workers=cfg.workers, rank=rank, world=world)  # fmt: skip
    content_iter = image_stream(contents, seed=derive_seed(cfg.seed, "content"), batch=recipe.content_batch, **common)
    style_iter = image_stream(styles, seed=derive_seed(cfg.seed, "style"), batch=recipe.style_batch, **common)
    sync = _grad_sync(world)
    main = rank == 0
    from tqdm.auto import tqdm

    bar = tqdm(total=cfg.max_iter, initial=start, disable=not (cfg.progress and main), unit="it", desc=cfg.method)
    t0 = time.perf_counter()
    losses: dict[str, Tensor] = {}
    for i in range(start, cfg.max_iter):
        lr = decayed_lr(cfg.lr, cfg.lr_decay, i)
        for optimizer in recipe.optimizers.values():
            for group in optimizer.param_groups:
                group["lr"] = lr
        content = next(content_iter).to(device).float().div_(255)
        style = next(style_iter).to(device).float().div_(255)
        if _all_ranks_agree(min(len(content), len(style)) >= recipe.min_batch, world, device):
            losses = recipe.step(content, style, sync)
        else:
            log.warning("iteration %d: too few images loaded (%d content, %d style); step skipped",
                        i + 1, len(content), len(style))  # fmt: skip
        done = i + 1
        bar.update(1)
        if done % cfg.log_every == 0 or done == cfg.max_iter:
            record = {"iteration": done, "lr": lr, **{f"loss_{k}": float(v.detach()) for k, v in losses.items()}}
            history.append(record)
            bar.set_postfix({k[5:]: f"{v:.3g}" for k, v in record.items() if k.startswith("loss_")})
        if main and (done % cfg.save_every == 0 or done == cfg.max_iter):
            _save(recipe, out, done, history, cfg.method)
    bar.close()
    return {
        "iterations": cfg.max_iter,
        "resumed_from": start,
        "seconds": round(time.perf_counter() - t0, 3),
        **{f"loss_{k}": float(v.detach()) for k, v in losses.items()},
        "rank": rank,
        "world_size": world,
    }
