"""``corrupt_folder``: an ImageNet-C-layout copy of an image folder, resumable and atomic.

The output is ``<output_dir>/<corruption>/<severity>/<relative path of the image>``, the layout
of ImageNet-C (where the relative path is ``<class>/<file>``). Images are prepared as
ImageNet-C's were (shorter side resized to 256, centre crop 224) unless told otherwise.

Every folder of the input is created in each ``<corruption>/<severity>`` folder, empty ones
too, so the copy has the same class folders (and class indices) as the input.

Output names: JPEG, PNG and WebP files keep their names; other formats (BMP, TIFF ...) are
written as PNG, ``x.bmp`` -> ``x.png``. When that would give two inputs one output name (``x.bmp``
beside ``x.png``), the converted file keeps its suffix in the stem, ``x.bmp`` -> ``x.bmp.png``;
:attr:`CorruptFolderResult.renamed` lists those. Names that would still collide are refused.
"""

from __future__ import annotations

import os
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from .._checks import check_positive
from ..runtime import resolve_device
from ..errors import InvalidArgumentError
from ..io import list_images, load_image, save_image
from ..models.preprocess import Preprocess
from ._geometry import check_crop_fits, fitted_geometry
from .labels import check_readable
from .api import BENCHMARK_CORRUPTIONS, SEVERITIES, _check_severity, corrupt
from ._base import CORRUPTIONS

__all__ = ["corrupt_folder", "CorruptFolderResult", "batch_generator"]

_WRITABLE = {".jpg", ".jpeg", ".png", ".webp"}


@dataclass
class CorruptFolderResult:
    """What :func:`corrupt_folder` did."""

    output_dir: str
    images: int
    corruptions: list[str]
    severities: list[int]
    written: int
    skipped: int
    #: input path -> output path (both relative) of the files renamed to avoid a name collision.
    renamed: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def batch_generator(seed: int, corruption: str, severity: int, batch: int, device: torch.device) -> torch.Generator:
    """The generator of one batch, seeded from (seed, corruption, severity, batch index).

    Every batch's randomness is fixed by its place in the sorted image list, so an interrupted
    run that is resumed writes exactly the files an uninterrupted run would have.
    """
    key = zlib.crc32(f"{seed}:{corruption}:{severity}:{batch}".encode())
    return torch.Generator(device=device).manual_seed(key)


def _output_name(relative: Path) -> Path:
    return relative if relative.suffix.lower() in _WRITABLE else relative.with_suffix(".png")


def _output_names(relatives: Sequence[Path], root: Path) -> list[Path]:
    """Collision-free output paths of the inputs (module doc): a converted file whose plain
    name another input also gets keeps its suffix in the stem (``x.bmp`` -> ``x.bmp.png``).

    Raises:
        InvalidArgumentError: two inputs would still be written to one file (naming both).
    """
    plain = [_output_name(r) for r in relatives]
    taken = Counter(plain)
    names = [r.with_name(r.name + ".png") if taken[p] > 1 and p != r else p for r, p in zip(relatives, plain)]
    first: dict[Path, Path] = {}
    for relative, name in zip(relatives, names):
        if name in first:
            raise InvalidArgumentError(
                f"{root / first[name]} and {root / relative} would both be written as {name}; rename one of them"
            )
        first[name] = relative
    return names


def _check_no_links(out_root: Path, folder: Path, checked: set[Path]) -> None:
    """Refuse a symbolic link between ``out_root`` and ``folder``: writing (or counting files as
    done) through it could leave the output folder. ``checked`` caches folders already seen."""
    if folder in checked:
        return
    current = out_root
    for part in folder.relative_to(out_root).parts:
        current = current / part
        if current.is_symlink():
            raise InvalidArgumentError(
                f"{current} is a symbolic link (to {os.readlink(current)}); corrupt writes only into real "
                f"folders inside the output folder {out_root}: remove the link or choose another output folder"
            )
    checked.add(folder)


def _input_folders(root: Path) -> list[Path]:
    """Every non-hidden folder under ``root``, relative and sorted, empty ones included."""
    found = []
    for folder, dirs, _ in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(folder, d).relative_to(root) for d in dirs)
    return sorted(found)


def _mirror_folders(out_root: Path, names: Sequence[str], levels: Sequence[int], folders: Sequence[Path],
                    checked: set[Path]) -> None:
    """Create every input folder in each ``<corruption>/<severity>`` folder, so that a class
    folder without images keeps its place in the copy (its class index, see ``labels``)."""
    for name in names:
        for level in levels:
            for folder in folders:
                target = out_root / name / str(level) / folder
                _check_no_links(out_root, target, checked)
                target.mkdir(parents=True, exist_ok=True)


def _target(out_root: Path, name: str, level: int, relative: Path, checked: set[Path]) -> Path:
    """The output file of one input for one corruption and severity, its folders checked."""
    target = out_root / name / str(level) / relative
    _check_no_links(out_root, target.parent, checked)
    return target


def _is_done(target: Path) -> bool:
    """Whether ``target`` is a finished output: a real file (writes are atomic). A link is not:
    it is replaced by the real file."""
    if target.is_symlink():
        return False
    if target.exists() and not target.is_file():
        raise InvalidArgumentError(f"{target} is in the way of an output image (not a file); remove it")
    return target.exists()


