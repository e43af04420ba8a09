"""Image files in and out: listing, robust loading to RGB, tensors, atomic saving.

Every image the library reads goes through :func:`load_image`, which turns whatever PIL can open
(grayscale, CMYK, 16-bit, palette, alpha, EXIF-rotated photos) into an upright 8-bit RGB image,
or raises :class:`~stylebias.errors.DataError` naming the file and the reason. Every file the
library writes goes through :func:`atomic_write`, so a crash never leaves half a file behind.
"""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor

from .errors import DataError, InvalidArgumentError, ShapeError

__all__ = [
    "IMAGE_EXTENSIONS",
    "list_images",
    "load_image",
    "to_tensor",
    "to_pil",
    "save_image",
    "atomic_write",
    "write_json",
]

IMAGE_EXTENSIONS: tuple[str, ...] = (
    ".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm",
)

_SAVE_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP"}
_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}


def _normalize_extensions(extensions: Iterable[str] | None) -> frozenset[str]:
    exts = IMAGE_EXTENSIONS if extensions is None else tuple(extensions)
    return frozenset(e.lower() if e.startswith(".") else f".{e.lower()}" for e in exts)


def list_images(
    root: str | os.PathLike[str],
    extensions: Iterable[str] | None = None,
    recursive: bool = True,
) -> list[Path]:
    """Sorted paths of the image files under ``root``.

    Hidden files and folders (name starting with ``.``) are skipped.

    Args:
        root: a folder.
        extensions: suffixes to accept, with or without the dot, compared case-insensitively;
            default :data:`IMAGE_EXTENSIONS`.
        recursive: also look in sub-folders.

    Raises:
        DataError: ``root`` does not exist, is not a folder, or holds no image file.
    """
    folder = Path(root)
    if not folder.exists():
        raise DataError(f"image folder {folder} does not exist")
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder; pass the folder that holds the images")
    exts = _normalize_extensions(extensions)
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    found = sorted(
        p for p in candidates
        if p.suffix.lower() in exts
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and p.is_file()
    )
    if not found:
        where = "under" if recursive else "directly in"
        raise DataError(
            f"no image files {where} {folder} (looked for {', '.join(sorted(exts))})"
        )
    return found


