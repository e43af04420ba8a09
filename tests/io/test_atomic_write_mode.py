"""Files written through atomic_write get the permissions the user's umask asks for."""

import os
import stat
import sys

import pytest
import torch

from stylebias.io import atomic_write, save_image, write_json

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")


@pytest.fixture
def restore_umask():
    """Put the process umask back after a test that changes it."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield
    os.umask(previous)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_write_honours_umask(tmp_path, restore_umask, mask, expected):
    os.umask(mask)
    with atomic_write(tmp_path / "out.bin") as tmp:
        tmp.write_bytes(b"data")
    assert _mode(tmp_path / "out.bin") == expected
    assert write_json({"a": 1}, tmp_path / "r.json") and _mode(tmp_path / "r.json") == expected
    save_image(torch.rand(3, 4, 4), tmp_path / "img.png")  # the stylize/corrupt writer
    assert _mode(tmp_path / "img.png") == expected


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    for _ in range(3):
        with atomic_write(tmp_path / "out.txt") as tmp:
            tmp.write_text("x")
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
