"""``evaluate_robustness``: a classifier's top-1 error on corrupted images, mCE and friends.

Three kinds of data, told apart automatically:

* ``imagenet-c``: a folder ``<corruption>/<severity>/<class>/<file>`` (ImageNet-C, or what
  ``stylebias corrupt`` writes);
* ``cifar-c``: a folder with CIFAR-10-C / CIFAR-100-C's ``<corruption>.npy`` (the five severities
  stacked, 10,000 images each) and ``labels.npy``;
* ``clean``: a folder ``<class>/<file>`` of clean images, corrupted on the fly (seeded).

Class folders are numbered by one rule for all folder layouts (see :mod:`.labels`): all class
folders count, empty ones included; integer names are indices; WordNet-id folders (``n02123045``)
get their ImageNet-1k index under a 1000-way model; otherwise folder ``k`` in sorted order is
output ``k`` and the folder count must match the model's outputs; a class map overrides all.

Each layout has one reader (:func:`read_imagenet_c`, :func:`read_cifar_c`, :func:`read_clean`),
called the same way and returning one record, :class:`LayoutData`; ``evaluate_robustness`` picks
the reader and summarises its record. Image files are decoded by the shared
:class:`~stylebias.image_files.ImageFiles` (an unreadable file stops the run with a
``DataError`` naming it).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from .._checks import check_choice, check_positive
from ..errors import DataError, InvalidArgumentError, ModelOutputError
from ..image_files import ImageFiles, image_loader, to_uint8
from ..io import list_images, load_image
from ..models import LoadedModel, Preprocess, output_width
from ..models.preprocess import resize_and_crop_tensor
from ..models.resolve import resolve_model
from ..runtime import model_placement, resolve_device
from ._base import CORRUPTIONS
from .api import BENCHMARK_CORRUPTIONS, SEVERITIES, _check_severity, corrupt, parameter_family
from ._geometry import check_crop_fits, check_size_fits_crop, fitted_geometry
from .folder import batch_generator
from .labels import ClassMap, class_folders, class_index, labelled_images
from .metrics import ALEXNET_CLEAN_ERROR, ALEXNET_ERRORS, mce

__all__ = ["evaluate_robustness", "RobustnessResult", "detect_layout", "plot_robustness", "LAYOUTS"]

LAYOUTS = ("auto", "imagenet-c", "cifar-c", "clean")
CIFAR_PER_SEVERITY = 10_000


@dataclass
class RobustnessResult:
    """Errors and summary metrics; errors are fractions, metrics percent.

    Attributes:
        model: the model's name.
        data: the data folder.
        layout: ``"imagenet-c"``, ``"cifar-c"`` or ``"clean"`` (corrupted on the fly).
        errors: corruption -> severity -> top-1 error (fraction).
        images: corruption -> severity -> number of images evaluated.
        clean_error: top-1 error on clean images (fraction), when known.
        mce: AlexNet-normalised mCE in percent (ImageNet data, all 15 corruptions x 5
            severities), else None.
        relative_mce: relative mCE in percent (also needs the clean error), else None.
        mean_error: unnormalised mean corruption error over the benchmark corruptions
            evaluated, percent (the CIFAR-C convention).
        ce: corruption error per benchmark corruption, percent (AlexNet = 100), over the
            severities evaluated.
        relative_ce: relative corruption error per benchmark corruption, percent.
        params: the corruption parameter family used on the fly (``"clean"`` layout only).
    """

    model: str
    data: str
    layout: str
    errors: dict[str, dict[int, float]]
    images: dict[str, dict[int, int]]
    clean_error: float | None = None
    mce: float | None = None
    relative_mce: float | None = None
    mean_error: float | None = None
    ce: dict[str, float] = field(default_factory=dict)
    relative_ce: dict[str, float] = field(default_factory=dict)
    params: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------- layouts
def detect_layout(data: str | os.PathLike[str]) -> str:
    """``"cifar-c"``, ``"imagenet-c"`` or ``"clean"`` for a data folder (see the module doc)."""
    root = Path(data)
    if not root.is_dir():
        raise DataError(f"data folder {root} does not exist or is not a folder")
    if any(p.suffix == ".npy" and p.stem in CORRUPTIONS for p in root.iterdir()):
        return "cifar-c"
    if any(p.is_dir() and p.name in CORRUPTIONS for p in root.iterdir()):
        return "imagenet-c"
    return "clean"


@dataclass(frozen=True)
class _Run:
    """How to run an evaluation: the same for every layout."""

    batch_size: int
    num_workers: int | None
    device: torch.device
    limit: int | None
    progress: bool


@dataclass(frozen=True)
class _Request:
    """What to evaluate: the corruptions and severities, and the layout-specific inputs."""

    names: list[str]
    levels: list[int]
    class_map: ClassMap | None = None
    clean_dir: Path | None = None  # imagenet-c: measure the clean error on this folder
    seed: int = 0  # clean layout: the on-the-fly corruptions' seed, parameters and frost
    params: str = "auto"
    frost_dir: str | os.PathLike[str] | None = None


@dataclass
class LayoutData:
    """What a layout reader measured: top-1 errors (fractions) and image counts per corruption
    and severity, the clean error when measured, and the on-the-fly parameter family."""

    errors: dict[str, dict[int, float]] = field(default_factory=dict)
    images: dict[str, dict[int, int]] = field(default_factory=dict)
    clean_error: float | None = None
    params: str | None = None

    def add(self, name: str, level: int, wrong: int, count: int) -> None:
        self.errors.setdefault(name, {})[level] = wrong / count
        self.images.setdefault(name, {})[level] = count


# --------------------------------------------------------------------------- image files
def _read_fitted(path: Path, pre: Preprocess) -> Tensor:
    """One file decoded, resized and cropped as uint8 ``(3, S, S)``; an image the crop does not
    fit is refused, naming it (:func:`fitted_geometry`)."""
    return to_uint8(fitted_geometry(pre, load_image(path), path))


def _labelled_batches(paths: Sequence[Path], labels: Sequence[int], pre: Preprocess,
                      run: _Run) -> Iterator[tuple[Tensor, Tensor]]:  # fmt: skip
    """uint8 ``(B, 3, S, S)`` batches with their labels; DataError naming unreadable files."""
    files = ImageFiles(paths, partial(_read_fitted, pre=pre))
    for batch in image_loader(files, batch_size=run.batch_size, num_workers=run.num_workers, device=run.device):
        yield batch.checked(), torch.tensor([labels[i] for i in batch.indices])


class _Counter:
    """Running top-1 mistakes of one model with ``num_outputs`` outputs per image."""

    def __init__(self, loaded: LoadedModel, num_outputs: int) -> None:
        self.model = loaded.model
        self.name = loaded.name
        self.preprocess = loaded.preprocess
        self.device, self.dtype = model_placement(loaded.model)
        self.num_outputs = num_outputs

    def wrong(self, x: Tensor, y: Tensor) -> int:
        logits = self.model(x.to(self.device, self.dtype))
        if not isinstance(logits, Tensor) or tuple(logits.shape) != (len(x), self.num_outputs):
            got = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
            raise ModelOutputError(f"model {self.name} returned {got} for a batch of {len(x)}; "
                                   f"logits ({len(x)}, {self.num_outputs}) are needed, as on its first batch")
        return int((logits.argmax(1).cpu() != y).sum())


def _probe_outputs(loaded: LoadedModel, image: Tensor, source: str) -> int:
    """The model's number of outputs, from two copies of one ``(3, H, W)`` image in [0, 1];
    a model that fails on it or returns no ``(B, K)`` logits is refused here, once, clearly."""
    device, dtype = model_placement(loaded.model)
    x = image.unsqueeze(0).repeat(2, 1, 1, 1).to(device, dtype)
    return output_width(loaded.model, x, what="a classifier", sample=source)


def _first_image(folder: Path, pre: Preprocess) -> tuple[Tensor, str]:
    """The first image under ``folder`` as the loader prepares it, float in [0, 1], and its path."""
    path = list_images(folder)[0]
    return _read_fitted(path, pre).float().div_(255), str(path)


def _folder_classes(
    loaded: LoadedModel, folders: Sequence[Path], class_map: ClassMap | None, where: str
) -> tuple[dict[str, int], _Counter]:
    """One class index for all ``folders`` (the union of their class folders) and the counter.

    The model's output width is read from its output on the first image, so that the index
    can follow it (ImageNet wnids for a 1000-way model, sorted folders otherwise).
    """
    names = sorted({name for folder in folders for name in class_folders(folder)})
    image, path = _first_image(folders[0], loaded.preprocess)
    width = _probe_outputs(loaded, image, f"the first image {path}")
    return class_index(names, width, class_map, where=where), _Counter(loaded, width)


def _select(corruptions: Sequence[str] | None, severities: Sequence[int]) -> tuple[list[str], list[int]]:
    names = [CORRUPTIONS.canonical(n) for n in (corruptions or BENCHMARK_CORRUPTIONS)]
    return names, [_check_severity(s) for s in severities]


def _bar(progress: bool, total: int, desc: str):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="img", desc=desc)


def _folder_wrong(counter: _Counter, paths: Sequence[Path], labels: Sequence[int], run: _Run, bar: Any) -> int:
    """Top-1 mistakes over image files; advances the job's progress ``bar`` (or None)."""
    wrong = 0
    for x, y in _labelled_batches(paths, labels, counter.preprocess, run):
        wrong += counter.wrong(x.float().div_(255), y)
        if bar is not None:
            bar.update(len(y))
    return wrong


