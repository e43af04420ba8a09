"""The shared figure helpers: suffix check, atomic save, figure closed."""

import pytest

from stylebias.errors import InvalidArgumentError
from stylebias.plotting import figure_format, pyplot, save_figure


def test_save_figure_writes_the_suffix_format_and_closes_the_figure(tmp_path):
    plt = pyplot()
    for suffix, magic in ((".png", b"\x89PNG"), (".pdf", b"%PDF"), (".svg", b"<?xml")):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [1, 0])
        out = save_figure(fig, tmp_path / f"f{suffix}")
        assert out.read_bytes().startswith(magic)
        assert not plt.fignum_exists(fig.number)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.pdf", "f.png", "f.svg"]  # no temporary files left


def test_unknown_suffixes_are_refused_before_drawing(tmp_path):
    with pytest.raises(InvalidArgumentError, match=r"\.png, \.pdf or \.svg"):
        figure_format(tmp_path / "figure.jpg")
