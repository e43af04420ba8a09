"""``ShapeTexture``: the built-in, download-free shape-vs-texture domain-generalisation benchmark.

The class of an image is the *shape* of its object (10 shapes); the object is filled with one of
10 procedural *textures* and drawn in one of 4 rendering *domains* (photo, cartoon, sketch,
painting). In training data texture goes with the class (texture ``k`` for shape ``k``) with
probability ``texture_correlation``, so texture is a spurious shortcut, as it is on ImageNet.
Test splits measure domain generalisation (held-out domains), shape bias (cue-conflict images:
shape of one class, texture of another) and, through the corruption suite, robustness.

Every image is a pure function of ``(seed, split, domain, class, repetition)`` through its own
``torch.Generator``: any item can be regenerated alone, in any order, in any DataLoader worker,
and an image of domain ``d`` does not change when other domains are added or removed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import Dataset

from .._checks import check_choice, check_prob
from ..errors import DataError, InvalidArgumentError
from ..hub import load_torch_file
from ..io import atomic_write
from .render import DOMAINS, RENDER_VERSION, Draws, draw, render
from .shapes import SHAPES
from .textures import TEXTURES

__all__ = ["ShapeTexture", "ShapeTextureConfig", "SPLITS"]

#: The splits; ``val`` follows ``train``'s distribution with its own random stream.
SPLITS: tuple[str, ...] = ("train", "val", "test", "cue_conflict")
_CACHES = ("memory", "none")
_MASK64 = (1 << 64) - 1


def _splitmix(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch ops single-threaded for the block, then restore the thread count.

    Rendering works on many tiny tensors; waking a second intra-op thread for each costs more
    than the work (measured 6x slower with 2 threads on a busy 2-core machine).
    """
    before = torch.get_num_threads()
    if before == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def item_seed(*parts: int) -> int:
    """A well-mixed 63-bit seed from integers (splitmix64 chained over ``parts``)."""
    h = 0
    for p in parts:
        h = _splitmix(h ^ (int(p) & _MASK64))
    return h >> 1


