"""stylebias.io: every PIL mode the loader promises, error messages, atomic saving."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from stylebias.errors import DataError, InvalidArgumentError, ShapeError
from stylebias.io import (
    IMAGE_EXTENSIONS,
    atomic_write,
    list_images,
    load_image,
    save_image,
    to_pil,
    to_tensor,
)


def _rgb_of(path, **kw):
    return np.asarray(load_image(path, **kw))


# ----------------------------------------------------------------------------- list_images
def test_list_images_sorted_case_insensitive_recursive(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / ".hidden").mkdir()
    for rel in ["b/z.PNG", "a.jpg", "b/c.JpEg", "notes.txt", ".hidden/x.png", ".y.png"]:
        (tmp_path / rel).write_bytes(b"")
    assert list_images(tmp_path) == [tmp_path / "a.jpg", tmp_path / "b/c.JpEg", tmp_path / "b/z.PNG"]
    assert list_images(tmp_path, recursive=False) == [tmp_path / "a.jpg"]
    assert list_images(tmp_path, extensions=["png"]) == [tmp_path / "b/z.PNG"]
    assert ".png" in IMAGE_EXTENSIONS and ".jpeg" in IMAGE_EXTENSIONS


def test_list_images_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        list_images(tmp_path / "missing")
    (tmp_path / "only.txt").write_text("x")
    with pytest.raises(DataError, match="no image files"):
        list_images(tmp_path)
    with pytest.raises(DataError, match="not a folder"):
        list_images(tmp_path / "only.txt")


# ----------------------------------------------------------------------------- load_image
def test_rgb_roundtrip_png(tmp_path):
    arr = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    Image.fromarray(arr, "RGB").save(tmp_path / "x.png")
    img = load_image(tmp_path / "x.png")
    assert img.mode == "RGB" and img.size == (5, 4)
    np.testing.assert_array_equal(np.asarray(img), arr)


def test_grayscale_and_bilevel(tmp_path):
    Image.new("L", (3, 2), 77).save(tmp_path / "l.png")
    Image.new("1", (3, 2), 1).save(tmp_path / "b.png")
    assert (_rgb_of(tmp_path / "l.png") == 77).all()
    assert (_rgb_of(tmp_path / "b.png") == 255).all()


def test_rgba_and_la_composited_on_white(tmp_path):
    Image.new("RGBA", (2, 2), (255, 0, 0, 0)).save(tmp_path / "clear.png")
    Image.new("RGBA", (2, 2), (255, 0, 0, 255)).save(tmp_path / "opaque.png")
    Image.new("RGBA", (2, 2), (0, 0, 0, 128)).save(tmp_path / "half.png")
    Image.new("LA", (2, 2), (0, 0)).save(tmp_path / "la.png")
    assert (_rgb_of(tmp_path / "clear.png") == 255).all()
    assert (_rgb_of(tmp_path / "opaque.png")[..., 0] == 255).all()
    assert (_rgb_of(tmp_path / "opaque.png")[..., 1:] == 0).all()
    half = _rgb_of(tmp_path / "half.png")
    assert np.all(np.abs(half.astype(int) - 127) <= 1)  # 50 % black over white
    assert (_rgb_of(tmp_path / "la.png") == 255).all()


def test_palette_with_transparency(tmp_path):
    img = Image.new("P", (2, 1))
    img.putpalette([0, 0, 255] + [0, 255, 0] + [0] * (254 * 3))
    img.putpixel((0, 0), 0)
    img.putpixel((1, 0), 1)
    img.save(tmp_path / "p.png", transparency=0)  # index 0 (blue) is transparent
    got = _rgb_of(tmp_path / "p.png")
    assert got[0, 0].tolist() == [255, 255, 255]
    assert got[0, 1].tolist() == [0, 255, 0]
    img.save(tmp_path / "p.gif")  # palette without transparency keeps its colours
    assert _rgb_of(tmp_path / "p.gif")[0, 0].tolist() == [0, 0, 255]


def test_cmyk(tmp_path):
    Image.new("CMYK", (3, 3), (0, 255, 255, 0)).save(tmp_path / "c.jpg", quality=100)
    Image.new("CMYK", (3, 3), (0, 255, 255, 0)).save(tmp_path / "c.tif")
    for name in ["c.jpg", "c.tif"]:
        r, g, b = _rgb_of(tmp_path / name)[1, 1].astype(int)
        assert r > 240 and g < 15 and b < 15, name  # pure red


def test_sixteen_bit(tmp_path):
    arr = np.full((2, 3), 65535, dtype=np.uint16)
    arr[0, 0] = 0
    arr[0, 1] = 257 * 100
    Image.fromarray(arr).save(tmp_path / "g16.png")  # opens as I;16 or I depending on PIL
    got = _rgb_of(tmp_path / "g16.png")
    assert got[0, 0].tolist() == [0, 0, 0] and got[0, 1].tolist() == [100] * 3
    assert (got[1] == 255).all()
    Image.fromarray(np.full((2, 2), 200, dtype=np.int32), mode="I").save(tmp_path / "i.tif")
    assert (_rgb_of(tmp_path / "i.tif") == 200).all()  # 32-bit with values <= 255 kept
    Image.fromarray(np.full((2, 2), 0.5, dtype=np.float32), mode="F").save(tmp_path / "f.tif")
    assert (np.abs(_rgb_of(tmp_path / "f.tif").astype(int) - 128) <= 1).all()


def test_exif_orientation_is_applied(tmp_path):
    arr = np.zeros((2, 4, 3), dtype=np.uint8)
    arr[0, 0] = 255  # white top-left pixel of a 4-wide, 2-high image
    img = Image.fromarray(arr)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    img.save(tmp_path / "o.png", exif=exif)
    out = load_image(tmp_path / "o.png")
    assert out.size == (2, 4)
    assert _rgb_of(tmp_path / "o.png")[0, 1].tolist() == [255, 255, 255]  # top-right after rotation


def test_max_pixels_downscales_keeping_aspect(tmp_path):
    Image.new("RGB", (400, 200), (10, 20, 30)).save(tmp_path / "big.jpg")
    Image.new("RGB", (400, 200), (10, 20, 30)).save(tmp_path / "big.png")
    for name in ["big.jpg", "big.png"]:
        img = load_image(tmp_path / name, max_pixels=5000)
        w, h = img.size
        assert w * h <= 5000 and abs(w / h - 2.0) < 0.05, (name, img.size)
    assert load_image(tmp_path / "big.png", max_pixels=10**6).size == (400, 200)
    with pytest.raises(InvalidArgumentError):
        load_image(tmp_path / "big.png", max_pixels=0)


def test_decompression_bomb_becomes_data_error(tmp_path, monkeypatch):
    Image.new("RGB", (100, 100)).save(tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 10,000 px > 2 x limit
    with pytest.raises(DataError, match="bomb.png.*too large"):
        load_image(tmp_path / "bomb.png")


def test_unreadable_files_name_the_file(tmp_path):
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(DataError, match="text.png.*not an image"):
        load_image(tmp_path / "text.png")
    with pytest.raises(DataError, match="missing.png.*does not exist"):
        load_image(tmp_path / "missing.png")
    Image.new("RGB", (64, 64), (1, 2, 3)).save(tmp_path / "full.jpg")
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="cut.jpg"):
        load_image(tmp_path / "cut.jpg")
    Image.new("RGB", (64, 64)).save(tmp_path / "full.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "full.png").read_bytes()[:60])
    with pytest.raises(DataError, match="cut.png"):
        load_image(tmp_path / "cut.png")


# ----------------------------------------------------------------------------- tensors
def test_to_tensor_and_back():
    arr = np.array([[[0, 128, 255]]], dtype=np.uint8)
    t = to_tensor(Image.fromarray(arr))
    assert t.shape == (3, 1, 1) and t.dtype == torch.float32
    torch.testing.assert_close(t.flatten(), torch.tensor([0.0, 128 / 255, 1.0]))
    assert np.asarray(to_pil(t)).tolist() == arr.tolist()
    assert to_tensor(Image.new("L", (2, 2), 255)).shape == (3, 2, 2)
    assert np.asarray(to_pil(torch.full((1, 3, 1, 1), 2.0)))[0, 0].tolist() == [255] * 3  # clipped
    with pytest.raises(ShapeError):
        to_pil(torch.zeros(2, 3, 4, 4))


# ----------------------------------------------------------------------------- saving
@pytest.mark.parametrize("suffix", [".png", ".jpg", ".JPEG", ".webp"])
def test_save_image_formats(tmp_path, suffix):
    x = torch.rand(3, 8, 10, generator=torch.Generator().manual_seed(0))
    path = save_image(x, tmp_path / "sub" / f"out{suffix}")
    assert path.is_file()
    with Image.open(path) as img:
        assert img.format == {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP"}[suffix[1:].lower()]
        assert img.size == (10, 8)
    if suffix == ".png":  # lossless: exact round trip at 8 bits
        torch.testing.assert_close(to_tensor(load_image(path)), (x * 255).round() / 255)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp files left


def test_save_image_rejects_unknown_suffix(tmp_path):
    with pytest.raises(InvalidArgumentError, match=r"\.png"):
        save_image(torch.zeros(3, 2, 2), tmp_path / "x.gif")
    assert not (tmp_path / "x.gif").exists()


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]
    with atomic_write(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target
        tmp.write_text("new")
    assert target.read_text() == "new"
