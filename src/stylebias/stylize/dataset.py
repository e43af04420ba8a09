"""Stylize a whole image folder (Stylized-ImageNet and the like): batched, resumable, sharded.

:func:`stylize_dataset` is the library function behind ``stylebias stylize``. It mirrors the
content tree into the output folder, writing ``<stem>-stylized-<style stem><ext>`` for each of
``num_styles`` styles per content image (the naming of bethgelab/stylize-datasets), and a
``manifest.jsonl`` describing every output file on disk: its content and style images and the
settings that made it (see :mod:`.manifest`).

Output names are collision-free (:mod:`.naming`).

How it differs from the one-pair-at-a-time tools:

- contents are decoded in DataLoader workers and stylized in batches of equal padded size;
- each style image is decoded and encoded once per run (its relu4_1 statistics are cached);
- the style assignment is derived from ``(seed, content path)`` only, so it does not depend
  on batch size, worker count or sharding, and the same seed gives byte-identical outputs;
- outputs are written atomically by a thread pool; a rerun skips finished outputs made with
  the same settings and refuses to start when outputs were made with other settings;
- images are downscaled to ``max_pixels`` before the network and a batch holds at most
  ``max_pixels`` pixels, so the network's memory is bounded (:data:`DEFAULT_MAX_PIXELS`);
- unreadable content or style files are logged (naming the file, the reason and which side was
  at fault), recorded in ``skipped.jsonl`` and the run goes on;
- under ``torchrun`` (or with ``rank``/``world_size``) each rank takes every
  ``world_size``-th content image and journals its outputs; the journals are merged.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from .._checks import check_choice, check_prob
from ..errors import InvalidArgumentError
from ..io import list_images
from ..runtime import check_device, content_seed, resolve_device, shard_from_env
from .base import Stylizer
from .factory import STYLIZER_METHODS, check_weight_files, load_stylizer
from .jobs import Job, RankWork, load_resized, run_jobs
from .manifest import STATE_DIR, Journal, check_output_dir, check_reuse, merge_records
from .manifest import read_jsonl as _read_jsonl
from .naming import content_bases, output_suffix, style_names

__all__ = [
    "StylizeConfig",
    "stylize_dataset",
    "assign_styles",
    "merge_manifests",
    "OUTPUT_FORMATS",
    "PRECISIONS",
    "DEFAULT_EXTENSIONS",
    "DEFAULT_MAX_PIXELS",
    "NETWORK_BYTES_PER_PIXEL",
    "iter_manifest",
    "load_resized",
]

log = logging.getLogger(__name__)

OUTPUT_FORMATS = ("same", "jpg", "png", "webp")
PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
DEFAULT_EXTENSIONS = ("png", "jpeg", "jpg")
#: Peak CPU memory of encoder + decoder per input pixel at fp32, batch 1, rounded up: measured
#: (ru_maxrss growth, torch 2.14 CPU) 666-770 bytes/px for AdaIN at 256-1024 px sides and
#: 951 for EFDM at 512 px; the relu1 activations alone are 64 channels x 4 bytes x ~3 live.
NETWORK_BYTES_PER_PIXEL = 1024
#: Largest image (and batch) sent through the network by default: 2 Mpx (e.g. 1448 x 1448),
#: so one forward pass stays near 2 GiB at fp32 whatever the input files hold.
DEFAULT_MAX_PIXELS = (2 * 2**30) // NETWORK_BYTES_PER_PIXEL


@dataclass
class StylizeConfig:
    """Settings of one :func:`stylize_dataset` run (the options of ``stylebias stylize``).

    Args:
        content_dir: folder of content images (searched recursively).
        style_dir: folder of style images (paintings), searched recursively.
        output_dir: where the stylized tree, ``manifest.jsonl`` and ``skipped.jsonl`` go.
        num_styles: styles per content image (distinct styles, drawn without replacement).
        alpha: degree of stylization in [0, 1].
        content_size: resize contents so their shorter side is this many pixels; 0 keeps
            the size. The output has the (resized, cropped) content's exact size.
        style_size: shorter side of the style images before encoding; 0 keeps the size.
        crop: centre-crop contents to ``crop x crop`` after resizing; 0: no crop.
        extensions: file suffixes to use, case-insensitive, with or without the dot.
        seed: style assignment seed; the same seed gives the same assignment and outputs.
        batch_size: content images per forward pass.
        workers: DataLoader worker processes decoding contents (0: in the main process).
        device: ``"auto"`` (CUDA ``LOCAL_RANK`` if available, else CPU), ``"cpu"``, ``"cuda:1"``.
        vgg: path of ``vgg_normalised.pth``; with ``decoder`` None too, the published weights
            are taken from the cache (:meth:`~stylebias.stylize.AdaINStylizer.pretrained`).
        decoder: path of ``decoder.pth`` (``"contrastive"``: ``decoder_iter_*.pth``).
        transformer: ``"contrastive"`` only: path of ``transformer_iter_*.pth``.
        method: ``"adain"``, ``"efdm"`` or ``"contrastive"``.
        precision: ``"fp32"``, ``"bf16"`` or ``"fp16"``: the dtype of the network weights and
            activations (statistics stay float32). bf16 is several times faster on CPUs with
            AMX/AVX512-BF16 and on GPUs; outputs then differ from fp32 by a few 8-bit levels.
        output_format: ``"same"`` (the content's suffix; PNG for suffixes that cannot be
            written), ``"jpg"``, ``"png"`` or ``"webp"``.
        quality: JPEG/WebP quality, 1..100.
        max_pixels: images (contents and styles) with more pixels are downscaled while
            decoding, and a batch holds at most this many pixels (or one image): the network
            needs about :data:`NETWORK_BYTES_PER_PIXEL` bytes per pixel at fp32.
        writers: threads writing output files.
        style_cache_mb: memory for cached style codes (EFDM codes are large; AdaIN's are 4 KB).
        rank: this process's shard; default ``$RANK`` or 0.
        world_size: number of shards; default ``$WORLD_SIZE`` or 1.
        progress: show a progress bar (rank 0 only).
    """

    content_dir: Path
    style_dir: Path
    output_dir: Path
    num_styles: int = 1
    alpha: float = 1.0
    content_size: int = 0
    style_size: int = 512
    crop: int = 0
    extensions: tuple[str, ...] = DEFAULT_EXTENSIONS
    seed: int = 0
    batch_size: int = 8
    workers: int = 2
    device: str = "auto"
    vgg: Path | None = None
    decoder: Path | None = None
    transformer: Path | None = None
    method: str = "adain"
    precision: str = "fp32"
    output_format: str = "same"
    quality: int = 95
    max_pixels: int = DEFAULT_MAX_PIXELS
    writers: int = 2
    style_cache_mb: float = 2048.0
    rank: int | None = None
    world_size: int | None = None
    progress: bool = True

    def validate(self) -> None:
        """Check every value; raises ``InvalidArgumentError`` naming the bad one."""
        for name in ("content_dir", "style_dir", "output_dir"):
            setattr(self, name, Path(getattr(self, name)))
        self.alpha = check_prob(self.alpha, "alpha")
        check_choice(self.method, STYLIZER_METHODS, "method")
        check_device(self.device)  # before any weights are fetched
        check_choice(self.output_format, OUTPUT_FORMATS, "output_format")
        check_choice(self.precision, tuple(PRECISIONS), "precision")
        for name, low in (("num_styles", 1), ("batch_size", 1), ("writers", 1), ("max_pixels", 1),
                          ("content_size", 0), ("style_size", 0), ("crop", 0), ("workers", 0)):
            value = getattr(self, name)
            if not isinstance(value, int) or value < low:
                raise InvalidArgumentError(f"{name} must be an integer >= {low}, got {value!r}")
        if not 1 <= int(self.quality) <= 100:
            raise InvalidArgumentError(f"quality must be in 1..100, got {self.quality}")
        if not self.extensions:
            raise InvalidArgumentError("extensions must name at least one suffix, e.g. jpg png")
        check_output_dir(self.output_dir, {"content_dir": self.content_dir,
                                           "style_dir": self.style_dir})  # fmt: skip
        check_weight_files(self.method, vgg=self.vgg, decoder=self.decoder,
                           transformer=self.transformer)  # fmt: skip


# --------------------------------------------------------------------------- planning
def assign_styles(seed: int, content_key: str, num_styles: int, num_available: int) -> list[int]:
    """The style indices used for one content image: a pure function of its arguments.

    ``num_styles`` distinct indices in ``range(num_available)``, drawn through a
    ``torch.Generator`` seeded from ``sha256(seed, content_key)``; so the assignment of an image
    does not depend on the batch, the worker count, the shard or the other images.

    Raises:
        InvalidArgumentError: more styles asked for than available.
    """
    if num_styles > num_available:
        raise InvalidArgumentError(
            f"num_styles={num_styles} distinct styles per image asked for, but the style folder "
            f"holds only {num_available} images; lower --num-styles or add styles"
        )
    gen = torch.Generator().manual_seed(content_seed(seed, content_key))
    if 4 * num_styles > num_available:
        return torch.randperm(num_available, generator=gen)[:num_styles].tolist()
    chosen: list[int] = []
    while len(chosen) < num_styles:
        pick = int(torch.randint(num_available, (), generator=gen))
        if pick not in chosen:
            chosen.append(pick)
    return chosen


def _plan(cfg: StylizeConfig, contents: list[Path], styles: list[Path]) -> list[list[Job]]:
    names = style_names(styles, cfg.style_dir)
    bases = content_bases(contents, cfg.content_dir, cfg.output_format)
    plan, seen = [], {}
    for ci, path in enumerate(contents):
        rel = path.relative_to(cfg.content_dir).as_posix()
        suffix = output_suffix(path, cfg.output_format)
        jobs = [Job(ci, si, f"{bases[ci]}-stylized-{names[si]}{suffix}")
                for si in assign_styles(cfg.seed, rel, cfg.num_styles, len(styles))]  # fmt: skip
        for job in jobs:
            other = seen.setdefault(job.output.casefold(), job)
            if other is not job:
                raise InvalidArgumentError(
                    f"{contents[other.content]} with style {styles[other.style]} and {path} with "
                    f"style {styles[job.style]} would share the output {job.output}; rename one")
        plan.append(jobs)
    return plan


# --------------------------------------------------------------------------- the run
def _marker(output_dir: Path, rank: int, world: int) -> Path:
    return output_dir / STATE_DIR / f"done-{rank:05d}-of-{world:05d}"


def merge_manifests(output_dir: str | os.PathLike[str], world_size: int) -> dict[str, Path] | None:
    """Merge the records of every run into ``manifest.jsonl`` and ``skipped.jsonl``.

    Returns None (and writes nothing) while a rank of ``world_size`` has not finished; the
    last rank to finish completes the merge. See :func:`.manifest.merge_records`.
    """
    out = Path(output_dir)
    if not all(_marker(out, r, world_size).is_file() for r in range(world_size)):
        return None
    manifest, skipped = merge_records(out)
    return {"manifest": manifest, "skipped": skipped}


def _weights_digest(net: Stylizer) -> str:
    """sha256 (16 hex) of the network's weights: outputs made by other weights differ."""
    digest = hashlib.sha256()
    for name, tensor in net.state_dict().items():
        digest.update(f"{name}{tensor.dtype}{tuple(tensor.shape)}".encode())
        flat = tensor.detach().cpu().reshape(-1).contiguous()  # any memory format
        digest.update(flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b"")
    return digest.hexdigest()[:16]


def _settings(cfg: StylizeConfig, weights: str) -> dict[str, Any]:
    """What every output record of this run shares (the compared ones: manifest.SETTINGS)."""
    return {
        "content_dir": str(cfg.content_dir.resolve()), "style_dir": str(cfg.style_dir.resolve()),
        "alpha": cfg.alpha, "method": cfg.method, "precision": cfg.precision,
        "content_size": cfg.content_size, "style_size": cfg.style_size, "crop": cfg.crop,
        "max_pixels": cfg.max_pixels, "quality": int(cfg.quality), "weights": weights,
        "seed": cfg.seed,
    }  # fmt: skip


def _load_stylizer(cfg: StylizeConfig, stylizer: Stylizer | None) -> Stylizer:
    if stylizer is not None:
        return stylizer
    return load_stylizer(cfg.method, vgg=cfg.vgg, decoder=cfg.decoder,
                         transformer=cfg.transformer, download=True)  # fmt: skip


def stylize_dataset(
    config: StylizeConfig, *, stylizer: Stylizer | None = None
) -> dict[str, Any]:
    """Stylize every content image with ``num_styles`` random styles; resumable and sharded.

    Everything that can be checked is checked before any image is written: the config, both
    folders (they must hold images), the weights. Then this rank's share of contents is
    decoded in ``workers`` processes, grouped into batches of equal padded size, stylized
    with cached style codes on ``device`` and written atomically. Outputs that exist are
    skipped. Unreadable images are logged and recorded in ``skipped.jsonl`` with
    ``"fault": "content"`` or ``"style"``.

    Args:
        config: the run's :class:`StylizeConfig`.
        stylizer: use this network instead of loading ``config.vgg``/``config.decoder``; it
            is moved to ``config.device`` and ``config.precision`` in place.

    Returns:
        A summary dict: counts (``outputs``, ``written``, ``existing``, ``failed``), seconds,
        images per second, device, rank/world size and the manifest path (None until every
        shard has finished).

    Raises:
        DataError: a folder is missing or holds no image with the given extensions.
        MissingFileError: the weights are missing.
        InvalidArgumentError: a bad setting.
    """
    cfg = config
    cfg.validate()
    rank, world = shard_from_env(cfg.rank, cfg.world_size)
    contents = list_images(cfg.content_dir, cfg.extensions)
    styles = list_images(cfg.style_dir, cfg.extensions)
    plan = _plan(cfg, contents, styles)
    net = _load_stylizer(cfg, stylizer)
    shared = _settings(cfg, _weights_digest(net))
    device = resolve_device(cfg.device)
    net = net.to(device=device, dtype=PRECISIONS[cfg.precision]).eval()
    cfg.output_dir.mkdir(parents=True, exist_ok=True)

    mine = [jobs for i, jobs in enumerate(plan) if i % world == rank]
    planned = {
        j.output: {"output": j.output, **shared,
                   "content": contents[j.content].relative_to(cfg.content_dir).as_posix(),
                   "style": styles[j.style].relative_to(cfg.style_dir).as_posix()}
        for jobs in mine for j in jobs
    }  # fmt: skip
    merge_records(cfg.output_dir)  # the manifest describes the disk even if this run refuses
    done, _ = check_reuse(cfg.output_dir, list(planned.values()))
    finished = {r["output"] for r in done}
    todo = [[j for j in jobs if j.output not in finished] for jobs in mine]
    todo = [jobs for jobs in todo if jobs]
    existing = len(finished)
    log.info("rank %d/%d: %d outputs, %d already done, %d to write on %s",
             rank, world, len(planned), existing, len(planned) - existing, device)  # fmt: skip

    start = time.perf_counter()
    journal = Journal(cfg.output_dir)
    try:
        work = RankWork(contents, styles, todo, planned)
        written, failed = run_jobs(cfg, net, work, journal, rank == 0 and cfg.progress)
    finally:
        journal.close()
    seconds = time.perf_counter() - start
    marker = _marker(cfg.output_dir, rank, world)
    if not marker.is_file():  # kept as is on a rerun: a resumed run changes no file
        marker.touch()
    merged = _merge_after_barrier(cfg.output_dir, world)
    return {
        "outputs": len(planned),
        "written": written,
        "existing": existing,
        "failed": failed,
        "seconds": round(seconds, 3),
        "images_per_second": round(written / seconds, 3) if seconds > 0 and written else 0.0,
        "device": str(device),
        "rank": rank,
        "world_size": world,
        "manifest": str(merged["manifest"]) if merged else None,
        "skipped": str(merged["skipped"]) if merged else None,
        "config": {k: str(v) if isinstance(v, Path) else v
                   for k, v in asdict(cfg).items()},  # fmt: skip
    }


def _merge_after_barrier(output_dir: Path, world: int) -> dict[str, Path] | None:
    dist = torch.distributed
    if world > 1 and dist.is_available() and dist.is_initialized():
        dist.barrier()
        if dist.get_rank() != 0:
            return None
    else:  # without a barrier every rank merges what is on disk now (merges are locked)
        merge_records(output_dir)
    return merge_manifests(output_dir, world)


def iter_manifest(output_dir: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """The records of a finished run's ``manifest.jsonl``."""
    yield from _read_jsonl(Path(output_dir) / "manifest.jsonl")
