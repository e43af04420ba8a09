"""The one place where token and channels-last features become (B, C, H, W) maps and back."""

import pytest
import torch

from stylebias.errors import ShapeError
from stylebias.functional import LAYOUTS, apply_in_layout, from_maps, mixstyle, to_maps


def test_views_share_storage_and_put_channels_second():
    tokens = torch.randn(2, 7, 5)
    maps = to_maps(tokens, "tokens", prefix_tokens=2)
    assert maps.shape == (2, 5, 5, 1) and maps.data_ptr() == tokens[:, 2:].data_ptr()  # no copy
    assert torch.equal(maps[1, 3, :, 0], tokens[1, 2:, 3])  # channel 3 of sample 1 over its patch tokens
    nhwc = torch.randn(2, 3, 4, 5)
    maps = to_maps(nhwc, "nhwc")
    assert maps.shape == (2, 5, 3, 4) and maps.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(maps[0, 4, 2, 1], nhwc[0, 2, 1, 4])
    nchw = torch.randn(2, 3, 4, 5)
    assert to_maps(nchw, "nchw") is nchw


@pytest.mark.parametrize("layout,shape,prefix", [("nchw", (2, 3, 4, 5), 0), ("nhwc", (2, 4, 5, 3), 0),
                                                 ("tokens", (2, 9, 3), 1), ("tokens", (2, 9, 3), 0)])
def test_round_trip_is_exact(layout, shape, prefix):
    x = torch.randn(shape)
    back = from_maps(to_maps(x, layout, prefix) * 1.0, x, layout, prefix)
    assert back.shape == x.shape and torch.equal(back, x)
    assert set(LAYOUTS) == {"nchw", "nhwc", "tokens"}


def test_a_functional_op_runs_on_tokens_as_on_the_patch_grid():
    g = torch.Generator().manual_seed(0)
    grid = torch.randn(4, 6, 3, 4, generator=g) * torch.rand(4, 6, 1, 1, generator=g) * 3
    tokens = torch.cat([torch.randn(4, 1, 6, generator=g), grid.flatten(2).transpose(1, 2)], dim=1)
    perm, lam = torch.tensor([1, 0, 3, 2]), torch.full((4,), 0.3)
    out = apply_in_layout(lambda m: mixstyle(m, perm, lam), tokens, "tokens", 1)
    torch.testing.assert_close(out[:, 1:], mixstyle(grid, perm, lam).flatten(2).transpose(1, 2))
    assert torch.equal(out[:, 0], tokens[:, 0])


def test_pooled_features_are_refused_with_the_reason():
    with pytest.raises(ShapeError, match=r"2-D tensor.*no spatial or token axis left.*before the pooling"):
        to_maps(torch.randn(2, 8), "tokens", 0)
    with pytest.raises(TypeError, match="must be a torch.Tensor"):
        to_maps([1, 2], "nchw")
