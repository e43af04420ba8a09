"""Query-gallery distances: torchreid's formulas, blocks, errors."""

from __future__ import annotations

import pytest
import torch

from stylebias.errors import InvalidArgumentError, ShapeError
from stylebias.retrieval import iter_distance_blocks, pairwise_distance


def test_euclidean_is_squared_distance():
    q = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    g = torch.tensor([[3.0, 4.0], [1.0, 0.0], [1.0, 1.0]])
    expected = torch.tensor([[25.0, 1.0, 2.0], [13.0, 1.0, 0.0]])
    assert torch.equal(pairwise_distance(q, g), expected)


def test_cosine_is_one_minus_cosine_similarity():
    q = torch.tensor([[2.0, 0.0]])
    g = torch.tensor([[5.0, 0.0], [0.0, 3.0], [-1.0, 0.0], [1.0, 1.0]])
    d = pairwise_distance(q, g, "cosine")
    assert d.tolist()[0] == pytest.approx([0.0, 1.0, 2.0, 1 - 2**-0.5])


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_blocks_cover_all_rows_and_match_full(metric):
    g = torch.Generator().manual_seed(0)
    q, gal = torch.randn(11, 5, generator=g), torch.randn(7, 5, generator=g)
    full = pairwise_distance(q, gal, metric)
    starts = []
    for start, block in iter_distance_blocks(q, gal, metric, chunk_size=4):
        starts.append(start)
        assert block.shape == (min(4, 11 - start), 7)
        torch.testing.assert_close(block, full[start : start + 4], rtol=1e-6, atol=1e-6)
    assert starts == [0, 4, 8]
    torch.testing.assert_close(pairwise_distance(q, gal, metric, chunk_size=3), full)


def test_distance_errors():
    with pytest.raises(ShapeError, match="same dimension"):
        pairwise_distance(torch.rand(2, 3), torch.rand(2, 4))
    with pytest.raises(ShapeError, match="query features"):
        pairwise_distance(torch.rand(2, 3, 1), torch.rand(2, 3))
    with pytest.raises(InvalidArgumentError, match="metric"):
        pairwise_distance(torch.rand(2, 3), torch.rand(2, 3), "manhattan")
    assert pairwise_distance(torch.rand(0, 3), torch.rand(4, 3)).shape == (0, 4)