# --------------------------------------------------------------------------- readers
def read_imagenet_c(loaded: LoadedModel, root: Path, request: _Request, run: _Run) -> LayoutData:
    """``<corruption>/<severity>/<class>/<file>``: every folder evaluated, and the clean error
    when ``request.clean_dir`` is set; all with one class index over every folder read."""
    names, levels, clean = request.names, request.levels, request.clean_dir
    missing = [f"{n}/{s}" for n in names for s in levels if not (root / n / str(s)).is_dir()]
    if missing:
        raise DataError(f"{root} lacks the ImageNet-C folders {', '.join(missing[:6])}"
                        f"{' ...' if len(missing) > 6 else ''}; evaluate fewer with --corruptions/--severities "
                        "(corruptions=/severities= in Python)")
    folders = [root / name / str(level) for name in names for level in levels]
    where = f"{root}/<corruption>/<severity>" + (f" and {clean}" if clean is not None else "")
    classes, counter = _folder_classes(loaded, folders + ([clean] if clean is not None else []), request.class_map,
                                       where)
    jobs = [(name, level, *labelled_images(root / name / str(level), classes)) for name in names for level in levels]
    if clean is not None:
        jobs.append(("clean", None, *labelled_images(clean, classes)))
    measured = LayoutData()
    bar = _bar(run.progress, sum(len(paths[: run.limit]) for _, _, paths, _ in jobs), "robustness")  # one per job
    try:
        for name, level, paths, labels in jobs:
            paths, labels = paths[: run.limit], labels[: run.limit]
            if bar is not None:
                bar.set_postfix_str(name if level is None else f"{name} {level}")
            wrong = _folder_wrong(counter, paths, labels, run, bar)
            if level is None:
                measured.clean_error = wrong / len(paths)
            else:
                measured.add(name, level, wrong, len(paths))
    finally:
        if bar is not None:
            bar.close()
    return measured


