"""The networks have the published module lists; weights load as released, errors are clear."""

from __future__ import annotations

import pytest
import torch

from stylebias.errors import DataError, MissingFileError
from stylebias.stylize import AdaINStylizer
from stylebias.stylize.network import build_decoder, build_vgg

# Conv module indices in naoto0804/pytorch-AdaIN net.py (counted by hand from its Sequentials).
VGG_CONVS = [0, 2, 5, 9, 12, 16, 19, 22, 25, 29, 32, 35, 38, 42, 45, 48, 51]
DECODER_CONVS = [1, 5, 8, 11, 14, 18, 21, 25, 28]


def test_published_layout():
    vgg, dec = build_vgg(), build_decoder()
    assert len(vgg) == 53 and len(dec) == 29
    assert list(vgg.state_dict()) == [f"{i}.{p}" for i in VGG_CONVS for p in ("weight", "bias")]
    assert list(dec.state_dict()) == [f"{i}.{p}" for i in DECODER_CONVS for p in ("weight", "bias")]
    assert vgg[30].__class__.__name__ == "ReLU" and vgg[29].out_channels == 512  # relu4_1
    assert tuple(vgg[0].weight.shape) == (3, 3, 1, 1)
    assert tuple(dec[28].weight.shape) == (3, 64, 3, 3)
    assert isinstance(dec[3], torch.nn.Upsample) and dec[3].mode == "nearest"


def test_from_files_loads_exact_tensors(weight_files, stylizer):
    vgg_state = torch.load(weight_files[0], weights_only=True)
    dec_state = torch.load(weight_files[1], weights_only=True)
    assert torch.equal(stylizer.encoder.stages[0][0].weight, vgg_state["0.weight"])
    assert torch.equal(stylizer.encoder.stages[3][-2].weight, vgg_state["29.weight"])
    assert torch.equal(stylizer.decoder[28].weight, dec_state["28.weight"])
    feats = stylizer.encoder.features(torch.rand(1, 3, 32, 24))
    assert [tuple(f.shape) for f in feats] == [
        (1, 64, 32, 24), (1, 128, 16, 12), (1, 256, 8, 6), (1, 512, 4, 3)
    ]


def test_missing_and_bad_files(tmp_path, weight_files):
    with pytest.raises(MissingFileError, match="not found at .*nope.pth"):
        AdaINStylizer.from_files(tmp_path / "nope.pth", weight_files[1])
    swapped = tmp_path / "swapped.pth"
    torch.save(torch.load(weight_files[1], weights_only=True), swapped)
    with pytest.raises(DataError, match="published AdaIN layout"):
        AdaINStylizer.from_files(swapped, weight_files[1])
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="cannot load decoder weights .*garbage.pth"):
        AdaINStylizer.from_files(weight_files[0], garbage)


class _Evil:
    def __reduce__(self):
        return (print, ("code ran",))


def test_weights_only_refuses_pickled_code(tmp_path, weight_files):
    evil = tmp_path / "evil.pth"
    torch.save({"0.weight": _Evil()}, evil)
    with pytest.raises(DataError, match="cannot load decoder weights .*evil.pth: it holds more than tensors") as info:
        AdaINStylizer.from_files(weight_files[0], evil)
    # torch's message advises retrying with weights_only=False, in ANSI bold: not passed on
    assert "weights_only=False" not in str(info.value) and "\x1b" not in str(info.value)


def test_pretrained_offline_says_where_to_put_files(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLEBIAS_HOME", str(tmp_path))
    with pytest.raises(MissingFileError) as info:
        AdaINStylizer.pretrained(download=False)
    assert str(tmp_path) in str(info.value) and "vgg_normalised" in str(info.value)


def test_pretrained_uses_verified_cache(tmp_path, monkeypatch):
    """Files in the cache with the wrong bytes are rejected (sha256), not loaded."""
    from stylebias.hub import artifact_path

    monkeypatch.setenv("STYLEBIAS_HOME", str(tmp_path))
    for name in ("adain-vgg", "adain-decoder"):
        path = artifact_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"wrong")
    with pytest.raises(Exception, match="corrupt|sha256|size"):
        AdaINStylizer.pretrained(download=False)