def corrupt_folder(
    input_dir: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    corruptions: Sequence[str] | None = None,
    severities: Sequence[int] = SEVERITIES,
    *,
    resize: int | None = 256,
    crop: int | None = 224,
    batch_size: int = 16,
    seed: int = 0,
    device: str | torch.device | None = None,
    params: str = "auto",
    frost_dir: str | os.PathLike[str] | None = None,
    quality: int = 85,
    progress: bool = True,
) -> CorruptFolderResult:
    """Write corrupted copies of every image under ``input_dir`` in ImageNet-C's layout.

    Args:
        input_dir: folder of images, e.g. ``<class>/<file>`` (any depth).
        output_dir: where ``<corruption>/<severity>/<relative path>`` files go (created).
        corruptions: names (default: the 15 benchmark corruptions).
        severities: levels 1-5 to write.
        resize, crop: shorter side resized to ``resize`` and centre crop ``crop`` before
            corrupting (ImageNet-C: 256 and 224); None keeps the size.
        batch_size: images corrupted together.
        seed: fixes all randomness (per batch, see :func:`batch_generator`).
        device: where to corrupt (default CPU).
        params, frost_dir: as in :func:`~stylebias.corruptions.corrupt`.
        quality: JPEG/WebP quality of the written files (ImageNet-C used 85); other input
            formats are written as PNG.
        progress: show a progress bar.

    Returns:
        :class:`CorruptFolderResult` with the counts of files written and skipped.

    Resuming: files already present are skipped (every write is atomic, so a present file is
    complete) and the rest are written with the same randomness as in one uninterrupted run.
    A symbolic link at an output path is not a finished file: it is replaced by one. A link
    among the output folders is refused, so nothing is written or skipped through it.

    Raises:
        DataError: no images, an unreadable image, or (without ``resize``) an image smaller
            than ``crop`` (named).
        UnknownNameError, InvalidArgumentError: bad corruption names, severities or sizes, a
            crop larger than the resize, two inputs with one output name, a link among the
            output folders.
    """
    names = [CORRUPTIONS.canonical(n) for n in (corruptions or BENCHMARK_CORRUPTIONS)]
    levels = [_check_severity(s) for s in severities]
    if not names or not levels:
        raise InvalidArgumentError("give at least one corruption and one severity")
    check_positive(batch_size, "batch_size")
    check_crop_fits(resize, crop)
    dev = resolve_device(device) if device is not None else torch.device("cpu")
    root, out_root = Path(input_dir), Path(output_dir)
    if out_root.resolve() == root.resolve() or root.resolve() in out_root.resolve().parents:
        raise InvalidArgumentError(f"output_dir {out_root} must not be inside input_dir {root}")
    if root.is_dir():  # list_images would silently skip a sub-folder it cannot read
        check_readable(root)
    paths = list_images(root)
    inputs = [p.relative_to(root) for p in paths]
    relatives = _output_names(inputs, root)
    renamed = {str(i): str(r) for i, r in zip(inputs, relatives) if r != _output_name(i)}
    prepare = Preprocess(resize=resize, crop=crop)
    checked: set[Path] = set()
    _mirror_folders(out_root, names, levels, _input_folders(root), checked)
    total = len(paths) * len(names) * len(levels)
    written = skipped = 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, unit="img", desc="corrupt")
    try:
        for index, start in enumerate(range(0, len(paths), int(batch_size))):
            chunk = range(start, min(start + int(batch_size), len(paths)))
            todo = [
                (name, level)
                for name in names
                for level in levels
                if any(not _is_done(_target(out_root, name, level, relatives[i], checked)) for i in chunk)
            ]
            skipped += (len(names) * len(levels) - len(todo)) * len(chunk)
            if bar is not None:
                bar.update((len(names) * len(levels) - len(todo)) * len(chunk))
            if not todo:
                continue
            images = [
                torch.from_numpy(np.array(fitted_geometry(prepare, load_image(paths[i]), paths[i]), dtype=np.uint8))
                .permute(2, 0, 1).float().div(255)
                for i in chunk
            ]
            for name, level in todo:
                gen = batch_generator(seed, name, level, index, dev)
                for group in _same_size_groups(images):
                    batch = torch.stack([images[j] for j in group]).to(dev)
                    result = corrupt(batch, name, level, gen, params=params, frost_dir=frost_dir).cpu()
                    for j, image in zip(group, result):
                        target = _target(out_root, name, level, relatives[chunk[j]], checked)
                        if _is_done(target):
                            skipped += 1
                            continue
                        save_image(image, target, quality=quality)
                        written += 1
                if bar is not None:
                    bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()
    return CorruptFolderResult(str(out_root), len(paths), names, levels, written, skipped, renamed)


def _same_size_groups(images: list[torch.Tensor]) -> list[list[int]]:
    """Indices of ``images`` grouped by shape, in first-seen order."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, image in enumerate(images):
        groups.setdefault(tuple(image.shape), []).append(i)
    return list(groups.values())
