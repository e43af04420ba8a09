"""A generator of hostile image inputs, written into a temporary folder by the tests.

Nothing here is shipped: the tests build every file themselves from a seed.

* :func:`seed_files` makes small valid images of every format the loader reads (JPEG, PNG,
  WebP and TIFF carrying an EXIF block with an orientation tag, an animated GIF, a BMP).
* :func:`exif_block` writes a raw EXIF (TIFF) block whose orientation entry can have any
  type, count, value or offset, e.g. the ASCII, 3-valued or out-of-file orientations that
  broke ``ImageOps.exif_transpose``.
* :func:`mutate` applies one random mutation (byte flips, truncation, an inserted chunk, flips
  inside the EXIF segment, a swapped-in malformed EXIF block) from an explicit
  ``random.Random``.
* :func:`build_corpus` writes the named hostile cases (truncated, empty, wrong extension, text
  named ``.jpg``, decompression bomb, 1 x 1 and 1 x N, CMYK, palette, alpha, 16-bit, float,
  32-bit, animated, malformed EXIF, unreadable (mode 000), non-UTF-8 name, FIFO, socket,
  symlink loop, dangling link, folder named ``.jpg``), each with what a reader must do with
  it; file names can follow a command's naming convention.
"""

from __future__ import annotations

import functools
import io
import os
import random
import socket
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

# EXIF (TIFF) field types: BYTE, ASCII, SHORT, LONG, RATIONAL, UNDEFINED, SLONG, FLOAT, DOUBLE.
EXIF_TYPES = (1, 2, 3, 4, 5, 7, 9, 11, 12)
ORIENTATION = 0x0112
EXIF_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF")


def exif_block(entries: list[tuple[int, int, int, bytes]], tail: bytes = b"") -> bytes:
    """``Exif\\0\\0`` + a big-endian TIFF block with one IFD of raw ``(tag, type, count, value)``
    entries (``value``: the 4-byte value/offset field, so any type, count or offset can be
    written, valid or not) followed by ``tail`` (data the offsets may point at, from byte
    ``10 + 12 * len(entries) + 4`` of the TIFF block on)."""
    body = b"".join(struct.pack(">HHI", tag, kind, count) + value[:4].ljust(4, b"\x00")
                    for tag, kind, count, value in entries)
    ifd = struct.pack(">H", len(entries)) + body + b"\x00" * 4
    return b"Exif\x00\x00MM\x00*" + struct.pack(">I", 8) + ifd + tail


def tail_offset(n_entries: int) -> bytes:
    """The offset field pointing at the first byte of ``tail`` in :func:`exif_block`."""
    return struct.pack(">I", 8 + 2 + 12 * n_entries + 4)


def orientation(kind: int = 3, count: int = 1, value: bytes = b"\x00\x06") -> tuple[int, int, int, bytes]:
    return (ORIENTATION, kind, count, value)


@functools.lru_cache(maxsize=1)
def rich_exif() -> bytes:
    """A camera-like EXIF block (orientation 6, strings, rationals, an Exif sub-IFD)."""
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[0x010F], exif[0x0110], exif[0x0132] = "Maker", "Model X", "2024:01:01 00:00:00"
    exif[0x011A] = exif[0x011B] = 72.0
    exif[0x0128] = 2
    sub = exif.get_ifd(0x8769)
    sub[0x829A], sub[0x9003], sub[0xA002] = 0.01, "2024:01:01 00:00:00", 16
    return b"Exif\x00\x00" + exif.tobytes()


# EXIF blocks on which ``ImageOps.exif_transpose`` raised (it re-serialises every tag after
# rotating): a string tag holding a rational, a rational tag holding a string, a SHORT tag
# holding a string. A valid orientation 6 sits beside each, so the image must come out rotated.
CRASHING_EXIF = {
    "AttributeError": exif_block([orientation(), (0x010F, 5, 1, tail_offset(2))], struct.pack(">II", 1, 3)),
    "TypeError": exif_block([orientation(), (0x011A, 2, 4, b"abc\x00")]),
    "struct.error": exif_block([orientation(), (0x0128, 2, 4, b"abc\x00")]),
}


def _pixels(rng: random.Random, w: int = 16, h: int = 12) -> Image.Image:
    data = bytes(rng.randrange(256) for _ in range(w * h * 3))
    return Image.frombytes("RGB", (w, h), data)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


def seed_files(rng: random.Random) -> dict[str, bytes]:
    """Small valid files: ``{suffix: bytes}``; JPEG/PNG/WebP/TIFF carry an orientation-6 EXIF."""
    img = _pixels(rng)
    exif = rich_exif()
    frames = [_pixels(rng, 8, 8).convert("P") for _ in range(3)]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=40, loop=0)
    tiff_exif = Image.Exif()
    tiff_exif[ORIENTATION] = 6
    return {
        ".jpg": encode(img, "JPEG", exif=exif, quality=90),
        ".png": encode(img, "PNG", exif=exif),
        ".webp": encode(img, "WEBP", exif=exif, quality=80),
        ".tif": encode(img, "TIFF", exif=tiff_exif),
        ".gif": gif.getvalue(),
        ".bmp": encode(img, "BMP"),
    }


