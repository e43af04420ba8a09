"""Attachment presets for ViT/DeiT, Swin and ConvNeXt, on tiny random timm and torchvision models."""

import copy
import json

import pytest
import torch
from torchvision.models.convnext import CNBlockConfig, ConvNeXt
from torchvision.models.swin_transformer import SwinTransformer
from torchvision.models.vision_transformer import VisionTransformer

import stylebias
from stylebias.cli import main
from stylebias.errors import InvalidArgumentError
from stylebias.layers import MixStyle, list_style_layers
from stylebias.presets import PRESETS, model_prefix_tokens
from stylebias.training.methods import pick_preset

timm = pytest.importorskip("timm")

TINY_VIT = dict(pretrained=False, num_classes=3, img_size=32, patch_size=8, embed_dim=16, depth=4, num_heads=2)


def timm_vit():
    return timm.create_model("vit_tiny_patch16_224", **TINY_VIT)


def timm_deit():
    return timm.create_model("deit_tiny_distilled_patch16_224", **TINY_VIT)


def timm_swin():
    return timm.create_model("swin_tiny_patch4_window7_224", pretrained=False, num_classes=3, img_size=32,
                             window_size=2, embed_dim=8, depths=(1, 2, 1, 1), num_heads=(1, 1, 1, 1))


def timm_convnext():  # conv_mlp=False: the blocks run their MLP on (B, H, W, C) inside
    return timm.create_model("convnext_atto", pretrained=False, num_classes=3, depths=(1, 1, 1, 1),
                             dims=(8, 16, 32, 64), conv_mlp=False)


def tv_vit():
    model = VisionTransformer(image_size=32, patch_size=8, num_layers=4, num_heads=2, hidden_dim=16, mlp_dim=32,
                              num_classes=3)
    torch.nn.init.normal_(model.heads.head.weight)  # torchvision starts the head at zero: every output 0
    return model


def tv_swin():
    return SwinTransformer(patch_size=[4, 4], embed_dim=8, depths=[1, 2, 1, 1], num_heads=[1, 1, 1, 1],
                           window_size=[2, 2], num_classes=3)


def tv_convnext():
    stages = [CNBlockConfig(8, 16, 1), CNBlockConfig(16, 32, 1), CNBlockConfig(32, 64, 1), CNBlockConfig(64, None, 1)]
    return ConvNeXt(stages, num_classes=3)


# model builder -> (the preset it gets, where MixStyle goes)
MODELS = {
    "timm_vit": (timm_vit, "vit", ["blocks.0", "blocks.1"]),  # first 70% of 4 blocks
    "timm_deit": (timm_deit, "vit", ["blocks.0", "blocks.1"]),
    "tv_vit": (tv_vit, "vit_torchvision", ["encoder.layers.encoder_layer_0", "encoder.layers.encoder_layer_1"]),
    "timm_swin": (timm_swin, "swin", ["layers.0", "layers.1", "layers.2"]),
    "tv_swin": (tv_swin, "swin_torchvision", ["features.1", "features.3", "features.5"]),
    "timm_convnext": (timm_convnext, "convnext", ["stages.0", "stages.1", "stages.2"]),
    "tv_convnext": (tv_convnext, "convnext_torchvision", ["features.1", "features.3", "features.5"]),
}


@pytest.fixture(scope="module")
def built():
    torch.manual_seed(0)
    return {key: build() for key, (build, _, _) in MODELS.items()}


