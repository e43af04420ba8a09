"""Market-1501 file names: identity, camera, junk and distractors."""

from __future__ import annotations

from pathlib import Path

import pytest

from stylebias.errors import DataError
from stylebias.retrieval import parse_reid_name, reid_split


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("0002_c1s1_000451_03.jpg", (2, 1)),
        ("1501_c6s4_001902_01.jpg", (1501, 6)),
        ("-1_c3s2_000100_01.jpg", (-1, 3)),
        ("0000_c1s1_000151_01.jpg", (0, 1)),
        ("some/dir/0431_c5s1_109273_00.jpg", (431, 5)),
        ("0001_c2_f0046182.jpg", (1, 2)),  # DukeMTMC-reID
    ],
)
def test_parse_reid_name(name, expected):
    assert parse_reid_name(name) == expected


@pytest.mark.parametrize("name", ["cat.jpg", "0002-c1s1.jpg", "-2_c1s1_000001_01.jpg", "c1_0002.jpg"])
def test_bad_names_raise(name):
    with pytest.raises(DataError, match="<pid>_c<cam>"):
        parse_reid_name(name)


def test_reid_split_drops_and_counts():
    names = [
        "0002_c2s1_000001_01.jpg",
        "-1_c1s1_000001_01.jpg",
        "0000_c3s1_000001_01.jpg",
        "0001_c1s1_000001_01.jpg",
        "-1_c2s1_000002_01.jpg",
    ]
    gallery = reid_split(names)
    assert [p.name for p in gallery.paths] == [
        "0000_c3s1_000001_01.jpg",
        "0001_c1s1_000001_01.jpg",
        "0002_c2s1_000001_01.jpg",
    ]
    assert gallery.pids == (0, 1, 2) and gallery.camids == (3, 1, 2)
    assert gallery.dropped == {-1: 2} and len(gallery) == 3
    query = reid_split([Path(n) for n in names], drop_pids=(-1, 0))
    assert query.pids == (1, 2) and query.dropped == {-1: 2, 0: 1}
