"""The 17 image sets of the model-vs-human benchmark: layouts, archives and human raw data.

Two layouts, as model-vs-human's loaders read them (bethgelab/model-vs-human, commit
79ed7cd1d9ac3a114e71b6638f0a98bdd627316c, ``modelvshuman/datasets/``):

* the 12 parametric sets, ``sketch`` and ``stylized`` (``contains_sessions=True``,
  ``InfoMappingWithSessions``): ``<dataset>/dnn/session-<k>/<image>``, the image named
  ``<trial>_<abbr>_dnn_<condition>_<category>_<xx>_<name>`` (e.g.
  ``0001_nse_dnn_0.00_knife_10_n03041632_7.png``): the condition is the 4th ``_``-separated
  field, the category the 5th;
* ``edge``, ``silhouette`` and ``cue-conflict`` (``ImageNetInfoMapping``):
  ``<dataset>/<category>/<image>``, session ``session-1``, condition ``"NaN"``.

Images are taken in ``torchvision.datasets.ImageFolder`` order (sorted sub-folder, then sorted
file name), the order of model-vs-human's ``ResultPrinter`` trials.

The dataset archives are the assets of model-vs-human's GitHub release v0.1
(``utils.py``: ``dataset_base_url``); their sha256 is not published, so it is recorded on first
download and checked on every later use (:class:`~stylebias.hub.Artifact` ``record_sha256``).
The human raw data of all 17 sets come file by file from the pinned commit, each checked
against a sha256 computed from the git blobs (``stylebias/data/model_vs_human_raw_data.tsv``).
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .._checks import check_choice
from ..errors import DataError
from ..hub import Artifact, download, download_set, get_artifact, get_artifact_set
from ..hub.download import cache_dir as resolve_cache_dir
from ..hub.manifest import MVH_COMMIT, MVH_RELEASE_URL as RELEASE_URL
from ..io import IMAGE_EXTENSIONS, list_images
from ..shapebias.categories import CATEGORIES
from .benchmark import BENCHMARK_DATASETS

__all__ = [
    "MVH_COMMIT",
    "RELEASE_URL",
    "FOLDER_DATASETS",
    "SESSION_DATASETS",
    "BenchmarkImage",
    "parse_image_path",
    "list_benchmark_images",
    "images_hash",
    "dataset_artifact",
    "benchmark_dataset_dir",
    "human_raw_data",
]

FOLDER_DATASETS = ("edge", "silhouette", "cue-conflict")
SESSION_DATASETS = tuple(d for d in BENCHMARK_DATASETS if d not in FOLDER_DATASETS)
_SHOWN = 5


@dataclass(frozen=True)
class BenchmarkImage:
    """One image of a benchmark dataset, as model-vs-human's info mapping reads its path.

    Attributes:
        path: the file.
        session: ``"session-<k>"``.
        imagename: file name (the ``imagename`` column of the raw data).
        condition: the condition as written in the file name (``"0.00"``, ``"cr"``), ``"NaN"``
            for the sets without conditions.
        category: the true category (one of the 16).
    """

    path: Path
    session: str
    imagename: str
    condition: str
    category: str


def parse_image_path(path: str | os.PathLike[str], dataset: str) -> BenchmarkImage:
    """Session, condition and category of an image from its path, as model-vs-human parses it.

    Raises:
        DataError: the name lacks the ``_``-separated fields, or the category is not one of the 16.
    """
    file = Path(path)
    if dataset in FOLDER_DATASETS:  # ImageNetInfoMapping
        session, condition, category = "session-1", "NaN", file.parent.name
    else:  # InfoMappingWithSessions
        fields = file.name.split("_")
        if len(fields) < 5:
            raise DataError(
                f"{file}: {dataset} images are named <trial>_<abbr>_dnn_<condition>_<category>_..., "
                f"with the condition and category as the 4th and 5th '_'-separated fields"
            )
        session, condition, category = file.parent.name, fields[3], fields[4]
    if category not in CATEGORIES:
        where = "folder" if dataset in FOLDER_DATASETS else "5th '_'-field of the name"
        raise DataError(f"{file}: category {category!r} (the {where}) is not one of {', '.join(CATEGORIES)}")
    return BenchmarkImage(file, session, file.name, condition, category)


def _listing(items: list[str]) -> str:
    return ", ".join(items[:_SHOWN]) + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def list_benchmark_images(folder: str | os.PathLike[str], dataset: str) -> list[BenchmarkImage]:
    """Every image of one dataset folder (``<data>/<dataset>``), in ImageFolder order.

    Raises:
        DataError: the folder or its ``dnn/session-<k>`` folders are missing, images lie at
            the wrong depth, or names do not parse (each message names the files and the layout).
    """
    check_choice(dataset, BENCHMARK_DATASETS, "dataset")
    root = Path(folder)
    sessions = dataset not in FOLDER_DATASETS
    base = root / "dnn" if sessions else root
    layout = (f"{root}/dnn/session-1/<trial>_<abbr>_dnn_<condition>_<category>_<xx>_<name>.png" if sessions
              else f"{root}/<category>/<name>.png")
    if not base.is_dir():
        raise DataError(f"{base} does not exist; the {dataset} images are expected as {layout}")
    paths = list_images(base, extensions=IMAGE_EXTENSIONS)
    if not paths:
        raise DataError(f"{base} holds no images; expected {layout}")
    misplaced = [p.relative_to(base).as_posix() for p in paths if len(p.relative_to(base).parts) != 2]
    if sessions:
        misplaced += [p.relative_to(base).as_posix() for p in paths
                      if len(p.relative_to(base).parts) == 2 and not p.parent.name.startswith("session-")]
    if misplaced:
        raise DataError(f"{len(misplaced)} image(s) of {dataset} are not where model-vs-human looks "
                        f"({layout}): {_listing(sorted(misplaced))}")
    ordered = sorted(paths, key=lambda p: p.relative_to(base).parts)
    return [parse_image_path(p, dataset) for p in ordered]


def images_hash(images: list[BenchmarkImage], folder: str | os.PathLike[str]) -> str:
    """sha256 of the images' relative paths and sizes: the dataset's identity in a run.

    Renaming, adding, removing or resizing a file changes it; an edit that keeps the size does
    not (reading every image's bytes twice would cost as much as decoding them).
    """
    root = Path(folder)
    digest = hashlib.sha256()
    for image in images:
        digest.update(f"{image.path.relative_to(root).as_posix()}\t{image.path.stat().st_size}\n".encode())
    return digest.hexdigest()


def dataset_artifact(dataset: str) -> Artifact:
    """The release archive of ``dataset`` (registered as ``model-vs-human-<dataset>``)."""
    check_choice(dataset, BENCHMARK_DATASETS, "dataset")
    return get_artifact(f"model-vs-human-{dataset}")


def benchmark_dataset_dir(
    dataset: str,
    data_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    download_missing: bool = True,
    progress: bool = True,
) -> Path:
    """The image folder of ``dataset``: ``data_dir/<dataset>`` when given (a folder you already
    have, e.g. model-vs-human's ``datasets/``), else the release archive downloaded into the
    cache and extracted (once) to ``<cache>/model-vs-human-v0.1/<dataset>``.

    Raises:
        DataError: ``data_dir`` lacks the dataset's folder, or the archive holds no such folder.
        MissingFileError: not cached and ``download_missing=False``, or the download failed.
    """
    check_choice(dataset, BENCHMARK_DATASETS, "dataset")
    if data_dir is not None:
        folder = Path(data_dir) / dataset
        if not folder.is_dir():
            raise DataError(f"{folder} does not exist: --data DIR (data_dir) must hold one folder per "
                            f"dataset, as model-vs-human's datasets/ folder does")
        return folder
    root = resolve_cache_dir(cache_dir) / "model-vs-human-v0.1"
    folder = root / dataset
    if folder.is_dir():
        return folder
    archive = download(dataset_artifact(dataset), cache_dir, download=download_missing, progress=progress)
    _extract(archive, root, dataset)
    return folder


def _extract(archive: Path, root: Path, dataset: str) -> None:
    """Unpack ``archive`` into ``root/<dataset>`` atomically (a temporary folder, then a rename);
    tar members that would leave the folder or are links outside it are refused."""
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix=f".extract-{dataset}-") as tmp:
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(tmp, filter="data")
        except (tarfile.TarError, OSError, EOFError) as err:
            raise DataError(f"{archive} cannot be unpacked ({err}); delete it (and its .sha256 record if "
                            f"the download was damaged) to download it again") from None
        unpacked = Path(tmp) / dataset
        if not unpacked.is_dir():
            top = sorted(p.name for p in Path(tmp).iterdir())
            raise DataError(f"{archive} holds {top}, not the folder {dataset}/; unpack it by hand into "
                            f"a folder <DIR>/{dataset} and pass --data DIR")
        os.replace(unpacked, root / dataset)


def human_raw_data(
    dataset: str,
    human_data_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    download_missing: bool = True,
    progress: bool = True,
) -> list[Path]:
    """The human subjects' raw-data CSV files of ``dataset`` (``<dataset>_subject-<k>_...csv``).

    Args:
        human_data_dir: a folder with one sub-folder per dataset (model-vs-human's
            ``raw-data/``); default: the files of the pinned commit, downloaded into the cache
            and sha256-checked.

    Raises:
        DataError: the folder holds no human files of the dataset.
        MissingFileError: not cached and ``download_missing=False``, or the download failed.
    """
    check_choice(dataset, BENCHMARK_DATASETS, "dataset")
    root = (Path(human_data_dir) if human_data_dir is not None
            else download_set(get_artifact_set("model-vs-human-raw-data"), cache_dir, download=download_missing,
                              progress=progress))
    folder = root / dataset
    files = sorted(folder.glob(f"{dataset}_subject-*.csv")) if folder.is_dir() else []
    if not files:
        raise DataError(f"{folder} holds no human raw-data files ({dataset}_subject-<k>_session_1.csv); "
                        f"the human data folder needs one sub-folder per dataset, as model-vs-human's raw-data/")
    return files
