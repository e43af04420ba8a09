import copy

import pytest
import torch
import torchvision
from torch import nn

import stylebias
from stylebias.errors import InvalidArgumentError, ShapeError, UnknownNameError
from stylebias.layers import DSU, MixStyle, PermutedAdaIN


def small_cnn():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3),
    )


@pytest.fixture(scope="module")
def resnet():
    return torchvision.models.resnet18(num_classes=10)


def test_attach_runs_layer_after_named_modules_and_remove_restores(resnet):
    net = copy.deepcopy(resnet).train()
    x = torch.randn(4, 3, 32, 32)
    torch.manual_seed(1)
    before = net(x)
    handle = stylebias.attach(net, "mixstyle", after=["layer1", "layer2"], p=1.0)
    assert sorted(handle.layers) == ["layer1", "layer2"]
    assert all(isinstance(m, MixStyle) for m in handle.layers.values())
    assert handle.layers["layer1"] is not handle.layers["layer2"]
    torch.manual_seed(1)
    assert not torch.allclose(net(x), before)
    handle.remove()
    torch.manual_seed(1)
    torch.testing.assert_close(net(x), before)
    assert stylebias.style_layers(net) == []


def test_state_dict_keys_unchanged_and_checkpoints_load_both_ways(resnet):
    plain = copy.deepcopy(resnet)
    keys = list(plain.state_dict())
    styled = copy.deepcopy(resnet)
    stylebias.attach(styled, "padain", preset="resnet")
    stylebias.attach(styled, "dsu", preset="resnet")
    assert list(styled.state_dict()) == keys
    styled.load_state_dict(plain.state_dict())  # strict: same keys
    plain.load_state_dict(styled.state_dict())
    assert sum(p.numel() for p in styled.parameters()) == sum(p.numel() for p in plain.parameters())


def test_layers_follow_model_train_and_eval(resnet):
    net = copy.deepcopy(resnet)
    handle = stylebias.attach(net, "mixstyle", after="layer1", p=1.0)
    layer = handle.layers["layer1"]
    x = torch.randn(4, 3, 32, 32)
    net.eval()
    torch.testing.assert_close(net(x), copy.deepcopy(resnet).eval()(x))
    assert layer.training is False
    net.train()
    net(x)
    assert layer.training is True


def test_presets_follow_the_papers(resnet):
    net = copy.deepcopy(resnet)
    assert sorted(stylebias.attach(net, "MixStyle", preset="resnet").layers) == ["layer1", "layer2", "layer3"]
    assert sorted(stylebias.attach(net, "efdmix", preset="resnet").layers) == ["layer1", "layer2", "layer3"]
    assert list(stylebias.attach(net, "dsu", preset="resnet").layers) == [
        "conv1", "maxpool", "layer1", "layer2", "layer3", "layer4"]
    padain = stylebias.attach(net, "pAdaIN", preset="resnet").layers
    convs = [n for n, m in net.named_modules() if isinstance(m, nn.Conv2d)]
    assert list(padain) == convs and len(convs) == 20  # incl. the 3 downsample convs
    assert all(layer.p == 0.01 for layer in padain.values())
    adv = stylebias.attach(net, "adversarial_style", preset="resnet").layers
    assert list(adv) == ["layer1"] and adv["layer1"].clamp_min == 0.0
    assert stylebias.list_presets() == ["convnext", "convnext_torchvision", "convs", "resnet", "resnet3", "swin",
                                        "swin_torchvision", "vit", "vit_torchvision"]


def test_wildcards_and_generic_preset():
    net = small_cnn()
    assert list(stylebias.attach(net, "dsu", after=["[03]"]).layers) == ["0", "3"]
    assert list(stylebias.attach(net, "padain", preset="convs").layers) == ["0", "3"]


def test_bad_locations_get_specific_errors(resnet):
    net = copy.deepcopy(resnet)
    with pytest.raises(UnknownNameError, match="no submodule named 'layer5'.*Close matches: layer4"):
        stylebias.attach(net, "mixstyle", after=["layer5"])
    with pytest.raises(UnknownNameError, match="no submodule name matches the pattern 'stage\\*'"):
        stylebias.attach(net, "mixstyle", after=["stage*"])
    with pytest.raises(InvalidArgumentError, match="preset 'resnet' is for torchvision/timm ResNet.*lacks layer1"):
        stylebias.attach(small_cnn(), "mixstyle", preset="resnet")
    with pytest.raises(InvalidArgumentError, match="exactly one of"):
        stylebias.attach(net, "mixstyle")
    with pytest.raises(InvalidArgumentError, match="give the generator to the layer's constructor"):
        stylebias.attach(net, MixStyle(), after=["layer1", "layer2"], generator=torch.Generator())
    with pytest.raises(UnknownNameError, match="unknown preset 'resnt'. Did you mean 'resnet'"):
        stylebias.attach(net, "mixstyle", preset="resnt")