def _exif_span(data: bytes) -> tuple[int, int] | None:
    """Where the EXIF block lies in ``data`` (from the TIFF header after ``Exif\\0\\0``)."""
    for marker in (b"Exif\x00\x00MM", b"Exif\x00\x00II", b"MM\x00*", b"II*\x00"):
        start = data.find(marker)
        if start >= 0:
            return start + 6, min(len(data), start + len(rich_exif()))
    return None


def _random_exif(rng: random.Random) -> bytes:
    """A malformed EXIF block: the orientation (half the time a valid 6, so the image is
    rotated), then one more tag, with random types, counts and values/offsets."""
    def entry(tag: int) -> tuple[int, int, int, bytes]:
        count = rng.choice((0, 1, 2, 3, 4, 255, 2**31 - 1))
        value = rng.choice((b"\x00\x06", b"\x00\x09", b"6\x00", b"\xff\xff\xff\xff", tail_offset(2),
                            bytes(rng.randrange(256) for _ in range(4))))
        return tag, rng.choice(EXIF_TYPES), count, value

    tag = rng.choice((0x010F, 0x011A, 0x0128, 0x0132, 0x8769, 0x8825))
    tail = bytes(rng.randrange(256) for _ in range(rng.randrange(16)))
    first = orientation() if rng.random() < 0.5 else entry(ORIENTATION)  # often valid: rotates
    return exif_block([first, entry(tag)], tail)


