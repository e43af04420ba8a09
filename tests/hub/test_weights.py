"""stylebias.hub.weights: torch files load with weights_only=True only, torchvision weights
through stylebias's verified path (never torch.hub's weights_only=False), clear errors."""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torchvision.models as tvm

from stylebias.errors import DataError, IntegrityError, MissingFileError
from stylebias.hub import load_torch_file, load_torchvision_state_dict, torchvision_weights_file
from stylebias.models import load_model


class _Payload:
    """Unpickling this creates the file ``marker``: proof that code from the file ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _plant_payload(path: Path, marker: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"conv.weight": torch.zeros(1), "extra": _Payload(marker)}, path)
    return path


def _prefix(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:8]


@pytest.fixture
def hub_home(tmp_path, monkeypatch) -> Path:
    """An empty torch hub cache; returns its checkpoints folder."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    return Path(torch.hub.get_dir()) / "checkpoints"


def test_payload_is_live_under_weights_only_false(tmp_path):
    """Control: the planted file does run code when unpickled the way torch.hub does."""
    evil = _plant_payload(tmp_path / "control.pth", tmp_path / "control-ran")
    torch.load(evil, weights_only=False)
    assert (tmp_path / "control-ran").exists()


def test_load_torch_file_refuses_pickled_code_with_a_clear_message(tmp_path):
    marker = tmp_path / "payload-ran"
    evil = _plant_payload(tmp_path / "evil.pth", marker)
    with pytest.raises(DataError) as info:
        load_torch_file(evil, what="decoder weights")
    msg = str(info.value)
    assert not marker.exists()
    assert f"decoder weights {evil}" in msg and "more than tensors" in msg and "state_dict()" in msg
    assert "\x1b" not in msg  # torch's message carries ANSI bold codes
    assert "weights_only=False" not in msg and "set to `False`" not in msg and "add_safe_globals" not in msg


def test_load_torch_file_reports_damaged_and_missing_files(tmp_path):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"this is not a torch file")
    with pytest.raises(DataError, match=f"cannot load checkpoint {junk}") as info:
        load_torch_file(junk, what="checkpoint")
    assert "weights_only=False" not in str(info.value) and "\x1b" not in str(info.value)
    good = tmp_path / "good.pt"
    torch.save({"w": torch.arange(3)}, good)
    with open(tmp_path / "truncated.pt", "wb") as fh:
        fh.write(good.read_bytes()[:100])
    with pytest.raises(DataError, match="truncated.pt"):
        load_torch_file(tmp_path / "truncated.pt")
    assert torch.equal(load_torch_file(good)["w"], torch.arange(3))
    with pytest.raises(MissingFileError, match="nothing.pt does not exist"):
        load_torch_file(tmp_path / "nothing.pt")


def test_planted_file_in_hub_cache_is_refused_through_load_model(hub_home, tmp_path):
    marker = tmp_path / "payload-ran"
    weights = tvm.ResNet18_Weights.IMAGENET1K_V1
    _plant_payload(hub_home / "resnet18-f37072fd.pth", marker)  # the name torchvision looks for
    with pytest.raises(IntegrityError, match="does not start with f37072fd"):
        load_model("torchvision:resnet18.IMAGENET1K_V1")
    assert not marker.exists()
    assert "get_state_dict" not in vars(weights)  # the temporary override is gone


def test_planted_file_with_matching_hash_prefix_is_still_not_unpickled(hub_home, tmp_path):
    """Even a file whose hash matches its name (a forged 8-hex prefix) loads weights-only."""
    marker = tmp_path / "payload-ran"
    staged = _plant_payload(tmp_path / "staged.pth", marker)
    name = f"evilnet-{_prefix(staged)}.pth"
    hub_home.mkdir(parents=True)
    staged.rename(hub_home / name)
    fake = SimpleNamespace(url=f"https://download.pytorch.org/models/{name}")
    with pytest.raises(DataError, match=f"cannot load torchvision weights .*{name}.*Delete .*downloaded again"):
        load_torchvision_state_dict(fake)
    assert not marker.exists()


def _publish(model: torch.nn.Module, folder: Path, stem: str) -> tuple[str, dict]:
    """Save ``model``'s random state_dict under torchvision's naming (stem-<sha256[:8]>.pth)
    in ``folder``; returns the file:// URL and the state."""
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    staged = folder / "staged.pth"
    torch.save(state, staged)
    final = folder / f"{stem}-{_prefix(staged)}.pth"
    staged.rename(final)
    return final.as_uri(), state


def test_valid_weights_download_verify_and_load_through_the_builder(hub_home, tmp_path, monkeypatch):
    weights = tvm.SqueezeNet1_1_Weights.IMAGENET1K_V1
    url, state = _publish(tvm.squeezenet1_1(), tmp_path / "server", "squeezenet1_1")
    monkeypatch.setattr(weights.value, "url", url)
    lm = load_model("torchvision:squeezenet1_1.IMAGENET1K_V1")
    loaded = lm.model.model.state_dict()
    assert loaded.keys() == state.keys()
    assert all(torch.equal(loaded[k], state[k]) for k in state)
    assert (hub_home / Path(url).name).is_file() and not list(hub_home.glob("*.partial"))
    # offline now: the verified cached file is used without any download
    monkeypatch.setattr(urllib.request, "urlopen", _offline)
    assert torchvision_weights_file(weights) == hub_home / Path(url).name


def test_download_with_wrong_hash_is_deleted(hub_home, tmp_path):
    server = tmp_path / "server"
    server.mkdir()
    (server / "net-00000000.pth").write_bytes(b"not what the name promises")
    fake = SimpleNamespace(url=(server / "net-00000000.pth").as_uri())
    with pytest.raises(IntegrityError, match="failed verification.*does not start with 00000000"):
        torchvision_weights_file(fake, progress=False)
    assert not list(hub_home.iterdir())


def _offline(*args, **kwargs):
    raise urllib.error.URLError("Temporary failure in name resolution")


def test_missing_file_without_download_says_where_to_put_it(hub_home):
    # (offline downloads: tests/models/test_models.py::test_offline_pretrained_download_...)
    with pytest.raises(MissingFileError, match=f"resnet18-f37072fd.pth are not in {hub_home}.*TORCH_HOME"):
        torchvision_weights_file(tvm.ResNet18_Weights.IMAGENET1K_V1, download=False)