@dataclass(frozen=True)
class ShapeTextureConfig:
    """Everything that defines a :class:`ShapeTexture` split.

    Attributes:
        split: ``"train"``, ``"val"`` (train's distribution, separate random stream),
            ``"test"`` or ``"cue_conflict"``.
        domains: rendering domains included, names from ``ShapeTexture.DOMAINS``; ``None``
            means all four.
        n_per_class: images per class *per domain*.
        image_size: side of the square images in pixels (>= 16).
        texture_correlation: probability that an image is filled with its class's texture;
            otherwise the texture is drawn uniformly from all 10 (so 0.0 means texture is
            independent of the class, 1.0 means texture always equals the class). Ignored by
            ``cue_conflict``, whose texture is always another class's.
        seed: base seed; every image derives its own generator from it.
        cache: ``"memory"`` renders the whole split once (batched, fast) and keeps uint8
            copies; ``"none"`` renders each item when it is read. Images are identical.
        cache_dir: if given, the rendered split is also stored there as a ``.pt`` file named
            by a hash of the content-defining fields (written atomically) and reloaded next
            time. Implies ``cache="memory"``.
        return_texture: items are ``(image, label, domain, texture)`` instead of
            ``(image, label, domain)``.
    """

    split: str = "train"
    domains: tuple[str, ...] | None = None
    n_per_class: int = 100
    image_size: int = 32
    texture_correlation: float = 0.9
    seed: int = 0
    cache: str = "memory"
    cache_dir: str | None = None
    return_texture: bool = False

    def __post_init__(self) -> None:
        check_choice(self.split, SPLITS, "split")
        check_choice(self.cache, _CACHES, "cache")
        check_prob(self.texture_correlation, "texture_correlation")
        domains = DOMAINS if self.domains is None else self.domains
        if isinstance(domains, str):
            domains = (domains,)
        domains = tuple(domains)
        if not domains:
            raise InvalidArgumentError(f"domains must name at least one of {DOMAINS}; got none")
        for d in domains:
            check_choice(d, DOMAINS, "domain")
        if len(set(domains)) != len(domains):
            raise InvalidArgumentError(f"domains must not repeat; got {domains}")
        object.__setattr__(self, "domains", domains)
        for name, low in (("n_per_class", 1), ("image_size", 16)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InvalidArgumentError(f"{name} must be an integer >= {low}; got {value!r}")
        object.__setattr__(self, "texture_correlation", float(self.texture_correlation))

    def content_key(self) -> str:
        """16 hex digits identifying the images (not how they are cached or returned)."""
        fields = {k: getattr(self, k) for k in
                  ("split", "domains", "n_per_class", "image_size", "texture_correlation", "seed")}
        fields["version"] = RENDER_VERSION
        blob = json.dumps(fields, sort_keys=True, default=list).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


class ShapeTexture(Dataset):
    """Procedural shape-vs-texture images in four rendering domains (no download).

    Items are ``(image, label, domain)``: ``image`` a float32 RGB tensor ``(3, S, S)`` in
    [0, 1] (multiples of 1/255), ``label`` the shape class (int), ``domain`` the index of the
    rendering domain in :attr:`DOMAINS` (int; global, so the same across splits). With
    ``return_texture=True`` a fourth entry, the texture class (int), follows. The texture class
    of every item is also in :attr:`texture_labels` (all splits), alongside :attr:`labels` and
    :attr:`domain_labels`, so evaluation code can read it without changing the tuple.

    Item ``i`` has class ``i % 10`` and domain ``domains[(i // 10) % len(domains)]``: every
    prefix of the dataset is class- and domain-balanced.

    Args:
        split: ``"train"``, ``"val"``, ``"test"`` or ``"cue_conflict"``.
        domains: rendering domains to include (default all of :attr:`DOMAINS`).
        config: a whole :class:`ShapeTextureConfig` instead of the arguments.
        **kwargs: the other fields of :class:`ShapeTextureConfig`: ``n_per_class`` (100),
            ``image_size`` (32), ``texture_correlation`` (0.9), ``seed`` (0), ``cache``
            (``"memory"``), ``cache_dir`` (None), ``return_texture`` (False).

    Raises:
        InvalidArgumentError: an unknown split, domain or cache mode, or a bad size.
        DataError: a cache file exists but does not hold this split.

    Example:
        >>> train = ShapeTexture("train", domains=("photo", "cartoon", "painting"),
        ...                      n_per_class=20)
        >>> image, label, domain = train[0]
        >>> image.shape, ShapeTexture.CLASSES[label], ShapeTexture.DOMAINS[domain]
        (torch.Size([3, 32, 32]), 'circle', 'photo')
    """

    DOMAINS: tuple[str, ...] = DOMAINS
    CLASSES: tuple[str, ...] = tuple(SHAPES)
    TEXTURES: tuple[str, ...] = tuple(TEXTURES)
    NUM_CLASSES: int = len(SHAPES)
    INPUT_SHAPE: tuple[int, int, int] = (3, 32, 32)
    SPLITS: tuple[str, ...] = SPLITS

    def __init__(
        self,
        split: str = "train",
        domains: Sequence[str] | str | None = None,
        *,
        config: ShapeTextureConfig | None = None,
        **kwargs: Any,
    ) -> None:
        if config is None:
            config = ShapeTextureConfig(split=split, domains=domains, **kwargs)
        elif kwargs or domains is not None or split != "train":
            raise InvalidArgumentError("pass either config= or the individual arguments, not both")
        self.config = config
        c = config
        self.domains: tuple[str, ...] = c.domains  # type: ignore[assignment]
        self.classes = self.CLASSES
        self.num_classes = self.NUM_CLASSES
        self.input_shape = (3, c.image_size, c.image_size)
        n_dom, n_cls = len(self.domains), self.NUM_CLASSES
        n = n_cls * n_dom * c.n_per_class
        idx = torch.arange(n)
        self.labels: Tensor = idx % n_cls
        dom_ids = torch.tensor([DOMAINS.index(d) for d in self.domains])
        self.domain_labels: Tensor = dom_ids[(idx // n_cls) % n_dom]
        self._reps = idx // (n_cls * n_dom)
        self._split_id = SPLITS.index(c.split)
        with _one_thread():
            self.texture_labels: Tensor = self._pick_textures()
        self._images: Tensor | None = None  # uint8 (N, 3, S, S) when cached
        if c.cache == "memory" or c.cache_dir is not None:
            self._images = self._load_or_render()

    # -- randomness ---------------------------------------------------------------------------
    def _generator(self, i: int) -> torch.Generator:
        key = item_seed(self.config.seed, self._split_id, int(self.domain_labels[i]),
                        int(self.labels[i]), int(self._reps[i]))
        return torch.Generator().manual_seed(key)

    def _pick_textures(self) -> Tensor:
        out = torch.empty(len(self), dtype=torch.long)
        corr = self.config.texture_correlation
        conflict = self.config.split == "cue_conflict"
        for i in range(len(self)):
            g = self._generator(i)
            choice = torch.rand(2, generator=g)  # the first draws of render.draw
            other = int(torch.randint(self.NUM_CLASSES - 1, (), generator=g))
            label = int(self.labels[i])
            if conflict:  # uniform over the other classes' textures
                out[i] = (label + 1 + other) % self.NUM_CLASSES
            elif float(choice[0]) < corr:
                out[i] = label
            else:  # uniform over all textures, the class's own included
                out[i] = min(int(float(choice[1]) * self.NUM_CLASSES), self.NUM_CLASSES - 1)
        return out

    # -- rendering and caching ----------------------------------------------------------------
    def render(self, indices) -> Tensor:
        """Render items afresh (no cache): float32 ``(len(indices), 3, S, S)`` in [0, 1]."""
        index = torch.as_tensor(indices, dtype=torch.long).reshape(-1)
        size = self.config.image_size
        with _one_thread():
            draws = Draws.stack([draw(self._generator(int(i)), size) for i in index])
            return render(self.labels[index], self.texture_labels[index],
                          self.domain_labels[index], draws, size)

    def _render_all(self) -> Tensor:
        size = self.config.image_size
        chunk = max(16, 2**17 // (size * size))
        out = torch.empty(len(self), 3, size, size, dtype=torch.uint8)
        with _one_thread():
            for start in range(0, len(self), chunk):
                stop = min(start + chunk, len(self))
                out[start:stop] = self.render(range(start, stop)).mul_(255).round_().to(torch.uint8)
        return out

    def cache_path(self) -> Path | None:
        """The ``.pt`` file this split is cached in (``None`` without ``cache_dir``)."""
        if self.config.cache_dir is None:
            return None
        return Path(self.config.cache_dir) / f"shape_texture-{self.config.content_key()}.pt"

    def _load_or_render(self) -> Tensor:
        path = self.cache_path()
        if path is not None and path.exists():
            blob = load_torch_file(path, what="the ShapeTexture cache file",
                                   fix="Delete it and it will be regenerated")
            try:
                images = blob["images"]
                ok = (blob.get("key") == self.config.content_key()
                      and torch.equal(blob["labels"], self.labels)
                      and torch.equal(blob["textures"], self.texture_labels)
                      and images.dtype == torch.uint8
                      and tuple(images.shape) == (len(self), *self.input_shape))
            except Exception as err:  # noqa: BLE001 - any unreadable file is reported the same
                raise DataError(
                    f"cannot read the ShapeTexture cache file {path}: {err}. Delete it and it will "
                    "be regenerated."
                ) from None
            if not ok:
                raise DataError(
                    f"the ShapeTexture cache file {path} does not hold the split {self!r}. "
                    "Delete it and it will be regenerated."
                )
            return images
        images = self._render_all()
        if path is not None:
            blob = {"key": self.config.content_key(), "images": images, "labels": self.labels,
                    "domains": self.domain_labels, "textures": self.texture_labels,
                    "config": json.dumps(dataclasses.asdict(self.config), default=list)}
            os.makedirs(path.parent, exist_ok=True)
            with atomic_write(path) as tmp:
                torch.save(blob, tmp)
        return images

    # -- Dataset protocol ---------------------------------------------------------------------
    def __len__(self) -> int:
        return self.labels.numel()

    def __getitem__(self, i: int):
        n = len(self)
        if not -n <= int(i) < n:
            raise IndexError(f"index {i} is out of range for a ShapeTexture split of {n} items")
        i = int(i) % n
        if self._images is not None:
            image = self._images[i].float().div_(255)
        else:
            image = self.render([i])[0]
        item = (image, int(self.labels[i]), int(self.domain_labels[i]))
        if self.config.return_texture:
            return (*item, int(self.texture_labels[i]))
        return item

    def gather(self, indices: Tensor) -> list[Tensor]:
        """The items at ``indices`` as one batch, exactly as a DataLoader collates them.

        Items draw nothing from torch's global RNG, so a batch is the same however it is read;
        training streams use this to skip per-item loading (:class:`~stylebias.training.data.BatchStream`).

        Args:
            indices: int64 ``(B,)``.

        Returns:
            ``[images float32 (B, 3, S, S) in [0, 1], labels int64 (B,), domains int64 (B,)]``
            and, with ``return_texture``, textures int64 ``(B,)``.
        """
        index = torch.as_tensor(indices, dtype=torch.long).reshape(-1)
        images = self._images[index].float().div_(255) if self._images is not None else self.render(index)
        batch = [images, self.labels[index], self.domain_labels[index]]
        if self.config.return_texture:
            batch.append(self.texture_labels[index])
        return batch

    def tensors(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """The whole split at once: ``(images, labels, domains, textures)``.

        ``images`` is float32 ``(N, 3, S, S)`` in [0, 1]; the others are int64 ``(N,)``. Handy for
        training small models without a DataLoader.
        """
        images = self._images.float().div_(255) if self._images is not None else self._render_all().float().div_(255)
        return images, self.labels.clone(), self.domain_labels.clone(), self.texture_labels.clone()

    # -- description --------------------------------------------------------------------------
    def __repr__(self) -> str:
        c = self.config
        return (f"ShapeTexture(split={c.split!r}, domains={self.domains}, n_per_class={c.n_per_class}, "
                f"image_size={c.image_size}, texture_correlation={c.texture_correlation}, seed={c.seed})")

    def describe(self) -> str:
        """A few lines saying what this split holds."""
        c = self.config
        match = float((self.texture_labels == self.labels).float().mean()) if len(self) else 0.0
        if c.split == "cue_conflict":
            rule = "texture of another class (cue conflict: shape and texture disagree)"
        else:
            rule = (f"class texture with probability {c.texture_correlation:g}, else a uniformly "
                    "random texture")
        return "\n".join([
            f"ShapeTexture {c.split!r} split: {len(self)} images of {c.image_size}x{c.image_size} px "
            f"({c.n_per_class} per class per domain), seed {c.seed}",
            f"  classes (shape): {', '.join(self.CLASSES)}",
            f"  domains: {', '.join(self.domains)}",
            f"  texture: {rule}; texture == class in {match:.1%} of images",
        ])
