"""stylize_dataset bounds the network's memory: huge images are downscaled before it and a batch
holds at most ``max_pixels`` pixels.

Before: one 13000 x 13000 PNG went through the network at 50 Mpx (the old default) and took
more than 14.8 GB; batches of ``batch_size`` large images multiplied that.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stylebias.stylize import AdaINStylizer
from stylebias.stylize.dataset import (DEFAULT_MAX_PIXELS, NETWORK_BYTES_PER_PIXEL, StylizeConfig,
                                       stylize_dataset)


def _gradient(path: Path, width: int, height: int) -> None:
    """A cheap-to-encode image of the given size (PNG of a smooth gradient)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    rgb = np.stack([x + 0 * y, y + 0 * x, (x + y) / 2], axis=-1).astype(np.uint8)
    Image.fromarray(rgb).save(path, compress_level=1)


class _RecordingStylizer(AdaINStylizer):
    """The real style encoder, but stylize_many only records the sizes it is given."""

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.batches: list[list[tuple[int, int]]] = []

    def stylize_many(self, images, style, alpha=1.0, *, method=None):
        self.batches.append([tuple(x.shape[-2:]) for x in images])
        return [x.clamp(0, 1) for x in images]


def test_default_cap_bounds_each_image_and_each_batch(tmp_path, weight_files):
    content = tmp_path / "content"
    _gradient(content / "huge.png", 3000, 2000)  # 6 Mpx, three times the default cap
    for i in range(6):
        _gradient(content / f"mid{i}.png", 600, 600)  # 0.36 Mpx: six of them exceed the cap
    _gradient(tmp_path / "style" / "s.png", 32, 32)
    net = _RecordingStylizer.from_files(*weight_files)
    cfg = StylizeConfig(content_dir=content, style_dir=tmp_path / "style", output_dir=tmp_path / "out",
                        style_size=16, workers=0, batch_size=8, progress=False)  # fmt: skip
    assert cfg.max_pixels == DEFAULT_MAX_PIXELS
    stylize_dataset(cfg, stylizer=net)
    assert sum(len(b) for b in net.batches) == 7
    for batch in net.batches:
        assert sum(h * w for h, w in batch) <= DEFAULT_MAX_PIXELS, batch
    (huge,) = [s for b in net.batches for s in b if s[1] > 600]
    assert huge[0] * huge[1] <= DEFAULT_MAX_PIXELS and abs(huge[1] / huge[0] - 1.5) < 0.01
    with Image.open(tmp_path / "out" / "huge-stylized-s.png") as out:
        assert out.size == (huge[1], huge[0])


_MEASURE = """
import json, sys
import torch
torch.set_num_threads(1)
from stylebias.stylize import AdaINStylizer
from stylebias.stylize.dataset import StylizeConfig, stylize_dataset
args = json.loads(sys.argv[1])
def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
net = AdaINStylizer.from_files(args.pop("vgg"), args.pop("decoder"))
runs = [(args.pop("warm"), args.pop("warm_out")), (args.pop("content"), args.pop("out"))]
stylize_dataset(StylizeConfig(content_dir=runs[0][0], output_dir=runs[0][1], **args), stylizer=net)
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")  # reset the peak (VmHWM) to the current resident size
before = status("VmRSS")
stylize_dataset(StylizeConfig(content_dir=runs[1][0], output_dir=runs[1][1], **args), stylizer=net)
print(json.dumps({"grew": status("VmHWM") - before}))
"""


@pytest.mark.skipif(not os.access("/proc/self/clear_refs", os.W_OK),
                    reason="needs Linux /proc/self/clear_refs to reset the peak resident size")
def test_real_network_peak_memory_stays_within_the_per_pixel_budget(tmp_path, weight_files):
    """The real network with random weights, in a fresh process: the peak RSS growth while
    stylizing four 256 x 256 images (a batch of 8 would take them all at once) stays within
    NETWORK_BYTES_PER_PIXEL x max_pixels plus an allowance for decoding and writing. Seen:
    61-80 MiB here; 224 MiB before the batch cap (four images in one batch)."""
    max_pixels = 256 * 256
    for i in range(4):
        _gradient(tmp_path / "content" / f"c{i}.png", 256, 256)
    _gradient(tmp_path / "warm" / "w.png", 16, 16)
    _gradient(tmp_path / "style" / "s.png", 32, 32)
    args = dict(content=str(tmp_path / "content"), out=str(tmp_path / "out"),
                warm=str(tmp_path / "warm"), warm_out=str(tmp_path / "warm_out"),
                style_dir=str(tmp_path / "style"), vgg=str(weight_files[0]),
                decoder=str(weight_files[1]), style_size=16, workers=0, batch_size=8,
                writers=1, max_pixels=max_pixels, progress=False)  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", _MEASURE, json.dumps(args)], capture_output=True,
                          text=True, timeout=120, env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    grew = json.loads(proc.stdout.strip().splitlines()[-1])["grew"]
    allowance = 48 * 2**20  # decoding, outputs, PNG encoding, allocator noise (+-20 MiB seen)
    assert grew <= NETWORK_BYTES_PER_PIXEL * max_pixels + allowance, grew / 2**20
