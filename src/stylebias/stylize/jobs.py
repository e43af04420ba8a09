"""One rank's stylization jobs, run as named steps around a :class:`RunState`.

:func:`run_jobs` is the loop behind :func:`~stylebias.stylize.dataset.stylize_dataset`:

1. :meth:`RunState.set_up` - the style cache, the progress bar, empty buckets;
2. :meth:`RunState.take_content` - one decoded content image: each of its jobs either fails
   (unreadable content or style, journaled in ``skipped.jsonl``) or joins the bucket of its
   padded size;
3. :meth:`RunState.stylize_bucket` - one forward pass over a full bucket;
4. :meth:`RunState.checkpoint` - the outputs handed to the writer threads, each journaled
   (with its size and hash) once written, and at most ``4 x batch_size`` writes pending;
5. :meth:`RunState.finish` - the remaining buckets, then every pending write.

Contents are decoded by :class:`~stylebias.image_files.ImageFiles` in DataLoader workers.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from PIL import Image
from torch import Tensor

from ..errors import DataError
from ..image_files import ImageFiles, image_loader, to_uint8
from ..io import load_image, save_image
from ..models.preprocess import resize_and_crop
from .base import Stylizer, padded_size
from .manifest import Journal, file_digest

if TYPE_CHECKING:
    from .dataset import StylizeConfig

__all__ = ["Job", "RankWork", "RunState", "run_jobs", "load_resized", "batch_limit"]

log = logging.getLogger("stylebias.stylize.dataset")  # the messages users know


@dataclass(frozen=True)
class Job:
    """One output image: content index, style index, output path relative to output_dir."""

    content: int
    style: int
    output: str


@dataclass(frozen=True)
class RankWork:
    """What one rank has to do: the file lists, its unfinished jobs grouped by content, and
    the manifest record of every output it may write (by output path)."""

    contents: list[Path]
    styles: list[Path]
    todo: list[list[Job]]
    records: dict[str, dict[str, Any]]


# --------------------------------------------------------------------------- decoding
def _decode_cap(path: Path, size: int, max_pixels: int) -> int:
    """Pixels to decode ``path`` at: enough for a ``size``-px shorter side, at most max_pixels.

    An image over ``max_pixels`` is logged with its size: its output is smaller than asked,
    and that must never pass without a word."""
    if not path.is_file():  # a FIFO would block open(); load_image refuses it
        return max_pixels
    try:
        with Image.open(path) as img:
            w, h = img.size
    except Exception:  # noqa: BLE001 - load_image reports the real problem
        return max_pixels
    if w * h > max_pixels and (size <= 0 or size * size * max(w, h) // max(1, min(w, h)) > max_pixels):
        log.warning("%s is %d x %d (%.1f Mpx): it is downscaled to %.1f Mpx at most before the network "
                    "(--max-pixels %d bounds the network's memory); a content image's output has that size",
                    path, w, h, w * h / 1e6, max_pixels / 1e6, max_pixels)
    if size <= 0:
        return max_pixels
    short = max(1, min(w, h))
    needed = (2 * size) ** 2 * max(w, h) // short  # decode at >= 2x the final size
    return int(min(max_pixels, max(needed, 1)))


def load_resized(path: Path, size: int, crop: int, max_pixels: int) -> Tensor:
    """Decode, resize (shorter side ``size``; 0 keeps it), centre-crop (``crop``; 0: none);
    uint8 tensor ``(3, H, W)``. The resize and crop are :func:`~stylebias.models.preprocess.
    resize_and_crop`'s (bilinear), so stylize prepares images as every other command does."""
    image = load_image(path, max_pixels=_decode_cap(path, size, max_pixels))
    return to_uint8(resize_and_crop(image, size, crop)).contiguous()


def content_files(cfg: StylizeConfig, paths: list[Path]) -> ImageFiles:
    """The content images of a run, prepared as ``cfg`` says, decoded in workers."""
    return ImageFiles(paths, partial(load_resized, size=cfg.content_size, crop=cfg.crop, max_pixels=cfg.max_pixels))


class StyleCache:
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