def read_cifar_c(loaded: LoadedModel, root: Path, request: _Request, run: _Run) -> LayoutData:
    """``<corruption>.npy`` + ``labels.npy`` (the five severities stacked), memory-mapped."""
    labels = _cifar_labels(root)
    pre = loaded.preprocess
    arrays = {name: _cifar_images(root / f"{name}.npy", len(labels), pre) for name in request.names}
    first = _cifar_batch(arrays[request.names[0]], 0, 1, pre)
    width = _probe_outputs(loaded, first[0], f"the first image of {root / request.names[0]}.npy")
    if int(labels.max()) >= width:
        raise DataError(f"{root / 'labels.npy'} holds class index {int(labels.max())} but the model has {width} "
                        f"outputs; use a model trained on these classes (CIFAR-10: 10, CIFAR-100: 100)")
    counter = _Counter(loaded, width)
    measured = LayoutData()
    per = len(labels) // len(SEVERITIES)
    per_level = per if run.limit is None else min(per, int(run.limit))
    bar = _bar(run.progress, len(arrays) * len(request.levels) * per_level, "robustness")  # one per job
    try:
        for name, images in arrays.items():
            for level in request.levels:
                lo = (level - 1) * per
                hi = lo + per_level
                if bar is not None:
                    bar.set_postfix_str(f"{name} {level}")
                wrong = 0
                for start in range(lo, hi, run.batch_size):
                    stop = min(start + run.batch_size, hi)
                    y = torch.from_numpy(labels[start:stop].astype(np.int64))
                    wrong += counter.wrong(_cifar_batch(images, start, stop, pre), y)
                    if bar is not None:
                        bar.update(stop - start)
                measured.add(name, level, wrong, hi - lo)
    finally:
        if bar is not None:
            bar.close()
    return measured


