"""ImageFolderDataset and MultiDomainFolder on small trees built in tmp_path."""

import logging

import pytest
import torch
from PIL import Image

from stylebias.datasets import ImageFolderDataset, MultiDomainFolder, leave_one_domain_out
from stylebias.errors import DataError


def _png(path, colour, size=(6, 4)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)


def _tree(root, domains=("art", "photo"), classes=("cat", "dog"), per_class=2):
    for d in domains:
        for ci, c in enumerate(classes):
            for k in range(per_class):
                _png(root / d / c / f"{k}.png", (40 * ci, 10 * k, 200))
    return root


def test_image_folder_items_and_classes(tmp_path):
    root = tmp_path / "flat"
    _png(root / "dog" / "x.png", (255, 0, 0))
    _png(root / "cat" / "y.jpg", (0, 255, 0))
    _png(root / "cat" / "sub" / "z.png", (0, 0, 255))
    (root / "cat" / "notes.txt").write_text("not an image")
    ds = ImageFolderDataset(root)
    assert ds.classes == ["cat", "dog"] and len(ds) == 3
    image, label, domain = ds[2]
    assert image.shape == (3, 4, 6) and image.dtype == torch.float32
    assert (label, domain) == (1, 0)
    assert torch.allclose(image[:, 0, 0], torch.tensor([1.0, 0.0, 0.0]))
    assert ds.labels.tolist() == [0, 0, 1]
    resized = ImageFolderDataset(root, transform=lambda im: im.size)
    assert resized[0][0] == (6, 4)
    assert len(ImageFolderDataset(root, extensions=["png"])) == 2


def test_image_folder_errors_name_the_problem(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        ImageFolderDataset(tmp_path / "missing")
    _png(tmp_path / "loose.png", (1, 2, 3))
    with pytest.raises(DataError, match=r"no sub-folders; expected the layout root/<class>/<image>"):
        ImageFolderDataset(tmp_path)
    (tmp_path / "empty_class").mkdir()
    _png(tmp_path / "full" / "a.png", (1, 2, 3))
    with pytest.raises(DataError, match="'empty_class'.*hold no image"):
        ImageFolderDataset(tmp_path)


def test_corrupt_image_raises_at_load_time_naming_the_file(tmp_path):
    root = tmp_path / "data"
    _png(root / "cat" / "ok.png", (1, 2, 3))
    bad = root / "cat" / "truncated.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    ds = ImageFolderDataset(root)  # indexing does not open files
    assert len(ds) == 2
    ds[0]
    with pytest.raises(DataError, match="truncated.png"):
        ds[1]


def test_multi_domain_folder_layout_and_domain_indices(tmp_path):
    root = _tree(tmp_path, domains=("photo", "art", "sketch"), classes=("dog", "cat"))
    ds = MultiDomainFolder(root)
    assert ds.DOMAINS == ("art", "photo", "sketch") == ds.domains
    assert ds.classes == ["cat", "dog"] and len(ds) == 12
    assert torch.bincount(ds.domain_labels).tolist() == [4, 4, 4]
    image, label, domain = ds[5]
    assert image.shape == (3, 4, 6) and ds.DOMAINS[domain] == "photo"
    # a subset keeps the same class and domain indices
    sub = MultiDomainFolder(root, domains=["sketch", "art"])
    assert sub.domains == ("sketch", "art") and sub.classes == ds.classes
    assert set(sub.domain_labels.tolist()) == {0, 2}
    assert len(sub.domain_indices("sketch")) == 4
    assert sub.samples[0][0].parts[-3:] == ("sketch", "cat", "0.png")
    splits = list(leave_one_domain_out(ds))
    assert splits[0] == (("photo", "sketch"), "art")


def test_multi_domain_folder_errors(tmp_path):
    with pytest.raises(DataError, match=r"does not exist; expected the layout root/<domain>/<class>"):
        MultiDomainFolder(tmp_path / "nope")
    root = _tree(tmp_path / "ds")
    with pytest.raises(DataError, match="'clipart'.*available: art, photo"):
        MultiDomainFolder(root, domains=["clipart"])
    _png(root / "photo" / "horse" / "0.png", (9, 9, 9))
    with pytest.raises(DataError, match="different class folders: 'art' lacks horse"):
        MultiDomainFolder(root)


def test_multi_domain_folder_union_of_classes_when_not_strict(tmp_path, caplog):
    root = _tree(tmp_path)
    _png(root / "photo" / "horse" / "0.png", (9, 9, 9))
    with caplog.at_level(logging.WARNING):
        ds = MultiDomainFolder(root, strict_classes=False)
    assert "'art' lacks horse" in caplog.text
    assert ds.classes == ["cat", "dog", "horse"] and len(ds) == 9
    assert ds[8][1] == 2


def test_multi_domain_folder_empty_class_in_domain(tmp_path):
    root = _tree(tmp_path)
    for f in (root / "art" / "dog").iterdir():
        f.unlink()
    with pytest.raises(DataError, match=r"'dog' in .*art hold no image"):
        MultiDomainFolder(root)