def batch_limit(cfg: StylizeConfig, padded: tuple[int, int]) -> int:
    """Images of one padded size per forward pass: batch_size, and at most max_pixels pixels
    in all (but at least one image), which bounds the network's memory."""
    return max(1, min(cfg.batch_size, cfg.max_pixels // (padded[0] * padded[1])))


def _write(image: Tensor, root: Path, record: dict[str, Any], quality: int,
           journal: Journal) -> None:  # fmt: skip
    """Write one output atomically, then journal its record with the size and hash written."""
    path = root / record["output"]
    save_image(Image.fromarray(image.permute(1, 2, 0).numpy()), path, quality=quality)
    journal.add({**record, "bytes": path.stat().st_size, "sha256": file_digest(path)})


# --------------------------------------------------------------------------- the run
#: A bucket entry: the job, its content image (uint8, shared by the content's jobs), its style code.
Pending = tuple[Job, Tensor, Any]


@dataclass
class RunState:
    """Everything a rank's run changes as it goes: the counters, the buckets of jobs waiting
    for a forward pass, the writes in flight; and what it works with."""

    cfg: StylizeConfig
    net: Stylizer
    work: RankWork
    journal: Journal
    writers: Executor
    cache: StyleCache
    bar: Any
    written: int = 0
    failed: int = 0
    buckets: dict[tuple[int, int], list[Pending]] = field(default_factory=dict)
    in_flight: list[Future[Any]] = field(default_factory=list)

    @classmethod
    def set_up(cls, cfg: StylizeConfig, net: Stylizer, work: RankWork, journal: Journal,
               writers: Executor, progress: bool) -> RunState:  # fmt: skip
        """The state at the start: nothing done, a style cache, a bar (when ``progress``)."""
        from tqdm.auto import tqdm

        bar = tqdm(total=sum(len(j) for j in work.todo), unit="img", disable=not progress,
                   desc="stylize", dynamic_ncols=True)  # fmt: skip
        return cls(cfg, net, work, journal, writers, StyleCache(net, cfg, work.styles), bar)

    @property
    def net_device(self) -> torch.device:
        return next(self.net.parameters()).device

    def fail(self, job: Job, fault: str, file: Path, reason: str) -> None:
        """Journal a job that cannot be done (``fault``: ``"content"`` or ``"style"``)."""
        self.journal.add({"output": job.output, "fault": fault, "file": str(file), "reason": reason},
                         kind="skipped")  # fmt: skip
        self.failed += 1
        self.bar.update(1)

    def take_content(self, jobs: list[Job], image: Tensor | None, error: str) -> None:
        """One decoded content (``None`` with the ``error`` when unreadable) and its jobs."""
        if image is None:
            path = self.work.contents[jobs[0].content]
            log.warning("skipping content image %s: %s", path, error)
            for job in jobs:
                self.fail(job, "content", path, str(error))
            return
        for job in jobs:
            code = self.cache.get(job.style)
            if code is None:
                self.fail(job, "style", self.work.styles[job.style], self.cache.failed[job.style])
                continue
            key = padded_size(image.shape[-2], image.shape[-1])
            self.buckets.setdefault(key, []).append((job, image, code))
            if len(self.buckets[key]) >= batch_limit(self.cfg, key):
                self.stylize_bucket(key)
        if sum(len(b) for b in self.buckets.values()) > 4 * self.cfg.batch_size:
            self.stylize_bucket(max(self.buckets, key=lambda k: len(self.buckets[k])))

    def stylize_bucket(self, key: tuple[int, int]) -> None:
        """One forward pass over the bucket of padded size ``key``; its outputs are written."""
        batch = self.buckets.pop(key)
        code = self.net.cat_codes([c for _, _, c in batch], key)
        device = self.net_device
        converted: dict[int, Tensor] = {}  # one tensor per content: encoded once for its styles
        for _, img, _ in batch:
            if id(img) not in converted:
                converted[id(img)] = img.to(device, non_blocking=True).float().div_(255)
        images = [converted[id(img)] for _, img, _ in batch]
        with torch.inference_mode():
            outs = self.net.stylize_many(images, code, self.cfg.alpha, method=self.cfg.method)
            outs = [o.float().mul(255).round_().to(torch.uint8).cpu() for o in outs]
        self.checkpoint([job for job, _, _ in batch], outs)

    def checkpoint(self, jobs: list[Job], outputs: list[Tensor]) -> None:
        """Hand finished outputs to the writers (each journaled once on disk); wait for the
        oldest writes while more than ``4 x batch_size`` are pending."""
        cfg = self.cfg
        for job, out in zip(jobs, outputs):
            record = self.work.records[job.output]
            self.in_flight.append(self.writers.submit(_write, out, cfg.output_dir, record, cfg.quality, self.journal))
        while len(self.in_flight) > 4 * cfg.batch_size:
            self.in_flight.pop(0).result()
        self.written += len(jobs)
        self.bar.update(len(jobs))

    def finish(self) -> None:
        """Stylize what is left in the buckets and wait for every write."""
        for key in list(self.buckets):
            self.stylize_bucket(key)
        for fut in self.in_flight:
            fut.result()
        self.in_flight.clear()


def run_jobs(cfg: StylizeConfig, net: Stylizer, work: RankWork, journal: Journal, progress: bool) -> tuple[int, int]:
    """Decode, batch, stylize and write, journaling each output and failure as it happens;
    returns the numbers of images written and failed."""
    if not work.todo:
        return 0, 0
    jobs_of = work.todo  # the loader's item i is the content of jobs_of[i]
    files = content_files(cfg, [work.contents[jobs[0].content] for jobs in jobs_of])
    loader = image_loader(files, batch_size=None, num_workers=cfg.workers, device="cpu")
    with ThreadPoolExecutor(max_workers=cfg.writers) as writers:
        state = RunState.set_up(cfg, net, work, journal, writers, progress)
        for image, i, error in loader:
            state.take_content(jobs_of[i], image, error)
        state.finish()
    state.bar.close()
    return state.written, state.failed
