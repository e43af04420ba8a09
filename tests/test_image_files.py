"""The shared worker dataset: images in order, every unreadable file reported by name."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from stylebias.errors import DataError
from stylebias.image_files import ImageFiles, collate_images, image_loader, read_image
from stylebias.models import Preprocess


def _folder(root: Path) -> list[Path]:
    """Five files: four PNGs of distinct colours (sizes differ) and a broken one third."""
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, size in enumerate([(20, 12), (9, 9), None, (12, 30), (16, 16)]):
        path = root / f"img{i}.png"
        if size is None:
            path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"truncated")
        else:
            Image.new("RGB", size, (10 * i, 20 * i, 30 * i)).save(path)
        paths.append(path)
    return paths


def _read_8(path: Path) -> torch.Tensor:
    return read_image(path, Preprocess(resize=8, crop=8).geometry)


@pytest.mark.parametrize("workers", [0, 1])
def test_bad_file_is_reported_by_name_and_the_rest_come_in_order(tmp_path, workers):
    paths = _folder(tmp_path / "imgs")
    files = ImageFiles(paths, _read_8)
    batches = list(image_loader(files, batch_size=2, num_workers=workers))
    assert [b.indices for b in batches] == [[0, 1], [3], [4]]
    assert batches[0].errors == [] and batches[2].errors == []
    assert len(batches[1].errors) == 1 and "img2.png" in batches[1].errors[0]
    with pytest.raises(DataError, match="img2.png"):
        batches[1].checked()
    first = batches[0].checked()
    assert first.dtype == torch.uint8 and first.shape == (2, 3, 8, 8)
    assert first[1, :, 4, 4].tolist() == [10, 20, 30]  # a flat colour stays that colour


@pytest.mark.parametrize("workers", [0, 1])
def test_items_one_by_one_without_a_batch_size(tmp_path, workers):
    paths = _folder(tmp_path / "imgs")
    items = list(image_loader(ImageFiles(paths, _read_8), batch_size=None, num_workers=workers))
    assert [i for _, i, _ in items] == [0, 1, 2, 3, 4]
    image, _, error = items[2]
    assert image is None and "img2.png" in error and str(paths[2]) in error
    assert all(e == "" and x.shape == (3, 8, 8) for x, _, e in items[:2] + items[3:])


def _raises_value_error(path: Path) -> torch.Tensor:
    raise ValueError("unsupported thing")


def test_other_read_errors_are_named_too(tmp_path):
    paths = _folder(tmp_path / "imgs")
    image, index, error = ImageFiles(paths, _raises_value_error)[4]
    assert (image, index) == (None, 4) and error == f"{paths[4]}: unsupported thing"


def test_reading_channels_last_is_the_decoded_layout(tmp_path):
    path = tmp_path / "x.png"
    array = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    Image.fromarray(array).save(path)
    assert np.array_equal(read_image(path, channels_last=True).numpy(), array)
    assert np.array_equal(read_image(path).permute(1, 2, 0).numpy(), array)
    files = ImageFiles([path, path], partial(read_image, channels_last=True))
    batch = collate_images([files[0], files[1]])
    assert batch.checked().shape == (2, 5, 7, 3) and batch.indices == [0, 1]


def test_a_batch_of_only_bad_files(tmp_path):
    paths = _folder(tmp_path / "imgs")
    batch = collate_images([ImageFiles(paths, _read_8)[2]])
    assert batch.images is None and batch.indices == [] and "img2.png" in batch.errors[0]
