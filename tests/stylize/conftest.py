"""Shared fixtures: random AdaIN weights saved in the published layout, tiny image folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from stylebias.stylize import AdaINStylizer
from stylebias.stylize.network import build_decoder, build_vgg


@pytest.fixture(scope="session")
def weight_files(tmp_path_factory) -> tuple[Path, Path]:
    """``vgg_normalised.pth`` and ``decoder.pth`` with random weights, saved as the release is:
    ``torch.save(state_dict)`` of the full Sequentials (keys by module index)."""
    root = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    vgg, dec = build_vgg(), build_decoder()
    with torch.no_grad():  # scale so activations stay O(1) through 9 random layers
        for m in [*vgg.modules(), *dec.modules()]:
            if isinstance(m, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                m.bias.uniform_(-0.1, 0.1)
    torch.save(vgg.state_dict(), root / "vgg_normalised.pth")
    torch.save(dec.state_dict(), root / "decoder.pth")
    return root / "vgg_normalised.pth", root / "decoder.pth"


@pytest.fixture(scope="session")
def stylizer(weight_files) -> AdaINStylizer:
    return AdaINStylizer.from_files(*weight_files)


def _save(path: Path, array: np.ndarray, mode: str | None = None, **kw) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(array) if mode is None else Image.fromarray(array).convert(mode)
    img.save(path, **kw)


@pytest.fixture()
def folders(tmp_path) -> dict[str, Path]:
    """content/ (a small tree with several image modes and one bad file) and style/."""
    rng = np.random.default_rng(0)
    content, style = tmp_path / "content", tmp_path / "style"
    rgb = lambda h, w: rng.integers(0, 256, (h, w, 3), dtype=np.uint8)  # noqa: E731
    _save(content / "cls_a" / "rgb.JPG", rgb(21, 30), quality=95)
    _save(content / "cls_a" / "gray.png", rng.integers(0, 256, (17, 19), dtype=np.uint8))
    _save(content / "cls_a" / "rgba.png", rng.integers(0, 256, (16, 24, 4), dtype=np.uint8))
    _save(content / "cls_b" / "palette.png", rgb(20, 20), mode="P")
    _save(content / "cls_b" / "cmyk.jpg", rgb(24, 16), mode="CMYK")
    deep = (rng.integers(0, 65535, (18, 22), dtype=np.uint16)).astype(np.uint16)
    Image.fromarray(deep).save(content / "cls_b" / "sixteen.png")
    _save(content / "cls_b" / "tiny.png", rgb(3, 2))
    (content / "cls_b" / "notes.txt").write_text("not an image, wrong suffix: ignored")
    (content / "cls_b" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"truncated")
    for i in range(4):
        _save(style / f"painting{i}.jpg", rgb(40 + 8 * i, 36))
    return {"content": content, "style": style, "root": tmp_path}
