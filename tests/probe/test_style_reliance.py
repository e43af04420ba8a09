"""The style-swap probe: pairing, counting, and models whose answer is known."""

import pytest
import torch
from torch import nn

from stylebias.errors import InvalidArgumentError, ShapeError
from stylebias.probe import derangement, style_reliance


class Net(nn.Module):
    """conv ("stage1") -> conv ("stage2") -> readout. ``readout="pool"`` decides from the
    channel means alone (pure style statistics); ``"normalised"`` instance-normalises first and
    decides from the spatial arrangement alone."""

    def __init__(self, readout, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.stage1 = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU())
        self.stage2 = nn.Conv2d(6, 6, 3, padding=1)
        self.readout = readout
        self.pool_fc = nn.Linear(6, 5)
        self.map_fc = nn.Linear(6 * 8 * 8, 5)
        # the channel means of typical inputs: the pooled readout looks at how an image's
        # means differ from them, so that different images get different answers
        with torch.no_grad():
            x = batches(n=1, b=64, seed=99)[0]
            self.register_buffer("typical", self.stage2(self.stage1(x)).mean((0, 2, 3)))

    def pool_readout(self, f):
        return self.pool_fc((f.mean((2, 3)) - self.typical) * 30)

    def forward(self, x):
        f = self.stage2(self.stage1(x))
        if self.readout == "pool":
            return self.pool_readout(f)
        return self.map_fc(nn.functional.instance_norm(f).flatten(1))


def batches(n=3, b=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(b, 3, 8, 8, generator=g) * torch.rand(b, 3, 1, 1, generator=g) * 2 for _ in range(n)]


def test_derangement_is_a_permutation_without_fixed_points():
    g = torch.Generator().manual_seed(0)
    for n in (2, 3, 7, 50):
        perm = derangement(n, g)
        assert sorted(perm.tolist()) == list(range(n))
        assert (perm != torch.arange(n)).all()
    assert torch.equal(derangement(9, torch.Generator().manual_seed(3)), derangement(9, torch.Generator().manual_seed(3)))
    with pytest.raises(InvalidArgumentError, match="at least 2"):
        derangement(1)


@pytest.mark.parametrize("mode", ["adain", "efdm"])
def test_a_model_reading_channel_means_follows_the_donor_at_the_last_stage(mode):
    result = style_reliance(Net("pool"), batches(), ["stage1", "stage2"], mode=mode)
    last = result.stages[1]
    assert last.pairs > 10 and last.follows_donor == last.pairs
    assert result.images == 24 and result.agreeing_pairs + last.pairs == 24


def test_a_model_reading_normalised_maps_follows_the_source_at_the_last_stage():
    result = style_reliance(Net("normalised"), batches(), ["stage2"])
    stage = result.stages[0]
    assert stage.pairs > 10 and stage.follows_source == stage.pairs


def test_counts_equal_a_pair_by_pair_loop():
    model = Net("pool", seed=1).eval()
    data = batches(n=2, b=6, seed=1)
    result = style_reliance(model, data, ["stage1"], generator=torch.Generator().manual_seed(5))
    g = torch.Generator().manual_seed(5)
    expected = {"source": 0, "donor": 0, "neither": 0}
    with torch.no_grad():
        for x in data:
            perm = derangement(x.shape[0], g)
            clean = model(x).argmax(1)
            for i in range(x.shape[0]):
                j = int(perm[i])
                if clean[i] == clean[j]:
                    continue
                fi, fj = model.stage1(x[i:i + 1]), model.stage1(x[j:j + 1])
                mu_i, sd_i = fi.mean((2, 3), keepdim=True), (fi.var((2, 3), keepdim=True) + 1e-5).sqrt()
                mu_j, sd_j = fj.mean((2, 3), keepdim=True), (fj.var((2, 3), keepdim=True) + 1e-5).sqrt()
                swapped = (fi - mu_i) / sd_i * sd_j + mu_j
                pred = model.pool_readout(model.stage2(swapped)).argmax(1)
                key = "source" if pred == clean[i] else "donor" if pred == clean[j] else "neither"
                expected[key] += 1
    stage = result.stages[0]
    assert (stage.follows_source, stage.follows_donor, stage.neither) == (expected["source"], expected["donor"], expected["neither"])


def test_the_model_is_left_as_it_was_and_bad_input_is_named():
    model = Net("pool").train()
    style_reliance(model, batches(n=1), ["stage1"])
    assert model.training and all(not m._forward_hooks for m in model.modules())
    with pytest.raises(InvalidArgumentError, match="no module named 'stage9'"):
        style_reliance(model, batches(n=1), ["stage9"])
    with pytest.raises(InvalidArgumentError, match="mode"):
        style_reliance(model, batches(n=1), ["stage1"], mode="wct")
    with pytest.raises(ShapeError, match="feature maps only"):
        style_reliance(model, batches(n=1), ["pool_fc"])
