"""stylebias.io on hostile files: malformed EXIF, special files, out-of-range wide grayscale."""

from __future__ import annotations

import logging
import os
import re
import threading
import warnings

import numpy as np
import pytest
from PIL import Image

from stylebias.errors import DataError, DataWarning
from stylebias.io import list_images, load_image
from tests.hostile.corpus import CRASHING_EXIF, encode, exif_block, orientation, tail_offset

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")


def _marked_image() -> Image.Image:
    """4 wide, 2 high, black but for a white top-left pixel."""
    arr = np.zeros((2, 4, 3), dtype=np.uint8)
    arr[0, 0] = 255
    return Image.fromarray(arr)


# ----------------------------------------------------------------------------- EXIF
@pytest.mark.parametrize("suffix,fmt", [("jpg", "JPEG"), ("png", "PNG"), ("webp", "WEBP")])
@pytest.mark.parametrize("name", sorted(CRASHING_EXIF))
def test_malformed_exif_beside_a_valid_orientation_still_rotates(tmp_path, name, suffix, fmt):
    # ImageOps.exif_transpose raised AttributeError / TypeError / struct.error on these.
    path = tmp_path / f"x.{suffix}"
    path.write_bytes(encode(_marked_image(), fmt, exif=CRASHING_EXIF[name], **({"lossless": True} if fmt == "WEBP" else {})))
    out = load_image(path)
    assert out.mode == "RGB" and out.size == (2, 4)  # orientation 6: rotated upright
    if fmt != "JPEG":  # lossless: the white pixel moved to the top-right corner
        assert np.asarray(out)[0, 1].tolist() == [255, 255, 255]


@pytest.mark.parametrize("entry,shown", [
    (orientation(3, 1, b"\x00\x09"), "9"),                 # out of 1..8
    (orientation(2, 2, b"6\x00"), "'6'"),                  # ASCII "6"
    (orientation(4, 1, (70000).to_bytes(4, "big")), "70000"),  # LONG
])
def test_unusable_orientation_is_ignored_with_a_warning(tmp_path, entry, shown):
    path = tmp_path / "odd.png"
    path.write_bytes(encode(_marked_image(), "PNG", exif=exif_block([entry])))
    with pytest.warns(DataWarning, match=rf"odd\.png: EXIF orientation {re.escape(shown)} .*not rotated"):
        out = load_image(path)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(_marked_image()))  # as stored


def test_rational_orientation_is_ignored_with_a_warning(tmp_path):
    path = tmp_path / "r.png"
    block = exif_block([orientation(5, 1, tail_offset(1))], (13).to_bytes(4, "big") + (2).to_bytes(4, "big"))
    path.write_bytes(encode(_marked_image(), "PNG", exif=block))
    with pytest.warns(DataWarning, match="r.png: EXIF orientation 6.5 is not an integer"):
        assert load_image(path).size == (4, 2)


def test_any_decoder_exception_becomes_data_error_naming_the_file(tmp_path, monkeypatch):
    # PIL's plugins raise struct.error, TypeError, IndexError ... on corrupt data.
    Image.new("RGB", (3, 3)).save(tmp_path / "ok.png")

    def broken_load(self):
        raise IndexError("tuple index out of range")

    monkeypatch.setattr(Image.Image, "load", broken_load)
    with pytest.raises(DataError, match=r"ok\.png: corrupt data \(IndexError: tuple index"):
        load_image(tmp_path / "ok.png")


# ----------------------------------------------------------------------------- special files
@needs_fifo
def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "fifo.jpg"
    os.mkfifo(fifo)
    outcome: list[BaseException | None] = []

    def read() -> None:
        try:
            load_image(fifo)
            outcome.append(None)
        except BaseException as err:  # noqa: BLE001 - handed to the main thread
            outcome.append(err)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=10)
    hung = reader.is_alive()
    if hung:  # release the old, blocking code: a writer lets open() return, then EOF
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(timeout=10)
    assert not hung, "load_image blocked opening a FIFO"
    assert isinstance(outcome[0], DataError) and "fifo.jpg is a FIFO" in str(outcome[0])


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="no /dev/null")
def test_device_and_folder_and_symlink_loop_are_refused(tmp_path):
    with pytest.raises(DataError, match="/dev/null is a character device, not an image file"):
        load_image("/dev/null")
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(DataError, match=r"dir\.png is a folder"):
        load_image(tmp_path / "dir.png")
    (tmp_path / "loop.png").symlink_to("loop.png")
    with pytest.raises(DataError, match=r"loop\.png cannot be accessed"):
        load_image(tmp_path / "loop.png")
    (tmp_path / "dangling.png").symlink_to("gone.png")
    with pytest.raises(DataError, match=r"dangling\.png does not exist \(a broken symbolic link\)"):
        load_image(tmp_path / "dangling.png")