def test_layer_after_a_non_feature_map_module_explains_itself():
    net = small_cnn()
    stylebias.attach(net, "mixstyle", after=["8"], p=1.0)
    with pytest.raises(ShapeError, match=r"attached after '8' got a 2-D tensor of shape \(2, 3\).*expects \(B, C, H, W\).*before the pooling"):
        net.train()(torch.randn(2, 3, 8, 8))


def test_one_generator_shared_by_all_created_layers_reproduces_a_run():
    x = torch.randn(4, 3, 8, 8)

    def run():
        torch.manual_seed(0)
        net = small_cnn().train()
        stylebias.attach(net, "mixstyle", after=["0", "3"], p=0.5, generator=torch.Generator().manual_seed(9))
        return [net(x) for _ in range(4)]

    assert all(torch.equal(a, b) for a, b in zip(run(), run()))


class ReadmeMixStyleNet(nn.Module):
    """The MixStyle README's usage: one MixStyle module, called after two stages."""

    def __init__(self, mixstyle):
        super().__init__()
        self.net = small_cnn()
        self.mixstyle = mixstyle

    def forward(self, x):
        x = self.mixstyle(self.net[:3](x))
        x = self.mixstyle(self.net[3:6](x))
        return self.net[6:](x)


def test_one_instance_attached_at_several_places_runs_like_the_mixstyle_readme():
    x = torch.randn(6, 3, 8, 8)
    torch.manual_seed(0)
    readme = ReadmeMixStyleNet(MixStyle(p=0.5, generator=torch.Generator().manual_seed(3))).train()
    net = copy.deepcopy(readme.net)
    keys = list(net.state_dict())
    layer = MixStyle(p=0.5, generator=torch.Generator().manual_seed(3))
    handle = stylebias.attach(net, layer, after=["2", "5"])
    assert handle.layers["2"] is handle.layers["5"] is layer
    assert stylebias.layers.style_layers(net) == [layer]
    assert list(net.state_dict()) == keys
    # same generator, one firing draw per call at each place, in the README's order
    assert all(torch.equal(readme(x), net(x)) for _ in range(8))
    with stylebias.disabled(net):
        assert torch.equal(net(x), readme.net(x))


def test_disabled_restores_each_previous_state():
    net = small_cnn().train()
    handle = stylebias.attach(net, "mixstyle", after=["0", "3"], p=1.0)
    inner = DSU(p=1.0)
    net.insert(1, inner)  # a style layer that is a real submodule
    handle.layers["3"].active = False  # already off before the block
    x = torch.randn(4, 3, 8, 8)
    with stylebias.disabled(net) as layers:
        assert len(layers) == 3 and not any(layer.active for layer in layers)
        torch.manual_seed(0)
        off = net(x)
    assert handle.layers["0"].active and inner.active and not handle.layers["3"].active
    # with every layer off the output is that of the bare network
    handle.remove()
    inner.active = False
    torch.testing.assert_close(net(x), off)


def test_mixing_domains_context():
    net = small_cnn()
    handle = stylebias.attach(net, "mixstyle", after=["0"], mix="crossdomain")
    domains = torch.tensor([0, 1, 0, 1])
    with stylebias.mixing_domains(net, domains):
        assert handle.layers["0"].domains is domains
    assert handle.layers["0"].domains is None


def test_handle_as_context_manager():
    net = small_cnn()
    with stylebias.attach(net, "padain", after=["0"]) as handle:
        assert isinstance(handle.layers["0"], PermutedAdaIN)
        assert len(stylebias.style_layers(net)) == 1
    assert stylebias.style_layers(net) == []


def test_deepcopied_model_keeps_its_own_layers():
    net = small_cnn()
    stylebias.attach(net, "mixstyle", after=["0"])
    clone = copy.deepcopy(net)
    (orig,), (copied,) = stylebias.style_layers(net), stylebias.style_layers(clone)
    assert orig is not copied and isinstance(copied, MixStyle)
