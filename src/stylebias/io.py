"""Image files in and out: listing, robust loading to RGB, tensors, atomic saving.

Every image the library reads goes through :func:`load_image`, which turns whatever PIL can open
(grayscale, CMYK, 16-bit, palette, alpha, EXIF-rotated photos) into an upright 8-bit RGB image,
or raises :class:`~stylebias.errors.DataError` naming the file and the reason. Every file the
library writes goes through :func:`atomic_write`, so a crash never leaves half a file behind.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import stat
import sys
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor

from .errors import DataError, DataWarning, InvalidArgumentError, ShapeError

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
_ORIENTATION_TAG = 0x0112

_log = logging.getLogger(__name__)


def _normalize_extensions(extensions: Iterable[str] | None) -> frozenset[str]:
    exts = IMAGE_EXTENSIONS if extensions is None else tuple(extensions)
    return frozenset(e.lower() if e.startswith(".") else f".{e.lower()}" for e in exts)


def _file_kind(mode: int) -> str:
    """What a ``st_mode`` that is not a regular file is, in words."""
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):  # fmt: skip
        if test(mode):
            return name
    return "not a regular file"


def _not_regular_reason(path: Path) -> str | None:
    """Why ``path`` cannot be read as an image file without opening it, or None if it can.

    Opening a FIFO blocks until a writer appears and reading a device may never end, so these
    are refused from ``stat`` alone.
    """
    try:
        mode = path.stat().st_mode  # follows symlinks
    except FileNotFoundError:
        return "does not exist" + (" (a broken symbolic link)" if path.is_symlink() else "")
    except OSError as err:  # ELOOP (symlink loop), EACCES on a parent, ENAMETOOLONG ...
        return f"cannot be accessed ({err.strerror or err})"
    if stat.S_ISREG(mode):
        return None
    return f"is {_file_kind(mode)}, not an image file"


def list_images(
    root: str | os.PathLike[str],
    extensions: Iterable[str] | None = None,
    recursive: bool = True,
) -> list[Path]:
    """Sorted paths of the image files under ``root``.

    Hidden files and folders (name starting with ``.``) are skipped. Entries with an image
    suffix that are not regular files (FIFOs, sockets, devices, folders named like images,
    broken or looping symbolic links) are skipped with a logged warning naming each one.

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
    found = []
    for p in sorted(candidates):
        if p.suffix.lower() not in exts or any(
            part.startswith(".") for part in p.relative_to(folder).parts
        ):
            continue
        reason = _not_regular_reason(p)
        if reason is None:
            found.append(p)
        else:
            _log.warning("skipping %s: it %s", p, reason)
    if not found:
        where = "under" if recursive else "directly in"
        raise DataError(
            f"no image files {where} {folder} (looked for {', '.join(sorted(exts))})"
        )
    return found


def _warn(message: str) -> None:
    """Issue a :class:`DataWarning` attributed to the first caller outside this module.

    The default warning filter then shows each message once per calling line, and the
    messages name the file, so a dataset read every epoch warns once per file, not per read.
    """
    level, frame = 1, sys._getframe(0)
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        level, frame = level + 1, frame.f_back
    warnings.warn(message, DataWarning, stacklevel=level)


def _nominal_peak(mode: str, peak: float) -> float:
    """The value that means full white for a 16/32-bit or float grayscale mode.

    ``I;16*``: 65535. ``I`` (how PIL opens 16-bit PNGs): 255 when no value exceeds 255, else
    65535. ``F``: 1.0 when no value exceeds 1, else 255.
    """
    if mode.startswith("I;16"):
        return 65535.0
    if mode == "I":
        return 255.0 if peak <= 255 else 65535.0
    return 1.0 if peak <= 1.0 else 255.0


def _wide_to_l(img: Image.Image, source: str = "image") -> Image.Image:
    """A 16/32-bit integer or float grayscale image as 8-bit ``L``.

    Values in ``[0, nominal peak]`` (see :func:`_nominal_peak`) are scaled linearly to
    0..255. Data outside that range (negative values, 32-bit integers above 65535, floats
    above 255 such as raw sensor or depth values) is min-max scaled to 0..255 instead of
    being saturated, with a :class:`~stylebias.errors.DataWarning` naming ``source``, the
    value range and what was done; NaN and infinities become the lowest/highest finite value.
    """
    arr = np.asarray(img, dtype=np.float64)
    finite = np.isfinite(arr)
    lo = float(arr[finite].min()) if finite.any() else 0.0
    hi = float(arr[finite].max()) if finite.any() else 0.0
    notes = []
    if not finite.all():
        notes.append(f"{int((~finite).sum())} NaN/infinite value(s) replaced by the finite extremes")
        arr = np.nan_to_num(arr, nan=lo, posinf=hi, neginf=lo)
    nominal = _nominal_peak(img.mode, hi)
    if lo >= 0 and hi <= nominal:
        arr = arr * (255.0 / nominal)
    else:
        notes.insert(0, f"values in [{lo:g}, {hi:g}] lie outside the {img.mode} range "
                        f"[0, {nominal:g}]; min-max scaled to 0..255")  # fmt: skip
        arr = (arr - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(arr)
    if notes:
        _warn(f"{source} (mode {img.mode}): {'; '.join(notes)}")
    return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), mode="L")


def _to_rgb(img: Image.Image, source: str = "image") -> Image.Image:
    """Any PIL mode as 8-bit RGB; transparent parts are composited on white."""
    if img.mode == "RGB":
        return img
    if img.mode in ("I", "F") or img.mode.startswith("I;16"):
        return _wide_to_l(img, source).convert("RGB")
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


_ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _upright(img: Image.Image, source: str) -> Image.Image:
    """``img`` turned as its EXIF orientation tag says.

    Unlike ``ImageOps.exif_transpose`` this never re-serialises the EXIF block (where malformed
    tags raise ``struct.error``/``TypeError``): the pixels are what matter here. An EXIF block
    that cannot be parsed, or an orientation that is not an integer 1..8, is ignored with a
    :class:`~stylebias.errors.DataWarning` and the image is used as stored (not rotated).
    """
    try:
        orientation = img.getexif().get(_ORIENTATION_TAG, 1)
    except Exception as err:  # noqa: BLE001 - any parser failure means "no usable tag"
        _warn(f"{source}: unreadable EXIF data ({type(err).__name__}: {err}); orientation "
              "ignored, image loaded as stored (not rotated)")  # fmt: skip
        return img
    if orientation in (None, 1):
        return img
    if type(orientation) is not int or orientation not in _ORIENTATION_TRANSPOSE:
        _warn(f"{source}: EXIF orientation {orientation!r} is not an integer 1..8; ignored, "
              "image loaded as stored (not rotated)")  # fmt: skip
        return img
    return img.transpose(_ORIENTATION_TRANSPOSE[orientation])


def _open_regular(file: Path) -> BinaryIO:
    """``file`` opened for binary reading; refuses anything but a regular file before reading.

    The ``stat`` check gives the clear message; ``O_NONBLOCK`` plus ``fstat`` on the opened
    descriptor also close the race where the path is swapped for a FIFO in between (a FIFO
    opened with ``O_NONBLOCK`` does not wait for a writer).
    """
    reason = _not_regular_reason(file)
    if reason is not None:
        raise DataError(f"image file {file} {reason}")
    try:
        fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as err:
        raise DataError(f"cannot open image file {file}: {err.strerror or err}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise DataError(f"image file {file} is {_file_kind(mode)}, not an image file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _decode(fh: BinaryIO, source: str, max_pixels: int | None) -> Image.Image:
    """Decode the first frame of an open image file as upright 8-bit RGB (may raise anything)."""
    with Image.open(fh) as img:
        if max_pixels is not None:
            target = _capped_size(img.size, max_pixels)
            if target != img.size and img.format == "JPEG":
                img.draft("RGB", target)  # decode at 1/2, 1/4 or 1/8 size: much faster
        img.load()
        out = _to_rgb(_upright(img, source), source)
        if out is img:  # never hand back the object tied to the closed file
            out = out.copy()
    return out


def load_image(path: str | os.PathLike[str], max_pixels: int | None = None) -> Image.Image:
    """Read an image file as an upright 8-bit RGB PIL image.

    Handles grayscale (``L``, ``1``), CMYK, alpha (``RGBA``, ``LA``, palette with transparency;
    composited on white), 16-bit and 32-bit grayscale (``I;16``, ``I``, ``F``; scaled to 8 bits,
    see below), EXIF orientation (the image is rotated upright) and multi-frame files (first
    frame).

    Wide grayscale: ``I;16*`` is read as 0..65535; ``I`` as 0..255 when no value exceeds 255,
    else as 0..65535; ``F`` as [0, 1] when no value exceeds 1, else as 0..255. Data outside that
    range (negative values, floats above 255 such as a float TIFF of 0..4000, 32-bit integers
    above 65535) is min-max scaled to 0..255 with a :class:`~stylebias.errors.DataWarning`
    naming the file and the value range, never silently saturated.

    A malformed EXIF block or an orientation tag that is not an integer 1..8 does not make the
    image unreadable: the orientation is ignored with a ``DataWarning`` naming the file, and the
    image is returned as stored.

    Whatever the bytes of the file, the only exception raised is ``DataError``
    (or ``InvalidArgumentError`` for a bad ``max_pixels``): every decoder failure of PIL,
    whatever its type, is turned into a ``DataError`` naming the file.

    Args:
        path: image file.
        max_pixels: if given, images with more than this many pixels are downscaled (aspect
            ratio kept) to at most ``max_pixels``; JPEGs are decoded at reduced size directly.

    Returns:
        A PIL image in mode ``RGB``, detached from the file.

    Raises:
        DataError: the path is missing, not a regular file (a folder, FIFO, socket or device
            is refused before it is opened, so it cannot hang), unreadable, not an image,
            truncated/corrupt, or larger than PIL's decompression-bomb limit; the message names
            the file.
    """
    file = Path(path)
    if max_pixels is not None and int(max_pixels) < 1:
        raise InvalidArgumentError(f"max_pixels must be >= 1, got {max_pixels}")
    cap = None if max_pixels is None else int(max_pixels)
    try:
        with _open_regular(file) as fh:
            out = _decode(fh, str(file), cap)
    except DataError:
        raise
    except Image.DecompressionBombError as err:
        raise DataError(
            f"{file} is too large to open safely ({err}). If you trust the file, raise "
            f"PIL.Image.MAX_IMAGE_PIXELS; or shrink it first."
        ) from None
    except UnidentifiedImageError:
        raise DataError(f"{file} is not an image file PIL can read") from None
    except (OSError, SyntaxError, ValueError) as err:  # truncated or corrupt data
        raise DataError(f"cannot read image {file}: {err}") from None
    except MemoryError:
        raise DataError(f"not enough memory to decode {file}; shrink it first") from None
    except Exception as err:  # noqa: BLE001 - PIL's plugins raise TypeError, struct.error,
        # IndexError, ... on malformed data; any of them means the file is corrupt.
        raise DataError(f"cannot read image {file}: corrupt data ({type(err).__name__}: {err})") from None
    if cap is not None:
        target = _capped_size(out.size, cap)
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
