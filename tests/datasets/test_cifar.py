"""cifar(): the offline error path and a fake extracted CIFAR-10 folder."""

import pickle

import numpy as np
import pytest
import torch

from stylebias.datasets import cifar
from stylebias.errors import InvalidArgumentError, MissingFileError


def test_missing_files_say_where_to_put_them(tmp_path):
    with pytest.raises(MissingFileError) as err:
        cifar("cifar10", root=tmp_path)
    msg = str(err.value)
    assert str(tmp_path / "cifar-10-batches-py") in msg
    assert "cifar-10-python.tar.gz" in msg
    assert "download=True" not in msg  # `stylebias train` prints it too, and has no such option (issue 11)
    with pytest.raises(MissingFileError, match="cifar-100-python"):
        cifar("cifar100", root=tmp_path, train=False)
    with pytest.raises(FileNotFoundError):  # MissingFileError is also a FileNotFoundError
        cifar("cifar10", root=tmp_path)


def test_unknown_name():
    with pytest.raises(InvalidArgumentError, match="'cifar10', 'cifar100'"):
        cifar("cifar11")


def test_fake_extracted_cifar10_gives_unit_range_tensors(tmp_path, monkeypatch):
    import torchvision.datasets.cifar as tv_cifar

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    data = np.zeros((4, 3072), dtype=np.uint8)
    data[1, :1024] = 255  # image 1: red channel full
    with open(folder / "test_batch", "wb") as fh:
        pickle.dump({"data": data, "labels": [3, 1, 4, 1]}, fh)
    with open(folder / "batches.meta", "wb") as fh:
        pickle.dump({"label_names": [f"c{i}" for i in range(10)]}, fh)
    monkeypatch.setattr(tv_cifar, "check_integrity", lambda *a, **k: True)  # no real md5s
    ds = cifar("cifar10", root=tmp_path, train=False)
    assert len(ds) == 4 and ds.num_classes == 10
    image, label, domain = ds[1]
    assert image.shape == (3, 32, 32) and image.dtype == torch.float32
    assert (label, domain) == (1, 0)
    assert image[0].min() == 1.0 and image[1:].max() == 0.0
    assert ds.labels.tolist() == [3, 1, 4, 1]