@needs_fifo
def test_list_images_skips_non_regular_files_naming_each(tmp_path, caplog):
    Image.new("RGB", (2, 2)).save(tmp_path / "good.png")
    (tmp_path / "real.png").write_bytes((tmp_path / "good.png").read_bytes())
    (tmp_path / "link.png").symlink_to("real.png")  # a link to a file is an image
    os.mkfifo(tmp_path / "fifo.jpg")
    (tmp_path / "sub.jpg").mkdir()
    (tmp_path / "sub.jpg" / "inner.png").write_bytes((tmp_path / "good.png").read_bytes())
    (tmp_path / "loop.jpg").symlink_to("loop.jpg")
    with caplog.at_level(logging.WARNING, logger="stylebias.io"):
        found = list_images(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["good.png", "link.png", "real.png", "sub.jpg/inner.png"]
    log = caplog.text
    assert "fifo.jpg: it is a FIFO" in log and "sub.jpg: it is a folder" in log
    assert "loop.jpg: it cannot be accessed" in log
    assert "good.png" not in log


# ----------------------------------------------------------------------------- wide grayscale
def test_float_tiff_beyond_255_is_min_max_scaled_with_a_warning(tmp_path):
    arr = np.array([[0.0, 1000.0], [2000.0, 4000.0]], dtype=np.float32)
    Image.fromarray(arr, mode="F").save(tmp_path / "depth.tif")
    with pytest.warns(DataWarning, match=r"depth\.tif \(mode F\): values in \[0, 4000\] .*min-max scaled"):
        got = np.asarray(load_image(tmp_path / "depth.tif"))[..., 0]
    np.testing.assert_array_equal(got, np.rint(arr / 4000 * 255))  # not saturated at 255


def test_negative_float_and_non_finite_values_are_min_max_scaled(tmp_path):
    arr = np.array([[-1.0, 0.0], [np.nan, 1.0]], dtype=np.float32)
    Image.fromarray(arr, mode="F").save(tmp_path / "signed.tif")
    with pytest.warns(DataWarning, match=r"values in \[-1, 1\].*1 NaN/infinite value"):
        got = np.asarray(load_image(tmp_path / "signed.tif"))[..., 0]
    assert got.tolist() == [[0, 128], [0, 255]]  # NaN -> the lowest finite value


def test_int32_beyond_16_bits_is_min_max_scaled_with_a_warning(tmp_path):
    arr = np.array([[0, 100_000], [200_000, 400_000]], dtype=np.int32)
    Image.fromarray(arr, mode="I").save(tmp_path / "wide.tif")
    with pytest.warns(DataWarning, match=r"wide\.tif \(mode I\): values in \[0, 400000\]"):
        got = np.asarray(load_image(tmp_path / "wide.tif"))[..., 0]
    np.testing.assert_array_equal(got, np.rint(arr / 400_000 * 255))


def test_in_range_wide_grayscale_loads_without_a_warning(tmp_path):
    Image.fromarray(np.array([[0, 65535]], dtype=np.uint16)).save(tmp_path / "g16.tif")
    Image.fromarray(np.array([[0.0, 200.0]], dtype=np.float32), mode="F").save(tmp_path / "f255.tif")
    Image.fromarray(np.array([[0, 30000]], dtype=np.int32), mode="I").save(tmp_path / "i16.tif")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        assert np.asarray(load_image(tmp_path / "g16.tif"))[0, :, 0].tolist() == [0, 255]
        assert np.asarray(load_image(tmp_path / "f255.tif"))[0, :, 0].tolist() == [0, 200]  # taken as 0..255
        assert np.asarray(load_image(tmp_path / "i16.tif"))[0, :, 0].tolist() == [0, round(30000 / 257)]


def test_out_of_range_warning_is_issued_once_per_file(tmp_path):
    Image.fromarray(np.array([[0.0, 4000.0]], dtype=np.float32), mode="F").save(tmp_path / "a.tif")
    Image.fromarray(np.array([[0.0, 3000.0]], dtype=np.float32), mode="F").save(tmp_path / "b.tif")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for _ in range(3):  # e.g. three epochs over the same two files
            for name in ("a.tif", "b.tif"):
                load_image(tmp_path / name)
    messages = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert len(messages) == 2 and "a.tif" in messages[0] and "b.tif" in messages[1]
