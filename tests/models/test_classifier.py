"""build_classifier: every spec form as a trainable network with N outputs; the head rule."""

from __future__ import annotations

import sys
import types

import pytest
import torch
from torch import nn

from stylebias.cli import main
from stylebias.errors import InvalidArgumentError, MissingFileError
from stylebias.models import MODELS, Preprocess, build_classifier, builder_options, head_width, load_model, register_model, resize_head

USER_NETS = '''
from torch import nn


class Net(nn.Module):
    def __init__(self, n, hidden=6):
        super().__init__()
        self.body = nn.Linear(3, hidden)
        self.head = nn.Linear(hidden, n)

    def forward(self, x):
        return self.head(self.body(x.mean(dim=(2, 3))))


def sized(num_classes, hidden=6):
    return Net(num_classes, hidden)


def fixed():
    return Net(1000)


def no_head():
    return nn.Conv2d(3, 4, 1)


def not_a_model():
    return "net"
'''


@pytest.fixture
def nets_file(tmp_path):
    path = tmp_path / "user_nets.py"
    path.write_text(USER_NETS)
    return path


class TwoLinears(nn.Module):
    def __init__(self, bias: bool = True):
        super().__init__()
        self.features = nn.Linear(5, 7)
        self.classifier = nn.Sequential(nn.ReLU(), nn.Linear(7, 1000, bias=bias))

    def forward(self, x):
        return self.classifier(self.features(x))


# ----------------------------------------------------------------------------- the head rule
@pytest.mark.parametrize("bias", [True, False])
def test_resize_head_replaces_the_last_linear_only(bias):
    net = TwoLinears(bias)
    features = net.features.weight.clone()
    assert resize_head(net, 4) is net
    head = net.classifier[1]
    assert (head.in_features, head.out_features, head.bias is not None) == (7, 4, bias)
    assert torch.equal(net.features.weight, features) and net.features.out_features == 7
    assert net(torch.rand(2, 5)).shape == (2, 4) and head_width(net) == 4


def test_resize_head_keeps_a_head_of_the_right_width():
    net = TwoLinears()
    head = net.classifier[1]
    resize_head(net, 1000)
    assert net.classifier[1] is head


def test_resize_head_without_a_linear_is_a_clear_error():
    with pytest.raises(InvalidArgumentError, match=r"Conv2d has no nn.Linear classifier head to resize to 3 outputs.*num_classes"):
        resize_head(nn.Conv2d(3, 4, 1), 3)


def test_resize_head_uses_timm_reset_classifier():
    class TimmLike(nn.Module):  # timm's convention: num_classes + reset_classifier, head maybe not Linear
        def __init__(self):
            super().__init__()
            self.num_classes, self.head = 1000, nn.Conv2d(8, 1000, 1)

        def reset_classifier(self, num_classes):
            self.num_classes, self.head = num_classes, nn.Conv2d(8, num_classes, 1)

    net = resize_head(TimmLike(), 6)
    assert net.num_classes == 6 and net.head.out_channels == 6 and head_width(net) == 6


# ----------------------------------------------------------------------------- every source
def test_torchvision_without_weights_gets_its_own_n_way_head():
    import torchvision

    torch.manual_seed(3)
    net = build_classifier("torchvision:resnet18", 10)
    torch.manual_seed(3)
    direct = torchvision.models.resnet18(num_classes=10)  # the same initialisation as asking torchvision
    assert net.fc.out_features == 10 and not net._forward_pre_hooks
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), direct.state_dict().values()))


def test_registered_small_nets_are_listed_and_loadable(capsys):
    assert {"small_resnet", "cifar_resnet18", "cifar_resnet34", "cifar_resnet50"} <= set(MODELS.list())
    assert builder_options("small_resnet") == {"width"} and builder_options("torchvision:resnet18") == set()
    lm = load_model("small_resnet", pretrained=False)
    x = torch.rand(2, 3, 32, 32)
    assert torch.equal(lm.model(x), lm.model.model(x))  # identity preprocessing: [0, 1] as it is
    with pytest.raises(MissingFileError, match="'small_resnet' has no published weights"):
        load_model("small_resnet")
    assert main(["list", "models"]) == 0
    assert "cifar_resnet50" in capsys.readouterr().out