def images(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(4, 3, 32, 32, generator=g) * torch.rand(4, 3, 1, 1, generator=g)


@pytest.mark.parametrize("key", MODELS)
def test_auto_finds_the_preset_from_module_names(key, built):
    _, preset, mixstyle_places = MODELS[key]
    for layer in list_style_layers():
        assert pick_preset(built[key], layer) == preset
    handle = stylebias.attach(copy.deepcopy(built[key]), "mixstyle", preset=preset)
    assert list(handle.layers) == mixstyle_places


@pytest.mark.parametrize("layer", list_style_layers())
@pytest.mark.parametrize("key", MODELS)
def test_each_preset_changes_training_outputs_and_leaves_eval_alone(key, layer, built):
    model = copy.deepcopy(built[key])
    x = images()
    with torch.no_grad():
        clean_train, clean_eval = model.train()(x), model.eval()(x)
    _, preset, _ = MODELS[key]
    fast = {"steps": 1} if layer == "adversarial_style" else {}  # one ascent step shows it as well as six
    handle = stylebias.attach(model, layer, preset=preset, p=1.0, generator=torch.Generator().manual_seed(1), **fast)
    assert handle.layers and all(m.layout == PRESETS.get(preset).layout for m in handle.layers.values())
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x), clean_eval, rtol=0, atol=0)
    if layer == "adversarial_style":  # identity until perturb_style has searched
        loss_fn = torch.nn.functional.cross_entropy
        with stylebias.perturb_style(model.train(), loss_fn, x, torch.tensor([0, 1, 2, 0])):
            styled = model(x).detach()
    else:
        with torch.no_grad():
            styled = model.train()(x)
    assert not torch.allclose(styled, clean_train, atol=1e-5)


@pytest.mark.parametrize("key,prefix", [("timm_vit", 1), ("timm_deit", 2), ("tv_vit", 1)])
def test_class_and_distillation_tokens_pass_unchanged(key, prefix, built):
    model = copy.deepcopy(built[key]).train()
    host_name = MODELS[key][2][0]
    host = dict(model.named_modules())[host_name]
    seen = []
    host.register_forward_hook(lambda m, a, out: seen.append(out.detach().clone()))
    handle = stylebias.attach(model, "mixstyle", preset=MODELS[key][1], p=1.0)
    host.register_forward_hook(lambda m, a, out: seen.append(out.detach().clone()))
    assert handle.layers[host_name].prefix_tokens == prefix == model_prefix_tokens(model)
    with torch.no_grad():
        model(images())
    raw, styled = seen
    assert torch.equal(styled[:, :prefix], raw[:, :prefix])
    assert not torch.allclose(styled[:, prefix:], raw[:, prefix:])


def test_layouts_that_do_not_fit_are_explained(built):
    vit = copy.deepcopy(built["timm_vit"]).train()
    stylebias.attach(vit, "mixstyle", after=["blocks.1"], p=1.0)  # no layout: taken as (B, C, H, W)
    with pytest.raises(stylebias.errors.ShapeError,
                       match=r"MixStyle attached after 'blocks.1' got a 3-D tensor.*layout='tokens'.*preset='vit'"):
        vit(images())
    with pytest.raises(InvalidArgumentError, match=r"preset 'swin' places layers on layout='nhwc'.*build it with layout='nhwc'"):
        stylebias.attach(copy.deepcopy(built["timm_swin"]), MixStyle(), preset="swin")
    plain = torch.nn.Sequential(torch.nn.Linear(8, 8))
    with pytest.raises(InvalidArgumentError, match="does not say how many class/distillation tokens.*prefix_tokens=N"):
        stylebias.attach(plain, "dsu", after=["0"], layout="tokens")
    with pytest.raises(InvalidArgumentError, match="no attachment preset fits this model for 'mixstyle'"):
        pick_preset(plain, "mixstyle")


def test_a_shared_instance_gets_the_models_prefix_tokens(built):
    layer = MixStyle(p=1.0, layout="tokens")
    stylebias.attach(copy.deepcopy(built["timm_deit"]), layer, preset="vit")
    assert layer.prefix_tokens == 2


def test_list_presets_shows_the_new_families(capsys):
    assert main(["list", "presets", "--json"]) == 0
    names = {row["name"] for row in json.loads(capsys.readouterr().out)}
    assert {"vit", "vit_torchvision", "swin", "swin_torchvision", "convnext", "convnext_torchvision"} <= names


def test_train_cli_runs_mixstyle_on_a_timm_vit(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--model", "timm:test_vit", "--method", "mixstyle", "--image-size", "32", "--steps", "2",
            "--batch-size", "8", "--data", "shapes:n_per_class=4,val_per_class=2,test_per_class=2,cue_per_class=1",
            "--output-dir", str(out), "--no-progress", "--json"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert (out / "done").exists() and result