def _cifar_batch(images: np.ndarray, start: int, stop: int, pre: Preprocess) -> Tensor:
    """Images ``start:stop`` of a ``(N, H, W, 3)`` uint8 array, prepared as the model expects:
    float ``(B, 3, S, S)`` in [0, 1]."""
    x = torch.from_numpy(np.array(images[start:stop], copy=True)).permute(0, 3, 1, 2).float().div_(255)
    return resize_and_crop_tensor(x, pre.resize, pre.crop)


def _load_npy(file: Path, *, mmap: bool, missing: str) -> np.ndarray:
    """A plain ``.npy`` array; pickled (object) arrays are refused, never unpickled."""
    if not file.is_file():
        raise DataError(f"{file.parent} has no {file.name} (CIFAR-10-C / CIFAR-100-C layout); {missing}")
    try:
        array = np.load(file, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise DataError(f"{file} is not a plain numeric .npy array ({err}); CIFAR-C files hold uint8 images "
                        f"(N, H, W, 3) or integer labels (N,) saved with numpy.save. Object (pickled) arrays "
                        f"are refused: loading them could run code") from err
    if not isinstance(array, np.ndarray) or array.dtype.hasobject:
        raise DataError(f"{file} is not a plain numeric .npy array (got {type(array).__name__}); save one "
                        f"array with numpy.save")
    return array


def _cifar_labels(root: Path) -> np.ndarray:
    """``labels.npy``: one non-negative integer class per image, the five severities stacked."""
    file = root / "labels.npy"
    labels = _load_npy(file, mmap=False, missing="it holds the class of every image")
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{file} must hold integer class indices of shape (N,); got {labels.dtype} {labels.shape}")
    if len(labels) == 0 or len(labels) % len(SEVERITIES):
        raise DataError(f"{file} holds {len(labels)} labels; CIFAR-C stacks the 5 severities, so a positive "
                        f"multiple of 5 is needed (10,000 per severity: 50,000)")
    if int(labels.min()) < 0:
        raise DataError(f"{file} holds the negative class index {int(labels.min())}; indices are 0 ... K-1")
    return labels


def _cifar_images(file: Path, count: int, pre: Preprocess) -> np.ndarray:
    """One corruption's images, memory-mapped: uint8 ``(count, H, W, 3)``, checked against the
    labels and the crop."""
    images = _load_npy(file, mmap=True, missing="evaluate fewer with --corruptions (corruptions= in Python)")
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise DataError(f"{file} must hold uint8 RGB images of shape (N, H, W, 3); got {images.dtype} {images.shape}")
    if len(images) != count:
        raise DataError(f"{file} holds {len(images)} images but labels.npy has {count} labels; they must match "
                        f"one to one (the 5 severities stacked)")
    if pre.resize is None:  # with a resize, check_crop_fits has checked the crop
        check_size_fits_crop(images.shape[2], images.shape[1], pre.crop, f"every image of {file}")
    return images


def read_clean(loaded: LoadedModel, root: Path, request: _Request, run: _Run) -> LayoutData:
    """``<class>/<file>`` clean images, corrupted on the fly (seeded per batch, as
    ``corrupt_folder``); measures the clean error too."""
    names, levels = request.names, request.levels
    classes, counter = _folder_classes(loaded, [root], request.class_map, str(root))
    paths, labels = labelled_images(root, classes)
    paths, labels = paths[: run.limit], labels[: run.limit]
    size = loaded.preprocess.input_size
    family = parameter_family(size, size, request.params)
    wrong = {(n, s): 0 for n in names for s in levels}
    clean_wrong = 0
    per_image = 1 + len(names) * len(levels)
    bar = _bar(run.progress, len(paths) * per_image, "robustness")
    for index, (x, y) in enumerate(_labelled_batches(paths, labels, loaded.preprocess, run)):
        x = x.to(run.device).float().div_(255)
        clean_wrong += counter.wrong(x, y)
        for name in names:
            for level in levels:
                gen = batch_generator(request.seed, name, level, index, run.device)
                corrupted = corrupt(x, name, level, gen, params=family, frost_dir=request.frost_dir)
                wrong[name, level] += counter.wrong(corrupted, y)
        if bar is not None:
            bar.update(len(y) * per_image)
    if bar is not None:
        bar.close()
    measured = LayoutData(clean_error=clean_wrong / len(paths), params=family)
    for (name, level), count in wrong.items():
        measured.add(name, level, count, len(paths))
    return measured


_READERS: dict[str, Callable[[LoadedModel, Path, _Request, _Run], LayoutData]] = {
    "imagenet-c": read_imagenet_c,
    "cifar-c": read_cifar_c,
    "clean": read_clean,
}


def evaluate_robustness(
    model: str | LoadedModel | nn.Module,
    data: str | os.PathLike[str],
    *,
    layout: str = "auto",
    corruptions: Sequence[str] | None = None,
    severities: Sequence[int] = SEVERITIES,
    clean_dir: str | os.PathLike[str] | None = None,
    clean_error: float | None = None,
    baseline: str | None = "auto",
    params: str = "auto",
    seed: int = 0,
    batch_size: int = 64,
    num_workers: int | None = None,
    device: str | torch.device | None = None,
    preprocess: Preprocess | Mapping[str, Any] | None = None,
    frost_dir: str | os.PathLike[str] | None = None,
    limit: int | None = None,
    class_map: ClassMap | None = None,
    progress: bool = False,
) -> RobustnessResult:
    """Top-1 error of ``model`` per corruption and severity, with mCE / relative mCE.

    Args:
        model: a spec (``"torchvision:resnet50"`` ..., as ``load_model``), a ``LoadedModel`` or an
            ``nn.Module`` taking ImageNet-normalised input.
        data: a folder in one of the layouts of the module docstring.
        layout: ``"auto"`` (detect), ``"imagenet-c"``, ``"cifar-c"`` or ``"clean"``.
        corruptions: names to evaluate (default: the 15 benchmark corruptions).
        severities: levels to evaluate.
        clean_dir: clean ``<class>/<file>`` images for the clean error (``imagenet-c`` layout);
            the ``clean`` layout measures it on ``data`` itself.
        clean_error: the model's clean error (fraction), if known instead.
        baseline: ``"alexnet"``, None (no normalisation) or ``"auto"``: AlexNet for ImageNet
            data, none for CIFAR-C.
        params: corruption parameters for the ``clean`` layout (see ``corrupt``).
        seed: seeds the on-the-fly corruptions (per batch, as ``corrupt_folder``).
        batch_size, num_workers, device: how to run.
        preprocess: replaces the model's resize/crop (e.g. ``{"resize": None, "crop": None}``
            for 32-px CIFAR models).
        frost_dir: the frost pictures (``clean`` layout).
        limit: evaluate at most this many images per corruption and severity (quick runs).
        class_map: class folder name -> model output index (or a JSON file holding that
            mapping or a list of names), for folders the rules of :mod:`.labels` cannot place.
        progress: show a progress bar.

    Raises:
        DataError: unreadable or inconsistent data, or class folders that cannot be mapped to the
            model's outputs (named, with the fix); UnknownNameError for bad names;
        InvalidArgumentError: a crop larger than the resize, bad options;
        ModelOutputError: the model fails on the images or does not return ``(B, K)`` logits.
    """
    check_choice(layout, LAYOUTS, "layout")
    check_positive(batch_size, "batch_size")
    if limit is not None:
        check_positive(limit, "limit")
    names, levels = _select(corruptions, severities)
    root = Path(data)
    kind = detect_layout(root) if layout == "auto" else layout
    loaded = resolve_model(model, preprocess, device)
    check_crop_fits(loaded.preprocess.resize, loaded.preprocess.crop)
    if kind == "cifar-c" and class_map is not None:
        raise InvalidArgumentError("class_map is for class folders; CIFAR-C's labels.npy already holds class indices")
    run = _Run(batch_size=int(batch_size), num_workers=num_workers, limit=limit, progress=progress,
               device=resolve_device(device) if device is not None else torch.device("cpu"))
    measure_clean = clean_dir is not None and clean_error is None  # a given clean error is not measured
    request = _Request(names=names, levels=levels, class_map=class_map, seed=seed, params=params, frost_dir=frost_dir,
                       clean_dir=Path(clean_dir) if measure_clean else None)
    with torch.inference_mode():
        measured = _READERS[kind](loaded, root, request, run)
    result = RobustnessResult(loaded.name, str(root), kind, measured.errors, measured.images,
                              clean_error if clean_error is not None else measured.clean_error, params=measured.params)
    if baseline == "auto":  # AlexNet's errors are ImageNet-C's: for ImageNet data only
        use_baseline = kind == "imagenet-c" or (kind == "clean" and measured.params == "imagenet")
    else:
        use_baseline = baseline is not None
    _summarise(result, use_baseline)
    return result




def _summarise(result: RobustnessResult, normalise: bool) -> None:
    """Fill mCE, relative mCE, CE and the mean error from ``result.errors``."""
    bench = [n for n in BENCHMARK_CORRUPTIONS if n in result.errors]
    if bench:
        result.mean_error = 100 * float(np.mean([np.mean(list(result.errors[n].values())) for n in bench]))
    if not normalise:
        return
    complete = len(bench) == 15 and all(len(result.errors[n]) == 5 for n in bench)
    if complete:
        table = {n: [result.errors[n][s] for s in SEVERITIES] for n in bench}
        summary = mce(table, clean_error=result.clean_error)
        result.mce, result.relative_mce = summary.mce, summary.relative_mce
        result.ce, result.relative_ce = summary.ce, summary.relative_ce
        return
    for n in bench:  # a subset: CE over the severities evaluated, no mCE
        levels = sorted(result.errors[n])
        model = sum(result.errors[n][s] for s in levels)
        alex = sum(ALEXNET_ERRORS[n][s - 1] for s in levels)
        result.ce[n] = 100 * model / alex
        if result.clean_error is not None:
            result.relative_ce[n] = 100 * (model - len(levels) * result.clean_error) / (alex - len(levels) * ALEXNET_CLEAN_ERROR)


def plot_robustness(result: RobustnessResult, path: str | os.PathLike[str]) -> Path:
    """Bar plot of the error per corruption (mean over severities), AlexNet's as ticks.

    Needs matplotlib. Written atomically; the format follows the suffix (.png, .pdf, .svg).
    """
    from ..plotting import figure_format, pyplot, save_figure

    figure_format(path)  # refuse a bad suffix before drawing
    plt = pyplot()
    names = list(result.errors)
    means = [100 * float(np.mean(list(result.errors[n].values()))) for n in names]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.55 * len(names) + 2), 4.0))
    ax.bar(range(len(names)), means, color="#4c72b0", label=result.model)
    alex = [(i, 100 * float(np.mean([ALEXNET_ERRORS[n][s - 1] for s in result.errors[n]])))
            for i, n in enumerate(names) if n in ALEXNET_ERRORS and result.layout != "cifar-c"]
    if alex:
        ax.scatter([i for i, _ in alex], [v for _, v in alex], marker="_", s=300, color="#c44e52",
                   label="AlexNet (ImageNet-C)", zorder=3)
    if result.clean_error is not None:
        ax.axhline(100 * result.clean_error, color="gray", linestyle="--", linewidth=1, label="clean error")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([n.replace("_", " ") for n in names], rotation=45, ha="right")
    ax.set_ylabel("top-1 error (%)")
    title = f"{result.model}: "
    title += f"mCE {result.mce:.1f}" if result.mce is not None else f"mean corruption error {result.mean_error:.1f}%"
    ax.set_title(title)
    ax.set_ylim(0, 100)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path, dpi=120)
