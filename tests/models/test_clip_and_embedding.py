import json
import sys

import pytest
import torch
from torch import nn

from stylebias.errors import InvalidArgumentError, ModelOutputError, UnknownNameError
from stylebias.models import build_classifier, classifier_head, load_model, parse_spec, penultimate_features

TINY_VIT = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 16, "heads": 2, "layers": 1},  # the real tokenizer
}


@pytest.fixture(scope="module")
def tiny_clip_arch(tmp_path_factory):
    """A tiny open_clip architecture added to open_clip's configs (random weights, 32 px)."""
    open_clip = pytest.importorskip("open_clip")
    folder = tmp_path_factory.mktemp("open_clip_cfg")
    (folder / "stylebias-test-tiny-vit.json").write_text(json.dumps(TINY_VIT))
    open_clip.add_model_config(folder)
    return "stylebias-test-tiny-vit"


def test_open_clip_spec_is_parsed_without_importing_it():
    spec = parse_spec("open_clip:ViT-B-32/laion2b_s34b_b79k")
    assert (spec.kind, spec.target, spec.attr) == ("open_clip", "ViT-B-32", "laion2b_s34b_b79k")
    assert parse_spec("open_clip:RN50").attr is None
    for bad in ("open_clip:/openai", "open_clip:RN50/", "open_clip:a/b/c"):
        with pytest.raises(InvalidArgumentError, match="ARCH/PRETRAINED"):
            parse_spec(bad)


def test_open_clip_through_load_model_is_a_16_way_zero_shot_classifier(tiny_clip_arch):
    import open_clip

    from stylebias.shapebias import CATEGORIES

    loaded = load_model(f"open_clip:{tiny_clip_arch}", pretrained=False)
    assert loaded.preprocess.crop == 32 and loaded.preprocess.resize == 32
    assert loaded.preprocess.mean == pytest.approx(open_clip.OPENAI_DATASET_MEAN)
    x = torch.rand(2, 3, 32, 32)
    logits = loaded.model(x)
    zero_shot = loaded.model.model
    assert logits.shape == (2, 16) and zero_shot.classnames == tuple(CATEGORIES)
    # the wrapper normalises with CLIP's statistics; logits are scaled cosines with the class weights
    mean = torch.tensor(open_clip.OPENAI_DATASET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(open_clip.OPENAI_DATASET_STD).view(1, 3, 1, 1)
    emb = torch.nn.functional.normalize(zero_shot.model.encode_image((x - mean) / std).float(), dim=-1)
    torch.testing.assert_close(logits, zero_shot.model.logit_scale.exp() * emb @ zero_shot.weights.T)


def test_open_clip_classifier_embedding_is_the_image_embedding(tiny_clip_arch):
    torch.manual_seed(0)
    net = build_classifier(f"open_clip:{tiny_clip_arch}", 5)
    assert classifier_head(net) is net.head
    x = torch.rand(3, 3, 32, 32)
    feats, logits = penultimate_features(net, x)
    torch.testing.assert_close(feats, net.encoder(x))
    torch.testing.assert_close(logits, net.head(net.encoder(x)))
    assert logits.shape == (3, 5)


def test_open_clip_errors(tiny_clip_arch):
    with pytest.raises(UnknownNameError, match="no model"):
        load_model("open_clip:ViT-B-32-nonexistent", pretrained=False)
    with pytest.raises(InvalidArgumentError, match="names no pretrained weights"):
        load_model(f"open_clip:{tiny_clip_arch}", pretrained=True)
    with pytest.raises(UnknownNameError, match="no pretrained weights 'nope'"):
        load_model("open_clip:RN50/nope", pretrained=True)


def test_open_clip_missing_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "open_clip", None)  # `import open_clip` raises ImportError
    with pytest.raises(InvalidArgumentError, match=r"pip install 'stylebias\[clip\]'"):
        load_model("open_clip:RN50/openai")
    with pytest.raises(InvalidArgumentError, match="open_clip_torch"):
        build_classifier("open_clip:RN50", 3)


def test_penultimate_features_of_a_torchvision_resnet():
    torch.manual_seed(0)
    net = build_classifier("torchvision:resnet18", 4).eval()
    x = torch.rand(2, 3, 32, 32)
    feats, logits = penultimate_features(net, x)
    assert classifier_head(net) is net.fc
    # independent: the trunk up to global pooling, then the head
    trunk = nn.Sequential(*list(net.children())[:-1])
    torch.testing.assert_close(feats, trunk(x).flatten(1))
    torch.testing.assert_close(logits, net.fc(feats))
    assert not net.fc._forward_pre_hooks  # the hook lives for one call only


def test_penultimate_features_keep_the_graph():
    net = build_classifier("small_resnet", 3, width=4)
    feats, _ = penultimate_features(net, torch.rand(2, 3, 16, 16))
    feats.sum().backward()
    head = classifier_head(net)
    head_params = {id(p) for p in head.parameters()}
    trunk = [p for p in net.parameters() if id(p) not in head_params]
    assert all(p.grad is not None for p in trunk) and all(p.grad is None for p in head.parameters())


def test_a_model_without_a_head_or_with_a_head_used_twice():
    with pytest.raises(InvalidArgumentError, match="no classifier head"):
        classifier_head(nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten()))

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x):
            return self.fc(self.fc(x))

    with pytest.raises(ModelOutputError, match="ran 2 times"):
        penultimate_features(Twice(), torch.rand(2, 3))