def test_user_callables_get_num_classes_or_a_resized_head(nets_file, monkeypatch):
    assert build_classifier(f"{nets_file}:sized", 3).head.out_features == 3
    assert build_classifier(f"{nets_file}:sized", 3, hidden=9).head.in_features == 9  # options pass on
    resized = build_classifier(f"{nets_file}:fixed", 3)
    assert resized.head.out_features == 3 and resized.body.out_features == 6
    monkeypatch.syspath_prepend(str(nets_file.parent))
    assert build_classifier("user_nets:fixed", 4).head.out_features == 4


def test_user_callable_errors(nets_file):
    with pytest.raises(InvalidArgumentError, match=r"user_nets.py:fixed' takes no option\(s\) width"):
        build_classifier(f"{nets_file}:fixed", 3, width=8)
    with pytest.raises(InvalidArgumentError, match="produced a str, not a torch.nn.Module"):
        build_classifier(f"{nets_file}:not_a_model", 3)
    with pytest.raises(InvalidArgumentError, match="no nn.Linear classifier head"):
        build_classifier(f"{nets_file}:no_head", 3)
    with pytest.raises(InvalidArgumentError, match="'torchvision:resnet18' takes no option"):
        build_classifier("torchvision:resnet18", 3, width=8)


def test_pretrained_weights_get_their_normalisation_inside(monkeypatch):
    monkeypatch.setattr(MODELS, "_items", dict(MODELS._items))
    monkeypatch.setattr(MODELS, "_keys", dict(MODELS._keys))
    mean, std = (0.2, 0.4, 0.6), (0.5, 0.25, 0.125)
    register_model("unit-pretrained", lambda pretrained: nn.Sequential(nn.Flatten(), nn.Linear(12, 1000)),
                   preprocess=Preprocess(mean=mean, std=std))
    torch.manual_seed(0)
    net = build_classifier("unit-pretrained", 2, pretrained=True)
    x = torch.rand(3, 3, 2, 2)
    by_hand = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    torch.testing.assert_close(net(x), net[1](by_hand.flatten(1)))
    assert list(net.state_dict()) == ["1.weight", "1.bias"]  # no wrapper: keys and names are the network's
    untrained = build_classifier("unit-pretrained", 2, pretrained=False)
    assert not untrained._forward_pre_hooks  # trained from scratch on [0, 1] images


def test_timm_builds_its_head_itself(monkeypatch):
    fake, calls = types.ModuleType("timm"), {}

    def create_model(name, pretrained, num_classes=1000):
        calls["args"] = (name, pretrained, num_classes)
        return nn.Sequential(nn.Flatten(), nn.Linear(12, num_classes))

    fake.__version__ = "1.0.26"
    fake.create_model = create_model
    fake.data = types.SimpleNamespace(resolve_data_config=lambda args, model: {"mean": (0.0,) * 3, "std": (1.0,) * 3})
    monkeypatch.setitem(sys.modules, "timm", fake)
    net = build_classifier("timm:fake_net", 5)
    assert calls["args"] == ("fake_net", False, 5) and net[1].out_features == 5


def test_real_timm_model_gets_an_n_way_head():
    pytest.importorskip("timm")
    net = build_classifier("timm:resnet10t", 7)
    assert head_width(net) == 7 and net.eval()(torch.rand(1, 3, 32, 32)).shape == (1, 7)  # one image: eval-mode BN


def test_timm_models_with_a_fixed_input_size_are_built_for_the_image_size():
    pytest.importorskip("timm")
    x = torch.rand(2, 3, 32, 32)
    vit = build_classifier("timm:vit_tiny_patch16_224", 3, image_size=32)
    assert vit.patch_embed.img_size == (32, 32) and vit(x).shape == (2, 3)
    with pytest.raises(AssertionError, match=r"Input height \(32\) doesn't match model \(224\)"):
        build_classifier("timm:vit_tiny_patch16_224", 3)(x)  # timm's own check, without the size
    cnn = build_classifier("timm:test_convnext", 3, image_size=32)  # takes any size and no img_size
    assert cnn(x).shape == (2, 3)
