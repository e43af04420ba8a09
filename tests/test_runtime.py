"""The runtime module: device names, seeds, DDP unwrapping."""

import hashlib

import pytest
import torch
from torch import nn

from stylebias.errors import InvalidArgumentError
from stylebias.runtime import derive_seed, resolve_device, unwrap


def test_auto_and_cpu_resolve_on_this_machine(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device(None) == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")


def test_auto_takes_the_local_rank_gpu_under_torchrun(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert resolve_device("auto") == torch.device("cuda", 3)


@pytest.mark.parametrize("name, message", [
    ("cuda:7", "no CUDA device|cuda:0..cuda:"),
    ("gpu", "not a device name"),
    ("meta", "not supported"),
])
def test_devices_this_machine_lacks_are_refused(name, message, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(InvalidArgumentError, match=message):
        resolve_device(name)


def test_cuda_index_past_the_device_count_names_the_devices(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(InvalidArgumentError, match="2 CUDA device.*cuda:0..cuda:1"):
        resolve_device("cuda:7")


def test_derive_seed_is_the_documented_hash_and_differs_per_purpose():
    digest = hashlib.sha256(b"5/data/3").digest()
    assert derive_seed(5, "data", 3) == int.from_bytes(digest[:8], "little") >> 1
    assert 0 <= derive_seed(0, "x") < 2**63
    assert derive_seed(0, "data") != derive_seed(0, "init") != derive_seed(1, "init")


def test_unwrap_returns_plain_modules_unchanged():
    net = nn.Linear(2, 2)
    assert unwrap(net) is net
