"""Every Python reader of image files on every case of the hostile corpus.

A loadable case must come out as an RGB image / tensor of the reader's documented shape; an
undecodable or non-regular one must raise ``DataError`` naming the file, or, for the readers
that swallow errors on purpose (they run in DataLoader workers), hand back the message naming
the file. No other exception may escape.
"""

from __future__ import annotations

import collections
import logging
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import torch

from stylebias.corruptions.robustness import _read_fitted
from stylebias.datasets import ImageFolderDataset, MultiDomainFolder
from stylebias.errors import DataError
from stylebias.image_files import ImageFiles, read_image
from stylebias.io import list_images, load_image
from stylebias.models import Preprocess
from stylebias.retrieval.folders import ReidImages, read_reid_image
from stylebias.stylize.dataset import load_resized
from stylebias.stylize.train_loop import _CroppedImages
from tests.hostile.conftest import Tally
from tests.hostile.corpus import build_corpus

SMALL = Preprocess(resize=16, crop=16)


def _rgb_tensor(x: Any, shape: tuple[int, ...] | None = None) -> None:
    assert isinstance(x, torch.Tensor) and x.shape[0] == 3 and x.dim() == 3, type(x)
    assert shape is None or tuple(x.shape) == shape


def _raising(read: Callable[[Path], Any], check: Callable[[Any], None]) -> Callable[[Path], str | None]:
    """A reader that raises DataError: ``None`` when it read the file, else the message."""
    def attempt(path: Path) -> str | None:
        try:
            check(read(path))
        except DataError as err:
            return str(err)
        return None
    return attempt


def _error_text(read: Callable[[Path], tuple[Any, str]], check: Callable[[Any], None]) -> Callable[[Path], str | None]:
    """A reader returning ``(value, error message)``: the message, or None after checking the value."""
    def attempt(path: Path) -> str | None:
        value, error = read(path)
        if error:
            return error
        check(value)
        return None
    return attempt


def _image_files(read: Callable[[Path], Any]) -> Callable[[Path], tuple[Any, str]]:
    """The shared worker dataset with one command's reader: ``(image or None, error text)``."""
    def item(path: Path) -> tuple[Any, str]:
        image, index, error = ImageFiles([path], read)[0]
        assert index == 0 and (image is None) == bool(error)
        return image, error
    return item


def _cropped(path: Path, caplog) -> tuple[Any, str]:
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        image = _CroppedImages([path], 32, 16, 10**8)[(0, 1)]
    return image, "" if image is not None else caplog.text


def _readers(caplog) -> dict[str, Callable[[Path], str | None]]:
    return {
        "load_image": _raising(load_image, lambda im: (im.mode == "RGB" and im.width * im.height > 0) or pytest.fail("not RGB")),
        "load_image(max_pixels)": _raising(lambda p: load_image(p, max_pixels=64), lambda im: im.width * im.height <= 64 or pytest.fail("too big")),
        "ReidImages": _raising(lambda p: ReidImages([p], height=8, width=4)[0], lambda x: _rgb_tensor(x, (3, 8, 4))),
        "shapebias ImageFiles": _error_text(_image_files(partial(read_image, geometry=SMALL.geometry, channels_last=True)),
                                            lambda x: x.shape == (16, 16, 3) or pytest.fail(str(x.shape))),
        "robustness ImageFiles": _error_text(_image_files(partial(_read_fitted, pre=SMALL)), lambda x: _rgb_tensor(x, (3, 16, 16))),
        "retrieval ImageFiles": _error_text(_image_files(partial(read_reid_image, size=(4, 8))), lambda x: _rgb_tensor(x, (3, 8, 4))),
        "stylize.load_resized": _raising(lambda p: load_resized(p, 16, 0, 10**8), _rgb_tensor),
        "stylize ImageFiles": _error_text(_image_files(partial(load_resized, size=16, crop=0, max_pixels=10**8)), _rgb_tensor),
        "train_decoder._CroppedImages": _error_text(lambda p: _cropped(p, caplog), lambda x: _rgb_tensor(x, (3, 16, 16))),
    }


def test_every_reader_on_every_case(tmp_path, caplog, emit):
    cases = build_corpus(tmp_path / "corpus")
    counts: collections.Counter[str] = collections.Counter()
    escaped = []
    for reader, attempt in _readers(caplog).items():
        for case in cases:
            counts["inputs"] += 1
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    message = attempt(case.path)
                except Exception as err:  # noqa: BLE001 - the thing under test
                    escaped.append(f"{reader} on {case.name}: {type(err).__name__}: {err}")
                    continue
            if case.expect in ("ok", "warn"):
                assert message is None, f"{reader} could not read {case.name}: {message}"
                counts["processed"] += 1
            else:
                assert message is not None, f"{reader} read {case.name}, expected an error"
                assert case.path.name in message, f"{reader}: {message!r} does not name {case.name}"
                counts["clean errors"] += 1
    counts["tracebacks"] = len(escaped)
    counts["runs"] = len(_readers(caplog))
    emit(Tally("Python readers", counts))
    assert not escaped, "\n".join(escaped)


def test_folder_datasets_list_skip_and_load(tmp_path, caplog, emit):
    cases = build_corpus(tmp_path / "root" / "domain" / "cls")
    with caplog.at_level(logging.WARNING, logger="stylebias.io"):
        listed = list_images(tmp_path / "root")
        folder = ImageFolderDataset(tmp_path / "root" / "domain")
        domains = MultiDomainFolder(tmp_path / "root")
    regular = sorted(c.path for c in cases if c.expect != "skip")
    assert sorted(listed) == regular
    assert sorted(p for p, _, _ in folder.samples) == regular == sorted(p for p, _, _ in domains.samples)
    for case in cases:
        if case.expect == "skip":
            assert f"skipping {case.path}" in caplog.text
    counts: collections.Counter[str] = collections.Counter(inputs=2 * len(cases), runs=2)
    counts["skipped"] = 2 * sum(c.expect == "skip" for c in cases)
    for dataset in (folder, domains):
        for i, (path, _, _) in enumerate(dataset.samples):
            expect = next(c.expect for c in cases if c.path == path)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if expect == "error":
                    with pytest.raises(DataError, match=path.name):
                        dataset[i]
                    counts["clean errors"] += 1
                else:
                    image, label, domain = dataset[i]
                    _rgb_tensor(image)
                    counts["processed"] += 1
    emit(Tally("ImageFolderDataset/MultiDomainFolder", counts))
