"""Zero-shot image-text classifiers: prompt ensembling, similarity logits, the text-weight cache."""

import json
import logging
import sys

import pytest
import torch

from stylebias.errors import InvalidArgumentError, UnknownNameError
from stylebias.models import Preprocess
from stylebias.models.zero_shot import ZeroShotClassifier, load_open_clip, prompt_templates, text_weights
from stylebias.shapebias.categories import CATEGORIES

open_clip = pytest.importorskip("open_clip")

TINY = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="module")
def tiny_arch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("configs")
    (folder / "tiny-clip-test.json").write_text(json.dumps(TINY))
    open_clip.add_model_config(folder)
    return "tiny-clip-test"


def _by_hand(model, tokenizer, names, templates):
    """Prompt ensembling re-expressed: per class, mean of unit text embeddings, made unit."""
    out = []
    for name in names:
        with torch.no_grad():
            e = model.encode_text(tokenizer([t.format(name) for t in templates])).float()
        e = torch.nn.functional.normalize(e, dim=-1).mean(0)
        out.append(e / e.norm())
    return torch.stack(out)


def test_text_weights_are_the_ensembled_unit_prompt_embeddings(tiny_arch):
    torch.manual_seed(0)
    model = open_clip.create_model(tiny_arch).eval()
    tok = open_clip.get_tokenizer(tiny_arch)
    templates = ("a photo of a {}.", "a drawing of a {}.", "{}")
    weights = text_weights(model, tok, ["cat", "dog"], templates, batch_size=2)  # batches split a class's prompts
    torch.testing.assert_close(weights, _by_hand(model, tok, ["cat", "dog"], templates))
    assert torch.allclose(weights.norm(dim=1), torch.ones(2))
    # the library's own builder gives the same (transposed) matrix
    lib = open_clip.build_zero_shot_classifier(model, tok, ["cat", "dog"], templates, device="cpu")
    torch.testing.assert_close(weights, lib.T.float(), atol=1e-5, rtol=0)


def test_logits_are_scaled_cosine_similarities_and_argmax_is_the_closest_class(tiny_arch):
    torch.manual_seed(0)
    model = open_clip.create_model(tiny_arch).eval()
    x = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        img = torch.nn.functional.normalize(model.encode_image(x).float(), dim=-1)
    weights = torch.nn.functional.normalize(torch.randn(4, 16), dim=-1)
    weights[2] = img[1]  # image 1 is exactly class 2's direction
    clf = ZeroShotClassifier(model, weights, ["a", "b", "c", "d"]).eval()
    with torch.no_grad():
        logits = clf(x)
    torch.testing.assert_close(logits, model.logit_scale.exp() * img @ weights.T)
    assert int(logits[1].argmax()) == 2
    torch.testing.assert_close(clf.encode_image(x), img)


def test_load_open_clip_is_a_16_way_classifier_with_a_checked_cache(tiny_arch, tmp_path, monkeypatch, caplog):
    torch.manual_seed(0)
    clf, pre = load_open_clip(tiny_arch, None, templates="single")
    assert clf.classnames == tuple(CATEGORIES) and clf.weights.shape == (16, 16)
    assert (pre.resize, pre.crop) == (32, 32) and pre.mean == tuple(open_clip.OPENAI_DATASET_MEAN)
    assert clf(torch.rand(2, 3, 32, 32)).shape == (2, 16)
    # the cache: written for pretrained weights only, reused when its key matches, else recomputed
    monkeypatch.setattr("stylebias.models.zero_shot.open_clip_model",
                        lambda arch, pre: (open_clip.create_model(arch).eval(), Preprocess()))
    calls = []
    real = text_weights

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr("stylebias.models.zero_shot.text_weights", counting)
    first, _ = load_open_clip(tiny_arch, "some-tag", classnames=["cat", "dog"], templates="single", cache_dir=tmp_path)
    again, _ = load_open_clip(tiny_arch, "some-tag", classnames=["cat", "dog"], templates="single", cache_dir=tmp_path)
    assert len(calls) == 1 and torch.equal(first.weights, again.weights)
    (cached,) = (tmp_path / "zero_shot").iterdir()
    stored = torch.load(cached, weights_only=True)
    stored["key"]["classnames"] = ["dog", "cat"]  # a file describing other settings is not trusted
    torch.save(stored, cached)
    with caplog.at_level(logging.WARNING):
        load_open_clip(tiny_arch, "some-tag", classnames=["cat", "dog"], templates="single", cache_dir=tmp_path)
    assert len(calls) == 2 and "other settings" in caplog.text


def test_prompt_sets_and_errors(tiny_arch, monkeypatch):
    assert len(prompt_templates("openai")) == 80 and all("{}" in t for t in prompt_templates("openai"))
    assert prompt_templates("single") == ("a photo of a {}.",)
    with pytest.raises(InvalidArgumentError, match="exactly one"):
        prompt_templates(["no placeholder"])
    with pytest.raises(UnknownNameError, match="(?i)did you mean"):
        load_open_clip("tiny-clip-tset", None)
    monkeypatch.setitem(sys.modules, "open_clip", None)
    with pytest.raises(InvalidArgumentError, match=r"stylebias\[clip\]"):
        load_open_clip(tiny_arch, None)
