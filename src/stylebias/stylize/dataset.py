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
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from .._checks import check_choice, check_prob
from ..errors import DataError, InvalidArgumentError
from ..io import list_images, load_image, save_image
from ..runtime import check_device, resolve_device
from .base import Stylizer, padded_size
from .factory import STYLIZER_METHODS, check_weight_files, load_stylizer
from .manifest import STATE_DIR, Journal, check_output_dir, check_reuse, file_digest, merge_records
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
def _seed_for(seed: int, key: str) -> int:
    # surrogateescape: a file name that is not valid UTF-8 hashes as its original bytes.
    digest = hashlib.sha256(f"{seed}\0{key}".encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


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
    gen = torch.Generator().manual_seed(_seed_for(seed, content_key))
    if 4 * num_styles > num_available:
        return torch.randperm(num_available, generator=gen)[:num_styles].tolist()
    chosen: list[int] = []
    while len(chosen) < num_styles:
        pick = int(torch.randint(num_available, (), generator=gen))
        if pick not in chosen:
            chosen.append(pick)
    return chosen


@dataclass(frozen=True)
class _Job:
    """One output image: content index, style index, output path relative to output_dir."""

    content: int
    style: int
    output: str


def _plan(cfg: StylizeConfig, contents: list[Path], styles: list[Path]) -> list[list[_Job]]:
    names = style_names(styles, cfg.style_dir)
    bases = content_bases(contents, cfg.content_dir, cfg.output_format)
    plan, seen = [], {}
    for ci, path in enumerate(contents):
        rel = path.relative_to(cfg.content_dir).as_posix()
        suffix = output_suffix(path, cfg.output_format)
        jobs = [_Job(ci, si, f"{bases[ci]}-stylized-{names[si]}{suffix}")
                for si in assign_styles(cfg.seed, rel, cfg.num_styles, len(styles))]  # fmt: skip
        for job in jobs:
            other = seen.setdefault(job.output.casefold(), job)
            if other is not job:
                raise InvalidArgumentError(
                    f"{contents[other.content]} with style {styles[other.style]} and {path} with "
                    f"style {styles[job.style]} would share the output {job.output}; rename one")
        plan.append(jobs)
    return plan


# --------------------------------------------------------------------------- decoding
def resize_shorter(image: Image.Image, size: int) -> Image.Image:
    """Resize so the shorter side is ``size`` (torchvision ``Resize(size)`` rule); 0: as is."""
    if size <= 0:
        return image
    w, h = image.size
    short, long = (w, h) if w <= h else (h, w)
    if short == size:
        return image
    new_long = max(1, int(size * long / short))
    new = (size, new_long) if w <= h else (new_long, size)
    return image.resize(new, Image.Resampling.BILINEAR, reducing_gap=None)


def center_crop(image: Image.Image, crop: int) -> Image.Image:
    """Centre crop to ``crop x crop`` (torchvision rounding); smaller images are padded black."""
    if crop <= 0:
        return image
    w, h = image.size
    left, top = int(round((w - crop) / 2.0)), int(round((h - crop) / 2.0))
    return image.crop((left, top, left + crop, top + crop))


def _decode_cap(path: Path, size: int, max_pixels: int) -> int:
    """Pixels to decode ``path`` at: enough for a ``size``-px shorter side, at most max_pixels."""
    if size <= 0 or not path.is_file():  # a FIFO would block open(); load_image refuses it
        return max_pixels
    try:
        with Image.open(path) as img:
            w, h = img.size
    except Exception:  # noqa: BLE001 - load_image reports the real problem
        return max_pixels
    short = max(1, min(w, h))
    needed = (2 * size) ** 2 * max(w, h) // short  # decode at >= 2x the final size
    return int(min(max_pixels, max(needed, 1)))


def load_resized(path: Path, size: int, crop: int, max_pixels: int) -> Tensor:
    """Decode, resize (shorter side ``size``), centre-crop; uint8 tensor ``(3, H, W)``."""
    image = load_image(path, max_pixels=_decode_cap(path, size, max_pixels))
    image = center_crop(resize_shorter(image, size), crop)
    data = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8)
    return data.view(image.size[1], image.size[0], 3).permute(2, 0, 1).contiguous()


class _ContentFiles(Dataset):
    """Decodes content images in DataLoader workers; errors come back as text, not raised."""

    def __init__(self, paths: list[tuple[int, Path]], size: int, crop: int, max_pixels: int):
        self.paths, self.size, self.crop, self.max_pixels = paths, size, crop, max_pixels

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[int, Tensor | None, str | None]:
        index, path = self.paths[i]
        try:
            return index, load_resized(path, self.size, self.crop, self.max_pixels), None
        except (DataError, OSError, ValueError) as err:
            return index, None, str(err)


def _identity(item: Any) -> Any:
    return item


# --------------------------------------------------------------------------- the run
def _resolve_shard(cfg: StylizeConfig) -> tuple[int, int]:
    rank = cfg.rank if cfg.rank is not None else int(os.environ.get("RANK", 0))
    world = cfg.world_size if cfg.world_size is not None else int(os.environ.get("WORLD_SIZE", 1))
    if world < 1 or not 0 <= rank < world:
        raise InvalidArgumentError(f"rank must be in [0, world_size); got rank={rank}, "
                                   f"world_size={world}")  # fmt: skip
    return rank, world


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


