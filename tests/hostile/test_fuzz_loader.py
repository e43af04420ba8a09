"""Seeded mutation fuzzing of load_image: whatever the bytes, an RGB image or a DataError.

The seeds are small JPEG/PNG/WebP files with a camera-like EXIF block, a TIFF with an EXIF
orientation, an animated GIF and a BMP (:func:`tests.hostile.corpus.seed_files`); each case
applies one mutation (byte flips, truncation, inserted random or repeated chunks, flips inside
the EXIF block, a malformed EXIF block with random orientation/tag types, counts and offsets).
About 1 % of these made the old loader raise AttributeError, TypeError or struct.error.
"""

from __future__ import annotations

import collections
import random
import warnings

import pytest
from PIL import Image

from stylebias.errors import DataError
from stylebias.io import load_image
from tests.hostile.corpus import mutate, seed_files

CASES = 2000


@pytest.mark.parametrize("seed", [0])
def test_mutated_images_load_as_rgb_or_raise_data_error(tmp_path, monkeypatch, capsys, seed):
    # A mutated header may claim millions of pixels; a low bomb limit keeps every decode
    # small (and exercises the DecompressionBombError path).
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1 << 16)
    rng = random.Random(seed)
    seeds = seed_files(rng)
    suffixes = sorted(seeds)
    outcomes: collections.Counter[str] = collections.Counter()
    escaped: list[str] = []
    for i in range(CASES):
        suffix = rng.choice(suffixes)
        path = tmp_path / f"case{i:05d}{suffix}"  # a new file each time: rewriting one is slow on ext4
        path.write_bytes(mutate(seeds[suffix], rng, suffix))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PIL's and our DataWarnings: counted elsewhere
            try:
                image = load_image(path)
            except DataError as err:
                assert path.name in str(err), str(err)
                outcomes["DataError"] += 1
            except Exception as err:  # noqa: BLE001 - the thing under test
                escaped.append(f"{path.name}: {type(err).__name__}: {err}")
            else:
                assert image.mode == "RGB" and image.width >= 1 and image.height >= 1
                image.tobytes()  # really decoded, detached from the file
                outcomes["RGB image"] += 1
        path.unlink()
    with capsys.disabled():  # counts the lead can quote, shown without -s
        print(f"\nload_image fuzz (seed {seed}): {CASES} mutated files, {dict(outcomes)}, "
              f"{len(escaped)} other exceptions")
    assert not escaped, f"{len(escaped)} exceptions other than DataError:\n" + "\n".join(escaped[:20])
    assert outcomes["DataError"] > CASES // 10 and outcomes["RGB image"] > CASES // 10  # both paths exercised