def _sixteen_bit_to_l(img: Image.Image) -> Image.Image:
    """A 16/32-bit integer or float grayscale image as 8-bit ``L``.

    ``I;16*`` data is 0..65535. ``I`` (how PIL opens 16-bit PNGs) is taken as 0..65535 when any
    value exceeds 255, else as 0..255. ``F`` is taken as [0, 1] when its maximum is <= 1, else
    as 0..255.
    """
    arr = np.asarray(img, dtype=np.float64)
    peak = float(arr.max()) if arr.size else 0.0
    if img.mode.startswith("I;16") or (img.mode == "I" and peak > 255):
        arr = arr / 257.0
    elif img.mode == "F" and peak <= 1.0:
        arr = arr * 255.0
    return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), mode="L")


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL mode as 8-bit RGB; transparent parts are composited on white."""
    if img.mode == "RGB":
        return img
    if img.mode in ("I", "F") or img.mode.startswith("I;16"):
        return _sixteen_bit_to_l(img).convert("RGB")
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif img.mode in _ALPHA_MODES:
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, img).convert("RGB")
    return img.convert("RGB")


def _capped_size(size: tuple[int, int], max_pixels: int) -> tuple[int, int]:
    w, h = size
    if w * h <= max_pixels:
        return size
    scale = math.sqrt(max_pixels / (w * h))
    return max(1, int(w * scale)), max(1, int(h * scale))


def load_image(path: str | os.PathLike[str], max_pixels: int | None = None) -> Image.Image:
    """Read an image file as an upright 8-bit RGB PIL image.

    Handles grayscale (``L``, ``1``), CMYK, alpha (``RGBA``, ``LA``, palette with transparency;
    composited on white), 16-bit and 32-bit grayscale (``I;16``, ``I``, ``F``; scaled to 8 bits),
    EXIF orientation (the image is rotated upright) and multi-frame files (first frame).

    Args:
        path: image file.
        max_pixels: if given, images with more than this many pixels are downscaled (aspect
            ratio kept) to at most ``max_pixels``; JPEGs are decoded at reduced size directly.

    Returns:
        A PIL image in mode ``RGB``, detached from the file.

    Raises:
        DataError: the file is missing, not an image, truncated/corrupt, or larger than PIL's
            decompression-bomb limit; the message names the file.
    """
    file = Path(path)
    if max_pixels is not None and int(max_pixels) < 1:
        raise InvalidArgumentError(f"max_pixels must be >= 1, got {max_pixels}")
    try:
        with Image.open(file) as img:
            if max_pixels is not None:
                target = _capped_size(img.size, int(max_pixels))
                if target != img.size and img.format == "JPEG":
                    img.draft("RGB", target)  # decode at 1/2, 1/4 or 1/8 size: much faster
            img.load()
            out = ImageOps.exif_transpose(img)  # a new, loaded image
            out = _to_rgb(out)
    except FileNotFoundError:
        raise DataError(f"image file {file} does not exist") from None
    except Image.DecompressionBombError as err:
        raise DataError(
            f"{file} is too large to open safely ({err}). If you trust the file, raise "
            f"PIL.Image.MAX_IMAGE_PIXELS; or shrink it first."
        ) from None
    except UnidentifiedImageError:
        raise DataError(f"{file} is not an image file PIL can read") from None
    except (OSError, SyntaxError, ValueError) as err:  # truncated or corrupt data
        raise DataError(f"cannot read image {file}: {err}") from None
    if out is img:  # never hand back the object tied to the closed file
        out = out.copy()
    if max_pixels is not None:
        target = _capped_size(out.size, int(max_pixels))
        if target != out.size:
            out = out.resize(target, Image.Resampling.BICUBIC, reducing_gap=3.0)
    return out


def to_tensor(image: Image.Image) -> Tensor:
    """A PIL image as a float tensor ``(3, H, W)`` with values in [0, 1] (RGB).

    Non-RGB images are converted as :func:`load_image` does.
    """
    arr = np.array(_to_rgb(image), dtype=np.uint8, copy=True)
    return torch.from_numpy(arr).permute(2, 0, 1).float().div_(255.0)


def to_pil(image: Tensor | Image.Image) -> Image.Image:
    """A ``(3, H, W)`` or ``(1, 3, H, W)`` float tensor in [0, 1] as an 8-bit RGB PIL image.

    Values outside [0, 1] are clipped; a PIL image is converted to RGB and returned.

    Raises:
        ShapeError: the tensor is not one RGB image.
    """
    if isinstance(image, Image.Image):
        return _to_rgb(image)
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"image must be a PIL image or a tensor, got {type(image).__name__}")
    x = image.detach()
    if x.dim() == 4 and x.shape[0] == 1:
        x = x[0]
    if x.dim() != 3 or x.shape[0] != 3:
        raise ShapeError(
            f"image must be one RGB image of shape (3, H, W) or (1, 3, H, W); got {tuple(image.shape)}"
        )
    arr = x.float().clamp(0, 1).mul(255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(np.ascontiguousarray(arr), mode="RGB")


def _create_temp_file(target: Path) -> Path:
    """Create an empty, unique ``.<name>.<random>.tmp`` beside ``target``.

    Unlike ``tempfile.mkstemp`` (always mode 0600) the file is created with mode 0666 and the
    process umask applied by the OS, as ``open(path, "w")`` would, so outputs are readable by
    others exactly when the user's umask allows it.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        try:
            os.close(os.open(tmp, flags, 0o666))
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"could not create a unique temporary file beside {target}")


@contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Context manager yielding a temporary path that replaces ``path`` on success.

    The temporary file is in the same folder (so ``os.replace`` is atomic) and is deleted if
    the block raises. Parent folders are created.

    Example:
        >>> with atomic_write(out / "model.pt") as tmp:  # doctest: +SKIP
        ...     torch.save(state, tmp)
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_temp_file(target)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(obj: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically; returns the path."""
    import json

    target = Path(path)
    with atomic_write(target) as tmp:
        tmp.write_text(json.dumps(obj, indent=2) + "\n")
    return target


def save_image(
    image: Tensor | Image.Image, path: str | os.PathLike[str], quality: int = 95
) -> Path:
    """Write one image atomically; the format follows the suffix (JPEG, PNG or WebP).

    Args:
        image: float tensor ``(3, H, W)``/``(1, 3, H, W)`` in [0, 1] or a PIL image.
        path: ``.jpg``/``.jpeg``/``.png``/``.webp`` file; parent folders are created.
        quality: JPEG/WebP quality 1..95 (ignored for PNG).

    Returns:
        ``path`` as a ``Path``.

    Raises:
        InvalidArgumentError: unsupported suffix or quality.
    """
    target = Path(path)
    fmt = _SAVE_FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise InvalidArgumentError(
            f"cannot tell the image format of {target}: use one of "
            f"{', '.join(sorted(_SAVE_FORMATS))}"
        )
    if not 1 <= int(quality) <= 100:
        raise InvalidArgumentError(f"quality must be in 1..100, got {quality}")
    pil = to_pil(image)
    options = {} if fmt == "PNG" else {"quality": int(quality)}
    with atomic_write(target) as tmp:
        pil.save(tmp, format=fmt, **options)
    return target
