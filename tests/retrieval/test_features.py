"""Feature extraction: flip fusion, normalisation, batches, mode restoring, errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from stylebias.errors import DataError, ModelOutputError
from stylebias.retrieval import embed_batch, extract_features


class ColumnWeights(nn.Module):
    """Feature = per-channel sums weighted by column index, so a flip changes it."""

    def forward(self, x):
        w = torch.arange(1, x.shape[3] + 1, dtype=x.dtype)
        return (x * w).sum(dim=(2, 3))


def test_flip_fusion_is_sum_then_l2_normalisation():
    x = torch.rand(4, 3, 5, 6, generator=torch.Generator().manual_seed(0))
    net = ColumnWeights()
    fused = net(x) + net(torch.flip(x, dims=[3]))
    expected = fused / fused.norm(dim=1, keepdim=True)
    torch.testing.assert_close(embed_batch(net, x, flip=True), expected)
    torch.testing.assert_close(embed_batch(net, x, flip=True, normalize=False), fused)
    torch.testing.assert_close(embed_batch(net, x), net(x))  # no flip: raw, not normalised
    plain = embed_batch(net, x, normalize=True)
    torch.testing.assert_close(plain.norm(dim=1), torch.ones(4))
    # a flip-symmetric pattern: fused feature = twice the plain one before normalising
    sym = torch.ones(1, 3, 2, 4)
    torch.testing.assert_close(embed_batch(net, sym, flip=True, normalize=False), 2 * net(sym))


def test_extract_features_over_a_loader_of_tuples_and_dicts():
    x = torch.rand(7, 3, 4, 4, generator=torch.Generator().manual_seed(1))
    pids = torch.arange(7)
    net = ColumnWeights()
    loader = DataLoader(TensorDataset(x, pids), batch_size=3)
    feats = extract_features(net, loader, flip=True)
    assert feats.shape == (7, 3)
    torch.testing.assert_close(feats, embed_batch(net, x, flip=True))
    dict_batches = [{"img": x[:5], "pid": pids[:5]}, {"img": x[5:], "pid": pids[5:]}]
    torch.testing.assert_close(extract_features(net, dict_batches, flip=True), feats)


def test_eval_mode_and_restored_training_flags():
    net = nn.Sequential(nn.Flatten(), nn.Dropout(0.9), nn.Linear(12, 4))
    net.train()
    net[2].eval()  # a mixed state must come back as it was
    x = torch.rand(2, 3, 2, 2)
    a = extract_features(net, [x])
    b = extract_features(net, [x])
    assert torch.equal(a, b)  # dropout off during extraction
    assert net.training and net[1].training and not net[2].training


def test_extraction_errors():
    net = ColumnWeights()
    with pytest.raises(DataError, match="no batch"):
        extract_features(net, [])
    with pytest.raises(DataError, match="'img'"):
        extract_features(net, [{"x": torch.rand(1, 3, 2, 2)}])
    with pytest.raises(ModelOutputError, match=r"\(B, D\)"):
        extract_features(nn.Identity(), [torch.rand(2, 3, 2, 2)])
