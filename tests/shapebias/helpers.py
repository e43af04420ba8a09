"""Tiny stimuli under the published naming convention and an 'oracle' classifier (fixtures).

Each generated image is a flat colour whose red value encodes the category the oracle model
will answer (``red = 16 * k + 8`` for ``CATEGORIES[k]``), so every expected decision, and hence
every metric, is known by hand.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image
from torch import nn

from stylebias.shapebias import CATEGORIES, imagenet_indices


def encode(category: str) -> int:
    return 16 * CATEGORIES.index(category) + 8


class Oracle(nn.Module):
    """Reads the colour code of a [0, 1] image and puts a large logit on that category's first
    ImageNet class. ``n_out`` != 1000 makes a wrong-size classifier."""

    def __init__(self, n_out: int = 1000) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))  # gives the model a parameter/device
        self.n_out = n_out
        first = [imagenet_indices()[c][0] for c in CATEGORIES]
        self.register_buffer("first", torch.tensor(first))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        red = x[:, 0].mean(dim=(1, 2)) * 255.0
        k = ((red - 8) / 16).round().clamp(0, 15).long()
        out = torch.zeros(x.shape[0], self.n_out, device=x.device) * self.scale
        if self.n_out == 1000:
            out[torch.arange(x.shape[0]), self.first[k]] = 30.0
        return out


RAW_PREPROCESS = {"resize": None, "crop": None, "mean": (0.0, 0.0, 0.0), "std": (1.0, 1.0, 1.0)}


def write_stimulus(root: Path, rel: str, answer: str, size: int = 16) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), (encode(answer), 0, 0)).save(path)
    return path


# (file, category the oracle answers). Hand-computed metrics in test_evaluate.py.
CUE_CONFLICT = [
    ("cat/cat1-dog1.png", "cat"),          # shape
    ("cat/cat1-elephant2.png", "elephant"),  # texture
    ("cat/cat2-cat1.png", "dog"),           # no conflict: left out
    ("cat/cat3-knife1.png", "boat"),        # neither
    ("dog/dog1-cat1.png", "dog"),           # shape
    ("dog/dog2-bottle1.png", "dog"),        # shape
    ("knife/knife1-oven1.png", "oven"),     # texture
]


@pytest.fixture
def cue_conflict_dir(tmp_path) -> Path:
    root = tmp_path / "cue"
    for rel, answer in CUE_CONFLICT:
        write_stimulus(root, rel, answer)
    return root


@pytest.fixture
def oracle_file(tmp_path) -> Path:
    path = tmp_path / "oracle_model.py"
    path.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parents[2])!r})\n"
        "from tests.shapebias.helpers import Oracle\n"
        "def build():\n    return Oracle()\n"
        "def build10():\n    return Oracle(10)\n"
    )
    return path