class _StyleCache:
    """Style codes by style index, computed once; LRU-bounded by bytes. Failures are kept."""

    def __init__(self, stylizer: Stylizer, cfg: StylizeConfig, styles: list[Path]):
        self.stylizer, self.cfg, self.styles = stylizer, cfg, styles
        self.codes: OrderedDict[int, Any] = OrderedDict()
        self.failed: dict[int, str] = {}
        self.bytes, self.limit = 0, int(cfg.style_cache_mb * 2**20)

    def get(self, index: int) -> Any:
        if index in self.failed:
            return None
        code = self.codes.get(index)
        if code is not None:
            self.codes.move_to_end(index)
            return code
        try:
            image = load_resized(self.styles[index], self.cfg.style_size, 0, self.cfg.max_pixels)
        except (DataError, OSError, ValueError) as err:
            self.failed[index] = str(err)
            log.warning("skipping style image %s: %s", self.styles[index], err)
            return None
        code = self.stylizer.encode_style(image.unsqueeze(0).float().div_(255), self.cfg.method)
        self.codes[index] = code
        self.bytes += code.nbytes()
        while self.bytes > self.limit and len(self.codes) > 1:
            _, old = self.codes.popitem(last=False)
            self.bytes -= old.nbytes()
        return code


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
    rank, world = _resolve_shard(cfg)
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
        written, failed = _run_jobs(cfg, net, contents, styles, todo, planned, journal,
                                    rank == 0 and cfg.progress)  # fmt: skip
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


def _run_jobs(
    cfg: StylizeConfig,
    net: Stylizer,
    contents: list[Path],
    styles: list[Path],
    todo: list[list[_Job]],
    records: dict[str, dict[str, Any]],
    journal: Journal,
    progress: bool,
) -> tuple[int, int]:
    """Decode, batch, stylize and write, journaling each output and failure as it happens;
    returns the numbers of images written and failed."""
    from tqdm.auto import tqdm

    if not todo:
        return 0, 0
    cache = _StyleCache(net, cfg, styles)
    jobs_of = {jobs[0].content: jobs for jobs in todo}
    files = _ContentFiles([(c, contents[c]) for c in jobs_of], cfg.content_size, cfg.crop,
                          cfg.max_pixels)  # fmt: skip
    loader = DataLoader(
        files, batch_size=None, shuffle=False, num_workers=cfg.workers, collate_fn=_identity,
        prefetch_factor=4 if cfg.workers else None,
    )
    bar = tqdm(total=sum(len(j) for j in todo), unit="img", disable=not progress,
               desc="stylize", dynamic_ncols=True)  # fmt: skip
    written = failed = 0
    in_flight: list[Future[Any]] = []
    buckets: dict[tuple[int, int], list[tuple[_Job, Tensor, Any]]] = {}

    def fail(job: _Job, fault: str, file: Path, reason: str) -> None:
        nonlocal failed
        journal.add({"output": job.output, "fault": fault, "file": str(file), "reason": reason},
                    kind="skipped")  # fmt: skip
        failed += 1
        bar.update(1)

    def flush(key: tuple[int, int]) -> None:
        nonlocal written
        batch = buckets.pop(key)
        code = net.cat_codes([c for _, _, c in batch], key)
        converted: dict[int, Tensor] = {}  # one tensor per content: encoded once for its styles
        for _, img, _ in batch:
            if id(img) not in converted:
                converted[id(img)] = img.to(net_device, non_blocking=True).float().div_(255)
        images = [converted[id(img)] for _, img, _ in batch]
        with torch.inference_mode():
            outs = net.stylize_many(images, code, cfg.alpha, method=cfg.method)
            outs = [o.float().mul(255).round_().to(torch.uint8).cpu() for o in outs]
        for (job, _, _), out in zip(batch, outs):
            in_flight.append(pool.submit(_write, out, cfg.output_dir, records[job.output],
                                         cfg.quality, journal))  # fmt: skip
        while len(in_flight) > 4 * cfg.batch_size:
            in_flight.pop(0).result()
        written += len(batch)
        bar.update(len(batch))

    net_device = next(net.parameters()).device
    with ThreadPoolExecutor(max_workers=cfg.writers) as pool:
        for index, image, error in loader:
            jobs = jobs_of[index]
            if image is None:
                log.warning("skipping content image %s: %s", contents[index], error)
                for job in jobs:
                    fail(job, "content", contents[index], str(error))
                continue
            for job in jobs:
                code = cache.get(job.style)
                if code is None:
                    fail(job, "style", styles[job.style], cache.failed[job.style])
                    continue
                key = padded_size(image.shape[-2], image.shape[-1])
                buckets.setdefault(key, []).append((job, image, code))
                if len(buckets[key]) >= _batch_limit(cfg, key):
                    flush(key)
            if sum(len(b) for b in buckets.values()) > 4 * cfg.batch_size:
                flush(max(buckets, key=lambda k: len(buckets[k])))
        for key in list(buckets):
            flush(key)
        for fut in in_flight:
            fut.result()
    bar.close()
    return written, failed


def _batch_limit(cfg: StylizeConfig, padded: tuple[int, int]) -> int:
    """Images of one padded size per forward pass: batch_size, and at most max_pixels pixels
    in all (but at least one image), which bounds the network's memory."""
    return max(1, min(cfg.batch_size, cfg.max_pixels // (padded[0] * padded[1])))


def _write(image: Tensor, root: Path, record: dict[str, Any], quality: int,
           journal: Journal) -> None:  # fmt: skip
    """Write one output atomically, then journal its record with the size and hash written."""
    path = root / record["output"]
    save_image(Image.fromarray(image.permute(1, 2, 0).numpy()), path, quality=quality)
    journal.add({**record, "bytes": path.stat().st_size, "sha256": file_digest(path)})


def iter_manifest(output_dir: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """The records of a finished run's ``manifest.jsonl``."""
    yield from _read_jsonl(Path(output_dir) / "manifest.jsonl")
