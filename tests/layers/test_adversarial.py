import pytest
import torch
from torch import nn
from torch.nn.functional import cross_entropy

import stylebias
from stylebias.errors import StyleBiasError
from stylebias.layers import AdversarialStyle
from tests.functional.reference import advbn_calc_mean_std


def split_model(seed=0):
    torch.manual_seed(seed)
    prefix = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU())
    head = nn.Sequential(nn.Conv2d(6, 6, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 4))
    return prefix, head, nn.Sequential(*prefix, *head)


def reference_perturb(head, feature, target, n_repeats, fgsm_step, scale_eps):
    """azshue/AdvBN train_imagenet.py::perturb, for a ResNet (ReLU clamp), on the CPU."""
    size = feature.size()
    noise_size = [1, size[1], 1, 1]
    noise_batch_mean = torch.ones(noise_size)
    noise_batch_std = torch.ones(noise_size)
    ori_mean, ori_std = advbn_calc_mean_std(feature)
    normalized_feature = (feature - ori_mean).detach()
    for _ in range(n_repeats):
        noise_batch_mean.requires_grad_(True)
        noise_batch_std.requires_grad_(True)
        adv_feature = normalized_feature * noise_batch_std + ori_mean * noise_batch_mean
        loss = cross_entropy(head(torch.clamp(adv_feature, min=0.0)), target)
        grads_mean, grads_std = torch.autograd.grad(loss, [noise_batch_mean, noise_batch_std])
        noise_batch_mean = torch.clamp(noise_batch_mean.data + fgsm_step * torch.sign(grads_mean), 1 - scale_eps, 1 + scale_eps)
        noise_batch_std = torch.clamp(noise_batch_std.data + fgsm_step * torch.sign(grads_std), 1 - scale_eps, 1 + scale_eps)
    return noise_batch_mean.detach(), noise_batch_std.detach()


def test_inner_maximisation_equals_advbn_reference():
    prefix, head, model = split_model()
    x, y = torch.randn(8, 3, 10, 10), torch.randint(4, (8,))
    layer = AdversarialStyle(steps=4, step_size=0.2, bound=1.1, clamp_min=0.0)
    stylebias.attach(model, layer, after=["1"])
    with torch.no_grad():
        feature = prefix(x)
    ref_mean, ref_std = reference_perturb(head, feature, y, 4, 0.2, 1.1)
    with stylebias.perturb_style(model, cross_entropy, x, y) as layers:
        assert layers == [layer]
        torch.testing.assert_close(layer.scales[0], ref_mean)
        torch.testing.assert_close(layer.scales[1], ref_std)


def test_perturbation_raises_the_loss_and_only_inside_the_block():
    _, _, model = split_model(1)
    x, y = torch.randn(16, 3, 10, 10), torch.randint(4, (16,))
    layer = AdversarialStyle(steps=6)
    stylebias.attach(model, layer, after=["1"])
    model.train()
    clean = cross_entropy(model(x), y)
    with stylebias.perturb_style(model, cross_entropy, x, y):
        adversarial = cross_entropy(model(x), y)
        lo, hi = 1 - layer.bound, 1 + layer.bound
        assert all(((s >= lo) & (s <= hi)).all() for s in layer.scales)
    assert adversarial > clean
    torch.testing.assert_close(cross_entropy(model(x), y), clean)  # identity again
    assert layer.scales is None


def test_search_leaves_modes_bn_statistics_and_parameter_grads_alone():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))
    model(torch.randn(2, 3, 6, 6))  # materialise the lazy layer
    stylebias.attach(model, "adversarial_style", after=["2"])
    model.train()
    model[1].eval()  # a frozen BN, as in AdvBN's feature extractor
    stats = model[1].running_mean.clone(), model[1].num_batches_tracked.clone()
    x, y = torch.randn(4, 3, 6, 6), torch.tensor([0, 1, 0, 1])
    with stylebias.perturb_style(model, cross_entropy, x, y):
        assert model.training and not model[1].training
        assert torch.equal(model[1].running_mean, stats[0])
        assert torch.equal(model[1].num_batches_tracked, stats[1])
        assert all(p.grad is None for p in model.parameters())


def test_missing_or_unreached_layers_are_reported():
    _, _, model = split_model()
    x, y = torch.randn(2, 3, 8, 8), torch.tensor([0, 1])
    with pytest.raises(StyleBiasError, match="no active AdversarialStyle layer"):
        with stylebias.perturb_style(model, cross_entropy, x, y):
            pass
    class Wrapper(nn.Module):
        def __init__(self):
            super().__init__()
            self.net, self.unused = model, AdversarialStyle()  # forward never calls `unused`

        def forward(self, inputs):
            return self.net(inputs)

    wrapper = Wrapper()
    orphan = wrapper.unused
    with pytest.raises(StyleBiasError, match="never reached 1 AdversarialStyle"):
        with stylebias.perturb_style(wrapper, cross_entropy, x, y):
            pass
    assert orphan.scales is None and not orphan.searching


def test_per_instance_scales_and_zero_steps():
    _, _, model = split_model()
    layer = AdversarialStyle(steps=2, per_instance=True)
    stylebias.attach(model, layer, after=["1"])
    x, y = torch.randn(4, 3, 8, 8), torch.randint(4, (4,))
    with stylebias.perturb_style(model, cross_entropy, x, y):
        assert layer.scales[0].shape == (4, 6, 1, 1)
    layer.steps = 0
    model.train()
    with stylebias.perturb_style(model, cross_entropy, x, y):
        torch.testing.assert_close(model(x), model.eval()(x))
