"""One progress bar per job (issue 11): robustness and corrupt no longer open one per
corruption and severity."""

from __future__ import annotations

import numpy as np
import pytest
import tqdm.auto

from stylebias.corruptions import corrupt_folder, evaluate_robustness

from .test_folder_robustness import brightness_model, two_classes  # noqa: F401 (fixture)


class _CountingBar:
    """Stands in for tqdm: records every bar opened and how far it got."""

    opened: list[_CountingBar] = []

    def __init__(self, total=None, **kwargs):
        self.total, self.n, self.closed = total, 0, False
        _CountingBar.opened.append(self)

    def update(self, n=1):
        self.n += n

    def set_postfix_str(self, text):
        pass

    def close(self):
        self.closed = True


@pytest.fixture
def bars(monkeypatch):
    _CountingBar.opened = []
    monkeypatch.setattr(tqdm.auto, "tqdm", _CountingBar)
    return _CountingBar.opened


def test_imagenet_c_folders_and_clean_share_one_bar(two_classes, tmp_path, bars):  # noqa: F811
    corrupt_folder(two_classes, tmp_path / "c", ["brightness", "contrast"], [1, 5], resize=None, crop=None)
    assert len(bars) == 1 and bars[0].n == bars[0].total and bars[0].closed  # corrupt: one bar
    bars.clear()
    evaluate_robustness(brightness_model(), tmp_path / "c", corruptions=["brightness", "contrast"], severities=[1, 5],
                        clean_dir=two_classes, num_workers=0, progress=True)
    assert len(bars) == 1
    assert bars[0].total == bars[0].n == 6 * 5 and bars[0].closed  # 4 folders + clean, 6 images each


def test_cifar_c_arrays_share_one_bar(tmp_path, bars):
    np.save(tmp_path / "labels.npy", np.array([0, 1] * 10, np.uint8))
    for name in ("fog", "snow"):
        np.save(tmp_path / f"{name}.npy", np.zeros((20, 32, 32, 3), np.uint8))
    evaluate_robustness(brightness_model(), tmp_path, corruptions=["fog", "snow"], severities=[1, 2], batch_size=3,
                        progress=True)
    assert len(bars) == 1 and bars[0].total == bars[0].n == 2 * 2 * 4 and bars[0].closed