def mutate(data: bytes, rng: random.Random, suffix: str) -> bytes:
    """One random mutation of ``data`` (an encoded image of type ``suffix``)."""
    kind = rng.randrange(8)
    buf = bytearray(data)
    if kind == 0:  # byte flips anywhere
        for _ in range(rng.randint(1, 8)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
    elif kind == 1:  # truncation
        del buf[rng.randrange(len(buf)):]
    elif kind == 2:  # an inserted chunk of random bytes
        at = rng.randrange(len(buf) + 1)
        buf[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    elif kind == 3:  # a duplicated/moved chunk of the file itself
        a = rng.randrange(len(buf))
        piece = buf[a:a + rng.randint(1, 64)]
        at = rng.randrange(len(buf) + 1)
        buf[at:at] = piece
    else:  # flips inside the EXIF segment, or a malformed EXIF block swapped in
        span = _exif_span(data)
        if kind in (4, 5) and span is not None:
            for _ in range(rng.randint(1, 3)):
                buf[rng.randrange(*span)] = rng.randrange(256)
        else:
            fmt = {".jpg": "JPEG", ".png": "PNG", ".webp": "WEBP"}.get(suffix, "JPEG")
            with Image.open(io.BytesIO(data)) as img:
                return encode(img.convert("RGB"), fmt, exif=_random_exif(rng))
    return bytes(buf)


@dataclass(frozen=True)
class Case:
    """One hostile input: its path and what a reader must do with it.

    ``expect``: ``"ok"`` (loads as an RGB image), ``"warn"`` (loads, with a DataWarning),
    ``"error"`` (load_image raises DataError naming it), ``"skip"`` (not a regular file:
    list_images leaves it out with a logged warning, load_image raises DataError).
    """

    name: str
    path: Path
    expect: str


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims ``width x height`` pixels and holds almost no data (a bomb)."""
    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def _files(rng: random.Random) -> dict[str, tuple[bytes, str]]:
    """Hostile regular files: ``{file name: (bytes, expect)}``."""
    seeds = seed_files(rng)
    img = _pixels(rng)
    sixteen = np.arange(12 * 16, dtype=np.uint16).reshape(12, 16) * 300
    floats = np.linspace(0, 4000, 12 * 16, dtype=np.float32).reshape(12, 16)
    ints32 = (np.arange(12 * 16, dtype=np.int32).reshape(12, 16) - 50) * 1000
    rgba = img.convert("RGBA")
    rgba.putalpha(128)
    return {
        "truncated.jpg": (seeds[".jpg"][: len(seeds[".jpg"]) // 2], "error"),
        "truncated.png": (seeds[".png"][:60], "error"),
        "truncated.gif": (seeds[".gif"][:40], "error"),
        "empty.jpg": (b"", "error"),
        "empty.png": (b"", "error"),
        "text.jpg": (b"this is not an image\n" * 4, "error"),
        "html.png": (b"<html><body>404 Not Found</body></html>", "error"),
        "bomb.png": (_png_header_only(200_000, 200_000), "error"),
        "png_named.jpg": (seeds[".png"], "ok"),  # wrong extension: decoded by content
        "jpeg_named.png": (seeds[".jpg"], "ok"),
        "exif_ascii_orientation.jpg": (encode(img, "JPEG", exif=exif_block([orientation(2, 2, b"6\x00")])), "warn"),
        "exif_orientation_9.jpg": (encode(img, "JPEG", exif=exif_block([orientation(3, 1, b"\x00\x09")])), "warn"),
        "exif_rational_orientation.png": (
            encode(img, "PNG", exif=exif_block([orientation(5, 1, tail_offset(1))], struct.pack(">II", 13, 2))), "warn"),
        "exif_offset_out_of_file.jpg": (encode(img, "JPEG", exif=exif_block([orientation(4, 2**20, b"\x7f\xff\xff\xf0")])), "ok"),
        **{f"exif_{name.replace('.', '_')}.{suffix}": (encode(img, fmt, exif=block), "ok")
           for name, block in CRASHING_EXIF.items() for suffix, fmt in (("jpg", "JPEG"), ("png", "PNG"), ("webp", "WEBP"))},
        "one_by_one.png": (encode(Image.new("RGB", (1, 1), (9, 99, 199)), "PNG"), "ok"),
        "one_by_n.png": (encode(Image.new("RGB", (1, 37), (200, 0, 0)), "PNG"), "ok"),
        "n_by_one.jpg": (encode(Image.new("RGB", (41, 1), (0, 200, 0)), "JPEG"), "ok"),
        "cmyk.jpg": (encode(img.convert("CMYK"), "JPEG"), "ok"),
        "cmyk.tif": (encode(img.convert("CMYK"), "TIFF"), "ok"),
        "palette.png": (encode(img.convert("P"), "PNG"), "ok"),
        "alpha.png": (encode(rgba, "PNG"), "ok"),
        "la.png": (encode(img.convert("LA"), "PNG"), "ok"),
        "bilevel.bmp": (encode(img.convert("1"), "BMP"), "ok"),
        "gray16.png": (encode(Image.fromarray(sixteen), "PNG"), "ok"),
        "float_0_4000.tif": (encode(Image.fromarray(floats, mode="F"), "TIFF"), "warn"),
        "int32_signed.tif": (encode(Image.fromarray(ints32, mode="I"), "TIFF"), "warn"),
        "animated.gif": (seeds[".gif"], "ok"),
        "rotated.webp": (seeds[".webp"], "ok"),
        "rotated.tif": (seeds[".tif"], "ok"),
    }


NON_UTF8 = "latin1_\udce9t\udce9"  # the file-name bytes b"latin1_\xe9t\xe9": not valid UTF-8


def build_corpus(folder: Path, seed: int = 0, stem: Callable[[str, int], str] | None = None) -> list[Case]:
    """Write every hostile case into ``folder`` (created) and return them, sorted by name.

    Args:
        folder: where the files go.
        seed: seed of the pixel data.
        stem: ``stem(case name, index)`` -> the file name without suffix, for commands that
            need a naming convention (the suffix of the case is kept). Default: the case name.

    Special files this platform cannot make (FIFOs on Windows, a socket path that is too long)
    are left out. ``unreadable.png`` (mode 000) reads fine as root, where the tests usually
    run, so its expectation depends on who runs them.
    """
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    files = {name: (data, expect) for name, (data, expect) in _files(rng).items()}
    files[f"{NON_UTF8}.png"] = (encode(_pixels(rng), "PNG"), "ok")
    files["unreadable.png"] = (encode(_pixels(rng), "PNG"), "ok")
    specials = ["folder.jpg", "loop.jpg", "dangling.png"]
    specials += ["fifo.jpg"] if hasattr(os, "mkfifo") else []
    specials += ["socket.png"] if hasattr(socket, "AF_UNIX") and len(os.fsencode(folder)) < 80 else []
    names = sorted([*files, *specials])
    cases = []
    for index, name in enumerate(names):
        base, suffix = os.path.splitext(name)
        path = folder / f"{stem(base, index) if stem else base}{suffix}"
        if name in files:
            data, expect = files[name]
            path.write_bytes(data)
            if name == "unreadable.png":
                path.chmod(0)
                expect = "ok" if os.access(path, os.R_OK) else "error"
        else:
            _make_special(name, path)
            expect = "skip"
        cases.append(Case(name, path, expect))
    return cases


def _make_special(name: str, path: Path) -> None:
    """A path that is not a regular file: a folder, a symlink loop or dangling link, a FIFO
    or a socket, by the case ``name``."""
    if name.startswith("folder"):
        path.mkdir()
    elif name.startswith("loop"):
        path.symlink_to(path.name)
    elif name.startswith("dangling"):
        path.symlink_to(f"nowhere{path.suffix}")
    elif name.startswith("fifo"):
        os.mkfifo(path)
    else:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(str(path))
